//! The outputs of a run, read back from its folder: everything the figures and the report show
//! comes from these files, so `collateral plot` redraws exactly what `collateral run` drew.
//!
//! A thousand-plate screen has millions of wells and a hundred thousand curves, so the rows are
//! kept compact (names interned, wells as numbers) and looked up through indexes built once
//! here: a figure asks for "the fit of this line and drug" a hundred thousand times.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Location, Result};
use crate::output::run_json::{RunJson, RUN_JSON};
use crate::shift::Metric;
use crate::wells::Role;

/// Interned names (cell lines, drugs or plates): each distinct text once, numbered in the order
/// first seen, so rows can hold a number and lookups compare numbers, not strings.
#[derive(Debug, Clone, Default)]
pub struct Names {
    list: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Names {
    /// The number of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The number of `name`, when it was seen.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name numbered `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.list[id as usize]
    }

    /// Every name, in first-seen order.
    pub fn all(&self) -> &[String] {
        &self.list
    }
}

/// A row's text cells exactly as written, by column name: the report's tables show these, so
/// the page holds the CSV's text, not a reformatted number. One record per row (not a map of
/// strings) keeps a hundred-thousand-row table small.
#[derive(Debug, Clone, PartialEq)]
pub struct Cells {
    header: Arc<Vec<String>>,
    record: csv::StringRecord,
}

impl Cells {
    /// The text of `column`, when the file has that column.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
    }

    /// The text of `column`, empty when the file has no such column.
    pub fn text(&self, column: &str) -> String {
        self.get(column).unwrap_or_default().to_string()
    }
}

/// What the dose–response panels draw: the response behind the potency the run's shifts
/// compare, so a run that compares GR50s shows GR values, not the viabilities it did not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Viability with the IC50 marked (metrics `ic50`, `auc`, `mic`, and runs without shifts).
    Viability,
    /// Viability with the EC50, the curve's midpoint, marked (metric `ec50`).
    ViabilityEc50,
    /// GR values with the fitted GR curve and the GR50 marked (metrics `gr50`, `gr_aoc`).
    Gr,
    /// DIP rates with the fitted DIP-rate curve and its EC50 marked (metrics `dip_ec50`,
    /// `dip_emax`).
    Dip,
    /// Viability with the maximum-likelihood MIC of `shifts.csv` marked at the MIC threshold
    /// (metric `mic`).
    Mic,
}

impl Response {
    /// The response for the run's shift metric (`settings.shift.metric` of `run.json`).
    pub fn for_metric(metric: Option<Metric>) -> Response {
        match metric {
            Some(Metric::Ec50) => Response::ViabilityEc50,
            Some(Metric::Gr50 | Metric::GrAoc) => Response::Gr,
            Some(Metric::DipEc50 | Metric::DipEmax) => Response::Dip,
            Some(Metric::Mic) => Response::Mic,
            Some(Metric::Ic50 | Metric::Auc) | None => Response::Viability,
        }
    }

    /// The marked potency's name: `IC50`, `EC50`, `GR50`, `DIP EC50` or `MIC`.
    pub fn potency_name(self) -> &'static str {
        match self {
            Response::Viability => "IC50",
            Response::ViabilityEc50 => "EC50",
            Response::Gr => "GR50",
            Response::Dip => "DIP EC50",
            Response::Mic => "MIC",
        }
    }

    /// The y axis: what a point is.
    pub fn axis_label(self) -> &'static str {
        match self {
            Response::Viability | Response::ViabilityEc50 | Response::Mic => "viability",
            Response::Gr => "GR value",
            Response::Dip => "DIP rate (doublings/h)",
        }
    }

    /// Where the mark sits, for legends and captions.
    pub fn mark_meaning(self) -> &'static str {
        match self {
            Response::Viability => "IC50 (viability 0.5; >/< when censored at the tested range)",
            Response::ViabilityEc50 => "EC50 (the compared metric, at the curve's midpoint)",
            Response::Gr => "GR50 (GR value 0.5; >/< when censored at the tested range)",
            Response::Dip => "DIP EC50 (the compared metric, at the curve's midpoint)",
            Response::Mic => {
                "MIC (the maximum-likelihood MIC of the line's replicate series that the lines were compared on, at the MIC threshold; >/< when censored)"
            }
        }
    }
}

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
    /// The fitted GR curve (top 1, bottom GRinf, midpoint GEC50), when the row has one.
    pub gr_curve: Option<crate::fit::Curve>,
    /// GR50 or the tested-range edge when censored (NaN when absent).
    pub gr50: f64,
    /// `=`, `>`, `<` or empty.
    pub gr50_qualifier: String,
    /// The GR fit's status (empty without growth columns).
    pub gr_status: String,
    /// The fitted DIP-rate curve (top E0, bottom Emax), when the row has one.
    pub dip_curve: Option<crate::fit::Curve>,
    /// EC50 of the DIP-rate curve (NaN when absent).
    pub dip_ec50: f64,
    /// The DIP fit's status (empty without growth columns).
    pub dip_status: String,
    /// The row's text cells, for the report's fit table.
    pub cells: Cells,
}

impl FitRow {
    /// The fitted curve, when the row has all four parameters.
    pub fn curve(&self) -> Option<crate::fit::Curve> {
        curve_of(self.top, self.bottom, self.ec50, self.hill)
    }
}

/// A sigmoid from its four parameters as written, when all are there.
fn curve_of(top: f64, bottom: f64, ec50: f64, hill: f64) -> Option<crate::fit::Curve> {
    let all = [top, bottom, ec50, hill];
    (all.iter().all(|x| x.is_finite()) && ec50 > 0.0).then(|| crate::fit::Curve {
        top,
        bottom,
        log10_ec50: ec50.log10(),
        hill,
    })
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
    /// The resistant line's compared value (for metric mic its maximum-likelihood MIC; NaN
    /// when absent) and its qualifier (`>`, `<` or empty).
    pub value_resistant: (f64, String),
    /// The parental line's, as [`ShiftRow::value_resistant`].
    pub value_parental: (f64, String),
    /// The row's text cells, for the report's shift table.
    pub cells: Cells,
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

/// One `wells.csv` row, the columns the figures use, as numbers: a screen has millions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WellRow {
    /// Plate, numbered in [`RunData::plates`].
    pub plate: u32,
    /// The well's 0-based (row, column), `None` when its name does not parse.
    pub position: Option<(u16, u16)>,
    /// Cell line, numbered in [`RunData::names`] (the empty name for empty wells).
    pub cell_line: u32,
    /// Drug, numbered in [`RunData::names`] (the empty name for controls).
    pub drug: u32,
    /// Concentration (NaN for controls).
    pub concentration: f64,
    /// `sample`, `vehicle`, `blank` or `empty`; `None` for a role the figures do not know.
    pub role: Option<Role>,
    /// Signal (NaN when not a number).
    pub signal: f64,
    /// Normalized viability (NaN when undefined).
    pub viability: f64,
    /// Whether the well was left out downstream.
    pub excluded: bool,
}

/// One used sample well of `dip_rates.csv`: its DIP rate at its concentration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DipPoint {
    /// Cell line, numbered in [`RunData::names`].
    pub cell_line: u32,
    /// Drug, numbered in [`RunData::names`].
    pub drug: u32,
    /// Concentration.
    pub concentration: f64,
    /// DIP rate, doublings per hour.
    pub dip_rate: f64,
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
    /// The row's text cells.
    pub cells: Cells,
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
    pub run: RunJson,
    /// `fits.csv` column names in file order.
    pub fit_columns: Vec<String>,
    /// `fits.csv`.
    pub fits: Vec<FitRow>,
    /// Whether the run compared lines (it wrote `shifts.csv`, even if empty).
    pub compared: bool,
    /// `shifts.csv` column names in file order (empty without a lines table).
    pub shift_columns: Vec<String>,
    /// `shifts.csv` (empty without a lines table).
    pub shifts: Vec<ShiftRow>,
    /// Cell line and drug names of the wells, by number.
    pub names: Names,
    /// Plate names, numbered in first-seen order of `wells.csv`.
    pub plates: Names,
    /// `wells.csv`.
    pub wells: Vec<WellRow>,
    /// What the dose–response panels draw, from the run's shift metric.
    pub response: Response,
    /// The `gr` column of `wells.csv`, one value per row of [`RunData::wells`] (NaN where
    /// empty); read only when the panels draw GR values, empty otherwise.
    pub gr: Vec<f64>,
    /// The used sample wells' DIP rates of `dip_rates.csv`; read only when the panels draw DIP
    /// rates, empty otherwise.
    pub dip_points: Vec<DipPoint>,
    /// `qc.csv` column names in file order.
    pub qc_columns: Vec<String>,
    /// `qc.csv`.
    pub qc: Vec<QcRow>,
    /// `cycles.csv` (empty without a lines table).
    pub cycles: Vec<CycleRow>,
    /// `network.json` edges (empty without a lines table).
    pub edges: Vec<EdgeRow>,
    /// `trajectories.csv` (empty without evolution times).
    pub trajectories: Vec<TrajectoryRow>,
    /// `likelihood.csv` (empty without a lines table).
    pub likelihood: Vec<LikelihoodRow>,
    /// `stability.csv` (empty without evolution times).
    pub stability: Vec<StabilityRow>,
    /// `likelihood.csv` rows as written, for the report's table.
    pub likelihood_cells: Vec<Cells>,
    /// Drugs in first-seen order of `fits.csv`.
    drug_list: Vec<String>,
    /// Resistant lines with their parental line, in first-seen order of `shifts.csv`.
    resistant: Vec<(String, String)>,
    /// First `fits.csv` row of each (cell line, drug).
    fit_index: HashMap<String, HashMap<String, usize>>,
    /// First pooled `shifts.csv` row of each (resistant line, drug).
    pooled_index: HashMap<String, HashMap<String, usize>>,
    /// Replicate `shifts.csv` rows of each (resistant line, drug), in file order.
    replicate_index: HashMap<String, HashMap<String, Vec<usize>>>,
}

/// One `trajectories.csv` row: a shift of a line at an evolution time.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryRow {
    /// Lineage.
    pub lineage: String,
    /// Its selecting drug.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// Evolution time.
    pub evolution_time: f64,
    /// log2 fold change (or its bound; NaN when undetermined).
    pub log2_fc: f64,
    /// `=`, `>`, `<` or empty.
    pub log2_fc_qualifier: String,
    /// 95 % CI of log2_fc (NaN when none).
    pub ci: (f64, f64),
    /// The call.
    pub call: String,
}

/// One `stability.csv` row, the columns the report uses.
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityRow {
    /// Lineage.
    pub lineage: String,
    /// Its selecting drug.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// Course of CS (`never`, `persistent`, `emerging`, `fading`, `intermittent`, or empty).
    pub course: String,
}

/// One `likelihood.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct LikelihoodRow {
    /// Selecting drug.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// Evolution time (NaN for lines without one).
    pub evolution_time: f64,
    /// Lineage samples.
    pub n_lineages: usize,
    /// Samples called CS, CR, neutral.
    pub n_cs: usize,
    /// Samples called CR.
    pub n_cr: usize,
    /// Samples called neutral.
    pub n_neutral: usize,
    /// CS likelihood and its interval.
    pub cs: (f64, f64, f64),
    /// CR likelihood and its interval.
    pub cr: (f64, f64, f64),
}

/// The part of `network.json` the figures use; other fields are ignored.
#[derive(Deserialize)]
struct NetworkFile {
    #[serde(default)]
    edges: Vec<NetworkEdge>,
}

#[derive(Deserialize)]
struct NetworkEdge {
    #[serde(default)]
    source: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    call: String,
    #[serde(default)]
    log2_fc: Option<f64>,
}

impl RunData {
    /// Reads the outputs of `collateral run` from `dir`. `shifts.csv`, `cycles.csv` and
    /// `network.json` are optional (a run without a lines table has none).
    pub fn read(dir: &Path) -> Result<RunData> {
        let run = RunJson::read(&dir.join(RUN_JSON))?;
        let fits_table = Csv::read(&dir.join("fits.csv"))?;
        let fit_columns = fits_table.header.to_vec();
        let fits: Vec<FitRow> = fits_table
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
                // GR curves are 1 at no drug: `fits.csv` has no GR top.
                gr_curve: curve_of(
                    1.0,
                    r.number("grinf"),
                    r.number("gec50"),
                    r.number("gr_hill"),
                ),
                gr50: r.number("gr50"),
                gr50_qualifier: r.text("gr50_qualifier"),
                gr_status: r.text("gr_status"),
                dip_curve: curve_of(
                    r.number("dip_e0"),
                    r.number("dip_emax"),
                    r.number("dip_ec50"),
                    r.number("dip_hill"),
                ),
                dip_ec50: r.number("dip_ec50"),
                dip_status: r.text("dip_status"),
                cells: r.cells(),
            })
            .collect();
        let response = Response::for_metric(run.settings.shift.as_ref().map(|s| s.metric));
        let compared = dir.join("shifts.csv").exists();
        let (shift_columns, shifts) = match Csv::read_optional(&dir.join("shifts.csv"))? {
            None => (Vec::new(), Vec::new()),
            Some(t) => (
                t.header.to_vec(),
                t.rows()
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
                        value_resistant: (
                            r.number("value_resistant"),
                            r.text("qualifier_resistant"),
                        ),
                        value_parental: (r.number("value_parental"), r.text("qualifier_parental")),
                        cells: r.cells(),
                    })
                    .collect(),
            ),
        };
        let (mut names, plates, wells, gr) =
            read_wells(&dir.join("wells.csv"), response == Response::Gr)?;
        let dip_points = if response == Response::Dip {
            read_dip_points(&dir.join("dip_rates.csv"), &mut names)?
        } else {
            Vec::new()
        };
        let qc_table = Csv::read(&dir.join("qc.csv"))?;
        let qc_columns = qc_table.header.to_vec();
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
                cells: r.cells(),
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
        let trajectories = match Csv::read_optional(&dir.join("trajectories.csv"))? {
            None => Vec::new(),
            Some(t) => t
                .rows()
                .map(|r| TrajectoryRow {
                    lineage: r.text("lineage"),
                    selected_with: r.text("selected_with"),
                    drug: r.text("drug"),
                    evolution_time: r.number("evolution_time"),
                    log2_fc: r.number("log2_fc"),
                    log2_fc_qualifier: r.text("log2_fc_qualifier"),
                    ci: (r.number("ci_low"), r.number("ci_high")),
                    call: r.text("call"),
                })
                .collect(),
        };
        let stability = match Csv::read_optional(&dir.join("stability.csv"))? {
            None => Vec::new(),
            Some(t) => t
                .rows()
                .map(|r| StabilityRow {
                    lineage: r.text("lineage"),
                    selected_with: r.text("selected_with"),
                    drug: r.text("drug"),
                    course: r.text("course"),
                })
                .collect(),
        };
        let mut likelihood_cells = Vec::new();
        let likelihood = match Csv::read_optional(&dir.join("likelihood.csv"))? {
            None => Vec::new(),
            Some(t) => t
                .rows()
                .map(|r| {
                    let count = |c: &str| r.text(c).trim().parse::<usize>().unwrap_or(0);
                    let row = LikelihoodRow {
                        selected_with: r.text("selected_with"),
                        drug: r.text("drug"),
                        evolution_time: r.number("evolution_time"),
                        n_lineages: count("n_lineages"),
                        n_cs: count("n_cs"),
                        n_cr: count("n_cr"),
                        n_neutral: count("n_neutral"),
                        cs: (
                            r.number("cs_likelihood"),
                            r.number("cs_ci_low"),
                            r.number("cs_ci_high"),
                        ),
                        cr: (
                            r.number("cr_likelihood"),
                            r.number("cr_ci_low"),
                            r.number("cr_ci_high"),
                        ),
                    };
                    likelihood_cells.push(r.cells());
                    row
                })
                .collect(),
        };
        let network_path = dir.join("network.json");
        let edges = if network_path.exists() {
            let text = std::fs::read_to_string(&network_path)
                .map_err(|e| Error::io(&network_path, "reading", e))?;
            let json: NetworkFile = serde_json::from_str(&text).map_err(|e| {
                Error::input(
                    Location::file(&network_path),
                    format!("not valid JSON: {e}"),
                )
            })?;
            json.edges
                .into_iter()
                .map(|e| EdgeRow {
                    source: e.source,
                    target: e.target,
                    call: e.call,
                    log2_fc: e.log2_fc.unwrap_or(f64::NAN),
                })
                .collect()
        } else {
            Vec::new()
        };

        let mut drug_list: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut fit_index: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (i, f) in fits.iter().enumerate() {
            if seen.insert(f.drug.as_str()) {
                drug_list.push(f.drug.clone());
            }
            fit_index
                .entry(f.cell_line.clone())
                .or_default()
                .entry(f.drug.clone())
                .or_insert(i);
        }
        let mut resistant: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut pooled_index: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let mut replicate_index: HashMap<String, HashMap<String, Vec<usize>>> = HashMap::new();
        for (i, s) in shifts.iter().enumerate() {
            if seen.insert(s.resistant_line.as_str()) {
                resistant.push((s.resistant_line.clone(), s.parental_line.clone()));
            }
            if s.replicate.is_empty() {
                pooled_index
                    .entry(s.resistant_line.clone())
                    .or_default()
                    .entry(s.drug.clone())
                    .or_insert(i);
            } else {
                replicate_index
                    .entry(s.resistant_line.clone())
                    .or_default()
                    .entry(s.drug.clone())
                    .or_default()
                    .push(i);
            }
        }
        Ok(RunData {
            dir: dir.to_path_buf(),
            run,
            fit_columns,
            fits,
            compared,
            shift_columns,
            shifts,
            names,
            plates,
            wells,
            response,
            gr,
            dip_points,
            qc_columns,
            qc,
            cycles,
            edges,
            trajectories,
            likelihood,
            stability,
            likelihood_cells,
            drug_list,
            resistant,
            fit_index,
            pooled_index,
            replicate_index,
        })
    }

    /// The concentration unit from `run.json`.
    pub fn unit(&self) -> String {
        self.run.assay.concentration_unit.clone()
    }

    /// The unit of evolution times from `run.json` (empty when the assay names none).
    pub fn evolution_time_unit(&self) -> &str {
        self.run
            .assay
            .evolution_time_unit
            .as_deref()
            .unwrap_or_default()
    }

    /// The significance level of the calls from `run.json` (its default when absent).
    pub fn alpha(&self) -> f64 {
        self.run.settings.shift_or_default().alpha
    }

    /// The fold-change threshold τ of the calls from `run.json` (NaN when the run has no
    /// shift settings).
    pub fn tau(&self) -> f64 {
        self.run.settings.shift.as_ref().map_or(f64::NAN, |s| s.tau)
    }

    /// The Z′ levels of the verdicts `warn` and `fail` from `run.json` (NaN when the run
    /// records no QC settings, as a merge does not).
    pub fn z_prime_levels(&self) -> (f64, f64) {
        self.run
            .settings
            .qc
            .as_ref()
            .map_or((f64::NAN, f64::NAN), |q| (q.z_prime_warn, q.z_prime_fail))
    }

    /// The MIC threshold from `run.json` (its default when absent).
    pub fn mic_threshold(&self) -> f64 {
        self.run.settings.mic_threshold()
    }

    /// The pooled shift rows (one per resistant line and drug; replicate rows left out).
    pub fn pooled_shifts(&self) -> impl Iterator<Item = &ShiftRow> {
        self.shifts.iter().filter(|s| s.replicate.is_empty())
    }

    /// The pooled shift row of a resistant line and drug, if any.
    pub fn pooled_shift(&self, line: &str, drug: &str) -> Option<&ShiftRow> {
        let i = *self.pooled_index.get(line)?.get(drug)?;
        Some(&self.shifts[i])
    }

    /// The replicate shift rows of a resistant line and drug, in file order.
    pub fn replicate_shifts(&self, line: &str, drug: &str) -> Vec<&ShiftRow> {
        self.replicate_index
            .get(line)
            .and_then(|m| m.get(drug))
            .map(|ix| ix.iter().map(|&i| &self.shifts[i]).collect())
            .unwrap_or_default()
    }

    /// Drugs in first-seen order of `fits.csv` (sorted, as fits are written sorted).
    pub fn drugs(&self) -> Vec<String> {
        self.drug_list.clone()
    }

    /// Resistant lines and their parental line, in `shifts.csv` order (lines reported per
    /// replicate included).
    pub fn resistant_lines(&self) -> Vec<(String, String)> {
        self.resistant.clone()
    }

    /// The fit of a (cell line, drug), if any (the first, should `fits.csv` repeat one).
    pub fn fit(&self, cell_line: &str, drug: &str) -> Option<&FitRow> {
        let i = *self.fit_index.get(cell_line)?.get(drug)?;
        Some(&self.fits[i])
    }

    /// The QC unit rows (one per plate, cell line and replicate): what `run.json`'s
    /// `qc_pass`/`qc_warn`/`qc_fail` count. Pooled rows and the rows of plates left out by
    /// `--keep-going` (both without a cell line) are not units.
    pub fn qc_units(&self) -> impl Iterator<Item = &QcRow> {
        self.qc.iter().filter(|q| !q.cell_line.is_empty())
    }
}

/// Reads `wells.csv` into compact rows: the file of a thousand-plate screen has millions of
/// rows, so names are interned and the well name parsed once. Returns (cell line and drug
/// names, plate names, wells).
/// Names, plates and rows of `wells.csv`, and its `gr` column when `with_gr` (else empty).
fn read_wells(path: &Path, with_gr: bool) -> Result<(Names, Names, Vec<WellRow>, Vec<f64>)> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name.as_bytes());
    let cols = [
        col("plate"),
        col("well"),
        col("cell_line"),
        col("drug"),
        col("concentration"),
        col("role"),
        col("signal"),
        col("viability"),
        col("excluded"),
        col("exclusion_reason"),
        col("gr"),
    ];
    let mut gr = Vec::new();
    let mut names = Names::default();
    let mut plates = Names::default();
    let mut wells = Vec::new();
    let mut record = csv::ByteRecord::new();
    // Rows come plate by plate: remember the last plate instead of hashing it every row.
    let mut last_plate: Option<(Vec<u8>, u32)> = None;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let field = |k: usize| -> Result<&str> {
            let bytes = cols[k].and_then(|i| record.get(i)).unwrap_or_default();
            std::str::from_utf8(bytes).map_err(|_| {
                Error::input(
                    Location::file(path).at_line(line),
                    "cannot read the run's table: a field is not UTF-8",
                )
            })
        };
        let number = |k: usize| -> Result<f64> { Ok(field(k)?.trim().parse().unwrap_or(f64::NAN)) };
        // Reads of a time course other than the endpoint (time-0 reads, DIP reads) are not
        // wells of the figures: each well is drawn at its endpoint read.
        let reason = cols[9].and_then(|i| record.get(i)).unwrap_or_default();
        if reason.starts_with(crate::growth::reads::NOT_ENDPOINT.as_bytes()) {
            continue;
        }
        let plate_bytes = cols[0].and_then(|i| record.get(i)).unwrap_or_default();
        let plate = match &last_plate {
            Some((b, id)) if b.as_slice() == plate_bytes => *id,
            _ => {
                let id = plates.intern(field(0)?);
                last_plate = Some((plate_bytes.to_vec(), id));
                id
            }
        };
        wells.push(WellRow {
            plate,
            position: parse_well(field(1)?)
                .and_then(|(r, c)| Some((u16::try_from(r).ok()?, u16::try_from(c).ok()?))),
            cell_line: names.intern(field(2)?),
            drug: names.intern(field(3)?),
            concentration: number(4)?,
            role: Role::parse(field(5)?),
            signal: number(6)?,
            viability: number(7)?,
            excluded: field(8)? == "true",
        });
        if with_gr {
            gr.push(number(10)?);
        }
    }
    Ok((names, plates, wells, gr))
}

/// The used sample wells of `dip_rates.csv` (a run that compares DIP rates writes it), their
/// names interned into `names`.
fn read_dip_points(path: &Path, names: &mut Names) -> Result<Vec<DipPoint>> {
    let Some(table) = Csv::read_optional(path)? else {
        return Ok(Vec::new());
    };
    let mut points = Vec::new();
    for r in table.rows() {
        let (concentration, dip_rate) = (r.number("concentration"), r.number("dip_rate"));
        if r.text("role") == "sample"
            && r.text("excluded") != "true"
            && dip_rate.is_finite()
            && concentration.is_finite()
            && concentration > 0.0
        {
            points.push(DipPoint {
                cell_line: names.intern(&r.text("cell_line")),
                drug: names.intern(&r.text("drug")),
                concentration,
                dip_rate,
            });
        }
    }
    Ok(points)
}

/// A CSV file read whole, with its header.
struct Csv {
    header: Arc<Vec<String>>,
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
        Ok(Csv {
            header: Arc::new(header),
            records,
        })
    }

    fn read_optional(path: &Path) -> Result<Option<Csv>> {
        if path.exists() {
            Csv::read(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The rows, each owning its record (moved, not copied, into the rows' [`Cells`]).
    fn rows(self) -> impl Iterator<Item = CsvRow> {
        let header = self.header;
        self.records.into_iter().map(move |record| CsvRow {
            header: Arc::clone(&header),
            record,
        })
    }
}

struct CsvRow {
    header: Arc<Vec<String>>,
    record: csv::StringRecord,
}

impl CsvRow {
    fn text(&self, column: &str) -> String {
        self.header
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

    fn cells(self) -> Cells {
        Cells {
            header: self.header,
            record: self.record,
        }
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

/// Parses a well name such as `B3`, `P24` or `AF48` into 0-based (row, column).
pub fn parse_well(name: &str) -> Option<(usize, usize)> {
    let letters: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let digits = &name[letters.len()..];
    if letters.is_empty() || letters.len() > 2 {
        return None;
    }
    let column: usize = digits.parse().ok()?;
    let idx = |c: char| (c.to_ascii_uppercase() as u8 - b'A') as usize;
    let mut chars = letters.chars();
    let first = idx(chars.next()?);
    let row = match chars.next() {
        None => first,
        // Two-letter rows of 1536-well plates: AA = 26, AB = 27, …
        Some(c) => 26 * (first + 1) + idx(c),
    };
    (column >= 1).then(|| (row, column - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_number_in_first_seen_order() {
        let mut n = Names::default();
        assert_eq!(n.intern("b"), 0);
        assert_eq!(n.intern("a"), 1);
        assert_eq!(n.intern("b"), 0);
        assert_eq!(n.id("a"), Some(1));
        assert_eq!(n.id("c"), None);
        assert_eq!(n.name(1), "a");
        assert_eq!(n.all(), ["b".to_string(), "a".to_string()]);
    }
}
