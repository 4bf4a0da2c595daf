//! Batches (days, plates, runs) for the dilution model: labs measure each evolved replicate
//! beside a parental replicate and compare within the batch, because a batch can move every
//! MIC of its day by a step. The dilution model's paired form here takes each batch's offset —
//! how far the parental readings of that batch sit from the parental readings of every batch,
//! in ladder steps — off every reading of that batch before the model is fitted, so a line is
//! compared with its parent as measured beside it.

use std::collections::BTreeMap;

use super::ladder::{Ladder, Rung};
use super::{ladders_of, Mic, MicSettings};
use crate::lines::LinesTable;

/// The MICs with each batch's offset taken off, and per (cell line, drug) how many readings
/// were left out because their batch has no reading of the line's root parental line.
pub(crate) fn within_batches(
    mics: &[Mic],
    lines: &LinesTable,
    settings: &MicSettings,
) -> (Vec<Mic>, BTreeMap<(String, String), usize>) {
    let ladders = ladders_of(mics, settings);
    let root = roots(lines);
    fn root_of<'a>(root: &'a BTreeMap<String, String>, line: &'a str) -> &'a str {
        root.get(line).map_or(line, String::as_str)
    }
    // The steps of each root's readings: per batch, and over every batch.
    let mut steps: BTreeMap<(&str, &str), BTreeMap<&str, Vec<i64>>> = BTreeMap::new();
    for m in mics {
        if root_of(&root, &m.cell_line) != m.cell_line {
            continue;
        }
        if let Some(step) = ladders.get(&m.drug).and_then(|(l, _)| step_of(l, m.mic)) {
            steps
                .entry((m.cell_line.as_str(), m.drug.as_str()))
                .or_default()
                .entry(m.batch.as_str())
                .or_default()
                .push(step);
        }
    }
    let offsets: BTreeMap<(&str, &str, &str), i64> = steps
        .iter()
        .flat_map(|((line, drug), by_batch)| {
            let all: Vec<i64> = by_batch.values().flatten().copied().collect();
            let overall = lower_median(all);
            by_batch
                .iter()
                .map(move |(batch, s)| ((*line, *drug, *batch), lower_median(s.clone()) - overall))
        })
        .collect();
    let mut dropped: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(mics.len());
    for m in mics {
        let Some((ladder, _)) = ladders.get(&m.drug) else {
            out.push(m.clone());
            continue;
        };
        let key = (
            root_of(&root, &m.cell_line),
            m.drug.as_str(),
            m.batch.as_str(),
        );
        match offsets.get(&key) {
            Some(&offset) => out.push(moved(m, ladder, offset)),
            None => {
                *dropped
                    .entry((m.cell_line.clone(), m.drug.clone()))
                    .or_default() += 1;
            }
        }
    }
    (out, dropped)
}

/// Each line's root: the first ancestor without a parental line (a parental line is its own).
fn roots(lines: &LinesTable) -> BTreeMap<String, String> {
    let parent: BTreeMap<&str, &str> = lines
        .lines
        .iter()
        .filter_map(|l| l.parental_line.as_deref().map(|p| (l.name.as_str(), p)))
        .collect();
    lines
        .lines
        .iter()
        .map(|l| {
            let mut at = l.name.as_str();
            // A cycle in the parental links is refused when the lines table is read; the bound
            // only keeps a hand-built table from looping.
            for _ in 0..=parent.len() {
                match parent.get(at) {
                    Some(p) => at = p,
                    None => break,
                }
            }
            (l.name.clone(), at.to_string())
        })
        .collect()
}

/// The ladder step of a reading (a mean of two steps counts as the lower one).
fn step_of(ladder: &Ladder, value: f64) -> Option<i64> {
    match ladder.place(value)? {
        Rung::At(k) | Rung::Between(k) => Some(k),
    }
}

/// The lower median of whole steps.
fn lower_median(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// `m` moved `offset` steps down its ladder (up for a negative offset); a reading on no step
/// stays as it is.
fn moved(m: &Mic, ladder: &Ladder, offset: i64) -> Mic {
    let mut out = m.clone();
    if offset == 0 {
        return out;
    }
    out.mic = match ladder.place(m.mic) {
        Some(Rung::At(k)) => ladder.value(k - offset),
        Some(Rung::Between(k)) => (ladder.value(k - offset) + ladder.value(k - offset + 1)) / 2.0,
        None => m.mic,
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::CellLine;
    use crate::mic::MicQualifier;

    fn lines() -> LinesTable {
        let line = |name: &str, parent: Option<&str>| CellLine {
            name: name.into(),
            parental_line: parent.map(Into::into),
            selected_with: parent.map(|_| "x".into()),
            lineage: name.into(),
            evolution_time: None,
            doubling_time_h: None,
            line: 2,
        };
        LinesTable {
            path: "lines.csv".into(),
            lines: vec![line("P", None), line("R", Some("P")), line("S", Some("R"))],
            has_lineage: false,
            has_evolution_time: false,
        }
    }

    fn mic(line: &str, batch: &str, v: f64) -> Mic {
        Mic {
            cell_line: line.into(),
            drug: "d".into(),
            replicate: format!("{line}{batch}{v}"),
            mic: v,
            qualifier: MicQualifier::Equal,
            n_concentrations: 0,
            skipped_wells: 0,
            message: String::new(),
            batch: batch.into(),
        }
    }

    #[test]
    fn a_batch_reading_a_step_high_is_taken_down_a_step() {
        // Batch b reads every MIC one two-fold step above batch a; R (and its descendant S)
        // equal P within each batch. Batch c has no parental reading: left out.
        let mics = vec![
            mic("P", "a", 1.0),
            mic("P", "a", 1.0),
            mic("P", "b", 2.0),
            mic("R", "a", 1.0),
            mic("R", "b", 2.0),
            mic("S", "b", 2.0),
            mic("R", "c", 8.0),
        ];
        let (out, dropped) = within_batches(&mics, &lines(), &MicSettings::default());
        let values: Vec<(&str, f64)> = out.iter().map(|m| (m.cell_line.as_str(), m.mic)).collect();
        assert_eq!(
            values,
            [
                ("P", 1.0),
                ("P", 1.0),
                ("P", 1.0),
                ("R", 1.0),
                ("R", 1.0),
                ("S", 1.0)
            ]
        );
        assert_eq!(dropped[&("R".to_string(), "d".to_string())], 1);
    }
}
