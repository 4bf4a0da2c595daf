//! Fuzz target: the assay file reader (TOML syntax, known keys, every setting's checks) must
//! never panic, whatever the text: a located error or an assay.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = collateral::Assay::from_str(text, std::path::Path::new("fuzz/assay.toml"));
    }
});
