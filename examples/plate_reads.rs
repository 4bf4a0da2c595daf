//! Lists the reads the plate-file reader finds in each file given on the command line.
fn main() {
    for a in std::env::args().skip(1) {
        let p = std::path::Path::new(&a);
        match collateral::read::PlateFile::read(p, None) {
            Err(e) => println!("{a}: ERROR {e}"),
            Ok(f) => {
                println!("{a}: {}", f.format.name());
                for r in &f.reads {
                    let first = r
                        .cells
                        .first()
                        .map(|c| format!("{}={}", c.pos, c.text))
                        .unwrap_or_default();
                    println!(
                        "   {:?} computed={} layout={} cells={} fmt={:?} first {first}",
                        r.name,
                        r.computed,
                        r.layout,
                        r.cells.len(),
                        r.format().map(|f| f.wells())
                    );
                }
            }
        }
    }
}
