//! Normalization: raw signal → viability, per plate and cell line (and replicate, when the
//! plate's vehicle wells carry replicate labels: two lineages on one plate each get their own
//! controls, so one that failed to grow does not drag the other down).
//!
//! viability = (signal − level(blank)) / (level(vehicle) − level(blank)), with the level the
//! mean (default) or median of the control wells of that plate and cell line. No clamping:
//! a viability of 1.08 or −0.03 is what the plate says.
//!
//! Which blank wells count, in order: blanks of the same cell line (and replicate) on the
//! plate; blanks of the same cell line; cell-free
//! blanks (empty `cell_line`) on the plate; blanks of other cell lines on the plate (with a
//! warning); none at all → `blank_fallback`: `zero` takes the background as 0 (the signal is
//! assumed background-subtracted; with a warning) and `error` stops the run.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::plate::WellPos;
use crate::stats;
use crate::wells::{Role, WellTable};

/// How control wells are summarised into one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlCenter {
    /// Arithmetic mean (DESIGN.md's definition; the default).
    Mean,
    /// Median: robust to a single bad control well.
    Median,
}

/// What to do for a plate and cell line that has no blank wells at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankFallback {
    /// Take the background as 0 (the signal is assumed background-subtracted) and warn.
    Zero,
    /// Stop the run with an error.
    Error,
}

/// What 100 % viability is where a plate has no vehicle wells for a cell line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reference {
    /// The vehicle wells only (the default): without them the line's wells on that plate have
    /// no viability and are left out, with the reason.
    #[default]
    Vehicle,
    /// Per series (plate, cell line, replicate and drug) without vehicle wells: the median
    /// signal of its wells at the two lowest concentrations, taken as uninhibited growth.
    LowestDoses,
    /// Per series without vehicle wells: first as `LowestDoses`, then divided by the top of a
    /// four-parameter curve with free plateaus fitted to the series (`run::fitted_top`), so
    /// 100 % is the level the curve levels off at; a series without a usable fitted top keeps
    /// the lowest doses' level, with a warning.
    FittedTop,
}

impl Reference {
    /// Whether this is the default (`vehicle`): the key is then left out of `run.json`.
    pub(crate) fn is_vehicle(&self) -> bool {
        *self == Reference::Vehicle
    }
}

crate::words::words!(Reference, "normalization reference", {
    Vehicle => "vehicle",
    LowestDoses => "lowest_doses",
    FittedTop => "fitted_top",
});

crate::words::words!(ControlCenter, "control summary", { Mean => "mean", Median => "median" });
crate::words::words!(BlankFallback, "blank fallback", { Zero => "zero", Error => "error" });

/// Normalization choices, as the assay's `[normalize]` section writes them; checked once into a
/// [`crate::checked::Checked`] value like every stage's settings (every choice is valid today).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct NormalizeSettings {
    /// How vehicle and blank wells are summarised.
    pub controls: ControlCenter,
    /// What to do when a plate has no blank wells.
    pub blank_fallback: BlankFallback,
    /// Test the vehicle wells for edge, row and column trends (reported, never corrected).
    pub(crate) spatial_check: bool,
    /// What 100 % is where a plate has no vehicle wells for a line (`vehicle`: nothing).
    #[serde(skip_serializing_if = "Reference::is_vehicle")]
    pub reference: Reference,
}

impl Default for NormalizeSettings {
    fn default() -> Self {
        NormalizeSettings {
            controls: ControlCenter::Mean,
            blank_fallback: BlankFallback::Zero,
            spatial_check: true,
            reference: Reference::Vehicle,
        }
    }
}

impl NormalizeSettings {
    /// Keys of the `[normalize]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 4] =
        ["controls", "blank_fallback", "spatial_check", "reference"];
}

impl crate::checked::Check for NormalizeSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// The unit that controls normalize: plate, cell line, and replicate when the plate's vehicle
/// wells carry that replicate label (else empty: all of the line's controls on the plate).
pub type Unit = (String, String, String);

/// Where a unit's blank level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlankSource {
    /// Blank wells of the same cell line (and replicate, where blanks carry one).
    SameLine,
    /// Cell-free blank wells of the plate.
    CellFree,
    /// Blank wells of other cell lines on the plate.
    OtherLines,
    /// All blank wells of the plate (the pooled QC row of a plate with several units).
    WholePlate,
    /// No blank wells: background taken as 0.
    AssumedZero,
}

impl BlankSource {
    /// The name written in `qc.csv`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BlankSource::SameLine => "same_line",
            BlankSource::CellFree => "cell_free",
            BlankSource::OtherLines => "other_lines",
            BlankSource::WholePlate => "whole_plate",
            BlankSource::AssumedZero => "assumed_zero",
        }
    }
}

/// Control readings of one plate, keyed by (cell line, replicate); cell line `""` holds
/// cell-free blanks.
#[derive(Debug, Default, Clone)]
pub struct PlateControls {
    /// Numeric vehicle readings.
    pub vehicle: BTreeMap<(String, String), Vec<(WellPos, f64)>>,
    /// Numeric blank readings.
    pub blank: BTreeMap<(String, String), Vec<(WellPos, f64)>>,
    /// (cell line, replicate) labels carried by vehicle wells, numeric or not.
    pub(crate) vehicle_labels: BTreeSet<(String, String)>,
}

impl PlateControls {
    /// Gathers the control readings of every plate.
    pub fn gather(table: &WellTable) -> BTreeMap<String, PlateControls> {
        // Plates by index, the last one remembered: wells of a plate mostly come together,
        // and a map keyed by plate name per well was a tenth of a large run. Within a plate
        // the controls are grouped by the wells' name ids and named once at the end.
        type Readings = Vec<(WellPos, f64)>;
        #[derive(Default)]
        struct ByIds {
            vehicle: HashMap<(u32, u32), Readings>,
            blank: HashMap<(u32, u32), Readings>,
            labels: HashSet<(u32, u32)>,
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut plates: Vec<(&str, ByIds)> = Vec::new();
        let mut last: Option<usize> = None;
        for (n, w) in table.wells.iter().enumerate() {
            let plate = w.plate.as_str();
            let i = match last {
                Some(i) if plates[i].0 == plate => i,
                _ => *index.entry(plate).or_insert_with(|| {
                    plates.push((plate, ByIds::default()));
                    plates.len() - 1
                }),
            };
            last = Some(i);
            if !w.role.is_control() {
                continue;
            }
            let pc = &mut plates[i].1;
            let [_, line, _, replicate] = table.wells.name_ids(n);
            let key = (line, replicate);
            if w.role == Role::Vehicle {
                pc.labels.insert(key);
            }
            let Some(v) = w.signal.value() else { continue };
            let slot = match w.role {
                Role::Vehicle => &mut pc.vehicle,
                Role::Blank => &mut pc.blank,
                _ => continue,
            };
            slot.entry(key).or_default().push((w.position, v));
        }
        let name = |(line, replicate): (u32, u32)| {
            (
                table.wells.name(line).to_string(),
                table.wells.name(replicate).to_string(),
            )
        };
        plates
            .into_iter()
            .map(|(plate, ids)| {
                let pc = PlateControls {
                    vehicle: ids.vehicle.into_iter().map(|(k, v)| (name(k), v)).collect(),
                    blank: ids.blank.into_iter().map(|(k, v)| (name(k), v)).collect(),
                    vehicle_labels: ids.labels.into_iter().map(name).collect(),
                };
                (plate.to_string(), pc)
            })
            .collect()
    }

    /// The replicate part of a well's unit: its own label when vehicle wells of the same line
    /// carry it, else empty (the line's controls are shared).
    pub(crate) fn unit_replicate<'a>(&self, cell_line: &str, replicate: &'a str) -> &'a str {
        let labelled = !replicate.is_empty()
            && self
                .vehicle_labels
                .contains(&(cell_line.to_string(), replicate.to_string()));
        if labelled {
            replicate
        } else {
            ""
        }
    }

    fn of_line<'a>(
        map: &'a BTreeMap<(String, String), Vec<(WellPos, f64)>>,
        cell_line: &'a str,
        replicate: &'a str,
    ) -> impl Iterator<Item = &'a (WellPos, f64)> + 'a {
        map.iter()
            .filter(move |((l, r), _)| l == cell_line && (replicate.is_empty() || r == replicate))
            .flat_map(|(_, v)| v.iter())
    }

    /// Vehicle readings of a unit (its replicate, or the whole line when `replicate` is empty).
    pub(crate) fn vehicles_for(&self, cell_line: &str, replicate: &str) -> Vec<(WellPos, f64)> {
        Self::of_line(&self.vehicle, cell_line, replicate)
            .copied()
            .collect()
    }

    /// The blank readings that serve a unit, and where they came from.
    pub(crate) fn blanks_for(&self, cell_line: &str, replicate: &str) -> (Vec<f64>, BlankSource) {
        let take = |l: &str, r: &str| -> Vec<f64> {
            Self::of_line(&self.blank, l, r).map(|x| x.1).collect()
        };
        if !cell_line.is_empty() {
            if !replicate.is_empty() {
                let own = take(cell_line, replicate);
                if !own.is_empty() {
                    return (own, BlankSource::SameLine);
                }
            }
            let line = take(cell_line, "");
            if !line.is_empty() {
                return (line, BlankSource::SameLine);
            }
        }
        let free = take("", "");
        if !free.is_empty() {
            return (free, BlankSource::CellFree);
        }
        let others: Vec<f64> = self.blank.values().flatten().map(|x| x.1).collect();
        if others.is_empty() {
            (others, BlankSource::AssumedZero)
        } else {
            (others, BlankSource::OtherLines)
        }
    }
}

/// The units of a wells table: each distinct unit once, and the unit of every well.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Units {
    /// Distinct units, in order of first appearance.
    pub keys: Vec<Unit>,
    /// Index into `keys` for every well, in table order; `None` for empty wells and for
    /// cell-free blanks on plates with more than one unit.
    pub(crate) of_well: Vec<Option<usize>>,
}

/// Assigns every well to its unit.
pub fn units_of(table: &WellTable, controls: &BTreeMap<String, PlateControls>) -> Units {
    let empty = PlateControls::default();
    let mut keys: Vec<Unit> = Vec::new();
    let mut ids: HashMap<(&str, &str, &str), usize> = HashMap::new();
    // The same (plate, line, replicate) as written always maps to the same unit: decide once.
    let mut seen: HashMap<(&str, &str, &str), usize> = HashMap::new();
    // Wells of a unit mostly come together: the previous well's unit is tried first, by the
    // wells' name ids, before any name is hashed.
    let mut last: Option<([u32; 3], usize)> = None;
    let mut of_well: Vec<Option<usize>> = table
        .wells
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if w.role == Role::Empty || w.cell_line.is_empty() {
                return None;
            }
            let [plate, line, _, replicate] = table.wells.name_ids(i);
            let names = [plate, line, replicate];
            if let Some((n, id)) = last {
                if n == names {
                    return Some(id);
                }
            }
            let raw = (w.plate.as_str(), w.cell_line.as_str(), w.replicate.as_str());
            if let Some(&id) = seen.get(&raw) {
                last = Some((names, id));
                return Some(id);
            }
            let pc = controls.get(w.plate.as_str()).unwrap_or(&empty);
            let rep = pc.unit_replicate(w.cell_line, w.replicate);
            let id = *ids.entry((raw.0, raw.1, rep)).or_insert_with(|| {
                keys.push((
                    w.plate.to_string(),
                    w.cell_line.to_string(),
                    rep.to_string(),
                ));
                keys.len() - 1
            });
            seen.insert(raw, id);
            last = Some((names, id));
            Some(id)
        })
        .collect();
    // Cell-free blanks belong to their plate's only unit, if it has exactly one.
    let mut per_plate: HashMap<&str, (usize, usize)> = HashMap::new();
    for (id, k) in keys.iter().enumerate() {
        per_plate.entry(k.0.as_str()).or_insert((0, id)).0 += 1;
    }
    for (w, u) in table.wells.iter().zip(of_well.iter_mut()) {
        if u.is_none() && w.role == Role::Blank {
            *u = per_plate
                .get(w.plate.as_str())
                .filter(|(n, _)| *n == 1)
                .map(|(_, id)| *id);
        }
    }
    Units { keys, of_well }
}

/// The control levels of one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlLevels {
    /// Level of the vehicle wells; `None` when none has a numeric reading.
    pub vehicle: Option<f64>,
    /// Level of the blank wells (0 when assumed).
    pub blank: f64,
    /// Where the blank level came from.
    pub blank_source: BlankSource,
}

impl ControlLevels {
    /// Viability of a reading, if the levels define one.
    pub fn viability(&self, signal: f64) -> Option<f64> {
        let span = self.vehicle? - self.blank;
        (span != 0.0 && span.is_finite()).then(|| (signal - self.blank) / span)
    }
}

/// Summarises readings by the chosen center.
pub fn center(values: &[f64], how: ControlCenter) -> Option<f64> {
    match how {
        ControlCenter::Mean => stats::mean(values),
        ControlCenter::Median => stats::median(values),
    }
}

/// Control levels of every unit (in `units.keys` order), plus warnings about blanks.
pub fn control_levels(
    table: &WellTable,
    controls: &BTreeMap<String, PlateControls>,
    units: &Units,
    settings: &NormalizeSettings,
    source: &std::path::Path,
) -> Result<(Vec<ControlLevels>, Vec<Problem>)> {
    let mut first_line: Vec<u64> = vec![0; units.keys.len()];
    for (w, u) in table.wells.iter().zip(&units.of_well) {
        if let Some(u) = *u {
            if first_line[u] == 0 {
                first_line[u] = w.line;
            }
        }
    }
    let empty = PlateControls::default();
    let mut levels = Vec::with_capacity(units.keys.len());
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    // Units without blanks are told in one warning: a screen without blanks has them all.
    let mut no_blank: Vec<(Location, String)> = Vec::new();
    for (unit, &first) in units.keys.iter().zip(&first_line) {
        let (plate, line, rep) = unit;
        let pc = controls.get(plate).unwrap_or(&empty);
        let (blanks, blank_source) = pc.blanks_for(line, rep);
        let loc = Location::file(source).at_line(first).at_well(plate, "");
        let who = if rep.is_empty() {
            format!("`{line}`")
        } else {
            format!("`{line}` replicate {rep}")
        };
        match blank_source {
            BlankSource::OtherLines => warnings.push(Problem {
                location: loc,
                message: format!(
                    "{who} has no blank wells on plate {plate}; using the plate's blank wells of other cell lines"
                ),
            }),
            BlankSource::AssumedZero => match settings.blank_fallback {
                BlankFallback::Zero => no_blank.push((loc, format!("{who} on plate {plate}"))),
                BlankFallback::Error => errors.push(Problem {
                    location: loc,
                    message: format!(
                        "plate {plate} has no blank wells with a numeric signal for {who} and blank_fallback = \"error\""
                    ),
                }),
            },
            _ => {}
        }
        let blank = center(&blanks, settings.controls).unwrap_or(0.0);
        let vehicles: Vec<f64> = pc.vehicles_for(line, rep).iter().map(|x| x.1).collect();
        levels.push(ControlLevels {
            vehicle: center(&vehicles, settings.controls),
            blank,
            blank_source,
        });
    }
    if !errors.is_empty() {
        return Err(Error::problems(ErrorKind::Input, errors));
    }
    if let Some((loc, _)) = no_blank.first() {
        let names: Vec<&str> = no_blank.iter().take(3).map(|(_, w)| w.as_str()).collect();
        let more = if no_blank.len() > 3 {
            format!(" and {} more", no_blank.len() - 3)
        } else {
            String::new()
        };
        warnings.push(Problem {
            location: Location { line: None, well: None, plate: None, ..loc.clone() },
            message: format!(
                "no blank wells with a numeric signal for {}{more}: background taken as 0 (blank_fallback = \"zero\"), so viability = signal / vehicle level",
                names.join(", ")
            ),
        });
    }
    Ok((levels, warnings))
}

/// How many of a series' lowest concentrations make its 100 % under
/// [`Reference::LowestDoses`].
pub const LOWEST_DOSES: usize = 2;

/// The 100 % level of each series (unit, drug) of a unit without a vehicle level, under
/// [`Reference::LowestDoses`]: the median numeric signal of its sample wells at its
/// [`LOWEST_DOSES`] lowest distinct concentrations above 0. Keyed by unit index and drug.
pub(crate) fn lowest_dose_levels<'a>(
    table: &'a WellTable,
    units: &Units,
    levels: &[ControlLevels],
) -> HashMap<(usize, &'a str), f64> {
    let mut series: HashMap<(usize, &'a str), Vec<(f64, f64)>> = HashMap::new();
    for (w, u) in table.wells.iter().zip(&units.of_well) {
        let Some(u) = *u else { continue };
        if levels[u].vehicle.is_some() || w.role != Role::Sample {
            continue;
        }
        if let (Some(c), Some(v)) = (w.concentration, w.signal.value()) {
            if c > 0.0 {
                series.entry((u, w.drug)).or_default().push((c, v));
            }
        }
    }
    series
        .into_iter()
        .filter_map(|(key, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut doses: Vec<f64> = points.iter().map(|p| p.0).collect();
            doses.dedup();
            let last = *doses.get(LOWEST_DOSES.min(doses.len()) - 1)?;
            let lowest: Vec<f64> = points.iter().filter(|p| p.0 <= last).map(|p| p.1).collect();
            stats::median(&lowest).map(|m| (key, m))
        })
        .collect()
}

/// The viability of a sample signal against its series' own 100 % `top` under
/// [`Reference::LowestDoses`]: none when the level is no span above the blank.
pub(crate) fn stand_in_viability(signal: f64, top: f64, blank: f64) -> Option<f64> {
    let span = top - blank;
    (span != 0.0 && span.is_finite()).then(|| (signal - blank) / span)
}

/// The series left without a 100 % under [`Reference::LowestDoses`]: per unit without a
/// vehicle level, the drugs whose sample wells have a numeric signal but no viability (no
/// signal at the series' lowest doses, or a level no span above the blank). Their wells are
/// left out of the fits; every other series of such a unit is normalized to its lowest doses.
pub fn series_without_reference(
    table: &WellTable,
    units: &Units,
    levels: &[ControlLevels],
) -> BTreeMap<Unit, BTreeSet<String>> {
    let tops = lowest_dose_levels(table, units, levels);
    let mut out: BTreeMap<Unit, BTreeSet<String>> = BTreeMap::new();
    for (w, u) in table.wells.iter().zip(&units.of_well) {
        let Some(u) = *u else { continue };
        let l = &levels[u];
        if l.vehicle.is_some() || w.role != Role::Sample {
            continue;
        }
        let Some(signal) = w.signal.value() else {
            continue;
        };
        let viable = tops
            .get(&(u, w.drug))
            .and_then(|&top| stand_in_viability(signal, top, l.blank));
        if viable.is_none() {
            out.entry(units.keys[u].clone())
                .or_default()
                .insert(w.drug.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viability_is_not_clamped() {
        let l = ControlLevels {
            vehicle: Some(110.0),
            blank: 10.0,
            blank_source: BlankSource::SameLine,
        };
        assert_eq!(l.viability(60.0), Some(0.5));
        assert_eq!(l.viability(120.0), Some(1.1));
        assert_eq!(l.viability(0.0), Some(-0.1));
        let flat = ControlLevels {
            vehicle: Some(10.0),
            ..l.clone()
        };
        assert_eq!(flat.viability(5.0), None);
        let none = ControlLevels { vehicle: None, ..l };
        assert_eq!(none.viability(5.0), None);
    }
}
