//! Builds the bundled assay `assays/nichol2019/` from Nichol et al. 2019's Supplementary Table 2.
//!
//! ```text
//! cargo run --example build_nichol2019 -- SOURCE_DIR ASSAY_DIR
//! ```
//! `SOURCE_DIR` holds `Supplementary_Table_2.xls` (as in `../shared/data/nichol2019-ecoli-cs-mic/`
//! or `assays/nichol2019/raw/`). Writes `mics.csv` (the passage-10 MICs as a MIC table: one row
//! per population, drug and replicate measurement) and `lines.csv` (each population X1–X60
//! evolved in cefotaxime, compared with `Parent`) into `ASSAY_DIR`, and copies the workbook
//! into `ASSAY_DIR/raw/` when the source is elsewhere.
//!
//! Sheet `Passage 10`: a header row (`CFT_1, CFT_2, CFT_3, CFT_mle, CFT_pval, CFZ_1, …`), then
//! `Parent` and `X1` … `X60`, one row each. The three measurements of each drug become the
//! replicates `1`, `2`, `3`; the authors' `_mle` and `_pval` columns are what we compare with
//! (tests/nichol2019.rs), not inputs.

use std::error::Error;
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

/// The workbook's file name.
pub const WORKBOOK: &str = "Supplementary_Table_2.xls";
/// The sheet of the passage-10 MICs.
pub const SHEET: &str = "Passage 10";
/// The ancestor every population is compared with.
pub const PARENTAL: &str = "Parent";
/// The drug the populations evolved in (as abbreviated in the workbook).
pub const SELECTED_WITH: &str = "CTX";
/// Passages of evolution before the MICs were measured.
pub const PASSAGE: u32 = 10;

/// One population × drug of the workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCell {
    /// `Parent` or `X1` … `X60`.
    pub line: String,
    /// Drug abbreviation.
    pub drug: String,
    /// The three MIC measurements.
    pub mics: [f64; 3],
    /// The authors' maximum-likelihood MIC.
    pub mle: f64,
    /// The authors' likelihood-ratio p-value against the parent (none for the parent).
    pub p_value: Option<f64>,
}

/// Every population × drug of sheet `Passage 10`, in sheet order (rows, then drugs).
pub fn published(source: &Path) -> Result<Vec<PublishedCell>, Box<dyn Error>> {
    let mut workbook = open_workbook_auto(source.join(WORKBOOK))?;
    let range = workbook.worksheet_range(SHEET)?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or("the sheet is empty")?
        .iter()
        .map(|c| c.to_string())
        .collect();
    // Drugs in header order: every `<drug>_1` column starts a block of five.
    let drugs: Vec<(String, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_suffix("_1").map(|d| (d.to_string(), i)))
        .collect();
    for (drug, i) in &drugs {
        for (k, what) in ["_2", "_3", "_mle", "_pval"].iter().enumerate() {
            if header.get(i + 1 + k).map(String::as_str) != Some(&format!("{drug}{what}")) {
                return Err(format!("column {} is not {drug}{what}", i + 2 + k).into());
            }
        }
    }
    let number = |c: &Data| -> Option<f64> {
        match c {
            Data::Float(f) => Some(*f),
            Data::Int(i) => Some(*i as f64),
            _ => None,
        }
    };
    let mut out = Vec::new();
    for row in rows {
        let line = row.first().map(|c| c.to_string()).unwrap_or_default();
        if line.is_empty() {
            continue;
        }
        for (drug, i) in &drugs {
            let cell = |k: usize| -> Result<f64, Box<dyn Error>> {
                row.get(i + k).and_then(number).ok_or_else(|| {
                    format!("{line}, {drug}: column {} is not a number", i + k + 1).into()
                })
            };
            let p_value = row.get(i + 4).and_then(number);
            if line != PARENTAL && p_value.is_none() {
                return Err(format!("{line}, {drug}: no p-value").into());
            }
            out.push(PublishedCell {
                line: line.clone(),
                drug: drug.clone(),
                mics: [cell(0)?, cell(1)?, cell(2)?],
                mle: cell(3)?,
                p_value,
            });
        }
    }
    Ok(out)
}

/// Builds (mics.csv, lines.csv) as text.
pub fn build(source: &Path) -> Result<(String, String), Box<dyn Error>> {
    let cells = published(source)?;
    let mut mics = csv::Writer::from_writer(Vec::new());
    mics.write_record(["cell_line", "drug", "replicate", "mic", "mic_qualifier"])?;
    let mut lines = csv::Writer::from_writer(Vec::new());
    lines.write_record([
        "cell_line",
        "parental_line",
        "selected_with",
        "lineage",
        "evolution_time",
    ])?;
    lines.write_record([PARENTAL, "", "", "", ""])?;
    for c in &cells {
        for (r, mic) in c.mics.iter().enumerate() {
            mics.write_record([
                c.line.as_str(),
                &c.drug,
                &(r + 1).to_string(),
                &collateral::text::format_number(*mic),
                "=",
            ])?;
        }
    }
    let mut populations: Vec<&str> = cells
        .iter()
        .map(|c| c.line.as_str())
        .filter(|l| *l != PARENTAL)
        .collect();
    populations.dedup();
    if populations.len() != 60 {
        return Err(format!("expected 60 populations, found {}", populations.len()).into());
    }
    for p in populations {
        lines.write_record([p, PARENTAL, SELECTED_WITH, p, &PASSAGE.to_string()])?;
    }
    Ok((
        String::from_utf8(mics.into_inner()?)?,
        String::from_utf8(lines.into_inner()?)?,
    ))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: build_nichol2019 SOURCE_DIR ASSAY_DIR");
        std::process::exit(2);
    }
    let (source, out) = (Path::new(&args[0]), Path::new(&args[1]));
    let (mics, lines) = build(source)?;
    std::fs::create_dir_all(out.join("raw"))?;
    std::fs::write(out.join("mics.csv"), mics)?;
    std::fs::write(out.join("lines.csv"), lines)?;
    let copy = out.join("raw").join(WORKBOOK);
    let from = source.join(WORKBOOK);
    if std::fs::canonicalize(&from)? != std::fs::canonicalize(&copy).unwrap_or_default() {
        // Bytes only: a copy of the permissions would keep a read-only source read-only here.
        std::fs::write(&copy, std::fs::read(&from)?)?;
    }
    println!("wrote {}", out.display());
    Ok(())
}
