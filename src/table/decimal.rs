//! Tables saved in a locale that writes decimal commas (`3,333`), which Excel saves with `;`
//! between fields: the numbers are rewritten with a decimal point, every row kept on its line.
//! Detected when unambiguous (a `;`-separated table whose decimal numbers all use a comma), or
//! declared (`[tables] decimal`); a table that mixes both marks without a declaration is an
//! error that says so, never a guess.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};

/// The decimal mark of a table's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum DecimalMark {
    /// `3.333`.
    #[serde(rename = ".")]
    Point,
    /// `3,333`.
    #[serde(rename = ",")]
    Comma,
}

/// The kind of number a field is, by its decimal mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Digits with one comma between (and maybe an exponent and a unit): `0,5`, `1,5e-3 uM`.
    Comma,
    /// The same with a point.
    Point,
    /// Anything else (words, whole numbers, empty).
    Neither,
}

/// The decimal mark a field's number uses, if it is a decimal number (a unit may follow it).
fn mark_of(field: &[u8]) -> Mark {
    let Ok(text) = std::str::from_utf8(field) else {
        return Mark::Neither;
    };
    let t = text.trim();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mark = match b.get(i) {
        Some(b',') => Mark::Comma,
        Some(b'.') => Mark::Point,
        _ => return Mark::Neither,
    };
    let frac_from = i + 1;
    i = frac_from;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == frac_from {
        return Mark::Neither;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    // What follows must be a unit (letters, `/`), or nothing.
    let rest = t[i..].trim_start();
    if rest.chars().all(|c| c.is_alphabetic() || c == '/') {
        mark
    } else {
        Mark::Neither
    }
}

/// The first field of a kind: its text and line.
struct Seen {
    text: String,
    line: u64,
}

/// `bytes` (a table separated by `delimiter`, BOM removed) with decimal commas rewritten as
/// points, as comma-separated CSV on the same lines; `None` when nothing is to be rewritten
/// (no decimal commas, or a declared decimal point).
pub(crate) fn with_decimal_points(
    bytes: &[u8],
    path: &Path,
    delimiter: u8,
    declared: Option<DecimalMark>,
) -> Result<Option<Vec<u8>>> {
    if declared == Some(DecimalMark::Point) || (declared.is_none() && delimiter != b';') {
        return Ok(None);
    }
    let records = read_records(bytes, path, delimiter)?;
    let (mut comma, mut point): (Option<Seen>, Option<Seen>) = (None, None);
    for (line, rec) in &records {
        for f in rec.iter() {
            let slot = match mark_of(f) {
                Mark::Comma => &mut comma,
                Mark::Point => &mut point,
                Mark::Neither => continue,
            };
            slot.get_or_insert_with(|| Seen {
                text: String::from_utf8_lossy(f).trim().to_string(),
                line: *line,
            });
        }
    }
    let Some(comma) = comma else {
        return Ok(None);
    };
    if let Some(point) = point {
        let message = match declared {
            Some(_) => format!(
                "`{}` has a decimal point, but the table is declared to write decimal commas (`[tables] decimal = \",\"`); write every number one way",
                point.text
            ),
            None => format!(
                "the table is `;`-separated and writes numbers both with a decimal comma (`{}` on line {}) and a decimal point (`{}` on this line); say which mark it uses with `[tables] decimal = \",\"` or `\".\"` in the assay",
                comma.text, comma.line, point.text
            ),
        };
        return Err(Error::input(
            Location::file(path).at_line(point.line),
            message,
        ));
    }
    write_with_points(&records, path).map(Some)
}

/// Every record of the table with the line it starts on.
fn read_records(bytes: &[u8], path: &Path, delimiter: u8) -> Result<Vec<(u64, csv::ByteRecord)>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = Vec::new();
    let (mut counted, mut feeds) = (0usize, 0u64);
    let mut rec = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(Error::input(
                    Location::file(path).at_line(feeds + 1),
                    format!("cannot read the table: {e}"),
                ))
            }
        }
        // The record's line from its byte offset (line ends right at it belong to the row
        // before, as the table reader counts them).
        let mut start = rec.position().map_or(counted, |p| p.byte() as usize);
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > counted {
            feeds += memchr::memchr_iter(b'\n', &bytes[counted..start]).count() as u64;
            counted = start;
        }
        records.push((feeds + 1, rec.clone()));
    }
    Ok(records)
}

/// The records as comma-separated CSV, decimal commas as points, each on its line.
fn write_with_points(records: &[(u64, csv::ByteRecord)], path: &Path) -> Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut line = 1u64;
    let fail = |e: csv::Error| {
        Error::input(
            Location::file(path),
            format!("cannot rewrite the table: {e}"),
        )
    };
    for (at, rec) in records {
        while line < *at {
            out.push(b'\n');
            line += 1;
        }
        let fields: Vec<Vec<u8>> = rec
            .iter()
            .map(|f| match mark_of(f) {
                Mark::Comma => {
                    let mut f = f.to_vec();
                    if let Some(i) = f.iter().position(|&b| b == b',') {
                        f[i] = b'.';
                    }
                    f
                }
                _ => f.to_vec(),
            })
            .collect();
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(&fields).map_err(fail)?;
        let bytes = w.into_inner().map_err(|e| fail(e.into_error().into()))?;
        line += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        out.extend(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(text: &str, declared: Option<DecimalMark>) -> Result<Option<String>> {
        with_decimal_points(text.as_bytes(), Path::new("w.csv"), b';', declared)
            .map(|o| o.map(|b| String::from_utf8(b).unwrap()))
    }

    #[test]
    fn decimal_commas_become_points_on_the_same_lines() {
        let t = "plate;well;concentration;signal;drug\r\n\r\nP;A1;3,333;1,5e3;cis, trans\r\nP;A2;0,37 uM;12;x\r\n";
        let out = rewrite(t, None).unwrap().unwrap();
        assert_eq!(
            out,
            "plate,well,concentration,signal,drug\n\nP,A1,3.333,1.5e3,\"cis, trans\"\nP,A2,0.37 uM,12,x\n"
        );
    }

    #[test]
    fn mixed_marks_are_an_error_unless_declared() {
        let t = "a;b\n1,5;2\n0.5;3\n";
        let e = rewrite(t, None).unwrap_err().to_string();
        assert!(
            e.starts_with("w.csv:3:") && e.contains("`1,5` on line 2"),
            "{e}"
        );
        let e = rewrite(t, Some(DecimalMark::Comma))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`0.5` has a decimal point"), "{e}");
        assert_eq!(rewrite(t, Some(DecimalMark::Point)).unwrap(), None);
        // Without a decimal comma nothing is rewritten; a comma-separated table is left alone.
        assert_eq!(rewrite("a;b\n1.5;2\n", None).unwrap(), None);
        let plain = with_decimal_points(b"a,b\n\"1,5\",2\n", Path::new("w.csv"), b',', None);
        assert_eq!(plain.unwrap(), None);
    }
}
