//! Plate layouts: what each well holds.
//!
//! Two forms: wellmap TOML (`[expt]`, `[plate.NAME]`, `[row.A]`, `[col.1]`, `[irow.A]`,
//! `[icol.1]`, `[block.WxH.A1]`, `[well.A1]`, patterns `A-D`, `'A,C,E'`, `'A,C,...,G'`,
//! `'A1,C3,...,E5'`, `[meta] include`), and plate-shaped CSV/TSV/XLSX grids (plater: one
//! block per parameter, the parameter named in the corner cell). Both give parameters per
//! well ([`Layout`]); [`Layout::spec`] turns one well's parameters into the tidy fields
//! (`role`, `cell_line`, `drug`, `concentration` or a dilution-series rule).
//!
//! wellmap semantics followed (checked against wellmap 3.5.2's own output in the tests): the
//! wells of a layout are those named by `well`/`block` groups, plus every row of a `row`/`irow`
//! group crossed with every column mentioned anywhere, plus every column of a `col`/`icol`
//! group crossed with every row mentioned anywhere; precedence `well` > `block` (smaller area
//! first, then later) > `row` > `col` > `irow` > `icol` > `expt`, and a group inside
//! `[plate.X]` ranks just above the same group outside.

mod pattern;
mod plate_shaped;
mod wellmap;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::plate::WellPos;
use crate::wells::Role;
use plate_shaped::grid_layout;
use wellmap::wellmap;

/// A parameter value as the layout wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number (TOML integers become f64).
    Number(f64),
    /// true/false.
    Bool(bool),
    /// A TOML date or time, as written.
    Date(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) | Value::Date(s) => f.write_str(s),
            Value::Number(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    fn from_toml(v: &toml::Value) -> Option<Value> {
        Some(match v {
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(i) => Value::Number(*i as f64),
            toml::Value::Float(x) => Value::Number(*x),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::Datetime(d) => Value::Date(d.to_string()),
            _ => return None,
        })
    }

    /// The value as a number, if it is one (text that parses as a number counts).
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            Value::Text(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Parameters of one well.
pub(crate) type Params = BTreeMap<String, Value>;

/// A parsed layout: per plate (`""` when the layout names no plates), per well, parameters.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The layout file.
    pub path: PathBuf,
    /// Every file read (the layout and its includes).
    pub files: Vec<PathBuf>,
    /// Plate name (`""` = every plate) → well → parameters.
    pub plates: BTreeMap<String, BTreeMap<WellPos, Params>>,
}

/// The tidy fields a layout gives one well.
#[derive(Debug, Clone, PartialEq)]
pub struct WellSpec {
    /// What the well is for.
    pub role: Role,
    /// Cell line ("" when the layout names none).
    pub cell_line: String,
    /// Drug ("" for controls).
    pub drug: String,
    /// Concentration, for samples.
    pub concentration: Option<f64>,
    /// Replicate label, if the layout gives one.
    pub replicate: String,
}

/// Layout parameters with a meaning here; others are carried through as extra columns.
pub const LAYOUT_KEYS: [&str; 9] = [
    "role",
    "cell_line",
    "drug",
    "concentration",
    "top_concentration",
    "dilution",
    "direction",
    "series_start",
    "replicate",
];

impl Layout {
    /// Reads a layout: wellmap TOML (`.toml`) or a plate-shaped grid file (anything else).
    pub fn read(path: &Path) -> Result<Layout> {
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if is_toml {
            wellmap(path)
        } else {
            grid_layout(path)
        }
    }

    /// The wells of plate `plate`: its own section if the layout names plates, else the
    /// plate-free one. Error when the layout names plates but not this one.
    pub fn wells_of(&self, plate: &str) -> Result<&BTreeMap<WellPos, Params>> {
        if let Some(w) = self.plates.get(plate) {
            return Ok(w);
        }
        if let Some(w) = self.plates.get("") {
            return Ok(w);
        }
        let names: Vec<&str> = self.plates.keys().map(String::as_str).collect();
        Err(Error::input(
            Location::file(&self.path),
            format!(
                "the layout has no plate `{plate}`; it describes plates {}",
                names.join(", ")
            ),
        ))
    }

    /// The tidy fields of one well from its parameters. `default_line` is the assay's
    /// `cell_line` for wells the layout gives none.
    pub fn spec(
        &self,
        plate: &str,
        pos: WellPos,
        params: &Params,
        default_line: &str,
    ) -> std::result::Result<WellSpec, String> {
        let text = |k: &str| params.get(k).map(|v| v.to_string()).unwrap_or_default();
        let drug = text("drug").trim().to_string();
        let mut cell_line = text("cell_line").trim().to_string();
        let role = match params.get("role") {
            Some(v) => {
                let s = v.to_string();
                Role::parse(&s).ok_or_else(|| {
                    format!(
                        "role `{s}`{}; expected one of: {}",
                        crate::error::did_you_mean(&s, &crate::wells::ROLE_NAMES),
                        crate::wells::ROLE_NAMES.join(", ")
                    )
                })?
            }
            None if !drug.is_empty() => Role::Sample,
            None => {
                return Err(format!(
                    "the layout gives this well{} no `role` and no `drug`; say `role = \"vehicle\"`, `\"blank\"` or `\"empty\"`",
                    if plate.is_empty() { String::new() } else { format!(" of plate {plate}") }
                ))
            }
        };
        if cell_line.is_empty() && role != Role::Empty {
            cell_line = default_line.to_string();
        }
        // Controls carry no dose; a series rule that covers them (a row's rule reaching the
        // control columns) is not theirs.
        let concentration = match role {
            Role::Sample => concentration(params, pos)?,
            _ => None,
        };
        Ok(WellSpec {
            role,
            cell_line: if role == Role::Empty {
                String::new()
            } else {
                cell_line
            },
            drug: if role == Role::Sample {
                drug
            } else {
                String::new()
            },
            concentration,
            replicate: text("replicate"),
        })
    }
}

/// `concentration`, or the dilution-series rule: `top_concentration` at row/column
/// `series_start`, divided by `dilution` (> 1) per step in `direction`
/// (`right`, `left`, `down`, `up`).
fn concentration(params: &Params, pos: WellPos) -> std::result::Result<Option<f64>, String> {
    if let Some(c) = params.get("concentration") {
        return c
            .number()
            .map(Some)
            .ok_or_else(|| format!("concentration `{c}` is not a number"));
    }
    let Some(top) = params.get("top_concentration") else {
        return Ok(None);
    };
    let top = top
        .number()
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or_else(|| format!("top_concentration `{top}` is not a positive number"))?;
    let fold = params
        .get("dilution")
        .ok_or("`top_concentration` needs `dilution` (the fold between neighbouring doses)")?;
    let fold = fold
        .number()
        .filter(|f| f.is_finite() && *f > 1.0)
        .ok_or_else(|| {
            format!("dilution `{fold}` must be a number above 1 (e.g. 3 for a threefold series)")
        })?;
    let dir = params
        .get("direction")
        .map(|d| d.to_string().to_ascii_lowercase())
        .unwrap_or_else(|| "right".into());
    let start = params
        .get("series_start")
        .ok_or("`top_concentration` needs `series_start` (the column, or row letter, holding the top dose)")?
        .to_string();
    let steps: i64 = match dir.as_str() {
        "right" | "left" => {
            let c: i64 = start
                .parse::<f64>()
                .ok()
                .filter(|c| c.fract() == 0.0 && *c >= 1.0)
                .map(|c| c as i64)
                .ok_or_else(|| {
                    format!("series_start `{start}` must be a column number for direction `{dir}`")
                })?;
            let here = i64::from(pos.column) + 1;
            if dir == "right" {
                here - c
            } else {
                c - here
            }
        }
        "down" | "up" => {
            let r = crate::read::grid::row_label(&start)
                .map(|(r, _)| i64::from(r))
                .ok_or_else(|| {
                    format!("series_start `{start}` must be a row letter for direction `{dir}`")
                })?;
            let here = i64::from(pos.row);
            if dir == "down" {
                here - r
            } else {
                r - here
            }
        }
        _ => {
            return Err(format!(
                "direction `{dir}`: expected right, left, down or up"
            ))
        }
    };
    if steps < 0 {
        return Err(format!(
            "this well lies before the series start `{start}` (direction `{dir}`), so the rule gives it no dose"
        ));
    }
    Ok(Some(top / fold.powi(steps as i32)))
}

// ---------------------------------------------------------------- wellmap

// ---------------------------------------------------------------- grid layouts

#[cfg(test)]
mod tests {
    use super::pattern::{expand_cols, expand_rows, expand_wells};
    use super::*;

    #[test]
    fn patterns_expand() {
        assert_eq!(expand_rows("A,C,...,G").unwrap(), vec![0, 2, 4, 6]);
        assert_eq!(expand_rows("B-D").unwrap(), vec![1, 2, 3]);
        assert_eq!(expand_cols("1,3,...,17").unwrap().len(), 9);
        let w = expand_wells("A1,C3,...,E5").unwrap();
        assert_eq!(w.len(), 9);
        assert_eq!(expand_wells("A1-B2").unwrap().len(), 4);
        assert!(expand_rows("A,C,...,F").is_err());
    }

    #[test]
    fn dilution_rule() {
        let mut p = Params::new();
        p.insert("drug".into(), Value::Text("x".into()));
        p.insert("top_concentration".into(), Value::Number(10.0));
        p.insert("dilution".into(), Value::Number(2.0));
        p.insert("series_start".into(), Value::Number(2.0));
        let l = Layout::default();
        let at = |s| WellPos::parse(s).unwrap();
        let s = l.spec("", at("B4"), &p, "H3122").unwrap();
        assert_eq!(s.concentration, Some(2.5));
        assert_eq!(s.role, Role::Sample);
        assert_eq!(s.cell_line, "H3122");
        assert!(l
            .spec("", at("B1"), &p, "")
            .unwrap_err()
            .contains("before the series start"));
        p.insert("direction".into(), Value::Text("up".into()));
        assert!(l
            .spec("", at("B4"), &p, "")
            .unwrap_err()
            .contains("row letter"));
        p.insert("series_start".into(), Value::Text("H".into()));
        assert_eq!(
            l.spec("", at("F4"), &p, "").unwrap().concentration,
            Some(2.5)
        );
    }
}
