//! Doses that do not belong (issue 20): a unit typo in one well and a plate in nM among µM
//! plates are named and, for the well, left out; `--strict` makes every warning an error.

use std::path::{Path, PathBuf};

use crate::common::{collateral, read_csv};

/// A simulated screen whose wells table `edit` changes (row by row, header left out).
fn simulated_with(dir: &Path, edit: impl Fn(&mut Vec<String>)) {
    collateral()
        .args(["simulate", "-q", "-o"])
        .arg(dir)
        .assert()
        .success();
    let path = dir.join("wells.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let mut out = vec![lines.next().unwrap().to_string()];
    for l in lines {
        let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
        edit(&mut f);
        out.push(f.join(","));
    }
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
}

#[test]
fn a_dose_typed_a_million_times_too_high_is_named_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    simulated_with(dir.path(), |f| {
        if f[0] == "plate0001" && f[1] == "A3" && f[3] == "drug01" {
            let c: f64 = f[4].parse().unwrap();
            f[4] = (c * 1e6).to_string();
        }
    });
    let out = dir.path().join("out");
    let run = collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .args(["-q", "--no-figures", "-o"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&run.get_output().stderr).to_string();
    assert!(
        stderr.contains("wells.csv:66: plate plate0001, well A3: drug01 at")
            && stderr.contains("off the drug's dose series"),
        "{stderr}"
    );
    let wells = read_csv(&out.join("wells.csv"));
    let w = wells
        .iter()
        .find(|w| w["plate"] == "plate0001" && w["well"] == "A3")
        .unwrap();
    assert_eq!(w["excluded"], "true");
    assert!(
        w["exclusion_reason"].contains("off the series of drug01"),
        "{w:?}"
    );
    // --strict: the warning is an error, and no folder is written.
    let strict = dir.path().join("strict");
    collateral()
        .arg("run")
        .arg(dir.path().join("assay.toml"))
        .args(["-q", "--strict", "-o"])
        .arg(&strict)
        .assert()
        .code(1);
    assert!(!strict.exists());
}

#[test]
fn a_plate_in_nm_among_um_plates_is_named_as_a_unit_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    simulated_with(dir.path(), |f| {
        if f[0] == "plate0004" && f[3] == "drug02" && f[5] == "sample" {
            let c: f64 = f[4].parse().unwrap();
            f[4] = (c * 1e3).to_string();
        }
    });
    let assay = dir.path().join("assay.toml");
    let v = collateral().arg("validate").arg(&assay).assert().success();
    let stderr = String::from_utf8_lossy(&v.get_output().stderr).to_string();
    assert!(
        stderr.contains("plate plate0004: the doses of drug02 on this plate are 1000×")
            && stderr.contains("unit mismatch"),
        "{stderr}"
    );
    collateral()
        .arg("validate")
        .arg(&assay)
        .arg("--strict")
        .assert()
        .code(1);
}

// ---- Other things a careful colleague notices (issue 20, item 2) ----

/// Rows of a CSV file without quotes, header first, each split into fields.
fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn write_rows(path: &Path, rows: &[Vec<String>]) {
    let text: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

/// `collateral simulate` with `args` into `dir`, its wells table then rewritten by `edit`
/// (header first); returns the assay file.
fn simulated(dir: &Path, args: &[&str], edit: impl FnOnce(&mut Vec<Vec<String>>)) -> PathBuf {
    collateral()
        .args(["simulate", "-q", "-o"])
        .arg(dir)
        .args(args)
        .assert()
        .success();
    let path = dir.join("wells.csv");
    let mut r = rows(&path);
    edit(&mut r);
    write_rows(&path, &r);
    dir.join("assay.toml")
}

/// The 1-based line of the first row of `wells.csv` that `pick` picks, and its fields.
fn first_row(dir: &Path, pick: impl Fn(&[String]) -> bool) -> (usize, Vec<String>) {
    rows(&dir.join("wells.csv"))
        .into_iter()
        .enumerate()
        .skip(1)
        .find(|(_, r)| pick(r))
        .map(|(i, r)| (i + 1, r))
        .expect("a row to locate")
}

/// `collateral validate` (with `extra` arguments): exit code and stderr.
fn validate(assay: &Path, extra: &[&str]) -> (i32, String) {
    let out = collateral()
        .arg("validate")
        .arg(assay)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn has(stderr: &str, needles: &[&str]) {
    for n in needles {
        assert!(stderr.contains(n), "`{n}` not in:\n{stderr}");
    }
}

#[test]
fn the_same_plate_in_a_wells_table_twice_is_named_and_strict_stops() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &[], |r| {
        let copy: Vec<Vec<String>> = r
            .iter()
            .filter(|f| f[0] == "plate0001")
            .map(|f| {
                let mut f = f.clone();
                f[0] = "plate0010".into();
                f
            })
            .collect();
        r.extend(copy);
    });
    let (line, _) = first_row(dir.path(), |f| f[0] == "plate0010");
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 0, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "warning: {}:{line}: plate plate0010: plate plate0010 reads, in each of its 100 used wells, exactly what plate plate0001 reads: the same plate given twice",
            dir.path().join("wells.csv").display()
        )],
    );
    // A strict run stops on it before writing anything.
    let out = dir.path().join("out");
    let run = collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--strict", "--no-figures", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    has(
        &String::from_utf8_lossy(&run.get_output().stderr),
        &["plate plate0010: plate plate0010 reads, in each of its 100 used wells, exactly what plate plate0001 reads"],
    );
    assert!(!out.exists());
}

#[test]
fn two_plate_files_with_the_same_bytes_are_named_with_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("reads")).unwrap();
    let plates = crate::common::root().join("assays/iwasawa2022-plates");
    let bytes = std::fs::read(plates.join("reads/d01-p01.csv")).unwrap();
    // Two paths to identical bytes, read by one glob entry.
    std::fs::write(d.join("reads/p1.csv"), &bytes).unwrap();
    std::fs::write(d.join("reads/p2.csv"), &bytes).unwrap();
    std::fs::copy(plates.join("layout.toml"), d.join("layout.toml")).unwrap();
    crate::common::write(
        d,
        "assay.toml",
        "name = \"twice\"\nconcentration_unit = \"ug/mL\"\nplate_size = 384\n\n[[plates]]\nfile = \"reads/p*.csv\"\nlayout = \"layout.toml\"\nread = \"RawDataSet1\"\n",
    );
    let out = collateral()
        .current_dir(d)
        .args(["validate", "assay.toml"])
        .assert()
        .success();
    has(
        &String::from_utf8_lossy(&out.get_output().stderr),
        &[
            "warning: reads/p2.csv: plate p2: plate p2 (reads/p2.csv) reads, in each of its",
            "exactly what plate p1 (reads/p1.csv) reads",
        ],
    );
}

#[test]
fn a_plate_of_one_number_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &[], |r| {
        for f in r.iter_mut().filter(|f| f[0] == "plate0005") {
            f[6] = "1000".into();
        }
    });
    let (line, _) = first_row(dir.path(), |f| f[0] == "plate0005");
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 0, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "warning: {}:{line}: plate plate0005: every one of the plate's 100 used wells reads 1000",
            dir.path().join("wells.csv").display()
        )],
    );
    // Its vehicle level equals its blank level, but that is this warning's to say.
    assert!(
        !stderr.contains("on plate plate0005, 1000, is not above"),
        "{stderr}"
    );
}

#[test]
fn controls_that_cannot_normalize_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // plate0002: no vehicle well with a reading; plate0003: vehicle and blank swapped;
    // plate0004: no blank wells (other plates of its line have some).
    let assay = simulated(dir.path(), &[], |r| {
        for f in r
            .iter_mut()
            .filter(|f| f[0] == "plate0002" && f[5] == "vehicle")
        {
            f[6] = "OVRFLW".into();
        }
        r.retain(|f| !(f[0] == "plate0004" && f[5] == "blank"));
        for f in r.iter_mut().filter(|f| f[0] == "plate0003") {
            f[5] = match f[5].as_str() {
                "vehicle" => "blank".into(),
                "blank" => "vehicle".into(),
                other => other.into(),
            };
        }
    });
    let wells = dir.path().join("wells.csv");
    let (two, f2) = first_row(dir.path(), |f| f[0] == "plate0002" && f[5] == "sample");
    let (three, f3) = first_row(dir.path(), |f| f[0] == "plate0003" && f[5] == "sample");
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 0, "{stderr}");
    has(
        &stderr,
        &[
            &format!(
                "warning: {}:{two}: plate plate0002: `{}`",
                wells.display(),
                f2[2]
            ),
            "has sample wells on plate plate0002 but no vehicle well with a numeric signal: its viabilities are undefined",
            &format!(
                "warning: {}:{three}: plate plate0003: the vehicle level of `{}`",
                wells.display(),
                f3[2]
            ),
            "is not above its blank level",
            "plate plate0004: the plate has no blank wells: the background is taken as 0",
        ],
    );
    // The run says the same, in run.json too, and leaves the wells out with a reason.
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(&out)
        .assert()
        .success();
    let json = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(
        json.contains("but no vehicle well with a numeric signal"),
        "{json}"
    );
    assert!(json.contains("is not above its blank level"), "{json}");
    let w = read_csv(&out.join("wells.csv"));
    let row = w
        .iter()
        .find(|w| w["plate"] == "plate0002" && w["role"] == "sample")
        .unwrap();
    assert_eq!(row["excluded"], "true");
    assert!(
        row["exclusion_reason"].contains("no usable vehicle level"),
        "{row:?}"
    );
}

#[test]
fn no_blanks_with_blank_fallback_error_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &[], |r| r.retain(|f| f[5] != "blank"));
    let mut text = std::fs::read_to_string(&assay).unwrap();
    text += "\n[normalize]\nblank_fallback = \"error\"\n";
    std::fs::write(&assay, text).unwrap();
    let wells = dir.path().join("wells.csv");
    let (line, f) = first_row(dir.path(), |f| f[0] == "plate0001" && !f[2].is_empty());
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 1, "{stderr}");
    has(
        &stderr,
        &[
            &format!(
                "problem: {}:{line}: plate plate0001: plate plate0001 has no blank wells with a numeric signal for `{}`",
                wells.display(),
                f[2]
            ),
            "and blank_fallback = \"error\"",
        ],
    );
    collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(dir.path().join("out"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("and blank_fallback = \"error\""));
}

#[test]
fn a_plate_without_vehicle_wells_is_an_error_of_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &[], |r| {
        r.retain(|f| !(f[0] == "plate0006" && f[5] == "vehicle"))
    });
    let (line, _) = first_row(dir.path(), |f| f[0] == "plate0006");
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 1, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "{}:{line}: plate plate0006: plate plate0006 (first row on this line) has no vehicle wells",
            dir.path().join("wells.csv").display()
        )],
    );
}

#[test]
fn a_drug_at_fewer_than_four_doses_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &["--doses", "3"], |_| {});
    let (line, f) = first_row(dir.path(), |f| f[3] == "drug01");
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 0, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "warning: {}:{line}: plate {}, well {}: drug `drug01` is tested at 3 distinct doses (",
            dir.path().join("wells.csv").display(),
            f[0],
            f[1]
        )],
    );
    assert!(
        stderr.contains("drug `drug04` is tested at 3 distinct doses"),
        "{stderr}"
    );
}

#[test]
fn a_drug_in_two_spellings_is_named_and_strict_stops() {
    let dir = tempfile::tempdir().unwrap();
    let assay = simulated(dir.path(), &[], |r| {
        for f in r
            .iter_mut()
            .filter(|f| f[0] == "plate0002" && f[3] == "drug01")
        {
            f[3] = "Drug01".into();
        }
    });
    let (line, f) = first_row(dir.path(), |f| f[3] == "Drug01");
    let located = format!(
        "{}:{line}: plate plate0002, well {}: drug `Drug01` differs from `drug01` only in case or spaces",
        dir.path().join("wells.csv").display(),
        f[1]
    );
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 0, "{stderr}");
    has(&stderr, &[&format!("warning: {located}")]);
    let (code, stderr) = validate(&assay, &["--strict"]);
    assert_eq!(code, 1, "{stderr}");
    has(
        &stderr,
        &[
            &format!("problem: {located}"),
            "(a warning, an error with --strict)",
        ],
    );
    // run --strict: exit 1, no folder; without it, the warning is in run.json.
    let strict = dir.path().join("strict");
    let run = collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--strict", "--no-figures", "-o"])
        .arg(&strict)
        .assert()
        .code(1);
    has(
        &String::from_utf8_lossy(&run.get_output().stderr),
        &[&located],
    );
    assert!(!strict.exists());
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(&out)
        .assert()
        .success();
    let json = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(json.contains("drug `Drug01` differs from `drug01` only in case or spaces"));
}

#[test]
fn parental_links_in_a_cycle_or_to_a_line_without_wells_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cycle");
    let assay = simulated(&dir, &[], |_| {});
    let lines = dir.join("lines.csv");
    std::fs::write(
        &lines,
        "cell_line,parental_line,selected_with\nparental,resistant02,\nresistant01,parental,drug01\nresistant02,parental,drug02\n",
    )
    .unwrap();
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 1, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "{}:2: the parental links form a cycle: parental → resistant02 → parental",
            lines.display()
        )],
    );
    // A parental line that has no wells: the resistant lines have nothing to be compared with.
    let dir = tmp.path().join("orphans");
    let lines = dir.join("lines.csv");
    let assay = simulated(&dir, &[], |r| {
        let parental: Vec<String> = r
            .iter()
            .filter(|f| f[2] == "parental")
            .map(|f| f[0].clone())
            .collect();
        r.retain(|f| !parental.contains(&f[0]));
    });
    let (code, stderr) = validate(&assay, &[]);
    assert_eq!(code, 1, "{stderr}");
    has(
        &stderr,
        &[&format!(
            "problem: {}:3: resistant line `resistant01` has wells but its parental line `parental` has none",
            lines.display()
        )],
    );
    collateral()
        .arg("run")
        .arg(&assay)
        .args(["-q", "--no-figures", "-o"])
        .arg(dir.join("out"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "lines.csv:3: resistant line `resistant01` has wells but its parental line `parental` has none",
        ));
}

#[test]
fn a_screen_built_in_memory_with_a_sample_at_dose_0_is_an_error_naming_the_well() {
    use collateral::table::Table;
    use collateral::{Screen, Settings, Silent, WellTable};
    let mut csv = String::from("plate,well,cell_line,drug,concentration,role,signal\n");
    for k in 0..6 {
        let dose = 10f64.powi(k - 2);
        csv += &format!("P1,A{},L,B,{dose},sample,{}\n", k + 1, 1000 - 100 * k);
    }
    csv += "P1,A10,L,,,vehicle,1100\nP1,A11,L,,,vehicle,1090\nP1,A12,L,,,blank,100\n";
    let mut wells = WellTable::from_table(
        &mut Table::from_bytes(csv.as_bytes(), Path::new("w")).unwrap(),
        None,
    )
    .unwrap();
    let mut well = wells.wells.get(0).to_well();
    well.position = collateral::plate::WellPos::parse("B1").unwrap();
    well.concentration = Some(0.0);
    wells.wells.push(well);
    let screen = Screen::new("in memory", "uM", Settings::default(), wells, None).unwrap();
    let err = screen.run(&Silent).unwrap_err().to_string();
    assert!(
        err.contains(
            "plate P1, well B1: sample well (drug `B`) at concentration 0; a dose must be positive"
        ),
        "{err}"
    );
}

#[test]
fn a_strict_merge_with_a_warning_writes_no_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = crate::merge::simulate(dir, "A", 1, 3);
    let b = crate::merge::simulate(dir, "B", 2, 3);
    crate::merge::rename_lines(&dir.join("B"), |l| format!("b-{l}"));
    // Batch B judged its plates by another Z′ threshold: merged with a warning.
    let toml = dir.join(&b);
    let text = std::fs::read_to_string(&toml).unwrap() + "\n[qc]\nz_prime_warn = 0.4\n";
    std::fs::write(&toml, text).unwrap();
    for (assay, out) in [(&a, "runs/A"), (&b, "runs/B")] {
        collateral()
            .arg("run")
            .arg(assay)
            .args(["-q", "--no-figures", "-o", out])
            .current_dir(dir)
            .assert()
            .success();
    }
    let strict = collateral()
        .args([
            "merge",
            "runs/A",
            "runs/B",
            "--strict",
            "--no-figures",
            "-o",
            "merged",
        ])
        .current_dir(dir)
        .assert()
        .code(1);
    has(
        &String::from_utf8_lossy(&strict.get_output().stderr),
        &[
            "used other settings than",
            "(a warning, an error with --strict)",
        ],
    );
    assert!(
        !dir.join("merged").exists(),
        "a strict merge stopped by a warning writes nothing"
    );
    collateral()
        .args([
            "merge",
            "runs/A",
            "runs/B",
            "-q",
            "--no-figures",
            "-o",
            "merged",
        ])
        .current_dir(dir)
        .assert()
        .success()
        .stderr(predicates::str::contains("used other settings than"));
    assert!(dir.join("merged/run.json").exists());
}
