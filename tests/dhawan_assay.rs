//! The bundled Dhawan 2017 assay: tables rebuilt from the published curves, and a run.

use crate::common::{collateral, num, read_csv, root};

#[allow(dead_code)]
#[path = "../examples/build_dhawan.rs"]
mod build_dhawan;

#[test]
fn bundled_tables_are_what_the_builder_makes_from_the_published_curves() {
    let dir = root().join("assays/dhawan2017");
    let (wells, lines) = build_dhawan::build(&dir.join("raw")).expect("build");
    assert_eq!(
        wells,
        std::fs::read_to_string(dir.join("wells.csv")).unwrap()
    );
    assert_eq!(
        lines,
        std::fs::read_to_string(dir.join("lines.csv")).unwrap()
    );
}

#[test]
fn viabilities_are_the_published_percentages() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    let wells = read_csv(&out.path().join("wells.csv"));
    assert_eq!(wells.len(), 11 * 100);
    for w in &wells {
        assert!(
            (num(w, "viability") - num(w, "signal") / 100.0).abs() < 1e-12,
            "{w:?}"
        );
        assert_eq!(w["excluded"], "false");
    }
}
