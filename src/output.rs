//! Output tables and `run.json`. Column names and order are contracts (DESIGN.md).
//!
//! Floats are written in Rust's shortest round-trip form, so a value read back is bit-identical
//! and the same run gives the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::assay::Assay;
use crate::qc::PlateQc;
use crate::run::{Normalized, RunReport, WellOutcome};
use crate::wells::{Signal, WellTable};

/// Formats an optional float: empty when absent (see [`crate::fit::format_number`]).
pub fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, crate::fit::format_number)
}

/// Formats a float that may not exist (NaN or infinite): empty when absent.
pub fn opt_nan(v: f64) -> String {
    crate::fit::format_number(v)
}

/// Writes `wells.csv`: the tidy columns, optional/extra columns, then viability and exclusion.
pub fn write_wells(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: &[WellOutcome],
) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = vec![
        "plate",
        "well",
        "cell_line",
        "drug",
        "concentration",
        "role",
        "signal",
    ];
    if table.has_replicate {
        header.push("replicate");
    }
    if table.has_time {
        header.push("time");
    }
    header.extend(table.extra_columns.iter().map(String::as_str));
    header.extend(["viability", "excluded", "exclusion_reason"]);
    out.write_record(&header)?;
    // One reused buffer for numbers: this loop runs once per well of a whole screen.
    let mut num = String::new();
    let mut field_f64 = |out: &mut csv::Writer<&mut dyn Write>, v: Option<f64>| {
        num.clear();
        if let Some(x) = v {
            use std::fmt::Write as _;
            let _ = if x == 0.0 || (1e-4..1e15).contains(&x.abs()) {
                write!(num, "{x}")
            } else {
                write!(num, "{x:e}")
            };
        }
        out.write_field(num.as_bytes())
    };
    for (well, o) in table.wells.iter().zip(outcomes) {
        out.write_field(&well.plate)?;
        out.write_field(well.position.to_string())?;
        out.write_field(&well.cell_line)?;
        out.write_field(&well.drug)?;
        field_f64(&mut out, well.concentration)?;
        out.write_field(well.role.as_str())?;
        match &well.signal {
            Signal::Value(v) => field_f64(&mut out, Some(*v))?,
            Signal::NotNumeric(t) => out.write_field(t)?,
        }
        if table.has_replicate {
            out.write_field(&well.replicate)?;
        }
        if table.has_time {
            field_f64(&mut out, well.time)?;
        }
        for x in &well.extra {
            out.write_field(x)?;
        }
        field_f64(&mut out, o.viability)?;
        out.write_field(if o.excluded { "true" } else { "false" })?;
        out.write_field(&o.exclusion_reason)?;
        out.write_record(None::<&[u8]>)?;
    }
    out.flush()
}

/// The columns of `qc.csv`, in order.
pub const QC_COLUMNS: [&str; 26] = [
    "plate",
    "cell_line",
    "replicate",
    "plate_size",
    "n_vehicle",
    "n_blank",
    "n_sample",
    "n_flagged",
    "mean_vehicle",
    "sd_vehicle",
    "mean_blank",
    "sd_blank",
    "blank_source",
    "z_prime",
    "cv_vehicle",
    "signal_to_background",
    "ssmd",
    "edge_effect",
    "edge_effect_p",
    "row_trend",
    "row_trend_p",
    "column_trend",
    "column_trend_p",
    "spatial_flag",
    "verdict",
    "reason",
];

/// Writes `qc.csv`.
pub fn write_qc(w: &mut dyn Write, rows: &[PlateQc]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(QC_COLUMNS)?;
    let pair = |t: Option<(f64, f64)>| (opt(t.map(|x| x.0)), opt(t.map(|x| x.1)));
    for r in rows {
        let (edge, edge_p) = pair(r.spatial.edge_effect);
        let (row, row_p) = pair(r.spatial.row_trend);
        let (col, col_p) = pair(r.spatial.column_trend);
        out.write_record([
            r.plate.clone(),
            r.cell_line.clone().unwrap_or_default(),
            r.replicate.clone(),
            r.format.wells().to_string(),
            r.n_vehicle.to_string(),
            r.n_blank.to_string(),
            r.n_sample.to_string(),
            r.n_flagged.to_string(),
            opt(r.mean_vehicle),
            opt(r.sd_vehicle),
            opt(r.mean_blank),
            opt(r.sd_blank),
            r.blank_source.as_str().to_string(),
            opt(r.z_prime),
            opt(r.cv_vehicle),
            opt(r.signal_to_background),
            opt(r.ssmd),
            edge,
            edge_p,
            row,
            row_p,
            col,
            col_p,
            r.spatial_flag.to_string(),
            r.verdict.as_str().to_string(),
            r.reason.clone(),
        ])?;
    }
    out.flush()
}

/// Builds `run.json`: version, input checksums, settings, counts, timings, warnings.
pub fn run_json(
    assay: &Assay,
    inputs: &[(PathBuf, String, u64)],
    table: &WellTable,
    norm: &Normalized,
    report: &RunReport,
    timings: &BTreeMap<&str, f64>,
) -> Value {
    let files: Vec<Value> = inputs
        .iter()
        .map(|(p, sha, bytes)| json!({ "path": p.display().to_string(), "sha256": sha, "bytes": bytes }))
        .collect();
    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &table.wells {
        *by_role.entry(w.role.as_str()).or_default() += 1;
    }
    let cell_lines: std::collections::BTreeSet<&str> = table
        .wells
        .iter()
        .map(|w| w.cell_line.as_str())
        .filter(|l| !l.is_empty())
        .collect();
    let drugs: std::collections::BTreeSet<&str> = table
        .wells
        .iter()
        .map(|w| w.drug.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    json!({
        "tool": "collateral",
        "version": env!("CARGO_PKG_VERSION"),
        "assay": {
            "name": assay.name,
            "path": assay.path.display().to_string(),
            "concentration_unit": assay.concentration_unit,
        },
        "inputs": files,
        "settings": serde_json::to_value(&assay.settings).expect("settings serialize"),
        "counts": {
            "plates": report.plates,
            "wells": report.wells,
            "wells_by_role": by_role,
            "cell_lines": cell_lines.len(),
            "drugs": drugs.len(),
            "flagged_wells": report.flagged,
            "excluded_wells": report.excluded,
            "qc_rows": norm.qc.len(),
            "qc_pass": report.verdicts[0],
            "qc_warn": report.verdicts[1],
            "qc_fail": report.verdicts[2],
            "curves": {
                "ok": report.curves[0],
                "flat": report.curves[1],
                "insufficient_data": report.curves[2],
                "failed": report.curves[3],
            },
            "shifts": if report.compared {
                json!({
                    "cross_resistant": report.calls[0],
                    "collateral_sensitive": report.calls[1],
                    "neutral": report.calls[2],
                    "undetermined": report.calls[3],
                    "cycles": report.cycles,
                })
            } else {
                Value::Null
            },
        },
        "timings_seconds": timings,
        "warnings": report.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
    })
}
