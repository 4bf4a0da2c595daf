//! The R package `collateral`: the library's in-memory API for R (`R/collateral.R` wraps these).
//!
//! A thin layer, never a second implementation: every function calls the library function the
//! command line calls and hands its typed results to R. Tables cross as the library's typed
//! columns ([`collateral::frame::Frame`]), converted column by column ([`frame_to_r`]) so a
//! table the library gains a frame for reaches R without more code here; numbers are the very
//! `f64` the command line writes to its CSV files.
//!
//! Nothing here raises an R error by itself: every function returns `list(ok = value)` or
//! `list(error = ...)` (the error's message, kind and located problems), and the R side turns
//! the latter into a condition of class `collateral_error`. So no Rust frame is ever unwound by
//! R's longjmp.

use std::path::{Path, PathBuf};

use extendr_api::prelude::*;

use collateral::error::{Error, ErrorKind, Location, Problem};
use collateral::frame::{Column, Frame};

mod shift;

/// `list(ok = value)`, or `list(error = ...)` for a library error.
fn answer(result: collateral::Result<Robj>) -> Robj {
    match result {
        Ok(value) => list!(ok = value).into(),
        Err(e) => list!(error = error_to_r(&e)).into(),
    }
}

/// A library error as R values: `message` (as the command line prints it), `kind` (`input`,
/// `config` or `io`) and `problems` (columns `file`, `line`, `plate`, `well`, `message`, NA
/// where the location does not say).
fn error_to_r(e: &Error) -> Robj {
    let kind = match e.kind() {
        ErrorKind::Config => "config",
        ErrorKind::Io => "io",
        _ => "input",
    };
    list!(
        message = e.to_string(),
        kind = kind,
        problems = problems_to_r(e.problems_found())
    )
    .into()
}

/// Located problems as columns `file`, `line`, `plate`, `well`, `message`.
fn problems_to_r(problems: &[Problem]) -> Robj {
    // Strings element by element: an absent part is NA_character_, not the text "NA".
    let text = |f: &dyn Fn(&Location) -> Option<String>| -> Strings {
        let mut out = Strings::new(problems.len());
        for (i, p) in problems.iter().enumerate() {
            out.set_elt(i, f(&p.location).map_or(Rstr::na(), Rstr::from));
        }
        out
    };
    let file = text(&|l| l.file.as_ref().map(|f| f.to_string_lossy().into_owned()));
    let plate = text(&|l| l.plate.clone());
    let well = text(&|l| l.well.clone());
    let line: Doubles = problems
        .iter()
        .map(|p| {
            p.location
                .line
                .map_or(Rfloat::na(), |l| Rfloat::from(l as f64))
        })
        .collect();
    let message: Strings = problems.iter().map(|p| p.message.as_str()).collect();
    list!(
        file = file,
        line = line,
        plate = plate,
        well = well,
        message = message
    )
    .into()
}

/// Messages of problems (warnings), as the command line prints them.
fn texts(problems: &[Problem]) -> Strings {
    problems.iter().map(ToString::to_string).collect()
}

/// A typed frame as a named list of R vectors (the R side gives it the data.frame class):
/// text → character; number → double, NaN (the CSV's empty cell) → `NA`; count → integer (double
/// when a value is beyond R's integers), masked → `NA`; flag → logical, masked → `NA`.
fn frame_to_r(frame: Frame) -> Robj {
    let mut names = Vec::with_capacity(frame.len());
    let mut columns = Vec::with_capacity(frame.len());
    for (name, column) in frame {
        names.push(name);
        columns.push(column_to_r(column));
    }
    List::from_names_and_values(names, columns)
        .map(Robj::from)
        .unwrap_or_else(|_| Robj::from(()))
}

/// One typed column as an R vector (see [`frame_to_r`]).
fn column_to_r(column: Column) -> Robj {
    match column {
        Column::Text(v) => Strings::from_values(v).into(),
        Column::Number(v) => v
            .into_iter()
            .map(|x| {
                if x.is_nan() {
                    Rfloat::na()
                } else {
                    Rfloat::from(x)
                }
            })
            .collect::<Doubles>()
            .into(),
        Column::Count(v, mask) => {
            // R's NA_integer_ is i32::MIN, so a count fits R's integers strictly above it.
            let fits = v
                .iter()
                .all(|&x| x > i32::MIN as i64 && x <= i32::MAX as i64);
            if fits {
                v.iter()
                    .zip(&mask)
                    .map(|(&x, &absent)| {
                        if absent {
                            Rint::na()
                        } else {
                            Rint::from(x as i32)
                        }
                    })
                    .collect::<Integers>()
                    .into()
            } else {
                v.iter()
                    .zip(&mask)
                    .map(|(&x, &absent)| {
                        if absent {
                            Rfloat::na()
                        } else {
                            Rfloat::from(x as f64)
                        }
                    })
                    .collect::<Doubles>()
                    .into()
            }
        }
        Column::Flag(v, mask) => v
            .iter()
            .zip(&mask)
            .map(|(&x, &absent)| if absent { Rbool::na() } else { Rbool::from(x) })
            .collect::<Logicals>()
            .into(),
    }
}

/// Named frames (`fits.csv`, ...) as a named list of frames keyed by the table's name without
/// its extension (`fits`).
fn frames_to_r(frames: Vec<(String, Frame)>) -> Robj {
    let mut names = Vec::with_capacity(frames.len());
    let mut values = Vec::with_capacity(frames.len());
    for (file, frame) in frames {
        let name = Path::new(&file)
            .file_stem()
            .map_or(file.clone(), |s| s.to_string_lossy().into_owned());
        names.push(name);
        values.push(frame_to_r(frame));
    }
    List::from_names_and_values(names, values)
        .map(Robj::from)
        .unwrap_or_else(|_| Robj::from(()))
}

/// Runs `f` on a pool of `threads` workers (the global pool when `threads` is NA or < 1).
fn on_threads<T: Send>(
    threads: i32,
    f: impl FnOnce() -> collateral::Result<T> + Send,
) -> collateral::Result<T> {
    if threads < 1 {
        return f();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .map_err(|e| {
            Error::config(
                Location::default(),
                format!("cannot start {threads} threads: {e}"),
            )
        })?;
    pool.install(f)
}

/// A bad argument, said as the assay file's section would say it.
fn settings_error(section: &str, e: serde_json::Error) -> Error {
    Error::config(Location::default(), format!("{section} settings: {e}"))
}

/// `collateral run ASSAY [-o OUTDIR]`: the run in memory (`Screen::read` + `Screen::run`), its
/// tables (`Results::frames`), and with `outdir` the folder written by `Results::write`.
#[extendr]
fn run_assay(
    assay: &str,
    outdir: Nullable<String>,
    figures: bool,
    keep_going: bool,
    xlsx: bool,
    threads: i32,
) -> Robj {
    let computed = on_threads(threads, || {
        let results =
            collateral::Screen::read(Path::new(assay), keep_going)?.run(&collateral::Silent)?;
        let report = match &outdir {
            Nullable::NotNull(dir) => {
                let options = collateral::RunOptions {
                    figures,
                    keep_going,
                    xlsx,
                    ..Default::default()
                };
                Some(results.write(Path::new(dir), &options)?)
            }
            Nullable::Null => None,
        };
        let frames = results.frames();
        Ok((results, report, frames))
    });
    answer(computed.map(|(results, report, frames)| {
        let written = report.is_some();
        let report = report.unwrap_or_else(|| results.report(Path::new("")));
        let summary = report.summary();
        // Without a folder, the summary's last line ("wrote N files to ...") is not true.
        let summary = if written {
            summary
        } else {
            summary
                .rsplit_once("\nwrote ")
                .map_or(summary.as_str(), |(head, _)| head)
                .to_string()
        };
        let files: Strings = report
            .files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        let skipped: Strings = report.skipped.iter().map(|s| s.plate.as_str()).collect();
        list!(
            tables = frames_to_r(frames),
            summary = summary,
            warnings = texts(&report.warnings),
            skipped = skipped,
            files = files
        )
        .into()
    }))
}

/// Where `cell_line, drug, concentration, response` are among `header` (1-based, for R), as
/// `collateral fit` finds them in a file's header.
#[extendr]
fn fit_input_columns(header: Vec<String>, source: &str) -> Robj {
    answer(
        collateral::fit::table::input_columns(&header, Path::new(source))
            .map(|c| Robj::from(c.iter().map(|&i| i as i32 + 1).collect::<Vec<i32>>())),
    )
}

/// The name of every row of a factor's `codes` (1-based, NA for a missing name) among
/// `levels`; a missing name is empty, as an empty cell of a file is.
fn factor_rows<'a>(codes: &[i32], levels: &'a [String]) -> collateral::Result<Vec<&'a str>> {
    codes
        .iter()
        .map(|&c| {
            if c == i32::MIN {
                return Ok("");
            }
            usize::try_from(c - 1)
                .ok()
                .and_then(|i| levels.get(i))
                .map(String::as_str)
                .ok_or_else(|| {
                    Error::input(
                        Location::default(),
                        format!("factor code {c} beyond its {} levels", levels.len()),
                    )
                })
        })
        .collect()
}

/// A column of numbers from R: doubles as they are (NA → NaN), or text parsed as the fit
/// input's cells are (`NA`, `NaN`, empty → NaN); a cell that is not a number is a problem at
/// `source`, line `row + 2`.
fn numbers(
    column: &Robj,
    name: &str,
    source: &Path,
    problems: &mut Vec<Problem>,
) -> collateral::Result<Vec<f64>> {
    if let Some(values) = column.as_real_slice() {
        return Ok(values.to_vec());
    }
    if let Some(cells) = column.as_str_vector() {
        return Ok(collateral::fit::table::numbers_of_text(
            &cells, name, source, problems,
        ));
    }
    Err(Error::input(
        Location::file(source).at_line(1),
        format!("`{name}` is neither numbers nor text"),
    ))
}

/// `collateral fit` on columns: the names as factor codes and levels, the numbers as doubles
/// (or text), `settings` the `[fit]` keys as a JSON object. Returns the frame of `fits.csv`.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn fit_curves(
    cell_line: &[i32],
    cell_levels: Vec<String>,
    drug: &[i32],
    drug_levels: Vec<String>,
    concentration: Robj,
    response: Robj,
    settings: &str,
    source: &str,
    threads: i32,
) -> Robj {
    let source = PathBuf::from(source);
    let fitted = || -> collateral::Result<Frame> {
        let keys: collateral::fit::keys::FitKeys =
            serde_json::from_str(settings).map_err(|e| settings_error("fit", e))?;
        let config = keys
            .to_settings()
            .map_err(|(_, m)| Error::config(Location::default(), m))?
            .check()?;
        let mut problems = Vec::new();
        let concentration = numbers(&concentration, "concentration", &source, &mut problems)?;
        let response = numbers(&response, "response", &source, &mut problems)?;
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.location.line);
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        let cell_line = factor_rows(cell_line, &cell_levels)?;
        let drug = factor_rows(drug, &drug_levels)?;
        on_threads(threads, || {
            let curves = collateral::fit::table::curves_from_columns(
                &source,
                &cell_line,
                &drug,
                &concentration,
                &response,
            )?;
            let fits = collateral::fit::fit_curves(&curves, &config, &collateral::progress::Silent);
            Ok(collateral::frame::fits_frame(&fits))
        })
    };
    answer(fitted().map(frame_to_r))
}

/// `collateral validate ASSAY`: `list(summary, maps, warnings)`, or the error listing every
/// problem.
#[extendr]
fn validate_assay(assay: &str, maps: bool) -> Robj {
    answer(
        collateral::validate::validate(Path::new(assay), maps).and_then(|v| {
            if !v.problems.is_empty() {
                return Err(Error::problems(ErrorKind::Input, v.problems));
            }
            Ok(list!(
                summary = v.summary,
                maps = v.maps,
                warnings = texts(&v.warnings)
            )
            .into())
        }),
    )
}

/// `collateral simulate -o OUTDIR` with the settings as a JSON object; returns the files.
#[extendr]
fn simulate_screen(outdir: &str, settings: &str) -> Robj {
    answer((|| {
        let settings: collateral::simulate::SimulationSettings =
            serde_json::from_str(settings).map_err(|e| settings_error("simulate", e))?;
        let config = settings.check()?;
        let files = collateral::simulate::simulate(&config).write(Path::new(outdir))?;
        Ok(files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect::<Strings>()
            .into())
    })())
}

/// The table `name` the library wrote as `bytes` in memory, typed as a reader of the tool's
/// tables types it ([`collateral::frame::column_of_cells`] by [`collateral::output::column_kind`],
/// as the Python package reads the same tables). Only for the tables that have no frame yet
/// (the tidy wells and a plate file's reads); `path` is where problems point.
fn text_frame(name: &str, bytes: &[u8], path: &Path) -> collateral::Result<Frame> {
    let unreadable = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        Error::input(
            Location::file(path).at_line(line),
            format!("unreadable row: {e}"),
        )
    };
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(unreadable)?
        .iter()
        .map(str::to_string)
        .collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for record in reader.records() {
        for (column, field) in cells.iter_mut().zip(record.map_err(unreadable)?.iter()) {
            column.push(field.to_string());
        }
    }
    Ok(header
        .into_iter()
        .zip(cells)
        .map(|(h, values)| {
            let kind = collateral::output::column_kind(name, &h);
            let column = collateral::frame::column_of_cells(kind, values);
            (h, column)
        })
        .collect())
}

/// The wells of one plate file: with a layout, the tidy wells table (as an assay's `wells`
/// table, concentrations written with a unit converted into `concentration_unit` when it is
/// not empty); without, every read the file holds (`read, kind, well, signal`). Returns
/// `list(table, warnings)`.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn read_plate_file(
    file: &str,
    layout: Nullable<String>,
    format: Nullable<String>,
    read: Nullable<String>,
    plate: Nullable<String>,
    cell_line: Nullable<String>,
    replicate: Nullable<String>,
    concentration_unit: &str,
) -> Robj {
    let option = |n: Nullable<String>| match n {
        Nullable::NotNull(s) => Some(s),
        Nullable::Null => None,
    };
    let file = PathBuf::from(file);
    let layout = option(layout);
    let read = option(read);
    let (plate, cell_line, replicate) = (option(plate), option(cell_line), option(replicate));
    let format = option(format);
    answer((|| {
        let format = match format.as_deref() {
            None => None,
            Some(f) => Some(collateral::read::Format::parse(f).ok_or_else(|| {
                let names: Vec<&str> = collateral::read::vendor::FORMAT_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                Error::config(
                    Location::file(&file),
                    format!("unknown format `{f}`; known: {}", names.join(", ")),
                )
            })?),
        };
        let (frame, warnings) = match layout {
            Some(layout) => {
                let entry = collateral::read::PlateEntry {
                    file: file.clone(),
                    layout: PathBuf::from(layout),
                    plate,
                    cell_line,
                    read,
                    replicate,
                    format,
                    line: None,
                };
                let tables = collateral::table::TableOptions::default();
                let sources = collateral::read::WellSources {
                    path: &file,
                    wells: None,
                    plates: std::slice::from_ref(&entry),
                    plate_format: None,
                    concentration_unit,
                    tables: &tables,
                    // A layout's plate must have vehicle wells, as `run` requires by default.
                    vehicles_required: true,
                };
                let wells = collateral::read::assay_wells(&sources)?;
                let mut bytes = Vec::new();
                collateral::output::write_tidy_wells(&mut bytes, &wells.table)
                    .map_err(|e| Error::io(&file, "writing the wells", e))?;
                let mut warnings = wells.warnings;
                warnings.extend(wells.table.warnings.iter().cloned());
                (text_frame("wells.csv", &bytes, &file)?, warnings)
            }
            None => {
                let mut plate_file = collateral::read::PlateFile::read(&file, format)?;
                if let Some(wanted) = read.as_deref() {
                    let chosen = plate_file.choose(Some(wanted))?.clone();
                    plate_file.reads = vec![chosen];
                }
                let mut bytes = Vec::new();
                plate_file
                    .write_reads(&mut bytes)
                    .map_err(|e| Error::io(&file, "writing the reads", e))?;
                (text_frame("reads.csv", &bytes, &file)?, Vec::new())
            }
        };
        Ok(list!(table = frame_to_r(frame), warnings = texts(&warnings)).into())
    })())
}

extendr_module! {
    mod collateral;
    fn run_assay;
    fn fit_input_columns;
    fn fit_curves;
    fn validate_assay;
    fn simulate_screen;
    fn read_plate_file;
    use shift;
}
