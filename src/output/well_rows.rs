//! `wells.csv` read back: the one reader of the table for `plot`, `merge` and the faces
//! ([`crate::frame::read_typed`]).
//!
//! The table's columns vary with the run (`replicate`, `time`, the inputs' own columns, `gr`),
//! so it has no fixed [`super::record::Record`]: its columns are those [`super::wells_header`]
//! lists, found by the same names ([`WellColumns`]), and a row is a view of its cells
//! ([`WellRecord`]) whose typed accessors parse only the cells asked for. A `wells.csv` of a
//! thousand-plate screen has millions of rows: they stream one at a time, as bytes, never held
//! as strings. Its writer stays the block formatter of [`super::write_wells`] (speed); a test
//! checks that what it writes reads back here cell for cell.

use std::path::{Path, PathBuf};

use super::read::{csv_error, named_cell, Named};
use super::{ColumnKind, WELL_REPLICATE_COLUMN, WELL_TIME_COLUMN};
use super::{WELL_COLUMNS, WELL_GR_COLUMN, WELL_OUTCOME_COLUMNS};
use crate::error::{Error, Location, Result};
use crate::text::Cell;
use crate::wells::Role;

/// Where each column of one `wells.csv` sits: the required ones ([`WELL_COLUMNS`],
/// [`WELL_OUTCOME_COLUMNS`]), the optional ones, and the inputs' own columns between them.
#[derive(Debug, Clone)]
pub struct WellColumns {
    /// The header as written.
    pub header: Vec<String>,
    /// [`WELL_COLUMNS`] in order: plate, well, cell line, drug, concentration, role, signal.
    tidy: [usize; 7],
    /// [`WELL_OUTCOME_COLUMNS`] in order: viability, excluded, exclusion reason.
    outcome: [usize; 3],
    replicate: Option<usize>,
    time: Option<usize>,
    gr: Option<usize>,
    /// The inputs' own columns (and any other column this version does not write), in order.
    extra: Vec<usize>,
    /// What each column holds, in header order.
    kinds: Vec<CellKind>,
}

/// What a column of `wells.csv` holds, for reading a whole row ([`WellRecord::cells`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// Names, words and the inputs' own cells, as written.
    Text,
    /// A number or empty.
    Number,
    /// A [`Role`].
    Role,
    /// `true` or `false`.
    Flag,
}

impl WellColumns {
    /// The columns of `header`, the header of the `wells.csv` at `path`; a missing required
    /// column is an error naming the file and column.
    pub fn find(path: &Path, header: Vec<String>) -> Result<WellColumns> {
        let at = |name: &str| header.iter().position(|h| h == name);
        let need = |name: &str| {
            at(name).ok_or_else(|| {
                Error::input(
                    Location::file(path),
                    format!(
                        "has no column `{name}`; is it the output of this version of collateral?"
                    ),
                )
            })
        };
        let mut tidy = [0; 7];
        for (slot, name) in tidy.iter_mut().zip(WELL_COLUMNS) {
            *slot = need(name)?;
        }
        let mut outcome = [0; 3];
        for (slot, name) in outcome.iter_mut().zip(WELL_OUTCOME_COLUMNS) {
            *slot = need(name)?;
        }
        let known = |h: &str| {
            WELL_COLUMNS.contains(&h)
                || WELL_OUTCOME_COLUMNS.contains(&h)
                || [WELL_REPLICATE_COLUMN, WELL_TIME_COLUMN, WELL_GR_COLUMN].contains(&h)
        };
        let extra = (0..header.len()).filter(|&i| !known(&header[i])).collect();
        let kinds = header
            .iter()
            .map(|h| match h.as_str() {
                "role" => CellKind::Role,
                "excluded" => CellKind::Flag,
                h if super::KNOWN_WELL_NUMBERS.contains(&h) => CellKind::Number,
                _ => CellKind::Text,
            })
            .collect();
        Ok(WellColumns {
            kinds,
            replicate: at(WELL_REPLICATE_COLUMN),
            time: at(WELL_TIME_COLUMN),
            gr: at(WELL_GR_COLUMN),
            header,
            tidy,
            outcome,
            extra,
        })
    }

    /// Whether the table has the `gr` column (runs with growth data).
    pub fn has_gr(&self) -> bool {
        self.gr.is_some()
    }

    /// What column `i` holds as a typed column: the inputs' own columns are text here
    /// (a reader types them by their values, [`crate::frame::column_of_cells`]).
    pub fn kind(&self, i: usize) -> ColumnKind {
        match self.kinds[i] {
            CellKind::Text | CellKind::Role => ColumnKind::Text,
            CellKind::Number => ColumnKind::Number,
            CellKind::Flag => ColumnKind::Flag,
        }
    }

    /// The names of the inputs' own columns, in order.
    pub fn extra_names(&self) -> impl Iterator<Item = &str> {
        self.extra.iter().map(|&i| self.header[i].as_str())
    }
}

/// A CSV reader of a file or of a Parquet table's CSV text.
type CsvSource = csv::Reader<Box<dyn std::io::Read + Send>>;

/// A `wells.csv` read row by row ([`WellsReader::next_row`]).
pub struct WellsReader {
    path: PathBuf,
    reader: CsvSource,
    columns: WellColumns,
    record: csv::ByteRecord,
}

impl WellsReader {
    /// Opens the `wells.csv` at `path` (or its Parquet stand-in) and finds its columns.
    pub fn open(path: &Path) -> Result<WellsReader> {
        let (reader, header) = Self::header(path)?;
        Self::of(path, reader, header)
    }

    /// The reader of `reader`, past the `header` of the file at `path`.
    fn of(path: &Path, reader: CsvSource, header: Vec<String>) -> Result<WellsReader> {
        Ok(WellsReader {
            columns: WellColumns::find(path, header)?,
            path: path.to_path_buf(),
            reader,
            record: csv::ByteRecord::new(),
        })
    }

    /// [`WellsReader::open`] of a file that may be a tidy wells table instead (an assay's
    /// input, also named `wells.csv`): `None` when it has none of [`WELL_OUTCOME_COLUMNS`].
    pub fn open_run_table(path: &Path) -> Result<Option<WellsReader>> {
        // The reader that found the header reads on: a Parquet stand-in is turned into its
        // CSV text once.
        let (reader, header) = Self::header(path)?;
        if header
            .iter()
            .any(|h| WELL_OUTCOME_COLUMNS.contains(&h.as_str()))
        {
            Self::of(path, reader, header).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A CSV reader of the file at `path` past its header, and the header.
    fn header(path: &Path) -> Result<(CsvSource, Vec<String>)> {
        let mut reader = crate::table::parquet::csv_reader(path).map_err(|e| csv_error(path, e))?;
        let header = super::read::csv_header(&mut reader, path)?;
        Ok((reader, header))
    }

    /// The table's columns.
    pub fn columns(&self) -> &WellColumns {
        &self.columns
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `gr` column is required: an error naming the file and column when absent.
    pub fn require_gr(&self) -> Result<()> {
        if self.columns.has_gr() {
            return Ok(());
        }
        Err(Error::input(
            Location::file(&self.path),
            format!(
                "has no column `{WELL_GR_COLUMN}`; is it the output of this version of collateral?"
            ),
        ))
    }

    /// The next row, `None` at the end; a row that cannot be parsed as CSV is an error at its
    /// line.
    pub fn next_row(&mut self) -> Result<Option<WellRecord<'_>>> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| csv_error(&self.path, e))?;
        Ok(more.then(|| WellRecord {
            path: &self.path,
            columns: &self.columns,
            line: self.record.position().map_or(0, |p| p.line()),
            record: &self.record,
        }))
    }
}

/// One row of a `wells.csv`: its cells by column, typed on demand; a malformed cell is an
/// error naming the file, line and column.
pub struct WellRecord<'r> {
    path: &'r Path,
    columns: &'r WellColumns,
    record: &'r csv::ByteRecord,
    line: u64,
}

impl<'r> WellRecord<'r> {
    /// The row's 1-based line in its file.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Where the row is, for messages.
    pub fn at(&self) -> Location {
        Location::file(self.path).at_line(self.line)
    }

    /// The bytes of column `i` as written (unescaped).
    pub fn bytes(&self, i: usize) -> &'r [u8] {
        self.record.get(i).unwrap_or_default()
    }

    /// The text of column `i`; a cell that is not UTF-8 is an error naming its column.
    pub fn text(&self, i: usize) -> Result<&'r str> {
        std::str::from_utf8(self.bytes(i)).map_err(|_| {
            Error::input(
                self.at(),
                format!("`{}` is not UTF-8 text", self.columns.header[i]),
            )
        })
    }

    /// A number cell of column `i`: empty is NaN; anything else not a number is an error.
    fn number(&self, i: usize) -> Result<f64> {
        match self.text(i)?.trim() {
            "" => Ok(f64::NAN),
            text => text.parse().map_err(|_| {
                Error::input(
                    self.at(),
                    format!(
                        "`{}` is `{text}`; expected a number or an empty cell",
                        self.columns.header[i]
                    ),
                )
            }),
        }
    }

    /// A cell of column `i` naming one of `T`'s values.
    fn named<T: Named>(&self, i: usize) -> Result<T> {
        named_cell(self.text(i)?, self.at(), &self.columns.header[i])
    }

    /// The plate id, as bytes (rows come plate by plate: compared before being read as text).
    pub fn plate_bytes(&self) -> &'r [u8] {
        self.bytes(self.columns.tidy[0])
    }

    /// The plate id.
    pub fn plate(&self) -> Result<&'r str> {
        self.text(self.columns.tidy[0])
    }

    /// The well's name (`A1`).
    pub fn well(&self) -> Result<&'r str> {
        self.text(self.columns.tidy[1])
    }

    /// The cell line (empty in empty wells).
    pub fn cell_line(&self) -> Result<&'r str> {
        self.text(self.columns.tidy[2])
    }

    /// The drug (empty in control wells).
    pub fn drug(&self) -> Result<&'r str> {
        self.text(self.columns.tidy[3])
    }

    /// The concentration (NaN in control wells).
    pub fn concentration(&self) -> Result<f64> {
        self.number(self.columns.tidy[4])
    }

    /// The well's role.
    pub fn role(&self) -> Result<Role> {
        self.named(self.columns.tidy[5])
    }

    /// The signal as read: a number, or the reader's text for a read that is not one
    /// (`OVRFLW`), which flags the well rather than making the table malformed.
    pub fn signal(&self) -> Result<&'r str> {
        self.text(self.columns.tidy[6])
    }

    /// The signal as a number: `None` when the cell holds no finite number.
    pub fn signal_value(&self) -> Result<Option<f64>> {
        Ok(self
            .signal()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite()))
    }

    /// The replicate label (empty when the table has none).
    pub fn replicate(&self) -> Result<&'r str> {
        self.columns.replicate.map_or(Ok(""), |i| self.text(i))
    }

    /// The read's time in hours (NaN when the table has no `time` column).
    pub fn time(&self) -> Result<f64> {
        self.columns.time.map_or(Ok(f64::NAN), |i| self.number(i))
    }

    /// The normalized viability (NaN where there is none).
    pub fn viability(&self) -> Result<f64> {
        self.number(self.columns.outcome[0])
    }

    /// Whether the run left the well out.
    pub fn excluded(&self) -> Result<bool> {
        let i = self.columns.outcome[1];
        super::read::flag_cell(self.text(i)?, self.at(), &self.columns.header[i])
    }

    /// Why the run left the well out (or notes), empty otherwise.
    pub fn exclusion_reason(&self) -> Result<&'r str> {
        self.text(self.columns.outcome[2])
    }

    /// The exclusion reason as bytes, for a quick test of its start.
    pub fn exclusion_reason_bytes(&self) -> &'r [u8] {
        self.bytes(self.columns.outcome[2])
    }

    /// The GR value (NaN where empty or when the table has no `gr` column).
    pub fn gr(&self) -> Result<f64> {
        self.columns.gr.map_or(Ok(f64::NAN), |i| self.number(i))
    }

    /// Every cell of the row in the header's order, each checked as its column's type: what
    /// the row writes back as, and the values of its typed columns.
    pub fn cells(&self) -> Result<Vec<Cell<'r>>> {
        (0..self.columns.header.len())
            .map(|i| {
                Ok(match self.columns.kinds[i] {
                    CellKind::Text => Cell::text(self.text(i)?),
                    CellKind::Number => Cell::Number(self.number(i)?),
                    CellKind::Role => Cell::text(self.named::<Role>(i)?.as_str()),
                    CellKind::Flag => Cell::Flag(super::read::flag_cell(
                        self.text(i)?,
                        self.at(),
                        &self.columns.header[i],
                    )?),
                })
            })
            .collect()
    }

    /// The cells of the inputs' own columns, in order, as written.
    pub fn extra(&self) -> impl Iterator<Item = Result<&'r str>> + '_ {
        self.columns.extra.iter().map(|&i| self.text(i))
    }
}
