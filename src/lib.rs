//! `collateral`: from raw drug-screen plate reads to a collateral-sensitivity map.
//!
//! The modules follow the data flow:
//! read ([`assay`], [`wells`], [`lines`], [`table`], and [`read`] for plate files, vendor exports and
//! layouts) → [`qc`] and [`normalize`] → fit → shift →
//! network → plot/report, with [`run`] tying them together for `collateral run` and
//! [`output`] writing the contract files. [`simulate`] makes synthetic screens with known truth.
//! [`outdir`] keeps output folders whole: staging, the folder lock and the manifest of a run's
//! files.

pub mod assay;
pub mod error;
pub mod fit;
pub mod lines;
pub mod network;
pub mod normalize;
pub mod outdir;
pub mod output;
pub mod plate;
pub mod plot;
pub mod qc;
pub mod read;
pub mod report;
pub mod run;
pub mod shift;
pub mod simulate;
pub mod stats;
pub mod table;
pub mod wells;

pub use error::{Error, ErrorKind, Location, Problem, Result};
