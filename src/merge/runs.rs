//! The run folders being merged: reading each, and the checks across them (names, unit,
//! shift settings, other settings).

use super::*;
use crate::output::run_json::{RunJson, TOOL};
use serde_json::Value;

/// One run folder being merged.
pub(super) struct RunFolder {
    /// The folder's name: the `run` column's value.
    pub(super) name: String,
    /// The folder as given.
    pub(super) dir: PathBuf,
    /// Its `run.json`.
    pub(super) json_path: PathBuf,
    /// Its `run.json`.
    pub(super) json: RunJson,
    /// `run.json`'s path, SHA-256 and size: the merge's inputs.
    pub(super) record: crate::run::InputRecord,
    /// `started`, normalised to nanoseconds so that text order is time order.
    pub(super) started: Option<String>,
    pub(super) shift: ShiftSettings,
}

impl RunFolder {
    pub(super) fn read(dir: &Path) -> Result<RunFolder> {
        if !dir.is_dir() {
            return Err(Error::input(
                Location::file(dir),
                "is not a folder; name the output folders of `collateral run`",
            ));
        }
        let json_path = dir.join("run.json");
        if !json_path.is_file() {
            return Err(Error::input(
                Location::file(&json_path),
                "is missing: the folder is not the output of a finished `collateral run`",
            ));
        }
        let record = input_record(&json_path)?;
        let at = || Location::file(&json_path);
        let json = RunJson::read(&json_path)?;
        if json.is_merge() {
            return Err(Error::input(
                at(),
                "is the output of `collateral merge`, not of a run; merge the run folders it lists under `merge.runs` instead",
            ));
        }
        if json.tool != TOOL {
            return Err(Error::input(
                at(),
                "was not written by collateral (no `\"tool\": \"collateral\"`)",
            ));
        }
        let started = match &json.started {
            None => None,
            Some(v) => Some(sortable_time(v).ok_or_else(|| {
                Error::input(
                    at(),
                    format!("`started` is {v:?}; expected an RFC 3339 UTC time such as \"2026-12-01T21:53:07.042Z\""),
                )
            })?),
        };
        let Some(shift) = json.settings.shift.clone() else {
            return Err(Error::input(
                at(),
                "has no `settings.shift`; was it written by this version of collateral?",
            ));
        };
        // The canonical folder names `.` and `runs/a/` alike.
        let name = std::fs::canonicalize(dir)
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Ok(RunFolder {
            name,
            dir: dir.to_path_buf(),
            json_path,
            json,
            record,
            started,
            shift,
        })
    }

    pub(super) fn unit(&self) -> &str {
        &self.json.assay.concentration_unit
    }

    /// `run `a` (a/run.json)`, for messages naming the run.
    pub(super) fn label(&self) -> String {
        format!("run `{}` ({})", self.name, self.json_path.display())
    }
}

/// An RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`) as text whose order is time order
/// (the fraction padded to nine digits); `None` for anything else.
pub(super) fn sortable_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[b.len() - 1] == b'Z' || b[b.len() - 1] == b'z');
    if !shape {
        return None;
    }
    let fraction = &s[19..s.len() - 1];
    let fraction = match fraction.strip_prefix('.') {
        None if fraction.is_empty() => "",
        Some(f) if (1..=9).contains(&f.len()) && f.bytes().all(|d| d.is_ascii_digit()) => f,
        _ => return None,
    };
    Some(format!("{}.{fraction:0<9}", &s[..19]))
}

/// Refuses the same folder twice, two folders of one name (the `run` column could not tell them
/// apart) and an output folder that is one of the runs.
pub(super) fn check_identities(folders: &[RunFolder], outdir: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<PathBuf, &RunFolder> = BTreeMap::new();
    let mut names: BTreeMap<&str, &RunFolder> = BTreeMap::new();
    let out = std::fs::canonicalize(outdir).ok();
    for f in folders {
        let canonical = std::fs::canonicalize(&f.dir).unwrap_or_else(|_| f.dir.clone());
        if out.as_ref() == Some(&canonical) {
            problems.push(Problem {
                location: Location::file(outdir),
                message: format!(
                    "is {}, one of the folders being merged; write the merge into a folder of its own",
                    f.label()
                ),
            });
        }
        if let Some(first) = seen.insert(canonical, f) {
            problems.push(Problem {
                location: Location::file(&f.dir),
                message: format!("is named twice (also as {})", first.dir.display()),
            });
            continue;
        }
        if let Some(first) = names.insert(&f.name, f) {
            problems.push(Problem {
                location: Location::file(&f.dir),
                message: format!(
                    "has the same folder name `{}` as {}; the `run` column names a run by its folder, so rename one of them",
                    f.name,
                    first.dir.display()
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::problems(ErrorKind::Config, problems))
    }
}

/// The concentration unit every run used: IC50s in µM and nM cannot share a matrix.
pub(super) fn common_unit(folders: &[RunFolder]) -> Result<String> {
    let first = &folders[0];
    let problems: Vec<Problem> = folders[1..]
        .iter()
        .filter(|f| f.unit() != first.unit())
        .map(|f| Problem {
            location: Location::file(&f.json_path),
            message: format!(
                "concentrations are in `{}` in {} but in `{}` in {}; convert one screen's concentrations and rerun it before merging",
                f.unit(),
                f.label(),
                first.unit(),
                first.label()
            ),
        })
        .collect();
    if problems.is_empty() {
        Ok(first.unit().to_string())
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// The evidence settings of the merge: the runs' own (`settings.evidence` of their `run.json`;
/// the bundled tables when absent), so the merged shifts are marked as each run marked its
/// own. The runs must agree on the bundled tables and on the lab's drug aliases (the same name
/// would otherwise stand for different drugs in one matrix); their evidence files are all
/// read, each once, and a file no longer where its run found it is an error naming the file
/// and the run.
pub(super) fn common_evidence_settings(
    folders: &[RunFolder],
) -> Result<crate::evidence::EvidenceSettings> {
    use crate::evidence::EvidenceSettings;
    // run.json's typed evidence section (read with located errors by RunJson::read).
    let of_run: Vec<EvidenceSettings> = folders
        .iter()
        .map(|f| f.json.settings.evidence.clone().unwrap_or_default())
        .collect();
    let (first, first_settings) = (&folders[0], &of_run[0]);
    let mut merged = first_settings.clone();
    merged.files.clear();
    let mut problems = Vec::new();
    for (f, settings) in folders.iter().zip(&of_run) {
        let show = |a: &std::collections::BTreeMap<String, String>| {
            if a.is_empty() {
                "none".to_string()
            } else {
                let pairs: Vec<String> = a.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                pairs.join(", ")
            }
        };
        if settings.drug_aliases != first_settings.drug_aliases {
            problems.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "{} names its drugs with other aliases ({}) than {} ({}); merged shifts are marked with one set of aliases: rerun one of them with the other's `drug_aliases`",
                    f.label(),
                    show(&settings.drug_aliases),
                    first.label(),
                    show(&first_settings.drug_aliases)
                ),
            });
        }
        if settings.bundled != first_settings.bundled {
            problems.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "{} has `[evidence] bundled = {}` but {} has `bundled = {}`; merged shifts are marked with one set of tables",
                    f.label(),
                    settings.bundled,
                    first.label(),
                    first_settings.bundled
                ),
            });
        }
        for file in &settings.files {
            if !file.is_file() {
                problems.push(Problem {
                    location: Location::file(&f.json_path),
                    message: format!(
                        "{}'s evidence file `{}` (`settings.evidence.files`) does not exist here; merge from the folder the run was started in, or put the file back",
                        f.label(),
                        file.display()
                    ),
                });
            } else if !merged.files.contains(file) {
                merged.files.push(file.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok(merged)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// The shift settings of the merge: the runs' (which must agree field by field), with the
/// overrides applied; then checked like an assay's.
pub(super) fn common_shift_settings(
    folders: &[RunFolder],
    o: &ShiftOverrides,
) -> Result<crate::checked::Checked<ShiftSettings>> {
    let first = &folders[0];
    let mut problems = Vec::new();
    for f in &folders[1..] {
        let (a, b) = (&first.shift, &f.shift);
        let fields: [(&str, bool, String, String, &str); 6] = [
            (
                "metric",
                o.metric.is_none(),
                show(&a.metric),
                show(&b.metric),
                "--metric",
            ),
            ("tau", o.tau.is_none(), show(&a.tau), show(&b.tau), "--tau"),
            (
                "alpha",
                o.alpha.is_none(),
                show(&a.alpha),
                show(&b.alpha),
                "--alpha",
            ),
            (
                "rule",
                o.rule.is_none(),
                show(&a.rule),
                show(&b.rule),
                "--rule",
            ),
            (
                "max_cycle_length",
                o.max_cycle_length.is_none(),
                show(&a.max_cycle_length),
                show(&b.max_cycle_length),
                "--max-cycle-length",
            ),
            (
                "per_replicate",
                true,
                show(&a.per_replicate),
                show(&b.per_replicate),
                "",
            ),
        ];
        for (key, checked, va, vb, flag) in fields {
            if !checked || va == vb {
                continue;
            }
            let fix = if flag.is_empty() {
                "rerun one of them with the other's `[shift] per_replicate`".to_string()
            } else {
                format!("pass {flag} to choose one for the merge")
            };
            problems.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "`settings.shift.{key}` is {vb} in {} but {va} in {}; {fix}",
                    f.label(),
                    first.label()
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(ErrorKind::Input, problems));
    }
    let mut s = first.shift.clone();
    if let Some(m) = o.metric {
        s.metric = m;
    }
    if let Some(t) = o.tau {
        s.tau = t;
    }
    if let Some(a) = o.alpha {
        s.alpha = a;
    }
    if let Some(r) = o.rule {
        s.rule = r;
    }
    if let Some(m) = o.max_cycle_length {
        s.max_cycle_length = m;
    }
    crate::checked::Check::check(s)
}

/// A settings value as `run.json` writes it, for messages.
pub(super) fn show<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Warnings for runs whose QC, normalization or fit settings differ from the first run's: their
/// fits are merged as they are, but a reader of the matrix should know.
pub(super) fn other_settings_differences(folders: &[RunFolder]) -> Vec<Problem> {
    let first = &folders[0];
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let sections = |f: &RunFolder| f.json.settings.sections_but_shift();
    let a = sections(first);
    for f in &folders[1..] {
        let b = sections(f);
        let mut diffs = Vec::new();
        let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for section in names {
            let (sa, sb) = (
                a.get(section).and_then(Value::as_object).unwrap_or(&empty),
                b.get(section).and_then(Value::as_object).unwrap_or(&empty),
            );
            let keys: BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
            for k in keys {
                let (va, vb) = (sa.get(k), sb.get(k));
                if va != vb {
                    let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
                    diffs.push(format!("{section}.{k} {} vs {}", show(vb), show(va)));
                }
            }
        }
        if !diffs.is_empty() {
            out.push(Problem {
                location: Location::file(&f.json_path),
                message: format!(
                    "{} used other settings than {} ({}); their fits are merged as they are",
                    f.label(),
                    first.label(),
                    diffs.join(", ")
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_times_sort_as_text() {
        let a = sortable_time("2026-12-01T21:53:07Z").unwrap();
        let b = sortable_time("2026-12-01T21:53:07.042Z").unwrap();
        let c = sortable_time("2026-12-01T21:53:07.5Z").unwrap();
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(b, "2026-12-01T21:53:07.042000000");
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T21:53:07",
            "2026-12-01T21:53:07+01:00",
            "2026-12-01T21:53:07.Z",
            "2026-12-01T21:53:07.0123456789Z",
            "2026-1x-01T21:53:07Z",
        ] {
            assert_eq!(sortable_time(bad), None, "{bad}");
        }
    }
}
