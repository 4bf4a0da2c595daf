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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::plate::WellPos;
use crate::wells::Role;

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
pub type Params = BTreeMap<String, Value>;

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

/// Group kinds, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Expt,
    Icol,
    Irow,
    Col,
    Row,
    Block,
    Well,
}

#[derive(Debug, Clone)]
struct Group {
    kind: Kind,
    in_plate: bool,
    area: usize,
    order: usize,
    wells: Vec<WellPos>,
    rows: Vec<u16>,
    cols: Vec<u16>,
    params: Params,
}

fn wellmap(path: &Path) -> Result<Layout> {
    let mut files = Vec::new();
    let table = load_with_includes(path, &mut files, 0)?;
    let loc = Location::file(path);
    // Group errors name the first line holding the offending pattern (the first `…` in the
    // message), so a typo in `[row.Q9]` points at its line.
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut bad = |m: String| {
        let mut l = loc.clone();
        let token = m.split('`').nth(1).unwrap_or("");
        if !token.is_empty() {
            l.line = text
                .lines()
                .position(|line| line.contains(token))
                .map(|i| i as u64 + 1);
        }
        Error::input(l, m)
    };
    let mut global = Vec::new();
    let mut plates: BTreeMap<String, Vec<Group>> = BTreeMap::new();
    let mut order = 0;
    for (key, value) in &table {
        match key.as_str() {
            "meta" => {}
            "plate" => {
                let t = value
                    .as_table()
                    .ok_or_else(|| bad("`plate` must be a table of plates".into()))?;
                for (name, pt) in t {
                    let pt = pt
                        .as_table()
                        .ok_or_else(|| bad(format!("`plate.{name}` must be a table")))?;
                    let mut groups = Vec::new();
                    collect_groups(pt, true, &mut groups, &mut order).map_err(&mut bad)?;
                    plates.insert(name.clone(), groups);
                }
            }
            k if group_kind(k).is_some() => {
                let mut one = toml::Table::new();
                one.insert(key.clone(), value.clone());
                collect_groups(&one, false, &mut global, &mut order).map_err(&mut bad)?;
            }
            // Custom tables (`[bradford]`) are for the user's analysis script.
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    if plates.is_empty() {
        out.insert(String::new(), resolve(&global));
    } else {
        for (name, groups) in plates {
            let mut all = global.clone();
            all.extend(groups);
            out.insert(name, resolve(&all));
        }
    }
    Ok(Layout {
        path: path.to_path_buf(),
        files,
        plates: out,
    })
}

fn group_kind(k: &str) -> Option<Kind> {
    Some(match k {
        "expt" => Kind::Expt,
        "icol" => Kind::Icol,
        "irow" => Kind::Irow,
        "col" => Kind::Col,
        "row" => Kind::Row,
        "block" => Kind::Block,
        "well" => Kind::Well,
        _ => return None,
    })
}

/// Reads a wellmap file and pastes its `meta.include` files under it (the including file's
/// values win).
fn load_with_includes(path: &Path, files: &mut Vec<PathBuf>, depth: usize) -> Result<toml::Table> {
    let loc = Location::file(path);
    if depth > 8 {
        return Err(Error::input(
            loc,
            "`meta.include` nests more than 8 deep (a cycle?)",
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
    files.push(path.to_path_buf());
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
        let mut l = loc.clone();
        l.line = line;
        Error::input(l, format!("not a valid TOML layout: {}", e.message()))
    })?;
    let includes: Vec<String> = match table.get("meta").and_then(|m| m.get("include")) {
        None => Vec::new(),
        Some(toml::Value::String(s)) => vec![s.clone()],
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(_) => {
            return Err(Error::input(
                loc.at_line_opt(crate::text::key_line(&text, "include")),
                "`meta.include` must be a file name or a list of them",
            ))
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut merged = toml::Table::new();
    for inc in includes {
        let sub = load_with_includes(&dir.join(&inc), files, depth + 1)?;
        deep_merge(&mut merged, sub);
    }
    deep_merge(&mut merged, table);
    Ok(merged)
}

fn deep_merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => deep_merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Splits a table into its parameters (scalars) and the groups inside it.
fn params_of(t: &toml::Table) -> Params {
    t.iter()
        .filter_map(|(k, v)| Value::from_toml(v).map(|v| (k.clone(), v)))
        .collect()
}

fn collect_groups(
    t: &toml::Table,
    in_plate: bool,
    out: &mut Vec<Group>,
    order: &mut usize,
) -> std::result::Result<(), String> {
    let mut push =
        |kind, wells: Vec<WellPos>, rows, cols, area, params: Params, order: &mut usize| {
            if params.is_empty() && kind != Kind::Block && kind != Kind::Well {
                return;
            }
            *order += 1;
            out.push(Group {
                kind,
                in_plate,
                area,
                order: *order,
                wells,
                rows,
                cols,
                params,
            });
        };
    // Parameters written directly in `[plate.X]` apply to the whole plate, like `[expt]`.
    if in_plate {
        let p = params_of(t);
        if !p.is_empty() {
            push(Kind::Expt, vec![], vec![], vec![], 0, p, order);
        }
    }
    for (key, value) in t {
        let Some(kind) = group_kind(key) else {
            continue;
        };
        let Some(sub) = value.as_table() else {
            if in_plate {
                continue; // a plate parameter named like a group; already taken above
            }
            return Err(format!("`{key}` must be a table"));
        };
        match kind {
            Kind::Expt => push(kind, vec![], vec![], vec![], 0, params_of(sub), order),
            Kind::Row | Kind::Irow => {
                for (pat, g) in sub {
                    let g = g
                        .as_table()
                        .ok_or_else(|| format!("`{key}.{pat}` must be a table"))?;
                    let rows = expand_rows(pat)?;
                    push(kind, vec![], rows, vec![], 0, params_of(g), order);
                }
            }
            Kind::Col | Kind::Icol => {
                for (pat, g) in sub {
                    let g = g
                        .as_table()
                        .ok_or_else(|| format!("`{key}.{pat}` must be a table"))?;
                    let cols = expand_cols(pat)?;
                    push(kind, vec![], vec![], cols, 0, params_of(g), order);
                }
            }
            Kind::Well => {
                for (pat, g) in sub {
                    let g = g
                        .as_table()
                        .ok_or_else(|| format!("`well.{pat}` must be a table"))?;
                    let wells = expand_wells(pat)?;
                    push(kind, wells, vec![], vec![], 1, params_of(g), order);
                }
            }
            Kind::Block => {
                for (size, anchors) in sub {
                    let (w, h) = parse_size(size)?;
                    let anchors = anchors
                        .as_table()
                        .ok_or_else(|| format!("`block.{size}` must be a table of anchor wells"))?;
                    for (pat, g) in anchors {
                        let g = g
                            .as_table()
                            .ok_or_else(|| format!("`block.{size}.{pat}` must be a table"))?;
                        let mut wells = Vec::new();
                        for a in expand_wells(pat)? {
                            for dr in 0..h {
                                for dc in 0..w {
                                    let (r, c) = (a.row + dr, a.column + dc);
                                    if r >= 32 || c >= 48 {
                                        return Err(format!(
                                            "block `{size}` at {a} runs off the largest plate (1536 wells)"
                                        ));
                                    }
                                    wells.push(WellPos { row: r, column: c });
                                }
                            }
                        }
                        push(
                            kind,
                            wells,
                            vec![],
                            vec![],
                            usize::from(w * h),
                            params_of(g),
                            order,
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn parse_size(s: &str) -> std::result::Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("block size `{s}`: expected WIDTHxHEIGHT such as 3x2"))?;
    let p = |t: &str| {
        t.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=48).contains(n))
    };
    match (p(w), p(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!(
            "block size `{s}`: expected WIDTHxHEIGHT such as 3x2"
        )),
    }
}

fn row_index(s: &str) -> std::result::Result<u16, String> {
    let t = s.trim();
    match crate::read::grid::row_label(t) {
        Some((r, _)) => Ok(r),
        None => Err(format!("`{t}` is not a row (A-P, AA-AF)")),
    }
}

fn col_index(s: &str) -> std::result::Result<u16, String> {
    let t = s.trim();
    match t.parse::<u16>() {
        Ok(c) if (1..=48).contains(&c) => Ok(c - 1),
        _ => Err(format!("`{t}` is not a column (1-48)")),
    }
}

/// Expands a 1-D pattern: `A`, `A-D`, `A,C,E`, `A,C,...,G` (and the same with numbers).
fn expand_1d(
    pat: &str,
    one: &dyn Fn(&str) -> std::result::Result<u16, String>,
) -> std::result::Result<Vec<u16>, String> {
    let parts: Vec<&str> = pat.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        if p == "..." {
            if i < 2 || i + 1 >= parts.len() {
                return Err(format!(
                    "`{pat}`: `...` needs two items before it and one after"
                ));
            }
            let (a, b) = (one(parts[i - 2])?, one(parts[i - 1])?);
            let end = one(parts[i + 1])?;
            let step = i32::from(b) - i32::from(a);
            if step <= 0 || (i32::from(end) - i32::from(b)) % step != 0 || end < b {
                return Err(format!(
                    "`{pat}`: the progression does not reach `{}`",
                    parts[i + 1]
                ));
            }
            let mut x = i32::from(b) + step;
            while x < i32::from(end) {
                out.push(x as u16);
                x += step;
            }
            i += 1;
            continue;
        }
        if let Some((a, b)) = p.split_once('-') {
            let (a, b) = (one(a)?, one(b)?);
            if b < a {
                return Err(format!("`{p}`: a range runs from low to high"));
            }
            out.extend(a..=b);
        } else {
            out.push(one(p)?);
        }
        i += 1;
    }
    Ok(out)
}

fn expand_rows(pat: &str) -> std::result::Result<Vec<u16>, String> {
    expand_1d(pat, &row_index)
}

fn expand_cols(pat: &str) -> std::result::Result<Vec<u16>, String> {
    expand_1d(pat, &col_index)
}

/// Expands a well pattern: `A1`, `A1-B3` (rectangle), `A1,C3`, `A1,C3,...,E5` (2-D step).
fn expand_wells(pat: &str) -> std::result::Result<Vec<WellPos>, String> {
    let parts: Vec<&str> = pat.split(',').map(str::trim).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let p = parts[i];
        if p == "..." {
            if i < 2 || i + 1 >= parts.len() {
                return Err(format!(
                    "`{pat}`: `...` needs two wells before it and one after"
                ));
            }
            let a = WellPos::parse(parts[i - 2])?;
            let b = WellPos::parse(parts[i - 1])?;
            let end = WellPos::parse(parts[i + 1])?;
            let (dr, dc) = (
                i32::from(b.row) - i32::from(a.row),
                i32::from(b.column) - i32::from(a.column),
            );
            let (er, ec) = (
                i32::from(end.row) - i32::from(b.row),
                i32::from(end.column) - i32::from(b.column),
            );
            let ok = (dr, dc) != (0, 0)
                && dr >= 0
                && dc >= 0
                && (dr == 0 || (er % dr == 0 && er >= 0))
                && (dc == 0 || (ec % dc == 0 && ec >= 0));
            if !ok {
                return Err(format!(
                    "`{pat}`: the progression does not reach `{}`",
                    parts[i + 1]
                ));
            }
            // 2-D: every combination of the row and column progressions.
            let rows: Vec<i32> = if dr == 0 {
                vec![i32::from(a.row)]
            } else {
                (i32::from(a.row)..=i32::from(end.row))
                    .step_by(dr as usize)
                    .collect()
            };
            let cols: Vec<i32> = if dc == 0 {
                vec![i32::from(a.column)]
            } else {
                (i32::from(a.column)..=i32::from(end.column))
                    .step_by(dc as usize)
                    .collect()
            };
            for r in &rows {
                for c in &cols {
                    let w = WellPos {
                        row: *r as u16,
                        column: *c as u16,
                    };
                    if !out.contains(&w) {
                        out.push(w);
                    }
                }
            }
            i += 2;
            continue;
        }
        if let Some((a, b)) = p.split_once('-') {
            let (a, b) = (WellPos::parse(a)?, WellPos::parse(b)?);
            if b.row < a.row || b.column < a.column {
                return Err(format!(
                    "`{p}`: a well range runs from top-left to bottom-right"
                ));
            }
            for r in a.row..=b.row {
                for c in a.column..=b.column {
                    out.push(WellPos { row: r, column: c });
                }
            }
        } else {
            out.push(WellPos::parse(p)?);
        }
        i += 1;
    }
    Ok(out)
}

/// Which wells a group covers, given the well set's rows and columns.
fn covers(g: &Group, w: WellPos) -> bool {
    match g.kind {
        Kind::Expt => true,
        Kind::Row => g.rows.contains(&w.row),
        Kind::Col => g.cols.contains(&w.column),
        // Interleaved (wellmap): rows pair up A/B, C/D …; `irow.A` is A1, B2, A3, B4 … and
        // `irow.B` is B1, A2, B3 …; columns pair 1/2, 3/4 … the same way for `icol`.
        Kind::Irow => g.rows.contains(&(w.row ^ (w.column % 2))),
        Kind::Icol => g.cols.contains(&(w.column ^ (w.row % 2))),
        Kind::Block | Kind::Well => g.wells.contains(&w),
    }
}

fn resolve(groups: &[Group]) -> BTreeMap<WellPos, Params> {
    let mut explicit: BTreeSet<WellPos> = BTreeSet::new();
    let mut row_groups: BTreeSet<u16> = BTreeSet::new();
    let mut col_groups: BTreeSet<u16> = BTreeSet::new();
    for g in groups {
        explicit.extend(g.wells.iter().copied());
        match g.kind {
            Kind::Row => row_groups.extend(g.rows.iter().copied()),
            Kind::Col => col_groups.extend(g.cols.iter().copied()),
            // An interleaved row spans its row and its partner; an interleaved column likewise.
            Kind::Irow => row_groups.extend(g.rows.iter().flat_map(|&r| [r, r ^ 1])),
            Kind::Icol => col_groups.extend(g.cols.iter().flat_map(|&c| [c, c ^ 1])),
            _ => {}
        }
    }
    let all_rows: BTreeSet<u16> = row_groups
        .iter()
        .copied()
        .chain(explicit.iter().map(|w| w.row))
        .collect();
    let all_cols: BTreeSet<u16> = col_groups
        .iter()
        .copied()
        .chain(explicit.iter().map(|w| w.column))
        .collect();
    let mut wells = explicit.clone();
    for &r in &row_groups {
        for &c in &all_cols {
            wells.insert(WellPos { row: r, column: c });
        }
    }
    for &c in &col_groups {
        for &r in &all_rows {
            wells.insert(WellPos { row: r, column: c });
        }
    }
    let mut ranked: Vec<&Group> = groups.iter().collect();
    // Lowest precedence first, so later writes win.
    ranked.sort_by_key(|g| (g.kind, std::cmp::Reverse(g.area), g.in_plate, g.order));
    let mut out = BTreeMap::new();
    for w in wells {
        if w.row >= 32 || w.column >= 48 {
            continue;
        }
        let mut p = Params::new();
        for g in &ranked {
            if covers(g, w) {
                for (k, v) in &g.params {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
        out.insert(w, p);
    }
    out
}

// ---------------------------------------------------------------- grid layouts

/// A plate-shaped layout (plater): each grid block is one parameter, named in its corner
/// cell; or a one-row-per-well table with a `well` column (and optionally `plate`).
fn grid_layout(path: &Path) -> Result<Layout> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "reading", e))?;
    let sheets = crate::read::sheet::sheets_from_bytes(&bytes, path)?;
    let mut wells: BTreeMap<WellPos, Params> = BTreeMap::new();
    let mut plates = BTreeMap::new();
    // One row per well: a header with a `well` column.
    if let Some((si, h, wc)) = sheets.iter().enumerate().find_map(|(si, s)| {
        (0..s.rows.len().min(5)).find_map(|h| {
            s.rows[h]
                .iter()
                .position(|c| c.eq_ignore_ascii_case("well"))
                .map(|wc| (si, h, wc))
        })
    }) {
        let s = &sheets[si];
        let pc = s.rows[h]
            .iter()
            .position(|c| c.eq_ignore_ascii_case("plate"));
        for r in h + 1..s.rows.len() {
            if s.blank(r) {
                continue;
            }
            let pos = WellPos::parse(s.cell(r, wc)).map_err(|m| Error::input(s.at(r), m))?;
            let mut p = Params::new();
            for (c, name) in s.rows[h].iter().enumerate() {
                let v = s.cell(r, c);
                if c == wc || Some(c) == pc || name.is_empty() || v.is_empty() {
                    continue;
                }
                p.insert(name.to_ascii_lowercase(), Value::Text(v.to_string()));
            }
            let plate = pc.map(|c| s.cell(r, c).to_string()).unwrap_or_default();
            let map: &mut BTreeMap<WellPos, Params> = plates.entry(plate).or_default();
            if map.insert(pos, p).is_some() {
                return Err(Error::input(
                    s.at(r).at_well("", &pos.to_string()),
                    format!("well {pos} is listed twice in the layout"),
                ));
            }
        }
        return Ok(Layout {
            path: path.to_path_buf(),
            files: vec![path.to_path_buf()],
            plates,
        });
    }
    let mut found = false;
    for (i, s) in sheets.iter().enumerate() {
        for read in crate::read::grid::scan(s, i) {
            found = true;
            let key = read.name.to_ascii_lowercase();
            for c in read.cells {
                wells
                    .entry(c.pos)
                    .or_default()
                    .insert(key.clone(), Value::Text(c.text));
            }
        }
    }
    if !found {
        return Err(Error::input(
            Location::file(path),
            "no layout found: expected plate-shaped grids whose corner cell names the parameter (`drug,1,2,…,12` then rows `A,…`), or a table with a `well` column",
        ));
    }
    plates.insert(String::new(), wells);
    Ok(Layout {
        path: path.to_path_buf(),
        files: vec![path.to_path_buf()],
        plates,
    })
}

#[cfg(test)]
mod tests {
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
