//! The drug network: drugs on a circle, an arrow from the selecting drug to each drug its lines
//! are collaterally sensitive (blue) or cross-resistant (red) to, width by |log2 fold change|,
//! and the top cycles of `cycles.csv` listed beside it.
//!
//! A circle of a thousand drugs with a hundred thousand arrows shows nothing, so beyond
//! [`MAX_DRUGS`] drugs or [`MAX_EDGES`] edges the figure keeps the strongest edges (at most
//! [`SHOWN_EDGES`], by |median log2 FC|, among at most [`MAX_DRUGS`] drugs) and says so;
//! `network.json` has them all.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{CycleRow, EdgeRow, RunData};
use super::marks::{Mark, Marks, Shape};
use super::style::{self, short_number, FONT};
use super::{plot_err, Draw, PlotOptions};
use crate::shift::Call;

/// Cycles listed beside the network.
pub(crate) const LISTED_CYCLES: usize = 10;
/// Most drugs on the circle; more, and only the strongest edges are drawn.
pub const MAX_DRUGS: usize = 40;
/// Most edges drawn all; more, and only the strongest are.
pub const MAX_EDGES: usize = 120;
/// Edges drawn when only the strongest are.
pub const SHOWN_EDGES: usize = 60;
const NODE_RADIUS: f64 = 9.0;
const LIST_WIDTH: u32 = 330;
/// Characters per line of a listed cycle before it wraps at an arrow.
const CYCLE_LINE_CHARS: usize = 44;

/// The network figure's data.
#[derive(Debug, Clone)]
pub struct Network {
    /// Drugs, in circle order (clockwise from the top).
    pub drugs: Vec<String>,
    /// Edges drawn: CS and CR only, self-loops left out.
    pub edges: Vec<EdgeRow>,
    /// Per edge, the pooled shifts behind it (lines selected with the source drug, tested on
    /// the target), as lines of text for the report's tooltip.
    pub behind: Vec<Vec<String>>,
    /// Top cycles.
    pub cycles: Vec<CycleRow>,
    /// Cycles in `cycles.csv`.
    pub(crate) total_cycles: usize,
    /// |log2 FC| giving the widest edge.
    pub limit: f64,
    /// When only the strongest edges are drawn: (collateral-sensitive and cross-resistant
    /// edges between different selected drugs, selected drugs).
    pub(crate) part_of: Option<(usize, usize)>,
}

impl Network {
    /// The network of a run's `network.json` and `cycles.csv`, restricted to the selected drugs.
    pub fn new(data: &RunData, options: &PlotOptions) -> Network {
        let mut drugs: Vec<String> = data
            .drugs()
            .into_iter()
            .filter(|d| options.wants_drug(d))
            .collect();
        for e in &data.edges {
            for d in [&e.source, &e.target] {
                if options.wants_drug(d) && !drugs.contains(d) {
                    drugs.push(d.clone());
                }
            }
        }
        let edges: Vec<EdgeRow> = data
            .edges
            .iter()
            .filter(|e| {
                e.source != e.target
                    && matches!(
                        e.call,
                        Some(Call::CollateralSensitive | Call::CrossResistant)
                    )
                    && drugs.contains(&e.source)
                    && drugs.contains(&e.target)
            })
            .cloned()
            .collect();
        let (drugs, edges, part_of) = if drugs.len() > MAX_DRUGS || edges.len() > MAX_EDGES {
            let (total_edges, total_drugs) = (edges.len(), drugs.len());
            let (kept_drugs, kept) = strongest(&drugs, edges);
            (kept_drugs, kept, Some((total_edges, total_drugs)))
        } else {
            (drugs, edges, None)
        };
        let limit = style::symmetric_limit(edges.iter().map(|e| e.log2_fc));
        let behind = edges.iter().map(|e| shifts_behind(data, e)).collect();
        Network {
            drugs,
            edges,
            behind,
            cycles: data.cycles.iter().take(LISTED_CYCLES).cloned().collect(),
            total_cycles: data.cycles.len(),
            limit,
            part_of,
        }
    }

    /// Size that fits the content.
    pub fn size(&self) -> (u32, u32) {
        (560 + LIST_WIDTH, 600)
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        let shown = match self.part_of {
            Some((edges, drugs)) => format!(
                "Drug network, the {} strongest of {edges} collateral-sensitive or cross-resistant edges (by |median log2 FC|), between {} of {drugs} drugs; every edge is in network.json. ",
                self.edges.len(),
                self.drugs.len()
            ),
            None => "Drug network: ".to_string(),
        };
        format!(
            "{shown}An arrow A → B means lines selected with A became collaterally sensitive (blue) or cross-resistant (red) to B (the call of network.json's edge); width grows with |median log2 FC| up to {}. {} of {} cycles listed.",
            self.limit,
            self.cycles.len(),
            self.total_cycles
        )
    }
}

impl Draw for Network {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (w, _) = root.dim_in_pixel();
        let list_w = LIST_WIDTH.min(w / 2);
        let (graph, list) = root.split_horizontally(w - list_w);
        self.draw_title(&graph)?;
        let ring = Ring::of(graph.dim_in_pixel(), self.drugs.len());
        for e in &self.edges {
            self.draw_edge(&graph, &ring, e)?;
        }
        for (i, d) in self.drugs.iter().enumerate() {
            draw_node(&graph, &ring, ring.pos[i], d)?;
        }
        self.draw_legend(&graph)?;
        self.draw_cycles(&list)
    }
}

/// Where the drugs sit: evenly on a circle, the first at the top.
struct Ring {
    cx: f64,
    cy: f64,
    radius: f64,
    pos: Vec<(f64, f64)>,
}

impl Ring {
    /// The ring of `drugs` drugs on a graph area of `(gw, gh)` pixels.
    fn of((gw, gh): (u32, u32), drugs: usize) -> Ring {
        let cx = gw as f64 / 2.0;
        let cy = (gh as f64 + 40.0) / 2.0;
        // Room for labels outside the circle.
        let radius = (gw.min(gh.saturating_sub(40)) as f64 / 2.0 - 90.0).max(30.0);
        let n = drugs.max(1) as f64;
        let pos = (0..drugs)
            .map(|i| {
                let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n;
                (cx + radius * a.cos(), cy + radius * a.sin())
            })
            .collect();
        Ring {
            cx,
            cy,
            radius,
            pos,
        }
    }
}

/// A drug's node and its label, outside the circle, anchored away from the centre.
fn draw_node<DB: DrawingBackend>(
    graph: &DrawingArea<DB, Shift>,
    ring: &Ring,
    (x, y): (f64, f64),
    drug: &str,
) -> Result<(), String> {
    let p = (x.round() as i32, y.round() as i32);
    graph
        .draw(&Circle::new(p, NODE_RADIUS as i32, WHITE.filled()))
        .map_err(plot_err)?;
    graph
        .draw(&Circle::new(p, NODE_RADIUS as i32, BLACK.stroke_width(2)))
        .map_err(plot_err)?;
    let (ax, ay) = ((x - ring.cx) / ring.radius, (y - ring.cy) / ring.radius);
    let hpos = if ax > 0.3 {
        HPos::Left
    } else if ax < -0.3 {
        HPos::Right
    } else {
        HPos::Center
    };
    let vpos = if ay > 0.3 {
        VPos::Top
    } else if ay < -0.3 {
        VPos::Bottom
    } else {
        VPos::Center
    };
    let lp = (
        (x + ax * (NODE_RADIUS + 6.0)).round() as i32,
        (y + ay * (NODE_RADIUS + 6.0)).round() as i32,
    );
    graph
        .draw(&Text::new(
            drug.to_string(),
            lp,
            TextStyle::from((FONT, 16).into_font())
                .color(&BLACK)
                .pos(Pos::new(hpos, vpos)),
        ))
        .map_err(plot_err)
}

/// Where an edge's arrow is drawn: from `start` to `tip`, `width` wide, along `unit`.
struct Arrow {
    start: (f64, f64),
    tip: (f64, f64),
    width: f64,
    unit: (f64, f64),
}

/// The pooled shifts behind an edge, a line of text each (at most 12, then a count).
fn shifts_behind(data: &RunData, e: &EdgeRow) -> Vec<String> {
    const SHOWN: usize = 12;
    let rows: Vec<String> = data
        .pooled_shifts()
        .filter(|s| s.selected_with == e.source && s.drug == e.target)
        .map(|s| {
            let bound = match s.log2_fc_qualifier {
                Some(b @ (crate::shift::Bound::Greater | crate::shift::Bound::Less)) => {
                    format!("{} ", b.symbol())
                }
                _ => String::new(),
            };
            let ci = if s.ci_low.is_finite() && s.ci_high.is_finite() {
                format!(
                    " (CI {} to {})",
                    short_number(s.ci_low),
                    short_number(s.ci_high)
                )
            } else {
                String::new()
            };
            format!(
                "{}: log2 FC {bound}{}{ci}, q = {}, {}",
                s.resistant_line,
                short_number(s.log2_fc),
                short_number(s.q_value),
                s.call.name().replace('_', " ")
            )
        })
        .collect();
    let more = rows.len().saturating_sub(SHOWN);
    let mut out: Vec<String> = rows.into_iter().take(SHOWN).collect();
    if more > 0 {
        out.push(format!("… and {more} more lines in shifts.csv"));
    }
    out
}

impl Network {
    /// Where the arrow of edge `e` goes, when both its drugs are on the ring.
    fn arrow(&self, ring: &Ring, e: &EdgeRow) -> Option<Arrow> {
        let at = |d: &str| self.drugs.iter().position(|x| x == d).map(|i| ring.pos[i]);
        let (a, b) = (at(&e.source)?, at(&e.target)?);
        let width = if e.log2_fc.is_finite() {
            1.0 + 5.0 * (e.log2_fc.abs() / self.limit).min(1.0)
        } else {
            1.0
        };
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let (ux, uy) = (dx / len, dy / len);
        // A → B and B → A are both possible: shift each to its own right-hand side.
        let (ox, oy) = (-uy * 5.0, ux * 5.0);
        Some(Arrow {
            start: (a.0 + ux * NODE_RADIUS + ox, a.1 + uy * NODE_RADIUS + oy),
            tip: (
                b.0 - ux * (NODE_RADIUS + 2.0) + ox,
                b.1 - uy * (NODE_RADIUS + 2.0) + oy,
            ),
            width,
            unit: (ux, uy),
        })
    }

    /// What each edge stands for, at `size` (as drawn): its drugs, median log2 fold change,
    /// call and the shifts behind it.
    pub fn marks(&self, (w, h): (u32, u32)) -> Marks {
        let list_w = LIST_WIDTH.min(w / 2);
        let ring = Ring::of((w - list_w, h), self.drugs.len());
        let mut marks = Marks::default();
        for (e, behind) in self.edges.iter().zip(&self.behind) {
            let Some(a) = self.arrow(&ring, e) else {
                continue;
            };
            let mut tip = vec![
                format!("{} → {}", e.source, e.target),
                format!(
                    "median log2 FC {}, {}",
                    short_number(e.log2_fc),
                    e.call.map_or("mixed", |c| c.name()).replace('_', " ")
                ),
                format!("lines selected with {}:", e.source),
            ];
            tip.extend(behind.iter().cloned());
            marks.marks.push(Mark {
                shape: Shape::Segment(a.start.0, a.start.1, a.tip.0, a.tip.1, a.width.max(4.0)),
                tip,
                opens: None,
            });
        }
        marks
    }

    /// The title, saying when only the strongest edges are drawn.
    fn draw_title<DB: DrawingBackend>(&self, graph: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = match self.part_of {
            Some((edges, _)) => format!(
                "Collateral-sensitivity network: strongest {} of {edges} edges",
                self.edges.len()
            ),
            None => "Collateral-sensitivity network".to_string(),
        };
        graph
            .draw(&Text::new(
                title,
                (10, 8),
                (FONT, 20).into_font().color(&BLACK),
            ))
            .map_err(plot_err)
    }

    /// An edge's arrow, coloured by its call, wider with |log2 FC|.
    fn draw_edge<DB: DrawingBackend>(
        &self,
        graph: &DrawingArea<DB, Shift>,
        ring: &Ring,
        e: &EdgeRow,
    ) -> Result<(), String> {
        let Some(Arrow {
            start,
            tip,
            width,
            unit: (ux, uy),
        }) = self.arrow(ring, e)
        else {
            return Ok(());
        };
        let colour = style::call_colour(e.call);
        let head = 8.0 + 1.5 * width;
        let base = (tip.0 - ux * head, tip.1 - uy * head);
        let half = head * 0.5;
        let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        graph
            .draw(&PathElement::new(
                vec![px(start), px(base)],
                colour.mix(0.85).stroke_width(width.round() as u32),
            ))
            .map_err(plot_err)?;
        graph
            .draw(&Polygon::new(
                vec![
                    px(tip),
                    px((base.0 - uy * half, base.1 + ux * half)),
                    px((base.0 + uy * half, base.1 - ux * half)),
                ],
                colour.filled(),
            ))
            .map_err(plot_err)
    }

    /// Legend under the title, and a note when there are no edges.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        graph: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        for (k, (label, colour)) in [
            ("collateral sensitivity", style::SENSITIVE_BLUE),
            ("cross-resistance", style::RESISTANT_RED),
        ]
        .iter()
        .enumerate()
        {
            let y = 42 + 20 * k as i32;
            graph
                .draw(&PathElement::new(
                    vec![(12, y), (40, y)],
                    colour.stroke_width(3),
                ))
                .map_err(plot_err)?;
            graph
                .draw(&Text::new(
                    *label,
                    (46, y - 8),
                    (FONT, 14).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
        }
        if self.edges.is_empty() {
            let (_, gh) = graph.dim_in_pixel();
            graph
                .draw(&Text::new(
                    "no collateral-sensitive or cross-resistant edges between different drugs",
                    (12, gh as i32 - 24),
                    (FONT, 14).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    }

    /// The cycle list beside the graph.
    fn draw_cycles<DB: DrawingBackend>(&self, list: &DrawingArea<DB, Shift>) -> Result<(), String> {
        list.draw(&Text::new(
            format!("Top CS cycles ({} in cycles.csv)", self.total_cycles),
            (4, 8),
            (FONT, 18).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        if self.cycles.is_empty() {
            list.draw(&Text::new(
                "no collateral-sensitivity cycles",
                (4, 40),
                (FONT, 15).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
        }
        let mut y = 40;
        for c in &self.cycles {
            for line in wrap_cycle(&format!("{}. {}", c.rank, c.cycle), CYCLE_LINE_CHARS) {
                list.draw(&Text::new(
                    line,
                    (4, y),
                    (FONT, 15).into_font().color(&style::SENSITIVE_BLUE),
                ))
                .map_err(plot_err)?;
                y += 19;
            }
            let sum: f64 = c.sum_log2_fc.parse().unwrap_or(f64::NAN);
            let q: f64 = c.max_q_value.parse().unwrap_or(f64::NAN);
            list.draw(&Text::new(
                format!(
                    "   length {}, Σ log2 FC {}, max q {}",
                    c.length,
                    short_number(sum),
                    short_number(q)
                ),
                (4, y),
                (FONT, 14).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
            y += 26;
        }
        Ok(())
    }
}

/// The strongest edges, by |log2 FC| (undetermined values last, then by source and target
/// name), taken while they keep at most [`MAX_DRUGS`] drugs on the circle, at most
/// [`SHOWN_EDGES`] of them; returns the drugs they join (in `drugs` order) and the edges (in
/// their original order).
fn strongest(drugs: &[String], edges: Vec<EdgeRow>) -> (Vec<String>, Vec<EdgeRow>) {
    let strength = |e: &EdgeRow| {
        if e.log2_fc.is_finite() {
            e.log2_fc.abs()
        } else {
            -1.0
        }
    };
    let mut ranked: Vec<usize> = (0..edges.len()).collect();
    ranked.sort_by(|&a, &b| {
        let (x, y) = (&edges[a], &edges[b]);
        strength(y)
            .total_cmp(&strength(x))
            .then_with(|| x.source.cmp(&y.source))
            .then_with(|| x.target.cmp(&y.target))
    });
    let mut on_circle: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut kept = Vec::new();
    for i in ranked {
        if kept.len() == SHOWN_EDGES {
            break;
        }
        let e = &edges[i];
        let new = [e.source.as_str(), e.target.as_str()]
            .iter()
            .filter(|d| !on_circle.contains(*d))
            .count();
        if on_circle.len() + new <= MAX_DRUGS {
            on_circle.insert(&e.source);
            on_circle.insert(&e.target);
            kept.push(i);
        }
    }
    kept.sort();
    let shown: Vec<String> = drugs
        .iter()
        .filter(|d| on_circle.contains(d.as_str()))
        .cloned()
        .collect();
    let kept: Vec<EdgeRow> = kept.into_iter().map(|i| edges[i].clone()).collect();
    (shown, kept)
}

/// Splits `A -> B -> C` at arrows into lines of at most `width` characters (longer drug names
/// stay whole); continuation lines are indented.
pub(crate) fn wrap_cycle(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, part) in text.split(" -> ").enumerate() {
        let piece = if i == 0 {
            part.to_string()
        } else {
            format!(" -> {part}")
        };
        if !current.is_empty() && current.chars().count() + piece.chars().count() > width {
            lines.push(std::mem::take(&mut current));
            current = format!("    {}", piece.trim_start());
        } else {
            current.push_str(&piece);
        }
    }
    lines.push(current);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_edges_are_kept_within_the_drug_limit() {
        let edge = |s: &str, t: &str, fc: f64| EdgeRow {
            source: s.into(),
            target: t.into(),
            call: Some(Call::CollateralSensitive),
            log2_fc: fc,
        };
        let drugs: Vec<String> = (0..100).map(|i| format!("d{i:03}")).collect();
        let mut edges: Vec<EdgeRow> = (1..100)
            .map(|i| edge("d000", &drugs[i], -(i as f64) / 10.0))
            .collect();
        edges.push(edge("d001", "d002", f64::NAN));
        let (shown, kept) = strongest(&drugs, edges);
        // d000 and the 39 targets with the largest |log2 FC|: d099 down to d061.
        assert_eq!(shown.len(), MAX_DRUGS);
        assert_eq!(kept.len(), MAX_DRUGS - 1);
        assert_eq!(shown[0], "d000");
        assert_eq!(shown[1], "d061");
        assert!(kept.iter().all(|e| e.log2_fc.is_finite()));
        assert_eq!(kept.last().unwrap().target, "d099");
    }

    #[test]
    fn long_cycles_wrap_at_arrows() {
        assert_eq!(wrap_cycle("1. A -> B -> A", 38), vec!["1. A -> B -> A"]);
        assert_eq!(
            wrap_cycle("1. Alectinib -> IPI504 -> Pemetrexed -> Alectinib", 30),
            vec!["1. Alectinib -> IPI504", "    -> Pemetrexed -> Alectinib"]
        );
    }
}
