//! `results.xlsx`: a run's tables as one Excel workbook for the bench, built from the files of
//! an output folder (as the figures are), so `collateral run --xlsx` and `collateral plot
//! --xlsx` give the same workbook.
//!
//! Sheets: Summary, QC, Fits, Shifts, Matrix, Calls, Cycles, (when the run has them)
//! Likelihood, Trajectories, Stability, Plan, MICs and DIP rates, then Warnings (a table longer
//! than a sheet's 1,048,575 rows is left to its CSV, with a warning). Every table sheet has a
//! bold frozen header row, a filter and column widths that fit. A number is written as the
//! number its CSV cell holds (the CSVs are shortest round-trip, so the values are the same
//! bits); identity columns (plate, well, lines, drugs, replicates) stay text even when they
//! look like numbers. Matrix cells are coloured as the heatmap (blue for a fall in IC50, red for
//! a rise, white at 0, saturating at the largest |log2_fc| of the matrix) and show their call
//! (`CS`, `CR`) beside the number, which stays a number. The workbook's creation time is the
//! run's start time, so the same folder always gives the same bytes.

use std::path::Path;

use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError,
};

use crate::error::{Error, Location, Problem, Result};
use crate::outdir::Staging;
// Columns that name things: written as text even when every value looks like a number.
use crate::network::Matrix;
use crate::output::read::OutputTable;
use crate::output::run_json::{RunJson, RUN_JSON};
use crate::output::tables::{read_matrix, MATRIX_LINE_COLUMN};
use crate::output::IDENTITY_COLUMNS as TEXT_COLUMNS;
use crate::shift::Call;

/// The workbook's file name in the output folder.
pub(crate) const WORKBOOK_NAME: &str = "results.xlsx";

/// Widest a column is made, in characters: long messages wrap in the cell instead.
const MAX_WIDTH: usize = 60;

/// Builds `results.xlsx` from the output folder `dir` of `collateral run` (or `merge`).
pub fn workbook_from_folder(dir: &Path) -> Result<Vec<u8>> {
    workbook_with_row_limit(dir, MAX_SHEET_ROWS)
}

/// [`workbook_from_folder`], tables of more than `max_rows` rows left to their CSVs.
fn workbook_with_row_limit(dir: &Path, max_rows: usize) -> Result<Vec<u8>> {
    let run = RunJson::read(&dir.join(RUN_JSON))?;
    let fail = |e: XlsxError| {
        Error::input(
            Location::file(dir.join(WORKBOOK_NAME)),
            format!("the workbook could not be built: {e}"),
        )
    };
    let mut book = Workbook::new();
    let mut props = DocProperties::new().set_title("collateral results");
    if let Some(started) = run.started.as_deref() {
        // Seconds are enough, and a fixed time keeps the bytes the same for the same folder.
        if let Ok(t) = ExcelDateTime::parse_from_str(started.get(..19).unwrap_or(started)) {
            props = props.set_creation_datetime(&t);
        }
    } else if let Ok(t) = ExcelDateTime::from_ymd(2000, 1, 1) {
        props = props.set_creation_datetime(&t);
    }
    book.set_properties(&props);

    summary_sheet(book.add_worksheet(), &run).map_err(fail)?;
    // A table too long for a sheet is left to its CSV and named on the Warnings sheet.
    let mut left_out = Vec::new();
    let mut fits_a_sheet = |file: &str, table: Option<Csv>| match table {
        Some(t) if t.rows.len() > max_rows => {
            left_out.push(format!(
                "{file} has {} rows, more than a sheet holds ({max_rows}): it has no sheet here; open the CSV",
                t.rows.len()
            ));
            None
        }
        other => other,
    };
    for (sheet, file) in [
        ("QC", "qc.csv"),
        ("Fits", "fits.csv"),
        ("Shifts", "shifts.csv"),
    ] {
        if let Some(table) = fits_a_sheet(file, read_csv(&dir.join(file))?) {
            table_sheet(book.add_worksheet(), sheet, &table).map_err(fail)?;
        }
    }
    // The matrix and its calls read through their types: a malformed cell is an error.
    let matrix = fits_a_sheet("matrix.csv", read_csv(&dir.join("matrix.csv"))?)
        .map(|_| read_matrix::<f64>(&dir.join("matrix.csv")))
        .transpose()?;
    let calls = fits_a_sheet("calls.csv", read_csv(&dir.join("calls.csv"))?);
    if let Some(m) = &matrix {
        let typed_calls = calls
            .as_ref()
            .map(|_| read_matrix::<Call>(&dir.join("calls.csv")))
            .transpose()?;
        matrix_sheet(book.add_worksheet(), m, typed_calls.as_ref()).map_err(fail)?;
    }
    if let Some(c) = &calls {
        table_sheet(book.add_worksheet(), "Calls", c).map_err(fail)?;
    }
    if let Some(c) = fits_a_sheet("cycles.csv", read_csv(&dir.join("cycles.csv"))?) {
        table_sheet(book.add_worksheet(), "Cycles", &c).map_err(fail)?;
    }
    // The tables of newer analyses, when the run has them.
    for (sheet, file) in [
        ("Likelihood", "likelihood.csv"),
        ("Trajectories", "trajectories.csv"),
        ("Stability", "stability.csv"),
        ("Plan", "plan.csv"),
        ("MICs", "mics.csv"),
        ("DIP rates", "dip_rates.csv"),
    ] {
        if let Some(t) = fits_a_sheet(file, read_csv(&dir.join(file))?) {
            table_sheet(book.add_worksheet(), sheet, &t).map_err(fail)?;
        }
    }
    warnings_sheet(book.add_worksheet(), &run, &left_out).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

/// What writing `results.xlsx` into a folder did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The workbook's path.
    pub path: std::path::PathBuf,
    /// What taking the output folder found (a stale lock or staging folder removed).
    pub warnings: Vec<Problem>,
}

/// Writes `results.xlsx` into the output folder `dir` of a run (`collateral plot --xlsx`),
/// under the folder's lock, and adds it to the folder's manifest.
pub(crate) fn write_into_folder(dir: &Path) -> Result<Written> {
    let staging = Staging::new(dir)?;
    let bytes = workbook_from_folder(dir)?;
    staging.write(WORKBOOK_NAME, |w| std::io::Write::write_all(w, &bytes))?;
    staging.add_to_manifest()?;
    let warnings = staging.take_warnings();
    staging.commit()?;
    Ok(Written {
        path: dir.join(WORKBOOK_NAME),
        warnings,
    })
}

/// A CSV as header and rows of text; `None` when the file does not exist (a run without a
/// lines table has no shifts).
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_csv(path: &Path) -> Result<Option<Csv>> {
    let Some(table) = OutputTable::read_optional(path)? else {
        return Ok(None);
    };
    let header = table.header.to_vec();
    let rows = table.rows(|row| Ok(row.parts().1.iter().map(str::to_string).collect()))?;
    Ok(Some(Csv { header, rows }))
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xE8E8E8))
        .set_border_bottom(FormatBorder::Thin)
}

/// Which columns hold numbers: every non-empty cell parses and the column is not a name.
fn numeric_columns(table: &Csv) -> Vec<bool> {
    (0..table.header.len())
        .map(|c| {
            !TEXT_COLUMNS.contains(&table.header[c].as_str())
                && table
                    .rows
                    .iter()
                    .any(|r| r.get(c).is_some_and(|v| !v.is_empty()))
                && table.rows.iter().all(|r| {
                    r.get(c)
                        .is_none_or(|v| v.is_empty() || v.parse::<f64>().is_ok_and(f64::is_finite))
                })
        })
        .collect()
}

/// Width in characters of each column: its longest cell (numbers as Excel's General shows them,
/// at most 11 characters), capped.
fn widths(table: &Csv, numeric: &[bool]) -> Vec<usize> {
    (0..table.header.len())
        .map(|c| {
            let cells = table.rows.iter().filter_map(|r| r.get(c)).map(|v| {
                if numeric[c] {
                    v.chars().count().min(11)
                } else {
                    v.chars().count()
                }
            });
            cells
                .chain(std::iter::once(table.header[c].chars().count() + 2))
                .max()
                .unwrap_or(8)
                .clamp(6, MAX_WIDTH)
        })
        .collect()
}

fn table_sheet(ws: &mut Worksheet, name: &str, table: &Csv) -> std::result::Result<(), XlsxError> {
    ws.set_name(name)?;
    let head = header_format();
    let wrap = Format::new().set_text_wrap();
    let scientific = Format::new().set_num_format("0.00E+00");
    let numeric = numeric_columns(table);
    for (c, h) in table.header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &head)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in row.iter().enumerate() {
            let col = c as u16;
            if v.is_empty() {
                continue;
            }
            if numeric.get(c).copied().unwrap_or(false) {
                let x: f64 = v.parse().expect("checked numeric");
                let h = table.header[c].as_str();
                if h.ends_with("p_value") || h.ends_with("_p") || h == "q_value" {
                    ws.write_number_with_format(r, col, x, &scientific)?;
                } else {
                    ws.write_number(r, col, x)?;
                }
            } else if v.chars().count() > MAX_WIDTH {
                ws.write_string_with_format(r, col, v, &wrap)?;
            } else {
                ws.write_string(r, col, v)?;
            }
        }
    }
    for (c, w) in widths(table, &numeric).into_iter().enumerate() {
        ws.set_column_width(c as u16, w as f64 + 1.0)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !table.rows.is_empty() {
        ws.autofilter(0, 0, table.rows.len() as u32, table.header.len() as u16 - 1)?;
    }
    Ok(())
}

/// The heatmap's diverging colour for `v` on a scale saturating at `scale`: blue below 0, red
/// above, white at 0.
fn diverging(v: f64, scale: f64) -> u32 {
    let t = (v.abs() / scale).min(1.0);
    let (r, g, b) = if v < 0.0 {
        (1.0 - 0.75 * t, 1.0 - 0.55 * t, 1.0)
    } else {
        (1.0, 1.0 - 0.75 * t, 1.0 - 0.75 * t)
    };
    let byte = |x: f64| (x * 255.0).round().clamp(0.0, 255.0) as u32;
    (byte(r) << 16) | (byte(g) << 8) | byte(b)
}

fn matrix_sheet(
    ws: &mut Worksheet,
    matrix: &Matrix<f64>,
    calls: Option<&Matrix<Call>>,
) -> std::result::Result<(), XlsxError> {
    ws.set_name("Matrix")?;
    let head = header_format();
    ws.write_string_with_format(0, 0, MATRIX_LINE_COLUMN, &head)?;
    for (c, drug) in matrix.drugs.iter().enumerate() {
        ws.write_string_with_format(0, c as u16 + 1, drug, &head)?;
    }
    let values: Vec<f64> = matrix
        .rows
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    // The call of a cell: the same line and drug of `calls.csv`.
    let call_of = |line: &str, drug: &str| -> Option<Call> {
        let calls = calls?;
        let at = calls.drugs.iter().position(|d| d == drug)?;
        let (_, row) = calls.rows.iter().find(|(l, _)| l == line)?;
        row.get(at).copied().flatten()
    };
    for (r, (line, row)) in matrix.rows.iter().enumerate() {
        let rr = r as u32 + 1;
        ws.write_string_with_format(rr, 0, line, &Format::new().set_bold())?;
        for (k, value) in row.iter().enumerate() {
            let Some(x) = *value else {
                continue;
            };
            let (suffix, bold) = match call_of(line, &matrix.drugs[k]) {
                Some(Call::CollateralSensitive) => (" \"CS\"", true),
                Some(Call::CrossResistant) => (" \"CR\"", true),
                _ => ("", false),
            };
            let mut f = Format::new()
                .set_background_color(Color::RGB(diverging(x, scale)))
                .set_num_format(format!("0.00{suffix}"));
            if bold {
                f = f.set_bold().set_border(FormatBorder::Thin);
            }
            ws.write_number_with_format(rr, k as u16 + 1, x, &f)?;
        }
    }
    let first = matrix
        .rows
        .iter()
        .map(|(line, _)| line.chars().count())
        .max()
        .unwrap_or(0)
        .max(MATRIX_LINE_COLUMN.chars().count());
    ws.set_column_width(0, (first + 2).clamp(6, MAX_WIDTH) as f64)?;
    for (c, h) in matrix.drugs.iter().enumerate() {
        ws.set_column_width(
            c as u16 + 1,
            (h.chars().count() + 2).clamp(10, MAX_WIDTH) as f64,
        )?;
    }
    ws.set_freeze_panes(1, 1)?;
    let note_row = matrix.rows.len() as u32 + 2;
    ws.write_string(
        note_row,
        0,
        "log2 fold change of the compared metric (resistant / parental); blue: fell \
         (collateral sensitivity), red: rose (cross-resistance); bold, boxed and marked CS/CR: called \
         (see Shifts for q-values and reasons)",
    )?;
    Ok(())
}

/// The Summary sheet: the assay, the tool, when it ran, every count of `run.json` (nested
/// counts as `group: count`) and the shift settings.
fn summary_sheet(ws: &mut Worksheet, run: &RunJson) -> std::result::Result<(), XlsxError> {
    ws.set_name("Summary")?;
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let name = &run.assay.name;
    ws.write_string_with_format(0, 0, format!("collateral results: {name}"), &title)?;
    let mut row = 2u32;
    let mut put = |ws: &mut Worksheet, key: &str, value: &serde_json::Value| {
        let r = row;
        row += 1;
        ws.write_string_with_format(r, 0, key, &bold)?;
        match value {
            serde_json::Value::Number(n) => ws.write_number(r, 1, n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => ws.write_string(r, 1, s),
            serde_json::Value::Null => Ok(&mut *ws),
            other => ws.write_string(r, 1, other.to_string()),
        }
        .map(|_| ())
    };
    let text = |t: &str| serde_json::Value::String(t.to_string());
    put(ws, "assay", &text(&run.assay.path))?;
    put(
        ws,
        "concentration unit",
        &text(&run.assay.concentration_unit),
    )?;
    put(ws, "tool version", &text(&run.version))?;
    put(
        ws,
        "started",
        &run.started.as_deref().map_or(serde_json::Value::Null, text),
    )?;
    // The counts in key order, as the record lists them.
    if let Ok(serde_json::Value::Object(counts)) = serde_json::to_value(&run.counts) {
        for (k, v) in &counts {
            match v {
                serde_json::Value::Object(inner) => {
                    for (k2, v2) in inner {
                        put(ws, &format!("{k}: {k2}"), v2)?;
                    }
                }
                _ => put(ws, k, v)?,
            }
        }
    }
    for (k, v) in run.settings.shift_entries() {
        put(ws, &format!("shift.{k}"), &v)?;
    }
    ws.set_column_width(0, 34)?;
    ws.set_column_width(1, 40)?;
    Ok(())
}

/// Rows of data a sheet holds below its header (Excel's limit is 1,048,576 rows).
const MAX_SHEET_ROWS: usize = 1_048_575;

/// The run's warnings, then the workbook's own (`notes`: tables left to their CSVs).
fn warnings_sheet(
    ws: &mut Worksheet,
    run: &RunJson,
    notes: &[String],
) -> std::result::Result<(), XlsxError> {
    ws.set_name("Warnings")?;
    ws.write_string_with_format(0, 0, "warning", &header_format())?;
    let wrap = Format::new().set_text_wrap();
    let texts = run.warnings.iter().chain(notes).map(String::as_str);
    for (i, w) in texts.enumerate() {
        ws.write_string_with_format(i as u32 + 1, 0, w, &wrap)?;
    }
    ws.set_column_width(0, 120)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diverging_colours_are_white_at_zero_and_saturate() {
        assert_eq!(diverging(0.0, 2.0), 0xFFFFFF);
        assert_eq!(diverging(-5.0, 2.0), diverging(-2.0, 2.0));
        assert_eq!(diverging(-2.0, 2.0) & 0xFF, 0xFF, "full blue channel");
        assert_eq!(diverging(2.0, 2.0) >> 16, 0xFF, "full red channel");
    }

    #[test]
    fn name_columns_stay_text_and_number_columns_are_numbers() {
        let t = Csv {
            header: vec!["plate".into(), "z_prime".into(), "note".into()],
            rows: vec![
                vec!["1".into(), "0.5".into(), "x".into()],
                vec!["2".into(), "".into(), "3".into()],
            ],
        };
        assert_eq!(numeric_columns(&t), vec![false, true, false]);
    }

    #[test]
    fn a_table_longer_than_a_sheet_is_left_to_its_csv_and_named() {
        use calamine::{open_workbook_auto_from_rs, Data, Reader};
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let record = RunJson {
            tool: crate::output::run_json::TOOL.into(),
            warnings: vec!["a run warning".into()],
            ..RunJson::default()
        };
        let mut text = Vec::new();
        record.write(&mut text).unwrap();
        std::fs::write(dir.path().join(RUN_JSON), text).unwrap();
        write("qc.csv", "plate,z_prime\nP1,0.5\n");
        write("fits.csv", "cell_line,drug,ic50\nA,d,1\nB,d,2\nC,d,3\n");
        let book = workbook_with_row_limit(dir.path(), 2).unwrap();
        let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(book)).unwrap();
        assert_eq!(wb.sheet_names(), ["Summary", "QC", "Warnings"]);
        let warnings = wb.worksheet_range("Warnings").unwrap();
        let text = |r: usize| match warnings.get((r, 0)) {
            Some(Data::String(s)) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(1), "a run warning");
        assert_eq!(
            text(2),
            "fits.csv has 3 rows, more than a sheet holds (2): it has no sheet here; open the CSV"
        );
        // At the limit itself the table has its sheet.
        let book = workbook_with_row_limit(dir.path(), 3).unwrap();
        let wb = open_workbook_auto_from_rs(std::io::Cursor::new(book)).unwrap();
        assert_eq!(wb.sheet_names(), ["Summary", "QC", "Fits", "Warnings"]);
    }
}
