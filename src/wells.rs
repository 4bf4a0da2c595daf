//! The tidy wells table: one row per well, the canonical form of every input.
//!
//! Reading checks the whole table and reports every problem at once, each with file, line,
//! plate and well. A signal that is not a number (`OVRFLW`, `MISSED`, `NaN`, empty …) is not a
//! problem: the well is kept, flagged, and left out of the maths.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use crate::error::{did_you_mean, Error, ErrorKind, Location, Problem, Result};
use crate::plate::{PlateFormat, StrayWells, WellPos};
use crate::table::{field, RowBlock, Table};

/// What a well is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Cells with a drug at a concentration.
    Sample,
    /// Untreated or solvent-only cells: 100 % viable.
    Vehicle,
    /// No cells, or full kill: 0 % viable.
    Blank,
    /// Not used; kept in the outputs.
    Empty,
}

/// The role names as written in tables.
pub const ROLE_NAMES: [&str; 4] = ["sample", "vehicle", "blank", "empty"];

impl Role {
    /// Parses a role name (case-insensitive).
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        [Role::Sample, Role::Vehicle, Role::Blank, Role::Empty]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The name written in tables.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Sample => "sample",
            Role::Vehicle => "vehicle",
            Role::Blank => "blank",
            Role::Empty => "empty",
        }
    }

    /// Vehicle or blank.
    pub fn is_control(&self) -> bool {
        matches!(self, Role::Vehicle | Role::Blank)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A raw reading: a number, or the text the reader wrote instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A finite number.
    Value(f64),
    /// What was written instead (`OVRFLW`, `MISSED`, `NaN`, empty …).
    NotNumeric(String),
}

impl Signal {
    /// Parses a signal field; anything that is not a finite number is kept as text.
    pub fn parse(s: &str) -> Signal {
        let t = s.trim();
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Signal::Value(v),
            _ => Signal::NotNumeric(t.to_string()),
        }
    }

    /// The numeric value, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Signal::Value(v) => Some(*v),
            Signal::NotNumeric(_) => None,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Value(v) => write!(f, "{v}"),
            Signal::NotNumeric(s) => f.write_str(s),
        }
    }
}

/// One well of the tidy table.
#[derive(Debug, Clone, PartialEq)]
pub struct Well {
    /// Plate identifier.
    pub plate: String,
    /// Position on the plate.
    pub position: WellPos,
    /// Cell line; empty for empty wells (and for plate-wide blanks without cells).
    pub cell_line: String,
    /// Drug; empty for controls.
    pub drug: String,
    /// Concentration in the assay's unit; `None` for controls.
    pub concentration: Option<f64>,
    /// What the well is for.
    pub role: Role,
    /// The raw reading.
    pub signal: Signal,
    /// Replicate label, if the table has one.
    pub replicate: String,
    /// Hours since treatment, if the table has a `time` column.
    pub time: Option<f64>,
    /// Values of extra columns, in [`WellTable::extra_columns`] order.
    pub extra: Vec<String>,
    /// The 1-based line it was read from (0 when made in memory).
    pub line: u64,
}

/// A name many wells share (plate, cell line, drug, replicate), stored once per table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Name(Box<str>);

impl Name {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Name {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq<String> for &Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<str> for &Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl AsRef<std::ffi::OsStr> for Name {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_ref().as_ref()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name(s.into())
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0.into()
    }
}

/// The wells of a table, stored by column with every name interned: a 3-million-well screen
/// holds one copy of each plate, line, drug and replicate name and a few dozen bytes per well,
/// instead of a heap string per field per well. Wells are read through [`WellRef`], which has
/// the fields of a [`Well`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wells {
    names: Vec<Name>,
    name_ids: HashMap<Name, u32>,
    plate: Vec<u32>,
    position: Vec<WellPos>,
    cell_line: Vec<u32>,
    drug: Vec<u32>,
    /// The bits of each concentration, [`NO_CONCENTRATION`] for none: a screen's millions of
    /// wells take 8 bytes each here, not the 16 of an `Option<f64>`.
    concentration: Vec<u64>,
    role: Vec<Role>,
    signal: Vec<Signal>,
    replicate: Vec<u32>,
    /// Filled up to the last well with a time; missing entries are `None`.
    time: Vec<Option<f64>>,
    /// Filled up to the last well with extra values; missing entries are empty.
    extra: Vec<Vec<String>>,
    line: Vec<u64>,
    /// The last id given per name column, tried before hashing: neighbouring wells mostly
    /// share their plate, line, drug and replicate.
    recent: [u32; 4],
}

/// The stored bits of "no concentration": a NaN no reader produces (concentrations are
/// checked finite when read).
const NO_CONCENTRATION: u64 = u64::MAX;

/// One well of a [`WellTable`], borrowed from its columns. The fields mirror [`Well`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WellRef<'a> {
    /// Plate identifier.
    pub plate: &'a Name,
    /// Position on the plate.
    pub position: WellPos,
    /// Cell line; empty for empty wells (and for plate-wide blanks without cells).
    pub cell_line: &'a Name,
    /// Drug; empty for controls.
    pub drug: &'a Name,
    /// Concentration in the assay's unit; `None` for controls.
    pub concentration: Option<f64>,
    /// What the well is for.
    pub role: Role,
    /// The raw reading.
    pub signal: &'a Signal,
    /// Replicate label, if the table has one.
    pub replicate: &'a Name,
    /// Hours since treatment, if the table has a `time` column.
    pub time: Option<f64>,
    /// Values of extra columns, in [`WellTable::extra_columns`] order (empty when none).
    pub extra: &'a [String],
    /// The 1-based line it was read from (0 when made in memory).
    pub line: u64,
}

impl WellRef<'_> {
    /// An owned copy of the well.
    pub fn to_well(&self) -> Well {
        Well {
            plate: self.plate.to_string(),
            position: self.position,
            cell_line: self.cell_line.to_string(),
            drug: self.drug.to_string(),
            concentration: self.concentration,
            role: self.role,
            signal: self.signal.clone(),
            replicate: self.replicate.to_string(),
            time: self.time,
            extra: self.extra.to_vec(),
            line: self.line,
        }
    }
}

/// The text fields of a well being added, borrowed (see [`Wells::push_parts`]).
#[derive(Debug, Clone, Copy)]
pub struct WellNames<'a> {
    /// Plate identifier.
    pub plate: &'a str,
    /// Cell line.
    pub cell_line: &'a str,
    /// Drug.
    pub drug: &'a str,
    /// Replicate label.
    pub replicate: &'a str,
}

impl Wells {
    /// No wells.
    pub fn new() -> Wells {
        Wells::default()
    }

    /// Room for `n` wells.
    pub fn with_capacity(n: usize) -> Wells {
        let mut w = Wells::default();
        w.plate.reserve(n);
        w.position.reserve(n);
        w.cell_line.reserve(n);
        w.drug.reserve(n);
        w.concentration.reserve(n);
        w.role.reserve(n);
        w.signal.reserve(n);
        w.replicate.reserve(n);
        w.line.reserve(n);
        w
    }

    /// Number of wells.
    pub fn len(&self) -> usize {
        self.plate.len()
    }

    /// Whether there are no wells.
    pub fn is_empty(&self) -> bool {
        self.plate.is_empty()
    }

    fn intern(&mut self, column: usize, s: &str) -> u32 {
        let recent = self.recent[column];
        if let Some(n) = self.names.get(recent as usize) {
            if n.as_str() == s {
                return recent;
            }
        }
        let id = match self.name_ids.get(s) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
                let name = Name::from(s);
                self.names.push(name.clone());
                self.name_ids.insert(name, id);
                id
            }
        };
        self.recent[column] = id;
        id
    }

    /// Adds a well.
    pub fn push(&mut self, well: Well) {
        let names = WellNames {
            plate: &well.plate,
            cell_line: &well.cell_line,
            drug: &well.drug,
            replicate: &well.replicate,
        };
        let (plate, cell_line, drug, replicate) = (
            self.intern(0, names.plate),
            self.intern(1, names.cell_line),
            self.intern(2, names.drug),
            self.intern(3, names.replicate),
        );
        self.push_ids(
            [plate, cell_line, drug, replicate],
            well.position,
            well.concentration,
            well.role,
            well.signal,
            well.time,
            well.extra,
            well.line,
        );
    }

    /// Adds a well from borrowed names, so a reader of millions of rows allocates nothing per
    /// name.
    #[allow(clippy::too_many_arguments)]
    pub fn push_parts(
        &mut self,
        names: WellNames<'_>,
        position: WellPos,
        concentration: Option<f64>,
        role: Role,
        signal: Signal,
        time: Option<f64>,
        extra: Vec<String>,
        line: u64,
    ) {
        let ids = [
            self.intern(0, names.plate),
            self.intern(1, names.cell_line),
            self.intern(2, names.drug),
            self.intern(3, names.replicate),
        ];
        self.push_ids(
            ids,
            position,
            concentration,
            role,
            signal,
            time,
            extra,
            line,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn push_ids(
        &mut self,
        [plate, cell_line, drug, replicate]: [u32; 4],
        position: WellPos,
        concentration: Option<f64>,
        role: Role,
        signal: Signal,
        time: Option<f64>,
        extra: Vec<String>,
        line: u64,
    ) {
        let i = self.len();
        if time.is_some() {
            self.time.resize(i, None);
            self.time.push(time);
        }
        if !extra.is_empty() {
            self.extra.resize(i, Vec::new());
            self.extra.push(extra);
        }
        self.plate.push(plate);
        self.position.push(position);
        self.cell_line.push(cell_line);
        self.drug.push(drug);
        self.concentration
            .push(concentration.map_or(NO_CONCENTRATION, f64::to_bits));
        self.role.push(role);
        self.signal.push(signal);
        self.replicate.push(replicate);
        self.line.push(line);
    }

    /// The well at `i`.
    ///
    /// # Panics
    /// When `i` is out of range, like slice indexing.
    pub fn get(&self, i: usize) -> WellRef<'_> {
        WellRef {
            plate: &self.names[self.plate[i] as usize],
            position: self.position[i],
            cell_line: &self.names[self.cell_line[i] as usize],
            drug: &self.names[self.drug[i] as usize],
            concentration: match self.concentration[i] {
                NO_CONCENTRATION => None,
                bits => Some(f64::from_bits(bits)),
            },
            role: self.role[i],
            signal: &self.signal[i],
            replicate: &self.names[self.replicate[i] as usize],
            time: self.time.get(i).copied().flatten(),
            extra: self.extra.get(i).map_or(&[][..], Vec::as_slice),
            line: self.line[i],
        }
    }

    /// The wells in order.
    pub fn iter(&self) -> WellIter<'_> {
        WellIter {
            wells: self,
            next: 0,
            end: self.len(),
        }
    }

    /// The first well, if any.
    pub fn first(&self) -> Option<WellRef<'_>> {
        (!self.is_empty()).then(|| self.get(0))
    }

    /// The last well, if any.
    pub fn last(&self) -> Option<WellRef<'_>> {
        (!self.is_empty()).then(|| self.get(self.len() - 1))
    }

    /// Dense ids of each well's (plate, cell line, drug, replicate) names: equal ids mean equal
    /// names, so grouping by them needs no string comparison. Ids index [`Wells::name`].
    pub fn name_ids(&self, i: usize) -> [u32; 4] {
        [
            self.plate[i],
            self.cell_line[i],
            self.drug[i],
            self.replicate[i],
        ]
    }

    /// The distinct names of one name column (0 plate, 1 cell line, 2 drug, 3 replicate), in
    /// id order: found by id, without hashing a name per well.
    pub fn distinct_names(&self, column: usize) -> Vec<&Name> {
        let ids = match column {
            0 => &self.plate,
            1 => &self.cell_line,
            2 => &self.drug,
            _ => &self.replicate,
        };
        let mut seen = vec![false; self.names.len()];
        let mut last = u32::MAX;
        for &id in ids {
            if id != last {
                seen[id as usize] = true;
                last = id;
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(id, _)| &self.names[id])
            .collect()
    }

    /// The name with this id (see [`Wells::name_ids`]).
    pub fn name(&self, id: u32) -> &Name {
        &self.names[id as usize]
    }

    /// Number of distinct names (the bound of the ids).
    pub fn name_count(&self) -> usize {
        self.names.len()
    }

    /// Keeps the wells for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(WellRef<'_>) -> bool) {
        let flags: Vec<bool> = self.iter().map(&mut keep).collect();
        let mut out = Wells {
            names: self.names.clone(),
            name_ids: self.name_ids.clone(),
            ..Wells::default()
        };
        for (i, k) in flags.into_iter().enumerate() {
            if k {
                let w = self.get(i);
                out.push_ids(
                    self.name_ids(i),
                    w.position,
                    w.concentration,
                    w.role,
                    w.signal.clone(),
                    w.time,
                    w.extra.to_vec(),
                    w.line,
                );
            }
        }
        *self = out;
    }
}

/// Iterator over the wells of a table, in order.
#[derive(Debug, Clone)]
pub struct WellIter<'a> {
    wells: &'a Wells,
    next: usize,
    end: usize,
}

impl<'a> Iterator for WellIter<'a> {
    type Item = WellRef<'a>;
    fn next(&mut self) -> Option<WellRef<'a>> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.wells.get(self.next - 1)
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for WellIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        (self.next < self.end).then(|| {
            self.end -= 1;
            self.wells.get(self.end)
        })
    }
}

impl ExactSizeIterator for WellIter<'_> {}

impl<'a> IntoIterator for &'a Wells {
    type Item = WellRef<'a>;
    type IntoIter = WellIter<'a>;
    fn into_iter(self) -> WellIter<'a> {
        self.iter()
    }
}

impl FromIterator<Well> for Wells {
    fn from_iter<I: IntoIterator<Item = Well>>(iter: I) -> Wells {
        let mut w = Wells::new();
        w.extend(iter);
        w
    }
}

impl Extend<Well> for Wells {
    fn extend<I: IntoIterator<Item = Well>>(&mut self, iter: I) {
        for well in iter {
            self.push(well);
        }
    }
}

/// A checked wells table.
#[derive(Debug, Clone)]
pub struct WellTable {
    /// Wells in input order.
    pub wells: Wells,
    /// Names of the columns carried through unchanged.
    pub extra_columns: Vec<String>,
    /// Whether the input had a `replicate` column.
    pub has_replicate: bool,
    /// Whether the input had a `time` column.
    pub has_time: bool,
    /// The format of each plate (declared, or the smallest that holds its wells).
    pub formats: BTreeMap<String, PlateFormat>,
    /// Things worth saying that do not stop a run, found while reading (a plate inferred larger
    /// than the rest of its wells suggest because of a few stray wells).
    pub warnings: Vec<Problem>,
}

const REQUIRED: [&str; 7] = [
    "plate",
    "well",
    "cell_line",
    "drug",
    "concentration",
    "role",
    "signal",
];
const KNOWN_OPTIONAL: [&str; 3] = ["replicate", "time", "plate_size"];
/// Stop collecting after this many problems: the first ones are what a user needs.
const MAX_PROBLEMS: usize = 200;

impl WellTable {
    /// Reads and checks a tidy wells table (CSV or TSV).
    ///
    /// `declared` is the assay's plate format, if it names one; a `plate_size` column may also
    /// declare it per row.
    pub fn read(path: &Path, declared: Option<PlateFormat>) -> Result<WellTable> {
        Self::from_table(&mut Table::open(path)?, declared)
    }

    /// Reads and checks the rows of a table whose header has been parsed.
    pub fn from_table(table: &mut Table<'_>, declared: Option<PlateFormat>) -> Result<WellTable> {
        Self::from_table_in_blocks(table, declared, READ_BLOCK)
    }

    /// [`WellTable::from_table`], parsing blocks of about `block_size` bytes (tests make them
    /// tiny to cross block edges everywhere).
    fn from_table_in_blocks(
        table: &mut Table<'_>,
        declared: Option<PlateFormat>,
        block_size: usize,
    ) -> Result<WellTable> {
        let cols: Vec<usize> = REQUIRED
            .iter()
            .map(|c| table.require(c))
            .collect::<Result<_>>()?;
        let [c_plate, c_well, c_line, c_drug, c_conc, c_role, c_signal] = cols[..] else {
            unreachable!("seven required columns")
        };
        let c_rep = table.column("replicate");
        let c_time = table.column("time");
        let c_size = table.column("plate_size");
        let extra_idx: Vec<usize> = (0..table.headers.len())
            .filter(|i| {
                let h = table.headers[*i].to_ascii_lowercase();
                !h.is_empty()
                    && !REQUIRED.contains(&h.as_str())
                    && !KNOWN_OPTIONAL.contains(&h.as_str())
            })
            .collect();

        let mut problems: Vec<Problem> = Vec::new();
        let mut wells = Wells::with_capacity(table.line_count());
        // Plates by first appearance; per-plate bookkeeping is indexed, not keyed by name,
        // because this loop runs once per well of a whole screen.
        let mut plate_ids: HashMap<String, usize> = HashMap::new();
        let mut plates: Vec<PlateInfo> = Vec::new();
        let mut plate_of_well: Vec<usize> = Vec::with_capacity(table.line_count());
        // With a `time` column: the time (bits), line and index of every read of each well.
        let mut read_times: HashMap<(usize, usize), Vec<Read>> = HashMap::new();

        let columns = Columns {
            plate: c_plate,
            well: c_well,
            cell_line: c_line,
            drug: c_drug,
            concentration: c_conc,
            role: c_role,
            signal: c_signal,
            replicate: c_rep,
            time: c_time,
            plate_size: c_size,
            extra: extra_idx.clone(),
        };
        // Rows are parsed and checked on every core, a block at a time (each row on its own:
        // numbers, names, roles), and then taken into the table strictly in file order, where
        // what depends on earlier rows is decided (plates, duplicates, time courses, problem
        // order): the table and its errors are those of one reader at any thread count.
        let mut blocks = table.row_blocks(block_size)?;
        let path = table.path.as_path();
        let window = 2 * rayon::current_num_threads().max(1);
        // Parsed blocks waiting to be taken in; after a block that ends in an error nothing
        // more is read.
        let mut parsed: Vec<ParsedBlock> = Vec::new();
        let mut at_end = false;
        let mut read_group = |at_end: &mut bool| -> Result<Vec<RowBlock>> {
            let mut group = Vec::with_capacity(window);
            while !*at_end && group.len() < window {
                match blocks.next_block()? {
                    Some(b) => group.push(b),
                    None => *at_end = true,
                }
            }
            Ok(group)
        };
        let mut group = read_group(&mut at_end)?;
        loop {
            if group.is_empty() && parsed.is_empty() {
                break;
            }
            // While the pool parses this round's blocks, this thread takes in the blocks
            // parsed last round and reads the next round's bytes.
            let mut next: Vec<ParsedBlock> = Vec::new();
            let (enough, following) = rayon::in_place_scope(|scope| {
                scope.spawn(|_| {
                    use rayon::prelude::*;
                    next = group.par_iter().map(|b| parse_block(b, &columns)).collect();
                });
                let enough = (|| -> Result<bool> {
                    for block in parsed.drain(..) {
                        let mut remap = vec![u32::MAX; block.names.len()];
                        let mut plate_remap = vec![usize::MAX; block.names.len()];
                        for row in block.rows {
                            if problems.len() >= MAX_PROBLEMS {
                                return Ok(true);
                            }
                            let plate = block.names[row.names[0] as usize].as_str();
                            let rare = row.rare.map(|r| *r).unwrap_or_default();
                            let line = row.line;
                            let (well_text, written_position) = (&rare.well_text, row.position);
                            let mut bad = |msg: String| {
                                // The well as the row wrote it, named only for a problem.
                                let well_name = match (well_text, written_position) {
                                    (Some(t), _) => t.to_string(),
                                    (None, Some(p)) => p.to_string(),
                                    (None, None) => String::new(),
                                };
                                problems.push(Problem {
                                    location: Location::file(path)
                                        .at_line(line)
                                        .at_well(plate, &well_name),
                                    message: msg,
                                })
                            };
                            if plate.is_empty() {
                                bad("`plate` is empty; every well needs a plate identifier".into());
                                continue;
                            }
                            let local_plate = row.names[0] as usize;
                            let pid = if plate_remap[local_plate] != usize::MAX {
                                plate_remap[local_plate]
                            } else {
                                let pid = match plate_ids.get(plate) {
                                    Some(&id) => id,
                                    None => {
                                        plate_ids.insert(plate.to_string(), plates.len());
                                        plates.push(PlateInfo::new(line));
                                        plates.len() - 1
                                    }
                                };
                                plate_remap[local_plate] = pid;
                                pid
                            };
                            if let Some(msg) = rare.rejected {
                                bad(msg);
                                continue;
                            }
                            let Some(position) = row.position else {
                                continue;
                            };
                            for msg in rare.problems {
                                bad(msg);
                            }
                            match rare.plate_size {
                                None => {}
                                Some(Err(msg)) => bad(msg),
                                Some(Ok(n)) => match plates[pid].size_decl {
                                    Some((declared, first)) if declared != n => bad(format!(
                                        "plate {plate} is declared {n}-well here but {declared}-well on line {first}; one plate has one size"
                                    )),
                                    Some(_) => {}
                                    None => plates[pid].size_decl = Some((n, line)),
                                },
                            }
                            let bit = usize::from(position.row) * 48 + usize::from(position.column);
                            let time = row.time;
                            let concentration = row.concentration;
                            let role = row.role;
                            let mut global = |column: usize, wells: &mut Wells| {
                                let local = row.names[column] as usize;
                                if remap[local] == u32::MAX {
                                    remap[local] = wells.intern(column, &block.names[local]);
                                }
                                remap[local]
                            };
                            let ids = [
                                global(0, &mut wells),
                                global(1, &mut wells),
                                global(2, &mut wells),
                                global(3, &mut wells),
                            ];
                            if c_time.is_some() {
                                // A time course reads one well many times: a well is then
                                // unique by (plate, well, time), and every one of its reads
                                // needs a time.
                                let reads = read_times.entry((pid, bit)).or_default();
                                if let Some(problem) =
                                    repeated_read(&position, plate, time, line, reads)
                                {
                                    bad(problem);
                                    continue;
                                }
                                // Every read of a well describes the same well: what differs
                                // is the time.
                                if let Some(&(_, first_line, first)) = reads.first() {
                                    let same = wells.name_ids(first)[1..] == ids[1..]
                                        && wells.role[first] == role
                                        && wells.get(first).concentration.map(f64::to_bits)
                                            == concentration.map(f64::to_bits);
                                    if !same {
                                        bad(format!(
                                            "well {position} of plate {plate} is read again here with another cell line, drug, concentration, role or replicate than on line {first_line}; every read of a well must describe the same well (only `time` and `signal` change)"
                                        ));
                                        continue;
                                    }
                                }
                                reads.push((time.map(f64::to_bits), line, wells.len()));
                            } else if plates[pid].seen[bit / 64] & (1 << (bit % 64)) != 0 {
                                // Rare: look the first one up rather than keep a line per
                                // well position.
                                let first = (0..wells.len())
                                    .rev()
                                    .find(|&i| {
                                        plate_of_well[i] == pid && wells.get(i).position == position
                                    })
                                    .map_or(0, |i| wells.get(i).line);
                                bad(format!(
                                    "well {position} of plate {plate} appears twice (lines {first} and {line}); a well read at several times needs a `time` column"
                                ));
                                continue;
                            }
                            plates[pid].seen[bit / 64] |= 1 << (bit % 64);
                            plates[pid].has_vehicle |= role == Role::Vehicle;
                            plates[pid].smallest = plates[pid].smallest.max(
                                PlateFormat::smallest_containing(position)
                                    .expect("parsed wells fit the largest plate"),
                            );
                            plate_of_well.push(pid);
                            wells.push_ids(
                                ids,
                                position,
                                concentration,
                                role,
                                row.signal,
                                time,
                                rare.extra,
                                line,
                            );
                        }
                        // A row that could not be read ends the reading there, as it ends one
                        // reader's.
                        if let Some(e) = block.error {
                            return Err(e);
                        }
                    }
                    Ok(false)
                })();
                let following = match enough {
                    Ok(false) => read_group(&mut at_end),
                    _ => Ok(Vec::new()),
                };
                (enough, following)
            });
            if enough? {
                break;
            }
            group = following?;
            for block in next {
                let failed = block.error.is_some();
                parsed.push(block);
                if failed {
                    // Nothing after the row that stopped the reading is read.
                    at_end = true;
                    group.clear();
                    break;
                }
            }
        }
        // Plate formats: declared (column, then assay) or the smallest that holds every well.
        let format_of: Vec<PlateFormat> = plates
            .iter()
            .map(|p| {
                p.size_decl
                    .and_then(|(n, _)| PlateFormat::from_wells(n))
                    .or(declared)
                    .unwrap_or(p.smallest)
            })
            .collect();
        for (w, &pid) in wells.iter().zip(&plate_of_well) {
            let f = format_of[pid];
            if !f.contains(w.position) {
                problems.push(Problem {
                    location: table.at(w.line).at_well(w.plate, &w.position.to_string()),
                    message: format!(
                        "well {} is outside a {f} plate (rows A-{}, columns 1-{})",
                        w.position,
                        crate::plate::row_name(f.rows - 1),
                        f.columns
                    ),
                });
            }
        }
        // Every plate needs vehicle wells, or nothing on it can be normalized.
        let mut names: Vec<(&String, &usize)> = plate_ids.iter().collect();
        names.sort();
        for (plate, &pid) in &names {
            if !plates[pid].has_vehicle {
                problems.push(Problem {
                    location: table.at(plates[pid].first_line).at_well(plate, ""),
                    message: format!(
                        "plate {plate} (first row on this line) has no vehicle wells; viability needs untreated controls on every plate"
                    ),
                });
            }
        }
        let formats: BTreeMap<String, PlateFormat> = names
            .iter()
            .map(|(plate, &pid)| ((*plate).clone(), format_of[pid]))
            .collect();
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.location.line);
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        if wells.is_empty() {
            return Err(Error::input(
                Location::file(&table.path),
                "the wells table has a header but no wells",
            ));
        }
        // A plate whose size nobody declared, where a few wells alone make it larger.
        let mut inferred: Vec<Vec<WellRef>> = vec![Vec::new(); plates.len()];
        if declared.is_none() {
            for (w, &pid) in wells.iter().zip(&plate_of_well) {
                if plates[pid].size_decl.is_none() {
                    inferred[pid].push(w);
                }
            }
        }
        let mut warnings = Vec::new();
        for (pid, ws) in inferred.iter().enumerate() {
            let positions: Vec<WellPos> = ws.iter().map(|w| w.position).collect();
            if let Some(s) = StrayWells::find(&positions, format_of[pid], 0, 0) {
                for w in ws.iter().filter(|w| !s.fits.contains(w.position)) {
                    warnings.push(Problem {
                        location: table.at(w.line).at_well(w.plate, &w.position.to_string()),
                        message: s.message(
                            w.position,
                            w.plate,
                            "`plate_size = {}` in the assay (or a `plate_size` column)",
                        ),
                    });
                }
            }
        }
        Ok(WellTable {
            wells,
            extra_columns: extra_idx
                .iter()
                .map(|&i| table.headers[i].clone())
                .collect(),
            has_replicate: c_rep.is_some(),
            has_time: c_time.is_some(),
            formats,
            warnings,
        })
    }

    /// Plate identifiers in sorted order.
    pub fn plates(&self) -> impl Iterator<Item = &str> {
        self.formats.keys().map(String::as_str)
    }
}

/// Bytes of the wells table parsed as one task: large enough that a task outweighs its
/// scheduling, small enough that a few per core stay in memory.
const READ_BLOCK: usize = 1 << 19;

/// Where the wells table's columns are.
struct Columns {
    plate: usize,
    well: usize,
    cell_line: usize,
    drug: usize,
    concentration: usize,
    role: usize,
    signal: usize,
    replicate: Option<usize>,
    time: Option<usize>,
    plate_size: Option<usize>,
    extra: Vec<usize>,
}

/// The rows of one block, parsed and checked each on its own; what depends on other rows is
/// left to the reader that takes them in order.
struct ParsedBlock {
    /// The block's names (plates, lines, drugs, replicates), each once.
    names: Vec<String>,
    rows: Vec<ParsedRow>,
    /// The row that could not be read (fields, UTF-8), after `rows`.
    error: Option<Error>,
}

/// One row of a [`ParsedBlock`]: what every row has inline, the rest boxed (most rows have
/// none of it, and a block holds thousands of rows).
struct ParsedRow {
    line: u64,
    /// Plate, cell line, drug and replicate, as indices into the block's names.
    names: [u32; 4],
    position: Option<WellPos>,
    role: Role,
    concentration: Option<f64>,
    signal: Signal,
    time: Option<f64>,
    rare: Option<Box<RareFields>>,
}

/// The parts of a row most rows do not have.
#[derive(Default)]
struct RareFields {
    /// The well as written, when that is not its canonical name (`B03`, `b3`, unparsable).
    well_text: Option<Box<str>>,
    /// Why the row cannot be a well (its position or role), after its plate is noted.
    rejected: Option<String>,
    /// Problems of the row that leave it a well.
    problems: Vec<String>,
    /// The `plate_size` cell: the number of wells, or why it is not a plate size.
    plate_size: Option<std::result::Result<u32, String>>,
    extra: Vec<String>,
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
fn parse_block(block: &RowBlock, c: &Columns) -> ParsedBlock {
    let mut names = BlockNames::default();
    // Rows of a wells table take some 70 bytes: room for them at once, not by doubling.
    let mut rows = Vec::with_capacity(block.byte_len() / 48 + 1);
    let mut error = None;
    let mut reader = block.rows();
    let mut rec = csv::StringRecord::new();
    let mut canonical = String::new();
    loop {
        let line = match reader.next_row(&mut rec) {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let plate = field(&rec, Some(c.plate));
        let well_name = field(&rec, Some(c.well));
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
            rows.push(row);
            continue;
        }
        let position = match WellPos::parse(well_name) {
            Ok(p) => p,
            Err(msg) => {
                let rare = row.rare();
                rare.well_text = Some(well_name.into());
                rare.rejected = Some(msg);
                rows.push(row);
                continue;
            }
        };
        position.write_name(&mut canonical);
        if canonical != well_name {
            row.rare().well_text = Some(well_name.into());
        }
        row.position = Some(position);
        let role_text = field(&rec, Some(c.role));
        let Some(role) = Role::parse(role_text) else {
            row.rare().rejected = Some(format!(
                "unknown role `{role_text}`{}; expected one of: {}",
                did_you_mean(role_text, &ROLE_NAMES),
                ROLE_NAMES.join(", ")
            ));
            rows.push(row);
            continue;
        };
        row.role = role;
        let cell_line = field(&rec, Some(c.cell_line));
        let drug = field(&rec, Some(c.drug));
        row.names[1] = names.intern(1, cell_line);
        row.names[2] = names.intern(2, drug);
        row.names[3] = names.intern(3, field(&rec, c.replicate));
        let conc_text = field(&rec, Some(c.concentration));
        let mut bad = Vec::new();
        match role {
            Role::Sample => {
                if cell_line.is_empty() {
                    bad.push("sample well without a `cell_line`".into());
                }
                if drug.is_empty() {
                    bad.push(
                        "sample well without a `drug`; untreated wells are role `vehicle`".into(),
                    );
                }
                match parse_concentration(conc_text) {
                    Ok(c) => row.concentration = Some(c),
                    Err(msg) => bad.push(msg),
                }
            }
            Role::Vehicle | Role::Blank => {
                if !drug.is_empty() {
                    bad.push(format!(
                        "{role} well with drug `{drug}`; controls carry no drug (use role `sample` for treated wells)"
                    ));
                }
                if !conc_text.is_empty() && conc_text.parse::<f64>().ok() != Some(0.0) {
                    bad.push(format!(
                        "{role} well with concentration `{conc_text}`; controls carry no concentration"
                    ));
                }
                if role == Role::Vehicle && cell_line.is_empty() {
                    bad.push("vehicle well without a `cell_line`; only empty wells and cell-free blanks may leave it empty".into());
                }
            }
            Role::Empty => {}
        }
        row.time = match field(&rec, c.time) {
            "" => None,
            t => match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    bad.push(format!("`time` is `{t}`; expected hours as a number"));
                    None
                }
            },
        };
        if !bad.is_empty() {
            row.rare().problems = bad;
        }
        if let Some(col) = c.plate_size {
            let s = field(&rec, Some(col));
            if !s.is_empty() {
                row.rare().plate_size = Some(
                    match s.parse::<u32>().ok().and_then(PlateFormat::from_wells) {
                        None => Err(format!(
                            "`plate_size` is `{s}`; expected 6, 12, 24, 48, 96, 384 or 1536"
                        )),
                        Some(f) => Ok(f.wells()),
                    },
                );
            }
        }
        row.signal = Signal::parse(field(&rec, Some(c.signal)));
        if !c.extra.is_empty() {
            row.rare().extra = c
                .extra
                .iter()
                .map(|&i| field(&rec, Some(i)).to_string())
                .collect();
        }
        rows.push(row);
    }
    ParsedBlock {
        names: names.names,
        rows,
        error,
    }
}

/// Bookkeeping for one plate while reading.
struct PlateInfo {
    first_line: u64,
    /// Declared size and the line that declared it.
    size_decl: Option<(u32, u64)>,
    smallest: PlateFormat,
    has_vehicle: bool,
    /// Well positions seen, one bit each (row × 48 + column): 192 bytes a plate, not a line
    /// number per position, for screens of thousands of plates.
    seen: [u64; 24],
}

impl PlateInfo {
    fn new(first_line: u64) -> Self {
        PlateInfo {
            first_line,
            size_decl: None,
            smallest: crate::plate::FORMATS[0],
            has_vehicle: false,
            seen: [0; 24],
        }
    }
}

/// One read of a well while reading a table with times: the time (bits; `None` when empty),
/// the line and the index of the well.
type Read = (Option<u64>, u64, usize);

/// Why a read of a well that was read before cannot be kept, if it cannot: in a table with a
/// `time` column a well may be read at several times (a time course, or a time-0 read for GR),
/// but every read then needs its own time.
fn repeated_read(
    position: &WellPos,
    plate: &str,
    time: Option<f64>,
    line: u64,
    earlier: &[Read],
) -> Option<String> {
    let (_, first, _) = earlier.first()?;
    if time.is_none() {
        return Some(format!(
            "well {position} of plate {plate} appears twice (lines {first} and {line}) and this read has no `time`; a well read several times needs the time of each read"
        ));
    }
    if let Some((_, other, _)) = earlier.iter().find(|(t, _, _)| t.is_none()) {
        return Some(format!(
            "well {position} of plate {plate} appears twice (lines {other} and {line}) and the read on line {other} has no `time`; a well read several times needs the time of each read"
        ));
    }
    let bits = time.map(f64::to_bits);
    earlier.iter().find(|(t, _, _)| *t == bits).map(|(_, other, _)| {
        format!(
            "well {position} of plate {plate} is read twice at time {} (lines {other} and {line}); each read of a well needs its own time",
            time.unwrap_or_default()
        )
    })
}

fn parse_concentration(text: &str) -> std::result::Result<f64, String> {
    if text.is_empty() {
        return Err("sample well without a `concentration`".into());
    }
    match text.parse::<f64>() {
        Err(_) => Err(format!("concentration `{text}` is not a number")),
        Ok(c) if !c.is_finite() => Err(format!("concentration `{text}` is not a finite number")),
        Ok(c) if c < 0.0 => Err(format!("concentration `{text}` is negative")),
        Ok(0.0) => Err(
            "sample well at concentration 0; untreated wells are role `vehicle` (a dose-response curve needs positive doses)"
                .into(),
        ),
        Ok(c) => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<WellTable> {
        let mut t = Table::from_bytes(text.as_bytes(), Path::new("w.csv"))?;
        WellTable::from_table(&mut t, None)
    }

    const HEAD: &str = "plate,well,cell_line,drug,concentration,role,signal\n";

    #[test]
    fn reads_the_design_example() {
        let t = read(&format!(
            "{HEAD}P001,A1,,,,empty,182.0\nP001,B2,H3122,,,vehicle,58210.5\nP001,B23,H3122,,,blank,1490.2\n\
             P001,B3,H3122,crizotinib,0.00152,sample,57003.1\nP001,B4,H3122,crizotinib,0.00457,sample,OVRFLW\n"
        ))
        .unwrap();
        assert_eq!(t.wells.len(), 5);
        assert_eq!(t.formats["P001"].wells(), 384);
        assert_eq!(*t.wells.get(4).signal, Signal::NotNumeric("OVRFLW".into()));
        assert_eq!(t.wells.get(3).concentration, Some(0.00152));
    }

    /// A table and its errors do not depend on where the blocks are cut.
    #[test]
    fn blocks_of_any_size_read_the_same_table_and_problems() {
        let good = format!(
            "{HEAD}P1,A1,,,,empty,182.0\r\nP1,B2,L1,,,vehicle,58210.5\n\nP1,B03,L1,d1,0.5,sample,\"57,003\"\n\
             P2,C4,L2,d2,1e-3,sample,OVRFLW\nP2,C5,L2,,,vehicle,\"multi\nline\"\nP1,B4,L1,d1,1,sample,5\n"
        );
        let bad = format!(
            "{HEAD}P1,A1,,,,empty,182.0\nP1,A1,,,,empty,1\n,B2,L1,,,vehicle,1\nP1,Z99,L1,,,vehicle,1\n\
             P1,B2,L1,,,plasma,1\nP1,B3,L1,,-1,sample,1\nP1,B4,L1,d,0,sample,1\nP2,A1,L1,,,vehicle,1\n\
             P1,B5,L1,d,1,sample,1,extra\nP1,B6,L1,d,1,sample,1\n"
        );
        let read_with = |text: &str, size: usize| {
            let mut t = Table::from_bytes(text.as_bytes(), Path::new("w.csv")).unwrap();
            WellTable::from_table_in_blocks(&mut t, None, size)
        };
        // The same without the row that stops the reading: every problem, in order.
        let problems = bad.replace(",extra", "");
        let listed = read_with(&problems, READ_BLOCK).unwrap_err().to_string();
        for expected in [
            "w.csv:3: plate P1, well A1",
            "w.csv:4:",
            "Z99",
            "plasma",
            "negative",
            "w.csv:8:",
        ] {
            assert!(listed.contains(expected), "{expected}: {listed}");
        }
        let whole = read_with(&good, READ_BLOCK).unwrap();
        assert_eq!(whole.wells.len(), 6);
        let error = read_with(&bad, READ_BLOCK).unwrap_err().to_string();
        assert!(error.contains("w.csv:10: 8 fields"), "{error}");
        for size in [1, 2, 5, 16, 40, 100] {
            let t = read_with(&good, size).unwrap();
            assert_eq!(t.wells.len(), whole.wells.len());
            for i in 0..t.wells.len() {
                assert_eq!(t.wells.get(i), whole.wells.get(i), "block size {size}");
            }
            assert_eq!(t.formats, whole.formats);
            assert_eq!(
                read_with(&bad, size).unwrap_err().to_string(),
                error,
                "block size {size}"
            );
            assert_eq!(
                read_with(&problems, size).unwrap_err().to_string(),
                listed,
                "block size {size}"
            );
        }
    }

    #[test]
    fn signals_that_are_not_numbers_are_kept() {
        for s in ["OVRFLW", "MISSED", "NaN", "", "inf", "-", "1,5"] {
            assert!(matches!(Signal::parse(s), Signal::NotNumeric(_)), "{s}");
        }
        assert_eq!(Signal::parse(" -3.5 "), Signal::Value(-3.5));
    }
}
