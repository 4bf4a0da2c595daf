//! Fuzz target: the MIC table reader (`cell_line, drug, replicate, mic[, mic_qualifier]`,
//! qualifiers inline or in their own column) must never panic, whatever the bytes. The reader
//! takes a path, so each input is written to a file of this process first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("collateral-fuzz-mic-{}.csv", std::process::id()));
    std::fs::write(&path, data).expect("write the fuzz input");
    if collateral::mic::is_mic_table(&path).unwrap_or(false) {
        let _ = collateral::mic::read_mics(&path);
    }
});
