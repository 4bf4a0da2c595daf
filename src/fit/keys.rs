//! The `[fit]` section of an assay file as written, checked into [`FitSettings`] and from there
//! into a [`crate::fit::FitConfig`] once, when the assay is read ([`FitKeys::check_located`]);
//! the configuration is written back into `run.json` in this form.

use serde::{Deserialize, Serialize};

use super::{FitConfig, FitSettings};
use crate::error::{Location, Problem};

/// Fitting settings as written in the assay file; checked into a fit configuration by
/// [`FitKeys::check_located`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FitKeys {
    /// `ll4` (all free), `ll3` (top = 1) or `ll2` (top = 1, bottom = 0).
    pub model: String,
    /// `free` or `observed` (plateaus fixed at the observed extremes, Dhawan 2017).
    pub plateaus: String,
    /// `none`, `huber` or `cauchy`.
    pub robust: String,
    /// Bounds of the Hill slope.
    pub hill_bounds: [f64; 2],
    /// How far beyond the tested range (decades) ec50 may lie.
    pub(crate) ec50_margin_decades: f64,
    /// Bounds of a free top.
    pub(crate) top_bounds: [f64; 2],
    /// Bounds of a free bottom.
    pub(crate) bottom_bounds: [f64; 2],
    /// A curve is `flat` when the F-test against a constant has p above this.
    pub(crate) flat_alpha: f64,
    /// Confidence level of the intervals.
    pub ci_level: f64,
    /// Robust fits flag points beyond this many robust SDs.
    pub(crate) outlier_threshold: f64,
}

impl Default for FitKeys {
    fn default() -> Self {
        FitKeys {
            model: "ll4".into(),
            plateaus: "free".into(),
            robust: "none".into(),
            hill_bounds: [0.05, 10.0],
            ec50_margin_decades: 2.0,
            top_bounds: [0.0, 2.0],
            bottom_bounds: [0.0, 1.5],
            flat_alpha: 0.05,
            ci_level: 0.95,
            outlier_threshold: 3.0,
        }
    }
}

impl FitKeys {
    /// Keys of the `[fit]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 10] = [
        "model",
        "plateaus",
        "robust",
        "hill_bounds",
        "ec50_margin_decades",
        "top_bounds",
        "bottom_bounds",
        "flat_alpha",
        "ci_level",
        "outlier_threshold",
    ];

    /// The fitting settings these keys name; on a bad value, the key and a message.
    pub fn to_settings(&self) -> std::result::Result<FitSettings, (&'static str, String)> {
        let model = self
            .model
            .parse()
            .map_err(|e: String| ("model", format!("`fit.model`: {e}")))?;
        let plateaus = self
            .plateaus
            .parse()
            .map_err(|e: String| ("plateaus", format!("`fit.plateaus`: {e}")))?;
        let robust = self
            .robust
            .parse()
            .map_err(|e: String| ("robust", format!("`fit.robust`: {e}")))?;
        Ok(FitSettings {
            model,
            plateaus,
            robust,
            hill_bounds: (self.hill_bounds[0], self.hill_bounds[1]),
            ec50_margin_decades: self.ec50_margin_decades,
            top_bounds: (self.top_bounds[0], self.top_bounds[1]),
            bottom_bounds: (self.bottom_bounds[0], self.bottom_bounds[1]),
            flat_alpha: self.flat_alpha,
            ci_level: self.ci_level,
            outlier_threshold: self.outlier_threshold,
            ..Default::default()
        })
    }

    /// Checks the keys once into the configuration every fit takes, placing each problem where
    /// `at` says its key is written (a problem of the whole section at `fit`).
    pub fn check_located(
        &self,
        at: impl Fn(&str) -> Location,
    ) -> std::result::Result<FitConfig, Vec<Problem>> {
        let settings = self.to_settings().map_err(|(key, message)| {
            vec![Problem {
                location: at(key),
                message,
            }]
        })?;
        settings.check().map_err(|e| {
            vec![Problem {
                location: at("fit"),
                message: e.to_string(),
            }]
        })
    }
}

/// The keys that give `settings` (the words of its choices, its bounds as arrays): how a
/// checked configuration is written into `run.json`.
impl From<&FitSettings> for FitKeys {
    fn from(s: &FitSettings) -> FitKeys {
        FitKeys {
            model: s.model.name().into(),
            plateaus: s.plateaus.name().into(),
            robust: s.robust.name().into(),
            hill_bounds: [s.hill_bounds.0, s.hill_bounds.1],
            ec50_margin_decades: s.ec50_margin_decades,
            top_bounds: [s.top_bounds.0, s.top_bounds.1],
            bottom_bounds: [s.bottom_bounds.0, s.bottom_bounds.1],
            flat_alpha: s.flat_alpha,
            ci_level: s.ci_level,
            outlier_threshold: s.outlier_threshold,
        }
    }
}

/// Written as the assay file's `[fit]` keys.
impl Serialize for FitConfig {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FitKeys::from(self.settings()).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_checking() {
        let keys = FitKeys {
            model: "ll3".into(),
            robust: "huber".into(),
            hill_bounds: [0.1, 5.0],
            ..FitKeys::default()
        };
        let config = keys.check_located(|_| Location::default()).unwrap();
        assert_eq!(FitKeys::from(config.settings()), keys);
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::to_value(&keys).unwrap()
        );
    }
}
