"""Reading user files defensively: regular files only, bounded size, one clear error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from simulator.errors import ScenarioError

__all__ = ["read_bounded"]


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, refusing anything but a regular file of at most ``max_bytes``.

    Devices, FIFOs and sockets are refused before they are opened (``/dev/zero`` would
    never end, a FIFO would block); the read itself stops after ``max_bytes + 1`` bytes.

    Raises
    ------
    ScenarioError
        Missing, not a regular file, unreadable, or too large; names the file.
    """
    file = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=file) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(f"cannot read file ({reason})", file=file) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError("is a directory, not a file", file=file)
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError("not a regular file (a device, FIFO or socket)", file=file)
    if info.st_size > max_bytes:
        raise ScenarioError(f"file larger than {max_bytes} bytes", file=file)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read file ({exc.strerror or exc})", file=file) from None
    if len(raw) > max_bytes:
        raise ScenarioError(f"file larger than {max_bytes} bytes", file=file)
    return raw
