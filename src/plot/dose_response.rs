//! Dose-response small multiples: for one resistant line, one panel per drug with the parental
//! line and the resistant line: every replicate point faint, mean ± SD per dose, the fitted
//! curve and the potency the run compared (IC50, with its qualifier when censored, or EC50 when
//! `shift.metric = "ec50"`) on a log10 concentration axis. A run that compares GR or DIP
//! metrics draws GR values or DIP rates with their curves instead ([`Response`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{Response, RunData, ShiftRow};
use super::style::{self, short_number, FONT, PARENTAL_GREY, RESISTANT_ORANGE};
use super::{plot_err, Draw, PlotOptions};
use crate::wells::Role;

/// Default size of one panel in pixels.
pub const PANEL_SIZE: (u32, u32) = (360, 300);
/// Height of the grid's header (title and legend).
const HEADER: u32 = 78;
/// Most panels per row.
const MAX_COLUMNS: usize = 4;
/// Points on a drawn curve.
const CURVE_POINTS: usize = 200;

/// One line's data in a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Cell line.
    pub line: String,
    /// Whether this is the parental line.
    pub parental: bool,
    /// Every used well: (concentration, response: viability, GR value or DIP rate).
    pub points: Vec<(f64, f64)>,
    /// Per dose: (concentration, mean, SD); SD is 0 for a single well.
    pub means: Vec<(f64, f64, f64)>,
    /// The fitted curve, when the fit has one.
    pub curve: Option<crate::fit::Curve>,
    /// The marked potency from `fits.csv`: ic50, ec50, gr50 or dip_ec50, as the run compared
    /// (NaN when absent).
    pub potency: f64,
    /// Its qualifier (`=`, `>`, `<` or empty; ec50s have none).
    pub qualifier: String,
    /// Response at which the potency is marked: 0.5 for the IC50 and GR50, the curve's
    /// midpoint for the EC50s.
    pub potency_level: f64,
    /// Status of the drawn fit.
    pub status: String,
}

impl Series {
    fn colour(&self) -> RGBColor {
        if self.parental {
            PARENTAL_GREY
        } else {
            RESISTANT_ORANGE
        }
    }

    /// The potency as a label, e.g. `> 142` or `1.99`, or the fit status when there is none.
    pub fn potency_label(&self) -> String {
        if self.potency.is_finite() {
            let q = if self.qualifier == "=" || self.qualifier.is_empty() {
                String::new()
            } else {
                format!("{} ", self.qualifier)
            };
            format!("{q}{}", short_number(self.potency))
        } else if self.status.is_empty() {
            "no fit".into()
        } else {
            self.status.replace('_', " ")
        }
    }
}

/// One drug's panel.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Drug.
    pub drug: String,
    /// The line, named in the title when panels of several lines share a figure.
    pub line: Option<String>,
    /// Parental first (when known), then the resistant line.
    pub series: Vec<Series>,
    /// The pooled shift row's call, log2 fold change and its qualifier, when there is one.
    pub shift: Option<(String, f64, String)>,
    /// (replicate, call) of the replicate shift rows, for lines reported per replicate.
    pub replicate_calls: Vec<(String, String)>,
}

/// A grid of panels for one line.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The resistant line (or, without a lines table, the cell line).
    pub line: String,
    /// Its parental line, when known.
    pub parental: Option<String>,
    /// Concentration unit.
    pub unit: String,
    /// What the panels draw and mark (the metric the run compared; IC50 for auc).
    pub response: Response,
    /// One panel per drug.
    pub panels: Vec<Panel>,
}

/// What the grids, the drug overviews and the highlights share, built once per drawing: every
/// used well's point grouped by (cell line, drug), the selected drugs and lines. A screen of
/// a hundred lines and a thousand drugs asks for a hundred thousand series; each is then a
/// few lookups, not a pass over millions of wells.
pub struct Curves<'a> {
    data: &'a RunData,
    /// (concentration, response) of every used sample well, by (cell line, drug) number.
    points: HashMap<(u32, u32), Vec<(f64, f64)>>,
    /// Selected drugs, in `fits.csv` order.
    drugs: Vec<String>,
    /// Selected grid lines with their parental line: resistant lines in `shifts.csv` order, or
    /// every cell line of `fits.csv` without a lines table.
    lines: Vec<(String, Option<String>)>,
    unit: String,
    response: Response,
    /// For metric mic: the maximum-likelihood MIC and its qualifier of each (cell line, drug),
    /// from the pooled `shifts.csv` rows (a resistant line's own row, or for a parental line
    /// any row comparing with it: the MLE is per line).
    mics: HashMap<(String, String), (f64, String)>,
    /// The MIC threshold of the run (`settings.mic.threshold`), where MICs are marked.
    mic_threshold: f64,
}

impl<'a> Curves<'a> {
    /// Groups the run's wells and picks the selected lines and drugs.
    pub fn new(data: &'a RunData, options: &PlotOptions) -> Curves<'a> {
        let mut points: HashMap<(u32, u32), Vec<(f64, f64)>> = HashMap::new();
        if data.response == Response::Dip {
            for d in &data.dip_points {
                points
                    .entry((d.cell_line, d.drug))
                    .or_default()
                    .push((d.concentration, d.dip_rate));
            }
        } else {
            for (i, w) in data.wells.iter().enumerate() {
                let y = match data.response {
                    Response::Gr => data.gr.get(i).copied().unwrap_or(f64::NAN),
                    _ => w.viability,
                };
                if w.role == Some(Role::Sample)
                    && !w.excluded
                    && y.is_finite()
                    && w.concentration.is_finite()
                    && w.concentration > 0.0
                {
                    points
                        .entry((w.cell_line, w.drug))
                        .or_default()
                        .push((w.concentration, y));
                }
            }
        }
        let mut lines: Vec<(String, Option<String>)> = data
            .resistant_lines()
            .into_iter()
            .map(|(r, p)| (r, Some(p)))
            .collect();
        if lines.is_empty() {
            let mut all: Vec<String> = data.fits.iter().map(|f| f.cell_line.clone()).collect();
            all.dedup();
            lines = all.into_iter().map(|l| (l, None)).collect();
        }
        lines.retain(|(l, _)| options.wants_line(l));
        let drugs = data
            .drugs()
            .into_iter()
            .filter(|d| options.wants_drug(d))
            .collect();
        let mut mics = HashMap::new();
        if data.response == Response::Mic {
            for s in data.pooled_shifts() {
                for (line, value) in [
                    (&s.resistant_line, &s.value_resistant),
                    (&s.parental_line, &s.value_parental),
                ] {
                    if value.0.is_finite() {
                        mics.entry((line.clone(), s.drug.clone()))
                            .or_insert_with(|| value.clone());
                    }
                }
            }
        }
        Curves {
            data,
            points,
            drugs,
            lines,
            unit: data.unit(),
            response: data.response,
            mics,
            mic_threshold: data.run["settings"]["mic"]["threshold"]
                .as_f64()
                .unwrap_or(0.1),
        }
    }

    /// The lines that get a grid (when they have a fitted drug), with their parental line.
    pub fn lines(&self) -> &[(String, Option<String>)] {
        &self.lines
    }

    /// One line's panel for one drug: the parental series (when known), then the line's.
    fn panel(&self, line: &str, parental: Option<&str>, drug: &str) -> Panel {
        let mut series = Vec::new();
        if let Some(p) = parental {
            series.push(self.series(p, drug, true));
        }
        series.push(self.series(line, drug, false));
        Panel {
            drug: drug.to_string(),
            line: None,
            series,
            shift: self
                .data
                .pooled_shift(line, drug)
                .map(|s| (s.call.clone(), s.log2_fc, s.log2_fc_qualifier.clone())),
            replicate_calls: self
                .data
                .replicate_shifts(line, drug)
                .into_iter()
                .map(|s| (s.replicate.clone(), s.call.clone()))
                .collect(),
        }
    }

    /// Whether a line has a fit for a selected drug (and so a grid).
    pub fn has_panels(&self, line: &str) -> bool {
        self.drugs.iter().any(|d| self.data.fit(line, d).is_some())
    }

    /// The grid of one line: a panel per selected drug the line has a fit for; `None` when it
    /// has none.
    pub fn grid(&self, line: &str, parental: Option<&str>) -> Option<Grid> {
        let panels: Vec<Panel> = self
            .drugs
            .iter()
            .filter(|d| self.data.fit(line, d).is_some())
            .map(|drug| self.panel(line, parental, drug))
            .collect();
        (!panels.is_empty()).then(|| Grid {
            line: line.to_string(),
            parental: parental.map(str::to_string),
            unit: self.unit.clone(),
            response: self.response,
            panels,
        })
    }

    /// Drugs that get an overview: those of the grids' panels, in first-seen order.
    pub fn overview_drugs(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (line, _) in &self.lines {
            for d in &self.drugs {
                if self.data.fit(line, d).is_some() && seen.insert(d.as_str()) {
                    out.push(d.clone());
                }
            }
        }
        out
    }

    /// One drug, every line of the grids: parental lines first, then the lines in grid order.
    pub fn overview(&self, drug: &str) -> DrugOverview {
        let mut series: Vec<Series> = Vec::new();
        let mut seen = HashSet::new();
        for (line, parental) in &self.lines {
            if self.data.fit(line, drug).is_none() {
                continue;
            }
            let mut add = |l: &str, is_parental: bool| {
                if seen.insert(l.to_string()) {
                    series.push(self.series(l, drug, is_parental));
                }
            };
            if let Some(p) = parental {
                add(p, true);
            }
            add(line, false);
        }
        // Parental lines first, keeping first-seen order otherwise.
        series.sort_by_key(|s| !s.parental);
        DrugOverview {
            drug: drug.to_string(),
            unit: self.unit.clone(),
            response: self.response,
            series,
        }
    }

    /// The strongest collateral sensitivity and cross-resistance of the selected lines and
    /// drugs as panels: the [`HIGHLIGHT_PANELS`] pooled shifts called collaterally sensitive
    /// with the most negative log2 FC, and those called cross-resistant with the most positive
    /// (the selecting drug's own cell left out: its resistance is expected). Ties by line and
    /// drug. Kinds without a call are left out.
    pub fn highlights(&self) -> Vec<Highlights> {
        let selected: HashSet<&str> = self.drugs.iter().map(String::as_str).collect();
        let parental: HashMap<&str, Option<&str>> = self
            .lines
            .iter()
            .map(|(l, p)| (l.as_str(), p.as_deref()))
            .collect();
        let mut out = Vec::new();
        for (call, sign, what) in [
            ("collateral_sensitive", 1.0, "collateral sensitivity"),
            ("cross_resistant", -1.0, "cross-resistance"),
        ] {
            let mut rows: Vec<&ShiftRow> = self
                .data
                .pooled_shifts()
                .filter(|s| {
                    s.call == call
                        && s.drug != s.selected_with
                        && selected.contains(s.drug.as_str())
                        && parental.contains_key(s.resistant_line.as_str())
                })
                .collect();
            rows.sort_by(|a, b| {
                let key = |s: &ShiftRow| {
                    if s.log2_fc.is_finite() {
                        sign * s.log2_fc
                    } else {
                        f64::INFINITY
                    }
                };
                key(a)
                    .total_cmp(&key(b))
                    .then_with(|| a.resistant_line.cmp(&b.resistant_line))
                    .then_with(|| a.drug.cmp(&b.drug))
            });
            let total = rows.len();
            let panels: Vec<Panel> = rows
                .into_iter()
                .take(HIGHLIGHT_PANELS)
                .map(|s| {
                    let mut p = self.panel(
                        &s.resistant_line,
                        parental[s.resistant_line.as_str()],
                        &s.drug,
                    );
                    p.line = Some(s.resistant_line.clone());
                    p
                })
                .collect();
            if !panels.is_empty() {
                out.push(Highlights {
                    what: what.to_string(),
                    call: call.to_string(),
                    total,
                    unit: self.unit.clone(),
                    response: self.response,
                    panels,
                });
            }
        }
        out
    }

    fn series(&self, line: &str, drug: &str, parental: bool) -> Series {
        let key = self.data.names.id(line).zip(self.data.names.id(drug));
        let pts = key
            .and_then(|k| self.points.get(&k))
            .cloned()
            .unwrap_or_default();
        let mut series = make_series(self.data, pts, line, drug, parental, self.response);
        if self.response == Response::Mic {
            series.potency_level = self.mic_threshold;
            match self.mics.get(&(line.to_string(), drug.to_string())) {
                Some((mic, qualifier)) => {
                    series.potency = *mic;
                    series.qualifier = qualifier.clone();
                }
                None => series.status = "no MLE MIC".to_string(),
            }
        }
        series
    }
}

/// Panels of each kind in the highlights.
pub const HIGHLIGHT_PANELS: usize = 12;

fn make_series(
    data: &RunData,
    pts: Vec<(f64, f64)>,
    line: &str,
    drug: &str,
    parental: bool,
    response: Response,
) -> Series {
    let mut by_dose: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for &(x, y) in &pts {
        // Exact doses group by their bit pattern: doses are read from the same text.
        by_dose.entry(x.to_bits()).or_default().push(y);
    }
    let means = by_dose
        .into_iter()
        .map(|(bits, ys)| {
            let n = ys.len() as f64;
            let mean = ys.iter().sum::<f64>() / n;
            let sd = if ys.len() > 1 {
                (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            (f64::from_bits(bits), mean, sd)
        })
        .collect();
    let mut series = Series {
        line: line.to_string(),
        parental,
        points: pts,
        means,
        curve: None,
        potency: f64::NAN,
        qualifier: String::new(),
        potency_level: 0.5,
        status: String::new(),
    };
    let Some(f) = data.fit(line, drug) else {
        return series;
    };
    match response {
        // The MIC comes from the shifts: the curve is the viability fit's.
        Response::Mic => {
            series.curve = f.curve();
            series.status = f.status.clone();
        }
        Response::Viability => {
            series.curve = f.curve();
            series.potency = f.ic50;
            series.qualifier = f.ic50_qualifier.clone();
            series.status = f.status.clone();
        }
        Response::ViabilityEc50 => {
            series.curve = f.curve();
            series.potency = f.ec50;
            series.potency_level = (f.top + f.bottom) / 2.0;
            series.status = f.status.clone();
        }
        Response::Gr => {
            series.curve = f.gr_curve;
            series.potency = f.gr50;
            series.qualifier = f.gr50_qualifier.clone();
            series.status = f.gr_status.clone();
        }
        Response::Dip => {
            series.curve = f.dip_curve;
            series.potency = f.dip_ec50;
            series.potency_level = f.dip_curve.map_or(f64::NAN, |c| (c.top + c.bottom) / 2.0);
            series.status = f.dip_status.clone();
        }
    }
    series
}

impl Grid {
    /// Rows and columns of the panel grid.
    pub fn shape(&self) -> (usize, usize) {
        let n = self.panels.len().max(1);
        let cols = n.min(MAX_COLUMNS);
        (n.div_ceil(cols), cols)
    }

    /// Figure size for panels of `panel` pixels.
    pub fn size(&self, panel: (u32, u32)) -> (u32, u32) {
        let (rows, cols) = self.shape();
        (panel.0 * cols as u32, panel.1 * rows as u32 + HEADER)
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        match &self.parental {
            Some(p) => format!(
                "Dose-response{} of {} (orange) against its parental line {} (grey), one panel per drug: faint dots are wells, dots with bars the mean ± SD per dose, lines the fitted curves, triangles the {}.",
                response_named(self.response),
                self.line,
                p,
                self.response.mark_meaning(),
            ),
            None => format!(
                "Dose-response{} of {}, one panel per drug: faint dots are wells, dots with bars the mean ± SD per dose, the line the fitted curve, the triangle the {}.",
                response_named(self.response),
                self.line,
                self.response.potency_name()
            ),
        }
    }
}

impl Draw for Grid {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let title = match &self.parental {
            Some(p) => format!("{} vs parental {}", self.line, p),
            None => self.line.clone(),
        };
        let mut entries: Vec<(String, RGBColor)> = Vec::new();
        if let Some(p) = &self.parental {
            entries.push((format!("{p} (parental)"), PARENTAL_GREY));
        }
        entries.push((self.line.clone(), RESISTANT_ORANGE));
        draw_panels(root, title, &entries, self)
    }
}

/// The figure a [`Grid`] and [`Highlights`] both are: a title, a legend of the lines' colours
/// (`entries`) and the marks, then the panels in rows of at most [`MAX_COLUMNS`].
fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: String,
    entries: &[(String, RGBColor)],
    grid: &Grid,
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
        draw_panel(panel, area, &grid.unit, grid.response)?;
    }
    Ok(())
}

/// The strongest shifts of one kind as dose-response panels of several lines (the report of a
/// large screen shows these instead of a thousand-panel grid per line).
#[derive(Debug, Clone)]
pub struct Highlights {
    /// `collateral sensitivity` or `cross-resistance`.
    pub what: String,
    /// The call shown (`collateral_sensitive` or `cross_resistant`).
    pub call: String,
    /// Pooled shifts with that call (the selecting drug's cells not counted).
    pub total: usize,
    /// Concentration unit.
    pub unit: String,
    /// What the panels draw and mark, as in [`Grid::response`].
    pub response: Response,
    /// The panels, strongest first; each names its line.
    pub panels: Vec<Panel>,
}

impl Highlights {
    /// The file stem: `strongest_cs` or `strongest_cr`.
    pub fn stem(&self) -> &'static str {
        if self.call == "collateral_sensitive" {
            "strongest_cs"
        } else {
            "strongest_cr"
        }
    }

    fn title(&self) -> String {
        format!(
            "Strongest {}: {} of {} {} shifts",
            self.what,
            self.panels.len(),
            self.total,
            if self.call == "collateral_sensitive" {
                "CS"
            } else {
                "CR"
            }
        )
    }

    /// Figure size for panels of `panel` pixels.
    pub fn size(&self, panel: (u32, u32)) -> (u32, u32) {
        self.as_grid().size(panel)
    }

    fn as_grid(&self) -> Grid {
        Grid {
            line: String::new(),
            parental: None,
            unit: self.unit.clone(),
            response: self.response,
            panels: self.panels.clone(),
        }
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "{}: the shifts called {} with the {} log2 fold change (the selecting drug's own cell left out), each panel a resistant line (orange) against its parental line (grey){}: faint dots are wells, dots with bars the mean ± SD per dose, lines the fitted curves, triangles the {}. Every line's panels are in plots/dose_response/.",
            self.title(),
            self.call.replace('_', " "),
            if self.call == "collateral_sensitive" {
                "most negative"
            } else {
                "most positive"
            },
            response_named(self.response),
            self.response.potency_name()
        )
    }
}

impl Draw for Highlights {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let entries = [
            ("parental line".to_string(), PARENTAL_GREY),
            (
                "resistant line (named in the panel title)".to_string(),
                RESISTANT_ORANGE,
            ),
        ];
        draw_panels(root, self.title(), &entries, &self.as_grid())
    }
}

/// The response in a caption, ` (GR value)`; nothing for viability, which captions have always
/// meant.
fn response_named(response: Response) -> String {
    match response {
        Response::Viability | Response::ViabilityEc50 | Response::Mic => String::new(),
        other => format!(" ({})", other.axis_label()),
    }
}

/// The mark in a few words, for a figure's legend line.
fn short_mark(response: Response) -> &'static str {
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
fn y_axis(
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

/// A thin grey line across the panel at a reference level (0.5, 0, the MIC threshold).
fn reference_line<DB: DrawingBackend>(
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
fn short_call(call: &str) -> &str {
    match call {
        "collateral_sensitive" => "CS",
        "cross_resistant" => "CR",
        "undetermined" => "undet.",
        other => other,
    }
}

fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, Shift>,
    unit: &str,
    response: Response,
) -> Result<(), String> {
    let (top, plot) = area.split_vertically(38);
    let (title, colour) = match &panel.shift {
        Some((call, fc, q)) => {
            let q = if q == "=" || q.is_empty() {
                String::new()
            } else {
                format!("{q} ")
            };
            let fc = if fc.is_finite() {
                format!(", log2 FC {q}{}", short_number(*fc))
            } else {
                String::new()
            };
            let title = match &panel.line {
                // Panels of several lines: the colour says the call, the room goes to names.
                Some(line) => format!("{line} · {}{}", panel.drug, fc.replacen(',', ":", 1)),
                None => format!("{}: {}{fc}", panel.drug, call.replace('_', " ")),
            };
            (title, style::call_colour(call))
        }
        None if !panel.replicate_calls.is_empty() => {
            let calls: Vec<String> = panel
                .replicate_calls
                .iter()
                .map(|(r, c)| format!("rep {r} {}", short_call(c)))
                .collect();
            (format!("{}: {}", panel.drug, calls.join(", ")), BLACK)
        }
        None => (panel.drug.clone(), BLACK),
    };
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
    .map_err(plot_err)?;

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
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    // A quarter decade of room on each side, so edge points and censored marks stay visible.
    let pad = 10f64.powf(0.25);
    let (x_lo, x_hi) = if x_max > x_min {
        (x_min / pad, x_max * pad)
    } else {
        (x_min / 10.0, x_min * 10.0)
    };
    let mic_level = panel.series.first().map_or(f64::NAN, |s| s.potency_level);
    let ((y_lo, y_hi), references, decimals) = y_axis(response, ys.iter().copied(), mic_level);
    let clamp_y = |y: f64| y.clamp(y_lo, y_hi);

    let mut chart = ChartBuilder::on(&plot)
        .margin_right(10)
        .margin_bottom(4)
        .x_label_area_size(34)
        .y_label_area_size(37 + 7 * decimals as u32)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), y_lo..y_hi)
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
            .draw_series(reference_line(x_lo, x_hi, level))
            .map_err(plot_err)?;
    }
    for s in &panel.series {
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
            let (u0, u1) = (x_lo.log10(), x_hi.log10());
            let line = (0..CURVE_POINTS).map(|i| {
                let u = u0 + (u1 - u0) * i as f64 / (CURVE_POINTS - 1) as f64;
                (10f64.powf(u), clamp_y(curve.response_at_log10(u)))
            });
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
            if s.qualifier == ">" || s.qualifier == "<" {
                // The censored mark sits above the triangle, inside the panel.
                // Below the triangle: a censored curve does not reach 0.5 there.
                let dx = if s.qualifier == ">" { -14 } else { 2 };
                chart
                    .draw_series([EmptyElement::at((x, y))
                        + Text::new(
                            s.qualifier.clone(),
                            (dx, 6),
                            (FONT, 18).into_font().color(&c),
                        )])
                    .map_err(plot_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(potency: f64, qualifier: &str, status: &str) -> Series {
        Series {
            line: "R".into(),
            parental: false,
            points: vec![],
            means: vec![],
            curve: None,
            potency,
            qualifier: qualifier.into(),
            potency_level: 0.5,
            status: status.into(),
        }
    }

    #[test]
    fn potency_labels_show_censoring_and_missing_fits() {
        assert_eq!(series(141.9088, ">", "ok").potency_label(), "> 142");
        assert_eq!(series(0.0386, "<", "ok").potency_label(), "< 0.0386");
        assert_eq!(series(1.9992, "=", "ok").potency_label(), "2.00");
        assert_eq!(
            series(f64::NAN, "", "insufficient_data").potency_label(),
            "insufficient data"
        );
    }
}

/// Colours of the lines in a drug overview (Okabe–Ito without black and with purple for the
/// hard-to-read yellow, then Tableau), parental
/// always [`PARENTAL_GREY`].
const LINE_PALETTE: [RGBColor; 14] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(117, 112, 179),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(227, 119, 194),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
];

/// One drug, every line: the parental line and each resistant line's mean per dose and fitted
/// curve in one panel, for comparing all lines at a glance.
#[derive(Debug, Clone)]
pub struct DrugOverview {
    /// Drug.
    pub drug: String,
    /// Concentration unit.
    pub unit: String,
    /// What the panels draw and mark, as in [`Grid::response`].
    pub response: Response,
    /// Parental lines first, then resistant lines (or every cell line without a lines table).
    pub series: Vec<Series>,
}

impl DrugOverview {
    /// Default size: the panel plus a legend column.
    pub fn size(&self) -> (u32, u32) {
        (900, (560).max(80 + 22 * self.series.len() as u32))
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        format!(
            "{}: every line's mean {} per dose (dots) and fitted curve; the parental line in grey; the legend gives each line's {} ({}).",
            self.drug,
            self.response.axis_label(),
            self.response.potency_name(),
            self.unit
        )
    }

    fn colour(&self, index: usize) -> RGBColor {
        if self.series[index].parental {
            PARENTAL_GREY
        } else {
            let k = self.series[..index].iter().filter(|s| !s.parental).count();
            LINE_PALETTE[k % LINE_PALETTE.len()]
        }
    }
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
        let (x_min, x_max) = xs
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
        if xs.is_empty() {
            return Ok(());
        }
        let pad = 10f64.powf(0.25);
        let (x_lo, x_hi) = if x_max > x_min {
            (x_min / pad, x_max * pad)
        } else {
            (x_min / 10.0, x_min * 10.0)
        };
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
                let (u0, u1) = (x_lo.log10(), x_hi.log10());
                let line = (0..CURVE_POINTS).map(|k| {
                    let u = u0 + (u1 - u0) * k as f64 / (CURVE_POINTS - 1) as f64;
                    (10f64.powf(u), clamp_y(curve.response_at_log10(u)))
                });
                chart
                    .draw_series(LineSeries::new(line, c.stroke_width(width)))
                    .map_err(plot_err)?;
            }
        }
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
