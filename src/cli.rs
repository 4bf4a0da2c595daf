//! The `collateral` command line: maps flags onto library calls, nothing more. The binary
//! (`src/main.rs`) and the Python package's `collateral` command both call [`main`], so they
//! are one CLI.
//!
//! Exit codes: 0 success, 1 bad input or a failed run, 2 usage error, 3 a `run --keep-going`
//! that finished but left out plates that could not be read.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::fit::{FitSettings, Model, Plateaus, RobustLoss};
use crate::progress::{Bars, Lines, Progress, Silent};
use crate::shift::ShiftSettings;
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
    Run {
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
    },
    /// Redraw the figures (plots/) and report.html of an existing `run` output folder from its
    /// CSVs and run.json, without refitting.
    Plot {
        /// The output folder of `collateral run`.
        outdir: PathBuf,
        /// Image format of the figures.
        #[arg(long, default_value = "svg")]
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
    },
    /// Read every input of an assay, print what was understood and every problem (exit 1 on
    /// problems), without fitting anything.
    Validate {
        /// The assay file (TOML).
        assay: PathBuf,
        /// Draw each plate map in the terminal.
        #[arg(long)]
        map: bool,
    },
    /// Fit dose-response curves from a table with columns cell_line, drug, concentration,
    /// response (optional replicate); one curve per (cell_line, drug), replicates pooled.
    Fit {
        /// Input table (CSV or TSV).
        input: PathBuf,
        /// Output fits table.
        #[arg(short, long, value_name = "FITS.csv")]
        output: PathBuf,
        /// Model: ll4 (all free), ll3 (top = 1), ll2 (top = 1, bottom = 0).
        #[arg(long, default_value = "ll4")]
        model: Model,
        /// Plateaus the model leaves free: fitted (free) or fixed at the observed extremes.
        #[arg(long, default_value = "free")]
        plateaus: Plateaus,
        /// Robust loss for outlier-resistant fitting (IRLS); outliers are flagged per curve.
        #[arg(long, default_value = "none")]
        robust: RobustLoss,
    },
    /// Shifts, matrix, calls, network and cycles from a fits table and a lines table (for fits
    /// made elsewhere or re-called with other settings), or from a MIC table.
    Shift {
        /// Fits table (this tool's fits.csv, or any table with cell_line, drug and the metric),
        /// or a MIC table (cell_line, drug, replicate, mic[, mic_qualifier]; e.g. mics.csv).
        fits: PathBuf,
        /// Lines table: cell_line, parental_line, selected_with.
        #[arg(long)]
        lines: PathBuf,
        /// Output folder.
        #[arg(short, long)]
        out: PathBuf,
        /// Metric compared: ic50, ec50, auc, mic, gr50, gr_aoc, dip_ec50 or dip_emax
        /// [default: mic for a MIC table, else ic50].
        #[arg(long)]
        metric: Option<String>,
        /// Fold-change threshold on |log2_fc|.
        #[arg(long, default_value_t = 1.0)]
        tau: f64,
        /// Significance level on BH q-values.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Call rule: delta (threshold and q-value), dhawan2017 (CI overlap), nichol2019
        /// (Bonferroni on the p-values) or maltas-wood (outside the parental replicates' mean
        /// ± 3 SE).
        #[arg(long, default_value = "delta")]
        rule: String,
        /// Longest drug cycle listed.
        #[arg(long, default_value_t = 4)]
        max_cycle_length: usize,
    },
    /// Merge the output folders of several `collateral run`s (weekly batches) into one: fits
    /// reused as they are, shifts and BH q-values recomputed over the merged matrix, a `run`
    /// column naming where each row came from.
    Merge {
        /// Output folders of `collateral run`.
        #[arg(required = true, num_args = 1..)]
        runs: Vec<PathBuf>,
        /// Output folder of the merge (created if missing).
        #[arg(short, long)]
        out: PathBuf,
        /// A (cell line, drug) fitted in several runs: stop with an error naming them (error),
        /// or keep the fit of the run that started last (newest).
        #[arg(long, default_value = "error")]
        on_duplicate: crate::merge::OnDuplicate,
        /// One lines table for all runs, instead of the runs' own (read through their assay files).
        #[arg(long)]
        lines: Option<PathBuf>,
        /// Metric compared (ic50, ec50, auc, mic, gr50, gr_aoc, dip_ec50 or dip_emax), instead of
        /// the runs' common one.
        #[arg(long)]
        metric: Option<String>,
        /// Fold-change threshold on |log2_fc|, instead of the runs' common one.
        #[arg(long)]
        tau: Option<f64>,
        /// Significance level on BH q-values, instead of the runs' common one.
        #[arg(long)]
        alpha: Option<f64>,
        /// Call rule (delta, dhawan2017, nichol2019 or maltas-wood), instead of the runs' common one.
        #[arg(long)]
        rule: Option<String>,
        /// Longest drug cycle listed, instead of the runs' common one.
        #[arg(long)]
        max_cycle_length: Option<usize>,
        /// Skip plots/ and report.html (draw them later with `collateral plot OUTDIR`).
        #[arg(long)]
        no_figures: bool,
    },
    /// Therapy sequences from a finished run: which drug to give next when resistance appears,
    /// scored from the lineages selected with each drug (plan.csv, plan.md, plots/plan.svg).
    Plan {
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
        #[arg(long)]
        metric: Option<String>,
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
    },
    /// Start the app in the browser: drop the reader's files, run, read the map (a local
    /// server; its HTTP API is in docs/serve.md).
    Serve {
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
    },
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
    match &cli.command {
        Command::Run {
            assay,
            out,
            no_figures,
            keep_going,
            xlsx,
        } => {
            let options = crate::run::RunOptions {
                figures: !no_figures,
                keep_going: *keep_going,
                xlsx: *xlsx,
                progress,
            };
            let report = crate::run::run(assay, out, &options)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !cli.quiet {
                println!("{}", report.summary());
            }
            if !report.skipped.is_empty() {
                return Ok(3);
            }
        }
        Command::Plot {
            outdir,
            format,
            width,
            height,
            lines,
            drugs,
            xlsx,
        } => {
            let options = crate::plot::PlotOptions {
                format: *format,
                width: *width,
                height: *height,
                lines: lines.clone(),
                drugs: drugs.clone(),
            };
            let plotted = crate::report::plot_folder_with_progress(outdir, &options, progress)?;
            for w in &plotted.warnings {
                eprintln!("warning: {w}");
            }
            let mut written = plotted.files.len();
            if *xlsx {
                let book = crate::workbook::write_into_folder(outdir)?;
                for w in &book.warnings {
                    eprintln!("warning: {w}");
                }
                written += 1;
            }
            if !cli.quiet {
                println!("wrote {written} files to {}", outdir.display());
            }
        }
        Command::Serve {
            port,
            host,
            data,
            token,
            open,
            max_upload_mb,
            jobs,
        } => crate::serve::serve(&crate::serve::ServeOptions {
            host: host.clone(),
            port: *port,
            data: data.clone(),
            token: token.clone(),
            open: *open,
            max_upload_mb: *max_upload_mb,
            jobs: *jobs,
        })?,
        Command::Validate { assay, map } => {
            let v = crate::validate::validate(assay, *map)?;
            if !cli.quiet {
                print!("{}{}", v.summary, v.maps);
            }
            for w in &v.warnings {
                eprintln!("warning: {w}");
            }
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
        }
        Command::Fit {
            input,
            output,
            model,
            plateaus,
            robust,
        } => {
            let config = FitSettings {
                model: *model,
                plateaus: *plateaus,
                robust: *robust,
                ..FitSettings::default()
            }
            .check()?;
            let summary = crate::fit::fit_file_with_progress(input, output, &config, progress)?;
            if !cli.quiet {
                eprintln!("collateral fit: {summary}");
            }
        }
        Command::Shift {
            fits,
            lines,
            out,
            metric,
            tau,
            alpha,
            rule,
            max_cycle_length,
        } => {
            let word = |s: &str| serde_json::Value::String(s.to_string());
            let metric = match metric {
                Some(m) => m.clone(),
                None if crate::mic::is_mic_table(fits)? => "mic".to_string(),
                None => "ic50".to_string(),
            };
            let settings = ShiftSettings {
                metric: serde_json::from_value(word(&metric)).map_err(|_| {
                    anyhow::anyhow!(
                        "--metric {metric}: expected {}",
                        crate::shift::Metric::NAMES
                    )
                })?,
                rule: serde_json::from_value(word(rule)).map_err(|_| {
                    anyhow::anyhow!(
                        "--rule {rule}: expected delta, dhawan2017, nichol2019 or maltas-wood"
                    )
                })?,
                tau: *tau,
                alpha: *alpha,
                max_cycle_length: *max_cycle_length,
                ..ShiftSettings::default()
            };
            let report = crate::run::shift(fits, lines, out, &settings, progress)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !cli.quiet {
                println!("{}", report.summary());
            }
        }
        Command::Merge {
            runs,
            out,
            on_duplicate,
            lines,
            metric,
            tau,
            alpha,
            rule,
            max_cycle_length,
            no_figures,
        } => {
            let word = |s: &str| serde_json::Value::String(s.to_string());
            let shift = crate::merge::ShiftOverrides {
                metric: metric
                    .as_deref()
                    .map(|m| {
                        serde_json::from_value(word(m)).map_err(|_| {
                            anyhow::anyhow!(
                                "--metric {m}: expected {}",
                                crate::shift::Metric::NAMES
                            )
                        })
                    })
                    .transpose()?,
                tau: *tau,
                alpha: *alpha,
                rule: rule
                    .as_deref()
                    .map(|r| {
                        serde_json::from_value(word(r)).map_err(|_| {
                            anyhow::anyhow!(
                                "--rule {r}: expected delta, dhawan2017, nichol2019 or maltas-wood"
                            )
                        })
                    })
                    .transpose()?,
                max_cycle_length: *max_cycle_length,
            };
            let options = crate::merge::MergeOptions {
                on_duplicate: *on_duplicate,
                lines: lines.clone(),
                shift,
                figures: !no_figures,
            };
            let report = crate::merge::merge_with_progress(runs, out, &options, progress)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !cli.quiet {
                println!("{}", report.summary());
            }
        }
        Command::Plan {
            run,
            out,
            length,
            start,
            cycles,
            metric,
            time,
            top,
            lines,
        } => {
            let word = |s: &str| serde_json::Value::String(s.to_string());
            let metric = metric
                .as_deref()
                .map(|m| {
                    serde_json::from_value(word(m)).map_err(|_| {
                        anyhow::anyhow!("--metric {m}: expected {}", crate::shift::Metric::NAMES)
                    })
                })
                .transpose()?;
            let settings = crate::plan::PlanSettings {
                length: *length,
                start: start.clone(),
                cycles: *cycles,
                time: *time,
                top: *top,
                ..Default::default()
            };
            let options = crate::run::PlanOptions {
                metric,
                lines: lines.clone(),
            };
            let report = crate::run::plan_folder(run, out, &settings, &options)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !cli.quiet {
                for paragraph in &report.summary {
                    println!("{paragraph}\n");
                }
                println!("wrote {} files to {}", report.files.len(), out.display());
            }
        }
        Command::Simulate { out, knobs } => {
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
                ..Default::default()
            }
            .check()?;
            let screen = crate::simulate::simulate(&config);
            let files = screen.write(out)?;
            if !cli.quiet {
                println!(
                    "simulated {} plates, {} wells, {} curves; wrote {} files to {}",
                    screen.plates.len(),
                    screen.wells.len(),
                    screen.curves.len(),
                    files.len(),
                    out.display()
                );
            }
        }
    }
    Ok(0)
}
