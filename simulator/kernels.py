"""Compiled per-path loops for the work numpy cannot do in one pass.

Each kernel is written once, as plain Python over arrays, and compiled with numba on first
use (``cache=True``: later processes load the machine code from ``__pycache__``). numba is
imported only when a kernel is first called, so commands that simulate nothing do not pay
for it. The plain functions stay importable as ``reference_*``; the tests check every
kernel against its reference.

* :func:`add_decaying` adds exponentially decaying impulses (risk premia, risk-off) to a
  path array, touching only the days after each impulse starts;
* :func:`offset_response` runs one supply offset (lag, trigger, response fraction,
  capacity, volume) along each path's days;
* :func:`combine_assets` turns the assets' drivers into paths and the daily cross moments
  in one pass, where numpy needs a matrix product, a cumulative sum and another product;
* :func:`histogram_days` counts path values on chosen days into the fixed grid of
  :class:`~simulator.reduce.Histogram` without gathering them first.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

__all__ = ["add_decaying", "combine_assets", "histogram_days", "offset_response", "warm_up"]

#: Below this size a decaying impulse is dropped (it is 2^-997 of any USD or mb/d scale).
NEGLIGIBLE = 1e-300


def reference_add_decaying(
    target: np.ndarray,
    rows: np.ndarray,
    amplitude: np.ndarray,
    start: np.ndarray,
    half_life: np.ndarray,
) -> None:
    width = target.shape[1]
    for i in range(rows.shape[0]):
        first = max(start[i], 0)
        if first >= width:
            continue
        factor = 2.0 ** (-1.0 / half_life[i])
        value = amplitude[i]
        row = rows[i]
        for t in range(first, width):
            if abs(value) < NEGLIGIBLE:
                break
            target[row, t] += value
            value *= factor


def reference_offset_response(
    remaining: np.ndarray,
    capacity: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray,
    volume: np.ndarray,
    days_per_step: float,
    out: np.ndarray,
) -> None:
    n, width = remaining.shape
    by_day = capacity.shape[1] > 1
    capped_volume = volume.shape[0] > 0
    for i in range(n):
        total = 0.0
        before = 0.0
        for t in range(width):
            src = t - lag[i]
            lagged = remaining[i, src] if src >= 0 else 0.0
            if not lagged > trigger[i]:
                lagged = 0.0
            response = fraction[i] * lagged
            cap = capacity[i, t] if by_day else capacity[i, 0]
            response = min(response, cap)
            response = min(response, remaining[i, t])
            if capped_volume:
                total += response
                used = min(total * days_per_step, volume[i])
                response = (used - before) / days_per_step
                before = used
            out[i, t] = response


def reference_combine_assets(
    noise: np.ndarray,
    weights: np.ndarray,
    boost: np.ndarray,
    stressed: np.ndarray,
    ordinary: np.ndarray,
    event_log: np.ndarray,
    risk_off: np.ndarray,
    loadings: np.ndarray,
    drift: np.ndarray,
    oil_log: np.ndarray,
    paths: np.ndarray,
    total: np.ndarray,
    cross: np.ndarray,
    extreme: np.ndarray,
) -> None:
    # One path at a time, days innermost (contiguous, so the loops vectorise): row 0 of
    # ``move`` is Brent's daily log move, rows 1..k the assets'.
    k, n, n_steps = noise.shape
    move = np.empty((k + 1, n_steps))
    residual = np.empty(n_steps)
    total[:] = 0.0
    cross[:, :] = 0.0
    extreme[:] = 0.0
    for i in range(n):
        for t in range(n_steps):
            move[0, t] = oil_log[i, t + 1] - oil_log[i, t]
        for a in range(k):
            l_ord, l_event, l_risk, mu = loadings[a, 0], loadings[a, 1], loadings[a, 2], drift[a]
            for t in range(n_steps):
                move[a + 1, t] = (
                    mu
                    + l_ord * ordinary[i, t]
                    + l_event * (event_log[i, t + 1] - event_log[i, t])
                    + l_risk * (risk_off[i, t + 1] - risk_off[i, t])
                )
            residual[:] = 0.0
            for b in range(k):
                w = weights[a, b]
                if w != 0.0:
                    for t in range(n_steps):
                        residual[t] += w * noise[b, i, t]
            g = boost[a]
            if g != 1.0:
                for t in range(n_steps):
                    if stressed[i, t]:
                        residual[t] *= g
            for t in range(n_steps):
                move[a + 1, t] += residual[t]
            level = 0.0
            top = extreme[a]
            paths[a, i, 0] = 0.0
            for t in range(n_steps):
                level += move[a + 1, t]
                paths[a, i, t + 1] = level
                size = abs(level)
                if size > top:
                    top = size
                elif size != size:
                    top = np.inf
            extreme[a] = top
        for a in range(k + 1):
            acc = 0.0
            for t in range(n_steps):
                acc += move[a, t]
            total[a] += acc
            for b in range(a, k + 1):
                acc = 0.0
                for t in range(n_steps):
                    acc += move[a, t] * move[b, t]
                cross[a, b] += acc
    for a in range(k + 1):
        for b in range(a):
            cross[a, b] = cross[b, a]


def reference_histogram_days(
    x: np.ndarray,
    days: np.ndarray,
    half: float,
    width: float,
    n_bins: int,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, int]:
    # Cell of a value v: floor((v + half) / width) + 1, clipped to 0 (underflow) ..
    # n_bins + 1 (overflow); monotone in v, so the extremes give the occupied range.
    n = x.shape[0]
    f = days.shape[0]
    low[:] = np.inf
    high[:] = -np.inf
    for i in range(n):
        for j in range(f):
            v = x[i, days[j]]
            low[j] = min(low[j], v)
            high[j] = max(high[j], v)
    top = float(n_bins + 1)
    first = int(min(max(np.floor((low.min() + half) / width) + 1.0, 0.0), top))
    last = int(min(max(np.floor((high.max() + half) / width) + 1.0, 0.0), top))
    counts = np.zeros((f, last - first + 1), dtype=np.int64)
    # Paths in chunks, days inside: a chunk's rows stay in cache while each day's row of
    # counts is updated.
    chunk = 64
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        for j in range(f):
            d = days[j]
            row = counts[j]
            for i in range(start, stop):
                c = min(max(np.floor((x[i, d] + half) / width) + 1.0, 0.0), top)
                row[int(c) - first] += 1
    return counts, first


@functools.cache
def _compiled() -> SimpleNamespace:
    import numba

    jit = numba.njit(cache=True, nogil=True)
    return SimpleNamespace(
        histogram_days=jit(reference_histogram_days),
        add_decaying=jit(reference_add_decaying),
        offset_response=jit(reference_offset_response),
        # Reassociating sums lets the per-path sums over days vectorise; NaN and inf
        # keep their meaning (no finite-math flags).
        combine_assets=numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(
            reference_combine_assets
        ),
    )


def add_decaying(
    target: np.ndarray,
    rows: np.ndarray,
    amplitude: np.ndarray,
    start: np.ndarray,
    half_life: np.ndarray,
) -> None:
    """Add ``amplitude * 2 ** (-(t - start) / half_life)`` to ``target[row, t]`` for
    ``t >= start``, in place.

    Parameters
    ----------
    target
        Path array, float64 ``(n_paths, n_days)``.
    rows
        Paths to add to, int64 ``(m,)``.
    amplitude, half_life
        Size at the start (units of ``target``) and half-life (days), float64 ``(m,)``.
    start
        First day, int64 ``(m,)``.

    Notes
    -----
    Each day's value is the previous one times ``2^(-1 / half_life)``: after ``t`` days the
    relative rounding error is about ``t`` units in the last place (1e-14 at 126 days).
    """
    _compiled().add_decaying(
        target,
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(amplitude, dtype=np.float64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(half_life, dtype=np.float64),
    )


def offset_response(
    remaining: np.ndarray,
    capacity: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray | None,
    volume: np.ndarray | None,
    days_per_step: float,
) -> np.ndarray:
    """Supply one offset adds on each path and day, mb/d, ``(n_paths, n_days)``.

    On day ``t`` it answers the loss ``lag`` days earlier (if above ``trigger``) with
    ``fraction`` of it, within ``capacity`` and never more than the loss still open today;
    with a ``volume`` (million bbl) it stops once that is used up.

    Parameters
    ----------
    remaining
        Barrels still missing before this offset, mb/d, ``(n_paths, n_days)``.
    capacity
        mb/d, ``(n_paths, 1)``, or ``(n_paths, n_days)`` where events impair it.
    fraction, lag
        Response fraction and lag (whole trading days), ``(n_paths,)``.
    trigger, volume
        Loss threshold (mb/d) and stock volume (million bbl) per path, or ``None``.
    days_per_step
        Calendar days per trading day (volume is used per calendar day).
    """
    n = remaining.shape[0]
    out = np.empty_like(remaining)
    _compiled().offset_response(
        np.ascontiguousarray(remaining, dtype=np.float64),
        np.ascontiguousarray(capacity, dtype=np.float64),
        np.ascontiguousarray(fraction, dtype=np.float64),
        np.ascontiguousarray(lag, dtype=np.int64),
        np.full(n, -np.inf) if trigger is None else np.ascontiguousarray(trigger, np.float64),
        np.empty(0) if volume is None else np.ascontiguousarray(volume, dtype=np.float64),
        float(days_per_step),
        out,
    )
    return out


def combine_assets(
    noise: np.ndarray,
    weights: np.ndarray,
    boost: np.ndarray,
    stressed: np.ndarray,
    ordinary: np.ndarray,
    event_log: np.ndarray,
    risk_off: np.ndarray,
    loadings: np.ndarray,
    drift: np.ndarray,
    oil_log: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asset paths from their drivers, with the daily cross moments, in one pass.

    Each asset's daily move is ``weights @ noise`` (times ``boost`` on stressed days)
    plus the loadings on oil's ordinary shock and on the daily changes of ``event_log``
    and ``risk_off``, plus the drift; the moves are summed into paths.

    Parameters
    ----------
    noise
        Unit residual shocks, ``(k, n_paths, n_steps)``.
    weights
        Residual scale times the correlating factor, ``(k, k)``.
    boost
        Factor on each asset's residual on stressed days, ``(k,)``.
    stressed
        Regime, bool ``(n_paths, n_steps)``.
    ordinary
        Oil's ordinary shock, ``(n_paths, n_steps)``.
    event_log, risk_off
        Oil's event-driven log component and the risk-off factor, ``(n_paths, n_steps + 1)``.
    loadings
        Per asset: on ``ordinary``, on the change of ``event_log``, on the change of
        ``risk_off``, ``(k, 3)``.
    drift
        Per step, ``(k,)``.
    oil_log
        Log Brent, ``(n_paths, n_steps + 1)``, for the cross moments.

    Returns
    -------
    paths
        Cumulative moves, ``(k, n_paths, n_steps + 1)``, first column zero.
    total, cross
        Sums of the daily moves of Brent then each asset, ``(k + 1,)``, and of their
        products, ``(k + 1, k + 1)``: for :class:`~simulator.reduce.CrossMoments`. Summed
        per path first, then over paths.
    extreme
        Largest absolute path value per asset (``inf`` if any is NaN), ``(k,)``.
    """
    k, n, n_steps = noise.shape
    paths = np.empty((k, n, n_steps + 1))
    total = np.empty(k + 1)
    cross = np.empty((k + 1, k + 1))
    extreme = np.empty(k)
    c = np.ascontiguousarray
    _compiled().combine_assets(
        c(noise, dtype=np.float64),
        c(weights, dtype=np.float64),
        c(boost, dtype=np.float64),
        c(stressed, dtype=np.bool_),
        c(ordinary, dtype=np.float64),
        c(event_log, dtype=np.float64),
        c(risk_off, dtype=np.float64),
        c(loadings, dtype=np.float64),
        c(drift, dtype=np.float64),
        c(oil_log, dtype=np.float64),
        paths,
        total,
        cross,
        extreme,
    )
    return paths, total, cross, extreme


def histogram_days(
    x: np.ndarray, days: np.ndarray, half: float, width: float, n_bins: int
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Counts of ``x[:, days]`` on the grid of :class:`~simulator.reduce.Histogram`, per day,
    without gathering the columns first.

    Parameters
    ----------
    x
        Transformed path values, ``(n_paths, n_days)``, finite.
    days
        Columns to count, int ``(f,)``.
    half, width, n_bins
        The grid: ``n_bins`` bins of ``width`` over ``[-half, half)``, plus under- and
        overflow cells.

    Returns
    -------
    counts
        ``(f, m)`` counts of the occupied cells ``offset .. offset + m - 1``.
    offset
        First occupied cell.
    low, high
        Smallest and largest value per day, ``(f,)``.
    """
    low = np.empty(days.shape[0])
    high = np.empty(days.shape[0])
    counts, first = _compiled().histogram_days(
        x,
        np.ascontiguousarray(days, dtype=np.int64),
        float(half),
        float(width),
        int(n_bins),
        low,
        high,
    )
    return counts, int(first), low, high


def warm_up() -> None:
    """Compile (or load from the cache) every kernel now, e.g. before forking workers."""
    target = np.zeros((1, 2))
    one = np.ones(1)
    add_decaying(target, np.zeros(1, np.int64), one, np.zeros(1, np.int64), one)
    offset_response(target, np.ones((1, 1)), one, np.zeros(1, np.int64), None, None, 1.0)
    histogram_days(target, np.zeros(1, np.int64), 1.0, 0.5, 4)
    combine_assets(
        np.zeros((1, 1, 1)),
        np.ones((1, 1)),
        one,
        np.zeros((1, 1), bool),
        np.zeros((1, 1)),
        target,
        target,
        np.zeros((1, 3)),
        np.zeros(1),
        target,
    )
