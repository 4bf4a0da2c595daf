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
    /// The growth cells of one `fits.csv` row, typed, in [`GROWTH_COLUMNS`] order: the one
    /// list its writer and its typed columns follow.
    pub fn cells(&self) -> Vec<Cell<'_>> {
        let n = Cell::Number;
        let mut out = Vec::with_capacity(GROWTH_COLUMNS.len());
        match &self.gr {
            Some(g) => {
                let fit = &g.fit;
                out.extend([
                    n(fit.ic50),
                    Cell::text(fit.ic50_qualifier.map_or("", |q| q.symbol())),
                    n(fit.bottom),
                    n(fit.ec50),
                    n(g.grmax),
                    n(g.gr_aoc),
                    n(fit.hill),
                    Cell::count(fit.n_points),
                    Cell::text(fit.status.name()),
                    Cell::owned(join(&fit.message, &self.gr_note)),
                    Cell::text(&self.gr_source),
                    n(fit.log10_ic50_se),
                    n(fit.ic50_ci_low),
                    n(fit.ic50_ci_high),
                    Cell::count(fit.dof),
                    n(g.log10_gr_aoc_se),
                    Cell::count(g.gr_aoc_dof),
                    n(fit.r2),
                ]);
            }
            None => {
                out.extend(std::iter::repeat_n(Cell::Absent, 8));
                out.push(Cell::text(NOT_COMPUTED));
                out.push(Cell::text(&self.gr_note));
                out.push(Cell::text(&self.gr_source));
                out.extend(std::iter::repeat_n(Cell::Absent, 7));
            }
        }
        match &self.dip {
            Some(d) => {
                let fit = &d.fit;
                out.extend([
                    n(d.e0()),
                    n(d.emax()),
                    n(fit.ec50),
                    n(fit.hill),
                    n(d.emax_rel()),
                    Cell::count(d.n_wells),
                    Cell::text(fit.status.name()),
                    Cell::owned(join(&fit.message, &self.dip_note)),
                    n(fit.log10_ec50_se),
                    n(fit.ec50_ci_low),
                    n(fit.ec50_ci_high),
                    n(d.emax_rel_se()),
                    Cell::count(fit.dof),
                    n(fit.r2),
                ]);
            }
            None => {
                out.extend(std::iter::repeat_n(Cell::Absent, 6));
                out.push(Cell::text(NOT_COMPUTED));
                out.push(Cell::text(&self.dip_note));
                out.extend(std::iter::repeat_n(Cell::Absent, 6));
            }
        }
        debug_assert_eq!(out.len(), GROWTH_COLUMNS.len());
        out
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
