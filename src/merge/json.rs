//! `run.json` of a merged folder.

use super::*;
use crate::output::run_json::{
    AssayRecord, CurveCounts, DuplicateRecord, MergeRecord, MergedRun, MicModelRecord, RunCounts,
    RunJson, RunSettings, ShiftCounts, SkippedRecord, TOOL,
};

/// What `run.json` of a merged folder is built from.
pub(super) struct MergeJson<'a> {
    pub(super) folders: &'a [RunFolder],
    pub(super) options: &'a MergeOptions,
    pub(super) started: &'a str,
    pub(super) unit: &'a str,
    pub(super) settings: &'a ShiftSettings,
    /// The evidence the merged shifts were marked with (recorded as a run records its own).
    pub(super) evidence: &'a crate::evidence::EvidenceSettings,
    pub(super) inputs: &'a [crate::run::InputRecord],
    pub(super) lines: Option<&'a MergedLines>,
    pub(super) duplicates: &'a [(Key, usize, Vec<usize>)],
    pub(super) renamed_plates: &'a BTreeSet<String>,
    pub(super) wells: &'a WellCounts,
    pub(super) qc: &'a QcCounts,
    /// Metric mic: the runs' common MIC threshold and the dilution model's summary (`None`
    /// without a lines table).
    pub(super) mic: Option<(f64, Option<MicModelRecord>)>,
    pub(super) report: &'a MergeReport,
}

/// `run.json` of a merged folder: the keys of a run's (so `collateral plot` and the report read
/// it alike) plus `merge`, which names the runs, the duplicates resolved and the plates renamed.
/// `inputs` are the runs' `run.json` files and the lines tables read.
pub(super) fn merge_json(m: MergeJson<'_>) -> RunJson {
    let names: Vec<&str> = m.folders.iter().map(|f| f.name.as_str()).collect();
    let assays: Vec<&str> = m
        .folders
        .iter()
        .map(|f| f.json.assay.path.as_str())
        .collect();
    let mut timings = BTreeMap::new();
    timings.insert("total".to_string(), m.report.seconds);
    RunJson {
        tool: TOOL.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started: Some(m.started.to_string()),
        assay: AssayRecord {
            name: format!("merge of {}", names.join(", ")),
            path: assays.join(", "),
            concentration_unit: m.unit.to_string(),
            evolution_time_unit: None,
        },
        merge: Some(merge_record(&m)),
        inputs: m.inputs.to_vec(),
        settings: merged_settings(&m),
        counts: merged_counts(&m),
        timings_seconds: timings,
        warnings: merged_warnings(&m),
        skipped: merged_skipped(m.folders),
        // The dilution error model fitted to the merged MICs, as a run records its own.
        mic: m.mic.as_ref().and_then(|(_, model)| model.clone()),
        manifest: None,
    }
}

/// The `merge` section: the runs, the duplicates resolved and the plates renamed.
fn merge_record(m: &MergeJson<'_>) -> MergeRecord {
    let folders = m.folders;
    let runs = folders
        .iter()
        .map(|f| MergedRun {
            run: f.name.clone(),
            folder: f.dir.display().to_string(),
            run_json_sha256: f.record.sha256.clone(),
            started: f.json.started.clone(),
            assay: f.json.assay.clone(),
            version: f.json.version.clone(),
            settings: f.json.settings.clone(),
        })
        .collect();
    let duplicates = m
        .duplicates
        .iter()
        .map(|((line, drug), kept, dropped)| DuplicateRecord {
            cell_line: line.clone(),
            drug: drug.clone(),
            kept: folders[*kept].name.clone(),
            left_out: dropped.iter().map(|&r| folders[r].name.clone()).collect(),
        })
        .collect();
    MergeRecord {
        runs,
        on_duplicate: m.options.on_duplicate.name().to_string(),
        duplicates,
        lines: m
            .lines
            .map(|l| l.paths.iter().map(|p| p.display().to_string()).collect()),
        renamed_plates: m.renamed_plates.clone(),
        superseded_wells: m.wells.superseded as u64,
        cross_run_shifts: m.report.cross_run as u64,
    }
}

/// The merge's settings: the shift settings it compared with, and the MIC threshold (metric
/// mic).
fn merged_settings(m: &MergeJson<'_>) -> RunSettings {
    let mut other = serde_json::Map::new();
    if !m.evidence.is_default() {
        if let Ok(v) = serde_json::to_value(m.evidence) {
            other.insert("evidence".to_string(), v);
        }
    }
    RunSettings {
        other,
        shift: Some(m.settings.clone()),
        mic: m
            .mic
            .as_ref()
            .map(|(threshold, _)| crate::mic::MicSettings {
                threshold: *threshold,
                ..Default::default()
            }),
        ..RunSettings::default()
    }
}

/// The merged folder's counts (plates left out summed over the runs).
fn merged_counts(m: &MergeJson<'_>) -> RunCounts {
    let n = |count: usize| count as u64;
    let report = m.report;
    RunCounts {
        runs: Some(n(m.folders.len())),
        plates: n(m.wells.plates.len()),
        wells: n(m.wells.wells),
        wells_by_role: m
            .wells
            .by_role
            .iter()
            .map(|(r, &c)| (r.clone(), n(c)))
            .collect(),
        cell_lines: n(m.wells.cell_lines.len()),
        drugs: n(m.wells.drugs.len()),
        flagged_wells: n(m.wells.flagged),
        excluded_wells: n(m.wells.excluded),
        qc_rows: n(m.qc.rows),
        qc_pass: n(m.qc.verdicts[0]),
        qc_warn: n(m.qc.verdicts[1]),
        qc_fail: n(m.qc.verdicts[2]),
        skipped_plates: m.folders.iter().map(|f| f.json.counts.skipped_plates).sum(),
        curves: CurveCounts::of(report.curves),
        shifts: ShiftCounts::of(report.compared, report.calls, report.cycles)
            .map(|c| c.with_replicates(report.replicates)),
        growth: None,
    }
}

/// The merge's own warnings, then each run's, named by run.
fn merged_warnings(m: &MergeJson<'_>) -> Vec<String> {
    let own = m.report.warnings.iter().map(|w| w.to_string());
    let runs = m.folders.iter().flat_map(|f| {
        f.json
            .warnings
            .iter()
            .map(move |w| format!("run {}: {w}", f.name))
    });
    own.chain(runs).collect()
}

/// Every run's plates left out, each named by its run.
fn merged_skipped(folders: &[RunFolder]) -> Vec<SkippedRecord> {
    folders
        .iter()
        .flat_map(|f| {
            f.json.skipped.iter().map(move |s| SkippedRecord {
                run: Some(f.name.clone()),
                ..s.clone()
            })
        })
        .collect()
}
