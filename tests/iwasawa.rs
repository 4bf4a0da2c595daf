//! The bundled real assay (Iwasawa 2022, raw OD620): outputs checked against values computed
//! here straight from the authors' raw reads, not from our wells table.

use std::collections::HashMap;

use crate::common::{collateral, num, read_csv, root};

#[allow(dead_code)]
#[path = "../examples/build_iwasawa.rs"]
mod build_iwasawa;

const DRUGS: [&str; 8] = ["TET", "KM", "NFLX", "SS", "PLM", "NQO", "SDC", "MMC"];

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

#[test]
fn bundled_tables_are_what_the_builder_makes_from_the_raw_reads() {
    let dir = root().join("assays/iwasawa2022");
    let (wells, lines, _) = build_iwasawa::build(&dir.join("raw"), &[27]).expect("build from raw");
    assert_eq!(
        wells,
        std::fs::read_to_string(dir.join("wells.csv")).unwrap()
    );
    assert_eq!(
        lines,
        std::fs::read_to_string(dir.join("lines.csv")).unwrap()
    );
}

#[test]
fn run_matches_an_independent_computation_from_raw_reads() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/iwasawa2022/assay.toml", "-o"])
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    let wells = read_csv(&out.path().join("wells.csv"));
    let qc = read_csv(&out.path().join("qc.csv"));
    assert_eq!(wells.len(), 24 * 384);
    let viability: HashMap<(String, String), String> = wells
        .iter()
        .map(|w| {
            (
                (w["plate"].clone(), w["well"].clone()),
                w["viability"].clone(),
            )
        })
        .collect();

    // Raw rows: day, plate, plate_half, strain_num, strain_env, plate_type, drug, w1..w24.
    let raw = read_csv(&root().join("assays/iwasawa2022/raw/od620_subset.csv"));
    let mut checked_wells = 0;
    let mut checked_units = 0;
    for plate in [1u32, 13, 20] {
        for half in [1u32, 2] {
            let rows: Vec<_> = raw
                .iter()
                .filter(|r| r["plate"] == plate.to_string() && r["plate_half"] == half.to_string())
                .collect();
            assert_eq!(rows.len(), 8);
            let blank: Vec<f64> = rows.iter().map(|r| num(r, "w1")).collect();
            let vehicle: Vec<f64> = rows.iter().map(|r| num(r, "w24")).collect();
            let (mb, mv) = (mean(&blank), mean(&vehicle));
            let z = 1.0 - 3.0 * (sd(&vehicle) + sd(&blank)) / (mv - mb).abs();
            let cv = sd(&vehicle) / mv;
            let sb = mv / mb;
            let plate_id = format!("d27-p{plate:02}");
            // Strains come in blocks of four lineages per environment: replicate = position in block.
            let strain: u32 = rows[0]["strain_num"].parse().unwrap();
            let replicate = ((strain - 1) % 4 + 1).to_string();
            let line = rows[0]["strain_env"].replace(' ', "_");
            let q = qc
                .iter()
                .find(|q| {
                    q["plate"] == plate_id && q["cell_line"] == line && q["replicate"] == replicate
                })
                .unwrap_or_else(|| panic!("no qc row for {plate_id} {line} {replicate}"));
            assert!(
                (num(q, "z_prime") - z).abs() < 1e-9,
                "{plate_id} {line}: z′ {} vs {z}",
                q["z_prime"]
            );
            assert!((num(q, "cv_vehicle") - cv).abs() < 1e-9);
            assert!((num(q, "signal_to_background") - sb).abs() < 1e-9);
            assert_eq!(q["spatial_flag"], "false", "{plate_id}: {}", q["reason"]);
            let expected = if z < 0.0 || mv <= mb {
                "fail"
            } else if z < 0.5 || cv > 0.2 || sb < 2.0 {
                "warn"
            } else {
                "pass"
            };
            assert_eq!(
                q["verdict"], expected,
                "{plate_id} {line} rep {replicate}: {}",
                q["reason"]
            );
            checked_units += 1;
            for r in &rows {
                let d = DRUGS.iter().position(|x| *x == r["drug"]).unwrap() as u32;
                let row_letter = (b'A' + (2 * d + half - 1) as u8) as char;
                for w in 1..=24 {
                    let od = num(r, &format!("w{w}"));
                    let v = (od - mb) / (mv - mb);
                    let got: f64 = viability[&(plate_id.clone(), format!("{row_letter}{w}"))]
                        .parse()
                        .unwrap();
                    assert!(
                        (got - v).abs() < 1e-12,
                        "{plate_id} {row_letter}{w}: {got} vs {v}"
                    );
                    checked_wells += 1;
                }
            }
        }
    }
    assert_eq!((checked_units, checked_wells), (6, 6 * 8 * 24));
    // The lineage that did not grow (plate 13, second half) fails and is excluded; its sibling is not.
    let failed: Vec<_> = qc
        .iter()
        .filter(|q| q["verdict"] == "fail" && !q["cell_line"].is_empty())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0]["plate"].as_str(), failed[0]["replicate"].as_str()),
        ("d27-p13", "2")
    );
    for w in wells.iter().filter(|w| w["plate"] == "d27-p13") {
        let dead = w["replicate"] == "2";
        assert_eq!(
            w["excluded"] == "true",
            dead,
            "{} {}",
            w["well"],
            w["exclusion_reason"]
        );
    }
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("run.json")).unwrap()).unwrap();
    assert_eq!(run["counts"]["wells"], 9216);
    assert_eq!(run["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(run["inputs"][1]["sha256"].as_str().unwrap().len(), 64);
}
