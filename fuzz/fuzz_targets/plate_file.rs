//! Fuzz target: the plate-file reader (text in any encoding, workbooks, every vendor scanner,
//! read selection and signal parsing) must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.csv");
    if let Ok(f) = collateral::read::PlateFile::from_bytes(data, path, None) {
        let mut warnings = Vec::new();
        for r in &f.reads {
            let _ = r.format();
            let _ = f.signals(r, "P", &mut warnings);
            let _ = f.format_of(r, "P", collateral::plate::PlateFormat::from_wells(96));
        }
        let _ = f.choose(None);
    }
});
