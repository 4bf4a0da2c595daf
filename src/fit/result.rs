//! The per-curve result: one row of `fits.csv`.

use std::fmt;

use super::model::Model;
use super::{Plateaus, RobustLoss};
use crate::text::Cell;

/// Whether `ic50` is a point estimate or a bound at the edge of the tested range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ic50Qualifier {
    /// `=`: the fitted curve crosses 0.5 inside the tested range; `ic50` is that concentration.
    Equal,
    /// `>`: the curve stays above 0.5 up to the highest tested concentration, which `ic50` holds.
    Greater,
    /// `<`: the curve is below 0.5 already at the lowest tested concentration, which `ic50` holds.
    Less,
    /// `~`: the fitted curve crosses 0.5 inside the tested range, but its Hill slope sits at its
    /// upper bound, so the data place the IC50 only within `ic50_ci_low`–`ic50_ci_high` (at
    /// least the gap between the two tested doses that bracket it); `ic50` is the fitted
    /// crossing inside that interval. A curve steeper than the bound changes from full to no
    /// response between two doses, and where in that gap it crosses 0.5 is not in the data.
    Within,
}

impl Ic50Qualifier {
    /// The symbol written to `fits.csv`.
    pub fn symbol(self) -> &'static str {
        match self {
            Ic50Qualifier::Equal => "=",
            Ic50Qualifier::Greater => ">",
            Ic50Qualifier::Less => "<",
            Ic50Qualifier::Within => "~",
        }
    }
}

impl fmt::Display for Ic50Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// How a curve's fit ended. Every curve gets one, with the reason in [`CurveFit::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStatus {
    /// The model converged and describes the data better than a constant.
    Ok,
    /// The model is not better than a constant (F-test p above the configured alpha).
    Flat,
    /// Fewer usable points or distinct concentrations than the model needs.
    InsufficientData,
    /// The solver did not converge or produced non-finite values; see the message.
    Failed,
}

impl FitStatus {
    /// Every status, in the order `run.json` counts them.
    pub const ALL: [FitStatus; 4] = [
        FitStatus::Ok,
        FitStatus::Flat,
        FitStatus::InsufficientData,
        FitStatus::Failed,
    ];

    /// The status written as `text` (a fits table's `status` cell); `None` for any other text.
    pub fn parse(text: &str) -> Option<FitStatus> {
        let text = text.trim();
        FitStatus::ALL.into_iter().find(|s| s.name() == text)
    }

    /// The name written to `fits.csv`.
    pub fn name(self) -> &'static str {
        match self {
            FitStatus::Ok => "ok",
            FitStatus::Flat => "flat",
            FitStatus::InsufficientData => "insufficient_data",
            FitStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for FitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fitted curve: the `fits.csv` columns, in order, then extra diagnostics.
///
/// Numbers that do not exist for a curve (an ec50 of a flat curve, a CI of a censored ic50) are
/// NaN and written as empty cells. Concentrations are in the input's unit.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CurveFit {
    /// Cell line (empty when fitted with [`super::fit_curve`] directly).
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// Points used in the fit (finite response, finite concentration > 0).
    pub n_points: usize,
    /// Fitted (or fixed) response at zero concentration.
    pub top: f64,
    /// Fitted (or fixed) response at infinite concentration.
    pub bottom: f64,
    /// Relative IC50: the inflection point, halfway between top and bottom.
    pub ec50: f64,
    /// Hill slope (> 0: falling curve).
    pub hill: f64,
    /// Absolute IC50 (curve crosses 0.5), or the tested-range edge when censored.
    pub ic50: f64,
    /// `=`, `>`, `<` or `~`; `None` when the fit has no curve (insufficient data, failed).
    pub ic50_qualifier: Option<Ic50Qualifier>,
    /// Lower end of the confidence interval of ic50 (delta method on log10 ic50, t quantile);
    /// with qualifier `~`, of the interval the data place it in.
    pub ic50_ci_low: f64,
    /// Upper end of that interval.
    pub ic50_ci_high: f64,
    /// Mean of the fitted curve over the tested log10-concentration range.
    pub auc: f64,
    /// 1 − auc.
    pub aac: f64,
    /// Coefficient of determination of the fitted curve on the points used.
    pub r2: f64,
    /// Root mean squared residual, sqrt(SSE / n_points).
    pub rmse: f64,
    /// How the fit ended.
    pub status: FitStatus,
    /// Why: the reason for a non-`ok` status, and notes (excluded points, bounds hit, outliers).
    pub message: String,
    /// Model fitted.
    pub model: Model,
    /// Plateau handling used.
    pub plateaus: Plateaus,
    /// Robust loss used.
    pub robust: RobustLoss,
    /// Standard error of log10 ec50 (NaN when not estimable).
    pub log10_ec50_se: f64,
    /// Standard error of log10 ic50 by the delta method (NaN unless the qualifier is `=` or
    /// `~`); with `~`, the one the placement interval implies (its log10 width / 2t).
    pub log10_ic50_se: f64,
    /// Standard error of log10 auc by the delta method (NaN when not estimable).
    pub(crate) log10_auc_se: f64,
    /// Standard error of the fitted bottom (NaN when bottom is fixed, on a bound or not
    /// estimable). Not a `fits.csv` column: the growth stage reports it for the DIP curve's
    /// Emax.
    pub(crate) bottom_se: f64,
    /// Lower end of the confidence interval of ec50.
    pub ec50_ci_low: f64,
    /// Upper end of the confidence interval of ec50.
    pub ec50_ci_high: f64,
    /// p-value of the F-test of the model against a constant.
    pub(crate) f_test_p: f64,
    /// Residual degrees of freedom (n_points − free parameters).
    pub dof: usize,
    /// Points flagged as outlying by the robust fit (always 0 without one).
    pub n_outliers: usize,
    /// Indices (into the input points) of the flagged points.
    pub outliers: Vec<usize>,
    /// Whether the reported numbers rest on a finished fit: the solver reached a minimum (not
    /// its iteration cap), or the curve was certified flat without solving. False for
    /// `insufficient_data` and `failed`.
    pub converged: bool,
    /// Solver iterations summed over all starts and robust rounds.
    pub iterations: u32,
}

/// Column names of `fits.csv`, in order: the DESIGN.md contract, then the extra diagnostics.
pub const FITS_COLUMNS: [&str; 30] = [
    "cell_line",
    "drug",
    "n_points",
    "top",
    "bottom",
    "ec50",
    "hill",
    "ic50",
    "ic50_qualifier",
    "ic50_ci_low",
    "ic50_ci_high",
    "auc",
    "aac",
    "r2",
    "rmse",
    "status",
    "message",
    "model",
    "plateaus",
    "robust",
    "log10_ec50_se",
    "log10_ic50_se",
    "ec50_ci_low",
    "ec50_ci_high",
    "f_test_p",
    "dof",
    "n_outliers",
    "converged",
    "iterations",
    "log10_auc_se",
];

impl CurveFit {
    /// The row of `fits.csv`, a typed cell per column of [`FITS_COLUMNS`]: the one list its
    /// writers, its reader and its typed columns follow.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        let mut cells = Vec::with_capacity(FITS_COLUMNS.len());
        cells.extend([
            Cell::text(&self.cell_line),
            Cell::text(&self.drug),
            Cell::count(self.n_points),
        ]);
        cells.extend([self.top, self.bottom, self.ec50, self.hill, self.ic50].map(Cell::Number));
        cells.push(Cell::text(self.ic50_qualifier.map_or("", |q| q.symbol())));
        cells.extend(
            [
                self.ic50_ci_low,
                self.ic50_ci_high,
                self.auc,
                self.aac,
                self.r2,
                self.rmse,
            ]
            .map(Cell::Number),
        );
        cells.extend([
            Cell::text(self.status.name()),
            Cell::text(&self.message),
            Cell::text(self.model.name()),
            Cell::text(self.plateaus.name()),
            Cell::text(self.robust.name()),
        ]);
        cells.extend(
            [
                self.log10_ec50_se,
                self.log10_ic50_se,
                self.ec50_ci_low,
                self.ec50_ci_high,
                self.f_test_p,
            ]
            .map(Cell::Number),
        );
        cells.extend([
            Cell::count(self.dof),
            Cell::count(self.n_outliers),
            Cell::Flag(self.converged),
            Cell::Count(u64::from(self.iterations)),
            Cell::Number(self.log10_auc_se),
        ]);
        cells
    }

    /// Writes the row of `fits.csv` ([`CurveFit::cells`]) field by field, reusing `buffer`
    /// for numbers: a batch of ten thousand curves should not cost 300,000 strings.
    pub(crate) fn write_fields<W: std::io::Write>(
        &self,
        w: &mut csv::Writer<W>,
        buffer: &mut String,
    ) -> csv::Result<()> {
        for cell in self.cells() {
            cell.write_into(buffer);
            w.write_field(buffer.as_bytes())?;
        }
        w.write_record(None::<&[u8]>)
    }

    /// The row of `fits.csv` as text, in [`FITS_COLUMNS`] order.
    pub fn to_record(&self) -> Vec<String> {
        let mut buffer = String::new();
        self.cells()
            .iter()
            .map(|c| {
                c.write_into(&mut buffer);
                buffer.clone()
            })
            .collect()
    }
}
