//! The lines table: which cell line is resistant to what, and its parental line.
//!
//! ```text
//! cell_line,parental_line,selected_with
//! H3122,,
//! H3122-CrizR,H3122,crizotinib
//! ```
//! An empty `parental_line` marks a parental line. A resistant line's parental line must be
//! listed itself, as a parental line (no chains, no cycles), so that every comparison has one
//! unambiguous reference.
//!
//! Two optional columns place lines in time and lineage: `lineage` (the evolving population a
//! line was sampled from; default the line itself) and `evolution_time` (when it was sampled:
//! day, passage, time since drug withdrawal; the unit is the assay's `evolution_time_unit`).
//! The parental line may itself be time-matched (a no-drug control population sampled the
//! same day): the table says which, nothing is guessed. One lineage has at most one line per
//! evolution time, so a trajectory has one point per time.
//!
//! A third optional column, `doubling_time_h`, gives a line's doubling time in hours (untreated,
//! in the assay's conditions): with it, GR values can be computed from the endpoint alone when
//! the wells have no time-0 reads (Hafner et al. 2016).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{Error, ErrorKind, Location, Problem, Result};
use crate::table::{field, Table};

/// One row of the lines table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CellLine {
    /// Name as used in the wells table.
    pub name: String,
    /// The parental line it is compared against; `None` for a parental line.
    pub parental_line: Option<String>,
    /// Drug the line was evolved under, if known.
    pub selected_with: Option<String>,
    /// The evolving population the line was sampled from (the line's own name when the table
    /// has no `lineage` column or the cell is empty).
    pub lineage: String,
    /// When the line was sampled (in the assay's `evolution_time_unit`), if known.
    pub evolution_time: Option<f64>,
    /// Doubling time of the untreated line in hours, if the table gives one (GR metrics
    /// without time-0 reads).
    pub doubling_time_h: Option<f64>,
    /// 1-based line in the lines file.
    pub line: u64,
}

/// A checked lines table.
#[derive(Debug, Clone)]
pub struct LinesTable {
    /// The file it came from.
    pub path: std::path::PathBuf,
    /// Lines in input order.
    pub lines: Vec<CellLine>,
    /// Whether the table has a `lineage` column.
    pub has_lineage: bool,
    /// Whether the table has an `evolution_time` column.
    pub(crate) has_evolution_time: bool,
}

impl LinesTable {
    /// Reads and checks a lines table.
    pub fn read(path: &Path) -> Result<LinesTable> {
        Self::from_table(&mut Table::open(path)?)
    }

    /// Reads and checks a lines table written as `options` say (an assay's `[tables]`).
    pub(crate) fn read_with(
        path: &Path,
        options: &crate::table::TableOptions,
    ) -> Result<LinesTable> {
        Self::from_table(&mut Table::open_with(path, options)?)
    }

    /// Reads and checks the rows of a table whose header has been parsed: each row on its
    /// own, then the lineages' samples and the parental lines across rows.
    pub fn from_table(table: &mut Table<'_>) -> Result<LinesTable> {
        let cols = LineColumns {
            line: table.require("cell_line")?,
            parent: table.require("parental_line")?,
            selected_with: table.require("selected_with")?,
            lineage: table.column("lineage"),
            time: table.column("evolution_time"),
            doubling: table.column("doubling_time_h"),
        };
        let mut problems = Vec::new();
        let mut lines: Vec<CellLine> = Vec::new();
        let mut first: BTreeMap<String, u64> = BTreeMap::new();
        let mut record = csv::StringRecord::new();
        while let Some(line) = table.next_row(&mut record)? {
            match cols.cell_line(&record, line, table, &mut first) {
                Ok(l) => lines.push(l),
                Err(p) => problems.push(p),
            }
        }
        problems.extend(lineages_sampled_twice(table, &lines));
        problems.extend(parental_line_problems(table, &lines));
        if !problems.is_empty() {
            return Err(Error::problems(ErrorKind::Input, problems));
        }
        Ok(LinesTable {
            path: table.path.clone(),
            lines,
            has_lineage: cols.lineage.is_some(),
            has_evolution_time: cols.time.is_some(),
        })
    }

    /// Whether any line has a doubling time (`doubling_time_h`).
    pub(crate) fn has_doubling_time(&self) -> bool {
        self.lines.iter().any(|l| l.doubling_time_h.is_some())
    }

    /// Checks the table against the cell lines that have wells: every parental line of a
    /// listed resistant line needs data. Returns warnings for lines present on one side only.
    pub fn check_against(&self, lines_in_wells: &BTreeSet<String>) -> Result<Vec<Problem>> {
        let (problems, warnings) = self.problems_against(lines_in_wells);
        if problems.is_empty() {
            Ok(warnings)
        } else {
            Err(Error::problems(ErrorKind::Input, problems))
        }
    }

    /// [`LinesTable::check_against`]'s problems (resistant lines with wells whose parental line
    /// has none) and warnings (lines on one side only), both whole.
    pub(crate) fn problems_against(
        &self,
        lines_in_wells: &BTreeSet<String>,
    ) -> (Vec<Problem>, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for l in &self.lines {
            let loc = Location::file(&self.path).at_line(l.line);
            if let Some(p) = &l.parental_line {
                if lines_in_wells.contains(&l.name) && !lines_in_wells.contains(p) {
                    problems.push(Problem {
                        location: loc.clone(),
                        message: format!(
                            "resistant line `{}` has wells but its parental line `{p}` has none; without the parental line there is nothing to compare with",
                            l.name
                        ),
                    });
                }
            }
            if !lines_in_wells.contains(&l.name) {
                warnings.push(Problem {
                    location: loc,
                    message: format!("cell line `{}` has no wells in the data", l.name),
                });
            }
        }
        let listed: BTreeSet<&str> = self.lines.iter().map(|l| l.name.as_str()).collect();
        for name in lines_in_wells {
            if !listed.contains(name.as_str()) {
                warnings.push(Problem {
                    location: Location::file(&self.path),
                    message: format!(
                        "cell line `{name}` has wells but is not in the lines table; it is fitted but not compared"
                    ),
                });
            }
        }
        (problems, warnings)
    }
}

/// Where a lines table's columns are.
struct LineColumns {
    line: usize,
    parent: usize,
    selected_with: usize,
    lineage: Option<usize>,
    time: Option<usize>,
    doubling: Option<usize>,
}

impl LineColumns {
    /// One row's cell line, or its one problem (an empty or repeated name, a line that is its
    /// own parent, a time or doubling time that is not a number). `first` has the line of each
    /// name seen.
    fn cell_line(
        &self,
        rec: &csv::StringRecord,
        line: u64,
        table: &Table<'_>,
        first: &mut BTreeMap<String, u64>,
    ) -> std::result::Result<CellLine, Problem> {
        let name = field(rec, Some(self.line)).to_string();
        let problem = |location: Location, message: String| Problem { location, message };
        let at = table.at(line).at_well("", "");
        if name.is_empty() {
            return Err(problem(at, "`cell_line` is empty".into()));
        }
        if let Some(prev) = first.insert(name.clone(), line) {
            return Err(problem(
                at,
                format!("cell line `{name}` is listed twice (lines {prev} and {line})"),
            ));
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let parental_line = opt(field(rec, Some(self.parent)));
        if parental_line.as_deref() == Some(name.as_str()) {
            return Err(problem(
                table.at(line),
                format!("cell line `{name}` names itself as its parental line"),
            ));
        }
        let time_text = field(rec, self.time);
        let evolution_time = if time_text.is_empty() {
            None
        } else {
            match time_text.parse::<f64>() {
                Ok(t) if t.is_finite() => Some(t),
                _ => return Err(problem(
                    table.at(line),
                    format!(
                        "`evolution_time` of `{name}` is `{time_text}`, not a number (a day, a passage, …; the unit is the assay's `evolution_time_unit`)"
                    ),
                )),
            }
        };
        let doubling_text = field(rec, self.doubling);
        let doubling_time_h = if doubling_text.is_empty() {
            None
        } else {
            match doubling_text.parse::<f64>() {
                Ok(t) if t.is_finite() && t > 0.0 => Some(t),
                _ => return Err(problem(
                    table.at(line),
                    format!(
                        "`doubling_time_h` of `{name}` is `{doubling_text}`; expected the doubling time in hours, a number > 0"
                    ),
                )),
            }
        };
        let lineage = match field(rec, self.lineage) {
            "" => name.clone(),
            l => l.to_string(),
        };
        Ok(CellLine {
            name,
            parental_line,
            selected_with: opt(field(rec, Some(self.selected_with))),
            lineage,
            evolution_time,
            doubling_time_h,
            line,
        })
    }
}

/// One line per lineage and time: two would make a trajectory ambiguous.
fn lineages_sampled_twice(table: &Table<'_>, lines: &[CellLine]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut sampled: BTreeMap<(&str, Option<u64>), &CellLine> = BTreeMap::new();
    for l in lines {
        let key = (l.lineage.as_str(), l.evolution_time.map(f64::to_bits));
        if let Some(other) = sampled.insert(key, l) {
            let when = l
                .evolution_time
                .map_or("without an evolution time".to_string(), |t| {
                    format!("at evolution time {t}")
                });
            problems.push(Problem {
                location: table.at(l.line),
                message: format!(
                    "lineage `{}` has two lines {when}: `{}` (line {}) and `{}`; give each sample of a lineage its own `evolution_time`, or each line its own `lineage`",
                    l.lineage, other.name, other.line, l.name
                ),
            });
        }
    }
    problems
}

/// The lines met following parental links from `l` back to `l` (`B, C, B`), when they loop.
fn cycle_from(l: &CellLine, by_name: &BTreeMap<&str, &CellLine>) -> Option<Vec<String>> {
    let mut path = vec![l.name.clone()];
    let mut at = l;
    // A loop through `l` closes within as many steps as there are lines.
    for _ in 0..by_name.len() {
        let next = by_name.get(at.parental_line.as_deref()?)?;
        path.push(next.name.clone());
        if next.name == l.name {
            return Some(path);
        }
        at = next;
    }
    None
}

/// Every parental line named must be in the table, and be a parental line itself.
fn parental_line_problems(table: &Table<'_>, lines: &[CellLine]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let by_name: BTreeMap<&str, &CellLine> = lines.iter().map(|l| (l.name.as_str(), l)).collect();
    for l in lines {
        let Some(p) = &l.parental_line else { continue };
        match by_name.get(p.as_str()) {
            None => problems.push(Problem {
                location: table.at(l.line),
                message: format!(
                    "resistant line `{}` names parental line `{p}`, which is not in the lines table; add a row `{p},,`",
                    l.name
                ),
            }),
            Some(_) if cycle_from(l, &by_name).is_some() => problems.push(Problem {
                location: table.at(l.line),
                message: format!(
                    "the parental links form a cycle: {}; a parental line has an empty `parental_line`",
                    cycle_from(l, &by_name).unwrap_or_default().join(" → ")
                ),
            }),
            Some(parent) if parent.parental_line.is_some() => problems.push(Problem {
                location: table.at(l.line),
                message: format!(
                    "parental line `{p}` of `{}` is itself marked resistant (its parental line is `{}`, line {}); compare every resistant line directly with a parental line",
                    l.name,
                    parent.parental_line.as_deref().unwrap_or_default(),
                    parent.line
                ),
            }),
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<LinesTable> {
        LinesTable::from_table(&mut Table::from_bytes(text.as_bytes(), Path::new("l.csv"))?)
    }

    #[test]
    fn reads_the_design_example() {
        let t =
            read("cell_line,parental_line,selected_with\nH3122,,\nH3122-CrizR,H3122,crizotinib\n")
                .unwrap();
        assert_eq!(t.lines.len(), 2);
        assert_eq!(t.lines[1].parental_line.as_deref(), Some("H3122"));
        assert_eq!(t.lines[0].selected_with, None);
    }

    #[test]
    fn lineage_and_evolution_time_are_optional_and_checked() {
        let t = read("cell_line,parental_line,selected_with\nP,,\nR,P,x\n").unwrap();
        assert_eq!(t.lines[1].lineage, "R");
        assert_eq!(t.lines[1].evolution_time, None);
        assert!(!t.has_lineage && !t.has_evolution_time);
        let t = read(
            "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\nR1,P,x,L1,2\nR2,P,x,L1,4.5\nR3,P,x,,\n",
        )
        .unwrap();
        assert!(t.has_lineage && t.has_evolution_time);
        assert_eq!(t.lines[2].lineage, "L1");
        assert_eq!(t.lines[2].evolution_time, Some(4.5));
        assert_eq!(t.lines[3].lineage, "R3");
        let e = read(
            "cell_line,parental_line,selected_with,lineage,evolution_time\nP,,,,\nR1,P,x,L1,2\nR2,P,x,L1,2\nR3,P,x,L2,day5\n",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(
                "l.csv:4: lineage `L1` has two lines at evolution time 2: `R1` (line 3) and `R2`"
            ),
            "{text}"
        );
        assert!(
            text.contains("l.csv:5: `evolution_time` of `R3` is `day5`, not a number"),
            "{text}"
        );
    }

    #[test]
    fn doubling_times_are_optional_positive_hours() {
        let t = read("cell_line,parental_line,selected_with,doubling_time_h\nP,,,24\nR,P,x,\n")
            .unwrap();
        assert_eq!(t.lines[0].doubling_time_h, Some(24.0));
        assert_eq!(t.lines[1].doubling_time_h, None);
        assert!(t.has_doubling_time());
        let t = read("cell_line,parental_line,selected_with\nP,,\n").unwrap();
        assert!(!t.has_doubling_time());
        for bad in ["0", "-3", "fast", "inf"] {
            let e = read(&format!(
                "cell_line,parental_line,selected_with,doubling_time_h\nP,,,{bad}\n"
            ))
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("l.csv:2: `doubling_time_h` of `P` is"),
                "{e}"
            );
        }
    }

    #[test]
    fn chains_and_cycles_are_errors() {
        let e = read("cell_line,parental_line,selected_with\nA,,\nB,A,x\nC,B,y\n").unwrap_err();
        assert!(e.to_string().contains("l.csv:4"), "{e}");
        assert!(e.to_string().contains("itself marked resistant"), "{e}");
        let e = read("cell_line,parental_line,selected_with\nB,C,x\nC,B,y\n").unwrap_err();
        assert_eq!(e.problems_found().len(), 2, "{e}");
        assert!(
            e.to_string()
                .contains("l.csv:2: the parental links form a cycle: B → C → B"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("l.csv:3: the parental links form a cycle: C → B → C"),
            "{e}"
        );
        let e = read("cell_line,parental_line,selected_with\nB,B,x\n").unwrap_err();
        assert!(e.to_string().contains("names itself"), "{e}");
    }
}
