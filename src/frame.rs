//! Output tables as typed columns, for the faces that hand tables on without a file (the
//! Python package's DataFrames; later R and Arrow): the columns, names and values of the CSV
//! table, built from the typed rows instead of parsed from its text.
//!
//! A value here equals what reading the CSV back would give: numbers are the same `f64`
//! (`fits.csv` writes the shortest text that reads back to the same number, NaN as an empty
//! cell), counts and flags carry a mask of absent cells, words are the CSV's words.

use crate::fit::{CurveFit, FITS_COLUMNS};
use crate::output::{column_kind, ColumnKind};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{fit_curves, CurveInput, DosePoint, FitSettings};

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
