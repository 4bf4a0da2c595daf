//! `[mic] model = "log2-t"`: MICs compared as plain numbers on the log2 scale. Each line ×
//! drug becomes an estimate (the geometric mean of its replicate MICs, the standard error of
//! their log, n − 1 degrees of freedom) and a resistant line is compared with its parental line
//! by Welch's t-test, as fits are; with a `batch` column, by a paired t-test over the batches
//! that measured both (the mean of the per-batch differences of mean log2 MIC, B − 1 degrees of
//! freedom). Censored MICs (`>`, `<=`) enter at their bound, which the reason says; when every
//! replicate of a line is censored on one side, its estimate is that bound.

use std::collections::BTreeMap;

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{Mic, MicQualifier};
use crate::shift::{Bound, Estimate, Shift};

/// The MICs of each (cell line, drug).
pub type Cells<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a Mic>>;

/// The MICs grouped by (cell line, drug), once for the estimates and every row's words.
pub fn cells(mics: &[Mic]) -> Cells<'_> {
    let mut cells: Cells<'_> = BTreeMap::new();
    for m in mics {
        cells
            .entry((m.cell_line.as_str(), m.drug.as_str()))
            .or_default()
            .push(m);
    }
    cells
}

/// One estimate per line × drug from its replicate MICs.
pub fn estimates(cells: &Cells<'_>) -> Vec<Estimate> {
    cells
        .iter()
        .map(|((line, drug), ms)| estimate(line, drug, ms))
        .collect()
}

fn estimate(line: &str, drug: &str, ms: &[&Mic]) -> Estimate {
    let logs: Vec<f64> = ms.iter().map(|m| m.mic.log10()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let all = |q: MicQualifier| ms.iter().all(|m| m.qualifier == q);
    let qualifier = if all(MicQualifier::Above) {
        Bound::Greater
    } else if all(MicQualifier::AtOrBelow) {
        Bound::Less
    } else {
        Bound::Equal
    };
    let (log10_se, dof) = if ms.len() >= 2 {
        ((var / n).sqrt(), n - 1.0)
    } else {
        (f64::NAN, f64::NAN)
    };
    Estimate {
        cell_line: line.to_string(),
        replicate: String::new(),
        drug: drug.to_string(),
        value: 10f64.powf(mean),
        qualifier: Some(qualifier),
        log10_se,
        dof,
        ci: (f64::NAN, f64::NAN),
        problem: String::new(),
        hill_at_bound: false,
        batch: String::new(),
    }
}

/// Replicates, censored readings and batches of a row's two lines, in words, and with batches
/// the paired test in place of Welch's.
pub(crate) fn describe_and_pair(row: &mut Shift, cells: &Cells<'_>, batched: bool) {
    let of = |line: &str| -> Vec<&Mic> {
        cells
            .get(&(line, row.drug.as_str()))
            .cloned()
            .unwrap_or_default()
    };
    let (r, p) = (of(&row.resistant_line), of(&row.parental_line));
    let censored = r
        .iter()
        .chain(&p)
        .filter(|m| m.qualifier != MicQualifier::Equal)
        .count();
    let mut note = format!("log2-t: n = {} vs {}", r.len(), p.len());
    if censored > 0 {
        note += &format!(", {censored} censored MIC(s) taken at their bound");
    }
    if batched && row.log2_fc_qualifier == Some(Bound::Equal) {
        note += &paired(row, &r, &p);
    } else if row.log2_fc_qualifier == Some(Bound::Equal) && !row.p_value.is_finite() {
        note += if r.len() < 2 || p.len() < 2 {
            ": a t-test needs two or more MICs of each line"
        } else {
            ": every MIC of both lines is the same, so there is no scatter to test against (the dilution model can judge such readings)"
        };
    } else {
        note += ", Welch's t-test";
    }
    row.reason = if row.reason.is_empty() {
        note
    } else {
        format!("{}; {note}", row.reason)
    };
}

/// The paired t-test over batches: sets the row's log2 fold change, interval and p-value;
/// returns its words.
fn paired(row: &mut Shift, r: &[&Mic], p: &[&Mic]) -> String {
    let mean_log2 = |ms: &[&Mic], batch: &str| -> Option<f64> {
        let v: Vec<f64> = ms
            .iter()
            .filter(|m| m.batch == batch)
            .map(|m| m.mic.log2())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mut batches: Vec<&str> = r.iter().map(|m| m.batch.as_str()).collect();
    batches.sort_unstable();
    batches.dedup();
    let d: Vec<f64> = batches
        .iter()
        .filter_map(|b| Some(mean_log2(r, b)? - mean_log2(p, b)?))
        .collect();
    row.p_value = f64::NAN;
    row.ci_low = f64::NAN;
    row.ci_high = f64::NAN;
    let b = d.len() as f64;
    if d.is_empty() {
        row.log2_fc = f64::NAN;
        row.log2_fc_qualifier = None;
        return ": no batch measured both lines, so nothing is paired".into();
    }
    let mean = d.iter().sum::<f64>() / b;
    row.log2_fc = mean;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (b - 1.0)).sqrt();
    let se = sd / b.sqrt();
    let words = format!(", paired over {} batch(es)", d.len());
    if d.len() < 2 || se.is_nan() || se <= 0.0 {
        return words + ": too few batches or no scatter between them for a paired t-test";
    }
    if let Ok(t) = StudentsT::new(0.0, 1.0, b - 1.0) {
        let half = t.inverse_cdf(0.975) * se;
        row.ci_low = mean - half;
        row.ci_high = mean + half;
        row.p_value = 2.0 * t.sf((mean / se).abs());
    }
    words + ", paired t-test"
}
