//! The bundled Dhawan 2017 assay: tables rebuilt from the published curves, and a run.

use crate::common::{collateral, num, read_csv, root, run_bundled};

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
    let out = run_bundled("assays/dhawan2017/assay.toml");
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

/// The authors' network: (source drug, target drug) → edge, off the diagonal.
fn published_edges() -> std::collections::BTreeMap<(String, String), bool> {
    let text = std::fs::read_to_string(
        root().join("assays/dhawan2017/raw/cs_network_adjacency_countcycles.csv"),
    )
    .unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for row in &rows[1..] {
        for (source, v) in rows[0][1..].iter().zip(&row[1..]) {
            if source != &row[0] {
                out.insert((source.clone(), row[0].clone()), v == "1");
            }
        }
    }
    out
}

fn run_dhawan(extra: &str) -> Vec<std::collections::HashMap<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("assays/dhawan2017");
    for f in ["wells.csv", "lines.csv"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let assay = std::fs::read_to_string(src.join("assay.toml")).unwrap() + extra;
    std::fs::write(dir.path().join("assay.toml"), assay).unwrap();
    collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    read_csv(&dir.path().join("out/shifts.csv"))
}

#[test]
fn the_ec50_matrix_reproduces_the_published_network() {
    let shifts = run_dhawan("");
    let edges = published_edges();
    assert_eq!(edges.len(), 90);
    let (mut agree, mut flat, mut other) = (0, Vec::new(), Vec::new());
    for s in &shifts {
        let Some(&edge) = edges.get(&(s["selected_with"].clone(), s["drug"].clone())) else {
            continue;
        };
        let down = s["log2_fc"].parse::<f64>().is_ok_and(|x| x < 0.0);
        if down == edge {
            agree += 1;
        } else if s["reason"].contains("flat curve") {
            flat.push(format!("{}/{}", s["resistant_line"], s["drug"]));
        } else {
            other.push(format!("{}/{}", s["resistant_line"], s["drug"]));
        }
        // Every collateral sensitivity we call is an edge of the published network.
        if s["call"] == "collateral_sensitive" {
            assert!(edge, "{s:?}");
        }
    }
    // 84 of 90 off-diagonal cells agree on "EC50 went down". The rest: four curves our F-test
    // finds flat (no ec50, so no sign); AUY922R/Crizotinib, whose EC50 rose 1.5-fold in the
    // workbook although the published matrix has the edge (see SOURCE.md); and EtopR/AUY922,
    // a ratio of 1.001 in the workbook fitted with Hill 12.3, beyond our bound of 10, where our
    // ec50 comes out 4 % lower and the sign of a null change flips.
    assert_eq!(agree, 84, "flat: {flat:?}, other: {other:?}");
    assert_eq!(flat.len(), 4, "{flat:?}");
    assert_eq!(other, vec!["EtopR/AUY922", "AUY922R/Crizotinib"]);
    let cs: Vec<String> = shifts
        .iter()
        .filter(|s| s["call"] == "collateral_sensitive")
        .map(|s| format!("{}/{}", s["resistant_line"], s["drug"]))
        .collect();
    assert_eq!(cs, vec!["PemR/Ceritinib", "PemR/Crizotinib", "GanR/IPI504"]);
    // Prism's shared-ec50 F-test and the delta method mostly agree on significance at 5 %.
    let both: Vec<(f64, f64)> = shifts
        .iter()
        .filter(|s| !s["ec50_f_test_p"].is_empty() && !s["p_value"].is_empty())
        .map(|s| {
            (
                s["p_value"].parse().unwrap(),
                s["ec50_f_test_p"].parse().unwrap(),
            )
        })
        .collect();
    let same = both
        .iter()
        .filter(|(a, b)| (*a <= 0.05) == (*b <= 0.05))
        .count();
    assert!(
        both.len() >= 80 && same as f64 >= 0.9 * both.len() as f64,
        "{same}/{}",
        both.len()
    );
}

#[test]
fn the_dhawan2017_rule_calls_by_ci_overlap() {
    let shifts = run_dhawan("rule = \"dhawan2017\"\n");
    let edges = published_edges();
    for s in &shifts {
        let (lo_r, hi_r) = (
            s["value_resistant"].parse::<f64>().ok(),
            s["value_parental"].parse::<f64>().ok(),
        );
        if s["call"] == "collateral_sensitive" {
            assert!(lo_r < hi_r, "{s:?}");
            if let Some(&edge) = edges.get(&(s["selected_with"].clone(), s["drug"].clone())) {
                assert!(edge, "{s:?}");
            }
        }
        assert!(
            s["reason"].starts_with("95 % CIs") || s["call"] == "undetermined",
            "{s:?}"
        );
    }
}
