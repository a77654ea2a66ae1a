"""Holding Ctrl-C and SIGTERM over a short critical section, and delivering them after.

Python runs a signal's handler in the main thread at its next bytecode, wherever that is.
Two places must not see a handler raise there:

* a fork hook (``logging`` registers some): the exception is printed and dropped, so the
  interruption would be lost (:mod:`simulator.engine` and :mod:`simulator.output` fork
  workers inside :func:`signals_held`);
* numba turning a ``numpy.random.Generator`` argument into function pointers, which calls
  Python code (``ctypes.cast``): numba (0.68 here) ignores the failure and runs the kernel
  with pointers left unset, and the process crashes with SIGSEGV (measured: 22 crashes in
  40 Ctrl-Cs sent to a loop of compiled draws on tiny arrays; see
  :mod:`simulator.kernels`).

Inside :func:`signals_held` the handlers only record the signal, whichever thread the
operating system delivered it to; on leaving, the original handlers are put back and
called for what was recorded, so Ctrl-C raises ``KeyboardInterrupt`` as the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the sim script
if TYPE_CHECKING:  # imports this module before anything else (simulator.console)
    from collections.abc import Iterator
    from typing import Any, NoReturn

__all__ = ["NOTHING_WRITTEN", "end_now", "ignore_held", "signals_held"]

HELD = (signal.SIGINT, signal.SIGTERM)

#: What the command line says when interrupted before any output (here, with no imports
#: beyond the standard library, for :mod:`simulator.console` to say it before the rest
#: is imported).
NOTHING_WRITTEN = "Interrupted: nothing was written."


def ignore_held() -> None:
    """Ignore SIGINT and SIGTERM from now on (where handlers can be set: the main thread)."""
    for sig in HELD:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(sig, signal.SIG_IGN)


def end_now(message: str | None, code: int) -> NoReturn:
    """After an interruption: ignore further SIGINT and SIGTERM, say ``message`` (if any)
    on stderr, flush, and end the process with ``code`` at once, without the interpreter's
    finalisation (an interruption can leave imports or compiled code half-way, and
    finalising then has ended with a signal exit status or a crash)."""
    ignore_held()
    with contextlib.suppress(OSError, ValueError):
        if message is not None:
            sys.stderr.write(message + "\n")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _deliver(signum: int, handler: Any) -> None:
    """Do what ``handler`` (as :func:`signal.getsignal` gives it) does for ``signum``."""
    if callable(handler):
        handler(signum, None)
    elif handler != signal.SIG_IGN:  # SIG_DFL, or None (set outside Python): the default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block; deliver them, once each as received, after.

    Only in the main thread (handlers run nowhere else); elsewhere the block runs as is.
    An interruption at any point while the handlers are swapped in or out leaves none
    recording for good: each recording handler passes a signal straight on to the
    original one once the block has ended.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    holding = [True]

    def record(signum: int, frame: object) -> None:
        if holding[0]:
            caught.append(signum)
        else:  # the block has ended, but this handler is not yet replaced
            _deliver(signum, previous[signum])

    try:
        for sig in HELD:
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, record)
        yield
    finally:
        holding[0] = False
        for num, original in previous.items():
            signal.signal(num, original if original is not None else signal.SIG_DFL)
        for signum in caught:
            _deliver(signum, previous[signum])
