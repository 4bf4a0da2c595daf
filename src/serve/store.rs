//! The analyses of a `collateral serve` data folder: one folder per analysis
//! (`<data>/<id>/input/`, `output/`, `analysis.json`), kept in memory while the server runs and
//! read back at start, so the history survives a restart.
//!
//! An analysis folder appears whole or not at all: an upload is written into
//! `.incoming-<id>/` and renamed into place only once complete and described. A server killed
//! mid-run leaves an `analysis.json` saying `running`; the next start marks it failed and
//! removes its partial output, so no half-written analysis is ever shown as a result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::Problem;

/// The description of an analysis inside its folder.
pub(crate) const RECORD_FILE: &str = "analysis.json";
/// The uploaded files (and the assay file) of an analysis.
pub(crate) const INPUT_DIR: &str = "input";
/// The run's output folder, as `collateral run --out` writes it.
pub(crate) const OUTPUT_DIR: &str = "output";
/// Prefix of an upload still being received; never shown, removed at start.
pub(crate) const INCOMING_PREFIX: &str = ".incoming-";

/// Where an analysis is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for a free place in the pool.
    Queued,
    /// Being computed.
    Running,
    /// Finished; its output folder is complete.
    Done,
    /// Refused or stopped; `problems` say why and where.
    Failed,
}

/// One problem of an analysis, located as the library located it; `file` is relative to the
/// analysis's input folder so that no server path leaks to a client.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Located {
    /// The input file, relative to the analysis's inputs.
    pub file: Option<String>,
    /// 1-based line in that file.
    pub line: Option<u64>,
    /// Plate identifier.
    pub plate: Option<String>,
    /// Well name as written.
    pub well: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Located {
    /// A problem of the library, its file made relative to `input` (the analysis's inputs).
    pub(crate) fn from_problem(p: &Problem, input: &Path) -> Located {
        let file = p.location.file.as_ref().map(|f| {
            f.strip_prefix(input)
                .unwrap_or_else(|_| Path::new(f.file_name().unwrap_or(f.as_os_str())))
                .to_string_lossy()
                .replace('\\', "/")
        });
        // The message may name the server's paths too (`reading /data/…/x.csv failed`).
        let prefix = format!("{}/", input.display());
        Located {
            file,
            line: p.location.line,
            plate: p.location.plate.clone(),
            well: p.location.well.clone(),
            message: p.message.replace(&prefix, ""),
        }
    }

    /// A problem without a place in the inputs.
    pub fn message(message: impl Into<String>) -> Located {
        Located {
            message: message.into(),
            ..Default::default()
        }
    }
}

/// A stage that finished, for the run's timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageDone {
    /// The stage's name (`fitting`).
    pub stage: String,
    /// What it counted (`curves`).
    pub unit: String,
    /// How many.
    pub count: u64,
    /// How long it took.
    pub seconds: f64,
}

/// How far a run is: the stage now running and those done.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunProgress {
    /// The stage running now, if any.
    pub stage: Option<String>,
    /// What the current stage counts.
    pub unit: Option<String>,
    /// Items of the current stage done so far.
    pub done: u64,
    /// Items the current stage will do, when known beforehand.
    pub total: Option<u64>,
    /// The stages finished, in order.
    pub stages: Vec<StageDone>,
}

/// What the API says of an analysis (and what `analysis.json` holds).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The analysis's id, also its folder's name.
    pub id: String,
    /// The screen's name (from the assay), or the id when no assay could be read.
    pub name: String,
    /// Seconds since 1970 when it was uploaded.
    pub created: u64,
    /// Where it is.
    pub state: State,
    /// How far the run is.
    pub progress: RunProgress,
    /// Why it failed, located.
    pub problems: Vec<Located>,
    /// What the run warned of.
    pub warnings: Vec<Located>,
    /// The uploaded files, relative to the input folder.
    pub inputs: Vec<String>,
    /// The output files, relative to the output folder (`shifts.csv`, `plots/heatmap.svg`).
    pub files: Vec<String>,
    /// Seconds from the run's start to its end.
    pub seconds: Option<f64>,
}

/// An analysis while the server runs: its record and the live count of the current stage
/// (an atomic: the library advances it once per curve from many threads).
pub(crate) struct Entry {
    record: Mutex<Record>,
    /// Items of the current stage done.
    pub done: AtomicU64,
    /// When the current stage began.
    pub(crate) stage_start: Mutex<Option<Instant>>,
}

impl Entry {
    /// The record, whole, whatever a panicking thread left.
    pub fn lock(&self) -> MutexGuard<'_, Record> {
        lock(&self.record)
    }

    /// The record as the API shows it, with the live count.
    pub(crate) fn snapshot(&self) -> Record {
        let mut r = self.lock().clone();
        if r.progress.stage.is_some() {
            r.progress.done = self.done.load(Ordering::Relaxed);
        }
        r
    }
}

/// Locks a mutex whether or not a panicking thread poisoned it: records are replaced whole.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The data folder and its analyses.
pub(crate) struct Store {
    /// The data folder.
    pub data: PathBuf,
    entries: Mutex<BTreeMap<String, Arc<Entry>>>,
}

impl Store {
    /// Opens (creating) the data folder, reads its analyses back, removes unfinished uploads,
    /// and marks the runs a killed server left `running` as failed (their partial output
    /// removed). Returns the store and the ids still queued, oldest first, to run again.
    pub fn open(data: &Path) -> std::io::Result<(Store, Vec<String>)> {
        if !data.exists() {
            std::fs::create_dir_all(data)?;
            // A lab's reads are its own: a new data folder is readable by its owner only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        let mut entries = BTreeMap::new();
        let mut queued = Vec::new();
        for e in std::fs::read_dir(data)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(INCOMING_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
                continue;
            }
            let Ok(text) = std::fs::read_to_string(e.path().join(RECORD_FILE)) else {
                continue;
            };
            let Ok(mut record) = serde_json::from_str::<Record>(&text) else {
                continue;
            };
            if record.id != name {
                continue;
            }
            match record.state {
                State::Running => {
                    let _ = std::fs::remove_dir_all(e.path().join(OUTPUT_DIR));
                    record.state = State::Failed;
                    record.progress.stage = None;
                    record.files.clear();
                    record.problems.push(Located::message(
                        "the server stopped during this run; nothing of it was kept: upload the files again",
                    ));
                    write_record(&e.path(), &record)?;
                }
                State::Queued => queued.push((record.created, record.id.clone())),
                State::Done | State::Failed => {}
            }
            entries.insert(name, Arc::new(new_entry(record)));
        }
        queued.sort();
        let store = Store {
            data: data.to_path_buf(),
            entries: Mutex::new(entries),
        };
        Ok((store, queued.into_iter().map(|(_, id)| id).collect()))
    }

    /// The folder of an analysis.
    pub fn folder(&self, id: &str) -> PathBuf {
        self.data.join(id)
    }

    /// An analysis, if it exists.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        lock(&self.entries).get(id).cloned()
    }

    /// Every analysis, newest first.
    pub fn list(&self) -> Vec<Record> {
        let mut all: Vec<Record> = lock(&self.entries).values().map(|e| e.snapshot()).collect();
        all.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        all
    }

    /// Writes `record` into the finished upload `incoming`, renames it into place and adds it.
    pub fn add(&self, incoming: &Path, record: Record) -> std::io::Result<Arc<Entry>> {
        write_record(incoming, &record)?;
        std::fs::rename(incoming, self.folder(&record.id))?;
        let entry = Arc::new(new_entry(record.clone()));
        lock(&self.entries).insert(record.id, entry.clone());
        Ok(entry)
    }

    /// Saves an analysis's record (after a change of state or stage).
    pub fn save(&self, entry: &Entry) -> std::io::Result<()> {
        let record = entry.lock().clone();
        write_record(&self.folder(&record.id), &record)
    }

    /// Removes an analysis and its folder. A running one cannot be removed (its run writes
    /// into the folder); the error says so.
    pub fn remove(&self, id: &str) -> Result<bool, &'static str> {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get(id) else {
            return Ok(false);
        };
        if entry.lock().state == State::Running {
            return Err("the analysis is running; delete it once it is done");
        }
        entries.remove(id);
        drop(entries);
        let _ = std::fs::remove_dir_all(self.folder(id));
        Ok(true)
    }
}

fn new_entry(record: Record) -> Entry {
    Entry {
        record: Mutex::new(record),
        done: AtomicU64::new(0),
        stage_start: Mutex::new(None),
    }
}

/// Writes `analysis.json` whole: into a temporary file renamed over the old one, so a kill
/// never leaves half a record.
fn write_record(folder: &Path, record: &Record) -> std::io::Result<()> {
    let tmp = folder.join(format!(".{RECORD_FILE}.tmp"));
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, folder.join(RECORD_FILE))
}

/// The files under `dir`, relative and `/`-separated, sorted; hidden files (staging, locks)
/// left out.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let rel = format!("{prefix}{name}");
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&e.path(), &format!("{rel}/"), out),
                Ok(t) if t.is_file() => out.push(rel),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// A new analysis id: the upload's time and a random suffix (`20261203-181502-3fa9c1`), so
/// folders sort by age and two uploads in one second do not collide.
pub(crate) fn new_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, secs) = (now / 86_400, now % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let suffix: u32 = rand::random();
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{:06x}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        suffix & 0xff_ffff
    )
}

/// Seconds since 1970, now.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The calendar date of a day count since 1970 (Howard Hinnant's algorithm), so ids need no
/// date library.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_790), (2026, 12, 3));
    }
}
