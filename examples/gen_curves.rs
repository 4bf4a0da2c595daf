//! Writes synthetic dose-response curves with known truth for `collateral fit` and the peer
//! fitters (`/work/shared/tools/peer_fit.py`, `score_fits.py`).
//!
//! Usage: `cargo run --release --example gen_curves -- CURVES.csv TRUTH.csv [N] [SEED] [NOISE_SD]`
//! (defaults: 10000 curves, seed 42, σ = 0.05; 9 doses 10·3⁻⁸ … 10 × 3 replicates, 0.5 %
//! outlying points). CURVES.csv has `cell_line, drug, concentration, response, replicate`;
//! TRUTH.csv has `cell_line, kind, ec50, abs_ic50, top, bottom, hill`.
use std::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};

use collateral::fit::synthetic::{synthetic_batch, SyntheticDesign};
use collateral::text::format_number;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: gen_curves CURVES.csv TRUTH.csv [N] [SEED] [NOISE_SD]".into());
    }
    let n: u64 = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let seed: u64 = args.get(3).map_or(Ok(42), |s| s.parse())?;
    let mut design = SyntheticDesign::default();
    if let Some(sd) = args.get(4) {
        design.noise_sd = sd.parse()?;
    }
    let batch = synthetic_batch(&design, seed, n)?;
    let mut curves = BufWriter::new(File::create(&args[0])?);
    writeln!(curves, "cell_line,drug,concentration,response,replicate")?;
    let mut truth = BufWriter::new(File::create(&args[1])?);
    writeln!(truth, "cell_line,kind,ec50,abs_ic50,top,bottom,hill")?;
    let doses = design.concentrations.len();
    for c in &batch {
        for (i, p) in c.input.points.iter().enumerate() {
            writeln!(
                curves,
                "{},{},{},{},{}",
                c.input.cell_line,
                c.input.drug,
                format_number(p.concentration),
                format_number(p.response),
                i / doses + 1
            )?;
        }
        writeln!(
            truth,
            "{},{},{},{},{},{},{}",
            c.input.cell_line,
            c.kind.name(),
            format_number(c.true_ec50()),
            format_number(c.true_ic50()),
            format_number(c.truth.top),
            format_number(c.truth.bottom),
            format_number(c.truth.hill)
        )?;
    }
    curves.flush()?;
    truth.flush()?;
    eprintln!(
        "wrote {n} curves (seed {seed}, noise sd {})",
        design.noise_sd
    );
    Ok(())
}
