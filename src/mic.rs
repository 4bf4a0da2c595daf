//! MICs (minimum inhibitory concentrations): read from the normalized wells by a growth
//! threshold or from a MIC table, and the two-fold dilution error model of Nichol et al. 2019
//! that turns replicate MICs into one maximum-likelihood MIC per line and drug and compares a
//! resistant line with its parental line by a likelihood-ratio test.
//!
//! **MIC of a dilution series.** The MIC of one cell line × drug × replicate is the lowest
//! tested concentration from which viability stays at or below the threshold (`mic.threshold`,
//! default 0.1: 10 % of the vehicle) at every higher concentration. Growth above the threshold
//! at a concentration above the lowest one without growth is a *skipped well*: the MIC is read
//! above it (the conservative reading) and the skipped wells are counted and named. Growth at
//! the highest concentration gives `>` (the value is that concentration); no growth from the
//! lowest on gives `<=` (the value is the lowest concentration).
//!
//! **Series.** Each `replicate` label of a line × drug is its own series and gives its own MIC;
//! wells without a label form one series. Several wells of one series at one concentration
//! (duplicate wells, or the same series on several plates) are averaged before the threshold
//! is applied. Sample wells at concentration 0 are not doses and are left out.
//!
//! **Dilution error model** (Nichol et al. 2019, after Weinreich et al. 2006; the authors'
//! notebook `expevo/MIC_analysis.ipynb`). A measured MIC is the true MIC m with probability
//! 1 − e, or one two-fold step below or above it with probability e/2 each. The true MIC of a
//! line × drug is estimated by maximum likelihood from its replicate MICs (the most frequent
//! value; on a tie the lowest), and the one error rate e by maximum likelihood pooled over every
//! line × drug of the table with two or more measurements (e = measurements off their MLE /
//! measurements). A resistant line is compared with its parental line by the likelihood ratio
//! D = 2 [ℓ(m_R, m_P) − ℓ(m_R = m_P)] of their measurements at that e, χ² with 1 df, as in the
//! notebook (which holds e at the estimate of the full model in both likelihoods). Censored
//! MICs (`>`, `<=`) enter the likelihood as the probability that the measurement lies beyond
//! the bound, so they need no made-up value; when every replicate is censored on the same side
//! the MLE is itself censored.
//!
//! Steps are counted on the two-fold grid of each drug, from its largest MIC; a drug whose MICs
//! are not two-fold dilutions of one another (more than 0.1 log2 units off the grid, which
//! allows labels such as 0.06 for 0.0625) gets no estimates, with the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checked::{Check, Checked};
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::lines::LinesTable;
use crate::qc::WellOutcome;
use crate::shift::{call_shifts, pair_estimates, Bound, Estimate, Metric, Shift, ShiftSettings};
use crate::table::{field, Table};
use crate::wells::{Role, WellTable};

/// The `[mic]` section of an assay file: how MICs are read from the wells; checked once into a
/// [`Checked`] value ([`Check::check`]) before MICs are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MicSettings {
    /// Growth threshold: viability at or below it is no growth (0.1 = 10 % of the vehicle).
    pub threshold: f64,
}

impl Default for MicSettings {
    fn default() -> Self {
        MicSettings { threshold: 0.1 }
    }
}

impl MicSettings {
    /// Keys of the `[mic]` section of an assay file.
    pub const KEYS: [&'static str; 1] = ["threshold"];
}

impl Check for MicSettings {
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            out.push((
                "threshold",
                format!(
                    "`mic.threshold = {}`: expected a viability between 0 and 1, e.g. 0.1 (10 % of the vehicle)",
                    self.threshold
                ),
            ));
        }
        out
    }
}

/// How a MIC relates to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MicQualifier {
    /// `=`: the MIC is the value.
    Equal,
    /// `>`: growth at the highest tested concentration (the value); the MIC lies above it.
    Above,
    /// `<=`: no growth from the lowest tested concentration (the value) on.
    AtOrBelow,
}

impl MicQualifier {
    /// `=`, `>` or `<=`.
    pub fn symbol(self) -> &'static str {
        match self {
            MicQualifier::Equal => "=",
            MicQualifier::Above => ">",
            MicQualifier::AtOrBelow => "<=",
        }
    }

    /// Parses `=` (or an empty cell), `>`, `<=` or `≤`.
    pub fn parse(s: &str) -> Option<MicQualifier> {
        match s.trim() {
            "" | "=" => Some(MicQualifier::Equal),
            ">" => Some(MicQualifier::Above),
            "<=" | "≤" => Some(MicQualifier::AtOrBelow),
            _ => None,
        }
    }
}

/// One MIC: a row of `mics.csv` or of a MIC table.
#[derive(Debug, Clone, PartialEq)]
pub struct Mic {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// Replicate label (empty for the series of unlabelled wells).
    pub replicate: String,
    /// The MIC, or the bound its qualifier refers to (assay concentration unit).
    pub mic: f64,
    /// `=`, `>` or `<=`.
    pub qualifier: MicQualifier,
    /// Distinct concentrations tested (0 when read from a MIC table).
    pub n_concentrations: usize,
    /// Wells with growth above the threshold at a concentration above the lowest one without.
    pub skipped_wells: usize,
    /// What is worth knowing about this MIC (skipped wells, censoring), else empty.
    pub message: String,
}

/// The MIC of one dilution series read at `threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMic {
    /// The MIC or its bound.
    pub mic: f64,
    /// `=`, `>` or `<=`.
    pub qualifier: MicQualifier,
    /// Distinct concentrations.
    pub n_concentrations: usize,
    /// Skipped wells.
    pub skipped_wells: usize,
    /// Skipped wells and censoring, in words.
    pub message: String,
}

/// The MIC of one series from its wells, `(concentration, viability)`, in any order; several
/// wells at one concentration are averaged. `None` without a positive concentration.
///
/// ```
/// use collateral::mic::{mic_of_series, MicQualifier};
/// // Growth at 1 and 2, none from 4 on: MIC 4.
/// let s = mic_of_series(&[(1.0, 0.9), (2.0, 0.5), (4.0, 0.05), (8.0, 0.02)], 0.1).unwrap();
/// assert_eq!((s.mic, s.qualifier, s.skipped_wells), (4.0, MicQualifier::Equal, 0));
/// // A skipped well at 8: the MIC is read above it.
/// let s = mic_of_series(&[(1.0, 0.9), (2.0, 0.05), (4.0, 0.3), (8.0, 0.0)], 0.1).unwrap();
/// assert_eq!((s.mic, s.skipped_wells), (8.0, 1));
/// ```
pub fn mic_of_series(wells: &[(f64, f64)], threshold: f64) -> Option<SeriesMic> {
    let mut points: Vec<(f64, f64)> = wells.iter().copied().filter(|p| p.0 > 0.0).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    // (concentration, mean viability, wells)
    let mut doses: Vec<(f64, f64, usize)> = Vec::new();
    for (c, v) in points {
        match doses.last_mut() {
            Some(last) if last.0 == c => {
                last.1 += v;
                last.2 += 1;
            }
            _ => doses.push((c, v, 1)),
        }
    }
    for d in &mut doses {
        d.1 /= d.2 as f64;
    }
    let n = doses.len();
    if n == 0 {
        return None;
    }
    let grows = |i: usize| doses[i].1 > threshold;
    // The lowest concentration from which every higher one shows no growth.
    let mut from = n;
    while from > 0 && !grows(from - 1) {
        from -= 1;
    }
    let first_clear = (0..n).find(|&i| !grows(i)).unwrap_or(n);
    let skipped: Vec<usize> = (first_clear..from.min(n)).filter(|&i| grows(i)).collect();
    let skipped_wells = skipped.iter().map(|&i| doses[i].2).sum();
    let mut message = Vec::new();
    if !skipped.is_empty() {
        let at: Vec<String> = skipped
            .iter()
            .map(|&i| {
                format!(
                    "{} (viability {:.3})",
                    crate::text::format_number(doses[i].0),
                    doses[i].1
                )
            })
            .collect();
        message.push(format!(
            "skipped wells: growth above {threshold} at {} above no growth at {}; the MIC is read above them",
            at.join(", "),
            crate::text::format_number(doses[first_clear].0)
        ));
    }
    let (mic, qualifier) = if from == n {
        message.push(format!(
            "growth above {threshold} at the highest concentration, {}",
            crate::text::format_number(doses[n - 1].0)
        ));
        (doses[n - 1].0, MicQualifier::Above)
    } else if from == 0 {
        message.push(format!(
            "no growth above {threshold} from the lowest concentration, {}",
            crate::text::format_number(doses[0].0)
        ));
        (doses[0].0, MicQualifier::AtOrBelow)
    } else {
        (doses[from].0, MicQualifier::Equal)
    };
    if n == 1 {
        message.push("one concentration tested".into());
    }
    Some(SeriesMic {
        mic,
        qualifier,
        n_concentrations: n,
        skipped_wells,
        message: message.join("; "),
    })
}

/// The MIC of every cell line × drug × replicate series of a screen, from the wells that were
/// not excluded, ordered by cell line, drug and replicate.
pub fn mics_from_wells(
    table: &WellTable,
    outcomes: &[WellOutcome],
    settings: &Checked<MicSettings>,
) -> Vec<Mic> {
    let wells = &table.wells;
    let mut series: HashMap<(u32, u32, u32), Vec<(f64, f64)>> = HashMap::new();
    for (i, (w, o)) in wells.iter().zip(outcomes).enumerate() {
        let Some(v) = o.viability.filter(|_| !o.excluded) else {
            continue;
        };
        if w.role != Role::Sample {
            continue;
        }
        let Some(c) = w.concentration else { continue };
        let [_, line, drug, rep] = wells.name_ids(i);
        series.entry((line, drug, rep)).or_default().push((c, v));
    }
    let mut out: Vec<Mic> = series
        .into_iter()
        .filter_map(|((line, drug, rep), points)| {
            let s = mic_of_series(&points, settings.threshold)?;
            Some(Mic {
                cell_line: wells.name(line).to_string(),
                drug: wells.name(drug).to_string(),
                replicate: wells.name(rep).to_string(),
                mic: s.mic,
                qualifier: s.qualifier,
                n_concentrations: s.n_concentrations,
                skipped_wells: s.skipped_wells,
                message: s.message,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.cell_line, &a.drug, &a.replicate).cmp(&(&b.cell_line, &b.drug, &b.replicate))
    });
    out
}

/// Columns of `mics.csv`.
pub const MIC_COLUMNS: [&str; 8] = [
    "cell_line",
    "drug",
    "replicate",
    "mic",
    "mic_qualifier",
    "n_concentrations",
    "skipped_wells",
    "message",
];

/// Writes `mics.csv`.
pub fn write_mics(w: &mut dyn std::io::Write, mics: &[Mic]) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(MIC_COLUMNS)?;
    for m in mics {
        out.write_record(mic_fields(m))?;
    }
    out.flush()
}

/// One `mics.csv` row's fields, in [`MIC_COLUMNS`] order (`collateral merge` adds its `run`).
pub fn mic_fields(m: &Mic) -> [String; 8] {
    [
        m.cell_line.clone(),
        m.drug.clone(),
        m.replicate.clone(),
        crate::text::format_number(m.mic),
        m.qualifier.symbol().to_string(),
        m.n_concentrations.to_string(),
        m.skipped_wells.to_string(),
        m.message.clone(),
    ]
}

/// Whether a table is a MIC table (it has a `mic` column) rather than a fits table.
pub fn is_mic_table(path: &Path) -> Result<bool> {
    Ok(Table::open(path)?.column("mic").is_some())
}

/// Reads a MIC table: `cell_line, drug, replicate, mic` and optionally `mic_qualifier` (`=` or
/// empty, `>`, `<=`); other columns (this tool's `mics.csv` has more) are ignored. The
/// qualifier may also lead the `mic` cell (`>256`, `<=0.03`). One row per measurement: a
/// (cell line, drug, replicate) may appear once. Every problem names its file and line.
pub fn read_mics(path: &Path) -> Result<Vec<Mic>> {
    let mut t = Table::open(path)?;
    let c_line = t.require("cell_line")?;
    let c_drug = t.require("drug")?;
    let c_rep = t.require("replicate")?;
    let c_mic = t.require("mic")?;
    let c_qual = t.column("mic_qualifier");
    let c_n = t.column("n_concentrations");
    let c_skipped = t.column("skipped_wells");
    let c_message = t.column("message");
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = t.next_row(&mut rec)? {
        let at = t.at(line);
        let mut bad = |message: String| {
            problems.push(Problem {
                location: at.clone(),
                message,
            })
        };
        let (cell_line, drug, replicate) = (
            field(&rec, Some(c_line)),
            field(&rec, Some(c_drug)),
            field(&rec, Some(c_rep)),
        );
        if cell_line.is_empty() || drug.is_empty() {
            bad("`cell_line` and `drug` must not be empty".into());
            continue;
        }
        let raw = field(&rec, Some(c_mic));
        // A qualifier leading the number (`>256`, `<=0.03`, `≤0.03`).
        let (inline, number) = [
            ("<=", MicQualifier::AtOrBelow),
            ("≤", MicQualifier::AtOrBelow),
            (">", MicQualifier::Above),
        ]
        .iter()
        .find_map(|(prefix, q)| raw.strip_prefix(prefix).map(|rest| (Some(*q), rest.trim())))
        .unwrap_or((None, raw));
        let written = field(&rec, c_qual);
        let qualifier = match (inline, MicQualifier::parse(written)) {
            (_, None) => {
                bad(format!(
                    "`mic_qualifier` is `{written}`; expected =, > or <= (or an empty cell)"
                ));
                continue;
            }
            (Some(a), Some(b)) if written.is_empty() || a == b => a,
            (Some(a), Some(_)) => {
                bad(format!(
                    "`mic` is `{raw}` (qualifier {}) but `mic_qualifier` is `{written}`; give the qualifier once",
                    a.symbol()
                ));
                continue;
            }
            (None, Some(b)) => b,
        };
        let mic: f64 = match number.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => v,
            _ if raw.is_empty() => {
                bad("`mic` is empty; leave the row out when there is no measurement".into());
                continue;
            }
            _ => {
                bad(format!(
                    "`mic` is `{raw}`; expected a positive number, optionally led by > or <="
                ));
                continue;
            }
        };
        let count = |c: Option<usize>, name: &str, bad: &mut dyn FnMut(String)| -> usize {
            match field(&rec, c) {
                "" => 0,
                v => v.parse().unwrap_or_else(|_| {
                    bad(format!("`{name}` is `{v}`; expected a whole number"));
                    0
                }),
            }
        };
        let n_concentrations = count(c_n, "n_concentrations", &mut bad);
        let skipped_wells = count(c_skipped, "skipped_wells", &mut bad);
        let key = (
            cell_line.to_string(),
            drug.to_string(),
            replicate.to_string(),
        );
        if let Some(prev) = seen.insert(key, line) {
            bad(format!(
                "cell line `{cell_line}`, drug `{drug}`, replicate `{replicate}` is measured twice (lines {prev} and {line}); give each replicate its own label"
            ));
            continue;
        }
        out.push(Mic {
            cell_line: cell_line.to_string(),
            drug: drug.to_string(),
            replicate: replicate.to_string(),
            mic,
            qualifier,
            n_concentrations,
            skipped_wells,
            message: field(&rec, c_message).to_string(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// How a measurement relates to its step on the dilution grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The measured MIC is this step.
    Exact,
    /// The measured MIC is above this step.
    Above,
    /// The measured MIC is at or below this step.
    AtOrBelow,
}

/// One measurement on the grid: a step (0 = the drug's largest MIC, −1 half of it, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Measurement {
    step: i64,
    reading: Reading,
}

impl Measurement {
    /// Whether a measured MIC of `outcome` steps agrees with this reading.
    fn admits(self, outcome: i64) -> bool {
        match self.reading {
            Reading::Exact => outcome == self.step,
            Reading::Above => outcome > self.step,
            Reading::AtOrBelow => outcome <= self.step,
        }
    }

    /// The probability of this reading given the true MIC `m`, as (weight of 1 − e, weight of
    /// e/2): the measurement is m with probability 1 − e, m ± 1 with e/2 each.
    fn weights(self, m: i64) -> (u8, u8) {
        (
            u8::from(self.admits(m)),
            u8::from(self.admits(m - 1)) + u8::from(self.admits(m + 1)),
        )
    }

    fn log_likelihood(self, m: i64, e: f64) -> f64 {
        let (on, off) = self.weights(m);
        (f64::from(on) * (1.0 - e) + f64::from(off) * e / 2.0).ln()
    }
}

fn log_likelihood(ms: &[Measurement], m: i64, e: f64) -> f64 {
    ms.iter().map(|x| x.log_likelihood(m, e)).sum()
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
fn mle(ms: &[Measurement], e: f64) -> Option<(MleMic, f64)> {
    let lo = ms.iter().map(|x| x.step).min()?;
    let hi = ms.iter().map(|x| x.step).max()?;
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
fn profile(a: &[Measurement], b: &[Measurement], delta: i64, e: f64) -> f64 {
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
fn error_rate_for(weights: &BTreeMap<(u8, u8), usize>) -> f64 {
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
    pub ci_steps: (f64, f64),
}

/// χ² with 1 df, 0.95 quantile.
const CHI2_1_95: f64 = 3.841_458_820_694_124;

/// Steps further than this (in log2) from a two-fold dilution of the drug's largest MIC are off
/// the grid: 0.1 admits rounded labels (0.06 for 0.0625, 0.004 for 0.0039) and rejects
/// three-fold or half-log series.
const GRID_TOLERANCE: f64 = 0.1;

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
    /// Line × drug cells whose replicates entered e.
    pub cells_in_error_rate: usize,
    /// Measurements that entered e.
    pub measurements_in_error_rate: usize,
    /// Each drug's largest MIC (step 0 of its grid).
    pub reference: BTreeMap<String, f64>,
    /// Every line × drug, by (cell line, drug).
    pub cells: BTreeMap<(String, String), MicCell>,
}

impl DilutionModel {
    /// Places every MIC on its drug's two-fold grid, estimates the MLE MIC of each line × drug
    /// and the pooled error rate (alternating the two until the MLEs stop changing; with exact
    /// MICs only they do not depend on e and one pass is the authors' computation).
    pub fn fit(mics: &[Mic]) -> DilutionModel {
        let mut reference: BTreeMap<String, f64> = BTreeMap::new();
        for m in mics {
            let r = reference.entry(m.drug.clone()).or_insert(m.mic);
            *r = r.max(m.mic);
        }
        // A drug off the two-fold grid: the first MIC that is, named in the reason.
        let mut off_grid: BTreeMap<&str, String> = BTreeMap::new();
        let mut cells: BTreeMap<(String, String), MicCell> = BTreeMap::new();
        for m in mics {
            let top = reference[&m.drug];
            let steps = (m.mic / top).log2();
            let step = steps.round();
            if (steps - step).abs() > GRID_TOLERANCE && !off_grid.contains_key(m.drug.as_str()) {
                off_grid.insert(
                    &m.drug,
                    format!(
                        "MICs of {} are not two-fold dilutions: {} ({}, replicate `{}`) is {:.2} two-fold steps from {}, the drug's largest MIC; the dilution error model needs two-fold dilutions",
                        m.drug,
                        crate::text::format_number(m.mic),
                        m.cell_line,
                        m.replicate,
                        -steps,
                        crate::text::format_number(top)
                    ),
                );
            }
            let cell = cells
                .entry((m.cell_line.clone(), m.drug.clone()))
                .or_insert_with(|| MicCell {
                    cell_line: m.cell_line.clone(),
                    drug: m.drug.clone(),
                    measurements: 0,
                    mle: None,
                    problem: String::new(),
                    grid: Vec::new(),
                });
            cell.measurements += 1;
            cell.grid.push(Measurement {
                step: step as i64,
                reading: match m.qualifier {
                    MicQualifier::Equal => Reading::Exact,
                    MicQualifier::Above => Reading::Above,
                    MicQualifier::AtOrBelow => Reading::AtOrBelow,
                },
            });
        }
        for cell in cells.values_mut() {
            if let Some(why) = off_grid.get(cell.drug.as_str()) {
                cell.problem = why.clone();
                cell.grid.clear();
            }
        }
        let mut model = DilutionModel {
            error_rate: f64::NAN,
            cells_in_error_rate: 0,
            measurements_in_error_rate: 0,
            reference,
            cells,
        };
        model.estimate();
        model
    }

    /// Alternates MLE MICs at the current e and e at the current MLEs.
    fn estimate(&mut self) {
        // Cells that say something about e: a single measurement always equals its own MLE,
        // so it would count as error-free whatever e is.
        let informative = |c: &MicCell| c.grid.len() >= 2;
        let mut e = 0.1;
        let mut previous: Vec<Option<MleMic>> = Vec::new();
        for _ in 0..100 {
            let mles: Vec<Option<MleMic>> = self
                .cells
                .values()
                .map(|c| mle(&c.grid, e).map(|(m, _)| m))
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
                    *weights.entry(x.weights(*m)).or_default() += 1;
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
            match mle(&c.grid, at) {
                Some((m, _)) => c.mle = Some(m),
                None => {
                    c.problem = format!(
                        "the replicate MICs of {} for {} span more than one two-fold step either side of any value; the dilution error model cannot explain them",
                        c.cell_line, c.drug
                    );
                }
            }
        }
    }

    /// The MIC value of a step of `drug`'s grid.
    pub fn value(&self, drug: &str, step: i64) -> f64 {
        self.reference.get(drug).map_or(f64::NAN, |top| {
            // Steps of finite positive MICs stay within ±2,200 (the range of f64).
            top * 2f64.powi(step as i32)
        })
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
        let e = self.error_rate;
        if !e.is_finite() {
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
        // ≥ 0 by construction; max(0) only absorbs the rounding of sums of logarithms.
        let statistic = (2.0 * (lr + lp - null)).max(0.0);
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

/// Shifts of MICs: the dilution model fitted to every MIC of the table, each resistant line
/// paired with its parental line per drug (log2_fc in two-fold steps between the MLE MICs), the
/// likelihood-ratio p-value and interval, then q-values and calls by `settings.rule`.
pub fn compute_shifts(
    mics: &[Mic],
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
) -> (DilutionModel, Vec<Shift>) {
    // Pairing and calling see metric mic whatever the settings say (a MIC table is compared on
    // its MICs); the parts take the settings as written.
    let mut settings = ShiftSettings::clone(settings);
    settings.metric = Metric::Mic;
    let settings = &settings;
    let model = DilutionModel::fit(mics);
    let mut rows = pair_estimates(&model.estimates(), lines, settings);
    for row in &mut rows {
        if row.log2_fc_qualifier.is_none() {
            continue;
        }
        let note = match model.test(&row.resistant_line, &row.parental_line, &row.drug) {
            Ok(t) => {
                row.p_value = t.p_value;
                // The interval is in steps of the difference; log2_fc is that difference (or
                // its bound), so the interval is on the same scale.
                row.ci_low = t.ci_steps.0;
                row.ci_high = t.ci_steps.1;
                format!(
                    "dilution-model LRT: D = {:.3}, error rate {:.4}",
                    t.statistic, model.error_rate
                )
            }
            Err(why) => why,
        };
        row.reason = if row.reason.is_empty() {
            note
        } else {
            format!("{}; {note}", row.reason)
        };
    }
    call_shifts(&mut rows, settings);
    (model, rows)
}

/// A located error for a MIC table used where it does not fit.
pub fn not_a_fits_table(path: &Path) -> Error {
    Error::config(
        Location::file(path).at_line(1),
        format!(
            "{} is a MIC table (it has a `mic` column); compare it with metric mic (`--metric mic`)",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_fold_grids_are_told_from_others() {
        assert_eq!(off_two_fold_grid(&[0.25, 0.5, 1.0, 2.0, 4.0, 8.0]), None);
        // Rounded labels of a two-fold series stay on the grid.
        assert_eq!(
            off_two_fold_grid(&[0.0039, 0.0078, 0.0156, 0.031, 0.0625, 0.125]),
            None
        );
        let (dose, steps) = off_two_fold_grid(&[10.0 / 9.0, 10.0, 10.0 / 3.0]).unwrap();
        assert_eq!(dose, 10.0 / 3.0);
        assert!((steps - 3f64.log2()).abs() < 1e-12);
        assert_eq!(off_two_fold_grid(&[]), None);
    }
    use crate::shift::Call;

    fn exact(steps: &[i64]) -> Vec<Measurement> {
        steps
            .iter()
            .map(|&step| Measurement {
                step,
                reading: Reading::Exact,
            })
            .collect()
    }

    #[test]
    fn mle_is_the_mode_with_ties_to_the_lower() {
        assert_eq!(mle(&exact(&[3, 3, 2]), 0.1).unwrap().0, MleMic::At(3));
        assert_eq!(mle(&exact(&[1, 2, 3]), 0.1).unwrap().0, MleMic::At(2));
        assert_eq!(mle(&exact(&[1, 1, 3]), 0.1).unwrap().0, MleMic::At(2));
        assert_eq!(mle(&exact(&[4, 5]), 0.1).unwrap().0, MleMic::At(4));
        assert!(mle(&exact(&[0, 3]), 0.1).is_none());
    }

    #[test]
    fn censored_readings_bound_the_mle() {
        let above = |step| Measurement {
            step,
            reading: Reading::Above,
        };
        // 8, 16 and > 16 (steps 3, 4, >4): only 16 explains all three.
        let mut g = exact(&[3]);
        g.push(above(4));
        g.push(above(4));
        assert_eq!(mle(&g, 0.1).unwrap().0, MleMic::At(4));
        assert_eq!(mle(&[above(4), above(3)], 0.1).unwrap().0, MleMic::Above(4));
    }

    #[test]
    fn notebook_example_x1_pmc() {
        // Parent 1, 1, 0.5 and X1 2, 2, 2 (steps 0, 0, −1 and 1, 1, 1): the pooled MIC is 1,
        // D = 6 ln((1 − e) / (e / 2)).
        let e: f64 = 0.139_647_844_566;
        let mics: Vec<Mic> = [
            ("P", 1.0),
            ("P", 1.0),
            ("P", 0.5),
            ("X", 2.0),
            ("X", 2.0),
            ("X", 2.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, (l, v))| Mic {
            cell_line: l.to_string(),
            drug: "PMC".into(),
            replicate: i.to_string(),
            mic: *v,
            qualifier: MicQualifier::Equal,
            n_concentrations: 0,
            skipped_wells: 0,
            message: String::new(),
        })
        .collect();
        let mut model = DilutionModel::fit(&mics);
        // One mismatch in six measurements.
        assert!((model.error_rate - 1.0 / 6.0).abs() < 1e-15);
        model.error_rate = e;
        let t = model.test("X", "P", "PMC").unwrap();
        let d = 6.0 * ((1.0 - e) / (e / 2.0)).ln();
        assert!((t.statistic - d).abs() < 1e-9, "{t:?}");
        // The published p-value of X1 PMC.
        assert!((t.p_value - 0.000103696057176).abs() < 1e-12, "{t:?}");
        // The interval: one step up is the MLE; 0 is rejected at 5 %.
        assert_eq!(t.ci_steps.0, 1.0);
    }

    #[test]
    fn series_average_duplicates_and_leave_out_zero_doses() {
        // Two wells at 2 (0.05 and 0.25: mean 0.15, growth), a 0-dose sample left out.
        let s = mic_of_series(
            &[
                (0.0, 0.01),
                (1.0, 0.9),
                (2.0, 0.05),
                (2.0, 0.25),
                (4.0, 0.0),
            ],
            0.1,
        )
        .unwrap();
        assert_eq!(
            (s.mic, s.qualifier, s.n_concentrations),
            (4.0, MicQualifier::Equal, 3)
        );
        assert_eq!(s.skipped_wells, 0);
        let s = mic_of_series(&[(8.0, 0.5)], 0.1).unwrap();
        assert_eq!((s.mic, s.qualifier), (8.0, MicQualifier::Above));
        assert!(
            s.message.ends_with("one concentration tested"),
            "{}",
            s.message
        );
        // Two skipped concentrations, three wells among them.
        let s = mic_of_series(
            &[
                (1.0, 0.0),
                (2.0, 0.5),
                (2.0, 0.3),
                (4.0, 0.0),
                (8.0, 0.2),
                (16.0, 0.0),
            ],
            0.1,
        )
        .unwrap();
        assert_eq!((s.mic, s.skipped_wells), (16.0, 3));
        assert!(mic_of_series(&[(0.0, 1.0)], 0.1).is_none());
    }

    fn lines() -> LinesTable {
        use crate::lines::CellLine;
        let line = |name: &str, parent: Option<&str>, n| CellLine {
            name: name.into(),
            parental_line: parent.map(Into::into),
            selected_with: parent.map(|_| "a".into()),
            lineage: name.into(),
            evolution_time: None,
            doubling_time_h: None,
            line: n,
        };
        LinesTable {
            path: "lines.csv".into(),
            lines: vec![line("P", None, 2), line("R", Some("P"), 3)],
            has_lineage: false,
            has_evolution_time: false,
        }
    }

    #[test]
    fn nichol_rule_is_bonferroni_over_the_tested_comparisons() {
        use crate::shift::{compute_shifts, CallRule};
        // Fitted ic50s with standard errors: two comparisons, p ≈ 0.01 and ≈ 0.04; α/m = 0.025.
        let est = |line: &str, drug: &str, value: f64| Estimate {
            cell_line: line.into(),
            replicate: String::new(),
            drug: drug.into(),
            value,
            qualifier: Some(Bound::Equal),
            log10_se: 0.1,
            dof: 1e6,
            ci: (f64::NAN, f64::NAN),
            problem: String::new(),
        };
        let settings = ShiftSettings {
            rule: CallRule::Nichol2019,
            metric: Metric::Ic50,
            ..Default::default()
        }
        .check()
        .unwrap();
        // z = log10 ratio / (0.1·√2): 2.576 → p 0.01; 2.054 → p 0.04.
        let ratio = |z: f64| 10f64.powf(z * 0.1 * 2f64.sqrt());
        let rows = compute_shifts(
            &[
                est("P", "a", 1.0),
                est("R", "a", 1.0 / ratio(2.576)),
                est("P", "b", 1.0),
                est("R", "b", ratio(2.054)),
            ],
            &lines(),
            &settings,
        );
        assert!((rows[0].p_value - 0.01).abs() < 1e-4, "{rows:?}");
        assert_eq!(rows[0].call, Call::CollateralSensitive);
        assert!((rows[1].p_value - 0.04).abs() < 1e-4);
        // Significant at 0.05 alone, not at 0.05 / 2; no fold-change threshold.
        assert_eq!(rows[1].call, Call::Neutral);
    }

    #[test]
    fn censored_mic_shifts_need_q_as_well_as_the_bound() {
        let mic = |line: &str, rep: &str, v: f64, q: MicQualifier| Mic {
            cell_line: line.into(),
            drug: "a".into(),
            replicate: rep.into(),
            mic: v,
            qualifier: q,
            n_concentrations: 6,
            skipped_wells: 0,
            message: String::new(),
        };
        // P: 4, 8 (MLE 4, the lower of a tie); R: > 8 once; Q (elsewhere in the table): 1, 2.
        // e = 2 off in 4 = 0.5; D = 2 ln(2 / e) = 2.77, p = 0.096.
        let table = vec![
            mic("P", "1", 4.0, MicQualifier::Equal),
            mic("P", "2", 8.0, MicQualifier::Equal),
            mic("R", "1", 8.0, MicQualifier::Above),
            mic("Q", "1", 1.0, MicQualifier::Equal),
            mic("Q", "2", 2.0, MicQualifier::Equal),
        ];
        let (model, rows) = compute_shifts(&table, &lines(), &Checked::default());
        assert_eq!(model.error_rate, 0.5);
        let r = &rows[0];
        assert_eq!(
            (r.metric, r.log2_fc, r.log2_fc_qualifier),
            (Metric::Mic, 1.0, Some(Bound::Greater))
        );
        assert!((r.p_value - 0.0962).abs() < 1e-3, "{r:?}");
        // log2_fc > 1 passes τ = 1, but q > α: neutral.
        assert_eq!(r.call, Call::Neutral);
        assert!(
            r.reason.contains("but q = 0.096 > α = 0.05"),
            "{}",
            r.reason
        );
    }

    /// Tables drawn from the model itself: each of 10 lines against one parental cell, three
    /// readings each, error rate 0.15, true differences −2…2 steps.
    fn simulated_tables(seed: u64, tables: usize) -> Vec<(Vec<Mic>, Vec<i64>)> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let e = 0.15;
        let mut read = |m: i64| -> f64 {
            let u: f64 = rng.random();
            let step = if u < e / 2.0 {
                m - 1
            } else if u < e {
                m + 1
            } else {
                m
            };
            2f64.powi(step as i32)
        };
        let mic = |line: &str, rep: usize, v: f64| Mic {
            cell_line: line.into(),
            drug: "a".into(),
            replicate: rep.to_string(),
            mic: v,
            qualifier: MicQualifier::Equal,
            n_concentrations: 0,
            skipped_wells: 0,
            message: String::new(),
        };
        (0..tables)
            .map(|t| {
                let mut mics: Vec<Mic> = (0..3).map(|r| mic("P", r, read(0))).collect();
                let deltas: Vec<i64> = (0..10).map(|i| ((t + i) % 5) as i64 - 2).collect();
                for (i, d) in deltas.iter().enumerate() {
                    for r in 0..3 {
                        mics.push(mic(&format!("R{i}"), r, read(*d)));
                    }
                }
                (mics, deltas)
            })
            .collect()
    }

    #[test]
    fn test_and_interval_hold_their_level_under_the_model() {
        let (mut covered, mut intervals) = (0, 0);
        let (mut rejected, mut nulls) = (0, 0);
        for (mics, deltas) in simulated_tables(11, 400) {
            let model = DilutionModel::fit(&mics);
            for (i, d) in deltas.iter().enumerate() {
                let Ok(t) = model.test(&format!("R{i}"), "P", "a") else {
                    continue; // replicates spread beyond one step: no MLE
                };
                intervals += 1;
                let (lo, hi) = t.ci_steps;
                covered += usize::from(lo <= *d as f64 && *d as f64 <= hi);
                if *d == 0 {
                    nulls += 1;
                    rejected += usize::from(t.p_value < 0.05);
                }
            }
        }
        let coverage = covered as f64 / intervals as f64;
        let size = rejected as f64 / nulls as f64;
        // Measured: 3,830 of 4,000 intervals cover the true difference (95.8 %), and 37 of 800
        // tests of lines whose true MIC is the parent's reject at 5 % (4.6 %): χ² with 1 df
        // holds on this discrete model at three readings a line.
        assert!(intervals > 3900 && nulls > 780, "{intervals} {nulls}");
        assert!((0.93..=0.98).contains(&coverage), "coverage {coverage}");
        assert!((0.025..=0.075).contains(&size), "size {size}");
    }

    #[test]
    fn error_rate_closed_form_and_bisection_agree() {
        let mut w = BTreeMap::new();
        w.insert((1, 0), 8);
        w.insert((0, 1), 2);
        assert!((error_rate_for(&w) - 0.2).abs() < 1e-15);
        // A censored reading one step above its bound (weights (1, 1)) pulls e down a little.
        w.insert((1, 1), 1);
        let e = error_rate_for(&w);
        assert!(e < 0.2 && e > 0.15, "{e}");
    }
}
