//! A box-bounded Levenberg–Marquardt solver for the four log-logistic parameters.
//!
//! argmin has no Levenberg–Marquardt and no box constraints, so the step lives here, on
//! fixed-size nalgebra types: the normal equations JᵀJ (4×4) and Jᵀr (4) are accumulated in one
//! pass over the points, so no N×4 Jacobian is ever stored. Fixed parameters (the plateaus of
//! `ll3`/`ll2`, or observed plateaus) are handled by a mask: their rows of the step system are
//! the identity with a zero right-hand side.
//!
//! Bounds: a parameter sitting on a bound whose gradient pushes it outwards is held fixed for
//! that step (an active set); all other trial points are projected into the box.
//!
//! The same [`BoundedLevenbergMarquardt::step`] drives two loops: the argmin [`Solver`]
//! implementation (usable with [`argmin::core::Executor`]) and the lean
//! [`BoundedLevenbergMarquardt::minimize`] loop that `fit_curve` uses, because the Executor's
//! per-run bookkeeping (state clones, a function-count hash map) costs more than the fit itself on
//! a 27-point curve (numbers in `docs/fits.md`).

use argmin::core::{
    CostFunction, Error as ArgminError, IterState, Problem, Solver, State, TerminationReason,
    TerminationStatus, KV,
};
use nalgebra::{Matrix4, Vector4};

use super::model::{Curve, BOTTOM, TOP};

/// The data of one curve as the solver sees it: log10 concentrations, responses, and optional
/// per-point weights (robust fitting).
#[derive(Debug, Clone, Copy)]
pub struct CurveData<'a> {
    /// log10 concentration of each point.
    pub log10_concentration: &'a [f64],
    /// Response of each point.
    pub response: &'a [f64],
    /// Per-point weights (all 1 when `None`).
    pub weights: Option<&'a [f64]>,
    /// A constant added to every SSE: the within-dose sum of squares when replicate points
    /// are collapsed to their dose means (weighted by their count), which leaves SSE, normal
    /// equations and minimiser unchanged at a third of the cost for triplicates.
    pub sse_offset: f64,
}

/// The weighted sum of squared residuals and the Gauss–Newton normal equations at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalEquations {
    /// Σ wᵢ rᵢ², rᵢ = model − response.
    pub sse: f64,
    /// Σ wᵢ gᵢ gᵢᵀ, the Gauss–Newton approximation of half the Hessian of the SSE.
    pub(crate) jtj: Matrix4<f64>,
    /// Σ wᵢ rᵢ gᵢ, half the gradient of the SSE.
    pub(crate) jtr: Vector4<f64>,
}

impl CurveData<'_> {
    /// SSE and normal equations at parameter vector `theta`.
    pub(crate) fn normal_equations(&self, theta: &Vector4<f64>) -> NormalEquations {
        let curve = Curve::from_vector(theta);
        let mut sse = self.sse_offset;
        let mut jtj = Matrix4::zeros();
        let mut jtr = Vector4::zeros();
        for (i, (&u, &y)) in self
            .log10_concentration
            .iter()
            .zip(self.response)
            .enumerate()
        {
            let w = self.weights.map_or(1.0, |w| w[i]);
            let (f, g) = curve.response_and_gradient_at_log10(u);
            let r = f - y;
            sse += w * r * r;
            jtr += g * (w * r);
            // Only the lower triangle; mirrored below.
            for a in 0..4 {
                let wa = w * g[a];
                for b in 0..=a {
                    jtj[(a, b)] += wa * g[b];
                }
            }
        }
        for a in 0..4 {
            for b in 0..a {
                jtj[(b, a)] = jtj[(a, b)];
            }
        }
        NormalEquations { sse, jtj, jtr }
    }

    /// `theta` with its free plateaus replaced by their exact least-squares values for the
    /// given log10 ec50 and hill, when those lie inside the bounds.
    pub(crate) fn best_plateaus(
        &self,
        theta: &Vector4<f64>,
        free: &[bool; 4],
        lower: &Vector4<f64>,
        upper: &Vector4<f64>,
    ) -> Option<Vector4<f64>> {
        if !free[TOP] && !free[BOTTOM] {
            return None;
        }
        let curve = Curve::from_vector(theta);
        // y ≈ top · s + bottom · (1 − s).
        let (mut ss, mut sq, mut qq, mut sy, mut qy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, (&u, &y)) in self
            .log10_concentration
            .iter()
            .zip(self.response)
            .enumerate()
        {
            let w = self.weights.map_or(1.0, |w| w[i]);
            let fs = curve.fraction(u);
            let q = 1.0 - fs;
            ss += w * fs * fs;
            sq += w * fs * q;
            qq += w * q * q;
            sy += w * fs * y;
            qy += w * q * y;
        }
        let mut out = *theta;
        match (free[TOP], free[BOTTOM]) {
            (true, true) => {
                let det = ss * qq - sq * sq;
                if !(det > 1e-12 * ss * qq) {
                    return None;
                }
                out[TOP] = (sy * qq - qy * sq) / det;
                out[BOTTOM] = (qy * ss - sy * sq) / det;
            }
            (true, false) => out[TOP] = (sy - theta[BOTTOM] * sq) / ss,
            (false, true) => out[BOTTOM] = (qy - theta[TOP] * sq) / qq,
            (false, false) => unreachable!("handled above"),
        }
        let inside = [TOP, BOTTOM]
            .iter()
            .all(|&i| out[i].is_finite() && out[i] >= lower[i] && out[i] <= upper[i]);
        inside.then_some(out)
    }

    /// Weighted SSE only.
    pub fn sse(&self, theta: &Vector4<f64>) -> f64 {
        let curve = Curve::from_vector(theta);
        self.log10_concentration
            .iter()
            .zip(self.response)
            .enumerate()
            .map(|(i, (&u, &y))| {
                let r = curve.response_at_log10(u) - y;
                self.weights.map_or(1.0, |w| w[i]) * r * r
            })
            .sum::<f64>()
            + self.sse_offset
    }
}

/// argmin's view of a curve: the cost is the weighted SSE.
impl CostFunction for CurveData<'_> {
    type Param = Vector4<f64>;
    type Output = f64;
    fn cost(&self, param: &Self::Param) -> Result<Self::Output, ArgminError> {
        Ok(self.sse(param))
    }
}

/// Why the solver stopped after reaching a minimum (up to its tolerances).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convergence {
    /// The projected gradient is orthogonal to the residuals (scaled gradient below tolerance).
    SmallGradient,
    /// A trial step's actual and predicted relative SSE changes were both below the tolerance
    /// (MINPACK's ftol test), or an accepted step changed neither SSE nor parameters.
    SmallChange,
    /// No step, however damped, lowers the SSE: the minimum is reached to rounding precision.
    NoFurtherDecrease,
    /// The residuals are zero (noise-free data).
    ExactFit,
}

/// How a minimisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Converged, for the given reason.
    Converged(Convergence),
    /// The iteration cap was hit first: not a converged fit.
    MaxIterations,
    /// The SSE or a parameter became NaN or infinite (only possible with non-finite data).
    NonFinite,
}

impl Termination {
    /// True when the solver reached a minimum rather than running out of iterations.
    pub fn converged(self) -> bool {
        matches!(self, Termination::Converged(_))
    }
}

/// Current iterate of the solver: parameters and normal equations there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iterate {
    /// Parameter vector `(top, bottom, log10_ec50, hill)`.
    pub theta: Vector4<f64>,
    /// SSE and normal equations at `theta`.
    pub normal: NormalEquations,
}

/// Result of [`BoundedLevenbergMarquardt::minimize`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minimum {
    /// The best iterate found.
    pub iterate: Iterate,
    /// Iterations used (accepted and rejected steps).
    pub iterations: u32,
    /// Why it stopped.
    pub termination: Termination,
}

/// Box-bounded Levenberg–Marquardt with Marquardt scaling and a free-parameter mask.
#[derive(Debug, Clone)]
pub struct BoundedLevenbergMarquardt {
    free: [bool; 4],
    lower: Vector4<f64>,
    upper: Vector4<f64>,
    lambda: f64,
    /// Nielsen's growth factor for the damping after a rejected step.
    nu: f64,
    max_iterations: u32,
    stop: Option<Convergence>,
    current: Option<Iterate>,
}

/// Starting damping.
const LAMBDA_START: f64 = 1e-3;
/// Beyond this damping no step can lower the SSE any more (steps are below rounding).
const LAMBDA_MAX: f64 = 1e16;
/// Scaled-gradient tolerance: |gᵢ| ≤ GTOL · sqrt(JᵀJᵢᵢ · SSE).
const GTOL: f64 = 1e-8;
/// Relative SSE change tolerance of an accepted step.
const FTOL: f64 = 1e-10;
/// Relative parameter change tolerance of an accepted step.
const XTOL: f64 = 1e-9;

impl BoundedLevenbergMarquardt {
    /// A solver for the parameters marked `free`, each kept within `[lower, upper]`.
    ///
    /// Fixed parameters keep the value of the starting point. `lower ≤ upper` is the caller's
    /// responsibility (checked once in `FitConfig`).
    pub fn new(
        free: [bool; 4],
        lower: Vector4<f64>,
        upper: Vector4<f64>,
        max_iterations: u32,
    ) -> Self {
        BoundedLevenbergMarquardt {
            free,
            lower,
            upper,
            lambda: LAMBDA_START,
            nu: 2.0,
            max_iterations,
            stop: None,
            current: None,
        }
    }

    /// Projects `theta`'s free parameters into the box.
    pub fn project(&self, theta: &Vector4<f64>) -> Vector4<f64> {
        let mut out = *theta;
        for i in 0..4 {
            if self.free[i] {
                out[i] = out[i].clamp(self.lower[i], self.upper[i]);
            }
        }
        out
    }

    /// Free parameters that may move at `it`: a parameter on a bound with the gradient pushing
    /// it outwards is held for this step.
    fn movable(&self, it: &Iterate) -> [bool; 4] {
        let mut movable = self.free;
        for (i, m) in movable.iter_mut().enumerate() {
            let g = it.normal.jtr[i];
            if (it.theta[i] <= self.lower[i] && g > 0.0)
                || (it.theta[i] >= self.upper[i] && g < 0.0)
            {
                *m = false;
            }
        }
        movable
    }

    /// Scaled projected gradient test.
    fn gradient_small(&self, it: &Iterate) -> bool {
        let movable = self.movable(it);
        let sse = it.normal.sse;
        (0..4).filter(|&i| movable[i]).all(|i| {
            let scale = (it.normal.jtj[(i, i)] * sse).sqrt();
            it.normal.jtr[i].abs() <= GTOL * scale
        })
    }

    /// Evaluates the start point (projected into the box).
    pub fn start(&mut self, data: &CurveData, theta: &Vector4<f64>) -> Iterate {
        let theta = self.project(theta);
        self.lambda = LAMBDA_START;
        self.nu = 2.0;
        self.stop = None;
        Iterate {
            theta,
            normal: data.normal_equations(&theta),
        }
    }

    /// One damped Gauss–Newton step from `it` on `data`.
    ///
    /// Replaces `*it` when the trial point lowers the SSE; adapts the damping either way. After a
    /// rejected step the free plateaus are re-solved exactly for the current ec50 and hill (the
    /// model is linear in them): on nearly flat curves the plateaus and a step-like ec50 are so
    /// entangled that damped joint steps otherwise crawl.
    /// Returns `Some` once a minimum is reached.
    pub fn step(&mut self, data: &CurveData, it: &mut Iterate) -> Option<Convergence> {
        if it.normal.sse <= f64::MIN_POSITIVE {
            self.stop = Some(Convergence::ExactFit);
            return self.stop;
        }
        if self.gradient_small(it) {
            self.stop = Some(Convergence::SmallGradient);
            return self.stop;
        }
        if self.lambda > LAMBDA_MAX {
            self.stop = Some(Convergence::NoFurtherDecrease);
            return self.stop;
        }
        let movable = self.movable(it);
        let mut system = Matrix4::identity();
        let mut rhs = Vector4::zeros();
        for a in 0..4 {
            if !movable[a] {
                continue;
            }
            rhs[a] = -it.normal.jtr[a];
            for b in 0..4 {
                if movable[b] {
                    system[(a, b)] = it.normal.jtj[(a, b)];
                }
            }
            // Marquardt scaling with a floor, so a parameter with a vanishing column (e.g. hill
            // on a flat curve) still gets a finite, damped step.
            system[(a, a)] += self.lambda * it.normal.jtj[(a, a)].max(1e-12);
        }
        let Some(chol) = system.cholesky() else {
            self.reject();
            return None;
        };
        let delta = chol.solve(&rhs);
        let mut trial = it.theta;
        for i in 0..4 {
            if movable[i] {
                trial[i] = (trial[i] + delta[i]).clamp(self.lower[i], self.upper[i]);
            }
        }
        let normal = data.normal_equations(&trial);
        // Actual and predicted (Gauss–Newton model) decrease of the SSE. Their ratio drives
        // Nielsen's damping update, which avoids the zig-zag of fixed ×10/÷10 factors on
        // large-residual curves.
        let step = trial - it.theta;
        let predicted =
            -(2.0 * step.dot(&it.normal.jtr) + (step.transpose() * it.normal.jtj * step)[(0, 0)]);
        let old_sse = it.normal.sse;
        let actual = old_sse - normal.sse;
        // MINPACK's test, applied to accepted and rejected trials alike: neither the actual nor
        // the predicted relative change of the SSE is above FTOL.
        let mut negligible = actual.abs() <= FTOL * old_sse && predicted <= FTOL * old_sse;
        if normal.sse.is_finite() && normal.sse < old_sse {
            let rho = if predicted > 0.0 {
                actual / predicted
            } else {
                1.0
            };
            let moved = (0..4)
                .map(|i| step[i].abs() / (it.theta[i].abs() + 1e-3))
                .fold(0.0, f64::max);
            *it = Iterate {
                theta: trial,
                normal,
            };
            self.lambda =
                (self.lambda * (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0)).max(1e-15);
            self.nu = 2.0;
            // Or a step that changes nothing.
            negligible |= actual <= FTOL * 1e-2 * old_sse && moved <= XTOL;
        } else {
            self.reject();
            if let Some(theta) = data.best_plateaus(&it.theta, &self.free, &self.lower, &self.upper)
            {
                let normal = data.normal_equations(&theta);
                if normal.sse < old_sse {
                    negligible &= old_sse - normal.sse <= FTOL * old_sse;
                    *it = Iterate { theta, normal };
                }
            }
        }
        if negligible {
            self.stop = Some(Convergence::SmallChange);
        }
        self.stop
    }

    fn reject(&mut self) {
        self.lambda *= self.nu;
        self.nu *= 2.0;
    }

    /// The lean driver loop: [`Self::step`] until convergence or the iteration cap.
    pub fn minimize(&mut self, data: &CurveData, start: &Vector4<f64>) -> Minimum {
        self.minimize_within(data, start, self.max_iterations)
    }

    /// [`Self::minimize`] with another iteration cap.
    pub(crate) fn minimize_within(
        &mut self,
        data: &CurveData,
        start: &Vector4<f64>,
        max_iterations: u32,
    ) -> Minimum {
        let mut it = self.start(data, start);
        if !it.normal.sse.is_finite() {
            return Minimum {
                iterate: it,
                iterations: 0,
                termination: Termination::NonFinite,
            };
        }
        for iteration in 1..=max_iterations {
            if let Some(reason) = self.step(data, &mut it) {
                return Minimum {
                    iterate: it,
                    iterations: iteration,
                    termination: Termination::Converged(reason),
                };
            }
        }
        Minimum {
            iterate: it,
            iterations: max_iterations,
            termination: Termination::MaxIterations,
        }
    }
}

/// The argmin state this solver runs on: parameters, gradient Jᵀr and Gauss–Newton Hessian JᵀJ
/// are all fixed-size.
pub(crate) type LmState = IterState<Vector4<f64>, Vector4<f64>, (), Matrix4<f64>, (), f64>;

impl<'a> Solver<CurveData<'a>, LmState> for BoundedLevenbergMarquardt {
    fn name(&self) -> &str {
        "bounded Levenberg-Marquardt"
    }

    fn init(
        &mut self,
        problem: &mut Problem<CurveData<'a>>,
        state: LmState,
    ) -> Result<(LmState, Option<KV>), ArgminError> {
        let start = state
            .get_param()
            .copied()
            .ok_or_else(argmin::argmin_error_closure!(
                NotInitialized,
                "no start parameters"
            ))?;
        let it = problem.problem("normal_equations", |data| Ok(self.start(data, &start)))?;
        self.current = Some(it);
        Ok((
            state
                .param(it.theta)
                .cost(it.normal.sse)
                .gradient(it.normal.jtr)
                .hessian(it.normal.jtj),
            None,
        ))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<CurveData<'a>>,
        state: LmState,
    ) -> Result<(LmState, Option<KV>), ArgminError> {
        let mut it = self.current.ok_or_else(argmin::argmin_error_closure!(
            NotInitialized,
            "solver not initialised"
        ))?;
        problem.problem("normal_equations", |data| {
            self.step(data, &mut it);
            Ok(())
        })?;
        self.current = Some(it);
        Ok((
            state
                .param(it.theta)
                .cost(it.normal.sse)
                .gradient(it.normal.jtr)
                .hessian(it.normal.jtj),
            None,
        ))
    }

    fn terminate(&mut self, _state: &LmState) -> TerminationStatus {
        match self.stop {
            Some(_) => TerminationStatus::Terminated(TerminationReason::SolverConverged),
            None => TerminationStatus::NotTerminated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argmin::core::Executor;

    fn data() -> (Vec<f64>, Vec<f64>) {
        let truth = Curve {
            top: 1.0,
            bottom: 0.1,
            log10_ec50: -0.3,
            hill: 1.4,
        };
        let u: Vec<f64> = (0..9).map(|i| -3.0 + 0.5 * i as f64).collect();
        // Deterministic "noise" so the minimum is not exact.
        let y = u
            .iter()
            .enumerate()
            .map(|(i, &u)| truth.response_at_log10(u) + 0.02 * ((i * 7 % 5) as f64 - 2.0))
            .collect();
        (u, y)
    }

    fn solver() -> BoundedLevenbergMarquardt {
        BoundedLevenbergMarquardt::new(
            [true; 4],
            Vector4::new(-0.5, -0.5, -6.0, 0.05),
            Vector4::new(2.0, 1.5, 4.0, 10.0),
            200,
        )
    }

    #[test]
    fn executor_and_lean_loop_agree_and_report_convergence() {
        let (u, y) = data();
        let data = CurveData {
            log10_concentration: &u,
            response: &y,
            weights: None,
            sse_offset: 0.0,
        };
        let start = Vector4::new(0.9, 0.2, 0.0, 1.0);
        let lean = solver().minimize(&data, &start);
        assert!(lean.termination.converged(), "{lean:?}");

        let result = Executor::new(data, solver())
            .configure(|s| s.param(start).max_iters(200))
            .timer(false)
            .run()
            .unwrap();
        let state = result.state();
        assert_eq!(
            state.get_termination_reason(),
            Some(&TerminationReason::SolverConverged)
        );
        let theta = state.get_best_param().unwrap();
        assert!(
            (theta - lean.iterate.theta).norm() < 1e-9,
            "{theta} vs {}",
            lean.iterate.theta
        );
    }

    #[test]
    fn iteration_cap_is_not_convergence() {
        let (u, y) = data();
        let data = CurveData {
            log10_concentration: &u,
            response: &y,
            weights: None,
            sse_offset: 0.0,
        };
        let start = Vector4::new(0.5, 0.5, 3.0, 0.1);
        let mut capped = BoundedLevenbergMarquardt::new(
            [true; 4],
            Vector4::new(-0.5, -0.5, -6.0, 0.05),
            Vector4::new(2.0, 1.5, 4.0, 10.0),
            2,
        );
        assert_eq!(
            capped.minimize(&data, &start).termination,
            Termination::MaxIterations
        );
        let result = Executor::new(data, capped)
            .configure(|s| s.param(start).max_iters(2))
            .timer(false)
            .run()
            .unwrap();
        assert_eq!(
            result.state().get_termination_reason(),
            Some(&TerminationReason::MaxItersReached)
        );
    }

    #[test]
    fn bounds_hold_and_fixed_parameters_stay() {
        // A step-like curve pushes hill to its upper bound.
        let u: Vec<f64> = (0..9).map(|i| -3.0 + 0.5 * i as f64).collect();
        let y: Vec<f64> = u
            .iter()
            .map(|&u| if u < -1.2 { 1.0 } else { 0.0 })
            .collect();
        let data = CurveData {
            log10_concentration: &u,
            response: &y,
            weights: None,
            sse_offset: 0.0,
        };
        let mut s = BoundedLevenbergMarquardt::new(
            [false, true, true, true],
            Vector4::new(-0.5, -0.5, -6.0, 0.05),
            Vector4::new(2.0, 1.5, 4.0, 3.0),
            500,
        );
        let m = s.minimize(&data, &Vector4::new(1.0, 0.2, -1.0, 1.0));
        assert!(m.termination.converged(), "{m:?}");
        assert_eq!(m.iterate.theta[0], 1.0);
        assert_eq!(m.iterate.theta[3], 3.0);
    }
}
