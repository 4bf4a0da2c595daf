//! Growth-rate-aware potency: GR values and metrics (Hafner et al. 2016, Nat Methods 13:521)
//! and DIP rates (Harris et al. 2016, Nat Methods 13:497), so that a line that merely grows
//! slower is not taken for a more resistant one.
//!
//! An endpoint viability compares treated with untreated cells after a fixed time; a line that
//! doubles half as often reaches a milder ratio for the same inhibition of its growth rate, so
//! its IC50 rises without any change in drug sensitivity. Both metrics here measure the drug's
//! effect per doubling of the line itself:
//!
//! - **GR** ([`gr`]): GR = 2^(log2(x/x₀) / log2(x_ctrl/x₀)) − 1 per well, from the endpoint
//!   count x, the untreated count x_ctrl and the count x₀ at treatment (time-0 reads); without
//!   time-0 reads, from the line's doubling time T_d and the endpoint time T:
//!   GR = 2^(1 + log2(x/x_ctrl)·T_d/T) − 1. Then a GR curve (GRinf, GEC50, Hill), GR50 with
//!   its qualifier, GRmax and GR_AOC per curve.
//! - **DIP rate** ([`dip`]): the slope of log2 counts against time after the early, transient
//!   response, per well; a dose–response of DIP rates relative to the untreated rate (E0, Emax,
//!   EC50, Hill).
//!
//! Which read serves what comes from [`reads::ReadPlan`]: in a table with a `time` column a
//! well may be read many times; the reads at each plate's latest time are the endpoint (the
//! only reads that enter normalization, QC and the viability fits), time-0 reads serve only as
//! x₀, and the other reads only the DIP time courses.

// `!(x > 0.0)` is deliberate throughout: it is true for NaN, so bad numbers take the error path.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod columns;
pub mod dip;
pub mod gr;
pub mod reads;

use serde::{Deserialize, Serialize};

pub use columns::{
    has_growth_columns, write_fits_with_growth, GrowthCells, GrowthFit, GrowthStatus,
    GROWTH_COLUMNS,
};

/// The `[growth]` settings of an assay, checked once into a [`crate::checked::Checked`] value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct GrowthSettings {
    /// Hours from treatment to the endpoint read, for GR values from doubling times when the
    /// wells have no `time` column (with a `time` column, each plate's latest time is used).
    pub treatment_hours: Option<f64>,
    /// Hours after treatment before which reads are left out of every DIP rate. Without it the
    /// start of each treated well's fit is chosen as thunor does (see [`dip::DipDelay`]).
    pub dip_delay_h: Option<f64>,
}

impl GrowthSettings {
    /// Keys of the `[growth]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 2] = ["treatment_hours", "dip_delay_h"];

    /// Whether every setting is at its default (`run.json` then shows no `growth` section, so
    /// runs without growth data keep their bytes).
    pub(crate) fn is_default(&self) -> bool {
        *self == GrowthSettings::default()
    }
}

impl crate::checked::Check for GrowthSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(t) = self.treatment_hours {
            if !(t.is_finite() && t > 0.0) {
                out.push((
                    "treatment_hours",
                    format!("`growth.treatment_hours = {t}`: expected hours > 0, e.g. 72"),
                ));
            }
        }
        if let Some(d) = self.dip_delay_h {
            if !(d.is_finite() && d >= 0.0) {
                out.push((
                    "dip_delay_h",
                    format!("`growth.dip_delay_h = {d}`: expected hours ≥ 0, e.g. 24"),
                ));
            }
        }
        out
    }
}
