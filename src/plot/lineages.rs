//! Figures of collateral sensitivity in time and across lineages, drawn from
//! `trajectories.csv` and `likelihood.csv`:
//!
//! - one trajectory grid per lineage (`plots/trajectories/<lineage>.*`): a panel per drug,
//!   log2_fc against evolution time with its 95 % CI as a band, the CS region (log2_fc ≤ −τ)
//!   shaded blue and the CR region (≥ τ) red, each time point coloured by its call; a censored
//!   value is a triangle pointing where the true value lies;
//! - the likelihood map (`plots/likelihood.*`): selecting drug × drug, the share of lineages
//!   that became CS (blue) beside the share that became CR (red), each cell labelled `k/n`, at
//!   the time the network shows (each selecting drug's latest).

use std::collections::{BTreeMap, BTreeSet};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{LikelihoodRow, RunData, TrajectoryRow};
use super::style::{call_colour, short_number, tick_label, FONT, RESISTANT_RED, SENSITIVE_BLUE};
use super::{plot_err, Draw};
use crate::shift::{Bound, Call};

/// Size of one drug's panel of a trajectory grid.
pub(crate) const PANEL_SIZE: (u32, u32) = (300, 220);
/// Panels per row of a trajectory grid.
const COLUMNS: usize = 4;
/// Shade of the CS region.
const CS_SHADE: RGBColor = RGBColor(222, 235, 247);
/// Shade of the CR region.
const CR_SHADE: RGBColor = RGBColor(250, 224, 224);
/// The CI band.
const BAND: RGBColor = RGBColor(190, 190, 190);

/// The trajectories of one lineage.
#[derive(Debug, Clone)]
pub struct Trajectories<'a> {
    /// The lineage.
    pub lineage: &'a str,
    /// Its selecting drug (at its last time point).
    pub selected_with: &'a str,
    /// Points by drug, in time order, drugs in file order.
    pub drugs: Vec<(&'a str, Vec<&'a TrajectoryRow>)>,
    /// The fold-change threshold τ of the run.
    pub tau: f64,
    /// The unit of evolution time (empty when the assay gives none).
    pub unit: String,
}

/// The lineages of a run in file order, each with its rows.
pub fn lineages(data: &RunData) -> Vec<Trajectories<'_>> {
    let tau = data.tau();
    let unit = data.evolution_time_unit().to_string();
    let mut out: Vec<Trajectories> = Vec::new();
    for r in &data.trajectories {
        if out.last().is_none_or(|t| t.lineage != r.lineage) {
            out.push(Trajectories {
                lineage: &r.lineage,
                selected_with: &r.selected_with,
                drugs: Vec::new(),
                tau,
                unit: unit.clone(),
            });
        }
        let t = out.last_mut().expect("pushed");
        t.selected_with = &r.selected_with;
        match t.drugs.last_mut() {
            Some((d, rows)) if *d == r.drug => rows.push(r),
            _ => t.drugs.push((&r.drug, vec![r])),
        }
    }
    out
}

impl Trajectories<'_> {
    /// Image size for `panel`-sized panels.
    pub fn size(&self, panel: (u32, u32)) -> (u32, u32) {
        let cols = self.drugs.len().clamp(1, COLUMNS) as u32;
        let rows = self.drugs.len().div_ceil(COLUMNS).max(1) as u32;
        (panel.0 * cols, 40 + panel.1 * rows)
    }

    fn title(&self) -> String {
        format!(
            "Lineage {} (selected with {}): log2 fold change over evolution time",
            self.lineage, self.selected_with
        )
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "{}. One panel per drug: log2 FC of the lineage's line at each {} against its parental line, grey band the 95 % CI, blue region log2 FC ≤ −{} (collateral sensitivity), red ≥ {} (cross-resistance); points coloured by call (blue CS, red CR, grey neither, open undetermined), triangles for censored values. From trajectories.csv.",
            self.title(),
            if self.unit.is_empty() { "evolution time".to_string() } else { self.unit.clone() },
            short_number(self.tau),
            short_number(self.tau)
        )
    }
}

impl Draw for Trajectories<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.draw(&Text::new(
            self.title(),
            (10, 10),
            (FONT, 17).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        let (_, body) = root.split_vertically(40);
        let cols = self.drugs.len().clamp(1, COLUMNS);
        let rows = self.drugs.len().div_ceil(COLUMNS).max(1);
        let panels = body.split_evenly((rows, cols));
        for ((drug, points), area) in self.drugs.iter().zip(panels.iter()) {
            self.panel(drug, points, area)?;
        }
        Ok(())
    }
}

impl Trajectories<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        drug: &str,
        points: &[&TrajectoryRow],
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let times: Vec<f64> = points.iter().map(|p| p.evolution_time).collect();
        let (t0, t1) = (
            times.iter().cloned().fold(f64::INFINITY, f64::min),
            times.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        let pad = if t1 > t0 { (t1 - t0) * 0.06 } else { 0.5 };
        let tau = if self.tau.is_finite() { self.tau } else { 1.0 };
        let extent = points
            .iter()
            .flat_map(|p| [p.log2_fc, p.ci.0, p.ci.1])
            .filter(|v| v.is_finite())
            .fold(tau * 1.5, |m, v| m.max(v.abs()))
            .ceil();
        let title = if drug == self.selected_with {
            format!("{drug} (selecting drug)")
        } else {
            drug.to_string()
        };
        let mut chart = ChartBuilder::on(area)
            .margin(6)
            .margin_right(12)
            .caption(title, (FONT, 14))
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((t0 - pad)..(t1 + pad), -extent..extent)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| tick_label(*y))
            .x_desc(if self.unit.is_empty() {
                "evolution time".to_string()
            } else {
                self.unit.clone()
            })
            .y_desc("log2 FC")
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 11))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        let (x0, x1) = (t0 - pad, t1 + pad);
        chart
            .draw_series([
                Rectangle::new([(x0, -extent), (x1, -tau)], CS_SHADE.filled()),
                Rectangle::new([(x0, tau), (x1, extent)], CR_SHADE.filled()),
            ])
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                [(x0, 0.0), (x1, 0.0)],
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(plot_err)?;
        for band in ci_bands(points) {
            draw_band(&mut chart, &band)?;
        }
        let line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.log2_fc.is_finite())
            .map(|p| (p.evolution_time, p.log2_fc))
            .collect();
        chart
            .draw_series(LineSeries::new(line, RGBColor(80, 80, 80).stroke_width(1)))
            .map_err(plot_err)?;
        for p in points.iter().filter(|p| p.log2_fc.is_finite()) {
            draw_point(&mut chart, area, p)?;
        }
        Ok(())
    }
}

/// A trajectory panel's chart: evolution time against log2 FC.
type TrajectoryChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The runs of consecutive time points that have a CI.
fn ci_bands<'p>(points: &[&'p TrajectoryRow]) -> Vec<Vec<&'p TrajectoryRow>> {
    let mut run: Vec<&TrajectoryRow> = Vec::new();
    let mut bands: Vec<Vec<&TrajectoryRow>> = Vec::new();
    for p in points {
        if p.ci.0.is_finite() && p.ci.1.is_finite() {
            run.push(p);
        } else if !run.is_empty() {
            bands.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        bands.push(run);
    }
    bands
}

/// The CI as a band over a run of time points (a bar for a single one).
fn draw_band<DB: DrawingBackend>(
    chart: &mut TrajectoryChart<'_, DB>,
    band: &[&TrajectoryRow],
) -> Result<(), String> {
    if band.len() == 1 {
        let p = band[0];
        chart
            .draw_series([PathElement::new(
                [(p.evolution_time, p.ci.0), (p.evolution_time, p.ci.1)],
                BAND.stroke_width(3),
            )])
            .map_err(plot_err)?;
        return Ok(());
    }
    let outline: Vec<(f64, f64)> = band
        .iter()
        .map(|p| (p.evolution_time, p.ci.1))
        .chain(band.iter().rev().map(|p| (p.evolution_time, p.ci.0)))
        .collect();
    chart
        .draw_series([Polygon::new(outline, BAND.mix(0.6).filled())])
        .map_err(plot_err)?;
    Ok(())
}

/// A time point coloured by its call: a triangle for a censored bound, a ring when
/// undetermined, else a dot.
fn draw_point<DB: DrawingBackend>(
    chart: &mut TrajectoryChart<'_, DB>,
    area: &DrawingArea<DB, Shift>,
    p: &TrajectoryRow,
) -> Result<(), String> {
    let colour = call_colour(Some(p.call));
    let at = (p.evolution_time, p.log2_fc);
    match p.log2_fc_qualifier {
        Some(bound @ (Bound::Greater | Bound::Less)) => {
            let up = bound == Bound::Greater;
            let c = chart.backend_coord(&at);
            let d = if up { -6 } else { 6 };
            area.draw(&Polygon::new(
                vec![
                    (c.0 - 5, c.1 - d / 2),
                    (c.0 + 5, c.1 - d / 2),
                    (c.0, c.1 + d),
                ],
                colour.filled(),
            ))
            .map_err(plot_err)?;
        }
        _ if p.call == Call::Undetermined => {
            chart
                .draw_series([Circle::new(at, 4, colour.stroke_width(2))])
                .map_err(plot_err)?;
        }
        _ => {
            chart
                .draw_series([Circle::new(at, 4, colour.filled())])
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

/// The likelihood map: selecting drug × drug, CS beside CR.
#[derive(Debug, Clone)]
pub(crate) struct LikelihoodMap<'a> {
    /// Selecting drugs (rows).
    pub rows: Vec<&'a str>,
    /// Drugs tested (columns).
    pub drugs: Vec<&'a str>,
    /// The row of each (selecting drug, drug) at the time shown.
    pub cells: BTreeMap<(&'a str, &'a str), &'a LikelihoodRow>,
    /// Whether the rows come from several evolution times (the latest of each is shown).
    pub timed: bool,
}

impl<'a> LikelihoodMap<'a> {
    /// The map of a run at each selecting drug's latest time, or `None` when no drug pair has
    /// two lineages (with one, a likelihood is a single call, which the heatmap shows).
    pub fn new(data: &'a RunData) -> Option<LikelihoodMap<'a>> {
        if !data.likelihood.iter().any(|r| r.n_lineages >= 2) {
            return None;
        }
        let mut latest: BTreeMap<&str, f64> = BTreeMap::new();
        for r in data
            .likelihood
            .iter()
            .filter(|r| r.evolution_time.is_finite())
        {
            let e = latest.entry(&r.selected_with).or_insert(r.evolution_time);
            *e = e.max(r.evolution_time);
        }
        let mut cells = BTreeMap::new();
        for r in &data.likelihood {
            let shown = match latest.get(r.selected_with.as_str()) {
                Some(t) => r.evolution_time == *t,
                None => true,
            };
            if shown {
                cells.insert((r.selected_with.as_str(), r.drug.as_str()), r);
            }
        }
        let rows: BTreeSet<&str> = cells.keys().map(|k| k.0).collect();
        let drugs: BTreeSet<&str> = cells.keys().map(|k| k.1).collect();
        Some(LikelihoodMap {
            rows: rows.into_iter().collect(),
            drugs: drugs.into_iter().collect(),
            cells,
            timed: !latest.is_empty(),
        })
    }

    /// Width of the row labels, from the longest name.
    fn label_width(&self) -> u32 {
        let longest = self
            .rows
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(4);
        (longest as u32 * 8 + 16).clamp(60, 240)
    }

    fn header_height(&self) -> u32 {
        let longest = self
            .drugs
            .iter()
            .map(|d| d.chars().count())
            .max()
            .unwrap_or(4);
        (longest as u32 * 7 + 16).clamp(40, 200)
    }

    /// Size that fits the content.
    pub fn size(&self) -> (u32, u32) {
        let block = self.drugs.len() as u32 * CELL.0;
        (
            2 * (self.label_width() + block) + 60,
            50 + self.header_height() + self.rows.len() as u32 * CELL.1 + 20,
        )
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        let when = if self.timed {
            " at each selecting drug's latest evolution time (the network's)"
        } else {
            ""
        };
        format!(
            "Repeatability across lineages{when}: left, the share of lineages selected with the row's drug that became collaterally sensitive to the column's drug (white 0 to blue 1); right, the share that became cross-resistant (white to red). Each cell reads k/n: lineages with that call of lineages with a call. Wilson 95 % intervals are in likelihood.csv."
        )
    }
}

/// Size of one cell of the likelihood map.
const CELL: (u32, u32) = (46, 28);

/// White to `full` by `t` in [0, 1].
fn ramp(full: RGBColor, t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |a: u8| (255.0 + (a as f64 - 255.0) * t).round() as u8;
    RGBColor(mix(full.0), mix(full.1), mix(full.2))
}

impl Draw for LikelihoodMap<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.draw(&Text::new(
            "CS and CR likelihood over lineages",
            (10, 10),
            (FONT, 17).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        let label_w = self.label_width() as i32;
        let head = self.header_height() as i32;
        let block = (self.drugs.len() as u32 * CELL.0) as i32;
        for (k, (name, colour)) in [("CS", SENSITIVE_BLUE), ("CR", RESISTANT_RED)]
            .into_iter()
            .enumerate()
        {
            let left = 10 + k as i32 * (label_w + block + 40);
            let top = 50 + head;
            root.draw(&Text::new(
                format!("{name} likelihood"),
                (left + label_w, 34),
                (FONT, 14).into_font().color(&colour),
            ))
            .map_err(plot_err)?;
            root.draw(&Text::new(
                "selected with",
                (left, top - 20),
                (FONT, 11).into_font().color(&RGBColor(90, 90, 90)),
            ))
            .map_err(plot_err)?;
            for (j, d) in self.drugs.iter().enumerate() {
                let x = left + label_w + j as i32 * CELL.0 as i32 + CELL.0 as i32 / 2;
                root.draw(&Text::new(
                    d.to_string(),
                    (x - 5, top - 6),
                    (FONT, 12)
                        .into_font()
                        .transform(FontTransform::Rotate270)
                        .color(&BLACK),
                ))
                .map_err(plot_err)?;
            }
            for (i, r) in self.rows.iter().enumerate() {
                let y = top + i as i32 * CELL.1 as i32;
                root.draw(&Text::new(
                    r.to_string(),
                    (left, y + 8),
                    (FONT, 12).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
                for (j, d) in self.drugs.iter().enumerate() {
                    let x = left + label_w + j as i32 * CELL.0 as i32;
                    let cell = [(x, y), (x + CELL.0 as i32 - 1, y + CELL.1 as i32 - 1)];
                    let Some(row) = self.cells.get(&(*r, *d)) else {
                        root.draw(&Rectangle::new(cell, RGBColor(240, 240, 240).filled()))
                            .map_err(plot_err)?;
                        continue;
                    };
                    let (share, hits) = if k == 0 {
                        (row.cs.0, row.n_cs)
                    } else {
                        (row.cr.0, row.n_cr)
                    };
                    let fill = ramp(colour, share);
                    root.draw(&Rectangle::new(cell, fill.filled()))
                        .map_err(plot_err)?;
                    let called = row.n_cs + row.n_cr + row.n_neutral;
                    let text_colour = if super::style::needs_light_text(fill) {
                        WHITE
                    } else {
                        BLACK
                    };
                    root.draw(&Text::new(
                        format!("{hits}/{called}"),
                        (x + 6, y + 8),
                        (FONT, 11).into_font().color(&text_colour),
                    ))
                    .map_err(plot_err)?;
                }
            }
        }
        Ok(())
    }
}
