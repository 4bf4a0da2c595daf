//! Plate-shaped layouts (plater style): CSV/TSV/XLSX grids, one block per parameter, the
//! parameter named in the block's corner cell.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Layout, Params, Value};
use crate::error::{Error, Location, Result};
use crate::plate::WellPos;

/// A plate-shaped layout (plater): each grid block is one parameter, named in its corner
/// cell; or a one-row-per-well table with a `well` column (and optionally `plate`).
pub(super) fn grid_layout(path: &Path) -> Result<Layout> {
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
