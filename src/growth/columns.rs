//! The growth columns of `fits.csv` (GR metrics, then DIP-rate fit) and the shift estimates
//! they give.
//!
//! They follow the viability columns, which keep their names and order, and are written only
//! by runs whose wells carry growth information (a `time` column, or doubling times in the
//! lines table); a row whose curve has no GR values or no DIP rates keeps the columns empty and
//! says why in `gr_message` / `dip_message` with `gr_status` / `dip_status` `not_computed`.

use std::io::Write;

use super::dip::DipCurve;
use super::gr::GrCurve;
use crate::fit::{CurveFit, FitStatus, Ic50Qualifier, FITS_COLUMNS};
use crate::shift::{Bound, Estimate, Metric};
use crate::text::Cell;

/// The cells of a growth metric's columns: value, log10 SE, interval, dof, status (`None`:
/// not computed), message and qualifier.
type Cells = (
    f64,
    f64,
    (f64, f64),
    f64,
    Option<FitStatus>,
    String,
    Option<Ic50Qualifier>,
);

/// The growth columns of `fits.csv`, in order after [`FITS_COLUMNS`].
pub const GROWTH_COLUMNS: [&str; 32] = [
    "gr50",
    "gr50_qualifier",
    "grinf",
    "gec50",
    "grmax",
    "gr_aoc",
    "gr_hill",
    "gr_n_points",
    "gr_status",
    "gr_message",
    "gr_source",
    "log10_gr50_se",
    "gr50_ci_low",
    "gr50_ci_high",
    "gr_dof",
    "log10_gr_aoc_se",
    "gr_aoc_dof",
    "gr_r2",
    "dip_e0",
    "dip_emax",
    "dip_ec50",
    "dip_hill",
    "dip_emax_rel",
    "dip_n_wells",
    "dip_status",
    "dip_message",
    "log10_dip_ec50_se",
    "dip_ec50_ci_low",
    "dip_ec50_ci_high",
    "dip_emax_rel_se",
    "dip_dof",
    "dip_r2",
];

/// The status of a growth fit in `fits.csv` (`gr_status`, `dip_status`): the fit's status, or
/// `not_computed` when the run lacked what the growth metric needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowthStatus {
    /// The curve was fitted and ended so.
    Fit(FitStatus),
    /// No curve: the run lacked the reads (`gr_message`/`dip_message` says why).
    NotComputed,
}

impl GrowthStatus {
    /// The name written to `fits.csv`.
    pub fn name(self) -> &'static str {
        match self {
            GrowthStatus::Fit(status) => status.name(),
            GrowthStatus::NotComputed => NOT_COMPUTED,
        }
    }
}

/// The status written when a curve has no GR values or no DIP rates at all.
pub(crate) const NOT_COMPUTED: &str = "not_computed";

/// The growth results of one curve.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct GrowthFit {
    /// The GR curve, when the curve has GR values.
    pub gr: Option<GrCurve>,
    /// Where x₀ came from (`time0`, `doubling_time`, or both joined by `+`).
    pub gr_source: String,
    /// Why GR is absent, or notes on the GR values (units without GR, wells dropped).
    pub(crate) gr_note: String,
    /// The DIP-rate curve, when the curve's wells have DIP rates.
    pub dip: Option<DipCurve>,
    /// Why DIP is absent, or notes.
    pub(crate) dip_note: String,
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}; {b}"),
    }
}

impl GrowthFit {
    /// The growth cells of one `fits.csv` row, typed, in [`GROWTH_COLUMNS`] order: those of
    /// its [`GrowthCells`], the one list its writer, reader and typed columns follow.
    pub fn cells(&self) -> Vec<Cell<'static>> {
        GrowthCells::of(self).into_cells()
    }

    /// The growth cells of one `fits.csv` row as text ([`GrowthFit::cells`]).
    pub fn record(&self) -> Vec<String> {
        let mut buffer = String::new();
        self.cells()
            .iter()
            .map(|c| {
                c.write_into(&mut buffer);
                buffer.clone()
            })
            .collect()
    }

    /// The estimate of a growth `metric` for the shift step: what
    /// [`crate::shift::read_estimates`] reads back from the row [`GrowthFit::record`] writes,
    /// number for number, so `collateral shift` on a run's `fits.csv` gives the run's shifts.
    pub fn estimate(&self, fit: &CurveFit, replicate: &str, metric: Metric) -> Estimate {
        let nan = f64::NAN;
        let mut e = Estimate {
            cell_line: fit.cell_line.clone(),
            replicate: replicate.to_string(),
            drug: fit.drug.clone(),
            value: nan,
            qualifier: None,
            log10_se: nan,
            dof: nan,
            ci: (nan, nan),
            problem: String::new(),
            hill_at_bound: false,
            batch: String::new(),
        };
        let name = metric.name();
        let Some(cells) = self.metric_cells(metric) else {
            e.problem = format!("{name} is not a growth metric");
            return e;
        };
        let (value, se, ci, dof, status, message, qualifier) = cells;
        e.value = value;
        e.log10_se = se;
        e.ci = ci;
        e.dof = dof;
        let usable = match status {
            Some(FitStatus::Ok) => true,
            Some(FitStatus::Flat) => metric.columns().flat_usable,
            _ => false,
        };
        if !usable {
            let status = status.map_or(NOT_COMPUTED, FitStatus::name);
            e.problem = format!("{status}: {message}");
        } else if e.value.is_nan() || e.value <= 0.0 {
            e.problem = format!("no positive {name} in the fits table");
        } else {
            e.qualifier = Some(qualifier.map_or(Bound::Equal, Bound::of_ic50));
            e.hill_at_bound = qualifier == Some(Ic50Qualifier::Within);
        }
        if !e.dof.is_finite() {
            e.dof = 1e6;
        }
        if !e.log10_se.is_finite() && e.ci.0 > 0.0 && e.ci.1 > e.ci.0 {
            e.log10_se = (e.ci.1.log10() - e.ci.0.log10()) / (2.0 * 1.959_963_984_540_054);
        }
        e
    }

    /// The cells of a growth metric's columns (value, log10 SE, interval, dof, status, message
    /// and qualifier); `None` for a metric that is not a growth metric.
    fn metric_cells(&self, metric: Metric) -> Option<Cells> {
        let nan = f64::NAN;
        let not_computed =
            |note: &str| -> Cells { (nan, nan, (nan, nan), nan, None, note.into(), None) };
        let cells: Cells = match metric {
            Metric::Gr50 | Metric::GrAoc => match &self.gr {
                None => not_computed(&self.gr_note),
                Some(g) => {
                    let c = &g.fit;
                    let message = join(&c.message, &self.gr_note);
                    let status = Some(c.status);
                    if metric == Metric::Gr50 {
                        let ci = (c.ic50_ci_low, c.ic50_ci_high);
                        let (dof, q) = (c.dof as f64, c.ic50_qualifier);
                        (c.ic50, c.log10_ic50_se, ci, dof, status, message, q)
                    } else {
                        let dof = g.gr_aoc_dof as f64;
                        (
                            g.gr_aoc,
                            g.log10_gr_aoc_se,
                            (nan, nan),
                            dof,
                            status,
                            message,
                            None,
                        )
                    }
                }
            },
            Metric::DipEc50 | Metric::DipEmax => match &self.dip {
                None => not_computed(&self.dip_note),
                Some(d) => {
                    let c = &d.fit;
                    let message = join(&c.message, &self.dip_note);
                    let status = Some(c.status);
                    let dof = c.dof as f64;
                    if metric == Metric::DipEc50 {
                        let ci = (c.ec50_ci_low, c.ec50_ci_high);
                        (c.ec50, c.log10_ec50_se, ci, dof, status, message, None)
                    } else {
                        // Written as Emax/E0 and its SE; compared as 2^(Emax/E0).
                        let value = d.emax_rel().exp2();
                        let se = d.emax_rel_se() * std::f64::consts::LOG10_2;
                        (value, se, (nan, nan), dof, status, message, None)
                    }
                }
            },
            _ => return None,
        };
        Some(cells)
    }
}

/// The growth cells of one fits row as the table holds them, in [`GROWTH_COLUMNS`] order:
/// what a run writes for its [`GrowthFit`] and what a reader of a finished folder gets back
/// (`output::tables::GrowthFitRecord`). A metric not computed is NaN (a count
/// `None`) with its status [`GrowthStatus::NotComputed`].
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // The fields are the columns of the same names.
pub struct GrowthCells {
    pub gr50: f64,
    pub gr50_qualifier: Option<Ic50Qualifier>,
    pub grinf: f64,
    pub gec50: f64,
    pub grmax: f64,
    pub gr_aoc: f64,
    pub gr_hill: f64,
    pub gr_n_points: Option<usize>,
    pub gr_status: GrowthStatus,
    pub gr_message: String,
    pub gr_source: String,
    pub log10_gr50_se: f64,
    pub gr50_ci: (f64, f64),
    pub gr_dof: Option<usize>,
    pub log10_gr_aoc_se: f64,
    pub gr_aoc_dof: Option<usize>,
    pub gr_r2: f64,
    pub dip_e0: f64,
    pub dip_emax: f64,
    pub dip_ec50: f64,
    pub dip_hill: f64,
    pub dip_emax_rel: f64,
    pub dip_n_wells: Option<usize>,
    pub dip_status: GrowthStatus,
    pub dip_message: String,
    pub log10_dip_ec50_se: f64,
    pub dip_ec50_ci: (f64, f64),
    pub dip_emax_rel_se: f64,
    pub dip_dof: Option<usize>,
    pub dip_r2: f64,
}

impl GrowthCells {
    /// The cells a run writes for `g`.
    pub fn of(g: &GrowthFit) -> GrowthCells {
        let nan = f64::NAN;
        let mut c = GrowthCells {
            gr50: nan,
            gr50_qualifier: None,
            grinf: nan,
            gec50: nan,
            grmax: nan,
            gr_aoc: nan,
            gr_hill: nan,
            gr_n_points: None,
            gr_status: GrowthStatus::NotComputed,
            gr_message: g.gr_note.clone(),
            gr_source: g.gr_source.clone(),
            log10_gr50_se: nan,
            gr50_ci: (nan, nan),
            gr_dof: None,
            log10_gr_aoc_se: nan,
            gr_aoc_dof: None,
            gr_r2: nan,
            dip_e0: nan,
            dip_emax: nan,
            dip_ec50: nan,
            dip_hill: nan,
            dip_emax_rel: nan,
            dip_n_wells: None,
            dip_status: GrowthStatus::NotComputed,
            dip_message: g.dip_note.clone(),
            log10_dip_ec50_se: nan,
            dip_ec50_ci: (nan, nan),
            dip_emax_rel_se: nan,
            dip_dof: None,
            dip_r2: nan,
        };
        if let Some(gr) = &g.gr {
            c.set_gr(gr, &g.gr_note);
        }
        if let Some(dip) = &g.dip {
            c.set_dip(dip, &g.dip_note);
        }
        c
    }

    /// The GR cells of a fitted GR curve (`note`: the run's notes on its GR values).
    fn set_gr(&mut self, g: &GrCurve, note: &str) {
        let fit = &g.fit;
        (self.gr50, self.gr50_qualifier, self.grinf, self.gec50) =
            (fit.ic50, fit.ic50_qualifier, fit.bottom, fit.ec50);
        (self.grmax, self.gr_aoc, self.gr_hill) = (g.grmax, g.gr_aoc, fit.hill);
        self.gr_n_points = Some(fit.n_points);
        self.gr_status = GrowthStatus::Fit(fit.status);
        self.gr_message = join(&fit.message, note);
        (self.log10_gr50_se, self.gr50_ci) =
            (fit.log10_ic50_se, (fit.ic50_ci_low, fit.ic50_ci_high));
        self.gr_dof = Some(fit.dof);
        (self.log10_gr_aoc_se, self.gr_aoc_dof) = (g.log10_gr_aoc_se, Some(g.gr_aoc_dof));
        self.gr_r2 = fit.r2;
    }

    /// The DIP cells of a fitted DIP-rate curve (`note`: the run's notes on its rates).
    fn set_dip(&mut self, d: &DipCurve, note: &str) {
        let fit = &d.fit;
        (self.dip_e0, self.dip_emax, self.dip_ec50, self.dip_hill) =
            (d.e0(), d.emax(), fit.ec50, fit.hill);
        (self.dip_emax_rel, self.dip_n_wells) = (d.emax_rel(), Some(d.n_wells));
        self.dip_status = GrowthStatus::Fit(fit.status);
        self.dip_message = join(&fit.message, note);
        self.log10_dip_ec50_se = fit.log10_ec50_se;
        self.dip_ec50_ci = (fit.ec50_ci_low, fit.ec50_ci_high);
        (self.dip_emax_rel_se, self.dip_dof) = (d.emax_rel_se(), Some(fit.dof));
        self.dip_r2 = fit.r2;
    }

    /// The cells, in [`GROWTH_COLUMNS`] order.
    pub fn into_cells(self) -> Vec<Cell<'static>> {
        let n = Cell::Number;
        let count = |c: Option<usize>| c.map_or(Cell::Absent, Cell::count);
        let out = vec![
            n(self.gr50),
            Cell::text(self.gr50_qualifier.map_or("", |q| q.symbol())),
            n(self.grinf),
            n(self.gec50),
            n(self.grmax),
            n(self.gr_aoc),
            n(self.gr_hill),
            count(self.gr_n_points),
            Cell::text(self.gr_status.name()),
            Cell::owned(self.gr_message),
            Cell::owned(self.gr_source),
            n(self.log10_gr50_se),
            n(self.gr50_ci.0),
            n(self.gr50_ci.1),
            count(self.gr_dof),
            n(self.log10_gr_aoc_se),
            count(self.gr_aoc_dof),
            n(self.gr_r2),
            n(self.dip_e0),
            n(self.dip_emax),
            n(self.dip_ec50),
            n(self.dip_hill),
            n(self.dip_emax_rel),
            count(self.dip_n_wells),
            Cell::text(self.dip_status.name()),
            Cell::owned(self.dip_message),
            n(self.log10_dip_ec50_se),
            n(self.dip_ec50_ci.0),
            n(self.dip_ec50_ci.1),
            n(self.dip_emax_rel_se),
            count(self.dip_dof),
            n(self.dip_r2),
        ];
        debug_assert_eq!(out.len(), GROWTH_COLUMNS.len());
        out
    }
}

/// Whether a fits table of columns `header` is one with growth columns: any of them there
/// (then every one must be: `output::tables::GrowthFitRecord`).
pub fn has_growth_columns(header: &[String]) -> bool {
    header.iter().any(|h| GROWTH_COLUMNS.contains(&h.as_str()))
}

/// Writes a fits table with the growth columns after the viability columns: `fits.csv`, or
/// with `replicates` (one label per row) `fits_by_replicate.csv`, whose first column is the
/// replicate. `growth` is aligned with `fits`.
pub fn write_fits_with_growth(
    w: &mut dyn Write,
    fits: &[CurveFit],
    growth: &[GrowthFit],
    replicates: Option<&[String]>,
) -> std::io::Result<()> {
    let (header, rows) = growth_fit_rows(fits, growth, replicates);
    crate::text::write_rows(w, &header, rows)
}

/// The header and typed rows of a fits table with the growth columns (see
/// [`write_fits_with_growth`]).
pub(crate) fn growth_fit_rows<'a>(
    fits: &'a [CurveFit],
    growth: &'a [GrowthFit],
    replicates: Option<&'a [String]>,
) -> (Vec<&'static str>, Vec<Vec<Cell<'a>>>) {
    let mut header: Vec<&str> = Vec::new();
    if replicates.is_some() {
        header.push("replicate");
    }
    header.extend(FITS_COLUMNS);
    header.extend(GROWTH_COLUMNS);
    let rows = fits
        .iter()
        .zip(growth)
        .enumerate()
        .map(|(i, (f, g))| {
            let mut cells: Vec<Cell> = Vec::with_capacity(header.len());
            if let Some(r) = replicates {
                cells.push(Cell::text(&r[i]));
            }
            cells.extend(f.cells());
            cells.extend(g.cells());
            cells
        })
        .collect();
    (header, rows)
}
