//! Vendor export shapes beyond plain grid blocks, and format detection.
//!
//! Grid blocks ([`crate::read::grid`]) already cover Gen5 text `Results`, BMG MARS, EnVision,
//! SkanIt, Kaleido and plater-style grids. Here: SoftMax Pro `Plate:` blocks (no row letters,
//! wavelengths side by side), well-as-column tables (Gen5 Excel and kinetic, SoftMax
//! `TimeFormat`) and well-per-row lists (Tecan Magellan, Biomek).

use std::collections::HashSet;

use crate::plate::WellPos;
use crate::read::grid::{column_runs, is_computed_name, GridCell, Read};
use crate::read::sheet::Sheet;

/// The export formats we recognise. `Grid` is any file of plate-shaped blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Agilent/BioTek Gen5 text or Excel export.
    Gen5,
    /// BMG LABTECH MARS CSV (PHERAstar, CLARIOstar …) or SMART Control workbook.
    BmgMars,
    /// PerkinElmer/Revvity EnVision CSV.
    EnVision,
    /// Molecular Devices SoftMax Pro text export.
    SoftMax,
    /// Tecan Magellan workbook (one row per well).
    Magellan,
    /// Tecan SparkControl export.
    Spark,
    /// Thermo SkanIt workbook.
    SkanIt,
    /// Revvity Kaleido/EnSight CSV.
    Kaleido,
    /// Plate-shaped blocks (plater style) in CSV, TSV or a workbook.
    Grid,
}

/// Names accepted for `format = "…"`, with the format each names.
pub const FORMAT_NAMES: [(&str, Format); 9] = [
    ("gen5", Format::Gen5),
    ("bmg", Format::BmgMars),
    ("envision", Format::EnVision),
    ("softmax", Format::SoftMax),
    ("magellan", Format::Magellan),
    ("spark", Format::Spark),
    ("skanit", Format::SkanIt),
    ("kaleido", Format::Kaleido),
    ("grid", Format::Grid),
];

impl Format {
    /// The name used in `format = "…"` and in messages.
    pub fn name(&self) -> &'static str {
        FORMAT_NAMES
            .iter()
            .find(|(_, f)| f == self)
            .map_or("grid", |(n, _)| n)
    }

    /// Parses a `format` value (case-insensitive).
    pub fn parse(s: &str) -> Option<Format> {
        let l = s.trim().to_ascii_lowercase();
        FORMAT_NAMES.iter().find(|(n, _)| *n == l).map(|(_, f)| *f)
    }
}

/// Recognises the export format from the first rows of each sheet.
pub(crate) fn detect(sheets: &[Sheet]) -> Format {
    for s in sheets {
        let head: Vec<&str> = (0..s.rows.len().min(40)).map(|r| s.first_text(r)).collect();
        let has = |p: &str| head.iter().any(|t| t.starts_with(p));
        let any_cell = |p: &str| {
            s.rows
                .iter()
                .take(40)
                .any(|row| row.iter().any(|c| c.starts_with(p)))
        };
        if has("##BLOCKS") {
            return Format::SoftMax;
        }
        if has("Software Version")
            && (has("Reader Type") || has("Procedure Details") || has("Plate Number"))
        {
            return Format::Gen5;
        }
        if has("Plate information") {
            return Format::EnVision;
        }
        if has("User:") && any_cell("Test name") || has("Test ID") {
            return Format::BmgMars;
        }
        if any_cell("Well positions") {
            return Format::Magellan;
        }
        let contains = |p: &str| {
            s.rows
                .iter()
                .take(40)
                .any(|row| row.iter().any(|c| c.contains(p)))
        };
        if contains("SparkControl") || contains("Tecan i-control") {
            return Format::Spark;
        }
        if has("Measurement results") {
            return Format::SkanIt;
        }
        if has("EnSight Results") {
            return Format::Kaleido;
        }
    }
    Format::Grid
}

/// The reads of one sheet in the given format.
pub(crate) fn reads_of(sheet: &Sheet, index: usize, format: Format) -> Vec<Read> {
    match format {
        Format::SoftMax => softmax(sheet, index),
        Format::Magellan => {
            let mut r = well_list(sheet, index);
            r.extend(crate::read::grid::scan(sheet, index));
            r
        }
        _ => {
            let mut r = crate::read::grid::scan(sheet, index);
            r.extend(well_columns(sheet, index));
            r.extend(well_list(sheet, index));
            r.extend(kinetic_well_rows(sheet, index));
            r
        }
    }
}

/// Tecan kinetic sections (SparkControl, i-control): a label line, `Cycle Nr.`, `Time [s]`,
/// `Temp. [°C]` rows, then one row per well (`C1,0.1074,…`), one value per cycle. Each cycle is
/// a read named `LABEL cycle N` (`LABEL` alone when there is one cycle).
pub(crate) fn kinetic_well_rows(sheet: &Sheet, index: usize) -> Vec<Read> {
    let mut reads = Vec::new();
    let mut r = 0;
    while r < sheet.rows.len() {
        if !sheet.cell(r, 0).starts_with("Cycle Nr") {
            r += 1;
            continue;
        }
        let cycles: Vec<String> = sheet.rows[r]
            .iter()
            .skip(1)
            .take_while(|c| !c.is_empty())
            .cloned()
            .collect();
        let label = (0..r)
            .rev()
            .find(|&i| !sheet.blank(i))
            .map_or("kinetic", |i| sheet.first_text(i))
            .to_string();
        let mut per_cycle: Vec<Vec<GridCell>> = vec![Vec::new(); cycles.len()];
        let mut i = r + 1;
        while i < sheet.rows.len() {
            let first = sheet.cell(i, 0);
            if first.starts_with("Time") || first.starts_with("Temp") {
                i += 1;
                continue;
            }
            let Ok(pos) = WellPos::parse(first) else {
                break;
            };
            for (k, cells) in per_cycle.iter_mut().enumerate() {
                let t = sheet.cell(i, k + 1);
                if !t.is_empty() {
                    cells.push(GridCell {
                        pos,
                        text: t.to_string(),
                        row: i,
                    });
                }
            }
            i += 1;
        }
        let single = cycles.len() == 1;
        for (k, cells) in per_cycle.into_iter().enumerate() {
            if cells.is_empty() {
                continue;
            }
            reads.push(Read {
                name: if single {
                    label.clone()
                } else {
                    format!("{label} cycle {}", cycles[k])
                },
                computed: false,
                layout: false,
                cells,
                columns: 0,
                rows: 0,
                header_row: r,
                sheet: index,
            });
        }
        r = i;
    }
    reads
}

/// SoftMax Pro `Plate:` blocks. Field 3 says `PlateFormat` (grids, one per wavelength side by
/// side, rows in order without letters) or `TimeFormat` (wells as columns). Read names are
/// `PLATE:WAVELENGTH` (`Plate01:450`).
fn softmax(sheet: &Sheet, index: usize) -> Vec<Read> {
    let mut reads = Vec::new();
    let mut r = 0;
    while r < sheet.rows.len() {
        if sheet.cell(r, 0) != "Plate:" {
            r += 1;
            continue;
        }
        let name = sheet.cell(r, 1).to_string();
        let kind = sheet.cell(r, 3).to_string();
        let fields = &sheet.rows[r];
        let raw = !fields
            .iter()
            .take(9)
            .any(|c| c.eq_ignore_ascii_case("Reduced"));
        let (wavelengths, declared_rows) = softmax_geometry(fields);
        let end = (r + 1..sheet.rows.len())
            .find(|&i| sheet.first_text(i) == "~End")
            .unwrap_or(sheet.rows.len());
        if kind == "TimeFormat" {
            let sub = Sheet {
                source: sheet.source.clone(),
                rows: sheet.rows[r + 1..end].to_vec(),
                lines: sheet.lines[r + 1..end].to_vec(),
                delimiter: sheet.delimiter,
            };
            // The first row is the reading; SoftMax repeats it below without temperature.
            if let Some(mut read) = well_columns(&sub, index).into_iter().next() {
                read.name = match wavelengths.first() {
                    Some(w) => format!("{name}:{w}"),
                    None => name.clone(),
                };
                read.header_row += r + 1;
                for c in &mut read.cells {
                    c.row += r + 1;
                }
                read.computed |= !raw;
                reads.push(read);
            }
        } else if r + 1 < end {
            let h = r + 1;
            let blocks = softmax_time_blocks(sheet, h, end);
            let kinetic = blocks.len() > 1;
            let runs = column_runs(&sheet.rows[h]);
            for &(b0, b1) in &blocks {
                let time = sheet.cell(b0, 0);
                for (k, &(start, n)) in runs.iter().enumerate() {
                    let wl = wavelengths
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| (k + 1).to_string());
                    let mut read = Read {
                        name: if kinetic && !time.is_empty() {
                            format!("{name}:{wl} {time}")
                        } else {
                            format!("{name}:{wl}")
                        },
                        computed: !raw,
                        layout: false,
                        cells: Vec::new(),
                        columns: n as u16,
                        rows: declared_rows.unwrap_or((b1 - b0) as u16),
                        header_row: h,
                        sheet: index,
                    };
                    for (row, i) in (b0..b1).enumerate() {
                        for c in 0..n {
                            let t = sheet.cell(i, start + c);
                            if !t.is_empty() {
                                read.cells.push(GridCell {
                                    pos: WellPos {
                                        row: row as u16,
                                        column: c as u16,
                                    },
                                    text: t.to_string(),
                                    row: i,
                                });
                            }
                        }
                    }
                    reads.push(read);
                }
            }
        }
        r = end + 1;
    }
    reads
}

/// The time blocks of a SoftMax `PlateFormat` plate whose header is row `h`, up to row `end`:
/// kinetic plates repeat the grid once per read, each block starting with its time in the
/// first cell and separated by a blank line; endpoint plates have one block.
fn softmax_time_blocks(sheet: &Sheet, h: usize, end: usize) -> Vec<(usize, usize)> {
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut i = h + 1;
    while i < end {
        if sheet.blank(i) {
            i += 1;
            continue;
        }
        // A later block belongs to this read only if it starts with a time; SoftMax may append
        // a second rendering of the plate (its own header) after a blank.
        let timed = sheet.cell(i, 0).contains(':');
        if !blocks.is_empty() && !timed || !column_runs(&sheet.rows[i]).is_empty() {
            break;
        }
        let start = i;
        while i < end && !sheet.blank(i) && i - start < 32 {
            i += 1;
        }
        blocks.push((start, i));
    }
    blocks
}

/// The wavelengths and row count of a SoftMax `Plate:` header. The fields end in
/// `…, WAVELENGTHS, FIRST_COLUMN, COLUMNS, PLATE_SIZE, FIRST_ROW, ROWS`; the plate size is found
/// as the first well count preceded by a first column and a column count that fit it.
fn softmax_geometry(fields: &[String]) -> (Vec<String>, Option<u16>) {
    let int = |i: usize| fields.get(i).and_then(|c| c.trim().parse::<u32>().ok());
    for p in 3..fields.len() {
        let Some(f) = int(p).and_then(crate::plate::PlateFormat::from_wells) else {
            continue;
        };
        let (Some(first), Some(cols)) = (int(p - 2), int(p - 1)) else {
            continue;
        };
        if first >= 1 && cols >= 1 && first + cols - 1 <= u32::from(f.columns) {
            let wl = fields[p - 3]
                .split_whitespace()
                .map(str::to_string)
                .collect();
            let rows = int(p + 2)
                .filter(|&n| n >= 1 && n <= u32::from(f.rows))
                .map(|n| n as u16);
            return (wl, rows);
        }
    }
    (Vec::new(), None)
}

/// Well-as-column tables: a header row of well names (`A1 … H12`), then one row per read
/// whose name is the text left of the first well column (Gen5 Excel `OD600:600`, kinetic
/// time points). Rows with no value are padding (Gen5's unrun kinetic reads) and skipped.
pub(crate) fn well_columns(sheet: &Sheet, index: usize) -> Vec<Read> {
    let mut reads = Vec::new();
    let mut r = 0;
    while r < sheet.rows.len() {
        let row = &sheet.rows[r];
        let wells: Vec<(usize, WellPos)> = row
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let t = c.trim();
                (t.len() >= 2 && t.as_bytes()[0].is_ascii_uppercase())
                    .then(|| WellPos::parse(t).ok().map(|w| (i, w)))
                    .flatten()
            })
            .collect();
        // A real header starts at A1 and names each well once; a layout grid of sample ids
        // (`S1 S2 …`) does not.
        let distinct: HashSet<WellPos> = wells.iter().map(|w| w.1).collect();
        if wells.len() < 3
            || wells[0].1 != (WellPos { row: 0, column: 0 })
            || distinct.len() != wells.len()
        {
            r += 1;
            continue;
        }
        let first = wells[0].0;
        let mut i = r + 1;
        while i < sheet.rows.len() && !sheet.blank(i) {
            let name: Vec<&str> = (0..first)
                .map(|c| sheet.cell(i, c))
                .filter(|c| !c.is_empty())
                .collect();
            let name = name.first().copied().unwrap_or("").to_string();
            let cells: Vec<GridCell> = wells
                .iter()
                .filter_map(|&(c, pos)| {
                    let t = sheet.cell(i, c);
                    (!t.is_empty()).then(|| GridCell {
                        pos,
                        text: t.to_string(),
                        row: i,
                    })
                })
                .collect();
            if !cells.is_empty() {
                let layout =
                    name.eq_ignore_ascii_case("content") || name.eq_ignore_ascii_case("layout");
                reads.push(Read {
                    computed: !layout && is_computed_name(&name),
                    layout,
                    name: if name.is_empty() {
                        "wells".into()
                    } else {
                        name
                    },
                    cells,
                    columns: 0,
                    rows: 0,
                    header_row: r,
                    sheet: index,
                });
            }
            i += 1;
        }
        r = i;
    }
    reads
}

/// Well-per-row lists: a header with a well column (`Well`, `Well positions`, `Wells`) and
/// value columns; one read per value column, named by its header. The list ends at the first
/// row whose well is not a well name or repeats (Biomek appends other robot records).
pub(crate) fn well_list(sheet: &Sheet, index: usize) -> Vec<Read> {
    let mut reads = Vec::new();
    for h in 0..sheet.rows.len().min(50) {
        let row = &sheet.rows[h];
        let Some(wc) = row.iter().position(|c| {
            let l = c.to_ascii_lowercase();
            l == "well" || l == "wells" || l == "well positions" || l == "well position"
        }) else {
            continue;
        };
        let skip = [
            "plate",
            "sequentialid",
            "name",
            "barcode",
            "volume",
            "content",
            "well",
            "wells",
        ];
        let value_cols: Vec<usize> = row
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                *i != wc && !c.is_empty() && !skip.contains(&c.to_ascii_lowercase().as_str())
            })
            .map(|(i, _)| i)
            .collect();
        let mut seen = HashSet::new();
        let mut cells: Vec<Vec<GridCell>> = vec![Vec::new(); value_cols.len()];
        let mut i = h + 1;
        while i < sheet.rows.len() {
            let Ok(pos) = WellPos::parse(sheet.cell(i, wc)) else {
                break;
            };
            if !seen.insert(pos) {
                break;
            }
            for (k, &c) in value_cols.iter().enumerate() {
                let t = sheet.cell(i, c);
                if !t.is_empty() {
                    cells[k].push(GridCell {
                        pos,
                        text: t.to_string(),
                        row: i,
                    });
                }
            }
            i += 1;
        }
        if seen.is_empty() {
            continue;
        }
        for (k, c) in value_cols.iter().enumerate() {
            if cells[k].is_empty() {
                continue;
            }
            let name = sheet.cell(h, *c).to_string();
            reads.push(Read {
                computed: is_computed_name(&name),
                layout: false,
                name,
                cells: std::mem::take(&mut cells[k]),
                columns: 0,
                rows: 0,
                header_row: h,
                sheet: index,
            });
        }
        break;
    }
    reads
}
