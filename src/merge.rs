//! `collateral merge`: several `collateral run` output folders (weekly batches, lines screened
//! on different days) become one output folder, as if one run had compared them all.
//!
//! Nothing is refitted: each run's `fits.csv` rows are taken as they are, and the shifts are
//! computed from them by the same functions as `collateral run` and `collateral shift`
//! ([`crate::shift::read_estimates`], [`crate::shift::compute_shifts`], [`crate::network`]), so
//! the Benjamini–Hochberg family is the whole merged matrix. Every row keeps where it came from
//! (a `run` column: the run folder's name).
//!
//! The rules, in the order they are checked:
//! - every folder is a finished `collateral run` output (its `run.json`, `fits.csv`, `wells.csv`
//!   and `qc.csv`); folder names are unique (they are the `run` values);
//! - every run used the same concentration unit and the same shift settings (`--metric`,
//!   `--tau`, `--alpha`, `--rule`, `--max-cycle-length` choose one for all instead); other
//!   settings (QC, normalization, fit) may differ, with a warning;
//! - one fit per (cell line, drug): the same pair fitted in two runs is an error naming both,
//!   unless [`OnDuplicate::Newest`] keeps the fit of the run that started last (`run.json`
//!   `started`); the wells behind a fit left out are marked excluded in the merged `wells.csv`
//!   (and `dip_rates.csv`), so the dose-response panels show the points of the curve drawn;
//! - the lines table is the union of the runs' lines tables (read through each run's assay file,
//!   as named in its `run.json`), or one table given with `--lines`;
//! - with metric mic every run has a `mics.csv` read at one `mic.threshold`: the kept pairs'
//!   MICs are merged and one dilution model is fitted to them.
//!
//! The parts: `runs` reads each folder and checks them against each other, `fits` keeps one
//! fit per (cell line, drug) and builds the estimates, `lines` merges the lines tables,
//! `tables` writes the per-well and per-plate tables, `json` the merged `run.json`; this
//! file runs them in order and stages the comparison.
//!
//! A resistant line is compared with whichever fit of its parental line the merge holds, from
//! its own run or another: the `run` and `parental_run` columns of `shifts.csv` say which, and a
//! warning counts the comparisons across runs, because nothing corrects for differences between
//! batches.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::assay::Assay;
use crate::checked::Check;
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::fit::FitStatus;
use crate::lines::{CellLine, LinesTable};
use crate::outdir::Staging;
use crate::run::input_record;
use crate::shift::{
    compute_shifts_with_replicates, read_estimates, write_shifts_with, CallRule, Estimate, Metric,
    Shift, ShiftSettings,
};
use crate::table::{field, read_bytes, Table};

mod fits;
mod json;
mod lines;
mod runs;
mod tables;

use fits::*;
use json::*;
use lines::*;
use runs::*;
use tables::*;

/// The provenance column added to `fits.csv`, `fits_by_replicate.csv`, `wells.csv`, `qc.csv`,
/// `lines.csv` and `shifts.csv` of a merged folder: the name of the run folder a row came from.
pub const RUN_COLUMN: &str = "run";

/// The column of `shifts.csv` naming the run of the parental line's fit, which may differ from
/// the resistant line's run ([`RUN_COLUMN`]) when batches are merged.
pub(crate) const PARENTAL_RUN_COLUMN: &str = "parental_run";

/// What to do when two runs fitted the same (cell line, drug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDuplicate {
    /// Stop with an error naming both runs: silently preferring one would hide that a line was
    /// screened twice, possibly with different results.
    #[default]
    Error,
    /// Keep the fit of the run that started last (`run.json` `started`): a rescreen replaces an
    /// earlier screen.
    Newest,
}

crate::words::words!(OnDuplicate, "duplicate policy", { Newest => "newest", Error => "error" });

/// Shift settings chosen for the merge, replacing the runs' own (which must otherwise agree).
/// `None` keeps the runs' value. Deserialized from the keys of the assay's `[shift]` section
/// (the Python binding passes them so).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShiftOverrides {
    /// Metric compared.
    pub metric: Option<Metric>,
    /// Fold-change threshold τ.
    pub tau: Option<f64>,
    /// Significance level α.
    pub alpha: Option<f64>,
    /// Call rule.
    pub rule: Option<CallRule>,
    /// Longest drug cycle listed.
    pub max_cycle_length: Option<usize>,
}

/// Choices of a merge that are not in the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    /// What a (cell line, drug) fitted in two runs does.
    pub on_duplicate: OnDuplicate,
    /// One lines table for every run instead of the runs' own (for runs made without one, or
    /// when the assay files are not reachable from where the merge runs).
    pub lines: Option<PathBuf>,
    /// Shift settings replacing the runs'.
    pub shift: ShiftOverrides,
    /// Draw `plots/` and `report.html` (a workflow may leave that to `collateral plot`).
    pub figures: bool,
    /// How the merged tables are written (`--format`; the runs may be of either form).
    pub format: crate::outdir::TableFormat,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            on_duplicate: OnDuplicate::Error,
            lines: None,
            shift: ShiftOverrides::default(),
            figures: true,
            format: crate::outdir::TableFormat::Csv,
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct MergeReport {
    /// Output folder.
    pub outdir: PathBuf,
    /// Files moved into place.
    pub files: Vec<PathBuf>,
    /// The runs' names (`run` column values), in the order given.
    pub runs: Vec<String>,
    /// Merged curves by status: ok, flat, insufficient_data, failed.
    pub curves: [usize; 4],
    /// Shift rows by call: cross_resistant, collateral_sensitive, neutral, undetermined.
    pub calls: [usize; 4],
    /// Cycles of the merged network.
    pub cycles: usize,
    /// Whether there was a lines table to compare with.
    pub compared: bool,
    /// (cell line, drug) pairs fitted in more than one run, resolved by `--on-duplicate newest`.
    pub duplicates: usize,
    /// Shift rows whose resistant and parental fits come from different runs.
    pub(crate) cross_run: usize,
    /// Shift rows that pooled replicate rows or paired batches (`run.json` lists them as a
    /// run's does).
    pub(crate) replicates: crate::shift::ReplicateCounts,
    /// Warnings, for stderr and `run.json`.
    pub warnings: Vec<Problem>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl MergeReport {
    /// A short human summary for stdout.
    pub fn summary(&self) -> String {
        let [ok, flat, insufficient, failed] = self.curves;
        let [cr, cs, neutral, undetermined] = self.calls;
        let duplicates = if self.duplicates > 0 {
            format!(
                "; {} (cell line, drug) fitted in several runs, the newest run's fit kept",
                self.duplicates
            )
        } else {
            String::new()
        };
        let compared = if self.compared {
            format!(
                "\nshifts: {cs} collaterally sensitive, {cr} cross-resistant, {neutral} neutral, {undetermined} undetermined ({} against a parental fit of another run); {} CS cycles",
                self.cross_run, self.cycles
            )
        } else {
            "\nno lines table: fits merged, nothing compared".to_string()
        };
        format!(
            "merged {} run{} ({}): curves {ok} ok, {flat} flat, {insufficient} insufficient data, {failed} failed{duplicates}{compared}\nwrote {} files to {} in {:.2} s",
            self.runs.len(),
            if self.runs.len() == 1 { "" } else { "s" },
            self.runs.join(", "),
            self.files.len(),
            self.outdir.display(),
            self.seconds
        )
    }
}

/// `collateral merge`: merges the output folders of several `collateral run`s into `outdir`
/// (fits, wells, QC, lines, shifts, matrix, calls, network, cycles, `run.json`, and with
/// `options.figures` the figures and `report.html`). See the module documentation for the
/// rules. `progress` is told how the drawing goes (`&progress::Silent` for nothing).
pub fn merge(
    runs: &[PathBuf],
    outdir: &Path,
    options: &MergeOptions,
    progress: &dyn crate::progress::Progress,
) -> Result<MergeReport> {
    merge_or_stop(runs, outdir, options, progress, false)
}

/// [`merge`] for pipelines that must stop rather than guess (`--strict`): any warning is an
/// error, and the output folder is left as it was (nothing is moved into place).
pub(crate) fn merge_strict(
    runs: &[PathBuf],
    outdir: &Path,
    options: &MergeOptions,
    progress: &dyn crate::progress::Progress,
) -> Result<MergeReport> {
    merge_or_stop(runs, outdir, options, progress, true)
}

/// [`merge`], or with `strict` an error of every warning before `run.json` or anything else
/// reaches the output folder.
// Long because it is the merge in the order its files depend on each other: the runs, the
// lock, the fits, the lines, the tables, the comparison, run.json, the figures.
fn merge_or_stop(
    runs: &[PathBuf],
    outdir: &Path,
    options: &MergeOptions,
    progress: &dyn crate::progress::Progress,
    strict: bool,
) -> Result<MergeReport> {
    let t0 = Instant::now();
    let started = crate::outdir::now_rfc3339_millis();
    if runs.is_empty() {
        return Err(Error::config(
            Location::default(),
            "name at least one output folder of `collateral run` to merge",
        ));
    }
    let folders = runs
        .iter()
        .map(|d| RunFolder::read(d))
        .collect::<Result<Vec<_>>>()?;
    check_identities(&folders, outdir)?;
    let mut warnings = Vec::new();
    let unit = common_unit(&folders)?;
    let settings = common_shift_settings(&folders, &options.shift)?;
    let evidence_settings = common_evidence_settings(&folders)?.check()?;
    let evidence = evidence_settings.load()?;
    warnings.extend(other_settings_differences(&folders));

    // The lock before reading the runs' tables, as `run` does.
    let mut staging = Staging::new(outdir)?;
    staging.set_tables(options.format, crate::frame::parquet::write_csv_as_parquet);
    let previous = staging.previous_manifest();
    warnings.extend(staging.take_warnings());

    let fits = Fits::read(&folders, "fits.csv", None)?;
    let owner = choose_fits(&folders, &fits, options.on_duplicate)?;
    let mut inputs: Vec<crate::run::InputRecord> =
        folders.iter().map(|f| f.record.clone()).collect();
    for file in &evidence_settings.files {
        inputs.push(input_record(file)?);
    }
    let lines = merged_lines(&folders, options, &mut inputs, &mut warnings)?;
    let tables = stage_tables(&staging, &folders, &fits, &owner, &mut warnings)?;
    // Metric mic compares the MICs each run read from its wells, not its fits.
    let mics = if settings.metric == Metric::Mic {
        let mics = MergedMics::read(&folders, &owner)?;
        staging_csv(&staging, "mics.csv", |w| mics.write(w, &folders))?;
        Some(mics)
    } else {
        None
    };
    let merged = MergedRuns {
        folders: &folders,
        owner: &owner,
        settings: &settings,
        evidence: &evidence,
        aliases: &evidence_settings.drug_aliases,
    };
    let compared = match &lines {
        Some(lines) => merged.compare(&staging, lines, mics.as_ref(), &mut warnings)?,
        None => Compared::default(),
    };
    if strict {
        // The staged tables are in the staging folder only; dropping it leaves the output as
        // it was.
        crate::checks::warnings_as_errors(&warnings)?;
    }
    let duplicates = fits.duplicates(&owner);
    let mut report = MergeReport {
        outdir: outdir.to_path_buf(),
        files: Vec::new(),
        runs: folders.iter().map(|f| f.name.clone()).collect(),
        curves: curve_counts(&fits, &owner),
        calls: compared.calls,
        cycles: compared.cycles,
        compared: lines.is_some(),
        duplicates: duplicates.len(),
        cross_run: compared.cross_run,
        replicates: compared.replicates,
        warnings,
        seconds: 0.0,
    };
    report.seconds = t0.elapsed().as_secs_f64();
    let run_json = merge_json(MergeJson {
        folders: &folders,
        options,
        started: &started,
        unit: &unit,
        settings: &settings,
        evidence: &evidence_settings,
        inputs: &inputs,
        lines: lines.as_ref(),
        duplicates: &duplicates,
        renamed_plates: &tables.plates.renamed,
        wells: &tables.wells,
        qc: &tables.qc,
        mic: mics
            .as_ref()
            .map(|m| (m.threshold, compared.mic_model.clone())),
        report: &report,
    });
    staging.write("run.json", |w| run_json.write(w))?;
    if options.figures {
        crate::report::stage_figures_and_report(&staging, progress)?;
    }
    staging.write_with_manifest(run_json.to_value()?)?;
    let (files, left) = staging.commit_replacing(&previous)?;
    report.files = files;
    report.warnings.extend(left);
    Ok(report)
}

/// What staging the per-curve and per-well tables counted.
struct StagedTables {
    plates: PlateNames,
    wells: WellCounts,
    qc: QcCounts,
}

/// Stages the merged `fits.csv` (and `fits_by_replicate.csv`, `fits_by_batch.csv`), `wells.csv`,
/// `qc.csv` and `dip_rates.csv`, plates named `RUN/PLATE` where two runs share an id (a warning says so).
fn stage_tables(
    staging: &Staging,
    folders: &[RunFolder],
    fits: &Fits,
    owner: &BTreeMap<Key, usize>,
    warnings: &mut Vec<Problem>,
) -> Result<StagedTables> {
    let by_replicate = Fits::read(folders, "fits_by_replicate.csv", Some("replicate"))?;
    let by_batch = Fits::read(
        folders,
        BATCH_FITS,
        Some(crate::output::tables::BATCH_COLUMN),
    )?;
    staging_csv(staging, "fits.csv", |w| fits.write(w, folders, owner))?;
    for labelled in [by_replicate, by_batch] {
        if !labelled.rows.is_empty() {
            staging_csv(staging, labelled.name, |w| {
                labelled.write(w, folders, owner)
            })?;
        }
    }
    let plates = PlateNames::new(folders)?;
    if !plates.renamed.is_empty() {
        let names: Vec<&str> = plates.renamed.iter().map(String::as_str).collect();
        warnings.push(Problem {
            location: Location::default(),
            message: format!(
                "plate ids {} occur in more than one run; in the merged wells.csv and qc.csv they are written `RUN/PLATE` (e.g. `{}/{}`) so that each plate keeps its own map",
                names.join(", "),
                folders[0].name,
                names[0]
            ),
        });
    }
    let mut wells = WellCounts::default();
    staging_csv(staging, "wells.csv", |w| {
        write_wells(w, folders, &plates, owner, &mut wells)
    })?;
    let mut qc = QcCounts::default();
    staging_csv(staging, "qc.csv", |w| {
        write_qc(w, folders, &plates, &mut qc)
    })?;
    if folders
        .iter()
        .any(|f| crate::table::parquet::table_exists(&f.dir.join(DIP_RATES)))
    {
        staging_csv(staging, DIP_RATES, |w| {
            write_dip_rates(w, folders, &plates, owner)
        })?;
    }
    Ok(StagedTables { plates, wells, qc })
}

/// The kept fits by status: ok, flat, insufficient_data, failed.
fn curve_counts(fits: &Fits, owner: &BTreeMap<Key, usize>) -> [usize; 4] {
    let mut curves = [0usize; 4];
    for row in fits.chosen(owner) {
        let i = match row.status {
            FitStatus::Ok => 0,
            FitStatus::Flat => 1,
            FitStatus::InsufficientData => 2,
            FitStatus::Failed => 3,
        };
        curves[i] += 1;
    }
    curves
}

/// The runs being merged, with the run each (line, drug)'s kept fit came from.
struct MergedRuns<'a> {
    folders: &'a [RunFolder],
    owner: &'a BTreeMap<Key, usize>,
    settings: &'a crate::checked::Checked<ShiftSettings>,
    /// The runs' evidence tables ([`common_evidence_settings`]) and drug aliases.
    evidence: &'a crate::evidence::Evidence,
    aliases: &'a BTreeMap<String, String>,
}

/// What comparing the merged fits gave.
#[derive(Default)]
struct Compared {
    calls: [usize; 4],
    cycles: usize,
    cross_run: usize,
    /// How many rows pooled replicate rows or paired batches, as a run counts them.
    replicates: crate::shift::ReplicateCounts,
    mic_model: Option<crate::output::run_json::MicModelRecord>,
}

impl MergedRuns<'_> {
    /// Compares the merged lines (on the merged MICs with metric mic), stages `lines.csv`,
    /// `shifts.csv` with the runs each side came from, and everything built from the shifts.
    fn compare(
        &self,
        staging: &Staging,
        lines: &MergedLines,
        mics: Option<&MergedMics>,
        warnings: &mut Vec<Problem>,
    ) -> Result<Compared> {
        let settings = self.settings;
        warnings.extend(unlisted_lines(&lines.table, self.owner));
        let mut compared = Compared::default();
        let mut shifts = match mics {
            Some(m) => {
                let (model, shifts) = crate::mic::compute_shifts(&m.mics, &lines.table, settings);
                compared.mic_model = Some(crate::output::run_json::MicModelRecord::of(&model));
                shifts
            }
            None => {
                let estimates = estimates(self.folders, self.owner, &lines.table, settings)?;
                let (shifts, counts) =
                    compute_shifts_with_replicates(&estimates, &lines.table, settings);
                compared.replicates = counts;
                shifts
            }
        };
        // The merged rows are marked with the runs' own evidence (docs/evidence.md).
        crate::shift::annotate_evidence(&mut shifts, self.evidence, self.aliases);
        let run_col = self.run_column(&shifts, |s| &s.resistant_line);
        let parental_col = self.run_column(&shifts, |s| &s.parental_line);
        let across: Vec<usize> = (0..shifts.len())
            .filter(|&i| {
                !run_col[i].is_empty()
                    && !parental_col[i].is_empty()
                    && run_col[i] != parental_col[i]
            })
            .collect();
        compared.cross_run = across.len();
        if let Some(&i) = across.first() {
            warnings.push(Problem {
                location: Location::default(),
                message: format!(
                    "{} of {} shifts compare a resistant line with its parental line's fit from another run (e.g. `{}` of run `{}` against `{}` of run `{}`, {}); differences between the runs' batches are not corrected (see the `run` and `parental_run` columns of shifts.csv)",
                    across.len(),
                    shifts.len(),
                    shifts[i].resistant_line,
                    run_col[i],
                    shifts[i].parental_line,
                    parental_col[i],
                    shifts[i].drug
                ),
            });
        }
        for s in &shifts {
            compared.calls[s.call as usize] += 1;
        }
        staging_csv(staging, "lines.csv", |w| lines.write(w, self.folders))?;
        compared.cycles = stage_comparison(
            staging,
            &shifts,
            &lines.table,
            settings,
            &[(RUN_COLUMN, run_col), (PARENTAL_RUN_COLUMN, parental_col)],
        )?;
        Ok(compared)
    }

    /// The run whose fit of `line(shift)` and the shift's drug was kept, per shift.
    fn run_column(&self, shifts: &[Shift], line: impl Fn(&Shift) -> &String) -> Vec<String> {
        shifts
            .iter()
            .map(|s| {
                self.owner
                    .get(&(line(s).clone(), s.drug.clone()))
                    .map_or(String::new(), |&r| self.folders[r].name.clone())
            })
            .collect()
    }
}

/// Stages the comparison's files as `collateral run` does: `shifts.csv` (with the provenance
/// columns), then everything else through the run's own [`crate::run::stage_comparison`].
/// Returns the number of cycles.
fn stage_comparison(
    staging: &Staging,
    shifts: &[Shift],
    lines: &LinesTable,
    s: &ShiftSettings,
    extra: &[(&str, Vec<String>)],
) -> Result<usize> {
    staging.write_typed_table(
        "shifts.csv",
        |w| write_shifts_with(w, shifts, s, extra),
        |w| {
            let batch = crate::frame::shifts_batch_with(shifts, s, extra);
            crate::frame::parquet::write_batch(w, &batch)
        },
    )?;
    crate::run::stage_comparison(staging, shifts, lines, s)
}

/// Stages a file whose writing reads inputs: an input problem met while writing is returned
/// as itself, not as a failure to write the output.
fn staging_csv(
    staging: &Staging,
    name: &str,
    f: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    let write = |w: &mut dyn Write| {
        f(w).map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            std::io::Error::other(message)
        })
    };
    // The merged lines table stays CSV (an input of the next run); the rest are tables.
    let written = if name == "lines.csv" {
        staging.write(name, |w| write(w))
    } else {
        staging.write_table(name, write)
    };
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_duplicate_parses_both_words_only() {
        assert_eq!("newest".parse(), Ok(OnDuplicate::Newest));
        assert_eq!("Error".parse(), Ok(OnDuplicate::Error));
        assert!("oldest".parse::<OnDuplicate>().is_err());
    }
}
