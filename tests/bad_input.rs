//! Every kind of bad input gives exit code 1 and an error naming the file, line and well —
//! never a panic, never a half-written output folder.

use std::path::Path;

use crate::common::{collateral, read_csv, write};

const LINES: &str = "cell_line,parental_line,selected_with\nA,,\nB,A,d1\n";

/// A valid two-plate screen; line numbers below refer to this text.
fn wells() -> String {
    let mut s = String::from("plate,well,cell_line,drug,concentration,role,signal\n"); // line 1
    for (plate, line) in [("P1", "A"), ("P2", "B")] {
        s += &format!("{plate},A1,{line},,,vehicle,100\n"); // 2 / 9
        s += &format!("{plate},B1,{line},,,vehicle,102\n"); // 3 / 10
        s += &format!("{plate},C1,{line},,,blank,5\n"); // 4 / 11
        s += &format!("{plate},D1,{line},,,blank,6\n"); // 5 / 12
        s += &format!("{plate},A2,{line},d1,0.1,sample,90\n"); // 6 / 13
        s += &format!("{plate},A3,{line},d1,1,sample,50\n"); // 7 / 14
        s += &format!("{plate},A4,{line},d1,10,sample,10\n"); // 8 / 15
    }
    s
}

fn assay(dir: &Path, wells: &str, lines: &str, extra: &str) -> std::path::PathBuf {
    write(dir, "wells.csv", wells);
    write(dir, "lines.csv", lines);
    write(
        dir,
        "assay.toml",
        &format!("name = \"t\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n{extra}"),
    )
}

/// Runs on a broken input; returns stderr after checking the exit code and the output folder.
fn fails(wells: &str, lines: &str, extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), wells, lines, extra);
    let out = dir.path().join("out");
    let res = collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !out.join("wells.csv").exists(),
        "no output after a failed run"
    );
    if out.exists() {
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            0,
            "no staging left behind"
        );
    }
    err
}

fn replace_line(text: &str, line: usize, new: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn assert_names(err: &str, line: usize, plate: &str, well: &str, what: &str) {
    let at = format!("wells.csv:{line}: plate {plate}, well {well}: ");
    assert!(err.contains(&at), "expected `{at}` in:\n{err}");
    assert!(err.contains(what), "expected `{what}` in:\n{err}");
}

#[test]
fn the_valid_screen_runs() {
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &wells(), LINES, "");
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    assert_eq!(read_csv(&dir.path().join("out/wells.csv")).len(), 14);
}

#[test]
fn duplicate_well() {
    let err = fails(
        &replace_line(&wells(), 7, "P1,A02,A,d1,1,sample,50"),
        LINES,
        "",
    );
    assert_names(&err, 7, "P1", "A02", "appears twice (lines 6 and 7)");
}

#[test]
fn well_outside_the_plate() {
    let err = fails(
        &replace_line(&wells(), 8, "P1,I4,A,d1,10,sample,10"),
        LINES,
        "plate_size = 96\n",
    );
    assert_names(&err, 8, "P1", "I4", "outside a 96-well plate");
    let err = fails(
        &replace_line(&wells(), 8, "P1,A49,A,d1,10,sample,10"),
        LINES,
        "",
    );
    assert_names(&err, 8, "P1", "A49", "outside the largest plate");
    let err = fails(
        &replace_line(&wells(), 8, "P1,4A,A,d1,10,sample,10"),
        LINES,
        "",
    );
    assert_names(&err, 8, "P1", "4A", "not a well name");
}

#[test]
fn unknown_role() {
    let err = fails(
        &replace_line(&wells(), 3, "P1,B1,A,,,vehicel,102"),
        LINES,
        "",
    );
    assert_names(
        &err,
        3,
        "P1",
        "B1",
        "unknown role `vehicel` (did you mean `vehicle`?)",
    );
}

#[test]
fn bad_concentrations() {
    let err = fails(
        &replace_line(&wells(), 6, "P1,A2,A,d1,0.1 ug/mL,sample,90"),
        LINES,
        "",
    );
    // A unit is converted (`0.1uM` is read as 0.1 in a µM assay), but not across dimensions.
    assert_names(
        &err,
        6,
        "P1",
        "A2",
        "concentration `0.1 ug/mL`: `ug/mL` is a mass per volume unit",
    );
    let err = fails(
        &replace_line(&wells(), 6, "P1,A2,A,d1,0.1.2,sample,90"),
        LINES,
        "",
    );
    assert_names(&err, 6, "P1", "A2", "concentration `0.1.2` is not a number");
    let err = fails(
        &replace_line(&wells(), 6, "P1,A2,A,d1,-0.1,sample,90"),
        LINES,
        "",
    );
    assert_names(&err, 6, "P1", "A2", "concentration `-0.1` is negative");
    let err = fails(
        &replace_line(&wells(), 6, "P1,A2,A,d1,0,sample,90"),
        LINES,
        "",
    );
    assert_names(&err, 6, "P1", "A2", "concentration 0");
}

#[test]
fn samples_without_drug_or_concentration() {
    let err = fails(
        &replace_line(&wells(), 13, "P2,A2,B,,0.1,sample,90"),
        LINES,
        "",
    );
    assert_names(&err, 13, "P2", "A2", "sample well without a `drug`");
    let err = fails(
        &replace_line(&wells(), 14, "P2,A3,B,d1,,sample,50"),
        LINES,
        "",
    );
    assert_names(
        &err,
        14,
        "P2",
        "A3",
        "sample well without a `concentration`",
    );
}

#[test]
fn controls_with_a_drug() {
    let err = fails(&replace_line(&wells(), 4, "P1,C1,A,d1,,blank,5"), LINES, "");
    assert_names(&err, 4, "P1", "C1", "blank well with drug `d1`");
    let err = fails(
        &replace_line(&wells(), 2, "P1,A1,A,,5,vehicle,100"),
        LINES,
        "",
    );
    assert_names(&err, 2, "P1", "A1", "vehicle well with concentration `5`");
}

#[test]
fn plate_without_vehicle_wells() {
    let w = replace_line(
        &replace_line(&wells(), 9, "P2,A1,B,,,blank,7"),
        10,
        "P2,B1,B,,,blank,8",
    );
    let err = fails(&w, LINES, "");
    assert!(
        err.contains(
            "wells.csv:9: plate P2: plate P2 (first row on this line) has no vehicle wells"
        ),
        "{err}"
    );
}

#[test]
fn mixed_plate_sizes_inside_one_plate() {
    let mut w = wells().replace(
        "plate,well,cell_line,drug,concentration,role,signal",
        "plate,well,cell_line,drug,concentration,role,signal,plate_size",
    );
    w = w
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else if i == 5 {
                format!("{l},384")
            } else {
                format!("{l},96")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let err = fails(&w, LINES, "");
    assert_names(
        &err,
        6,
        "P1",
        "A2",
        "declared 384-well here but 96-well on line 2",
    );
}

#[test]
fn resistant_line_without_its_parental_line() {
    let err = fails(
        &wells(),
        "cell_line,parental_line,selected_with\nB,A,d1\n",
        "",
    );
    assert!(err.contains("lines.csv:2: resistant line `B` names parental line `A`, which is not in the lines table"), "{err}");
    // Listed, but no wells for it.
    let only_b: String = wells()
        .lines()
        .filter(|l| !l.starts_with("P1"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let err = fails(&only_b, LINES, "");
    assert!(
        err.contains(
            "lines.csv:3: resistant line `B` has wells but its parental line `A` has none"
        ),
        "{err}"
    );
}

#[test]
fn validate_checks_the_lines_table_as_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let only_b: String = wells()
        .lines()
        .filter(|l| !l.starts_with("P1"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    // A parental line without wells (a problem) and a listed line without wells (a warning).
    let a = assay(
        dir.path(),
        &only_b,
        "cell_line,parental_line,selected_with\nA,,\nB,A,d1\nC,A,d1\n",
        "",
    );
    let out = collateral().arg("validate").arg(&a).assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(
            "lines.csv:3: resistant line `B` has wells but its parental line `A` has none"
        ),
        "{err}"
    );
    assert!(err.contains("error: 1 problem found"), "{err}");
    assert!(
        err.contains("lines.csv:4: cell line `C` has no wells in the data"),
        "{err}"
    );
    // A clean assay: the lines table is described.
    let a = assay(dir.path(), &wells(), LINES, "");
    let out = collateral().arg("validate").arg(&a).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("lines table"), "{text}");
    assert!(text.contains(": 2 lines, 1 resistant"), "{text}");
}

#[test]
fn several_problems_are_reported_together() {
    let w = replace_line(
        &replace_line(&wells(), 3, "P1,B1,A,,,vehicel,102"),
        14,
        "P2,A3,B,d1,abc,sample,50",
    );
    let err = fails(&w, LINES, "");
    assert!(err.contains("2 problems found"), "{err}");
    assert_names(&err, 3, "P1", "B1", "unknown role");
    assert_names(&err, 14, "P2", "A3", "`abc` is not a number");
}

#[test]
fn broken_tables_and_assay_files() {
    let err = fails(&wells().replace("signal\n", "signals\n"), LINES, "");
    assert!(
        err.contains("wells.csv:1: required column `signal` is missing (did you mean `signals`?)"),
        "{err}"
    );
    let err = fails(
        &replace_line(&wells(), 5, "P1,D1,A,,,blank,6,extra,fields"),
        LINES,
        "",
    );
    assert!(
        err.contains("wells.csv:5: 9 fields where the header has 7"),
        "{err}"
    );
    let err = fails(&wells(), LINES, "[qc]\nz_prime_fial = 0.2\n");
    assert!(
        err.contains("assay.toml:6: unknown key `qc.z_prime_fial` (did you mean `z_prime_fail`?)"),
        "{err}"
    );
    let err = fails(&wells(), LINES, "plate_size = \"big\"\n");
    assert!(err.contains("assay.toml: line 5"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let res = collateral()
        .arg("run")
        .arg(dir.path().join("nope.toml"))
        .arg("-o")
        .arg(dir.path())
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("nope.toml: reading failed"), "{err}");
}

#[test]
fn non_numeric_signals_are_kept_and_flagged() {
    let w = replace_line(
        &replace_line(&wells(), 7, "P1,A3,A,d1,1,sample,OVRFLW"),
        14,
        "P2,A3,B,d1,1,sample,",
    );
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &w, LINES, "");
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let out = read_csv(&dir.path().join("out/wells.csv"));
    assert_eq!(out.len(), 14);
    let a3: Vec<_> = out.iter().filter(|r| r["well"] == "A3").collect();
    assert_eq!(a3[0]["signal"], "OVRFLW");
    assert_eq!(a3[0]["exclusion_reason"], "signal not numeric: `OVRFLW`");
    assert_eq!(a3[1]["exclusion_reason"], "signal not numeric: ``");
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    assert!(qc.iter().all(|q| q["n_flagged"] == "1"), "{qc:?}");
}

#[test]
fn usage_errors_exit_with_2() {
    collateral().arg("run").assert().code(2);
    collateral().args(["frobnicate"]).assert().code(2);
}
