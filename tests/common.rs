//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The `collateral` binary under test.
pub fn collateral() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("collateral").expect("binary built")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes a file into a folder and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// Reads a CSV into rows of column → value.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            head.iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Parses a float field.
pub fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {:?} is not a number", row[col]))
}

/// Runs a bundled assay (path relative to the repository) into a fresh temporary folder.
pub fn run_bundled(assay: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", assay, "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    out
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or `false`, as CI
/// services and `.ci/run`'s caller set it). There a check must not skip itself.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE" | "False"))
}

/// The outside program a test needs, once the test has looked for it (`found`). Missing under
/// CI: the test fails, naming the program, because a green CI must mean the check ran (`.ci/run`
/// installs every such program). Missing elsewhere: the test is skipped with a message on the
/// real stderr (the harness captures `eprintln!` of passing tests) and `None` is returned.
pub fn require_program<T>(found: Option<T>, program: &str, test: &str, why: &str) -> Option<T> {
    use std::io::Write;
    if found.is_some() {
        return found;
    }
    if on_ci() {
        panic!(
            "{test}: {program} is missing or does not start, and CI=true forbids skipping: {why}"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {program} is missing or does not start ({why}); with CI=true this fails"
    );
    None
}

/// Whether `program ARGS` starts and exits with success (the usual `--version` probe).
pub fn program_runs(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}
