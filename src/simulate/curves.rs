//! The true curves of a screen: the parental line's drawn curves, the resistant lines' shifted
//! copies, and with lineages each lineage's curves in time with their CS and CR truth. The
//! random stream is drawn in one fixed order, so a seed gives one screen.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{abs_ic50, SimulatedLine, SimulationSettings, TrueCourse, TrueCurve, TrueLikelihood};

/// The screen's lines without lineages: the parental line, and each resistant line selected
/// with the drugs in turn (with lineages only the parental line: the lineages add theirs).
pub(super) fn screened_lines(s: &SimulationSettings, drugs: &[String]) -> Vec<SimulatedLine> {
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
    lines
}

/// The parental line's curve of each drug, its EC50 inside the middle half of the doses'
/// log range `lo..hi`.
/// With `steep`, every curve is a steep bacterial one ([`steep_curve`]).
pub(super) fn parental_curves(
    drugs: &[String],
    (lo, hi): (f64, f64),
    steep: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<TrueCurve> {
    drugs
        .iter()
        .map(|drug| {
            if steep {
                steep_curve(drug, lo, hi, rng)
            } else {
                parental_curve(drug, lo, hi, rng)
            }
        })
        .collect()
}

/// A steep bacterial curve (growth inhibition read as OD): full growth, then none within
/// about one three-fold dose step — top 0.95–1.05, bottom 0–0.05, Hill slope 10–40 — its
/// EC50 inside the middle half of the doses' log range.
fn steep_curve(drug: &str, lo: f64, hi: f64, rng: &mut ChaCha8Rng) -> TrueCurve {
    let width = hi - lo;
    let ec50 = 10f64.powf(rng.random_range((lo + 0.25 * width)..(hi - 0.25 * width)));
    let (top, bottom, hill) = (
        rng.random_range(0.95..1.05),
        rng.random_range(0.0..0.05),
        rng.random_range(10.0..40.0),
    );
    TrueCurve {
        cell_line: "parental".into(),
        drug: drug.to_string(),
        kind: "steep",
        top,
        bottom,
        ec50,
        hill,
        abs_ic50: abs_ic50(top, bottom, ec50, hill),
        parental_line: String::new(),
        true_log2_fc: None,
    }
}

/// One drug's parental curve: its kind (mostly sigmoid), its EC50, then its plateaus and
/// slope.
fn parental_curve(drug: &str, lo: f64, hi: f64, rng: &mut ChaCha8Rng) -> TrueCurve {
    let width = hi - lo;
    let u: f64 = rng.random();
    let kind = match u {
        u if u < 0.85 => "sigmoid",
        u if u < 0.90 => "partial",
        u if u < 0.95 => "steep",
        _ => "flat",
    };
    let log_ec50 = rng.random_range((lo + 0.25 * width)..(hi - 0.25 * width));
    let (top, bottom, hill) = shape(kind, rng);
    let ec50 = 10f64.powf(log_ec50);
    TrueCurve {
        cell_line: "parental".into(),
        drug: drug.to_string(),
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
    }
}

/// Top, bottom and Hill slope of a curve of this kind.
fn shape(kind: &str, rng: &mut ChaCha8Rng) -> (f64, f64, f64) {
    match kind {
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
    }
}

/// A parental curve shifted `fc` log2 units for another line (a flat curve stays put).
fn shifted(p: &TrueCurve, cell_line: &str, parental_line: &str, fc: f64) -> TrueCurve {
    let flat = p.kind == "flat";
    let ec50 = if flat { p.ec50 } else { p.ec50 * 2f64.powf(fc) };
    TrueCurve {
        cell_line: cell_line.to_string(),
        parental_line: parental_line.to_string(),
        ec50,
        abs_ic50: if flat {
            None
        } else {
            abs_ic50(p.top, p.bottom, ec50, p.hill)
        },
        true_log2_fc: (!flat).then_some(fc),
        ..p.clone()
    }
}

/// Each resistant line's curves: resistant to its selecting drug, and to each other drug CS
/// (15 %), cross-resistant (15 %) or unchanged. With `steep` (bacterial screens), every drug
/// alike: unchanged in half the pairs, else shifted 2- to 8-fold (|log2 fc| uniform in 1–3)
/// up or down with equal chance.
pub(super) fn resistant_curves(
    lines: &[SimulatedLine],
    parental: &[TrueCurve],
    steep: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<TrueCurve> {
    let mut curves = Vec::new();
    for l in lines.iter().skip(1) {
        for p in parental {
            let u: f64 = rng.random();
            let fc = if steep {
                if u < 0.5 {
                    0.0
                } else {
                    let size = rng.random_range(1.0..3.0);
                    if u < 0.75 {
                        size
                    } else {
                        -size
                    }
                }
            } else if p.drug == l.selected_with {
                rng.random_range(2.0..4.0)
            } else if u < 0.15 {
                rng.random_range(-3.0..-1.5)
            } else if u < 0.30 {
                rng.random_range(1.5..3.0)
            } else {
                0.0
            };
            curves.push(shifted(p, &l.name, &l.parental_line, fc));
        }
    }
    curves
}

/// The lines, curves and truth of a screen with lineages.
pub(super) struct LineageScreen {
    pub(super) lines: Vec<SimulatedLine>,
    pub(super) curves: Vec<TrueCurve>,
    pub(super) courses: Vec<TrueCourse>,
    pub(super) likelihoods: Vec<TrueLikelihood>,
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

/// The lineages of one resistant line (a group): what they share.
struct Group<'a> {
    selected: &'a str,
    parental: &'a [TrueCurve],
    /// The CS probability of each drug (parental curve order).
    probability: Vec<f64>,
    times: usize,
}

/// Each resistant line's lineages, evolved independently and sampled at every time.
pub(super) fn lineage_curves(
    s: &SimulationSettings,
    drugs: &[String],
    parental: &[TrueCurve],
    rng: &mut ChaCha8Rng,
) -> LineageScreen {
    let mut out = LineageScreen {
        lines: Vec::new(),
        curves: Vec::new(),
        courses: Vec::new(),
        likelihoods: Vec::new(),
    };
    for r in 1..s.lines {
        let group = Group {
            selected: &drugs[(r - 1) % s.drugs],
            parental,
            probability: cs_probabilities(s, r, parental.len(), rng),
            times: s.evolution_times,
        };
        out.likelihoods.extend(group.likelihoods());
        for l in 1..=s.lineages {
            let lineage = format!("resistant{r:02}_L{l:02}");
            let fcs = group.evolve(&lineage, rng, &mut out.courses);
            group.sample(&lineage, &fcs, &mut out);
        }
    }
    out
}

/// One CS probability per drug pair of resistant line `r`, shared by its lineages: drawn
/// uniformly, or the planted chain's.
fn cs_probabilities(
    s: &SimulationSettings,
    r: usize,
    drugs: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    (0..drugs)
        .map(|j| {
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
        .collect()
}

impl Group<'_> {
    /// The true probability of CS and CR of each other drug at each time.
    fn likelihoods(&self) -> Vec<TrueLikelihood> {
        let mut out = Vec::new();
        for (p, &prob) in self.parental.iter().zip(&self.probability) {
            if p.drug == self.selected {
                continue;
            }
            for i in 0..self.times {
                out.push(TrueLikelihood {
                    selected_with: self.selected.to_string(),
                    drug: p.drug.clone(),
                    evolution_time: (i + 1) as f64,
                    cs_probability: cs_at(prob, i, self.times),
                    cr_probability: (1.0 - prob) * CR_RATE,
                });
            }
        }
        out
    }

    /// One lineage's log2 fold change of each drug at each time index, drawn once, and its
    /// course of each other drug.
    fn evolve(
        &self,
        lineage: &str,
        rng: &mut ChaCha8Rng,
        courses: &mut Vec<TrueCourse>,
    ) -> Vec<Vec<f64>> {
        let mut fcs: Vec<Vec<f64>> = Vec::new();
        for (p, &prob) in self.parental.iter().zip(&self.probability) {
            if p.drug == self.selected {
                let fc = rng.random_range(2.0..4.0);
                fcs.push(vec![fc; self.times]);
                continue;
            }
            let (course, cr, series) = draw_course(prob, self.times, rng);
            courses.push(TrueCourse {
                lineage: lineage.to_string(),
                selected_with: self.selected.to_string(),
                drug: p.drug.clone(),
                course,
                cross_resistant: cr,
                cs_probability: prob,
            });
            fcs.push(series);
        }
        fcs
    }

    /// The lineage's line and curves at each time.
    fn sample(&self, lineage: &str, fcs: &[Vec<f64>], out: &mut LineageScreen) {
        for i in 0..self.times {
            let name = format!("{lineage}_t{}", i + 1);
            out.lines.push(SimulatedLine {
                name: name.clone(),
                parental_line: "parental".into(),
                selected_with: self.selected.to_string(),
                sampled: Some((lineage.to_string(), (i + 1) as f64)),
            });
            for (p, series) in self.parental.iter().zip(fcs) {
                out.curves.push(shifted(p, &name, "parental", series[i]));
            }
        }
    }
}

/// A lineage's course for one drug of CS probability `prob`: CS (persistent, emerging or
/// fading), else cross-resistant at every time, else unchanged; with its log2 fold change at
/// each time.
fn draw_course(prob: f64, times: usize, rng: &mut ChaCha8Rng) -> (&'static str, bool, Vec<f64>) {
    if rng.random::<f64>() < prob {
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
    }
}
