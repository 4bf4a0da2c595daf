//! The foreign-table reader: a CSV that is not one of a finished folder's tables → typed
//! columns, by [`collateral::output::column_kind`]. Every table `collateral run`, `merge`,
//! `shift` and `plan` write reads through its row type instead (`frame::read_typed`, a missing
//! column or malformed cell a located error); this serves what has none: a user's own CSV (a
//! lines table, a `lines.csv` a merge copies) and the tables a plate file's reads give in
//! memory (`read_plate_file`). Column types follow the contract whatever the data (a
//! `replicate` of `1`, `2` stays text; an all-empty `ic50` stays float).

use std::path::Path;

use collateral::error::{Error, Location};
use collateral::frame::column_of_cells;
use collateral::output::column_kind;

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
            let column = column_of_cells(column_kind(name, &h), values);
            (h, column)
        })
        .collect())
}
