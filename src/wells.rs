//! The tidy wells table: one row per well, the canonical form of every input.
//!
//! Reading checks the whole table and reports every problem at once, each with file, line,
//! plate and well. A signal that is not a number (`OVRFLW`, `MISSED`, `NaN`, empty …) is not a
//! problem: the well is kept, flagged, and left out of the maths.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::error::Problem;
use crate::plate::{PlateFormat, WellPos};

mod parse;
mod read;

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
pub(crate) const ROLE_NAMES: [&str; 4] = ["sample", "vehicle", "blank", "empty"];

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
    pub(crate) fn is_control(&self) -> bool {
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

/// The fields of a well being added besides its names (see [`Wells::push_parts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WellFields {
    /// Position on the plate.
    pub position: WellPos,
    /// Concentration in the assay's unit; `None` for controls.
    pub concentration: Option<f64>,
    /// What the well is for.
    pub role: Role,
    /// The raw reading.
    pub signal: Signal,
    /// Hours since treatment, if the table has a `time` column.
    pub time: Option<f64>,
    /// Values of extra columns, in [`WellTable::extra_columns`] order.
    pub extra: Vec<String>,
    /// The 1-based line it was read from (0 when made in memory).
    pub line: u64,
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
        let ids = self.intern_names(names);
        self.push_ids(
            ids,
            WellFields {
                position: well.position,
                concentration: well.concentration,
                role: well.role,
                signal: well.signal,
                time: well.time,
                extra: well.extra,
                line: well.line,
            },
        );
    }

    /// Adds a well from borrowed names, so a reader of millions of rows allocates nothing per
    /// name.
    pub fn push_parts(&mut self, names: WellNames<'_>, fields: WellFields) {
        let ids = self.intern_names(names);
        self.push_ids(ids, fields);
    }

    fn intern_names(&mut self, names: WellNames<'_>) -> [u32; 4] {
        [
            self.intern(0, names.plate),
            self.intern(1, names.cell_line),
            self.intern(2, names.drug),
            self.intern(3, names.replicate),
        ]
    }

    fn push_ids(&mut self, [plate, cell_line, drug, replicate]: [u32; 4], well: WellFields) {
        let i = self.len();
        if well.time.is_some() {
            self.time.resize(i, None);
            self.time.push(well.time);
        }
        if !well.extra.is_empty() {
            self.extra.resize(i, Vec::new());
            self.extra.push(well.extra);
        }
        self.plate.push(plate);
        self.position.push(well.position);
        self.cell_line.push(cell_line);
        self.drug.push(drug);
        self.concentration
            .push(well.concentration.map_or(NO_CONCENTRATION, f64::to_bits));
        self.role.push(well.role);
        self.signal.push(well.signal);
        self.replicate.push(replicate);
        self.line.push(well.line);
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

    /// Dense ids of each well's (plate, cell line, drug, replicate) names: one id per name
    /// (equal ids mean equal names, and different ids different names), so grouping by them
    /// needs no string comparison. Ids index [`Wells::name`].
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
    pub(crate) fn distinct_names(&self, column: usize) -> Vec<&Name> {
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
    pub(crate) fn name_count(&self) -> usize {
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
                    WellFields {
                        position: w.position,
                        concentration: w.concentration,
                        role: w.role,
                        signal: w.signal.clone(),
                        time: w.time,
                        extra: w.extra.to_vec(),
                        line: w.line,
                    },
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

/// The required columns of the tidy wells table, in the order `wells.csv` writes them.
pub const COLUMNS: [&str; 7] = [
    "plate",
    "well",
    "cell_line",
    "drug",
    "concentration",
    "role",
    "signal",
];

/// A checked wells table.
#[derive(Debug, Clone)]
pub struct WellTable {
    /// Wells in input order.
    pub wells: Wells,
    /// Names of the columns carried through unchanged.
    pub extra_columns: Vec<String>,
    /// Whether the input had a `replicate` column.
    pub(crate) has_replicate: bool,
    /// Whether the input had a `time` column.
    pub(crate) has_time: bool,
    /// The format of each plate (declared, or the smallest that holds its wells).
    pub formats: BTreeMap<String, PlateFormat>,
    /// Things worth saying that do not stop a run, found while reading (a plate inferred larger
    /// than the rest of its wells suggest because of a few stray wells).
    pub warnings: Vec<Problem>,
}

impl WellTable {
    /// Plate identifiers in sorted order.
    pub fn plates(&self) -> impl Iterator<Item = &str> {
        self.formats.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::parse::READ_BLOCK;
    use super::*;
    use crate::error::Result;
    use crate::table::Table;

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
            WellTable::from_table_in_blocks(&mut t, None, None, size)
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
