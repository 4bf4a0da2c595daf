//! The bundled Nichol 2019 assay: the MIC table rebuilt from the authors' workbook, and our
//! MIC shifts (`--metric mic --rule nichol2019`) against their published p-values, MLE MICs
//! and calls, cell by cell over the 60 populations × 9 drugs.

use std::collections::BTreeMap;

use collateral::mic::{read_mics, DilutionModel};

use crate::common::{collateral, num, read_csv, root};

#[allow(dead_code)]
#[path = "../examples/build_nichol2019.rs"]
mod build_nichol2019;

use build_nichol2019::{published, PublishedCell, PARENTAL};

fn assay_dir() -> std::path::PathBuf {
    root().join("assays/nichol2019")
}

fn published_cells() -> Vec<PublishedCell> {
    published(&assay_dir().join("raw")).expect("read the workbook")
}

#[test]
fn bundled_tables_are_what_the_builder_makes_from_the_workbook() {
    let dir = assay_dir();
    let (mics, lines) = build_nichol2019::build(&dir.join("raw")).expect("build");
    assert_eq!(mics, std::fs::read_to_string(dir.join("mics.csv")).unwrap());
    assert_eq!(
        lines,
        std::fs::read_to_string(dir.join("lines.csv")).unwrap()
    );
    assert_eq!(published_cells().len(), 61 * 9);
}

/// The authors' call of a cell: significant at α = 0.05 with Bonferroni over the 540
/// comparisons, in the direction of their MLE MIC against the parent's (their notebook).
fn published_call(p: f64, mle: f64, parent_mle: f64) -> &'static str {
    if p < 0.05 / 540.0 {
        if mle < parent_mle {
            "collateral_sensitive"
        } else if mle > parent_mle {
            "cross_resistant"
        } else {
            "neutral"
        }
    } else {
        "neutral"
    }
}

#[test]
fn calls_p_values_and_mle_mics_agree_with_the_published_ones() {
    let out = tempfile::tempdir().unwrap();
    let dir = assay_dir();
    collateral()
        .args([
            "shift",
            "mics.csv",
            "--lines",
            "lines.csv",
            "--metric",
            "mic",
        ])
        .args(["--rule", "nichol2019", "-o"])
        .arg(out.path())
        .current_dir(&dir)
        .assert()
        .success();
    let rows = read_csv(&out.path().join("shifts.csv"));
    assert_eq!(rows.len(), 540);
    let ours: BTreeMap<(String, String), _> = rows
        .iter()
        .map(|r| ((r["resistant_line"].clone(), r["drug"].clone()), r))
        .collect();
    let cells = published_cells();
    let parent: BTreeMap<&str, f64> = cells
        .iter()
        .filter(|c| c.line == PARENTAL)
        .map(|c| (c.drug.as_str(), c.mle))
        .collect();

    let (mut same_call, mut same_mle, mut compared) = (0, 0, 0);
    let mut worst_p_ratio: f64 = 0.0;
    for c in cells.iter().filter(|c| c.line != PARENTAL) {
        let row = ours[&(c.line.clone(), c.drug.clone())];
        compared += 1;
        let p_pub = c.p_value.unwrap();
        let want = published_call(p_pub, c.mle, parent[c.drug.as_str()]);
        if row["call"] == want {
            same_call += 1;
        }
        if num(row, "value_resistant") == c.mle {
            same_mle += 1;
        }
        // log2_fc is the step difference of the MLE MICs.
        assert_eq!(
            num(row, "log2_fc"),
            (num(row, "value_resistant") / num(row, "value_parental")).log2()
        );
        let p = num(row, "p_value");
        if p_pub == 0.0 {
            // One MIC cannot explain both lines (replicates more than a step apart): D = ∞.
            assert_eq!(p, 0.0, "{c:?}");
        } else {
            worst_p_ratio = worst_p_ratio.max((p / p_pub).log10().abs());
        }
    }
    assert_eq!(compared, 540);
    // The goal of the issue: ≥ 95 % of the calls; every one agrees.
    let share = same_call as f64 / compared as f64;
    assert!(share >= 0.95, "calls agree in {same_call} of 540");
    assert_eq!(same_call, 540, "calls agree in {same_call} of 540");
    // MLE MICs: 536 of the 540 populations' (and all 9 of the parent's). The 4 others are
    // SAM cells whose published MLE is not the most frequent of the three replicates (X14:
    // 4096, 2048, 2048 published 4096), so no maximum-likelihood reading can give it.
    assert_eq!(same_mle, 536, "MLE MICs agree in {same_mle} of 540");
    // p-values: within 14 % (|log10 ratio| ≤ 0.057) of the published ones; the difference is
    // the error rate, which the authors computed from their table's MLEs including those 4.
    assert!(
        worst_p_ratio < 0.057,
        "largest |log10(p / published p)| {worst_p_ratio}"
    );
}

#[test]
fn with_the_published_error_rate_every_p_value_is_the_published_one() {
    // The notebook's e: 230 measurements off their MLE in 1,647 (r, s, t, u = 338, 196, 11, 4).
    let published_e: f64 = 230.0 / 1647.0;
    assert!((published_e - 0.139647844566).abs() < 1e-12);
    let mics = read_mics(&assay_dir().join("mics.csv")).unwrap();
    let mut model = DilutionModel::fit(&mics);
    // Ours: 226 off the MLE in 1,647.
    assert!(
        (model.error_rate - 226.0 / 1647.0).abs() < 1e-15,
        "{}",
        model.error_rate
    );
    assert_eq!(model.measurements_in_error_rate, 1647);
    model.error_rate = published_e;
    let mut worst: f64 = 0.0;
    for c in published_cells().iter().filter(|c| c.line != PARENTAL) {
        let t = model.test(&c.line, PARENTAL, &c.drug).unwrap();
        let p_pub = c.p_value.unwrap();
        if p_pub == 0.0 {
            assert_eq!(t.p_value, 0.0, "{c:?}");
        } else {
            worst = worst.max((t.p_value / p_pub - 1.0).abs());
        }
    }
    // The published p-values carry 12 significant digits.
    assert!(worst < 1e-9, "largest relative difference {worst}");
}
