# collateral_simulate(), collateral_validate() and collateral_read_plates().

test_that("a simulated screen validates and runs", {
  dir <- withr_tempdir()
  files <- collateral_simulate(dir, seed = 3, lines = 2, drugs = 3, plate_size = 96)
  expect_true(all(file.exists(files)))
  assay <- file.path(dir, "assay.toml")
  v <- collateral_validate(assay)
  expect_match(v$summary, "wells")
  res <- collateral_run(assay, figures = FALSE)
  expect_gt(nrow(res$fits), 0)
  expect_error(collateral_simulate(dir, plate_size = 97), class = "collateral_error")
  expect_error(collateral_simulate(dir, no_such_setting = 1), class = "collateral_error")
})

test_that("collateral_read_plates gives the tidy wells of a plate file and its layout", {
  assay <- repo_file("assays", "iwasawa2022-plates")
  toml <- readLines(file.path(assay, "assay.toml"))
  file <- sub('^file *= *"(.*)"$', "\\1", grep("^file *=", toml, value = TRUE)[[1]])
  layout <- sub('^layout *= *"(.*)"$', "\\1", grep("^layout *=", toml, value = TRUE)[[1]])
  wells <- collateral_read_plates(file.path(assay, file), layout = file.path(assay, layout),
                                  read = "RawDataSet1", plate = "P1", cell_line = "X")
  expect_true(all(c("plate", "well", "cell_line", "drug", "concentration", "role", "signal")
                  %in% names(wells)))
  expect_identical(unique(wells$plate), "P1")
  expect_type(wells$concentration, "double")
  reads <- collateral_read_plates(file.path(assay, file))
  expect_identical(names(reads), c("read", "kind", "well", "signal"))
  expect_error(collateral_read_plates(file.path(assay, "no-such-file.csv")),
               class = "collateral_error")
})
