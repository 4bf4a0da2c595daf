//! `[normalize] reference = "fitted_top"`: a series (plate, cell line, replicate, drug) of a
//! unit without vehicle wells is first normalized to the median of its lowest doses (as
//! `lowest_doses`), then a four-parameter curve with free plateaus is fitted to it and its
//! viabilities are divided by the fitted top, so 100 % is the level the curve levels off at
//! rather than the lowest doses' readings (which a potent drug already inhibits). A series
//! whose fit gives no usable top (flat, failed, a top at its bound) keeps the lowest doses'
//! level, and a warning counts them.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{Problem, Result};
use crate::fit::{fit_curve, DosePoint, FitStatus, Model, Plateaus};
use crate::normalize::{units_of, PlateControls};
use crate::qc::Normalized;
use crate::wells::{Role, WellTable};

/// Rescales the viabilities of every series without vehicle wells to its fitted top (module
/// doc); the fit is the run's (`fit`) with model ll4 and free plateaus. Returns the warnings:
/// the series that kept the lowest doses' level.
pub(crate) fn rescale_to_fitted_top(
    table: &WellTable,
    norm: &mut Normalized,
    fit: &crate::fit::FitSettings,
    source: &std::path::Path,
) -> Result<Vec<Problem>> {
    let config = crate::fit::FitSettings {
        model: Model::Ll4,
        plateaus: Plateaus::Free,
        ..fit.clone()
    }
    .check()?;
    let controls = PlateControls::gather(table);
    let units = units_of(table, &controls);
    let stand_in: Vec<bool> = units
        .keys
        .iter()
        .map(|k| norm.levels.get(k).is_some_and(|l| l.vehicle.is_none()))
        .collect();
    // The wells of each series of a unit without vehicle wells, in table order.
    let mut series: HashMap<(usize, &str), Vec<usize>> = HashMap::new();
    for (i, (w, u)) in table.wells.iter().zip(&units.of_well).enumerate() {
        match (u, w.role, w.concentration) {
            (Some(u), Role::Sample, Some(c)) if stand_in[*u] && c > 0.0 => {
                series.entry((*u, w.drug.as_str())).or_default().push(i)
            }
            _ => {}
        }
    }
    let mut keys: Vec<(usize, &str)> = series.keys().copied().collect();
    keys.sort_unstable();
    let outcomes = &norm.outcomes;
    let tops: Vec<Option<f64>> = keys
        .par_iter()
        .map(|k| {
            let points: Vec<DosePoint> = series[k]
                .iter()
                .filter(|&&i| !outcomes[i].excluded)
                .filter_map(|&i| {
                    Some(DosePoint {
                        concentration: table.wells.get(i).concentration?,
                        response: outcomes[i].viability?,
                    })
                })
                .collect();
            let f = fit_curve(&points, &config);
            let (low, high) = config.settings().top_bounds;
            let inside = f.top > low + 1e-6 && f.top < high - 1e-6;
            (f.status == FitStatus::Ok && f.top.is_finite() && f.top > 0.0 && inside)
                .then_some(f.top)
        })
        .collect();
    let mut kept = Vec::new();
    for (k, top) in keys.iter().zip(&tops) {
        let Some(top) = top else {
            let (plate, line, replicate) = &units.keys[k.0];
            let rep = if replicate.is_empty() {
                String::new()
            } else {
                format!(" replicate {replicate}")
            };
            kept.push(format!("{plate} {line}{rep} {}", k.1));
            continue;
        };
        for &i in &series[k] {
            if let Some(v) = norm.outcomes[i].viability.as_mut() {
                *v /= top;
            }
        }
    }
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    kept.sort();
    let n = kept.len();
    kept.truncate(5);
    let more = if n > 5 { ", …" } else { "" };
    Ok(vec![Problem {
        location: crate::Location::file(source),
        message: format!(
            "normalize.reference = \"fitted_top\": {n} series without vehicle wells gave no usable fitted top (flat or failed fit, or a top at its bound), so their 100 % stays the median of their {} lowest doses: {}{more}",
            crate::normalize::LOWEST_DOSES,
            kept.join(", ")
        ),
    }])
}
