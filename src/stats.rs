//! Small statistics used across the pipeline (summaries, trend tests).

use statrs::distribution::{ContinuousCDF, StudentsT};

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
pub fn t_two_sided_p(t: f64, df: f64) -> Option<f64> {
    if !(t.is_finite() && df > 0.0) {
        return None;
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(2.0 * dist.sf(t.abs()))
}

/// Welch's two-sample t-test: (mean(a) − mean(b), two-sided p).
pub fn welch(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

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
