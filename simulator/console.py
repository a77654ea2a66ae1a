"""The ``sim`` console script.

Importing the command line takes a moment (numpy, pydantic and the scenario models): a
Ctrl-C during those imports ends with the same one line and exit status as one before any
run starts, not a traceback from whichever module was being imported.
"""

from __future__ import annotations

import os
import sys

from simulator.interrupts import NOTHING_WRITTEN

__all__ = ["main"]


def main() -> None:
    """Import :mod:`simulator.cli` and run its :func:`~simulator.cli.main`."""
    try:
        from simulator.cli import main as cli_main
    except KeyboardInterrupt:
        # Modules may be half imported: end at once, as the command line does after an
        # interruption, without the interpreter's finalisation.
        sys.stderr.write(NOTHING_WRITTEN + "\n")
        sys.stderr.flush()
        os._exit(130)  # 128 + SIGINT; SIGTERM keeps its default action until cli.main
    cli_main()
