//! The plate maps the page draws in "What was understood": every plate's wells as the readers
//! understood them (role, line, drug, concentration, whether the reading is a number), read
//! through the library from the checked upload, so the page draws what a run would use.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::assay::Assay;
use crate::wells::Role;

/// Plates the page draws at most; a batch of hundreds is listed by count, and every plate is
/// in the text maps beside them.
pub(crate) const MAX_DRAWN_PLATES: usize = 48;

/// The wells of the assay at `assay` as the page draws them:
/// `{"plates": [{"plate", "rows", "columns", "wells": [[row, column, role, line, drug,
/// concentration, read]]}], "lines": [...], "drugs": [...], "total": n}` — `role` one of
/// `sample|vehicle|blank|empty`, `line` and `drug` indices into the name lists (−1 for none),
/// `concentration` null for controls, `read` false for a used well without a numeric reading.
/// `None` when the wells cannot be read (validation has said why).
pub fn layout(assay: &Path) -> Option<Value> {
    let assay = Assay::from_file(assay).ok()?;
    let read = assay.read_wells().ok()?;
    let table = &read.table;
    let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
    let mut drugs: BTreeMap<&str, usize> = BTreeMap::new();
    for w in table.wells.iter() {
        if !w.cell_line.is_empty() {
            lines.insert(w.cell_line, 0);
        }
        if !w.drug.is_empty() {
            drugs.insert(w.drug, 0);
        }
    }
    for (i, v) in lines.values_mut().enumerate() {
        *v = i;
    }
    for (i, v) in drugs.values_mut().enumerate() {
        *v = i;
    }
    let index = |names: &BTreeMap<&str, usize>, name: &str| -> i64 {
        names.get(name).map_or(-1, |&i| i as i64)
    };
    let mut by_plate: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for w in table.wells.iter() {
        let plate: &str = w.plate;
        if !table.formats.contains_key(plate)
            || (by_plate.len() >= MAX_DRAWN_PLATES && !by_plate.contains_key(plate))
        {
            continue;
        }
        by_plate.entry(plate).or_default().push(json!([
            w.position.row,
            w.position.column,
            w.role.as_str(),
            index(&lines, w.cell_line),
            index(&drugs, w.drug),
            w.concentration,
            w.role == Role::Empty || w.signal.value().is_some(),
        ]));
    }
    let plates: Vec<Value> = table
        .formats
        .iter()
        .filter_map(|(plate, format)| {
            let wells = by_plate.remove(plate.as_str())?;
            Some(json!({
                "plate": plate,
                "rows": format.rows,
                "columns": format.columns,
                "wells": wells,
            }))
        })
        .collect();
    Some(json!({
        "plates": plates,
        "lines": lines.keys().collect::<Vec<_>>(),
        "drugs": drugs.keys().collect::<Vec<_>>(),
        "total": table.formats.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_names_every_well_of_the_bundled_plate() {
        let assay =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assays/iwasawa2022-plates/assay.toml");
        let v = layout(&assay).expect("the bundled example reads");
        let plates = v["plates"].as_array().unwrap();
        assert_eq!(plates.len(), 1);
        let p = &plates[0];
        let (rows, columns) = (p["rows"].as_u64().unwrap(), p["columns"].as_u64().unwrap());
        let wells = p["wells"].as_array().unwrap();
        assert!(wells.len() as u64 <= rows * columns && !wells.is_empty());
        let drugs = v["drugs"].as_array().unwrap();
        let roles: std::collections::BTreeSet<&str> =
            wells.iter().map(|w| w[2].as_str().unwrap()).collect();
        assert!(
            roles.contains("sample") && roles.contains("vehicle"),
            "{roles:?}"
        );
        for w in wells {
            assert!(w[0].as_u64().unwrap() < rows && w[1].as_u64().unwrap() < columns);
            let drug = w[4].as_i64().unwrap();
            // A sample has a drug and a concentration; a control has neither.
            if w[2] == "sample" {
                assert!(drug >= 0 && (drug as usize) < drugs.len() && w[5].is_number());
            } else {
                assert!(w[5].is_null());
            }
        }
        assert!(layout(Path::new("/no/such/assay.toml")).is_none());
    }
}
