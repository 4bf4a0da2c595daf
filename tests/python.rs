//! The Python package (python/): built into a virtual environment and tested with pytest, so
//! `cargo test` covers the Python API too. The suite (python/tests/) compares every table and
//! error with this build's `collateral` binary.
//!
//! Needs Python ≥ 3.9 with `venv` and PyPI (maturin, pytest, pandas, networkx, matplotlib,
//! pyarrow, duckdb are
//! installed into `target/tmp/python-venv` on the first run and reused). Without Python the
//! test is skipped with a message, and fails under `CI=true`; `COLLATERAL_SKIP_PYTHON=1` skips
//! it on purpose (not under CI). `COLLATERAL_PYTHON`
//! names another interpreter.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{on_ci, require_program};

/// What the suite needs besides the package (its own dependencies, numpy and pandas, come
/// with it).
const TEST_PACKAGES: [&str; 9] = [
    "maturin>=1.9,<2",
    "pytest>=7",
    "pandas>=1.5",
    "numpy>=1.21",
    "networkx>=2.6",
    "matplotlib>=3.5",
    // The Parquet outputs and Arrow tables (python/tests/test_arrow.py): pyarrow reads them,
    // DuckDB queries a folder of runs, polars takes the tables by their Arrow stream. All ship
    // wheels; the PyCapsule stream needs pyarrow 14 and polars 1.
    "pyarrow>=14",
    "duckdb>=1.1",
    "polars>=1.0",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// The interpreter to build the environment with, if it is Python ≥ 3.9.
fn python() -> Option<String> {
    let python = std::env::var("COLLATERAL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-c", "import sys, venv; print(sys.version_info >= (3, 9))"])
        .output()
        .ok()?;
    (out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "True")
        .then_some(python)
}

/// A virtual environment with the suite's packages, made once per target folder.
fn environment(python: &str) -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let bin = venv.join("bin");
    if !bin.join("python").exists() {
        run(
            Command::new(python).args(["-m", "venv"]).arg(&venv),
            "creating the virtual environment",
        );
    }
    let ready = Command::new(bin.join("python"))
        .args([
            "-c",
            "import maturin, pytest, pandas, numpy, networkx, matplotlib, pyarrow, duckdb, polars",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        run(
            Command::new(bin.join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(TEST_PACKAGES),
            "installing the test packages from PyPI",
        );
    }
    venv
}

/// `pip install ./python` into `venv`: maturin builds the bindings with cargo (dev profile,
/// in this target folder, so the library built for these tests is reused).
fn install_package(venv: &Path) {
    let bin = venv.join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target folder")
        .to_path_buf();
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--no-build-isolation", "--force-reinstall"])
            .arg(repo().join("python"))
            .env("PATH", path)
            .env("MATURIN_PEP517_ARGS", "--profile dev")
            .env("CARGO_TARGET_DIR", target),
        "pip install ./python",
    );
}

#[test]
fn the_python_package_gives_the_cli_numbers() {
    let test = "the_python_package_gives_the_cli_numbers";
    if std::env::var_os("COLLATERAL_SKIP_PYTHON").is_some() {
        assert!(
            !on_ci(),
            "{test}: COLLATERAL_SKIP_PYTHON is set, and CI=true forbids skipping the Python suite"
        );
        eprintln!("skipped: COLLATERAL_SKIP_PYTHON is set");
        return;
    }
    let Some(python) = require_program(
        python(),
        "Python >= 3.9 with venv",
        test,
        "the Python suite builds the package into a virtual environment (python3, or \
         COLLATERAL_PYTHON; Debian: apt-get install python3-venv); set COLLATERAL_SKIP_PYTHON=1 \
         to skip it on purpose",
    ) else {
        return;
    };
    let venv = environment(&python);
    install_package(&venv);
    let out = run(
        Command::new(venv.join("bin").join("python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
            .arg(repo().join("python").join("tests"))
            .env("COLLATERAL_BIN", env!("CARGO_BIN_EXE_collateral"))
            .env("COLLATERAL_REPO", repo())
            .env("MPLBACKEND", "Agg")
            .current_dir(repo()),
        "pytest python/tests",
    );
    eprintln!("{out}");
    // Every test ran: none skipped for a missing package, none failed.
    let summary = out.lines().last().unwrap_or_default().to_string();
    assert!(
        summary.contains(" passed") && !summary.contains("skipped") && !summary.contains("failed"),
        "pytest: {summary}"
    );
}
