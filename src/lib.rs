//! `collateral`: from raw drug-screen plate reads to a collateral-sensitivity map.
//!
//! The modules follow the data flow, and imports run one way (layer by layer, no loops;
//! `tests/architecture.rs` checks it, `docs/architecture.md` has the map):
//!
//! | layer | modules |
//! |---|---|
//! | ground | [`error`], [`plate`], [`stats`], [`table`], [`text`], [`outdir`], [`progress`] |
//! | input | [`wells`], [`lines`], [`read`] (plate files, vendor exports, layouts) |
//! | stages | [`normalize`] → [`qc`] → [`fit`] → [`growth`] (GR values, DIP rates) → [`shift`] → [`lineage`] (time and lineages) → [`network`], [`plan`] (therapy sequences), each owning its settings |
//! | assay | [`assay`]: the TOML file, composing the stages' settings |
//! | outputs | [`output`] (contract tables), [`plot`] (figures), [`report`] (`report.html`), [`workbook`] (`results.xlsx`) |
//! | pipeline | [`run`] (`collateral run`, `run.json`), [`validate`], [`merge`] (run folders → one) |
//! | faces | [`simulate`] (screens with known truth), [`cli`] (the command line of the `collateral` binary and of the Python package) |

pub mod assay;
pub mod cli;
pub mod error;
pub mod evidence;
pub mod fit;
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
pub mod shift;
pub mod simulate;
pub mod stats;
pub mod table;
pub mod text;
pub mod validate;
pub mod wells;
pub mod workbook;

pub use error::{Error, ErrorKind, Location, Problem, Result};
