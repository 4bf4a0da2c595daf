//! Plate-shaped blocks in a sheet: the one shape every reader writes.
//!
//! A block is a header row of consecutive column numbers (`1 2 … 12`, `01 … 24`, `1.0 …`)
//! followed by rows whose cell left of the first number is a row letter (`A`…`P`, `AA`…`AF`,
//! or lower case). Several blocks per sheet, side-by-side blocks, and Gen5's stacked reads
//! (a lettered row followed by unlabelled rows, each ending with its read label) are found.
//! The block's name is its corner cell (plater's variable name) or the text line above it
//! (`Results`, `Raw Data (450)`, `Results for A450(1) …`).

use crate::plate::{PlateFormat, WellPos, FORMATS};
use crate::read::sheet::Sheet;

/// One cell of a plate-shaped block.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// The well.
    pub pos: WellPos,
    /// The text as written (trimmed).
    pub text: String,
    /// Index of the sheet row it came from.
    pub row: usize,
}

/// One read: a value per well, from a grid block or another vendor shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The name a user picks it by (`read = "…"`).
    pub name: String,
    /// Computed by the vendor software (normalized, blank-corrected, crosstalk…), not raw.
    pub computed: bool,
    /// A layout the reader software embeds (Gen5 `Layout`), not a reading.
    pub layout: bool,
    /// Cells, in file order; empty cells are left out.
    pub cells: Vec<GridCell>,
    /// Number of columns the block's header declares (0 when it has none).
    pub columns: u16,
    /// Number of rows the file declares, when it does (SoftMax).
    pub rows: u16,
    /// Sheet row of the block's header, for messages.
    pub(crate) header_row: usize,
    /// Index of the sheet this read came from.
    pub sheet: usize,
}

impl Read {
    /// The smallest standard plate holding the declared columns and every well.
    pub fn format(&self) -> Option<PlateFormat> {
        let max_row = self.cells.iter().map(|c| c.pos.row + 1).max().unwrap_or(0);
        let max_col = self
            .cells
            .iter()
            .map(|c| c.pos.column + 1)
            .max()
            .unwrap_or(0);
        let rows = max_row.max(self.rows);
        let cols = max_col.max(self.columns);
        FORMATS
            .iter()
            .copied()
            .find(|f| f.rows >= rows && f.columns >= cols)
    }
}

/// Parses a column-number header cell: `1`, `01`, `1.0`.
fn column_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let v: f64 = s.parse().ok()?;
    (v.fract() == 0.0 && (1.0..=48.0).contains(&v)).then_some(v as u32)
}

/// Runs of consecutive column numbers starting at 1 in a row: (first cell index, length).
pub(crate) fn column_runs(row: &[String]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < row.len() {
        if column_number(&row[i]) == Some(1) {
            let mut n = 1;
            while i + n < row.len() && column_number(&row[i + n]) == Some(n as u32 + 1) {
                n += 1;
            }
            if (2..=48).contains(&n) {
                runs.push((i, n));
            }
            i += n;
        } else {
            i += 1;
        }
    }
    runs
}

/// A row label: the 0-based row (upper-case reading) and whether it was written lower case.
pub(crate) fn row_label(s: &str) -> Option<(u16, bool)> {
    let b = s.as_bytes();
    let lower = b.iter().all(|c| c.is_ascii_lowercase());
    let up = s.to_ascii_uppercase();
    let u = up.as_bytes();
    let row = match u.len() {
        1 if u[0].is_ascii_uppercase() => u16::from(u[0] - b'A'),
        2 if u[0] == b'A' && (b'A'..=b'F').contains(&u[1]) => 26 + u16::from(u[1] - b'A'),
        _ => return None,
    };
    if !(lower || b.iter().all(|c| c.is_ascii_uppercase())) {
        return None;
    }
    Some((row, lower))
}

/// Every plate-shaped block of a sheet, as reads. `sheet` is the sheet's index in its file.
pub fn scan(sheet: &Sheet, sheet_index: usize) -> Vec<Read> {
    let mut reads = Vec::new();
    let mut r = 0;
    while r < sheet.rows.len() {
        let runs = column_runs(&sheet.rows[r]);
        let mut used = 0;
        for &(start, n) in &runs {
            if start == 0 {
                continue; // no room for row labels
            }
            // Side-by-side grids share the row letters of the first one.
            let own = row_label(sheet.cell(r + 1, start - 1)).is_some();
            let label_col = if own { start - 1 } else { runs[0].0.max(1) - 1 };
            let (block, last) = block_at(sheet, sheet_index, r, label_col, start, n);
            used = used.max(last);
            reads.extend(block);
        }
        r = used.max(r) + 1;
    }
    reads
}

/// The reads of the block whose header is row `h` with column 1 at cell `start`; also the last
/// sheet row the block uses.
fn block_at(
    sheet: &Sheet,
    sheet_index: usize,
    h: usize,
    label_col: usize,
    start: usize,
    n: usize,
) -> (Vec<Read>, usize) {
    let rows = block_rows(sheet, h, label_col, start, n);
    if rows.is_empty() {
        return (Vec::new(), h);
    }
    // Lower-case letters after upper-case ones continue the alphabet (CLARIOstar 1536: `Z`
    // then `a` … `f`); a block written wholly in lower case is just lower case.
    let any_upper = rows.iter().any(|r| !r.1);
    let corner = sheet.cell(h, start - 1);
    // i-control and Spark put `<>` in the corner; that names nothing.
    let title = if !corner.is_empty() && corner != "<>" {
        corner.to_string()
    } else {
        title_above(sheet, h)
    };
    let labelled = rows
        .iter()
        .any(|r| !r.3.is_empty() && r.3.parse::<f64>().is_err());
    let mut reads: Vec<Read> = Vec::new();
    let mut label_of_sub: std::collections::HashMap<usize, String> = Default::default();
    for (row, lower, sub, trailing, sr) in &rows {
        let row = if *lower && any_upper && *row < 6 {
            26 + row
        } else {
            *row
        };
        // A row whose label is missing (a file cut short mid-row) belongs to the read that
        // the same stacked position carried in the rows before.
        let inherited = if labelled && trailing.is_empty() {
            label_of_sub.get(sub).cloned()
        } else {
            None
        };
        if labelled && !trailing.is_empty() {
            label_of_sub.insert(*sub, trailing.clone());
        }
        let name = if let Some(l) = inherited {
            l
        } else if labelled && !trailing.is_empty() {
            trailing.clone()
        } else if *sub > 0 {
            format!("{title} (row {})", sub + 1)
        } else {
            title.clone()
        };
        let idx = match reads.iter().position(|x| x.name == name) {
            Some(i) => i,
            None => {
                let gen5_computed = labelled && !trailing.contains(':');
                let lname = name.to_ascii_lowercase();
                let layout = lname.contains("layout") || trailing == "Well ID" || title == "Layout";
                reads.push(Read {
                    computed: !layout
                        && (gen5_computed || is_computed_name(&title) || is_computed_name(&name)),
                    layout,
                    name,
                    cells: Vec::new(),
                    columns: n as u16,
                    rows: 0,
                    header_row: h,
                    sheet: sheet_index,
                });
                reads.len() - 1
            }
        };
        for c in 0..n {
            let text = sheet.cell(*sr, start + c);
            if text.is_empty() || row >= 32 {
                continue;
            }
            reads[idx].cells.push(GridCell {
                pos: WellPos {
                    row,
                    column: c as u16,
                },
                text: text.to_string(),
                row: *sr,
            });
        }
    }
    (reads, rows.last().map_or(h, |r| r.4))
}

/// One row of a block: its row letter (and whether written in lower case), its sub-row index
/// (stacked reads), its trailing label and its sheet row.
type BlockRow = (u16, bool, usize, String, usize);

/// The rows of the block whose header is row `h`: each lettered row and the unlabelled rows
/// with values stacked under it, up to the first row that is neither.
fn block_rows(sheet: &Sheet, h: usize, label_col: usize, start: usize, n: usize) -> Vec<BlockRow> {
    let mut rows: Vec<BlockRow> = Vec::new();
    let mut r = h + 1;
    let mut current: Option<(u16, bool)> = None;
    let mut sub = 0;
    while r < sheet.rows.len() {
        let label = sheet.cell(r, label_col);
        let has_values = (start..start + n).any(|c| !sheet.cell(r, c).is_empty());
        if let Some(l) = row_label(label) {
            current = Some(l);
            sub = 0;
        } else if label.is_empty() && current.is_some() && has_values {
            sub += 1;
        } else {
            break;
        }
        let trailing = sheet.cell(r, start + n).to_string();
        let (row, lower) = current.expect("set above");
        rows.push((row, lower, sub, trailing, r));
        r += 1;
    }
    rows
}

/// Whether a block title names values the vendor software computed rather than read.
pub(crate) fn is_computed_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [
        "calculated",
        "corrected",
        "normalized",
        "normalised",
        "ratio",
        "average",
        "concentration",
        "dilution",
    ]
    .iter()
    .any(|w| l.contains(w))
}

/// The text line just above a header (skipping blank rows), as the block's title. A line
/// that announces results (`Result for Luminescence 1`, `Raw Data (450)`) a few lines up wins
/// over a nearer line of metadata (Kaleido puts a barcode row between them).
fn title_above(sheet: &Sheet, h: usize) -> String {
    let mut r = h;
    let mut blanks = 0;
    let mut texts: Vec<&str> = Vec::new();
    while r > 0 && texts.len() < 4 {
        r -= 1;
        if sheet.blank(r) {
            blanks += 1;
            if blanks > 2 {
                break;
            }
            continue;
        }
        let t = sheet.first_text(r);
        // The last row of a previous block is not a title.
        if row_label(t).is_some() {
            break;
        }
        texts.push(t);
    }
    let announces = |t: &&&str| {
        let l = t.to_ascii_lowercase();
        l.starts_with("result") || l.starts_with("raw data") || l.starts_with("calculated")
    };
    texts
        .iter()
        .find(announces)
        .or(texts.first())
        .map_or_else(|| "grid".to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::sheet::text_sheet;
    use std::path::Path;

    fn reads(text: &str) -> Vec<Read> {
        scan(&text_sheet(text, Path::new("g.csv")), 0)
    }

    #[test]
    fn finds_named_blocks_and_lower_case_1536_rows() {
        let r = reads("Drug,1,2,3\nA,x,y,\nB,z,,w\n\nConc,1,2,3\nA,1,2,3\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "Drug");
        assert_eq!(r[0].cells.len(), 4);
        assert_eq!(r[1].name, "Conc");
        let mut t = String::from("Raw\n,");
        t.push_str(
            &(1..=48)
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        t.push_str("\nZ,1\ne,2\n");
        let r = reads(&t);
        assert_eq!(r[0].name, "Raw");
        assert_eq!(r[0].cells[1].pos.to_string(), "AE1");
        assert_eq!(r[0].format().unwrap().wells(), 1536);
        let mut t = String::from("Lum\n,");
        t.push_str(
            &(1..=48)
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        t.push_str("\nAA,1\nAF,2\n");
        let r = reads(&t);
        assert_eq!(r[0].cells[1].pos.to_string(), "AF1");
        let r = reads("Label: OD\n<>,1,2\nA,5,6\n");
        assert_eq!(r[0].name, "Label: OD");
        let r = reads(",1,2\na,5,6\nb,7,8\n");
        assert_eq!(r[0].cells[2].pos.to_string(), "B1");
    }

    #[test]
    fn stacked_gen5_reads_are_split_by_label() {
        let r = reads("Results\n\t1\t2\nA\t5\t6\tLUM:Lum\n\t0.5\t0.6\tNormLum\nB\t7\t8\tLUM:Lum\n\t0.7\t0.8\tNormLum\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "LUM:Lum");
        assert!(!r[0].computed);
        assert_eq!(r[1].name, "NormLum");
        assert!(r[1].computed);
        assert_eq!(r[1].cells[3].text, "0.8");
        // Cut short in row B: its cells still belong to `LUM:Lum`.
        let r = reads("Results\n\t1\t2\nA\t5\t6\tLUM:Lum\n\t0.5\t0.6\tNormLum\nB\t7\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].cells.len(), 3);
    }

    #[test]
    fn side_by_side_and_titles() {
        let r = reads("Raw Data (450)\n\n,1,2,,1,2\nA,1,2,,3,4\n");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "Raw Data (450)");
        assert_eq!(r[1].cells[0].text, "3");
    }
}
