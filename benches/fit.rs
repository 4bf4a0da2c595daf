//! Fitting throughput: 9-dose × 3-replicate synthetic curves (σ = 0.05, the mix of
//! `fit::synthetic`), one thread and all cores; and the argmin Executor against the lean driver
//! loop on the same solver; and the cost of progress bars. Run with `cargo bench --bench fit`.
use argmin::core::Executor;
use collateral::fit::solver::{BoundedLevenbergMarquardt, CurveData};
use collateral::fit::synthetic::{synthetic_batch, SyntheticDesign};
use collateral::fit::{fit_curve, fit_curves, CurveInput, FitConfig};
use collateral::progress::{Bars, Progress, Stage};
use divan::counter::ItemsCount;
use divan::Bencher;
use nalgebra::Vector4;

fn main() {
    divan::main();
}

const CURVES: usize = 2000;

fn inputs() -> Vec<CurveInput> {
    synthetic_batch(&SyntheticDesign::default(), 42, CURVES as u64)
        .expect("the default design is valid")
        .into_iter()
        .map(|c| c.input)
        .collect()
}

/// Whole `fit_curve` (screening, start, solver, statistics), one curve after another.
#[divan::bench(sample_count = 10)]
fn fit_curve_one_thread(bencher: Bencher) {
    let curves = inputs();
    let config = FitConfig::default();
    bencher.counter(ItemsCount::new(CURVES)).bench(|| {
        curves
            .iter()
            .map(|c| fit_curve(divan::black_box(&c.points), &config).ec50)
            .sum::<f64>()
    });
}

/// `fit_curves` on rayon's global pool (all cores).
#[divan::bench(sample_count = 10)]
fn fit_curves_all_cores(bencher: Bencher) {
    let curves = inputs();
    let config = FitConfig::default();
    bencher.counter(ItemsCount::new(CURVES)).bench(|| {
        fit_curves(
            divan::black_box(&curves),
            &config,
            &collateral::progress::Silent,
        )
        .len()
    });
}

/// `fit_curves_all_cores` telling progress bars of every curve (drawn when stderr is a
/// terminal, counted either way): the overhead of progress is the difference.
#[divan::bench(sample_count = 10)]
fn fit_curves_all_cores_with_bars(bencher: Bencher) {
    let curves = inputs();
    let config = FitConfig::default();
    let bars = Bars::stderr();
    bencher.counter(ItemsCount::new(CURVES)).bench(|| {
        bars.begin(Stage::Fit, "curves", Some(CURVES as u64));
        let n = fit_curves(divan::black_box(&curves), &config, &bars).len();
        bars.end(n as u64);
        n
    });
}

fn solver_inputs() -> Vec<(Vec<f64>, Vec<f64>)> {
    inputs()
        .into_iter()
        .map(|c| {
            (
                c.points.iter().map(|p| p.concentration.log10()).collect(),
                c.points.iter().map(|p| p.response).collect(),
            )
        })
        .collect()
}

fn solver() -> BoundedLevenbergMarquardt {
    BoundedLevenbergMarquardt::new(
        [true; 4],
        Vector4::new(0.0, 0.0, -4.82, 0.05),
        Vector4::new(2.0, 1.5, 3.0, 10.0),
        1000,
    )
}

/// One solver run per curve from a fixed start, through the lean driver loop.
#[divan::bench(sample_count = 10)]
fn solver_lean_loop(bencher: Bencher) {
    let data = solver_inputs();
    let start = Vector4::new(1.0, 0.1, -1.4, 1.0);
    bencher.counter(ItemsCount::new(CURVES)).bench(|| {
        data.iter()
            .map(|(u, y)| {
                let d = CurveData {
                    log10_concentration: u,
                    response: y,
                    weights: None,
                    sse_offset: 0.0,
                };
                solver().minimize(&d, &start).iterate.normal.sse
            })
            .sum::<f64>()
    });
}

/// The same runs through argmin's `Executor` (timer off).
#[divan::bench(sample_count = 10)]
fn solver_argmin_executor(bencher: Bencher) {
    let data = solver_inputs();
    let start = Vector4::new(1.0, 0.1, -1.4, 1.0);
    bencher.counter(ItemsCount::new(CURVES)).bench(|| {
        data.iter()
            .map(|(u, y)| {
                let d = CurveData {
                    log10_concentration: u,
                    response: y,
                    weights: None,
                    sse_offset: 0.0,
                };
                let result = Executor::new(d, solver())
                    .configure(|s| s.param(start).max_iters(1000))
                    .timer(false)
                    .run()
                    .expect("solver runs");
                result.state().get_best_cost()
            })
            .sum::<f64>()
    });
}
