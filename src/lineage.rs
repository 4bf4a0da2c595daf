//! Collateral sensitivity in time and across lineages: does an edge persist while the
//! population keeps evolving, and does it repeat across independently evolved populations?
//!
//! Built from the shifts and the lines table's optional `lineage` and `evolution_time`
//! (a line without a `lineage` is its own lineage):
//!
//! - **Trajectories** (`trajectories.csv`): every shift of a line with an evolution time, as
//!   (lineage, drug, time) points, ordered by time within each lineage and drug.
//! - **Stability** (`stability.csv`, one row per lineage × drug): how many time points, when
//!   CS was first and last called, the fraction of time points called CS / CR / neutral, how
//!   often the call changed, the last call, the course of CS (below), and the least-squares
//!   slope of log2_fc over time with its 95 % interval (point estimates only: a censored value
//!   is a bound, not a point on the line).
//! - **Likelihood** (`likelihood.csv`, one row per selected_with × drug × evolution time): of
//!   the lineages selected with a drug, how many became CS / CR / neither, the fractions CS and
//!   CR among those with a call, with Wilson 95 % intervals (Nichol et al. 2019 report CS after
//!   cefotaxime in some of 60 replicate populations and not in others), and the median
//!   log2_fc. The network's `cs_likelihood` is the same number (see [`network_shifts`]).
//!
//! The course of CS in one lineage and drug, read from its determined calls in time order
//! (undetermined time points skipped): `never` (no CS), `persistent` (CS at every time point),
//! `emerging` (not CS at first, then CS at every later time point), `fading` (CS at some time,
//! not at the last), `intermittent` (CS at the last time point but lost in between).

use std::collections::BTreeMap;

use crate::lines::{CellLine, LinesTable};
use crate::shift::{Call, Shift};
use crate::stats::{median, slope_with_ci, wilson};

/// Confidence level of the intervals of this module.
const LEVEL: f64 = 0.95;

/// One point of a trajectory: a shift of a line sampled at an evolution time.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPoint<'a> {
    /// The lineage the line was sampled from (`lineage rep r` for a replicate reported on
    /// its own, which evolved on its own).
    pub lineage: String,
    /// When.
    pub evolution_time: f64,
    /// The shift of the line at that time.
    pub shift: &'a Shift,
}

/// Columns of `trajectories.csv`.
pub(crate) const TRAJECTORY_COLUMNS: [&str; 12] = [
    "lineage",
    "selected_with",
    "drug",
    "evolution_time",
    "resistant_line",
    "parental_line",
    "log2_fc",
    "log2_fc_qualifier",
    "ci_low",
    "ci_high",
    "q_value",
    "call",
];

/// The lines table by name.
fn by_name(lines: &LinesTable) -> BTreeMap<&str, &CellLine> {
    lines.lines.iter().map(|l| (l.name.as_str(), l)).collect()
}

/// The lineage and time of a shift's resistant line (its replicate, in per-replicate mode, is
/// a sample of its own: `line rep r`).
fn sample_of<'a>(s: &'a Shift, lines: &BTreeMap<&str, &'a CellLine>) -> (String, Option<f64>) {
    let line = lines.get(s.resistant_line.as_str());
    let lineage = line.map_or(s.resistant_line.as_str(), |l| l.lineage.as_str());
    let lineage = if s.replicate.is_empty() {
        lineage.to_string()
    } else {
        format!("{lineage} rep {}", s.replicate)
    };
    (lineage, line.and_then(|l| l.evolution_time))
}

/// When a shift's resistant line was sampled (without building its lineage name).
fn time_of(s: &Shift, lines: &BTreeMap<&str, &CellLine>) -> Option<f64> {
    lines
        .get(s.resistant_line.as_str())
        .and_then(|l| l.evolution_time)
}

/// Every shift of a line with an evolution time, ordered by lineage (as first listed in the
/// lines table), drug and time. In per-replicate mode a replicate of a line (an isolate) is a
/// lineage sample of its own, `lineage rep r`, as in [`likelihood`].
pub fn trajectories<'a>(shifts: &'a [Shift], lines: &'a LinesTable) -> Vec<TrajectoryPoint<'a>> {
    let mut rank: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &lines.lines {
        let next = rank.len();
        rank.entry(l.lineage.as_str()).or_insert(next);
    }
    let names = by_name(lines);
    let mut points: Vec<(usize, TrajectoryPoint<'a>)> = shifts
        .iter()
        .filter_map(|s| {
            let line = names.get(s.resistant_line.as_str())?;
            let (lineage, time) = sample_of(s, &names);
            Some((
                rank[line.lineage.as_str()],
                TrajectoryPoint {
                    lineage,
                    evolution_time: time?,
                    shift: s,
                },
            ))
        })
        .collect();
    points.sort_by(|(ra, a), (rb, b)| {
        (ra, &a.lineage, a.shift.drug.as_str())
            .cmp(&(rb, &b.lineage, b.shift.drug.as_str()))
            .then(a.evolution_time.total_cmp(&b.evolution_time))
    });
    points.into_iter().map(|(_, p)| p).collect()
}

/// How CS went in one lineage and drug over time (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Course {
    /// Never called CS.
    Never,
    /// CS at every determined time point.
    Persistent,
    /// Not CS at first, then CS at every later determined time point.
    Emerging,
    /// CS at some time, not at the last determined time point.
    Fading,
    /// CS at the last determined time point, but lost in between.
    Intermittent,
}

impl Course {
    /// Name written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Course::Never => "never",
            Course::Persistent => "persistent",
            Course::Emerging => "emerging",
            Course::Fading => "fading",
            Course::Intermittent => "intermittent",
        }
    }

    /// The course of a sequence of determined calls in time order; `None` when empty.
    pub fn of(calls: &[Call]) -> Option<Course> {
        let last = *calls.last()?;
        let cs = |c: &Call| *c == Call::CollateralSensitive;
        let Some(first_cs) = calls.iter().position(cs) else {
            return Some(Course::Never);
        };
        Some(if last != Call::CollateralSensitive {
            Course::Fading
        } else if calls[first_cs..].iter().all(cs) {
            if first_cs == 0 {
                Course::Persistent
            } else {
                Course::Emerging
            }
        } else {
            Course::Intermittent
        })
    }
}

/// One row of `stability.csv`: one lineage and drug over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Stability {
    /// The lineage.
    pub lineage: String,
    /// The drug it was selected with (at its last time point).
    pub selected_with: String,
    /// The drug tested.
    pub drug: String,
    /// Time points.
    pub n_times: usize,
    /// First and last evolution time.
    pub(crate) first_time: f64,
    /// Last evolution time.
    pub(crate) last_time: f64,
    /// Time points called CS, CR, neutral, undetermined.
    pub(crate) n_calls: [usize; 4],
    /// First time called CS (NaN when never).
    pub(crate) first_cs_time: f64,
    /// Last time called CS (NaN when never).
    pub(crate) last_cs_time: f64,
    /// Changes between consecutive determined calls.
    pub(crate) call_changes: usize,
    /// The call at the last time point.
    pub(crate) last_call: Call,
    /// The course of CS; `None` when no time point has a determined call.
    pub course: Option<Course>,
    /// Points (with a point estimate of log2_fc) behind the slope.
    pub(crate) slope_points: usize,
    /// Slope of log2_fc per unit of evolution time, and its 95 % interval (NaN when fewer
    /// than two points, the interval NaN with fewer than three).
    pub slope: f64,
    /// Lower end of the slope's interval.
    pub(crate) slope_ci_low: f64,
    /// Upper end of the slope's interval.
    pub(crate) slope_ci_high: f64,
}

/// Columns of `stability.csv`.
pub(crate) const STABILITY_COLUMNS: [&str; 22] = [
    "lineage",
    "selected_with",
    "drug",
    "n_times",
    "first_time",
    "last_time",
    "n_cs",
    "n_cr",
    "n_neutral",
    "n_undetermined",
    "fraction_cs",
    "fraction_cr",
    "fraction_neutral",
    "first_cs_time",
    "last_cs_time",
    "call_changes",
    "last_call",
    "course",
    "slope_points",
    "slope",
    "slope_ci_low",
    "slope_ci_high",
];

/// Index of a call in `[cs, cr, neutral, undetermined]`.
fn slot(c: Call) -> usize {
    match c {
        Call::CollateralSensitive => 0,
        Call::CrossResistant => 1,
        Call::Neutral => 2,
        Call::Undetermined => 3,
    }
}

/// One row per lineage and drug of `points` (as [`trajectories`] orders them).
pub fn stability(points: &[TrajectoryPoint]) -> Vec<Stability> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < points.len() {
        let key = (
            points[start].lineage.as_str(),
            points[start].shift.drug.as_str(),
        );
        let end = start
            + points[start..]
                .iter()
                .take_while(|p| (p.lineage.as_str(), p.shift.drug.as_str()) == key)
                .count();
        out.push(stability_of(&points[start..end]));
        start = end;
    }
    out
}

fn stability_of(points: &[TrajectoryPoint]) -> Stability {
    let first = &points[0];
    let last = &points[points.len() - 1];
    let mut n_calls = [0usize; 4];
    for p in points {
        n_calls[slot(p.shift.call)] += 1;
    }
    let cs_times: Vec<f64> = points
        .iter()
        .filter(|p| p.shift.call == Call::CollateralSensitive)
        .map(|p| p.evolution_time)
        .collect();
    let determined: Vec<Call> = points
        .iter()
        .map(|p| p.shift.call)
        .filter(|c| *c != Call::Undetermined)
        .collect();
    let call_changes = determined.windows(2).filter(|w| w[0] != w[1]).count();
    let exact: Vec<&TrajectoryPoint> = points
        .iter()
        .filter(|p| {
            p.shift.log2_fc.is_finite()
                && p.shift.log2_fc_qualifier == Some(crate::shift::Bound::Equal)
        })
        .collect();
    let x: Vec<f64> = exact.iter().map(|p| p.evolution_time).collect();
    let y: Vec<f64> = exact.iter().map(|p| p.shift.log2_fc).collect();
    let fit = slope_with_ci(&x, &y, LEVEL);
    Stability {
        lineage: first.lineage.clone(),
        selected_with: last.shift.selected_with.clone(),
        drug: first.shift.drug.clone(),
        n_times: points.len(),
        first_time: first.evolution_time,
        last_time: last.evolution_time,
        n_calls,
        first_cs_time: cs_times.first().copied().unwrap_or(f64::NAN),
        last_cs_time: cs_times.last().copied().unwrap_or(f64::NAN),
        call_changes,
        last_call: last.shift.call,
        course: Course::of(&determined),
        slope_points: exact.len(),
        slope: fit.map_or(f64::NAN, |f| f.slope),
        slope_ci_low: fit.map_or(f64::NAN, |f| f.ci_low),
        slope_ci_high: fit.map_or(f64::NAN, |f| f.ci_high),
    }
}

/// One row of `likelihood.csv`: the lineages selected with one drug, tested with another, at
/// one evolution time.
#[derive(Debug, Clone, PartialEq)]
pub struct Likelihood {
    /// Drug the lineages were selected with.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// Evolution time (NaN for lines without one).
    pub evolution_time: f64,
    /// Lineages (samples: a replicate in per-replicate mode counts as one).
    pub n_lineages: usize,
    /// Lineages called CS, CR, neutral, undetermined.
    pub(crate) n_calls: [usize; 4],
    /// CS likelihood: lineages called CS / lineages with a call (NaN when none has one).
    pub cs_likelihood: f64,
    /// Its Wilson 95 % interval.
    pub(crate) cs_ci: (f64, f64),
    /// CR likelihood: lineages called CR / lineages with a call.
    pub(crate) cr_likelihood: f64,
    /// Its Wilson 95 % interval.
    pub(crate) cr_ci: (f64, f64),
    /// Median log2_fc over the lineages with a value (a bound counts as its value).
    pub(crate) median_log2_fc: f64,
}

/// Columns of `likelihood.csv`.
pub(crate) const LIKELIHOOD_COLUMNS: [&str; 15] = [
    "selected_with",
    "drug",
    "evolution_time",
    "n_lineages",
    "n_cs",
    "n_cr",
    "n_neutral",
    "n_undetermined",
    "cs_likelihood",
    "cs_ci_low",
    "cs_ci_high",
    "cr_likelihood",
    "cr_ci_low",
    "cr_ci_high",
    "median_log2_fc",
];

/// The likelihood of CS and CR per (selected_with, drug, evolution time) over the shifts of
/// lines with a selecting drug, in order of drugs' names and times (lines without an
/// evolution time first).
pub fn likelihood(shifts: &[Shift], lines: &LinesTable) -> Vec<Likelihood> {
    let names = by_name(lines);
    type Key<'a> = (&'a str, &'a str, Option<u64>);
    let mut groups: BTreeMap<Key, (Option<f64>, Vec<&Shift>)> = BTreeMap::new();
    for s in shifts.iter().filter(|s| !s.selected_with.is_empty()) {
        let time = time_of(s, &names);
        // Times order by value: the bits of a non-negative time sort as the time does, and a
        // negative time (before withdrawal) is mapped below every non-negative one.
        let order = time.map(time_order);
        groups
            .entry((s.selected_with.as_str(), s.drug.as_str(), order))
            .or_insert((time, Vec::new()))
            .1
            .push(s);
    }
    groups
        .into_values()
        .map(|(time, rows)| {
            let mut n_calls = [0usize; 4];
            for r in &rows {
                n_calls[slot(r.call)] += 1;
            }
            let called = n_calls[0] + n_calls[1] + n_calls[2];
            let share = |k: usize| {
                if called == 0 {
                    f64::NAN
                } else {
                    n_calls[k] as f64 / called as f64
                }
            };
            let interval =
                |k: usize| wilson(n_calls[k], called, LEVEL).unwrap_or((f64::NAN, f64::NAN));
            let values: Vec<f64> = rows
                .iter()
                .map(|r| r.log2_fc)
                .filter(|x| x.is_finite())
                .collect();
            Likelihood {
                selected_with: rows[0].selected_with.clone(),
                drug: rows[0].drug.clone(),
                evolution_time: time.unwrap_or(f64::NAN),
                n_lineages: rows.len(),
                n_calls,
                cs_likelihood: share(0),
                cs_ci: interval(0),
                cr_likelihood: share(1),
                cr_ci: interval(1),
                median_log2_fc: median(&values).unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// A key that sorts finite times in numeric order.
fn time_order(t: f64) -> u64 {
    let bits = t.to_bits();
    if t.is_sign_negative() {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The shifts the drug network is drawn from: all of them, or, where lines were sampled in
/// time, those at the latest evolution time of each selecting drug (the state the evolution
/// reached; every earlier time is in `trajectories.csv` and `likelihood.csv`). Lines without
/// an evolution time stay in only when no line selected with the same drug has one. So the
/// network's `cs_likelihood` of an edge is `likelihood.csv`'s row of that drug pair at that
/// time.
pub fn network_shifts<'a>(
    shifts: &'a [Shift],
    lines: &LinesTable,
) -> std::borrow::Cow<'a, [Shift]> {
    // Without times every shift is drawn: the shifts themselves, not a copy of 100,000 rows.
    if !lines.lines.iter().any(|l| l.evolution_time.is_some()) {
        return shifts.into();
    }
    let names = by_name(lines);
    let mut latest: BTreeMap<&str, f64> = BTreeMap::new();
    for s in shifts {
        if let Some(t) = time_of(s, &names) {
            let e = latest.entry(s.selected_with.as_str()).or_insert(t);
            if t > *e {
                *e = t;
            }
        }
    }
    shifts
        .iter()
        .filter(
            |s| match (latest.get(s.selected_with.as_str()), time_of(s, &names)) {
                (None, _) => true,
                (Some(t), Some(u)) => *t == u,
                (Some(_), None) => false,
            },
        )
        .cloned()
        .collect::<Vec<_>>()
        .into()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::shift::{Bound, Metric};
    use crate::table::Table;
    use std::path::Path;

    /// A lines table from its text (for this module's and the planner's tests).
    pub(crate) fn lines(text: &str) -> LinesTable {
        LinesTable::from_table(&mut Table::from_bytes(text.as_bytes(), Path::new("l.csv")).unwrap())
            .unwrap()
    }

    /// A pooled shift of `line` (selected with `sel`, parental `P`) for `drug`.
    pub(crate) fn shift(line: &str, sel: &str, drug: &str, fc: f64, call: Call) -> Shift {
        Shift {
            resistant_line: line.into(),
            replicate: String::new(),
            parental_line: "P".into(),
            drug: drug.into(),
            selected_with: sel.into(),
            metric: Metric::Ic50,
            log2_fc: fc,
            log2_fc_qualifier: fc.is_finite().then_some(Bound::Equal),
            ci_low: fc - 0.5,
            ci_high: fc + 0.5,
            p_value: 0.001,
            q_value: 0.002,
            call,
            value_resistant: 1.0,
            qualifier_resistant: Some(Bound::Equal),
            value_parental: 1.0,
            qualifier_parental: Some(Bound::Equal),
            reason: String::new(),
            ec50_f_test_p: f64::NAN,
            evidence: Vec::new(),
        }
    }

    use Call::{CollateralSensitive as CS, CrossResistant as CR, Neutral as N, Undetermined as U};

    #[test]
    fn courses_follow_the_determined_calls() {
        assert_eq!(Course::of(&[]), None);
        assert_eq!(Course::of(&[N, CR, N]), Some(Course::Never));
        assert_eq!(Course::of(&[CS, CS, CS]), Some(Course::Persistent));
        assert_eq!(Course::of(&[N, CS, CS]), Some(Course::Emerging));
        assert_eq!(Course::of(&[CS, CS, N]), Some(Course::Fading));
        assert_eq!(Course::of(&[N, CS, CR]), Some(Course::Fading));
        assert_eq!(Course::of(&[CS, N, CS]), Some(Course::Intermittent));
        assert_eq!(Course::of(&[N, CS, N, CS]), Some(Course::Intermittent));
    }

    #[test]
    fn trajectories_stability_and_likelihood_of_two_lineages() {
        let t = lines(
            "cell_line,parental_line,selected_with,lineage,evolution_time\n\
             P,,,,\n\
             A3,P,x,A,3\nA1,P,x,A,1\nA2,P,x,A,2\n\
             B1,P,x,B,1\nB2,P,x,B,2\nB3,P,x,B,3\n",
        );
        let shifts = vec![
            shift("A3", "x", "d", -2.0, CS),
            shift("A1", "x", "d", 0.0, N),
            shift("A2", "x", "d", -1.5, CS),
            shift("B1", "x", "d", -2.5, CS),
            shift("B2", "x", "d", f64::NAN, U),
            shift("B3", "x", "d", -0.2, N),
        ];
        let points = trajectories(&shifts, &t);
        let order: Vec<&str> = points
            .iter()
            .map(|p| p.shift.resistant_line.as_str())
            .collect();
        assert_eq!(order, ["A1", "A2", "A3", "B1", "B2", "B3"]);
        let st = stability(&points);
        assert_eq!(st.len(), 2);
        let a = &st[0];
        assert_eq!((a.n_times, a.n_calls, a.call_changes), (3, [2, 0, 1, 0], 1));
        assert_eq!((a.first_cs_time, a.last_cs_time), (2.0, 3.0));
        assert_eq!(a.course, Some(Course::Emerging));
        assert_eq!(a.last_call, CS);
        // log2_fc 0, -1.5, -2 at times 1, 2, 3: slope -1.
        assert!((a.slope + 1.0).abs() < 1e-12, "{}", a.slope);
        assert!(a.slope_ci_low < -1.0 && a.slope_ci_high > -1.0);
        let b = &st[1];
        assert_eq!(b.course, Some(Course::Fading));
        assert_eq!((b.slope_points, b.call_changes, b.last_call), (2, 1, N));
        assert!(b.slope_ci_low.is_nan());

        let lk = likelihood(&shifts, &t);
        let times: Vec<f64> = lk.iter().map(|l| l.evolution_time).collect();
        assert_eq!(times, [1.0, 2.0, 3.0]);
        // Time 1: A neutral, B CS → 1 of 2; time 2: A CS, B undetermined → 1 of 1.
        assert_eq!((lk[0].n_lineages, lk[0].cs_likelihood), (2, 0.5));
        assert_eq!((lk[1].n_calls, lk[1].cs_likelihood), ([1, 0, 0, 1], 1.0));
        let (lo, hi) = lk[0].cs_ci;
        assert!(lo > 0.0 && lo < 0.5 && hi > 0.5 && hi < 1.0);
        assert_eq!(lk[0].median_log2_fc, -1.25);

        // The network sees the latest time only, and its likelihood is the time-3 row.
        let net = network_shifts(&shifts, &t);
        let names: Vec<&str> = net.iter().map(|s| s.resistant_line.as_str()).collect();
        assert_eq!(names, ["A3", "B3"]);
        let edge = &crate::network::edges(&net)[0];
        assert_eq!(edge.cs_likelihood, lk[2].cs_likelihood);
    }

    #[test]
    fn without_times_everything_is_one_snapshot() {
        let t = lines("cell_line,parental_line,selected_with\nP,,\nR1,P,x\nR2,P,x\nR3,P,y\n");
        let shifts = vec![
            shift("R1", "x", "d", -2.0, CS),
            shift("R2", "x", "d", 0.1, N),
            shift("R3", "y", "d", 2.0, CR),
        ];
        assert!(trajectories(&shifts, &t).is_empty());
        assert_eq!(network_shifts(&shifts, &t).len(), 3);
        let lk = likelihood(&shifts, &t);
        assert_eq!(lk.len(), 2);
        assert!(lk[0].evolution_time.is_nan());
        assert_eq!(
            (lk[0].selected_with.as_str(), lk[0].cs_likelihood),
            ("x", 0.5)
        );
        let edges = crate::network::edges(&shifts);
        assert_eq!(edges[0].cs_likelihood, lk[0].cs_likelihood);
        assert_eq!(lk[1].cr_likelihood, 1.0);
    }

    #[test]
    fn times_sort_by_value_including_negative_ones() {
        let mut t = vec![3.0, -1.0, 0.5, -10.0, 0.0, 20.0];
        t.sort_by_key(|x| time_order(*x));
        assert_eq!(t, [-10.0, -1.0, 0.0, 0.5, 3.0, 20.0]);
    }
}
