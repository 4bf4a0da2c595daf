//! The collateral-sensitivity heatmap: resistant lines × drugs coloured by log2 fold change on a
//! blue–white–red scale centred on 0, rows and columns clustered ([`super::cluster`]) with their
//! dendrograms, a colour bar, and each line's selecting drug outlined.
//!
//! Up to [`LABELLED_MAX_DRUGS`] drugs and [`LABELLED_MAX_ROWS`] rows every cell carries its value
//! as text (`*` significant, `>`/`<` a censored bound). A larger matrix cannot be read cell by
//! cell at any size a page shows, so it is drawn as a **raster**: one small block of colour per
//! cell (in SVG one embedded PNG, not a hundred thousand elements), with the row labels and both
//! dendrograms; [`Heatmap::top`] then gives the labelled view of its strongest drugs.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::cluster::{self, Clustering};
use super::data::RunData;
use super::marks::{panel_key, Mark, Marks, Shape};
use super::style::{self, FONT};
use super::{plot_err, Draw, PlotOptions};
use crate::shift::{Bound, Call};

/// Most drug columns drawn with a value in every cell; more make a raster.
pub const LABELLED_MAX_DRUGS: usize = 60;
/// Most rows drawn with a value in every cell; more make a raster.
pub const LABELLED_MAX_ROWS: usize = 100;
/// Drugs in the labelled view of a raster heatmap ([`Heatmap::top`]).
pub const TOP_DRUGS: usize = 30;

/// One cell of the heatmap: a `shifts.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// log2 fold change (NaN when undetermined).
    pub log2_fc: f64,
    /// `=`, `>` or `<`; `None` when empty.
    pub qualifier: Option<Bound>,
    /// 95 % CI of the log2 fold change (NaN when there is none).
    pub ci: (f64, f64),
    /// q value (NaN for censored bounds).
    pub q_value: f64,
    /// The call (`None` in tests of labels alone).
    pub call: Option<Call>,
}

impl Cell {
    /// The text written in the cell: the value with its bound and a star when q < alpha.
    pub fn label(&self, alpha: f64) -> String {
        if !self.log2_fc.is_finite() {
            return "NA".into();
        }
        let bound = match self.qualifier {
            Some(bound @ (Bound::Greater | Bound::Less)) => bound.symbol(),
            _ => "",
        };
        let star = if self.q_value < alpha { "*" } else { "" };
        // -0.04 reads "0.0", not "-0.0".
        let value = if self.log2_fc.abs() < 0.05 {
            0.0
        } else {
            self.log2_fc
        };
        format!("{bound}{value:.1}{star}")
    }

    /// Whether the call is collateral sensitivity or cross-resistance.
    fn is_effect(&self) -> bool {
        matches!(
            self.call,
            Some(Call::CollateralSensitive | Call::CrossResistant)
        )
    }
}

/// The lines a heatmap cell shows under the pointer: `LINE × DRUG`, the log2 fold change of
/// `metric` with its bound and 95 % CI, q, the call, and the selecting drug.
pub(crate) fn shift_tip(
    label: &str,
    drug: &str,
    selected_with: &str,
    c: &Cell,
    metric: &str,
) -> Vec<String> {
    let bound = match c.qualifier {
        Some(bound @ (Bound::Greater | Bound::Less)) => format!("{} ", bound.symbol()),
        _ => String::new(),
    };
    let number = |x: f64| {
        if x.is_finite() {
            style::short_number(x)
        } else {
            "NA".to_string()
        }
    };
    let ci = if c.ci.0.is_finite() && c.ci.1.is_finite() {
        format!(" (95% CI {} to {})", number(c.ci.0), number(c.ci.1))
    } else {
        String::new()
    };
    let mut tip = vec![
        format!("{label} × {drug}"),
        format!("log2 FC of {metric}: {bound}{}{ci}", number(c.log2_fc)),
        format!("q = {}", number(c.q_value)),
        format!(
            "call: {}",
            c.call.map_or("none", |call| call.name()).replace('_', " ")
        ),
    ];
    if !selected_with.is_empty() {
        tip.push(format!("selected with {selected_with}"));
    }
    tip
}

/// How the cells are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Every cell with its value as text.
    Labelled,
    /// Colour blocks only (a matrix too large to label).
    Raster,
}

/// The heatmap's data, rows and columns in display (clustered) order.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Row labels (the resistant line, or `LINE rep R` for lines reported per replicate) with
    /// the line's selecting drug.
    pub rows: Vec<(String, String)>,
    /// Each row's resistant line (the row label without its replicate), whose dose-response
    /// panels a click on the row's cells opens.
    pub(crate) row_lines: Vec<String>,
    /// Drug columns.
    pub drugs: Vec<String>,
    /// `cells[row][column]`, `None` where `shifts.csv` has no row.
    pub cells: Vec<Vec<Option<Cell>>>,
    /// The colour scale saturates at ±limit.
    pub limit: f64,
    /// Significance level of the stars.
    pub alpha: f64,
    /// The compared metric (ic50, ec50, auc).
    pub metric: String,
    /// The rows' clustering, its leaves numbered in display order (`None`: not drawn).
    pub(crate) row_tree: Option<Clustering>,
    /// The columns' clustering, likewise.
    pub(crate) drug_tree: Option<Clustering>,
    /// Labelled or raster.
    pub style: Style,
    /// For a view of part of the matrix: (drugs shown, drugs in the matrix).
    pub(crate) part_of: Option<(usize, usize)>,
    /// SVG only: leave the raster's cells out of the drawing, for [`Heatmap::cell_image`] to
    /// be embedded instead.
    pub(crate) cells_as_image: bool,
}

/// Positions of the parts of a drawn heatmap.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    left: i32,
    top: i32,
    cw: i32,
    ch: i32,
}

impl Heatmap {
    /// The heatmap of a run's shifts (one row per `matrix.csv` row), restricted to the selected
    /// lines and drugs, rows and columns clustered.
    pub fn new(data: &RunData, options: &PlotOptions) -> Heatmap {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row_lines: Vec<String> = Vec::new();
        let mut row_index = std::collections::HashMap::new();
        let mut drugs: Vec<String> = Vec::new();
        let mut drug_index = std::collections::HashMap::new();
        let mut entries: Vec<(usize, usize, Cell)> = Vec::new();
        let mut metric = String::new();
        for s in &data.shifts {
            if !options.wants_line(&s.resistant_line) || !options.wants_drug(&s.drug) {
                continue;
            }
            let label = s.row_label();
            let r = *row_index.entry(label.clone()).or_insert_with(|| {
                rows.push((label, s.selected_with.clone()));
                row_lines.push(s.resistant_line.clone());
                rows.len() - 1
            });
            let d = *drug_index.entry(s.drug.clone()).or_insert_with(|| {
                drugs.push(s.drug.clone());
                drugs.len() - 1
            });
            metric = s.metric.name().to_string();
            entries.push((
                r,
                d,
                Cell {
                    log2_fc: s.log2_fc,
                    qualifier: s.log2_fc_qualifier,
                    ci: (s.ci_low, s.ci_high),
                    q_value: s.q_value,
                    call: Some(s.call),
                },
            ));
        }
        let mut cells: Vec<Vec<Option<Cell>>> = vec![vec![None; drugs.len()]; rows.len()];
        for (r, d, c) in entries {
            // A repeated (row, drug) keeps its last row, as a map keyed by them would.
            cells[r][d] = Some(c);
        }
        // The selecting drug's own cell is expected to be strongly resistant; letting it set
        // the scale would wash out every collateral effect, so it saturates instead.
        let limit = style::symmetric_limit(cells.iter().enumerate().flat_map(|(r, row)| {
            let selected = &rows[r].1;
            row.iter()
                .zip(&drugs)
                .filter(move |(_, d)| *d != selected)
                .filter_map(|(c, _)| c.as_ref().map(|c| c.log2_fc))
        }));
        // Cluster on what the reader sees: values clipped to the colour scale, NaN = missing.
        let seen = |c: &Option<Cell>| {
            c.as_ref()
                .map_or(f64::NAN, |c| c.log2_fc.clamp(-limit, limit))
        };
        let shown =
            ndarray::Array2::from_shape_fn((rows.len(), drugs.len()), |(r, d)| seen(&cells[r][d]));
        let row_tree = cluster::cluster(shown.view());
        let drug_tree = cluster::cluster(shown.t());
        let style = if drugs.len() > LABELLED_MAX_DRUGS || rows.len() > LABELLED_MAX_ROWS {
            Style::Raster
        } else {
            Style::Labelled
        };
        let mut heatmap = Heatmap {
            rows,
            row_lines,
            drugs,
            cells,
            limit,
            alpha: data.alpha(),
            metric,
            row_tree: None,
            drug_tree: None,
            style,
            part_of: None,
            cells_as_image: false,
        };
        heatmap = heatmap.reordered(&row_tree.order, &drug_tree.order);
        heatmap.row_tree = Some(renumbered(row_tree));
        heatmap.drug_tree = Some(renumbered(drug_tree));
        heatmap
    }

    /// The heatmap with rows and columns taken in these orders (original indices).
    fn reordered(self, row_order: &[usize], drug_order: &[usize]) -> Heatmap {
        let rows = row_order.iter().map(|&r| self.rows[r].clone()).collect();
        let row_lines = row_order
            .iter()
            .map(|&r| self.row_lines[r].clone())
            .collect();
        let drugs = drug_order.iter().map(|&d| self.drugs[d].clone()).collect();
        let cells = row_order
            .iter()
            .map(|&r| {
                drug_order
                    .iter()
                    .map(|&d| self.cells[r][d].clone())
                    .collect()
            })
            .collect();
        Heatmap {
            rows,
            row_lines,
            drugs,
            cells,
            ..self
        }
    }

    /// For a raster heatmap, the labelled view of its strongest part: the [`TOP_DRUGS`] drugs
    /// with the most collateral-sensitive or cross-resistant calls (the cells of lines selected
    /// with the drug left out), then the largest mean |log2 FC| (clipped to the scale), then
    /// name; and, beyond [`LABELLED_MAX_ROWS`] rows, the rows ranked the same way. Rows and
    /// columns keep the overview's clustered order, and the colour scale is the overview's.
    /// `None` for a heatmap that is already labelled.
    pub fn top(&self) -> Option<Heatmap> {
        if self.style == Style::Labelled {
            return None;
        }
        let score = |cells: &mut dyn Iterator<Item = (&Option<Cell>, bool)>| {
            let (mut effects, mut sum, mut n) = (0usize, 0.0, 0usize);
            for (c, selecting) in cells {
                if let (Some(c), false) = (c, selecting) {
                    effects += usize::from(c.is_effect());
                    if c.log2_fc.is_finite() {
                        sum += c.log2_fc.abs().min(self.limit);
                        n += 1;
                    }
                }
            }
            (effects, if n > 0 { sum / n as f64 } else { 0.0 })
        };
        let pick = |scores: Vec<(usize, f64)>, names: &[String], keep: usize| -> Vec<usize> {
            let mut ranked: Vec<usize> = (0..scores.len()).collect();
            ranked.sort_by(|&a, &b| {
                scores[b]
                    .0
                    .cmp(&scores[a].0)
                    .then(scores[b].1.total_cmp(&scores[a].1))
                    .then(names[a].cmp(&names[b]))
            });
            ranked.truncate(keep);
            ranked.sort();
            ranked
        };
        let drug_scores: Vec<(usize, f64)> = (0..self.drugs.len())
            .map(|d| {
                score(
                    &mut self
                        .cells
                        .iter()
                        .zip(&self.rows)
                        .map(|(row, (_, sel))| (&row[d], *sel == self.drugs[d])),
                )
            })
            .collect();
        let drug_order = pick(drug_scores, &self.drugs, TOP_DRUGS);
        let row_scores: Vec<(usize, f64)> = self
            .cells
            .iter()
            .zip(&self.rows)
            .map(|(row, (_, sel))| {
                score(&mut row.iter().zip(&self.drugs).map(|(c, d)| (c, d == sel)))
            })
            .collect();
        let row_labels: Vec<String> = self.rows.iter().map(|r| r.0.clone()).collect();
        let row_order = pick(row_scores, &row_labels, LABELLED_MAX_ROWS);
        let total = self.drugs.len();
        let mut top = self.clone().reordered(&row_order, &drug_order);
        top.row_tree = None;
        top.drug_tree = None;
        top.style = Style::Labelled;
        top.part_of = Some((top.drugs.len(), total));
        Some(top)
    }

    /// The rows' dendrogram, when drawn: leaves closer than [`MIN_LEAF_SPACING`] make a
    /// solid block of lines, not a tree.
    fn shown_row_tree(&self) -> Option<&Clustering> {
        let spacing = match self.style {
            Style::Labelled => CELL_HEIGHT,
            Style::Raster => self.raster_cell().1,
        };
        self.row_tree
            .as_ref()
            .filter(|t| !t.merges.is_empty() && spacing >= MIN_LEAF_SPACING)
    }

    /// The columns' dendrogram, when drawn (as [`Heatmap::shown_row_tree`]).
    fn shown_drug_tree(&self) -> Option<&Clustering> {
        let spacing = match self.style {
            Style::Labelled => self.cell_width(),
            Style::Raster => self.raster_cell().0,
        };
        self.drug_tree
            .as_ref()
            .filter(|t| !t.merges.is_empty() && spacing >= MIN_LEAF_SPACING)
    }

    fn row_dendrogram_width(&self) -> u32 {
        if self.shown_row_tree().is_some() {
            DENDROGRAM
        } else {
            0
        }
    }

    fn drug_dendrogram_height(&self) -> u32 {
        if self.shown_drug_tree().is_some() {
            DENDROGRAM
        } else {
            0
        }
    }

    /// Cell size of a raster, in pixels, before the figure is scaled to a requested size.
    fn raster_cell(&self) -> (u32, u32) {
        let n_cols = self.drugs.len().max(1) as u32;
        let n_rows = self.rows.len().max(1) as u32;
        (
            (RASTER_WIDTH / n_cols).clamp(1, 12),
            (RASTER_HEIGHT / n_rows).clamp(2, 16),
        )
    }

    /// Rows of a raster carry a label every `k` rows, so labels stay at least 8 px apart.
    fn label_every(&self, ch: i32) -> usize {
        match self.style {
            Style::Labelled => 1,
            Style::Raster => (8 + ch - 1) as usize / ch.max(1) as usize,
        }
    }

    fn row_font(&self, ch: i32) -> f64 {
        match self.style {
            Style::Labelled => 15.0,
            Style::Raster => (ch * self.label_every(ch) as i32).clamp(6, 13) as f64,
        }
    }

    fn left(&self) -> u32 {
        let longest = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(4) as f64;
        let ch = match self.style {
            Style::Labelled => CELL_HEIGHT as i32,
            Style::Raster => self.raster_cell().1 as i32,
        };
        // DejaVu Sans averages about 0.6 em per character.
        self.row_dendrogram_width() + 24 + (0.6 * self.row_font(ch) * longest).ceil() as u32
    }

    fn top_margin(&self) -> u32 {
        TOP + self.drug_dendrogram_height()
    }

    fn cell_width(&self) -> u32 {
        let longest = self
            .drugs
            .iter()
            .map(|d| d.chars().count())
            .max()
            .unwrap_or(4);
        (14 + 9 * longest as u32).max(60)
    }

    /// Size that fits the content.
    pub fn size(&self) -> (u32, u32) {
        let (cw, ch) = match self.style {
            Style::Labelled => (self.cell_width(), CELL_HEIGHT),
            Style::Raster => self.raster_cell(),
        };
        (
            (self.left() + cw * self.drugs.len() as u32 + RIGHT).max(MIN_WIDTH),
            self.top_margin() + (ch * self.rows.len() as u32).max(MIN_BAR_HEIGHT as u32) + BOTTOM,
        )
    }

    fn geometry(&self, (w, h): (u32, u32)) -> Geometry {
        let left = self.left() as i32;
        let top = self.top_margin() as i32;
        let n_cols = self.drugs.len().max(1) as i32;
        let n_rows = self.rows.len().max(1) as i32;
        // Cells fill whatever size was asked for.
        let (cw, ch) = match self.style {
            Style::Labelled => (
                ((w as i32 - left - RIGHT as i32) / n_cols).clamp(8, 4 * self.cell_width() as i32),
                ((h as i32 - top - BOTTOM as i32) / n_rows).clamp(8, 3 * CELL_HEIGHT as i32),
            ),
            Style::Raster => (
                ((w as i32 - left - RIGHT as i32) / n_cols).clamp(1, 48),
                ((h as i32 - top - BOTTOM as i32) / n_rows).clamp(1, 48),
            ),
        };
        Geometry { left, top, cw, ch }
    }

    /// What each labelled cell stands for, at `size` (as drawn): its line, drug, log2 fold
    /// change with CI, q and call, opening the line × drug's dose-response panel. A raster has
    /// none: its many thousand cells would outweigh the page, and its labelled view
    /// ([`Heatmap::top`]) has them.
    pub fn marks(&self, size: (u32, u32)) -> Marks {
        let mut marks = Marks::default();
        if self.style == Style::Raster {
            return marks;
        }
        let g = self.geometry(size);
        for (i, row) in self.cells.iter().enumerate() {
            let (label, selected) = &self.rows[i];
            for (j, cell) in row.iter().enumerate() {
                let Some(c) = cell else { continue };
                let drug = &self.drugs[j];
                marks.marks.push(Mark {
                    shape: Shape::Rect(
                        (g.left + g.cw * j as i32) as f64,
                        (g.top + g.ch * i as i32) as f64,
                        g.cw as f64,
                        g.ch as f64,
                    ),
                    tip: shift_tip(label, drug, selected, c, &self.metric),
                    opens: Some(panel_key(&self.row_lines[i], drug)),
                });
            }
        }
        marks
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        let order = "rows and columns clustered (average linkage of the Euclidean distance between the values as coloured; docs/outputs.md)";
        match (self.style, self.part_of) {
            (Style::Raster, _) => format!(
                "Collateral-sensitivity map of all {} rows × {} drugs: log2 fold change of {} (resistant / parental); blue = collaterally sensitive, red = cross-resistant, colour saturating at ±{} (set by the cells other than the selecting drug's), grey = undetermined; black marks the drug each line was selected with; {order}. Too many cells to write values in: the labelled view of the strongest drugs follows, every value is in shifts.csv and matrix.csv.",
                self.rows.len(),
                self.drugs.len(),
                self.metric,
                self.limit
            ),
            (Style::Labelled, Some((shown, total))) => format!(
                "The {shown} of {total} drugs with the most collateral-sensitive or cross-resistant calls (the selecting drug's own cells not counted), then the largest mean |log2 FC|, in the overview's clustered order and colour scale (±{}); the cell text is the log2 fold change, * q < {}, >/< a censored bound, NA = undetermined; the black outline marks the selecting drug. All drugs: the map above and shifts.csv.",
                self.limit, self.alpha
            ),
            (Style::Labelled, None) => format!(
                "Collateral-sensitivity map: log2 fold change of {} (resistant / parental) per resistant line and drug; blue = collaterally sensitive, red = cross-resistant, colour saturating at ±{} (set by the cells other than the selecting drug's); * q < {}; >/< a censored bound; the black outline marks the drug each line was selected with; NA = undetermined; {order}.",
                self.metric, self.limit, self.alpha
            ),
        }
    }

    /// The raster's cells as an RGB image of `cw × ch` pixels per cell, for an SVG to embed.
    pub fn cell_image(&self, cw: u32, ch: u32) -> (u32, u32, Vec<u8>) {
        let (w, h) = (cw * self.drugs.len() as u32, ch * self.rows.len() as u32);
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        for row in &self.cells {
            let mut line = Vec::with_capacity(w as usize * 3);
            for c in row {
                let RGBColor(r, g, b) = self.fill(c);
                for _ in 0..cw {
                    line.extend_from_slice(&[r, g, b]);
                }
            }
            for _ in 0..ch {
                rgb.extend_from_slice(&line);
            }
        }
        (w, h, rgb)
    }

    fn fill(&self, cell: &Option<Cell>) -> RGBColor {
        cell.as_ref().map_or(style::MISSING_GREY, |c| {
            style::diverging(c.log2_fc, self.limit)
        })
    }

    /// Draws an SVG of `size` pixels: the raster's cells as one embedded PNG under the other
    /// marks (a hundred thousand cells as elements would make a file no page can carry).
    pub(crate) fn render_svg(&self, size: (u32, u32)) -> Result<Vec<u8>, String> {
        if self.style != Style::Raster {
            return super::render(self, super::Format::Svg, size);
        }
        let mut plain = self.clone();
        plain.cells_as_image = true;
        let svg = String::from_utf8(super::render(&plain, super::Format::Svg, size)?)
            .map_err(super::plot_err)?;
        let g = self.geometry(size);
        let (w, h, rgb) = self.cell_image(g.cw as u32, g.ch as u32);
        let mut png = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut png),
            &rgb,
            w,
            h,
            image::ColorType::Rgb8,
        )
        .map_err(super::plot_err)?;
        let element = format!(
            "<image x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,{}\"/>\n",
            g.left,
            g.top,
            super::base64(&png)
        );
        // Under everything but the white background: the first element after <svg …>.
        let at = svg
            .find("<svg")
            .and_then(|s| svg[s..].find('>').map(|e| s + e + 1))
            .and_then(|open| svg[open..].find("/>").map(|e| open + e + 2))
            .ok_or("the heatmap's SVG has no background to place the cells on")?;
        let mut out = String::with_capacity(svg.len() + element.len() + 1);
        out.push_str(&svg[..at]);
        out.push('\n');
        out.push_str(&element);
        out.push_str(&svg[at..]);
        Ok(out.into_bytes())
    }
}

/// A clustering with its leaves renumbered to display positions (leaf `order[k]` becomes `k`).
fn renumbered(tree: Clustering) -> Clustering {
    let n = tree.order.len();
    let mut position = vec![0; n];
    for (k, &i) in tree.order.iter().enumerate() {
        position[i] = k;
    }
    let id = |node: usize| if node < n { position[node] } else { node };
    Clustering {
        order: (0..n).collect(),
        merges: tree
            .merges
            .iter()
            .map(|m| cluster::Merge {
                left: id(m.left),
                right: id(m.right),
                height: m.height,
            })
            .collect(),
    }
}

const TOP: u32 = 64;
const CELL_HEIGHT: u32 = 34;
const RIGHT: u32 = 120;
const BOTTOM: u32 = 60;
/// The colour bar is at least this tall, however few rows.
const MIN_BAR_HEIGHT: i32 = 120;
/// Wide enough for the legend.
const MIN_WIDTH: u32 = 480;
/// Room for a dendrogram (width of the rows', height of the columns').
const DENDROGRAM: u32 = 56;
/// Leaves closer than this many pixels get no dendrogram.
const MIN_LEAF_SPACING: u32 = 3;
/// A raster's cells fill about this many pixels across and down.
const RASTER_WIDTH: u32 = 1200;
const RASTER_HEIGHT: u32 = 900;

/// Draws a dendrogram whose leaves sit at `leaf(k)` along its axis; `across` maps a height
/// (0 at the leaves, `max` at the root) to the other coordinate. `vertical`: leaves along y.
fn draw_dendrogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    tree: &Clustering,
    leaf: impl Fn(usize) -> f64,
    across: impl Fn(f64) -> f64,
    vertical: bool,
) -> Result<(), String> {
    let n = tree.order.len();
    let max = tree.merges.iter().map(|m| m.height).fold(0.0f64, f64::max);
    let scale = |h: f64| across(if max > 0.0 { h / max } else { 0.0 });
    // (position along the leaves, height) of every node.
    let mut nodes: Vec<(f64, f64)> = (0..n).map(|k| (leaf(k), 0.0)).collect();
    let ink = RGBColor(90, 90, 90);
    for m in &tree.merges {
        let (a, b) = (nodes[m.left], nodes[m.right]);
        // Rounding can put a join a hair below a branch's; draw it at least as high.
        let h = m.height.max(a.1).max(b.1);
        let points = [(a.0, a.1), (a.0, h), (b.0, h), (b.0, b.1)];
        let path: Vec<(i32, i32)> = points
            .iter()
            .map(|&(p, hh)| {
                let (x, y) = if vertical {
                    (scale(hh), p)
                } else {
                    (p, scale(hh))
                };
                (x.round() as i32, y.round() as i32)
            })
            .collect();
        root.draw(&PathElement::new(path, ink.stroke_width(1)))
            .map_err(plot_err)?;
        nodes.push(((a.0 + b.0) / 2.0, h));
    }
    Ok(())
}

impl Draw for Heatmap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let g = self.geometry(root.dim_in_pixel());
        self.draw_title(root)?;
        self.draw_trees(root, &g)?;
        self.draw_column_labels(root, &g)?;
        for i in 0..self.rows.len() {
            self.draw_row(root, &g, i)?;
        }
        let grid_bottom = g.top + g.ch * self.rows.len().max(1) as i32;
        let bar_bottom = self.draw_colour_bar(root, &g, grid_bottom)?;
        self.draw_legend(root, bar_bottom.max(grid_bottom))
    }
}

impl Heatmap {
    /// The title, naming the metric and, for a part of the drugs, which part.
    fn draw_title<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = match self.part_of {
            Some((shown, total)) => format!(
                "Collateral sensitivity, strongest {shown} of {total} drugs: log2 fold change of {}",
                self.metric
            ),
            None => format!(
                "Collateral sensitivity: log2 fold change of {}",
                self.metric
            ),
        };
        root.draw(&Text::new(
            title,
            (10, 8),
            (FONT, 20).into_font().color(&BLACK),
        ))
        .map_err(plot_err)
    }

    /// The drugs' dendrogram above the columns and the lines' beside the rows, when clustered.
    fn draw_trees<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        g: &Geometry,
    ) -> Result<(), String> {
        let (left, top, cw, ch) = (g.left, g.top, g.cw, g.ch);
        if let Some(tree) = self.shown_drug_tree() {
            let (y_root, y_leaf) = (36.0, (top - 26) as f64);
            draw_dendrogram(
                root,
                tree,
                |k| (left + cw * k as i32) as f64 + cw as f64 / 2.0,
                |t| y_leaf + (y_root - y_leaf) * t,
                false,
            )?;
        }
        if let Some(tree) = self.shown_row_tree() {
            let (x_root, x_leaf) = (8.0, (DENDROGRAM - 8) as f64);
            draw_dendrogram(
                root,
                tree,
                |k| (top + ch * k as i32) as f64 + ch as f64 / 2.0,
                |t| x_leaf + (x_root - x_leaf) * t,
                true,
            )?;
        }
        Ok(())
    }

    /// Each drug's name above its column, or a count of the drugs when they are too many.
    fn draw_column_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        g: &Geometry,
    ) -> Result<(), String> {
        let (left, top, cw) = (g.left, g.top, g.cw);
        if self.style == Style::Labelled {
            for (j, drug) in self.drugs.iter().enumerate() {
                let x = left + cw * j as i32 + cw / 2;
                root.draw(&Text::new(
                    drug.clone(),
                    (x, top - 14),
                    centred(15.0, BLACK),
                ))
                .map_err(plot_err)?;
            }
            Ok(())
        } else {
            root.draw(&Text::new(
                format!("{} drugs, clustered →", self.drugs.len()),
                (left, top - 14),
                anchored(13.0, BLACK, HPos::Left),
            ))
            .map_err(plot_err)
        }
    }

    /// Row `i`: its line's name (every few rows when they are many), its cells, and the mark
    /// on the drug the line was selected with.
    fn draw_row<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        g: &Geometry,
        i: usize,
    ) -> Result<(), String> {
        let (left, top, cw, ch) = (g.left, g.top, g.cw, g.ch);
        let labelled = self.style == Style::Labelled;
        let (line, selected) = &self.rows[i];
        let y0 = top + ch * i as i32;
        if i.is_multiple_of(self.label_every(ch)) {
            root.draw(&Text::new(
                line.clone(),
                (left - 8, y0 + ch / 2),
                anchored(self.row_font(ch), BLACK, HPos::Right),
            ))
            .map_err(plot_err)?;
        }
        for (j, cell) in self.cells[i].iter().enumerate() {
            let x0 = left + cw * j as i32;
            let fill = self.fill(cell);
            if labelled {
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw, y0 + ch)],
                    fill.filled(),
                ))
                .map_err(plot_err)?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw, y0 + ch)],
                    WHITE.stroke_width(1),
                ))
                .map_err(plot_err)?;
            } else if !self.cells_as_image {
                // A filled rectangle covers up to, not including, its far corner.
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw, y0 + ch)],
                    fill.filled(),
                ))
                .map_err(plot_err)?;
            }
            if let (Some(c), true) = (cell, labelled) {
                let ink = if style::needs_light_text(fill) {
                    WHITE
                } else {
                    BLACK
                };
                root.draw(&Text::new(
                    c.label(self.alpha),
                    (x0 + cw / 2, y0 + ch / 2),
                    centred(14.0, ink),
                ))
                .map_err(plot_err)?;
            }
        }
        if let Some(j) = self.drugs.iter().position(|d| d == selected) {
            let x0 = left + cw * j as i32;
            let mark = if labelled {
                Rectangle::new(
                    [(x0 + 1, y0 + 1), (x0 + cw - 1, y0 + ch - 1)],
                    BLACK.stroke_width(3),
                )
            } else {
                // A cell a pixel wide cannot hold an outline: a black bar beside it.
                Rectangle::new([(x0 - 2, y0), (x0 - 1, y0 + ch - 1)], BLACK.filled())
            };
            root.draw(&mark).map_err(plot_err)?;
        }
        Ok(())
    }

    /// Colour bar: a stack of thin rectangles with integer ticks, beside the grid; its bottom.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        g: &Geometry,
        grid_bottom: i32,
    ) -> Result<i32, String> {
        let top = g.top;
        let bar_x = g.left + g.cw * self.drugs.len().max(1) as i32 + 24;
        let bar_w = 16;
        let bar_top = top;
        let bar_bottom = grid_bottom.max(top + MIN_BAR_HEIGHT);
        let steps = 100;
        let span = (bar_bottom - bar_top) as f64;
        for k in 0..steps {
            let v0 = self.limit - 2.0 * self.limit * k as f64 / steps as f64;
            let y_a = bar_top + (span * k as f64 / steps as f64) as i32;
            let y_b = bar_top + (span * (k + 1) as f64 / steps as f64).ceil() as i32;
            root.draw(&Rectangle::new(
                [(bar_x, y_a), (bar_x + bar_w, y_b)],
                style::diverging(v0, self.limit).filled(),
            ))
            .map_err(plot_err)?;
        }
        root.draw(&Rectangle::new(
            [(bar_x, bar_top), (bar_x + bar_w, bar_bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(plot_err)?;
        let tick_step = if self.limit <= 4.0 {
            1.0
        } else {
            (self.limit / 4.0).ceil()
        };
        // Ticks at multiples of the step, so 0 is always one of them.
        let mut v = -(self.limit / tick_step).floor() * tick_step;
        while v <= self.limit + 1e-9 {
            let y = bar_top + (span * (self.limit - v) / (2.0 * self.limit)) as i32;
            root.draw(&PathElement::new(
                vec![(bar_x + bar_w, y), (bar_x + bar_w + 4, y)],
                BLACK,
            ))
            .map_err(plot_err)?;
            let label = if v == 0.0 {
                "0".to_string()
            } else {
                style::tick_label(v)
            };
            root.draw(&Text::new(
                label,
                (bar_x + bar_w + 7, y - 6),
                (FONT, 13).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
            v += tick_step;
        }
        root.draw(&Text::new(
            "log2 FC",
            (bar_x - 8, bar_top - 22),
            (FONT, 14).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        Ok(bar_bottom)
    }

    /// The legend below the grid and the bar: two short lines, so narrow selections keep the
    /// whole legend.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        bottom: i32,
    ) -> Result<(), String> {
        let second = if self.style == Style::Labelled {
            format!(
                "* q < {} · >/<: censored bound · outline: selecting drug",
                self.alpha
            )
        } else {
            "grey: undetermined · black bar: selecting drug".to_string()
        };
        for (k, line) in [
            "blue: collaterally sensitive · red: cross-resistant".to_string(),
            second,
        ]
        .into_iter()
        .enumerate()
        {
            root.draw(&Text::new(
                line,
                (10, bottom + 12 + 20 * k as i32),
                (FONT, 14).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
        }
        Ok(())
    }
}

/// A text style anchored at its vertical centre and the given horizontal side.
fn anchored(size: f64, colour: RGBColor, h: HPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, size).into_font(),
        color: colour.to_backend_color(),
        pos: Pos::new(h, VPos::Center),
    }
}

/// A text style centred on its position.
fn centred(size: f64, colour: RGBColor) -> TextStyle<'static> {
    anchored(size, colour, HPos::Center)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(fc: f64, qualifier: &str, q: f64) -> Cell {
        Cell {
            log2_fc: fc,
            qualifier: Bound::parse(qualifier),
            ci: (f64::NAN, f64::NAN),
            q_value: q,
            call: None,
        }
    }

    #[test]
    fn labels_carry_bounds_stars_and_no_negative_zero() {
        assert_eq!(cell(2.56, "=", 0.01).label(0.05), "2.6*");
        assert_eq!(cell(3.16, ">", f64::NAN).label(0.05), ">3.2");
        assert_eq!(cell(-0.04, "=", 0.5).label(0.05), "0.0");
        assert_eq!(cell(f64::NAN, "", f64::NAN).label(0.05), "NA");
    }

    /// A raster of 3 lines × 70 drugs (no selecting drug among them, so no marks).
    fn raster() -> Heatmap {
        let drugs: Vec<String> = (0..70).map(|d| format!("d{d}")).collect();
        let cells = (0..3)
            .map(|r| {
                (0..70)
                    .map(|d| {
                        (d != 5 || r != 1)
                            .then(|| cell((d as f64 - 35.0) / 10.0 + r as f64, "=", 0.5))
                    })
                    .collect()
            })
            .collect();
        Heatmap {
            rows: (0..3)
                .map(|r| (format!("line{r}"), String::new()))
                .collect(),
            row_lines: (0..3).map(|r| format!("line{r}")).collect(),
            drugs,
            cells,
            limit: 4.0,
            alpha: 0.05,
            metric: "ic50".into(),
            row_tree: None,
            drug_tree: None,
            style: Style::Raster,
            part_of: None,
            cells_as_image: false,
        }
    }

    #[test]
    fn raster_cells_fill_their_blocks_edge_to_edge_in_png_and_svg() {
        let hm = raster();
        let size = hm.size();
        let g = hm.geometry(size);
        let png = crate::plot::render(&hm, crate::plot::Format::Png, size).unwrap();
        let pixels = image::load_from_memory(&png).unwrap().to_rgb8();
        let (_, _, image) = hm.cell_image(g.cw as u32, g.ch as u32);
        let width = g.cw as usize * hm.drugs.len();
        for (r, row) in hm.cells.iter().enumerate() {
            for (d, c) in row.iter().enumerate() {
                let want = hm.fill(c);
                for y in g.top + g.ch * r as i32..g.top + g.ch * (r as i32 + 1) {
                    for x in g.left + g.cw * d as i32..g.left + g.cw * (d as i32 + 1) {
                        // Every pixel of the block, in the PNG figure and in the SVG's image.
                        assert_eq!(
                            pixels.get_pixel(x as u32, y as u32).0,
                            [want.0, want.1, want.2]
                        );
                        let k = 3 * ((y - g.top) as usize * width + (x - g.left) as usize);
                        assert_eq!(image[k..k + 3], [want.0, want.1, want.2]);
                    }
                }
            }
        }
        assert_eq!(hm.fill(&hm.cells[1][5]), style::MISSING_GREY);
        // The SVG carries the same cells as one PNG image at the same place.
        let svg = String::from_utf8(hm.render_svg(size).unwrap()).unwrap();
        assert_eq!(svg.matches("<image ").count(), 1);
        assert!(svg.contains(&format!(
            "<image x=\"{}\" y=\"{}\" width=\"{width}\"",
            g.left, g.top
        )));
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 100,
            "background, bar frame and colour bar only"
        );
    }

    #[test]
    fn dendrogram_leaves_are_renumbered_to_display_positions() {
        let tree = Clustering {
            order: vec![2, 0, 1],
            merges: vec![
                cluster::Merge {
                    left: 0,
                    right: 1,
                    height: 1.0,
                },
                cluster::Merge {
                    left: 2,
                    right: 3,
                    height: 2.0,
                },
            ],
        };
        let r = renumbered(tree);
        assert_eq!(r.order, vec![0, 1, 2]);
        assert_eq!((r.merges[0].left, r.merges[0].right), (1, 2));
        assert_eq!((r.merges[1].left, r.merges[1].right), (0, 3));
    }
}
