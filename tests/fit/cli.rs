//! `collateral fit` on the command line.

use assert_cmd::Command;
use predicates::str::contains;

fn table() -> String {
    let mut text = "cell_line,drug,concentration,response,replicate\n".to_string();
    for rep in 1..=3 {
        for k in 0..9 {
            let c = 10.0 * 3f64.powi(k - 8);
            let wiggle = 0.01 * ((rep * 7 + k) % 5 - 2) as f64;
            text += &format!(
                "H3122,crizotinib,{c},{},{rep}\n",
                0.05 + 0.95 / (1.0 + c / 0.1) + wiggle
            );
            text += &format!("H3122,dmso,{c},{},{rep}\n", 1.0 + wiggle);
        }
    }
    text += "H3122,tiny,1,0.5,1\n";
    text
}

#[test]
fn fit_writes_one_row_per_curve_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("curves.csv");
    std::fs::write(&input, table()).unwrap();
    let output = dir.path().join("fits.csv");
    Command::cargo_bin("collateral")
        .unwrap()
        .args([
            "fit",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--model",
            "ll3",
            "--threads",
            "1",
        ])
        .assert()
        .success()
        .stderr(contains(
            "3 curves: 1 ok, 1 flat, 1 insufficient_data, 0 failed",
        ));
    let fits = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = fits.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("cell_line,drug,n_points,top,bottom,ec50,hill,ic50,ic50_qualifier,")
    );
    assert!(
        lines[1].starts_with("H3122,crizotinib,27,1,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",>,") && lines[2].contains(",flat,"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(",insufficient_data,"), "{}", lines[3]);
}

#[test]
fn bad_input_exits_1_with_location_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    std::fs::write(
        &input,
        "cell_line,drug,concentration,response\nA,x,one,0.5\n",
    )
    .unwrap();
    let output = dir.path().join("fits.csv");
    Command::cargo_bin("collateral")
        .unwrap()
        .args([
            "fit",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains(
            "bad.csv:2: `concentration` is not a number: `one`",
        ));
    Command::cargo_bin("collateral")
        .unwrap()
        .args([
            "fit",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--model",
            "ll5",
        ])
        .assert()
        .code(2)
        .stderr(contains("unknown model `ll5`"));
    Command::cargo_bin("collateral")
        .unwrap()
        .args([
            "fit",
            dir.path().join("missing.csv").to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains("missing.csv: reading failed"));
}
