//! The run's tables as Parquet (`--format parquet|both`): a [`Frame`]'s typed columns as
//! Arrow arrays — numbers `f64`, counts `i64`, flags `bool`, each with nulls where the CSV
//! cell is empty; words and names dictionary-encoded strings (the reading `signal` of
//! `wells.csv`, nearly every value distinct, plain strings) — in a Parquet file with the
//! CSV's column names, compressed with zstd.
//!
//! The columns of each row group are encoded in parallel (rayon) and appended in order: the
//! bytes are the same whatever the number of threads.

use std::borrow::Cow;
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
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowWriterOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use super::{column_of_cells, Column, Frame};
use crate::error::{Error, Location, Result};
use crate::output::record::Record;
use crate::output::{column_kind, ColumnKind};
use crate::qc::WellOutcome;
use crate::text::Cell;
use crate::wells::{Signal, WellTable};

mod dictionary_chunk;
use dictionary_chunk::DictionaryChunk;

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
        Column::Number(v) => number_array(v.clone()),
        Column::Count(v, absent) => count_array(v.clone(), absent),
        Column::Flag(v, absent) => flag_array(v.clone(), absent),
        Column::Text(v) => text_array(name, v.iter().map(String::as_str)),
    }
}

/// A number column: null where not finite (the CSV's empty cell).
fn number_array(v: Vec<f64>) -> ArrayRef {
    let nulls = nulls_of(v.iter().map(|x| !x.is_finite()));
    Arc::new(Float64Array::new(v.into(), nulls))
}

/// A count column, null where `absent`.
fn count_array(v: Vec<i64>, absent: &[bool]) -> ArrayRef {
    Arc::new(Int64Array::new(v.into(), nulls_of(absent.iter().copied())))
}

/// A flag column, null where `absent`.
fn flag_array(v: Vec<bool>, absent: &[bool]) -> ArrayRef {
    Arc::new(BooleanArray::new(
        v.into(),
        nulls_of(absent.iter().copied()),
    ))
}

/// A text column named `name`: plain strings for the reading, else dictionary-encoded.
fn text_array<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> ArrayRef {
    if text_type(name) == DataType::Utf8 {
        Arc::new(StringArray::from_iter_values(values))
    } else {
        Arc::new(dictionary_of(values))
    }
}

/// Distinct words a dictionary column looks up by comparing with each in turn rather than
/// hashing, while it has no more: a table's roles, exclusion reasons and calls are a handful,
/// and comparing a few short strings costs less than hashing one. A column with more (drugs,
/// reasons) hashes every new value at once: comparing each with the first words before
/// hashing made `memcmp` the largest cost of writing `shifts.parquet`.
const FEW_WORDS: usize = 16;

/// The dictionary-encoded strings of `values`, the dictionary in order of first appearance.
fn dictionary_of<'a>(values: impl Iterator<Item = &'a str>) -> DictionaryArray<Int32Type> {
    let mut ids: HashMap<&str, i32> = HashMap::new();
    let mut words: Vec<&str> = Vec::new();
    let mut last: Option<(&str, i32)> = None;
    // The same text is often the same slice (a role's name, an empty reason, a row's borrowed
    // name): compared by address and length first, without a call to `memcmp`.
    let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
    let keys: Vec<i32> = values
        .map(|v| {
            if let Some((w, id)) = last {
                if same(w, v) {
                    return id;
                }
            }
            let few = (words.len() <= FEW_WORDS)
                .then(|| words.iter().position(|w| same(w, v)))
                .flatten();
            let id = match few {
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

/// One column of a table gathered from its rows of cells for Parquet: a [`Column`] whose text
/// stays borrowed from the rows where it can, so no string is allocated (and freed) per cell.
#[derive(Debug)]
enum Gathered<'a> {
    Text(Vec<Cow<'a, str>>),
    Number(Vec<f64>),
    Count(Vec<i64>, Vec<bool>),
    Flag(Vec<bool>, Vec<bool>),
}

impl<'a> Gathered<'a> {
    fn with_capacity(kind: ColumnKind, n: usize) -> Gathered<'a> {
        match kind {
            ColumnKind::Text => Gathered::Text(Vec::with_capacity(n)),
            ColumnKind::Number => Gathered::Number(Vec::with_capacity(n)),
            ColumnKind::Count => Gathered::Count(Vec::with_capacity(n), Vec::with_capacity(n)),
            ColumnKind::Flag => Gathered::Flag(Vec::with_capacity(n), Vec::with_capacity(n)),
        }
    }

    /// Adds a cell as [`super::frame_of_rows`] adds it to its column.
    fn push(&mut self, cell: Cell<'a>) {
        match (self, cell) {
            (Gathered::Text(v), Cell::Text(s)) => v.push(s),
            (Gathered::Text(v), Cell::Absent) => v.push(Cow::Borrowed("")),
            // The CSV writes an empty cell for a value that does not exist (NaN or infinite).
            (Gathered::Number(v), Cell::Number(x) | Cell::Plain(x)) => {
                v.push(if x.is_finite() { x } else { f64::NAN })
            }
            (Gathered::Number(v), Cell::Absent) => v.push(f64::NAN),
            (Gathered::Count(v, absent), Cell::Count(x)) => {
                v.push(x as i64);
                absent.push(false);
            }
            (Gathered::Flag(v, absent), Cell::Flag(x)) => {
                v.push(x);
                absent.push(false);
            }
            (Gathered::Count(v, absent), Cell::Absent) => {
                v.push(0);
                absent.push(true);
            }
            (Gathered::Flag(v, absent), Cell::Absent) => {
                v.push(false);
                absent.push(true);
            }
            (column, cell) => unreachable!("a {cell:?} cell in a {column:?} column"),
        }
    }

    /// The Arrow array of the column named `name`: [`array_of`] of its [`Column`].
    fn into_array(self, name: &str) -> ArrayRef {
        match self {
            Gathered::Number(v) => number_array(v),
            Gathered::Count(v, absent) => count_array(v, &absent),
            Gathered::Flag(v, absent) => flag_array(v, &absent),
            Gathered::Text(v) => text_array(name, v.iter().map(AsRef::as_ref)),
        }
    }
}

/// The record batch of the table `file` of columns `header` and `n` rows of cells: the batch
/// [`batch_of_frame`] makes of [`super::frame_of_rows`]' frame, gathered without the frame
/// (for writing the run's tables: no string per text cell, no column copied).
pub(crate) fn batch_of_rows<'a>(
    file: &str,
    header: &[&str],
    n: usize,
    rows: impl IntoIterator<Item = Vec<Cell<'a>>>,
) -> RecordBatch {
    let mut columns: Vec<Gathered<'a>> = header
        .iter()
        .map(|c| Gathered::with_capacity(column_kind(file, c).unwrap_or(ColumnKind::Text), n))
        .collect();
    for cells in rows {
        debug_assert_eq!(columns.len(), cells.len(), "one cell per column");
        for (column, cell) in columns.iter_mut().zip(cells) {
            column.push(cell);
        }
    }
    let arrays: Vec<ArrayRef> = header
        .par_iter()
        .zip(columns)
        .map(|(name, column)| column.into_array(name))
        .collect();
    batch_of(header.iter().copied(), arrays)
}

/// The record batch of `rows` ([`Record`]): [`batch_of_frame`] of [`super::frame_of`].
pub(crate) fn batch_of_records<R: Record>(rows: &[R]) -> RecordBatch {
    batch_of_rows(
        R::FILE,
        R::COLUMNS,
        rows.len(),
        rows.iter().enumerate().map(|(i, r)| r.cells(i)),
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
    RecordBatch::try_new(schema_of(names, &arrays), arrays)
        .expect("columns of one table have one length")
}

/// The schema of named arrays (of any lengths), every field nullable.
fn schema_of<'a>(names: impl Iterator<Item = &'a str>, arrays: &[ArrayRef]) -> SchemaRef {
    let fields: Vec<Field> = names
        .zip(arrays)
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Columns of `wells` whose values are nearly all distinct (the reading as written, the
/// values computed from it): a dictionary page would only be tried and given up on, at a cost
/// in time, so they are written plain (zstd still compresses them).
const NO_DICTIONARY: [&str; 4] = ["signal", "viability", "gr", "time"];

/// The writer settings of a table: zstd, dictionary pages but for the columns `plain` names,
/// the default statistics.
fn properties<'a>(plain: impl IntoIterator<Item = &'a str>) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP));
    for column in plain {
        builder = builder.set_column_dictionary_enabled(column.into(), false);
    }
    builder.build()
}

/// The writer settings of `wells.parquet`: plain the columns of [`NO_DICTIONARY`]; the doses
/// (a ladder of a few values) and the names in dictionary pages.
fn wells_properties() -> WriterProperties {
    properties(NO_DICTIONARY)
}

/// Values a number column's dictionary test looks at: enough to tell a dose ladder or a
/// repeated setting from estimates, few enough to cost nothing beside the encoding.
const DICTIONARY_SAMPLE: usize = 4096;

/// Whether a number column's values hardly repeat: of its first [`DICTIONARY_SAMPLE`] values,
/// more than half distinct (a fit's estimates, p-values, a matrix's log2 fold changes). Such a
/// column is written plain: a dictionary would be built for every value and then given up on
/// when the page fills, which made writing `shifts.parquet` and `fits.parquet` take twice as
/// long for a file no smaller. A column with no values keeps its dictionary (it costs nothing).
fn hardly_repeats(array: &ArrayRef) -> bool {
    let Some(numbers) = array.as_primitive_opt::<Float64Type>() else {
        return false;
    };
    let mut seen = std::collections::HashSet::with_capacity(DICTIONARY_SAMPLE);
    let mut sampled = 0usize;
    for x in numbers.iter().flatten().take(DICTIONARY_SAMPLE) {
        seen.insert(x.to_bits());
        sampled += 1;
    }
    sampled > 0 && 2 * seen.len() > sampled
}

/// The writer settings of a table of `schema` whose first row group is `arrays`: its number
/// columns that hardly repeat ([`hardly_repeats`]) plain, every other column in dictionary
/// pages.
fn table_properties(schema: &SchemaRef, arrays: &[ArrayRef]) -> WriterProperties {
    let plain = schema
        .fields()
        .iter()
        .zip(arrays)
        .filter(|(_, a)| hardly_repeats(a))
        .map(|(f, _)| f.name().as_str());
    properties(plain)
}

/// Writes `frame` as a Parquet file to `w` (see [`write_batches`]).
pub(crate) fn write_frame(w: &mut dyn Write, frame: &Frame) -> std::io::Result<()> {
    write_batch(w, &batch_of_frame(frame))
}

/// Writes `batch` as a Parquet file to `w`, in row groups of at most [`ROW_GROUP`] rows (see
/// [`write_batches`]).
pub(crate) fn write_batch(w: &mut dyn Write, batch: &RecordBatch) -> std::io::Result<()> {
    write_batches(w, batch.schema(), &row_groups(batch))
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
/// order, so the bytes are the same whatever the number of threads. Number columns whose
/// first row group's values hardly repeat are written plain, every other column in
/// dictionary pages (see [`hardly_repeats`]).
pub fn write_batches(
    w: &mut dyn Write,
    schema: SchemaRef,
    groups: &[RecordBatch],
) -> std::io::Result<()> {
    let first = groups.first().map_or(&[][..], |b| b.columns());
    let props = table_properties(&schema, first);
    write_batches_with(w, schema, groups, &props)
}

/// [`write_batches`] with the writer settings `props`.
fn write_batches_with(
    w: &mut dyn Write,
    schema: SchemaRef,
    groups: &[RecordBatch],
    props: &WriterProperties,
) -> std::io::Result<()> {
    let columns: Vec<Vec<ArrayRef>> = groups.iter().map(|b| b.columns().to_vec()).collect();
    let chunks = encode_columns(&schema, props, &columns, 0)?;
    write_chunks(w, &schema, props, chunks)
}

/// The encoded column chunks of a file's row groups, each group's in column order.
type GroupChunks = Vec<Vec<Chunk>>;

/// One encoded column chunk: by parquet-rs's column writer, or, for text dictionary-encoded
/// already, from its keys ([`dictionary_chunk`]).
enum Chunk {
    Arrow(ArrowColumnChunk),
    Dictionary(DictionaryChunk),
}

impl Chunk {
    fn append_to_row_group<W: Write + Send>(
        self,
        row_group: &mut parquet::file::writer::SerializedRowGroupWriter<'_, W>,
    ) -> parquet::errors::Result<()> {
        match self {
            Chunk::Arrow(chunk) => chunk.append_to_row_group(row_group),
            Chunk::Dictionary(chunk) => chunk.append_to_row_group(row_group),
        }
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The chunks of columns `first..` of `schema` (as many as each group has arrays) of each row
/// group in `groups`, in order (see [`encode_group`]).
fn encode_columns(
    schema: &SchemaRef,
    props: &WriterProperties,
    groups: &[Vec<ArrayRef>],
    first: usize,
) -> std::io::Result<GroupChunks> {
    groups
        .par_iter()
        .enumerate()
        .map(|(g, arrays)| encode_group(schema, props, g, arrays, first))
        .collect()
}

/// The chunks of columns `first..first + arrays.len()` of `schema` in row group `g`: one task
/// per column, each with its own column writer, collected in order. A chunk depends only on
/// the schema, the settings and its arrays, so chunks encoded apart (see [`WellInputs`]) join
/// into one file with the bytes of encoding them together.
fn encode_group(
    schema: &SchemaRef,
    props: &WriterProperties,
    g: usize,
    arrays: &[ArrayRef],
    first: usize,
) -> std::io::Result<Vec<Chunk>> {
    let options = ArrowWriterOptions::new().with_properties(props.clone());
    let writer = ArrowWriter::try_new_with_options(std::io::sink(), Arc::clone(schema), options)
        .map_err(parquet_error)?;
    let (file, factory) = writer.into_serialized_writer().map_err(parquet_error)?;
    // One leaf per column (no nested types), so the writer of column `c` is the c-th.
    let writers = factory.create_column_writers(g).map_err(parquet_error)?;
    let descriptors = file.schema_descr();
    let tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .skip(first)
        .take(arrays.len())
        .map(|(c, writer)| (c, writer, descriptors.column(c)))
        .collect();
    tasks
        .into_par_iter()
        .map(|(c, mut writer, descr)| {
            let array = &arrays[c - first];
            let words_and_keys =
                text_keys(array).filter(|_| dictionary_chunk::handles(props, &descr));
            if let Some((words, keys)) = words_and_keys {
                return dictionary_chunk::encode(descr, props, &words, keys).map(Chunk::Dictionary);
            }
            for leaf in compute_leaves(schema.field(c), array)? {
                writer.write(&leaf)?;
            }
            writer.close().map(Chunk::Arrow)
        })
        .collect::<parquet::errors::Result<_>>()
        .map_err(parquet_error)
}

/// The words and keys of a dictionary-encoded text column with rows and no nulls — the
/// columns [`dictionary_chunk`] writes; `None` for any other column.
fn text_keys(array: &ArrayRef) -> Option<(Vec<&str>, &[i32])> {
    let dictionary = array.as_dictionary_opt::<Int32Type>()?;
    let words = dictionary.values().as_string_opt::<i32>()?;
    let no_nulls = dictionary.null_count() == 0 && words.null_count() == 0;
    (no_nulls && !dictionary.is_empty()).then(|| {
        (
            words.iter().flatten().collect(),
            dictionary.keys().values().as_ref(),
        )
    })
}

/// Writes the Parquet file of `schema` whose row groups are `groups`' chunks, in order.
fn write_chunks(
    w: &mut dyn Write,
    schema: &SchemaRef,
    props: &WriterProperties,
    groups: GroupChunks,
) -> std::io::Result<()> {
    let options = ArrowWriterOptions::new().with_properties(props.clone());
    let mut bytes = Vec::new();
    let writer = ArrowWriter::try_new_with_options(&mut bytes, Arc::clone(schema), options)
        .map_err(parquet_error)?;
    let (mut file, _) = writer.into_serialized_writer().map_err(parquet_error)?;
    for group in groups {
        let mut row_group = file.next_row_group().map_err(parquet_error)?;
        for chunk in group {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(parquet_error)?;
        }
        row_group.close().map_err(parquet_error)?;
    }
    file.close().map_err(parquet_error)?;
    w.write_all(&bytes)
}

/// Writes `wells.parquet` of `table` with each read's outcome and, with growth data, GR value
/// (the columns of [`crate::output::wells_header`], equal to [`super::wells_frame`] value for
/// value): built straight from the wells' interned names, a row group per task. `ahead` holds
/// the input columns already encoded ([`WellInputs::encode`]); they are encoded here when it
/// is `None` or was made for other wells.
pub(crate) fn write_wells(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: &[WellOutcome],
    gr: Option<&[Option<f64>]>,
    ahead: Option<WellInputs>,
) -> std::io::Result<()> {
    let n = table.wells.len().min(outcomes.len());
    let inputs = match ahead {
        Some(a) if a.rows == n && a.with_gr == gr.is_some() => a,
        _ => WellInputs::encode_rows(table, n, gr.is_some())?,
    };
    let props = wells_properties();
    let chunks = (0..n.div_ceil(ROW_GROUP))
        .into_par_iter()
        .map(|g| {
            let arrays = outcome_arrays(outcomes, gr, group_rows(g, n));
            encode_group(&inputs.schema, &props, g, &arrays, inputs.width)
        })
        .collect::<std::io::Result<GroupChunks>>()?;
    let groups = inputs
        .chunks
        .into_iter()
        .zip(chunks)
        .map(|(mut group, outcome)| {
            group.extend(outcome);
            group
        })
        .collect();
    write_chunks(w, &inputs.schema, &props, groups)
}

/// The columns of `wells.parquet` that come from the inputs alone (all but the outcome and
/// GR columns), encoded before the outcomes exist: a run encodes them while its QC stage —
/// mostly one core's work — runs, and [`write_wells`] adds the outcome columns' chunks. The
/// file's bytes are those of encoding every column at once.
pub(crate) struct WellInputs {
    /// The whole file's schema.
    schema: SchemaRef,
    /// The wells encoded.
    rows: usize,
    /// Whether the schema ends with a `gr` column.
    with_gr: bool,
    /// How many input columns lead the schema.
    width: usize,
    /// Each row group's input columns' chunks.
    chunks: GroupChunks,
}

impl WellInputs {
    /// The input columns of every well of `table`, for a `wells.parquet` with a `gr` column
    /// when `with_gr`.
    pub(crate) fn encode(table: &WellTable, with_gr: bool) -> std::io::Result<WellInputs> {
        Self::encode_rows(table, table.wells.len(), with_gr)
    }

    /// The input columns of the first `n` wells of `table`.
    fn encode_rows(table: &WellTable, n: usize, with_gr: bool) -> std::io::Result<WellInputs> {
        let names = WellNames::of(table, n);
        let extra = extra_columns(table, n);
        // The columns' types from arrays of no rows (there may be no row group).
        let mut typed = input_arrays(table, &names, &extra, 0..0);
        let width = typed.len();
        let no_gr: &[Option<f64>] = &[];
        typed.extend(outcome_arrays(&[], with_gr.then_some(no_gr), 0..0));
        let header = crate::output::wells_header(table, true, with_gr);
        let schema = schema_of(header.into_iter(), &typed);
        let props = wells_properties();
        // Each group's arrays built in its task and let go once encoded: a few groups'
        // arrays in memory at a time, not the whole table's.
        let chunks = (0..n.div_ceil(ROW_GROUP))
            .into_par_iter()
            .map(|g| {
                let arrays = input_arrays(table, &names, &extra, group_rows(g, n));
                encode_group(&schema, &props, g, &arrays, 0)
            })
            .collect::<std::io::Result<GroupChunks>>()?;
        Ok(WellInputs {
            schema,
            rows: n,
            with_gr,
            width,
            chunks,
        })
    }
}

/// The rows of row group `g` of a table of `n` rows.
fn group_rows(g: usize, n: usize) -> std::ops::Range<usize> {
    g * ROW_GROUP..n.min((g + 1) * ROW_GROUP)
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

/// The input columns' arrays of `wells.parquet` over `rows`, in the order of its header;
/// each well's fields are read once, in one pass over the rows.
fn input_arrays(
    table: &WellTable,
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
    arrays
}

/// The outcome columns' arrays of `wells.parquet` over `rows` (viability, exclusion and its
/// reason, and with `gr` the GR values), in the order of its header.
fn outcome_arrays(
    outcomes: &[WellOutcome],
    gr: Option<&[Option<f64>]>,
    rows: std::ops::Range<usize>,
) -> Vec<ArrayRef> {
    let outcomes = &outcomes[rows.clone()];
    let mut arrays: Vec<ArrayRef> = vec![
        numbers(outcomes.iter().map(|o| o.viability).collect()),
        Arc::new(BooleanArray::from(
            outcomes.iter().map(|o| o.excluded).collect::<Vec<bool>>(),
        )),
        Arc::new(dictionary_of(outcomes.iter().map(|o| &*o.exclusion_reason))),
    ];
    if let Some(gr) = gr {
        arrays.push(numbers(gr[rows].to_vec()));
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

    /// Rows of every kind of cell, absent ones in every kind of column, text borrowed and
    /// owned, a plain-text column and a few and many distinct words: gathered into a batch
    /// they give the batch of their frame, array for array.
    #[test]
    fn rows_gather_into_the_batch_of_their_frame() {
        let names: Vec<String> = (0..40).map(|i| format!("drug{i:02}")).collect();
        let rows = |n: usize| {
            let names = &names;
            (0..n).map(move |i| {
                vec![
                    Cell::text(&names[i % names.len()]),
                    if i % 5 == 0 {
                        Cell::Absent
                    } else {
                        Cell::owned(format!("reason {}", i % 3))
                    },
                    match i % 4 {
                        0 => Cell::Absent,
                        1 => Cell::Number(f64::NAN),
                        2 => Cell::Plain(0.5),
                        _ => Cell::Number(i as f64 / 3.0),
                    },
                    if i % 6 == 0 {
                        Cell::Absent
                    } else {
                        Cell::Count(i as u64)
                    },
                    if i % 7 == 0 {
                        Cell::Absent
                    } else {
                        Cell::Flag(i % 2 == 0)
                    },
                ]
            })
        };
        let header = ["drug", "message", "ic50", "n_points", "converged"];
        for n in [0, 1, 100] {
            let frame = super::super::frame_of_rows("fits.csv", &header, n, rows(n));
            let gathered = batch_of_rows("fits.csv", &header, n, rows(n));
            assert_eq!(gathered, batch_of_frame(&frame), "{n} rows");
        }
        let signal = |n: usize| (0..n).map(|i| vec![Cell::owned(format!("{}", i * 7))]);
        let frame = super::super::frame_of_rows("wells.csv", &["signal"], 9, signal(9));
        let gathered = batch_of_rows("wells.csv", &["signal"], 9, signal(9));
        assert_eq!(gathered.column(0).data_type(), &DataType::Utf8);
        assert_eq!(gathered, batch_of_frame(&frame));
    }

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

    /// `wells.parquet` with its input columns encoded ahead has the bytes of encoding them
    /// with the outcomes, with and without GR; inputs encoded for other wells, or for the
    /// other header, are not used.
    #[test]
    fn wells_encoded_ahead_are_the_same_bytes() {
        let text = "plate,well,cell_line,drug,concentration,role,signal,note\n\
                    P1,B03,\"line \"\"A\"\"\",d,0.5,sample,\"OVR,FLW\",x\n\
                    P1,B2,A,,,vehicle,100,3\n\
                    P1,A1,,,,empty,1e-7,\n";
        let mut t = crate::table::Table::from_bytes(text.as_bytes(), Path::new("w.csv")).unwrap();
        let table = WellTable::from_table(&mut t, None).unwrap();
        let outcome = |v: Option<f64>, excluded: bool, reason: &str| WellOutcome {
            viability: v,
            excluded,
            exclusion_reason: reason.into(),
        };
        let outcomes = vec![
            outcome(Some(0.25), true, "signal not numeric"),
            outcome(Some(1.0), false, ""),
            outcome(None, false, ""),
        ];
        let gr = [Some(-0.5), None, Some(1.0)];
        let bytes = |gr: Option<&[Option<f64>]>, ahead: Option<WellInputs>| {
            let mut out = Vec::new();
            write_wells(&mut out, &table, &outcomes, gr, ahead).unwrap();
            out
        };
        for gr in [None, Some(&gr[..])] {
            let together = bytes(gr, None);
            // Every column encoded at once, as one batch.
            let (names, extra) = (WellNames::of(&table, 3), extra_columns(&table, 3));
            let mut arrays = input_arrays(&table, &names, &extra, 0..3);
            arrays.extend(outcome_arrays(&outcomes, gr, 0..3));
            let header = crate::output::wells_header(&table, true, gr.is_some());
            let batch = batch_of(header.into_iter(), arrays);
            let mut at_once = Vec::new();
            write_batches_with(&mut at_once, batch.schema(), &[batch], &wells_properties())
                .unwrap();
            assert_eq!(together, at_once);
            let ahead = WellInputs::encode(&table, gr.is_some()).unwrap();
            assert_eq!(bytes(gr, Some(ahead)), together);
            let other_header = WellInputs::encode(&table, gr.is_none()).unwrap();
            assert_eq!(bytes(gr, Some(other_header)), together);
            let fewer = WellInputs::encode_rows(&table, 2, gr.is_some()).unwrap();
            assert_eq!(bytes(gr, Some(fewer)), together);
            let read = {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("wells.parquet");
                std::fs::write(&path, &together).unwrap();
                read_frame(&path).unwrap()
            };
            assert_same_frame(
                "wells.csv",
                &super::super::wells_frame(&table, &outcomes, gr),
                &read,
            );
        }
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
