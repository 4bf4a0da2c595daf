//! Dose-response fitting: log-logistic models (`ll4`, `ll3`, `ll2`) by bounded
//! Levenberg–Marquardt, with censored IC50s, delta-method CIs, a flat-curve F-test and optional
//! robust (IRLS) fitting.
//!
//! ```
//! use collateral::fit::{fit_curve, DosePoint, FitSettings, FitStatus, Ic50Qualifier};
//! let config = FitSettings::default().check().unwrap();
//! let points: Vec<DosePoint> = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
//!     .iter()
//!     .map(|&c: &f64| DosePoint { concentration: c, response: 0.1 + 0.9 / (1.0 + c / 0.5) })
//!     .collect();
//! let fit = fit_curve(&points, &config);
//! assert_eq!(fit.status, FitStatus::Ok);
//! assert!((fit.ec50 / 0.5 - 1.0).abs() < 1e-6);
//! assert_eq!(fit.ic50_qualifier, Some(Ic50Qualifier::Equal));
//! ```

// `!(x > 0.0)` is deliberate throughout: it is true for NaN, so bad numbers take the error path.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

mod engine;
pub mod joint;
pub mod keys;
pub mod model;
pub mod result;
pub mod solver;
pub mod synthetic;
pub mod table;

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{Error, Location};

pub use keys::FitKeys;
pub use model::{Curve, Model};
pub use result::{CurveFit, FitStatus, Ic50Qualifier, FITS_COLUMNS};
pub use table::{fit_file, read_fit_input, write_fits, FitSummary};

/// One measured point of a dose-response curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DosePoint {
    /// Drug concentration (> 0; zero is an untreated point, see [`Plateaus::Observed`]).
    pub concentration: f64,
    /// Response, as a fraction of untreated (viability: 1 = untreated, 0 = dead).
    pub response: f64,
}

/// One curve to fit: a cell line, a drug and all replicate points pooled.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveInput {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// All points of this (cell line, drug), replicates pooled.
    pub points: Vec<DosePoint>,
}

/// How the plateaus the model leaves free are determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plateaus {
    /// Fitted (within the plateau bounds).
    #[default]
    Free,
    /// Fixed at the observed extremes, as in Dhawan et al. 2017: top = highest response,
    /// bottom = lowest response, over all finite points of the curve *including* untreated
    /// (zero-concentration) points; only ec50 and hill are fitted. Plateaus that the model fixes
    /// (top = 1 for `ll3`, both for `ll2`) stay fixed at the model's values.
    Observed,
}

crate::words::words!(Plateaus, "plateau option", { Free => "free", Observed => "observed" });

/// Loss for robust fitting by iteratively reweighted least squares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RobustLoss {
    /// Ordinary least squares (the default).
    #[default]
    None,
    /// Huber loss, k = 1.345 robust standard deviations.
    Huber,
    /// Cauchy loss, c = 2.385 robust standard deviations.
    Cauchy,
}

crate::words::words!(RobustLoss, "robust loss", { None => "none", Huber => "huber", Cauchy => "cauchy" });

/// Fitting settings as a user gives them. Validate once with [`FitSettings::check`].
///
/// ```
/// use collateral::fit::{FitSettings, Model};
/// let mut settings = FitSettings::default();
/// settings.model = Model::Ll3;
/// let config = settings.check().unwrap();
/// assert_eq!(config.settings().model, Model::Ll3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FitSettings {
    /// Model: which plateaus are parameters.
    pub model: Model,
    /// How free plateaus are determined.
    pub plateaus: Plateaus,
    /// Robust loss (off by default).
    pub robust: RobustLoss,
    /// Bounds of the Hill slope; both > 0 (falling curves).
    pub hill_bounds: (f64, f64),
    /// log10 ec50 may lie this many decades beyond the tested range on either side.
    pub(crate) ec50_margin_decades: f64,
    /// Bounds of a free top, in response units (default [0, 2]).
    pub(crate) top_bounds: (f64, f64),
    /// Bounds of a free bottom, in response units (default [0, 1.5]: a true viability plateau
    /// cannot be below 0, the blank level; a fit pushed there by noise is named in the message).
    pub(crate) bottom_bounds: (f64, f64),
    /// A curve is `flat` when the F-test against a constant has p above this.
    pub(crate) flat_alpha: f64,
    /// Confidence level of the intervals, e.g. 0.95.
    pub ci_level: f64,
    /// Iteration cap of one solver run.
    pub max_iterations: u32,
    /// A robust fit flags points whose residual exceeds this many robust standard deviations.
    pub(crate) outlier_threshold: f64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            model: Model::Ll4,
            plateaus: Plateaus::Free,
            robust: RobustLoss::None,
            hill_bounds: (0.05, 10.0),
            ec50_margin_decades: 2.0,
            top_bounds: (0.0, 2.0),
            bottom_bounds: (0.0, 1.5),
            flat_alpha: 0.05,
            ci_level: 0.95,
            max_iterations: 1000,
            outlier_threshold: 3.0,
        }
    }
}

/// Validated fitting settings; the only thing the fitting functions accept.
#[derive(Debug, Clone)]
pub struct FitConfig {
    settings: FitSettings,
    /// Two-sided t quantiles for the CI level by residual degrees of freedom (index = dof).
    t_quantiles: Vec<f64>,
}

/// Degrees of freedom up to which t quantiles are tabulated once per config.
const T_TABLE_DOF: usize = 256;

impl FitSettings {
    /// Checks every setting and precomputes what all fits share.
    pub fn check(self) -> crate::Result<FitConfig> {
        let mut problems = Vec::new();
        let mut bad = |what: String| problems.push(what);
        let interval = |name: &str, (lo, hi): (f64, f64), bad: &mut dyn FnMut(String)| {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                bad(format!(
                    "{name} must be finite with lower < upper, got [{lo}, {hi}]"
                ));
            }
        };
        interval("hill bounds", self.hill_bounds, &mut bad);
        if !(self.hill_bounds.0 > 0.0) {
            bad(format!(
                "hill bounds must be positive (a falling curve), got lower bound {}",
                self.hill_bounds.0
            ));
        }
        interval("top bounds", self.top_bounds, &mut bad);
        interval("bottom bounds", self.bottom_bounds, &mut bad);
        if !(self.ec50_margin_decades.is_finite() && self.ec50_margin_decades >= 0.0) {
            bad(format!(
                "ec50 margin must be ≥ 0 decades, got {}",
                self.ec50_margin_decades
            ));
        }
        if !(self.flat_alpha > 0.0 && self.flat_alpha < 1.0) {
            bad(format!(
                "flat-test alpha must be in (0, 1), got {}",
                self.flat_alpha
            ));
        }
        if !(self.ci_level > 0.0 && self.ci_level < 1.0) {
            bad(format!("CI level must be in (0, 1), got {}", self.ci_level));
        }
        if self.max_iterations == 0 {
            bad("max iterations must be at least 1".to_string());
        }
        if !(self.outlier_threshold.is_finite() && self.outlier_threshold > 0.0) {
            bad(format!(
                "outlier threshold must be > 0, got {}",
                self.outlier_threshold
            ));
        }
        if let Some(first) = problems.first() {
            let message = if problems.len() == 1 {
                first.clone()
            } else {
                problems.join("; ")
            };
            return Err(Error::config(
                Location::default(),
                format!("fit settings: {message}"),
            ));
        }
        let mut t_quantiles = vec![f64::NAN];
        t_quantiles.extend((1..=T_TABLE_DOF).map(|dof| t_quantile(self.ci_level, dof)));
        Ok(FitConfig {
            settings: self,
            t_quantiles,
        })
    }
}

/// Two-sided Student t quantile for `level` at `dof` degrees of freedom.
fn t_quantile(level: f64, dof: usize) -> f64 {
    StudentsT::new(0.0, 1.0, dof as f64)
        .map(|t| t.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(f64::NAN)
}

impl FitConfig {
    /// The validated settings.
    pub fn settings(&self) -> &FitSettings {
        &self.settings
    }

    /// Two-sided t quantile of the CI level at `dof` degrees of freedom.
    fn t_quantile(&self, dof: usize) -> f64 {
        match self.t_quantiles.get(dof) {
            Some(&q) => q,
            None => t_quantile(self.settings.ci_level, dof),
        }
    }
}

/// Configurations are the same when their settings are (the t quantiles follow from them).
impl PartialEq for FitConfig {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl Default for FitConfig {
    fn default() -> Self {
        FitSettings::default()
            .check()
            .expect("default fit settings are valid")
    }
}

/// Fits one curve. Never panics on bad points: they are excluded and reported in the message,
/// and every outcome is a [`CurveFit`] with a status.
///
/// A panic inside the engine (a bug) is caught and reported as `failed` with the panic message,
/// so that one curve cannot stop a batch. That guard is a last resort only: the engine checks
/// its points and never panics on the fuzzed and property-tested inputs, which
/// [`engine_panics_caught`] lets the tests confirm.
pub fn fit_curve(points: &[DosePoint], config: &FitConfig) -> CurveFit {
    std::panic::catch_unwind(|| engine::fit(points, config)).unwrap_or_else(|payload| {
        ENGINE_PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        engine::internal_error(config, points.len(), &what)
    })
}

/// Engine panics caught by [`fit_curve`]'s last-resort guard in this process.
static ENGINE_PANICS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many fits in this process ended in the engine panicking (caught, reported as `failed`).
/// Always 0 unless the engine has a bug: the property tests of whole runs assert it, so the
/// guard is known to be unused rather than silently relied on.
pub fn engine_panics_caught() -> u64 {
    ENGINE_PANICS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Fits one named curve.
pub(crate) fn fit_named_curve(curve: &CurveInput, config: &FitConfig) -> CurveFit {
    let mut fit = fit_curve(&curve.points, config);
    fit.cell_line.clone_from(&curve.cell_line);
    fit.drug.clone_from(&curve.drug);
    fit
}

/// Fits many curves in parallel on the current rayon pool. Output order is input order, and
/// results are bit-identical for any number of threads (each fit is deterministic and shares
/// nothing).
///
/// `progress` is told of each curve as it is fitted (from the worker threads, in the order they
/// finish; pass `&progress::Silent` for nothing); the caller begins and ends the stage. The
/// observer only counts: the fits and their order do not depend on it.
pub fn fit_curves(
    curves: &[CurveInput],
    config: &FitConfig,
    progress: &dyn crate::progress::Progress,
) -> Vec<CurveFit> {
    curves
        .par_iter()
        .map(|c| {
            let fit = fit_named_curve(c, config);
            progress.advance(1);
            fit
        })
        .collect()
}
