//! Parquet outputs (`--format parquet|both`, `[output] format`): a folder of Parquet tables is
//! read by `plot`, `merge`, `plan` and `shift` as its CSV twin is, and the assay chooses the
//! form unless the command line says otherwise.

use std::path::{Path, PathBuf};

use collateral::frame::parquet::{frame_of_csv, read_frame};
use collateral::frame::{Column, Frame};

use crate::common::{collateral, root};

const DHAWAN: &str = "assays/dhawan2017/assay.toml";

/// `collateral run` of the Dhawan assay into `out` with `args`.
fn run(out: &Path, args: &[&str]) {
    collateral()
        .args(["run", DHAWAN, "-o"])
        .arg(out)
        .args(args)
        .current_dir(root())
        .assert()
        .success();
}

/// The files of a folder (recursively, `/`-separated), with their bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let name = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(name);
            } else {
                let text = name.to_string_lossy().replace('\\', "/");
                out.push((text, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Frames equal value for value (numbers bit for bit).
fn assert_same(what: &str, a: &Frame, b: &Frame) {
    assert_eq!(a.len(), b.len(), "{what}: columns");
    for ((na, ca), (nb, cb)) in a.iter().zip(b) {
        assert_eq!(na, nb, "{what}");
        let same = match (ca, cb) {
            (Column::Number(x), Column::Number(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            _ => ca == cb,
        };
        assert!(same, "{what} column {na}");
    }
}

/// The targets of a report's links to files beside it (not to the web, nor within the page).
fn local_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|t| !t.starts_with('#') && !t.contains("://") && !t.starts_with("mailto:"))
        .map(String::from)
        .collect()
}

/// The CSV table at `path` as typed columns.
fn csv_frame(path: &Path) -> Frame {
    let name = path.file_name().unwrap().to_str().unwrap();
    frame_of_csv(name, &std::fs::read(path).unwrap()).unwrap()
}

/// A run written as Parquet only draws the same figures and report as its CSV twin; merging
/// it gives the same merged tables; planning on it writes `plan.parquet` equal to the CSV
/// folder's `plan.csv`.
#[test]
fn a_parquet_folder_is_read_as_its_csv_folder() {
    let dir = tempfile::tempdir().unwrap();
    // One folder name for both (a merge names each run by its folder).
    let (csv, parquet) = (dir.path().join("a/screen"), dir.path().join("b/screen"));
    run(&csv, &[]);
    run(&parquet, &["--format", "parquet"]);
    let tables: Vec<String> = files(&parquet)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    assert!(tables.contains(&"wells.parquet".to_string()), "{tables:?}");
    assert!(files(&parquet).iter().all(|(n, _)| !n.ends_with(".csv")));
    for table in &tables {
        let twin = csv.join(table.replace(".parquet", ".csv"));
        assert_same(
            table,
            &csv_frame(&twin),
            &read_frame(&parquet.join(table)).unwrap(),
        );
    }
    let drawn = |d: &Path| -> Vec<(String, Vec<u8>)> {
        files(d)
            .into_iter()
            .filter(|(n, _)| n.starts_with("plots/"))
            .collect()
    };
    let figures = drawn(&csv);
    assert!(figures.len() > 5);
    assert!(
        figures == drawn(&parquet),
        "figures of the Parquet folder differ"
    );
    // The same report, but that its links to tables point at the Parquet files the folder has.
    let report = |d: &Path| std::fs::read_to_string(d.join("report.html")).unwrap();
    let (csv_report, parquet_report) = (report(&csv), report(&parquet));
    let mut relinked = csv_report.clone();
    for table in &tables {
        let twin = table.replace(".parquet", ".csv");
        relinked = relinked.replace(
            &format!("<a href=\"{twin}\">{twin}</a>"),
            &format!("<a href=\"{table}\">{table}</a>"),
        );
    }
    assert_ne!(relinked, csv_report, "the report links no table");
    assert!(relinked == parquet_report, "reports differ beyond links");
    for (folder, html) in [(&csv, &csv_report), (&parquet, &parquet_report)] {
        for target in local_links(html) {
            assert!(
                folder.join(&target).is_file(),
                "report.html of {} links {target}, which is not there",
                folder.display()
            );
        }
    }

    // Merging either folder gives the same merged tables; merged as both forms, each Parquet
    // table equals its CSV twin (`shifts` with the merge's `run` and `parental_run` columns).
    for (from, to, format) in [
        (&csv, "merged-csv", "csv"),
        (&parquet, "merged-parquet", "both"),
    ] {
        collateral()
            .args(["merge"])
            .arg(from)
            .arg("-o")
            .arg(dir.path().join(to))
            .args(["--no-figures", "--format", format])
            .assert()
            .success();
    }
    let (a, b) = (
        dir.path().join("merged-csv"),
        dir.path().join("merged-parquet"),
    );
    for table in [
        "wells.csv",
        "qc.csv",
        "fits.csv",
        "shifts.csv",
        "matrix.csv",
        "calls.csv",
    ] {
        assert_same(
            table,
            &csv_frame(&a.join(table)),
            &csv_frame(&b.join(table)),
        );
        let parquet = b.join(table.replace(".csv", ".parquet"));
        assert_same(
            table,
            &csv_frame(&b.join(table)),
            &read_frame(&parquet).unwrap(),
        );
    }
    let merged_shifts = read_frame(&b.join("shifts.parquet")).unwrap();
    let columns: Vec<&str> = merged_shifts.iter().map(|(n, _)| n.as_str()).collect();
    assert!(columns.ends_with(&["run", "parental_run"]), "{columns:?}");

    // Planning on the Parquet folder adds a Parquet plan.
    for (from, to) in [(&csv, "plan-csv"), (&parquet, "plan-parquet")] {
        collateral()
            .args(["plan"])
            .arg(from)
            .arg("-o")
            .arg(dir.path().join(to))
            .args(["--length", "2"])
            .assert()
            .success();
    }
    let planned = read_frame(&dir.path().join("plan-parquet/plan.parquet")).unwrap();
    assert_same(
        "plan",
        &csv_frame(&dir.path().join("plan-csv/plan.csv")),
        &planned,
    );
}

/// `[output] format` chooses the form; `--format` overrides it, and a rerun into the folder
/// removes the tables of the other form (the manifest).
#[test]
fn the_assay_chooses_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let data = root().join("assays/dhawan2017");
    let text = std::fs::read_to_string(data.join("assay.toml")).unwrap();
    let text = text
        .replace("\"wells.csv\"", &format!("{:?}", data.join("wells.csv")))
        .replace("\"lines.csv\"", &format!("{:?}", data.join("lines.csv")));
    let assay = dir.path().join("assay.toml");
    std::fs::write(&assay, format!("{text}\n[output]\nformat = \"parquet\"\n")).unwrap();
    let out = dir.path().join("out");
    let run = |args: &[&str]| {
        collateral()
            .arg("run")
            .arg(&assay)
            .arg("-o")
            .arg(&out)
            .args(["--no-figures"])
            .args(args)
            .assert()
            .success();
    };
    run(&[]);
    assert!(out.join("shifts.parquet").is_file() && !out.join("shifts.csv").exists());
    run(&["--format", "csv"]);
    assert!(out.join("shifts.csv").is_file() && !out.join("shifts.parquet").exists());
    run(&["--format", "both"]);
    assert!(out.join("wells.csv").is_file() && out.join("wells.parquet").is_file());

    std::fs::write(&assay, format!("{text}\n[output]\nformat = \"arrow\"\n")).unwrap();
    let failed = collateral().arg("validate").arg(&assay).assert().failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(
        stderr.contains("csv") && stderr.contains("parquet"),
        "{stderr}"
    );
    std::fs::write(&assay, format!("{text}\n[output]\nform = \"csv\"\n")).unwrap();
    let failed = collateral().arg("validate").arg(&assay).assert().failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(
        stderr.contains("output.form") && stderr.contains("format"),
        "{stderr}"
    );
}

/// `collateral shift` reads a Parquet fits table and writes Parquet tables equal to the CSV
/// ones.
#[test]
fn shift_reads_and_writes_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    run(&run_dir, &["--format", "both", "--no-figures"]);
    let lines = root().join("assays/dhawan2017/lines.csv");
    for (fits, format, out) in [
        ("fits.csv", "csv", "shift-csv"),
        ("fits.parquet", "parquet", "shift-parquet"),
    ] {
        collateral()
            .arg("shift")
            .arg(run_dir.join(fits))
            .arg("--lines")
            .arg(&lines)
            .args(["--metric", "ec50", "--format", format, "-o"])
            .arg(dir.path().join(out))
            .assert()
            .success();
    }
    for table in ["shifts", "matrix", "calls", "cycles", "likelihood"] {
        let a = csv_frame(&dir.path().join(format!("shift-csv/{table}.csv")));
        let b = read_frame(&dir.path().join(format!("shift-parquet/{table}.parquet"))).unwrap();
        assert_same(table, &a, &b);
    }
    assert!(!dir.path().join("shift-parquet/shifts.csv").exists());
}
