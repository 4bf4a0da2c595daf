//! Output tables as typed columns, for the faces that hand tables on without a file (the
//! Python package's DataFrames; later R and Arrow): the columns, names and values of the CSV
//! table, built from the typed rows instead of parsed from its text.
//!
//! A value here equals what reading the CSV back would give: numbers are the same `f64`
//! (`fits.csv` writes the shortest text that reads back to the same number, NaN as an empty
//! cell), counts and flags carry a mask of absent cells, words are the CSV's words.

pub mod parquet;

use crate::fit::CurveFit;
use crate::mic::Mic;
use std::path::Path;

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::growth::dip::DipWell;
use crate::lineage::{Likelihood, Stability};
use crate::network::{Cycle, Matrix};
use crate::output::read::OutputTable;
use crate::output::record::{
    has_only_record_columns, records_of, records_with_rows, write_records, Cell, Record,
};
use crate::output::tables::{
    matrix_rows, read_matrix, write_matrix, MatrixValue, ReplicateFit, ShiftRecord, Trajectory,
};
use crate::output::tables::{GrowthFitRecord, ReplicateGrowthFitRecord};
use crate::output::well_rows::WellsReader;
use crate::output::QcRow;
use crate::output::WELL_COLUMNS;
use crate::output::{column_kind, ColumnKind};
use crate::plan::{PolicyRow, Sequence};
use crate::qc::{PlateQc, WellOutcome};
use crate::read::inputs::SkippedPlate;
use crate::shift::Call;
use crate::shift::{Shift, ShiftSettings, SHIFT_COLUMNS};
use crate::wells::{Signal, WellTable};

/// One typed column of an output table.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Words and names, as written.
    Text(Vec<String>),
    /// Floats; an absent value is NaN.
    Number(Vec<f64>),
    /// Whole numbers and a mask of absent cells.
    Count(Vec<i64>, Vec<bool>),
    /// `true`/`false` and a mask of absent cells.
    Flag(Vec<bool>, Vec<bool>),
}

impl Column {
    /// An empty column of `kind` with room for `n` values.
    fn with_capacity(kind: ColumnKind, n: usize) -> Column {
        match kind {
            ColumnKind::Text => Column::Text(Vec::with_capacity(n)),
            ColumnKind::Number => Column::Number(Vec::with_capacity(n)),
            ColumnKind::Count => Column::Count(Vec::with_capacity(n), Vec::with_capacity(n)),
            ColumnKind::Flag => Column::Flag(Vec::with_capacity(n), Vec::with_capacity(n)),
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Number(v) => v.len(),
            Column::Count(v, _) => v.len(),
            Column::Flag(v, _) => v.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A table as named, typed columns in the CSV's column order.
pub type Frame = Vec<(String, Column)>;

/// `fits.csv` of `fits` as typed columns (the columns of [`crate::fit::FITS_COLUMNS`]).
///
/// ```
/// let frame = collateral::frame::fits_frame(&[]);
/// assert_eq!(frame[0].0, "cell_line");
/// assert_eq!(frame.len(), collateral::fit::FITS_COLUMNS.len());
/// ```
pub fn fits_frame(fits: &[CurveFit]) -> Frame {
    frame_of(fits)
}

fn text(column: &mut Column, value: &str) {
    match column {
        Column::Text(v) => v.push(value.to_string()),
        other => unreachable!("a text field in a {other:?} column"),
    }
}

fn number(column: &mut Column, value: f64) {
    match column {
        // The CSV writes an empty cell for a value that does not exist (NaN or infinite).
        Column::Number(v) => v.push(if value.is_finite() { value } else { f64::NAN }),
        other => unreachable!("a number in a {other:?} column"),
    }
}

fn count(column: &mut Column, value: i64) {
    match column {
        Column::Count(v, mask) => {
            v.push(value);
            mask.push(false);
        }
        other => unreachable!("a count in a {other:?} column"),
    }
}

fn flag(column: &mut Column, value: bool) {
    match column {
        Column::Flag(v, mask) => {
            v.push(value);
            mask.push(false);
        }
        other => unreachable!("a flag in a {other:?} column"),
    }
}

/// `qc.csv` of `rows` and the plates a `--keep-going` run `skipped` as typed columns (the
/// columns of [`QC_COLUMNS`]): a skipped plate's row has only its plate, verdict and reason.
pub(crate) fn qc_frame(rows: &[PlateQc], skipped: &[SkippedPlate]) -> Frame {
    frame_of(&crate::output::qc_rows(rows, skipped))
}

/// [`qc_frame`] as a record batch, for writing `qc.parquet`.
pub(crate) fn qc_batch(rows: &[PlateQc], skipped: &[SkippedPlate]) -> RecordBatch {
    parquet::batch_of_records(&crate::output::qc_rows(rows, skipped))
}

/// `wells.csv` of `table` with each well's outcome and, with growth data, GR value, as typed
/// columns (the columns of [`crate::output::wells_header`]). The user's extra columns are typed
/// as a reader of the file types them ([`column_of_cells`]: numbers when every cell is one).
pub fn wells_frame(
    table: &WellTable,
    outcomes: &[WellOutcome],
    gr: Option<&[Option<f64>]>,
) -> Frame {
    let header = crate::output::wells_header(table, true, gr.is_some());
    let n = table.wells.len().min(outcomes.len());
    let mut frame = empty_frame("wells.csv", &header, n);
    let extra_at =
        WELL_COLUMNS.len() + usize::from(table.has_replicate) + usize::from(table.has_time);
    let mut extra: Vec<Vec<String>> = vec![Vec::with_capacity(n); table.extra_columns.len()];
    let (mut name, mut signal) = (String::new(), String::new());
    for (i, outcome) in outcomes.iter().enumerate().take(n) {
        let well = table.wells.get(i);
        well.position.write_name(&mut name);
        let mut cells = vec![
            Cell::text(well.plate.as_str()),
            Cell::text(&name),
            Cell::text(well.cell_line.as_str()),
            Cell::text(well.drug.as_str()),
            Cell::Number(well.concentration.unwrap_or(f64::NAN)),
            Cell::text(well.role.as_str()),
        ];
        cells.push(match well.signal {
            Signal::Value(v) => {
                crate::text::format_number_into(&mut signal, *v);
                Cell::text(&signal)
            }
            Signal::NotNumeric(t) => Cell::text(t),
        });
        if table.has_replicate {
            cells.push(Cell::text(well.replicate.as_str()));
        }
        if table.has_time {
            cells.push(Cell::Number(well.time.unwrap_or(f64::NAN)));
        }
        for (column, value) in extra.iter_mut().zip(well.extra) {
            column.push(value.clone());
        }
        // Placeholders for the extra columns, typed once all their cells are known.
        cells.extend(well.extra.iter().map(|_| Cell::Absent));
        cells.extend([
            Cell::Number(outcome.viability.unwrap_or(f64::NAN)),
            Cell::Flag(outcome.excluded),
            Cell::text(&outcome.exclusion_reason),
        ]);
        if let Some(gr) = gr {
            cells.push(Cell::Number(gr[i].unwrap_or(f64::NAN)));
        }
        push_row(&mut frame, &cells);
    }
    for (k, cells) in extra.into_iter().enumerate() {
        let (name, column) = &mut frame[extra_at + k];
        *column = column_of_cells(column_kind("wells.csv", name), cells);
    }
    frame
}

/// `shifts.csv` of `rows` compared with `settings` as typed columns (the columns of
/// [`SHIFT_COLUMNS`]).
pub fn shifts_frame(rows: &[Shift], settings: &ShiftSettings) -> Frame {
    frame_of_rows(
        "shifts.csv",
        &SHIFT_COLUMNS,
        rows.len(),
        rows.iter().map(|r| r.cells(settings.tau)),
    )
}

/// [`shifts_frame`] as a record batch, for writing `shifts.parquet`.
pub(crate) fn shifts_batch(rows: &[Shift], settings: &ShiftSettings) -> RecordBatch {
    shifts_batch_with(rows, settings, &[])
}

/// [`shifts_batch`] with the text columns `extra` after the contract's (`collateral merge`'s
/// `run` and `parental_run`; [`crate::shift::write_shifts_with`]).
pub(crate) fn shifts_batch_with(
    rows: &[Shift],
    settings: &ShiftSettings,
    extra: &[(&str, Vec<String>)],
) -> RecordBatch {
    let (header, cells) = crate::shift::shift_rows_with(rows, settings, extra);
    parquet::batch_of_rows("shifts.csv", &header, rows.len(), cells)
}

/// `mics.csv` of `mics` as typed columns (the columns of [`crate::mic::MIC_COLUMNS`]).
pub(crate) fn mics_frame(mics: &[Mic]) -> Frame {
    frame_of(mics)
}

/// The columns `names` of the table `file`, empty, each of the kind [`column_kind`] gives it.
fn empty_frame(file: &str, names: &[&str], n: usize) -> Frame {
    names
        .iter()
        .map(|c| {
            let kind = column_kind(file, c).unwrap_or(ColumnKind::Text);
            (c.to_string(), Column::with_capacity(kind, n))
        })
        .collect()
}

/// The table of `rows` ([`Record`]) as typed columns: the cells its CSV writer writes.
pub fn frame_of<R: Record>(rows: &[R]) -> Frame {
    frame_of_rows(
        R::FILE,
        R::COLUMNS,
        rows.len(),
        rows.iter().enumerate().map(|(i, r)| r.cells(i)),
    )
}

/// The table `file` of columns `header` and `n` rows of cells as typed columns, each column of
/// the kind [`column_kind`] gives it.
pub(crate) fn frame_of_rows<'a>(
    file: &str,
    header: &[&str],
    n: usize,
    rows: impl IntoIterator<Item = Vec<Cell<'a>>>,
) -> Frame {
    let mut frame = empty_frame(file, header, n);
    for cells in rows {
        push_row(&mut frame, &cells);
    }
    frame
}

/// Adds one row, a cell per column in order.
fn push_row(frame: &mut Frame, cells: &[Cell]) {
    debug_assert_eq!(frame.len(), cells.len(), "one cell per column");
    for ((_, column), cell) in frame.iter_mut().zip(cells) {
        match (column, cell) {
            (column, Cell::Text(s)) => text(column, s),
            (column, Cell::Number(x) | Cell::Plain(x)) => number(column, *x),
            (column, Cell::Count(x)) => count(column, *x as i64),
            (column, Cell::Flag(x)) => flag(column, *x),
            (Column::Text(v), Cell::Absent) => v.push(String::new()),
            (Column::Number(v), Cell::Absent) => v.push(f64::NAN),
            (Column::Count(v, mask), Cell::Absent) => {
                v.push(0);
                mask.push(true);
            }
            (Column::Flag(v, mask), Cell::Absent) => {
                v.push(false);
                mask.push(true);
            }
        }
    }
}

/// The typed column of a CSV column's `cells`, as a reader of the tool's tables types it:
/// by `kind` ([`column_kind`]); a column the contract does not fix is a number when every
/// non-empty cell is one, text otherwise; a cell that does not fit its column's kind (a table
/// not written by this tool) makes the column text rather than losing it.
pub fn column_of_cells(kind: Option<ColumnKind>, cells: Vec<String>) -> Column {
    let kind = kind.unwrap_or_else(|| {
        let numeric = cells.iter().any(|v| !v.is_empty())
            && cells
                .iter()
                .all(|v| v.is_empty() || v.parse::<f64>().is_ok());
        if numeric {
            ColumnKind::Number
        } else {
            ColumnKind::Text
        }
    });
    match kind {
        ColumnKind::Text => Column::Text(cells),
        ColumnKind::Number => {
            let parsed: Option<Vec<f64>> = cells
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Some(f64::NAN)
                    } else {
                        v.parse::<f64>().ok()
                    }
                })
                .collect();
            parsed.map_or(Column::Text(cells), Column::Number)
        }
        ColumnKind::Count => {
            let parsed: Option<Vec<(i64, bool)>> = cells
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Some((0, true))
                    } else {
                        v.parse::<i64>().ok().map(|x| (x, false))
                    }
                })
                .collect();
            match parsed {
                Some(p) => Column::Count(
                    p.iter().map(|x| x.0).collect(),
                    p.iter().map(|x| x.1).collect(),
                ),
                None => Column::Text(cells),
            }
        }
        ColumnKind::Flag => {
            let parsed: Option<Vec<(bool, bool)>> = cells
                .iter()
                .map(|v| match v.as_str() {
                    "" => Some((false, true)),
                    "true" => Some((true, false)),
                    "false" => Some((false, false)),
                    _ => None,
                })
                .collect();
            match parsed {
                Some(p) => Column::Flag(
                    p.iter().map(|x| x.0).collect(),
                    p.iter().map(|x| x.1).collect(),
                ),
                None => Column::Text(cells),
            }
        }
    }
}

/// Asserts that `frame` equals the table `file` written as `bytes` read back as the Python
/// package reads it ([`column_of_cells`] by [`column_kind`]), value for value (NaN equals NaN),
/// and that every column has the kind the contract gives it.
/// A table of a finished run read through its row type: its typed columns, and the bytes this
/// version writes for the rows read (the file's own bytes when it was written by this version).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedTable {
    /// The columns, from the rows read.
    pub frame: Frame,
    /// The rows read, written again.
    pub bytes: Vec<u8>,
}

/// Reads the run's table at `path` (known by its file name) through its row type: a missing
/// column or a malformed cell is an error naming the file, column and line. `None` for a file
/// that is not one of the tables the tool writes (a file of the user's: `lines.csv`, the lines
/// table a merge copies, or an assay's tidy `wells.csv`, which has no outcome columns).
pub fn read_typed(path: &Path) -> Result<Option<TypedTable>> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "wells.csv" {
        return typed_wells(path);
    }
    let table = OutputTable::read_optional(path)?;
    let Some(table) = table else {
        return Ok(None);
    };
    let growth = crate::growth::has_growth_columns(&table.header);
    Ok(Some(match name {
        "qc.csv" => typed::<QcRow>(table)?,
        "fits.csv" if !growth => typed::<CurveFit>(table)?,
        "fits.csv" => typed::<GrowthFitRecord>(table)?,
        "fits_by_replicate.csv" if !growth => typed::<ReplicateFit>(table)?,
        "fits_by_replicate.csv" => typed::<ReplicateGrowthFitRecord>(table)?,
        "dip_rates.csv" => typed::<DipWell>(table)?,
        "likelihood.csv" => typed::<Likelihood>(table)?,
        "trajectories.csv" => typed::<Trajectory>(table)?,
        "stability.csv" => typed::<Stability>(table)?,
        "cycles.csv" => typed::<Cycle>(table)?,
        "plan.csv" => typed::<Sequence>(table)?,
        "policy.csv" => typed::<PolicyRow>(table)?,
        "shifts.csv" => typed::<ShiftRecord>(table)?,
        "mics.csv" => typed::<Mic>(table)?,
        "fits_by_batch.csv" => typed::<crate::output::tables::BatchFit>(table)?,
        "matrix.csv" => typed_matrix::<f64>(path)?,
        "calls.csv" => typed_matrix::<Call>(path)?,
        _ => return Ok(None),
    }))
}

/// `matrix.csv` or `calls.csv` as typed columns.
pub(crate) fn matrix_frame<T: MatrixValue>(m: &Matrix<T>) -> Frame {
    let (header, rows) = matrix_rows(m);
    frame_of_rows(T::FILE, &header, rows.len(), rows)
}

/// [`matrix_frame`] as a record batch, for writing `matrix.parquet` or `calls.parquet`.
pub(crate) fn matrix_batch<T: MatrixValue>(m: &Matrix<T>) -> RecordBatch {
    let (header, rows) = matrix_rows(m);
    parquet::batch_of_rows(T::FILE, &header, rows.len(), rows)
}

/// The rows of `table` as `R`, with their frame and bytes. Columns of the table that are not
/// `R`'s (a merge's `run` and `parental_run`) are kept in their place as text, typed as a
/// reader types them ([`column_of_cells`] by [`column_kind`]).
fn typed<R: Record>(table: OutputTable) -> Result<TypedTable> {
    if has_only_record_columns::<R>(&table) {
        let rows: Vec<R> = records_of(table)?;
        let mut bytes = Vec::new();
        write_records(&mut bytes, &rows).expect("writing to memory");
        return Ok(TypedTable {
            frame: frame_of(&rows),
            bytes,
        });
    }
    let header = table.header.to_vec();
    let place: Vec<Option<usize>> = header
        .iter()
        .map(|h| R::COLUMNS.iter().position(|c| c == h))
        .collect();
    let rows: Vec<(R, Vec<String>)> = records_with_rows(table, |r: R, row| {
        let extra = (0..place.len())
            .filter(|&i| place[i].is_none())
            .map(|i| row.cell(i).to_string())
            .collect();
        Ok((r, extra))
    })?;
    let cells = rows.iter().enumerate().map(|(i, (r, extra))| {
        let mut own: Vec<Option<Cell>> = r.cells(i).into_iter().map(Some).collect();
        let mut extra = extra.iter();
        place
            .iter()
            .map(|p| match p {
                Some(k) => own[*k].take().unwrap_or(Cell::Absent),
                None => Cell::text(extra.next().map_or("", String::as_str)),
            })
            .collect::<Vec<Cell>>()
    });
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut frame: Frame = names
        .iter()
        .zip(&place)
        .map(|(name, p)| {
            let kind = match p {
                Some(_) => column_kind(R::FILE, name).unwrap_or(ColumnKind::Text),
                None => ColumnKind::Text,
            };
            (name.to_string(), Column::with_capacity(kind, rows.len()))
        })
        .collect();
    let mut bytes = Vec::new();
    let cells: Vec<Vec<Cell>> = cells.collect();
    for row in &cells {
        push_row(&mut frame, row);
    }
    crate::text::write_rows(&mut bytes, &names, cells).expect("writing to memory");
    for ((name, column), p) in frame.iter_mut().zip(&place) {
        if let (None, Column::Text(values)) = (p, &mut *column) {
            *column = column_of_cells(column_kind(R::FILE, name), std::mem::take(values));
        }
    }
    Ok(TypedTable { frame, bytes })
}

/// `wells.csv` read through its row view ([`WellsReader`]), `None` when absent or when it is
/// an assay's tidy wells table (no outcome columns): the inputs' own columns typed as
/// [`wells_frame`] types them.
fn typed_wells(path: &Path) -> Result<Option<TypedTable>> {
    if !crate::table::parquet::table_exists(path) {
        return Ok(None);
    }
    let Some(mut reader) = WellsReader::open_run_table(path)? else {
        return Ok(None);
    };
    let header: Vec<String> = reader.columns().header.clone();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let columns = reader.columns();
    let mut frame: Frame = (0..names.len())
        .map(|i| (header[i].clone(), Column::with_capacity(columns.kind(i), 0)))
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| crate::error::Error::io(path, "writing", e.into());
    out.write_record(&names).map_err(io)?;
    let mut text = String::new();
    while let Some(row) = reader.next_row()? {
        let cells = row.cells()?;
        for cell in &cells {
            cell.write_into(&mut text);
            out.write_field(&text).map_err(io)?;
        }
        out.write_record(None::<&[u8]>).map_err(io)?;
        push_row(&mut frame, &cells);
    }
    // The inputs' own columns, read as text, are typed by their values (as `wells_frame`).
    for (name, column) in frame.iter_mut() {
        let kind = column_kind("wells.csv", name);
        if let (false, Column::Text(cells)) = (kind == Some(ColumnKind::Text), &mut *column) {
            *column = column_of_cells(kind, std::mem::take(cells));
        }
    }
    let bytes = out.into_inner().map_err(|e| io(e.into_error().into()))?;
    Ok(Some(TypedTable { frame, bytes }))
}

/// [`typed`] of a lines × drugs table.
fn typed_matrix<T: MatrixValue>(path: &Path) -> Result<TypedTable> {
    let m = read_matrix::<T>(path)?;
    let mut bytes = Vec::new();
    write_matrix(&mut bytes, &m).expect("writing to memory");
    Ok(TypedTable {
        frame: matrix_frame(&m),
        bytes,
    })
}

#[cfg(test)]
pub(crate) fn assert_reads_back(file: &str, frame: &Frame, bytes: &[u8]) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut cells = vec![Vec::new(); header.len()];
    for row in reader.records() {
        for (column, cell) in cells.iter_mut().zip(row.unwrap().iter()) {
            column.push(cell.to_string());
        }
    }
    let names: Vec<&String> = frame.iter().map(|(n, _)| n).collect();
    assert_eq!(names, header.iter().collect::<Vec<_>>(), "{file}: columns");
    for ((name, ours), cells) in frame.iter().zip(cells) {
        let kind = column_kind(file, name);
        let read = column_of_cells(kind, cells);
        let same = match (ours, &read) {
            (Column::Number(a), Column::Number(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => ours == &read,
        };
        assert!(
            same,
            "{file} column {name}: {ours:?} but read back {read:?}"
        );
        // A column the contract does not fix (the user's own) is typed by its values: the
        // equality above checked that.
        let Some(want) = kind else { continue };
        let got = match ours {
            Column::Text(_) => ColumnKind::Text,
            Column::Number(_) => ColumnKind::Number,
            Column::Count(..) => ColumnKind::Count,
            Column::Flag(..) => ColumnKind::Flag,
        };
        assert_eq!(got, want, "{file} column {name}: kind");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{fit_curves, CurveInput, DosePoint, FitSettings};

    /// MICs of every qualifier, with a text that needs quoting and a value written in
    /// scientific notation, equal `mics.csv` read back.
    #[test]
    fn mics_frame_equals_the_csv_read_back() {
        use crate::mic::MicQualifier;
        let mics: Vec<Mic> = [
            MicQualifier::Equal,
            MicQualifier::Above,
            MicQualifier::AtOrBelow,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, qualifier)| Mic {
            cell_line: format!("L{i}"),
            drug: "D, \"quoted\"".into(),
            replicate: (i + 1).to_string(),
            mic: [0.125, 256.0, 3e-7][i],
            qualifier,
            n_concentrations: 12,
            skipped_wells: i,
            message: if i == 1 {
                "censored".into()
            } else {
                String::new()
            },
            batch: String::new(),
        })
        .collect();
        let mut bytes = Vec::new();
        crate::mic::write_mics(&mut bytes, &mics).unwrap();
        assert_reads_back("mics.csv", &mics_frame(&mics), &bytes);
    }

    /// Every column equals what reading `fits.csv` back gives, value for value.
    #[test]
    fn fits_frame_equals_the_csv_read_back() {
        let curves: Vec<CurveInput> = (0..6)
            .map(|i| CurveInput {
                cell_line: format!("L{i}"),
                drug: "D, \"quoted\"".into(),
                points: (0..9)
                    .map(|k| {
                        let x = 10f64.powf(-3.0 + 0.5 * k as f64);
                        let y = 1.0 / (1.0 + (x / (0.01 * (i + 1) as f64)).powf(1.3));
                        DosePoint {
                            concentration: x,
                            response: y + 0.01 * ((k * 7 + i) % 5) as f64,
                        }
                    })
                    .take(if i == 5 { 2 } else { 9 })
                    .collect(),
            })
            .collect();
        let config = FitSettings::default().check().unwrap();
        let fits = fit_curves(&curves, &config, &crate::progress::Silent);
        let mut bytes = Vec::new();
        crate::fit::table::write_fits_to(&mut bytes, &fits).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let frame = fits_frame(&fits);
        for (c, (name, column)) in frame.iter().enumerate() {
            assert_eq!(name, crate::fit::FITS_COLUMNS[c]);
            for (r, row) in rows.iter().enumerate() {
                let cell = &row[c];
                match column {
                    Column::Text(v) => assert_eq!(v[r], cell),
                    Column::Number(v) => {
                        let read = if cell.is_empty() {
                            f64::NAN
                        } else {
                            cell.parse().unwrap()
                        };
                        assert_eq!(v[r].to_bits(), read.to_bits(), "{name} row {r}");
                    }
                    Column::Count(v, mask) => {
                        assert!(!mask[r]);
                        assert_eq!(v[r].to_string(), cell);
                    }
                    Column::Flag(v, mask) => {
                        assert!(!mask[r]);
                        assert_eq!(v[r].to_string(), cell);
                    }
                }
            }
        }
    }
}

/// `wells.csv` read back through its row view ([`crate::output::well_rows`]); here because
/// they compare with the run's own frame.
#[cfg(test)]
mod wells_tests {
    use std::path::{Path, PathBuf};

    use super::{read_typed, wells_frame, Column};
    use crate::error::Result;
    use crate::output::well_rows::WellsReader;
    use crate::qc::WellOutcome;
    use crate::wells::Role;
    use crate::wells::WellTable;

    /// A run's wells: a replicate, a time, an extra column whose values need quoting, a
    /// signal that is not a number, and GR values.
    fn written(dir: &Path) -> (PathBuf, crate::frame::Frame, Vec<u8>) {
        let text = "plate,well,cell_line,drug,concentration,role,signal,replicate,time,note\n\
                    \"P,1\",B03,\"line \"\"A\"\"\",d,0.5,sample,\"OVR,FLW\",r1,72,\"a\nb\"\n\
                    \"P,1\",B2,\"line \"\"A\"\"\",,,vehicle,100,r1,72,3\n\
                    \"P,1\",A1,,,,empty,1e-7,r2,0,\n";
        let mut t = crate::table::Table::from_bytes(text.as_bytes(), Path::new("w.csv")).unwrap();
        let table = WellTable::from_table(&mut t, None).unwrap();
        let outcome = |v: Option<f64>, excluded: bool, reason: &str| WellOutcome {
            viability: v,
            excluded,
            exclusion_reason: reason.into(),
        };
        let outcomes = vec![
            outcome(Some(0.25), true, "signal not numeric: `OVR,FLW`"),
            outcome(Some(1.0), false, ""),
            outcome(
                None,
                false,
                "not an endpoint read: time-0 read, x0 of GR only",
            ),
        ];
        let gr = [Some(-0.5), None, Some(1.0)];
        let mut bytes = Vec::new();
        crate::output::write_wells_with_gr(&mut bytes, &table, &outcomes, &gr).unwrap();
        let path = dir.join("wells.csv");
        std::fs::write(&path, &bytes).unwrap();
        (path, wells_frame(&table, &outcomes, Some(&gr)), bytes)
    }

    /// What the writer writes reads back cell for cell: the same bytes written again, the
    /// same typed columns as the run's own frame, and each accessor's value.
    #[test]
    fn the_written_table_reads_back_through_its_row_view() {
        let dir = tempfile::tempdir().unwrap();
        let (path, frame, bytes) = written(dir.path());
        let typed = read_typed(&path)
            .unwrap()
            .expect("wells.csv is a typed table");
        assert_eq!(typed.bytes, bytes);
        crate::frame::assert_reads_back("wells.csv", &typed.frame, &bytes);
        let same = |a: &Column, b: &Column| match (a, b) {
            (Column::Number(a), Column::Number(b)) => {
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => a == b,
        };
        for ((n, ours), (m, theirs)) in typed.frame.iter().zip(&frame) {
            assert_eq!(n, m);
            assert!(same(ours, theirs), "{n}: {ours:?} vs {theirs:?}");
        }
        let mut reader = WellsReader::open(&path).unwrap();
        assert!(reader.columns().has_gr());
        assert_eq!(reader.columns().extra_names().collect::<Vec<_>>(), ["note"]);
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.plate().unwrap(), "P,1");
        assert_eq!(row.well().unwrap(), "B3");
        assert_eq!(row.cell_line().unwrap(), "line \"A\"");
        assert_eq!(row.concentration().unwrap(), 0.5);
        assert_eq!(row.role().unwrap(), Role::Sample);
        assert_eq!(row.signal().unwrap(), "OVR,FLW");
        assert_eq!(row.signal_value().unwrap(), None);
        assert_eq!(row.replicate().unwrap(), "r1");
        assert_eq!(row.time().unwrap(), 72.0);
        assert!(row.excluded().unwrap());
        assert_eq!(row.gr().unwrap(), -0.5);
        assert_eq!(row.extra().next().unwrap().unwrap(), "a\nb");
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.line(), 4);
        assert!(row.concentration().unwrap().is_nan() && row.gr().unwrap().is_nan());
        assert_eq!(row.signal_value().unwrap(), Some(100.0));
        assert!(reader.next_row().unwrap().is_some());
        assert!(reader.next_row().unwrap().is_none());
    }

    /// A missing required column, and a cell that is not what its column holds, are errors
    /// naming the file, the column and (for the cell) the line, through every reader.
    #[test]
    fn a_missing_column_or_a_malformed_cell_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, bytes) = written(dir.path());
        let read_all = |p: &Path| -> Result<()> {
            let mut reader = WellsReader::open(p)?;
            while let Some(row) = reader.next_row()? {
                row.cells()?;
            }
            Ok(())
        };
        let typed = |p: &Path| read_typed(p).map(drop);
        for (missing, column, bad) in [
            ("role", "excluded", "yes"),
            ("exclusion_reason", "role", "plasma"),
            ("plate", "concentration", "half"),
            ("viability", "gr", "x"),
        ] {
            for read in [&read_all as &dyn Fn(&Path) -> Result<()>, &typed] {
                crate::output::record::tests::assert_located_errors(
                    &path, &bytes, missing, column, bad, read,
                );
            }
        }
    }
}
