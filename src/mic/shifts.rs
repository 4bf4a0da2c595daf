//! Shifts of MICs: resistant lines paired with their parental lines under the dilution
//! model.

use super::dilution::DilutionModel;
use super::{Mic, MicSettings};
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

/// [`compute_shifts`] with the `[mic]` settings: declared ladders and the outlier rate.
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
    let model = DilutionModel::fit_with(mics, mic);
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
                row.ci_low = model.steps_to_log2(&row.drug, &row.parental_line, t.ci_steps.0);
                row.ci_high = model.steps_to_log2(&row.drug, &row.parental_line, t.ci_steps.1);
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
