//! `run.json` of a merged folder.

use super::*;

/// What `run.json` of a merged folder is built from.
pub(super) struct MergeJson<'a> {
    pub(super) folders: &'a [RunFolder],
    pub(super) options: &'a MergeOptions,
    pub(super) started: &'a str,
    pub(super) unit: &'a str,
    pub(super) settings: &'a ShiftSettings,
    pub(super) inputs: &'a [crate::run::InputRecord],
    pub(super) lines: Option<&'a MergedLines>,
    pub(super) duplicates: &'a [(Key, usize, Vec<usize>)],
    pub(super) renamed_plates: &'a BTreeSet<String>,
    pub(super) wells: &'a WellCounts,
    pub(super) qc: &'a QcCounts,
    /// Metric mic: the runs' common MIC threshold and the dilution model's summary (`None`
    /// without a lines table).
    pub(super) mic: Option<(f64, Option<Value>)>,
    pub(super) report: &'a MergeReport,
}

/// `run.json` of a merged folder: the keys of a run's (so `collateral plot` and the report read
/// it alike) plus `merge`, which names the runs, the duplicates resolved and the plates renamed.
/// `inputs` are the runs' `run.json` files and the lines tables read.
pub(super) fn merge_json(m: MergeJson<'_>) -> Value {
    let folders = m.folders;
    let report = m.report;
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    let assays: Vec<&str> = folders
        .iter()
        .filter_map(|f| f.json["assay"]["path"].as_str())
        .collect();
    let runs: Vec<Value> = folders
        .iter()
        .map(|f| {
            json!({
                "run": f.name,
                "folder": f.dir.display().to_string(),
                "run_json_sha256": f.record.sha256,
                "started": f.json["started"],
                "assay": f.json["assay"],
                "version": f.json["version"],
                "settings": f.json["settings"],
            })
        })
        .collect();
    let duplicates: Vec<Value> = m
        .duplicates
        .iter()
        .map(|((line, drug), kept, dropped)| {
            json!({
                "cell_line": line,
                "drug": drug,
                "kept": folders[*kept].name,
                "left_out": dropped.iter().map(|&r| folders[r].name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let inputs = crate::run::inputs_json(m.inputs);
    let mut warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    let mut skipped = Vec::new();
    let mut skipped_plates = 0u64;
    for f in folders {
        for w in f.json["warnings"].as_array().into_iter().flatten() {
            if let Some(w) = w.as_str() {
                warnings.push(format!("run {}: {w}", f.name));
            }
        }
        for s in f.json["skipped"].as_array().into_iter().flatten() {
            let mut s = s.clone();
            if let Some(o) = s.as_object_mut() {
                o.insert(RUN_COLUMN.into(), f.name.clone().into());
            }
            skipped.push(s);
        }
        skipped_plates += f.json["counts"]["skipped_plates"].as_u64().unwrap_or(0);
    }
    let mut timings = BTreeMap::new();
    timings.insert("total", report.seconds);
    let mut settings =
        json!({ "shift": serde_json::to_value(m.settings).expect("settings serialize") });
    if let Some((threshold, _)) = &m.mic {
        settings["mic"] = json!({ "threshold": threshold });
    }
    let mut out = json!({
        "tool": "collateral",
        "version": env!("CARGO_PKG_VERSION"),
        "started": m.started,
        "assay": {
            "name": format!("merge of {}", names.join(", ")),
            "path": assays.join(", "),
            "concentration_unit": m.unit,
        },
        "merge": {
            "runs": runs,
            "on_duplicate": m.options.on_duplicate.name(),
            "duplicates": duplicates,
            "lines": m.lines.map(|l| l.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()),
            "renamed_plates": m.renamed_plates,
            "superseded_wells": m.wells.superseded,
            "cross_run_shifts": report.cross_run,
        },
        "inputs": inputs,
        "settings": settings,
        "counts": {
            "runs": folders.len(),
            "plates": m.wells.plates.len(),
            "wells": m.wells.wells,
            "wells_by_role": m.wells.by_role,
            "cell_lines": m.wells.cell_lines.len(),
            "drugs": m.wells.drugs.len(),
            "flagged_wells": m.wells.flagged,
            "excluded_wells": m.wells.excluded,
            "qc_rows": m.qc.rows,
            "qc_pass": m.qc.verdicts[0],
            "qc_warn": m.qc.verdicts[1],
            "qc_fail": m.qc.verdicts[2],
            "skipped_plates": skipped_plates,
            "curves": crate::run::curve_counts_json(report.curves),
            "shifts": crate::run::shift_counts_json(report.compared, report.calls, report.cycles),
        },
        "timings_seconds": timings,
        "warnings": warnings,
        "skipped": skipped,
    });
    if let Some((_, Some(model))) = &m.mic {
        // The dilution error model fitted to the merged MICs, as a run records its own.
        out["mic"] = model.clone();
    }
    out
}
