//! The commands on a finished comparison's inputs: `collateral shift` (shifts and the network
//! from a fits or MIC table) and `collateral plan` (therapy sequences from a run's folder).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::screen::input_record;
use super::stages::Comparison;
use super::write::{write_comparison, write_plan_files};
use crate::assay::Assay;
use crate::checked::{Check, Checked};
use crate::error::{Error, Problem, Result};
use crate::evidence::{Evidence, EvidenceSettings};
use crate::lines::LinesTable;
use crate::mic::MicSettings;
use crate::outdir::{Staging, TableFormat};
use crate::output::run_json::{PlanCounts, PlanJson, PlanJsonSettings, RunJson, TOOL};
use crate::plan::PlanSettings;
use crate::progress::{Progress, Stage};
use crate::shift::{compute_shifts, Metric, ShiftSettings};
use crate::table::Table;

/// What `collateral shift` did.
#[derive(Debug, Clone)]
pub struct ShiftReport {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Calls: cross_resistant, collateral_sensitive, neutral, undetermined.
    pub calls: [usize; 4],
    /// Cycles of the CS network.
    pub cycles: usize,
    /// What taking the output folder found (a stale lock or staging folder removed).
    pub warnings: Vec<Problem>,
    /// How many rows pooled replicate rows of the fits table or paired batches.
    pub replicates: crate::shift::ReplicateCounts,
}

impl ShiftReport {
    /// A short human summary.
    pub fn summary(&self) -> String {
        let [cr, cs, neutral, undetermined] = self.calls;
        let r = self.replicates;
        let mut how = Vec::new();
        if r.pooled > 0 {
            how.push(format!("{} with replicate rows pooled", r.pooled));
        }
        if r.batch_paired > 0 {
            how.push(format!("{} paired within batches", r.batch_paired));
        }
        let how = if how.is_empty() {
            String::new()
        } else {
            format!(" ({})", how.join(", "))
        };
        format!(
            "shifts: {cs} collaterally sensitive, {cr} cross-resistant, {neutral} neutral, {undetermined} undetermined{how}; {} CS cycles; wrote {} files",
            self.cycles,
            self.files.len()
        )
    }
}

/// `collateral shift`: shifts, matrix, network and cycles from a fits table and a lines table,
/// for users who fitted elsewhere, or from a MIC table (`cell_line, drug, replicate, mic[,
/// mic_qualifier]`, detected by its `mic` column) with metric mic.
/// `collateral shift`: shifts, matrix, network and cycles from a fits table and a lines table,
/// for users who fitted elsewhere, or from a MIC table (`cell_line, drug, replicate, mic[,
/// mic_qualifier]`, detected by its `mic` column) with metric mic. `progress` hears of the
/// comparison (shift rows computed); pass [`crate::progress::Silent`] for none.
pub fn shift(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: &ShiftSettings,
    progress: &dyn Progress,
) -> Result<ShiftReport> {
    shift_with(
        fits,
        lines,
        outdir,
        settings,
        &MicSettings::default(),
        &EvidenceSettings::default(),
        progress,
    )
}

/// [`shift`] with the `[mic]` settings a MIC table is compared under (ladders, the robust
/// model, `model = "log2-t"`; a fits table ignores them) and the evidence settings the shifts
/// are marked with (`collateral shift --evidence FILE --drug-aliases FILE
/// --no-bundled-evidence`; the bundled tables by default).
pub fn shift_with(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: &ShiftSettings,
    mic: &MicSettings,
    evidence: &EvidenceSettings,
    progress: &dyn Progress,
) -> Result<ShiftReport> {
    shift_as(
        fits,
        lines,
        outdir,
        (settings, mic, evidence),
        TableFormat::Csv,
        progress,
    )
}

/// [`shift_with`] writing its tables as `format` (`collateral shift --format`); `settings`
/// are the shift, `[mic]` and `[evidence]` settings.
pub fn shift_as(
    fits: &Path,
    lines: &Path,
    outdir: &Path,
    settings: (&ShiftSettings, &MicSettings, &EvidenceSettings),
    format: TableFormat,
    progress: &dyn Progress,
) -> Result<ShiftReport> {
    let (settings, mic, evidence) = settings;
    let settings = &settings.clone().check()?;
    let mic = &mic.clone().check()?;
    let evidence = &evidence.clone().check()?;
    let lines = LinesTable::read(lines)?;
    progress.begin(Stage::Compare, "shifts", None);
    let comparison = compare(&mut Table::open(fits)?, &lines, settings, mic, evidence)?;
    let mut staging = Staging::new(outdir)?;
    staging.set_tables(format, crate::frame::parquet::write_csv_as_parquet);
    write_comparison(&staging, &comparison, settings)?;
    let calls = comparison.call_counts();
    progress.end(comparison.shifts.len() as u64);
    let warnings = staging.take_warnings();
    Ok(ShiftReport {
        files: staging.commit()?,
        calls,
        cycles: comparison.cycles.len(),
        warnings,
        replicates: comparison.replicate_counts,
    })
}

/// The comparison `collateral shift` makes, in memory: shifts (marked with the evidence the
/// settings `evidence` name: tables and the lab's drug aliases), network and cycles from a
/// fits table or a MIC table (a `mic` column, compared with metric mic under the `[mic]`
/// settings `mic`) already opened (a file, or a table held in memory: the R package's data
/// frames) and a lines table.
pub fn compare(
    fits: &mut Table<'_>,
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
    mic: &Checked<MicSettings>,
    evidence: &Checked<EvidenceSettings>,
) -> Result<Comparison> {
    let (mut shifts, counts) = match (fits.column("mic").is_some(), settings.metric) {
        (true, Metric::Mic) => {
            let mics = crate::mic::mics_of_table(fits)?;
            let shifts = crate::mic::compute_shifts_with(&mics, lines, settings, mic).1;
            (shifts, Default::default())
        }
        (true, _) => return Err(crate::mic::not_a_fits_table(&fits.path)),
        (false, metric) => crate::shift::compute_shifts_with_replicates(
            &crate::shift::estimates_of_table(fits, metric)?,
            lines,
            settings,
        ),
    };
    crate::shift::annotate_evidence(&mut shifts, &evidence.load()?, &evidence.drug_aliases);
    let mut comparison = Comparison::of(shifts, lines, settings, None);
    comparison.replicate_counts = counts;
    Ok(comparison)
}

/// Choices of `collateral plan` beyond the planner's settings.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan on this metric's shifts, recomputed from the folder's `fits.csv` with the run's
    /// shift settings, instead of the run's own `shifts.csv`.
    pub metric: Option<Metric>,
    /// The lines table, instead of the one the run's assay names (needed for a folder of
    /// `collateral shift`, which has no `run.json`).
    pub lines: Option<PathBuf>,
}

/// What `collateral plan` did.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The plan in words (as `plan.md`).
    pub summary: Vec<String>,
    /// Warnings (taking the folder).
    pub warnings: Vec<Problem>,
}

/// `collateral plan RUN_DIR -o PLAN_DIR`: therapy sequences from a finished comparison.
///
/// Reads the run's `shifts.csv` (or recomputes shifts of `options.metric` from `fits.csv`) and
/// its lines table, and writes `plan.csv`, `plan.md` and `plots/plan.svg` into `outdir`. When
/// `outdir` is the run's own folder, the files join it (and its manifest); otherwise `outdir`
/// gets a `run.json` of its own naming the run planned from.
pub fn plan_folder(
    run_dir: &Path,
    outdir: &Path,
    settings: &PlanSettings,
    options: &PlanOptions,
) -> Result<PlanReport> {
    let settings = &settings.clone().check()?;
    let started = crate::outdir::now_rfc3339_millis();
    let run_json_path = run_dir.join("run.json");
    let run_json = RunJson::read_optional(&run_json_path)?;
    let lines_path = planned_lines(options, run_json.as_ref(), run_dir, &run_json_path)?;
    let lines = LinesTable::read(&lines_path)?;
    let mut shifts = match options.metric {
        Some(metric) => {
            let mut s: ShiftSettings = run_json
                .as_ref()
                .map(|j| j.settings.shift_or_default())
                .unwrap_or_default();
            s.metric = metric;
            let estimates = crate::shift::read_estimates(&run_dir.join("fits.csv"), metric)?;
            compute_shifts(&estimates, &lines, &s.check()?)
        }
        None => crate::output::tables::read_shifts(&run_dir.join("shifts.csv"))?,
    };
    // Shifts recomputed here, or read from a table written before the evidence columns, are
    // marked with the bundled evidence; a run's own marks (its `[evidence]` files, its
    // aliases) are kept.
    if options.metric.is_some() || !has_evidence_column(&run_dir.join("shifts.csv"))? {
        crate::shift::annotate_evidence(&mut shifts, &Evidence::bundled()?, &Default::default());
    }
    if let Some(start) = &settings.start {
        check_start(start, &shifts)?;
    }
    let same = matches!(
        (run_dir.canonicalize(), outdir.canonicalize()),
        (Ok(a), Ok(b)) if a == b
    );
    let mut staging = Staging::new(outdir)?;
    staging.set_tables(
        folder_format(run_dir),
        crate::frame::parquet::write_csv_as_parquet,
    );
    let previous = staging.previous_manifest();
    let planned = super::stages::plan_sequences(&shifts, &lines, settings);
    write_plan_files(&staging, &planned)?;
    let figure = crate::plot::plan::PlanFigure::read(&staging.dir().join("plan.csv"))?;
    let svg = crate::plot::render(&figure, crate::plot::Format::Svg, figure.size())
        .map_err(|m| Error::input(crate::Location::file(outdir.join("plots/plan.svg")), m))?;
    staging.write("plots/plan.svg", |w| w.write_all(&svg))?;
    let mut warnings = staging.take_warnings();
    let files = if same {
        staging.add_to_manifest()?;
        staging.commit()?
    } else {
        let mut inputs = vec![input_record(&lines_path)?];
        for f in ["shifts.csv", "fits.csv", "run.json"] {
            let p = run_dir.join(f);
            if p.is_file() {
                inputs.push(input_record(&p)?);
            }
        }
        let record = PlanJson {
            tool: TOOL.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: "plan".into(),
            started,
            run: run_dir.display().to_string(),
            inputs,
            settings: PlanJsonSettings {
                plan: (**settings).clone(),
                metric: options.metric,
            },
            counts: PlanCounts {
                scorable: planned.plan.scorable as u64,
                unscorable: planned.plan.unscorable as u64,
            },
            manifest: None,
        };
        staging.write_with_manifest(record.to_value()?)?;
        let (files, more) = staging.commit_replacing(&previous)?;
        warnings.extend(more);
        files
    };
    Ok(PlanReport {
        files,
        summary: planned.summary,
        warnings,
    })
}

/// The lines table a plan reads: `--lines`, or the one the run's assay names.
fn planned_lines(
    options: &PlanOptions,
    run_json: Option<&RunJson>,
    run_dir: &Path,
    run_json_path: &Path,
) -> Result<PathBuf> {
    match (&options.lines, run_json) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(json)) => {
            let assay_path = PathBuf::from(&json.assay.path);
            if !assay_path.is_file() {
                return Err(Error::input(
                    crate::Location::file(run_json_path),
                    "names no assay file that can be found from here, so its lines table is unknown; give the lines table with --lines",
                ));
            }
            Assay::from_file(&assay_path)?.lines.ok_or_else(|| {
                Error::input(
                    crate::Location::file(&assay_path),
                    "names no lines table: the run compared no lines, so there is nothing to plan from",
                )
            })
        }
        (None, None) => Err(Error::input(
            crate::Location::file(run_dir),
            "holds no run.json (a `collateral shift` folder?); give the lines table with --lines",
        )),
    }
}

/// `--start DRUG` must be a drug of the run (tested or selected with).
fn check_start(start: &str, shifts: &[crate::shift::Shift]) -> Result<()> {
    let mut drugs: BTreeSet<&str> = shifts.iter().map(|s| s.drug.as_str()).collect();
    drugs.extend(shifts.iter().map(|s| s.selected_with.as_str()));
    drugs.remove("");
    if drugs.contains(start) {
        return Ok(());
    }
    let all: Vec<&str> = drugs.into_iter().collect();
    Err(Error::config(
        crate::Location::default(),
        format!(
            "--start {start}: no such drug in the run{}; its drugs: {}",
            crate::error::did_you_mean(start, &all),
            all.join(", ")
        ),
    ))
}

/// Whether a shifts table has the `evidence` column (tables written before it have not).
fn has_evidence_column(path: &Path) -> Result<bool> {
    if !crate::table::parquet::table_exists(path) {
        return Ok(false);
    }
    Ok(crate::table::Table::open(path)?
        .column("evidence")
        .is_some())
}

/// The form of a finished folder's tables, for what `collateral plan` adds to it: Parquet when
/// its `shifts` table is only `shifts.parquet`, both when it has both, else CSV.
fn folder_format(dir: &Path) -> TableFormat {
    match (
        dir.join("shifts.csv").is_file(),
        dir.join("shifts.parquet").is_file(),
    ) {
        (false, true) => TableFormat::Parquet,
        (true, true) => TableFormat::Both,
        _ => TableFormat::Csv,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const LINES: &str = "cell_line,parental_line,selected_with\nP,,\nR,P,a\n";

    fn mic() -> Checked<MicSettings> {
        MicSettings::default().check().unwrap()
    }

    fn lines() -> LinesTable {
        let mut t = Table::from_bytes(LINES.as_bytes(), Path::new("<lines>")).unwrap();
        LinesTable::from_table(&mut t).unwrap()
    }

    /// A fits table held in memory gives the shifts of the same table read from a file, and
    /// its problems name the table it was given as.
    #[test]
    fn compare_reads_a_table_in_memory_as_a_file() {
        let fits = "cell_line,drug,ic50,ic50_qualifier,ic50_ci_low,ic50_ci_high,status\n\
                    P,a,1.0,=,0.8,1.25,ok\nR,a,8.0,=,6.4,10.0,ok\nP,b,1,=,0.8,1.25,ok\nR,b,20,>,,,ok\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fits.csv");
        std::fs::write(&path, fits).unwrap();
        let settings = ShiftSettings::default().check().unwrap();
        let from_file = compare(
            &mut Table::open(&path).unwrap(),
            &lines(),
            &settings,
            &mic(),
            &Checked::default(),
        )
        .unwrap();
        let mut in_memory = Table::from_bytes(fits.as_bytes(), Path::new("<fits>")).unwrap();
        let from_memory = compare(
            &mut in_memory,
            &lines(),
            &settings,
            &mic(),
            &Checked::default(),
        )
        .unwrap();
        // Debug text: NaN (no interval for a censored shift) equals NaN there.
        assert_eq!(
            format!("{:?}", from_file.shifts),
            format!("{:?}", from_memory.shifts)
        );
        assert_eq!(from_memory.shifts.len(), 2);
        let bad = "cell_line,drug,ic50\nP,a,1\nR,a,lots\n";
        let mut bad = Table::from_bytes(bad.as_bytes(), Path::new("<fits>")).unwrap();
        let e = compare(&mut bad, &lines(), &settings, &mic(), &Checked::default()).unwrap_err();
        assert!(e.to_string().starts_with("<fits>:3:"), "{e}");
    }

    /// A MIC table is compared with metric mic only.
    #[test]
    fn compare_takes_a_mic_table_with_metric_mic() {
        let mics = "cell_line,drug,replicate,mic\nP,a,1,1\nP,a,2,1\nR,a,1,16\nR,a,2,8\n";
        let table = || Table::from_bytes(mics.as_bytes(), Path::new("<mics>")).unwrap();
        let by_mic = ShiftSettings {
            metric: Metric::Mic,
            ..Default::default()
        };
        let shifts = compare(
            &mut table(),
            &lines(),
            &by_mic.check().unwrap(),
            &mic(),
            &Checked::default(),
        )
        .unwrap()
        .shifts;
        assert_eq!(shifts.len(), 1);
        assert!(shifts[0].log2_fc > 2.0, "{:?}", shifts[0]);
        let ic50 = ShiftSettings::default().check().unwrap();
        let e = compare(&mut table(), &lines(), &ic50, &mic(), &Checked::default()).unwrap_err();
        assert!(e.to_string().contains("is a MIC table"), "{e}");
    }
}
