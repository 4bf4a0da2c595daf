//! Plate quality control: Z′, CV, signal-to-background, SSMD, spatial trends and a verdict.
//!
//! QC judges the units that normalization uses: (plate, cell line, replicate when the vehicle
//! wells carry one). A plate holding one unit gets one row. A plate holding several gets one
//! pooled row (`cell_line` empty, for the record) plus one row per unit; the unit rows decide
//! which wells are excluded, because each unit is normalized by its own controls.
//!
//! Spatial trends (edge vs interior, across rows, across columns) are tested on the vehicle
//! wells relative to their own level, reported, and never corrected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checked::{Check, Checked};
use crate::error::{Problem, Result};
use crate::normalize::{
    control_levels, lowest_dose_levels, series_without_reference, stand_in_viability, units_of,
    BlankSource, ControlLevels, NormalizeSettings, PlateControls, Reference, Unit, Units,
    LOWEST_DOSES,
};
use crate::plate::{PlateFormat, WellPos};
use crate::stats;
use crate::wells::{Role, WellTable};

/// Plate QC thresholds, as the assay's `[qc]` section writes them; checked once into a
/// [`Checked`] value ([`Check::check`]) before QC takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct QcSettings {
    /// Verdict `fail` below this Z′.
    pub z_prime_fail: f64,
    /// Verdict `warn` below this Z′.
    pub z_prime_warn: f64,
    /// Verdict `warn` above this coefficient of variation of the vehicle wells (a fraction).
    pub(crate) cv_vehicle_warn: f64,
    /// Verdict `warn` below this ratio of vehicle to blank signal.
    pub(crate) signal_to_background_warn: f64,
    /// Verdict `fail` with fewer vehicle wells than this carrying a numeric signal.
    pub(crate) min_vehicle_wells: usize,
    /// Leave the wells of failed plates out of everything downstream (they stay in `wells.csv`).
    pub exclude_failed: bool,
    /// Smallest spatial trend in the vehicle wells (as a fraction of their level) worth a warning.
    pub(crate) spatial_threshold: f64,
}

impl Default for QcSettings {
    fn default() -> Self {
        QcSettings {
            z_prime_fail: 0.0,
            z_prime_warn: 0.5,
            cv_vehicle_warn: 0.2,
            signal_to_background_warn: 2.0,
            min_vehicle_wells: 2,
            exclude_failed: true,
            spatial_threshold: 0.1,
        }
    }
}

impl QcSettings {
    /// Keys of the `[qc]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 7] = [
        "z_prime_fail",
        "z_prime_warn",
        "cv_vehicle_warn",
        "signal_to_background_warn",
        "min_vehicle_wells",
        "exclude_failed",
        "spatial_threshold",
    ];
}

impl Check for QcSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let qc = self;
        let mut out = Vec::new();
        let mut bad = |key: &'static str, msg: String| out.push((key, msg));
        for (key, v) in [
            ("z_prime_fail", qc.z_prime_fail),
            ("z_prime_warn", qc.z_prime_warn),
        ] {
            if !v.is_finite() || v > 1.0 {
                bad(
                    key,
                    format!("`qc.{key} = {v}`: Z′ is at most 1; expected a number ≤ 1"),
                );
            }
        }
        if qc.z_prime_warn < qc.z_prime_fail {
            bad(
                "z_prime_warn",
                format!(
                    "`qc.z_prime_warn = {}` is below `qc.z_prime_fail = {}`; the warn level must be at or above the fail level",
                    qc.z_prime_warn, qc.z_prime_fail
                ),
            );
        }
        if !(qc.cv_vehicle_warn.is_finite() && qc.cv_vehicle_warn > 0.0) {
            bad(
                "cv_vehicle_warn",
                format!(
                    "`qc.cv_vehicle_warn = {}`: expected a positive fraction such as 0.2",
                    qc.cv_vehicle_warn
                ),
            );
        }
        if !(qc.signal_to_background_warn.is_finite() && qc.signal_to_background_warn >= 0.0) {
            bad(
                "signal_to_background_warn",
                format!(
                    "`qc.signal_to_background_warn = {}`: expected a number ≥ 0",
                    qc.signal_to_background_warn
                ),
            );
        }
        if qc.min_vehicle_wells < 2 {
            bad(
                "min_vehicle_wells",
                format!(
                    "`qc.min_vehicle_wells = {}`: Z′ needs a standard deviation, so at least 2",
                    qc.min_vehicle_wells
                ),
            );
        }
        if !(qc.spatial_threshold.is_finite() && qc.spatial_threshold > 0.0) {
            bad(
                "spatial_threshold",
                format!(
                    "`qc.spatial_threshold = {}`: expected a positive fraction such as 0.1",
                    qc.spatial_threshold
                ),
            );
        }
        out
    }
}

/// A QC verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// Usable, but look at it.
    Warn,
    /// Not usable; excluded downstream by default.
    Fail,
}

impl Verdict {
    /// The name written in `qc.csv`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Spatial trends of the vehicle wells, each as a fraction of their level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spatial {
    /// Mean(edge) − mean(interior), relative; with its Welch p-value.
    pub edge_effect: Option<(f64, f64)>,
    /// Fitted change from the first to the last row, relative; with the slope's p-value.
    pub(crate) row_trend: Option<(f64, f64)>,
    /// Fitted change from the first to the last column, relative; with the slope's p-value.
    pub(crate) column_trend: Option<(f64, f64)>,
}

/// One row of `qc.csv`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlateQc {
    /// Plate identifier.
    pub plate: String,
    /// The cell line judged; `None` for the pooled row of a plate with several units.
    pub cell_line: Option<String>,
    /// The replicate judged, when its vehicle wells carry a replicate label; else empty.
    pub replicate: String,
    /// Plate format.
    pub format: PlateFormat,
    /// Vehicle wells with a numeric reading.
    pub n_vehicle: usize,
    /// Blank wells with a numeric reading.
    pub n_blank: usize,
    /// Sample wells.
    pub(crate) n_sample: usize,
    /// Wells whose reading is not a number.
    pub n_flagged: usize,
    /// Mean vehicle reading.
    pub mean_vehicle: Option<f64>,
    /// Sample SD of the vehicle readings.
    pub sd_vehicle: Option<f64>,
    /// Mean blank reading.
    pub mean_blank: Option<f64>,
    /// Sample SD of the blank readings.
    pub sd_blank: Option<f64>,
    /// Where the blanks came from.
    pub blank_source: BlankSource,
    /// Z′ = 1 − 3(σv + σb)/|μv − μb|.
    pub z_prime: Option<f64>,
    /// σv / μv.
    pub cv_vehicle: Option<f64>,
    /// μv / μb.
    pub signal_to_background: Option<f64>,
    /// (μv − μb) / √(σv² + σb²).
    pub(crate) ssmd: Option<f64>,
    /// Spatial trends of the vehicle wells.
    pub spatial: Spatial,
    /// Whether a spatial trend passed the threshold.
    pub spatial_flag: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in words (empty for a clean pass).
    pub reason: String,
}

/// Assesses every unit (plate, cell line, replicate) and, where a plate holds several units,
/// the plate as a whole.
pub(crate) fn assess(
    table: &WellTable,
    controls: &BTreeMap<String, PlateControls>,
    units: &Units,
    settings: &QcSettings,
    normalize: &NormalizeSettings,
) -> Vec<PlateQc> {
    let spatial_check = normalize.spatial_check;
    // Per unit: (samples, wells with a non-numeric reading); units grouped by plate.
    let mut counts: Vec<(usize, usize)> = vec![(0, 0); units.keys.len()];
    let mut unassigned_flagged: BTreeMap<&str, usize> = BTreeMap::new();
    for (w, u) in table.wells.iter().zip(&units.of_well) {
        let flagged = usize::from(w.role != Role::Empty && w.signal.value().is_none());
        match *u {
            Some(u) => {
                counts[u].0 += usize::from(w.role == Role::Sample);
                counts[u].1 += flagged;
            }
            None => *unassigned_flagged.entry(w.plate).or_default() += flagged,
        }
    }
    let mut per_plate: BTreeMap<&str, BTreeMap<&Unit, (usize, usize)>> = BTreeMap::new();
    for plate in table.formats.keys() {
        per_plate.entry(plate).or_default();
    }
    for (k, c) in units.keys.iter().zip(&counts) {
        per_plate.entry(k.0.as_str()).or_default().insert(k, *c);
    }
    let empty = PlateControls::default();
    let mut out = Vec::new();
    for (plate, per_unit) in &per_plate {
        let format = table.formats[*plate];
        let pc = controls.get(*plate).unwrap_or(&empty);
        if per_unit.len() > 1 {
            let vehicles: Vec<Vec<(WellPos, f64)>> = pc.vehicle.values().cloned().collect();
            let blanks: Vec<f64> = pc.blank.values().flatten().map(|x| x.1).collect();
            let source = if blanks.is_empty() {
                BlankSource::AssumedZero
            } else {
                BlankSource::WholePlate
            };
            let n_sample = per_unit.values().map(|c| c.0).sum();
            let n_flagged = per_unit.values().map(|c| c.1).sum::<usize>()
                + unassigned_flagged.get(plate).copied().unwrap_or(0);
            let judged = Judged {
                plate,
                unit: None,
                format,
                vehicles: &vehicles,
                blanks: &blanks,
                blank_source: source,
                n_sample,
                n_flagged,
            };
            let mut row = judge(&judged, settings, spatial_check, normalize.reference);
            let note =
                "pooled over the plate; wells are judged by their own cell line and replicate";
            row.reason = if row.reason.is_empty() {
                note.to_string()
            } else {
                format!("{}; {note}", row.reason)
            };
            out.push(row);
        }
        for (unit, (n_sample, n_flagged)) in per_unit {
            let (_, line, rep) = unit;
            let vehicles = vec![pc.vehicles_for(line, rep)];
            let (blanks, source) = pc.blanks_for(line, rep);
            let judged = Judged {
                plate,
                unit: Some((line, rep)),
                format,
                vehicles: &vehicles,
                blanks: &blanks,
                blank_source: source,
                n_sample: *n_sample,
                n_flagged: *n_flagged,
            };
            out.push(judge(&judged, settings, spatial_check, normalize.reference));
        }
    }
    out
}

/// What one QC row judges: a plate, or one unit (cell line, replicate) on it, with its
/// controls and its well counts.
struct Judged<'a> {
    plate: &'a str,
    unit: Option<(&'a str, &'a str)>,
    format: PlateFormat,
    vehicles: &'a [Vec<(WellPos, f64)>],
    blanks: &'a [f64],
    blank_source: BlankSource,
    n_sample: usize,
    n_flagged: usize,
}

/// The control measures of a plate or unit.
struct ControlMeasures {
    n_vehicle: usize,
    has_blank: bool,
    mean_vehicle: Option<f64>,
    sd_vehicle: Option<f64>,
    mean_blank: Option<f64>,
    sd_blank: Option<f64>,
    z_prime: Option<f64>,
    cv_vehicle: Option<f64>,
    signal_to_background: Option<f64>,
    ssmd: Option<f64>,
}

impl ControlMeasures {
    /// Means and SDs of the vehicle readings `v` and the blanks (none when assumed), and the
    /// measures made of them.
    fn of(v: &[f64], blanks: &[f64], has_blank: bool) -> ControlMeasures {
        let (mv, sv) = (stats::mean(v), stats::sd(v));
        let (mb, sb) = if has_blank {
            (stats::mean(blanks), stats::sd(blanks))
        } else {
            (None, None)
        };
        ControlMeasures {
            n_vehicle: v.len(),
            has_blank,
            mean_vehicle: mv,
            sd_vehicle: sv,
            mean_blank: mb,
            sd_blank: sb,
            z_prime: match (mv, sv, mb, sb) {
                (Some(mv), Some(sv), Some(mb), Some(sb)) if mv != mb => {
                    Some(1.0 - 3.0 * (sv + sb) / (mv - mb).abs())
                }
                _ => None,
            },
            cv_vehicle: match (mv, sv) {
                (Some(m), Some(s)) if m != 0.0 => Some(s / m.abs()),
                _ => None,
            },
            signal_to_background: match (mv, mb) {
                (Some(v), Some(b)) if b != 0.0 => Some(v / b),
                _ => None,
            },
            ssmd: match (mv, sv, mb, sb) {
                (Some(mv), Some(sv), Some(mb), Some(sb)) if sv > 0.0 || sb > 0.0 => {
                    Some((mv - mb) / (sv * sv + sb * sb).sqrt())
                }
                _ => None,
            },
        }
    }
}

/// The QC row of a plate or unit: its control measures, spatial trends, and the verdict
/// their thresholds give.
fn judge(j: &Judged<'_>, s: &QcSettings, spatial_check: bool, reference: Reference) -> PlateQc {
    let v: Vec<f64> = j
        .vehicles
        .iter()
        .flat_map(|x| x.iter().map(|p| p.1))
        .collect();
    let has_blank = j.blank_source != BlankSource::AssumedZero;
    let m = ControlMeasures::of(&v, j.blanks, has_blank);
    let spatial = if spatial_check {
        spatial_trends(j.format, j.vehicles)
    } else {
        Spatial::default()
    };
    let (fail, mut warn) = control_findings(&m, s, reference);
    let spatial_flag = spatial_findings(&spatial, s, &mut warn);
    let verdict = if !fail.is_empty() {
        Verdict::Fail
    } else if !warn.is_empty() {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    let reason = fail.into_iter().chain(warn).collect::<Vec<_>>().join("; ");
    PlateQc {
        plate: j.plate.to_string(),
        cell_line: j.unit.map(|u| u.0.to_string()),
        replicate: j.unit.map(|u| u.1.to_string()).unwrap_or_default(),
        format: j.format,
        n_vehicle: m.n_vehicle,
        n_blank: if has_blank { j.blanks.len() } else { 0 },
        n_sample: j.n_sample,
        n_flagged: j.n_flagged,
        mean_vehicle: m.mean_vehicle,
        sd_vehicle: m.sd_vehicle,
        mean_blank: m.mean_blank,
        sd_blank: m.sd_blank,
        blank_source: j.blank_source,
        z_prime: m.z_prime,
        cv_vehicle: m.cv_vehicle,
        signal_to_background: m.signal_to_background,
        ssmd: m.ssmd,
        spatial,
        spatial_flag,
        verdict,
        reason,
    }
}

/// What fails and what warns in the control measures.
fn control_findings(
    m: &ControlMeasures,
    s: &QcSettings,
    reference: Reference,
) -> (Vec<String>, Vec<String>) {
    let mut fail = Vec::new();
    let mut warn = Vec::new();
    if m.n_vehicle == 0 && reference == Reference::LowestDoses {
        warn.push(format!(
            "no vehicle wells: 100 % is the median of each series' {LOWEST_DOSES} lowest doses (normalize.reference = \"lowest_doses\")"
        ));
    } else if m.n_vehicle == 0 && reference == Reference::FittedTop {
        warn.push(
            "no vehicle wells: 100 % is the fitted top of each series' curve (normalize.reference = \"fitted_top\")".to_string(),
        );
    } else if m.n_vehicle < s.min_vehicle_wells {
        fail.push(format!(
            "{} vehicle well(s) with a numeric signal, fewer than {}",
            m.n_vehicle, s.min_vehicle_wells
        ));
    }
    if let (Some(mv), Some(mb)) = (m.mean_vehicle, m.mean_blank) {
        if mv <= mb {
            fail.push(format!(
                "vehicle level {mv:.4} is not above blank level {mb:.4}"
            ));
        }
    }
    match m.z_prime {
        Some(z) if z < s.z_prime_fail => fail.push(format!("Z′ {z:.3} < {}", s.z_prime_fail)),
        Some(z) if z < s.z_prime_warn => warn.push(format!("Z′ {z:.3} < {}", s.z_prime_warn)),
        Some(_) => {}
        None if !m.has_blank => warn.push("no blank wells: Z′ not computable".into()),
        None if m.n_vehicle >= s.min_vehicle_wells => {
            warn.push("fewer than 2 blank wells with a numeric signal: Z′ not computable".into())
        }
        None => {}
    }
    if let Some(cv) = m.cv_vehicle {
        if cv > s.cv_vehicle_warn {
            warn.push(format!(
                "vehicle CV {:.1} % > {:.1} %",
                100.0 * cv,
                100.0 * s.cv_vehicle_warn
            ));
        }
    }
    if let Some(sb) = m.signal_to_background {
        if sb < s.signal_to_background_warn {
            warn.push(format!(
                "signal/background {sb:.2} < {}",
                s.signal_to_background_warn
            ));
        }
    }
    (fail, warn)
}

/// Warns of each spatial trend past the threshold; whether there was one.
fn spatial_findings(spatial: &Spatial, s: &QcSettings, warn: &mut Vec<String>) -> bool {
    let mut spatial_flag = false;
    for (name, t) in [
        ("edge effect", spatial.edge_effect),
        ("row trend", spatial.row_trend),
        ("column trend", spatial.column_trend),
    ] {
        if let Some((eff, p)) = t {
            if eff.abs() >= s.spatial_threshold && p < 0.01 {
                spatial_flag = true;
                warn.push(format!(
                    "{name} {:+.1} % in vehicle wells (p = {p:.2e})",
                    100.0 * eff
                ));
            }
        }
    }
    spatial_flag
}

/// Edge, row and column trends of vehicle readings, each group relative to its own level.
pub(crate) fn spatial_trends(format: PlateFormat, vehicles: &[Vec<(WellPos, f64)>]) -> Spatial {
    let mut pts: Vec<(WellPos, f64)> = Vec::new();
    for v in vehicles {
        let vals: Vec<f64> = v.iter().map(|x| x.1).collect();
        let Some(m) = stats::mean(&vals).filter(|m| *m != 0.0) else {
            continue;
        };
        pts.extend(v.iter().map(|(p, x)| (*p, x / m - 1.0)));
    }
    let (edge, interior): (Vec<_>, Vec<_>) = pts.iter().partition(|(p, _)| format.is_edge(*p));
    let vals = |v: &[&(WellPos, f64)]| v.iter().map(|x| x.1).collect::<Vec<f64>>();
    let edge_effect = welch_if(&vals(&edge), &vals(&interior));
    let y: Vec<f64> = pts.iter().map(|x| x.1).collect();
    let rows: Vec<f64> = pts.iter().map(|x| f64::from(x.0.row)).collect();
    let cols: Vec<f64> = pts.iter().map(|x| f64::from(x.0.column)).collect();
    let across = |x: &[f64]| {
        let span = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            - x.iter().cloned().fold(f64::INFINITY, f64::min);
        stats::slope(x, &y).map(|(b, p)| (b * span, p))
    };
    Spatial {
        edge_effect,
        row_trend: across(&rows),
        column_trend: across(&cols),
    }
}

fn welch_if(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    (a.len() >= 2 && b.len() >= 2)
        .then(|| stats::welch(a, b))
        .flatten()
}

/// What happened to one well downstream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WellOutcome {
    /// Normalized viability, when defined.
    pub viability: Option<f64>,
    /// Whether the well is left out of fitting.
    pub excluded: bool,
    /// Why (empty when not excluded).
    pub exclusion_reason: Box<str>,
}

/// The result of normalizing and judging a wells table.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// One outcome per well, in table order.
    pub outcomes: Vec<WellOutcome>,
    /// The QC rows.
    pub qc: Vec<PlateQc>,
    /// Control levels per unit (plate, cell line, replicate).
    pub levels: BTreeMap<Unit, ControlLevels>,
    /// Under `reference = "lowest_doses"`, the series still without a 100 % per unit
    /// without vehicle wells ([`series_without_reference`]); empty otherwise.
    pub unreferenced: BTreeMap<Unit, BTreeSet<String>>,
    /// Warnings found on the way.
    pub warnings: Vec<Problem>,
}

/// Runs QC and normalization on a checked wells table, with checked settings.
pub fn normalize_and_qc(
    table: &WellTable,
    qc_settings: &Checked<QcSettings>,
    normalize: &Checked<NormalizeSettings>,
    source: &Path,
) -> Result<Normalized> {
    let controls = PlateControls::gather(table);
    let units = units_of(table, &controls);
    // Control levels and plate verdicts need each other's inputs only: computed side by side.
    let (levels, qc) = rayon::join(
        || control_levels(table, &controls, &units, normalize, source),
        || assess(table, &controls, &units, qc_settings, normalize),
    );
    let (levels, warnings) = levels?;
    // Series of units without vehicle wells, with their own 100 % (normalize.reference).
    let series_levels = match normalize.reference {
        Reference::Vehicle => HashMap::new(),
        // fitted_top starts from the lowest doses' level; the run rescales to the fitted top.
        Reference::LowestDoses | Reference::FittedTop => lowest_dose_levels(table, &units, &levels),
    };
    // The rows that decide exclusion: one per unit.
    let unit_index: HashMap<&Unit, usize> =
        units.keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut judged: Vec<Option<&PlateQc>> = vec![None; units.keys.len()];
    for r in &qc {
        if let Some(l) = &r.cell_line {
            let key = (r.plate.clone(), l.clone(), r.replicate.clone());
            if let Some(&i) = unit_index.get(&key) {
                judged[i] = Some(r);
            }
        }
    }
    // Each well on its own: on every core, in order.
    let outcomes = (0..table.wells.len())
        .into_par_iter()
        .map(|i| {
            let w = table.wells.get(i);
            let unit = units.of_well[i];
            let mut reasons = Vec::new();
            if w.role == Role::Empty {
                reasons.push("empty well".to_string());
            }
            let level = unit.map(|u| &levels[u]);
            let viability = match (w.signal.value(), level) {
                (Some(s), Some(l)) if w.role != Role::Empty && l.vehicle.is_some() => {
                    l.viability(s)
                }
                (Some(s), Some(l)) if w.role == Role::Sample => unit
                    .and_then(|u| series_levels.get(&(u, w.drug)))
                    .and_then(|&top| stand_in_viability(s, top, l.blank)),
                _ => None,
            };
            if w.role != Role::Empty {
                if w.signal.value().is_none() {
                    reasons.push(format!("signal not numeric: `{}`", w.signal));
                }
                if let Some(r) = unit.and_then(|u| judged[u]) {
                    if r.verdict == Verdict::Fail && qc_settings.exclude_failed {
                        reasons.push(format!("plate QC failed: {}", r.reason));
                    }
                }
                // Controls of a unit normalized without vehicle wells have no viability and
                // need none: their 100 % is each series' own.
                let stand_in = normalize.reference != Reference::Vehicle
                    && level.is_some_and(|l| l.vehicle.is_none());
                let control = w.role != Role::Sample;
                if viability.is_none()
                    && w.signal.value().is_some()
                    && unit.is_some()
                    && !(stand_in && control)
                {
                    reasons.push("viability undefined: no usable vehicle level".into());
                }
            }
            // Controls are not fitted; they are excluded only for a reason that makes them unusable.
            WellOutcome {
                viability,
                excluded: !reasons.is_empty(),
                exclusion_reason: reasons.join("; ").into(),
            }
        })
        .collect();
    let unreferenced = match normalize.reference {
        Reference::Vehicle => BTreeMap::new(),
        Reference::LowestDoses | Reference::FittedTop => {
            series_without_reference(table, &units, &levels)
        }
    };
    Ok(Normalized {
        outcomes,
        qc,
        levels: units.keys.into_iter().zip(levels).collect(),
        unreferenced,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(x: &[(u16, u16, f64)]) -> Vec<Vec<(WellPos, f64)>> {
        vec![x
            .iter()
            .map(|&(r, c, v)| (WellPos { row: r, column: c }, v))
            .collect()]
    }

    #[test]
    fn detects_a_row_gradient_and_ignores_noise_free_flat_plates() {
        let f = PlateFormat::from_wells(96).unwrap();
        let grad: Vec<(u16, u16, f64)> = (0..8)
            .flat_map(|r| {
                [
                    (r, 1, 100.0 + 5.0 * f64::from(r)),
                    (r, 10, 100.0 + 5.0 * f64::from(r)),
                ]
            })
            .collect();
        let s = spatial_trends(f, &row(&grad));
        let (eff, p) = s.row_trend.unwrap();
        assert!((eff - 35.0 / 117.5).abs() < 1e-9, "{eff}");
        assert!(p < 1e-6);
        let flat: Vec<(u16, u16, f64)> = (0..8).map(|r| (r, 1, 100.0)).collect();
        let s = spatial_trends(f, &row(&flat));
        assert_eq!(s.row_trend.unwrap().0, 0.0);
        assert!(s.column_trend.is_none(), "one column: no column trend");
    }
}
