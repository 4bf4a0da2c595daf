//! Growth-rate-aware potency (docs/growth.md): GR values against the GR formula on known
//! counts, DIP rates against known rates, the growth columns and their reasons, and simulated
//! screens where resistant lines grow slower than their parental line.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::common::{collateral, num, read_csv, write};

/// The relative growth rate of the test drug: r(c) = E + (1 − E)/(1 + (c/EC50)^h).
const E: f64 = -0.2;
const EC50: f64 = 0.1;
const HILL: f64 = 1.2;
const DOSES: [f64; 8] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0];

fn rate(c: f64) -> f64 {
    E + (1.0 - E) / (1.0 + (c / EC50).powf(HILL))
}

/// A 96-well plate of counts of line `L` (doubling every 24 h), read at `times`: blanks at
/// 100, 1000 cells seeded, two sample wells per dose whose growth rate the drug multiplies by
/// r(c) from `delay` hours on. `wiggle` multiplies endpoint reads by 1 ± 1 % (alternating) so
/// that replicate wells differ; `time_column` writes the `time` column.
fn plate(times: &[f64], delay: f64, wiggle: bool, time_column: bool) -> String {
    let mut out = String::from("plate,well,cell_line,drug,concentration,role,signal");
    out.push_str(if time_column { ",time\n" } else { "\n" });
    let k0 = 1.0 / 24.0;
    for &t in times {
        let mut row = |well: &str, drug: &str, conc: &str, role: &str, signal: f64| {
            out.push_str(&format!("P,{well},L,{drug},{conc},{role},{signal}"));
            if time_column {
                out.push_str(&format!(",{t}"));
            }
            out.push('\n');
        };
        for well in ["A1", "B1", "C1"] {
            row(well, "", "", "blank", 100.0);
        }
        for (i, well) in ["A2", "B2", "C2", "D2"].iter().enumerate() {
            let f = if wiggle && t > 0.0 && i % 2 == 1 {
                1.01
            } else {
                1.0
            };
            row(
                well,
                "",
                "",
                "vehicle",
                100.0 + 1000.0 * (k0 * t).exp2() * f,
            );
        }
        for (d, &c) in DOSES.iter().enumerate() {
            for rep in 0..2 {
                let doublings = k0 * t.min(delay) + k0 * rate(c) * (t - delay).max(0.0);
                let f = match (wiggle && t > 0.0, rep) {
                    (false, _) => 1.0,
                    (true, 0) => 1.01,
                    (true, _) => 0.99,
                };
                let well = format!("{}{}", ["E", "F"][rep], d + 3);
                row(
                    &well,
                    "d",
                    &c.to_string(),
                    "sample",
                    100.0 + 1000.0 * doublings.exp2() * f,
                );
            }
        }
    }
    out
}

fn assay(dir: &Path, wells: &str, lines: &str, extra: &str) -> std::path::PathBuf {
    write(dir, "wells.csv", wells);
    write(dir, "lines.csv", lines);
    write(
        dir,
        "assay.toml",
        &format!(
            "name = \"growth\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n{extra}"
        ),
    )
}

fn run(assay: &Path, out: &Path) {
    collateral()
        .arg("run")
        .arg(assay)
        .arg("-o")
        .arg(out)
        .arg("--no-figures")
        .assert()
        .success();
}

const LINES: &str = "cell_line,parental_line,selected_with\nL,,\n";

/// GR of every endpoint sample well by the formula, from the signals as written: x = signal −
/// blank, x0 = mean of the time-0 vehicle and sample reads − blank, x_ctrl = mean endpoint
/// vehicle − blank (blank: mean of the endpoint blanks).
fn gr_by_formula(wells: &[HashMap<String, String>], endpoint: f64) -> BTreeMap<String, f64> {
    let at = |t: f64, role: &[&str]| -> Vec<f64> {
        wells
            .iter()
            .filter(|w| num(w, "time") == t && role.contains(&w["role"].as_str()))
            .map(|w| num(w, "signal"))
            .collect()
    };
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let blank = mean(at(endpoint, &["blank"]));
    let x0 = mean(at(0.0, &["vehicle", "sample"])) - blank;
    let x_ctrl = mean(at(endpoint, &["vehicle"])) - blank;
    wells
        .iter()
        .filter(|w| num(w, "time") == endpoint && w["role"] == "sample")
        .map(|w| {
            let x = num(w, "signal") - blank;
            let gr = ((x / x0).log2() / (x_ctrl / x0).log2()).exp2() - 1.0;
            (w["well"].clone(), gr)
        })
        .collect()
}

#[test]
fn gr_values_follow_the_formula_and_time_zero_reads_only_give_x0() {
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &plate(&[0.0, 72.0], 0.0, true, true), LINES, "");
    let out = dir.path().join("out");
    run(&a, &out);
    let input = read_csv(&dir.path().join("wells.csv"));
    let want = gr_by_formula(&input, 72.0);
    let wells = read_csv(&out.join("wells.csv"));
    let mut checked = 0;
    for w in &wells {
        if num(w, "time") == 0.0 {
            // Time-0 reads are x0 only: no viability, excluded with the reason.
            assert_eq!(w["viability"], "", "{w:?}");
            assert_eq!(
                w["exclusion_reason"],
                "not an endpoint read: time-0 read, x0 of GR only"
            );
            assert_eq!(w["gr"], "");
        } else if w["role"] == "sample" {
            let gr = num(w, "gr");
            assert!(
                (gr - want[&w["well"]]).abs() < 1e-12,
                "{w:?} {}",
                want[&w["well"]]
            );
            // And close to the truth 2^r − 1 (the 1 % wiggle aside).
            let truth = rate(num(w, "concentration")).exp2() - 1.0;
            assert!((gr - truth).abs() < 0.02, "{gr} {truth}");
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
    // QC judged the endpoint reads only: 4 vehicle and 3 blank wells, not twice as many.
    let qc = read_csv(&out.join("qc.csv"));
    assert_eq!(
        (num(&qc[0], "n_vehicle"), num(&qc[0], "n_blank")),
        (4.0, 3.0)
    );

    // The GR curve and metrics.
    let fits = read_csv(&out.join("fits.csv"));
    let f = &fits[0];
    assert_eq!(
        (f["gr_status"].as_str(), f["gr_source"].as_str()),
        ("ok", "time0")
    );
    let gr50 = EC50 * ((1.0 - E) / (1.5f64.log2() - E) - 1.0).powf(1.0 / HILL);
    assert_eq!(f["gr50_qualifier"], "=");
    assert!((num(f, "gr50") / gr50).log10().abs() < 0.03, "{f:?} {gr50}");
    assert!((num(f, "grinf") - (E.exp2() - 1.0)).abs() < 0.03, "{f:?}");
    // GRmax and GR_AOC from the per-dose means of the written GR values.
    let mut by_dose: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for w in wells
        .iter()
        .filter(|w| !w["gr"].is_empty() && w["role"] == "sample")
    {
        by_dose
            .entry(num(w, "concentration").to_bits())
            .or_default()
            .push(num(w, "gr"));
    }
    let means: Vec<(f64, f64)> = by_dose
        .iter()
        .map(|(c, v)| {
            (
                f64::from_bits(*c).log10(),
                v.iter().sum::<f64>() / v.len() as f64,
            )
        })
        .collect();
    let n = means.len();
    let grmax = means[n - 1].1.min(means[n - 2].1);
    assert!((num(f, "grmax") - grmax).abs() < 1e-12);
    let area: f64 = means
        .windows(2)
        .map(|p| (p[1].0 - p[0].0) * ((1.0 - p[0].1) + (1.0 - p[1].1)) / 2.0)
        .sum::<f64>()
        / (means[n - 1].0 - means[0].0);
    assert!(
        (num(f, "gr_aoc") - area).abs() < 1e-12,
        "{} {area}",
        f["gr_aoc"]
    );
    assert!(num(f, "log10_gr_aoc_se") > 0.0);
}

#[test]
fn gr_from_doubling_times_matches_gr_from_time_zero_reads() {
    // Without time-0 reads, the doubling time (24 h) and the endpoint time (72 h) give
    // log2(x_ctrl/x0) = 3, so GR = 2^(1 + log2(x/x_ctrl)/3) − 1.
    let lines = "cell_line,parental_line,selected_with,doubling_time_h\nL,,,24\n";
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &plate(&[72.0], 0.0, true, true), lines, "");
    run(&a, &dir.path().join("out"));
    let wells = read_csv(&dir.path().join("out/wells.csv"));
    let fits = read_csv(&dir.path().join("out/fits.csv"));
    assert_eq!(fits[0]["gr_source"], "doubling_time");
    // Without a time column, the endpoint time comes from [growth] treatment_hours.
    let dir2 = tempfile::tempdir().unwrap();
    let a2 = assay(
        dir2.path(),
        &plate(&[72.0], 0.0, true, false),
        lines,
        "[growth]\ntreatment_hours = 72\n",
    );
    run(&a2, &dir2.path().join("out"));
    let wells2 = read_csv(&dir2.path().join("out/wells.csv"));
    let mut checked = 0;
    for (w, w2) in wells
        .iter()
        .zip(&wells2)
        .filter(|(w, _)| w["role"] == "sample")
    {
        let v = num(w, "viability");
        let want = (1.0 + v.log2() / 3.0).exp2() - 1.0;
        assert!((num(w, "gr") - want).abs() < 1e-12, "{w:?}");
        assert_eq!(w["gr"], w2["gr"]);
        checked += 1;
    }
    assert_eq!(checked, 16);
    // Without a unit (no time column, no treatment_hours) the reason is said, nothing guessed.
    let dir3 = tempfile::tempdir().unwrap();
    let a3 = assay(dir3.path(), &plate(&[72.0], 0.0, true, false), lines, "");
    run(&a3, &dir3.path().join("out"));
    let f = &read_csv(&dir3.path().join("out/fits.csv"))[0];
    assert_eq!(
        (f["gr_status"].as_str(), f["gr50"].as_str()),
        ("not_computed", "")
    );
    assert!(
        f["gr_message"].contains("the endpoint time is unknown"),
        "{}",
        f["gr_message"]
    );
}

#[test]
fn growth_columns_appear_with_growth_data_and_say_why_they_are_empty() {
    // No time column and no doubling times: fits.csv keeps exactly its viability columns.
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &plate(&[72.0], 0.0, true, false), LINES, "");
    run(&a, &dir.path().join("out"));
    let header = std::fs::read_to_string(dir.path().join("out/fits.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert_eq!(header, collateral::fit::FITS_COLUMNS.join(","));
    assert!(!dir.path().join("out/dip_rates.csv").exists());
    // A growth metric then has nothing to compare: an error naming the key and the reason.
    let bad = assay(
        dir.path(),
        &plate(&[72.0], 0.0, true, false),
        LINES,
        "[shift]\nmetric = \"gr50\"\n",
    );
    let err = collateral()
        .arg("run")
        .arg(&bad)
        .arg("-o")
        .arg(dir.path().join("out2"))
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains("assay.toml:6"), "{err}");
    assert!(err.contains("needs growth data"), "{err}");
    // `validate` says so before any run, with every other problem of the assay.
    let out = collateral()
        .arg("validate")
        .arg(&bad)
        .assert()
        .failure()
        .get_output()
        .clone();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("lines table"), "{stdout}");
    assert!(
        stderr.contains("assay.toml:6") && stderr.contains("needs growth data"),
        "{stderr}"
    );
    assert!(stderr.contains("error: 1 problem found"), "{stderr}");

    // A time column with one read per well: the columns are there, empty, with the reasons.
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &plate(&[72.0], 0.0, true, true), LINES, "");
    run(&a, &dir.path().join("out"));
    let fits = read_csv(&dir.path().join("out/fits.csv"));
    let f = &fits[0];
    let columns: Vec<&str> = collateral::fit::FITS_COLUMNS
        .iter()
        .chain(collateral::growth::GROWTH_COLUMNS.iter())
        .copied()
        .collect();
    let mut keys: Vec<&String> = f.keys().collect();
    keys.sort();
    let mut want = columns.clone();
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(f["gr_status"], "not_computed");
    assert!(
        f["gr_message"].contains("no time-0 reads of `L` and no `doubling_time_h`"),
        "{}",
        f["gr_message"]
    );
    assert_eq!(f["dip_status"], "not_computed");
    assert!(
        f["dip_message"].contains("no well is read at two times"),
        "{}",
        f["dip_message"]
    );
    assert_eq!(f["gr50"], "");
}

#[test]
fn dip_rates_recover_known_rates_after_the_delay() {
    // Ten reads 8 h apart; the drug acts from 16 h on.
    let times: Vec<f64> = (0..10).map(|i| 8.0 * f64::from(i)).collect();
    let k0 = 1.0 / 24.0;
    let lines = LINES;
    for (setting, label) in [("[growth]\ndip_delay_h = 16\n", "fixed"), ("", "tyson1")] {
        let dir = tempfile::tempdir().unwrap();
        let a = assay(
            dir.path(),
            &plate(&times, 16.0, false, true),
            lines,
            setting,
        );
        run(&a, &dir.path().join("out"));
        let rates = read_csv(&dir.path().join("out/dip_rates.csv"));
        assert_eq!(rates.len(), 4 + 16, "{label}");
        let mut exact = 0;
        for r in &rates {
            let want = match r["role"].as_str() {
                "vehicle" => k0,
                _ => k0 * rate(num(r, "concentration")),
            };
            let got = num(r, "dip_rate");
            if r["role"] == "vehicle" || label == "fixed" || rate(num(r, "concentration")) < 0.5 {
                // Vehicles use every read; treated wells start at the delay when it is
                // given, and the tyson1 choice finds it where the drug clearly acts.
                assert!((got - want).abs() < 1e-12, "{label} {r:?} want {want}");
                if r["role"] == "sample" {
                    assert_eq!(num(r, "start_time"), 16.0, "{label} {r:?}");
                }
                exact += 1;
            } else {
                // Barely affected wells: one straight line over every read is as good.
                assert!((got - want).abs() < 0.05 * k0, "{label} {r:?} want {want}");
            }
            assert_eq!(r["excluded"], "false");
        }
        assert!(exact >= 4 + 8, "{label}: {exact}");
        // The DIP curve: EC50 and Emax/E0 of the rate curve (E0 = the untreated rate).
        let f = &read_csv(&dir.path().join("out/fits.csv"))[0];
        assert_eq!(f["dip_status"], "ok", "{f:?}");
        assert!(
            (num(f, "dip_ec50") / EC50).log10().abs() < 0.05,
            "{label} {f:?}"
        );
        assert!((num(f, "dip_emax_rel") - E).abs() < 0.05, "{label} {f:?}");
        assert!((num(f, "dip_e0") - k0).abs() < 0.05 * k0, "{label} {f:?}");
        assert!(
            (num(f, "dip_emax") - E * k0).abs() < 0.05 * k0,
            "{label} {f:?}"
        );
    }
}

#[test]
fn a_well_read_again_needs_its_own_time_and_the_same_layout() {
    let dir = tempfile::tempdir().unwrap();
    let head = "plate,well,cell_line,drug,concentration,role,signal";
    let cases = [
        (
            format!("{head}\nP,A1,L,,,vehicle,5\nP,A1,L,,,vehicle,6\n"),
            "appears twice (lines 2 and 3); a well read at several times needs a `time` column",
        ),
        (
            format!("{head},time\nP,A1,L,,,vehicle,5,24\nP,A1,L,,,vehicle,6,24\n"),
            "is read twice at time 24 (lines 2 and 3)",
        ),
        (
            format!("{head},time\nP,A1,L,,,vehicle,5,0\nP,A1,L,,,vehicle,6,\n"),
            "this read has no `time`",
        ),
        (
            format!("{head},time\nP,A1,L,,,vehicle,5,0\nP,A1,L,d,1,sample,6,24\n"),
            "with another cell line, drug, concentration, role or replicate than on line 2",
        ),
    ];
    for (wells, want) in cases {
        let a = assay(dir.path(), &wells, LINES, "");
        let out = collateral()
            .args(["validate"])
            .arg(&a)
            .assert()
            .failure()
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(text.contains(want), "{want}\n{text}");
        assert!(text.contains("wells.csv:3"), "{text}");
    }
}

/// Calls on the null pairs (true_log2_fc 0, not the selecting drug) and clear pairs
/// (|true_log2_fc| ≥ 1.5) of a simulated screen, per metric: (false calls, nulls, right calls,
/// clear).
fn calls(dir: &Path, metric: &str) -> (usize, usize, usize, usize) {
    let shifts = dir.join(format!("shift_{metric}"));
    collateral()
        .arg("shift")
        .arg(dir.join("out/fits.csv"))
        .arg("--lines")
        .arg(dir.join("lines.csv"))
        .arg("-o")
        .arg(&shifts)
        .args(["--metric", metric])
        .assert()
        .success();
    let truth: HashMap<(String, String), f64> = read_csv(&dir.join("truth_curves.csv"))
        .into_iter()
        .filter(|t| !t["true_log2_fc"].is_empty())
        .map(|t| {
            (
                (t["cell_line"].clone(), t["drug"].clone()),
                num(&t, "true_log2_fc"),
            )
        })
        .collect();
    let (mut false_calls, mut nulls, mut right, mut clear) = (0, 0, 0, 0);
    for s in read_csv(&shifts.join("shifts.csv")) {
        let Some(&t) = truth.get(&(s["resistant_line"].clone(), s["drug"].clone())) else {
            continue;
        };
        let called = s["call"] == "cross_resistant" || s["call"] == "collateral_sensitive";
        if t == 0.0 && s["drug"] != s["selected_with"] {
            nulls += 1;
            false_calls += usize::from(called);
        } else if t.abs() >= 1.5 {
            clear += 1;
            let ok = (t > 0.0 && s["call"] == "cross_resistant")
                || (t < 0.0 && s["call"] == "collateral_sensitive");
            right += usize::from(ok);
        }
    }
    (false_calls, nulls, right, clear)
}

#[test]
fn slow_growing_resistant_lines_fool_ic50_shifts_but_not_gr_or_dip_shifts() {
    // Resistant lines double every 48 h, the parental line every 24 h; apart from the drawn
    // EC50 shifts their drug response (the relative growth rate) is the parental one.
    let mut totals: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut control = [0usize; 2];
    for seed in ["1", "2", "3"] {
        for resistant in ["48", "24"] {
            let dir = tempfile::tempdir().unwrap();
            collateral()
                .args(["simulate", "-o"])
                .arg(dir.path())
                .args(["--seed", seed, "--lines", "6", "--drugs", "12"])
                .args([
                    "--doubling-time",
                    "24",
                    "--resistant-doubling-time",
                    resistant,
                ])
                .args(["--t0", "--reads", "4"])
                .assert()
                .success();
            run(&dir.path().join("assay.toml"), &dir.path().join("out"));
            if resistant == "24" {
                // Equal growth: the endpoint IC50 is fine too.
                let (f, n, _, _) = calls(dir.path(), "ic50");
                control[0] += f;
                control[1] += n;
                continue;
            }
            for metric in ["ic50", "gr50", "dip_ec50"] {
                let (f, n, r, c) = calls(dir.path(), metric);
                let t = totals.entry(metric).or_default();
                for (a, b) in t.iter_mut().zip([f, n, r, c]) {
                    *a += b;
                }
            }
        }
    }
    let rate = |m: &str, i: usize, j: usize| totals[m][i] as f64 / totals[m][j] as f64;
    let report = format!("{totals:?}, equal-growth IC50 false calls {control:?}");
    assert!(totals["ic50"][1] >= 90, "{report}");
    // Measured (seeds 1-3): of 101 null pairs IC50 calls 76 (75 %), GR50 1, DIP EC50 0; with
    // equal growth IC50 calls 0 of 101. Clear pairs right: GR50 68 of 69, DIP EC50 58, IC50 48.
    assert!(rate("ic50", 0, 1) >= 0.5, "IC50 should be fooled: {report}");
    assert!(rate("gr50", 0, 1) <= 0.05, "{report}");
    assert!(rate("dip_ec50", 0, 1) <= 0.05, "{report}");
    assert!((control[0] as f64) <= 0.05 * control[1] as f64, "{report}");
    // And they still find the real shifts.
    assert!(rate("gr50", 2, 3) >= 0.9, "{report}");
    assert!(rate("dip_ec50", 2, 3) >= 0.7, "{report}");
}

#[test]
fn run_and_shift_agree_on_growth_metrics() {
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "-o"])
        .arg(dir.path())
        .args(["--seed", "5", "--lines", "3", "--drugs", "4"])
        .args(["--doubling-time", "24", "--resistant-doubling-time", "36"])
        .args(["--t0", "--reads", "3"])
        .assert()
        .success();
    for metric in ["gr50", "gr_aoc", "dip_ec50", "dip_emax"] {
        let toml = std::fs::read_to_string(dir.path().join("assay.toml")).unwrap();
        let a = write(
            dir.path(),
            "assay_metric.toml",
            &format!("{toml}[shift]\nmetric = \"{metric}\"\n"),
        );
        let out = dir.path().join(format!("run_{metric}"));
        run(&a, &out);
        let shifted = dir.path().join(format!("shift_{metric}"));
        collateral()
            .arg("shift")
            .arg(out.join("fits.csv"))
            .arg("--lines")
            .arg(dir.path().join("lines.csv"))
            .arg("-o")
            .arg(&shifted)
            .args(["--metric", metric])
            .assert()
            .success();
        let from_run = std::fs::read_to_string(out.join("shifts.csv")).unwrap();
        let from_shift = std::fs::read_to_string(shifted.join("shifts.csv")).unwrap();
        assert_eq!(from_run, from_shift, "{metric}");
        let rows = read_csv(&out.join("shifts.csv"));
        assert!(rows.iter().all(|r| r["metric"] == metric));
        assert!(
            rows.iter().filter(|r| !r["log2_fc"].is_empty()).count() >= rows.len() / 2,
            "{metric}: {rows:?}"
        );
    }
}

#[test]
fn growth_outputs_are_the_same_for_any_thread_count_and_survive_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "-o"])
        .arg(dir.path())
        .args(["--seed", "8", "--lines", "3", "--drugs", "5"])
        .args(["--doubling-time", "20", "--resistant-doubling-time", "30"])
        .args(["--t0", "--reads", "5", "--noise", "0.08"])
        .assert()
        .success();
    let assay = dir.path().join("assay.toml");
    for threads in ["1", "2"] {
        collateral()
            .args(["--threads", threads, "run"])
            .arg(&assay)
            .arg("-o")
            .arg(dir.path().join(format!("run{threads}")))
            .arg("--no-figures")
            .assert()
            .success();
    }
    for file in ["wells.csv", "fits.csv", "dip_rates.csv", "shifts.csv"] {
        let a = std::fs::read(dir.path().join("run1").join(file)).unwrap();
        let b = std::fs::read(dir.path().join("run2").join(file)).unwrap();
        assert!(a == b, "{file} differs between 1 and 2 threads");
    }
    // A merge keeps the growth columns and compares on them.
    let merged = dir.path().join("merged");
    collateral()
        .arg("merge")
        .arg(dir.path().join("run1"))
        .arg(dir.path().join("run2"))
        .arg("-o")
        .arg(&merged)
        .args([
            "--on-duplicate",
            "newest",
            "--metric",
            "gr50",
            "--no-figures",
        ])
        .assert()
        .success();
    let fits = read_csv(&merged.join("fits.csv"));
    assert!(fits.iter().all(|f| f["gr_status"] == "ok"), "{fits:?}");
    let shifts = read_csv(&merged.join("shifts.csv"));
    assert!(shifts.iter().all(|s| s["metric"] == "gr50"));
    assert!(shifts.iter().any(|s| !s["log2_fc"].is_empty()));
    // And its DIP rates: every run's rows with the run's name, plates told apart, the wells
    // behind the fits left out (run1's: run2 started last) excluded with the reason.
    let merged_rates = read_csv(&merged.join("dip_rates.csv"));
    let own = read_csv(&dir.path().join("run1/dip_rates.csv"));
    assert_eq!(merged_rates.len(), 2 * own.len());
    for (run, rows) in [
        ("run1", &merged_rates[..own.len()]),
        ("run2", &merged_rates[own.len()..]),
    ] {
        for (m, o) in rows.iter().zip(&own) {
            assert_eq!(m["run"], run);
            assert_eq!(m["plate"], format!("{run}/{}", o["plate"]));
            assert_eq!(m["dip_rate"], o["dip_rate"]);
            let superseded = run == "run1" && o["role"] == "sample" && o["excluded"] != "true";
            if superseded {
                assert_eq!(m["excluded"], "true");
                assert!(m["reason"].starts_with("superseded: "), "{m:?}");
            } else {
                assert_eq!(
                    (&m["excluded"], &m["reason"]),
                    (&o["excluded"], &o["reason"])
                );
            }
        }
    }
    assert!(own
        .iter()
        .any(|o| o["role"] == "sample" && o["excluded"] != "true"));
    // A merge compared on DIP EC50 draws the DIP rates of the fits it kept.
    let merged_dip = dir.path().join("merged_dip");
    collateral()
        .arg("merge")
        .arg(dir.path().join("run1"))
        .arg(dir.path().join("run2"))
        .arg("-o")
        .arg(&merged_dip)
        .args(["--on-duplicate", "newest", "--metric", "dip_ec50"])
        .assert()
        .success();
    let data = collateral::plot::data::RunData::read(&merged_dip).unwrap();
    let kept = merged_rates
        .iter()
        .filter(|r| r["role"] == "sample" && r["excluded"] != "true" && !r["dip_rate"].is_empty())
        .count();
    assert!(kept > 0);
    assert_eq!(data.dip_points.len(), kept);
}

#[test]
fn figures_draw_the_response_the_run_compared() {
    use collateral::plot::data::{Response, RunData};
    use collateral::plot::dose_response::Curves;
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "-o"])
        .arg(dir.path())
        .args(["--seed", "3", "--lines", "2", "--drugs", "3"])
        .args(["--doubling-time", "24", "--resistant-doubling-time", "36"])
        .args(["--t0", "--reads", "3"])
        .assert()
        .success();
    let toml = std::fs::read_to_string(dir.path().join("assay.toml")).unwrap();
    for (metric, response, label) in [
        ("ic50", Response::Viability, "viability"),
        ("gr50", Response::Gr, "GR value"),
        ("dip_ec50", Response::Dip, "DIP rate (doublings/h)"),
    ] {
        let a = write(
            dir.path(),
            "assay_metric.toml",
            &format!("{toml}[shift]\nmetric = \"{metric}\"\n"),
        );
        let out = dir.path().join(format!("run_{metric}"));
        collateral()
            .arg("run")
            .arg(&a)
            .arg("-o")
            .arg(&out)
            .assert()
            .success();
        let data = RunData::read(&out).unwrap();
        assert_eq!(data.response, response);
        let caption = match response {
            Response::Viability => "Dose-response of".to_string(),
            _ => format!("Dose-response ({label}) of"),
        };
        // The drawn points are the wells' values of that response, the curve its fit.
        let expected: Vec<(String, String, f64, f64)> = match response {
            Response::Dip => read_csv(&out.join("dip_rates.csv"))
                .into_iter()
                .filter(|r| r["role"] == "sample" && r["excluded"] != "true")
                .filter(|r| !r["dip_rate"].is_empty())
                .map(|r| {
                    let (c, y) = (num(&r, "concentration"), num(&r, "dip_rate"));
                    (r["cell_line"].clone(), r["drug"].clone(), c, y)
                })
                .collect(),
            _ => read_csv(&out.join("wells.csv"))
                .into_iter()
                .filter(|r| r["role"] == "sample" && r["excluded"] != "true")
                .filter(|r| !r["exclusion_reason"].starts_with("not the endpoint"))
                .filter(|r| !r[if metric == "gr50" { "gr" } else { "viability" }].is_empty())
                .map(|r| {
                    let y = num(&r, if metric == "gr50" { "gr" } else { "viability" });
                    let c = num(&r, "concentration");
                    (r["cell_line"].clone(), r["drug"].clone(), c, y)
                })
                .collect(),
        };
        let curves = Curves::new(&data, &Default::default());
        let fits = read_csv(&out.join("fits.csv"));
        let mut panels = 0;
        for (line, parental) in curves.lines() {
            let grid = curves.grid(line, parental.as_deref()).unwrap();
            assert_eq!(grid.response, response);
            assert!(grid.caption().contains(&caption), "{}", grid.caption());
            for panel in &grid.panels {
                for s in &panel.series {
                    let mut want: Vec<(f64, f64)> = expected
                        .iter()
                        .filter(|e| e.0 == s.line && e.1 == panel.drug)
                        .map(|e| (e.2, e.3))
                        .collect();
                    let mut got = s.points.clone();
                    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    assert!(!got.is_empty(), "{metric} {} {}", s.line, panel.drug);
                    assert_eq!(got, want, "{metric} {} {}", s.line, panel.drug);
                    let f = fits
                        .iter()
                        .find(|f| f["cell_line"] == s.line && f["drug"] == panel.drug)
                        .unwrap();
                    let (potency, bottom) = match response {
                        Response::Dip => (num(f, "dip_ec50"), num(f, "dip_emax")),
                        Response::Gr => (num(f, "gr50"), num(f, "grinf")),
                        _ => (num(f, "ic50"), num(f, "bottom")),
                    };
                    assert_eq!(s.potency.to_bits(), potency.to_bits(), "{metric}");
                    if let Some(c) = s.curve {
                        assert_eq!(c.bottom, bottom, "{metric}");
                    }
                    panels += 1;
                }
            }
        }
        assert!(panels >= 4, "{metric}: {panels} series");
        let svg = std::fs::read_dir(out.join("plots/dose_response"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .find(|t| t.contains("<svg"))
            .unwrap();
        assert!(svg.contains(label), "{metric}: no `{label}` axis");
        let report = std::fs::read_to_string(out.join("report.html")).unwrap();
        // The report's fit table shows the fits behind the compared metric.
        let (columns, _) = collateral::report::fit_table_columns(response);
        assert!(columns.contains(&if metric == "ic50" { "ic50" } else { metric }));
        let table = crate::plot::html_table(&report, "fits-table");
        assert_eq!(table.len(), fits.len());
        for (row, f) in table.iter().zip(&fits) {
            let want: Vec<String> = columns.iter().map(|c| f[*c].clone()).collect();
            assert_eq!(row, &want, "{metric}");
        }
        assert!(
            report.contains(&caption),
            "{metric}: no `{caption}` in the report"
        );
    }
}
