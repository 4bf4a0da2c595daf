//! Collateral sensitivity in time and across lineages: trajectories, stability and likelihood
//! on simulated screens whose truth fixes every course and probability, and the lines table's
//! `lineage` / `evolution_time` columns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{collateral, num, read_csv, write};

/// Simulates a screen with lineages in time and runs it; returns (screen folder, output).
fn timed_screen(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let screen = dir.join(format!("screen{seed}"));
    let out = dir.join(format!("out{seed}"));
    collateral()
        .args(["simulate", "--quiet", "-o"])
        .arg(&screen)
        .args(["--seed", &seed.to_string(), "--lines", "5", "--drugs", "6"])
        .args([
            "--lineages",
            "15",
            "--evolution-times",
            "4",
            "--replicates",
            "2",
        ])
        .assert()
        .success();
    collateral()
        .args(["run", "--no-figures", "--quiet"])
        .arg(screen.join("assay.toml"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    (screen, out)
}

#[test]
fn persistence_calls_and_likelihood_intervals_recover_the_simulated_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (mut clear, mut right) = (0usize, 0usize);
    let (mut cells, mut cs_covered, mut cr_covered) = (0usize, 0usize, 0usize);
    for seed in [11, 12, 13] {
        let (screen, out) = timed_screen(dir.path(), seed);
        let truth: HashMap<(String, String), String> = read_csv(&screen.join("truth_courses.csv"))
            .into_iter()
            .map(|r| {
                (
                    (r["lineage"].clone(), r["drug"].clone()),
                    r["course"].clone(),
                )
            })
            .collect();
        let stability = read_csv(&out.join("stability.csv"));
        // 4 selecting drugs × 15 lineages × 6 drugs.
        assert_eq!(stability.len(), 4 * 15 * 6);
        for row in &stability {
            let Some(want) = truth.get(&(row["lineage"].clone(), row["drug"].clone())) else {
                continue; // the selecting drug itself
            };
            // Clear: every time point called (a flat parental curve leaves all undetermined).
            if row["n_undetermined"] != "0" {
                continue;
            }
            clear += 1;
            right += usize::from(&row["course"] == want);
        }
        let truth: HashMap<(String, String, String), (f64, f64)> =
            read_csv(&screen.join("truth_likelihood.csv"))
                .into_iter()
                .map(|r| {
                    (
                        (
                            r["selected_with"].clone(),
                            r["drug"].clone(),
                            r["evolution_time"].clone(),
                        ),
                        (num(&r, "cs_probability"), num(&r, "cr_probability")),
                    )
                })
                .collect();
        for row in read_csv(&out.join("likelihood.csv")) {
            let key = (
                row["selected_with"].clone(),
                row["drug"].clone(),
                row["evolution_time"].clone(),
            );
            let Some(&(cs, cr)) = truth.get(&key) else {
                continue;
            };
            if row["cs_ci_low"].is_empty() {
                continue; // no lineage with a call
            }
            assert_eq!(row["n_lineages"], "15");
            cells += 1;
            cs_covered +=
                usize::from(num(&row, "cs_ci_low") <= cs && cs <= num(&row, "cs_ci_high"));
            cr_covered +=
                usize::from(num(&row, "cr_ci_low") <= cr && cr <= num(&row, "cr_ci_high"));
        }
    }
    let agreement = right as f64 / clear as f64;
    eprintln!("courses: {right} of {clear} clear cases right ({agreement:.3})");
    assert!(clear >= 700, "{clear} clear cases");
    assert!(
        agreement >= 0.95,
        "courses right in {agreement:.3} of clear cases"
    );
    let (cs, cr) = (
        cs_covered as f64 / cells as f64,
        cr_covered as f64 / cells as f64,
    );
    eprintln!("Wilson 95 % intervals over {cells} cells: CS coverage {cs:.3}, CR coverage {cr:.3}");
    assert!(cells >= 200, "{cells} cells");
    // Nominal 0.95; with ~240 cells a coverage outside [0.90, 0.99] would be > 3 SE away.
    for (what, c) in [("CS", cs), ("CR", cr)] {
        assert!(
            (0.90..=0.99).contains(&c),
            "{what} intervals cover the truth in {c:.3}"
        );
    }
}

#[test]
fn trajectories_follow_time_and_the_network_shows_the_latest_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = timed_screen(dir.path(), 21);
    let traj = read_csv(&out.join("trajectories.csv"));
    let header = csv::Reader::from_path(out.join("trajectories.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "lineage",
            "selected_with",
            "drug",
            "evolution_time",
            "resistant_line",
            "parental_line",
            "log2_fc",
            "log2_fc_qualifier",
            "ci_low",
            "ci_high",
            "q_value",
            "call"
        ]
    );
    // 60 lineages × 4 times × 6 drugs, each (lineage, drug) in time order 1..4.
    assert_eq!(traj.len(), 60 * 4 * 6);
    for chunk in traj.chunks(4) {
        let times: Vec<&str> = chunk.iter().map(|r| r["evolution_time"].as_str()).collect();
        assert_eq!(times, ["1", "2", "3", "4"]);
        assert!(chunk
            .iter()
            .all(|r| r["lineage"] == chunk[0]["lineage"] && r["drug"] == chunk[0]["drug"]));
        assert!(chunk[0]["resistant_line"].ends_with("_t1"));
    }
    // The network's edges are the likelihood rows of the last time (day 4).
    let network: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("network.json")).unwrap()).unwrap();
    let likelihood: HashMap<(String, String), f64> = read_csv(&out.join("likelihood.csv"))
        .into_iter()
        .filter(|r| r["evolution_time"] == "4" && !r["cs_likelihood"].is_empty())
        .map(|r| {
            (
                (r["selected_with"].clone(), r["drug"].clone()),
                num(&r, "cs_likelihood"),
            )
        })
        .collect();
    let edges = network["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 4 * 6);
    for e in edges {
        assert_eq!(e["lines"].as_array().unwrap().len(), 15);
        assert!(e["lines"][0].as_str().unwrap().ends_with("_t4"));
        let key = (
            e["source"].as_str().unwrap().to_string(),
            e["target"].as_str().unwrap().to_string(),
        );
        if let Some(l) = likelihood.get(&key) {
            assert_eq!(e["cs_likelihood"].as_f64().unwrap(), *l, "{key:?}");
        }
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["assay"]["evolution_time_unit"], "day");
}

/// A small real-shaped table: lineage columns and times in the lines table.
fn tiny_assay(dir: &Path, lines: &str, unit: bool) -> PathBuf {
    let mut wells = String::from("plate,well,cell_line,drug,concentration,role,signal\n");
    for (p, line) in ["P", "A1", "A2"].iter().enumerate() {
        let plate = format!("p{p}");
        for r in 0..2 {
            let row = (b'A' + r) as char;
            wells.push_str(&format!("{plate},{row}1,{line},,,blank,100\n"));
            wells.push_str(&format!("{plate},{row}2,{line},,,vehicle,1100\n"));
            for (k, c) in [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0].iter().enumerate() {
                let ec50: f64 = if *line == "P" { 1.0 } else { 0.1 };
                let v = 1.0 / (1.0 + c / ec50);
                let signal = 100.0 + 1000.0 * v;
                wells.push_str(&format!(
                    "{plate},{row}{},{line},d,{c},sample,{signal}\n",
                    k + 3
                ));
            }
        }
    }
    write(dir, "wells.csv", &wells);
    write(dir, "lines.csv", lines);
    let unit = if unit {
        "evolution_time_unit = \"passage\"\n"
    } else {
        ""
    };
    write(
        dir,
        "assay.toml",
        &format!("name = \"t\"\nconcentration_unit = \"uM\"\n{unit}wells = \"wells.csv\"\nlines = \"lines.csv\"\n"),
    )
}

#[test]
fn lines_table_time_columns_are_checked_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let assay = tiny_assay(
        dir.path(),
        "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\nA1,P,d,A,2\nA2,P,d,A,2\n",
        true,
    );
    let lines = dir.path().join("lines.csv");
    let out = collateral()
        .args(["run", "--no-figures", "-o"])
        .arg(dir.path().join("out"))
        .arg(&assay)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(&format!(
            "{}:4: lineage `A` has two lines at evolution time 2: `A1` (line 3) and `A2`",
            lines.display()
        )),
        "{err}"
    );
    write(
        dir.path(),
        "lines.csv",
        "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\nA1,P,d,A,one\nA2,P,d,A,2\n",
    );
    let out = collateral()
        .args(["run", "--no-figures", "-o"])
        .arg(dir.path().join("out"))
        .arg(&assay)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains(&format!(
            "{}:3: `evolution_time` of `A1` is `one`, not a number",
            lines.display()
        )),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_timed_lines_table_without_a_unit_warns_and_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let assay = tiny_assay(
        dir.path(),
        "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\nA1,P,x,A,1\nA2,P,x,A,2\n",
        false,
    );
    let out = collateral()
        .args(["run", "--no-figures", "-o"])
        .arg(dir.path().join("out"))
        .arg(&assay)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("gives evolution times but the assay names no unit"),
        "{err}"
    );
    let stability = read_csv(&dir.path().join("out/stability.csv"));
    assert_eq!(stability.len(), 1);
    let s = &stability[0];
    assert_eq!((s["lineage"].as_str(), s["n_times"].as_str()), ("A", "2"));
    // A 10-fold fall of IC50 at both times: CS throughout, no slope to speak of.
    assert_eq!(s["course"], "persistent", "{s:?}");
    assert!(num(s, "slope").abs() < 0.05, "{s:?}");
    let likelihood = read_csv(&dir.path().join("out/likelihood.csv"));
    assert_eq!(likelihood.len(), 2);
    assert_eq!(likelihood[0]["evolution_time"], "1");
    assert_eq!(likelihood[0]["cs_likelihood"], "1");
}

#[test]
fn figures_and_report_show_lineages_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen");
    collateral()
        .args(["simulate", "--quiet", "-o"])
        .arg(&screen)
        .args(["--seed", "3", "--lines", "3", "--drugs", "4"])
        .args([
            "--lineages",
            "5",
            "--evolution-times",
            "3",
            "--replicates",
            "1",
        ])
        .assert()
        .success();
    let out = dir.path().join("out");
    collateral()
        .args(["run", "--quiet"])
        .arg(screen.join("assay.toml"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let grids: Vec<_> = std::fs::read_dir(out.join("plots/trajectories"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(grids.len(), 2 * 5, "{grids:?}");
    assert!(grids.contains(&"resistant01_L01.svg".to_string()));
    let grid = std::fs::read_to_string(out.join("plots/trajectories/resistant01_L01.svg")).unwrap();
    roxmltree::Document::parse(&grid).expect("valid SVG");
    assert!(grid.contains("Lineage resistant01_L01 (selected with drug01)"));
    assert!(grid.contains("\nday\n"), "the unit labels the time axis");
    let map = std::fs::read_to_string(out.join("plots/likelihood.svg")).unwrap();
    roxmltree::Document::parse(&map).expect("valid SVG");
    assert!(map.contains("CS likelihood") && map.contains("CR likelihood"));
    // Each cell's k/n is the likelihood.csv row at the latest day.
    for row in read_csv(&out.join("likelihood.csv"))
        .iter()
        .filter(|r| r["evolution_time"] == "3")
    {
        let called = ["n_cs", "n_cr", "n_neutral"]
            .iter()
            .map(|c| row[*c].parse::<usize>().unwrap())
            .sum::<usize>();
        assert!(
            map.contains(&format!("\n{}/{called}\n", row["n_cs"])),
            "{row:?}"
        );
    }
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<h2 id=\"lineages\">Lineages and time</h2>"));
    let stability = read_csv(&out.join("stability.csv"));
    let pairs = stability
        .iter()
        .filter(|s| s["drug"] != s["selected_with"])
        .count();
    let persistent = stability
        .iter()
        .filter(|s| s["drug"] != s["selected_with"] && s["course"] == "persistent")
        .count();
    assert!(
        report.contains(&format!(
            "10 lineages sampled at 3 evolution times (day). Of {pairs} lineage × drug pairs (the selecting drug left out), collateral sensitivity <b>persisted</b> at every time point in {persistent},"
        )),
        "report summary of courses"
    );
    assert!(report.contains("id=\"likelihood-table\""));
}
