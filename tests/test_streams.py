"""Random streams: one generator per (seed, block, component), stable across runs."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.streams import Streams, normalise_seed


def draws(seed: int, block: int, name: str) -> np.ndarray:
    return Streams(seed, block).get(name).random(5)


def test_same_name_same_stream() -> None:
    np.testing.assert_array_equal(draws(1, 0, "oil.shocks"), draws(1, 0, "oil.shocks"))


@pytest.mark.parametrize(
    ("seed", "block", "name"), [(2, 0, "oil.shocks"), (1, 1, "oil.shocks"), (1, 0, "oil.jumps")]
)
def test_seed_block_and_name_each_change_the_stream(seed: int, block: int, name: str) -> None:
    assert not np.array_equal(draws(1, 0, "oil.shocks"), draws(seed, block, name))


def test_seed_sequence_is_root_block_component() -> None:
    ss = Streams(7, 3).seed_sequence("event.x")
    assert ss.entropy == 7
    assert ss.spawn_key[0] == 3
    assert len(ss.spawn_key) == 2


def test_normalise_seed() -> None:
    assert normalise_seed(5) == 5
    drawn = normalise_seed(None)
    assert isinstance(drawn, int)
    assert drawn >= 0
    with pytest.raises(ValueError, match="non-negative"):
        normalise_seed(-1)
