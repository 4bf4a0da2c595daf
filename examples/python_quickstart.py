"""The Python package in five steps: a plate-reader export read with its layout, a whole run
on a bundled assay, its tables as DataFrames, the outputs saved, and the collateral-sensitivity
matrix drawn with matplotlib (when it is installed).

    pip install ./python            # once, from the repository (needs a Rust toolchain)
    python examples/python_quickstart.py out/python-quickstart

`cargo test` runs this file (python/tests/test_collateral.py).
"""

import sys
from pathlib import Path

import collateral

repo = Path(__file__).resolve().parents[1]
outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out/python-quickstart")

# 1. A Biomek-integrated reader's export and a wellmap layout -> the tidy wells table.
plates = repo / "assays" / "iwasawa2022-plates"
wells = collateral.read_plates(plates / "reads" / "d01-p01.csv", plates / "layout.toml", read="RawDataSet1")
print(f"read {len(wells)} wells of plate {wells['plate'][0]}: "
      f"{(wells['role'] == 'sample').sum()} samples, {(wells['role'] == 'vehicle').sum()} vehicle controls")

# 2. The whole pipeline on the bundled day-27 screen; nothing is written yet.
try:
    result = collateral.run(repo / "assays" / "iwasawa2022" / "assay.toml", figures=False)
except collateral.CollateralError as e:
    sys.exit(f"{e.file}:{e.line}: {e}")
print(result.summary)

# 3. Tables are DataFrames with the CSV columns.
failed = result.qc[result.qc["verdict"] == "fail"]
print("failed QC units:", ", ".join(failed["plate"] + "/" + failed["cell_line"]))
cs = result.shifts[result.shifts["call"] == "collateral_sensitive"]
print(cs.nsmallest(5, "log2_fc")[["resistant_line", "drug", "log2_fc", "q_value"]].to_string(index=False))

# 4. Keep the outputs, as `collateral run -o OUTDIR` writes them.
result.save(outdir)
print(f"saved {len(result.files)} files to {outdir}")

# 5. The matrix as a heatmap: blue where the IC50 fell (collateral sensitivity), red where it rose.
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figure")
else:
    matrix = result.matrix.set_index("resistant_line")
    limit = float(abs(matrix).max().max())
    fig, ax = plt.subplots(figsize=(1 + 0.6 * matrix.shape[1], 1 + 0.35 * matrix.shape[0]))
    image = ax.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=90)
    ax.set_yticks(range(matrix.shape[0]), matrix.index)
    fig.colorbar(image, label="log2 fold change of IC50")
    fig.tight_layout()
    fig.savefig(outdir / "matrix.png", dpi=120)
    print(f"wrote {outdir / 'matrix.png'}")
