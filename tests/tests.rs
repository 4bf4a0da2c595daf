//! The one integration-test binary (one link step): the CLI end to end, real and simulated data.

mod architecture;
mod bad_input;
mod browser;
mod common;
mod dhawan_assay;
mod fit;
mod golden;
mod iwasawa;
mod keep_going;
mod merge;
mod mic;
mod nichol2019;
mod normalization;
mod outdir;
mod plate_formats;
mod plot;
mod progress;
mod python;
mod read_bad_input;
mod read_cli;
mod read_formats;
mod shift_cli;
mod simulated;
mod workbook;
mod workflow;
