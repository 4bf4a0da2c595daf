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

use crate::checked::Checked;
use crate::checks::ChecksSettings;
use crate::error::{did_you_mean, Error, Location, Problem, Result};
use crate::evidence::EvidenceSettings;
use crate::fit::{FitConfig, FitKeys};
use crate::growth::GrowthSettings;
use crate::mic::MicSettings;
use crate::normalize::NormalizeSettings;
use crate::outdir::TableFormat;
use crate::plan::PlanSettings;
use crate::plate::PlateFormat;
use crate::qc::QcSettings;
use crate::read::{AssayWells, PlateEntry, WellSources};
use crate::shift::{Metric, ShiftSettings};
use crate::table::TableOptions;
use crate::text::key_line;

/// Concentration units we recognise; others are accepted with a warning.
pub(crate) const KNOWN_UNITS: [&str; 16] = [
    "M", "mM", "uM", "µM", "nM", "pM", "fM", "g/L", "mg/L", "ug/L", "mg/mL", "ug/mL", "µg/mL",
    "ng/mL", "%", "x",
];

/// Keys of the top level and of each section, for the unknown-key check.
const TOP_KEYS: [&str; 19] = [
    "name",
    "concentration_unit",
    "evolution_time_unit",
    "wells",
    "plates",
    "lines",
    "plate_size",
    "qc",
    "normalize",
    "fit",
    "shift",
    "plan",
    "mic",
    "growth",
    "checks",
    "tables",
    "drug_aliases",
    "evidence",
    "output",
];
/// Keys of the `[output]` section.
pub(crate) const OUTPUT_KEYS: [&str; 1] = ["format"];

/// The `[output]` section: how `run` writes its tables (`format = "csv" | "parquet" |
/// "both"`; the command line's `--format` overrides it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OutputSettings {
    /// The form of the tables (default CSV).
    #[serde(default)]
    pub format: TableFormat,
}
/// Keys of each `[[plates]]` entry.
pub(crate) const PLATES_KEYS: [&str; 7] = [
    "file",
    "layout",
    "plate",
    "cell_line",
    "read",
    "replicate",
    "format",
];

/// All settings of a run, each stage's checked once (and held once): what the stages take and
/// what `run.json` writes, in the form the assay file writes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct Settings {
    /// Plate QC.
    pub qc: Checked<QcSettings>,
    /// Normalization.
    pub normalize: Checked<NormalizeSettings>,
    /// Curve fitting (written as the `[fit]` keys).
    pub fit: FitConfig,
    /// Shifts and calls.
    pub shift: Checked<ShiftSettings>,
    /// Therapy sequences (`[plan]`): when present, `run` writes `plan.csv` and `plan.md`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Checked<PlanSettings>>,
    /// Reading MICs from the wells: present when the metric is `mic` or `[mic]` is written
    /// (and only then in `run.json`, whose settings are otherwise unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mic: Option<Checked<MicSettings>>,
    /// GR values and DIP rates (left out of `run.json` while at its defaults).
    #[serde(skip_serializing_if = "growth_is_default")]
    pub growth: Checked<GrowthSettings>,
    /// Input checks (`[checks]`; left out of `run.json` while at its defaults).
    #[serde(skip_serializing_if = "checks_is_default")]
    pub checks: Checked<ChecksSettings>,
    /// Published relations matched against the screen's drugs (`[evidence]`, `drug_aliases`;
    /// left out of `run.json` while at its defaults: the bundled tables, no aliases).
    #[serde(skip_serializing_if = "evidence_is_default")]
    pub evidence: Checked<EvidenceSettings>,
}

/// Whether `run.json` leaves the `evidence` section out.
fn evidence_is_default(evidence: &Checked<EvidenceSettings>) -> bool {
    evidence.is_default()
}

/// Whether `run.json` leaves the `checks` section out.
fn checks_is_default(checks: &Checked<ChecksSettings>) -> bool {
    checks.is_default()
}

/// Whether `run.json` leaves the `growth` section out.
fn growth_is_default(growth: &Checked<GrowthSettings>) -> bool {
    growth.is_default()
}

/// The assay file as written (before checking).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssay {
    name: String,
    concentration_unit: String,
    evolution_time_unit: Option<String>,
    wells: Option<PathBuf>,
    #[serde(default)]
    plates: Vec<RawPlate>,
    lines: Option<PathBuf>,
    plate_size: Option<u32>,
    #[serde(default)]
    tables: TableOptions,
    #[serde(default)]
    qc: QcSettings,
    #[serde(default)]
    normalize: NormalizeSettings,
    #[serde(default)]
    fit: FitKeys,
    #[serde(default)]
    shift: ShiftSettings,
    plan: Option<PlanSettings>,
    mic: Option<MicSettings>,
    #[serde(default)]
    growth: GrowthSettings,
    #[serde(default)]
    checks: ChecksSettings,
    drug_aliases: Option<RawAliases>,
    #[serde(default)]
    evidence: RawEvidence,
    #[serde(default)]
    output: OutputSettings,
}

/// `drug_aliases` as written: a table (`Etop = "etoposide"`) or the path of an `alias, drug`
/// table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAliases {
    Table(std::collections::BTreeMap<String, String>),
    File(PathBuf),
}

/// The `[evidence]` section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    #[serde(default = "yes")]
    bundled: bool,
    #[serde(default)]
    files: Vec<PathBuf>,
}

impl Default for RawEvidence {
    fn default() -> Self {
        RawEvidence {
            bundled: true,
            files: Vec::new(),
        }
    }
}

fn yes() -> bool {
    true
}

/// The `[evidence]` section and `drug_aliases` as settings: paths resolved against the assay
/// file's folder, an alias table read (its problems, located by its file and line, added to
/// `problems`).
fn evidence_settings(
    raw: RawEvidence,
    aliases: Option<RawAliases>,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    at: &dyn Fn(&str) -> Location,
    problems: &mut Vec<Problem>,
) -> EvidenceSettings {
    // A file that is not there is named on the assay's line that names it.
    let missing = |key: &str, written: &Path, resolved: &Path| {
        problem(
            at(key),
            format!(
                "`{key}` names `{}`, which does not exist ({})",
                written.display(),
                resolved.display()
            ),
        )
    };
    let drug_aliases = match aliases {
        None => Default::default(),
        Some(RawAliases::Table(table)) => table,
        Some(RawAliases::File(file)) => {
            let path = resolve(file.clone());
            if !path.is_file() {
                problems.push(missing("drug_aliases", &file, &path));
                Default::default()
            } else {
                match crate::evidence::read_drug_aliases(&path) {
                    Ok(table) => table,
                    Err(e) => {
                        problems.extend(e.problems_found().iter().cloned());
                        Default::default()
                    }
                }
            }
        }
    };
    let mut files = Vec::new();
    for file in raw.files {
        let path = resolve(file.clone());
        if !path.is_file() {
            problems.push(missing("files", &file, &path));
        }
        files.push(path);
    }
    EvidenceSettings {
        bundled: raw.bundled,
        files,
        drug_aliases,
    }
}

/// The stages' sections as written (before checking).
struct RawSettings {
    qc: QcSettings,
    normalize: NormalizeSettings,
    fit: FitKeys,
    shift: ShiftSettings,
    plan: Option<PlanSettings>,
    mic: Option<MicSettings>,
    growth: GrowthSettings,
    checks: ChecksSettings,
    evidence: EvidenceSettings,
}

/// Checks every stage's section once, placing each problem on its key's line; `None` when any
/// section has a problem (all of them are in `problems`).
fn check_settings(
    raw: RawSettings,
    at: &dyn Fn(&str) -> Location,
    problems: &mut Vec<Problem>,
) -> Option<Settings> {
    fn keep<T>(
        checked: std::result::Result<T, Vec<Problem>>,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        checked.map_err(|p| problems.extend(p)).ok()
    }
    let qc = keep(Checked::located(raw.qc, at), problems);
    let normalize = keep(Checked::located(raw.normalize, at), problems);
    // MIC settings are present when the metric is mic or `[mic]` is written.
    let mic_given = raw.mic.is_some() || raw.shift.metric == Metric::Mic;
    let shift = keep(Checked::located(raw.shift, at), problems);
    let plan = match raw.plan {
        None => Some(None),
        Some(p) => keep(Checked::located(p, at), problems).map(Some),
    };
    let mic = match raw.mic {
        None if !mic_given => Some(None),
        given => keep(Checked::located(given.unwrap_or_default(), at), problems).map(Some),
    };
    let growth = keep(Checked::located(raw.growth, at), problems);
    let fit = keep(raw.fit.check_located(at), problems);
    let checks = keep(Checked::located(raw.checks, at), problems);
    let evidence = keep(Checked::located(raw.evidence, at), problems);
    Some(Settings {
        qc: qc?,
        normalize: normalize?,
        fit: fit?,
        shift: shift?,
        plan: plan?,
        mic: mic?,
        growth: growth?,
        checks: checks?,
        evidence: evidence?,
    })
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

/// A checked assay: paths resolved, settings validated.
#[derive(Debug, Clone)]
pub struct Assay {
    /// The assay file itself.
    pub path: PathBuf,
    /// Name of the screen.
    pub name: String,
    /// Unit of every concentration in the inputs.
    pub concentration_unit: String,
    /// Unit of the lines table's `evolution_time` (day, passage, …), when the assay gives one.
    pub evolution_time_unit: Option<String>,
    /// The tidy wells table (exactly one of `wells` and `plates` is given).
    pub wells: Option<PathBuf>,
    /// Plate files with layouts, the other form of an assay.
    pub plates: Vec<PlateEntry>,
    /// The lines table (which line is resistant to what).
    pub lines: Option<PathBuf>,
    /// How the tidy tables are written (`[tables]`: a spreadsheet's sheet, the decimal mark).
    pub tables: TableOptions,
    /// Declared plate format for every plate, if given.
    pub plate_format: Option<PlateFormat>,
    /// Settings of every stage, checked (defaults where the file is silent).
    pub settings: Settings,
    /// How the run's tables are written (`[output]`).
    pub output: OutputSettings,
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
    // Long because it checks the file's top-level keys one after another, each with its own
    // located message, before handing the sections to their stages' checks.
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
        let entries = check_plates(&raw.plates, text, &loc, &mut problems);
        let dir = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
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
        let sections = RawSettings {
            qc: raw.qc,
            normalize: raw.normalize,
            fit: raw.fit,
            shift: raw.shift,
            plan: raw.plan,
            mic: raw.mic,
            growth: raw.growth,
            checks: raw.checks,
            evidence: evidence_settings(
                raw.evidence,
                raw.drug_aliases,
                &resolve,
                &at,
                &mut problems,
            ),
        };
        let settings = check_settings(sections, &at, &mut problems);
        let Some(settings) = settings.filter(|_| problems.is_empty()) else {
            return Err(Error::problems(crate::ErrorKind::Config, problems));
        };
        Ok(Assay {
            path: path.to_path_buf(),
            name: raw.name.trim().to_string(),
            concentration_unit: unit,
            evolution_time_unit: raw
                .evolution_time_unit
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty()),
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
            tables: raw.tables,
            plate_format,
            settings,
            output: raw.output,
            warnings,
        })
    }
}

impl Assay {
    /// Where this assay's wells come from, for [`crate::read::assay_wells`].
    pub fn sources(&self) -> WellSources<'_> {
        WellSources {
            path: &self.path,
            wells: self.wells.as_deref(),
            plates: &self.plates,
            plate_format: self.plate_format,
            concentration_unit: &self.concentration_unit,
            tables: &self.tables,
            vehicles_required: self.settings.normalize.reference.is_vehicle(),
        }
    }

    /// Reads this assay's wells: the tidy table or every plate file with its layout.
    pub fn read_wells(&self) -> Result<AssayWells> {
        crate::read::assay_wells(&self.sources())
    }
}

/// Checks the `[[plates]]` entries (each problem on its entry's header line) into the readers'
/// entries, paths still relative to the assay file.
fn check_plates(
    plates: &[RawPlate],
    text: &str,
    loc: &Location,
    problems: &mut Vec<Problem>,
) -> Vec<PlateEntry> {
    let plate_lines = table_array_lines(text, "plates");
    let mut entries = Vec::new();
    for (i, p) in plates.iter().enumerate() {
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
    entries
}

fn problem(location: Location, message: impl Into<String>) -> Problem {
    Problem {
        location,
        message: message.into(),
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
            "qc" => Some(&QcSettings::KEYS),
            "normalize" => Some(&NormalizeSettings::KEYS),
            "fit" => Some(&FitKeys::KEYS),
            "shift" => Some(&ShiftSettings::KEYS),
            "plan" => Some(&PlanSettings::KEYS),
            "mic" => Some(&MicSettings::KEYS),
            "growth" => Some(&GrowthSettings::KEYS),
            "checks" => Some(&ChecksSettings::KEYS),
            "evidence" => Some(&EvidenceSettings::KEYS),
            "output" => Some(&OUTPUT_KEYS),
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
        assert_eq!(
            a.settings.fit.settings(),
            &crate::fit::FitSettings::default()
        );
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
    fn every_section_out_of_range_names_its_key_and_line() {
        for (section, value, needle) in [
            ("qc", "cv_vehicle_warn = -1", "`qc.cv_vehicle_warn = -1`"),
            ("shift", "tau = -1", "`shift.tau = -1`"),
            ("plan", "length = 9", "`plan.length = 9`"),
            ("mic", "threshold = 2", "`mic.threshold = 2`"),
            ("growth", "dip_delay_h = -1", "`growth.dip_delay_h = -1`"),
            (
                "fit",
                "robust = \"tukey\"",
                "`fit.robust`: unknown robust loss `tukey`",
            ),
        ] {
            let e = parse(&format!("{MIN}[{section}]\n{value}\n")).unwrap_err();
            let shown = e.to_string();
            assert!(
                shown.contains(&format!("dir/assay.toml:6: {needle}")),
                "{shown}"
            );
        }
        // Every problem at once, each on its own line.
        let e = parse(&format!(
            "{MIN}[qc]\nmin_vehicle_wells = 1\n[shift]\nalpha = 0\n"
        ))
        .unwrap_err();
        let lines: Vec<Option<u64>> = e.problems_found().iter().map(|p| p.location.line).collect();
        assert_eq!(lines, [Some(6), Some(8)]);
    }

    #[test]
    fn settings_are_held_once_and_written_as_the_file_writes_them() {
        let a = parse(&format!(
            "{MIN}[fit]\nmodel = \"ll3\"\n[plan]\nlength = 4\n"
        ))
        .unwrap();
        assert_eq!(a.settings.fit.settings().model, crate::fit::Model::Ll3);
        assert_eq!(a.settings.plan.as_ref().map(|p| p.length), Some(4));
        let json = serde_json::to_value(&a.settings).unwrap();
        assert_eq!(json["fit"]["model"], "ll3");
        assert_eq!(json["fit"]["hill_bounds"], serde_json::json!([0.05, 10.0]));
        assert_eq!(json["plan"]["length"], 4);
        assert!(json.get("mic").is_none() && json.get("growth").is_none());
    }

    #[test]
    fn unknown_unit_is_a_warning() {
        let a = parse(&MIN.replace("\"uM\"", "\"IU/mL\"")).unwrap();
        assert_eq!(a.warnings.len(), 1);
        assert!(a.warnings[0].to_string().contains("IU/mL"));
    }
}
