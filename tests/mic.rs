//! Metric mic end to end: MICs read from hand-made wells with known answers (skipped wells,
//! `>` and `<=`), their shifts, MIC tables given to `collateral shift`, bad inputs with
//! located errors, and a simulated screen whose MICs are checked against the true curves.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{collateral, num, read_csv, write};

/// Two-fold series of the hand-made screen.
const DOSES: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// (cell line, drug, replicate, viability at each dose): the screen whose MICs are known.
const SERIES: [(&str, &str, &str, [f64; 6]); 12] = [
    // P × D: MIC 1, 1, 2.
    ("P", "D", "1", [1.0, 0.8, 0.05, 0.02, 0.0, 0.0]),
    ("P", "D", "2", [1.0, 0.9, 0.1, 0.0, 0.0, 0.0]),
    ("P", "D", "3", [1.0, 0.5, 0.3, 0.08, 0.0, 0.0]),
    // R × D: MIC 8; > 8 after a skipped well at 8 (no growth at 4); > 8.
    ("R", "D", "1", [1.0, 1.0, 1.0, 1.0, 0.9, 0.05]),
    ("R", "D", "2", [1.0, 1.0, 1.0, 1.0, 0.05, 0.3]),
    ("R", "D", "3", [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]),
    // P × E: MIC 2 throughout.
    ("P", "E", "1", [1.0, 1.0, 0.7, 0.0, 0.0, 0.0]),
    ("P", "E", "2", [1.0, 1.0, 0.6, 0.01, 0.0, 0.0]),
    ("P", "E", "3", [1.0, 1.0, 0.5, 0.1, 0.0, 0.0]),
    // R × E: no growth from the lowest dose on (<= 0.25); one skipped well at 1.
    ("R", "E", "1", [0.05, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("R", "E", "2", [0.0, 0.02, 0.4, 0.0, 0.0, 0.0]),
    ("R", "E", "3", [0.08, 0.0, 0.0, 0.0, 0.0, 0.0]),
];

/// The wells table: one plate per line and replicate, vehicle 1000, blank 0, signal = 1000 ×
/// viability (so the normalized viability is the number above).
fn wells() -> String {
    let mut s = String::from("plate,well,cell_line,drug,concentration,role,signal,replicate\n");
    for line in ["P", "R"] {
        for rep in ["1", "2", "3"] {
            let plate = format!("{line}{rep}");
            for (well, role, signal) in [
                ("A1", "vehicle", 1000.0),
                ("B1", "vehicle", 1000.0),
                ("C1", "blank", 0.0),
                ("D1", "blank", 0.0),
            ] {
                s += &format!("{plate},{well},{line},,,{role},{signal},{rep}\n");
            }
            for (row, (l, drug, r, v)) in SERIES
                .iter()
                .filter(|(l, _, r, _)| *l == line && *r == rep)
                .enumerate()
            {
                assert_eq!((*l, *r), (line, rep));
                for (c, (dose, v)) in DOSES.iter().zip(v).enumerate() {
                    let well = format!("{}{}", (b'A' + row as u8) as char, c + 2);
                    s += &format!(
                        "{plate},{well},{line},{drug},{dose},sample,{},{rep}\n",
                        v * 1000.0
                    );
                }
            }
        }
    }
    s
}

const LINES: &str = "cell_line,parental_line,selected_with\nP,,\nR,P,D\n";

fn assay(dir: &Path, extra: &str) -> std::path::PathBuf {
    assay_of(dir, "mic", &wells(), extra)
}

/// An assay named `name` in `dir` over `wells` and [`LINES`], with `extra` settings.
fn assay_of(dir: &Path, name: &str, wells: &str, extra: &str) -> std::path::PathBuf {
    write(dir, "wells.csv", wells);
    write(dir, "lines.csv", LINES);
    write(
        dir,
        "assay.toml",
        &format!(
            "name = \"{name}\"\nconcentration_unit = \"ug/mL\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n{extra}"
        ),
    )
}

fn run(dir: &Path, extra: &str) -> std::path::PathBuf {
    run_into(&assay(dir, extra), &dir.join("out"))
}

/// `collateral run --no-figures ASSAY -o OUT`, which must succeed.
fn run_into(assay: &Path, out: &Path) -> std::path::PathBuf {
    collateral()
        .args(["run", "--no-figures"])
        .arg(assay)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    out.to_path_buf()
}

#[test]
fn mics_from_hand_made_wells() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), "[shift]\nmetric = \"mic\"\n");
    let text = std::fs::read_to_string(out.join("mics.csv")).unwrap();
    assert!(text.starts_with(
        "cell_line,drug,replicate,mic,mic_qualifier,n_concentrations,skipped_wells,message\n"
    ));
    let mics = read_csv(&out.join("mics.csv"));
    assert_eq!(mics.len(), 12);
    let got: Vec<(String, String, String, f64, String, String)> = mics
        .iter()
        .map(|m| {
            (
                m["cell_line"].clone(),
                m["drug"].clone(),
                m["replicate"].clone(),
                num(m, "mic"),
                m["mic_qualifier"].clone(),
                m["skipped_wells"].clone(),
            )
        })
        .collect();
    let want: Vec<(&str, &str, &str, f64, &str, &str)> = vec![
        ("P", "D", "1", 1.0, "=", "0"),
        // 0.1 is at the threshold: no growth.
        ("P", "D", "2", 1.0, "=", "0"),
        ("P", "D", "3", 2.0, "=", "0"),
        ("P", "E", "1", 2.0, "=", "0"),
        ("P", "E", "2", 2.0, "=", "0"),
        ("P", "E", "3", 2.0, "=", "0"),
        ("R", "D", "1", 8.0, "=", "0"),
        ("R", "D", "2", 8.0, ">", "1"),
        ("R", "D", "3", 8.0, ">", "0"),
        ("R", "E", "1", 0.25, "<=", "0"),
        ("R", "E", "2", 2.0, "=", "1"),
        ("R", "E", "3", 0.25, "<=", "0"),
    ];
    let want: Vec<(String, String, String, f64, String, String)> = want
        .into_iter()
        .map(|(a, b, c, d, e, f)| (a.into(), b.into(), c.into(), d, e.into(), f.into()))
        .collect();
    assert_eq!(got, want);
    let message = |line: &str, drug: &str, rep: &str| {
        mics.iter()
            .find(|m| m["cell_line"] == line && m["drug"] == drug && m["replicate"] == rep)
            .unwrap()["message"]
            .clone()
    };
    assert_eq!(
        message("R", "D", "2"),
        "skipped wells: growth above 0.1 at 8 (viability 0.300) above no growth at 4; the MIC is read above them; growth above 0.1 at the highest concentration, 8"
    );
    assert_eq!(
        message("R", "E", "1"),
        "no growth above 0.1 from the lowest concentration, 0.25"
    );
    assert!(message("R", "E", "2").contains("growth above 0.1 at 1 (viability 0.400)"));
    assert_eq!(message("P", "D", "1"), "");
    assert!(mics.iter().all(|m| m["n_concentrations"] == "6"));

    // The shifts compare the MLE MICs: D 1 → 16 (8, > 8, > 8: only 16 explains all three
    // within one step), E 2 → <= 0.25 (every replicate but one at or below the lowest dose).
    let shifts = read_csv(&out.join("shifts.csv"));
    let d = shifts.iter().find(|s| s["drug"] == "D").unwrap();
    assert_eq!(
        (d["metric"].as_str(), d["value_parental"].as_str()),
        ("mic", "1")
    );
    assert_eq!(d["value_resistant"], "16");
    assert_eq!(
        (num(d, "log2_fc"), d["log2_fc_qualifier"].as_str()),
        (4.0, "=")
    );
    // No one MIC explains 1, 1, 2 and 8, > 8, > 8: D = ∞.
    assert_eq!(num(d, "p_value"), 0.0);
    assert_eq!(d["call"], "cross_resistant");
    let e = shifts.iter().find(|s| s["drug"] == "E").unwrap();
    // R × E mixes <= 0.25 twice and 2 once: more than a step apart, no MLE.
    assert_eq!(e["call"], "undetermined");
    assert!(
        e["reason"].contains("span more than one two-fold step"),
        "{e:?}"
    );
    // run.json records the pooled error rate.
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert!(run["mic"]["error_rate"].as_f64().unwrap() > 0.0, "{run}");
    assert_eq!(run["settings"]["mic"]["threshold"], 0.1);
    // fits.csv is still written, for the figures.
    assert_eq!(read_csv(&out.join("fits.csv")).len(), 4);
}

#[test]
fn the_threshold_is_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        "[shift]\nmetric = \"mic\"\n[mic]\nthreshold = 0.5\n",
    );
    let mics = read_csv(&out.join("mics.csv"));
    let p3 = mics
        .iter()
        .find(|m| m["cell_line"] == "P" && m["drug"] == "D" && m["replicate"] == "3")
        .unwrap();
    // 1, 0.5, 0.3, …: at or below 0.5 from 0.5 on.
    assert_eq!((num(p3, "mic"), p3["mic_qualifier"].as_str()), (0.5, "="));
    // Other metrics write no mics.csv and keep run.json's settings as they were.
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), "");
    assert!(!out.join("mics.csv").exists());
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert!(run["settings"].get("mic").is_none(), "{run}");
    assert!(run.get("mic").is_none());
}

/// A MIC table for `collateral shift`; returns the folder.
fn shift_mics(table: &str, args: &[&str]) -> (tempfile::TempDir, assert_cmd::assert::Assert) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mics.csv", table);
    write(dir.path(), "lines.csv", LINES);
    let res = collateral()
        .args(["shift", "mics.csv", "--lines", "lines.csv", "-o", "out"])
        .args(args)
        .current_dir(dir.path())
        .assert();
    (dir, res)
}

fn stderr(res: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&res.get_output().stderr).to_string()
}

#[test]
fn shift_reads_a_mic_table_by_its_columns() {
    // No --metric: the `mic` column says what the table is. Qualifiers in their own column or
    // leading the number; censored MICs enter the likelihood as bounds.
    let table = "cell_line,drug,replicate,mic,mic_qualifier\n\
                 P,D,1,1,=\nP,D,2,1,\nP,D,3,2,=\n\
                 R,D,1,>8,\nR,D,2,8,>\nR,D,3,16,=\n\
                 P,E,1,4,\nP,E,2,4,\nP,E,3,4,\n\
                 R,E,1,4,\nR,E,2,2,\nR,E,3,4,\n\
                 P,F,a,1,\nP,F,b,1,\nR,F,a,<=2,\nR,F,b,<=2,\n\
                 P,G,a,0.25,\nP,G,b,<=0.25,\nR,G,a,<=0.25,\nR,G,b,<=0.25,\n";
    let (dir, res) = shift_mics(table, &["--rule", "nichol2019"]);
    res.success();
    let shifts = read_csv(&dir.path().join("out/shifts.csv"));
    let by_drug: BTreeMap<&str, _> = shifts.iter().map(|s| (s["drug"].as_str(), s)).collect();
    assert_eq!(by_drug["D"]["value_resistant"], "16");
    assert_eq!(num(by_drug["D"], "log2_fc"), 4.0);
    assert_eq!(by_drug["D"]["call"], "cross_resistant");
    // E: 4, 2, 4 against 4, 4, 4: the same MLE, p = 1; at this table's error rate a step
    // either way is rejected, so the likelihood interval is the point.
    assert_eq!(num(by_drug["E"], "log2_fc"), 0.0);
    assert_eq!(num(by_drug["E"], "p_value"), 1.0);
    assert_eq!(by_drug["E"]["call"], "neutral");
    assert_eq!(
        (num(by_drug["E"], "ci_low"), num(by_drug["E"], "ci_high")),
        (0.0, 0.0)
    );
    // F: 1, 1 against <= 2, <= 2: log2_fc < 1 leaves the direction open.
    assert_eq!(by_drug["F"]["log2_fc_qualifier"], "<");
    assert_eq!(by_drug["F"]["call"], "undetermined");
    assert!(
        by_drug["F"]["reason"].contains("open"),
        "{:?}",
        by_drug["F"]
    );
    // G: both at or below the lowest dose: log2_fc < 0, but nothing tells them apart.
    assert_eq!(
        (
            by_drug["G"]["log2_fc_qualifier"].as_str(),
            num(by_drug["G"], "log2_fc")
        ),
        ("<", 0.0)
    );
    assert!(num(by_drug["G"], "p_value") > 0.5);
    assert_eq!(by_drug["G"]["call"], "neutral");
    assert_eq!(by_drug["G"]["ci_high"], "0");

    // --metric ic50 on a MIC table, and metric mic on a fits table, are errors that say so.
    let (_, res) = shift_mics(table, &["--metric", "ic50"]);
    let err = stderr(&res.code(1));
    assert!(err.contains("mics.csv:1: mics.csv is a MIC table"), "{err}");
    let (_, res) = shift_mics("cell_line,drug,ic50\nP,D,1\nR,D,2\n", &["--metric", "mic"]);
    let err = stderr(&res.code(1));
    assert!(
        err.contains("mics.csv:1: metric mic compares MICs, not the fits of mics.csv"),
        "{err}"
    );
    let (_, res) = shift_mics(table, &["--rule", "dhawan2017"]);
    let err = stderr(&res.code(1));
    assert!(
        err.contains("`shift.rule = \"dhawan2017\"` with `metric = \"mic\"`"),
        "{err}"
    );
}

#[test]
fn bad_mic_tables_name_file_and_line() {
    let head = "cell_line,drug,replicate,mic,mic_qualifier\n";
    let (_, res) = shift_mics(
        &format!("{head}P,D,1,1,\nP,D,2,abc,\nR,D,1,0,\nR,D,2,4,<\nR,D,3,>4,<=\nR,D,4,,\n"),
        &[],
    );
    let err = stderr(&res.code(1));
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(
            "mics.csv:3: `mic` is `abc`; expected a positive number, optionally led by > or <="
        ),
        "{err}"
    );
    assert!(err.contains("mics.csv:4: `mic` is `0`"), "{err}");
    assert!(
        err.contains("mics.csv:5: `mic_qualifier` is `<`; expected =, > or <="),
        "{err}"
    );
    assert!(
        err.contains("mics.csv:6: `mic` is `>4` (qualifier >) but `mic_qualifier` is `<=`"),
        "{err}"
    );
    assert!(err.contains("mics.csv:7: `mic` is empty"), "{err}");
    let (_, res) = shift_mics(&format!("{head}P,D,1,1,\nP,D,1,2,\n"), &[]);
    let err = stderr(&res.code(1));
    assert!(
        err.contains(
            "mics.csv:3: cell line `P`, drug `D`, replicate `1` is measured twice (lines 2 and 3)"
        ),
        "{err}"
    );
    let (_, res) = shift_mics("cell_line,drug,mic\nP,D,1\n", &["--metric", "mic"]);
    let err = stderr(&res.code(1));
    assert!(
        err.contains("mics.csv:1: required column `replicate` is missing"),
        "{err}"
    );
}

#[test]
fn bad_mic_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, want) in [
        (
            "[shift]\nmetric = \"mic\"\n[mic]\nthreshold = 1.5\n",
            "assay.toml:8: `mic.threshold = 1.5`: expected a viability between 0 and 1",
        ),
        (
            "[mic]\nthreshhold = 0.2\n",
            "assay.toml:6: unknown key `mic.threshhold` (did you mean `threshold`?)",
        ),
        (
            "[shift]\nmetric = \"mic\"\nper_replicate = true\n",
            "assay.toml:7: `shift.per_replicate = true` with `metric = \"mic\"`",
        ),
    ] {
        let a = assay(dir.path(), extra);
        let res = collateral()
            .arg("run")
            .arg(&a)
            .arg("-o")
            .arg(dir.path().join("out"))
            .assert()
            .code(1);
        let err = stderr(&res);
        assert!(err.contains(want), "{extra}: {err}");
    }
}

/// The MIC a noise-free series would give: the lowest tested dose at or below `threshold` on the
/// true (falling) curve, `>` the highest when none is, `<=` the lowest when every one is; and
/// whether the series is clear of the noise: the true viabilities at that dose and the one below
/// lie more than `margin` from the threshold.
fn true_mic(
    curve: &collateral::simulate::TrueCurve,
    doses: &[f64],
    threshold: f64,
    margin: f64,
) -> (f64, &'static str, bool) {
    let v = |i: usize| curve.viability(doses[i]);
    let far = |i: usize| (v(i) - threshold).abs() > margin;
    match doses.iter().position(|&d| curve.viability(d) <= threshold) {
        None => (doses[doses.len() - 1], ">", far(doses.len() - 1)),
        Some(0) => (doses[0], "<=", far(0)),
        Some(i) => (doses[i], "=", far(i) && far(i - 1)),
    }
}

#[test]
fn simulated_mics_follow_the_true_curves() {
    // Eight seeded screens of 6 lines × 8 drugs × 3 plate replicates, ten two-fold doses up to
    // 16, well noise SD 0.02 in viability units.
    use collateral::simulate::{simulate, SimulationSettings};
    let noise = 0.02;
    let (mut exact, mut within_one, mut total) = (0, 0, 0);
    let (mut clear_exact, mut clear) = (0, 0);
    let (mut moved_right, mut moved) = (0, 0);
    let (mut null_called, mut null) = (0, 0);
    for seed in 1..=8 {
        let config = SimulationSettings {
            seed,
            lines: 6,
            drugs: 8,
            doses: 10,
            replicates: 3,
            top_concentration: 16.0,
            dilution: 2.0,
            noise,
            ..Default::default()
        }
        .check()
        .unwrap();
        let doses = config.doses();
        let screen = simulate(&config);
        let dir = tempfile::tempdir().unwrap();
        screen.write(dir.path()).unwrap();
        let assay = dir.path().join("assay.toml");
        let mut text = std::fs::read_to_string(&assay).unwrap();
        text.push_str("[shift]\nmetric = \"mic\"\n");
        std::fs::write(&assay, text).unwrap();
        collateral()
            .args(["run", "--no-figures"])
            .arg(&assay)
            .arg("-o")
            .arg(dir.path().join("out"))
            .assert()
            .success();
        let truth: BTreeMap<(String, String), &collateral::simulate::TrueCurve> = screen
            .curves
            .iter()
            .map(|c| ((c.cell_line.clone(), c.drug.clone()), c))
            .collect();
        let true_of = |line: &str, drug: &str| {
            let curve = truth[&(line.to_string(), drug.to_string())];
            true_mic(curve, &doses, 0.1, 3.0 * noise)
        };
        let step = |a: f64, b: f64| (a / b).log2().round() as i64;
        // A bound at the top counts as the dose beyond it, for counting steps.
        let edge = |v: f64, q: &str| if q == ">" { v * 2.0 } else { v };
        for m in read_csv(&dir.path().join("out/mics.csv")) {
            let (want, q, far) = true_of(&m["cell_line"], &m["drug"]);
            let right = m["mic_qualifier"] == q && num(&m, "mic") == want;
            total += 1;
            exact += usize::from(right);
            let off = step(edge(num(&m, "mic"), &m["mic_qualifier"]), edge(want, q));
            within_one += usize::from(off.abs() <= 1);
            if far {
                clear += 1;
                clear_exact += usize::from(right);
            }
        }
        // Shifts (rule delta): where the true MIC moved two or more steps inside the tested
        // range the call has that direction; where it did not move, the call is neutral.
        for s in read_csv(&dir.path().join("out/shifts.csv")) {
            let r = true_of(&s["resistant_line"], &s["drug"]);
            let p = true_of(&s["parental_line"], &s["drug"]);
            if r.1 != "=" || p.1 != "=" {
                continue;
            }
            let shift = step(r.0, p.0);
            let want = match shift {
                d if d >= 2 => "cross_resistant",
                d if d <= -2 => "collateral_sensitive",
                0 => "neutral",
                _ => continue,
            };
            if shift == 0 {
                null += 1;
                null_called += usize::from(matches!(
                    s["call"].as_str(),
                    "cross_resistant" | "collateral_sensitive"
                ));
            } else {
                moved += 1;
                moved_right += usize::from(s["call"] == want);
            }
        }
    }
    // Measured: 934 of 1,152 series exact (81 %), 1,117 within one step (97.0 %); every one of
    // the 297 series whose true viabilities at the MIC and the dose below lie more than three
    // noise SDs from the threshold exact. The rest are curves that level off near the
    // threshold, where one noisy well above it moves the MIC up (a skipped well).
    assert_eq!(
        clear_exact, clear,
        "clear series exact in {clear_exact} of {clear}"
    );
    assert!(clear >= 250, "{clear} clear series");
    assert!(
        within_one as f64 >= 0.96 * total as f64,
        "{within_one} of {total} within a step"
    );
    assert!(
        exact as f64 >= 0.78 * total as f64,
        "{exact} of {total} exact"
    );
    // Calls: 30 of 38 moves of two or more steps called in their direction (the rest neutral
    // or undetermined where replicates scatter beyond the model), and 9 of 94 unmoved pairs
    // called (8 by one step, 1 by two), all in series near the threshold: their replicates
    // disagree more than the pooled error rate says, and every resistant line shares the one
    // parental series.
    assert!(
        moved_right as f64 >= 0.75 * moved as f64,
        "{moved_right} of {moved}"
    );
    assert!(
        null_called as f64 <= 0.12 * null as f64,
        "{null_called} of {null}"
    );
}

#[test]
fn figures_mark_the_compared_mics() {
    use collateral::plot::data::{Response, RunData};
    use collateral::plot::dose_response::Curves;
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), "[shift]\nmetric = \"mic\"\n");
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let data = RunData::read(&out).unwrap();
    assert_eq!(data.response, Response::Mic);
    let shifts = read_csv(&out.join("shifts.csv"));
    let curves = Curves::new(&data, &Default::default());
    let grid = curves.grid("R", Some("P")).unwrap();
    assert!(grid
        .caption()
        .contains("the MIC (the maximum-likelihood MIC"));
    let mut marked = BTreeMap::new();
    for panel in &grid.panels {
        let row = shifts.iter().find(|s| s["drug"] == panel.drug).unwrap();
        for s in &panel.series {
            let (value, qualifier) = if s.parental {
                ("value_parental", "qualifier_parental")
            } else {
                ("value_resistant", "qualifier_resistant")
            };
            // The mark is the MLE MIC the lines were compared on, at the threshold.
            if row[value].is_empty() {
                assert!(s.potency.is_nan());
            } else {
                assert_eq!(s.potency, num(row, value), "{} {}", s.line, panel.drug);
                let written = s.qualifier.map_or("", |q| q.symbol());
                assert_eq!(written, row[qualifier]);
            }
            assert_eq!(s.potency_level, 0.1);
            // The curve drawn is the viability fit's.
            assert_eq!(s.curve, data.fit(&s.line, &panel.drug).unwrap().curve());
            marked.insert((s.line.clone(), panel.drug.clone()), s.potency_label());
        }
    }
    // As `mics_from_hand_made_wells` works out: D compares 1 with 16; E has no MLE for R.
    let label = |l: &str, d: &str| marked[&(l.to_string(), d.to_string())].clone();
    assert_eq!(label("P", "D"), "1.00");
    assert_eq!(label("R", "D"), "16.0");
    assert_eq!(label("R", "E"), "no MLE MIC");
    let svg = std::fs::read_to_string(out.join("plots/dose_response/R.svg")).unwrap();
    assert!(svg.contains("MIC (ug/mL)"), "no MIC label in the grid");
}

/// A run of the hand-made screen restricted to `drugs` (controls kept), into `name`.
fn run_drugs(dir: &Path, name: &str, drugs: &[&str], extra: &str) -> std::path::PathBuf {
    let sub = dir.join(format!("{name}_in"));
    std::fs::create_dir_all(&sub).unwrap();
    let wells: String = wells()
        .lines()
        .enumerate()
        .filter(|(i, l)| {
            *i == 0
                || drugs.iter().any(|d| l.split(',').nth(3) == Some(d))
                || l.split(',').nth(3) == Some("")
        })
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    run_into(&assay_of(&sub, name, &wells, extra), &dir.join(name))
}

#[test]
fn merged_mic_runs_compare_like_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let mic = "[shift]\nmetric = \"mic\"\n";
    let whole = run_drugs(dir.path(), "whole", &["D", "E"], mic);
    let d = run_drugs(dir.path(), "batch_d", &["D"], mic);
    let e = run_drugs(dir.path(), "batch_e", &["E"], mic);
    let merged = dir.path().join("merged");
    collateral()
        .arg("merge")
        .arg(&d)
        .arg(&e)
        .arg("-o")
        .arg(&merged)
        .assert()
        .success();
    // One dilution model over the merged MICs: the same error rate, MLEs, tests and calls as
    // the run that read both drugs at once.
    let columns = [
        "resistant_line",
        "drug",
        "log2_fc",
        "log2_fc_qualifier",
        "ci_low",
        "ci_high",
        "p_value",
        "q_value",
        "call",
        "value_resistant",
        "value_parental",
        "reason",
    ];
    let pick = |rows: Vec<std::collections::HashMap<String, String>>| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| columns.iter().map(|c| r[*c].clone()).collect())
            .collect()
    };
    let want = pick(read_csv(&whole.join("shifts.csv")));
    assert_eq!(pick(read_csv(&merged.join("shifts.csv"))), want);
    assert_eq!(want.len(), 2);
    let json = |dir: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
    };
    assert_eq!(json(&merged)["mic"], json(&whole)["mic"]);
    assert_eq!(json(&merged)["settings"]["mic"]["threshold"], 0.1);
    // The merged mics.csv: every run's rows with the run's name.
    let rows = read_csv(&merged.join("mics.csv"));
    assert_eq!(rows.len(), 12);
    let mut by_run: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["drug"].clone(), r["run"].clone()))
        .collect();
    by_run.dedup();
    assert_eq!(
        by_run,
        [
            ("D".to_string(), "batch_d".to_string()),
            ("E".into(), "batch_e".into())
        ]
    );
    let measurements = |rows: &[std::collections::HashMap<String, String>]| {
        let columns = [
            "cell_line",
            "drug",
            "replicate",
            "mic",
            "mic_qualifier",
            "message",
        ];
        let mut out: Vec<Vec<String>> = rows
            .iter()
            .map(|r| columns.iter().map(|c| r[*c].clone()).collect())
            .collect();
        out.sort();
        out
    };
    assert_eq!(
        measurements(&rows),
        measurements(&read_csv(&whole.join("mics.csv")))
    );

    // A rescreen of D kept with --on-duplicate newest: its MICs replace the first screen's.
    let again = run_drugs(dir.path(), "batch_d_again", &["D"], mic);
    let newest = dir.path().join("newest");
    collateral()
        .arg("merge")
        .arg(&d)
        .arg(&e)
        .arg(&again)
        .arg("-o")
        .arg(&newest)
        .args(["--on-duplicate", "newest"])
        .assert()
        .success();
    let rows = read_csv(&newest.join("mics.csv"));
    assert_eq!(rows.len(), 12);
    assert!(rows
        .iter()
        .filter(|r| r["drug"] == "D")
        .all(|r| r["run"] == "batch_d_again"));
    assert_eq!(pick(read_csv(&newest.join("shifts.csv"))), want);
}

#[test]
fn a_mic_merge_needs_every_run_to_have_read_mics_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = run_drugs(dir.path(), "mic_d", &["D"], "[shift]\nmetric = \"mic\"\n");
    let ic50 = run_drugs(dir.path(), "ic50_e", &["E"], "");
    let out = collateral()
        .arg("merge")
        .arg(&d)
        .arg(&ic50)
        .arg("-o")
        .arg(dir.path().join("m1"))
        .args(["--metric", "mic"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("ic50_e/mics.csv"), "{err}");
    assert!(err.contains("it compared ic50"), "{err}");
    let half = run_drugs(
        dir.path(),
        "mic_e_half",
        &["E"],
        "[shift]\nmetric = \"mic\"\n[mic]\nthreshold = 0.5\n",
    );
    let out = collateral()
        .arg("merge")
        .arg(&d)
        .arg(&half)
        .arg("-o")
        .arg(dir.path().join("m2"))
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("different thresholds"), "{err}");
    assert!(err.contains("0.5 in mic_e_half"), "{err}");
    assert!(!dir.path().join("m1").exists() && !dir.path().join("m2").exists());
}

#[test]
fn validate_warns_of_doses_off_the_two_fold_grid() {
    let dir = tempfile::tempdir().unwrap();
    // The hand-made screen is two-fold: no warning.
    let a = assay(dir.path(), "[shift]\nmetric = \"mic\"\n");
    let out = collateral().arg("validate").arg(&a).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("two-fold"), "{err}");
    // A simulated screen has three-fold series: each drug is named, as its shifts would be.
    let sim = dir.path().join("sim");
    collateral()
        .args(["simulate", "-o"])
        .arg(&sim)
        .args(["--seed", "1", "--lines", "2", "--drugs", "2"])
        .assert()
        .success();
    let toml = std::fs::read_to_string(sim.join("assay.toml")).unwrap();
    let a = write(
        &sim,
        "mic.toml",
        &format!("{toml}[shift]\nmetric = \"mic\"\n"),
    );
    let out = collateral().arg("validate").arg(&a).assert().success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    for drug in ["drug01", "drug02"] {
        assert!(
            err.contains(&format!(
                "drug `{drug}`: its doses are not two-fold dilutions"
            )),
            "{err}"
        );
    }
    assert!(
        err.contains("0.0412, 0.123, 0.37, 1.11, 3.33, 10 (inferred"),
        "{err}"
    );
    // A declared ladder for drug01 without its lowest and top doses: they are named, drug02 is
    // still inferred.
    let declared = write(
        &sim,
        "declared.toml",
        &format!(
            "{toml}[shift]\nmetric = \"mic\"\n[mic]\nladder = {{ drug01 = [0.0412, 0.123, 0.37, 1.11, 3.33] }}\n"
        ),
    );
    let out = collateral()
        .arg("validate")
        .arg(&declared)
        .assert()
        .success();
    let err2 = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err2.contains("drug `drug01`: doses on no step of its declared ladder 0.0412, 0.123, 0.37, 1.11, 3.33: 0.00152, 0.00457, 0.0137, 10;"),
        "{err2}"
    );
    assert!(
        !err2.contains("drug `drug01`: its doses are not two-fold"),
        "{err2}"
    );
    assert!(
        err2.contains("drug `drug02`: its doses are not two-fold"),
        "{err2}"
    );
    // The run counts drug01's MICs (0.123, 0.370, 3.33 against 10) in three-fold steps: no
    // refusal for the ladder; replicates further apart than a step are named as such.
    let out = run_into(&a, &sim.join("out"));
    let shifts = read_csv(&out.join("shifts.csv"));
    let d1 = shifts.iter().find(|s| s["drug"] == "drug01").unwrap();
    assert!(!d1["reason"].contains("not two-fold dilutions"), "{d1:?}");
}

/// A MIC table with a `batch` column: day 2 reads every MIC a two-fold step high. R equals P
/// within each day; S is four-fold above P on each day.
const BATCHED: &str = "cell_line,drug,replicate,batch,mic\n\
    P,D,1,day1,1\nP,D,2,day1,1\nP,D,3,day2,2\nP,D,4,day2,2\nP,D,5,day3,1\nP,D,6,day3,2\n\
    R,D,1,day1,1\nR,D,2,day2,2\nR,D,3,day2,2\n\
    S,D,1,day1,4\nS,D,2,day2,8\nS,D,3,day3,4\n";

#[test]
fn batches_compare_each_line_with_its_parent_as_measured_beside_it() {
    let lines = "cell_line,parental_line,selected_with\nP,,\nR,P,X\nS,P,X\n";
    let shift = |args: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "mics.csv", BATCHED);
        write(dir.path(), "lines.csv", lines);
        collateral()
            .args(["shift", "mics.csv", "--lines", "lines.csv", "-o", "out"])
            .args(args)
            .current_dir(dir.path())
            .assert()
            .success();
        let rows = read_csv(&dir.path().join("out/shifts.csv"));
        let by_line: BTreeMap<String, _> = rows
            .into_iter()
            .map(|s| (s["resistant_line"].clone(), s))
            .collect();
        by_line
    };
    // The dilution model within batches: R is P's equal, S two steps up.
    let d = shift(&["--mic-robust"]);
    assert_eq!(num(&d["R"], "log2_fc"), 0.0, "{:?}", d["R"]);
    assert_eq!(d["R"]["call"], "neutral");
    assert!(d["R"]["reason"].contains("within batches"), "{:?}", d["R"]);
    assert_eq!(num(&d["S"], "log2_fc"), 2.0, "{:?}", d["S"]);
    // log2-t, paired over days: S's differences are 2, 2 and 1.5 (day 3's parent reads 1 and
    // 2); R's 0 and 0 — no scatter, so no test, and said so.
    let t = shift(&["--mic-model", "log2-t"]);
    let s = &t["S"];
    assert!((num(s, "log2_fc") - 11.0 / 6.0).abs() < 1e-12, "{s:?}");
    assert!(
        s["reason"].contains("paired over 3 batch(es), paired t-test"),
        "{s:?}"
    );
    assert!(num(s, "p_value") < 0.01, "{s:?}");
    assert_eq!(s["call"], "cross_resistant");
    let r = &t["R"];
    assert_eq!(num(r, "log2_fc"), 0.0, "{r:?}");
    assert!(
        r["reason"].contains("too few batches or no scatter"),
        "{r:?}"
    );
    assert_eq!(r["call"], "undetermined");
    // An unknown model word is refused with the words.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "mics.csv", BATCHED);
    write(dir.path(), "lines.csv", lines);
    let res = collateral()
        .args(["shift", "mics.csv", "--lines", "lines.csv", "-o", "out"])
        .args(["--mic-model", "anova"])
        .current_dir(dir.path())
        .assert()
        .code(2);
    let err = stderr(&res);
    assert!(err.contains("dilution") && err.contains("log2-t"), "{err}");
}
