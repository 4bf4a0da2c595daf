//! Builds the bundled assay `assays/dhawan2017/` from Dhawan et al. 2017's published curves.
//!
//! ```text
//! cargo run --example build_dhawan -- SOURCE_DIR ASSAY_DIR
//! ```
//! `SOURCE_DIR` holds `cs_curves_tidy.csv` (as in `../shared/data/dhawan2017-alk-cs/` or
//! `assays/dhawan2017/raw/`). The source has no raw reads: each point is the mean viability in
//! % of untreated over replicate wells. The wells table therefore carries that percentage as the
//! `signal` of one well per concentration, with the 0-dose point as the vehicle well and no blank
//! (the background of a percentage is 0), one 384-well "plate" per cell line: row = test drug,
//! column = concentration. The parental curve is the same experiment repeated on every sheet of
//! the workbook; it is taken once, from the first sheet (CeritR).

use std::collections::BTreeMap;
use std::error::Error;
use std::path::Path;

/// Resistant line (workbook sheet) → the drug it was selected with.
pub const SELECTED_WITH: [(&str, &str); 10] = [
    ("CeritR", "Ceritinib"),
    ("AlecR", "Alectinib"),
    ("CrizR", "Crizotinib"),
    ("LorlR", "Lorlatinib"),
    ("PaclR", "Paclitaxel"),
    ("PemR", "Pemetrexed"),
    ("EtopR", "Etoposide"),
    ("AUY922R", "AUY922"),
    ("GanR", "Ganetespib"),
    ("IPI504R", "IPI504"),
];
/// The parental line's name.
pub const PARENTAL: &str = "H3122";

/// Builds (wells.csv, lines.csv) as text.
pub fn build(source: &Path) -> Result<(String, String), Box<dyn Error>> {
    let mut rdr = csv::Reader::from_path(source.join("cs_curves_tidy.csv"))?;
    // (cell line, drug) → [(conc, viability %)], in file order.
    let mut curves: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    let mut drug_order: Vec<String> = Vec::new();
    let first_sheet = SELECTED_WITH[0].0;
    for r in rdr.records() {
        let r = r?;
        let (sheet, drug, condition) = (&r[0], &r[1], &r[2]);
        let line = match condition {
            "parental" if sheet == first_sheet => PARENTAL.to_string(),
            "resistant" => sheet.to_string(),
            _ => continue,
        };
        if !drug_order.iter().any(|d| d == drug) {
            drug_order.push(drug.to_string());
        }
        curves
            .entry((line, drug.to_string()))
            .or_default()
            .push((r[4].to_string(), r[5].to_string()));
    }
    let mut wells = csv::Writer::from_writer(Vec::new());
    wells.write_record(collateral::wells::COLUMNS)?;
    let mut line_order = vec![PARENTAL.to_string()];
    line_order.extend(SELECTED_WITH.iter().map(|(l, _)| l.to_string()));
    for line in &line_order {
        for (d, drug) in drug_order.iter().enumerate() {
            let Some(points) = curves.get(&(line.clone(), drug.clone())) else {
                return Err(format!("no curve for {line} × {drug}").into());
            };
            let row = (b'A' + d as u8) as char;
            for (c, (conc, viability)) in points.iter().enumerate() {
                let untreated = conc.parse::<f64>()? == 0.0;
                wells.write_record([
                    line.as_str(),
                    &format!("{row}{}", c + 1),
                    line,
                    if untreated { "" } else { drug },
                    if untreated { "" } else { conc },
                    if untreated { "vehicle" } else { "sample" },
                    viability,
                ])?;
            }
        }
    }
    let mut lines = csv::Writer::from_writer(Vec::new());
    lines.write_record(["cell_line", "parental_line", "selected_with"])?;
    lines.write_record([PARENTAL, "", ""])?;
    for (line, drug) in SELECTED_WITH {
        lines.write_record([line, PARENTAL, drug])?;
    }
    let text = |w: csv::Writer<Vec<u8>>| -> Result<String, Box<dyn Error>> {
        Ok(String::from_utf8(w.into_inner()?)?)
    };
    Ok((text(wells)?, text(lines)?))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: build_dhawan SOURCE_DIR ASSAY_DIR");
        std::process::exit(2);
    }
    let (source, out) = (Path::new(&args[0]), Path::new(&args[1]));
    let (wells, lines) = build(source)?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("wells.csv"), wells)?;
    std::fs::write(out.join("lines.csv"), lines)?;
    println!("wrote {}", out.display());
    Ok(())
}
