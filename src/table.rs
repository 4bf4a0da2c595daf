//! Delimited text tables (CSV, TSV, semicolon-separated) with located errors.
//!
//! Every input table goes through here so that they all accept the same things: a UTF-8 BOM,
//! CRLF or LF line ends, comma, tab or semicolon separators (detected from the header line),
//! header names in any case, and errors that name the file and line.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::{did_you_mean, Error, Location, Result};

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
}

impl std::fmt::Debug for Table<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .finish()
    }
}

/// Reads a file's bytes, for [`Table::from_bytes`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
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
        Self::from_reader(Box::new(bytes), path, rows)
    }

    /// Opens a table file and parses its header; rows are read as they are asked for.
    pub fn open(path: &Path) -> Result<Table<'static>> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
        let size = file.metadata().map_or(0, |m| m.len());
        Table::from_reader(Box::new(file), path, 0).map(|mut t| {
            // Room to reserve for rows: the file's size over the header line's length is a
            // bound good enough for a capacity (untouched capacity costs no memory).
            let header_len: usize = t.headers.iter().map(|h| h.len() + 1).sum();
            t.row_hint = (size as usize / header_len.max(8)).saturating_add(1);
            t
        })
    }

    fn from_reader(reader: Box<dyn Read + 'a>, path: &Path, row_hint: usize) -> Result<Table<'a>> {
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
    pub fn line_count(&self) -> usize {
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

/// A field of a row, trimmed; empty when the column is absent.
pub fn field(rec: &csv::StringRecord, col: Option<usize>) -> &str {
    col.and_then(|c| rec.get(c)).map_or("", str::trim)
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
}
