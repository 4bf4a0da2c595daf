//! A run's tables as typed columns (`Results::frames`) for screens the bundled assays do not
//! cover: growth data (GR, DIP time courses: `dip_rates.csv`, `fits.csv` with growth columns)
//! and MICs (`mics.csv`). Each frame equals the file the run writes read back as the Python
//! package reads it, and every table that has a row type reads back through it to the same
//! bytes.

use std::path::Path;

use collateral::frame::parquet::read_frame;
use collateral::frame::read_typed;
use collateral::frame::{column_of_cells, Column, Frame};
use collateral::outdir::TableFormat;
use collateral::output::column_kind;
use collateral::simulate::{simulate, SimulationSettings};
use collateral::{RunOptions, Screen, Silent};

/// The columns of the CSV `bytes` of `file`, typed as a reader of the tool's tables types them.
fn read_back(file: &str, bytes: &[u8]) -> Frame {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut cells = vec![Vec::new(); header.len()];
    for row in reader.records() {
        for (column, cell) in cells.iter_mut().zip(row.unwrap().iter()) {
            column.push(cell.to_string());
        }
    }
    header
        .into_iter()
        .zip(cells)
        .map(|(name, cells)| {
            let column = column_of_cells(column_kind(file, &name), cells);
            (name, column)
        })
        .collect()
}

/// Whether two frames hold the same columns and values (NaN equal to NaN, bit for bit).
fn same(a: &Frame, b: &Frame) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((na, ca), (nb, cb))| {
            na == nb
                && match (ca, cb) {
                    (Column::Number(x), Column::Number(y)) => {
                        x.len() == y.len()
                            && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
                    }
                    _ => ca == cb,
                }
        })
}

/// Simulates a screen with `settings`, adds `extra` to its assay file, runs it in memory and
/// checks every frame against the written folder; returns the names of the frames.
fn check(settings: SimulationSettings, extra: &str) -> Vec<String> {
    run_simulated(settings, extra).1
}

/// [`check`], also returning the folder (`out` inside it) the run wrote.
fn run_simulated(settings: SimulationSettings, extra: &str) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let screen_dir = dir.path().join("screen");
    simulate(&settings.check().unwrap())
        .write(&screen_dir)
        .unwrap();
    let assay = screen_dir.join("assay.toml");
    let text = std::fs::read_to_string(&assay).unwrap();
    std::fs::write(&assay, format!("{text}{extra}")).unwrap();
    let names = check_assay(&assay, &dir.path().join("out"));
    (dir, names)
}

/// Runs `assay` in memory, writes its folder to `out` as CSV and Parquet, and checks that
/// every table written has a frame equal to it read back (the CSV and the Parquet file) and
/// reads back through its row type to the same bytes; returns the names of the frames.
fn check_assay(assay: &Path, out: &Path) -> Vec<String> {
    let results = Screen::read(assay, false).unwrap().run(&Silent).unwrap();
    let options = RunOptions {
        figures: false,
        format: Some(TableFormat::Both),
        ..Default::default()
    };
    results.write(out, &options).unwrap();
    let frames = results.frames();
    let written = |ext: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| Some(format!("{}.csv", n.strip_suffix(ext)?)))
            .collect();
        names.sort();
        names
    };
    let mut names: Vec<String> = frames.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        written(".csv"),
        "every table the run writes has a frame"
    );
    assert_eq!(names, written(".parquet"), "and is written as Parquet");
    for (name, frame) in &frames {
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert!(same(frame, &read_back(name, &bytes)), "{name}");
        let parquet = out.join(name.replace(".csv", ".parquet"));
        assert!(
            same(frame, &read_frame(&parquet).unwrap()),
            "{name} as Parquet"
        );
        let typed = read_typed(&out.join(name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} reads through its row type"));
        assert_eq!(
            typed.bytes, bytes,
            "{name} read through its type, written again"
        );
        assert!(same(&typed.frame, frame), "{name}: the typed rows' frame");
    }
    names
}

/// Rewrites the CSV at `path` without column `missing` (when given), or with the first row's
/// cell of `column` set to `bad`.
fn edit(path: &Path, missing: Option<&str>, column: &str, bad: &str) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let gone = missing.map(|m| header.iter().position(|h| h == m).unwrap());
    let at = header.iter().position(|h| h == column).unwrap();
    rows[0][at] = if gone.is_some() {
        rows[0][at].clone()
    } else {
        bad.to_string()
    };
    let mut w = csv::Writer::from_path(path).unwrap();
    let keep = |r: &[String]| -> Vec<String> {
        r.iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != gone)
            .map(|(_, v)| v.clone())
            .collect()
    };
    w.write_record(keep(&header)).unwrap();
    for r in &rows {
        w.write_record(keep(r)).unwrap();
    }
    w.flush().unwrap();
}

/// The growth columns of `fits.csv` and the `gr` column of `wells.csv`: a missing column and a
/// malformed cell are errors naming the file, the column (and the line), read by the faces
/// (`read_typed`) and by the figures.
#[test]
fn growth_columns_missing_or_malformed_are_located() {
    let (dir, _) = run_simulated(
        SimulationSettings {
            lines: 2,
            drugs: 2,
            doubling_time: Some(24.0),
            t0: true,
            ..Default::default()
        },
        "\n[shift]\nmetric = \"gr50\"\n",
    );
    let out = dir.path().join("out");
    for (file, missing, column, bad) in [
        ("fits.csv", "dip_status", "gr_status", "fine"),
        ("fits.csv", "gr50", "gr_n_points", "many"),
        ("wells.csv", "exclusion_reason", "gr", "high"),
    ] {
        let path = out.join(file);
        let original = std::fs::read(&path).unwrap();
        for gone in [Some(missing), None] {
            std::fs::write(&path, &original).unwrap();
            edit(&path, gone, column, bad);
            let case = format!("{file} without {gone:?}, {column} = {bad}");
            let mut errors = vec![read_typed(&path).map(drop).expect_err(&case).to_string()];
            // The figures skip the time-0 read the first row of wells.csv is.
            if file == "fits.csv" || gone.is_some() {
                let plot = collateral::plot::data::RunData::read(&out).map(drop);
                errors.push(plot.expect_err(&case).to_string());
            }
            for e in errors {
                match gone {
                    Some(m) => assert!(e.contains(file) && e.contains(&format!("`{m}`")), "{e}"),
                    None => assert!(
                        e.contains(&format!("{file}:2"))
                            && e.contains(&format!("`{column}` is `{bad}`")),
                        "{e}"
                    ),
                }
            }
        }
        std::fs::write(&path, &original).unwrap();
    }
}

#[test]
fn growth_and_time_course_tables_have_frames_equal_to_their_files() {
    let names = check(
        SimulationSettings {
            lines: 3,
            drugs: 3,
            replicates: 2,
            doubling_time: Some(24.0),
            t0: true,
            reads: 4,
            ..Default::default()
        },
        "\n[shift]\nmetric = \"dip_ec50\"\n",
    );
    for table in ["wells.csv", "dip_rates.csv", "fits.csv", "shifts.csv"] {
        assert!(names.iter().any(|n| n == table), "{table} in {names:?}");
    }
}

#[test]
fn mic_tables_have_frames_equal_to_their_files() {
    let names = check(
        SimulationSettings {
            lines: 3,
            drugs: 3,
            dilution: 2.0,
            doses: 10,
            ..Default::default()
        },
        "\n[shift]\nmetric = \"mic\"\n",
    );
    assert!(names.iter().any(|n| n == "mics.csv"), "{names:?}");
}

#[test]
fn replicate_growth_fits_have_frames_equal_to_their_files() {
    let names = check(
        SimulationSettings {
            lines: 3,
            drugs: 2,
            replicates: 2,
            doubling_time: Some(24.0),
            t0: true,
            ..Default::default()
        },
        "\n[shift]\nmetric = \"gr50\"\nper_replicate = true\n",
    );
    assert!(
        names.iter().any(|n| n == "fits_by_replicate.csv"),
        "{names:?}"
    );
}

/// Wells that name batches: `fits_by_batch.csv` has a frame and follows the run's format.
#[test]
fn batch_fits_have_a_frame_equal_to_their_file() {
    let dir = tempfile::tempdir().unwrap();
    crate::batches::screen_with_batches(dir.path(), 7, true);
    let names = check_assay(&dir.path().join("assay.toml"), &dir.path().join("out"));
    assert!(names.iter().any(|n| n == "fits_by_batch.csv"), "{names:?}");
}

/// A table of a finished run that is not one of the typed tables reads as `None`.
#[test]
fn files_without_a_row_type_are_not_read_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    assert!(read_typed(&path).unwrap().is_none());
    // An assay's tidy wells table is named as the run's wells.csv but has no outcome columns.
    let tidy = dir.path().join("wells.csv");
    std::fs::write(
        &tidy,
        "plate,well,cell_line,drug,concentration,role,signal\nP1,A1,L,,,vehicle,1\n",
    )
    .unwrap();
    assert!(read_typed(&tidy).unwrap().is_none());
    assert!(read_typed(Path::new("/nonexistent/qc.csv"))
        .unwrap()
        .is_none());
}
