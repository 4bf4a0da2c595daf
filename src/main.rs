//! The `collateral` command line: maps flags onto library calls, nothing more.
use clap::Parser;

#[derive(Parser)]
#[command(name = "collateral", version, about = "From raw drug-screen plate reads to a collateral-sensitivity map")]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
