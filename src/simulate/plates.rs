//! The plates of a screen and their reads: one cell line and replicate per plate, controls in
//! the outer two columns of each side, dilution series filling the columns in between row by
//! row, unused wells empty.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::growth::{self, Growth, PlannedWell};
use super::{normal, SimulatedLine, SimulatedWell, SimulationConfig, SimulationSettings};
use super::{TrueCurve, TruePlate};
use crate::plate::{PlateFormat, WellPos};
use crate::wells::Role;

/// Where the wells of every plate go, and the doses of a series.
struct Layout {
    format: PlateFormat,
    /// The sample slots, row by row.
    inner: Vec<WellPos>,
    doses: Vec<f64>,
}

impl Layout {
    fn of(config: &SimulationConfig) -> Layout {
        let f = config.format;
        let (rows, cols) = (f.rows, f.columns);
        Layout {
            format: f,
            inner: (0..rows)
                .flat_map(|r| (2..cols - 2).map(move |c| WellPos { row: r, column: c }))
                .collect(),
            doses: config.doses(),
        }
    }

    /// The control wells row by row: blank, vehicle, …, vehicle, blank.
    fn controls(&self) -> impl Iterator<Item = (WellPos, Role)> {
        let cols = self.format.columns;
        (0..self.format.rows).flat_map(move |r| {
            [
                (0, Role::Blank),
                (1, Role::Vehicle),
                (cols - 2, Role::Vehicle),
                (cols - 1, Role::Blank),
            ]
            .map(|(c, role)| (WellPos { row: r, column: c }, role))
        })
    }
}

/// Every plate of the screen and every read of its wells: each line's curves in chunks of
/// `slots_per_plate` series, in every replicate.
pub(super) fn screen_plates(
    config: &SimulationConfig,
    lines: &[SimulatedLine],
    curves: &[TrueCurve],
    growth: Option<&Growth>,
    rng: &mut ChaCha8Rng,
) -> (Vec<SimulatedWell>, Vec<TruePlate>) {
    let s = &config.settings;
    let layout = Layout::of(config);
    let mut wells = Vec::new();
    let mut plates = Vec::new();
    for name in lines.iter().map(|l| &l.name) {
        let line_curves: Vec<&TrueCurve> = curves.iter().filter(|c| &c.cell_line == name).collect();
        for rep in 1..=s.replicates {
            for chunk in line_curves.chunks(config.slots_per_plate) {
                let plate = draw_plate(plates.len() + 1, name, rep, s, rng);
                match growth {
                    Some(g) => wells.extend(growing_reads(&plate, chunk, &layout, s, g, rng)),
                    None => wells.extend(endpoint_reads(&plate, chunk, &layout, s, rng)),
                }
                plates.push(plate);
            }
        }
    }
    (wells, plates)
}

/// A plate's gain and background, drawn.
fn draw_plate(
    number: usize,
    cell_line: &str,
    replicate: usize,
    s: &SimulationSettings,
    rng: &mut ChaCha8Rng,
) -> TruePlate {
    let gain = s.gain * (s.gain_cv * normal(rng)).exp();
    let background = s.background * rng.random_range(0.9..1.1);
    TruePlate {
        plate: format!("plate{number:04}"),
        cell_line: cell_line.to_string(),
        replicate,
        gain,
        background,
        noise_sd: gain * s.noise,
    }
}

/// A well of the plate with no drug, no signal and no truth yet.
fn plain_well(plate: &TruePlate, position: WellPos, role: Role) -> SimulatedWell {
    SimulatedWell {
        plate: plate.plate.clone(),
        position,
        cell_line: plate.cell_line.clone(),
        drug: String::new(),
        concentration: None,
        role,
        signal: String::new(),
        replicate: plate.replicate,
        true_viability: None,
        outlier: false,
        time: None,
    }
}

/// The single read of every well of a plate of an endpoint screen: controls, series, empty
/// wells.
fn endpoint_reads(
    plate: &TruePlate,
    chunk: &[&TrueCurve],
    layout: &Layout,
    s: &SimulationSettings,
    rng: &mut ChaCha8Rng,
) -> Vec<SimulatedWell> {
    let (gain, background) = (plate.gain, plate.background);
    let read = |rng: &mut ChaCha8Rng, pos: WellPos, v: f64, cells: bool| -> f64 {
        let edge = if cells && layout.format.is_edge(pos) {
            1.0 - s.edge_effect
        } else {
            1.0
        };
        background + gain * v * edge + gain * s.noise * normal(rng)
    };
    let mut wells = Vec::new();
    for (pos, role) in layout.controls() {
        let v = if role == Role::Vehicle { 1.0 } else { 0.0 };
        let signal = read(rng, pos, v, role == Role::Vehicle);
        wells.push(SimulatedWell {
            signal: signal.to_string(),
            true_viability: Some(v),
            ..plain_well(plate, pos, role)
        });
    }
    let mut slots = layout.inner.iter();
    for curve in chunk {
        for &x in &layout.doses {
            let pos = *slots.next().expect("slots_per_plate series fit");
            let v = curve.viability(x);
            let mut signal = read(rng, pos, v, true);
            let outlier = rng.random::<f64>() < s.outlier_rate;
            if outlier {
                signal = background + gain * rng.random_range(0.0..1.2);
            }
            let missing = rng.random::<f64>() < s.missing_rate;
            wells.push(SimulatedWell {
                drug: curve.drug.clone(),
                concentration: Some(x),
                signal: if missing {
                    "OVRFLW".into()
                } else {
                    signal.to_string()
                },
                true_viability: Some(v),
                outlier,
                ..plain_well(plate, pos, Role::Sample)
            });
        }
    }
    for &pos in slots {
        wells.push(SimulatedWell {
            cell_line: String::new(),
            ..plain_well(plate, pos, Role::Empty)
        });
    }
    wells
}

/// The reads in time of every well of a plate of growing cells (see the `growth` submodule).
fn growing_reads(
    plate: &TruePlate,
    chunk: &[&TrueCurve],
    layout: &Layout,
    s: &SimulationSettings,
    g: &Growth,
    rng: &mut ChaCha8Rng,
) -> Vec<SimulatedWell> {
    let mut planned: Vec<PlannedWell> = layout
        .controls()
        .map(|(position, role)| PlannedWell {
            position,
            role,
            curve: None,
            concentration: None,
        })
        .collect();
    let mut slots = layout.inner.iter();
    for curve in chunk {
        for &x in &layout.doses {
            planned.push(PlannedWell {
                position: *slots.next().expect("slots_per_plate series fit"),
                role: Role::Sample,
                curve: Some(curve),
                concentration: Some(x),
            });
        }
    }
    planned.extend(slots.map(|&position| PlannedWell {
        position,
        role: Role::Empty,
        curve: None,
        concentration: None,
    }));
    let parental_line = chunk.first().map_or("", |c| c.parental_line.as_str());
    growth::plate_reads(
        rng,
        s,
        g,
        plate,
        g.doubling_time(parental_line),
        &|p| layout.format.is_edge(p),
        &planned,
    )
}
