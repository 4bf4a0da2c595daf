//! What a careful colleague notices in the doses before anything is fitted: a sample well
//! whose concentration does not belong to its drug's dose series (a unit typo such as 1524 for
//! 0.0015), and a plate whose series of a drug is the other plates' shifted by 10³ or 10⁶ (a
//! plate written in nM where the others are in µM).
//!
//! A drug's series is every dose its sample wells use, over all plates and replicates. A well
//! is off the series when no other well of the drug uses its dose (within
//! [`DOSE_TOLERANCE`]) while most of the drug's wells are replicated, or when its dose lies
//! more than 10× beyond its neighbour at an end of the series (and 3× beyond the series' usual
//! step) while fewer than half as many wells use it as use a usual dose of the series. Off-series wells are named in a warning and left out of the fits (kept in
//! `wells.csv` with the reason) unless `[checks] off_series = "keep"`; a shifted plate is named
//! in a warning only, since which plate is right is the user's call.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

mod design;

pub use design::{control_findings, design_findings, DesignFindings, WellsOrigin, MIN_DOSES};

use serde::{Deserialize, Serialize};

use crate::checked::Check;
use crate::error::{Location, Problem};
use crate::plate::WellPos;
use crate::wells::{Role, WellTable};

/// Relative difference within which two doses are the same dose (pipetting tables round).
pub const DOSE_TOLERANCE: f64 = 0.01;

/// Unit factors a shifted plate is tested for (nM for µM, µM for M …).
const UNIT_FACTORS: [f64; 4] = [1e3, 1e6, 1e-3, 1e-6];

/// What to do with a sample well whose dose is off its drug's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffSeries {
    /// Leave it out of the fits, with the reason in `wells.csv` (the default).
    #[default]
    Exclude,
    /// Keep it in the fits; the warning still names it.
    Keep,
}

crate::words::words!(OffSeries, "off-series option", { Exclude => "exclude", Keep => "keep" });

/// The input checks' settings, as the assay's `[checks]` section writes them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ChecksSettings {
    /// What to do with a sample well whose dose is off its drug's series.
    pub off_series: OffSeries,
}

impl ChecksSettings {
    /// Keys of the `[checks]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 1] = ["off_series"];

    /// Whether these are the defaults (then `run.json` leaves the section out, as before it
    /// existed).
    pub(crate) fn is_default(&self) -> bool {
        *self == ChecksSettings::default()
    }
}

impl Check for ChecksSettings {
    /// Every value the words allow is usable.
    fn problems(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// What the dose checks found in a wells table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DoseFindings {
    /// Per row of the table: why its dose is off its drug's series (`None`: on it).
    pub off_series: Vec<Option<String>>,
    /// One warning per off-series well and per shifted plate, located.
    pub warnings: Vec<Problem>,
}

/// One sample well of a drug: its rows in the table (several with reads in time), plate,
/// position and dose.
struct DoseWell<'a> {
    rows: Vec<usize>,
    plate: &'a str,
    position: WellPos,
    dose: f64,
    line: u64,
}

/// Checks every drug's doses. `source` is the file the wells point at and `with_lines`
/// whether their line numbers are lines of it (a wells table; not the assay of plate files).
pub fn dose_findings(table: &WellTable, source: &Path, with_lines: bool) -> DoseFindings {
    let mut out = DoseFindings {
        off_series: vec![None; table.wells.len()],
        warnings: Vec::new(),
    };
    let at = |w: &DoseWell<'_>| {
        let loc = Location::file(source);
        let loc = if with_lines && w.line > 0 {
            loc.at_line(w.line)
        } else {
            loc
        };
        loc.at_well(w.plate, &w.position.to_string())
    };
    for (drug, wells) in drug_wells(table) {
        let shifted = shifted_plates(&wells);
        for (plate, factor, against) in &shifted {
            out.warnings.push(Problem {
                location: Location::file(source).at_well(plate, ""),
                message: format!(
                    "the doses of {drug} on this plate are {} those on {against}: a likely unit mismatch (nM for µM?); check the layout",
                    factor_words(*factor)
                ),
            });
        }
        let on_series: Vec<&DoseWell<'_>> = wells
            .iter()
            .filter(|w| !shifted.iter().any(|s| s.0 == w.plate))
            .collect();
        for (w, why) in off_series(&on_series) {
            out.warnings.push(Problem {
                location: at(w),
                message: format!(
                    "{drug} at {} is off the drug's dose series ({why}); a unit typo? The well is left out of the fits unless `checks.off_series = \"keep\"`",
                    w.dose
                ),
            });
            for &r in &w.rows {
                out.off_series[r] =
                    Some(format!("dose {} off the series of {drug} ({why})", w.dose));
            }
        }
    }
    out
}

/// The sample wells of each drug with a positive dose, each well once, in the order of (drug,
/// plate, position) names. Grouped by the wells' dense name ids ranked in name order, so the
/// millions of wells of a large screen are sorted by numbers, not by their names.
fn drug_wells(table: &WellTable) -> BTreeMap<&str, Vec<DoseWell<'_>>> {
    let wells = &table.wells;
    let by_name = |id: u32| wells.name(id).as_str();
    let mut ids: Vec<u32> = (0..wells.name_count() as u32).collect();
    ids.sort_unstable_by(|a, b| by_name(*a).cmp(by_name(*b)));
    let mut rank = vec![0u32; ids.len()];
    for (r, id) in ids.into_iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    // Each well's place in (drug, plate, position, row) order packed in one number: sorting
    // 3.3 M of them compares numbers only. Rows fit the low 32 bits (names' ids are u32, and a
    // screen of 4 billion wells is beyond any plate reader's).
    let mut keyed: Vec<u128> = Vec::new();
    for (i, w) in wells.iter().enumerate() {
        if w.role != Role::Sample || !w.concentration.is_some_and(|c| c > 0.0 && c.is_finite()) {
            continue;
        }
        let [plate, _, drug, _] = wells.name_ids(i);
        let (row, column) = (w.position.row, w.position.column);
        keyed.push(
            u128::from(rank[drug as usize]) << 96
                | u128::from(rank[plate as usize]) << 64
                | u128::from(row) << 48
                | u128::from(column) << 32
                | i as u128,
        );
    }
    keyed.sort_unstable();
    let mut out: BTreeMap<&str, Vec<DoseWell<'_>>> = BTreeMap::new();
    let mut current: Option<(u32, Vec<DoseWell<'_>>)> = None;
    let mut last_well: Option<u128> = None;
    for key in keyed {
        let i = (key as u32) as usize;
        let drug = wells.name_ids(i)[2];
        // The position without the row: the same well read again (at another time).
        let well = key >> 32;
        match &mut current {
            Some((d, list)) if *d == drug => {
                if last_well == Some(well) {
                    if let Some(w) = list.last_mut() {
                        w.rows.push(i);
                    }
                    continue;
                }
            }
            _ => {
                if let Some((d, list)) = current.take() {
                    out.insert(by_name(d), list);
                }
                current = Some((drug, Vec::new()));
            }
        }
        last_well = Some(well);
        let w = wells.get(i);
        if let Some((_, list)) = &mut current {
            list.push(DoseWell {
                rows: vec![i],
                plate: w.plate.as_str(),
                position: w.position,
                dose: w.concentration.unwrap_or(f64::NAN),
                line: w.line,
            });
        }
    }
    if let Some((d, list)) = current {
        out.insert(by_name(d), list);
    }
    out
}

/// Whether two doses are the same dose.
fn same_dose(a: f64, b: f64) -> bool {
    (a - b).abs() <= DOSE_TOLERANCE * a.abs().max(b.abs())
}

/// Whether `dose` is within tolerance of one of the sorted `doses`.
fn in_series(dose: f64, doses: &[f64]) -> bool {
    let i = doses.partition_point(|d| *d < dose);
    [i.checked_sub(1), Some(i)]
        .into_iter()
        .flatten()
        .filter_map(|j| doses.get(j))
        .any(|d| same_dose(*d, dose))
}

/// The distinct doses of `wells`, sorted (doses within tolerance of each other once).
fn distinct(doses: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut d: Vec<f64> = doses.collect();
    d.sort_by(f64::total_cmp);
    d.dedup_by(|b, a| same_dose(*a, *b));
    d
}

/// Fraction of `own` doses found among `others` once divided by `factor`.
fn matched(own: &[f64], others: &[f64], factor: f64) -> f64 {
    let n = own
        .iter()
        .filter(|d| in_series(*d / factor, others))
        .count();
    n as f64 / own.len().max(1) as f64
}

/// The plates whose series of the drug is the other plates' times a unit factor: (plate,
/// factor, the plates it is compared with). With two plates only, each is the other's shift;
/// the second is named.
fn shifted_plates<'a>(wells: &[DoseWell<'a>]) -> Vec<(&'a str, f64, String)> {
    // The wells come plate by plate (in plate-name order): a lookup per plate, not per well.
    let mut plates: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for group in wells.chunk_by(|a, b| std::ptr::eq(a.plate, b.plate) || a.plate == b.plate) {
        let doses = plates.entry(group[0].plate).or_default();
        doses.extend(group.iter().map(|w| w.dose));
    }
    if plates.len() < 2 {
        return Vec::new();
    }
    let series: BTreeMap<&str, Vec<f64>> = plates
        .into_iter()
        .map(|(p, d)| (p, distinct(d.into_iter())))
        .collect();
    // A plate whose series another plate repeats exactly finds its own doses among the others
    // (matched 1.0): it is never the shifted one. Skipping it before gathering the others keeps
    // a screen of many identical plates linear in its plates, not quadratic.
    let mut twins: HashMap<Vec<u64>, usize> = HashMap::new();
    for own in series.values() {
        *twins
            .entry(own.iter().map(|d| d.to_bits()).collect())
            .or_default() += 1;
    }
    let mut found = Vec::new();
    for (plate, own) in &series {
        if twins[&own.iter().map(|d| d.to_bits()).collect::<Vec<u64>>()] > 1 {
            continue;
        }
        let others = distinct(
            series
                .iter()
                .filter(|(p, _)| *p != plate)
                .flat_map(|(_, d)| d.iter().copied()),
        );
        if own.len() < 2 || matched(own, &others, 1.0) >= 0.5 {
            continue;
        }
        if let Some(f) = UNIT_FACTORS
            .into_iter()
            .find(|f| matched(own, &others, *f) >= 0.5)
        {
            let names: Vec<&str> = series.keys().filter(|p| *p != plate).copied().collect();
            let against = if names.len() == 1 {
                format!("plate {}", names[0])
            } else {
                format!("its other plates ({})", names.join(", "))
            };
            found.push((*plate, f, against));
        }
    }
    // Two plates shifted from each other: each finds the other; name the second only.
    if series.len() == 2 && found.len() == 2 {
        found.remove(0);
    }
    found
}

/// How a factor reads: `1000×`, `1/1000 of`.
fn factor_words(f: f64) -> String {
    if f >= 1.0 {
        format!("{f}×")
    } else {
        format!("1/{} of", 1.0 / f)
    }
}

/// The wells of one drug whose dose is off its series, with why.
fn off_series<'w, 'a>(wells: &[&'w DoseWell<'a>]) -> Vec<(&'w DoseWell<'a>, String)> {
    let mut doses: Vec<f64> = wells.iter().map(|w| w.dose).collect();
    doses.sort_by(f64::total_cmp);
    // A dose no other well uses: its index pair in the sorted doses has no twin.
    let lonely = |d: f64| {
        let i = doses.partition_point(|x| *x < d);
        let twins = doses[i.saturating_sub(1)..(i + 2).min(doses.len())]
            .iter()
            .filter(|x| same_dose(**x, d))
            .count();
        twins < 2
    };
    let n_lonely = wells.iter().filter(|w| lonely(w.dose)).count();
    let replicated = wells.len() >= 4 && 2 * n_lonely < wells.len();
    let series = distinct(doses.iter().copied());
    // A far dose that as many wells use as the others is the design (an MIC series starting
    // low), not a typo: only a dose fewer than half the usual number of wells use is off.
    let uses: Vec<usize> = series
        .iter()
        .map(|s| doses.iter().filter(|d| same_dose(**d, *s)).count())
        .collect();
    let mut usual_uses = uses.clone();
    usual_uses.sort_unstable();
    let usual_uses = usual_uses.get(usual_uses.len() / 2).copied().unwrap_or(0);
    let far: Vec<(f64, f64)> = far_ends(&series)
        .into_iter()
        .filter(|(d, _)| {
            let i = series.iter().position(|s| s == d).unwrap_or(0);
            2 * uses[i] < usual_uses
        })
        .collect();
    let mut out = Vec::new();
    for w in wells {
        let far_end = far.iter().find(|(d, _)| same_dose(*d, w.dose));
        if let Some((_, neighbour)) = far_end {
            out.push((
                *w,
                format!(
                    "{:.0}× beyond the next dose, {neighbour}",
                    (w.dose / neighbour).max(neighbour / w.dose)
                ),
            ));
        } else if replicated && lonely(w.dose) {
            out.push((
                *w,
                "no other well of the drug uses this dose, while its other doses are replicated"
                    .to_string(),
            ));
        }
    }
    out
}

/// The doses at an end of a sorted series that lie more than 10× (and 3× the series' usual
/// step) beyond their neighbour, with that neighbour.
fn far_ends(series: &[f64]) -> Vec<(f64, f64)> {
    let n = series.len();
    if n < 3 {
        return Vec::new();
    }
    let steps: Vec<f64> = series.windows(2).map(|p| p[1] / p[0]).collect();
    let usual = |skip: usize| {
        let mut s: Vec<f64> = steps
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, s)| *s)
            .collect();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let mut out = Vec::new();
    let (first, last) = (steps[0], steps[n - 2]);
    if first > 10.0 && first > 3.0 * usual(0) {
        out.push((series[0], series[1]));
    }
    if last > 10.0 && last > 3.0 * usual(n - 2) {
        out.push((series[n - 1], series[n - 2]));
    }
    out
}

/// With `--strict`, every warning is an error: `Ok` when there are none, else an error
/// listing each, marked as made an error by `--strict`.
pub(crate) fn warnings_as_errors(warnings: &[Problem]) -> crate::error::Result<()> {
    if warnings.is_empty() {
        return Ok(());
    }
    let problems = warnings
        .iter()
        .map(|w| Problem {
            location: w.location.clone(),
            message: format!("{} (a warning, an error with --strict)", w.message),
        })
        .collect();
    Err(crate::error::Error::problems(
        crate::error::ErrorKind::Input,
        problems,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_far_dose_is_off_and_a_log_series_is_on() {
        let series: Vec<f64> = (0..8).map(|i| 0.0015 * 3f64.powi(i)).collect();
        assert!(far_ends(&series).is_empty());
        let mut typo = series.clone();
        typo.push(1524.0);
        assert_eq!(far_ends(&typo), vec![(1524.0, series[7])]);
        let tenfold: Vec<f64> = (0..5).map(|i| 10f64.powi(i)).collect();
        assert!(
            far_ends(&tenfold).is_empty(),
            "a 10× dilution series is a series"
        );
    }

    #[test]
    fn factors_read_as_words() {
        assert_eq!(factor_words(1e3), "1000×");
        assert_eq!(factor_words(1e-6), "1/1000000 of");
    }
}
