//! Shifts of MICs: resistant lines paired with their parental lines under the dilution
//! model.

use super::dilution::DilutionModel;
use super::{Mic, MicModel, MicSettings};
use crate::checked::Checked;
use crate::lines::LinesTable;
use crate::shift::{call_shifts, pair_estimates, Metric, Shift, ShiftSettings};

/// Shifts of MICs: the dilution model fitted to every MIC of the table, each resistant line
/// paired with its parental line per drug (log2_fc in two-fold steps between the MLE MICs), the
/// likelihood-ratio p-value and interval, then q-values and calls by `settings.rule`.
pub fn compute_shifts(
    mics: &[Mic],
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
) -> (DilutionModel, Vec<Shift>) {
    compute_shifts_with(mics, lines, settings, &MicSettings::default())
}

/// [`compute_shifts`] with the `[mic]` settings: declared ladders, the outlier rate and the
/// model. With a `batch` column each line is compared with its parental line as measured in
/// the same batches ([`super::batch`] for the dilution model, a paired t-test for log2-t).
pub fn compute_shifts_with(
    mics: &[Mic],
    lines: &LinesTable,
    settings: &Checked<ShiftSettings>,
    mic: &MicSettings,
) -> (DilutionModel, Vec<Shift>) {
    // Pairing and calling see metric mic whatever the settings say (a MIC table is compared on
    // its MICs); the parts take the settings as written.
    let mut settings = ShiftSettings::clone(settings);
    settings.metric = Metric::Mic;
    let settings = &settings;
    let batched = mics.iter().any(|m| !m.batch.is_empty());
    let (adjusted, dropped) = if batched && mic.model == MicModel::Dilution {
        super::batch::within_batches(mics, lines, mic)
    } else {
        (mics.to_vec(), Default::default())
    };
    let model = DilutionModel::fit_with(&adjusted, mic);
    let mut rows = match mic.model {
        MicModel::Dilution => {
            let mut rows = pair_estimates(&model.estimates(), lines, settings);
            for row in &mut rows {
                likelihood_ratio(row, &model, batched);
            }
            rows
        }
        MicModel::Log2T => {
            let cells = super::log2t::cells(mics);
            let mut rows = pair_estimates(&super::log2t::estimates(&cells), lines, settings);
            for row in &mut rows {
                super::log2t::describe_and_pair(row, &cells, batched);
            }
            rows
        }
    };
    for row in &mut rows {
        let left_out = [&row.resistant_line, &row.parental_line]
            .iter()
            .filter_map(|l| dropped.get(&(l.to_string(), row.drug.clone())))
            .sum::<usize>();
        if left_out > 0 {
            row.reason += &format!(
                "; {left_out} MIC(s) left out: their batch has no parental reading of {}",
                row.drug
            );
        }
    }
    let said: Vec<String> = rows.iter().map(|r| r.reason.clone()).collect();
    call_shifts(&mut rows, settings);
    // What the calling adds (no standard error, q above α) comes after what pairing said.
    for (row, said) in rows.iter_mut().zip(said) {
        if !said.is_empty() && !row.reason.starts_with(&said) {
            row.reason = format!("{said}; {}", row.reason);
        }
    }
    (model, rows)
}

/// The dilution model's likelihood-ratio test of a row whose fold change has a value.
fn likelihood_ratio(row: &mut Shift, model: &DilutionModel, batched: bool) {
    if row.log2_fc_qualifier.is_none() {
        return;
    }
    let note = match model.test(&row.resistant_line, &row.parental_line, &row.drug) {
        Ok(t) => {
            row.p_value = t.p_value;
            // The interval is in steps of the difference; log2_fc is that difference (or its
            // bound), so the interval is on the same scale.
            row.ci_low = model.steps_to_log2(&row.drug, &row.parental_line, t.ci_steps.0);
            row.ci_high = model.steps_to_log2(&row.drug, &row.parental_line, t.ci_steps.1);
            format!(
                "dilution-model LRT{}: D = {:.3}, error rate {:.4}",
                if batched { " within batches" } else { "" },
                t.statistic,
                model.error_rate
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
