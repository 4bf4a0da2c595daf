//! Reading a finished run's tables back: each column found by name once (a missing one is an
//! error naming the file and column), each cell parsed into its type (a malformed one is an
//! error naming the file, line and column). Empty cells are what the tables write for absent
//! values (NaN, no qualifier), so they read back as NaN or `None`, never as an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::fit::{FitStatus, Ic50Qualifier};
use crate::lineage::Course;
use crate::mic::MicQualifier;
use crate::qc::Verdict;
use crate::shift::{Bound, Call, Metric};

/// A value written in a table by its name: the enums of the stages, parsed back from the names
/// their writers use.
pub trait Named: Sized + Copy + 'static {
    /// Every value, each with the name written for it.
    const ALL: &'static [Self];
    /// The name written for the value.
    fn written(self) -> &'static str;

    /// The value written as `text` (surrounding spaces ignored).
    fn from_written(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.iter().copied().find(|v| v.written() == text)
    }

    /// The names, for messages: `a, b or c`.
    fn choices() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.written()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }
}

impl Named for Call {
    const ALL: &'static [Call] = &[
        Call::CrossResistant,
        Call::CollateralSensitive,
        Call::Neutral,
        Call::Undetermined,
    ];
    fn written(self) -> &'static str {
        self.name()
    }
}

impl Named for FitStatus {
    const ALL: &'static [FitStatus] = &FitStatus::ALL;
    fn written(self) -> &'static str {
        self.name()
    }
}

impl Named for Ic50Qualifier {
    const ALL: &'static [Ic50Qualifier] = &[
        Ic50Qualifier::Equal,
        Ic50Qualifier::Greater,
        Ic50Qualifier::Less,
        Ic50Qualifier::Within,
    ];
    fn written(self) -> &'static str {
        self.symbol()
    }
}

impl Named for Bound {
    const ALL: &'static [Bound] = &[Bound::Equal, Bound::Greater, Bound::Less];
    fn written(self) -> &'static str {
        self.symbol()
    }
}

impl Named for MicQualifier {
    const ALL: &'static [MicQualifier] = &[
        MicQualifier::Equal,
        MicQualifier::Above,
        MicQualifier::AtOrBelow,
    ];
    fn written(self) -> &'static str {
        self.symbol()
    }
}

impl Named for Verdict {
    const ALL: &'static [Verdict] = &[Verdict::Pass, Verdict::Warn, Verdict::Fail];
    fn written(self) -> &'static str {
        self.as_str()
    }
}

impl Named for crate::normalize::BlankSource {
    const ALL: &'static [Self] = &[
        Self::SameLine,
        Self::CellFree,
        Self::OtherLines,
        Self::WholePlate,
        Self::AssumedZero,
    ];
    fn written(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Course {
    const ALL: &'static [Course] = &[
        Course::Never,
        Course::Persistent,
        Course::Emerging,
        Course::Fading,
        Course::Intermittent,
    ];
    fn written(self) -> &'static str {
        self.name()
    }
}

impl Named for Metric {
    const ALL: &'static [Metric] = &[
        Metric::Ic50,
        Metric::Ec50,
        Metric::Auc,
        Metric::Mic,
        Metric::Gr50,
        Metric::GrAoc,
        Metric::DipEc50,
        Metric::DipEmax,
    ];
    fn written(self) -> &'static str {
        self.name()
    }
}

impl Named for crate::network::EdgeCall {
    const ALL: &'static [Self] = &crate::network::EdgeCall::ALL;
    fn written(self) -> &'static str {
        self.name()
    }
}

/// A column of an [`OutputTable`], found by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    index: usize,
}

impl Column {
    /// A column the table lacks (one a reader does without): its cells read as empty.
    pub const ABSENT: Column = Column { index: usize::MAX };
}

/// One of a run's tables, read whole, with its header.
#[derive(Debug, Clone)]
pub struct OutputTable {
    /// The file read.
    pub path: PathBuf,
    /// Column names in file order.
    pub header: Arc<Vec<String>>,
    records: Vec<csv::StringRecord>,
}

impl OutputTable {
    /// Reads the table at `path`; a file that cannot be read or parsed is a located error.
    /// A table written as Parquet is read as its CSV text: the `.parquet` file itself, or the
    /// one standing in for an absent `.csv` (`--format parquet`; its rows' lines are then the
    /// rows' places, the header line 1).
    pub fn read(path: &Path) -> Result<OutputTable> {
        let parquet = crate::table::parquet::stand_in(path).or_else(|| {
            (path.extension().is_some_and(|e| e == "parquet")).then(|| path.to_path_buf())
        });
        if let Some(parquet) = parquet {
            let text = crate::table::parquet::csv_text(&parquet)?;
            let reader = csv::Reader::from_reader(text.as_slice());
            return Self::from_csv(reader, &parquet);
        }
        let reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
        Self::from_csv(reader, path)
    }

    /// The table of a CSV reader of the file at `path`.
    fn from_csv<R: std::io::Read>(mut reader: csv::Reader<R>, path: &Path) -> Result<OutputTable> {
        let header = csv_header(&mut reader, path)?;
        let records = reader
            .records()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| csv_error(path, e))?;
        Ok(OutputTable {
            path: path.to_path_buf(),
            header: Arc::new(header),
            records,
        })
    }

    /// [`OutputTable::read`] of a table a run may not have written: `None` when absent.
    pub(crate) fn read_optional(path: &Path) -> Result<Option<OutputTable>> {
        if crate::table::parquet::table_exists(path) {
            OutputTable::read(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The column `name`; an error naming the file and column when the table lacks it.
    pub fn column(&self, name: &str) -> Result<Column> {
        self.optional_column(name).ok_or_else(|| {
            Error::input(
                Location::file(&self.path),
                format!("has no column `{name}`; is it the output of this version of collateral?"),
            )
        })
    }

    /// The column `name` when the table has it (columns a run writes only sometimes, such as
    /// the growth columns of `fits.csv` or the `gr` of `wells.csv`).
    pub(crate) fn optional_column(&self, name: &str) -> Option<Column> {
        self.header
            .iter()
            .position(|h| h == name)
            .map(|index| Column { index })
    }

    /// Each row, with its line, turned into a value by `row`; every malformed cell of the table
    /// is reported together.
    pub fn rows<T>(self, mut row: impl FnMut(&OutputRow) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(self.records.len());
        let mut problems: Vec<Problem> = Vec::new();
        let path = Arc::new(self.path);
        for record in self.records {
            let r = OutputRow {
                path: Arc::clone(&path),
                header: Arc::clone(&self.header),
                record,
            };
            match row(&r) {
                Ok(v) => out.push(v),
                Err(e) => problems.extend(e.problems_found().iter().cloned()),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(Error::problems(ErrorKind::Input, problems))
        }
    }
}

/// One row of an [`OutputTable`].
#[derive(Debug, Clone)]
pub struct OutputRow {
    path: Arc<PathBuf>,
    header: Arc<Vec<String>>,
    record: csv::StringRecord,
}

impl OutputRow {
    /// The row's 1-based line in its file.
    pub fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    /// The text of a cell, as written.
    pub fn text(&self, column: Column) -> &str {
        self.record.get(column.index).unwrap_or_default()
    }

    /// The text of the row's `i`-th cell (empty past its end).
    pub(crate) fn cell(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or_default()
    }

    /// The text of a cell of a column the table may lack (empty then).
    pub fn text_or_empty(&self, column: Option<Column>) -> &str {
        column.map_or("", |c| self.text(c))
    }

    /// A number cell: empty is NaN (what the tables write for an absent number); anything else
    /// that is not a number is an error naming the file, line and column.
    pub fn number(&self, column: Column) -> Result<f64> {
        match self.text(column).trim() {
            "" => Ok(f64::NAN),
            text => text
                .parse()
                .map_err(|_| self.bad(column, "a number or an empty cell")),
        }
    }

    /// A count cell that may be empty (`None`).
    pub(crate) fn optional_count(&self, column: Column) -> Result<Option<usize>> {
        match self.text(column).trim() {
            "" => Ok(None),
            _ => self.count(column).map(Some),
        }
    }

    /// A count cell: a whole number, never empty.
    pub fn count(&self, column: Column) -> Result<usize> {
        self.text(column)
            .trim()
            .parse()
            .map_err(|_| self.bad(column, "a whole number"))
    }

    /// A `true`/`false` cell.
    pub fn flag(&self, column: Column) -> Result<bool> {
        match self.text(column).trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.bad(column, "true or false")),
        }
    }

    /// A cell naming one of `T`'s values, never empty.
    pub fn named<T: Named>(&self, column: Column) -> Result<T> {
        T::from_written(self.text(column)).ok_or_else(|| self.bad(column, &T::choices()))
    }

    /// A cell naming one of `T`'s values, or empty (`None`).
    pub fn optional<T: Named>(&self, column: Column) -> Result<Option<T>> {
        match self.text(column).trim() {
            "" => Ok(None),
            _ => self.named(column).map(Some),
        }
    }

    /// The row's header and record, for tables that show the cells as written.
    pub fn parts(&self) -> (Arc<Vec<String>>, csv::StringRecord) {
        (Arc::clone(&self.header), self.record.clone())
    }

    /// The error of a cell whose text its column's own parser rejected, saying why.
    pub fn rejected(&self, column: Column, why: &str) -> Error {
        Error::input(
            Location::file(&*self.path).at_line(self.line()),
            format!(
                "`{}`: {why}",
                self.header.get(column.index).map_or("", String::as_str)
            ),
        )
    }

    /// The error of a cell that is not what its column holds.
    pub fn bad(&self, column: Column, expected: &str) -> Error {
        Error::input(
            Location::file(&*self.path).at_line(self.line()),
            format!(
                "`{}` is `{}`; expected {expected}",
                self.header.get(column.index).map_or("", String::as_str),
                self.text(column)
            ),
        )
    }
}

/// A cell of a table streamed row by row ([`crate::table::Table`], for tables too large to
/// hold, such as `wells.csv`) as one of `T`'s names; anything else is an error at `at` (the
/// file and line) naming the column.
pub fn named_cell<T: Named>(text: &str, at: Location, column: &str) -> Result<T> {
    T::from_written(text).ok_or_else(|| {
        Error::input(
            at,
            format!("`{column}` is `{text}`; expected {}", T::choices()),
        )
    })
}

/// [`named_cell`] of a cell that may be empty (`None`).
pub(crate) fn optional_named_cell<T: Named>(
    text: &str,
    at: Location,
    column: &str,
) -> Result<Option<T>> {
    match text.trim() {
        "" => Ok(None),
        _ => named_cell(text, at, column).map(Some),
    }
}

/// A `true`/`false` cell of a streamed table; anything else is an error at `at` naming the
/// column.
pub(crate) fn flag_cell(text: &str, at: Location, column: &str) -> Result<bool> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::input(
            at,
            format!("`{column}` is `{text}`; expected true or false"),
        )),
    }
}

/// A table that cannot be read, located at its file and line.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    Error::input(
        Location::file(path).at_line_opt(line),
        format!("cannot read the run's table: {e}"),
    )
}

pub use crate::growth::GrowthStatus;

impl Named for GrowthStatus {
    const ALL: &'static [GrowthStatus] = &[
        GrowthStatus::Fit(FitStatus::Ok),
        GrowthStatus::Fit(FitStatus::Flat),
        GrowthStatus::Fit(FitStatus::InsufficientData),
        GrowthStatus::Fit(FitStatus::Failed),
        GrowthStatus::NotComputed,
    ];
    fn written(self) -> &'static str {
        self.name()
    }
}

/// The header of a CSV reader of the file at `path`, an error naming the file when unreadable.
pub(crate) fn csv_header<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    path: &Path,
) -> Result<Vec<String>> {
    Ok(reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(str::to_string)
        .collect())
}
