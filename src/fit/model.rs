//! The log-logistic dose-response model on log10 concentration.
//!
//! y = bottom + (top − bottom) / (1 + (x / ec50)^hill). The solver works on
//! u = log10 x and c = log10 ec50, so the curve is
//! y = bottom + (top − bottom) · s, s = 1 / (1 + 10^(hill · (u − c))).
//! Fitting c instead of ec50 keeps ec50 positive and the problem well conditioned over the
//! many decades a dose series spans.

use nalgebra::Vector4;

/// Index of `top` in a parameter vector.
pub(crate) const TOP: usize = 0;
/// Index of `bottom` in a parameter vector.
pub(crate) const BOTTOM: usize = 1;
/// Index of log10 ec50 in a parameter vector.
pub(crate) const LOG10_EC50: usize = 2;
/// Index of the Hill slope in a parameter vector.
pub const HILL: usize = 3;

/// Names of the four parameters, in vector order, for messages.
pub(crate) const PARAMETER_NAMES: [&str; 4] = ["top", "bottom", "log10_ec50", "hill"];

/// Which plateaus of the log-logistic model are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Model {
    /// Four free parameters: top, bottom, ec50, hill.
    #[default]
    Ll4,
    /// top fixed at 1 (viability of untreated cells); bottom, ec50, hill free.
    Ll3,
    /// top fixed at 1, bottom fixed at 0; ec50 and hill free.
    Ll2,
}

crate::words::words!(Model, "model", { Ll4 => "ll4", Ll3 => "ll3", Ll2 => "ll2" });

/// One log-logistic curve: plateaus, log10 ec50 and Hill slope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    /// Response at zero concentration (upper plateau for a falling curve).
    pub top: f64,
    /// Response at infinite concentration.
    pub bottom: f64,
    /// log10 of the inflection point, in the input's concentration unit.
    pub log10_ec50: f64,
    /// Hill slope; positive means the response falls with concentration.
    pub hill: f64,
}

impl Curve {
    /// The curve of a parameter vector `(top, bottom, log10_ec50, hill)`.
    pub fn from_vector(theta: &Vector4<f64>) -> Self {
        Curve {
            top: theta[TOP],
            bottom: theta[BOTTOM],
            log10_ec50: theta[LOG10_EC50],
            hill: theta[HILL],
        }
    }

    /// The parameter vector `(top, bottom, log10_ec50, hill)`.
    pub fn to_vector(&self) -> Vector4<f64> {
        Vector4::new(self.top, self.bottom, self.log10_ec50, self.hill)
    }

    /// ec50 in the input's concentration unit.
    pub fn ec50(&self) -> f64 {
        10f64.powf(self.log10_ec50)
    }

    /// The fraction s = 1 / (1 + 10^(hill (u − c))) of the way from bottom to top at log10 dose u.
    pub(crate) fn fraction(&self, log10_concentration: f64) -> f64 {
        let z = std::f64::consts::LN_10 * self.hill * (log10_concentration - self.log10_ec50);
        // exp overflows to inf for large z, giving s = 0 exactly, which is the right limit.
        1.0 / (1.0 + z.exp())
    }

    /// Response at a log10 concentration.
    pub fn response_at_log10(&self, log10_concentration: f64) -> f64 {
        let s = self.fraction(log10_concentration);
        self.bottom + (self.top - self.bottom) * s
    }

    /// Response at a concentration (> 0).
    pub fn response_at(&self, concentration: f64) -> f64 {
        self.response_at_log10(concentration.log10())
    }

    /// Response and its gradient with respect to `(top, bottom, log10_ec50, hill)` at log10 dose u.
    ///
    /// Uses s(1 − s) rather than s²·e^z so that far tails give 0, not 0·∞ = NaN.
    pub fn response_and_gradient_at_log10(&self, u: f64) -> (f64, Vector4<f64>) {
        let s = self.fraction(u);
        let span = self.top - self.bottom;
        let ds = s * (1.0 - s);
        let ln10 = std::f64::consts::LN_10;
        let d = u - self.log10_ec50;
        let grad = Vector4::new(
            s,
            1.0 - s,
            span * ds * ln10 * self.hill,
            -span * ds * ln10 * d,
        );
        (self.bottom + span * s, grad)
    }

    /// The log10 concentration where the curve crosses `level`, if it ever does.
    pub fn log10_crossing(&self, level: f64) -> Option<f64> {
        let span = self.top - self.bottom;
        if span == 0.0 || self.hill <= 0.0 {
            return None;
        }
        let s = (level - self.bottom) / span;
        if !(s > 0.0 && s < 1.0) {
            return None;
        }
        let u = self.log10_ec50 + (1.0 / s - 1.0).log10() / self.hill;
        u.is_finite().then_some(u)
    }

    /// Gradient of the 0.5-crossing `log10_crossing(0.5)` with respect to the parameter vector.
    ///
    /// With q = (top − 0.5) / (0.5 − bottom), log10 ic50 = c + log10(q) / hill; the derivatives are
    /// what the delta method needs for the standard error of log10 ic50.
    pub(crate) fn log10_ic50_gradient(&self) -> Vector4<f64> {
        let ln10 = std::f64::consts::LN_10;
        let h = self.hill;
        let q = (self.top - 0.5) / (0.5 - self.bottom);
        Vector4::new(
            1.0 / (h * ln10 * (self.top - 0.5)),
            1.0 / (h * ln10 * (0.5 - self.bottom)),
            1.0,
            -q.log10() / (h * h),
        )
    }

    /// Mean of the curve over the log10 concentration interval `[u_low, u_high]`.
    ///
    /// Exact integral: ∫ s du = (u − c) − softplus(k (u − c)) / k with k = hill · ln 10.
    pub fn mean_over_log10(&self, u_low: f64, u_high: f64) -> f64 {
        let width = u_high - u_low;
        if !(width > 0.0) {
            return self.response_at_log10(u_low);
        }
        let k = self.hill * std::f64::consts::LN_10;
        let mean_fraction = if k.abs() < 1e-12 {
            0.5
        } else {
            let antiderivative = |u: f64| {
                let d = u - self.log10_ec50;
                d - softplus(k * d) / k
            };
            (antiderivative(u_high) - antiderivative(u_low)) / width
        };
        self.bottom + (self.top - self.bottom) * mean_fraction
    }
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves() -> Vec<Curve> {
        vec![
            Curve {
                top: 1.0,
                bottom: 0.1,
                log10_ec50: -0.5,
                hill: 1.2,
            },
            Curve {
                top: 0.9,
                bottom: 0.4,
                log10_ec50: 1.0,
                hill: 0.3,
            },
            Curve {
                top: 1.1,
                bottom: -0.05,
                log10_ec50: -2.0,
                hill: 6.0,
            },
            Curve {
                top: 0.2,
                bottom: 0.8,
                log10_ec50: 0.0,
                hill: 2.0,
            },
        ]
    }

    #[test]
    fn gradient_matches_central_differences() {
        for curve in curves() {
            for &u in &[-4.0, -2.1, -0.5, 0.0, 0.7, 1.5, 3.0] {
                let (_, grad) = curve.response_and_gradient_at_log10(u);
                for j in 0..4 {
                    let h = 1e-6;
                    let mut plus = curve.to_vector();
                    let mut minus = curve.to_vector();
                    plus[j] += h;
                    minus[j] -= h;
                    let fd = (Curve::from_vector(&plus).response_at_log10(u)
                        - Curve::from_vector(&minus).response_at_log10(u))
                        / (2.0 * h);
                    assert!(
                        (grad[j] - fd).abs() <= 1e-7 * (1.0 + fd.abs()),
                        "{curve:?} u={u} d/d{}: analytic {} vs fd {fd}",
                        PARAMETER_NAMES[j],
                        grad[j]
                    );
                }
            }
        }
    }

    #[test]
    fn far_tails_have_finite_gradients() {
        let curve = Curve {
            top: 1.0,
            bottom: 0.0,
            log10_ec50: 0.0,
            hill: 10.0,
        };
        for &u in &[-400.0, 400.0] {
            let (y, g) = curve.response_and_gradient_at_log10(u);
            assert!(
                y.is_finite() && g.iter().all(|v| v.is_finite()),
                "u={u}: {y} {g:?}"
            );
        }
    }

    #[test]
    fn ec50_is_the_midpoint_and_ic50_crosses_half() {
        let curve = Curve {
            top: 1.0,
            bottom: 0.2,
            log10_ec50: 0.3,
            hill: 1.5,
        };
        assert!((curve.response_at_log10(0.3) - 0.6).abs() < 1e-15);
        let u = curve.log10_crossing(0.5).unwrap();
        assert!((curve.response_at_log10(u) - 0.5).abs() < 1e-12);
        assert!(u > 0.3);
        let partial = Curve {
            top: 1.0,
            bottom: 0.6,
            log10_ec50: 0.3,
            hill: 1.5,
        };
        assert_eq!(partial.log10_crossing(0.5), None);
    }

    #[test]
    fn ic50_gradient_matches_central_differences() {
        let curve = Curve {
            top: 0.95,
            bottom: 0.1,
            log10_ec50: -0.4,
            hill: 1.3,
        };
        let g = curve.log10_ic50_gradient();
        for j in 0..4 {
            let h = 1e-6;
            let mut plus = curve.to_vector();
            let mut minus = curve.to_vector();
            plus[j] += h;
            minus[j] -= h;
            let fd = (Curve::from_vector(&plus).log10_crossing(0.5).unwrap()
                - Curve::from_vector(&minus).log10_crossing(0.5).unwrap())
                / (2.0 * h);
            assert!(
                (g[j] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{j}: {} vs {fd}",
                g[j]
            );
        }
    }

    #[test]
    fn mean_over_range_matches_quadrature() {
        for curve in curves() {
            let (lo, hi) = (-3.0, 1.0);
            let n = 200_000;
            let step = (hi - lo) / n as f64;
            let trapezoid: f64 = (0..n)
                .map(|i| {
                    let a = lo + i as f64 * step;
                    0.5 * (curve.response_at_log10(a) + curve.response_at_log10(a + step)) * step
                })
                .sum::<f64>()
                / (hi - lo);
            assert!(
                (curve.mean_over_log10(lo, hi) - trapezoid).abs() < 1e-8,
                "{curve:?}"
            );
        }
    }
}
