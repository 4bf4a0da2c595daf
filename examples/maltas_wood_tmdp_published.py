"""Maltas & Wood's published t-MDP outputs (their Figure 5) as plain CSV, for
`examples/maltas_wood_tmdp.rs`.

    python3 examples/maltas_wood_tmdp_published.py THEIR_REPO_FILES OUT_DIR

THEIR_REPO_FILES holds `opt_rewards_{TD,d2,d4,d6,d8}.pickle` and `state_{...}.pickle` from
github.com/jamaltas/Temporal_Collateral_Sensitivity (MIT, Copyright (c) 2024 jamaltas). Each
`opt_rewards_*` is a 1000 x 80 float64 array: 1000 simulated treatment courses of 80 steps from
the wild type, the resistance to the drug given at each step; each `state_*` a 4 x 5 array: the
mean resistance to CIP, DAP, DOX, CRO, LZD at the end of each 2-day epoch. Writes
`published_costs.csv` (schedule, run, the 80 costs separated by spaces) and
`published_states.csv` (schedule, day, one column per drug, values as Python's repr prints
them, i.e. exactly).

The pickles need the standard library only: numpy's `_frombuffer` and `dtype` are stood in for
while unpickling, so nothing but the raw float64 buffer, its shape and its order is read.

With `HeatmapWorkspace.mat` in THEIR_REPO_FILES (and scipy installed, for MATLAB's format) it
also writes `heatmap_workspace_changes.csv`: their day-to-day matrices `D0D2`, `D2D4`, `D4D6`,
`D6D8` and `D0D8` (20 x 5: rows drug given x population, columns drug tested; the change of
log2 IC50 over the epoch, what their `day*_rust.csv` transition files hold) as `matrix,
selecting_drug_index, population, test_drug_index, value` (repr, exact).
"""

import csv
import os
import pickle
import struct
import sys

SCHEDULES = ["TD", "d2", "d4", "d6", "d8"]
DRUGS = ["CIP", "DAP", "DOX", "CRO", "LZD"]


class DType:
    def __init__(self, name, align=False, copy=True):
        if name != "f8":
            raise ValueError(f"dtype {name!r}: only float64 arrays are expected")

    def __setstate__(self, state):
        if state[1] != "<":
            raise ValueError(f"byte order {state[1]!r}: only little-endian is expected")


def frombuffer(buf, dtype, shape, order):
    if order != "C":
        raise ValueError(f"order {order!r}: only C order is expected")
    n = 1
    for s in shape:
        n *= s
    if len(buf) != 8 * n:
        raise ValueError(f"{len(buf)} bytes for shape {shape}")
    flat = struct.unpack(f"<{n}d", bytes(buf))
    rows, cols = shape
    return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in (("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")):
            return frombuffer
        if (module, name) == ("numpy", "dtype"):
            return DType
        raise pickle.UnpicklingError(f"unexpected {module}.{name}")


def load(path):
    with open(path, "rb") as f:
        return Unpickler(f).load()


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "published_costs.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["schedule", "run", "costs"])
        for s in SCHEDULES:
            runs = load(os.path.join(src, f"opt_rewards_{s}.pickle"))
            for i, run in enumerate(runs):
                if any(x != int(x) for x in run):
                    raise ValueError(f"{s} run {i}: a cost that is not a whole number")
                w.writerow([s, i + 1, " ".join(str(int(x)) for x in run)])
    with open(os.path.join(out, "published_states.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["schedule", "day"] + DRUGS)
        for s in SCHEDULES:
            epochs = load(os.path.join(src, f"state_{s}.pickle"))
            for e, state in enumerate(epochs):
                w.writerow([s, 2 * (e + 1)] + [repr(x) for x in state])
    heatmap_workspace(src, out)


def heatmap_workspace(src, out):
    path = os.path.join(src, "HeatmapWorkspace.mat")
    if not os.path.exists(path):
        return
    import scipy.io  # only for MATLAB's file format

    mat = scipy.io.loadmat(path)
    with open(os.path.join(out, "heatmap_workspace_changes.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["matrix", "selecting_drug_index", "population", "test_drug_index", "value"])
        for name in ["D0D2", "D2D4", "D4D6", "D6D8", "D0D8"]:
            m = mat[name]
            if m.shape != (20, 5):
                raise ValueError(f"{name}: shape {m.shape}, expected (20, 5)")
            for row in range(20):
                for col in range(5):
                    w.writerow([name, row // 4, row % 4 + 1, col, repr(float(m[row, col]))])


if __name__ == "__main__":
    main()
