//! DIP rates and DIP dose–response fits of collateral against thunor's on thunor's HTS007
//! screen (8 breast cancer lines × 27 drugs, cell counts every ~5 h for ~118 h): the
//! comparison reported in `docs/growth.md`.
//!
//! ```text
//! cargo run --release --example thunor_dip_comparison -- DATA_DIR PYTHON OUT
//! ```
//! `DATA_DIR` is `../shared/data/thunor-hts007` (GPL-3.0 data: read there, never copied into
//! this repository); `PYTHON` a Python with thunor (`../shared/tools/setup-peers.sh DIR` makes
//! one: `DIR/bin/python`). When `DATA_DIR` does not exist the example says so and does nothing.
//!
//! Steps: `examples/thunor_hts007.py prepare` writes the reads as collateral's tidy wells table
//! and as thunor's Vanderbilt format and runs thunor's `dip_rates` and `fit_params` on the
//! latter; `collateral run` runs on the former (`OUT/run`); `thunor_hts007.py unweighted` fits
//! collateral's own per-well DIP rates with thunor's fitter without weights; then this program
//! compares per-well DIP rates (by plate and well) and per-curve EC50 and Emax, prints the
//! figures and writes them to `OUT/comparison.md`.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

type Rows = Vec<BTreeMap<String, String>>;

/// The tested dose range of HTS007, molar.
const TESTED: (f64, f64) = (1.86875e-11, 3.9875e-6);

fn read(path: &Path) -> Result<Rows, Box<dyn Error>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = r.headers()?.clone();
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(out)
}

fn num(row: &BTreeMap<String, String>, column: &str) -> f64 {
    row.get(column)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Median, 90th percentile and largest of non-empty values.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), v[v.len() - 1])
}

fn python(python: &str, args: &[&str]) -> Result<(), Box<dyn Error>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/thunor_hts007.py");
    let status = Command::new(python).arg(&script).args(args).status()?;
    if !status.success() {
        return Err(format!("{} {} failed: {status}", script.display(), args.join(" ")).into());
    }
    Ok(())
}

/// Agreement of collateral's DIP fits with a set of thunor fits (keyed by cell line, drug).
fn curves(
    ours: &BTreeMap<(String, String), BTreeMap<String, String>>,
    theirs: &Rows,
    what: &str,
    out: &mut String,
) {
    let mut ec50 = Vec::new();
    let mut emax = Vec::new();
    let mut emax_rel = Vec::new();
    let mut statuses: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut far, mut far_beyond) = (0, 0);
    for t in theirs {
        let key = (t["cell_line"].clone(), t["drug"].clone());
        let Some(o) = ours.get(&key) else { continue };
        *statuses
            .entry((t["fit"].clone(), o["dip_status"].clone()))
            .or_default() += 1;
        if t["fit"] != "HillCurveLL4" || o["dip_status"] != "ok" {
            continue;
        }
        let d = (num(o, "dip_ec50") / num(t, "ec50")).log10().abs();
        if d > 0.1 {
            far += 1;
            // Beyond what collateral's fit allows (docs/growth.md): ec50 within the tested
            // range ± 2 decades, hill ≤ 10, E0 ≤ 2 and Emax in [−3, 1.5] of the untreated rate.
            let u = num(t, "ec50").log10();
            let rel = num(t, "emax_rel");
            let beyond = u < TESTED.0.log10() - 2.0
                || u > TESTED.1.log10() + 2.0
                || num(t, "hill") > 10.0
                || !(-3.0..=1.5).contains(&rel);
            if beyond {
                far_beyond += 1;
            }
        }
        ec50.push(d);
        emax.push((num(o, "dip_emax") - num(t, "emax")).abs());
        emax_rel.push((num(o, "dip_emax_rel") - num(t, "emax_rel")).abs());
    }
    let n = ec50.len();
    let within = |v: &[f64], x: f64| v.iter().filter(|d| **d <= x).count();
    out.push_str(&format!(
        "\n### {what}\n\nfit outcomes (thunor, collateral): "
    ));
    let parts: Vec<String> = statuses
        .iter()
        .map(|((t, o), k)| format!("{t} & {o}: {k}"))
        .collect();
    out.push_str(&parts.join("; "));
    out.push_str("\n\n| on the curves both fit (n = ");
    out.push_str(&format!(
        "{n}) | median | p90 | largest | agreement |\n|---|---:|---:|---:|---|\n"
    ));
    let (m, p, l) = spread(ec50.clone());
    out.push_str(&format!(
        "| \\|Δlog10 EC50\\| | {m:.4} | {p:.3} | {l:.3} | {} within 0.1 decade, {} within 0.3 |\n",
        within(&ec50, 0.1),
        within(&ec50, 0.3)
    ));
    let (m, p, l) = spread(emax.clone());
    out.push_str(&format!(
        "| \\|ΔEmax\\| (doublings/h) | {m:.5} | {p:.4} | {l:.3} | {} within 0.002/h |\n",
        within(&emax, 0.002)
    ));
    let (m, p, l) = spread(emax_rel.clone());
    out.push_str(&format!(
        "| \\|ΔEmax/E0\\| | {m:.4} | {p:.3} | {l:.3} | {} within 0.05 |\n",
        within(&emax_rel, 0.05)
    ));
    out.push_str(&format!(
        "\nOf the {far} curves whose EC50s differ by more than 0.1 decade, {far_beyond} have a thunor fit outside what collateral's bounds allow (EC50 more than 2 decades beyond the tested range, Hill slope above 10, or Emax/E0 outside [−3, 1.5]).\n"
    ));
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, py, out] = args.as_slice() else {
        return Err("usage: thunor_dip_comparison DATA_DIR PYTHON OUT".into());
    };
    let (data, out) = (Path::new(data), PathBuf::from(out));
    if !data.join("treated_wells_cellcount_timecourse.csv").exists() {
        println!(
            "{} has no HTS007 data (the shared data folder is absent): nothing to compare",
            data.display()
        );
        return Ok(());
    }
    python(
        py,
        &["prepare", &data.to_string_lossy(), &out.to_string_lossy()],
    )?;
    let run = out.join("run");
    let options = collateral::run::RunOptions {
        figures: false,
        ..Default::default()
    };
    let report = collateral::run::run(&out.join("assay.toml"), &run, &options)?;
    println!("{}", report.summary());
    python(py, &["unweighted", &out.to_string_lossy()])?;

    let mut text = String::from("## collateral against thunor on HTS007\n");
    // Per-well DIP rates.
    let ours: BTreeMap<(String, String), BTreeMap<String, String>> =
        read(&run.join("dip_rates.csv"))?
            .into_iter()
            .map(|r| ((r["plate"].clone(), r["well"].clone()), r))
            .collect();
    let theirs = read(&out.join("thunor_dip_rates.csv"))?;
    let (mut diffs, mut same_start, mut treated, mut missing) = (Vec::new(), 0, 0, 0);
    for t in &theirs {
        let Some(o) = ours.get(&(t["plate"].clone(), t["well"].clone())) else {
            missing += 1;
            continue;
        };
        diffs.push((num(o, "dip_rate") - num(t, "dip_rate")).abs());
        if t["role"] == "sample" {
            treated += 1;
            if (num(o, "start_time") - num(t, "dip_first_timepoint")).abs() < 1e-9 {
                same_start += 1;
            }
        }
    }
    let (m, _, l) = spread(diffs.clone());
    text.push_str(&format!(
        "\n### Per-well DIP rates\n\n{} wells of thunor, {} of collateral, {missing} of thunor's missing here; \
         |Δ DIP rate| median {m:.2e}, largest {l:.2e} doublings/h; {} within 1e-12; \
         the same first read of the fit in {same_start} of {treated} treated wells\n",
        theirs.len(),
        ours.len(),
        diffs.iter().filter(|d| **d <= 1e-12).count()
    ));
    // Per-curve fits.
    let fits: BTreeMap<(String, String), BTreeMap<String, String>> = read(&run.join("fits.csv"))?
        .into_iter()
        .map(|r| ((r["cell_line"].clone(), r["drug"].clone()), r))
        .collect();
    curves(
        &fits,
        &read(&out.join("thunor_dip_fits.csv"))?,
        "DIP curves against thunor's fit_params (weights 1/SE², controls at a dose of min/10, no bounds)",
        &mut text,
    );
    curves(
        &fits,
        &read(&out.join("thunor_unweighted_fits.csv"))?,
        "DIP curves against thunor's fitter on the same per-well rates, unweighted, treated wells only",
        &mut text,
    );
    print!("{text}");
    std::fs::write(out.join("comparison.md"), &text)?;
    Ok(())
}
