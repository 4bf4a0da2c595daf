//! The assay file (TOML): what a user writes to describe a screen.
//!
//! The file is parsed once into a checked [`Assay`] (paths resolved relative to the assay file,
//! every setting validated), so nothing downstream re-checks settings. Unknown keys are errors
//! that name the key, its line and the nearest valid key, because a misspelt threshold that is
//! silently ignored is worse than a failed run.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("assay.toml");
//! std::fs::write(&path, r#"
//! name = "my screen"
//! concentration_unit = "uM"
//! wells = "wells.csv"
//! lines = "lines.csv"
//! [qc]
//! z_prime_warn = 0.4
//! "#).unwrap();
//! let assay = collateral::assay::Assay::from_file(&path).unwrap();
//! assert_eq!(assay.settings.qc.z_prime_warn, 0.4);
//! assert_eq!(assay.wells.as_deref(), Some(dir.path().join("wells.csv").as_path()));
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{did_you_mean, Error, Location, Problem, Result};
use crate::plate::PlateFormat;

/// Concentration units we recognise; others are accepted with a warning.
pub const KNOWN_UNITS: [&str; 16] = [
    "M", "mM", "uM", "µM", "nM", "pM", "fM", "g/L", "mg/L", "ug/L", "mg/mL", "ug/mL", "µg/mL",
    "ng/mL", "%", "x",
];

/// Keys of the top level and of each section, for the unknown-key check.
const TOP_KEYS: [&str; 10] = [
    "name",
    "concentration_unit",
    "wells",
    "plates",
    "lines",
    "plate_size",
    "qc",
    "normalize",
    "fit",
    "shift",
];
const QC_KEYS: [&str; 7] = [
    "z_prime_fail",
    "z_prime_warn",
    "cv_vehicle_warn",
    "signal_to_background_warn",
    "min_vehicle_wells",
    "exclude_failed",
    "spatial_threshold",
];
/// Keys of each `[[plates]]` entry.
pub const PLATES_KEYS: [&str; 7] = [
    "file",
    "layout",
    "plate",
    "cell_line",
    "read",
    "replicate",
    "format",
];
const NORMALIZE_KEYS: [&str; 3] = ["controls", "blank_fallback", "spatial_check"];
const FIT_KEYS: [&str; 10] = [
    "model",
    "plateaus",
    "robust",
    "hill_bounds",
    "ec50_margin_decades",
    "top_bounds",
    "bottom_bounds",
    "flat_alpha",
    "ci_level",
    "outlier_threshold",
];
const SHIFT_KEYS: [&str; 6] = [
    "metric",
    "tau",
    "alpha",
    "rule",
    "per_replicate",
    "max_cycle_length",
];

/// How control wells are summarised into one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlCenter {
    /// Arithmetic mean (DESIGN.md's definition; the default).
    Mean,
    /// Median: robust to a single bad control well.
    Median,
}

/// What to do for a plate and cell line that has no blank wells at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlankFallback {
    /// Take the background as 0 (the signal is assumed background-subtracted) and warn.
    Zero,
    /// Stop the run with an error.
    Error,
}

/// Plate QC thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QcSettings {
    /// Verdict `fail` below this Z′.
    pub z_prime_fail: f64,
    /// Verdict `warn` below this Z′.
    pub z_prime_warn: f64,
    /// Verdict `warn` above this coefficient of variation of the vehicle wells (a fraction).
    pub cv_vehicle_warn: f64,
    /// Verdict `warn` below this ratio of vehicle to blank signal.
    pub signal_to_background_warn: f64,
    /// Verdict `fail` with fewer vehicle wells than this carrying a numeric signal.
    pub min_vehicle_wells: usize,
    /// Leave the wells of failed plates out of everything downstream (they stay in `wells.csv`).
    pub exclude_failed: bool,
    /// Smallest spatial trend in the vehicle wells (as a fraction of their level) worth a warning.
    pub spatial_threshold: f64,
}

impl Default for QcSettings {
    fn default() -> Self {
        QcSettings {
            z_prime_fail: 0.0,
            z_prime_warn: 0.5,
            cv_vehicle_warn: 0.2,
            signal_to_background_warn: 2.0,
            min_vehicle_wells: 2,
            exclude_failed: true,
            spatial_threshold: 0.1,
        }
    }
}

/// Normalization choices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeSettings {
    /// How vehicle and blank wells are summarised.
    pub controls: ControlCenter,
    /// What to do when a plate has no blank wells.
    pub blank_fallback: BlankFallback,
    /// Test the vehicle wells for edge, row and column trends (reported, never corrected).
    pub spatial_check: bool,
}

impl Default for NormalizeSettings {
    fn default() -> Self {
        NormalizeSettings {
            controls: ControlCenter::Mean,
            blank_fallback: BlankFallback::Zero,
            spatial_check: true,
        }
    }
}

/// Fitting settings as written in the assay file; checked into a fit configuration by
/// [`crate::fit::FitSettings`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitKeys {
    /// `ll4` (all free), `ll3` (top = 1) or `ll2` (top = 1, bottom = 0).
    pub model: String,
    /// `free` or `observed` (plateaus fixed at the observed extremes, Dhawan 2017).
    pub plateaus: String,
    /// `none`, `huber` or `cauchy`.
    pub robust: String,
    /// Bounds of the Hill slope.
    pub hill_bounds: [f64; 2],
    /// How far beyond the tested range (decades) ec50 may lie.
    pub ec50_margin_decades: f64,
    /// Bounds of a free top.
    pub top_bounds: [f64; 2],
    /// Bounds of a free bottom.
    pub bottom_bounds: [f64; 2],
    /// A curve is `flat` when the F-test against a constant has p above this.
    pub flat_alpha: f64,
    /// Confidence level of the intervals.
    pub ci_level: f64,
    /// Robust fits flag points beyond this many robust SDs.
    pub outlier_threshold: f64,
}

impl Default for FitKeys {
    fn default() -> Self {
        FitKeys {
            model: "ll4".into(),
            plateaus: "free".into(),
            robust: "none".into(),
            hill_bounds: [0.05, 10.0],
            ec50_margin_decades: 2.0,
            top_bounds: [0.0, 2.0],
            bottom_bounds: [0.0, 1.5],
            flat_alpha: 0.05,
            ci_level: 0.95,
            outlier_threshold: 3.0,
        }
    }
}

impl FitKeys {
    /// The fitting settings these keys name; on a bad value, the key and a message.
    pub fn to_settings(
        &self,
    ) -> std::result::Result<crate::fit::FitSettings, (&'static str, String)> {
        let model = self
            .model
            .parse()
            .map_err(|e: String| ("model", format!("`fit.model`: {e}")))?;
        let plateaus = self
            .plateaus
            .parse()
            .map_err(|e: String| ("plateaus", format!("`fit.plateaus`: {e}")))?;
        let robust = self
            .robust
            .parse()
            .map_err(|e: String| ("robust", format!("`fit.robust`: {e}")))?;
        Ok(crate::fit::FitSettings {
            model,
            plateaus,
            robust,
            hill_bounds: (self.hill_bounds[0], self.hill_bounds[1]),
            ec50_margin_decades: self.ec50_margin_decades,
            top_bounds: (self.top_bounds[0], self.top_bounds[1]),
            bottom_bounds: (self.bottom_bounds[0], self.bottom_bounds[1]),
            flat_alpha: self.flat_alpha,
            ci_level: self.ci_level,
            outlier_threshold: self.outlier_threshold,
            ..Default::default()
        })
    }
}

/// All settings of a run, checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Settings {
    /// Plate QC.
    pub qc: QcSettings,
    /// Normalization.
    pub normalize: NormalizeSettings,
    /// Curve fitting.
    pub fit: FitKeys,
    /// Shifts and calls.
    pub shift: crate::shift::ShiftSettings,
}

/// The assay file as written (before checking).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssay {
    name: String,
    concentration_unit: String,
    wells: Option<PathBuf>,
    #[serde(default)]
    plates: Vec<RawPlate>,
    lines: Option<PathBuf>,
    plate_size: Option<u32>,
    #[serde(default)]
    qc: QcSettings,
    #[serde(default)]
    normalize: NormalizeSettings,
    #[serde(default)]
    fit: FitKeys,
    #[serde(default)]
    shift: crate::shift::ShiftSettings,
}

/// One `[[plates]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlate {
    file: String,
    layout: PathBuf,
    plate: Option<String>,
    cell_line: Option<String>,
    read: Option<String>,
    replicate: Option<String>,
    format: Option<String>,
}

/// One plate file of the `[[plates]]` form, with its layout (paths resolved; `file` may be a
/// glob pattern matching several files, each one plate).
#[derive(Debug, Clone, PartialEq)]
pub struct PlateEntry {
    /// The plate file, or a glob pattern (`reads/*.csv`).
    pub file: PathBuf,
    /// The layout file.
    pub layout: PathBuf,
    /// Plate identifier; default: the file name without extension.
    pub plate: Option<String>,
    /// Cell line of every well the layout gives none.
    pub cell_line: Option<String>,
    /// Which read / wavelength / block is the signal.
    pub read: Option<String>,
    /// Replicate label of every well of the plate.
    pub replicate: Option<String>,
    /// Forced export format (see `crate::read::vendor::FORMAT_NAMES`); detected when `None`.
    pub format: Option<crate::read::Format>,
    /// Line of the entry in the assay file.
    pub line: Option<u64>,
}

/// A checked assay: paths resolved, settings validated.
#[derive(Debug, Clone)]
pub struct Assay {
    /// The assay file itself.
    pub path: PathBuf,
    /// Name of the screen.
    pub name: String,
    /// Unit of every concentration in the inputs.
    pub concentration_unit: String,
    /// The tidy wells table (exactly one of `wells` and `plates` is given).
    pub wells: Option<PathBuf>,
    /// Plate files with layouts, the other form of an assay.
    pub plates: Vec<PlateEntry>,
    /// The lines table (which line is resistant to what).
    pub lines: Option<PathBuf>,
    /// Declared plate format for every plate, if given.
    pub plate_format: Option<PlateFormat>,
    /// Settings for QC, normalization, fitting and shifts, as written (with defaults).
    pub settings: Settings,
    /// The checked fitting configuration built from `settings.fit`.
    pub fit_config: crate::fit::FitConfig,
    /// Things worth telling the user that do not stop the run.
    pub warnings: Vec<Problem>,
}

impl Assay {
    /// Reads and checks an assay file.
    pub fn from_file(path: &Path) -> Result<Assay> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        Self::from_str(&text, path)
    }

    /// Checks assay text as if read from `path` (paths resolve relative to its folder).
    pub fn from_str(text: &str, path: &Path) -> Result<Assay> {
        let loc = Location::file(path);
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::config(loc.clone(), toml_message(&e, text)))?;
        check_keys(&table, text, path)?;
        let raw: RawAssay = toml::from_str(text)
            .map_err(|e: toml::de::Error| Error::config(loc.clone(), toml_message(&e, text)))?;

        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let at = |key: &str| loc.clone().at_line_opt(key_line(text, key));
        if raw.name.trim().is_empty() {
            problems.push(problem(
                at("name"),
                "`name` is empty; give the screen a name",
            ));
        }
        let unit = raw.concentration_unit.trim().to_string();
        if unit.is_empty() {
            problems.push(problem(
                at("concentration_unit"),
                "`concentration_unit` is empty; write the unit of every concentration, e.g. \"uM\"",
            ));
        } else if !KNOWN_UNITS.contains(&unit.as_str()) {
            warnings.push(problem(
                at("concentration_unit"),
                format!(
                    "concentration unit `{unit}` is not one we know ({}); it is used as written{}",
                    KNOWN_UNITS.join(", "),
                    did_you_mean(&unit, &KNOWN_UNITS)
                ),
            ));
        }
        if raw.wells.is_none() && raw.plates.is_empty() {
            problems.push(problem(
                loc.clone(),
                "no input wells: add `wells = \"wells.csv\"` (the tidy wells table) or `[[plates]]` entries (plate files with layouts)",
            ));
        }
        if raw.wells.is_some() && !raw.plates.is_empty() {
            problems.push(problem(
                at("plates"),
                "both `wells` and `[[plates]]` are given; an assay reads either the tidy wells table or plate files, not both",
            ));
        }
        let plate_lines = table_array_lines(text, "plates");
        let mut entries = Vec::new();
        for (i, p) in raw.plates.iter().enumerate() {
            let eloc = loc.clone().at_line_opt(plate_lines.get(i).copied());
            let format = match &p.format {
                None => None,
                Some(f) => match crate::read::Format::parse(f) {
                    Some(f) => Some(f),
                    None => {
                        let names: Vec<&str> = crate::read::vendor::FORMAT_NAMES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect();
                        problems.push(problem(
                            eloc.clone(),
                            format!(
                                "`format = \"{f}\"` is not a format we read{}; expected one of: {}",
                                did_you_mean(f, &names),
                                names.join(", ")
                            ),
                        ));
                        None
                    }
                },
            };
            if p.file.trim().is_empty() {
                problems.push(problem(
                    eloc.clone(),
                    "`file` is empty; name the plate file",
                ));
            }
            if p.plate.as_deref().is_some_and(|s| s.trim().is_empty()) {
                problems.push(problem(
                    eloc.clone(),
                    "`plate` is empty; leave it out to use the file name",
                ));
            }
            entries.push(PlateEntry {
                file: PathBuf::from(&p.file),
                layout: p.layout.clone(),
                plate: p.plate.as_ref().map(|s| s.trim().to_string()),
                cell_line: p.cell_line.as_ref().map(|s| s.trim().to_string()),
                read: p.read.clone(),
                replicate: p.replicate.clone(),
                format,
                line: plate_lines.get(i).copied(),
            });
        }
        let plate_format = match raw.plate_size {
            None => None,
            Some(n) => match PlateFormat::from_wells(n) {
                Some(f) => Some(f),
                None => {
                    problems.push(problem(
                        at("plate_size"),
                        format!("`plate_size = {n}` is not a plate format; expected 6, 12, 24, 48, 96, 384 or 1536"),
                    ));
                    None
                }
            },
        };
        check_qc(&raw.qc, text, &loc, &mut problems);
        for (key, msg) in raw.shift.problems() {
            problems.push(problem(at(key), msg));
        }
        let fit_config = match raw.fit.to_settings() {
            Err((key, msg)) => {
                problems.push(problem(at(key), msg));
                None
            }
            Ok(settings) => match settings.check() {
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(problem(at("fit"), e.to_string()));
                    None
                }
            },
        };

        let Some(fit_config) = fit_config.filter(|_| problems.is_empty()) else {
            return Err(Error::problems(crate::ErrorKind::Config, problems));
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
        Ok(Assay {
            path: path.to_path_buf(),
            name: raw.name.trim().to_string(),
            concentration_unit: unit,
            wells: raw.wells.map(resolve),
            plates: entries
                .into_iter()
                .map(|mut e| {
                    e.file = resolve(e.file);
                    e.layout = resolve(e.layout);
                    e
                })
                .collect(),
            lines: raw.lines.map(resolve),
            plate_format,
            settings: Settings {
                qc: raw.qc,
                normalize: raw.normalize,
                fit: raw.fit,
                shift: raw.shift,
            },
            fit_config,
            warnings,
        })
    }
}

fn problem(location: Location, message: impl Into<String>) -> Problem {
    Problem {
        location,
        message: message.into(),
    }
}

impl Location {
    pub(crate) fn at_line_opt(mut self, line: Option<u64>) -> Self {
        self.line = line;
        self
    }
}

fn check_qc(qc: &QcSettings, text: &str, loc: &Location, problems: &mut Vec<Problem>) {
    let mut bad = |key: &str, msg: String| {
        problems.push(problem(loc.clone().at_line_opt(key_line(text, key)), msg));
    };
    for (key, v) in [
        ("z_prime_fail", qc.z_prime_fail),
        ("z_prime_warn", qc.z_prime_warn),
    ] {
        if !v.is_finite() || v > 1.0 {
            bad(
                key,
                format!("`qc.{key} = {v}`: Z′ is at most 1; expected a number ≤ 1"),
            );
        }
    }
    if qc.z_prime_warn < qc.z_prime_fail {
        bad(
            "z_prime_warn",
            format!(
                "`qc.z_prime_warn = {}` is below `qc.z_prime_fail = {}`; the warn level must be at or above the fail level",
                qc.z_prime_warn, qc.z_prime_fail
            ),
        );
    }
    if !(qc.cv_vehicle_warn.is_finite() && qc.cv_vehicle_warn > 0.0) {
        bad(
            "cv_vehicle_warn",
            format!(
                "`qc.cv_vehicle_warn = {}`: expected a positive fraction such as 0.2",
                qc.cv_vehicle_warn
            ),
        );
    }
    if !(qc.signal_to_background_warn.is_finite() && qc.signal_to_background_warn >= 0.0) {
        bad(
            "signal_to_background_warn",
            format!(
                "`qc.signal_to_background_warn = {}`: expected a number ≥ 0",
                qc.signal_to_background_warn
            ),
        );
    }
    if qc.min_vehicle_wells < 2 {
        bad(
            "min_vehicle_wells",
            format!(
                "`qc.min_vehicle_wells = {}`: Z′ needs a standard deviation, so at least 2",
                qc.min_vehicle_wells
            ),
        );
    }
    if !(qc.spatial_threshold.is_finite() && qc.spatial_threshold > 0.0) {
        bad(
            "spatial_threshold",
            format!(
                "`qc.spatial_threshold = {}`: expected a positive fraction such as 0.1",
                qc.spatial_threshold
            ),
        );
    }
}

/// Rejects unknown keys with their line and the nearest valid key.
fn check_keys(table: &toml::Table, text: &str, path: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    let mut report = |key: &str, section: Option<&str>, valid: &[&str]| {
        let shown = match section {
            Some(s) => format!("{s}.{key}"),
            None => key.to_string(),
        };
        problems.push(problem(
            Location::file(path).at_line_opt(key_line(text, key)),
            format!(
                "unknown key `{shown}`{}; valid keys here: {}",
                did_you_mean(key, valid),
                valid.join(", ")
            ),
        ));
    };
    for (key, value) in table {
        if !TOP_KEYS.contains(&key.as_str()) {
            report(key, None, &TOP_KEYS);
            continue;
        }
        if key == "plates" {
            let entries = value.as_array().map(Vec::as_slice).unwrap_or_default();
            for e in entries.iter().filter_map(|e| e.as_table()) {
                for sub_key in e.keys() {
                    if !PLATES_KEYS.contains(&sub_key.as_str()) {
                        report(sub_key, Some("plates"), &PLATES_KEYS);
                    }
                }
                for need in ["file", "layout"] {
                    if !e.contains_key(need) {
                        missing.push(problem(
                            Location::file(path).at_line_opt(key_line(text, "plates")),
                            format!("a `[[plates]]` entry has no `{need}`; every entry needs `file` and `layout`"),
                        ));
                    }
                }
            }
            continue;
        }
        let section: Option<&[&str]> = match key.as_str() {
            "qc" => Some(&QC_KEYS),
            "normalize" => Some(&NORMALIZE_KEYS),
            "fit" => Some(&FIT_KEYS),
            "shift" => Some(&SHIFT_KEYS),
            _ => None,
        };
        if let (Some(valid), Some(sub)) = (section, value.as_table()) {
            for sub_key in sub.keys() {
                if !valid.contains(&sub_key.as_str()) {
                    report(sub_key, Some(key), valid);
                }
            }
        }
    }
    problems.extend(missing);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::problems(crate::ErrorKind::Config, problems))
    }
}

/// The 1-based line on which `key` is assigned or opened as a section, if it can be found.
pub(crate) fn key_line(text: &str, key: &str) -> Option<u64> {
    text.lines().enumerate().find_map(|(i, line)| {
        let t = line.trim_start();
        let t = t
            .strip_prefix('[')
            .map(|s| s.trim_start_matches('['))
            .unwrap_or(t);
        let rest = t.strip_prefix(key)?;
        let rest = rest.trim_start();
        (rest.starts_with('=') || rest.starts_with(']')).then_some(i as u64 + 1)
    })
}

/// The 1-based lines of each `[[name]]` header, in order.
fn table_array_lines(text: &str, name: &str) -> Vec<u64> {
    let header = format!("[[{name}]]");
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim().replace(' ', "") == header)
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// The toml crate's message, with the line it points at.
fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Assay> {
        Assay::from_str(text, Path::new("dir/assay.toml"))
    }

    const MIN: &str =
        "name = \"s\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n";

    #[test]
    fn minimal_form_resolves_paths() {
        let a = parse(MIN).unwrap();
        assert_eq!(a.wells.unwrap(), Path::new("dir/wells.csv"));
        assert_eq!(a.lines.unwrap(), Path::new("dir/lines.csv"));
        assert_eq!(a.settings, Settings::default());
        assert_eq!(a.fit_config.settings(), &crate::fit::FitSettings::default());
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn unknown_key_names_key_line_and_nearest() {
        let e = parse(&format!("{MIN}[qc]\nz_prime_fial = 0.1\n")).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("dir/assay.toml:6"), "{s}");
        assert!(s.contains("unknown key `qc.z_prime_fial`"), "{s}");
        assert!(s.contains("did you mean `z_prime_fail`"), "{s}");
        let e = parse(&format!("{MIN}concentration_units = \"nM\"\n")).unwrap_err();
        assert!(
            e.to_string().contains("did you mean `concentration_unit`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_config_errors() {
        let e = parse(&format!("{MIN}plate_size = 100\n")).unwrap_err();
        assert!(e.to_string().contains("dir/assay.toml:5"), "{e}");
        assert!(e.to_string().contains("not a plate format"), "{e}");
        let e = parse(&format!("{MIN}[qc]\nz_prime_warn = -0.5\n")).unwrap_err();
        assert!(e.to_string().contains("below `qc.z_prime_fail"), "{e}");
        let e = parse(&format!("{MIN}[normalize]\ncontrols = \"mode\"\n")).unwrap_err();
        assert!(e.to_string().contains("line 6"), "{e}");
        let e = parse(&format!("{MIN}[fit]\nmodel = \"ll5\"\n")).unwrap_err();
        assert!(
            e.to_string().contains("dir/assay.toml:6: `fit.model`"),
            "{e}"
        );
        let e = parse(&format!("{MIN}[shift]\nmetric = \"ic90\"\n")).unwrap_err();
        assert!(e.to_string().contains("line 6"), "{e}");
        let e = parse(&format!("{MIN}[shift]\nalpha = 2.0\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("dir/assay.toml:6: `shift.alpha = 2`"),
            "{e}"
        );
        let e = parse("name = \"s\"\nwells = \"w.csv\"\n").unwrap_err();
        assert!(e.to_string().contains("concentration_unit"), "{e}");
    }

    #[test]
    fn unknown_unit_is_a_warning() {
        let a = parse(&MIN.replace("\"uM\"", "\"IU/mL\"")).unwrap();
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].to_string().contains("IU/mL"));
    }
}
