r"""Daily-return models fitted by maximum likelihood: tails, volatility regimes, jumps.

Notes
-----
The daily log return in regime :math:`s_t \in \{\text{calm}, \text{stressed}\}` is

.. math::

    r_t = \mu + m_{s_t} \sigma \varepsilon_t + J_t, \qquad m_{\text{calm}} = 1,\
    m_{\text{stressed}} = m > 1,

with :math:`\varepsilon_t` standard normal or Student-t scaled to unit variance, and on a
day with a jump (probability :math:`1 - e^{-\lambda_{s}/252}`) a Laplace(0, b) jump
:math:`J_t`. The regime follows a two-state Markov chain with daily switching
probabilities :math:`p` (calm to stressed) and :math:`q` (stressed to calm), started from
its stationary law at the start of each segment of the sample. The likelihood is computed
by the Hamilton filter, written as a product of 2x2 matrices that is reduced pairwise with
rescaling (so it is vectorised, and no probability underflows).

On a jump day the density is the convolution of a *normal* diffusion (same variance) with
the Laplace jump, which has a closed form; with t innovations this is an approximation
(the jump dominates such a day anyway).

Sub-models switch parts off: ``normal`` / ``t`` innovations, with or without regimes, with
or without jumps. They are nested, so their log-likelihoods compare by AIC/BIC.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from simulator.calibrate.mle import Estimate, MLEResult, delta_method, maximise
from simulator.processes import DAYS_PER_YEAR

__all__ = [
    "JUMP_SCALE_MIN_SDS",
    "ReturnFit",
    "ReturnModel",
    "filtered_stressed",
    "fit_returns",
    "log_densities",
]

#: Lower bound of the Laplace jump scale, in sample standard deviations of daily returns.
JUMP_SCALE_MIN_SDS = 2.5


@dataclass(frozen=True)
class ReturnModel:
    """Which parts a daily-return model has."""

    student_t: bool
    regimes: bool
    jumps: bool

    @property
    def label(self) -> str:
        parts = ["Student-t" if self.student_t else "normal"]
        if self.regimes:
            parts.append("regimes")
        if self.jumps:
            parts.append("jumps")
        return " + ".join(parts)

    def names(self) -> list[str]:
        """Names of the unconstrained parameters, in order."""
        out = ["mu_x1000", "log_sigma"]
        if self.regimes:
            out += ["log_mult_minus_1", "logit_p", "logit_q"]
        if self.student_t:
            out.append("log_df_minus_2")
        if self.jumps:
            out += ["log_lambda_calm", "log_lambda_stressed"] if self.regimes else ["log_lambda"]
            out.append("log_jump_scale")
        return out


@dataclass(frozen=True)
class Params:
    """Natural parameters of a :class:`ReturnModel` (daily units, intensities per year)."""

    mu: float
    sigma: float
    mult: float = 1.0
    p: float = 0.0
    q: float = 1.0
    df: float = math.inf
    lam_calm: float = 0.0
    lam_stressed: float = 0.0
    scale: float = 0.05


def _unpack(model: ReturnModel, th: np.ndarray) -> Params:
    i = 2
    kw: dict[str, float] = {"mu": th[0] / 1000.0, "sigma": math.exp(th[1])}
    if model.regimes:
        kw["mult"] = 1.0 + math.exp(th[2])
        kw["p"] = float(special.expit(th[3]))
        kw["q"] = float(special.expit(th[4]))
        i = 5
    if model.student_t:
        kw["df"] = 2.0 + math.exp(th[i])
        i += 1
    if model.jumps:
        kw["lam_calm"] = math.exp(th[i])
        kw["lam_stressed"] = math.exp(th[i + 1]) if model.regimes else kw["lam_calm"]
        i += 2 if model.regimes else 1
        kw["scale"] = math.exp(th[i])
    return Params(**kw)


def _log_diffusion(z: np.ndarray, sd: float, df: float) -> np.ndarray:
    """Log density of ``z`` under the unit-variance law scaled by ``sd``."""
    if math.isinf(df):
        return -0.5 * (z / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)
    scale = sd * math.sqrt((df - 2.0) / df)
    x = z / scale
    return (
        special.gammaln((df + 1) / 2)
        - special.gammaln(df / 2)
        - 0.5 * math.log(df * math.pi)
        - math.log(scale)
        - (df + 1) / 2 * np.log1p(x * x / df)
    )


def _log_normal_laplace(z: np.ndarray, sd: float, b: float) -> np.ndarray:
    """Log density of N(0, sd^2) + Laplace(0, b) at ``z`` (stable for large ``|z|``)."""
    terms = []
    for sign in (1.0, -1.0):
        x = sign * z
        w = (sd / b - x / sd) / math.sqrt(2.0)
        # exp(sd^2/2b^2 - x/b) erfc(w): use erfcx where w >= 0, erfc directly where w < 0.
        with np.errstate(over="ignore", divide="ignore"):
            pos = -0.5 * (x / sd) ** 2 + np.log(special.erfcx(np.maximum(w, 0.0)))
            neg = sd * sd / (2 * b * b) - x / b + np.log(special.erfc(np.minimum(w, 0.0)))
        terms.append(np.where(w >= 0, pos, neg))
    return np.logaddexp(terms[0], terms[1]) - math.log(4.0 * b)


def log_densities(model: ReturnModel, par: Params, r: np.ndarray) -> np.ndarray:
    """Log density of each return in each regime, ``(n, 2)`` (calm, stressed)."""
    z = r - par.mu
    out = np.empty((r.size, 2))
    for j, m in enumerate((1.0, par.mult)):
        sd = par.sigma * m
        ld = _log_diffusion(z, sd, par.df)
        if model.jumps:
            lam = par.lam_calm if j == 0 else par.lam_stressed
            pj = -math.expm1(-lam / DAYS_PER_YEAR)
            ld = np.logaddexp(
                math.log1p(-pj) + ld, math.log(pj) + _log_normal_laplace(z, sd, par.scale)
            )
        out[:, j] = ld
    return out


def _chain(par: Params) -> tuple[np.ndarray, np.ndarray]:
    trans = np.array([[1 - par.p, par.p], [par.q, 1 - par.q]])
    pi_s = par.p / (par.p + par.q)
    return trans, np.array([1.0 - pi_s, pi_s])


def _forward_loglik(logf: np.ndarray, trans: np.ndarray, start: np.ndarray) -> float:
    """``log(start @ A_1 @ ... @ A_n @ 1)`` with ``A_t = trans * f_t``, by pairwise reduction."""
    c = logf.max(axis=1)
    mats = trans[None, :, :] * np.exp(logf - c[:, None])[:, None, :]
    # First day has no transition: both rows are start * f_1 / 2, so 1' M_1 = start * f_1.
    mats[0] = np.tile(start * np.exp(logf[0] - c[0]), (2, 1)) / 2.0
    logscale = float(c.sum())
    while mats.shape[0] > 1:
        if mats.shape[0] % 2:
            mats = np.concatenate([mats, np.eye(2)[None]], axis=0)
        mats = mats[0::2] @ mats[1::2]
        s = mats.max(axis=(1, 2))
        mats /= s[:, None, None]
        logscale += float(np.log(s).sum())
    return logscale + math.log(float(mats[0].sum()))


def _loglik(model: ReturnModel, th: np.ndarray, r: np.ndarray, starts: np.ndarray) -> float:
    par = _unpack(model, th)
    logf = log_densities(model, par, r)
    if not model.regimes:
        return float(logf[:, 0].sum())
    trans, start = _chain(par)
    bounds = [*starts.tolist(), r.size]
    return sum(_forward_loglik(logf[a:b], trans, start) for a, b in itertools.pairwise(bounds))


def filtered_stressed(fit: ReturnFit, r: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Filtered probability of the stressed regime on each day, ``(n,)``."""
    par = _unpack(fit.model, fit.mle.theta)
    if not fit.model.regimes:
        return np.zeros(r.size)
    f = np.exp(
        log_densities(fit.model, par, r) - log_densities(fit.model, par, r).max(axis=1)[:, None]
    )
    trans, start = _chain(par)
    out = np.empty(r.size)
    xi = start
    restart = set(starts.tolist())
    for t in range(r.size):
        pred = start if t in restart else xi @ trans
        j = pred * f[t]
        xi = j / j.sum()
        out[t] = xi[1]
    return out


@dataclass(frozen=True)
class ReturnFit:
    """A fitted :class:`ReturnModel`: natural parameters with standard errors.

    ``estimates`` maps names to :class:`Estimate`: ``mu`` (per year), ``vol_calm``
    (annualised), and as the model has them ``vol_multiplier``, ``calm_to_stressed`` (per
    day), ``stressed_to_calm`` (per day), ``stressed_duration`` (trading days),
    ``stressed_share``, ``df``, ``intensity_calm``, ``intensity_stressed`` (per year) and
    ``jump_scale`` (log return).
    """

    model: ReturnModel
    estimates: dict[str, Estimate]
    mle: MLEResult
    params: Params


def _natural(model: ReturnModel, th: np.ndarray) -> tuple[list[str], list[str], np.ndarray]:
    par = _unpack(model, th)
    names = ["mu", "vol_calm"]
    units = ["per year", "annualised"]
    vals = [par.mu * DAYS_PER_YEAR, par.sigma * math.sqrt(DAYS_PER_YEAR)]
    if model.regimes:
        names += [
            "vol_multiplier",
            "calm_to_stressed",
            "stressed_to_calm",
            "stressed_duration",
            "stressed_share",
        ]
        units += ["multiplier", "per day", "per day", "trading days", "fraction"]
        vals += [par.mult, par.p, par.q, 1.0 / par.q, par.p / (par.p + par.q)]
    if model.student_t:
        names.append("df")
        units.append("degrees of freedom")
        vals.append(par.df)
    if model.jumps:
        names += ["intensity_calm", "intensity_stressed", "jump_scale"]
        units += ["per year", "per year", "log return"]
        vals += [par.lam_calm, par.lam_stressed, par.scale]
    return names, units, np.array(vals)


def fit_returns(model: ReturnModel, r: np.ndarray, starts: np.ndarray) -> ReturnFit:
    """Fit ``model`` to daily log returns ``r`` ``(n,)`` whose segments begin at ``starts``."""
    sd = float(r.std())
    names = model.names()
    lo_hi = {
        "mu_x1000": (-1000 * sd, 1000 * sd),
        "log_sigma": (math.log(sd / 50), math.log(sd * 5)),
        "log_mult_minus_1": (math.log(0.02), math.log(19.0)),
        "logit_p": (-10.0, 0.0),
        "logit_q": (-10.0, 0.0),
        "log_df_minus_2": (math.log(0.05), math.log(500.0)),
        "log_lambda_calm": (math.log(0.01), math.log(100.0)),
        "log_lambda_stressed": (math.log(0.01), math.log(100.0)),
        "log_lambda": (math.log(0.01), math.log(100.0)),
        # A jump must be larger than an ordinary day, or the "jumps" just fatten the body.
        "log_jump_scale": (math.log(max(JUMP_SCALE_MIN_SDS * sd, 1e-4)), math.log(1.0)),
    }
    bounds = [lo_hi[n] for n in names]
    mean = 1000.0 * float(np.median(r))
    start_sets = []
    for mult, sig_f, df, lam in ((2.0, 0.7, 8.0, 1.0), (1.5, 0.85, 5.0, 3.0)):
        x = {
            "mu_x1000": mean,
            "log_sigma": math.log(sd * (sig_f if model.regimes else 0.9)),
            "log_mult_minus_1": math.log(mult - 1),
            "logit_p": float(special.logit(0.02)),
            "logit_q": float(special.logit(0.05)),
            "log_df_minus_2": math.log(df - 2),
            "log_lambda_calm": math.log(lam),
            "log_lambda_stressed": math.log(2 * lam),
            "log_lambda": math.log(lam),
            "log_jump_scale": math.log(max(4 * sd, 0.03)),
        }
        start_sets.append(np.array([x[n] for n in names]))
        if not (model.regimes or model.jumps):
            break

    def negll(th: np.ndarray) -> float:
        return -_loglik(model, th, r, starts)

    res = maximise(negll, start_sets, bounds, r.size, f"{model.label} fit")
    labels, units, _ = _natural(model, res.theta)
    val, se = delta_method(lambda th: _natural(model, th)[2], res.theta, res.cov)
    est = {
        n: Estimate(float(v), float(s), u)
        for n, u, v, s in zip(labels, units, val, se, strict=True)
    }
    return ReturnFit(model, est, res, _unpack(model, res.theta))
