//! Fuzz target: the plate-shaped layout reader (grids of parameters laid out like the plate,
//! one block per parameter) and the tidy fields of every well it describes must never panic,
//! whatever the bytes. The reader takes a path, so each input is written to a file of this
//! process first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("collateral-fuzz-grid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the fuzz input");
    let path = dir.join("layout.csv");
    std::fs::write(&path, data).expect("write the fuzz input");
    if let Ok(layout) = collateral::read::layout::Layout::read(&path) {
        for (plate, wells) in &layout.plates {
            for (pos, params) in wells {
                let _ = layout.spec(plate, *pos, params, "L");
            }
        }
    }
});
