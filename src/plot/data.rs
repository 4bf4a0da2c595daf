//! The outputs of a run, read back from its folder: everything the figures and the report show
//! comes from these files, so `collateral plot` redraws exactly what `collateral run` drew.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// One `fits.csv` row, the columns the figures use.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRow {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// Points used in the fit.
    pub n_points: usize,
    /// Fitted upper plateau (NaN when absent).
    pub top: f64,
    /// Fitted lower plateau.
    pub bottom: f64,
    /// Relative IC50 (inflection point).
    pub ec50: f64,
    /// Hill slope.
    pub hill: f64,
    /// Absolute IC50 or the tested-range edge when censored.
    pub ic50: f64,
    /// `=`, `>`, `<` or empty.
    pub ic50_qualifier: String,
    /// Confidence interval of ic50.
    pub ic50_ci: (f64, f64),
    /// R² of the fit.
    pub r2: f64,
    /// `ok`, `flat`, `insufficient_data` or `failed`.
    pub status: String,
    /// Why, and notes.
    pub message: String,
    /// The row's text cells, by column name, for the report's fit table.
    pub cells: BTreeMap<String, String>,
}

impl FitRow {
    /// The fitted curve, when the row has all four parameters.
    pub fn curve(&self) -> Option<crate::fit::Curve> {
        let all = [self.top, self.bottom, self.ec50, self.hill];
        (all.iter().all(|x| x.is_finite()) && self.ec50 > 0.0).then(|| crate::fit::Curve {
            top: self.top,
            bottom: self.bottom,
            log10_ec50: self.ec50.log10(),
            hill: self.hill,
        })
    }
}

/// One `shifts.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftRow {
    /// Resistant line.
    pub resistant_line: String,
    /// Its parental line.
    pub parental_line: String,
    /// Drug tested.
    pub drug: String,
    /// Drug the line was selected with (may be empty).
    pub selected_with: String,
    /// `ic50`, `ec50` or `auc`.
    pub metric: String,
    /// log2(resistant / parental).
    pub log2_fc: f64,
    /// `=`, `>`, `<` or empty.
    pub log2_fc_qualifier: String,
    /// Benjamini–Hochberg q value.
    pub q_value: f64,
    /// `collateral_sensitive`, `cross_resistant`, `neutral` or `undetermined`.
    pub call: String,
    /// Replicate (empty for pooled rows).
    pub replicate: String,
}

impl ShiftRow {
    /// The row's label in the matrix: the line, or `LINE rep R` for a replicate's row (as in
    /// `matrix.csv`).
    pub fn row_label(&self) -> String {
        if self.replicate.is_empty() {
            self.resistant_line.clone()
        } else {
            format!("{} rep {}", self.resistant_line, self.replicate)
        }
    }
}

/// One `wells.csv` row, the columns the figures use.
#[derive(Debug, Clone, PartialEq)]
pub struct WellRow {
    /// Plate id.
    pub plate: String,
    /// Well name such as `B3`.
    pub well: String,
    /// Cell line.
    pub cell_line: String,
    /// Drug (empty for controls).
    pub drug: String,
    /// Concentration (NaN for controls).
    pub concentration: f64,
    /// `sample`, `vehicle`, `blank` or `empty`.
    pub role: String,
    /// Signal (NaN when not a number).
    pub signal: f64,
    /// Normalized viability (NaN when undefined).
    pub viability: f64,
    /// Whether the well was left out downstream.
    pub excluded: bool,
    /// Why.
    pub exclusion_reason: String,
}

/// One `qc.csv` row, the columns the figures use plus every cell as text for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct QcRow {
    /// Plate id.
    pub plate: String,
    /// Cell line (empty for the pooled row of a plate).
    pub cell_line: String,
    /// Replicate.
    pub replicate: String,
    /// Wells on the plate.
    pub plate_size: usize,
    /// Z′ factor.
    pub z_prime: f64,
    /// `pass`, `warn` or `fail`.
    pub verdict: String,
    /// Rules hit.
    pub reason: String,
    /// The row's text cells, by column name.
    pub cells: BTreeMap<String, String>,
}

/// One `cycles.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleRow {
    /// Rank (1 = strongest).
    pub rank: String,
    /// Drugs in the cycle.
    pub length: String,
    /// The cycle as written, e.g. `A -> B -> A`.
    pub cycle: String,
    /// Sum of log2 fold changes along it.
    pub sum_log2_fc: String,
    /// Largest q value along it.
    pub max_q_value: String,
}

/// One edge of `network.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    /// Selecting drug.
    pub source: String,
    /// Drug tested.
    pub target: String,
    /// Aggregated call (`collateral_sensitive`, `cross_resistant`, `neutral`, `mixed`, …).
    pub call: String,
    /// Median log2 fold change over the lines.
    pub log2_fc: f64,
}

/// Everything a finished run wrote that the figures and the report use.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The output folder read.
    pub dir: PathBuf,
    /// `run.json`.
    pub run: serde_json::Value,
    /// `fits.csv` column names in file order.
    pub fit_columns: Vec<String>,
    /// `fits.csv`.
    pub fits: Vec<FitRow>,
    /// Whether the run compared lines (it wrote `shifts.csv`, even if empty).
    pub compared: bool,
    /// `shifts.csv` (empty without a lines table).
    pub shifts: Vec<ShiftRow>,
    /// `wells.csv`.
    pub wells: Vec<WellRow>,
    /// `qc.csv` column names in file order.
    pub qc_columns: Vec<String>,
    /// `qc.csv`.
    pub qc: Vec<QcRow>,
    /// `cycles.csv` (empty without a lines table).
    pub cycles: Vec<CycleRow>,
    /// `network.json` edges (empty without a lines table).
    pub edges: Vec<EdgeRow>,
}

impl RunData {
    /// Reads the outputs of `collateral run` from `dir`. `shifts.csv`, `cycles.csv` and
    /// `network.json` are optional (a run without a lines table has none).
    pub fn read(dir: &Path) -> Result<RunData> {
        let run_path = dir.join("run.json");
        let text =
            std::fs::read_to_string(&run_path).map_err(|e| Error::io(&run_path, "reading", e))?;
        let run: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(Location::file(&run_path), format!("not valid JSON: {e}")))?;
        let fits_table = Csv::read(&dir.join("fits.csv"))?;
        let fits = fits_table
            .rows()
            .map(|r| FitRow {
                cell_line: r.text("cell_line"),
                drug: r.text("drug"),
                n_points: r.number("n_points") as usize,
                top: r.number("top"),
                bottom: r.number("bottom"),
                ec50: r.number("ec50"),
                hill: r.number("hill"),
                ic50: r.number("ic50"),
                ic50_qualifier: r.text("ic50_qualifier"),
                ic50_ci: (r.number("ic50_ci_low"), r.number("ic50_ci_high")),
                r2: r.number("r2"),
                status: r.text("status"),
                message: r.text("message"),
                cells: r.all(),
            })
            .collect();
        let compared = dir.join("shifts.csv").exists();
        let shifts = match Csv::read_optional(&dir.join("shifts.csv"))? {
            None => Vec::new(),
            Some(t) => t
                .rows()
                .map(|r| ShiftRow {
                    resistant_line: r.text("resistant_line"),
                    parental_line: r.text("parental_line"),
                    drug: r.text("drug"),
                    selected_with: r.text("selected_with"),
                    metric: r.text("metric"),
                    log2_fc: r.number("log2_fc"),
                    log2_fc_qualifier: r.text("log2_fc_qualifier"),
                    q_value: r.number("q_value"),
                    call: r.text("call"),
                    replicate: r.text("replicate"),
                })
                .collect(),
        };
        let wells = Csv::read(&dir.join("wells.csv"))?
            .rows()
            .map(|r| WellRow {
                plate: r.text("plate"),
                well: r.text("well"),
                cell_line: r.text("cell_line"),
                drug: r.text("drug"),
                concentration: r.number("concentration"),
                role: r.text("role"),
                signal: r.number("signal"),
                viability: r.number("viability"),
                excluded: r.text("excluded") == "true",
                exclusion_reason: r.text("exclusion_reason"),
            })
            .collect();
        let qc_table = Csv::read(&dir.join("qc.csv"))?;
        let qc = qc_table
            .rows()
            .map(|r| QcRow {
                plate: r.text("plate"),
                cell_line: r.text("cell_line"),
                replicate: r.text("replicate"),
                plate_size: r.number("plate_size") as usize,
                z_prime: r.number("z_prime"),
                verdict: r.text("verdict"),
                reason: r.text("reason"),
                cells: r.all(),
            })
            .collect();
        let cycles = match Csv::read_optional(&dir.join("cycles.csv"))? {
            None => Vec::new(),
            Some(t) => t
                .rows()
                .map(|r| CycleRow {
                    rank: r.text("rank"),
                    length: r.text("length"),
                    cycle: r.text("cycle"),
                    sum_log2_fc: r.text("sum_log2_fc"),
                    max_q_value: r.text("max_q_value"),
                })
                .collect(),
        };
        let network_path = dir.join("network.json");
        let edges = if network_path.exists() {
            let text = std::fs::read_to_string(&network_path)
                .map_err(|e| Error::io(&network_path, "reading", e))?;
            let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                Error::input(
                    Location::file(&network_path),
                    format!("not valid JSON: {e}"),
                )
            })?;
            json["edges"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| EdgeRow {
                            source: e["source"].as_str().unwrap_or_default().to_string(),
                            target: e["target"].as_str().unwrap_or_default().to_string(),
                            call: e["call"].as_str().unwrap_or_default().to_string(),
                            log2_fc: e["log2_fc"].as_f64().unwrap_or(f64::NAN),
                        })
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(RunData {
            dir: dir.to_path_buf(),
            run,
            fit_columns: fits_table.header.clone(),
            fits,
            compared,
            shifts,
            wells,
            qc_columns: qc_table.header.clone(),
            qc,
            cycles,
            edges,
        })
    }

    /// The concentration unit from `run.json` (empty when absent).
    pub fn unit(&self) -> String {
        self.run["assay"]["concentration_unit"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The significance level of the calls from `run.json` (0.05 when absent).
    pub fn alpha(&self) -> f64 {
        self.run["settings"]["shift"]["alpha"]
            .as_f64()
            .unwrap_or(0.05)
    }

    /// The pooled shift rows (one per resistant line and drug; replicate rows left out).
    pub fn pooled_shifts(&self) -> impl Iterator<Item = &ShiftRow> {
        self.shifts.iter().filter(|s| s.replicate.is_empty())
    }

    /// Drugs in first-seen order of `fits.csv` (sorted, as fits are written sorted).
    pub fn drugs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.fits {
            if !out.contains(&f.drug) {
                out.push(f.drug.clone());
            }
        }
        out
    }

    /// Resistant lines and their parental line, in `shifts.csv` order (lines reported per
    /// replicate included).
    pub fn resistant_lines(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for s in &self.shifts {
            if !out.iter().any(|(r, _)| r == &s.resistant_line) {
                out.push((s.resistant_line.clone(), s.parental_line.clone()));
            }
        }
        out
    }

    /// The fit of a (cell line, drug), if any.
    pub fn fit(&self, cell_line: &str, drug: &str) -> Option<&FitRow> {
        self.fits
            .iter()
            .find(|f| f.cell_line == cell_line && f.drug == drug)
    }
}

/// A CSV file read whole, with its header.
struct Csv {
    header: Vec<String>,
    records: Vec<csv::StringRecord>,
}

impl Csv {
    fn read(path: &Path) -> Result<Csv> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
        let header = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        let records = reader
            .records()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| csv_error(path, e))?;
        Ok(Csv { header, records })
    }

    fn read_optional(path: &Path) -> Result<Option<Csv>> {
        if path.exists() {
            Csv::read(path).map(Some)
        } else {
            Ok(None)
        }
    }

    fn rows(&self) -> impl Iterator<Item = CsvRow<'_>> {
        self.records.iter().map(move |r| CsvRow {
            csv: self,
            record: r,
        })
    }
}

struct CsvRow<'a> {
    csv: &'a Csv,
    record: &'a csv::StringRecord,
}

impl CsvRow<'_> {
    fn text(&self, column: &str) -> String {
        self.csv
            .header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
            .unwrap_or_default()
            .to_string()
    }

    /// A number cell; empty or missing cells are NaN (absent values are empty by contract).
    fn number(&self, column: &str) -> f64 {
        self.text(column).trim().parse().unwrap_or(f64::NAN)
    }

    fn all(&self) -> BTreeMap<String, String> {
        self.csv
            .header
            .iter()
            .cloned()
            .zip(self.record.iter().map(str::to_string))
            .collect()
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let mut loc = Location::file(path);
    if let Some(l) = line {
        loc = loc.at_line(l);
    }
    Error::input(loc, format!("cannot read the run's table: {e}"))
}

/// Reads a CSV into rows of column → text (for tables shown as written).
pub fn read_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    Ok(Csv::read(path)?.rows().map(|r| r.all()).collect())
}
