//! A tidy table saved as a spreadsheet (.xlsx, .xlsm, .xls, .ods): one sheet turned into the
//! CSV text the table reader reads, each row on the line of its row number in the sheet, so
//! that a problem's "line" is the row a spreadsheet user sees.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};

use crate::error::{Error, Location, Result};

/// Whether `bytes` are a workbook (by the zip or OLE signature, not the file's name): .xlsx,
/// .xlsm and .ods are zips, .xls is OLE.
pub(crate) fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0")
}

/// Trims a cell's text and undoes Excel's `="…"` escape.
pub(crate) fn clean_cell(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_prefix("=\"")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(t);
    t.trim().to_string()
}

/// A cell as text: numbers in the shortest form that reads back to the same `f64`.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => clean_cell(s),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        Data::Bool(b) => format!("{b}"),
        Data::DateTime(d) => format!("{d}"),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// One sheet of the workbook in `bytes` (the named one, or the first) as CSV text, and the
/// name to give its source in messages (`wells.xlsx [Sheet1]`).
pub(crate) fn sheet_as_csv(
    bytes: &[u8],
    path: &Path,
    sheet: Option<&str>,
) -> Result<(Vec<u8>, PathBuf)> {
    let cursor = std::io::Cursor::new(bytes);
    let mut wb = calamine::open_workbook_auto_from_rs(cursor).map_err(|e| {
        Error::input(
            Location::file(path),
            format!("cannot open the workbook: {e} (is it truncated, or not .xlsx/.xls/.ods?)"),
        )
    })?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                Error::input(
                    Location::file(path),
                    format!(
                        "the workbook has no sheet `{s}`; its sheets: {}",
                        names.join(", ")
                    ),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::input(Location::file(path), "the workbook has no sheet"))?,
    };
    let range = wb.worksheet_range(&name).map_err(|e| {
        Error::input(
            Location::file(path),
            format!("cannot read sheet `{name}`: {e}"),
        )
    })?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Blank lines up to the first used row keep every row on its sheet row number.
    let mut text: Vec<u8> = vec![b'\n'; first_row as usize];
    for row in range.rows() {
        let mut cells = vec![String::new(); first_col as usize];
        cells.extend(row.iter().map(cell_text));
        out.write_record(&cells).map_err(|e| {
            Error::input(
                Location::file(path),
                format!("cannot convert the sheet: {e}"),
            )
        })?;
    }
    let written = out.into_inner().map_err(|e| {
        Error::input(
            Location::file(path),
            format!("cannot convert the sheet: {e}"),
        )
    })?;
    text.extend(written);
    let mut source = path.as_os_str().to_owned();
    source.push(format!(" [{name}]"));
    Ok((text, PathBuf::from(source)))
}
