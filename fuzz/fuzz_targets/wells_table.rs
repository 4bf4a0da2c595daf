//! Fuzz target: the wells table reader (header, every column's cells, plate formats, the
//! checks across rows) must never panic, whatever the bytes: a located error or a table. A
//! table that reads then goes through the checks a run makes before fitting (doses off their
//! series, the design and readings, the controls' levels), which must not panic either.
#![no_main]

use std::collections::BTreeMap;

use collateral::checks::{control_findings, design_findings, dose_findings, WellsOrigin};
use collateral::normalize::{control_levels, units_of, NormalizeSettings, PlateControls};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("wells.csv");
    let Ok(mut table) = collateral::table::Table::from_bytes(data, path) else {
        return;
    };
    let Ok(wells) = collateral::wells::WellTable::from_table(&mut table, None) else {
        return;
    };
    let _ = dose_findings(&wells, path, true);
    let plate_files = BTreeMap::new();
    let origin = WellsOrigin {
        source: path,
        with_lines: true,
        plate_files: &plate_files,
    };
    let _ = design_findings(&wells, &origin);
    let controls = PlateControls::gather(&wells);
    let units = units_of(&wells, &controls);
    if let Ok((levels, _)) = control_levels(
        &wells,
        &controls,
        &units,
        &NormalizeSettings::default(),
        path,
    ) {
        let levels = units.keys.into_iter().zip(levels).collect();
        let _ = control_findings(&wells, &levels, None, &origin);
    }
});
