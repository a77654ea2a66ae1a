"""The calibration itself: files in, fitted oil section (with standard errors) out.

Steps, each in its own module:

1. read and restrict the price files (:mod:`~simulator.calibrate.data`);
2. split the daily variance between the factors and fix the half-life: by default from the
   variance ratios at 5-252 days (:mod:`~simulator.calibrate.varratio`), or (``--split
   kalman``) by two-factor Kalman-filter ML (:mod:`~simulator.calibrate.kalman`), which is
   always run for the drift and the model comparison;
3. fit nested daily-return models by ML (:mod:`~simulator.calibrate.regimes`): normal vs
   Student-t, with/without Markov regimes, with/without Poisson–Laplace jumps; the full
   model gives the calm volatility, regimes, tails and jumps;
4. count threshold jumps as a cross-check (:mod:`~simulator.calibrate.jumps`);
5. scale the chosen split to the calm-regime volatility and assemble the ``oil:`` section;
6. simulate the fitted section with the engine and compare stylised facts and horizon
   spreads (:mod:`~simulator.calibrate.facts`);
7. with several files, cross-asset statistics (:mod:`~simulator.calibrate.assets`): prices
   in log returns, yields in bp changes, as the scenario's assets move.

The oil file must be a price: a yield (detected from its column name, e.g. FRED's ``DGS10``,
or declared with ``--kind``) is refused before any fitting, since the oil model is one of
log prices in USD/bbl.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.calibrate.assets import AssetStats, asset_stats
from simulator.calibrate.data import (
    MIN_RETURNS,
    PriceSeries,
    Sample,
    SeriesKind,
    Window,
    detect_kind,
    prepare,
    read_prices,
    restrict,
)
from simulator.calibrate.facts import Facts, simulate_returns, stylised_facts
from simulator.calibrate.jumps import ThresholdJumps, count_jumps
from simulator.calibrate.kalman import TwoFactorFit, daily_return_variance, fit_two_factor
from simulator.calibrate.mle import Estimate, delta_method
from simulator.calibrate.regimes import ReturnFit, ReturnModel, filtered_stressed, fit_returns
from simulator.calibrate.varratio import VRFit, fit_variance_ratio
from simulator.errors import InputError, ScenarioError
from simulator.processes import DAYS_PER_YEAR

__all__ = [
    "MODELS",
    "SPLITS",
    "Calibration",
    "Options",
    "calibrate",
    "oil_estimates",
    "series_kinds",
]

#: Ways to split the daily variance between the factors (and fix the half-life).
SPLITS = ("variance-ratio", "kalman")

#: The nested daily-return models compared, simplest first; the last is the simulator's.
MODELS = (
    ReturnModel(student_t=False, regimes=False, jumps=False),
    ReturnModel(student_t=True, regimes=False, jumps=False),
    ReturnModel(student_t=False, regimes=True, jumps=False),
    ReturnModel(student_t=True, regimes=True, jumps=False),
    ReturnModel(student_t=True, regimes=False, jumps=True),
    ReturnModel(student_t=True, regimes=True, jumps=True),
)


@dataclass(frozen=True)
class Options:
    """What to calibrate on.

    Attributes
    ----------
    files
        Price CSV files; the first is oil, the others are compared with it.
    column
        Value column of the first file (default: detected).
    columns
        Value columns of any file, ``(file, column)`` pairs: ``file`` as given or its base
        name; they win over ``column``.
    since, until
        Inclusive sample bounds, ISO dates.
    exclude
        Date windows to leave out (e.g. 2020).
    weekly
        Cross-asset statistics on weekly returns.
    kinds
        Declared kinds, ``(series, kind)`` pairs: ``series`` is a file (as given, or its
        base name) or a value column, ``kind`` is ``"price"`` (log returns) or ``"yield"``
        (in percent; bp changes). Undeclared series are detected by column name.
    factor_correlation
        Correlation of the two factors, held fixed (not identified from spot prices).
    split
        ``"variance-ratio"`` (default) or ``"kalman"``: which fit sets the half-life and the
        split of daily variance between the factors.
    n_boot
        Bootstrap resamples for the variance-ratio standard errors.
    sim_paths, sim_days, seed
        Size and seed of the engine run behind the stylised facts.
    """

    files: tuple[str, ...]
    column: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    since: str | None = None
    until: str | None = None
    exclude: tuple[Window, ...] = ()
    weekly: bool = False
    kinds: tuple[tuple[str, SeriesKind], ...] = ()
    factor_correlation: float = 0.0
    split: str = "variance-ratio"
    n_boot: int = 500
    sim_paths: int = 100
    sim_days: int = 2520
    seed: int = 20260206
    min_returns: int = MIN_RETURNS


@dataclass
class Calibration:
    """Everything a calibration produced.

    ``estimates`` holds the fragment's numbers keyed by their dotted ``oil:`` path (e.g.
    ``short_term.half_life``); ``oil`` is the fragment itself (a dict that validates as
    :class:`simulator.scenario.OilModel`).
    """

    options: Options
    sample: Sample
    kalman: TwoFactorFit
    vr: VRFit
    fits: list[ReturnFit]
    threshold: ThresholdJumps
    p_stressed: np.ndarray
    estimates: dict[str, Estimate]
    notes: list[str]
    oil: dict[str, Any] = field(default_factory=dict)
    history: Facts | None = None
    model: Facts | None = None
    simulated: np.ndarray | None = None
    assets: AssetStats | None = None

    @property
    def full(self) -> ReturnFit:
        return self.fits[-1]

    @property
    def split(self) -> str:
        return self.options.split

    @property
    def vr_loglik(self) -> float:
        """Gaussian two-factor log-likelihood at the variance-ratio split (Kalman drift)."""
        return _vr_loglik(self)


def _vr_sds(theta: np.ndarray) -> tuple[float, float, float]:
    """``(h, s1, s2)`` per unit daily variance from the variance-ratio ``(log h, f)``."""
    h = math.exp(theta[0])
    f = min(max(float(theta[1]), 1e-6), 1.0 - 1e-6)
    phi = 2.0 ** (-1.0 / h)
    return h, math.sqrt((1.0 - f) * (1.0 + phi) / 2.0), math.sqrt(f)


def _kalman_sds(theta: np.ndarray) -> tuple[float, float, float]:
    return math.exp(theta[0]), math.exp(theta[1]), math.exp(theta[2])


def _vr_loglik(cal: Calibration) -> float:
    from simulator.calibrate.kalman import kalman_loglik

    h, s1, s2 = _vr_sds(cal.vr.theta)
    rho = cal.kalman.rho.value
    phi = 2.0 ** (-1.0 / h)
    r = cal.sample.returns
    scale = float(r.std()) / math.sqrt(daily_return_variance(phi, s1, s2, rho))
    mu = cal.kalman.drift.value / DAYS_PER_YEAR
    segs = [cal.sample.log_price[a:b] for a, b in cal.sample.price_segments]
    return sum(
        float(kalman_loglik(s, phi, s1 * scale, s2 * scale, rho, mu)) for s in segs if s.size >= 2
    )


def oil_estimates(
    kalman: TwoFactorFit,
    full: ReturnFit,
    spot: float,
    p_last: float,
    vr: VRFit | None = None,
    split: str = "kalman",
) -> dict[str, Estimate]:
    """The ``oil:`` section's numbers with standard errors.

    The split (``"variance-ratio"``: ``vr``; ``"kalman"``: the Kalman fit) fixes the
    half-life and how the daily variance splits between the two factors; the return model
    fixes the calm-regime level of that variance. So ``s_i(calm) = s_i * sigma_calm /
    sqrt(V)`` with ``V`` the two-factor daily variance; the relative errors of the two
    parts add in quadrature.
    """
    rho = kalman.rho.value
    sigma_calm = full.estimates["vol_calm"]
    rel_calm = sigma_calm.se / sigma_calm.value
    if split == "variance-ratio":
        assert vr is not None
        sds, theta, cov = _vr_sds, vr.theta, vr.cov
        # f at 0 puts the long factor at its bound, f at 1 the short one.
        stuck_sd = (
            bool(vr.at_bound[1] and vr.share_long.value > 0.5),
            bool(vr.at_bound[1] and vr.share_long.value <= 0.5),
        )
        half_life = vr.half_life
    else:
        sds, theta, cov = _kalman_sds, kalman.mle.theta[:3], kalman.mle.cov[:3, :3]
        stuck_sd = (bool(kalman.mle.at_bound[1]), bool(kalman.mle.at_bound[2]))
        half_life = kalman.half_life

    def shares(theta: np.ndarray) -> np.ndarray:
        h, s1, s2 = sds(theta)
        phi = 2.0 ** (-1.0 / h)
        v = daily_return_variance(phi, s1, s2, rho)
        kappa = math.log(2.0) * DAYS_PER_YEAR / h
        ou = math.sqrt(-math.expm1(-2.0 * kappa / DAYS_PER_YEAR) / (2.0 * kappa))
        # Annualised vols per unit of calm daily sd.
        return np.array([s1 / math.sqrt(v) / ou, s2 / math.sqrt(v) * math.sqrt(DAYS_PER_YEAR)])

    g, g_se = delta_method(shares, theta, cov)
    daily_calm = sigma_calm.value / math.sqrt(DAYS_PER_YEAR)
    vols = []
    for gi, si, stuck in zip(g, g_se, stuck_sd, strict=True):
        rel = math.hypot(rel_calm, si / gi if math.isfinite(si) and gi > 0 else 0.0)
        se = math.nan if stuck else daily_calm * gi * rel  # a factor sd at its bound has none
        vols.append(Estimate(daily_calm * gi, se, "annualised"))
    e = full.estimates
    nan = math.nan
    return {
        "spot": Estimate(spot, nan, "USD/bbl"),
        "short_term.half_life": half_life,
        "short_term.vol": vols[0],
        "long_term.drift": kalman.drift,
        "long_term.vol": vols[1],
        "factor_correlation": kalman.rho,
        "innovations.df": e["df"],
        "regimes.calm_to_stressed": e["calm_to_stressed"],
        "regimes.stressed_duration": e["stressed_duration"],
        "regimes.vol_multiplier": e["vol_multiplier"],
        "regimes.initial_stressed": Estimate(p_last, nan, "probability"),
        "jumps.intensity_calm": e["intensity_calm"],
        "jumps.intensity_stressed": e["intensity_stressed"],
        "jumps.size.scale": e["jump_scale"],
    }


def series_kinds(
    series: list[PriceSeries], declared: tuple[tuple[str, SeriesKind], ...] = ()
) -> list[SeriesKind | None]:
    """The declared kind of each series, ``None`` where none was declared.

    A declaration names a file (as given, or its base name) or a value column
    (case-insensitive); a later declaration wins.

    Raises
    ------
    ScenarioError
        A declaration that names no series.
    """
    out: list[SeriesKind | None] = [None] * len(series)
    for key, kind in declared:
        hits = [
            i
            for i, s in enumerate(series)
            if key in (s.file, Path(s.file).name) or key.lower() == s.name.lower()
        ]
        if not hits:
            names = ", ".join(f"{Path(s.file).name} ({s.name})" for s in series)
            raise ScenarioError(
                f"'{key}' names no file or column; the series are {names}", field="--kind"
            )
        for i in hits:
            out[i] = kind
    return out


def calibrate(options: Options) -> Calibration:
    """Run the calibration described by ``options``.

    Raises
    ------
    ScenarioError
        A bad price file or sample (see :mod:`simulator.calibrate.data`), an oil file that
        is a yield, or a ``--kind`` that names no series.
    InputError
        Bad options.
    RuntimeFailure
        A fit whose likelihood cannot be evaluated.
    """
    if not options.files:
        raise InputError("give at least one price file")
    if not -1.0 < options.factor_correlation < 1.0:
        raise InputError(
            f"--factor-correlation must be in (-1, 1), got {options.factor_correlation}"
        )
    if options.split not in SPLITS:
        raise InputError(f"--split must be one of {', '.join(SPLITS)}, got {options.split!r}")
    chosen: list[str | None] = [options.column] + [None] * (len(options.files) - 1)
    for key, name in options.columns:
        hits = [i for i, f in enumerate(options.files) if key in (f, Path(f).name)]
        if not hits:
            files = ", ".join(Path(f).name for f in options.files)
            raise InputError(f"--column {key}={name}: '{key}' names no file; the files are {files}")
        for i in hits:
            chosen[i] = name
    series = read_prices(options.files[0], chosen[0])
    others: list[PriceSeries] = [
        read_prices(f, c, f"--column {Path(f).name}=NAME")
        for f, c in zip(options.files[1:], chosen[1:], strict=True)
    ]
    kinds = series_kinds([series, *others], options.kinds)
    if (kinds[0] or detect_kind(series.name)) == "yield":
        how = (
            "declared with --kind"
            if kinds[0]
            else f"by its column name; else --kind {series.name}=price"
        )
        raise ScenarioError(
            f"a yield ({how}), not an oil price: the oil model needs prices in USD/bbl; give "
            "the oil file first and this one after it for its vol and drift in bp/year and "
            "its correlation with oil",
            file=series.file,
            field=series.name,
        )
    sample = prepare(series, options.since, options.until, options.exclude, options.min_returns)
    assets = None
    if others:  # cheap, and checks the other files before the slow fits
        first, _ = restrict(series, options.since, options.until, options.exclude)
        rest = [restrict(s, options.since, options.until, options.exclude)[0] for s in others]
        assets = asset_stats(
            [first, *rest], weekly=options.weekly, kinds=kinds, exclude=options.exclude
        )
    notes = list(series.notes)
    r, starts = sample.returns, sample.segment_starts
    segments = [sample.log_price[a:b] for a, b in sample.price_segments]
    kalman = fit_two_factor(segments, rho=options.factor_correlation)
    years = sample.series.dates.astype("datetime64[Y]").astype(int)
    vr = fit_variance_ratio(
        segments,
        [years[a:b] for a, b in sample.price_segments],
        n_boot=options.n_boot,
        seed=options.seed,
    )
    fits = [fit_returns(m, r, starts) for m in MODELS]
    full = fits[-1]
    p_stressed = filtered_stressed(full, r, starts)
    threshold = count_jumps(r, sample.return_dates, starts)
    estimates = oil_estimates(
        kalman, full, float(sample.series.values[-1]), float(p_stressed[-1]), vr, options.split
    )
    labels = ("half-life", "short-factor sd", "long-factor sd", "drift")
    stuck = [labels[i] for i in np.flatnonzero(kalman.mle.at_bound)]
    if stuck:
        notes.append(f"two-factor Kalman fit: {', '.join(stuck)} at the bound of the search")
    stuck_vr = [n for n, b in zip(("half-life", "long share"), vr.at_bound, strict=True) if b]
    if stuck_vr:
        notes.append(f"variance-ratio fit: {', '.join(stuck_vr)} at the bound of the search")
    if vr.n_blocks < 5:
        notes.append(f"variance-ratio se from only {vr.n_blocks} calendar years: rough")
    if options.split == "variance-ratio" and options.factor_correlation != 0.0:
        notes.append("the variance-ratio split assumes uncorrelated factors")
    stuck_full = [n for n, e in full.estimates.items() if not math.isfinite(e.se)]
    if stuck_full:
        notes.append(f"full return model: no se for {', '.join(stuck_full)} (at a bound)")
    cal = Calibration(options, sample, kalman, vr, fits, threshold, p_stressed, estimates, notes)
    from simulator.calibrate.report import oil_section

    cal.oil = oil_section(cal)
    cal.history = stylised_facts(r, starts)
    cal.simulated = simulate_returns(
        cal.oil, str(sample.last), options.sim_paths, options.sim_days, options.seed
    )
    cal.model = stylised_facts(cal.simulated)
    cal.assets = assets
    return cal
