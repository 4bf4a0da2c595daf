"""Parquet outputs and Arrow tables (issue 22): pyarrow reads every Parquet table equal, value
for value, to its CSV; the package's tables cross to pyarrow and DuckDB as Arrow without a
copy; DuckDB reads a year of runs (every run folder under a root) as one query.

Run by `cargo test` with the rest of python/tests (tests/python.rs installs pyarrow and duckdb
into the test environment). Screens here are small simulated ones, to keep the suite short.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import collateral


def plain(table: pa.Table) -> pa.Table:
    """The table with its dictionary-encoded columns as plain strings (as a CSV reader gives)."""
    columns = [
        c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def csv_as_typed(path: Path, schema: pa.Schema) -> pa.Table:
    """The CSV at `path` read by pyarrow itself, each column of the type its Parquet twin has
    (words as strings: an empty cell is an empty string, an empty number, count or flag null)."""
    types = {
        f.name: pa.string() if pa.types.is_dictionary(f.type) else f.type for f in schema
    }
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    """A small simulated screen with lineages (so trajectories and stability are written)."""
    root = tmp_path_factory.mktemp("arrow")
    return collateral.simulate(
        root / "screen", seed=11, lines=3, drugs=5, lineages=2, evolution_times=2
    )


@pytest.fixture(scope="module")
def both(screen, tmp_path_factory) -> Path:
    """The screen run with `format="both"`: every table as CSV and as Parquet."""
    out = tmp_path_factory.mktemp("both") / "run"
    collateral.run(screen.assay, out, figures=False, format="both")
    return out


def test_pyarrow_reads_every_parquet_table_equal_to_its_csv(both: Path) -> None:
    tables = sorted(p for p in both.glob("*.csv") if p.name != "lines.csv")
    names = {p.stem for p in tables}
    assert {"wells", "qc", "fits", "shifts", "matrix", "calls", "cycles", "likelihood"} <= names
    assert {"trajectories", "stability"} <= names
    for csv_path in tables:
        parquet = pq.read_table(csv_path.with_suffix(".parquet"))
        from_csv = csv_as_typed(csv_path, parquet.schema)
        assert parquet.column_names == from_csv.column_names, csv_path.name
        assert plain(parquet).equals(from_csv), csv_path.name
        # Real types: numbers f64, words dictionary-encoded, the reading as written a string.
        for field in parquet.schema:
            assert not pa.types.is_large_string(field.type), (csv_path.name, field.name)
        if csv_path.name == "shifts.csv":
            assert parquet.schema.field("log2_fc").type == pa.float64()
            assert pa.types.is_dictionary(parquet.schema.field("call").type)
        if csv_path.name == "wells.csv":
            assert pa.types.is_dictionary(parquet.schema.field("drug").type)
            assert parquet.schema.field("excluded").type == pa.bool_()
            assert parquet.schema.field("signal").type == pa.string()
    meta = pq.ParquetFile(both / "wells.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_a_parquet_folder_gives_the_same_dataframes(screen, both: Path, tmp_path: Path) -> None:
    only = collateral.run(screen.assay, tmp_path / "pq", figures=False, format="parquet")
    assert not any(n.endswith(".csv") for n in only.files)
    assert "wells.parquet" in only.files
    for name in ["wells", "qc", "fits", "shifts", "matrix", "calls", "trajectories"]:
        a = collateral.read_table(both / f"{name}.csv")
        b = getattr(only, name)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        c = collateral.read_table(tmp_path / "pq" / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, c, check_exact=True)


def test_tables_cross_as_arrow_without_a_copy(screen, both: Path) -> None:
    in_memory = collateral.run(screen.assay)
    handle = in_memory.arrow("shifts")
    first = pa.table(handle)
    expected = pq.read_table(both / "shifts.parquet")
    assert first.equals(expected)
    # Two imports of one table see the same buffer: pyarrow took the library's memory.
    second = pa.table(handle)
    address = lambda t: t.column("log2_fc").chunks[0].buffers()[1].address  # noqa: E731
    assert address(first) == address(second)
    # DuckDB scans the object by its Arrow stream.
    count = duckdb.sql("SELECT count(*) FROM handle").fetchall()[0][0]
    assert count == first.num_rows == len(in_memory.shifts)
    # A folder's tables, CSV or Parquet, come back the same.
    for name in ["wells", "fits", "calls"]:
        from_parquet = pa.table(collateral.read_arrow(both / f"{name}.parquet"))
        from_csv = pa.table(collateral.read_arrow(both / f"{name}.csv"))
        assert from_parquet.equals(from_csv), name
    assert in_memory.arrow("policy") is None


def test_polars_takes_the_tables_by_their_arrow_stream(screen, both: Path) -> None:
    in_memory = collateral.run(screen.assay)
    for name in ["shifts", "fits", "wells"]:
        taken = pl.DataFrame(in_memory.arrow(name))
        expected = pl.from_arrow(pq.read_table(both / f"{name}.parquet"))
        assert taken.equals(expected), name
        assert taken.columns == pq.read_schema(both / f"{name}.parquet").names
    # Words arrive as polars categoricals or strings (dictionary-encoded in Arrow), numbers as
    # 64-bit floats; a Parquet file reads the same through polars' own reader.
    shifts = pl.DataFrame(in_memory.arrow("shifts"))
    assert shifts.schema["log2_fc"] == pl.Float64
    assert shifts.equals(pl.read_parquet(both / "shifts.parquet"))


def test_duckdb_reads_every_run_under_a_root_as_one_table(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    expected = []
    for seed, name in [(21, "2026-01"), (22, "2026-02")]:
        screen = collateral.simulate(tmp_path / f"screen{seed}", seed=seed, lines=3, drugs=4)
        run = collateral.run(screen.assay, root / name, figures=False, format="both")
        shifts = collateral.read_table(root / name / "shifts.csv")
        shifts.insert(0, "run", name)
        expected.append(shifts)
        assert len(run.shifts) == len(shifts) > 0
    expected = pd.concat(expected, ignore_index=True)
    glob = (root / "*" / "shifts.parquet").as_posix()
    got = duckdb.sql(
        f"SELECT regexp_extract(filename, '([^/]+)/shifts.parquet$', 1) AS run, * EXCLUDE (filename) "
        f"FROM read_parquet('{glob}', filename = true) ORDER BY run, resistant_line, drug, metric"
    ).df()
    expected = expected.sort_values(["run", "resistant_line", "drug", "metric"], kind="stable")
    expected = expected.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    keys = ["run", "resistant_line", "parental_line", "drug"]
    pairs = lambda df: set(map(tuple, df[keys].astype(str).to_numpy()))  # noqa: E731
    assert pairs(got) == pairs(expected)
    for name in expected.columns:
        a, b = got[name], expected[name]
        if b.dtype == np.float64:
            same = (a.isna() & b.isna()) | (a.to_numpy(dtype=float) == b.to_numpy())
            assert same.all(), name
        else:
            left = a.astype(object).where(a.notna(), "")
            assert list(left.astype(str)) == list(b.astype(str)), name
