"""Engine: reproducibility, block merging, event counts, and the shipped scenarios' ordering."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from conftest import SCENARIOS, event, q
from threadpoolctl import threadpool_info

import simulator.engine as engine
from simulator.engine import (
    TAIL_WORKERS,
    MergeTree,
    RunConfig,
    block_sizes,
    fan_days,
    run,
    run_block,
    run_blocks,
    task_blocks,
    task_spans,
)
from simulator.errors import InputError, RuntimeFailure
from simulator.scenario import load_scenario

Rows = dict[tuple[str, int, str], tuple[float, float]]


def rows_of(result: Any) -> Rows:
    out: Rows = {}
    for series in result.summary.series.values():
        for name, h, stat, value, se in series.rows():
            out[(name, h, stat)] = (value, se)
    return out


def load(write_scenario: Any, overrides: dict[str, Any] | None = None, name: str = "s.yaml"):
    return load_scenario(write_scenario(overrides, name=name))


EVENTS = {
    "a": event(
        0.3, 2, risk_premium={"size": q(5.0, "USD/bbl"), "half_life": q(10, "trading days")}
    ),
    "b": event(
        0.5, 3, requires=["a"], supply={"change": q(-1.0, "mb/d"), "profile": {"shape": "step"}}
    ),
    "c": event(0.4, 2, excludes=["a"], stressed_for=q(5, "trading days")),
    "late": event(
        0.6, {"dist": "uniform", "low": 0, "high": 40, "unit": "trading days", "rationale": "abc"}
    ),
}


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_rows(write_scenario: Any) -> None:
    loaded = load(write_scenario, {"events": EVENTS})
    config = RunConfig(paths=2_000, seed=42, block_size=700)
    first, second = run(loaded, config), run(loaded, config)
    assert rows_of(first) == rows_of(second)
    np.testing.assert_array_equal(first.summary.events.occurred, second.summary.events.occurred)


def test_different_seed_different_rows(write_scenario: Any) -> None:
    loaded = load(write_scenario, {"events": EVENTS})
    a = rows_of(run(loaded, RunConfig(paths=2_000, seed=1)))
    b = rows_of(run(loaded, RunConfig(paths=2_000, seed=2)))
    assert a.keys() == b.keys()
    assert a[("brent", 20, "mean")] != b[("brent", 20, "mean")]
    assert a[("brent", 20, "p50")] != b[("brent", 20, "p50")]


def test_blocks_computed_in_any_order_merge_to_the_run(write_scenario: Any) -> None:
    loaded = load(write_scenario, {"events": EVENTS})
    result = run(loaded, RunConfig(paths=2_500, seed=9, block_size=1_000))
    s = loaded.scenario
    sizes = block_sizes(2_500, 1_000)
    assert sizes == [1_000, 1_000, 500]
    # Each block is a pure function of (seed, block index): compute them last first.
    parts = {
        b: run_block(s, 9, b, n, s.horizon_days, s.horizons(), True)
        for b, n in reversed(list(enumerate(sizes)))
    }
    total = parts[0].merge(parts[1]).merge(parts[2])
    assert total.n_paths == 2_500
    mine = total.series["brent"].rows()
    assert mine == result.summary.series["brent"].rows()
    np.testing.assert_array_equal(total.events.occurred, result.summary.events.occurred)


@pytest.mark.parametrize(
    ("n_blocks", "workers", "per_task"),
    [
        (1, 1, 1),
        (15, 1, 1),
        (16, 1, 2),
        (31, 1, 2),
        (32, 1, 4),
        (63, 2, 2),
        (64, 2, 4),
        (40, 3, 1),
        (200, 8, 2),
        (200, 64, 1),
        (10_000, 64, 4),
    ],
)
def test_task_blocks_leave_each_worker_eight_tasks_where_blocks_allow(
    n_blocks: int, workers: int, per_task: int
) -> None:
    assert task_blocks(n_blocks, workers) == per_task


class Label:
    """A stand-in summary whose merges spell out the tree they were made in."""

    def __init__(self, text: str) -> None:
        self.text = text

    def merge(self, other: Label, in_place: bool = False) -> Label:
        return Label(f"({self.text}+{other.text})")


def tree_of(n_blocks: int, per_task: int, spans: list[tuple[int, int]] | None = None) -> str:
    """The merge tree of ``n_blocks`` blocks given to a MergeTree in tasks of ``per_task``
    (or the tasks ``spans``, as ``(first, count)``), each task merged by a MergeTree of its
    own (as run_blocks does in a worker)."""
    tree = MergeTree()
    if spans is None:
        spans = [(f, min(per_task, n_blocks - f)) for f in range(0, n_blocks, per_task)]
    for first, count in spans:
        task = MergeTree(first)
        for b in range(first, first + count):
            task.add(b, 1, Label(str(b)))  # type: ignore[arg-type]
        tree.add(first, count, task.result())
    return tree.result().text  # type: ignore[attr-defined]


def test_merge_tree_pairs_neighbours_within_groups_of_four() -> None:
    assert tree_of(1, 1) == "0"
    assert tree_of(3, 1) == "((0+1)+2)"
    assert tree_of(4, 1) == "((0+1)+(2+3))"
    assert tree_of(7, 1) == "(((0+1)+(2+3))+((4+5)+6))"
    assert tree_of(10, 1) == "((((0+1)+(2+3))+((4+5)+(6+7)))+(8+9))"


@pytest.mark.parametrize("n_blocks", [1, 2, 3, 5, 6, 7, 8, 9, 13, 40, 41, 42, 43])
def test_merge_tree_is_the_same_for_every_task_size(n_blocks: int) -> None:
    assert tree_of(n_blocks, 2) == tree_of(n_blocks, 1) == tree_of(n_blocks, 4)


def test_task_spans_end_a_run_of_several_workers_in_single_blocks() -> None:
    # 80 blocks, 2 workers: tasks of 4, and the last two tasks' worth one block at a time.
    assert task_spans(80, 2) == [(i, 4) for i in range(0, 72, 4)] + [(i, 1) for i in range(72, 80)]
    # 42 blocks, 2 workers: tasks of 2 (the tail of 4 singles includes the last, incomplete
    # group); one worker: tasks of 4, the last one the incomplete group of 2.
    assert task_spans(42, 2) == [(i, 2) for i in range(0, 38, 2)] + [(i, 1) for i in range(38, 42)]
    assert task_spans(42, 1) == [(i, 4) for i in range(0, 40, 4)] + [(40, 2)]
    assert task_spans(41, 3) == [(i, 1) for i in range(41)]
    # 64 workers: single blocks for TAIL_WORKERS of them only (the parent merges each).
    assert task_blocks(10_000, 64) == 4
    singles = [first for first, n in task_spans(10_000, 64) if n == 1]
    assert singles == list(range(10_000 - 4 * TAIL_WORKERS, 10_000))


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
@pytest.mark.parametrize("n_blocks", [1, 2, 3, 5, 9, 13, 31, 32, 33, 64, 66, 67, 200, 203])
def test_task_spans_cover_the_blocks_as_subtrees_of_the_merge_tree(
    n_blocks: int, workers: int
) -> None:
    spans = task_spans(n_blocks, workers)
    assert [first for first, _ in spans] == list(
        itertools.accumulate([0] + [n for _, n in spans[:-1]])
    )
    assert sum(n for _, n in spans) == n_blocks
    assert all(n > 0 for _, n in spans)
    per_task = task_blocks(n_blocks, workers)
    assert {n for _, n in spans} <= {per_task, 1} | {n_blocks % per_task}
    if workers > 1:  # every block of the last tasks' worth runs alone
        tail = n_blocks - min(workers, TAIL_WORKERS) * per_task
        assert all(n == 1 for first, n in spans if first >= tail)
    assert tree_of(n_blocks, 1, spans) == tree_of(n_blocks, 1)


def test_merge_tree_needs_a_block() -> None:
    with pytest.raises(ValueError, match=r"^no blocks were added$"):
        MergeTree().result()


@pytest.mark.parametrize(
    "pieces",
    [
        [(0, 3), (3, 1)],  # a partial group must be the last piece
        [(0, 1), (1, 2)],  # a pair must start on an even block
        [(0, 2), (3, 1)],  # block 2 is missing
        [(0, 8)],  # wider than a group
        [(1, 1)],  # not the first block
    ],
)
def test_merge_tree_refuses_pieces_that_are_not_its_subtrees(
    pieces: list[tuple[int, int]],
) -> None:
    tree = MergeTree()
    *accepted, (first, count) = pieces
    for f, c in accepted:
        tree.add(f, c, Label(str(f)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not come next in the merge tree"):
        tree.add(first, count, Label(str(first)))  # type: ignore[arg-type]


def test_tasks_of_blocks_merge_in_the_fixed_tree(write_scenario: Any) -> None:
    """A run of 40 blocks in one process is 10 tasks of 4, each merged where it ran;
    computed here block by block in the same tree."""
    loaded = load(write_scenario, {"events": EVENTS})
    s = loaded.scenario
    assert task_blocks(40, 1) == 4
    result = run(loaded, RunConfig(paths=4_000, seed=9, block_size=100))
    parts = [run_block(s, 9, b, 100, s.horizon_days, s.horizons(), True) for b in range(40)]
    groups = [
        parts[i].merge(parts[i + 1]).merge(parts[i + 2].merge(parts[i + 3]))
        for i in range(0, 40, 4)
    ]
    total = groups[0]
    for group in groups[1:]:
        total = total.merge(group)
    assert total.series["brent"].rows() == result.summary.series["brent"].rows()
    np.testing.assert_array_equal(total.events.occurred, result.summary.events.occurred)
    args = [(s, 9, b, 100, s.horizon_days, s.horizons(), True) for b in range(40)]
    three = run_blocks(args[4:7])
    by_hand = parts[4].merge(parts[5]).merge(parts[6])
    assert three.series["brent"].rows() == by_hand.series["brent"].rows()
    # Merged counts are int64 in-process; sent to a parent, as narrow as a block's.
    assert three.series["brent"].fan.counts.dtype == np.int64
    sent = run_blocks(args[4:7], to_send=True)
    assert sent.series["brent"].fan.counts.dtype == np.uint16
    assert sent.series["brent"].rows() == three.series["brent"].rows()


def test_common_random_numbers_across_scenarios(write_scenario: Any) -> None:
    # An event that moves only the risk-off factor leaves every Brent draw unchanged.
    plain = load(write_scenario, {"events": EVENTS}, name="plain.yaml")
    extra = load(
        write_scenario,
        {
            "events": {
                **EVENTS,
                "scare": event(
                    0.5,
                    3,
                    risk_off={"size": q(1.0, "risk-off units"), "half_life": q(5, "trading days")},
                ),
            }
        },
        name="x.yaml",
    )
    config = RunConfig(paths=1_500, seed=3)
    assert rows_of(run(plain, config)) == rows_of(run(extra, config))


# --------------------------------------------------------------------------- event counts


def test_event_frequencies_in_a_run(write_scenario: Any) -> None:
    n = 20_000
    result = run(load(write_scenario, {"events": EVENTS}), RunConfig(paths=n, seed=11))
    counts = result.summary.events
    assert counts.names == ["a", "b", "c", "late"]
    occ = dict(zip(counts.names, counts.occurred.tolist(), strict=True))
    elig = dict(zip(counts.names, counts.eligible.tolist(), strict=True))
    within = dict(zip(counts.names, counts.within_horizon.tolist(), strict=True))

    def ok(k: int, m: int, p: float) -> bool:
        return abs(k / m - p) < 4 * math.sqrt(p * (1 - p) / m)

    assert elig["a"] == n
    assert ok(occ["a"], n, 0.3)
    assert elig["b"] == occ["a"]
    assert ok(occ["b"], elig["b"], 0.5)
    assert elig["c"] == n - occ["a"]  # excluded where a happened (same day)
    assert ok(occ["c"], elig["c"], 0.4)
    assert ok(occ["late"], n, 0.6)
    # Timing uniform on [0, 40] and a 20-day horizon: half of the events fall inside it.
    assert ok(within["late"], n, 0.3)
    assert within["a"] == occ["a"]
    assert (counts.within_horizon <= counts.occurred).all()


def test_no_regimes_no_stress(write_scenario: Any) -> None:
    result = run(load(write_scenario), RunConfig(paths=500, seed=1))
    assert result.summary.stressed_share == 0.0


def test_forced_stress_counts_in_the_stressed_share(write_scenario: Any) -> None:
    loaded = load(
        write_scenario, {"events": {"e": event(1.0, 1, stressed_for=q(5, "trading days"))}}
    )
    result = run(loaded, RunConfig(paths=300, seed=1))
    assert result.summary.stressed_share == pytest.approx(5 / 20)


def test_an_event_ending_stress_calms_the_regime(write_scenario: Any) -> None:
    # A chain that starts stressed and cannot re-enter stress: calm from the event on.
    regimes = {
        "model": "markov",
        "calm_to_stressed": q(0.0, "per day"),
        "stressed_duration": q(1e6, "trading days"),
        "vol_multiplier": q(2.0, "multiplier"),
        "initial_stressed": q(1.0, "probability"),
    }
    calming = {"e": event(1.0, 6, ends_stress=q(1.0, "probability"))}
    for events, share in (({}, 1.0), (calming, 5 / 20)):
        loaded = load(write_scenario, {"oil": {"regimes": regimes}, "events": events})
        result = run(loaded, RunConfig(paths=300, seed=1))
        assert result.summary.stressed_share == pytest.approx(share)


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            RunConfig(paths=0, seed=1),
            "--paths must be between 100 and 100,000,000, got 0 (fewer paths give no usable "
            "standard errors)",
        ),
        (
            RunConfig(paths=99, seed=1),
            "--paths must be between 100 and 100,000,000, got 99 (fewer paths give no usable "
            "standard errors)",
        ),
        (
            RunConfig(paths=100, seed=1, horizon_days=0),
            "--horizon must be between 1 and 2520 trading days, got 0",
        ),
        (
            RunConfig(paths=100, seed=1, horizon_days=2521),
            "--horizon must be between 1 and 2520 trading days, got 2521",
        ),
        (
            RunConfig(paths=100, seed=1, block_size=0),
            "block size must be between 1 and 1,000,000, got 0",
        ),
        (RunConfig(paths=100, seed=-1), "--seed must be a non-negative integer, got -1"),
    ],
)
def test_invalid_config(config: RunConfig, message: str) -> None:
    with pytest.raises(InputError) as info:
        config.validated()
    assert str(info.value) == message
    assert info.value.exit_code == 2


def test_seed_none_is_drawn_and_recorded(write_scenario: Any) -> None:
    result = run(load(write_scenario), RunConfig(paths=100, seed=None))
    assert isinstance(result.config.seed, int)
    assert result.config.seed >= 0


def test_horizon_override_and_dates(write_scenario: Any) -> None:
    result = run(load(write_scenario), RunConfig(paths=100, seed=1, horizon_days=7))
    assert result.n_steps == 7
    assert result.horizons == [5, 7]
    assert {h for _, h, _ in rows_of(result)} == {5, 7}
    dates = result.dates()
    assert dates.shape == (8,)
    assert str(dates[0]) == "2026-02-06"  # a Friday
    assert str(dates[1]) == "2026-02-09"
    assert np.is_busday(dates).all()


def test_fan_days_include_the_horizons() -> None:
    days = fan_days(1000, [5, 21, 63, 126, 1000])
    assert days[0] == 0
    assert days[-1] == 1000
    assert {5, 21, 63, 126} <= set(days.tolist())
    assert len(days) <= 260 + 5
    np.testing.assert_array_equal(fan_days(10, [10]), np.arange(11))


def test_exploding_price_is_a_runtime_failure(write_scenario: Any) -> None:
    loaded = load(
        write_scenario,
        {
            "horizon_days": 2520,
            "report_horizons_days": [2520],
            "oil": {"long_term": {"vol": q(5.0, "annualised")}},
        },
    )
    with pytest.raises(RuntimeFailure, match=r"Brent left the range \(0, 1e6\) USD/bbl"):
        run(loaded, RunConfig(paths=200, seed=1))


def test_mean_matches_the_closed_form_without_events(write_scenario: Any) -> None:
    # Normal innovations, no regimes, no jumps, no events: log Brent at t is normal with
    # mean ln(spot) + mu t and the two-factor variance, so E[Brent] = spot exp(mu t + v/2).
    n, t = 20_000, 20
    result = run(
        load(write_scenario, {"oil": {"long_term": {"drift": q(0.2, "per year")}}}),
        RunConfig(paths=n, seed=5),
    )
    kappa, phi = math.log(2) * 252 / 20, 2 ** (-1 / 20)
    v = 0.25**2 * (1 - phi ** (2 * t)) / (2 * kappa) + 0.15**2 * t / 252
    mean, se = rows_of(result)[("brent", t, "mean")]
    assert abs(mean - 70 * math.exp(0.2 * t / 252 + v / 2)) < 4 * se
    median, se_median = rows_of(result)[("brent", t, "p50")]
    assert abs(median - 70 * math.exp(0.2 * t / 252)) < 4 * se_median


# --------------------------------------------------------------------------- shipped scenarios


SHIPPED_PATHS = 10_000
SHIPPED_SEED = 20260206


@pytest.fixture(scope="module")
def shipped_results() -> Any:
    """Runs of the shipped scenarios, one per name, shared by the tests of this module."""
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            path: Path = SCENARIOS / f"{name}.yaml"
            if not path.is_file():
                pytest.skip(f"scenarios/{name}.yaml is not in the repository yet")
            cache[name] = run(
                load_scenario(path), RunConfig(paths=SHIPPED_PATHS, seed=SHIPPED_SEED)
            )
        return cache[name]

    return get


@pytest.fixture(scope="module")
def shipped(shipped_results: Any) -> Any:
    return lambda name: rows_of(shipped_results(name))


def stat(rows: Rows, h: int, name: str) -> tuple[float, float]:
    return rows[("brent", h, name)]


def greater(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` exceeds ``b`` by more than four combined standard errors."""
    return a[0] - b[0] > 4 * math.hypot(a[1], b[1])


@pytest.mark.parametrize("name", ["baseline", "deal_reached", "talks_fail", "sanctions_lifted"])
def test_shipped_scenario_runs(shipped: Any, name: str) -> None:
    rows = shipped(name)
    for h in (5, 21, 63, 126):
        q05, q50, q95 = (stat(rows, h, s)[0] for s in ("p05", "p50", "p95"))
        assert 0 < q05 < q50 < q95
        assert all(math.isfinite(v) and math.isfinite(se) for v, se in rows.values())


def test_talks_fail_above_baseline_above_deal(shipped: Any) -> None:
    base, fail, deal = shipped("baseline"), shipped("talks_fail"), shipped("deal_reached")
    assert greater(stat(fail, 126, "p50"), stat(base, 126, "p50"))
    assert greater(stat(base, 126, "p50"), stat(deal, 126, "p50"))


def test_sanctions_lifted_below_baseline(shipped: Any) -> None:
    assert greater(
        stat(shipped("baseline"), 126, "p50"), stat(shipped("sanctions_lifted"), 126, "p50")
    )


def test_talks_fail_wider_than_baseline(shipped: Any) -> None:
    def width(rows: Rows) -> tuple[float, float]:
        (lo, se_lo), (hi, se_hi) = stat(rows, 126, "p05"), stat(rows, 126, "p95")
        return hi - lo, math.hypot(se_lo, se_hi)

    assert greater(width(shipped("talks_fail")), width(shipped("baseline")))


def test_sanctions_gap_grows_with_the_horizon(shipped: Any, shipped_results: Any) -> None:
    """Iranian barrels arrive over months: the discount to the baseline widens from one month
    to six. Measured on paired paths (same seed: the scenarios share their market draws), so
    the standard error is that of the per-path change in the gap."""
    base, sanc = shipped("baseline"), shipped("sanctions_lifted")
    assert stat(base, 21, "p50")[0] > stat(sanc, 21, "p50")[0]
    at = {}
    for name in ("baseline", "sanctions_lifted"):
        result = shipped_results(name)
        exact = result.summary.series["brent"].exact
        assert exact is not None
        at[name] = np.log(exact[:, [result.horizons.index(21), result.horizons.index(126)]])
    gap = at["baseline"] - at["sanctions_lifted"]  # log discount per path, (n, 2)
    growth = gap[:, 1] - gap[:, 0]
    assert growth.mean() > 4 * growth.std(ddof=1) / math.sqrt(growth.size)


def test_compiled_and_numpy_kernels_give_the_same_statistics_to_rounding() -> None:
    """The two forms of the per-path loops agree on every statistic of a shipped scenario
    with events, offsets and assets, to rounding (1e-9 relative); the run records which
    form it used."""
    loaded = load_scenario(SCENARIOS / "talks_fail.yaml")
    config = {"paths": 2_000, "seed": 4, "horizon_days": 63, "block_size": 1_000}
    fast = run(loaded, RunConfig(**config, compiled=True))  # type: ignore[arg-type]
    slow = run(loaded, RunConfig(**config, compiled=False))  # type: ignore[arg-type]
    assert (fast.engine["kernels"], slow.engine["kernels"]) == ("numba", "numpy")
    for name, series in fast.summary.series.items():
        for a, b in zip(series.rows(), slow.summary.series[name].rows(), strict=True):
            assert a[:3] == b[:3]
            assert a[3] == pytest.approx(b[3], rel=1e-9, abs=1e-12), a
    assert fast.summary.daily is not None
    assert slow.summary.daily is not None
    np.testing.assert_allclose(
        fast.summary.daily.correlation(), slow.summary.daily.correlation(), atol=1e-12
    )


def test_a_block_runs_with_one_blas_thread(
    write_scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are thin matrix products: BLAS threads would only compete with the workers."""
    seen: list[int] = []
    real = engine.simulate_oil

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "simulate_oil", spy)
    # The pools are looked up once per process; look again, so that BLAS libraries other
    # tests loaded since (scipy's) are among them, as they are when a run starts.
    engine._threadpools.cache_clear()
    loaded = load(write_scenario)
    for _ in range(2):  # the cached pool lookup limits the second block too
        run_block(loaded.scenario, 1, 0, 10, 5, [5], False)
    if not seen:
        pytest.skip("numpy here has no BLAS library threadpoolctl can see")
    assert set(seen) == {1}


def test_first_passage_matches_the_barrier_formula(write_scenario: Any) -> None:
    """With the short-term factor switched off, log Brent is a Brownian motion with drift
    observed at daily closes. Its running maximum has a closed form (reflection principle),
    and the Broadie-Glasserman-Kou shift of the barrier by 0.5826 sigma sqrt(dt) accounts
    for monitoring once a day."""
    mu, sigma, spot, barrier, n = 0.1, 0.3, 70.0, 80.0, 40_000
    result = run(
        load(
            write_scenario,
            {
                "horizon_days": 60,
                "report_horizons_days": [20, 60],
                "report": {"brent_thresholds": [barrier]},
                "oil": {
                    "short_term": {"vol": q(0.0, "annualised")},
                    "long_term": {"drift": q(mu, "per year"), "vol": q(sigma, "annualised")},
                },
            },
        ),
        RunConfig(paths=n, seed=11),
    )
    rows = rows_of(result)
    for h in (20, 60):
        t = h / 252
        b = math.log(barrier / spot) + 0.5826 * sigma * math.sqrt(1 / 252)
        s = sigma * math.sqrt(t)
        phi = NormalDist().cdf
        expected = phi((mu * t - b) / s) + math.exp(2 * mu * b / sigma**2) * phi((-b - mu * t) / s)
        p, se = rows[("brent", h, f"prob_ever_above_{barrier:g}")]
        assert abs(p - expected) < 4 * se, (h, p, expected, se)
        # The barrier is crossed on the way more often than it is ended above.
        assert p > rows[("brent", h, f"prob_above_{barrier:g}")][0] + 4 * se
