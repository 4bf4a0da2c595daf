//! The merged per-well and per-plate tables (`wells.csv`, `qc.csv`, `dip_rates.csv`,
//! `mics.csv`): every run's rows with their `run`, plate ids told apart, and the rows behind
//! a fit left out marked.

use super::*;
use crate::output::read::{flag_cell, named_cell, optional_named_cell};
use crate::output::record::read_records;
use crate::output::well_rows::{WellRecord, WellsReader};
use crate::qc::Verdict;
use crate::wells::Role;

/// The union of headers in first-seen order, `tail` columns (those present) moved to the end.
pub(super) fn union_header(headers: &[Vec<String>], tail: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in headers.iter().flatten() {
        if !tail.contains(&h.as_str()) && !out.contains(h) {
            out.push(h.clone());
        }
    }
    for t in tail {
        if headers.iter().flatten().any(|h| h == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// For each column of `header`, its index in `own` (a run's header), if the run has it.
pub(super) fn column_map(header: &[String], own: &[String]) -> Vec<Option<usize>> {
    header
        .iter()
        .map(|c| own.iter().position(|h| h == c))
        .collect()
}

/// Plate ids in the merged tables: a plate id used by more than one run (weekly batches all
/// starting at `P001`) becomes `RUN/PLATE` in every run, so that plate maps and QC rows do not
/// mix different plates; unique ids stay as they are.
pub(super) struct PlateNames {
    pub(super) renamed: BTreeSet<String>,
    /// Each run's `wells.csv` header.
    pub(super) wells_headers: Vec<Vec<String>>,
    /// Each run's `qc.csv` header.
    pub(super) qc_headers: Vec<Vec<String>>,
}

impl PlateNames {
    /// The plate ids of every run's `wells.csv` and `qc.csv`, and their headers.
    pub(super) fn new(folders: &[RunFolder]) -> Result<PlateNames> {
        let mut runs_of: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut wells_headers = Vec::new();
        let mut qc_headers = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            let mut wells = WellsReader::open(&f.dir.join("wells.csv"))?;
            check_no_run_column(wells.path(), &wells.columns().header)?;
            wells_headers.push(wells.columns().header.clone());
            // Rows come plate by plate: a plate is noted when it changes, not every row.
            let mut last: Option<Vec<u8>> = None;
            while let Some(row) = wells.next_row()? {
                if last.as_deref() != Some(row.plate_bytes()) {
                    last = Some(row.plate_bytes().to_vec());
                    note_run(&mut runs_of, row.plate()?.trim(), run);
                }
            }
            let path = f.dir.join("qc.csv");
            let bytes = read_bytes(&path)?;
            let mut t = Table::from_bytes(&bytes, &path)?;
            let c_plate = t.require("plate")?;
            check_no_run_column(&t.path, &t.headers)?;
            qc_headers.push(t.headers.clone());
            let mut rec = csv::StringRecord::new();
            while t.next_row(&mut rec)?.is_some() {
                note_run(&mut runs_of, field(&rec, Some(c_plate)), run);
            }
        }
        Ok(PlateNames {
            renamed: runs_of
                .into_iter()
                .filter(|(_, runs)| runs.len() > 1)
                .map(|(p, _)| p)
                .collect(),
            wells_headers,
            qc_headers,
        })
    }

    pub(super) fn name(&self, run: &str, plate: &str) -> String {
        if self.renamed.contains(plate) {
            format!("{run}/{plate}")
        } else {
            plate.to_string()
        }
    }
}

/// Notes that `run` has plate `plate`.
fn note_run(runs_of: &mut BTreeMap<String, BTreeSet<usize>>, plate: &str, run: usize) {
    match runs_of.get_mut(plate) {
        Some(runs) => {
            runs.insert(run);
        }
        None => {
            runs_of.insert(plate.to_string(), BTreeSet::from([run]));
        }
    }
}

/// Why a well behind a fit the merge left out is excluded (in `wells.csv` and `dip_rates.csv`).
fn superseded_reason(line: &str, drug: &str, kept_run: &str) -> String {
    format!(
        "superseded: the merge keeps the fit of {line} × {drug} from run {kept_run} (--on-duplicate newest)"
    )
}

/// Counts over the merged `wells.csv`, for `run.json`.
#[derive(Default)]
pub(super) struct WellCounts {
    pub(super) plates: BTreeSet<String>,
    pub(super) wells: usize,
    pub(super) by_role: BTreeMap<String, usize>,
    pub(super) cell_lines: BTreeSet<String>,
    pub(super) drugs: BTreeSet<String>,
    pub(super) flagged: usize,
    pub(super) excluded: usize,
    pub(super) superseded: usize,
}

/// Writes the merged `wells.csv`: every run's wells (plate ids as [`PlateNames`] says), with
/// [`RUN_COLUMN`]. Sample wells behind a fit the merge left out (`--on-duplicate newest`) are
/// marked excluded with the reason, so what the merged folder draws is what it fitted.
pub(super) fn write_wells(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    owner: &BTreeMap<Key, usize>,
    counts: &mut WellCounts,
) -> Result<()> {
    let tail = crate::output::WELL_OUTCOME_COLUMNS;
    let header = union_header(&plates.wells_headers, &tail);
    let io = |e: csv::Error| Error::io(Path::new("wells.csv"), "writing", e.into());
    let mut out = csv::Writer::from_writer(w);
    let mut full = header.clone();
    full.push(RUN_COLUMN.to_string());
    out.write_record(&full).map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let at = MergedAt {
        plate: col("plate"),
        excluded: col("excluded"),
        reason: col("exclusion_reason"),
    };
    for (run, f) in folders.iter().enumerate() {
        let mut reader = WellsReader::open(&f.dir.join("wells.csv"))?;
        let map = column_map(&header, &plates.wells_headers[run]);
        // Rows come plate by plate: the merged name of the last plate, by its bytes.
        let mut plate: Option<(Vec<u8>, String)> = None;
        while let Some(row) = reader.next_row()? {
            let name = match &plate {
                Some((bytes, name)) if bytes.as_slice() == row.plate_bytes() => name,
                _ => {
                    let name = plates.name(&f.name, row.plate()?);
                    counts.plates.insert(name.clone());
                    &plate.insert((row.plate_bytes().to_vec(), name)).1
                }
            };
            let superseded = superseded(&row, run, owner, folders)?;
            counts.count(&row, superseded.is_some())?;
            for (k, i) in map.iter().enumerate() {
                let cell: &[u8] = match &superseded {
                    _ if Some(k) == at.plate => name.as_bytes(),
                    Some(_) if Some(k) == at.excluded => FLAG_TRUE.as_bytes(),
                    Some(reason) if Some(k) == at.reason => reason.as_bytes(),
                    _ => i.map_or(&[][..], |i| row.bytes(i)),
                };
                out.write_field(cell).map_err(io)?;
            }
            out.write_field(f.name.as_bytes()).map_err(io)?;
            out.write_record(None::<&[u8]>).map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new("wells.csv"), "writing", e))
}

/// Where the cells the merge may change sit in the merged `wells.csv`.
struct MergedAt {
    plate: Option<usize>,
    excluded: Option<usize>,
    reason: Option<usize>,
}

/// Why the merge leaves out the well of `row` (of run `run`): a sample well the run used,
/// behind a fit the merge took from another run; `None` for any other well.
fn superseded(
    row: &WellRecord<'_>,
    run: usize,
    owner: &BTreeMap<Key, usize>,
    folders: &[RunFolder],
) -> Result<Option<String>> {
    if row.role()? != Role::Sample || row.excluded()? {
        return Ok(None);
    }
    let (line, drug) = (row.cell_line()?, row.drug()?);
    Ok(match owner.get(&(line.to_string(), drug.to_string())) {
        Some(&kept) if kept != run => Some(superseded_reason(line, drug, &folders[kept].name)),
        _ => None,
    })
}

impl WellCounts {
    /// Counts the well of `row` (its plate is counted by the caller, once per plate);
    /// `superseded`: the merge leaves it out.
    fn count(&mut self, row: &WellRecord<'_>, superseded: bool) -> Result<()> {
        let role = row.role()?;
        self.wells += 1;
        match self.by_role.get_mut(role.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.by_role.insert(role.as_str().to_string(), 1);
            }
        }
        for (set, name) in [
            (&mut self.cell_lines, row.cell_line()?),
            (&mut self.drugs, row.drug()?),
        ] {
            if !name.is_empty() && !set.contains(name) {
                set.insert(name.to_string());
            }
        }
        if role != Role::Empty && row.signal_value()?.is_none() {
            self.flagged += 1;
        }
        self.superseded += usize::from(superseded);
        if superseded || row.excluded()? {
            self.excluded += 1;
        }
        Ok(())
    }
}

/// The per-well DIP rates a run writes when its wells are read at several times.
pub(super) const DIP_RATES: &str = "dip_rates.csv";

/// The fits of the curves per batch of a run whose wells name batches.
pub(super) const BATCH_FITS: &str = "fits_by_batch.csv";

/// Writes the merged `dip_rates.csv`: the rows of every run that wrote one (plate ids as
/// [`PlateNames`] says), with [`RUN_COLUMN`]; sample wells behind a fit the merge left out are
/// marked excluded, as in `wells.csv`. A run without the file (its wells were read once)
/// contributes no rows.
pub(super) fn write_dip_rates(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    owner: &BTreeMap<Key, usize>,
) -> Result<()> {
    let io = |e: csv::Error| Error::io(Path::new(DIP_RATES), "writing", e.into());
    let mut tables = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        let path = f.dir.join(DIP_RATES);
        if crate::table::parquet::table_exists(&path) {
            tables.push((run, path.clone(), read_bytes(&path)?));
        }
    }
    let mut headers = Vec::new();
    for (_, path, bytes) in &tables {
        let t = Table::from_bytes(bytes, path)?;
        check_no_run_column(&t.path, &t.headers)?;
        headers.push(t.headers.clone());
    }
    let header = union_header(&headers, &["excluded", "reason"]);
    let mut out = csv::Writer::from_writer(w);
    out.write_record(header.iter().map(String::as_str).chain([RUN_COLUMN]))
        .map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (h_plate, h_line, h_drug, h_role, h_excluded, h_reason) = (
        col("plate"),
        col("cell_line"),
        col("drug"),
        col("role"),
        col("excluded"),
        col("reason"),
    );
    let mut cells: Vec<String> = Vec::new();
    for ((run, path, bytes), own) in tables.iter().zip(&headers) {
        let f = &folders[*run];
        let mut t = Table::from_bytes(bytes, path)?;
        let map = column_map(&header, own);
        let mut rec = csv::StringRecord::new();
        while let Some(at) = t.next_row(&mut rec)? {
            cells.clear();
            cells.extend(
                map.iter()
                    .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_string()),
            );
            if let Some(c) = h_plate {
                cells[c] = plates.name(&f.name, &cells[c]);
            }
            let get = |c: Option<usize>| c.map_or("", |c| cells[c].as_str());
            let key = (get(h_line).to_string(), get(h_drug).to_string());
            let typed = WellCells::of(&cells, h_role, h_excluded, || t.at(at))?;
            let superseded = typed.role == Some(Role::Sample)
                && !typed.excluded
                && owner.get(&key).is_some_and(|&kept| kept != *run);
            if let (true, Some(e), Some(r)) = (superseded, h_excluded, h_reason) {
                cells[e] = FLAG_TRUE.into();
                let note = superseded_reason(&key.0, &key.1, &folders[owner[&key]].name);
                // The run's own notes (reads not numeric, ...) stay after it.
                cells[r] = if cells[r].is_empty() {
                    note
                } else {
                    format!("{note}; {}", cells[r])
                };
            }
            out.write_record(cells.iter().map(String::as_str).chain([f.name.as_str()]))
                .map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new(DIP_RATES), "writing", e))
}

/// The cells of a `wells.csv` or `dip_rates.csv` row the merge decides on, typed: a malformed
/// one is an error naming its file, line and column.
struct WellCells {
    /// The well's role (`None` when the table has no `role` column).
    role: Option<Role>,
    /// Whether the run excluded the well.
    excluded: bool,
}

impl WellCells {
    /// The typed cells of `cells`, whose row is at `at`.
    fn of(
        cells: &[String],
        role: Option<usize>,
        excluded: Option<usize>,
        at: impl Fn() -> Location,
    ) -> Result<WellCells> {
        Ok(WellCells {
            role: role
                .map(|c| named_cell::<Role>(&cells[c], at(), "role"))
                .transpose()?,
            excluded: match excluded {
                Some(c) => flag_cell(&cells[c], at(), "excluded")?,
                None => false,
            },
        })
    }
}

/// How the per-well tables write an excluded well's flag.
const FLAG_TRUE: &str = "true";

/// Counts over the merged `qc.csv`, for `run.json`.
#[derive(Default)]
pub(super) struct QcCounts {
    pub(super) rows: usize,
    /// pass, warn, fail over the unit rows (a cell line named), as `run` counts them.
    pub(super) verdicts: [usize; 3],
}

/// Writes the merged `qc.csv`: every run's rows (plate ids as [`PlateNames`] says), with
/// [`RUN_COLUMN`].
pub(super) fn write_qc(
    w: &mut dyn Write,
    folders: &[RunFolder],
    plates: &PlateNames,
    counts: &mut QcCounts,
) -> Result<()> {
    let header = union_header(&plates.qc_headers, &[]);
    let io = |e: csv::Error| Error::io(Path::new("qc.csv"), "writing", e.into());
    let mut out = csv::Writer::from_writer(w);
    let mut full = header.clone();
    full.push(RUN_COLUMN.to_string());
    out.write_record(&full).map_err(io)?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (h_plate, h_line, h_verdict) = (col("plate"), col("cell_line"), col("verdict"));
    for (run, f) in folders.iter().enumerate() {
        let path = f.dir.join("qc.csv");
        let bytes = read_bytes(&path)?;
        let mut t = Table::from_bytes(&bytes, &path)?;
        let map = column_map(&header, &plates.qc_headers[run]);
        let mut rec = csv::StringRecord::new();
        while let Some(at) = t.next_row(&mut rec)? {
            let mut cells: Vec<String> = map
                .iter()
                .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_string())
                .collect();
            if let Some(c) = h_plate {
                cells[c] = plates.name(&f.name, &cells[c]);
            }
            counts.rows += 1;
            let unit = h_line.is_some_and(|c| !cells[c].is_empty());
            let verdict = h_verdict.map_or("", |c| cells[c].as_str());
            let verdict: Option<Verdict> = optional_named_cell(verdict, t.at(at), "verdict")?;
            if let (Some(v), true) = (verdict, unit) {
                let i = match v {
                    Verdict::Pass => 0,
                    Verdict::Warn => 1,
                    Verdict::Fail => 2,
                };
                counts.verdicts[i] += 1;
            }
            out.write_record(cells.iter().map(String::as_str).chain([f.name.as_str()]))
                .map_err(io)?;
        }
    }
    out.flush()
        .map_err(|e| Error::io(Path::new("qc.csv"), "writing", e))
}

/// Refuses a table that already has a column named [`RUN_COLUMN`] (carried through from a
/// wells table): the provenance column would shadow it.
pub(super) fn check_no_run_column(path: &Path, headers: &[String]) -> Result<()> {
    match headers.iter().position(|h| h.eq_ignore_ascii_case(RUN_COLUMN)) {
        None => Ok(()),
        Some(i) => Err(Error::input(
            Location::file(path).at_line(1),
            format!(
                "has a column `{}` (column {}), the name the merge gives its provenance column; rename it in the inputs and rerun",
                headers[i],
                i + 1
            ),
        )),
    }
}

/// Metric mic: the `mics.csv` rows of every run whose (cell line, drug) fit the merge kept, so
/// that one dilution model (one error rate) is fitted to the merged table, as `run` fits one to
/// its own.
pub(super) struct MergedMics {
    pub(super) mics: Vec<crate::mic::Mic>,
    /// The run of each row.
    pub(super) runs: Vec<usize>,
    /// The runs' common `mic.threshold`.
    pub(super) threshold: f64,
}

impl MergedMics {
    /// Every run must have read its MICs (`mics.csv`) at one threshold: MICs read at 10 % and
    /// at 50 % growth are not the same measurement.
    pub(super) fn read(folders: &[RunFolder], owner: &BTreeMap<Key, usize>) -> Result<MergedMics> {
        let mut problems = Vec::new();
        let mut thresholds: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for f in folders {
            let path = f.dir.join("mics.csv");
            if !crate::table::parquet::table_exists(&path) {
                problems.push(Problem {
                    location: Location::file(&path),
                    message: format!(
                        "{} has no mics.csv (it compared {}): metric mic merges the MICs each run read from its wells; rerun it with `metric = \"mic\"`",
                        f.label(),
                        f.shift.metric.name()
                    ),
                });
            }
            let t = f.json.settings.mic.as_ref().map(|m| m.threshold);
            let t = serde_json::to_string(&t).unwrap_or_default();
            thresholds.entry(t).or_default().push(&f.name);
        }
        if thresholds.len() > 1 {
            let each: Vec<String> = thresholds
                .iter()
                .map(|(t, runs)| format!("{t} in {}", runs.join(", ")))
                .collect();
            problems.push(Problem {
                location: Location::default(),
                message: format!(
                    "the runs read their MICs at different thresholds (mic.threshold {}); MICs of one merge must be read alike: rerun them with one threshold",
                    each.join("; ")
                ),
            });
        }
        if !problems.is_empty() {
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        let mut mics = Vec::new();
        let mut runs = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            for m in read_records::<crate::mic::Mic>(&f.dir.join("mics.csv"))? {
                let key = (m.cell_line.clone(), m.drug.clone());
                // A pair without a fit row has no duplicate to resolve: it is kept.
                if owner.get(&key).is_none_or(|&kept| kept == run) {
                    mics.push(m);
                    runs.push(run);
                }
            }
        }
        let threshold = folders[0].json.settings.mic_threshold();
        Ok(MergedMics {
            mics,
            runs,
            threshold,
        })
    }

    /// The merged `mics.csv`: a run's columns, then [`RUN_COLUMN`].
    pub(super) fn write(&self, w: &mut dyn Write, folders: &[RunFolder]) -> Result<()> {
        let mut header: Vec<&str> = crate::mic::MIC_COLUMNS.to_vec();
        header.push(RUN_COLUMN);
        let rows = self.mics.iter().zip(&self.runs).map(|(m, &run)| {
            let mut cells = m.cells();
            cells.push(crate::text::Cell::text(&folders[run].name));
            cells
        });
        crate::text::write_rows(w, &header, rows)
            .map_err(|e| Error::io(Path::new("mics.csv"), "writing", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_header_keeps_order_and_tail() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = union_header(
            &[
                h(&["plate", "signal", "viability", "excluded"]),
                h(&["plate", "signal", "replicate", "viability", "excluded"]),
            ],
            &["viability", "excluded", "exclusion_reason"],
        );
        assert_eq!(
            got,
            h(&["plate", "signal", "replicate", "viability", "excluded"])
        );
    }
}
