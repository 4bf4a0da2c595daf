//! The `collateral` command line: maps flags onto library calls, nothing more.
//!
//! Exit codes: 0 success, 1 bad input or a failed run, 2 usage error.

use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Print nothing but errors.
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
        Command::Run { assay, out } => {
            let report = collateral::run::run(assay, out)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if !cli.quiet {
                println!("{}", report.summary());
            }
        }
    }
    Ok(())
}
