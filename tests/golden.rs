//! Golden outputs: every file a run writes for three small screens (two bundled assays and a
//! seeded simulation), hashed and compared with the checksums recorded in
//! `tests/data/golden/`. A restructuring or a speed-up must leave these bytes alone; a change
//! that means to alter an output re-records them with `COLLATERAL_BLESS=1 cargo test golden`
//! and says why in its commit.
//!
//! `run.json` is compared without `timings_seconds`, `started` and `manifest` (which differ per
//! run and per folder); the output and simulation folders are replaced by `OUT` and `SIM` in every file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{collateral, root};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Checksums of every file in `dir`, by `/`-separated relative path.
fn checksums(dir: &Path, replace: &[(&Path, &str)]) -> BTreeMap<String, String> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap();
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let name = name.join("/");
        let mut bytes = std::fs::read(&f).unwrap();
        if name == "run.json" {
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("timings_seconds");
            o.remove("started");
            o.remove("manifest");
            bytes = serde_json::to_vec_pretty(&v).unwrap();
        }
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if text.as_bytes() == bytes.as_slice() {
            for (path, with) in replace {
                text = text.replace(&*path.to_string_lossy(), with);
            }
            bytes = text.into_bytes();
        }
        out.insert(name, collateral::run::sha256_hex(&bytes));
    }
    out
}

fn check(case: &str, got: BTreeMap<String, String>) {
    let path = root()
        .join("tests/data/golden")
        .join(format!("{case}.sha256"));
    let text: String = got.iter().map(|(f, h)| format!("{h}  {f}\n")).collect();
    if std::env::var_os("COLLATERAL_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; record with COLLATERAL_BLESS=1", path.display()));
    let want: BTreeMap<String, String> = recorded
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, f)| (f.to_string(), h.to_string()))
        .collect();
    let mut diffs = Vec::new();
    for (f, h) in &want {
        match got.get(f) {
            None => diffs.push(format!("missing: {f}")),
            Some(g) if g != h => diffs.push(format!("changed: {f}")),
            _ => {}
        }
    }
    for f in got.keys().filter(|f| !want.contains_key(*f)) {
        diffs.push(format!("new: {f}"));
    }
    assert!(
        diffs.is_empty(),
        "{case}: outputs differ from {}:\n{}",
        path.display(),
        diffs.join("\n")
    );
}

fn run_case(assay: &Path, extra: &[(&Path, &str)]) -> BTreeMap<String, String> {
    let out = tempfile::tempdir().unwrap();
    collateral()
        .arg("run")
        .arg(assay)
        .arg("-o")
        .arg(out.path())
        .current_dir(root())
        .assert()
        .success();
    let mut replace = vec![(out.path(), "OUT")];
    replace.extend_from_slice(extra);
    checksums(out.path(), &replace)
}

#[test]
fn golden_dhawan2017() {
    check(
        "dhawan2017",
        run_case(Path::new("assays/dhawan2017/assay.toml"), &[]),
    );
}

#[test]
fn golden_iwasawa2022_plates() {
    check(
        "iwasawa2022-plates",
        run_case(Path::new("assays/iwasawa2022-plates/assay.toml"), &[]),
    );
}

#[test]
fn golden_simulated() {
    let sim = tempfile::tempdir().unwrap();
    collateral()
        .args([
            "simulate", "--seed", "3", "--lines", "4", "--drugs", "6", "-o",
        ])
        .arg(sim.path())
        .assert()
        .success();
    let mut got = checksums(sim.path(), &[(sim.path(), "SIM")]);
    got = got
        .into_iter()
        .map(|(f, h)| (format!("simulate/{f}"), h))
        .collect();
    got.extend(
        run_case(&sim.path().join("assay.toml"), &[(sim.path(), "SIM")])
            .into_iter()
            .map(|(f, h)| (format!("run/{f}"), h)),
    );
    check("simulated", got);
}
