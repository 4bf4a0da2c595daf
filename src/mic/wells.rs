//! Reading MICs from the normalized wells: each series' lowest concentration from which
//! growth stays at or below the threshold.

use std::collections::HashMap;

use super::{Mic, MicQualifier, MicSettings};
use crate::checked::Checked;
use crate::qc::WellOutcome;
use crate::wells::{Role, WellTable};

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
                batch: String::new(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.cell_line, &a.drug, &a.replicate).cmp(&(&b.cell_line, &b.drug, &b.replicate))
    });
    out
}
