//! The run's tables as Parquet (`--format parquet|both`): a [`Frame`]'s typed columns as
//! Arrow arrays — numbers `f64`, counts `i64`, flags `bool`, each with nulls where the CSV
//! cell is empty; words and names dictionary-encoded strings (the reading `signal` of
//! `wells.csv`, nearly every value distinct, plain strings) — in a Parquet file with the
//! CSV's column names, compressed with zstd.
//!
//! The columns of each row group are encoded in parallel (rayon) and appended in order: the
//! bytes are the same whatever the number of threads.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use super::{column_of_cells, Column, Frame};
use crate::error::{Error, Location, Result};
use crate::output::column_kind;
use crate::qc::WellOutcome;
use crate::wells::{Signal, WellTable};

/// Rows per row group: a few row groups in a screen's `wells.parquet`, so its columns are
/// encoded on every core; one for every other table.
const ROW_GROUP: usize = 1 << 19;

/// Text columns written as plain strings rather than dictionary-encoded: the reading as
/// written, nearly every value distinct.
const PLAIN_TEXT: [&str; 1] = ["signal"];

/// The Arrow type of a text column named `name`.
fn text_type(name: &str) -> DataType {
    if PLAIN_TEXT.contains(&name) {
        DataType::Utf8
    } else {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    }
}

/// The nulls of a column from its mask of absent cells (`None` when none is absent).
fn nulls_of(absent: impl Iterator<Item = bool>) -> Option<NullBuffer> {
    let valid: NullBuffer = absent.map(|a| !a).collect::<Vec<bool>>().into();
    (valid.null_count() > 0).then_some(valid)
}

/// The Arrow array of one typed column named `name`.
pub(crate) fn array_of(name: &str, column: &Column) -> ArrayRef {
    match column {
        Column::Number(v) => {
            let nulls = nulls_of(v.iter().map(|x| !x.is_finite()));
            Arc::new(Float64Array::new(v.clone().into(), nulls))
        }
        Column::Count(v, mask) => Arc::new(Int64Array::new(
            v.clone().into(),
            nulls_of(mask.iter().copied()),
        )),
        Column::Flag(v, mask) => Arc::new(BooleanArray::new(
            v.to_vec().into(),
            nulls_of(mask.iter().copied()),
        )),
        Column::Text(v) if text_type(name) == DataType::Utf8 => {
            Arc::new(StringArray::from_iter_values(v.iter()))
        }
        Column::Text(v) => Arc::new(dictionary_of(v.iter().map(String::as_str))),
    }
}

/// Distinct words a dictionary column looks up by comparing with each in turn before it
/// hashes: a table's roles, exclusion reasons and calls are a handful, and comparing a few
/// short strings costs less than hashing one.
const FEW_WORDS: usize = 16;

/// The dictionary-encoded strings of `values`, the dictionary in order of first appearance.
fn dictionary_of<'a>(values: impl Iterator<Item = &'a str>) -> DictionaryArray<Int32Type> {
    let mut ids: HashMap<&str, i32> = HashMap::new();
    let mut words: Vec<&str> = Vec::new();
    let mut last: Option<(&str, i32)> = None;
    let keys: Vec<i32> = values
        .map(|v| {
            if let Some((w, id)) = last {
                if w == v {
                    return id;
                }
            }
            let id = match words.iter().take(FEW_WORDS).position(|w| *w == v) {
                Some(k) => k as i32,
                None => *ids.entry(v).or_insert_with(|| {
                    words.push(v);
                    words.len() as i32 - 1
                }),
            };
            last = Some((v, id));
            id
        })
        .collect();
    DictionaryArray::new(
        Int32Array::from(keys),
        Arc::new(StringArray::from_iter_values(words)),
    )
}

/// The record batch of `frame`: its columns in order, typed as the module says.
pub fn batch_of_frame(frame: &Frame) -> RecordBatch {
    let arrays: Vec<ArrayRef> = frame
        .par_iter()
        .map(|(name, column)| array_of(name, column))
        .collect();
    batch_of(frame.iter().map(|(n, _)| n.as_str()), arrays)
}

/// A record batch of named arrays, every field nullable.
fn batch_of<'a>(names: impl Iterator<Item = &'a str>, arrays: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> = names
        .zip(&arrays)
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .expect("columns of one table have one length")
}

/// Columns of `wells` whose values are nearly all distinct (the reading as written, the
/// values computed from it): a dictionary page would only be tried and given up on, at a cost
/// in time, so they are written plain (zstd still compresses them).
const NO_DICTIONARY: [&str; 4] = ["signal", "viability", "gr", "time"];

/// The writer settings of every table: zstd, dictionary pages but for [`NO_DICTIONARY`], the
/// default statistics.
fn properties() -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP));
    for column in NO_DICTIONARY {
        builder = builder.set_column_dictionary_enabled(column.into(), false);
    }
    builder.build()
}

/// Writes `frame` as a Parquet file to `w` (see [`write_batches`]).
pub(crate) fn write_frame(w: &mut dyn Write, frame: &Frame) -> std::io::Result<()> {
    let batch = batch_of_frame(frame);
    write_batches(w, batch.schema(), &row_groups(&batch))
}

/// `batch` cut into row groups of at most [`ROW_GROUP`] rows.
fn row_groups(batch: &RecordBatch) -> Vec<RecordBatch> {
    let rows = batch.num_rows();
    (0..rows.div_ceil(ROW_GROUP))
        .map(|g| batch.slice(g * ROW_GROUP, ROW_GROUP.min(rows - g * ROW_GROUP)))
        .collect()
}

/// The table `name` (a file name such as `fits.csv`) given as its CSV text, written as
/// Parquet to `w`: each column typed as a reader of the CSV types it ([`column_of_cells`] by
/// [`column_kind`]), so the Parquet table equals the CSV table read back, value for value.
/// For the tables written as text first (`merge`, `shift`, the comparison's tables).
pub(crate) fn write_csv_as_parquet(
    name: &str,
    csv: &[u8],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let frame = frame_of_csv(name, csv)?;
    write_frame(w, &frame)
}

/// The typed columns of the table `name` given as CSV text.
pub fn frame_of_csv(name: &str, csv: &[u8]) -> std::io::Result<Frame> {
    let mut reader = csv::Reader::from_reader(csv);
    let header: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for row in reader.records() {
        let row = row?;
        for (column, cell) in cells.iter_mut().zip(row.iter()) {
            column.push(cell.to_string());
        }
    }
    Ok(header
        .into_par_iter()
        .zip(cells)
        .map(|(name_of_column, cells)| {
            let kind = column_kind(name, &name_of_column);
            let column = column_of_cells(kind, cells);
            (name_of_column, column)
        })
        .collect())
}

/// Writes the record batches `groups` (each one row group, all of `schema`) as a Parquet
/// file to `w`: every (row group, column) encoded as its own task, the chunks appended in
/// order, so the bytes are the same whatever the number of threads.
pub fn write_batches(
    w: &mut dyn Write,
    schema: arrow_schema::SchemaRef,
    groups: &[RecordBatch],
) -> std::io::Result<()> {
    let io = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let options = ArrowWriterOptions::new().with_properties(properties());
    let mut bytes = Vec::new();
    let writer =
        ArrowWriter::try_new_with_options(&mut bytes, Arc::clone(&schema), options).map_err(io)?;
    let (mut file, factory) = writer.into_serialized_writer().map_err(io)?;
    let columns = schema.fields().len();
    // One task per (row group, column), each with its column's writer (one leaf per column:
    // no nested types, so the writer of column `c` is the c-th).
    let mut tasks = Vec::with_capacity(groups.len() * columns);
    for g in 0..groups.len() {
        let writers = factory.create_column_writers(g).map_err(io)?;
        tasks.extend(writers.into_iter().enumerate().map(|(c, w)| (g, c, w)));
    }
    let chunks: Vec<ArrowColumnChunk> = tasks
        .into_par_iter()
        .map(|(g, c, mut writer)| {
            for leaf in compute_leaves(schema.field(c), groups[g].column(c))? {
                writer.write(&leaf)?;
            }
            writer.close()
        })
        .collect::<parquet::errors::Result<_>>()
        .map_err(io)?;
    let mut chunks = chunks.into_iter();
    for _ in groups {
        let mut row_group = file.next_row_group().map_err(io)?;
        for chunk in chunks.by_ref().take(columns) {
            chunk.append_to_row_group(&mut row_group).map_err(io)?;
        }
        row_group.close().map_err(io)?;
    }
    file.close().map_err(io)?;
    w.write_all(&bytes)
}

/// Writes `wells.parquet` of `table` with each read's outcome and, with growth data, GR value
/// (the columns of [`crate::output::wells_header`], equal to [`super::wells_frame`] value for
/// value): built straight from the wells' interned names, a row group per task.
pub(crate) fn write_wells(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: &[WellOutcome],
    gr: Option<&[Option<f64>]>,
) -> std::io::Result<()> {
    let header = crate::output::wells_header(table, true, gr.is_some());
    let n = table.wells.len().min(outcomes.len());
    let names = WellNames::of(table, n);
    let extra = extra_columns(table, n);
    let groups: Vec<RecordBatch> = (0..n.div_ceil(ROW_GROUP))
        .into_par_iter()
        .map(|g| {
            let rows = g * ROW_GROUP..n.min((g + 1) * ROW_GROUP);
            let arrays = well_arrays(table, outcomes, gr, &names, &extra, rows);
            batch_of(header.iter().copied(), arrays)
        })
        .collect();
    let schema = match groups.first() {
        Some(batch) => batch.schema(),
        None => batch_of(
            header.iter().copied(),
            well_arrays(table, outcomes, gr, &names, &extra, 0..0),
        )
        .schema(),
    };
    write_batches(w, schema, &groups)
}

/// The dictionaries of the wells' name columns (plate, cell line, drug, replicate): each
/// column's names in order of first appearance, and each interned id's key in it.
struct WellNames {
    /// Per name column: the key of each interned id (`-1` for ids the column never uses).
    keys: [Vec<i32>; 4],
    /// Per name column: its dictionary.
    values: [ArrayRef; 4],
}

impl WellNames {
    fn of(table: &WellTable, n: usize) -> WellNames {
        let wells = &table.wells;
        let mut keys: [Vec<i32>; 4] = std::array::from_fn(|_| vec![-1; wells.name_count()]);
        let mut words: [Vec<&str>; 4] = Default::default();
        for i in 0..n {
            for (c, id) in wells.name_ids(i).into_iter().enumerate() {
                let key = &mut keys[c][id as usize];
                if *key < 0 {
                    *key = words[c].len() as i32;
                    words[c].push(wells.name(id).as_str());
                }
            }
        }
        let values = words.map(|w| Arc::new(StringArray::from_iter_values(w)) as ArrayRef);
        WellNames { keys, values }
    }

    /// The dictionary column `c` over `rows`.
    fn column(&self, table: &WellTable, c: usize, rows: std::ops::Range<usize>) -> ArrayRef {
        let keys: Int32Array = rows
            .map(|i| self.keys[c][table.wells.name_ids(i)[c] as usize])
            .collect::<Vec<i32>>()
            .into();
        Arc::new(DictionaryArray::new(keys, Arc::clone(&self.values[c])))
    }
}

/// The user's extra columns of the wells, typed as [`super::wells_frame`] types them.
fn extra_columns(table: &WellTable, n: usize) -> Vec<ArrayRef> {
    (0..table.extra_columns.len())
        .map(|k| {
            let name = &table.extra_columns[k];
            let cells: Vec<String> = (0..n)
                .map(|i| table.wells.get(i).extra.get(k).cloned().unwrap_or_default())
                .collect();
            array_of(
                name,
                &column_of_cells(column_kind("wells.csv", name), cells),
            )
        })
        .collect()
}

/// A number column of `values`: null where absent or not finite (the CSV's empty cell).
fn numbers(values: Vec<Option<f64>>) -> ArrayRef {
    let v: Vec<f64> = values
        .into_iter()
        .map(|x| x.filter(|x| x.is_finite()).unwrap_or(f64::NAN))
        .collect();
    let nulls = nulls_of(v.iter().map(|x| x.is_nan()));
    Arc::new(Float64Array::new(v.into(), nulls))
}

/// The dictionary keys of well positions, in order of first appearance: looked up by row and
/// column (a plate's positions are a small grid) rather than hashed.
#[derive(Default)]
struct PositionKeys {
    /// Per row, per column: the key, `-1` for a position not seen yet.
    keys: Vec<Vec<i32>>,
    /// The positions' names by key.
    words: Vec<String>,
    text: String,
}

impl PositionKeys {
    fn key(&mut self, p: crate::plate::WellPos) -> i32 {
        let (r, c) = (usize::from(p.row), usize::from(p.column));
        if self.keys.len() <= r {
            self.keys.resize_with(r + 1, Vec::new);
        }
        let row = &mut self.keys[r];
        if row.len() <= c {
            row.resize(c + 1, -1);
        }
        if row[c] < 0 {
            p.write_name(&mut self.text);
            self.words.push(self.text.clone());
            row[c] = self.words.len() as i32 - 1;
        }
        row[c]
    }
}

/// The arrays of `wells.parquet` over `rows`, in the order of its header; each well's fields
/// are read once, in one pass over the rows.
fn well_arrays(
    table: &WellTable,
    outcomes: &[WellOutcome],
    gr: Option<&[Option<f64>]>,
    names: &WellNames,
    extra: &[ArrayRef],
    rows: std::ops::Range<usize>,
) -> Vec<ArrayRef> {
    let wells = &table.wells;
    let r = || rows.clone();
    let n = rows.len();
    let mut text = String::new();
    let mut positions = PositionKeys::default();
    let mut position_keys: Vec<i32> = Vec::with_capacity(n);
    let mut roles: Vec<&str> = Vec::with_capacity(n);
    let mut concentrations: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut times: Vec<Option<f64>> = Vec::with_capacity(if table.has_time { n } else { 0 });
    let mut signal = arrow_array::builder::StringBuilder::with_capacity(n, n * 8);
    for i in r() {
        let well = wells.get(i);
        position_keys.push(positions.key(well.position));
        roles.push(well.role.as_str());
        concentrations.push(well.concentration);
        if table.has_time {
            times.push(well.time);
        }
        match well.signal {
            Signal::Value(v) => {
                crate::text::format_number_into(&mut text, *v);
                signal.append_value(&text);
            }
            Signal::NotNumeric(t) => signal.append_value(t),
        }
    }
    let positions = DictionaryArray::new(
        Int32Array::from(position_keys),
        Arc::new(StringArray::from_iter_values(positions.words)),
    );
    let mut arrays: Vec<ArrayRef> = vec![
        names.column(table, 0, r()),
        Arc::new(positions),
        names.column(table, 1, r()),
        names.column(table, 2, r()),
        numbers(concentrations),
        Arc::new(dictionary_of(roles.into_iter())),
        Arc::new(signal.finish()),
    ];
    if table.has_replicate {
        arrays.push(names.column(table, 3, r()));
    }
    if table.has_time {
        arrays.push(numbers(times));
    }
    arrays.extend(extra.iter().map(|a| a.slice(rows.start, rows.len())));
    let outcomes = &outcomes[r()];
    arrays.push(numbers(outcomes.iter().map(|o| o.viability).collect()));
    arrays.push(Arc::new(BooleanArray::from(
        outcomes.iter().map(|o| o.excluded).collect::<Vec<bool>>(),
    )));
    arrays.push(Arc::new(dictionary_of(
        outcomes.iter().map(|o| &*o.exclusion_reason),
    )));
    if let Some(gr) = gr {
        arrays.push(numbers(gr[r()].to_vec()));
    }
    arrays
}

/// The Parquet table at `path` as typed columns: `f64` columns as numbers (null → NaN),
/// `i64` as counts, `bool` as flags (null → absent), strings (plain or dictionary-encoded) as
/// text (null → empty). Any other type is an error naming the column.
pub fn read_frame(path: &Path) -> Result<Frame> {
    let batches = crate::table::parquet::read_batches(path)?;
    let Some(first) = batches.first() else {
        // No rows: the columns from the text reader's header.
        let text = crate::table::parquet::csv_text(path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let csv_name = format!("{}.csv", name.strip_suffix(".parquet").unwrap_or(name));
        return frame_of_csv(&csv_name, &text).map_err(|e| Error::io(path, "reading", e));
    };
    let schema = first.schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, field)| {
            let parts: Vec<&ArrayRef> = batches.iter().map(|b| b.column(c)).collect();
            let column = column_of_arrays(field.data_type(), &parts).ok_or_else(|| {
                Error::input(
                    Location::file(path),
                    format!(
                        "column `{}` is of type {}, which no table of collateral has",
                        field.name(),
                        field.data_type()
                    ),
                )
            })?;
            Ok((field.name().clone(), column))
        })
        .collect()
}

/// One typed column of the arrays `parts` of `data_type`, or `None` for a type no table has.
fn column_of_arrays(data_type: &DataType, parts: &[&ArrayRef]) -> Option<Column> {
    Some(match data_type {
        DataType::Float64 => Column::Number(
            parts
                .iter()
                .flat_map(|a| {
                    let a = a.as_primitive::<Float64Type>();
                    (0..a.len()).map(move |i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                })
                .collect(),
        ),
        DataType::Int64 => {
            let (v, m) = parts
                .iter()
                .flat_map(|a| {
                    let a = a.as_primitive::<Int64Type>();
                    (0..a.len())
                        .map(move |i| (if a.is_null(i) { 0 } else { a.value(i) }, a.is_null(i)))
                })
                .unzip();
            Column::Count(v, m)
        }
        DataType::Boolean => {
            let (v, m) = parts
                .iter()
                .flat_map(|a| {
                    let a = a.as_boolean();
                    (0..a.len()).map(move |i| (!a.is_null(i) && a.value(i), a.is_null(i)))
                })
                .unzip();
            Column::Flag(v, m)
        }
        DataType::Utf8 => Column::Text(
            parts
                .iter()
                .flat_map(|a| {
                    let a = a.as_string::<i32>();
                    (0..a.len())
                        .map(move |i| if a.is_null(i) { "" } else { a.value(i) }.to_string())
                })
                .collect(),
        ),
        DataType::Dictionary(key, value)
            if **key == DataType::Int32 && **value == DataType::Utf8 =>
        {
            Column::Text(
                parts
                    .iter()
                    .flat_map(|a| {
                        let d = a.as_dictionary::<Int32Type>();
                        let words = d.values().as_string::<i32>();
                        (0..d.len()).map(move |i| {
                            if d.is_null(i) {
                                String::new()
                            } else {
                                words.value(d.keys().value(i) as usize).to_string()
                            }
                        })
                    })
                    .collect(),
            )
        }
        _ => return None,
    })
}

/// Asserts that `read` (a table read back from Parquet) equals `frame`, column for column and
/// value for value (numbers bit for bit, NaN where NaN).
#[cfg(test)]
pub(crate) fn assert_same_frame(file: &str, frame: &Frame, read: &Frame) {
    let names = |f: &Frame| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(frame), names(read), "{file}: columns");
    for ((name, ours), (_, back)) in frame.iter().zip(read) {
        let same = match (ours, back) {
            (Column::Number(a), Column::Number(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => ours == back,
        };
        assert!(
            same,
            "{file} column {name}: {ours:?} but read back {back:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of every kind of column, with absent values, quoting and a reading column.
    fn sample(rows: usize) -> Frame {
        let n = |i: usize| ((i % 60) as f64).mul_add(0.37, -3.0).exp();
        vec![
            (
                "plate".into(),
                Column::Text((0..rows).map(|i| format!("P{}", i / 7)).collect()),
            ),
            (
                "signal".into(),
                Column::Text((0..rows).map(|i| format!("{}", i * 13)).collect()),
            ),
            (
                "ic50".into(),
                Column::Number(
                    (0..rows)
                        .map(|i| if i % 5 == 0 { f64::NAN } else { n(i) })
                        .collect(),
                ),
            ),
            (
                "n_points".into(),
                // An absent cell holds 0 (false for a flag), as the frames push it.
                Column::Count(
                    (0..rows)
                        .map(|i| if i % 4 == 1 { 0 } else { i as i64 })
                        .collect(),
                    (0..rows).map(|i| i % 4 == 1).collect(),
                ),
            ),
            (
                "excluded".into(),
                Column::Flag(
                    (0..rows).map(|i| i % 3 == 0 && i % 6 != 2).collect(),
                    (0..rows).map(|i| i % 6 == 2).collect(),
                ),
            ),
            (
                "reason".into(),
                Column::Text(
                    (0..rows)
                        .map(|i| {
                            if i % 2 == 0 {
                                String::new()
                            } else {
                                "a, \"b\"".into()
                            }
                        })
                        .collect(),
                ),
            ),
        ]
    }

    fn written(frame: &Frame, rows_per_group: usize, threads: usize) -> Vec<u8> {
        let batch = batch_of_frame(frame);
        let rows = batch.num_rows();
        let groups: Vec<RecordBatch> = (0..rows.div_ceil(rows_per_group))
            .map(|g| {
                batch.slice(
                    g * rows_per_group,
                    rows_per_group.min(rows - g * rows_per_group),
                )
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut bytes = Vec::new();
        pool.install(|| write_batches(&mut bytes, batch.schema(), &groups))
            .unwrap();
        bytes
    }

    /// The bytes do not depend on the number of threads encoding the row groups' columns.
    #[test]
    fn the_bytes_are_the_same_whatever_the_threads() {
        let frame = sample(2500);
        let one = written(&frame, 1000, 1);
        assert_eq!(one, written(&frame, 1000, 4));
        assert!(one.starts_with(b"PAR1") && one.ends_with(b"PAR1"));
    }

    /// Every kind of column reads back as written, across row groups, through the typed
    /// reader and through the CSV text the folder readers parse.
    #[test]
    fn a_frame_reads_back_value_for_value() {
        let dir = tempfile::tempdir().unwrap();
        let frame = sample(2500);
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, written(&frame, 1000, 2)).unwrap();
        let back = read_frame(&path).unwrap();
        assert_same_frame("t.parquet", &frame, &back);
        let text = crate::table::parquet::csv_text(&path).unwrap();
        let mut csv = Vec::new();
        let header: Vec<&str> = frame.iter().map(|(n, _)| n.as_str()).collect();
        crate::text::write_rows(
            &mut csv,
            &header,
            (0..2500).map(|i| {
                frame
                    .iter()
                    .map(|(_, c)| match c {
                        Column::Text(v) => crate::text::Cell::text(&v[i]),
                        Column::Number(v) => crate::text::Cell::Number(v[i]),
                        Column::Count(v, m) if !m[i] => crate::text::Cell::Count(v[i] as u64),
                        Column::Flag(v, m) if !m[i] => crate::text::Cell::Flag(v[i]),
                        _ => crate::text::Cell::Absent,
                    })
                    .collect()
            }),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            String::from_utf8(csv).unwrap()
        );
        // The text column of words is dictionary-encoded, the reading plain.
        let batch = batch_of_frame(&frame);
        assert!(matches!(
            batch.schema().field(0).data_type(),
            DataType::Dictionary(..)
        ));
        assert_eq!(batch.schema().field(1).data_type(), &DataType::Utf8);
    }

    /// A table of no rows keeps its columns and their kinds.
    #[test]
    fn an_empty_table_keeps_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cycles.parquet");
        let frame: Frame = crate::frame::frame_of::<crate::network::Cycle>(&[]);
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &frame).unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert_same_frame("cycles.parquet", &frame, &read_frame(&path).unwrap());
    }

    /// A file that is not Parquet, or cut short, is an error naming it; a column of a type no
    /// table has is an error naming the column.
    #[test]
    fn bad_files_are_located_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fits.parquet");
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &sample(50)).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_frame(&path).unwrap_err().to_string();
        assert!(e.contains("fits.parquet") && e.contains("Parquet"), "{e}");
        let e = crate::table::parquet::csv_text(&path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fits.parquet"), "{e}");
        let dates = arrow_array::Date32Array::from(vec![1, 2]);
        let batch = batch_of(["day"].into_iter(), vec![Arc::new(dates) as ArrayRef]);
        let mut bytes = Vec::new();
        write_batches(&mut bytes, batch.schema(), &[batch]).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let e = read_frame(&path).unwrap_err().to_string();
        assert!(e.contains("`day`") && e.contains("Date32"), "{e}");
        let e = crate::table::parquet::csv_text(&path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`day`"), "{e}");
    }
}
