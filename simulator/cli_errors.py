"""How every ``sim`` command turns exceptions into one line and an exit code.

Exit codes: 2 for bad input (:class:`~simulator.errors.InputError`), 1 for runtime
failures and for bugs (reported as an internal error, never as a traceback), and
128 + the signal's number after an interruption: 130 after Ctrl-C (SIGINT), 143 after
SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator

import typer

from simulator.errors import ScenarioError, SimulatorError, one_line
from simulator.interrupts import NOTHING_WRITTEN, ignore_held

__all__ = [
    "NOTHING_WRITTEN",
    "handle_errors",
    "ignore_further_interrupts",
    "interrupted_by",
    "one_line",
    "received",
    "was_interrupted",
]

#: The signal that interrupted the command (SIGTERM is turned into KeyboardInterrupt).
_received: list[int] = [signal.SIGINT]


#: Set once a command has been interrupted (see :func:`was_interrupted`).
_interrupted: list[bool] = [False]


def was_interrupted() -> bool:
    """Whether :func:`handle_errors` has reported an interruption in this process."""
    return _interrupted[0]


def received(signum: int) -> None:
    """Record the signal behind the coming KeyboardInterrupt (for the exit code)."""
    _received[0] = signum


#: Set by the ``sim`` entry point: the process is ours to configure (not a test runner's).
owns_process: list[bool] = [False]


def ignore_further_interrupts() -> None:
    """Once interrupted, let the clean-up finish: a second Ctrl-C or SIGTERM (or one held
    during a fork and delivered late) would otherwise kill the process half-way through
    it, with a traceback or a signal exit code instead of the one reported. Only in the
    ``sim`` process itself (:data:`owns_process`)."""
    if owns_process[0]:
        ignore_held()


def interrupted_by() -> int:
    """Exit code after an interruption: 128 + the signal's number."""
    return 128 + int(_received[0])


def _say(line: str) -> None:
    sys.stderr.write(one_line(line) + "\n")
    sys.stderr.flush()


#: Added to the count of further problems in a scenario or portfolio file.
VALIDATE_HINT = "; sim validate lists them all"


@contextlib.contextmanager
def handle_errors(interrupted: str | Callable[[], str] = NOTHING_WRITTEN) -> Iterator[None]:
    """Run a command body, mapping exceptions to ``Error: ...`` lines and exit codes.

    ``interrupted`` is what an interruption says, or a function giving it at that moment
    (what has been written by then)."""
    try:
        yield
    except ScenarioError as exc:
        _say(f"Error: {exc.format(VALIDATE_HINT)}")
        raise typer.Exit(exc.exit_code) from None
    except SimulatorError as exc:
        _say(f"Error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ignore_further_interrupts()
        _interrupted[0] = True
        _say(interrupted if isinstance(interrupted, str) else interrupted())
        raise typer.Exit(interrupted_by()) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # a bug: say so in one line, never a traceback
        _say(f"Error: internal error ({type(exc).__name__}: {exc}); please report it")
        raise typer.Exit(1) from None
