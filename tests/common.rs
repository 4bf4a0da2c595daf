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
