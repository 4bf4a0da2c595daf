//! Delimited text tables (CSV, TSV, semicolon-separated) with located errors.
//!
//! Every input table goes through here so that they all accept the same things: a UTF-8 BOM,
//! CRLF or LF line ends, comma, tab or semicolon separators (detected from the header line),
//! header names in any case, and errors that name the file and line. A table may also be a
//! spreadsheet's sheet ([`spreadsheet`]) or written with decimal commas ([`decimal`]): both
//! are turned into plain CSV text first, each row on its own line number.

pub mod decimal;
pub mod parquet;
pub mod spreadsheet;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{did_you_mean, Error, Location, Result};
pub use decimal::DecimalMark;

/// How an input table is written, beyond what is detected: the `[tables]` section of an
/// assay, applied to each tidy table it names (wells, lines).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TableOptions {
    /// The sheet to read of a table that is a workbook (default: the first); a text table
    /// has none, and is read as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The decimal mark of its numbers (default: a comma when the table is `;`-separated and
    /// every decimal number in it has one, else a point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<DecimalMark>,
}

impl TableOptions {
    /// Whether nothing is declared (the tables are read as detected).
    pub fn is_default(&self) -> bool {
        *self == TableOptions::default()
    }
}

/// A delimited table with its header resolved; rows are read one at a time from a stream, so a
/// wells table of millions of rows is never held in memory as text.
pub struct Table<'a> {
    /// The file it came from.
    pub path: PathBuf,
    /// Header names as written (trimmed).
    pub headers: Vec<String>,
    index: HashMap<String, usize>,
    reader: csv::Reader<Marked<Box<dyn Read + 'a>>>,
    marks: Rc<RefCell<LineMarks>>,
    row_hint: usize,
    /// Where the bytes came from, so the rows can be read again as blocks.
    origin: Origin<'a>,
    delimiter: u8,
    /// Byte offset of the first data row in the source (a BOM and the header before it).
    data_start: u64,
}

/// The source of a table's bytes.
#[derive(Clone)]
enum Origin<'a> {
    /// A file, opened again by its path.
    File,
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// Bytes made from the file (a spreadsheet's sheet, decimal commas rewritten).
    Owned(Arc<[u8]>),
}

impl std::fmt::Debug for Table<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .finish()
    }
}

/// Reads a file's bytes, for [`Table::from_bytes`]; a run's table written as Parquet in place
/// of an absent `.csv` ([`parquet::stand_in`]) gives its CSV text.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    if let Some(parquet) = parquet::stand_in(path) {
        return parquet::csv_text(&parquet);
    }
    std::fs::read(path).map_err(|e| Error::io(path, "reading", e))
}

/// Line ends the csv parser has read past but no row has been placed after yet. csv counts
/// CRLF line ends one line late, so lines are counted here from byte offsets instead; only the
/// read-ahead window is kept, never an index of the whole file.
#[derive(Default)]
struct LineMarks {
    /// Byte offsets of `\r` and `\n` not yet passed, in order, with the byte.
    pending: VecDeque<(u64, u8)>,
    /// `\n` bytes already passed.
    line_feeds: u64,
}

/// A reader that notes where the line ends are as bytes stream through it.
struct Marked<R> {
    inner: R,
    offset: u64,
    marks: Rc<RefCell<LineMarks>>,
}

impl<R: Read> Read for Marked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut marks = self.marks.borrow_mut();
        for i in memchr::memchr2_iter(b'\r', b'\n', &buf[..n]) {
            marks.pending.push_back((self.offset + i as u64, buf[i]));
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl<'a> Table<'a> {
    /// Parses the header of a table held in `bytes`, as if read from `path`.
    pub fn from_bytes(bytes: &'a [u8], path: &Path) -> Result<Table<'a>> {
        let rows = memchr::memchr_iter(b'\n', bytes).count() + 1;
        Self::from_reader(Box::new(bytes), path, rows, Origin::Bytes(bytes))
    }

    /// Opens a table file and parses its header, as [`Table::open_with`] with nothing declared.
    pub fn open(path: &Path) -> Result<Table<'static>> {
        Self::open_with(path, &TableOptions::default())
    }

    /// Opens a table file written as `options` say: a workbook's sheet (.xlsx, .xls, .ods, by
    /// the file's signature), a table with decimal commas, or a delimited text file, whose
    /// rows are then read as they are asked for.
    /// A run's table written as Parquet is read as its CSV text: the `.parquet` file itself,
    /// or the one standing in for an absent `.csv` ([`parquet::stand_in`]).
    pub fn open_with(path: &Path, options: &TableOptions) -> Result<Table<'static>> {
        if let Some(parquet) = parquet::stand_in(path) {
            return Self::from_owned(parquet::csv_text(&parquet)?, &parquet, None);
        }
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
        let mut head = [0u8; 8];
        let n = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, "reading", e))?;
        if parquet::is_parquet(&head[..n]) {
            return Self::from_owned(parquet::csv_text(path)?, path, None);
        }
        if spreadsheet::is_workbook(&head[..n]) {
            let bytes = read_bytes(path)?;
            let (csv, source) = spreadsheet::sheet_as_csv(&bytes, path, options.sheet.as_deref())?;
            return Self::from_owned(csv, &source, options.decimal);
        }
        if options.decimal == Some(DecimalMark::Comma) || first_line_delimiter(path)? == b';' {
            return Self::from_owned(read_bytes(path)?, path, options.decimal);
        }
        Self::open_stream(path)
    }

    /// A table of bytes made from a file, decimal commas rewritten when there are any.
    fn from_owned(
        bytes: Vec<u8>,
        path: &Path,
        decimal: Option<DecimalMark>,
    ) -> Result<Table<'static>> {
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let body = &bytes[bom..];
        let first_line = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let delimiter = detect_delimiter(first_line);
        let bytes: Arc<[u8]> = match decimal::with_decimal_points(body, path, delimiter, decimal)? {
            Some(rewritten) => rewritten.into(),
            None => bytes.into(),
        };
        let rows = memchr::memchr_iter(b'\n', &bytes).count() + 1;
        let reader = std::io::Cursor::new(Arc::clone(&bytes));
        Table::from_reader(Box::new(reader), path, rows, Origin::Owned(bytes))
    }

    /// Opens a delimited text file, its rows read as they are asked for.
    fn open_stream(path: &Path) -> Result<Table<'static>> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
        let size = file.metadata().map_or(0, |m| m.len());
        Table::from_reader(Box::new(file), path, 0, Origin::File).map(|mut t| {
            // Room to reserve for rows: the file's size over the header line's length is a
            // bound good enough for a capacity (untouched capacity costs no memory).
            let header_len: usize = t.headers.iter().map(|h| h.len() + 1).sum();
            t.row_hint = (size as usize / header_len.max(8)).saturating_add(1);
            t
        })
    }

    fn from_reader(
        reader: Box<dyn Read + 'a>,
        path: &Path,
        row_hint: usize,
        origin: Origin<'a>,
    ) -> Result<Table<'a>> {
        let mut buffered = std::io::BufReader::with_capacity(1 << 16, reader);
        let head = buffered
            .fill_buf()
            .map_err(|e| Error::io(path, "reading", e))?;
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(Error::input(
                Location::file(path).at_line(1),
                "the file is UTF-16 encoded; save it as UTF-8 (CSV UTF-8 in Excel)",
            ));
        }
        let bom = if head.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let head = &head[bom..];
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let delimiter = detect_delimiter(first_line);
        buffered.consume(bom);
        let marks = Rc::new(RefCell::new(LineMarks::default()));
        let marked = Marked {
            inner: Box::new(buffered) as Box<dyn Read + 'a>,
            offset: 0,
            marks: Rc::clone(&marks),
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(marked);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(Error::input(
                Location::file(path).at_line(1),
                "the file is empty or has no header line",
            ));
        }
        let data_start = bom as u64 + reader.position().byte();
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            if let Some(prev) = index.insert(h.to_ascii_lowercase(), i) {
                return Err(Error::input(
                    Location::file(path).at_line(1),
                    format!(
                        "column `{h}` appears twice (columns {} and {})",
                        prev + 1,
                        i + 1
                    ),
                ));
            }
        }
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            index,
            reader,
            marks,
            row_hint,
            origin,
            delimiter,
            data_start,
        })
    }

    /// The data rows again, from the first, in blocks of whole rows of about `block_size`
    /// bytes, for parsing on several threads: [`RowBlock::rows`] reads each block as
    /// [`Table::next_row`] reads the table, with the same lines and the same errors.
    pub fn row_blocks(&self, block_size: usize) -> Result<RowBlocks<'a>> {
        let (mut source, skipped): (Box<dyn Read + 'a>, u64) = match &self.origin {
            Origin::Bytes(bytes) => {
                let start = (self.data_start as usize).min(bytes.len());
                let feeds = memchr::memchr_iter(b'\n', &bytes[..start]).count() as u64;
                (Box::new(&bytes[start..]), feeds)
            }
            Origin::Owned(bytes) => {
                let start = (self.data_start as usize).min(bytes.len());
                let feeds = memchr::memchr_iter(b'\n', &bytes[..start]).count() as u64;
                let mut rest = std::io::Cursor::new(Arc::clone(bytes));
                rest.set_position(start as u64);
                (Box::new(rest), feeds)
            }
            Origin::File => {
                let file = std::fs::File::open(&self.path)
                    .map_err(|e| Error::io(&self.path, "reading", e))?;
                (Box::new(file), 0)
            }
        };
        let mut feeds = skipped;
        if let Origin::File = &self.origin {
            // The header again, only to count its line ends.
            let mut head = vec![0u8; self.data_start as usize];
            source
                .read_exact(&mut head)
                .map_err(|e| Error::io(&self.path, "reading", e))?;
            feeds = memchr::memchr_iter(b'\n', &head).count() as u64;
        }
        Ok(RowBlocks {
            format: Arc::new(BlockFormat {
                path: self.path.clone(),
                delimiter: self.delimiter,
                fields: self.headers.len(),
            }),
            source,
            pending: Vec::new(),
            line_feeds: feeds,
            eof: false,
            block_size: block_size.max(1),
        })
    }

    /// Reads the next non-blank data row into `rec`; returns its 1-based line, or `None` at
    /// the end. A row with the wrong number of fields is an error naming its line.
    pub fn next_row(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>> {
        loop {
            let more = self
                .reader
                .read_record(rec)
                .map_err(|e| csv_error(&self.path, e))?;
            if !more {
                return Ok(None);
            }
            let line = rec.position().map_or(0, |p| self.line_of(p.byte()));
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let n = rec.len();
            // A trailing separator adds one empty field; tolerate that, nothing else.
            let trailing_empty =
                n == self.headers.len() + 1 && rec.get(n - 1).is_some_and(|f| f.trim().is_empty());
            if n != self.headers.len() && !trailing_empty {
                return Err(Error::input(
                    Location::file(&self.path).at_line(line),
                    format!(
                        "{n} fields where the header has {}; check separators and quoting on this line",
                        self.headers.len()
                    ),
                ));
            }
            return Ok(Some(line));
        }
    }

    /// The 1-based line of a row starting at `byte`: line ends right at `byte` belong to the
    /// row before (CRLF), so they are stepped over first.
    fn line_of(&self, byte: u64) -> u64 {
        let mut marks = self.marks.borrow_mut();
        let mut b = byte;
        while let Some(&(at, c)) = marks.pending.front() {
            if at <= b {
                if at == b {
                    b += 1;
                }
                if c == b'\n' {
                    marks.line_feeds += 1;
                }
                marks.pending.pop_front();
            } else {
                break;
            }
        }
        marks.line_feeds + 1
    }

    /// Room to reserve for the rows: at least the number of rows for a table read from bytes,
    /// an estimate from the file size for a file.
    pub(crate) fn line_count(&self) -> usize {
        self.row_hint
    }

    /// The index of a column (case-insensitive), if present.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    /// The index of a required column, or an error naming the nearest header present.
    pub fn require(&self, name: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            let present: Vec<&str> = self.headers.iter().map(String::as_str).collect();
            Error::input(
                Location::file(&self.path).at_line(1),
                format!(
                    "required column `{name}` is missing{}; the header has: {}",
                    did_you_mean(name, &present),
                    present.join(", ")
                ),
            )
        })
    }

    /// A location at a data line of this table.
    pub fn at(&self, line: u64) -> Location {
        Location::file(&self.path).at_line(line)
    }
}

/// What every block of a table shares: where it came from and how its rows look.
#[derive(Debug)]
struct BlockFormat {
    path: PathBuf,
    delimiter: u8,
    fields: usize,
}

/// A table's data rows handed out in blocks of whole rows (see [`Table::row_blocks`]). Blocks
/// are cut only after a line end that ends a row: never inside a quoted field.
pub struct RowBlocks<'a> {
    format: Arc<BlockFormat>,
    source: Box<dyn Read + 'a>,
    /// Bytes read and not handed out yet; they start at the start of a row.
    pending: Vec<u8>,
    /// `\n` bytes in the source before `pending`.
    line_feeds: u64,
    eof: bool,
    block_size: usize,
}

/// Whole rows of a table, with where they start (see [`RowBlocks`]).
pub struct RowBlock {
    format: Arc<BlockFormat>,
    bytes: Vec<u8>,
    /// `\n` bytes in the source before this block: its first line is one more.
    line_feeds: u64,
}

impl RowBlocks<'_> {
    /// The next block, or `None` after the last row.
    pub(crate) fn next_block(&mut self) -> Result<Option<RowBlock>> {
        let mut searched = 0;
        let cut = loop {
            if !self.eof && self.pending.len() < searched + self.block_size {
                self.fill()?;
            }
            if self.eof {
                break self.pending.len();
            }
            if let Some(cut) = last_row_end(&self.pending, self.format.delimiter) {
                break cut;
            }
            // No row ends in what was read (one very long row, or a quoted field across
            // lines): read on.
            searched = self.pending.len();
        };
        if cut == 0 {
            return Ok(None);
        }
        let rest = self.pending.split_off(cut);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let line_feeds = self.line_feeds;
        self.line_feeds += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        Ok(Some(RowBlock {
            format: Arc::clone(&self.format),
            bytes,
            line_feeds,
        }))
    }

    /// Reads about a block's worth of bytes more, or notes the end of the source.
    fn fill(&mut self) -> Result<()> {
        let start = self.pending.len();
        self.pending.resize(start + self.block_size, 0);
        let mut filled = start;
        while filled < self.pending.len() {
            match self.source.read(&mut self.pending[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&self.format.path, "reading", e)),
            }
        }
        self.pending.truncate(filled);
        Ok(())
    }
}

/// Where the last whole row of `bytes` (which start at the start of a row) ends: just past a
/// `\n` outside any quoted field; `None` if no row ends in them.
fn last_row_end(bytes: &[u8], delimiter: u8) -> Option<usize> {
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|i| i + 1);
    }
    // Quotes: follow csv's reading of them (a field that starts with `"` runs to the next
    // lone `"`, `""` inside it is a quote, anything after the closing quote is kept) to
    // know which line ends end rows.
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut last = None;
    for (i, &b) in bytes.iter().enumerate() {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::FieldStart, b'"') => State::Quoted,
            (_, b'\n') => {
                last = Some(i + 1);
                State::FieldStart
            }
            (_, b'\r') => State::FieldStart,
            (_, b) if b == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    last
}

impl RowBlock {
    /// Reads the block's rows one at a time, as [`Table::next_row`] does.
    pub fn rows(&self) -> BlockRows<'_> {
        let reader = csv::ReaderBuilder::new()
            .delimiter(self.format.delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(&self.bytes[..]);
        BlockRows {
            block: self,
            reader,
            counted: 0,
            line_feeds: self.line_feeds,
        }
    }

    /// The block's size in bytes.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The file the block came from.
    pub fn path(&self) -> &Path {
        &self.format.path
    }
}

/// The rows of one [`RowBlock`].
pub struct BlockRows<'b> {
    block: &'b RowBlock,
    reader: csv::Reader<&'b [u8]>,
    /// Bytes of the block whose line ends are counted in `line_feeds`.
    counted: usize,
    line_feeds: u64,
}

impl BlockRows<'_> {
    /// Reads the next non-blank row into `rec`; returns its 1-based line in the file, or
    /// `None` at the end of the block. Errors as [`Table::next_row`].
    pub fn next_row(&mut self, rec: &mut csv::StringRecord) -> Result<Option<u64>> {
        let format = &self.block.format;
        loop {
            let more = match self.reader.read_record(rec) {
                Ok(more) => more,
                Err(e) => {
                    let line = e
                        .position()
                        .map(|p| self.line_at(p.byte() as usize))
                        .unwrap_or(self.line_feeds + 1);
                    return Err(csv_error_at(&format.path, e, line));
                }
            };
            if !more {
                return Ok(None);
            }
            let line = rec
                .position()
                .map_or(0, |p| self.line_at(p.byte() as usize));
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let n = rec.len();
            let trailing_empty =
                n == format.fields + 1 && rec.get(n - 1).is_some_and(|f| f.trim().is_empty());
            if n != format.fields && !trailing_empty {
                return Err(Error::input(
                    Location::file(&format.path).at_line(line),
                    format!(
                        "{n} fields where the header has {}; check separators and quoting on this line",
                        format.fields
                    ),
                ));
            }
            return Ok(Some(line));
        }
    }

    /// The 1-based line of a row starting at `byte` of the block: line ends right at the
    /// row's start belong to the row before (CRLF), as in [`Table::next_row`].
    fn line_at(&mut self, byte: usize) -> u64 {
        let bytes = &self.block.bytes;
        let mut start = byte.min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.counted {
            // Rows are a line or so apart: a plain count beats setting up a vector search.
            self.line_feeds += bytes[self.counted..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.counted = start;
        }
        self.line_feeds + 1
    }
}

/// A field of a row, trimmed; empty when the column is absent.
pub fn field(rec: &csv::StringRecord, col: Option<usize>) -> &str {
    col.and_then(|c| rec.get(c)).map_or("", str::trim)
}

/// Reads into `buf` until it is full or the source ends; how many bytes were read.
fn read_up_to(source: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The separator of a text file, from its first line (read alone, not the whole file).
fn first_line_delimiter(path: &Path) -> Result<u8> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
    let mut line = Vec::new();
    std::io::BufReader::new(file)
        .take(1 << 20)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io(path, "reading", e))?;
    Ok(detect_delimiter(&line))
}

fn detect_delimiter(first_line: &[u8]) -> u8 {
    let count = |d: u8| first_line.iter().filter(|&&b| b == d).count();
    let (tabs, commas, semis) = (count(b'\t'), count(b','), count(b';'));
    if tabs > 0 && tabs >= commas && tabs >= semis {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    csv_error_located(path, e, line)
}

/// A csv error on a known line.
fn csv_error_at(path: &Path, e: csv::Error, line: u64) -> Error {
    csv_error_located(path, e, Some(line))
}

fn csv_error_located(path: &Path, e: csv::Error, line: Option<u64>) -> Error {
    let mut loc = Location::file(path);
    loc.line = line;
    let msg = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the line is not valid UTF-8; save the file as UTF-8".to_string()
        }
        _ => format!("cannot read the table: {e}"),
    };
    Error::input(loc, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All rows of a table, or its first error.
    fn parse(s: &str) -> Result<Vec<(u64, csv::StringRecord)>> {
        let mut t = Table::from_bytes(s.as_bytes(), Path::new("t.csv"))?;
        let b = t.column("b");
        let mut rows = Vec::new();
        let mut rec = csv::StringRecord::new();
        while let Some(line) = t.next_row(&mut rec)? {
            rows.push((line, rec.clone()));
        }
        if let Some(b) = b {
            assert_eq!(field(&rows[0].1, Some(b)), "2");
        }
        Ok(rows)
    }

    #[test]
    fn detects_separators_bom_and_crlf() {
        for text in [
            "a,b\r\n1,2\r\n",
            "\u{feff}a\tb\n1\t2\n",
            "a;b\n1;2\n",
            "A,B\n1,2,\n",
        ] {
            let rows = parse(text).unwrap();
            assert_eq!(rows.len(), 1, "{text:?}");
            assert_eq!(rows[0].0, 2, "{text:?}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a,b\n1,2\n1,2,3,4\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:3: 4 fields"), "{e}");
        let t = Table::from_bytes(b"a,b\n1,2\n", Path::new("t.csv")).unwrap();
        let e = t.require("c").unwrap_err();
        assert!(
            e.to_string().contains("t.csv:1: required column `c`"),
            "{e}"
        );
        let e = parse("").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = parse("a,b\n1,2\n")
            .map(|_| ())
            .and_then(|_| {
                let mut t = Table::from_bytes(b"a,b\n1,\xff\n", Path::new("t.csv"))?;
                t.next_row(&mut csv::StringRecord::new()).map(|_| ())
            })
            .unwrap_err();
        assert!(e.to_string().contains("t.csv:2"), "{e}");
        let e = parse("well,Well\n1,2\n").unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
    }

    #[test]
    fn lines_stay_right_past_the_read_buffer_in_a_streamed_file() {
        // Rows far beyond the 64 KiB buffers, CRLF and LF, a blank line: the line in an error
        // is the editor's line.
        for eol in ["\r\n", "\n"] {
            let mut text = format!("a,b{eol}");
            for i in 0..20_000 {
                if i == 9_000 {
                    text.push_str(eol);
                }
                if i == 15_000 {
                    text.push_str(&format!("1,2,3{eol}"));
                } else {
                    text.push_str(&format!("{i},x{eol}"));
                }
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.csv");
            std::fs::write(&path, &text).unwrap();
            let mut t = Table::open(&path).unwrap();
            let mut rec = csv::StringRecord::new();
            let mut last = 0;
            let e = loop {
                match t.next_row(&mut rec) {
                    Ok(Some(line)) => {
                        if field(&rec, Some(0)) == "12000" {
                            // The header, 12,000 rows and a blank line come before it.
                            assert_eq!(line, 12_003, "{eol:?}");
                        }
                        assert!(line > last);
                        last = line;
                    }
                    Ok(None) => panic!("the bad row was not found"),
                    Err(e) => break e,
                }
            };
            assert!(
                e.to_string().contains("t.csv:15003: 3 fields"),
                "{eol:?}: {e}"
            );
        }
    }

    /// Every row, line and error of [`Table::next_row`], read again through blocks cut
    /// anywhere: quoted fields across lines, `""` inside quotes, CRLF, blank lines, a BOM.
    #[test]
    fn blocks_read_the_rows_next_row_reads() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let pieces = [
            "x",
            "12.5",
            "\"a,b\"",
            "\"two\nlines\"",
            "\"say \"\"hi\"\"\"",
            "",
            "B3",
        ];
        for case in 0..200 {
            let eol = if case % 3 == 0 { "\r\n" } else { "\n" };
            let mut text = String::from(if case % 5 == 0 {
                "\u{feff}a,b,c"
            } else {
                "a,b,c"
            });
            text.push_str(eol);
            for _ in 0..rng.random_range(0..30) {
                if rng.random_range(0..10) == 0 {
                    text.push_str(eol);
                    continue;
                }
                let n = if rng.random_range(0..40) == 0 { 4 } else { 3 };
                let row: Vec<&str> = (0..n)
                    .map(|_| pieces[rng.random_range(0..pieces.len())])
                    .collect();
                text.push_str(&row.join(","));
                text.push_str(eol);
            }
            let path = Path::new("t.csv");
            let mut table = Table::from_bytes(text.as_bytes(), path).unwrap();
            let mut expected = Vec::new();
            let mut rec = csv::StringRecord::new();
            let expected_error = loop {
                match table.next_row(&mut rec) {
                    Ok(Some(line)) => {
                        expected.push((line, rec.iter().map(String::from).collect::<Vec<_>>()))
                    }
                    Ok(None) => break None,
                    Err(e) => break Some(e.to_string()),
                }
            };
            for size in [1, 3, 8, 64, 1 << 20] {
                let mut blocks = table.row_blocks(size).unwrap();
                let mut got = Vec::new();
                let mut error = None;
                'blocks: while let Some(block) = blocks.next_block().unwrap() {
                    let mut rows = block.rows();
                    loop {
                        match rows.next_row(&mut rec) {
                            Ok(Some(line)) => {
                                got.push((line, rec.iter().map(String::from).collect::<Vec<_>>()))
                            }
                            Ok(None) => break,
                            Err(e) => {
                                error = Some(e.to_string());
                                break 'blocks;
                            }
                        }
                    }
                }
                assert_eq!(got, expected, "case {case}, block size {size}: {text:?}");
                assert_eq!(
                    error, expected_error,
                    "case {case}, block size {size}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn blocks_of_a_file_start_after_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "\u{feff}a,b\r\n1,2\r\n\r\n3,4\r\n").unwrap();
        let table = Table::open(&path).unwrap();
        let mut blocks = table.row_blocks(4).unwrap();
        let mut rec = csv::StringRecord::new();
        let mut lines = Vec::new();
        while let Some(block) = blocks.next_block().unwrap() {
            let mut rows = block.rows();
            while let Some(line) = rows.next_row(&mut rec).unwrap() {
                lines.push((line, rec[0].to_string()));
            }
        }
        assert_eq!(lines, vec![(2, "1".to_string()), (4, "3".to_string())]);
    }
}
