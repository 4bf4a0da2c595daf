//! A CSV table of the tool → typed columns, by [`collateral::output::column_kind`]: the one
//! place the Python package decides a column's type, so a DataFrame's types are the contract's
//! whatever the data (a `replicate` of `1`, `2` stays text; an all-empty `ic50` stays float).

use std::path::Path;

use collateral::error::{Error, Location};
use collateral::output::{column_kind, ColumnKind};

pub use collateral::frame::Column;

/// Parses the CSV `bytes` of the table `name` (a file name such as `fits.csv`; `path` is where
/// problems point). A column the contract does not fix is a number when every non-empty cell
/// is one, text otherwise; a cell that does not fit its column's kind (a table not written by
/// this tool) makes the column text rather than losing it.
pub fn parse(name: &str, bytes: &[u8], path: &Path) -> collateral::Result<Vec<(String, Column)>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| {
            Error::input(
                Location::file(path).at_line(1),
                format!("cannot read the header: {e}"),
            )
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(Error::input(
                    Location::file(path).at_line(line),
                    format!("unreadable row: {e}"),
                ));
            }
        }
        for (column, field) in cells.iter_mut().zip(record.iter()) {
            column.push(field.to_string());
        }
    }
    Ok(header
        .into_iter()
        .zip(cells)
        .map(|(h, values)| {
            let column = typed(column_kind(name, &h), values);
            (h, column)
        })
        .collect())
}

fn typed(kind: Option<ColumnKind>, values: Vec<String>) -> Column {
    let kind = kind.unwrap_or_else(|| {
        let numeric = values.iter().any(|v| !v.is_empty())
            && values
                .iter()
                .all(|v| v.is_empty() || v.parse::<f64>().is_ok());
        if numeric {
            ColumnKind::Number
        } else {
            ColumnKind::Text
        }
    });
    match kind {
        ColumnKind::Text => Column::Text(values),
        ColumnKind::Number => {
            let parsed: Option<Vec<f64>> = values
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Some(f64::NAN)
                    } else {
                        v.parse::<f64>().ok()
                    }
                })
                .collect();
            parsed.map_or(Column::Text(values), Column::Number)
        }
        ColumnKind::Count => {
            let parsed: Option<Vec<(i64, bool)>> = values
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        Some((0, true))
                    } else {
                        v.parse::<i64>().ok().map(|x| (x, false))
                    }
                })
                .collect();
            match parsed {
                Some(p) => Column::Count(
                    p.iter().map(|x| x.0).collect(),
                    p.iter().map(|x| x.1).collect(),
                ),
                None => Column::Text(values),
            }
        }
        ColumnKind::Flag => {
            let parsed: Option<Vec<(bool, bool)>> = values
                .iter()
                .map(|v| match v.as_str() {
                    "" => Some((false, true)),
                    "true" => Some((true, false)),
                    "false" => Some((false, false)),
                    _ => None,
                })
                .collect();
            match parsed {
                Some(p) => Column::Flag(
                    p.iter().map(|x| x.0).collect(),
                    p.iter().map(|x| x.1).collect(),
                ),
                None => Column::Text(values),
            }
        }
    }
}
