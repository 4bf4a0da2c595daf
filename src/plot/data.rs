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
use crate::fit::CurveFit;
use crate::fit::{FitStatus, Ic50Qualifier};
use crate::growth::GrowthCells;
use crate::lineage::Course;
use crate::lineage::Likelihood;
use crate::lineage::Stability;
use crate::network::{Cycle, EdgeCall};
use crate::output::read::Named;
use crate::output::read::{GrowthStatus, OutputRow, OutputTable};
use crate::output::record::{read_optional_records, record_columns, records_with_rows};
use crate::output::run_json::{RunJson, RUN_JSON};
use crate::output::tables::GrowthFitRecord;
use crate::output::tables::{ShiftRecord, Trajectory};
use crate::output::well_rows::WellsReader;
use crate::qc::Verdict;
use crate::shift::{Bound, Call, Metric, Shift};
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
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
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
    pub(crate) fn for_metric(metric: Option<Metric>) -> Response {
        match metric {
            Some(Metric::Ec50) => Response::ViabilityEc50,
            Some(Metric::Gr50 | Metric::GrAoc) => Response::Gr,
            Some(Metric::DipEc50 | Metric::DipEmax) => Response::Dip,
            Some(Metric::Mic) => Response::Mic,
            Some(Metric::Ic50 | Metric::Auc) | None => Response::Viability,
        }
    }

    /// The marked potency's name: `IC50`, `EC50`, `GR50`, `DIP EC50` or `MIC`.
    pub(crate) fn potency_name(self) -> &'static str {
        match self {
            Response::Viability => "IC50",
            Response::ViabilityEc50 => "EC50",
            Response::Gr => "GR50",
            Response::Dip => "DIP EC50",
            Response::Mic => "MIC",
        }
    }

    /// The y axis: what a point is.
    pub(crate) fn axis_label(self) -> &'static str {
        match self {
            Response::Viability | Response::ViabilityEc50 | Response::Mic => "viability",
            Response::Gr => "GR value",
            Response::Dip => "DIP rate (doublings/h)",
        }
    }

    /// Where the mark sits, for legends and captions.
    pub(crate) fn mark_meaning(self) -> &'static str {
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
    /// `=`, `>`, `<` or `~`; `None` when empty.
    pub ic50_qualifier: Option<Ic50Qualifier>,
    /// Confidence interval of ic50.
    pub(crate) ic50_ci: (f64, f64),
    /// R² of the fit.
    pub r2: f64,
    /// How the fit ended.
    pub status: FitStatus,
    /// Why, and notes.
    pub message: String,
    /// The fitted GR curve (top 1, bottom GRinf, midpoint GEC50), when the row has one.
    pub(crate) gr_curve: Option<crate::fit::Curve>,
    /// GR50 or the tested-range edge when censored (NaN when absent).
    pub gr50: f64,
    /// `=`, `>`, `<` or `~`; `None` when empty.
    pub gr50_qualifier: Option<Ic50Qualifier>,
    /// The GR fit's status (`None` without growth columns).
    pub gr_status: Option<GrowthStatus>,
    /// The fitted DIP-rate curve (top E0, bottom Emax), when the row has one.
    pub(crate) dip_curve: Option<crate::fit::Curve>,
    /// EC50 of the DIP-rate curve (NaN when absent).
    pub dip_ec50: f64,
    /// The DIP fit's status (`None` without growth columns).
    pub dip_status: Option<GrowthStatus>,
    /// The row's text cells, for the report's fit table.
    pub cells: Cells,
}

impl FitRow {
    /// The fitted curve, when the row has all four parameters.
    pub fn curve(&self) -> Option<crate::fit::Curve> {
        curve_of(self.top, self.bottom, self.ec50, self.hill)
    }
}

/// A fit's IC50 (or GR50) qualifier as the bound the figures mark, like a shift's.
pub(crate) fn bound_of(qualifier: Ic50Qualifier) -> Bound {
    Bound::of_ic50(qualifier)
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

/// One `shifts.csv` row: the [`Shift`] that wrote it (read back by [`crate::output::tables::read_shifts`];
/// its fields are the row's, through `Deref`) and its cells as written, for the report's table.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftRow {
    /// The shift.
    pub shift: Shift,
    /// The row's text cells, for the report's shift table.
    pub cells: Cells,
}

impl std::ops::Deref for ShiftRow {
    type Target = Shift;
    fn deref(&self) -> &Shift {
        &self.shift
    }
}

impl ShiftRow {
    /// The row's label in the matrix: the line, or `LINE rep R` for a replicate's row (as in
    /// `matrix.csv`).
    pub(crate) fn row_label(&self) -> String {
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
    /// Wells on the plate (`None` for a plate left out by `--keep-going`).
    pub plate_size: Option<usize>,
    /// Z′ factor.
    pub z_prime: f64,
    /// The verdict.
    pub verdict: Verdict,
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
    pub(crate) max_q_value: String,
}

/// One edge of `network.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    /// Selecting drug.
    pub source: String,
    /// Drug tested.
    pub target: String,
    /// The call of most lines; `None` for `mixed` (a tie between CS and CR).
    pub call: Option<Call>,
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
    pub(crate) likelihood_cells: Vec<Cells>,
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
    /// `=`, `>` or `<`; `None` when empty.
    pub log2_fc_qualifier: Option<Bound>,
    /// 95 % CI of log2_fc (NaN when none).
    pub ci: (f64, f64),
    /// The call.
    pub call: Call,
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
    /// Course of CS; `None` when empty (no determined call).
    pub course: Option<Course>,
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
    /// `network.json` are optional (a run without a lines table has none); a missing column or
    /// a malformed cell of any file read is an error naming the file, line and column.
    pub fn read(dir: &Path) -> Result<RunData> {
        let run = RunJson::read(&dir.join(RUN_JSON))?;
        let response = Response::for_metric(run.settings.shift.as_ref().map(|s| s.metric));
        let (fit_columns, fits) = read_fits(&dir.join("fits.csv"))?;
        let compared = crate::table::parquet::table_exists(&dir.join("shifts.csv"));
        let (shift_columns, shifts) = read_shift_rows(&dir.join("shifts.csv"))?;
        let (mut names, plates, wells, gr) =
            read_wells(&dir.join("wells.csv"), response == Response::Gr)?;
        let dip_points = if response == Response::Dip {
            read_dip_points(&dir.join("dip_rates.csv"), &mut names)?
        } else {
            Vec::new()
        };
        let (qc_columns, qc) = read_qc(&dir.join("qc.csv"))?;
        let (likelihood, likelihood_cells) = read_likelihood(&dir.join("likelihood.csv"))?;
        let (drug_list, fit_index) = fit_index(&fits);
        let (resistant, pooled_index, replicate_index) = shift_index(&shifts);
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
            cycles: read_cycles(&dir.join("cycles.csv"))?,
            edges: read_edges(&dir.join("network.json"))?,
            trajectories: read_trajectories(&dir.join("trajectories.csv"))?,
            likelihood,
            stability: read_stability(&dir.join("stability.csv"))?,
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
    pub(crate) fn z_prime_levels(&self) -> (f64, f64) {
        self.run
            .settings
            .qc
            .as_ref()
            .map_or((f64::NAN, f64::NAN), |q| (q.z_prime_warn, q.z_prime_fail))
    }

    /// The MIC threshold from `run.json` (its default when absent).
    pub(crate) fn mic_threshold(&self) -> f64 {
        self.run.settings.mic_threshold()
    }

    /// The pooled shift rows (one per resistant line and drug; replicate rows left out).
    pub(crate) fn pooled_shifts(&self) -> impl Iterator<Item = &ShiftRow> {
        self.shifts.iter().filter(|s| s.replicate.is_empty())
    }

    /// The pooled shift row of a resistant line and drug, if any.
    pub(crate) fn pooled_shift(&self, line: &str, drug: &str) -> Option<&ShiftRow> {
        let i = *self.pooled_index.get(line)?.get(drug)?;
        Some(&self.shifts[i])
    }

    /// The replicate shift rows of a resistant line and drug, in file order.
    pub(crate) fn replicate_shifts(&self, line: &str, drug: &str) -> Vec<&ShiftRow> {
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
    pub(crate) fn resistant_lines(&self) -> Vec<(String, String)> {
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
    pub(crate) fn qc_units(&self) -> impl Iterator<Item = &QcRow> {
        self.qc.iter().filter(|q| !q.cell_line.is_empty())
    }
}

/// The text cells of a row, for the report's tables.
fn cells_of(row: &OutputRow) -> Cells {
    let (header, record) = row.parts();
    Cells { header, record }
}

/// Reads `fits.csv`: its column names and rows, through its row type: with the growth
/// columns ([`GrowthFitRecord`]) when the file has them (runs with growth data).
fn read_fits(path: &Path) -> Result<(Vec<String>, Vec<FitRow>)> {
    let t = OutputTable::read(path)?;
    let columns = t.header.to_vec();
    let growth = crate::growth::has_growth_columns(&t.header);
    let rows = if growth {
        records_with_rows(t, |r: GrowthFitRecord, row| {
            Ok(fit_row(r.fit, Some(&r.growth), row))
        })?
    } else {
        records_with_rows(t, |fit: CurveFit, row| Ok(fit_row(fit, None, row)))?
    };
    Ok((columns, rows))
}

/// The figures' row of a fit, its growth cells and its row as written.
fn fit_row(fit: CurveFit, growth: Option<&GrowthCells>, r: &OutputRow) -> FitRow {
    let nan = f64::NAN;
    let g = |value: fn(&GrowthCells) -> f64| growth.map_or(nan, value);
    FitRow {
        cell_line: fit.cell_line,
        drug: fit.drug,
        n_points: fit.n_points,
        top: fit.top,
        bottom: fit.bottom,
        ec50: fit.ec50,
        hill: fit.hill,
        ic50: fit.ic50,
        ic50_qualifier: fit.ic50_qualifier,
        ic50_ci: (fit.ic50_ci_low, fit.ic50_ci_high),
        r2: fit.r2,
        status: fit.status,
        message: fit.message,
        // GR curves are 1 at no drug: `fits.csv` has no GR top.
        gr_curve: curve_of(1.0, g(|c| c.grinf), g(|c| c.gec50), g(|c| c.gr_hill)),
        gr50: g(|c| c.gr50),
        gr50_qualifier: growth.and_then(|c| c.gr50_qualifier),
        gr_status: growth.map(|c| c.gr_status),
        dip_curve: curve_of(
            g(|c| c.dip_e0),
            g(|c| c.dip_emax),
            g(|c| c.dip_ec50),
            g(|c| c.dip_hill),
        ),
        dip_ec50: g(|c| c.dip_ec50),
        dip_status: growth.map(|c| c.dip_status),
        cells: cells_of(r),
    }
}

/// Reads `shifts.csv` when the run wrote one: its column names and rows (both empty without).
/// The rows are the stage's own [`Shift`]s; every column it writes but
/// [`crate::shift::SHIFT_COLUMNS_OPTIONAL`] must be there.
fn read_shift_rows(path: &Path) -> Result<(Vec<String>, Vec<ShiftRow>)> {
    let Some(t) = OutputTable::read_optional(path)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    for name in crate::shift::SHIFT_COLUMNS {
        if !crate::shift::SHIFT_COLUMNS_OPTIONAL.contains(&name) {
            t.column(name)?;
        }
    }
    let columns = t.header.to_vec();
    let rows = records_with_rows(t, |r: ShiftRecord, row| {
        Ok(ShiftRow {
            shift: r.shift,
            cells: cells_of(row),
        })
    })?;
    Ok((columns, rows))
}

/// Reads `qc.csv`: its column names and rows.
fn read_qc(path: &Path) -> Result<(Vec<String>, Vec<QcRow>)> {
    let t = OutputTable::read(path)?;
    let columns = t.header.to_vec();
    let rows = records_with_rows(t, |qc: crate::output::QcRow, r| {
        let cells = cells_of(r);
        Ok(match qc {
            crate::output::QcRow::Judged(p) => QcRow {
                plate: p.plate,
                cell_line: p.cell_line.unwrap_or_default(),
                replicate: p.replicate,
                plate_size: Some(p.format.wells() as usize),
                z_prime: p.z_prime.unwrap_or(f64::NAN),
                verdict: p.verdict,
                reason: p.reason,
                cells,
            },
            crate::output::QcRow::LeftOut { plate, reason } => QcRow {
                plate,
                cell_line: String::new(),
                replicate: String::new(),
                plate_size: None,
                z_prime: f64::NAN,
                verdict: Verdict::Fail,
                reason,
                cells,
            },
        })
    })?;
    Ok((columns, rows))
}

/// Reads `cycles.csv` when the run wrote one, through its row type (its cells kept as
/// written).
fn read_cycles(path: &Path) -> Result<Vec<CycleRow>> {
    let Some(t) = OutputTable::read_optional(path)? else {
        return Ok(Vec::new());
    };
    let columns = record_columns::<Cycle>(&t)?;
    records_with_rows(t, |_: Cycle, r| {
        let text = |i: usize| r.text(columns[i]).to_string();
        Ok(CycleRow {
            rank: text(0),
            length: text(1),
            cycle: text(2),
            sum_log2_fc: text(3),
            max_q_value: text(4),
        })
    })
}

/// Reads `trajectories.csv` when the run wrote one, through its row type.
fn read_trajectories(path: &Path) -> Result<Vec<TrajectoryRow>> {
    let rows = read_optional_records::<Trajectory>(path)?.unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|t| TrajectoryRow {
            lineage: t.lineage,
            selected_with: t.selected_with,
            drug: t.drug,
            evolution_time: t.evolution_time,
            log2_fc: t.log2_fc,
            log2_fc_qualifier: t.log2_fc_qualifier,
            ci: (t.ci_low, t.ci_high),
            call: t.call,
        })
        .collect())
}

/// Reads `stability.csv` when the run wrote one, through its row type.
fn read_stability(path: &Path) -> Result<Vec<StabilityRow>> {
    let rows = read_optional_records::<Stability>(path)?.unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|s| StabilityRow {
            lineage: s.lineage,
            selected_with: s.selected_with,
            drug: s.drug,
            course: s.course,
        })
        .collect())
}

/// Reads `likelihood.csv` when the run wrote one: its rows, and their cells as written.
fn read_likelihood(path: &Path) -> Result<(Vec<LikelihoodRow>, Vec<Cells>)> {
    let Some(t) = OutputTable::read_optional(path)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let rows = records_with_rows(t, |l: Likelihood, r| {
        let [n_cs, n_cr, n_neutral, _] = l.n_calls;
        let row = LikelihoodRow {
            selected_with: l.selected_with,
            drug: l.drug,
            evolution_time: l.evolution_time,
            n_lineages: l.n_lineages,
            n_cs,
            n_cr,
            n_neutral,
            cs: (l.cs_likelihood, l.cs_ci.0, l.cs_ci.1),
            cr: (l.cr_likelihood, l.cr_ci.0, l.cr_ci.1),
        };
        Ok((row, cells_of(r)))
    })?;
    Ok(rows.into_iter().unzip())
}

/// Reads the edges of `network.json` when the run wrote one.
fn read_edges(path: &Path) -> Result<Vec<EdgeRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
    let json: NetworkFile = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            Location::file(path).at_line(e.line() as u64),
            format!("not the network.json of a collateral run: {e}"),
        )
    })?;
    json.edges
        .into_iter()
        .map(|e| {
            let call = <EdgeCall as Named>::from_written(&e.call).ok_or_else(|| {
                Error::input(
                    Location::file(path),
                    format!(
                        "edge {} -> {}: `call` is `{}`; expected {}",
                        e.source,
                        e.target,
                        e.call,
                        <EdgeCall as Named>::choices()
                    ),
                )
            })?;
            Ok(EdgeRow {
                source: e.source,
                target: e.target,
                call: call.call(),
                log2_fc: e.log2_fc.unwrap_or(f64::NAN),
            })
        })
        .collect()
}

/// Drugs in first-seen order of the fits, and the first fit of each (cell line, drug).
fn fit_index(fits: &[FitRow]) -> (Vec<String>, HashMap<String, HashMap<String, usize>>) {
    let mut drug_list: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
    for (i, f) in fits.iter().enumerate() {
        if seen.insert(f.drug.as_str()) {
            drug_list.push(f.drug.clone());
        }
        index
            .entry(f.cell_line.clone())
            .or_default()
            .entry(f.drug.clone())
            .or_insert(i);
    }
    (drug_list, index)
}

/// Resistant lines with their parental line in first-seen order, the first pooled shift of
/// each (resistant line, drug), and the replicate shifts of each.
#[allow(clippy::type_complexity)]
fn shift_index(
    shifts: &[ShiftRow],
) -> (
    Vec<(String, String)>,
    HashMap<String, HashMap<String, usize>>,
    HashMap<String, HashMap<String, Vec<usize>>>,
) {
    let mut resistant: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut pooled: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut replicates: HashMap<String, HashMap<String, Vec<usize>>> = HashMap::new();
    for (i, s) in shifts.iter().enumerate() {
        if seen.insert(s.resistant_line.as_str()) {
            resistant.push((s.resistant_line.clone(), s.parental_line.clone()));
        }
        let line = s.resistant_line.clone();
        if s.replicate.is_empty() {
            let by_drug = pooled.entry(line).or_default();
            by_drug.entry(s.drug.clone()).or_insert(i);
        } else {
            let by_drug = replicates.entry(line).or_default();
            by_drug.entry(s.drug.clone()).or_default().push(i);
        }
    }
    (resistant, pooled, replicates)
}

/// Reads `wells.csv` into compact rows: the file of a thousand-plate screen has millions of
/// rows, so names are interned and the well name parsed once. Returns (cell line and drug
/// names, plate names, wells, and the `gr` column when `with_gr`, else empty).
fn read_wells(path: &Path, with_gr: bool) -> Result<(Names, Names, Vec<WellRow>, Vec<f64>)> {
    let mut reader = WellsReader::open(path)?;
    if with_gr {
        reader.require_gr()?;
    }
    let mut gr = Vec::new();
    let mut names = Names::default();
    let mut plates = Names::default();
    let mut wells = Vec::new();
    // Rows come plate by plate: remember the last plate instead of hashing it every row.
    let mut last_plate: Option<(Vec<u8>, u32)> = None;
    while let Some(r) = reader.next_row()? {
        // Reads of a time course other than the endpoint (time-0 reads, DIP reads) are not
        // wells of the figures: each well is drawn at its endpoint read.
        if r.exclusion_reason_bytes()
            .starts_with(crate::growth::reads::NOT_ENDPOINT.as_bytes())
        {
            continue;
        }
        let plate = match &last_plate {
            Some((b, id)) if b.as_slice() == r.plate_bytes() => *id,
            _ => {
                let id = plates.intern(r.plate()?);
                last_plate = Some((r.plate_bytes().to_vec(), id));
                id
            }
        };
        wells.push(WellRow {
            plate,
            position: parse_well(r.well()?)
                .and_then(|(r, c)| Some((u16::try_from(r).ok()?, u16::try_from(c).ok()?))),
            cell_line: names.intern(r.cell_line()?),
            drug: names.intern(r.drug()?),
            concentration: r.concentration()?,
            role: Some(r.role()?),
            signal: signal_number(r.signal()?),
            viability: r.viability()?,
            excluded: r.excluded()?,
        });
        if with_gr {
            gr.push(r.gr()?);
        }
    }
    Ok((names, plates, wells, gr))
}

/// A well's signal as the figures draw it: NaN when the cell holds no number. `wells.csv`
/// keeps a signal as read, and an unreadable one (`OVRFLW`, `n/a`) is a flagged well, not a
/// malformed table.
fn signal_number(text: &str) -> f64 {
    text.trim().parse().unwrap_or(f64::NAN)
}

/// The used sample wells of `dip_rates.csv` (a run that compares DIP rates writes it), their
/// names interned into `names`.
fn read_dip_points(path: &Path, names: &mut Names) -> Result<Vec<DipPoint>> {
    let Some(t) = OutputTable::read_optional(path)? else {
        return Ok(Vec::new());
    };
    let c = |name| t.column(name);
    let (line, drug, concentration, role) =
        (c("cell_line")?, c("drug")?, c("concentration")?, c("role")?);
    let (excluded, dip_rate) = (c("excluded")?, c("dip_rate")?);
    let rows = t.rows(|r| {
        let (concentration, dip_rate) = (r.number(concentration)?, r.number(dip_rate)?);
        let used = Role::parse(r.text(role)) == Some(Role::Sample)
            && !r.flag(excluded)?
            && dip_rate.is_finite()
            && concentration.is_finite()
            && concentration > 0.0;
        Ok(used.then(|| {
            (
                r.text(line).to_string(),
                r.text(drug).to_string(),
                concentration,
                dip_rate,
            )
        }))
    })?;
    Ok(rows
        .into_iter()
        .flatten()
        .map(|(line, drug, concentration, dip_rate)| DipPoint {
            cell_line: names.intern(&line),
            drug: names.intern(&drug),
            concentration,
            dip_rate,
        })
        .collect())
}

/// Parses a well name such as `B3`, `P24` or `AF48` into 0-based (row, column).
pub(crate) fn parse_well(name: &str) -> Option<(usize, usize)> {
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
