//! The plan figure (`plots/plan.*`), drawn from `plan.csv`: the best sequences as paths over
//! the drugs (left), and their scores with 95 % bootstrap intervals (right: mean log2 fold
//! change per step, and the probability of meeting no cross-resistant population).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::style::{tick_label, FONT, RESISTANT_RED, SENSITIVE_BLUE};
use super::{plot_err, Draw};

use crate::output::read::{OutputRow, OutputTable};
use crate::output::record::records_with_rows;
use crate::plan::Sequence;

/// Sequences drawn at most.
const SHOWN: usize = 10;
/// Sequences drawn as paths at most.
const PATHS: usize = 3;
/// Colours of the paths, best first.
const PATH_COLOURS: [RGBColor; PATHS] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
];

/// The ranked rows of a `plan.csv` in file order (best first), at most `n`, each read through
/// its row type ([`Sequence`]) beside its row as written (for the report's table). Every row is
/// read, so a missing column or a malformed cell anywhere is an error naming its file (and
/// line and column).
pub fn ranked_rows(path: &Path, n: usize) -> crate::error::Result<Vec<(Sequence, OutputRow)>> {
    let mut kept = 0;
    let rows = records_with_rows(OutputTable::read(path)?, |s: Sequence, row| {
        let keep = s.rank.is_some() && kept < n;
        kept += usize::from(keep);
        Ok(keep.then(|| (s, row.clone())))
    })?;
    Ok(rows.into_iter().flatten().collect())
}

/// One ranked row of `plan.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlanRow {
    /// Rank.
    pub rank: usize,
    /// Drugs in order.
    pub drugs: Vec<String>,
    /// Expected log2 fold change and its interval.
    pub expected: (f64, f64, f64),
    /// Probability of no cross-resistant step and its interval.
    pub p_no_cr: (f64, f64, f64),
    /// Fewest lineages behind a step.
    pub support: usize,
}

/// The figure's data.
#[derive(Debug, Clone)]
pub(crate) struct PlanFigure {
    /// The best ranked sequences, best first.
    pub rows: Vec<PlanRow>,
    /// Every drug of the shown sequences, in order of first appearance.
    pub drugs: Vec<String>,
}

impl PlanFigure {
    /// Reads the ranked rows of a `plan.csv` (through [`ranked_rows`]).
    pub fn read(path: &Path) -> crate::error::Result<PlanFigure> {
        let rows: Vec<PlanRow> = ranked_rows(path, SHOWN)?
            .into_iter()
            .map(|(s, _)| {
                let score = |k: usize| {
                    let value = s.scores.map_or(f64::NAN, |x| {
                        [x.expected_log2_fc, x.worst_log2_fc, x.p_no_cr, x.p_all_cs][k]
                    });
                    (value, s.intervals[k].0, s.intervals[k].1)
                };
                PlanRow {
                    rank: s.rank.unwrap_or_default(),
                    expected: score(0),
                    p_no_cr: score(2),
                    support: s.support,
                    drugs: s.drugs,
                }
            })
            .collect();
        let mut drugs: Vec<String> = Vec::new();
        for r in &rows {
            for d in &r.drugs {
                if !drugs.contains(d) {
                    drugs.push(d.clone());
                }
            }
        }
        Ok(PlanFigure { rows, drugs })
    }

    /// Size that fits the content.
    pub fn size(&self) -> (u32, u32) {
        (1100, (120 + 34 * self.rows.len().max(3) as u32).max(420))
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "Therapy sequences from plan.csv. Left: the {} best as paths over the drugs (1 = best). Middle: mean log2 fold change of the next drug per step (lower: more collateral sensitivity) with 95 % bootstrap intervals. Right: probability that no step meets a cross-resistant population, with its interval.",
            self.rows.len().min(PATHS)
        )
    }
}

impl Draw for PlanFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.draw(&Text::new(
            "Therapy sequences: the best paths and their scores",
            (10, 10),
            (FONT, 17).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        let (_, body) = root.split_vertically(36);
        if self.rows.is_empty() {
            body.draw(&Text::new(
                "No sequence can be scored: every candidate has a step without lineage data (plan.csv).",
                (20, 30),
                (FONT, 14).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
            return Ok(());
        }
        let (w, h) = body.dim_in_pixel();
        let (paths, rest) = body.split_horizontally(w * 3 / 10);
        let (bars, probabilities) = rest.split_horizontally(w * 45 / 100);
        self.draw_paths(&paths, h)?;
        self.draw_scores(&bars, true)?;
        self.draw_scores(&probabilities, false)?;
        Ok(())
    }
}

impl PlanFigure {
    fn draw_paths<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        height: u32,
    ) -> Result<(), String> {
        let (w, _) = area.dim_in_pixel();
        let centre = (w as f64 / 2.0, height as f64 / 2.0);
        let radius = (w.min(height) as f64 / 2.0 - 60.0).max(40.0);
        let n = self.drugs.len().max(1);
        let at = |i: usize| {
            let a = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
            (centre.0 + radius * a.cos(), centre.1 + radius * a.sin())
        };
        let index = |d: &str| self.drugs.iter().position(|x| x == d).unwrap_or(0);
        for (k, row) in self.rows.iter().take(PATHS).enumerate().rev() {
            let colour = PATH_COLOURS[k];
            // Each path slightly offset so shared steps stay visible.
            let shift = (k as f64 - 1.0) * 4.0;
            for step in row.drugs.windows(2) {
                let (a, b) = (at(index(&step[0])), at(index(&step[1])));
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len = (dx * dx + dy * dy).sqrt().max(1.0);
                let (ux, uy) = (dx / len, dy / len);
                let (nx, ny) = (-uy * shift, ux * shift);
                let from = (a.0 + ux * 22.0 + nx, a.1 + uy * 22.0 + ny);
                let to = (b.0 - ux * 22.0 + nx, b.1 - uy * 22.0 + ny);
                let p = |x: (f64, f64)| (x.0.round() as i32, x.1.round() as i32);
                area.draw(&PathElement::new(
                    vec![p(from), p(to)],
                    colour.stroke_width(3),
                ))
                .map_err(plot_err)?;
                let head = [
                    to,
                    (to.0 - ux * 10.0 - uy * 5.0, to.1 - uy * 10.0 + ux * 5.0),
                    (to.0 - ux * 10.0 + uy * 5.0, to.1 - uy * 10.0 - ux * 5.0),
                ];
                area.draw(&Polygon::new(head.map(p).to_vec(), colour.filled()))
                    .map_err(plot_err)?;
            }
        }
        for (i, d) in self.drugs.iter().enumerate() {
            let (x, y) = at(i);
            area.draw(&Circle::new(
                (x.round() as i32, y.round() as i32),
                18,
                RGBColor(245, 245, 245).filled(),
            ))
            .map_err(plot_err)?;
            area.draw(&Circle::new(
                (x.round() as i32, y.round() as i32),
                18,
                RGBColor(120, 120, 120).stroke_width(1),
            ))
            .map_err(plot_err)?;
            area.draw(&Text::new(
                d.clone(),
                (x.round() as i32, y.round() as i32 - 6),
                (FONT, 11)
                    .into_font()
                    .color(&BLACK)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Top,
                    )),
            ))
            .map_err(plot_err)?;
        }
        for (k, row) in self.rows.iter().take(PATHS).enumerate() {
            area.draw(&Text::new(
                format!("{}. {}", row.rank, row.drugs.join(" → ")),
                (8, height as i32 - 18 * (PATHS - k) as i32 - 4),
                (FONT, 12).into_font().color(&PATH_COLOURS[k]),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    }

    fn draw_scores<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        expected: bool,
    ) -> Result<(), String> {
        let value = |r: &PlanRow| if expected { r.expected } else { r.p_no_cr };
        let (lo, hi) = if expected {
            let lo = self
                .rows
                .iter()
                .flat_map(|r| [r.expected.0, r.expected.1])
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::min);
            let hi = self
                .rows
                .iter()
                .flat_map(|r| [r.expected.0, r.expected.2])
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max);
            (lo.floor() - 0.5, hi.ceil() + 0.5)
        } else {
            (0.0, 1.0)
        };
        let n = self.rows.len();
        let label_width = if expected { 150 } else { 20 };
        let mut chart = ChartBuilder::on(area)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(34)
            .y_label_area_size(label_width)
            .build_cartesian_2d(lo..hi, (-(n as f64) + 0.5)..0.5)
            .map_err(plot_err)?;
        let names: Vec<String> = self
            .rows
            .iter()
            .map(|r| format!("{}. {}", r.rank, r.drugs.join(" → ")))
            .collect();
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(n)
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| {
                let i = (-y).round() as usize;
                if expected && ((-y) - i as f64).abs() < 1e-6 {
                    names.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(if expected {
                "mean log2 fold change per step"
            } else {
                "P(no cross-resistant step)"
            })
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        for (i, r) in self.rows.iter().enumerate() {
            let y = -(i as f64);
            let (v, l, u) = value(r);
            if !v.is_finite() {
                continue;
            }
            let colour = if !expected {
                RGBColor(120, 120, 120)
            } else if v < 0.0 {
                SENSITIVE_BLUE
            } else {
                RESISTANT_RED
            };
            chart
                .draw_series([Rectangle::new(
                    [(0.0, y - 0.3), (v, y + 0.3)],
                    colour.mix(0.7).filled(),
                )])
                .map_err(plot_err)?;
            if l.is_finite() && u.is_finite() {
                chart
                    .draw_series([
                        PathElement::new([(l, y), (u, y)], BLACK.stroke_width(1)),
                        PathElement::new([(l, y - 0.15), (l, y + 0.15)], BLACK.stroke_width(1)),
                        PathElement::new([(u, y - 0.15), (u, y + 0.15)], BLACK.stroke_width(1)),
                    ])
                    .map_err(plot_err)?;
            }
        }
        Ok(())
    }
}
