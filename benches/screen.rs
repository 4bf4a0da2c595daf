//! A core facility's screen, end to end: `collateral run --no-figures` on the simulated
//! 100-line × 1,000-drug 384-well screen of issue 10 (8,700 plates, 3.34 M wells, 100,000
//! curves), the same run on a screen twice its size (200 lines: 17,400 plates, 6.68 M wells),
//! and `collateral fit` on the very curves of the first run (the points of its `wells.csv`
//! that went into the fits), so the pipeline's overhead over its fits is read off one process.
//!
//! `cargo bench --bench screen` (a few minutes: the screens are written once, to the system's
//! temporary folder, and each sample is a whole run). docs/performance.md records the figures.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use collateral::run::{run, RunOptions};
use collateral::simulate::{simulate, SimulationSettings};

fn main() {
    divan::main();
}

/// Writes (once per process) the screen with `lines` lines × 1,000 drugs, seed 7.
fn screen(lines: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("collateral-bench-{lines}x1000"));
    if !dir.join("assay.toml").is_file() {
        let config = SimulationSettings {
            seed: 7,
            lines,
            drugs: 1000,
            plate_size: 384,
            ..Default::default()
        }
        .check()
        .expect("valid settings");
        simulate(&config).write(&dir).expect("write screen");
    }
    dir
}

fn run_no_figures(dir: &Path) {
    let options = RunOptions {
        figures: false,
        ..Default::default()
    };
    run(&dir.join("assay.toml"), &dir.join("out"), &options).expect("run");
}

/// The fit input of the 100-line screen: every non-excluded sample well of its run, as
/// `cell_line, drug, concentration, response` (what `collateral fit` reads).
fn fit_input() -> &'static PathBuf {
    static INPUT: OnceLock<PathBuf> = OnceLock::new();
    INPUT.get_or_init(|| {
        let dir = screen(100);
        if !dir.join("out/wells.csv").is_file() {
            run_no_figures(&dir);
        }
        let path = dir.join("fit_input.csv");
        let mut reader = csv::Reader::from_path(dir.join("out/wells.csv")).expect("wells.csv");
        let head = reader.headers().expect("header").clone();
        let col = |name: &str| head.iter().position(|h| h == name).expect(name);
        let (line, drug, conc, role, viab, excl) = (
            col("cell_line"),
            col("drug"),
            col("concentration"),
            col("role"),
            col("viability"),
            col("excluded"),
        );
        let mut out = csv::Writer::from_path(&path).expect("fit input");
        out.write_record(["cell_line", "drug", "concentration", "response"])
            .expect("write");
        let mut rec = csv::StringRecord::new();
        while reader.read_record(&mut rec).expect("row") {
            if &rec[role] == "sample" && &rec[excl] == "false" && !rec[viab].is_empty() {
                out.write_record([&rec[line], &rec[drug], &rec[conc], &rec[viab]])
                    .expect("write");
            }
        }
        out.flush().expect("flush");
        path
    })
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn run_100_lines_1000_drugs(bencher: divan::Bencher) {
    let dir = screen(100);
    bencher.bench(|| run_no_figures(&dir));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn run_200_lines_1000_drugs(bencher: divan::Bencher) {
    let dir = screen(200);
    bencher.bench(|| run_no_figures(&dir));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn fit_the_same_curves(bencher: divan::Bencher) {
    let input = fit_input();
    let output = input.with_file_name("fit_output.csv");
    let config = collateral::fit::FitConfig::default();
    bencher.bench(|| {
        collateral::fit::fit_file(input, &output, &config, &collateral::progress::Silent)
            .expect("fit")
    });
}
