//! `collateral._native`: the library's commands for the Python package `collateral`.
//!
//! A thin layer, never a second implementation: every function here calls the library function
//! the command line calls, and tables cross as the very bytes the command line writes, turned
//! into typed columns (numpy arrays, without copying) by [`columns`]. So a DataFrame holds the
//! same values, bit for bit, as the CSV file of the same command.
//!
//! Every function releases the GIL while Rust works, and runs on a rayon pool of `threads`
//! workers when given (results do not depend on the number).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use collateral::error::{Error, ErrorKind, Location, Problem};

mod arrow;
mod columns;

use arrow::ArrowTable;
use collateral::outdir::TableFormat;
use columns::Column;

/// The table format named `word` (`csv`, `parquet`, `both`), or a `CollateralError`.
fn table_format(py: Python<'_>, word: &str) -> PyResult<TableFormat> {
    word.parse().map_err(|e: String| {
        raise(
            py,
            Error::config(Location::default(), format!("format: {e}")),
        )
    })
}

/// A Python exception for a library error: `collateral.CollateralError` (a `ValueError`) with
/// the command line's message and every located problem.
fn raise(py: Python<'_>, e: Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("collateral._errors")?;
        let problems = problem_list(py, e.problems_found())?;
        let kind = match e.kind() {
            ErrorKind::Config => "config",
            ErrorKind::Io => "io",
            _ => "input",
        };
        let err = module
            .getattr("CollateralError")?
            .call1((e.to_string(), kind, problems))?;
        Ok(PyErr::from_value(err))
    };
    build().unwrap_or_else(|err| err)
}

/// `collateral.Problem` tuples of `problems`.
fn problem_list<'py>(py: Python<'py>, problems: &[Problem]) -> PyResult<Bound<'py, PyList>> {
    let class = py.import("collateral._errors")?.getattr("Problem")?;
    let list = PyList::empty(py);
    for p in problems {
        let loc = &p.location;
        let file = loc.file.as_ref().map(|f| f.to_string_lossy().into_owned());
        list.append(class.call1((
            file,
            loc.line,
            loc.plate.clone(),
            loc.well.clone(),
            p.message.clone(),
        ))?)?;
    }
    Ok(list)
}

/// Runs `f` on a pool of `threads` workers (the global pool when `None`), with the GIL released.
fn detached<T, F>(py: Python<'_>, threads: Option<usize>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    match threads {
        None => Ok(py.detach(f)),
        Some(0) => Err(PyValueError::new_err(
            "threads must be at least 1 (or None for every core)",
        )),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyValueError::new_err(format!("cannot start {n} threads: {e}")))?;
            Ok(py.detach(|| pool.install(f)))
        }
    }
}

/// Runs `f` detached and turns its library error into `CollateralError`.
fn call<T, F>(py: Python<'_>, threads: Option<usize>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> collateral::Result<T> + Send,
{
    detached(py, threads, f)?.map_err(|e| raise(py, e))
}

/// Messages of problems, for warnings lists.
fn texts(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

/// The command line (`collateral ...`, program name first); returns the exit code.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| collateral::cli::exit_code(argv))
}

/// What `run`, `shift`, `merge` tell besides their files.
#[pyclass(frozen, get_all, module = "collateral._native")]
struct Outcome {
    /// The command line's summary.
    summary: String,
    /// Warnings, as the command line prints them.
    warnings: Vec<String>,
    /// Plates left out (`keep_going`).
    skipped: Vec<String>,
    /// Files written.
    files: Vec<PathBuf>,
}

impl Outcome {
    /// The outcome of a command that leaves no plates out (all but `run`).
    fn of(summary: String, warnings: &[Problem], files: Vec<PathBuf>) -> Outcome {
        Outcome {
            summary,
            warnings: texts(warnings),
            skipped: Vec::new(),
            files,
        }
    }
}

/// `collateral run ASSAY -o OUTDIR`.
#[pyfunction]
#[pyo3(signature = (assay, outdir, figures=true, xlsx=false, keep_going=false, threads=None, format=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    assay: PathBuf,
    outdir: PathBuf,
    figures: bool,
    xlsx: bool,
    keep_going: bool,
    threads: Option<usize>,
    format: Option<&str>,
) -> PyResult<Outcome> {
    let format = format.map(|f| table_format(py, f)).transpose()?;
    let report = call(py, threads, || {
        let options = collateral::run::RunOptions {
            figures,
            keep_going,
            xlsx,
            format,
            ..Default::default()
        };
        collateral::run::run(&assay, &outdir, &options)
    })?;
    Ok(Outcome {
        summary: report.summary(),
        warnings: texts(&report.warnings),
        skipped: report.skipped.iter().map(|s| s.plate.clone()).collect(),
        files: report.files,
    })
}

/// `collateral run ASSAY` in memory: the typed results, nothing written (`collateral.run`
/// without an output folder or figures), and what the run tells (no files).
#[pyfunction]
#[pyo3(signature = (assay, keep_going=false, threads=None))]
fn run_in_memory(
    py: Python<'_>,
    assay: PathBuf,
    keep_going: bool,
    threads: Option<usize>,
) -> PyResult<(RunResults, Outcome)> {
    let results = call(py, threads, || {
        collateral::Screen::read(&assay, keep_going)?.run(&collateral::Silent)
    })?;
    let report = results.report(Path::new(""));
    // The summary without its last line ("wrote N files to ..."): nothing was written.
    let summary = report.summary();
    let summary = summary
        .rsplit_once("\nwrote ")
        .map_or(summary.as_str(), |(head, _)| head)
        .to_string();
    let outcome = Outcome {
        summary,
        warnings: texts(&report.warnings),
        skipped: report.skipped.iter().map(|s| s.plate.clone()).collect(),
        files: Vec::new(),
    };
    Ok((RunResults { results }, outcome))
}

/// A run's typed results held in memory: its tables as typed columns without a file, and its
/// output folder written only when asked ([`RunResults::save`]).
#[pyclass(frozen, module = "collateral._native")]
struct RunResults {
    results: collateral::Results,
}

#[pymethods]
impl RunResults {
    /// The tables that have typed columns (`collateral::Results::frames`), as
    /// `(file name, columns)` with columns as [`table_columns`] gives them.
    fn frames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let frames = py.detach(|| self.results.frames());
        let out = PyList::empty(py);
        for (name, frame) in frames {
            out.append((name, frame_columns(py, frame)?))?;
        }
        Ok(out)
    }

    /// The table `name` (its CSV file name, `wells.csv`) as Arrow, or `None` when the run has
    /// no such table.
    fn arrow(&self, py: Python<'_>, name: &str) -> Option<ArrowTable> {
        py.detach(|| {
            let frames = self.results.frames();
            frames
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, frame)| ArrowTable::of_frame(frame))
        })
    }

    /// `run.json` of the held results as JSON text (no manifest: nothing was written).
    fn info(&self, py: Python<'_>) -> PyResult<String> {
        let record = py
            .detach(|| self.results.run_record())
            .map_err(|e| raise(py, e))?;
        let mut bytes = Vec::new();
        record
            .write(&mut bytes)
            .map_err(|e| pyo3::exceptions::PyIOError::new_err(e.to_string()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `network.json` of the held results as JSON text; `None` without a lines table.
    fn network(&self) -> Option<String> {
        self.results
            .network_json()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Writes the output folder `outdir` from the held results, as `collateral run
    /// --no-figures` would have (the folder's lock, files moved into place together).
    #[pyo3(signature = (outdir, threads=None, format=None))]
    fn save(
        &self,
        py: Python<'_>,
        outdir: PathBuf,
        threads: Option<usize>,
        format: Option<&str>,
    ) -> PyResult<Outcome> {
        let format = format.map(|f| table_format(py, f)).transpose()?;
        let report = call(py, threads, || {
            let options = collateral::RunOptions {
                figures: false,
                format,
                ..Default::default()
            };
            self.results.write(&outdir, &options)
        })?;
        Ok(Outcome {
            summary: report.summary(),
            warnings: texts(&report.warnings),
            skipped: report.skipped.iter().map(|s| s.plate.clone()).collect(),
            files: report.files,
        })
    }
}

/// `collateral shift FITS --lines LINES -o OUTDIR` with settings as the assay's `[shift]` keys
/// (a JSON object).
#[pyfunction]
#[pyo3(signature = (fits, lines, outdir, settings, threads=None, format="csv"))]
fn shift(
    py: Python<'_>,
    fits: PathBuf,
    lines: PathBuf,
    outdir: PathBuf,
    settings: &str,
    threads: Option<usize>,
    format: &str,
) -> PyResult<Outcome> {
    let settings: collateral::shift::ShiftSettings =
        serde_json::from_str(settings).map_err(|e| raise(py, settings_error("shift", e)))?;
    let format = table_format(py, format)?;
    let report = call(py, threads, || {
        collateral::run::shift_as(
            &fits,
            &lines,
            &outdir,
            (
                &settings,
                &collateral::mic::MicSettings::default(),
                &collateral::evidence::EvidenceSettings::default(),
            ),
            format,
            &collateral::progress::Silent,
        )
    })?;
    Ok(Outcome::of(
        report.summary(),
        &report.warnings,
        report.files,
    ))
}

/// `collateral merge RUN_DIR... -o OUTDIR`; `shift` holds the shift settings that replace the
/// runs' (a JSON object of `[shift]` keys: `metric`, `tau`, `alpha`, `rule`,
/// `max_cycle_length`).
#[pyfunction]
#[pyo3(signature = (runs, outdir, on_duplicate, lines, figures, shift, threads=None, format="csv"))]
#[allow(clippy::too_many_arguments)]
fn merge(
    py: Python<'_>,
    runs: Vec<PathBuf>,
    outdir: PathBuf,
    on_duplicate: &str,
    lines: Option<PathBuf>,
    figures: bool,
    shift: &str,
    threads: Option<usize>,
    format: &str,
) -> PyResult<Outcome> {
    let format = table_format(py, format)?;
    let on_duplicate = on_duplicate.parse().map_err(|e: String| {
        raise(
            py,
            Error::config(Location::default(), format!("on_duplicate {e}")),
        )
    })?;
    let shift = serde_json::from_str(shift).map_err(|e| raise(py, settings_error("shift", e)))?;
    let options = collateral::merge::MergeOptions {
        on_duplicate,
        lines,
        shift,
        figures,
        format,
    };
    let report = call(py, threads, || {
        collateral::merge::merge(&runs, &outdir, &options, &collateral::progress::Silent)
    })?;
    Ok(Outcome::of(
        report.summary(),
        &report.warnings,
        report.files,
    ))
}

/// `collateral plan RUN_DIR -o OUTDIR` with settings as the assay's `[plan]` keys (a JSON
/// object), `metric` to plan on another metric's shifts, `lines` for a folder without
/// `run.json`.
#[pyfunction]
#[pyo3(signature = (run_dir, outdir, settings, metric=None, lines=None, threads=None))]
fn plan(
    py: Python<'_>,
    run_dir: PathBuf,
    outdir: PathBuf,
    settings: &str,
    metric: Option<&str>,
    lines: Option<PathBuf>,
    threads: Option<usize>,
) -> PyResult<Outcome> {
    let settings: collateral::plan::PlanSettings =
        serde_json::from_str(settings).map_err(|e| raise(py, settings_error("plan", e)))?;
    let metric = metric
        .map(|m| {
            collateral::shift::Metric::from_name(m).ok_or_else(|| {
                raise(
                    py,
                    Error::config(
                        Location::default(),
                        format!(
                            "metric {m}: expected {}",
                            collateral::shift::Metric::choices()
                        ),
                    ),
                )
            })
        })
        .transpose()?;
    let options = collateral::run::PlanOptions { metric, lines };
    let report = call(py, threads, || {
        collateral::run::plan_folder(&run_dir, &outdir, &settings, &options)
    })?;
    Ok(Outcome::of(
        report.summary.join("\n\n"),
        &report.warnings,
        report.files,
    ))
}

/// A bad keyword argument, said as the assay file's section would say it.
fn settings_error(section: &str, e: serde_json::Error) -> Error {
    Error::config(Location::default(), format!("{section} settings: {e}"))
}

/// A column of numbers from Python: a float64 array, or text parsed as the fit input's cells
/// are (`NA`, `NaN`, empty → NaN).
#[derive(FromPyObject)]
enum Numbers<'py> {
    Array(PyReadonlyArray1<'py, f64>),
    Text(Vec<String>),
}

impl Numbers<'_> {
    /// The values; a cell that is not a number is a problem at `source`, line `row + 2`.
    fn values(&self, name: &str, source: &Path, problems: &mut Vec<Problem>) -> Vec<f64> {
        match self {
            Numbers::Array(a) => match a.as_slice() {
                Ok(s) => s.to_vec(),
                Err(_) => a.as_array().iter().copied().collect(),
            },
            Numbers::Text(t) => collateral::fit::table::numbers_of_text(t, name, source, problems),
        }
    }
}

/// A column of names from Python: its codes (int64, -1 for a missing name) and the distinct
/// names they number, as `pandas.factorize` gives them; or the names themselves.
#[derive(FromPyObject)]
enum Names<'py> {
    Coded(PyReadonlyArray1<'py, i64>, Vec<String>),
    Text(Vec<String>),
}

impl Names<'_> {
    /// The name of every row (a missing one empty, as an empty cell of a file is).
    fn rows(&self) -> Result<Vec<&str>, Error> {
        match self {
            Names::Text(t) => Ok(t.iter().map(String::as_str).collect()),
            Names::Coded(codes, names) => codes
                .as_array()
                .iter()
                .map(|&c| match usize::try_from(c) {
                    Err(_) => Ok(""),
                    Ok(i) => names.get(i).map(String::as_str).ok_or_else(|| {
                        Error::input(
                            Location::default(),
                            format!("name code {c} beyond the {} names given", names.len()),
                        )
                    }),
                })
                .collect(),
        }
    }
}

/// `collateral fit` on columns: returns the columns of `fits.csv`.
#[pyfunction]
#[pyo3(signature = (cell_line, drug, concentration, response, settings, source, threads=None))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    cell_line: Names<'py>,
    drug: Names<'py>,
    concentration: Numbers<'py>,
    response: Numbers<'py>,
    settings: &str,
    source: PathBuf,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let keys: collateral::fit::keys::FitKeys =
        serde_json::from_str(settings).map_err(|e| raise(py, settings_error("fit", e)))?;
    let config = keys
        .to_settings()
        .map_err(|(_, m)| Error::config(Location::default(), m))
        .and_then(|s| s.check())
        .map_err(|e| raise(py, e))?;
    let mut problems = Vec::new();
    let concentration = concentration.values("concentration", &source, &mut problems);
    let response = response.values("response", &source, &mut problems);
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.location.line);
        return Err(raise(py, Error::problems(ErrorKind::Input, problems)));
    }
    let cell_line = cell_line.rows().map_err(|e| raise(py, e))?;
    let drug = drug.rows().map_err(|e| raise(py, e))?;
    let frame = call(py, threads, || {
        let curves = collateral::fit::table::curves_from_columns(
            &source,
            &cell_line,
            &drug,
            &concentration,
            &response,
        )?;
        let fits = collateral::fit::fit_curves(&curves, &config, &collateral::progress::Silent);
        Ok(collateral::frame::fits_frame(&fits))
    })?;
    frame_columns(py, frame)
}

/// Where `cell_line, drug, concentration, response` are among the column names `header` of
/// the fit input at `source`, as `collateral fit` finds them in a file's header.
#[pyfunction]
fn fit_columns(py: Python<'_>, header: Vec<String>, source: PathBuf) -> PyResult<[usize; 4]> {
    collateral::fit::table::input_columns(&header, &source).map_err(|e| raise(py, e))
}

/// Reads one of the output tables into typed columns through its row type
/// (`frame::read_typed`: a missing column or a malformed cell is a located error), or
/// any other CSV (a user's own table) by its header and cells ([`columns::parse`]).
/// A `.parquet` table (or one standing in for an absent `.csv`) is read through its row type
/// when it has one, else as its typed Parquet columns.
#[pyfunction]
fn read_table<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyList>> {
    let path = as_csv_name(&path);
    let typed = call(py, None, || collateral::frame::read_typed(&path))?;
    if let Some(table) = typed {
        return frame_columns(py, table.frame);
    }
    if let Some(parquet) = collateral::table::parquet::stand_in(&path) {
        let frame = call(py, None, || {
            collateral::frame::parquet::read_frame(&parquet)
        })?;
        return frame_columns(py, frame);
    }
    let bytes = call(py, None, || collateral::table::read_bytes(&path))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    table_columns(py, &name, &bytes, &path)
}

/// The `.csv` name of a table given as `<name>.parquet` (which then stands in for it when the
/// `.csv` is absent); any other path as it is.
fn as_csv_name(path: &Path) -> PathBuf {
    if path.extension().is_some_and(|e| e == "parquet") {
        let csv = path.with_extension("csv");
        if !csv.exists() {
            return csv;
        }
    }
    path.to_path_buf()
}

/// The table at `path` as Arrow ([`ArrowTable`]): a Parquet file's batches as read, a CSV
/// table's typed columns (as [`read_table`] types them) as the Parquet writer types them.
#[pyfunction]
fn read_arrow(py: Python<'_>, path: PathBuf) -> PyResult<ArrowTable> {
    let parquet = if path.extension().is_some_and(|e| e == "parquet") {
        Some(path.clone())
    } else {
        collateral::table::parquet::stand_in(&path)
    };
    if let Some(parquet) = parquet {
        return call(py, None, || ArrowTable::of_parquet(&parquet));
    }
    let typed = call(py, None, || collateral::frame::read_typed(&path))?;
    let frame = match typed {
        Some(table) => table.frame,
        None => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            call(py, None, || {
                let bytes = collateral::table::read_bytes(&path)?;
                columns::parse(&name, &bytes, &path)
            })?
        }
    };
    Ok(py.detach(|| ArrowTable::of_frame(&frame)))
}

/// Typed columns of a CSV table as `(name, kind, values, mask)`: `kind` `number` (float64
/// array, mask None), `count` (int64 array and a bool mask of absent cells), `flag` (bool
/// array and mask), `text` (a list of str, mask None).
fn table_columns<'py>(
    py: Python<'py>,
    name: &str,
    bytes: &[u8],
    path: &Path,
) -> PyResult<Bound<'py, PyList>> {
    let table = py
        .detach(|| columns::parse(name, bytes, path))
        .map_err(|e| raise(py, e))?;
    frame_columns(py, table)
}

/// Typed columns as `(name, kind, values, mask)` (see [`table_columns`]).
fn frame_columns(py: Python<'_>, table: collateral::frame::Frame) -> PyResult<Bound<'_, PyList>> {
    let out = PyList::empty(py);
    for (header, column) in table {
        let item = match column {
            Column::Number(v) => (
                header,
                "number",
                PyArray1::from_vec(py, v).into_any(),
                py.None(),
            ),
            Column::Count(v, mask) => (
                header,
                "count",
                PyArray1::from_vec(py, v).into_any(),
                PyArray1::from_vec(py, mask).into_any().unbind(),
            ),
            Column::Flag(v, mask) => (
                header,
                "flag",
                PyArray1::from_vec(py, v).into_any(),
                PyArray1::from_vec(py, mask).into_any().unbind(),
            ),
            Column::Text(v) => (header, "text", PyList::new(py, v)?.into_any(), py.None()),
        };
        out.append(item)?;
    }
    Ok(out)
}

/// The wells of one plate file: with a layout, the tidy wells table (as an assay's `wells`
/// table); without, every read the file holds (`read, kind, well, signal`). Returns the columns
/// and the warnings.
#[pyfunction]
#[pyo3(signature = (file, layout=None, format=None, read=None, plate=None, cell_line=None, replicate=None))]
#[allow(clippy::too_many_arguments)]
fn read_plates<'py>(
    py: Python<'py>,
    file: PathBuf,
    layout: Option<PathBuf>,
    format: Option<String>,
    read: Option<String>,
    plate: Option<String>,
    cell_line: Option<String>,
    replicate: Option<String>,
) -> PyResult<(Bound<'py, PyList>, Vec<String>)> {
    let format = match format.as_deref() {
        None => None,
        Some(f) => Some(collateral::read::Format::parse(f).ok_or_else(|| {
            let names: Vec<&str> = collateral::read::vendor::FORMAT_NAMES
                .iter()
                .map(|(n, _)| *n)
                .collect();
            raise(
                py,
                Error::config(
                    Location::file(&file),
                    format!("unknown format `{f}`; known: {}", names.join(", ")),
                ),
            )
        })?),
    };
    let (bytes, warnings, name) = match layout {
        Some(layout) => {
            let entry = collateral::read::PlateEntry {
                file: file.clone(),
                layout,
                plate,
                cell_line,
                read,
                replicate,
                format,
                line: None,
            };
            call(py, None, || {
                let sources = collateral::read::WellSources {
                    path: &file,
                    wells: None,
                    plates: std::slice::from_ref(&entry),
                    plate_format: None,
                    // Only a tidy wells table converts units or has a sheet: a plate has neither.
                    concentration_unit: "",
                    tables: &collateral::table::TableOptions::default(),
                    vehicles_required: true,
                };
                let wells = collateral::read::assay_wells(&sources)?;
                let mut bytes = Vec::new();
                collateral::output::write_tidy_wells(&mut bytes, &wells.table)
                    .map_err(|e| Error::io(&file, "writing the wells", e))?;
                let mut warnings = wells.warnings;
                warnings.extend(wells.table.warnings);
                Ok((bytes, texts(&warnings), "wells.csv"))
            })?
        }
        None => call(py, None, || {
            let mut plate_file = collateral::read::PlateFile::read(&file, format)?;
            if let Some(wanted) = read.as_deref() {
                let chosen = plate_file.choose(Some(wanted))?.clone();
                plate_file.reads = vec![chosen];
            }
            let mut bytes = Vec::new();
            plate_file
                .write_reads(&mut bytes)
                .map_err(|e| Error::io(&file, "writing the reads", e))?;
            Ok((bytes, Vec::new(), "reads.csv"))
        })?,
    };
    Ok((table_columns(py, name, &bytes, &file)?, warnings))
}

/// `collateral validate`: `(summary, maps, warnings)`, or `CollateralError` listing every
/// problem.
#[pyfunction]
#[pyo3(signature = (assay, maps=false))]
fn validate(py: Python<'_>, assay: PathBuf, maps: bool) -> PyResult<(String, String, Vec<String>)> {
    let v = call(py, None, || collateral::validate::validate(&assay, maps))?;
    if !v.problems.is_empty() {
        return Err(raise(py, Error::problems(ErrorKind::Input, v.problems)));
    }
    Ok((v.summary, v.maps, texts(&v.warnings)))
}

/// `collateral simulate -o OUTDIR` with the settings as a JSON object; returns the files.
#[pyfunction]
fn simulate(py: Python<'_>, outdir: PathBuf, settings: &str) -> PyResult<Vec<PathBuf>> {
    let settings: collateral::simulate::SimulationSettings =
        serde_json::from_str(settings).map_err(|e| raise(py, settings_error("simulate", e)))?;
    let config = settings.check().map_err(|e| raise(py, e))?;
    call(py, None, || {
        collateral::simulate::simulate(&config).write(&outdir)
    })
}

/// Copies a finished output folder into another as its command writes one (`names`: the files
/// of a folder without a run.json manifest); `(files, warnings)`.
#[pyfunction]
#[pyo3(signature = (source, target, names=None))]
fn copy_folder(
    py: Python<'_>,
    source: PathBuf,
    target: PathBuf,
    names: Option<Vec<String>>,
) -> PyResult<(Vec<PathBuf>, Vec<String>)> {
    let (files, warnings) = call(py, None, || {
        collateral::outdir::copy_folder(&source, &target, names.as_deref())
    })?;
    Ok((files, texts(&warnings)))
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Outcome>()?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(run_in_memory, m)?)?;
    m.add_class::<RunResults>()?;
    m.add_function(wrap_pyfunction!(shift, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(fit_columns, m)?)?;
    m.add_function(wrap_pyfunction!(read_table, m)?)?;
    m.add_function(wrap_pyfunction!(read_arrow, m)?)?;
    m.add_class::<ArrowTable>()?;
    m.add_function(wrap_pyfunction!(read_plates, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(copy_folder, m)?)?;
    Ok(())
}
