"""collateral: from raw drug-screen plate reads to a collateral-sensitivity map.

The functions mirror the ``collateral`` commands and call the same Rust library, so a
DataFrame holds the very values of the CSV file the command writes::

    import collateral
    result = collateral.run("assays/iwasawa2022/assay.toml")   # nothing written to disk
    result.fits            # fits.csv as a DataFrame
    result.matrix          # resistant lines x drugs, log2 fold changes
    result.save("out")     # the outputs, as `collateral run -o out` writes them

Functions: :func:`run`, :func:`fit`, :func:`shift`, :func:`merge`, :func:`plan`,
:func:`read_plates`, :func:`read_table`, :func:`read_arrow`, :func:`validate`, :func:`simulate`. Errors raise :class:`CollateralError` (a ``ValueError``)
naming file, line, plate and well. Installing the package also installs the ``collateral``
command. Documentation: docs/python.md in the repository.
"""

from ._api import (
    Run,
    Screen,
    Validation,
    fit,
    merge,
    plan,
    read_arrow,
    read_plates,
    read_table,
    run,
    shift,
    simulate,
    validate,
)
from ._errors import CollateralError, Problem
from ._native import __version__

__all__ = [
    "CollateralError",
    "Problem",
    "Run",
    "Screen",
    "Validation",
    "__version__",
    "fit",
    "merge",
    "plan",
    "read_arrow",
    "read_plates",
    "read_table",
    "run",
    "shift",
    "simulate",
    "validate",
]
