"""Inputs and thunor's own DIP results for the HTS007 comparison (docs/growth.md).

Run by `cargo run --release --example thunor_dip_comparison -- SHARED_DATA_DIR PYTHON OUT`,
where PYTHON has thunor (../shared/tools/setup-peers.sh makes such an environment). The HTS007
data are GPL-3.0 (thunor's test data): they are read from the shared folder and never copied
into this repository.

`thunor_hts007.py prepare DATA_DIR OUT` writes into OUT:
- wells.csv, lines.csv, assay.toml: the time courses as collateral's tidy wells table (every
  read a row: plate, well, cell_line, drug, concentration in M, role, signal = cell count,
  time in hours); untreated wells are `vehicle`, there are no blanks (counts need none).
- hts007_vanderbilt.tsv: the same reads in thunor's Vanderbilt HTS format.
- thunor_dip_rates.csv: thunor's DIP rate of every well (thunor.dip.dip_rates).
- thunor_dip_fits.csv: thunor's DIP dose-response fits (thunor.curve_fit.fit_params).

`thunor_hts007.py unweighted OUT` then fits collateral's own per-well DIP rates
(OUT/run/dip_rates.csv) with thunor's fitter as collateral fits them: treated wells only, no
weights (thunor.curve_fit.fit_drc with sigma None), and writes thunor_unweighted_fits.csv. This
separates what the fitting model changes from what the DIP rates change.
"""

import csv
import math
import os
import sys

import numpy as np
import pandas as pd
from thunor.curve_fit import fit_drc, fit_params
from thunor.dip import dip_rates
from thunor.io import read_vanderbilt_hts


def num(x):
    """A number as text that reads back exactly; empty when absent."""
    if x is None:
        return ""
    x = float(x)
    return "" if math.isnan(x) else repr(x)


def main(data_dir, out):
    os.makedirs(out, exist_ok=True)
    treated = pd.read_csv(os.path.join(data_dir, "treated_wells_cellcount_timecourse.csv"))
    controls = pd.read_csv(os.path.join(data_dir, "control_wells_cellcount_timecourse.csv"))

    # collateral's tidy wells table: one row per read.
    with open(os.path.join(out, "wells.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["plate", "well", "cell_line", "drug", "concentration", "role", "signal", "time"])
        for r in treated.itertuples():
            w.writerow([r.plate, r.well, r.cell_line, r.drug, num(r.dose_molar), "sample",
                        num(r.cell_count), num(r.time_h)])
        for r in controls.itertuples():
            w.writerow([r.plate, r.well, r.cell_line, "", "", "vehicle",
                        num(r.cell_count), num(r.time_h)])
    lines = sorted(set(treated.cell_line) | set(controls.cell_line))
    with open(os.path.join(out, "lines.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell_line", "parental_line", "selected_with"])
        for name in lines:
            w.writerow([name, "", ""])
    with open(os.path.join(out, "assay.toml"), "w") as f:
        f.write('name = "thunor HTS007 (GPL-3.0 test data of thunor)"\n'
                'concentration_unit = "M"\nwells = "wells.csv"\nlines = "lines.csv"\n'
                "plate_size = 384\n")

    # The same reads in the Vanderbilt HTS format, read by thunor itself.
    van = os.path.join(out, "hts007_vanderbilt.tsv")
    rows = []
    for r in treated.itertuples():
        rows.append((r.plate, r.well, r.cell_line, r.drug, r.dose_molar, r.time_h, r.cell_count))
    for r in controls.itertuples():
        rows.append((r.plate, r.well, r.cell_line, "", 0.0, r.time_h, r.cell_count))
    with open(van, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["upid", "well", "cell.line", "drug1", "drug1.conc", "drug1.units", "time",
                    "cell.count"])
        for p, well, line, drug, dose, t, n in rows:
            w.writerow([p, well, line, drug, num(dose), "M", num(t), num(n)])
    data = read_vanderbilt_hts(van, sep="\t")
    ctrl, expt = dip_rates(data)

    # thunor's well ids are "PLATE__number" (row-major on a 16 x 24 plate).
    def well_name(well_id):
        plate, num = well_id.rsplit("__", 1)
        num = int(num)
        return plate, "%s%d" % (chr(ord("A") + num // 24), num % 24 + 1)

    with open(os.path.join(out, "thunor_dip_rates.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["plate", "well", "role", "dip_rate", "dip_fit_std_err", "dip_first_timepoint"])
        for idx, r in expt.iterrows():
            plate, well = well_name(idx[-1])
            w.writerow([plate, well, "sample", num(r.dip_rate), num(r.dip_fit_std_err),
                        num(r.dip_first_timepoint)])
        for idx, r in ctrl.iterrows():
            plate, well = well_name(idx[-1])
            w.writerow([plate, well, "vehicle", num(r.dip_rate), num(r.dip_fit_std_err), ""])

    params = fit_params(ctrl, expt)
    with open(os.path.join(out, "thunor_dip_fits.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell_line", "drug", "fit", "e0", "emax", "ec50", "hill", "emax_rel"])
        for idx, r in params.iterrows():
            fit = r.fit_obj
            kind = "none" if fit is None else type(fit).__name__

            e0 = None if fit is None else fit.e0
            emax = None if fit is None else fit.emax
            ec50 = None if fit is None else fit.ec50
            hill = None if fit is None else fit.hill_slope
            rel = None if fit is None or e0 in (None, 0) or emax is None else emax / e0
            w.writerow([idx[1], idx[2], kind, num(e0), num(emax), num(ec50), num(hill), num(rel)])


def unweighted(out):
    points = {}
    with open(os.path.join(out, "run", "dip_rates.csv")) as f:
        for r in csv.DictReader(f):
            if r["role"] == "sample" and r["dip_rate"] != "":
                points.setdefault((r["cell_line"], r["drug"]), []).append(
                    (float(r["concentration"]), float(r["dip_rate"])))
    with open(os.path.join(out, "thunor_unweighted_fits.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["cell_line", "drug", "fit", "e0", "emax", "ec50", "hill", "emax_rel"])
        for (line, drug), p in sorted(points.items()):
            x = np.array([c for c, _ in p])
            y = np.array([v for _, v in p])
            fit = fit_drc(x, y, None, null_rejection_threshold=0.05)
            kind = "none" if fit is None else type(fit).__name__
            if fit is None or kind == "HillCurveNull":
                w.writerow([line, drug, kind, "", "", "", "", ""])
                continue
            rel = fit.emax / fit.e0 if fit.e0 else None
            w.writerow([line, drug, kind, num(fit.e0), num(fit.emax), num(fit.ec50),
                        num(fit.hill_slope), num(rel)])


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        main(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "unweighted":
        unweighted(sys.argv[2])
    else:
        sys.exit("usage: thunor_hts007.py prepare DATA_DIR OUT | unweighted OUT")
