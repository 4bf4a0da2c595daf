//! `collateral_shift`: the comparison `collateral shift` makes ([`collateral::run::compare`]),
//! from tables given as files or as R data frames.
//!
//! The library reads fits, MIC and lines tables row by row as named text cells with located
//! problems ([`collateral::table::Table`]); a data frame is handed to the same readers as a
//! table of such cells held in memory. Numbers become the shortest text that reads back to the
//! same `f64` (Rust's formatting), so no value changes on the way; `NA` becomes an empty cell.

use std::path::Path;

use extendr_api::prelude::*;

use collateral::checked::Check;
use collateral::error::{Error, Location};
use collateral::table::Table;

use super::{answer, frame_to_r, settings_error};

/// The cells of a data frame's columns (a named list of vectors) as a CSV table in memory.
fn table_bytes(columns: &List, source: &str) -> collateral::Result<Vec<u8>> {
    let bad = |message: String| Error::input(Location::file(source).at_line(1), message);
    let names: Vec<String> = columns
        .names()
        .map(|n| n.map(str::to_string).collect())
        .unwrap_or_default();
    if names.len() != columns.len() || names.is_empty() {
        return Err(bad("a table needs named columns".into()));
    }
    let cells: Vec<Vec<String>> = columns
        .values()
        .zip(&names)
        .map(|(column, name)| {
            column_cells(&column).ok_or_else(|| {
                bad(format!(
                    "column `{name}` is not text, numbers or logical values"
                ))
            })
        })
        .collect::<collateral::Result<_>>()?;
    let rows = cells.first().map_or(0, Vec::len);
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| bad(format!("cannot hold the table in memory: {e}"));
    out.write_record(&names).map_err(io)?;
    for r in 0..rows {
        out.write_record(cells.iter().map(|c| c[r].as_str()))
            .map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| bad(format!("cannot hold the table in memory: {e}")))
}

/// An R vector's cells as text: numbers in the shortest form that reads back to the same
/// `f64`, `NA` empty, factors by their labels.
fn column_cells(column: &Robj) -> Option<Vec<String>> {
    if let Some(levels) = column
        .get_attrib("levels")
        .and_then(|l| l.as_string_vector())
    {
        let codes = column.as_integer_slice()?;
        return Some(
            codes
                .iter()
                .map(|&c| {
                    usize::try_from(c - 1)
                        .ok()
                        .and_then(|i| levels.get(i).cloned())
                        .unwrap_or_default()
                })
                .collect(),
        );
    }
    if let Some(values) = column.as_real_slice() {
        return Some(
            values
                .iter()
                .map(|&x| {
                    if x.is_nan() {
                        String::new()
                    } else {
                        x.to_string()
                    }
                })
                .collect(),
        );
    }
    if let Some(values) = column.as_integer_slice() {
        return Some(
            values
                .iter()
                .map(|&x| {
                    if x == i32::MIN {
                        String::new()
                    } else {
                        x.to_string()
                    }
                })
                .collect(),
        );
    }
    if let Some(values) = column.as_logical_slice() {
        return Some(
            values
                .iter()
                .map(|b| {
                    if b.is_na() {
                        String::new()
                    } else {
                        b.is_true().to_string()
                    }
                })
                .collect(),
        );
    }
    let strings = Strings::try_from(column.clone()).ok()?;
    Some(
        strings
            .iter()
            .map(|s| {
                if s.is_na() {
                    String::new()
                } else {
                    s.to_string()
                }
            })
            .collect(),
    )
}

/// A table given as a file path (a string) or as a data frame's columns (a list), handed to
/// `read` as a [`Table`]; `source` names a data frame in problems.
fn with_table<T>(
    table: &Robj,
    source: &str,
    read: impl FnOnce(&mut Table<'_>) -> collateral::Result<T>,
) -> collateral::Result<T> {
    if let Some(path) = table.as_str() {
        return read(&mut Table::open(Path::new(path))?);
    }
    let columns = List::try_from(table.clone()).map_err(|_| {
        Error::input(
            Location::file(source),
            "expected a file path or a data frame",
        )
    })?;
    let bytes = table_bytes(&columns, source)?;
    let mut table = Table::from_bytes(&bytes, Path::new(source))?;
    read(&mut table)
}

/// `collateral shift` in memory: `fits` (a fits or MIC table) and `lines` each a file path or
/// a data frame's columns, `settings` the `[shift]` keys as a JSON object. Returns the
/// comparison's tables that have frames (`shifts`).
#[extendr]
fn shift_tables(fits: Robj, lines: Robj, settings: &str) -> Robj {
    answer((|| {
        let settings: collateral::shift::ShiftSettings =
            serde_json::from_str(settings).map_err(|e| settings_error("shift", e))?;
        let settings = settings.check()?;
        let lines = with_table(&lines, "<lines data.frame>", |t| {
            collateral::LinesTable::from_table(t)
        })?;
        let mic = collateral::mic::MicSettings::default().check()?;
        let comparison = with_table(&fits, "<fits data.frame>", |t| {
            collateral::run::compare(t, &lines, &settings, &mic, &Default::default())
        })?;
        let shifts = collateral::frame::shifts_frame(&comparison.shifts, &settings);
        Ok(list!(shifts = frame_to_r(shifts)).into())
    })())
}

extendr_module! {
    mod shift;
    fn shift_tables;
}
