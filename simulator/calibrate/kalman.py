r"""The two-factor model of the log price, fitted by maximum likelihood through a Kalman filter.

Notes
-----
In trading days, with :math:`y_t` the observed log price,

.. math::

    y_t = \chi_t + \xi_t, \qquad
    \chi_t = \phi \chi_{t-1} + \eta_{1t}, \qquad
    \xi_t = \xi_{t-1} + \mu + \eta_{2t},

with :math:`(\eta_1, \eta_2)` Gaussian, sds :math:`s_1, s_2` per day and correlation
:math:`\rho`; :math:`\phi = 2^{-1/h}` for a half-life of :math:`h` days. The price is observed
without error. Each segment of the sample is filtered from its first observation with
:math:`\chi_0 \sim N(0, s_1^2 / (1 - \phi^2))` (stationary) and :math:`\xi_0 = y_0 - \chi_0`,
so the likelihood is that of the daily returns given the first price.

On spot prices alone the returns follow an ARMA(1, 1) whose three parameters
(:math:`\phi` and two autocovariances) cannot pin down :math:`s_1, s_2` *and* :math:`\rho`:
:math:`\rho` is not identified and is held fixed (0 by default). Futures curves would
identify it (Schwartz and Smith, 2000).

Real returns are fat-tailed and heteroskedastic, so the Gaussian likelihood is a
quasi-likelihood: standard errors are the robust sandwich
:math:`A^{-1} B A^{-1}` (A: Hessian, B: outer product of per-day scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.calibrate.mle import Estimate, MLEResult, delta_method, maximise
from simulator.processes import DAYS_PER_YEAR

__all__ = ["TwoFactorFit", "fit_two_factor", "kalman_loglik"]

_LOG_2PI = math.log(2.0 * math.pi)
MIN_HALF_LIFE = 0.5
MAX_HALF_LIFE = 5000.0


def kalman_loglik(
    log_price: np.ndarray,
    phi: float,
    s1: float,
    s2: float,
    rho: float = 0.0,
    mu: float = 0.0,
    contributions: bool = False,
) -> float | np.ndarray:
    """Gaussian log-likelihood of ``log_price[1:]`` given ``log_price[0]``.

    Parameters
    ----------
    log_price
        One contiguous segment of daily log prices, ``(n,)``.
    phi
        Daily AR coefficient of the short factor, in ``[0, 1)``.
    s1, s2
        Daily innovation sds of the short and long factors (log units).
    rho
        Correlation of the two innovations.
    mu
        Daily drift of the long factor.
    contributions
        Return each day's contribution, ``(n - 1,)``, instead of the sum.
    """
    q11, q22, q12 = s1 * s1, s2 * s2, rho * s1 * s2
    phi2 = phi * phi
    v = q11 / (1.0 - phi2)
    a, b, c = v, -v, v
    mc, mx = 0.0, float(log_price[0])
    ll = 0.0
    out = np.empty(max(log_price.size - 1, 0)) if contributions else None
    for t, y in enumerate(log_price[1:].tolist()):
        mc = phi * mc
        mx = mx + mu
        a = phi2 * a + q11
        b = phi * b + q12
        c = c + q22
        ab = a + b
        bc = b + c
        s = ab + bc
        e = y - mc - mx
        k1 = ab / s
        k2 = bc / s
        mc += k1 * e
        mx += k2 * e
        a -= ab * k1
        b -= ab * k2
        c -= bc * k2
        li = -0.5 * (_LOG_2PI + math.log(s) + e * e / s)
        ll += li
        if out is not None:
            out[t] = li
    return out if out is not None else ll


@dataclass(frozen=True)
class TwoFactorFit:
    """Two-factor Kalman MLE.

    Attributes
    ----------
    half_life
        Short factor's half-life, trading days.
    sd_short, sd_long
        Daily innovation sds of the factors (log units), unconditional (all regimes).
    drift
        Drift of the long factor, per year (log).
    rho
        Factor correlation (held fixed; se ``nan``).
    share_long
        Long factor's share of the daily return variance.
    mle
        The optimum (theta = log h, log s1, log s2, 1000 mu).
    """

    half_life: Estimate
    sd_short: Estimate
    sd_long: Estimate
    drift: Estimate
    rho: Estimate
    share_long: Estimate
    mle: MLEResult

    @property
    def phi(self) -> float:
        return float(2.0 ** (-1.0 / self.half_life.value))


def _unpack(theta: np.ndarray) -> tuple[float, float, float, float]:
    h, s1, s2 = (math.exp(x) for x in theta[:3])
    return 2.0 ** (-1.0 / h), s1, s2, theta[3] / 1000.0


def daily_return_variance(phi: float, s1: float, s2: float, rho: float) -> float:
    """Stationary variance of a daily log return under the two-factor model."""
    return 2.0 * s1 * s1 / (1.0 + phi) + s2 * s2 + 2.0 * rho * s1 * s2


def fit_two_factor(segments: list[np.ndarray], rho: float = 0.0) -> TwoFactorFit:
    """Fit half-life, factor sds and drift to daily log prices.

    Parameters
    ----------
    segments
        Contiguous pieces of the daily log price, each ``(n_i,)`` with ``n_i >= 2``.
    rho
        Factor correlation, held fixed (not identified from spot prices).
    """
    segs = [s for s in segments if s.size >= 2]
    n = sum(s.size - 1 for s in segs)
    rets = np.concatenate([np.diff(s) for s in segs])
    sd = float(rets.std())
    mean = float(rets.mean())

    def negll(theta: np.ndarray) -> float:
        phi, s1, s2, mu = _unpack(theta)
        return -sum(float(kalman_loglik(s, phi, s1, s2, rho, mu)) for s in segs)

    bounds = [
        (math.log(MIN_HALF_LIFE), math.log(MAX_HALF_LIFE)),
        (math.log(sd * 1e-3), math.log(sd * 10)),
        (math.log(sd * 1e-3), math.log(sd * 10)),
        (-1000 * 10 * sd, 1000 * 10 * sd),
    ]
    starts = [
        np.array([math.log(h0), math.log(sd * f), math.log(sd * math.sqrt(1 - f * f)), 1000 * mean])
        for h0, f in ((20.0, 0.6), (100.0, 0.4), (5.0, 0.5))
    ]
    res = maximise(negll, starts, bounds, n, "two-factor Kalman fit")
    res = _sandwich(res, segs, rho)

    def natural(theta: np.ndarray) -> np.ndarray:
        phi, s1, s2, mu = _unpack(theta)
        var = daily_return_variance(phi, s1, s2, rho)
        return np.array(
            [math.exp(theta[0]), s1, s2, mu * DAYS_PER_YEAR, (s2 * s2 + rho * s1 * s2) / var]
        )

    val, se = delta_method(natural, res.theta, res.cov)
    return TwoFactorFit(
        half_life=Estimate(val[0], se[0], "trading days"),
        sd_short=Estimate(val[1], se[1], "per day"),
        sd_long=Estimate(val[2], se[2], "per day"),
        drift=Estimate(val[3], se[3], "per year"),
        rho=Estimate(rho, math.nan, "correlation"),
        share_long=Estimate(val[4], se[4], "fraction"),
        mle=res,
    )


def _sandwich(res: MLEResult, segs: list[np.ndarray], rho: float) -> MLEResult:
    """Replace the inverse-Hessian covariance by the robust sandwich ``A^-1 B A^-1``."""
    free = np.isfinite(np.diag(res.cov))
    if not free.any():
        return res

    def contrib(theta: np.ndarray) -> np.ndarray:
        phi, s1, s2, mu = _unpack(theta)
        return np.concatenate(
            [np.asarray(kalman_loglik(s, phi, s1, s2, rho, mu, contributions=True)) for s in segs]
        )

    k = res.theta.size
    scores = np.zeros((sum(s.size - 1 for s in segs), k))
    for i in np.flatnonzero(free):
        h = 1e-5 * max(1.0, abs(res.theta[i]))
        e = np.zeros(k)
        e[i] = h
        scores[:, i] = (contrib(res.theta + e) - contrib(res.theta - e)) / (2 * h)
    idx = np.flatnonzero(free)
    a_inv = res.cov[np.ix_(idx, idx)]
    b = scores[:, idx].T @ scores[:, idx]
    cov = np.full_like(res.cov, np.nan)
    cov[np.ix_(idx, idx)] = a_inv @ b @ a_inv
    return MLEResult(res.theta, res.loglik, cov, res.at_bound, res.n_obs)
