//! `collateral shift` and the lines-table edge cases of the comparison step.

use crate::common::{collateral, read_csv, root, write};

#[test]
fn shift_from_fits_reproduces_the_run() {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .args(["run", "assays/iwasawa2022/assay.toml", "-o"])
        .arg(out.path().join("run"))
        .current_dir(root())
        .assert()
        .success();
    collateral()
        .arg("shift")
        .arg(out.path().join("run/fits.csv"))
        .args(["--lines", "assays/iwasawa2022/lines.csv", "-o"])
        .arg(out.path().join("shift"))
        .current_dir(root())
        .assert()
        .success();
    for f in [
        "shifts.csv",
        "matrix.csv",
        "calls.csv",
        "network.graphml",
        "network.dot",
        "network.json",
        "cycles.csv",
    ] {
        let a = std::fs::read(out.path().join("run").join(f)).unwrap();
        let b = std::fs::read(out.path().join("shift").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}

#[test]
fn shift_accepts_fits_made_elsewhere() {
    // Only the contract columns and a CI: the standard error comes from the interval.
    let dir = tempfile::tempdir().unwrap();
    let fits = write(
        dir.path(),
        "fits.csv",
        "cell_line,drug,ic50,ic50_qualifier,ic50_ci_low,ic50_ci_high,status\n\
         P,a,1.0,=,0.8,1.25,ok\nR,a,8.0,=,6.4,10.0,ok\nP,b,1.0,=,0.8,1.25,ok\nR,b,20,>,,,ok\nP,c,1,=,0.8,1.25,ok\nR,c,,,,,failed\n",
    );
    let lines = write(
        dir.path(),
        "lines.csv",
        "cell_line,parental_line,selected_with\nP,,\nR,P,a\n",
    );
    collateral()
        .arg("shift")
        .arg(&fits)
        .arg("--lines")
        .arg(&lines)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let rows = read_csv(&dir.path().join("out/shifts.csv"));
    let call = |d: &str| rows.iter().find(|r| r["drug"] == d).unwrap()["call"].clone();
    assert_eq!(call("a"), "cross_resistant");
    assert_eq!(call("b"), "cross_resistant", "censored: log2_fc > 4.3");
    assert_eq!(call("c"), "undetermined");
    let c = rows.iter().find(|r| r["drug"] == "c").unwrap();
    assert!(c["reason"].contains("failed"), "{c:?}");
    // A bad number names its line.
    let bad = write(
        dir.path(),
        "bad.csv",
        "cell_line,drug,ic50\nP,a,1\nR,a,lots\n",
    );
    let res = collateral()
        .arg("shift")
        .arg(&bad)
        .arg("--lines")
        .arg(&lines)
        .arg("-o")
        .arg(dir.path().join("o2"))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(err.contains("bad.csv:3: `ic50` is `lots`"), "{err}");
    // A word no rule has is a usage error (exit 2), naming every rule.
    let res = collateral()
        .arg("shift")
        .arg(&fits)
        .arg("--lines")
        .arg(&lines)
        .args(["--rule", "vote", "-o"])
        .arg(dir.path().join("o3"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&res.get_output().stderr).to_string();
    assert!(
        err.contains(
            "unknown call rule `vote` (expected delta, dhawan2017, nichol2019 or maltas-wood)"
        ),
        "{err}"
    );
}

const HEAD: &str = "plate,well,cell_line,drug,concentration,role,signal\n";

/// A plate of one line with 8-dose curves of the given drugs (ic50 of each as given).
fn plate(name: &str, line: &str, drugs: &[(&str, f64)]) -> String {
    let mut s = format!("{name},A1,{line},,,vehicle,100\n{name},B1,{line},,,vehicle,101\n{name},C1,{line},,,blank,0\n{name},D1,{line},,,blank,1\n");
    for (r, (drug, ic50)) in drugs.iter().enumerate() {
        for c in 0..8 {
            let x = 0.01 * 3f64.powi(c);
            let v = 100.0 / (1.0 + (x / ic50).powf(1.5)) + if c % 2 == 0 { 1.5 } else { -1.5 };
            s += &format!(
                "{name},{}{},{line},{drug},{x},sample,{v}\n",
                (b'E' + r as u8) as char,
                c + 2
            );
        }
    }
    s
}

#[test]
fn a_drug_missing_for_the_parental_line_gives_undetermined_rows() {
    let dir = tempfile::tempdir().unwrap();
    let wells = format!(
        "{HEAD}{}{}",
        plate("P1", "P", &[("a", 1.0)]),
        plate("P2", "R", &[("a", 8.0), ("b", 1.0)])
    );
    write(dir.path(), "wells.csv", &wells);
    write(
        dir.path(),
        "lines.csv",
        "cell_line,parental_line,selected_with\nP,,\nR,P,a\n",
    );
    let a = write(
        dir.path(),
        "assay.toml",
        "name = \"t\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n",
    );
    collateral()
        .arg("run")
        .arg(&a)
        .arg("-o")
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let rows = read_csv(&dir.path().join("out/shifts.csv"));
    assert_eq!(rows.len(), 2);
    let b = rows.iter().find(|r| r["drug"] == "b").unwrap();
    assert_eq!(b["call"], "undetermined");
    assert_eq!(b["reason"], "no curve of parental line P for b");
    let a = rows.iter().find(|r| r["drug"] == "a").unwrap();
    assert_eq!(a["call"], "cross_resistant", "{a:?}");
    let calls = read_csv(&dir.path().join("out/calls.csv"));
    assert_eq!(calls[0]["b"], "undetermined");
}
