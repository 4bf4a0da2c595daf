"""The one exception of the package, with every problem located."""

from __future__ import annotations

from typing import Iterable, NamedTuple, Optional


class Problem(NamedTuple):
    """One problem in the inputs, located as the command line locates it."""

    file: Optional[str]
    """The input file (``<DataFrame>`` for a DataFrame passed in)."""
    line: Optional[int]
    """1-based line in that file; for a DataFrame, the line the row has in ``df.to_csv(index=False)``."""
    plate: Optional[str]
    """Plate identifier, when known."""
    well: Optional[str]
    """Well name as written, when known."""
    message: str
    """What is wrong and what was expected."""

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file + (f":{self.line}" if self.line is not None else "")
        elif self.line is not None:
            where = f"line {self.line}"
        parts = [f"plate {self.plate}"] if self.plate is not None else []
        if self.well is not None:
            parts.append(f"well {self.well}")
        if parts:
            where = (where + ": " if where else "") + ", ".join(parts)
        return f"{where}: {self.message}" if where else self.message


class CollateralError(ValueError):
    """Bad input, a bad setting or a failed read/write.

    ``str(err)`` is the message the ``collateral`` command prints after ``error:``.
    ``file``, ``line``, ``plate`` and ``well`` locate the first problem (``None`` where
    unknown); ``problems`` lists every problem found, each a :class:`Problem`; ``kind`` is
    ``"input"``, ``"config"`` or ``"io"``.
    """

    def __init__(self, message: str, kind: str = "input", problems: Iterable[Problem] = ()):
        super().__init__(message)
        self.kind = kind
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        self.file: Optional[str] = first.file if first else None
        self.line: Optional[int] = first.line if first else None
        self.plate: Optional[str] = first.plate if first else None
        self.well: Optional[str] = first.well if first else None
