//! Synthetic dose-response curves with known truth, for validation, tests and benchmarks.
//!
//! Every curve is generated from its own ChaCha8 stream (seed, curve number), so a curve does
//! not depend on how many curves are generated or in which order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::model::Curve;
use super::{CurveInput, DosePoint};
use crate::error::{Error, Location, Result};

/// What kind of curve a synthetic truth is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntheticKind {
    /// Full sigmoid: top ≈ 1, bottom 0–0.2, ec50 inside the range, hill 0.6–2.5.
    Sigmoid,
    /// Partial response: bottom 0.3–0.7, so an absolute IC50 may not exist.
    Partial,
    /// No effect: constant response 0.8–1.05.
    Flat,
    /// Steep: hill 4–8, ec50 inside the range.
    Steep,
}

impl SyntheticKind {
    /// The name `score_fits.py` expects.
    pub fn name(self) -> &'static str {
        match self {
            SyntheticKind::Sigmoid => "sigmoid",
            SyntheticKind::Partial => "partial",
            SyntheticKind::Flat => "flat",
            SyntheticKind::Steep => "steep",
        }
    }
}

/// How to generate a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticDesign {
    /// Concentrations of the dose series.
    pub concentrations: Vec<f64>,
    /// Replicate points per concentration.
    pub replicates: usize,
    /// Standard deviation of the Gaussian noise added to every point.
    pub noise_sd: f64,
    /// Probability that a point is replaced by a uniform draw on [0, 1.2] (an outlier).
    pub outlier_rate: f64,
}

impl Default for SyntheticDesign {
    /// 9 doses 10·3⁻⁸ … 10, 3 replicates, σ = 0.05, 0.5 % outlying points.
    fn default() -> Self {
        SyntheticDesign {
            concentrations: (0..9).map(|k| 10.0 * 3f64.powi(k - 8)).collect(),
            replicates: 3,
            noise_sd: 0.05,
            outlier_rate: 0.005,
        }
    }
}

impl SyntheticDesign {
    /// Checks the design before any curve is drawn: its fields are public (examples and
    /// benchmarks set them from their command line), and a NaN noise, an outlier rate outside
    /// [0, 1] or a dose series narrower than one decade (no room for an ec50 inside it) must be
    /// an error naming the field, not a panic in the random number generator.
    pub fn check(&self) -> Result<()> {
        let bad = |message: String| Err(Error::config(Location::default(), message));
        if self.noise_sd.is_nan() || self.noise_sd.is_infinite() || self.noise_sd < 0.0 {
            return bad(format!(
                "synthetic design: noise_sd is {}; expected a finite number ≥ 0",
                self.noise_sd
            ));
        }
        if !(0.0..=1.0).contains(&self.outlier_rate) {
            return bad(format!(
                "synthetic design: outlier_rate is {}; expected a probability in [0, 1]",
                self.outlier_rate
            ));
        }
        if let Some(c) = self
            .concentrations
            .iter()
            .find(|c| c.is_nan() || c.is_infinite() || **c <= 0.0)
        {
            return bad(format!(
                "synthetic design: concentration {c}; expected finite numbers > 0"
            ));
        }
        let (lo, hi) = self
            .concentrations
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &c| {
                (lo.min(c), hi.max(c))
            });
        let decades = hi.log10() - lo.log10();
        if decades.is_nan() || decades <= 1.0 {
            return bad(format!(
                "synthetic design: the concentrations span {lo} to {hi}; they must span more \
                 than one decade to place an ec50 inside them"
            ));
        }
        Ok(())
    }
}

/// One synthetic curve: its truth and its noisy points.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticCurve {
    /// Kind of truth.
    pub kind: SyntheticKind,
    /// True curve (for `Flat`, top = bottom).
    pub truth: Curve,
    /// Noisy points, named `curve<N>` / `drug`.
    pub input: CurveInput,
}

impl SyntheticCurve {
    /// True ec50 (NaN for flat curves, which have none).
    pub fn true_ec50(&self) -> f64 {
        if self.kind == SyntheticKind::Flat {
            f64::NAN
        } else {
            self.truth.ec50()
        }
    }

    /// True absolute IC50 (NaN when the true curve never crosses 0.5).
    pub fn true_ic50(&self) -> f64 {
        if self.kind == SyntheticKind::Flat {
            return f64::NAN;
        }
        self.truth
            .log10_crossing(0.5)
            .map_or(f64::NAN, |u| 10f64.powf(u))
    }
}

/// Curve number `index` of the batch with `seed`; kinds cycle in the proportions
/// 11 sigmoid : 3 partial : 3 flat : 3 steep. An error when the design fails its
/// [`SyntheticDesign::check`].
pub fn synthetic_curve(design: &SyntheticDesign, seed: u64, index: u64) -> Result<SyntheticCurve> {
    design.check()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let u_lo = design
        .concentrations
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10();
    let u_hi = design
        .concentrations
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .log10();
    let kind = match index % 20 {
        0..=10 => SyntheticKind::Sigmoid,
        11..=13 => SyntheticKind::Partial,
        14..=16 => SyntheticKind::Flat,
        _ => SyntheticKind::Steep,
    };
    let top = rng.random_range(0.9..1.05);
    let inner = (u_lo + 0.5)..(u_hi - 0.5);
    let truth = match kind {
        SyntheticKind::Sigmoid => Curve {
            top,
            bottom: rng.random_range(0.0..0.2),
            log10_ec50: rng.random_range(inner),
            hill: rng.random_range(0.6..2.5),
        },
        SyntheticKind::Partial => Curve {
            top,
            bottom: rng.random_range(0.3..0.7),
            log10_ec50: rng.random_range(inner),
            hill: rng.random_range(0.6..2.5),
        },
        SyntheticKind::Flat => {
            let level = rng.random_range(0.8..1.05);
            Curve {
                top: level,
                bottom: level,
                log10_ec50: 0.5 * (u_lo + u_hi),
                hill: 1.0,
            }
        }
        SyntheticKind::Steep => Curve {
            top,
            bottom: rng.random_range(0.0..0.1),
            log10_ec50: rng.random_range(inner),
            hill: rng.random_range(4.0..8.0),
        },
    };
    let noise = Normal::new(0.0, design.noise_sd)
        .map_err(|e| Error::config(Location::default(), format!("synthetic design: {e}")))?;
    let mut points = Vec::with_capacity(design.concentrations.len() * design.replicates);
    for _ in 0..design.replicates {
        for &c in &design.concentrations {
            let response = if rng.random_bool(design.outlier_rate) {
                rng.random_range(0.0..1.2)
            } else {
                truth.response_at(c) + noise.sample(&mut rng)
            };
            points.push(DosePoint {
                concentration: c,
                response,
            });
        }
    }
    Ok(SyntheticCurve {
        kind,
        truth,
        input: CurveInput {
            cell_line: format!("curve{index}"),
            drug: "drug".to_string(),
            points,
        },
    })
}

/// `n` curves of the batch with `seed`; an error when the design fails its check.
pub fn synthetic_batch(design: &SyntheticDesign, seed: u64, n: u64) -> Result<Vec<SyntheticCurve>> {
    (0..n).map(|i| synthetic_curve(design, seed, i)).collect()
}
