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

mod growth;

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
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

/// Simulates a screen.
pub fn simulate(config: &SimulationConfig) -> SimulatedScreen {
    let s = &config.settings;
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let doses = config.doses();
    let (lo, hi) = (doses[0].log10(), doses[doses.len() - 1].log10());
    let width = hi - lo;
    let drugs: Vec<String> = (1..=s.drugs).map(|d| format!("drug{d:02}")).collect();
    let line = |name: String, parental_line: &str, selected_with: &str| SimulatedLine {
        name,
        parental_line: parental_line.to_string(),
        selected_with: selected_with.to_string(),
        sampled: None,
    };
    let mut lines = vec![line("parental".to_string(), "", "")];
    if s.lineages == 0 {
        for r in 1..s.lines {
            lines.push(line(
                format!("resistant{r:02}"),
                "parental",
                &drugs[(r - 1) % s.drugs],
            ));
        }
    }

    // Parental curves, then each resistant line's shifted copies.
    let mut curves = Vec::new();
    for drug in &drugs {
        let u: f64 = rng.random();
        let kind = match u {
            u if u < 0.85 => "sigmoid",
            u if u < 0.90 => "partial",
            u if u < 0.95 => "steep",
            _ => "flat",
        };
        let log_ec50 = rng.random_range((lo + 0.25 * width)..(hi - 0.25 * width));
        let (top, bottom, hill) = match kind {
            "sigmoid" => (
                rng.random_range(0.9..1.05),
                rng.random_range(0.0..0.15),
                rng.random_range(0.8..2.5),
            ),
            "partial" => (
                rng.random_range(0.9..1.05),
                rng.random_range(0.3..0.6),
                rng.random_range(0.8..2.5),
            ),
            "steep" => (
                rng.random_range(0.9..1.05),
                rng.random_range(0.0..0.15),
                rng.random_range(4.0..8.0),
            ),
            _ => {
                let level = rng.random_range(0.95..1.05);
                (level, level, 1.0)
            }
        };
        let ec50 = 10f64.powf(log_ec50);
        curves.push(TrueCurve {
            cell_line: "parental".into(),
            drug: drug.clone(),
            kind,
            top,
            bottom,
            ec50,
            hill,
            abs_ic50: if kind == "flat" {
                None
            } else {
                abs_ic50(top, bottom, ec50, hill)
            },
            parental_line: String::new(),
            true_log2_fc: None,
        });
    }
    let parental: Vec<TrueCurve> = curves.clone();
    let (mut courses, mut likelihoods) = (Vec::new(), Vec::new());
    if s.lineages > 0 {
        let timed = lineage_curves(s, &drugs, &parental, &mut rng);
        lines.extend(timed.lines);
        curves.extend(timed.curves);
        courses = timed.courses;
        likelihoods = timed.likelihoods;
    }
    for l in lines.iter().skip(1).filter(|_| s.lineages == 0) {
        let (name, parent, selected) = (&l.name, &l.parental_line, &l.selected_with);
        for p in &parental {
            let u: f64 = rng.random();
            let fc = if &p.drug == selected {
                rng.random_range(2.0..4.0)
            } else if u < 0.15 {
                rng.random_range(-3.0..-1.5)
            } else if u < 0.30 {
                rng.random_range(1.5..3.0)
            } else {
                0.0
            };
            let flat = p.kind == "flat";
            let ec50 = if flat { p.ec50 } else { p.ec50 * 2f64.powf(fc) };
            curves.push(TrueCurve {
                cell_line: name.clone(),
                parental_line: parent.clone(),
                ec50,
                abs_ic50: if flat {
                    None
                } else {
                    abs_ic50(p.top, p.bottom, ec50, p.hill)
                },
                true_log2_fc: (!flat).then_some(fc),
                ..p.clone()
            });
        }
    }

    // Growing cells: the drawn curves are relative growth-rate curves (top 1), and the true
    // IC50 is the endpoint one of each line's own growth.
    let growth = growth::Growth::of(s);
    if let Some(g) = &growth {
        for c in &mut curves {
            growth::as_rate_curve(c);
            let td = g.doubling_time(&c.parental_line);
            c.abs_ic50 = growth::endpoint_ic50(c, td, g.duration);
        }
    }

    // Plates: one cell line and replicate each, series filled row by row.
    let f = config.format;
    let (rows, cols) = (f.rows, f.columns);
    let inner: Vec<WellPos> = (0..rows)
        .flat_map(|r| (2..cols - 2).map(move |c| WellPos { row: r, column: c }))
        .collect();
    let mut wells = Vec::new();
    let mut plates = Vec::new();
    let per_plate = config.slots_per_plate;
    let mut plate_no = 0;
    for name in lines.iter().map(|l| &l.name) {
        let line_curves: Vec<&TrueCurve> = curves.iter().filter(|c| &c.cell_line == name).collect();
        for rep in 1..=s.replicates {
            for chunk in line_curves.chunks(per_plate) {
                plate_no += 1;
                let plate = format!("plate{plate_no:04}");
                let gain = s.gain * (s.gain_cv * normal(&mut rng)).exp();
                let background = s.background * rng.random_range(0.9..1.1);
                plates.push(TruePlate {
                    plate: plate.clone(),
                    cell_line: name.clone(),
                    replicate: rep,
                    gain,
                    background,
                    noise_sd: gain * s.noise,
                });
                if let Some(g) = &growth {
                    let mut planned = Vec::new();
                    for r in 0..rows {
                        for (c, role) in [
                            (0, Role::Blank),
                            (1, Role::Vehicle),
                            (cols - 2, Role::Vehicle),
                            (cols - 1, Role::Blank),
                        ] {
                            planned.push(growth::PlannedWell {
                                position: WellPos { row: r, column: c },
                                role,
                                curve: None,
                                concentration: None,
                            });
                        }
                    }
                    let mut slots = inner.iter();
                    for curve in chunk {
                        for &x in &doses {
                            planned.push(growth::PlannedWell {
                                position: *slots.next().expect("slots_per_plate series fit"),
                                role: Role::Sample,
                                curve: Some(curve),
                                concentration: Some(x),
                            });
                        }
                    }
                    planned.extend(slots.map(|&position| growth::PlannedWell {
                        position,
                        role: Role::Empty,
                        curve: None,
                        concentration: None,
                    }));
                    let parental_line = chunk.first().map_or("", |c| c.parental_line.as_str());
                    wells.extend(growth::plate_reads(
                        &mut rng,
                        s,
                        g,
                        &plate,
                        name,
                        g.doubling_time(parental_line),
                        rep,
                        (gain, background),
                        &|p| f.is_edge(p),
                        &planned,
                    ));
                    continue;
                }
                let read = |rng: &mut ChaCha8Rng, pos: WellPos, v: f64, cells: bool| -> f64 {
                    let edge = if cells && f.is_edge(pos) {
                        1.0 - s.edge_effect
                    } else {
                        1.0
                    };
                    background + gain * v * edge + gain * s.noise * normal(rng)
                };
                for r in 0..rows {
                    for (c, role) in [
                        (0, Role::Blank),
                        (1, Role::Vehicle),
                        (cols - 2, Role::Vehicle),
                        (cols - 1, Role::Blank),
                    ] {
                        let pos = WellPos { row: r, column: c };
                        let v = if role == Role::Vehicle { 1.0 } else { 0.0 };
                        let signal = read(&mut rng, pos, v, role == Role::Vehicle);
                        wells.push(SimulatedWell {
                            plate: plate.clone(),
                            position: pos,
                            cell_line: name.clone(),
                            drug: String::new(),
                            concentration: None,
                            role,
                            signal: signal.to_string(),
                            replicate: rep,
                            true_viability: Some(v),
                            outlier: false,
                            time: None,
                        });
                    }
                }
                let mut slots = inner.iter();
                for curve in chunk {
                    for &x in &doses {
                        let pos = *slots.next().expect("slots_per_plate series fit");
                        let v = curve.viability(x);
                        let mut signal = read(&mut rng, pos, v, true);
                        let outlier = rng.random::<f64>() < s.outlier_rate;
                        if outlier {
                            signal = background + gain * rng.random_range(0.0..1.2);
                        }
                        let missing = rng.random::<f64>() < s.missing_rate;
                        wells.push(SimulatedWell {
                            plate: plate.clone(),
                            position: pos,
                            cell_line: name.clone(),
                            drug: curve.drug.clone(),
                            concentration: Some(x),
                            role: Role::Sample,
                            signal: if missing {
                                "OVRFLW".into()
                            } else {
                                signal.to_string()
                            },
                            replicate: rep,
                            true_viability: Some(v),
                            outlier,
                            time: None,
                        });
                    }
                }
                for &pos in slots {
                    wells.push(SimulatedWell {
                        plate: plate.clone(),
                        position: pos,
                        cell_line: String::new(),
                        drug: String::new(),
                        concentration: None,
                        role: Role::Empty,
                        signal: String::new(),
                        replicate: rep,
                        true_viability: None,
                        outlier: false,
                        time: None,
                    });
                }
            }
        }
    }
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

/// The lines, curves and truth of a screen with lineages.
struct LineageScreen {
    lines: Vec<SimulatedLine>,
    curves: Vec<TrueCurve>,
    courses: Vec<TrueCourse>,
    likelihoods: Vec<TrueLikelihood>,
}

/// Probability that a lineage CS for a drug pair of CS probability `p` is CS at time index `i`
/// of `times`: a third of CS lineages are persistent, a third emerge from a uniform onset in
/// 1..times−1, a third fade after a uniform last CS index in 0..times−2.
fn cs_at(p: f64, i: usize, times: usize) -> f64 {
    if times == 1 {
        return p;
    }
    let span = (times - 1) as f64;
    p * (1.0 + i as f64 / span + (span - i as f64) / span) / 3.0
}

/// Rate of cross-resistance among lineages that are not CS.
const CR_RATE: f64 = 0.2;

fn lineage_curves(
    s: &SimulationSettings,
    drugs: &[String],
    parental: &[TrueCurve],
    rng: &mut ChaCha8Rng,
) -> LineageScreen {
    let times = s.evolution_times;
    let mut out = LineageScreen {
        lines: Vec::new(),
        curves: Vec::new(),
        courses: Vec::new(),
        likelihoods: Vec::new(),
    };
    for r in 1..s.lines {
        let selected = &drugs[(r - 1) % s.drugs];
        let group = format!("resistant{r:02}");
        // One CS probability per drug pair, shared by the group's lineages.
        let probability: Vec<f64> = parental
            .iter()
            .enumerate()
            .map(|(j, _)| {
                let drawn = rng.random_range(0.05..0.95);
                if !s.cs_chain {
                    return drawn;
                }
                let from = (r - 1) % s.drugs;
                match (from, j) {
                    (0, 1) | (1, 2) => 0.95,
                    (f, j) if j == (f + 1) % s.drugs => 0.5,
                    _ => 0.05,
                }
            })
            .collect();
        for (p, &prob) in parental.iter().zip(&probability) {
            if &p.drug == selected {
                continue;
            }
            for i in 0..times {
                out.likelihoods.push(TrueLikelihood {
                    selected_with: selected.clone(),
                    drug: p.drug.clone(),
                    evolution_time: (i + 1) as f64,
                    cs_probability: cs_at(prob, i, times),
                    cr_probability: (1.0 - prob) * CR_RATE,
                });
            }
        }
        for l in 1..=s.lineages {
            let lineage = format!("{group}_L{l:02}");
            // Per drug: the log2 fold change at each time index, drawn once per lineage.
            let mut fcs: Vec<Vec<f64>> = Vec::new();
            for (p, &prob) in parental.iter().zip(&probability) {
                if &p.drug == selected {
                    let fc = rng.random_range(2.0..4.0);
                    fcs.push(vec![fc; times]);
                    continue;
                }
                let (course, cr, series) = if rng.random::<f64>() < prob {
                    let fc = rng.random_range(-3.5..-2.0);
                    let kind = if times == 1 {
                        0
                    } else {
                        rng.random_range(0..3usize)
                    };
                    let (first, last) = match kind {
                        0 => (0, times - 1),
                        1 => (rng.random_range(1..times), times - 1),
                        _ => (0, rng.random_range(0..times - 1)),
                    };
                    let series: Vec<f64> = (0..times)
                        .map(|i| if (first..=last).contains(&i) { fc } else { 0.0 })
                        .collect();
                    (["persistent", "emerging", "fading"][kind], false, series)
                } else if rng.random::<f64>() < CR_RATE {
                    let fc = rng.random_range(1.5..3.0);
                    ("never", true, vec![fc; times])
                } else {
                    ("never", false, vec![0.0; times])
                };
                out.courses.push(TrueCourse {
                    lineage: lineage.clone(),
                    selected_with: selected.clone(),
                    drug: p.drug.clone(),
                    course,
                    cross_resistant: cr,
                    cs_probability: prob,
                });
                fcs.push(series);
            }
            for i in 0..times {
                let name = format!("{lineage}_t{}", i + 1);
                out.lines.push(SimulatedLine {
                    name: name.clone(),
                    parental_line: "parental".into(),
                    selected_with: selected.clone(),
                    sampled: Some((lineage.clone(), (i + 1) as f64)),
                });
                for (p, series) in parental.iter().zip(&fcs) {
                    let fc = series[i];
                    let flat = p.kind == "flat";
                    let ec50 = if flat { p.ec50 } else { p.ec50 * 2f64.powf(fc) };
                    out.curves.push(TrueCurve {
                        cell_line: name.clone(),
                        parental_line: "parental".into(),
                        ec50,
                        abs_ic50: if flat {
                            None
                        } else {
                            abs_ic50(p.top, p.bottom, ec50, p.hill)
                        },
                        true_log2_fc: (!flat).then_some(fc),
                        ..p.clone()
                    });
                }
            }
        }
    }
    out
}

impl SimulatedScreen {
    /// Writes `wells.csv`, `lines.csv`, `assay.toml`, `truth_curves.csv`, `truth_plates.csv`
    /// and `truth_wells.csv` into `dir`, with lineages `truth_courses.csv` and
    /// `truth_likelihood.csv`, and for growing cells `truth_growth.csv` (and a `time` column in
    /// the wells, `doubling_time_h` in the lines).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating", e))?;
        let mut written = Vec::new();
        let mut file =
            |name: &str, f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| -> Result<()> {
                let path = dir.join(name);
                let mut w = std::io::BufWriter::new(
                    std::fs::File::create(&path).map_err(|e| Error::io(&path, "creating", e))?,
                );
                f(&mut w)
                    .and_then(|_| w.flush())
                    .map_err(|e| Error::io(&path, "writing", e))?;
                written.push(path);
                Ok(())
            };
        let opt = crate::text::opt;
        // Screens of growing cells read wells in time: a `time` column, and doubling times.
        let growing = self.settings.doubling_time.is_some();
        file("wells.csv", &|w| {
            let mut out = csv::Writer::from_writer(w);
            let mut header = vec![
                "plate",
                "well",
                "cell_line",
                "drug",
                "concentration",
                "role",
                "signal",
                "replicate",
            ];
            if growing {
                header.push("time");
            }
            out.write_record(&header)?;
            for x in &self.wells {
                let mut row = vec![
                    x.plate.clone(),
                    x.position.to_string(),
                    x.cell_line.clone(),
                    x.drug.clone(),
                    opt(x.concentration),
                    x.role.as_str().to_string(),
                    x.signal.clone(),
                    x.replicate.to_string(),
                ];
                if growing {
                    row.push(opt(x.time));
                }
                out.write_record(&row)?;
            }
            out.flush()
        })?;
        let timed = self.settings.lineages > 0;
        file("lines.csv", &|w| {
            let mut out = csv::Writer::from_writer(w);
            let mut header = vec!["cell_line", "parental_line", "selected_with"];
            if timed {
                header.extend(["lineage", "evolution_time"]);
            }
            if growing {
                header.push("doubling_time_h");
            }
            out.write_record(&header)?;
            for l in &self.lines {
                let mut row = vec![
                    l.name.clone(),
                    l.parental_line.clone(),
                    l.selected_with.clone(),
                ];
                if timed {
                    let (lineage, time) = l
                        .sampled
                        .as_ref()
                        .map_or((String::new(), String::new()), |(l, t)| {
                            (l.clone(), t.to_string())
                        });
                    row.extend([lineage, time]);
                }
                if let Some(g) = self.growth.iter().find(|g| g.cell_line == l.name) {
                    row.push(crate::text::format_number(g.doubling_time_h));
                }
                out.write_record(&row)?;
            }
            out.flush()
        })?;
        file("assay.toml", &|w| {
            let s = &self.settings;
            writeln!(
                w,
                "# Simulated by `collateral simulate` (seed {}); truth in truth_*.csv.",
                s.seed
            )?;
            writeln!(w, "name = \"simulated screen (seed {})\"", s.seed)?;
            writeln!(w, "concentration_unit = \"uM\"")?;
            if timed {
                writeln!(w, "evolution_time_unit = \"day\"")?;
            }
            writeln!(
                w,
                "wells = \"wells.csv\"\nlines = \"lines.csv\"\nplate_size = {}",
                s.plate_size
            )
        })?;
        file("truth_curves.csv", &|w| {
            let mut out = csv::Writer::from_writer(w);
            out.write_record([
                "cell_line",
                "drug",
                "kind",
                "top",
                "bottom",
                "ec50",
                "hill",
                "abs_ic50",
                "parental_line",
                "true_log2_fc",
            ])?;
            for c in &self.curves {
                out.write_record([
                    c.cell_line.as_str(),
                    &c.drug,
                    c.kind,
                    &c.top.to_string(),
                    &c.bottom.to_string(),
                    &c.ec50.to_string(),
                    &c.hill.to_string(),
                    &opt(c.abs_ic50),
                    &c.parental_line,
                    &opt(c.true_log2_fc),
                ])?;
            }
            out.flush()
        })?;
        file("truth_plates.csv", &|w| {
            let mut out = csv::Writer::from_writer(w);
            out.write_record([
                "plate",
                "cell_line",
                "replicate",
                "gain",
                "background",
                "noise_sd",
            ])?;
            for p in &self.plates {
                out.write_record([
                    p.plate.as_str(),
                    &p.cell_line,
                    &p.replicate.to_string(),
                    &p.gain.to_string(),
                    &p.background.to_string(),
                    &p.noise_sd.to_string(),
                ])?;
            }
            out.flush()
        })?;
        file("truth_wells.csv", &|w| {
            let mut out = csv::Writer::from_writer(w);
            let mut header = vec!["plate", "well", "true_viability", "outlier"];
            if growing {
                header.push("time");
            }
            out.write_record(&header)?;
            for x in &self.wells {
                let mut row = vec![
                    x.plate.clone(),
                    x.position.to_string(),
                    opt(x.true_viability),
                    x.outlier.to_string(),
                ];
                if growing {
                    row.push(opt(x.time));
                }
                out.write_record(&row)?;
            }
            out.flush()
        })?;
        if growing {
            file("truth_growth.csv", &|w| {
                growth::write_truth(w, &self.growth)
            })?;
        }
        if timed {
            file("truth_courses.csv", &|w| {
                let mut out = csv::Writer::from_writer(w);
                out.write_record([
                    "lineage",
                    "selected_with",
                    "drug",
                    "course",
                    "cross_resistant",
                    "cs_probability",
                ])?;
                for c in &self.courses {
                    out.write_record([
                        c.lineage.as_str(),
                        &c.selected_with,
                        &c.drug,
                        c.course,
                        &c.cross_resistant.to_string(),
                        &crate::text::format_number(c.cs_probability),
                    ])?;
                }
                out.flush()
            })?;
            file("truth_likelihood.csv", &|w| {
                let mut out = csv::Writer::from_writer(w);
                out.write_record([
                    "selected_with",
                    "drug",
                    "evolution_time",
                    "cs_probability",
                    "cr_probability",
                ])?;
                for l in &self.likelihoods {
                    out.write_record([
                        l.selected_with.as_str(),
                        &l.drug,
                        &crate::text::format_number(l.evolution_time),
                        &crate::text::format_number(l.cs_probability),
                        &crate::text::format_number(l.cr_probability),
                    ])?;
                }
                out.flush()
            })?;
        }
        Ok(written)
    }
}
