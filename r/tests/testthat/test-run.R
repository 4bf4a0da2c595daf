# collateral_run() is `collateral run` in memory.

iwasawa <- function() repo_file("assays", "iwasawa2022", "assay.toml")

test_that("collateral_run on the Iwasawa assay returns the shifts of the CLI's shifts.csv", {
  dir <- withr_tempdir()
  run_cli("run", iwasawa(), "-o", dir, "--no-figures")
  res <- collateral_run(iwasawa(), figures = FALSE)
  expect_s3_class(res, "collateral_run")
  expect_true(all(c("qc", "fits", "shifts") %in% names(res)))
  expect_gt(nrow(res$shifts), 0)
  for (name in names(res)) {
    expect_frame_equals_file(res[[name]], file.path(dir, paste0(name, ".csv")))
  }
})

test_that("with outdir, collateral_run writes the folder its tables equal", {
  dir <- withr_tempdir()
  out <- file.path(dir, "run")
  res <- collateral_run(iwasawa(), outdir = out, figures = FALSE, threads = 1)
  expect_true(file.exists(file.path(out, "run.json")))
  expect_true(file.path(out, "shifts.csv") %in% attr(res, "files") ||
                normalizePath(file.path(out, "shifts.csv")) %in% normalizePath(attr(res, "files")))
  for (name in names(res)) {
    expect_frame_equals_file(res[[name]], file.path(out, paste0(name, ".csv")))
  }
  expect_match(attr(res, "summary"), "wrote")
})

test_that("every typed column becomes its R type, an empty cell NA", {
  res <- collateral_run(iwasawa(), figures = FALSE)
  qc <- res$qc
  expect_type(qc$plate, "character")
  expect_type(qc$z_prime, "double")
  expect_type(qc$n_vehicle, "integer")
  expect_type(qc$spatial_flag, "logical")
  fits <- res$fits
  expect_type(fits$ic50_qualifier, "character")
  expect_type(fits$converged, "logical")
  shifts <- res$shifts
  expect_true(all(shifts$call %in% c("cross_resistant", "collateral_sensitive", "neutral",
                                     "undetermined")))
  output <- capture.output(print(res))
  expect_match(output[[1]], "plates|wells|curves")
})

test_that("a bad assay raises a collateral_error with its line", {
  dir <- withr_tempdir()
  file.copy(repo_file("assays", "iwasawa2022", c("wells.csv", "lines.csv")), dir)
  assay <- file.path(dir, "assay.toml")
  writeLines(c('name = "bad"', 'concentration_unit = "uM"', 'wells = "wells.csv"',
               'lines = "lines.csv"', "plate_size = 385"), assay)
  err <- tryCatch(collateral_run(assay), error = function(e) e)
  expect_s3_class(err, "collateral_error")
  expect_identical(err$line, 5L)
  expect_identical(normalizePath(err$file), normalizePath(assay))
  expect_identical(err$kind, "config")
  expect_match(conditionMessage(err), "plate_size = 385")
  expect_identical(deparse(err$call[[1]]), "collateral_run")
  expect_error(collateral_validate(assay), class = "collateral_error")
})

test_that("a bad wells row names its file, line, plate and well", {
  dir <- withr_tempdir()
  wells <- readLines(repo_file("assays", "iwasawa2022", "wells.csv"))
  header <- strsplit(wells[[1]], ",")[[1]]
  row <- strsplit(wells[[10]], ",", fixed = TRUE)[[1]]
  row[match("well", header)] <- "Z99"
  wells[[10]] <- paste(row, collapse = ",")
  writeLines(wells, file.path(dir, "wells.csv"))
  file.copy(repo_file("assays", "iwasawa2022", c("assay.toml", "lines.csv")), dir)
  err <- tryCatch(collateral_validate(file.path(dir, "assay.toml")),
                  collateral_error = function(e) e)
  expect_s3_class(err, "collateral_error")
  expect_identical(basename(err$file), "wells.csv")
  expect_identical(err$line, 10L)
  expect_identical(err$well, "Z99")
  expect_false(is.na(err$plate))
})
