//! Property test of whole runs: random but plausible wells tables (two plates, two lines, two
//! drugs, concentrations and signals with bad values among them, unknown roles, repeated or
//! impossible wells) never panic through `Screen::read` → `run` → `Results::write`, and every
//! input well is accounted for: the run fails with a located error, or `wells.csv` has one row
//! per input row, each used or excluded with a reason. The fitting engine's last-resort panic
//! guard is never reached on these inputs. `PROPTEST_CASES=N` runs more cases.

use std::path::Path;

use collateral::{RunOptions, Screen, Silent};
use proptest::prelude::*;

use crate::common::{read_csv, write};

/// One row of a wells table, as text.
#[derive(Debug, Clone)]
struct Row {
    odd_well: Option<String>,
    cell_line: &'static str,
    drug: &'static str,
    concentration: String,
    role: &'static str,
    signal: String,
}

/// Now and then a well that is impossible on a 96-well plate, written oddly, or (`A1`) the
/// same as another row's; otherwise the row's own well (see [`table`]).
fn odd_well() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        40 => Just(None),
        1 => prop::sample::select(vec!["A13", "I1", "", "A0", "A01", "11", "A1"])
            .prop_map(|w| Some(w.to_string())),
    ]
}

fn concentration() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(vec!["0.01", "0.03", "0.1", "0.3", "1", "3", "10", "30", "100"])
            .prop_map(String::from),
        1 => prop::sample::select(vec!["", "0", "-1", "abc", "NaN", "inf", "1e308", "1524"])
            .prop_map(String::from),
    ]
}

fn signal() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => (0.0f64..2.0).prop_map(|v| format!("{v:.4}")),
        1 => prop::sample::select(vec!["", "OVRFLW", "NaN", "-1", "1e9", "0", "inf"])
            .prop_map(String::from),
    ]
}

/// A row whose role, drug and concentration agree (controls carry no drug, samples one), but
/// for one row in about forty where they are left as drawn.
fn row() -> impl Strategy<Value = Row> {
    (
        odd_well(),
        prop::sample::select(vec!["WT", "R1"]),
        prop::sample::select(vec!["A", "A", "B", ""]),
        concentration(),
        prop_oneof![
            60 => prop::sample::select(vec!["sample", "sample", "sample", "vehicle", "blank", "empty"]),
            1 => Just("bogus"),
        ],
        signal(),
        prop::bool::weighted(0.025),
    )
        .prop_map(
            |(odd_well, cell_line, mut drug, mut concentration, role, signal, as_drawn)| {
                if !as_drawn {
                    if role == "sample" {
                        drug = if drug.is_empty() { "A" } else { drug };
                    } else {
                        drug = "";
                        concentration.clear();
                    }
                }
                Row {
                    odd_well,
                    cell_line,
                    drug,
                    concentration,
                    role,
                    signal,
                }
            },
        )
}

/// The wells table: rows alternate between plates P1 and P2 and fill each plate's wells in
/// order (A1, A2, ...), but for a row's odd well. Without `faulty`, the faults that stop a run
/// (odd wells, unknown roles, disagreeing roles, bad concentrations) are mended, so that half
/// the cases reach the fits; bad signals stay (they exclude their wells).
fn table(rows: &[Row], faulty: bool) -> String {
    let mut t = String::from("plate,well,cell_line,drug,concentration,role,signal\n");
    for (i, r) in rows.iter().enumerate() {
        let mended;
        let r = if faulty {
            r
        } else {
            mended = mend(r);
            &mended
        };
        let n = i / 2;
        let well = r
            .odd_well
            .clone()
            .unwrap_or_else(|| format!("{}{}", (b'A' + (n / 12) as u8) as char, n % 12 + 1));
        // Every plate starts with a vehicle and a blank well of each line, as a real one does.
        let (role, drug, concentration) = match n {
            0 | 1 => ("vehicle", "", ""),
            2 | 3 => ("blank", "", ""),
            _ => (r.role, r.drug, r.concentration.as_str()),
        };
        let cell_line = if n < 4 {
            ["WT", "R1"][n % 2]
        } else {
            r.cell_line
        };
        t.push_str(&format!(
            "P{},{well},{cell_line},{drug},{concentration},{role},{}\n",
            i % 2 + 1,
            r.signal
        ));
    }
    t
}

/// The row with the faults that stop a run mended.
fn mend(r: &Row) -> Row {
    let sample = matches!(r.role, "sample" | "bogus");
    let dose_ok = r
        .concentration
        .parse::<f64>()
        .is_ok_and(|c| c.is_finite() && c > 0.0);
    Row {
        odd_well: None,
        cell_line: r.cell_line,
        drug: match (sample, r.drug) {
            (true, "") => "A",
            (true, d) => d,
            (false, _) => "",
        },
        concentration: match (sample, dose_ok) {
            (true, true) => r.concentration.clone(),
            (true, false) => "1".into(),
            (false, _) => String::new(),
        },
        role: if sample { "sample" } else { r.role },
        signal: r.signal.clone(),
    }
}

/// Runs the table as `collateral run` would (no figures) and checks the accounting.
fn check_run(dir: &Path, rows: &[Row], faulty: bool) -> Result<(), TestCaseError> {
    write(dir, "wells.csv", &table(rows, faulty));
    write(
        dir,
        "lines.csv",
        "cell_line,parental_line,selected_with\nWT,,\nR1,WT,A\n",
    );
    let assay = write(
        dir,
        "assay.toml",
        "name = \"p\"\nconcentration_unit = \"uM\"\nwells = \"wells.csv\"\nlines = \"lines.csv\"\n",
    );
    let out = dir.join("out");
    let options = RunOptions {
        figures: false,
        ..RunOptions::default()
    };
    let done = Screen::read(&assay, false)
        .and_then(|s| s.run(&Silent))
        .and_then(|r| r.write(&out, &options));
    match done {
        Err(e) => {
            for p in e.problems_found() {
                prop_assert!(
                    p.location.file.is_some() || p.location.plate.is_some(),
                    "an error without a location: {e}"
                );
            }
        }
        Ok(_) => {
            let written = read_csv(&out.join("wells.csv"));
            prop_assert_eq!(written.len(), rows.len(), "wells.csv lost or added rows");
            for w in &written {
                let excluded = !matches!(w["excluded"].as_str(), "" | "false" | "no" | "0");
                prop_assert!(
                    !excluded || !w["exclusion_reason"].is_empty(),
                    "excluded without a reason: {:?}",
                    w
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_wells_tables_never_panic_and_every_well_is_accounted_for(
        rows in prop::collection::vec(row(), 1..120),
        faulty in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        check_run(dir.path(), &rows, faulty)?;
        prop_assert_eq!(collateral::fit::engine_panics_caught(), 0);
    }
}

/// A wells table built in memory skips the reader's row checks: a sample without a
/// concentration is an error naming its plate and well, not a panic when the curves are made.
#[test]
fn a_sample_without_a_concentration_built_in_memory_is_an_error() {
    use collateral::wells::{Role, Wells};
    let text = "plate,well,cell_line,drug,concentration,role,signal\n\
                P,A1,L,,,vehicle,1\nP,A2,L,d,1,sample,0.5\n";
    let mut t = collateral::table::Table::from_bytes(text.as_bytes(), Path::new("w.csv")).unwrap();
    let mut table = collateral::WellTable::from_table(&mut t, None).unwrap();
    let mut wells = Wells::new();
    for w in table.wells.iter() {
        let mut w = w.to_well();
        if w.role == Role::Sample {
            w.concentration = None;
        }
        wells.push(w);
    }
    table.wells = wells;
    let err = match Screen::new("t", "uM", collateral::Settings::default(), table, None) {
        Ok(_) => panic!("a sample without a concentration was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("plate P, well A2"), "{err}");
}
