"""Stylised facts of daily returns and horizon spreads, for history and the calibrated model.

Horizon spreads are the 5% and 95% quantiles of overlapping ``k``-day log returns
(``k`` in :data:`SPREAD_HORIZONS`) that lie inside one contiguous segment (history) or one
simulated path (model).

The model's returns come from the project's own engine
(:func:`simulator.engine.simulate_oil`) run on a minimal scenario whose ``oil:`` section is
the calibrated fragment, so the check covers the code that scenarios actually use.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from simulator import scenario as sc
from simulator.engine import simulate_oil
from simulator.errors import RuntimeFailure
from simulator.streams import Streams

__all__ = [
    "FACTS",
    "SPREAD_HORIZONS",
    "Facts",
    "acf",
    "horizon_spreads",
    "simulate_returns",
    "stylised_facts",
]

#: Horizons (trading days) of the spread check.
SPREAD_HORIZONS = (5, 21, 63, 126)

#: (key, label) of each stylised fact, in table order.
FACTS = (
    ("vol", "ann. vol"),
    ("excess_kurtosis", "excess kurtosis"),
    ("q01", "1% daily quantile"),
    ("q99", "99% daily quantile"),
    ("share_gt5", "share |r| > 5%"),
    *((f"h{k}_q{q:02d}", f"{k}-day {q}% quantile") for k in SPREAD_HORIZONS for q in (5, 95)),
)


@dataclass(frozen=True)
class Facts:
    """Stylised facts of a set of daily log returns (``n`` of them)."""

    vol: float
    excess_kurtosis: float
    q01: float
    q99: float
    share_gt5: float
    n: int
    spreads: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        base = {k: float(getattr(self, k)) for k, _ in FACTS if not k.startswith("h")}
        spreads = {k: float(self.spreads.get(k, np.nan)) for k, _ in FACTS if k.startswith("h")}
        return base | spreads | {"n": self.n}


def horizon_spreads(
    r: np.ndarray, starts: np.ndarray | None = None, horizons: tuple[int, ...] = SPREAD_HORIZONS
) -> dict[str, float]:
    """5%/95% quantiles of overlapping ``k``-day log returns, keyed ``h{k}_q05``/``h{k}_q95``.

    ``r``: daily log returns, ``(n,)`` split into segments at ``starts`` (indices, first 0),
    or ``(paths, n)`` with each row a segment. No ``k``-day return spans two segments.
    """
    if r.ndim == 2:
        pieces = list(r)
    else:
        cuts = [int(i) for i in (starts if starts is not None else [0])] + [r.size]
        pieces = [r[a:b] for a, b in itertools.pairwise(cuts)]
    levels = [np.concatenate([[0.0], np.cumsum(p)]) for p in pieces]
    out: dict[str, float] = {}
    for k in horizons:
        d = [y[k:] - y[:-k] for y in levels if y.size > k]
        if not d:
            out[f"h{k}_q05"] = out[f"h{k}_q95"] = float("nan")
            continue
        q05, q95 = np.quantile(np.concatenate(d), [0.05, 0.95])
        out[f"h{k}_q05"], out[f"h{k}_q95"] = float(q05), float(q95)
    return out


def stylised_facts(r: np.ndarray, starts: np.ndarray | None = None) -> Facts:
    """Facts of daily log returns ``r``: ``(n,)`` with segment ``starts``, or ``(paths, n)``.

    The daily facts flatten ``r``; the horizon spreads stay inside segments or paths.
    """
    x = np.ravel(r)
    c = x - x.mean()
    var = float(c @ c / x.size)
    kurt = float(np.mean(c**4) / var**2 - 3.0) if var > 0 else 0.0
    q01, q99 = np.quantile(x, [0.01, 0.99])
    return Facts(
        vol=float(np.sqrt(var * 252.0)),
        excess_kurtosis=kurt,
        q01=float(q01),
        q99=float(q99),
        share_gt5=float(np.mean(np.abs(x) > 0.05)),
        n=int(x.size),
        spreads=horizon_spreads(r, starts),
    )


def acf(x: np.ndarray, lags: int) -> np.ndarray:
    """Sample autocorrelations at lags ``1..lags`` along axis 0; ``(lags,)`` or per column."""
    c = x - x.mean(axis=0)
    den = (c * c).sum(axis=0)
    return np.array([(c[k:] * c[:-k]).sum(axis=0) / den for k in range(1, lags + 1)])


def simulate_returns(
    oil: dict[str, Any], as_of: str, n_paths: int, n_days: int, seed: int
) -> np.ndarray:
    """Daily log returns of Brent under ``oil`` (an ``oil:`` section), ``(n_paths, n_days)``.

    The regime chain starts from its stationary law, so long paths are comparable with a
    long history.
    """
    oil = dict(oil)
    reg = oil.get("regimes", {})
    if reg.get("model") == "markov":
        p = float(reg["calm_to_stressed"]["value"])
        q = 1.0 / float(reg["stressed_duration"]["value"])
        reg = dict(reg)
        reg["initial_stressed"] = {
            "value": p / (p + q),
            "unit": "probability",
            "rationale": "stationary share, for the long check run",
        }
        oil["regimes"] = reg
    doc = {
        "name": "calibrated",
        "description": "the calibrated oil section alone, for the stylised-facts check",
        "as_of": dt.date.fromisoformat(as_of),
        "horizon_days": min(n_days, 2520),
        "oil": oil,
        "physical": {
            "world_demand": {"value": 100.0, "unit": "mb/d", "rationale": "unused here"},
            "supply_elasticity": {"value": 0.05, "unit": "elasticity", "rationale": "unused"},
            "demand_elasticity": {"value": -0.25, "unit": "elasticity", "rationale": "unused"},
        },
    }
    try:
        scenario = sc.Scenario.model_validate(doc)
    except ValidationError as exc:  # the fit produced values the schema rejects
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RuntimeFailure(
            f"the calibrated oil section is invalid: {where}: {first['msg']}"
        ) from None
    paths = simulate_oil(scenario, Streams(seed, 0), n_paths, n_days)
    r = np.diff(paths.log_price, axis=1)
    if not np.all(np.isfinite(r)):
        raise RuntimeFailure("the calibrated model produced non-finite returns")
    return r
