//! Builds the bundled assay `assays/iwasawa2022/` from the raw OD620 reads of Iwasawa et al. 2022.
//!
//! ```text
//! cargo run --example build_iwasawa -- SOURCE_DIR ASSAY_DIR [--days 27]
//! ```
//! `SOURCE_DIR` holds `od620_reshaped_wide.csv`, `plate_type_concentrations.csv` and
//! `plate_type_by_day.csv`, as in `../shared/data/iwasawa2022-ecoli-resistance-timeseries/` or
//! `assays/iwasawa2022/raw/`. Writes `wells.csv` and `lines.csv` into `ASSAY_DIR` and, when the
//! source is elsewhere, copies the raw files (and the published IC50s) into `ASSAY_DIR/raw/`.
//!
//! Plate design (from the source's README and fitting notebook): each 384-well plate carries two
//! strains; row `2·drug + (half − 1)` holds one strain × one drug; well 1 has no cells (blank),
//! wells 2–23 a 2^step dilution series from the plate type's maximum concentration, well 24 no
//! drug (vehicle). Strains 1–48 are the lines evolved in TET, KM and NFLX and the parental
//! lineages passaged without drug (`Parent in M9`), which serve as the parental line.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

/// Drugs in plate-row order.
pub const DRUGS: [&str; 8] = ["TET", "KM", "NFLX", "SS", "PLM", "NQO", "SDC", "MMC"];
/// The parental line every evolved line is compared with.
pub const PARENTAL: &str = "Parent_in_M9";

/// Cell-line name of a strain environment, e.g. `KME1 in TET` → `KME1_in_TET`.
pub fn line_name(strain_env: &str) -> String {
    strain_env.trim().replace(' ', "_")
}

/// Builds the wells and lines tables (as CSV text) from the source folder, for the given days
/// and strains 1–48. Returns (wells.csv, lines.csv).
pub fn build(source: &Path, days: &[u32]) -> Result<(String, String), Box<dyn Error>> {
    build_strains(source, days, 48)
}

/// One row of the raw reads: one strain × drug on one day's plate (half 1 or 2 of the plate
/// number), with its 24 wells.
pub struct RawRow {
    /// Day of the experiment (1–27).
    pub day: u32,
    /// Plate number of the day (1–30).
    pub plate: u32,
    /// Which strain of the plate (1 or 2).
    pub half: u16,
    /// The authors' strain number (1–60).
    pub strain: u32,
    /// The strain's environment as written in the source (`KME1 in TET`).
    pub env: String,
    /// Drug of the row.
    pub drug: String,
    /// Plate row: `2·drug + half − 1`, 0-based (A = 0).
    pub row: u16,
    /// The 24 wells in order: role, concentration (µg/mL; `None` for the controls) and the
    /// raw OD620 as written.
    pub wells: Vec<(&'static str, Option<f64>, String)>,
}

/// Reads every row of `od620_reshaped_wide.csv` in file order, with the concentrations of its
/// plate type, after checking each row's plate type against `plate_type_by_day.csv`.
pub fn raw_rows(source: &Path) -> Result<Vec<RawRow>, Box<dyn Error>> {
    // (plate_type, drug) → (max concentration, log2 step)
    let mut conc: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(source.join("plate_type_concentrations.csv"))?;
    for r in rdr.records() {
        let r = r?;
        conc.insert(
            (r[0].to_string(), r[1].to_string()),
            (r[3].parse()?, r[4].parse()?),
        );
    }
    // (plate, day) → plate type, to cross-check the type written on each OD row.
    let mut by_day: BTreeMap<(u32, u32), String> = BTreeMap::new();
    let mut rdr = csv::Reader::from_path(source.join("plate_type_by_day.csv"))?;
    let head = rdr.headers()?.clone();
    for r in rdr.records() {
        let r = r?;
        let plate: u32 = r[0].parse()?;
        for (i, h) in head.iter().enumerate().skip(1) {
            let day: u32 = h.trim_start_matches("day").parse()?;
            by_day.insert((plate, day), r[i].to_string());
        }
    }
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_path(source.join("od620_reshaped_wide.csv"))?;
    for r in rdr.records() {
        let r = r?;
        let day: u32 = r[0].parse()?;
        let plate: u32 = r[1].parse()?;
        let half: u16 = r[2].parse()?;
        let strain: u32 = r[3].parse()?;
        let ptype = &r[5];
        let drug = &r[6];
        if by_day.get(&(plate, day)).map(String::as_str) != Some(ptype) {
            return Err(format!(
                "plate {plate} day {day}: plate type {ptype} disagrees with plate_type_by_day.csv"
            )
            .into());
        }
        let d = DRUGS
            .iter()
            .position(|x| *x == drug)
            .ok_or(format!("unknown drug {drug}"))? as u16;
        let (max_conc, step) = conc[&(ptype.to_string(), drug.to_string())];
        let wells = (1..=24u32)
            .map(|w| {
                let signal = r[6 + w as usize].to_string();
                match w {
                    1 => ("blank", None, signal),
                    24 => ("vehicle", None, signal),
                    _ => (
                        "sample",
                        Some(max_conc * 2f64.powf(-f64::from(w - 2) * step)),
                        signal,
                    ),
                }
            })
            .collect();
        out.push(RawRow {
            day,
            plate,
            half,
            strain,
            env: r[4].to_string(),
            drug: drug.to_string(),
            row: 2 * d + (half - 1),
            wells,
        });
    }
    Ok(out)
}

/// [`build`] for strains 1 to `max_strain` (60 = every strain of the experiment). Plates are
/// named `dDD-pPP` by day and plate number.
pub fn build_strains(
    source: &Path,
    days: &[u32],
    max_strain: u32,
) -> Result<(String, String), Box<dyn Error>> {
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
        "day",
        "strain_num",
    ])?;
    let mut envs: BTreeMap<String, ()> = BTreeMap::new();
    let mut replicate_of: BTreeMap<u32, usize> = BTreeMap::new();
    let mut per_env: BTreeMap<String, usize> = BTreeMap::new();
    for r in raw_rows(source)? {
        if !days.contains(&r.day) || r.strain > max_strain {
            continue;
        }
        let line = line_name(&r.env);
        envs.insert(r.env.clone(), ());
        let next = per_env.entry(line.clone()).or_default();
        let rep = *replicate_of.entry(r.strain).or_insert_with(|| {
            *next += 1;
            *next
        });
        let row_name = (b'A' + r.row as u8) as char;
        let plate_id = format!("d{:02}-p{:02}", r.day, r.plate);
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
                &rep.to_string(),
                &r.day.to_string(),
                &r.strain.to_string(),
            ])?;
        }
    }
    let mut lines = csv::Writer::from_writer(Vec::new());
    lines.write_record(["cell_line", "parental_line", "selected_with"])?;
    lines.write_record([PARENTAL, "", ""])?;
    for env in envs.keys() {
        let line = line_name(env);
        if line == PARENTAL {
            continue;
        }
        let selected = env.rsplit(' ').next().unwrap_or_default();
        lines.write_record([line.as_str(), PARENTAL, selected])?;
    }
    let s = |w: csv::Writer<Vec<u8>>| -> Result<String, Box<dyn Error>> {
        Ok(String::from_utf8(w.into_inner()?)?)
    };
    Ok((s(wells)?, s(lines)?))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: build_iwasawa SOURCE_DIR ASSAY_DIR [--days 27[,26,...]]");
        std::process::exit(2);
    }
    let days: Vec<u32> = match args.iter().position(|a| a == "--days") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--days needs a value")?
            .split(',')
            .map(|d| d.parse())
            .collect::<Result<_, _>>()?,
        None => vec![27],
    };
    let source = Path::new(&args[0]);
    let out = Path::new(&args[1]);
    let (wells, lines) = build(source, &days)?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("wells.csv"), wells)?;
    std::fs::write(out.join("lines.csv"), lines)?;
    let raw_dir = out.join("raw");
    if source.canonicalize()? != raw_dir.canonicalize().unwrap_or_default() {
        std::fs::create_dir_all(&raw_dir)?;
        for f in [
            "od620_reshaped_wide.csv",
            "plate_type_concentrations.csv",
            "plate_type_by_day.csv",
            "log2_ic50_trajectories_published.csv",
        ] {
            std::fs::copy(source.join(f), raw_dir.join(f))?;
        }
    }
    println!("wrote {}", out.display());
    Ok(())
}
