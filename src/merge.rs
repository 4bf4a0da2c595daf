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
//! A resistant line is compared with whichever fit of its parental line the merge holds, from
//! its own run or another: the `run` and `parental_run` columns of `shifts.csv` say which, and a
//! warning counts the comparisons across runs, because nothing corrects for differences between
//! batches.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use serde_json::{json, Value};

use crate::assay::Assay;
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::lines::{CellLine, LinesTable};
use crate::outdir::Staging;
use crate::run::input_record;
use crate::shift::{
    compute_shifts, read_estimates, write_shifts_with, CallRule, Estimate, Metric, Shift,
    ShiftSettings,
};
use crate::table::{field, read_bytes, Table};

/// The provenance column added to `fits.csv`, `fits_by_replicate.csv`, `wells.csv`, `qc.csv`,
/// `lines.csv` and `shifts.csv` of a merged folder: the name of the run folder a row came from.
pub const RUN_COLUMN: &str = "run";

/// The column of `shifts.csv` naming the run of the parental line's fit, which may differ from
/// the resistant line's run ([`RUN_COLUMN`]) when batches are merged.
pub const PARENTAL_RUN_COLUMN: &str = "parental_run";

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

impl OnDuplicate {
    /// The flag value: `error` or `newest`.
    pub fn name(self) -> &'static str {
        match self {
            OnDuplicate::Error => "error",
            OnDuplicate::Newest => "newest",
        }
    }
}

impl FromStr for OnDuplicate {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(OnDuplicate::Error),
            "newest" => Ok(OnDuplicate::Newest),
            _ => Err(format!("`{s}`: expected newest or error")),
        }
    }
}

/// Shift settings chosen for the merge, replacing the runs' own (which must otherwise agree).
/// `None` keeps the runs' value.
#[derive(Debug, Clone, Default, PartialEq)]
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
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            on_duplicate: OnDuplicate::Error,
            lines: None,
            shift: ShiftOverrides::default(),
            figures: true,
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
    pub cross_run: usize,
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

/// One run folder being merged.
struct RunFolder {
    /// The folder's name: the `run` column's value.
    name: String,
    /// The folder as given.
    dir: PathBuf,
    /// Its `run.json`.
    json_path: PathBuf,
    json: Value,
    /// `run.json`'s path, SHA-256 and size: the merge's inputs.
    record: (PathBuf, String, u64),
    /// `started`, normalised to nanoseconds so that text order is time order.
    started: Option<String>,
    shift: ShiftSettings,
}

impl RunFolder {
    fn read(dir: &Path) -> Result<RunFolder> {
        if !dir.is_dir() {
            return Err(Error::input(
                Location::file(dir),
                "is not a folder; name the output folders of `collateral run`",
            ));
        }
        let json_path = dir.join("run.json");
        if !json_path.is_file() {
            return Err(Error::input(
                Location::file(&json_path),
                "is missing: the folder is not the output of a finished `collateral run`",
            ));
        }
        let record = input_record(&json_path)?;
        let text =
            std::fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, "reading", e))?;
        let at = || Location::file(&json_path);
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(at(), format!("is not valid JSON: {e}")))?;
        if json.get("tool").and_then(Value::as_str) != Some("collateral") {
            return Err(Error::input(
                at(),
                "was not written by collateral (no `\"tool\": \"collateral\"`)",
            ));
        }
        if json.get("merge").is_some() {
            return Err(Error::input(
                at(),
                "is the output of `collateral merge`, not of a run; merge the run folders it lists under `merge.runs` instead",
            ));
        }
        let started = match json.get("started") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str().and_then(sortable_time).ok_or_else(|| {
                Error::input(
                    at(),
                    format!("`started` is {v}; expected an RFC 3339 UTC time such as \"2026-12-01T21:53:07.042Z\""),
                )
            })?),
        };
        let shift: ShiftSettings = serde_json::from_value(json["settings"]["shift"].clone())
            .map_err(|e| {
                Error::input(
                    at(),
                    format!("`settings.shift` cannot be read ({e}); was it written by this version of collateral?"),
                )
            })?;
        // The canonical folder names `.` and `runs/a/` alike.
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Ok(RunFolder {
            name,
            dir: dir.to_path_buf(),
            json_path,
            json,
            record,
            started,
            shift,
        })
    }

    fn unit(&self) -> &str {
        self.json["assay"]["concentration_unit"]
            .as_str()
            .unwrap_or_default()
    }

    /// `run `a` (a/run.json)`, for messages naming the run.
    fn label(&self) -> String {
        format!("run `{}` ({})", self.name, self.json_path.display())
    }
}

/// An RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`) as text whose order is time order
/// (the fraction padded to nine digits); `None` for anything else.
fn sortable_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[b.len() - 1] == b'Z' || b[b.len() - 1] == b'z');
    if !shape {
        return None;
    }
    let fraction = &s[19..s.len() - 1];
    let fraction = match fraction.strip_prefix('.') {
        None if fraction.is_empty() => "",
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|d| d.is_ascii_digit()) => f,
        _ => return None,
    };
    Some(format!("{}.{fraction:0<9}", &s[..19]))
}

/// `collateral merge`: merges the output folders of several `collateral run`s into `outdir`
/// (fits, wells, QC, lines, shifts, matrix, calls, network, cycles, `run.json`, and with
/// `options.figures` the figures and `report.html`). See the module documentation for the
/// rules.
pub fn merge(runs: &[PathBuf], outdir: &Path, options: &MergeOptions) -> Result<MergeReport> {
    merge_with_progress(runs, outdir, options, &crate::progress::Silent)
}

/// [`merge`], telling `progress` how the drawing goes.
pub fn merge_with_progress(
    runs: &[PathBuf],
    outdir: &Path,
    options: &MergeOptions,
    progress: &dyn crate::progress::Progress,
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
    warnings.extend(other_settings_differences(&folders));

    // The lock before reading the runs' tables, as `run` does.
    let staging = Staging::new(outdir)?;
    let previous = staging.previous_manifest();
    warnings.extend(staging.take_warnings());

    let fits = Fits::read(&folders, "fits.csv", false)?;
    let owner = choose_fits(&folders, &fits, options.on_duplicate)?;
    let by_replicate = Fits::read(&folders, "fits_by_replicate.csv", true)?;

    let mut inputs: Vec<(PathBuf, String, u64)> =
        folders.iter().map(|f| f.record.clone()).collect();
    let lines = merged_lines(&folders, options, &mut inputs, &mut warnings)?;

    staging_csv(&staging, "fits.csv", |w| fits.write(w, &folders, &owner))?;
    if !by_replicate.rows.is_empty() {
        staging_csv(&staging, "fits_by_replicate.csv", |w| {
            by_replicate.write(w, &folders, &owner)
        })?;
    }
    let plates = PlateNames::new(&folders)?;
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
    let mut counts = WellCounts::default();
    staging_csv(&staging, "wells.csv", |w| {
        write_wells(w, &folders, &plates, &owner, &mut counts)
    })?;
    let mut qc = QcCounts::default();
    staging_csv(&staging, "qc.csv", |w| {
        write_qc(w, &folders, &plates, &mut qc)
    })?;
    if folders.iter().any(|f| f.dir.join(DIP_RATES).exists()) {
        staging_csv(&staging, DIP_RATES, |w| {
            write_dip_rates(w, &folders, &plates, &owner)
        })?;
    }

    let mut curves = [0usize; 4];
    for row in fits.chosen(&owner) {
        let status = fits.cell(row, "status");
        if let Some(i) = ["ok", "flat", "insufficient_data", "failed"]
            .iter()
            .position(|s| *s == status)
        {
            curves[i] += 1;
        }
    }

    // Metric mic compares the MICs each run read from its wells, not its fits.
    let mics = if settings.metric == Metric::Mic {
        let mics = MergedMics::read(&folders, &owner)?;
        staging_csv(&staging, "mics.csv", |w| mics.write(w, &folders))?;
        Some(mics)
    } else {
        None
    };
    let mut mic_model = None;

    let mut calls = [0usize; 4];
    let mut n_cycles = 0;
    let mut cross_run = 0;
    if let Some(lines) = &lines {
        warnings.extend(unlisted_lines(&lines.table, &owner));
        let shifts = match &mics {
            Some(m) => {
                let (model, shifts) = crate::mic::compute_shifts(&m.mics, &lines.table, &settings);
                mic_model = Some(model.summary_json());
                shifts
            }
            None => {
                let estimates = estimates(&folders, &owner, &lines.table, &settings)?;
                compute_shifts(&estimates, &lines.table, &settings)
            }
        };
        let name_of = |line: &str, drug: &str| {
            owner
                .get(&(line.to_string(), drug.to_string()))
                .map_or(String::new(), |&r| folders[r].name.clone())
        };
        let run_col: Vec<String> = shifts
            .iter()
            .map(|s| name_of(&s.resistant_line, &s.drug))
            .collect();
        let parental_col: Vec<String> = shifts
            .iter()
            .map(|s| name_of(&s.parental_line, &s.drug))
            .collect();
        let across: Vec<usize> = (0..shifts.len())
            .filter(|&i| {
                !run_col[i].is_empty()
                    && !parental_col[i].is_empty()
                    && run_col[i] != parental_col[i]
            })
            .collect();
        cross_run = across.len();
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
            calls[s.call as usize] += 1;
        }
        staging_csv(&staging, "lines.csv", |w| lines.write(w, &folders))?;
        n_cycles = stage_comparison(
            &staging,
            &shifts,
            &lines.table,
            &settings,
            &[(RUN_COLUMN, run_col), (PARENTAL_RUN_COLUMN, parental_col)],
        )?;
    }

    let duplicates = fits.duplicates(&owner);
    let mut report = MergeReport {
        outdir: outdir.to_path_buf(),
        files: Vec::new(),
        runs: folders.iter().map(|f| f.name.clone()).collect(),
        curves,
        calls,
        cycles: n_cycles,
        compared: lines.is_some(),
        duplicates: duplicates.len(),
        cross_run,
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
        inputs: &inputs,
        lines: lines.as_ref(),
        duplicates: &duplicates,
        renamed_plates: &plates.renamed,
        wells: &counts,
        qc: &qc,
        mic: mics.as_ref().map(|m| (m.threshold, mic_model)),
        report: &report,
    });
    staging.write("run.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &run_json).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    if options.figures {
        crate::report::stage_figures_and_report(&staging, progress)?;
    }
    staging.write_with_manifest(run_json)?;
    let (files, left) = staging.commit_replacing(&previous)?;
    report.files = files;
    report.warnings.extend(left);
    Ok(report)
}

/// Refuses the same folder twice, two folders of one name (the `run` column could not tell them
/// apart) and an output folder that is one of the runs.
fn check_identities(folders: &[RunFolder], outdir: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<PathBuf, &RunFolder> = BTreeMap::new();
    let mut names: BTreeMap<&str, &RunFolder> = BTreeMap::new();
    let out = std::fs::canonicalize(outdir).ok();
    for f in folders {
        let canonical = std::fs::canonicalize(&f.dir).unwrap_or_else(|_| f.dir.clone());
        if out.as_ref() == Some(&canonical) {
            problems.push(Problem {
                location: Location::file(outdir),
                message: format!(
                    "is {}, one of the folders being merged; write the merge into a folder of its own",
                    f.label()
                ),
            });
        }
        if let Some(first) = seen.insert(canonical, f) {
            problems.push(Problem {
                location: Location::file(&f.dir),
                message: format!("is named twice (also as {})", first.dir.display()),
            });
            continue;
        }
        if let Some(first) = names.insert(&f.name, f) {
            problems.push(Problem {
                location: Location::file(&f.dir),
                message: format!(
                    "has the same folder name `{}` as {}; the `run` column names a run by its folder, so rename one of them",
                    f.name,
                    first.dir.display()
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::problems(ErrorKind::Config, problems))
    }
}

/// The concentration unit every run used: IC50s in µM and nM cannot share a matrix.
fn common_unit(folders: &[RunFolder]) -> Result<String> {
    let first = &folders[0];
    let problems: Vec<Problem> = folders[1..]
        .iter()
        .filter(|f| f.unit() != first.unit())
        .map(|f| Problem {
            location: Location::file(&f.json_path),
            message: format!(
                "concentrations are in `{}` in {} but in `{}` in {}; convert one screen's concentrations and rerun it before merging",
                f.unit(),
                f.label(),
                first.unit(),
                first.label()
            ),
        })
        .collect();
    if problems.is_empty() {
        Ok(first.unit().to_string())
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// The shift settings of the merge: the runs' (which must agree field by field), with the
/// overrides applied; then checked like an assay's.
fn common_shift_settings(folders: &[RunFolder], o: &ShiftOverrides) -> Result<ShiftSettings> {
    let first = &folders[0];
    let mut problems = Vec::new();
    for f in &folders[1..] {
        let (a, b) = (&first.shift, &f.shift);
        let fields: [(&str, bool, String, String, &str); 6] = [
            (
                "metric",
                o.metric.is_none(),
                show(&a.metric),
                show(&b.metric),
                "--metric",
            ),
            ("tau", o.tau.is_none(), show(&a.tau), show(&b.tau), "--tau"),
            (
                "alpha",
                o.alpha.is_none(),
                show(&a.alpha),
                show(&b.alpha),
                "--alpha",
            ),
            (
                "rule",
                o.rule.is_none(),
                show(&a.rule),
                show(&b.rule),
                "--rule",
            ),
            (
                "max_cycle_length",
                o.max_cycle_length.is_none(),
                show(&a.max_cycle_length),
                show(&b.max_cycle_length),
                "--max-cycle-length",
            ),
            (
                "per_replicate",
                true,
                show(&a.per_replicate),
                show(&b.per_replicate),
                "",
            ),
        ];
        for (key, checked, va, vb, flag) in fields {
            if !checked || va == vb {
                continue;
            }
            let fix = if flag.is_empty() {
                "rerun one of them with the other's `[shift] per_replicate`".to_string()
            } else {
                format!("pass {flag} to choose one for the merge")
            };
            problems.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "`settings.shift.{key}` is {vb} in {} but {va} in {}; {fix}",
                    f.label(),
                    first.label()
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    let mut s = first.shift.clone();
    if let Some(m) = o.metric {
        s.metric = m;
    }
    if let Some(t) = o.tau {
        s.tau = t;
    }
    if let Some(a) = o.alpha {
        s.alpha = a;
    }
    if let Some(r) = o.rule {
        s.rule = r;
    }
    if let Some(m) = o.max_cycle_length {
        s.max_cycle_length = m;
    }
    if let Some((_, msg)) = s.problems().into_iter().next() {
        return Err(Error::config(Location::default(), msg));
    }
    Ok(s)
}

/// A settings value as `run.json` writes it, for messages.
fn show<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Warnings for runs whose QC, normalization or fit settings differ from the first run's: their
/// fits are merged as they are, but a reader of the matrix should know.
fn other_settings_differences(folders: &[RunFolder]) -> Vec<Problem> {
    let first = &folders[0];
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let sections = |f: &RunFolder| f.json["settings"].as_object().cloned().unwrap_or_default();
    let a = sections(first);
    for f in &folders[1..] {
        let b = sections(f);
        let mut diffs = Vec::new();
        let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for section in names.into_iter().filter(|s| *s != "shift") {
            let (sa, sb) = (
                a.get(section).and_then(Value::as_object).unwrap_or(&empty),
                b.get(section).and_then(Value::as_object).unwrap_or(&empty),
            );
            let keys: BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
            for k in keys {
                let (va, vb) = (sa.get(k), sb.get(k));
                if va != vb {
                    let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
                    diffs.push(format!("{section}.{k} {} vs {}", show(vb), show(va)));
                }
            }
        }
        if !diffs.is_empty() {
            out.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "{} used other settings than {} ({}); their fits are merged as they are",
                    f.label(),
                    first.label(),
                    diffs.join(", ")
                ),
            });
        }
    }
    out
}

/// A (cell line, drug) pair.
type Key = (String, String);

/// One fits table row of a run.
struct FitRow {
    key: Key,
    /// The replicate (`fits_by_replicate.csv`), else empty.
    replicate: String,
    run: usize,
    line: u64,
    record: csv::StringRecord,
}

/// The rows of one fits table (`fits.csv` or `fits_by_replicate.csv`) of every run.
struct Fits {
    name: &'static str,
    /// Each run's header.
    headers: Vec<Vec<String>>,
    rows: Vec<FitRow>,
}

impl Fits {
    /// Reads `name` from every run; `by_replicate` tables (with a `replicate` column) may be
    /// absent. A (cell line, drug) — with the replicate — twice in one table is an error.
    fn read(folders: &[RunFolder], name: &'static str, by_replicate: bool) -> Result<Fits> {
        let mut fits = Fits {
            name,
            headers: Vec::new(),
            rows: Vec::new(),
        };
        let mut problems = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            let path = f.dir.join(name);
            if by_replicate && !path.exists() {
                fits.headers.push(Vec::new());
                continue;
            }
            let bytes = read_bytes(&path)?;
            let mut t = Table::from_bytes(&bytes, &path)?;
            let (c_line, c_drug) = (t.require("cell_line")?, t.require("drug")?);
            let c_rep = if by_replicate {
                Some(t.require("replicate")?)
            } else {
                None
            };
            check_no_run_column(&t)?;
            fits.headers.push(t.headers.clone());
            let mut seen: BTreeMap<(Key, String), u64> = BTreeMap::new();
            let mut rec = csv::StringRecord::new();
            while let Some(line) = t.next_row(&mut rec)? {
                let key = (
                    field(&rec, Some(c_line)).to_string(),
                    field(&rec, Some(c_drug)).to_string(),
                );
                let replicate = field(&rec, c_rep).to_string();
                if let Some(first) = seen.insert((key.clone(), replicate.clone()), line) {
                    problems.push(Problem {
                        location: t.at(line),
                        message: format!(
                            "`{}` × `{}` is fitted twice in this table (also line {first}); a run writes one row per curve",
                            key.0, key.1
                        ),
                    });
                    continue;
                }
                fits.rows.push(FitRow {
                    key,
                    replicate,
                    run,
                    line,
                    record: rec.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(fits)
        } else {
            Err(Error::problems(ErrorKind::Input, problems))
        }
    }

    /// A cell of a row by column name.
    fn cell<'a>(&self, row: &'a FitRow, column: &str) -> &'a str {
        self.headers[row.run]
            .iter()
            .position(|h| h == column)
            .and_then(|i| row.record.get(i))
            .unwrap_or_default()
    }

    /// The rows whose run holds the kept fit of their (cell line, drug), sorted by cell line,
    /// replicate and drug (the order of a run's tables).
    fn chosen<'a>(&'a self, owner: &BTreeMap<Key, usize>) -> Vec<&'a FitRow> {
        let mut rows: Vec<&FitRow> = self
            .rows
            .iter()
            .filter(|r| owner.get(&r.key) == Some(&r.run))
            .collect();
        rows.sort_by(|a, b| {
            (&a.key.0, &a.replicate, &a.key.1).cmp(&(&b.key.0, &b.replicate, &b.key.1))
        });
        rows
    }

    /// The (cell line, drug) pairs fitted in more than one run: the pair, the run kept and the
    /// runs left out.
    fn duplicates(&self, owner: &BTreeMap<Key, usize>) -> Vec<(Key, usize, Vec<usize>)> {
        let mut runs: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
        for r in &self.rows {
            runs.entry(&r.key).or_default().push(r.run);
        }
        runs.into_iter()
            .filter(|(_, v)| v.len() > 1)
            .filter_map(|(k, v)| {
                let kept = *owner.get(k)?;
                Some((
                    k.clone(),
                    kept,
                    v.into_iter().filter(|&r| r != kept).collect(),
                ))
            })
            .collect()
    }

    /// Writes the kept rows with the union of the runs' columns (in first-seen order; a
    /// column a run lacks is empty) and [`RUN_COLUMN`].
    fn write(
        &self,
        w: &mut dyn Write,
        folders: &[RunFolder],
        owner: &BTreeMap<Key, usize>,
    ) -> Result<()> {
        let header = union_header(&self.headers, &[]);
        let maps: Vec<Vec<Option<usize>>> = self
            .headers
            .iter()
            .map(|h| column_map(&header, h))
            .collect();
        let mut out = csv::Writer::from_writer(w);
        let io = |e: csv::Error| Error::io(Path::new(self.name), "writing", e.into());
        let mut full = header.clone();
        full.push(RUN_COLUMN.to_string());
        out.write_record(&full).map_err(io)?;
        for row in self.chosen(owner) {
            let cells = maps[row.run]
                .iter()
                .map(|i| i.and_then(|i| row.record.get(i)).unwrap_or_default())
                .chain([folders[row.run].name.as_str()]);
            out.write_record(cells).map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::io(Path::new(self.name), "writing", e))
    }
}

/// Refuses a table that already has a column named [`RUN_COLUMN`] (carried through from a
/// wells table): the provenance column would shadow it.
fn check_no_run_column(t: &Table<'_>) -> Result<()> {
    match t.headers.iter().position(|h| h.eq_ignore_ascii_case(RUN_COLUMN)) {
        None => Ok(()),
        Some(i) => Err(Error::input(
            Location::file(&t.path).at_line(1),
            format!(
                "has a column `{}` (column {}), the name the merge gives its provenance column; rename it in the inputs and rerun",
                t.headers[i],
                i + 1
            ),
        )),
    }
}

/// Which run's fit each (cell line, drug) keeps: its only run, or with
/// [`OnDuplicate::Newest`] the run that started last.
fn choose_fits(
    folders: &[RunFolder],
    fits: &Fits,
    on_duplicate: OnDuplicate,
) -> Result<BTreeMap<Key, usize>> {
    let mut by_key: BTreeMap<&Key, Vec<&FitRow>> = BTreeMap::new();
    for r in &fits.rows {
        by_key.entry(&r.key).or_default().push(r);
    }
    let mut owner = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, rows) in by_key {
        if rows.len() == 1 {
            owner.insert(key.clone(), rows[0].run);
            continue;
        }
        let at = |r: &FitRow| {
            format!(
                "{}:{}",
                folders[r.run].dir.join("fits.csv").display(),
                r.line
            )
        };
        let places: Vec<String> = rows
            .iter()
            .map(|r| format!("run `{}` ({})", folders[r.run].name, at(r)))
            .collect();
        let location =
            Location::file(folders[rows[1].run].dir.join("fits.csv")).at_line(rows[1].line);
        if on_duplicate == OnDuplicate::Error {
            problems.push(Problem {
                location,
                message: format!(
                    "`{}` × `{}` is fitted in {}; the merge keeps one fit per cell line and drug: pass --on-duplicate newest to keep the newest run's, or leave a run out",
                    key.0,
                    key.1,
                    places.join(" and ")
                ),
            });
            continue;
        }
        let undated: Vec<&FitRow> = rows
            .iter()
            .copied()
            .filter(|r| folders[r.run].started.is_none())
            .collect();
        if let Some(r) = undated.first() {
            problems.push(Problem {
                location: Location::file(&folders[r.run].json_path),
                message: format!(
                    "has no `started` time (written by an older collateral), so --on-duplicate newest cannot order it against the other runs fitting `{}` × `{}` ({}); rerun it",
                    key.0,
                    key.1,
                    places.join(", ")
                ),
            });
            continue;
        }
        let newest = rows
            .iter()
            .max_by(|a, b| folders[a.run].started.cmp(&folders[b.run].started))
            .expect("two rows or more");
        let ties: Vec<&&FitRow> = rows
            .iter()
            .filter(|r| folders[r.run].started == folders[newest.run].started)
            .collect();
        if ties.len() > 1 {
            problems.push(Problem {
                location,
                message: format!(
                    "`{}` × `{}` is fitted in {}, which started at the same time ({}); --on-duplicate newest cannot choose: leave a run out",
                    key.0,
                    key.1,
                    places.join(" and "),
                    folders[newest.run].json["started"].as_str().unwrap_or_default()
                ),
            });
            continue;
        }
        owner.insert(key.clone(), newest.run);
    }
    if problems.is_empty() {
        Ok(owner)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// The estimates the shifts compare, as `collateral run` builds them: from the kept `fits.csv`
/// rows, and with `per_replicate` the resistant lines' `fits_by_replicate.csv` rows instead
/// (with rule `maltas-wood` also the parental lines', beside their pooled rows).
/// Read with [`read_estimates`] from each run's own file, so problems point at that file.
fn estimates(
    folders: &[RunFolder],
    owner: &BTreeMap<Key, usize>,
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Result<Vec<Estimate>> {
    let per_replicate: BTreeSet<&str> = if settings.per_replicate {
        lines
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .map(|l| l.name.as_str())
            .collect()
    } else {
        BTreeSet::new()
    };
    // Rule maltas-wood needs the parental lines' replicate fits too (as `run` makes them).
    let mut replicate_lines = per_replicate.clone();
    if settings.rule == CallRule::MaltasWood {
        replicate_lines.extend(
            lines
                .lines
                .iter()
                .filter_map(|l| l.parental_line.as_deref()),
        );
    }
    let kept =
        |run: usize, e: &Estimate| owner.get(&(e.cell_line.clone(), e.drug.clone())) == Some(&run);
    let mut pooled = Vec::new();
    let mut replicates = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        for e in read_estimates(&f.dir.join("fits.csv"), settings.metric)? {
            if kept(run, &e) && !per_replicate.contains(e.cell_line.as_str()) {
                pooled.push(e);
            }
        }
        let path = f.dir.join("fits_by_replicate.csv");
        if !replicate_lines.is_empty() && path.exists() {
            for e in read_estimates(&path, settings.metric)? {
                if kept(run, &e) && replicate_lines.contains(e.cell_line.as_str()) {
                    replicates.push(e);
                }
            }
        }
    }
    // The order of a run's curves: pooled by (line, drug), then replicates by (line, rep, drug).
    pooled.sort_by(|a, b| (&a.cell_line, &a.drug).cmp(&(&b.cell_line, &b.drug)));
    replicates.sort_by(|a, b| {
        (&a.cell_line, &a.replicate, &a.drug).cmp(&(&b.cell_line, &b.replicate, &b.drug))
    });
    pooled.extend(replicates);
    Ok(pooled)
}

/// The merged lines table and, per line, the run whose table listed it first (`None` for a
/// table given with `--lines`).
struct MergedLines {
    table: LinesTable,
    source: Vec<Option<usize>>,
    /// The tables read, for `run.json`.
    paths: Vec<PathBuf>,
}

impl MergedLines {
    fn write(&self, w: &mut dyn Write, folders: &[RunFolder]) -> Result<()> {
        let io = |e: csv::Error| Error::io(Path::new("lines.csv"), "writing", e.into());
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["cell_line", "parental_line", "selected_with", RUN_COLUMN])
            .map_err(io)?;
        for (l, src) in self.table.lines.iter().zip(&self.source) {
            out.write_record([
                l.name.as_str(),
                l.parental_line.as_deref().unwrap_or_default(),
                l.selected_with.as_deref().unwrap_or_default(),
                src.map_or("", |r| folders[r].name.as_str()),
            ])
            .map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::io(Path::new("lines.csv"), "writing", e))
    }
}

/// The lines table of the merge: `--lines`, or the union of the runs' lines tables, each found
/// through the assay file its `run.json` names. A line listed differently by two runs is an
/// error naming both.
fn merged_lines(
    folders: &[RunFolder],
    options: &MergeOptions,
    inputs: &mut Vec<(PathBuf, String, u64)>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<MergedLines>> {
    if let Some(path) = &options.lines {
        let table = LinesTable::read(path)?;
        inputs.push(input_record(path)?);
        let source = vec![None; table.lines.len()];
        return Ok(Some(MergedLines {
            table,
            source,
            paths: vec![path.clone()],
        }));
    }
    let mut merged: Vec<CellLine> = Vec::new();
    let mut source: Vec<Option<usize>> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut index: BTreeMap<String, (usize, PathBuf, u64)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        let Some(table) = run_lines(f, inputs, warnings)? else {
            continue;
        };
        paths.push(table.path.clone());
        for l in table.lines {
            match index.get(&l.name) {
                None => {
                    index.insert(l.name.clone(), (merged.len(), table.path.clone(), l.line));
                    merged.push(l);
                    source.push(Some(run));
                }
                Some((i, first_path, first_line)) => {
                    let first = &merged[*i];
                    if first.parental_line != l.parental_line
                        || first.selected_with != l.selected_with
                        || first.lineage != l.lineage
                        || first.evolution_time.map(f64::to_bits)
                            != l.evolution_time.map(f64::to_bits)
                    {
                        let show = |c: &CellLine| {
                            let time = c.evolution_time.map_or(String::new(), |t| t.to_string());
                            format!(
                                "parental_line `{}`, selected_with `{}`, lineage `{}`, evolution_time `{time}`",
                                c.parental_line.as_deref().unwrap_or_default(),
                                c.selected_with.as_deref().unwrap_or_default(),
                                c.lineage
                            )
                        };
                        problems.push(Problem {
                            location: Location::file(&table.path).at_line(l.line),
                            message: format!(
                                "cell line `{}` has {} here ({}) but {} in {}:{first_line} ({}); make the lines tables agree, or give one with --lines",
                                l.name,
                                show(&l),
                                f.label(),
                                show(first),
                                first_path.display(),
                                source[*i].map_or(String::new(), |r| folders[r].label())
                            ),
                        });
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    if merged.is_empty() {
        return Ok(None);
    }
    Ok(Some(MergedLines {
        table: LinesTable {
            path: paths[0].clone(),
            has_lineage: merged.iter().any(|l| l.lineage != l.name),
            has_evolution_time: merged.iter().any(|l| l.evolution_time.is_some()),
            lines: merged,
        },
        source,
        paths,
    }))
}

/// The lines table of one run: the `lines` of the assay file its `run.json` names (`None`
/// without one). Paths in `run.json` are as the run was given them, so relative ones are read
/// from the folder the merge runs in. A table that changed since the run is used as it is now,
/// with a warning.
fn run_lines(
    f: &RunFolder,
    inputs: &mut Vec<(PathBuf, String, u64)>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<LinesTable>> {
    let Some(assay_path) = f.json["assay"]["path"].as_str() else {
        return Err(Error::input(
            Location::file(&f.json_path),
            "names no assay file (`assay.path`), so its lines table cannot be found; give one with --lines",
        ));
    };
    let assay_path = PathBuf::from(assay_path);
    if !assay_path.is_file() {
        let here = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(Error::input(
            Location::file(&f.json_path),
            format!(
                "names the assay file `{}`, which is not found from here ({here}); relative paths are relative to the folder `collateral run` was started in: merge from there, or give the lines table with --lines",
                assay_path.display()
            ),
        ));
    }
    let assay = Assay::from_file(&assay_path)?;
    let Some(lines_path) = assay.lines else {
        return Ok(None);
    };
    let table = LinesTable::read(&lines_path)?;
    let record = input_record(&lines_path)?;
    let shown = lines_path.display().to_string();
    let recorded = f.json["inputs"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|i| i["path"].as_str() == Some(shown.as_str()))
        })
        .and_then(|i| i["sha256"].as_str());
    if recorded != Some(record.1.as_str()) {
        warnings.push(Problem {
            location: Location::file(&lines_path),
            message: format!(
                "is not the lines table {} used (its SHA-256 {}); the merge uses it as it is now",
                f.label(),
                if recorded.is_some() {
                    "differs from the one in run.json"
                } else {
                    "is not in run.json's inputs"
                }
            ),
        });
    }
    if !inputs.iter().any(|i| i.0 == record.0) {
        inputs.push(record);
    }
    Ok(Some(table))
}

/// Warnings for fitted lines the lines table leaves out (fitted, not compared) and for listed
/// lines no run fitted.
fn unlisted_lines(lines: &LinesTable, owner: &BTreeMap<Key, usize>) -> Vec<Problem> {
    let fitted: BTreeSet<&str> = owner.keys().map(|(l, _)| l.as_str()).collect();
    let listed: BTreeSet<&str> = lines.lines.iter().map(|l| l.name.as_str()).collect();
    let mut out = Vec::new();
    let missing: Vec<&str> = fitted.difference(&listed).copied().collect();
    if !missing.is_empty() {
        out.push(Problem {
            location: Location::file(&lines.path),
            message: format!(
                "cell lines {} are fitted but not in the lines table; they are merged but not compared",
                missing.join(", ")
            ),
        });
    }
    let unfitted: Vec<&str> = listed.difference(&fitted).copied().collect();
    if !unfitted.is_empty() {
        out.push(Problem {
            location: Location::file(&lines.path),
            message: format!(
                "cell lines {} of the lines table have no fit in any run",
                unfitted.join(", ")
            ),
        });
    }
    out
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
    staging.write("shifts.csv", |w| write_shifts_with(w, shifts, s, extra))?;
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
    let written = staging.write(name, |w| {
        f(w).map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            std::io::Error::other(message)
        })
    });
    match failure {
        Some(e) => Err(e),
        None => written,
    }
}

/// The union of headers in first-seen order, `tail` columns (those present) moved to the end.
fn union_header(headers: &[Vec<String>], tail: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in headers.iter().flatten() {
        if !tail.contains(&h.as_str()) && !out.contains(h) {
            out.push(h.clone());
        }
    }
    for t in tail {
        if headers.iter().flatten().any(|h| h == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// For each column of `header`, its index in `own` (a run's header), if the run has it.
fn column_map(header: &[String], own: &[String]) -> Vec<Option<usize>> {
    header
        .iter()
        .map(|c| own.iter().position(|h| h == c))
        .collect()
}

/// Plate ids in the merged tables: a plate id used by more than one run (weekly batches all
/// starting at `P001`) becomes `RUN/PLATE` in every run, so that plate maps and QC rows do not
/// mix different plates; unique ids stay as they are.
struct PlateNames {
    renamed: BTreeSet<String>,
    /// Each run's `wells.csv` header.
    wells_headers: Vec<Vec<String>>,
    /// Each run's `qc.csv` header.
    qc_headers: Vec<Vec<String>>,
}

impl PlateNames {
    fn new(folders: &[RunFolder]) -> Result<PlateNames> {
        let mut runs_of: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut wells_headers = Vec::new();
        let mut qc_headers = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            for (name, headers) in [
                ("wells.csv", &mut wells_headers),
                ("qc.csv", &mut qc_headers),
            ] {
                let path = f.dir.join(name);
                let bytes = read_bytes(&path)?;
                let mut t = Table::from_bytes(&bytes, &path)?;
                let c_plate = t.require("plate")?;
                check_no_run_column(&t)?;
                headers.push(t.headers.clone());
                let mut rec = csv::StringRecord::new();
                while t.next_row(&mut rec)?.is_some() {
                    runs_of
                        .entry(field(&rec, Some(c_plate)).to_string())
                        .or_default()
                        .insert(run);
                }
            }
        }
        Ok(PlateNames {
            renamed: runs_of
                .into_iter()
                .filter(|(_, runs)| runs.len() > 1)
                .map(|(p, _)| p)
                .collect(),
            wells_headers,
            qc_headers,
        })
    }

    fn name(&self, run: &str, plate: &str) -> String {
        if self.renamed.contains(plate) {
            format!("{run}/{plate}")
        } else {
            plate.to_string()
        }
    }
}

/// Counts over the merged `wells.csv`, for `run.json`.
#[derive(Default)]
struct WellCounts {
    plates: BTreeSet<String>,
    wells: usize,
    by_role: BTreeMap<String, usize>,
    cell_lines: BTreeSet<String>,
    drugs: BTreeSet<String>,
    flagged: usize,
    excluded: usize,
    superseded: usize,
}

/// Writes the merged `wells.csv`: every run's wells (plate ids as [`PlateNames`] says), with
/// [`RUN_COLUMN`]. Sample wells behind a fit the merge left out (`--on-duplicate newest`) are
/// marked excluded with the reason, so what the merged folder draws is what it fitted.
fn write_wells(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    owner: &BTreeMap<Key, usize>,
    counts: &mut WellCounts,
) -> Result<()> {
    let tail = ["viability", "excluded", "exclusion_reason"];
    let header = union_header(&plates.wells_headers, &tail);
    let io = |e: csv::Error| Error::io(Path::new("wells.csv"), "writing", e.into());
    let mut out = csv::Writer::from_writer(w);
    let mut full = header.clone();
    full.push(RUN_COLUMN.to_string());
    out.write_record(&full).map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (h_plate, h_line, h_drug, h_role, h_signal, h_excluded, h_reason) = (
        col("plate"),
        col("cell_line"),
        col("drug"),
        col("role"),
        col("signal"),
        col("excluded"),
        col("exclusion_reason"),
    );
    let mut cells: Vec<String> = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        let path = f.dir.join("wells.csv");
        let bytes = read_bytes(&path)?;
        let mut t = Table::from_bytes(&bytes, &path)?;
        let map = column_map(&header, &plates.wells_headers[run]);
        let mut rec = csv::StringRecord::new();
        while t.next_row(&mut rec)?.is_some() {
            cells.clear();
            cells.extend(
                map.iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_string()),
            );
            let get =
                |c: Option<usize>, cells: &[String]| c.map_or(String::new(), |c| cells[c].clone());
            if let Some(c) = h_plate {
                cells[c] = plates.name(&f.name, &cells[c]);
            }
            let (line, drug, role) = (
                get(h_line, &cells),
                get(h_drug, &cells),
                get(h_role, &cells),
            );
            let excluded = get(h_excluded, &cells) == "true";
            if role == "sample" && !excluded {
                if let Some(&kept) = owner.get(&(line.clone(), drug.clone())) {
                    if kept != run {
                        if let (Some(e), Some(r)) = (h_excluded, h_reason) {
                            cells[e] = "true".into();
                            cells[r] = format!(
                                "superseded: the merge keeps the fit of {line} × {drug} from run {} (--on-duplicate newest)",
                                folders[kept].name
                            );
                            counts.superseded += 1;
                        }
                    }
                }
            }
            counts.wells += 1;
            counts.plates.insert(get(h_plate, &cells));
            *counts.by_role.entry(role.clone()).or_default() += 1;
            if !line.is_empty() {
                counts.cell_lines.insert(line);
            }
            if !drug.is_empty() {
                counts.drugs.insert(drug);
            }
            let signal = get(h_signal, &cells);
            if role != "empty" && !signal.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                counts.flagged += 1;
            }
            if get(h_excluded, &cells) == "true" {
                counts.excluded += 1;
            }
            out.write_record(cells.iter().map(String::as_str).chain([f.name.as_str()]))
                .map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new("wells.csv"), "writing", e))
}

/// The per-well DIP rates a run writes when its wells are read at several times.
const DIP_RATES: &str = "dip_rates.csv";

/// Writes the merged `dip_rates.csv`: the rows of every run that wrote one (plate ids as
/// [`PlateNames`] says), with [`RUN_COLUMN`]; sample wells behind a fit the merge left out are
/// marked excluded, as in `wells.csv`. A run without the file (its wells were read once)
/// contributes no rows.
fn write_dip_rates(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    owner: &BTreeMap<Key, usize>,
) -> Result<()> {
    let io = |e: csv::Error| Error::io(Path::new(DIP_RATES), "writing", e.into());
    let mut tables = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        let path = f.dir.join(DIP_RATES);
        if path.exists() {
            tables.push((run, path.clone(), read_bytes(&path)?));
        }
    }
    let mut headers = Vec::new();
    for (_, path, bytes) in &tables {
        let t = Table::from_bytes(bytes, path)?;
        check_no_run_column(&t)?;
        headers.push(t.headers.clone());
    }
    let header = union_header(&headers, &["excluded", "reason"]);
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header.iter().map(String::as_str).chain([RUN_COLUMN]))
        .map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (h_plate, h_line, h_drug, h_role, h_excluded, h_reason) = (
        col("plate"),
        col("cell_line"),
        col("drug"),
        col("role"),
        col("excluded"),
        col("reason"),
    );
    let mut cells: Vec<String> = Vec::new();
    for ((run, path, bytes), own) in tables.iter().zip(&headers) {
        let f = &folders[*run];
        let mut t = Table::from_bytes(bytes, path)?;
        let map = column_map(&header, own);
        let mut rec = csv::StringRecord::new();
        while t.next_row(&mut rec)?.is_some() {
            cells.clear();
            cells.extend(
                map.iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_string()),
            );
            if let Some(c) = h_plate {
                cells[c] = plates.name(&f.name, &cells[c]);
            }
            let get = |c: Option<usize>| c.map_or("", |c| cells[c].as_str());
            let key = (get(h_line).to_string(), get(h_drug).to_string());
            let superseded = get(h_role) == "sample"
                && get(h_excluded) != "true"
                && owner.get(&key).is_some_and(|&kept| kept != *run);
            if let (true, Some(e), Some(r)) = (superseded, h_excluded, h_reason) {
                cells[e] = "true".into();
                let note = format!(
                    "superseded: the merge keeps the fit of {} × {} from run {} (--on-duplicate newest)",
                    key.0, key.1, folders[owner[&key]].name
                );
                // The run's own notes (reads not numeric, ...) stay after it.
                cells[r] = if cells[r].is_empty() {
                    note
                } else {
                    format!("{note}; {}", cells[r])
                };
            }
            out.write_record(cells.iter().map(String::as_str).chain([f.name.as_str()]))
                .map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new(DIP_RATES), "writing", e))
}

/// Counts over the merged `qc.csv`, for `run.json`.
#[derive(Default)]
struct QcCounts {
    rows: usize,
    /// pass, warn, fail over the unit rows (a cell line named), as `run` counts them.
    verdicts: [usize; 3],
}

/// Writes the merged `qc.csv`: every run's rows (plate ids as [`PlateNames`] says), with
/// [`RUN_COLUMN`].
fn write_qc(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    counts: &mut QcCounts,
) -> Result<()> {
    let header = union_header(&plates.qc_headers, &[]);
    let io = |e: csv::Error| Error::io(Path::new("qc.csv"), "writing", e.into());
    let mut out = csv::Writer::from_writer(w);
    let mut full = header.clone();
    full.push(RUN_COLUMN.to_string());
    out.write_record(&full).map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (h_plate, h_line, h_verdict) = (col("plate"), col("cell_line"), col("verdict"));
    for (run, f) in folders.iter().enumerate() {
        let path = f.dir.join("qc.csv");
        let bytes = read_bytes(&path)?;
        let mut t = Table::from_bytes(&bytes, &path)?;
        let map = column_map(&header, &plates.qc_headers[run]);
        let mut rec = csv::StringRecord::new();
        while t.next_row(&mut rec)?.is_some() {
            let mut cells: Vec<String> = map
                .iter()
                .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_string())
                .collect();
            if let Some(c) = h_plate {
                cells[c] = plates.name(&f.name, &cells[c]);
            }
            counts.rows += 1;
            let unit = h_line.is_some_and(|c| !cells[c].is_empty());
            let verdict = h_verdict.map_or("", |c| cells[c].as_str());
            if let Some(i) = ["pass", "warn", "fail"].iter().position(|v| *v == verdict) {
                if unit {
                    counts.verdicts[i] += 1;
                }
            }
            out.write_record(cells.iter().map(String::as_str).chain([f.name.as_str()]))
                .map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new("qc.csv"), "writing", e))
}

/// What `run.json` of a merged folder is built from.
struct MergeJson<'a> {
    folders: &'a [RunFolder],
    options: &'a MergeOptions,
    started: &'a str,
    unit: &'a str,
    settings: &'a ShiftSettings,
    inputs: &'a [(PathBuf, String, u64)],
    lines: Option<&'a MergedLines>,
    duplicates: &'a [(Key, usize, Vec<usize>)],
    renamed_plates: &'a BTreeSet<String>,
    wells: &'a WellCounts,
    qc: &'a QcCounts,
    /// Metric mic: the runs' common MIC threshold and the dilution model's summary (`None`
    /// without a lines table).
    mic: Option<(f64, Option<Value>)>,
    report: &'a MergeReport,
}

/// `run.json` of a merged folder: the keys of a run's (so `collateral plot` and the report read
/// it alike) plus `merge`, which names the runs, the duplicates resolved and the plates renamed.
/// `inputs` are the runs' `run.json` files and the lines tables read.
fn merge_json(m: MergeJson<'_>) -> Value {
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
                "run_json_sha256": f.record.1,
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
        "warnings": warnings,
        "skipped": skipped,
    });
    if let Some((_, Some(model))) = &m.mic {
        // The dilution error model fitted to the merged MICs, as a run records its own.
        out["mic"] = model.clone();
    }
    out
}

/// Metric mic: the `mics.csv` rows of every run whose (cell line, drug) fit the merge kept, so
/// that one dilution model (one error rate) is fitted to the merged table, as `run` fits one to
/// its own.
struct MergedMics {
    mics: Vec<crate::mic::Mic>,
    /// The run of each row.
    runs: Vec<usize>,
    /// The runs' common `mic.threshold`.
    threshold: f64,
}

impl MergedMics {
    /// Every run must have read its MICs (`mics.csv`) at one threshold: MICs read at 10 % and
    /// at 50 % growth are not the same measurement.
    fn read(folders: &[RunFolder], owner: &BTreeMap<Key, usize>) -> Result<MergedMics> {
        let mut problems = Vec::new();
        let mut thresholds: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for f in folders {
            let path = f.dir.join("mics.csv");
            if !path.exists() {
                problems.push(Problem {
                    location: Location::file(&path),
                    message: format!(
                        "{} has no mics.csv (it compared {}): metric mic merges the MICs each run read from its wells; rerun it with `metric = \"mic\"`",
                        f.label(),
                        f.shift.metric.name()
                    ),
                });
            }
            let t = &f.json["settings"]["mic"]["threshold"];
            thresholds.entry(t.to_string()).or_default().push(&f.name);
        }
        if thresholds.len() > 1 {
            let each: Vec<String> = thresholds
                .iter()
                .map(|(t, runs)| format!("{t} in {}", runs.join(", ")))
                .collect();
            problems.push(Problem {
                location: Location::default(),
                message: format!(
                    "the runs read their MICs at different thresholds (mic.threshold {}); MICs of one merge must be read alike: rerun them with one threshold",
                    each.join("; ")
                ),
            });
        }
        if !problems.is_empty() {
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        let mut mics = Vec::new();
        let mut runs = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            for m in crate::mic::read_mics(&f.dir.join("mics.csv"))? {
                let key = (m.cell_line.clone(), m.drug.clone());
                // A pair without a fit row has no duplicate to resolve: it is kept.
                if owner.get(&key).is_none_or(|&kept| kept == run) {
                    mics.push(m);
                    runs.push(run);
                }
            }
        }
        let threshold = folders[0].json["settings"]["mic"]["threshold"]
            .as_f64()
            .unwrap_or(crate::mic::MicSettings::default().threshold);
        Ok(MergedMics {
            mics,
            runs,
            threshold,
        })
    }

    /// The merged `mics.csv`: a run's columns, then [`RUN_COLUMN`].
    fn write(&self, w: &mut dyn Write, folders: &[RunFolder]) -> Result<()> {
        let io = |e: csv::Error| Error::io(Path::new("mics.csv"), "writing", e.into());
        let mut out = csv::Writer::from_writer(w);
        out.write_record(crate::mic::MIC_COLUMNS.iter().chain(&[RUN_COLUMN]))
            .map_err(io)?;
        for (m, &run) in self.mics.iter().zip(&self.runs) {
            let fields = crate::mic::mic_fields(m);
            out.write_record(
                fields
                    .iter()
                    .map(String::as_str)
                    .chain([folders[run].name.as_str()]),
            )
            .map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::io(Path::new("mics.csv"), "writing", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_times_sort_as_text() {
        let a = sortable_time("2026-12-01T21:53:07Z").unwrap();
        let b = sortable_time("2026-12-01T21:53:07.042Z").unwrap();
        let c = sortable_time("2026-12-01T21:53:07.5Z").unwrap();
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(b, "2026-12-01T21:53:07.042000000");
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T21:53:07",
            "2026-12-01T21:53:07+01:00",
            "2026-12-01T21:53:07.Z",
            "2026-12-01T21:53:07.0123456789Z",
            "2026-1x-01T21:53:07Z",
        ] {
            assert_eq!(sortable_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn union_header_keeps_order_and_tail() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = union_header(
            &[
                h(&["plate", "signal", "viability", "excluded"]),
                h(&["plate", "signal", "replicate", "viability", "excluded"]),
            ],
            &["viability", "excluded", "exclusion_reason"],
        );
        assert_eq!(
            got,
            h(&["plate", "signal", "replicate", "viability", "excluded"])
        );
    }

    #[test]
    fn on_duplicate_parses_both_words_only() {
        assert_eq!("newest".parse(), Ok(OnDuplicate::Newest));
        assert_eq!("Error".parse(), Ok(OnDuplicate::Error));
        assert!("oldest".parse::<OnDuplicate>().is_err());
    }
}
