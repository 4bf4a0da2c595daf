//! The QC overview: Z′ of every QC unit in `qc.csv` order, coloured by verdict, beside its
//! distribution, with the warn and fail levels of the run's settings. One figure for any number
//! of plates: a reader sees at a glance whether a batch is sound and where it is not, which a
//! table of thousands of rows or thousands of plate maps cannot show.

use std::collections::BTreeSet;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::RunData;
use super::style::{short_number, FONT};
use super::{plot_err, Draw};
use crate::qc::Verdict;

/// Colour of units that passed.
pub(crate) const PASS: RGBColor = RGBColor(0, 140, 100);
/// Colour of units with a warning.
pub(crate) const WARN: RGBColor = RGBColor(230, 159, 0);
/// Colour of units that failed.
pub(crate) const FAIL: RGBColor = RGBColor(213, 0, 0);
/// Z′ below this is drawn at it (a failed plate can have Z′ of −50).
pub(crate) const Z_FLOOR: f64 = -1.0;
/// Bins of the distribution.
const BINS: usize = 40;

/// One QC unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Plate.
    pub plate: String,
    /// Z′ (NaN when it could not be computed).
    pub z_prime: f64,
    /// `pass`, `warn` or `fail`.
    pub verdict: Verdict,
}

/// The overview's data.
#[derive(Debug, Clone)]
pub(crate) struct QcOverview {
    /// Unit rows of `qc.csv`, in file order.
    pub units: Vec<Unit>,
    /// Plates with at least one unit.
    pub plates: usize,
    /// Plates left out by `--keep-going` (their `qc.csv` row has no cell line and no Z′).
    pub skipped: usize,
    /// `qc.z_prime_warn` of the run (NaN when absent).
    pub(crate) warn_level: f64,
    /// `qc.z_prime_fail` of the run (NaN when absent).
    pub(crate) fail_level: f64,
}

impl QcOverview {
    /// The overview of a run's `qc.csv` and QC settings.
    pub fn new(data: &RunData) -> QcOverview {
        let units: Vec<Unit> = data
            .qc_units()
            .map(|q| Unit {
                plate: q.plate.clone(),
                z_prime: q.z_prime,
                verdict: q.verdict,
            })
            .collect();
        let plates = units
            .iter()
            .map(|u| u.plate.as_str())
            .collect::<BTreeSet<_>>()
            .len();
        let with_units: BTreeSet<&str> = units.iter().map(|u| u.plate.as_str()).collect();
        let skipped = data
            .qc
            .iter()
            .filter(|q| q.cell_line.is_empty() && !with_units.contains(q.plate.as_str()))
            .map(|q| q.plate.as_str())
            .collect::<BTreeSet<_>>()
            .len();
        let (warn_level, fail_level) = data.z_prime_levels();
        QcOverview {
            units,
            plates,
            skipped,
            warn_level,
            fail_level,
        }
    }

    /// Units with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.units.iter().filter(|u| u.verdict == verdict).count()
    }

    /// The median Z′ of the units that have one.
    pub fn median(&self) -> f64 {
        let mut z: Vec<f64> = self
            .units
            .iter()
            .map(|u| u.z_prime)
            .filter(|z| z.is_finite())
            .collect();
        if z.is_empty() {
            return f64::NAN;
        }
        z.sort_by(f64::total_cmp);
        let m = z.len() / 2;
        if z.len() % 2 == 1 {
            z[m]
        } else {
            (z[m - 1] + z[m]) / 2.0
        }
    }

    /// Size that fits the content.
    pub fn size(&self) -> (u32, u32) {
        (1000, 380)
    }

    fn title(&self) -> String {
        format!(
            "Plate QC: {} units on {} plates: {} pass, {} warn, {} fail; median Z′ {}",
            self.units.len(),
            self.plates,
            self.count(Verdict::Pass),
            self.count(Verdict::Warn),
            self.count(Verdict::Fail),
            short_number(self.median())
        )
    }

    /// A sentence for the report.
    pub fn caption(&self) -> String {
        let skipped = if self.skipped > 0 {
            format!(
                " {} plate(s) left out by --keep-going are not drawn.",
                self.skipped
            )
        } else {
            String::new()
        };
        format!(
            "{}. Left: Z′ of every QC unit (plate, cell line, replicate) in qc.csv order, green pass, orange warn, red fail; dashed lines at the warn ({}) and fail ({}) levels; Z′ below {Z_FLOOR} drawn at {Z_FLOOR}, units without a Z′ as crosses at the bottom. Right: how many units fall in each Z′ band.{skipped}",
            self.title(),
            short_number(self.warn_level),
            short_number(self.fail_level)
        )
    }
}

fn verdict_colour(verdict: Verdict) -> RGBColor {
    match verdict {
        Verdict::Pass => PASS,
        Verdict::Warn => WARN,
        Verdict::Fail => FAIL,
    }
}

impl Draw for QcOverview {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (w, _) = root.dim_in_pixel();
        root.draw(&Text::new(
            self.title(),
            (10, 8),
            (FONT, 18).into_font().color(&BLACK),
        ))
        .map_err(plot_err)?;
        let (_, body) = root.split_vertically(34);
        let (left, right) = body.split_horizontally(w * 7 / 10);
        let y_range = (self.z_floor(), 1.0);
        self.draw_units(&left, y_range)?;
        self.draw_distribution(&right, y_range)
    }
}

impl QcOverview {
    /// The bottom of the Z′ axis: below the lowest Z′ (floored) and the fail level.
    fn z_floor(&self) -> f64 {
        let low = self
            .units
            .iter()
            .map(|u| u.z_prime)
            .filter(|z| z.is_finite())
            .fold(f64::INFINITY, f64::min);
        let y_lo = if low.is_finite() {
            (low.max(Z_FLOOR) - 0.1).max(Z_FLOOR - 0.1)
        } else {
            Z_FLOOR - 0.1
        };
        y_lo.min(self.fail_level.min(0.0) - 0.1)
    }

    /// Z′ of every unit in qc.csv order, coloured by verdict, with the warn and fail levels.
    fn draw_units<DB: DrawingBackend>(
        &self,
        left: &DrawingArea<DB, Shift>,
        (y_lo, y_hi): (f64, f64),
    ) -> Result<(), String> {
        let n = self.units.len().max(1);
        let mut chart = ChartBuilder::on(left)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..(n as f64 + 1.0), y_lo..y_hi)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{}", x.round() as i64))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .x_desc("QC unit (qc.csv order)")
            .y_desc("Z′")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        for (level, colour) in [(self.warn_level, WARN), (self.fail_level, FAIL)] {
            if level.is_finite() && level > y_lo && level < y_hi {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(0.0, level), (n as f64 + 1.0, level)],
                        6,
                        4,
                        colour.stroke_width(1),
                    ))
                    .map_err(plot_err)?;
            }
        }
        // Thousands of units share pixels: each (pixel, verdict) is drawn once, so the figure
        // stays small however large the batch; the first unit of a pixel stands for it.
        let mut drawn = BTreeSet::new();
        let mut points: Vec<(f64, f64, RGBColor, bool)> = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            let x = i as f64 + 1.0;
            let missing = !u.z_prime.is_finite();
            let y = if missing {
                y_lo + 0.04
            } else {
                u.z_prime.max(Z_FLOOR)
            };
            let pixel = chart.backend_coord(&(x, y));
            if drawn.insert((pixel, u.verdict as u8, missing)) {
                points.push((x, y, verdict_colour(u.verdict), missing));
            }
        }
        // Passing units first, so a failure is never hidden under them.
        for pass in [true, false] {
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| (p.2 == PASS) == pass && !p.3)
                        .map(|&(x, y, c, _)| Circle::new((x, y), 2, c.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.3)
                    .map(|&(x, y, c, _)| Cross::new((x, y), 3, c.stroke_width(1))),
            )
            .map_err(plot_err)?;
        Ok(())
    }

    /// Units per Z′ band, by verdict: (pass, warn, fail) per band of the axis.
    fn z_bands(&self, y_lo: f64, width: f64) -> Vec<[usize; 3]> {
        let mut bins = vec![[0usize; 3]; BINS];
        for u in &self.units {
            if !u.z_prime.is_finite() {
                continue;
            }
            let z = u.z_prime.max(Z_FLOOR);
            let b = (((z - y_lo) / width).floor() as usize).min(BINS - 1);
            let k = match u.verdict {
                Verdict::Pass => 0,
                Verdict::Warn => 1,
                Verdict::Fail => 2,
            };
            bins[b][k] += 1;
        }
        bins
    }

    /// The distribution: units per Z′ band, stacked by verdict, on the same Z′ axis.
    fn draw_distribution<DB: DrawingBackend>(
        &self,
        right: &DrawingArea<DB, Shift>,
        (y_lo, y_hi): (f64, f64),
    ) -> Result<(), String> {
        let width = (y_hi - y_lo) / BINS as f64;
        let bins = self.z_bands(y_lo, width);
        let most = bins
            .iter()
            .map(|b| b.iter().sum::<usize>())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut hist = ChartBuilder::on(right)
            .margin(8)
            .margin_right(20)
            .x_label_area_size(36)
            .y_label_area_size(10)
            .build_cartesian_2d(0f64..most as f64 * 1.05, y_lo..y_hi)
            .map_err(plot_err)?;
        hist.configure_mesh()
            .x_labels(4)
            .y_labels(0)
            // Counts are whole: a tick between two integers gets no label.
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            })
            .x_desc("units")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        if !self.units.iter().any(|u| u.z_prime.is_finite()) {
            right
                .draw(&Text::new(
                    "no unit has a Z′",
                    (20, 40),
                    (FONT, 13).into_font().color(&BLACK),
                ))
                .map_err(plot_err)?;
        }
        for (b, counts) in bins.iter().enumerate() {
            let (y0, y1) = (y_lo + width * b as f64, y_lo + width * (b + 1) as f64);
            let mut x0 = 0.0;
            for (k, colour) in [PASS, WARN, FAIL].iter().enumerate() {
                if counts[k] == 0 {
                    continue;
                }
                let x1 = x0 + counts[k] as f64;
                hist.draw_series([Rectangle::new([(x0, y0), (x1, y1)], colour.filled())])
                    .map_err(plot_err)?;
                x0 = x1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overview(z: &[f64]) -> QcOverview {
        QcOverview {
            units: z
                .iter()
                .enumerate()
                .map(|(i, &z)| Unit {
                    plate: format!("p{i}"),
                    z_prime: z,
                    verdict: Verdict::Pass,
                })
                .collect(),
            plates: z.len(),
            skipped: 0,
            warn_level: 0.5,
            fail_level: 0.0,
        }
    }

    #[test]
    fn median_skips_missing_values() {
        assert_eq!(overview(&[0.2, f64::NAN, 0.8, 0.6]).median(), 0.6);
        assert_eq!(overview(&[0.2, 0.8]).median(), 0.5);
        assert!(overview(&[f64::NAN]).median().is_nan());
    }
}
