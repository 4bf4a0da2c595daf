//! The output folder stays whole: a second command into a busy folder stops at once naming the
//! first, and what a killed run leaves behind (its lock, its staging folder) is removed by the
//! next run with a warning.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use collateral::outdir::{LOCK_FILE, PAUSE_VAR, STAGING_PREFIX};

use crate::common::collateral;

/// A small simulated screen (one parental, `lines - 1` resistant lines, two drugs, one 96-well
/// plate per line) in `dir`; returns its assay file.
fn simulate(dir: &Path, lines: usize) -> PathBuf {
    collateral()
        .args(["simulate", "-q", "--drugs", "2", "--plate-size", "96"])
        .args(["--replicates", "1", "--lines", &lines.to_string(), "-o"])
        .arg(dir)
        .assert()
        .success();
    dir.join("assay.toml")
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap()
}

/// Runs `collateral run ASSAY -o OUT` (plus `extra` flags) and returns its stderr.
fn run_ok(assay: &Path, out: &Path, extra: &[&str]) -> String {
    let res = collateral()
        .arg("run")
        .arg(assay)
        .args(extra)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&res.get_output().stderr).to_string()
}

/// A `collateral run` paused right after taking its folder's lock (see `PAUSE_VAR`); killed
/// when dropped, so a failing test leaves no process behind.
struct Paused(Child);

impl Paused {
    fn start(assay: &Path, out: &Path) -> Paused {
        let child = Command::new(assert_cmd::cargo::cargo_bin("collateral"))
            .arg("run")
            .arg(assay)
            .arg("-o")
            .arg(out)
            .env(PAUSE_VAR, "300000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut paused = Paused(child);
        let staging = out.join(format!("{STAGING_PREFIX}{}", paused.0.id()));
        // A bound against hanging, not a timing claim: the pause comes long before it.
        let until = Instant::now() + Duration::from_secs(120);
        while !(out.join(LOCK_FILE).is_file() && staging.is_dir()) {
            if let Some(status) = paused.0.try_wait().unwrap() {
                panic!("the paused run ended early: {status}");
            }
            assert!(Instant::now() < until, "the run never took its lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        paused
    }

    /// SIGKILL on Unix: no destructor runs, as with `kill -9`.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_second_run_into_a_busy_folder_stops_at_once_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 2);
    let out = dir.path().join("out");
    let first = Paused::start(&assay, &out);
    let lock_text = std::fs::read_to_string(out.join(LOCK_FILE)).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&lock_text).unwrap();
    let started = lock["started"].as_str().unwrap();
    let res = collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr);
    assert!(err.contains(LOCK_FILE), "{err}");
    assert!(err.contains(&format!("pid {}", first.0.id())), "{err}");
    assert!(err.contains(&format!("started {started}")), "{err}");
    // The refused run neither released the lock nor wrote anything.
    assert_eq!(
        std::fs::read_to_string(out.join(LOCK_FILE)).unwrap(),
        lock_text
    );
    assert!(!out.join("wells.csv").exists());
    // `collateral plot` takes the same lock.
    collateral()
        .arg("plot")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!("pid {}", first.0.id())));
}

#[cfg(unix)]
#[test]
fn a_killed_run_leaves_its_lock_and_staging_which_the_next_run_removes_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 2);
    let out = dir.path().join("out");
    let mut first = Paused::start(&assay, &out);
    let pid = first.0.id();
    first.kill();
    let staging = format!("{STAGING_PREFIX}{pid}");
    assert!(out.join(LOCK_FILE).is_file(), "kill -9 runs no cleanup");
    assert!(out.join(&staging).is_dir());

    let err = run_ok(&assay, &out, &[]);
    let lock_warning = format!("removed the lock of an earlier run that did not finish (pid {pid}");
    let staging_warning = format!("{staging}: removed the staging folder of an earlier run");
    assert!(err.contains(&lock_warning), "{err}");
    assert!(err.contains(&staging_warning), "{err}");
    let warnings = run_json(&out)["warnings"].to_string();
    assert!(warnings.contains(&lock_warning), "{warnings}");
    assert!(warnings.contains(&staging_warning), "{warnings}");
    assert!(!out.join(LOCK_FILE).exists() && !out.join(&staging).exists());
    assert!(out.join("report.html").is_file());
}

#[test]
fn an_output_folder_that_cannot_be_made_is_reported_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 2);
    let file = dir.path().join("taken");
    std::fs::write(&file, "a file").unwrap();
    let res = collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(&file)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr);
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}: is a file; the outputs need a folder (name a new or an existing one)",
            file.display()
        )
    );
    // Below a file: the operating system's reason, stated once.
    let res = collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(file.join("sub"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr);
    assert!(err.contains("creating the output folder failed: "), "{err}");
    assert_eq!(err.matches("(os error").count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a file");
}
