//! DIP rates (drug-induced proliferation rates; Harris et al. 2016, Nat Methods 13:497) and
//! their dose–response, as thunor computes them (Lubbock et al. 2021).
//!
//! A well read at several times has a **DIP rate**: the least-squares slope of log2 of its
//! background-subtracted signal against hours, in doublings per hour. Right after treatment a
//! population still grows as if untreated (the drug needs time to act), so the slope is taken
//! after a delay:
//!
//! - default (`DipDelay::Tyson1`, thunor's default): every start read from the first to the
//!   third-to-last is tried (each fit keeps at least 3 reads) and the one with the highest
//!   score adj. R² · (1 − RMSE)² · (n − 3)^0.25 wins (thunor's `tyson1` selector, first start
//!   on a tie). Untreated (vehicle) wells use every read, as in thunor.
//! - `[growth] dip_delay_h = d` (`DipDelay::Fixed`): every well uses its reads at t ≥ d.
//!
//! Two reads give the two-point slope. Reads whose background-subtracted signal is not
//! positive (no log) are left out of the well's fit and counted. The background is the
//! endpoint blank level of the well's unit (plate, cell line, replicate; as for normalization).
//!
//! Each well's rate is also given **relative** to its unit's untreated rate (the mean DIP rate
//! of the unit's vehicle wells): the fraction of its own untreated growth rate a line keeps.
//! A drug's dose–response is fitted to the relative rates of its sample wells with the 4PL
//! (`ll4`: E0 and Emax free, E0 in [0, 2], Emax in [−3, 1.5] of the untreated rate; the assay's
//! hill bounds, ec50 margin, flat test and CI level), and reported in absolute units too: E0 and
//! Emax in doublings per hour are the relative values times the mean untreated rate of the
//! curve's wells. Wells of a unit that failed plate QC (with `exclude_failed`) are left out, as
//! for the viability fits.

use std::collections::{BTreeMap, BTreeSet};

use crate::fit::{
    fit_curve, CurveFit, DosePoint, FitConfig, FitSettings, FitStatus, Model, Plateaus,
};
use crate::normalize::PlateControls;
use crate::plate::WellPos;
use crate::qc::{Normalized, Verdict};
use crate::wells::{Role, WellTable};

/// How the start of each treated well's DIP fit is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DipDelay {
    /// thunor's default: the start read maximising adj. R² · (1 − RMSE)² · (n − 3)^0.25.
    Tyson1,
    /// Reads at or after this many hours since treatment.
    Fixed(f64),
}

impl DipDelay {
    /// The delay of `[growth] dip_delay_h` (Tyson1 when unset).
    pub(crate) fn from_setting(hours: Option<f64>) -> DipDelay {
        hours.map_or(DipDelay::Tyson1, DipDelay::Fixed)
    }
}

/// A straight line through (x, y) as scipy's `linregress` gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub(crate) intercept: f64,
    /// Pearson correlation (0 when x or y is constant, as in scipy).
    pub r: f64,
    /// Standard error of the slope (0 with two points, as in scipy).
    pub(crate) slope_se: f64,
}

/// Least-squares line through the points; `None` with fewer than two points or one distinct x.
pub(crate) fn line_fit(x: &[f64], y: &[f64]) -> Option<Line> {
    let n = x.len();
    if n < 2 || n != y.len() {
        return None;
    }
    let nf = n as f64;
    let mx = x.iter().sum::<f64>() / nf;
    let my = y.iter().sum::<f64>() / nf;
    let sxx = x.iter().map(|v| (v - mx).powi(2)).sum::<f64>() / nf;
    let syy = y.iter().map(|v| (v - my).powi(2)).sum::<f64>() / nf;
    let sxy = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / nf;
    if !(sxx > 0.0) {
        return None;
    }
    let r = if syy == 0.0 {
        0.0
    } else {
        (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = sxy / sxx;
    let slope_se = if n == 2 {
        0.0
    } else {
        ((1.0 - r * r) * syy / sxx / (nf - 2.0)).sqrt()
    };
    Some(Line {
        slope,
        intercept: my - slope * mx,
        r,
        slope_se,
    })
}

/// thunor's `tyson1` score of a straight-line fit to `n` points.
fn tyson1(line: &Line, x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let adj_r2 = 1.0 - (1.0 - line.r * line.r) * ((n - 1.0) / (n - 2.0));
    let sse: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (line.intercept + line.slope * a - b).powi(2))
        .sum();
    let rmse = (sse / n).sqrt();
    adj_r2 * (1.0 - rmse).powi(2) * (n - 3.0).powf(0.25)
}

/// The DIP rate of one time course: (line, index of the first read used). `times` ascending,
/// `log2_counts` the matching log2 counts; `untreated` wells use every read.
pub fn dip_rate(
    times: &[f64],
    log2_counts: &[f64],
    untreated: bool,
    delay: DipDelay,
) -> Option<(Line, usize)> {
    let n = times.len();
    match delay {
        DipDelay::Fixed(d) if !untreated => {
            let start = times.partition_point(|&t| t < d);
            line_fit(&times[start..], &log2_counts[start..]).map(|l| (l, start))
        }
        _ if untreated || n <= 2 => line_fit(times, log2_counts).map(|l| (l, 0)),
        _ => {
            let mut best: Option<(Line, usize, f64)> = None;
            for start in 0..n - 2 {
                let (x, y) = (&times[start..], &log2_counts[start..]);
                let Some(line) = line_fit(x, y) else { continue };
                let score = tyson1(&line, x, y);
                // Strictly greater: the earliest start wins a tie; NaN never wins.
                if best.as_ref().is_none_or(|b| score > b.2) && score.is_finite() {
                    best = Some((line, start, score));
                }
            }
            best.map(|(l, s, _)| (l, s))
        }
    }
}

/// The DIP rate of one well.
#[derive(Debug, Clone, PartialEq)]
pub struct DipWell {
    /// Plate.
    pub plate: String,
    /// Position.
    pub position: WellPos,
    /// Cell line.
    pub cell_line: String,
    /// Drug (empty for vehicle wells).
    pub drug: String,
    /// Concentration (samples).
    pub concentration: Option<f64>,
    /// Role (vehicle or sample).
    pub role: Role,
    /// Replicate label.
    pub replicate: String,
    /// Reads of the well with a time.
    pub(crate) n_reads: usize,
    /// Earliest and latest read time, hours.
    pub(crate) first_time: f64,
    /// Latest read time, hours.
    pub(crate) last_time: f64,
    /// Time of the first read in the fit, hours.
    pub start_time: f64,
    /// Reads in the fit.
    pub(crate) n_fitted: usize,
    /// Slope of log2 signal against hours (doublings per hour).
    pub rate: f64,
    /// Its standard error (0 for a two-point slope).
    pub(crate) rate_se: f64,
    /// Intercept of the fit (log2 signal at time 0).
    pub(crate) intercept: f64,
    /// Mean DIP rate of the unit's vehicle wells.
    pub control_rate: f64,
    /// rate / control_rate.
    pub relative: f64,
    /// Left out of the dose–response fits.
    pub excluded: bool,
    /// Why (excluded) or what to know (reads left out); empty otherwise.
    pub reason: String,
}

/// DIP rates of every vehicle and sample well read at two or more times, in (plate, well)
/// order. `normalized` is the normalization of the endpoint reads (for background levels and QC
/// verdicts); `exclude_failed` is `[qc] exclude_failed`.
pub fn dip_rates(
    table: &WellTable,
    endpoint: &WellTable,
    normalized: &Normalized,
    exclude_failed: bool,
    delay: DipDelay,
) -> Vec<DipWell> {
    let rates = Rates {
        table,
        controls: PlateControls::gather(endpoint),
        normalized,
        failed: failed_units(normalized, exclude_failed),
        delay,
    };
    let mut out: Vec<DipWell> = well_courses(table)
        .into_iter()
        .filter(|(_, (_, reads))| reads.len() >= 2)
        .map(|((plate, position), (first, reads))| rates.well(plate, position, first, reads))
        .collect();
    relative_to_untreated(&mut out);
    out
}

/// The reads of a well: the index of its first read (the well's identity), and the time and
/// signal of every read.
type Course = (usize, Vec<(f64, Option<f64>)>);

/// The reads in time of every vehicle and sample well with a cell line, by plate and well.
fn well_courses(table: &WellTable) -> BTreeMap<(&str, WellPos), Course> {
    let mut courses: BTreeMap<(&str, WellPos), Course> = BTreeMap::new();
    for (i, w) in table.wells.iter().enumerate() {
        if !matches!(w.role, Role::Vehicle | Role::Sample) || w.cell_line.is_empty() {
            continue;
        }
        let Some(t) = w.time else { continue };
        courses
            .entry((w.plate.as_str(), w.position))
            .or_insert((i, Vec::new()))
            .1
            .push((t, w.signal.value()));
    }
    courses
}

/// The units (plate, cell line, replicate) whose plate QC failed, with the reason, when
/// failed plates are excluded.
fn failed_units(
    normalized: &Normalized,
    exclude_failed: bool,
) -> BTreeMap<(&str, &str, &str), &str> {
    normalized
        .qc
        .iter()
        .filter(|r| r.verdict == Verdict::Fail && exclude_failed)
        .filter_map(|r| {
            Some((
                (
                    r.plate.as_str(),
                    r.cell_line.as_deref()?,
                    r.replicate.as_str(),
                ),
                r.reason.as_str(),
            ))
        })
        .collect()
}

/// What a well's DIP rate needs besides its reads.
struct Rates<'a> {
    table: &'a WellTable,
    controls: BTreeMap<String, PlateControls>,
    normalized: &'a Normalized,
    failed: BTreeMap<(&'a str, &'a str, &'a str), &'a str>,
    delay: DipDelay,
}

impl Rates<'_> {
    /// One well's DIP rate: its reads above the blank in log2, the fitted line, and whether
    /// its unit's plate failed QC.
    fn well(
        &self,
        plate: &str,
        position: WellPos,
        first: usize,
        mut reads: Vec<(f64, Option<f64>)>,
    ) -> DipWell {
        let w = self.table.wells.get(first);
        reads.sort_by(|a, b| a.0.total_cmp(&b.0));
        let rep = self
            .controls
            .get(plate)
            .map_or("", |pc| pc.unit_replicate(w.cell_line, w.replicate));
        let unit = (plate.to_string(), w.cell_line.to_string(), rep.to_string());
        let mut d = DipWell {
            plate: plate.to_string(),
            position,
            cell_line: w.cell_line.to_string(),
            drug: w.drug.to_string(),
            concentration: w.concentration,
            role: w.role,
            replicate: w.replicate.to_string(),
            n_reads: reads.len(),
            first_time: reads[0].0,
            last_time: reads[reads.len() - 1].0,
            start_time: f64::NAN,
            n_fitted: 0,
            rate: f64::NAN,
            rate_se: f64::NAN,
            intercept: f64::NAN,
            control_rate: f64::NAN,
            relative: f64::NAN,
            excluded: true,
            reason: String::new(),
        };
        let mut notes = Vec::new();
        let Some(levels) = self.normalized.levels.get(&unit) else {
            d.reason = format!(
                "no endpoint control levels for `{}` on plate {plate}: the background is unknown",
                d.cell_line
            );
            return d;
        };
        let (times, logs) = log2_above_blank(&reads, levels.blank, &mut notes);
        fit_rate(&mut d, &times, &logs, self.delay, &mut notes);
        if let Some(reason) = self.failed.get(&(plate, unit.1.as_str(), unit.2.as_str())) {
            d.excluded = true;
            notes.insert(0, format!("plate QC failed: {reason}"));
        }
        d.reason = notes.join("; ");
        d
    }
}

/// The times and log2 signals above the blank of the reads that have one; the others counted
/// in `notes`.
fn log2_above_blank(
    reads: &[(f64, Option<f64>)],
    blank: f64,
    notes: &mut Vec<String>,
) -> (Vec<f64>, Vec<f64>) {
    let (mut times, mut logs) = (Vec::new(), Vec::new());
    let (mut not_numeric, mut not_positive) = (0, 0);
    for (t, s) in reads {
        match s.map(|s| s - blank) {
            None => not_numeric += 1,
            Some(x) if !(x > 0.0) => not_positive += 1,
            Some(x) => {
                times.push(*t);
                logs.push(x.log2());
            }
        }
    }
    if not_numeric > 0 {
        notes.push(format!("{not_numeric} read(s) not numeric"));
    }
    if not_positive > 0 {
        notes.push(format!(
            "{not_positive} read(s) not above the blank (no log2)"
        ));
    }
    (times, logs)
}

/// The well's DIP rate from its log2 reads, or the note of why it has none.
fn fit_rate(
    d: &mut DipWell,
    times: &[f64],
    logs: &[f64],
    delay: DipDelay,
    notes: &mut Vec<String>,
) {
    match dip_rate(times, logs, d.role == Role::Vehicle, delay) {
        Some((line, start)) => {
            d.rate = line.slope;
            d.rate_se = line.slope_se;
            d.intercept = line.intercept;
            d.start_time = times[start];
            d.n_fitted = times.len() - start;
            d.excluded = false;
        }
        None => notes.insert(
            0,
            format!(
                "no DIP rate: {} usable read(s) at distinct times{}",
                times.len(),
                match delay {
                    DipDelay::Fixed(h) => format!(" at or after {h} h"),
                    DipDelay::Tyson1 => String::new(),
                }
            ),
        ),
    }
}

/// Each well's rate relative to its unit's untreated rate: the mean over the unit's own
/// replicate's vehicle wells with a rate when they exist, else the line's on the plate.
fn relative_to_untreated(out: &mut [DipWell]) {
    let mut untreated: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    for d in out
        .iter()
        .filter(|d| d.role == Role::Vehicle && !d.excluded)
    {
        untreated
            .entry((d.plate.clone(), d.cell_line.clone(), d.replicate.clone()))
            .or_default()
            .push(d.rate);
    }
    for d in out {
        let own = untreated.get(&(d.plate.clone(), d.cell_line.clone(), d.replicate.clone()));
        let rates: Vec<f64> = match own {
            Some(v) if !d.replicate.is_empty() => v.clone(),
            _ => untreated
                .iter()
                .filter(|((p, l, _), _)| *p == d.plate && *l == d.cell_line)
                .flat_map(|(_, v)| v.iter().copied())
                .collect(),
        };
        if rates.is_empty() {
            if !d.excluded {
                d.excluded = d.role == Role::Sample;
                d.reason = join(&d.reason, "no vehicle well of the unit has a DIP rate");
            }
            continue;
        }
        d.control_rate = rates.iter().sum::<f64>() / rates.len() as f64;
        if d.control_rate > 0.0 {
            d.relative = d.rate / d.control_rate;
        } else if !d.excluded {
            d.excluded = d.role == Role::Sample;
            d.reason = join(
                &d.reason,
                &format!(
                    "the untreated wells did not grow (mean DIP rate {:.4}/h): no relative rate",
                    d.control_rate
                ),
            );
        }
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}; {b}")
    }
}

/// The fit configuration of DIP curves (relative rates) from the assay's fit settings: `ll4`
/// with free plateaus, E0 in [0, 2] and Emax in [−3, 1.5] of the untreated rate.
pub(crate) fn dip_fit_config(fit: &FitSettings) -> crate::Result<FitConfig> {
    FitSettings {
        model: Model::Ll4,
        plateaus: Plateaus::Free,
        top_bounds: (0.0, 2.0),
        bottom_bounds: (-3.0, 1.5),
        ..fit.clone()
    }
    .check()
}

/// The DIP-rate dose–response of one (cell line, drug).
#[derive(Debug, Clone, PartialEq)]
pub struct DipCurve {
    /// The fit of relative rates: top is E0/untreated, bottom Emax/untreated, ec50 the EC50.
    pub fit: CurveFit,
    /// Mean untreated rate over the curve's wells (doublings per hour).
    pub control_rate: f64,
    /// Sample wells fitted.
    pub(crate) n_wells: usize,
}

impl DipCurve {
    /// E0 in doublings per hour.
    pub(crate) fn e0(&self) -> f64 {
        self.fit.top * self.control_rate
    }

    /// Emax in doublings per hour.
    pub fn emax(&self) -> f64 {
        self.fit.bottom * self.control_rate
    }

    /// Emax relative to E0 (the fraction of the untreated rate left at the highest effect; < 0
    /// for a population that shrinks), only for an `ok` curve.
    pub fn emax_rel(&self) -> f64 {
        if self.fit.status == FitStatus::Ok && self.fit.top > 0.0 {
            self.fit.bottom / self.fit.top
        } else {
            f64::NAN
        }
    }

    /// Standard error of [`DipCurve::emax_rel`], from the fit's standard error of Emax with E0
    /// taken as known (E0 is pinned by the untreated wells' own normalization).
    pub(crate) fn emax_rel_se(&self) -> f64 {
        if self.fit.status == FitStatus::Ok && self.fit.top > 0.0 {
            self.fit.bottom_se / self.fit.top
        } else {
            f64::NAN
        }
    }
}

/// A curve's key: (cell line, replicate or empty when pooled, drug).
pub(crate) type CurveKey = (String, String, String);

/// The points of each DIP curve and the untreated rates of the units behind them.
pub(crate) type DipPoints = BTreeMap<CurveKey, (Vec<DosePoint>, Vec<f64>)>;

/// The sample points of each DIP curve: pooled per (cell line, drug), and per (cell line,
/// replicate, drug) for the lines in `per_replicate`. Keys are (cell line, replicate or empty,
/// drug); values the points and the untreated rates behind them.
pub(crate) fn dip_curve_points(wells: &[DipWell], per_replicate: &BTreeSet<&str>) -> DipPoints {
    let mut out = DipPoints::new();
    for d in wells {
        if d.excluded || d.role != Role::Sample || !d.relative.is_finite() {
            continue;
        }
        let Some(c) = d.concentration else { continue };
        let point = DosePoint {
            concentration: c,
            response: d.relative,
        };
        let mut add = |rep: &str| {
            let e = out
                .entry((d.cell_line.clone(), rep.to_string(), d.drug.clone()))
                .or_default();
            e.0.push(point);
            e.1.push(d.control_rate);
        };
        add("");
        if !d.replicate.is_empty() && per_replicate.contains(d.cell_line.as_str()) {
            add(&d.replicate);
        }
    }
    out
}

/// Fits one DIP curve.
pub(crate) fn fit_dip_curve(
    points: &[DosePoint],
    control_rates: &[f64],
    config: &FitConfig,
) -> DipCurve {
    DipCurve {
        fit: fit_curve(points, config),
        control_rate: control_rates.iter().sum::<f64>() / control_rates.len().max(1) as f64,
        n_wells: points.len(),
    }
}

/// Columns of `dip_rates.csv`.
pub(crate) const DIP_RATE_COLUMNS: [&str; 19] = [
    "plate",
    "well",
    "cell_line",
    "drug",
    "concentration",
    "role",
    "replicate",
    "n_reads",
    "first_time",
    "last_time",
    "start_time",
    "n_fitted",
    "dip_rate",
    "dip_rate_se",
    "dip_intercept",
    "control_rate",
    "dip_rate_rel",
    "excluded",
    "reason",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fit_matches_scipy_linregress() {
        // scipy.stats.linregress([0, 1, 2, 3], [1, 3, 2, 5]):
        // slope 1.1, intercept 1.1, rvalue 0.8315218406202999, stderr 0.5196152422706632
        let l = line_fit(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 5.0]).unwrap();
        assert!((l.slope - 1.1).abs() < 1e-12);
        assert!((l.intercept - 1.1).abs() < 1e-12);
        assert!((l.r - 0.831_521_840_620_299_9).abs() < 1e-12, "{}", l.r);
        assert!((l.slope_se - 0.519_615_242_270_663_2).abs() < 1e-12);
        assert_eq!(line_fit(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn a_delayed_response_is_fitted_after_the_delay() {
        // Growth at 1/24 doublings per hour for 24 h, then the drug halves the population
        // every 48 h: the rate after the delay is −1/48.
        let times: Vec<f64> = (0..13).map(|i| 8.0 * f64::from(i)).collect();
        let logs: Vec<f64> = times
            .iter()
            .map(|&t| {
                if t <= 24.0 {
                    t / 24.0
                } else {
                    1.0 - (t - 24.0) / 48.0
                }
            })
            .collect();
        let (line, start) = dip_rate(&times, &logs, false, DipDelay::Tyson1).unwrap();
        assert_eq!(times[start], 24.0);
        assert!((line.slope + 1.0 / 48.0).abs() < 1e-12, "{line:?}");
        let (line, start) = dip_rate(&times, &logs, false, DipDelay::Fixed(40.0)).unwrap();
        assert_eq!(times[start], 40.0);
        assert!((line.slope + 1.0 / 48.0).abs() < 1e-12);
        // Untreated wells use every read.
        let (_, start) = dip_rate(&times, &logs, true, DipDelay::Tyson1).unwrap();
        assert_eq!(start, 0);
    }
}
