"""Per-path values that local worker processes hand to the parent through shared memory.

A run that keeps exact quantiles keeps every path's value at each horizon (and, for
first-passage statistics, its highest and lowest close): a few MB per task, which would
otherwise be pickled, sent down a pipe and unpickled in the parent, all while the workers
compete with the parent for the cores, and joined into one array at the end. Instead the
parent maps one anonymous shared region before its workers fork; each worker writes its
blocks' rows in place (block ``b`` starts at row ``b * block_size``) and sends the rest of
its summary without them, and the parent reads the finished arrays where they lie.

Only for local workers started by ``fork``: a Dask worker, or a spawned one, does not
share the parent's memory, and sends the values with its summary as before.
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the engine imports this module
    from simulator.engine import BlockSummary

__all__ = ["Key", "SharedRows"]

#: The per-path arrays a block summary may hold, by owner (a series' name, or
#: ``"portfolio"``) and kind: ``"exact"`` (values at the horizons, ``(n, h)``) or
#: ``"running"`` (highest and lowest close up to each horizon, ``(n, 2, h)``).
Key = tuple[str, str]


@dataclass
class SharedRows:
    """The per-path arrays of a whole run, in one shared anonymous mapping.

    Attributes
    ----------
    block_size
        Paths per full block: block ``b``'s rows start at ``b * block_size``.
    arrays
        By key, ``(n_paths, *shape)`` float64 views of the mapping.
    """

    block_size: int
    arrays: dict[Key, np.ndarray]

    @classmethod
    def allocate(
        cls, shapes: dict[Key, tuple[int, ...]], n_paths: int, block_size: int
    ) -> SharedRows:
        """Map room for ``n_paths`` rows of each ``(key, row shape)`` in ``shapes``; pages
        are committed as the workers write them."""
        sizes = {key: n_paths * math.prod(shape) for key, shape in shapes.items()}
        region = mmap.mmap(-1, max(8, 8 * sum(sizes.values())))  # MAP_SHARED | MAP_ANONYMOUS
        arrays: dict[Key, np.ndarray] = {}
        offset = 0
        for key, shape in shapes.items():
            flat = np.frombuffer(region, dtype=np.float64, count=sizes[key], offset=offset)
            arrays[key] = flat.reshape(n_paths, *shape)
            offset += 8 * sizes[key]
        return cls(block_size, arrays)

    def put(self, first_block: int, summary: BlockSummary) -> None:
        """In a worker: write the per-path arrays of ``summary`` (consecutive blocks from
        ``first_block``) into their rows, and leave empty placeholders in the summary.

        Raises
        ------
        ValueError
            If the summary holds an array this mapping has no room for, or of another
            row shape.
        """
        for key, holder, field in _holders(summary):
            parts = getattr(holder, field)
            if parts is None:
                continue
            target = self.arrays.get(key)
            row = first_block * self.block_size
            for part in parts:
                if target is None or (part.shape[1:], part.dtype) != (
                    target.shape[1:],
                    target.dtype,
                ):
                    raise ValueError(
                        f"no shared rows for {key} of shape {part.shape[1:]} ({part.dtype})"
                    )
                target[row : row + part.shape[0]] = part
                row += part.shape[0]
            setattr(holder, field, ())

    def take(self, summary: BlockSummary) -> None:
        """In the parent, once every block is merged: give ``summary`` its per-path arrays
        (where the workers left placeholders), as views of the mapping."""
        for key, holder, field in _holders(summary):
            if getattr(holder, field) == ():
                setattr(holder, field, (self.arrays[key],))


def _holders(summary: BlockSummary) -> list[tuple[Key, object, str]]:
    """Where a summary keeps per-path arrays: (key, object, attribute)."""
    out: list[tuple[Key, object, str]] = []
    for name, series in summary.series.items():
        out += [
            ((name, "exact"), series, "exact_parts"),
            ((name, "running"), series, "running_parts"),
        ]
    if summary.portfolio is not None:
        out.append((("portfolio", "exact"), summary.portfolio, "exact_parts"))
    return out
