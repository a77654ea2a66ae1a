"""The Monte Carlo engine: scenario in, merged statistics out.

``run`` splits the paths into fixed-size blocks; block ``i`` draws only from child ``i`` of
the run's SeedSequence (:class:`~simulator.streams.Streams`), is simulated and reduced at
once (:func:`run_block`), and the block summaries are merged in block order, in a fixed
tree (:class:`MergeTree`). Blocks are scheduled in tasks of 1, 2 or 4 consecutive blocks
(:func:`task_spans`), each merged where it ran as the tree would, so a worker sends one
summary per task; every sum is the same in one process, in several and on a cluster.
This is the only module that creates random generators.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import dataclasses
import datetime as dt
import functools
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from simulator import kernels, processes
from simulator import scenario as sc
from simulator.assets import simulate_assets
from simulator.errors import InputError, SimulationFailure
from simulator.events import EventDraws, apply_offsets, draw_events, supply_to_log_price
from simulator.interrupts import signals_held
from simulator.portfolio import LoadedPortfolio, PortfolioSummary, position_pnl
from simulator.reduce import EXACT_BUDGET_VALUES, CrossMoments, SeriesSpec, SeriesSummary
from simulator.shared_rows import Key, SharedRows
from simulator.streams import Streams, normalise_seed

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_PATHS",
    "BlockSummary",
    "EventCounts",
    "MergeTree",
    "OilPaths",
    "RunConfig",
    "RunResult",
    "fan_days",
    "kept_row_shapes",
    "max_exact_paths",
    "run",
    "run_block",
    "run_blocks",
    "simulate_oil",
    "task_blocks",
    "task_spans",
    "uses_compiled",
]

DEFAULT_PATHS = 20_000
DEFAULT_BLOCK_SIZE = 5_000
MAX_PATHS = 100_000_000
#: Fewer paths give no usable standard errors (a 5% quantile from a handful of values).
MIN_PATHS = 100
N_SAMPLE_PATHS = 8
MAX_FAN_DATES = 64


@dataclass(frozen=True)
class RunConfig:
    """What to run.

    Attributes
    ----------
    paths
        Number of Monte Carlo paths.
    seed
        Root seed; ``None`` draws one from the OS (and records it).
    horizon_days
        Trading days to simulate; ``None`` uses the scenario's ``horizon_days``.
    block_size
        Paths per block. Results depend on it (it fixes which paths share a stream), so it
        is recorded in the manifest; they do not depend on how blocks are scheduled.
    workers
        Local processes running blocks in parallel (1: in this process); with
        ``scheduler="local"``, the number of workers of the local Dask cluster.
    scheduler
        ``None`` (this machine), ``"local"`` (start a Dask LocalCluster) or the address
        of a running Dask scheduler, ``tcp://HOST:PORT``.
    compiled
        Run the per-path loops compiled with numba (``True``) or in numpy (``False``);
        ``None``: compiled from :data:`simulator.kernels.COMPILED_MIN_PATHS` paths up, where
        it repays numba's start-up. Results agree to rounding, not bit for bit.
    """

    paths: int = DEFAULT_PATHS
    seed: int | None = None
    horizon_days: int | None = None
    block_size: int = DEFAULT_BLOCK_SIZE
    workers: int = 1
    scheduler: str | None = None
    compiled: bool | None = None

    def validated(self) -> RunConfig:
        """A copy with the seed fixed; raises :class:`InputError` on impossible values."""
        if not MIN_PATHS <= self.paths <= MAX_PATHS:
            raise InputError(
                f"--paths must be between {MIN_PATHS} and {MAX_PATHS:,}, got {self.paths} "
                "(fewer paths give no usable standard errors)"
            )
        if self.horizon_days is not None and not 1 <= self.horizon_days <= 2520:
            raise InputError(
                f"--horizon must be between 1 and 2520 trading days, got {self.horizon_days}"
            )
        if not 1 <= self.block_size <= 1_000_000:
            raise InputError(f"block size must be between 1 and 1,000,000, got {self.block_size}")
        if self.seed is not None and self.seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {self.seed}")
        if not 1 <= self.workers <= 256:
            raise InputError(f"--workers must be between 1 and 256, got {self.workers}")
        if self.scheduler not in (None, "local") and not self.scheduler.startswith(
            ("tcp://", "tls://", "inproc://", "ucx://")
        ):
            raise InputError(
                f"--scheduler must be an address like tcp://HOST:PORT, got '{self.scheduler}'"
            )
        return dataclasses.replace(self, seed=normalise_seed(self.seed))


@dataclass
class OilPaths:
    """Simulated Brent paths of one block and their components.

    Arrays of days have shape ``(n_paths, n_steps + 1)``; of steps ``(n_paths, n_steps)``.

    Attributes
    ----------
    spot
        As-of price, USD/bbl, ``(n_paths,)``.
    log_price
        Log of Brent, USD/bbl.
    ordinary
        Short- plus long-term factor (with background jumps): oil's ordinary moves, log.
    ordinary_shock
        Each step's ordinary shock (diffusion of both factors plus jumps, without drift
        or mean reversion), log, ``(n_paths, n_steps)``.
    shock_sd
        Calm-regime standard deviation of ``ordinary_shock`` per path, ``(n_paths,)``.
    premium
        Event risk premia, log.
    supply
        Price effect of the net supply change, log.
    net_supply
        Net supply change after offsets, mb/d.
    risk_off
        Level of the event-driven risk-off factor, risk-off units.
    stressed
        Regime of each step, bool.
    events
        The block's event draws (for event frequencies).
    """

    spot: np.ndarray
    log_price: np.ndarray
    ordinary: np.ndarray
    ordinary_shock: np.ndarray
    shock_sd: np.ndarray
    premium: np.ndarray
    supply: np.ndarray
    net_supply: np.ndarray
    risk_off: np.ndarray
    stressed: np.ndarray
    events: EventDraws

    @property
    def event_driven(self) -> np.ndarray:
        """Supply-driven part of oil's log move: premia plus physical supply, ``(n, T + 1)``."""
        return self.premium + self.supply


def simulate_oil(scenario: sc.Scenario, streams: Streams, n_paths: int, n_steps: int) -> OilPaths:
    """Simulate Brent for one block.

    Parameters
    ----------
    scenario
        The validated scenario.
    streams
        The block's random streams.
    n_paths, n_steps
        Paths in the block and daily steps.
    """
    oil = scenario.oil
    spot = oil.spot.sample(streams.get("params.oil.spot"), n_paths)
    short = processes.build(oil.short_term, streams.get("params.oil.short_term"), n_paths)
    long_ = processes.build(oil.long_term, streams.get("params.oil.long_term"), n_paths)
    rho = oil.factor_correlation.sample(streams.get("params.oil.factor_correlation"), n_paths)
    innovations = processes.build(oil.innovations, streams.get("params.oil.innovations"), n_paths)
    regimes = processes.build(oil.regimes, streams.get("params.oil.regimes"), n_paths)
    jumps = processes.build(oil.jumps, streams.get("params.oil.jumps"), n_paths)
    phys_rng = streams.get("params.physical")
    demand = scenario.physical.world_demand.sample(phys_rng, n_paths)
    eps_s = scenario.physical.supply_elasticity.sample(phys_rng, n_paths)
    eps_d = scenario.physical.demand_elasticity.sample(phys_rng, n_paths)

    events = draw_events(scenario, streams, n_paths, n_steps, spot)
    net, _ = apply_offsets(scenario, streams, events)
    supply = supply_to_log_price(net, demand, eps_s, eps_d)

    stressed = regimes.simulate(
        streams.get("oil.regimes"), events.forced_stress, events.forced_calm
    )
    multiplier = regimes.multiplier(stressed)
    z = np.empty((2, n_paths, n_steps))
    # Student-t shocks: their factor is applied as oil_paths reads them.
    factor = innovations.draw_factored(streams.get("oil.shocks"), z)
    jump_sum = jumps.simulate(streams.get("oil.jumps"), stressed)
    sd_long = long_.vol / math.sqrt(processes.DAYS_PER_YEAR)
    log_price, ordinary, ordinary_shock, low, high = kernels.oil_paths(
        z,
        rho,
        multiplier,
        jump_sum,
        short.step_sd,
        short.phi,
        sd_long,
        long_.drift / processes.DAYS_PER_YEAR,
        events.premium_log,
        supply,
        np.log(spot),
        factor,
    )
    # Calm-day standard deviation of the ordinary shock (for the assets' betas).
    shock_sd = np.sqrt(
        short.step_sd**2
        + sd_long**2
        + 2.0 * rho * short.step_sd * sd_long
        + jumps.calm_variance_per_day()
    )
    if not (high <= math.log(1e6) and low > -math.inf):  # NaN fails both
        raise SimulationFailure(
            "Brent left the range (0, 1e6) USD/bbl on some path: check oil.long_term.drift, "
            "the volatilities and oil.jumps.size"
        )
    return OilPaths(
        spot=spot,
        log_price=log_price,
        ordinary=ordinary,
        ordinary_shock=ordinary_shock,
        shock_sd=shock_sd,
        premium=events.premium_log,
        supply=supply,
        net_supply=net,
        risk_off=events.risk_off,
        stressed=stressed,
        events=events,
    )


@dataclass
class EventCounts:
    """How often each event's conditions held and it happened, summed over blocks.

    Arrays have shape ``(n_events,)`` in ``names`` order.
    """

    names: list[str]
    eligible: np.ndarray
    occurred: np.ndarray
    within_horizon: np.ndarray

    def merge(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            self.names,
            self.eligible + other.eligible,
            self.occurred + other.occurred,
            self.within_horizon + other.within_horizon,
        )


@dataclass
class BlockSummary:
    """Everything a block contributes to the run's statistics.

    ``daily`` holds cross moments of the daily moves of Brent (log) and each asset (log,
    or bp for yields), in that order, for the simulated correlation matrix.
    """

    n_paths: int
    series: dict[str, SeriesSummary]
    events: EventCounts
    stressed_share: float
    daily: CrossMoments | None = None
    portfolio: PortfolioSummary | None = None

    def merge(self, other: BlockSummary, in_place: bool = False) -> BlockSummary:
        """Both blocks' statistics; ``in_place`` lets ``self``'s arrays be updated rather
        than copied (for a running total that nothing else holds)."""
        n = self.n_paths + other.n_paths
        return BlockSummary(
            n_paths=n,
            series={k: v.merge(other.series[k], in_place) for k, v in self.series.items()},
            events=self.events.merge(other.events),
            daily=None
            if self.daily is None or other.daily is None
            else self.daily.merge(other.daily),
            portfolio=None
            if self.portfolio is None or other.portfolio is None
            else self.portfolio.merge(other.portfolio),
            stressed_share=(
                self.stressed_share * self.n_paths + other.stressed_share * other.n_paths
            )
            / n,
        )


def fan_days(n_steps: int, horizons: list[int]) -> np.ndarray:
    """Day indices for the fan chart: every day up to ``MAX_FAN_DATES`` dates, plus horizons."""
    stride = max(1, math.ceil(n_steps / (MAX_FAN_DATES - 1)))
    days = set(range(0, n_steps + 1, stride)) | {n_steps} | set(horizons)
    return np.array(sorted(days))


def series_specs(scenario: sc.Scenario) -> list[SeriesSpec]:
    """The series summarised for a scenario: Brent, then each asset."""
    spot = float(scenario.oil.spot.mean())
    thresholds = sorted(scenario.report.brent_thresholds)
    specs = [
        SeriesSpec(
            name="brent",
            unit="USD/bbl",
            start=spot,
            kind="log",
            thresholds_above=tuple(t for t in thresholds if t >= spot),
            thresholds_below=tuple(t for t in thresholds if t < spot),
            first_passage=True,
        )
    ]
    for name, asset in scenario.assets.items():
        start = float(asset.start.mean())
        if asset.kind == "yield":
            specs.append(
                SeriesSpec(
                    name=name,
                    unit="percent",
                    start=start,
                    kind="linear",
                    thresholds_above=(start + 0.5,),
                    thresholds_below=(start - 0.5,),
                    above_names=("prob_up_50bp",),
                    below_names=("prob_down_50bp",),
                )
            )
        else:
            specs.append(
                SeriesSpec(
                    name=name,
                    unit=asset.start.unit,
                    start=start,
                    kind="log",
                    thresholds_above=(start * 1.1,),
                    thresholds_below=(start * 0.9,),
                    above_names=("prob_up_10pct",),
                    below_names=("prob_down_10pct",),
                )
            )
    return specs


def run_block(
    scenario: sc.Scenario,
    seed: int,
    block: int,
    n_paths: int,
    n_steps: int,
    horizons: list[int],
    keep_exact: bool,
    exposures: dict[str, tuple[str, float]] | None = None,
    tail_size: int = 0,
    compiled: bool = False,
) -> BlockSummary:
    """Simulate and reduce one block of paths (a pure function of its arguments).

    ``exposures`` (from :meth:`LoadedPortfolio.exposures`) adds the portfolio's P&L,
    keeping the ``tail_size`` worst paths for VaR and expected shortfall. ``compiled``
    runs the per-path loops of :mod:`simulator.kernels` compiled rather than in numpy
    (same numbers to rounding).

    The block runs with one BLAS thread: its matrix products are thin (a few rows by
    millions of columns), and BLAS threads cost more CPU than they save (measured: 55%
    more CPU and 25% more wall time in one process on 2 cores) and compete with the other
    workers.
    """
    with _threadpools().limit(limits=1, user_api="blas"), kernels.compiled(compiled):
        streams = Streams(seed, block)
        oil = simulate_oil(scenario, streams, n_paths, n_steps)
        assets = simulate_assets(
            scenario,
            streams,
            oil.ordinary_shock,
            oil.shock_sd,
            oil.event_driven,
            oil.risk_off,
            oil.stressed,
            oil_log=oil.log_price,
        )
        specs = series_specs(scenario)
        coords = {"brent": oil.log_price - math.log(specs[0].start), **assets.paths}
        for spec, extreme in zip(specs[1:], assets.extreme, strict=True):
            limit = 50.0 if spec.kind == "log" else 1e6  # a factor e^50, or 10,000 points of yield
            if not extreme <= limit:  # NaN or inf fail too
                raise SimulationFailure(
                    f"assets.{spec.name}: the simulated path left any plausible range (moves "
                    f"beyond {'a factor e^50' if spec.kind == 'log' else '1e6 bp'}); check its "
                    "vol, drift and loadings"
                )
        h = np.array(horizons)
        days = fan_days(n_steps, horizons)
        series = {
            spec.name: SeriesSummary.of_coords(
                spec,
                coords[spec.name],
                h,
                days,
                N_SAMPLE_PATHS if block == 0 else 0,
                keep_exact,
            )
            for spec in specs
        }
        names = list(scenario.events)
        outcomes = [oil.events.outcomes[name] for name in names]
        counts = EventCounts(
            names=names,
            eligible=np.array([o.eligible.sum() for o in outcomes], dtype=np.int64),
            occurred=np.array([o.occurred.sum() for o in outcomes], dtype=np.int64),
            within_horizon=np.array(
                [(o.occurred & (o.day <= n_steps)).sum() for o in outcomes], dtype=np.int64
            ),
        )
        daily = assets.daily if assets.names else None
        book = None
        if exposures:
            cols = [0, *horizons]
            by_name = {spec.name: spec for spec in specs}
            levels = {k: by_name[k].inverse(coords[k][:, cols]) for k in exposures}
            pnl = position_pnl(exposures, levels)
            # Scale of the P&L histogram: notionals, and DV01s times a 1,000 bp move.
            gross = sum(
                abs(v) * (1000.0 if kind == "dv01" else 1.0) for kind, v in exposures.values()
            )
            book = PortfolioSummary.of(list(exposures), h, pnl, tail_size, gross, keep_exact)
        return BlockSummary(n_paths, series, counts, float(oil.stressed.mean()), daily, book)


@dataclass
class RunResult:
    """A finished run: merged statistics and what was run."""

    loaded: sc.LoadedScenario
    config: RunConfig
    n_steps: int
    horizons: list[int]
    summary: BlockSummary
    portfolio: LoadedPortfolio | None
    started: dt.datetime
    finished: dt.datetime
    wall_seconds: float
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> sc.Scenario:
        return self.loaded.scenario

    def dates(self) -> np.ndarray:
        """Business dates of days ``0..n_steps`` from the as-of date, ``datetime64[D]``."""
        start = np.datetime64(self.scenario.as_of, "D")
        return np.busday_offset(start, np.arange(self.n_steps + 1), roll="forward")


def block_sizes(paths: int, block_size: int) -> list[int]:
    """Sizes of the blocks that make up ``paths``: full blocks, then the remainder."""
    full, rest = divmod(paths, block_size)
    return [block_size] * full + ([rest] if rest else [])


#: Blocks form aligned groups of this many, each merged as a balanced binary tree of its
#: blocks in order; the groups are then merged one after another. Tasks are aligned runs of
#: 1, 2 or 4 blocks within a group, or an incomplete last group (see :func:`task_spans`).
MERGE_GROUP = 4

#: Fewest tasks per worker before blocks are grouped into larger tasks.
TASKS_PER_WORKER = 8

#: Most workers whose share of the last blocks :func:`task_spans` sends one block per task:
#: the parent unpickles and merges every task's summary (about 6 ms each on 2 cores), so on
#: a large cluster hundreds of single blocks at the end would make it the bottleneck.
TAIL_WORKERS = 8


def task_blocks(n_blocks: int, workers: int) -> int:
    """Consecutive blocks per task: the largest of 4 and 2 that still gives each worker at
    least :data:`TASKS_PER_WORKER` tasks (so that they share the run evenly), else 1 (with
    fewer than ``2 * TASKS_PER_WORKER`` blocks per worker).

    Each task's summary (a few MB of histograms) costs its pickling, a pipe and its
    unpickling in the parent, which competes with the workers for the cores; a task
    merges its blocks where they ran and sends one summary (measured on 2 cores: 6 ms
    of the parent's CPU per summary received). The size depends on the workers, but the
    results do not: every task is an aligned subtree of the fixed merge tree
    (:class:`MergeTree`), so every floating-point sum is the same in one process, in
    several and on a cluster.
    """
    size = MERGE_GROUP
    while size > 1 and n_blocks < size * TASKS_PER_WORKER * max(1, workers):
        size //= 2
    return size


class MergeTree:
    """Merges block summaries, given in block order, in the run's fixed tree.

    Blocks form aligned groups of :data:`MERGE_GROUP`; within a group, two neighbours of
    the same span merge as soon as both are there and the left one starts on a multiple of
    twice that span (so blocks 0-3 merge as ``(0 + 1) + (2 + 3)``); a group, once whole,
    is added to the running total. A part may be one block or an aligned run of 2 or 4
    already merged the same way (a task's result, :func:`run_blocks`): the outcome is the
    same bit for bit. A last, incomplete group has its pieces merged right to left:
    blocks 0-2 as ``(0 + 1) + 2``; it may also come as one part, merged the same way.
    """

    def __init__(self, start: int = 0) -> None:
        """A tree whose first part starts at block ``start`` (a task's first block)."""
        self.total: BlockSummary | None = None
        self._stack: list[tuple[int, int, BlockSummary]] = []  # (first block, blocks, part)
        self._next = start  # the first block of the next part
        self._last = False  # a last, incomplete group came as one part: nothing may follow

    def add(self, first: int, count: int, part: BlockSummary) -> None:
        """Add the summary of blocks ``first .. first + count - 1`` (the next ones).

        Raises
        ------
        ValueError
            If the blocks are not the next ones, or are not a subtree of the fixed tree: an
            aligned run of 1, 2 or 4 (a power of two up to :data:`MERGE_GROUP`) blocks, or
            a last, incomplete group from its start.
        """
        # A power of two up to a group, starting on a multiple of itself.
        aligned = 0 < count <= MERGE_GROUP and count & (count - 1) == 0 and first % count == 0
        tail = 0 < count < MERGE_GROUP and first % MERGE_GROUP == 0
        if self._last or first != self._next or not (aligned or tail):
            raise ValueError(
                f"blocks {first}..{first + count - 1} do not come next in the merge tree "
                f"(next block {self._next})"
            )
        self._next = first + count
        self._last = not aligned
        stack = self._stack
        stack.append((first, count, part))
        while len(stack) >= 2:
            (f0, n0, a), (_, n1, b) = stack[-2], stack[-1]
            if n0 != n1 or f0 % (2 * n0) or 2 * n0 > MERGE_GROUP:
                break
            stack[-2:] = [(f0, 2 * n0, a.merge(b, in_place=True))]
        if stack[-1][0] + stack[-1][1] == stack[0][0] - stack[0][0] % MERGE_GROUP + MERGE_GROUP:
            self._close()

    def _close(self) -> None:
        if not self._stack:
            return
        group = self._stack[-1][2]
        for _, _, part in reversed(self._stack[:-1]):
            group = part.merge(group, in_place=True)
        self._stack.clear()
        self.total = group if self.total is None else self.total.merge(group, in_place=True)

    def result(self) -> BlockSummary:
        """The merged summary of every block added (closing an incomplete last group)."""
        self._close()
        if self.total is None:
            raise ValueError("no blocks were added")
        return self.total


#: In a local worker forked by :func:`_tasks_in_order`: the run's shared per-path rows, if
#: it keeps exact values (see :mod:`simulator.shared_rows`), set by :func:`_worker_init`.
#: Never set in the parent, so concurrent runs in threads of one process keep their own.
_SHARED_ROWS: SharedRows | None = None


def run_blocks(
    blocks: list[tuple[Any, ...]], to_send: bool = False, shared: bool = False
) -> BlockSummary:
    """Run consecutive blocks (each the arguments of :func:`run_block`, block index third)
    and merge their summaries as :class:`MergeTree` does.

    With ``shared`` (a forked local worker of a run that keeps exact values), the per-path
    arrays are written into the run's :class:`~simulator.shared_rows.SharedRows` rather
    than returned.

    With ``to_send`` (a worker's result, pickled to its parent) the merged fan-chart counts
    (a block's are narrow already) and the portfolio's counts (int64 even for one block)
    are made as narrow as the task's paths allow (uint16 up to 65,535 paths): a quarter of
    their size on the pipe.
    """
    tree = MergeTree(blocks[0][2])
    for args in blocks:
        tree.add(args[2], 1, run_block(*args))
    total = tree.result()
    if to_send and len(blocks) > 1:
        for series in total.series.values():
            series.fan = series.fan.compacted()
    if to_send and total.portfolio is not None:
        total.portfolio = total.portfolio.compacted()
    if shared:
        if _SHARED_ROWS is None:
            raise RuntimeError("this worker does not share the run's memory (not forked)")
        _SHARED_ROWS.put(blocks[0][2], total)
    return total


def _worker_init(shared: SharedRows | None = None) -> None:
    """In a worker process: ignore Ctrl-C (a terminal sends it to the whole process group;
    the parent stops the run) and let SIGTERM end the worker at once (the parent's
    ``terminate()``). A forked worker would otherwise inherit the parent's handlers, or
    the ones :func:`~simulator.interrupts.signals_held` has in place while it forks.

    ``shared`` is the run's shared rows (inherited through the fork, never pickled: a
    mapping cannot be), for :func:`run_blocks`."""
    global _SHARED_ROWS
    _SHARED_ROWS = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def task_spans(n_blocks: int, workers: int) -> list[tuple[int, int]]:
    """The tasks of a run of ``n_blocks`` blocks on ``workers`` workers, as
    ``(first block, blocks)``: :func:`task_blocks` consecutive blocks each, except that
    with several workers the last blocks run one per task: one large task's worth per
    worker (up to :data:`TAIL_WORKERS` workers), plus up to ``task_blocks - 1`` more so
    that the large tasks stay aligned.

    A worker that finishes its last large task while the others are still in theirs then
    takes single blocks, so the workers end within about a block of one another rather
    than a task (measured on 2 cores at 400,000 paths: the first worker to finish used to
    wait 0.04-0.43 s, up to a tenth of the run, for the other's last four blocks). Single
    blocks are subtrees of the merge tree too, so the results do not change.
    """
    per_task = task_blocks(n_blocks, workers)
    split = n_blocks
    if workers > 1 and per_task > 1:  # then n_blocks >= 2 * TASKS_PER_WORKER * workers
        split = n_blocks - min(workers, TAIL_WORKERS) * per_task
        split -= split % per_task  # the large tasks stay aligned
    # One worker: the last task may be an incomplete group, shorter than the others.
    spans = [(i, min(per_task, split - i)) for i in range(0, split, per_task)]
    return spans + [(i, 1) for i in range(split, n_blocks)]


def local_workers(n_blocks: int, workers: int) -> int:
    """Local worker processes a run of ``n_blocks`` uses when ``workers`` are asked for:
    no more than it has tasks (:func:`task_spans`)."""
    return min(workers, len(task_spans(n_blocks, workers)))


def split_tasks(blocks: list[tuple[Any, ...]], workers: int) -> list[list[tuple[Any, ...]]]:
    """The blocks (each the arguments of :func:`run_block`) in the tasks of
    :func:`task_spans` for ``workers`` workers."""
    return [blocks[i : i + n] for i, n in task_spans(len(blocks), workers)]


def _start_method() -> str:
    """How local workers start: ``fork`` where there is one (they then share the parent's
    memory, and its compiled kernels), else ``spawn``."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def kept_row_shapes(
    scenario: sc.Scenario, horizons: list[int], portfolio: bool
) -> dict[Key, tuple[int, ...]]:
    """The per-path arrays a run that keeps exact values holds, by (owner, kind), with the
    shape of one path's row: each series' values at the horizons, its highest and lowest
    closes with first-passage statistics, and the book's P&L (see
    :meth:`SeriesSummary.of_coords` and :meth:`PortfolioSummary.of`). They size the exact
    budget (:func:`max_exact_paths`) and the workers' shared rows."""
    h = len(horizons)
    shapes: dict[Key, tuple[int, ...]] = {}
    for spec in series_specs(scenario):
        shapes[(spec.name, "exact")] = (h,)
        if spec.first_passage:
            shapes[(spec.name, "running")] = (2, h)
    if portfolio:
        shapes[("portfolio", "exact")] = (h,)
    return shapes


def _tasks_in_order(
    blocks: list[tuple[Any, ...]],
    workers: int,
    scheduler: str | None = None,
    shared: SharedRows | None = None,
) -> Iterator[tuple[list[tuple[Any, ...]], BlockSummary]]:
    """Run the blocks in tasks (:func:`split_tasks`, :func:`run_blocks`) on up to
    ``workers`` local processes (at most one per task: see :func:`local_workers`), yielding
    each task and its summary in task order.

    With several workers, at most ``2 * workers`` tasks are in flight, so memory stays
    bounded however many there are. With ``shared`` (made before the workers fork) they
    write the per-path arrays there rather than send them; it needs workers started by
    fork (ValueError otherwise). With a Dask scheduler the tasks run on the cluster (see
    :mod:`simulator.distributed`) and are sized for the workers it has.
    """
    if scheduler is not None:
        from simulator.distributed import dask_blocks

        def plan(n_workers: int) -> list[tuple[Any, ...]]:
            return [(t, True) for t in split_tasks(blocks, n_workers)]

        with contextlib.closing(dask_blocks(run_blocks, plan, scheduler, workers)) as parts:
            for (task, _), part in parts:
                yield task, part
        return
    tasks = split_tasks(blocks, workers)
    workers = min(workers, len(tasks))  # as local_workers
    if workers <= 1:
        for task in tasks:
            yield task, run_blocks(task)
        return
    method = _start_method()
    if shared is not None and method != "fork":
        raise ValueError("shared rows need workers started by fork")
    context = multiprocessing.get_context(method)
    _release_heap()
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(shared,)
    )
    # The workers, as they start: shutdown() forgets them (``_processes`` becomes None).
    workers_of: list[Any] = []
    try:
        pending: dict[int, cf.Future[BlockSummary]] = {}
        nxt = 0
        for i in range(len(tasks)):
            while nxt < len(tasks) and nxt < i + 2 * workers:
                with signals_held():  # submit may fork a worker
                    pending[nxt] = pool.submit(run_blocks, tasks[nxt], True, shared is not None)
                for proc in (getattr(pool, "_processes", None) or {}).values():
                    if proc not in workers_of:
                        workers_of.append(proc)
                nxt += 1
            yield tasks[i], pending.pop(i).result()
        pool.shutdown(wait=True)
    except BaseException:
        # Interrupted or failed (also while shutting down): drop queued tasks and do not
        # wait for running ones.
        _stop(pool, workers_of)
        raise


def _stop(pool: cf.ProcessPoolExecutor, workers: list[Any]) -> None:
    """Cancel what is queued and end the workers now (joined, killed if they linger), so
    that none is left waiting on the queue after the parent ends."""
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()
    for proc in workers:  # gone before the caller reports (or the process ends)
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()


def estimate(scenario: sc.Scenario, config: RunConfig, portfolio: bool = False) -> float:
    """Rough peak memory of a run, bytes, before running it.

    Each worker holds about 40 + 6 k arrays of one block's ``(block, T + 1)``
    doubles (k assets) while simulating, and up to two finished block summaries wait per
    worker; the parent keeps the exact horizon values within their budget, the portfolio
    tail and the merged histograms.
    """
    n_steps = config.horizon_days or scenario.horizon_days
    k = len(scenario.assets)
    block = min(config.block_size, config.paths)
    per_block = block * (n_steps + 1) * 8 * (40 + 6 * k)
    workers = max(1, config.workers)
    horizons = len(scenario.horizons(n_steps))
    series = 1 + k + int(portfolio)
    kept = _kept_per_horizon(scenario, portfolio)
    exact = min(config.paths, max_exact_paths(scenario, n_steps, portfolio)) * horizons * kept
    exact *= 8 * 2
    tail = (
        PortfolioSummary.tail_size_for(config.paths) * horizons * (k + 1) * 8 * 2
        if portfolio
        else 0
    )
    hist = series * (MAX_FAN_DATES + horizons) * 8000 * 8 * 3
    return 250e6 + workers * per_block + exact + tail + hist


def available_memory() -> float | None:
    """Memory available to new allocations (``MemAvailable``), bytes; ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_resources(scenario: sc.Scenario, config: RunConfig, portfolio: bool = False) -> float:
    """The run's memory estimate (:func:`estimate`, bytes); raises :class:`InputError` if
    it needs more memory than is free."""
    est = estimate(scenario, config, portfolio)
    free = available_memory()
    if free is not None and est > free:
        raise InputError(
            f"{scenario.name}: this run needs about {est / 2**30:.1f} GiB but "
            f"{free / 2**30:.1f} GiB is available; use fewer --workers, or pass "
            "--ignore-memory-check to run anyway"
        )
    return est


def default_workers() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def max_exact_paths(scenario: sc.Scenario, n_steps: int, portfolio: bool) -> int:
    """Most paths whose values at the horizons (every series, Brent's running highest and
    lowest close, and the book's P&L) fit in :data:`~simulator.reduce.EXACT_BUDGET_VALUES`:
    up to it, quantiles are exact and the run keeps ``paths.npz``."""
    per_path = len(scenario.horizons(n_steps)) * _kept_per_horizon(scenario, portfolio)
    return EXACT_BUDGET_VALUES // per_path


def _kept_per_horizon(scenario: sc.Scenario, portfolio: bool) -> int:
    """Values a path keeps per horizon while exact (:func:`kept_row_shapes`)."""
    return sum(math.prod(shape) for shape in kept_row_shapes(scenario, [1], portfolio).values())


def uses_compiled(config: RunConfig) -> bool:
    """Whether a run with ``config`` uses the compiled kernels: as asked, or by default from
    :data:`simulator.kernels.COMPILED_MIN_PATHS` paths up."""
    if config.compiled is not None:
        return config.compiled
    return config.paths >= kernels.COMPILED_MIN_PATHS


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's BLAS and OpenMP pools, found once: looking them up lists every loaded
    library (about 1 ms with numba loaded), which every block would otherwise repeat."""
    return ThreadpoolController()


def _tune_allocator() -> None:
    """Keep large freed blocks in the heap (glibc only).

    A block's arrays are tens of MB, above glibc's default threshold for serving them with
    fresh ``mmap`` pages, so every block would page-fault them in again (measured: 15-20% of
    CPU). Raising the thresholds lets the allocator reuse that memory; the peak is the same.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 512 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1024 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: leave the allocator alone
        return


def _release_heap() -> None:
    """Give the heap's free memory back to the system (glibc only), before forking workers.

    The heap kept by :func:`_tune_allocator` after an earlier run in this process (``sim
    compare``, a notebook) would be shared copy-on-write with the forked workers, and every
    page either side reused would be copied on its first write (measured on 2 cores: a
    2-worker run after a 1-worker one in the same process took 4.5-4.7 s against 4.1-4.2 s
    in a fresh process, with three times the system time).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        return


def run(
    loaded: sc.LoadedScenario,
    config: RunConfig,
    progress: Callable[[int, int], None] | None = None,
    portfolio: LoadedPortfolio | None = None,
) -> RunResult:
    """Run a scenario.

    Parameters
    ----------
    loaded
        The scenario from :func:`simulator.scenario.load_scenario`.
    config
        Paths, seed, horizon and block size.
    progress
        Called as ``progress(paths_done, paths_total)`` after each task (a few blocks,
        see :func:`task_spans`).
    portfolio
        A book whose P&L, VaR and expected shortfall to report.

    Returns
    -------
    RunResult
    """
    config = config.validated()
    assert config.seed is not None
    _tune_allocator()
    scenario = loaded.scenario
    n_steps = config.horizon_days or scenario.horizon_days
    horizons = scenario.horizons(n_steps)
    keep_exact = config.paths <= max_exact_paths(scenario, n_steps, portfolio is not None)
    exposures = None
    tail_size = 0
    if portfolio is not None:
        portfolio.check_assets(scenario)
        exposures = portfolio.exposures()
        tail_size = PortfolioSummary.tail_size_for(config.paths)
    compiled = uses_compiled(config)
    if compiled and config.scheduler is None:
        kernels.warm_up()  # compile or load the kernels once, before workers fork
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    sizes = block_sizes(config.paths, config.block_size)
    args = [
        (scenario, config.seed, b, n, n_steps, horizons, keep_exact, exposures, tail_size, compiled)
        for b, n in enumerate(sizes)
    ]
    workers = config.workers
    shared = None
    if config.scheduler is None:
        workers = local_workers(len(args), workers)
        if workers > 1 and keep_exact and _start_method() == "fork":
            # The workers write every path's values here rather than send them.
            shapes = kept_row_shapes(scenario, horizons, portfolio is not None)
            shared = SharedRows.allocate(shapes, config.paths, config.block_size)
    tree = MergeTree()
    done = 0
    try:
        for task, part in _tasks_in_order(args, workers, config.scheduler, shared):
            # Merged in the fixed tree, in block order: the floating-point result is then
            # the same whatever the schedule and the size of the tasks.
            tree.add(task[0][2], len(task), part)
            done += part.n_paths
            if progress is not None:
                progress(done, config.paths)
    except SimulationFailure as exc:  # a path blew up: say which scenario file
        raise SimulationFailure(f"{loaded.path}: {exc}") from None
    total = tree.result()
    if shared is not None:
        shared.take(total)
    wall = time.perf_counter() - t0
    return RunResult(
        loaded=loaded,
        config=config,
        n_steps=n_steps,
        horizons=horizons,
        summary=total,
        portfolio=portfolio,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        wall_seconds=wall,
        engine={
            "name": (
                "numpy-local"
                if config.scheduler is None and workers == 1
                else "numpy-processes"
                if config.scheduler is None
                else f"dask:{config.scheduler}"
            ),
            "workers": workers,
            "workers_requested": config.workers,
            "quantiles": "exact" if keep_exact else "histogram",
            "kernels": "numba" if compiled else "numpy",
        },
    )
