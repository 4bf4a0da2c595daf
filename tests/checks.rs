//! Doses that do not belong (issue 20): a unit typo in one well and a plate in nM among µM
//! plates are named and, for the well, left out; `--strict` makes every warning an error.

use std::path::Path;

use crate::common::{collateral, read_csv};

/// A simulated screen whose wells table `edit` changes (row by row, header left out).
fn simulated_with(dir: &Path, edit: impl Fn(&mut Vec<String>)) {
    collateral()
        .args(["simulate", "-q", "-o"])
        .arg(dir)
        .assert()
        .success();
    let path = dir.join("wells.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let mut out = vec![lines.next().unwrap().to_string()];
    for l in lines {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        edit(&mut f);
        out.push(f.join(","));
    }
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
}

#[test]
fn a_dose_typed_a_million_times_too_high_is_named_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    simulated_with(dir.path(), |f| {
        if f[0] == "plate0001" && f[1] == "A3" && f[3] == "drug01" {
            let c: f64 = f[4].parse().unwrap();
            f[4] = (c * 1e6).to_string();
        }
    });
    let out = dir.path().join("out");
    let run = collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .args(["-q", "--no-figures", "-o"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(
        stderr.contains("wells.csv:66: plate plate0001, well A3: drug01 at")
            && stderr.contains("off the drug's dose series"),
        "{stderr}"
    );
    let wells = read_csv(&out.join("wells.csv"));
    let w = wells
        .iter()
        .find(|w| w["plate"] == "plate0001" && w["well"] == "A3")
        .unwrap();
    assert_eq!(w["excluded"], "true");
    assert!(
        w["exclusion_reason"].contains("off the series of drug01"),
        "{w:?}"
    );
    // --strict: the warning is an error, and no folder is written.
    let strict = dir.path().join("strict");
    collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .args(["-q", "--strict", "-o"])
        .arg(&strict)
        .assert()
        .code(1);
    assert!(!strict.exists());
}

#[test]
fn a_plate_in_nm_among_um_plates_is_named_as_a_unit_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    simulated_with(dir.path(), |f| {
        if f[0] == "plate0004" && f[3] == "drug02" && f[5] == "sample" {
            let c: f64 = f[4].parse().unwrap();
            f[4] = (c * 1e3).to_string();
        }
    });
    let assay = dir.path().join("assay.toml");
    let v = collateral().arg("validate").arg(&assay).assert().success();
    let stderr = String::from_utf8_lossy(&v.get_output().stderr).to_string();
    assert!(
        stderr.contains("plate plate0004: the doses of drug02 on this plate are 1000×")
            && stderr.contains("unit mismatch"),
        "{stderr}"
    );
    collateral()
        .arg("validate")
        .arg(&assay)
        .arg("--strict")
        .assert()
        .code(1);
}
