//! An assay's inputs → the tidy wells table: the table itself, or the `[[plates]]` form (plate
//! files + layouts). Knows nothing of the assay file: [`crate::assay::Assay::sources`] hands it
//! the paths and entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::plate::{PlateFormat, StrayWells, WellPos};
use crate::read::layout::Layout;
use crate::read::{Format, PlateFile};
use crate::table::Table;
use crate::wells::{Role, Signal, Well, WellTable};

/// One plate file of the `[[plates]]` form, with its layout (paths resolved; `file` may be a
/// glob pattern matching several files, each one plate).
#[derive(Debug, Clone, PartialEq)]
pub struct PlateEntry {
    /// The plate file, or a glob pattern (`reads/*.csv`).
    pub file: PathBuf,
    /// The layout file.
    pub layout: PathBuf,
    /// Plate identifier; default: the file name without extension.
    pub plate: Option<String>,
    /// Cell line of every well the layout gives none.
    pub cell_line: Option<String>,
    /// Which read / wavelength / block is the signal.
    pub read: Option<String>,
    /// Replicate label of every well of the plate.
    pub replicate: Option<String>,
    /// Forced export format (see `crate::read::vendor::FORMAT_NAMES`); detected when `None`.
    pub format: Option<Format>,
    /// Line of the entry in the assay file.
    pub line: Option<u64>,
}

/// Where an assay's wells come from, as its assay file names them (paths resolved).
#[derive(Debug, Clone, Copy)]
pub struct WellSources<'a> {
    /// The assay file, where problems with `[[plates]]` entries point.
    pub path: &'a Path,
    /// The tidy wells table, when the assay names one.
    pub wells: Option<&'a Path>,
    /// Plate files with layouts, the other form.
    pub plates: &'a [PlateEntry],
    /// Declared plate format for every plate, if given.
    pub plate_format: Option<PlateFormat>,
}

/// What was read for one plate, for `collateral validate` and run.json.
#[derive(Debug, Clone)]
pub struct PlateSummary {
    /// Plate identifier.
    pub plate: String,
    /// The plate file.
    pub file: PathBuf,
    /// The layout file.
    pub layout: PathBuf,
    /// The export format detected or forced.
    pub format: &'static str,
    /// The read used as the signal.
    pub read: String,
    /// Every read the file holds, `(name, computed, layout)`.
    pub reads: Vec<(String, bool, bool)>,
    /// The plate format.
    pub plate_format: PlateFormat,
    /// Wells with a reading but not in the layout (kept as `empty`).
    pub data_only: Vec<WellPos>,
    /// Wells the layout uses (not `empty`) that have no reading.
    pub layout_only: Vec<WellPos>,
}

/// Everything read from an assay's inputs.
#[derive(Debug, Clone)]
pub struct AssayWells {
    /// The tidy wells table.
    pub table: WellTable,
    /// Every file read (the wells table, or each plate file and layout), for run.json.
    pub files: Vec<PathBuf>,
    /// Per plate, what was read (empty for the tidy form).
    pub plates: Vec<PlateSummary>,
    /// Things worth saying that do not stop a run (decimal commas, wells without data …).
    pub warnings: Vec<Problem>,
    /// Plates left out because they could not be read (only when reading kept going; each
    /// also has a warning).
    pub skipped: Vec<SkippedPlate>,
}

/// A plate left out of a batch read with `keep_going`: its file could not be read, and the
/// rest of the batch went on without it. Reported, never silently dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedPlate {
    /// Plate identifier (the entry's `plate`, or the file name without extension).
    pub plate: String,
    /// The plate file.
    pub file: PathBuf,
    /// Every problem met reading it, each located.
    pub problems: Vec<Problem>,
}

impl SkippedPlate {
    /// The problems as one line, for `qc.csv` and `run.json`.
    pub fn reason(&self) -> String {
        self.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Reads an assay's wells: the tidy table (`wells`) or every `[[plates]]` entry with its
/// layout. The result is the same [`WellTable`] either way.
pub fn assay_wells(assay: &WellSources) -> Result<AssayWells> {
    assay_wells_with(assay, false)
}

/// [`assay_wells`], optionally keeping going past plate files that cannot be read.
///
/// With `keep_going`, a `[[plates]]` file whose reading fails (missing, truncated, not a plate
/// export, no such read, a grid outside the declared size) is left out and listed in
/// [`AssayWells::skipped`], so one bad export does not stop a batch of hundreds. So is a plate
/// whose layout problem is its own (a `[plate.NAME]` section, an entry without `cell_line`):
/// the same layout read another plate without trouble. What concerns every plate stays an
/// error: a layout that does not parse or fails on every plate it serves, a glob matching no
/// file, two entries claiming one plate, a tidy wells table, and a batch with no plate left.
pub fn assay_wells_with(assay: &WellSources, keep_going: bool) -> Result<AssayWells> {
    if let Some(p) = assay.wells {
        let mut table = WellTable::from_table(&mut Table::open(p)?, assay.plate_format)?;
        // Said once, by whoever reports the read's warnings (run, validate).
        let warnings = std::mem::take(&mut table.warnings);
        return Ok(AssayWells {
            table,
            files: vec![p.to_path_buf()],
            plates: Vec::new(),
            warnings,
            skipped: Vec::new(),
        });
    }
    read_plates(assay, assay.plates, keep_going)
}

/// Expands glob patterns in `file`; a plain path is returned as is.
fn expand(entry: &PlateEntry, assay: &Path) -> Result<Vec<PathBuf>> {
    let s = entry.file.to_string_lossy();
    if !s.contains(['*', '?', '[']) {
        return Ok(vec![entry.file.clone()]);
    }
    let loc = || {
        let mut l = Location::file(assay);
        l.line = entry.line;
        l
    };
    let paths: Vec<PathBuf> = glob::glob(&s)
        .map_err(|e| {
            Error::config(
                loc(),
                format!("`file = \"{s}\"` is not a valid pattern: {e}"),
            )
        })?
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file())
        .collect();
    if paths.is_empty() {
        return Err(Error::input(
            loc(),
            format!("`file = \"{s}\"` matches no file"),
        ));
    }
    if paths.len() > 1 && entry.plate.is_some() {
        return Err(Error::config(
            loc(),
            format!(
                "`file = \"{s}\"` matches {} files but names one `plate`; leave `plate` out so each file is named after itself",
                paths.len()
            ),
        ));
    }
    Ok(paths)
}

fn read_plates(
    assay: &WellSources,
    entries: &[PlateEntry],
    keep_going: bool,
) -> Result<AssayWells> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut warnings: Vec<Problem> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut wells: Vec<Well> = Vec::new();
    let mut formats = BTreeMap::new();
    let mut summaries = Vec::new();
    let mut claimed: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    let mut layouts: BTreeMap<PathBuf, Layout> = BTreeMap::new();
    // With keep_going: plates whose reading failed, decided on once every plate is read; and
    // the layouts that read at least one plate without trouble.
    let mut failed: Vec<(SkippedPlate, PathBuf)> = Vec::new();
    let mut served: BTreeSet<PathBuf> = BTreeSet::new();
    for entry in entries {
        let paths = match expand(entry, assay.path) {
            Ok(p) => p,
            Err(e) => {
                problems.extend(e.problems_found().iter().cloned());
                continue;
            }
        };
        if !layouts.contains_key(&entry.layout) {
            match Layout::read(&entry.layout) {
                Ok(l) => {
                    for f in &l.files {
                        if !files.contains(f) {
                            files.push(f.clone());
                        }
                    }
                    layouts.insert(entry.layout.clone(), l);
                }
                Err(e) => {
                    problems.extend(e.problems_found().iter().cloned());
                    continue;
                }
            }
        }
        let layout = &layouts[&entry.layout];
        for path in paths {
            let plate = entry.plate.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let read_name = entry.read.clone().unwrap_or_default();
            if let Some((f, r)) = claimed.get(&plate) {
                problems.push(Problem {
                    location: Location::file(&path).at_well(&plate, ""),
                    message: format!(
                        "plate {plate} is claimed twice: by this file and by {}{}; give each `[[plates]]` entry its own `plate`",
                        f.display(),
                        if r.is_empty() { String::new() } else { format!(" (read `{r}`)") }
                    ),
                });
                continue;
            }
            claimed.insert(plate.clone(), (path.clone(), read_name));
            if !files.contains(&path) {
                files.push(path.clone());
            }
            // A plate's warnings count only if the plate is read.
            let mut said = Vec::new();
            match one_plate(assay, entry, &path, &plate, layout, &mut said) {
                Ok((w, f, s)) => {
                    wells.extend(w);
                    formats.insert(plate.clone(), f);
                    summaries.push(s);
                    warnings.extend(said);
                    served.insert(entry.layout.clone());
                }
                Err(e) => {
                    // Whatever went wrong, say which plate it was.
                    let found = e.problems_found().iter().cloned().map(|mut p| {
                        p.location.plate.get_or_insert_with(|| plate.clone());
                        p
                    });
                    if keep_going {
                        let s = SkippedPlate {
                            plate: plate.clone(),
                            file: path.clone(),
                            problems: found.collect(),
                        };
                        failed.push((s, entry.layout.clone()));
                    } else {
                        problems.extend(found);
                    }
                }
            }
        }
    }
    let mut skipped = Vec::new();
    for (s, layout_path) in failed {
        let layout = &layouts[&layout_path];
        let in_layout = s.problems.iter().any(|p| {
            p.location
                .file
                .as_ref()
                .is_some_and(|f| *f == layout.path || layout.files.contains(f))
        });
        if in_layout && !served.contains(&layout_path) {
            // The layout failed on every plate it serves: not one plate's trouble.
            problems.extend(s.problems);
            continue;
        }
        // The warning is located at the file and plate; its problems need not repeat them.
        let said: Vec<String> = s
            .problems
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if p.location.file.as_ref() == Some(&s.file) {
                    p.location.file = None;
                }
                if p.location.plate.as_ref() == Some(&s.plate) {
                    p.location.plate = None;
                }
                p.to_string()
            })
            .collect();
        warnings.push(Problem {
            location: Location::file(&s.file).at_well(&s.plate, ""),
            message: format!("plate left out (--keep-going): {}", said.join("; ")),
        });
        // A file that cannot be opened (missing, no permission) has no checksum for run.json.
        if std::fs::File::open(&s.file).is_err() {
            files.retain(|f| *f != s.file);
        }
        skipped.push(s);
    }
    if problems.is_empty() && wells.is_empty() && !skipped.is_empty() {
        problems.push(Problem {
            location: Location::file(assay.path),
            message: format!(
                "none of the {} plate files could be read; nothing is left to run on",
                skipped.len()
            ),
        });
        problems.extend(skipped.iter().flat_map(|s| s.problems.iter().cloned()));
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    let has_replicate = wells.iter().any(|w| !w.replicate.is_empty());
    Ok(AssayWells {
        table: WellTable {
            wells: wells.into_iter().collect(),
            extra_columns: Vec::new(),
            has_replicate,
            has_time: false,
            formats,
            warnings: Vec::new(),
        },
        files,
        plates: summaries,
        warnings,
        skipped,
    })
}

/// The wells of one plate file read with its layout.
fn one_plate(
    assay: &WellSources,
    entry: &PlateEntry,
    path: &Path,
    plate: &str,
    layout: &Layout,
    warnings: &mut Vec<Problem>,
) -> Result<(Vec<Well>, PlateFormat, PlateSummary)> {
    let file = PlateFile::read(path, entry.format)?;
    let read = file.choose(entry.read.as_deref())?;
    let mut format = file.format_of(read, plate, assay.plate_format)?;
    let lw = layout.wells_of(plate)?;
    // A layout well beyond the data grid makes the plate larger, unless a size is declared.
    let mut problems = Vec::new();
    for pos in lw.keys() {
        if !format.contains(*pos) {
            match (assay.plate_format, PlateFormat::smallest_containing(*pos)) {
                (None, Some(f)) if f.wells() > format.wells() => format = f,
                _ => problems.push(Problem {
                    location: Location::file(&layout.path).at_well(plate, &pos.to_string()),
                    message: format!("the layout names well {pos}, outside this {format} plate"),
                }),
            }
        }
    }
    let signals = file.signals(read, plate, warnings);
    let mut data: BTreeMap<WellPos, (Signal, Location)> = BTreeMap::new();
    for (cell, sig, loc) in signals {
        data.insert(cell.pos, (sig, loc));
    }
    let default_line = entry.cell_line.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut has_vehicle = false;
    let mut data_only = Vec::new();
    let mut layout_only = Vec::new();
    let positions: BTreeSet<WellPos> = lw.keys().chain(data.keys()).copied().collect();
    // A size nobody declared, taken larger than all but a few wells suggest (a mistyped well
    // in a well list or the layout). The grid's own header still counts as a declaration.
    if assay.plate_format.is_none() {
        let all: Vec<WellPos> = positions.iter().copied().collect();
        if let Some(s) = StrayWells::find(&all, format, read.rows, read.columns) {
            for pos in &s.wells {
                let location = match data.get(pos) {
                    Some((_, l)) => l.clone(),
                    None => Location::file(&layout.path).at_well(plate, &pos.to_string()),
                };
                warnings.push(Problem {
                    location,
                    message: s.message(*pos, plate, "`plate_size = {}` in the assay"),
                });
            }
        }
    }
    for pos in positions {
        let (signal, line, data_loc) = match data.get(&pos) {
            Some((s, l)) => (s.clone(), l.line.unwrap_or(0), Some(l.clone())),
            None => (Signal::NotNumeric(String::new()), 0, None),
        };
        let layout_loc = Location::file(&layout.path).at_well(plate, &pos.to_string());
        let (role, cell_line, drug, concentration, replicate) = match lw.get(&pos) {
            // Wells a layout leaves out are empty; their reading is kept.
            None => {
                data_only.push(pos);
                (
                    Role::Empty,
                    String::new(),
                    String::new(),
                    None,
                    String::new(),
                )
            }
            Some(params) => match layout.spec(plate, pos, params, &default_line) {
                Ok(s) => (s.role, s.cell_line, s.drug, s.concentration, s.replicate),
                Err(m) => {
                    problems.push(Problem {
                        location: layout_loc,
                        message: m,
                    });
                    continue;
                }
            },
        };
        if role == Role::Sample {
            if drug.is_empty() {
                problems.push(Problem {
                    location: layout_loc.clone(),
                    message: "sample well without a `drug`; untreated wells are role `vehicle`"
                        .into(),
                });
            }
            if cell_line.is_empty() {
                problems.push(Problem {
                    location: layout_loc.clone(),
                    message: "sample well without a cell line: give `cell_line` in the layout or the `[[plates]]` entry".into(),
                });
            }
            if concentration.is_none_or(|c| !(c.is_finite() && c > 0.0)) {
                problems.push(Problem {
                    location: layout_loc.clone(),
                    message: format!(
                        "sample well (drug `{drug}`) without a positive `concentration` (or `top_concentration` + `dilution` + `series_start`)"
                    ),
                });
            }
        }
        if role == Role::Vehicle && cell_line.is_empty() {
            problems.push(Problem {
                location: layout_loc.clone(),
                message: "vehicle well without a cell line: give `cell_line` in the layout or the `[[plates]]` entry".into(),
            });
        }
        if role != Role::Empty && data_loc.is_none() {
            layout_only.push(pos);
            warnings.push(Problem {
                location: layout_loc,
                message: format!(
                    "the layout makes this a {role} well but {} has no reading for it",
                    path.display()
                ),
            });
        }
        has_vehicle |= role == Role::Vehicle;
        out.push(Well {
            plate: plate.to_string(),
            position: pos,
            cell_line,
            drug,
            concentration,
            role,
            signal,
            replicate: entry
                .replicate
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or(replicate),
            time: None,
            extra: Vec::new(),
            line,
        });
    }
    if !has_vehicle {
        problems.push(Problem {
            location: Location::file(&layout.path).at_well(plate, ""),
            message: format!("plate {plate} has no vehicle wells in its layout; viability needs untreated controls on every plate"),
        });
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    let summary = PlateSummary {
        plate: plate.to_string(),
        file: path.to_path_buf(),
        layout: layout.path.clone(),
        format: file.format.name(),
        read: read.name.clone(),
        reads: file
            .reads
            .iter()
            .map(|r| (r.name.clone(), r.computed, r.layout))
            .collect(),
        plate_format: format,
        data_only,
        layout_only,
    };
    Ok((out, format, summary))
}
