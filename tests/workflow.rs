//! The Snakemake workflow (`workflow/Snakefile`) end to end: two small simulated assays, one
//! `collateral run` job each, `collateral merge`, `collateral plot`, with the binary under test
//! on PATH. Snakemake is the one on PATH (version 8 or newer) or else installed from PyPI into
//! a virtual environment under the target folder, once: later runs reuse it. Only a machine
//! without python3 skips this test, and says so; with `CI=true` that fails instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{read_csv, require_program, root};
use crate::merge::{rename_lines, simulate};

/// The Snakemake installed when none is on PATH: a version this workflow was checked with.
const SNAKEMAKE_VERSION: &str = "9.27.1";

/// Whether `python3` runs.
fn python3_runs() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The major version of the `snakemake` on PATH, if there is one that runs.
fn snakemake_on_path() -> Option<u32> {
    let out = Command::new("snakemake").arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The venv's Python.
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A command running Snakemake: the one on PATH when it is version 8 or newer, else the pinned
/// version in a virtual environment under the target folder, installed on first use. The
/// environment is built in a folder of this process and renamed into place when complete, so
/// an interrupted install or a second test process never leaves a half-made one in use (it is
/// run as `python -m snakemake`, which does not depend on the folder's name).
fn snakemake() -> Command {
    if snakemake_on_path().is_some_and(|v| v >= 8) {
        return Command::new("snakemake");
    }
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let venv = base.join(format!("snakemake-{SNAKEMAKE_VERSION}"));
    if !venv.join(".installed").exists() {
        let partial = base.join(format!(
            "snakemake-{SNAKEMAKE_VERSION}.partial-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&base).unwrap();
        eprintln!(
            "workflow test: installing snakemake {SNAKEMAKE_VERSION} from PyPI into {} (once; reused by later runs)",
            venv.display()
        );
        run_ok(
            Command::new("python3").args(["-m", "venv"]).arg(&partial),
            "python3 -m venv",
        );
        run_ok(
            Command::new(venv_python(&partial)).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("snakemake=={SNAKEMAKE_VERSION}"),
            ]),
            "pip install snakemake",
        );
        std::fs::write(partial.join(".installed"), SNAKEMAKE_VERSION).unwrap();
        if std::fs::rename(&partial, &venv).is_err() {
            // Another process finished first (or a broken leftover is in the way).
            if !venv.join(".installed").exists() {
                let _ = std::fs::remove_dir_all(&venv);
                std::fs::rename(&partial, &venv).unwrap();
            } else {
                let _ = std::fs::remove_dir_all(&partial);
            }
        }
    }
    let mut cmd = Command::new(venv_python(&venv));
    cmd.args(["-m", "snakemake"]);
    cmd
}

/// (resistant line, drug) pairs an assay's shifts must cover: its lines table's resistant lines
/// times the drugs of its wells.
fn expected_pairs(screen: &Path) -> BTreeSet<(String, String)> {
    let drugs: BTreeSet<String> = read_csv(&screen.join("wells.csv"))
        .into_iter()
        .map(|w| w["drug"].clone())
        .filter(|d| !d.is_empty())
        .collect();
    let mut out = BTreeSet::new();
    for l in read_csv(&screen.join("lines.csv")) {
        if !l["parental_line"].is_empty() {
            for d in &drugs {
                out.insert((l["cell_line"].clone(), d.clone()));
            }
        }
    }
    out
}

#[test]
fn the_snakemake_workflow_runs_merges_and_plots_two_assays() {
    let python = require_program(
        python3_runs().then_some(()),
        "python3",
        "the_snakemake_workflow_runs_merges_and_plots_two_assays",
        "Snakemake runs on python3 (with venv and pip, installed from PyPI when none is on PATH)",
    );
    if python.is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    simulate(dir, "screen-a", 11, 3);
    simulate(dir, "screen-b", 12, 4);
    rename_lines(&dir.join("screen-b"), |l| format!("b-{l}"));

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_collateral"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let snakefile = root().join("workflow/Snakefile");
    let config = [
        "--config",
        "assays=[screen-a/assay.toml,screen-b/assay.toml]",
        "outdir=R",
    ];
    let out = snakemake()
        .arg("-s")
        .arg(&snakefile)
        .args(["--cores", "2"])
        .args(config)
        .env("PATH", &path)
        .current_dir(dir)
        .output()
        .expect("snakemake starts");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "snakemake failed:\n{log}");

    let r = dir.join("R");
    assert!(r.join("runs/screen-a/run.json").exists() && r.join("runs/screen-b/run.json").exists());
    assert!(
        !r.join("runs/screen-a/report.html").exists(),
        "runs are made with --no-figures"
    );
    let shifts = read_csv(&r.join("merged/shifts.csv"));
    let got: BTreeSet<(String, String)> = shifts
        .iter()
        .map(|s| (s["resistant_line"].clone(), s["drug"].clone()))
        .collect();
    let mut want = expected_pairs(&dir.join("screen-a"));
    want.extend(expected_pairs(&dir.join("screen-b")));
    assert_eq!(want.len(), 2 * 4 + 3 * 4);
    assert_eq!(got, want);
    for s in &shifts {
        let run = if s["resistant_line"].starts_with("b-") {
            "screen-b"
        } else {
            "screen-a"
        };
        assert_eq!(s["run"], run);
    }
    let html = std::fs::read_to_string(r.join("merged/report.html")).unwrap();
    assert!(html.contains("merge of screen-a, screen-b"));
    assert!(r.join("merged/plots/heatmap.svg").exists());

    // Done is done: plot rewrites merged/run.json (its manifest), which must not make the next
    // invocation redraw.
    let again = snakemake()
        .arg("-s")
        .arg(&snakefile)
        .args(["--cores", "2", "--dry-run"])
        .args(config)
        .env("PATH", &path)
        .current_dir(dir)
        .output()
        .expect("snakemake starts");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        again.status.success() && log.contains("Nothing to be done"),
        "{log}"
    );
}
