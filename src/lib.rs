//! `collateral`: from raw drug-screen plate reads to a collateral-sensitivity map.
//!
//! The modules follow the data flow, and imports run one way (layer by layer, no loops;
//! `tests/architecture.rs` checks it, `docs/architecture.md` has the map):
//!
//! | layer | modules |
//! |---|---|
//! | ground | [`error`], [`plate`], [`stats`], [`table`], [`text`], [`outdir`], [`progress`], [`checked`] (settings checked once), [`words`] (one word list per enumerated setting) |
//! | input | [`wells`], [`lines`], [`read`] (plate files, vendor exports, layouts) |
//! | stages | [`normalize`] → [`qc`] → [`fit`] → [`growth`] (GR values, DIP rates) → [`shift`] → [`lineage`] (time and lineages) → [`network`], [`plan`] (therapy sequences), each owning its settings |
//! | assay | [`assay`]: the TOML file, composing the stages' settings |
//! | outputs | [`output`] (contract tables), [`plot`] (figures), [`report`] (`report.html`), [`workbook`] (`results.xlsx`) |
//! | pipeline | [`run`] (`collateral run`, `run.json`), [`validate`], [`merge`] (run folders → one) |
//! | faces | [`simulate`] (screens with known truth), [`serve`] (the app in a browser and its HTTP API), [`cli`] (the command line of the `collateral` binary and of the Python package) |
//!
//! # Running a screen in memory
//!
//! A [`Screen`] is the wells, lines and settings of an assay: read from an assay file with
//! [`Screen::read`], or built from tables in memory with [`Screen::new`]. [`Screen::run`]
//! computes every stage (QC and normalization, fits, shifts, network, cycles, and lineages,
//! MICs, growth metrics and plans when the assay asks for them) into typed [`Results`]
//! without touching the disk; [`Results::write`] writes the output folder, figures and report.
//!
//! ```
//! use collateral::{Call, LinesTable, Screen, Settings, Silent, WellTable};
//! use collateral::table::Table;
//! use std::path::Path;
//!
//! // One plate: a parental line P (IC50 1 uM) and a line R evolved in drug A (IC50 8 uM),
//! // both tested against drug B in duplicate, with vehicle and blank wells.
//! let mut csv = String::from("plate,well,cell_line,drug,concentration,role,signal\n");
//! for (row, (line, ic50)) in [("P", 1.0), ("R", 8.0)].iter().enumerate() {
//!     for rep in 0..2 {
//!         let r = ["A", "B", "C", "D"][2 * row + rep];
//!         for k in 0..9 {
//!             let dose = 10f64.powf(-2.0 + 0.5 * k as f64);
//!             let viability = 1.0 / (1.0 + (dose / ic50).powf(1.5));
//!             let signal = 100.0 + 1000.0 * viability;
//!             csv += &format!("P1,{r}{},{line},B,{dose},sample,{signal}\n", k + 1);
//!         }
//!         csv += &format!("P1,{r}10,{line},,,vehicle,1100\nP1,{r}11,{line},,,vehicle,1100\n");
//!         csv += &format!("P1,{r}12,{line},,,blank,100\n");
//!     }
//! }
//! let wells = WellTable::from_table(&mut Table::from_bytes(csv.as_bytes(), Path::new("wells"))?, None)?;
//! let lines = "cell_line,parental_line,selected_with\nP,,\nR,P,A\n";
//! let lines = LinesTable::from_table(&mut Table::from_bytes(lines.as_bytes(), Path::new("lines"))?)?;
//!
//! let screen = Screen::new("example", "uM", Settings::default(), wells, Some(lines))?;
//! let results = screen.run(&Silent)?;
//! let shift = &results.shifts()[0];
//! assert_eq!((shift.resistant_line.as_str(), shift.drug.as_str()), ("R", "B"));
//! assert!((shift.log2_fc - 3.0).abs() < 0.05);
//! assert_eq!(shift.call, Call::CrossResistant);
//! # Ok::<(), collateral::Error>(())
//! ```

pub mod assay;
pub mod checked;
pub mod checks;
pub mod cli;
pub mod error;
pub mod evidence;
pub mod fit;
pub mod frame;
pub mod growth;
pub mod lineage;
pub mod lines;
pub mod merge;
pub mod mic;
pub mod network;
pub mod normalize;
pub mod outdir;
pub mod output;
pub mod plan;
pub mod plate;
pub mod plot;
pub mod progress;
pub mod qc;
pub mod read;
pub mod report;
pub mod run;
pub mod serve;
pub mod shift;
pub mod simulate;
pub mod stats;
pub mod table;
pub mod text;
pub mod units;
pub mod validate;
pub mod wells;
pub mod words;
pub mod workbook;

pub use assay::{Assay, Settings};
pub use error::{Error, ErrorKind, Location, Problem, Result};
pub use lines::LinesTable;
pub use progress::{Progress, Silent};
pub use run::{run, Results, RunOptions, RunReport, Screen};
pub use shift::{Call, Metric, Shift};
pub use wells::WellTable;
