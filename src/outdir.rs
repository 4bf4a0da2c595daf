//! The output folder of a command: its staging folder, its lock and its manifest.
//!
//! Every command that writes into an output folder (`run`, `plot`, `shift`) takes the folder's
//! lock first, stages its files in `.collateral-staging-<pid>/` and moves them into place only
//! when all are complete. The lock keeps two runs from interleaving their files; what a killed
//! run leaves behind (its lock, its staging folder) is recognised by the next run and removed.
//! `run.json` carries a manifest of the files a run wrote, so a rerun into the same folder can
//! remove what the earlier run wrote and this one does not (the plot of a line no longer in the
//! assay), without ever touching a file that collateral did not write.
//!
//! Ground layer: imports nothing of ours but `error`, so every command can use it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Location, Problem, Result};

/// Name of the lock file inside an output folder. It exists exactly while a command writes
/// into the folder and names that command's process, so a second one can say who holds it.
pub const LOCK_FILE: &str = ".collateral.lock";

/// Prefix of staging folder names inside an output folder; the process id follows, so a
/// leftover can be traced to the process that made it.
pub const STAGING_PREFIX: &str = ".collateral-staging-";

/// The output file that carries the manifest: every run writes it, and it already describes
/// the run, so the list of the run's files belongs there rather than in a file of its own.
pub const MANIFEST_FILE: &str = "run.json";

/// The top-level key of [`MANIFEST_FILE`] holding the manifest: the run's files as sorted,
/// `/`-separated paths relative to the output folder, `run.json` itself included.
pub const MANIFEST_KEY: &str = "manifest";

/// For tests only: an environment variable holding milliseconds (at most 600,000) that a
/// command waits right after taking the lock and creating its staging folder. Tests need a run
/// that is certainly still going, to run a second one against it or to kill it; unset (the
/// normal case) it does nothing, and set it only delays a command.
pub const PAUSE_VAR: &str = "COLLATERAL_TEST_PAUSE_MS";

/// A staging folder inside the output folder, holding the folder's lock; files move into place
/// on `commit`. Names may hold `/` (e.g. `plots/heatmap.svg`): subfolders are created as
/// needed. Dropping it (after a commit or an error) removes the staging folder, then the lock,
/// then the output folder itself when this command created it and left it empty.
pub(crate) struct Staging {
    outdir: PathBuf,
    dir: PathBuf,
    /// Files staged so far; a lock, not a cell, so that files can be written on several
    /// threads at once.
    names: Mutex<Vec<String>>,
    lock: Option<Lock>,
    warnings: Mutex<Vec<Problem>>,
    /// Whether `dir` was made by this value (and so is its to remove).
    made_dir: bool,
    /// Folders this command created on the way to `outdir`, deepest first.
    created: Vec<PathBuf>,
}

/// What writes one staged file (see [`Staging::write_all`]).
pub(crate) type FileWriter<'a> =
    Box<dyn FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()> + Send + 'a>;

/// A lock's value; a thread that panicked while writing left nothing half-done in it (each
/// holder pushes or reads whole entries), so its value is taken as it is.
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Staging {
    /// Creates the output folder if needed, takes its lock (removing the lock of a dead
    /// process), removes staging folders of dead processes and creates this one's.
    pub(crate) fn new(outdir: &Path) -> Result<Staging> {
        if let Ok(m) = std::fs::metadata(outdir) {
            if !m.is_dir() {
                return Err(Error::config(
                    Location::file(outdir),
                    "is a file; the outputs need a folder (name a new or an existing one)",
                ));
            }
        }
        let created = missing_folders(outdir);
        std::fs::create_dir_all(outdir)
            .map_err(|e| Error::io(outdir, "creating the output folder", e))?;
        let mut staging = Staging {
            outdir: outdir.to_path_buf(),
            dir: outdir.join(format!("{STAGING_PREFIX}{}", std::process::id())),
            names: Default::default(),
            lock: None,
            warnings: Default::default(),
            made_dir: false,
            created,
        };
        // From here on an error drops `staging`, which undoes what was done.
        let mut warnings = Vec::new();
        let (lock, stale_pids) = Lock::acquire(outdir, &mut warnings)?;
        staging.lock = Some(lock);
        sweep_staging_folders(outdir, &stale_pids, &mut warnings);
        std::fs::create_dir(&staging.dir).map_err(|e| Error::io(&staging.dir, "creating", e))?;
        staging.made_dir = true;
        *locked(&staging.warnings) = warnings;
        if let Some(ms) = std::env::var(PAUSE_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms.min(600_000)));
        }
        Ok(staging)
    }

    /// The staging folder, where staged files can be read back before the commit.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// What taking the folder found (a stale lock or staging folder removed, an unreadable
    /// manifest), for the command's warnings; each is returned once.
    pub(crate) fn take_warnings(&self) -> Vec<Problem> {
        std::mem::take(&mut *locked(&self.warnings))
    }

    /// Stages one file. Writing a name again replaces the staged file (it is moved once).
    pub(crate) fn write(
        &self,
        name: &str,
        f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
        }
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, "creating", e))?;
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io(self.outdir.join(name), "writing", e))?;
        let mut names = locked(&self.names);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        Ok(())
    }

    /// Stages several files at once, each written on its own thread: for the many tables a
    /// comparison yields. The first failure in `files`' order is the error.
    pub(crate) fn write_all(&self, files: Vec<(&str, FileWriter<'_>)>) -> Result<()> {
        use rayon::prelude::*;
        let results: Vec<Result<()>> = files
            .into_par_iter()
            .map(|(name, write)| self.write(name, write))
            .collect();
        results.into_iter().collect()
    }

    /// The manifest of what is staged so far plus `extra`: sorted, without duplicates, always
    /// listing [`MANIFEST_FILE`].
    fn manifest_with(&self, extra: &[String]) -> Vec<String> {
        let mut all: BTreeSet<String> = locked(&self.names).iter().cloned().collect();
        all.extend(extra.iter().cloned());
        all.insert(MANIFEST_FILE.to_string());
        all.into_iter().collect()
    }

    /// Stages [`MANIFEST_FILE`] as `value` (a JSON object) with the manifest of every file
    /// staged so far. Call it after the last other file is staged, so the list is complete.
    pub(crate) fn write_with_manifest(&self, mut value: serde_json::Value) -> Result<()> {
        let manifest = self.manifest_with(&[]);
        self.stage_manifest_file(&mut value, manifest)
    }

    fn stage_manifest_file(
        &self,
        value: &mut serde_json::Value,
        manifest: Vec<String>,
    ) -> Result<()> {
        let Some(object) = value.as_object_mut() else {
            return Err(Error::input(
                Location::file(self.outdir.join(MANIFEST_FILE)),
                "is not a JSON object, so it cannot carry a manifest",
            ));
        };
        object.insert(MANIFEST_KEY.to_string(), manifest.into());
        self.write(MANIFEST_FILE, |w| {
            serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        })
    }

    /// For a command that adds files to a run's folder (`plot`): stages the folder's
    /// [`MANIFEST_FILE`] again with the staged files added to its manifest, so a later run
    /// knows them. A run.json without a manifest (or not ours) is left as it is: without a
    /// record of the run's own files, a list of a few would suggest a completeness it lacks.
    pub(crate) fn add_to_manifest(&self) -> Result<()> {
        let path = self.outdir.join(MANIFEST_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(());
        };
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Ok(());
        };
        if value.get("tool").and_then(|t| t.as_str()) != Some("collateral") {
            return Ok(());
        }
        let Some(Ok(old)) = value.get(MANIFEST_KEY).map(manifest_entries) else {
            return Ok(());
        };
        let old: Vec<String> = old
            .into_iter()
            .filter(|e| safe_manifest_path(e).is_some())
            .collect();
        let manifest = self.manifest_with(&old);
        self.stage_manifest_file(&mut value, manifest)
    }

    /// The manifest of the run that wrote the folder before, with unsafe entries dropped.
    /// Empty when there is no earlier run; when its `run.json` is unreadable, not ours or lists
    /// nothing, empty too, with a warning: its files are then left in place.
    pub(crate) fn previous_manifest(&self) -> Vec<String> {
        let path = self.outdir.join(MANIFEST_FILE);
        let (entries, mut problems) = read_manifest(&path);
        locked(&self.warnings).append(&mut problems);
        entries
    }

    /// Moves every staged file into place; returns their paths in the order first staged.
    pub(crate) fn commit(self) -> Result<Vec<PathBuf>> {
        self.move_into_place()
    }

    /// Moves every staged file into place, then removes the files of `previous` (an earlier
    /// run's manifest) that this commit did not write, and the folders they leave empty.
    /// Returns the paths moved into place and warnings about files that could not be removed.
    pub(crate) fn commit_replacing(
        self,
        previous: &[String],
    ) -> Result<(Vec<PathBuf>, Vec<Problem>)> {
        let files = self.move_into_place()?;
        // Compared without case: on a case-insensitive disk `A.svg` and `a.svg` are one file,
        // and the one just written must not go.
        let written: BTreeSet<String> = locked(&self.names)
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        let mut warnings = Vec::new();
        let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
        for entry in previous {
            if written.contains(&entry.to_lowercase()) {
                continue;
            }
            let Some(rel) = safe_manifest_path(entry) else {
                continue;
            };
            match remove_listed_file(&self.outdir, &rel) {
                Ok(Removal::Removed | Removal::Absent) => {
                    folders.extend(
                        rel.ancestors()
                            .skip(1)
                            .filter(|a| !a.as_os_str().is_empty())
                            .map(Path::to_path_buf),
                    );
                }
                Ok(Removal::Skipped(why)) => warnings.push(Problem {
                    location: Location::file(self.outdir.join(&rel)),
                    message: format!("left in place (listed by the earlier run, but {why})"),
                }),
                Err(e) => warnings.push(Problem {
                    location: Location::file(self.outdir.join(&rel)),
                    message: format!("removing this file of the earlier run failed: {e}"),
                }),
            }
        }
        // Deepest first, so `plots/dose_response` goes before `plots`; a folder still holding
        // anything stays (remove_dir refuses).
        let mut folders: Vec<PathBuf> = folders.into_iter().collect();
        folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
        for f in folders {
            let path = self.outdir.join(&f);
            if is_real_folder(&self.outdir, &f) {
                let _ = std::fs::remove_dir(&path);
            }
        }
        Ok((files, warnings))
    }

    fn move_into_place(&self) -> Result<Vec<PathBuf>> {
        // Subfolders first, so a folder that cannot be made fails the commit before any file
        // has moved.
        for name in locked(&self.names).iter() {
            if let Some(parent) = self.outdir.join(name).parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
            }
        }
        let mut out = Vec::new();
        for name in locked(&self.names).iter() {
            let to = self.outdir.join(name);
            std::fs::rename(self.dir.join(name), &to)
                .map_err(|e| Error::io(&to, "moving into place", e))?;
            out.push(to);
        }
        Ok(out)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // A value refused the lock never made a folder, and the one of its pid may be
        // another thread's of this process.
        if self.made_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if let Some(mut lock) = self.lock.take() {
            lock.release();
        }
        // Only folders this command made, and only when empty: a failed first run into a new
        // folder leaves no trace, and nothing else is ever removed.
        for f in &self.created {
            if std::fs::remove_dir(f).is_err() {
                break;
            }
        }
    }
}

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

/// The folders of `path` and its ancestors that do not exist yet, deepest first.
fn missing_folders(path: &Path) -> Vec<PathBuf> {
    path.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Reads the manifest of the `run.json` at `path`: its safe entries, and the problems that
/// leave an earlier run's files in place.
fn read_manifest(path: &Path) -> (Vec<String>, Vec<Problem>) {
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
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return warn(format!("is not valid JSON ({e}); {keep}")),
    };
    if value.get("tool").and_then(|t| t.as_str()) != Some("collateral") {
        return warn(format!("was not written by collateral; {keep}"));
    }
    let entries = match value.get(MANIFEST_KEY).map(manifest_entries) {
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

/// The strings of a manifest value, or why it is not a list of strings.
fn manifest_entries(value: &serde_json::Value) -> std::result::Result<Vec<String>, String> {
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
enum Removal {
    Removed,
    Absent,
    Skipped(&'static str),
}

/// Whether every part of `rel` below `outdir` is a real folder (not a link leading elsewhere).
fn is_real_folder(outdir: &Path, rel: &Path) -> bool {
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
fn remove_listed_file(outdir: &Path, rel: &Path) -> std::io::Result<Removal> {
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

/// Removes the staging folders of processes that are gone (or that held the stale lock just
/// removed), with a warning each; a live process's folder stays, with a warning.
fn sweep_staging_folders(outdir: &Path, stale_pids: &[u32], warnings: &mut Vec<Problem>) {
    let Ok(entries) = std::fs::read_dir(outdir) else {
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(STAGING_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        // This process holds the lock and has not made its staging folder yet, so one with
        // its pid is an earlier process's that had the same pid.
        let gone = if pid == own {
            Some(format!(
                "pid {pid}, a process gone since that had this one's pid"
            ))
        } else if stale_pids.contains(&pid) {
            Some(format!("pid {pid}, whose stale lock was removed"))
        } else {
            match sys::process_state(pid) {
                Liveness::Gone(why) => Some(format!("pid {pid}: {why}")),
                Liveness::Alive | Liveness::Unknown => None,
            }
        };
        let message = match gone {
            Some(why) => match std::fs::remove_dir_all(&path) {
                Ok(()) => format!(
                    "removed the staging folder of an earlier run that did not finish ({why})"
                ),
                Err(e) => format!(
                    "removing the staging folder of an earlier run that did not finish ({why}) failed: {e}"
                ),
            },
            None => format!(
                "left in place: the staging folder of process {pid}, which may still be running (without holding the folder's lock)"
            ),
        };
        warnings.push(Problem {
            location: Location::file(&path),
            message,
        });
    }
}

/// What a lock file says about the command holding the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LockInfo {
    /// Always `collateral`: a lock file is recognised as ours by it.
    tool: String,
    pid: u32,
    /// When the lock was taken, RFC 3339 UTC.
    started: String,
    started_unix: u64,
    #[serde(default)]
    host: String,
    #[serde(default)]
    command: String,
    /// Linux: the boot the process ran in, and its start time in clock ticks after boot
    /// (`/proc/<pid>/stat` field 22). Together they tell a reused pid from the lock's process.
    #[serde(default)]
    boot_id: String,
    #[serde(default)]
    process_start: String,
}

impl LockInfo {
    fn of_this_process() -> LockInfo {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let pid = std::process::id();
        LockInfo {
            tool: "collateral".into(),
            pid,
            started: rfc3339(now),
            started_unix: now,
            host: sys::hostname(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            boot_id: sys::boot_id(),
            process_start: sys::process_start(pid),
        }
    }

    /// `pid 123 on host h, started 2026-12-01T10:00:00Z (`collateral run …`)`.
    fn describe(&self) -> String {
        let host = if self.host.is_empty() {
            String::new()
        } else {
            format!(" on host {}", self.host)
        };
        let command = if self.command.is_empty() {
            String::new()
        } else {
            format!(" (`{}`)", self.command)
        };
        format!("pid {}{host}, started {}{command}", self.pid, self.started)
    }

    /// Whether the process that wrote this lock still runs.
    fn liveness(&self) -> Liveness {
        if !self.host.is_empty() && self.host != sys::hostname() {
            // Another machine sharing the folder: its processes cannot be seen from here.
            return Liveness::Unknown;
        }
        let boot = sys::boot_id();
        if !self.boot_id.is_empty() && !boot.is_empty() && self.boot_id != boot {
            return Liveness::Gone("the machine has restarted since".into());
        }
        match sys::process_state(self.pid) {
            Liveness::Alive => {
                let now = sys::process_start(self.pid);
                if !self.process_start.is_empty() && !now.is_empty() && now != self.process_start {
                    Liveness::Gone(format!(
                        "process {} is no longer running (its pid now belongs to another process)",
                        self.pid
                    ))
                } else {
                    Liveness::Alive
                }
            }
            other => other,
        }
    }
}

/// Whether a process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Liveness {
    Alive,
    /// Gone, and why we know.
    Gone(String),
    /// Cannot be told on this platform or from this machine: treated as alive.
    Unknown,
}

/// The lock this process holds on an output folder; released on drop.
struct Lock {
    path: PathBuf,
    /// The lock file's text as written, to release only a lock that is still ours.
    text: String,
}

impl Lock {
    /// Takes the lock of `outdir`. A lock of a process that is gone is removed with a warning
    /// (its pid is returned, so its staging folder goes too); a live one fails at once with an
    /// error naming the holder.
    fn acquire(outdir: &Path, warnings: &mut Vec<Problem>) -> Result<(Lock, Vec<u32>)> {
        let path = outdir.join(LOCK_FILE);
        let info = LockInfo::of_this_process();
        let text = serde_json::to_string_pretty(&info)
            .map_err(|e| Error::io(&path, "writing", std::io::Error::other(e)))?
            + "\n";
        let mut stale_pids = Vec::new();
        // Twice at most: once more after removing a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    if let Err(e) = f.write_all(text.as_bytes()) {
                        // Half a lock would block every later command; it is ours to remove.
                        let _ = std::fs::remove_file(&path);
                        return Err(Error::io(&path, "writing the lock", e));
                    }
                    return Ok((Lock { path, text }, stale_pids));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&path, "creating the lock", e)),
            }
            let held = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                // Released between our attempt and the read: try again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(&path, "reading the lock", e)),
            };
            let other = match serde_json::from_str::<LockInfo>(&held) {
                Ok(o) if o.tool == "collateral" => o,
                _ => return Err(busy(&path, "the folder is locked by a lock file collateral cannot read; if no collateral command is writing into this folder, delete the lock file".into())),
            };
            match other.liveness() {
                Liveness::Gone(why) => {
                    // Another new run may have judged the same lock stale and replaced it in
                    // the meantime; remove only the text judged.
                    if std::fs::read_to_string(&path).ok().as_deref() != Some(held.as_str()) {
                        continue;
                    }
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(&path, "removing the stale lock", e)),
                    }
                    warnings.push(Problem {
                        location: Location::file(&path),
                        message: format!(
                            "removed the lock of an earlier run that did not finish ({}): {why}",
                            other.describe()
                        ),
                    });
                    stale_pids.push(other.pid);
                }
                Liveness::Alive | Liveness::Unknown => {
                    return Err(busy(
                        &path,
                        format!(
                            "another collateral command is writing into this folder: {}; wait until it ends, or delete this lock file if that process is gone",
                            other.describe()
                        ),
                    ))
                }
            }
        }
        Err(busy(
            &path,
            "another collateral command took this folder's lock at the same moment; try again"
                .into(),
        ))
    }

    /// Removes the lock file if it is still the one this process wrote.
    fn release(&mut self) {
        if std::fs::read_to_string(&self.path).ok().as_deref() == Some(self.text.as_str()) {
            let _ = std::fs::remove_file(&self.path);
        }
        self.text.clear();
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.text.is_empty() {
            self.release();
        }
    }
}

fn busy(path: &Path, message: String) -> Error {
    Error::problems(
        ErrorKind::Io,
        vec![Problem {
            location: Location::file(path),
            message,
        }],
    )
}

/// The current time as RFC 3339 UTC with milliseconds, `2026-12-01T21:53:07.042Z`: when a
/// command started, for `run.json`. Milliseconds, because `collateral merge --on-duplicate
/// newest` orders runs by it and two runs of a batch can start within one second; the fixed
/// width makes text order time order.
pub fn now_rfc3339_millis() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let secs = rfc3339((ms / 1000) as u64);
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms % 1000)
}

/// Unix seconds as an RFC 3339 UTC time, `2026-12-01T21:53:07Z`.
fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Days since 1970-01-01 to a civil date (H. Hinnant, "chrono-compatible low-level date
    // algorithms").
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(target_os = "linux")]
mod sys {
    //! Linux: `/proc` tells whether a pid runs, when it started and which boot this is.

    use super::Liveness;

    fn stat_fields(pid: u32) -> std::io::Result<Vec<String>> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name (field 2) is in parentheses and may hold spaces; fields 3 on
        // follow the last `)`.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        Ok(rest.split_whitespace().map(str::to_string).collect())
    }

    pub(super) fn process_state(pid: u32) -> Liveness {
        match stat_fields(pid) {
            // Z: exited, not yet reaped by its parent; X: dead.
            Ok(f) => match f.first().map(String::as_str) {
                Some("Z" | "X" | "x") => Liveness::Gone(format!("process {pid} has exited")),
                _ => Liveness::Alive,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Liveness::Gone(format!("process {pid} is no longer running"))
            }
            Err(_) => Liveness::Unknown,
        }
    }

    pub(super) fn process_start(pid: u32) -> String {
        // Field 22 (starttime) is the 20th after the command name.
        stat_fields(pid)
            .ok()
            .and_then(|f| f.get(19).cloned())
            .unwrap_or_default()
    }

    pub(super) fn boot_id() -> String {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    pub(super) fn hostname() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod sys {
    //! Other Unix (macOS, BSD): `ps -p PID` tells whether a pid runs; start times are not
    //! compared, so a reused pid keeps a stale lock until it is deleted by hand.

    use super::Liveness;

    pub(super) fn process_state(pid: u32) -> Liveness {
        match std::process::Command::new("ps")
            .args(["-p", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
        {
            Ok(s) if s.success() => Liveness::Alive,
            Ok(_) => Liveness::Gone(format!("process {pid} is no longer running")),
            Err(_) => Liveness::Unknown,
        }
    }

    pub(super) fn process_start(_pid: u32) -> String {
        String::new()
    }

    pub(super) fn boot_id() -> String {
        String::new()
    }

    pub(super) fn hostname() -> String {
        std::env::var("HOSTNAME").unwrap_or_default()
    }
}

#[cfg(not(unix))]
mod sys {
    //! Elsewhere (Windows): whether a pid runs is not checked; a lock stays until its command
    //! ends or it is deleted by hand, and the error says so.

    use super::Liveness;

    pub(super) fn process_state(_pid: u32) -> Liveness {
        Liveness::Unknown
    }

    pub(super) fn process_start(_pid: u32) -> String {
        String::new()
    }

    pub(super) fn boot_id() -> String {
        String::new()
    }

    pub(super) fn hostname() -> String {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_stay_inside_the_folder() {
        for good in [
            "run.json",
            "plots/heatmap.svg",
            "plots/dose_response/A-1_x.svg",
            "a b/c.csv",
        ] {
            assert_eq!(
                safe_manifest_path(good),
                Some(good.split('/').collect::<PathBuf>()),
                "{good}"
            );
        }
        for bad in [
            "",
            "/etc/passwd",
            "../notes.txt",
            "plots/../../x",
            "plots/./x.svg",
            "./x",
            "plots//x.svg",
            "plots/",
            "C:/x",
            "C:x",
            "plots\\x.svg",
            "..\\x",
            "a\0b",
            ".collateral.lock",
            ".collateral-staging-12/x.csv",
            "plots/..",
        ] {
            assert_eq!(safe_manifest_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unsafe_manifest_entries_are_dropped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        std::fs::write(
            &path,
            r#"{"tool": "collateral", "manifest": ["qc.csv", "../x", "/etc/passwd", "plots/a.svg"]}"#,
        )
        .unwrap();
        let (entries, problems) = read_manifest(&path);
        assert_eq!(entries, ["qc.csv", "plots/a.svg"]);
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0].message.contains("`../x` ignored"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_run_json_that_is_not_ours_gives_no_manifest_and_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        for (text, why) in [
            ("{not json", "not valid JSON"),
            (r#"{"manifest": ["a.csv"]}"#, "not written by collateral"),
            (r#"{"tool": "collateral"}"#, "lists no files"),
            (
                r#"{"tool": "collateral", "manifest": "a.csv"}"#,
                "not a list",
            ),
            (
                r#"{"tool": "collateral", "manifest": ["a.csv", 3]}"#,
                "not a list",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let (entries, problems) = read_manifest(&path);
            assert!(entries.is_empty(), "{text}");
            assert_eq!(problems.len(), 1, "{text}");
            assert!(problems[0].message.contains(why), "{text}: {problems:?}");
            assert!(problems[0].message.contains("left in place"), "{text}");
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read_manifest(&path), (Vec::new(), Vec::new()));
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_633_600), "2025-12-02T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
        let now = now_rfc3339_millis();
        assert_eq!(
            (now.len(), &now[19..20], &now[23..]),
            (24, ".", "Z"),
            "{now}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_is_stale_when_its_process_is_gone_or_its_pid_reused() {
        let me = LockInfo::of_this_process();
        assert_eq!(me.liveness(), Liveness::Alive);
        assert!(!me.process_start.is_empty());
        let reused = LockInfo {
            process_start: "1".into(),
            ..me.clone()
        };
        assert!(matches!(reused.liveness(), Liveness::Gone(w) if w.contains("another process")));
        // Above the largest pid Linux hands out (2^22).
        let gone = LockInfo {
            pid: 4_194_305,
            ..me.clone()
        };
        assert!(matches!(gone.liveness(), Liveness::Gone(_)));
        let rebooted = LockInfo {
            boot_id: "another boot".into(),
            ..me.clone()
        };
        assert!(matches!(rebooted.liveness(), Liveness::Gone(w) if w.contains("restarted")));
        let elsewhere = LockInfo {
            host: format!("{}-other", me.host),
            pid: 4_194_305,
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }

    #[test]
    fn a_second_staging_of_one_folder_is_refused_and_the_lock_released_after() {
        let dir = tempfile::tempdir().unwrap();
        let first = Staging::new(dir.path()).unwrap();
        let lock = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let err = Staging::new(dir.path()).err().expect("refused").to_string();
        assert!(
            first.dir().is_dir(),
            "the refused one left the first one's staging alone"
        );
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("started "), "{err}");
        // The refused one did not release the first one's lock.
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            lock
        );
        drop(first);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_first_command_removes_the_folders_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let staging = Staging::new(&out).unwrap();
        assert!(staging.dir().is_dir());
        drop(staging);
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn a_rerun_removes_only_the_earlier_runs_files_it_does_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = Staging::new(out).unwrap();
        for name in [
            "a.csv",
            "plots/x/one.svg",
            "plots/x/two.svg",
            "plots/top.svg",
        ] {
            first.write(name, |w| w.write_all(name.as_bytes())).unwrap();
        }
        first
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        first.commit().unwrap();
        std::fs::write(out.join("plots/x/notes.txt"), "mine").unwrap();

        let second = Staging::new(out).unwrap();
        let previous = second.previous_manifest();
        assert_eq!(
            previous,
            [
                "a.csv",
                "plots/top.svg",
                "plots/x/one.svg",
                "plots/x/two.svg",
                "run.json"
            ]
        );
        second
            .write("plots/x/one.svg", |w| w.write_all(b"new"))
            .unwrap();
        second
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        let (files, warnings) = second.commit_replacing(&previous).unwrap();
        assert_eq!(files.len(), 2);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!out.join("a.csv").exists() && !out.join("plots/x/two.svg").exists());
        assert!(!out.join("plots/top.svg").exists());
        assert_eq!(std::fs::read(out.join("plots/x/one.svg")).unwrap(), b"new");
        assert_eq!(
            std::fs::read(out.join("plots/x/notes.txt")).unwrap(),
            b"mine"
        );
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(
            run[MANIFEST_KEY],
            serde_json::json!(["plots/x/one.svg", "run.json"])
        );
    }

    #[test]
    fn a_folder_emptied_by_a_rerun_is_removed_but_not_the_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = Staging::new(out).unwrap();
        first
            .write("plots/d/one.svg", |w| w.write_all(b"x"))
            .unwrap();
        first
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        first.commit().unwrap();
        let second = Staging::new(out).unwrap();
        let previous = second.previous_manifest();
        second
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        second.commit_replacing(&previous).unwrap();
        assert!(!out.join("plots").exists());
        assert!(out.join(MANIFEST_FILE).is_file());
    }

    #[cfg(unix)]
    #[test]
    fn a_rerun_does_not_follow_a_linked_folder_out_of_the_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("x.svg"), "keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("plots")).unwrap();
        std::fs::write(
            out.join(MANIFEST_FILE),
            r#"{"tool": "collateral", "manifest": ["plots/x.svg", "run.json"]}"#,
        )
        .unwrap();
        let staging = Staging::new(&out).unwrap();
        let previous = staging.previous_manifest();
        staging
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        let (_, warnings) = staging.commit_replacing(&previous).unwrap();
        assert!(elsewhere.join("x.svg").exists());
        assert!(warnings[0].message.contains("link"), "{warnings:?}");
    }
}
