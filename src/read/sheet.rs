//! Files as sheets of text cells: delimited text in any common encoding, or Excel workbooks.
//!
//! Every plate file is first turned into [`Sheet`]s (one for a text file, one per worksheet of
//! a workbook) so that the grid and vendor scanners never care where a cell came from. Each
//! row keeps the line (or worksheet row) it was read from, for located errors.

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Problem, Result};
use crate::table::spreadsheet::{cell_text, clean_cell, is_workbook};

/// One table of text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// What errors name as the file: the path, plus `[worksheet]` for workbooks.
    pub source: PathBuf,
    /// Rows of trimmed cells.
    pub rows: Vec<Vec<String>>,
    /// The 1-based line (text) or worksheet row (Excel) of each row.
    pub lines: Vec<u64>,
    /// The separator of a text file; `None` for worksheets.
    pub delimiter: Option<u8>,
}

impl Sheet {
    /// The cell at row `r`, column `c`, or "" when the row is shorter.
    pub fn cell(&self, r: usize, c: usize) -> &str {
        self.rows
            .get(r)
            .and_then(|row| row.get(c))
            .map_or("", String::as_str)
    }

    /// Whether row `r` holds no text at all.
    pub fn blank(&self, r: usize) -> bool {
        self.rows
            .get(r)
            .is_none_or(|row| row.iter().all(|c| c.is_empty()))
    }

    /// The first non-empty cell of row `r`.
    pub(crate) fn first_text(&self, r: usize) -> &str {
        self.rows
            .get(r)
            .and_then(|row| row.iter().find(|c| !c.is_empty()))
            .map_or("", String::as_str)
    }

    /// A location at row `r`.
    pub fn at(&self, r: usize) -> Location {
        let loc = Location::file(&self.source);
        match self.lines.get(r) {
            Some(&l) => loc.at_line(l),
            None => loc,
        }
    }
}

/// Decodes text bytes: UTF-8 (with or without BOM) or UTF-16 LE/BE with BOM. Anything else is
/// an error naming the first line that is not valid UTF-8.
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, path, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, path, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            Err(Error::input(
                Location::file(path).at_line(line),
                "this line is not valid UTF-8 (nor is the file UTF-16 with a byte-order mark); save the file as UTF-8",
            ))
        }
    }
}

fn utf16(rest: &[u8], path: &Path, word: fn([u8; 2]) -> u16) -> Result<String> {
    if !rest.len().is_multiple_of(2) {
        return Err(Error::input(
            Location::file(path),
            "the file is UTF-16 but has an odd number of bytes: it is truncated",
        ));
    }
    let units: Vec<u16> = rest.chunks_exact(2).map(|c| word([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| {
        Error::input(
            Location::file(path),
            "the file says it is UTF-16 but holds an invalid character sequence",
        )
    })
}

/// Picks the separator of a text export: the most frequent of tab, comma and semicolon.
/// Tabs win ties because tab-separated exports carry commas in labels (`fluor:579,616`) and
/// as decimal marks; semicolons win over commas at half their count for the same reason.
pub(crate) fn detect_delimiter(text: &str) -> u8 {
    let count = |d: char| text.chars().filter(|&c| c == d).count();
    let (tabs, commas, semis) = (count('\t'), count(','), count(';'));
    if tabs > 0 && tabs >= commas && tabs >= semis {
        b'\t'
    } else if semis > 0 && semis * 2 >= commas {
        b';'
    } else {
        b','
    }
}

/// Splits decoded text into a sheet. Quotes follow CSV rules within one line; Excel's escapes
/// for text that looks like a number or date (`="0123"`) are undone.
pub(crate) fn text_sheet(text: &str, path: &Path) -> Sheet {
    let delimiter = detect_delimiter(text);
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        rows.push(split_line(line, delimiter as char));
        lines.push(i as u64 + 1);
    }
    // A final newline leaves one empty "line" that no editor shows.
    if text.ends_with('\n') {
        rows.pop();
        lines.pop();
    }
    Sheet {
        source: path.to_path_buf(),
        rows,
        lines,
        delimiter: Some(delimiter),
    }
}

fn split_line(line: &str, d: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == d {
            out.push(clean_cell(&cur));
            cur.clear();
            at_start = true;
            continue;
        } else if c == '"' && at_start {
            quoted = true;
        } else {
            cur.push(c);
        }
        at_start = false;
    }
    out.push(clean_cell(&cur));
    out
}

/// Reads a plate file into sheets: one per worksheet of a workbook, one for a text file.
pub fn load(path: &Path) -> Result<Vec<Sheet>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
    sheets_from_bytes(&bytes, path)
}

/// [`load`] on bytes already read.
pub(crate) fn sheets_from_bytes(bytes: &[u8], path: &Path) -> Result<Vec<Sheet>> {
    if is_workbook(bytes) {
        return workbook(bytes, path);
    }
    let text = decode(bytes, path)?;
    if text.trim().is_empty() {
        return Err(Error::input(Location::file(path), "the file is empty"));
    }
    Ok(vec![text_sheet(&text, path)])
}

fn workbook(bytes: &[u8], path: &Path) -> Result<Vec<Sheet>> {
    use calamine::Reader;
    let cursor = std::io::Cursor::new(bytes.to_vec());
    let mut wb = calamine::open_workbook_auto_from_rs(cursor).map_err(|e| {
        Error::input(
            Location::file(path),
            format!("cannot open the workbook: {e} (is it truncated or not an .xlsx/.xls file?)"),
        )
    })?;
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(|e| {
            Error::input(
                Location::file(path),
                format!("cannot read worksheet `{name}`: {e}"),
            )
        })?;
        let first_row = range.start().map_or(0, |(r, _)| r);
        let first_col = range.start().map_or(0, |(_, c)| c) as usize;
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (i, row) in range.rows().enumerate() {
            let mut cells = vec![String::new(); first_col];
            cells.extend(row.iter().map(cell_text));
            rows.push(cells);
            lines.push(u64::from(first_row) + i as u64 + 1);
        }
        let mut source = path.as_os_str().to_owned();
        source.push(format!(" [{name}]"));
        sheets.push(Sheet {
            source: PathBuf::from(source),
            rows,
            lines,
            delimiter: None,
        });
    }
    Ok(sheets)
}

/// Parses a cell as a reading. In files whose separator is not a comma, a decimal comma
/// (`0,02`) is read as a decimal point, with a warning, because European-locale exports write
/// numbers that way; elsewhere the text is kept as written.
pub fn parse_signal(
    text: &str,
    delimiter: Option<u8>,
    loc: &Location,
    warnings: &mut Vec<Problem>,
) -> crate::wells::Signal {
    use crate::wells::Signal;
    let s = Signal::parse(text);
    if let Signal::NotNumeric(t) = &s {
        if delimiter != Some(b',') && t.matches(',').count() == 1 {
            let dotted = t.replace(',', ".");
            if let Ok(v) = dotted.parse::<f64>() {
                if v.is_finite() && !t.contains('.') {
                    warnings.push(Problem {
                        location: loc.clone(),
                        message: format!("`{t}` read as {v} (decimal comma)"),
                    });
                    return Signal::Value(v);
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_common_encoding() {
        let p = Path::new("x.txt");
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a\tb\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("a\tb\r\n".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        for bytes in [
            b"a\tb\r\n".to_vec(),
            b"\xEF\xBB\xBFa\tb\n".to_vec(),
            utf16le,
            utf16be,
        ] {
            let s = text_sheet(&decode(&bytes, p).unwrap(), p);
            assert_eq!(s.rows, vec![vec!["a".to_string(), "b".to_string()]]);
        }
        let e = decode(b"ok\n\xff\n", p).unwrap_err();
        assert!(e.to_string().starts_with("x.txt:2:"), "{e}");
        let e = decode(b"\xFF\xFEa", p).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn splits_quotes_and_excel_escapes() {
        let s = text_sheet(
            "1,\"=\"\"8/22/2023\"\"\",=\"1051017\",\"a,b\",\n",
            Path::new("e.csv"),
        );
        assert_eq!(s.rows[0], vec!["1", "8/22/2023", "1051017", "a,b", ""]);
    }

    #[test]
    fn decimal_commas_only_outside_comma_files() {
        let loc = Location::default();
        let mut w = Vec::new();
        assert_eq!(
            parse_signal("0,02", Some(b'\t'), &loc, &mut w).value(),
            Some(0.02)
        );
        assert_eq!(w.len(), 1);
        assert_eq!(parse_signal("0,02", Some(b','), &loc, &mut w).value(), None);
        assert_eq!(
            parse_signal("1,000.5", Some(b'\t'), &loc, &mut w).value(),
            None
        );
    }
}
