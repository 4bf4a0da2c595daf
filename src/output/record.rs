//! One type per output table, written and read: a table's row type lists its cells once
//! ([`Record::cells`], in the order of [`Record::COLUMNS`]), and that one list is what the CSV
//! writer writes ([`write_records`]) and what the typed columns of the faces hold
//! (`frame::frame_of`); [`Record::read`] takes the same cells back in the same order
//! through [`Fields`], so a table written, read and written again gives the same bytes, and a
//! missing column or a malformed cell is an error naming the file, column and line.
//!
//! `wells.csv`, whose columns vary with the run, is the one table without a `Record`: it is
//! read through the streaming row view of [`super::well_rows`], by the names its header is
//! written with. Columns a table has beyond its `Record`'s (a merge's `run`) are kept as
//! text by [`crate::frame::read_typed`].

use std::io::Write;
use std::path::Path;

use super::read::{Column, Named, OutputRow, OutputTable};
use crate::error::Result;
pub use crate::text::{write_rows, Cell};

/// A cell of an enum value by the name its table writes ([`Named::written`]).
pub fn named<'a, T: Named>(value: T) -> Cell<'a> {
    Cell::text(value.written())
}

/// A cell of an optional enum value: empty when `None`.
pub fn optional<'a, T: Named>(value: Option<T>) -> Cell<'a> {
    Cell::text(value.map_or("", T::written))
}

/// A row of one of the run's tables: the table's columns, the row's cells in their order, and
/// the row read back from its cells.
pub trait Record: Sized {
    /// The table's file name in the output folder (`likelihood.csv`), for its column kinds.
    const FILE: &'static str;
    /// The table's columns, in order: the one list its writer, reader and frame use.
    const COLUMNS: &'static [&'static str];
    /// Columns of [`Record::COLUMNS`] a table may lack (written by an older version, or by
    /// another tool): they read as empty cells. Every other column must be there.
    const OPTIONAL: &'static [&'static str] = &[];

    /// The row's cells, one per column of [`Record::COLUMNS`], in order; `index` is the row's
    /// 0-based place in the table (for tables that number their rows).
    fn cells(&self, index: usize) -> Vec<Cell<'_>>;

    /// The row from its cells, taken in the order of [`Record::COLUMNS`].
    fn read(fields: &mut Fields) -> Result<Self>;
}

/// Writes the table of `rows`: [`Record::COLUMNS`], then each row's cells.
pub fn write_records<R: Record>(w: &mut dyn Write, rows: &[R]) -> std::io::Result<()> {
    write_rows(
        w,
        R::COLUMNS,
        rows.iter().enumerate().map(|(i, r)| r.cells(i)),
    )
}

/// Reads the table at `path` into its rows: every column of [`Record::COLUMNS`] but the
/// [`Record::OPTIONAL`] ones must be there (a missing one is an error naming the file and
/// column), every cell what its column holds
/// (a malformed one is an error naming the file, line and column; all are reported together).
pub fn read_records<R: Record>(path: &Path) -> Result<Vec<R>> {
    records_of(OutputTable::read(path)?)
}

/// [`read_records`] of a table a run may not have written: `None` when absent.
pub(crate) fn read_optional_records<R: Record>(path: &Path) -> Result<Option<Vec<R>>> {
    OutputTable::read_optional(path)?
        .map(records_of)
        .transpose()
}

/// The rows of a table already read.
pub(crate) fn records_of<R: Record>(table: OutputTable) -> Result<Vec<R>> {
    let columns = record_columns::<R>(&table)?;
    table.rows(|row| R::read(&mut Fields::new(row, &columns)))
}

/// The rows of a table already read, each read as `R` and handed to `with` beside its row (for
/// readers that also keep the cells as written, such as the report's tables); every error of
/// the table is reported together.
pub(crate) fn records_with_rows<R: Record, T>(
    table: OutputTable,
    mut with: impl FnMut(R, &OutputRow) -> Result<T>,
) -> Result<Vec<T>> {
    let columns = record_columns::<R>(&table)?;
    table.rows(|row| with(R::read(&mut Fields::new(row, &columns))?, row))
}

/// The columns of `R` in `table`, in the order of [`Record::COLUMNS`]: an absent
/// [`Record::OPTIONAL`] one is [`Column::ABSENT`], any other absent one an error naming the
/// file and column.
pub(crate) fn record_columns<R: Record>(table: &OutputTable) -> Result<Vec<Column>> {
    R::COLUMNS
        .iter()
        .map(|c| match table.optional_column(c) {
            Some(column) => Ok(column),
            None if R::OPTIONAL.contains(c) => Ok(Column::ABSENT),
            None => table.column(c),
        })
        .collect()
}

/// Whether every column of `table` is one of `R`'s (not so in a merged table, which adds
/// columns of its own after them): its rows read as `R` hold every cell of the table.
pub(crate) fn has_only_record_columns<R: Record>(table: &OutputTable) -> bool {
    table
        .header
        .iter()
        .all(|h| R::COLUMNS.contains(&h.as_str()))
}

/// The cells of one row being read, taken one after another in the order of the columns it
/// was made with.
pub struct Fields<'r> {
    row: &'r OutputRow,
    columns: &'r [Column],
    next: usize,
}

impl<'r> Fields<'r> {
    /// The cells of `row` in the order of `columns`.
    pub fn new(row: &'r OutputRow, columns: &'r [Column]) -> Fields<'r> {
        Fields {
            row,
            columns,
            next: 0,
        }
    }

    /// The row being read (its line, for messages).
    pub fn row(&self) -> &OutputRow {
        self.row
    }

    /// The error of the cell taken last: it is not `expected`.
    pub fn invalid(&self, expected: &str) -> crate::error::Error {
        self.row.bad(self.columns[self.next - 1], expected)
    }

    /// The error of the cell taken last: its column's parser rejected it, saying `why`.
    pub fn rejected(&self, why: &str) -> crate::error::Error {
        self.row.rejected(self.columns[self.next - 1], why)
    }

    /// The next column.
    fn column(&mut self) -> Column {
        let c = self.columns[self.next];
        self.next += 1;
        c
    }

    /// The next cell as text.
    pub fn text(&mut self) -> String {
        let c = self.column();
        self.row.text(c).to_string()
    }

    /// The next cell, a number (empty: NaN).
    pub fn number(&mut self) -> Result<f64> {
        let c = self.column();
        self.row.number(c)
    }

    /// The next cell, a whole number.
    pub fn count(&mut self) -> Result<usize> {
        let c = self.column();
        self.row.count(c)
    }

    /// The next cell, a whole number or empty.
    pub(crate) fn optional_count(&mut self) -> Result<Option<usize>> {
        let c = self.column();
        self.row.optional_count(c)
    }

    /// The next cell, `true` or `false`.
    pub fn flag(&mut self) -> Result<bool> {
        let c = self.column();
        self.row.flag(c)
    }

    /// The next cell, `true`, `false` or empty.
    pub fn optional_flag(&mut self) -> Result<Option<bool>> {
        let c = self.column();
        match self.row.text(c).trim() {
            "" => Ok(None),
            _ => self.row.flag(c).map(Some),
        }
    }

    /// The next cell, one of `T`'s names.
    pub fn named<T: Named>(&mut self) -> Result<T> {
        let c = self.column();
        self.row.named(c)
    }

    /// The next cell, one of `T`'s names or empty.
    pub fn optional<T: Named>(&mut self) -> Result<Option<T>> {
        let c = self.column();
        self.row.optional(c)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The table `bytes` at `path` without `missing`, and with the first row's cell of
    /// `column` replaced by `bad`, fail `read` with errors naming the file, the column and (for
    /// the cell) the line.
    pub(crate) fn assert_located_errors(
        path: &Path,
        bytes: &[u8],
        missing: &str,
        column: &str,
        bad: &str,
        read: impl Fn(&Path) -> Result<()>,
    ) {
        let mut reader = csv::Reader::from_reader(bytes);
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert!(
            !rows.is_empty(),
            "{}: a test table needs rows",
            path.display()
        );
        let gone = header
            .iter()
            .position(|h| h == missing)
            .expect("a column of the table");
        let at = header
            .iter()
            .position(|h| h == column)
            .expect("a column of the table");
        let write = |keep: &dyn Fn(usize) -> bool, cell: &dyn Fn(usize, usize, &str) -> String| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let pick = |r: Vec<String>| -> Vec<String> {
                r.into_iter()
                    .enumerate()
                    .filter(|(i, _)| keep(*i))
                    .map(|(_, v)| v)
                    .collect()
            };
            w.write_record(pick(header.clone())).unwrap();
            for (n, row) in rows.iter().enumerate() {
                let cells = row.iter().enumerate().map(|(i, v)| cell(n, i, v)).collect();
                w.write_record(pick(cells)).unwrap();
            }
            std::fs::write(path, w.into_inner().unwrap()).unwrap();
        };
        let name = path.display().to_string();
        write(&|i| i != gone, &|_, _, v| v.to_string());
        let e = read(path).expect_err("a missing column").to_string();
        assert!(
            e.contains(&name) && e.contains(&format!("`{missing}`")),
            "{e}"
        );
        write(&|_| true, &|n, i, v| {
            if n == 0 && i == at {
                bad.to_string()
            } else {
                v.to_string()
            }
        });
        let e = read(path).expect_err("a malformed cell").to_string();
        assert!(
            e.contains(&format!("{name}:2")) && e.contains(&format!("`{column}` is `{bad}`")),
            "{e}"
        );
    }
}
