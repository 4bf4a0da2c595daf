//! `collateral run --keep-going` on batches of plate files (issue 9, item 4): a plate whose
//! file cannot be read is left out and reported (warning, qc.csv, run.json, report.html, exit
//! 3) while the rest of the batch completes; without the flag the run stops as before.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::common::{collateral, read_csv, root, write};

/// The bundled Biomek export (one 384-well plate of Iwasawa 2022).
fn biomek() -> PathBuf {
    root().join("assays/iwasawa2022-plates/reads/d01-p01.csv")
}

/// A batch of three copies of the Biomek export, `p1`–`p3`, read by one glob entry with the
/// bundled layout; `p2` cut off 25 bytes in, inside its header line, as an interrupted copy
/// leaves it.
fn batch(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("reads")).unwrap();
    let bytes = std::fs::read(biomek()).unwrap();
    std::fs::write(dir.join("reads/p1.csv"), &bytes).unwrap();
    std::fs::write(dir.join("reads/p2.csv"), &bytes[..25]).unwrap();
    std::fs::write(dir.join("reads/p3.csv"), &bytes).unwrap();
    std::fs::copy(
        root().join("assays/iwasawa2022-plates/layout.toml"),
        dir.join("layout.toml"),
    )
    .unwrap();
    write(
        dir,
        "assay.toml",
        "name = \"batch\"\nconcentration_unit = \"ug/mL\"\nplate_size = 384\n\n[[plates]]\nfile = \"reads/p*.csv\"\nlayout = \"layout.toml\"\nread = \"RawDataSet1\"\n",
    )
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

fn qc_row<'a>(qc: &'a [HashMap<String, String>], plate: &str) -> &'a HashMap<String, String> {
    qc.iter()
        .find(|r| r["plate"] == plate)
        .unwrap_or_else(|| panic!("no qc.csv row for {plate}: {qc:?}"))
}

#[test]
fn keep_going_finishes_a_batch_past_a_truncated_export_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let assay = batch(dir.path());
    let out = dir.path().join("out");
    collateral()
        .current_dir(dir.path())
        .args(["run", "assay.toml", "-o", "out", "--keep-going"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "warning: reads/p2.csv: plate p2: plate left out (--keep-going): no plate data found",
        ))
        .stdout(predicate::str::contains("batch: 2 plates, 768 wells"))
        .stdout(predicate::str::contains("plates left out (--keep-going"))
        .stdout(predicate::str::contains("curves: 8 ok"));

    let qc = read_csv(&out.join("qc.csv"));
    let p2 = qc_row(&qc, "p2");
    assert_eq!(p2["verdict"], "fail");
    assert!(
        p2["reason"].starts_with(
            "plate left out (--keep-going): reads/p2.csv: plate p2: no plate data found"
        ),
        "{p2:?}"
    );
    // Nothing on the plate was measured: every other column is empty.
    for (col, v) in p2 {
        if !["plate", "verdict", "reason"].contains(&col.as_str()) {
            assert_eq!(v, "", "qc.csv p2 {col}");
        }
    }
    assert_eq!(qc.iter().filter(|r| r["plate"] == "p2").count(), 1);
    for plate in ["p1", "p3"] {
        assert_eq!(qc_row(&qc, plate)["verdict"], "pass");
    }
    let wells = read_csv(&out.join("wells.csv"));
    assert_eq!(wells.len(), 768);
    assert!(wells.iter().all(|w| w["plate"] != "p2"));
    let fits = read_csv(&out.join("fits.csv"));
    assert_eq!(fits.len(), 8);
    assert!(fits.iter().all(|f| f["status"] == "ok"), "{fits:?}");

    let run = run_json(&out);
    assert_eq!(run["counts"]["plates"], 2);
    assert_eq!(run["counts"]["skipped_plates"], 1);
    let skipped = run["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["plate"], "p2");
    assert_eq!(skipped[0]["file"], "reads/p2.csv");
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("no plate data found"));
    assert!(run["warnings"].as_array().unwrap().iter().any(|w| w
        .as_str()
        .unwrap()
        .starts_with("reads/p2.csv: plate p2: plate left out")));
    // The truncated file is still an input: its checksum says which bytes were left out.
    let p2_bytes = std::fs::read(dir.path().join("reads/p2.csv")).unwrap();
    assert!(run["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"] == "reads/p2.csv"
            && i["sha256"] == collateral::run::sha256_hex(&p2_bytes)));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("plate p2: plate left out (--keep-going)"));

    // Without the flag: the located error, exit 1, nothing written.
    let out = dir.path().join("out-strict");
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "reads/p2.csv: plate p2: no plate data found",
        ));
    assert!(!out.join("qc.csv").exists() && !out.join("run.json").exists());
    // validate has no such flag and reports the file as before.
    collateral()
        .arg("validate")
        .arg(&assay)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "reads/p2.csv: plate p2: no plate data found",
        ));
}

#[test]
fn keep_going_leaves_out_a_missing_file_and_a_truncated_workbook() {
    let dir = tempfile::tempdir().unwrap();
    batch(dir.path());
    let xlsx =
        std::fs::read(root().join("tests/data/exports/tecan-magellan/SLA01P01_OD.xlsx")).unwrap();
    std::fs::write(dir.path().join("reads/cut.xlsx"), &xlsx[..xlsx.len() / 2]).unwrap();
    let assay = write(
        dir.path(),
        "assay.toml",
        "name = \"batch\"\nconcentration_unit = \"ug/mL\"\nplate_size = 384\n\n[[plates]]\nfile = \"reads/p1.csv\"\nlayout = \"layout.toml\"\n\n[[plates]]\nfile = \"reads/gone.csv\"\nlayout = \"layout.toml\"\n\n[[plates]]\nfile = \"reads/cut.xlsx\"\nlayout = \"layout.toml\"\n",
    );
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(&out)
        .args(["--keep-going", "--no-figures"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "plate gone: plate left out (--keep-going): reading failed",
        ))
        .stderr(predicate::str::contains(
            "plate cut: plate left out (--keep-going): cannot open the workbook",
        ));
    let qc = read_csv(&out.join("qc.csv"));
    assert_eq!(qc_row(&qc, "gone")["verdict"], "fail");
    assert_eq!(qc_row(&qc, "cut")["verdict"], "fail");
    assert_eq!(qc_row(&qc, "p1")["verdict"], "pass");
    let run = run_json(&out);
    let skipped: Vec<&str> = run["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["plate"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["gone", "cut"]);
    // A file that is not there has no checksum; the cut workbook has one.
    let inputs = run["inputs"].to_string();
    assert!(
        !inputs.contains("gone.csv") && inputs.contains("cut.xlsx"),
        "{inputs}"
    );
}

/// What concerns every plate is no single plate's trouble and still stops the run; a layout
/// problem of one plate only (its own `[plate.NAME]` section) leaves that plate out.
#[test]
fn keep_going_still_stops_on_what_concerns_every_plate() {
    // Relative paths, so messages read as a user sees them.
    let run = |dir: &Path| {
        collateral()
            .current_dir(dir)
            .args([
                "run",
                "assay.toml",
                "-o",
                "out",
                "--keep-going",
                "--no-figures",
            ])
            .assert()
    };
    // A role typo in the layout every plate uses.
    let dir = tempfile::tempdir().unwrap();
    batch(dir.path());
    let layout = dir.path().join("layout.toml");
    let text = std::fs::read_to_string(&layout).unwrap();
    std::fs::write(&layout, text.replace("role = \"blank\"", "role = \"blnk\"")).unwrap();
    run(dir.path()).code(1).stderr(predicate::str::contains(
        "layout.toml: plate p1, well A1: role `blnk` (did you mean `blank`?)",
    ));
    assert!(!dir.path().join("out/qc.csv").exists());
    // The same typo in a section for p3 only: p3 is left out (with the truncated p2), p1 runs.
    std::fs::write(
        &layout,
        format!("{text}\n[plate.p1]\n[plate.p2]\n[plate.p3.well.A5]\nrole = \"blnk\"\n"),
    )
    .unwrap();
    run(dir.path()).code(3).stderr(predicate::str::contains(
        "reads/p3.csv: plate p3: plate left out (--keep-going): layout.toml: well A5: role `blnk`",
    ));
    let qc = read_csv(&dir.path().join("out/qc.csv"));
    assert_eq!(qc_row(&qc, "p3")["verdict"], "fail");
    assert_eq!(qc_row(&qc, "p1")["verdict"], "pass");
    // Every plate file unreadable: nothing is left to run on.
    for p in ["p1", "p3"] {
        std::fs::write(dir.path().join(format!("reads/{p}.csv")), "Well\n").unwrap();
    }
    std::fs::write(&layout, &text).unwrap();
    run(dir.path()).code(1).stderr(predicate::str::contains(
        "none of the 3 plate files could be read; nothing is left to run on",
    ));
    // A tidy wells table is not a batch of plate files: its errors stay fatal.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "wells.csv",
        "plate,well,cell_line,drug,concentration,role,signal\nP1,A1,L,,,vehicle,1\nP1,A2,L,d,x,sample,1\n",
    );
    write(
        dir.path(),
        "assay.toml",
        "name = \"t\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\n",
    );
    run(dir.path()).code(1).stderr(predicate::str::contains(
        "wells.csv:3: plate P1, well A2: concentration `x` is not a number",
    ));
}
