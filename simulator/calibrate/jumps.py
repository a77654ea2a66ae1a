"""Jumps counted by a threshold: days whose move exceeds k trailing standard deviations.

A model-free cross-check of the likelihood fit in :mod:`simulator.calibrate.regimes`: a day
is a jump when ``|r_t| > k * sd(r_{t-w}, ..., r_{t-1})`` (trailing window, day ``t``
excluded), with ``k = 4`` and ``w = 63`` trading days by default.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from simulator.calibrate.mle import Estimate
from simulator.processes import DAYS_PER_YEAR

__all__ = ["ThresholdJumps", "count_jumps", "trailing_sd"]


def trailing_sd(r: np.ndarray, window: int) -> np.ndarray:
    """Sd of the ``window`` returns before each day, ``(n - window,)`` for days ``window..n-1``.

    Works along axis 0, so ``r`` may be ``(n,)`` or ``(n, n_paths)``.
    """
    pad = np.zeros((1, *r.shape[1:]))
    c1 = np.cumsum(np.concatenate([pad, r]), axis=0)
    c2 = np.cumsum(np.concatenate([pad, r * r]), axis=0)
    s1 = c1[window:-1] - c1[: -window - 1]
    s2 = c2[window:-1] - c2[: -window - 1]
    return np.sqrt(np.maximum((s2 - s1 * s1 / window) / (window - 1), 0.0))


@dataclass(frozen=True)
class ThresholdJumps:
    """Jump days found by the threshold rule.

    Attributes
    ----------
    k, window
        Threshold in trailing sds and the window, trading days.
    days
        Days screened (those with a full window before them).
    dates, sizes
        Date and log return of each jump day.
    intensity
        Jumps per year (252 days), se from the Poisson count.
    mean_abs
        Mean absolute log size of jump days (the Laplace scale's MLE if all of the move
        were the jump), se ``sd / sqrt(count)``.
    """

    k: float
    window: int
    days: int
    dates: np.ndarray
    sizes: np.ndarray
    intensity: Estimate
    mean_abs: Estimate


def count_jumps(
    r: np.ndarray, dates: np.ndarray, starts: np.ndarray, k: float = 4.0, window: int = 63
) -> ThresholdJumps:
    """Apply the rule within each segment of ``r`` ``(n,)`` (segments begin at ``starts``)."""
    bounds = [*starts.tolist(), r.size]
    hit_d: list[np.ndarray] = []
    hit_r: list[np.ndarray] = []
    days = 0
    for a, b in itertools.pairwise(bounds):
        seg = r[a:b]
        if seg.size <= window:
            continue
        sd = trailing_sd(seg, window)
        idx = np.flatnonzero(np.abs(seg[window:]) > k * sd) + window
        hit_d.append(dates[a:b][idx])
        hit_r.append(seg[idx])
        days += seg.size - window
    d = np.concatenate(hit_d) if hit_d else np.array([], dtype="datetime64[D]")
    s = np.concatenate(hit_r) if hit_r else np.array([])
    n = s.size
    per_year = DAYS_PER_YEAR / max(days, 1)
    intensity = Estimate(n * per_year, math.sqrt(n) * per_year if n else math.nan, "per year")
    if n:
        mean_abs = Estimate(
            float(np.abs(s).mean()),
            float(np.abs(s).std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan,
            "log return",
        )
    else:
        mean_abs = Estimate(math.nan, math.nan, "log return")
    return ThresholdJumps(k, window, days, d, s, intensity, mean_abs)
