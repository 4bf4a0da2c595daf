//! GR values and GR metrics (Hafner, Niepel, Chung & Sorger 2016, Nat Methods 13:521).
//!
//! Per endpoint well, with x the background-subtracted signal, x_ctrl the unit's untreated
//! level and x₀ the unit's level at treatment (all minus the same blank level):
//!
//! - from **time-0 reads**: GR = 2^(log2(x/x₀) / log2(x_ctrl/x₀)) − 1;
//! - from the line's **doubling time** T_d and the endpoint time T (hours since treatment):
//!   log2(x_ctrl/x₀) = T/T_d, so GR = 2^(1 + log2(x/x_ctrl)·T_d/T) − 1.
//!
//! A unit is a plate and cell line (and replicate), as for normalization. x₀ is the level
//! (mean or median, as `[normalize] controls`) of the unit's vehicle and sample wells read at
//! time 0 — before the drug acts every well is untreated — minus the unit's endpoint blank
//! level (the reader's background, not cells). Time-0 reads are preferred; a unit without them
//! uses its line's `doubling_time_h`. A unit with neither has no GR values, and its curves say
//! why; nothing is guessed. GR is undefined for a well with x ≤ 0 (log2 of a count that is not
//! positive) and for a unit whose untreated wells did not grow (x_ctrl ≤ x₀); such wells are
//! counted in the curve's message, never clamped.
//!
//! The GR curve is the 3-parameter sigmoid GR(c) = GRinf + (1 − GRinf)/(1 + (c/GEC50)^h),
//! fitted by the same engine as viability (`ll3`, top fixed at 1, GRinf in [−1, 1] as in
//! GRmetrics, the assay's hill bounds, ec50 margin, flat test and CI level). GR50 is where the
//! curve crosses 0.5, with the qualifiers of an IC50 (`>` when it stays above 0.5 over the
//! tested range, `<` when below at the lowest dose). GRmax and GR_AOC come from the data, as
//! in GRmetrics: GRmax the lowest of the mean GR values at the two highest concentrations,
//! GR_AOC the trapezoid area between 1 and the mean GR per concentration over log10
//! concentration, divided by the width of the tested log10 range (as the gr_metrics Python
//! package does; the current R package leaves that width in).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::reads::{ReadPlan, ReadRole};
use super::GrowthSettings;
use crate::fit::{fit_curve, CurveFit, DosePoint, FitConfig, FitSettings, Model, Plateaus};
use crate::lines::LinesTable;
use crate::normalize::{center, units_of, ControlCenter, PlateControls, Unit, Units};
use crate::qc::Normalized;
use crate::wells::{Role, WellTable};

/// Where a unit's x₀ came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrSource {
    /// Reads at time 0 on the plate.
    TimeZero,
    /// The line's doubling time and the endpoint time.
    DoublingTime,
}

impl GrSource {
    /// The name written in `fits.csv` (`gr_source`).
    pub fn name(self) -> &'static str {
        match self {
            GrSource::TimeZero => "time0",
            GrSource::DoublingTime => "doubling_time",
        }
    }
}

/// How GR is computed in one unit, or why it is not.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitGr {
    /// The source of x₀, when GR is defined in the unit.
    pub source: Option<GrSource>,
    /// log2(x_ctrl / x₀): the untreated doublings between treatment and the endpoint.
    pub(crate) control_doublings: f64,
    /// Why the unit has no GR values (empty when it has).
    pub reason: String,
}

/// GR values of the endpoint wells of a run.
#[derive(Debug, Clone, Default)]
pub struct GrValues {
    /// GR of every well of the endpoint table (vehicle and sample wells not excluded, with a
    /// numeric signal and a unit where GR is defined), in table order.
    pub gr: Vec<Option<f64>>,
    /// Every unit of the endpoint table and how its GR is computed.
    pub units: BTreeMap<Unit, UnitGr>,
    /// Sample wells per (cell line, replicate label, drug) whose GR is undefined because the
    /// background-subtracted signal is not positive.
    pub(crate) not_positive: BTreeMap<(String, String, String), usize>,
    /// The units of each cell line (keys of `units`), so a curve looks at its line's only.
    pub(crate) line_units: BTreeMap<String, Vec<Unit>>,
}

/// What GR needs from a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrInputs<'a> {
    /// Every read of the run.
    pub table: &'a WellTable,
    /// The role of each read.
    pub plan: &'a ReadPlan,
    /// The endpoint reads (the table itself when every read is an endpoint read).
    pub endpoint: &'a WellTable,
    /// Normalization and QC of the endpoint reads.
    pub normalized: &'a Normalized,
    /// The lines table, for doubling times.
    pub lines: Option<&'a LinesTable>,
    /// The `[growth]` settings.
    pub settings: &'a GrowthSettings,
    /// How control wells are summarised (`[normalize] controls`), also for x₀.
    pub controls: ControlCenter,
}

/// GR of a well from its count, the untreated count and the count at treatment (all
/// background-subtracted): 2^(log2(x/x₀) / log2(x_ctrl/x₀)) − 1. `None` unless x, x₀ > 0 and
/// x_ctrl > x₀.
pub(crate) fn gr_from_time_zero(x: f64, x_ctrl: f64, x0: f64) -> Option<f64> {
    if !(x > 0.0 && x0 > 0.0 && x_ctrl > x0) {
        return None;
    }
    let gr = ((x / x0).log2() / (x_ctrl / x0).log2()).exp2() - 1.0;
    gr.is_finite().then_some(gr)
}

/// GR of a well from its count relative to untreated and the untreated doublings during the
/// assay (T/T_d): 2^(1 + log2(x/x_ctrl) / doublings) − 1. `None` unless x, x_ctrl > 0 and
/// doublings > 0.
pub(crate) fn gr_from_doublings(x: f64, x_ctrl: f64, doublings: f64) -> Option<f64> {
    if !(x > 0.0 && x_ctrl > 0.0 && doublings > 0.0) {
        return None;
    }
    let gr = (1.0 + (x / x_ctrl).log2() / doublings).exp2() - 1.0;
    gr.is_finite().then_some(gr)
}

/// GR of every endpoint well: how GR is computed in each unit (from time-0 reads, else from
/// the line's doubling time), then each well's GR.
pub(crate) fn gr_values(inp: &GrInputs<'_>) -> GrValues {
    let controls = PlateControls::gather(inp.endpoint);
    let units = units_of(inp.endpoint, &controls);
    let sources = UnitSources {
        inp,
        time_zero: time_zero_reads(inp),
        doubling: doubling_times(inp.lines),
    };
    let (unit_gr, unit_x0): (Vec<UnitGr>, Vec<(f64, f64)>) =
        units.keys.iter().map(|key| sources.unit(key)).unzip();
    let (gr, not_positive) = well_gr(inp, &units, &unit_gr, &unit_x0);
    let mut line_units: BTreeMap<String, Vec<Unit>> = BTreeMap::new();
    for key in &units.keys {
        line_units
            .entry(key.1.clone())
            .or_default()
            .push(key.clone());
    }
    GrValues {
        gr,
        units: units.keys.into_iter().zip(unit_gr).collect(),
        not_positive,
        line_units,
    }
}

/// Time-0 reads with a number of vehicle and sample wells, by (plate, line, replicate).
type TimeZeroReads<'a> = HashMap<(&'a str, &'a str, &'a str), Vec<f64>>;

/// The time-0 reads of the run.
fn time_zero_reads<'a>(inp: &GrInputs<'a>) -> TimeZeroReads<'a> {
    let mut time_zero: TimeZeroReads<'a> = HashMap::new();
    for (w, role) in inp.table.wells.iter().zip(&inp.plan.role) {
        if *role != ReadRole::TimeZero || !matches!(w.role, Role::Vehicle | Role::Sample) {
            continue;
        }
        if let Some(v) = w.signal.value() {
            time_zero
                .entry((w.plate.as_str(), w.cell_line.as_str(), w.replicate.as_str()))
                .or_default()
                .push(v);
        }
    }
    time_zero
}

/// The doubling time of each line of the lines table that gives one, hours.
fn doubling_times(lines: Option<&LinesTable>) -> BTreeMap<&str, f64> {
    lines
        .map(|l| {
            l.lines
                .iter()
                .filter_map(|l| Some((l.name.as_str(), l.doubling_time_h?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Where a unit's x₀ may come from.
struct UnitSources<'a> {
    inp: &'a GrInputs<'a>,
    time_zero: TimeZeroReads<'a>,
    doubling: BTreeMap<&'a str, f64>,
}

/// A unit without GR, for this reason.
fn no_gr(reason: String) -> UnitGr {
    UnitGr {
        source: None,
        control_doublings: f64::NAN,
        reason,
    }
}

impl UnitSources<'_> {
    /// How GR is computed in one unit, with its (x₀, x_ctrl) above the blank (NaN when
    /// unknown).
    fn unit(&self, key: &Unit) -> (UnitGr, (f64, f64)) {
        let (plate, line, rep) = key;
        let Some(levels) = self.inp.normalized.levels.get(key) else {
            return (no_gr("no control levels".into()), (f64::NAN, f64::NAN));
        };
        let blank = levels.blank;
        let Some(x_ctrl) = levels.vehicle.map(|v| v - blank) else {
            let reason = format!("plate {plate}: no vehicle level for `{line}`");
            return (no_gr(reason), (f64::NAN, f64::NAN));
        };
        let reads: Vec<f64> = self
            .time_zero
            .iter()
            .filter(|((p, l, r), _)| p == plate && l == line && (rep.is_empty() || r == rep))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        let (gr, x0) = match center(&reads, self.inp.controls) {
            Some(level) => from_time_zero(plate, line, level, blank, x_ctrl),
            None => (self.by_doubling_time(plate, line, x_ctrl), f64::NAN),
        };
        (gr, (x0, x_ctrl))
    }

    /// GR from the line's doubling time and the endpoint time, when the unit has no time-0
    /// reads.
    fn by_doubling_time(&self, plate: &str, line: &str, x_ctrl: f64) -> UnitGr {
        let hours = self
            .inp
            .plan
            .endpoint_time
            .get(plate)
            .copied()
            .or(self.inp.settings.treatment_hours);
        match (self.doubling.get(line), hours) {
            (None, _) => no_gr(format!(
                "plate {plate}: no time-0 reads of `{line}` and no `doubling_time_h` for it in the lines table"
            )),
            (Some(_), None) => no_gr(format!(
                "plate {plate}: `{line}` has a doubling time but the endpoint time is unknown (no `time` column; set `[growth] treatment_hours`)"
            )),
            (Some(&td), Some(t)) if x_ctrl > 0.0 => UnitGr {
                source: Some(GrSource::DoublingTime),
                control_doublings: t / td,
                reason: String::new(),
            },
            (Some(_), Some(_)) => no_gr(format!(
                "plate {plate}: the vehicle level of `{line}` is not above the blank"
            )),
        }
    }
}

/// GR from the unit's time-0 level, with x₀ above the blank (NaN when GR is undefined).
fn from_time_zero(plate: &str, line: &str, level: f64, blank: f64, x_ctrl: f64) -> (UnitGr, f64) {
    let x0 = level - blank;
    if !(x0 > 0.0) {
        (
            no_gr(format!(
                "plate {plate}: the time-0 level of `{line}` ({level:.6}) is not above the blank ({blank:.6})"
            )),
            f64::NAN,
        )
    } else if !(x_ctrl > x0) {
        (
            no_gr(format!(
                "plate {plate}: the untreated wells of `{line}` did not grow from time 0 (x0 = {x0:.6}, x_ctrl = {x_ctrl:.6}), so GR is undefined"
            )),
            f64::NAN,
        )
    } else {
        (
            UnitGr {
                source: Some(GrSource::TimeZero),
                control_doublings: (x_ctrl / x0).log2(),
                reason: String::new(),
            },
            x0,
        )
    }
}

/// Sample wells whose GR is undefined, per (cell line, replicate label, drug).
type NotPositive = BTreeMap<(String, String, String), usize>;

/// The GR of every endpoint well (vehicle and sample wells not excluded, with a number and a
/// unit where GR is defined), and the sample wells without one counted.
fn well_gr(
    inp: &GrInputs<'_>,
    units: &Units,
    unit_gr: &[UnitGr],
    unit_x0: &[(f64, f64)],
) -> (Vec<Option<f64>>, NotPositive) {
    let mut not_positive: NotPositive = BTreeMap::new();
    let gr = inp
        .endpoint
        .wells
        .iter()
        .zip(&units.of_well)
        .zip(&inp.normalized.outcomes)
        .map(|((w, unit), outcome)| {
            let unit = (*unit)?;
            if outcome.excluded || !matches!(w.role, Role::Vehicle | Role::Sample) {
                return None;
            }
            let u = &unit_gr[unit];
            let source = u.source?;
            let levels = &inp.normalized.levels[&units.keys[unit]];
            let x = w.signal.value()? - levels.blank;
            let (x0, x_ctrl) = unit_x0[unit];
            let value = match source {
                GrSource::TimeZero => gr_from_time_zero(x, x_ctrl, x0),
                GrSource::DoublingTime => gr_from_doublings(x, x_ctrl, u.control_doublings),
            };
            if value.is_none() && w.role == Role::Sample {
                *not_positive
                    .entry((
                        w.cell_line.to_string(),
                        w.replicate.to_string(),
                        w.drug.to_string(),
                    ))
                    .or_default() += 1;
            }
            value
        })
        .collect();
    (gr, not_positive)
}

impl GrValues {
    /// Where the GR values of a curve of `cell_line` (and `replicate`, empty when pooled) come
    /// from, and why some or all of its units have none: `(source, notes)`.
    pub fn provenance(&self, cell_line: &str, replicate: &str, drug: &str) -> (String, String) {
        let mut sources: BTreeSet<&str> = BTreeSet::new();
        let mut missing: Vec<&str> = Vec::new();
        let keys = self
            .line_units
            .get(cell_line)
            .map_or(&[][..], Vec::as_slice);
        for key in keys {
            let rep = &key.2;
            if !(replicate.is_empty() || rep.is_empty() || rep == replicate) {
                continue;
            }
            let u = &self.units[key];
            match u.source {
                Some(s) => {
                    sources.insert(s.name());
                }
                None => missing.push(&u.reason),
            }
        }
        let mut notes = Vec::new();
        missing.dedup();
        if !missing.is_empty() {
            let more = if missing.len() > 3 {
                format!(" (and {} more)", missing.len() - 3)
            } else {
                String::new()
            };
            let shown: Vec<&str> = missing.iter().take(3).copied().collect();
            notes.push(format!("no GR for {}{more}", shown.join("; ")));
        }
        // The line's entries only: keys sort by cell line first.
        let from = (cell_line.to_string(), String::new(), String::new());
        let dropped: usize = self
            .not_positive
            .range(from..)
            .take_while(|((l, _, _), _)| l == cell_line)
            .filter(|((_, r, d), _)| d == drug && (replicate.is_empty() || r == replicate))
            .map(|(_, n)| n)
            .sum();
        if dropped > 0 {
            notes.push(format!(
                "{dropped} well(s) without a GR value: signal not above the blank (log2 of a count ≤ 0)"
            ));
        }
        (
            sources.into_iter().collect::<Vec<_>>().join("+"),
            notes.join("; "),
        )
    }
}

/// The fit configuration of GR curves from the assay's fit settings: `ll3` (GR is 1 without
/// drug), free GRinf in [−1, 1], everything else (hill bounds, ec50 margin, flat test, CI
/// level, robust loss) as for viability.
pub(crate) fn gr_fit_config(fit: &FitSettings) -> crate::Result<FitConfig> {
    FitSettings {
        model: Model::Ll3,
        plateaus: Plateaus::Free,
        bottom_bounds: (-1.0, 1.0),
        ..fit.clone()
    }
    .check()
}

/// A fitted GR curve with the metrics GRmetrics reports from the data.
#[derive(Debug, Clone, PartialEq)]
pub struct GrCurve {
    /// The sigmoid fit: bottom is GRinf, ec50 GEC50, hill h_GR, ic50 GR50 with its qualifier.
    pub fit: CurveFit,
    /// Lowest mean GR at the two highest concentrations.
    pub grmax: f64,
    /// Area between 1 and the mean GR over log10 concentration, per decade of tested range.
    pub gr_aoc: f64,
    /// Standard error of log10 gr_aoc (from the replicate scatter at each concentration).
    pub log10_gr_aoc_se: f64,
    /// Degrees of freedom of that scatter (points minus distinct concentrations).
    pub(crate) gr_aoc_dof: usize,
}

/// Fits a GR curve and computes GRmax and GR_AOC.
pub(crate) fn fit_gr_curve(points: &[DosePoint], config: &FitConfig) -> GrCurve {
    let fit = fit_curve(points, config);
    let area = DoseMeans::of(points);
    let grmax = area.lowest_of_top_two();
    let (gr_aoc, se, dof) = area.area_over_one();
    GrCurve {
        fit,
        grmax,
        gr_aoc,
        log10_gr_aoc_se: if gr_aoc > 0.0 {
            se / (gr_aoc * std::f64::consts::LN_10)
        } else {
            f64::NAN
        },
        gr_aoc_dof: dof,
    }
}

/// Mean response per distinct concentration (> 0, finite points only), with counts and the
/// pooled within-concentration variance.
struct DoseMeans {
    /// (log10 concentration, mean, count), ascending.
    means: Vec<(f64, f64, usize)>,
    /// Pooled variance of points around their concentration's mean, and its dof.
    within: (f64, usize),
}

impl DoseMeans {
    fn of(points: &[DosePoint]) -> DoseMeans {
        let mut by: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for p in points {
            if p.concentration > 0.0 && p.concentration.is_finite() && p.response.is_finite() {
                by.entry(p.concentration.to_bits())
                    .or_default()
                    .push(p.response);
            }
        }
        let mut means: Vec<(f64, f64, usize)> = by
            .iter()
            .map(|(c, ys)| {
                (
                    f64::from_bits(*c).log10(),
                    ys.iter().sum::<f64>() / ys.len() as f64,
                    ys.len(),
                )
            })
            .collect();
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut ss, mut dof) = (0.0, 0usize);
        for ys in by.values() {
            let m = ys.iter().sum::<f64>() / ys.len() as f64;
            ss += ys.iter().map(|y| (y - m).powi(2)).sum::<f64>();
            dof += ys.len() - 1;
        }
        DoseMeans {
            means,
            within: (if dof > 0 { ss / dof as f64 } else { f64::NAN }, dof),
        }
    }

    fn lowest_of_top_two(&self) -> f64 {
        self.means
            .iter()
            .rev()
            .take(2)
            .map(|m| m.1)
            .fold(f64::NAN, f64::min)
    }

    /// (area over 1 per decade, its standard error, dof of that error).
    fn area_over_one(&self) -> (f64, f64, usize) {
        let m = &self.means;
        if m.len() < 2 {
            return (f64::NAN, f64::NAN, 0);
        }
        let width = m[m.len() - 1].0 - m[0].0;
        // Trapezoid weights of each concentration's mean.
        let mut weight = vec![0.0; m.len()];
        for i in 0..m.len() - 1 {
            let h = (m[i + 1].0 - m[i].0) / 2.0;
            weight[i] += h / width;
            weight[i + 1] += h / width;
        }
        let area: f64 = m.iter().zip(&weight).map(|(p, w)| w * (1.0 - p.1)).sum();
        let (variance, dof) = self.within;
        let se = (variance
            * m.iter()
                .zip(&weight)
                .map(|(p, w)| w * w / p.2 as f64)
                .sum::<f64>())
        .sqrt();
        (area, se, dof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gr_formulas_agree_on_exponential_growth() {
        // Untreated cells double 3 times (x0 = 100 → 800); a well that doubled once has a
        // third of the untreated growth rate: GR = 2^(1/3) − 1.
        let gr = gr_from_time_zero(200.0, 800.0, 100.0).unwrap();
        assert!((gr - (2f64.powf(1.0 / 3.0) - 1.0)).abs() < 1e-15);
        // Same from the doubling time: log2(200/800) = −2, 3 doublings.
        let g2 = gr_from_doublings(200.0, 800.0, 3.0).unwrap();
        assert!((gr - g2).abs() < 1e-15);
        // Cytostatic (x = x0): GR 0; half the cells lost: GR < 0; untreated: 1.
        assert_eq!(gr_from_time_zero(100.0, 800.0, 100.0), Some(0.0));
        assert!(gr_from_time_zero(50.0, 800.0, 100.0).unwrap() < 0.0);
        assert_eq!(gr_from_time_zero(800.0, 800.0, 100.0), Some(1.0));
        // Undefined, never clamped.
        assert_eq!(gr_from_time_zero(0.0, 800.0, 100.0), None);
        assert_eq!(gr_from_time_zero(10.0, 100.0, 100.0), None);
        assert_eq!(gr_from_doublings(-1.0, 800.0, 3.0), None);
    }

    #[test]
    fn area_and_gr_max_from_dose_means() {
        // GR 1 at the two lowest doses, 0 at the two highest, one decade apart, each dose
        // read twice (±0.1).
        let pts: Vec<DosePoint> = [(0.01, 1.0), (0.1, 1.0), (1.0, 0.0), (10.0, 0.0)]
            .iter()
            .flat_map(|&(c, y)| {
                [y - 0.1, y + 0.1].map(|r| DosePoint {
                    concentration: c,
                    response: r,
                })
            })
            .collect();
        let d = DoseMeans::of(&pts);
        assert!((d.lowest_of_top_two() - 0.0).abs() < 1e-12);
        let (area, se, dof) = d.area_over_one();
        // 1 − GR: 0, 0, 1, 1 → trapezoids 0, 0.5, 1 over width 3.
        assert!((area - 0.5).abs() < 1e-12, "{area}");
        assert_eq!(dof, 4);
        // Pooled variance 0.02; weights 1/6, 1/3, 1/3, 1/6, two points each.
        let want: f64 = (0.02 * (2.0 * (1.0 / 36.0) + 2.0 * (1.0 / 9.0)) / 2.0_f64).sqrt();
        assert!((se - want).abs() < 1e-12, "{se} {want}");
    }
}
