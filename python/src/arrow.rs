//! Tables as Arrow for Python, without copies: an [`ArrowTable`] hands its record batches out
//! through the Arrow PyCapsule interface (`__arrow_c_stream__`, `__arrow_c_schema__`), so
//! `pyarrow.table(t)`, `polars.from_arrow(t)`/`polars.DataFrame(t)` and DuckDB
//! (`duckdb.sql("SELECT * FROM t")`) take the library's own buffers. The columns are those of
//! the Parquet outputs (`collateral::frame::parquet`): `f64`, `i64`, `bool` with nulls where
//! the CSV cell is empty, dictionary-encoded strings for names and words.

use std::path::Path;

use arrow_array::ffi::FFI_ArrowSchema;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use collateral::frame::parquet::batch_of_frame;
use collateral::frame::Frame;

/// One table as Arrow record batches (a row group each when read from Parquet).
#[pyclass(frozen, module = "collateral._native")]
pub struct ArrowTable {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl ArrowTable {
    /// The table of typed columns `frame`.
    pub fn of_frame(frame: &Frame) -> ArrowTable {
        let batch = batch_of_frame(frame);
        ArrowTable {
            schema: batch.schema(),
            batches: vec![batch],
        }
    }

    /// The Parquet file at `path`, its batches as read (no conversion of their columns).
    pub fn of_parquet(path: &Path) -> collateral::Result<ArrowTable> {
        let batches = collateral::table::parquet::read_batches(path)?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            // No rows: the schema from the typed (empty) columns.
            None => {
                return collateral::frame::parquet::read_frame(path).map(|f| Self::of_frame(&f))
            }
        };
        Ok(ArrowTable { schema, batches })
    }
}

#[pymethods]
impl ArrowTable {
    /// The Arrow C stream of the table in a capsule named `arrow_array_stream`: the consumer
    /// reads the batches' buffers where they are. `requested_schema` is accepted and not
    /// applied (the table has one schema; consumers cast if they want another).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(
            self.batches.clone().into_iter().map(Ok),
            self.schema.clone(),
        );
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// The table's schema in a capsule named `arrow_schema`.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.schema.as_ref())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// Number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The column names, in order (those of the CSV table).
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.num_rows()
    }

    fn __repr__(&self) -> String {
        let columns: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| format!("{}: {}", f.name(), f.data_type()))
            .collect();
        format!(
            "<collateral.ArrowTable {} rows: {}>",
            self.num_rows(),
            columns.join(", ")
        )
    }
}
