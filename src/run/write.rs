//! Writing a run's typed results into its (staging) output folder: the well tables, the fit
//! tables, the comparison's files and `run.json`. Every writer takes finished results; the
//! figures, the report and the workbook are drawn from the staged files after.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use arrow_array::RecordBatch;

use super::stages::{Comparison, CurveSet, Fits, PlanResults, WellResults};
use super::{RunReport, Screen, WellSummary};
use crate::error::Result;
use crate::fit::table::write_fits_to;
use crate::fit::CurveFit;
use crate::frame::parquet::{batch_of_records, batch_of_rows, write_batch, WellInputs};
use crate::frame::{matrix_batch, qc_batch, shifts_batch};
use crate::growth::{write_fits_with_growth, GrowthFit};
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
/// outcome and GR, the others excluded with the reason), `dip_rates.csv` and `qc.csv`;
/// `ahead`: the input columns of `wells.parquet` when already encoded.
pub(crate) fn write_well_tables(
    staging: &Staging,
    screen: &Screen,
    wells: &WellResults,
    ahead: Option<WellInputs>,
) -> Result<()> {
    let table = &screen.wells;
    let norm = &wells.normalized;
    let (outcomes, gr) = well_columns(screen, wells);
    let format = staging.table_format();
    // CSV and Parquet side by side with `both`.
    let (csv, parquet) = rayon::join(
        || {
            if !format.csv() {
                return Ok(());
            }
            match &gr {
                None => staging.write("wells.csv", |w| {
                    crate::output::write_wells(w, table, &outcomes)
                }),
                Some(gr) => staging.write("wells.csv", |w| {
                    crate::output::write_wells_with_gr(w, table, &outcomes, gr)
                }),
            }
        },
        || {
            if !format.parquet() {
                return Ok(());
            }
            staging.write("wells.parquet", |w| {
                crate::frame::parquet::write_wells(w, table, &outcomes, gr.as_deref(), ahead)
            })
        },
    );
    csv?;
    parquet?;
    if !wells.dip_rates.is_empty() {
        staging.write_typed_table(
            "dip_rates.csv",
            |w| write_records(w, &wells.dip_rates),
            parquet_of(|| batch_of_records(&wells.dip_rates)),
        )?;
    }
    staging.write_typed_table(
        "qc.csv",
        |w| crate::output::write_qc_with_skipped(w, &norm.qc, &screen.skipped),
        parquet_of(|| qc_batch(&norm.qc, &screen.skipped)),
    )?;
    Ok(())
}

/// The Parquet writer of a table whose typed columns `batch` gathers from its rows (only when
/// it is written): the columns a reader of the table's CSV text gets ([`crate::frame`]), so
/// the Parquet file equals the CSV value for value without the text being formatted and
/// parsed back.
fn parquet_of(
    batch: impl FnOnce() -> RecordBatch,
) -> impl FnOnce(&mut dyn Write) -> std::io::Result<()> {
    move |w| write_batch(w, &batch())
}

/// [`parquet_of`] boxed, for [`crate::outdir::Staging::write_all`].
fn boxed_parquet_of<'a>(batch: impl FnOnce() -> RecordBatch + Send + 'a) -> Option<FileWriter<'a>> {
    Some(Box::new(parquet_of(batch)))
}

/// The fit tables of a run, split as they are written: the pooled curves' fits (`fits.csv`)
/// and those of single replicates (`fits_by_replicate.csv`), each with its growth fits when
/// the run has growth data.
pub(crate) struct FitTables {
    /// The fits of the pooled curves.
    pub pooled: Vec<CurveFit>,
    /// Their growth fits, with growth data.
    pub(crate) pooled_growth: Option<Vec<GrowthFit>>,
    /// The fits of single replicates' curves, with their replicate.
    pub by_replicate: Vec<ReplicateFit>,
    /// Their growth fits, with growth data.
    pub(crate) by_replicate_growth: Option<Vec<GrowthFit>>,
    /// Whether the run writes `fits_by_replicate.csv` (some lines have curves per replicate).
    pub(crate) replicate_curves: bool,
    /// The fits of the curves per batch, with their batch (`fits_by_batch.csv`), when the
    /// wells name batches.
    pub(crate) by_batch: Option<Vec<super::batches::BatchFit>>,
}

impl FitTables {
    /// The fit tables of `fits` of the curves of `set`.
    pub(crate) fn of(set: &CurveSet, fits: &Fits) -> FitTables {
        let mut t =
            FitTables {
                pooled: Vec::new(),
                pooled_growth: fits.growth.as_ref().map(|_| Vec::new()),
                by_replicate: Vec::new(),
                by_replicate_growth: fits.growth.as_ref().map(|_| Vec::new()),
                replicate_curves: !set.replicate_curves.is_empty(),
                by_batch: set.by_batch.as_ref().zip(fits.by_batch.as_ref()).map(
                    |(curves, fits)| {
                        fits.iter()
                            .zip(&curves.replicate)
                            .map(|(f, b)| super::batches::BatchFit {
                                batch: b.clone(),
                                fit: f.clone(),
                            })
                            .collect()
                    },
                ),
            };
        for (i, (f, r)) in fits.all.iter().zip(&set.curves.replicate).enumerate() {
            let growth = if r.is_empty() {
                t.pooled.push(f.clone());
                t.pooled_growth.as_mut()
            } else {
                t.by_replicate.push(ReplicateFit {
                    replicate: r.clone(),
                    fit: f.clone(),
                });
                t.by_replicate_growth.as_mut()
            };
            if let (Some(list), Some(all)) = (growth, &fits.growth) {
                list.push(all[i].clone());
            }
        }
        t
    }

    /// The fits and the labels of `fits_by_replicate.csv`, for the writer with growth columns.
    pub(crate) fn replicate_labels(&self) -> (Vec<CurveFit>, Vec<String>) {
        self.by_replicate
            .iter()
            .map(|r| (r.fit.clone(), r.replicate.clone()))
            .unzip()
    }
}

/// The outcome of every read of the screen's wells and, with growth data, its GR value, as
/// `wells.csv` lists them: the endpoint reads with their outcome (and GR), the others excluded
/// with the reason.
pub(crate) fn well_columns<'a>(
    screen: &Screen,
    wells: &'a WellResults,
) -> (Cow<'a, [WellOutcome]>, Option<Vec<Option<f64>>>) {
    let table = &screen.wells;
    let norm = &wells.normalized;
    let split = wells.endpoint_split.as_ref();
    let outcomes = match split {
        Some((_, index)) => Cow::Owned(wells.plan.all_outcomes(table, &norm.outcomes, index)),
        None => Cow::Borrowed(norm.outcomes.as_slice()),
    };
    let gr = wells.gr.as_ref().map(|gr| {
        let mut per_read = vec![None; table.wells.len()];
        match split {
            Some((_, index)) => {
                for (&i, &v) in index.iter().zip(&gr.gr) {
                    per_read[i] = v;
                }
            }
            None => per_read.clone_from(&gr.gr),
        }
        per_read
    });
    (outcomes, gr)
}

/// Stages `fits.csv` (with the growth columns when there are growth fits), with curves per
/// replicate `fits_by_replicate.csv`, and with metric mic `mics.csv`.
pub(crate) fn write_fit_tables(staging: &Staging, set: &CurveSet, fits: &Fits) -> Result<()> {
    let t = FitTables::of(set, fits);
    // In the order the files were always written (run.json lists them so).
    if let (Some(growth), Some(by_replicate_growth)) = (&t.pooled_growth, &t.by_replicate_growth) {
        staging.write_typed_table(
            "fits.csv",
            |w| write_fits_with_growth(w, &t.pooled, growth, None),
            parquet_of(|| growth_batch("fits.csv", &t.pooled, growth, None)),
        )?;
        if t.replicate_curves {
            let (fits, labels) = t.replicate_labels();
            let file = "fits_by_replicate.csv";
            staging.write_typed_table(
                file,
                |w| write_fits_with_growth(w, &fits, by_replicate_growth, Some(&labels)),
                parquet_of(|| growth_batch(file, &fits, by_replicate_growth, Some(&labels))),
            )?;
        }
    } else {
        staging.write_typed_table(
            "fits.csv",
            |w| write_fits_to(&mut *w, &t.pooled),
            parquet_of(|| batch_of_records(&t.pooled)),
        )?;
    }
    if let Some(mics) = &set.mics {
        staging.write_typed_table(
            "mics.csv",
            |w| crate::mic::write_mics(w, mics),
            parquet_of(|| batch_of_records(mics)),
        )?;
    }
    if t.replicate_curves && t.pooled_growth.is_none() {
        staging.write_typed_table(
            "fits_by_replicate.csv",
            |w| write_records(w, &t.by_replicate),
            parquet_of(|| batch_of_records(&t.by_replicate)),
        )?;
    }
    if let Some(rows) = &t.by_batch {
        staging.write_typed_table(
            "fits_by_batch.csv",
            |w| write_records(w, rows),
            parquet_of(|| batch_of_records(rows)),
        )?;
    }
    Ok(())
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
            staging.write_typed_table(
                "shifts.csv",
                |w| write_shifts(w, &comparison.shifts, settings),
                parquet_of(|| shifts_batch(&comparison.shifts, settings)),
            )
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
    // Each table with the writer of its Parquet from its typed rows.
    let mut files: Vec<(&str, FileWriter, Option<FileWriter>)> = vec![
        (
            "matrix.csv",
            Box::new(|w| write_matrix(w, &log2_fc_matrix(shifts))),
            boxed_parquet_of(|| matrix_batch(&log2_fc_matrix(shifts))),
        ),
        (
            "calls.csv",
            Box::new(|w| write_matrix(w, &call_matrix(shifts))),
            boxed_parquet_of(|| matrix_batch(&call_matrix(shifts))),
        ),
        (
            "likelihood.csv",
            Box::new(|w| write_records(w, &c.likelihood)),
            boxed_parquet_of(|| batch_of_records(&c.likelihood)),
        ),
    ];
    if let (Some(points), Some(stability)) = (&points, &c.stability) {
        let rows = || -> Vec<Trajectory> { points.iter().map(Trajectory::from).collect() };
        files.push((
            "trajectories.csv",
            Box::new(move |w| write_records(w, &rows())),
            boxed_parquet_of(move || batch_of_records(&rows())),
        ));
        files.push((
            "stability.csv",
            Box::new(|w| write_records(w, stability)),
            boxed_parquet_of(|| batch_of_records(stability)),
        ));
    }
    files.extend([
        (
            "network.graphml",
            Box::new(|w: &mut dyn Write| network::write_graphml(w, &c.edges)) as FileWriter,
            None,
        ),
        (
            "network.dot",
            Box::new(|w| network::write_dot(w, &c.edges)),
            None,
        ),
        (
            "network.json",
            Box::new(|w| network::write_json(w, &c.edges)),
            None,
        ),
        (
            "cycles.csv",
            Box::new(|w| write_records(w, &c.cycles)),
            boxed_parquet_of(|| batch_of_records(&c.cycles)),
        ),
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
    staging.write_typed_table(
        "plan.csv",
        |w| write_records(w, &planned.plan.sequences),
        parquet_of(|| batch_of_records(&planned.plan.sequences)),
    )?;
    if let Some(policy) = &planned.policy {
        staging.write_typed_table(
            "policy.csv",
            |w| write_records(w, policy),
            parquet_of(|| batch_of_records(policy)),
        )?;
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
        shifts: ShiftCounts::of(report.compared, report.calls, report.cycles)
            .map(|c| c.with_replicates(report.replicate_counts)),
        growth: None,
    }
}

/// The typed columns of a fit table with growth columns (`fits.csv`, or with `labels`
/// `fits_by_replicate.csv`), as [`write_fits_with_growth`] writes it.
fn growth_batch(
    file: &str,
    fits: &[CurveFit],
    growth: &[GrowthFit],
    labels: Option<&[String]>,
) -> RecordBatch {
    let (header, rows) = crate::growth::columns::growth_fit_rows(fits, growth, labels);
    batch_of_rows(file, &header, rows.len(), rows)
}
