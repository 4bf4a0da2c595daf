//! `collateral run`: the whole pipeline from an assay file to an output folder.
//!
//! Outputs are written into a staging folder inside `OUTDIR` and moved into place only when
//! every file is complete, so a failed run never leaves half-written results that look finished.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use serde_json::{json, Value};

use crate::assay::Assay;
use crate::error::{Error, Problem, Result};
use crate::fit::joint::shared_ec50_test;
use crate::fit::table::write_fits_to;
use crate::fit::{fit_curves, CurveFit, CurveInput, DosePoint, Plateaus, FITS_COLUMNS};
use crate::lines::LinesTable;
use crate::network;
use crate::outdir::Staging;
use crate::qc::{normalize_and_qc, Normalized, PlateQc, WellOutcome};
use crate::shift::{compute_shifts, write_shifts, Estimate, Metric, Shift, ShiftSettings};
use crate::wells::{Role, WellTable};
use rayon::prelude::*;

/// What a run did: counts, warnings and where the outputs are.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Assay name.
    pub name: String,
    /// Output folder.
    pub outdir: PathBuf,
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// Number of plates.
    pub plates: usize,
    /// Number of wells.
    pub wells: usize,
    /// Wells excluded from fitting (any reason, empty wells included).
    pub excluded: usize,
    /// Wells with role `empty`.
    pub empty: usize,
    /// Wells whose signal is not a number.
    pub flagged: usize,
    /// QC verdict counts over the judged (per cell line) rows: pass, warn, fail.
    pub verdicts: [usize; 3],
    /// Fitted curves by status: ok, flat, insufficient_data, failed.
    pub curves: [usize; 4],
    /// Shift rows by call: cross_resistant, collateral_sensitive, neutral, undetermined
    /// (all zero without a lines table).
    pub calls: [usize; 4],
    /// Cycles of the collateral-sensitivity network.
    pub cycles: usize,
    /// Whether the run compared lines (it had a lines table).
    pub compared: bool,
    /// Warnings, for stderr and run.json.
    pub warnings: Vec<Problem>,
    /// Plates left out because they could not be read (`--keep-going`); the command exits 3
    /// when there are any, so a pipeline notices a partial batch.
    pub skipped: Vec<crate::read::inputs::SkippedPlate>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl RunReport {
    /// A short human summary for stdout.
    pub fn summary(&self) -> String {
        let [ok, flat, insufficient, failed] = self.curves;
        let [cr, cs, neutral, undetermined] = self.calls;
        let skipped = if self.skipped.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = self.skipped.iter().map(|s| s.plate.as_str()).collect();
            format!(
                "\nplates left out (--keep-going; why: the warnings, qc.csv): {}",
                names.join(", ")
            )
        };
        let compared = if self.compared {
            format!(
                "\nshifts: {cs} collaterally sensitive, {cr} cross-resistant, {neutral} neutral, {undetermined} undetermined; {} CS cycles",
                self.cycles
            )
        } else {
            "\nno lines table: stopped after the fits".to_string()
        };
        format!(
            "{}: {} plates, {} wells ({} empty, {} with unreadable signal, {} more excluded by QC or normalization); QC {} pass, {} warn, {} fail\ncurves: {ok} ok, {flat} flat, {insufficient} insufficient data, {failed} failed{compared}{skipped}\nwrote {} files to {} in {:.2} s",
            self.name,
            self.plates,
            self.wells,
            self.empty,
            self.flagged,
            self.excluded - self.empty - self.flagged,
            self.verdicts[0],
            self.verdicts[1],
            self.verdicts[2],
            self.files.len(),
            self.outdir.display(),
            self.seconds
        )
    }
}

/// Runs the pipeline on an assay file and writes the outputs into `outdir`.
pub fn run(assay_path: &Path, outdir: &Path) -> Result<RunReport> {
    run_with(assay_path, outdir, &RunOptions::default())
}

/// Choices of a run that are not about the science (and so not in the assay file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Draw `plots/` and `report.html`. A core facility batch of a thousand plates spends most
    /// of its time drawing; `collateral plot OUTDIR` draws them later from the run's files.
    pub figures: bool,
    /// Leave out plates whose file cannot be read (missing, truncated, unparseable) and finish
    /// the rest of a batch, instead of stopping at the first; see
    /// [`crate::read::inputs::assay_wells_with`] for what counts.
    pub keep_going: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            figures: true,
            keep_going: false,
        }
    }
}

/// [`run`] with options.
pub fn run_with(assay_path: &Path, outdir: &Path, options: &RunOptions) -> Result<RunReport> {
    let t0 = Instant::now();
    let mut timings: BTreeMap<&str, f64> = BTreeMap::new();
    // The folder's lock first, so a second run into it stops at once, not after reading.
    let staging = Staging::new(outdir)?;
    let previous = staging.previous_manifest();
    let assay = Assay::from_file(assay_path)?;
    // The one place the wells come from: the tidy table or the plate files with layouts.
    let read = crate::read::inputs::assay_wells_with(&assay.sources(), options.keep_going)?;
    let mut inputs = vec![input_record(assay_path)?];
    for f in &read.files {
        inputs.push(input_record(f)?);
    }
    // Where control-level problems point: the wells table, or the assay for plate files.
    let wells_path = assay
        .wells
        .clone()
        .unwrap_or_else(|| assay_path.to_path_buf());
    let table = read.table;
    let mut warnings = staging.take_warnings();
    warnings.extend(assay.warnings.iter().cloned());
    warnings.extend(read.warnings);
    let lines = match &assay.lines {
        Some(p) => {
            let lt = LinesTable::read(p)?;
            inputs.push(input_record(p)?);
            let names: BTreeSet<String> = table
                .wells
                .iter()
                .filter(|w| !w.cell_line.is_empty())
                .map(|w| w.cell_line.clone())
                .collect();
            warnings.extend(lt.check_against(&names)?);
            Some(lt)
        }
        None => None,
    };
    timings.insert("read", t0.elapsed().as_secs_f64());

    let t1 = Instant::now();
    let norm = normalize_and_qc(
        &table,
        &assay.settings.qc,
        &assay.settings.normalize,
        &wells_path,
    )?;
    warnings.extend(norm.warnings.iter().cloned());
    timings.insert("qc_normalize", t1.elapsed().as_secs_f64());

    let t2 = Instant::now();
    staging.write("wells.csv", |w| {
        crate::output::write_wells(w, &table, &norm.outcomes)
    })?;
    staging.write("qc.csv", |w| {
        crate::output::write_qc_with_skipped(w, &norm.qc, &read.skipped)
    })?;
    timings.insert("write", t2.elapsed().as_secs_f64());

    let t3 = Instant::now();
    let per_replicate: BTreeSet<&str> = match (&lines, assay.settings.shift.per_replicate) {
        (Some(l), true) => l
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .map(|l| l.name.as_str())
            .collect(),
        _ => BTreeSet::new(),
    };
    let include_untreated = assay.fit_config.settings().plateaus == Plateaus::Observed;
    let curves = curve_inputs(&table, &norm.outcomes, &per_replicate, include_untreated);
    let fits = fit_curves(&curves.inputs, &assay.fit_config);
    type Labelled<'a> = Vec<(&'a CurveFit, &'a String)>;
    let (pooled, by_replicate): (Labelled, Labelled) = fits
        .iter()
        .zip(&curves.replicate)
        .partition(|(_, r)| r.is_empty());
    let pooled: Vec<CurveFit> = pooled.into_iter().map(|(f, _)| f.clone()).collect();
    staging.write("fits.csv", |w| write_fits_to(&mut *w, &pooled))?;
    if !per_replicate.is_empty() {
        staging.write("fits_by_replicate.csv", |w| {
            let mut out = csv::Writer::from_writer(w);
            let mut header = vec!["replicate"];
            header.extend(FITS_COLUMNS);
            out.write_record(&header)?;
            for (f, r) in &by_replicate {
                let mut rec = vec![(*r).clone()];
                rec.extend(f.to_record());
                out.write_record(&rec)?;
            }
            out.flush()
        })?;
    }
    let mut curve_counts = [0usize; 4];
    for f in &pooled {
        curve_counts[f.status as usize] += 1;
    }
    timings.insert("fit", t3.elapsed().as_secs_f64());

    let t4 = Instant::now();
    let mut calls = [0usize; 4];
    let mut n_cycles = 0;
    if let Some(lines) = &lines {
        let s = &assay.settings.shift;
        let estimates: Vec<Estimate> = fits
            .iter()
            .zip(&curves.replicate)
            .filter(|(f, r)| r.is_empty() != per_replicate.contains(f.cell_line.as_str()))
            .map(|(f, r)| Estimate::from_fit(f, r, s.metric))
            .collect();
        let joint = (s.metric == Metric::Ec50).then(|| SharedEc50 {
            curves: &curves,
            fits: &fits,
            config: &assay.fit_config,
        });
        (calls, n_cycles) = compare(&staging, &estimates, lines, s, joint.as_ref())?;
    }
    timings.insert("shift_network", t4.elapsed().as_secs_f64());

    let judged: Vec<&PlateQc> = norm.qc.iter().filter(|r| r.cell_line.is_some()).collect();
    let mut verdicts = [0usize; 3];
    for r in &judged {
        verdicts[r.verdict as usize] += 1;
    }
    let mut report = RunReport {
        name: assay.name.clone(),
        outdir: outdir.to_path_buf(),
        files: Vec::new(),
        plates: table.formats.len(),
        wells: table.wells.len(),
        excluded: norm.outcomes.iter().filter(|o| o.excluded).count(),
        empty: table.wells.iter().filter(|w| w.role == Role::Empty).count(),
        flagged: table
            .wells
            .iter()
            .filter(|w| w.role != Role::Empty && w.signal.value().is_none())
            .count(),
        verdicts,
        curves: curve_counts,
        calls,
        cycles: n_cycles,
        compared: lines.is_some(),
        warnings,
        skipped: read.skipped,
        seconds: 0.0,
    };
    report.seconds = t0.elapsed().as_secs_f64();
    timings.insert("total", report.seconds);
    let run_json = run_json(&assay, &inputs, &table, &norm, &report, &timings);
    staging.write("run.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &run_json).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    // Figures and report.html are drawn from the staged files; a drawing failure fails the run
    // before anything is moved into place. Only the files are needed now: free the tables.
    drop((table, norm, curves, fits, pooled));
    if options.figures {
        crate::report::stage_figures_and_report(&staging)?;
    }
    // run.json again, now listing every staged file; the figures did not read the manifest.
    staging.write_with_manifest(run_json)?;
    let (files, left) = staging.commit_replacing(&previous)?;
    report.files = files;
    report.warnings.extend(left);
    Ok(report)
}

/// Computes shifts, matrix, network and cycles from estimates and stages their files.
/// Returns the call counts (cross_resistant, collateral_sensitive, neutral, undetermined) and
/// the number of cycles.
fn compare(
    staging: &Staging,
    estimates: &[Estimate],
    lines: &LinesTable,
    s: &ShiftSettings,
    joint: Option<&SharedEc50>,
) -> Result<([usize; 4], usize)> {
    let mut shifts = compute_shifts(estimates, lines, s);
    if let Some(j) = joint {
        j.annotate(&mut shifts);
    }
    let mut calls = [0usize; 4];
    for r in &shifts {
        calls[r.call as usize] += 1;
    }
    let edges = network::edges(&shifts);
    let cycles = network::cycles(&edges, s.max_cycle_length);
    staging.write("shifts.csv", |w| write_shifts(w, &shifts, s))?;
    staging.write("matrix.csv", |w| network::write_matrix(w, &shifts, false))?;
    staging.write("calls.csv", |w| network::write_matrix(w, &shifts, true))?;
    staging.write("network.graphml", |w| network::write_graphml(w, &edges))?;
    staging.write("network.dot", |w| network::write_dot(w, &edges))?;
    staging.write("network.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &network::to_json(&edges))
            .map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    staging.write("cycles.csv", |w| network::write_cycles(w, &cycles))?;
    Ok((calls, cycles.len()))
}

/// The curves and fits of a run, for the shared-ec50 F-test of each shift.
struct SharedEc50<'a> {
    curves: &'a Curves,
    fits: &'a [CurveFit],
    config: &'a crate::fit::FitConfig,
}

impl SharedEc50<'_> {
    fn annotate(&self, shifts: &mut [Shift]) {
        let index: BTreeMap<(&str, &str, &str), usize> = self
            .curves
            .inputs
            .iter()
            .zip(&self.curves.replicate)
            .enumerate()
            .map(|(i, (c, r))| ((c.cell_line.as_str(), r.as_str(), c.drug.as_str()), i))
            .collect();
        let tests: Vec<f64> = shifts
            .par_iter()
            .map(|s| {
                let r = index.get(&(
                    s.resistant_line.as_str(),
                    s.replicate.as_str(),
                    s.drug.as_str(),
                ));
                let p = index.get(&(s.parental_line.as_str(), "", s.drug.as_str()));
                match (r, p) {
                    (Some(&r), Some(&p)) => shared_ec50_test(
                        &self.curves.inputs[r].points,
                        &self.fits[r],
                        &self.curves.inputs[p].points,
                        &self.fits[p],
                        self.config,
                    )
                    .map_or(f64::NAN, |t| t.p_value),
                    _ => f64::NAN,
                }
            })
            .collect();
        for (s, p) in shifts.iter_mut().zip(tests) {
            s.ec50_f_test_p = p;
        }
    }
}

/// What `collateral shift` did.
#[derive(Debug, Clone)]
pub struct ShiftReport {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Calls: cross_resistant, collateral_sensitive, neutral, undetermined.
    pub calls: [usize; 4],
    /// Cycles of the CS network.
    pub cycles: usize,
    /// What taking the output folder found (a stale lock or staging folder removed).
    pub warnings: Vec<Problem>,
}

impl ShiftReport {
    /// A short human summary.
    pub fn summary(&self) -> String {
        let [cr, cs, neutral, undetermined] = self.calls;
        format!(
            "shifts: {cs} collaterally sensitive, {cr} cross-resistant, {neutral} neutral, {undetermined} undetermined; {} CS cycles; wrote {} files",
            self.cycles,
            self.files.len()
        )
    }
}

/// `collateral shift`: shifts, matrix, network and cycles from a fits table and a lines table,
/// for users who fitted elsewhere.
pub fn shift(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: &ShiftSettings,
) -> Result<ShiftReport> {
    if let Some((_, msg)) = settings.problems().into_iter().next() {
        return Err(Error::config(crate::Location::default(), msg));
    }
    let lines = LinesTable::read(lines)?;
    let estimates = crate::shift::read_estimates(fits, settings.metric)?;
    let staging = Staging::new(outdir)?;
    let (calls, cycles) = compare(&staging, &estimates, &lines, settings, None)?;
    let warnings = staging.take_warnings();
    Ok(ShiftReport {
        files: staging.commit()?,
        calls,
        cycles,
        warnings,
    })
}

/// The curves of a run: one per (cell line, drug) with replicates pooled, plus one per
/// (cell line, replicate, drug) for the lines reported per replicate.
#[derive(Debug, Clone, Default)]
pub struct Curves {
    /// The curves, pooled ones first, each group in (cell line, drug) order.
    pub inputs: Vec<CurveInput>,
    /// The replicate of each curve; empty for pooled curves.
    pub replicate: Vec<String>,
}

/// Gathers the points of every curve from the wells that were not excluded. With
/// `include_untreated`, the vehicle wells of the curve's cell line on the plates the curve was
/// measured on join as zero-concentration points (for plateaus fixed at the observed extremes).
pub fn curve_inputs(
    table: &WellTable,
    outcomes: &[WellOutcome],
    per_replicate: &BTreeSet<&str>,
    include_untreated: bool,
) -> Curves {
    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut points: BTreeMap<(bool, Key), Vec<DosePoint>> = BTreeMap::new();
    let mut plates: BTreeMap<(bool, Key), BTreeSet<&str>> = BTreeMap::new();
    let mut untreated: BTreeMap<(&str, &str, &str), Vec<f64>> = BTreeMap::new();
    for (w, o) in table.wells.iter().zip(outcomes) {
        let Some(v) = o.viability.filter(|_| !o.excluded) else {
            continue;
        };
        match w.role {
            Role::Sample => {
                let conc = w
                    .concentration
                    .expect("checked: samples have a concentration");
                let mut keys = vec![(false, (w.cell_line.as_str(), "", w.drug.as_str()))];
                if per_replicate.contains(w.cell_line.as_str()) && !w.replicate.is_empty() {
                    keys.push((
                        true,
                        (w.cell_line.as_str(), w.replicate.as_str(), w.drug.as_str()),
                    ));
                }
                for k in keys {
                    points.entry(k).or_default().push(DosePoint {
                        concentration: conc,
                        response: v,
                    });
                    plates.entry(k).or_default().insert(&w.plate);
                }
            }
            Role::Vehicle if include_untreated => {
                untreated
                    .entry((&w.plate, &w.cell_line, ""))
                    .or_default()
                    .push(v);
                if !w.replicate.is_empty() {
                    untreated
                        .entry((&w.plate, &w.cell_line, &w.replicate))
                        .or_default()
                        .push(v);
                }
            }
            _ => {}
        }
    }
    let mut out = Curves::default();
    for (key, mut pts) in points {
        let (_, (line, rep, drug)) = key;
        if include_untreated {
            for plate in &plates[&key] {
                if let Some(vs) = untreated.get(&(plate, line, rep)) {
                    pts.extend(vs.iter().map(|&v| DosePoint {
                        concentration: 0.0,
                        response: v,
                    }));
                }
            }
        }
        out.inputs.push(CurveInput {
            cell_line: line.to_string(),
            drug: drug.to_string(),
            points: pts,
        });
        out.replicate.push(rep.to_string());
    }
    out
}

/// Builds `run.json`: version, input checksums, settings, counts, timings, warnings.
pub fn run_json(
    assay: &Assay,
    inputs: &[(PathBuf, String, u64)],
    table: &WellTable,
    norm: &Normalized,
    report: &RunReport,
    timings: &BTreeMap<&str, f64>,
) -> Value {
    let files: Vec<Value> = inputs
        .iter()
        .map(|(p, sha, bytes)| json!({ "path": p.display().to_string(), "sha256": sha, "bytes": bytes }))
        .collect();
    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &table.wells {
        *by_role.entry(w.role.as_str()).or_default() += 1;
    }
    let cell_lines: std::collections::BTreeSet<&str> = table
        .wells
        .iter()
        .map(|w| w.cell_line.as_str())
        .filter(|l| !l.is_empty())
        .collect();
    let drugs: std::collections::BTreeSet<&str> = table
        .wells
        .iter()
        .map(|w| w.drug.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    json!({
        "tool": "collateral",
        "version": env!("CARGO_PKG_VERSION"),
        "assay": {
            "name": assay.name,
            "path": assay.path.display().to_string(),
            "concentration_unit": assay.concentration_unit,
        },
        "inputs": files,
        "settings": serde_json::to_value(&assay.settings).expect("settings serialize"),
        "counts": {
            "plates": report.plates,
            "wells": report.wells,
            "wells_by_role": by_role,
            "cell_lines": cell_lines.len(),
            "drugs": drugs.len(),
            "flagged_wells": report.flagged,
            "excluded_wells": report.excluded,
            "qc_rows": norm.qc.len(),
            "qc_pass": report.verdicts[0],
            "qc_warn": report.verdicts[1],
            "qc_fail": report.verdicts[2],
            "skipped_plates": report.skipped.len(),
            "curves": {
                "ok": report.curves[0],
                "flat": report.curves[1],
                "insufficient_data": report.curves[2],
                "failed": report.curves[3],
            },
            "shifts": if report.compared {
                json!({
                    "cross_resistant": report.calls[0],
                    "collateral_sensitive": report.calls[1],
                    "neutral": report.calls[2],
                    "undetermined": report.calls[3],
                    "cycles": report.cycles,
                })
            } else {
                Value::Null
            },
        },
        "timings_seconds": timings,
        "warnings": report.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        "skipped": report.skipped.iter().map(|s| json!({
            "plate": s.plate,
            "file": s.file.display().to_string(),
            "reason": s.reason(),
        })).collect::<Vec<_>>(),
    })
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An input file's path, SHA-256 and size, for `run.json`.
pub fn input_record(path: &Path) -> Result<(PathBuf, String, u64)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
    Ok((path.to_path_buf(), sha256_hex(&bytes), bytes.len() as u64))
}
