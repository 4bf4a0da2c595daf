//! Whole-pipeline throughput: `collateral run` on a simulated 1,000-plate 384-well screen
//! (384,000 wells). Run with `cargo bench --bench pipeline`; wells/s = 384,000 / the median.

use std::path::PathBuf;
use std::sync::OnceLock;

use collateral::simulate::{simulate, SimulationSettings};

fn main() {
    divan::main();
}

/// A 1,000-plate screen written once per bench process: 50 lines × 20 replicates × 35 drugs.
fn screen() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("collateral-bench-screen");
        let config = SimulationSettings {
            lines: 50,
            replicates: 20,
            drugs: 35,
            ..Default::default()
        }
        .check()
        .expect("valid settings");
        simulate(&config).write(&dir).expect("write screen");
        dir
    })
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn run_1000_plates_384_wells(bencher: divan::Bencher) {
    let dir = screen();
    bencher.bench(|| {
        collateral::run::run(
            &dir.join("assay.toml"),
            &dir.join("out"),
            &Default::default(),
        )
        .expect("run")
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn simulate_1000_plates_384_wells() -> collateral::simulate::SimulatedScreen {
    let config = SimulationSettings {
        lines: 50,
        replicates: 20,
        drugs: 35,
        ..Default::default()
    }
    .check()
    .expect("valid settings");
    simulate(&config)
}
