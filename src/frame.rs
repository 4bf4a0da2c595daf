//! Output tables as typed columns, for the faces that hand tables on without a file (the
//! Python package's DataFrames; later R and Arrow): the columns, names and values of the CSV
//! table, built from the typed rows instead of parsed from its text.
//!
//! A value here equals what reading the CSV back would give: numbers are the same `f64`
//! (`fits.csv` writes the shortest text that reads back to the same number, NaN as an empty
//! cell), counts and flags carry a mask of absent cells, words are the CSV's words.

use crate::fit::{CurveFit, FITS_COLUMNS};
use crate::mic::{Mic, MIC_COLUMNS};
use crate::output::{column_kind, ColumnKind, QC_COLUMNS};
use crate::qc::{PlateQc, Verdict};
use crate::read::inputs::SkippedPlate;
use crate::shift::{Bound, Shift, ShiftSettings, SHIFT_COLUMNS};

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

/// `fits.csv` of `fits` as typed columns (the columns of [`FITS_COLUMNS`]).
///
/// ```
/// let frame = collateral::frame::fits_frame(&[]);
/// assert_eq!(frame[0].0, "cell_line");
/// assert_eq!(frame.len(), collateral::fit::FITS_COLUMNS.len());
/// ```
pub fn fits_frame(fits: &[CurveFit]) -> Frame {
    let n = fits.len();
    let mut frame: Frame = FITS_COLUMNS
        .iter()
        .map(|c| {
            let kind = column_kind("fits.csv", c).unwrap_or(ColumnKind::Text);
            (c.to_string(), Column::with_capacity(kind, n))
        })
        .collect();
    for f in fits {
        let mut cells = frame.iter_mut().map(|(_, c)| c);
        let mut next = || cells.next().expect("one column per field of fits.csv");
        text(next(), &f.cell_line);
        text(next(), &f.drug);
        count(next(), f.n_points as i64);
        for x in [f.top, f.bottom, f.ec50, f.hill, f.ic50] {
            number(next(), x);
        }
        text(next(), f.ic50_qualifier.map_or("", |q| q.symbol()));
        for x in [f.ic50_ci_low, f.ic50_ci_high, f.auc, f.aac, f.r2, f.rmse] {
            number(next(), x);
        }
        text(next(), f.status.name());
        text(next(), &f.message);
        text(next(), f.model.name());
        text(next(), f.plateaus.name());
        text(next(), f.robust.name());
        for x in [
            f.log10_ec50_se,
            f.log10_ic50_se,
            f.ec50_ci_low,
            f.ec50_ci_high,
            f.f_test_p,
        ] {
            number(next(), x);
        }
        count(next(), f.dof as i64);
        count(next(), f.n_outliers as i64);
        flag(next(), f.converged);
        count(next(), f.iterations as i64);
        number(next(), f.log10_auc_se);
    }
    frame
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
pub fn qc_frame(rows: &[PlateQc], skipped: &[SkippedPlate]) -> Frame {
    let mut frame = empty_frame("qc.csv", &QC_COLUMNS, rows.len() + skipped.len());
    let number = |x: Option<f64>| Cell::Number(x.unwrap_or(f64::NAN));
    for r in rows {
        let pair = |t: Option<(f64, f64)>| [number(t.map(|x| x.0)), number(t.map(|x| x.1))];
        let mut cells = vec![
            Cell::Text(&r.plate),
            Cell::Text(r.cell_line.as_deref().unwrap_or("")),
            Cell::Text(&r.replicate),
            Cell::Count(r.format.wells() as i64),
            Cell::Count(r.n_vehicle as i64),
            Cell::Count(r.n_blank as i64),
            Cell::Count(r.n_sample as i64),
            Cell::Count(r.n_flagged as i64),
            number(r.mean_vehicle),
            number(r.sd_vehicle),
            number(r.mean_blank),
            number(r.sd_blank),
            Cell::Text(r.blank_source.as_str()),
            number(r.z_prime),
            number(r.cv_vehicle),
            number(r.signal_to_background),
            number(r.ssmd),
        ];
        cells.extend(pair(r.spatial.edge_effect));
        cells.extend(pair(r.spatial.row_trend));
        cells.extend(pair(r.spatial.column_trend));
        cells.extend([
            Cell::Flag(r.spatial_flag),
            Cell::Text(r.verdict.as_str()),
            Cell::Text(&r.reason),
        ]);
        push_row(&mut frame, &cells);
    }
    for s in skipped {
        let reason = format!("plate left out (--keep-going): {}", s.reason());
        let cells: Vec<Cell> = QC_COLUMNS
            .iter()
            .map(|&c| match c {
                "plate" => Cell::Text(&s.plate),
                "verdict" => Cell::Text(Verdict::Fail.as_str()),
                "reason" => Cell::Text(&reason),
                _ => Cell::Absent,
            })
            .collect();
        push_row(&mut frame, &cells);
    }
    frame
}

/// `shifts.csv` of `rows` compared with `settings` as typed columns (the columns of
/// [`SHIFT_COLUMNS`]).
pub fn shifts_frame(rows: &[Shift], settings: &ShiftSettings) -> Frame {
    let mut frame = empty_frame("shifts.csv", &SHIFT_COLUMNS, rows.len());
    let q = |b: Option<Bound>| Cell::Text(b.map_or("", |b| b.symbol()));
    for r in rows {
        push_row(
            &mut frame,
            &[
                Cell::Text(&r.resistant_line),
                Cell::Text(&r.parental_line),
                Cell::Text(&r.drug),
                Cell::Text(&r.selected_with),
                Cell::Text(r.metric.name()),
                Cell::Number(r.log2_fc),
                q(r.log2_fc_qualifier),
                Cell::Number(r.ci_low),
                Cell::Number(r.ci_high),
                Cell::Number(r.p_value),
                Cell::Number(r.q_value),
                Cell::Text(r.call.name()),
                Cell::Text(&r.replicate),
                Cell::Number(r.value_resistant),
                q(r.qualifier_resistant),
                Cell::Number(r.value_parental),
                q(r.qualifier_parental),
                Cell::Text(&r.reason),
                Cell::Number(settings.tau),
                Cell::Number(r.ec50_f_test_p),
                Cell::Text(&crate::evidence::format_reported(&r.evidence)),
                Cell::Text(r.evidence_agreement().map_or("", |a| a.name())),
            ],
        );
    }
    frame
}

/// `mics.csv` of `mics` as typed columns (the columns of [`MIC_COLUMNS`]).
pub fn mics_frame(mics: &[Mic]) -> Frame {
    let mut frame = empty_frame("mics.csv", &MIC_COLUMNS, mics.len());
    for m in mics {
        push_row(
            &mut frame,
            &[
                Cell::Text(&m.cell_line),
                Cell::Text(&m.drug),
                Cell::Text(&m.replicate),
                Cell::Number(m.mic),
                Cell::Text(m.qualifier.symbol()),
                Cell::Count(m.n_concentrations as i64),
                Cell::Count(m.skipped_wells as i64),
                Cell::Text(&m.message),
            ],
        );
    }
    frame
}

/// One cell of a typed row, before its column's kind places it.
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Count(i64),
    Flag(bool),
    /// An empty CSV cell: NaN in a number column, masked in a count or flag column.
    Absent,
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

/// Adds one row, a cell per column in order.
fn push_row(frame: &mut Frame, cells: &[Cell]) {
    debug_assert_eq!(frame.len(), cells.len(), "one cell per column");
    for ((_, column), cell) in frame.iter_mut().zip(cells) {
        match (column, cell) {
            (column, Cell::Text(s)) => text(column, s),
            (column, Cell::Number(x)) => number(column, *x),
            (column, Cell::Count(x)) => count(column, *x),
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
        let want = kind.unwrap_or(ColumnKind::Text);
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
            assert_eq!(name, FITS_COLUMNS[c]);
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
