//! The staging folder: files written beside the outputs and moved into place together,
//! the earlier run's files removed, leftovers of dead processes swept.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::format::{parquet_name, TableFormat};
use super::lock::{sys, Liveness, Lock};
use super::manifest::{
    is_real_folder, read_manifest, remove_listed_file, safe_manifest_path, ManifestHead, Removal,
};
use super::{MANIFEST_FILE, MANIFEST_KEY, PAUSE_VAR, STAGING_PREFIX};
use crate::error::{Error, Location, Problem, Result};

/// A staging folder inside the output folder, holding the folder's lock; files move into place
/// on `commit`. Names may hold `/` (e.g. `plots/heatmap.svg`): subfolders are created as
/// needed. Dropping it (after a commit or an error) removes the staging folder, then the lock,
/// then the output folder itself when this command created it and left it empty.
pub(crate) struct Staging {
    pub(super) outdir: PathBuf,
    pub(super) dir: PathBuf,
    /// Files staged so far; a lock, not a cell, so that files can be written on several
    /// threads at once.
    pub(super) names: Mutex<Vec<String>>,
    pub(super) lock: Option<Lock>,
    pub(super) warnings: Mutex<Vec<Problem>>,
    /// Whether `dir` was made by this value (and so is its to remove).
    pub(super) made_dir: bool,
    /// Folders this command created on the way to `outdir`, deepest first.
    pub(super) created: Vec<PathBuf>,
    /// How the tables ([`Staging::write_table`]) are written, and what turns a table's CSV
    /// text into Parquet (the output layer's; this layer knows no column types).
    pub(super) tables: (TableFormat, Option<ToParquet>),
}

/// Writes the table named by its CSV file name (`fits.csv`), given as CSV text, as Parquet.
pub(crate) type ToParquet = fn(&str, &[u8], &mut dyn Write) -> std::io::Result<()>;

/// What writes one staged file (see [`Staging::write_all`]).
pub(crate) type FileWriter<'a> = Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send + 'a>;

/// A lock's value; a thread that panicked while writing left nothing half-done in it (each
/// holder pushes or reads whole entries), so its value is taken as it is.
pub(super) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
            tables: (TableFormat::Csv, None),
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
    /// comparison yields. A file with a Parquet writer is a table written from its typed rows
    /// ([`Staging::write_typed_table`]), another `.csv` a table written from its text
    /// ([`Staging::write_table`]). The first failure in `files`' order is the error.
    pub(crate) fn write_all(
        &self,
        files: Vec<(&str, FileWriter<'_>, Option<FileWriter<'_>>)>,
    ) -> Result<()> {
        use rayon::prelude::*;
        let results: Vec<Result<()>> = files
            .into_par_iter()
            .map(|(name, write, parquet)| match parquet {
                Some(parquet) => self.write_typed_table(name, write, parquet),
                None if name.ends_with(".csv") => self.write_table(name, write),
                None => self.write(name, |w| write(w)),
            })
            .collect();
        results.into_iter().collect()
    }

    /// Writes the tables ([`Staging::write_table`]) as `format`, turning their CSV text into
    /// Parquet with `to_parquet`.
    pub(crate) fn set_tables(&mut self, format: TableFormat, to_parquet: ToParquet) {
        self.tables = (format, Some(to_parquet));
    }

    /// The form the tables are written in.
    pub(crate) fn table_format(&self) -> TableFormat {
        self.tables.0
    }

    /// Stages one of the command's tables, named by its CSV file name and written by `f` as
    /// CSV text: as that `.csv`, as `<stem>.parquet`, or both, as [`Staging::set_tables`]
    /// said (CSV when nothing was said).
    pub(crate) fn write_table(
        &self,
        name: &str,
        f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let (format, to_parquet) = self.tables;
        let Some(to_parquet) = to_parquet.filter(|_| format.parquet()) else {
            return self.write(name, |w| f(w));
        };
        let mut text = Vec::new();
        f(&mut text).map_err(|e| Error::io(self.outdir.join(name), "writing", e))?;
        if format.csv() {
            self.write(name, |w| w.write_all(&text))?;
        }
        self.write(&parquet_name(name), |w| to_parquet(name, &text, w))
    }

    /// Stages one of the command's tables as [`Staging::write_table`] does, but with its
    /// Parquet written by `parquet` (from the typed rows, the values a reader of the CSV text
    /// gets) instead of converted from the CSV text: the text is formatted only for the CSV,
    /// and never parsed back.
    pub(crate) fn write_typed_table(
        &self,
        name: &str,
        csv: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
        parquet: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let format = self.tables.0;
        if format.csv() {
            self.write(name, |w| csv(w))?;
        }
        if format.parquet() {
            self.write(&parquet_name(name), |w| parquet(w))?;
        }
        Ok(())
    }

    /// The manifest of what is staged so far plus `extra`: sorted, without duplicates, always
    /// listing [`MANIFEST_FILE`].
    pub(super) fn manifest_with(&self, extra: &[String]) -> Vec<String> {
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

    pub(super) fn stage_manifest_file(
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
        let Some(head) = ManifestHead::of(&value).filter(ManifestHead::is_ours) else {
            return Ok(());
        };
        let Some(Ok(old)) = head.entries() else {
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

    pub(super) fn move_into_place(&self) -> Result<Vec<PathBuf>> {
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

/// The folders of `path` and its ancestors that do not exist yet, deepest first.
pub(super) fn missing_folders(path: &Path) -> Vec<PathBuf> {
    path.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Removes the staging folders of processes that are gone (or that held the stale lock just
/// removed), with a warning each; a live process's folder stays, with a warning.
pub(super) fn sweep_staging_folders(
    outdir: &Path,
    stale_pids: &[u32],
    warnings: &mut Vec<Problem>,
) {
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
