"""Maximum-likelihood plumbing shared by the fits: optimise, invert the Hessian, delta method.

Every fit works in an unconstrained parameter vector ``theta`` (logs, logits) and reports
natural parameters with standard errors from the inverse Hessian of the negative
log-likelihood, carried over by the delta method with a numerical Jacobian.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from simulator.errors import RuntimeFailure

__all__ = ["Estimate", "MLEResult", "delta_method", "maximise", "numerical_hessian"]

Objective = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its standard error (``nan`` when not available) and unit."""

    value: float
    se: float
    unit: str

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Symmetric Wald interval ``value -/+ z se``."""
        z = float(stats.norm.ppf(0.5 + level / 2))
        return self.value - z * self.se, self.value + z * self.se

    def as_dict(self) -> dict[str, float | str | None]:
        se = None if not math.isfinite(self.se) else self.se
        return {"value": self.value, "se": se, "unit": self.unit}


@dataclass(frozen=True)
class MLEResult:
    """Optimum of a negative log-likelihood.

    Attributes
    ----------
    theta
        Unconstrained parameters at the optimum, ``(k,)``.
    loglik
        Maximised log-likelihood.
    cov
        Covariance of ``theta`` from the inverse Hessian, ``(k, k)``; rows and columns of
        parameters stuck at a bound are ``nan``.
    at_bound
        True for parameters at (or within 1e-3 of) a bound, ``(k,)``.
    n_obs
        Observations in the likelihood.
    """

    theta: np.ndarray
    loglik: float
    cov: np.ndarray
    at_bound: np.ndarray
    n_obs: int

    @property
    def k(self) -> int:
        return int(self.theta.size)

    @property
    def aic(self) -> float:
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return self.k * math.log(self.n_obs) - 2.0 * self.loglik


def numerical_hessian(f: Objective, x: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``, ``(k, k)``."""
    k = x.size
    h = rel_step * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    hess = np.empty((k, k))
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        hess[i, i] = (f(x + ei) - 2.0 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4.0 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = v
    return hess


def _inverse(hess: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Inverse of the Hessian over the free parameters; ``nan`` elsewhere or if not PD."""
    k = hess.shape[0]
    cov = np.full((k, k), np.nan)
    idx = np.flatnonzero(free)
    if idx.size == 0:
        return cov
    sub = hess[np.ix_(idx, idx)]
    try:
        np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        return cov
    cov[np.ix_(idx, idx)] = np.linalg.inv(sub)
    return cov


def maximise(
    negll: Objective,
    starts: Sequence[np.ndarray],
    bounds: Sequence[tuple[float, float]],
    n_obs: int,
    what: str,
) -> MLEResult:
    """Minimise ``negll`` from each start (L-BFGS-B, then a Nelder–Mead polish).

    Raises
    ------
    RuntimeFailure
        If no start gives a finite likelihood.
    """
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])

    def safe(th: np.ndarray) -> float:
        if np.any(th < lo) or np.any(th > hi):
            return 1e300
        with np.errstate(all="ignore"):
            v = negll(th)
        return v if math.isfinite(v) else 1e300

    best: optimize.OptimizeResult | None = None
    for x0 in starts:
        x0 = np.clip(np.asarray(x0, dtype=float), lo, hi)
        res = optimize.minimize(safe, x0, method="L-BFGS-B", bounds=list(bounds))
        if best is None or res.fun < best.fun:
            best = res
    if best is not None and best.fun < 1e299:
        # Numerical gradients stop L-BFGS-B early on flat ridges: polish without them.
        k = best.x.size
        polish = optimize.minimize(
            safe,
            best.x,
            method="Nelder-Mead",
            options={"maxiter": 150 * k, "xatol": 1e-5, "fatol": 1e-6},
        )
        if polish.fun <= best.fun:
            best = polish
    if best is None or not best.fun < 1e299:
        raise RuntimeFailure(f"{what}: the likelihood is not finite at any starting point")
    theta = np.clip(best.x, lo, hi)
    at_bound = (theta - lo < 1e-3) | (hi - theta < 1e-3)
    hess = numerical_hessian(safe, theta)
    cov = _inverse(hess, ~at_bound)
    return MLEResult(theta, -float(safe(theta)), cov, at_bound, n_obs)


def delta_method(
    g: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, cov: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``g(theta)`` and their standard errors, ``(m,)`` each.

    Parameters whose covariance row is ``nan`` (at a bound) are held fixed, i.e. they
    contribute nothing to the error; an output depending only on them gets se ``nan``.
    """
    val = np.asarray(g(theta), dtype=float)
    k = theta.size
    jac = np.zeros((val.size, k))
    for i in range(k):
        h = 1e-6 * max(1.0, abs(theta[i]))
        e = np.zeros(k)
        e[i] = h
        jac[:, i] = (np.asarray(g(theta + e)) - np.asarray(g(theta - e))) / (2 * h)
    free = np.isfinite(np.diag(cov))
    c = np.where(np.isfinite(cov), cov, 0.0)
    var = np.einsum("ij,jk,ik->i", jac, c, jac)
    se = np.sqrt(np.maximum(var, 0.0))
    depends = np.abs(jac) > 0
    uses_free = (depends & free[None, :]).any(axis=1)
    se[~uses_free] = np.nan
    return val, se
