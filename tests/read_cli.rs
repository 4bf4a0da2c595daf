//! The `[[plates]]` form end to end: `collateral run` and `collateral validate` on a real Gen5
//! export with a wellmap layout, and the errors a user meets on the way.

use std::path::Path;

use predicates::prelude::*;

use crate::common::{collateral, read_csv, root, write};

const LAYOUT: &str = r#"
[col.'2-11']
drug = "x"
top_concentration = 10
dilution = 2
series_start = 2

[block.1x4.A1]
role = "vehicle"
[block.1x4.E1]
role = "blank"
[block.1x4.A12]
role = "blank"
[block.1x4.E12]
role = "vehicle"
"#;

/// Two plates (two cell lines) read from copies of the Gen5 luminescence export.
fn screen(dir: &Path, layout: &str, extra: &str) -> std::path::PathBuf {
    let src = root()
        .join("tests/data/exports/gen5-txt/lum_endpoint_singleplate_with_layout_and_normlum.txt");
    std::fs::create_dir_all(dir.join("reads")).unwrap();
    std::fs::copy(&src, dir.join("reads/P1.txt")).unwrap();
    std::fs::copy(&src, dir.join("reads/P2.txt")).unwrap();
    write(dir, "layout.toml", layout);
    write(
        dir,
        "assay.toml",
        &format!(
            "name = \"gen5 screen\"\nconcentration_unit = \"uM\"\n\n[[plates]]\nfile = \"reads/P1.txt\"\nlayout = \"layout.toml\"\ncell_line = \"L1\"\nread = \"LUM:Lum\"\n\n[[plates]]\nfile = \"reads/P2.txt\"\nlayout = \"layout.toml\"\ncell_line = \"L2\"\n{extra}"
        ),
    )
}

#[test]
fn run_reads_plate_files_with_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path(), LAYOUT, "");
    let out = dir.path().join("out");
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let wells = read_csv(&out.join("wells.csv"));
    assert_eq!(wells.len(), 192);
    let p2a4 = wells
        .iter()
        .find(|w| w["plate"] == "P2" && w["well"] == "A4")
        .unwrap();
    assert_eq!(p2a4["cell_line"], "L2");
    assert_eq!(p2a4["drug"], "x");
    assert_eq!(p2a4["concentration"].parse::<f64>().unwrap(), 2.5);
    assert_eq!(p2a4["signal"], "5574");
    let fits = read_csv(&out.join("fits.csv"));
    assert_eq!(fits.len(), 2);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let text = run.to_string();
    for f in ["P1.txt", "P2.txt", "layout.toml"] {
        assert!(text.contains(f), "run.json lacks {f}: {text}");
    }
    // The SHA-256 of a plate file is recorded.
    let bytes = std::fs::read(dir.path().join("reads/P1.txt")).unwrap();
    assert!(text.contains(&collateral::run::sha256_hex(&bytes)));
}

#[test]
fn glob_patterns_name_each_plate_after_its_file() {
    let dir = tempfile::tempdir().unwrap();
    screen(dir.path(), LAYOUT, "");
    write(
        dir.path(),
        "glob.toml",
        "name = \"g\"\nconcentration_unit = \"uM\"\n[[plates]]\nfile = \"reads/P*.txt\"\nlayout = \"layout.toml\"\ncell_line = \"L1\"\n",
    );
    let a = collateral::assay::Assay::from_file(&dir.path().join("glob.toml")).unwrap();
    let r = a.read_wells().unwrap();
    let plates: Vec<&str> = r.table.plates().collect();
    assert_eq!(plates, vec!["P1", "P2"]);
}

#[test]
fn validate_describes_and_maps_a_clean_screen() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path(), LAYOUT, "");
    collateral()
        .arg("validate")
        .arg(&assay)
        .arg("--map")
        .assert()
        .success()
        .stdout(predicate::str::contains("2 plates, 192 wells"))
        .stdout(predicate::str::contains(
            "plate P1: 96-well; vehicle 8, blank 8, sample 80, empty 0",
        ))
        .stdout(predicate::str::contains(
            "read `LUM:Lum` (also in the file: Well ID [layout], NormLum [computed])",
        ))
        .stdout(predicate::str::contains(
            "series L1 × x: 10 doses, 0.01953125–10 uM, mean fold 2.000",
        ))
        .stdout(predicate::str::contains("  A VaaaaaaaaaaB\n"))
        .stdout(predicate::str::contains("  E BaaaaaaaaaaV\n"));
}

#[test]
fn validate_reports_design_problems_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    // Column 11 left out of the layout; one drug at one dose; a dose that breaks the series.
    let layout = r#"
[col.'2-10']
drug = "x"
top_concentration = 10
dilution = 2
series_start = 2
[well.C5]
concentration = 100
[well.A12]
role = "vehicle"
[well.B12]
drug = "y"
concentration = 1
[block.1x4.A1]
role = "vehicle"
[block.1x4.E1]
role = "blank"
[block.1x4.E12]
role = "vehicle"
"#;
    let assay = screen(dir.path(), layout, "");
    collateral()
        .arg("validate")
        .arg(&assay)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plate P1, well A11: the data has a reading here but the layout does not name this well"))
        .stderr(predicate::str::contains("L1 × y is tested at one dose only"))
        .stderr(predicate::str::contains("L1 × x along row C: doses"))
        .stderr(predicate::str::contains("neither rise nor fall"));
}

#[test]
fn plate_errors_name_file_plate_and_well() {
    let dir = tempfile::tempdir().unwrap();
    // Two entries claiming one plate.
    let assay = screen(dir.path(), LAYOUT, "\n[[plates]]\nfile = \"reads/P2.txt\"\nlayout = \"layout.toml\"\nplate = \"P1\"\ncell_line = \"L3\"\n");
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(dir.path().join("o"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("plate P1 is claimed twice"));
    // A layout that gives a well no role.
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(
        dir.path(),
        &LAYOUT.replace("role = \"blank\"", "note = 1"),
        "",
    );
    collateral()
        .arg("validate")
        .arg(&assay)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "layout.toml: plate P1, well E1: the layout gives this well of plate P1 no `role`",
        ));
    // Several raw reads and none chosen; and an unknown read.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/data/exports/gen5-txt/multiple_read_modes_abs_fluor.txt"),
        dir.path().join("m.txt"),
    )
    .unwrap();
    write(dir.path(), "layout.toml", LAYOUT);
    let a = write(
        dir.path(),
        "a.toml",
        "name = \"m\"\nconcentration_unit = \"uM\"\n[[plates]]\nfile = \"m.txt\"\nlayout = \"layout.toml\"\ncell_line = \"L\"\n",
    );
    collateral()
        .arg("validate")
        .arg(&a)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("3 raw reads in this file: `od:600`, `fluor:579,616`, `fluor:479,520`; choose one with `read = \"…\"`"));
}

#[test]
fn assay_plates_keys_are_checked() {
    let p = Path::new("d/assay.toml");
    let parse = |t: &str| collateral::assay::Assay::from_str(t, p);
    let head = "name = \"s\"\nconcentration_unit = \"uM\"\n";
    let e = parse(&format!(
        "{head}[[plates]]\nfile = \"a.csv\"\nlayout = \"l.toml\"\ncel_line = \"x\"\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("d/assay.toml:6: unknown key `plates.cel_line` (did you mean `cell_line`?)"),
        "{e}"
    );
    let e = parse(&format!(
        "{head}wells = \"w.csv\"\n[[plates]]\nfile = \"a.csv\"\nlayout = \"l.toml\"\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("both `wells` and `[[plates]]`"),
        "{e}"
    );
    let e = parse(&format!("{head}[[plates]]\nfile = \"a.csv\"\n")).unwrap_err();
    assert!(e.to_string().contains("needs `file` and `layout`"), "{e}");
    let e = parse(&format!(
        "{head}[[plates]]\nfile = \"a.csv\"\nlayout = \"l.toml\"\nformat = \"gen6\"\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains(
            "d/assay.toml:3: `format = \"gen6\"` is not a format we read (did you mean `gen5`?)"
        ),
        "{e}"
    );
    let a = parse(&format!(
        "{head}[[plates]]\nfile = \"r/a.csv\"\nlayout = \"l.toml\"\nformat = \"BMG\"\n"
    ))
    .unwrap();
    assert_eq!(a.plates[0].file, Path::new("d/r/a.csv"));
    assert_eq!(a.plates[0].format, Some(collateral::read::Format::BmgMars));
    assert!(a.wells.is_none());
}

/// The bundled `[[plates]]` assay: every signal read from the Biomek export with the wellmap
/// layout equals the authors' own reshaped table, every dose the authors' formula, and the
/// whole pipeline runs.
#[test]
fn bundled_biomek_assay_matches_the_published_reshaped_od() {
    let dir = root().join("assays/iwasawa2022-plates");
    let assay = collateral::assay::Assay::from_file(&dir.join("assay.toml")).unwrap();
    let read = assay.read_wells().unwrap();
    assert_eq!(read.table.wells.len(), 384);
    let drugs = ["TET", "KM", "NFLX", "SS", "PLM", "NQO", "SDC", "MMC"];
    let published = read_csv(&root().join("assays/iwasawa2022/raw/od620_reshaped_wide.csv"));
    let types = read_csv(&root().join("assays/iwasawa2022/raw/plate_type_concentrations.csv"));
    let mut checked = 0;
    for row in published
        .iter()
        .filter(|r| r["day"] == "1" && r["plate"] == "1")
    {
        let d = drugs.iter().position(|d| *d == row["drug"]).unwrap() as u16;
        let half: u16 = row["plate_half"].parse().unwrap();
        let t = types
            .iter()
            .find(|t| t["plate_type"] == "1" && t["drug"] == row["drug"])
            .unwrap();
        let top: f64 = t["max_conc_ug_per_ml"].parse().unwrap();
        let step: f64 = t["step_size_log2"].parse().unwrap();
        for w in 1..=24u16 {
            let pos = collateral::plate::WellPos {
                row: 2 * d + half - 1,
                column: w - 1,
            };
            let well = read.table.wells.iter().find(|x| x.position == pos).unwrap();
            let expected: f64 = row[&format!("w{w}")].parse().unwrap();
            assert_eq!(well.signal.value(), Some(expected), "{pos}");
            assert_eq!(well.replicate, half.to_string(), "{pos}");
            match w {
                1 => assert_eq!(well.role, collateral::wells::Role::Blank),
                24 => assert_eq!(well.role, collateral::wells::Role::Vehicle),
                _ => {
                    assert_eq!(well.drug, row["drug"]);
                    let c = top * 2f64.powf(-(f64::from(w) - 2.0) * step);
                    let got = well.concentration.unwrap();
                    assert!((got - c).abs() <= 1e-12 * c, "{pos}: {got} vs {c}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 384);
    let out = tempfile::tempdir().unwrap();
    collateral()
        .arg("run")
        .arg(dir.join("assay.toml"))
        .arg("-o")
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("curves: 8 ok"));
}

#[test]
fn validate_reads_the_tidy_form_too() {
    collateral()
        .arg("validate")
        .arg(root().join("assays/dhawan2017/assay.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "plate H3122: 384-well; vehicle 10, blank 0, sample 90",
        ))
        .stderr(predicate::str::contains(
            "wells.csv: plate H3122: the plate has no blank wells",
        ));
}

#[test]
fn a_sample_well_needs_a_drug_and_a_dose() {
    let dir = tempfile::tempdir().unwrap();
    let layout = format!(
        "{LAYOUT}\n[well.C3]\nrole = \"sample\"\ndrug = \"\"\n[well.C4]\nconcentration = -1\n"
    );
    let assay = screen(dir.path(), &layout, "");
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(dir.path().join("o"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "plate P1, well C3: sample well without a `drug`",
        ))
        .stderr(predicate::str::contains(
            "plate P1, well C4: sample well (drug `x`) without a positive `concentration`",
        ));
}

/// A plate file cut off mid-grid: the run keeps going with the wells it has and warns about
/// each missing one; validate calls each a problem.
#[test]
fn a_truncated_plate_file_names_the_missing_wells() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path(), LAYOUT, "");
    let p1 = dir.path().join("reads/P1.txt");
    let text = std::fs::read_to_string(&p1).unwrap();
    // Cut in the middle of plate row D: `D<TAB>8905<TAB>3067<TAB>46`.
    let cut = text.find("D\t8905\t3067\t46").unwrap() + "D\t8905\t3067\t46".len();
    std::fs::write(&p1, &text[..cut]).unwrap();
    collateral()
        .arg("run")
        .arg(&assay)
        .arg("-o")
        .arg(dir.path().join("o"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "layout.toml: plate P1, well D4: the layout makes this a sample well but",
        ))
        .stderr(predicate::str::contains("P1.txt has no reading for it"));
    let wells = read_csv(&dir.path().join("o/wells.csv"));
    let d3 = wells
        .iter()
        .find(|w| w["plate"] == "P1" && w["well"] == "D3")
        .unwrap();
    // The last cell before the cut is kept as written: `46` of `4650`.
    assert_eq!(d3["signal"], "46");
    collateral()
        .arg("validate")
        .arg(&assay)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "plate P1, well H12: the layout uses this well but",
        ));
}
