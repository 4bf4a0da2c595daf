//! The row types of the run's tables beyond the wells, QC and fits ([`Record`] each): the
//! stages' own result types where they hold a row as written (`likelihood.csv`,
//! `stability.csv`, `cycles.csv`, `plan.csv`, `policy.csv`, `dip_rates.csv`), and
//! [`Trajectory`] for `trajectories.csv`, whose stage type borrows its shift. Each table's
//! writer is [`write_records`](super::record::write_records) of its rows, its reader
//! [`read_records`](super::record::read_records), its typed columns `frame::frame_of`.

use std::io::Write;
use std::path::Path;

use super::read::{Column, OutputTable};
use super::record::{named, optional, read_records, write_rows, Cell, Fields, Record};
use crate::error::Result;
use crate::fit::{CurveFit, Model, Plateaus, RobustLoss, FITS_COLUMNS};
use crate::growth::dip::{DipWell, DIP_RATE_COLUMNS};
use crate::growth::{GrowthCells, GROWTH_COLUMNS};
use crate::lineage::{
    Course, Likelihood, Stability, TrajectoryPoint, LIKELIHOOD_COLUMNS, STABILITY_COLUMNS,
    TRAJECTORY_COLUMNS,
};
use crate::mic::{Mic, MIC_COLUMNS};
use crate::network::{Cycle, Matrix};
use crate::plan::{PolicyRow, Scores, Sequence, PLAN_COLUMNS, POLICY_COLUMNS};
use crate::plate::WellPos;
use crate::shift::{Bound, Call, Metric, Shift, SHIFT_COLUMNS};
use crate::wells::Role;

impl Record for Likelihood {
    const FILE: &'static str = "likelihood.csv";
    const COLUMNS: &'static [&'static str] = &LIKELIHOOD_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![
            Cell::text(&self.selected_with),
            Cell::text(&self.drug),
            Cell::Number(self.evolution_time),
            Cell::count(self.n_lineages),
        ];
        cells.extend(self.n_calls.iter().map(|&n| Cell::count(n)));
        cells.extend(
            [
                self.cs_likelihood,
                self.cs_ci.0,
                self.cs_ci.1,
                self.cr_likelihood,
                self.cr_ci.0,
                self.cr_ci.1,
                self.median_log2_fc,
            ]
            .map(Cell::Number),
        );
        cells
    }

    fn read(f: &mut Fields) -> Result<Likelihood> {
        Ok(Likelihood {
            selected_with: f.text(),
            drug: f.text(),
            evolution_time: f.number()?,
            n_lineages: f.count()?,
            n_calls: [f.count()?, f.count()?, f.count()?, f.count()?],
            cs_likelihood: f.number()?,
            cs_ci: (f.number()?, f.number()?),
            cr_likelihood: f.number()?,
            cr_ci: (f.number()?, f.number()?),
            median_log2_fc: f.number()?,
        })
    }
}

impl Record for Stability {
    const FILE: &'static str = "stability.csv";
    const COLUMNS: &'static [&'static str] = &STABILITY_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let fraction = |k: usize| Cell::Number(self.n_calls[k] as f64 / self.n_times as f64);
        let mut cells = vec![
            Cell::text(&self.lineage),
            Cell::text(&self.selected_with),
            Cell::text(&self.drug),
            Cell::count(self.n_times),
            Cell::Number(self.first_time),
            Cell::Number(self.last_time),
        ];
        cells.extend(self.n_calls.iter().map(|&n| Cell::count(n)));
        cells.extend([
            fraction(0),
            fraction(1),
            fraction(2),
            Cell::Number(self.first_cs_time),
            Cell::Number(self.last_cs_time),
            Cell::count(self.call_changes),
            named(self.last_call),
            optional(self.course),
            Cell::count(self.slope_points),
            Cell::Number(self.slope),
            Cell::Number(self.slope_ci_low),
            Cell::Number(self.slope_ci_high),
        ]);
        cells
    }

    fn read(f: &mut Fields) -> Result<Stability> {
        let (lineage, selected_with, drug) = (f.text(), f.text(), f.text());
        let (n_times, first_time, last_time) = (f.count()?, f.number()?, f.number()?);
        let n_calls = [f.count()?, f.count()?, f.count()?, f.count()?];
        // The fractions are the counts over n_times: checked as numbers, written from those.
        for _ in 0..3 {
            f.number()?;
        }
        Ok(Stability {
            lineage,
            selected_with,
            drug,
            n_times,
            first_time,
            last_time,
            n_calls,
            first_cs_time: f.number()?,
            last_cs_time: f.number()?,
            call_changes: f.count()?,
            last_call: f.named()?,
            course: f.optional::<Course>()?,
            slope_points: f.count()?,
            slope: f.number()?,
            slope_ci_low: f.number()?,
            slope_ci_high: f.number()?,
        })
    }
}

/// One row of `trajectories.csv`: a shift of a line sampled at an evolution time, with its
/// lineage (the row [`TrajectoryPoint`] writes, owning its values).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Trajectory {
    /// The lineage (`lineage rep r` for a replicate reported on its own).
    pub lineage: String,
    /// Drug the line was selected with.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// When the line was sampled.
    pub evolution_time: f64,
    /// The line.
    pub resistant_line: String,
    /// Its parental line.
    pub parental_line: String,
    /// The shift's log2 fold change.
    pub log2_fc: f64,
    /// `=`, `>` or `<`; `None` when empty.
    pub log2_fc_qualifier: Option<Bound>,
    /// Lower end of the log2_fc interval.
    pub ci_low: f64,
    /// Upper end of the log2_fc interval.
    pub ci_high: f64,
    /// The shift's q-value.
    pub q_value: f64,
    /// The shift's call.
    pub call: Call,
}

impl From<&TrajectoryPoint<'_>> for Trajectory {
    fn from(p: &TrajectoryPoint<'_>) -> Trajectory {
        let s = p.shift;
        Trajectory {
            lineage: p.lineage.clone(),
            selected_with: s.selected_with.clone(),
            drug: s.drug.clone(),
            evolution_time: p.evolution_time,
            resistant_line: s.resistant_line.clone(),
            parental_line: s.parental_line.clone(),
            log2_fc: s.log2_fc,
            log2_fc_qualifier: s.log2_fc_qualifier,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            q_value: s.q_value,
            call: s.call,
        }
    }
}

impl Record for Trajectory {
    const FILE: &'static str = "trajectories.csv";
    const COLUMNS: &'static [&'static str] = &TRAJECTORY_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        vec![
            Cell::text(&self.lineage),
            Cell::text(&self.selected_with),
            Cell::text(&self.drug),
            Cell::Number(self.evolution_time),
            Cell::text(&self.resistant_line),
            Cell::text(&self.parental_line),
            Cell::Number(self.log2_fc),
            optional(self.log2_fc_qualifier),
            Cell::Number(self.ci_low),
            Cell::Number(self.ci_high),
            Cell::Number(self.q_value),
            named(self.call),
        ]
    }

    fn read(f: &mut Fields) -> Result<Trajectory> {
        Ok(Trajectory {
            lineage: f.text(),
            selected_with: f.text(),
            drug: f.text(),
            evolution_time: f.number()?,
            resistant_line: f.text(),
            parental_line: f.text(),
            log2_fc: f.number()?,
            log2_fc_qualifier: f.optional()?,
            ci_low: f.number()?,
            ci_high: f.number()?,
            q_value: f.number()?,
            call: f.named()?,
        })
    }
}

/// Columns of `cycles.csv`.
pub(crate) const CYCLE_COLUMNS: [&str; 5] =
    ["rank", "length", "cycle", "sum_log2_fc", "max_q_value"];

/// How `cycles.csv` joins a cycle's drugs (the first drug again at the end).
const CYCLE_ARROW: &str = " -> ";

impl Record for Cycle {
    const FILE: &'static str = "cycles.csv";
    const COLUMNS: &'static [&'static str] = &CYCLE_COLUMNS;

    fn cells(&self, index: usize) -> Vec<Cell<'_>> {
        let mut path = self.drugs.clone();
        path.extend(self.drugs.first().cloned());
        vec![
            Cell::count(index + 1),
            Cell::count(self.drugs.len()),
            Cell::owned(path.join(CYCLE_ARROW)),
            Cell::Number(self.sum_log2_fc),
            Cell::Number(self.max_q_value),
        ]
    }

    fn read(f: &mut Fields) -> Result<Cycle> {
        let (_rank, length) = (f.count()?, f.count()?);
        let path = f.text();
        let mut drugs: Vec<String> = path.split(CYCLE_ARROW).map(str::to_string).collect();
        drugs.pop();
        if drugs.len() != length || drugs.is_empty() {
            return Err(f.invalid(&format!(
                "{length} drugs joined by `{CYCLE_ARROW}`, the first again at the end"
            )));
        }
        Ok(Cycle {
            drugs,
            sum_log2_fc: f.number()?,
            max_q_value: f.number()?,
        })
    }
}

impl Record for PolicyRow {
    const FILE: &'static str = "policy.csv";
    const COLUMNS: &'static [&'static str] = &POLICY_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        vec![
            Cell::count(self.switches_left),
            Cell::text(&self.drug),
            Cell::Number(self.time),
            Cell::text(&self.next_drug),
            Cell::Number(self.switch_time),
            Cell::Number(self.switch_log2_fc),
            Cell::Number(self.value),
            Cell::count(self.support),
        ]
    }

    fn read(f: &mut Fields) -> Result<PolicyRow> {
        Ok(PolicyRow {
            switches_left: f.count()?,
            drug: f.text(),
            time: f.number()?,
            next_drug: f.text(),
            switch_time: f.number()?,
            switch_log2_fc: f.number()?,
            value: f.number()?,
            support: f.count()?,
        })
    }
}

impl Record for Sequence {
    const FILE: &'static str = "plan.csv";
    const COLUMNS: &'static [&'static str] = &PLAN_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![
            self.rank.map_or(Cell::Absent, Cell::count),
            Cell::owned(self.text()),
            Cell::count(self.length()),
        ];
        let scores = self
            .scores
            .map(|s| [s.expected_log2_fc, s.worst_log2_fc, s.p_no_cr, s.p_all_cs]);
        for (k, (low, high)) in self.intervals.iter().enumerate() {
            cells.push(scores.map_or(Cell::Absent, |s| Cell::Number(s[k])));
            cells.extend([Cell::Number(*low), Cell::Number(*high)]);
        }
        cells.extend([
            Cell::count(self.support),
            Cell::Flag(self.scores.is_some()),
            Cell::text(&self.reason),
            Cell::text(&self.reported_cross_resistance),
        ]);
        cells
    }

    fn read(f: &mut Fields) -> Result<Sequence> {
        let rank = f.optional_count()?;
        let drugs: Vec<String> = f.text().split(CYCLE_ARROW).map(str::to_string).collect();
        f.count()?;
        let mut values = [0.0; 4];
        let mut intervals = [(0.0, 0.0); 4];
        for k in 0..4 {
            values[k] = f.number()?;
            intervals[k] = (f.number()?, f.number()?);
        }
        let support = f.count()?;
        let scores = f.flag()?.then_some(Scores {
            expected_log2_fc: values[0],
            worst_log2_fc: values[1],
            p_no_cr: values[2],
            p_all_cs: values[3],
        });
        Ok(Sequence {
            drugs,
            rank,
            scores,
            intervals,
            support,
            reason: f.text(),
            reported_cross_resistance: f.text(),
        })
    }
}

impl Record for DipWell {
    const FILE: &'static str = "dip_rates.csv";
    const COLUMNS: &'static [&'static str] = &DIP_RATE_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![
            Cell::text(&self.plate),
            Cell::owned(self.position.to_string()),
            Cell::text(&self.cell_line),
            Cell::text(&self.drug),
            Cell::Number(self.concentration.unwrap_or(f64::NAN)),
            named(self.role),
            Cell::text(&self.replicate),
            Cell::count(self.n_reads),
            Cell::Number(self.first_time),
            Cell::Number(self.last_time),
            Cell::Number(self.start_time),
            Cell::count(self.n_fitted),
        ];
        cells.extend(
            [
                self.rate,
                self.rate_se,
                self.intercept,
                self.control_rate,
                self.relative,
            ]
            .map(Cell::Number),
        );
        cells.extend([Cell::Flag(self.excluded), Cell::text(&self.reason)]);
        cells
    }

    fn read(f: &mut Fields) -> Result<DipWell> {
        let plate = f.text();
        let well = f.text();
        let position = WellPos::parse(&well).map_err(|e| f.invalid(&e))?;
        let (cell_line, drug) = (f.text(), f.text());
        let concentration = f.number()?;
        Ok(DipWell {
            plate,
            position,
            cell_line,
            drug,
            concentration: (!concentration.is_nan()).then_some(concentration),
            role: f.named()?,
            replicate: f.text(),
            n_reads: f.count()?,
            first_time: f.number()?,
            last_time: f.number()?,
            start_time: f.number()?,
            n_fitted: f.count()?,
            rate: f.number()?,
            rate_se: f.number()?,
            intercept: f.number()?,
            control_rate: f.number()?,
            relative: f.number()?,
            excluded: f.flag()?,
            reason: f.text(),
        })
    }
}

/// `Role` as `wells.csv` and `dip_rates.csv` write it.
impl super::read::Named for Role {
    const ALL: &'static [Role] = &[Role::Sample, Role::Vehicle, Role::Blank, Role::Empty];
    fn written(self) -> &'static str {
        self.as_str()
    }
}

/// The first column of `matrix.csv` and `calls.csv`; the drugs follow.
pub(crate) const MATRIX_LINE_COLUMN: &str = "resistant_line";

/// A value of a lines × drugs table: how a cell is written and read.
pub(crate) trait MatrixValue: Sized + Copy {
    /// The table's file name.
    const FILE: &'static str;
    /// The cell of the value.
    fn cell(self) -> Cell<'static>;
    /// The value of the next cell (`None` when empty).
    fn read(f: &mut Fields) -> Result<Option<Self>>;
}

impl MatrixValue for f64 {
    const FILE: &'static str = "matrix.csv";
    fn cell(self) -> Cell<'static> {
        Cell::Number(self)
    }
    fn read(f: &mut Fields) -> Result<Option<f64>> {
        f.number().map(|x| (!x.is_nan()).then_some(x))
    }
}

impl MatrixValue for Call {
    const FILE: &'static str = "calls.csv";
    fn cell(self) -> Cell<'static> {
        named(self)
    }
    fn read(f: &mut Fields) -> Result<Option<Call>> {
        f.optional()
    }
}

/// `matrix.csv` (log2_fc of each shift) of `shifts`.
pub(crate) fn log2_fc_matrix(shifts: &[crate::shift::Shift]) -> Matrix<f64> {
    Matrix::of(shifts, |s| s.log2_fc)
}

/// `calls.csv` (the call of each shift) of `shifts`.
pub(crate) fn call_matrix(shifts: &[crate::shift::Shift]) -> Matrix<Call> {
    Matrix::of(shifts, |s| s.call)
}

/// The header and rows of cells of a lines × drugs table.
pub(crate) fn matrix_rows<T: MatrixValue>(m: &Matrix<T>) -> (Vec<&str>, Vec<Vec<Cell<'_>>>) {
    let mut header = vec![MATRIX_LINE_COLUMN];
    header.extend(m.drugs.iter().map(String::as_str));
    let rows = m
        .rows
        .iter()
        .map(|(line, values)| {
            let mut cells = vec![Cell::text(line)];
            cells.extend(values.iter().map(|v| v.map_or(Cell::Absent, T::cell)));
            cells
        })
        .collect();
    (header, rows)
}

/// Writes `matrix.csv` or `calls.csv`.
pub(crate) fn write_matrix<T: MatrixValue>(
    w: &mut dyn Write,
    m: &Matrix<T>,
) -> std::io::Result<()> {
    let (header, rows) = matrix_rows(m);
    write_rows(w, &header, rows)
}

/// Reads `matrix.csv` or `calls.csv`: `resistant_line` first (a missing one is an error naming
/// the file), every other column a drug; a malformed cell is an error naming the file, line and
/// drug.
pub(crate) fn read_matrix<T: MatrixValue>(path: &Path) -> Result<Matrix<T>> {
    let table = OutputTable::read(path)?;
    let line = table.column(MATRIX_LINE_COLUMN)?;
    let drugs: Vec<String> = table
        .header
        .iter()
        .filter(|h| *h != MATRIX_LINE_COLUMN)
        .cloned()
        .collect();
    let columns: Vec<Column> = drugs
        .iter()
        .map(|d| table.column(d))
        .collect::<Result<_>>()?;
    let rows = table.rows(|row| {
        let mut f = Fields::new(row, &columns);
        let values = (0..columns.len())
            .map(|_| T::read(&mut f))
            .collect::<Result<Vec<_>>>()?;
        Ok((row.text(line).to_string(), values))
    })?;
    Ok(Matrix { drugs, rows })
}

impl Record for CurveFit {
    const FILE: &'static str = "fits.csv";
    const COLUMNS: &'static [&'static str] = &FITS_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        CurveFit::cells(self)
    }

    fn read(f: &mut Fields) -> Result<CurveFit> {
        let (cell_line, drug, n_points) = (f.text(), f.text(), f.count()?);
        let (top, bottom, ec50, hill, ic50) = (
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
        );
        let ic50_qualifier = f.optional()?;
        let (ic50_ci_low, ic50_ci_high, auc, aac, r2, rmse) = (
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
        );
        let (status, message) = (f.named()?, f.text());
        let (model, plateaus, robust) = (f.named()?, f.named()?, f.named()?);
        let (log10_ec50_se, log10_ic50_se, ec50_ci_low, ec50_ci_high, f_test_p) = (
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
            f.number()?,
        );
        let (dof, n_outliers, converged) = (f.count()?, f.count()?, f.flag()?);
        let iterations =
            u32::try_from(f.count()?).map_err(|_| f.invalid("a count of iterations"))?;
        Ok(CurveFit {
            cell_line,
            drug,
            n_points,
            top,
            bottom,
            ec50,
            hill,
            ic50,
            ic50_qualifier,
            ic50_ci_low,
            ic50_ci_high,
            auc,
            aac,
            r2,
            rmse,
            status,
            message,
            model,
            plateaus,
            robust,
            log10_ec50_se,
            log10_ic50_se,
            log10_auc_se: f.number()?,
            // Not a column: known only to the run that fitted the curve.
            bottom_se: f64::NAN,
            ec50_ci_low,
            ec50_ci_high,
            f_test_p,
            dof,
            n_outliers,
            outliers: Vec::new(),
            converged,
            iterations,
        })
    }
}

/// `first`, then [`FITS_COLUMNS`]: the columns of a table of fits of parts of curves
/// (`fits_by_replicate.csv`, `fits_by_batch.csv`).
pub(crate) const fn fits_columns_after(first: &'static str) -> [&'static str; 31] {
    let mut out = [first; 31];
    let mut i = 0;
    while i < FITS_COLUMNS.len() {
        out[i + 1] = FITS_COLUMNS[i];
        i += 1;
    }
    out
}

/// Columns of `fits_by_replicate.csv`: the replicate, then [`FITS_COLUMNS`].
pub(crate) const FITS_BY_REPLICATE_COLUMNS: [&str; 31] = fits_columns_after("replicate");

/// One row of `fits_by_replicate.csv`: the fit of one replicate's curve.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReplicateFit {
    /// The replicate.
    pub replicate: String,
    /// Its curve's fit.
    pub fit: CurveFit,
}

impl Record for ReplicateFit {
    const FILE: &'static str = "fits_by_replicate.csv";
    const COLUMNS: &'static [&'static str] = &FITS_BY_REPLICATE_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![Cell::text(&self.replicate)];
        cells.extend(self.fit.cells());
        cells
    }

    fn read(f: &mut Fields) -> Result<ReplicateFit> {
        Ok(ReplicateFit {
            replicate: f.text(),
            fit: <CurveFit as Record>::read(f)?,
        })
    }
}

macro_rules! named_by_words {
    ($($ty:ty),*) => {$(
        impl super::read::Named for $ty {
            const ALL: &'static [$ty] = <$ty>::ALL;
            fn written(self) -> &'static str {
                self.name()
            }
        }
    )*};
}

named_by_words!(Model, Plateaus, RobustLoss);

/// One row of `shifts.csv`: the [`Shift`] that wrote it and the `tau` it was called with (a
/// setting the table repeats on every row; NaN when a table lacks it).
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftRecord {
    /// The comparison.
    pub shift: Shift,
    /// The call threshold written beside it.
    pub tau: f64,
}

/// The columns a `shifts.csv` needs: what a planner, the figures and the report read a
/// comparison by (a table made by another tool may have only these).
pub const SHIFT_REQUIRED: [&str; 5] =
    ["resistant_line", "drug", "selected_with", "log2_fc", "call"];

/// Every column of [`SHIFT_COLUMNS`] but [`SHIFT_REQUIRED`], as `'static` for
/// [`Record::OPTIONAL`].
const SHIFT_OPTIONAL: [&str; 17] = {
    let mut out = [""; 17];
    let (mut i, mut k) = (0, 0);
    while i < SHIFT_COLUMNS.len() {
        let mut required = false;
        let mut j = 0;
        while j < SHIFT_REQUIRED.len() {
            if const_eq(SHIFT_COLUMNS[i], SHIFT_REQUIRED[j]) {
                required = true;
            }
            j += 1;
        }
        if !required {
            out[k] = SHIFT_COLUMNS[i];
            k += 1;
        }
        i += 1;
    }
    out
};

/// `a == b` in a constant.
const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Record for ShiftRecord {
    const FILE: &'static str = "shifts.csv";
    const COLUMNS: &'static [&'static str] = &SHIFT_COLUMNS;
    const OPTIONAL: &'static [&'static str] = &SHIFT_OPTIONAL;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        self.shift.cells(self.tau)
    }

    fn read(f: &mut Fields) -> Result<ShiftRecord> {
        let (resistant_line, parental_line, drug, selected_with) =
            (f.text(), f.text(), f.text(), f.text());
        // A table without metrics compared IC50s (the first version of the contract).
        let metric = f.optional()?.unwrap_or(Metric::Ic50);
        let (log2_fc, log2_fc_qualifier) = (f.number()?, f.optional()?);
        let (ci_low, ci_high, p_value, q_value) =
            (f.number()?, f.number()?, f.number()?, f.number()?);
        let (call, replicate) = (f.named()?, f.text());
        let (value_resistant, qualifier_resistant) = (f.number()?, f.optional()?);
        let (value_parental, qualifier_parental) = (f.number()?, f.optional()?);
        let (reason, tau, ec50_f_test_p) = (f.text(), f.number()?, f.number()?);
        let evidence = crate::evidence::parse_reported(&f.text()).map_err(|m| f.rejected(&m))?;
        // `evidence_agreement` follows from the evidence and the call.
        let _agreement = f.text();
        Ok(ShiftRecord {
            shift: Shift {
                resistant_line,
                replicate,
                parental_line,
                drug,
                selected_with,
                metric,
                log2_fc,
                log2_fc_qualifier,
                ci_low,
                ci_high,
                p_value,
                q_value,
                call,
                value_resistant,
                qualifier_resistant,
                value_parental,
                qualifier_parental,
                reason,
                ec50_f_test_p,
                evidence,
            },
            tau,
        })
    }
}

/// Reads a `shifts.csv` back (this tool's, or one with at least [`SHIFT_REQUIRED`]) into the
/// rows that wrote it; columns it lacks are empty, NaN or `None`. A missing required column is
/// an error naming the file and column, a malformed cell one naming its file, line and column
/// (all are reported together).
pub fn read_shifts(path: &Path) -> Result<Vec<Shift>> {
    Ok(read_records::<ShiftRecord>(path)?
        .into_iter()
        .map(|r| r.shift)
        .collect())
}

impl Record for Mic {
    const FILE: &'static str = "mics.csv";
    const COLUMNS: &'static [&'static str] = &MIC_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        Mic::cells(self)
    }

    fn read(f: &mut Fields) -> Result<Mic> {
        Ok(Mic {
            cell_line: f.text(),
            drug: f.text(),
            replicate: f.text(),
            mic: f.number()?,
            qualifier: f.named()?,
            n_concentrations: f.count()?,
            skipped_wells: f.count()?,
            message: f.text(),
            // Not a column of `mics.csv`: batches come from a MIC table read as input.
            batch: String::new(),
        })
    }
}

/// The column of the wells naming each well's batch, and the first of `fits_by_batch.csv`.
pub(crate) const BATCH_COLUMN: &str = "batch";

/// Columns of `fits_by_batch.csv`: the batch, then [`FITS_COLUMNS`](crate::fit::FITS_COLUMNS).
pub(crate) const FITS_BY_BATCH_COLUMNS: [&str; 31] = fits_columns_after(BATCH_COLUMN);

/// One row of `fits_by_batch.csv`: the fit of one line's curve of one drug in one batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchFit {
    /// The batch.
    pub batch: String,
    /// Its curve's fit.
    pub fit: CurveFit,
}

impl Record for BatchFit {
    const FILE: &'static str = "fits_by_batch.csv";
    const COLUMNS: &'static [&'static str] = &FITS_BY_BATCH_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![Cell::text(&self.batch)];
        cells.extend(self.fit.cells());
        cells
    }

    fn read(f: &mut Fields) -> Result<BatchFit> {
        Ok(BatchFit {
            batch: f.text(),
            fit: <CurveFit as Record>::read(f)?,
        })
    }
}

/// `first` (when not empty), [`FITS_COLUMNS`], then [`GROWTH_COLUMNS`]: the columns of a fits
/// table with growth columns.
const fn growth_fits_columns<const N: usize>(first: &'static str) -> [&'static str; N] {
    let mut out = [first; N];
    let skip = N - FITS_COLUMNS.len() - GROWTH_COLUMNS.len();
    let mut i = 0;
    while i < FITS_COLUMNS.len() {
        out[skip + i] = FITS_COLUMNS[i];
        i += 1;
    }
    let mut j = 0;
    while j < GROWTH_COLUMNS.len() {
        out[skip + i + j] = GROWTH_COLUMNS[j];
        j += 1;
    }
    out
}

/// The columns of `fits.csv` in runs with growth data.
pub const FITS_WITH_GROWTH_COLUMNS: [&str; 62] = growth_fits_columns("");

/// The columns of `fits_by_replicate.csv` in runs with growth data.
pub const FITS_BY_REPLICATE_WITH_GROWTH_COLUMNS: [&str; 63] = growth_fits_columns("replicate");

/// One row of `fits.csv` in a run with growth data: the viability fit and the growth cells.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthFitRecord {
    /// The viability fit.
    pub fit: CurveFit,
    /// The growth cells.
    pub growth: GrowthCells,
}

impl Record for GrowthFitRecord {
    const FILE: &'static str = "fits.csv";
    const COLUMNS: &'static [&'static str] = &FITS_WITH_GROWTH_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let mut cells = self.fit.cells();
        cells.extend(self.growth.clone().into_cells());
        cells
    }

    fn read(f: &mut Fields) -> Result<GrowthFitRecord> {
        Ok(GrowthFitRecord {
            fit: <CurveFit as Record>::read(f)?,
            growth: read_growth_cells(f)?,
        })
    }
}

/// One row of `fits_by_replicate.csv` in a run with growth data.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicateGrowthFitRecord {
    /// The replicate.
    pub replicate: String,
    /// Its curve's fit and growth cells.
    pub fit: GrowthFitRecord,
}

impl Record for ReplicateGrowthFitRecord {
    const FILE: &'static str = "fits_by_replicate.csv";
    const COLUMNS: &'static [&'static str] = &FITS_BY_REPLICATE_WITH_GROWTH_COLUMNS;

    fn cells(&self, i: usize) -> Vec<Cell<'_>> {
        let mut cells = vec![Cell::text(&self.replicate)];
        cells.extend(self.fit.cells(i));
        cells
    }

    fn read(f: &mut Fields) -> Result<ReplicateGrowthFitRecord> {
        Ok(ReplicateGrowthFitRecord {
            replicate: f.text(),
            fit: GrowthFitRecord::read(f)?,
        })
    }
}

/// The growth cells of a fits row, taken in [`GROWTH_COLUMNS`] order.
fn read_growth_cells(f: &mut Fields) -> Result<GrowthCells> {
    Ok(GrowthCells {
        gr50: f.number()?,
        gr50_qualifier: f.optional()?,
        grinf: f.number()?,
        gec50: f.number()?,
        grmax: f.number()?,
        gr_aoc: f.number()?,
        gr_hill: f.number()?,
        gr_n_points: f.optional_count()?,
        gr_status: f.named()?,
        gr_message: f.text(),
        gr_source: f.text(),
        log10_gr50_se: f.number()?,
        gr50_ci: (f.number()?, f.number()?),
        gr_dof: f.optional_count()?,
        log10_gr_aoc_se: f.number()?,
        gr_aoc_dof: f.optional_count()?,
        gr_r2: f.number()?,
        dip_e0: f.number()?,
        dip_emax: f.number()?,
        dip_ec50: f.number()?,
        dip_hill: f.number()?,
        dip_emax_rel: f.number()?,
        dip_n_wells: f.optional_count()?,
        dip_status: f.named()?,
        dip_message: f.text(),
        log10_dip_ec50_se: f.number()?,
        dip_ec50_ci: (f.number()?, f.number()?),
        dip_emax_rel_se: f.number()?,
        dip_dof: f.optional_count()?,
        dip_r2: f.number()?,
    })
}
