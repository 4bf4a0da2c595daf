//! A run's tables written as Parquet (`--format parquet`), read back as the CSV text of the
//! same table, so that every reader of a finished folder (plot, merge, plan, the workbook,
//! the faces) reads `<name>.parquet` where `<name>.csv` is absent, through the one CSV path.
//!
//! The text is the one the tool writes: numbers in the tables' form
//! ([`crate::text::format_number_into`]: the shortest text that reads back to the same
//! number), an absent value (a null) an empty cell, flags `true`/`false`, words as written.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Location, Result};

/// The Parquet file standing in for the table at `path` when `path` (a `.csv`) does not
/// exist and `<stem>.parquet` beside it does.
pub fn stand_in(path: &Path) -> Option<PathBuf> {
    if path.extension().is_some_and(|e| e == "csv") && !path.exists() {
        let parquet = path.with_extension("parquet");
        parquet.is_file().then_some(parquet)
    } else {
        None
    }
}

/// Whether the table at `path` exists, as CSV or as its Parquet stand-in ([`stand_in`]).
pub(crate) fn table_exists(path: &Path) -> bool {
    path.exists() || stand_in(path).is_some()
}

/// Whether `bytes` start as a Parquet file does (`PAR1`).
pub(crate) fn is_parquet(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PAR1")
}

/// The record batches of the Parquet file at `path`, in order.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
    let bad = |e: &dyn std::fmt::Display| {
        Error::input(
            Location::file(path),
            format!("cannot read the Parquet table: {e}"),
        )
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(&e))?
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| bad(&e))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))
}

/// The Parquet table at `path` as CSV text: its header, then a line per row (line `k + 1`
/// holds row `k`, so a located error names the row). A column of a type no table of the
/// tool has (dates, lists, …) is an error naming it.
pub(crate) fn csv_text(path: &Path) -> Result<Vec<u8>> {
    let batches = read_batches(path)?;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => {
            let file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
                Error::input(
                    Location::file(path),
                    format!("cannot read the Parquet table: {e}"),
                )
            })?;
            builder.schema().clone()
        }
    };
    for field in schema.fields() {
        if !readable(field.data_type()) {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "column `{}` is of type {}, which no table of collateral has (numbers, whole numbers, true/false and text)",
                    field.name(),
                    field.data_type()
                ),
            ));
        }
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::io(path, "reading", e.into());
    out.write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(io)?;
    let mut buf = String::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            for column in batch.columns() {
                cell_text(column, row, &mut buf);
                out.write_field(&buf).map_err(io)?;
            }
            out.write_record(None::<&[u8]>).map_err(io)?;
        }
    }
    out.into_inner()
        .map_err(|e| Error::io(path, "reading", e.into_error()))
}

/// Whether [`cell_text`] reads columns of `data_type`.
fn readable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Float64
        | DataType::Float32
        | DataType::Int64
        | DataType::Int32
        | DataType::Int16
        | DataType::Int8
        | DataType::UInt32
        | DataType::UInt16
        | DataType::UInt8
        | DataType::Boolean
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Null => true,
        DataType::Dictionary(key, value) => {
            **key == DataType::Int32 && matches!(**value, DataType::Utf8 | DataType::LargeUtf8)
        }
        _ => false,
    }
}

/// The CSV text of `column`'s value at `row` into `buf` (cleared first): empty for a null.
fn cell_text(column: &ArrayRef, row: usize, buf: &mut String) {
    use std::fmt::Write as _;
    buf.clear();
    if column.is_null(row) {
        return;
    }
    match column.data_type() {
        DataType::Float64 => {
            crate::text::format_number_into(buf, column.as_primitive::<Float64Type>().value(row))
        }
        DataType::Float32 => {
            let v = column
                .as_primitive::<arrow_array::types::Float32Type>()
                .value(row);
            crate::text::format_number_into(buf, f64::from(v))
        }
        DataType::Int64 => {
            let _ = write!(buf, "{}", column.as_primitive::<Int64Type>().value(row));
        }
        DataType::Boolean => buf.push_str(if column.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Utf8 => buf.push_str(column.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => buf.push_str(column.as_string::<i64>().value(row)),
        DataType::Utf8View => buf.push_str(column.as_string_view().value(row)),
        DataType::Dictionary(..) => {
            let dictionary = column.as_dictionary::<Int32Type>();
            let key = dictionary.keys().value(row) as usize;
            let values = dictionary.values();
            cell_text(values, key, buf);
        }
        DataType::Null => {}
        _ => {
            // The other whole-number types (checked by `readable`).
            let cast = whole_number(column, row);
            let _ = write!(buf, "{cast}");
        }
    }
}

/// A value of a narrower integer column.
fn whole_number(column: &ArrayRef, row: usize) -> i64 {
    use arrow_array::types::{Int16Type, Int8Type, UInt16Type, UInt32Type, UInt8Type};
    match column.data_type() {
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int16 => column.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int8 => column.as_primitive::<Int8Type>().value(row).into(),
        DataType::UInt32 => column.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt16 => column.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt8 => column.as_primitive::<UInt8Type>().value(row).into(),
        _ => 0,
    }
}

/// A CSV reader of the table at `path`, or of the CSV text of its Parquet stand-in
/// ([`stand_in`]): for the readers of a finished folder that parse the text themselves.
pub(crate) fn csv_reader(path: &Path) -> csv::Result<csv::Reader<Box<dyn std::io::Read + Send>>> {
    let source: Box<dyn std::io::Read + Send> = match stand_in(path) {
        Some(parquet) => {
            let text = csv_text(&parquet).map_err(|e| std::io::Error::other(e.to_string()))?;
            Box::new(std::io::Cursor::new(text))
        }
        None => Box::new(std::fs::File::open(path)?),
    };
    Ok(csv::Reader::from_reader(source))
}
