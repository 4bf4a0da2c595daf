//! Tests of the dose-response fitting engine (`collateral::fit`) and `collateral fit`.

mod cli;
mod curvecurator;
mod dhawan;
mod oracle;
mod synthetic;
mod table;

use collateral::fit::{Curve, DosePoint};

/// Points of `curve` at `concentrations`, `replicates` times, plus `noise(i)` on point i.
pub fn points_of(
    curve: &Curve,
    concentrations: &[f64],
    replicates: usize,
    mut noise: impl FnMut(usize) -> f64,
) -> Vec<DosePoint> {
    let mut out = Vec::new();
    for _ in 0..replicates {
        for &c in concentrations {
            let i = out.len();
            out.push(DosePoint {
                concentration: c,
                response: curve.response_at(c) + noise(i),
            });
        }
    }
    out
}

/// The default synthetic dose series: 9 doses 10·3⁻⁸ … 10.
pub fn nine_doses() -> Vec<f64> {
    (0..9).map(|k| 10.0 * 3f64.powi(k - 8)).collect()
}

/// Median of a list.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
