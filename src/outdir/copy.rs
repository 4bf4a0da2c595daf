//! Copying a finished output folder into another as its command would have written it.

use std::path::{Path, PathBuf};

use super::manifest::{read_manifest, safe_manifest_path};
use super::staging::Staging;
use super::MANIFEST_FILE;
use crate::error::{Error, Location, Problem, Result};

/// Copies the finished output folder `from` into the output folder `to` as the command that
/// made it would have written it there: under `to`'s lock, staged and moved into place
/// together. A folder with a `run.json` manifest (of `run` or `merge`) is copied as listed, and
/// the files of an earlier run in `to` that it does not have are removed, as a rerun removes
/// them; without one (`shift`), `names` lists the files and nothing in `to` is removed.
/// Anything else in `to` is never touched. Returns the files written and the warnings of
/// taking the folder. The Python package saves a run made in a private folder this way.
pub fn copy_folder(
    from: &Path,
    to: &Path,
    names: Option<&[String]>,
) -> Result<(Vec<PathBuf>, Vec<Problem>)> {
    let run_json = from.join(MANIFEST_FILE);
    let (entries, with_manifest) = match names {
        Some(names) => {
            for n in names {
                if safe_manifest_path(n).is_none() {
                    return Err(Error::config(
                        Location::file(from.join(n)),
                        "is not a file name inside the folder",
                    ));
                }
            }
            (names.to_vec(), false)
        }
        None => {
            let (entries, problems) = read_manifest(&run_json);
            if let Some(p) = problems.into_iter().next() {
                return Err(Error::input(p.location, p.message));
            }
            if entries.is_empty() {
                return Err(Error::input(
                    Location::file(&run_json),
                    "lists no files: not the folder of a finished collateral run",
                ));
            }
            (entries, true)
        }
    };
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(from, to) {
        return Err(Error::config(
            Location::file(to),
            "is the folder being copied; name another folder",
        ));
    }
    let staging = Staging::new(to)?;
    let previous = staging.previous_manifest();
    let mut run = None;
    for entry in &entries {
        if with_manifest && entry == MANIFEST_FILE {
            let text = std::fs::read_to_string(&run_json)
                .map_err(|e| Error::io(&run_json, "reading", e))?;
            run = Some(
                serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                    Error::input(Location::file(&run_json), format!("is not valid JSON: {e}"))
                })?,
            );
            continue;
        }
        // Only safe entries get here: plain relative paths inside the folder.
        let source = from.join(entry);
        let mut file =
            std::fs::File::open(&source).map_err(|e| Error::io(&source, "reading", e))?;
        staging.write(entry, |w| std::io::copy(&mut file, w).map(|_| ()))?;
    }
    let mut warnings = staging.take_warnings();
    if let Some(value) = run {
        staging.write_with_manifest(value)?;
        let (files, more) = staging.commit_replacing(&previous)?;
        warnings.extend(more);
        Ok((files, warnings))
    } else {
        Ok((staging.commit()?, warnings))
    }
}
