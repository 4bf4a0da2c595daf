//! The `collateral` command line: maps flags onto library calls, nothing more.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use collateral::fit::{self, FitSettings, Model, Plateaus, RobustLoss};

#[derive(Parser)]
#[command(
    name = "collateral",
    version,
    about = "From raw drug-screen plate reads to a collateral-sensitivity map"
)]
struct Cli {
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
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fit {
            input,
            output,
            model,
            plateaus,
            robust,
            threads,
        } => FitSettings {
            model,
            plateaus,
            robust,
            ..FitSettings::default()
        }
        .check()
        .and_then(|config| fit::fit_file(&input, &output, &config, threads))
        .map(|summary| eprintln!("collateral fit: {summary}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
