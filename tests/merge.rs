//! `collateral merge`: run folders of simulated weekly batches merged into one, checked against
//! the runs they came from (rows, provenance, q-values over the union), duplicates, settings,
//! cross-run comparisons and the figures of the merged folder.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::common::{collateral, num, read_csv};

type Row = HashMap<String, String>;

/// Simulates a small screen into `dir/name` (96-well plates, four drugs) and returns the
/// assay path relative to `dir`.
pub(crate) fn simulate(dir: &Path, name: &str, seed: u64, lines: usize) -> PathBuf {
    collateral()
        .args(["simulate", "--plate-size", "96", "--drugs", "4", "--seed"])
        .arg(seed.to_string())
        .args(["--lines", &lines.to_string(), "-o", name])
        .current_dir(dir)
        .assert()
        .success();
    PathBuf::from(name).join("assay.toml")
}

/// Rewrites a CSV file cell by cell.
fn rewrite_csv(path: &Path, mut f: impl FnMut(&str, &str) -> String) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let head = r.headers().unwrap().clone();
    let mut w = csv::Writer::from_path(path.with_extension("tmp")).unwrap();
    w.write_record(&head).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let out: Vec<String> = head.iter().zip(rec.iter()).map(|(h, v)| f(h, v)).collect();
        w.write_record(&out).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::rename(path.with_extension("tmp"), path).unwrap();
}

/// Renames cell lines of a simulated screen (wells and lines table) by `rename`.
pub(crate) fn rename_lines(screen: &Path, rename: impl Fn(&str) -> String) {
    rewrite_csv(&screen.join("wells.csv"), |h, v| {
        if h == "cell_line" && !v.is_empty() {
            rename(v)
        } else {
            v.to_string()
        }
    });
    rewrite_csv(&screen.join("lines.csv"), |h, v| {
        if (h == "cell_line" || h == "parental_line") && !v.is_empty() {
            rename(v)
        } else {
            v.to_string()
        }
    });
}

/// `collateral run --no-figures` from `dir`.
fn run(dir: &Path, assay: &Path, out: &str) {
    collateral()
        .arg("run")
        .arg(assay)
        .args(["--no-figures", "-o", out])
        .current_dir(dir)
        .assert()
        .success();
}

/// `collateral merge` from `dir`.
fn merge(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    collateral()
        .arg("merge")
        .args(args)
        .current_dir(dir)
        .assert()
}

/// Benjamini–Hochberg written out from its definition (q_i = min over p_j ≥ p_i of
/// p_j · m / rank_j), independent of the library's step-down loop.
fn bh(p: &[f64]) -> Vec<f64> {
    let finite: Vec<f64> = p.iter().copied().filter(|x| x.is_finite()).collect();
    let m = finite.len() as f64;
    p.iter()
        .map(|&pi| {
            if !pi.is_finite() {
                return f64::NAN;
            }
            finite
                .iter()
                .filter(|&&pj| pj >= pi)
                .map(|&pj| {
                    let rank = finite.iter().filter(|&&pk| pk <= pj).count() as f64;
                    (pj * m / rank).min(1.0)
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

fn number(row: &Row, col: &str) -> f64 {
    if row[col].is_empty() {
        f64::NAN
    } else {
        num(row, col)
    }
}

fn shift_key(row: &Row) -> (String, String) {
    (row["resistant_line"].clone(), row["drug"].clone())
}

/// Two disjoint weekly batches (`A`: a parental line and two resistant lines; `B`: its own
/// parental line and three resistant lines), each run on its own, in `dir/runs/`.
fn two_batches(dir: &Path) {
    let a = simulate(dir, "A", 1, 3);
    let b = simulate(dir, "B", 2, 4);
    rename_lines(&dir.join("B"), |l| format!("b-{l}"));
    run(dir, &a, "runs/A");
    run(dir, &b, "runs/B");
}

#[test]
fn merge_compares_every_line_of_both_runs_with_q_values_over_the_union() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_batches(dir);
    merge(dir, &["runs/A", "runs/B", "-o", "merged", "--no-figures"]).success();

    let merged = read_csv(&dir.join("merged/shifts.csv"));
    let by_key: BTreeMap<(String, String), &Row> =
        merged.iter().map(|r| (shift_key(r), r)).collect();
    assert_eq!(
        by_key.len(),
        merged.len(),
        "one row per (resistant line, drug)"
    );
    let mut expected = 0;
    let mut q_changed = 0;
    for run in ["A", "B"] {
        let own = read_csv(&dir.join("runs").join(run).join("shifts.csv"));
        assert!(!own.is_empty());
        expected += own.len();
        for r in &own {
            let m = by_key
                .get(&shift_key(r))
                .unwrap_or_else(|| panic!("{:?} of run {run} missing", shift_key(r)));
            // The same fits, the same statistics: the merge refits nothing.
            for col in [
                "parental_line",
                "log2_fc",
                "log2_fc_qualifier",
                "ci_low",
                "ci_high",
                "p_value",
            ] {
                assert_eq!(m[col], r[col], "{col} of {:?}", shift_key(r));
            }
            assert_eq!((m["run"].as_str(), m["parental_run"].as_str()), (run, run));
            if m["q_value"] != r["q_value"] {
                q_changed += 1;
            }
        }
    }
    assert_eq!(merged.len(), expected, "no row beyond the runs' rows");
    // The family is the merged matrix: q-values are BH over the union of the p-values, which
    // differs from either run's own family.
    let p: Vec<f64> = merged.iter().map(|r| number(r, "p_value")).collect();
    let q = bh(&p);
    assert!(p.iter().filter(|x| x.is_finite()).count() > 10);
    for (r, want) in merged.iter().zip(q) {
        let got = number(r, "q_value");
        assert!(
            (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-12 * want.max(1e-300),
            "{:?}: q {got} vs BH over the union {want}",
            shift_key(r)
        );
    }
    assert!(
        q_changed > 0,
        "the merged family left every q-value as it was"
    );

    // fits.csv: the runs' rows as written, the contract columns first and in order, then `run`.
    let header = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    let run_header = header(&dir.join("runs/A/fits.csv"));
    assert_eq!(
        header(&dir.join("merged/fits.csv")),
        format!("{run_header},run")
    );
    let fits = read_csv(&dir.join("merged/fits.csv"));
    for run in ["A", "B"] {
        let own = read_csv(&dir.join("runs").join(run).join("fits.csv"));
        for f in &own {
            let m = fits
                .iter()
                .find(|m| m["cell_line"] == f["cell_line"] && m["drug"] == f["drug"])
                .unwrap();
            assert_eq!(m["run"], run);
            for (k, v) in f {
                assert_eq!(&m[k], v, "{k} of {} × {}", f["cell_line"], f["drug"]);
            }
        }
    }
    // Both batches number their plates from plate0001: the merged tables keep them apart.
    let wells = read_csv(&dir.join("merged/wells.csv"));
    let a_wells = read_csv(&dir.join("runs/A/wells.csv")).len();
    assert_eq!(wells.iter().filter(|w| w["run"] == "A").count(), a_wells);
    assert!(wells
        .iter()
        .any(|w| w["plate"] == "B/plate0001" && w["run"] == "B"));
    assert!(read_csv(&dir.join("merged/qc.csv"))
        .iter()
        .any(|w| w["plate"] == "A/plate0001" && w["run"] == "A"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("merged/run.json")).unwrap()).unwrap();
    let inputs: Vec<&str> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        [
            "runs/A/run.json",
            "runs/B/run.json",
            "A/lines.csv",
            "B/lines.csv"
        ]
    );
    assert_eq!(
        json["counts"]["shifts"]["cross_resistant"]
            .as_u64()
            .unwrap() as usize,
        merged
            .iter()
            .filter(|r| r["call"] == "cross_resistant")
            .count()
    );

    // The same library path as `collateral shift`: the merged fits and lines give the same rows.
    collateral()
        .args([
            "shift",
            "merged/fits.csv",
            "--lines",
            "merged/lines.csv",
            "-o",
            "shift",
        ])
        .current_dir(dir)
        .assert()
        .success();
    let again = read_csv(&dir.join("shift/shifts.csv"));
    assert_eq!(again.len(), merged.len());
    for (a, m) in again.iter().zip(&merged) {
        for (k, v) in a {
            assert_eq!(&m[k], v, "{k} of {:?}", shift_key(a));
        }
    }
    for f in ["matrix.csv", "calls.csv", "network.json", "cycles.csv"] {
        assert_eq!(
            std::fs::read(dir.join("shift").join(f)).unwrap(),
            std::fs::read(dir.join("merged").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn merging_one_run_reproduces_its_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = simulate(dir, "A", 5, 4);
    run(dir, &a, "runs/A");
    merge(dir, &["runs/A", "-o", "merged", "--no-figures"]).success();
    let own = read_csv(&dir.join("runs/A/shifts.csv"));
    let merged = read_csv(&dir.join("merged/shifts.csv"));
    assert_eq!(own.len(), merged.len());
    for (o, m) in own.iter().zip(&merged) {
        for (k, v) in o {
            assert_eq!(&m[k], v, "{k} of {:?}", shift_key(o));
        }
        assert_eq!((m["run"].as_str(), m["parental_run"].as_str()), ("A", "A"));
    }
    for f in [
        "matrix.csv",
        "calls.csv",
        "network.graphml",
        "network.dot",
        "network.json",
        "cycles.csv",
    ] {
        assert_eq!(
            std::fs::read(dir.join("runs/A").join(f)).unwrap(),
            std::fs::read(dir.join("merged").join(f)).unwrap(),
            "{f}"
        );
    }
}

/// The cells the merge decides on (a well's role and exclusion, a plate's verdict) are read as
/// what their columns hold: a malformed one is an error naming its file, line and column.
#[test]
fn a_malformed_cell_the_merge_decides_on_names_its_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = simulate(dir, "A", 1, 3);
    run(dir, &a, "runs/A");
    for (file, column, bad) in [
        ("wells.csv", "role", "sampel"),
        ("wells.csv", "excluded", "yes"),
        ("qc.csv", "verdict", "fine"),
    ] {
        let path = dir.join("runs/A").join(file);
        let original = std::fs::read(&path).unwrap();
        let mut first = true;
        rewrite_csv(&path, |h, v| {
            if h == column && std::mem::take(&mut first) {
                bad.to_string()
            } else {
                v.to_string()
            }
        });
        let out = merge(dir, &["runs/A", "-o", "m", "--no-figures"]).code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            err.contains(&format!("{file}:2")) && err.contains(&format!("`{column}` is `{bad}`")),
            "{file} with {column} = {bad}: {err}"
        );
        std::fs::write(&path, original).unwrap();
    }
    merge(dir, &["runs/A", "-o", "m", "--no-figures"]).success();
}

/// Two batches that both screened the parental line: week 2 rescreens it.
fn two_batches_sharing_the_parental_line(dir: &Path) {
    let a = simulate(dir, "week1", 1, 3);
    let b = simulate(dir, "week2", 2, 3);
    rename_lines(&dir.join("week2"), |l| {
        if l == "parental" {
            l.to_string()
        } else {
            format!("w2-{l}")
        }
    });
    run(dir, &a, "runs/week1");
    run(dir, &b, "runs/week2");
}

#[test]
fn the_same_fit_in_two_runs_is_an_error_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_batches_sharing_the_parental_line(dir);
    let out = merge(dir, &["runs/week1", "runs/week2", "-o", "merged"]).code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    for needle in [
        "`parental` × `drug01`",
        "run `week1` (runs/week1/fits.csv:",
        "run `week2` (runs/week2/fits.csv:",
        "--on-duplicate newest",
    ] {
        assert!(err.contains(needle), "{needle} not in: {err}");
    }
    assert!(
        !dir.join("merged").exists(),
        "a failed merge leaves no folder"
    );
}

#[test]
fn on_duplicate_newest_keeps_the_fit_of_the_run_that_started_last() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_batches_sharing_the_parental_line(dir);
    let parental_rows = |path: &Path| -> Vec<Row> {
        read_csv(path)
            .into_iter()
            .filter(|r| r["cell_line"] == "parental")
            .collect()
    };
    let check = |newest: &str, older: &str, out: &str| {
        merge(
            dir,
            &[
                "runs/week1",
                "runs/week2",
                "-o",
                out,
                "--on-duplicate",
                "newest",
            ],
        )
        .success();
        let kept = parental_rows(&dir.join(out).join("fits.csv"));
        let own = parental_rows(&dir.join("runs").join(newest).join("fits.csv"));
        assert_eq!(kept.len(), 4);
        for (k, o) in kept.iter().zip(&own) {
            assert_eq!(k["run"], newest);
            for (col, v) in o {
                assert_eq!(&k[col], v, "{col}");
            }
        }
        // Every resistant line of both weeks is compared with the kept parental fit.
        let shifts = read_csv(&dir.join(out).join("shifts.csv"));
        assert_eq!(shifts.len(), 16);
        assert!(shifts.iter().all(|s| s["parental_run"] == newest));
        // The older run's parental wells are marked, so the panels show the curve's points.
        let wells = read_csv(&dir.join(out).join("wells.csv"));
        let superseded: Vec<&Row> = wells
            .iter()
            .filter(|w| w["exclusion_reason"].starts_with("superseded"))
            .collect();
        assert!(!superseded.is_empty());
        assert!(superseded.iter().all(|w| w["run"] == older
            && w["cell_line"] == "parental"
            && w["role"] == "sample"
            && w["excluded"] == "true"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(out).join("run.json")).unwrap())
                .unwrap();
        assert_eq!(json["merge"]["duplicates"][0]["kept"], newest);
        assert_eq!(json["merge"]["duplicates"][0]["left_out"][0], older);
    };
    // week2 ran last.
    check("week2", "week1", "merged");
    // Now say week1 started later: the choice follows `started`, not the order of the folders.
    let path = dir.join("runs/week1/run.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["started"] = "2999-01-01T00:00:00.000Z".into();
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    check("week1", "week2", "merged-2");
    // A run without a time (older collateral) cannot be ordered.
    json.as_object_mut().unwrap().remove("started");
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let out = merge(
        dir,
        &[
            "runs/week1",
            "runs/week2",
            "-o",
            "merged-3",
            "--on-duplicate",
            "newest",
        ],
    )
    .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("runs/week1/run.json: has no `started` time"),
        "{err}"
    );
}

#[test]
fn a_resistant_line_is_compared_with_a_parental_line_of_another_run() {
    // Week 2 screened only new resistant lines; the project's one lines table names them all.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = simulate(dir, "week1", 1, 3);
    simulate(dir, "week2", 2, 3);
    let w2 = dir.join("week2");
    rename_lines(&w2, |l| {
        if l == "parental" {
            l.to_string()
        } else {
            format!("w2-{l}")
        }
    });
    // No parental wells in week 2, and no lines table (run would refuse a resistant line
    // without its parental line).
    let wells = std::fs::read_to_string(w2.join("wells.csv")).unwrap();
    let plate = |l: &str| l.split(',').next().unwrap_or_default().to_string();
    let parental_plates: Vec<String> = wells
        .lines()
        .filter(|l| l.contains(",parental,"))
        .map(plate)
        .collect();
    let kept: Vec<&str> = wells
        .lines()
        .filter(|l| !parental_plates.contains(&plate(l)))
        .collect();
    std::fs::write(w2.join("wells.csv"), kept.join("\n") + "\n").unwrap();
    let assay = std::fs::read_to_string(w2.join("assay.toml")).unwrap();
    let assay: String = assay
        .lines()
        .filter(|l| !l.starts_with("lines"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(w2.join("assay.toml"), assay).unwrap();
    let project_lines = std::fs::read_to_string(w2.join("lines.csv")).unwrap()
        + "resistant01,parental,drug01\nresistant02,parental,drug02\n";
    std::fs::write(dir.join("lines.csv"), project_lines).unwrap();
    run(dir, &a, "runs/week1");
    run(dir, Path::new("week2/assay.toml"), "runs/week2");

    // Without --lines, week 2's lines are not in any lines table: fitted, not compared.
    let out = merge(
        dir,
        &[
            "runs/week1",
            "runs/week2",
            "-o",
            "merged-own",
            "--no-figures",
        ],
    )
    .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("w2-resistant01, w2-resistant02 are fitted but not in the lines table"),
        "{err}"
    );

    let out = merge(
        dir,
        &[
            "runs/week1",
            "runs/week2",
            "-o",
            "merged",
            "--lines",
            "lines.csv",
        ],
    )
    .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(
            "8 of 16 shifts compare a resistant line with its parental line's fit from another run"
        ),
        "{err}"
    );
    let shifts = read_csv(&dir.join("merged/shifts.csv"));
    let week2: Vec<&Row> = shifts
        .iter()
        .filter(|s| s["resistant_line"].starts_with("w2-"))
        .collect();
    assert_eq!(week2.len(), 8);
    for s in &week2 {
        assert_eq!(
            (s["run"].as_str(), s["parental_run"].as_str()),
            ("week2", "week1")
        );
        assert!(!s["value_parental"].is_empty() && !s["value_resistant"].is_empty());
    }
    assert!(dir.join("merged/report.html").exists());
}

#[test]
fn different_shift_settings_are_an_error_unless_a_flag_chooses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = simulate(dir, "A", 1, 3);
    let b = simulate(dir, "B", 2, 3);
    rename_lines(&dir.join("B"), |l| format!("b-{l}"));
    let toml = dir.join("B/assay.toml");
    let text = std::fs::read_to_string(&toml).unwrap() + "\n[shift]\ntau = 2\n";
    std::fs::write(&toml, text).unwrap();
    run(dir, &a, "runs/A");
    run(dir, &b, "runs/B");
    let out = merge(dir, &["runs/A", "runs/B", "-o", "merged"]).code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    for needle in ["`settings.shift.tau` is 2.0 in run `B` (runs/B/run.json) but 1.0 in run `A` (runs/A/run.json)", "--tau"] {
        assert!(err.contains(needle), "{needle} not in: {err}");
    }
    merge(
        dir,
        &[
            "runs/A",
            "runs/B",
            "-o",
            "merged",
            "--tau",
            "1.5",
            "--no-figures",
        ],
    )
    .success();
    let shifts = read_csv(&dir.join("merged/shifts.csv"));
    assert!(shifts.iter().all(|s| s["tau"] == "1.5"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("merged/run.json")).unwrap()).unwrap();
    assert_eq!(json["settings"]["shift"]["tau"], 1.5);
}

#[test]
fn the_merged_folder_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_batches(dir);
    merge(dir, &["runs/A", "runs/B", "-o", "merged", "--no-figures"]).success();
    assert!(!dir.join("merged/report.html").exists());
    collateral()
        .args(["plot", "merged"])
        .current_dir(dir)
        .assert()
        .success();
    let m = dir.join("merged");
    let html = std::fs::read_to_string(m.join("report.html")).unwrap();
    assert!(html.contains("merge of A, B"));
    for line in [
        "resistant01",
        "resistant02",
        "b-resistant01",
        "b-resistant02",
        "b-resistant03",
    ] {
        assert!(
            m.join(format!("plots/dose_response/{line}.svg")).exists(),
            "{line}"
        );
        assert!(html.contains(line), "{line} not in the report");
    }
    assert!(m.join("plots/heatmap.svg").exists());
    // Plate maps of both batches, kept apart.
    assert!(m.join("plots/plates/A_plate0001.svg").exists());
    assert!(m.join("plots/plates/B_plate0001.svg").exists());
    // plot added its files to the merge's manifest.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(m.join("run.json")).unwrap()).unwrap();
    let manifest: Vec<&str> = json["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(manifest.contains(&"report.html") && manifest.contains(&"wells.csv"));
}

#[test]
fn merge_refuses_what_it_cannot_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = simulate(dir, "A", 1, 3);
    run(dir, &a, "runs/A");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let fails = |args: &[&str], needle: &str| {
        let out = merge(dir, args).code(1);
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(err.contains(needle), "{args:?}: {needle} not in: {err}");
    };
    fails(&["empty", "-o", "m"], "empty/run.json: is missing");
    fails(&["runs/A", "runs/A", "-o", "m"], "is named twice");
    fails(
        &["runs/A", "-o", "runs/A"],
        "one of the folders being merged",
    );
    merge(dir, &["runs/A", "-o", "merged", "--no-figures"]).success();
    fails(
        &["merged", "-o", "m"],
        "is the output of `collateral merge`",
    );
    // Relative paths in run.json are relative to where the run started.
    let out = collateral()
        .arg("merge")
        .arg(dir.join("runs/A"))
        .arg("-o")
        .arg(dir.join("m"))
        .current_dir(dir.join("runs"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("names the assay file `A/assay.toml`, which is not found from here"),
        "{err}"
    );
    assert!(err.contains("--lines"), "{err}");
    let out = merge(dir, &["runs/A", "-o", "m", "--on-duplicate", "oldest"]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("expected newest or error"), "{err}");
    let mut bad = serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(dir.join("runs/A/run.json")).unwrap(),
    )
    .unwrap();
    bad["started"] = "yesterday".into();
    std::fs::write(dir.join("runs/A/run.json"), bad.to_string()).unwrap();
    fails(
        &["runs/A", "-o", "m"],
        "runs/A/run.json: `started` is \"yesterday\"",
    );
    assert!(!dir.join("m").exists());
}

/// Every table a merge writes but the lines table (the user's, copied) reads through its row
/// type, provenance columns included, and writes again to the merge's bytes.
#[test]
fn every_merged_table_reads_through_its_row_type() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    two_batches(dir);
    merge(dir, &["runs/A", "runs/B", "-o", "merged", "--no-figures"]).success();
    let mut read = 0;
    for entry in std::fs::read_dir(dir.join("merged")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".csv") || name == "lines.csv" {
            continue;
        }
        let typed = collateral::frame::read_typed(&path)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} reads through its row type"));
        assert_eq!(
            String::from_utf8(typed.bytes).unwrap(),
            std::fs::read_to_string(&path).unwrap(),
            "{name}"
        );
        let run = typed.frame.iter().find(|(n, _)| n == "run");
        if ["fits.csv", "qc.csv", "shifts.csv", "wells.csv"].contains(&name.as_str()) {
            assert!(
                matches!(run, Some((_, collateral::frame::Column::Text(_)))),
                "{name}: the run column, as text"
            );
        }
        read += 1;
    }
    assert!(read >= 8, "{read} tables");
}
