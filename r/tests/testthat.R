# `R CMD check` runs this; the repository runs the same files with testthat::test_dir (see
# r/README.md and tests/r_package.rs).
library(testthat)
library(collateral)

test_check("collateral")
