"""The functions of the package: each calls the library function the command of the same name
calls, and tables come back as pandas DataFrames with the columns and values of its CSV files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from . import _native
from ._errors import CollateralError, Problem

PathLike = Union[str, "os.PathLike[str]"]

#: Where problems of a DataFrame passed in point, in place of a file name.
DATAFRAME = "<DataFrame>"


def _frame(columns: List[Any]) -> pd.DataFrame:
    """A DataFrame from the native typed columns ``(name, kind, values, mask)``."""
    names = []
    data: Dict[int, Any] = {}
    for i, (name, kind, values, mask) in enumerate(columns):
        names.append(name)
        if kind == "number":
            data[i] = values
        elif kind == "count":
            data[i] = pd.arrays.IntegerArray(values, mask)
        elif kind == "flag":
            data[i] = pd.arrays.BooleanArray(values, mask)
        else:
            data[i] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data)
    frame.columns = names
    return frame


def read_table(path: PathLike) -> pd.DataFrame:
    """Reads a table the tool wrote (``wells.csv``, ``fits.csv``, ``shifts.csv`` …) with the
    contract's types: names and words as ``str`` (a replicate ``1`` stays ``"1"``), numbers as
    ``float64`` (an empty cell is NaN), counts as ``Int64`` and flags as ``boolean`` (both
    nullable). Values are parsed exactly: a float is the same 64 bits the tool computed.
    A table written as Parquet (``--format parquet``) is read the same way: give its
    ``.parquet`` path, or the ``.csv`` path it stands in for; the DataFrame is the same."""
    return _frame(_native.read_table(os.fspath(path)))


def read_arrow(path: PathLike) -> Any:
    """Reads a table the tool wrote as Arrow: an object with ``__arrow_c_stream__`` (the Arrow
    PyCapsule interface) that ``pyarrow.table``, ``polars.DataFrame`` and DuckDB take without
    copying. A ``.parquet`` table (or one standing in for an absent ``.csv``) gives its
    columns as written; a CSV table its typed columns as ``--format parquet`` would write
    them (``float64``, ``int64``, ``bool``, dictionary-encoded strings; empty cells null)."""
    return _native.read_arrow(os.fspath(path))


def _table_path(folder: Path, name: str) -> Optional[Path]:
    """The file of the table ``name`` (``fits.csv``) in ``folder``: the CSV, or the Parquet
    file written in its place (``--format parquet``); None when the run has neither."""
    path = folder / name
    if path.is_file():
        return path
    parquet = path.with_suffix(".parquet")
    return parquet if name.endswith(".csv") and parquet.is_file() else None


def _private_folder(prefix: str) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix=prefix)


class Run:
    """The outputs of :func:`run` (or :func:`shift`): tables as DataFrames, read on first use.

    ``outdir`` is the folder holding the outputs when one was given (or after :meth:`save`),
    else ``None``: the outputs then live in a private temporary folder, removed with this
    object, and nothing is written where you would see it unless you call :meth:`save`.

    A run made in memory (:func:`run` without ``outdir``, ``figures``, ``xlsx``) has no folder
    at all: every table, :attr:`info` and :attr:`network` come from the results it holds, and
    :attr:`files` is empty. Only :meth:`path` and passing the run to :func:`merge` or
    :func:`plan`, which work on files, write it first into a private temporary folder (as
    above); :meth:`save` writes it where you say.
    """

    def __init__(
        self,
        folder: Optional[Path],
        outcome: Any,
        outdir: Optional[Path],
        private: Optional[tempfile.TemporaryDirectory] = None,
        tables: Optional[Dict[str, pd.DataFrame]] = None,
        results: Any = None,
    ):
        self._folder = folder
        self._private = private
        self._results = results
        self._tables: Dict[str, Optional[pd.DataFrame]] = dict(tables or {})
        self._names = (
            []
            if folder is None
            else sorted(Path(f).relative_to(folder).as_posix() for f in outcome.files)
        )
        self._has_manifest = "run.json" in self._names
        #: The folder holding the outputs, or None when they are only in a private folder.
        self.outdir: Optional[Path] = outdir
        #: The command line's summary of the run.
        self.summary: str = outcome.summary
        #: Warnings, as the command line prints them (without the ``warning:`` prefix).
        self.warnings: List[str] = list(outcome.warnings)
        #: Plates left out by ``keep_going`` (the command line exits 3 when there are any).
        self.skipped: List[str] = list(outcome.skipped)

    def __repr__(self) -> str:
        where = str(self.outdir) if self.outdir is not None else "not saved"
        return f"<collateral.Run {where}: {self.summary.splitlines()[0]}>"

    def _source(self) -> Path:
        """The folder holding the outputs; a run made in memory is written into a private
        temporary folder first."""
        if self._folder is None:
            private = _private_folder("collateral-run-")
            self._write(Path(private.name))
            self._private = private
        return self._folder

    def _write(self, target: Path) -> None:
        """Writes the held results into ``target``, which holds the outputs from now on."""
        outcome = self._results.save(os.fspath(target))
        self._folder = target
        self._names = sorted(Path(f).relative_to(target).as_posix() for f in outcome.files)
        self._has_manifest = "run.json" in self._names

    @property
    def files(self) -> List[str]:
        """The files written, relative to the output folder, ``/``-separated (none for a run
        made in memory and not saved)."""
        return list(self._names)

    def path(self, name: str) -> Path:
        """Where the output file ``name`` (e.g. ``"plots/heatmap.svg"``) is now."""
        return self._source() / name

    def _table(self, name: str) -> Optional[pd.DataFrame]:
        if self._folder is None:
            # Made in memory: the results gave every table the run has.
            return self._tables.get(name)
        if name not in self._tables:
            path = _table_path(self._folder, name)
            self._tables[name] = read_table(path) if path is not None else None
        return self._tables[name]

    def arrow(self, name: str) -> Any:
        """The table ``name`` (``"wells"``, ``"shifts"``, or the file name ``"shifts.csv"``)
        as Arrow (see :func:`read_arrow`): ``pyarrow.table(run.arrow("shifts"))``,
        ``polars.DataFrame(...)`` or DuckDB read it without a copy. None when the run has no
        such table."""
        file = name if name.endswith(".csv") else f"{name}.csv"
        if self._folder is None:
            return self._results.arrow(file)
        path = _table_path(self._folder, file)
        return read_arrow(path) if path is not None else None

    @property
    def wells(self) -> Optional[pd.DataFrame]:
        """``wells.csv``: every input well with viability and exclusion reason."""
        return self._table("wells.csv")

    @property
    def qc(self) -> Optional[pd.DataFrame]:
        """``qc.csv``: one row per plate unit with Z′, CV, S/B, SSMD, spatial checks and verdict."""
        return self._table("qc.csv")

    @property
    def fits(self) -> Optional[pd.DataFrame]:
        """``fits.csv``: one row per (cell line, drug)."""
        return self._table("fits.csv")

    @property
    def fits_by_replicate(self) -> Optional[pd.DataFrame]:
        """``fits_by_replicate.csv`` (with ``shift.per_replicate``), else None."""
        return self._table("fits_by_replicate.csv")

    @property
    def fits_by_batch(self) -> Optional[pd.DataFrame]:
        """``fits_by_batch.csv`` (wells that name batches in a ``batch`` column), else None."""
        return self._table("fits_by_batch.csv")

    @property
    def shifts(self) -> Optional[pd.DataFrame]:
        """``shifts.csv``: one row per (resistant line, drug); None without a lines table."""
        return self._table("shifts.csv")

    @property
    def matrix(self) -> Optional[pd.DataFrame]:
        """``matrix.csv``: resistant lines × drugs, log2 fold changes; None without a lines table."""
        return self._table("matrix.csv")

    @property
    def calls(self) -> Optional[pd.DataFrame]:
        """``calls.csv``: the matrix's calls; None without a lines table."""
        return self._table("calls.csv")

    @property
    def likelihood(self) -> Optional[pd.DataFrame]:
        """``likelihood.csv``: CS/CR likelihood of each drug pair (and time) over lineages."""
        return self._table("likelihood.csv")

    @property
    def trajectories(self) -> Optional[pd.DataFrame]:
        """``trajectories.csv`` (lines with evolution times), else None."""
        return self._table("trajectories.csv")

    @property
    def stability(self) -> Optional[pd.DataFrame]:
        """``stability.csv``: per lineage and drug, whether CS persists (with times), else None."""
        return self._table("stability.csv")

    @property
    def plan(self) -> Optional[pd.DataFrame]:
        """``plan.csv``: therapy sequences, best first (runs with ``[plan]``), else None."""
        return self._table("plan.csv")

    @property
    def policy(self) -> Optional[pd.DataFrame]:
        """``policy.csv``: the switch-time policy (a plan of lines with evolution times), else None."""
        return self._table("policy.csv")

    @property
    def mics(self) -> Optional[pd.DataFrame]:
        """``mics.csv``: one MIC per dilution series (metric ``mic``), else None."""
        return self._table("mics.csv")

    @property
    def dip_rates(self) -> Optional[pd.DataFrame]:
        """``dip_rates.csv``: each well's DIP rate (wells read at several times), else None."""
        return self._table("dip_rates.csv")

    @property
    def cycles(self) -> Optional[pd.DataFrame]:
        """``cycles.csv``: cycles of the collateral-sensitivity network; None without a lines table."""
        return self._table("cycles.csv")

    @property
    def network(self) -> Any:
        """The drug network (``network.json``): a ``networkx.DiGraph`` (edge attributes as in
        the JSON) when networkx is installed, else the JSON as a dict; None without a lines
        table."""
        if self._folder is None:
            text = self._results.network()
            if text is None:
                return None
            data = json.loads(text)
        else:
            path = self._folder / "network.json"
            if not path.is_file():
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        try:
            import networkx as nx
        except ImportError:
            return data
        graph = nx.DiGraph()
        for edge in data.get("edges", []):
            attributes = {k: v for k, v in edge.items() if k not in ("source", "target")}
            graph.add_edge(edge["source"], edge["target"], **attributes)
        return graph

    @property
    def info(self) -> Optional[Dict[str, Any]]:
        """``run.json``: version, input checksums, settings, counts, timings, manifest (no
        manifest for a run made in memory and not saved: nothing was written)."""
        if self._folder is None:
            return json.loads(self._results.info())
        path = self._folder / "run.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def save(self, outdir: PathLike) -> Path:
        """Writes the outputs into ``outdir`` as the command would have: under the folder's
        lock, all files moved into place together, an earlier run's files there that this run
        does not have removed (``run.json``'s manifest), anything else left alone. Returns the
        folder; :attr:`outdir` is it from now on."""
        target = Path(outdir)
        if self._folder is None:
            self._write(target)
            self.outdir = target
            return target
        names = None if self._has_manifest else self._names
        _native.copy_folder(os.fspath(self._folder), os.fspath(target), names)
        self.outdir = target
        return target


def run(
    assay: PathLike,
    outdir: Optional[PathLike] = None,
    figures: Optional[bool] = None,
    threads: Optional[int] = None,
    xlsx: bool = False,
    keep_going: bool = False,
    format: Optional[str] = None,
) -> Run:
    """``collateral run ASSAY -o OUTDIR``: the whole pipeline on an assay file.

    Without ``outdir`` (and without ``figures=True`` or ``xlsx``) the run is made in memory
    and writes nothing: every table, ``info`` and ``network`` are built from its results (see
    :class:`Run`); :meth:`Run.save` writes the folder (without figures). Without ``outdir`` but
    with ``figures=True`` or ``xlsx``, a private temporary folder holds the outputs until the
    returned :class:`Run` goes; :meth:`Run.save` keeps them.
    ``figures`` draws ``plots/`` and ``report.html`` (default: with ``outdir`` only, since
    figures need a folder); ``xlsx`` writes ``results.xlsx``;
    ``keep_going`` leaves out plates whose file cannot be read (listed in ``Run.skipped``).
    ``threads``: worker threads (default every core); results are identical for any number.
    ``format``: how the folder's tables are written, ``"csv"``, ``"parquet"`` or ``"both"``
    (``--format``; default the assay's ``[output] format``, else CSV); the DataFrames are the
    same either way.
    Raises :class:`CollateralError` on bad input, naming file, line, plate and well.
    """
    if figures is None:
        figures = outdir is not None
    if outdir is None and not figures and not xlsx and format is None:
        results, outcome = _native.run_in_memory(os.fspath(assay), keep_going, threads)
        # Every table the run has; a table it does not have is None.
        tables = {name: _frame(columns) for name, columns in results.frames()}
        return Run(None, outcome, None, tables=tables, results=results)
    private = None
    if outdir is None:
        private = _private_folder("collateral-run-")
        folder = Path(private.name)
    else:
        folder = Path(outdir)
    outcome = _native.run(
        os.fspath(assay), os.fspath(folder), figures, xlsx, keep_going, threads, format
    )
    return Run(folder, outcome, None if private else folder, private)


def _folder_for(outdir: Optional[PathLike], prefix: str) -> Tuple[Path, Optional[tempfile.TemporaryDirectory]]:
    """The folder a command writes into: ``outdir``, or a private temporary one."""
    if outdir is not None:
        return Path(outdir), None
    private = _private_folder(prefix)
    return Path(private.name), private


def merge(
    runs: Sequence[Union[Run, PathLike]],
    outdir: Optional[PathLike] = None,
    on_duplicate: str = "error",
    lines: Optional[Union[pd.DataFrame, PathLike]] = None,
    figures: bool = True,
    threads: Optional[int] = None,
    format: str = "csv",
    **shift: Any,
) -> Run:
    """``collateral merge RUN_DIR... -o OUTDIR``: several runs' folders as one, compared as one
    matrix (docs/merge.md).

    ``runs``: :class:`Run` objects (saved or not) or output folders of ``collateral run``;
    ``on_duplicate``: ``"error"`` or ``"newest"`` (keep the fit of the run that started last);
    ``lines``: one lines table (DataFrame or file) instead of the runs' own; further keyword
    arguments are the ``[shift]`` keys that replace the runs' (``metric``, ``tau``, ``alpha``,
    ``rule``, ``max_cycle_length``). Each run's folder name is its ``run`` value, so two runs
    kept only in private folders are merged under those folders' names. ``format``: how the
    merged tables are written (``"csv"``, ``"parquet"``, ``"both"``; the runs may be of either
    form). Without ``outdir`` nothing is written where you would see it (see :class:`Run`).
    """
    folders = [os.fspath(r._source() if isinstance(r, Run) else Path(r)) for r in runs]
    inputs = _private_folder("collateral-merge-in-")
    try:
        lines_path = None
        if isinstance(lines, pd.DataFrame):
            path = Path(inputs.name) / "lines.csv"
            _write_table(lines, path)
            lines_path = os.fspath(path)
        elif lines is not None:
            lines_path = os.fspath(lines)
        folder, private = _folder_for(outdir, "collateral-merge-")
        outcome = _native.merge(
            folders,
            os.fspath(folder),
            on_duplicate,
            lines_path,
            figures,
            json.dumps(shift),
            threads,
            format,
        )
    finally:
        inputs.cleanup()
    return Run(folder, outcome, None if private else folder, private)


def plan(
    run: Union[Run, PathLike],
    outdir: Optional[PathLike] = None,
    metric: Optional[str] = None,
    lines: Optional[PathLike] = None,
    threads: Optional[int] = None,
    **settings: Any,
) -> Run:
    """``collateral plan RUN_DIR -o PLAN_DIR``: therapy sequences (and, with evolution times,
    the switch-time policy) from a finished comparison (docs/plan.md).

    ``run``: a :class:`Run` or a run's folder; settings are the ``[plan]`` keys (``length``,
    ``start``, ``cycles``, ``time``, ``top``, ``bootstrap``, ``seed``); ``metric`` plans on that
    metric's shifts, recomputed from the run's fits; ``lines`` is the lines table of a folder
    without ``run.json``. The returned :class:`Run` has ``plan`` and ``policy``; its
    ``summary`` is the plan in words. Without ``outdir`` nothing is written where you would see
    it (see :class:`Run`).
    """
    source = run._source() if isinstance(run, Run) else Path(run)
    folder, private = _folder_for(outdir, "collateral-plan-")
    outcome = _native.plan(
        os.fspath(source),
        os.fspath(folder),
        json.dumps(settings),
        metric,
        None if lines is None else os.fspath(lines),
        threads,
    )
    return Run(folder, outcome, None if private else folder, private)


def _names(column: pd.Series) -> List[str]:
    """A column of names as text, absent values as empty names (reported, never guessed)."""
    missing = column.isna().to_numpy()
    return ["" if m else str(v) for v, m in zip(column.tolist(), missing)]


def _name_codes(column: pd.Series) -> Tuple[np.ndarray, List[str]]:
    """A column of names as codes and the distinct names they number (-1: missing), so that
    millions of rows cross to the fitter as one integer array instead of one string each."""
    codes, names = pd.factorize(column, use_na_sentinel=True)
    return np.ascontiguousarray(codes, dtype="int64"), [str(n) for n in names]


def _numbers(column: pd.Series) -> Any:
    """A column of numbers as float64 (no copy when it already is), or its text when it is not
    numeric, to be parsed (and its bad cells reported) as the command parses a file's cells."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return np.ascontiguousarray(column.to_numpy(dtype="float64", na_value=np.nan))
    return _names(column)


def fit(
    df: pd.DataFrame,
    model: str = "ll4",
    plateaus: str = "free",
    robust: str = "none",
    threads: Optional[int] = None,
    **settings: Any,
) -> pd.DataFrame:
    """``collateral fit``: one curve per (cell_line, drug) of ``df``, replicates pooled.

    ``df`` has columns ``cell_line, drug, concentration, response`` (any case; an optional
    ``replicate`` and other columns are ignored). ``model``: ``ll4``, ``ll3`` (top = 1) or
    ``ll2`` (top = 1, bottom = 0); ``plateaus``: ``free`` or ``observed``; ``robust``:
    ``none``, ``huber`` or ``cauchy``; further ``settings`` are the assay file's ``[fit]``
    keys (``ci_level``, ``flat_alpha``, ``hill_bounds``, ``top_bounds``, ``bottom_bounds``,
    ``ec50_margin_decades``, ``outlier_threshold``). Returns the rows of ``fits.csv``, value
    for value what ``collateral fit`` writes for the same rows.

    Problems raise :class:`CollateralError`, located at file ``<DataFrame>`` and the line the
    row has in ``df.to_csv(index=False)`` (row 0 is line 2).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"fit() takes a pandas DataFrame, not {type(df).__name__}")
    keys = {"model": model, "plateaus": plateaus, "robust": robust, **settings}
    header = [str(c) for c in df.columns]
    cell, drug, conc, resp = _native.fit_columns(header, DATAFRAME)
    columns = _native.fit(
        _name_codes(df.iloc[:, cell]),
        _name_codes(df.iloc[:, drug]),
        _numbers(df.iloc[:, conc]),
        _numbers(df.iloc[:, resp]),
        json.dumps(keys),
        DATAFRAME,
        threads,
    )
    return _frame(columns)


def _write_table(df: pd.DataFrame, path: Path) -> None:
    """Writes a DataFrame as the tool writes tables: floats in shortest round-trip form (so
    they read back as the same bits), flags as ``true``/``false``, absent values empty."""
    out = df.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
        elif pd.api.types.is_float_dtype(column):
            out[name] = [("" if np.isnan(v) else repr(float(v))) for v in column.to_numpy()]
    out.to_csv(path, index=False)


def shift(
    fits: Union[pd.DataFrame, PathLike],
    lines: Union[pd.DataFrame, PathLike],
    metric: str = "ic50",
    tau: float = 1.0,
    alpha: float = 0.05,
    rule: str = "delta",
    outdir: Optional[PathLike] = None,
    threads: Optional[int] = None,
    format: str = "csv",
    **settings: Any,
) -> Run:
    """``collateral shift``: shifts, matrix, calls, network and cycles from fits and a lines
    table (``cell_line, parental_line, selected_with``), each a DataFrame or a file.

    ``metric``: ``ic50``, ``ec50``, ``auc``, the growth metrics ``gr50``, ``gr_aoc``,
    ``dip_ec50``, ``dip_emax`` (fits with growth columns), or ``mic`` (then ``fits`` is a MIC
    table: ``cell_line, drug, replicate, mic[, mic_qualifier]``); ``tau``: threshold on |log2_fc|;
    ``alpha``: level on BH q-values; ``rule``: ``delta``, ``dhawan2017``, ``nichol2019`` or ``maltas-wood``;
    further ``settings`` are the
    assay file's ``[shift]`` keys (``per_replicate``, ``max_cycle_length``). Returns a
    :class:`Run` whose ``fits`` are the fits given. ``format``: how its tables are written
    (``"csv"``, ``"parquet"``, ``"both"``). Without ``outdir`` nothing is written where you
    would see it (see :class:`Run`).
    """
    keys = {"metric": metric, "tau": tau, "alpha": alpha, "rule": rule, **settings}
    inputs = _private_folder("collateral-shift-in-")
    tables: Dict[str, pd.DataFrame] = {}
    try:
        paths = []
        for name, given in (("fits.csv", fits), ("lines.csv", lines)):
            if isinstance(given, pd.DataFrame):
                path = Path(inputs.name) / name
                _write_table(given, path)
                if name == "fits.csv":
                    tables[name] = given
            else:
                path = Path(given)
                if name == "fits.csv" and path.is_file():
                    tables[name] = read_table(path)
            paths.append(os.fspath(path))
        private = None
        if outdir is None:
            private = _private_folder("collateral-shift-")
            folder = Path(private.name)
        else:
            folder = Path(outdir)
        outcome = _native.shift(
            paths[0], paths[1], os.fspath(folder), json.dumps(keys), threads, format
        )
    finally:
        inputs.cleanup()
    return Run(folder, outcome, None if private else folder, private, tables)


def read_plates(
    file: PathLike,
    layout: Optional[PathLike] = None,
    format: Optional[str] = None,
    read: Optional[str] = None,
    plate: Optional[str] = None,
    cell_line: Optional[str] = None,
    replicate: Optional[str] = None,
) -> pd.DataFrame:
    """Reads a plate-reader export or plate grid (CSV, TSV, TXT, XLSX).

    With a ``layout`` (wellmap TOML, plater CSV or a plate-shaped layout), returns the tidy
    wells table an assay's ``wells`` file takes: ``plate, well, cell_line, drug,
    concentration, role, signal`` (+ ``replicate`` and layout columns), as ``[[plates]]``
    entries of an assay read it. ``plate`` defaults to the file name, ``cell_line`` and
    ``replicate`` apply to every well the layout leaves without one. Without a layout, returns
    every read the file holds: ``read, kind, well, signal`` (``kind`` ``raw``, ``computed`` or
    ``layout``), to see what the file offers. ``format`` forces the export format (detected
    otherwise); ``read`` picks one read by name (needed when the file has several raw reads).
    Warnings about the file are in ``df.attrs["warnings"]``.
    """
    columns, warnings = _native.read_plates(
        os.fspath(file),
        None if layout is None else os.fspath(layout),
        format,
        read,
        plate,
        cell_line,
        replicate,
    )
    frame = _frame(columns)
    frame.attrs["warnings"] = list(warnings)
    return frame


class Validation:
    """What :func:`validate` understood of an assay."""

    def __init__(self, summary: str, maps: str, warnings: List[str]):
        #: What was read: plates, formats, reads, roles, lines, drugs.
        self.summary = summary
        #: The plate maps as text (when asked for).
        self.maps = maps
        #: Things worth reading that are not problems.
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"<collateral.Validation: {self.summary.splitlines()[0] if self.summary else ''}>"

    def __str__(self) -> str:
        return self.summary + self.maps


def validate(assay: PathLike, maps: bool = False) -> Validation:
    """``collateral validate``: reads every input of an assay and checks it without fitting.
    Raises :class:`CollateralError` with every problem (``problems``) when there are any."""
    summary, plate_maps, warnings = _native.validate(os.fspath(assay), maps)
    return Validation(summary, plate_maps, list(warnings))


class Screen:
    """A simulated screen (:func:`simulate`): its files and its truth tables."""

    def __init__(self, folder: Path, outdir: Optional[Path], private: Optional[tempfile.TemporaryDirectory]):
        self._folder = folder
        self._private = private
        #: The folder holding the screen when one was given, else None (a private folder).
        self.outdir = outdir
        #: The screen's assay file, ready for :func:`run`.
        self.assay: Path = folder / "assay.toml"
        #: The tidy wells table (plate reads with known truth).
        self.wells = read_table(folder / "wells.csv")
        #: The lines table.
        self.lines = read_table(folder / "lines.csv")
        #: True curve parameters per (cell line, drug), with the true log2 fold change.
        self.truth_curves = read_table(folder / "truth_curves.csv")
        #: True gain, background and noise of each plate unit.
        self.truth_plates = read_table(folder / "truth_plates.csv")
        #: True viability of each well and whether it was made an outlier.
        self.truth_wells = read_table(folder / "truth_wells.csv")
        timed = (folder / "truth_courses.csv").is_file()
        #: With lineages: the true course of CS of each lineage and drug, else None.
        self.truth_courses = read_table(folder / "truth_courses.csv") if timed else None
        #: With lineages: the true CS and CR probability per drug pair and time, else None.
        self.truth_likelihood = read_table(folder / "truth_likelihood.csv") if timed else None
        growing = (folder / "truth_growth.csv").is_file()
        #: With growing cells (``doubling_time=``): GR50, DIP and endpoint-IC50 truth per
        #: (cell line, drug), else None.
        self.truth_growth = read_table(folder / "truth_growth.csv") if growing else None

    def __repr__(self) -> str:
        return (
            f"<collateral.Screen: {self.truth_plates['plate'].nunique()} plates, "
            f"{len(self.wells)} wells, {len(self.truth_curves)} curves>"
        )


def simulate(outdir: Optional[PathLike] = None, **settings: Any) -> Screen:
    """``collateral simulate``: a synthetic screen with known truth. ``settings`` as the
    command's flags: ``seed``, ``lines``, ``drugs``, ``plate_size``, ``doses``,
    ``replicates``, ``noise``, ``edge_effect``, ``outlier_rate``, ``missing_rate``,
    ``lineages``, ``evolution_times``, ``doubling_time``, ``resistant_doubling_time``,
    ``t0``, ``duration``, ``reads`` (and ``top_concentration``, ``dilution``, ``gain``,
    ``background``, ``gain_cv``). The same seed
    gives the same screen. Without ``outdir`` the files live in a private temporary folder as
    long as the returned :class:`Screen`, so ``collateral.run(screen.assay)`` works."""
    private = None
    if outdir is None:
        private = _private_folder("collateral-screen-")
        folder = Path(private.name)
    else:
        folder = Path(outdir)
    _native.simulate(os.fspath(folder), json.dumps(settings))
    return Screen(folder, None if private else folder, private)


__all__ = [
    "CollateralError",
    "Problem",
    "Run",
    "Screen",
    "Validation",
    "fit",
    "read_plates",
    "read_table",
    "run",
    "shift",
    "simulate",
    "validate",
]
