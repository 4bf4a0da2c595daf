//! Steep curves at the Hill bound (issue 19, item 5): a curve steeper than the bound falls from
//! full to no response between two doses, and the data place its IC50 only in that gap. Such
//! IC50s are flagged `~` in fits.csv with the gap as their interval, and two IC50s placed in
//! overlapping intervals are never called different.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{collateral, num, read_csv, write};

/// Twelve three-fold doses with 4.115 and 12.35 among them, seven replicates, deterministic
/// noise of ±0.03 — a line's two values are its mean responses at those two doses (full
/// response below, none above).
fn gap_points(out: &mut String, line: &str, at_4: f64, at_12: f64) {
    for rep in 0..7 {
        for k in 0..12 {
            let dose = 4.115226337448559 * 3f64.powi(k - 5);
            let mean = match k {
                ..=4 => 1.0,
                5 => at_4,
                6 => at_12,
                _ => 0.0,
            };
            let noise = 0.03 * (((rep * 12 + k as usize) * 7919 % 13) as f64 / 6.0 - 1.0);
            out.push_str(&format!("{line},drugX,{dose},{:.4}\n", mean + noise));
        }
    }
}

/// The case the issue reported: a variant whose replicates grow fully at 4.1 and not at
/// 12.3, like its parent's, got its IC50 near 12.3 with a narrow interval conditional on the
/// bound, its parent near 4.1 (a partial response there), and the pair was called
/// cross-resistant at a tiny q. Now both IC50s are placed in 4.1–12.3 and the pair is
/// neutral, saying why.
#[test]
fn an_ic50_placed_in_its_parents_dose_gap_is_not_called_different() {
    let dir = tempfile::tempdir().unwrap();
    let mut points = String::from("cell_line,drug,concentration,response\n");
    gap_points(&mut points, "parent", 0.85, 0.0);
    gap_points(&mut points, "variant", 1.0, 0.2);
    let input = write(dir.path(), "points.csv", &points);
    let lines = write(
        dir.path(),
        "lines.csv",
        "cell_line,parental_line,selected_with\nparent,,\nvariant,parent,drugY\n",
    );
    collateral()
        .arg("fit")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("fits.csv"))
        .assert()
        .success();
    let fits: HashMap<String, HashMap<String, String>> = read_csv(&dir.path().join("fits.csv"))
        .into_iter()
        .map(|r| (r["cell_line"].clone(), r))
        .collect();
    let variant = &fits["variant"];
    assert_eq!(variant["hill"], "10", "{variant:?}");
    assert_eq!(variant["ic50_qualifier"], "~", "{variant:?}");
    // The interval is the gap between the bracketing doses; the fitted crossing inside it.
    assert!((num(variant, "ic50_ci_low") - 4.115226337448559).abs() < 1e-9);
    assert!((num(variant, "ic50_ci_high") - 12.345679012345677).abs() < 1e-9);
    assert!(num(variant, "ic50") > 9.0, "the fit puts it near 12.3");
    assert!(variant["message"].contains("the doses place ic50 only within 4.115–12.35"));
    // The parent's slope is at the bound too, its crossing near 4.1, in the same gap: the
    // fitted IC50s alone are more than two-fold apart (the release before this one called the
    // pair cross-resistant at p = 4e-143 from intervals of ± 1 % conditional on the bound).
    let parent = &fits["parent"];
    assert_eq!(parent["ic50_qualifier"], "~", "{parent:?}");
    assert!((num(parent, "ic50_ci_low") - 4.115226337448559).abs() < 1e-9);
    assert!(num(variant, "ic50") / num(parent, "ic50") > 2.0);

    collateral()
        .arg("shift")
        .arg(dir.path().join("fits.csv"))
        .arg("--lines")
        .arg(&lines)
        .arg("-o")
        .arg(dir.path().join("shift"))
        .assert()
        .success();
    let shift = &read_csv(&dir.path().join("shift/shifts.csv"))[0];
    assert_eq!(shift["call"], "neutral", "{shift:?}");
    assert!(shift["p_value"].is_empty(), "{shift:?}");
    assert!(
        shift["reason"].contains("placed by the doses, qualifier ~: variant")
            && shift["reason"].contains("these overlap, so the lines are not called different"),
        "{}",
        shift["reason"]
    );
    // The CI columns hold the log2 fold changes the two intervals allow.
    assert!(num(shift, "ci_low") < -1.0 && num(shift, "ci_high") > 1.0);
}

/// Counts of one simulated steep screen's shifts against the truth.
#[derive(Default, Debug)]
struct Tally {
    null: usize,
    null_called: usize,
    /// True shifts of 2- to 3-fold (can lie within one three-fold dose gap).
    within_a_step: usize,
    within_a_step_right: usize,
    /// True shifts of 3-fold or more (at least one dose step).
    a_step_or_more: usize,
    a_step_or_more_right: usize,
    wrong_direction: usize,
}

fn tally(dir: &Path, t: &mut Tally) {
    let truth: HashMap<(String, String), f64> = read_csv(&dir.join("truth_curves.csv"))
        .into_iter()
        .map(|r| {
            let fc = r["true_log2_fc"].parse().unwrap_or(0.0);
            ((r["cell_line"].clone(), r["drug"].clone()), fc)
        })
        .collect();
    for s in read_csv(&dir.join("out/shifts.csv")) {
        let fc = truth[&(s["resistant_line"].clone(), s["drug"].clone())];
        let call = s["call"].as_str();
        let called = call == "cross_resistant" || call == "collateral_sensitive";
        if fc == 0.0 {
            t.null += 1;
            t.null_called += usize::from(called);
            continue;
        }
        let right = call
            == if fc > 0.0 {
                "cross_resistant"
            } else {
                "collateral_sensitive"
            };
        t.wrong_direction += usize::from(called && !right);
        if fc.abs() >= 3f64.log2() {
            t.a_step_or_more += 1;
            t.a_step_or_more_right += usize::from(right);
        } else {
            t.within_a_step += 1;
            t.within_a_step_right += usize::from(right);
        }
    }
}

/// One simulated steep screen run, with its vehicle wells (the default reference) or without
/// them (deleted from wells.csv, `[normalize] reference = "lowest_doses"`); tallied into `t`.
fn steep_screen(seed: u64, replicates: u64, with_vehicles: bool, t: &mut Tally) {
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "--steep", "--lines", "11", "--drugs", "12"])
        .args(["--seed", &seed.to_string()])
        .args(["--replicates", &replicates.to_string(), "-o"])
        .arg(dir.path())
        .assert()
        .success();
    if !with_vehicles {
        let wells = std::fs::read_to_string(dir.path().join("wells.csv")).unwrap();
        let kept: String = wells
            .lines()
            .filter(|l| !l.contains(",vehicle,"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.path().join("wells.csv"), kept).unwrap();
        let assay = std::fs::read_to_string(dir.path().join("assay.toml")).unwrap()
            + "\n[normalize]\nreference = \"lowest_doses\"\n";
        std::fs::write(dir.path().join("assay.toml"), assay).unwrap();
    }
    let run = collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .args(["-q", "--no-figures"])
        .assert()
        .success();
    // Nothing is left out for want of vehicle wells, and no warning says otherwise.
    let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
    assert!(!err.contains("left out of the fits"), "{err}");
    tally(dir.path(), t);
}

/// Simulated steep bacterial screens (`simulate --steep`: Hill slopes 10–40, nine three-fold
/// doses, 3 to 7 replicates, 10 resistant lines × 12 drugs, half the pairs with the parent's
/// IC50 and half shifted 2- to 8-fold either way), run with the default Hill bound 10: the
/// issue's thresholds, ≤ 5 % of null pairs called and ≥ 90 % of the ≥ 2-fold shifts called
/// right, with vehicle wells and without them (`reference = "lowest_doses"`).
/// Measured when written, both ways alike: 0 of 315 null pairs called; 196 of 197 shifts of
/// 3-fold or more called right, 64 of 88 shifts of 2- to 3-fold (a shift smaller than the
/// dose step often leaves both IC50s in one gap, which the data cannot order), 260 of 285
/// ≥ 2-fold (91.2 %); no call in the wrong direction. (The release before: 245 of 285 with
/// vehicle wells, 86.0 %, and 235 without, 82.5 %.)
#[test]
fn steep_bacterial_screens_call_shifts_and_not_nulls() {
    for with_vehicles in [true, false] {
        let mut t = Tally::default();
        for replicates in 3..=7 {
            steep_screen(100 + replicates, replicates, with_vehicles, &mut t);
        }
        let rate = |a: usize, b: usize| a as f64 / b as f64;
        assert!(
            t.null >= 300 && t.a_step_or_more >= 150 && t.within_a_step >= 60,
            "{t:?}"
        );
        assert!(
            rate(t.null_called, t.null) <= 0.05,
            "{with_vehicles}: {t:?}"
        );
        let shifted = t.a_step_or_more + t.within_a_step;
        let right = t.a_step_or_more_right + t.within_a_step_right;
        assert!(rate(right, shifted) >= 0.90, "{with_vehicles}: {t:?}");
        assert!(
            rate(t.a_step_or_more_right, t.a_step_or_more) >= 0.95,
            "{with_vehicles}: {t:?}"
        );
        assert_eq!(t.wrong_direction, 0, "{with_vehicles}: {t:?}");
    }
}
