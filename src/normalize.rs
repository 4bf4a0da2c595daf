//! Normalization: raw signal → viability, per plate and cell line.
//!
//! viability = (signal − level(blank)) / (level(vehicle) − level(blank)), with the level the
//! mean (default) or median of the control wells of that plate and cell line. No clamping:
//! a viability of 1.08 or −0.03 is what the plate says.
//!
//! Which blank wells count, in order: blanks of the same cell line on the plate; cell-free
//! blanks (empty `cell_line`) on the plate; blanks of other cell lines on the plate (with a
//! warning); none at all → `blank_fallback`: `zero` takes the background as 0 (the signal is
//! assumed background-subtracted; with a warning) and `error` stops the run.

use std::collections::BTreeMap;

use crate::assay::{BlankFallback, ControlCenter, NormalizeSettings};
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::plate::WellPos;
use crate::stats;
use crate::wells::{Role, WellTable};

/// A plate and cell line: the unit that controls normalize.
pub type Unit = (String, String);

/// Where a unit's blank level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlankSource {
    /// Blank wells of the same cell line.
    SameLine,
    /// Cell-free blank wells of the plate.
    CellFree,
    /// Blank wells of other cell lines on the plate.
    OtherLines,
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
            BlankSource::AssumedZero => "assumed_zero",
        }
    }
}

/// The numeric control readings of one plate, by cell line (`""` = cell-free blanks).
#[derive(Debug, Default, Clone)]
pub struct PlateControls {
    /// Vehicle readings per cell line.
    pub vehicle: BTreeMap<String, Vec<(WellPos, f64)>>,
    /// Blank readings per cell line.
    pub blank: BTreeMap<String, Vec<(WellPos, f64)>>,
}

impl PlateControls {
    /// Gathers the numeric control readings of every plate.
    pub fn gather(table: &WellTable) -> BTreeMap<String, PlateControls> {
        let mut out: BTreeMap<String, PlateControls> = BTreeMap::new();
        for w in &table.wells {
            let Some(v) = w.signal.value() else { continue };
            let pc = out.entry(w.plate.clone()).or_default();
            let slot = match w.role {
                Role::Vehicle => &mut pc.vehicle,
                Role::Blank => &mut pc.blank,
                _ => continue,
            };
            slot.entry(w.cell_line.clone())
                .or_default()
                .push((w.position, v));
        }
        out
    }

    /// The blank readings that serve `cell_line`, and where they came from.
    pub fn blanks_for(&self, cell_line: &str) -> (Vec<f64>, BlankSource) {
        let values = |v: &[(WellPos, f64)]| v.iter().map(|x| x.1).collect::<Vec<f64>>();
        if let Some(b) = self
            .blank
            .get(cell_line)
            .filter(|b| !b.is_empty() && !cell_line.is_empty())
        {
            return (values(b), BlankSource::SameLine);
        }
        if let Some(b) = self.blank.get("").filter(|b| !b.is_empty()) {
            return (values(b), BlankSource::CellFree);
        }
        let others: Vec<f64> = self.blank.values().flat_map(|b| values(b)).collect();
        if others.is_empty() {
            (others, BlankSource::AssumedZero)
        } else {
            (others, BlankSource::OtherLines)
        }
    }

    /// Vehicle readings of one cell line.
    pub fn vehicles_for(&self, cell_line: &str) -> Vec<f64> {
        self.vehicle
            .get(cell_line)
            .map(|v| v.iter().map(|x| x.1).collect())
            .unwrap_or_default()
    }
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

/// Control levels of every (plate, cell line) that has wells, plus warnings about blanks.
pub fn control_levels(
    table: &WellTable,
    controls: &BTreeMap<String, PlateControls>,
    settings: &NormalizeSettings,
    source: &std::path::Path,
) -> Result<(BTreeMap<Unit, ControlLevels>, Vec<Problem>)> {
    let mut units: BTreeMap<Unit, u64> = BTreeMap::new();
    for w in &table.wells {
        if w.role != Role::Empty && !w.cell_line.is_empty() {
            units
                .entry((w.plate.clone(), w.cell_line.clone()))
                .or_insert(w.line);
        }
    }
    let empty = PlateControls::default();
    let mut levels = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for ((plate, line), first_line) in units {
        let pc = controls.get(&plate).unwrap_or(&empty);
        let (blanks, blank_source) = pc.blanks_for(&line);
        let loc = Location::file(source)
            .at_line(first_line)
            .at_well(&plate, "");
        match blank_source {
            BlankSource::OtherLines => warnings.push(Problem {
                location: loc,
                message: format!(
                    "cell line `{line}` has no blank wells on plate {plate}; using the plate's blank wells of other cell lines"
                ),
            }),
            BlankSource::AssumedZero => match settings.blank_fallback {
                BlankFallback::Zero => warnings.push(Problem {
                    location: loc,
                    message: format!(
                        "plate {plate} has no blank wells with a numeric signal; background taken as 0 for `{line}` (blank_fallback = \"zero\"), so viability = signal / vehicle level"
                    ),
                }),
                BlankFallback::Error => errors.push(Problem {
                    location: loc,
                    message: format!(
                        "plate {plate} has no blank wells with a numeric signal for `{line}` and blank_fallback = \"error\""
                    ),
                }),
            },
            _ => {}
        }
        let blank = center(&blanks, settings.controls).unwrap_or(0.0);
        let vehicle = center(&pc.vehicles_for(&line), settings.controls);
        levels.insert(
            (plate, line),
            ControlLevels {
                vehicle,
                blank,
                blank_source,
            },
        );
    }
    if !errors.is_empty() {
        return Err(Error::problems(ErrorKind::Input, errors));
    }
    Ok((levels, warnings))
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
