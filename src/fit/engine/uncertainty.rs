//! Uncertainty of a fitted curve: the covariance over the estimable parameters, standard errors
//! and confidence intervals of ec50, ic50 and log10 auc, and which estimates sit on a bound.

use nalgebra::{Matrix4, Vector4};

use super::super::model::{Curve, BOTTOM, HILL, LOG10_EC50, PARAMETER_NAMES, TOP};
use super::super::result::{CurveFit, Ic50Qualifier};
use super::super::solver::NormalEquations;

/// A fitted curve and what its uncertainty depends on.
#[derive(Clone, Copy)]
pub(super) struct Estimate<'a> {
    pub(super) curve: &'a Curve,
    pub(super) theta: &'a Vector4<f64>,
    /// The free parameters not stopped by a bound.
    pub(super) estimable: [bool; 4],
    /// The t quantile of the intervals.
    pub(super) t: f64,
    /// The tested range, log10 concentration.
    pub(super) range: (f64, f64),
}

/// Inverse of JᵀJ restricted to the free parameters (zero rows/columns for fixed ones).
pub(super) fn free_inverse(jtj: &Matrix4<f64>, free: &[bool; 4]) -> Option<Matrix4<f64>> {
    let mut m = Matrix4::identity();
    for a in 0..4 {
        for b in 0..4 {
            if free[a] && free[b] {
                m[(a, b)] = jtj[(a, b)];
            }
        }
    }
    let inv = m.cholesky()?.inverse();
    let mut out = Matrix4::zeros();
    for a in 0..4 {
        for b in 0..4 {
            if free[a] && free[b] {
                out[(a, b)] = inv[(a, b)];
            }
        }
    }
    inv.iter().all(|v| v.is_finite()).then_some(out)
}

pub(super) fn at_bound(
    theta: &Vector4<f64>,
    free: &[bool; 4],
    lower: &Vector4<f64>,
    upper: &Vector4<f64>,
) -> Vec<String> {
    (0..4)
        .filter(|&i| free[i])
        .filter_map(|i| {
            if theta[i] <= lower[i] {
                Some(format!(
                    "{} at lower bound {}",
                    PARAMETER_NAMES[i], lower[i]
                ))
            } else if theta[i] >= upper[i] {
                Some(format!(
                    "{} at upper bound {}",
                    PARAMETER_NAMES[i], upper[i]
                ))
            } else {
                None
            }
        })
        .collect()
}

/// Covariance s² (JᵀJ)⁻¹ over the estimable parameters (with IRLS weights, the weighted
/// version), and from it the standard errors and intervals of ec50 and log10 auc. `None` (with a
/// note) when JᵀJ is singular or no degrees of freedom are left.
pub(super) fn standard_errors(
    fit: &mut CurveFit,
    estimate: &Estimate<'_>,
    weighted: &NormalEquations,
    dof: usize,
    notes: &mut Vec<String>,
) -> Option<Matrix4<f64>> {
    let Estimate {
        curve,
        theta,
        estimable,
        t,
        range: (u_min, u_max),
    } = *estimate;
    let estimable = &estimable;
    let covariance = if dof > 0 {
        free_inverse(&weighted.jtj, estimable).map(|inv| inv * (weighted.sse / dof as f64))
    } else {
        None
    };
    if covariance.is_none() {
        notes.push(
            "standard errors unavailable (singular JᵀJ or no residual degrees of freedom)"
                .to_string(),
        );
    }
    if let (Some(cov), true) = (&covariance, estimable[BOTTOM]) {
        fit.bottom_se = cov[(BOTTOM, BOTTOM)].sqrt();
    }
    if let (Some(cov), true) = (&covariance, estimable[LOG10_EC50]) {
        let se = cov[(LOG10_EC50, LOG10_EC50)].sqrt();
        fit.log10_ec50_se = se;
        fit.ec50_ci_low = 10f64.powf(curve.log10_ec50 - t * se);
        fit.ec50_ci_high = 10f64.powf(curve.log10_ec50 + t * se);
    }

    // log10 auc by the delta method, with a central-difference gradient: auc is an integral of
    // the curve, so its derivatives are not worth writing out by hand.
    if let (Some(cov), true) = (&covariance, fit.auc > 0.0) {
        let log_auc =
            |th: &Vector4<f64>| Curve::from_vector(th).mean_over_log10(u_min, u_max).log10();
        let mut g = Vector4::zeros();
        for i in [TOP, BOTTOM, LOG10_EC50, HILL] {
            if estimable[i] {
                let h = 1e-6 * theta[i].abs().max(1.0);
                let (mut up, mut down) = (*theta, *theta);
                up[i] += h;
                down[i] -= h;
                g[i] = (log_auc(&up) - log_auc(&down)) / (2.0 * h);
            }
        }
        let se = (g.transpose() * cov * g)[(0, 0)].sqrt();
        if se.is_finite() {
            fit.log10_auc_se = se;
        }
    }
    covariance
}

/// The absolute IC50 (viability 0.5 crossed inside the tested range) with its interval, or the
/// censored bound with its qualifier when the curve does not cross in range.
pub(super) fn absolute_ic50(
    fit: &mut CurveFit,
    estimate: &Estimate<'_>,
    covariance: Option<&Matrix4<f64>>,
) {
    let Estimate {
        curve,
        estimable,
        t,
        range: (u_min, u_max),
        ..
    } = *estimate;
    // Absolute IC50 with its censoring qualifier.
    let crossing = curve.log10_crossing(0.5);
    match crossing {
        Some(u) if (u_min..=u_max).contains(&u) => {
            fit.ic50 = 10f64.powf(u);
            fit.ic50_qualifier = Some(Ic50Qualifier::Equal);
            if let Some(cov) = covariance {
                let mut g = curve.log10_ic50_gradient();
                for i in [TOP, BOTTOM, LOG10_EC50, HILL] {
                    if !estimable[i] {
                        g[i] = 0.0;
                    }
                }
                let se = (g.transpose() * cov * g)[(0, 0)].sqrt();
                fit.log10_ic50_se = se;
                fit.ic50_ci_low = 10f64.powf(u - t * se);
                fit.ic50_ci_high = 10f64.powf(u + t * se);
            }
        }
        _ => {
            let at_high = curve.response_at_log10(u_max);
            let at_low = curve.response_at_log10(u_min);
            if at_high >= 0.5 && at_low >= 0.5 {
                fit.ic50 = 10f64.powf(u_max);
                fit.ic50_qualifier = Some(Ic50Qualifier::Greater);
            } else {
                // Both ends below 0.5 (a monotone curve without a crossing in range).
                fit.ic50 = 10f64.powf(u_min);
                fit.ic50_qualifier = Some(Ic50Qualifier::Less);
            }
        }
    }
}
