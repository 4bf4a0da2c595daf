# The Rust functions of src/rust/src (extendr's `wrap__` symbols), written by hand: rextendr,
# which generates this file elsewhere, is not needed to build the package. Each returns
# `list(ok = value)` or `list(error = ...)`; collateral.R turns the latter into a condition.

run_assay <- function(assay, outdir, figures, keep_going, xlsx, threads) {
  .Call(wrap__run_assay, assay, outdir, figures, keep_going, xlsx, threads)
}

fit_input_columns <- function(header, source) {
  .Call(wrap__fit_input_columns, header, source)
}

fit_curves <- function(cell_line, cell_levels, drug, drug_levels, concentration, response,
                       settings, source, threads) {
  .Call(wrap__fit_curves, cell_line, cell_levels, drug, drug_levels, concentration, response,
        settings, source, threads)
}

validate_assay <- function(assay, maps) {
  .Call(wrap__validate_assay, assay, maps)
}

simulate_screen <- function(outdir, settings) {
  .Call(wrap__simulate_screen, outdir, settings)
}

read_plate_file <- function(file, layout, format, read, plate, cell_line, replicate,
                            concentration_unit) {
  .Call(wrap__read_plate_file, file, layout, format, read, plate, cell_line, replicate,
        concentration_unit)
}

shift_tables <- function(fits, lines, settings) {
  .Call(wrap__shift_tables, fits, lines, settings)
}
