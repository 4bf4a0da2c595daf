//! One curve from points to a [`CurveFit`]. This file is the order of events — screen the
//! points, decide which parameters are free, test for a flat curve, search, refit robustly,
//! then the statistics — and each step lives in its own file:
//! [`start`] (start values and the multi-start), [`flat`] (the F-tests against a constant),
//! [`robust`] (IRLS), [`uncertainty`] (covariance, standard errors, CIs, censored ic50).

mod flat;
mod robust;
mod start;
mod uncertainty;

use nalgebra::Vector4;

use super::model::{Curve, Model, LOG10_EC50};
use super::result::{CurveFit, FitStatus};
use super::solver::{BoundedLevenbergMarquardt, CurveData};
use super::{DosePoint, FitConfig, Plateaus, RobustLoss};
use flat::{f_test_p, flat, monotone_sse_bound, r_squared};
use robust::{irls, robust_note};
use start::{collapse_replicates, dose_means, self_start, Search, POOR_CAPTURE};
use uncertainty::{absolute_ic50, at_bound, standard_errors};

/// Usable points of a curve, as the solver needs them.
struct Points {
    log10_concentration: Vec<f64>,
    response: Vec<f64>,
    /// Index of each usable point in the caller's slice.
    index: Vec<usize>,
    /// Highest and lowest finite response including untreated points (for observed plateaus).
    observed_max: f64,
    observed_min: f64,
}

fn screen(points: &[DosePoint], notes: &mut Vec<String>) -> Points {
    let n = points.len();
    let mut out = Points {
        log10_concentration: Vec::with_capacity(n),
        response: Vec::with_capacity(n),
        index: Vec::with_capacity(n),
        observed_max: f64::NEG_INFINITY,
        observed_min: f64::INFINITY,
    };
    let (mut non_finite, mut untreated, mut negative) = (0, 0, 0);
    for (i, p) in points.iter().enumerate() {
        if !p.concentration.is_finite() || !p.response.is_finite() {
            non_finite += 1;
            continue;
        }
        out.observed_max = out.observed_max.max(p.response);
        out.observed_min = out.observed_min.min(p.response);
        if p.concentration == 0.0 {
            untreated += 1;
        } else if p.concentration < 0.0 {
            negative += 1;
        } else {
            out.log10_concentration.push(p.concentration.log10());
            out.response.push(p.response);
            out.index.push(i);
        }
    }
    if non_finite > 0 {
        notes.push(format!(
            "{non_finite} point(s) with a non-finite concentration or response excluded"
        ));
    }
    if untreated > 0 {
        notes.push(format!(
            "{untreated} point(s) at concentration 0 not fitted (log-dose model; they count only for observed plateaus)"
        ));
    }
    if negative > 0 {
        notes.push(format!(
            "{negative} point(s) with a negative concentration excluded"
        ));
    }
    out
}

fn blank(config: &FitConfig) -> CurveFit {
    let s = config.settings();
    CurveFit {
        cell_line: String::new(),
        drug: String::new(),
        n_points: 0,
        top: f64::NAN,
        bottom: f64::NAN,
        ec50: f64::NAN,
        hill: f64::NAN,
        ic50: f64::NAN,
        ic50_qualifier: None,
        ic50_ci_low: f64::NAN,
        ic50_ci_high: f64::NAN,
        auc: f64::NAN,
        aac: f64::NAN,
        r2: f64::NAN,
        rmse: f64::NAN,
        status: FitStatus::Failed,
        message: String::new(),
        model: s.model,
        plateaus: s.plateaus,
        robust: s.robust,
        log10_ec50_se: f64::NAN,
        log10_ic50_se: f64::NAN,
        log10_auc_se: f64::NAN,
        bottom_se: f64::NAN,
        ec50_ci_low: f64::NAN,
        ec50_ci_high: f64::NAN,
        f_test_p: f64::NAN,
        dof: 0,
        n_outliers: 0,
        outliers: Vec::new(),
        converged: false,
        iterations: 0,
    }
}

fn finish(
    mut fit: CurveFit,
    status: FitStatus,
    reason: Option<String>,
    notes: Vec<String>,
) -> CurveFit {
    fit.status = status;
    let mut parts: Vec<String> = reason.into_iter().collect();
    parts.extend(notes);
    fit.message = parts.join("; ");
    fit
}

/// The row of a curve whose fit panicked (a bug in this crate, reported rather than fatal).
pub(super) fn internal_error(config: &FitConfig, n_points: usize, what: &str) -> CurveFit {
    let mut fit = blank(config);
    fit.n_points = n_points;
    let reason = format!("internal error while fitting ({what}); please report this curve");
    finish(fit, FitStatus::Failed, Some(reason), Vec::new())
}

pub(super) fn fit(points: &[DosePoint], config: &FitConfig) -> CurveFit {
    let s = config.settings();
    let mut notes = Vec::new();
    let mut fit = blank(config);
    let pts = screen(points, &mut notes);
    let n = pts.response.len();
    fit.n_points = n;

    // Which parameters are free, and the fixed values of the others.
    let observed = s.plateaus == Plateaus::Observed;
    let (fixed_top, fixed_bottom) = match s.model {
        Model::Ll4 if observed => (Some(pts.observed_max), Some(pts.observed_min)),
        Model::Ll4 => (None, None),
        Model::Ll3 if observed => (Some(1.0), Some(pts.observed_min)),
        Model::Ll3 => (Some(1.0), None),
        Model::Ll2 => (Some(1.0), Some(0.0)),
    };
    let free = [fixed_top.is_none(), fixed_bottom.is_none(), true, true];
    let n_free = free.iter().filter(|f| **f).count();

    let means = dose_means(&pts.log10_concentration, &pts.response);
    let needed = n_free + 1;
    if means.len() < needed {
        let reason = format!(
            "{} with {} plateaus needs at least {needed} distinct concentrations > 0 with a finite response, got {}",
            s.model,
            s.plateaus,
            means.len()
        );
        return finish(fit, FitStatus::InsufficientData, Some(reason), notes);
    }
    let dof = n - n_free;
    fit.dof = dof;
    let u_min = means[0].0;
    let u_max = means[means.len() - 1].0;

    let lower = Vector4::new(
        s.top_bounds.0,
        s.bottom_bounds.0,
        u_min - s.ec50_margin_decades,
        s.hill_bounds.0,
    );
    let upper = Vector4::new(
        s.top_bounds.1,
        s.bottom_bounds.1,
        u_max + s.ec50_margin_decades,
        s.hill_bounds.1,
    );
    let mut solver = BoundedLevenbergMarquardt::new(free, lower, upper, s.max_iterations);
    let data = CurveData {
        log10_concentration: &pts.log10_concentration,
        response: &pts.response,
        weights: None,
        sse_offset: 0.0,
    };
    // The least-squares search runs on dose means weighted by their counts (same SSE, normal
    // equations and minimum; one model evaluation per dose instead of per replicate point).
    let doses = collapse_replicates(&pts.log10_concentration, &pts.response);
    let search_data = CurveData {
        log10_concentration: &doses.u,
        response: &doses.mean,
        weights: Some(&doses.count),
        sse_offset: doses.within_ss,
    };
    let y_mean = pts.response.iter().sum::<f64>() / n as f64;
    let sst: f64 = pts.response.iter().map(|y| (y - y_mean).powi(2)).sum();

    // No monotone curve at all beats the constant: flat for certain, whatever a solver would
    // find, so skip the solver (this is where no-effect curves would spend most of the time).
    let monotone_sse = monotone_sse_bound(&pts.log10_concentration, &pts.response, &means);
    let monotone_p = f_test_p(sst, monotone_sse, n_free, dof);
    if monotone_p > s.flat_alpha {
        fit.f_test_p = monotone_p;
        fit.converged = true;
        let reason = format!(
            "not better than a constant: even the best monotone curve has F-test p = {monotone_p:.3} > {}; constant response {y_mean:.4}",
            s.flat_alpha
        );
        return flat(fit, y_mean, sst, n, (u_min, u_max), reason, notes);
    }

    // First fit from the self-starter; a deterministic grid of starts when it looks poor.
    let start = self_start(&means, fixed_top, fixed_bottom);
    let mut search = Search {
        best: None,
        iterations: 0,
        starts: 0,
    };
    search.run(&mut solver, &search_data, &start);
    // Poor: not converged, ec50 pinned to the edge of its range, or the curve explains clearly
    // less of the variance than the best monotone curve does (a hint of a wrong basin).
    let poor = match &search.best {
        None => true,
        Some(m) => {
            let theta = &m.iterate.theta;
            !m.termination.converged()
                || theta[LOG10_EC50] <= lower[LOG10_EC50]
                || theta[LOG10_EC50] >= upper[LOG10_EC50]
                || (sst - m.iterate.normal.sse) < POOR_CAPTURE * (sst - monotone_sse)
        }
    };
    if poor {
        search.screen_grid(
            &mut solver,
            &search_data,
            &start,
            (u_min, u_max),
            s.max_iterations,
        );
    }
    let Some(best) = search.best else {
        let reason =
            "the model could not be evaluated at any start (non-finite sum of squares)".to_string();
        return finish(fit, FitStatus::Failed, Some(reason), notes);
    };
    fit.iterations = search.iterations;
    if !best.termination.converged() {
        let reason = format!(
            "solver did not converge ({:?}) in {} iterations from {} start(s); best SSE {}",
            best.termination, s.max_iterations, search.starts, best.iterate.normal.sse
        );
        return finish(fit, FitStatus::Failed, Some(reason), notes);
    }
    let mut theta = best.iterate.theta;
    let mut weighted = best.iterate.normal;

    if s.robust != RobustLoss::None {
        match irls(&mut solver, &data, theta, s) {
            Ok(robust) => {
                fit.iterations += robust.iterations;
                theta = robust.theta;
                weighted = robust.normal;
                fit.outliers = robust.outliers.iter().map(|&i| pts.index[i]).collect();
                fit.n_outliers = fit.outliers.len();
                notes.push(robust_note(&robust, &fit.outliers, points, s));
            }
            Err((iterations, reason)) => {
                fit.iterations += iterations;
                return finish(fit, FitStatus::Failed, Some(reason), notes);
            }
        }
    }
    fit.converged = true;

    let curve = Curve::from_vector(&theta);
    let sse: f64 = data.sse(&theta);
    if !sse.is_finite() || theta.iter().any(|v| !v.is_finite()) {
        return finish(
            fit,
            FitStatus::Failed,
            Some("non-finite fitted parameters".to_string()),
            notes,
        );
    }
    fit.r2 = r_squared(sse, sst);
    fit.rmse = (sse / n as f64).sqrt();

    // F-test of the model against a constant (the mean response).
    let f_p = f_test_p(sst, sse, n_free, dof);
    fit.f_test_p = f_p;
    if !(f_p <= s.flat_alpha) {
        let reason = format!(
            "{} not better than a constant (F-test p = {:.3} > {}); constant response {:.4}",
            s.model, f_p, s.flat_alpha, y_mean
        );
        return flat(fit, y_mean, sst, n, (u_min, u_max), reason, notes);
    }

    fit.top = curve.top;
    fit.bottom = curve.bottom;
    fit.ec50 = curve.ec50();
    fit.hill = curve.hill;
    fit.auc = curve.mean_over_log10(u_min, u_max);
    fit.aac = 1.0 - fit.auc;

    // Parameters stopped by a bound count as fixed, so the errors are conditional on them (the
    // message names them).
    let mut estimable = free;
    for (i, e) in estimable.iter_mut().enumerate() {
        if theta[i] <= lower[i] || theta[i] >= upper[i] {
            *e = false;
        }
    }
    let t = config.t_quantile(dof);
    let covariance = standard_errors(
        &mut fit,
        &curve,
        &theta,
        &weighted,
        &estimable,
        t,
        dof,
        (u_min, u_max),
        &mut notes,
    );
    absolute_ic50(
        &mut fit,
        &curve,
        covariance.as_ref(),
        &estimable,
        t,
        (u_min, u_max),
    );
    if curve.top < curve.bottom {
        notes.push("fitted curve rises with concentration (top < bottom)".to_string());
    }
    let bounds = at_bound(&theta, &free, &lower, &upper);
    if !bounds.is_empty() {
        notes.push(format!(
            "{} (estimate limited by the bound)",
            bounds.join(", ")
        ));
    }
    finish(fit, FitStatus::Ok, None, notes)
}

#[cfg(test)]
mod tests {
    use super::robust::robust_weight;
    use super::*;
    use crate::fit::model::HILL;

    #[test]
    fn self_start_finds_slope_and_midpoint_of_an_exact_curve() {
        let truth = Curve {
            top: 1.0,
            bottom: 0.0,
            log10_ec50: -0.5,
            hill: 1.3,
        };
        let means: Vec<(f64, f64)> = (0..9)
            .map(|i| {
                let u = -3.0 + 0.5 * i as f64;
                (u, truth.response_at_log10(u))
            })
            .collect();
        let start = self_start(&means, Some(1.0), Some(0.0));
        // Padding the plateaus biases the logit slightly; the start only needs to be close.
        assert!((start[LOG10_EC50] + 0.5).abs() < 0.15, "{start}");
        assert!((start[HILL] - 1.3).abs() < 0.4, "{start}");
    }

    #[test]
    fn monotone_bound_pools_adjacent_violators() {
        // Means 1, 3, 2 (one point each): best non-increasing fit 2, 2, 2 (SS 2), best
        // non-decreasing fit 1, 2.5, 2.5 (SS 0.5).
        let u = [0.0, 1.0, 2.0];
        let y = [1.0, 3.0, 2.0];
        let bound = monotone_sse_bound(&u, &y, &dose_means(&u, &y));
        assert!((bound - 0.5).abs() < 1e-12, "{bound}");
        // Monotone means: only the scatter within doses remains.
        let u = [0.0, 0.0, 1.0, 1.0, 2.0];
        let y = [1.0, 0.8, 0.5, 0.7, 0.1];
        let bound = monotone_sse_bound(&u, &y, &dose_means(&u, &y));
        assert!((bound - 0.04).abs() < 1e-12, "{bound}");
    }

    #[test]
    fn monotone_bound_never_exceeds_a_fitted_sse() {
        use crate::fit::synthetic::{synthetic_curve, SyntheticDesign};
        let design = SyntheticDesign {
            noise_sd: 0.1,
            ..SyntheticDesign::default()
        };
        let config = FitConfig::default();
        for i in 0..300 {
            let c = synthetic_curve(&design, 77, i).unwrap();
            let fit = fit(&c.input.points, &config);
            if fit.status != FitStatus::Ok {
                continue;
            }
            let u: Vec<f64> = c
                .input
                .points
                .iter()
                .map(|p| p.concentration.log10())
                .collect();
            let y: Vec<f64> = c.input.points.iter().map(|p| p.response).collect();
            let curve = Curve {
                top: fit.top,
                bottom: fit.bottom,
                log10_ec50: fit.ec50.log10(),
                hill: fit.hill,
            };
            let sse: f64 = u
                .iter()
                .zip(&y)
                .map(|(&u, &y)| (curve.response_at_log10(u) - y).powi(2))
                .sum();
            let bound = monotone_sse_bound(&u, &y, &dose_means(&u, &y));
            assert!(
                bound <= sse * (1.0 + 1e-12),
                "curve {i}: bound {bound} > fitted SSE {sse}"
            );
        }
    }

    #[test]
    fn dose_means_pool_replicates() {
        let m = dose_means(&[1.0, 0.0, 1.0, 0.0], &[0.2, 1.0, 0.4, 0.8]);
        assert_eq!(m.len(), 2);
        assert!((m[0].1 - 0.9).abs() < 1e-15 && (m[1].1 - 0.3).abs() < 1e-15);
    }

    #[test]
    fn huber_and_cauchy_downweight_large_residuals() {
        assert_eq!(robust_weight(RobustLoss::Huber, 1.0), 1.0);
        assert!((robust_weight(RobustLoss::Huber, 2.69) - 0.5).abs() < 1e-12);
        assert!(robust_weight(RobustLoss::Cauchy, 10.0) < 0.06);
    }
}
