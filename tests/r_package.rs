//! The R package (r/): installed with `R CMD INSTALL` into a temporary library and tested with
//! testthat, so `cargo test` covers the R API too. The suite (r/tests/testthat/) compares the
//! data frames and errors with this build's `collateral` binary.
//!
//! Needs R ≥ 4.2 with testthat (Debian: `apt-get install r-base-core r-base-dev
//! r-cran-testthat`; `.ci/run` installs them). Without R the test is skipped with a message,
//! and fails under `CI=true`; `COLLATERAL_SKIP_R=1` skips it on purpose (not under CI). The
//! package's Rust crate is built by cargo's dev profile into this target folder, so the library
//! built for these tests is reused.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::common::{on_ci, require_program};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command`; its output, or a panic naming `what` with the output.
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

/// `Rscript`, if R ≥ 4.2 and testthat are installed.
fn rscript() -> Option<&'static str> {
    let probe = "stopifnot(getRversion() >= '4.2.0'); library(testthat)";
    Command::new("Rscript")
        .args(["-e", probe])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "Rscript")
}

#[test]
fn the_r_package_gives_the_cli_numbers() {
    let test = "the_r_package_gives_the_cli_numbers";
    if std::env::var_os("COLLATERAL_SKIP_R").is_some() {
        assert!(
            !on_ci(),
            "{test}: COLLATERAL_SKIP_R is set, and CI=true forbids skipping the R suite"
        );
        eprintln!("skipped: COLLATERAL_SKIP_R is set");
        return;
    }
    let Some(rscript) = require_program(
        rscript(),
        "R >= 4.2 with testthat",
        test,
        "the R suite installs r/ and runs its testthat tests (Debian: apt-get install \
         r-base-core r-base-dev r-cran-testthat); set COLLATERAL_SKIP_R=1 to skip it on purpose",
    ) else {
        return;
    };
    let library = tempfile::tempdir().unwrap();
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target folder")
        .to_path_buf();
    let started = Instant::now();
    run(
        Command::new("R")
            .args(["CMD", "INSTALL", "--no-test-load"])
            .arg(format!("--library={}", library.path().display()))
            .arg(repo().join("r"))
            .env("COLLATERAL_R_TARGET_DIR", &target)
            .env("COLLATERAL_R_PROFILE", "dev"),
        "R CMD INSTALL r",
    );
    eprintln!("R CMD INSTALL r: {:.1} s", started.elapsed().as_secs_f64());
    let script = "testthat::test_dir('r/tests/testthat', package = 'collateral', \
                  load_package = 'installed', reporter = 'summary', stop_on_failure = TRUE, \
                  stop_on_warning = TRUE)";
    let out = run(
        Command::new(rscript)
            .args(["-e", script])
            .env("R_LIBS", library.path())
            .env("COLLATERAL_BIN", env!("CARGO_BIN_EXE_collateral"))
            .env("COLLATERAL_REPO", repo())
            .current_dir(repo()),
        "testthat r/tests/testthat",
    );
    eprintln!("{out}");
    // Every test ran: none skipped (a missing binary would skip the comparisons).
    assert!(
        !out.contains("Skipped") && !out.contains("SKIP"),
        "testthat skipped tests:\n{out}"
    );
}
