# A temporary folder removed when the test ends (withr is not a dependency).
withr_tempdir <- function(envir = parent.frame()) {
  dir <- tempfile("collateral-test-")
  dir.create(dir)
  do.call(on.exit, list(substitute(unlink(d, recursive = TRUE), list(d = dir)), add = TRUE),
          envir = envir)
  dir
}
