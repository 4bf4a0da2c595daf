//! Reading a wells table: rows parsed on every core a block at a time ([`super::parse`]), then
//! taken in strictly in file order, where what depends on earlier rows is decided (plates,
//! duplicates, time courses, problem order), then the checks of the whole table (plate
//! formats, vehicles, stray wells).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::plate::{PlateFormat, StrayWells, WellPos};
use crate::table::{RowBlock, RowBlocks, Table};
use crate::units::TargetUnit;

use super::parse::{parse_block, Columns, ParsedBlock, ParsedRow, READ_BLOCK};
use super::{Role, WellFields, WellRef, WellTable, Wells};

use super::COLUMNS as REQUIRED;
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

    /// Reads and checks the rows of a table whose header has been parsed. A concentration
    /// written with a unit (`370 nM`) is an error here: there is no unit to convert it into
    /// (see [`WellTable::from_table_in_unit`]).
    pub fn from_table(table: &mut Table<'_>, declared: Option<PlateFormat>) -> Result<WellTable> {
        Self::from_table_in_blocks(table, declared, None, READ_BLOCK)
    }

    /// [`WellTable::from_table`] for an assay whose concentrations are in `unit` (its
    /// `concentration_unit`): a concentration written with a unit suffix is converted into it
    /// ([`crate::units`]); one that cannot be is a problem of its well.
    pub fn from_table_in_unit(
        table: &mut Table<'_>,
        declared: Option<PlateFormat>,
        unit: &str,
    ) -> Result<WellTable> {
        Self::from_table_in_blocks(table, declared, Some(TargetUnit::new(unit)), READ_BLOCK)
    }

    /// [`WellTable::from_table_in_unit`] for a screen whose normalization does not need
    /// vehicle wells on every plate (`[normalize] reference = "lowest_doses"`): a plate without
    /// them is read, not refused.
    pub(crate) fn from_table_in_unit_without_vehicles(
        table: &mut Table<'_>,
        declared: Option<PlateFormat>,
        unit: &str,
    ) -> Result<WellTable> {
        let columns = find_columns(table, Some(TargetUnit::new(unit)))?;
        let mut intake = Intake::new(table.path.as_path(), table.line_count(), &columns);
        read_in_order(table, &columns, READ_BLOCK, &mut intake)?;
        intake.vehicles_required = false;
        intake.finish(table, declared, &columns)
    }

    /// [`WellTable::from_table`], parsing blocks of about `block_size` bytes (tests make them
    /// tiny to cross block edges everywhere).
    pub(super) fn from_table_in_blocks(
        table: &mut Table<'_>,
        declared: Option<PlateFormat>,
        unit: Option<TargetUnit>,
        block_size: usize,
    ) -> Result<WellTable> {
        let columns = find_columns(table, unit)?;
        let mut intake = Intake::new(table.path.as_path(), table.line_count(), &columns);
        read_in_order(table, &columns, block_size, &mut intake)?;
        intake.finish(table, declared, &columns)
    }
}

/// Where the required, known and extra columns are; an error names a missing required one.
fn find_columns(table: &Table<'_>, unit: Option<TargetUnit>) -> Result<Columns> {
    let cols: Vec<usize> = REQUIRED
        .iter()
        .map(|c| table.require(c))
        .collect::<Result<_>>()?;
    let [plate, well, cell_line, drug, concentration, role, signal] = cols[..] else {
        unreachable!("seven required columns")
    };
    let extra = (0..table.headers.len())
        .filter(|i| {
            let h = table.headers[*i].to_ascii_lowercase();
            !h.is_empty()
                && !REQUIRED.contains(&h.as_str())
                && !KNOWN_OPTIONAL.contains(&h.as_str())
        })
        .collect();
    Ok(Columns {
        plate,
        well,
        cell_line,
        drug,
        concentration,
        role,
        signal,
        replicate: table.column("replicate"),
        time: table.column("time"),
        plate_size: table.column("plate_size"),
        extra,
        unit,
    })
}

/// Rows are parsed and checked on every core, a block at a time (each row on its own:
/// numbers, names, roles), and then taken into the table strictly in file order, where what
/// depends on earlier rows is decided (plates, duplicates, time courses, problem order): the
/// table and its errors are those of one reader at any thread count.
fn read_in_order(
    table: &Table<'_>,
    columns: &Columns,
    block_size: usize,
    intake: &mut Intake<'_>,
) -> Result<()> {
    let mut reader = BlockReader {
        blocks: table.row_blocks(block_size)?,
        window: 2 * rayon::current_num_threads().max(1),
        at_end: false,
    };
    // Parsed blocks waiting to be taken in; after a block that ends in an error nothing more
    // is read.
    let mut parsed: Vec<ParsedBlock> = Vec::new();
    let mut group = reader.next_group()?;
    while !(group.is_empty() && parsed.is_empty()) {
        // While the pool parses this round's blocks, this thread takes in the blocks parsed
        // last round and reads the next round's bytes.
        let mut next: Vec<ParsedBlock> = Vec::new();
        let (enough, following) = rayon::in_place_scope(|scope| {
            scope.spawn(|_| {
                use rayon::prelude::*;
                next = group.par_iter().map(|b| parse_block(b, columns)).collect();
            });
            let enough = intake.take_blocks(parsed.drain(..));
            let following = match enough {
                Ok(false) => reader.next_group(),
                _ => Ok(Vec::new()),
            };
            (enough, following)
        });
        if enough? {
            break;
        }
        group = following?;
        if keep_up_to_the_first_error(next, &mut parsed) {
            // Nothing after the row that stopped the reading is read.
            reader.at_end = true;
            group.clear();
        }
    }
    Ok(())
}

/// Moves parsed blocks to `parsed` up to and including the first that ends in an error;
/// whether there was one.
fn keep_up_to_the_first_error(next: Vec<ParsedBlock>, parsed: &mut Vec<ParsedBlock>) -> bool {
    for block in next {
        let failed = block.error.is_some();
        parsed.push(block);
        if failed {
            return true;
        }
    }
    false
}

/// The table's blocks, handed out a round (a few per core) at a time.
struct BlockReader<'a> {
    blocks: RowBlocks<'a>,
    /// Blocks per round.
    window: usize,
    at_end: bool,
}

impl BlockReader<'_> {
    /// The next round's blocks; none at the end.
    fn next_group(&mut self) -> Result<Vec<RowBlock>> {
        let mut group = Vec::with_capacity(self.window);
        while !self.at_end && group.len() < self.window {
            match self.blocks.next_block()? {
                Some(b) => group.push(b),
                None => self.at_end = true,
            }
        }
        Ok(group)
    }
}

/// What has been taken in so far, in file order: the wells, their plates, and the problems.
/// Per-plate bookkeeping is indexed, not keyed by name, because this runs once per well of a
/// whole screen.
struct Intake<'p> {
    path: &'p Path,
    /// Whether the table has a `time` column: a well may then be read at several times.
    has_time: bool,
    problems: Vec<Problem>,
    wells: Wells,
    /// Plates by first appearance.
    plate_ids: HashMap<String, usize>,
    plates: Vec<PlateInfo>,
    plate_of_well: Vec<usize>,
    /// With a `time` column: the time (bits), line and index of every read of each well.
    read_times: HashMap<(usize, usize), Vec<Read>>,
    /// Whether a plate without vehicle wells is a problem (it is unless normalization takes
    /// 100 % from elsewhere).
    vehicles_required: bool,
}

/// A parsed block's name indices made the table's: its names, and the table's id of each
/// (`u32::MAX`) and plate index (`usize::MAX`) once looked up.
struct BlockIds<'b> {
    names: &'b [String],
    ids: Vec<u32>,
    plates: Vec<usize>,
}

/// Where a row is, for its problems: the well as the row wrote it, named only for a problem.
struct RowPlace<'a> {
    path: &'a Path,
    line: u64,
    plate: &'a str,
    well_text: Option<&'a str>,
    position: Option<WellPos>,
}

impl RowPlace<'_> {
    fn problem(&self, message: String) -> Problem {
        let well_name = match (self.well_text, self.position) {
            (Some(t), _) => t.to_string(),
            (None, Some(p)) => p.to_string(),
            (None, None) => String::new(),
        };
        Problem {
            location: Location::file(self.path)
                .at_line(self.line)
                .at_well(self.plate, &well_name),
            message,
        }
    }
}

impl<'p> Intake<'p> {
    fn new(path: &'p Path, lines: usize, columns: &Columns) -> Intake<'p> {
        Intake {
            path,
            has_time: columns.time.is_some(),
            problems: Vec::new(),
            wells: Wells::with_capacity(lines),
            plate_ids: HashMap::new(),
            plates: Vec::new(),
            plate_of_well: Vec::with_capacity(lines),
            read_times: HashMap::new(),
            vehicles_required: true,
        }
    }

    /// Takes in parsed blocks in order; `true` once enough problems are found to stop. A row
    /// that could not be read ends the reading there, as it ends one reader's.
    fn take_blocks(&mut self, blocks: impl Iterator<Item = ParsedBlock>) -> Result<bool> {
        for block in blocks {
            let mut ids = BlockIds {
                names: &block.names,
                ids: vec![u32::MAX; block.names.len()],
                plates: vec![usize::MAX; block.names.len()],
            };
            for row in block.rows {
                if self.problems.len() >= MAX_PROBLEMS {
                    return Ok(true);
                }
                self.take_row(row, &mut ids);
            }
            if let Some(e) = block.error {
                return Err(e);
            }
        }
        Ok(false)
    }

    /// Takes in one row: its plate, then its problems, then the well unless it cannot be one.
    fn take_row(&mut self, row: ParsedRow, block: &mut BlockIds<'_>) {
        let path = self.path;
        let names = block.names;
        let plate = names[row.names[0] as usize].as_str();
        let rare = row.rare.map(|r| *r).unwrap_or_default();
        let place = RowPlace {
            path,
            line: row.line,
            plate,
            well_text: rare.well_text.as_deref(),
            position: row.position,
        };
        if plate.is_empty() {
            self.problems.push(
                place.problem("`plate` is empty; every well needs a plate identifier".into()),
            );
            return;
        }
        let pid = self.plate_index(block, row.names[0] as usize, plate, row.line);
        if let Some(msg) = rare.rejected {
            self.problems.push(place.problem(msg));
            return;
        }
        let Some(position) = row.position else {
            return;
        };
        for msg in rare.problems {
            self.problems.push(place.problem(msg));
        }
        self.note_plate_size(pid, rare.plate_size, &place);
        let ids = [0, 1, 2, 3].map(|column| self.global_id(block, column, row.names[column]));
        let fields = WellFields {
            position,
            concentration: row.concentration,
            role: row.role,
            signal: row.signal,
            time: row.time,
            extra: rare.extra,
            line: row.line,
        };
        if self.admits(pid, ids, &fields, &place) {
            self.add_well(pid, ids, fields);
        }
    }

    /// The table's index of a row's plate, a new one for a plate not seen before.
    fn plate_index(
        &mut self,
        block: &mut BlockIds<'_>,
        local: usize,
        plate: &str,
        line: u64,
    ) -> usize {
        if block.plates[local] != usize::MAX {
            return block.plates[local];
        }
        let pid = match self.plate_ids.get(plate) {
            Some(&id) => id,
            None => {
                self.plate_ids.insert(plate.to_string(), self.plates.len());
                self.plates.push(PlateInfo::new(line));
                self.plates.len() - 1
            }
        };
        block.plates[local] = pid;
        pid
    }

    /// The table's id of one of a row's names (0 plate, 1 cell line, 2 drug, 3 replicate).
    fn global_id(&mut self, block: &mut BlockIds<'_>, column: usize, local: u32) -> u32 {
        let local = local as usize;
        if block.ids[local] == u32::MAX {
            block.ids[local] = self.wells.intern(column, &block.names[local]);
        }
        block.ids[local]
    }

    /// Notes a plate's declared size, or the problem of a row declaring another.
    fn note_plate_size(
        &mut self,
        pid: usize,
        size: Option<std::result::Result<u32, String>>,
        place: &RowPlace<'_>,
    ) {
        match size {
            None => {}
            Some(Err(msg)) => self.problems.push(place.problem(msg)),
            Some(Ok(n)) => match self.plates[pid].size_decl {
                Some((declared, first)) if declared != n => {
                    let plate = place.plate;
                    self.problems.push(place.problem(format!(
                        "plate {plate} is declared {n}-well here but {declared}-well on line {first}; one plate has one size"
                    )))
                }
                Some(_) => {}
                None => self.plates[pid].size_decl = Some((n, place.line)),
            },
        }
    }

    /// Whether a well may be added: a well is read once, or, with a `time` column, once per
    /// time and always as the same well; the problem of one that may not is noted.
    fn admits(
        &mut self,
        pid: usize,
        ids: [u32; 4],
        well: &WellFields,
        place: &RowPlace<'_>,
    ) -> bool {
        let (position, plate, line) = (well.position, place.plate, well.line);
        let bit = usize::from(position.row) * 48 + usize::from(position.column);
        if self.has_time {
            // A time course reads one well many times: a well is then unique by (plate, well,
            // time), and every one of its reads needs a time.
            let reads = self.read_times.entry((pid, bit)).or_default();
            if let Some(problem) = repeated_read(&position, plate, well.time, line, reads) {
                self.problems.push(place.problem(problem));
                return false;
            }
            // Every read of a well describes the same well: what differs is the time.
            if let Some(&(_, first_line, first)) = reads.first() {
                let same = self.wells.name_ids(first)[1..] == ids[1..]
                    && self.wells.role[first] == well.role
                    && self.wells.get(first).concentration.map(f64::to_bits)
                        == well.concentration.map(f64::to_bits);
                if !same {
                    self.problems.push(place.problem(format!(
                        "well {position} of plate {plate} is read again here with another cell line, drug, concentration, role or replicate than on line {first_line}; every read of a well must describe the same well (only `time` and `signal` change)"
                    )));
                    return false;
                }
            }
            reads.push((well.time.map(f64::to_bits), line, self.wells.len()));
        } else if self.plates[pid].seen[bit / 64] & (1 << (bit % 64)) != 0 {
            // Rare: look the first one up rather than keep a line per well position.
            let first = (0..self.wells.len())
                .rev()
                .find(|&i| self.plate_of_well[i] == pid && self.wells.get(i).position == position)
                .map_or(0, |i| self.wells.get(i).line);
            self.problems.push(place.problem(format!(
                "well {position} of plate {plate} appears twice (lines {first} and {line}); a well read at several times needs a `time` column"
            )));
            return false;
        }
        true
    }

    /// Adds a well and what its plate learns from it.
    fn add_well(&mut self, pid: usize, ids: [u32; 4], well: WellFields) {
        let position = well.position;
        let bit = usize::from(position.row) * 48 + usize::from(position.column);
        let plate = &mut self.plates[pid];
        plate.seen[bit / 64] |= 1 << (bit % 64);
        plate.has_vehicle |= well.role == Role::Vehicle;
        plate.smallest = plate.smallest.max(
            PlateFormat::smallest_containing(position).expect("parsed wells fit the largest plate"),
        );
        self.plate_of_well.push(pid);
        self.wells.push_ids(ids, well);
    }

    /// The checks of the whole table once every row is in, and the table.
    fn finish(
        mut self,
        table: &Table<'_>,
        declared: Option<PlateFormat>,
        columns: &Columns,
    ) -> Result<WellTable> {
        let format_of = self.plate_formats(declared);
        let mut problems = std::mem::take(&mut self.problems);
        problems.extend(self.wells_outside_their_plate(table, &format_of));
        if self.vehicles_required {
            problems.extend(self.plates_without_vehicles(table));
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.location.line);
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        if self.wells.is_empty() {
            return Err(Error::input(
                Location::file(&table.path),
                "the wells table has a header but no wells",
            ));
        }
        let warnings = match declared {
            None => self.stray_wells(table, &format_of),
            Some(_) => Vec::new(),
        };
        let formats: BTreeMap<String, PlateFormat> = self
            .plate_ids
            .iter()
            .map(|(plate, &pid)| (plate.clone(), format_of[pid]))
            .collect();
        Ok(WellTable {
            wells: self.wells,
            extra_columns: columns
                .extra
                .iter()
                .map(|&i| table.headers[i].clone())
                .collect(),
            has_replicate: columns.replicate.is_some(),
            has_time: columns.time.is_some(),
            formats,
            warnings,
        })
    }

    /// Plate formats by plate index: declared (column, then assay) or the smallest that holds
    /// every well.
    fn plate_formats(&self, declared: Option<PlateFormat>) -> Vec<PlateFormat> {
        self.plates
            .iter()
            .map(|p| {
                p.size_decl
                    .and_then(|(n, _)| PlateFormat::from_wells(n))
                    .or(declared)
                    .unwrap_or(p.smallest)
            })
            .collect()
    }

    /// A problem for every well outside its plate's format.
    fn wells_outside_their_plate(
        &self,
        table: &Table<'_>,
        format_of: &[PlateFormat],
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (w, &pid) in self.wells.iter().zip(&self.plate_of_well) {
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
        problems
    }

    /// Every plate needs vehicle wells, or nothing on it can be normalized: a problem for
    /// each that has none, by plate name.
    fn plates_without_vehicles(&self, table: &Table<'_>) -> Vec<Problem> {
        let mut names: Vec<(&String, &usize)> = self.plate_ids.iter().collect();
        names.sort();
        let mut problems = Vec::new();
        for (plate, &pid) in &names {
            if !self.plates[pid].has_vehicle {
                problems.push(Problem {
                    location: table.at(self.plates[pid].first_line).at_well(plate, ""),
                    message: format!(
                        "plate {plate} (first row on this line) has no vehicle wells; viability needs untreated controls on every plate"
                    ),
                });
            }
        }
        problems
    }

    /// A warning for each well that alone makes a plate whose size nobody declared larger.
    fn stray_wells(&self, table: &Table<'_>, format_of: &[PlateFormat]) -> Vec<Problem> {
        let mut inferred: Vec<Vec<WellRef>> = vec![Vec::new(); self.plates.len()];
        for (w, &pid) in self.wells.iter().zip(&self.plate_of_well) {
            if self.plates[pid].size_decl.is_none() {
                inferred[pid].push(w);
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
        warnings
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
