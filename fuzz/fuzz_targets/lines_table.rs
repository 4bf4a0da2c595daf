//! Fuzz target: the lines table reader (cell lines, parental links, the checks across rows)
//! must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("lines.csv");
    if let Ok(mut table) = collateral::table::Table::from_bytes(data, path) {
        let _ = collateral::LinesTable::from_table(&mut table);
    }
});
