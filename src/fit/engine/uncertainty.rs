//! Uncertainty of a fitted curve: the covariance over the estimable parameters, standard errors
//! and confidence intervals of ec50, ic50 and log10 auc, and which estimates sit on a bound.

use nalgebra::{Matrix4, Vector4};

use super::super::model::{Curve, BOTTOM, HILL, LOG10_EC50, PARAMETER_NAMES, TOP};
use super::super::result::{CurveFit, Ic50Qualifier};
use super::super::solver::NormalEquations;
use super::start::Collapsed;

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
    /// When the Hill slope is free: the tested doses with their mean responses and counts,
    /// and the residual SD of the fit — what places the IC50 by the doses ([`placement`]) when
    /// the slope is stopped by its bound or the data are a step ([`no_dose_on_the_slope`]).
    pub(super) doses: Option<(&'a Collapsed, f64)>,
    /// The Hill slope is stopped by its upper bound (or within 0.1 % of it): the curve may be
    /// steeper than the fit says, and the IC50 is placed by the doses around it.
    pub(super) hill_at_bound: bool,
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
        ..
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

/// Why the doses place an IC50 (qualifier `~`) rather than the fit's conditional interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PlacedBy {
    /// The Hill slope is stopped by its upper bound: a steeper curve fits as well.
    SlopeAtBound,
    /// The doses bracket the IC50 in one gap and no dose lies on the slope
    /// ([`no_dose_on_the_slope`]): any steeper curve fits as well.
    Step,
    /// The doses bracket the IC50 in one gap, more narrowly than the fit's interval (or the
    /// fit has none).
    NarrowerThanFit,
}

/// The absolute IC50 (viability 0.5 crossed inside the tested range) with its interval, or the
/// censored bound with its qualifier when the curve does not cross in range. Returns why the
/// doses place the IC50 when they do (qualifier `~`, [`placement`]).
pub(super) fn absolute_ic50(
    fit: &mut CurveFit,
    estimate: &Estimate<'_>,
    covariance: Option<&Matrix4<f64>>,
) -> Option<PlacedBy> {
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
            let (doses, sd) = estimate.doses?;
            let (low, high) = placement(u, doses, sd, t);
            // The doses bracket the crossing in one gap: the dose just below it clearly
            // above 0.5, the one just above clearly below.
            let one_gap =
                bracket(u, doses).filter(|&lo| (low, high) == (doses.u[lo], doses.u[lo + 1]));
            let by = match one_gap {
                _ if estimate.hill_at_bound => PlacedBy::SlopeAtBound,
                Some(lo) if no_dose_on_the_slope(lo, curve, doses, sd, t) => PlacedBy::Step,
                Some(_) if !(2.0 * t * fit.log10_ic50_se <= high - low) => {
                    PlacedBy::NarrowerThanFit
                }
                _ => return None,
            };
            fit.ic50_qualifier = Some(Ic50Qualifier::Within);
            fit.ic50_ci_low = 10f64.powf(low);
            fit.ic50_ci_high = 10f64.powf(high);
            fit.log10_ic50_se = if t.is_finite() && t > 0.0 {
                (high - low) / (2.0 * t)
            } else {
                f64::NAN
            };
            Some(by)
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
            None
        }
    }
}

/// The dose just below the crossing `u` (log10 concentration), when the next dose lies above
/// it (`None` at the ends of the range or with a dose at `u` itself).
fn bracket(u: f64, doses: &Collapsed) -> Option<usize> {
    let lo = doses.u.iter().rposition(|&d| d < u)?;
    doses.u.get(lo + 1).filter(|&&d| d > u).map(|_| lo)
}

/// Whether a falling curve's data are a step at the gap between doses `lo` and `lo + 1`: no
/// dose lies on the slope — the mean response at `lo` is not clearly below that of the doses
/// below it, and the mean at `lo + 1` not clearly above that of the doses above it
/// ("clearly": by more than t · sd / √n at that dose, as [`placement`] judges; a dose at the
/// end of the range has nothing to differ from). Any slope steeper than the one fitted then
/// fits the data as well, the fitted slope and plateaus rest on noise alone, and the
/// conditional interval of the IC50 is as meaningless as at the slope's bound.
fn no_dose_on_the_slope(lo: usize, curve: &Curve, doses: &Collapsed, sd: f64, t: f64) -> bool {
    if !(curve.top > curve.bottom) {
        return false;
    }
    let margin = |k: usize| {
        let m = t * sd / doses.count[k].sqrt();
        if m.is_finite() {
            m
        } else {
            0.0
        }
    };
    // The count-weighted mean response of the doses in `range` (none: `None`).
    let level = |range: std::ops::Range<usize>| {
        let n: f64 = doses.count[range.clone()].iter().sum();
        let sum: f64 = range.map(|k| doses.mean[k] * doses.count[k]).sum();
        (n > 0.0).then(|| sum / n)
    };
    let hi = lo + 1;
    let top_side = level(0..lo).is_none_or(|top| doses.mean[lo] >= top - margin(lo));
    let bottom_side =
        level(hi + 1..doses.u.len()).is_none_or(|bottom| doses.mean[hi] <= bottom + margin(hi));
    top_side && bottom_side
}

/// Where the data place the IC50 (log10 concentration) of a curve whose Hill slope is stopped
/// by its upper bound, or whose data are a step ([`no_dose_on_the_slope`]), from the doses alone: a falling curve is above 0.5 below its IC50 and
/// below 0.5 above it, so the IC50 lies above the highest dose at or below the fitted crossing
/// `u` whose mean response is clearly above 0.5 and below the lowest dose at or above `u` whose
/// mean is clearly below 0.5 ("clearly": by more than t · sd / √n at that dose); without such
/// a dose, the end of the tested range. The interval holds at least the gap between the two
/// doses that bracket `u`, and two gaps around a dose whose response is about 0.5. The
/// delta-method interval is no guide here: it is conditional on the bound, and a steeper
/// curve fits the same step from full to no response anywhere in the gap.
pub(super) fn placement(u: f64, doses: &Collapsed, sd: f64, t: f64) -> (f64, f64) {
    let clear = |k: usize| {
        let margin = t * sd / doses.count[k].sqrt();
        if margin.is_finite() {
            margin
        } else {
            0.0
        }
    };
    let n = doses.u.len();
    let low = (0..n)
        .rev()
        .filter(|&k| doses.u[k] <= u)
        .find(|&k| doses.mean[k] - 0.5 > clear(k))
        .map_or(doses.u[0], |k| doses.u[k]);
    let high = (0..n)
        .filter(|&k| doses.u[k] >= u)
        .find(|&k| 0.5 - doses.mean[k] > clear(k))
        .map_or(doses.u[n - 1], |k| doses.u[k]);
    (low.min(u), high.max(u))
}

#[cfg(test)]
mod tests {
    use super::{bracket, no_dose_on_the_slope, placement, Collapsed, Curve};

    #[test]
    fn a_step_has_no_dose_on_the_slope() {
        let doses = |mean: &[f64]| Collapsed {
            u: (0..mean.len()).map(|k| k as f64 * 0.5).collect(),
            mean: mean.to_vec(),
            count: vec![4.0; mean.len()],
            within_ss: 0.0,
        };
        let curve = Curve {
            top: 1.0,
            bottom: 0.0,
            log10_ec50: 1.2,
            hill: 6.0,
        };
        // Margin 2 · 0.05 / 2 = 0.05: 0.98 is on the top level of the doses below it, 0.03
        // on the bottom level of the doses above.
        let step = doses(&[1.0, 1.0, 0.98, 0.03, 0.0]);
        assert_eq!(bracket(1.2, &step), Some(2));
        assert!(no_dose_on_the_slope(2, &curve, &step, 0.05, 2.0));
        // A partial response at 1.0 (0.8, clearly below 1.0) or at 1.5 (0.2) is on the slope.
        assert!(!no_dose_on_the_slope(
            2,
            &curve,
            &doses(&[1.0, 1.0, 0.8, 0.03, 0.0]),
            0.05,
            2.0
        ));
        assert!(!no_dose_on_the_slope(
            2,
            &curve,
            &doses(&[1.0, 1.0, 0.98, 0.2, 0.0]),
            0.05,
            2.0
        ));
        // The lowest dose has nothing below it to differ from.
        assert_eq!(bracket(0.2, &step), Some(0));
        assert!(no_dose_on_the_slope(
            0,
            &curve,
            &doses(&[0.9, 0.02, 0.0, 0.0, 0.0]),
            0.05,
            2.0
        ));
        // A dose at the crossing itself, or a crossing beyond the doses: no gap.
        assert_eq!(bracket(1.0, &step), None);
        assert_eq!(bracket(2.5, &step), None);
        // A rising curve is no step of a falling one.
        let rising = Curve {
            top: 0.0,
            bottom: 1.0,
            ..curve
        };
        assert!(!no_dose_on_the_slope(2, &rising, &step, 0.05, 2.0));
    }

    #[test]
    fn placement_holds_the_doses_that_clearly_bracket_the_crossing() {
        let doses = |mean: &[f64]| Collapsed {
            u: (0..mean.len()).map(|k| k as f64 * 0.5).collect(),
            mean: mean.to_vec(),
            count: vec![4.0; mean.len()],
            within_ss: 0.0,
        };
        // Full growth up to 1.0, none from 1.5: the gap, wherever the fit put the crossing.
        let step = doses(&[1.0, 1.0, 0.98, 0.03, 0.0]);
        assert_eq!(placement(1.2, &step, 0.05, 2.0), (1.0, 1.5));
        assert_eq!(placement(1.45, &step, 0.05, 2.0), (1.0, 1.5));
        // A dose at about 0.5 (within 2 · 0.05 / 2 of it) does not place the IC50 on either
        // side of it: the two gaps around it.
        let half = doses(&[1.0, 1.0, 0.52, 0.03, 0.0]);
        assert_eq!(placement(1.02, &half, 0.05, 2.0), (0.5, 1.5));
        // Clearly above 0.5 at 1.0: the gap above it.
        let partial = doses(&[1.0, 1.0, 0.7, 0.03, 0.0]);
        assert_eq!(placement(1.1, &partial, 0.05, 2.0), (1.0, 1.5));
        // No dose clearly below 0.5 above the crossing: up to the highest dose.
        let shallow = doses(&[1.0, 1.0, 0.9, 0.6, 0.45]);
        assert_eq!(placement(1.9, &shallow, 0.05, 2.0), (1.5, 2.0));
    }
}
