//! Synthetic screens with known truth, for tests, benchmarks and learning the tool.
//!
//! A screen has one parental line and `lines − 1` resistant lines, each selected with one of the
//! drugs, screened against every drug in `replicates` plate replicates. Every plate holds one
//! cell line; its layout is: column 1 blank, column 2 vehicle, the last-but-one column vehicle,
//! the last column blank, and dilution series (highest dose on the right) filling the columns in
//! between row by row. Unused wells are `empty`.
//!
//! **In time and lineage** (`lineages > 0`): each resistant line becomes `lineages`
//! independently evolved lineages sharing its selecting drug, each sampled at
//! `evolution_times` times (days 1, 2, …; lines `resistant01_L03_t2`, lineage
//! `resistant01_L03`). For every selecting drug and other drug a CS probability p is drawn
//! (uniform 0.05–0.95); each lineage becomes CS with probability p, then CS whose course is
//! `persistent`, `emerging` (from a uniformly drawn day after the first to the last) or `fading`
//! (from the first day to a uniformly drawn day before the last), one third each (always
//! `persistent` with one time); otherwise it is cross-resistant with probability 0.2 at every
//! time, or unchanged. A CS lineage's IC50 falls 2^2–2^3.5-fold on its CS days; a CR one rises
//! 2^1.5–2^3-fold. `truth_courses.csv` gives each lineage and drug its course, and
//! `truth_likelihood.csv` the true probability of CS and CR at each time
//! (p·(1 + i/(T−1) + (T−1−i)/(T−1))/3 = 2p/3 for T ≥ 2 times, p for one; CR (1 − p)·0.2).
//!
//! **Growing cells** (`doubling_time`): the drugs slow the growth rate, wells are cell counts
//! read at time 0 (`t0`) and in time (`reads`), and resistant lines may double slower than
//! the parental line (`resistant_doubling_time`); see the `growth` submodule and
//! `truth_growth.csv`.
//!
//! The signal of a well is `background + gain · viability · edge + gain · noise · ε` with ε
//! standard normal and `edge = 1 − edge_effect` on the outer ring (cells only), so on a plate
//! without edge effect Z′ = 1 − 6·noise in expectation.
//!
//! ```
//! use collateral::simulate::{SimulationSettings, simulate};
//! let config = SimulationSettings { lines: 2, drugs: 3, ..Default::default() }.check().unwrap();
//! let screen = simulate(&config);
//! assert_eq!(screen.plates.len(), 2 * 3); // 2 lines × 3 replicates, one plate each
//! assert_eq!(screen.curves.len(), 2 * 3);
//! ```

mod curves;
mod growth;
mod plates;
mod write;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Location, Result};
use crate::plate::{PlateFormat, WellPos};
use crate::wells::Role;
pub use growth::TrueGrowth;

/// Knobs of a simulated screen, as a user gives them. Check them with [`SimulationSettings::check`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulationSettings {
    /// Seed of the random stream (ChaCha8): the same seed gives the same screen.
    pub seed: u64,
    /// Cell lines: one parental plus `lines − 1` resistant lines.
    pub lines: usize,
    /// Drugs.
    pub drugs: usize,
    /// Wells per plate: 96, 384 or 1536.
    pub plate_size: u32,
    /// Doses per dilution series.
    pub doses: usize,
    /// Plate replicates per cell line.
    pub replicates: usize,
    /// Highest concentration (µM).
    pub top_concentration: f64,
    /// Dilution factor between neighbouring doses.
    pub dilution: f64,
    /// SD of the additive noise, in viability units.
    pub noise: f64,
    /// Fractional signal loss of cells on the outer ring of wells.
    pub edge_effect: f64,
    /// Fraction of sample wells replaced by a random reading.
    pub outlier_rate: f64,
    /// Fraction of sample wells written as `OVRFLW` instead of a number.
    pub missing_rate: f64,
    /// Typical signal span between blank and vehicle.
    pub gain: f64,
    /// Typical blank signal.
    pub background: f64,
    /// Plate-to-plate log-normal spread of the gain.
    pub gain_cv: f64,
    /// Lineages per resistant line (0: no lineages, one line per resistant line).
    pub lineages: usize,
    /// Times each lineage is sampled at (days 1, 2, …); needs `lineages`.
    pub evolution_times: usize,
    /// Doubling time of the parental line in hours: simulate growing cells whose growth rate
    /// the drugs slow (cell counts in time; `growth` submodule). Off when absent.
    pub doubling_time: Option<f64>,
    /// Doubling time of every resistant line in hours (default: the parental one); longer
    /// than the parental one for lines that pay a fitness cost.
    pub resistant_doubling_time: Option<f64>,
    /// With growth: read every well at time 0 too (x₀ for GR).
    pub t0: bool,
    /// With growth: hours from treatment to the endpoint read.
    pub duration: f64,
    /// With growth: reads after time 0, evenly spaced, the last at the endpoint (3 or more
    /// give DIP time courses).
    pub reads: usize,
    /// Plant the CS probabilities along a chain instead of drawing them: drug01 → drug02 and
    /// drug02 → drug03 at 0.95, the rest of the chain (drug03 → drug04 → … → drug01) at 0.5,
    /// every other pair at 0.05, so the best therapy sequence is known: it starts drug01 →
    /// drug02 → drug03. Needs lineages and at least 3 drugs.
    pub cs_chain: bool,
    /// Steep bacterial curves: every curve falls from about 1 to about 0 with a Hill slope of
    /// 10–40, and each resistant line's curve of each drug is unchanged (half the pairs) or
    /// shifted 2- to 8-fold either way — the screens where fits end at the Hill bound.
    pub steep: bool,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        SimulationSettings {
            seed: 1,
            lines: 3,
            drugs: 4,
            plate_size: 384,
            doses: 9,
            replicates: 3,
            top_concentration: 10.0,
            dilution: 3.0,
            noise: 0.05,
            edge_effect: 0.0,
            outlier_rate: 0.0,
            missing_rate: 0.0,
            gain: 50_000.0,
            background: 1_500.0,
            gain_cv: 0.1,
            lineages: 0,
            evolution_times: 1,
            doubling_time: None,
            resistant_doubling_time: None,
            t0: false,
            duration: 72.0,
            reads: 1,
            cs_chain: false,
            steep: false,
        }
    }
}

/// Checked simulation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationConfig {
    settings: SimulationSettings,
    format: PlateFormat,
    slots_per_plate: usize,
}

impl SimulationSettings {
    /// Validates every knob once; errors name the knob and the allowed range.
    pub fn check(self) -> Result<SimulationConfig> {
        let bad = |msg: String| Err(Error::config(Location::default(), msg));
        let format = match self.plate_size {
            96 | 384 | 1536 => PlateFormat::from_wells(self.plate_size).expect("standard size"),
            n => {
                return bad(format!(
                    "plate size {n}: simulate makes 96-, 384- or 1536-well plates"
                ))
            }
        };
        if self.lines == 0 || self.drugs == 0 || self.replicates == 0 {
            return bad("lines, drugs and replicates must each be at least 1".into());
        }
        if self.evolution_times == 0 || (self.lineages == 0 && self.evolution_times != 1) {
            return bad(format!(
                "{} evolution times with {} lineages: sampling in time needs lineages (--lineages N) and at least one time",
                self.evolution_times, self.lineages
            ));
        }
        let growth_knobs = self.resistant_doubling_time.is_some()
            || self.t0
            || self.reads != 1
            || self.duration != 72.0;
        if self.doubling_time.is_none() && growth_knobs {
            return bad(
                "--resistant-doubling-time, --t0, --duration and --reads simulate growing cells: give the parental --doubling-time too".into(),
            );
        }
        for (name, v) in [
            ("doubling time", self.doubling_time),
            ("resistant doubling time", self.resistant_doubling_time),
            ("duration", Some(self.duration)),
        ] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return bad(format!("{name} {v}: expected hours > 0"));
            }
        }
        if self.reads == 0 {
            return bad("reads 0: at least the endpoint is read".into());
        }
        if self.cs_chain && (self.lineages == 0 || self.drugs < 3) {
            return bad(format!(
                "a planted CS chain needs lineages (--lineages N) and at least 3 drugs ({} lineages, {} drugs)",
                self.lineages, self.drugs
            ));
        }
        if self.doses < 2 {
            return bad(format!(
                "{} doses: a dose series needs at least 2",
                self.doses
            ));
        }
        let inner = usize::from(format.rows) * (usize::from(format.columns) - 4);
        if self.doses > inner {
            return bad(format!(
                "{} doses do not fit the {inner} sample wells of a {format} plate",
                self.doses
            ));
        }
        for (name, v, lo, hi) in [
            ("noise", self.noise, 0.0, 1.0),
            ("edge effect", self.edge_effect, 0.0, 1.0),
            ("outlier rate", self.outlier_rate, 0.0, 1.0),
            ("missing rate", self.missing_rate, 0.0, 1.0),
            ("gain cv", self.gain_cv, 0.0, 2.0),
        ] {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return bad(format!("{name} {v}: expected a number from {lo} to {hi}"));
            }
        }
        for (name, v) in [
            ("top concentration", self.top_concentration),
            ("gain", self.gain),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} {v}: expected a positive number"));
            }
        }
        if !(self.dilution.is_finite() && self.dilution > 1.0) {
            return bad(format!(
                "dilution {}: expected a factor above 1",
                self.dilution
            ));
        }
        if !(self.background.is_finite() && self.background >= 0.0) {
            return bad(format!(
                "background {}: expected a number ≥ 0",
                self.background
            ));
        }
        Ok(SimulationConfig {
            slots_per_plate: inner / self.doses,
            format,
            settings: self,
        })
    }
}

impl SimulationConfig {
    /// The checked settings.
    pub fn settings(&self) -> &SimulationSettings {
        &self.settings
    }

    /// The tested concentrations, lowest first.
    pub fn doses(&self) -> Vec<f64> {
        let s = &self.settings;
        (0..s.doses)
            .map(|k| s.top_concentration * s.dilution.powi(-((s.doses - 1 - k) as i32)))
            .collect()
    }
}

/// A simulated well.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedWell {
    /// Plate.
    pub plate: String,
    /// Position.
    pub position: WellPos,
    /// Cell line (empty for empty wells).
    pub cell_line: String,
    /// Drug (samples only).
    pub drug: String,
    /// Concentration (samples only).
    pub concentration: Option<f64>,
    /// Role.
    pub role: Role,
    /// Reading as written (a number, or `OVRFLW`).
    pub signal: String,
    /// Plate replicate (1-based).
    pub replicate: usize,
    /// True viability (before noise, edge effect and outliers); `None` for empty wells.
    pub true_viability: Option<f64>,
    /// Whether the reading was replaced by an outlier.
    pub outlier: bool,
    /// Hours since treatment of the read (screens of growing cells; else `None`).
    pub time: Option<f64>,
}

/// The true curve of one cell line and drug.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrueCurve {
    /// Cell line.
    pub cell_line: String,
    /// Drug.
    pub drug: String,
    /// `sigmoid`, `partial`, `steep` or `flat`.
    pub kind: &'static str,
    /// Upper plateau.
    pub top: f64,
    /// Lower plateau.
    pub bottom: f64,
    /// Inflection point.
    pub ec50: f64,
    /// Hill slope (> 0: falling).
    pub hill: f64,
    /// Where the curve crosses viability 0.5, if it does.
    pub abs_ic50: Option<f64>,
    /// Parental line (empty for the parental line).
    pub parental_line: String,
    /// True log2(IC50 resistant / IC50 parental); `None` for parental lines and flat curves.
    pub true_log2_fc: Option<f64>,
}

impl TrueCurve {
    /// Viability at a concentration.
    pub fn viability(&self, x: f64) -> f64 {
        self.bottom + (self.top - self.bottom) / (1.0 + (x / self.ec50).powf(self.hill))
    }
}

/// The true levels of one plate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TruePlate {
    /// Plate.
    pub plate: String,
    /// Cell line on it.
    pub cell_line: String,
    /// Replicate.
    pub replicate: usize,
    /// Signal span between blank and vehicle.
    pub gain: f64,
    /// Blank signal.
    pub background: f64,
    /// SD of the noise in signal units (gain × noise).
    pub noise_sd: f64,
}

/// A row of the simulated lines table.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedLine {
    /// Cell line.
    pub name: String,
    /// Parental line (empty for the parental line).
    pub parental_line: String,
    /// Selecting drug (empty for the parental line).
    pub selected_with: String,
    /// Lineage and evolution time, in a screen with lineages.
    pub sampled: Option<(String, f64)>,
}

/// The true course of CS of one lineage and drug (screens with lineages).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrueCourse {
    /// Lineage.
    pub lineage: String,
    /// Its selecting drug.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// `never`, `persistent`, `emerging` or `fading` (as `stability.csv` names courses).
    pub course: &'static str,
    /// Whether the lineage is cross-resistant to the drug (at every time).
    pub cross_resistant: bool,
    /// The drug pair's CS probability p.
    pub cs_probability: f64,
}

/// The true probabilities of CS and CR among the lineages of one selecting drug, tested with
/// one drug, at one time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrueLikelihood {
    /// Selecting drug.
    pub selected_with: String,
    /// Drug tested.
    pub drug: String,
    /// Evolution time.
    pub evolution_time: f64,
    /// Probability that a lineage is CS at that time.
    pub cs_probability: f64,
    /// Probability that a lineage is CR at that time.
    pub cr_probability: f64,
}

/// A simulated screen.
#[derive(Debug, Clone)]
pub struct SimulatedScreen {
    /// Every well, plate by plate.
    pub wells: Vec<SimulatedWell>,
    /// The lines table.
    pub lines: Vec<SimulatedLine>,
    /// True courses of CS per lineage and drug (screens with lineages; else empty).
    pub courses: Vec<TrueCourse>,
    /// True CS and CR probabilities per selecting drug, drug and time (screens with lineages).
    pub likelihoods: Vec<TrueLikelihood>,
    /// True curves.
    pub curves: Vec<TrueCurve>,
    /// True plate levels.
    pub plates: Vec<TruePlate>,
    /// Growth truth per curve (screens of growing cells; else empty).
    pub growth: Vec<TrueGrowth>,
    /// The settings used.
    pub settings: SimulationSettings,
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// Where a curve crosses 0.5, if it does.
fn abs_ic50(top: f64, bottom: f64, ec50: f64, hill: f64) -> Option<f64> {
    (bottom < 0.5 && top > 0.5).then(|| ec50 * ((top - 0.5) / (0.5 - bottom)).powf(1.0 / hill))
}

/// Simulates a screen: its lines, the true curves (parental, then resistant lines or
/// lineages), as growth-rate curves for growing cells, then the plates and their reads.
pub fn simulate(config: &SimulationConfig) -> SimulatedScreen {
    let s = &config.settings;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let doses = config.doses();
    let log_range = (doses[0].log10(), doses[doses.len() - 1].log10());
    let drugs: Vec<String> = (1..=s.drugs).map(|d| format!("drug{d:02}")).collect();
    let mut lines = curves::screened_lines(s, &drugs);
    let parental = curves::parental_curves(&drugs, log_range, s.steep, &mut rng);
    let mut curves = parental.clone();
    let (mut courses, mut likelihoods) = (Vec::new(), Vec::new());
    if s.lineages > 0 {
        let timed = curves::lineage_curves(s, &drugs, &parental, &mut rng);
        lines.extend(timed.lines);
        curves.extend(timed.curves);
        courses = timed.courses;
        likelihoods = timed.likelihoods;
    } else {
        curves.extend(curves::resistant_curves(
            &lines, &parental, s.steep, &mut rng,
        ));
    }
    let growth = growth::Growth::of(s);
    if let Some(g) = &growth {
        as_growth_rate_curves(&mut curves, g);
    }
    let (wells, plates) = plates::screen_plates(config, &lines, &curves, growth.as_ref(), &mut rng);
    SimulatedScreen {
        growth: growth.map_or_else(Vec::new, |g| growth::truth(&curves, &g)),
        wells,
        lines,
        courses,
        likelihoods,
        curves,
        plates,
        settings: s.clone(),
    }
}

/// Growing cells: the drawn curves are relative growth-rate curves (top 1), and the true
/// IC50 is the endpoint one of each line's own growth.
fn as_growth_rate_curves(curves: &mut [TrueCurve], g: &growth::Growth) {
    for c in curves {
        growth::as_rate_curve(c);
        let td = g.doubling_time(&c.parental_line);
        c.abs_ic50 = growth::endpoint_ic50(c, td, g.duration);
    }
}
