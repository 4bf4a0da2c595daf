//! Batches (issue 19, item 3): a `batch` column in the wells table fits a curve per line ×
//! batch × drug and compares each resistant line with its parental line within batches (paired
//! t-test over the batches); without it, the batches are pooled.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{collateral, num, read_csv};

/// The log2 factor by which batch `b` misstates drug `d`'s concentrations (a day's stock
/// diluted wrongly): −1.5 to +1.5 in half steps, the same for every line of the batch.
fn batch_offset(b: usize, d: usize) -> f64 {
    ((b * 5 + d * 3 + b * d) % 7) as f64 / 2.0 - 1.5
}

/// A simulated screen (6 lines × 12 drugs, four plate replicates) whose replicate `r` was
/// measured in batch `dayr`: the concentrations written for batch b and drug d are the true
/// ones × 2^offset, so every IC50 of that batch and drug reads 2^offset × its truth. The
/// parental line is measured in every batch, each resistant line in three of the four (line i
/// misses batch i mod 4 + 1), as when lines are split over days: pooling then compares a
/// line's three batches with its parent's four. With `batch_column` false the same wells are
/// written without the `batch` column.
pub(crate) fn screen_with_batches(dir: &Path, seed: u64, batch_column: bool) {
    collateral()
        .args([
            "simulate",
            "--lines",
            "6",
            "--drugs",
            "12",
            "--replicates",
            "4",
        ])
        .args(["-q", "--seed"])
        .arg(seed.to_string())
        .arg("-o")
        .arg(dir)
        .assert()
        .success();
    let wells = std::fs::read_to_string(dir.join("wells.csv")).unwrap();
    let mut lines = wells.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (c_drug, c_conc, c_rep) = (col("drug"), col("concentration"), col("replicate"));
    let c_line = col("cell_line");
    let mut out = header.join(",");
    if batch_column {
        out += ",batch";
    }
    out += "\n";
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    // The plates of each resistant line's missing batch go, controls and all.
    let c_plate = col("plate");
    let missing: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|cells| {
            let b: usize = cells[c_rep].parse().unwrap();
            cells[c_line]
                .strip_prefix("resistant")
                .is_some_and(|i| b == i.parse::<usize>().unwrap() % 4 + 1)
        })
        .map(|cells| cells[c_plate].as_str())
        .collect();
    for cells in &rows {
        if missing.contains(cells[c_plate].as_str()) {
            continue;
        }
        let mut cells = cells.clone();
        let b: usize = cells[c_rep].parse().unwrap();
        if let Ok(c) = cells[c_conc].parse::<f64>() {
            let d: usize = cells[c_drug].trim_start_matches("drug").parse().unwrap();
            cells[c_conc] = (c * batch_offset(b, d).exp2()).to_string();
        }
        if batch_column {
            cells.push(format!("day{b}"));
        }
        out += &cells.join(",");
        out += "\n";
    }
    std::fs::write(dir.join("wells.csv"), out).unwrap();
}

/// Calls against the truth: (clear shifts |true log2_fc| ≥ 1 called right, of them; null
/// pairs |true log2_fc| ≤ 0.25 called, of them; |log2_fc − truth| of the rows with a value).
fn score(dir: &Path, shifts: &Path) -> (usize, usize, usize, usize, Vec<f64>) {
    let truth: HashMap<(String, String), HashMap<String, String>> =
        read_csv(&dir.join("truth_curves.csv"))
            .into_iter()
            .map(|r| ((r["cell_line"].clone(), r["drug"].clone()), r))
            .collect();
    let (mut clear, mut right, mut null, mut called, mut errors) = (0, 0, 0, 0, Vec::new());
    for s in read_csv(shifts) {
        let t = &truth[&(s["resistant_line"].clone(), s["drug"].clone())];
        if t["true_log2_fc"].is_empty() || t["abs_ic50"].is_empty() {
            continue;
        }
        let fc = num(t, "true_log2_fc");
        if s["log2_fc_qualifier"] == "=" {
            errors.push((num(&s, "log2_fc") - fc).abs());
        }
        let is_called = s["call"] == "cross_resistant" || s["call"] == "collateral_sensitive";
        if fc.abs() >= 1.0 {
            clear += 1;
            let want = if fc > 0.0 {
                "cross_resistant"
            } else {
                "collateral_sensitive"
            };
            right += usize::from(s["call"] == want);
        } else if fc.abs() <= 0.25 {
            null += 1;
            called += usize::from(is_called);
        }
    }
    (right, clear, called, null, errors)
}

fn run(dir: &Path, out: &Path) {
    collateral()
        .arg("run")
        .arg(dir.join("assay.toml"))
        .arg("-o")
        .arg(out)
        .arg("-q")
        .assert()
        .success();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn batches_in_the_wells_table_are_paired_and_recover_the_truth() {
    let (mut paired, mut pooled) = ((0, 0, 0, 0, Vec::new()), (0, 0, 0, 0, Vec::new()));
    for seed in [7, 8] {
        for (batch_column, total) in [(true, &mut paired), (false, &mut pooled)] {
            let dir = tempfile::tempdir().unwrap();
            screen_with_batches(dir.path(), seed, batch_column);
            let out = dir.path().join("out");
            run(dir.path(), &out);
            let run_json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
            let shifts = &run_json["counts"]["shifts"];
            if batch_column {
                let n = shifts["batch_paired"].as_u64().unwrap();
                assert_eq!(n as usize, read_csv(&out.join("shifts.csv")).len());
                // A curve per line, batch and drug, and the batch in its own column.
                let by_batch = read_csv(&out.join("fits_by_batch.csv"));
                assert_eq!(by_batch.len(), 12 * (4 + 5 * 3));
                assert!(by_batch.iter().all(|r| r["batch"].starts_with("day")));
                // `collateral shift` on the per-batch fits pairs the same way.
                let again = dir.path().join("again");
                collateral()
                    .arg("shift")
                    .arg(out.join("fits_by_batch.csv"))
                    .arg("--lines")
                    .arg(dir.path().join("lines.csv"))
                    .arg("-o")
                    .arg(&again)
                    .arg("-q")
                    .assert()
                    .success();
                let calls = |p: &Path| -> Vec<(String, String, String)> {
                    read_csv(p)
                        .into_iter()
                        .map(|r| {
                            (
                                r["resistant_line"].clone(),
                                r["drug"].clone(),
                                r["call"].clone(),
                            )
                        })
                        .collect()
                };
                assert_eq!(
                    calls(&again.join("shifts.csv")),
                    calls(&out.join("shifts.csv"))
                );
            } else {
                assert!(shifts.get("batch_paired").is_none(), "{shifts}");
                assert!(!out.join("fits_by_batch.csv").exists());
            }
            let s = score(dir.path(), &out.join("shifts.csv"));
            total.0 += s.0;
            total.1 += s.1;
            total.2 += s.2;
            total.3 += s.3;
            total.4.extend(s.4);
        }
    }
    let (right, clear, called, null, errors) = paired;
    let err = median(errors);
    let (p_right, p_clear, p_called, p_null, p_errors) = pooled;
    let p_err = median(p_errors);
    eprintln!(
        "paired: {right}/{clear} clear shifts right, {called}/{null} nulls called, median |err| {err:.3}; pooled: {p_right}/{p_clear}, {p_called}/{p_null}, {p_err:.3}"
    );
    assert!(
        clear >= 40 && right as f64 >= 0.8 * clear as f64,
        "{right}/{clear}"
    );
    assert!(
        null >= 20 && called as f64 <= 0.05 * null as f64,
        "{called}/{null}"
    );
    // Measured when written (seeds 7 and 8): paired 48/48 clear shifts right, 0/67 nulls
    // called, median |log2_fc − truth| 0.095; pooled 48/48, 0/67, 0.216 (each resistant line's
    // three batches against its parent's four: the batch offsets do not cancel).
    assert!(right >= p_right, "paired {right} vs pooled {p_right}");
    assert!(err < 0.6 * p_err, "paired {err} vs pooled {p_err}");
}

/// Merging a run whose wells name batches keeps its pairing: the merged `shifts.csv` is the
/// run's own, cell for cell (before, the merge compared the pooled fits and 55 of 60 log2
/// fold changes differed), and the merged folder has the run's `fits_by_batch.csv` rows.
#[test]
fn merging_a_batched_run_keeps_its_batch_pairing() {
    let dir = tempfile::tempdir().unwrap();
    screen_with_batches(dir.path(), 7, true);
    let out = dir.path().join("out");
    run(dir.path(), &out);
    let merged = dir.path().join("merged");
    collateral()
        .arg("merge")
        .arg(&out)
        .arg("-o")
        .arg(&merged)
        .args(["-q", "--no-figures"])
        .assert()
        .success();
    let own = read_csv(&out.join("shifts.csv"));
    let again = read_csv(&merged.join("shifts.csv"));
    assert_eq!(own.len(), again.len());
    for (a, b) in own.iter().zip(&again) {
        for (column, value) in a {
            assert_eq!(
                &b[column], value,
                "{column} of {} × {}",
                a["resistant_line"], a["drug"]
            );
        }
    }
    // And counts its batch-paired rows as the run does.
    let counts = |dir: &Path| -> serde_json::Value {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        json["counts"]["shifts"]["batch_paired"].clone()
    };
    assert_eq!(counts(&merged), counts(&out));
    assert_eq!(counts(&out).as_u64(), Some(own.len() as u64));
    let by_batch = read_csv(&out.join("fits_by_batch.csv"));
    let merged_by_batch = read_csv(&merged.join("fits_by_batch.csv"));
    assert_eq!(by_batch.len(), merged_by_batch.len());
    assert!(merged_by_batch.iter().all(|r| r["run"] == "out"));
}

/// `collateral shift` on a fits table of replicate rows only: the shifts do not depend on the
/// order of the rows (before, each resistant replicate was compared with the first parental
/// row in file order: putting the parental row 4 first turned a log2 FC of 3 into 2, and no
/// row had a standard error, so every row was `undetermined`).
#[test]
fn a_replicate_only_fits_table_gives_the_same_shifts_in_any_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let lines = crate::common::write(
        dir.path(),
        "lines.csv",
        "cell_line,parental_line,selected_with\nP,,\nR,P,x\nS,P,x\n",
    );
    let rows = [
        "P,d1,1,2",
        "P,d1,2,1",
        "P,d1,3,4",
        "R,d1,1,16",
        "R,d1,2,8",
        "R,d1,3,32",
        "S,d1,1,2.2",
        "S,d1,2,1.9",
        "S,d1,3,2.1",
        "P,d2,1,10",
        "P,d2,2,12",
        "R,d2,1,1.1",
        "R,d2,2,1.3",
        "S,d2,1,11",
        "S,d2,2,9",
    ];
    let shifted = |order: &[usize], name: &str| -> Vec<u8> {
        let mut text = "cell_line,drug,replicate,ic50\n".to_string();
        for &i in order {
            text += rows[i];
            text += "\n";
        }
        let fits = crate::common::write(dir.path(), &format!("{name}.csv"), &text);
        let out = dir.path().join(name);
        collateral()
            .arg("shift")
            .arg(&fits)
            .arg("--lines")
            .arg(&lines)
            .arg("-o")
            .arg(&out)
            .arg("-q")
            .assert()
            .success();
        std::fs::read(out.join("shifts.csv")).unwrap()
    };
    let forward: Vec<usize> = (0..rows.len()).collect();
    let first = shifted(&forward, "forward");
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    assert_eq!(shifted(&backward, "backward"), first);
    // Parental row 4 first, then interleaved.
    let moved = [2, 14, 0, 5, 1, 9, 3, 12, 4, 6, 13, 7, 10, 8, 11];
    assert_eq!(shifted(&moved, "moved"), first);
    let table = read_csv(&dir.path().join("forward/shifts.csv"));
    assert_eq!(
        table.len(),
        4,
        "one row per resistant line × drug: {table:?}"
    );
    let r_d1 = table
        .iter()
        .find(|s| s["resistant_line"] == "R" && s["drug"] == "d1")
        .unwrap();
    assert!((num(r_d1, "log2_fc") - 3.0).abs() < 1e-12, "{r_d1:?}");
    assert_eq!(r_d1["call"], "cross_resistant", "{r_d1:?}");
    assert!(
        r_d1["reason"].contains("mean log10 of 3 replicates"),
        "{r_d1:?}"
    );
    let s_d1 = table
        .iter()
        .find(|s| s["resistant_line"] == "S" && s["drug"] == "d1")
        .unwrap();
    assert_eq!(s_d1["call"], "neutral", "{s_d1:?}");
}
