//! The output folder's lock: who holds it, whether that process still lives, and the time
//! stamps it carries.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LOCK_FILE;
use crate::error::{Error, ErrorKind, Location, Problem, Result};

/// What a lock file says about the command holding the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct LockInfo {
    /// Always `collateral`: a lock file is recognised as ours by it.
    pub(super) tool: String,
    pub(super) pid: u32,
    /// When the lock was taken, RFC 3339 UTC.
    pub(super) started: String,
    pub(super) started_unix: u64,
    #[serde(default)]
    pub(super) host: String,
    #[serde(default)]
    pub(super) command: String,
    /// Linux: the boot the process ran in, and its start time in clock ticks after boot
    /// (`/proc/<pid>/stat` field 22). Together they tell a reused pid from the lock's process.
    #[serde(default)]
    pub(super) boot_id: String,
    #[serde(default)]
    pub(super) process_start: String,
}

impl LockInfo {
    pub(super) fn of_this_process() -> LockInfo {
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
    pub(super) fn describe(&self) -> String {
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
    pub(super) fn liveness(&self) -> Liveness {
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
pub(super) enum Liveness {
    Alive,
    /// Gone, and why we know.
    Gone(String),
    /// Cannot be told on this platform or from this machine: treated as alive.
    Unknown,
}

/// The lock this process holds on an output folder; released on drop.
pub(super) struct Lock {
    pub(super) path: PathBuf,
    /// The lock file's text as written, to release only a lock that is still ours.
    pub(super) text: String,
}

impl Lock {
    /// Takes the lock of `outdir`. A lock of a process that is gone is removed with a warning
    /// (its pid is returned, so its staging folder goes too); a live one fails at once with an
    /// error naming the holder.
    pub(super) fn acquire(outdir: &Path, warnings: &mut Vec<Problem>) -> Result<(Lock, Vec<u32>)> {
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
    pub(super) fn release(&mut self) {
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

pub(super) fn busy(path: &Path, message: String) -> Error {
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
pub(super) fn rfc3339(unix: u64) -> String {
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
pub(super) mod sys {
    //! Linux: `/proc` tells whether a pid runs, when it started and which boot this is.

    use super::Liveness;

    pub(in crate::outdir) fn stat_fields(pid: u32) -> std::io::Result<Vec<String>> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name (field 2) is in parentheses and may hold spaces; fields 3 on
        // follow the last `)`.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        Ok(rest.split_whitespace().map(str::to_string).collect())
    }

    pub(in crate::outdir) fn process_state(pid: u32) -> Liveness {
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

    pub(in crate::outdir) fn process_start(pid: u32) -> String {
        // Field 22 (starttime) is the 20th after the command name.
        stat_fields(pid)
            .ok()
            .and_then(|f| f.get(19).cloned())
            .unwrap_or_default()
    }

    pub(in crate::outdir) fn boot_id() -> String {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    pub(in crate::outdir) fn hostname() -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
pub(super) mod sys {
    //! Other Unix (macOS, BSD): `ps -p PID` tells whether a pid runs; start times are not
    //! compared, so a reused pid keeps a stale lock until it is deleted by hand.

    use super::Liveness;

    pub(in crate::outdir) fn process_state(pid: u32) -> Liveness {
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

    pub(in crate::outdir) fn process_start(_pid: u32) -> String {
        String::new()
    }

    pub(in crate::outdir) fn boot_id() -> String {
        String::new()
    }

    pub(in crate::outdir) fn hostname() -> String {
        std::env::var("HOSTNAME").unwrap_or_default()
    }
}

#[cfg(not(unix))]
pub(super) mod sys {
    //! Elsewhere (Windows): whether a pid runs is not checked; a lock stays until its command
    //! ends or it is deleted by hand, and the error says so.

    use super::Liveness;

    pub(in crate::outdir) fn process_state(_pid: u32) -> Liveness {
        Liveness::Unknown
    }

    pub(in crate::outdir) fn process_start(_pid: u32) -> String {
        String::new()
    }

    pub(in crate::outdir) fn boot_id() -> String {
        String::new()
    }

    pub(in crate::outdir) fn hostname() -> String {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}
