//! The MIC table: `mics.csv` written, and a MIC table read (this tool's or one made
//! elsewhere).

use std::collections::HashMap;
use std::path::Path;

use super::{Mic, MicQualifier};
use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::table::{field, Table};
use crate::text::Cell;

/// Columns of `mics.csv`.
pub const MIC_COLUMNS: [&str; 8] = [
    "cell_line",
    "drug",
    "replicate",
    "mic",
    "mic_qualifier",
    "n_concentrations",
    "skipped_wells",
    "message",
];

/// Writes `mics.csv`.
pub fn write_mics(w: &mut dyn std::io::Write, mics: &[Mic]) -> std::io::Result<()> {
    crate::text::write_rows(w, &MIC_COLUMNS, mics.iter().map(Mic::cells))
}

impl Mic {
    /// The row's cells, in the order of [`MIC_COLUMNS`]: what `mics.csv` writes (`collateral
    /// merge` adds its `run`) and its typed frame holds (`output::tables` reads them back).
    pub fn cells(&self) -> Vec<Cell<'_>> {
        vec![
            Cell::text(&self.cell_line),
            Cell::text(&self.drug),
            Cell::text(&self.replicate),
            Cell::Number(self.mic),
            Cell::text(self.qualifier.symbol()),
            Cell::count(self.n_concentrations),
            Cell::count(self.skipped_wells),
            Cell::text(&self.message),
        ]
    }
}

/// Whether a table is a MIC table (it has a `mic` column) rather than a fits table.
pub fn is_mic_table(path: &Path) -> Result<bool> {
    Ok(Table::open(path)?.column("mic").is_some())
}

/// Reads a MIC table: `cell_line, drug, replicate, mic` and optionally `mic_qualifier` (`=` or
/// empty, `>`, `<=`); other columns (this tool's `mics.csv` has more) are ignored. The
/// qualifier may also lead the `mic` cell (`>256`, `<=0.03`). One row per measurement: a
/// (cell line, drug, replicate) may appear once. Every problem names its file and line.
pub fn read_mics(path: &Path) -> Result<Vec<Mic>> {
    mics_of_table(&mut Table::open(path)?)
}

/// [`read_mics`] on a table already opened: a file, or a table held in memory (the R
/// package's data frames), whose `path` problems name.
// Long because it reads one column after another (the qualifier in its own column or leading
// the cell) with every problem located; pieces would scatter the table's column rules.
pub fn mics_of_table(t: &mut Table<'_>) -> Result<Vec<Mic>> {
    let c_line = t.require("cell_line")?;
    let c_drug = t.require("drug")?;
    let c_rep = t.require("replicate")?;
    let c_mic = t.require("mic")?;
    let c_qual = t.column("mic_qualifier");
    let c_n = t.column("n_concentrations");
    let c_skipped = t.column("skipped_wells");
    let c_message = t.column("message");
    let c_batch = t.column("batch");
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = t.next_row(&mut rec)? {
        let at = t.at(line);
        let mut bad = |message: String| {
            problems.push(Problem {
                location: at.clone(),
                message,
            })
        };
        let (cell_line, drug, replicate) = (
            field(&rec, Some(c_line)),
            field(&rec, Some(c_drug)),
            field(&rec, Some(c_rep)),
        );
        if cell_line.is_empty() || drug.is_empty() {
            bad("`cell_line` and `drug` must not be empty".into());
            continue;
        }
        let raw = field(&rec, Some(c_mic));
        // A qualifier leading the number (`>256`, `<=0.03`, `≤0.03`).
        let (inline, number) = [
            ("<=", MicQualifier::AtOrBelow),
            ("≤", MicQualifier::AtOrBelow),
            (">", MicQualifier::Above),
        ]
        .iter()
        .find_map(|(prefix, q)| raw.strip_prefix(prefix).map(|rest| (Some(*q), rest.trim())))
        .unwrap_or((None, raw));
        let written = field(&rec, c_qual);
        let qualifier = match (inline, MicQualifier::parse(written)) {
            (_, None) => {
                bad(format!(
                    "`mic_qualifier` is `{written}`; expected =, > or <= (or an empty cell)"
                ));
                continue;
            }
            (Some(a), Some(b)) if written.is_empty() || a == b => a,
            (Some(a), Some(_)) => {
                bad(format!(
                    "`mic` is `{raw}` (qualifier {}) but `mic_qualifier` is `{written}`; give the qualifier once",
                    a.symbol()
                ));
                continue;
            }
            (None, Some(b)) => b,
        };
        let mic: f64 = match number.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => v,
            _ if raw.is_empty() => {
                bad("`mic` is empty; leave the row out when there is no measurement".into());
                continue;
            }
            _ => {
                bad(format!(
                    "`mic` is `{raw}`; expected a positive number, optionally led by > or <="
                ));
                continue;
            }
        };
        let count = |c: Option<usize>, name: &str, bad: &mut dyn FnMut(String)| -> usize {
            match field(&rec, c) {
                "" => 0,
                v => v.parse().unwrap_or_else(|_| {
                    bad(format!("`{name}` is `{v}`; expected a whole number"));
                    0
                }),
            }
        };
        let n_concentrations = count(c_n, "n_concentrations", &mut bad);
        let skipped_wells = count(c_skipped, "skipped_wells", &mut bad);
        let key = (
            cell_line.to_string(),
            drug.to_string(),
            replicate.to_string(),
        );
        if let Some(prev) = seen.insert(key, line) {
            bad(format!(
                "cell line `{cell_line}`, drug `{drug}`, replicate `{replicate}` is measured twice (lines {prev} and {line}); give each replicate its own label"
            ));
            continue;
        }
        out.push(Mic {
            cell_line: cell_line.to_string(),
            drug: drug.to_string(),
            replicate: replicate.to_string(),
            mic,
            qualifier,
            n_concentrations,
            skipped_wells,
            message: field(&rec, c_message).to_string(),
            batch: field(&rec, c_batch).to_string(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// A located error for a MIC table used where it does not fit.
pub fn not_a_fits_table(path: &Path) -> Error {
    Error::config(
        Location::file(path).at_line(1),
        format!(
            "{} is a MIC table (it has a `mic` column); compare it with metric mic (`--metric mic`)",
            path.display()
        ),
    )
}
