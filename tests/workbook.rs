//! `results.xlsx`: written by `run --xlsx` and `plot --xlsx`, read back with calamine, every
//! number and text equal to the CSVs it comes from.

use std::path::Path;

use calamine::{open_workbook_auto_from_rs, Data, Reader};

use crate::common::{collateral, read_csv, root};

fn sheet(book: &[u8], name: &str) -> calamine::Range<Data> {
    let mut wb = open_workbook_auto_from_rs(std::io::Cursor::new(book.to_vec())).unwrap();
    wb.worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"))
}

/// The sheet's cell at (row, column) as the CSV would write it: numbers through the tool's own
/// formatter (shortest round trip), text as is, empty as empty.
fn cell_text(range: &calamine::Range<Data>, r: usize, c: usize) -> String {
    match range.get((r, c)) {
        None | Some(Data::Empty) => String::new(),
        Some(Data::Float(x)) => collateral::text::format_number(*x),
        Some(Data::Int(i)) => i.to_string(),
        Some(Data::String(s)) => s.clone(),
        Some(Data::Bool(b)) => b.to_string(),
        Some(other) => panic!("unexpected cell {other:?}"),
    }
}

/// Every cell of `name` equals the CSV `file` of `dir`, header included; returns the rows.
fn sheet_equals_csv(book: &[u8], name: &str, dir: &Path, file: &str) -> usize {
    let range = sheet(book, name);
    let mut reader = csv::Reader::from_path(dir.join(file)).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    for (c, h) in header.iter().enumerate() {
        assert_eq!(&cell_text(&range, 0, c), h, "{name} header");
    }
    let mut rows = 0;
    for (r, rec) in reader.records().enumerate() {
        let rec = rec.unwrap();
        for (c, v) in rec.iter().enumerate() {
            let got = cell_text(&range, r + 1, c);
            // A number cell must hold the CSV's exact value (text cells are compared as text).
            if let (Ok(want), Some(Data::Float(x))) = (v.parse::<f64>(), range.get((r + 1, c))) {
                assert_eq!(
                    want.to_bits(),
                    x.to_bits(),
                    "{name} row {} column {}",
                    r + 2,
                    header[c]
                );
            } else {
                assert_eq!(got, v, "{name} row {} column {}", r + 2, header[c]);
            }
        }
        rows += 1;
    }
    // Nothing beyond the CSV's rows but the Matrix sheet's legend line.
    let extra = if name == "Matrix" { 2 } else { 0 };
    assert!(
        range.height() <= rows + 1 + extra,
        "{name}: {} rows",
        range.height()
    );
    rows
}

#[test]
fn run_xlsx_holds_the_csvs_value_for_value() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "--xlsx", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    let book = std::fs::read(out.path().join("results.xlsx")).unwrap();
    let wb = open_workbook_auto_from_rs(std::io::Cursor::new(book.clone())).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "QC",
            "Fits",
            "Shifts",
            "Matrix",
            "Calls",
            "Cycles",
            "Likelihood",
            "Warnings"
        ]
    );
    for (name, file) in [
        ("QC", "qc.csv"),
        ("Fits", "fits.csv"),
        ("Shifts", "shifts.csv"),
        ("Matrix", "matrix.csv"),
        ("Calls", "calls.csv"),
        ("Cycles", "cycles.csv"),
        ("Likelihood", "likelihood.csv"),
    ] {
        let rows = sheet_equals_csv(&book, name, out.path(), file);
        // Dhawan's network has no cycle; every other table has rows.
        assert!(rows > 0 || name == "Cycles", "{name} is empty");
    }
    // Identity columns stay text; p-values are numbers.
    let fits = sheet(&book, "Fits");
    assert!(matches!(fits.get((1, 0)), Some(Data::String(_))));
    let shifts = read_csv(&out.path().join("shifts.csv"));
    let warnings = sheet(&book, "Warnings");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    let listed = run["warnings"].as_array().unwrap();
    assert!(
        !listed.is_empty(),
        "the Dhawan run warns about missing blanks"
    );
    for (i, w) in listed.iter().enumerate() {
        assert_eq!(cell_text(&warnings, i + 1, 0), w.as_str().unwrap());
    }
    assert!(!shifts.is_empty());
    // The workbook is in the run's manifest, so a rerun without --xlsx removes it.
    let manifest: Vec<&str> = run["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(manifest.contains(&"results.xlsx"));
}

#[test]
fn plot_xlsx_writes_the_same_tables_into_a_run_folder_and_is_repeatable() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/dhawan2017/assay.toml", "--no-figures", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    assert!(!out.path().join("results.xlsx").exists());
    collateral()
        .args(["plot", "--xlsx"])
        .arg(out.path())
        .assert()
        .success();
    let first = std::fs::read(out.path().join("results.xlsx")).unwrap();
    sheet_equals_csv(&first, "Shifts", out.path(), "shifts.csv");
    sheet_equals_csv(&first, "Matrix", out.path(), "matrix.csv");
    collateral()
        .args(["plot", "--xlsx"])
        .arg(out.path())
        .assert()
        .success();
    let second = std::fs::read(out.path().join("results.xlsx")).unwrap();
    assert!(
        first == second,
        "the same folder gives the same workbook bytes"
    );
}

#[test]
fn time_courses_and_lineages_get_their_sheets() {
    // Lineages sampled over time: trajectories.csv and stability.csv.
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args([
            "run",
            "assays/maltas-wood-temporal/assay.toml",
            "--no-figures",
            "--xlsx",
            "-o",
        ])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    let book = std::fs::read(out.path().join("results.xlsx")).unwrap();
    assert!(sheet_equals_csv(&book, "Trajectories", out.path(), "trajectories.csv") > 0);
    assert!(sheet_equals_csv(&book, "Stability", out.path(), "stability.csv") > 0);
    // Wells read at several times: dip_rates.csv.
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args(["simulate", "-o"])
        .arg(dir.path())
        .args([
            "--seed", "2", "--lines", "2", "--drugs", "2", "--t0", "--reads", "3",
        ])
        .args(["--doubling-time", "24"])
        .assert()
        .success();
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .args(["--no-figures", "--xlsx", "-o"])
        .arg(&out)
        .assert()
        .success();
    let book = std::fs::read(out.join("results.xlsx")).unwrap();
    assert!(sheet_equals_csv(&book, "DIP rates", &out, "dip_rates.csv") > 0);
}

#[test]
fn a_folder_without_run_json_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.json"), "{ not json").unwrap();
    let e = collateral::workbook::workbook_from_folder(dir.path()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("run.json:1"), "{text}");
    assert!(
        text.contains("not the run.json of a collateral run"),
        "{text}"
    );
}

/// LibreOffice, when installed (`.ci/run` installs it): opening `results.xlsx` headless and
/// exporting every sheet must work, and the sheets it sees must be the CSVs (numbers to the
/// precision it exports: 15 significant digits, at most 20 decimals).
#[test]
fn libreoffice_opens_the_workbook_and_sees_the_csvs() {
    let found = ["soffice", "libreoffice"]
        .into_iter()
        .find(|b| crate::common::program_runs(b, &["--version"]));
    let Some(soffice) = crate::common::require_program(
        found,
        "LibreOffice (soffice)",
        "libreoffice_opens_the_workbook_and_sees_the_csvs",
        "it opens results.xlsx headless; Debian: apt-get install libreoffice-calc-nogui, as \
         .ci/run does (calamine reads the workbook back in the other tests)",
    ) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "--no-figures", "--xlsx", "--quiet", "-o"])
        .arg(out.path())
        .arg(root().join("assays/iwasawa2022/assay.toml"))
        .assert()
        .success();
    let converted = out.path().join("converted");
    // A profile of its own: a user's running LibreOffice or a locked default profile must not
    // interfere. Filter options: comma-separated UTF-8, every sheet to its own file (-1).
    let profile = format!(
        "-env:UserInstallation=file://{}",
        out.path().join("lo-profile").display()
    );
    let done = std::process::Command::new(soffice)
        .args(["--headless", "--norestore", &profile, "--convert-to"])
        .arg("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1")
        .arg("--outdir")
        .arg(&converted)
        .arg(out.path().join("results.xlsx"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "LibreOffice failed: {said}");
    assert!(
        !said.to_lowercase().contains("error"),
        "LibreOffice said: {said}"
    );
    for sheet in [
        "Summary", "QC", "Fits", "Shifts", "Matrix", "Calls", "Cycles", "Warnings",
    ] {
        assert!(
            converted.join(format!("results-{sheet}.csv")).is_file(),
            "sheet {sheet} not exported: {said}"
        );
    }
    for (sheet, file) in [
        ("QC", "qc.csv"),
        ("Fits", "fits.csv"),
        ("Shifts", "shifts.csv"),
        ("Matrix", "matrix.csv"),
        ("Calls", "calls.csv"),
    ] {
        let seen = read_csv(&converted.join(format!("results-{sheet}.csv")));
        let want = read_csv(&out.path().join(file));
        assert!(seen.len() >= want.len(), "{sheet}: {} rows", seen.len());
        for (i, (s, w)) in seen.iter().zip(&want).enumerate() {
            for (column, value) in w {
                let got = s.get(column).map(String::as_str).unwrap_or("");
                match (value.parse::<f64>(), got.parse::<f64>()) {
                    (Ok(a), Ok(b)) => assert!(
                        a == b || ((a - b) / a).abs() < 1e-13 || (a - b).abs() < 1e-19,
                        "{sheet} row {} {column}: {value} vs {got}",
                        i + 2
                    ),
                    _ => assert_eq!(got, value, "{sheet} row {} {column}", i + 2),
                }
            }
        }
    }
}
