//! Small statistics used across the pipeline (summaries, trend tests).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Arithmetic mean; `None` for no values.
pub fn mean(x: &[f64]) -> Option<f64> {
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

/// Sample standard deviation (n − 1); `None` for fewer than two values.
pub fn sd(x: &[f64]) -> Option<f64> {
    if x.len() < 2 {
        return None;
    }
    let m = mean(x)?;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    Some((ss / (x.len() - 1) as f64).sqrt())
}

/// Median; `None` for no values.
pub fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
pub(crate) fn t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    if !(t.is_finite() && df > 0.0) {
        return None;
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(2.0 * dist.sf(t.abs()))
}

/// Welch's two-sample t-test: (mean(a) − mean(b), two-sided p).
pub(crate) fn welch(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let (ma, mb, sa, sb) = (mean(a)?, mean(b)?, sd(a)?, sd(b)?);
    let (va, vb) = (sa * sa / a.len() as f64, sb * sb / b.len() as f64);
    let diff = ma - mb;
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some((diff, if diff == 0.0 { 1.0 } else { 0.0 }));
    }
    let df = se2 * se2 / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0));
    Some((diff, t_two_sided_p(diff / se2.sqrt(), df)?))
}

/// Least-squares slope of y on x with the two-sided p-value of slope = 0.
/// `None` with fewer than three points or fewer than two distinct x.
pub fn slope(x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    let n = x.len();
    if n < 3 || n != y.len() {
        return None;
    }
    let (mx, my) = (mean(x)?, mean(y)?);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let b = sxy / sxx;
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(a, c)| {
            let r = c - my - b * (a - mx);
            r * r
        })
        .sum();
    let df = (n - 2) as f64;
    let se = (rss / df / sxx).sqrt();
    let p = if se == 0.0 {
        if b == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        t_two_sided_p(b / se, df)?
    };
    Some((b, p))
}

/// A least-squares line through (x, y) with a confidence interval on its slope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SlopeFit {
    /// Change of y per unit of x.
    pub slope: f64,
    /// Lower end of the slope's interval (NaN with fewer than three points).
    pub ci_low: f64,
    /// Upper end of the slope's interval (NaN with fewer than three points).
    pub ci_high: f64,
}

/// The least-squares slope of y on x with its two-sided `level` interval (t with n − 2 degrees
/// of freedom). Two points give the slope without an interval; `None` with fewer than two
/// points or a single distinct x.
pub(crate) fn slope_with_ci(x: &[f64], y: &[f64], level: f64) -> Option<SlopeFit> {
    let n = x.len();
    if n < 2 || n != y.len() {
        return None;
    }
    let (mx, my) = (mean(x)?, mean(y)?);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    if n < 3 {
        return Some(SlopeFit {
            slope,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        });
    }
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(a, c)| {
            let r = c - my - slope * (a - mx);
            r * r
        })
        .sum();
    let df = (n - 2) as f64;
    let se = (rss / df / sxx).sqrt();
    let t = StudentsT::new(0.0, 1.0, df)
        .ok()?
        .inverse_cdf(0.5 + level / 2.0);
    Some(SlopeFit {
        slope,
        ci_low: slope - t * se,
        ci_high: slope + t * se,
    })
}

/// The Wilson score interval of a proportion: `successes` of `n` trials at confidence `level`
/// (Wilson 1927). Unlike the normal approximation it stays inside [0, 1] and keeps close to its
/// nominal coverage for the small counts of a screen (a handful of lineages). `None` when
/// `n` is 0.
pub(crate) fn wilson(successes: usize, n: usize, level: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let z = Normal::new(0.0, 1.0).ok()?.inverse_cdf(0.5 + level / 2.0);
    let (k, n) = (successes as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0 and n the bound is exactly 0 or 1; rounding must not move it off.
    let low = if successes == 0 { 0.0 } else { centre - half };
    let high = if successes as f64 == n {
        1.0
    } else {
        centre + half
    };
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn wilson_matches_r_binom_confint() {
        // R: binom::binom.confint(3, 10, methods = "wilson"): 0.1077913 0.6032219
        let (lo, hi) = wilson(3, 10, 0.95).unwrap();
        assert_relative_eq!(lo, 0.10779126740630967, epsilon = 1e-7);
        assert_relative_eq!(hi, 0.6032218525388546, epsilon = 1e-7);
        // 0 of 5: [0, 0.4344825]; 5 of 5: [0.5655175, 1].
        let (lo, hi) = wilson(0, 5, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert_relative_eq!(hi, 0.43448246478746, epsilon = 1e-7);
        let (lo, hi) = wilson(5, 5, 0.95).unwrap();
        assert_relative_eq!(lo, 0.56551753521254, epsilon = 1e-7);
        assert_eq!(hi, 1.0);
        assert_eq!(wilson(0, 0, 0.95), None);
    }

    #[test]
    fn slope_interval_matches_scipy() {
        // scipy.stats.linregress([1,2,3,4,5], [1.1,1.9,3.2,3.8,5.3]): slope 1.03,
        // stderr 0.0737111; t(0.975, 3) = 3.182446305284263.
        let f =
            slope_with_ci(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.1, 1.9, 3.2, 3.8, 5.3], 0.95).unwrap();
        assert_relative_eq!(f.slope, 1.03, epsilon = 1e-12);
        let half = 3.182446305284263 * 0.07371114795831996;
        assert_relative_eq!(f.ci_low, 1.03 - half, epsilon = 1e-9);
        assert_relative_eq!(f.ci_high, 1.03 + half, epsilon = 1e-9);
        let two = slope_with_ci(&[0.0, 2.0], &[1.0, 0.0], 0.95).unwrap();
        assert_eq!(two.slope, -0.5);
        assert!(two.ci_low.is_nan());
        assert_eq!(
            slope_with_ci(&[1.0, 1.0, 1.0], &[0.0, 1.0, 2.0], 0.95),
            None
        );
    }

    #[test]
    fn summaries() {
        assert_eq!(mean(&[1.0, 2.0, 3.0]), Some(2.0));
        assert_eq!(
            sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).map(|s| (s * 1e6).round()),
            Some(2138090.0)
        );
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(sd(&[1.0]), None);
    }

    #[test]
    fn t_tests_match_r() {
        // scipy: 2*t.sf(2.5, 10) = 0.0314468442
        assert_relative_eq!(
            t_two_sided_p(2.5, 10.0).unwrap(),
            0.03144684423660882,
            epsilon = 1e-9
        );
        // scipy.stats.ttest_ind(..., equal_var=False): t = -1.71274, df = 4.2363, p = 0.157914
        let (d, p) = welch(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.5]).unwrap();
        assert_relative_eq!(d, -2.625);
        assert_relative_eq!(p, 0.1579142676824098, epsilon = 1e-9);
        // scipy.stats.linregress: slope 0.8, p 0.104088
        let (b, p) = slope(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 5.0, 4.0]).unwrap();
        assert_relative_eq!(b, 0.8);
        assert_relative_eq!(p, 0.10408803866182778, epsilon = 1e-9);
    }
}
