//! Screens of growing cells (`--doubling-time`): the drug slows the growth rate, the wells are
//! cell counts read at time 0 and over the assay, and resistant lines may grow slower than
//! their parental line (a fitness cost), so that endpoint IC50 shifts mix growth with
//! sensitivity while GR and DIP shifts do not.
//!
//! **Model.** A line with doubling time T_d grows at k₀ = 1/T_d doublings per hour. A drug at
//! concentration c multiplies that rate by r(c) = E + (1 − E)/(1 + (c/EC50)^h) from the moment
//! it is added (the drawn curve of the screen with top 1, E its bottom: E = 0 stops growth,
//! E < 0 would kill). The count at time t is N₀ · 2^(k₀ · r(c) · t). So, exactly:
//!
//! - GR(c) = 2^r(c) − 1 at every time; GR50 = EC50 · ((1 − E)/(log2 1.5 − E) − 1)^(1/h) when
//!   E < log2 1.5, GRinf = 2^E − 1;
//! - the DIP rate is k₀ · r(c): DIP EC50 = EC50, Emax/E0 = E;
//! - the endpoint viability after T hours is 2^(k₀ T (r(c) − 1)), which crosses 0.5 where
//!   r(c) = 1 − T_d/T: a slower line (larger T_d) needs a higher concentration to halve its
//!   endpoint count relative to its own untreated wells, with an unchanged drug response.
//!
//! A resistant line keeps its parental line's rate curves except for the drawn shifts of EC50
//! (the screen's true_log2_fc), so true_log2_fc is the true shift of GR50 and of DIP EC50 —
//! and not of the endpoint IC50 when the lines grow at different rates (`endpoint_log2_fc` in
//! `truth_growth.csv` has that one).
//!
//! **Reads.** Signal = background + gain · n · edge · (1 + noise · ε) for wells with cells, n the
//! count relative to the parental untreated count at the endpoint (so the noise is a CV, as for
//! counts), and background + gain · noise/10 · ε for blanks. With `t0`, every well is also read
//! at time 0; with `reads = R`, at R evenly spaced times after treatment, the last at the
//! endpoint (`duration`). Empty wells are listed once, at the endpoint.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{normal, SimulatedWell, SimulationSettings, TrueCurve, TruePlate};
use crate::plate::WellPos;
use crate::wells::Role;

/// log2(1.5): the relative rate at which GR crosses 0.5.
const GR_HALF_RATE: f64 = 0.584_962_500_721_156_2;

/// The growth truth of one cell line and drug.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrueGrowth {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// Doubling time of the untreated line, hours.
    pub doubling_time_h: f64,
    /// True GR50, if GR crosses 0.5.
    pub gr50: Option<f64>,
    /// True GRinf = 2^E − 1.
    pub grinf: f64,
    /// True EC50 of the DIP-rate curve.
    pub dip_ec50: f64,
    /// True Emax/E0 of the DIP-rate curve (E).
    pub dip_emax_rel: f64,
    /// True endpoint IC50 (viability 0.5 at the endpoint), if the viability crosses 0.5.
    pub(crate) endpoint_ic50: Option<f64>,
    /// True log2 fold change of GR50 and DIP EC50 against the parental line.
    pub true_log2_fc: Option<f64>,
    /// True log2 fold change of the endpoint IC50 against the parental line (growth included).
    pub endpoint_log2_fc: Option<f64>,
}

/// The growth settings of a screen, when it simulates growth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Growth {
    /// Parental doubling time, hours.
    pub parental: f64,
    /// Resistant lines' doubling time, hours.
    pub resistant: f64,
    /// Hours from treatment to the endpoint.
    pub duration: f64,
    /// Read at time 0 too.
    pub t0: bool,
    /// Reads after time 0.
    pub reads: usize,
}

impl Growth {
    /// The growth settings of `s`, if it simulates growth.
    pub(super) fn of(s: &SimulationSettings) -> Option<Growth> {
        let parental = s.doubling_time?;
        Some(Growth {
            parental,
            resistant: s.resistant_doubling_time.unwrap_or(parental),
            duration: s.duration,
            t0: s.t0,
            reads: s.reads,
        })
    }

    /// Doubling time of a line.
    pub(super) fn doubling_time(&self, parental_line: &str) -> f64 {
        if parental_line.is_empty() {
            self.parental
        } else {
            self.resistant
        }
    }

    /// The read times, ascending.
    pub(super) fn times(&self) -> Vec<f64> {
        let mut t: Vec<f64> = if self.t0 { vec![0.0] } else { Vec::new() };
        t.extend((1..=self.reads).map(|j| self.duration * j as f64 / self.reads as f64));
        t
    }
}

/// A drawn curve as a relative growth-rate curve: untreated rate 1 (top 1), and no effect at
/// all for a flat one.
pub(super) fn as_rate_curve(c: &mut TrueCurve) {
    if c.kind == "flat" {
        c.bottom = 1.0;
    }
    c.top = 1.0;
}

/// Where a rate curve reaches the relative rate `level`, if it does.
fn crossing(c: &TrueCurve, level: f64) -> Option<f64> {
    (c.kind != "flat" && c.bottom < level && level < 1.0)
        .then(|| c.ec50 * ((1.0 - c.bottom) / (level - c.bottom) - 1.0).powf(1.0 / c.hill))
}

/// The endpoint IC50 of a rate curve for a line doubling every `doubling_time` hours.
pub(super) fn endpoint_ic50(c: &TrueCurve, doubling_time: f64, duration: f64) -> Option<f64> {
    crossing(c, 1.0 - doubling_time / duration)
}

/// The growth truth of every curve (`curves` with rate curves; `doubling` per curve).
pub(super) fn truth(curves: &[TrueCurve], g: &Growth) -> Vec<TrueGrowth> {
    let td = |c: &TrueCurve| g.doubling_time(&c.parental_line);
    let parental = |c: &TrueCurve| {
        curves
            .iter()
            .find(|p| p.parental_line.is_empty() && p.drug == c.drug)
    };
    curves
        .iter()
        .map(|c| {
            let ic50 = endpoint_ic50(c, td(c), g.duration);
            let endpoint_log2_fc = match (parental(c), c.parental_line.is_empty()) {
                (Some(p), false) => ic50
                    .zip(endpoint_ic50(p, td(p), g.duration))
                    .map(|(r, p)| (r / p).log2()),
                _ => None,
            };
            TrueGrowth {
                cell_line: c.cell_line.clone(),
                drug: c.drug.clone(),
                doubling_time_h: td(c),
                gr50: crossing(c, GR_HALF_RATE),
                grinf: c.bottom.exp2() - 1.0,
                dip_ec50: c.ec50,
                dip_emax_rel: c.bottom,
                endpoint_ic50: ic50,
                true_log2_fc: c.true_log2_fc,
                endpoint_log2_fc,
            }
        })
        .collect()
}

/// One well of a plate: its position, role, curve (samples) and concentration.
pub(super) struct PlannedWell<'a> {
    /// Where it is.
    pub position: WellPos,
    /// What it is for.
    pub role: Role,
    /// The true rate curve of its drug (samples).
    pub curve: Option<&'a TrueCurve>,
    /// Its concentration (samples).
    pub concentration: Option<f64>,
}

/// The reads of one plate of growing cells, time by time.
pub(super) fn plate_reads(
    rng: &mut ChaCha8Rng,
    s: &SimulationSettings,
    g: &Growth,
    plate: &TruePlate,
    doubling_time: f64,
    is_edge: &dyn Fn(WellPos) -> bool,
    wells: &[PlannedWell<'_>],
) -> Vec<SimulatedWell> {
    let (gain, background) = (plate.gain, plate.background);
    let (cell_line, replicate) = (plate.cell_line.as_str(), plate.replicate);
    let plate = plate.plate.as_str();
    // Counts relative to the parental untreated count at the endpoint.
    let k0 = 1.0 / doubling_time;
    let offset = g.duration / g.parental;
    let mut out = Vec::new();
    for t in g.times() {
        for w in wells.iter().filter(|w| w.role != Role::Empty) {
            let rate = match (w.role, w.curve, w.concentration) {
                (Role::Sample, Some(c), Some(x)) => c.viability(x),
                _ => 1.0,
            };
            let (viability, signal, outlier) = if w.role == Role::Blank {
                let v = background + gain * s.noise * 0.1 * normal(rng);
                (0.0, v, false)
            } else {
                let n = (k0 * rate * t - offset).exp2();
                let edge = if is_edge(w.position) {
                    1.0 - s.edge_effect
                } else {
                    1.0
                };
                let mut v = background + gain * n * edge * (1.0 + s.noise * normal(rng));
                let outlier = w.role == Role::Sample && rng.random::<f64>() < s.outlier_rate;
                if outlier {
                    v = background + gain * rng.random_range(0.0..1.2);
                }
                // The true viability at this time: the count over the line's untreated count.
                ((k0 * (rate - 1.0) * t).exp2(), v, outlier)
            };
            let missing = w.role == Role::Sample && rng.random::<f64>() < s.missing_rate;
            out.push(SimulatedWell {
                plate: plate.to_string(),
                position: w.position,
                cell_line: cell_line.to_string(),
                drug: w.curve.map_or(String::new(), |c| c.drug.clone()),
                concentration: w.concentration,
                role: w.role,
                signal: if missing {
                    "OVRFLW".into()
                } else {
                    signal.to_string()
                },
                replicate,
                true_viability: Some(viability),
                outlier,
                time: Some(t),
            });
        }
    }
    for w in wells.iter().filter(|w| w.role == Role::Empty) {
        out.push(SimulatedWell {
            plate: plate.to_string(),
            position: w.position,
            cell_line: String::new(),
            drug: String::new(),
            concentration: None,
            role: Role::Empty,
            signal: String::new(),
            replicate,
            true_viability: None,
            outlier: false,
            time: Some(g.duration),
        });
    }
    out
}

/// Writes `truth_growth.csv`.
pub(super) fn write_truth(w: &mut dyn std::io::Write, truth: &[TrueGrowth]) -> std::io::Result<()> {
    let f = crate::text::format_number;
    let opt = crate::text::opt;
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "cell_line",
        "drug",
        "doubling_time_h",
        "gr50",
        "grinf",
        "dip_ec50",
        "dip_emax_rel",
        "endpoint_ic50",
        "true_log2_fc",
        "endpoint_log2_fc",
    ])?;
    for t in truth {
        out.write_record([
            t.cell_line.clone(),
            t.drug.clone(),
            f(t.doubling_time_h),
            opt(t.gr50),
            f(t.grinf),
            f(t.dip_ec50),
            f(t.dip_emax_rel),
            opt(t.endpoint_ic50),
            opt(t.true_log2_fc),
            opt(t.endpoint_log2_fc),
        ])?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(bottom: f64) -> TrueCurve {
        TrueCurve {
            cell_line: "p".into(),
            drug: "d".into(),
            kind: "sigmoid",
            top: 1.0,
            bottom,
            ec50: 1.0,
            hill: 1.5,
            abs_ic50: None,
            parental_line: String::new(),
            true_log2_fc: None,
        }
    }

    #[test]
    fn truth_follows_the_growth_model() {
        let c = curve(0.1);
        // GR at GR50 is 0.5: 2^r − 1 with r = log2 1.5.
        let gr50 = crossing(&c, GR_HALF_RATE).unwrap();
        assert!((c.viability(gr50).exp2() - 1.0 - 0.5).abs() < 1e-12);
        // Endpoint viability at the IC50 is 0.5 for a line doubling every 24 h over 72 h ...
        let ic50 = endpoint_ic50(&c, 24.0, 72.0).unwrap();
        let viability = |td: f64, x: f64| (72.0 / td * (c.viability(x) - 1.0)).exp2();
        assert!((viability(24.0, ic50) - 0.5).abs() < 1e-12);
        // ... and a line doubling every 48 h needs more drug for the same drop.
        let slow = endpoint_ic50(&c, 48.0, 72.0).unwrap();
        assert!(slow > 1.5 * ic50, "{slow} {ic50}");
        assert!((viability(48.0, slow) - 0.5).abs() < 1e-12);
        // A slow line that cannot lose half its count relative to untreated: no IC50.
        assert_eq!(endpoint_ic50(&curve(0.5), 48.0, 72.0), None);
    }
}
