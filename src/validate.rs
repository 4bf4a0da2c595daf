//! `collateral validate`: read every input of an assay, say what was understood, and list every
//! problem a run would trip over (or silently live with), before anything is fitted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::assay::Assay;
use crate::error::{Location, Problem, Result};
use crate::mic::MicSettings;
use crate::plate::{PlateFormat, WellPos};
use crate::read::AssayWells;
use crate::wells::{Role, WellTable};

/// What `validate` found.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Human-readable description of what was read.
    pub summary: String,
    /// Plate maps (filled only when asked for).
    pub maps: String,
    /// Problems: each makes `validate` exit 1.
    pub problems: Vec<Problem>,
    /// Warnings: worth reading, not failures.
    pub warnings: Vec<Problem>,
}

/// Reads an assay's inputs and checks them. Reading errors (a bad file, a layout that does not
/// parse) are returned as `Err`; design problems found after reading are in
/// [`Validation::problems`].
// Long because it is the list of every check `validate` runs, in the order its output reports
// them (reading, lines, controls, doses, design, MIC ladders, evidence names); each is one call.
pub fn validate(assay_path: &Path, with_maps: bool) -> Result<Validation> {
    let assay = Assay::from_file(assay_path)?;
    let read = assay.read_wells()?;
    let mut problems = Vec::new();
    let mut warnings = assay.warnings.clone();
    warnings.extend(read.warnings.iter().cloned());
    let summary = describe(&assay, &read);
    // Design problems of a tidy table point at that table; of plate files, at the assay.
    let source = assay
        .wells
        .clone()
        .unwrap_or_else(|| assay_path.to_path_buf());
    check_design(&read.table, &source, &mut problems, &mut warnings);
    // Doses off their drug's series, named as a run names them.
    let doses = crate::checks::dose_findings(&read.table, &source, assay.wells.is_some());
    warnings.extend(doses.warnings);
    // The design and readings, and the controls, checked as a run checks them.
    design_checks(&assay, &read, &source, &mut problems, &mut warnings);
    if read.table.has_time {
        // Wells read in time: which reads a run would leave without an endpoint read.
        let plan = crate::growth::reads::ReadPlan::of(&read.table);
        warnings.extend(plan.warnings(&read.table, &source));
    }
    for p in &read.plates {
        for w in &p.data_only {
            problems.push(Problem {
                location: Location::file(&p.file).at_well(&p.plate, &w.to_string()),
                message: "the data has a reading here but the layout does not name this well (it would be `empty`)".into(),
            });
        }
        for w in &p.layout_only {
            problems.push(Problem {
                location: Location::file(&p.layout).at_well(&p.plate, &w.to_string()),
                message: format!(
                    "the layout uses this well but {} has no reading for it",
                    p.file.display()
                ),
            });
        }
    }
    // The lines table and the compared metric, checked as a run checks them.
    let mut summary = summary;
    // A lines table that does not read is an error, as a bad wells file is.
    let lines = crate::run::checked_lines(&assay, assay_path, &read.table)?.map(|checked| {
        problems.extend(checked.problems);
        warnings.extend(checked.warnings);
        checked.table
    });
    if let Some(lt) = &lines {
        let resistant = lt
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .count();
        let timed = lt
            .lines
            .iter()
            .filter(|l| l.evolution_time.is_some())
            .count();
        let _ = writeln!(
            summary,
            "lines table {}: {} lines, {resistant} resistant{}{}",
            lt.path.display(),
            lt.lines.len(),
            if timed > 0 {
                format!(", {timed} with an evolution time")
            } else {
                String::new()
            },
            if lt.has_doubling_time() {
                ", doubling times given"
            } else {
                ""
            }
        );
    }
    if assay.settings.shift.metric == crate::shift::Metric::Mic {
        let mic = assay.settings.mic.as_deref().cloned().unwrap_or_default();
        warnings.extend(mic_grid_warnings(&read.table, &source, &mic));
    }
    let unknown_aliases = evidence_matches(&assay, &read.table, lines.as_ref(), &mut summary)?;
    warnings.extend(unknown_aliases);
    problems.extend(crate::run::growth_metric_problem(
        &assay,
        assay_path,
        &read.table,
        lines.as_ref(),
    ));
    // The same warning is raised while reading; as a problem here it must not show twice.
    warnings.retain(|w| !w.message.contains("has no reading for it"));
    let maps = if with_maps {
        maps(&read.table)
    } else {
        String::new()
    };
    Ok(Validation {
        summary,
        maps,
        problems,
        warnings,
    })
}

/// Which of the assay's drugs the evidence tables (its `[evidence]` settings) recognize, as
/// what, and the pairs with reported relations (docs/evidence.md), into `summary`; a user's
/// evidence file that does not load is an error, and the lab aliases naming nothing known are
/// returned as warnings.
fn evidence_matches(
    assay: &Assay,
    table: &WellTable,
    lines: Option<&crate::lines::LinesTable>,
    summary: &mut String,
) -> Result<Vec<Problem>> {
    let evidence = assay.settings.evidence.load()?;
    let selected: BTreeSet<String> = lines
        .map(|lt| {
            lt.lines
                .iter()
                .filter_map(|l| l.selected_with.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut drugs: BTreeSet<String> = table
        .wells
        .distinct_names(2)
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| !n.is_empty())
        .collect();
    drugs.extend(selected.iter().cloned());
    let drugs: Vec<String> = drugs.into_iter().collect();
    let selected: Vec<String> = selected.into_iter().collect();
    let aliases = &assay.settings.evidence.drug_aliases;
    let listing = crate::evidence::describe_matches(&evidence, &drugs, &selected, aliases);
    summary.push_str(&listing.text);
    Ok(listing
        .unknown_aliases
        .into_iter()
        .map(|(alias, target)| Problem {
            location: Location::file(&assay.path),
            message: format!(
                "`drug_aliases`: `{alias}` stands for `{target}`, which no evidence table knows; check the spelling (docs/evidence.md)"
            ),
        })
        .collect())
}

// Long because it is the text `validate` prints, section after section, in the order a user
// reads it; each section is a few lines of formatting.
fn describe(assay: &Assay, read: &AssayWells) -> String {
    let t = &read.table;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} plates, {} wells, concentrations in {}",
        assay.name,
        t.formats.len(),
        t.wells.len(),
        assay.concentration_unit
    );
    if t.has_time {
        use crate::growth::reads::{ReadPlan, ReadRole};
        let plan = ReadPlan::of(t);
        let count = |r: ReadRole| plan.role.iter().filter(|x| **x == r).count();
        let wells: BTreeSet<(&str, WellPos)> = t
            .wells
            .iter()
            .map(|w| (w.plate.as_str(), w.position))
            .collect();
        let ends: Vec<f64> = plan.endpoint_time.values().copied().collect();
        let (lo, hi) = ends
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &e| {
                (a.min(e), b.max(e))
            });
        let _ = writeln!(
            s,
            "reads in time: the {} rows are reads of {} wells: {} at the plates' endpoints ({}), {} at time 0 (GR's x0), {} in between (DIP time courses); the counts below are of reads",
            t.wells.len(),
            wells.len(),
            count(ReadRole::Endpoint),
            if ends.is_empty() {
                "no times after 0".to_string()
            } else if lo == hi {
                format!("{lo} h")
            } else {
                format!("{lo}–{hi} h")
            },
            count(ReadRole::TimeZero),
            count(ReadRole::Course),
        );
    }
    let by_plate: BTreeMap<&str, &crate::read::inputs::PlateSummary> =
        read.plates.iter().map(|p| (p.plate.as_str(), p)).collect();
    for (plate, format) in &t.formats {
        let wells: Vec<_> = t.wells.iter().filter(|w| w.plate == plate).collect();
        let count = |r: Role| wells.iter().filter(|w| w.role == r).count();
        let lines: BTreeSet<&str> = wells
            .iter()
            .filter(|w| !w.cell_line.is_empty())
            .map(|w| w.cell_line.as_str())
            .collect();
        let unread = wells
            .iter()
            .filter(|w| w.role != Role::Empty && w.signal.value().is_none())
            .count();
        let _ = writeln!(
            s,
            "plate {plate}: {format}; vehicle {}, blank {}, sample {}, empty {}; {unread} used wells without a numeric reading; lines: {}",
            count(Role::Vehicle),
            count(Role::Blank),
            count(Role::Sample),
            count(Role::Empty),
            lines.into_iter().collect::<Vec<_>>().join(", ")
        );
        if let Some(p) = by_plate.get(plate.as_str()) {
            let others: Vec<String> = p
                .reads
                .iter()
                .filter(|r| r.0 != p.read)
                .map(|(name, computed, layout)| match (computed, layout) {
                    (_, true) => format!("{name} [layout]"),
                    (true, _) => format!("{name} [computed]"),
                    _ => name.clone(),
                })
                .collect();
            let _ = writeln!(
                s,
                "  file {} ({}), read `{}`{}; layout {}",
                p.file.display(),
                p.format,
                p.read,
                if others.is_empty() {
                    String::new()
                } else {
                    format!(" (also in the file: {})", others.join(", "))
                },
                p.layout.display()
            );
        }
    }
    // Dose series per (cell line, drug), over all plates.
    let mut series: BTreeMap<(&str, &str), BTreeSet<u64>> = BTreeMap::new();
    for w in &t.wells {
        if let (Role::Sample, Some(c)) = (w.role, w.concentration) {
            series
                .entry((w.cell_line.as_str(), w.drug.as_str()))
                .or_default()
                .insert(c.to_bits());
        }
    }
    for ((line, drug), doses) in &series {
        let d: Vec<f64> = doses.iter().map(|b| f64::from_bits(*b)).collect();
        let (lo, hi) = d
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
        let fold = if d.len() > 1 {
            format!(
                ", mean fold {:.3}",
                (hi / lo).powf(1.0 / (d.len() - 1) as f64)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "series {line} × {drug}: {} doses, {lo}–{hi} {}{fold}",
            d.len(),
            assay.concentration_unit
        );
    }
    s
}

/// The checks a run makes of the design, the readings and the controls (`crate::checks`):
/// their errors are problems here, their warnings warnings.
fn design_checks(
    assay: &Assay,
    read: &AssayWells,
    source: &Path,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    use crate::normalize::{control_levels, units_of, PlateControls};
    let plate_files = read
        .plates
        .iter()
        .map(|p| (p.plate.clone(), p.file.clone()))
        .collect();
    let origin = crate::checks::WellsOrigin {
        source,
        with_lines: assay.wells.is_some(),
        plate_files: &plate_files,
    };
    let table = &read.table;
    let design = crate::checks::design_findings(table, &origin);
    problems.extend(design.errors);
    warnings.extend(design.warnings);
    // The controls as normalization finds them, on the endpoint reads: no vehicle level, a
    // vehicle level not above the blank, and `blank_fallback = "error"` without blanks.
    let split = table.has_time.then(|| {
        crate::growth::reads::ReadPlan::of(table)
            .endpoint_table(table)
            .0
    });
    let endpoint = split.as_ref().unwrap_or(table);
    let controls = PlateControls::gather(endpoint);
    let units = units_of(endpoint, &controls);
    // The no-blank warning is check_design's, in its own words.
    match control_levels(
        endpoint,
        &controls,
        &units,
        &assay.settings.normalize,
        origin.source,
    ) {
        Ok((levels, _)) => {
            let unreferenced = (!assay.settings.normalize.reference.is_vehicle())
                .then(|| crate::normalize::series_without_reference(endpoint, &units, &levels));
            let levels = units.keys.into_iter().zip(levels).collect();
            warnings.extend(crate::checks::control_findings(
                endpoint,
                &levels,
                unreferenced.as_ref(),
                &origin,
            ));
        }
        Err(e) => problems.extend(e.problems_found().iter().cloned()),
    }
}

/// Metric mic: each drug whose doses are not two-fold dilutions, with the ladder the dilution
/// model will count steps on (and the doses it takes for means of two steps); each drug with a
/// declared ladder (`[mic] ladder`, `ladder_factor`), with the doses that lie on no step of it.
fn mic_grid_warnings(table: &WellTable, source: &Path, mic: &MicSettings) -> Vec<Problem> {
    let mut doses: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for w in &table.wells {
        if let (Role::Sample, Some(c)) = (w.role, w.concentration) {
            doses
                .entry(w.drug.as_str())
                .or_default()
                .insert(c.to_bits());
        }
    }
    let shown = |v: &[f64]| -> String {
        let s: Vec<String> = v.iter().map(|x| three_significant(*x)).collect();
        s.join(", ")
    };
    let mut out = Vec::new();
    for (drug, bits) in doses {
        let d: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
        let list = mic.ladder.get(drug).map(Vec::as_slice);
        let message = match crate::mic::declared_ladder(list, mic.ladder_factor, &d) {
            Some(ladder) => {
                let unplaced: Vec<f64> = d
                    .iter()
                    .copied()
                    .filter(|c| ladder.place(*c).is_none())
                    .collect();
                if unplaced.is_empty() {
                    continue;
                }
                format!(
                    "drug `{drug}`: doses on no step of its declared ladder {}: {}; MICs read at them get no estimate",
                    shown(&ladder.concentrations(d[0])),
                    shown(&unplaced)
                )
            }
            None => {
                let Some((crate::mic::Ladder::Steps(c), averaged)) = crate::mic::infer_ladder(&d)
                else {
                    continue;
                };
                let means = if averaged.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; placed between steps as means of two: {}",
                        shown(&averaged)
                    )
                };
                format!(
                    "drug `{drug}`: its doses are not two-fold dilutions; metric mic counts MIC errors in steps of the ladder {}{means} (inferred from the doses; `[mic] ladder` declares it)",
                    shown(&c)
                )
            }
        };
        out.push(Problem {
            location: Location::file(source),
            message,
        });
    }
    out
}

/// A concentration to three significant digits, trailing zeros dropped (0.0412, 0.37, 10).
fn three_significant(x: f64) -> String {
    let decimals = (2 - x.log10().floor() as i64).clamp(0, 17) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// (plate, cell line, drug, along a row?, row or column index).
type RunKey<'a> = (&'a str, &'a str, &'a str, bool, u16);

/// Design checks that apply to either form of an assay.
fn check_design(
    t: &WellTable,
    source: &Path,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) {
    let at = |plate: &str| Location::file(source).at_well(plate, "");
    for plate in t.formats.keys() {
        let roles: BTreeSet<Role> = t
            .wells
            .iter()
            .filter(|w| w.plate == plate)
            .map(|w| w.role)
            .collect();
        if !roles.contains(&Role::Vehicle) && !roles.contains(&Role::Blank) {
            problems.push(Problem {
                location: at(plate),
                message: "the plate has no controls (no vehicle and no blank wells)".into(),
            });
        } else if !roles.contains(&Role::Blank) {
            warnings.push(Problem {
                location: at(plate),
                message: "the plate has no blank wells: the background is taken as 0 unless `normalize.blank_fallback = \"error\"`".into(),
            });
        }
    }
    // A drug at one dose only cannot give a curve.
    let mut doses: BTreeMap<(&str, &str), BTreeSet<u64>> = BTreeMap::new();
    for w in &t.wells {
        if let (Role::Sample, Some(c)) = (w.role, w.concentration) {
            doses
                .entry((w.cell_line.as_str(), w.drug.as_str()))
                .or_default()
                .insert(c.to_bits());
        }
    }
    for ((line, drug), d) in &doses {
        if d.len() == 1 {
            problems.push(Problem {
                location: Location::file(source),
                message: format!("{line} × {drug} is tested at one dose only; a dose-response curve needs several"),
            });
        }
    }
    // Along each row (or column) of a series, doses must rise or fall, never both.
    let mut runs: BTreeMap<RunKey, Vec<(u16, f64)>> = BTreeMap::new();
    for w in &t.wells {
        if let (Role::Sample, Some(c)) = (w.role, w.concentration) {
            runs.entry((w.plate, w.cell_line, w.drug, true, w.position.row))
                .or_default()
                .push((w.position.column, c));
            runs.entry((w.plate, w.cell_line, w.drug, false, w.position.column))
                .or_default()
                .push((w.position.row, c));
        }
    }
    // Per (plate, line, drug): the orientation with longer runs is the series direction.
    let mut best: BTreeMap<(&str, &str, &str), (bool, usize)> = BTreeMap::new();
    for ((p, l, d, along_row, _), v) in &runs {
        let e = best.entry((p, l, d)).or_insert((*along_row, 0));
        if v.len() > e.1 {
            *e = (*along_row, v.len());
        }
    }
    for ((p, l, d, along_row, index), v) in &mut runs {
        if best[&(*p, *l, *d)].0 != *along_row || v.len() < 3 {
            continue;
        }
        v.sort_by_key(|x| x.0);
        let up = v.windows(2).all(|w| w[1].1 >= w[0].1);
        let down = v.windows(2).all(|w| w[1].1 <= w[0].1);
        if !(up || down) {
            let name = if *along_row {
                format!("row {}", crate::plate::row_name(*index))
            } else {
                format!("column {}", index + 1)
            };
            let doses: Vec<String> = v.iter().map(|x| x.1.to_string()).collect();
            problems.push(Problem {
                location: Location::file(source).at_well(p, ""),
                message: format!(
                    "{l} × {d} along {name}: doses {} neither rise nor fall (a mis-typed dilution?)",
                    doses.join(", ")
                ),
            });
        }
    }
}

/// Each plate drawn as a grid: `V` vehicle, `B` blank, `.` empty, a letter per drug for
/// samples (legend below), `!` a used well without a numeric reading.
pub fn maps(t: &WellTable) -> String {
    let mut s = String::new();
    let drugs: BTreeSet<&str> = t
        .wells
        .iter()
        .filter(|w| w.role == Role::Sample)
        .map(|w| w.drug.as_str())
        .collect();
    let letters: BTreeMap<&str, char> = drugs
        .iter()
        .enumerate()
        .map(|(i, d)| (*d, letter(i)))
        .collect();
    for (plate, format) in &t.formats {
        let mut grid: BTreeMap<WellPos, char> = BTreeMap::new();
        for w in t.wells.iter().filter(|w| w.plate == plate) {
            let c = match w.role {
                Role::Vehicle => 'V',
                Role::Blank => 'B',
                Role::Empty => '.',
                Role::Sample => letters[w.drug.as_str()],
            };
            let c = if w.role != Role::Empty && w.signal.value().is_none() {
                '!'
            } else {
                c
            };
            grid.insert(w.position, c);
        }
        let _ = writeln!(s, "plate {plate} ({format})");
        draw(&mut s, *format, &grid);
    }
    if !letters.is_empty() {
        let legend: Vec<String> = letters.iter().map(|(d, c)| format!("{c} {d}")).collect();
        let _ = writeln!(
            s,
            "V vehicle, B blank, . empty, ! no numeric reading; {}",
            legend.join(", ")
        );
    }
    s
}

fn letter(i: usize) -> char {
    const L: &[u8] = b"abcdefghijklmnopqrstuvwxyzCDEFGHIJKLMNOPQRSTUWXYZ";
    L.get(i).map_or('*', |&b| b as char)
}

fn draw(s: &mut String, f: PlateFormat, grid: &BTreeMap<WellPos, char>) {
    let _ = write!(s, "    ");
    for c in 0..f.columns {
        let _ = write!(s, "{}", (c + 1) % 10);
    }
    s.push('\n');
    for r in 0..f.rows {
        let _ = write!(s, "{:>3} ", crate::plate::row_name(r));
        for c in 0..f.columns {
            s.push(*grid.get(&WellPos { row: r, column: c }).unwrap_or(&' '));
        }
        s.push('\n');
    }
}
