//! Figures of a run, drawn from its output files: dose-response panels, the
//! collateral-sensitivity heatmap, the drug network and plate QC maps.
//!
//! Every figure is drawn from [`RunData`] (the CSVs and JSON a run wrote), never from in-memory
//! pipeline state, so `collateral plot OUTDIR` redraws exactly what `collateral run` drew and
//! every number on a figure is one a user can find in the tables.

pub mod cluster;
pub mod data;
pub mod dose_response;
pub mod heatmap;
pub mod lineages;
pub mod marks;
pub mod network;
pub mod plan;
pub mod plate_map;
pub mod qc_overview;
pub mod style;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Location};
pub use data::RunData;

/// Image format of the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Scalable vector graphics (the default; inlined in `report.html`).
    #[default]
    Svg,
    /// PNG bitmap.
    Png,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

crate::words::words!(Format, "format", { Svg => "svg", Png => "png" });

/// What to draw and how big.
#[derive(Debug, Clone, Default)]
pub struct PlotOptions {
    /// Image format.
    pub format: Format,
    /// Width in pixels: of the heatmap and network figures, and of one panel of the
    /// dose-response grids and plate maps. `None`: sized to the content.
    pub width: Option<u32>,
    /// Height in pixels, as `width`.
    pub height: Option<u32>,
    /// Only these cell lines (resistant lines for the grids and heatmap rows); empty = all.
    pub lines: Vec<String>,
    /// Only these drugs; empty = all.
    pub drugs: Vec<String>,
}

impl PlotOptions {
    /// Whether a cell line is selected.
    pub(crate) fn wants_line(&self, line: &str) -> bool {
        self.lines.is_empty() || self.lines.iter().any(|l| l == line)
    }

    /// Whether a drug is selected.
    pub(crate) fn wants_drug(&self, drug: &str) -> bool {
        self.drugs.is_empty() || self.drugs.iter().any(|d| d == drug)
    }

    fn size_or(&self, default: (u32, u32)) -> (u32, u32) {
        (
            self.width.unwrap_or(default.0).max(100),
            self.height.unwrap_or(default.1).max(80),
        )
    }
}

/// One drawn figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Path relative to the output folder, e.g. `plots/heatmap.svg`.
    pub name: String,
    /// A one-sentence description for the report.
    pub caption: String,
    /// What it shows.
    pub kind: Kind,
    /// The encoded image (SVG text or PNG).
    pub bytes: Vec<u8>,
    /// What its cells, edges and points stand for, for the report's tooltips (empty for
    /// figures without such marks).
    pub marks: marks::Marks,
}

/// Something that draws itself on any plotters backend.
pub trait Draw {
    /// Draws on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;

    /// Draws as [`Draw::draw`] and notes what the marks drawn stand for (figures the report
    /// makes answer a pointer override this; the drawing is the same either way).
    fn draw_marked<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        marks: &mut marks::Marks,
    ) -> Result<(), String> {
        let _ = marks;
        self.draw(root)
    }
}

/// Turns a plotters error into a message.
pub(crate) fn plot_err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing failed: {e}")
}

/// Draws `figure` into an image of `size` pixels in `format`.
pub fn render(figure: &impl Draw, format: Format, size: (u32, u32)) -> Result<Vec<u8>, String> {
    render_marked(figure, format, size).map(|(bytes, _)| bytes)
}

/// Draws `figure` as [`render`] does, and returns what its marks stand for too.
pub(crate) fn render_marked(
    figure: &impl Draw,
    format: Format,
    size: (u32, u32),
) -> Result<(Vec<u8>, marks::Marks), String> {
    style::ensure_font()?;
    let mut marks = marks::Marks::default();
    match format {
        Format::Svg => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err)?;
                figure.draw_marked(&root, &mut marks)?;
                root.present().map_err(plot_err)?;
            }
            Ok((text.into_bytes(), marks))
        }
        Format::Png => {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err)?;
                figure.draw_marked(&root, &mut marks)?;
                root.present().map_err(plot_err)?;
            }
            let mut png = Vec::new();
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut png),
                &rgb,
                size.0,
                size.1,
                image::ColorType::Rgb8,
            )
            .map_err(plot_err)?;
            Ok((png, marks))
        }
    }
}

/// A name safe as a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// File stems for names, made unique (case-insensitively, for case-insensitive file systems)
/// by a `-2`, `-3`, … suffix when two names sanitize to the same stem.
pub(crate) fn unique_stems<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut used = std::collections::HashSet::new();
    names
        .map(|n| {
            let base = file_stem(n);
            let mut stem = base.clone();
            let mut k = 2;
            while !used.insert(stem.to_lowercase()) {
                stem = format!("{base}-{k}");
                k += 1;
            }
            stem
        })
        .collect()
}

/// Up to this many curves (selected `fits.csv` rows) a run's report shows everything.
pub const FULL_REPORT_MAX_CURVES: usize = 2_000;
/// Up to this many plates (in `wells.csv`) a run's report shows everything.
pub const FULL_REPORT_MAX_PLATES: usize = 200;

/// How much of a run the report carries inline. Every figure file is drawn either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// A screen up to [`FULL_REPORT_MAX_CURVES`] curves and [`FULL_REPORT_MAX_PLATES`] plates:
    /// every table whole, the first grids, overviews and plate maps inline.
    Full,
    /// A larger screen: overviews, the strongest shifts as panels ([`Kind::Highlights`]),
    /// capped tables, and links to every other figure and table.
    Summary,
}

impl ReportMode {
    /// The mode of a run's report for this selection.
    pub fn of(data: &RunData, options: &PlotOptions) -> ReportMode {
        let curves = data
            .fits
            .iter()
            .filter(|f| options.wants_line(&f.cell_line) && options.wants_drug(&f.drug))
            .count();
        if curves > FULL_REPORT_MAX_CURVES || data.plates.all().len() > FULL_REPORT_MAX_PLATES {
            ReportMode::Summary
        } else {
            ReportMode::Full
        }
    }
}

/// What a figure shows, for the report to place it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `plots/heatmap.*`: the whole matrix.
    Heatmap,
    /// `plots/heatmap_top.*`: the labelled view of a raster heatmap's strongest drugs.
    HeatmapTop,
    /// `plots/network.*`.
    Network,
    /// `plots/qc.*`: Z′ of every QC unit.
    QcOverview,
    /// `plots/strongest_cs.*`, `plots/strongest_cr.*` (summary mode only).
    Highlights,
    /// `plots/dose_response/<line>.*`.
    Grid,
    /// `plots/drugs/<drug>.*`.
    DrugOverview,
    /// `plots/plates/<plate>.*`.
    PlateMap,
    /// `plots/likelihood.*`: CS and CR likelihood over lineages.
    Likelihood,
    /// `plots/trajectories/<lineage>.*`.
    Trajectory,
    /// `plots/plan.*`: the best therapy sequences (runs with `[plan]`).
    Plan,
}

/// Draws every figure of a run and hands each to `sink` as it is done, in a fixed order: the
/// QC overview, the heatmap (and its labelled top view), the network and the likelihood map
/// (when a drug pair has several lineages) when the run compared lines, one trajectory grid per
/// lineage when lines were sampled in time, the highlights in summary mode, one dose-response grid per resistant line (per cell
/// line without a lines table), one all-lines overview per drug and one QC map per plate.
/// Names are relative to the output folder, under `plots/`.
///
/// Figures are drawn in parallel a few at a time and handed over in order, so the output does
/// not depend on the thread count and a screen's thousands of figures are never all in memory.
pub(crate) fn draw_all(
    data: &RunData,
    options: &PlotOptions,
    sink: &mut dyn FnMut(Figure) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    let failed = |m: String| Error::input(Location::file(data.dir.join("plots")), m);
    let ext = options.format.extension();
    let qc = qc_overview::QcOverview::new(data);
    sink(Figure {
        name: format!("plots/qc.{ext}"),
        caption: qc.caption(),
        kind: Kind::QcOverview,
        bytes: render(&qc, options.format, options.size_or(qc.size())).map_err(failed)?,
        marks: marks::Marks::default(),
    })?;
    if data.compared {
        draw_comparison(data, options, sink, &failed)?;
    }
    draw_trajectories(data, options, sink, &failed)?;
    let curves = dose_response::Curves::new(data, options);
    if ReportMode::of(data, options) == ReportMode::Summary {
        let panel = options.size_or(dose_response::PANEL_SIZE);
        for h in curves.highlights() {
            let (bytes, marks) =
                render_marked(&h, options.format, h.size(panel)).map_err(failed)?;
            sink(Figure {
                name: format!("plots/{}.{ext}", h.stem()),
                caption: h.caption(),
                kind: Kind::Highlights,
                bytes,
                marks,
            })?;
        }
    }
    // Grids, overviews and plate maps are many and independent: drawn in parallel.
    draw_grids(&curves, options, sink, &failed)?;
    draw_drug_overviews(&curves, options, sink, &failed)?;
    draw_plate_maps(data, options, sink, &failed)
}

/// What hands a drawn figure on.
type Sink<'a> = dyn FnMut(Figure) -> crate::error::Result<()> + 'a;

/// The figures of a run that compared lines: the heatmap (and its labelled top view), the
/// network, the plan when there is one, and the likelihood map (when a drug pair has several
/// lineages).
fn draw_comparison(
    data: &RunData,
    options: &PlotOptions,
    sink: &mut Sink<'_>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let ext = options.format.extension();
    let hm = heatmap::Heatmap::new(data, options);
    if !hm.rows.is_empty() && !hm.drugs.is_empty() {
        let size = options.size_or(hm.size());
        let bytes = match options.format {
            Format::Svg => hm.render_svg(size),
            Format::Png => render(&hm, Format::Png, size),
        };
        sink(Figure {
            name: format!("plots/heatmap.{ext}"),
            caption: hm.caption(),
            kind: Kind::Heatmap,
            bytes: bytes.map_err(failed)?,
            marks: hm.marks(size),
        })?;
        if let Some(top) = hm.top() {
            sink(Figure {
                name: format!("plots/heatmap_top.{ext}"),
                caption: top.caption(),
                kind: Kind::HeatmapTop,
                bytes: render(&top, options.format, top.size()).map_err(failed)?,
                marks: top.marks(top.size()),
            })?;
        }
    }
    let net = network::Network::new(data, options);
    sink(Figure {
        name: format!("plots/network.{ext}"),
        caption: net.caption(),
        kind: Kind::Network,
        bytes: render(&net, options.format, options.size_or(net.size())).map_err(failed)?,
        marks: net.marks(options.size_or(net.size())),
    })?;
    let plan_csv = data.dir.join("plan.csv");
    if crate::table::parquet::table_exists(&plan_csv) {
        let figure = plan::PlanFigure::read(&plan_csv)?;
        sink(Figure {
            name: format!("plots/plan.{ext}"),
            caption: figure.caption(),
            kind: Kind::Plan,
            bytes: render(&figure, options.format, figure.size()).map_err(failed)?,
            marks: marks::Marks::default(),
        })?;
    }
    if let Some(map) = lineages::LikelihoodMap::new(data) {
        sink(Figure {
            name: format!("plots/likelihood.{ext}"),
            caption: map.caption(),
            kind: Kind::Likelihood,
            bytes: render(&map, options.format, map.size()).map_err(failed)?,
            marks: marks::Marks::default(),
        })?;
    }
    Ok(())
}

/// One trajectory grid per lineage, when lines were sampled in time.
fn draw_trajectories(
    data: &RunData,
    options: &PlotOptions,
    sink: &mut Sink<'_>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let ext = options.format.extension();
    let trajectories = lineages::lineages(data);
    let stems = unique_stems(trajectories.iter().map(|t| t.lineage));
    let panel = options.size_or(lineages::PANEL_SIZE);
    in_batches(
        &trajectories.iter().zip(&stems).collect::<Vec<_>>(),
        2 * rayon::current_num_threads(),
        |&(t, stem)| {
            Ok(Some(Figure {
                name: format!("plots/trajectories/{stem}.{ext}"),
                caption: t.caption(),
                kind: Kind::Trajectory,
                bytes: render(t, options.format, t.size(panel))?,
                marks: marks::Marks::default(),
            }))
        },
        sink,
        failed,
    )
}

/// One dose-response grid per resistant line (per cell line without a lines table). A line
/// without a fitted drug gets no grid, and no stem: stems are unique among grids.
fn draw_grids(
    curves: &dose_response::Curves,
    options: &PlotOptions,
    sink: &mut Sink<'_>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let ext = options.format.extension();
    let panel = options.size_or(dose_response::PANEL_SIZE);
    let lines: Vec<&(String, Option<String>)> = curves
        .lines()
        .iter()
        .filter(|(l, _)| curves.has_panels(l))
        .collect();
    let stems = unique_stems(lines.iter().map(|(l, _)| l.as_str()));
    in_batches(
        &lines.iter().zip(&stems).collect::<Vec<_>>(),
        2 * rayon::current_num_threads(),
        |&(&(line, parental), stem)| {
            let Some(grid) = curves.grid(line, parental.as_deref()) else {
                return Ok(None);
            };
            let (bytes, marks) = render_marked(&grid, options.format, grid.size(panel))?;
            Ok(Some(Figure {
                name: format!("plots/dose_response/{stem}.{ext}"),
                caption: grid.caption(),
                kind: Kind::Grid,
                bytes,
                marks,
            }))
        },
        sink,
        failed,
    )
}

/// One all-lines overview per drug.
fn draw_drug_overviews(
    curves: &dose_response::Curves,
    options: &PlotOptions,
    sink: &mut Sink<'_>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let ext = options.format.extension();
    let drugs = curves.overview_drugs();
    let stems = unique_stems(drugs.iter().map(String::as_str));
    in_batches(
        &drugs.iter().zip(&stems).collect::<Vec<_>>(),
        16 * rayon::current_num_threads(),
        |&(drug, stem)| {
            let overview = curves.overview(drug);
            Ok(Some(Figure {
                name: format!("plots/drugs/{stem}.{ext}"),
                caption: overview.caption(),
                kind: Kind::DrugOverview,
                bytes: render(&overview, options.format, options.size_or(overview.size()))?,
                marks: marks::Marks::default(),
            }))
        },
        sink,
        failed,
    )
}

/// One QC map per plate.
fn draw_plate_maps(
    data: &RunData,
    options: &PlotOptions,
    sink: &mut Sink<'_>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let ext = options.format.extension();
    let plates = plate_map::PlateIndex::new(data);
    let stems = unique_stems(plates.plates().iter().map(String::as_str));
    in_batches(
        &stems.iter().enumerate().collect::<Vec<_>>(),
        16 * rayon::current_num_threads(),
        |&(k, stem)| {
            let map = plates.map(k);
            let panel = options.size_or(map.panel_size());
            Ok(Some(Figure {
                name: format!("plots/plates/{stem}.{ext}"),
                caption: map.caption(),
                kind: Kind::PlateMap,
                bytes: render(&map, options.format, map.size(panel))?,
                marks: marks::Marks::default(),
            }))
        },
        sink,
        failed,
    )
}

/// Draws `items` in parallel, `batch` at a time, and hands the figures to `sink` in item
/// order: the order is fixed whatever the threads do, and at most two batches of drawn figures
/// wait in memory. The calling thread hands over one batch while the pool draws the next, so
/// writing thousands of files overlaps the drawing instead of following it.
fn in_batches<T: Sync>(
    items: &[T],
    batch: usize,
    draw: impl Fn(&T) -> Result<Option<Figure>, String> + Sync,
    sink: &mut dyn FnMut(Figure) -> crate::error::Result<()>,
    failed: &dyn Fn(String) -> Error,
) -> crate::error::Result<()> {
    let draw = &draw;
    let mut pending: Vec<Figure> = Vec::new();
    for part in items.chunks(batch.max(1)) {
        let mut next: Result<Vec<Option<Figure>>, String> = Ok(Vec::new());
        let mut handed = Ok(());
        rayon::in_place_scope(|scope| {
            let next = &mut next;
            scope.spawn(move |_| *next = part.par_iter().map(draw).collect());
            handed = pending.drain(..).try_for_each(&mut *sink);
        });
        handed?;
        pending = next.map_err(failed)?.into_iter().flatten().collect();
    }
    pending.into_iter().try_for_each(sink)
}

/// Standard base64 with padding (PNG images inside SVG and HTML).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn file_stems_are_safe_and_unique() {
        assert_eq!(file_stem("KME1_in_TET"), "KME1_in_TET");
        assert_eq!(file_stem("A/B c"), "A_B_c");
        assert_eq!(file_stem("..x"), "_..x");
        assert_eq!(
            unique_stems(["A/B", "A_B", "a_b", "C"].into_iter()),
            vec!["A_B", "A_B-2", "a_b-3", "C"]
        );
    }
}
