//! Reading their population series (the change of log2 IC50 by day of every population) and
//! the epoch steps it gives.

use std::collections::BTreeMap;
use std::path::Path;

use super::space::{resistance_step, EpochShifts};
use crate::error::{Error, Location, Problem, Result};
use crate::table::{field, read_bytes, Table};

/// Population-level changes of log2 IC50 in time (their `TempData.mat`): for each population
/// evolved in a selecting drug, the change of each test drug's log2 IC50 from the ancestor, by
/// day.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSeries {
    /// Drug names by index (selecting and test drugs share one list).
    pub drugs: Vec<String>,
    /// Replicate populations per selecting drug.
    pub populations: usize,
    /// Days, ascending.
    pub days: Vec<f64>,
    /// `[((selecting · populations + population) · drugs + test) · days + day]`.
    pub(super) values: Vec<f64>,
}

impl PopulationSeries {
    /// The change of `test`'s log2 IC50 from the ancestor in population `population` (0-based)
    /// selected with `selecting`, on day index `day`.
    pub fn value(&self, selecting: usize, population: usize, test: usize, day: usize) -> f64 {
        let n = self.drugs.len();
        self.values
            [((selecting * self.populations + population) * n + test) * self.days.len() + day]
    }

    /// The change between two days (`to − from`, log2 IC50) of every (selecting drug,
    /// population, test drug): `[selecting][population][test]`.
    pub fn change(&self, from_day: f64, to_day: f64) -> Result<Vec<Vec<Vec<f64>>>> {
        let at = |day: f64| {
            self.days.iter().position(|&d| d == day).ok_or_else(|| {
                Error::input(
                    Location::default(),
                    format!("no day {day} in the series (days {:?})", self.days),
                )
            })
        };
        let (a, b) = (at(from_day)?, at(to_day)?);
        let n = self.drugs.len();
        Ok((0..n)
            .map(|sel| {
                (0..self.populations)
                    .map(|p| {
                        (0..n)
                            .map(|t| self.value(sel, p, t, b) - self.value(sel, p, t, a))
                            .collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// Their transition steps for the epoch `from_day → to_day`: each population's change over
    /// the epoch, binned by [`resistance_step`].
    pub fn epoch_shifts(&self, from_day: f64, to_day: f64) -> Result<EpochShifts> {
        let change = self.change(from_day, to_day)?;
        let steps: Vec<Vec<Vec<i8>>> = change
            .iter()
            .map(|pops| {
                pops.iter()
                    .map(|v| v.iter().map(|&x| resistance_step(x)).collect())
                    .collect()
            })
            .collect();
        EpochShifts::new(&steps)
    }
}

/// Reads a population series in the bundled tidy form
/// (`assays/maltas-wood-temporal/raw/ic50_timeseries_TempData_tidy.csv`): columns
/// `selecting_drug_index, selecting_drug_inferred, population, test_drug_index,
/// test_drug_inferred, day, value`, one row per combination, every combination present, drug
/// indices 0-based and their names consistent, populations 1-based.
pub fn read_population_series(path: &Path) -> Result<PopulationSeries> {
    let bytes = read_bytes(path)?;
    let mut table = Table::from_bytes(&bytes, path)?;
    let cols = series_columns(&table)?;
    let (rows, names) = read_rows(&mut table, &cols)?;
    let whole = Location::file(path);
    let n = names.len();
    if n == 0 {
        return Err(Error::input(whole, "no rows"));
    }
    if names.keys().copied().ne(0..n) {
        return Err(Error::input(
            whole,
            format!(
                "drug indices {:?}: expected 0 to {} without gaps",
                names.keys().collect::<Vec<_>>(),
                n - 1
            ),
        ));
    }
    let drugs = names.into_values().map(|(name, _)| name).collect();
    fill(rows, drugs, &table, whole)
}

/// The series' columns, in the order of [`SeriesRow`]'s fields.
const SERIES_COLUMNS: [&str; 7] = [
    "selecting_drug_index",
    "selecting_drug_inferred",
    "population",
    "test_drug_index",
    "test_drug_inferred",
    "day",
    "value",
];

/// Where the series' columns are; an error names the first missing one.
fn series_columns(table: &Table<'_>) -> Result<[usize; 7]> {
    let [c_sel, c_sel_name, c_pop, c_test, c_test_name, c_day, c_value] =
        SERIES_COLUMNS.map(|c| table.require(c));
    Ok([
        c_sel?,
        c_sel_name?,
        c_pop?,
        c_test?,
        c_test_name?,
        c_day?,
        c_value?,
    ])
}

/// One row of the series, checked (population 0-based).
struct SeriesRow {
    line: u64,
    sel: usize,
    pop: usize,
    test: usize,
    day: f64,
    value: f64,
}

/// Drug names by index, with the line that first named each.
type DrugNames = BTreeMap<usize, (String, u64)>;

/// Every row of the table, checked, and the drug names they give; or every problem.
fn read_rows(table: &mut Table<'_>, cols: &[usize; 7]) -> Result<(Vec<SeriesRow>, DrugNames)> {
    let mut rows = Vec::new();
    let mut names = DrugNames::new();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = table.next_row(&mut rec)? {
        let at = table.at(line);
        let mut bad = |m: String| {
            problems.push(Problem {
                location: at.clone(),
                message: m,
            })
        };
        if let Some(row) = series_row(&rec, cols, line, &mut names, &mut bad) {
            rows.push(row);
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(crate::error::ErrorKind::Input, problems));
    }
    Ok((rows, names))
}

/// One row: its indices and numbers parsed, its drug names checked against earlier rows';
/// what is wrong said through `bad`.
fn series_row(
    rec: &csv::StringRecord,
    cols: &[usize; 7],
    line: u64,
    names: &mut DrugNames,
    bad: &mut dyn FnMut(String),
) -> Option<SeriesRow> {
    let text = |i: usize| field(rec, Some(cols[i]));
    let index = |i: usize, name: &str, bad: &mut dyn FnMut(String)| {
        text(i).parse::<usize>().ok().or_else(|| {
            bad(format!(
                "`{name}` is `{}`: expected a whole number",
                text(i)
            ));
            None
        })
    };
    let sel = index(0, "selecting_drug_index", bad);
    let pop = index(2, "population", bad);
    let test = index(3, "test_drug_index", bad);
    let number = |i: usize, name: &str, bad: &mut dyn FnMut(String)| match text(i).parse::<f64>() {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            bad(format!(
                "`{name}` is `{}`: expected a finite number",
                text(i)
            ));
            None
        }
    };
    let day = number(5, "day", bad);
    let value = number(6, "value", bad);
    if pop == Some(0) {
        bad("`population` is 0: populations count from 1".into());
        return None;
    }
    for (idx, name_col) in [(sel, 1), (test, 4)] {
        let (Some(i), name) = (idx, text(name_col).to_string()) else {
            continue;
        };
        match names.get(&i) {
            Some((known, first)) if *known != name => bad(format!(
                "drug index {i} is `{name}` here but `{known}` on line {first}"
            )),
            Some(_) => {}
            None => {
                names.insert(i, (name, line));
            }
        }
    }
    Some(SeriesRow {
        line,
        sel: sel?,
        pop: pop? - 1,
        test: test?,
        day: day?,
        value: value?,
    })
}

/// The series from its rows: every (selecting drug, population, test drug, day) once.
fn fill(
    rows: Vec<SeriesRow>,
    drugs: Vec<String>,
    table: &Table<'_>,
    whole: Location,
) -> Result<PopulationSeries> {
    let n = drugs.len();
    let populations = rows.iter().map(|r| r.pop + 1).max().unwrap_or(0);
    let mut days: Vec<f64> = rows.iter().map(|r| r.day).collect();
    days.sort_by(f64::total_cmp);
    days.dedup();
    let nd = days.len();
    let mut values = vec![f64::NAN; n * populations * n * nd];
    let mut seen: Vec<Option<u64>> = vec![None; values.len()];
    let mut problems = Vec::new();
    for r in &rows {
        let d = days.iter().position(|&x| x == r.day).expect("day listed");
        let at = ((r.sel * populations + r.pop) * n + r.test) * nd + d;
        if let Some(first) = seen[at] {
            problems.push(Problem {
                location: table.at(r.line),
                message: format!("the same combination as line {first}"),
            });
        }
        seen[at] = Some(r.line);
        values[at] = r.value;
    }
    if let Some(gap) = seen.iter().position(Option::is_none) {
        let (rest, day) = (gap / nd, gap % nd);
        let (rest, test) = (rest / n, rest % n);
        let (sel, pop) = (rest / populations, rest % populations);
        problems.push(Problem {
            location: whole,
            message: format!(
                "no value for selecting drug {sel}, population {}, test drug {test}, day {} \
                 (every combination is needed; {} are missing)",
                pop + 1,
                days[day],
                seen.iter().filter(|s| s.is_none()).count()
            ),
        });
    }
    if !problems.is_empty() {
        return Err(Error::problems(crate::error::ErrorKind::Input, problems));
    }
    Ok(PopulationSeries {
        drugs,
        populations,
        days,
        values,
    })
}
