//! `collateral plan` and `[plan]`: therapy sequences scored from the lineages selected with each
//! drug, on simulated screens whose truth fixes the best sequence.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::common::{collateral, num, read_csv, root};

/// A screen whose CS probabilities are planted along a chain (drug01 → drug02 → drug03 strong),
/// run; returns (screen, run folder).
fn chain_screen(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let screen = dir.join(format!("screen{seed}"));
    let out = dir.join(format!("run{seed}"));
    collateral()
        .args(["simulate", "--quiet", "--cs-chain", "-o"])
        .arg(&screen)
        .args(["--seed", &seed.to_string(), "--lines", "5", "--drugs", "4"])
        .args(["--lineages", "40", "--replicates", "1"])
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

/// The truly best sequence of three drugs by the simulation's truth: each step's expected log2
/// fold change is P(CS)·(−2.75) + P(CR)·2.25 (the means of the simulated effect sizes), and a
/// drug whose parental curve never crosses 0.5 has no IC50, so no step into it can be scored.
fn truth_best(screen: &Path) -> (String, f64, BTreeSet<String>) {
    let step: HashMap<(String, String), f64> = read_csv(&screen.join("truth_likelihood.csv"))
        .into_iter()
        .map(|r| {
            (
                (r["selected_with"].clone(), r["drug"].clone()),
                num(&r, "cs_probability") * -2.75 + num(&r, "cr_probability") * 2.25,
            )
        })
        .collect();
    let no_ic50: BTreeSet<String> = read_csv(&screen.join("truth_curves.csv"))
        .into_iter()
        .filter(|r| r["cell_line"] == "parental" && r["abs_ic50"].is_empty())
        .map(|r| r["drug"].clone())
        .collect();
    let drugs: Vec<String> = (1..=4).map(|d| format!("drug{d:02}")).collect();
    let mut scored: Vec<(f64, String)> = Vec::new();
    for a in &drugs {
        for b in &drugs {
            for c in &drugs {
                if a == b || b == c || a == c || no_ic50.contains(b) || no_ic50.contains(c) {
                    continue;
                }
                let value = (step[&(a.clone(), b.clone())] + step[&(b.clone(), c.clone())]) / 2.0;
                scored.push((value, format!("{a} -> {b} -> {c}")));
            }
        }
    }
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    (scored[0].1.clone(), scored[1].0 - scored[0].0, no_ic50)
}

#[test]
fn the_known_best_sequence_ranks_first_and_gaps_are_never_filled() {
    let dir = tempfile::tempdir().unwrap();
    for seed in [1, 2, 3, 11] {
        let (screen, run) = chain_screen(dir.path(), seed);
        let (best, margin, no_ic50) = truth_best(&screen);
        assert!(
            margin > 0.5,
            "seed {seed}: the truth separates the best by {margin}"
        );
        let out = dir.path().join(format!("plan{seed}"));
        collateral()
            .args(["plan", "--quiet", "-o"])
            .arg(&out)
            .arg(&run)
            .assert()
            .success();
        let plan = read_csv(&out.join("plan.csv"));
        assert_eq!(plan[0]["rank"], "1");
        assert_eq!(plan[0]["sequence"], best, "seed {seed}");
        assert!(num(&plan[0], "expected_ci_low") <= num(&plan[0], "expected_log2_fc"));
        assert!(num(&plan[0], "expected_log2_fc") <= num(&plan[0], "expected_ci_high"));
        assert_eq!(plan[0]["support"], "40");
        // Steps are scored only from lineages with data; a sequence with a step that has none
        // is listed without scores and says which step. A drug whose parental curve never
        // halves viability leaves most lineages without an IC50: its steps rest on few.
        for row in &plan {
            if row["scorable"] == "true" {
                assert!(!row["expected_log2_fc"].is_empty());
                let drugs: Vec<&str> = row["sequence"].split(" -> ").collect();
                if drugs[1..].iter().any(|d| no_ic50.contains(*d)) {
                    assert!(num(row, "support") < 40.0, "seed {seed}: {row:?}");
                }
            } else {
                assert!(row["rank"].is_empty() && row["expected_log2_fc"].is_empty());
                assert!(row["reason"].starts_with("step "), "{row:?}");
            }
        }
        let words = std::fs::read_to_string(out.join("plan.md")).unwrap();
        assert!(words.contains(&format!("the best is {best}")), "{words}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(json["command"], "plan");
        assert_eq!(
            json["manifest"],
            serde_json::json!([
                "plan.csv",
                "plan.md",
                "plots/plan.svg",
                "policy.csv",
                "run.json"
            ])
        );
    }
}

#[test]
fn plan_in_the_assay_joins_the_run_and_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen");
    collateral()
        .args(["simulate", "--quiet", "--cs-chain", "-o"])
        .arg(&screen)
        .args(["--seed", "4", "--lines", "4", "--drugs", "3"])
        .args(["--lineages", "6", "--replicates", "1"])
        .assert()
        .success();
    let assay = screen.join("assay.toml");
    let text = std::fs::read_to_string(&assay).unwrap();
    std::fs::write(
        &assay,
        format!("{text}\n[plan]\nlength = 2\ncycles = true\n"),
    )
    .unwrap();
    let out = dir.path().join("run");
    collateral()
        .args(["run", "--quiet", "--xlsx"])
        .arg(&assay)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let plan = read_csv(&out.join("plan.csv"));
    let first = &plan[0]["sequence"];
    let drugs: Vec<&str> = first.split(" -> ").collect();
    assert_eq!((drugs.len(), drugs[0]), (3, drugs[2]), "a cycle: {first}");
    assert_eq!(plan[0]["length"], "2");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<h2 id=\"plan\">Therapy sequences</h2>"));
    assert!(report.contains("id=\"plan-table\""));
    assert!(out.join("plots/plan.svg").is_file());
    // The bench sees the plan in the workbook too.
    use calamine::Reader;
    let wb = calamine::open_workbook_auto(out.join("results.xlsx")).unwrap();
    let sheets = wb.sheet_names();
    assert!(
        ["Likelihood", "Stability", "Plan"]
            .iter()
            .all(|s| sheets.contains(&s.to_string())),
        "{sheets:?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["settings"]["plan"]["length"], 2);
    let manifest = json["manifest"].as_array().unwrap();
    assert!(manifest.iter().any(|m| m == "plan.csv") && manifest.iter().any(|m| m == "plan.md"));

    // Planning again into the run's own folder adds to it (and to its manifest).
    collateral()
        .args(["plan", "--quiet", "--length", "3", "-o"])
        .arg(&out)
        .arg(&out)
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        json["command"],
        serde_json::Value::Null,
        "still the run's run.json"
    );
    assert!(json["manifest"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "plots/plan.svg"));
    assert_eq!(read_csv(&out.join("plan.csv"))[0]["length"], "3");

    // The figure and the report read plan.csv through its row type: a malformed score is an
    // error naming the file, line and column, not a gap in the figure.
    let path = out.join("plan.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = lines[0]
        .split(',')
        .position(|c| c == "expected_log2_fc")
        .unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[at] = "lots".into();
    lines[1] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let failed = collateral().arg("plot").arg(&out).assert().failure();
    let err = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(
        err.contains("plan.csv:2") && err.contains("`expected_log2_fc` is `lots`"),
        "{err}"
    );
}

#[test]
fn plan_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let run = crate::common::run_bundled("assays/dhawan2017/assay.toml");
    let out = collateral()
        .args(["plan", "--start", "Crizotnib", "-o"])
        .arg(dir.path().join("p"))
        .arg(run.path())
        .current_dir(root())
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("--start Crizotnib: no such drug in the run (did you mean `Crizotinib`?)"),
        "{err}"
    );
    let out = collateral()
        .args(["plan", "--length", "9", "-o"])
        .arg(dir.path().join("p"))
        .arg(run.path())
        .current_dir(root())
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("`plan.length = 9`: expected 2 to 6 drugs"),
        "{err}"
    );
    // A `collateral shift` folder has no run.json: the lines table must be given.
    let shift_dir = dir.path().join("shift");
    collateral()
        .args(["shift", "--quiet", "-o"])
        .arg(&shift_dir)
        .arg(run.path().join("fits.csv"))
        .arg("--lines")
        .arg(root().join("assays/dhawan2017/lines.csv"))
        .assert()
        .success();
    let out = collateral()
        .args(["plan", "-o"])
        .arg(dir.path().join("p"))
        .arg(&shift_dir)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("give the lines table with --lines"), "{err}");
    collateral()
        .args(["plan", "--quiet", "--cycles", "-o"])
        .arg(dir.path().join("p"))
        .arg(&shift_dir)
        .arg("--lines")
        .arg(root().join("assays/dhawan2017/lines.csv"))
        .assert()
        .success();
    assert!(dir.path().join("p/plan.csv").is_file());
    assert!(!dir.path().join("p/.collateral-lock").exists());
}

#[test]
fn dhawan_2017_planned_cycles_are_cycles_of_the_published_network() {
    let run = crate::common::run_bundled("assays/dhawan2017/assay.toml");
    let dir = tempfile::tempdir().unwrap();
    collateral()
        .args([
            "plan", "--quiet", "--cycles", "--length", "2", "--top", "100", "-o",
        ])
        .arg(dir.path())
        .arg(run.path())
        .current_dir(root())
        .assert()
        .success();
    // The published matrix G (count_cycles.py; node labels inferred, see the assay's
    // SOURCE.md): G[target][source] = 1 when resistance to source made target more potent.
    let text = std::fs::read_to_string(
        root().join("assays/dhawan2017/raw/cs_network_adjacency_countcycles.csv"),
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(',').collect())
        .collect();
    let sources = &rows[0][1..];
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for row in &rows[1..] {
        for (source, cell) in sources.iter().zip(&row[1..]) {
            if *cell == "1" {
                edges.insert((source.to_string(), row[0].to_string()));
            }
        }
    }
    let in_g = |sequence: &str| {
        let drugs: Vec<&str> = sequence.split(" -> ").collect();
        drugs
            .windows(2)
            .all(|w| edges.contains(&(w[0].to_string(), w[1].to_string())))
    };
    let plan: Vec<HashMap<String, String>> = read_csv(&dir.path().join("plan.csv"))
        .into_iter()
        .filter(|r| r["scorable"] == "true")
        .collect();
    // The three best 2-cycles are cycles of their network.
    for row in &plan[..3] {
        assert!(in_g(&row["sequence"]), "{row:?}");
    }
    // Every planned 2-cycle whose every step lowers the EC50 is one of theirs.
    let lowering: Vec<&HashMap<String, String>> = plan
        .iter()
        .filter(|r| num(r, "worst_log2_fc") < 0.0)
        .collect();
    assert!(lowering.len() >= 5, "{}", lowering.len());
    assert!(lowering.iter().all(|r| in_g(&r["sequence"])));
}

#[test]
fn timed_lineages_get_a_switch_time_policy() {
    let dir = tempfile::tempdir().unwrap();
    let screen = dir.path().join("screen");
    collateral()
        .args(["simulate", "--quiet", "-o"])
        .arg(&screen)
        .args(["--seed", "8", "--lines", "4", "--drugs", "4"])
        .args([
            "--lineages",
            "6",
            "--evolution-times",
            "3",
            "--replicates",
            "1",
        ])
        .assert()
        .success();
    let run = dir.path().join("run");
    collateral()
        .args(["run", "--quiet", "--no-figures"])
        .arg(screen.join("assay.toml"))
        .arg("-o")
        .arg(&run)
        .assert()
        .success();
    let out = dir.path().join("plan");
    collateral()
        .args(["plan", "--quiet", "-o"])
        .arg(&out)
        .arg(&run)
        .assert()
        .success();
    let policy = read_csv(&out.join("policy.csv"));
    // 3 selecting drugs × 3 times × 2 switches (length 3), where a plan exists.
    assert!(!policy.is_empty() && policy.len() <= 18, "{}", policy.len());
    let at = |h: &str, d: &str, t: &str| {
        policy
            .iter()
            .find(|r| r["switches_left"] == h && r["drug"] == d && r["time"] == t)
    };
    for r in &policy {
        assert!(
            !r["next_drug"].is_empty() && r["next_drug"] != r["drug"],
            "{r:?}"
        );
        assert!(num(r, "switch_time") >= num(r, "time"));
        if r["switches_left"] == "1" {
            // One switch left: its value is its benefit.
            assert_eq!(num(r, "value"), -num(r, "switch_log2_fc"));
        } else {
            // Then the next drug's plan from its first day.
            let rest = at("1", &r["next_drug"], "1").expect("the next drug has a plan");
            let want = -num(r, "switch_log2_fc") + num(rest, "value");
            assert!((num(r, "value") - want).abs() < 1e-12, "{r:?}");
        }
        // Waiting is consistent: the state switched at has the same plan.
        if r["switch_time"] != r["time"] {
            let later = at(&r["switches_left"], &r["drug"], &r["switch_time"]).unwrap();
            assert_eq!(later["next_drug"], r["next_drug"]);
            assert_eq!(later["value"], r["value"]);
        }
    }
    let words = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(words.contains("Switch-time policy (policy.csv"), "{words}");
}
