//! Drawing the dose–response figures: the panels of a [`Grid`], [`Highlights`] and a
//! [`DrugOverview`] (axes, points, curves, marks), separate from choosing what they show.

use plotters::coord::types::RangedCoordf64;

use crate::plot::marks::{panel_key, Mark, Marks, PanelArea, Shape};

use super::*;

impl Draw for Grid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        self.draw_marked(root, &mut Marks::default())
    }

    fn draw_marked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &mut Marks,
    ) -> Result<(), String> {
        let title = match &self.parental {
            Some(p) => format!("{} vs parental {}", self.line, p),
            None => self.line.clone(),
        };
        let mut entries: Vec<(String, RGBColor)> = Vec::new();
        if let Some(p) = &self.parental {
            entries.push((format!("{p} (parental)"), PARENTAL_GREY));
        }
        entries.push((self.line.clone(), RESISTANT_ORANGE));
        draw_panels(root, title, &entries, self, marks)
    }
}

/// The figure a [`Grid`] and [`Highlights`] both are: a title, a legend of the lines' colours
/// (`entries`) and the marks, then the panels in rows of at most [`MAX_COLUMNS`]. Each panel's
/// area and its mean points go into `marks`.
pub(super) fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: String,
    entries: &[(String, RGBColor)],
    grid: &Grid,
    marks: &mut Marks,
) -> Result<(), String> {
    let (header, body) = root.split_vertically(HEADER);
    header
        .draw(&Text::new(
            title,
            (10, 6),
            (FONT, 20).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
    let mut x = 10;
    let legend = (FONT, 14).into_font();
    for (name, colour) in entries {
        header
            .draw(&Circle::new((x + 5, 40), 5, colour.filled()))
            .map_err(plot_err)?;
        header
            .draw(&Text::new(
                name.clone(),
                (x + 14, 33),
                legend.clone().color(colour),
            ))
            .map_err(plot_err)?;
        x += 30 + 8 * name.chars().count() as i32;
    }
    header
        .draw(&Text::new(
            format!(
                "mean ± SD per dose; ▲ {}; x: concentration ({})",
                short_mark(grid.response),
                grid.unit
            ),
            (10, 56),
            legend.color(&BLACK),
        ))
        .map_err(plot_err)?;
    let (rows, cols) = grid.shape();
    let areas = body.split_evenly((rows, cols));
    for (panel, area) in grid.panels.iter().zip(areas.iter()) {
        let line = panel.line.as_deref().unwrap_or(&grid.line);
        let (xs, ys) = area.get_pixel_range();
        marks.panels.push(PanelArea {
            rect: (
                xs.start as f64,
                ys.start as f64,
                (xs.end - xs.start) as f64,
                (ys.end - ys.start) as f64,
            ),
            key: panel_key(line, &panel.drug),
        });
        draw_panel(panel, area, &grid.unit, grid.response, marks)?;
    }
    Ok(())
}

impl Draw for Highlights {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        self.draw_marked(root, &mut Marks::default())
    }

    fn draw_marked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &mut Marks,
    ) -> Result<(), String> {
        let entries = [
            ("parental line".to_string(), PARENTAL_GREY),
            (
                "resistant line (named in the panel title)".to_string(),
                RESISTANT_ORANGE,
            ),
        ];
        draw_panels(root, self.title(), &entries, &self.as_grid(), marks)
    }
}

/// The mark in a few words, for a figure's legend line.
pub(super) fn short_mark(response: Response) -> &'static str {
    match response {
        Response::Viability => "IC50 (viability 0.5)",
        Response::ViabilityEc50 => "EC50 (curve midpoint)",
        Response::Gr => "GR50 (GR value 0.5)",
        Response::Dip => "DIP EC50 (curve midpoint)",
        Response::Mic => "MIC (at the MIC threshold)",
    }
}

/// The y range of a panel showing `ys`, the levels worth a reference line (the IC50's and
/// GR50's 0.5, no net growth at 0, the MIC threshold `mic_level`), and how many decimals its
/// tick labels need.
pub(super) fn y_axis(
    response: Response,
    ys: impl Iterator<Item = f64>,
    mic_level: f64,
) -> ((f64, f64), Vec<f64>, usize) {
    let (y_min, y_max) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    match response {
        Response::Viability | Response::ViabilityEc50 | Response::Mic => (
            (
                (y_min - 0.05).clamp(-1.0, -0.1),
                (y_max + 0.05).clamp(1.3, 3.0),
            ),
            if response == Response::Mic {
                vec![mic_level]
            } else {
                vec![0.5]
            },
            1,
        ),
        // GR values lie in [−1, 1] up to noise: −1 is every cell killed.
        Response::Gr => (
            (
                (y_min - 0.05).clamp(-1.1, -0.1),
                (y_max + 0.05).clamp(1.3, 3.0),
            ),
            vec![0.5, 0.0],
            1,
        ),
        // Rates in doublings per hour (0.04 for a 24 h doubling): the range follows the data
        // and always shows 0, where the population stops growing.
        Response::Dip => {
            let (lo, hi) = if y_min.is_finite() {
                (y_min.min(0.0), y_max.max(0.0))
            } else {
                (0.0, 0.0)
            };
            let span = if hi > lo { hi - lo } else { 0.05 };
            // About six ticks: enough decimals to tell neighbours apart (0.010, 0.020).
            let decimals = (-(span / 6.0).log10().floor() as i64).clamp(1, 6) as usize;
            ((lo - 0.08 * span, hi + 0.08 * span), vec![0.0], decimals)
        }
    }
}

/// [`CURVE_POINTS`] points of a fitted curve evenly spaced in log10 concentration across
/// `x_lo..x_hi`, each response passed through `clamp_y` (the panel's y range).
fn curve_line(
    curve: &crate::fit::Curve,
    x_lo: f64,
    x_hi: f64,
    clamp_y: impl Fn(f64) -> f64,
) -> Vec<(f64, f64)> {
    let (u0, u1) = (x_lo.log10(), x_hi.log10());
    (0..CURVE_POINTS)
        .map(|i| {
            let u = u0 + (u1 - u0) * i as f64 / (CURVE_POINTS - 1) as f64;
            (10f64.powf(u), clamp_y(curve.response_at_log10(u)))
        })
        .collect()
}

/// A thin grey line across the panel at a reference level (0.5, 0, the MIC threshold).
pub(super) fn reference_line<DB: DrawingBackend>(
    x_lo: f64,
    x_hi: f64,
    level: f64,
) -> LineSeries<DB, (f64, f64)> {
    LineSeries::new(
        [(x_lo, level), (x_hi, level)],
        RGBColor(190, 190, 190).stroke_width(1),
    )
}

/// A call in a few letters, for crowded titles.
pub(super) fn short_call(call: Call) -> &'static str {
    match call {
        Call::CollateralSensitive => "CS",
        Call::CrossResistant => "CR",
        Call::Undetermined => "undet.",
        Call::Neutral => call.name(),
    }
}

/// One panel: its heading (the call or the replicates' calls, and the potencies), then its
/// chart of every series, or a note when no well is usable. Its mean points go into `marks`.
pub(super) fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, Shift>,
    unit: &str,
    response: Response,
    marks: &mut Marks,
) -> Result<(), String> {
    let (top, plot) = area.split_vertically(38);
    draw_heading(panel, &top, unit, response)?;
    let xs: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .collect();
    if xs.is_empty() {
        plot.draw(&Text::new(
            match response {
                Response::Viability | Response::ViabilityEc50 | Response::Mic => "no usable wells",
                Response::Gr => "no wells with a GR value",
                Response::Dip => "no wells with a DIP rate",
            },
            (60, 60),
            (FONT, 13).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        return Ok(());
    }
    let x_range = padded_range(&xs);
    let mic_level = panel.series.first().map_or(f64::NAN, |s| s.potency_level);
    let (y_range, references, decimals) = y_axis(response, ys.iter().copied(), mic_level);
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(10)
        .margin_bottom(4)
        .x_label_area_size(34)
        .y_label_area_size(37 + 7 * decimals as u32)
        .build_cartesian_2d((x_range.0..x_range.1).log_scale(), y_range.0..y_range.1)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&|x| style::tick_label(*x))
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .x_desc(format!("concentration ({unit})"))
        .y_desc(response.axis_label())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(plot_err)?;
    for level in references {
        chart
            .draw_series(reference_line(x_range.0, x_range.1, level))
            .map_err(plot_err)?;
    }
    for s in &panel.series {
        draw_series(&mut chart, s, x_range, y_range)?;
        mark_means(&chart, s, &panel.drug, unit, response, y_range, marks);
    }
    Ok(())
}

/// The panel's title (coloured by its call) and its line of potencies.
fn draw_heading<DB: DrawingBackend>(
    panel: &Panel,
    top: &DrawingArea<DB, Shift>,
    unit: &str,
    response: Response,
) -> Result<(), String> {
    let (title, colour) = panel_title(panel);
    let colour = if colour == style::MISSING_GREY {
        BLACK
    } else {
        colour
    };
    top.draw(&Text::new(
        title,
        (46, 2),
        (FONT, 16).into_font().color(&colour),
    ))
    .map_err(plot_err)?;
    let potencies: Vec<String> = panel
        .series
        .iter()
        .map(|s| {
            let who = if s.parental { "P" } else { "R" };
            format!("{who} {}", s.potency_label())
        })
        .collect();
    top.draw(&Text::new(
        format!(
            "{} ({unit}): {}",
            response.potency_name(),
            potencies.join(", ")
        ),
        (46, 20),
        (FONT, 13).into_font().color(&BLACK),
    ))
    .map_err(plot_err)
}

/// The panel's title and its colour: the drug with the shift's call and log2 FC, or the
/// replicates' calls, or the drug alone.
fn panel_title(panel: &Panel) -> (String, RGBColor) {
    match &panel.shift {
        Some((call, fc, q)) => {
            let q = match q {
                Some(bound @ (Bound::Greater | Bound::Less)) => format!("{} ", bound.symbol()),
                _ => String::new(),
            };
            let fc = if fc.is_finite() {
                format!(", log2 FC {q}{}", short_number(*fc))
            } else {
                String::new()
            };
            let title = match &panel.line {
                // Panels of several lines: the colour says the call, the room goes to names.
                Some(line) => format!("{line} · {}{}", panel.drug, fc.replacen(',', ":", 1)),
                None => format!("{}: {}{fc}", panel.drug, call.name().replace('_', " ")),
            };
            (title, style::call_colour(Some(*call)))
        }
        None if !panel.replicate_calls.is_empty() => {
            let calls: Vec<String> = panel
                .replicate_calls
                .iter()
                .map(|(r, c)| format!("rep {r} {}", short_call(*c)))
                .collect();
            (format!("{}: {}", panel.drug, calls.join(", ")), BLACK)
        }
        None => (panel.drug.clone(), BLACK),
    }
}

/// The concentrations' range with a quarter decade of room on each side, so edge points and
/// censored marks stay visible (a decade for a single concentration).
fn padded_range(xs: &[f64]) -> (f64, f64) {
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let pad = 10f64.powf(0.25);
    if x_max > x_min {
        (x_min / pad, x_max * pad)
    } else {
        (x_min / 10.0, x_min * 10.0)
    }
}

/// Notes each mean point of a series (where it was drawn, clamped to the panel) with its line,
/// drug, dose, mean response ± SD and the number of wells.
fn mark_means<DB: DrawingBackend>(
    chart: &PanelChart<'_, DB>,
    s: &Series,
    drug: &str,
    unit: &str,
    response: Response,
    (y_lo, y_hi): (f64, f64),
    marks: &mut Marks,
) {
    let what = response.axis_label();
    for &(x, m, sd) in &s.means {
        let (px, py) = chart.backend_coord(&(x, m.clamp(y_lo, y_hi)));
        let wells = s.points.iter().filter(|p| p.0 == x).count();
        let role = if s.parental { " (parental)" } else { "" };
        marks.marks.push(Mark {
            shape: Shape::Dot(px as f64, py as f64, 3.0),
            tip: vec![
                format!("{}{role} × {drug}", s.line),
                format!("dose {} {unit}", short_number(x)),
                format!(
                    "{what} {} ± {} (mean ± SD of {wells})",
                    short_number(m),
                    short_number(sd)
                ),
            ],
            opens: None,
        });
    }
}

/// A panel's chart: log concentration against the response.
type PanelChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<LogCoord<f64>, RangedCoordf64>>;

/// One series of a panel: its points, means with SD bars, fitted curve, and potency marker
/// (with its censoring mark), each response clamped to the panel.
fn draw_series<DB: DrawingBackend>(
    chart: &mut PanelChart<'_, DB>,
    s: &Series,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> Result<(), String> {
    let clamp_y = |y: f64| y.clamp(y_lo, y_hi);
    let c = s.colour();
    chart
        .draw_series(
            s.points
                .iter()
                .map(|&(x, y)| Circle::new((x, clamp_y(y)), 2, c.mix(0.28).filled())),
        )
        .map_err(plot_err)?;
    chart
        .draw_series(s.means.iter().map(|&(x, m, sd)| {
            ErrorBar::new_vertical(
                x,
                clamp_y(m - sd),
                clamp_y(m),
                clamp_y(m + sd),
                c.filled(),
                5,
            )
        }))
        .map_err(plot_err)?;
    chart
        .draw_series(
            s.means
                .iter()
                .map(|&(x, m, _)| Circle::new((x, clamp_y(m)), 3, c.filled())),
        )
        .map_err(plot_err)?;
    if let Some(curve) = s.curve {
        let line = curve_line(&curve, x_lo, x_hi, clamp_y);
        chart
            .draw_series(LineSeries::new(line, c.stroke_width(2)))
            .map_err(plot_err)?;
    }
    if s.potency.is_finite() && s.potency > 0.0 && s.potency_level.is_finite() {
        let x = s.potency.clamp(x_lo, x_hi);
        let y = clamp_y(s.potency_level);
        chart
            .draw_series([TriangleMarker::new((x, y), 6, c.filled())])
            .map_err(plot_err)?;
        if let Some(bound @ (Bound::Greater | Bound::Less)) = s.qualifier {
            // The censored mark sits above the triangle, inside the panel.
            // Below the triangle: a censored curve does not reach 0.5 there.
            let dx = if bound == Bound::Greater { -14 } else { 2 };
            chart
                .draw_series([EmptyElement::at((x, y))
                    + Text::new(bound.symbol(), (dx, 6), (FONT, 18).into_font().color(&c))])
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

impl Draw for DrugOverview {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (w, _) = root.dim_in_pixel();
        let (plot, legend) = root.split_horizontally(w.saturating_sub(300).max(w / 2));
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.means.iter().map(|m| m.0))
            .collect();
        let ys: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.means.iter().map(|m| m.1))
            .collect();
        if xs.is_empty() {
            return Ok(());
        }
        let (x_lo, x_hi) = padded_range(&xs);
        let mic_level = self.series.first().map_or(f64::NAN, |s| s.potency_level);
        let ((y_lo, y_hi), references, decimals) =
            y_axis(self.response, ys.iter().copied(), mic_level);
        let clamp_y = |y: f64| y.clamp(y_lo, y_hi);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!("{}: all lines", self.drug),
                (FONT, 20).into_font().color(&BLACK),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(42 + 8 * decimals as u32)
            .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(7)
            .x_label_formatter(&|x| style::tick_label(*x))
            .y_label_formatter(&|y| format!("{y:.decimals$}"))
            .x_desc(format!("concentration ({})", self.unit))
            .y_desc(self.response.axis_label())
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        for level in references {
            chart
                .draw_series(reference_line(x_lo, x_hi, level))
                .map_err(plot_err)?;
        }
        // Resistant lines first, the parental line on top.
        for i in (0..self.series.len()).rev() {
            let s = &self.series[i];
            let c = self.colour(i);
            let width = if s.parental { 3 } else { 2 };
            chart
                .draw_series(
                    s.means
                        .iter()
                        .map(|&(x, m, _)| Circle::new((x, clamp_y(m)), 3, c.filled())),
                )
                .map_err(plot_err)?;
            if let Some(curve) = s.curve {
                let line = curve_line(&curve, x_lo, x_hi, clamp_y);
                chart
                    .draw_series(LineSeries::new(line, c.stroke_width(width)))
                    .map_err(plot_err)?;
            }
        }
        self.draw_legend(&legend)
    }
}

impl DrugOverview {
    /// Each line's colour with its potency, the parental line named.
    fn draw_legend<DB: DrawingBackend>(
        &self,
        legend: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        legend
            .draw(&Text::new(
                format!("line: {} ({})", self.response.potency_name(), self.unit),
                (8, 20),
                (FONT, 15).into_font().color(&BLACK),
            ))
            .map_err(plot_err)?;
        for (i, s) in self.series.iter().enumerate() {
            let y = 50 + 22 * i as i32;
            let c = self.colour(i);
            legend
                .draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(3)))
                .map_err(plot_err)?;
            let role = if s.parental { " (parental)" } else { "" };
            legend
                .draw(&Text::new(
                    format!("{}{role}: {}", s.line, s.potency_label()),
                    (36, y - 8),
                    (FONT, 14).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
        }
        Ok(())
    }
}
