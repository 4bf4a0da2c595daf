//! Do two curves share one ec50? The extra-sum-of-squares F-test that Prism reports when it
//! compares ec50s: fit both curves with separate ec50s, then with one shared ec50 (every other
//! parameter still per curve), and test whether the extra parameter buys a real drop in SSE.
//!
//! The shared fit is profiled: for a trial shared log10 ec50 each curve is refitted with its
//! ec50 fixed, and a golden-section search over the trial value finds the joint optimum. That
//! keeps every fit on the same bounded solver as the single-curve fits.

use nalgebra::Vector4;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::model::{Model, LOG10_EC50};
use super::solver::{BoundedLevenbergMarquardt, CurveData, Termination};
use super::{CurveFit, DosePoint, FitConfig, FitStatus, Plateaus};

/// The outcome of the shared-ec50 test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SharedEc50Test {
    /// F statistic with (1, df) degrees of freedom.
    pub f: f64,
    /// Residual degrees of freedom of the separate fits.
    pub df: usize,
    /// p-value of "one ec50 fits both".
    pub p_value: f64,
    /// The shared ec50 of the joint fit.
    pub(crate) shared_ec50: f64,
}

struct Points {
    u: Vec<f64>,
    y: Vec<f64>,
}

fn usable(points: &[DosePoint]) -> Points {
    let (u, y) = points
        .iter()
        .filter(|p| p.concentration > 0.0 && p.concentration.is_finite() && p.response.is_finite())
        .map(|p| (p.concentration.log10(), p.response))
        .unzip();
    Points { u, y }
}

/// Tests whether the curves of `a` and `b` (fitted as `fit_a`, `fit_b` with `config`) share
/// one ec50. `None` unless both fits are `ok` and there are residual degrees of freedom.
pub(crate) fn shared_ec50_test(
    a: &[DosePoint],
    fit_a: &CurveFit,
    b: &[DosePoint],
    fit_b: &CurveFit,
    config: &FitConfig,
) -> Option<SharedEc50Test> {
    if fit_a.status != FitStatus::Ok || fit_b.status != FitStatus::Ok {
        return None;
    }
    let s = config.settings();
    let observed = s.plateaus == Plateaus::Observed;
    // The plateaus the single fits left free stay free; fixed ones keep the fitted value.
    let free_top = s.model == Model::Ll4 && !observed;
    let free_bottom = s.model != Model::Ll2 && !observed;
    let free = [free_top, free_bottom, false, true];
    let k = 2 + usize::from(free_top) + usize::from(free_bottom);
    let (pa, pb) = (usable(a), usable(b));
    let df = (pa.y.len() + pb.y.len())
        .checked_sub(2 * k)
        .filter(|&d| d > 0)?;
    let theta = |f: &CurveFit| Vector4::new(f.top, f.bottom, f.ec50.log10(), f.hill);
    let (ta, tb) = (theta(fit_a), theta(fit_b));
    let lower = Vector4::new(
        s.top_bounds.0,
        s.bottom_bounds.0,
        f64::NEG_INFINITY,
        s.hill_bounds.0,
    );
    let upper = Vector4::new(
        s.top_bounds.1,
        s.bottom_bounds.1,
        f64::INFINITY,
        s.hill_bounds.1,
    );
    let da = CurveData {
        log10_concentration: &pa.u,
        response: &pa.y,
        weights: None,
        sse_offset: 0.0,
    };
    let db = CurveData {
        log10_concentration: &pb.u,
        response: &pb.y,
        weights: None,
        sse_offset: 0.0,
    };
    let sse_separate = da.sse(&ta) + db.sse(&tb);

    // SSE of both curves refitted with log10 ec50 fixed at c.
    let refit = |d: &CurveData, start: &Vector4<f64>, c: f64| -> Option<f64> {
        let mut theta = *start;
        theta[LOG10_EC50] = c;
        let mut solver = BoundedLevenbergMarquardt::new(free, lower, upper, s.max_iterations);
        let m = solver.minimize(d, &theta);
        match m.termination {
            Termination::Converged(_) => Some(m.iterate.normal.sse),
            // An iteration cap is not a minimum: its SSE would inflate F.
            _ => None,
        }
    };
    let joint = |c: f64| -> f64 {
        match (refit(&da, &ta, c), refit(&db, &tb, c)) {
            (Some(x), Some(y)) => x + y,
            _ => f64::INFINITY,
        }
    };
    let (ca, cb) = (ta[LOG10_EC50], tb[LOG10_EC50]);
    let (c, sse_shared) = golden_section_min(ca.min(cb) - 0.25, ca.max(cb) + 0.25, joint);
    if !sse_shared.is_finite() || !(sse_separate > 0.0) {
        return None;
    }
    // Rounding can leave the shared fit a hair below the separate one: that is no evidence.
    let f = ((sse_shared - sse_separate).max(0.0)) / (sse_separate / df as f64);
    let p_value = FisherSnedecor::new(1.0, df as f64).ok()?.sf(f);
    Some(SharedEc50Test {
        f,
        df,
        p_value,
        shared_ec50: 10f64.powf(c),
    })
}

/// The minimum of `f` on `lo..hi` by golden-section search (60 steps at most, to 1e-9): where
/// it is and its value.
fn golden_section_min(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> (f64, f64) {
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = hi - golden * (hi - lo);
    let mut x2 = lo + golden * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..60 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - golden * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + golden * (hi - lo);
            f2 = f(x2);
        }
        if hi - lo < 1e-9 {
            break;
        }
    }
    if f1 <= f2 {
        (x1, f1)
    } else {
        (x2, f2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::fit_curve;

    fn curve(ec50: f64, wiggle: f64) -> Vec<DosePoint> {
        (0..9)
            .flat_map(|i| {
                let x = 10.0 * 3f64.powi(i - 8);
                (0..3).map(move |r| DosePoint {
                    concentration: x,
                    response: 1.0 / (1.0 + (x / ec50).powf(1.2))
                        + wiggle * ((i * 3 + r) as f64 * 1.7).sin(),
                })
            })
            .collect()
    }

    #[test]
    fn same_ec50_is_not_rejected_and_a_tenfold_shift_is() {
        let config = FitConfig::default();
        let (a, b) = (curve(0.1, 0.03), curve(0.1, -0.03));
        let t = shared_ec50_test(
            &a,
            &fit_curve(&a, &config),
            &b,
            &fit_curve(&b, &config),
            &config,
        )
        .unwrap();
        assert!(t.p_value > 0.05, "{t:?}");
        assert!((t.shared_ec50.log10() - (-1.0)).abs() < 0.1, "{t:?}");
        let c = curve(1.0, -0.03);
        let t = shared_ec50_test(
            &a,
            &fit_curve(&a, &config),
            &c,
            &fit_curve(&c, &config),
            &config,
        )
        .unwrap();
        assert!(t.p_value < 1e-6, "{t:?}");
        assert_eq!(t.df, 54 - 8);
        // The joint optimum lies between the two ec50s.
        assert!(t.shared_ec50 > 0.1 && t.shared_ec50 < 1.0, "{t:?}");
    }
}
