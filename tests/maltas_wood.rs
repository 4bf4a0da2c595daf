//! The bundled temporal assay of Maltas & Wood (`assays/maltas-wood-temporal`): isolates of
//! populations evolved in CIP, DAP or CRO, sampled on days 2–8 and tested in CRO or DOX beside
//! their ancestor. Checked here: the tables are what the builder makes from the raw reads; rule
//! `maltas-wood` makes exactly the authors' call (mean ± 3 SE of the ancestor's isolates) from
//! the run's own fits, through `run` and through `collateral shift --rule maltas-wood`; the
//! isolate-by-isolate analysis (`isolates.toml`) against a re-implementation of the authors'
//! MATLAB code from the raw reads; and our per-day trajectories against the authors'
//! population-level time series (`ic50_timeseries`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use collateral::fit::{fit_curves, CurveInput, DosePoint, FitSettings, FitStatus, Model};

use crate::common::{collateral, num, read_csv, root};

#[allow(dead_code)]
#[path = "../examples/build_maltas_wood.rs"]
mod build_maltas_wood;

const ASSAY: &str = "assays/maltas-wood-temporal";

fn run(toml: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", &format!("{ASSAY}/{toml}"), "--no-figures", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    out
}

#[test]
fn bundled_tables_are_what_the_builder_makes_from_the_raw_reads() {
    let dir = root().join(ASSAY);
    let (wells, lines) = build_maltas_wood::build(&dir.join("raw")).expect("build from raw");
    assert_eq!(
        wells,
        std::fs::read_to_string(dir.join("wells.csv")).unwrap()
    );
    assert_eq!(
        lines,
        std::fs::read_to_string(dir.join("lines.csv")).unwrap()
    );
    // 15 files of 48 rows × 12 concentrations; the 4 cell-free rows are empty wells.
    assert_eq!(wells.lines().count(), 1 + 15 * 48 * 12);
    assert_eq!(wells.lines().filter(|l| l.contains(",empty,")).count(), 48);
}

/// The parental reference of the rule, recomputed here from the ancestor isolates' fits:
/// (mean, SE) over replicate point estimates, as `MakeHeterogeneityFigurePanels.m` does.
fn ancestor_reference(fits_by_replicate: &Path) -> HashMap<(String, String), (f64, f64, usize)> {
    let mut values: HashMap<(String, String), Vec<f64>> = HashMap::new();
    for f in read_csv(fits_by_replicate) {
        if f["cell_line"].starts_with("WT_") && f["ic50_qualifier"] == "=" {
            values
                .entry((f["cell_line"].clone(), f["drug"].clone()))
                .or_default()
                .push(num(&f, "ic50"));
        }
    }
    values
        .into_iter()
        .map(|(k, v)| {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            (k, (mean, sd / n.sqrt(), v.len()))
        })
        .collect()
}

/// Least-squares slope of y over x.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    sxy / (sxx * syy).sqrt()
}

/// One line per lineage and day, called with the authors' rule: every call is the one the
/// rule gives on the run's own fits; `collateral shift --rule maltas-wood` agrees with `run`;
/// and our trajectories follow the authors' population-level time series.
#[test]
fn per_day_lines_with_the_authors_rule_and_the_population_time_series() {
    let out = run("assay.toml");
    let reference = ancestor_reference(&out.path().join("fits_by_replicate.csv"));
    let shifts = read_csv(&out.path().join("shifts.csv"));
    assert_eq!(shifts.len(), 12);
    for s in &shifts {
        let (mean, se, n) = reference[&(s["parental_line"].clone(), s["drug"].clone())];
        assert!(n >= 11, "{n} ancestor isolates");
        assert_eq!(s["qualifier_resistant"], "=");
        let v = num(s, "value_resistant");
        let expected = if v < mean - 3.0 * se {
            "collateral_sensitive"
        } else if v > mean + 3.0 * se {
            "cross_resistant"
        } else {
            "neutral"
        };
        assert_eq!(
            s["call"], expected,
            "{}: {}",
            s["resistant_line"], s["reason"]
        );
        assert!(
            s["reason"].contains(&format!("against parental {mean:.4} ± 3 × {se:.4}")),
            "{}",
            s["reason"]
        );
    }
    let calls: BTreeMap<&str, &str> = shifts
        .iter()
        .map(|s| (s["resistant_line"].as_str(), s["call"].as_str()))
        .collect();

    // The same calls from `collateral shift --rule maltas-wood` on the run's fits (pooled and
    // replicate rows in one table), and ours (`--rule delta`) beside them.
    let table = out.path().join("all_fits.csv");
    let mut w = csv::Writer::from_path(&table).unwrap();
    let pooled = read_csv(&out.path().join("fits.csv"));
    let by_rep = read_csv(&out.path().join("fits_by_replicate.csv"));
    let columns = [
        "cell_line",
        "drug",
        "replicate",
        "ic50",
        "ic50_qualifier",
        "log10_ic50_se",
        "dof",
        "status",
        "message",
    ];
    w.write_record(columns).unwrap();
    for f in pooled.iter().chain(&by_rep) {
        w.write_record(columns.map(|c| f.get(c).map_or("", String::as_str)))
            .unwrap();
    }
    w.flush().unwrap();
    let lines = root().join(ASSAY).join("lines.csv");
    let shift_calls = |rule: &str| -> BTreeMap<String, String> {
        let dir = out.path().join(format!("shift-{rule}"));
        collateral()
            .args(["shift"])
            .arg(&table)
            .arg("--lines")
            .arg(&lines)
            .args(["--rule", rule, "--quiet", "-o"])
            .arg(&dir)
            .assert()
            .success();
        read_csv(&dir.join("shifts.csv"))
            .into_iter()
            .map(|s| (s["resistant_line"].clone(), s["call"].clone()))
            .collect()
    };
    let theirs = shift_calls("maltas-wood");
    for (line, call) in &calls {
        assert_eq!(theirs[*line], *call, "{line}");
    }
    // `collateral merge` keeps the ancestor isolates' fits the rule needs.
    let merged = out.path().join("merged");
    collateral()
        .arg("merge")
        .arg(out.path())
        .args(["--no-figures", "--quiet", "-o"])
        .arg(&merged)
        .current_dir(root())
        .assert()
        .success();
    for s in read_csv(&merged.join("shifts.csv")) {
        assert_eq!(
            calls[s["resistant_line"].as_str()],
            s["call"],
            "{}",
            s["reason"]
        );
        assert!(s["reason"].contains("mean and SE of"), "{}", s["reason"]);
    }
    let ours = shift_calls("delta");
    let count = |m: &dyn Fn(&str) -> bool| calls.values().filter(|c| m(c)).count();
    let changed = calls.iter().filter(|(l, c)| ours[**l] != **c).count();
    eprintln!(
        "maltas-wood per day: rule maltas-wood {} CS, {} CR; delta {:?}; {changed} of 12 calls differ",
        count(&|c| c == "collateral_sensitive"),
        count(&|c| c == "cross_resistant"),
        ours
    );
    // Measured: the authors' rule (no fold-change threshold) calls CRO→DOX CS on days 6 and 8
    // (log2_fc −0.27, −0.42) and CIP→CRO on days 2 and 4 (−1.36, −1.23); ours only the latter
    // two, which pass two-fold.
    assert_eq!(calls["CRO-selected_d8"], "collateral_sensitive");
    assert_eq!(ours["CRO-selected_d8"], "neutral");
    assert_eq!(ours["CIP-selected_d2"], "collateral_sensitive");
    assert_eq!(changed, 2);

    // The authors' population-level series (4 populations per selecting drug, log2 IC50 change
    // from day 0): their mean per day against our per-day log2_fc (trajectories.csv).
    let mut population: HashMap<(String, String, u32), Vec<f64>> = HashMap::new();
    for r in read_csv(
        &root()
            .join(ASSAY)
            .join("raw")
            .join(build_maltas_wood::TIMESERIES),
    ) {
        population
            .entry((
                r["selecting_drug_inferred"].clone(),
                r["test_drug_inferred"].clone(),
                r["day"].parse().unwrap(),
            ))
            .or_default()
            .push(num(&r, "value"));
    }
    let trajectories = read_csv(&out.path().join("trajectories.csv"));
    let stability = read_csv(&out.path().join("stability.csv"));
    assert_eq!((trajectories.len(), stability.len()), (12, 3));
    let mut offsets = BTreeMap::new();
    for st in &stability {
        let (sel, drug) = (st["selected_with"].clone(), st["drug"].clone());
        let points: Vec<&HashMap<String, String>> = trajectories
            .iter()
            .filter(|t| t["lineage"] == st["lineage"])
            .collect();
        let days: Vec<f64> = points.iter().map(|t| num(t, "evolution_time")).collect();
        let ours: Vec<f64> = points.iter().map(|t| num(t, "log2_fc")).collect();
        let theirs: Vec<f64> = days
            .iter()
            .map(|d| {
                let v = &population[&(sel.clone(), drug.clone(), *d as u32)];
                v.iter().sum::<f64>() / v.len() as f64
            })
            .collect();
        let r = pearson(&ours, &theirs);
        let offset = ours.iter().zip(&theirs).map(|(a, b)| a - b).sum::<f64>() / 4.0;
        eprintln!(
            "{sel}→{drug}: ours {ours:.2?}, populations {theirs:.2?}: r = {r:.3}, slope {:.3} vs {:.3} per day, mean offset {offset:.2}",
            num(st, "slope"),
            slope(&days, &theirs)
        );
        // The course over days 2–8 follows the populations' (measured r = 0.88, 0.89, 0.95)…
        assert_eq!(days, [2.0, 4.0, 6.0, 8.0]);
        assert!(r >= 0.8, "{sel}→{drug}: r = {r}");
        assert_eq!(
            num(st, "slope").signum(),
            slope(&days, &theirs).signum(),
            "{sel}→{drug}"
        );
        offsets.insert(sel, offset);
    }
    // …but not always their level: measured mean offsets (ours − populations) −0.03 for
    // CRO→DOX, −0.89 for DAP→CRO, and −2.97 for CIP→CRO, whose isolates never show the
    // populations' four- to eightfold cross-resistance (docs/timeseries.md).
    assert!(offsets["CRO"].abs() < 0.3, "{offsets:?}");
    assert!(offsets["DAP"].abs() < 1.2, "{offsets:?}");
    assert!(offsets["CIP"] < -2.0, "{offsets:?}");
}

/// The authors' analysis isolate by isolate (`isolates.toml`: per-replicate curves, their model,
/// their rule) against a re-implementation of their MATLAB code from the raw reads: each row
/// divided by its own no-drug well, `1/(1+(x/k)^h)` fitted per row, k averaged over the four
/// technical replicates of an isolate, an isolate CS/CR when its k lies outside the ancestor
/// isolates' mean ± 3 SE.
#[test]
fn isolates_against_the_authors_procedure() {
    let out = run("isolates.toml");
    let shifts = read_csv(&out.path().join("shifts.csv"));
    assert_eq!(shifts.len(), 12 * 12);

    // The authors' procedure (QuickLook2*FigPanel.m), with this crate's fitter for nlinfit.
    let raw = read_csv(&root().join(ASSAY).join("raw").join(build_maltas_wood::RAW));
    let mut rows: BTreeMap<(String, String, u32), Vec<(f64, f64)>> = BTreeMap::new();
    for r in raw.iter().filter(|r| r["blank_no_cells"] == "0") {
        rows.entry((
            r["selecting_drug"].clone(),
            r["timepoint"].clone(),
            r["plate_row_index"].parse().unwrap(),
        ))
        .or_default()
        .push((num(r, "conc"), num(r, "od")));
    }
    let inputs: Vec<CurveInput> = rows
        .iter()
        .map(|((sel, time, row), cells)| {
            let od0 = cells.iter().find(|(c, _)| *c == 0.0).unwrap().1;
            CurveInput {
                cell_line: format!("{sel}|{time}|{}", (row - 1) / 4 + 1),
                drug: String::new(),
                points: cells
                    .iter()
                    .filter(|(c, _)| *c > 0.0)
                    .map(|(c, od)| DosePoint {
                        concentration: *c,
                        response: od / od0,
                    })
                    .collect(),
            }
        })
        .collect();
    let mut settings = FitSettings::default();
    settings.model = Model::Ll2;
    let config = settings.check().unwrap();
    let mut k: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (input, fit) in
        inputs
            .iter()
            .zip(fit_curves(&inputs, &config, &collateral::progress::Silent))
    {
        if fit.status == FitStatus::Ok && fit.ec50 < 1e7 {
            k.entry(input.cell_line.clone()).or_default().push(fit.ec50);
        }
    }
    let isolate_k: BTreeMap<String, f64> = k
        .into_iter()
        .map(|(key, v)| (key, v.iter().sum::<f64>() / v.len() as f64))
        .collect();
    let mut authors: BTreeMap<(String, String, String), &str> = BTreeMap::new();
    for sel in ["CIP", "DAP", "CRO"] {
        let wt: Vec<f64> = isolate_k
            .iter()
            .filter(|(key, _)| key.starts_with(&format!("{sel}|WT|")))
            .map(|(_, v)| *v)
            .collect();
        let n = wt.len() as f64;
        let mean = wt.iter().sum::<f64>() / n;
        let se = (wt.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() / n.sqrt();
        for (key, v) in &isolate_k {
            let parts: Vec<&str> = key.split('|').collect();
            if parts[0] != sel || parts[1] == "WT" {
                continue;
            }
            let call = if *v < mean - 3.0 * se {
                "collateral_sensitive"
            } else if *v > mean + 3.0 * se {
                "cross_resistant"
            } else {
                "neutral"
            };
            let day = parts[1].trim_start_matches("day");
            authors.insert(
                (
                    build_maltas_wood::day_line(sel, day.parse().unwrap()),
                    parts[2].to_string(),
                    sel.to_string(),
                ),
                call,
            );
        }
    }
    let (mut agree, mut compared, mut opposite) = (0, 0, 0);
    let mut per_day: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for s in &shifts {
        let key = (
            s["resistant_line"].clone(),
            s["replicate"].clone(),
            s["selected_with"].clone(),
        );
        let theirs = authors[&key];
        compared += 1;
        agree += usize::from(s["call"] == theirs);
        opposite += usize::from(
            (s["call"] == "collateral_sensitive" && theirs == "cross_resistant")
                || (s["call"] == "cross_resistant" && theirs == "collateral_sensitive"),
        );
        let counts = per_day.entry(s["resistant_line"].clone()).or_default();
        counts[0] += usize::from(s["call"] == "collateral_sensitive");
        counts[1] += usize::from(s["call"] == "cross_resistant");
        counts[2] += usize::from(theirs == "collateral_sensitive");
        counts[3] += usize::from(theirs == "cross_resistant");
    }
    eprintln!(
        "maltas-wood isolates: {agree} of {compared} calls as the authors' procedure, {opposite} opposite; per day [CS, CR ours, CS, CR theirs]: {per_day:?}"
    );
    // Measured: 134 of 144 (93 %), none opposite. The two differ in normalization (each row
    // by its own no-drug well there, by the mean of the isolate's four here: a unit needs two
    // controls) and in fitting (four fits averaged there, one curve of the four rows here), so
    // isolates near the edge of the ancestor's band can change side; the per-day counts differ
    // by at most two isolates.
    assert_eq!(compared, 144);
    assert!(agree as f64 >= 0.88 * compared as f64, "{agree}/{compared}");
    assert_eq!(opposite, 0);
    for (line, [cs, cr, their_cs, their_cr]) in &per_day {
        assert!(
            cs.abs_diff(*their_cs) <= 2 && cr.abs_diff(*their_cr) <= 2,
            "{line}"
        );
    }
    // The fraction of CS isolates per day (likelihood.csv) rises in CRO→DOX, as the DOX IC50
    // of the authors' populations falls (all four CRO-selected populations lower on day 8):
    // measured 2 of 12 isolates on day 2, 9 of 12 on day 8.
    let likelihood = read_csv(&out.path().join("likelihood.csv"));
    let cro = |day: &str| {
        likelihood
            .iter()
            .find(|l| l["selected_with"] == "CRO" && l["evolution_time"] == day)
            .map(|l| num(l, "cs_likelihood"))
            .unwrap()
    };
    assert!(
        cro("8") >= 0.5 && cro("2") <= 0.25,
        "{} {}",
        cro("2"),
        cro("8")
    );
}
