//! `collateral run`: the whole pipeline, in memory and into an output folder.
//!
//! A [`Screen`] (read from an assay file, or built from tables in memory) runs stage by stage
//! into typed [`Results`] without touching the disk ([`Screen::run`]); writing the output
//! folder, the figures, the report and the workbook are steps on those results
//! ([`Results::write`]). [`run`] is `collateral run`: read, compute, write.
//!
//! Outputs are written into a staging folder inside `OUTDIR` and moved into place only when
//! every file is complete, so a failed run never leaves half-written results that look finished.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::output::run_json::{GrowthCounts, RunJson};

use crate::error::{Problem, Result};
use crate::frame::parquet::WellInputs;
use crate::outdir::{Staging, TableFormat};
use crate::progress::{Progress, Silent, Stage};
use crate::qc::{PlateQc, WellOutcome};
use crate::wells::{Role, WellTable};

pub mod batches;
mod commands;
mod curves;
mod fitted_top;
mod frames;
mod screen;
mod stages;
mod write;

pub use commands::{
    compare, plan_folder, shift, shift_as, shift_with, PlanOptions, PlanReport, ShiftReport,
};
pub use curves::{curve_inputs, Curves};
pub use screen::{
    checked_lines, growth_metric_problem, has_growth_data, input_record, sha256_hex, CheckedLines,
    InputRecord, Screen,
};
pub use stages::{
    compare_stage, curve_stage, fit_stage, plan_sequences, well_stage, Comparison, CurveSet, Fits,
    PlanResults, TrajectoryStep, WellResults,
};
pub use write::run_json;
pub(crate) use write::{stage_comparison, write_comparison, write_fit_tables, write_well_tables};

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
    /// How many shift rows pooled replicate rows or paired batches.
    pub(crate) replicate_counts: crate::shift::ReplicateCounts,
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
            let r = self.replicate_counts;
            let paired = if r.batch_paired > 0 {
                format!(" ({} paired within batches)", r.batch_paired)
            } else {
                String::new()
            };
            format!(
                "\nshifts: {cs} collaterally sensitive, {cr} cross-resistant, {neutral} neutral, {undetermined} undetermined{paired}; {} CS cycles",
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

/// Choices of a run that are not about the science (and so not in the assay file).
#[derive(Clone, Copy)]
pub struct RunOptions<'a> {
    /// Draw `plots/` and `report.html`. A core facility batch of a thousand plates spends most
    /// of its time drawing; `collateral plot OUTDIR` draws them later from the run's files.
    pub figures: bool,
    /// Leave out plates whose file cannot be read (missing, truncated, unparseable) and finish
    /// the rest of a batch, instead of stopping at the first; see
    /// [`crate::read::inputs::assay_wells_with`] for what counts.
    pub keep_going: bool,
    /// Also write `results.xlsx` (the tables as an Excel workbook, see [`crate::workbook`]).
    pub xlsx: bool,
    /// Told of each stage (reading, QC, fitting, comparing, drawing); the outputs are the same
    /// byte for byte (but for `run.json`'s timings) whatever observes.
    pub progress: &'a dyn Progress,
    /// How the tables are written (`--format`): CSV, Parquet or both; `None` takes the
    /// screen's (the assay's `[output] format`, CSV by default).
    pub format: Option<TableFormat>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            figures: true,
            keep_going: false,
            xlsx: false,
            progress: &Silent,
            format: None,
        }
    }
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("figures", &self.figures)
            .field("keep_going", &self.keep_going)
            .field("xlsx", &self.xlsx)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Everything a run computed, typed and in memory: the screen it ran on, the wells' outcomes
/// and QC, the curves and their fits, and the comparison (shifts, network, cycles, lineages,
/// plan) when the screen has a lines table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Results {
    /// The screen run (its wells, lines and settings).
    pub screen: Screen,
    /// The wells stage: QC rows, outcomes, GR values, DIP rates.
    pub wells: WellResults,
    /// The curves (and GR points and MICs) gathered from the wells.
    pub curves: CurveSet,
    /// The fit of every curve (and its growth fits).
    pub fits: Fits,
    /// The comparison of resistant with parental lines; `None` without a lines table.
    pub comparison: Option<Comparison>,
    /// Counts over the endpoint wells, for the summary and `run.json`.
    pub summary: WellSummary,
    /// Every warning: reading, the lines table, the read plan, controls.
    pub warnings: Vec<Problem>,
    /// Seconds per stage (`qc_normalize`, `fit`, `shift_network`), for `run.json`.
    pub timings: BTreeMap<&'static str, f64>,
}

/// The input columns of the screen's `wells.parquet`, encoded on a one-thread pool of their
/// own (see [`Screen::run_stages`]); `None` when they could not be, and the writer tries again.
fn encode_well_inputs(screen: &Screen) -> Option<WellInputs> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .ok()?;
    pool.install(|| WellInputs::encode(&screen.wells, screen.has_growth_data()).ok())
}

impl Screen {
    /// Runs every stage on this screen and returns the results; nothing is written. `progress`
    /// hears of each stage (pass [`Silent`] for none).
    pub fn run(self, progress: &dyn Progress) -> Result<Results> {
        self.run_stages(progress, None)
    }

    /// The stages in order. With `staging` (`collateral run`), the well tables are staged as
    /// soon as they exist, the wells and their outcomes (hundreds of megabytes in a large
    /// screen) freed on a thread of their own while the curves are fitted (the results then
    /// hold no wells), and the fit tables staged while the lines are compared.
    fn run_stages(mut self, progress: &dyn Progress, staging: Option<&Staging>) -> Result<Results> {
        let mut timings = BTreeMap::new();
        let t = Instant::now();
        progress.begin(Stage::Qc, "plates", None);
        // A Parquet run encodes the input columns of `wells.parquet` meanwhile: the stage
        // leaves a core idle much of the time, and those columns do not depend on it. On a
        // thread and a one-thread pool of their own, so that the stage's threads never take up
        // an encoding task while they wait for their other half (which, on the shared pool,
        // held the stage up by a quarter of a second on two cores); joined only when
        // `wells.parquet` is written, so an encoding that outlasts the stage runs beside the
        // grouping of the curves instead of holding the stage up. Should encoding fail,
        // `wells.parquet`'s writer encodes them again and reports the error.
        let (mut wells, curves, t) = std::thread::scope(|scope| {
            let encoding = staging
                .filter(|s| s.table_format().parquet())
                .map(|_| scope.spawn(|| encode_well_inputs(&self)));
            let wells = well_stage(&self)?;
            progress.end(self.wells.formats.len() as u64);
            timings.insert("qc_normalize", t.elapsed().as_secs_f64());
            let t = Instant::now();
            let curves = match staging {
                // The well tables are written while the curves are grouped (which reads the
                // wells but writes nothing): the writers' serial parts overlap the grouping's.
                Some(staging) => {
                    let (written, curves) = rayon::join(
                        || {
                            let t = Instant::now();
                            let ahead = encoding.and_then(|e| {
                                e.join()
                                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                            });
                            write_well_tables(staging, &self, &wells, ahead).map(|()| t.elapsed())
                        },
                        || curve_stage(&self, &wells),
                    );
                    timings.insert("write", written?.as_secs_f64());
                    curves
                }
                None => curve_stage(&self, &wells),
            };
            Ok::<_, crate::Error>((wells, curves, t))
        })?;
        let mut summary = WellSummary::of(wells.endpoint(&self), wells.outcomes());
        summary.reads = self.wells.wells.len();
        let freeing = staging.map(|_| {
            let table = std::mem::take(&mut self.wells.wells);
            let outcomes = std::mem::take(&mut wells.normalized.outcomes);
            let levels = std::mem::take(&mut wells.normalized.levels);
            let split = wells.endpoint_split.take();
            std::thread::spawn(move || drop((table, outcomes, levels, split)))
        });
        let fits = fit_stage(&self, &wells, &curves, progress)?;
        timings.insert("fit", t.elapsed().as_secs_f64());
        if let Some(freeing) = freeing {
            freeing
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        let compare = || {
            let t = Instant::now();
            let comparison = compare_stage(&self, &curves, &fits, progress);
            (comparison, t.elapsed().as_secs_f64())
        };
        let (comparison, seconds) = match staging {
            // The fit tables are written while the lines are compared (which reads the fits
            // and writes nothing): the comparison is partly one core's work.
            Some(staging) => {
                let (fit_tables, compared) =
                    rayon::join(|| write_fit_tables(staging, &curves, &fits), compare);
                fit_tables?;
                compared
            }
            None => compare(),
        };
        timings.insert("shift_network", seconds);
        let mut warnings = self.warnings.clone();
        warnings.extend(wells.warnings.iter().cloned());
        Ok(Results {
            screen: self,
            wells,
            curves,
            fits,
            comparison,
            summary,
            warnings,
            timings,
        })
    }
}

impl Results {
    /// The fits of the pooled curves (one per cell line × drug), as `fits.csv` lists them.
    pub fn fits(&self) -> Vec<&crate::fit::CurveFit> {
        self.fits.pooled(&self.curves.curves).collect()
    }

    /// The shifts (empty without a lines table).
    pub fn shifts(&self) -> &[crate::shift::Shift] {
        self.comparison.as_ref().map_or(&[], |c| &c.shifts)
    }

    /// The QC rows.
    pub fn qc(&self) -> &[PlateQc] {
        self.wells.qc()
    }

    /// The outcome of each endpoint read (viability, exclusion and its reason).
    pub fn outcomes(&self) -> &[WellOutcome] {
        self.wells.outcomes()
    }

    /// The MICs of every series (metric mic).
    pub fn mics(&self) -> Option<&[crate::mic::Mic]> {
        self.curves.mics.as_deref()
    }

    /// What the run did, for a summary: counts by verdict, status and call.
    pub fn report(&self, outdir: &Path) -> RunReport {
        let mut verdicts = [0usize; 3];
        for r in self.qc().iter().filter(|r| r.cell_line.is_some()) {
            verdicts[r.verdict as usize] += 1;
        }
        let c = self.comparison.as_ref();
        RunReport {
            name: self.screen.name.clone(),
            outdir: outdir.to_path_buf(),
            files: Vec::new(),
            plates: self.summary.plates,
            wells: self.summary.wells,
            excluded: self.summary.excluded,
            empty: self.summary.empty,
            flagged: self.summary.flagged,
            verdicts,
            curves: self.fits.status_counts(&self.curves.curves),
            calls: c.map_or([0; 4], Comparison::call_counts),
            cycles: c.map_or(0, |c| c.cycles.len()),
            compared: c.is_some(),
            replicate_counts: c.map_or(Default::default(), |c| c.replicate_counts),
            warnings: self.warnings.clone(),
            skipped: self.screen.skipped.clone(),
            seconds: 0.0,
        }
    }

    /// Writes every output file into `outdir` (staged, moved into place when complete), with
    /// the figures, report and workbook as `options` asks (its `keep_going` is a reading
    /// choice, see [`Screen::read`]).
    pub fn write(&self, outdir: &Path, options: &RunOptions) -> Result<RunReport> {
        let mut output = Output::open(outdir)?;
        output.set_format(options.format.unwrap_or(self.screen.table_format));
        let mut timings = self.timings.clone();
        let t = Instant::now();
        write_well_tables(&output.staging, &self.screen, &self.wells, None)?;
        write_fit_tables(&output.staging, &self.curves, &self.fits)?;
        timings.insert("write", t.elapsed().as_secs_f64());
        output.finish(self, timings, options)
    }

    /// `run.json`: its counts, and beyond them growth counts with growth data and the dilution
    /// error model with metric mic.
    fn run_json(&self, report: &RunReport, timings: &BTreeMap<&str, f64>) -> Result<RunJson> {
        let mut run_json = run_json(
            &self.screen,
            &self.summary,
            self.qc().len(),
            report,
            timings,
        )?;
        if self.screen.has_growth_data() {
            // Only runs with growth data carry these, so other runs keep their run.json.
            let gr = self.wells.gr.as_ref();
            let dip = &self.wells.dip_rates;
            run_json.counts.growth = Some(GrowthCounts {
                reads: self.summary.reads as u64,
                endpoint_reads: self.summary.wells as u64,
                wells_with_gr: gr.map_or(0, |g| g.gr.iter().flatten().count()) as u64,
                wells_with_dip_rate: dip.iter().filter(|d| d.rate.is_finite()).count() as u64,
            });
        }
        // The dilution error model's pooled error rate (metric mic only).
        run_json.mic = self.comparison.as_ref().and_then(|c| c.mic_model.clone());
        Ok(run_json)
    }
}

/// An output folder being written: its staging folder (the folder's lock taken), what it held
/// before, and when the run started.
struct Output {
    outdir: PathBuf,
    staging: Staging,
    previous: Vec<String>,
    started: String,
    t0: Instant,
    warnings: Vec<Problem>,
}

impl Output {
    /// Takes `outdir` (its lock first, so a second run into it stops at once).
    fn open(outdir: &Path) -> Result<Output> {
        let t0 = Instant::now();
        // When the run started, in run.json: `merge --on-duplicate newest` orders by it.
        let started = crate::outdir::now_rfc3339_millis();
        let staging = Staging::new(outdir)?;
        let previous = staging.previous_manifest();
        let warnings = staging.take_warnings();
        Ok(Output {
            outdir: outdir.to_path_buf(),
            staging,
            previous,
            started,
            t0,
            warnings,
        })
    }

    /// Writes the tables as `format`.
    fn set_format(&mut self, format: TableFormat) {
        self.staging
            .set_tables(format, crate::frame::parquet::write_csv_as_parquet);
    }

    /// Stages the comparison's tables of `results` (the well and fit tables were staged
    /// before), `run.json`, the figures, report and workbook as `options` asks, and moves them
    /// into place.
    fn finish(
        mut self,
        results: &Results,
        mut timings: BTreeMap<&'static str, f64>,
        options: &RunOptions,
    ) -> Result<RunReport> {
        let staging = &self.staging;
        if let Some(c) = &results.comparison {
            write_comparison(staging, c, &results.screen.settings.shift)?;
        }
        let mut report = results.report(&self.outdir);
        self.warnings.append(&mut report.warnings);
        report.warnings = std::mem::take(&mut self.warnings);
        report.seconds = self.t0.elapsed().as_secs_f64();
        timings.insert("total", report.seconds);
        let mut run_json = results.run_json(&report, &timings)?;
        run_json.started = Some(self.started.clone());
        staging.write("run.json", |w| run_json.write(w))?;
        let t = Instant::now();
        stage_figures_and_workbook(staging, options)?;
        if options.figures || options.xlsx {
            // The figures were drawn from the run.json above; the final one times them too,
            // and its total is the whole run's.
            let timings = &mut run_json.timings_seconds;
            timings.insert("figures".into(), t.elapsed().as_secs_f64());
            report.seconds = self.t0.elapsed().as_secs_f64();
            timings.insert("total".into(), report.seconds);
        }
        // run.json again, now listing every staged file; the figures did not read the manifest.
        staging.write_with_manifest(run_json.to_value()?)?;
        let (files, left) = self.staging.commit_replacing(&self.previous)?;
        report.files = files;
        report.warnings.extend(left);
        Ok(report)
    }
}

/// Draws the figures and `report.html`, and builds `results.xlsx`, from the staged files as
/// `options` asks; a drawing failure fails the run before anything is moved into place.
fn stage_figures_and_workbook(staging: &Staging, options: &RunOptions) -> Result<()> {
    if options.figures {
        crate::report::stage_figures_and_report(staging, options.progress)?;
    }
    if options.xlsx {
        // Built from the staged files, like the figures, so `plot --xlsx` gives the same bytes.
        let bytes = crate::workbook::workbook_from_folder(staging.dir())?;
        staging.write(crate::workbook::WORKBOOK_NAME, |w| w.write_all(&bytes))?;
    }
    Ok(())
}

/// `collateral run`: reads the assay file and everything it names, runs every stage, and
/// writes the outputs into `outdir` (see [`RunOptions`] for figures, workbook, progress and
/// `keep_going`).
pub fn run(assay_path: &Path, outdir: &Path, options: &RunOptions) -> Result<RunReport> {
    run_or_stop(assay_path, outdir, options, false)
}

/// [`run`] for pipelines that must stop rather than guess (`--strict`): any warning of
/// reading or of the stages is an error, and the output folder is left as it was.
pub(crate) fn run_strict(
    assay_path: &Path,
    outdir: &Path,
    options: &RunOptions,
) -> Result<RunReport> {
    run_or_stop(assay_path, outdir, options, true)
}

/// [`run`], or with `strict` an error of every warning before anything is written.
fn run_or_stop(
    assay_path: &Path,
    outdir: &Path,
    options: &RunOptions,
    strict: bool,
) -> Result<RunReport> {
    // The folder's lock first, so a second run into it stops at once, not after reading.
    let mut output = Output::open(outdir)?;
    let progress = options.progress;
    progress.begin(Stage::Read, "plates", None);
    let screen = Screen::read(assay_path, options.keep_going)?;
    output.set_format(options.format.unwrap_or(screen.table_format));
    let read = output.t0.elapsed().as_secs_f64();
    progress.end(screen.wells.formats.len() as u64);
    let results = screen.run_stages(progress, Some(&output.staging))?;
    if strict {
        let warned: Vec<Problem> = output
            .warnings
            .iter()
            .chain(&results.warnings)
            .cloned()
            .collect();
        crate::checks::warnings_as_errors(&warned)?;
    }
    let mut timings = results.timings.clone();
    timings.insert("read", read);
    output.finish(&results, timings, options)
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
    pub(crate) by_role: BTreeMap<&'static str, usize>,
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
