//! `collateral`: from raw drug-screen plate reads to a collateral-sensitivity map.
//!
//! The modules follow the data flow:
//! read ([`assay`], [`wells`], [`lines`]) → [`qc`] and [`normalize`] → fit → shift → network →
//! plot/report, with [`run`] tying them together for `collateral run`.

pub mod error;
pub mod fit;
pub mod plate;

pub use error::{Error, ErrorKind, Location, Problem, Result};
