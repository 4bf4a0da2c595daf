//! Delimited text tables (CSV, TSV, semicolon-separated) with located errors.
//!
//! Every input table goes through here so that they all accept the same things: a UTF-8 BOM,
//! CRLF or LF line ends, comma, tab or semicolon separators (detected from the header line),
//! header names in any case, and errors that name the file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{did_you_mean, Error, Location, Result};

/// A delimited table with its header resolved; rows are read one at a time so a screen of a
/// million wells is never held twice in memory.
pub struct Table<'a> {
    /// The file it came from.
    pub path: PathBuf,
    /// Header names as written (trimmed).
    pub headers: Vec<String>,
    index: HashMap<String, usize>,
    bytes: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    newlines: Vec<usize>,
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

impl<'a> Table<'a> {
    /// Parses the header of a table held in `bytes`, as if read from `path`.
    pub fn from_bytes(bytes: &'a [u8], path: &Path) -> Result<Table<'a>> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            return Err(Error::input(
                Location::file(path).at_line(1),
                "the file is UTF-16 encoded; save it as UTF-8 (CSV UTF-8 in Excel)",
            ));
        }
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let delimiter = detect_delimiter(first_line);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(bytes);
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
        // csv counts CRLF line ends one line late; lines are counted from byte offsets instead.
        let newlines = bytes
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| (b == b'\n').then_some(i))
            .collect();
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            index,
            bytes,
            reader,
            newlines,
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
            let line = rec
                .position()
                .map_or(0, |p| self.line_of(p.byte() as usize));
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

    fn line_of(&self, byte: usize) -> u64 {
        let mut b = byte;
        while b < self.bytes.len() && (self.bytes[b] == b'\r' || self.bytes[b] == b'\n') {
            b += 1;
        }
        self.newlines.partition_point(|&n| n < b) as u64 + 1
    }

    /// Number of lines in the file (an upper bound on the number of rows).
    pub fn line_count(&self) -> usize {
        self.newlines.len() + 1
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
}
