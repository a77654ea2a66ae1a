r"""Statistics of several series on common dates: volatilities, drifts, correlations, betas.

The first series is the reference (oil). Each series moves as a scenario asset of its kind
does (:mod:`simulator.assets`): a *price* in daily log returns, a *yield* (levels in
percent) in daily changes in basis points, :math:`\Delta y_t = 100\,(Y_t - Y_{t-1})`.
So a yield's volatility is in bp/year, :math:`\hat\sigma = s_{\Delta y}\sqrt{252}`, its drift
in bp/year, :math:`\hat\mu = \overline{\Delta y}\cdot 252` (52 for weekly moves), and its
correlation with oil is that of its bp changes with oil's log returns: the numbers a
``kind: yield`` asset and the ``correlations:`` section take.

Standard errors: volatility by the delta method with the sample kurtosis
:math:`\kappa`, :math:`\hat\sigma\sqrt{(\kappa - 1) / (4n)}`; drift
:math:`s\cdot 252/\sqrt{n}`; correlation by normal theory :math:`(1 - r^2) / \sqrt{n}`;
beta by White's heteroskedasticity-robust formula.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.calibrate.data import (
    PriceSeries,
    SeriesKind,
    Window,
    align,
    check_gaps,
    check_positive,
    detect_kind,
    weekly_index,
)
from simulator.calibrate.mle import Estimate
from simulator.errors import ScenarioError
from simulator.scenario import ASSET_UNITS

__all__ = ["MIN_COMMON", "AssetStats", "asset_stats", "daily_moves"]

#: Fewest common returns for cross-asset statistics.
MIN_COMMON = 30

#: What one move of a series of each kind is.
MOVE_UNITS: dict[str, str] = {"price": "log return", "yield": "bp"}


@dataclass(frozen=True)
class AssetStats:
    """Cross-asset statistics.

    Attributes
    ----------
    names, files
        Series labels (value columns) and their files, ``k`` each; the first is the
        reference.
    kinds
        ``"price"`` (log returns) or ``"yield"`` (bp changes of a level in percent), ``k``.
    declared
        Whether each kind was given with ``--kind`` (else detected from the column name).
    frequency
        ``"daily"`` or ``"weekly"`` (last common date of each Monday–Sunday week).
    n
        Number of common moves (none spans an excluded window).
    first, last
        First and last common date.
    vols
        Annualised volatility of the moves, ``k``: a fraction for prices (unit
        ``annualised``), bp/year for yields, as a scenario asset's ``vol``.
    drifts
        Annualised mean move, ``k``: per year (log) for prices, bp/year for yields.
    corr, corr_se
        ``(k, k)`` correlation matrix of the moves and its standard errors.
    betas
        Slope of each series' move on the reference's, ``k`` (the first is 1): a log-return
        beta for prices, bp per 1% move of the reference for yields.
    """

    names: list[str]
    files: list[str]
    kinds: list[SeriesKind]
    declared: list[bool]
    frequency: str
    n: int
    first: str
    last: str
    vols: list[Estimate]
    drifts: list[Estimate]
    corr: np.ndarray
    corr_se: np.ndarray
    betas: list[Estimate]

    @property
    def moves(self) -> list[str]:
        """What a move of each series is: ``"log return"`` or ``"bp"``."""
        return [MOVE_UNITS[k] for k in self.kinds]

    def as_dict(self) -> dict[str, object]:
        k = len(self.names)
        return {
            "frequency": self.frequency,
            "n_returns": self.n,
            "first": self.first,
            "last": self.last,
            "series": [
                {
                    "name": self.names[i],
                    "file": self.files[i],
                    "kind": self.kinds[i],
                    "kind_from": "--kind" if self.declared[i] else "column name",
                    "moves": self.moves[i],
                    "vol": self.vols[i].as_dict(),
                    "drift": self.drifts[i].as_dict(),
                    "beta_to_first": self.betas[i].as_dict(),
                }
                for i in range(k)
            ],
            "correlation": self.corr.round(6).tolist(),
            "correlation_se": self.corr_se.round(6).tolist(),
        }


def daily_moves(levels: np.ndarray, kind: SeriesKind) -> np.ndarray:
    """Moves between consecutive levels, as the simulator's assets move.

    Parameters
    ----------
    levels
        Levels, ``(n,)``: a price (any positive unit) or a yield in percent.
    kind
        ``"price"``: log returns; ``"yield"``: changes in basis points (1 bp = 0.01%).

    Returns
    -------
    ndarray
        ``(n - 1,)`` moves.
    """
    if kind == "yield":
        return np.diff(levels) * 100.0
    return np.diff(np.log(levels))


def _check_positive(s: PriceSeries) -> None:
    """A price series must stay above 0 to have log returns."""
    name = Path(s.file).name.replace("{", "{{").replace("}", "}}")  # kept by format()
    check_positive(
        s,
        "a price moves in log returns: leave it out (--exclude {date}:{date}), or if the "
        f"series is a yield or spread in percent declare it (--kind {name}=yield)",
    )


def asset_stats(
    series: list[PriceSeries],
    weekly: bool = False,
    kinds: Sequence[SeriesKind | None] | None = None,
    exclude: Sequence[Window] = (),
) -> AssetStats:
    """Volatilities, drifts, correlations and betas to ``series[0]`` on common dates.

    Parameters
    ----------
    series
        The reference (oil) first, then the other series, already restricted to the sample.
    weekly
        Use the last common date of each Monday–Sunday week instead of every common date.
    kinds
        Kind of each series (``None``: detected from its column name by
        :func:`~simulator.calibrate.data.detect_kind`).
    exclude
        Windows left out of the sample: no move spans one.

    Raises
    ------
    ScenarioError
        If a price is not positive, a series has a gap longer than
        :data:`~simulator.calibrate.data.MAX_GAP_DAYS` calendar days (a week more with
        ``weekly``) outside the excluded windows, or the series share fewer than
        :data:`MIN_COMMON` moves.
    """
    given = list(kinds) if kinds is not None else [None] * len(series)
    if len(given) != len(series):
        raise ValueError(f"expected {len(series)} kinds, got {len(given)}")
    kind_of: list[SeriesKind] = [
        k if k is not None else detect_kind(s.name) for k, s in zip(given, series, strict=True)
    ]
    for s, kind in zip(series, kind_of, strict=True):
        if kind == "price":
            _check_positive(s)
        check_gaps(s, exclude, weekly)  # a monthly file's moves are not daily moves
    dates, vals = align(series)
    if weekly and dates.size:
        idx = weekly_index(dates)
        dates, vals = dates[idx], vals[:, idx]
    # A move from d0 to d1 is dropped if an excluded window lies between them.
    keep = np.ones(max(dates.size - 1, 0), dtype=bool)
    for w in exclude:
        keep &= ~((dates[:-1] < w.start) & (dates[1:] > w.end))
    n = int(keep.sum())
    if n < MIN_COMMON:
        raise ScenarioError(
            f"the files share only {n} {'weekly' if weekly else 'daily'} moves; "
            f"cross-asset statistics need at least {MIN_COMMON}"
            + ("" if weekly else " (try --weekly for assets that trade on different days)"),
            file=series[1].file,
        )
    x = np.array([daily_moves(v, k)[keep] for v, k in zip(vals, kind_of, strict=True)])
    per_year = 52.0 if weekly else 252.0
    vols, drifts = [], []
    for row, kind in zip(x, kind_of, strict=True):
        sd = float(row.std(ddof=1))
        kurt = float(np.mean((row - row.mean()) ** 4) / max(row.var(), 1e-300) ** 2)
        se = sd * math.sqrt(max(kurt - 1.0, 0.0) / (4.0 * n))
        units = ASSET_UNITS[kind]
        vols.append(Estimate(sd * math.sqrt(per_year), se * math.sqrt(per_year), units["vol"]))
        drifts.append(
            Estimate(float(row.mean()) * per_year, sd * per_year / math.sqrt(n), units["drift"])
        )
    corr = np.corrcoef(x)
    corr_se = (1.0 - corr**2) / math.sqrt(n)
    xr = x[0] - x[0].mean()
    sxx = float(xr @ xr)
    ref, ref_log = series[0].name, kind_of[0] == "price"
    betas = []
    for row, kind in zip(x, kind_of, strict=True):
        yc = row - row.mean()
        b = float(xr @ yc) / sxx
        e = yc - b * xr
        se = math.sqrt(float((xr * xr) @ (e * e))) / sxx
        if kind == "yield" and ref_log:  # in bp per 1% of oil, as a yield's beta_supply
            unit, scale = f"bp per 1% move of {ref}", 0.01
        else:
            unit, scale = f"{MOVE_UNITS[kind]} per {MOVE_UNITS[kind_of[0]]} of {ref}", 1.0
        betas.append(Estimate(b * scale, se * scale, unit))
    return AssetStats(
        names=[s.name for s in series],
        files=[s.file for s in series],
        kinds=kind_of,
        declared=[k is not None for k in given],
        frequency="weekly" if weekly else "daily",
        n=n,
        first=str(dates[0]),
        last=str(dates[-1]),
        vols=vols,
        drifts=drifts,
        corr=corr,
        corr_se=corr_se,
        betas=betas,
    )
