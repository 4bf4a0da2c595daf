//! Progress: bars on a terminal (a pseudo-terminal made by `script`), one line per stage with
//! its count when stderr is not a terminal, nothing with `--quiet`; never on stdout and never in
//! an output file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{collateral, read_csv};

/// A small simulated screen (3 lines, 2 drugs, 2 replicates); returns its assay file.
fn screen(dir: &Path) -> PathBuf {
    collateral()
        .args(["--quiet", "simulate", "-o"])
        .arg(dir)
        .args(["--lines", "3", "--drugs", "2", "--replicates", "2"])
        .assert()
        .success();
    dir.join("assay.toml")
}

/// The progress lines of a stderr text as (verb, count, unit). Panics on a line that starts
/// like one but is not shaped like `collateral: fit 12 curves in 0.03 s`.
fn stage_lines(stderr: &str) -> Vec<(String, u64, String)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("collateral: "))
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            assert!(
                w.len() == 6 && w[3] == "in" && w[5] == "s" && w[4].parse::<f64>().is_ok(),
                "not a progress line: {l:?}"
            );
            (
                w[0].to_string(),
                w[1].parse().expect("count"),
                w[2].to_string(),
            )
        })
        .collect()
}

/// Runs a command with stdout and stderr captured (neither a terminal); returns both.
fn piped(cmd: &mut assert_cmd::Command) -> (String, String) {
    let out = cmd.assert().success();
    let out = out.get_output();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Text that only progress writes: a finished stage (`6 plates in 0.03 s`), a bar, a spinner's
/// line redrawing, terminal control, a log line.
const PROGRESS_MARKS: [&str; 9] = [
    " plates in ",
    " curves in ",
    " shifts in ",
    " files in ",
    "fitting [",
    "/s)",
    "\r",
    "\x1b",
    "collateral: ",
];

fn assert_no_progress(stdout: &str, what: &str) {
    for mark in PROGRESS_MARKS {
        assert!(
            !stdout.contains(mark),
            "{what}: stdout has {mark:?}:\n{stdout}"
        );
    }
}

/// Files of a folder, relative, sorted (the lock and staging folders are gone by then).
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn off_a_terminal_each_stage_of_run_is_one_line_with_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let out = dir.path().join("out");
    let (stdout, stderr) = piped(collateral().arg("run").arg(&assay).arg("-o").arg(&out));
    let stages = stage_lines(&stderr);
    let verbs: Vec<&str> = stages.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        verbs,
        ["read", "checked", "fit", "compared", "drew"],
        "{stderr}"
    );
    let plates = read_csv(&out.join("qc.csv"))
        .iter()
        .map(|r| r["plate"].clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    let drawn = files(&out)
        .iter()
        .filter(|f| f.starts_with("plots") || f.ends_with("report.html"))
        .count() as u64;
    assert_eq!(stages[0].1, plates, "{stderr}");
    assert_eq!(stages[1].1, plates, "{stderr}");
    assert_eq!(
        stages[2].1,
        read_csv(&out.join("fits.csv")).len() as u64,
        "{stderr}"
    );
    assert_eq!(
        stages[3].1,
        read_csv(&out.join("shifts.csv")).len() as u64,
        "{stderr}"
    );
    assert_eq!(stages[4].1, drawn, "{stderr}");
    let units: Vec<&str> = stages.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(units, ["plates", "plates", "curves", "shifts", "files"]);
    assert_no_progress(&stdout, "run");
    assert!(
        stdout.contains("\ncurves: "),
        "the summary is still there: {stdout}"
    );

    // Without figures there is no drawing stage.
    let (_, stderr) = piped(
        collateral()
            .arg("run")
            .arg(&assay)
            .args(["--no-figures", "-o"])
            .arg(dir.path().join("bare")),
    );
    let verbs: Vec<String> = stage_lines(&stderr).into_iter().map(|s| s.0).collect();
    assert_eq!(verbs, ["read", "checked", "fit", "compared"], "{stderr}");
}

#[test]
fn off_a_terminal_fit_shift_and_plot_tell_their_stages_and_keep_stdout_clean() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let run = dir.path().join("run");
    collateral()
        .args(["--quiet", "run"])
        .arg(&assay)
        .args(["--no-figures", "-o"])
        .arg(&run)
        .assert()
        .success();
    let fits = read_csv(&run.join("fits.csv")).len() as u64;

    // `collateral fit` on the run's own points: viability as the response.
    let mut points = String::from("cell_line,drug,concentration,response\n");
    for w in read_csv(&run.join("wells.csv")) {
        if w["role"] == "sample" && w["excluded"] == "false" {
            points.push_str(&format!(
                "{},{},{},{}\n",
                w["cell_line"], w["drug"], w["concentration"], w["viability"]
            ));
        }
    }
    let input = dir.path().join("points.csv");
    std::fs::write(&input, points).unwrap();
    let (stdout, stderr) = piped(
        collateral()
            .arg("fit")
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("fits.csv")),
    );
    let stages = stage_lines(&stderr);
    assert_eq!(
        stages,
        [
            ("read".to_string(), fits, "curves".to_string()),
            ("fit".to_string(), fits, "curves".to_string())
        ],
        "{stderr}"
    );
    assert_eq!(stdout, "", "collateral fit keeps stdout empty");

    let (stdout, stderr) = piped(
        collateral()
            .arg("shift")
            .arg(run.join("fits.csv"))
            .arg("--lines")
            .arg(dir.path().join("lines.csv"))
            .arg("-o")
            .arg(dir.path().join("shift")),
    );
    let shifts = read_csv(&dir.path().join("shift/shifts.csv")).len() as u64;
    assert_eq!(
        stage_lines(&stderr),
        [("compared".to_string(), shifts, "shifts".to_string())],
        "{stderr}"
    );
    assert_no_progress(&stdout, "shift");
    assert!(stdout.starts_with("shifts: "), "{stdout}");

    let (stdout, stderr) = piped(collateral().arg("plot").arg(&run));
    let drawn = files(&run)
        .iter()
        .filter(|f| f.starts_with("plots") || f.ends_with("report.html"))
        .count() as u64;
    assert_eq!(
        stage_lines(&stderr),
        [("drew".to_string(), drawn, "files".to_string())],
        "{stderr}"
    );
    assert_no_progress(&stdout, "plot");
    assert!(stdout.starts_with("wrote "), "{stdout}");
}

#[test]
fn quiet_prints_no_progress_and_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let run = dir.path().join("run");
    let commands: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "run".into(),
            assay.clone().into(),
            "-o".into(),
            run.clone().into(),
        ],
        vec!["plot".into(), run.clone().into()],
        vec![
            "shift".into(),
            run.join("fits.csv").into(),
            "--lines".into(),
            dir.path().join("lines.csv").into(),
            "-o".into(),
            dir.path().join("shift").into(),
        ],
        vec!["validate".into(), assay.clone().into()],
        vec![
            "simulate".into(),
            "-o".into(),
            dir.path().join("sim").into(),
        ],
    ];
    for args in commands {
        let (stdout, stderr) = piped(collateral().arg("--quiet").args(&args));
        assert_eq!(stdout, "", "{args:?}");
        assert!(stage_lines(&stderr).is_empty(), "{args:?}: {stderr}");
        assert_no_progress(&stderr, &format!("stderr of --quiet {args:?}"));
    }
}

#[test]
fn validate_and_simulate_print_no_progress_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let (stdout, stderr) = piped(collateral().arg("validate").arg(&assay));
    assert_no_progress(&stdout, "validate");
    assert!(stage_lines(&stderr).is_empty(), "{stderr}");
    let (stdout, stderr) = piped(
        collateral()
            .args(["simulate", "-o"])
            .arg(dir.path().join("sim")),
    );
    assert_no_progress(&stdout, "simulate");
    assert!(stdout.starts_with("simulated "), "{stdout}");
    assert!(stage_lines(&stderr).is_empty(), "{stderr}");
}

/// `script` from util-linux, which runs a command on a pseudo-terminal; `None` (and a note)
/// where it is missing, a failure under `CI=true`.
fn script() -> Option<PathBuf> {
    let found = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    crate::common::require_program(
        found,
        "script (util-linux)",
        "the pseudo-terminal progress tests",
        "it runs collateral on a pseudo-terminal to see the bars; Debian: apt-get install \
         bsdutils",
    )
}

/// Quotes a path for `sh -c`.
fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// Runs `collateral ARGS > STDOUT` on a pseudo-terminal (stderr is the terminal, stdout a
/// file); returns (what the terminal showed, the stdout file).
fn on_a_terminal(script: &Path, dir: &Path, args: &str) -> (String, String) {
    let bin = assert_cmd::cargo::cargo_bin("collateral");
    let stdout = dir.join("stdout.txt");
    let command = format!("{} {args} > {}", sh_quote(&bin), sh_quote(&stdout));
    let out = Command::new(script)
        .args(["-qfec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("script runs");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{command}: {shown}");
    (shown, std::fs::read_to_string(stdout).unwrap())
}

#[test]
fn on_a_terminal_bars_show_on_stderr_and_stdout_stays_clean() {
    let Some(script) = script() else { return };
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let run = dir.path().join("run");
    let (shown, stdout) = on_a_terminal(
        &script,
        dir.path(),
        &format!("run {} -o {}", sh_quote(&assay), sh_quote(&run)),
    );
    let fits = read_csv(&run.join("fits.csv")).len();
    // Each finished bar stays as its stage name, count and rate.
    for bar in [
        "reading".to_string(),
        "QC".to_string(),
        format!("fitting {fits} curves in "),
        "curves/s)".to_string(),
        "comparing".to_string(),
        "drawing".to_string(),
    ] {
        assert!(shown.contains(&bar), "no {bar:?} on the terminal:\n{shown}");
    }
    assert!(
        !shown.contains("collateral: fit"),
        "a terminal gets bars, not log lines:\n{shown}"
    );
    assert_no_progress(&stdout, "run on a terminal");
    assert!(stdout.contains("\ncurves: "), "{stdout}");

    let (shown, stdout) = on_a_terminal(
        &script,
        dir.path(),
        &format!(
            "shift {} --lines {} -o {}",
            sh_quote(&run.join("fits.csv")),
            sh_quote(&dir.path().join("lines.csv")),
            sh_quote(&dir.path().join("shift"))
        ),
    );
    assert!(shown.contains("comparing"), "{shown}");
    assert_no_progress(&stdout, "shift on a terminal");
    let (shown, stdout) = on_a_terminal(&script, dir.path(), &format!("plot {}", sh_quote(&run)));
    assert!(shown.contains("drawing"), "{shown}");
    assert_no_progress(&stdout, "plot on a terminal");
    for args in [
        format!("validate {}", sh_quote(&assay)),
        format!("simulate -o {}", sh_quote(&dir.path().join("sim"))),
    ] {
        let (_, stdout) = on_a_terminal(&script, dir.path(), &args);
        assert_no_progress(&stdout, &args);
        assert!(!stdout.is_empty(), "{args}: the summary is still there");
    }

    // --quiet: no bar either.
    let (shown, stdout) = on_a_terminal(
        &script,
        dir.path(),
        &format!(
            "--quiet run {} -o {}",
            sh_quote(&assay),
            sh_quote(&dir.path().join("quiet"))
        ),
    );
    assert_no_progress(&shown, "the terminal of --quiet run");
    assert_eq!(stdout, "");
}

#[test]
fn collateral_fit_shows_a_counting_bar_on_a_terminal() {
    let Some(script) = script() else { return };
    let dir = tempfile::tempdir().unwrap();
    // 40 curves of 9 doses.
    let mut table = String::from("cell_line,drug,concentration,response\n");
    for i in 0..40 {
        for d in 0..9 {
            let c = 10f64.powi(d - 4);
            let ec50 = 10f64.powf(f64::from(i % 5) - 2.0);
            table.push_str(&format!("L{i},D,{c},{}\n", 1.0 / (1.0 + c / ec50)));
        }
    }
    let input = dir.path().join("in.csv");
    std::fs::write(&input, table).unwrap();
    let (shown, stdout) = on_a_terminal(
        &script,
        dir.path(),
        &format!(
            "fit {} -o {}",
            sh_quote(&input),
            sh_quote(&dir.path().join("fits.csv"))
        ),
    );
    assert!(shown.contains("fitting 40 curves in "), "{shown}");
    assert!(shown.contains("reading 40 curves in "), "{shown}");
    assert_eq!(stdout, "");
}

#[test]
fn every_output_file_is_the_same_with_bars_lines_or_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let assay = screen(dir.path());
    let lines_out = dir.path().join("lines");
    let quiet_out = dir.path().join("quiet");
    piped(
        collateral()
            .args(["--threads", "2", "run"])
            .arg(&assay)
            .arg("-o")
            .arg(&lines_out),
    );
    piped(
        collateral()
            .args(["--quiet", "--threads", "1", "run"])
            .arg(&assay)
            .arg("-o")
            .arg(&quiet_out),
    );
    let mut outs = vec![lines_out, quiet_out];
    if let Some(script) = script() {
        let bars_out = dir.path().join("bars");
        on_a_terminal(
            &script,
            dir.path(),
            &format!("run {} -o {}", sh_quote(&assay), sh_quote(&bars_out)),
        );
        outs.push(bars_out);
    }
    let names = files(&outs[0]);
    for other in &outs[1..] {
        assert_eq!(files(other), names);
        for f in &names {
            let (a, b) = (
                std::fs::read(outs[0].join(f)).unwrap(),
                std::fs::read(other.join(f)).unwrap(),
            );
            if f.ends_with("run.json") {
                // Only the timings and the start time may differ.
                let strip = |bytes: &[u8]| {
                    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                    v["timings_seconds"] = serde_json::Value::Null;
                    v["started"] = serde_json::Value::Null;
                    v
                };
                assert_eq!(strip(&a), strip(&b), "{}", other.display());
            } else {
                assert!(a == b, "{} differs in {}", f.display(), other.display());
            }
        }
    }
}
