//! The merged lines table: the union of the runs' tables, or one given with `--lines`.

use super::*;

/// The merged lines table and, per line, the run whose table listed it first (`None` for a
/// table given with `--lines`).
pub(super) struct MergedLines {
    pub(super) table: LinesTable,
    pub(super) source: Vec<Option<usize>>,
    /// The tables read, for `run.json`.
    pub(super) paths: Vec<PathBuf>,
}

impl MergedLines {
    pub(super) fn write(&self, w: &mut dyn Write, folders: &[RunFolder]) -> Result<()> {
        let io = |e: csv::Error| Error::io(Path::new("lines.csv"), "writing", e.into());
        let mut out = csv::Writer::from_writer(w);
        out.write_record(["cell_line", "parental_line", "selected_with", RUN_COLUMN])
            .map_err(io)?;
        for (l, src) in self.table.lines.iter().zip(&self.source) {
            out.write_record([
                l.name.as_str(),
                l.parental_line.as_deref().unwrap_or_default(),
                l.selected_with.as_deref().unwrap_or_default(),
                src.map_or("", |r| folders[r].name.as_str()),
            ])
            .map_err(io)?;
        }
        out.flush()
            .map_err(|e| Error::io(Path::new("lines.csv"), "writing", e))
    }
}

/// The lines table of the merge: `--lines`, or the union of the runs' lines tables, each found
/// through the assay file its `run.json` names. A line listed differently by two runs is an
/// error naming both.
pub(super) fn merged_lines(
    folders: &[RunFolder],
    options: &MergeOptions,
    inputs: &mut Vec<crate::run::InputRecord>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<MergedLines>> {
    if let Some(path) = &options.lines {
        let table = LinesTable::read(path)?;
        inputs.push(input_record(path)?);
        let source = vec![None; table.lines.len()];
        return Ok(Some(MergedLines {
            table,
            source,
            paths: vec![path.clone()],
        }));
    }
    let mut merged: Vec<CellLine> = Vec::new();
    let mut source: Vec<Option<usize>> = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut index: BTreeMap<String, (usize, PathBuf, u64)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (run, f) in folders.iter().enumerate() {
        let Some(table) = run_lines(f, inputs, warnings)? else {
            continue;
        };
        paths.push(table.path.clone());
        for l in table.lines {
            match index.get(&l.name) {
                None => {
                    index.insert(l.name.clone(), (merged.len(), table.path.clone(), l.line));
                    merged.push(l);
                    source.push(Some(run));
                }
                Some((i, first_path, first_line)) => {
                    let first = &merged[*i];
                    if first.parental_line != l.parental_line
                        || first.selected_with != l.selected_with
                        || first.lineage != l.lineage
                        || first.evolution_time.map(f64::to_bits)
                            != l.evolution_time.map(f64::to_bits)
                    {
                        let show = |c: &CellLine| {
                            let time = c.evolution_time.map_or(String::new(), |t| t.to_string());
                            format!(
                                "parental_line `{}`, selected_with `{}`, lineage `{}`, evolution_time `{time}`",
                                c.parental_line.as_deref().unwrap_or_default(),
                                c.selected_with.as_deref().unwrap_or_default(),
                                c.lineage
                            )
                        };
                        problems.push(Problem {
                            location: Location::file(&table.path).at_line(l.line),
                            message: format!(
                                "cell line `{}` has {} here ({}) but {} in {}:{first_line} ({}); make the lines tables agree, or give one with --lines",
                                l.name,
                                show(&l),
                                f.label(),
                                show(first),
                                first_path.display(),
                                source[*i].map_or(String::new(), |r| folders[r].label())
                            ),
                        });
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    if merged.is_empty() {
        return Ok(None);
    }
    Ok(Some(MergedLines {
        table: LinesTable {
            path: paths[0].clone(),
            has_lineage: merged.iter().any(|l| l.lineage != l.name),
            has_evolution_time: merged.iter().any(|l| l.evolution_time.is_some()),
            lines: merged,
        },
        source,
        paths,
    }))
}

/// The lines table of one run: the `lines` of the assay file its `run.json` names (`None`
/// without one). Paths in `run.json` are as the run was given them, so relative ones are read
/// from the folder the merge runs in. A table that changed since the run is used as it is now,
/// with a warning.
pub(super) fn run_lines(
    f: &RunFolder,
    inputs: &mut Vec<crate::run::InputRecord>,
    warnings: &mut Vec<Problem>,
) -> Result<Option<LinesTable>> {
    let assay_path = PathBuf::from(&f.json.assay.path);
    if !assay_path.is_file() {
        let here = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(Error::input(
            Location::file(&f.json_path),
            format!(
                "names the assay file `{}`, which is not found from here ({here}); relative paths are relative to the folder `collateral run` was started in: merge from there, or give the lines table with --lines",
                assay_path.display()
            ),
        ));
    }
    let assay = Assay::from_file(&assay_path)?;
    let Some(lines_path) = assay.lines else {
        return Ok(None);
    };
    let table = LinesTable::read(&lines_path)?;
    let record = input_record(&lines_path)?;
    let shown = lines_path.display().to_string();
    let recorded = f
        .json
        .inputs
        .iter()
        .find(|i| i.path == shown)
        .map(|i| i.sha256.as_str());
    if recorded != Some(record.sha256.as_str()) {
        warnings.push(Problem {
            location: Location::file(&lines_path),
            message: format!(
                "is not the lines table {} used (its SHA-256 {}); the merge uses it as it is now",
                f.label(),
                if recorded.is_some() {
                    "differs from the one in run.json"
                } else {
                    "is not in run.json's inputs"
                }
            ),
        });
    }
    if !inputs.iter().any(|i| i.path == record.path) {
        inputs.push(record);
    }
    Ok(Some(table))
}

/// Warnings for fitted lines the lines table leaves out (fitted, not compared) and for listed
/// lines no run fitted.
pub(super) fn unlisted_lines(lines: &LinesTable, owner: &BTreeMap<Key, usize>) -> Vec<Problem> {
    let fitted: BTreeSet<&str> = owner.keys().map(|(l, _)| l.as_str()).collect();
    let listed: BTreeSet<&str> = lines.lines.iter().map(|l| l.name.as_str()).collect();
    let mut out = Vec::new();
    let missing: Vec<&str> = fitted.difference(&listed).copied().collect();
    if !missing.is_empty() {
        out.push(Problem {
            location: Location::file(&lines.path),
            message: format!(
                "cell lines {} are fitted but not in the lines table; they are merged but not compared",
                missing.join(", ")
            ),
        });
    }
    let unfitted: Vec<&str> = listed.difference(&fitted).copied().collect();
    if !unfitted.is_empty() {
        out.push(Problem {
            location: Location::file(&lines.path),
            message: format!(
                "cell lines {} of the lines table have no fit in any run",
                unfitted.join(", ")
            ),
        });
    }
    out
}
