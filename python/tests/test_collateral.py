"""The Python package against the command line: same numbers, same errors.

Run by `cargo test` (tests/python.rs), which builds the package into a virtual environment and
sets COLLATERAL_BIN to the `collateral` binary of the same build and COLLATERAL_REPO to the
repository. Run alone: `COLLATERAL_BIN=target/debug/collateral pytest python/tests`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collateral

REPO = Path(os.environ.get("COLLATERAL_REPO", Path(__file__).resolve().parents[2]))
BIN = os.environ.get("COLLATERAL_BIN", str(REPO / "target" / "debug" / "collateral"))
IWASAWA = REPO / "assays" / "iwasawa2022" / "assay.toml"
PLATES = REPO / "assays" / "iwasawa2022-plates"
TABLES = ["wells.csv", "qc.csv", "fits.csv", "shifts.csv", "matrix.csv", "calls.csv", "cycles.csv", "likelihood.csv"]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([BIN, *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"collateral {' '.join(args)} failed: {done.stderr}")
    return done


def same_bits(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal column for column: float columns bit for bit (NaN where NaN), others by value."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for name in a.columns:
        x, y = a[name], b[name]
        assert x.dtype == y.dtype, name
        if x.dtype == np.float64:
            xv, yv = x.to_numpy(), y.to_numpy()
            assert np.array_equal(np.isnan(xv), np.isnan(yv)), name
            assert np.array_equal(xv.view(np.int64)[~np.isnan(xv)], yv.view(np.int64)[~np.isnan(yv)]), name
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True, check_names=False)


def pandas_read(path: Path) -> pd.DataFrame:
    """The CLI's table read by pandas itself (exact float parsing), not by this package."""
    return pd.read_csv(path, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "iwasawa"
    cli("run", str(IWASAWA), "-o", str(out), "--no-figures", "--quiet")
    return out


@pytest.fixture(scope="module")
def py_run() -> collateral.Run:
    return collateral.run(IWASAWA, figures=False)


def test_run_tables_equal_the_cli_csvs(cli_run: Path, py_run: collateral.Run) -> None:
    for name in TABLES:
        ours = getattr(py_run, name[:-4])
        same_bits(ours, collateral.read_table(cli_run / name))
        # And against pandas' own reading of the CLI's file: every number is the same float.
        theirs = pandas_read(cli_run / name)
        for column in ours.columns:
            if ours[column].dtype == np.float64:
                # Python's float() rounds correctly: the reference parse.
                expected = np.array([float(v) if v else np.nan for v in theirs[column]])
                got = ours[column].to_numpy()
                assert np.array_equal(got, expected, equal_nan=True), (name, column)
    info = py_run.info
    cli_info = json.loads((cli_run / "run.json").read_text())
    assert info["counts"] == cli_info["counts"]
    assert info["settings"] == cli_info["settings"]


def test_run_types_follow_the_contract(py_run: collateral.Run) -> None:
    fits, qc, wells = py_run.fits, py_run.qc, py_run.wells
    assert fits["ic50"].dtype == np.float64
    assert str(fits["n_points"].dtype) == "Int64"
    assert str(fits["converged"].dtype) == "boolean"
    assert str(qc["spatial_flag"].dtype) == "boolean"
    # Replicates are labels, not numbers, even when written 1, 2.
    assert set(wells["replicate"].unique()) == {"1", "2", "3", "4"}
    assert wells["signal"].map(type).eq(str).all()
    assert wells["excluded"].sum() == 192
    assert py_run.summary.startswith("Iwasawa 2022 E. coli, day 27: 24 plates, 9216 wells")
    assert py_run.outdir is None


def test_network_is_a_digraph_with_the_json_edges(py_run: collateral.Run, cli_run: Path) -> None:
    nx = pytest.importorskip("networkx")
    graph = py_run.network
    assert isinstance(graph, nx.DiGraph)
    edges = json.loads((cli_run / "network.json").read_text())["edges"]
    assert graph.number_of_edges() == len(edges)
    for e in edges:
        data = graph.edges[e["source"], e["target"]]
        assert data["call"] == e["call"] and data["log2_fc"] == e["log2_fc"]


def test_nothing_is_written_until_saved(tmp_path: Path, cli_run: Path) -> None:
    before = set(os.listdir(tmp_path))
    result = collateral.run(IWASAWA, figures=False)
    assert set(os.listdir(tmp_path)) == before
    private = result.path("fits.csv").parent
    target = tmp_path / "saved"
    target.mkdir()
    (target / "my notes.txt").write_text("keep me")
    assert result.save(target) == target and result.outdir == target
    for name in TABLES:
        assert (target / name).read_bytes() == (cli_run / name).read_bytes(), name
    assert (target / "my notes.txt").read_text() == "keep me"
    saved = json.loads((target / "run.json").read_text())
    assert saved["manifest"] == json.loads((cli_run / "run.json").read_text())["manifest"]
    del result
    assert not private.exists()


ALL_TABLES = [
    "wells", "qc", "fits", "fits_by_replicate", "fits_by_batch", "shifts", "matrix", "calls",
    "likelihood", "trajectories", "stability", "cycles", "plan", "policy", "mics", "dip_rates",
]


def test_a_run_in_memory_writes_nothing(tmp_path: Path, cli_run: Path, monkeypatch) -> None:
    # Temporary folders (Python's and Rust's) and anything under HOME would be made under
    # tmp_path too: none may be.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    # No outdir: no figures by default, nothing written, every table from the results.
    result = collateral.run(IWASAWA)
    tables = {name: getattr(result, name) for name in ALL_TABLES}
    info, network = result.info, result.network
    assert result.outdir is None and result.files == []
    assert [str(p) for p in tmp_path.rglob("*")] == []
    for name, table in tables.items():
        path = cli_run / f"{name}.csv"
        if table is None:
            assert not path.exists(), name
        else:
            same_bits(table, collateral.read_table(path))
    cli_info = json.loads((cli_run / "run.json").read_text())
    assert info["counts"] == cli_info["counts"] and "manifest" not in info
    edges = json.loads((cli_run / "network.json").read_text())["edges"]
    assert (len(network.edges) if hasattr(network, "edges") else len(network["edges"])) == len(edges)
    # Saving writes the folder from the held results: the CLI's bytes.
    assert result.save(tmp_path / "saved") == tmp_path / "saved"
    for name in TABLES:
        assert (tmp_path / "saved" / name).read_bytes() == (cli_run / name).read_bytes(), name


def test_run_into_an_outdir_is_the_cli_run(tmp_path: Path, cli_run: Path) -> None:
    result = collateral.run(IWASAWA, outdir=tmp_path / "out", figures=False, threads=1)
    assert result.outdir == tmp_path / "out"
    for name in TABLES:
        assert (tmp_path / "out" / name).read_bytes() == (cli_run / name).read_bytes(), name


def test_figures_and_workbook(tmp_path: Path) -> None:
    result = collateral.run(IWASAWA, outdir=tmp_path / "fig", xlsx=True)
    assert "report.html" in result.files and "results.xlsx" in result.files
    assert result.path("plots/heatmap.svg").is_file()


@pytest.fixture(scope="module")
def fit_input(py_run: collateral.Run, tmp_path_factory) -> tuple:
    wells = py_run.wells
    samples = wells[(wells["role"] == "sample") & ~wells["excluded"]]
    df = pd.DataFrame(
        {
            "cell_line": samples["cell_line"].to_numpy(),
            "drug": samples["drug"].to_numpy(),
            "concentration": samples["concentration"].to_numpy(),
            "response": samples["viability"].to_numpy(),
            "replicate": samples["replicate"].to_numpy(),
        }
    )
    folder = tmp_path_factory.mktemp("fit")
    path = folder / "input.csv"
    df.to_csv(path, index=False)
    cli("fit", str(path), "-o", str(folder / "fits.csv"), "--quiet")
    return df, folder / "fits.csv"


def test_fit_equals_cli_fit_value_for_value(fit_input: tuple) -> None:
    df, cli_fits = fit_input
    # The CSV written by pandas reads back as the same floats, so both fitted the same data.
    back = pd.read_csv(cli_fits.parent / "input.csv", dtype=str, keep_default_na=False)
    written = np.array([float(v) if v else np.nan for v in back["response"]])
    assert np.array_equal(written, df["response"].to_numpy(), equal_nan=True)
    fits = collateral.fit(df)
    same_bits(fits, collateral.read_table(cli_fits))
    assert len(fits) == 96


def test_fit_threads_do_not_change_results(fit_input: tuple) -> None:
    df, _ = fit_input
    same_bits(collateral.fit(df, threads=1), collateral.fit(df, threads=2))


def test_fit_settings_reach_the_fitter(fit_input: tuple, tmp_path: Path) -> None:
    df, cli_fits = fit_input
    cli("fit", str(cli_fits.parent / "input.csv"), "-o", str(tmp_path / "ll3.csv"), "--model", "ll3", "--robust", "huber", "--quiet")
    same_bits(collateral.fit(df, model="ll3", robust="huber"), collateral.read_table(tmp_path / "ll3.csv"))
    fits = collateral.fit(df.head(200), ci_level=0.9)
    assert (fits["model"] == "ll4").all()
    with pytest.raises(collateral.CollateralError, match="unknown field `cl_level`") as err:
        collateral.fit(df, cl_level=0.9)
    assert err.value.kind == "config"


def test_fit_accepts_any_column_case_and_order() -> None:
    df = pd.DataFrame(
        {
            "Response": [1.0, 0.9, 0.5, 0.1, 0.05],
            "Drug": ["d"] * 5,
            "Concentration": [0.01, 0.1, 1.0, 10.0, 100.0],
            "Cell_Line": ["A"] * 5,
        }
    )
    fits = collateral.fit(df)
    assert list(fits["cell_line"]) == ["A"] and fits["status"][0] in {"ok", "insufficient_data"}


def test_the_gil_is_released_while_rust_works(fit_input: tuple) -> None:
    df, _ = fit_input
    big = pd.concat([df.assign(cell_line=df["cell_line"] + f"_{i}") for i in range(20)], ignore_index=True)
    ticks = 0
    worker = threading.Thread(target=collateral.fit, args=(big,), kwargs={"threads": 1})
    started = time.perf_counter()
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    elapsed = time.perf_counter() - started
    # Holding the GIL for the whole fit would leave this thread no tick at all until it ended.
    print(f"fit took {elapsed:.3f} s; this thread ticked {ticks} times meanwhile")
    assert elapsed > 0.05, "too little work to tell"
    assert ticks >= 10, (elapsed, ticks)


def test_malformed_dataframes_raise_located_errors() -> None:
    good = dict(cell_line=["A", "A", "B"], drug=["d", "d", "d"], concentration=[1.0, 2.0, 3.0], response=[0.9, 0.5, 0.1])
    with pytest.raises(collateral.CollateralError) as err:
        collateral.fit(pd.DataFrame({k: v for k, v in good.items() if k != "response"}).assign(respons=1.0))
    e = err.value
    assert isinstance(e, ValueError)
    assert (e.file, e.line) == ("<DataFrame>", 1)
    assert "missing column `response` (is `respons` meant to be `response`?)" in str(e)

    bad = pd.DataFrame(good)
    bad.loc[2, "cell_line"] = None
    bad["concentration"] = bad["concentration"].astype(object)
    bad.loc[0, "concentration"] = "abc"
    with pytest.raises(collateral.CollateralError) as err:
        collateral.fit(bad)
    e = err.value
    assert str(e).startswith("<DataFrame>:2: `concentration` is not a number: `abc`")
    assert (e.file, e.line) == ("<DataFrame>", 2)
    assert len(e.problems) == 1
    bad.loc[0, "concentration"] = 1.0
    with pytest.raises(collateral.CollateralError) as err:
        collateral.fit(bad)
    assert str(err.value) == "<DataFrame>:4: empty `cell_line`"
    assert err.value.problems[0].line == 4


def test_malformed_files_raise_what_the_cli_prints(tmp_path: Path) -> None:
    wells = tmp_path / "wells.csv"
    wells.write_text(
        "plate,well,cell_line,drug,concentration,role,signal\n"
        "P1,A1,L,,,vehicle,1.0\n"
        "P1,Q99,L,d,1,sample,0.5\n"
        "P1,A3,L,d,abc,sample,0.4\n"
    )
    assay = tmp_path / "assay.toml"
    assay.write_text('name = "bad"\nconcentration_unit = "uM"\nwells = "wells.csv"\n')
    with pytest.raises(collateral.CollateralError) as err:
        collateral.run(assay, figures=False)
    printed = cli("run", str(assay), "-o", str(tmp_path / "out"), check=False)
    assert printed.returncode == 1
    assert printed.stderr.strip() == f"error: {err.value}"
    e = err.value
    assert e.file == str(wells) and e.line == 3 and e.plate == "P1" and e.well == "Q99"
    assert len(e.problems) >= 2
    assert any(p.line == 4 and "abc" in p.message for p in e.problems)
    assert not (tmp_path / "out").exists()


def test_read_plates_gives_the_wells_a_run_reads() -> None:
    wells = collateral.read_plates(PLATES / "reads" / "d01-p01.csv", PLATES / "layout.toml", read="RawDataSet1")
    assert list(wells.columns[:7]) == ["plate", "well", "cell_line", "drug", "concentration", "role", "signal"]
    assert len(wells) == 384 and (wells["plate"] == "d01-p01").all()
    result = collateral.run(PLATES / "assay.toml", figures=False)
    tidy = result.wells[list(wells.columns)]
    same_bits(wells, tidy)
    reads = collateral.read_plates(PLATES / "reads" / "d01-p01.csv")
    assert list(reads.columns) == ["read", "kind", "well", "signal"]
    assert "RawDataSet1" in set(reads["read"])
    with pytest.raises(collateral.CollateralError, match="unknown format `nope`"):
        collateral.read_plates(PLATES / "reads" / "d01-p01.csv", format="nope")


def test_validate(tmp_path: Path) -> None:
    v = collateral.validate(IWASAWA, maps=True)
    assert "24 plates" in v.summary and v.maps
    lines = tmp_path / "lines.csv"
    lines.write_text("cell_line,parental_line,selected_with\nR,P,d\n")
    wells = tmp_path / "wells.csv"
    wells.write_text("plate,well,cell_line,drug,concentration,role,signal\nP1,A1,R,d,1,sample,0.5\n")
    assay = tmp_path / "assay.toml"
    assay.write_text('name = "x"\nconcentration_unit = "uM"\nwells = "wells.csv"\nlines = "lines.csv"\n')
    with pytest.raises(collateral.CollateralError) as err:
        collateral.validate(assay)
    assert err.value.problems and str(err.value)


def test_simulate_and_run_recover_the_truth() -> None:
    screen = collateral.simulate(seed=3, lines=3, drugs=4, noise=0.02)
    assert len(screen.truth_curves) == 12 and len(screen.lines) == 3
    result = collateral.run(screen.assay, figures=False)
    shifts = result.shifts.merge(
        screen.truth_curves, left_on=["resistant_line", "drug"], right_on=["cell_line", "drug"]
    )
    exact = shifts[shifts["log2_fc_qualifier"] == "="]
    assert len(exact) >= 4
    assert (np.abs(exact["log2_fc"] - exact["true_log2_fc"]) < 0.5).all()
    with pytest.raises(collateral.CollateralError, match="unknown field `seeds`"):
        collateral.simulate(seeds=1)
    timed = collateral.simulate(seed=4, lines=2, drugs=3, lineages=4, evolution_times=3)
    assert str(timed.truth_courses["cross_resistant"].dtype) == "boolean"
    result = collateral.run(timed.assay, figures=False)
    assert len(result.trajectories) == 4 * 3 * 3 and len(result.stability) == 4 * 3
    assert str(result.stability["n_times"].dtype) == "Int64"
    assert set(result.likelihood["evolution_time"]) == {1.0, 2.0, 3.0}


def test_shift_equals_cli_shift(cli_run: Path, tmp_path: Path) -> None:
    lines = REPO / "assays" / "iwasawa2022" / "lines.csv"
    cli("shift", str(cli_run / "fits.csv"), "--lines", str(lines), "-o", str(tmp_path / "cli"), "--tau", "0.5", "--quiet")
    fits = collateral.read_table(cli_run / "fits.csv")
    result = collateral.shift(fits, pd.read_csv(lines, dtype=str), tau=0.5)
    for name in ["shifts.csv", "matrix.csv", "calls.csv", "cycles.csv"]:
        same_bits(getattr(result, name[:-4]), collateral.read_table(tmp_path / "cli" / name))
    assert result.fits is fits
    result.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "shifts.csv").read_bytes() == (tmp_path / "cli" / "shifts.csv").read_bytes()
    by_path = collateral.shift(cli_run / "fits.csv", lines, tau=0.5)
    same_bits(by_path.shifts, result.shifts)


def test_merge_equals_cli_merge(cli_run: Path, py_run: collateral.Run, tmp_path: Path) -> None:
    cli("merge", str(cli_run), "-o", str(tmp_path / "cli"), "--tau", "0.5", "--no-figures", "--quiet")
    merged = collateral.merge([cli_run], figures=False, tau=0.5)
    for name in ["fits.csv", "shifts.csv", "matrix.csv", "calls.csv", "cycles.csv", "qc.csv"]:
        same_bits(getattr(merged, name[:-4]), collateral.read_table(tmp_path / "cli" / name))
    assert merged.info["settings"]["shift"]["tau"] == 0.5
    merged.save(tmp_path / "saved")
    assert (tmp_path / "saved" / "shifts.csv").read_bytes() == (tmp_path / "cli" / "shifts.csv").read_bytes()
    # A Run kept in a private folder merges too: the same comparison under its folder's name.
    from_object = collateral.merge([py_run], figures=False, tau=0.5)
    same_bits(from_object.matrix, merged.matrix)
    assert set(from_object.shifts["run"]) == {py_run._folder.name}
    with pytest.raises(collateral.CollateralError, match="on_duplicate"):
        collateral.merge([cli_run], on_duplicate="oldest")
    with pytest.raises(collateral.CollateralError, match="taus"):
        collateral.merge([cli_run], taus=0.5)


def test_plan_equals_cli_plan(cli_run: Path, py_run: collateral.Run, tmp_path: Path) -> None:
    done = cli("plan", str(cli_run), "-o", str(tmp_path / "cli"), "--length", "2")
    planned = collateral.plan(cli_run, length=2)
    same_bits(planned.plan, collateral.read_table(tmp_path / "cli" / "plan.csv"))
    assert planned.policy is None  # no evolution times in this assay
    assert planned.summary.split("\n\n")[0] in done.stdout
    # From a Run object, and on another metric.
    same_bits(collateral.plan(py_run, length=2).plan, planned.plan)
    cli("plan", str(cli_run), "-o", str(tmp_path / "ec50"), "--length", "2", "--metric", "ec50")
    same_bits(
        collateral.plan(cli_run, length=2, metric="ec50").plan,
        collateral.read_table(tmp_path / "ec50" / "plan.csv"),
    )
    with pytest.raises(collateral.CollateralError, match="lenght"):
        collateral.plan(cli_run, lenght=2)
    with pytest.raises(collateral.CollateralError, match="metric ic90"):
        collateral.plan(cli_run, metric="ic90")


def test_the_collateral_command_is_the_cli(tmp_path: Path, cli_run: Path) -> None:
    command = Path(sys.executable).parent / "collateral"
    done = subprocess.run([str(command), "run", str(IWASAWA), "-o", str(tmp_path / "o"), "--no-figures"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    native = cli("run", str(IWASAWA), "-o", str(tmp_path / "p"), "--no-figures").stdout
    untimed = lambda text: re.sub(r"in [0-9.]+ s", "in T s", text)  # noqa: E731
    assert untimed(done.stdout) == untimed(native.replace(str(tmp_path / "p"), str(tmp_path / "o")))
    for name in TABLES:
        assert (tmp_path / "o" / name).read_bytes() == (cli_run / name).read_bytes()
    usage = subprocess.run([str(command), "run"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Usage" in usage.stderr
    bad = subprocess.run([str(command), "validate", str(tmp_path / "missing.toml")], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")


def test_the_example_runs(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "python_quickstart.py"), str(tmp_path / "ex")],
        capture_output=True, text=True, env=env, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "384 wells" in done.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "ex" / "matrix.png").stat().st_size > 1000
