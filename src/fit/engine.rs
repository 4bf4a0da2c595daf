//! One curve from points to a [`CurveFit`]: point screening, start values, the solver with a
//! deterministic multi-start, optional IRLS, and the statistics of the result.

use nalgebra::{Matrix4, Vector4};
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::model::{Curve, Model, BOTTOM, HILL, LOG10_EC50, PARAMETER_NAMES, TOP};
use super::result::{CurveFit, FitStatus, Ic50Qualifier};
use super::solver::{BoundedLevenbergMarquardt, CurveData, Minimum, NormalEquations};
use super::{DosePoint, FitConfig, FitSettings, Plateaus, RobustLoss};

/// Huber tuning constant, in robust standard deviations (95 % efficiency under normal errors).
const HUBER_K: f64 = 1.345;
/// Cauchy tuning constant, in robust standard deviations (95 % efficiency under normal errors).
const CAUCHY_C: f64 = 2.385;
/// MAD → standard deviation under normal errors.
const MAD_TO_SD: f64 = 1.4826;
/// Most IRLS rounds before giving up on the weights settling.
const MAX_IRLS_ROUNDS: u32 = 30;
/// A first fit explaining less than this share of the variance the best monotone curve
/// explains gets the multi-start.
const POOR_CAPTURE: f64 = 0.8;
/// Iteration budget of each screened multi-start run.
const SCREEN_ITERATIONS: u32 = 30;

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

/// Per-dose means, sorted by dose: the data the self-starter looks at.
fn dose_means(u: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut pairs: Vec<(f64, f64)> = u.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut means: Vec<(f64, f64)> = Vec::new();
    let mut count = 0.0;
    for (u, y) in pairs {
        match means.last_mut() {
            Some(last) if last.0 == u => {
                count += 1.0;
                last.1 += (y - last.1) / count;
            }
            _ => {
                means.push((u, y));
                count = 1.0;
            }
        }
    }
    means
}

/// drc-style self-starting values: plateaus from the extreme dose means, then a straight-line
/// fit of logit((top − y) / (y − bottom)) against log10 dose for slope and midpoint.
fn self_start(means: &[(f64, f64)], top: Option<f64>, bottom: Option<f64>) -> Vector4<f64> {
    let max = means.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    let min = means.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let top0 = top.unwrap_or(max);
    let bottom0 = bottom.unwrap_or(min);
    // Widen a little so the extreme means have a finite logit.
    let pad = 0.05 * (top0 - bottom0).abs().max(1e-3);
    let (hi, lo) = if top0 >= bottom0 {
        (top0 + pad, bottom0 - pad)
    } else {
        (bottom0 + pad, top0 - pad)
    };
    // Straight-line fit of the logit on the informative middle of the curve first (the padded
    // extremes would flatten the slope); all means within the padded range if that is too few.
    let logit_line = |inner: f64| {
        let (mut n, mut su, mut sz, mut suu, mut suz) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(u, y) in means {
            let fraction = (y - lo) / (hi - lo);
            if fraction > inner && fraction < 1.0 - inner {
                // For a falling curve z = ln((top − y)/(y − bottom)) = ln10 · hill · (u − c).
                let z = if top0 >= bottom0 {
                    ((hi - y) / (y - lo)).ln()
                } else {
                    ((y - lo) / (hi - y)).ln()
                };
                n += 1.0;
                su += u;
                sz += z;
                suu += u * u;
                suz += u * z;
            }
        }
        (n, su, sz, suu, suz)
    };
    let mut sums = logit_line(0.1);
    if sums.0 < 2.0 {
        sums = logit_line(0.0);
    }
    let (n, su, sz, suu, suz) = sums;
    let u_mid = 0.5 * (means[0].0 + means[means.len() - 1].0);
    let denominator = n * suu - su * su;
    let (mut c0, mut h0) = (u_mid, 1.0);
    if n >= 2.0 && denominator > 0.0 {
        let slope = (n * suz - su * sz) / denominator;
        let intercept = (sz - slope * su) / n;
        if slope > 0.0 && slope.is_finite() {
            h0 = slope / std::f64::consts::LN_10;
            c0 = -intercept / slope;
        }
    }
    Vector4::new(top0, bottom0, c0, h0)
}

/// Smallest SSE any monotone (non-increasing or non-decreasing) function of dose can reach:
/// the within-dose sum of squares plus the weighted isotonic regression (pool adjacent
/// violators) of the dose means. Every log-logistic curve with hill > 0 is monotone, so no fit
/// can go below this.
fn monotone_sse_bound(u: &[f64], y: &[f64], means: &[(f64, f64)]) -> f64 {
    let mut counts = vec![0.0; means.len()];
    let mut within = 0.0;
    for (&u, &y) in u.iter().zip(y) {
        let k = means.partition_point(|m| m.0 < u);
        counts[k] += 1.0;
        within += (y - means[k].1).powi(2);
    }
    let isotonic = |sign: f64| {
        // Blocks of (weighted mean, weight, first index, last index) for sign·mean non-increasing.
        let mut blocks: Vec<(f64, f64)> = Vec::with_capacity(means.len());
        let mut members: Vec<usize> = Vec::with_capacity(means.len());
        for (k, m) in means.iter().enumerate() {
            blocks.push((sign * m.1, counts[k]));
            members.push(1);
            while blocks.len() > 1 && blocks[blocks.len() - 2].0 < blocks[blocks.len() - 1].0 {
                let (v2, w2) = blocks.pop().expect("two blocks");
                let n2 = members.pop().expect("two blocks");
                let (v1, w1) = blocks.pop().expect("two blocks");
                let n1 = members.pop().expect("two blocks");
                blocks.push(((v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2));
                members.push(n1 + n2);
            }
        }
        let mut between = 0.0;
        let mut k = 0;
        for ((v, _), n) in blocks.iter().zip(&members) {
            for _ in 0..*n {
                between += counts[k] * (sign * means[k].1 - v).powi(2);
                k += 1;
            }
        }
        between
    };
    within + isotonic(1.0).min(isotonic(-1.0))
}

/// p-value of the F-test of a model with `n_free` parameters and SSE `sse` against a constant.
fn f_test_p(sst: f64, sse: f64, n_free: usize, dof: usize) -> f64 {
    let df_model = (n_free - 1) as f64;
    if !(sst > 0.0) {
        1.0
    } else if sse <= 0.0 {
        0.0
    } else {
        let f_stat = ((sst - sse) / df_model) / (sse / dof as f64);
        if f_stat <= 0.0 {
            1.0
        } else {
            FisherSnedecor::new(df_model, dof as f64).map_or(f64::NAN, |d| d.sf(f_stat))
        }
    }
}

/// Reports a curve as `flat`: the constant the data support, with ic50 censored on its side.
fn flat(
    mut fit: CurveFit,
    y_mean: f64,
    sst: f64,
    n: usize,
    (u_min, u_max): (f64, f64),
    reason: String,
    notes: Vec<String>,
) -> CurveFit {
    fit.top = y_mean;
    fit.bottom = y_mean;
    fit.auc = y_mean;
    fit.aac = 1.0 - y_mean;
    fit.r2 = 0.0;
    fit.rmse = (sst / n as f64).sqrt();
    let (q, ic50) = if y_mean >= 0.5 {
        (Ic50Qualifier::Greater, 10f64.powf(u_max))
    } else {
        (Ic50Qualifier::Less, 10f64.powf(u_min))
    };
    fit.ic50 = ic50;
    fit.ic50_qualifier = Some(q);
    finish(fit, FitStatus::Flat, Some(reason), notes)
}

/// The best converged minimum over the starts, or the best of all if none converged.
struct Search {
    best: Option<Minimum>,
    iterations: u32,
    starts: u32,
}

impl Search {
    fn run(
        &mut self,
        solver: &mut BoundedLevenbergMarquardt,
        data: &CurveData,
        start: &Vector4<f64>,
    ) {
        let m = solver.minimize(data, start);
        self.iterations += m.iterations;
        self.starts += 1;
        self.consider(m);
    }

    fn consider(&mut self, m: Minimum) {
        let better = match &self.best {
            None => true,
            Some(b) => match (m.termination.converged(), b.termination.converged()) {
                (true, false) => true,
                (false, true) => false,
                _ => m.iterate.normal.sse < b.iterate.normal.sse,
            },
        };
        if better && m.iterate.normal.sse.is_finite() {
            self.best = Some(m);
        }
    }
}

fn at_bound(
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

fn r_squared(sse: f64, sst: f64) -> f64 {
    if sst > 0.0 {
        1.0 - sse / sst
    } else {
        f64::NAN
    }
}

fn median(values: &mut [f64]) -> f64 {
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
fn robust_scale(residuals: &[f64]) -> f64 {
    let mut abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    MAD_TO_SD * median(&mut abs)
}

fn robust_weight(loss: RobustLoss, standardized: f64) -> f64 {
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

/// Inverse of JᵀJ restricted to the free parameters (zero rows/columns for fixed ones).
fn free_inverse(jtj: &Matrix4<f64>, free: &[bool; 4]) -> Option<Matrix4<f64>> {
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

/// The row of a curve whose fit panicked (a bug in this crate, reported rather than fatal).
pub(super) fn internal_error(config: &FitConfig, n_points: usize, what: &str) -> CurveFit {
    let mut fit = blank(config);
    fit.n_points = n_points;
    let reason = format!("internal error while fitting ({what}); please report this curve");
    finish(fit, FitStatus::Failed, Some(reason), Vec::new())
}

/// Outcome of a robust refit.
struct Robust {
    theta: Vector4<f64>,
    /// Weighted SSE and normal equations at `theta` (for the covariance).
    normal: NormalEquations,
    iterations: u32,
    rounds: u32,
    /// The weights still changed at the round limit.
    unsettled: bool,
    /// Indices (into the fitted points) of points beyond the outlier threshold.
    outliers: Vec<usize>,
}

/// Replicate points collapsed to one point per distinct dose.
struct Collapsed {
    u: Vec<f64>,
    mean: Vec<f64>,
    count: Vec<f64>,
    /// Σ over doses of Σ (y − mean)²: the SSE no curve can remove.
    within_ss: f64,
}

fn collapse_replicates(u: &[f64], y: &[f64]) -> Collapsed {
    let mut order: Vec<usize> = (0..u.len()).collect();
    order.sort_by(|&a, &b| u[a].total_cmp(&u[b]).then(a.cmp(&b)));
    let mut out = Collapsed {
        u: Vec::new(),
        mean: Vec::new(),
        count: Vec::new(),
        within_ss: 0.0,
    };
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && u[order[j]] == u[order[i]] {
            j += 1;
        }
        let group = &order[i..j];
        let n = group.len() as f64;
        let mean = group.iter().map(|&k| y[k]).sum::<f64>() / n;
        out.within_ss += group.iter().map(|&k| (y[k] - mean).powi(2)).sum::<f64>();
        out.u.push(u[order[i]]);
        out.mean.push(mean);
        out.count.push(n);
        i = j;
    }
    out
}

fn residuals(data: &CurveData, theta: &Vector4<f64>) -> Vec<f64> {
    let curve = Curve::from_vector(theta);
    data.log10_concentration
        .iter()
        .zip(data.response)
        .map(|(&u, &y)| curve.response_at_log10(u) - y)
        .collect()
}

/// Iteratively reweighted least squares from the least-squares optimum `theta`, each round
/// warm-started from the last. Err carries the iterations spent and the reason.
fn irls(
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
fn robust_note(
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
        // Screen a small deterministic grid of starts with a short iteration budget, then
        // polish only the most promising one: most of a multi-start's cost would otherwise go
        // into crawling along the flat valleys of no-effect curves.
        let width = u_max - u_min;
        let mut screened: Option<Minimum> = None;
        for fraction in [0.15, 0.5, 0.85] {
            for hill in [0.7, 3.0] {
                let mut theta = start;
                theta[LOG10_EC50] = u_min + fraction * width;
                theta[HILL] = hill;
                let m = solver.minimize_within(
                    &search_data,
                    &theta,
                    SCREEN_ITERATIONS.min(s.max_iterations),
                );
                search.iterations += m.iterations;
                search.starts += 1;
                if screened.is_none_or(|b| m.iterate.normal.sse < b.iterate.normal.sse) {
                    screened = Some(m);
                }
            }
        }
        if let Some(m) = screened {
            if m.termination.converged() {
                search.consider(m);
            } else {
                search.run(&mut solver, &search_data, &m.iterate.theta);
            }
        }
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

    // Covariance s² (JᵀJ)⁻¹ over the free parameters not stopped by a bound (those count as
    // fixed, so the errors are conditional on them; the message names them); with IRLS weights,
    // the weighted version.
    let mut estimable = free;
    for (i, e) in estimable.iter_mut().enumerate() {
        if theta[i] <= lower[i] || theta[i] >= upper[i] {
            *e = false;
        }
    }
    let t = config.t_quantile(dof);
    let covariance = if dof > 0 {
        free_inverse(&weighted.jtj, &estimable).map(|inv| inv * (weighted.sse / dof as f64))
    } else {
        None
    };
    if covariance.is_none() {
        notes.push(
            "standard errors unavailable (singular JᵀJ or no residual degrees of freedom)"
                .to_string(),
        );
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
                let (mut up, mut down) = (theta, theta);
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

    // Absolute IC50 with its censoring qualifier.
    let crossing = curve.log10_crossing(0.5);
    match crossing {
        Some(u) if (u_min..=u_max).contains(&u) => {
            fit.ic50 = 10f64.powf(u);
            fit.ic50_qualifier = Some(Ic50Qualifier::Equal);
            if let Some(cov) = &covariance {
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
            let c = synthetic_curve(&design, 77, i);
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
