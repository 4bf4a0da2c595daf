//! An assay's inputs → the tidy wells table: the table itself, or the `[[plates]]` form (plate
//! files + layouts). Knows nothing of the assay file: [`crate::assay::Assay::sources`] hands it
//! the paths and entries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::plate::{PlateFormat, StrayWells, WellPos};
use crate::read::grid::Read;
use crate::read::layout::Layout;
use crate::read::{Format, PlateFile};
use crate::table::{Table, TableOptions};
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
    /// The assay's concentration unit, into which concentrations written with a unit are
    /// converted.
    pub concentration_unit: &'a str,
    /// How the assay's tidy tables are written (sheet, decimal mark).
    pub tables: &'a TableOptions,
    /// Whether every plate needs vehicle wells: true unless normalization takes 100 % from
    /// elsewhere (`[normalize] reference`).
    pub vehicles_required: bool,
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
    pub(crate) data_only: Vec<WellPos>,
    /// Wells the layout uses (not `empty`) that have no reading.
    pub(crate) layout_only: Vec<WellPos>,
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
        let mut file = Table::open_with(p, assay.tables)?;
        let mut table = if assay.vehicles_required {
            WellTable::from_table_in_unit(&mut file, assay.plate_format, assay.concentration_unit)?
        } else {
            WellTable::from_table_in_unit_without_vehicles(
                &mut file,
                assay.plate_format,
                assay.concentration_unit,
            )?
        };
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

/// The `[[plates]]` form: every entry's files read with their layouts, then, with
/// `keep_going`, the plates that failed left out (unless their layout failed them all).
fn read_plates(
    assay: &WellSources,
    entries: &[PlateEntry],
    keep_going: bool,
) -> Result<AssayWells> {
    let mut reading = PlatesReading {
        assay,
        keep_going,
        found: Found::default(),
    };
    for entry in entries {
        reading.entry(entry);
    }
    let skipped = reading.leave_out_failed();
    reading.finish(skipped)
}

/// Reading the plates of an assay.
struct PlatesReading<'a> {
    assay: &'a WellSources<'a>,
    keep_going: bool,
    found: Found,
}

/// The plates read so far, and what was found on the way.
#[derive(Default)]
struct Found {
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    /// Every file read (plates, layouts and their files), for run.json's checksums.
    files: Vec<PathBuf>,
    wells: Vec<Well>,
    formats: BTreeMap<String, PlateFormat>,
    summaries: Vec<PlateSummary>,
    /// Each plate's file and read.
    claimed: BTreeMap<String, (PathBuf, String)>,
    layouts: BTreeMap<PathBuf, Layout>,
    /// With keep_going: plates whose reading failed, decided on once every plate is read; and
    /// the layouts that read at least one plate without trouble.
    failed: Vec<(SkippedPlate, PathBuf)>,
    served: BTreeSet<PathBuf>,
}

impl PlatesReading<'_> {
    /// One `[[plates]]` entry: its files, its layout (read once), then each file's plate.
    fn entry(&mut self, entry: &PlateEntry) {
        let paths = match expand(entry, self.assay.path) {
            Ok(p) => p,
            Err(e) => {
                self.found
                    .problems
                    .extend(e.problems_found().iter().cloned());
                return;
            }
        };
        if !self.found.layouts.contains_key(&entry.layout) {
            match Layout::read(&entry.layout) {
                Ok(l) => {
                    for f in &l.files {
                        if !self.found.files.contains(f) {
                            self.found.files.push(f.clone());
                        }
                    }
                    self.found.layouts.insert(entry.layout.clone(), l);
                }
                Err(e) => {
                    self.found
                        .problems
                        .extend(e.problems_found().iter().cloned());
                    return;
                }
            }
        }
        for path in paths {
            self.plate(entry, path);
        }
    }

    /// One plate file: named (the entry's `plate` or the file's stem), claimed once, read.
    fn plate(&mut self, entry: &PlateEntry, path: PathBuf) {
        let plate = entry.plate.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let read_name = entry.read.clone().unwrap_or_default();
        if let Some((f, r)) = self.found.claimed.get(&plate) {
            self.found.problems.push(Problem {
                location: Location::file(&path).at_well(&plate, ""),
                message: format!(
                    "plate {plate} is claimed twice: by this file and by {}{}; give each `[[plates]]` entry its own `plate`",
                    f.display(),
                    if r.is_empty() { String::new() } else { format!(" (read `{r}`)") }
                ),
            });
            return;
        }
        self.found
            .claimed
            .insert(plate.clone(), (path.clone(), read_name));
        if !self.found.files.contains(&path) {
            self.found.files.push(path.clone());
        }
        // A plate's warnings count only if the plate is read.
        let mut said = Vec::new();
        let source = PlateSource {
            assay: self.assay,
            entry,
            path: &path,
            plate: &plate,
            layout: &self.found.layouts[&entry.layout],
        };
        match source.read(&mut said) {
            Ok((w, f, s)) => {
                self.found.wells.extend(w);
                self.found.formats.insert(plate.clone(), f);
                self.found.summaries.push(s);
                self.found.warnings.extend(said);
                self.found.served.insert(entry.layout.clone());
            }
            Err(e) => {
                // Whatever went wrong, say which plate it was.
                let found = e.problems_found().iter().cloned().map(|mut p| {
                    p.location.plate.get_or_insert_with(|| plate.clone());
                    p
                });
                if self.keep_going {
                    let s = SkippedPlate {
                        plate: plate.clone(),
                        file: path.clone(),
                        problems: found.collect(),
                    };
                    self.found.failed.push((s, entry.layout.clone()));
                } else {
                    self.found.problems.extend(found);
                }
            }
        }
    }

    /// The failed plates left out with a warning each, unless their layout failed on every
    /// plate it serves (not one plate's trouble: a problem).
    fn leave_out_failed(&mut self) -> Vec<SkippedPlate> {
        let mut skipped = Vec::new();
        for (s, layout_path) in std::mem::take(&mut self.found.failed) {
            let layout = &self.found.layouts[&layout_path];
            let in_layout = s.problems.iter().any(|p| {
                p.location
                    .file
                    .as_ref()
                    .is_some_and(|f| *f == layout.path || layout.files.contains(f))
            });
            if in_layout && !self.found.served.contains(&layout_path) {
                self.found.problems.extend(s.problems);
                continue;
            }
            self.found.warnings.push(left_out_warning(&s));
            // A file that cannot be opened (missing, no permission) has no checksum for
            // run.json.
            if std::fs::File::open(&s.file).is_err() {
                self.found.files.retain(|f| *f != s.file);
            }
            skipped.push(s);
        }
        skipped
    }

    /// The wells table of every plate read, or every problem.
    fn finish(mut self, skipped: Vec<SkippedPlate>) -> Result<AssayWells> {
        if self.found.problems.is_empty() && self.found.wells.is_empty() && !skipped.is_empty() {
            self.found.problems.push(Problem {
                location: Location::file(self.assay.path),
                message: format!(
                    "none of the {} plate files could be read; nothing is left to run on",
                    skipped.len()
                ),
            });
            self.found
                .problems
                .extend(skipped.iter().flat_map(|s| s.problems.iter().cloned()));
        }
        if !self.found.problems.is_empty() {
            return Err(Error::problems(ErrorKind::Input, self.found.problems));
        }
        let has_replicate = self.found.wells.iter().any(|w| !w.replicate.is_empty());
        Ok(AssayWells {
            table: WellTable {
                wells: self.found.wells.into_iter().collect(),
                extra_columns: Vec::new(),
                has_replicate,
                has_time: false,
                formats: self.found.formats,
                warnings: Vec::new(),
            },
            files: self.found.files,
            plates: self.found.summaries,
            warnings: self.found.warnings,
            skipped,
        })
    }
}

/// The warning of a plate left out, located at its file and plate (its problems need not
/// repeat them).
fn left_out_warning(s: &SkippedPlate) -> Problem {
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
    Problem {
        location: Location::file(&s.file).at_well(&s.plate, ""),
        message: format!("plate left out (--keep-going): {}", said.join("; ")),
    }
}

/// One plate file with its entry and layout.
struct PlateSource<'a> {
    assay: &'a WellSources<'a>,
    entry: &'a PlateEntry,
    path: &'a Path,
    plate: &'a str,
    layout: &'a Layout,
}

/// What the layout says of one well.
struct LayoutWell {
    role: Role,
    cell_line: String,
    drug: String,
    concentration: Option<f64>,
    replicate: String,
}

impl PlateSource<'_> {
    /// The wells of the plate file read with its layout: the plate's format, its readings, then
    /// every well either names, checked; with its summary.
    fn read(&self, warnings: &mut Vec<Problem>) -> Result<(Vec<Well>, PlateFormat, PlateSummary)> {
        let (plate, layout) = (self.plate, self.layout);
        let file = PlateFile::read(self.path, self.entry.format)?;
        let read = file.choose(self.entry.read.as_deref())?;
        let format = file.format_of(read, plate, self.assay.plate_format)?;
        let lw = layout.wells_of(plate)?;
        let mut problems = Vec::new();
        let format = self.format_with_layout(format, lw.keys(), &mut problems);
        let mut data: BTreeMap<WellPos, (Signal, Location)> = BTreeMap::new();
        for (cell, sig, loc) in file.signals(read, plate, warnings) {
            data.insert(cell.pos, (sig, loc));
        }
        let positions: BTreeSet<WellPos> = lw.keys().chain(data.keys()).copied().collect();
        if self.assay.plate_format.is_none() {
            self.warn_stray_wells(&positions, format, read, &data, warnings);
        }
        let default_line = self.entry.cell_line.clone().unwrap_or_default();
        let (mut out, mut data_only, mut layout_only) = (Vec::new(), Vec::new(), Vec::new());
        for pos in positions {
            let (signal, line, data_loc) = match data.get(&pos) {
                Some((s, l)) => (s.clone(), l.line.unwrap_or(0), Some(l.clone())),
                None => (Signal::NotNumeric(String::new()), 0, None),
            };
            let spec = match lw.get(&pos) {
                // Wells a layout leaves out are empty; their reading is kept.
                None => {
                    data_only.push(pos);
                    LayoutWell {
                        role: Role::Empty,
                        cell_line: String::new(),
                        drug: String::new(),
                        concentration: None,
                        replicate: String::new(),
                    }
                }
                Some(params) => match layout.spec(plate, pos, params, &default_line) {
                    Ok(s) => LayoutWell {
                        role: s.role,
                        cell_line: s.cell_line,
                        drug: s.drug,
                        concentration: s.concentration,
                        replicate: s.replicate,
                    },
                    Err(m) => {
                        problems.push(Problem {
                            location: self.at_layout(pos),
                            message: m,
                        });
                        continue;
                    }
                },
            };
            problems.extend(self.check(pos, &spec));
            if spec.role != Role::Empty && data_loc.is_none() {
                layout_only.push(pos);
                warnings.push(Problem {
                    location: self.at_layout(pos),
                    message: format!(
                        "the layout makes this a {} well but {} has no reading for it",
                        spec.role,
                        self.path.display()
                    ),
                });
            }
            out.push(self.well(pos, spec, signal, line));
        }
        if self.assay.vehicles_required && !out.iter().any(|w| w.role == Role::Vehicle) {
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
            file: self.path.to_path_buf(),
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

    /// A size nobody declared, taken larger than all but a few wells suggest (a mistyped well
    /// in a well list or the layout): a warning at each of those wells. The grid's own header
    /// still counts as a declaration.
    fn warn_stray_wells(
        &self,
        positions: &BTreeSet<WellPos>,
        format: PlateFormat,
        read: &Read,
        data: &BTreeMap<WellPos, (Signal, Location)>,
        warnings: &mut Vec<Problem>,
    ) {
        let all: Vec<WellPos> = positions.iter().copied().collect();
        if let Some(s) = StrayWells::find(&all, format, read.rows, read.columns) {
            for pos in &s.wells {
                warnings.push(Problem {
                    location: match data.get(pos) {
                        Some((_, l)) => l.clone(),
                        None => self.at_layout(*pos),
                    },
                    message: s.message(*pos, self.plate, "`plate_size = {}` in the assay"),
                });
            }
        }
    }

    /// A well of the layout, located in the layout file.
    fn at_layout(&self, pos: WellPos) -> Location {
        Location::file(&self.layout.path).at_well(self.plate, &pos.to_string())
    }

    /// The plate's format: a layout well beyond the data grid makes the plate larger, unless a
    /// size is declared (then it is a problem).
    fn format_with_layout<'w>(
        &self,
        mut format: PlateFormat,
        layout_wells: impl Iterator<Item = &'w WellPos>,
        problems: &mut Vec<Problem>,
    ) -> PlateFormat {
        for pos in layout_wells {
            if !format.contains(*pos) {
                match (
                    self.assay.plate_format,
                    PlateFormat::smallest_containing(*pos),
                ) {
                    (None, Some(f)) if f.wells() > format.wells() => format = f,
                    _ => problems.push(Problem {
                        location: self.at_layout(*pos),
                        message: format!(
                            "the layout names well {pos}, outside this {format} plate"
                        ),
                    }),
                }
            }
        }
        format
    }

    /// What a sample or vehicle well of the layout lacks.
    fn check(&self, pos: WellPos, w: &LayoutWell) -> Vec<Problem> {
        let mut messages: Vec<String> = Vec::new();
        if w.role == Role::Sample {
            if w.drug.is_empty() {
                messages.push(
                    "sample well without a `drug`; untreated wells are role `vehicle`".into(),
                );
            }
            if w.cell_line.is_empty() {
                messages.push("sample well without a cell line: give `cell_line` in the layout or the `[[plates]]` entry".into());
            }
            if w.concentration.is_none_or(|c| !(c.is_finite() && c > 0.0)) {
                messages.push(format!(
                    "sample well (drug `{}`) without a positive `concentration` (or `top_concentration` + `dilution` + `series_start`)",
                    w.drug
                ));
            }
        }
        if w.role == Role::Vehicle && w.cell_line.is_empty() {
            messages.push("vehicle well without a cell line: give `cell_line` in the layout or the `[[plates]]` entry".into());
        }
        messages
            .into_iter()
            .map(|message| Problem {
                location: self.at_layout(pos),
                message,
            })
            .collect()
    }

    /// The well, its replicate the entry's when it gives one.
    fn well(&self, position: WellPos, w: LayoutWell, signal: Signal, line: u64) -> Well {
        Well {
            plate: self.plate.to_string(),
            position,
            cell_line: w.cell_line,
            drug: w.drug,
            concentration: w.concentration,
            role: w.role,
            signal,
            replicate: self
                .entry
                .replicate
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or(w.replicate),
            time: None,
            extra: Vec::new(),
            line,
        }
    }
}
