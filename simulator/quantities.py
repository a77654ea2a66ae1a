"""Uncertain quantities: a fixed value or a distribution, always with a unit and a rationale.

Every number in a scenario file is a *quantity*::

    spot: {value: 70.45, unit: USD/bbl, rationale: EIA Brent close on the as-of date}
    change: {dist: triangular, low: -1.6, mode: -1.0, high: -0.4, unit: mb/d,
             rationale: share of Iranian exports lost if tankers are stopped}

A fixed value is a degenerate distribution. Each distribution has its scipy.stats frozen
form (:meth:`frozen`, for moments and quantiles); :meth:`sample` draws one value per
Monte Carlo path, so parameter
uncertainty becomes part of the simulated spread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

__all__ = [
    "QUANTITY_DISTS",
    "UNITS",
    "Beta",
    "Discrete",
    "Fixed",
    "Laplace",
    "LogNormal",
    "Normal",
    "Quantity",
    "StudentT",
    "Triangular",
    "Uniform",
    "quantity",
]

#: Canonical units and the spellings accepted for each.
UNITS: dict[str, tuple[str, ...]] = {
    "USD/bbl": ("usd/bbl", "$/bbl"),
    "mb/d": ("mb/d", "mbd", "million b/d", "million barrels per day"),
    "million bbl": ("million bbl", "mb", "million barrels"),
    "trading days": ("trading days", "trading day"),
    "per year": ("per year", "1/year", "/year"),
    "per day": ("per day", "1/day", "/day"),
    "annualised": ("annualised", "annualized", "annualised vol", "annualized vol"),
    "probability": ("probability",),
    "fraction": ("fraction",),
    "correlation": ("correlation",),
    "elasticity": ("elasticity",),
    "log return": ("log return", "log"),
    "degrees of freedom": ("degrees of freedom", "dof"),
    "multiplier": ("multiplier", "x"),
    "risk-off units": ("risk-off units", "risk-off unit"),
    "bp": ("bp", "basis points"),
    "bp/year": ("bp/year", "bp per year", "bp annualised", "bp annualized"),
    "percent": ("percent", "%"),
    "index points": ("index points", "points"),
    "USD/oz": ("usd/oz", "$/oz"),
    "USD": ("usd", "$"),
    "beta": ("beta",),
    "bp per oil %": ("bp per oil %", "bp per 1% oil", "bp/%"),
}

_ALIASES = {alias: unit for unit, aliases in UNITS.items() for alias in (unit.lower(), *aliases)}

_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _QuantityBase(BaseModel):
    """Fields shared by every quantity: its unit and why it has this value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    unit: str = Field(description="Unit of the quantity, e.g. 'USD/bbl' or 'mb/d'.")
    rationale: str = Field(min_length=3, max_length=400, description="One line: why this value.")

    def frozen(self) -> Any:
        """The scipy.stats frozen distribution (``None`` for fixed and discrete values)."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the quantity can take."""
        raise NotImplementedError

    def mean(self) -> float:
        """Expected value (closed form; scipy is not imported on this path)."""
        raise NotImplementedError

    def variance(self) -> float:
        """Variance (closed form; infinite for laws without one)."""
        raise NotImplementedError

    def second_moment(self) -> float:
        """``E[X^2]``."""
        m = self.mean()
        return self.variance() + m * m

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` independent values, shape ``(n,)``, float64.

        Draws use the generator's own methods (the same laws scipy.stats describes in
        :meth:`frozen`), which avoids scipy's per-call overhead on the hot path.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """Short human-readable form, e.g. ``triangular(-1.6, -1.0, -0.4) mb/d``."""
        raise NotImplementedError


class Fixed(_QuantityBase):
    """A known value."""

    dist: Literal["fixed"] = "fixed"
    value: _Finite

    def frozen(self) -> Any:
        return None

    def support(self) -> tuple[float, float]:
        return self.value, self.value

    def mean(self) -> float:
        return self.value

    def variance(self) -> float:
        return 0.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        # A fixed value consumes no random numbers, so switching a quantity between fixed
        # and random does not shift the streams of other components.
        return np.full(n, self.value, dtype=np.float64)

    def describe(self) -> str:
        return f"{self.value:g} {self.unit}"


class Normal(_QuantityBase):
    """Normal distribution with mean ``mean`` and standard deviation ``sd``."""

    dist: Literal["normal"]
    mean_: _Finite = Field(alias="mean")
    sd: _Positive

    def frozen(self) -> Any:
        from scipy import stats

        return stats.norm(loc=self.mean_, scale=self.sd)

    def support(self) -> tuple[float, float]:
        return -math.inf, math.inf

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean_, self.sd, size=n)

    def mean(self) -> float:
        return self.mean_

    def variance(self) -> float:
        return self.sd * self.sd

    def describe(self) -> str:
        return f"normal(mean {self.mean_:g}, sd {self.sd:g}) {self.unit}"


class LogNormal(_QuantityBase):
    """Lognormal distribution: ``log X ~ Normal(log median, sigma)``."""

    dist: Literal["lognormal"]
    median: _Positive
    sigma: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]

    def frozen(self) -> Any:
        from scipy import stats

        return stats.lognorm(s=self.sigma, scale=self.median)

    def support(self) -> tuple[float, float]:
        return 0.0, math.inf

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(math.log(self.median), self.sigma, size=n)

    def mean(self) -> float:
        try:
            return self.median * math.exp(self.sigma**2 / 2.0)
        except OverflowError:
            return math.inf

    def variance(self) -> float:
        try:
            return self.median**2 * math.expm1(self.sigma**2) * math.exp(self.sigma**2)
        except OverflowError:
            return math.inf

    def describe(self) -> str:
        return f"lognormal(median {self.median:g}, sigma {self.sigma:g}) {self.unit}"


class Triangular(_QuantityBase):
    """Triangular distribution on ``[low, high]`` with mode ``mode``."""

    dist: Literal["triangular"]
    low: _Finite
    mode: _Finite
    high: _Finite

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def frozen(self) -> Any:
        from scipy import stats

        width = self.high - self.low
        return stats.triang(c=(self.mode - self.low) / width, loc=self.low, scale=width)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size=n)

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0

    def describe(self) -> str:
        return f"triangular({self.low:g}, {self.mode:g}, {self.high:g}) {self.unit}"


class Uniform(_QuantityBase):
    """Uniform distribution on ``[low, high]``."""

    dist: Literal["uniform"]
    low: _Finite
    high: _Finite

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError("uniform needs low < high")
        return self

    def frozen(self) -> Any:
        from scipy import stats

        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=n)

    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def variance(self) -> float:
        return (self.high - self.low) * (self.high - self.low) / 12.0

    def describe(self) -> str:
        return f"uniform({self.low:g}, {self.high:g}) {self.unit}"


class Beta(_QuantityBase):
    """Beta(a, b) distribution rescaled to ``[low, high]`` (default ``[0, 1]``)."""

    dist: Literal["beta"]
    a: _Positive
    b: _Positive
    low: _Finite = 0.0
    high: _Finite = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Beta:
        if not self.low < self.high:
            raise ValueError("beta needs low < high")
        return self

    def frozen(self) -> Any:
        from scipy import stats

        return stats.beta(self.a, self.b, loc=self.low, scale=self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.low + (self.high - self.low) * rng.beta(self.a, self.b, size=n)

    def mean(self) -> float:
        return self.low + (self.high - self.low) * self.a / (self.a + self.b)

    def variance(self) -> float:
        ab = self.a + self.b
        width = self.high - self.low
        return width * width * self.a * self.b / (ab * ab * (ab + 1.0))

    def describe(self) -> str:
        return f"beta(a {self.a:g}, b {self.b:g}) on [{self.low:g}, {self.high:g}] {self.unit}"


class Discrete(_QuantityBase):
    """A finite set of ``values`` drawn with probabilities ``weights`` (summing to 1)."""

    dist: Literal["discrete"]
    values: list[_Finite] = Field(min_length=1, max_length=1000)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        min_length=1, max_length=1000
    )

    @model_validator(mode="after")
    def _weights(self) -> Discrete:
        if len(self.values) != len(self.weights):
            raise ValueError(
                f"discrete needs as many weights as values "
                f"({len(self.weights)} weights, {len(self.values)} values)"
            )
        if not math.isclose(sum(self.weights), 1.0, abs_tol=1e-6):
            raise ValueError(f"discrete weights must sum to 1 (they sum to {sum(self.weights):g})")
        return self

    def frozen(self) -> Any:
        return None

    def support(self) -> tuple[float, float]:
        used = [v for v, w in zip(self.values, self.weights, strict=True) if w > 0]
        return min(used), max(used)

    def mean(self) -> float:
        return float(np.dot(self.values, self.weights))

    def variance(self) -> float:
        m = self.mean()
        return float(np.dot(np.square(self.values), self.weights)) - m * m

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        p = np.asarray(self.weights, dtype=np.float64)
        idx = rng.choice(len(self.values), size=n, p=p / p.sum())
        return np.asarray(self.values, dtype=np.float64)[idx]

    def describe(self) -> str:
        pairs = ", ".join(f"{v:g}: {w:g}" for v, w in zip(self.values, self.weights, strict=True))
        return f"discrete({pairs}) {self.unit}"


class StudentT(_QuantityBase):
    """Student-t distribution with ``df`` degrees of freedom, location and scale."""

    dist: Literal["student_t"]
    df: _Positive
    loc: _Finite = 0.0
    scale: _Positive

    def frozen(self) -> Any:
        from scipy import stats

        return stats.t(df=self.df, loc=self.loc, scale=self.scale)

    def support(self) -> tuple[float, float]:
        return -math.inf, math.inf

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.loc + self.scale * rng.standard_t(self.df, size=n)

    def mean(self) -> float:
        return self.loc if self.df > 1 else math.nan

    def variance(self) -> float:
        return self.scale * self.scale * self.df / (self.df - 2.0) if self.df > 2 else math.inf

    def describe(self) -> str:
        return f"student_t(df {self.df:g}, loc {self.loc:g}, scale {self.scale:g}) {self.unit}"


class Laplace(_QuantityBase):
    """Laplace (double-exponential) distribution with location and scale."""

    dist: Literal["laplace"]
    loc: _Finite = 0.0
    scale: _Positive

    def frozen(self) -> Any:
        from scipy import stats

        return stats.laplace(loc=self.loc, scale=self.scale)

    def support(self) -> tuple[float, float]:
        return -math.inf, math.inf

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.laplace(self.loc, self.scale, size=n)

    def mean(self) -> float:
        return self.loc

    def variance(self) -> float:
        return 2.0 * self.scale * self.scale

    def describe(self) -> str:
        return f"laplace(loc {self.loc:g}, scale {self.scale:g}) {self.unit}"


QUANTITY_DISTS = (
    "fixed",
    "normal",
    "lognormal",
    "triangular",
    "uniform",
    "beta",
    "discrete",
    "student_t",
    "laplace",
)
"""The values ``dist`` takes, in the order the docs list them."""


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "dist" in value:
            return str(value["dist"])
        return "fixed" if "value" in value else None
    return getattr(value, "dist", None)


Quantity = Annotated[
    Annotated[Fixed, Tag("fixed")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[LogNormal, Tag("lognormal")]
    | Annotated[Triangular, Tag("triangular")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[Beta, Tag("beta")]
    | Annotated[Discrete, Tag("discrete")]
    | Annotated[StudentT, Tag("student_t")]
    | Annotated[Laplace, Tag("laplace")],
    Discriminator(
        _tag,
        custom_error_type="quantity",
        custom_error_message=(
            "expected a quantity: {value, unit, rationale} or {dist, ..., unit, rationale} "
            "with dist one of " + ", ".join(QUANTITY_DISTS)
        ),
    ),
]


def _checker(
    unit: str,
    ge: float | None,
    gt: float | None,
    le: float | None,
    lt: float | None,
) -> Callable[[Any], Any]:
    def check(q: Any) -> Any:
        given = _ALIASES.get(q.unit.strip().lower())
        if given != unit:
            raise ValueError(f"unit must be '{unit}', got '{q.unit}'")
        lo, hi = q.support()
        bounds = []
        if ge is not None and lo < ge:
            bounds.append(f">= {ge:g}")
        if gt is not None and lo <= gt:
            bounds.append(f"> {gt:g}")
        if le is not None and hi > le:
            bounds.append(f"<= {le:g}")
        if lt is not None and hi >= lt:
            bounds.append(f"< {lt:g}")
        if bounds:
            if lo == hi:
                raise ValueError(f"must be {' and '.join(bounds)} {unit}, got {lo:g}")
            raise ValueError(
                f"must be {' and '.join(bounds)} {unit} on every draw; "
                f"{q.describe()} takes values in [{lo:g}, {hi:g}]"
            )
        return q

    check.unit = unit  # type: ignore[attr-defined]  # read by error messages
    return check


def quantity(
    unit: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A :data:`Quantity` field type that must carry ``unit`` and stay within bounds.

    The bounds apply to the whole support of a distribution, so a volatility cannot be
    given a normal distribution that would make some paths negative.

    Parameters
    ----------
    unit
        Canonical unit (a key of :data:`UNITS`).
    ge, gt, le, lt
        Inclusive and exclusive bounds on every possible value.
    """
    if unit not in UNITS:
        raise KeyError(unit)
    return Annotated[Quantity, AfterValidator(_checker(unit, ge, gt, le, lt))]
