//! Normalization choices: median controls, cell-free blanks, plates without blanks.

use crate::common::{collateral, num, read_csv, write};

const LINES: &str = "cell_line,parental_line,selected_with\nA,,\n";

fn run(wells: &str, extra: &str) -> (assert_cmd::assert::Assert, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "wells.csv", wells);
    write(dir.path(), "lines.csv", LINES);
    let a = write(
        dir.path(),
        "assay.toml",
        &format!("name = \"t\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n{extra}"),
    );
    let res = collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert();
    (res, dir)
}

fn viability(dir: &tempfile::TempDir, well: &str) -> f64 {
    let rows = read_csv(&dir.path().join("out/wells.csv"));
    num(
        rows.iter().find(|r| r["well"] == well).expect("well"),
        "viability",
    )
}

const HEAD: &str = "plate,well,cell_line,drug,concentration,role,signal\n";

#[test]
fn median_controls_resist_one_bad_vehicle_well() {
    let w = format!(
        "{HEAD}P,A1,A,,,vehicle,100\nP,B1,A,,,vehicle,102\nP,C1,A,,,vehicle,98\nP,D1,A,,,vehicle,400\n\
         P,E1,A,,,blank,10\nP,F1,A,,,blank,10\nP,A2,A,d,1,sample,55\n"
    );
    let (res, dir) = run(&w, "");
    res.success();
    // mean vehicle = 175: (55 − 10)/(175 − 10)
    assert!((viability(&dir, "A2") - 45.0 / 165.0).abs() < 1e-12);
    let (res, dir) = run(&w, "[normalize]\ncontrols = \"median\"\n");
    res.success();
    // median vehicle = 101
    assert!((viability(&dir, "A2") - 45.0 / 91.0).abs() < 1e-12);
}

#[test]
fn cell_free_blanks_serve_the_plate() {
    let w = format!(
        "{HEAD}P,A1,A,,,vehicle,100\nP,B1,A,,,vehicle,100\nP,C1,,,,blank,20\nP,D1,,,,blank,20\nP,A2,A,d,1,sample,60\n"
    );
    let (res, dir) = run(&w, "");
    let out = res.success();
    // Nothing but the progress lines of the stages: no warning of normalization (the drug at
    // one dose is named by the design checks, docs/inputs.md).
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.lines()
            .all(|l| l.starts_with("collateral: ") || l.contains("is tested at 1 distinct dose")),
        "{err}"
    );
    assert!((viability(&dir, "A2") - 0.5).abs() < 1e-12);
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    assert_eq!(qc[0]["blank_source"], "cell_free");
    // The cell-free blanks get a viability too: they belong to the plate's only unit.
    assert!(viability(&dir, "C1").abs() < 1e-12);
}

#[test]
fn a_plate_without_blanks_falls_back_to_zero_with_a_warning_or_stops() {
    let w = format!("{HEAD}P,A1,A,,,vehicle,100\nP,B1,A,,,vehicle,100\nP,A2,A,d,1,sample,60\n");
    let (res, dir) = run(&w, "");
    let out = res.success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("warning: ")
            && err.contains("no blank wells with a numeric signal for `A` on plate P")
            && err.contains("background taken as 0"),
        "{err}"
    );
    assert!((viability(&dir, "A2") - 0.6).abs() < 1e-12);
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    assert_eq!(qc[0]["blank_source"], "assumed_zero");
    assert_eq!(qc[0]["z_prime"], "");
    assert_eq!(qc[0]["verdict"], "warn");
    assert!(qc[0]["reason"].contains("no blank wells: Z′ not computable"));
    let run_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/run.json")).unwrap()).unwrap();
    // One warning of normalization; the drug at one dose is the design checks' to name.
    let warnings = run_json["warnings"].as_array().unwrap();
    let of_normalization = warnings
        .iter()
        .filter(|w| !w.to_string().contains("is tested at 1 distinct dose"))
        .count();
    assert_eq!(of_normalization, 1, "{warnings:?}");

    let (res, _dir) = run(&w, "[normalize]\nblank_fallback = \"error\"\n");
    let out = res.code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(
            "wells.csv:2: plate P: plate P has no blank wells with a numeric signal for `A`"
        ),
        "{err}"
    );
}

#[test]
fn failed_plates_can_be_kept() {
    // Vehicle below blank: the unit fails; with exclude_failed = false its wells stay in.
    let w = format!("{HEAD}P,A1,A,,,vehicle,10\nP,B1,A,,,vehicle,11\nP,C1,A,,,blank,50\nP,D1,A,,,blank,52\nP,A2,A,d,1,sample,30\n");
    let (res, dir) = run(&w, "");
    res.success();
    let rows = read_csv(&dir.path().join("out/wells.csv"));
    assert!(rows
        .iter()
        .all(|r| r["excluded"] == "true" && r["exclusion_reason"].starts_with("plate QC failed")));
    let (res, dir) = run(&w, "[qc]\nexclude_failed = false\n");
    res.success();
    let rows = read_csv(&dir.path().join("out/wells.csv"));
    assert!(rows.iter().all(|r| r["excluded"] == "false"), "{rows:?}");
    assert_eq!(
        read_csv(&dir.path().join("out/qc.csv"))[0]["verdict"],
        "fail"
    );
}
