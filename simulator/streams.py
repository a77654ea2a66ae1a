"""Random streams: one SeedSequence tree per run, one generator per (block, component).

Block ``i`` of a run draws only from child ``i`` of the run's SeedSequence, and inside a block
each component (``"oil.innovations"``, ``"event.hormuz_closure"``, ...) draws from its own
grandchild keyed by a stable hash of its name. So:

* results do not depend on how blocks are scheduled over processes or machines;
* two scenarios run with the same seed share the draws of every component they have in
  common (common random numbers), even when one adds or drops events.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["BIT_GENERATOR", "LAYOUT", "Streams", "normalise_seed"]

#: The bit generator of every stream. SFC64 (Doty-Humphrey's Small Fast Chaotic generator,
#: 256-bit state with a counter: every stream has a period of at least 2^64) passes
#: PractRand and TestU01 like PCG64, and makes normals about 20% faster on this engine's
#: reference machine (``benchmarks/bench_engine.py`` prints both rates). Recorded in every
#: manifest; runs are paired in comparisons only if it matches.
BIT_GENERATOR = np.random.SFC64

#: Which draws each stream holds, in what order; raised whenever a component's draws move
#: to another stream or order, so that runs made before are not paired with runs made
#: after (recorded in every manifest as ``stream_layout``; manifests without it are 1).
#:
#: * 1: the assets' unit normals factor by factor, then their Student-t mixing gammas,
#:   all from ``assets.noise``.
#: * 2: the assets' unit normals path by path from ``assets.noise``, and their mixing
#:   gammas from ``assets.mixing`` (so a compiled run can draw each path's as it goes).
LAYOUT = 2


def normalise_seed(seed: int | None) -> int:
    """A non-negative integer seed; ``None`` draws fresh OS entropy (recorded in the manifest)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if seed < 0:
        raise ValueError("seed must be non-negative")
    return int(seed)


class Streams:
    """Generators for one block of paths.

    Parameters
    ----------
    seed
        The run's root seed (entropy of the root SeedSequence).
    block
        Index of the block of paths.
    """

    def __init__(self, seed: int, block: int) -> None:
        self.seed = seed
        self.block = block

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of component ``name`` in this block: root -> block -> component."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.SeedSequence(self.seed, spawn_key=(self.block, key))

    def get(self, name: str) -> np.random.Generator:
        """A fresh generator for component ``name`` (same name, same stream)."""
        return np.random.Generator(BIT_GENERATOR(self.seed_sequence(name)))
