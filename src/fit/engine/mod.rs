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

use super::model::{Curve, Model, HILL, LOG10_EC50};
use super::result::{CurveFit, FitStatus};
use super::solver::{BoundedLevenbergMarquardt, CurveData, Minimum, NormalEquations};
use super::{DosePoint, FitConfig, Plateaus, RobustLoss};
use flat::{f_test_p, flat, monotone_sse_bound, r_squared};
use robust::{irls, robust_note};
use start::{collapse_replicates, dose_means, self_start, Search, POOR_CAPTURE};
use uncertainty::{absolute_ic50, at_bound, standard_errors, Estimate, PlacedBy};

/// How close (relative) to its upper bound a Hill slope counts as stopped by it for placing
/// the IC50 by the doses.
const STEEP_TOLERANCE: f64 = 1e-3;

/// A concentration with four significant digits, for messages.
fn four_digits(x: f64) -> String {
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

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

/// One curve's fit, in order: screen the points, set up the search, then search, refit and
/// judge it (an early end is a row with its reason, or a flat curve).
pub(super) fn fit(points: &[DosePoint], config: &FitConfig) -> CurveFit {
    let mut notes = Vec::new();
    let mut fit = blank(config);
    let pts = screen(points, &mut notes);
    fit.n_points = pts.response.len();
    let problem = match Problem::set_up(&pts, points, config) {
        Ok(p) => p,
        Err(reason) => return finish(fit, FitStatus::InsufficientData, Some(reason), notes),
    };
    fit.dof = problem.dof;
    match problem.solve(&mut fit, &mut notes) {
        Ok(()) => finish(fit, FitStatus::Ok, None, notes),
        Err(Stop::Row(status, reason)) => finish(fit, status, Some(reason), notes),
        Err(Stop::Flat(reason)) => {
            let n = pts.response.len();
            flat(
                fit,
                problem.y_mean,
                problem.sst,
                n,
                problem.range,
                reason,
                notes,
            )
        }
    }
}

/// Why a curve's fitting ended before its statistics.
enum Stop {
    /// A row with this status and reason.
    Row(FitStatus, String),
    /// Not better than a constant: a flat curve, for this reason.
    Flat(String),
}

/// One curve's search set up: which parameters are free and their bounds, the dose means and
/// the spread of the responses.
struct Problem<'a> {
    pts: &'a Points,
    /// The points as given (for the outliers' note).
    points: &'a [DosePoint],
    config: &'a FitConfig,
    fixed_top: Option<f64>,
    fixed_bottom: Option<f64>,
    free: [bool; 4],
    n_free: usize,
    means: Vec<(f64, f64)>,
    dof: usize,
    /// The tested range, log10 concentration.
    range: (f64, f64),
    lower: Vector4<f64>,
    upper: Vector4<f64>,
    y_mean: f64,
    sst: f64,
}

impl<'a> Problem<'a> {
    /// The free parameters and their fixed values by model and plateaus, then the bounds; an
    /// error says why there are too few distinct doses.
    fn set_up(
        pts: &'a Points,
        points: &'a [DosePoint],
        config: &'a FitConfig,
    ) -> std::result::Result<Problem<'a>, String> {
        let s = config.settings();
        let n = pts.response.len();
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
            return Err(format!(
                "{} with {} plateaus needs at least {needed} distinct concentrations > 0 with a finite response, got {}",
                s.model,
                s.plateaus,
                means.len()
            ));
        }
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
        let y_mean = pts.response.iter().sum::<f64>() / n as f64;
        let sst: f64 = pts.response.iter().map(|y| (y - y_mean).powi(2)).sum();
        Ok(Problem {
            pts,
            points,
            config,
            fixed_top,
            fixed_bottom,
            free,
            n_free,
            means,
            dof: n - n_free,
            range: (u_min, u_max),
            lower,
            upper,
            y_mean,
            sst,
        })
    }

    /// The fitted points, each with weight 1.
    fn data(&self) -> CurveData<'a> {
        CurveData {
            log10_concentration: &self.pts.log10_concentration,
            response: &self.pts.response,
            weights: None,
            sse_offset: 0.0,
        }
    }

    /// Search, robust refit, goodness of fit, then the parameters and their uncertainty.
    fn solve(&self, fit: &mut CurveFit, notes: &mut Vec<String>) -> std::result::Result<(), Stop> {
        let s = self.config.settings();
        let mut solver =
            BoundedLevenbergMarquardt::new(self.free, self.lower, self.upper, s.max_iterations);
        let monotone_sse = self.rule_out_flat(fit)?;
        let best = self.search(&mut solver, monotone_sse, fit)?;
        let (theta, weighted) = self.refit_robustly(&mut solver, best, fit, notes)?;
        fit.converged = true;
        let curve = self.judge_against_a_constant(&theta, fit)?;
        self.parameters(&curve, &theta, &weighted, fit, notes);
        Ok(())
    }

    /// No monotone curve at all beats the constant: flat for certain, whatever a solver would
    /// find, so skip the solver (this is where no-effect curves would spend most of the time).
    /// Else the best monotone curve's SSE.
    fn rule_out_flat(&self, fit: &mut CurveFit) -> std::result::Result<f64, Stop> {
        let s = self.config.settings();
        let pts = self.pts;
        let monotone_sse = monotone_sse_bound(&pts.log10_concentration, &pts.response, &self.means);
        let monotone_p = f_test_p(self.sst, monotone_sse, self.n_free, self.dof);
        if monotone_p > s.flat_alpha {
            fit.f_test_p = monotone_p;
            fit.converged = true;
            return Err(Stop::Flat(format!(
                "not better than a constant: even the best monotone curve has F-test p = {monotone_p:.3} > {}; constant response {:.4}",
                s.flat_alpha, self.y_mean
            )));
        }
        Ok(monotone_sse)
    }

    /// The least-squares minimum: first from the self-starter, from a deterministic grid of
    /// starts when that looks poor. The search runs on dose means weighted by their counts
    /// (same SSE, normal equations and minimum; one model evaluation per dose instead of per
    /// replicate point).
    fn search(
        &self,
        solver: &mut BoundedLevenbergMarquardt,
        monotone_sse: f64,
        fit: &mut CurveFit,
    ) -> std::result::Result<Minimum, Stop> {
        let s = self.config.settings();
        let doses = collapse_replicates(&self.pts.log10_concentration, &self.pts.response);
        let search_data = CurveData {
            log10_concentration: &doses.u,
            response: &doses.mean,
            weights: Some(&doses.count),
            sse_offset: doses.within_ss,
        };
        let start = self_start(&self.means, self.fixed_top, self.fixed_bottom);
        let mut search = Search {
            best: None,
            iterations: 0,
            starts: 0,
        };
        search.run(solver, &search_data, &start);
        if self.looks_poor(search.best.as_ref(), monotone_sse) {
            search.screen_grid(solver, &search_data, &start, self.range, s.max_iterations);
        }
        let Some(best) = search.best else {
            let reason =
                "the model could not be evaluated at any start (non-finite sum of squares)";
            return Err(Stop::Row(FitStatus::Failed, reason.to_string()));
        };
        fit.iterations = search.iterations;
        if !best.termination.converged() {
            return Err(Stop::Row(
                FitStatus::Failed,
                format!(
                    "solver did not converge ({:?}) in {} iterations from {} start(s); best SSE {}",
                    best.termination, s.max_iterations, search.starts, best.iterate.normal.sse
                ),
            ));
        }
        Ok(best)
    }

    /// Poor: not converged, ec50 pinned to the edge of its range, or the curve explains clearly
    /// less of the variance than the best monotone curve does (a hint of a wrong basin).
    fn looks_poor(&self, best: Option<&Minimum>, monotone_sse: f64) -> bool {
        match best {
            None => true,
            Some(m) => {
                let theta = &m.iterate.theta;
                !m.termination.converged()
                    || theta[LOG10_EC50] <= self.lower[LOG10_EC50]
                    || theta[LOG10_EC50] >= self.upper[LOG10_EC50]
                    || (self.sst - m.iterate.normal.sse) < POOR_CAPTURE * (self.sst - monotone_sse)
            }
        }
    }

    /// With a robust loss, the IRLS refit from the least-squares minimum (its outliers noted);
    /// the parameters and the (weighted) normal equations the statistics use.
    fn refit_robustly(
        &self,
        solver: &mut BoundedLevenbergMarquardt,
        best: Minimum,
        fit: &mut CurveFit,
        notes: &mut Vec<String>,
    ) -> std::result::Result<(Vector4<f64>, NormalEquations), Stop> {
        let s = self.config.settings();
        if s.robust == RobustLoss::None {
            return Ok((best.iterate.theta, best.iterate.normal));
        }
        match irls(solver, &self.data(), best.iterate.theta, s) {
            Ok(robust) => {
                fit.iterations += robust.iterations;
                fit.outliers = robust.outliers.iter().map(|&i| self.pts.index[i]).collect();
                fit.n_outliers = fit.outliers.len();
                notes.push(robust_note(&robust, &fit.outliers, self.points, s));
                Ok((robust.theta, robust.normal))
            }
            Err((iterations, reason)) => {
                fit.iterations += iterations;
                Err(Stop::Row(FitStatus::Failed, reason))
            }
        }
    }

    /// The fitted curve if its parameters are finite and it beats a constant (the mean
    /// response) by the F-test; its r² and RMSE either way.
    fn judge_against_a_constant(
        &self,
        theta: &Vector4<f64>,
        fit: &mut CurveFit,
    ) -> std::result::Result<Curve, Stop> {
        let s = self.config.settings();
        let n = self.pts.response.len();
        let curve = Curve::from_vector(theta);
        let sse: f64 = self.data().sse(theta);
        if !sse.is_finite() || theta.iter().any(|v| !v.is_finite()) {
            let reason = "non-finite fitted parameters".to_string();
            return Err(Stop::Row(FitStatus::Failed, reason));
        }
        fit.r2 = r_squared(sse, self.sst);
        fit.rmse = (sse / n as f64).sqrt();
        let f_p = f_test_p(self.sst, sse, self.n_free, self.dof);
        fit.f_test_p = f_p;
        if !(f_p <= s.flat_alpha) {
            return Err(Stop::Flat(format!(
                "{} not better than a constant (F-test p = {:.3} > {}); constant response {:.4}",
                s.model, f_p, s.flat_alpha, self.y_mean
            )));
        }
        Ok(curve)
    }

    /// The curve's parameters, AUC, standard errors and absolute IC50, and notes on a rising
    /// curve and on estimates stopped by a bound.
    fn parameters(
        &self,
        curve: &Curve,
        theta: &Vector4<f64>,
        weighted: &NormalEquations,
        fit: &mut CurveFit,
        notes: &mut Vec<String>,
    ) {
        let (u_min, u_max) = self.range;
        fit.top = curve.top;
        fit.bottom = curve.bottom;
        fit.ec50 = curve.ec50();
        fit.hill = curve.hill;
        fit.auc = curve.mean_over_log10(u_min, u_max);
        fit.aac = 1.0 - fit.auc;
        // Parameters stopped by a bound count as fixed, so the errors are conditional on them
        // (the message names them).
        let mut estimable = self.free;
        for (i, e) in estimable.iter_mut().enumerate() {
            if theta[i] <= self.lower[i] || theta[i] >= self.upper[i] {
                *e = false;
            }
        }
        // A slope stopped by its upper bound (or within 0.1 % of it: the solver may stop
        // there with a Wald interval just as meaningless), or data with no dose on the slope:
        // the doses place the IC50 (`placement`), judged against the residual SD of the fit.
        let hill_at_bound =
            self.free[HILL] && theta[HILL] >= self.upper[HILL] * (1.0 - STEEP_TOLERANCE);
        let doses = self.free[HILL]
            .then(|| collapse_replicates(&self.pts.log10_concentration, &self.pts.response));
        let n = self.pts.response.len() as f64;
        let residual_sd = fit.rmse * (n / self.dof as f64).sqrt();
        let estimate = Estimate {
            curve,
            theta,
            estimable,
            t: self.config.t_quantile(self.dof),
            range: self.range,
            doses: doses.as_ref().map(|doses| (doses, residual_sd)),
            hill_at_bound,
        };
        let covariance = standard_errors(fit, &estimate, weighted, self.dof, notes);
        let placed_by = absolute_ic50(fit, &estimate, covariance.as_ref());
        if curve.top < curve.bottom {
            notes.push("fitted curve rises with concentration (top < bottom)".to_string());
        }
        let bounds = at_bound(theta, &self.free, &self.lower, &self.upper);
        if !bounds.is_empty() {
            notes.push(format!(
                "{} (estimate limited by the bound)",
                bounds.join(", ")
            ));
        }
        if let Some(by) = placed_by {
            let (low, high) = (four_digits(fit.ic50_ci_low), four_digits(fit.ic50_ci_high));
            notes.push(match by {
                PlacedBy::SlopeAtBound => format!(
                    "with the slope at its upper bound {} the doses place ic50 only within {low}–{high} (qualifier ~)",
                    self.upper[HILL]
                ),
                PlacedBy::Step => format!(
                    "with no dose on the slope (a step between two doses) the doses place ic50 only within {low}–{high} (qualifier ~)"
                ),
                PlacedBy::NarrowerThanFit => format!(
                    "the doses place ic50 within {low}–{high}, more narrowly than the fit's own interval (qualifier ~)"
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::robust::robust_weight;
    use super::*;

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
