"""Compiled kernels: each equals a closed form or a direct numpy statement of its rule, and
its compiled form equals its plain-Python reference."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import kernels
from simulator.kernels import add_decaying, offset_response


def _decay_formula(
    shape: tuple[int, int], rows: np.ndarray, amp: np.ndarray, start: np.ndarray, hl: np.ndarray
) -> np.ndarray:
    days = np.arange(shape[1])[None, :]
    tau = days - start[:, None]
    values = np.where(tau >= 0, amp[:, None] * 2.0 ** (-np.maximum(tau, 0) / hl[:, None]), 0.0)
    out = np.zeros(shape)
    np.add.at(out, rows, values)
    return out


@pytest.mark.parametrize("half_life", ["ordinary", "tiny"])
def test_add_decaying_matches_the_exponential_formula(half_life: str) -> None:
    """amplitude * 2^(-(t - start) / h) on t >= start, 0 before, summed over impulses that
    share a row; starts beyond the last day add nothing. With half-lives of 0.05 days the
    impulse reaches the 1e-300 cut-off within the horizon (dropped values are below it).
    Error: about t units in the last place of the amplitude after t days."""
    rng = np.random.default_rng(3)
    m, shape = 300, (120, 127)
    rows = rng.integers(0, shape[0], size=m)  # repeated rows: impulses add up
    start = rng.integers(0, shape[1] + 5, size=m)
    amp = rng.normal(size=m)
    hl = rng.uniform(0.5, 200.0, size=m) if half_life == "ordinary" else np.full(m, 0.05)
    got = np.zeros(shape)
    add_decaying(got, rows, amp, start, hl)
    # Relative to the amplitudes (|amp| < 5): impulses sharing a row can cancel.
    expected = _decay_formula(shape, rows, amp, start, hl)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def _offset_formula(
    remaining: np.ndarray,
    capacity: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray | None,
    volume: np.ndarray | None,
    c: float,
) -> np.ndarray:
    """The rule in numpy statements, path by path and day by day."""
    width = remaining.shape[1]
    t = np.arange(width)[None, :] - lag[:, None]
    lagged = np.where(t >= 0, np.take_along_axis(remaining, np.maximum(t, 0), axis=1), 0.0)
    if trigger is not None:
        lagged = np.where(lagged > trigger[:, None], lagged, 0.0)
    response = np.minimum(np.minimum(fraction[:, None] * lagged, capacity), remaining)
    if volume is not None:
        used = np.minimum(np.cumsum(response, axis=1) * c, volume[:, None])
        response = np.diff(used, axis=1, prepend=0.0) / c
    return response


@pytest.mark.parametrize("trigger", [False, True])
@pytest.mark.parametrize("volume", [False, True])
@pytest.mark.parametrize("by_day", [False, True])
def test_offset_response_matches_the_rule(trigger: bool, volume: bool, by_day: bool) -> None:
    rng = np.random.default_rng(5)
    n, width = 80, 60
    remaining = np.maximum(rng.normal(0.5, 1.0, size=(n, width)), 0.0)
    capacity = rng.uniform(0.2, 1.5, size=(n, width if by_day else 1))
    fraction = rng.uniform(0.3, 1.0, size=n)
    lag = rng.integers(0, 70, size=n)
    trig = rng.uniform(0.0, 1.0, size=n) if trigger else None
    vol = rng.uniform(1.0, 30.0, size=n) if volume else None
    c = 365.25 / 252
    got = offset_response(remaining, capacity, fraction, lag, trig, vol, c)
    expected = _offset_formula(remaining, capacity, fraction, lag, trig, vol, c)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    if volume:
        assert np.all(got.sum(axis=1) * c <= vol * (1 + 1e-12))
        assert np.any(got.sum(axis=1) * c >= vol * (1 - 1e-12))  # some stock ran out


def test_compiled_kernels_equal_their_references() -> None:
    rng = np.random.default_rng(8)
    target = rng.normal(size=(20, 40))
    args = (
        rng.integers(0, 20, size=30),
        rng.normal(size=30),
        rng.integers(0, 45, size=30),
        rng.uniform(0.5, 50.0, size=30),
    )
    a, b = target.copy(), target.copy()
    add_decaying(a, *args)
    kernels.reference_add_decaying(b, *args)
    np.testing.assert_array_equal(a, b)

    remaining = np.maximum(rng.normal(0.5, 1.0, size=(20, 40)), 0.0)
    inputs = (
        remaining,
        rng.uniform(0.2, 1.5, size=(20, 40)),
        rng.uniform(0.3, 1.0, size=20),
        rng.integers(0, 50, size=20),
        rng.uniform(0.0, 1.0, size=20),
        rng.uniform(1.0, 30.0, size=20),
        1.5,
    )
    out = np.empty_like(remaining)
    kernels.reference_offset_response(*inputs, out)
    np.testing.assert_array_equal(offset_response(*inputs), out)
