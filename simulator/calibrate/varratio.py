r"""Variance-ratio fit of the half-life and of the split of daily variance between the factors.

Notes
-----
With the short factor :math:`\chi_{t+1} = \phi \chi_t + e_t` (daily sd :math:`s`,
:math:`\phi = 2^{-1/h}`) stationary and the long factor a random walk independent of it,
the variance of a :math:`k`-day log return is

.. math::

    V(k) = \frac{2 s^2 (1 - \phi^k)}{1 - \phi^2} + k\, s_\xi^2 ,

so with :math:`f` the long factor's share of the daily variance :math:`V(1)`, the variance
ratio :math:`VR(k) = V(k) / (k V(1))` is

.. math::

    VR(k) = f + (1 - f) \frac{1 - \phi^k}{k (1 - \phi)} .

The sample ratios use overlapping :math:`k`-day returns inside each contiguous segment,
each centred on its own mean. :math:`(h, f)` minimise the unweighted squared distance
between sample and model ratios over :math:`k \in \{5, 21, 63, 126, 252\}` (``k = 1`` is 1
by construction; horizons with fewer than ``k`` returns are dropped). For a fixed
:math:`h` the model is linear in :math:`f`, so :math:`f` is profiled out in closed form and
:math:`h` found on a log grid, then refined.

Standard errors: a block bootstrap over calendar years. Each ``k``-day return is assigned
to the year in which it starts; the years are resampled with replacement, the ratios
recomputed from the resampled sums and the fit repeated. The covariance of
:math:`(\log h, f)` over the resamples gives the standard errors (the half-life's by the
delta method, ``h * se(log h)``); the 5–95% percentile interval is reported too. With ~10
years of data the bootstrap has ~10 blocks, so the errors are rough, and the long-horizon
returns that straddle two years make neighbouring blocks dependent (slightly too small
errors). Factor correlation is taken as 0 here (spot prices do not identify it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from simulator.calibrate.mle import Estimate

__all__ = ["HORIZONS", "VRFit", "fit_variance_ratio", "model_vr", "sample_vr"]

#: Horizons (trading days) of the fit; 1 is the normalisation.
HORIZONS = (5, 21, 63, 126, 252)
MIN_HALF_LIFE = 1.0
MAX_HALF_LIFE = 2000.0
_GRID = np.geomspace(MIN_HALF_LIFE, MAX_HALF_LIFE, 1200)


def model_vr(k: np.ndarray | float, half_life: float, f: float) -> np.ndarray:
    """Model variance ratio ``VR(k)`` for half-life ``half_life`` days and long share ``f``."""
    return f + (1.0 - f) * _ou_ratio(np.asarray(k, dtype=float), np.asarray(half_life, float))


def _ou_ratio(k: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``(1 - phi^k) / (k (1 - phi))``: the OU factor's own variance ratio (broadcasts)."""
    lphi = -math.log(2.0) / h
    return np.expm1(k * lphi) / (k * np.expm1(lphi))


@dataclass(frozen=True)
class _Moments:
    """Per-block sums of ``k``-day returns: counts, sums and sums of squares, ``(K+1, B)``."""

    ks: np.ndarray
    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray

    def vr(self, w: np.ndarray) -> np.ndarray:
        """Variance ratios at ``ks[1:]`` for block weights ``w``, ``(..., B)`` -> ``(..., K)``."""
        n = w @ self.n.T
        m1 = (w @ self.s1.T) / n
        var = (w @ self.s2.T) / n - m1 * m1
        return var[..., 1:] / (self.ks[1:] * var[..., :1])


def _moments(
    segments: list[np.ndarray], blocks: list[np.ndarray], horizons: tuple[int, ...]
) -> _Moments:
    labels = np.unique(np.concatenate(blocks))
    ks = [1]
    for k in horizons:
        if sum(max(s.size - k, 0) for s in segments) >= k:
            ks.append(k)
    n = np.zeros((len(ks), labels.size))
    s1 = np.zeros_like(n)
    s2 = np.zeros_like(n)
    for seg, blk in zip(segments, blocks, strict=True):
        idx = np.searchsorted(labels, blk)
        for i, k in enumerate(ks):
            if seg.size <= k:
                continue
            d = seg[k:] - seg[:-k]
            b = idx[:-k]  # a k-day return belongs to the block where it starts
            n[i] += np.bincount(b, minlength=labels.size)
            s1[i] += np.bincount(b, d, minlength=labels.size)
            s2[i] += np.bincount(b, d * d, minlength=labels.size)
    keep = n[0] > 0  # a block with no daily return (e.g. a last lone price) is no block
    return _Moments(np.array(ks, dtype=float), n[:, keep], s1[:, keep], s2[:, keep])


def _profile(vr: np.ndarray, ks: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best ``f`` (clipped to [0, 1]) and squared error for every ``h`` in ``grid``.

    ``vr``: ``(..., K)``; returns ``(..., G)`` arrays.
    """
    g = _ou_ratio(ks[None, :], grid[:, None])  # (G, K)
    a = 1.0 - g
    y = vr[..., None, :] - g  # (..., G, K)
    f = np.clip((y * a).sum(-1) / (a * a).sum(-1), 0.0, 1.0)
    sse = ((y - f[..., None] * a) ** 2).sum(-1)
    return f, sse


def _fit(vr: np.ndarray, ks: np.ndarray) -> tuple[float, float, float]:
    """Point fit ``(h, f, sse)``: grid, then a bounded scalar refinement in ``log h``."""
    f, sse = _profile(vr, ks, _GRID)
    j = int(np.argmin(sse))
    lo, hi = math.log(_GRID[max(j - 1, 0)]), math.log(_GRID[min(j + 1, _GRID.size - 1)])

    def obj(lh: float) -> float:
        return float(_profile(vr, ks, np.array([math.exp(lh)]))[1][0])

    if hi > lo:
        res = optimize.minimize_scalar(
            obj, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}
        )
        if res.fun <= sse[j]:
            h = math.exp(float(res.x))
            fh = float(_profile(vr, ks, np.array([h]))[0][0])
            return h, fh, float(res.fun)
    return float(_GRID[j]), float(f[j]), float(sse[j])


@dataclass(frozen=True)
class VRFit:
    """Variance-ratio fit.

    Attributes
    ----------
    half_life
        Short factor's half-life, trading days (se: year-block bootstrap, delta method).
    share_long
        Long factor's share ``f`` of the daily return variance.
    horizons
        Horizons ``k`` used (days).
    vr, vr_se
        Sample variance ratios at ``horizons`` and their bootstrap standard errors.
    fitted
        Model ratios at the fit.
    rmse
        Root mean squared distance between sample and model ratios.
    theta, cov
        ``(log h, f)`` and their bootstrap covariance (``nan`` if at a bound).
    at_bound
        ``(h at a bound, f at 0 or 1)``.
    n_blocks, n_boot
        Calendar-year blocks and bootstrap resamples.
    half_life_interval, share_interval
        Bootstrap 5–95% percentile intervals.
    """

    half_life: Estimate
    share_long: Estimate
    horizons: tuple[int, ...]
    vr: np.ndarray
    vr_se: np.ndarray
    fitted: np.ndarray
    rmse: float
    theta: np.ndarray
    cov: np.ndarray
    at_bound: np.ndarray
    n_blocks: int
    n_boot: int
    half_life_interval: tuple[float, float] = field(default=(math.nan, math.nan))
    share_interval: tuple[float, float] = field(default=(math.nan, math.nan))

    def as_dict(self) -> dict[str, object]:
        return {
            "half_life": self.half_life.as_dict(),
            "share_long": self.share_long.as_dict(),
            "half_life_interval_90": list(self.half_life_interval),
            "share_long_interval_90": list(self.share_interval),
            "horizons": list(self.horizons),
            "variance_ratio": [float(x) for x in self.vr],
            "variance_ratio_se": [float(x) for x in self.vr_se],
            "fitted": [float(x) for x in self.fitted],
            "rmse": self.rmse,
            "n_blocks": self.n_blocks,
            "n_boot": self.n_boot,
            "se": "block bootstrap over calendar years",
        }


def sample_vr(segments: list[np.ndarray], horizons: tuple[int, ...] = HORIZONS) -> dict[int, float]:
    """Sample variance ratios of contiguous log-price ``segments`` (one block)."""
    blocks = [np.zeros(s.size, dtype=int) for s in segments]
    mom = _moments(segments, blocks, horizons)
    vr = mom.vr(np.ones(mom.n.shape[1]))
    return {int(k): float(v) for k, v in zip(mom.ks[1:], vr, strict=True)}


def fit_variance_ratio(
    segments: list[np.ndarray],
    blocks: list[np.ndarray],
    horizons: tuple[int, ...] = HORIZONS,
    n_boot: int = 500,
    seed: int = 0,
) -> VRFit:
    """Fit ``(h, f)`` to the variance ratios of the log price.

    Parameters
    ----------
    segments
        Contiguous pieces of the daily log price, each ``(n_i,)``.
    blocks
        Bootstrap block label (e.g. calendar year) of each price, same shapes.
    horizons
        Horizons of the fit (days); those with fewer than ``k`` returns are dropped.
    n_boot, seed
        Bootstrap resamples and seed.
    """
    mom = _moments(segments, blocks, horizons)
    ks = mom.ks[1:]
    nb = mom.n.shape[1]
    vr = mom.vr(np.ones(nb))
    h, f, sse = _fit(vr, ks)
    fitted = model_vr(ks, h, f)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(nb, np.full(nb, 1.0 / nb), size=n_boot).astype(float)
    w = w[np.all(w @ mom.n.T > 1, axis=1)]  # every horizon needs returns
    vrb = mom.vr(w)
    fb, sseb = _profile(vrb, ks, _GRID)
    j = np.argmin(sseb, axis=1)
    hb = _GRID[j]
    fb = fb[np.arange(j.size), j]
    at_bound = np.array(
        [h <= MIN_HALF_LIFE * 1.01 or h >= MAX_HALF_LIFE * 0.99, f <= 1e-6 or f >= 1 - 1e-6]
    )
    theta = np.array([math.log(h), f])
    if nb >= 2 and hb.size >= 10:
        cov = np.cov(np.vstack([np.log(hb), fb]))
        vr_se = vrb.std(axis=0, ddof=1)
        hi = (float(np.quantile(hb, 0.05)), float(np.quantile(hb, 0.95)))
        fi = (float(np.quantile(fb, 0.05)), float(np.quantile(fb, 0.95)))
    else:
        cov = np.full((2, 2), math.nan)
        vr_se = np.full(ks.size, math.nan)
        hi = fi = (math.nan, math.nan)
    cov[at_bound, :] = math.nan
    cov[:, at_bound] = math.nan
    return VRFit(
        half_life=Estimate(h, h * math.sqrt(cov[0, 0]), "trading days"),
        share_long=Estimate(f, math.sqrt(cov[1, 1]), "fraction"),
        horizons=tuple(int(k) for k in ks),
        vr=vr,
        vr_se=vr_se,
        fitted=fitted,
        rmse=math.sqrt(sse / ks.size),
        theta=theta,
        cov=cov,
        at_bound=at_bound,
        n_blocks=nb,
        n_boot=int(hb.size),
        half_life_interval=hi,
        share_interval=fi,
    )
