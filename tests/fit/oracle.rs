//! The `levenberg-marquardt` crate (MINPACK-style, unbounded) as an oracle: on random curves
//! whose unconstrained optimum lies inside our bounds, our SSE is never worse than its SSE.

use collateral::fit::synthetic::{synthetic_curve, SyntheticDesign, SyntheticKind};
use collateral::fit::{fit_curve, Curve, FitConfig, FitStatus};
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::storage::Owned;
use nalgebra::{DMatrix, DVector, Dyn, Vector4, U4};

struct Oracle {
    u: Vec<f64>,
    y: Vec<f64>,
    theta: Vector4<f64>,
}

impl LeastSquaresProblem<f64, Dyn, U4> for Oracle {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, U4>;
    type ParameterStorage = Owned<f64, U4>;

    fn set_params(&mut self, x: &Vector4<f64>) {
        self.theta = *x;
    }
    fn params(&self) -> Vector4<f64> {
        self.theta
    }
    fn residuals(&self) -> Option<DVector<f64>> {
        let c = Curve::from_vector(&self.theta);
        Some(DVector::from_iterator(
            self.u.len(),
            self.u
                .iter()
                .zip(&self.y)
                .map(|(&u, &y)| c.response_at_log10(u) - y),
        ))
    }
    fn jacobian(&self) -> Option<nalgebra::OMatrix<f64, Dyn, U4>> {
        let c = Curve::from_vector(&self.theta);
        let mut j = nalgebra::OMatrix::<f64, Dyn, U4>::zeros(self.u.len());
        for (i, &u) in self.u.iter().enumerate() {
            let (_, g) = c.response_and_gradient_at_log10(u);
            j.set_row(i, &g.transpose());
        }
        Some(j)
    }
}

fn sse(curve: &Curve, u: &[f64], y: &[f64]) -> f64 {
    u.iter()
        .zip(y)
        .map(|(&u, &y)| (curve.response_at_log10(u) - y).powi(2))
        .sum()
}

#[test]
fn our_sse_is_never_worse_than_the_minpack_oracle() {
    let design = SyntheticDesign {
        outlier_rate: 0.01,
        ..SyntheticDesign::default()
    };
    let config = FitConfig::default();
    let (mut compared, mut better) = (0, 0);
    for i in 0..1000 {
        let c = synthetic_curve(&design, 2024, i).unwrap();
        if c.kind == SyntheticKind::Flat {
            continue;
        }
        let u: Vec<f64> = c
            .input
            .points
            .iter()
            .map(|p| p.concentration.log10())
            .collect();
        let y: Vec<f64> = c.input.points.iter().map(|p| p.response).collect();
        // The oracle starts from the truth, the best start there is.
        let (oracle, report) = LevenbergMarquardt::new().minimize(Oracle {
            u: u.clone(),
            y: y.clone(),
            theta: c.truth.to_vector(),
        });
        let o = Curve::from_vector(&oracle.theta);
        let inside = o.hill > 0.05
            && o.hill < 10.0
            && o.log10_ec50 > u[0] - 2.0
            && o.log10_ec50 < u[8] + 2.0
            && o.top > 0.0
            && o.top < 2.0
            && o.bottom > 0.0
            && o.bottom < 1.5;
        if !report.termination.was_successful() || !inside {
            continue;
        }
        let fit = fit_curve(&c.input.points, &config);
        if fit.status != FitStatus::Ok {
            continue;
        }
        let ours = Curve {
            top: fit.top,
            bottom: fit.bottom,
            log10_ec50: fit.ec50.log10(),
            hill: fit.hill,
        };
        let (s_ours, s_oracle) = (sse(&ours, &u, &y), sse(&o, &u, &y));
        compared += 1;
        assert!(
            s_ours <= s_oracle * (1.0 + 1e-8) + 1e-12,
            "{}: ours {s_ours} (θ {ours:?}) vs oracle {s_oracle} (θ {o:?})",
            c.input.cell_line
        );
        if s_ours < s_oracle * (1.0 - 1e-8) {
            better += 1;
        }
    }
    assert!(compared > 500, "only {compared} curves compared");
    eprintln!("oracle: {compared} curves compared, ours lower on {better}");
}

#[test]
fn oracle_wrapper_matches_dmatrix_shape() {
    // Guards the oracle itself: its Jacobian must agree with finite differences of its residuals.
    let mut p = Oracle {
        u: vec![-2.0, -1.0, 0.0, 1.0],
        y: vec![1.0, 0.8, 0.3, 0.1],
        theta: Vector4::new(1.0, 0.1, -0.5, 1.1),
    };
    let j = p.jacobian().unwrap();
    let r0 = p.residuals().unwrap();
    let mut fd = DMatrix::zeros(4, 4);
    for k in 0..4 {
        let mut t = p.theta;
        t[k] += 1e-7;
        p.set_params(&t);
        let r1 = p.residuals().unwrap();
        fd.set_column(k, &((r1 - &r0) / 1e-7));
        t[k] -= 1e-7;
        p.set_params(&t);
    }
    for (a, b) in j.iter().zip(fd.iter()) {
        assert!((a - b).abs() < 1e-5, "{j} vs {fd}");
    }
}
