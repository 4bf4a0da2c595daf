"""Type stubs of the compiled module ``collateral._native`` (python/src/lib.rs).

Tables come back as lists of typed columns ``(name, kind, values, mask)``: ``kind`` is
``"number"`` (float64 array), ``"count"`` (int64 array + bool mask of absent cells), ``"flag"``
(bool array + mask) or ``"text"`` (list of str); ``collateral._api._frame`` makes DataFrames.
"""

from os import PathLike
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, PathLike[str]]
_Column = Tuple[str, str, Union[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_], List[str]], Optional[npt.NDArray[np.bool_]]]

__version__: str

class Outcome:
    summary: str
    warnings: List[str]
    skipped: List[str]
    files: List[str]

def cli(argv: Sequence[str]) -> int: ...
def run(
    assay: _Path,
    outdir: _Path,
    figures: bool = True,
    xlsx: bool = False,
    keep_going: bool = False,
    threads: Optional[int] = None,
    format: Optional[str] = None,
) -> Outcome: ...
def shift(
    fits: _Path,
    lines: _Path,
    outdir: _Path,
    settings: str,
    threads: Optional[int] = None,
    format: str = "csv",
) -> Outcome: ...
def merge(
    runs: Sequence[_Path],
    outdir: _Path,
    on_duplicate: str,
    lines: Optional[_Path],
    figures: bool,
    shift: str,
    threads: Optional[int] = None,
    format: str = "csv",
) -> Outcome: ...
def plan(
    run_dir: _Path,
    outdir: _Path,
    settings: str,
    metric: Optional[str] = None,
    lines: Optional[_Path] = None,
    threads: Optional[int] = None,
) -> Outcome: ...
def fit(
    cell_line: Sequence[str],
    drug: Sequence[str],
    concentration: Union[npt.NDArray[np.float64], Sequence[str]],
    response: Union[npt.NDArray[np.float64], Sequence[str]],
    settings: str,
    source: _Path,
    threads: Optional[int] = None,
) -> List[_Column]: ...
def fit_columns(header: Sequence[str], source: _Path) -> Tuple[int, int, int, int]: ...
def read_table(path: _Path) -> List[_Column]: ...

class ArrowTable:
    """A table as Arrow record batches, handed on through the Arrow PyCapsule interface."""

    num_rows: int
    column_names: List[str]
    def __arrow_c_stream__(self, requested_schema: object = None) -> object: ...
    def __arrow_c_schema__(self) -> object: ...
    def __len__(self) -> int: ...

def read_arrow(path: _Path) -> ArrowTable: ...
def read_plates(
    file: _Path,
    layout: Optional[_Path] = None,
    format: Optional[str] = None,
    read: Optional[str] = None,
    plate: Optional[str] = None,
    cell_line: Optional[str] = None,
    replicate: Optional[str] = None,
) -> Tuple[List[_Column], List[str]]: ...
def validate(assay: _Path, maps: bool = False) -> Tuple[str, str, List[str]]: ...
def simulate(outdir: _Path, settings: str) -> List[str]: ...
def copy_folder(
    source: _Path, target: _Path, names: Optional[Sequence[str]] = None
) -> Tuple[List[str], List[str]]: ...
