"""Scenario files: YAML in, a validated :class:`Scenario` out. No numerics here.

A scenario file is YAML read with ``yaml.safe_load`` semantics (no tags that build Python
objects), with duplicate keys rejected. ``extends: baseline.yaml`` names a base file,
relative to the extending file, that is loaded first; the extending file's mappings are
merged into it key by key. Quantities (mappings with ``value``, ``dist`` or ``unit``) are
replaced whole, and an event or offset set to ``null`` is removed. Every validation failure
becomes a :class:`~simulator.errors.ScenarioError` naming the file, the field and the line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import reprlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from simulator.errors import PortfolioFileError, ScenarioError
from simulator.files import read_bounded
from simulator.quantities import _ALIASES, QUANTITY_DISTS, UNITS, Quantity, quantity

__all__ = [
    "AssetSpec",
    "Correlations",
    "Event",
    "LoadedScenario",
    "Offset",
    "OilModel",
    "Physical",
    "Scenario",
    "load_scenario",
    "read_yaml",
    "validation_error",
]

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_EXTENDS_DEPTH = 16
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
_NAME_RULE = (
    "lower-case letters, digits and underscores, starting with a letter, at most 64 characters"
)

_Name = Annotated[str, Field(pattern=NAME_PATTERN)]
#: libyaml's loader when available (several times faster), else the pure-Python one; both
#: have ``yaml.safe_load`` semantics.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# YAML 1.1 (PyYAML) reads 1e6 and 1e-2 as strings: a float needs a dot there. Read them as
# numbers, as YAML 1.2 and every other tool do.
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _Loader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, with floats written in exponent form without a dot."""


class _PythonLoader(yaml.SafeLoader):
    """The pure-Python safe loader, with the same floats (for error messages and lines)."""


for _cls in (_Loader, _PythonLoader):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))
_LOADER = _Loader


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)


# --------------------------------------------------------------------------- oil dynamics


class ShortTermSpec(_Strict):
    """Short-term log-price factor: Ornstein–Uhlenbeck, reverting to zero."""

    half_life: quantity("trading days", gt=0) = Field(description="Half-life of deviations.")
    vol: quantity("annualised", ge=0, le=5) = Field(description="Volatility in the calm regime.")


class LongTermSpec(_Strict):
    """Long-term log-price factor: arithmetic Brownian motion with drift."""

    drift: quantity("per year", ge=-2, le=2) = Field(description="Drift of the log price.")
    vol: quantity("annualised", ge=0, le=5) = Field(description="Volatility in the calm regime.")


class NormalInnovations(_Strict):
    """Gaussian shocks."""

    model: Literal["normal"]


class StudentTInnovations(_Strict):
    """Student-t shocks scaled to unit variance (shared mixing variable across factors)."""

    model: Literal["student_t"]
    df: quantity("degrees of freedom", gt=2, le=1000)


class NoRegimes(_Strict):
    """One volatility regime."""

    model: Literal["none"]


class MarkovRegimes(_Strict):
    """Calm/stressed volatility regimes following a two-state Markov chain in trading days."""

    model: Literal["markov"]
    calm_to_stressed: quantity("per day", ge=0, le=1)
    stressed_duration: quantity("trading days", ge=1)
    vol_multiplier: quantity("multiplier", ge=1, le=20)
    initial_stressed: quantity("probability", ge=0, le=1)


class NoJumps(_Strict):
    """No background jumps."""

    model: Literal["none"]


class PoissonJumps(_Strict):
    """Background jumps: Poisson arrivals, heavy-tailed log sizes, fading with the short factor."""

    model: Literal["poisson"]
    intensity_calm: quantity("per year", ge=0, le=252)
    intensity_stressed: quantity("per year", ge=0, le=252)
    size: quantity("log return") = Field(
        description="Law of one jump's log size; draws are truncated to +/-2 (a factor 7.4)."
    )


def _model_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        tag = value.get("model")
        return str(tag) if tag is not None else None
    return getattr(value, "model", None)


def _registry(*classes: type[BaseModel]) -> Any:
    """Discriminated union on ``model:``; an unknown name lists the valid ones."""
    tags = [get_args(c.model_fields["model"].annotation)[0] for c in classes]
    members = tuple(Annotated[c, Tag(t)] for c, t in zip(classes, tags, strict=True))
    return Annotated[
        Union[members],  # noqa: UP007
        Discriminator(
            _model_tag,
            custom_error_type="unknown_model",
            custom_error_message="model must be one of: " + ", ".join(repr(t) for t in tags),
        ),
    ]


Innovations = _registry(NormalInnovations, StudentTInnovations)
Regimes = _registry(NoRegimes, MarkovRegimes)
Jumps = _registry(NoJumps, PoissonJumps)


class OilModel(_Strict):
    """Brent dynamics: two factors, regimes, jumps and innovations."""

    spot: quantity("USD/bbl", gt=0, le=10_000)
    short_term: ShortTermSpec
    long_term: LongTermSpec
    factor_correlation: quantity("correlation", ge=-1, le=1)
    innovations: Innovations
    regimes: Regimes
    jumps: Jumps


class Physical(_Strict):
    """World balance and short-run elasticities that turn mb/d into price."""

    world_demand: quantity("mb/d", gt=1, le=1000)
    supply_elasticity: quantity("elasticity", ge=0, le=10)
    demand_elasticity: quantity("elasticity", ge=-10, lt=0)


# --------------------------------------------------------------------------- events


class StepProfile(_Strict):
    """Full change from the start day, held for ``duration`` days (or to the horizon)."""

    shape: Literal["step"]
    duration: quantity("trading days", ge=1) | None = None


class RampProfile(_Strict):
    """Linear build-up to the full change over ``ramp`` days, then held."""

    shape: Literal["ramp"]
    ramp: quantity("trading days", ge=1)
    duration: quantity("trading days", ge=1) | None = None


class DecayProfile(_Strict):
    """Full change at the start day, decaying exponentially with ``half_life``."""

    shape: Literal["decay"]
    half_life: quantity("trading days", gt=0)


def _shape_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        tag = value.get("shape")
        return str(tag) if tag is not None else None
    return getattr(value, "shape", None)


Profile = Annotated[
    Annotated[StepProfile, Tag("step")]
    | Annotated[RampProfile, Tag("ramp")]
    | Annotated[DecayProfile, Tag("decay")],
    Discriminator(
        _shape_tag,
        custom_error_type="unknown_shape",
        custom_error_message="shape must be one of: 'step', 'ramp', 'decay'",
    ),
]


class SupplyEffect(_Strict):
    """A change in world oil supply, in mb/d (negative: barrels lost)."""

    change: quantity("mb/d", ge=-60, le=60)
    profile: Profile


class PremiumEffect(_Strict):
    """A risk premium added to the price at the start day, fading with a half-life."""

    size: quantity("USD/bbl", ge=-500, le=500)
    half_life: quantity("trading days", gt=0)


class RiskOffEffect(_Strict):
    """An impulse to the risk-off factor (1 unit: S&P 500 about -1% on the day)."""

    size: quantity("risk-off units", ge=-50, le=50)
    half_life: quantity("trading days", gt=0)


class Event(_Strict):
    """A scenario event: whether and when it happens, and what it does."""

    rationale: str = Field(min_length=3, max_length=400)
    probability: quantity("probability", ge=0, le=1)
    timing: quantity("trading days", ge=0, le=10_000)
    requires: list[_Name] = Field(default_factory=list, max_length=32)
    excludes: list[_Name] = Field(default_factory=list, max_length=32)
    supply: SupplyEffect | None = None
    risk_premium: PremiumEffect | None = None
    stressed_for: quantity("trading days", ge=1) | None = None
    ends_stress: quantity("probability", ge=0, le=1) | None = Field(
        default=None, description="Chance the stressed regime ends on the event's day."
    )
    risk_off: RiskOffEffect | None = None

    @model_validator(mode="after")
    def _one_regime_effect(self) -> Event:
        if self.stressed_for is not None and self.ends_stress is not None:
            raise _FieldError(  # located at the event: the two may come from two files
                (),
                "an event either forces the stressed regime (stressed_for) or ends it "
                "(ends_stress), not both; split it into two events",
            )
        return self


class Offset(_Strict):
    """A supply response that replaces lost barrels: spare capacity or strategic stocks."""

    rationale: str = Field(min_length=3, max_length=400)
    capacity: quantity("mb/d", ge=0, le=60)
    response_fraction: quantity("fraction", ge=0, le=1)
    lag: quantity("trading days", ge=0, le=1000)
    volume: quantity("million bbl", gt=0) | None = None
    trigger: quantity("mb/d", ge=0, le=60) | None = Field(
        default=None, description="Responds only while the (lagged) loss exceeds this."
    )
    impaired_by: dict[_Name, quantity("fraction", ge=0, le=1)] = Field(
        default_factory=dict, description="Event -> share of capacity left while it is active."
    )


# --------------------------------------------------------------------------- assets

#: Units of an asset's fields by kind: prices move in log returns, yields in basis points.
ASSET_UNITS: dict[str, dict[str, str]] = {
    "price": {
        "drift": "per year",
        "vol": "annualised",
        "beta_supply": "beta",
        "risk_off": "percent",
    },
    "yield": {
        "drift": "bp/year",
        "vol": "bp/year",
        "beta_supply": "bp per oil %",
        "risk_off": "bp",
    },
}
_START_UNITS = ("index points", "USD/oz", "USD/bbl", "USD", "percent")


class AssetSpec(_Strict):
    """A risk asset: its start, its own dynamics and its reactions to oil and to risk-off.

    Prices move in logs, yields in basis points. ``vol`` is the asset's total volatility
    in the calm regime; its beta to oil's ordinary moves follows from its correlation with
    Brent (see ``correlations``). ``beta_supply`` is the reaction to the event-driven part
    of oil's move, ``risk_off`` the move per unit of the risk-off factor.
    """

    label: str = Field(min_length=1, max_length=80)
    rationale: str = Field(min_length=3, max_length=400)
    kind: Literal["price", "yield"] = "price"
    start: Quantity
    drift: Quantity
    vol: Quantity
    stressed_vol_multiplier: quantity("multiplier", ge=1, le=20)
    beta_supply: Quantity
    risk_off: Quantity

    @model_validator(mode="after")
    def _units(self) -> AssetSpec:
        units = ASSET_UNITS[self.kind]
        for name, unit in units.items():
            q = getattr(self, name)
            if _unit_of(q.unit) != unit:
                raise _FieldError(
                    (name, "unit"), f"a {self.kind} asset's {name} is in '{unit}', got '{q.unit}'"
                )
        start_unit = _unit_of(self.start.unit)
        if start_unit not in _START_UNITS:
            raise _FieldError(
                ("start", "unit"),
                f"start must be in one of {', '.join(_START_UNITS)}, got '{self.start.unit}'",
            )
        if self.kind == "yield" and start_unit != "percent":
            raise _FieldError(("start", "unit"), "a yield starts in 'percent'")
        lo, hi = self.start.support()
        if self.kind == "price" and lo <= 0:
            raise _FieldError(("start",), "a price must start above 0 on every draw")
        lo, hi = self.vol.support()
        if lo < 0:
            raise _FieldError(("vol",), "volatility must be >= 0 on every draw")
        if self.kind == "price" and hi > 5:
            raise _FieldError(("vol",), "volatility must be <= 5 (500% a year) on every draw")
        if self.kind == "yield" and hi > 2000:
            raise _FieldError(("vol",), "volatility must be <= 2000 bp/year on every draw")
        return self


class Correlations(_Strict):
    """Correlations of daily moves among Brent and the assets, and the noise's tails.

    ``pairs`` maps ``a/b`` to a correlation; pairs not given are 0. The full matrix must be
    a valid correlation matrix: one that is not positive semi-definite is repaired to the
    nearest valid one with a warning, or rejected if ``strict``.
    """

    rationale: str = Field(min_length=3, max_length=400)
    strict: bool = False
    noise_df: quantity("degrees of freedom", gt=2, le=1000)
    pairs: dict[str, Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=1000
    )


# --------------------------------------------------------------------------- scenario


class Report(_Strict):
    """What the tables show besides the standard statistics."""

    brent_thresholds: list[Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [50.0, 60.0, 80.0, 100.0, 130.0], max_length=20
    )


class Scenario(_Strict):
    """A fully resolved scenario (after ``extends``)."""

    name: _Name
    description: str = Field(min_length=1, max_length=2000)
    as_of: dt.date = Field(strict=False)  # YAML gives a date, or an ISO string if quoted
    horizon_days: int = Field(default=126, ge=1, le=2520)
    report_horizons_days: list[Annotated[int, Field(ge=1, le=2520)]] = Field(
        default_factory=lambda: [5, 21, 63, 126], min_length=1, max_length=20
    )
    oil: OilModel
    physical: Physical
    offsets: dict[_Name, Offset] = Field(default_factory=dict, max_length=32)
    events: dict[_Name, Event] = Field(default_factory=dict, max_length=64)
    assets: dict[_Name, AssetSpec] = Field(default_factory=dict, max_length=32)
    correlations: Correlations | None = None
    report: Report = Field(default_factory=Report)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for name, event in self.events.items():
            for kind in ("requires", "excludes"):
                for other in getattr(event, kind):
                    if other not in self.events:
                        raise _FieldError(
                            ("events", name, kind),
                            f"'{other}' is not an event of this scenario "
                            f"(events: {', '.join(self.events) or 'none'})",
                        )
                    if other == name:
                        raise _FieldError(("events", name, kind), "an event cannot name itself")
        for name, offset in self.offsets.items():
            for other in offset.impaired_by:
                if other not in self.events:
                    raise _FieldError(
                        ("offsets", name, "impaired_by", other),
                        f"'{other}' is not an event of this scenario",
                    )
        order = event_order(self.events)
        if order is None:
            cycle = _cycle(self.events)
            raise _FieldError(
                ("events", cycle[0]),
                f"requires/excludes form a cycle: {' -> '.join([*cycle, cycle[0]])}",
            )
        spot_low = self.oil.spot.support()[0]
        for name, event in self.events.items():
            if event.risk_premium is not None:
                low = event.risk_premium.size.support()[0]
                if low <= -0.95 * spot_low:
                    raise _FieldError(
                        ("events", name, "risk_premium", "size"),
                        f"a premium of {low:g} USD/bbl would take Brent below 5% of its "
                        f"{spot_low:g} USD/bbl spot; it must stay above {-0.95 * spot_low:g}",
                    )
        if "brent" in self.assets:
            raise _FieldError(("assets", "brent"), "'brent' is the oil series, not an asset")
        if self.assets and self.correlations is None:
            raise _FieldError(("correlations",), "assets need a correlations section")
        if self.correlations is not None:
            names = ["brent", *self.assets]
            seen: dict[frozenset[str], str] = {}
            for pair in self.correlations.pairs:
                parts = pair.split("/")
                if len(parts) != 2 or parts[0] == parts[1]:
                    raise _FieldError(
                        ("correlations", "pairs", pair), "a pair is written 'a/b' with a != b"
                    )
                earlier = seen.setdefault(frozenset(parts), pair)
                if earlier != pair:
                    raise _FieldError(
                        ("correlations", "pairs", pair),
                        f"the same pair as '{earlier}': give each correlation once",
                    )
                for part in parts:
                    if part not in names:
                        raise _FieldError(
                            ("correlations", "pairs", pair),
                            f"'{part}' is not brent or an asset of this scenario "
                            f"(assets: {', '.join(self.assets) or 'none'})",
                        )
        return self

    def horizons(self, horizon_days: int | None = None) -> list[int]:
        """Reporting horizons in trading days, capped at the horizon and always including it."""
        h = self.horizon_days if horizon_days is None else horizon_days
        return sorted({d for d in self.report_horizons_days if d <= h} | {h})


def _unit_of(text: str) -> str | None:
    return _ALIASES.get(text.strip().lower())


class _FieldError(ValueError):
    """Cross-field error raised inside validation with an explicit location."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _dependencies(events: dict[str, Event]) -> dict[str, list[str]]:
    """Each event's ``requires`` then ``excludes``: the events it is drawn after."""
    return {n: [*e.requires, *e.excludes] for n, e in events.items()}


def event_order(events: dict[str, Event]) -> list[str] | None:
    """Events in an order where each comes after those it requires or excludes.

    Returns ``None`` if the dependencies form a cycle. Ties keep file order, so the order
    (and hence the random streams) is stable.
    """
    deps = {n: set(d) for n, d in _dependencies(events).items()}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(events):
        ready = [n for n in events if n not in done and deps[n] <= done]
        if not ready:
            return None
        order.append(ready[0])
        done.add(ready[0])
    return order


def _cycle(events: dict[str, Event]) -> list[str]:
    """One cycle of the requires/excludes graph, each event followed by one it depends on
    (depth-first search; the caller knows there is a cycle)."""
    deps = _dependencies(events)
    finished: set[str] = set()
    for start in events:
        trail: list[str] = []
        stack = [(start, iter(deps[start]))]
        trail.append(start)
        while stack:
            node, todo = stack[-1]
            nxt = next(todo, None)
            if nxt is None:
                stack.pop()
                trail.pop()
                finished.add(node)
            elif nxt in trail:
                return trail[trail.index(nxt) :]
            elif nxt not in finished:
                stack.append((nxt, iter(deps[nxt])))
                trail.append(nxt)
    raise AssertionError("no cycle")


# --------------------------------------------------------------------------- YAML reading


class _Source:
    """Where each field of a merged document was written: path tuple -> (file, line)."""

    def __init__(self) -> None:
        self.origin: dict[tuple[Any, ...], tuple[str, int]] = {}

    def locate(self, loc: tuple[Any, ...]) -> tuple[str | None, int | None]:
        for n in range(len(loc), -1, -1):
            hit = self.origin.get(tuple(loc[:n]))
            if hit is not None:
                return hit
        return None, None


_STR_TAG = "tag:yaml.org,2002:str"


def _key_of(node: yaml.Node) -> Any:
    """A mapping key as the loaded document holds it: ``1:`` is the integer 1 and ``yes:``
    the boolean True, so that errors about such keys find their line."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _STR_TAG:
        return node.value
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return node.value


def _walk(
    node: yaml.Node,
    path: tuple[Any, ...],
    file: str,
    out: dict[Any, Any],
    budget: list[int],
    depth: int = 0,
) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ScenarioError(
            f"document too large (more than {MAX_NODES} nodes, counting alias expansion)",
            file=file,
            line=node.start_mark.line + 1,
        )
    if depth > MAX_DEPTH:
        raise ScenarioError(
            f"nesting deeper than {MAX_DEPTH} levels", file=file, line=node.start_mark.line + 1
        )
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _key_of(key_node)
            line = key_node.start_mark.line + 1
            if key == "<<":
                # Merge keys: count what they bring against the budget (alias bombs hide
                # there too) without recording origins for them.
                _walk(value_node, path, file, {}, budget, depth + 1)
                continue
            if key in seen:
                field = ".".join(str(p) for p in (*path, key))
                raise ScenarioError(
                    f"duplicate key (first defined on line {seen[key]})",
                    file=file,
                    field=field,
                    line=line,
                )
            seen[key] = line
            out[(*path, key)] = (file, line)
            _walk(value_node, (*path, key), file, out, budget, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = (file, item.start_mark.line + 1)
            _walk(item, (*path, i), file, out, budget, depth + 1)


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], tuple[str, int]]]:
    """Read one YAML file safely.

    Returns
    -------
    data
        The document as plain Python objects (``yaml.safe_load``).
    origin
        Map from each key path to ``(file, line)``.

    Raises
    ------
    ScenarioError
        Missing or unreadable file, YAML syntax error, unsafe tag, duplicate key, or a
        document too large or too deep (alias bombs included).
    """
    file = str(path)
    raw = read_bounded(path, MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text (byte {exc.start})", file=file) from None
    loader = _LOADER(text)
    try:
        # One parse: compose the node graph (to check it and record lines), then build
        # plain objects from that same graph with the safe constructor.
        node = loader.get_single_node()
        origin: dict[tuple[Any, ...], tuple[str, int]] = {}
        data = None
        if node is not None:
            origin[()] = (file, node.start_mark.line + 1)
            _walk(node, (), file, origin, [MAX_NODES])
            data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        if _BASE_LOADER is not yaml.SafeLoader:
            # libyaml words its errors differently; the pure-Python parser, run only on
            # this error path, gives the project's documented messages.
            exc = _python_parser_error(text) or exc
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            problem = "tags that build Python objects are not allowed (" + problem.strip() + ")"
        elif "'\\t'" in problem:
            problem += " (YAML indents with spaces, not tabs)"
        raise ScenarioError(f"YAML error: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"YAML error: {problem}", file=file) from None
    except RecursionError:
        raise ScenarioError("YAML nesting too deep", file=file) from None
    except (ValueError, KeyError, AttributeError, TypeError, OverflowError, IndexError) as exc:
        # The safe constructor's own failures on values such as 2026-02-30 or !!float abc.
        found = _unreadable_scalar(text)
        if found is None:
            raise ScenarioError(
                f"YAML error: a value cannot be read ({type(exc).__name__}: {exc})", file=file
            ) from None
        line, field, value, tag = found
        kind = _TAG_WORDS.get(tag, tag.rsplit(":", 1)[-1])
        raise ScenarioError(
            f"'{value}' is not a valid {kind} ({exc})",
            file=file,
            field=field or None,
            line=line,
        ) from None
    finally:
        loader.dispose()
    return data, origin


_TAG_WORDS = {
    "tag:yaml.org,2002:timestamp": "date",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:bool": "true/false",
}


def _unreadable_scalar(text: str) -> tuple[int, str, str, str] | None:
    """The first scalar the safe constructor cannot build (2026-02-30, ...), in document
    order: its line, dotted key path, text and YAML tag.

    Nodes are visited once, depth first in document order, so a value shared through an
    anchor and aliases is named by the path where the anchor defines it (the line given).
    """
    loader = _PythonLoader(text)
    try:
        root = loader.get_single_node()
        pending: list[tuple[yaml.Node, tuple[str, ...]]] = [] if root is None else [(root, ())]
        seen: set[int] = set()
        while pending:
            node, where = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            children: list[tuple[yaml.Node, tuple[str, ...]]] = []
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node)
                except Exception:  # any failure marks the culprit
                    return int(node.start_mark.line) + 1, ".".join(where), node.value, node.tag
            elif isinstance(node, yaml.SequenceNode):
                children = [(n, (*where, str(i))) for i, n in enumerate(node.value)]
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges into here
                        children.append((value, where))
                        continue
                    # A key is named by its own path, as the field it would open.
                    children.append((key, (*where, str(key.value))))
                    children.append((value, (*where, str(key.value))))
            pending.extend(reversed(children))  # the first child is visited next
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def _python_parser_error(text: str) -> yaml.MarkedYAMLError | None:
    """The pure-Python parser's error for ``text`` (None if it finds none)."""
    loader = _PythonLoader(text)
    try:
        loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return exc
    except Exception:
        return None
    finally:
        loader.dispose()
    return None


def _is_leaf(value: Any) -> bool:
    """A quantity: a mapping with a string ``unit`` and a ``value`` or ``dist``."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("unit"), str)
        and bool({"value", "dist"} & set(value))
    )


_TAGS = ("model", "shape", "dist", "kind")


def _switches_model(base: dict[Any, Any], child: dict[Any, Any]) -> bool:
    """The child names another model/shape/law than the base: replace, don't merge."""
    return any(tag in child and tag in base and child[tag] != base[tag] for tag in _TAGS)


#: Mappings whose entries ``null`` removes (``*``: any name).
_REMOVABLE = {
    ("events",),
    ("offsets",),
    ("assets",),
    ("correlations", "pairs"),
    ("offsets", "*", "impaired_by"),
}

#: What a ``null`` removes, by the key it is under (else that key without its plural "s").
_REMOVED_KIND = {"pairs": "correlation pair", "impaired_by": "impaired_by entry"}


def _removable(path: tuple[Any, ...]) -> bool:
    """Whether ``null`` under ``path`` removes an inherited entry (see :data:`_REMOVABLE`)."""
    return any(
        len(path) == len(pattern) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True))
        for pattern in _REMOVABLE
    )


def _merge(
    base: Any,
    child: Any,
    path: tuple[Any, ...],
    src: _Source,
    child_origin: dict[tuple[Any, ...], tuple[str, int]],
) -> Any:
    if (
        not isinstance(base, dict)
        or not isinstance(child, dict)
        or _is_leaf(child)
        or _is_leaf(base)
        or _switches_model(base, child)
    ):
        # Replace the whole subtree: drop the base's origins below this path.
        for key in [k for k in src.origin if k[: len(path)] == path and len(k) > len(path)]:
            del src.origin[key]
        for key, where in child_origin.items():
            if key[: len(path)] == path:
                src.origin[key] = where
        return child
    merged = dict(base)
    for key, value in child.items():
        sub = (*path, key)
        if path == ("correlations", "pairs") and isinstance(key, str):
            # 'b/a' in the child overrides (or removes) the base's 'a/b'.
            reverse = "/".join(reversed(key.split("/")))
            if reverse != key and reverse in merged and key not in merged and reverse not in child:
                merged[key] = merged.pop(reverse)
                for k in [k for k in src.origin if k[: len(sub)] == (*path, reverse)]:
                    del src.origin[k]
        if value is None and _removable(path):
            if key not in merged:
                file, line = child_origin.get(sub, (None, None))
                kind = _REMOVED_KIND.get(path[-1], str(path[-1]).rstrip("s"))
                guess = difflib.get_close_matches(str(key), [str(k) for k in merged], n=1)
                hint = f"; did you mean '{guess[0]}'?" if guess else ""
                raise ScenarioError(
                    f"null removes an inherited {kind}, but the base file has no {kind} "
                    f"'{key}'{hint}",
                    file=file,
                    field=".".join(map(str, sub)),
                    line=line,
                )
            merged.pop(key, None)
            for k in [k for k in src.origin if k[: len(sub)] == sub]:
                del src.origin[k]
            continue
        if key in merged:
            merged[key] = _merge(merged[key], value, sub, src, child_origin)
        elif isinstance(value, dict) and _removable(sub):
            # The base has none of these (an offset without impairments): nothing to
            # remove, and the same message as for a name it lacks.
            merged[key] = _merge({}, value, sub, src, child_origin)
        else:
            merged[key] = value
            for k, where in child_origin.items():
                if k[: len(sub)] == sub:
                    src.origin[k] = where
        if sub in child_origin:
            src.origin[sub] = child_origin[sub]
    return merged


class LoadedScenario(BaseModel):
    """A validated scenario with where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    scenario: Scenario
    path: Path
    files: list[Path] = Field(description="The file and every base it extends, child first.")
    sha256: str = Field(description="SHA-256 of the scenario file's bytes.")
    sha256_all: dict[str, str] = Field(description="SHA-256 of every file read.")
    document: dict[str, Any] = Field(description="The merged YAML document, as validated.")
    origins: dict[str, str] = Field(
        default_factory=dict,
        description="Dotted key path in the merged document -> the file that wrote it.",
    )

    def written_in(self, field: str) -> Path:
        """The file that wrote ``field`` (a dotted key path, e.g. ``events.flare_up.timing``):
        this file or a base it extends. A path not written in any file (a default) belongs
        to the file that wrote its nearest written parent (a default inside an inherited
        offset is the base's), or to this file if none (the name taken from the stem)."""
        parts = field.split(".")
        for end in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:end]))
            if found is not None:
                return Path(found)
        return self.path


def _resolve(path: Path, stack: list[Path], src: _Source, files: list[Path]) -> dict[str, Any]:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ScenarioError(f"cannot resolve the path ({exc})", file=path) from None
    if resolved in stack:
        chain = " -> ".join(p.name for p in [*stack, resolved])
        raise ScenarioError(f"cyclic extends: {chain}", file=path, field="extends")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"extends nested deeper than {MAX_EXTENDS_DEPTH}", file=path)
    data, origin = read_yaml(path)
    files.append(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario must be a YAML mapping, got {type(data).__name__}", file=path, line=1
        )
    parent = data.pop("extends", None)
    if parent is None:
        src.origin.update(origin)
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            "extends must be a file name relative to this file",
            file=path,
            field="extends",
            line=origin.get(("extends",), (None, None))[1],
        )
    base_path = path.parent / parent
    line = origin.get(("extends",), (str(path), None))[1]
    try:
        base_resolved = base_path.resolve()
        base_exists = base_path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ScenarioError(
            f"base file '{parent[:80]}' cannot be opened ({exc})",
            file=path,
            field="extends",
            line=line,
        ) from None
    if base_resolved in [*stack, resolved]:
        chain = " -> ".join(p.name for p in [*stack, resolved, base_path.resolve()])
        raise ScenarioError(f"cyclic extends: {chain}", file=path, field="extends", line=line)
    if not base_exists:
        raise ScenarioError(
            f"base file '{parent}' not found (looked for {base_path})",
            file=path,
            field="extends",
            line=line,
        )
    base = _resolve(base_path, [*stack, resolved], src, files)
    # The base's identity is not inherited.
    for key in ("name", "description"):
        base.pop(key, None)
        src.origin.pop((key,), None)
    origin.pop(("extends",), None)
    merged = _merge(base, data, (), src, origin)
    if () in origin:  # a field missing from the merged document is this file's to give
        src.origin[()] = origin[()]
    assert isinstance(merged, dict)
    return merged


_UNION_TAGS = {
    *QUANTITY_DISTS,
    "step",
    "ramp",
    "decay",
    "markov",
    "none",
    "poisson",
}
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


_ABSENT = object()


def _file_key(node: dict[Any, Any], part: Any) -> Any:
    """The key of ``node`` that pydantic's location ``part`` names, as the file has it.

    Pydantic writes a key that is not text as an int (``1`` also for ``True``) or as its
    ``str()`` or ``repr()`` (``'2.5'``, ``'None'``, ``'datetime.date(2026, 1, 1)'``); text
    keys are matched first.
    """
    if isinstance(part, str) and part in node:
        return part
    found = [
        k
        for k in node
        if not isinstance(k, str) and (k == part or str(k) == part or repr(k) == part)
    ]
    return next((k for k in found if type(k) is type(part)), found[0] if found else _ABSENT)


def _clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop the union tags pydantic inserts into locations (they are not keys in the file)."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and (key := _file_key(node, part)) is not _ABSENT:
            out.append(key)
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and (
            part in _UNION_TAGS or "[" in part or part.startswith("function-")
        ):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def _model_at(loc: tuple[Any, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` (tags included)."""
    current: Any = root
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    for cand in _candidates(current):  # a model, or a model | None
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _candidates(tp: Any) -> Iterator[Any]:
    origin = get_origin(tp)
    if origin is Annotated:
        yield from _candidates(get_args(tp)[0])
    elif (
        origin is Union
        or (origin is not None and str(origin) == "types.UnionType")
        or type(tp).__name__ == "UnionType"
    ):
        for arg in get_args(tp):
            yield from _candidates(arg)
    else:
        yield tp


def _step(current: Any, part: Any) -> Any:
    if isinstance(current, type) and issubclass(current, BaseModel):
        field = current.model_fields.get(part)
        if field is None:
            field = next((f for f in current.model_fields.values() if f.alias == part), None)
        if field is None:
            return None
        return field.annotation
    for cand in _candidates(current):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            fields = cand.model_fields
            tag_field = fields.get("model") or fields.get("shape") or fields.get("dist")
            if tag_field is not None and get_args(tag_field.annotation) == (part,):
                return cand
        if get_origin(cand) is dict:
            return get_args(cand)[1]
        if get_origin(cand) is list:
            return get_args(cand)[0]
    for cand in _candidates(current):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return _step(cand, part)
    return None


def _allowed(loc: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    model = _model_at(loc, root)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _error_message(err: Any, loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed(tuple(err["loc"][:-1]), root)
        key = str(loc[-1]) if loc else ""
        guess = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        listing = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown field{hint}{listing}"
    value = err.get("input")
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        guess = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        return f"must be {expected}, got {reprlib.repr(value)}{hint}"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NAME_PATTERN:
        return f"must be {_NAME_RULE}, got {reprlib.repr(value)}"
    msg = str(err["msg"])
    for prefix in _PYDANTIC_PREFIXES:
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if kind in {
        "float_parsing",
        "float_type",
        "int_parsing",
        "int_type",
        "string_type",
        "bool_type",
        "date_from_datetime_parsing",
        "date_parsing",
        "date_type",
        "dict_type",
        "list_type",
        "model_type",
    }:
        shown = reprlib.repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg}, got {shown}"
    return msg


def validation_error(
    exc: ValidationError,
    data: Any,
    origin: dict[tuple[Any, ...], tuple[str, int]] | _Source,
    fallback_file: Path,
    root: type[BaseModel],
) -> ScenarioError:
    """Turn pydantic's errors into a :class:`ScenarioError` with file, field and line: the
    first problem, with the others in :attr:`~ScenarioError.also`.

    ``origin`` maps key paths to ``(file, line)`` (from :func:`read_yaml`); ``root`` is the
    model that validated ``data`` (used to list the allowed keys of a mapping).
    """
    if not isinstance(origin, _Source):
        src = _Source()
        src.origin.update(origin)
        origin = src
    return _to_scenario_error(exc, data, origin, fallback_file, root)


def _to_scenario_error(
    exc: ValidationError,
    data: Any,
    src: _Source,
    fallback_file: Path,
    root: type[BaseModel] = Scenario,
) -> ScenarioError:
    problems: list[ScenarioError] = []
    seen: set[str] = set()
    for loc, message in _problems(exc.errors(), data, root, src):
        file, line = src.locate(loc)
        problem = ScenarioError(
            message,
            file=file or fallback_file,
            field=".".join(str(p) for p in loc) or "(top level)",
            line=line,
        )
        text = problem.format()
        if text not in seen:
            seen.add(text)
            problems.append(problem)
    # In the order of the files (as first met) and, within each, of the lines.
    files = list(dict.fromkeys(p.file for p in problems))
    problems.sort(key=lambda p: (files.index(p.file), p.line or 0))
    first = problems[0]
    return ScenarioError(
        first.message, file=first.file, field=first.field, line=first.line, also=problems[1:]
    )


def _problems(
    errors: list[Any], data: Any, root: type[BaseModel], src: _Source | None = None
) -> list[tuple[tuple[Any, ...], str]]:
    """pydantic's errors as ``(location in the file, message)``.

    A misspelt key shows as "missing" plus "unknown" beside it: the missing field is
    dropped when an unknown key of the same mapping is spelt like it, since the unknown
    key's message suggests the right spelling. Several fields missing from one mapping are
    one problem, located at the mapping.
    """
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for e in errors:
        if e["type"] == "extra_forbidden":
            unknown.setdefault(tuple(e["loc"][:-1]), []).append(str(e["loc"][-1]))
    # A key that is not text (``1:``, ``yes:``): one problem for it, none for its contents.
    # (A text key that breaks a rule, such as a name's, is reported as any other value.)
    bad_keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for e in errors:
        raw = tuple(e["loc"])
        at = raw[:-1] if raw[-1:] == ("[key]",) else raw
        if e["type"] == "invalid_key" or raw[-1:] == ("[key]",):
            loc = _clean_loc(at, data)
            if not (loc and isinstance(loc[-1], str)):
                bad_keys[at] = loc
    missing: dict[tuple[Any, ...], list[str]] = {}
    out: list[tuple[tuple[Any, ...], Any]] = []
    for loc in bad_keys.values():
        key = loc[-1] if loc else None
        if isinstance(key, bool):
            why = f"{key}, a boolean (YAML reads unquoted yes/no/on/off that way): quote it"
        elif isinstance(key, int | float):
            why = f"the number {key}"
        elif isinstance(key, dt.date):
            why = f"the date {key.isoformat()} (YAML reads unquoted dates that way)"
        else:
            why = "null" if key is None else f"{type(key).__name__} {_shown(key)}"
        out.append((loc, f"a name or key must be text, got {why}"))
    for err in errors:
        raw_loc = tuple(err["loc"])
        if any(raw_loc[: len(b)] == b for b in bad_keys):
            continue
        if err["type"] == "missing":
            name = str(raw_loc[-1])
            if difflib.get_close_matches(name, unknown.get(raw_loc[:-1], []), n=1):
                continue
            parent = _clean_loc(raw_loc[:-1], data)
            if parent not in missing:
                missing[parent] = []
                out.append((parent, missing[parent]))
            missing[parent].append(name)
            continue
        ctx_error = err.get("ctx", {}).get("error")
        if isinstance(ctx_error, _FieldError):
            loc = _clean_loc(raw_loc + ctx_error.loc, data)
            out.append((loc, ctx_error.message))
            continue
        loc = _clean_loc(raw_loc, data)
        if err.get("input", ...) is None and (
            err["type"] in _TAG_KEYS or err["type"].endswith("_type")
        ):
            message = _null_problem(loc, root)
        elif err["type"] in _TAG_KEYS:
            loc, message = _tag_problem(err, loc)
        else:
            message = _error_message(err, loc, root)
        out.append((loc, message))
    return [
        (loc, message)
        if isinstance(message, str)
        else _missing_problem(loc, message, data, root, src)
        for loc, message in out
    ]


def _missing_problem(
    parent: tuple[Any, ...],
    fields: list[str],
    data: Any,
    root: type[BaseModel],
    src: _Source | None = None,
) -> tuple[tuple[Any, ...], str]:
    """One problem for the required ``fields`` missing from the mapping at ``parent``."""
    if fields == ["unit"]:
        unit = _expected_unit(parent, root)
        if unit is not None:
            return (*parent, "unit"), f"missing unit: this quantity is in '{unit}'"
        return (*parent, "unit"), "missing unit: every quantity needs 'unit' (" + ", ".join(
            UNITS
        ) + ")"
    if len(fields) == 1:
        loc, message = (*parent, fields[0]), "required field is missing"
    else:
        loc, message = parent, "required fields are missing: " + ", ".join(fields)
    # A new entry that lacks required fields may be a misspelt override of one inherited
    # from a base file (not of one defined beside it).
    if src is not None and len(parent) == 2 and parent[0] in {"events", "offsets", "assets"}:
        section = data.get(parent[0]) if isinstance(data, dict) else None
        here = src.origin.get(parent, (None, None))[0]
        inherited = [
            str(k)
            for k in (section if isinstance(section, dict) else {})
            if k != parent[1] and src.origin.get((parent[0], k), (here, None))[0] != here
        ]
        guess = difflib.get_close_matches(str(parent[1]), inherited, n=1)
        if guess:
            message += (
                f"; if this was meant to change the inherited '{guess[0]}', check the spelling"
            )
    return loc, message


def _unit_in(tp: Any) -> str | None:
    """The unit a quantity type (``Annotated`` by :func:`~simulator.quantities.quantity`,
    possibly in a union with ``None``) requires."""
    if get_origin(tp) is Annotated:
        args = get_args(tp)
        return _unit_in_metadata(args[1:]) or _unit_in(args[0])
    if get_origin(tp) is Union or type(tp).__name__ == "UnionType":
        for arg in get_args(tp):
            unit = _unit_in(arg)
            if unit is not None:
                return unit
    return None


def _unit_in_metadata(metadata: Sequence[Any]) -> str | None:
    for meta in metadata:
        unit = getattr(getattr(meta, "func", None), "unit", None)
        if isinstance(unit, str):
            return unit
    return None


def _expected_unit(loc: tuple[Any, ...], root: type[BaseModel]) -> str | None:
    """The unit the quantity at ``loc`` must carry, if the schema says (a model's field,
    optional or not, or a value of a mapping such as ``impaired_by``)."""
    if not loc:
        return None
    parent: Any = root
    for part in loc[:-1]:
        parent = _step(parent, part)
        if parent is None:
            return None
    for cand in _candidates(parent):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            field = cand.model_fields.get(str(loc[-1]))
            if field is not None:
                return _unit_in_metadata(field.metadata) or _unit_in(field.annotation)
        elif get_origin(cand) is dict:
            return _unit_in(get_args(cand)[1])
    return None


def _null_problem(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    """The message for ``null`` where a value is needed: a required field, or one that
    takes its default only when left out."""
    if loc and isinstance(loc[-1], int):
        return "cannot be null: a list item needs a value"
    model = _model_at(loc[:-1], root) if loc else None
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    if field is not None and field.is_required():
        return "cannot be null: the field is required"
    return "cannot be null here: leave the key out (null removes only a whole inherited entry)"


_TAG_KEYS = {"quantity": "dist", "unknown_model": "model", "unknown_shape": "shape"}


def _tag_problem(err: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
    """A mapping whose ``dist``, ``model`` or ``shape`` names no known kind: the name given,
    its likely spelling and the valid ones, located at that key."""
    key = _TAG_KEYS[err["type"]]
    msg = str(err["msg"])
    choices = list(QUANTITY_DISTS) if key == "dist" else re.findall(r"'([a-z_]+)'", msg)
    given = err.get("input")
    if key != "dist" and not isinstance(given, dict):
        return loc, (
            f"expected a mapping with '{key}:' ({', '.join(choices)}) and its parameters, "
            f"got {_shown(given)}"
        )
    if isinstance(given, dict) and key in given and given[key] not in choices:
        name = given[key]
        if name is None:
            return (*loc, key), f"{key} cannot be null (one of {', '.join(choices)})"
        guess = difflib.get_close_matches(str(name), choices, n=1) if isinstance(name, str) else []
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        return (*loc, key), f"unknown {key} {_shown(name)}{hint} (one of {', '.join(choices)})"
    return loc, msg


def _shown(value: Any) -> str:
    """A value from the file for a message: its repr, at most 60 characters."""
    shown = reprlib.repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read, merge (``extends``) and validate a scenario file.

    Parameters
    ----------
    path
        The scenario YAML file.

    Returns
    -------
    LoadedScenario
        The validated scenario, the files read and their hashes.

    Raises
    ------
    ScenarioError
        Anything wrong with the file or a base it extends, with file, field and line;
        :class:`~simulator.errors.PortfolioFileError` for a portfolio file (top-level
        ``positions``, no ``oil``).
    """
    path = Path(path)
    src = _Source()
    files: list[Path] = []
    data = _resolve(path, [], src, files)
    if "positions" in data and "oil" not in data:
        # Named as what it is, not field by field as a scenario with unknown keys.
        raise PortfolioFileError(
            "a portfolio file (top-level positions), not a scenario; give it with --portfolio",
            file=path,
        )
    if "name" not in data:
        data["name"] = path.stem
        if not re.match(NAME_PATTERN, path.stem):
            raise ScenarioError(
                f"no 'name' given and the file name '{path.stem}' is not a valid name "
                f"({_NAME_RULE})",
                file=path,
                field="name",
            )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _to_scenario_error(exc, data, src, path) from None
    if scenario.correlations is not None:
        from simulator.assets import correlation_matrix

        try:
            correlation_matrix(scenario, warn=True)
        except ScenarioError as exc:
            file, line = src.locate(("correlations", "pairs"))
            raise ScenarioError(
                exc.message, file=file or path, field="correlations.pairs", line=line
            ) from None
    digests = {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    return LoadedScenario(
        scenario=scenario,
        path=path,
        files=files,
        sha256=digests[str(path)],
        sha256_all=digests,
        document=data,
        origins={".".join(map(str, key)): file for key, (file, _) in src.origin.items() if key},
    )
