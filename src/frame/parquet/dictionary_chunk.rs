//! A Parquet column chunk of dictionary-encoded text written straight from its dictionary
//! keys: a dictionary page of the words the chunk uses and data pages of their keys.
//!
//! parquet-rs's column writer, given a dictionary array, looks every row's text up again in a
//! dictionary of its own and compares it with the chunk's least and greatest value so far;
//! in a screen's `wells.parquet` (3.3 million rows, seven name columns) that was half the CPU
//! of writing the file. Here every row costs an integer lookup; the text is compared once per
//! word and page. A reader finds what parquet-rs writes for the same array — the values, the
//! dictionary, encodings and statistics, pages of the same rows, a column and offset index
//! (with whole words, where parquet-rs cuts words longer than 64 bytes) — and the chunk is
//! appended to the row group as an encoded chunk ([`SerializedRowGroupWriter::append_column`]).
//! Only settings [`handles`] are written this way.

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, EncodingMask, PageType, Type};
use parquet::column::page::{CompressedPage, Page, PageWriteSpec, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// An encoded column chunk and what the row group's metadata says of it.
pub(super) struct DictionaryChunk {
    bytes: Bytes,
    close: ColumnCloseResult,
}

impl DictionaryChunk {
    /// Appends the chunk as the next column of `row_group`.
    pub(super) fn append_to_row_group<W: std::io::Write + Send>(
        self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<()> {
        row_group.append_column(&self.bytes, self.close)
    }
}

/// Whether `props` write column `descr` as [`encode`] does: format 1.0 data pages, dictionary
/// pages, statistics per page, no Bloom filter, zstd or no compression.
pub(super) fn handles(props: &WriterProperties, descr: &ColumnDescPtr) -> bool {
    let path = descr.path();
    props.writer_version() == WriterVersion::PARQUET_1_0
        && props.dictionary_enabled(path)
        && props.statistics_enabled(path) == EnabledStatistics::Page
        && props.bloom_filter_properties(path).is_none()
        && matches!(
            props.compression(path),
            Compression::ZSTD(_) | Compression::UNCOMPRESSED
        )
}

/// The chunk of column `descr` whose rows are `words[keys[i]]`, written with `props` (its
/// codec and rows per data page; see [`handles`]). No row is null; every key indexes
/// `words`. The chunk's dictionary holds the words it uses in order of first use, as
/// parquet-rs writes it.
pub(super) fn encode(
    descr: ColumnDescPtr,
    props: &WriterProperties,
    words: &[&str],
    keys: &[i32],
) -> Result<DictionaryChunk> {
    let local = LocalKeys::of(words.len(), keys)?;
    let used: Vec<&str> = local.order.iter().map(|&g| words[g]).collect();
    let compression = props.compression(descr.path());
    let mut sink = TrackedWrite::new(Vec::new());
    let pages = Pages::write(&mut sink, &descr, props, compression, &used, &local.keys)?;
    let bytes = Bytes::from(sink.into_inner()?);
    let metadata = pages.metadata(descr, compression, &used, &local.keys)?;
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: keys.len() as u64,
        metadata,
        bloom_filter: None,
        column_index: Some(pages.column_index.build()?),
        offset_index: Some(pages.offset_index.build()),
    };
    Ok(DictionaryChunk { bytes, close })
}

/// What writing a chunk's pages leaves for its metadata.
struct Pages {
    /// The dictionary page.
    dictionary: PageWriteSpec,
    /// The compressed and uncompressed bytes of every page, headers included.
    compressed: usize,
    uncompressed: usize,
    /// Where the first data page starts, and how many there are.
    first_data_page: u64,
    data_pages: i32,
    /// The bytes of the text the data pages stand for.
    text: usize,
    column_index: ColumnIndexBuilder,
    offset_index: OffsetIndexBuilder,
}

impl Pages {
    /// Writes to `sink` the dictionary page of `used` and the data pages of `keys` (as many
    /// rows per page as parquet-rs puts in a page), compressed with `compression`.
    fn write(
        sink: &mut TrackedWrite<Vec<u8>>,
        descr: &ColumnDescPtr,
        props: &WriterProperties,
        compression: Compression,
        used: &[&str],
        keys: &[u32],
    ) -> Result<Pages> {
        let mut codec = Codec::new(compression)?;
        let mut writer = SerializedPageWriter::new(sink);
        let dictionary = plain_words(used);
        let dictionary = writer.write_page(CompressedPage::new(
            Page::DictionaryPage {
                buf: codec.compress(&dictionary)?,
                num_values: used.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            },
            dictionary.len(),
        ))?;
        let mut pages = Pages {
            compressed: dictionary.compressed_size,
            uncompressed: dictionary.uncompressed_size,
            dictionary,
            first_data_page: 0,
            data_pages: 0,
            text: 0,
            column_index: ColumnIndexBuilder::new(Type::BYTE_ARRAY),
            offset_index: OffsetIndexBuilder::new(),
        };
        let nullable = descr.max_def_level() > 0;
        let bit_width = bits_for(used.len().saturating_sub(1));
        let mut seen = vec![usize::MAX; used.len()];
        // parquet-rs ends a page once it holds the row limit, looking after each batch of
        // its write batch size: pages of the same rows as the other columns' pages.
        let batch = props.write_batch_size().max(1);
        let page_rows = props.data_page_row_count_limit().max(1).div_ceil(batch) * batch;
        for (p, page) in keys.chunks(page_rows).enumerate() {
            let buf = data_page(page, nullable, bit_width);
            let spec = writer.write_page(CompressedPage::new(
                Page::DataPage {
                    buf: codec.compress(&buf)?,
                    num_values: page.len() as u32,
                    encoding: Encoding::RLE_DICTIONARY,
                    def_level_encoding: Encoding::RLE,
                    rep_level_encoding: Encoding::RLE,
                    statistics: None,
                },
                buf.len(),
            ))?;
            let (min, max) = page_range(page, used, &mut seen, p);
            pages.add(&spec, page.len(), min, max, text_bytes(page, used));
        }
        Ok(pages)
    }

    /// Counts the data page `spec` of `rows` rows whose words run from `min` to `max`.
    fn add(&mut self, spec: &PageWriteSpec, rows: usize, min: &str, max: &str, text: usize) {
        if self.data_pages == 0 {
            self.first_data_page = spec.offset;
        }
        self.data_pages += 1;
        self.text += text;
        self.compressed += spec.compressed_size;
        self.uncompressed += spec.uncompressed_size;
        let (min, max) = (min.as_bytes().to_vec(), max.as_bytes().to_vec());
        self.column_index.append(false, min, max, 0, None);
        let offset = &mut self.offset_index;
        offset.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
        offset.append_row_count(rows as i64);
        offset.append_unencoded_byte_array_data_bytes(Some(text as i64));
    }

    /// The chunk's metadata: its pages' sizes, offsets and encodings, and the statistics of
    /// its words.
    fn metadata(
        &self,
        descr: ColumnDescPtr,
        compression: Compression,
        used: &[&str],
        keys: &[u32],
    ) -> Result<ColumnChunkMetaData> {
        let range = used.iter().copied().min().zip(used.iter().copied().max());
        let statistics = Statistics::ByteArray(
            ValueStatistics::new(
                range.map(|(min, _)| ByteArray::from(min)),
                range.map(|(_, max)| ByteArray::from(max)),
                None,
                Some(0),
                false,
            )
            .with_backwards_compatible_min_max(descr.sort_order().is_signed()),
        );
        let encodings = [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
        let encoding_stats = vec![
            PageEncodingStats {
                page_type: PageType::DICTIONARY_PAGE,
                encoding: Encoding::PLAIN,
                count: 1,
            },
            PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding: Encoding::RLE_DICTIONARY,
                count: self.data_pages,
            },
        ];
        ColumnChunkMetaData::builder(descr)
            .set_compression(compression)
            .set_encodings_mask(EncodingMask::new_from_encodings(encodings.iter()))
            .set_page_encoding_stats(encoding_stats)
            .set_total_compressed_size(self.compressed as i64)
            .set_total_uncompressed_size(self.uncompressed as i64)
            .set_num_values(keys.len() as i64)
            .set_data_page_offset(self.first_data_page as i64)
            .set_dictionary_page_offset(Some(self.dictionary.offset as i64))
            .set_statistics(statistics)
            .set_unencoded_byte_array_data_bytes(Some(self.text as i64))
            .build()
    }
}

/// The bytes of the words at `keys`, as the text they stand for.
fn text_bytes(keys: &[u32], used: &[&str]) -> usize {
    keys.iter().map(|&k| used[k as usize].len()).sum()
}

/// The chunk's own keys: the words it uses numbered in order of first use.
struct LocalKeys {
    /// Per row, the chunk's key of its word.
    keys: Vec<u32>,
    /// Per chunk key, the index of its word in the whole dictionary.
    order: Vec<usize>,
}

impl LocalKeys {
    fn of(words: usize, keys: &[i32]) -> Result<LocalKeys> {
        let mut local = vec![u32::MAX; words];
        let mut order = Vec::new();
        let keys = keys
            .iter()
            .map(|&k| {
                let slot = usize::try_from(k)
                    .ok()
                    .and_then(|k| local.get_mut(k).map(|slot| (k, slot)));
                let Some((k, slot)) = slot else {
                    return Err(ParquetError::General(format!(
                        "dictionary key {k} outside a dictionary of {words} words"
                    )));
                };
                if *slot == u32::MAX {
                    *slot = order.len() as u32;
                    order.push(k);
                }
                Ok(*slot)
            })
            .collect::<Result<Vec<u32>>>()?;
        Ok(LocalKeys { keys, order })
    }
}

/// zstd at the writer's level, or no compression.
struct Codec(Option<zstd::bulk::Compressor<'static>>);

impl Codec {
    fn new(compression: Compression) -> Result<Codec> {
        let level = match compression {
            Compression::ZSTD(level) => level.compression_level(),
            Compression::UNCOMPRESSED => return Ok(Codec(None)),
            other => {
                return Err(ParquetError::NYI(format!(
                    "dictionary chunks compressed with {other}"
                )))
            }
        };
        let compressor =
            zstd::bulk::Compressor::new(level).map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(Codec(Some(compressor)))
    }

    fn compress(&mut self, buf: &[u8]) -> Result<Bytes> {
        match &mut self.0 {
            Some(c) => c
                .compress(buf)
                .map(Bytes::from)
                .map_err(|e| ParquetError::External(Box::new(e))),
            None => Ok(Bytes::copy_from_slice(buf)),
        }
    }
}

/// The words PLAIN-encoded, as a dictionary page holds them: each its length (4 bytes,
/// little-endian) and its bytes.
fn plain_words(words: &[&str]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(words.iter().map(|w| 4 + w.len()).sum());
    for w in words {
        buf.extend_from_slice(&(w.len() as u32).to_le_bytes());
        buf.extend_from_slice(w.as_bytes());
    }
    buf
}

/// A data page (format v1) of `keys`: the definition levels of a column with no nulls when
/// `nullable` (a run of ones, its length first), then the keys' bit width and the keys in
/// the RLE / bit-packing hybrid.
fn data_page(keys: &[u32], nullable: bool, bit_width: u8) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 + keys.len() * usize::from(bit_width) / 8);
    if nullable {
        let mut levels = Vec::with_capacity(8);
        put_run(&mut levels, keys.len(), 1, 1);
        buf.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        buf.extend_from_slice(&levels);
    }
    buf.push(bit_width);
    put_hybrid(&mut buf, keys, bit_width);
    buf
}

/// Values a run must repeat to be written as a run rather than bit-packed: one group of the
/// bit packing, as parquet-rs's encoder decides.
const RUN: usize = 8;

/// `values` in the RLE / bit-packing hybrid of `bit_width` bits: a value repeated at least
/// [`RUN`] times from a group's start as a run, the rest bit-packed in groups of eight (the
/// last group padded with zeros, which a reader drops by the page's value count).
fn put_hybrid(buf: &mut Vec<u8>, values: &[u32], bit_width: u8) {
    let run_at = |i: usize| {
        let v = values[i];
        values[i..].iter().take_while(|&&x| x == v).count()
    };
    let mut i = 0;
    while i < values.len() {
        let run = run_at(i);
        if run >= RUN {
            put_run(buf, run, values[i], bit_width);
            i += run;
            continue;
        }
        let start = i;
        while i < values.len() && (i == start || run_at(i) < RUN) {
            i = (i + RUN).min(values.len());
        }
        put_packed(buf, &values[start..i], bit_width);
    }
}

/// A run of `count` times `value`: its header (the count shifted left once) and the value in
/// the bytes `bit_width` needs, little-endian.
fn put_run(buf: &mut Vec<u8>, count: usize, value: u32, bit_width: u8) {
    put_varint(buf, (count as u64) << 1);
    let bytes = usize::from(bit_width).div_ceil(8);
    buf.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

/// `values` bit-packed, least significant bit first, in groups of eight: the header (the
/// number of groups shifted left once, plus one) and the bits.
fn put_packed(buf: &mut Vec<u8>, values: &[u32], bit_width: u8) {
    let groups = values.len().div_ceil(RUN);
    put_varint(buf, ((groups as u64) << 1) | 1);
    let width = u32::from(bit_width);
    let (mut acc, mut filled) = (0u64, 0u32);
    let padding = std::iter::repeat_n(0, groups * RUN - values.len());
    for v in values.iter().copied().chain(padding) {
        acc |= u64::from(v) << filled;
        filled += width;
        while filled >= 8 {
            buf.push(acc as u8);
            acc >>= 8;
            filled -= 8;
        }
    }
    // Eight values of any width fill whole bytes.
    debug_assert_eq!(filled, 0);
}

/// `x` as an unsigned LEB128 varint.
fn put_varint(buf: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        buf.push((x as u8) | 0x80);
        x >>= 7;
    }
    buf.push(x as u8);
}

/// The bits that hold the key `max_key` (0 for a dictionary of one word).
fn bits_for(max_key: usize) -> u8 {
    (usize::BITS - max_key.leading_zeros()) as u8
}

/// The least and greatest word of a page's `keys`, each distinct key's word compared once:
/// `seen[k] == page` marks key `k` as met on this page.
fn page_range<'w>(
    keys: &[u32],
    used: &[&'w str],
    seen: &mut [usize],
    page: usize,
) -> (&'w str, &'w str) {
    let first = used[keys[0] as usize];
    let (mut min, mut max) = (first, first);
    for &k in keys {
        let slot = &mut seen[k as usize];
        if *slot != page {
            *slot = page;
            let w = used[k as usize];
            min = min.min(w);
            max = max.max(w);
        }
    }
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray};
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
    use std::sync::Arc;

    /// A dictionary column of `words` at `keys`, `None` keys null.
    fn column(words: &[String], keys: impl Iterator<Item = Option<i32>>) -> ArrayRef {
        let words = StringArray::from_iter_values(words);
        Arc::new(DictionaryArray::new(
            Int32Array::from_iter(keys),
            Arc::new(words),
        ))
    }

    /// Two row groups of five dictionary columns: 300 words in runs and scattered (several
    /// pages, keys of 9 bits), one word (keys of no bits), short and long runs of a few words
    /// that the second group meets in another order, every word of a global dictionary of
    /// 1,000 of which a group uses some, and a column with nulls (left to parquet-rs).
    fn groups() -> Vec<RecordBatch> {
        let words: Vec<String> = (0..1000).map(|i| format!("drug{i:04}")).collect();
        let group = |g: i32, rows: i32| {
            let scattered = (0..rows).map(move |i| {
                Some(if i % 1000 < 300 {
                    (i * 7919 + g) % 300
                } else {
                    (i / 37) % 300
                })
            });
            let runs = (0..rows).map(move |i| Some(((i / (3 + i % 17)) % 5 + 4 * g) % 7));
            let nulls = (0..rows).map(|i| (i % 9 != 0).then_some(i % 4));
            let columns = vec![
                ("scattered", column(&words, scattered)),
                ("one", column(&words[5..6], (0..rows).map(|_| Some(0)))),
                ("runs", column(&words, runs)),
                (
                    "global",
                    column(&words, (0..rows).map(move |i| Some((i + 500 * g) % 1000))),
                ),
                ("with_nulls", column(&words, nulls)),
            ];
            RecordBatch::try_from_iter(columns).unwrap()
        };
        vec![group(0, 45_000), group(1, 7)]
    }

    fn metadata(bytes: &Bytes) -> Arc<ParquetMetaData> {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes.clone(), options);
        Arc::clone(reader.unwrap().metadata())
    }

    fn texts(bytes: &Bytes) -> Vec<Vec<Option<String>>> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).unwrap();
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        (0..batches[0].num_columns())
            .map(|c| {
                let dictionaries = batches
                    .iter()
                    .map(|b| b.column(c).as_dictionary::<Int32Type>());
                dictionaries
                    .flat_map(|d| {
                        let words = d.values().as_string::<i32>();
                        d.keys()
                            .iter()
                            .map(move |k| k.map(|k| words.value(k as usize).to_string()))
                    })
                    .collect()
            })
            .collect()
    }

    /// Chunks written from their keys read back as the chunks parquet-rs writes for the same
    /// arrays: the same values, the same statistics, encodings and dictionary per chunk, a
    /// column and offset index of pages of the same rows as theirs, and no larger.
    #[test]
    fn chunks_read_back_as_parquet_rs_writes_them() {
        let groups = groups();
        let schema = groups[0].schema();
        let mut ours = Vec::new();
        super::super::write_batches(&mut ours, Arc::clone(&schema), &groups).unwrap();
        let props = super::super::table_properties(&schema, groups[0].columns());
        let mut theirs = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut theirs, schema, Some(props)).unwrap();
        for g in &groups {
            writer.write(g).unwrap();
            writer.flush().unwrap();
        }
        writer.close().unwrap();
        let (ours, theirs) = (Bytes::from(ours), Bytes::from(theirs));
        assert_eq!(texts(&ours), texts(&theirs));

        let (ours, theirs) = (metadata(&ours), metadata(&theirs));
        assert_eq!(ours.num_row_groups(), 2);
        for (g, (a, b)) in ours
            .row_groups()
            .iter()
            .zip(theirs.row_groups())
            .enumerate()
        {
            for (c, (x, y)) in a.columns().iter().zip(b.columns()).enumerate() {
                let at = format!("group {g} column {c}");
                assert_eq!(x.num_values(), y.num_values(), "{at}");
                assert_eq!(x.encodings_mask(), y.encodings_mask(), "{at}");
                let (sx, sy) = (x.statistics().unwrap(), y.statistics().unwrap());
                assert_eq!(sx.min_bytes_opt(), sy.min_bytes_opt(), "{at}");
                assert_eq!(sx.max_bytes_opt(), sy.max_bytes_opt(), "{at}");
                assert_eq!(sx.null_count_opt(), sy.null_count_opt(), "{at}");
                assert!(x.dictionary_page_offset().is_some(), "{at}");
                assert!(x.compressed_size() <= y.compressed_size() * 11 / 10, "{at}");
                let index = ours.page_index_for_row_group(g);
                let pages = index.offset_index(c).unwrap().page_locations();
                let their_pages = theirs.page_index_for_row_group(g);
                let their_pages = their_pages.offset_index(c).unwrap().page_locations();
                let first_rows = |p: &[parquet::file::page_index::offset_index::PageLocation]| {
                    p.iter().map(|p| p.first_row_index).collect::<Vec<_>>()
                };
                assert_eq!(first_rows(pages), first_rows(their_pages), "{at}");
                assert!(
                    pages.last().unwrap().first_row_index < x.num_values(),
                    "{at}"
                );
                let pages_indexed = index.column_index(c).unwrap().num_pages();
                assert_eq!(pages_indexed as usize, pages.len(), "{at}");
            }
        }
    }

    #[test]
    fn hybrid_runs_and_packs() {
        // Eight ones as a run of width 1: header 8 << 1, value byte 1.
        let mut buf = Vec::new();
        put_hybrid(&mut buf, &[1; 8], 1);
        assert_eq!(buf, [16, 1]);
        // Three values, one group padded: header (1 << 1) | 1, then 0b10_01_00 in 2 bits.
        let mut buf = Vec::new();
        put_hybrid(&mut buf, &[0, 1, 2], 2);
        assert_eq!(buf, [3, 0b10_01_00, 0]);
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(255), 8);
        assert_eq!(bits_for(256), 9);
    }

    /// Settings this writer does not follow (statistics per chunk or none, a Bloom filter,
    /// another codec, format 2.0 pages) leave the column to parquet-rs's writer.
    #[test]
    fn other_settings_are_left_to_parquet_rs() {
        let schema = groups()[0].schema();
        let parquet_schema = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap();
        let descr = parquet_schema.column(0);
        let ours = super::super::table_properties(&schema, &[]);
        assert!(handles(&ours, &descr));
        let builder =
            || WriterProperties::builder().set_compression(Compression::ZSTD(Default::default()));
        for props in [
            builder().set_statistics_enabled(EnabledStatistics::Chunk),
            builder().set_statistics_enabled(EnabledStatistics::None),
            builder().set_bloom_filter_enabled(true),
            builder().set_compression(Compression::SNAPPY),
            builder().set_writer_version(WriterVersion::PARQUET_2_0),
            builder().set_dictionary_enabled(false),
        ] {
            assert!(!handles(&props.build(), &descr));
        }
    }

    #[test]
    fn keys_outside_the_dictionary_are_an_error() {
        assert!(LocalKeys::of(2, &[0, 2]).is_err());
        assert!(LocalKeys::of(2, &[-1]).is_err());
        let local = LocalKeys::of(3, &[2, 2, 0, 2]).unwrap();
        assert_eq!(local.keys, [0, 0, 1, 0]);
        assert_eq!(local.order, [2, 0]);
    }
}
