//! Screens without vehicle wells (issue 19, item 6): `[normalize] reference = "lowest_doses"`
//! takes each series' 100 % from the median of its two lowest doses.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{collateral, num, read_csv};

/// A simulated screen (6 lines × 12 drugs, three plate replicates) with its vehicle wells
/// deleted from wells.csv; `reference` appended to the assay when given.
fn screen_without_vehicles(dir: &Path, seed: u64, reference: Option<&str>) {
    collateral()
        .args(["simulate", "--lines", "6", "--drugs", "12", "-q", "--seed"])
        .arg(seed.to_string())
        .arg("-o")
        .arg(dir)
        .assert()
        .success();
    let wells = std::fs::read_to_string(dir.join("wells.csv")).unwrap();
    let kept: String = wells
        .lines()
        .filter(|l| !l.contains(",vehicle,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(kept.len() < wells.len());
    std::fs::write(dir.join("wells.csv"), kept).unwrap();
    if let Some(r) = reference {
        let assay = std::fs::read_to_string(dir.join("assay.toml")).unwrap()
            + &format!("\n[normalize]\nreference = \"{r}\"\n");
        std::fs::write(dir.join("assay.toml"), assay).unwrap();
    }
}

#[test]
fn without_vehicle_wells_the_default_reference_refuses_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    screen_without_vehicles(dir.path(), 7, None);
    let out = collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("has no vehicle wells"), "{err}");
}

/// Measured when written (seeds 7 and 8): median |log2 IC50 − true log2 IC50| 0.186 and 0.088
/// (with the vehicle wells: 0.072 and 0.077; the truth's 100 % is the vehicle's, and the
/// simulated tops lie between 0.9 and 1.05 of it), clear shifts (|true log2_fc| ≥ 1.5) called
/// right in 47 of 48, null pairs (|true log2_fc| ≤ 0.25) called in 0 of 67 — the same counts as
/// with the vehicle wells.
#[test]
fn lowest_doses_recover_the_truth_of_a_screen_without_vehicle_wells() {
    let (median, clear, clear_right, null, null_called) = recovered(
        "lowest_doses",
        "100 % is the median of each series' 2 lowest doses",
    );
    assert!(median <= 0.25, "median |Δlog2 ic50| {median}");
    assert!(
        clear >= 40 && clear_right as f64 >= 0.9 * clear as f64,
        "{clear_right}/{clear}"
    );
    assert!(
        null >= 50 && null_called as f64 <= 0.05 * null as f64,
        "{null_called}/{null}"
    );
}

/// `fitted_top`: each series' 100 % is the top of a curve fitted to it. Measured when written
/// (seeds 7 and 8 together): median |Δlog2 IC50| 0.130, clear shifts right in 47 of 48, null
/// pairs called in 0 of 67.
#[test]
fn fitted_top_recovers_the_truth_of_a_screen_without_vehicle_wells() {
    let (median, clear, clear_right, null, null_called) = recovered(
        "fitted_top",
        "100 % is the fitted top of each series' curve",
    );
    eprintln!(
        "fitted_top: median |Δlog2 ic50| {median:.3}, clear shifts {clear_right}/{clear}, nulls called {null_called}/{null}"
    );
    assert!(median <= 0.25, "median |Δlog2 ic50| {median}");
    assert!(
        clear >= 40 && clear_right as f64 >= 0.9 * clear as f64,
        "{clear_right}/{clear}"
    );
    assert!(
        null >= 50 && null_called as f64 <= 0.05 * null as f64,
        "{null_called}/{null}"
    );
}

/// Runs the screens of seeds 7 and 8 without vehicle wells under `reference`, checks that
/// run.json and qc.csv say what 100 % is (`says`), and scores them against the truth: the
/// median |log2 IC50 − true|, clear shifts (|true log2_fc| ≥ 1.5) and those called right, null
/// pairs (|true log2_fc| ≤ 0.25) and those called.
fn recovered(reference: &str, says: &str) -> (f64, usize, usize, usize, usize) {
    let (mut diffs, mut clear, mut clear_right, mut null, mut null_called) =
        (Vec::new(), 0, 0, 0, 0);
    for seed in [7, 8] {
        let dir = tempfile::tempdir().unwrap();
        screen_without_vehicles(dir.path(), seed, Some(reference));
        let out = dir.path().join("out");
        collateral()
            .arg("run")
            .arg(dir.path().join("assay.toml"))
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .assert()
            .success();
        // run.json and qc.csv say what 100 % is.
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(run["settings"]["normalize"]["reference"], reference);
        for q in read_csv(&out.join("qc.csv")) {
            assert_eq!(q["verdict"], "warn", "{q:?}");
            assert!(q["reason"].contains(says), "{q:?}");
        }
        // Only the empty wells are left out: every sample has a viability.
        for w in read_csv(&out.join("wells.csv")) {
            if w["role"] == "sample" {
                assert!(
                    !w["viability"].is_empty() && w["excluded"] == "false",
                    "{w:?}"
                );
            }
        }
        let truth: HashMap<(String, String), HashMap<String, String>> =
            read_csv(&dir.path().join("truth_curves.csv"))
                .into_iter()
                .map(|r| ((r["cell_line"].clone(), r["drug"].clone()), r))
                .collect();
        for f in read_csv(&out.join("fits.csv")) {
            let t = &truth[&(f["cell_line"].clone(), f["drug"].clone())];
            if !t["abs_ic50"].is_empty() && ["=", "~"].contains(&f["ic50_qualifier"].as_str()) {
                diffs.push((num(&f, "ic50") / num(t, "abs_ic50")).log2().abs());
            }
        }
        for s in read_csv(&out.join("shifts.csv")) {
            let t = &truth[&(s["resistant_line"].clone(), s["drug"].clone())];
            if t["true_log2_fc"].is_empty() || t["abs_ic50"].is_empty() {
                continue;
            }
            let fc = num(t, "true_log2_fc");
            let called = s["call"] == "cross_resistant" || s["call"] == "collateral_sensitive";
            if fc.abs() >= 1.5 {
                clear += 1;
                let want = if fc > 0.0 {
                    "cross_resistant"
                } else {
                    "collateral_sensitive"
                };
                clear_right += usize::from(s["call"] == want);
            } else if fc.abs() <= 0.25 {
                null += 1;
                null_called += usize::from(called);
            }
        }
    }
    diffs.sort_by(f64::total_cmp);
    assert!(diffs.len() >= 120, "{}", diffs.len());
    (
        diffs[diffs.len() / 2],
        clear,
        clear_right,
        null,
        null_called,
    )
}

/// Without vehicle wells under `lowest_doses`, nothing is left out for want of a vehicle, and
/// no warning says so; a series whose lowest doses give no 100 % (here: no blank wells, so a
/// blank level of 0, and its two lowest doses reading 0) is the one warned about, by name.
#[test]
fn lowest_doses_warn_only_of_the_series_they_leave_out() {
    let dir = tempfile::tempdir().unwrap();
    screen_without_vehicles(dir.path(), 9, Some("lowest_doses"));
    let run = |out: &str| {
        let o = collateral()
            .arg("run")
            .arg(dir.path().join("assay.toml"))
            .args(["--no-figures", "-q", "-o"])
            .arg(dir.path().join(out))
            .assert()
            .success();
        String::from_utf8_lossy(&o.get_output().stderr).into_owned()
    };
    let err = run("out");
    assert!(!err.contains("left out of the fits"), "{err}");
    assert!(!err.contains("vehicle"), "{err}");

    // No blanks, and plate0001's first series of drug01 reads 0 at its two lowest doses.
    let wells = std::fs::read_to_string(dir.path().join("wells.csv")).unwrap();
    let header = wells.lines().next().unwrap();
    let col = |name: &str| header.split(',').position(|c| c == name).unwrap();
    let (plate, drug, conc, signal) = (
        col("plate"),
        col("drug"),
        col("concentration"),
        col("signal"),
    );
    let series = |f: &[&str]| f[plate] == "plate0001" && f[drug] == "drug01";
    let mut doses: Vec<f64> = wells
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| series(f))
        .map(|f| f[conc].parse().unwrap())
        .collect();
    doses.sort_by(f64::total_cmp);
    doses.dedup();
    let mut out = format!("{header}\n");
    for l in wells.lines().skip(1).filter(|l| !l.contains(",blank,")) {
        let mut f: Vec<&str> = l.split(',').collect();
        if series(&f) && f[conc].parse::<f64>().unwrap() <= doses[1] {
            f[signal] = "0";
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    std::fs::write(dir.path().join("wells.csv"), out).unwrap();
    let err = run("out2");
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("left out of the fits"))
        .collect();
    assert_eq!(named.len(), 1, "{err}");
    assert!(
        named[0].contains("plate0001")
            && named[0].contains("no usable 100 % at the lowest doses of `drug01` there"),
        "{}",
        named[0]
    );
    // And those wells are indeed the ones left out.
    for w in read_csv(&dir.path().join("out2/wells.csv")) {
        if w["role"] == "sample" {
            let left_out = w["plate"] == "plate0001" && w["drug"] == "drug01";
            assert_eq!(w["excluded"] == "true", left_out, "{w:?}");
        }
    }
}
