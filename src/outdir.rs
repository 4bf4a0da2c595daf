//! The output folder of a command: its staging folder and its lock.
//!
//! Every command that writes into an output folder (`run`, `plot`, `shift`) takes the folder's
//! lock first, stages its files in `.collateral-staging-<pid>/` and moves them into place only
//! when all are complete. The lock keeps two runs from interleaving their files; what a killed
//! run leaves behind (its lock, its staging folder) is recognised by the next run and removed.
//!
//! Ground layer: imports nothing of ours but `error`, so every command can use it.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Location, Problem, Result};

/// Name of the lock file inside an output folder. It exists exactly while a command writes
/// into the folder and names that command's process, so a second one can say who holds it.
pub const LOCK_FILE: &str = ".collateral.lock";

/// Prefix of staging folder names inside an output folder; the process id follows, so a
/// leftover can be traced to the process that made it.
pub const STAGING_PREFIX: &str = ".collateral-staging-";

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
    names: RefCell<Vec<String>>,
    lock: Option<Lock>,
    warnings: RefCell<Vec<Problem>>,
    /// Whether `dir` was made by this value (and so is its to remove).
    made_dir: bool,
    /// Folders this command created on the way to `outdir`, deepest first.
    created: Vec<PathBuf>,
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
        *staging.warnings.borrow_mut() = warnings;
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

    /// What taking the folder found (a stale lock or staging folder removed), for the
    /// command's warnings; each is returned once.
    pub(crate) fn take_warnings(&self) -> Vec<Problem> {
        std::mem::take(&mut *self.warnings.borrow_mut())
    }

    /// Stages one file.
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
        self.names.borrow_mut().push(name.to_string());
        Ok(())
    }

    /// Moves every staged file into place; returns their paths in the order staged.
    pub(crate) fn commit(self) -> Result<Vec<PathBuf>> {
        // Subfolders first, so a folder that cannot be made fails the commit before any file
        // has moved.
        for name in self.names.borrow().iter() {
            if let Some(parent) = self.outdir.join(name).parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
            }
        }
        let mut out = Vec::new();
        for name in self.names.borrow().iter() {
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
fn missing_folders(path: &Path) -> Vec<PathBuf> {
    path.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .map(Path::to_path_buf)
        .collect()
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
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_633_600), "2025-12-02T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
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
}
