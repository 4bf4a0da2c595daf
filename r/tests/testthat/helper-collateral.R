# Shared by the tests: where the repository is, the command line to compare with, and reading
# the command line's tables with the types of ours.

#' The repository root (the tests use its bundled assays): COLLATERAL_REPO, else three folders
#' above tests/testthat.
repo_root <- function() {
  root <- Sys.getenv("COLLATERAL_REPO")
  if (root == "") root <- testthat::test_path("..", "..", "..")
  normalizePath(root, mustWork = TRUE)
}

repo_file <- function(...) file.path(repo_root(), ...)

on_ci <- function() !(tolower(trimws(Sys.getenv("CI"))) %in% c("", "0", "false"))

#' The `collateral` binary the results are compared with: COLLATERAL_BIN (tests/r_package.rs
#' sets it to the build under test), else `collateral` on PATH. Missing: the test is skipped,
#' or fails under CI=true.
cli <- function() {
  bin <- Sys.getenv("COLLATERAL_BIN")
  if (bin == "") bin <- unname(Sys.which("collateral"))
  if (bin == "" || !file.exists(bin)) {
    if (on_ci()) stop("the collateral binary is missing (set COLLATERAL_BIN) and CI=true forbids skipping")
    testthat::skip("no collateral binary to compare with (set COLLATERAL_BIN)")
  }
  bin
}

#' Runs the command line; fails with its output when it fails.
run_cli <- function(...) {
  args <- c(...)
  out <- suppressWarnings(system2(cli(), c("-q", shQuote(args)), stdout = TRUE, stderr = TRUE))
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) {
    stop("collateral ", paste(args, collapse = " "), " failed:\n", paste(out, collapse = "\n"))
  }
  invisible(out)
}

#' A table file read with the column types of the data frame `like` (empty cells NA, text
#' cells as written).
read_like <- function(path, like) {
  text <- utils::read.csv(path, colClasses = "character", na.strings = character(0),
                          check.names = FALSE, encoding = "UTF-8")
  for (name in names(like)) {
    x <- text[[name]]
    # Assignments rather than ifelse(): ifelse() of an empty vector is logical(0), so a table
    # without rows would lose its column types.
    text[[name]] <- switch(class(like[[name]])[1],
      numeric = { v <- suppressWarnings(as.numeric(x)); v[x == ""] <- NA_real_; v },
      integer = { v <- suppressWarnings(as.integer(x)); v[x == ""] <- NA_integer_; v },
      logical = { v <- x == "true"; v[x == ""] <- NA; v },
      x
    )
  }
  text
}

#' Expects the data frame `ours` to equal the table file `path`: the same columns in order,
#' text identical, NA in the same cells, numbers within `tolerance` relative (R's own reading
#' of a decimal number may be one unit in the last place off the correctly rounded value, so a
#' file read by R is compared to 1e-15, not bit for bit).
expect_frame_equals_file <- function(ours, path, tolerance = 1e-15) {
  theirs <- read_like(path, ours)
  expect_identical(names(ours), names(theirs))
  expect_identical(nrow(ours), nrow(theirs))
  for (name in names(ours)) {
    a <- ours[[name]]
    b <- theirs[[name]]
    expect_identical(is.na(a), is.na(b), info = name)
    if (is.double(a)) {
      ok <- is.na(a) | abs(a - b) <= tolerance * pmax(1, abs(b))
      expect_true(all(ok), info = sprintf("%s: largest difference %g", name,
                                          max(abs(a - b), na.rm = TRUE)))
    } else {
      expect_identical(a, b, info = name)
    }
  }
}
