//! Simulated screens with known plate levels and noise: QC and normalization give them back.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{collateral, num, read_csv};

fn simulate_and_run(dir: &Path, extra: &[&str]) {
    collateral()
        .args(["simulate", "-o"])
        .arg(dir)
        .args(extra)
        .assert()
        .success();
    collateral()
        .arg("run")
        .arg(dir.join("assay.toml"))
        .arg("-o")
        .arg(dir.join("out"))
        .assert()
        .success();
}

#[test]
fn qc_recovers_the_simulated_gain_background_and_noise() {
    let dir = tempfile::tempdir().unwrap();
    simulate_and_run(
        dir.path(),
        &[
            "--seed",
            "7",
            "--lines",
            "4",
            "--drugs",
            "6",
            "--replicates",
            "5",
        ],
    );
    let truth: HashMap<String, HashMap<String, String>> =
        read_csv(&dir.path().join("truth_plates.csv"))
            .into_iter()
            .map(|r| (r["plate"].clone(), r))
            .collect();
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    assert_eq!(qc.len(), 20);
    let (mut sd_ratio_v, mut sd_ratio_b, mut z_sum) = (0.0, 0.0, 0.0);
    for q in &qc {
        let t = &truth[&q["plate"]];
        let (gain, bg, noise) = (num(t, "gain"), num(t, "background"), num(t, "noise_sd"));
        let n = num(q, "n_vehicle");
        assert_eq!(n, 32.0);
        // Means within 4.5 standard errors of the truth.
        let se = noise / n.sqrt();
        assert!(
            (num(q, "mean_vehicle") - (bg + gain)).abs() < 4.5 * se,
            "{q:?}"
        );
        assert!((num(q, "mean_blank") - bg).abs() < 4.5 * se, "{q:?}");
        sd_ratio_v += num(q, "sd_vehicle") / noise;
        sd_ratio_b += num(q, "sd_blank") / noise;
        z_sum += num(q, "z_prime");
        assert_eq!(q["verdict"], "pass", "{q:?}");
    }
    let n = qc.len() as f64;
    // SD estimates from 32 wells scatter ~13 % each; averaged over 20 plates, ~3 %.
    assert!((sd_ratio_v / n - 1.0).abs() < 0.1, "{}", sd_ratio_v / n);
    assert!((sd_ratio_b / n - 1.0).abs() < 0.1, "{}", sd_ratio_b / n);
    // Closed form: Z′ = 1 − 3(σ + σ)/gain = 1 − 6 · noise = 0.7 for noise 0.05.
    assert!((z_sum / n - 0.7).abs() < 0.02, "mean Z′ {}", z_sum / n);
}

#[test]
fn z_prime_follows_the_closed_form_as_noise_grows() {
    for (noise, expected) in [("0.02", 0.88), ("0.1", 0.4)] {
        let dir = tempfile::tempdir().unwrap();
        simulate_and_run(
            dir.path(),
            &["--seed", "3", "--noise", noise, "--replicates", "6"],
        );
        let qc = read_csv(&dir.path().join("out/qc.csv"));
        let mean_z = qc.iter().map(|q| num(q, "z_prime")).sum::<f64>() / qc.len() as f64;
        assert!(
            (mean_z - expected).abs() < 0.03,
            "noise {noise}: mean Z′ {mean_z}"
        );
    }
}

#[test]
fn viabilities_match_the_truth_within_the_noise() {
    let dir = tempfile::tempdir().unwrap();
    simulate_and_run(
        dir.path(),
        &["--seed", "11", "--noise", "0.05", "--outlier-rate", "0.02"],
    );
    let truth: HashMap<(String, String), HashMap<String, String>> =
        read_csv(&dir.path().join("truth_wells.csv"))
            .into_iter()
            .map(|r| ((r["plate"].clone(), r["well"].clone()), r))
            .collect();
    let mut diffs = Vec::new();
    for w in read_csv(&dir.path().join("out/wells.csv")) {
        let t = &truth[&(w["plate"].clone(), w["well"].clone())];
        if w["role"] != "sample" || t["outlier"] == "true" {
            continue;
        }
        diffs.push(num(&w, "viability") - num(t, "true_viability"));
    }
    let n = diffs.len() as f64;
    let bias = diffs.iter().sum::<f64>() / n;
    let rms = (diffs.iter().map(|d| d * d).sum::<f64>() / n).sqrt();
    // Noise 0.05 per well plus the error of the plate's control levels (≈ 0.05·√(2/32)).
    assert!(bias.abs() < 0.01, "bias {bias}");
    assert!((rms - 0.05).abs() < 0.01, "rms {rms}");
}

#[test]
fn edge_effects_are_reported_not_corrected() {
    let dir = tempfile::tempdir().unwrap();
    simulate_and_run(
        dir.path(),
        &["--seed", "5", "--edge-effect", "0.3", "--noise", "0.03"],
    );
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    for q in &qc {
        assert_eq!(q["spatial_flag"], "true", "{q:?}");
        assert!(num(q, "edge_effect") < -0.2, "{q:?}");
        assert!(q["reason"].contains("edge effect"), "{q:?}");
    }
    let clean = tempfile::tempdir().unwrap();
    simulate_and_run(clean.path(), &["--seed", "5", "--noise", "0.03"]);
    let flagged = read_csv(&clean.path().join("out/qc.csv"))
        .iter()
        .filter(|q| q["spatial_flag"] == "true")
        .count();
    assert_eq!(flagged, 0);
}

#[test]
fn unreadable_signals_keep_their_wells_and_never_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    simulate_and_run(
        dir.path(),
        &["--seed", "2", "--drugs", "10", "--missing-rate", "0.05"],
    );
    let wells = read_csv(&dir.path().join("out/wells.csv"));
    let input = read_csv(&dir.path().join("wells.csv"));
    assert_eq!(wells.len(), input.len(), "no well is lost");
    let missing: Vec<_> = wells.iter().filter(|w| w["signal"] == "OVRFLW").collect();
    assert!(missing.len() > 20, "{}", missing.len());
    for w in missing {
        assert_eq!(w["excluded"], "true");
        assert_eq!(w["viability"], "");
        assert_eq!(w["exclusion_reason"], "signal not numeric: `OVRFLW`");
    }
    let flagged: f64 = read_csv(&dir.path().join("out/qc.csv"))
        .iter()
        .map(|q| num(q, "n_flagged"))
        .sum();
    assert!(flagged > 20.0);
}

#[test]
fn outputs_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "--seed", "9", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    for threads in ["1", "2"] {
        collateral()
            .args(["--threads", threads, "run"])
            .arg(dir.path().join("assay.toml"))
            .arg("-o")
            .arg(dir.path().join(format!("out{threads}")))
            .assert()
            .success();
    }
    for f in ["wells.csv", "qc.csv"] {
        let a = std::fs::read(dir.path().join("out1").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("out2").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn the_same_seed_gives_the_same_screen() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for d in [&a, &b] {
        collateral()
            .args(["simulate", "--seed", "4", "-o"])
            .arg(d.path())
            .assert()
            .success();
    }
    for f in ["wells.csv", "truth_curves.csv", "truth_plates.csv"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

/// Calls on simulated screens with known fold changes, over several seeds.
#[test]
fn calls_agree_with_the_truth_and_intervals_cover_it() {
    let (mut clear, mut clear_right, mut null, mut null_called, mut covered, mut intervals) =
        (0, 0, 0, 0, 0, 0);
    for seed in 1..=8 {
        let dir = tempfile::tempdir().unwrap();
        simulate_and_run(
            dir.path(),
            &["--seed", &seed.to_string(), "--lines", "6", "--drugs", "12"],
        );
        let truth: HashMap<(String, String), HashMap<String, String>> =
            read_csv(&dir.path().join("truth_curves.csv"))
                .into_iter()
                .map(|r| ((r["cell_line"].clone(), r["drug"].clone()), r))
                .collect();
        for s in read_csv(&dir.path().join("out/shifts.csv")) {
            let t = &truth[&(s["resistant_line"].clone(), s["drug"].clone())];
            // Only curves that cross 50 % have a true IC50 fold change.
            if t["true_log2_fc"].is_empty() || t["abs_ic50"].is_empty() {
                continue;
            }
            let fc = num(t, "true_log2_fc");
            if fc.abs() >= 1.5 {
                clear += 1;
                let expected = if fc > 0.0 {
                    "cross_resistant"
                } else {
                    "collateral_sensitive"
                };
                clear_right += usize::from(s["call"] == expected);
            }
            if fc.abs() <= 0.25 {
                null += 1;
                null_called += usize::from(
                    s["call"] == "cross_resistant" || s["call"] == "collateral_sensitive",
                );
            }
            if !s["ci_low"].is_empty() {
                intervals += 1;
                covered += usize::from(num(&s, "ci_low") <= fc && fc <= num(&s, "ci_high"));
            }
        }
    }
    let rate = |a: usize, b: usize| a as f64 / b as f64;
    assert!(
        clear > 100 && null > 100 && intervals > 300,
        "{clear} {null} {intervals}"
    );
    assert!(
        rate(clear_right, clear) >= 0.95,
        "clear cases right: {clear_right}/{clear}"
    );
    assert!(
        rate(null_called, null) <= 0.05,
        "neutral pairs called: {null_called}/{null}"
    );
    let coverage = rate(covered, intervals);
    assert!(
        (0.90..=0.99).contains(&coverage),
        "95 % CI coverage {covered}/{intervals}"
    );
}

#[test]
fn per_replicate_mode_reports_each_evolved_replicate() {
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args([
            "simulate", "--seed", "12", "--lines", "3", "--drugs", "4", "-o",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let assay = std::fs::read_to_string(dir.path().join("assay.toml")).unwrap()
        + "\n[shift]\nper_replicate = true\n";
    std::fs::write(dir.path().join("assay.toml"), assay).unwrap();
    collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let shifts = read_csv(&dir.path().join("out/shifts.csv"));
    // 2 resistant lines × 3 replicates × 4 drugs, each against the pooled parental line.
    assert_eq!(shifts.len(), 24);
    assert!(shifts
        .iter()
        .all(|s| ["1", "2", "3"].contains(&s["replicate"].as_str())));
    let by_rep = read_csv(&dir.path().join("out/fits_by_replicate.csv"));
    assert_eq!(by_rep.len(), 24);
    assert_eq!(
        read_csv(&dir.path().join("out/fits.csv")).len(),
        12,
        "pooled fits of all 3 lines"
    );
    let matrix = read_csv(&dir.path().join("out/matrix.csv"));
    assert_eq!(matrix.len(), 6);
    assert_eq!(matrix[0]["resistant_line"], "resistant01 rep 1");
}
