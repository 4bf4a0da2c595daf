//! From a collateral-sensitivity map to a therapy sequence: which drug to give next when
//! resistance to the current one appears.
//!
//! **Model.** Treating with drug A until resistance leaves a population like the lineages that
//! were selected with A: its response to each other drug B is drawn from those lineages'
//! shifts (log2 fold change of B's IC50 — or the run's metric — and its call), at each
//! selecting drug's latest evolution time unless a time is chosen. A sequence A → B → C is
//! scored step by step (A → B from the lineages selected with A, B → C from those selected with
//! B), steps taken as independent draws:
//!
//! - `expected_log2_fc`: the mean over steps of the lineage-averaged log2 fold change of the
//!   next drug (lower: more collateral benefit);
//! - `worst_log2_fc`: the largest of those step means (the step with the least benefit);
//! - `p_no_cr`: the probability that no step meets a cross-resistant population, the product
//!   over steps of (1 − the share of lineages called CR);
//! - `p_all_cs`: the product over steps of the share called CS;
//! - `support`: the fewest lineages behind any step.
//!
//! A lineage counts in a step when it has a determined call and a log2 fold change for the next
//! drug (a censored value counts as its bound, as in the network). Each score has a 95 %
//! bootstrap interval: the lineages of every step are resampled with replacement, `bootstrap`
//! times, from a random stream seeded by the sequence's own text, so the numbers do not depend
//! on threads or on which other sequences are scored. Sequences are ranked by
//! `expected_log2_fc`, then `p_no_cr`. A step with no such lineage is never filled in: its
//! sequence is listed as not scorable, with the step that lacks data.
//!
//! **What was reported before.** A step A → B whose pair has reported cross-resistance
//! ([`crate::evidence`], carried by the shifts' `evidence`) is handled by `evidence`
//! ([`EvidenceUse`]): `flag` (the default) names the reports in the sequence's
//! `reported_cross_resistance` column and in `plan.md`; `avoid` leaves out every sequence with
//! such a step, and `plan.md` names the steps and reports that left sequences out; `ignore`
//! plans on the screen alone.

pub mod resistance_mdp;

use std::collections::{BTreeMap, BTreeSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::checked::{Check, Checked};
use crate::evidence::{reports_cross_resistance, RelationKind};
use crate::lines::LinesTable;
use crate::shift::{Call, Shift};
use crate::text::opt_nan as num;

/// Settings of the planner, as the assay's `[plan]` section or `collateral plan`'s flags
/// give them.
/// Checked once into a [`Checked`] value ([`Check::check`]) before planning.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PlanSettings {
    /// Drugs in a sequence (`A -> B -> C` has length 3), 2 to 6.
    pub length: usize,
    /// The first drug, when fixed.
    pub start: Option<String>,
    /// Score cycles: sequences that return to their first drug (`A -> B -> C -> A`).
    pub cycles: bool,
    /// The evolution time whose lineages are drawn from (default: each selecting drug's latest).
    pub time: Option<f64>,
    /// Scorable sequences listed in `plan.csv`, best first.
    pub top: usize,
    /// Bootstrap resamples of each listed sequence.
    pub bootstrap: usize,
    /// Seed of the bootstrap streams.
    pub seed: u64,
    /// What a step with reported cross-resistance does to its sequences.
    pub evidence: EvidenceUse,
}

/// What the planner does with a step whose drug pair has reported cross-resistance
/// (docs/evidence.md): the same words in `[plan]` and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidenceUse {
    /// List the sequence as the screen scores it, naming the reports beside it.
    #[default]
    Flag,
    /// Leave out every sequence with such a step.
    Avoid,
    /// Plan on the screen alone.
    Ignore,
}

crate::words::words!(EvidenceUse, "evidence option", {
    Flag => "flag",
    Avoid => "avoid",
    Ignore => "ignore",
});

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            length: 3,
            start: None,
            cycles: false,
            time: None,
            top: 50,
            bootstrap: 2000,
            seed: 1,
            evidence: EvidenceUse::Flag,
        }
    }
}

impl PlanSettings {
    /// Keys of the `[plan]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 8] = [
        "length",
        "start",
        "cycles",
        "time",
        "top",
        "bootstrap",
        "seed",
        "evidence",
    ];
}

impl Check for PlanSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(2..=6).contains(&self.length) {
            out.push((
                "length",
                format!(
                    "`plan.length = {}`: expected 2 to 6 drugs (`A -> B -> C` is 3)",
                    self.length
                ),
            ));
        }
        if self.top == 0 {
            out.push(("top", "`plan.top = 0`: list at least one sequence".into()));
        }
        if !(100..=100_000).contains(&self.bootstrap) {
            out.push((
                "bootstrap",
                format!(
                    "`plan.bootstrap = {}`: expected 100 to 100000 resamples",
                    self.bootstrap
                ),
            ));
        }
        if let Some(t) = self.time {
            if !t.is_finite() {
                out.push(("time", format!("`plan.time = {t}`: expected a number")));
            }
        }
        out
    }
}

/// One lineage's response to one drug, as a step draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Response {
    log2_fc: f64,
    call: Call,
}

/// The lineages of each selecting drug and their responses, at the chosen time.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    /// Per (from drug, to drug): the responses of the lineages selected with `from`.
    responses: BTreeMap<(String, String), Vec<Response>>,
    /// Lineages per selecting drug.
    lineages: BTreeMap<String, BTreeSet<String>>,
    /// Every drug seen (selecting or tested).
    drugs: BTreeSet<String>,
    /// The evolution time each selecting drug's lineages were taken at, when timed.
    times: BTreeMap<String, f64>,
    /// The metric compared (`ic50`, `mic`, …).
    metric: String,
    /// Per (from drug, to drug): the cross-resistance reported before, when some was.
    reported_cr: BTreeMap<(String, String), Vec<String>>,
}

impl Steps {
    /// The steps of a comparison: the pooled shifts of lines with a selecting drug, at `time`
    /// (or each selecting drug's latest evolution time, as the network shows them).
    pub fn new(shifts: &[Shift], lines: &LinesTable, time: Option<f64>) -> Steps {
        let by_name: BTreeMap<&str, &crate::lines::CellLine> =
            lines.lines.iter().map(|l| (l.name.as_str(), l)).collect();
        let chosen: Vec<Shift> = match time {
            None => crate::lineage::network_shifts(shifts, lines).into_owned(),
            Some(t) => shifts
                .iter()
                .filter(|s| {
                    by_name
                        .get(s.resistant_line.as_str())
                        .and_then(|l| l.evolution_time)
                        == Some(t)
                })
                .cloned()
                .collect(),
        };
        let mut steps = Steps {
            metric: shifts
                .first()
                .map_or("ic50".to_string(), |s| s.metric.name().to_string()),
            ..Steps::default()
        };
        for s in shifts {
            steps.drugs.insert(s.drug.clone());
            if !s.selected_with.is_empty() {
                steps.drugs.insert(s.selected_with.clone());
            }
        }
        for s in chosen
            .iter()
            .filter(|s| s.replicate.is_empty() && !s.selected_with.is_empty())
        {
            let line = by_name.get(s.resistant_line.as_str());
            let lineage = line.map_or(s.resistant_line.clone(), |l| l.lineage.clone());
            if let Some(t) = line.and_then(|l| l.evolution_time) {
                steps.times.insert(s.selected_with.clone(), t);
            }
            steps
                .lineages
                .entry(s.selected_with.clone())
                .or_default()
                .insert(lineage);
            if s.drug == s.selected_with {
                continue;
            }
            if reports_cross_resistance(&s.evidence) {
                let key = (s.selected_with.clone(), s.drug.clone());
                let refs = steps.reported_cr.entry(key).or_default();
                for r in s
                    .evidence
                    .iter()
                    .filter(|r| r.kind == RelationKind::CrossResistance)
                {
                    for reference in &r.references {
                        if !refs.contains(reference) {
                            refs.push(reference.clone());
                        }
                    }
                }
            }
            let entry = steps
                .responses
                .entry((s.selected_with.clone(), s.drug.clone()))
                .or_default();
            if s.call != Call::Undetermined && s.log2_fc.is_finite() {
                entry.push(Response {
                    log2_fc: s.log2_fc,
                    call: s.call,
                });
            }
        }
        steps
    }

    /// The references reporting cross-resistance for the step `from → to` (none: empty).
    pub fn reported_cross_resistance(&self, from: &str, to: &str) -> &[String] {
        self.reported_cr
            .get(&(from.to_string(), to.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Why the step `from → to` cannot be scored, if it cannot.
    fn gap(&self, from: &str, to: &str) -> Option<String> {
        if !self.lineages.contains_key(from) {
            return Some(format!("no lineage was selected with {from}"));
        }
        match self.responses.get(&(from.to_string(), to.to_string())) {
            Some(r) if !r.is_empty() => None,
            Some(_) => Some(format!(
                "no lineage selected with {from} has a determined response to {to}"
            )),
            None => Some(format!(
                "no lineage selected with {from} was tested with {to}"
            )),
        }
    }
}

/// The four scores of a sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Mean over steps of the lineage-averaged log2 fold change.
    pub expected_log2_fc: f64,
    /// The largest step mean.
    pub worst_log2_fc: f64,
    /// Probability that no step meets a cross-resistant population.
    pub p_no_cr: f64,
    /// Probability that every step meets a collaterally sensitive one.
    pub p_all_cs: f64,
}

impl Scores {
    fn of(steps: &[&[Response]]) -> Scores {
        let mut sum = 0.0;
        let mut worst = f64::NEG_INFINITY;
        let (mut no_cr, mut all_cs) = (1.0, 1.0);
        for r in steps {
            let n = r.len() as f64;
            let mean = r.iter().map(|x| x.log2_fc).sum::<f64>() / n;
            sum += mean;
            worst = worst.max(mean);
            let cr = r.iter().filter(|x| x.call == Call::CrossResistant).count() as f64;
            let cs = r
                .iter()
                .filter(|x| x.call == Call::CollateralSensitive)
                .count() as f64;
            no_cr *= 1.0 - cr / n;
            all_cs *= cs / n;
        }
        Scores {
            expected_log2_fc: sum / steps.len() as f64,
            worst_log2_fc: worst,
            p_no_cr: no_cr,
            p_all_cs: all_cs,
        }
    }

    fn get(&self, k: usize) -> f64 {
        [
            self.expected_log2_fc,
            self.worst_log2_fc,
            self.p_no_cr,
            self.p_all_cs,
        ][k]
    }
}

/// One sequence of `plan.csv`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sequence {
    /// Drugs in order (with `cycles`, the first again at the end).
    pub drugs: Vec<String>,
    /// Rank among the scorable sequences (1 = best); `None` when not scorable.
    pub rank: Option<usize>,
    /// The scores; `None` when not scorable.
    pub scores: Option<Scores>,
    /// 95 % bootstrap intervals of the four scores, in [`Scores`] order.
    pub intervals: [(f64, f64); 4],
    /// The fewest lineages behind any step (0 when not scorable).
    pub support: usize,
    /// Why it is not scorable (empty when it is).
    pub reason: String,
    /// Its steps with reported cross-resistance and the reports (`A -> B: Bon G, J Exp Clin
    /// Cancer Res 2020 [47]; ...`, steps joined by ` | `), with `evidence = flag`; else empty.
    pub reported_cross_resistance: String,
}

impl Sequence {
    /// `A -> B -> C`.
    pub fn text(&self) -> String {
        self.drugs.join(" -> ")
    }

    /// Drugs given (as `length` counts them: the return of a cycle is not a new drug).
    pub fn length(&self) -> usize {
        let n = self.drugs.len();
        if n > 1 && self.drugs[0] == self.drugs[n - 1] {
            n - 1
        } else {
            n
        }
    }
}

/// The planner's result.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The best `top` scorable sequences, ranked, then the sequences that are not scorable (at
    /// most [`MAX_UNSCORABLE_LISTED`]).
    pub sequences: Vec<Sequence>,
    /// Scorable sequences in all.
    pub scorable: usize,
    /// Sequences not scorable in all (listed or not).
    pub(crate) unscorable: usize,
    /// Selecting drugs and their lineage counts.
    pub lineages: BTreeMap<String, usize>,
    /// The evolution time each selecting drug's lineages were taken at (timed data).
    pub times: BTreeMap<String, f64>,
    /// The settings used.
    pub settings: PlanSettings,
    /// The metric compared.
    pub metric: String,
    /// With `evidence = avoid`: sequences left out for a step with reported cross-resistance.
    pub(crate) avoided: usize,
    /// With `evidence = avoid`: the steps that left sequences out, with their reports.
    pub(crate) avoided_steps: BTreeMap<(String, String), Vec<String>>,
}

/// Not-scorable sequences listed in `plan.csv` at most (all are counted).
pub const MAX_UNSCORABLE_LISTED: usize = 1000;

/// What the depth-first search over sequences found.
#[derive(Default)]
struct Found {
    /// Complete sequences with their scores and support.
    scorable: Vec<(Vec<String>, Scores, usize)>,
    /// Not-scorable sequences (at most [`MAX_UNSCORABLE_LISTED`]).
    unscorable: Vec<Sequence>,
    /// Not-scorable sequences in all.
    n_unscorable: usize,
    /// Sequences left out for a step with reported cross-resistance (`evidence = avoid`).
    avoided: usize,
    /// The steps that left them out, with their reports.
    avoided_steps: BTreeMap<(String, String), Vec<String>>,
}

/// Scores every sequence of `settings.length` distinct drugs (returning to the first with
/// `cycles`) that starts with a drug some lineage was selected with (or `settings.start`);
/// with `evidence = avoid`, none with a step whose pair has reported cross-resistance.
pub fn plan(steps: &Steps, settings: &Checked<PlanSettings>) -> Plan {
    let starts: Vec<&String> = match &settings.start {
        Some(s) => vec![s],
        None => steps.lineages.keys().collect(),
    };
    let drugs: Vec<&String> = steps.drugs.iter().collect();
    let mut found = Found::default();
    let mut path: Vec<String> = Vec::new();
    for start in starts {
        path.clear();
        path.push(start.clone());
        extend(steps, settings, &drugs, &mut path, &mut found);
    }
    let mut scorable = std::mem::take(&mut found.scorable);
    scorable.sort_by(|a, b| {
        a.1.expected_log2_fc
            .total_cmp(&b.1.expected_log2_fc)
            .then(b.1.p_no_cr.total_cmp(&a.1.p_no_cr))
            .then_with(|| a.0.cmp(&b.0))
    });
    let total = scorable.len();
    let listed: Vec<Sequence> = scorable
        .into_iter()
        .take(settings.top)
        .enumerate()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(i, (drugs, scores, support))| {
            let intervals = bootstrap(steps, &drugs, settings);
            Sequence {
                reported_cross_resistance: flagged(steps, settings, &drugs),
                drugs,
                rank: Some(i + 1),
                scores: Some(scores),
                intervals,
                support,
                reason: String::new(),
            }
        })
        .collect();
    let mut sequences = listed;
    for s in &mut found.unscorable {
        s.reported_cross_resistance = flagged(steps, settings, &s.drugs);
    }
    sequences.extend(found.unscorable);
    Plan {
        sequences,
        scorable: total,
        unscorable: found.n_unscorable,
        lineages: steps
            .lineages
            .iter()
            .map(|(d, l)| (d.clone(), l.len()))
            .collect(),
        times: steps.times.clone(),
        settings: PlanSettings::clone(settings),
        metric: steps.metric.clone(),
        avoided: found.avoided,
        avoided_steps: found.avoided_steps,
    }
}

/// The steps of `drugs` with reported cross-resistance and their reports, with
/// `evidence = flag` (empty otherwise): `A -> B: ref; ref | C -> D: ref`.
fn flagged(steps: &Steps, settings: &PlanSettings, drugs: &[String]) -> String {
    if settings.evidence != EvidenceUse::Flag {
        return String::new();
    }
    drugs
        .windows(2)
        .filter_map(|w| {
            let refs = steps.reported_cross_resistance(&w[0], &w[1]);
            (!refs.is_empty()).then(|| format!("{} -> {}: {}", w[0], w[1], refs.join("; ")))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Depth-first over sequences: a step without data ends the branch as one not-scorable
/// sequence (its continuations are not enumerated: they share the gap), and so does, with
/// `evidence = avoid`, a step with reported cross-resistance (counted, not listed).
fn extend(
    steps: &Steps,
    settings: &PlanSettings,
    drugs: &[&String],
    path: &mut Vec<String>,
    found: &mut Found,
) {
    if path.len() > 1 {
        let (from, to) = (&path[path.len() - 2], &path[path.len() - 1]);
        let reported = steps.reported_cross_resistance(from, to);
        if settings.evidence == EvidenceUse::Avoid && !reported.is_empty() {
            found.avoided += 1;
            found
                .avoided_steps
                .entry((from.clone(), to.clone()))
                .or_insert_with(|| reported.to_vec());
            return;
        }
        if let Some(reason) = steps.gap(from, to) {
            found.n_unscorable += 1;
            if found.unscorable.len() < MAX_UNSCORABLE_LISTED {
                found.unscorable.push(Sequence {
                    drugs: path.clone(),
                    rank: None,
                    scores: None,
                    intervals: [(f64::NAN, f64::NAN); 4],
                    support: 0,
                    reason: format!("step {from} -> {to}: {reason}"),
                    reported_cross_resistance: String::new(),
                });
            }
            return;
        }
    }
    let complete = path.len() == settings.length;
    if complete && settings.cycles && path.len() < settings.length + 1 {
        let first = path[0].clone();
        path.push(first);
        extend(steps, settings, drugs, path, found);
        path.pop();
        return;
    }
    if complete || path.len() == settings.length + 1 {
        // A cycle is one regimen whichever drug it starts from: listed once, from its
        // alphabetically first drug, unless the start is fixed.
        if settings.cycles && settings.start.is_none() && path.iter().any(|d| d < &path[0]) {
            return;
        }
        let responses: Vec<&[Response]> = path
            .windows(2)
            .map(|w| steps.responses[&(w[0].clone(), w[1].clone())].as_slice())
            .collect();
        let support = responses.iter().map(|r| r.len()).min().unwrap_or(0);
        found
            .scorable
            .push((path.clone(), Scores::of(&responses), support));
        return;
    }
    for d in drugs {
        if path.contains(d) {
            continue;
        }
        path.push((*d).clone());
        extend(steps, settings, drugs, path, found);
        path.pop();
    }
}

/// 95 % percentile intervals of the four scores over bootstrap resamples of each step's
/// lineages, from a stream seeded by the settings' seed and the sequence's text.
fn bootstrap(steps: &Steps, drugs: &[String], settings: &PlanSettings) -> [(f64, f64); 4] {
    // FNV-1a of the text: a fixed, platform-independent seed per sequence.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in drugs.join(" -> ").bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ hash);
    let responses: Vec<&[Response]> = drugs
        .windows(2)
        .map(|w| steps.responses[&(w[0].clone(), w[1].clone())].as_slice())
        .collect();
    let mut draws: Vec<[f64; 4]> = Vec::with_capacity(settings.bootstrap);
    let mut resampled: Vec<Vec<Response>> = responses.iter().map(|r| r.to_vec()).collect();
    for _ in 0..settings.bootstrap {
        for (k, r) in responses.iter().enumerate() {
            for slot in resampled[k].iter_mut() {
                *slot = r[rng.random_range(0..r.len())];
            }
        }
        let views: Vec<&[Response]> = resampled.iter().map(Vec::as_slice).collect();
        let s = Scores::of(&views);
        draws.push([s.get(0), s.get(1), s.get(2), s.get(3)]);
    }
    let mut out = [(f64::NAN, f64::NAN); 4];
    for (k, slot) in out.iter_mut().enumerate() {
        let mut v: Vec<f64> = draws.iter().map(|d| d[k]).collect();
        v.sort_by(f64::total_cmp);
        *slot = (quantile(&v, 0.025), quantile(&v, 0.975));
    }
    out
}

/// The `p` quantile of sorted values, linear between order statistics (R's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The switch-time policy for lineages sampled in time (Maltas & Wood): when to leave the
/// current drug and what to give next.
///
/// **States** are (current drug d, time on it t), t running over the evolution times at which
/// lineages selected with d were sampled. **Actions**: stay on d until its next sampled time,
/// or switch to a drug e, which earns the collateral benefit −(mean log2 fold change of e over
/// the lineages selected with d at time t) and moves to (e, e's first sampled time). A switch
/// without data (no lineage selected with d at t has a determined response to e) is not an
/// action: nothing is filled in, and with switches left after it, a switch to a drug nobody
/// selected lineages with is not an action either (its next switch would have no data). With
/// `switches` switches left, the value is the largest total benefit of making them all. The
/// finite-horizon problem is solved exactly by dynamic programming over switches left and,
/// within a drug, backwards over time.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    /// Switches still to make.
    pub switches_left: usize,
    /// The drug given now.
    pub drug: String,
    /// How long it has been given (an evolution time of its lineages).
    pub time: f64,
    /// The best next drug (empty when no switch has data).
    pub next_drug: String,
    /// When to switch to it: now, or a later sampled time (staying until then).
    pub switch_time: f64,
    /// Mean log2 fold change of the next drug at the switch.
    pub switch_log2_fc: f64,
    /// The total benefit of the best plan from this state: −(sum of the switches' mean log2
    /// fold changes).
    pub value: f64,
    /// Lineages behind the switch.
    pub support: usize,
}

/// Mean log2 fold change and lineage count per (from drug, time, to drug), from the pooled
/// shifts of timed lines with a selecting drug.
type TimedSteps = BTreeMap<(String, u64, String), (f64, usize)>;

/// The switch-time policy for `switches` switches (see [`PolicyRow`]); empty when no line has
/// an evolution time.
pub fn policy(shifts: &[Shift], lines: &LinesTable, switches: usize) -> Vec<PolicyRow> {
    let Some(timed) = Timed::of(shifts, lines) else {
        return Vec::new();
    };
    let values = timed.best_switches(switches);
    let mut rows = Vec::new();
    for (h, table) in values.iter().enumerate().skip(1) {
        for ((d, k), (value, next, switch, fc, n)) in table {
            let ts = &timed.times[d];
            rows.push(PolicyRow {
                switches_left: h,
                drug: d.clone(),
                time: ts[*k],
                next_drug: next.clone(),
                switch_time: ts[*switch],
                switch_log2_fc: *fc,
                value: *value,
                support: *n,
            });
        }
    }
    rows
}

/// The best plan from a state: (value, next drug, switch time index, fc, support).
type Best = (f64, String, usize, f64, usize);

/// What the switch-time policy is computed from: the steps between drugs at each sampled
/// time, the sampled times of each selecting drug (ascending) and every drug.
struct Timed {
    steps: TimedSteps,
    times: BTreeMap<String, Vec<f64>>,
    drugs: BTreeSet<String>,
}

impl Timed {
    /// The steps of the pooled shifts of timed lines with a selecting drug; `None` when no
    /// line has an evolution time.
    fn of(shifts: &[Shift], lines: &LinesTable) -> Option<Timed> {
        let by_name: BTreeMap<&str, &crate::lines::CellLine> =
            lines.lines.iter().map(|l| (l.name.as_str(), l)).collect();
        // Per (drug, time bits, next drug): sum and count of determined log2 fold changes.
        let mut sums: BTreeMap<(String, u64, String), (f64, usize)> = BTreeMap::new();
        let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut drugs: BTreeSet<String> = BTreeSet::new();
        for s in shifts
            .iter()
            .filter(|s| s.replicate.is_empty() && !s.selected_with.is_empty())
        {
            drugs.insert(s.drug.clone());
            let Some(t) = by_name
                .get(s.resistant_line.as_str())
                .and_then(|l| l.evolution_time)
            else {
                continue;
            };
            let list = times.entry(s.selected_with.clone()).or_default();
            if !list.contains(&t) {
                list.push(t);
            }
            if s.drug == s.selected_with || s.call == Call::Undetermined || !s.log2_fc.is_finite() {
                continue;
            }
            let e = sums
                .entry((s.selected_with.clone(), t.to_bits(), s.drug.clone()))
                .or_insert((0.0, 0));
            e.0 += s.log2_fc;
            e.1 += 1;
        }
        if times.is_empty() {
            return None;
        }
        for list in times.values_mut() {
            list.sort_by(f64::total_cmp);
        }
        let steps: TimedSteps = sums
            .into_iter()
            .map(|(k, (sum, n))| (k, (sum / n as f64, n)))
            .collect();
        Some(Timed {
            steps,
            times,
            drugs,
        })
    }

    /// `values[h][(drug, time index)]`: the best plan with `h` switches left, by dynamic
    /// programming over the switches.
    fn best_switches(&self, switches: usize) -> Vec<BTreeMap<(String, usize), Best>> {
        let mut values: Vec<BTreeMap<(String, usize), Best>> = vec![BTreeMap::new()];
        for h in 1..=switches {
            let prev = &values[h - 1];
            let mut current: BTreeMap<(String, usize), Best> = BTreeMap::new();
            for (d, ts) in &self.times {
                // Backwards over time: staying carries the later state's best forward.
                let mut later: Option<Best> = None;
                for k in (0..ts.len()).rev() {
                    let best = self.best_switch(d, ts[k], k, h, prev);
                    // Ties go to switching now: no reason to wait for the same benefit.
                    let chosen = match (best, later.clone()) {
                        (Some(b), Some(l)) if l.0 > b.0 => Some(l),
                        (Some(b), _) => Some(b),
                        (None, l) => l,
                    };
                    if let Some(c) = &chosen {
                        current.insert((d.clone(), k), c.clone());
                    }
                    later = chosen;
                }
            }
            values.push(current);
        }
        values
    }

    /// The best switch from drug `d` at time `t` (index `k`) with `h` switches left.
    fn best_switch(
        &self,
        d: &str,
        t: f64,
        k: usize,
        h: usize,
        prev: &BTreeMap<(String, usize), Best>,
    ) -> Option<Best> {
        let mut best: Option<Best> = None;
        for e in &self.drugs {
            let Some(&(fc, n)) = self.steps.get(&(d.to_string(), t.to_bits(), e.clone())) else {
                continue;
            };
            // With switches left after this one, e must have lineages of its own to draw the
            // next switch from: a step without data is never filled in.
            let rest = if h > 1 {
                match prev.get(&(e.clone(), 0)) {
                    Some(b) => b.0,
                    None => continue,
                }
            } else {
                0.0
            };
            let value = -fc + rest;
            if best.as_ref().is_none_or(|b| value > b.0) {
                best = Some((value, e.clone(), k, fc, n));
            }
        }
        best
    }
}

/// Columns of `policy.csv`.
pub(crate) const POLICY_COLUMNS: [&str; 8] = [
    "switches_left",
    "drug",
    "time",
    "next_drug",
    "switch_time",
    "switch_log2_fc",
    "value",
    "support",
];

/// Columns of `plan.csv`.
pub(crate) const PLAN_COLUMNS: [&str; 19] = [
    "rank",
    "sequence",
    "length",
    "expected_log2_fc",
    "expected_ci_low",
    "expected_ci_high",
    "worst_log2_fc",
    "worst_ci_low",
    "worst_ci_high",
    "p_no_cr",
    "p_no_cr_ci_low",
    "p_no_cr_ci_high",
    "p_all_cs",
    "p_all_cs_ci_low",
    "p_all_cs_ci_high",
    "support",
    "scorable",
    "reason",
    "reported_cross_resistance",
];

/// What the plan says, in words, for the report: what the data support, how strongly, and
/// what they do not.
pub fn summary(plan: &Plan, policy: &[PolicyRow]) -> Vec<String> {
    let kind = if plan.settings.cycles {
        "cycles"
    } else {
        "sequences"
    };
    let ranked: Vec<&Sequence> = plan.sequences.iter().filter(|s| s.rank.is_some()).collect();
    let mut out = vec![lineages_sentence(plan)];
    let Some(best) = ranked.first() else {
        out.push(format!(
            "No {kind} of {} drugs can be scored: every candidate has a step with no lineage data ({} listed in plan.csv with the missing step). Select lineages with more drugs, or shorten the sequence.",
            plan.settings.length, plan.unscorable
        ));
        return out;
    };
    out.push(best_sentence(plan, best, kind));
    if let Some(second) = ranked.get(1) {
        out.push(runner_up_sentence(best, second));
    }
    if best.support < 3 {
        out.push(format!(
            "Caution: with {} lineage{} behind the weakest step of the best sequence, its scores are the outcome of very few evolution experiments; repeat the selection before relying on it.",
            best.support,
            if best.support == 1 { "" } else { "s" }
        ));
    }
    if plan.unscorable > 0 {
        out.push(format!(
            "{} candidate {kind} cannot be scored because a step has no lineage data (for example {}); they are listed in plan.csv with the missing step and are never filled in.",
            plan.unscorable,
            plan.sequences
                .iter()
                .find(|s| s.rank.is_none())
                .map_or(String::new(), |s| format!("{}: {}", s.text(), s.reason))
        ));
    }
    out.extend(evidence_sentence(plan, best));
    out.extend(policy_sentence(policy));
    out.push("The scores assume that each step's population responds like the lineages selected with the current drug, and that steps are independent; they do not model fitness costs.".to_string());
    out
}

/// What reported cross-resistance did to the plan: with `avoid`, the sequences left out and the
/// steps and reports that left them out; with `flag`, the best sequence's flagged steps and
/// how many listed sequences have one. `None` when nothing was reported on any step.
fn evidence_sentence(plan: &Plan, best: &Sequence) -> Option<String> {
    let steps = |steps: &mut dyn Iterator<Item = (&(String, String), &Vec<String>)>| {
        steps
            .map(|((from, to), refs)| format!("{from} -> {to} ({})", refs.join("; ")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match plan.settings.evidence {
        EvidenceUse::Ignore => None,
        EvidenceUse::Avoid => (plan.avoided > 0).then(|| {
            format!(
                "Reported before: {} candidate sequence{} left out (--evidence avoid) because a step has reported cross-resistance: {}.",
                plan.avoided,
                if plan.avoided == 1 { " was" } else { "s were" },
                steps(&mut plan.avoided_steps.iter())
            )
        }),
        EvidenceUse::Flag => {
            let flagged = plan
                .sequences
                .iter()
                .filter(|s| s.rank.is_some() && !s.reported_cross_resistance.is_empty())
                .count();
            if flagged == 0 {
                return None;
            }
            let best_words = if best.reported_cross_resistance.is_empty() {
                "the best sequence has no such step".to_string()
            } else {
                format!(
                    "the best sequence's step {} was reported cross-resistant before",
                    best.reported_cross_resistance
                )
            };
            Some(format!(
                "Reported before: {flagged} of the listed sequences have a step with reported cross-resistance (column reported_cross_resistance of plan.csv; --evidence avoid leaves them out); {best_words}."
            ))
        }
    }
}

/// The lineages per selecting drug, and the evolution times drawn from.
fn lineages_sentence(plan: &Plan) -> String {
    let lineages: Vec<String> = plan
        .lineages
        .iter()
        .map(|(d, n)| format!("{d} ({n})"))
        .collect();
    format!(
        "Lineages per selecting drug: {}.{}",
        if lineages.is_empty() {
            "none".to_string()
        } else {
            lineages.join(", ")
        },
        if plan.times.is_empty() {
            String::new()
        } else {
            let t: Vec<String> = plan
                .times
                .iter()
                .map(|(d, t)| format!("{d} at {}", num(*t)))
                .collect();
            format!(" Drawn at evolution time: {}.", t.join(", "))
        }
    )
}

/// The best sequence, its scores and intervals, and the lineages behind its weakest step.
fn best_sentence(plan: &Plan, best: &Sequence, kind: &str) -> String {
    let s = best.scores.expect("ranked sequences are scored");
    let fold = 2f64.powf(-s.expected_log2_fc);
    let metric = plan.metric.to_uppercase();
    // A log2 fold change below 0 means more sensitive for every metric (gr_aoc's ratio is
    // taken the other way round for this), so the words go by potency, not by the number.
    let direction = if s.expected_log2_fc < 0.0 {
        format!(
            "leaves the population {fold:.2}-fold more sensitive to the next drug per step on average (by {metric})"
        )
    } else {
        format!(
            "does not leave the population more sensitive to the next drug on average ({:.2}-fold toward resistance per step, by {metric})",
            1.0 / fold
        )
    };
    format!(
        "Of {} scorable {kind} of {} drugs, the best is {}: it {direction} (mean log2 fold change {}, 95 % bootstrap interval {} to {}); no step meets a cross-resistant population with probability {} ({} to {}), every step a collaterally sensitive one with probability {}. Its weakest step rests on {} lineage{}.",
        plan.scorable,
        plan.settings.length,
        best.text(),
        num3(s.expected_log2_fc),
        num3(best.intervals[0].0),
        num3(best.intervals[0].1),
        num3(s.p_no_cr),
        num3(best.intervals[2].0),
        num3(best.intervals[2].1),
        num3(s.p_all_cs),
        best.support,
        if best.support == 1 { "" } else { "s" }
    )
}

/// The second best, and whether the data tell it from the best.
fn runner_up_sentence(best: &Sequence, second: &Sequence) -> String {
    let t = second.scores.expect("ranked");
    let apart = best.intervals[0].1 < second.intervals[0].0;
    format!(
        "The runner-up is {} (mean log2 fold change {}, {} to {}). {}",
        second.text(),
        num3(t.expected_log2_fc),
        num3(second.intervals[0].0),
        num3(second.intervals[0].1),
        if apart {
            "The best is ahead of it beyond their intervals."
        } else {
            "Their intervals overlap: the data do not tell these two apart."
        }
    )
}

/// The switch-time policy's openings: from each drug's first sampled time with the most
/// switches left, when to switch and to what.
fn policy_sentence(policy: &[PolicyRow]) -> Option<String> {
    let most = policy.iter().map(|r| r.switches_left).max().unwrap_or(0);
    let openings: Vec<String> = policy
        .iter()
        .filter(|r| r.switches_left == most)
        .filter(|r| {
            // The first sampled time of each drug.
            !policy
                .iter()
                .any(|o| o.switches_left == most && o.drug == r.drug && o.time < r.time)
        })
        .map(|r| {
            format!(
                "from {} (at {}), switch at {} to {} (mean log2 fold change {}; total benefit {} over {} switch{})",
                r.drug,
                crate::text::format_number(r.time),
                crate::text::format_number(r.switch_time),
                r.next_drug,
                num3(r.switch_log2_fc),
                num3(r.value),
                most,
                if most == 1 { "" } else { "es" }
            )
        })
        .collect();
    (!openings.is_empty()).then(|| format!(
        "Switch-time policy (policy.csv; exact dynamic programme over the drug given and how long it has been given, the benefit of a switch being minus the mean log2 fold change of the next drug among the lineages selected with the current one at that time): {}.",
        openings.join("; ")
    ))
}

/// A number for prose: 3 significant digits.
fn num3(x: f64) -> String {
    if !x.is_finite() {
        return "NA".into();
    }
    let a = x.abs();
    let digits = if a == 0.0 || a >= 100.0 {
        0
    } else {
        (2 - a.log10().floor() as i32).max(0) as usize
    };
    format!("{x:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineage::tests::{lines, shift};

    use Call::{CollateralSensitive as CS, CrossResistant as CR, Neutral as N};

    /// A selected with x and y; B the same; C nothing selected.
    fn example() -> (Vec<Shift>, LinesTable) {
        let t =
            lines("cell_line,parental_line,selected_with\nP,,\nA1,P,A\nA2,P,A\nB1,P,B\nB2,P,B\n");
        let shifts = vec![
            shift("A1", "A", "A", 3.0, CR),
            shift("A1", "A", "B", -2.0, CS),
            shift("A1", "A", "C", 0.0, N),
            shift("A2", "A", "A", 3.0, CR),
            shift("A2", "A", "B", -1.0, CS),
            shift("A2", "A", "C", 2.0, CR),
            shift("B1", "B", "B", 3.0, CR),
            shift("B1", "B", "A", 0.0, N),
            shift("B1", "B", "C", -3.0, CS),
            shift("B2", "B", "B", 3.0, CR),
            shift("B2", "B", "A", 1.0, N),
            shift("B2", "B", "C", -3.0, CS),
        ];
        (shifts, t)
    }

    #[test]
    fn scores_follow_the_lineages_step_by_step() {
        let (shifts, t) = example();
        let steps = Steps::new(&shifts, &t, None);
        let p = plan(&steps, &Checked::default());
        // Scorable: A -> B -> C only (B -> A -> C: A -> C fine, B -> A fine; B -> C -> *: no
        // lineage was selected with C).
        let ranked: Vec<String> = p
            .sequences
            .iter()
            .filter(|s| s.rank.is_some())
            .map(Sequence::text)
            .collect();
        assert_eq!(ranked, ["A -> B -> C", "B -> A -> C"]);
        let best = &p.sequences[0];
        let s = best.scores.unwrap();
        // A -> B: mean(-2, -1) = -1.5, both CS; B -> C: -3, both CS.
        assert_eq!(s.expected_log2_fc, (-1.5 + -3.0) / 2.0);
        assert_eq!(s.worst_log2_fc, -1.5);
        assert_eq!((s.p_no_cr, s.p_all_cs), (1.0, 1.0));
        assert_eq!(best.support, 2);
        // B -> A -> C: B -> A mean 0.5 (no CR, no CS), A -> C: one of two CR.
        let second = p.sequences[1].scores.unwrap();
        assert_eq!(second.expected_log2_fc, (0.5 + 1.0) / 2.0);
        assert_eq!((second.p_no_cr, second.p_all_cs), (0.5, 0.0));
        // Intervals hold the point estimate and are repeatable.
        let (lo, hi) = best.intervals[0];
        assert!(lo <= s.expected_log2_fc && s.expected_log2_fc <= hi);
        let again = plan(&steps, &Checked::default());
        assert_eq!(again.sequences[0].intervals, best.intervals);
        // Nothing selected with C: every step from C is not scorable, never filled in.
        let gaps: Vec<&Sequence> = p.sequences.iter().filter(|s| s.rank.is_none()).collect();
        assert_eq!(p.unscorable, gaps.len());
        assert!(gaps.iter().any(|s| s.text() == "A -> C -> B"
            && s.reason == "step C -> B: no lineage was selected with C"));
        assert!(gaps.iter().all(|s| s.scores.is_none()));
    }

    #[test]
    fn cycles_return_to_the_first_drug_and_start_can_be_fixed() {
        let (shifts, t) = example();
        let steps = Steps::new(&shifts, &t, None);
        let settings = PlanSettings {
            length: 2,
            cycles: true,
            start: Some("B".into()),
            ..PlanSettings::default()
        };
        let p = plan(&steps, &settings.clone().check().unwrap());
        let best = &p.sequences[0];
        assert_eq!(best.text(), "B -> A -> B");
        assert_eq!(best.length(), 2);
        // B -> A mean 0.5, A -> B mean -1.5.
        assert_eq!(best.scores.unwrap().expected_log2_fc, -0.5);
        assert!(p.sequences.iter().all(|s| s.drugs[0] == "B"));
        // Without a fixed start each cycle is listed once, from its first drug by name.
        let free = plan(
            &steps,
            &PlanSettings {
                start: None,
                ..settings
            }
            .check()
            .unwrap(),
        );
        let ranked: Vec<String> = free
            .sequences
            .iter()
            .filter(|s| s.rank.is_some())
            .map(Sequence::text)
            .collect();
        assert_eq!(ranked, ["A -> B -> A"]);
    }

    /// The best total benefit from (drug, time index) with `h` switches, by trying every
    /// switch time and drug: what the dynamic programme must equal.
    fn brute(
        steps: &BTreeMap<(String, usize, String), f64>,
        times: &BTreeMap<String, usize>,
        drugs: &[String],
        d: &str,
        k: usize,
        h: usize,
    ) -> Option<f64> {
        let mut best: Option<f64> = None;
        for j in k..times[d] {
            for e in drugs {
                let Some(fc) = steps.get(&(d.to_string(), j, e.clone())) else {
                    continue;
                };
                let rest = if h > 1 {
                    if !times.contains_key(e) {
                        continue;
                    }
                    match brute(steps, times, drugs, e, 0, h - 1) {
                        Some(v) => v,
                        None => continue,
                    }
                } else {
                    0.0
                };
                let v = -fc + rest;
                if best.is_none_or(|b| v > b) {
                    best = Some(v);
                }
            }
        }
        best
    }

    #[test]
    fn the_policy_is_the_exact_optimum() {
        use rand::{RngExt, SeedableRng};
        let drugs: Vec<String> = ["A", "B", "C", "D"].iter().map(|d| d.to_string()).collect();
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            // A, B, C selected (D never), each sampled at 3 times; lineages per time: 2.
            let mut table = String::from(
                "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\n",
            );
            let mut shifts = Vec::new();
            let mut truth: BTreeMap<(String, usize, String), (f64, usize)> = BTreeMap::new();
            for sel in &drugs[..3] {
                for k in 0..3 {
                    for l in 0..2 {
                        let name = format!("{sel}{l}_{k}");
                        table.push_str(&format!("{name},P,{sel},{sel}{l},{}\n", k + 1));
                        for e in &drugs {
                            // Some steps have no data at all.
                            if e != sel && rng.random::<f64>() < 0.15 {
                                continue;
                            }
                            let fc: f64 = rng.random_range(-3.0..3.0);
                            let call = if fc < -1.0 {
                                CS
                            } else if fc > 1.0 {
                                CR
                            } else {
                                N
                            };
                            shifts.push(shift(&name, sel, e, fc, call));
                            if e != sel {
                                let t =
                                    truth.entry((sel.clone(), k, e.clone())).or_insert((0.0, 0));
                                t.0 += fc;
                                t.1 += 1;
                            }
                        }
                    }
                }
            }
            let t = lines(&table);
            let means: BTreeMap<(String, usize, String), f64> = truth
                .into_iter()
                .map(|(k, (s, n))| (k, s / n as f64))
                .collect();
            let times: BTreeMap<String, usize> =
                drugs[..3].iter().map(|d| (d.clone(), 3)).collect();
            let rows = policy(&shifts, &t, 3);
            assert!(!rows.is_empty());
            for r in &rows {
                let k = (r.time - 1.0) as usize;
                let want = brute(&means, &times, &drugs, &r.drug, k, r.switches_left)
                    .expect("a row exists only where a plan does");
                assert!(
                    (r.value - want).abs() < 1e-9,
                    "seed {seed}: {r:?} vs {want}"
                );
                // The recommended switch earns what it claims.
                let j = (r.switch_time - 1.0) as usize;
                assert!(j >= k);
                let fc = means[&(r.drug.clone(), j, r.next_drug.clone())];
                assert!((fc - r.switch_log2_fc).abs() < 1e-12);
            }
            // Every state with a plan has a row.
            for d in &drugs[..3] {
                for k in 0..3 {
                    for h in 1..=3 {
                        let has = rows.iter().any(|r| {
                            &r.drug == d && r.time == (k + 1) as f64 && r.switches_left == h
                        });
                        assert_eq!(has, brute(&means, &times, &drugs, d, k, h).is_some());
                    }
                }
            }
        }
    }

    #[test]
    fn settings_are_checked() {
        let bad = PlanSettings {
            length: 1,
            top: 0,
            bootstrap: 5,
            ..PlanSettings::default()
        };
        let keys: Vec<&str> = bad.problems().iter().map(|p| p.0).collect();
        assert_eq!(keys, ["length", "top", "bootstrap"]);
        assert!(PlanSettings::default().problems().is_empty());
    }
}
