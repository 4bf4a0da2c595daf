//! Plate QC maps: each plate drawn as its grid of wells twice, coloured by raw signal and by
//! viability; vehicle and blank wells outlined, excluded wells crossed, Z′ and the QC verdict in
//! the title.

use std::collections::HashMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{QcRow, RunData};
use super::style::{short_number, FONT};
use super::{plot_err, Draw};
use crate::qc::Verdict;
use crate::wells::Role;

/// Outline of vehicle (100 % viable) wells.
pub(crate) const VEHICLE_OUTLINE: RGBColor = RGBColor(0, 0, 0);
/// Outline of blank (0 %) wells.
pub(crate) const BLANK_OUTLINE: RGBColor = RGBColor(230, 0, 230);
const HEADER: u32 = 70;
const FOOTER: u32 = 46;
const AXIS: u32 = 30;

/// One well on the map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapWell {
    /// Row index from 0 (A).
    pub row: usize,
    /// Column index from 0 (column 1).
    pub column: usize,
    /// Role (`None`: one the maps do not know).
    pub role: Option<Role>,
    /// Raw signal (NaN when not a number).
    pub signal: f64,
    /// Viability (NaN when undefined).
    pub viability: f64,
    /// Left out downstream.
    pub excluded: bool,
}

/// One plate's map.
#[derive(Debug, Clone)]
pub(crate) struct PlateMap {
    /// Plate id.
    pub plate: String,
    /// Rows and columns of the plate.
    pub shape: (usize, usize),
    /// Wells with a parsable name.
    pub wells: Vec<MapWell>,
    /// The plate's QC rows (pooled first when present).
    pub qc: Vec<QcRow>,
}

/// Rows × columns of a standard plate size; other sizes fall back to what the wells span.
pub(crate) fn plate_shape(size: usize) -> Option<(usize, usize)> {
    match size {
        6 => Some((2, 3)),
        12 => Some((3, 4)),
        24 => Some((4, 6)),
        48 => Some((6, 8)),
        96 => Some((8, 12)),
        384 => Some((16, 24)),
        1536 => Some((32, 48)),
        _ => None,
    }
}

/// The wells and QC rows of every plate, found once so a map can be built when it is drawn
/// (thousands of plates: the maps are built, drawn and dropped a few at a time).
pub(crate) struct PlateIndex<'a> {
    data: &'a RunData,
    /// Indices into `data.wells`, by plate number (first-seen order of `wells.csv`).
    wells: Vec<Vec<u32>>,
    /// Indices into `data.qc`, by plate name.
    qc: HashMap<&'a str, Vec<usize>>,
}

impl<'a> PlateIndex<'a> {
    /// Indexes the run's wells and QC rows by plate.
    pub fn new(data: &'a RunData) -> PlateIndex<'a> {
        let mut wells = vec![Vec::new(); data.plates.all().len()];
        for (i, w) in data.wells.iter().enumerate() {
            wells[w.plate as usize].push(i as u32);
        }
        let mut qc: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, q) in data.qc.iter().enumerate() {
            qc.entry(q.plate.as_str()).or_default().push(i);
        }
        PlateIndex { data, wells, qc }
    }

    /// Plates with wells, in first-seen order of `wells.csv`.
    pub fn plates(&self) -> &[String] {
        self.data.plates.all()
    }

    /// The map of the `k`-th plate.
    pub fn map(&self, k: usize) -> PlateMap {
        let plate = self.data.plates.name(k as u32).to_string();
        let ws: Vec<MapWell> = self.wells[k]
            .iter()
            .filter_map(|&i| {
                let w = &self.data.wells[i as usize];
                w.position.map(|(row, column)| MapWell {
                    row: row as usize,
                    column: column as usize,
                    role: w.role,
                    signal: w.signal,
                    viability: w.viability,
                    excluded: w.excluded,
                })
            })
            .collect();
        let mut qc: Vec<QcRow> = self
            .qc
            .get(plate.as_str())
            .map(|ix| ix.iter().map(|&i| self.data.qc[i].clone()).collect())
            .unwrap_or_default();
        qc.sort_by_key(|q| !q.cell_line.is_empty());
        let spanned = (
            ws.iter().map(|w| w.row + 1).max().unwrap_or(1),
            ws.iter().map(|w| w.column + 1).max().unwrap_or(1),
        );
        let shape = qc
            .first()
            .and_then(|q| q.plate_size.and_then(plate_shape))
            .filter(|s| s.0 >= spanned.0 && s.1 >= spanned.1)
            .unwrap_or(spanned);
        PlateMap {
            plate,
            shape,
            wells: ws,
            qc,
        }
    }
}

impl PlateMap {
    /// The QC row the title quotes: the pooled row, or the only row.
    pub(crate) fn headline(&self) -> Option<&QcRow> {
        self.qc.first()
    }

    /// The title: plate, Z′ and verdict, and the units' verdicts when the plate has several.
    pub fn title(&self) -> String {
        let mut t = format!("plate {}", self.plate);
        if let Some(q) = self.headline() {
            t.push_str(&format!(
                ": Z′ {}, verdict {}",
                short_number(q.z_prime),
                q.verdict
            ));
            let units: Vec<&QcRow> = self.qc.iter().filter(|q| !q.cell_line.is_empty()).collect();
            if units.len() > 1 {
                let count = |v: Verdict| units.iter().filter(|u| u.verdict == v).count();
                t.push_str(&format!(
                    " (units: {} pass, {} warn, {} fail)",
                    count(Verdict::Pass),
                    count(Verdict::Warn),
                    count(Verdict::Fail)
                ));
            }
        }
        t
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "{}. Left: raw signal; right: viability. Black outline = vehicle, magenta outline = blank, × = excluded well.",
            self.title()
        )
    }

    /// Default size of one of the two panels, from the plate format.
    pub(crate) fn panel_size(&self) -> (u32, u32) {
        let cell = cell_size(self.shape.1);
        (
            AXIS + cell * self.shape.1 as u32 + 16,
            AXIS + cell * self.shape.0 as u32 + FOOTER,
        )
    }

    /// Figure size for panels of `panel` pixels.
    pub fn size(&self, panel: (u32, u32)) -> (u32, u32) {
        (2 * panel.0, panel.1 + HEADER)
    }
}

fn cell_size(columns: usize) -> u32 {
    match columns {
        0..=12 => 30,
        13..=24 => 20,
        _ => 11,
    }
}

/// Viridis-like colour of t in [0, 1] (plotters' built-in map).
fn sequential(t: f64) -> RGBColor {
    use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
    ViridisRGB.get_color(t.clamp(0.0, 1.0))
}

impl Draw for PlateMap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (header, body) = root.split_vertically(HEADER);
        let fail = self.headline().is_some_and(|q| q.verdict == Verdict::Fail);
        header
            .draw(&Text::new(
                self.title(),
                (10, 8),
                (FONT, 17)
                    .into_font()
                    .color(if fail { &RED } else { &BLACK }),
            ))
            .map_err(plot_err)?;
        if let Some(q) = self.headline().filter(|q| !q.reason.is_empty()) {
            let mut reason = q.reason.clone();
            if reason.chars().count() > 110 {
                reason = reason.chars().take(107).collect::<String>() + "…";
            }
            header
                .draw(&Text::new(
                    reason,
                    (10, 30),
                    (FONT, 12).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
        }
        header
            .draw(&Text::new(
                "black outline: vehicle · magenta outline: blank · red ×: excluded · grey: no value",
                (10, 48),
                (FONT, 12).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
        let (w, _) = body.dim_in_pixel();
        let (left, right) = body.split_horizontally(w / 2);
        let signals: Vec<f64> = self
            .wells
            .iter()
            .map(|w| w.signal)
            .filter(|s| s.is_finite())
            .collect();
        let lo = signals.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = signals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        self.draw_panel(&left, "raw signal", (lo, hi), |w| w.signal)?;
        self.draw_panel(&right, "viability", (0.0, 1.2), |w| w.viability)?;
        Ok(())
    }
}

/// Where a panel's wells sit: the top-left corner of the grid and the side of a cell.
#[derive(Clone, Copy)]
struct Cells {
    x0: i32,
    y0: i32,
    cell: i32,
}

impl PlateMap {
    /// One panel: the plate's wells coloured by `value` over `range`, with its row and column
    /// names and a colour bar named `label`.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        label: &str,
        range: (f64, f64),
        value: impl Fn(&MapWell) -> f64,
    ) -> Result<(), String> {
        let (w, h) = area.dim_in_pixel();
        let (rows, cols) = self.shape;
        let cell = (((w as i32 - AXIS as i32 - 16) / cols as i32)
            .min((h as i32 - AXIS as i32 - FOOTER as i32) / rows as i32))
        .max(3);
        let at = Cells {
            x0: AXIS as i32,
            y0: AXIS as i32 - 8,
            cell,
        };
        self.draw_names(area, at)?;
        let (lo, hi) = range;
        let scale = |v: f64| {
            if hi > lo {
                (v - lo) / (hi - lo)
            } else {
                0.5
            }
        };
        for well in &self.wells {
            let v = value(well);
            let fill = if v.is_finite() && well.role != Some(Role::Empty) {
                sequential(scale(v))
            } else {
                RGBColor(235, 235, 235)
            };
            draw_well(area, at, well, fill)?;
        }
        // A horizontal colour bar with its range under the grid.
        let bar_y = at.y0 + cell * rows as i32 + 10;
        let bar_w = (cell * cols as i32).min(220);
        draw_colour_bar(area, (at.x0, bar_y, bar_w), range, label)
    }

    /// Column numbers and row letters; on dense plates every other one.
    fn draw_names<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        Cells { x0, y0, cell }: Cells,
    ) -> Result<(), String> {
        let (rows, cols) = self.shape;
        let small = (FONT, if cell >= 18 { 11.0 } else { 9.0 }).into_font();
        let centred = TextStyle::from(small.clone())
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let every = if cell < 14 {
            4
        } else if cell < 20 {
            2
        } else {
            1
        };
        for c in (0..cols).filter(|c| (c + 1) % every == 0 || *c == 0) {
            area.draw(&Text::new(
                (c + 1).to_string(),
                (x0 + cell * c as i32 + cell / 2, y0 - 9),
                centred.clone(),
            ))
            .map_err(plot_err)?;
        }
        for r in (0..rows).filter(|r| r % every.min(2) == 0) {
            area.draw(&Text::new(
                row_name(r),
                (x0 - 12, y0 + cell * r as i32 + cell / 2),
                centred.clone(),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    }
}

/// A well: its fill, an outline for controls, a red cross when excluded.
fn draw_well<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    Cells { x0, y0, cell }: Cells,
    well: &MapWell,
    fill: RGBColor,
) -> Result<(), String> {
    let (px, py) = (x0 + cell * well.column as i32, y0 + cell * well.row as i32);
    area.draw(&Rectangle::new(
        [(px, py), (px + cell - 1, py + cell - 1)],
        fill.filled(),
    ))
    .map_err(plot_err)?;
    let outline = match well.role {
        Some(Role::Vehicle) => Some(VEHICLE_OUTLINE),
        Some(Role::Blank) => Some(BLANK_OUTLINE),
        _ => None,
    };
    if let Some(o) = outline {
        area.draw(&Rectangle::new(
            [(px, py), (px + cell - 2, py + cell - 2)],
            o.stroke_width(2),
        ))
        .map_err(plot_err)?;
    }
    if well.excluded && well.role != Some(Role::Empty) {
        let ink = RGBColor(220, 20, 20);
        let m = 2;
        for (a, b) in [
            ((px + m, py + m), (px + cell - 1 - m, py + cell - 1 - m)),
            ((px + m, py + cell - 1 - m), (px + cell - 1 - m, py + m)),
        ] {
            area.draw(&PathElement::new(vec![a, b], ink.stroke_width(1)))
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

/// A horizontal colour bar at (x, y) of width `bar_w`, with its range and `label`.
fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, bar_y, bar_w): (i32, i32, i32),
    (lo, hi): (f64, f64),
    label: &str,
) -> Result<(), String> {
    let steps = 60;
    for k in 0..steps {
        let xa = x0 + bar_w * k / steps;
        let xb = x0 + bar_w * (k + 1) / steps;
        area.draw(&Rectangle::new(
            [(xa, bar_y), (xb, bar_y + 10)],
            sequential(k as f64 / (steps - 1) as f64).filled(),
        ))
        .map_err(plot_err)?;
    }
    let font = (FONT, 11).into_font().color(&BLACK);
    area.draw(&Text::new(short_number(lo), (x0, bar_y + 13), font.clone()))
        .map_err(plot_err)?;
    area.draw(&Text::new(
        short_number(hi),
        (x0 + bar_w - 24, bar_y + 13),
        font.clone(),
    ))
    .map_err(plot_err)?;
    area.draw(&Text::new(
        label.to_string(),
        (x0 + bar_w + 10, bar_y - 1),
        (FONT, 13).into_font().color(&BLACK),
    ))
    .map_err(plot_err)?;
    Ok(())
}

/// Row letters: A…Z, then AA…AF for 1536-well plates.
pub fn row_name(row: usize) -> String {
    if row < 26 {
        ((b'A' + row as u8) as char).to_string()
    } else {
        let first = (b'A' + (row / 26 - 1) as u8) as char;
        let second = (b'A' + (row % 26) as u8) as char;
        format!("{first}{second}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_names_round_trip() {
        assert_eq!(crate::plot::data::parse_well("A1"), Some((0, 0)));
        assert_eq!(crate::plot::data::parse_well("P24"), Some((15, 23)));
        assert_eq!(crate::plot::data::parse_well("AF48"), Some((31, 47)));
        assert_eq!(crate::plot::data::parse_well("B0"), None);
        assert_eq!(crate::plot::data::parse_well("12"), None);
        for r in [0, 7, 25, 26, 31] {
            assert_eq!(
                crate::plot::data::parse_well(&format!("{}3", row_name(r))),
                Some((r, 2))
            );
        }
    }
}
