"""The ``sim`` console script.

Importing the command line takes a few tenths of a second (numpy, pydantic and the
scenario models). A Ctrl-C then ends with the same one line and exit status as one before
any run starts, not a traceback from whichever module was being imported: while the
imports run, SIGINT's handler says so and ends the process at once. (Raising
``KeyboardInterrupt`` there would not do: pydantic's compiled core reports and drops it,
and Python 3.11 wraps it in a ``RuntimeError`` inside ``__set_name__``.) Only the
interpreter's own start-up, before this module runs, is outside its reach.
"""

from __future__ import annotations

import signal

from simulator.interrupts import NOTHING_WRITTEN, end_now

__all__ = ["main"]


def _interrupted(signum: int = signal.SIGINT, frame: object = None) -> None:
    """Say that nothing was written and end now with 128 + SIGINT (modules may be half
    imported: see :func:`~simulator.interrupts.end_now`)."""
    end_now(NOTHING_WRITTEN, 128 + signal.SIGINT)


def main() -> None:
    """Import :mod:`simulator.cli` and run its :func:`~simulator.cli.main`.

    SIGTERM keeps its default action until :func:`simulator.cli.main` installs its own
    handler (the process ends, silently, with nothing written).
    """
    previous = signal.signal(signal.SIGINT, _interrupted)
    try:
        from simulator.cli import main as cli_main
    except KeyboardInterrupt:  # raised by an import itself rather than by a signal
        _interrupted()
    signal.signal(signal.SIGINT, previous)
    cli_main()
