"""Statistics of several series on common dates: volatilities, correlations, betas.

The first series is the reference (oil). Each series moves in log returns when all its
levels are positive, otherwise in first differences (e.g. a yield near zero). Standard
errors: volatility by the delta method with the sample kurtosis, correlation by normal
theory :math:`(1 - r^2) / \\sqrt{n}`, beta by White's heteroskedasticity-robust formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.calibrate.data import PriceSeries, align, weekly_index
from simulator.calibrate.mle import Estimate
from simulator.errors import ScenarioError

__all__ = ["MIN_COMMON", "AssetStats", "asset_stats"]

#: Fewest common returns for cross-asset statistics.
MIN_COMMON = 30


@dataclass(frozen=True)
class AssetStats:
    """Cross-asset statistics.

    Attributes
    ----------
    names, files
        Series labels and their files, ``k`` each; the first is the reference.
    frequency
        ``"daily"`` or ``"weekly"`` (last common date of each Monday–Sunday week).
    n
        Number of common returns.
    first, last
        First and last common date.
    moves
        ``"log"`` or ``"diff"`` per series.
    vols
        Annualised volatility per series (log: fraction; diff: file units per year).
    corr, corr_se
        ``(k, k)`` correlation matrix of the moves and its standard errors.
    betas
        Slope of each series' move on the reference's, ``k`` (the first is 1).
    """

    names: list[str]
    files: list[str]
    frequency: str
    n: int
    first: str
    last: str
    moves: list[str]
    vols: list[Estimate]
    corr: np.ndarray
    corr_se: np.ndarray
    betas: list[Estimate]

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
                    "moves": self.moves[i],
                    "vol": self.vols[i].as_dict(),
                    "beta_to_first": self.betas[i].as_dict(),
                }
                for i in range(k)
            ],
            "correlation": self.corr.round(6).tolist(),
            "correlation_se": self.corr_se.round(6).tolist(),
        }


def asset_stats(series: list[PriceSeries], weekly: bool = False) -> AssetStats:
    """Volatilities, correlations and betas to ``series[0]`` on common dates.

    Raises
    ------
    ScenarioError
        If the series share fewer than :data:`MIN_COMMON` + 1 dates.
    """
    dates, vals = align(series)
    if weekly and dates.size:
        idx = weekly_index(dates)
        dates, vals = dates[idx], vals[:, idx]
    if dates.size < MIN_COMMON + 1:
        raise ScenarioError(
            f"the files share only {dates.size} {'weeks' if weekly else 'dates'}; "
            f"cross-asset statistics need at least {MIN_COMMON + 1}"
            + ("" if weekly else " (try --weekly for assets that trade on different days)"),
            file=series[1].file,
        )
    moves = ["log" if np.all(v > 0) else "diff" for v in vals]
    x = np.array(
        [np.diff(np.log(v)) if m == "log" else np.diff(v) for v, m in zip(vals, moves, strict=True)]
    )
    n = x.shape[1]
    per_year = 52.0 if weekly else 252.0
    vols = []
    for i, row in enumerate(x):
        sd = float(row.std(ddof=1))
        kurt = float(np.mean((row - row.mean()) ** 4) / max(row.var(), 1e-300) ** 2)
        se = sd * math.sqrt(max(kurt - 1.0, 0.0) / (4.0 * n))
        unit = "annualised" if moves[i] == "log" else "units per year"
        vols.append(Estimate(sd * math.sqrt(per_year), se * math.sqrt(per_year), unit))
    corr = np.corrcoef(x)
    corr_se = (1.0 - corr**2) / math.sqrt(n)
    xr = x[0] - x[0].mean()
    sxx = float(xr @ xr)
    betas = []
    for row in x:
        yc = row - row.mean()
        b = float(xr @ yc) / sxx
        e = yc - b * xr
        se = math.sqrt(float((xr * xr) @ (e * e))) / sxx
        betas.append(Estimate(b, se, "per unit move of the first series"))
    return AssetStats(
        names=[s.name for s in series],
        files=[s.file for s in series],
        frequency="weekly" if weekly else "daily",
        n=n,
        first=str(dates[0]),
        last=str(dates[-1]),
        moves=moves,
        vols=vols,
        corr=corr,
        corr_se=corr_se,
        betas=betas,
    )
