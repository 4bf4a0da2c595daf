//! Robust refits (IRLS with Huber or Cauchy weights): outlier-resistant curves and the points
//! they flag, for plates where one bad well would otherwise drag a curve.

use nalgebra::Vector4;

use super::super::model::Curve;
use super::super::solver::{BoundedLevenbergMarquardt, CurveData, NormalEquations};
use super::super::{DosePoint, FitSettings, RobustLoss};

/// Huber tuning constant, in robust standard deviations (95 % efficiency under normal errors).
pub(super) const HUBER_K: f64 = 1.345;

/// Cauchy tuning constant, in robust standard deviations (95 % efficiency under normal errors).
pub(super) const CAUCHY_C: f64 = 2.385;

/// MAD → standard deviation under normal errors.
pub(super) const MAD_TO_SD: f64 = 1.4826;

/// Most IRLS rounds before giving up on the weights settling.
pub(super) const MAX_IRLS_ROUNDS: u32 = 30;

pub(super) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Robust scale of residuals: MAD about zero, as a standard deviation.
pub(super) fn robust_scale(residuals: &[f64]) -> f64 {
    let mut abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    MAD_TO_SD * median(&mut abs)
}

pub(super) fn robust_weight(loss: RobustLoss, standardized: f64) -> f64 {
    let a = standardized.abs();
    match loss {
        RobustLoss::None => 1.0,
        RobustLoss::Huber => {
            if a <= HUBER_K {
                1.0
            } else {
                HUBER_K / a
            }
        }
        RobustLoss::Cauchy => 1.0 / (1.0 + (a / CAUCHY_C).powi(2)),
    }
}

/// Outcome of a robust refit.
pub(super) struct Robust {
    pub(super) theta: Vector4<f64>,
    /// Weighted SSE and normal equations at `theta` (for the covariance).
    pub(super) normal: NormalEquations,
    pub(super) iterations: u32,
    pub(super) rounds: u32,
    /// The weights still changed at the round limit.
    pub(super) unsettled: bool,
    /// Indices (into the fitted points) of points beyond the outlier threshold.
    pub(super) outliers: Vec<usize>,
}

pub(super) fn residuals(data: &CurveData, theta: &Vector4<f64>) -> Vec<f64> {
    let curve = Curve::from_vector(theta);
    data.log10_concentration
        .iter()
        .zip(data.response)
        .map(|(&u, &y)| curve.response_at_log10(u) - y)
        .collect()
}

/// Iteratively reweighted least squares from the least-squares optimum `theta`, each round
/// warm-started from the last. Err carries the iterations spent and the reason.
pub(super) fn irls(
    solver: &mut BoundedLevenbergMarquardt,
    data: &CurveData,
    mut theta: Vector4<f64>,
    s: &FitSettings,
) -> Result<Robust, (u32, String)> {
    let mut normal = data.normal_equations(&theta);
    let (mut iterations, mut rounds, mut unsettled) = (0, 0, true);
    while rounds < MAX_IRLS_ROUNDS {
        rounds += 1;
        let r = residuals(data, &theta);
        let scale = robust_scale(&r);
        if !(scale > 1e-12) {
            // (Nearly) exact fit: nothing to downweight.
            unsettled = false;
            break;
        }
        let weights: Vec<f64> = r
            .iter()
            .map(|r| robust_weight(s.robust, r / scale))
            .collect();
        let m = solver.minimize(
            &CurveData {
                weights: Some(&weights),
                ..*data
            },
            &theta,
        );
        iterations += m.iterations;
        if !m.termination.converged() {
            let reason = format!(
                "robust {} refit did not converge ({:?}) in IRLS round {rounds}",
                s.robust, m.termination
            );
            return Err((iterations, reason));
        }
        let change = (0..4)
            .map(|i| (m.iterate.theta[i] - theta[i]).abs() / (theta[i].abs() + 1e-3))
            .fold(0.0, f64::max);
        theta = m.iterate.theta;
        normal = m.iterate.normal;
        if change < 1e-7 {
            unsettled = false;
            break;
        }
    }
    let r = residuals(data, &theta);
    let scale = robust_scale(&r);
    let outliers = r
        .iter()
        .enumerate()
        .filter(|(_, r)| scale > 0.0 && r.abs() > s.outlier_threshold * scale)
        .map(|(i, _)| i)
        .collect();
    Ok(Robust {
        theta,
        normal,
        iterations,
        rounds,
        unsettled,
        outliers,
    })
}

/// The message note of a robust fit: that it was done, and which points it flagged.
pub(super) fn robust_note(
    robust: &Robust,
    outliers: &[usize],
    points: &[DosePoint],
    s: &FitSettings,
) -> String {
    let mut note = format!(
        "robust {} fit by IRLS ({} round(s)",
        s.robust, robust.rounds
    );
    if robust.unsettled {
        note.push_str(", weights still changing at the round limit");
    }
    note.push(')');
    if !outliers.is_empty() {
        let listed: Vec<String> = outliers
            .iter()
            .map(|&i| {
                format!(
                    "#{i} (concentration {}, response {})",
                    points[i].concentration, points[i].response
                )
            })
            .collect();
        note.push_str(&format!(
            "; {} outlying point(s) beyond {} robust SD: {}",
            outliers.len(),
            s.outlier_threshold,
            listed.join(", ")
        ));
    }
    note
}
