"""Portfolios: positions in Brent and the scenario's assets, and their P&L distribution.

A portfolio file::

    name: sample
    description: A balanced book with an energy tilt.
    value_usd: 10_000_000          # needed only for positions given as weights
    positions:
      sp500: {weight: 0.5}
      energy: {notional_usd: 1_000_000}
      us10y: {notional_usd: 3_000_000, duration_years: 8}   # or {dv01_usd: 2400}
      brent: {notional_usd: -500_000}                        # short oil

A price position's P&L is ``notional * (level_h / level_0 - 1)``; a yield position's is
``-dv01 * change_in_bp`` (a long bond loses when yields rise), with
``dv01 = notional * duration / 10_000`` when given by notional and duration. Yield
positions earn no carry or coupon (price positions carry their assets' drift). VaR and
expected shortfall are losses measured from zero P&L, not from the mean: the expected
P&L over the horizon is in them.

P&L statistics merge across blocks like the other series. VaR and expected shortfall
are computed exactly from the worst paths, which every block keeps (with each asset's
P&L on them, for Euler contributions to ES) and the merge trims to the run's tail.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator import scenario as sc
from simulator.errors import ScenarioError
from simulator.reduce import QUANTILES, Moments, compact_counts, join_parts

__all__ = [
    "LEVELS",
    "LoadedPortfolio",
    "Portfolio",
    "PortfolioSummary",
    "Position",
    "load_portfolio",
    "position_pnl",
]

#: Tail probabilities for VaR and expected shortfall, with their statistic suffixes.
LEVELS: dict[str, float] = {"95": 0.05, "99": 0.01}

_Money = Annotated[float, Field(allow_inf_nan=False, ge=-1e13, le=1e13)]


class Position(BaseModel):
    """One position: a notional or weight, and for yields a DV01 or a duration."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    notional_usd: _Money | None = None
    weight: Annotated[float, Field(allow_inf_nan=False, ge=-100, le=100)] | None = None
    dv01_usd: _Money | None = None
    duration_years: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    rationale: str | None = Field(default=None, max_length=400)

    @model_validator(mode="after")
    def _one_size(self) -> Position:
        given = [k for k in ("notional_usd", "weight", "dv01_usd") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of notional_usd, weight or dv01_usd"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.dv01_usd is not None and self.duration_years is not None:
            raise ValueError("duration_years goes with notional_usd or weight, not dv01_usd")
        return self


class Portfolio(BaseModel):
    """A book of positions in Brent and the scenario's assets."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, Field(pattern=sc.NAME_PATTERN)] = "portfolio"
    description: str = Field(default="", max_length=2000)
    value_usd: Annotated[float, Field(gt=0, le=1e13, allow_inf_nan=False)] | None = None
    positions: dict[str, Position] = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _value_for_weights(self) -> Portfolio:
        if self.value_usd is None:
            for name, pos in self.positions.items():
                if pos.weight is not None:
                    raise sc._FieldError(
                        ("positions", name, "weight"),
                        f"position '{name}' is a weight: give value_usd, the book's value",
                    )
        return self


@dataclass(frozen=True)
class LoadedPortfolio:
    """A validated portfolio with its file and the line of each position."""

    portfolio: Portfolio
    path: Path
    sha256: str
    lines: dict[str, int]

    def check_assets(self, scenario: sc.Scenario) -> None:
        """Raise :class:`ScenarioError` if a position names no series of ``scenario``.

        Also checks that yields are sized by DV01 or duration, and prices are not.
        """
        known = {"brent": "price", **{k: a.kind for k, a in scenario.assets.items()}}
        for name, pos in self.portfolio.positions.items():
            where = {"file": self.path, "field": f"positions.{name}", "line": self.lines.get(name)}
            if name not in known:
                raise ScenarioError(
                    f"unknown asset '{name}' for scenario '{scenario.name}' "
                    f"(known: {', '.join(known)})",
                    **where,  # type: ignore[arg-type]
                )
            if known[name] == "yield" and pos.dv01_usd is None and pos.duration_years is None:
                raise ScenarioError(
                    "a yield position needs dv01_usd, or duration_years with its notional",
                    **where,  # type: ignore[arg-type]
                )
            if known[name] == "price" and (pos.dv01_usd is not None or pos.duration_years):
                raise ScenarioError(
                    "dv01_usd and duration_years apply to yields only",
                    **where,  # type: ignore[arg-type]
                )

    def exposures(self) -> dict[str, tuple[str, float]]:
        """Position -> (``notional`` or ``dv01``, USD amount)."""
        p = self.portfolio
        out: dict[str, tuple[str, float]] = {}
        for name, pos in p.positions.items():
            notional = pos.notional_usd
            if pos.weight is not None:
                assert p.value_usd is not None
                notional = pos.weight * p.value_usd
            if pos.dv01_usd is not None:
                out[name] = ("dv01", pos.dv01_usd)
            elif pos.duration_years is not None:
                assert notional is not None
                out[name] = ("dv01", notional * pos.duration_years / 10_000.0)
            else:
                assert notional is not None
                out[name] = ("notional", notional)
        return out


def load_portfolio(path: str | Path) -> LoadedPortfolio:
    """Read and validate a portfolio file.

    Raises
    ------
    ScenarioError
        Missing file, bad YAML, unknown keys, non-numeric sizes: with file, field, line.
    """
    import hashlib

    path = Path(path)
    data, origin = sc.read_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError("a portfolio must be a YAML mapping", file=path, line=1)
    if "positions" not in data and {"oil", "extends", "events"} & set(data):
        # Named as what it is, not field by field as a portfolio with unknown keys.
        raise ScenarioError(
            "a scenario file (top-level oil, events or extends), not a portfolio; give it as "
            "an argument, and a book (top-level positions) with --portfolio",
            file=path,
        )
    try:
        portfolio = Portfolio.model_validate(data)
    except ValidationError as exc:
        raise sc.validation_error(exc, data, origin, path, Portfolio) from None
    lines = {k[1]: v[1] for k, v in origin.items() if len(k) == 2 and k[0] == "positions"}
    return LoadedPortfolio(portfolio, path, hashlib.sha256(path.read_bytes()).hexdigest(), lines)


def position_pnl(
    exposures: dict[str, tuple[str, float]], levels: dict[str, np.ndarray]
) -> np.ndarray:
    """P&L of each position, USD, ``(n_paths, n_days, n_positions)``.

    ``levels`` maps each name to its levels on the days wanted, ``(n_paths, n_days + 1)``
    with the start level in column 0.
    """
    cols = []
    for name, (kind, amount) in exposures.items():
        lv = levels[name]
        if kind == "dv01":
            cols.append(-amount * (lv[:, 1:] - lv[:, :1]) * 100.0)
        else:
            cols.append(amount * (lv[:, 1:] / lv[:, :1] - 1.0))
    return np.stack(cols, axis=-1)


@dataclass
class PortfolioSummary:
    """Mergeable P&L statistics per horizon.

    Attributes
    ----------
    names
        Positions, in file order.
    horizons
        Reporting horizons, trading days, ``(h,)``.
    moments
        Moments of total P&L at each horizon.
    tail_size
        How many worst paths the run keeps, ``K``.
    tail
        Per horizon, the ``K`` worst paths' position P&Ls ``(K, n_positions)`` sorted by
        total P&L ascending.
    counts, width, half_range
        Histogram of total P&L per horizon (USD bins) for the median and the chart.
    """

    names: list[str]
    horizons: np.ndarray
    moments: Moments
    tail_size: int
    tail: list[np.ndarray]
    counts: np.ndarray
    width: float
    half_range: float
    losses: np.ndarray  # (h,) count of paths with P&L < 0
    # Total P&L per path at the horizons, block by block (each (n_block, h)), while within
    # the budget; read joined as ``exact``. Empty in a forked worker's summary (the rows go
    # to shared memory: simulator.shared_rows).
    exact_parts: tuple[np.ndarray, ...] | None = None

    @staticmethod
    def tail_size_for(total_paths: int) -> int:
        """Worst paths to keep: enough for the 5% quantile plus 4 standard errors."""
        a = max(LEVELS.values())
        return min(total_paths, math.ceil(total_paths * a + 4 * math.sqrt(total_paths * a)) + 2)

    @classmethod
    def of(
        cls,
        names: list[str],
        horizons: np.ndarray,
        pnl: np.ndarray,
        tail_size: int,
        gross: float,
        keep_exact: bool = False,
    ) -> PortfolioSummary:
        """Summarise one block: ``pnl`` is ``(n_paths, h, n_positions)``, USD.

        ``keep_exact`` keeps every path's total P&L at the horizons (for comparisons).
        """
        total = pnl.sum(axis=2)
        tails = []
        for i in range(len(horizons)):
            k = min(tail_size, total.shape[0])
            idx = (
                np.argpartition(total[:, i], k - 1)[:k]
                if k < total.shape[0]
                else np.arange(total.shape[0])
            )
            order = idx[np.argsort(total[idx, i], kind="stable")]
            tails.append(pnl[order, i, :])
        width = max(gross, 1.0) * 2e-4
        half = max(gross, 1.0) * 3.0
        n_bins = round(2 * half / width)
        cell = np.clip(np.floor((total + half) / width).astype(np.int64) + 1, 0, n_bins + 1)
        cell += (np.arange(len(horizons)) * (n_bins + 2))[None, :]
        counts = np.bincount(cell.ravel(), minlength=len(horizons) * (n_bins + 2))
        return cls(
            names=names,
            horizons=horizons,
            moments=Moments.of(total),
            tail_size=tail_size,
            tail=tails,
            counts=counts.reshape(len(horizons), n_bins + 2),
            width=width,
            half_range=half,
            losses=(total < 0).sum(axis=0),
            exact_parts=(total,) if keep_exact else None,
        )

    def merge(self, other: PortfolioSummary) -> PortfolioSummary:
        """Both blocks' statistics; the tails are merged and trimmed to ``tail_size``."""
        tails = []
        for a, b in zip(self.tail, other.tail, strict=True):
            both = np.concatenate([a, b])
            order = np.argsort(both.sum(axis=1), kind="stable")[: self.tail_size]
            tails.append(both[order])
        return PortfolioSummary(
            names=self.names,
            horizons=self.horizons,
            moments=self.moments.merge(other.moments),
            tail_size=self.tail_size,
            tail=tails,
            counts=np.add(self.counts, other.counts, dtype=np.int64),  # either may be compacted
            width=self.width,
            half_range=self.half_range,
            losses=self.losses + other.losses,
            exact_parts=None
            if self.exact_parts is None or other.exact_parts is None
            else self.exact_parts + other.exact_parts,
        )

    def compacted(self) -> PortfolioSummary:
        """The same statistics with the histogram counts (int64 as counted) in the smallest
        unsigned type that holds them, for a task's summary that crosses a pipe to the
        parent: 30,002 cells per horizon, nearly all empty. :meth:`merge` adds counts
        as int64 whatever their type."""
        return dataclasses.replace(self, counts=compact_counts(self.counts, self.n))

    @property
    def exact(self) -> np.ndarray | None:
        """Total P&L per path at the horizons, ``(n, h)``, or ``None`` over the budget."""
        self.exact_parts = join_parts(self.exact_parts)
        return None if self.exact_parts is None else self.exact_parts[0]

    @property
    def n(self) -> int:
        return self.moments.n

    def _hist_quantile(self, i: int, q: float) -> float:
        cum = np.cumsum(self.counts[i])
        target = q * cum[-1]
        cell = int(np.argmax(cum >= target))
        below = cum[cell - 1] if cell > 0 else 0
        inside = self.counts[i, cell]
        frac = (target - below) / inside if inside > 0 else 0.5
        return float(-self.half_range + (cell - 1 + frac) * self.width)

    def quantile(self, i: int, q: float) -> float:
        """P&L quantile at horizon index ``i``: exact in the kept tail, else histogram."""
        if self.exact is not None:
            return float(np.quantile(self.exact[:, i], min(max(q, 0.0), 1.0)))
        tail_total = self.tail[i].sum(axis=1)
        # Linear interpolation between order statistics, as numpy's default quantile.
        pos = max(q, 0.0) * (self.n - 1)
        lo = math.floor(pos)
        if lo + 1 < len(tail_total):
            frac = pos - lo
            return float(tail_total[lo] + frac * (tail_total[lo + 1] - tail_total[lo]))
        if len(tail_total) == self.n:
            return float(tail_total[-1])
        return self._hist_quantile(i, q)

    def risk(self, i: int, level: str) -> dict[str, tuple[float, float]]:
        """VaR, ES (positive numbers are losses) and ES contributions at one tail level."""
        a = LEVELS[level]
        n = self.n
        k = max(1, math.ceil(a * n))
        tail = self.tail[i][:k]
        total = tail.sum(axis=1)
        var = -self.quantile(i, a)
        s = math.sqrt(a * (1 - a) / n)
        var_se = abs(self.quantile(i, min(a + s, 1.0)) - self.quantile(i, max(a - s, 0.0))) / 2
        es = float(-total.mean())
        tail_var = float(total.var(ddof=1)) if k > 1 else 0.0
        es_se = math.sqrt((tail_var + (1 - a) * (es - var) ** 2) / (n * a))
        out = {f"var_{level}": (var, var_se), f"es_{level}": (es, es_se)}
        for j, name in enumerate(self.names):
            contrib = -tail[:, j]
            se = float(contrib.std(ddof=1) / math.sqrt(k)) if k > 1 else 0.0
            out[f"es_{level}_contribution:{name}"] = (float(contrib.mean()), se)
        return out

    def rows(self) -> list[tuple[str, int, str, float, float]]:
        """Tidy rows ``(series, horizon, statistic, value, std_error)``.

        The portfolio's rows have series ``portfolio``; ES contributions are rows of the
        position's series with statistic ``portfolio_es_95_contribution``.
        """
        out: list[tuple[str, int, str, float, float]] = []
        n = self.n
        mean = self.moments.mean
        std = np.sqrt(self.moments.var())
        se_mean = self.moments.std_error_of_mean()
        se_std = self.moments.std_error_of_std()
        for i, h in enumerate(self.horizons):
            h = int(h)
            out.append(("portfolio", h, "mean", float(mean[i]), float(se_mean[i])))
            out.append(("portfolio", h, "std", float(std[i]), float(se_std[i])))
            for stat, q in QUANTILES.items():
                s = math.sqrt(q * (1 - q) / n)
                se = abs(self.quantile(i, min(q + s, 1.0)) - self.quantile(i, max(q - s, 0.0))) / 2
                out.append(("portfolio", h, stat, self.quantile(i, q), se))
            p = float(self.losses[i] / n)
            out.append(("portfolio", h, "prob_loss", p, math.sqrt(p * (1 - p) / n)))
            for level in LEVELS:
                for stat, (value, se) in self.risk(i, level).items():
                    if ":" in stat:
                        stat_name, asset = stat.split(":")
                        out.append((asset, h, f"portfolio_{stat_name}", value, se))
                    else:
                        out.append(("portfolio", h, stat, value, se))
        return out

    def density(self, i: int, n_bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
        """Bin centres (USD) and density of total P&L at horizon index ``i``, about
        ``n_bins`` merged bins over the occupied range."""
        inner = self.counts[i, 1:-1]
        used = np.flatnonzero(inner)
        first, last = (int(used[0]), int(used[-1]) + 1) if used.size else (0, inner.shape[0])
        coarsen = max(1, (last - first) // n_bins)
        usable = (last - first) - (last - first) % coarsen
        merged = inner[first : first + usable].reshape(-1, coarsen).sum(axis=1)
        width = self.width * coarsen
        centres = -self.half_range + first * self.width + width * (np.arange(merged.shape[0]) + 0.5)
        return centres, merged / (max(self.n, 1) * width)


def describe(loaded: LoadedPortfolio) -> dict[str, Any]:
    """The portfolio as recorded in a manifest."""
    return {
        "file": str(loaded.path),
        "sha256": loaded.sha256,
        "name": loaded.portfolio.name,
        "exposures_usd": {
            k: {"kind": kd, "amount": v} for k, (kd, v) in loaded.exposures().items()
        },
    }
