# collateral_shift() is `collateral shift` on data frames or files.

test_that("collateral_shift on data frames equals `collateral shift` on the files", {
  dir <- withr_tempdir()
  assay <- repo_file("assays", "dhawan2017", "assay.toml")
  run <- file.path(dir, "run")
  run_cli("run", assay, "-o", run, "--no-figures")
  lines_csv <- repo_file("assays", "dhawan2017", "lines.csv")
  run_cli("shift", file.path(run, "fits.csv"), "--lines", lines_csv, "-o", file.path(dir, "s"),
          "--metric", "ec50", "--tau", "0.5")
  fits <- collateral_run(assay, figures = FALSE)$fits
  lines <- utils::read.csv(lines_csv, colClasses = "character", na.strings = character(0))
  from_frames <- collateral_shift(fits, lines, metric = "ec50", tau = 0.5)
  from_files <- collateral_shift(file.path(run, "fits.csv"), lines_csv, metric = "ec50",
                                 tau = 0.5)
  expect_identical(names(from_frames), "shifts")
  expect_frame_equals_file(from_frames$shifts, file.path(dir, "s", "shifts.csv"))
  expect_identical(from_frames, from_files)
})

test_that("a MIC table is compared with metric mic", {
  dir <- withr_tempdir()
  mics <- data.frame(
    cell_line = rep(c("P", "R"), each = 3), drug = "d", replicate = rep(c("1", "2", "3"), 2),
    mic = c(1, 1, 2, 8, 16, 8))
  lines <- data.frame(cell_line = c("P", "R"), parental_line = c("", "P"),
                      selected_with = c("", "d"))
  shifts <- collateral_shift(mics, lines)$shifts
  expect_identical(shifts$metric, "mic")
  expect_gt(shifts$log2_fc, 1)
  expect_error(collateral_shift(mics, lines, metric = "ic50"), class = "collateral_error")
})

test_that("a bad lines table is a collateral_error at its row", {
  fits <- data.frame(cell_line = c("P", "R"), drug = "d", ic50 = c(1, 4))
  lines <- data.frame(cell_line = c("P", "R"), parental_line = c("", "Q"),
                      selected_with = c("", "d"))
  err <- tryCatch(collateral_shift(fits, lines), collateral_error = function(e) e)
  expect_s3_class(err, "collateral_error")
  expect_identical(err$file, "<lines data.frame>")
  expect_identical(err$line, 3L)
})
