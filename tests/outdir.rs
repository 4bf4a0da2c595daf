//! The output folder stays whole across runs: a rerun removes exactly the files of the earlier
//! run that it does not write (never a user's file), a second command into a busy folder stops
//! at once naming the first, and what a killed run leaves behind (its lock, its staging folder)
//! is removed by the next run with a warning.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use collateral::outdir::{LOCK_FILE, MANIFEST_KEY, PAUSE_VAR, STAGING_PREFIX};

use crate::common::{collateral, read_csv};

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

/// Every file under `dir`, hidden ones included, as sorted `/`-separated relative paths.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap();
                let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap()
}

fn manifest(out: &Path) -> Vec<String> {
    run_json(out)[MANIFEST_KEY]
        .as_array()
        .expect("run.json has a manifest")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
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

/// Removes `line` from the simulated screen's lines table, and its plates (one per line) from
/// the wells table.
fn drop_line(sim: &Path, line: &str) {
    let lines = std::fs::read_to_string(sim.join("lines.csv")).unwrap();
    let kept: String = lines
        .lines()
        .filter(|l| l.split(',').next() != Some(line))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept.len(), lines.len(), "{line} not in lines.csv");
    std::fs::write(sim.join("lines.csv"), kept).unwrap();
    let wells = std::fs::read_to_string(sim.join("wells.csv")).unwrap();
    let plates: Vec<&str> = wells
        .lines()
        .filter(|l| l.split(',').any(|f| f == line))
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(!plates.is_empty(), "{line} not in wells.csv");
    let kept: String = wells
        .lines()
        .filter(|l| !plates.contains(&l.split(',').next().unwrap_or_default()))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(sim.join("wells.csv"), kept).unwrap();
}

#[test]
fn a_rerun_removes_the_earlier_runs_files_it_does_not_write_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    let assay = simulate(&sim, 3);
    let out = dir.path().join("out");
    run_ok(&assay, &out, &[]);
    assert!(out.join("plots/dose_response/resistant01.svg").is_file());
    assert!(out.join("plots/dose_response/resistant02.svg").is_file());
    // The manifest lists exactly what the run moved into place, run.json included.
    assert_eq!(manifest(&out), files_under(&out));
    // The user's own files, one beside the outputs and one in a folder of the outputs.
    std::fs::write(out.join("notes.txt"), "my notes").unwrap();
    std::fs::write(out.join("plots/dose_response/notes.txt"), "more notes").unwrap();
    let resistant02_plates: Vec<String> = read_csv(&out.join("wells.csv"))
        .into_iter()
        .filter(|w| w["cell_line"] == "resistant02")
        .map(|w| format!("plots/plates/{}.svg", w["plate"]))
        .collect();
    assert!(!resistant02_plates.is_empty());

    drop_line(&sim, "resistant02");
    run_ok(&assay, &out, &[]);
    assert!(!out.join("plots/dose_response/resistant02.svg").exists());
    for p in &resistant02_plates {
        assert!(
            !out.join(p).exists(),
            "{p} of the dropped line is still there"
        );
    }
    assert!(out.join("plots/dose_response/resistant01.svg").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "my notes"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("plots/dose_response/notes.txt")).unwrap(),
        "more notes"
    );
    let mut expected = manifest(&out);
    expected.extend(["notes.txt".into(), "plots/dose_response/notes.txt".into()]);
    expected.sort();
    assert_eq!(files_under(&out), expected);
}

#[test]
fn manifest_entries_outside_the_folder_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 2);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "keep").unwrap();
    std::fs::write(out.join("stale.csv"), "from an earlier run").unwrap();
    let absolute = outside.display().to_string();
    std::fs::write(
        out.join("run.json"),
        serde_json::json!({
            "tool": "collateral",
            MANIFEST_KEY: ["../outside.txt", absolute, "stale.csv", "run.json"],
        })
        .to_string(),
    )
    .unwrap();
    let err = run_ok(&assay, &out, &[]);
    assert!(outside.is_file());
    assert!(!out.join("stale.csv").exists());
    assert!(err.contains("`../outside.txt` ignored"), "{err}");
    assert!(err.contains(&format!("`{absolute}` ignored")), "{err}");
}

#[test]
fn a_run_json_not_written_by_collateral_leaves_everything_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 2);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("stale.csv"), "someone's").unwrap();
    std::fs::write(
        out.join("run.json"),
        r#"{"tool": "another", "manifest": ["stale.csv"]}"#,
    )
    .unwrap();
    let err = run_ok(&assay, &out, &[]);
    assert!(out.join("stale.csv").is_file());
    let why = "run.json: was not written by collateral";
    assert!(err.contains(why), "{err}");
    let warnings = run_json(&out)["warnings"].to_string();
    assert!(warnings.contains(why), "{warnings}");
}

#[test]
fn plot_adds_its_figures_to_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulate(&dir.path().join("sim"), 3);
    let out = dir.path().join("out");
    run_ok(&assay, &out, &["--no-figures"]);
    assert!(!manifest(&out).iter().any(|f| f.starts_with("plots/")));
    let before = run_json(&out);
    collateral()
        .args(["plot", "-q", "--format", "png"])
        .arg(&out)
        .assert()
        .success();
    assert!(out.join("plots/heatmap.png").is_file());
    assert_eq!(manifest(&out), files_under(&out));
    // Only the manifest changed in run.json.
    let mut after = run_json(&out);
    after[MANIFEST_KEY] = before[MANIFEST_KEY].clone();
    assert_eq!(after, before);
    // A rerun without figures removes the figures of the earlier data.
    run_ok(&assay, &out, &["--no-figures"]);
    assert!(!out.join("plots").exists() && !out.join("report.html").exists());
    assert_eq!(manifest(&out), files_under(&out));
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
    assert_eq!(manifest(&out), files_under(&out));
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
