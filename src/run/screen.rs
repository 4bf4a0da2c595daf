//! What a run computes on: a screen's wells, lines and settings, read from an assay file or
//! built in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::assay::{Assay, Settings};
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::evidence::Evidence;
use crate::fit::FitConfig;
use crate::lines::LinesTable;
use crate::read::inputs::SkippedPlate;
use crate::wells::WellTable;

pub use crate::output::run_json::InputRecord;

/// A screen ready to run: the wells (every read), the lines table, the checked settings, and
/// where they came from. Built by [`Screen::read`] from an assay file or by [`Screen::new`]
/// from tables in memory; [`Screen::run`] computes every stage without touching the disk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Screen {
    /// Name of the screen.
    pub name: String,
    /// Unit of every concentration.
    pub concentration_unit: String,
    /// Unit of the lines table's `evolution_time`, when given.
    pub evolution_time_unit: Option<String>,
    /// The settings of every stage, checked.
    pub settings: Settings,
    /// How `collateral run` writes the tables (the assay's `[output] format`; CSV for a
    /// screen built in memory).
    pub table_format: crate::outdir::TableFormat,
    /// Every read of every well.
    pub wells: WellTable,
    /// The lines table; without one a run stops after the fits.
    pub lines: Option<LinesTable>,
    /// What reading found that does not stop a run (also the assay's and the lines table's).
    pub warnings: Vec<Problem>,
    /// Plates left out because their file could not be read (`keep_going`).
    pub skipped: Vec<SkippedPlate>,
    /// The files read, in order (assay, wells or plate files, lines), for `run.json`.
    pub inputs: Vec<InputRecord>,
    /// The assay file (`None` for a screen built in memory).
    pub assay_path: Option<PathBuf>,
    /// The evidence tables the settings name (`[evidence]`; the bundled ones by default),
    /// loaded once: the comparison marks the pairs they report ([`crate::evidence`]).
    pub evidence: Evidence,
    /// Where problems with the wells point: the wells table, or the assay file for plate files.
    pub(crate) wells_origin: PathBuf,
    /// The file each plate was read from (plate files; empty otherwise), for the checks'
    /// locations.
    pub(crate) plate_files: BTreeMap<String, PathBuf>,
}

impl Screen {
    /// Reads an assay file and everything it names (wells table or plate files with layouts,
    /// lines table), checked as `collateral run` checks them. With `keep_going`, plate files
    /// that cannot be read are left out (named in [`Screen::skipped`]) instead of stopping.
    pub fn read(assay_path: &Path, keep_going: bool) -> Result<Screen> {
        let assay = Assay::from_file(assay_path)?;
        // A wells table's checksum is computed on a thread of its own while the table is read
        // (hundreds of megabytes in a large screen); plate files are summed after.
        let (read, table_record) = std::thread::scope(|scope| {
            let record = assay
                .wells
                .as_deref()
                .map(|p| scope.spawn(|| input_record(p)));
            let read = crate::read::inputs::assay_wells_with(&assay.sources(), keep_going);
            let record = record.map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (read, record)
        });
        let read = read?;
        let table_record = table_record.transpose()?;
        let mut inputs = vec![input_record(assay_path)?];
        for f in &read.files {
            match &table_record {
                Some(r) if r.path == f.display().to_string() => inputs.push(r.clone()),
                _ => inputs.push(input_record(f)?),
            }
        }
        let mut warnings = assay.warnings.clone();
        warnings.extend(read.warnings);
        let lines = match checked_lines(&assay, assay_path, &read.table)? {
            Some(checked) if !checked.problems.is_empty() => {
                return Err(Error::problems(ErrorKind::Input, checked.problems));
            }
            Some(checked) => {
                inputs.push(input_record(
                    assay.lines.as_deref().unwrap_or(&checked.table.path),
                )?);
                warnings.extend(checked.warnings);
                Some(checked.table)
            }
            None => None,
        };
        if let Some(p) = growth_metric_problem(&assay, assay_path, &read.table, lines.as_ref()) {
            return Err(Error::config(p.location, p.message));
        }
        let evidence = assay.settings.evidence.load()?;
        for file in &assay.settings.evidence.files {
            inputs.push(input_record(file)?);
        }
        let plate_files = read
            .plates
            .iter()
            .map(|p| (p.plate.clone(), p.file.clone()))
            .collect();
        Ok(Screen {
            evidence,
            plate_files,
            wells_origin: assay
                .wells
                .clone()
                .unwrap_or_else(|| assay_path.to_path_buf()),
            name: assay.name,
            concentration_unit: assay.concentration_unit,
            evolution_time_unit: assay.evolution_time_unit,
            table_format: assay.output.format,
            settings: assay.settings,
            wells: read.table,
            lines,
            warnings,
            skipped: read.skipped,
            inputs,
            assay_path: Some(assay_path.to_path_buf()),
        })
    }

    /// A screen from tables built in memory. The settings were checked when they were built
    /// ([`Settings`] holds each stage's settings only as [`crate::checked::Checked`] values:
    /// `settings.shift = shift.check()?`); the lines table is checked against the wells as
    /// [`Screen::read`] checks it: problems are errors, lines on one side only are warnings.
    pub fn new(
        name: &str,
        concentration_unit: &str,
        settings: Settings,
        wells: WellTable,
        lines: Option<LinesTable>,
    ) -> Result<Screen> {
        // A table read from a file was checked row by row; one built in memory may hold a sample
        // without a concentration, which the curves cannot place: an error, not a panic later.
        if let Some(w) = wells
            .wells
            .iter()
            .find(|w| w.role == crate::wells::Role::Sample && w.concentration.is_none())
        {
            return Err(Error::input(
                Location::default().at_well(w.plate.as_ref(), &w.position.to_string()),
                "sample well without a `concentration`",
            ));
        }
        let mut warnings = wells.warnings.clone();
        if let Some(lt) = &lines {
            let (problems, more) = lt.problems_against(&line_names(&wells));
            if !problems.is_empty() {
                return Err(Error::problems(ErrorKind::Input, problems));
            }
            warnings.extend(more);
        }
        if settings.shift.metric.is_growth() && !has_growth_data(&wells, lines.as_ref()) {
            return Err(Error::config(
                Location::default(),
                growth_metric_message(settings.shift.metric.name()),
            ));
        }
        Ok(Screen {
            evidence: settings.evidence.load()?,
            name: name.to_string(),
            concentration_unit: concentration_unit.to_string(),
            evolution_time_unit: None,
            table_format: crate::outdir::TableFormat::Csv,
            settings,
            wells,
            lines,
            warnings,
            skipped: Vec::new(),
            inputs: Vec::new(),
            assay_path: None,
            wells_origin: PathBuf::new(),
            plate_files: BTreeMap::new(),
        })
    }

    /// The checked fitting configuration of [`Screen::settings`].
    pub fn fit_config(&self) -> &FitConfig {
        &self.settings.fit
    }

    /// Whether the screen has growth data (read times, or doubling times of the lines).
    pub fn has_growth_data(&self) -> bool {
        has_growth_data(&self.wells, self.lines.as_ref())
    }
}

/// The named cell lines of a wells table.
fn line_names(table: &WellTable) -> BTreeSet<String> {
    table
        .wells
        .distinct_names(1)
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|n| n.to_string())
        .collect()
}

/// The assay's lines table as a run checks it (see [`checked_lines`]).
#[derive(Debug, Clone)]
pub struct CheckedLines {
    /// The table.
    pub table: LinesTable,
    /// What stops a run: resistant lines with wells whose parental line has none.
    pub problems: Vec<Problem>,
    /// Lines on one side only (table or wells), evolution times without a unit.
    pub warnings: Vec<Problem>,
}

/// The assay's lines table (`None` without one), checked against the wells: every resistant
/// line with wells needs its parental line's; lines on one side only and evolution times
/// without a unit are warnings. `run` stops on the problems, `validate` lists them.
pub fn checked_lines(
    assay: &Assay,
    assay_path: &Path,
    table: &WellTable,
) -> Result<Option<CheckedLines>> {
    let Some(p) = &assay.lines else {
        return Ok(None);
    };
    let lt = LinesTable::read_with(p, &assay.tables)?;
    let (problems, mut warnings) = lt.problems_against(&line_names(table));
    if lt.has_evolution_time && assay.evolution_time_unit.is_none() {
        warnings.push(Problem {
            location: Location::file(assay_path),
            message: format!(
                "the lines table {} gives evolution times but the assay names no unit; add e.g. `evolution_time_unit = \"day\"` (or \"passage\")",
                p.display()
            ),
        });
    }
    Ok(Some(CheckedLines {
        table: lt,
        problems,
        warnings,
    }))
}

/// Growth data: times of the reads, or doubling times of the lines. Without them a run writes
/// no growth columns.
pub fn has_growth_data(table: &WellTable, lines: Option<&LinesTable>) -> bool {
    table.has_time || lines.is_some_and(|l| l.has_doubling_time())
}

fn growth_metric_message(metric: &str) -> String {
    format!(
        "`shift.metric = \"{metric}\"` needs growth data, and this run has none: the wells table has no `time` column (time-0 reads, time courses) and the lines table no `doubling_time_h`; see docs/growth.md"
    )
}

/// The problem of a growth metric (`gr50`, `dip_ec50`, ...) without growth data to compute it
/// from, located at the assay's `metric` key; `None` when the metric can be computed.
pub fn growth_metric_problem(
    assay: &Assay,
    assay_path: &Path,
    table: &WellTable,
    lines: Option<&LinesTable>,
) -> Option<Problem> {
    let metric = assay.settings.shift.metric;
    if !metric.is_growth() || has_growth_data(table, lines) {
        return None;
    }
    // The assay was read a moment ago; its text only locates the key.
    let text = std::fs::read_to_string(assay_path).unwrap_or_default();
    let line = crate::text::key_line(&text, "metric");
    Some(Problem {
        location: Location::file(assay_path).at_line_opt(line),
        message: growth_metric_message(metric.name()),
    })
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An input file's path, SHA-256 and size, for `run.json`. The file is hashed as it streams:
/// a wells table of hundreds of megabytes is not held in memory for its checksum.
pub fn input_record(path: &Path) -> Result<InputRecord> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, "reading", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, "reading", e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let sha256: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(InputRecord {
        path: path.display().to_string(),
        sha256,
        bytes,
    })
}
