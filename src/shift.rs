//! IC50 shifts: each resistant line against its parental line, drug by drug, with a confidence
//! interval, a p-value, Benjamini–Hochberg q-values across the whole matrix and a call.
//!
//! log2_fc = log2(metric_resistant / metric_parental). Its standard error combines the two
//! fits' standard errors of log10 metric (delta method on the log scale, independent fits):
//! se = log2(10)·√(se_R² + se_P²), with Welch–Satterthwaite degrees of freedom from the fits'
//! residual degrees of freedom, a t-based 95 % CI and a two-sided p-value.
//!
//! Calls (rule `delta`, the default): `cross_resistant` if log2_fc ≥ τ and q ≤ α,
//! `collateral_sensitive` if log2_fc ≤ −τ and q ≤ α, `neutral` otherwise. A censored ratio
//! (one IC50 beyond the tested range) has no p-value; it gets a call only when its bound already
//! decides it (e.g. log2_fc > 1.6 with τ = 1 → `cross_resistant`), and `undetermined` when the
//! bound leaves the call open. A failed or missing fit gives `undetermined` with the reason.
//!
//! Rule `dhawan2017` reproduces Dhawan et al. 2017: `collateral_sensitive` / `cross_resistant`
//! when the two 95 % CIs of the metric do not overlap (no fold-change threshold), `neutral` when
//! they overlap.
//!
//! Rule `nichol2019` reproduces Nichol et al. 2019: significant when p < α / m (Bonferroni over
//! the m comparisons with a p-value), direction from the sign of log2_fc, no fold-change
//! threshold. Metric `mic` pairs the lines here too, but its estimates and p-values come from
//! the dilution error model of [`crate::mic`] (which calls [`pair_estimates`] and
//! [`call_shifts`]).
//!
//! Rule `maltas-wood` reproduces the temporal-CS analysis of Maltas & Wood (their
//! `MakeHeterogeneityFigurePanels.m`): `collateral_sensitive` / `cross_resistant` when the
//! resistant line's metric lies more than 3 standard errors below / above the parental line's
//! mean, the mean and standard error (SD / √n) taken over the parental line's replicates
//! (their ancestor isolates), on the metric's own (linear) scale; no fold-change threshold.
//!
//! The parts: `estimate` (what is compared: [`Metric`], [`Estimate`], [`read_estimates`]),
//! `table` (`shifts.csv`: [`SHIFT_COLUMNS`], [`write_shifts`], [`Shift::cells`]; read back by
//! `output::tables::read_shifts`); this file pairs the lines, tests and calls.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::checked::{Check, Checked};
use crate::fit::{CurveFit, FitStatus, Ic50Qualifier};
use crate::lines::LinesTable;

mod estimate;
mod replicates;
mod table;

pub use estimate::*;
pub use replicates::{ReplicateCounts, ReplicateUse};
pub use table::*;

/// A call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    /// IC50 rose.
    CrossResistant,
    /// IC50 fell.
    CollateralSensitive,
    /// No change beyond the threshold, or not significant.
    Neutral,
    /// A fit failed or censoring leaves the call open.
    Undetermined,
}

impl Call {
    /// Name written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Call::CrossResistant => "cross_resistant",
            Call::CollateralSensitive => "collateral_sensitive",
            Call::Neutral => "neutral",
            Call::Undetermined => "undetermined",
        }
    }

    /// Parses a call name.
    pub fn parse(s: &str) -> Option<Call> {
        [
            Call::CrossResistant,
            Call::CollateralSensitive,
            Call::Neutral,
            Call::Undetermined,
        ]
        .into_iter()
        .find(|c| c.name() == s.trim())
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings of the shift step, as the assay's `[shift]` section or a command's flags write
/// them; checked once into a [`Checked`] value ([`Check::check`]) before shifts are computed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ShiftSettings {
    /// Metric compared.
    pub metric: Metric,
    /// Fold-change threshold τ on |log2_fc|.
    pub tau: f64,
    /// Significance level α on BH q-values.
    pub alpha: f64,
    /// Call rule.
    pub rule: CallRule,
    /// Report each replicate of a resistant line separately against the pooled parental line.
    pub per_replicate: bool,
    /// Longest drug cycle listed in `cycles.csv`.
    pub max_cycle_length: usize,
}

impl Default for ShiftSettings {
    fn default() -> Self {
        ShiftSettings {
            metric: Metric::Ic50,
            tau: 1.0,
            alpha: 0.05,
            rule: CallRule::Delta,
            per_replicate: false,
            max_cycle_length: 4,
        }
    }
}

impl ShiftSettings {
    /// Keys of the `[shift]` section of an assay file.
    pub(crate) const KEYS: [&'static str; 6] = [
        "metric",
        "tau",
        "alpha",
        "rule",
        "per_replicate",
        "max_cycle_length",
    ];
}

impl Check for ShiftSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.tau.is_finite() && self.tau >= 0.0) {
            out.push((
                "tau",
                format!(
                    "`shift.tau = {}`: expected a log2 fold change ≥ 0, e.g. 1 for two-fold",
                    self.tau
                ),
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            out.push((
                "alpha",
                format!(
                    "`shift.alpha = {}`: expected a level between 0 and 1, e.g. 0.05",
                    self.alpha
                ),
            ));
        }
        if !(2..=10).contains(&self.max_cycle_length) {
            out.push((
                "max_cycle_length",
                format!(
                    "`shift.max_cycle_length = {}`: expected 2 to 10",
                    self.max_cycle_length
                ),
            ));
        }
        if self.metric == Metric::Mic && self.per_replicate {
            out.push((
                "per_replicate",
                "`shift.per_replicate = true` with `metric = \"mic\"`: each replicate MIC is a measurement of the one MIC test per line and drug, not a comparison of its own; leave per_replicate out".to_string(),
            ));
        }
        if self.metric == Metric::Mic && self.rule == CallRule::MaltasWood {
            out.push((
                "rule",
                "`shift.rule = \"maltas-wood\"` with `metric = \"mic\"`: that rule compares a fitted IC50 with the mean and standard error of the parental replicates' IC50s; use nichol2019 or delta".to_string(),
            ));
        }
        if self.metric == Metric::Mic && self.rule == CallRule::Dhawan2017 {
            out.push((
                "rule",
                "`shift.rule = \"dhawan2017\"` with `metric = \"mic\"`: that rule compares the confidence intervals of fitted curves, which MICs do not have; use nichol2019 or delta".to_string(),
            ));
        }
        out
    }
}

/// One row of `shifts.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Resistant line.
    pub resistant_line: String,
    /// Replicate of the resistant line (per-replicate mode), else empty.
    pub replicate: String,
    /// Its parental line.
    pub parental_line: String,
    /// Drug tested.
    pub drug: String,
    /// Drug the resistant line was selected with.
    pub selected_with: String,
    /// Metric compared.
    pub metric: Metric,
    /// log2(resistant / parental), or its bound; NaN when undetermined.
    pub log2_fc: f64,
    /// `=`, `>` or `<` for `log2_fc`; `None` when there is none.
    pub log2_fc_qualifier: Option<Bound>,
    /// 95 % CI of log2_fc.
    pub ci_low: f64,
    /// 95 % CI of log2_fc.
    pub ci_high: f64,
    /// Two-sided p-value of log2_fc = 0.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across every p-value of the run.
    pub q_value: f64,
    /// The call.
    pub call: Call,
    /// The resistant line's metric and qualifier.
    pub value_resistant: f64,
    /// The resistant line's qualifier.
    pub qualifier_resistant: Option<Bound>,
    /// The parental line's metric.
    pub value_parental: f64,
    /// The parental line's qualifier.
    pub qualifier_parental: Option<Bound>,
    /// Why a call is `undetermined`, or how a censored call was made.
    pub reason: String,
    /// p-value of the extra-sum-of-squares F-test of one shared ec50 against two (metric ec50,
    /// when both curves' points are at hand; NaN otherwise).
    pub ec50_f_test_p: f64,
    /// The relations reported before for this (selecting drug, tested drug) pair, by kind
    /// ([`crate::evidence`]); empty when none (or before [`annotate_evidence`]).
    pub evidence: Vec<crate::evidence::Reported>,
}

/// Pairs every resistant line with its parental line for every drug either was tested with, and
/// computes the shift statistics and calls.
pub fn compute_shifts(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
) -> Vec<Shift> {
    compute_shifts_with_replicates(estimates, lines, settings).0
}

/// [`compute_shifts`], with how many rows pooled replicate rows or paired batches
/// ([`ReplicateCounts`], for `run.json`).
pub(crate) fn compute_shifts_with_replicates(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
) -> (Vec<Shift>, ReplicateCounts) {
    let mut counts = ReplicateCounts::default();
    let mut rows: Vec<Shift> = pair_estimates_counted(estimates, lines, settings)
        .into_iter()
        .map(|(row, used)| {
            counts.add(used);
            row
        })
        .collect();
    call_shifts(&mut rows, settings);
    (rows, counts)
}

/// The rows of [`compute_shifts`] before q-values and the significance-based calls: every
/// resistant line against its parental line for every drug either has an estimate for, with
/// log2_fc, its qualifier, and (for estimates with standard errors) the CI and p-value. A
/// metric with a test of its own (`mic`) fills in p-values and CIs before [`call_shifts`].
pub fn pair_estimates(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Vec<Shift> {
    pair_estimates_counted(estimates, lines, settings)
        .into_iter()
        .map(|(row, _)| row)
        .collect()
}

/// [`pair_estimates`] with how each row used its lines' rows ([`ReplicateUse`]).
fn pair_estimates_counted(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Vec<(Shift, ReplicateUse)> {
    let mut by_line: BTreeMap<(&str, &str), Vec<&Estimate>> = BTreeMap::new();
    for e in estimates {
        by_line
            .entry((e.cell_line.as_str(), e.drug.as_str()))
            .or_default()
            .push(e);
    }
    // What to compare is listed in order first; the comparisons run on every core.
    let mut tasks = Vec::new();
    for line in &lines.lines {
        let Some(parent) = &line.parental_line else {
            continue;
        };
        // The drugs either line was measured with, from the map's own order (a scan of every
        // estimate per line cost a second on 100 lines × 1,000 drugs).
        let mut drugs: BTreeSet<&str> = BTreeSet::new();
        for name in [line.name.as_str(), parent.as_str()] {
            for ((l, d), _) in by_line.range((name, "")..) {
                if *l != name {
                    break;
                }
                drugs.insert(d);
            }
        }
        for drug in drugs {
            let resistant = by_line.get(&(line.name.as_str(), drug)).map(Vec::as_slice);
            let parental = by_line.get(&(parent.as_str(), drug)).map(Vec::as_slice);
            for c in replicates::comparands(resistant, parental, settings) {
                tasks.push((line, parent, drug, c));
            }
        }
    }
    use rayon::prelude::*;
    tasks
        .par_iter()
        .map(|(line, parent, drug, c)| {
            let (r, parental) = (c.resistant.as_deref(), c.parental.as_deref());
            let mut row = pair(
                &line.name,
                parent,
                drug,
                line.selected_with.as_deref().unwrap_or(""),
                r,
                parental,
                settings,
            );
            if let Some(paired) = &c.paired {
                paired.apply(&mut row);
            }
            if !c.note.is_empty() {
                row.reason = if row.reason.is_empty() {
                    c.note.clone()
                } else {
                    format!("{}; {}", row.reason, c.note)
                };
            }
            if settings.rule == CallRule::MaltasWood && !placed_together_decided(&row) {
                maltas_wood_call(&mut row, r, by_line.get(&(parent.as_str(), *drug)));
            }
            (row, c.used)
        })
        .collect()
}

/// Benjamini–Hochberg q-values over every p-value of `rows`, then the calls of the rule that
/// rest on them (`delta`, `nichol2019`; `dhawan2017` and `maltas-wood` were decided when
/// pairing).
pub fn call_shifts(rows: &mut [Shift], settings: &ShiftSettings) {
    let p: Vec<f64> = rows.iter().map(|r| r.p_value).collect();
    let q = benjamini_hochberg(&p);
    // Bonferroni of nichol2019: α over the comparisons that have a p-value.
    let tested = p.iter().filter(|p| p.is_finite()).count();
    for (row, q) in rows.iter_mut().zip(q) {
        row.q_value = q;
        match settings.rule {
            CallRule::Delta | CallRule::Nichol2019 if placed_together_decided(row) => {}
            CallRule::Delta if row.log2_fc_qualifier == Some(Bound::Equal) => {
                row.call = if !q.is_finite() {
                    row.reason = "no standard error for the fold change".into();
                    Call::Undetermined
                } else if q <= settings.alpha && row.log2_fc >= settings.tau {
                    Call::CrossResistant
                } else if q <= settings.alpha && row.log2_fc <= -settings.tau {
                    Call::CollateralSensitive
                } else {
                    Call::Neutral
                };
            }
            CallRule::Delta => {
                // A censored ratio with a test of its own (mic): the bound decided the call
                // when pairing; it also needs q ≤ α.
                let decided = matches!(row.call, Call::CrossResistant | Call::CollateralSensitive);
                if decided && q.is_finite() && q > settings.alpha {
                    row.call = Call::Neutral;
                    row.reason = format!("{}; but q = {q:.3} > α = {}", row.reason, settings.alpha);
                }
            }
            CallRule::Nichol2019 => nichol_call(row, settings.alpha / tested as f64),
            CallRule::Dhawan2017 | CallRule::MaltasWood => {}
        }
    }
}

/// The nichol2019 call of one row: significant when p < `threshold` (α / m), in the direction
/// of log2_fc; a censored ratio whose bound leaves the direction open is `undetermined`.
fn nichol_call(row: &mut Shift, threshold: f64) {
    let Some(qualifier) = row.log2_fc_qualifier else {
        return; // no ratio: `undetermined`, the reason set when pairing
    };
    if !row.p_value.is_finite() {
        row.call = Call::Undetermined;
        row.reason = if row.reason.is_empty() {
            "the nichol2019 rule needs a p-value".into()
        } else {
            format!("the nichol2019 rule needs a p-value; {}", row.reason)
        };
        return;
    }
    let fc = row.log2_fc;
    let up = match qualifier {
        Bound::Equal if fc == 0.0 => None,
        Bound::Equal => Some(fc > 0.0),
        Bound::Greater if fc >= 0.0 => Some(true),
        Bound::Less if fc <= 0.0 => Some(false),
        _ => {
            row.call = Call::Undetermined;
            row.reason = format!(
                "censored: log2_fc {} {fc:.3} leaves the direction open",
                qualifier.symbol()
            );
            return;
        }
    };
    row.call = match up {
        Some(true) if row.p_value < threshold => Call::CrossResistant,
        Some(false) if row.p_value < threshold => Call::CollateralSensitive,
        _ => Call::Neutral,
    };
    if qualifier != Bound::Equal {
        // The bound-and-τ wording of pairing does not apply: this rule has no τ.
        row.reason = format!("censored: log2_fc {} {fc:.3}", qualifier.symbol());
    }
}

/// The row of a pair before anything is compared: names and both values, no shift yet.
fn unpaired_row(
    name: &str,
    parent: &str,
    drug: &str,
    selected_with: &str,
    r: Option<&Estimate>,
    p: Option<&Estimate>,
    metric: Metric,
) -> Shift {
    Shift {
        resistant_line: name.to_string(),
        replicate: r.map(|e| e.replicate.clone()).unwrap_or_default(),
        parental_line: parent.to_string(),
        drug: drug.to_string(),
        selected_with: selected_with.to_string(),
        metric,
        log2_fc: f64::NAN,
        log2_fc_qualifier: None,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        q_value: f64::NAN,
        call: Call::Undetermined,
        value_resistant: r.map_or(f64::NAN, |e| e.value),
        qualifier_resistant: r.and_then(|e| e.qualifier),
        value_parental: p.map_or(f64::NAN, |e| e.value),
        qualifier_parental: p.and_then(|e| e.qualifier),
        reason: String::new(),
        ec50_f_test_p: f64::NAN,
        evidence: Vec::new(),
    }
}

fn pair(
    name: &str,
    parent: &str,
    drug: &str,
    selected_with: &str,
    r: Option<&Estimate>,
    p: Option<&Estimate>,
    s: &ShiftSettings,
) -> Shift {
    let mut row = unpaired_row(name, parent, drug, selected_with, r, p, s.metric);
    let what = if s.metric == Metric::Mic {
        "MIC"
    } else {
        "curve"
    };
    let (r, p) = match (r, p) {
        (None, _) => {
            row.reason = format!("no {what} of {name} for {drug}");
            return row;
        }
        (_, None) => {
            row.reason = format!("no {what} of parental line {parent} for {drug}");
            return row;
        }
        (Some(r), Some(p)) => (r, p),
    };
    let (Some(qr), Some(qp)) = (r.qualifier, p.qualifier) else {
        let which = if r.qualifier.is_none() { r } else { p };
        row.reason = format!(
            "no {} for {}: {}",
            s.metric.name(),
            which.cell_line,
            which.problem
        );
        return row;
    };
    if !(r.value > 0.0 && p.value > 0.0) {
        row.reason = format!("{} is not positive", s.metric.name());
        return row;
    }
    // For an area over a curve a larger value means more inhibition: the ratio is taken the
    // other way round so that log2_fc > 0 means resistance for every metric.
    let fc = if s.metric.larger_is_more_sensitive() {
        (p.value / r.value).log2()
    } else {
        (r.value / p.value).log2()
    };
    let Some(qualifier) = ratio_bound(qr, qp) else {
        row.reason = format!(
            "both {}s censored in opposite directions ({} {}, {} {}): the sign is open",
            s.metric.name(),
            qr.symbol(),
            r.cell_line,
            qp.symbol(),
            p.cell_line
        );
        return row;
    };
    row.log2_fc = fc;
    row.log2_fc_qualifier = Some(qualifier);
    if qualifier == Bound::Equal && (r.hill_at_bound || p.hill_at_bound) {
        if placed_together(&mut row, r, p, s.metric) {
            return row;
        }
        if r.hill_at_bound && p.hill_at_bound {
            compare_centres(&mut row, r, p, s.metric);
        }
    }
    if s.rule == CallRule::Dhawan2017 {
        dhawan_call(&mut row, r, p, qualifier);
        return row;
    }
    if qualifier != Bound::Equal {
        censored_call(&mut row, qualifier, fc, s.tau);
        return row;
    }
    let fc = row.log2_fc;
    welch_interval(&mut row, r, p, fc);
    row
}

/// Where the data place an estimate: the interval of a value whose fit's Hill slope sits at
/// its bound, else its confidence interval (from its standard error, normal quantile, when
/// the interval is missing; the value itself without either).
fn placed(e: &Estimate) -> (f64, f64) {
    let (lo, hi) = e.ci;
    if lo > 0.0 && lo <= e.value && e.value <= hi {
        (lo, hi)
    } else if e.log10_se.is_finite() {
        let half = 1.959_963_984_540_054 * e.log10_se;
        (e.value * 10f64.powf(-half), e.value * 10f64.powf(half))
    } else {
        (e.value, e.value)
    }
}

/// A pair in which a value is placed by the doses (`~`: Hill slope at its bound, or a step):
/// when the intervals the data place the two values in overlap (touching at a dose is not
/// overlapping), the lines are not called different — `neutral`, no p-value, and the CI columns hold the range of log2_fc
/// those intervals allow. Returns whether that decided the row; otherwise the reason says
/// that the intervals, apart, carry the call (their standard errors are the intervals').
fn placed_together(row: &mut Shift, r: &Estimate, p: &Estimate, metric: Metric) -> bool {
    let ((r_lo, r_hi), (p_lo, p_hi)) = (placed(r), placed(p));
    let at_bound: Vec<&str> = [r, p]
        .iter()
        .filter(|e| e.hill_at_bound)
        .map(|e| e.cell_line.as_str())
        .collect();
    let intervals = format!(
        "the data place the {m} of {} within [{r_lo:.4}, {r_hi:.4}] and of {} within [{p_lo:.4}, {p_hi:.4}] (placed by the doses, qualifier ~: {})",
        r.cell_line,
        p.cell_line,
        at_bound.join(", "),
        m = metric.name()
    );
    if r_lo < p_hi && p_lo < r_hi {
        let (low, high) = if metric.larger_is_more_sensitive() {
            ((p_lo / r_hi).log2(), (p_hi / r_lo).log2())
        } else {
            ((r_lo / p_hi).log2(), (r_hi / p_lo).log2())
        };
        row.ci_low = low;
        row.ci_high = high;
        row.call = Call::Neutral;
        row.reason = format!(
            "{intervals}; these overlap, so the lines are not called different (log2_fc anywhere in [{low:.3}, {high:.3}])"
        );
        true
    } else {
        row.reason = format!("{intervals}; apart, so the call rests on these intervals");
        false
    }
}

/// A pair with a value placed by the doses (`~`) in an interval apart from the other's:
/// within its interval the fitted crossing means no more than any other point of it (a
/// steeper curve puts it anywhere there), so the value is taken at its interval's centre
/// (geometric: the middle of the log interval; an ordinary value stays itself), and the Welch
/// test that follows takes the interval's width as its spread (a `~` fit's standard error is
/// its interval's log10 width / 2 t₀.₉₇₅). A crossing fitted near the dose the intervals
/// share would otherwise read as no shift although the data order the lines.
fn compare_centres(row: &mut Shift, r: &Estimate, p: &Estimate, metric: Metric) {
    let centre = |e: &Estimate| {
        if e.hill_at_bound {
            let (lo, hi) = placed(e);
            (lo * hi).sqrt()
        } else {
            e.value
        }
    };
    let (cr, cp) = (centre(r), centre(p));
    let fc = if metric.larger_is_more_sensitive() {
        (cp / cr).log2()
    } else {
        (cr / cp).log2()
    };
    row.reason = format!(
        "{}: log2_fc compares {cr:.4} and {cp:.4}, a value placed by the doses taken at its interval's centre (the fitted values' log2_fc is {:.3})",
        row.reason, row.log2_fc
    );
    // Centres of a dilution series' gaps lie on a lattice (multiples of half a dose step, in
    // log2): two-fold doses put them exactly τ = 1 apart, which rounding must not split into
    // 0.99999999999 on one side and 1 on the other.
    row.log2_fc = (fc * 1e9).round() / 1e9;
}

/// Whether pairing already called the row `neutral` because a Hill slope at its bound left
/// both values in overlapping intervals ([`placed_together`]): an exact ratio with no
/// p-value, called. No other pairing of an exact ratio calls before [`call_shifts`] under
/// the rules that call there.
fn placed_together_decided(row: &Shift) -> bool {
    row.log2_fc_qualifier == Some(Bound::Equal) && row.p_value.is_nan() && row.call == Call::Neutral
}

/// The bound of a ratio of a resistant to a parental value: a censored resistant value bounds
/// it in its direction, a censored parental value in the opposite one; `None` when opposite
/// bounds leave the sign open.
fn ratio_bound(qr: Bound, qp: Bound) -> Option<Bound> {
    let dir = |q: Bound, flip: bool| match (q, flip) {
        (Bound::Equal, _) => Bound::Equal,
        (Bound::Greater, false) | (Bound::Less, true) => Bound::Greater,
        _ => Bound::Less,
    };
    match (dir(qr, false), dir(qp, true)) {
        (Bound::Equal, d) | (d, Bound::Equal) => Some(d),
        (a, b) if a == b => Some(a),
        _ => None,
    }
}

/// The call of a censored log2 fold change: decided only when its bound passes τ.
fn censored_call(row: &mut Shift, qualifier: Bound, fc: f64, tau: f64) {
    row.call = match qualifier {
        Bound::Greater if fc >= tau => Call::CrossResistant,
        Bound::Less if fc <= -tau => Call::CollateralSensitive,
        _ => Call::Undetermined,
    };
    row.reason = if row.call == Call::Undetermined {
        format!(
            "censored: log2_fc {} {fc:.3} does not decide the call at τ = {}",
            qualifier.symbol(),
            tau
        )
    } else {
        format!(
            "censored: the bound log2_fc {} {fc:.3} passes τ = {}",
            qualifier.symbol(),
            tau
        )
    };
}

/// The interval and p-value of an exact log2 fold change from the two estimates' standard
/// errors, Welch–Satterthwaite: each fit contributes its own residual degrees of freedom.
fn welch_interval(row: &mut Shift, r: &Estimate, p: &Estimate, fc: f64) {
    let se = std::f64::consts::LOG2_10 * (r.log10_se.powi(2) + p.log10_se.powi(2)).sqrt();
    if se.is_finite() && se > 0.0 {
        let (a, b) = (r.log10_se.powi(2), p.log10_se.powi(2));
        let df = (a + b).powi(2) / (a * a / r.dof.max(1.0) + b * b / p.dof.max(1.0));
        if let Ok(t) = StudentsT::new(0.0, 1.0, df) {
            let half = t.inverse_cdf(0.975) * se;
            row.ci_low = fc - half;
            row.ci_high = fc + half;
            row.p_value = 2.0 * t.sf((fc / se).abs());
        }
    }
}

fn dhawan_call(row: &mut Shift, r: &Estimate, p: &Estimate, qualifier: Bound) {
    let (rl, rh) = r.ci;
    let (pl, ph) = p.ci;
    if qualifier != Bound::Equal || ![rl, rh, pl, ph].iter().all(|x| x.is_finite()) {
        row.reason = "dhawan2017 rule needs both 95 % CIs".into();
        return;
    }
    row.call = if rh < pl {
        Call::CollateralSensitive
    } else if rl > ph {
        Call::CrossResistant
    } else {
        Call::Neutral
    };
    row.reason = format!("95 % CIs: resistant [{rl:.4}, {rh:.4}], parental [{pl:.4}, {ph:.4}]");
}

/// The reference of rule `maltas-wood`: the parental line's mean metric and its standard
/// error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MaltasWoodReference {
    /// Mean of the parental line's replicate point estimates (or its pooled estimate).
    pub mean: f64,
    /// Standard error of that mean: SD (n − 1) / √n over the replicates, or the pooled fit's
    /// standard error on the metric's scale (delta method: value · ln 10 · se(log10 value)).
    pub se: f64,
    /// Replicates behind the mean (0 when it is the pooled estimate).
    pub n: usize,
    /// Replicates left out: a censored or missing estimate is no point for a mean.
    pub left_out: usize,
}

impl MaltasWoodReference {
    /// The reference from a parental line's estimates for one drug: over its replicate point
    /// estimates when there are at least two (Maltas & Wood's mean ± SE over ancestor
    /// isolates), else from its pooled point estimate's standard error; `None` without either.
    pub fn of(estimates: &[&Estimate]) -> Option<MaltasWoodReference> {
        let replicates: Vec<&&Estimate> = estimates
            .iter()
            .filter(|e| !e.replicate.is_empty())
            .collect();
        let points: Vec<f64> = replicates
            .iter()
            .filter(|e| e.qualifier == Some(Bound::Equal) && e.value.is_finite())
            .map(|e| e.value)
            .collect();
        if points.len() >= 2 {
            let n = points.len() as f64;
            let mean = points.iter().sum::<f64>() / n;
            let var = points.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            return Some(MaltasWoodReference {
                mean,
                se: var.sqrt() / n.sqrt(),
                n: points.len(),
                left_out: replicates.len() - points.len(),
            });
        }
        let pooled = estimates.iter().find(|e| e.replicate.is_empty())?;
        let se = pooled.value * std::f64::consts::LN_10 * pooled.log10_se;
        (pooled.qualifier == Some(Bound::Equal) && se.is_finite()).then_some(MaltasWoodReference {
            mean: pooled.value,
            se,
            n: 0,
            left_out: replicates.len(),
        })
    }
}

/// Rule `maltas-wood`: the call from the resistant estimate against the parental reference.
/// The statistics of the row (log2_fc, CI, p) stay those of the delta method; a censored
/// resistant value is called only when its bound already lies beyond the reference's band.
fn maltas_wood_call(row: &mut Shift, r: Option<&Estimate>, parental: Option<&Vec<&Estimate>>) {
    let Some((r, qualifier)) = r.and_then(|e| e.qualifier.map(|q| (e, q))) else {
        row.call = Call::Undetermined;
        return;
    };
    let Some(reference) = parental.and_then(|p| MaltasWoodReference::of(p)) else {
        row.call = Call::Undetermined;
        row.reason = "maltas-wood rule needs the parental line's replicate point estimates or its standard error".into();
        return;
    };
    let (low, high) = (
        reference.mean - 3.0 * reference.se,
        reference.mean + 3.0 * reference.se,
    );
    let v = r.value;
    row.call = match qualifier {
        Bound::Equal if v < low => Call::CollateralSensitive,
        Bound::Equal if v > high => Call::CrossResistant,
        Bound::Equal => Call::Neutral,
        Bound::Greater if v >= high => Call::CrossResistant,
        Bound::Less if v <= low => Call::CollateralSensitive,
        _ => Call::Undetermined,
    };
    let over = if reference.n > 0 {
        let left = if reference.left_out > 0 {
            format!("; {} censored or missing left out", reference.left_out)
        } else {
            String::new()
        };
        format!("mean and SE of {} replicates{left}", reference.n)
    } else {
        "the pooled fit's SE".to_string()
    };
    let earlier = if row.log2_fc.is_nan() && !row.reason.is_empty() {
        format!("; log2_fc: {}", row.reason)
    } else {
        String::new()
    };
    let open = if row.call == Call::Undetermined {
        ": the bound does not decide"
    } else {
        ""
    };
    row.reason = format!(
        "maltas-wood: {} {} {v:.4} against parental {:.4} ± 3 × {:.4} ({over}){open}{earlier}",
        row.metric.name(),
        qualifier.symbol(),
        reference.mean,
        reference.se
    );
}

/// Benjamini–Hochberg q-values; NaN p-values stay NaN and do not count towards m.
pub(crate) fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = idx.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank as f64 + 1.0));
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::CellLine;

    #[test]
    fn bh_matches_r_p_adjust() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA, 0.5), "BH")
        //    0.025 0.050 0.050 0.025 NA 0.5  (m = 5 non-missing)
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, f64::NAN, 0.5]);
        let want = [0.025, 0.05, 0.05, 0.025, f64::NAN, 0.5];
        for (a, b) in q.iter().zip(want) {
            assert!((a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12, "{q:?}");
        }
    }

    fn est(line: &str, value: f64, q: Bound, se: f64) -> Estimate {
        Estimate {
            cell_line: line.into(),
            replicate: String::new(),
            drug: "d".into(),
            value,
            qualifier: Some(q),
            log10_se: se,
            dof: 20.0,
            ci: (value / 2.0, value * 2.0),
            problem: String::new(),
            hill_at_bound: false,
            batch: String::new(),
        }
    }

    fn lines() -> LinesTable {
        LinesTable {
            path: "l.csv".into(),
            lines: vec![
                CellLine {
                    name: "P".into(),
                    parental_line: None,
                    selected_with: None,
                    lineage: "P".into(),
                    evolution_time: None,
                    doubling_time_h: None,
                    line: 2,
                },
                CellLine {
                    name: "R".into(),
                    parental_line: Some("P".into()),
                    selected_with: Some("x".into()),
                    lineage: "R".into(),
                    evolution_time: None,
                    doubling_time_h: None,
                    line: 3,
                },
            ],
            has_lineage: false,
            has_evolution_time: false,
        }
    }

    fn one(r: Estimate, p: Estimate) -> Shift {
        compute_shifts(&[p, r], &lines(), &Checked::default()).remove(0)
    }

    #[test]
    fn delta_method_statistics() {
        let s = one(
            est("R", 8.0, Bound::Equal, 0.1),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.log2_fc, 3.0);
        let se = std::f64::consts::LOG2_10 * (0.02f64).sqrt();
        // df = 40 for equal SEs with 20 each: t(0.975, 40) = 2.021075
        assert!((s.ci_high - 3.0 - 2.021075 * se).abs() < 1e-5, "{s:?}");
        assert!(s.p_value < 1e-6);
        assert_eq!(s.call, Call::CrossResistant);
        let s = one(
            est("R", 0.9, Bound::Equal, 0.1),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.call, Call::Neutral);
        let s = one(
            est("R", 0.1, Bound::Equal, 0.5),
            est("P", 1.0, Bound::Equal, 0.5),
        );
        assert_eq!(s.call, Call::Neutral, "large but not significant: {s:?}");
    }

    #[test]
    fn censored_ratios_are_called_only_when_the_bound_decides() {
        let s = one(
            est("R", 10.0, Bound::Greater, f64::NAN),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(
            (s.log2_fc_qualifier, s.call),
            (Some(Bound::Greater), Call::CrossResistant)
        );
        let s = one(
            est("R", 1.5, Bound::Greater, f64::NAN),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("does not decide"));
        // Parental censored above: the ratio is bounded above.
        let s = one(
            est("R", 1.0, Bound::Equal, 0.1),
            est("P", 10.0, Bound::Greater, f64::NAN),
        );
        assert_eq!(
            (s.log2_fc_qualifier, s.call),
            (Some(Bound::Less), Call::CollateralSensitive)
        );
        // Both above the range: the sign is open.
        let s = one(
            est("R", 10.0, Bound::Greater, f64::NAN),
            est("P", 10.0, Bound::Greater, f64::NAN),
        );
        assert_eq!((s.log2_fc_qualifier, s.call), (None, Call::Undetermined));
        assert!(s.log2_fc.is_nan());
    }

    /// A value whose fit's Hill slope sits at its bound, placed only within `lo`–`hi`.
    fn at_bound(line: &str, value: f64, lo: f64, hi: f64) -> Estimate {
        let mut e = est(line, value, Bound::Equal, (hi / lo).log10() / 4.0);
        e.ci = (lo, hi);
        e.hill_at_bound = true;
        e
    }

    #[test]
    fn values_placed_in_overlapping_intervals_are_never_called_different() {
        // Both in the gap 1–3 (fitted crossings at its two ends, with standard errors that
        // alone would make the 2.3-fold ratio significant): neutral, no p-value, and the CI
        // columns hold the ratios the gap allows.
        let mut r = at_bound("R", 2.5, 1.0, 3.0);
        r.log10_se = 0.01;
        let s = one(r, at_bound("P", 1.1, 1.0, 3.0));
        assert_eq!(s.call, Call::Neutral, "{s:?}");
        assert!(s.p_value.is_nan());
        assert!((s.ci_low + 3f64.log2()).abs() < 1e-12 && (s.ci_high - 3f64.log2()).abs() < 1e-12);
        assert!(
            s.reason
                .contains("these overlap, so the lines are not called different"),
            "{}",
            s.reason
        );
        assert!(
            s.reason.contains("placed by the doses, qualifier ~: R, P"),
            "{}",
            s.reason
        );
        // One at the bound, the other a narrow ordinary interval inside the gap: the same.
        let s = one(
            at_bound("R", 2.9, 1.0, 3.0),
            est("P", 1.2, Bound::Equal, 0.01),
        );
        assert_eq!(s.call, Call::Neutral, "{s:?}");
        // Every rule: nichol2019 and maltas-wood would call these from their p-value or band.
        for rule in [
            CallRule::Nichol2019,
            CallRule::MaltasWood,
            CallRule::Dhawan2017,
        ] {
            let settings = ShiftSettings {
                rule,
                ..Default::default()
            }
            .check()
            .unwrap();
            let rows = compute_shifts(
                &[
                    est("P", 1.2, Bound::Equal, 0.01),
                    at_bound("R", 2.9, 1.0, 3.0),
                ],
                &lines(),
                &settings,
            );
            assert_eq!(rows[0].call, Call::Neutral, "{rule:?}: {:?}", rows[0]);
        }
    }

    #[test]
    fn values_placed_in_neighbouring_gaps_are_compared_with_the_intervals_errors() {
        // Touching at the dose 3 is not overlapping: the sign is known, and the call is the
        // rule's, on the centres of the intervals (√27 and √3: one three-fold step) and
        // their standard errors (log10 width / 4 here).
        let s = one(at_bound("R", 5.2, 3.0, 9.0), at_bound("P", 1.7, 1.0, 3.0));
        assert!((s.log2_fc - 3f64.log2()).abs() < 1e-9, "{s:?}");
        assert_eq!(s.call, Call::CrossResistant, "{s:?}");
        assert!(s.p_value < 0.05);
        assert!(
            s.reason.contains(
                "apart, so the call rests on these intervals: log2_fc compares 5.1962 and 1.7321"
            ),
            "{}",
            s.reason
        );
        // Fitted values close to the dose the intervals share (log2_fc 0.14 from them): the
        // data still order the lines a dose step apart, and the centres say so.
        let s = one(at_bound("R", 3.2, 3.0, 9.0), at_bound("P", 2.9, 1.0, 3.0));
        assert_eq!(s.call, Call::CrossResistant, "{s:?}");
        assert!((s.log2_fc - 3f64.log2()).abs() < 1e-9, "{s:?}");
        assert!(
            s.reason.contains("(the fitted values' log2_fc is 0.142)"),
            "{}",
            s.reason
        );
        // Only one placed by the doses: the other value is an ordinary estimate, and the
        // fitted values are compared (apart, below τ: neutral, saying why).
        let mut p = est("P", 2.9, Bound::Equal, 0.01);
        p.ci = (2.8, 2.99);
        let s = one(at_bound("R", 3.2, 3.0, 9.0), p);
        assert_eq!(s.call, Call::Neutral, "{s:?}");
        assert!((s.log2_fc - (3.2f64 / 2.9).log2()).abs() < 1e-12, "{s:?}");
        assert!(s.reason.contains("apart"), "{}", s.reason);
        // Two-fold doses: the centres of neighbouring gaps are exactly τ = 1 apart, and both
        // directions are called alike (no 0.99999999999 on one side).
        let up = one(at_bound("R", 2.1, 2.0, 4.0), at_bound("P", 1.9, 1.0, 2.0));
        let down = one(at_bound("R", 1.9, 1.0, 2.0), at_bound("P", 2.1, 2.0, 4.0));
        assert_eq!((up.log2_fc, down.log2_fc), (1.0, -1.0), "{up:?} {down:?}");
        assert_eq!(up.call, Call::CrossResistant, "{up:?}");
        assert_eq!(down.call, Call::CollateralSensitive, "{down:?}");
    }

    #[test]
    fn missing_fits_are_undetermined_with_a_reason() {
        let mut bad = est("R", f64::NAN, Bound::Equal, 0.1);
        bad.qualifier = None;
        bad.problem = "failed: did not converge".into();
        let s = one(bad, est("P", 1.0, Bound::Equal, 0.1));
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("did not converge"), "{}", s.reason);
        let rows = compute_shifts(
            &[est("R", 1.0, Bound::Equal, 0.1)],
            &lines(),
            &Checked::default(),
        );
        assert_eq!(rows[0].call, Call::Undetermined);
        assert!(rows[0].reason.contains("no curve of parental line P"));
    }

    #[test]
    fn dhawan_rule_uses_ci_overlap() {
        let settings = ShiftSettings {
            rule: CallRule::Dhawan2017,
            ..Default::default()
        }
        .check()
        .unwrap();
        let run = |r: Estimate, p: Estimate| compute_shifts(&[p, r], &lines(), &settings).remove(0);
        assert_eq!(
            run(
                est("R", 0.1, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::CollateralSensitive
        );
        assert_eq!(
            run(
                est("R", 0.6, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::Neutral
        );
        assert_eq!(
            run(
                est("R", 9.0, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::CrossResistant
        );
    }

    #[test]
    fn maltas_wood_rule_uses_three_standard_errors_of_the_parental_replicates() {
        let settings = ShiftSettings {
            rule: CallRule::MaltasWood,
            ..Default::default()
        }
        .check()
        .unwrap();
        // Five ancestor isolates: mean 100, SD √62.5, SE √12.5 = 3.5355; band 89.39 to 110.61.
        let mut estimates = vec![est("P", 100.0, Bound::Equal, 0.01)];
        for (i, v) in [100.0, 110.0, 90.0, 105.0, 95.0].into_iter().enumerate() {
            let mut e = est("P", v, Bound::Equal, 0.01);
            e.replicate = (i + 1).to_string();
            estimates.push(e);
        }
        let mut censored = est("P", 1000.0, Bound::Greater, f64::NAN);
        censored.replicate = "6".into();
        estimates.push(censored);
        let reference = MaltasWoodReference::of(&estimates.iter().collect::<Vec<_>>()).unwrap();
        assert!((reference.mean - 100.0).abs() < 1e-12);
        assert!((reference.se - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((reference.n, reference.left_out), (5, 1));
        let call = |r: Estimate| {
            let mut all = estimates.clone();
            all.push(r);
            compute_shifts(&all, &lines(), &settings).remove(0)
        };
        // No fold-change threshold: a 12 % drop beyond the band is CS.
        let s = call(est("R", 88.0, Bound::Equal, 0.01));
        assert_eq!(s.call, Call::CollateralSensitive, "{s:?}");
        assert!(
            s.reason.contains("against parental 100.0000 ± 3 × 3.5355 (mean and SE of 5 replicates; 1 censored or missing left out)"),
            "{}",
            s.reason
        );
        assert!((s.log2_fc - (88.0f64 / 100.0).log2()).abs() < 1e-12);
        assert!(s.p_value.is_finite(), "the delta-method statistics stay");
        assert_eq!(call(est("R", 90.0, Bound::Equal, 0.01)).call, Call::Neutral);
        assert_eq!(
            call(est("R", 110.0, Bound::Equal, 0.01)).call,
            Call::Neutral
        );
        assert_eq!(
            call(est("R", 111.0, Bound::Equal, 0.01)).call,
            Call::CrossResistant
        );
        // A bound is called only when it lies beyond the band already.
        assert_eq!(
            call(est("R", 120.0, Bound::Greater, f64::NAN)).call,
            Call::CrossResistant
        );
        let s = call(est("R", 105.0, Bound::Greater, f64::NAN));
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("does not decide"), "{}", s.reason);
        // Without two replicate point estimates: the pooled fit's standard error.
        let pooled = [est("P", 100.0, Bound::Equal, 0.01)];
        let reference = MaltasWoodReference::of(&pooled.iter().collect::<Vec<_>>()).unwrap();
        assert!((reference.se - 100.0 * std::f64::consts::LN_10 * 0.01).abs() < 1e-12);
        assert_eq!(reference.n, 0);
        let s = compute_shifts(
            &[pooled[0].clone(), est("R", 92.0, Bound::Equal, 0.01)],
            &lines(),
            &settings,
        )
        .remove(0);
        assert_eq!(s.call, Call::CollateralSensitive, "{}", s.reason);
        assert!(s.reason.contains("the pooled fit's SE"), "{}", s.reason);
        // The rule's name in assay files and on the command line.
        let parsed: CallRule = serde_json::from_value(serde_json::json!("maltas-wood")).unwrap();
        assert_eq!(parsed, CallRule::MaltasWood);
        // MICs have no IC50 scale for a mean ± 3 SE.
        let mic = ShiftSettings {
            metric: Metric::Mic,
            ..settings.into_inner()
        };
        assert!(mic.problems().iter().any(|(k, _)| *k == "rule"));
    }
}
