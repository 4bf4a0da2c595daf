//! Writing a run's typed results into its (staging) output folder: the well tables, the fit
//! tables, the comparison's files and `run.json`. Every writer takes finished results; the
//! figures, the report and the workbook are drawn from the staged files after.

use std::collections::BTreeMap;
use std::io::Write;

use super::stages::{Comparison, CurveSet, Fits, PlanResults, WellResults};
use super::{RunReport, Screen, WellSummary};
use crate::error::Result;
use crate::fit::table::write_fits_to;
use crate::fit::CurveFit;
use crate::growth::write_fits_with_growth;
use crate::lines::LinesTable;
use crate::network;
use crate::outdir::{FileWriter, Staging};
use crate::output::record::write_records;
use crate::output::run_json::{
    AssayRecord, CurveCounts, RunCounts, RunJson, RunSettings, ShiftCounts, SkippedRecord, TOOL,
};
use crate::output::tables::{call_matrix, log2_fc_matrix, write_matrix, ReplicateFit, Trajectory};
use crate::qc::WellOutcome;
use crate::shift::{write_shifts, Shift, ShiftSettings};

/// Stages the tables of the wells: `wells.csv` (every read: the endpoint reads with their
/// outcome and GR, the others excluded with the reason), `dip_rates.csv` and `qc.csv`.
pub(crate) fn write_well_tables(
    staging: &Staging,
    screen: &Screen,
    wells: &WellResults,
) -> Result<()> {
    let table = &screen.wells;
    let norm = &wells.normalized;
    let split = wells.endpoint_split.as_ref();
    // Every read in wells.csv: the endpoint reads with their outcome (and GR), the others
    // excluded with the reason.
    let all_outcomes =
        split.map(|(_, index)| wells.plan.all_outcomes(table, &norm.outcomes, index));
    let outcomes: &[WellOutcome] = all_outcomes.as_deref().unwrap_or(&norm.outcomes);
    match &wells.gr {
        None => staging.write("wells.csv", |w| {
            crate::output::write_wells(w, table, outcomes)
        })?,
        Some(gr) => {
            let mut per_read = vec![None; table.wells.len()];
            match split {
                Some((_, index)) => {
                    for (&i, &v) in index.iter().zip(&gr.gr) {
                        per_read[i] = v;
                    }
                }
                None => per_read.clone_from(&gr.gr),
            }
            staging.write("wells.csv", |w| {
                crate::output::write_wells_with_gr(w, table, outcomes, &per_read)
            })?
        }
    }
    if !wells.dip_rates.is_empty() {
        staging.write("dip_rates.csv", |w| write_records(w, &wells.dip_rates))?;
    }
    staging.write("qc.csv", |w| {
        crate::output::write_qc_with_skipped(w, &norm.qc, &screen.skipped)
    })?;
    Ok(())
}

/// Stages `fits.csv` (with the growth columns when there are growth fits), with curves per
/// replicate `fits_by_replicate.csv`, and with metric mic `mics.csv`.
pub(crate) fn write_fit_tables(staging: &Staging, set: &CurveSet, fits: &Fits) -> Result<()> {
    type Labelled<'a> = Vec<(&'a CurveFit, &'a String)>;
    let (pooled, by_replicate): (Labelled, Labelled) = fits
        .all
        .iter()
        .zip(&set.curves.replicate)
        .partition(|(_, r)| r.is_empty());
    let pooled: Vec<CurveFit> = pooled.into_iter().map(|(f, _)| f.clone()).collect();
    let replicate_curves = !set.replicate_curves.is_empty();
    if let Some(growth) = &fits.growth {
        // Split as the fits are: pooled curves, then those of single replicates.
        let (mut pooled_growth, mut by_replicate_growth) = (Vec::new(), Vec::new());
        for (g, r) in growth.iter().zip(&set.curves.replicate) {
            if r.is_empty() {
                pooled_growth.push(g.clone());
            } else {
                by_replicate_growth.push(g.clone());
            }
        }
        staging.write("fits.csv", |w| {
            write_fits_with_growth(w, &pooled, &pooled_growth, None)
        })?;
        if replicate_curves {
            let fits: Vec<CurveFit> = by_replicate.iter().map(|(f, _)| (*f).clone()).collect();
            let labels: Vec<String> = by_replicate.iter().map(|(_, r)| (*r).clone()).collect();
            staging.write("fits_by_replicate.csv", |w| {
                write_fits_with_growth(w, &fits, &by_replicate_growth, Some(&labels))
            })?;
        }
    } else {
        staging.write("fits.csv", |w| write_fits_to(&mut *w, &pooled))?;
    }
    if let Some(mics) = &set.mics {
        staging.write("mics.csv", |w| crate::mic::write_mics(w, mics))?;
    }
    if replicate_curves && fits.growth.is_none() {
        let rows = replicate_fits(&by_replicate);
        staging.write("fits_by_replicate.csv", |w| write_records(w, &rows))?;
    }
    Ok(())
}

/// The rows of `fits_by_replicate.csv`: each fit of one replicate's curve with its label.
pub(crate) fn replicate_fits(by_replicate: &[(&CurveFit, &String)]) -> Vec<ReplicateFit> {
    by_replicate
        .iter()
        .map(|(fit, replicate)| ReplicateFit {
            replicate: (*replicate).clone(),
            fit: (*fit).clone(),
        })
        .collect()
}

/// Stages the comparison: `shifts.csv` (written while the other tables and the network are),
/// everything built from the shifts, and with a plan its files.
pub(crate) fn write_comparison(
    staging: &Staging,
    comparison: &Comparison,
    settings: &ShiftSettings,
) -> Result<()> {
    let (written, tables) = rayon::join(
        || {
            staging.write("shifts.csv", |w| {
                write_shifts(w, &comparison.shifts, settings)
            })
        },
        || write_comparison_tables(staging, comparison),
    );
    written?;
    tables?;
    if let Some(plan) = &comparison.plan {
        write_plan_files(staging, plan)?;
    }
    Ok(())
}

/// Stages everything a comparison yields after `shifts.csv` (which `merge` writes with columns
/// of its own): `matrix.csv`, `calls.csv`, `likelihood.csv`, with evolution times
/// `trajectories.csv` and `stability.csv`, the network files and `cycles.csv`.
pub(crate) fn write_comparison_tables(staging: &Staging, c: &Comparison) -> Result<()> {
    let shifts = &c.shifts;
    let points = c.trajectory_points();
    let mut files: Vec<(&str, FileWriter)> = vec![
        (
            "matrix.csv",
            Box::new(|w| write_matrix(w, &log2_fc_matrix(shifts))),
        ),
        (
            "calls.csv",
            Box::new(|w| write_matrix(w, &call_matrix(shifts))),
        ),
        (
            "likelihood.csv",
            Box::new(|w| write_records(w, &c.likelihood)),
        ),
    ];
    if let (Some(points), Some(stability)) = (&points, &c.stability) {
        files.push((
            "trajectories.csv",
            Box::new(|w| {
                let rows: Vec<Trajectory> = points.iter().map(Trajectory::from).collect();
                write_records(w, &rows)
            }),
        ));
        files.push(("stability.csv", Box::new(|w| write_records(w, stability))));
    }
    files.extend([
        (
            "network.graphml",
            Box::new(|w: &mut std::io::BufWriter<std::fs::File>| {
                network::write_graphml(w, &c.edges)
            }) as FileWriter,
        ),
        ("network.dot", Box::new(|w| network::write_dot(w, &c.edges))),
        (
            "network.json",
            Box::new(|w| network::write_json(w, &c.edges)),
        ),
        ("cycles.csv", Box::new(|w| write_records(w, &c.cycles))),
    ]);
    staging.write_all(files)
}

/// [`write_comparison_tables`] of the comparison built from `shifts` (for `merge`, which
/// writes its own `shifts.csv`). Returns the number of cycles.
pub(crate) fn stage_comparison(
    staging: &Staging,
    shifts: &[Shift],
    lines: &LinesTable,
    s: &ShiftSettings,
) -> Result<usize> {
    let comparison = Comparison::of(shifts.to_vec(), lines, s, None);
    write_comparison_tables(staging, &comparison)?;
    Ok(comparison.cycles.len())
}

/// Stages `plan.csv`, with evolution times `policy.csv`, and `plan.md` (the plan in words).
pub(crate) fn write_plan_files(staging: &Staging, planned: &PlanResults) -> Result<()> {
    staging.write("plan.csv", |w| write_records(w, &planned.plan.sequences))?;
    if let Some(policy) = &planned.policy {
        staging.write("policy.csv", |w| write_records(w, policy))?;
    }
    staging.write("plan.md", |w| {
        writeln!(w, "# Therapy sequences\n")?;
        for paragraph in &planned.summary {
            writeln!(w, "{paragraph}\n")?;
        }
        Ok(())
    })
}

/// Builds `run.json`: version, input checksums, settings, counts, timings, warnings.
pub fn run_json(
    screen: &Screen,
    wells: &WellSummary,
    qc_rows: usize,
    report: &RunReport,
    timings: &BTreeMap<&str, f64>,
) -> Result<RunJson> {
    let path = screen.assay_path.as_ref().map(|p| p.display().to_string());
    Ok(RunJson {
        tool: TOOL.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started: None,
        assay: AssayRecord {
            name: screen.name.clone(),
            path: path.unwrap_or_default(),
            concentration_unit: screen.concentration_unit.clone(),
            evolution_time_unit: screen.evolution_time_unit.clone(),
        },
        merge: None,
        inputs: screen.inputs.clone(),
        settings: RunSettings::of(&screen.settings)?,
        counts: run_counts(wells, qc_rows, report),
        timings_seconds: timings.iter().map(|(k, &v)| (k.to_string(), v)).collect(),
        warnings: report.warnings.iter().map(|w| w.to_string()).collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedRecord {
                plate: s.plate.clone(),
                file: s.file.display().to_string(),
                reason: s.reason(),
                run: None,
            })
            .collect(),
        mic: None,
        manifest: None,
    })
}

/// The `counts` of `run.json`.
fn run_counts(wells: &WellSummary, qc_rows: usize, report: &RunReport) -> RunCounts {
    let n = |count: usize| count as u64;
    RunCounts {
        runs: None,
        plates: n(report.plates),
        wells: n(report.wells),
        wells_by_role: wells
            .by_role
            .iter()
            .map(|(r, &c)| (r.to_string(), n(c)))
            .collect(),
        cell_lines: n(wells.cell_lines),
        drugs: n(wells.drugs),
        flagged_wells: n(report.flagged),
        excluded_wells: n(report.excluded),
        qc_rows: n(qc_rows),
        qc_pass: n(report.verdicts[0]),
        qc_warn: n(report.verdicts[1]),
        qc_fail: n(report.verdicts[2]),
        skipped_plates: n(report.skipped.len()),
        curves: CurveCounts::of(report.curves),
        shifts: ShiftCounts::of(report.compared, report.calls, report.cycles),
        growth: None,
    }
}
