//! The `collateral fit` input table and the `fits.csv` output.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Problem};

use super::result::{CurveFit, FitStatus, FITS_COLUMNS};
use crate::progress::{Progress, Stage};

use super::{fit_curves, CurveInput, DosePoint, FitConfig};

/// Required columns of the fit input table.
pub(crate) const INPUT_COLUMNS: [&str; 4] = ["cell_line", "drug", "concentration", "response"];

/// Reads a fit input table (CSV, or TSV when the file name ends in `.tsv`/`.tab` or the header
/// has tabs but no commas) with columns `cell_line, drug, concentration, response` and an
/// optional `replicate`; other columns are ignored. Returns one curve per (cell_line, drug) in
/// order of first appearance, replicate points pooled.
///
/// Empty, `NA` and `NaN` responses or concentrations are kept as NaN and reported per curve by
/// the fit; any other unreadable value is an error naming file and line (all such problems are
/// reported together).
pub fn read_fit_input(path: &Path) -> crate::Result<Vec<CurveInput>> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| Error::io(path, "reading", e))?;
    parse_fit_input(&text, path)
}

fn delimiter_for(text: &str, path: &Path) -> u8 {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let header = text.lines().next().unwrap_or("");
    if ext == "tsv" || ext == "tab" || (header.contains('\t') && !header.contains(',')) {
        b'\t'
    } else {
        b','
    }
}

/// A number of the fit input as written: empty, `NA` and `NaN` are NaN (a value that does not
/// exist, reported per curve by the fit), anything else must parse as a float.
pub fn parse_number(field: &str) -> Option<f64> {
    let t = field.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    t.parse::<f64>().ok()
}

/// A column of the fit input given as text (a face's data frame column of strings) as numbers
/// by [`parse_number`]; a cell that is not one becomes NaN and a problem at its line of
/// `source` (row `i` is line `i + 2`, after the header), named by the column's `name`.
pub fn numbers_of_text<S: AsRef<str>>(
    cells: &[S],
    name: &str,
    source: &Path,
    problems: &mut Vec<crate::error::Problem>,
) -> Vec<f64> {
    cells
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.as_ref();
            parse_number(s).unwrap_or_else(|| {
                problems.push(crate::error::Problem {
                    location: Location::file(source).at_line(i as u64 + 2),
                    message: format!("`{name}` is not a number: `{}`", s.trim()),
                });
                f64::NAN
            })
        })
        .collect()
}

/// Where the fit input's columns are in `header` (names trimmed, any case): the indices of
/// `cell_line, drug, concentration, response`, or an error at `path` line 1 naming each
/// missing one (with the nearest name when it looks like a typo).
pub fn input_columns(header: &[String], path: &Path) -> crate::Result<[usize; 4]> {
    let here = |line: u64| Location::file(path).at_line(line);
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut columns = [0usize; 4];
    let mut problems = Vec::new();
    for (slot, wanted) in columns.iter_mut().zip(INPUT_COLUMNS) {
        match names.iter().position(|n| n == wanted) {
            Some(i) => *slot = i,
            None => {
                let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
                let hint = names
                    .iter()
                    .find(|n| did_you_mean(n, &[wanted]).contains(wanted))
                    .map(|n| format!(" (is `{n}` meant to be `{wanted}`?)"))
                    .unwrap_or_default();
                problems.push(Problem {
                    location: here(1),
                    message: format!(
                        "missing column `{wanted}`{hint}; the header has: {}",
                        candidates.join(", ")
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// Parses the text of a fit input table; `path` is only used in error locations.
pub fn parse_fit_input(text: &str, path: &Path) -> crate::Result<Vec<CurveInput>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter_for(text, path))
        .flexible(true)
        .from_reader(text.as_bytes());
    let here = |line: u64| Location::file(path).at_line(line);
    let headers = reader
        .headers()
        .map_err(|e| Error::input(here(1), format!("cannot read the header: {e}")))?
        .clone();
    let header: Vec<String> = headers.iter().map(str::to_string).collect();
    let columns = input_columns(&header, path)?;
    let mut problems = Vec::new();
    let [cell_col, drug_col, conc_col, resp_col] = columns;
    let mut curves = CurveGrouper::default();
    // One reused record buffer: a fresh allocation per row would cost more than the parsing.
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(Problem {
                    location: here(line),
                    message: format!("unreadable row: {e}"),
                });
                if problems.len() > 1000 || e.is_io_error() {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let (cell_line, drug) = (field(cell_col), field(drug_col));
        let mut row_ok = true;
        for (name, value) in [("cell_line", cell_line), ("drug", drug)] {
            if value.is_empty() {
                problems.push(Problem {
                    location: here(line),
                    message: format!("empty `{name}`"),
                });
                row_ok = false;
            }
        }
        let mut number = |name: &str, i: usize| match parse_number(field(i)) {
            Some(v) => v,
            None => {
                problems.push(Problem {
                    location: here(line),
                    message: format!("`{name}` is not a number: `{}`", field(i)),
                });
                row_ok = false;
                f64::NAN
            }
        };
        let concentration = number("concentration", conc_col);
        let response = number("response", resp_col);
        if !row_ok {
            continue;
        }
        curves.push(cell_line, drug, concentration, response);
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    curves
        .finish()
        .ok_or_else(|| Error::input(here(1), "no data rows"))
}

/// Rows → curves, one per (cell_line, drug) in order of first appearance: the one grouping of
/// the fit input, whether its rows come from a file or from columns in memory.
#[derive(Default)]
struct CurveGrouper {
    curves: Vec<CurveInput>,
    index: HashMap<(String, String), usize>,
    last: Option<usize>,
}

impl CurveGrouper {
    fn push(&mut self, cell_line: &str, drug: &str, concentration: f64, response: f64) {
        let curves = &mut self.curves;
        // Rows of one curve usually come together: compare with the previous row's curve before
        // paying for a hash-map key.
        let slot = match self.last {
            Some(i) if curves[i].cell_line == cell_line && curves[i].drug == drug => i,
            _ => *self
                .index
                .entry((cell_line.to_string(), drug.to_string()))
                .or_insert_with(|| {
                    curves.push(CurveInput {
                        cell_line: cell_line.to_string(),
                        drug: drug.to_string(),
                        points: Vec::new(),
                    });
                    curves.len() - 1
                }),
        };
        self.last = Some(slot);
        curves[slot].points.push(DosePoint {
            concentration,
            response,
        });
    }

    /// The curves, or `None` when no row was pushed.
    fn finish(self) -> Option<Vec<CurveInput>> {
        (!self.curves.is_empty()).then_some(self.curves)
    }
}

/// The fit input from columns held in memory (a pandas DataFrame's, in the Python package):
/// curves grouped exactly as [`parse_fit_input`] groups the rows of a file, so the same rows
/// give the same fits. Names are trimmed; an empty name is a problem located at `source`, line
/// `row + 2` (the line the row has in the table written as CSV with a header); NaN values are
/// kept and reported per curve by the fit, as empty cells of a file are.
///
/// ```
/// use std::path::Path;
/// use collateral::fit::table::curves_from_columns;
/// let curves = curves_from_columns(Path::new("<DataFrame>"), &["A", "A", "B"], &["d", "d", "d"],
///                                  &[1.0, 10.0, 1.0], &[0.9, 0.2, 1.0]).unwrap();
/// assert_eq!((curves.len(), curves[0].points.len()), (2, 2));
/// let e = curves_from_columns(Path::new("<DataFrame>"), &["A", " "], &["d", "d"],
///                             &[1.0, 2.0], &[0.5, 0.4]).unwrap_err();
/// assert_eq!(e.to_string(), "<DataFrame>:3: empty `cell_line`");
/// ```
pub fn curves_from_columns<S: AsRef<str>>(
    source: &Path,
    cell_line: &[S],
    drug: &[S],
    concentration: &[f64],
    response: &[f64],
) -> crate::Result<Vec<CurveInput>> {
    let here = |line: u64| Location::file(source).at_line(line);
    let n = cell_line.len();
    if [drug.len(), concentration.len(), response.len()] != [n; 3] {
        return Err(Error::input(
            here(1),
            format!(
                "columns of different lengths: cell_line {n}, drug {}, concentration {}, response {}",
                drug.len(),
                concentration.len(),
                response.len()
            ),
        ));
    }
    let mut problems = Vec::new();
    let mut curves = CurveGrouper::default();
    for i in 0..n {
        let (c, d) = (cell_line[i].as_ref().trim(), drug[i].as_ref().trim());
        let mut row_ok = true;
        for (name, value) in [("cell_line", c), ("drug", d)] {
            if value.is_empty() {
                problems.push(Problem {
                    location: here(i as u64 + 2),
                    message: format!("empty `{name}`"),
                });
                row_ok = false;
            }
        }
        if row_ok {
            curves.push(c, d, concentration[i], response[i]);
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    curves
        .finish()
        .ok_or_else(|| Error::input(here(1), "no data rows"))
}

/// Writes `fits.csv` rows (header first, columns in [`FITS_COLUMNS`] order) to any writer.
pub(crate) fn write_fits_to<W: Write>(writer: W, fits: &[CurveFit]) -> std::io::Result<()> {
    use rayon::prelude::*;
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(FITS_COLUMNS)?;
    w.flush()?;
    let mut out = w.into_inner().map_err(|e| e.into_error())?;
    // Rows are formatted on every core, a block of fits per task, and written in order: the
    // bytes of one writer (100,000 fits in a large screen).
    // A window of blocks at a time, so the text in memory stays a few megabytes.
    const BLOCK: usize = 2048;
    let window = BLOCK * 2 * rayon::current_num_threads().max(1);
    for group in fits.chunks(window) {
        let blocks: Vec<std::io::Result<Vec<u8>>> = group
            .par_chunks(BLOCK)
            .map(|block| {
                let mut w = csv::Writer::from_writer(Vec::with_capacity(block.len() * 400));
                let mut buffer = String::new();
                for fit in block {
                    fit.write_fields(&mut w, &mut buffer)?;
                }
                w.into_inner().map_err(|e| e.into_error())
            })
            .collect();
        for block in blocks {
            out.write_all(&block?)?;
        }
    }
    out.flush()
}

/// Writes `fits.csv` to `path`.
pub fn write_fits(path: &Path, fits: &[CurveFit]) -> crate::Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, "creating", e))?;
    write_fits_to(BufWriter::new(file), fits).map_err(|e| Error::io(path, "writing", e))
}

/// Counts of a fitted batch, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FitSummary {
    /// Curves fitted.
    pub curves: usize,
    /// Status `ok`.
    pub ok: usize,
    /// Status `flat`.
    pub flat: usize,
    /// Status `insufficient_data`.
    pub insufficient_data: usize,
    /// Status `failed`.
    pub failed: usize,
}

impl FitSummary {
    /// Counts the statuses of `fits`.
    pub fn of(fits: &[CurveFit]) -> Self {
        let mut s = FitSummary {
            curves: fits.len(),
            ..Default::default()
        };
        for f in fits {
            match f.status {
                FitStatus::Ok => s.ok += 1,
                FitStatus::Flat => s.flat += 1,
                FitStatus::InsufficientData => s.insufficient_data += 1,
                FitStatus::Failed => s.failed += 1,
            }
        }
        s
    }
}

impl std::fmt::Display for FitSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} curves: {} ok, {} flat, {} insufficient_data, {} failed",
            self.curves, self.ok, self.flat, self.insufficient_data, self.failed
        )
    }
}

/// `collateral fit`: reads `input`, fits every curve on the current rayon pool, writes `output`.
/// `progress` is told of reading (curves read) and fitting (each curve fitted); pass
/// `&progress::Silent` for nothing. The output file is the same byte for byte either way.
pub fn fit_file(
    input: &Path,
    output: &Path,
    config: &FitConfig,
    progress: &dyn Progress,
) -> crate::Result<FitSummary> {
    progress.begin(Stage::Read, "curves", None);
    let curves = read_fit_input(input)?;
    progress.end(curves.len() as u64);
    progress.begin(Stage::Fit, "curves", Some(curves.len() as u64));
    let fits = fit_curves(&curves, config, progress);
    progress.end(fits.len() as u64);
    write_fits(output, &fits)?;
    Ok(FitSummary::of(&fits))
}
