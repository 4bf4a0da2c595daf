//! Plate files, vendor exports and layouts: every bundled export parsed and spot-checked against
//! values as the file holds them; every wellmap example matched against wellmap's own parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use collateral::plate::WellPos;
use collateral::read::layout::{Layout, Value};
use collateral::read::{Format, PlateFile};

use crate::common::{root, write};

fn export(rel: &str) -> PathBuf {
    root().join("tests/data/exports").join(rel)
}

/// The text of `well` in read `read` of `file` (the read chosen as a user would).
fn cell(file: &PlateFile, read: Option<&str>, well: &str) -> Option<String> {
    let r = file.choose(read).unwrap_or_else(|e| panic!("{e}"));
    let w = WellPos::parse(well).unwrap();
    r.cells.iter().find(|c| c.pos == w).map(|c| c.text.clone())
}

struct Case {
    file: &'static str,
    format: Format,
    read: Option<&'static str>,
    wells: u32,
    cells: usize,
    spots: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        file: "bmg-mars/BMG_Labtech_format_96_abs.csv",
        format: Format::BmgMars,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[("H1", "0.422"), ("H12", "0.207")],
    },
    Case {
        file: "bmg-mars/CLARIOstar_1536_lum_partial_rows.csv",
        format: Format::BmgMars,
        read: None,
        wells: 1536,
        cells: 288,
        spots: &[("A1", "985"), ("AE1", "36809"), ("AE48", "19500")],
    },
    Case {
        file: "bmg-mars/PHERAstar_384_FI_transcreener.csv",
        format: Format::BmgMars,
        read: Some("Raw Data (580/620)"),
        wells: 384,
        cells: 302,
        spots: &[("A1", "25104"), ("P1", "63471"), ("P12", "62")],
    },
    Case {
        file: "bmg-mars/PHERAstar_384_abs_partial.csv",
        format: Format::BmgMars,
        read: None,
        wells: 384,
        cells: 99,
        spots: &[("A1", "0.031"), ("A18", "0.032"), ("C1", "2.368")],
    },
    Case {
        file: "bmg-mars/PHERAstar_96_abs450_elisa.csv",
        format: Format::BmgMars,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[("A1", "1.691"), ("A2", "1.557")],
    },
    Case {
        file: "bmg-smart-control/fluorescence_endpoint_example2.xlsx",
        format: Format::BmgMars,
        read: Some("4. Raw Data (480-14/520-30)"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "8168026")],
    },
    Case {
        file: "envision/PE_Envision_absorbance_A450_example.csv",
        format: Format::EnVision,
        read: Some("Results for A450(1) - channel 1 (A)"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "0.1500"), ("H1", "0.1800"), ("H12", "0.0950")],
    },
    Case {
        file: "envision/PE_Envision_luminescence_384_partial_example01.csv",
        format: Format::EnVision,
        read: Some("Results for 0_1 US LUM 384(1) - channel 0 (CPS)"),
        wells: 384,
        cells: 96,
        spots: &[("A2", "40"), ("M17", "80"), ("M24", "0")],
    },
    Case {
        file: "gen5-txt/abs450_96well_non_numeric_values.txt",
        format: Format::Gen5,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[
            ("A1", "2.100"),
            ("A8", "OVRFLW"),
            ("D12", "MISSED"),
            ("H12", "2.500"),
        ],
    },
    Case {
        file: "gen5-txt/fluor_endpoint_singleplate.txt",
        format: Format::Gen5,
        read: Some("DAPI/GFP:360/40,460/40"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "8940")],
    },
    Case {
        file: "gen5-txt/kinetic_od600_growth_curve.txt",
        format: Format::Gen5,
        read: Some("0:04:22"),
        wells: 24,
        cells: 24,
        spots: &[("A1", "-0.068"), ("A3", "-0.053")],
    },
    Case {
        file: "gen5-txt/lum_endpoint_singleplate_with_layout_and_normlum.txt",
        format: Format::Gen5,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[("A1", "8718"), ("A12", "210"), ("H12", "8490")],
    },
    Case {
        file: "gen5-txt/multiple_read_modes_abs_fluor.txt",
        format: Format::Gen5,
        read: Some("fluor:479,520"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "418"), ("H10", "852"), ("H12", "443")],
    },
    Case {
        file: "revvity-kaleido/luminescence_endpoint_single_plate_example_01.csv",
        format: Format::Kaleido,
        read: Some("Result for Luminescence 1"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "94395"), ("H12", "75"), ("B1", "102790")],
    },
    Case {
        file: "softmax-pro/MD_SMP_absorbance_endpoint_example01_utf16.txt",
        format: Format::SoftMax,
        read: Some("Plate01:450"),
        wells: 96,
        cells: 96,
        spots: &[
            ("A1", "3.41797666666667"),
            ("G12", "1.79494422966667"),
            ("H12", "2.68254658466667"),
        ],
    },
    Case {
        file: "softmax-pro/MD_SMP_luminescence_endpoint_example03_utf16_columns.txt",
        format: Format::SoftMax,
        read: Some("c12345_2"),
        wells: 96,
        cells: 48,
        spots: &[("A1", "1011329"), ("D11", "47947"), ("D12", "3633")],
    },
    Case {
        file: "softmax-pro/abs_endpoint_plates.txt",
        format: Format::SoftMax,
        read: Some("Plate1:426"),
        wells: 96,
        cells: 96,
        spots: &[("A1", "0.01"), ("A2", "0,02")],
    },
    Case {
        file: "softmax-pro/fl_kinetic_plates.txt",
        format: Format::SoftMax,
        read: Some("Plate1:525 00:01:30"),
        wells: 6,
        cells: 6,
        spots: &[("A1", "39.50988"), ("B3", "10.85013")],
    },
    Case {
        file: "tecan-magellan/SLA01P01_OD.xlsx",
        format: Format::Magellan,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[("A1", "0.1462")],
    },
    Case {
        file: "thermo-skanit/luciferase_assay_example.xlsx",
        format: Format::SkanIt,
        read: None,
        wells: 96,
        cells: 96,
        spots: &[("A1", "105.4")],
    },
    Case {
        file: "biomek-od-export/OD_Result_01_01_first420lines.csv",
        format: Format::Grid,
        read: None,
        wells: 384,
        cells: 384,
        spots: &[("A1", "0.0441"), ("P22", "0.194"), ("P24", "0.1969")],
    },
];

#[test]
fn every_bundled_export_parses_with_spot_checked_wells() {
    let mut files = 0;
    for case in CASES {
        let path = export(case.file);
        let f = PlateFile::read(&path, None).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        assert_eq!(f.format, case.format, "{}", case.file);
        let r = f.choose(case.read).unwrap_or_else(|e| panic!("{e}"));
        assert!(!r.computed && !r.layout, "{}: {}", case.file, r.name);
        assert_eq!(r.cells.len(), case.cells, "{}", case.file);
        assert_eq!(r.format().unwrap().wells(), case.wells, "{}", case.file);
        for (well, text) in case.spots {
            assert_eq!(
                cell(&f, case.read, well).as_deref(),
                Some(*text),
                "{} well {well}",
                case.file
            );
        }
        files += 1;
    }
    // Every bundled export (not the SOURCE.md) is covered.
    let on_disk = walk(&root().join("tests/data/exports"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .count();
    assert_eq!(files, on_disk);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn vendor_computed_rows_are_never_the_default_read() {
    let f = PlateFile::read(
        &export("gen5-txt/lum_endpoint_singleplate_with_layout_and_normlum.txt"),
        None,
    )
    .unwrap();
    assert_eq!(f.choose(None).unwrap().name, "LUM:Lum");
    let names: Vec<(&str, bool, bool)> = f
        .reads
        .iter()
        .map(|r| (r.name.as_str(), r.computed, r.layout))
        .collect();
    assert!(names.contains(&("NormLum", true, false)), "{names:?}");
    assert!(names.contains(&("Well ID", false, true)), "{names:?}");
    // EnVision crosstalk-corrected blocks and BMG blank-corrected rows are computed.
    let f = PlateFile::read(
        &export("envision/PE_Envision_luminescence_384_partial_example01.csv"),
        None,
    )
    .unwrap();
    assert!(f
        .reads
        .iter()
        .filter(|r| r.name.starts_with("Calculated"))
        .all(|r| r.computed));
    // Two plates in one file: the user must choose.
    let e = f.choose(None).unwrap_err();
    assert!(e.to_string().contains("2 raw reads"), "{e}");
    let f = PlateFile::read(
        &export("bmg-smart-control/fluorescence_endpoint_example2.xlsx"),
        None,
    )
    .unwrap();
    assert!(f
        .reads
        .iter()
        .filter(|r| r.name.contains("Blank corrected"))
        .all(|r| r.computed));
    // The same raw read in the well-as-column sheet (`Table End point`) of the workbook.
    let table_read = f.choose(Some("Raw Data (480-14/520-30)")).unwrap();
    assert!(f.sheets[table_read.sheet]
        .source
        .to_string_lossy()
        .contains("[Table End point]"));
    let micro = f.choose(Some("4. Raw Data (480-14/520-30)")).unwrap();
    assert_eq!(table_read.cells.len(), micro.cells.len());
    for (a, b) in table_read.cells.iter().zip(&micro.cells) {
        assert_eq!((a.pos, &a.text), (b.pos, &b.text));
    }
    // A forced format that does not fit finds nothing and says so.
    let e = PlateFile::read(
        &export("bmg-mars/BMG_Labtech_format_96_abs.csv"),
        Some(Format::SoftMax),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no plate data found (read as softmax)"),
        "{e}"
    );
}

#[test]
fn decimal_comma_is_read_with_a_warning() {
    let f = PlateFile::read(&export("softmax-pro/abs_endpoint_plates.txt"), None).unwrap();
    let r = f.choose(Some("Plate1:426")).unwrap();
    let mut warnings = Vec::new();
    let s = f.signals(r, "P1", &mut warnings);
    let a2 = s
        .iter()
        .find(|(c, _, _)| c.pos.to_string() == "A2")
        .unwrap();
    assert_eq!(a2.1.value(), Some(0.02));
    assert!(
        warnings.iter().any(|w| w.to_string().contains("well A2")),
        "{warnings:?}"
    );
    let ovr = PlateFile::read(
        &export("gen5-txt/abs450_96well_non_numeric_values.txt"),
        None,
    )
    .unwrap();
    let r = ovr.choose(None).unwrap();
    let s = ovr.signals(r, "P", &mut warnings);
    let a8 = s
        .iter()
        .find(|(c, _, _)| c.pos.to_string() == "A8")
        .unwrap();
    assert_eq!(a8.1, collateral::wells::Signal::NotNumeric("OVRFLW".into()));
    assert_eq!(a8.2.line, Some(31));
}

// ------------------------------------------------------------------ wellmap conformance

fn layouts() -> PathBuf {
    root().join("tests/data/layouts/wellmap")
}

/// Compares a layout with wellmap 3.5.2's parse: same wells (per plate), same values.
fn matches_wellmap(toml: &str, expected: &str) {
    let layout = Layout::read(&layouts().join(toml)).unwrap_or_else(|e| panic!("{toml}: {e}"));
    let rows = crate::common::read_csv(&layouts().join("expected").join(expected));
    let fixed = ["well", "well0", "row", "col", "row_i", "col_j", "plate"];
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let plate = row.get("plate").cloned().unwrap_or_default();
        let pos = WellPos::parse(&row["well"]).unwrap();
        let params = layout
            .plates
            .get(&plate)
            .and_then(|p| p.get(&pos))
            .unwrap_or_else(|| panic!("{toml}: plate `{plate}` well {pos} missing"));
        *seen.entry(plate.clone()).or_default() += 1;
        for (k, v) in row {
            if fixed.contains(&k.as_str()) {
                continue;
            }
            let got = params.get(k);
            if v.is_empty() || v == "NaN" {
                assert!(
                    got.is_none(),
                    "{toml} {plate} {pos} `{k}`: expected unset, got {got:?}"
                );
                continue;
            }
            let got =
                got.unwrap_or_else(|| panic!("{toml} {plate} {pos} `{k}` unset, expected {v}"));
            let ok = match got {
                Value::Number(x) => v
                    .parse::<f64>()
                    .is_ok_and(|e| (e - x).abs() <= 1e-9 * e.abs().max(1.0)),
                Value::Bool(b) => v == if *b { "True" } else { "False" },
                Value::Text(s) | Value::Date(s) => s == v,
            };
            assert!(ok, "{toml} {plate} {pos} `{k}`: expected {v}, got {got:?}");
        }
    }
    let total: usize = layout.plates.values().map(|p| p.len()).sum();
    assert_eq!(total, rows.len(), "{toml}: number of wells");
}

#[test]
fn wellmap_std_curve() {
    matches_wellmap("std_curve.toml", "std_curve.csv");
}

#[test]
fn wellmap_bradford_assay_with_include_and_blocks() {
    matches_wellmap("bradford_assay.toml", "bradford_assay.csv");
}

#[test]
fn wellmap_beta_gal_precedence() {
    matches_wellmap("beta_gal_assay.toml", "beta_gal_assay.csv");
}

#[test]
fn wellmap_qpcr_timecourse_384_patterns_and_times() {
    matches_wellmap("qpcr_timecourse.toml", "qpcr_timecourse.csv");
}

#[test]
fn wellmap_every_group_kind() {
    matches_wellmap("well_groups.toml", "well_groups.csv");
}

#[test]
fn wellmap_plates() {
    matches_wellmap("simple_2.toml", "simple_2.csv");
}

#[test]
fn plater_style_grid_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "layout.csv",
        "Drug,1,2,3\nA,x,x,\nB,,,\n,,,\nConcentration,1,2,3\nA,10,1,\n,,,\nRole,1,2,3\nA,,,vehicle\nB,blank,,\n",
    );
    let l = Layout::read(&p).unwrap();
    let w = l.wells_of("any").unwrap();
    let at = |s: &str| WellPos::parse(s).unwrap();
    let spec = l.spec("P", at("A2"), &w[&at("A2")], "L1").unwrap();
    assert_eq!(spec.drug, "x");
    assert_eq!(spec.concentration, Some(1.0));
    assert_eq!(spec.cell_line, "L1");
    let spec = l.spec("P", at("A3"), &w[&at("A3")], "L1").unwrap();
    assert_eq!(spec.role, collateral::wells::Role::Vehicle);
    assert_eq!(w.len(), 4);
}

// ------------------------------------------------------------------ the [[plates]] form

const LUM_LAYOUT: &str = r#"
[expt]
cell_line = "L1"

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

/// Gen5's `NormLum` = 100·(x − mean NEGCON)/(mean POSCON − mean NEGCON); with POSCON as vehicle
/// and NEGCON as blank, our viability must reproduce it for all 96 wells.
#[test]
fn gen5_normlum_is_reproduced_by_our_normalization() {
    let dir = tempfile::tempdir().unwrap();
    let src = export("gen5-txt/lum_endpoint_singleplate_with_layout_and_normlum.txt");
    std::fs::copy(&src, dir.path().join("lum.txt")).unwrap();
    write(dir.path(), "layout.toml", LUM_LAYOUT);
    let assay_path = write(
        dir.path(),
        "assay.toml",
        "name = \"lum\"\nconcentration_unit = \"uM\"\n\n[[plates]]\nfile = \"lum.txt\"\nlayout = \"layout.toml\"\nread = \"LUM:Lum\"\n",
    );
    let assay = collateral::assay::Assay::from_file(&assay_path).unwrap();
    let read = assay.read_wells().unwrap();
    assert_eq!(read.table.wells.len(), 96);
    assert_eq!(read.plates[0].plate, "lum");
    assert_eq!(read.files.len(), 2);
    let b5 = read
        .table
        .wells
        .iter()
        .find(|w| w.position.to_string() == "B5")
        .unwrap();
    assert_eq!(b5.concentration, Some(10.0 / 8.0));
    assert_eq!(b5.drug, "x");
    let norm = collateral::qc::normalize_and_qc(
        &read.table,
        &assay.settings.qc,
        &assay.settings.normalize,
        &assay_path,
    )
    .unwrap();
    let f = PlateFile::read(&src, None).unwrap();
    let normlum = f.choose(Some("NormLum")).unwrap();
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for (w, o) in read.table.wells.iter().zip(&norm.outcomes) {
        let vendor: f64 = normlum
            .cells
            .iter()
            .find(|c| c.pos == w.position)
            .unwrap()
            .text
            .parse()
            .unwrap();
        let ours = 100.0 * o.viability.unwrap();
        worst = worst.max((ours - vendor).abs());
        checked += 1;
    }
    assert_eq!(checked, 96);
    // Gen5 prints integer LUM values of a typed-in ("Manual") plate and NormLum to 3 decimals;
    // the largest difference over the 96 wells is 0.0079 percentage points (1e-4 of the scale).
    assert!(worst < 0.01, "largest difference {worst}");
}

#[test]
fn wellmap_plates_are_chosen_by_plate_name_and_includes_are_recorded() {
    let l = Layout::read(&layouts().join("simple_2.toml")).unwrap();
    assert_eq!(l.wells_of("rep2").unwrap().len(), 12);
    let e = l.wells_of("rep3").unwrap_err();
    assert!(
        e.to_string()
            .contains("the layout has no plate `rep3`; it describes plates rep1, rep2"),
        "{e}"
    );
    let l = Layout::read(&layouts().join("bradford_assay.toml")).unwrap();
    let names: Vec<String> = l
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["bradford_assay.toml", "bradford_standards.toml"]);
    // A group inside [plate.X] wins over the same group outside.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "p.toml",
        "[row.A]\ndrug = 'x'\n[col.1]\nrole = 'vehicle'\n[plate.P2.row.A]\ndrug = 'y'\n[plate.P1]\nnote = 1\n",
    );
    let l = Layout::read(&p).unwrap();
    let a1 = WellPos::parse("A1").unwrap();
    assert_eq!(
        l.wells_of("P2").unwrap()[&a1]["drug"],
        Value::Text("y".into())
    );
    assert_eq!(
        l.wells_of("P1").unwrap()[&a1]["drug"],
        Value::Text("x".into())
    );
}

/// Layouts drawn in Excel (a plate-shaped grid per parameter) are read like CSV ones.
#[test]
fn plate_shaped_layouts_may_be_workbooks() {
    let l = Layout::read(&export("thermo-skanit/luciferase_assay_example.xlsx")).unwrap();
    let w = l.wells_of("P").unwrap();
    assert_eq!(w.len(), 96);
    assert_eq!(
        w[&WellPos::parse("A1").unwrap()]["rlu"],
        Value::Text("105.4".into())
    );
}
