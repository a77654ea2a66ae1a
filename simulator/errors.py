"""Exceptions and warnings raised by the simulator library.

The library raises; only :mod:`simulator.cli` turns these into messages and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "InputError",
    "PortfolioFileError",
    "RuntimeFailure",
    "ScenarioError",
    "SimulationFailure",
    "SimulatorError",
    "SimulatorWarning",
    "one_line",
]


def one_line(text: str) -> str:
    """``text`` on one line: control characters (line breaks, NUL, ...) shown escaped."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""

    exit_code = 1


class InputError(SimulatorError):
    """Bad input from the user: a file, an option or an impossible request (exit code 2)."""

    exit_code = 2


class ScenarioError(InputError):
    """A scenario, portfolio or data file that cannot be used, located by file, field and line.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    file
        The file at fault, if known.
    field
        Dotted path of the offending field, e.g. ``events.hormuz_closure.probability``.
    line
        1-based line number in ``file``, if known.
    also
        Further problems found in the same file, each located in its own right. The
        one-line form counts them; :meth:`problems` lists them all.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
        also: Sequence[ScenarioError] = (),
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.also = tuple(also)
        super().__init__(self.format())

    def format(self, more: str = "") -> str:
        """One line: ``file:line: field: message``, omitting the parts that are unknown,
        then ``(+N more problems)`` if there are further ones, with ``more`` added inside
        the brackets (for example where to see them)."""
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [p for p in (where, self.field) if p]
        text = ": ".join([*parts, self.message])
        if self.also:
            n = len(self.also)
            text += f" (+{n} more problem{'s' if n > 1 else ''}{more})"
        # One line even when a key or value from the file holds a line break.
        return one_line(text)

    def problems(self) -> list[ScenarioError]:
        """This problem (without the count of the others) and each further one."""
        return [
            type(self)(self.message, file=self.file, field=self.field, line=self.line),
            *self.also,
        ]


class PortfolioFileError(ScenarioError):
    """A portfolio file (top-level ``positions``, no ``oil``) where a scenario was expected."""


class RuntimeFailure(SimulatorError):
    """A failure while running a valid request: numerical blow-up, I/O error (exit code 1)."""

    exit_code = 1


class SimulationFailure(RuntimeFailure):
    """A valid scenario whose simulated paths fail (a price or an asset leaves any plausible
    range): :func:`simulator.engine.run` adds which scenario file it was (exit code 1)."""


class SimulatorWarning(UserWarning):
    """Base class of warnings raised by the simulator (e.g. a repaired correlation matrix)."""
