//! The `collateral` command line: maps flags onto library calls, nothing more. The binary
//! (`src/main.rs`) and the Python package's `collateral` command both call [`main`], so they
//! are one CLI.
//!
//! Exit codes: 0 success, 1 bad input or a failed run, 2 usage error, 3 a `run --keep-going`
//! that finished but left out plates that could not be read.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::fit::{FitSettings, Model, Plateaus, RobustLoss};
use crate::merge::OnDuplicate;
use crate::mic::MicModel;
use crate::outdir::TableFormat;
use crate::progress::{Bars, Lines, Progress, Silent};
use crate::shift::{CallRule, Metric, ShiftSettings};
use crate::words;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "collateral",
    version,
    about = "From raw drug-screen plate reads to a collateral-sensitivity map"
)]
struct Cli {
    /// Worker threads (default: all cores). Results are identical for any thread count.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Print nothing but errors and warnings: no summary, no progress.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on an assay file.
    Run(RunArgs),
    /// Redraw the figures (plots/) and report.html of an existing `run` output folder from its
    /// CSVs and run.json, without refitting.
    Plot(PlotArgs),
    /// Read every input of an assay, print what was understood and every problem (exit 1 on
    /// problems), without fitting anything.
    Validate(ValidateArgs),
    /// Fit dose-response curves from a table with columns cell_line, drug, concentration,
    /// response (optional replicate); one curve per (cell_line, drug), replicates pooled.
    Fit(FitArgs),
    /// Shifts, matrix, calls, network and cycles from a fits table and a lines table (for fits
    /// made elsewhere or re-called with other settings), or from a MIC table.
    Shift(ShiftArgs),
    /// Merge the output folders of several `collateral run`s (weekly batches) into one: fits
    /// reused as they are, shifts and BH q-values recomputed over the merged matrix, a `run`
    /// column naming where each row came from.
    Merge(MergeArgs),
    /// Therapy sequences from a finished run: which drug to give next when resistance appears,
    /// scored from the lineages selected with each drug (plan.csv, plan.md, plots/plan.svg).
    Plan(PlanArgs),
    /// Start the app in the browser: drop the reader's files, run, read the map (a local
    /// server; its HTTP API is in docs/serve.md).
    Serve(ServeArgs),
    /// Write a synthetic screen with known truth (wells.csv, lines.csv, assay.toml, truth_*.csv).
    Simulate {
        /// Output folder.
        #[arg(short, long)]
        out: PathBuf,
        #[command(flatten)]
        knobs: SimulateArgs,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The assay file (TOML).
    assay: PathBuf,
    /// Output folder (created if missing).
    #[arg(short, long)]
    out: PathBuf,
    /// Skip plots/ and report.html (draw them later with `collateral plot OUTDIR`).
    #[arg(long)]
    no_figures: bool,
    /// Leave out plates whose file cannot be read (missing, truncated, unparseable), finish
    /// the rest and exit 3; each is a warning and a failed row in qc.csv.
    #[arg(long)]
    keep_going: bool,
    /// Also write results.xlsx: the tables as an Excel workbook (Summary, QC, Fits, Shifts,
    /// a coloured Matrix, Calls, Cycles, Warnings).
    #[arg(long)]
    xlsx: bool,
    /// Every warning is an error: stop (exit 1) before writing anything, for pipelines that
    /// must stop rather than guess.
    #[arg(long)]
    strict: bool,
    /// How the tables are written: csv, parquet (typed columns, zstd) or both [default: the
    /// assay's `[output] format`, else csv].
    #[arg(long, value_parser = words::parser::<TableFormat>())]
    format: Option<TableFormat>,
}

#[derive(clap::Args)]
struct PlotArgs {
    /// The output folder of `collateral run`.
    outdir: PathBuf,
    /// Image format of the figures.
    #[arg(long, default_value = "svg", value_parser = words::parser::<crate::plot::Format>())]
    format: crate::plot::Format,
    /// Width in pixels of the heatmap and network, and of one panel of the dose-response
    /// grids and plate maps (default: sized to the content).
    #[arg(long)]
    width: Option<u32>,
    /// Height in pixels, as --width.
    #[arg(long)]
    height: Option<u32>,
    /// Only these cell lines (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    lines: Vec<String>,
    /// Only these drugs (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    drugs: Vec<String>,
    /// Also write results.xlsx from the folder's tables.
    #[arg(long)]
    xlsx: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// The assay file (TOML).
    assay: PathBuf,
    /// Draw each plate map in the terminal.
    #[arg(long)]
    map: bool,
    /// Every warning is a problem (exit 1), for pipelines that must stop rather than guess.
    #[arg(long)]
    strict: bool,
}

#[derive(clap::Args)]
struct FitArgs {
    /// Input table (CSV or TSV).
    input: PathBuf,
    /// Output fits table.
    #[arg(short, long, value_name = "FITS.csv")]
    output: PathBuf,
    /// Model: ll4 (all free), ll3 (top = 1), ll2 (top = 1, bottom = 0).
    #[arg(long, default_value = "ll4", value_parser = words::parser::<Model>())]
    model: Model,
    /// Plateaus the model leaves free: fitted (free) or fixed at the observed extremes.
    #[arg(long, default_value = "free", value_parser = words::parser::<Plateaus>())]
    plateaus: Plateaus,
    /// Robust loss for outlier-resistant fitting (IRLS); outliers are flagged per curve.
    #[arg(long, default_value = "none", value_parser = words::parser::<RobustLoss>())]
    robust: RobustLoss,
}

#[derive(clap::Args)]
struct ShiftArgs {
    /// Fits table (this tool's fits.csv, or any table with cell_line, drug and the metric),
    /// or a MIC table (cell_line, drug, replicate, mic[, mic_qualifier]; e.g. mics.csv).
    fits: PathBuf,
    /// Lines table: cell_line, parental_line, selected_with.
    #[arg(long)]
    lines: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// Metric compared [default: mic for a MIC table, else ic50].
    #[arg(long, value_parser = words::parser::<Metric>())]
    metric: Option<Metric>,
    /// Fold-change threshold on |log2_fc|.
    #[arg(long, default_value_t = 1.0)]
    tau: f64,
    /// Significance level on BH q-values.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Call rule: delta (threshold and q-value), dhawan2017 (CI overlap), nichol2019
    /// (Bonferroni on the p-values) or maltas-wood (outside the parental replicates' mean
    /// ± 3 SE).
    #[arg(long, default_value = "delta", value_parser = words::parser::<CallRule>())]
    rule: CallRule,
    /// Longest drug cycle listed.
    #[arg(long, default_value_t = 4)]
    max_cycle_length: usize,
    /// How a MIC table's MICs are compared: dilution (the dilution error model) or log2-t
    /// (Welch's t-test on log2 MICs; paired over a `batch` column).
    #[arg(long, default_value = "dilution", value_parser = words::parser::<MicModel>())]
    mic_model: MicModel,
    /// How the tables are written: csv, parquet (typed columns, zstd) or both.
    #[arg(long, default_value = "csv", value_parser = words::parser::<TableFormat>())]
    format: TableFormat,
    /// The robust dilution model: readings two or more ladder steps off get a rate of their
    /// own, so one outlying replicate cannot flip a call (`[mic] robust = true`).
    #[arg(long)]
    mic_robust: bool,
    /// An evidence table of your own (relations, drug names or classes; docs/evidence.md),
    /// read with the bundled ones (`[evidence] files`); repeat for several.
    #[arg(long = "evidence", value_name = "FILE")]
    evidence: Vec<PathBuf>,
    /// The lab's names of its drugs: a table with columns `alias, drug` (`drug_aliases`).
    #[arg(long, value_name = "FILE")]
    drug_aliases: Option<PathBuf>,
    /// Leave the bundled evidence tables out: only `--evidence` files (`[evidence] bundled =
    /// false`).
    #[arg(long)]
    no_bundled_evidence: bool,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Output folders of `collateral run`.
    #[arg(required = true, num_args = 1..)]
    runs: Vec<PathBuf>,
    /// Output folder of the merge (created if missing).
    #[arg(short, long)]
    out: PathBuf,
    /// A (cell line, drug) fitted in several runs: stop with an error naming them (error),
    /// or keep the fit of the run that started last (newest).
    #[arg(long, default_value = "error", value_parser = words::parser::<OnDuplicate>())]
    on_duplicate: OnDuplicate,
    /// How the merged tables are written: csv, parquet (typed columns, zstd) or both (the
    /// runs may be of either form).
    #[arg(long, default_value = "csv", value_parser = words::parser::<TableFormat>())]
    format: TableFormat,
    /// One lines table for all runs, instead of the runs' own (read through their assay files).
    #[arg(long)]
    lines: Option<PathBuf>,
    /// Metric compared, instead of the runs' common one.
    #[arg(long, value_parser = words::parser::<Metric>())]
    metric: Option<Metric>,
    /// Fold-change threshold on |log2_fc|, instead of the runs' common one.
    #[arg(long)]
    tau: Option<f64>,
    /// Significance level on BH q-values, instead of the runs' common one.
    #[arg(long)]
    alpha: Option<f64>,
    /// Call rule, instead of the runs' common one.
    #[arg(long, value_parser = words::parser::<CallRule>())]
    rule: Option<CallRule>,
    /// Longest drug cycle listed, instead of the runs' common one.
    #[arg(long)]
    max_cycle_length: Option<usize>,
    /// Skip plots/ and report.html (draw them later with `collateral plot OUTDIR`).
    #[arg(long)]
    no_figures: bool,
    /// Every warning is an error (exit 1, the merged folder written but not to be trusted),
    /// for pipelines that must stop rather than guess.
    #[arg(long)]
    strict: bool,
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The output folder of `collateral run` (or of `collateral shift`, with --lines).
    run: PathBuf,
    /// Output folder (the run's own folder adds the plan to it).
    #[arg(short, long)]
    out: PathBuf,
    /// Drugs in a sequence (`A -> B -> C` has length 3).
    #[arg(long, default_value_t = 3)]
    length: usize,
    /// The first drug.
    #[arg(long)]
    start: Option<String>,
    /// Score cycles: sequences that return to their first drug.
    #[arg(long)]
    cycles: bool,
    /// Plan on this metric's shifts (recomputed from fits.csv) instead of the run's.
    #[arg(long, value_parser = words::parser::<Metric>())]
    metric: Option<Metric>,
    /// The evolution time whose lineages are drawn from (default: each selecting drug's
    /// latest).
    #[arg(long)]
    time: Option<f64>,
    /// Scorable sequences listed, best first.
    #[arg(long, default_value_t = 50)]
    top: usize,
    /// The lines table, instead of the one the run's assay names.
    #[arg(long)]
    lines: Option<PathBuf>,
    /// Steps with reported cross-resistance (docs/evidence.md): flag them, avoid their
    /// sequences, or ignore the reports.
    #[arg(long, default_value = "flag", value_parser = words::parser::<crate::plan::EvidenceUse>())]
    evidence: crate::plan::EvidenceUse,
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Seed of the random stream; the same seed gives the same screen.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cell lines: one parental plus LINES-1 resistant lines.
    #[arg(long, default_value_t = 3)]
    lines: usize,
    /// Drugs.
    #[arg(long, default_value_t = 4)]
    drugs: usize,
    /// Wells per plate: 96, 384 or 1536.
    #[arg(long, default_value_t = 384)]
    plate_size: u32,
    /// Doses per dilution series.
    #[arg(long, default_value_t = 9)]
    doses: usize,
    /// Plate replicates per cell line.
    #[arg(long, default_value_t = 3)]
    replicates: usize,
    /// SD of the additive noise in viability units.
    #[arg(long, default_value_t = 0.05)]
    noise: f64,
    /// Fractional signal loss of cells on the outer ring of wells.
    #[arg(long, default_value_t = 0.0)]
    edge_effect: f64,
    /// Fraction of sample wells replaced by a random reading.
    #[arg(long, default_value_t = 0.0)]
    outlier_rate: f64,
    /// Fraction of sample wells written as OVRFLW.
    #[arg(long, default_value_t = 0.0)]
    missing_rate: f64,
    /// Lineages per resistant line, each evolved independently (lines table with `lineage`
    /// and `evolution_time`; truth in truth_courses.csv and truth_likelihood.csv).
    #[arg(long, default_value_t = 0)]
    lineages: usize,
    /// Times (days 1, 2, …) each lineage is sampled at; needs --lineages.
    #[arg(long, default_value_t = 1)]
    evolution_times: usize,
    /// Simulate growing cells: the parental line doubles every H hours and the drugs slow its
    /// growth rate (cell counts with a `time` column; truth in truth_growth.csv).
    #[arg(long, value_name = "H")]
    doubling_time: Option<f64>,
    /// Doubling time of every resistant line in hours (default: the parental one); longer for
    /// lines that grow slower than their parental line.
    #[arg(long, value_name = "H")]
    resistant_doubling_time: Option<f64>,
    /// With --doubling-time: also read every well at time 0 (x0 for GR metrics).
    #[arg(long)]
    t0: bool,
    /// With --doubling-time: hours from treatment to the endpoint read.
    #[arg(long, default_value_t = 72.0, value_name = "H")]
    duration: f64,
    /// With --doubling-time: reads after time 0, evenly spaced up to the endpoint (3 or more
    /// give DIP time courses).
    #[arg(long, default_value_t = 1)]
    reads: usize,
    /// Plant CS probabilities along a chain (drug01 → drug02 → drug03 at 0.95, the rest of the
    /// chain at 0.5, other pairs 0.05) so the best therapy sequence is known.
    #[arg(long)]
    cs_chain: bool,
    /// Steep bacterial curves: Hill slopes 10–40, each resistant line unchanged for half the
    /// drugs and shifted 2- to 8-fold up or down for the others.
    #[arg(long)]
    steep: bool,
}

/// Runs the command line `args` (the program name first, as [`std::env::args_os`] gives it)
/// and returns the exit code. Usage errors and `--help`/`--version` print as clap prints them.
///
/// Exits the process only for what clap handles itself (usage errors exit 2, help and version
/// 0), exactly as the `collateral` binary does; both the binary and the Python package's
/// `collateral` command are this function.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    ExitCode::from(exit_code(args))
}

/// [`main`], returning the exit code as a number (for callers that pass it on, such as the
/// Python package's console script).
pub fn exit_code<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    let run = || match execute(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    match cli.threads {
        // A pool of its own rather than the global one: the Python package calls this in a
        // process whose global pool may already exist.
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(run),
            Err(e) => {
                eprintln!("error: cannot start {n} threads: {e}");
                2
            }
        },
        None => run(),
    }
}

/// Where progress goes: bars on a terminal, one line per stage in a log (indicatif would draw
/// nothing there), nothing with `--quiet`. Always stderr: stdout carries only the summary.
fn progress(quiet: bool) -> Box<dyn Progress> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::stderr())
    } else {
        Box::new(Lines::stderr())
    }
}

/// Runs the command; `Ok` carries the exit code of a command that finished (3: a batch that
/// finished without some plates).
fn execute(cli: &Cli) -> anyhow::Result<u8> {
    let progress = progress(cli.quiet);
    let progress = progress.as_ref();
    let quiet = cli.quiet;
    match &cli.command {
        Command::Run(args) => run(args, quiet, progress),
        Command::Plot(args) => plot(args, quiet, progress),
        Command::Validate(args) => validate(args, quiet),
        Command::Fit(args) => fit(args, quiet, progress),
        Command::Shift(args) => shift(args, quiet, progress),
        Command::Merge(args) => merge(args, quiet, progress),
        Command::Plan(args) => plan(args, quiet),
        Command::Simulate { out, knobs } => simulate(out, knobs, quiet),
        Command::Serve(args) => serve(args),
    }
}

/// The flags of `collateral serve`.
#[derive(clap::Args)]
struct ServeArgs {
    /// Port to listen on (0: any free one; the printed address says which).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address to listen on; the default lets nothing beyond this machine connect.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Folder of the analyses (default: the platform's data folder, e.g.
    /// ~/.local/share/collateral).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The token every request must show (default: COLLATERAL_TOKEN, else a random one).
    #[arg(long)]
    token: Option<String>,
    /// Open the page in the default browser.
    #[arg(long)]
    open: bool,
    /// Largest upload in MiB.
    #[arg(long, default_value_t = 200)]
    max_upload_mb: u64,
    /// Analyses run at once; later ones wait as queued.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

/// `collateral serve`: runs until Ctrl-C.
fn serve(args: &ServeArgs) -> anyhow::Result<u8> {
    crate::serve::serve(&crate::serve::ServeOptions {
        host: args.host.clone(),
        port: args.port,
        data: args.data.clone(),
        token: args.token.clone(),
        open: args.open,
        max_upload_mb: args.max_upload_mb,
        jobs: args.jobs,
    })?;
    Ok(0)
}

/// Warnings go to stderr, one line each, whatever `--quiet` says.
fn warn_all(warnings: &[impl std::fmt::Display]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// `collateral run`.
fn run(args: &RunArgs, quiet: bool, progress: &dyn Progress) -> anyhow::Result<u8> {
    let options = crate::run::RunOptions {
        figures: !args.no_figures,
        keep_going: args.keep_going,
        xlsx: args.xlsx,
        progress,
        format: args.format,
    };
    let report = if args.strict {
        crate::run::run_strict(&args.assay, &args.out, &options)?
    } else {
        crate::run::run(&args.assay, &args.out, &options)?
    };
    warn_all(&report.warnings);
    if !quiet {
        println!("{}", report.summary());
    }
    Ok(if report.skipped.is_empty() { 0 } else { 3 })
}

/// `collateral plot`.
fn plot(args: &PlotArgs, quiet: bool, progress: &dyn Progress) -> anyhow::Result<u8> {
    let options = crate::plot::PlotOptions {
        format: args.format,
        width: args.width,
        height: args.height,
        lines: args.lines.clone(),
        drugs: args.drugs.clone(),
    };
    let plotted = crate::report::plot_folder(&args.outdir, &options, progress)?;
    warn_all(&plotted.warnings);
    let mut written = plotted.files.len();
    if args.xlsx {
        let book = crate::workbook::write_into_folder(&args.outdir)?;
        warn_all(&book.warnings);
        written += 1;
    }
    if !quiet {
        println!("wrote {written} files to {}", args.outdir.display());
    }
    Ok(0)
}

/// `collateral validate`.
fn validate(args: &ValidateArgs, quiet: bool) -> anyhow::Result<u8> {
    let mut v = crate::validate::validate(&args.assay, args.map)?;
    if !quiet {
        print!("{}{}", v.summary, v.maps);
    }
    if args.strict {
        let warned = std::mem::take(&mut v.warnings);
        if let Err(e) = crate::checks::warnings_as_errors(&warned) {
            v.problems.extend(e.problems_found().iter().cloned());
        }
    }
    warn_all(&v.warnings);
    // The first problems are what a user needs; thousands would bury them.
    for p in v.problems.iter().take(100) {
        eprintln!("problem: {p}");
    }
    if v.problems.len() > 100 {
        eprintln!("problem: ... and {} more", v.problems.len() - 100);
    }
    if !v.problems.is_empty() {
        let n = v.problems.len();
        anyhow::bail!("{n} problem{} found", if n == 1 { "" } else { "s" });
    }
    Ok(0)
}

/// `collateral fit`.
fn fit(args: &FitArgs, quiet: bool, progress: &dyn Progress) -> anyhow::Result<u8> {
    let config = FitSettings {
        model: args.model,
        plateaus: args.plateaus,
        robust: args.robust,
        ..FitSettings::default()
    }
    .check()?;
    let summary = crate::fit::fit_file(&args.input, &args.output, &config, progress)?;
    if !quiet {
        eprintln!("collateral fit: {summary}");
    }
    Ok(0)
}

/// `collateral shift`.
fn shift(args: &ShiftArgs, quiet: bool, progress: &dyn Progress) -> anyhow::Result<u8> {
    let metric = match args.metric {
        Some(m) => m,
        None if crate::mic::is_mic_table(&args.fits)? => Metric::Mic,
        None => Metric::Ic50,
    };
    let settings = ShiftSettings {
        metric,
        rule: args.rule,
        tau: args.tau,
        alpha: args.alpha,
        max_cycle_length: args.max_cycle_length,
        ..ShiftSettings::default()
    };
    let mic = crate::mic::MicSettings {
        model: args.mic_model,
        robust: args.mic_robust,
        ..Default::default()
    };
    let mut evidence = crate::evidence::EvidenceSettings {
        bundled: !args.no_bundled_evidence,
        files: args.evidence.clone(),
        ..Default::default()
    };
    if let Some(aliases) = &args.drug_aliases {
        evidence.drug_aliases = crate::evidence::read_drug_aliases(aliases)?;
    }
    let report = crate::run::shift_as(
        &args.fits,
        &args.lines,
        &args.out,
        (&settings, &mic, &evidence),
        args.format,
        progress,
    )?;
    warn_all(&report.warnings);
    if !quiet {
        println!("{}", report.summary());
    }
    Ok(0)
}

/// `collateral merge`.
fn merge(args: &MergeArgs, quiet: bool, progress: &dyn Progress) -> anyhow::Result<u8> {
    let shift = crate::merge::ShiftOverrides {
        metric: args.metric,
        tau: args.tau,
        alpha: args.alpha,
        rule: args.rule,
        max_cycle_length: args.max_cycle_length,
    };
    let options = crate::merge::MergeOptions {
        on_duplicate: args.on_duplicate,
        lines: args.lines.clone(),
        shift,
        figures: !args.no_figures,
        format: args.format,
    };
    let report = if args.strict {
        crate::merge::merge_strict(&args.runs, &args.out, &options, progress)?
    } else {
        crate::merge::merge(&args.runs, &args.out, &options, progress)?
    };
    warn_all(&report.warnings);
    if !quiet {
        println!("{}", report.summary());
    }
    Ok(0)
}

/// `collateral plan`.
fn plan(args: &PlanArgs, quiet: bool) -> anyhow::Result<u8> {
    let settings = crate::plan::PlanSettings {
        length: args.length,
        start: args.start.clone(),
        cycles: args.cycles,
        time: args.time,
        top: args.top,
        evidence: args.evidence,
        ..Default::default()
    };
    let options = crate::run::PlanOptions {
        metric: args.metric,
        lines: args.lines.clone(),
    };
    let report = crate::run::plan_folder(&args.run, &args.out, &settings, &options)?;
    warn_all(&report.warnings);
    if !quiet {
        for paragraph in &report.summary {
            println!("{paragraph}\n");
        }
        println!(
            "wrote {} files to {}",
            report.files.len(),
            args.out.display()
        );
    }
    Ok(0)
}

/// `collateral simulate`.
fn simulate(out: &Path, knobs: &SimulateArgs, quiet: bool) -> anyhow::Result<u8> {
    let config = crate::simulate::SimulationSettings {
        seed: knobs.seed,
        lines: knobs.lines,
        drugs: knobs.drugs,
        plate_size: knobs.plate_size,
        doses: knobs.doses,
        replicates: knobs.replicates,
        noise: knobs.noise,
        edge_effect: knobs.edge_effect,
        outlier_rate: knobs.outlier_rate,
        missing_rate: knobs.missing_rate,
        lineages: knobs.lineages,
        evolution_times: knobs.evolution_times,
        doubling_time: knobs.doubling_time,
        resistant_doubling_time: knobs.resistant_doubling_time,
        t0: knobs.t0,
        duration: knobs.duration,
        reads: knobs.reads,
        cs_chain: knobs.cs_chain,
        steep: knobs.steep,
        ..Default::default()
    }
    .check()?;
    let screen = crate::simulate::simulate(&config);
    let files = screen.write(out)?;
    if !quiet {
        println!(
            "simulated {} plates, {} wells, {} curves; wrote {} files to {}",
            screen.plates.len(),
            screen.wells.len(),
            screen.curves.len(),
            files.len(),
            out.display()
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{BlankFallback, ControlCenter};
    use clap::ValueEnum;

    /// The words clap offers are the words the assay file reads and writes, one for one.
    fn words_agree<E>(names: &[&str])
    where
        E: ValueEnum + serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let offered: Vec<String> = E::value_variants()
            .iter()
            .map(|v| v.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(offered, names);
        #[derive(serde::Deserialize, Debug)]
        struct Section<E> {
            key: E,
        }
        for (value, word) in E::value_variants().iter().zip(names) {
            let read: Section<E> = toml::from_str(&format!("key = \"{word}\"")).unwrap();
            assert_eq!(&read.key, value, "{word}");
            assert_eq!(serde_json::to_value(value).unwrap(), *word);
        }
        let bad = toml::from_str::<Section<E>>("key = \"nonsense\"").unwrap_err();
        for word in names {
            assert!(bad.to_string().contains(word), "{bad}");
        }
    }

    #[test]
    fn flag_words_are_the_assay_file_words() {
        words_agree::<Metric>(Metric::NAMES);
        words_agree::<CallRule>(CallRule::NAMES);
        words_agree::<Model>(Model::NAMES);
        words_agree::<Plateaus>(Plateaus::NAMES);
        words_agree::<RobustLoss>(RobustLoss::NAMES);
        words_agree::<OnDuplicate>(OnDuplicate::NAMES);
        words_agree::<crate::plot::Format>(crate::plot::Format::NAMES);
        words_agree::<ControlCenter>(ControlCenter::NAMES);
        words_agree::<BlankFallback>(BlankFallback::NAMES);
    }

    #[test]
    fn a_bad_flag_word_names_the_valid_words() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let e = parse(&[
            "collateral",
            "shift",
            "f.csv",
            "--lines",
            "l.csv",
            "-o",
            "o",
            "--rule",
            "vote",
        ]);
        assert!(
            e.contains(
                "unknown call rule `vote` (expected delta, dhawan2017, nichol2019 or maltas-wood)"
            ),
            "{e}"
        );
        let e = parse(&["collateral", "merge", "r", "-o", "o", "--metric", "ic90"]);
        assert!(e.contains(&Metric::choices()), "{e}");
        let e = parse(&[
            "collateral",
            "fit",
            "in.csv",
            "-o",
            "f.csv",
            "--model",
            "ll5",
        ]);
        assert!(
            e.contains("unknown model `ll5` (expected ll4, ll3 or ll2)"),
            "{e}"
        );
        // Any case, as before the words were one list.
        assert!(
            Cli::try_parse_from(["collateral", "fit", "i", "-o", "f", "--robust", "Huber"]).is_ok()
        );
    }

    #[test]
    fn help_lists_the_words() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let help = cmd
            .find_subcommand_mut("shift")
            .unwrap()
            .render_long_help()
            .to_string();
        for word in Metric::NAMES.iter().chain(CallRule::NAMES) {
            assert!(help.contains(word), "{word}: {help}");
        }
    }
}
