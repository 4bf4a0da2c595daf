//! The manifest in `run.json`: the files a run wrote, read back safely, and the removal of
//! an earlier run's files.

use std::path::{Component, Path, PathBuf};

use super::MANIFEST_KEY;
use crate::error::{Location, Problem};

/// Reads the manifest of the `run.json` at `path`: its safe entries, and the problems that
/// leave an earlier run's files in place.
pub(super) fn read_manifest(path: &Path) -> (Vec<String>, Vec<Problem>) {
    let warn = |message: String| {
        (
            Vec::new(),
            vec![Problem {
                location: Location::file(path),
                message,
            }],
        )
    };
    let keep = "files of the earlier run in this folder are left in place";
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(e) => return warn(format!("cannot be read ({e}); {keep}")),
    };
    let head: ManifestHead = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return warn(format!("is not valid JSON ({e}); {keep}")),
    };
    if !head.is_ours() {
        return warn(format!("was not written by collateral; {keep}"));
    }
    let entries = match head.entries() {
        None => {
            return warn(format!(
                "lists no files (`{MANIFEST_KEY}`; written by an older collateral); {keep}"
            ))
        }
        Some(Err(m)) => return warn(format!("{m}; {keep}")),
        Some(Ok(e)) => e,
    };
    let mut problems = Vec::new();
    let safe = entries
        .into_iter()
        .filter(|e| {
            let ok = safe_manifest_path(e).is_some();
            if !ok {
                problems.push(Problem {
                    location: Location::file(path),
                    message: format!(
                        "manifest entry `{e}` ignored: not a path inside the output folder"
                    ),
                });
            }
            ok
        })
        .collect();
    (safe, problems)
}

/// The keys of a `run.json` the output folder reads: the tool that wrote it and the files it
/// lists. Every other key is the run's record (`output::run_json::RunJson`), kept as written.
#[derive(serde::Deserialize)]
pub(super) struct ManifestHead {
    /// `collateral` in a record of ours.
    #[serde(default)]
    tool: Option<serde_json::Value>,
    /// The files the run wrote ([`MANIFEST_KEY`]).
    #[serde(default, rename = "manifest")]
    manifest: Option<serde_json::Value>,
}

impl ManifestHead {
    /// The head of a `run.json` already parsed; `None` when it is not a JSON object.
    pub(super) fn of(value: &serde_json::Value) -> Option<ManifestHead> {
        serde::Deserialize::deserialize(value).ok()
    }

    /// Whether collateral wrote the record.
    pub(super) fn is_ours(&self) -> bool {
        self.tool.as_ref().and_then(serde_json::Value::as_str) == Some("collateral")
    }

    /// The listed files, or why the list is not one; `None` when the record has none.
    pub(super) fn entries(&self) -> Option<std::result::Result<Vec<String>, String>> {
        self.manifest.as_ref().map(manifest_entries)
    }
}

/// The strings of a manifest value, or why it is not a list of strings.
pub(super) fn manifest_entries(
    value: &serde_json::Value,
) -> std::result::Result<Vec<String>, String> {
    let bad = || format!("`{MANIFEST_KEY}` is not a list of file names");
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
        .collect()
}

/// A manifest entry as a relative path that stays inside the output folder, or `None`.
///
/// A manifest is read back from a file anyone could have edited, and a rerun deletes what it
/// lists, so only plain `/`-separated names are accepted: no absolute paths, drive letters,
/// `..` or `.` parts, empty parts, backslashes, NUL, and nothing of collateral's own
/// bookkeeping (the lock, staging folders).
pub fn safe_manifest_path(entry: &str) -> Option<PathBuf> {
    if entry.is_empty() || entry.contains(['\\', ':', '\0']) {
        return None;
    }
    let mut out = PathBuf::new();
    for part in entry.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.starts_with(".collateral") {
            return None;
        }
        out.push(part);
    }
    // Belt and braces: whatever the platform makes of the parts, only plain names remain.
    out.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(out)
}

/// What happened to a listed file.
pub(super) enum Removal {
    Removed,
    Absent,
    Skipped(&'static str),
}

/// Whether every part of `rel` below `outdir` is a real folder (not a link leading elsewhere).
pub(super) fn is_real_folder(outdir: &Path, rel: &Path) -> bool {
    let mut cur = outdir.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            _ => return false,
        }
    }
    true
}

/// Removes `outdir/rel` if it is a file (or a link, itself) reached through real folders only:
/// a folder replaced by a link must not lead the removal outside the output folder.
pub(super) fn remove_listed_file(outdir: &Path, rel: &Path) -> std::io::Result<Removal> {
    let parent = rel.parent().unwrap_or(Path::new(""));
    let path = outdir.join(rel);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
        Err(e) => return Err(e),
        Ok(m) if m.is_dir() => return Ok(Removal::Skipped("it is now a folder")),
        Ok(_) => {}
    }
    if !is_real_folder(outdir, parent) {
        return Ok(Removal::Skipped("a folder on its path is a link"));
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Removal::Removed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Absent),
        Err(e) => Err(e),
    }
}
