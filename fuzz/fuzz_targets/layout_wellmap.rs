//! Fuzz target: the wellmap TOML layout reader (blocks, rows, columns, irregular blocks,
//! dilution series, plate sections) and the tidy fields of every well it describes must never
//! panic, whatever the text. The reader takes a path, so each input is written to a file of
//! this process first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("collateral-fuzz-wellmap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the fuzz input");
    let path = dir.join("layout.toml");
    std::fs::write(&path, data).expect("write the fuzz input");
    if let Ok(layout) = collateral::read::layout::Layout::read(&path) {
        for (plate, wells) in &layout.plates {
            for (pos, params) in wells {
                let _ = layout.spec(plate, *pos, params, "L");
            }
        }
    }
});
