"""Shared fixtures: minimal valid scenarios (as dicts, YAML files and models) and a CLI runner.

The minimal scenario is deliberately plain (fixed values, normal innovations, no regimes,
no jumps, no events, no offsets) so each test adds only the feature it checks. Nothing here
reads the shared market data.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import pytest
import yaml

matplotlib.use("Agg")

from simulator.scenario import Scenario

os.environ.setdefault("MPLBACKEND", "Agg")

#: Marker for :func:`deep_update`: remove this key.
DELETE = object()

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def q(value: float, unit: str, rationale: str = "test value") -> dict[str, Any]:
    """A fixed quantity."""
    return {"value": value, "unit": unit, "rationale": rationale}


def minimal_doc() -> dict[str, Any]:
    """A minimal valid scenario document (a fresh copy each call)."""
    return {
        "name": "mini",
        "description": "minimal test scenario",
        "as_of": "2026-02-06",
        "horizon_days": 20,
        "report_horizons_days": [5, 20],
        "oil": {
            "spot": q(70.0, "USD/bbl"),
            "short_term": {
                "half_life": q(20, "trading days"),
                "vol": q(0.25, "annualised"),
            },
            "long_term": {
                "drift": q(0.0, "per year"),
                "vol": q(0.15, "annualised"),
            },
            "factor_correlation": q(0.0, "correlation"),
            "innovations": {"model": "normal"},
            "regimes": {"model": "none"},
            "jumps": {"model": "none"},
        },
        "physical": {
            "world_demand": q(100.0, "mb/d"),
            "supply_elasticity": q(0.015, "elasticity"),
            "demand_elasticity": q(-0.26, "elasticity"),
        },
    }


def deep_update(doc: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with ``overrides`` merged in key by key (in place); ``DELETE`` drops a key.

    A dict value is merged into an existing dict, except a quantity (a dict with ``value``,
    ``dist`` or ``unit``), which replaces whole as in ``extends``; any other value replaces.
    """
    for key, value in overrides.items():
        if value is DELETE:
            doc.pop(key, None)
        elif (
            isinstance(value, dict)
            and isinstance(doc.get(key), dict)
            and not {"value", "dist", "unit"} & set(value)
        ):
            deep_update(doc[key], value)
        else:
            doc[key] = copy.deepcopy(value)
    return doc


def scenario_doc(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The minimal document with ``overrides`` applied."""
    return deep_update(minimal_doc(), overrides or {})


def make_scenario(overrides: dict[str, Any] | None = None) -> Scenario:
    """A validated :class:`Scenario` from the minimal document plus ``overrides``."""
    return Scenario.model_validate(scenario_doc(overrides))


def event(
    probability: float = 1.0,
    timing: float | dict[str, Any] = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    """An event document with fixed probability and timing, plus any effect given."""
    doc: dict[str, Any] = {
        "rationale": "test event",
        "probability": q(probability, "probability"),
        "timing": timing if isinstance(timing, dict) else q(timing, "trading days"),
    }
    doc.update(extra)
    return doc


_ASSET_UNITS = {
    "price": {"drift": "per year", "vol": "annualised", "beta": "beta", "risk_off": "percent"},
    "yield": {"drift": "bp/year", "vol": "bp/year", "beta": "bp per oil %", "risk_off": "bp"},
}


def asset(
    kind: str = "price",
    vol: float = 0.2,
    beta_supply: float = 0.0,
    risk_off: float = 0.0,
    drift: float = 0.0,
    multiplier: float = 1.0,
    label: str | None = None,
) -> dict[str, Any]:
    """An asset document with fixed values in the units its kind requires (a price starts
    at 100 index points, a yield at 4 percent)."""
    u = _ASSET_UNITS[kind]
    return {
        "label": label or f"test {kind}",
        "rationale": "test asset",
        "kind": kind,
        "start": q(100.0, "index points") if kind == "price" else q(4.0, "percent"),
        "drift": q(drift, u["drift"]),
        "vol": q(vol, u["vol"]),
        "stressed_vol_multiplier": q(multiplier, "multiplier"),
        "beta_supply": q(beta_supply, u["beta"]),
        "risk_off": q(risk_off, u["risk_off"]),
    }


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the CLI starts simulating: bad options must be refused before."""
    import simulator.cli

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the engine ran although an option was unusable")

    monkeypatch.setattr(simulator.cli, "run", refuse)


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario YAML file into ``tmp_path`` and return its path.

    ``write_scenario(overrides=None, name="scenario.yaml", text=None, doc=None)``: the
    minimal document with ``overrides``, or ``doc`` as given, or raw ``text``.
    """

    def write(
        overrides: dict[str, Any] | None = None,
        *,
        name: str = "scenario.yaml",
        text: str | None = None,
        doc: dict[str, Any] | None = None,
    ) -> Path:
        path = tmp_path / name
        if text is None:
            data = doc if doc is not None else scenario_doc(overrides)
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def runner() -> Any:
    """A typer CliRunner (stdout and stderr kept apart)."""
    from typer.testing import CliRunner

    return CliRunner()
