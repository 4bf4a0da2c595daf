//! The `collateral` command line: maps flags onto library calls, nothing more.
//!
//! Exit codes: 0 success, 1 bad input or a failed run, 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use collateral::fit::{FitSettings, Model, Plateaus, RobustLoss};

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("error: cannot start {n} threads: {e}");
            return ExitCode::from(2);
        }
    }
    match execute(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn execute(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
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
            let summary = collateral::fit::fit_file(input, output, &config)?;
            eprintln!("collateral fit: {summary}");
        }
    }
    Ok(())
}
