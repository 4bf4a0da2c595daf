//! Plate formats inferred from the wells: a few stray wells (a mistyped `Q25` on a 384-well
//! plate) keep the larger format but are named, with file, line and plate, by `run` and
//! `validate` (issue 9, item 3).

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{collateral, read_csv, root, write};

const HEAD: &str = "plate,well,cell_line,drug,concentration,role,signal";

/// The rows of one fully used plate of `rows` × `columns` wells: vehicles in column 1, blanks
/// in the last column, one drug per row in a twofold series from 10 between them.
fn plate(name: &str, rows: u16, columns: u16) -> Vec<String> {
    let mut out = Vec::new();
    for r in 0..rows {
        for c in 0..columns {
            let well = collateral::plate::WellPos { row: r, column: c };
            let wiggle = f64::from((r * 7 + c * 13) % 10);
            let line = if c == 0 {
                format!("{name},{well},L1,,,vehicle,{}", 1050.0 + wiggle)
            } else if c + 1 == columns {
                format!("{name},{well},L1,,,blank,{}", 50.0 + wiggle)
            } else {
                let conc = 10.0 / 2f64.powi(i32::from(c) - 1);
                let signal = 50.0 + 1000.0 / (1.0 + conc / 0.5) + wiggle;
                format!("{name},{well},L1,d{r},{conc},sample,{signal}")
            };
            out.push(line);
        }
    }
    out
}

/// Writes `wells.csv` (header + rows) and an assay naming it, with `extra` assay lines.
fn assay(dir: &Path, rows: &[String], extra: &str) -> PathBuf {
    write(dir, "wells.csv", &format!("{HEAD}\n{}\n", rows.join("\n")));
    write(
        dir,
        "assay.toml",
        &format!("name = \"formats\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\n{extra}"),
    )
}

/// A 384-well plate whose last well, P24, was typed `Q25`; returns its rows and the line of
/// the stray well in `wells.csv`.
fn with_q25() -> (Vec<String>, usize) {
    let mut rows = plate("P1", 16, 24);
    let i = rows.iter().position(|r| r.starts_with("P1,P24,")).unwrap();
    rows[i] = rows[i].replace("P1,P24,", "P1,Q25,");
    (rows, i + 2)
}

#[test]
fn a_stray_well_on_an_undeclared_plate_is_named_by_run_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, line) = with_q25();
    let a = assay(dir.path(), &rows, "");
    let expected = format!(
        "wells.csv:{line}: plate P1, well Q25: well Q25 lies outside a 384-well plate, where the other 383 wells of plate P1 all lie (1 outside); the plate is taken as 1536-well"
    );
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("warning: {}", dir.path().display())))
        .stderr(predicate::str::contains(expected.as_str()))
        .stderr(predicate::str::contains(
            "declare `plate_size = 384` in the assay (or a `plate_size` column) so wells outside it are errors",
        ));
    // Decision: the larger format stays and the well stays, as before; only the warning is new.
    let qc = read_csv(&out.join("qc.csv"));
    assert!(qc.iter().all(|r| r["plate_size"] == "1536"), "{qc:?}");
    let wells = read_csv(&out.join("wells.csv"));
    assert_eq!(wells.len(), 384);
    assert!(wells
        .iter()
        .any(|w| w["well"] == "Q25" && w["role"] == "blank"));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let warnings: Vec<&str> = run["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings.iter().filter(|w| w.contains(&expected)).count(),
        1,
        "{warnings:?}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("well Q25 lies outside a 384-well plate"),
        "report.html lacks the warning"
    );
    collateral()
        .arg("validate")
        .arg(&a)
        .assert()
        .success()
        .stdout(predicate::str::contains("plate P1: 1536-well"))
        .stderr(predicate::str::contains(expected.as_str()));
}

#[test]
fn a_declared_size_still_makes_the_stray_well_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, line) = with_q25();
    let a = assay(dir.path(), &rows, "plate_size = 384\n");
    for cmd in ["run", "validate"] {
        let mut c = collateral();
        c.arg(cmd).arg(&a);
        if cmd == "run" {
            c.arg("-o").arg(dir.path().join("out"));
        }
        c.assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "wells.csv:{line}: plate P1, well Q25: well Q25 is outside a 384-well plate"
            )))
            .stderr(predicate::str::contains("lies outside").not());
    }
    assert!(!dir.path().join("out/qc.csv").exists());
}

#[test]
fn a_clean_1536_well_plate_and_a_plate_with_many_outer_wells_give_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let a = assay(dir.path(), &plate("P1", 32, 48), "");
    collateral()
        .arg("validate")
        .arg(&a)
        .assert()
        .success()
        .stdout(predicate::str::contains("plate P1: 1536-well"))
        .stderr(predicate::str::contains("lies outside").not());
    // 384 wells plus 8 in row Q: 8 of 392 wells (2.04 %) are past what a typo explains.
    let mut rows = plate("P1", 16, 24);
    for c in 1..=8 {
        rows.push(format!("P1,Q{c},,,,empty,1"));
    }
    let a = assay(dir.path(), &rows, "");
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--no-figures")
        .assert()
        .success()
        .stderr(predicate::str::contains("lies outside").not());
    // Seven (1.8 %) are within it: each is named.
    rows.pop();
    let a = assay(dir.path(), &rows, "");
    let assert = collateral().arg("validate").arg(&a).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for c in 1..=7 {
        assert!(
            stderr.contains(&format!("plate P1, well Q{c}: well Q{c} lies outside a 384-well plate, where the other 384 wells of plate P1 all lie (7 outside)")),
            "{stderr}"
        );
    }
}

/// The bundled assays declare `plate_size`; with the declaration taken out their formats are
/// inferred, and their wells fill their plates, so the check stays quiet.
#[test]
fn the_bundled_assays_give_no_stray_well_warning_even_undeclared() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["iwasawa2022", "dhawan2017", "iwasawa2022-plates"] {
        let src = root().join("assays").join(name);
        let text = std::fs::read_to_string(src.join("assay.toml")).unwrap();
        assert!(text.contains("plate_size = 384"), "{name}");
        for (i, variant) in [text.clone(), text.replace("plate_size = 384", "")]
            .iter()
            .enumerate()
        {
            // Paths made absolute so the copy reads the bundled files.
            let abs = |key: &str, t: &str| -> String {
                t.lines()
                    .map(|l| match l.strip_prefix(&format!("{key} = \"")) {
                        Some(rest) => format!("{key} = \"{}/{rest}", src.display()),
                        None => l.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let t = abs(
                "layout",
                &abs("file", &abs("lines", &abs("wells", variant))),
            );
            let a = write(dir.path(), &format!("{name}-{i}.toml"), &t);
            let assert = collateral().arg("validate").arg(&a).assert();
            let out = assert.get_output();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stdout.contains(": 384-well;"),
                "{name} {i}: {stdout}{stderr}"
            );
            assert!(!stderr.contains("lies outside"), "{name} {i}: {stderr}");
        }
    }
}

/// The same rule for plate files read with a layout: a well list (Biomek export) with one
/// mistyped well, no `plate_size` in the assay.
#[test]
fn a_stray_well_in_a_plate_file_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("assays/iwasawa2022-plates");
    let text = std::fs::read_to_string(src.join("reads/d01-p01.csv")).unwrap();
    assert!(text.contains("\n1,,,P24,50,"));
    std::fs::write(
        dir.path().join("p1.csv"),
        text.replace("\n1,,,P24,50,", "\n1,,,Q25,50,"),
    )
    .unwrap();
    std::fs::copy(src.join("layout.toml"), dir.path().join("layout.toml")).unwrap();
    let a = write(
        dir.path(),
        "assay.toml",
        "name = \"b\"\nconcentration_unit = \"ug/mL\"\n[[plates]]\nfile = \"p1.csv\"\nlayout = \"layout.toml\"\nread = \"RawDataSet1\"\n",
    );
    let expected = "p1.csv:385: plate p1, well Q25: well Q25 lies outside a 384-well plate, where the other 384 wells of plate p1 all lie (1 outside); the plate is taken as 1536-well";
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .arg("--no-figures")
        .assert()
        .success()
        .stderr(predicate::str::contains(expected))
        .stderr(predicate::str::contains(
            "declare `plate_size = 384` in the assay so wells outside it are errors",
        ));
    // validate also calls the unnamed reading a problem, as before.
    collateral()
        .arg("validate")
        .arg(&a)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(expected));
}
