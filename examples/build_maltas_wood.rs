//! Builds the bundled assay `assays/maltas-wood-temporal/` from the raw OD dose–responses of
//! Maltas & Wood's temporal collateral-sensitivity experiment (isolates of populations evolved
//! in one drug, sampled on days 2, 4, 6 and 8, tested in another, beside their ancestor).
//!
//! ```text
//! cargo run --example build_maltas_wood -- SOURCE_DIR ASSAY_DIR
//! ```
//! `SOURCE_DIR` holds `raw_od_dose_response_tidy.csv` (and `ic50_timeseries_TempData_tidy.csv`),
//! as in `../shared/data/maltas-wood-efaecalis-temporal-cs/` or `assays/maltas-wood-temporal/raw/`.
//! Writes `wells.csv` and `lines.csv` into `ASSAY_DIR` and, when the source is elsewhere, copies
//! the two source tables into `ASSAY_DIR/raw/`.
//!
//! Design (from the source's `.mat` files and the authors' `QuickLook2*FigPanel.m`): each source
//! file is one experiment (selecting drug → test drug) at one time point (the ancestor `WT`, or
//! day 2, 4, 6, 8): a 48 × 12 matrix of raw OD, row = isolate × technical replicate (rows come in
//! blocks of four technical replicates of one isolate, 12 isolates), column = concentration, the
//! first one 0 (no drug). Here each file becomes six 96-well plates of 8 rows (two isolates
//! each) in the source's row order, column = concentration in the source's order; the physical
//! layout of the authors' plates is not in the source. There are no cell-free wells except four
//! rows of the ancestor file of the CIP experiment (`NoCellsIndices25to28`): the authors' fits
//! of those rows give no IC50 (they are dropped), and as blanks here they would be the
//! background of one ancestor isolate and not of the others, so they are kept as `empty` wells.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

/// The source file with the raw reads.
pub const RAW: &str = "raw_od_dose_response_tidy.csv";
/// The authors' population-level time series.
pub const TIMESERIES: &str = "ic50_timeseries_TempData_tidy.csv";

/// Name of the ancestor line measured in one experiment (`WT_CIP-CRO`).
pub fn ancestor_line(selecting: &str, test: &str) -> String {
    format!("WT_{selecting}-{test}")
}

/// The lineage of the isolates selected with a drug (`CIP-selected`).
pub fn lineage(selecting: &str) -> String {
    format!("{selecting}-selected")
}

/// Name of the line of a lineage's isolates sampled on a day (`CIP-selected_d2`).
pub fn day_line(selecting: &str, day: u32) -> String {
    format!("{}_d{day}", lineage(selecting))
}

/// Builds (wells.csv, lines.csv) as text.
pub fn build(source: &Path) -> Result<(String, String), Box<dyn Error>> {
    let mut rdr = csv::Reader::from_path(source.join(RAW))?;
    let head = rdr.headers()?.clone();
    let col = |name: &str| -> Result<usize, Box<dyn Error>> {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{RAW}: no column `{name}`").into())
    };
    let (c_sel, c_test, c_time, c_read, c_row, c_iso, c_rep, c_blank, c_conc, c_od) = (
        col("selecting_drug")?,
        col("test_drug")?,
        col("timepoint")?,
        col("read_time_h")?,
        col("plate_row_index")?,
        col("isolate")?,
        col("tech_rep")?,
        col("blank_no_cells")?,
        col("conc")?,
        col("od")?,
    );
    // Rows of the source matrices: (file order, row index) → its cells, in file order.
    type Row = Vec<csv::StringRecord>;
    let mut files: Vec<String> = Vec::new();
    let mut rows: BTreeMap<(usize, u32), Row> = BTreeMap::new();
    for r in rdr.records() {
        let r = r?;
        let file = r[0].to_string();
        let f = match files.iter().position(|x| *x == file) {
            Some(f) => f,
            None => {
                files.push(file);
                files.len() - 1
            }
        };
        let row: u32 = r[c_row].parse()?;
        rows.entry((f, row)).or_default().push(r);
    }

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
        "tech_rep",
        "read_time_h",
    ])?;
    // (selecting, test) in file order, and the days of each.
    let mut experiments: Vec<(String, String, Vec<u32>)> = Vec::new();
    for ((f, row), cells) in &rows {
        let first = &cells[0];
        let (sel, test, time) = (&first[c_sel], &first[c_test], &first[c_time]);
        let day: Option<u32> = match time {
            "WT" => None,
            t => Some(
                t.strip_prefix("day")
                    .ok_or_else(|| format!("{}: time point `{t}`", files[*f]))?
                    .parse()?,
            ),
        };
        let e = match experiments
            .iter()
            .position(|(s, t, _)| s == sel && t == test)
        {
            Some(e) => e,
            None => {
                experiments.push((sel.to_string(), test.to_string(), Vec::new()));
                experiments.len() - 1
            }
        };
        if let Some(d) = day {
            if !experiments[e].2.contains(&d) {
                experiments[e].2.push(d);
            }
        }
        let line = match day {
            None => ancestor_line(sel, test),
            Some(d) => day_line(sel, d),
        };
        let plate = format!("{sel}-{test}_{time}_p{}", (row - 1) / 8 + 1);
        let row_letter = (b'A' + ((row - 1) % 8) as u8) as char;
        if cells.len() != 12 {
            return Err(format!(
                "{} row {row}: {} cells, expected 12",
                files[*f],
                cells.len()
            )
            .into());
        }
        for (j, c) in cells.iter().enumerate() {
            let conc: f64 = c[c_conc].parse()?;
            let no_cells = &c[c_blank] == "1";
            let (cell_line, drug, conc_text, role) = if no_cells {
                ("", "", String::new(), "empty")
            } else if conc == 0.0 {
                (line.as_str(), "", String::new(), "vehicle")
            } else {
                (line.as_str(), test, c[c_conc].to_string(), "sample")
            };
            wells.write_record([
                plate.as_str(),
                &format!("{row_letter}{}", j + 1),
                cell_line,
                drug,
                &conc_text,
                role,
                &c[c_od],
                if no_cells { "" } else { &c[c_iso] },
                &c[c_rep],
                &c[c_read],
            ])?;
        }
    }

    let mut lines = csv::Writer::from_writer(Vec::new());
    lines.write_record([
        "cell_line",
        "parental_line",
        "selected_with",
        "lineage",
        "evolution_time",
    ])?;
    for (sel, test, _) in &experiments {
        lines.write_record([ancestor_line(sel, test).as_str(), "", "", "", "0"])?;
    }
    for (sel, test, days) in &mut experiments {
        days.sort_unstable();
        for d in days.iter() {
            lines.write_record([
                day_line(sel, *d).as_str(),
                &ancestor_line(sel, test),
                sel,
                &lineage(sel),
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
        eprintln!("usage: build_maltas_wood SOURCE_DIR ASSAY_DIR");
        std::process::exit(2);
    }
    let (source, out) = (Path::new(&args[0]), Path::new(&args[1]));
    let (wells, lines) = build(source)?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("wells.csv"), wells)?;
    std::fs::write(out.join("lines.csv"), lines)?;
    let raw_dir = out.join("raw");
    if source.canonicalize()? != raw_dir.canonicalize().unwrap_or_default() {
        std::fs::create_dir_all(&raw_dir)?;
        for f in [RAW, TIMESERIES] {
            std::fs::copy(source.join(f), raw_dir.join(f))?;
        }
    }
    println!("wrote {}", out.display());
    Ok(())
}
