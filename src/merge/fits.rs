//! The runs' fits tables: one fit per (cell line, drug), which run keeps it, and the
//! estimates the merged comparison is computed from.

use super::*;
use crate::output::read::named_cell;

/// A (cell line, drug) pair.
pub(super) type Key = (String, String);

/// One fits table row of a run.
pub(super) struct FitRow {
    pub(super) key: Key,
    /// The replicate (`fits_by_replicate.csv`) or batch (`fits_by_batch.csv`), else empty.
    pub(super) label: String,
    pub(super) run: usize,
    pub(super) line: u64,
    /// How its fit ended.
    pub(super) status: crate::fit::FitStatus,
    pub(super) record: csv::StringRecord,
}

/// The rows of one fits table (`fits.csv`, `fits_by_replicate.csv` or `fits_by_batch.csv`) of
/// every run.
pub(super) struct Fits {
    pub(super) name: &'static str,
    /// Each run's header.
    pub(super) headers: Vec<Vec<String>>,
    pub(super) rows: Vec<FitRow>,
}

impl Fits {
    /// Reads `name` from every run; a table of curves by `label` (a `replicate` or `batch`
    /// column) may be absent. A (cell line, drug) — with its label — twice in one table is an
    /// error.
    pub(super) fn read(
        folders: &[RunFolder],
        name: &'static str,
        label: Option<&str>,
    ) -> Result<Fits> {
        let mut fits = Fits {
            name,
            headers: Vec::new(),
            rows: Vec::new(),
        };
        let mut problems = Vec::new();
        for (run, f) in folders.iter().enumerate() {
            let path = f.dir.join(name);
            if label.is_some() && !crate::table::parquet::table_exists(&path) {
                fits.headers.push(Vec::new());
                continue;
            }
            let bytes = read_bytes(&path)?;
            let mut t = Table::from_bytes(&bytes, &path)?;
            let (c_line, c_drug) = (t.require("cell_line")?, t.require("drug")?);
            let c_label = label.map(|l| t.require(l)).transpose()?;
            let c_status = t.require("status")?;
            check_no_run_column(&t.path, &t.headers)?;
            fits.headers.push(t.headers.clone());
            let mut seen: BTreeMap<(Key, String), u64> = BTreeMap::new();
            let mut rec = csv::StringRecord::new();
            while let Some(line) = t.next_row(&mut rec)? {
                let key = (
                    field(&rec, Some(c_line)).to_string(),
                    field(&rec, Some(c_drug)).to_string(),
                );
                let label = field(&rec, c_label).to_string();
                let status = field(&rec, Some(c_status));
                let status = match named_cell(status, t.at(line), "status") {
                    Ok(status) => status,
                    Err(e) => {
                        problems.extend(e.problems_found().iter().cloned());
                        continue;
                    }
                };
                if let Some(first) = seen.insert((key.clone(), label.clone()), line) {
                    problems.push(Problem {
                        location: t.at(line),
                        message: format!(
                            "`{}` × `{}` is fitted twice in this table (also line {first}); a run writes one row per curve",
                            key.0, key.1
                        ),
                    });
                    continue;
                }
                fits.rows.push(FitRow {
                    key,
                    label,
                    run,
                    line,
                    status,
                    record: rec.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(fits)
        } else {
            Err(Error::problems(ErrorKind::Input, problems))
        }
    }

    /// The rows whose run holds the kept fit of their (cell line, drug), sorted by cell line,
    /// label and drug (the order of a run's tables).
    pub(super) fn chosen<'a>(&'a self, owner: &BTreeMap<Key, usize>) -> Vec<&'a FitRow> {
        let mut rows: Vec<&FitRow> = self
            .rows
            .iter()
            .filter(|r| owner.get(&r.key) == Some(&r.run))
            .collect();
        rows.sort_by(|a, b| (&a.key.0, &a.label, &a.key.1).cmp(&(&b.key.0, &b.label, &b.key.1)));
        rows
    }

    /// The (cell line, drug) pairs fitted in more than one run: the pair, the run kept and the
    /// runs left out.
    pub(super) fn duplicates(&self, owner: &BTreeMap<Key, usize>) -> Vec<(Key, usize, Vec<usize>)> {
        let mut runs: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
        for r in &self.rows {
            runs.entry(&r.key).or_default().push(r.run);
        }
        runs.into_iter()
            .filter(|(_, v)| v.len() > 1)
            .filter_map(|(k, v)| {
                let kept = *owner.get(k)?;
                Some((
                    k.clone(),
                    kept,
                    v.into_iter().filter(|&r| r != kept).collect(),
                ))
            })
            .collect()
    }

    /// Writes the kept rows with the union of the runs' columns (in first-seen order; a
    /// column a run lacks is empty) and [`RUN_COLUMN`].
    pub(super) fn write(
        &self,
        w: &mut dyn Write,
        folders: &[RunFolder],
        owner: &BTreeMap<Key, usize>,
    ) -> Result<()> {
        let header = union_header(&self.headers, &[]);
        let maps: Vec<Vec<Option<usize>>> = self
            .headers
            .iter()
            .map(|h| column_map(&header, h))
            .collect();
        let mut out = csv::Writer::from_writer(w);
        let io = |e: csv::Error| Error::io(Path::new(self.name), "writing", e.into());
        let mut full = header.clone();
        full.push(RUN_COLUMN.to_string());
        out.write_record(&full).map_err(io)?;
        for row in self.chosen(owner) {
            let cells = maps[row.run]
                .iter()
                .map(|i| i.and_then(|i| row.record.get(i)).unwrap_or_default())
                .chain([folders[row.run].name.as_str()]);
            out.write_record(cells).map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::io(Path::new(self.name), "writing", e))
    }
}

/// Which run's fit each (cell line, drug) keeps: its only run, or with
/// [`OnDuplicate::Newest`] the run that started last.
pub(super) fn choose_fits(
    folders: &[RunFolder],
    fits: &Fits,
    on_duplicate: OnDuplicate,
) -> Result<BTreeMap<Key, usize>> {
    let mut by_key: BTreeMap<&Key, Vec<&FitRow>> = BTreeMap::new();
    for r in &fits.rows {
        by_key.entry(&r.key).or_default().push(r);
    }
    let mut owner = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, rows) in by_key {
        if rows.len() == 1 {
            owner.insert(key.clone(), rows[0].run);
            continue;
        }
        let at = |r: &FitRow| {
            format!(
                "{}:{}",
                folders[r.run].dir.join("fits.csv").display(),
                r.line
            )
        };
        let places: Vec<String> = rows
            .iter()
            .map(|r| format!("run `{}` ({})", folders[r.run].name, at(r)))
            .collect();
        let location =
            Location::file(folders[rows[1].run].dir.join("fits.csv")).at_line(rows[1].line);
        if on_duplicate == OnDuplicate::Error {
            problems.push(Problem {
                location,
                message: format!(
                    "`{}` × `{}` is fitted in {}; the merge keeps one fit per cell line and drug: pass --on-duplicate newest to keep the newest run's, or leave a run out",
                    key.0,
                    key.1,
                    places.join(" and ")
                ),
            });
            continue;
        }
        let undated: Vec<&FitRow> = rows
            .iter()
            .copied()
            .filter(|r| folders[r.run].started.is_none())
            .collect();
        if let Some(r) = undated.first() {
            problems.push(Problem {
                location: Location::file(&folders[r.run].json_path),
                message: format!(
                    "has no `started` time (written by an older collateral), so --on-duplicate newest cannot order it against the other runs fitting `{}` × `{}` ({}); rerun it",
                    key.0,
                    key.1,
                    places.join(", ")
                ),
            });
            continue;
        }
        let newest = rows
            .iter()
            .max_by(|a, b| folders[a.run].started.cmp(&folders[b.run].started))
            .expect("two rows or more");
        let ties: Vec<&&FitRow> = rows
            .iter()
            .filter(|r| folders[r.run].started == folders[newest.run].started)
            .collect();
        if ties.len() > 1 {
            problems.push(Problem {
                location,
                message: format!(
                    "`{}` × `{}` is fitted in {}, which started at the same time ({}); --on-duplicate newest cannot choose: leave a run out",
                    key.0,
                    key.1,
                    places.join(" and "),
                    folders[newest.run].json.started.as_deref().unwrap_or_default()
                ),
            });
            continue;
        }
        owner.insert(key.clone(), newest.run);
    }
    if problems.is_empty() {
        Ok(owner)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// The estimates the shifts compare, as `collateral run` builds them: from the kept `fits.csv`
/// rows, and with `per_replicate` the resistant lines' `fits_by_replicate.csv` rows instead
/// (with rule `maltas-wood` also the parental lines', beside their pooled rows), and the kept
/// lines' `fits_by_batch.csv` rows (runs whose wells name batches).
/// Read with [`read_estimates`] from each run's own file, so problems point at that file.
pub(super) fn estimates(
    folders: &[RunFolder],
    owner: &BTreeMap<Key, usize>,
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Result<Vec<Estimate>> {
    let per_replicate: BTreeSet<&str> = if settings.per_replicate {
        lines
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .map(|l| l.name.as_str())
            .collect()
    } else {
        BTreeSet::new()
    };
    // Rule maltas-wood needs the parental lines' replicate fits too (as `run` makes them).
    let mut replicate_lines = per_replicate.clone();
    if settings.rule == CallRule::MaltasWood {
        replicate_lines.extend(
            lines
                .lines
                .iter()
                .filter_map(|l| l.parental_line.as_deref()),
        );
    }
    let kept =
        |run: usize, e: &Estimate| owner.get(&(e.cell_line.clone(), e.drug.clone())) == Some(&run);
    let mut pooled = Vec::new();
    let mut replicates = Vec::new();
    let mut batches = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        for e in read_estimates(&f.dir.join("fits.csv"), settings.metric)? {
            if kept(run, &e) && !per_replicate.contains(e.cell_line.as_str()) {
                pooled.push(e);
            }
        }
        let path = f.dir.join("fits_by_replicate.csv");
        if !replicate_lines.is_empty() && crate::table::parquet::table_exists(&path) {
            for e in read_estimates(&path, settings.metric)? {
                if kept(run, &e) && replicate_lines.contains(e.cell_line.as_str()) {
                    replicates.push(e);
                }
            }
        }
        // A run whose wells name batches pairs its lines batch by batch on these.
        let path = f.dir.join(BATCH_FITS);
        if crate::table::parquet::table_exists(&path) {
            batches.extend(
                read_estimates(&path, settings.metric)?
                    .into_iter()
                    .filter(|e| kept(run, e)),
            );
        }
    }
    // The order of a run's curves: pooled by (line, drug), then replicates by (line, rep, drug).
    pooled.sort_by(|a, b| (&a.cell_line, &a.drug).cmp(&(&b.cell_line, &b.drug)));
    replicates.sort_by(|a, b| {
        (&a.cell_line, &a.replicate, &a.drug).cmp(&(&b.cell_line, &b.replicate, &b.drug))
    });
    // Then the batches' curves by (line, batch, drug).
    batches
        .sort_by(|a, b| (&a.cell_line, &a.batch, &a.drug).cmp(&(&b.cell_line, &b.batch, &b.drug)));
    pooled.extend(replicates);
    pooled.extend(batches);
    Ok(pooled)
}
