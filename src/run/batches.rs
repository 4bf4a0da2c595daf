//! Batches in the wells table: with a `batch` column (the day, plate set or run a well was
//! measured in), every cell line × drug gets a curve per batch besides its pooled curve, the
//! fits go to `fits_by_batch.csv`, and each resistant line is compared with its parental line
//! within batches ([`crate::shift`]: the per-batch differences of log metric, paired t-test over
//! the batches that measured both), so a batch that moves every IC50 of its day does not
//! blur the comparison.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Problem;
use crate::fit::{CurveInput, DosePoint};
use crate::qc::WellOutcome;
use crate::shift::{CallRule, Metric, ShiftSettings};
use crate::wells::{Role, WellTable};

use super::Curves;

/// The column of the wells table that names each well's batch.
pub(crate) use crate::output::tables::BATCH_COLUMN;

/// Where the wells table keeps its batches, when it has a `batch` column with a label.
pub fn batch_column(table: &WellTable) -> Option<usize> {
    let c = table.extra_columns.iter().position(|c| c == BATCH_COLUMN)?;
    table
        .wells
        .iter()
        .any(|w| w.extra.get(c).is_some_and(|b| !b.trim().is_empty()))
        .then_some(c)
}

/// Why a wells table's batches are not used for these shift settings, if they are not:
/// pairing compares fitted endpoint metrics (ic50, ec50, auc) under the rules that test a fold
/// change, one curve per line and batch.
pub(crate) fn batches_unused(settings: &ShiftSettings) -> Option<String> {
    if settings.metric.is_growth() || settings.metric == Metric::Mic {
        Some(format!(
            "metric {} is not fitted per batch (ic50, ec50 and auc are)",
            settings.metric.name()
        ))
    } else if !matches!(settings.rule, CallRule::Delta | CallRule::Nichol2019) {
        Some(format!(
            "rule {} compares the lines' own estimates, not paired differences (delta and nichol2019 pair)",
            settings.rule.name()
        ))
    } else if settings.per_replicate {
        Some("per_replicate compares each replicate's curve, not each batch's".into())
    } else {
        None
    }
}

/// The warning of a wells table whose `batch` column is not used, naming why.
pub(crate) fn unused_warning(source: &std::path::Path, why: &str) -> Problem {
    Problem {
        location: crate::Location::file(source),
        message: format!(
            "the wells table has a `batch` column, but the lines are compared with batches pooled: {why}"
        ),
    }
}

/// The curves per (cell line, batch, drug), from the sample wells that were not excluded, in
/// (cell line, batch, drug) order; each [`Curves::replicate`] holds the batch. With
/// `include_untreated`, the vehicle wells of the curve's line on the plates of its batch join
/// as zero-concentration points, as for the pooled curves.
pub(crate) fn batch_curves(
    table: &WellTable,
    outcomes: &[WellOutcome],
    column: usize,
    include_untreated: bool,
) -> Curves {
    type Group = (Vec<DosePoint>, BTreeSet<String>);
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    let mut untreated: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (w, o) in table.wells.iter().zip(outcomes) {
        let Some(v) = o.viability.filter(|_| !o.excluded) else {
            continue;
        };
        let batch = w.extra.get(column).map_or("", |b| b.trim());
        if batch.is_empty() {
            continue;
        }
        match (w.role, w.concentration) {
            (Role::Sample, Some(concentration)) => {
                let g = groups
                    .entry((
                        w.cell_line.to_string(),
                        batch.to_string(),
                        w.drug.to_string(),
                    ))
                    .or_default();
                g.0.push(DosePoint {
                    concentration,
                    response: v,
                });
                g.1.insert(w.plate.to_string());
            }
            (Role::Vehicle, _) if include_untreated => untreated
                .entry((w.plate.to_string(), w.cell_line.to_string()))
                .or_default()
                .push(v),
            _ => {}
        }
    }
    let mut out = Curves::default();
    for ((line, batch, drug), (mut points, plates)) in groups {
        for plate in &plates {
            if let Some(vs) = untreated.get(&(plate.clone(), line.clone())) {
                points.extend(vs.iter().map(|&v| DosePoint {
                    concentration: 0.0,
                    response: v,
                }));
            }
        }
        out.inputs.push(CurveInput {
            cell_line: line,
            drug,
            points,
        });
        out.replicate.push(batch);
    }
    out
}

pub(crate) use crate::output::tables::BatchFit;
