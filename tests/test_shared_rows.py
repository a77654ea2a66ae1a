"""Per-path values handed from local workers to the parent through shared memory: the
layout matches what a block keeps, rows land at their blocks' offsets, and a run on two
forked workers keeps exactly the values of one process."""

from __future__ import annotations

import mmap
import multiprocessing
from typing import Any

import numpy as np
import pytest
from conftest import REPO, SCENARIOS

from simulator import engine
from simulator.engine import RunConfig, kept_row_shapes, run, run_block, run_blocks
from simulator.portfolio import PortfolioSummary, load_portfolio
from simulator.scenario import load_scenario
from simulator.shared_rows import SharedRows

LOADED = load_scenario(SCENARIOS / "talks_fail.yaml")
BOOK = load_portfolio(REPO / "portfolios" / "sample.yaml")
N_STEPS = 21


def block_args(block: int, n_paths: int) -> tuple[object, ...]:
    scenario = LOADED.scenario
    return (
        scenario,
        5,
        block,
        n_paths,
        N_STEPS,
        scenario.horizons(N_STEPS),
        True,
        BOOK.exposures(),
        PortfolioSummary.tail_size_for(1_000),
    )


def kept_arrays(summary: engine.BlockSummary) -> dict[tuple[str, str], np.ndarray]:
    """Every per-path array of a summary, joined, by (owner, kind)."""
    out = {}
    for name, series in summary.series.items():
        out[(name, "exact")] = series.exact
        if series.running is not None:
            out[(name, "running")] = series.running
    if summary.portfolio is not None:
        out[("portfolio", "exact")] = summary.portfolio.exact
    return out


def test_the_layout_is_what_a_block_keeps() -> None:
    block = run_block(*block_args(0, 50))  # type: ignore[arg-type]
    kept = {key: a.shape[1:] for key, a in kept_arrays(block).items()}
    horizons = LOADED.scenario.horizons(N_STEPS)
    assert kept_row_shapes(LOADED.scenario, horizons, portfolio=True) == kept
    assert ("brent", "running") in kept  # first passage: Brent's highest and lowest closes


def test_rows_land_at_their_blocks_and_the_parent_reads_them_back() -> None:
    """Blocks 0-1 and 2 (the last, short) of 40-path blocks, put as two tasks in either
    order: the rows read back are those of the blocks in order, and the summaries sent
    carry empty placeholders only."""
    horizons = LOADED.scenario.horizons(N_STEPS)
    shapes = kept_row_shapes(LOADED.scenario, horizons, portfolio=True)
    rows = SharedRows.allocate(shapes, n_paths=40 + 40 + 25, block_size=40)
    blocks = [run_block(*block_args(b, n)) for b, n in ((0, 40), (1, 40), (2, 25))]  # type: ignore[arg-type]
    expected = {key: np.concatenate([kept_arrays(b)[key] for b in blocks]) for key in shapes}
    first = run_blocks([block_args(0, 40), block_args(1, 40)])
    last = run_blocks([block_args(2, 25)])
    rows.put(2, last)
    rows.put(0, first)
    assert first.series["brent"].exact_parts == ()
    assert last.portfolio is not None
    assert last.portfolio.exact_parts == ()
    total = first.merge(last)
    rows.take(total)
    for key, value in kept_arrays(total).items():
        np.testing.assert_array_equal(value, expected[key], err_msg=str(key))


def test_a_summary_with_an_array_the_rows_have_no_room_for_is_refused() -> None:
    horizons = LOADED.scenario.horizons(N_STEPS)
    shapes = kept_row_shapes(LOADED.scenario, horizons, portfolio=False)  # no book
    rows = SharedRows.allocate(shapes, n_paths=40, block_size=40)
    with pytest.raises(ValueError, match=r"^no shared rows for \('portfolio', 'exact'\)"):
        rows.put(0, run_blocks([block_args(0, 40)]))


def test_a_part_of_another_type_is_refused() -> None:
    horizons = LOADED.scenario.horizons(N_STEPS)
    rows = SharedRows.allocate(kept_row_shapes(LOADED.scenario, horizons, True), 40, 40)
    summary = run_blocks([block_args(0, 40)])
    summary.series["gold"].exact_parts = (summary.series["gold"].exact.astype(np.float32),)
    with pytest.raises(ValueError, match=r"^no shared rows for \('gold', 'exact'\) .*float32"):
        rows.put(0, summary)


def test_a_worker_that_does_not_share_the_memory_says_so() -> None:
    with pytest.raises(RuntimeError, match="does not share the run's memory"):
        run_blocks([block_args(0, 40)], True, True)


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers start by fork"
)
@pytest.mark.parametrize("book", [BOOK, None], ids=["book", "no-book"])
def test_two_forked_workers_keep_exactly_the_values_of_one_process(book: Any) -> None:
    """4,050 paths in 41 blocks (the last of 50) on two workers (tasks of two blocks, then
    single ones): every per-path array is that of one process, bit for bit, and lies in
    the shared mapping (the workers did not send it)."""
    base = {"paths": 4_050, "seed": 6, "horizon_days": N_STEPS, "block_size": 100}
    one = run(LOADED, RunConfig(**base, workers=1), portfolio=book)  # type: ignore[arg-type]
    two = run(LOADED, RunConfig(**base, workers=2), portfolio=book)  # type: ignore[arg-type]
    assert two.engine["workers"] == 2
    kept_one, kept_two = kept_arrays(one.summary), kept_arrays(two.summary)
    assert (("portfolio", "exact") in kept_two) == (book is not None)
    assert kept_one.keys() == kept_two.keys()
    for key, value in kept_two.items():
        np.testing.assert_array_equal(value, kept_one[key], err_msg=str(key))
        base_of = value
        while isinstance(base_of, np.ndarray):
            base_of = base_of.base
        assert isinstance(base_of, memoryview), key  # np.frombuffer's view of the mapping
        assert isinstance(base_of.obj, mmap.mmap), key
