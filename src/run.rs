//! `collateral run`: the whole pipeline from an assay file to an output folder.
//!
//! Outputs are written into a staging folder inside `OUTDIR` and moved into place only when
//! every file is complete, so a failed run never leaves half-written results that look finished.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::assay::Assay;
use crate::error::{Error, ErrorKind, Problem, Result};
use crate::fit::joint::shared_ec50_test;
use crate::fit::table::write_fits_to;
use crate::fit::{
    fit_curves_with_progress, CurveFit, CurveInput, DosePoint, Plateaus, FITS_COLUMNS,
};
use crate::growth::dip::{dip_curve_points, dip_fit_config, dip_rates, fit_dip_curve, DipDelay};
use crate::growth::gr::{fit_gr_curve, gr_fit_config, gr_values, GrInputs};
use crate::growth::reads::ReadPlan;
use crate::growth::{write_fits_with_growth, GrowthFit};
use crate::lineage;
use crate::lines::LinesTable;
use crate::network;
use crate::outdir::{FileWriter, Staging};
use crate::plan::PlanSettings;
use crate::progress::{Progress, Silent, Stage};
use crate::qc::{normalize_and_qc, Normalized, PlateQc, WellOutcome};
use crate::shift::{
    compute_shifts, write_shifts, CallRule, Estimate, Metric, Shift, ShiftSettings,
};
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
    /// Also write `results.xlsx` (the tables as an Excel workbook, see [`crate::workbook`]).
    pub xlsx: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            figures: true,
            keep_going: false,
            xlsx: false,
        }
    }
}

/// [`run`] with options.
pub fn run_with(assay_path: &Path, outdir: &Path, options: &RunOptions) -> Result<RunReport> {
    run_with_progress(assay_path, outdir, options, &Silent)
}

/// The assay's lines table as a run checks it (see [`checked_lines`]).
#[derive(Debug, Clone)]
pub struct CheckedLines {
    /// The table.
    pub table: LinesTable,
    /// What stops a run: resistant lines with wells whose parental line has none.
    pub problems: Vec<Problem>,
    /// Lines on one side only (table or wells), evolution times without a unit.
    pub warnings: Vec<Problem>,
}

/// The assay's lines table (`None` without one), checked against the wells: every resistant
/// line with wells needs its parental line's; lines on one side only and evolution times
/// without a unit are warnings. `run` stops on the problems, `validate` lists them.
pub fn checked_lines(
    assay: &Assay,
    assay_path: &Path,
    table: &WellTable,
) -> Result<Option<CheckedLines>> {
    let Some(p) = &assay.lines else {
        return Ok(None);
    };
    let lt = LinesTable::read(p)?;
    let names: BTreeSet<String> = table
        .wells
        .distinct_names(1)
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|n| n.to_string())
        .collect();
    let (problems, mut warnings) = lt.problems_against(&names);
    if lt.has_evolution_time && assay.evolution_time_unit.is_none() {
        warnings.push(Problem {
            location: crate::Location::file(assay_path),
            message: format!(
                "the lines table {} gives evolution times but the assay names no unit; add e.g. `evolution_time_unit = \"day\"` (or \"passage\")",
                p.display()
            ),
        });
    }
    Ok(Some(CheckedLines {
        table: lt,
        problems,
        warnings,
    }))
}

/// Growth data: times of the reads, or doubling times of the lines. Without them a run writes
/// no growth columns.
pub fn has_growth_data(table: &WellTable, lines: Option<&LinesTable>) -> bool {
    table.has_time || lines.is_some_and(|l| l.has_doubling_time())
}

/// The problem of a growth metric (`gr50`, `dip_ec50`, ...) without growth data to compute it
/// from, located at the assay's `metric` key; `None` when the metric can be computed.
pub fn growth_metric_problem(
    assay: &Assay,
    assay_path: &Path,
    table: &WellTable,
    lines: Option<&LinesTable>,
) -> Option<Problem> {
    let metric = assay.settings.shift.metric;
    if !metric.is_growth() || has_growth_data(table, lines) {
        return None;
    }
    // The assay was read a moment ago; its text only locates the key.
    let text = std::fs::read_to_string(assay_path).unwrap_or_default();
    let line = crate::text::key_line(&text, "metric");
    Some(Problem {
        location: crate::Location::file(assay_path).at_line_opt(line),
        message: format!(
            "`shift.metric = \"{}\"` needs growth data, and this run has none: the wells table has no `time` column (time-0 reads, time courses) and the lines table no `doubling_time_h`; see docs/growth.md",
            metric.name()
        ),
    })
}

/// [`run_with`], telling `progress` of each stage (reading, QC, fitting, comparing, drawing).
/// The outputs are the same byte for byte (but for `run.json`'s timings) whatever observes.
pub fn run_with_progress(
    assay_path: &Path,
    outdir: &Path,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let t0 = Instant::now();
    // When the run started, in run.json: `collateral merge --on-duplicate newest` orders by it.
    let started = crate::outdir::now_rfc3339_millis();
    let mut timings: BTreeMap<&str, f64> = BTreeMap::new();
    // The folder's lock first, so a second run into it stops at once, not after reading.
    let staging = Staging::new(outdir)?;
    let previous = staging.previous_manifest();
    progress.begin(Stage::Read, "plates", None);
    let assay = Assay::from_file(assay_path)?;
    // The one place the wells come from: the tidy table or the plate files with layouts.
    // A wells table's checksum is computed on a thread of its own while the table is read
    // (hundreds of megabytes in a large screen); plate files are summed after.
    let (read, table_record) = std::thread::scope(|scope| {
        let record = assay
            .wells
            .as_deref()
            .map(|p| scope.spawn(|| input_record(p)));
        let read = crate::read::inputs::assay_wells_with(&assay.sources(), options.keep_going);
        let record = record.map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (read, record)
    });
    let read = read?;
    let table_record = table_record.transpose()?;
    let mut inputs = vec![input_record(assay_path)?];
    for f in &read.files {
        match &table_record {
            Some(r) if r.0 == *f => inputs.push(r.clone()),
            _ => inputs.push(input_record(f)?),
        }
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
    let lines = match checked_lines(&assay, assay_path, &table)? {
        Some(checked) if !checked.problems.is_empty() => {
            return Err(Error::problems(ErrorKind::Input, checked.problems));
        }
        Some(checked) => {
            let lt = checked.table;
            inputs.push(input_record(assay.lines.as_deref().unwrap_or(&lt.path))?);
            warnings.extend(checked.warnings);
            Some(lt)
        }
        None => None,
    };
    if let Some(p) = growth_metric_problem(&assay, assay_path, &table, lines.as_ref()) {
        return Err(Error::config(p.location, p.message));
    }
    let growth_data = has_growth_data(&table, lines.as_ref());
    // Which read serves what: with times, only each plate's endpoint reads are normalized,
    // judged and fitted; time-0 reads are GR's x0 and the others DIP's time courses.
    let plan = ReadPlan::of(&table);
    let split = (!plan.all_endpoint()).then(|| plan.endpoint_table(&table));
    if split.is_some() {
        warnings.extend(plan.warnings(&table, &wells_path));
    }
    timings.insert("read", t0.elapsed().as_secs_f64());
    progress.end(table.formats.len() as u64);

    let t1 = Instant::now();
    progress.begin(Stage::Qc, "plates", None);
    let endpoint: &WellTable = split.as_ref().map_or(&table, |(t, _)| t);
    let norm = normalize_and_qc(
        endpoint,
        &assay.settings.qc,
        &assay.settings.normalize,
        &wells_path,
    )?;
    warnings.extend(norm.warnings.iter().cloned());
    timings.insert("qc_normalize", t1.elapsed().as_secs_f64());
    progress.end(table.formats.len() as u64);

    // GR values of the endpoint wells and DIP rates of the wells read in time.
    let gr = growth_data.then(|| {
        gr_values(&GrInputs {
            table: &table,
            plan: &plan,
            endpoint,
            normalized: &norm,
            lines: lines.as_ref(),
            settings: &assay.settings.growth,
            controls: assay.settings.normalize.controls,
        })
    });
    let dip = if table.has_time {
        dip_rates(
            &table,
            endpoint,
            &norm,
            assay.settings.qc.exclude_failed,
            DipDelay::from_setting(assay.settings.growth.dip_delay_h),
        )
    } else {
        Vec::new()
    };

    let per_replicate: BTreeSet<&str> = match (&lines, assay.settings.shift.per_replicate) {
        (Some(l), true) => l
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .map(|l| l.name.as_str())
            .collect(),
        _ => BTreeSet::new(),
    };
    // Rule maltas-wood compares with the mean and SE over the parental line's replicates:
    // those get a curve each too (in fits_by_replicate.csv).
    let mut replicate_curves = per_replicate.clone();
    if let (Some(l), CallRule::MaltasWood) = (&lines, assay.settings.shift.rule) {
        replicate_curves.extend(l.lines.iter().filter_map(|l| l.parental_line.as_deref()));
    }
    let include_untreated = assay.fit_config.settings().plateaus == Plateaus::Observed;
    let t2 = Instant::now();
    write_well_tables(
        &staging,
        &table,
        split.as_ref(),
        &plan,
        &norm,
        gr.as_ref(),
        &dip,
        &read.skipped,
    )?;
    timings.insert("write", t2.elapsed().as_secs_f64());

    let t3 = Instant::now();
    let curves = curve_inputs(
        endpoint,
        &norm.outcomes,
        &replicate_curves,
        include_untreated,
    );
    // Metric mic: the MIC of every series, read from the same wells as the curves.
    let mics = (assay.settings.shift.metric == Metric::Mic).then(|| {
        let settings = assay.settings.mic.clone().unwrap_or_default();
        crate::mic::mics_from_wells(endpoint, &norm.outcomes, &settings)
    });
    // The GR curves: the same wells and grouping, GR in place of viability.
    let gr_curves = gr.as_ref().map(|gr| {
        let as_viability: Vec<WellOutcome> = norm
            .outcomes
            .iter()
            .zip(&gr.gr)
            .map(|(o, v)| WellOutcome {
                viability: *v,
                excluded: o.excluded || v.is_none(),
                exclusion_reason: "".into(),
            })
            .collect();
        let c = curve_inputs(endpoint, &as_viability, &replicate_curves, false);
        c.inputs
            .into_iter()
            .zip(c.replicate)
            .map(|(c, r)| ((c.cell_line, r, c.drug), c.points))
            .collect::<HashMap<_, _>>()
    });
    // What the summary and run.json say of the wells, counted now: the wells and their
    // outcomes (hundreds of megabytes in a large screen) are not needed past this point.
    let mut summary = WellSummary::of(endpoint, &norm.outcomes);
    summary.reads = table.wells.len();
    let has_time = table.has_time;
    let Normalized {
        qc,
        outcomes,
        levels,
        ..
    } = norm;
    // Freeing millions of wells and outcomes takes a tenth of a second: done on a thread of
    // its own while the curves are fitted (joined before the run ends).
    let freeing = std::thread::spawn(move || drop((split, table, outcomes, levels)));
    progress.begin(Stage::Fit, "curves", Some(curves.inputs.len() as u64));
    let fits = fit_curves_with_progress(&curves.inputs, &assay.fit_config, progress);
    let growth = if growth_data {
        let dip_absent = if !has_time {
            Some("no time courses: the wells table has no `time` column")
        } else if dip.is_empty() {
            Some("no time courses: no well is read at two times or more")
        } else {
            None
        };
        Some(growth_fits(
            &curves,
            gr.as_ref(),
            gr_curves.as_ref(),
            &dip,
            dip_absent,
            &replicate_curves,
            assay.fit_config.settings(),
        )?)
    } else {
        None
    };
    progress.end(fits.len() as u64);
    type Labelled<'a> = Vec<(&'a CurveFit, &'a String)>;
    let (pooled, by_replicate): (Labelled, Labelled) = fits
        .iter()
        .zip(&curves.replicate)
        .partition(|(_, r)| r.is_empty());
    let pooled: Vec<CurveFit> = pooled.into_iter().map(|(f, _)| f.clone()).collect();
    if let Some(growth) = &growth {
        // Split as the fits are: pooled curves, then those of single replicates.
        let (mut pooled_growth, mut by_replicate_growth) = (Vec::new(), Vec::new());
        for (g, r) in growth.iter().zip(&curves.replicate) {
            if r.is_empty() {
                pooled_growth.push(g.clone());
            } else {
                by_replicate_growth.push(g.clone());
            }
        }
        staging.write("fits.csv", |w| {
            write_fits_with_growth(w, &pooled, &pooled_growth, None)
        })?;
        if !replicate_curves.is_empty() {
            let fits: Vec<CurveFit> = by_replicate.iter().map(|(f, _)| (*f).clone()).collect();
            let labels: Vec<String> = by_replicate.iter().map(|(_, r)| (*r).clone()).collect();
            staging.write("fits_by_replicate.csv", |w| {
                write_fits_with_growth(w, &fits, &by_replicate_growth, Some(&labels))
            })?;
        }
    } else {
        staging.write("fits.csv", |w| write_fits_to(&mut *w, &pooled))?;
    }
    if let Some(mics) = &mics {
        staging.write("mics.csv", |w| crate::mic::write_mics(w, mics))?;
    }
    if !replicate_curves.is_empty() && growth.is_none() {
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

    freeing
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let t4 = Instant::now();
    let mut calls = [0usize; 4];
    let mut n_cycles = 0;
    let mut mic_model = None;
    if let Some(lines) = &lines {
        let s = &assay.settings.shift;
        progress.begin(Stage::Compare, "shifts", None);
        let shifts = if let Some(mics) = &mics {
            let (model, shifts) = crate::mic::compute_shifts(mics, lines, s);
            mic_model = Some(crate::output::run_json::MicModelRecord::of(&model));
            shifts
        } else {
            let estimates: Vec<Estimate> = fits
                .iter()
                .zip(&curves.replicate)
                .enumerate()
                .filter(|(_, (f, r))| {
                    let line = f.cell_line.as_str();
                    if r.is_empty() {
                        !per_replicate.contains(line)
                    } else {
                        replicate_curves.contains(line)
                    }
                })
                .map(|(i, (f, r))| match &growth {
                    // Growth metrics come from the curve's GR or DIP fit.
                    Some(g) if s.metric.is_growth() => g[i].estimate(f, r, s.metric),
                    _ => Estimate::from_fit(f, r, s.metric),
                })
                .collect();
            let mut shifts = compute_shifts(&estimates, lines, s);
            if s.metric == Metric::Ec50 {
                let joint = SharedEc50 {
                    curves: &curves,
                    fits: &fits,
                    config: &assay.fit_config,
                };
                joint.annotate(&mut shifts);
            }
            shifts
        };
        (calls, n_cycles) = compare(&staging, &shifts, lines, s, assay.settings.plan.as_ref())?;
        progress.end(calls.iter().sum::<usize>() as u64);
    }
    timings.insert("shift_network", t4.elapsed().as_secs_f64());

    let judged: Vec<&PlateQc> = qc.iter().filter(|r| r.cell_line.is_some()).collect();
    let mut verdicts = [0usize; 3];
    for r in &judged {
        verdicts[r.verdict as usize] += 1;
    }
    let mut report = RunReport {
        name: assay.name.clone(),
        outdir: outdir.to_path_buf(),
        files: Vec::new(),
        plates: summary.plates,
        wells: summary.wells,
        excluded: summary.excluded,
        empty: summary.empty,
        flagged: summary.flagged,
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
    let mut run_json = run_json(&assay, &inputs, &summary, qc.len(), &report, &timings)?;
    run_json.started = Some(started);
    if growth_data {
        // Only runs with growth data carry these, so other runs keep their run.json.
        run_json.counts.growth = Some(crate::output::run_json::GrowthCounts {
            reads: summary.reads as u64,
            endpoint_reads: summary.wells as u64,
            wells_with_gr: gr.as_ref().map_or(0, |g| g.gr.iter().flatten().count()) as u64,
            wells_with_dip_rate: dip.iter().filter(|d| d.rate.is_finite()).count() as u64,
        });
    }
    // The dilution error model's pooled error rate (metric mic only).
    run_json.mic = mic_model;
    staging.write("run.json", |w| run_json.write(w))?;
    // Figures and report.html are drawn from the staged files; a drawing failure fails the run
    // before anything is moved into place. Only the files are needed now: free the tables.
    drop((qc, curves, fits, pooled));
    let t5 = Instant::now();
    if options.figures {
        crate::report::stage_figures_and_report(&staging, progress)?;
    }
    if options.xlsx {
        // Built from the staged files, like the figures, so `plot --xlsx` gives the same bytes.
        let bytes = crate::workbook::workbook_from_folder(staging.dir())?;
        staging.write(crate::workbook::WORKBOOK_NAME, |w| w.write_all(&bytes))?;
    }
    if options.figures || options.xlsx {
        // The figures were drawn from the run.json above; the final one times them too, and
        // its total is the whole run's.
        let timings = &mut run_json.timings_seconds;
        timings.insert("figures".into(), t5.elapsed().as_secs_f64());
        report.seconds = t0.elapsed().as_secs_f64();
        timings.insert("total".into(), report.seconds);
    }
    // run.json again, now listing every staged file; the figures did not read the manifest.
    staging.write_with_manifest(run_json.to_value()?)?;
    let (files, left) = staging.commit_replacing(&previous)?;
    report.files = files;
    report.warnings.extend(left);
    Ok(report)
}

/// The growth results (GR curve and metrics, DIP-rate curve) of every curve of a run, in the
/// order of `curves`. `gr_points` holds the GR points of each (cell line, replicate, drug);
/// `dip_absent` says why a run has no DIP rates at all; `replicate_curves` are the lines with
/// a curve per replicate too.
fn growth_fits(
    curves: &Curves,
    gr: Option<&crate::growth::gr::GrValues>,
    gr_points: Option<&HashMap<crate::growth::dip::CurveKey, Vec<DosePoint>>>,
    dip: &[crate::growth::dip::DipWell],
    dip_absent: Option<&str>,
    replicate_curves: &BTreeSet<&str>,
    fit: &crate::fit::FitSettings,
) -> Result<Vec<GrowthFit>> {
    let gr_config = gr_fit_config(fit)?;
    let dip_config = dip_fit_config(fit)?;
    let dip_points = dip_curve_points(dip, replicate_curves);
    // DIP wells per (cell line, drug): how many, and the first reason one has no usable rate.
    let mut dip_wells: HashMap<(&str, &str), (usize, usize, &str)> = HashMap::new();
    for d in dip.iter().filter(|d| d.role == Role::Sample) {
        let e = dip_wells
            .entry((d.cell_line.as_str(), d.drug.as_str()))
            .or_insert((0, 0, ""));
        e.0 += 1;
        if d.excluded || !d.relative.is_finite() {
            e.1 += 1;
            if e.2.is_empty() {
                e.2 = &d.reason;
            }
        }
    }
    Ok(curves
        .inputs
        .par_iter()
        .zip(&curves.replicate)
        .map(|(c, r)| {
            let key = (c.cell_line.clone(), r.clone(), c.drug.clone());
            let mut g = GrowthFit::default();
            if let Some(values) = gr {
                let (source, notes) = values.provenance(&c.cell_line, r, &c.drug);
                g.gr_source = source;
                match gr_points.and_then(|p| p.get(&key)) {
                    Some(points) => {
                        g.gr = Some(fit_gr_curve(points, &gr_config));
                        g.gr_note = notes;
                    }
                    None if notes.is_empty() => {
                        g.gr_note = "no sample well of this curve has a GR value".into();
                    }
                    None => g.gr_note = notes,
                }
            }
            let counts = dip_wells.get(&(c.cell_line.as_str(), c.drug.as_str()));
            match (dip_points.get(&key), dip_absent) {
                (Some((points, rates)), _) => {
                    g.dip = Some(fit_dip_curve(points, rates, &dip_config));
                    if let Some(&(n, without, _)) = counts.filter(|c| c.1 > 0) {
                        g.dip_note = format!(
                            "{without} of {n} well(s) without a usable DIP rate (dip_rates.csv says why)"
                        );
                    }
                }
                (None, Some(why)) => g.dip_note = why.to_string(),
                (None, None) => {
                    g.dip_note = match counts {
                        None => "the wells of this curve are read at one time only (a DIP rate needs two reads or more)".into(),
                        Some((_, _, reason)) => format!("no usable DIP rate: {reason}"),
                    }
                }
            }
            g
        })
        .collect())
}

/// Stages the tables of the wells: `wells.csv` (every read: the endpoint reads with their
/// outcome and GR, the others excluded with the reason), `dip_rates.csv` and `qc.csv`.
#[allow(clippy::too_many_arguments)]
fn write_well_tables(
    staging: &Staging,
    table: &WellTable,
    split: Option<&(WellTable, Vec<usize>)>,
    plan: &ReadPlan,
    norm: &Normalized,
    gr: Option<&crate::growth::gr::GrValues>,
    dip: &[crate::growth::dip::DipWell],
    skipped: &[crate::read::inputs::SkippedPlate],
) -> Result<()> {
    // Every read in wells.csv: the endpoint reads with their outcome (and GR), the others
    // excluded with the reason.
    let all_outcomes = split.map(|(_, index)| plan.all_outcomes(table, &norm.outcomes, index));
    let outcomes: &[WellOutcome] = all_outcomes.as_deref().unwrap_or(&norm.outcomes);
    match gr {
        None => staging.write("wells.csv", |w| {
            crate::output::write_wells(w, table, outcomes)
        })?,
        Some(gr) => {
            let mut per_read = vec![None; table.wells.len()];
            match split {
                Some((_, index)) => {
                    for (&i, &v) in index.iter().zip(&gr.gr) {
                        per_read[i] = v;
                    }
                }
                None => per_read.clone_from(&gr.gr),
            }
            staging.write("wells.csv", |w| {
                crate::output::write_wells_with_gr(w, table, outcomes, &per_read)
            })?
        }
    }
    if !dip.is_empty() {
        staging.write("dip_rates.csv", |w| {
            crate::growth::dip::write_dip_rates(w, dip)
        })?;
    }
    staging.write("qc.csv", |w| {
        crate::output::write_qc_with_skipped(w, &norm.qc, skipped)
    })?;
    Ok(())
}

/// Stages the shifts with everything built from them: matrix, likelihood (and trajectories),
/// network, cycles, and with `plan` the therapy sequences. Returns the call counts
/// (cross_resistant, collateral_sensitive, neutral, undetermined) and the number of cycles.
fn compare(
    staging: &Staging,
    shifts: &[Shift],
    lines: &LinesTable,
    s: &ShiftSettings,
    plan: Option<&PlanSettings>,
) -> Result<([usize; 4], usize)> {
    let mut calls = [0usize; 4];
    for r in shifts {
        calls[r.call as usize] += 1;
    }
    // shifts.csv is written while the tables and the network are.
    let (written, cycles) = rayon::join(
        || staging.write("shifts.csv", |w| write_shifts(w, shifts, s)),
        || stage_comparison(staging, shifts, lines, s),
    );
    written?;
    let cycles = cycles?;
    if let Some(settings) = plan {
        stage_plan(staging, shifts, lines, settings)?;
    }
    Ok((calls, cycles))
}

/// Stages everything a comparison yields after `shifts.csv` (which `merge` writes with columns
/// of its own): `matrix.csv`, `calls.csv`, `likelihood.csv`, with evolution times
/// `trajectories.csv` and `stability.csv`, the network files and `cycles.csv`. Returns the
/// number of cycles.
pub(crate) fn stage_comparison(
    staging: &Staging,
    shifts: &[Shift],
    lines: &LinesTable,
    s: &ShiftSettings,
) -> Result<usize> {
    // What the files show is computed first, then every file is written at once.
    let (likelihood, (edges, cycles)) = rayon::join(
        || lineage::likelihood(shifts, lines),
        || {
            let edges = network::edges(&lineage::network_shifts(shifts, lines));
            let cycles = network::cycles(&edges, s.max_cycle_length);
            (edges, cycles)
        },
    );
    let points = lines
        .has_evolution_time
        .then(|| lineage::trajectories(shifts, lines));
    let stability = points.as_ref().map(|p| lineage::stability(p));
    let mut files: Vec<(&str, FileWriter)> = vec![
        (
            "matrix.csv",
            Box::new(|w| network::write_matrix(w, shifts, false)),
        ),
        (
            "calls.csv",
            Box::new(|w| network::write_matrix(w, shifts, true)),
        ),
        (
            "likelihood.csv",
            Box::new(|w| lineage::write_likelihood(w, &likelihood)),
        ),
    ];
    if let (Some(points), Some(stability)) = (&points, &stability) {
        files.push((
            "trajectories.csv",
            Box::new(|w| lineage::write_trajectories(w, points)),
        ));
        files.push((
            "stability.csv",
            Box::new(|w| lineage::write_stability(w, stability)),
        ));
    }
    files.extend([
        (
            "network.graphml",
            Box::new(|w: &mut std::io::BufWriter<std::fs::File>| network::write_graphml(w, &edges))
                as FileWriter,
        ),
        ("network.dot", Box::new(|w| network::write_dot(w, &edges))),
        ("network.json", Box::new(|w| network::write_json(w, &edges))),
        (
            "cycles.csv",
            Box::new(|w| network::write_cycles(w, &cycles)),
        ),
    ]);
    staging.write_all(files)?;
    Ok(cycles.len())
}

/// Plans therapy sequences from `shifts` and stages `plan.csv`, `plan.md` (the plan in words)
/// and, with evolution times, `policy.csv`. Returns the plan and its paragraphs.
pub(crate) fn stage_plan(
    staging: &Staging,
    shifts: &[Shift],
    lines: &LinesTable,
    settings: &PlanSettings,
) -> Result<(crate::plan::Plan, Vec<String>)> {
    let steps = crate::plan::Steps::new(shifts, lines, settings.time);
    let plan = crate::plan::plan(&steps, settings);
    staging.write("plan.csv", |w| crate::plan::write_plan(w, &plan))?;
    // With evolution times, when to switch as well as what to give next.
    let switches = if settings.cycles {
        settings.length
    } else {
        settings.length - 1
    };
    let mut policy = Vec::new();
    if lines.has_evolution_time {
        policy = crate::plan::policy(shifts, lines, switches);
        staging.write("policy.csv", |w| crate::plan::write_policy(w, &policy))?;
    }
    let words = crate::plan::summary(&plan, &policy);
    staging.write("plan.md", |w| {
        writeln!(w, "# Therapy sequences\n")?;
        for paragraph in &words {
            writeln!(w, "{paragraph}\n")?;
        }
        Ok(())
    })?;
    Ok((plan, words))
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
/// for users who fitted elsewhere, or from a MIC table (`cell_line, drug, replicate, mic[,
/// mic_qualifier]`, detected by its `mic` column) with metric mic.
pub fn shift(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: &ShiftSettings,
) -> Result<ShiftReport> {
    shift_with_progress(fits, lines, outdir, settings, &Silent)
}

/// [`shift`], telling `progress` of the comparison (shift rows computed).
pub fn shift_with_progress(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: &ShiftSettings,
    progress: &dyn Progress,
) -> Result<ShiftReport> {
    if let Some((_, msg)) = settings.problems().into_iter().next() {
        return Err(Error::config(crate::Location::default(), msg));
    }
    let lines = LinesTable::read(lines)?;
    // A MIC table (a `mic` column) is compared with metric mic, a fits table with the others.
    let shifts = match (crate::mic::is_mic_table(fits)?, settings.metric) {
        (true, Metric::Mic) => {
            crate::mic::compute_shifts(&crate::mic::read_mics(fits)?, &lines, settings).1
        }
        (true, _) => return Err(crate::mic::not_a_fits_table(fits)),
        (false, metric) => compute_shifts(
            &crate::shift::read_estimates(fits, metric)?,
            &lines,
            settings,
        ),
    };
    let staging = Staging::new(outdir)?;
    progress.begin(Stage::Compare, "shifts", None);
    let (calls, cycles) = compare(&staging, &shifts, &lines, settings, None)?;
    progress.end(calls.iter().sum::<usize>() as u64);
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
    // Grouped by the table's dense name ids, then put in (pooled first, cell line, replicate,
    // drug) name order once: a sorted map keyed by name tuples spent most of a 3-million-well
    // run comparing strings. `NONE` stands for the empty replicate of pooled curves.
    const NONE: u32 = u32::MAX;
    type Key = (bool, u32, u32, u32);
    struct Group {
        key: Key,
        points: Vec<DosePoint>,
        plates: Vec<u32>,
    }
    let wells = &table.wells;
    let name = |id: u32| {
        if id == NONE {
            ""
        } else {
            wells.name(id).as_str()
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut untreated: HashMap<(u32, u32, u32), Vec<f64>> = HashMap::new();
    // Wells of a curve mostly come together (a dose series): the last group is tried first.
    let mut last: Option<(Key, usize)> = None;
    let mut add = |key: Key, plate: u32, point: DosePoint| {
        let i = match last {
            Some((k, i)) if k == key => i,
            _ => *index.entry(key).or_insert_with(|| {
                groups.push(Group {
                    key,
                    points: Vec::new(),
                    plates: Vec::new(),
                });
                groups.len() - 1
            }),
        };
        last = Some((key, i));
        let g = &mut groups[i];
        g.points.push(point);
        // Wells of one plate mostly come together: skip the repeat before sorting at the end.
        if g.plates.last() != Some(&plate) {
            g.plates.push(plate);
        }
    };
    for (i, (w, o)) in wells.iter().zip(outcomes).enumerate() {
        let Some(v) = o.viability.filter(|_| !o.excluded) else {
            continue;
        };
        let [plate, line, drug, rep] = wells.name_ids(i);
        match w.role {
            Role::Sample => {
                let conc = w
                    .concentration
                    .expect("checked: samples have a concentration");
                let point = DosePoint {
                    concentration: conc,
                    response: v,
                };
                add((false, line, NONE, drug), plate, point);
                if !w.replicate.is_empty() && per_replicate.contains(w.cell_line.as_str()) {
                    add((true, line, rep, drug), plate, point);
                }
            }
            Role::Vehicle if include_untreated => {
                untreated.entry((plate, line, NONE)).or_default().push(v);
                if !w.replicate.is_empty() {
                    untreated.entry((plate, line, rep)).or_default().push(v);
                }
            }
            _ => {}
        }
    }
    // Name order as ranks: the names are sorted once, the groups by integers.
    let mut by_name: Vec<u32> = (0..wells.name_count() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| name(a).cmp(name(b)));
    let mut rank = vec![0u32; by_name.len()];
    for (r, &id) in by_name.iter().enumerate() {
        rank[id as usize] = r as u32 + 1;
    }
    // The empty replicate of pooled curves sorts first, as "" does.
    let rank_of = |id: u32| if id == NONE { 0 } else { rank[id as usize] };
    groups.sort_unstable_by_key(|g| {
        let (replicate_curve, line, rep, drug) = g.key;
        (replicate_curve, rank_of(line), rank_of(rep), rank_of(drug))
    });
    let mut out = Curves::default();
    for g in groups {
        let (_, line, rep, drug) = g.key;
        let mut pts = g.points;
        if include_untreated {
            let mut plates = g.plates;
            plates.sort_unstable_by(|a, b| name(*a).cmp(name(*b)));
            plates.dedup();
            for plate in plates {
                if let Some(vs) = untreated.get(&(plate, line, rep)) {
                    pts.extend(vs.iter().map(|&v| DosePoint {
                        concentration: 0.0,
                        response: v,
                    }));
                }
            }
        }
        out.inputs.push(CurveInput {
            cell_line: name(line).to_string(),
            drug: name(drug).to_string(),
            points: pts,
        });
        out.replicate.push(name(rep).to_string());
    }
    out
}

/// Counts over the wells of a run, for its summary and `run.json`.
#[derive(Debug, Clone, Default)]
pub struct WellSummary {
    /// Number of plates.
    pub plates: usize,
    /// Number of wells.
    pub wells: usize,
    /// Wells excluded from fitting (any reason, empty wells included).
    pub excluded: usize,
    /// Wells with role `empty`.
    pub empty: usize,
    /// Wells whose signal is not a number (empty wells aside).
    pub flagged: usize,
    /// Wells per role name.
    pub by_role: BTreeMap<&'static str, usize>,
    /// Distinct cell lines.
    pub cell_lines: usize,
    /// Distinct drugs.
    pub drugs: usize,
    /// Reads in the wells table (more than `wells` when wells are read at several times; the
    /// other counts are of the endpoint reads).
    pub reads: usize,
}

impl WellSummary {
    /// Counts the wells of a table with their outcomes.
    pub fn of(table: &WellTable, outcomes: &[WellOutcome]) -> WellSummary {
        let mut s = WellSummary {
            plates: table.formats.len(),
            wells: table.wells.len(),
            reads: table.wells.len(),
            excluded: outcomes.iter().filter(|o| o.excluded).count(),
            ..WellSummary::default()
        };
        let mut roles = [0usize; 4];
        for w in &table.wells {
            roles[w.role as usize] += 1;
            match w.role {
                Role::Empty => s.empty += 1,
                _ if w.signal.value().is_none() => s.flagged += 1,
                _ => {}
            }
        }
        for role in [Role::Sample, Role::Vehicle, Role::Blank, Role::Empty] {
            if roles[role as usize] > 0 {
                s.by_role.insert(role.as_str(), roles[role as usize]);
            }
        }
        let named = |column: usize| {
            table
                .wells
                .distinct_names(column)
                .iter()
                .filter(|n| !n.is_empty())
                .count()
        };
        s.cell_lines = named(1);
        s.drugs = named(2);
        s
    }
}

/// Builds `run.json`: version, input checksums, settings, counts, timings, warnings.
pub fn run_json(
    assay: &Assay,
    inputs: &[(PathBuf, String, u64)],
    wells: &WellSummary,
    qc_rows: usize,
    report: &RunReport,
    timings: &BTreeMap<&str, f64>,
) -> Result<crate::output::run_json::RunJson> {
    use crate::output::run_json::*;
    let n = |count: usize| count as u64;
    Ok(RunJson {
        tool: TOOL.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started: None,
        assay: AssayRecord {
            name: assay.name.clone(),
            path: assay.path.display().to_string(),
            concentration_unit: assay.concentration_unit.clone(),
            evolution_time_unit: assay.evolution_time_unit.clone(),
        },
        merge: None,
        inputs: InputRecord::list(inputs),
        settings: RunSettings::of(&assay.settings)?,
        counts: RunCounts {
            runs: None,
            plates: n(report.plates),
            wells: n(report.wells),
            wells_by_role: wells
                .by_role
                .iter()
                .map(|(r, &c)| (r.to_string(), n(c)))
                .collect(),
            cell_lines: n(wells.cell_lines),
            drugs: n(wells.drugs),
            flagged_wells: n(report.flagged),
            excluded_wells: n(report.excluded),
            qc_rows: n(qc_rows),
            qc_pass: n(report.verdicts[0]),
            qc_warn: n(report.verdicts[1]),
            qc_fail: n(report.verdicts[2]),
            skipped_plates: n(report.skipped.len()),
            curves: CurveCounts::of(report.curves),
            shifts: ShiftCounts::of(report.compared, report.calls, report.cycles),
            growth: None,
        },
        timings_seconds: timings.iter().map(|(k, &v)| (k.to_string(), v)).collect(),
        warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedRecord {
                plate: s.plate.clone(),
                file: s.file.display().to_string(),
                reason: s.reason(),
                run: None,
            })
            .collect(),
        mic: None,
        manifest: None,
    })
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An input file's path, SHA-256 and size, for `run.json`. The file is hashed as it streams:
/// a wells table of hundreds of megabytes is not held in memory for its checksum.
pub fn input_record(path: &Path) -> Result<(PathBuf, String, u64)> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "reading", e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((path.to_path_buf(), sha, bytes))
}

/// Choices of `collateral plan` beyond the planner's settings.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan on this metric's shifts, recomputed from the folder's `fits.csv` with the run's
    /// shift settings, instead of the run's own `shifts.csv`.
    pub metric: Option<Metric>,
    /// The lines table, instead of the one the run's assay names (needed for a folder of
    /// `collateral shift`, which has no `run.json`).
    pub lines: Option<PathBuf>,
}

/// What `collateral plan` did.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The plan in words (as `plan.md`).
    pub summary: Vec<String>,
    /// Warnings (taking the folder).
    pub warnings: Vec<Problem>,
}

/// `collateral plan RUN_DIR -o PLAN_DIR`: therapy sequences from a finished comparison.
///
/// Reads the run's `shifts.csv` (or recomputes shifts of `options.metric` from `fits.csv`) and
/// its lines table, and writes `plan.csv`, `plan.md` and `plots/plan.svg` into `outdir`. When
/// `outdir` is the run's own folder, the files join it (and its manifest); otherwise `outdir`
/// gets a `run.json` of its own naming the run planned from.
pub fn plan_folder(
    run_dir: &Path,
    outdir: &Path,
    settings: &PlanSettings,
    options: &PlanOptions,
) -> Result<PlanReport> {
    if let Some((_, msg)) = settings.problems().into_iter().next() {
        return Err(Error::config(crate::Location::default(), msg));
    }
    let started = crate::outdir::now_rfc3339_millis();
    let run_json_path = run_dir.join("run.json");
    let run_json = crate::output::run_json::RunJson::read_optional(&run_json_path)?;
    let lines_path = match (&options.lines, &run_json) {
        (Some(p), _) => p.clone(),
        (None, Some(json)) => {
            let assay_path = PathBuf::from(&json.assay.path);
            if !assay_path.is_file() {
                return Err(Error::input(
                    crate::Location::file(&run_json_path),
                    "names no assay file that can be found from here, so its lines table is unknown; give the lines table with --lines",
                ));
            };
            Assay::from_file(&assay_path)?.lines.ok_or_else(|| {
                Error::input(
                    crate::Location::file(&assay_path),
                    "names no lines table: the run compared no lines, so there is nothing to plan from",
                )
            })?
        }
        (None, None) => return Err(Error::input(
            crate::Location::file(run_dir),
            "holds no run.json (a `collateral shift` folder?); give the lines table with --lines",
        )),
    };
    let lines = LinesTable::read(&lines_path)?;
    let shifts = match options.metric {
        Some(metric) => {
            let mut s: ShiftSettings = run_json
                .as_ref()
                .map(|j| j.settings.shift_or_default())
                .unwrap_or_default();
            s.metric = metric;
            let estimates = crate::shift::read_estimates(&run_dir.join("fits.csv"), metric)?;
            compute_shifts(&estimates, &lines, &s)
        }
        None => crate::shift::read_shifts(&run_dir.join("shifts.csv"))?,
    };
    if let Some(start) = &settings.start {
        let mut drugs: BTreeSet<&str> = shifts.iter().map(|s| s.drug.as_str()).collect();
        drugs.extend(shifts.iter().map(|s| s.selected_with.as_str()));
        drugs.remove("");
        if !drugs.contains(start.as_str()) {
            let all: Vec<&str> = drugs.into_iter().collect();
            return Err(Error::config(
                crate::Location::default(),
                format!(
                    "--start {start}: no such drug in the run{}; its drugs: {}",
                    crate::error::did_you_mean(start, &all),
                    all.join(", ")
                ),
            ));
        }
    }
    let same = matches!(
        (run_dir.canonicalize(), outdir.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    let staging = Staging::new(outdir)?;
    let previous = staging.previous_manifest();
    let (plan, summary) = stage_plan(&staging, &shifts, &lines, settings)?;
    let figure = crate::plot::plan::PlanFigure::read(&staging.dir().join("plan.csv"))?;
    let svg = crate::plot::render(&figure, crate::plot::Format::Svg, figure.size())
        .map_err(|m| Error::input(crate::Location::file(outdir.join("plots/plan.svg")), m))?;
    staging.write("plots/plan.svg", |w| w.write_all(&svg))?;
    let mut warnings = staging.take_warnings();
    let files = if same {
        staging.add_to_manifest()?;
        staging.commit()?
    } else {
        let mut inputs = vec![input_record(&lines_path)?];
        for f in ["shifts.csv", "fits.csv", "run.json"] {
            let p = run_dir.join(f);
            if p.is_file() {
                inputs.push(input_record(&p)?);
            }
        }
        use crate::output::run_json::{InputRecord, PlanCounts, PlanJson, PlanJsonSettings};
        let record = PlanJson {
            tool: crate::output::run_json::TOOL.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: "plan".into(),
            started,
            run: run_dir.display().to_string(),
            inputs: InputRecord::list(&inputs),
            settings: PlanJsonSettings {
                plan: settings.clone(),
                metric: options.metric,
            },
            counts: PlanCounts {
                scorable: plan.scorable as u64,
                unscorable: plan.unscorable as u64,
            },
            manifest: None,
        };
        staging.write_with_manifest(record.to_value()?)?;
        let (files, more) = staging.commit_replacing(&previous)?;
        warnings.extend(more);
        files
    };
    Ok(PlanReport {
        files,
        summary,
        warnings,
    })
}
