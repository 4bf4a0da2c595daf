//! Output tables (`wells.csv`, `qc.csv`) from the stages' results. Column names and order are contracts (DESIGN.md).
//!
//! Floats are written in Rust's shortest round-trip form, so a value read back is bit-identical
//! and the same run gives the same bytes.

use std::io::Write;

pub mod read;
pub mod record;
pub mod run_json;
pub mod tables;
pub mod well_rows;

use rayon::prelude::*;

use crate::output::record::{named, write_records, Cell, Fields, Record};
use crate::plate::PlateFormat;
use crate::qc::{PlateQc, Spatial, Verdict, WellOutcome};
use crate::read::inputs::SkippedPlate;
use crate::wells::{Signal, WellTable};

/// The leading columns of `wells.csv` (and of the tidy wells table), in order; `replicate`,
/// `time` and the inputs' extra columns follow when present.
pub const WELL_COLUMNS: [&str; 7] = crate::wells::COLUMNS;

/// The columns `wells.csv` adds after the inputs' columns: normalized viability and exclusion.
pub const WELL_OUTCOME_COLUMNS: [&str; 3] = ["viability", "excluded", "exclusion_reason"];

/// The column of GR values `wells.csv` ends with in runs with growth data.
pub const WELL_GR_COLUMN: &str = "gr";

/// The column of replicate labels `wells.csv` has after [`WELL_COLUMNS`] when the inputs have one.
pub const WELL_REPLICATE_COLUMN: &str = "replicate";

/// The column of read times (hours) `wells.csv` has after the replicates when the inputs have one.
pub const WELL_TIME_COLUMN: &str = "time";

/// Writes `wells.csv`: the tidy columns, optional/extra columns, then viability and exclusion.
pub(crate) fn write_wells(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: &[WellOutcome],
) -> std::io::Result<()> {
    write_wells_with(w, table, Some(outcomes))
}

/// Writes `wells.csv` with a `gr` column after `exclusion_reason`: the GR value of each read
/// (runs with growth data; empty where a read has none).
pub(crate) fn write_wells_with_gr(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: &[WellOutcome],
    gr: &[Option<f64>],
) -> std::io::Result<()> {
    write_wells_inner(w, table, Some(outcomes), Some(gr))
}

/// Writes the tidy wells table as read (the inputs' columns, without viability and
/// exclusion): what a layout joined to a plate export gives, in the form an assay's `wells`
/// table takes.
pub fn write_tidy_wells(w: &mut dyn Write, table: &WellTable) -> std::io::Result<()> {
    write_wells_with(w, table, None)
}

/// The columns of `wells.csv` for `table`: the tidy columns, `replicate` and `time` when the
/// table has them, its extra columns, then with `outcomes` viability and exclusion, and with
/// `gr` the GR values: the one header its writer and its typed columns use.
pub fn wells_header(table: &WellTable, outcomes: bool, gr: bool) -> Vec<&str> {
    let mut header: Vec<&str> = WELL_COLUMNS.to_vec();
    if table.has_replicate {
        header.push(WELL_REPLICATE_COLUMN);
    }
    if table.has_time {
        header.push(WELL_TIME_COLUMN);
    }
    header.extend(table.extra_columns.iter().map(String::as_str));
    if outcomes {
        header.extend(WELL_OUTCOME_COLUMNS);
    }
    if gr {
        header.push(WELL_GR_COLUMN);
    }
    header
}

fn write_wells_with(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: Option<&[WellOutcome]>,
) -> std::io::Result<()> {
    write_wells_inner(w, table, outcomes, None)
}

fn write_wells_inner(
    w: &mut dyn Write,
    table: &WellTable,
    outcomes: Option<&[WellOutcome]>,
    gr: Option<&[Option<f64>]>,
) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(&mut *w);
    out.write_record(wells_header(table, outcomes.is_some(), gr.is_some()))?;
    out.flush()?;
    drop(out);
    // Rows are formatted in parallel, a block of wells per task, and written in order while
    // the next blocks are formatted: the bytes are those of one writer, at the speed of all
    // cores, holding only two windows of blocks in memory.
    const BLOCK: usize = 1 << 14;
    let n = outcomes.map_or(table.wells.len(), |o| table.wells.len().min(o.len()));
    let blocks: Vec<std::ops::Range<usize>> = (0..n)
        .step_by(BLOCK)
        .map(|start| start..(start + BLOCK).min(n))
        .collect();
    // Each name as a CSV field once, not once per well.
    let names: Vec<Vec<u8>> = (0..table.wells.name_count() as u32)
        .map(|id| {
            let mut field = Vec::new();
            push_field(&mut field, table.wells.name(id).as_bytes());
            field
        })
        .collect();
    let rows = WellRows {
        table,
        outcomes,
        gr,
        names: &names,
    };
    let window = 2 * rayon::current_num_threads().max(1);
    let format = |group: &[std::ops::Range<usize>]| -> Vec<Vec<u8>> {
        group
            .par_iter()
            .map(|range| rows.format(range.clone()))
            .collect()
    };
    let mut groups = blocks.chunks(window);
    let mut ready = groups.next().map(format).unwrap_or_default();
    loop {
        let next = groups.next();
        if ready.is_empty() && next.is_none() {
            break;
        }
        // The writer stays on this thread; the pool formats the next window meanwhile.
        let mut formatted = Vec::new();
        let written = rayon::in_place_scope(|scope| {
            scope.spawn(|_| formatted = next.map(format).unwrap_or_default());
            ready.iter().try_for_each(|text| w.write_all(text))
        });
        written?;
        ready = formatted;
    }
    w.flush()
}

/// Writes `field` as the csv crate writes a field: quoted, with quotes doubled, when it holds
/// a comma, a quote or a line end; followed by nothing (the caller writes separators).
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// What the rows of `wells.csv` are made of.
struct WellRows<'a> {
    table: &'a WellTable,
    outcomes: Option<&'a [WellOutcome]>,
    gr: Option<&'a [Option<f64>]>,
    /// Every name of the table as a CSV field, by id.
    names: &'a [Vec<u8>],
}

impl WellRows<'_> {
    /// The rows of the wells in `range`, as CSV text. Written byte by byte rather than through
    /// a csv writer (a tenth of a large run): every field is a name (escaped once), a number,
    /// a fixed word or a text escaped by [`push_field`], as the csv crate escapes them.
    fn format(&self, range: std::ops::Range<usize>) -> Vec<u8> {
        let table = self.table;
        let mut out = Vec::with_capacity(range.len() * 112);
        let mut text = String::new();
        let mut number = |out: &mut Vec<u8>, v: Option<f64>| {
            match v {
                Some(x) if x.is_finite() => {
                    crate::text::format_number_into(&mut text, x);
                    out.extend_from_slice(text.as_bytes());
                }
                // Never produced by the readers; written as std writes it rather than lost.
                Some(x) => out.extend_from_slice(x.to_string().as_bytes()),
                None => {}
            }
        };
        let mut well_name = String::new();
        for i in range {
            let well = table.wells.get(i);
            let [plate, cell_line, drug, replicate] = table.wells.name_ids(i);
            out.extend_from_slice(&self.names[plate as usize]);
            out.push(b',');
            well.position.write_name(&mut well_name);
            out.extend_from_slice(well_name.as_bytes());
            out.push(b',');
            out.extend_from_slice(&self.names[cell_line as usize]);
            out.push(b',');
            out.extend_from_slice(&self.names[drug as usize]);
            out.push(b',');
            number(&mut out, well.concentration);
            out.push(b',');
            out.extend_from_slice(well.role.as_str().as_bytes());
            out.push(b',');
            match &well.signal {
                Signal::Value(v) => number(&mut out, Some(*v)),
                Signal::NotNumeric(t) => push_field(&mut out, t.as_bytes()),
            }
            if table.has_replicate {
                out.push(b',');
                out.extend_from_slice(&self.names[replicate as usize]);
            }
            if table.has_time {
                out.push(b',');
                number(&mut out, well.time);
            }
            for x in well.extra {
                out.push(b',');
                push_field(&mut out, x.as_bytes());
            }
            if let Some(o) = self.outcomes.map(|o| &o[i]) {
                out.push(b',');
                number(&mut out, o.viability);
                out.extend_from_slice(if o.excluded { b",true," } else { b",false," });
                push_field(&mut out, o.exclusion_reason.as_bytes());
            }
            if let Some(gr) = self.gr {
                out.push(b',');
                number(&mut out, gr[i]);
            }
            out.push(b'\n');
        }
        out
    }
}

/// The columns of `qc.csv`, in order.
pub const QC_COLUMNS: [&str; 26] = [
    "plate",
    "cell_line",
    "replicate",
    "plate_size",
    "n_vehicle",
    "n_blank",
    "n_sample",
    "n_flagged",
    "mean_vehicle",
    "sd_vehicle",
    "mean_blank",
    "sd_blank",
    "blank_source",
    "z_prime",
    "cv_vehicle",
    "signal_to_background",
    "ssmd",
    "edge_effect",
    "edge_effect_p",
    "row_trend",
    "row_trend_p",
    "column_trend",
    "column_trend_p",
    "spatial_flag",
    "verdict",
    "reason",
];

/// Writes `qc.csv`.
pub fn write_qc(w: &mut dyn Write, rows: &[PlateQc]) -> std::io::Result<()> {
    write_qc_with_skipped(w, rows, &[])
}

/// Writes `qc.csv` with, after the judged rows, one `fail` row per plate a `--keep-going` run
/// left out: the plate and why in `reason`, every other column empty, since nothing on it was
/// measured. The plate then fails where users look for failed plates, not only in a log.
pub(crate) fn write_qc_with_skipped(
    w: &mut dyn Write,
    rows: &[PlateQc],
    skipped: &[SkippedPlate],
) -> std::io::Result<()> {
    write_records(w, &qc_rows(rows, skipped))
}

/// The rows of `qc.csv`: the judged units, then the plates a `--keep-going` run left out.
pub fn qc_rows(rows: &[PlateQc], skipped: &[SkippedPlate]) -> Vec<QcRow> {
    let judged = rows.iter().map(|r| QcRow::Judged(Box::new(r.clone())));
    let left_out = skipped.iter().map(|s| QcRow::LeftOut {
        plate: s.plate.clone(),
        reason: format!("plate left out (--keep-going): {}", s.reason()),
    });
    judged.chain(left_out).collect()
}

/// One row of `qc.csv`: a judged plate unit, or a plate a `--keep-going` run left out (only
/// its plate, verdict `fail` and reason written; it has no plate size).
#[derive(Debug, Clone, PartialEq)]
pub enum QcRow {
    /// A plate unit (plate, cell line, replicate) or a plate's pooled row, judged.
    Judged(Box<PlateQc>),
    /// A plate that could not be read.
    LeftOut {
        /// The plate.
        plate: String,
        /// Why, as written (`plate left out (--keep-going): …`).
        reason: String,
    },
}

impl Record for QcRow {
    const FILE: &'static str = "qc.csv";
    const COLUMNS: &'static [&'static str] = &QC_COLUMNS;

    fn cells(&self, _: usize) -> Vec<Cell<'_>> {
        let r = match self {
            QcRow::Judged(r) => r,
            QcRow::LeftOut { plate, reason } => {
                return QC_COLUMNS
                    .iter()
                    .map(|&c| match c {
                        "plate" => Cell::text(plate),
                        "verdict" => named(Verdict::Fail),
                        "reason" => Cell::text(reason),
                        _ => Cell::Absent,
                    })
                    .collect();
            }
        };
        let number = |x: Option<f64>| Cell::Number(x.unwrap_or(f64::NAN));
        let pair = |t: Option<(f64, f64)>| [number(t.map(|x| x.0)), number(t.map(|x| x.1))];
        let mut cells = vec![
            Cell::text(&r.plate),
            Cell::text(r.cell_line.as_deref().unwrap_or("")),
            Cell::text(&r.replicate),
            Cell::Count(u64::from(r.format.wells())),
            Cell::count(r.n_vehicle),
            Cell::count(r.n_blank),
            Cell::count(r.n_sample),
            Cell::count(r.n_flagged),
            number(r.mean_vehicle),
            number(r.sd_vehicle),
            number(r.mean_blank),
            number(r.sd_blank),
            named(r.blank_source),
            number(r.z_prime),
            number(r.cv_vehicle),
            number(r.signal_to_background),
            number(r.ssmd),
        ];
        cells.extend(pair(r.spatial.edge_effect));
        cells.extend(pair(r.spatial.row_trend));
        cells.extend(pair(r.spatial.column_trend));
        cells.extend([
            Cell::Flag(r.spatial_flag),
            named(r.verdict),
            Cell::text(&r.reason),
        ]);
        cells
    }

    fn read(f: &mut Fields) -> crate::Result<QcRow> {
        let (plate, cell_line, replicate) = (f.text(), f.text(), f.text());
        let Some(size) = f.optional_count()? else {
            // A plate left out: nothing but its verdict and reason.
            for _ in 4..QC_COLUMNS.len() - 2 {
                f.text();
            }
            f.named::<Verdict>()?;
            let reason = f.text();
            return Ok(QcRow::LeftOut { plate, reason });
        };
        let format = u32::try_from(size)
            .ok()
            .and_then(PlateFormat::from_wells)
            .ok_or_else(|| f.invalid("6, 12, 24, 48, 96, 384 or 1536 wells"))?;
        let (n_vehicle, n_blank, n_sample, n_flagged) =
            (f.count()?, f.count()?, f.count()?, f.count()?);
        let number = |f: &mut Fields| f.number().map(|x| (!x.is_nan()).then_some(x));
        let (mean_vehicle, sd_vehicle, mean_blank, sd_blank) =
            (number(f)?, number(f)?, number(f)?, number(f)?);
        let blank_source = f.named()?;
        let (z_prime, cv_vehicle, signal_to_background, ssmd) =
            (number(f)?, number(f)?, number(f)?, number(f)?);
        let pair = |f: &mut Fields| -> crate::Result<Option<(f64, f64)>> {
            let (a, b) = (f.number()?, f.number()?);
            Ok((!(a.is_nan() && b.is_nan())).then_some((a, b)))
        };
        let spatial = Spatial {
            edge_effect: pair(f)?,
            row_trend: pair(f)?,
            column_trend: pair(f)?,
        };
        Ok(QcRow::Judged(Box::new(PlateQc {
            plate,
            cell_line: (!cell_line.is_empty()).then_some(cell_line),
            replicate,
            format,
            n_vehicle,
            n_blank,
            n_sample,
            n_flagged,
            mean_vehicle,
            sd_vehicle,
            mean_blank,
            sd_blank,
            blank_source,
            z_prime,
            cv_vehicle,
            signal_to_background,
            ssmd,
            spatial,
            spatial_flag: f.flag()?,
            verdict: f.named()?,
            reason: f.text(),
        })))
    }
}

/// What a column of an output table holds, for readers that want typed columns (the Python
/// package's DataFrames, the workbook): the CSV cell is the same text either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Names and words, kept as written even when they look like numbers (`replicate` `1`).
    Text,
    /// A 64-bit float; an empty cell is a value that does not exist (NaN).
    Number,
    /// A whole number (a count, a rank); an empty cell is absent.
    Count,
    /// `true` or `false`; an empty cell is absent.
    Flag,
}

/// Columns that name things (plates, wells, lines, drugs, replicates, batches, runs, calls):
/// text even when every value looks like a number.
pub(crate) const IDENTITY_COLUMNS: [&str; 15] = [
    "plate",
    "well",
    "cell_line",
    "drug",
    "replicate",
    "batch",
    "resistant_line",
    "parental_line",
    "selected_with",
    "cycle",
    "run",
    "parental_run",
    "call",
    "status",
    "lineage",
];

/// Words of the contract tables other than names: roles, qualifiers, reasons, settings.
const WORD_COLUMNS: [&str; 29] = [
    "role",
    "signal",
    "message",
    "model",
    "plateaus",
    "robust",
    "ic50_qualifier",
    "log2_fc_qualifier",
    "qualifier_resistant",
    "qualifier_parental",
    "blank_source",
    "verdict",
    "reason",
    "exclusion_reason",
    "metric",
    "last_call",
    "course",
    "sequence",
    "mic_qualifier",
    "next_drug",
    "gr50_qualifier",
    "gr_status",
    "gr_message",
    "gr_source",
    "dip_status",
    "dip_message",
    "evidence",
    "evidence_agreement",
    "reported_cross_resistance",
];

const COUNT_COLUMNS: [&str; 30] = [
    "n_points",
    "plate_size",
    "n_vehicle",
    "n_blank",
    "n_sample",
    "n_flagged",
    "dof",
    "n_outliers",
    "iterations",
    "rank",
    "length",
    "n_lineages",
    "n_cs",
    "n_cr",
    "n_neutral",
    "n_undetermined",
    "n_times",
    "call_changes",
    "slope_points",
    "support",
    "switches_left",
    "n_concentrations",
    "skipped_wells",
    "gr_n_points",
    "gr_dof",
    "gr_aoc_dof",
    "dip_n_wells",
    "dip_dof",
    "n_reads",
    "n_fitted",
];

const FLAG_COLUMNS: [&str; 6] = [
    "scorable",
    "excluded",
    "spatial_flag",
    "converged",
    "outlier",
    "cross_resistant",
];

/// The kind of column `column` of the output table `file` (a file name such as `fits.csv`),
/// or `None` when the contract does not fix it: the user's own extra columns carried through
/// `wells.csv`, and unknown columns of other tables (a reader then goes by the values). `signal` is text because it is the
/// reading as written (`OVRFLW` included); `viability` is its number. The wide tables are
/// fixed by file: every drug column of `matrix.csv` is a number, of `calls.csv` a call.
///
/// ```
/// use collateral::output::{column_kind, ColumnKind};
/// assert_eq!(column_kind("fits.csv", "ic50"), Some(ColumnKind::Number));
/// assert_eq!(column_kind("wells.csv", "replicate"), Some(ColumnKind::Text));
/// assert_eq!(column_kind("matrix.csv", "TET"), Some(ColumnKind::Number));
/// assert_eq!(column_kind("calls.csv", "TET"), Some(ColumnKind::Text));
/// assert_eq!(column_kind("wells.csv", "day"), None);
/// ```
pub fn column_kind(file: &str, column: &str) -> Option<ColumnKind> {
    if IDENTITY_COLUMNS.contains(&column) || WORD_COLUMNS.contains(&column) {
        return Some(ColumnKind::Text);
    }
    if COUNT_COLUMNS.contains(&column) {
        return Some(ColumnKind::Count);
    }
    if FLAG_COLUMNS.contains(&column) {
        return Some(ColumnKind::Flag);
    }
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name {
        "calls.csv" => Some(ColumnKind::Text),
        "matrix.csv" => Some(ColumnKind::Number),
        "wells.csv" if !KNOWN_WELL_NUMBERS.contains(&column) => None,
        "wells.csv"
        | "qc.csv"
        | "fits.csv"
        | "fits_by_replicate.csv"
        | "fits_by_batch.csv"
        | "shifts.csv"
        | "mics.csv"
        | "cycles.csv"
        | "likelihood.csv"
        | "trajectories.csv"
        | "stability.csv"
        | "plan.csv"
        | "policy.csv"
        | "dip_rates.csv" => Some(ColumnKind::Number),
        _ => None,
    }
}

/// The numeric columns of `wells.csv`; any other column there is the user's own.
pub(crate) const KNOWN_WELL_NUMBERS: [&str; 4] = ["concentration", "time", "viability", "gr"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields are escaped exactly as the csv crate escapes them (wells.csv was written by it).
    #[test]
    fn fields_are_escaped_as_csv_escapes_them() {
        for field in [
            "",
            "P001",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "cr\rhere",
            "\"",
            ",",
            " x ",
            "µM",
            "plate QC failed: z' < 0.5; signal not numeric: `OVRFLW`",
        ] {
            let mut ours = Vec::new();
            push_field(&mut ours, field.as_bytes());
            let mut theirs = csv::Writer::from_writer(Vec::new());
            theirs.write_record(["x", field]).unwrap();
            let theirs = theirs.into_inner().unwrap();
            assert_eq!(
                format!("x,{}\n", String::from_utf8(ours).unwrap()),
                String::from_utf8(theirs).unwrap(),
                "{field:?}"
            );
        }
    }

    /// A table whose names, signals and extra values need quoting writes the rows the csv
    /// crate writes.
    #[test]
    fn well_rows_are_the_csv_crates_rows() {
        let text = "plate,well,cell_line,drug,concentration,role,signal,replicate,note\n\
                    \"P,1\",B03,\"line \"\"A\"\"\",d,0.5,sample,\"OVR,FLW\",r1,\"a\nb\"\n\
                    \"P,1\",B2,\"line \"\"A\"\"\",,,vehicle,100,r1,\n";
        let mut t = crate::table::Table::from_bytes(text.as_bytes(), std::path::Path::new("w.csv"))
            .unwrap();
        let table = WellTable::from_table(&mut t, None).unwrap();
        let outcomes = vec![
            WellOutcome {
                viability: Some(0.25),
                excluded: true,
                exclusion_reason: "signal not numeric: `OVR,FLW`".into(),
            },
            WellOutcome {
                viability: Some(1.0),
                excluded: false,
                exclusion_reason: "".into(),
            },
        ];
        let mut ours = Vec::new();
        write_wells(&mut ours, &table, &outcomes).unwrap();
        let mut theirs = csv::Writer::from_writer(Vec::new());
        theirs
            .write_record([
                "plate",
                "well",
                "cell_line",
                "drug",
                "concentration",
                "role",
                "signal",
                "replicate",
                "note",
                "viability",
                "excluded",
                "exclusion_reason",
            ])
            .unwrap();
        theirs
            .write_record([
                "P,1",
                "B3",
                "line \"A\"",
                "d",
                "0.5",
                "sample",
                "OVR,FLW",
                "r1",
                "a\nb",
                "0.25",
                "true",
                "signal not numeric: `OVR,FLW`",
            ])
            .unwrap();
        theirs
            .write_record([
                "P,1",
                "B2",
                "line \"A\"",
                "",
                "",
                "vehicle",
                "100",
                "r1",
                "",
                "1",
                "false",
                "",
            ])
            .unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(theirs.into_inner().unwrap()).unwrap()
        );
    }
}
