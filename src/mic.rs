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
//! Steps are counted on each drug's dilution ladder ([`Ladder`]): the two-fold grid from its
//! largest MIC when every value lies on it (the authors' computation), else a ladder inferred
//! from the values (a 2×/1.5× interleaved grid, or the distinct values, with averaged readings
//! placed between two steps) or declared in `[mic]`. With `[mic] robust = true` readings two or
//! more steps off have a rate ε of their own, so one outlying replicate cannot move an MLE.

mod batch;
mod dilution;
mod ladder;
mod log2t;
mod shifts;
#[cfg(test)]
mod simulated_tests;
mod table;
mod wells;

pub use dilution::{ladders_of, off_two_fold_grid, DilutionModel, MicCell, MicTest, MleMic};
pub use ladder::{declared as declared_ladder, infer as infer_ladder, Ladder, Rung};
pub use shifts::{compute_shifts, compute_shifts_with};
pub use table::{
    is_mic_table, mics_of_table, not_a_fits_table, read_mics, write_mics, MIC_COLUMNS,
};
pub use wells::{mic_of_series, mics_from_wells, SeriesMic};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checked::Check;

/// The `[mic]` section of an assay file: how MICs are read from the wells; checked once into a
/// [`Checked`](crate::checked::Checked) value ([`Check::check`]) before MICs are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MicSettings {
    /// Growth threshold: viability at or below it is no growth (0.1 = 10 % of the vehicle).
    pub threshold: f64,
    /// Declared ladders by drug (`ladder = { drug = [0.25, 0.375, 0.5, ...] }`): the
    /// concentrations a MIC of that drug can take; a drug not named has its ladder inferred.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ladder: BTreeMap<String, Vec<f64>>,
    /// Every drug's ladder is dilutions by this factor from its largest MIC (2 for two-fold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ladder_factor: Option<f64>,
    /// The robust dilution model: readings two or more ladder steps off the true MIC have a
    /// rate ε estimated from the data (0 when none is that far off). Off (the default): the
    /// model of Nichol et al. 2019, where such a reading is impossible.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub robust: bool,
    /// Fixes ε (the robust model at this rate, not estimated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_rate: Option<f64>,
    /// How a resistant line's MICs are compared with its parental line's: the dilution error
    /// model (the default) or a t-test on log2 MICs.
    #[serde(skip_serializing_if = "MicModel::is_dilution")]
    pub model: MicModel,
}

/// How MICs are compared ([`MicSettings::model`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MicModel {
    /// The dilution error model (Nichol et al. 2019): MLE MICs on the ladder and a likelihood
    /// ratio test; made for few replicates and discrete readings.
    #[default]
    Dilution,
    /// Welch's t-test on the replicates' log2 MICs (a paired t-test over batches with a
    /// `batch` column): a plain continuous comparison for many replicates.
    Log2T,
}

crate::words::words!(MicModel, "MIC model", {
    Dilution => "dilution",
    Log2T => "log2-t",
});

impl MicModel {
    /// Whether this is the default model (left out of `run.json`).
    fn is_dilution(&self) -> bool {
        *self == MicModel::Dilution
    }
}

impl Default for MicSettings {
    fn default() -> Self {
        MicSettings {
            threshold: 0.1,
            ladder: BTreeMap::new(),
            ladder_factor: None,
            robust: false,
            outlier_rate: None,
            model: MicModel::Dilution,
        }
    }
}

impl MicSettings {
    /// Keys of the `[mic]` section of an assay file.
    pub const KEYS: [&'static str; 6] = [
        "threshold",
        "ladder",
        "ladder_factor",
        "robust",
        "outlier_rate",
        "model",
    ];
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
        if let Some(f) = self.ladder_factor.filter(|f| !(f.is_finite() && *f > 1.0)) {
            out.push((
                "ladder_factor",
                format!("`mic.ladder_factor = {f}`: expected a dilution factor above 1, e.g. 2"),
            ));
        }
        if let Some(r) = self.outlier_rate.filter(|r| !(0.0..=0.2).contains(r)) {
            out.push((
                "outlier_rate",
                format!("`mic.outlier_rate = {r}`: expected a rate between 0 and 0.2, e.g. 0.02"),
            ));
        }
        for (drug, steps) in &self.ladder {
            if steps.is_empty() || steps.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                out.push((
                    "ladder",
                    format!("`mic.ladder` of `{drug}`: expected positive concentrations, e.g. [0.25, 0.375, 0.5]"),
                ));
            }
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
#[non_exhaustive]
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
    /// The batch (day, plate, run) it was measured in, from a MIC table's `batch` column;
    /// empty when not given. With batches, each line is compared with its parental line
    /// within a batch ([`crate::mic::compute_shifts_with`]).
    pub batch: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::dilution::{error_rate_for, mle, Measurement, Reading};
    use super::*;
    use crate::checked::Checked;
    use crate::lines::LinesTable;
    use crate::shift::{Bound, Estimate, Metric, ShiftSettings};

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
            batch: String::new(),
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
            hill_at_bound: false,
            batch: String::new(),
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
            batch: String::new(),
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
            batch: String::new(),
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
