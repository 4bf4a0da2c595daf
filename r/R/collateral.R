# The package's functions: each converts its arguments, calls the Rust library in memory
# (extendr-wrappers.R) and hands back data frames or a `collateral_error` condition.

# --- errors -----------------------------------------------------------------------------

#' A library error as an R condition of class `collateral_error` (then `error`, `condition`),
#' raised in the caller's frame. It carries `kind` (`input`, `config`, `io`), the first
#' problem's `file`, `line`, `plate` and `well` (NA when not known), and `problems`: a data
#' frame of every located problem (`file, line, plate, well, message`).
#' @noRd
collateral_condition <- function(error, call) {
  problems <- as_frame(error$problems)
  if (all(is.na(problems$line) | problems$line < .Machine$integer.max)) {
    problems$line <- as.integer(problems$line)
  }
  structure(
    class = c("collateral_error", "error", "condition"),
    list(
      message = error$message,
      call = call,
      kind = error$kind,
      file = if (nrow(problems)) problems$file[[1]] else NA_character_,
      line = if (nrow(problems)) problems$line[[1]] else NA_integer_,
      plate = if (nrow(problems)) problems$plate[[1]] else NA_character_,
      well = if (nrow(problems)) problems$well[[1]] else NA_character_,
      problems = problems
    )
  )
}

#' The value of a Rust call's answer, or its error raised as a `collateral_error` naming the
#' user's call.
#' @noRd
unwrap <- function(answer, call = sys.call(-1)) {
  if (!is.null(answer$error)) {
    stop(collateral_condition(answer$error, call))
  }
  answer$ok
}

# --- values crossing ----------------------------------------------------------------------

#' A named list of equally long columns as a data.frame (no copy, no name mangling).
#' @noRd
as_frame <- function(columns) {
  n <- if (length(columns)) length(columns[[1]]) else 0L
  structure(columns, class = "data.frame", row.names = c(NA_integer_, -n))
}

#' Settings as the JSON object the library reads an assay section from: `NULL` values are left
#' out (the library's default), vectors longer than one become arrays.
#' @noRd
settings_json <- function(settings) {
  settings <- settings[!vapply(settings, is.null, logical(1))]
  if (length(settings) && (is.null(names(settings)) || any(names(settings) == ""))) {
    stop("settings must be named arguments (e.g. hill_bounds = c(0.1, 5))", call. = FALSE)
  }
  scalar <- function(x) {
    if (is.na(x)) {
      "null"
    } else if (is.character(x)) {
      encodeString(enc2utf8(x), quote = "\"")
    } else if (is.logical(x)) {
      if (x) "true" else "false"
    } else if (is.numeric(x) && x == round(x) && abs(x) < 2^53) {
      sprintf("%.0f", x)
    } else if (is.numeric(x)) {
      sprintf("%.17g", x)
    } else {
      stop("a setting must be text, a number or TRUE/FALSE", call. = FALSE)
    }
  }
  value <- function(x) {
    if (is.factor(x)) x <- as.character(x)
    if (length(x) == 1) scalar(x) else paste0("[", paste(vapply(x, scalar, ""), collapse = ","), "]")
  }
  items <- vapply(names(settings), function(k) {
    paste0(encodeString(k, quote = "\""), ":", value(settings[[k]]))
  }, "")
  paste0("{", paste(items, collapse = ","), "}")
}

#' A thread count for Rust (0: every core).
#' @noRd
thread_count <- function(threads) {
  if (is.null(threads)) return(0L)
  threads <- as.integer(threads)
  if (length(threads) != 1 || is.na(threads) || threads < 1) {
    stop("threads must be one whole number >= 1 (or NULL for every core)", call. = FALSE)
  }
  threads
}

#' A table for Rust: a file path as it is, a data frame as its list of columns.
#' @noRd
table_argument <- function(x, what) {
  if (is.data.frame(x)) return(unclass(x)[names(x)])
  if (is.character(x) && length(x) == 1) return(path.expand(x))
  stop(sprintf("`%s` must be a data frame or the path of a table file", what), call. = FALSE)
}

optional_text <- function(x) if (is.null(x)) NULL else as.character(x)

# --- the functions ------------------------------------------------------------------------

#' Run an assay: the whole pipeline, in memory.
#'
#' `collateral run ASSAY` through the library's in-memory API: the assay file is read, every
#' stage runs, and the tables come back as data frames whose values equal the files the command
#' line writes. With `outdir`, the output folder is written too (as `collateral run -o OUTDIR`).
#'
#' @param assay Path of the assay file (TOML).
#' @param outdir Output folder to write, or `NULL` for none.
#' @param figures Draw plots and `report.html` in `outdir`.
#' @param keep_going Leave out plates whose file cannot be read and finish the rest.
#' @param xlsx Also write `results.xlsx` in `outdir`.
#' @param threads Worker threads (`NULL`: every core); results do not depend on it.
#' @return A named list of data frames, one per table that has typed columns in the library
#'   (`qc`, `fits`, `shifts` with a lines table, `mics` with metric mic, and every table the
#'   library adds later), of class `collateral_run` with attributes `summary`, `warnings`,
#'   `skipped` (plates left out) and `files` (written).
#' @export
collateral_run <- function(assay, outdir = NULL, figures = TRUE, keep_going = FALSE,
                           xlsx = FALSE, threads = NULL) {
  out <- unwrap(run_assay(
    path.expand(assay), if (is.null(outdir)) NULL else path.expand(outdir),
    isTRUE(figures), isTRUE(keep_going), isTRUE(xlsx), thread_count(threads)
  ))
  tables <- lapply(out$tables, as_frame)
  structure(tables,
    class = c("collateral_run", "list"),
    summary = out$summary, warnings = out$warnings, skipped = out$skipped, files = out$files
  )
}

#' @param x A `collateral_run` result.
#' @param ... Ignored.
#' @rdname collateral_run
#' @export
print.collateral_run <- function(x, ...) {
  cat(attr(x, "summary"), "\n", sep = "")
  for (name in names(x)) {
    cat(sprintf("$%s: %d rows x %d columns\n", name, nrow(x[[name]]), ncol(x[[name]])))
  }
  warnings <- attr(x, "warnings")
  if (length(warnings)) cat(sprintf("%d warnings (attr(, \"warnings\"))\n", length(warnings)))
  invisible(x)
}

#' A column of names as factor codes and levels (as the library takes names).
#' @noRd
name_codes <- function(x) {
  if (!is.factor(x)) x <- factor(as.character(x))
  list(codes = as.integer(x), levels = enc2utf8(levels(x)))
}

#' A column of numbers for Rust: doubles as they are, text as text (parsed as the command
#' line parses the cells of a file).
#' @noRd
number_column <- function(x) {
  if (is.factor(x)) return(as.character(x))
  if (is.character(x)) return(x)
  if (is.numeric(x) || is.logical(x)) return(as.double(x))
  stop("concentration and response must be numbers or text", call. = FALSE)
}

#' Fit dose-response curves.
#'
#' `collateral fit` on a data frame: one curve per (cell line, drug), all its rows fitted
#' together, by the library's fitter. The result equals the `fits.csv` that `collateral fit`
#' writes from the same table.
#'
#' @param df A data frame with columns `cell_line`, `drug`, `concentration`, `response`
#'   (names in any case; other columns are ignored).
#' @param model `ll4` (all free), `ll3` (top = 1) or `ll2` (top = 1, bottom = 0).
#' @param plateaus `free` or `observed`.
#' @param robust `none`, `huber` or `cauchy`.
#' @param ... Further `[fit]` keys of an assay file: `hill_bounds`, `ec50_margin_decades`,
#'   `top_bounds`, `bottom_bounds`, `flat_alpha`, `ci_level`, `outlier_threshold`.
#' @param threads Worker threads (`NULL`: every core).
#' @param source What errors call the table (they point at its rows as lines of a file: row 1
#'   is line 2).
#' @return The fits as a data frame with the columns of `fits.csv`.
#' @export
collateral_fit <- function(df, model = "ll4", plateaus = "free", robust = "none", ...,
                           threads = NULL, source = "<data.frame>") {
  if (!is.data.frame(df)) stop("`df` must be a data frame", call. = FALSE)
  settings <- settings_json(c(list(model = model, plateaus = plateaus, robust = robust), list(...)))
  columns <- unwrap(fit_input_columns(enc2utf8(names(df)), source))
  cell_line <- name_codes(df[[columns[[1]]]])
  drug <- name_codes(df[[columns[[2]]]])
  as_frame(unwrap(fit_curves(
    cell_line$codes, cell_line$levels, drug$codes, drug$levels,
    number_column(df[[columns[[3]]]]), number_column(df[[columns[[4]]]]),
    settings, source, thread_count(threads)
  )))
}

#' Compare resistant with parental lines.
#'
#' `collateral shift` in memory: the shift of every resistant line against its parental line,
#' per drug, from a fits table and a lines table.
#'
#' @param fits Fits: a data frame (e.g. from [collateral_fit()] or [collateral_run()], or any
#'   table with `cell_line`, `drug` and the metric's columns) or a file path; or a MIC table
#'   (`cell_line, drug, replicate, mic`), compared with metric `mic`.
#' @param lines Lines: a data frame or file with `cell_line`, `parental_line`, `selected_with`.
#' @param metric `ic50`, `ec50`, `auc`, ... (`NULL`: `mic` for a MIC table, else `ic50`).
#' @param tau Fold-change threshold on |log2_fc|.
#' @param alpha Significance level on BH q-values.
#' @param rule `delta`, `dhawan2017`, `nichol2019` or `maltas-wood`.
#' @param ... Further `[shift]` keys: `per_replicate`, `max_cycle_length`.
#' @return A named list of data frames: `shifts` (the columns of `shifts.csv`).
#' @export
collateral_shift <- function(fits, lines, metric = NULL, tau = 1, alpha = 0.05, rule = "delta",
                             ...) {
  fits <- table_argument(fits, "fits")
  if (is.null(metric)) {
    has_mic <- if (is.list(fits)) "mic" %in% tolower(names(fits)) else {
      header <- tolower(trimws(strsplit(readLines(fits, n = 1, warn = FALSE), "[,;\t]")[[1]]))
      "mic" %in% gsub("^\ufeff|\"", "", header)
    }
    metric <- if (has_mic) "mic" else "ic50"
  }
  settings <- settings_json(c(list(metric = metric, tau = tau, alpha = alpha, rule = rule), list(...)))
  tables <- unwrap(shift_tables(fits, table_argument(lines, "lines"), settings))
  lapply(tables, as_frame)
}

#' Read plate files into the tidy wells table.
#'
#' Each file is read with its layout into the tidy wells table an assay's `wells` file holds
#' (`plate, well, cell_line, drug, concentration, role, signal`, ...); without a layout, every
#' read the file holds (`read, kind, well, signal`).
#'
#' @param file Plate file(s): plate-grid CSV/TSV/XLSX or a vendor export.
#' @param layout Layout (wellmap TOML or plate-shaped CSV), or `NULL`.
#' @param format The export's format, or `NULL` to detect it.
#' @param read Which read is the signal (`NULL`: the only raw read).
#' @param plate,cell_line,replicate As an assay's `[[plates]]` keys.
#' @param concentration_unit The assay's unit: a layout's concentrations written with a unit
#'   (`10 nM`) are converted into it (`NULL`: such concentrations are an error).
#' @return A data frame (rows of every file in order), with attribute `warnings`.
#' @export
collateral_read_plates <- function(file, layout = NULL, format = NULL, read = NULL, plate = NULL,
                                   cell_line = NULL, replicate = NULL,
                                   concentration_unit = NULL) {
  call <- sys.call()
  one <- function(f) {
    out <- unwrap(read_plate_file(
      path.expand(f), if (is.null(layout)) NULL else path.expand(layout),
      optional_text(format), optional_text(read),
      if (length(file) == 1) optional_text(plate) else NULL,
      optional_text(cell_line), optional_text(replicate),
      if (is.null(concentration_unit)) "" else as.character(concentration_unit)
    ), call = call)
    list(table = as_frame(out$table), warnings = out$warnings)
  }
  parts <- lapply(file, one)
  table <- do.call(rbind, lapply(parts, `[[`, "table"))
  attr(table, "warnings") <- unlist(lapply(parts, `[[`, "warnings"))
  table
}

#' Check an assay without fitting.
#'
#' `collateral validate ASSAY`: reads every input the assay names and checks it.
#'
#' @param assay Path of the assay file.
#' @param maps Also return plate maps (text).
#' @return (invisibly) a list with `summary`, `maps` and `warnings`; a `collateral_error`
#'   listing every problem when the assay is not valid.
#' @export
collateral_validate <- function(assay, maps = FALSE) {
  out <- unwrap(validate_assay(path.expand(assay), isTRUE(maps)))
  invisible(out)
}

#' Write a simulated screen with known truth.
#'
#' `collateral simulate -o OUTDIR`: `wells.csv`, `lines.csv`, `assay.toml` and `truth_*.csv`.
#'
#' @param outdir Output folder.
#' @param ... Simulation settings, as `collateral simulate`'s flags with `_` for `-`: `seed`,
#'   `lines`, `drugs`, `plate_size`, `doses`, `replicates`, `noise`, ...
#' @return (invisibly) the files written.
#' @export
collateral_simulate <- function(outdir, ...) {
  invisible(unwrap(simulate_screen(path.expand(outdir), settings_json(list(...)))))
}
