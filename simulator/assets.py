r"""Risk-asset reactions to oil, to events and to each other.

Each asset's daily move (log return for prices, basis points for yields) is

.. math::
    \Delta y_{a,t} = \mu_a\,\Delta t
        + \beta^{\text{ord}}_a\, \omega_t
        + \beta^{\text{sup}}_a\, \Delta e_t
        + L_a\, \Delta R_t
        + s_a\, m_{a,t}\, \eta_{a,t}

* :math:`\omega_t` is oil's *ordinary* shock of the day (both factors' diffusion and the
  background jumps), :math:`\Delta e_t` the change in oil's *event-driven* log component
  (risk premia and physical supply), :math:`\Delta R_t` the change in the risk-off factor
  that events drive (it decays with each event's half-life, so its effect reverses).
* :math:`\beta^{\text{ord}}_a = r_a \sigma_a \sqrt{\Delta t} / \sigma_\omega` follows from the
  asset's input correlation with Brent :math:`r_a`, its calm total volatility
  :math:`\sigma_a` and oil's calm ordinary daily volatility :math:`\sigma_\omega`, so that
  in calm markets without events the simulated correlations and volatilities equal the
  inputs.
* The residual :math:`\eta` is multivariate Student-t with unit variances and correlation
  :math:`C_{ab} = (R_{ab} - r_a r_b) / \sqrt{(1 - r_a^2)(1 - r_b^2)}` (the input
  correlation given oil), scaled by :math:`s_a = \sigma_a\sqrt{(1 - r_a^2)\Delta t}` and by
  the asset's stressed-regime multiplier :math:`m_{a,t}` on days oil is stressed.

Yields take :math:`\beta^{\text{sup}}` in bp per 1% of oil and :math:`L` in bp per
risk-off unit; prices take :math:`L` in percent per unit.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from simulator import kernels, processes
from simulator import scenario as sc
from simulator.errors import ScenarioError, SimulatorWarning
from simulator.reduce import CrossMoments
from simulator.streams import Streams

__all__ = [
    "AssetPaths",
    "CorrelationRepairedWarning",
    "correlation_matrix",
    "correlation_repair",
    "nearest_correlation",
    "simulate_assets",
]

DT = 1.0 / processes.DAYS_PER_YEAR


class CorrelationRepairedWarning(SimulatorWarning):
    """An input correlation matrix was not positive semi-definite and was repaired."""


def nearest_correlation(a: np.ndarray, tol: float = 1e-12, max_iter: int = 500) -> np.ndarray:
    """Nearest correlation matrix in the Frobenius norm (Higham 2002, alternating projections
    with Dykstra's correction).

    Parameters
    ----------
    a
        Symmetric matrix with unit diagonal, ``(k, k)``.

    Returns
    -------
    ndarray
        Positive semi-definite matrix with unit diagonal, ``(k, k)``.
    """
    y = a.copy()
    ds = np.zeros_like(a)
    x = a.copy()
    for _ in range(max_iter):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2.0)
        x = (v * np.maximum(w, 0.0)) @ v.T
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        if float(np.linalg.norm(y_new - y)) <= tol * max(float(np.linalg.norm(y)), 1.0):
            y = y_new
            break
        y = y_new
    # Final clean-up: clip tiny negative eigenvalues and restore the unit diagonal.
    w, v = np.linalg.eigh((y + y.T) / 2.0)
    y = (v * np.maximum(w, 1e-12)) @ v.T
    d = np.sqrt(np.diag(y))
    return y / np.outer(d, d)


def _pairs_matrix(names: tuple[str, ...], pairs: tuple[tuple[str, float], ...]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    m = np.eye(len(names))
    for pair, rho in pairs:
        a, b = pair.split("/")
        m[index[a], index[b]] = m[index[b], index[a]] = rho
    return m


@functools.lru_cache(maxsize=64)
def _checked(
    names: tuple[str, ...], pairs: tuple[tuple[str, float], ...], strict: bool
) -> tuple[np.ndarray, float]:
    m = _pairs_matrix(names, pairs)
    low = float(np.linalg.eigvalsh(m).min())
    if low >= -1e-10:
        return m, low
    if strict:
        raise ScenarioError(
            f"correlation matrix is not positive semi-definite (smallest eigenvalue {low:.4g}); "
            "set correlations.strict: false to repair it to the nearest valid matrix",
            field="correlations.pairs",
        )
    return nearest_correlation(m), low


def _matrix_key(
    scenario: sc.Scenario,
) -> tuple[tuple[str, ...], tuple[tuple[str, float], ...], bool]:
    """Series names (Brent first), sorted pairs and strictness: the cache key of the matrix."""
    assert scenario.correlations is not None
    names = ("brent", *scenario.assets)
    return names, tuple(sorted(scenario.correlations.pairs.items())), scenario.correlations.strict


def correlation_matrix(scenario: sc.Scenario, warn: bool = False) -> tuple[list[str], np.ndarray]:
    """Names (``brent`` first, then the assets) and the validated correlation matrix.

    Parameters
    ----------
    scenario
        A scenario with a ``correlations`` section.
    warn
        Issue :class:`CorrelationRepairedWarning` if the matrix had to be repaired.

    Raises
    ------
    ScenarioError
        The matrix is not positive semi-definite and ``correlations.strict`` is set.
    """
    names, pairs, strict = _matrix_key(scenario)
    matrix, _ = _checked(names, pairs, strict)
    repair = correlation_repair(scenario) if warn else None  # not on every block
    if repair is not None:
        warnings.warn(
            f"correlations: the matrix was not positive semi-definite (smallest eigenvalue "
            f"{repair['smallest_eigenvalue']:.4g}); repaired to the nearest valid one "
            f"(largest change {repair['largest_change']:.3f})",
            CorrelationRepairedWarning,
            stacklevel=2,
        )
    return list(names), matrix


def correlation_repair(scenario: sc.Scenario) -> dict[str, float] | None:
    """How the scenario's correlation matrix was repaired, or ``None`` if it was valid.

    Returns
    -------
    dict or None
        ``smallest_eigenvalue`` of the matrix as written and ``largest_change``, the
        largest absolute change of a correlation made by the repair.
    """
    if scenario.correlations is None:
        return None
    names, pairs, strict = _matrix_key(scenario)
    matrix, low = _checked(names, pairs, strict)
    if low >= -1e-10:
        return None
    change = float(np.abs(matrix - _pairs_matrix(names, pairs)).max())
    return {"smallest_eigenvalue": low, "largest_change": change}


def residual_correlation(matrix: np.ndarray) -> np.ndarray:
    """Correlation of the assets given Brent: ``(R_aa - r r') / sqrt((1 - r^2)(1 - r^2)')``.

    ``matrix`` is the full correlation matrix with Brent first, ``(k + 1, k + 1)``;
    the result is ``(k, k)``. An asset perfectly correlated with Brent gets a residual that
    is uncorrelated with the others (it has zero scale anyway).
    """
    r = matrix[0, 1:]
    cond = matrix[1:, 1:] - np.outer(r, r)
    sd = np.sqrt(np.maximum(1.0 - r * r, 0.0))
    safe = np.where(sd > 1e-12, sd, 1.0)
    out = cond / np.outer(safe, safe)
    dead = sd <= 1e-12
    out[dead, :] = 0.0
    out[:, dead] = 0.0
    np.fill_diagonal(out, 1.0)
    return out


@dataclass
class AssetPaths:
    """Simulated levels of every asset in one block.

    Attributes
    ----------
    names
        Asset names in scenario order.
    cumulative
        Cumulative move from the start of every asset, ``(n_assets, n_paths, n_steps + 1)``:
        log return for prices, bp change for yields (the coordinate of :class:`SeriesSpec`;
        the level is ``spec.inverse(path)`` with the start level).
    extreme
        Largest absolute value of each asset's path (``inf`` if any is not finite),
        ``(n_assets,)``.
    daily
        Cross moments of the daily moves of Brent (log) then each asset, if the oil path
        was given.
    """

    names: list[str]
    cumulative: np.ndarray
    extreme: np.ndarray
    daily: CrossMoments | None = None

    @property
    def paths(self) -> dict[str, np.ndarray]:
        """Name -> cumulative move, ``(n_paths, n_steps + 1)`` (views)."""
        return {name: self.cumulative[k] for k, name in enumerate(self.names)}

    @property
    def moves(self) -> np.ndarray:
        """Daily moves, ``(n_assets, n_paths, n_steps)``, in the units of the paths."""
        return np.diff(self.cumulative, axis=2)


def simulate_assets(
    scenario: sc.Scenario,
    streams: Streams,
    ordinary_shock: np.ndarray,
    shock_sd: np.ndarray,
    event_log: np.ndarray,
    risk_off: np.ndarray,
    stressed: np.ndarray,
    *,
    oil_log: np.ndarray | None = None,
    per_path: bool | None = None,
) -> AssetPaths:
    """Simulate every asset of ``scenario`` for one block, given the oil paths.

    Parameters
    ----------
    ordinary_shock
        Oil's ordinary daily log shock, ``(n_paths, n_steps)``.
    shock_sd
        Its calm-regime standard deviation per path, ``(n_paths,)``.
    event_log
        Oil's event-driven log component, ``(n_paths, n_steps + 1)``.
    risk_off
        Risk-off factor level, risk-off units, ``(n_paths, n_steps + 1)``.
    stressed
        Oil regime per step, bool ``(n_paths, n_steps)``.
    oil_log
        Log Brent, ``(n_paths, n_steps + 1)``: if given, the result carries the cross
        moments of the daily moves of Brent and the assets.
    per_path
        Combine the drivers with per-path loadings in numpy (needed when a parameter is
        drawn per path) rather than with the same loadings on every path
        (:func:`simulator.kernels.combine_assets_drawn`, compiled in large runs); ``None``
        decides from the parameters. Both draw the same shocks and give the same moves up
        to rounding.
    """
    names = list(scenario.assets)
    n, n_steps = ordinary_shock.shape
    if not names:
        return AssetPaths([], np.zeros((0, n, n_steps + 1)), np.zeros(0))
    assert scenario.correlations is not None
    _, full = correlation_matrix(scenario)
    r = full[0, 1:]
    k_assets = len(names)
    chol = np.linalg.cholesky(residual_correlation(full) + 1e-12 * np.eye(k_assets))
    # Multivariate Student-t residuals (see processes.StudentTInnovations): unit normals
    # from one stream, path by path, and the mixing gammas from another.
    df = scenario.correlations.noise_df.sample(streams.get("params.assets.noise"), n)
    noise_rng, mixing_rng = streams.get("assets.noise"), streams.get("assets.mixing")
    # Per-path loadings (k, n): parameters may be distributions, drawn once per path.
    loads = np.empty((4, k_assets, n))  # beta_ord, beta_sup, risk-off, drift per step
    scale = np.empty((2, k_assets, n))  # residual sd in calm and stressed regimes
    for k, name in enumerate(names):
        spec = scenario.assets[name]
        rng = streams.get(f"params.asset.{name}")
        drift = spec.drift.sample(rng, n)
        vol = spec.vol.sample(rng, n)
        mult = spec.stressed_vol_multiplier.sample(rng, n)
        beta_sup = spec.beta_supply.sample(rng, n)
        loading = spec.risk_off.sample(rng, n)
        daily = vol * math.sqrt(DT)
        loads[0, k] = np.divide(r[k] * daily, shock_sd, out=np.zeros(n), where=shock_sd > 0)
        if spec.kind == "yield":
            beta_sup = beta_sup * 100.0  # bp per 1% of oil -> bp per unit log move
        else:
            loading = loading / 100.0  # percent per unit -> log return per unit
        loads[1, k] = beta_sup
        loads[2, k] = loading
        loads[3, k] = drift * DT
        scale[0, k] = daily * math.sqrt(max(1.0 - r[k] ** 2, 0.0))
        scale[1, k] = scale[0, k] * mult
    fixed = bool(np.all(loads == loads[:, :, :1]) and np.all(scale == scale[:, :, :1]))
    if per_path is not None:
        fixed = fixed and not per_path
    if fixed:
        # Same parameters on every path: the compiled kernel. The most common stressed
        # multiplier scales the shocks of stressed days as they are drawn (folded into the
        # t mixing factor); assets with another multiplier are boosted on those days.
        calm, hot = scale[0, :, 0], scale[1, :, 0]
        ratio = np.divide(hot, calm, out=np.ones(k_assets), where=calm > 0)
        values, counts = np.unique(ratio, return_counts=True)
        common = float(values[np.argmax(counts)])
        cumulative, total, cross, extreme, sums = kernels.combine_assets_drawn(
            noise_rng,
            mixing_rng,
            df,
            common,
            calm[:, None] * chol,
            ratio / common,
            stressed,
            ordinary_shock,
            event_log,
            risk_off,
            loads[:3, :, 0].T,
            loads[3, :, 0],
            oil_log if oil_log is not None else np.zeros_like(event_log),
        )
        moments = (
            CrossMoments(n * n_steps, total, cross).with_paths(sums)
            if oil_log is not None
            else None
        )
        return AssetPaths(names, cumulative, extreme, moments)
    # Parameters drawn per path: correlate, scale by regime, add loadings path by path.
    noise = np.empty((n, k_assets, n_steps))
    kernels.standard_normal(noise_rng, noise)
    noise *= kernels.t_factors(mixing_rng, df, n_steps)[:, None, :]
    moves = np.matmul(chol, noise).transpose(1, 0, 2)  # (k, n, n_steps), a view
    del noise
    moves *= np.where(stressed[None, :, :], scale[1][:, :, None], scale[0][:, :, None])
    drivers = (ordinary_shock, np.diff(event_log, axis=1), np.diff(risk_off, axis=1))
    for i, driver in enumerate(drivers):
        moves += loads[i][:, :, None] * driver[None, :, :]
    moves += loads[3][:, :, None]
    cumulative = np.empty((k_assets, n, n_steps + 1))
    cumulative[:, :, 0] = 0.0
    np.cumsum(moves, axis=2, out=cumulative[:, :, 1:])
    with np.errstate(invalid="ignore"):
        extreme = np.where(
            np.isfinite(cumulative).all(axis=(1, 2)), np.abs(cumulative).max(axis=(1, 2)), np.inf
        )
    moments = None
    if oil_log is not None:
        oil_moves = np.diff(oil_log, axis=1)
        moments = CrossMoments.of_parts(oil_moves.ravel(), moves.reshape(k_assets, -1))
        moments = moments.with_paths(kernels.path_sums([oil_moves, *moves]))
    return AssetPaths(names, cumulative, extreme, moments)
