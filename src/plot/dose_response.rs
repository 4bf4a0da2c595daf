//! Dose-response small multiples: for one resistant line, one panel per drug with the parental
//! line and the resistant line: every replicate point faint, mean ± SD per dose, the fitted
//! curve and the potency the run compared (IC50, with its qualifier when censored, or EC50 when
//! `shift.metric = "ec50"`) on a log10 concentration axis. A run that compares GR or DIP
//! metrics draws GR values or DIP rates with their curves instead ([`Response`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{bound_of, Response, RunData, ShiftRow};
use super::style::{self, short_number, FONT, PARENTAL_GREY, RESISTANT_ORANGE};
use super::{plot_err, Draw, PlotOptions};
use crate::shift::{Bound, Call};
use crate::wells::Role;

mod draw;

/// Default size of one panel in pixels.
pub(crate) const PANEL_SIZE: (u32, u32) = (360, 300);
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
    /// Its qualifier (`None` when empty; ec50s have none).
    pub qualifier: Option<Bound>,
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
            let q = match self.qualifier {
                Some(bound @ (Bound::Greater | Bound::Less)) => format!("{} ", bound.symbol()),
                _ => String::new(),
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
    pub shift: Option<(Call, f64, Option<Bound>)>,
    /// (replicate, call) of the replicate shift rows, for lines reported per replicate.
    pub(crate) replicate_calls: Vec<(String, Call)>,
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
    mics: HashMap<(String, String), (f64, Option<Bound>)>,
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
                    (
                        &s.resistant_line,
                        (s.value_resistant, s.qualifier_resistant),
                    ),
                    (&s.parental_line, (s.value_parental, s.qualifier_parental)),
                ] {
                    if value.0.is_finite() {
                        mics.entry((line.clone(), s.drug.clone())).or_insert(value);
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
            mic_threshold: data.mic_threshold(),
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
                .map(|s| (s.call, s.log2_fc, s.log2_fc_qualifier)),
            replicate_calls: self
                .data
                .replicate_shifts(line, drug)
                .into_iter()
                .map(|s| (s.replicate.clone(), s.call))
                .collect(),
        }
    }

    /// Whether a line has a fit for a selected drug (and so a grid).
    pub(crate) fn has_panels(&self, line: &str) -> bool {
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
    pub(crate) fn overview_drugs(&self) -> Vec<String> {
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
            (Call::CollateralSensitive, 1.0, "collateral sensitivity"),
            (Call::CrossResistant, -1.0, "cross-resistance"),
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
                    call,
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
                    series.qualifier = *qualifier;
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
        qualifier: None,
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
            series.status = f.status.name().to_string();
        }
        Response::Viability => {
            series.curve = f.curve();
            series.potency = f.ic50;
            series.qualifier = f.ic50_qualifier.map(bound_of);
            series.status = f.status.name().to_string();
        }
        Response::ViabilityEc50 => {
            series.curve = f.curve();
            series.potency = f.ec50;
            series.potency_level = (f.top + f.bottom) / 2.0;
            series.status = f.status.name().to_string();
        }
        Response::Gr => {
            series.curve = f.gr_curve;
            series.potency = f.gr50;
            series.qualifier = f.gr50_qualifier.map(bound_of);
            series.status = f.gr_status.map_or(String::new(), |s| s.name().to_string());
        }
        Response::Dip => {
            series.curve = f.dip_curve;
            series.potency = f.dip_ec50;
            series.potency_level = f.dip_curve.map_or(f64::NAN, |c| (c.top + c.bottom) / 2.0);
            series.status = f.dip_status.map_or(String::new(), |s| s.name().to_string());
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

/// The strongest shifts of one kind as dose-response panels of several lines (the report of a
/// large screen shows these instead of a thousand-panel grid per line).
#[derive(Debug, Clone)]
pub struct Highlights {
    /// `collateral sensitivity` or `cross-resistance`.
    pub what: String,
    /// The call shown (`collateral_sensitive` or `cross_resistant`).
    pub call: Call,
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
        if self.call == Call::CollateralSensitive {
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
            if self.call == Call::CollateralSensitive {
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
            self.call.name().replace('_', " "),
            if self.call == Call::CollateralSensitive {
                "most negative"
            } else {
                "most positive"
            },
            response_named(self.response),
            self.response.potency_name()
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn series(potency: f64, qualifier: Option<Bound>, status: &str) -> Series {
        Series {
            line: "R".into(),
            parental: false,
            points: vec![],
            means: vec![],
            curve: None,
            potency,
            qualifier,
            potency_level: 0.5,
            status: status.into(),
        }
    }

    #[test]
    fn potency_labels_show_censoring_and_missing_fits() {
        let (gt, lt, eq) = (Some(Bound::Greater), Some(Bound::Less), Some(Bound::Equal));
        assert_eq!(series(141.9088, gt, "ok").potency_label(), "> 142");
        assert_eq!(series(0.0386, lt, "ok").potency_label(), "< 0.0386");
        assert_eq!(series(1.9992, eq, "ok").potency_label(), "2.00");
        assert_eq!(
            series(f64::NAN, None, "insufficient_data").potency_label(),
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
