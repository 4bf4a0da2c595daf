"""The ``collateral`` command installed by the package: the very command line of the binary."""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Runs ``collateral`` with ``sys.argv`` and exits with its code."""
    # Ctrl-C must stop the work at once, as it stops the binary: Python's own handler would
    # only set a flag that Rust never looks at.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from . import _native

    sys.exit(_native.cli(["collateral", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
