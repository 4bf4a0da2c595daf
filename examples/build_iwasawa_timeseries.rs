//! Builds the bundled assay `assays/iwasawa2022-timeseries/`: every strain and every day of
//! Iwasawa et al. 2022 from the raw OD620 reads, each evolved population compared day by day
//! with the population of the same starting strain passaged without drug.
//!
//! ```text
//! cargo run --example build_iwasawa_timeseries -- SOURCE_DIR ASSAY_DIR
//! ```
//! `SOURCE_DIR` holds `od620_reshaped_wide.csv`, `plate_type_concentrations.csv` and
//! `plate_type_by_day.csv`, as in `../shared/data/iwasawa2022-ecoli-resistance-timeseries/` or
//! `assays/iwasawa2022/raw/` (the bundled copy, which this assay shares). Writes `wells.csv` and
//! `lines.csv` into `ASSAY_DIR`.
//!
//! The plate design and concentrations are those of `build_iwasawa.rs` (whose reader of the raw
//! rows this uses). What is new is the pairing, one line per population and day:
//!
//! - an evolved population (strains 1–44, `X in TET|KM|NFLX`, four lineages each) on day `d`
//!   is the line `X_in_DRUG_k_dDD` (lineage `X_in_DRUG_k`, the k-th strain of that environment
//!   in the authors' numbering, as in their figure legends), selected with DRUG;
//! - its reference is the time-matched control `X_in_M9_dDD`: the lineages of the same
//!   starting strain X (Parent, TETE4, KME1, …) passaged in M9 without drug, sampled the same
//!   day, pooled into one control line (four lineages for the parent, two for each evolved
//!   starting strain; strains 45–60), lineage `X_in_M9`;
//! - `replicate` is the authors' strain number, so every well traces back to its source row.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

// The integration tests load this file and `build_iwasawa.rs` each as a module of their own.
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "build_iwasawa.rs"]
mod build_iwasawa;

/// The environment of the no-drug control populations.
pub const CONTROL_ENV: &str = "M9";

/// A strain's starting strain and environment: `KME1 in TET` → (`KME1`, `TET`).
pub fn start_and_env(strain_env: &str) -> Result<(&str, &str), String> {
    strain_env
        .trim()
        .split_once(" in ")
        .ok_or_else(|| format!("strain environment `{strain_env}` is not `START in ENV`"))
}

/// Name of the time-matched control line of a starting strain on a day.
pub fn control_line(start: &str, day: u32) -> String {
    format!("{start}_in_{CONTROL_ENV}_d{day:02}")
}

/// Builds (wells.csv, lines.csv) as text for the given days (every strain).
pub fn build(source: &Path, days: &[u32]) -> Result<(String, String), Box<dyn Error>> {
    let rows = build_iwasawa::raw_rows(source)?;
    // Lineage number of each strain within its environment, in the authors' numbering order.
    let mut strains_of: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for r in &rows {
        let v = strains_of.entry(r.env.as_str()).or_default();
        if !v.contains(&r.strain) {
            v.push(r.strain);
        }
    }
    let mut lineage_of: BTreeMap<u32, String> = BTreeMap::new();
    for (env, strains) in &mut strains_of {
        strains.sort_unstable();
        let (start, place) = start_and_env(env)?;
        for (k, s) in strains.iter().enumerate() {
            let lineage = if place == CONTROL_ENV {
                format!("{start}_in_{CONTROL_ENV}")
            } else {
                format!("{start}_in_{place}_{}", k + 1)
            };
            lineage_of.insert(*s, lineage);
        }
    }
    let line_of = |strain: u32, env: &str, day: u32| -> Result<String, Box<dyn Error>> {
        let (start, place) = start_and_env(env)?;
        Ok(if place == CONTROL_ENV {
            control_line(start, day)
        } else {
            format!("{}_d{day:02}", lineage_of[&strain])
        })
    };

    let mut wells = csv::Writer::from_writer(Vec::new());
    wells.write_record([
        "plate",
        "well",
        "cell_line",
        "drug",
        "concentration",
        "role",
        "signal",
        "replicate",
    ])?;
    // (strain, env) of every strain seen, and the days each was read.
    let mut seen: BTreeMap<u32, (String, Vec<u32>)> = BTreeMap::new();
    for r in rows.iter().filter(|r| days.contains(&r.day)) {
        let line = line_of(r.strain, &r.env, r.day)?;
        let entry = seen
            .entry(r.strain)
            .or_insert_with(|| (r.env.clone(), Vec::new()));
        if !entry.1.contains(&r.day) {
            entry.1.push(r.day);
        }
        let row_name = (b'A' + r.row as u8) as char;
        let plate_id = format!("d{:02}-p{:02}", r.day, r.plate);
        let replicate = r.strain.to_string();
        for (w, (role, conc, signal)) in r.wells.iter().enumerate() {
            let (drug_col, conc_col) = match conc {
                Some(c) => (r.drug.as_str(), c.to_string()),
                None => ("", String::new()),
            };
            wells.write_record([
                plate_id.as_str(),
                &format!("{row_name}{}", w + 1),
                &line,
                drug_col,
                &conc_col,
                role,
                signal,
                &replicate,
            ])?;
        }
    }

    // Controls first (every starting strain's no-drug population, day by day), then each
    // evolved lineage day by day, in the authors' strain order.
    let mut lines = csv::Writer::from_writer(Vec::new());
    lines.write_record([
        "cell_line",
        "parental_line",
        "selected_with",
        "lineage",
        "evolution_time",
    ])?;
    let mut controls: Vec<(String, u32)> = Vec::new();
    for (env, strain_days) in seen.values() {
        let (start, place) = start_and_env(env)?;
        if place == CONTROL_ENV {
            for d in strain_days {
                if !controls.contains(&(start.to_string(), *d)) {
                    controls.push((start.to_string(), *d));
                }
            }
        }
    }
    for (start, day) in &controls {
        lines.write_record([
            control_line(start, *day).as_str(),
            "",
            "",
            &format!("{start}_in_{CONTROL_ENV}"),
            &day.to_string(),
        ])?;
    }
    for (strain, (env, strain_days)) in &seen {
        let (start, place) = start_and_env(env)?;
        if place == CONTROL_ENV {
            continue;
        }
        for d in strain_days {
            let control = control_line(start, *d);
            if !controls.contains(&(start.to_string(), *d)) {
                return Err(format!(
                    "strain {strain} ({env}) on day {d} has no control population `{control}`"
                )
                .into());
            }
            lines.write_record([
                line_of(*strain, env, *d)?.as_str(),
                &control,
                place,
                &lineage_of[strain],
                &d.to_string(),
            ])?;
        }
    }
    let s = |w: csv::Writer<Vec<u8>>| -> Result<String, Box<dyn Error>> {
        Ok(String::from_utf8(w.into_inner()?)?)
    };
    Ok((s(wells)?, s(lines)?))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: build_iwasawa_timeseries SOURCE_DIR ASSAY_DIR");
        std::process::exit(2);
    }
    let (source, out) = (Path::new(&args[0]), Path::new(&args[1]));
    let days: Vec<u32> = (1..=27).collect();
    let (wells, lines) = build(source, &days)?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("wells.csv"), wells)?;
    std::fs::write(out.join("lines.csv"), lines)?;
    println!("wrote {}", out.display());
    Ok(())
}
