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
pub mod network;
pub mod plate_map;
pub mod style;

use std::str::FromStr;

use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;

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

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "svg" => Ok(Format::Svg),
            "png" => Ok(Format::Png),
            _ => Err(format!("unknown format `{s}` (expected svg or png)")),
        }
    }
}

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
    pub fn wants_line(&self, line: &str) -> bool {
        self.lines.is_empty() || self.lines.iter().any(|l| l == line)
    }

    /// Whether a drug is selected.
    pub fn wants_drug(&self, drug: &str) -> bool {
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
    /// The encoded image (SVG text or PNG).
    pub bytes: Vec<u8>,
}

/// Something that draws itself on any plotters backend.
pub trait Draw {
    /// Draws on `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Turns a plotters error into a message.
pub(crate) fn plot_err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing failed: {e}")
}

/// Draws `figure` into an image of `size` pixels in `format`.
pub fn render(figure: &impl Draw, format: Format, size: (u32, u32)) -> Result<Vec<u8>, String> {
    style::ensure_font()?;
    match format {
        Format::Svg => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err)?;
                figure.draw(&root)?;
                root.present().map_err(plot_err)?;
            }
            Ok(text.into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err)?;
                figure.draw(&root)?;
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
            Ok(png)
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
pub fn unique_stems<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
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

/// Draws every figure of a run: the heatmap and network (when the run compared lines), one
/// dose-response grid per resistant line (per cell line without a lines table), one all-lines
/// overview per drug and one QC map per plate. Names are relative to the output folder, under `plots/`.
pub fn draw_all(data: &RunData, options: &PlotOptions) -> Result<Vec<Figure>, String> {
    let ext = options.format.extension();
    let mut out = Vec::new();
    if data.compared {
        let hm = heatmap::Heatmap::new(data, options);
        if !hm.rows.is_empty() && !hm.drugs.is_empty() {
            out.push(Figure {
                name: format!("plots/heatmap.{ext}"),
                caption: hm.caption(),
                bytes: render(&hm, options.format, options.size_or(hm.size()))?,
            });
        }
        let net = network::Network::new(data, options);
        out.push(Figure {
            name: format!("plots/network.{ext}"),
            caption: net.caption(),
            bytes: render(&net, options.format, options.size_or(net.size()))?,
        });
    }
    // Grids and plate maps are many and independent: draw them in parallel, keeping order.
    let grids = dose_response::grids(data, options);
    let panel = options.size_or(dose_response::PANEL_SIZE);
    let stems = unique_stems(grids.iter().map(|g| g.line.as_str()));
    let drawn: Vec<Figure> = grids
        .par_iter()
        .zip(&stems)
        .map(|(grid, stem)| {
            Ok(Figure {
                name: format!("plots/dose_response/{stem}.{ext}"),
                caption: grid.caption(),
                bytes: render(grid, options.format, grid.size(panel))?,
            })
        })
        .collect::<Result<_, String>>()?;
    out.extend(drawn);
    let overviews = dose_response::drug_overviews(data, options);
    let stems = unique_stems(overviews.iter().map(|o| o.drug.as_str()));
    let drawn: Vec<Figure> = overviews
        .par_iter()
        .zip(&stems)
        .map(|(overview, stem)| {
            Ok(Figure {
                name: format!("plots/drugs/{stem}.{ext}"),
                caption: overview.caption(),
                bytes: render(overview, options.format, options.size_or(overview.size()))?,
            })
        })
        .collect::<Result<_, String>>()?;
    out.extend(drawn);
    let maps = plate_map::maps(data);
    let stems = unique_stems(maps.iter().map(|m| m.plate.as_str()));
    let drawn: Vec<Figure> = maps
        .par_iter()
        .zip(&stems)
        .map(|(map, stem)| {
            let panel = options.size_or(map.panel_size());
            Ok(Figure {
                name: format!("plots/plates/{stem}.{ext}"),
                caption: map.caption(),
                bytes: render(map, options.format, map.size(panel))?,
            })
        })
        .collect::<Result<_, String>>()?;
    out.extend(drawn);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
