//! The collateral-sensitivity heatmap: resistant lines × drugs coloured by log2 fold change on a
//! blue–white–red scale centred on 0, with a colour bar, significance stars, censored bounds
//! written as `>`/`<` and each line's selecting drug outlined.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::RunData;
use super::style::{self, FONT};
use super::{plot_err, Draw, PlotOptions};

/// One cell of the heatmap: a `shifts.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// log2 fold change (NaN when undetermined).
    pub log2_fc: f64,
    /// `=`, `>`, `<` or empty.
    pub qualifier: String,
    /// q value (NaN for censored bounds).
    pub q_value: f64,
    /// The call.
    pub call: String,
}

impl Cell {
    /// The text written in the cell: the value with its bound and a star when q < alpha.
    pub fn label(&self, alpha: f64) -> String {
        if !self.log2_fc.is_finite() {
            return "NA".into();
        }
        let bound = if self.qualifier == ">" || self.qualifier == "<" {
            self.qualifier.as_str()
        } else {
            ""
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
}

/// The heatmap's data.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Row labels (the resistant line, or `LINE rep R` for lines reported per replicate) with
    /// the line's selecting drug, in `shifts.csv` order.
    pub rows: Vec<(String, String)>,
    /// Drug columns.
    pub drugs: Vec<String>,
    /// Cells by (row label, drug).
    pub cells: BTreeMap<(String, String), Cell>,
    /// The colour scale saturates at ±limit.
    pub limit: f64,
    /// Significance level of the stars.
    pub alpha: f64,
    /// The compared metric (ic50, ec50, auc).
    pub metric: String,
}

impl Heatmap {
    /// The heatmap of a run's shifts (one row per `matrix.csv` row), restricted to the selected
    /// lines and drugs.
    pub fn new(data: &RunData, options: &PlotOptions) -> Heatmap {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut drugs: Vec<String> = Vec::new();
        let mut cells = BTreeMap::new();
        let mut metric = String::new();
        for s in &data.shifts {
            if !options.wants_line(&s.resistant_line) || !options.wants_drug(&s.drug) {
                continue;
            }
            let label = s.row_label();
            if !rows.iter().any(|(r, _)| r == &label) {
                rows.push((label.clone(), s.selected_with.clone()));
            }
            if !drugs.contains(&s.drug) {
                drugs.push(s.drug.clone());
            }
            metric = s.metric.clone();
            cells.insert(
                (label, s.drug.clone()),
                Cell {
                    log2_fc: s.log2_fc,
                    qualifier: s.log2_fc_qualifier.clone(),
                    q_value: s.q_value,
                    call: s.call.clone(),
                },
            );
        }
        // The selecting drug's own cell is expected to be strongly resistant; letting it set
        // the scale would wash out every collateral effect, so it saturates instead.
        let off_selection = cells
            .iter()
            .filter(|((line, drug), _)| !rows.iter().any(|(r, sel)| r == line && sel == drug))
            .map(|(_, c)| c.log2_fc);
        let limit = style::symmetric_limit(off_selection);
        Heatmap {
            rows,
            drugs,
            cells,
            limit,
            alpha: data.alpha(),
            metric,
        }
    }

    fn left(&self) -> u32 {
        let longest = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(4);
        24 + 9 * longest as u32
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
        (
            (self.left() + self.cell_width() * self.drugs.len() as u32 + RIGHT).max(MIN_WIDTH),
            TOP + (CELL_HEIGHT * self.rows.len() as u32).max(MIN_BAR_HEIGHT as u32) + BOTTOM,
        )
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "Collateral-sensitivity map: log2 fold change of {} (resistant / parental) per resistant line and drug; blue = collaterally sensitive, red = cross-resistant, colour saturating at ±{} (set by the cells other than the selecting drug's); * q < {}; >/< a censored bound; the black outline marks the drug each line was selected with; NA = undetermined.",
            self.metric, self.limit, self.alpha
        )
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

impl Draw for Heatmap {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (w, h) = root.dim_in_pixel();
        let left = self.left() as i32;
        let n_cols = self.drugs.len().max(1) as i32;
        let n_rows = self.rows.len().max(1) as i32;
        // Cells fill whatever size was asked for.
        let cw = ((w as i32 - left - RIGHT as i32) / n_cols).clamp(8, 4 * self.cell_width() as i32);
        let ch =
            ((h as i32 - TOP as i32 - BOTTOM as i32) / n_rows).clamp(8, 3 * CELL_HEIGHT as i32);
        let top = TOP as i32;
        root.draw(&Text::new(
            format!(
                "Collateral sensitivity: log2 fold change of {}",
                self.metric
            ),
            (10, 8),
            (FONT, 20).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        for (j, drug) in self.drugs.iter().enumerate() {
            let x = left + cw * j as i32 + cw / 2;
            root.draw(&Text::new(
                drug.clone(),
                (x, top - 14),
                centred(15.0, BLACK),
            ))
            .map_err(plot_err)?;
        }
        for (i, (line, selected)) in self.rows.iter().enumerate() {
            let y0 = top + ch * i as i32;
            root.draw(&Text::new(
                line.clone(),
                (left - 8, y0 + ch / 2),
                anchored(15.0, BLACK, HPos::Right),
            ))
            .map_err(plot_err)?;
            for (j, drug) in self.drugs.iter().enumerate() {
                let x0 = left + cw * j as i32;
                let cell = self.cells.get(&(line.clone(), drug.clone()));
                let fill = cell.map_or(style::MISSING_GREY, |c| {
                    style::diverging(c.log2_fc, self.limit)
                });
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
                if let Some(c) = cell {
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
                root.draw(&Rectangle::new(
                    [(x0 + 1, y0 + 1), (x0 + cw - 1, y0 + ch - 1)],
                    BLACK.stroke_width(3),
                ))
                .map_err(plot_err)?;
            }
        }
        // Colour bar: a stack of thin rectangles with integer ticks.
        let grid_bottom = top + ch * n_rows;
        let bar_x = left + cw * n_cols + 24;
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
        // Two short lines, so narrow selections keep the whole legend.
        for (k, line) in [
            "blue: collaterally sensitive · red: cross-resistant".to_string(),
            format!(
                "* q < {} · >/<: censored bound · outline: selecting drug",
                self.alpha
            ),
        ]
        .into_iter()
        .enumerate()
        {
            root.draw(&Text::new(
                line,
                (10, bar_bottom.max(grid_bottom) + 12 + 20 * k as i32),
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
            qualifier: qualifier.into(),
            q_value: q,
            call: String::new(),
        }
    }

    #[test]
    fn labels_carry_bounds_stars_and_no_negative_zero() {
        assert_eq!(cell(2.56, "=", 0.01).label(0.05), "2.6*");
        assert_eq!(cell(3.16, ">", f64::NAN).label(0.05), ">3.2");
        assert_eq!(cell(-0.04, "=", 0.5).label(0.05), "0.0");
        assert_eq!(cell(f64::NAN, "", f64::NAN).label(0.05), "NA");
    }
}
