//! The two-fold dilution error model of Nichol et al. 2019: the maximum-likelihood MIC of
//! each line and drug, the pooled error rate, and the likelihood-ratio test of two lines.

use std::collections::BTreeMap;

use super::ladder::{Ladder, Rung};
use super::{Mic, MicQualifier, MicSettings};
use crate::shift::{Bound, Estimate};

/// How a measurement relates to its step on the dilution grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    /// The measured MIC is this step.
    Exact,
    /// The measured MIC is above this step.
    Above,
    /// The measured MIC is at or below this step.
    AtOrBelow,
    /// The value is the mean of two readings, this step and the next one up: either.
    Between,
}

/// One measurement on the grid: a step (0 = the drug's largest MIC, −1 half of it, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Measurement {
    pub(super) step: i64,
    pub(super) reading: Reading,
}

impl Measurement {
    /// Whether a measured MIC of `outcome` steps agrees with this reading.
    fn admits(self, outcome: i64) -> bool {
        match self.reading {
            Reading::Exact => outcome == self.step,
            Reading::Above => outcome > self.step,
            Reading::AtOrBelow => outcome <= self.step,
            Reading::Between => outcome == self.step || outcome == self.step + 1,
        }
    }

    /// The probability of this reading given the true MIC `m` under the robust model: the
    /// measurement is m with probability 1 − e − ε, m ± 1 with e/2 each, and m ± j (j ≥ 2) with
    /// (ε/2)·2^−(j−1) (half of ε either side, halving with each further step).
    fn robust_probability(self, m: i64, r: Rates) -> f64 {
        // P(measured − m ≤ d).
        let cdf = |d: i64| -> f64 {
            let (e, f) = (r.step, r.far);
            match d {
                d if d <= -2 => f / 2.0 * 2f64.powi((d + 2).max(-1000) as i32),
                -1 => (e + f) / 2.0,
                0 => 1.0 - (e + f) / 2.0,
                d => 1.0 - f / 2.0 * 2f64.powi((1 - d).max(-1000) as i32),
            }
        };
        let s = self.step - m;
        let p = match self.reading {
            Reading::Exact => cdf(s) - cdf(s - 1),
            Reading::Above => 1.0 - cdf(s),
            Reading::AtOrBelow => cdf(s),
            Reading::Between => cdf(s + 1) - cdf(s - 1),
        };
        p.max(0.0)
    }

    /// The probability of this reading given the true MIC `m`, as (weight of 1 − e, weight of
    /// e/2): the measurement is m with probability 1 − e, m ± 1 with e/2 each.
    fn weights(self, m: i64) -> (u8, u8) {
        (
            u8::from(self.admits(m)),
            u8::from(self.admits(m - 1)) + u8::from(self.admits(m + 1)),
        )
    }

    fn log_likelihood(self, m: i64, r: Rates) -> f64 {
        if r.far > 0.0 {
            return self.robust_probability(m, r).ln();
        }
        let (on, off) = self.weights(m);
        let e = r.step;
        (f64::from(on) * (1.0 - e) + f64::from(off) * e / 2.0).ln()
    }
}

/// The error rates of the dilution model: `step`, a reading one step off (e); `far`, a reading
/// two or more steps off (ε; 0 is the model of Nichol et al. 2019, where such a reading is
/// impossible).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rates {
    pub(super) step: f64,
    pub(super) far: f64,
}

impl From<f64> for Rates {
    fn from(step: f64) -> Rates {
        Rates { step, far: 0.0 }
    }
}

pub(super) fn log_likelihood(ms: &[Measurement], m: i64, e: impl Into<Rates>) -> f64 {
    let r = e.into();
    ms.iter().map(|x| x.log_likelihood(m, r)).sum()
}

/// The maximum-likelihood MIC of a line × drug, in steps of the drug's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MleMic {
    /// The MLE is this step.
    At(i64),
    /// Every measurement lies above this step (the largest bound): the MLE is above it.
    Above(i64),
    /// Every measurement lies at or below this step (the smallest bound).
    AtOrBelow(i64),
}

/// The MLE of the true MIC from `ms` at error rate `e`, with its log-likelihood; `None` when no
/// MIC explains every measurement (replicates more than one step either side of any value).
pub(super) fn mle(ms: &[Measurement], e: impl Into<Rates>) -> Option<(MleMic, f64)> {
    let e = e.into();
    let lo = ms.iter().map(|x| x.step).min()?;
    let hi = ms
        .iter()
        .map(|x| x.step + i64::from(x.reading == Reading::Between))
        .max()?;
    // One-sided censoring throughout: every MIC far enough out explains them all.
    if ms.iter().all(|x| x.reading == Reading::Above) {
        return Some((MleMic::Above(hi), 0.0));
    }
    if ms.iter().all(|x| x.reading == Reading::AtOrBelow) {
        return Some((MleMic::AtOrBelow(lo), 0.0));
    }
    let mut best: Option<(i64, f64)> = None;
    for m in (lo - 2)..=(hi + 2) {
        let ll = log_likelihood(ms, m, e);
        // Strictly greater: a tie keeps the lower MIC (as the authors' pooled median does).
        if ll > f64::NEG_INFINITY && best.is_none_or(|(_, b)| ll > b) {
            best = Some((m, ll));
        }
    }
    best.map(|(m, ll)| (MleMic::At(m), ll))
}

/// The highest log-likelihood of `a` and `b` with `b`'s true MIC `delta` steps above `a`'s.
pub(super) fn profile(a: &[Measurement], b: &[Measurement], delta: i64, e: Rates) -> f64 {
    let (Some(alo), Some(ahi)) = (
        a.iter().map(|x| x.step).min(),
        a.iter().map(|x| x.step).max(),
    ) else {
        return f64::NEG_INFINITY;
    };
    let (Some(blo), Some(bhi)) = (
        b.iter().map(|x| x.step).min(),
        b.iter().map(|x| x.step).max(),
    ) else {
        return f64::NEG_INFINITY;
    };
    // Far enough either way that both reach any plateau of one-sided censoring.
    let from = alo.min(blo - delta) - 3;
    let to = ahi.max(bhi - delta) + 3;
    (from..=to)
        .map(|m| log_likelihood(a, m, e) + log_likelihood(b, m + delta, e))
        .fold(f64::NEG_INFINITY, f64::max)
}

/// The maximum-likelihood error rate for fixed MLEs: maximizes Σ ln(w₁(1 − e) + w₂ e/2) over
/// the measurements' weights, on [0, 2/3] (beyond 2/3 an off-by-one reading would be likelier
/// than a correct one and the model no longer says which value is the MIC).
pub(super) fn error_rate_for(weights: &BTreeMap<(u8, u8), usize>) -> f64 {
    let term = |(on, off): (u8, u8), e: f64| f64::from(on) * (1.0 - e) + f64::from(off) * e / 2.0;
    let slope = |e: f64| -> f64 {
        weights
            .iter()
            .map(|(&(on, off), &n)| {
                n as f64 * (f64::from(off) / 2.0 - f64::from(on)) / term((on, off), e)
            })
            .sum()
    };
    let count = |k: (u8, u8)| weights.get(&k).copied().unwrap_or(0);
    // Only exact readings: the closed form of the notebook, off-MLE over all.
    if weights
        .keys()
        .all(|&(on, off)| matches!((on, off), (1, 0) | (0, 1) | (0, 2) | (1, 2)))
    {
        let (right, wrong) = (count((1, 0)), count((0, 1)) + count((0, 2)));
        let e = if right + wrong == 0 {
            0.0
        } else {
            wrong as f64 / (right + wrong) as f64
        };
        return e.min(2.0 / 3.0);
    }
    // The log-likelihood is concave in e: bisect its slope.
    let (mut lo, mut hi) = (0.0f64, 2.0 / 3.0);
    if slope(hi) >= 0.0 {
        return hi;
    }
    if slope(lo) <= 0.0 {
        return lo;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if slope(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The replicate MICs of one line × drug on the dilution grid, and their MLE.
#[derive(Debug, Clone, PartialEq)]
pub struct MicCell {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// Number of replicate MICs.
    pub measurements: usize,
    /// The MLE MIC (steps of the drug's grid); `None` with `problem` when there is none.
    pub mle: Option<MleMic>,
    /// Why there is no MLE, else empty.
    pub problem: String,
    grid: Vec<Measurement>,
    /// `problem` says the model cannot explain the readings (refitted with ε, it may).
    unexplained: bool,
}

/// Result of the likelihood-ratio test of one resistant line against its parental line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MicTest {
    /// D = 2 [ℓ(separate MICs) − ℓ(one MIC)] (infinite when one MIC cannot explain both).
    pub statistic: f64,
    /// P(χ²₁ ≥ D).
    pub p_value: f64,
    /// 95 % likelihood interval of the step difference (resistant − parental): every
    /// difference the same test does not reject at 5 %; NaN where it is open.
    pub(crate) ci_steps: (f64, f64),
}

/// χ² with 1 df, 0.95 quantile.
pub(super) const CHI2_1_95: f64 = 3.841_458_820_694_124;

/// Steps further than this (in log2) from a two-fold dilution of the drug's largest MIC are off
/// the grid: 0.1 admits rounded labels (0.06 for 0.0625, 0.004 for 0.0039) and rejects
/// three-fold or half-log series.
pub(super) const GRID_TOLERANCE: f64 = 0.1;

/// The largest of `doses` that is not a two-fold dilution of the largest dose (within 0.1
/// log2, as the dilution model allows), with how many two-fold steps below it lies; `None`
/// when every dose is on the grid. MICs read from such a series cannot be compared by the
/// dilution error model (`validate` warns of it before a run).
pub fn off_two_fold_grid(doses: &[f64]) -> Option<(f64, f64)> {
    let top = doses
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d > 0.0)
        .fold(f64::NAN, f64::max);
    doses
        .iter()
        .copied()
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| (d, -(d / top).log2()))
        .filter(|(_, steps)| (steps - steps.round()).abs() > GRID_TOLERANCE)
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The dilution error model fitted to a table of replicate MICs.
#[derive(Debug, Clone, PartialEq)]
pub struct DilutionModel {
    /// The pooled maximum-likelihood error rate e; NaN when no line × drug has two MICs.
    pub error_rate: f64,
    /// The rate ε of readings two or more steps off (0: the model of Nichol et al. 2019).
    pub(crate) far_error_rate: f64,
    /// Line × drug cells whose replicates entered e.
    pub(crate) cells_in_error_rate: usize,
    /// Measurements that entered e.
    pub measurements_in_error_rate: usize,
    /// Each drug's largest MIC (step 0 of its grid).
    pub reference: BTreeMap<String, f64>,
    /// Each drug's ladder: its steps.
    pub ladders: BTreeMap<String, Ladder>,
    /// Each drug's values recognised as means of two neighbouring steps.
    pub averaged: BTreeMap<String, Vec<f64>>,
    /// Each drug's values that lie on no step of its ladder (their cells get no estimate).
    pub(crate) unplaced: BTreeMap<String, Vec<f64>>,
    /// Every line × drug, by (cell line, drug).
    pub cells: BTreeMap<(String, String), MicCell>,
}

/// Each drug's ladder: declared in `settings`, else inferred from its values.
pub fn ladders_of(mics: &[Mic], settings: &MicSettings) -> BTreeMap<String, (Ladder, Vec<f64>)> {
    let mut values: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for m in mics {
        values.entry(&m.drug).or_default().push(m.mic);
    }
    values
        .into_iter()
        .filter_map(|(drug, v)| {
            let list = settings.ladder.get(drug).map(Vec::as_slice);
            let declared = super::ladder::declared(list, settings.ladder_factor, &v);
            let found = match declared {
                Some(l) => Some((l, Vec::new())),
                None => super::ladder::infer(&v),
            };
            found.map(|f| (drug.to_string(), f))
        })
        .collect()
}

impl DilutionModel {
    /// [`DilutionModel::fit_with`] the default settings: ladders inferred, ε = 0.
    pub fn fit(mics: &[Mic]) -> DilutionModel {
        DilutionModel::fit_with(mics, &MicSettings::default())
    }

    /// Places every MIC on its drug's ladder, estimates the MLE MIC of each line × drug and
    /// the pooled error rates (alternating the two until the MLEs stop changing; with exact
    /// MICs on a two-fold grid and no reading two steps off its MLE they do not depend on e and
    /// one pass is the authors' computation).
    pub fn fit_with(mics: &[Mic], settings: &MicSettings) -> DilutionModel {
        let mut reference: BTreeMap<String, f64> = BTreeMap::new();
        for m in mics {
            let r = reference.entry(m.drug.clone()).or_insert(m.mic);
            *r = r.max(m.mic);
        }
        let found = ladders_of(mics, settings);
        let mut unplaced: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut cells: BTreeMap<(String, String), MicCell> = BTreeMap::new();
        for m in mics {
            let cell = cells
                .entry((m.cell_line.clone(), m.drug.clone()))
                .or_insert_with(|| MicCell {
                    cell_line: m.cell_line.clone(),
                    drug: m.drug.clone(),
                    measurements: 0,
                    mle: None,
                    problem: String::new(),
                    grid: Vec::new(),
                    unexplained: false,
                });
            cell.measurements += 1;
            let rung = found.get(&m.drug).and_then(|(l, _)| l.place(m.mic));
            let (step, between) = match rung {
                Some(Rung::At(s)) => (s, false),
                Some(Rung::Between(s)) => (s, true),
                None => {
                    unplaced.entry(m.drug.clone()).or_default().push(m.mic);
                    if cell.problem.is_empty() {
                        cell.problem = unplaced_reason(m, found.get(&m.drug).map(|f| &f.0));
                    }
                    continue;
                }
            };
            cell.grid.push(Measurement {
                step,
                reading: match (m.qualifier, between) {
                    (_, true) => Reading::Between,
                    (MicQualifier::Equal, _) => Reading::Exact,
                    (MicQualifier::Above, _) => Reading::Above,
                    (MicQualifier::AtOrBelow, _) => Reading::AtOrBelow,
                },
            });
        }
        for cell in cells.values_mut() {
            if !cell.problem.is_empty() {
                cell.grid.clear();
            }
        }
        for v in unplaced.values_mut() {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        let mut model = DilutionModel {
            error_rate: f64::NAN,
            far_error_rate: 0.0,
            cells_in_error_rate: 0,
            measurements_in_error_rate: 0,
            reference,
            averaged: found
                .iter()
                .filter(|(_, f)| !f.1.is_empty())
                .map(|(d, f)| (d.clone(), f.1.clone()))
                .collect(),
            ladders: found.into_iter().map(|(d, f)| (d, f.0)).collect(),
            unplaced,
            cells,
        };
        model.estimate(0.0);
        match (settings.outlier_rate, settings.robust) {
            (Some(far), _) if far > 0.0 => model.estimate(far),
            (Some(_), _) | (None, false) => {}
            // Estimated: only when a reading lies two or more steps off its cell's MLE under
            // the robust model does ε enter (else the model is Nichol's, bit for bit).
            (None, true) => {
                let mut far = 0.01;
                for _ in 0..20 {
                    model.estimate(far);
                    let next = model.far_share();
                    if (next - far).abs() < 1e-9 {
                        break;
                    }
                    far = next;
                }
                if far == 0.0 {
                    model.estimate(0.0);
                }
            }
        }
        model
    }

    /// The share of exact readings two or more steps off their cell's MLE (cells of two or
    /// more readings): the estimate of ε at the current MLEs, capped at half the step rate's
    /// complement so a correct reading stays the likeliest.
    fn far_share(&self) -> f64 {
        let (mut far, mut n) = (0usize, 0usize);
        for c in self.cells.values() {
            let Some(MleMic::At(m)) = c.mle else { continue };
            if c.grid.len() < 2 {
                continue;
            }
            for x in c.grid.iter().filter(|x| x.reading == Reading::Exact) {
                n += 1;
                far += usize::from((x.step - m).abs() >= 2);
            }
        }
        if n == 0 {
            return 0.0;
        }
        (far as f64 / n as f64).min(0.2)
    }
    /// Alternates MLE MICs at the current e and e at the current MLEs, with ε fixed at `far`
    /// (readings two or more steps off their MLE count for ε, not for e).
    fn estimate(&mut self, far: f64) {
        for c in self.cells.values_mut() {
            c.mle = None;
            if c.unexplained {
                c.unexplained = false;
                c.problem.clear();
            }
        }
        self.far_error_rate = far;
        // Cells that say something about e: a single measurement always equals its own MLE,
        // so it would count as error-free whatever e is.
        let informative = |c: &MicCell| c.grid.len() >= 2;
        let rates = |e: f64| Rates { step: e, far };
        let mut e = 0.1;
        let mut previous: Vec<Option<MleMic>> = Vec::new();
        for _ in 0..100 {
            let mles: Vec<Option<MleMic>> = self
                .cells
                .values()
                .map(|c| mle(&c.grid, rates(e)).map(|(m, _)| m))
                .collect();
            let mut weights: BTreeMap<(u8, u8), usize> = BTreeMap::new();
            let (mut n_cells, mut n_meas) = (0, 0);
            for (c, m) in self.cells.values().zip(&mles) {
                let Some(MleMic::At(m)) = m else {
                    continue; // no MLE, or censored: every e explains a plateau equally
                };
                if !informative(c) {
                    continue;
                }
                n_cells += 1;
                n_meas += c.grid.len();
                for x in &c.grid {
                    let w = x.weights(*m);
                    if w != (0, 0) {
                        *weights.entry(w).or_default() += 1;
                    }
                }
            }
            let done = mles == previous;
            previous = mles;
            self.cells_in_error_rate = n_cells;
            self.measurements_in_error_rate = n_meas;
            if n_cells == 0 {
                e = f64::NAN;
                break;
            }
            e = error_rate_for(&weights);
            if far > 0.0 {
                e = e.min(1.0 - far - 1e-9);
            }
            if done {
                break;
            }
        }
        self.error_rate = e;
        // The MLEs at the final e (at NaN only one-measurement or censored cells exist, whose
        // MLE does not depend on e; 0.1 stands in for it).
        let at = if e.is_finite() { e } else { 0.1 };
        for c in self.cells.values_mut() {
            if !c.problem.is_empty() {
                continue;
            }
            match mle(&c.grid, rates(at)) {
                Some((m, _)) => c.mle = Some(m),
                None => {
                    c.unexplained = true;
                    let step = match self.ladders.get(&c.drug) {
                        Some(Ladder::TwoFold { .. }) => "two-fold step",
                        _ => "ladder step",
                    };
                    c.problem = format!(
                        "the replicate MICs of {} for {} span more than one {step} either side of any value; the dilution error model cannot explain them (`[mic] robust = true` allows readings further off)",
                        c.cell_line, c.drug
                    );
                }
            }
        }
    }

    /// The MIC value of a step of `drug`'s ladder.
    pub fn value(&self, drug: &str, step: i64) -> f64 {
        // Steps of finite positive MICs stay within ±2,200 (the range of f64).
        self.ladders.get(drug).map_or(f64::NAN, |l| l.value(step))
    }

    /// A difference of `steps` ladder steps above `parental`'s MLE MIC of `drug`, in log2
    /// units: the steps themselves on a two-fold ladder, the ladder's own spacing on others.
    pub(crate) fn steps_to_log2(&self, drug: &str, parental: &str, steps: f64) -> f64 {
        let Some(Ladder::Steps(_)) = self.ladders.get(drug) else {
            return steps;
        };
        let cell = self.cells.get(&(parental.to_string(), drug.to_string()));
        let base = match cell.and_then(|c| c.mle) {
            Some(MleMic::At(m) | MleMic::Above(m) | MleMic::AtOrBelow(m)) => m,
            None => return f64::NAN,
        };
        if !steps.is_finite() {
            return steps;
        }
        (self.value(drug, base + steps as i64) / self.value(drug, base)).log2()
    }

    /// The MLE MIC of every line × drug as an estimate for pairing: the value on the drug's
    /// two-fold grid (so log2 ratios are whole dilution steps) with `=`, or the bound with `>` /
    /// `<` when every replicate is censored on that side (`<` stands for the MIC's `<=`).
    pub fn estimates(&self) -> Vec<Estimate> {
        self.cells
            .values()
            .map(|c| {
                let (value, qualifier) = match c.mle {
                    Some(MleMic::At(m)) => (self.value(&c.drug, m), Some(Bound::Equal)),
                    Some(MleMic::Above(m)) => (self.value(&c.drug, m), Some(Bound::Greater)),
                    Some(MleMic::AtOrBelow(m)) => (self.value(&c.drug, m), Some(Bound::Less)),
                    None => (f64::NAN, None),
                };
                Estimate {
                    cell_line: c.cell_line.clone(),
                    replicate: String::new(),
                    drug: c.drug.clone(),
                    value,
                    qualifier,
                    log10_se: f64::NAN,
                    dof: f64::NAN,
                    ci: (f64::NAN, f64::NAN),
                    problem: c.problem.clone(),
                    hill_at_bound: false,
                    batch: String::new(),
                }
            })
            .collect()
    }

    /// The likelihood-ratio test of `resistant` against `parental` for `drug`, or why there is
    /// none.
    pub fn test(
        &self,
        resistant: &str,
        parental: &str,
        drug: &str,
    ) -> std::result::Result<MicTest, String> {
        let e = Rates {
            step: self.error_rate,
            far: self.far_error_rate,
        };
        if !e.step.is_finite() {
            return Err(
                "no line and drug has two or more MICs, so the error rate of the dilution model cannot be estimated (give replicate labels)"
                    .into(),
            );
        }
        let get = |line: &str| {
            self.cells
                .get(&(line.to_string(), drug.to_string()))
                .filter(|c| c.mle.is_some())
                .ok_or_else(|| format!("no MIC of {line} for {drug}"))
        };
        let (r, p) = (get(resistant)?, get(parental)?);
        let (Some((_, lr)), Some((_, lp))) = (mle(&r.grid, e), mle(&p.grid, e)) else {
            return Err("no MLE MIC".into());
        };
        let pooled: Vec<Measurement> = r.grid.iter().chain(&p.grid).copied().collect();
        let null = mle(&pooled, e).map_or(f64::NEG_INFINITY, |(_, ll)| ll);
        // ≥ 0 by construction; max(0) only absorbs the rounding of sums of logarithms. A line
        // whose every replicate equals the parental mode is never called different, whatever
        // an outlying parental replicate does to the parental MLE.
        let statistic = if at_mode(&r.grid, &p.grid) {
            0.0
        } else {
            (2.0 * (lr + lp - null)).max(0.0)
        };
        let p_value = if statistic.is_infinite() {
            0.0
        } else {
            statrs::function::erf::erfc((statistic / 2.0).sqrt())
        };
        // The likelihood interval: step differences not rejected at 5 %.
        let lo_step = |g: &[Measurement]| g.iter().map(|x| x.step).min().unwrap_or(0);
        let hi_step = |g: &[Measurement]| g.iter().map(|x| x.step).max().unwrap_or(0);
        let from = lo_step(&r.grid) - hi_step(&p.grid) - 4;
        let to = hi_step(&r.grid) - lo_step(&p.grid) + 4;
        let best = lr + lp;
        let kept: Vec<i64> = (from..=to)
            .filter(|&d| 2.0 * (best - profile(&p.grid, &r.grid, d, e)) <= CHI2_1_95)
            .collect();
        let ci_steps = match (kept.first(), kept.last()) {
            (Some(&a), Some(&b)) => (
                if a == from { f64::NAN } else { a as f64 },
                if b == to { f64::NAN } else { b as f64 },
            ),
            _ => (f64::NAN, f64::NAN),
        };
        Ok(MicTest {
            statistic,
            p_value,
            ci_steps,
        })
    }
}

/// Why a MIC lies on no step of its drug's ladder.
fn unplaced_reason(m: &Mic, ladder: Option<&Ladder>) -> String {
    let steps = ladder.map_or_else(String::new, |l| {
        let c = l.concentrations(m.mic.min(f64::MAX));
        let shown: Vec<String> = c.iter().map(|v| crate::text::format_number(*v)).collect();
        format!(" ({})", shown.join(", "))
    });
    format!(
        "MIC {} of {} ({}, replicate `{}`) lies on no step of the drug's ladder{steps} and is not the mean of two neighbouring steps; declare the ladder with `[mic] ladder`",
        crate::text::format_number(m.mic),
        m.drug,
        m.cell_line,
        m.replicate
    )
}

/// Whether every reading of `resistant` is exact and equals the single most frequent exact
/// reading of `parental`.
fn at_mode(resistant: &[Measurement], parental: &[Measurement]) -> bool {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for x in parental.iter().filter(|x| x.reading == Reading::Exact) {
        *counts.entry(x.step).or_default() += 1;
    }
    let top = counts.values().copied().max().unwrap_or(0);
    let modes: Vec<i64> = counts
        .iter()
        .filter(|(_, &n)| n == top)
        .map(|(&s, _)| s)
        .collect();
    match modes.as_slice() {
        [mode] => {
            !resistant.is_empty()
                && resistant
                    .iter()
                    .all(|x| x.reading == Reading::Exact && x.step == *mode)
        }
        _ => false,
    }
}
