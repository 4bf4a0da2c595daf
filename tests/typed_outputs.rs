//! A finished run read back through its types: a missing column or a malformed cell of any
//! table the figures read is an error naming the file, the column (and the line), and the typed
//! outputs written again from what was read are the bytes the run wrote.

use std::path::Path;

use collateral::output::run_json::RunJson;
use collateral::plot::data::RunData;

use crate::common::run_bundled;

/// Copies the run's files (not its figures) into a fresh folder.
fn copy_run(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    to
}

/// Rewrites a CSV: `edit` gets the header and the records and changes them.
fn edit_csv(path: &Path, edit: impl FnOnce(&mut Vec<String>, &mut Vec<Vec<String>>)) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    edit(&mut header, &mut rows);
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&header).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// The error of reading the folder, as text.
fn read_error(dir: &Path) -> String {
    match RunData::read(dir) {
        Ok(_) => panic!("{} read without an error", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_table_the_figures_read_names_a_missing_column_and_a_malformed_cell() {
    let run = run_bundled("assays/maltas-wood-temporal/assay.toml");
    RunData::read(run.path()).expect("the run reads back");
    // No bundled run has a cycle: one is added.
    let cycles = copy_run(run.path());
    let path = cycles.path().join("cycles.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("1,2,CRO -> DOX -> CRO,-1.5,0.01\n");
    std::fs::write(&path, text).unwrap();
    RunData::read(cycles.path()).expect("a cycle reads back");
    check_cases(
        cycles.path(),
        &[("cycles.csv", "cycle", "sum_log2_fc", "-")],
    );
    // (file, a column it must have, a column and a value that column cannot hold)
    let cases = [
        ("fits.csv", "status", "ic50", "abc"),
        ("fits.csv", "n_points", "status", "converged"),
        ("shifts.csv", "call", "q_value", "small"),
        ("shifts.csv", "metric", "call", "maybe"),
        ("shifts.csv", "value_parental", "log2_fc_qualifier", ">>"),
        ("qc.csv", "verdict", "z_prime", "0.x"),
        ("qc.csv", "plate_size", "verdict", "fine"),
        ("wells.csv", "viability", "concentration", "lots"),
        ("wells.csv", "excluded", "excluded", "yes"),
        ("trajectories.csv", "call", "log2_fc", "1,0"),
        ("stability.csv", "course", "course", "sometimes"),
        ("likelihood.csv", "n_cs", "n_cs", "two"),
    ];
    check_cases(run.path(), &cases);
}

/// Each (file, a column it must have, a column and a value that column cannot hold) of a run:
/// the column left out, then the value written in the first row, each an error naming them.
fn check_cases(run: &Path, cases: &[(&str, &str, &str, &str)]) {
    for &(file, required, column, bad) in cases {
        let dir = copy_run(run);
        edit_csv(&dir.path().join(file), |header, rows| {
            let i = header.iter().position(|h| h == required).unwrap();
            header.remove(i);
            for r in rows {
                r.remove(i);
            }
        });
        let e = read_error(dir.path());
        assert!(
            e.contains(file) && e.contains(&format!("`{required}`")),
            "{file} without {required}: {e}"
        );

        let dir = copy_run(run);
        edit_csv(&dir.path().join(file), |header, rows| {
            let i = header.iter().position(|h| h == column).unwrap();
            assert!(!rows.is_empty(), "{file} has no rows");
            rows[0][i] = bad.to_string();
        });
        let e = read_error(dir.path());
        assert!(
            e.contains(&format!("{file}:2")) && e.contains(&format!("`{column}` is `{bad}`")),
            "{file} with {column} = {bad}: {e}"
        );
    }
}

#[test]
fn run_json_names_its_line_when_malformed_and_reads_back_to_its_own_bytes() {
    let run = run_bundled("assays/dhawan2017/assay.toml");
    let path = run.path().join("run.json");
    let written = std::fs::read(&path).unwrap();
    let record = RunJson::read(&path).unwrap();
    assert!(record.manifest.is_some());
    let mut again = Vec::new();
    record.write(&mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        String::from_utf8(written.clone()).unwrap()
    );

    // A count that is not a number, and a key left out: the file and line are named.
    let text = String::from_utf8(written).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("run.json");
    std::fs::write(
        &bad,
        text.replacen("\"qc_rows\": ", "\"qc_rows\": \"many\", \"x\": ", 1),
    )
    .unwrap();
    let e = RunJson::read(&bad).unwrap_err().to_string();
    assert!(e.contains("run.json:21"), "{e}");
    assert!(e.contains("not the run.json of a collateral run"), "{e}");
    std::fs::write(&bad, text.replacen("\"version\": ", "\"versions\": ", 1)).unwrap();
    let e = RunJson::read(&bad).unwrap_err().to_string();
    assert!(e.contains("run.json:") && e.contains("`version`"), "{e}");
    std::fs::write(&bad, "{\"tool\": \"other\"}").unwrap();
    let e = RunJson::read(&bad).unwrap_err().to_string();
    assert!(e.contains("was not written by collateral"), "{e}");
}

#[test]
fn shifts_read_back_write_the_same_bytes() {
    let run = run_bundled("assays/maltas-wood-temporal/assay.toml");
    let path = run.path().join("shifts.csv");
    let shifts = collateral::output::tables::read_shifts(&path).unwrap();
    let settings = RunJson::read(&run.path().join("run.json"))
        .unwrap()
        .settings
        .shift_or_default();
    let mut again = Vec::new();
    collateral::shift::write_shifts(&mut again, &shifts, &settings).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );
}
