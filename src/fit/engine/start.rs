//! Where the solver starts: dose means, the self-starter and the deterministic multi-start that
//! rescues a first fit stuck in a wrong basin. Deterministic so results never depend on threads.

use nalgebra::Vector4;

use super::super::model::{HILL, LOG10_EC50};
use super::super::solver::{BoundedLevenbergMarquardt, CurveData, Minimum};

/// A first fit explaining less than this share of the variance the best monotone curve
/// explains gets the multi-start.
pub(super) const POOR_CAPTURE: f64 = 0.8;

/// Iteration budget of each screened multi-start run.
pub(super) const SCREEN_ITERATIONS: u32 = 30;

/// Per-dose means, sorted by dose: the data the self-starter looks at.
pub(super) fn dose_means(u: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
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
pub(super) fn self_start(
    means: &[(f64, f64)],
    top: Option<f64>,
    bottom: Option<f64>,
) -> Vector4<f64> {
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

/// The best converged minimum over the starts, or the best of all if none converged.
pub(super) struct Search {
    pub(super) best: Option<Minimum>,
    pub(super) iterations: u32,
    pub(super) starts: u32,
}

impl Search {
    pub(super) fn run(
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

    pub(super) fn consider(&mut self, m: Minimum) {
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

    /// Screens a small deterministic grid of starts with a short iteration budget, then polishes
    /// only the most promising one: most of a multi-start's cost would otherwise go into
    /// crawling along the flat valleys of no-effect curves.
    pub(super) fn screen_grid(
        &mut self,
        solver: &mut BoundedLevenbergMarquardt,
        data: &CurveData,
        start: &Vector4<f64>,
        (u_min, u_max): (f64, f64),
        max_iterations: u32,
    ) {
        let width = u_max - u_min;
        let mut screened: Option<Minimum> = None;
        for fraction in [0.15, 0.5, 0.85] {
            for hill in [0.7, 3.0] {
                let mut theta = *start;
                theta[LOG10_EC50] = u_min + fraction * width;
                theta[HILL] = hill;
                let m = solver.minimize_within(data, &theta, SCREEN_ITERATIONS.min(max_iterations));
                self.iterations += m.iterations;
                self.starts += 1;
                if screened.is_none_or(|b| m.iterate.normal.sse < b.iterate.normal.sse) {
                    screened = Some(m);
                }
            }
        }
        if let Some(m) = screened {
            if m.termination.converged() {
                self.consider(m);
            } else {
                self.run(solver, data, &m.iterate.theta);
            }
        }
    }
}

/// Replicate points collapsed to one point per distinct dose.
pub(super) struct Collapsed {
    pub(super) u: Vec<f64>,
    pub(super) mean: Vec<f64>,
    pub(super) count: Vec<f64>,
    /// Σ over doses of Σ (y − mean)²: the SSE no curve can remove.
    pub(super) within_ss: f64,
}

pub(super) fn collapse_replicates(u: &[f64], y: &[f64]) -> Collapsed {
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
