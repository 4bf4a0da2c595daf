//! Is there a curve at all? The F-test of the model against a constant, the monotone bound that
//! lets a no-effect curve skip the solver, and how a `flat` curve is reported.

use statrs::distribution::{ContinuousCDF, FisherSnedecor};

use super::super::result::{CurveFit, FitStatus, Ic50Qualifier};
use super::finish;

/// Smallest SSE any monotone (non-increasing or non-decreasing) function of dose can reach:
/// the within-dose sum of squares plus the weighted isotonic regression (pool adjacent
/// violators) of the dose means. Every log-logistic curve with hill > 0 is monotone, so no fit
/// can go below this.
pub(super) fn monotone_sse_bound(u: &[f64], y: &[f64], means: &[(f64, f64)]) -> f64 {
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
pub(super) fn f_test_p(sst: f64, sse: f64, n_free: usize, dof: usize) -> f64 {
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
pub(super) fn flat(
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

pub(super) fn r_squared(sse: f64, sst: f64) -> f64 {
    if sst > 0.0 {
        1.0 - sse / sst
    } else {
        f64::NAN
    }
}
