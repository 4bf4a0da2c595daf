//! A run's own evidence beyond `collateral run` (issue 23): `collateral shift --evidence
//! --drug-aliases --no-bundled-evidence`, `collateral merge` marking the merged shifts with its
//! runs' evidence, and a user's evidence file that is missing (an error on the assay line
//! that names it; a warning when a report is drawn again without it).

use std::path::{Path, PathBuf};

use crate::common::{collateral, read_csv, write};

/// A lab's own tables: two compounds the bundled names do not know, and a collateral
/// sensitivity from one to the other; the screen names them `drug01` and `drug02` through an
/// alias table.
fn lab_tables(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let names = write(
        dir,
        "lab_names.csv",
        "canonical,name,kind\ncompound-1,compound-1,generic\ncompound-2,compound-2,generic\n",
    );
    let relations = write(
        dir,
        "lab_relations.csv",
        "previous_agent,subsequent_agent,relation,bidirectional,cancer_type,evidence_type,mechanism,reference\n\
         compound-1,compound-2,collateral_sensitivity,false,test model,in_vitro,,\"Our lab, notebook 12 [7]\"\n",
    );
    let aliases = write(
        dir,
        "lab_aliases.csv",
        "alias,drug\ndrug01,compound-1\ndrug02,compound-2\n",
    );
    (names, relations, aliases)
}

/// A small simulated screen in `dir` (4 lines × 3 drugs; resistant01 selected with drug01).
fn screen(dir: &Path, seed: u64) {
    collateral()
        .args([
            "simulate",
            "--lines",
            "4",
            "--drugs",
            "3",
            "--replicates",
            "2",
            "-q",
        ])
        .args(["--seed", &seed.to_string(), "-o"])
        .arg(dir)
        .assert()
        .success();
}

/// The `evidence` cell of resistant01 against drug02.
fn marked(shifts: &Path) -> String {
    read_csv(shifts)
        .into_iter()
        .find(|s| s["resistant_line"] == "resistant01" && s["drug"] == "drug02")
        .map(|s| s["evidence"].clone())
        .expect("a resistant01/drug02 row")
}

const MARK: &str = "collateral_sensitivity: Our lab, notebook 12 [7]";

#[test]
fn shift_marks_its_shifts_with_the_users_evidence_files_and_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    screen(d, 11);
    let (names, relations, aliases) = lab_tables(d);
    collateral()
        .arg("run")
        .arg(d.join("assay.toml"))
        .args(["--no-figures", "-q", "-o"])
        .arg(d.join("run"))
        .assert()
        .success();
    let shift = |out: &str, extra: &[&std::ffi::OsStr]| {
        collateral()
            .arg("shift")
            .arg(d.join("run/fits.csv"))
            .arg("--lines")
            .arg(d.join("lines.csv"))
            .args(extra)
            .arg("-o")
            .arg(d.join(out))
            .assert()
            .success();
        marked(&d.join(out).join("shifts.csv"))
    };
    let (n, r, a) = (
        names.as_os_str(),
        relations.as_os_str(),
        aliases.as_os_str(),
    );
    let ev = std::ffi::OsStr::new("--evidence");
    let al = std::ffi::OsStr::new("--drug-aliases");
    // Without the lab's tables nothing is reported for the pair; with them (and its names
    // for the compounds) it is, with the bundled tables or without them.
    assert_eq!(shift("plain", &[]), "");
    assert_eq!(shift("lab", &[ev, n, ev, r, al, a]), MARK);
    let only = std::ffi::OsStr::new("--no-bundled-evidence");
    assert_eq!(shift("only", &[ev, n, ev, r, al, a, only]), MARK);
    // The aliases are what connect the screen's names to the tables.
    assert_eq!(shift("no_aliases", &[ev, n, ev, r]), "");
    // A missing file is an error naming it.
    let gone = d.join("gone.csv");
    let out = collateral()
        .arg("shift")
        .arg(d.join("run/fits.csv"))
        .arg("--lines")
        .arg(d.join("lines.csv"))
        .arg("--evidence")
        .arg(&gone)
        .arg("-o")
        .arg(d.join("never"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains(&gone.display().to_string()), "{err}");
}

/// Appends the lab's evidence settings to a simulated assay (its keys are all top-level, so
/// `drug_aliases` may follow them).
fn with_lab_evidence(dir: &Path, aliases: &str) {
    let assay = std::fs::read_to_string(dir.join("assay.toml")).unwrap()
        + &format!(
            "drug_aliases = \"{aliases}\"\n\n[evidence]\nfiles = [\"lab_names.csv\", \"lab_relations.csv\"]\n"
        );
    std::fs::write(dir.join("assay.toml"), assay).unwrap();
}

#[test]
fn merge_keeps_the_runs_own_evidence_and_refuses_runs_that_disagree_on_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two batches of one screen, run with the lab's evidence.
    for (batch, seed) in [("week1", 12), ("week2", 13)] {
        let b = d.join(batch);
        screen(&b, seed);
        lab_tables(&b);
        with_lab_evidence(&b, "lab_aliases.csv");
        collateral()
            .arg("run")
            .arg(b.join("assay.toml"))
            .args(["--no-figures", "-q", "-o"])
            .arg(d.join(format!("run_{batch}")))
            .assert()
            .success();
        assert_eq!(marked(&d.join(format!("run_{batch}/shifts.csv"))), MARK);
    }
    collateral()
        .arg("merge")
        .arg(d.join("run_week1"))
        .arg(d.join("run_week2"))
        .args(["--on-duplicate", "newest", "--no-figures", "-q", "-o"])
        .arg(d.join("merged"))
        .assert()
        .success();
    assert_eq!(marked(&d.join("merged/shifts.csv")), MARK);
    // The merged run.json records the evidence it marked with, as a run does.
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("merged/run.json")).unwrap()).unwrap();
    assert_eq!(
        run["settings"]["evidence"]["drug_aliases"]["drug01"],
        "compound-1"
    );
    assert_eq!(
        run["settings"]["evidence"]["files"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "each run's two files, each once: {run}"
    );

    // A third batch naming drug02 otherwise: refused, naming both runs.
    let b = d.join("week3");
    screen(&b, 14);
    lab_tables(&b);
    write(
        &b,
        "other_aliases.csv",
        "alias,drug\ndrug01,compound-1\ndrug02,compound-1\n",
    );
    with_lab_evidence(&b, "other_aliases.csv");
    collateral()
        .arg("run")
        .arg(b.join("assay.toml"))
        .args(["--no-figures", "-q", "-o"])
        .arg(d.join("run_week3"))
        .assert()
        .success();
    let out = collateral()
        .arg("merge")
        .arg(d.join("run_week1"))
        .arg(d.join("run_week3"))
        .args(["--on-duplicate", "newest", "--no-figures", "-q", "-o"])
        .arg(d.join("refused"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("run `run_week3`")
            && err.contains("other aliases")
            && err.contains("drug02 = compound-1")
            && err.contains("run `run_week1`"),
        "{err}"
    );
    // A run's evidence file gone since: the merge names it and the run.
    std::fs::remove_file(d.join("week2/lab_relations.csv")).unwrap();
    let out = collateral()
        .arg("merge")
        .arg(d.join("run_week1"))
        .arg(d.join("run_week2"))
        .args(["--on-duplicate", "newest", "--no-figures", "-q", "-o"])
        .arg(d.join("refused2"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("run `run_week2`") && err.contains("week2/lab_relations.csv"),
        "{err}"
    );
}

#[test]
fn a_missing_evidence_file_is_an_error_on_its_assay_line_and_a_warning_when_redrawn() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    screen(d, 15);
    lab_tables(d);
    let assay = std::fs::read_to_string(d.join("assay.toml")).unwrap();
    let line = assay.lines().count() + 3;
    std::fs::write(
        d.join("assay.toml"),
        format!("{assay}\n[evidence]\nfiles = [\"lab_names.csv\", \"nope.csv\"]\n"),
    )
    .unwrap();
    for command in ["validate", "run"] {
        let mut c = collateral();
        c.arg(command).arg(d.join("assay.toml"));
        if command == "run" {
            c.arg("-o").arg(d.join("out"));
        }
        let out = c.assert().failure();
        let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            err.contains(&format!("assay.toml:{line}:"))
                && err.contains("`files` names `nope.csv`, which does not exist"),
            "{command}: {err}"
        );
    }
    // Run with the files there, then draw the report again without one: a warning, not a
    // failure.
    std::fs::write(
        d.join("assay.toml"),
        format!("{assay}\n[evidence]\nfiles = [\"lab_names.csv\", \"lab_relations.csv\"]\n"),
    )
    .unwrap();
    collateral()
        .arg("run")
        .arg(d.join("assay.toml"))
        .args(["--no-figures", "-q", "-o"])
        .arg(d.join("out"))
        .assert()
        .success();
    std::fs::remove_file(d.join("lab_relations.csv")).unwrap();
    let out = collateral()
        .arg("plot")
        .arg(d.join("out"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains("lab_relations.csv") && err.contains("is not there any more"),
        "{err}"
    );
    assert!(d.join("out/report.html").is_file());
}
