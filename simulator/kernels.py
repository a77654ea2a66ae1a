"""Per-path loops over days, compiled with numba for large runs, in numpy otherwise.

Most kernels have three forms with the same results (to rounding):

* ``reference_*``: plain Python loops over arrays; numba compiles them on first use
  (``cache=True``: later processes load the machine code from ``__pycache__``);
* ``numpy_*``: the same rule in vectorised numpy;
* the public function, which runs the compiled form inside :func:`compiled` and the numpy
  form otherwise.

The kernels that draw random numbers run, compiled and on an SFC64 generator (the
engine's), with the draws inlined instead (:mod:`simulator.drawing_kernels`, numpy's
numbers bit for bit). :func:`combine_assets_drawn` has its compiled form there too, which
draws each path's shocks as it goes; :func:`combine_assets`, on shocks given as arrays,
is numpy only.

numba costs about a second per process to start (import and code generation), which a
small run never earns back, so the engine switches the compiled forms on only for runs of
at least :data:`COMPILED_MIN_PATHS` paths (see :func:`simulator.engine.run`).

* :func:`event_effects` writes one event's supply change, activity and forced stress on
  the paths it hits;
* :func:`add_decaying` adds exponentially decaying impulses (risk premia, risk-off) to a
  path array, touching only the days after each impulse starts;
* :func:`offset_response` runs one supply offset (lag, trigger, response fraction,
  capacity, volume, impairments) along each path's days, and can update the remaining
  loss and net supply as it goes;
* :func:`combine_assets_drawn` draws the assets' Student-t residual shocks and turns them
  and the assets' drivers into paths and the daily cross moments; compiled, in one pass
  where numpy needs the shocks in memory, a matrix product, a cumulative sum and another
  product (:func:`combine_assets`, numpy only, takes the shocks as arrays);
* :func:`ou_paths` runs the short-term factor alone (Ornstein-Uhlenbeck with regimes and
  jumps) from its unit shocks in one pass;
* :func:`oil_paths` runs Brent's two factors and sums its log price in one pass;
* :func:`markov_regimes` runs the calm/stressed chain of every path with the days events
  force, where numpy takes a Python loop over days;
* :func:`histogram_days` counts path values on chosen days into the fixed grid of
  :class:`~simulator.reduce.Histogram` without gathering them first;
* :func:`t_factors` draws the gamma mixing variables of multivariate Student-t shocks
  (numpy's own numbers, in the compiled form too) and returns each path and day's factor,
  with a regime scale folded in; :func:`t_mixing` applies them to normals in place, and
  :func:`combine_assets` as it reads its shocks;
* :func:`standard_normal` fills an array with the generator's standard normals: the very
  numbers ``Generator.standard_normal`` gives, about 2.5 times numpy's own fill rate on
  the machine measured.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from simulator.interrupts import signals_held

__all__ = [
    "COMPILED_MIN_PATHS",
    "add_decaying",
    "combine_assets",
    "combine_assets_drawn",
    "compiled",
    "event_effects",
    "histogram_days",
    "markov_regimes",
    "offset_response",
    "oil_paths",
    "ou_paths",
    "path_sums",
    "standard_normal",
    "t_factors",
    "t_mixing",
    "warm_up",
]

#: Runs with at least this many paths use the compiled kernels (measured break-even of
#: numba's start-up against its saving per block: about 100,000 paths per process).
COMPILED_MIN_PATHS = 200_000

_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("compiled", default=False)


@contextlib.contextmanager
def compiled(on: bool = True) -> Iterator[None]:
    """Run the kernels compiled (``on``) or in numpy inside this context."""
    token = _ACTIVE.set(on)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


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
    impaired: np.ndarray,
    left: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray,
    volume: np.ndarray,
    days_per_step: float,
    out: np.ndarray,
    net: np.ndarray,
) -> None:
    # Each path's row of ``remaining`` is read from a copy (the lagged loss is the loss
    # before this offset), so that with ``net`` the row can be updated as it goes. The
    # day's capacity, ``cap``, is the offset's times each impairment's share on its days,
    # in turn.
    n, width = remaining.shape
    by_day = capacity.shape[1] > 1
    capped_volume = volume.shape[0] > 0
    update = net.shape[0] > 0
    row = np.empty(width)
    cap = np.empty(width)
    for i in range(n):
        for t in range(width):
            row[t] = remaining[i, t]
            cap[t] = capacity[i, t] if by_day else capacity[i, 0]
        for j in range(impaired.shape[0]):
            share = left[j, i]
            for t in range(width):  # a select, not a branch: it vectorises
                cap[t] = cap[t] * share if impaired[j, i, t] else cap[t]
        total = 0.0
        before = 0.0
        for t in range(width):
            src = t - lag[i]
            lagged = row[src] if src >= 0 else 0.0
            if not lagged > trigger[i]:
                lagged = 0.0
            response = fraction[i] * lagged
            response = min(response, cap[t])
            response = min(response, row[t])
            if capped_volume:
                total += response
                used = min(total * days_per_step, volume[i])
                response = (used - before) / days_per_step
                before = used
            out[i, t] = response
            if update:
                remaining[i, t] = row[t] - response
                net[i, t] += response


def reference_standard_normal(rng: np.random.Generator, flat: np.ndarray) -> None:
    # One draw at a time, in order: the same numbers as rng.standard_normal(out=flat).
    for i in range(flat.shape[0]):
        flat[i] = rng.standard_normal()


def reference_t_factors(
    rng: np.random.Generator,
    shape: np.ndarray,
    c: np.ndarray,
    scale: np.ndarray,
    factor: np.ndarray,
) -> None:
    # Per path and step, in C order, G ~ Gamma(shape[i]) by numpy's own method for shape > 1
    # (Marsaglia and Tsang's, with the same squeeze and the same order of operations) from
    # the generator's own normals and uniforms: rng.standard_gamma's numbers, bit for bit.
    # Then the day's factor sqrt(c / G), times the scale, as numpy_t_factors takes it.
    n, n_steps = factor.shape
    scaled = scale.shape[0] > 0
    for i in range(n):
        b = shape[i] - 1.0 / 3.0
        cb = 1.0 / np.sqrt(9.0 * b)
        for t in range(n_steps):
            while True:
                x = rng.standard_normal()
                v = 1.0 + cb * x
                if v <= 0.0:
                    continue
                v = v * v * v
                u = rng.random()
                if u < 1.0 - 0.0331 * (x * x) * (x * x):
                    break
                if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
                    break
            f = np.sqrt(c[i] / (b * v))
            if scaled:
                f *= scale[i, t]
            factor[i, t] = f


def reference_markov_regimes(
    u: np.ndarray,
    initial: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    hold: np.ndarray,
    settle: np.ndarray,
    out: np.ndarray,
) -> None:
    # Day-major like numpy_markov_regimes (row t holds day t of every path), each path's
    # chain advanced with the same comparisons.
    n_steps, n = u.shape
    settling = settle.shape[0] > 0
    state = np.empty(n, dtype=np.bool_)
    pending = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        state[i] = u[0, i] < initial[i]
    for t in range(n_steps):
        for i in range(n):
            s = state[i]
            if t > 0:
                s = u[t, i] >= q[i] if s else u[t, i] < p[i]
            if settling:
                pend = pending[i] or settle[t, i]
                s = s and not pend
                pending[i] = pend and hold[t, i]
            s = s or hold[t, i]
            state[i] = s
            out[t, i] = s


def reference_histogram_days(
    x: np.ndarray,
    days: np.ndarray,
    half: float,
    width: float,
    n_bins: int,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, int]:
    # Cell of a value v: floor((v + half) * (1 / width)) + 1, clipped to 0 (underflow) ..
    # n_bins + 1 (overflow); monotone in v, so the extremes give the occupied range. A
    # product rather than a quotient: same cells but within an ulp of a bin edge, and twice
    # as fast with the 32-bit counts (whose rows stay in cache).
    n = x.shape[0]
    inv = 1.0 / width
    f = days.shape[0]
    low[:] = np.inf
    high[:] = -np.inf
    for i in range(n):
        for j in range(f):
            v = x[i, days[j]]
            low[j] = min(low[j], v)
            high[j] = max(high[j], v)
    top = float(n_bins + 1)
    first = int(min(max(np.floor((low.min() + half) * inv) + 1.0, 0.0), top))
    last = int(min(max(np.floor((high.max() + half) * inv) + 1.0, 0.0), top))
    counts = np.zeros((f, last - first + 1), dtype=np.int32)
    # Paths in chunks, days inside: a chunk's rows stay in cache while each day's row of
    # counts is updated.
    chunk = 64
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        for j in range(f):
            d = days[j]
            row = counts[j]
            for i in range(start, stop):
                c = min(max(np.floor((x[i, d] + half) * inv) + 1.0, 0.0), top)
                row[int(c) - first] += 1
    return counts, first


def reference_oil_paths(
    z: np.ndarray,
    rho: np.ndarray,
    multiplier: np.ndarray,
    jumps: np.ndarray,
    step_sd: np.ndarray,
    phi: np.ndarray,
    long_sd: np.ndarray,
    long_drift: np.ndarray,
    premium: np.ndarray,
    supply: np.ndarray,
    log_spot: np.ndarray,
    factor: np.ndarray,
    log_price: np.ndarray,
    ordinary: np.ndarray,
    shock: np.ndarray,
    extremes: np.ndarray,
) -> None:
    n, n_steps = multiplier.shape
    mixed = factor.shape[0] > 0
    top = -np.inf
    bottom = np.inf
    for i in range(n):
        c = np.sqrt(1.0 - rho[i] * rho[i])
        short = 0.0
        long_ = 0.0
        ordinary[i, 0] = 0.0
        log_price[i, 0] = ((0.0 + premium[i, 0]) + supply[i, 0]) + log_spot[i]
        for t in range(n_steps):
            m = multiplier[i, t]
            z0, z1 = z[0, i, t], z[1, i, t]
            if mixed:  # the shocks times their factor, rounded as if multiplied first
                z0 *= factor[i, t]
                z1 *= factor[i, t]
            e_long = rho[i] * z0 + c * z1
            d_short = z0 * m * step_sd[i] + jumps[i, t]
            d_long = e_long * m * long_sd[i]
            short = short * phi[i] + d_short
            long_ += d_long + long_drift[i]
            x = short + long_
            ordinary[i, t + 1] = x
            shock[i, t] = d_short + d_long
            log_price[i, t + 1] = ((x + premium[i, t + 1]) + supply[i, t + 1]) + log_spot[i]
        for t in range(n_steps + 1):
            v = log_price[i, t]
            if v > top or v != v:
                top = v if v == v else np.inf
            if v < bottom:
                bottom = v
    extremes[0] = bottom
    extremes[1] = top


def reference_ou_paths(
    shocks: np.ndarray,
    sd: np.ndarray,
    phi: np.ndarray,
    multiplier: np.ndarray,
    jumps: np.ndarray,
    out: np.ndarray,
) -> None:
    # An empty multiplier or jumps array stands for none (ones, zeros).
    n, n_steps = shocks.shape
    scaled = multiplier.shape[0] > 0
    jumpy = jumps.shape[0] > 0
    for i in range(n):
        x = 0.0
        f = phi[i]
        s = sd[i]
        out[i, 0] = 0.0
        for t in range(n_steps):
            d = shocks[i, t]
            if scaled:
                d = d * multiplier[i, t]
            d = d * s
            if jumpy:
                d = d + jumps[i, t]
            x = x * f + d
            out[i, t + 1] = x


def reference_event_effects(
    rows: np.ndarray,
    start: np.ndarray,
    mode: int,
    change: np.ndarray,
    until: np.ndarray,
    shape: np.ndarray,
    stress_length: np.ndarray,
    supply: np.ndarray,
    active: np.ndarray,
    forced: np.ndarray,
) -> None:
    # mode: 0 no supply effect, 1 step, 2 ramp (shape = ramp days), 3 decay (shape =
    # half-life days). Active on start <= t < until.
    width = active.shape[1]
    n_steps = forced.shape[1]
    stress = stress_length.shape[0] > 0
    for i in range(rows.shape[0]):
        row = rows[i]
        first = start[i]
        for t in range(first, width):
            if t >= until[i]:
                break
            active[row, t] = True
        if mode == 1:
            for t in range(first, width):
                if t >= until[i]:
                    break
                supply[row, t] += change[i]
        elif mode == 2:
            for t in range(first, width):
                if t >= until[i]:
                    break
                supply[row, t] += change[i] * min(1.0, (t - first + 1.0) / shape[i])
        elif mode == 3:
            factor = 2.0 ** (-1.0 / shape[i])
            value = change[i]
            for t in range(first, width):
                if abs(value) < NEGLIGIBLE:
                    break
                supply[row, t] += value
                value *= factor
        if stress:
            # Step t ends on day t + 1: stressed for steps first - 1 .. first - 2 + length.
            for t in range(max(first - 1, 0), n_steps):
                if t >= first - 1 + stress_length[i]:
                    break
                forced[row, t] = True


def numpy_add_decaying(
    target: np.ndarray,
    rows: np.ndarray,
    amplitude: np.ndarray,
    start: np.ndarray,
    half_life: np.ndarray,
) -> None:
    m, width = rows.shape[0], target.shape[1]
    rate = np.log(2.0) / half_life  # per day
    values = np.empty((m, width))
    if np.all(rate * np.maximum(start, 0) <= 600.0) and np.all(rate * (width - 1) <= 600.0):
        # (amplitude r^-start) r^t with r = 2^(-1/half_life): the powers fill each row by
        # doubling (r^(t + s) = r^t r^s), a few slice products instead of an exponential
        # per path and day.
        values[:, 0] = amplitude * np.exp(rate * start)
        step = 1
        while step < width:
            end = min(2 * step, width)
            np.multiply(
                values[:, : end - step], np.exp(-rate * step)[:, None], out=values[:, step:end]
            )
            step = end
    else:  # factors that would leave the floating-point range: one exponential each
        past = np.maximum(np.arange(width)[None, :] - start[:, None], 0)
        np.exp(-rate[:, None] * past, out=values)
        values *= amplitude[:, None]
    values[(np.arange(width)[None, :] < start[:, None]) | (np.abs(values) < NEGLIGIBLE)] = 0.0
    if np.unique(rows).shape[0] == rows.shape[0]:
        target[rows] += values
    else:  # impulses sharing a row add up
        np.add.at(target, rows, values)


def numpy_offset_response(
    remaining: np.ndarray,
    capacity: np.ndarray,
    impaired: np.ndarray,
    left: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray,
    volume: np.ndarray,
    days_per_step: float,
    out: np.ndarray,
    net: np.ndarray,
) -> None:
    width = remaining.shape[1]
    for j in range(impaired.shape[0]):
        capacity = np.where(impaired[j], capacity * left[j][:, None], capacity)
    lagged = np.zeros_like(remaining)
    lags, inverse = np.unique(lag, return_inverse=True)
    for j, d in enumerate(lags.tolist()):
        # Rows sharing a lag move together as one slice copy.
        if d < width:
            rows = np.flatnonzero(inverse.ravel() == j)
            lagged[rows, d:] = remaining[rows, : width - d]
    lagged = np.where(lagged > trigger[:, None], lagged, 0.0)
    response = np.multiply(fraction[:, None], lagged, out=lagged)
    np.minimum(response, capacity, out=response)
    np.minimum(response, remaining, out=response)
    if volume.shape[0] > 0:
        used = np.minimum(np.cumsum(response, axis=1) * days_per_step, volume[:, None])
        response = np.diff(used, axis=1, prepend=0.0) / days_per_step
    out[...] = response
    if net.shape[0] > 0:
        remaining -= response
        net += response


def numpy_combine_assets(
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
    factor: np.ndarray,
    paths: np.ndarray,
    total: np.ndarray,
    cross: np.ndarray,
    extreme: np.ndarray,
    sums: np.ndarray,
) -> None:
    n, k, n_steps = noise.shape
    # Rows 0..k-1 of the drivers are the residual shocks, then oil's ordinary shock, the
    # changes of the event component and of risk-off, and ones: one matrix product.
    drivers = np.empty((k + 4, n, n_steps))
    shocks = noise.transpose(1, 0, 2)
    if factor.shape[0] > 0:
        np.multiply(shocks, factor, out=drivers[:k])
    else:
        drivers[:k] = shocks
    drivers[k] = ordinary
    np.subtract(event_log[:, 1:], event_log[:, :-1], out=drivers[k + 1])
    np.subtract(risk_off[:, 1:], risk_off[:, :-1], out=drivers[k + 2])
    drivers[k + 3] = 1.0
    flat = drivers.reshape(k + 4, -1)
    moves = (np.hstack([weights, loadings, drift[:, None]]) @ flat).reshape(k, n, n_steps)
    for a in np.flatnonzero(boost != 1.0):
        fix = ((boost[a] - 1.0) * weights[a]) @ flat[:k]
        fix *= stressed.reshape(-1)
        moves[a] += fix.reshape(n, n_steps)
    del drivers, flat
    paths[:, :, 0] = 0.0
    np.cumsum(moves, axis=2, out=paths[:, :, 1:])
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(paths).all(axis=(1, 2))
        extreme[:] = np.where(finite, np.abs(paths).max(axis=(1, 2)), np.inf)
    oil = np.diff(oil_log, axis=1)
    sums[:] = path_sums([oil, *moves])
    oil = oil.ravel()
    rest = moves.reshape(k, -1)
    total[0] = oil.sum()
    total[1:] = rest.sum(axis=1)
    cross[0, 0] = oil @ oil
    cross[1:, 0] = cross[0, 1:] = rest @ oil
    cross[1:, 1:] = rest @ rest.T


def path_sums(series: Sequence[np.ndarray]) -> np.ndarray:
    """Each path's sums of ``k`` daily series and of their products (numpy only).

    Parameters
    ----------
    series
        ``k`` arrays ``(n_paths, n_days)`` (or one ``(k, n_paths, n_days)`` array).

    Returns
    -------
    ndarray
        ``(n_paths, m)`` with ``m = k + k (k + 1) / 2``: the ``k`` sums over days, then the
        sums of products of series ``a`` and ``b`` in :func:`numpy.triu_indices` order
        (``a <= b``). Per-path sums for :class:`~simulator.reduce.CrossMoments`.
    """
    k, n_paths = len(series), series[0].shape[0]
    a, b = np.triu_indices(k)
    out = np.empty((n_paths, k + a.shape[0]))
    for i in range(k):
        out[:, i] = series[i].sum(axis=1)
    for j, (i1, i2) in enumerate(zip(a, b, strict=True)):
        out[:, k + j] = np.einsum("pt,pt->p", series[int(i1)], series[int(i2)])
    return out


def numpy_standard_normal(rng: np.random.Generator, flat: np.ndarray) -> None:
    rng.standard_normal(out=flat)


def numpy_t_factors(
    rng: np.random.Generator,
    shape: np.ndarray,
    c: np.ndarray,
    scale: np.ndarray,
    factor: np.ndarray,
) -> None:
    n, n_steps = factor.shape
    if np.all(shape == shape[0]):
        rng.standard_gamma(float(shape[0]), out=factor)  # scalar shape: same numbers, faster
    else:
        rng.standard_gamma(np.broadcast_to(shape[:, None], (n, n_steps)), out=factor)
    np.divide(c[:, None], factor, out=factor)
    np.sqrt(factor, out=factor)
    if scale.shape[0] > 0:
        factor *= scale


def numpy_markov_regimes(
    u: np.ndarray,
    initial: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    hold: np.ndarray,
    settle: np.ndarray,
    out: np.ndarray,
) -> None:
    n_steps, n = u.shape
    state = u[0] < initial
    pending = np.zeros(n, dtype=bool)  # a calm held up by forced stress
    for t in range(n_steps):
        if t > 0:
            # Leave stress with prob q, enter it with prob p.
            state = np.where(state, u[t] >= q, u[t] < p)
        if settle.shape[0] > 0:
            pending |= settle[t]
            state &= ~pending
            pending &= hold[t]
        state |= hold[t]
        out[t] = state


def numpy_histogram_days(
    x: np.ndarray,
    days: np.ndarray,
    half: float,
    width: float,
    n_bins: int,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, int]:
    values = x[:, days]
    low[:] = values.min(axis=0)
    high[:] = values.max(axis=0)
    idx = np.floor((values + half) * (1.0 / width)).astype(np.int64) + 1
    np.clip(idx, 0, n_bins + 1, out=idx)
    first, last = int(idx.min()), int(idx.max())
    m = last - first + 1
    idx -= first
    idx += (np.arange(days.shape[0]) * m)[None, :]
    counts = np.bincount(idx.ravel(), minlength=days.shape[0] * m)
    return counts.reshape(days.shape[0], m), first


def numpy_oil_paths(
    z: np.ndarray,
    rho: np.ndarray,
    multiplier: np.ndarray,
    jumps: np.ndarray,
    step_sd: np.ndarray,
    phi: np.ndarray,
    long_sd: np.ndarray,
    long_drift: np.ndarray,
    premium: np.ndarray,
    supply: np.ndarray,
    log_spot: np.ndarray,
    factor: np.ndarray,
    log_price: np.ndarray,
    ordinary: np.ndarray,
    shock: np.ndarray,
    extremes: np.ndarray,
) -> None:
    n, n_steps = multiplier.shape
    if factor.shape[0] > 0:
        z = z * factor
    e_long = rho[:, None] * z[0] + np.sqrt(1.0 - rho * rho)[:, None] * z[1]
    d_short = z[0] * multiplier
    d_short *= step_sd[:, None]
    d_short += jumps
    d_long = e_long * multiplier
    d_long *= long_sd[:, None]
    numpy_ar1_paths(d_short, phi, ordinary)  # the short factor
    long_path = np.empty((n, n_steps + 1))
    long_path[:, 0] = 0.0
    np.cumsum(d_long + long_drift[:, None], axis=1, out=long_path[:, 1:])
    ordinary += long_path
    np.add(d_short, d_long, out=shock)
    np.add(ordinary, premium, out=log_price)
    log_price += supply
    log_price += log_spot[:, None]
    extremes[0] = log_price.min()
    extremes[1] = log_price.max()


def numpy_ar1_paths(drive: np.ndarray, phi: np.ndarray, out: np.ndarray) -> None:
    n, n_steps = drive.shape
    # Day-major, so each day's update touches contiguous memory.
    day_major = np.empty((n_steps + 1, n))
    day_major[0] = 0.0
    shocks = np.ascontiguousarray(drive.T)
    for t in range(n_steps):
        np.multiply(day_major[t], phi, out=day_major[t + 1])
        day_major[t + 1] += shocks[t]
    out[...] = day_major.T


def numpy_ou_paths(
    shocks: np.ndarray,
    sd: np.ndarray,
    phi: np.ndarray,
    multiplier: np.ndarray,
    jumps: np.ndarray,
    out: np.ndarray,
) -> None:
    drive = shocks * multiplier if multiplier.shape[0] > 0 else shocks.copy()
    drive *= sd[:, None]
    if jumps.shape[0] > 0:
        drive += jumps
    numpy_ar1_paths(drive, phi, out)


def numpy_event_effects(
    rows: np.ndarray,
    start: np.ndarray,
    mode: int,
    change: np.ndarray,
    until: np.ndarray,
    shape: np.ndarray,
    stress_length: np.ndarray,
    supply: np.ndarray,
    active: np.ndarray,
    forced: np.ndarray,
) -> None:
    days = np.arange(active.shape[1], dtype=np.float64)[None, :]
    on = (days >= start[:, None]) & (days < until[:, None])
    active[rows] |= on
    if mode == 1:
        supply[rows] += np.where(on, change[:, None], 0.0)
    elif mode == 2:
        past = np.maximum(days - start[:, None], 0.0)
        ramp = np.minimum(1.0, (past + 1.0) / shape[:, None])
        supply[rows] += np.where(on, change[:, None] * ramp, 0.0)
    elif mode == 3:
        numpy_add_decaying(supply, rows, change, start, shape)
    if stress_length.shape[0] > 0:
        first = (start - 1)[:, None]
        steps = days[:, :-1]
        forced[rows] |= (steps >= first) & (steps < first + stress_length[:, None])


def _run(name: str, *args: Any) -> Any:
    """Kernel ``name`` on ``args``: its compiled form inside :func:`compiled`, else numpy."""
    if not _ACTIVE.get():
        return globals()[f"numpy_{name}"](*args)
    try:
        if (
            isinstance(args[0], np.random.Generator)
            and type(args[0].bit_generator) is np.random.SFC64
        ):
            # The engine's own bit generator: its draws inlined into the loop (same numbers).
            from simulator import drawing_kernels

            kernel = getattr(_compiled(), f"sfc64_{name}")
            return drawing_kernels.run(kernel, [args[0]], *args[1:])
        kernel = getattr(_compiled(), name)
        if any(isinstance(a, np.random.Generator) for a in args):
            # numba unboxes a generator by calling Python code, where a raising signal
            # handler makes it crash (see simulator.interrupts): Ctrl-C and SIGTERM wait.
            with signals_held():
                return kernel(*args)
        return kernel(*args)
    except SystemError as exc:
        # A signal handler that raised (Ctrl-C, or SIGTERM turned into KeyboardInterrupt)
        # while numba unboxed the arguments surfaces as "returned a result with an
        # exception set" (the kernels that take a generator, where this happens, hold the
        # signals: see simulator.interrupts): re-raise the interruption itself.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            raise exc.__cause__ from None
        raise


@functools.cache
def _compiled() -> SimpleNamespace:
    import numba

    from simulator import drawing_kernels

    jit = numba.njit(cache=True, nogil=True)
    return SimpleNamespace(
        sfc64_standard_normal=drawing_kernels.fill_normals,
        sfc64_t_factors=drawing_kernels.t_factors,
        sfc64_combine_assets=drawing_kernels.combine_assets,
        histogram_days=jit(reference_histogram_days),
        markov_regimes=jit(reference_markov_regimes),
        standard_normal=jit(reference_standard_normal),
        t_factors=jit(reference_t_factors),
        oil_paths=jit(reference_oil_paths),
        ou_paths=jit(reference_ou_paths),
        event_effects=jit(reference_event_effects),
        add_decaying=jit(reference_add_decaying),
        offset_response=jit(reference_offset_response),
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
    _run(
        "add_decaying",
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
    impaired_by: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    net: np.ndarray | None = None,
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
        mb/d, ``(n_paths, 1)``, or ``(n_paths, n_days)``.
    fraction, lag
        Response fraction and lag (whole trading days), ``(n_paths,)``.
    trigger, volume
        Loss threshold (mb/d) and stock volume (million bbl) per path, or ``None``.
    days_per_step
        Calendar days per trading day (volume is used per calendar day).
    impaired_by
        Pairs of the days an event impairs the offset, bool ``(n_paths, n_days)``, and the
        share of capacity it leaves, ``(n_paths,)``: on those days the capacity is
        multiplied by the share, pair after pair.
    net
        If given, the net supply change, mb/d, ``(n_paths, n_days)``: the response is
        added to it and taken off ``remaining``, both in place (float64, C-contiguous), in
        the same pass.
    """
    n = remaining.shape[0]
    out = np.empty_like(remaining, dtype=np.float64)
    c = np.ascontiguousarray
    if net is not None:
        for a in (remaining, net):
            if not (a.flags.c_contiguous and a.dtype == np.float64 and a.shape == out.shape):
                raise ValueError("remaining and net must be C-contiguous float64 arrays alike")
        if np.shares_memory(remaining, net):
            raise ValueError("remaining and net must not share memory")
    width = remaining.shape[1]
    impaired = np.empty((len(impaired_by), n, width), dtype=np.bool_)
    left = np.empty((len(impaired_by), n))
    for j, (days, share) in enumerate(impaired_by):
        if np.shape(days) != (n, width) or np.shape(share) != (n,):
            raise ValueError(
                f"impaired_by needs days {(n, width)} and shares {(n,)}, got "
                f"{np.shape(days)} and {np.shape(share)}"
            )
        impaired[j] = days
        left[j] = share
    _run(
        "offset_response",
        remaining if net is not None else c(remaining, dtype=np.float64),
        c(capacity, dtype=np.float64),
        impaired,
        left,
        c(fraction, dtype=np.float64),
        c(lag, dtype=np.int64),
        np.full(n, -np.inf) if trigger is None else c(trigger, np.float64),
        np.empty(0) if volume is None else c(volume, dtype=np.float64),
        float(days_per_step),
        out,
        np.zeros((0, 0)) if net is None else net,
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
    factor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asset paths from their drivers, with the daily cross moments (numpy).

    Each asset's daily move is ``weights @ (noise * factor)`` (times ``boost`` on stressed
    days) plus the loadings on oil's ordinary shock and on the daily changes of
    ``event_log`` and ``risk_off``, plus the drift; the moves are summed into paths.
    :func:`combine_assets_drawn` draws the shocks and runs this in one compiled pass.

    Parameters
    ----------
    noise
        Unit residual shocks, path by path: ``(n_paths, k, n_steps)``.
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
    factor
        Optional factor of each path and day's shocks, ``(n_paths, n_steps)``: from
        :func:`t_factors`, for Student-t shocks.

    Returns
    -------
    paths
        Cumulative moves, ``(k, n_paths, n_steps + 1)``, first column zero.
    total, cross
        Sums of the daily moves of Brent then each asset, ``(k + 1,)``, and of their
        products, ``(k + 1, k + 1)``: for :class:`~simulator.reduce.CrossMoments`.
    extreme
        Largest absolute path value per asset (``inf`` if any is NaN), ``(k,)``.
    sums
        Each path's sums of the daily moves and of their products, as from
        :func:`path_sums` on Brent's daily log move then the assets' moves,
        ``(n_paths, m)`` with ``m = (k + 1) + (k + 1) (k + 2) / 2``.
    """
    n, k, n_steps = noise.shape
    if factor is not None and factor.shape != (n, n_steps):
        raise ValueError(f"factor must be {(n, n_steps)} for noise of {noise.shape}")
    out = _combined_outputs(k, n, n_steps)
    numpy_combine_assets(
        noise,
        weights,
        boost,
        stressed,
        ordinary,
        event_log,
        risk_off,
        loadings,
        drift,
        oil_log,
        np.zeros((0, 0)) if factor is None else factor,
        *out,
    )
    return out


def combine_assets_drawn(
    noise_rng: np.random.Generator,
    mixing_rng: np.random.Generator,
    df: np.ndarray,
    stress_scale: float,
    weights: np.ndarray,
    boost: np.ndarray,
    stressed: np.ndarray,
    ordinary: np.ndarray,
    event_log: np.ndarray,
    risk_off: np.ndarray,
    loadings: np.ndarray,
    drift: np.ndarray,
    oil_log: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`combine_assets` on multivariate Student-t residual shocks that it draws.

    The unit normals are ``noise_rng``'s, ``(n_paths, k, n_steps)`` in C order (path by
    path); the mixing factors are :func:`t_factors` ``(mixing_rng, df, n_steps, scale)``
    with ``scale`` ``stress_scale`` on stressed days and 1 on the others. Compiled, with
    both generators on SFC64 (the engine's), it runs in one pass that draws each path's
    shocks into cache (:mod:`simulator.drawing_kernels`); otherwise it draws the arrays and
    runs :func:`combine_assets`. Both leave the generators in the same state and give the
    same results to rounding.

    Parameters
    ----------
    noise_rng, mixing_rng
        Generators of the normals and of the mixing gammas.
    df
        Degrees of freedom per path, each above 2, ``(n_paths,)``.
    stress_scale
        Factor on every residual shock of a stressed day.
    weights, boost, stressed, ordinary, event_log, risk_off, loadings, drift, oil_log
        As for :func:`combine_assets`.
    """
    k = weights.shape[0]
    n, n_steps = stressed.shape
    if df.shape != (n,) or not np.all(df > 2.0):
        raise ValueError(f"df must be {(n,)}, each above 2")
    rngs = (noise_rng, mixing_rng)
    if _ACTIVE.get() and all(type(r.bit_generator) is np.random.SFC64 for r in rngs):
        from simulator import drawing_kernels

        out = _combined_outputs(k, n, n_steps)
        c = np.ascontiguousarray
        drawing_kernels.run(
            _compiled().sfc64_combine_assets,
            rngs,
            c(df / 2.0, dtype=np.float64),
            c((df - 2.0) / 2.0, dtype=np.float64),
            float(stress_scale),
            c(weights, dtype=np.float64),
            c(boost, dtype=np.float64),
            c(stressed, dtype=np.bool_),
            c(ordinary, dtype=np.float64),
            c(event_log, dtype=np.float64),
            c(risk_off, dtype=np.float64),
            c(loadings, dtype=np.float64),
            c(drift, dtype=np.float64),
            c(oil_log, dtype=np.float64),
            *out,
        )
        return out
    noise = np.empty((n, k, n_steps))
    standard_normal(noise_rng, noise)
    scale = np.where(stressed, stress_scale, 1.0) if stress_scale != 1.0 else None
    factor = t_factors(mixing_rng, df, n_steps, scale)
    return combine_assets(
        noise,
        weights,
        boost,
        stressed,
        ordinary,
        event_log,
        risk_off,
        loadings,
        drift,
        oil_log,
        factor,
    )


def _combined_outputs(
    k: int, n: int, n_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Empty ``paths, total, cross, extreme, sums`` for :func:`combine_assets`."""
    return (
        np.empty((k, n, n_steps + 1)),
        np.empty(k + 1),
        np.empty((k + 1, k + 1)),
        np.empty(k),
        np.empty((n, (k + 1) + (k + 1) * (k + 2) // 2)),
    )


def markov_regimes(
    u: np.ndarray,
    initial: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    hold: np.ndarray,
    settle: np.ndarray | None = None,
) -> np.ndarray:
    """Run a two-state (calm/stressed) Markov chain per path, with days forced by events.

    Parameters
    ----------
    u
        Uniforms on [0, 1), day-major, ``(n_steps, n_paths)``: row 0 starts each chain,
        row ``t`` moves it on day ``t``.
    initial
        Probability of starting stressed, ``(n_paths,)``.
    p, q
        Daily probabilities of entering and of leaving stress, ``(n_paths,)``.
    hold
        Days an event holds the chain stressed, bool ``(n_steps, n_paths)``.
    settle
        Days an event sets it calm (on the first day no event holds it stressed), bool
        ``(n_steps, n_paths)``, or ``None``.

    Returns
    -------
    numpy.ndarray
        Stressed or not, bool ``(n_steps, n_paths)``, day-major like the inputs.
    """
    n_steps, n = u.shape
    if initial.shape != (n,) or p.shape != (n,) or q.shape != (n,) or hold.shape != u.shape:
        raise ValueError(f"initial, p and q must be {(n,)} and hold {u.shape}")
    if settle is not None and settle.shape != u.shape:
        raise ValueError(f"settle must be {u.shape}")
    out = np.empty((n_steps, n), dtype=np.bool_)
    c = np.ascontiguousarray
    _run(
        "markov_regimes",
        c(u, dtype=np.float64),
        c(initial, dtype=np.float64),
        c(p, dtype=np.float64),
        c(q, dtype=np.float64),
        c(hold, dtype=np.bool_),
        np.zeros((0, 0), dtype=np.bool_) if settle is None else c(settle, dtype=np.bool_),
        out,
    )
    return out


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
    if x.shape[0] > np.iinfo(np.int32).max:  # the compiled form counts in 32 bits
        raise ValueError(f"at most 2**31 - 1 paths per histogram, got {x.shape[0]:,}")
    low = np.empty(days.shape[0])
    high = np.empty(days.shape[0])
    counts, first = _run(
        "histogram_days",
        x,
        np.ascontiguousarray(days, dtype=np.int64),
        float(half),
        float(width),
        int(n_bins),
        low,
        high,
    )
    return counts, int(first), low, high


def oil_paths(
    z: np.ndarray,
    rho: np.ndarray,
    multiplier: np.ndarray,
    jumps: np.ndarray,
    step_sd: np.ndarray,
    phi: np.ndarray,
    long_sd: np.ndarray,
    long_drift: np.ndarray,
    premium: np.ndarray,
    supply: np.ndarray,
    log_spot: np.ndarray,
    factor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    r"""Brent's two factors and log price along each path.

    Step ``t`` (day ``t`` to ``t + 1``), with multiplier ``m``:

    .. math::
        s_{t+1} = \phi s_t + z_0 m \sigma_s + J_t, \qquad
        l_{t+1} = l_t + (\rho z_0 + \sqrt{1 - \rho^2} z_1) m \sigma_l + \mu_l,

    and log Brent is ``s + l + premium + supply + log(spot)``.

    Parameters
    ----------
    z
        Unit shocks of the two factors, ``(2, n_paths, n_steps)``.
    rho, step_sd, phi, long_sd, long_drift, log_spot
        Per path: factor correlation, short factor's daily shock sd and AR coefficient,
        long factor's daily sd and drift per day, log spot, ``(n_paths,)``.
    multiplier, jumps
        Regime volatility multiplier and summed log jumps, ``(n_paths, n_steps)``.
    premium, supply
        Event risk premia and supply effect, log, ``(n_paths, n_steps + 1)``.
    factor
        Optional factor of each path and day's shocks, ``(n_paths, n_steps)`` (from
        :func:`t_factors`): the same as passing ``z * factor``, bit for bit.

    Returns
    -------
    log_price, ordinary
        Log Brent and the factors' sum, ``(n_paths, n_steps + 1)``.
    shock
        Each step's ordinary shock (both factors' diffusion and jumps),
        ``(n_paths, n_steps)``.
    low, high
        Smallest and largest log price (``high`` is ``inf`` if any is NaN).
    """
    n, n_steps = multiplier.shape
    if factor is not None and factor.shape != (n, n_steps):
        raise ValueError(f"factor must be {(n, n_steps)} for {n} paths of {n_steps} steps")
    log_price = np.empty((n, n_steps + 1))
    ordinary = np.empty((n, n_steps + 1))
    shock = np.empty((n, n_steps))
    extremes = np.empty(2)
    c = np.ascontiguousarray
    _run(
        "oil_paths",
        c(z, dtype=np.float64),
        c(rho, dtype=np.float64),
        c(multiplier, dtype=np.float64),
        c(jumps, dtype=np.float64),
        c(step_sd, dtype=np.float64),
        c(phi, dtype=np.float64),
        c(long_sd, dtype=np.float64),
        c(long_drift, dtype=np.float64),
        c(premium, dtype=np.float64),
        c(supply, dtype=np.float64),
        c(log_spot, dtype=np.float64),
        np.zeros((0, 0)) if factor is None else c(factor, dtype=np.float64),
        log_price,
        ordinary,
        shock,
        extremes,
    )
    return log_price, ordinary, shock, float(extremes[0]), float(extremes[1])


def ou_paths(
    shocks: np.ndarray,
    sd: np.ndarray,
    phi: np.ndarray,
    multiplier: np.ndarray | None = None,
    jumps: np.ndarray | None = None,
) -> np.ndarray:
    """Paths of ``x[t + 1] = phi * x[t] + shocks[t] * multiplier[t] * sd + jumps[t]`` from
    ``x[0] = 0``, without building the day's shock as an array of its own.

    Parameters
    ----------
    shocks
        Unit shocks, ``(n_paths, n_steps)``.
    sd, phi
        Standard deviation of a day's shock (units of ``x``) and autoregressive coefficient,
        per path, ``(n_paths,)``.
    multiplier, jumps
        Regime volatility multipliers and jumps (units of ``x``), ``(n_paths, n_steps)``;
        ``None``: ones (no regimes) and zeros (no jumps).

    Returns
    -------
    ndarray
        ``(n_paths, n_steps + 1)``, first column zero.
    """
    n, n_steps = shocks.shape
    out = np.empty((n, n_steps + 1))

    def given(a: np.ndarray | None) -> np.ndarray:
        if a is None:
            return np.empty((0, 0))
        return np.ascontiguousarray(np.broadcast_to(a, (n, n_steps)), dtype=np.float64)

    _run(
        "ou_paths",
        np.ascontiguousarray(shocks, dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(sd, (n,)), dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(phi, (n,)), dtype=np.float64),
        given(multiplier),
        given(jumps),
        out,
    )
    return out


def event_effects(
    rows: np.ndarray,
    start: np.ndarray,
    supply: np.ndarray,
    active: np.ndarray,
    forced: np.ndarray,
    *,
    profile: str | None = None,
    change: np.ndarray | None = None,
    until: np.ndarray | None = None,
    shape: np.ndarray | None = None,
    stress_length: np.ndarray | None = None,
) -> None:
    """One event's supply change, activity and forced stress on the paths it hits, in place.

    Parameters
    ----------
    rows, start
        Paths the event hits (distinct) and its start day on each, int ``(m,)``.
    supply
        Supply change to add to, mb/d, ``(n_paths, n_days)``.
    active
        Marked ``True`` on ``start <= t < until``, bool ``(n_paths, n_days)``.
    forced
        Steps forced stressed: ``start - 1 <= t < start - 1 + stress_length``, bool
        ``(n_paths, n_days - 1)``.
    profile
        ``None`` (no supply effect), ``"step"``, ``"ramp"`` (``shape``: ramp days; the
        change is ``min(1, (t - start + 1) / shape)`` of its size) or ``"decay"``
        (``shape``: half-life days, for every day after the start).
    change, until, shape, stress_length
        Per hit path: change (mb/d), end of the active spell (day, may be ``inf``),
        profile parameter, and days of forced stress (or ``None``).
    """
    m = rows.shape[0]
    mode = {None: 0, "step": 1, "ramp": 2, "decay": 3}[profile]
    f = np.ascontiguousarray
    _run(
        "event_effects",
        f(rows, dtype=np.int64),
        f(start, dtype=np.int64),
        mode,
        np.zeros(m) if change is None else f(change, dtype=np.float64),
        np.full(m, np.inf) if until is None else f(until, dtype=np.float64),
        np.ones(m) if shape is None else f(shape, dtype=np.float64),
        np.empty(0) if stress_length is None else f(stress_length, dtype=np.float64),
        supply,
        active,
        forced,
    )


def standard_normal(rng: np.random.Generator, out: np.ndarray) -> None:
    """Fill ``out`` with standard normals from ``rng``, as ``rng.standard_normal(out=out)``.

    Parameters
    ----------
    rng
        The generator; its state advances exactly as numpy's own fill would advance it,
        so later draws from it are unchanged too.
    out
        A C-contiguous float64 array of any shape, filled in C order.
    """
    if not (out.flags.c_contiguous and out.dtype == np.float64):
        raise ValueError("out must be a C-contiguous float64 array")
    _run("standard_normal", rng, out.reshape(-1))


def t_factors(
    rng: np.random.Generator, df: np.ndarray, n_steps: int, scale: np.ndarray | None = None
) -> np.ndarray:
    """The Student-t mixing factor of each path and step, drawn from ``rng``.

    Draws one mixing variable ``G ~ Gamma(df / 2)`` per path and step (the numbers of
    ``rng.standard_gamma``, in C order over ``(n_paths, n_steps)``) and returns
    ``sqrt(((df - 2) / 2) / G)``, times ``scale`` if given: unit normals times it are
    unit-variance multivariate t shocks (see :class:`simulator.processes.StudentTInnovations`).

    Parameters
    ----------
    rng
        The generator; the compiled form draws exactly the numbers numpy's would and leaves
        it in the same state.
    df
        Degrees of freedom per path, each above 2, shape ``(n_paths,)``.
    n_steps
        Steps per path.
    scale
        Optional factor per path and step (a regime's vol multiplier),
        ``(n_paths, n_steps)``.

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_steps)``. Both forms give it bit for bit: the compiled one runs
        numpy's gamma method (Marsaglia and Tsang's, for shapes above 1) on the same bit
        generator and takes each quotient, root and product in the same order.
    """
    n = df.shape[0]
    if df.ndim != 1 or not np.all(df > 2.0):
        raise ValueError("df must be one value per path, each above 2")
    if scale is not None and scale.shape != (n, n_steps):
        raise ValueError(f"scale must be {(n, n_steps)} for {n} paths of {n_steps} steps")
    shape = np.ascontiguousarray(df / 2.0, dtype=np.float64)
    c = np.ascontiguousarray((df - 2.0) / 2.0, dtype=np.float64)
    scale = np.zeros((0, 0)) if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
    factor = np.empty((n, n_steps))
    _run("t_factors", rng, shape, c, scale, factor)
    return factor


def t_mixing(
    rng: np.random.Generator,
    out: np.ndarray,
    df: np.ndarray,
    scale: np.ndarray | None = None,
) -> None:
    """Turn unit normals into unit-variance multivariate Student-t shocks, in place.

    ``out`` (standard normals, ``(k, n_paths, n_steps)``) is multiplied by
    :func:`t_factors` ``(rng, df, n_steps, scale)``, every component of a path and step by
    the same factor.
    """
    _, n, n_steps = out.shape
    if df.shape != (n,):
        raise ValueError(f"df must be {(n,)} for out of {out.shape}")
    out *= t_factors(rng, df, n_steps, scale)


def warm_up() -> None:
    """Compile (or load from the cache) every kernel the engine runs, e.g. before forking
    workers (:func:`ou_paths`, for the short-term factor alone, compiles on first use)."""
    with compiled():
        target = np.zeros((1, 2))
        one = np.ones(1)
        add_decaying(target, np.zeros(1, np.int64), one, np.zeros(1, np.int64), one)
        offset_response(
            target,
            np.ones((1, 1)),
            one,
            np.zeros(1, np.int64),
            None,
            None,
            1.0,
            [(np.zeros((1, 2), bool), one)],
            np.zeros((1, 2)),
        )
        histogram_days(target, np.zeros(1, np.int64), 1.0, 0.5, 4)
        standard_normal(np.random.Generator(np.random.SFC64(0)), np.zeros(1))
        t_factors(np.random.Generator(np.random.SFC64(0)), np.full(1, 5.0), 1)
        markov_regimes(np.zeros((1, 1)), one, one, one, np.zeros((1, 1), bool))
        z1 = np.zeros((1, 1))
        flags = np.zeros((1, 2), bool)
        event_effects(
            np.zeros(1, np.int64),
            np.zeros(1, np.int64),
            target,
            flags,
            flags[:, :1],
            profile="step",
        )
        oil_paths(np.zeros((2, 1, 1)), one, z1, z1, one, one, one, one, target, target, one)
        combine_assets_drawn(
            np.random.Generator(np.random.SFC64(0)),
            np.random.Generator(np.random.SFC64(1)),
            np.full(1, 5.0),
            1.5,
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
