//! What a careful colleague notices in a screen's design and readings before anything is
//! fitted, whatever form the wells came in (tidy table, plate files with layouts, a table built
//! in memory): a plate given twice, a plate whose readings are all one number, a drug spelled
//! two ways, a drug at too few doses to draw a curve, a sample well without a positive dose,
//! and controls that cannot normalize (no vehicle wells, a vehicle level not above the blank).
//! Each finding is located (file, line, plate, well where they apply); docs/inputs.md says
//! which are errors and which warnings, and why.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::error::{Location, Problem};
use crate::normalize::{ControlLevels, Unit};
use crate::wells::{Role, WellRef, WellTable};

/// The fewest distinct doses a four-parameter curve is determined by.
pub const MIN_DOSES: usize = 4;

/// What the design checks found: errors stop a run (and fail `validate`), warnings are said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesignFindings {
    /// Findings no run should go on with (a sample well without a positive dose).
    pub errors: Vec<Problem>,
    /// Findings a run goes on with, named.
    pub warnings: Vec<Problem>,
}

/// Where the wells of a table point: the file (`source`), whether their line numbers are lines
/// of it, and the file each plate was read from (plate files; empty for a tidy table).
#[derive(Debug, Clone, Copy)]
pub struct WellsOrigin<'a> {
    /// The wells table, or the assay file for plate files.
    pub source: &'a Path,
    /// Whether a well's `line` is a line of `source`.
    pub with_lines: bool,
    /// The plate file of each plate read from one.
    pub plate_files: &'a BTreeMap<String, PathBuf>,
}

impl WellsOrigin<'_> {
    /// A well, located: file and line, plate, well.
    fn well(&self, w: &WellRef<'_>) -> Location {
        self.line(w.line).at_well(w.plate, &w.position.to_string())
    }

    /// The source at a line (when lines are its lines).
    fn line(&self, line: u64) -> Location {
        // A table built in memory has no file.
        if self.source.as_os_str().is_empty() {
            return Location::default();
        }
        let loc = Location::file(self.source);
        if self.with_lines && line > 0 {
            loc.at_line(line)
        } else {
            loc
        }
    }

    /// A plate: its own file when it was read from one, else the source at `line`.
    fn plate(&self, plate: &str, line: u64) -> Location {
        match self.plate_files.get(plate) {
            Some(f) => Location::file(f).at_well(plate, ""),
            None => self.line(line).at_well(plate, ""),
        }
    }
}

/// The checks that need the wells only (not their normalization).
pub fn design_findings(table: &WellTable, origin: &WellsOrigin<'_>) -> DesignFindings {
    let mut out = DesignFindings {
        errors: sample_dose_errors(table, origin),
        warnings: Vec::new(),
    };
    let plates = PlateReadings::of(table);
    out.warnings.extend(plates.flat_warnings(origin));
    out.warnings
        .extend(plates.duplicate_warnings(table, origin));
    out.warnings
        .extend(spelling_warnings(table, origin, 2, "drug"));
    out.warnings
        .extend(spelling_warnings(table, origin, 1, "cell line"));
    out.warnings.extend(few_dose_warnings(table, origin));
    out
}

/// A sample well needs a positive, finite dose: the readers say so row by row; a table built
/// in memory is checked here.
fn sample_dose_errors(table: &WellTable, origin: &WellsOrigin<'_>) -> Vec<Problem> {
    table
        .wells
        .iter()
        .filter(|w| w.role == Role::Sample)
        .filter_map(|w| {
            let why = match w.concentration {
                None => "sample well without a `concentration`".to_string(),
                Some(c) if c.is_finite() && c > 0.0 => return None,
                Some(c) => format!(
                    "sample well (drug `{}`) at concentration {c}; a dose must be positive (untreated wells are role `vehicle`)",
                    &**w.drug
                ),
            };
            Some(Problem {
                location: origin.well(&w),
                message: why,
            })
        })
        .collect()
}

/// Per plate, what its used wells read: enough to tell a plate that reads one number
/// everywhere and two plates that read the same.
#[derive(Default)]
struct PlateReading {
    /// Line of the plate's first well.
    first_line: u64,
    /// Used wells (not `empty`) with a numeric reading.
    n: usize,
    /// The first such reading, and whether every other equals it.
    first: Option<f64>,
    all_same: bool,
    /// An order-free fingerprint of (position, time, reading) over the used wells.
    sum: u64,
    xor: u64,
}

/// [`PlateReading`] of every plate, in name order.
struct PlateReadings<'t>(BTreeMap<&'t str, PlateReading>);

impl<'t> PlateReadings<'t> {
    fn of(table: &'t WellTable) -> PlateReadings<'t> {
        let mut plates: Vec<Option<PlateReading>> = no_names(table);
        for (i, w) in table.wells.iter().enumerate() {
            let p =
                plates[table.wells.name_ids(i)[0] as usize].get_or_insert_with(Default::default);
            if p.first_line == 0 {
                p.first_line = w.line;
            }
            let Some(v) = w.signal.value().filter(|_| w.role != Role::Empty) else {
                continue;
            };
            p.n += 1;
            match p.first {
                None => {
                    p.first = Some(v);
                    p.all_same = true;
                }
                Some(f) => p.all_same &= f.to_bits() == v.to_bits(),
            }
            let h = well_hash(&w, v);
            p.sum = p.sum.wrapping_add(h);
            p.xor ^= h;
        }
        PlateReadings(by_name(table, plates))
    }

    /// A plate whose used wells all read one number: nothing on it can be told apart.
    fn flat_warnings(&self, origin: &WellsOrigin<'_>) -> Vec<Problem> {
        self.0
            .iter()
            .filter(|(_, p)| p.n >= 2 && p.all_same)
            .map(|(plate, p)| Problem {
                location: origin.plate(plate, p.first_line),
                message: format!(
                    "every one of the plate's {} used wells reads {}: an export without data, or the wrong read? Vehicle, blank and samples cannot be told apart, so nothing on it is measured",
                    p.n,
                    p.first.unwrap_or_default()
                ),
            })
            .collect()
    }

    /// The plates whose used wells read, well for well, what an earlier plate's read. A
    /// warning, not an error: which of the two is the plate's true reading is the user's call
    /// (as for a plate shifted by a unit factor); `--strict` stops on it.
    fn duplicate_warnings(&self, table: &WellTable, origin: &WellsOrigin<'_>) -> Vec<Problem> {
        let mut by_print: BTreeMap<(usize, u64, u64), Vec<&str>> = BTreeMap::new();
        for (plate, p) in &self.0 {
            // Two plates of one number each are the flat warning's, not copies of each other.
            if p.n >= 2 && !p.all_same {
                by_print.entry((p.n, p.sum, p.xor)).or_default().push(plate);
            }
        }
        let mut out = Vec::new();
        for group in by_print.values().filter(|g| g.len() > 1) {
            // The fingerprint only proposes; the readings decide.
            let readings: Vec<BTreeSet<(u16, u16, u64, u64)>> =
                group.iter().map(|p| plate_wells(table, p)).collect();
            for (i, plate) in group.iter().enumerate().skip(1) {
                let Some(j) = (0..i).find(|&j| readings[j] == readings[i]) else {
                    continue;
                };
                let first = group[j];
                let named = |p: &str| match origin.plate_files.get(p) {
                    Some(f) => format!("plate {p} ({})", f.display()),
                    None => format!("plate {p}"),
                };
                out.push(Problem {
                    location: origin.plate(plate, self.0[*plate].first_line),
                    message: format!(
                        "{} reads, in each of its {} used wells, exactly what {} reads: the same plate given twice (one file listed twice, two copies of one file, or rows copied)? Its readings count twice; give each plate once",
                        named(plate),
                        self.0[*plate].n,
                        named(first)
                    ),
                });
            }
        }
        // In plate order, whatever order the fingerprints grouped them in.
        out.sort_by(|a, b| a.location.plate.cmp(&b.location.plate));
        out
    }
}

/// A used well's position, time and reading, hashed (the standard hasher with its fixed
/// keys; the hash only proposes duplicates, the readings decide).
fn well_hash(w: &WellRef<'_>, v: f64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (w.position.row, w.position.column).hash(&mut h);
    w.time.map(f64::to_bits).hash(&mut h);
    v.to_bits().hash(&mut h);
    h.finish()
}

/// The used wells of one plate with a numeric reading: (row, column, time bits, reading bits).
fn plate_wells(table: &WellTable, plate: &str) -> BTreeSet<(u16, u16, u64, u64)> {
    table
        .wells
        .iter()
        .filter(|w| &**w.plate == plate && w.role != Role::Empty)
        .filter_map(|w| {
            let v = w.signal.value()?;
            Some((
                w.position.row,
                w.position.column,
                w.time.map_or(u64::MAX, f64::to_bits),
                v.to_bits(),
            ))
        })
        .collect()
}

/// A slot per name of the wells, each empty: what a check gathers per plate, drug or line, by
/// the names' dense ids rather than by comparing names well after well.
fn no_names<V>(table: &WellTable) -> Vec<Option<V>> {
    std::iter::repeat_with(|| None)
        .take(table.wells.name_count())
        .collect()
}

/// The filled slots of `slots` (see [`no_names`]) by their names, in name order. Each name has
/// one id ([`crate::wells::Wells::name_ids`]), so no two slots share a name.
fn by_name<V>(table: &WellTable, slots: Vec<Option<V>>) -> BTreeMap<&str, V> {
    slots
        .into_iter()
        .enumerate()
        .filter_map(|(id, v)| Some((table.wells.name(id as u32).as_str(), v?)))
        .collect()
}

/// A name as a careless hand may vary it: case and spaces left out.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Names (drugs: `column` 2, cell lines: 1) that differ only in case or spaces: each spelling
/// after the first is named at its first well.
fn spelling_warnings(
    table: &WellTable,
    origin: &WellsOrigin<'_>,
    column: usize,
    what: &str,
) -> Vec<Problem> {
    // Each spelling's first well, spellings grouped by their folded form.
    let mut first: Vec<Option<usize>> = no_names(table);
    for i in 0..table.wells.len() {
        first[table.wells.name_ids(i)[column] as usize].get_or_insert(i);
    }
    let mut first = by_name(table, first);
    first.remove("");
    let mut groups: BTreeMap<String, Vec<(usize, &str)>> = BTreeMap::new();
    for (name, i) in first {
        groups.entry(folded(name)).or_default().push((i, name));
    }
    let mut out = Vec::new();
    for mut g in groups.into_values().filter(|g| g.len() > 1) {
        g.sort_unstable();
        let (_, earliest) = g[0];
        for &(i, name) in &g[1..] {
            let w = table.wells.get(i);
            out.push(Problem {
                location: origin.well(&w),
                message: format!(
                    "{what} `{name}` differs from `{earliest}` only in case or spaces: they are taken as two {what}s; spell them alike if they are one"
                ),
            });
        }
    }
    out
}

/// Drugs tested at fewer than [`MIN_DOSES`] distinct doses, named at their first sample well.
fn few_dose_warnings(table: &WellTable, origin: &WellsOrigin<'_>) -> Vec<Problem> {
    let mut drugs: Vec<Option<(usize, Vec<f64>)>> = no_names(table);
    for (i, w) in table.wells.iter().enumerate() {
        let Some(c) = w.concentration.filter(|c| *c > 0.0 && c.is_finite()) else {
            continue;
        };
        if w.role == Role::Sample {
            drugs[table.wells.name_ids(i)[2] as usize]
                .get_or_insert((i, Vec::new()))
                .1
                .push(c);
        }
    }
    let mut out = Vec::new();
    for (drug, (first, doses)) in by_name(table, drugs) {
        let series = super::distinct(doses.into_iter());
        if series.len() >= MIN_DOSES {
            continue;
        }
        let shown: Vec<String> = series.iter().map(f64::to_string).collect();
        out.push(Problem {
            location: origin.well(&table.wells.get(first)),
            message: format!(
                "drug `{drug}` is tested at {} distinct dose{} ({}); a four-parameter curve needs at least {MIN_DOSES}, so its fits cannot pin down both plateaus and the slope",
                series.len(),
                if series.len() == 1 { "" } else { "s" },
                shown.join(", ")
            ),
        });
    }
    out
}

/// Controls that cannot normalize, from the control levels normalization computed: a plate
/// and cell line with sample wells but no vehicle level (its wells get no viability), and a
/// vehicle level at or below the blank level (the plate fails QC). A plate of one number
/// everywhere is left to its own warning. Under `reference = "lowest_doses"` (`unreferenced`
/// is `Some`: the series still without a 100 %, per unit, [`crate::normalize::series_without_reference`])
/// a unit without vehicle wells is normalized to each series' lowest doses, and only its series
/// left without a 100 % are named.
pub fn control_findings(
    table: &WellTable,
    levels: &BTreeMap<Unit, ControlLevels>,
    unreferenced: Option<&BTreeMap<Unit, BTreeSet<String>>>,
    origin: &WellsOrigin<'_>,
) -> Vec<Problem> {
    // Plates and lines with sample wells, at the first; and the plates of one number.
    let mut first_sample: HashMap<(u32, u32), u64> = HashMap::new();
    let mut last = None;
    for (i, w) in table.wells.iter().enumerate() {
        let [plate, line, ..] = table.wells.name_ids(i);
        // Wells come plate by plate: the pair just seen needs no lookup.
        if w.role == Role::Sample && last != Some((plate, line)) {
            last = Some((plate, line));
            first_sample.entry((plate, line)).or_insert(w.line);
        }
    }
    let name = |id: u32| table.wells.name(id).as_str();
    let samples: BTreeMap<(&str, &str), u64> = first_sample
        .into_iter()
        .map(|((plate, line), first)| ((name(plate), name(line)), first))
        .collect();
    let flat: BTreeSet<&str> = PlateReadings::of(table)
        .0
        .into_iter()
        .filter(|(_, p)| p.n >= 2 && p.all_same)
        .map(|(plate, _)| plate)
        .collect();
    let mut out = Vec::new();
    for ((plate, line, rep), l) in levels {
        let Some(&first) = samples.get(&(plate.as_str(), line.as_str())) else {
            continue;
        };
        let who = if rep.is_empty() {
            format!("`{line}`")
        } else {
            format!("`{line}` replicate {rep}")
        };
        let message = match (l.vehicle, unreferenced) {
            (None, None) => format!(
                "{who} has sample wells on plate {plate} but no vehicle well with a numeric signal: its viabilities are undefined, so its wells there are left out of the fits"
            ),
            (None, Some(series)) => {
                let Some(drugs) = series.get(&(plate.clone(), line.clone(), rep.clone())) else {
                    continue;
                };
                let drugs: Vec<String> = drugs.iter().map(|d| format!("`{d}`")).collect();
                format!(
                    "{who} has no vehicle well on plate {plate}, and no usable 100 % at the lowest doses of {} there (normalize.reference = \"lowest_doses\"; no numeric signal at those doses, or none above the blank level): those wells are left out of the fits",
                    drugs.join(", ")
                )
            }
            (Some(v), _) if v <= l.blank && !flat.contains(plate.as_str()) => format!(
                "the vehicle level of {who} on plate {plate}, {}, is not above its blank level, {}: the cells did not grow, or vehicle and blank are swapped in the layout? Viability cannot be read from it; the plate fails QC (its wells are left out unless `qc.exclude_failed = false`)",
                four_significant(v),
                four_significant(l.blank)
            ),
            _ => continue,
        };
        out.push(Problem {
            location: origin.line(first).at_well(plate, ""),
            message,
        });
    }
    out
}

/// A level to four significant digits (0.04148, 58210), as a message shows it.
fn four_significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let decimals = (3 - x.abs().log10().floor() as i64).clamp(0, 17) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_and_spaces_only() {
        assert_eq!(folded("Cisplatin "), folded("cisplatin"));
        assert_eq!(folded("5 FU"), folded("5fu"));
        assert_ne!(folded("5-FU"), folded("5FU"));
    }

    #[test]
    fn levels_show_four_significant_digits() {
        assert_eq!(four_significant(0.041475000000000005), "0.04148");
        assert_eq!(four_significant(58210.4), "58210");
        assert_eq!(four_significant(-1.5), "-1.500");
    }
}
