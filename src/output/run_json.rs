//! `run.json`, the record of a run, a merge or a plan: one typed form that `run`, `merge` and
//! `plan` write and that the figures, the report, the workbook, `merge` and `plan` read.
//!
//! Written through [`serde_json::Value`] (whose maps are sorted), so the keys come out in
//! alphabetical order, pretty-printed: the bytes of the `json!` objects this type replaced.
//! Read with serde: a missing or malformed key is an error naming the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::assay::Settings;
use crate::error::{Error, Location, Result};
use crate::evidence::EvidenceSettings;
use crate::mic::{DilutionModel, MicSettings};
use crate::plan::PlanSettings;
use crate::qc::QcSettings;
use crate::shift::{Metric, ShiftSettings};

/// The file name of a run's record in its folder.
pub(crate) const RUN_JSON: &str = "run.json";

/// The `tool` every record of ours names, so a folder written by something else is told apart.
pub const TOOL: &str = "collateral";

/// `run.json` of `collateral run` and `collateral merge` (which adds [`RunJson::merge`]). The
/// default is an empty record, for tests of the readers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunJson {
    /// Always [`TOOL`].
    pub tool: String,
    /// The version of collateral that wrote it.
    pub version: String,
    /// When the run started, RFC 3339 UTC (absent from records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// The assay run (for a merge: the runs' assays, joined).
    pub assay: AssayRecord,
    /// What a merge merged; absent for a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeRecord>,
    /// Every input read, with its checksum.
    pub inputs: Vec<InputRecord>,
    /// The stages' settings, by section.
    pub settings: RunSettings,
    /// What the run counted.
    pub counts: RunCounts,
    /// Seconds per stage, and `total`.
    pub timings_seconds: BTreeMap<String, f64>,
    /// Warnings, as shown.
    pub warnings: Vec<String>,
    /// Plates left out by `--keep-going`.
    pub skipped: Vec<SkippedRecord>,
    /// The dilution error model (metric mic only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic: Option<MicModelRecord>,
    /// The folder's files, added by the output folder when it commits (`outdir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Vec<String>>,
}

/// The assay of a run as `run.json` names it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AssayRecord {
    /// The assay's name.
    pub name: String,
    /// The assay file, as the run was given it (relative to where it started).
    pub path: String,
    /// Unit of every concentration.
    pub concentration_unit: String,
    /// Unit of the lines table's evolution times, when the assay names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evolution_time_unit: Option<String>,
}

/// One input file: path as given, SHA-256 and size, so a rerun can tell what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    /// The path as given.
    pub path: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The settings sections of a record. The sections the readers decide on are typed; the rest
/// (`normalize`, `fit`, `plan`, `growth`, …) are kept as written, so a record is read and
/// written again unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunSettings {
    /// Plate QC thresholds (absent in a merge's record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qc: Option<QcSettings>,
    /// Shifts and calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<ShiftSettings>,
    /// Reading MICs (metric mic or `[mic]` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mic: Option<MicSettings>,
    /// The published relations the run matched its drugs against (absent: the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceSettings>,
    /// Every other section, as written.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl RunSettings {
    /// The sections of a run's settings, as the assay's [`Settings`] serialize.
    pub fn of(settings: &Settings) -> Result<RunSettings> {
        serde_json::to_value(settings)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                Error::config(
                    Location::default(),
                    format!("the settings cannot be recorded in run.json: {e}"),
                )
            })
    }

    /// The shift settings, their defaults when the record has none.
    pub fn shift_or_default(&self) -> ShiftSettings {
        self.shift.clone().unwrap_or_default()
    }

    /// The MIC threshold, its default when the record has none.
    pub(crate) fn mic_threshold(&self) -> f64 {
        self.mic
            .as_ref()
            .map_or(MicSettings::default().threshold, |m| m.threshold)
    }

    /// Every section but `shift`, as JSON objects by section name: what runs being merged
    /// must agree on beside their shift settings.
    pub(crate) fn sections_but_shift(&self) -> Map<String, Value> {
        let rest = RunSettings {
            shift: None,
            ..self.clone()
        };
        match serde_json::to_value(rest) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// The shift section as (key, value) pairs in key order, for tables that list it.
    pub(crate) fn shift_entries(&self) -> Vec<(String, Value)> {
        match self.shift.as_ref().map(serde_json::to_value) {
            Some(Ok(Value::Object(map))) => map.into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// What a run (or merge) counted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunCounts {
    /// Runs merged (merged folders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u64>,
    /// Plates read.
    pub plates: u64,
    /// Wells (endpoint reads).
    pub wells: u64,
    /// Wells by role name.
    pub(crate) wells_by_role: BTreeMap<String, u64>,
    /// Distinct cell lines.
    pub cell_lines: u64,
    /// Distinct drugs.
    pub drugs: u64,
    /// Wells whose signal could not be read.
    pub(crate) flagged_wells: u64,
    /// Wells left out downstream.
    pub(crate) excluded_wells: u64,
    /// Rows of `qc.csv`.
    pub qc_rows: u64,
    /// QC units that passed.
    pub qc_pass: u64,
    /// QC units with a warning.
    pub qc_warn: u64,
    /// QC units that failed.
    pub qc_fail: u64,
    /// Plates left out by `--keep-going`.
    pub skipped_plates: u64,
    /// Curves by fit status.
    pub curves: CurveCounts,
    /// Calls and cycles; `None` (null) when nothing was compared.
    #[serde(default)]
    pub shifts: Option<ShiftCounts>,
    /// Reads and growth values (runs with growth data only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<GrowthCounts>,
}

/// Curves by fit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CurveCounts {
    /// Status `ok`.
    pub ok: u64,
    /// Status `flat`.
    pub flat: u64,
    /// Status `insufficient_data`.
    pub insufficient_data: u64,
    /// Status `failed`.
    pub failed: u64,
}

impl CurveCounts {
    /// From counts in the order ok, flat, insufficient data, failed.
    pub fn of(curves: [usize; 4]) -> CurveCounts {
        CurveCounts {
            ok: curves[0] as u64,
            flat: curves[1] as u64,
            insufficient_data: curves[2] as u64,
            failed: curves[3] as u64,
        }
    }
}

/// Calls by kind, and the CS cycles listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftCounts {
    /// Call `cross_resistant`.
    pub cross_resistant: u64,
    /// Call `collateral_sensitive`.
    pub collateral_sensitive: u64,
    /// Call `neutral`.
    pub neutral: u64,
    /// Call `undetermined`.
    pub undetermined: u64,
    /// Rows of `cycles.csv`.
    pub cycles: u64,
    /// Rows whose lines had several rows per drug in a fits table, pooled (mean of log values,
    /// SE from the replicates); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicates_pooled: Option<u64>,
    /// Rows compared within batches (a `batch` column); absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_paired: Option<u64>,
}

impl ShiftCounts {
    /// From calls in the order cross-resistant, collaterally sensitive, neutral,
    /// undetermined, and the cycles; `None` when nothing was compared.
    pub fn of(compared: bool, calls: [usize; 4], cycles: usize) -> Option<ShiftCounts> {
        compared.then_some(ShiftCounts {
            cross_resistant: calls[0] as u64,
            collateral_sensitive: calls[1] as u64,
            neutral: calls[2] as u64,
            undetermined: calls[3] as u64,
            cycles: cycles as u64,
            replicates_pooled: None,
            batch_paired: None,
        })
    }

    /// With how many rows pooled replicate rows or paired batches (each listed when not zero).
    pub(crate) fn with_replicates(self, counts: crate::shift::ReplicateCounts) -> ShiftCounts {
        let some = |n: usize| (n > 0).then_some(n as u64);
        ShiftCounts {
            replicates_pooled: some(counts.pooled),
            batch_paired: some(counts.batch_paired),
            ..self
        }
    }
}

/// Reads and growth values of a run with growth data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowthCounts {
    /// Reads of every time (rows of `wells.csv`).
    pub reads: u64,
    /// Endpoint reads (the wells).
    pub(crate) endpoint_reads: u64,
    /// Reads with a GR value.
    pub(crate) wells_with_gr: u64,
    /// Wells with a DIP rate.
    pub(crate) wells_with_dip_rate: u64,
}

/// A plate left out by `--keep-going`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// Plate identifier.
    pub plate: String,
    /// The plate file.
    pub file: String,
    /// Every problem met reading it, as one line.
    pub reason: String,
    /// The run it belonged to (merged folders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// What `run.json` records of the dilution error model (metric mic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicModelRecord {
    /// The pooled error rate (null when it could not be estimated).
    pub error_rate: Option<f64>,
    /// Cells (line × drug) that informed the error rate.
    pub(crate) cells_in_error_rate: u64,
    /// MIC measurements that informed it.
    pub measurements_in_error_rate: u64,
    /// Cells of the model.
    pub cells: u64,
}

impl MicModelRecord {
    /// The record of a fitted model.
    pub fn of(model: &DilutionModel) -> MicModelRecord {
        MicModelRecord {
            error_rate: model.error_rate.is_finite().then_some(model.error_rate),
            cells_in_error_rate: model.cells_in_error_rate as u64,
            measurements_in_error_rate: model.measurements_in_error_rate as u64,
            cells: model.cells.len() as u64,
        }
    }
}

/// What a merge merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The runs, in the order given.
    pub runs: Vec<MergedRun>,
    /// The `--on-duplicate` choice.
    pub on_duplicate: String,
    /// The (cell line, drug) pairs fitted in more than one run, and which run was kept.
    pub duplicates: Vec<DuplicateRecord>,
    /// The lines tables read (null without any).
    pub lines: Option<Vec<String>>,
    /// Plates renamed because two runs used the same name.
    pub(crate) renamed_plates: BTreeSet<String>,
    /// Wells marked superseded (behind a fit left out).
    pub(crate) superseded_wells: u64,
    /// Shifts whose resistant and parental lines came from different runs.
    pub(crate) cross_run_shifts: u64,
}

/// One merged run, with what its own `run.json` said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedRun {
    /// The run's name (its folder's).
    pub run: String,
    /// The folder as given.
    pub folder: String,
    /// SHA-256 of its `run.json`.
    pub(crate) run_json_sha256: String,
    /// When it started (null when its record does not say).
    pub started: Option<String>,
    /// Its assay.
    pub assay: AssayRecord,
    /// The version that ran it.
    pub version: String,
    /// Its settings.
    pub settings: RunSettings,
}

/// A (cell line, drug) fitted in more than one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateRecord {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// The run whose fit was kept.
    pub kept: String,
    /// The runs whose fits were left out.
    pub left_out: Vec<String>,
}

/// `run.json` of a folder `collateral plan` wrote apart from the run it planned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// Always [`TOOL`].
    pub tool: String,
    /// The version of collateral that wrote it.
    pub version: String,
    /// Always `plan`.
    pub command: String,
    /// When planning started, RFC 3339 UTC.
    pub started: String,
    /// The run folder planned from, as given.
    pub run: String,
    /// The lines table and the run's files read.
    pub inputs: Vec<InputRecord>,
    /// The planner's settings.
    pub settings: PlanJsonSettings,
    /// Sequences scored and not.
    pub counts: PlanCounts,
    /// The folder's files, added by the output folder when it commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Vec<String>>,
}

/// The settings of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJsonSettings {
    /// The planner's settings.
    pub plan: PlanSettings,
    /// The metric the shifts were recomputed on (null: the run's own shifts).
    pub metric: Option<Metric>,
}

/// Sequences scored and not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    /// Sequences with scores.
    pub scorable: u64,
    /// Sequences lacking data for a step.
    pub(crate) unscorable: u64,
}

/// Just the `tool` key, to tell a record of another tool from a malformed one of ours.
#[derive(Deserialize)]
struct ToolProbe {
    tool: Option<Value>,
}

impl RunJson {
    /// Reads the `run.json` at `path`: a located error naming the file (and the line) when it
    /// is missing, not JSON, not ours, or lacks or mistypes a key.
    pub fn read(path: &Path) -> Result<RunJson> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        RunJson::parse(&text, path)
    }

    /// [`RunJson::read`] of a folder's record: `None` when the folder has none.
    pub(crate) fn read_optional(path: &Path) -> Result<Option<RunJson>> {
        match std::fs::read_to_string(path) {
            Ok(text) => RunJson::parse(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, "reading", e)),
        }
    }

    /// Parses the text of `path`.
    pub fn parse(text: &str, path: &Path) -> Result<RunJson> {
        parse_record(text, path)
    }

    /// Writes the record as the folder keeps it: keys sorted, pretty-printed, a line end.
    pub fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_record(self, w)
    }

    /// The record as a JSON value (keys sorted), for the output folder to add its manifest.
    pub fn to_value(&self) -> Result<Value> {
        to_sorted_value(self)
    }

    /// Whether the folder is a merge of runs.
    pub(crate) fn is_merge(&self) -> bool {
        self.merge.is_some()
    }
}

impl PlanJson {
    /// Reads the `run.json` a plan wrote, with located errors as [`RunJson::read`].
    pub fn read(path: &Path) -> Result<PlanJson> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        parse_record(&text, path)
    }

    /// The record as a JSON value (keys sorted), for the output folder to add its manifest.
    pub fn to_value(&self) -> Result<Value> {
        to_sorted_value(self)
    }
}

/// Parses a record of ours, naming the file and line of a problem.
fn parse_record<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        let at = Location::file(path).at_line(e.line() as u64);
        let foreign = serde_json::from_str::<ToolProbe>(text)
            .is_ok_and(|p| p.tool.as_ref().and_then(Value::as_str) != Some(TOOL));
        if foreign {
            Error::input(
                Location::file(path),
                "was not written by collateral (no `\"tool\": \"collateral\"`)",
            )
        } else {
            Error::input(at, format!("not the run.json of a collateral run: {e}"))
        }
    })
}

/// A record as a JSON value: maps sorted by key, as every `run.json` is written.
fn to_sorted_value<T: Serialize>(record: &T) -> Result<Value> {
    serde_json::to_value(record)
        .map_err(|e| Error::input(Location::file(RUN_JSON), format!("cannot be written: {e}")))
}

/// Writes a record pretty-printed with sorted keys and a final line end.
fn write_record<T: Serialize>(record: &T, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let value = serde_json::to_value(record).map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *w, &value).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}
