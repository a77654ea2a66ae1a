"""Oil price dynamics: innovations, regimes, jumps and the two price factors.

Each family has one small class per model with the same surface, built from its scenario
spec by :func:`build`. Parameters are drawn once per path (``from_spec(spec, rng, n)``), so a
parameter given as a distribution adds its uncertainty to the simulated spread. All
randomness is drawn in bulk; the time recursions take plain arrays.

Time runs in trading days: step ``t`` moves the state from day ``t`` to day ``t + 1`` and
``dt = 1/252`` year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simulator import kernels
from simulator import scenario as sc

__all__ = [
    "DAYS_PER_YEAR",
    "JUMP_TRUNCATION",
    "Innovations",
    "Jumps",
    "LongTermFactor",
    "MarkovRegimes",
    "NoJumps",
    "NoRegimes",
    "NormalInnovations",
    "PoissonJumps",
    "Regimes",
    "ShortTermFactor",
    "StudentTInnovations",
    "build",
]

DAYS_PER_YEAR = 252
JUMP_TRUNCATION = 2.0


# --------------------------------------------------------------------------- innovations


class Innovations(Protocol):
    """Unit-variance shocks, shape ``(k, n_paths, n_steps)`` (factor-major, so that each
    factor's shocks are contiguous)."""

    def draw(self, rng: np.random.Generator, n_steps: int, k: int) -> np.ndarray: ...

    def draw_into(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> None: ...

    def draw_factored(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> np.ndarray | None: ...


@dataclass(frozen=True)
class NormalInnovations:
    """Independent standard normal shocks."""

    n_paths: int

    @classmethod
    def from_spec(cls, spec: sc.NormalInnovations, rng: np.random.Generator, n: int) -> Any:
        return cls(n)

    def draw(self, rng: np.random.Generator, n_steps: int, k: int) -> np.ndarray:
        """Standard normals, shape ``(k, n_paths, n_steps)``."""
        z = np.empty((k, self.n_paths, n_steps))
        kernels.standard_normal(rng, z)
        return z

    def draw_into(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> None:
        """Fill ``out`` (C-contiguous, ``(k, n_paths, n_steps)``) with the shocks of
        :meth:`draw`, each multiplied by ``scale`` (``(n_paths, n_steps)``) if given."""
        kernels.standard_normal(rng, out)
        if scale is not None:
            out *= scale

    def draw_factored(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> np.ndarray | None:
        """Fill ``out`` with standard normals and return the factor that makes them the
        shocks of :meth:`draw_into`: ``scale`` itself (``None`` for none)."""
        kernels.standard_normal(rng, out)
        return scale


@dataclass(frozen=True)
class StudentTInnovations:
    r"""Multivariate Student-t shocks scaled to unit variance.

    Notes
    -----
    .. math:: \varepsilon = z \sqrt{(\nu - 2) / W},\quad z \sim N(0, I_k),\quad
              W \sim \chi^2_\nu

    One mixing variable ``W`` per path and step is shared by the ``k`` components, so a
    turbulent day is turbulent for every factor (a multivariate t, not k independent ts).
    Marginal excess kurtosis is :math:`6 / (\nu - 4)` for :math:`\nu > 4`.
    """

    df: np.ndarray  # (n_paths,)

    @classmethod
    def from_spec(
        cls, spec: sc.StudentTInnovations, rng: np.random.Generator, n: int
    ) -> StudentTInnovations:
        return cls(spec.df.sample(rng, n))

    def draw(self, rng: np.random.Generator, n_steps: int, k: int) -> np.ndarray:
        """Unit-variance t shocks, shape ``(k, n_paths, n_steps)``."""
        z = np.empty((k, self.df.shape[0], n_steps))
        self.draw_into(rng, z)
        return z

    def draw_into(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> None:
        """Fill ``out`` (C-contiguous, ``(k, n_paths, n_steps)``) with the shocks of
        :meth:`draw`, each multiplied by ``scale`` (``(n_paths, n_steps)``) if given.

        The scale is folded into the mixing factor, so the ``k`` components are touched
        once.
        """
        kernels.standard_normal(rng, out)
        # W = 2 G with G ~ Gamma(df / 2): (df - 2) / W = ((df - 2) / 2) / G.
        kernels.t_mixing(rng, out, self.df, scale)

    def draw_factored(
        self, rng: np.random.Generator, out: np.ndarray, scale: np.ndarray | None = None
    ) -> np.ndarray:
        """Fill ``out`` with the unit normals of :meth:`draw_into` and return the factor,
        ``(n_paths, n_steps)``, that turns them into its shocks: ``out * factor`` is what
        :meth:`draw_into` leaves in ``out``, bit for bit, and ``rng`` ends in the same
        state. For a consumer that multiplies as it reads (:func:`kernels.oil_paths`)
        rather than in a pass of its own."""
        kernels.standard_normal(rng, out)
        return kernels.t_factors(rng, self.df, out.shape[2], scale)


# --------------------------------------------------------------------------- regimes


class Regimes(Protocol):
    """Volatility regime per path and step."""

    def simulate(
        self, rng: np.random.Generator, forced: np.ndarray, calm: np.ndarray | None = None
    ) -> np.ndarray: ...

    def multiplier(self, stressed: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class NoRegimes:
    """A single regime; events that force stress have no volatility effect."""

    n_paths: int

    @classmethod
    def from_spec(cls, spec: sc.NoRegimes, rng: np.random.Generator, n: int) -> NoRegimes:
        return cls(n)

    def simulate(
        self, rng: np.random.Generator, forced: np.ndarray, calm: np.ndarray | None = None
    ) -> np.ndarray:
        """All calm, except days an event forces stress: bool ``(n_paths, n_steps)``.

        ``calm`` changes nothing: only forced days are stressed, and forced stress wins.
        """
        return forced.copy()

    def multiplier(self, stressed: np.ndarray) -> np.ndarray:
        """Volatility multiplier per path and step: ones."""
        return np.ones(stressed.shape)


@dataclass(frozen=True)
class MarkovRegimes:
    r"""Calm (0) / stressed (1) regimes following a two-state Markov chain.

    Notes
    -----
    Daily transition matrix

    .. math:: P = \begin{pmatrix} 1 - p & p \\ q & 1 - q \end{pmatrix},
              \quad q = 1 / d_{\text{stressed}},

    with stationary share of stressed days :math:`p / (p + q)`. On days an event forces
    stress the chain is set to stressed; afterwards it leaves stress at its usual rate. On
    the day an event ends stress the chain is set to calm (if another event forces stress
    that day, on the first day it no longer does); afterwards it can enter stress again at
    its usual rate, so ``k``
    steps later it is stressed with probability :math:`\pi (1 - (1 - p - q)^k)`,
    :math:`\pi = p / (p + q)`.
    """

    p_calm_to_stressed: np.ndarray  # (n_paths,)
    p_stressed_to_calm: np.ndarray  # (n_paths,)
    vol_multiplier: np.ndarray  # (n_paths,)
    initial_stressed: np.ndarray  # (n_paths,)

    @classmethod
    def from_spec(cls, spec: sc.MarkovRegimes, rng: np.random.Generator, n: int) -> MarkovRegimes:
        return cls(
            p_calm_to_stressed=spec.calm_to_stressed.sample(rng, n),
            p_stressed_to_calm=1.0 / spec.stressed_duration.sample(rng, n),
            vol_multiplier=spec.vol_multiplier.sample(rng, n),
            initial_stressed=spec.initial_stressed.sample(rng, n),
        )

    def stationary_stressed(self) -> np.ndarray:
        """Long-run share of stressed days per path, shape ``(n_paths,)``."""
        p, q = self.p_calm_to_stressed, self.p_stressed_to_calm
        total = p + q
        return np.divide(p, total, out=np.zeros_like(p), where=total > 0)

    def simulate(
        self, rng: np.random.Generator, forced: np.ndarray, calm: np.ndarray | None = None
    ) -> np.ndarray:
        """Regime of each step, bool ``(n_paths, n_steps)``.

        ``forced`` marks steps an event holds stressed, ``calm`` (if given) steps at which
        an event sets the chain calm; both ``(n_paths, n_steps)``. Forced stress wins: a
        calm that falls on a forced step waits for the first step that is not forced.
        """
        n, n_steps = forced.shape
        # Day-major: one uniform per path and step, row t holding day t of every path.
        u = rng.random((n_steps, n))
        settle = calm.T if calm is not None and calm.any() else None
        out = kernels.markov_regimes(
            u,
            self.initial_stressed,
            self.p_calm_to_stressed,
            self.p_stressed_to_calm,
            forced.T,
            settle,
        )
        return np.ascontiguousarray(out.T)

    def multiplier(self, stressed: np.ndarray) -> np.ndarray:
        """Volatility multiplier per path and step, shape of ``stressed``."""
        return np.where(stressed, self.vol_multiplier[:, None], 1.0)


# --------------------------------------------------------------------------- jumps


class Jumps(Protocol):
    """Sum of background jump sizes per path and step (log)."""

    def simulate(self, rng: np.random.Generator, stressed: np.ndarray) -> np.ndarray: ...

    def calm_variance_per_day(self) -> np.ndarray: ...


@dataclass(frozen=True)
class NoJumps:
    """No background jumps."""

    n_paths: int

    @classmethod
    def from_spec(cls, spec: sc.NoJumps, rng: np.random.Generator, n: int) -> NoJumps:
        return cls(n)

    def simulate(self, rng: np.random.Generator, stressed: np.ndarray) -> np.ndarray:
        """Zeros, shape ``(n_paths, n_steps)``."""
        return np.zeros(stressed.shape)

    def calm_variance_per_day(self) -> np.ndarray:
        """Variance jumps add to a calm day's log move: zeros, ``(n_paths,)``."""
        return np.zeros(self.n_paths)


@dataclass(frozen=True)
class PoissonJumps:
    r"""Poisson background jumps whose intensity depends on the regime.

    Notes
    -----
    Arrivals are a Poisson process with intensity :math:`\lambda_c` (calm) or
    :math:`\lambda_s` (stressed) per year, simulated exactly at daily resolution by thinning:
    draw :math:`N \sim \text{Poisson}(\lambda_{\max} T)` candidate jumps per path on uniform
    days and keep each with probability :math:`\lambda(\text{regime}) / \lambda_{\max}`.
    Log sizes are i.i.d. from the scenario's size law, truncated to
    :math:`\pm` ``JUMP_TRUNCATION``. Jumps enter the short-term factor and fade with it.
    """

    intensity_calm: np.ndarray  # (n_paths,) per year
    intensity_stressed: np.ndarray  # (n_paths,) per year
    size: Any  # a Quantity: the law of one jump's log size

    @classmethod
    def from_spec(cls, spec: sc.PoissonJumps, rng: np.random.Generator, n: int) -> PoissonJumps:
        return cls(
            intensity_calm=spec.intensity_calm.sample(rng, n),
            intensity_stressed=spec.intensity_stressed.sample(rng, n),
            size=spec.size,
        )

    def calm_variance_per_day(self) -> np.ndarray:
        """Variance jumps add to a calm day's log move, ``lambda_c E[J^2] / 252``, ``(n_paths,)``.

        The truncation of sizes at +/- ``JUMP_TRUNCATION`` is ignored (it removes almost no
        mass for the size laws used).
        """
        return self.intensity_calm * self.size.second_moment() / DAYS_PER_YEAR

    def simulate(self, rng: np.random.Generator, stressed: np.ndarray) -> np.ndarray:
        """Summed log jump sizes per path and step, shape ``(n_paths, n_steps)``."""
        n, n_steps = stressed.shape
        lam_max = np.maximum(self.intensity_calm, self.intensity_stressed)
        counts = rng.poisson(lam_max * n_steps / DAYS_PER_YEAR)
        total = int(counts.sum())
        out = np.zeros(n * n_steps)
        if total == 0:
            return out.reshape(n, n_steps)
        path = np.repeat(np.arange(n), counts)
        day = rng.integers(0, n_steps, size=total)
        u = rng.random(total)
        sizes = np.clip(self.size.sample(rng, total), -JUMP_TRUNCATION, JUMP_TRUNCATION)
        lam = np.where(
            stressed[path, day], self.intensity_stressed[path], self.intensity_calm[path]
        )
        keep = u * lam_max[path] < lam
        flat = path[keep] * n_steps + day[keep]
        out += np.bincount(flat, weights=sizes[keep], minlength=n * n_steps)
        return out.reshape(n, n_steps)


# --------------------------------------------------------------------------- factors


@dataclass(frozen=True)
class ShortTermFactor:
    r"""Short-term log-price factor: Ornstein–Uhlenbeck reverting to zero, plus jumps.

    Notes
    -----
    .. math:: d\chi = -\kappa \chi\,dt + \sigma m_t\,dW_1 + dJ,
              \quad \kappa = \ln 2 \cdot 252 / h

    discretised exactly between trading days:

    .. math:: \chi_{t+1} = \phi \chi_t + \sigma m_t \sqrt{(1 - \phi^2) / (2\kappa)}\,
              \varepsilon_t + J_t, \quad \phi = 2^{-1/h},

    where ``h`` is the half-life in trading days and :math:`m_t` the regime multiplier.
    Conditional on :math:`\chi_0 = 0` and a constant multiplier,
    :math:`E[\chi_t] = 0` and :math:`\mathrm{Var}[\chi_t] = \sigma^2 (1 - \phi^{2t}) / (2\kappa)`.
    """

    half_life_days: np.ndarray  # (n_paths,)
    vol: np.ndarray  # (n_paths,) annualised

    @classmethod
    def from_spec(cls, spec: sc.ShortTermSpec, rng: np.random.Generator, n: int) -> ShortTermFactor:
        return cls(spec.half_life.sample(rng, n), spec.vol.sample(rng, n))

    @property
    def phi(self) -> np.ndarray:
        """Daily autoregressive coefficient, shape ``(n_paths,)``."""
        return np.exp2(-1.0 / self.half_life_days)

    @property
    def step_sd(self) -> np.ndarray:
        """Standard deviation of one day's innovation in the calm regime, ``(n_paths,)``."""
        kappa = math.log(2.0) * DAYS_PER_YEAR / self.half_life_days
        return self.vol * np.sqrt(-np.expm1(-2.0 * kappa / DAYS_PER_YEAR) / (2.0 * kappa))

    def path(
        self,
        shocks: np.ndarray,
        multiplier: np.ndarray | None = None,
        jumps: np.ndarray | None = None,
    ) -> np.ndarray:
        """Factor path from zero (:func:`simulator.kernels.ou_paths`).

        Parameters
        ----------
        shocks
            Unit shocks, ``(n_paths, n_steps)``.
        multiplier, jumps
            Regime volatility multipliers and summed log jumps, each ``(n_paths, n_steps)``;
            ``None``: calm throughout, no jumps.

        Returns
        -------
        ndarray
            ``(n_paths, n_steps + 1)``, first column zero.
        """
        return kernels.ou_paths(shocks, self.step_sd, self.phi, multiplier, jumps)


@dataclass(frozen=True)
class LongTermFactor:
    r"""Long-term log-price factor: arithmetic Brownian motion with drift.

    Notes
    -----
    .. math:: d\xi = \mu\,dt + \sigma m_t\,dW_2

    :math:`\mu` is the drift of the log price (the median's growth rate), not of the
    price. :math:`E[\xi_t] = \mu t / 252` and, with a constant multiplier,
    :math:`\mathrm{Var}[\xi_t] = \sigma^2 t / 252`.
    """

    drift: np.ndarray  # (n_paths,) per year
    vol: np.ndarray  # (n_paths,) annualised

    @classmethod
    def from_spec(cls, spec: sc.LongTermSpec, rng: np.random.Generator, n: int) -> LongTermFactor:
        return cls(spec.drift.sample(rng, n), spec.vol.sample(rng, n))

    def path(self, shocks: np.ndarray, multiplier: np.ndarray | None = None) -> np.ndarray:
        """Factor path from zero, ``(n_paths, n_steps + 1)``; inputs ``(n_paths, n_steps)``
        (``multiplier`` ``None``: calm throughout)."""
        return self.path_from_drive(self.drive(shocks, multiplier))

    def drive(self, shocks: np.ndarray, multiplier: np.ndarray | None = None) -> np.ndarray:
        """Each day's shock to the factor, without the drift, ``(n_paths, n_steps)``."""
        step = shocks * multiplier if multiplier is not None else shocks.copy()
        step *= (self.vol / math.sqrt(DAYS_PER_YEAR))[:, None]
        return step

    def path_from_drive(self, drive: np.ndarray) -> np.ndarray:
        """Factor path from zero given each day's shock (the drift is added here)."""
        n, n_steps = drive.shape
        out = np.empty((n, n_steps + 1))
        out[:, 0] = 0.0
        np.cumsum(drive + (self.drift / DAYS_PER_YEAR)[:, None], axis=1, out=out[:, 1:])
        return out


_REGISTRY: dict[type, type] = {
    sc.NormalInnovations: NormalInnovations,
    sc.StudentTInnovations: StudentTInnovations,
    sc.NoRegimes: NoRegimes,
    sc.MarkovRegimes: MarkovRegimes,
    sc.NoJumps: NoJumps,
    sc.PoissonJumps: PoissonJumps,
    sc.ShortTermSpec: ShortTermFactor,
    sc.LongTermSpec: LongTermFactor,
}


def build(spec: Any, rng: np.random.Generator, n_paths: int) -> Any:
    """The process object for a validated spec, with per-path parameters drawn from ``rng``."""
    try:
        cls = _REGISTRY[type(spec)]
    except KeyError:
        valid = ", ".join(sorted(c.__name__ for c in _REGISTRY))
        raise TypeError(f"no process for {type(spec).__name__}; known specs: {valid}") from None
    return cls.from_spec(spec, rng, n_paths)  # type: ignore[attr-defined]
