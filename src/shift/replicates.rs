//! What each side of a comparison is when a line has several rows for one drug: replicate
//! rows of a fits table are pooled (the mean of their log values, its standard error from
//! their scatter, n − 1 degrees of freedom), and rows that carry a `batch` are paired — each
//! resistant measurement with the parental one of the same batch, the per-batch differences
//! combined by a paired t-test over the batches. A line is never represented by one arbitrary
//! row: every rule here is independent of the order of the rows.

use std::borrow::Cow;

use super::*;

/// How a comparison used its lines' rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplicateUse {
    /// One row per line (a pooled curve, or a single replicate): compared as they are.
    #[default]
    Single,
    /// Replicate rows pooled per line × drug (mean of log values, SE from the replicates).
    Pooled,
    /// Rows paired within batches (paired t-test over the batches that measured both lines).
    BatchPaired,
}

/// How many shift rows pooled replicate rows and how many paired batches; `run.json` lists
/// both (`counts.shifts.replicates_pooled`, `counts.shifts.batch_paired`) when not zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicateCounts {
    /// Rows whose lines' replicate rows were pooled.
    pub pooled: usize,
    /// Rows compared within batches.
    pub batch_paired: usize,
}

impl ReplicateCounts {
    /// Counts one comparison's use.
    pub fn add(&mut self, used: ReplicateUse) {
        match used {
            ReplicateUse::Single => {}
            ReplicateUse::Pooled => self.pooled += 1,
            ReplicateUse::BatchPaired => self.batch_paired += 1,
        }
    }
}

/// One comparison to make: the two sides (each a row of the table or a pooled estimate), and
/// with batches the paired statistics that replace Welch's.
#[derive(Debug, Clone)]
pub(super) struct Comparand<'a> {
    /// The resistant side; `None` when the line has no row for the drug.
    pub resistant: Option<Cow<'a, Estimate>>,
    /// The parental side; `None` when its parental line has no row for the drug.
    pub parental: Option<Cow<'a, Estimate>>,
    /// The paired test over batches, when the rows were paired.
    pub paired: Option<PairedBatches>,
    /// What was done, in words for the row's reason (empty for [`ReplicateUse::Single`]).
    pub note: String,
    /// What was done.
    pub used: ReplicateUse,
}

/// The paired differences of log2 metric over the batches that measured both lines.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PairedBatches {
    /// log2(resistant / parental) of each batch, in batch-name order.
    pub differences: Vec<f64>,
}

impl PairedBatches {
    /// Sets the row's log2 fold change (the mean difference), and with two batches or more
    /// and some scatter its t interval and p-value on B − 1 degrees of freedom.
    pub fn apply(&self, row: &mut Shift) {
        let d = &self.differences;
        let b = d.len() as f64;
        let mean = sum_sorted(d) / b;
        row.log2_fc = mean;
        row.log2_fc_qualifier = Some(Bound::Equal);
        row.ci_low = f64::NAN;
        row.ci_high = f64::NAN;
        row.p_value = f64::NAN;
        if d.len() < 2 {
            return;
        }
        let sd = (sum_sorted(&d.iter().map(|x| (x - mean).powi(2)).collect::<Vec<_>>())
            / (b - 1.0))
            .sqrt();
        let se = sd / b.sqrt();
        if !(se.is_finite() && se > 0.0) {
            return;
        }
        if let Ok(t) = StudentsT::new(0.0, 1.0, b - 1.0) {
            let half = t.inverse_cdf(0.975) * se;
            row.ci_low = mean - half;
            row.ci_high = mean + half;
            row.p_value = 2.0 * t.sf((mean / se).abs());
        }
    }
}

/// A sum that does not depend on the order of its terms (they are added in value order).
fn sum_sorted(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.iter().sum()
}

/// The comparisons of one resistant line with its parental line for one drug, from each
/// line's rows (`None`: no row). Rows with a `batch` on both sides are paired within batches
/// (rules `delta` and `nichol2019`, which test a fold change); otherwise each line is its
/// pooled row (empty replicate and batch) when it has one, else the pool of its replicate
/// rows. With `per_replicate`, each replicate of the resistant line is a comparison of its own.
pub(super) fn comparands<'a>(
    resistant: Option<&[&'a Estimate]>,
    parental: Option<&[&'a Estimate]>,
    settings: &ShiftSettings,
) -> Vec<Comparand<'a>> {
    let resistant = resistant.unwrap_or_default();
    let parental = parental.unwrap_or_default();
    let batched = |rows: &[&Estimate]| rows.iter().any(|e| !e.batch.is_empty());
    let tests_a_fold_change = matches!(settings.rule, CallRule::Delta | CallRule::Nichol2019);
    if tests_a_fold_change && batched(resistant) && batched(parental) {
        return groups(resistant, settings.per_replicate)
            .into_iter()
            .map(|(label, rows)| paired_comparand(label, &rows, parental))
            .collect();
    }
    let (parent, parent_note) = line_estimate(parental);
    let single = |r: Option<Cow<'a, Estimate>>, note: String| {
        let notes: Vec<&str> = [note.as_str(), parent_note.as_str()]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
        Comparand {
            resistant: r,
            parental: parent.clone(),
            paired: None,
            used: if notes.is_empty() {
                ReplicateUse::Single
            } else {
                ReplicateUse::Pooled
            },
            note: notes.join("; "),
        }
    };
    if resistant.is_empty() {
        return vec![single(None, String::new())];
    }
    if settings.per_replicate {
        // Each replicate of the resistant line on its own, as the pooled parental line.
        return groups(resistant, true)
            .into_iter()
            .map(|(label, rows)| {
                let (r, note) = line_estimate(&rows);
                let r = r.map(|r| match r {
                    Cow::Owned(mut pooled) => {
                        pooled.replicate = label.to_string();
                        Cow::Owned(pooled)
                    }
                    borrowed => borrowed,
                });
                single(r, note)
            })
            .collect();
    }
    let (r, note) = line_estimate(resistant);
    vec![single(r, note)]
}

/// The rows grouped by replicate (one group per label, in label order) or all in one (label
/// empty).
fn groups<'a>(rows: &[&'a Estimate], per_replicate: bool) -> Vec<(&'a str, Vec<&'a Estimate>)> {
    if !per_replicate {
        return vec![("", rows.to_vec())];
    }
    let mut by: BTreeMap<&str, Vec<&'a Estimate>> = BTreeMap::new();
    for e in rows {
        by.entry(e.replicate.as_str()).or_default().push(e);
    }
    by.into_iter().collect()
}

/// A line's estimate from its rows: its pooled row (empty replicate and batch) when it has one,
/// its only row, or the pool of its rows ([`pool`]), with words saying which (empty for a row
/// taken as it is).
fn line_estimate<'a>(rows: &[&'a Estimate]) -> (Option<Cow<'a, Estimate>>, String) {
    let pooled: Vec<&'a Estimate> = rows
        .iter()
        .copied()
        .filter(|e| e.replicate.is_empty() && e.batch.is_empty())
        .collect();
    match (pooled.as_slice(), rows) {
        (_, []) => (None, String::new()),
        ([one], _) | ([], [one]) => (Some(Cow::Borrowed(*one)), String::new()),
        _ => {
            let p = pool(rows);
            let note = p.1;
            (Some(Cow::Owned(p.0)), note)
        }
    }
}

/// The pool of several rows of one line and drug: the mean of their log10 values (added in
/// value order, so the order of the rows does not matter). Point estimates only: its standard
/// error is SD / √n of the log10 values and its degrees of freedom n − 1 (one usable row keeps
/// its own). Censored rows taken at their bound make the mean a bound in their direction (no
/// standard error); censored in both directions, or no row with an estimate, leave none.
pub(super) fn pool(rows: &[&Estimate]) -> (Estimate, String) {
    let first = rows[0];
    let mut out = Estimate {
        replicate: String::new(),
        batch: String::new(),
        value: f64::NAN,
        qualifier: None,
        log10_se: f64::NAN,
        dof: f64::NAN,
        ci: (f64::NAN, f64::NAN),
        problem: String::new(),
        hill_at_bound: false,
        ..first.clone()
    };
    let usable: Vec<&&Estimate> = rows
        .iter()
        .filter(|e| e.qualifier.is_some() && e.value > 0.0)
        .collect();
    let left_out = rows.len() - usable.len();
    let who = format!("{} ({} rows)", first.cell_line, rows.len());
    if usable.is_empty() {
        let mut problems: Vec<&str> = rows.iter().map(|e| e.problem.as_str()).collect();
        problems.sort_unstable();
        problems.dedup();
        out.problem = format!("no row has an estimate: {}", problems.join("; "));
        return (out, format!("{who}: no row has an estimate"));
    }
    let logs: Vec<f64> = usable.iter().map(|e| e.value.log10()).collect();
    let n = logs.len() as f64;
    let mean = sum_sorted(&logs) / n;
    out.value = 10f64.powf(mean);
    let directions: BTreeSet<&str> = usable
        .iter()
        .filter_map(|e| e.qualifier)
        .filter(|q| *q != Bound::Equal)
        .map(Bound::symbol)
        .collect();
    let skipped = if left_out > 0 {
        format!(", {left_out} without an estimate left out")
    } else {
        String::new()
    };
    let note = match directions.len() {
        0 if usable.len() == 1 => {
            out.qualifier = Some(Bound::Equal);
            out.log10_se = usable[0].log10_se;
            out.dof = usable[0].dof;
            out.ci = usable[0].ci;
            out.hill_at_bound = usable[0].hill_at_bound;
            format!("{who}: the one row with an estimate{skipped}")
        }
        0 => {
            out.qualifier = Some(Bound::Equal);
            let var = sum_sorted(&logs.iter().map(|l| (l - mean).powi(2)).collect::<Vec<_>>())
                / (n - 1.0);
            out.log10_se = var.sqrt() / n.sqrt();
            out.dof = n - 1.0;
            if let Ok(t) = StudentsT::new(0.0, 1.0, out.dof) {
                let half = t.inverse_cdf(0.975) * out.log10_se;
                out.ci = (10f64.powf(mean - half), 10f64.powf(mean + half));
            }
            format!(
                "{who}: mean log10 of {} replicates, SE from their scatter, df {}{skipped}",
                usable.len(),
                usable.len() - 1
            )
        }
        1 => {
            let q = if directions.contains(">") {
                Bound::Greater
            } else {
                Bound::Less
            };
            out.qualifier = Some(q);
            format!(
                "{who}: mean log10 of {} replicates with censored ones at their bound, so {} the mean{skipped}",
                usable.len(),
                q.symbol()
            )
        }
        _ => {
            out.value = f64::NAN;
            out.problem = "replicates censored in opposite directions (> and <)".into();
            format!("{who}: replicates censored in opposite directions")
        }
    };
    (out, note)
}

/// The comparison of one group of resistant rows with the parental rows within batches: per
/// batch, each side's mean log10 point estimate; the differences of the batches that have both
/// ([`PairedBatches`]); the sides are the mean over those batches (their ratio is the mean
/// difference).
fn paired_comparand<'a>(
    replicate: &str,
    resistant: &[&'a Estimate],
    parental: &[&'a Estimate],
) -> Comparand<'a> {
    let per_batch = |rows: &[&Estimate]| -> BTreeMap<String, Vec<f64>> {
        let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for e in rows {
            let values = by.entry(e.batch.clone()).or_default();
            if e.qualifier == Some(Bound::Equal) && e.value > 0.0 {
                values.push(e.value.log10());
            }
        }
        by
    };
    // Rows without a batch (a run's pooled curves) take no part in the pairing.
    let in_batch = |rows: &[&'a Estimate]| -> Vec<&'a Estimate> {
        rows.iter()
            .copied()
            .filter(|e| !e.batch.is_empty())
            .collect()
    };
    let (resistant, parental) = (in_batch(resistant), in_batch(parental));
    let (resistant, parental) = (resistant.as_slice(), parental.as_slice());
    let (r, p) = (per_batch(resistant), per_batch(parental));
    let mean = |v: &[f64]| sum_sorted(v) / v.len() as f64;
    let (mut r_means, mut p_means, mut differences) = (Vec::new(), Vec::new(), Vec::new());
    let mut unpaired = Vec::new();
    for (batch, rv) in &r {
        match p.get(batch) {
            Some(pv) if !rv.is_empty() && !pv.is_empty() => {
                let (mr, mp) = (mean(rv), mean(pv));
                r_means.push(mr);
                p_means.push(mp);
                differences.push(std::f64::consts::LOG2_10 * (mr - mp));
            }
            _ => unpaired.push(batch.as_str()),
        }
    }
    let side = |rows: &[&'a Estimate], means: &[f64], replicate: &str| -> Estimate {
        let mut e = pool(rows).0;
        e.replicate = replicate.to_string();
        e.log10_se = f64::NAN;
        e.ci = (f64::NAN, f64::NAN);
        e.hill_at_bound = false;
        if means.is_empty() {
            e.value = f64::NAN;
            e.qualifier = None;
            e.problem = "no batch has a point estimate of both lines".into();
        } else {
            e.value = 10f64.powf(mean(means));
            e.qualifier = Some(Bound::Equal);
            e.problem.clear();
        }
        e
    };
    let left = if unpaired.is_empty() {
        String::new()
    } else {
        format!(
            "; batch(es) without a point estimate of both lines left out: {}",
            unpaired.join(", ")
        )
    };
    let test = match differences.len() {
        0 => "nothing to pair",
        1 => "one batch: no paired t-test",
        _ => "paired t-test",
    };
    Comparand {
        resistant: Some(Cow::Owned(side(resistant, &r_means, replicate))),
        parental: Some(Cow::Owned(side(parental, &p_means, ""))),
        paired: (!differences.is_empty()).then_some(PairedBatches { differences }),
        note: format!("paired within {} batch(es), {test}{left}", r_means.len()),
        used: ReplicateUse::BatchPaired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::CellLine;

    fn row(line: &str, replicate: &str, batch: &str, value: f64, q: Bound) -> Estimate {
        Estimate {
            cell_line: line.into(),
            replicate: replicate.into(),
            drug: "d".into(),
            value,
            qualifier: Some(q),
            // A replicate's own fit: no standard error (as a user's table of IC50s has none).
            log10_se: f64::NAN,
            dof: 1e6,
            ci: (f64::NAN, f64::NAN),
            problem: String::new(),
            hill_at_bound: false,
            batch: batch.into(),
        }
    }

    fn lines() -> LinesTable {
        let line = |name: &str, parent: Option<&str>, row: u64| CellLine {
            name: name.into(),
            parental_line: parent.map(Into::into),
            selected_with: parent.map(|_| "x".into()),
            lineage: name.into(),
            evolution_time: None,
            doubling_time_h: None,
            line: row,
        };
        LinesTable {
            path: "l.csv".into(),
            lines: vec![line("P", None, 2), line("R", Some("P"), 3)],
            has_lineage: false,
            has_evolution_time: false,
        }
    }

    fn shifts(rows: &[Estimate], settings: ShiftSettings) -> (Vec<Shift>, ReplicateCounts) {
        compute_shifts_with_replicates(rows, &lines(), &settings.check().unwrap())
    }

    /// Every order of the rows: rotations and reversals of `rows`.
    fn orders(rows: &[Estimate]) -> Vec<Vec<Estimate>> {
        let mut out = Vec::new();
        for k in 0..rows.len() {
            let mut r = rows.to_vec();
            r.rotate_left(k);
            out.push(r.clone());
            r.reverse();
            out.push(r);
        }
        out
    }

    #[test]
    fn replicate_rows_are_pooled_whatever_their_order() {
        // Parental IC50s 1, 2, 4 and resistant 8, 16, 32: the means of log2 differ by 3 exactly.
        // Before, each resistant row was compared with the first parental row in file order:
        // with parental row 2 first, the 16 row gave log2 FC 3, with row 4 first, 2.
        let rows: Vec<Estimate> = [("P", 1.0), ("P", 2.0), ("P", 4.0)]
            .into_iter()
            .chain([("R", 8.0), ("R", 16.0), ("R", 32.0)])
            .enumerate()
            .map(|(i, (l, v))| row(l, &(i % 3 + 1).to_string(), "", v, Bound::Equal))
            .collect();
        let (first, counts) = shifts(&rows, ShiftSettings::default());
        assert_eq!(first.len(), 1, "one row per line × drug: {first:?}");
        let s = &first[0];
        assert!((s.log2_fc - 3.0).abs() < 1e-12, "{s:?}");
        assert_eq!(s.replicate, "");
        assert_eq!(counts.pooled, 1);
        // SE from the replicates: log10 SD 0.30103, SE 0.1738 each; Welch df 4 → p ≈ 0.021.
        let se =
            std::f64::consts::LOG2_10 * (2.0f64).sqrt() * std::f64::consts::LOG10_2 / 3f64.sqrt();
        let want_p = 2.0 * StudentsT::new(0.0, 1.0, 4.0).unwrap().sf(3.0 / se);
        assert!(
            (s.p_value - want_p).abs() < 1e-4,
            "{} vs {want_p}",
            s.p_value
        );
        assert_eq!(s.call, Call::CrossResistant, "{s:?}");
        assert!(
            s.reason.contains("mean log10 of 3 replicates"),
            "{}",
            s.reason
        );
        for order in orders(&rows) {
            let (again, _) = shifts(&order, ShiftSettings::default());
            // Debug text: NaN columns (no F-test here) are equal there.
            assert_eq!(
                format!("{again:?}"),
                format!("{first:?}"),
                "order {:?}",
                order.iter().map(|e| e.value).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_pooled_row_is_the_line_and_replicates_stay_separate_only_per_replicate() {
        let mut rows = vec![
            row("P", "", "", 1.0, Bound::Equal),
            row("P", "1", "", 100.0, Bound::Equal),
            row("R", "1", "", 4.0, Bound::Equal),
            row("R", "2", "", 16.0, Bound::Equal),
        ];
        rows[0].log10_se = 0.05;
        let per_replicate = ShiftSettings {
            per_replicate: true,
            ..Default::default()
        };
        let (s, counts) = shifts(&rows, per_replicate);
        let fc: Vec<(String, f64)> = s.iter().map(|s| (s.replicate.clone(), s.log2_fc)).collect();
        assert_eq!(fc, vec![("1".into(), 2.0), ("2".into(), 4.0)]);
        assert_eq!(counts, ReplicateCounts::default());
        let (s, _) = shifts(&rows, ShiftSettings::default());
        assert_eq!(s.len(), 1);
        assert!((s[0].log2_fc - 3.0).abs() < 1e-12, "{:?}", s[0]);
    }

    #[test]
    fn censored_replicates_make_the_pool_a_bound() {
        let mut rows = vec![
            row("P", "1", "", 1.0, Bound::Equal),
            row("P", "2", "", 1.0, Bound::Equal),
            row("R", "1", "", 16.0, Bound::Equal),
            row("R", "2", "", 64.0, Bound::Greater),
        ];
        let (s, _) = shifts(&rows, ShiftSettings::default());
        assert_eq!(s[0].log2_fc_qualifier, Some(Bound::Greater), "{:?}", s[0]);
        assert!((s[0].log2_fc - 5.0).abs() < 1e-12);
        assert_eq!(s[0].call, Call::CrossResistant);
        rows[0].qualifier = Some(Bound::Less);
        rows[1].qualifier = Some(Bound::Greater);
        let (s, _) = shifts(&rows, ShiftSettings::default());
        assert_eq!(s[0].call, Call::Undetermined);
        assert!(
            s[0].reason.contains("opposite directions"),
            "{}",
            s[0].reason
        );
    }

    #[test]
    fn batches_pair_each_line_with_its_parent_of_the_same_batch() {
        // Batch offsets of ±8-fold swamp a 4-fold shift when the batches are pooled; within each
        // batch R reads 4 × P (± a little).
        let offsets = [("a", 1.0), ("b", 8.0), ("c", 0.125), ("d", 2.0)];
        let noise = [1.05, 0.95, 1.1, 0.92];
        let mut rows = Vec::new();
        for ((batch, o), e) in offsets.into_iter().zip(noise) {
            rows.push(row("P", batch, batch, o, Bound::Equal));
            rows.push(row("R", batch, batch, 4.0 * o * e, Bound::Equal));
        }
        let (s, counts) = shifts(&rows, ShiftSettings::default());
        assert_eq!(counts.batch_paired, 1);
        assert_eq!(s[0].replicate, "");
        let d: Vec<f64> = noise.iter().map(|e| 2.0 + f64::log2(*e)).collect();
        let mean = d.iter().sum::<f64>() / 4.0;
        assert!((s[0].log2_fc - mean).abs() < 1e-12, "{:?}", s[0]);
        assert!(s[0].p_value < 1e-3, "{:?}", s[0]);
        assert_eq!(s[0].call, Call::CrossResistant);
        assert!(
            s[0].reason
                .contains("paired within 4 batch(es), paired t-test"),
            "{}",
            s[0].reason
        );
        for order in orders(&rows) {
            let again = shifts(&order, ShiftSettings::default()).0;
            assert_eq!(format!("{again:?}"), format!("{s:?}"));
        }
        // The same rows without their batches: pooled, the batch scatter hides the shift.
        let unbatched: Vec<Estimate> = rows
            .iter()
            .map(|e| Estimate {
                batch: String::new(),
                ..e.clone()
            })
            .collect();
        let (pooled, counts) = shifts(&unbatched, ShiftSettings::default());
        assert_eq!(counts.pooled, 1);
        assert!((pooled[0].log2_fc - mean).abs() < 1e-12);
        assert_eq!(pooled[0].call, Call::Neutral, "{:?}", pooled[0]);
        // A batch without the parental line is left out, and says so.
        rows.push(row("R", "e", "e", 100.0, Bound::Equal));
        let (s, _) = shifts(&rows, ShiftSettings::default());
        assert!((s[0].log2_fc - mean).abs() < 1e-12);
        assert!(s[0].reason.contains("left out: e"), "{}", s[0].reason);
    }
}
