//! Fuzz target: the wells table reader (header, every column's cells, plate formats, the
//! checks across rows) must never panic, whatever the bytes: a located error or a table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("wells.csv");
    if let Ok(mut table) = collateral::table::Table::from_bytes(data, path) {
        let _ = collateral::wells::WellTable::from_table(&mut table, None);
    }
});
