# collateral_fit() is `collateral fit` on a data frame.

#' 300 curves (30 lines x 10 drugs, 9 doses, 2 replicates), some flat, one with a missing
#' response and one with two points only, written as a CSV.
three_hundred_curves <- function(path) {
  set.seed(7)
  doses <- 10^seq(-3, 1, length.out = 9)
  rows <- list()
  for (l in 1:30) for (d in 1:10) {
    ec50 <- 10^stats::runif(1, -2.5, 0.5)
    hill <- stats::runif(1, 0.7, 3)
    bottom <- stats::runif(1, 0, 0.3)
    flat <- (l + 3 * d) %% 17 == 0
    for (r in 1:2) {
      y <- if (flat) 1 else bottom + (1 - bottom) / (1 + (doses / ec50)^hill)
      y <- y + stats::rnorm(length(doses), sd = 0.05)
      rows[[length(rows) + 1]] <- data.frame(
        cell_line = sprintf("L%02d", l), drug = sprintf("drug %d", d),
        concentration = doses, response = y, replicate = r)
    }
  }
  df <- do.call(rbind, rows)
  df$response[5] <- NA
  df <- df[!(df$cell_line == "L30" & df$drug == "drug 10" & df$concentration > 0.002), ]
  utils::write.csv(df, path, row.names = FALSE, na = "")
  df
}

test_that("collateral_fit on 300 curves equals `collateral fit` on the same CSV to 1e-12", {
  dir <- withr_tempdir()
  input <- file.path(dir, "curves.csv")
  three_hundred_curves(input)
  run_cli("fit", input, "-o", file.path(dir, "fits.csv"))
  ours <- collateral_fit(utils::read.csv(input))
  expect_identical(nrow(ours), 300L)
  expect_true(all(c("ok", "flat", "insufficient_data") %in% ours$status))
  expect_frame_equals_file(ours, file.path(dir, "fits.csv"), tolerance = 1e-12)
})

test_that("numbers given as text are read as the command line reads a file's cells", {
  dir <- withr_tempdir()
  input <- file.path(dir, "curves.csv")
  three_hundred_curves(input)
  as_text <- utils::read.csv(input, colClasses = "character")
  as_numbers <- utils::read.csv(input)
  from_text <- collateral_fit(as_text, threads = 1)
  from_numbers <- collateral_fit(as_numbers, threads = 2)
  expect_identical(names(from_text), names(from_numbers))
  for (name in names(from_text)) {
    a <- from_text[[name]]
    b <- from_numbers[[name]]
    if (is.double(a)) {
      expect_identical(is.na(a), is.na(b), info = name)
      expect_true(all(is.na(a) | abs(a - b) <= 1e-12 * pmax(1, abs(b))), info = name)
    } else {
      expect_identical(a, b, info = name)
    }
  }
})

test_that("collateral_fit takes the [fit] keys and factors", {
  df <- data.frame(
    cell_line = factor(rep("A", 8)), drug = factor(rep("x", 8)),
    concentration = 10^(-3:4), response = c(1, 0.98, 0.95, 0.8, 0.45, 0.15, 0.05, 0.04))
  ll4 <- collateral_fit(df)
  ll2 <- collateral_fit(df, model = "ll2", hill_bounds = c(0.1, 5))
  expect_identical(ll4$model, "ll4")
  expect_identical(ll2$model, "ll2")
  expect_identical(ll2$top, 1)
  expect_type(ll4$n_points, "integer")
  expect_type(ll4$converged, "logical")
  expect_error(collateral_fit(df, model = "ll5"), class = "collateral_error")
})

test_that("a bad row is a collateral_error at its line, as in a file", {
  df <- data.frame(cell_line = c("A", "A", ""), drug = "x", concentration = c(1, 2, 3),
                   response = c(1, 0.5, "high"))
  err <- tryCatch(collateral_fit(df), collateral_error = function(e) e)
  expect_s3_class(err, "collateral_error")
  expect_s3_class(err$problems, "data.frame")
  expect_identical(err$line, 4L)
  expect_identical(err$file, "<data.frame>")
  expect_match(err$problems$message[[1]], "`response` is not a number: `high`")
  missing <- tryCatch(collateral_fit(data.frame(cell_line = "A", drug = "x", dose = 1)),
                      collateral_error = function(e) e)
  expect_identical(missing$line, 1L)
  expect_match(conditionMessage(missing), "missing column `concentration`")
})
