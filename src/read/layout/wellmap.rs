//! wellmap TOML layouts: `[expt]`, `[plate.NAME]`, `[row.A]`, `[col.1]`, `[irow.A]`,
//! `[icol.1]`, `[block.WxH.A1]`, `[well.A1]` groups and `[meta] include`, resolved to
//! parameters per well with wellmap's precedence (see the module above).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::pattern::{expand_cols, expand_rows, expand_wells, parse_size};
use super::{Layout, Params, Value};
use crate::error::{Error, Location, Result};
use crate::plate::WellPos;

/// Group kinds, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Expt,
    Icol,
    Irow,
    Col,
    Row,
    Block,
    Well,
}

#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) kind: Kind,
    pub(super) in_plate: bool,
    pub(super) area: usize,
    pub(super) order: usize,
    pub(super) wells: Vec<WellPos>,
    pub(super) rows: Vec<u16>,
    pub(super) cols: Vec<u16>,
    pub(super) params: Params,
}

pub(super) fn wellmap(path: &Path) -> Result<Layout> {
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

pub(super) fn group_kind(k: &str) -> Option<Kind> {
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
pub(super) fn load_with_includes(
    path: &Path,
    files: &mut Vec<PathBuf>,
    depth: usize,
) -> Result<toml::Table> {
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

pub(super) fn deep_merge(into: &mut toml::Table, from: toml::Table) {
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
pub(super) fn params_of(t: &toml::Table) -> Params {
    t.iter()
        .filter_map(|(k, v)| Value::from_toml(v).map(|v| (k.clone(), v)))
        .collect()
}

pub(super) fn collect_groups(
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
                        let wells = block_wells(size, pat, (w, h))?;
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

/// The wells of blocks of `w` × `h` wells anchored at the wells of `pat` (`block.<size>`).
fn block_wells(
    size: &str,
    pat: &str,
    (w, h): (u16, u16),
) -> std::result::Result<Vec<WellPos>, String> {
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
    Ok(wells)
}

/// Which wells a group covers, given the well set's rows and columns.
pub(super) fn covers(g: &Group, w: WellPos) -> bool {
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

pub(super) fn resolve(groups: &[Group]) -> BTreeMap<WellPos, Params> {
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
