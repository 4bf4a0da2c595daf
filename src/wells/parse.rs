//! Parsing the rows of a wells table, a block at a time and each row on its own: what a row
//! says (plate, well, role, names, numbers) and what is wrong with it by itself. What depends
//! on other rows is [`super::read`]'s.

use std::collections::HashMap;

use crate::error::{did_you_mean, Error};
use crate::plate::{PlateFormat, WellPos};
use crate::table::{field, RowBlock};
use crate::units::TargetUnit;

use super::{Role, Signal, ROLE_NAMES};

pub(super) const READ_BLOCK: usize = 1 << 19;

/// Where the wells table's columns are.
pub(super) struct Columns {
    pub(super) plate: usize,
    pub(super) well: usize,
    pub(super) cell_line: usize,
    pub(super) drug: usize,
    pub(super) concentration: usize,
    pub(super) role: usize,
    pub(super) signal: usize,
    pub(super) replicate: Option<usize>,
    pub(super) time: Option<usize>,
    pub(super) plate_size: Option<usize>,
    pub(super) extra: Vec<usize>,
    /// The assay's concentration unit, into which a concentration written with a unit suffix
    /// is converted (`None`: a suffix is an error, there is nothing to convert into).
    pub(super) unit: Option<TargetUnit>,
}

/// The rows of one block, parsed and checked each on its own; what depends on other rows is
/// left to the reader that takes them in order.
pub(super) struct ParsedBlock {
    /// The block's names (plates, lines, drugs, replicates), each once.
    pub(super) names: Vec<String>,
    pub(super) rows: Vec<ParsedRow>,
    /// The row that could not be read (fields, UTF-8), after `rows`.
    pub(super) error: Option<Error>,
}

/// One row of a [`ParsedBlock`]: what every row has inline, the rest boxed (most rows have
/// none of it, and a block holds thousands of rows).
pub(super) struct ParsedRow {
    pub(super) line: u64,
    /// Plate, cell line, drug and replicate, as indices into the block's names.
    pub(super) names: [u32; 4],
    pub(super) position: Option<WellPos>,
    pub(super) role: Role,
    pub(super) concentration: Option<f64>,
    pub(super) signal: Signal,
    pub(super) time: Option<f64>,
    pub(super) rare: Option<Box<RareFields>>,
}

/// The parts of a row most rows do not have.
#[derive(Default)]
pub(super) struct RareFields {
    /// The well as written, when that is not its canonical name (`B03`, `b3`, unparsable).
    pub(super) well_text: Option<Box<str>>,
    /// Why the row cannot be a well (its position or role), after its plate is noted.
    pub(super) rejected: Option<String>,
    /// Problems of the row that leave it a well.
    pub(super) problems: Vec<String>,
    /// The `plate_size` cell: the number of wells, or why it is not a plate size.
    pub(super) plate_size: Option<std::result::Result<u32, String>>,
    pub(super) extra: Vec<String>,
}

impl ParsedRow {
    fn rare(&mut self) -> &mut RareFields {
        self.rare.get_or_insert_with(Default::default)
    }
}

/// Names of one block, each given an index once.
#[derive(Default)]
struct BlockNames {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    /// The last index given per column: neighbouring rows mostly share their names.
    recent: [u32; 4],
}

impl BlockNames {
    fn intern(&mut self, column: usize, s: &str) -> u32 {
        let recent = self.recent[column];
        if self.names.get(recent as usize).is_some_and(|n| n == s) {
            return recent;
        }
        let id = match self.ids.get(s) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(s.to_string());
                self.ids.insert(s.to_string(), id);
                id
            }
        };
        self.recent[column] = id;
        id
    }
}

/// Parses and checks the rows of one block, each on its own.
pub(super) fn parse_block(block: &RowBlock, c: &Columns) -> ParsedBlock {
    let mut names = BlockNames::default();
    // Rows of a wells table take some 70 bytes: room for them at once, not by doubling.
    let mut rows = Vec::with_capacity(block.byte_len() / 48 + 1);
    let mut error = None;
    let mut reader = block.rows();
    let mut rec = csv::StringRecord::new();
    let mut canonical = String::new();
    loop {
        match reader.next_row(&mut rec) {
            Ok(Some(line)) => rows.push(parse_row(&rec, line, c, &mut names, &mut canonical)),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    ParsedBlock {
        names: names.names,
        rows,
        error,
    }
}

/// One row on its own: its plate and well first (a row without them is only noted), then its
/// role and names, then the fields its role asks for. `canonical` is a buffer for the well's
/// canonical name.
fn parse_row(
    rec: &csv::StringRecord,
    line: u64,
    c: &Columns,
    names: &mut BlockNames,
    canonical: &mut String,
) -> ParsedRow {
    let plate = field(rec, Some(c.plate));
    let well_name = field(rec, Some(c.well));
    let mut row = ParsedRow {
        line,
        names: [names.intern(0, plate), 0, 0, 0],
        position: None,
        role: Role::Empty,
        concentration: None,
        signal: Signal::Value(0.0),
        time: None,
        rare: None,
    };
    if plate.is_empty() {
        row.rare().well_text = Some(well_name.into());
        return row;
    }
    let position = match WellPos::parse(well_name) {
        Ok(p) => p,
        Err(msg) => {
            let rare = row.rare();
            rare.well_text = Some(well_name.into());
            rare.rejected = Some(msg);
            return row;
        }
    };
    position.write_name(canonical);
    if canonical != well_name {
        row.rare().well_text = Some(well_name.into());
    }
    row.position = Some(position);
    let role_text = field(rec, Some(c.role));
    let Some(role) = Role::parse(role_text) else {
        row.rare().rejected = Some(format!(
            "unknown role `{role_text}`{}; expected one of: {}",
            did_you_mean(role_text, &ROLE_NAMES),
            ROLE_NAMES.join(", ")
        ));
        return row;
    };
    row.role = role;
    let cell_line = field(rec, Some(c.cell_line));
    let drug = field(rec, Some(c.drug));
    row.names[1] = names.intern(1, cell_line);
    row.names[2] = names.intern(2, drug);
    row.names[3] = names.intern(3, field(rec, c.replicate));
    let conc_text = field(rec, Some(c.concentration));
    let mut bad = Vec::new();
    match role {
        Role::Sample => {
            row.concentration =
                sample_concentration(cell_line, drug, conc_text, c.unit.as_ref(), &mut bad);
        }
        Role::Vehicle | Role::Blank => {
            check_control(role, cell_line, drug, conc_text, c.unit.as_ref(), &mut bad)
        }
        Role::Empty => {}
    }
    row.time = parse_time(field(rec, c.time), &mut bad);
    if !bad.is_empty() {
        row.rare().problems = bad;
    }
    if let Some(col) = c.plate_size {
        let s = field(rec, Some(col));
        if !s.is_empty() {
            row.rare().plate_size = Some(parse_plate_size(s));
        }
    }
    row.signal = Signal::parse(field(rec, Some(c.signal)));
    if !c.extra.is_empty() {
        row.rare().extra = c
            .extra
            .iter()
            .map(|&i| field(rec, Some(i)).to_string())
            .collect();
    }
    row
}

/// A sample well's concentration, noting in `bad` what a sample well lacks (its line, its
/// drug, a positive concentration).
fn sample_concentration(
    cell_line: &str,
    drug: &str,
    conc_text: &str,
    unit: Option<&TargetUnit>,
    bad: &mut Vec<String>,
) -> Option<f64> {
    if cell_line.is_empty() {
        bad.push("sample well without a `cell_line`".into());
    }
    if drug.is_empty() {
        bad.push("sample well without a `drug`; untreated wells are role `vehicle`".into());
    }
    match parse_concentration(conc_text, unit) {
        Ok(c) => Some(c),
        Err(msg) => {
            bad.push(msg);
            None
        }
    }
}

/// Notes in `bad` what a control well (vehicle or blank) carries that it must not, or lacks.
fn check_control(
    role: Role,
    cell_line: &str,
    drug: &str,
    conc_text: &str,
    unit: Option<&TargetUnit>,
    bad: &mut Vec<String>,
) {
    if !drug.is_empty() {
        bad.push(format!(
            "{role} well with drug `{drug}`; controls carry no drug (use role `sample` for treated wells)"
        ));
    }
    if !conc_text.is_empty() && concentration_value(conc_text, unit) != Ok(Some(0.0)) {
        bad.push(format!(
            "{role} well with concentration `{conc_text}`; controls carry no concentration"
        ));
    }
    if role == Role::Vehicle && cell_line.is_empty() {
        bad.push("vehicle well without a `cell_line`; only empty wells and cell-free blanks may leave it empty".into());
    }
}

/// The `time` cell in hours (`None` when empty), noting in `bad` one that is not a number.
fn parse_time(text: &str, bad: &mut Vec<String>) -> Option<f64> {
    match text {
        "" => None,
        t => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                bad.push(format!("`time` is `{t}`; expected hours as a number"));
                None
            }
        },
    }
}

/// A `plate_size` cell: the number of wells of a known plate format, or why it is not one.
fn parse_plate_size(s: &str) -> std::result::Result<u32, String> {
    match s.parse::<u32>().ok().and_then(PlateFormat::from_wells) {
        None => Err(format!(
            "`plate_size` is `{s}`; expected 6, 12, 24, 48, 96, 384 or 1536"
        )),
        Some(f) => Ok(f.wells()),
    }
}

/// A concentration cell in the assay's unit (see [`concentration_value`]).
fn parse_concentration(text: &str, unit: Option<&TargetUnit>) -> std::result::Result<f64, String> {
    if text.is_empty() {
        return Err("sample well without a `concentration`".into());
    }
    match concentration_value(text, unit)? {
        None => Err(format!("concentration `{text}` is not a number")),
        Some(c) => positive_concentration(text, c),
    }
}

/// The number of a concentration cell, converted into the assay's unit when it carries a unit
/// suffix; `None` when it is not a number; an error when its suffix cannot be converted.
fn concentration_value(
    text: &str,
    unit: Option<&TargetUnit>,
) -> std::result::Result<Option<f64>, String> {
    if let Ok(v) = text.parse::<f64>() {
        return Ok(Some(v));
    }
    match (unit, crate::units::split_unit(text)) {
        (_, None) => Ok(None),
        (None, Some(_)) => Err(format!(
            "concentration `{text}` carries a unit, and there is no assay `concentration_unit` to convert it into; write the number alone"
        )),
        (Some(unit), Some(_)) => match unit.value(text) {
            None => Ok(None),
            Some(v) => v.map(Some).map_err(|e| format!("concentration {e}")),
        },
    }
}

/// A sample's concentration must be a positive finite number.
fn positive_concentration(text: &str, c: f64) -> std::result::Result<f64, String> {
    if !c.is_finite() {
        Err(format!("concentration `{text}` is not a finite number"))
    } else if c < 0.0 {
        Err(format!("concentration `{text}` is negative"))
    } else if c == 0.0 {
        Err(
            "sample well at concentration 0; untreated wells are role `vehicle` (a dose-response curve needs positive doses)"
                .into(),
        )
    } else {
        Ok(c)
    }
}
