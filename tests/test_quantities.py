"""Quantities: sampling laws, units and aliases, bounds on the whole support, discrete weights."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import q, scenario_doc
from pydantic import TypeAdapter, ValidationError

from simulator.errors import ScenarioError
from simulator.quantities import UNITS, Fixed, Quantity, quantity
from simulator.scenario import load_scenario

N = 200_000
QUANTITY = TypeAdapter(Quantity)


def parse(doc: dict[str, Any]) -> Any:
    return QUANTITY.validate_python({"unit": "fraction", "rationale": "test value", **doc})


def _lognormal(median: float, s: float) -> tuple[float, float, float]:
    w = math.exp(s * s)
    return median * math.sqrt(w), median**2 * w * (w - 1), w**4 + 2 * w**3 + 3 * w**2 - 6


def _beta(a: float, b: float, lo: float, hi: float) -> tuple[float, float, float]:
    width = hi - lo
    var = width**2 * a * b / ((a + b) ** 2 * (a + b + 1))
    kurt = (
        6 * ((a - b) ** 2 * (a + b + 1) - a * b * (a + b + 2)) / (a * b * (a + b + 2) * (a + b + 3))
    )
    return lo + width * a / (a + b), var, kurt


def _triangular(a: float, c: float, b: float) -> tuple[float, float, float]:
    return (a + b + c) / 3, (a * a + b * b + c * c - a * b - a * c - b * c) / 18, -0.6


def _discrete(values: list[float], weights: list[float]) -> tuple[float, float, float]:
    v, w = np.array(values), np.array(weights)
    mean = float(v @ w)
    var = float(((v - mean) ** 2) @ w)
    return mean, var, float(((v - mean) ** 4) @ w) / var**2 - 3


# (document, (mean, variance, excess kurtosis)) -- closed forms, not scipy's.
LAWS = {
    "normal": ({"dist": "normal", "mean": 1.5, "sd": 0.4}, (1.5, 0.16, 0.0)),
    "lognormal": ({"dist": "lognormal", "median": 2.0, "sigma": 0.3}, _lognormal(2.0, 0.3)),
    "triangular": (
        {"dist": "triangular", "low": -1.6, "mode": -1.0, "high": -0.4},
        _triangular(-1.6, -1.0, -0.4),
    ),
    "uniform": ({"dist": "uniform", "low": 1.0, "high": 3.0}, (2.0, 4.0 / 12, -1.2)),
    "beta": ({"dist": "beta", "a": 2.0, "b": 5.0, "low": 10, "high": 20}, _beta(2, 5, 10, 20)),
    "beta_unit": ({"dist": "beta", "a": 0.5, "b": 0.5}, _beta(0.5, 0.5, 0, 1)),
    "discrete": (
        {"dist": "discrete", "values": [1, 2, 5], "weights": [0.2, 0.5, 0.3]},
        _discrete([1, 2, 5], [0.2, 0.5, 0.3]),
    ),
    "student_t": (
        {"dist": "student_t", "df": 10, "loc": 1.0, "scale": 2.0},
        (1.0, 4.0 * 10 / 8, 6.0 / 6),
    ),
    "laplace": ({"dist": "laplace", "loc": -1.0, "scale": 0.5}, (-1.0, 2 * 0.25, 3.0)),
}


@pytest.mark.parametrize("name", list(LAWS))
def test_sample_mean_and_variance(name: str) -> None:
    doc, (mean, var, kurt) = LAWS[name]
    x = parse(doc).sample(np.random.default_rng(11), N)
    assert x.shape == (N,)
    assert x.dtype == np.float64
    se_mean = math.sqrt(var / N)
    # Var(s^2) ~ (mu4 - sigma^4) / n = sigma^4 (kurt + 2) / n.
    se_var = var * math.sqrt((kurt + 2) / N)
    assert abs(x.mean() - mean) < 4 * se_mean
    assert abs(x.var(ddof=1) - var) < 4 * se_var


@pytest.mark.parametrize("name", list(LAWS))
def test_mean_method_is_the_closed_form(name: str) -> None:
    doc, (mean, _, _) = LAWS[name]
    assert parse(doc).mean() == pytest.approx(mean, rel=1e-12, abs=1e-12)


def test_fixed_is_degenerate_and_draws_no_random_numbers() -> None:
    fixed = parse({"value": 3.25})
    assert isinstance(fixed, Fixed)
    rng = np.random.default_rng(5)
    before = rng.bit_generator.state
    np.testing.assert_array_equal(fixed.sample(rng, 4), np.full(4, 3.25))
    assert rng.bit_generator.state == before
    assert fixed.support() == (3.25, 3.25)
    assert fixed.mean() == 3.25


def test_same_generator_state_gives_same_draws() -> None:
    law = parse(LAWS["triangular"][0])
    a = law.sample(np.random.default_rng(3), 100)
    b = law.sample(np.random.default_rng(3), 100)
    np.testing.assert_array_equal(a, b)


def test_discrete_draws_only_its_values_with_their_frequencies() -> None:
    law = parse({"dist": "discrete", "values": [1, 2, 5], "weights": [0.2, 0.5, 0.3]})
    x = law.sample(np.random.default_rng(2), N)
    assert set(np.unique(x)) == {1.0, 2.0, 5.0}
    for value, p in ((1.0, 0.2), (2.0, 0.5), (5.0, 0.3)):
        assert abs((x == value).mean() - p) < 4 * math.sqrt(p * (1 - p) / N)


@pytest.mark.parametrize(
    ("doc", "support"),
    [
        ({"value": 2.0}, (2.0, 2.0)),
        ({"dist": "uniform", "low": -1, "high": 2}, (-1.0, 2.0)),
        ({"dist": "triangular", "low": -1, "mode": 0, "high": 2}, (-1.0, 2.0)),
        ({"dist": "beta", "a": 2, "b": 3, "low": 5, "high": 6}, (5.0, 6.0)),
        ({"dist": "lognormal", "median": 1, "sigma": 1}, (0.0, math.inf)),
        ({"dist": "normal", "mean": 0, "sd": 1}, (-math.inf, math.inf)),
        ({"dist": "discrete", "values": [-3, 1, 4], "weights": [0, 0.5, 0.5]}, (1.0, 4.0)),
    ],
)
def test_support(doc: dict[str, Any], support: tuple[float, float]) -> None:
    assert parse(doc).support() == support


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("unit", "alias"),
    [(unit, alias) for unit, aliases in UNITS.items() for alias in (unit, *aliases)],
)
def test_every_alias_is_accepted(unit: str, alias: str) -> None:
    adapter = TypeAdapter(quantity(unit))
    for spelling in (alias, alias.upper(), f"  {alias} "):
        value = adapter.validate_python({"value": 1.0, "unit": spelling, "rationale": "abc"})
        assert value.value == 1.0


def test_wrong_unit_rejected_with_exact_message() -> None:
    adapter = TypeAdapter(quantity("USD/bbl", gt=0))
    with pytest.raises(ValidationError) as info:
        adapter.validate_python({"value": 70.0, "unit": "USD/oz", "rationale": "abc"})
    errors = info.value.errors()
    assert len(errors) == 1
    assert errors[0]["msg"] == "Value error, unit must be 'USD/bbl', got 'USD/oz'"


def test_wrong_unit_in_a_scenario_file(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"spot": q(70.0, "mb/d")}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "oil.spot"
    assert info.value.message == "unit must be 'USD/bbl', got 'mb/d'"


def test_unknown_canonical_unit_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        quantity("furlongs")


# --------------------------------------------------------------------------- bounds


VOL = TypeAdapter(quantity("annualised", ge=0, le=5))


def _vol_error(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        VOL.validate_python({"unit": "annualised", "rationale": "abc", **doc})
    (error,) = info.value.errors()
    return str(error["msg"]).removeprefix("Value error, ")


def test_normal_volatility_rejected_because_its_support_is_unbounded() -> None:
    assert _vol_error({"dist": "normal", "mean": 0.2, "sd": 0.05}) == (
        "must be >= 0 and <= 5 annualised on every draw; normal(mean 0.2, sd 0.05) "
        "annualised takes values in [-inf, inf]"
    )


def test_lognormal_volatility_rejected_by_the_upper_bound() -> None:
    assert _vol_error({"dist": "lognormal", "median": 0.2, "sigma": 0.2}) == (
        "must be <= 5 annualised on every draw; lognormal(median 0.2, sigma 0.2) "
        "annualised takes values in [0, inf]"
    )


def test_negative_fixed_volatility_rejected() -> None:
    assert _vol_error({"value": -0.1}) == "must be >= 0 annualised, got -0.1"


def test_uniform_partly_negative_volatility_rejected() -> None:
    assert _vol_error({"dist": "uniform", "low": -0.1, "high": 0.3}) == (
        "must be >= 0 annualised on every draw; uniform(-0.1, 0.3) annualised "
        "takes values in [-0.1, 0.3]"
    )


@pytest.mark.parametrize(
    "doc",
    [
        {"value": 0.0},
        {"value": 5.0},
        {"dist": "uniform", "low": 0.1, "high": 0.3},
        {"dist": "beta", "a": 2, "b": 2, "low": 0.0, "high": 5.0},
        {"dist": "triangular", "low": 0.1, "mode": 0.2, "high": 0.4},
    ],
)
def test_bounded_volatility_accepted(doc: dict[str, Any]) -> None:
    VOL.validate_python({"unit": "annualised", "rationale": "abc", **doc})


def test_strict_bound_excludes_its_endpoint() -> None:
    adapter = TypeAdapter(quantity("trading days", gt=0))
    with pytest.raises(ValidationError, match=r"must be > 0 trading days, got 0"):
        adapter.validate_python({"value": 0, "unit": "trading days", "rationale": "abc"})
    adapter.validate_python({"value": 1e-9, "unit": "trading days", "rationale": "abc"})


def test_upper_strict_bound() -> None:
    adapter = TypeAdapter(quantity("elasticity", lt=0))
    with pytest.raises(ValidationError, match=r"must be < 0 elasticity, got 0"):
        adapter.validate_python({"value": 0, "unit": "elasticity", "rationale": "abc"})


def test_probability_above_one_rejected_in_a_scenario(write_scenario: Any) -> None:
    doc = scenario_doc(
        {
            "events": {
                "e": {
                    "rationale": "test event",
                    "probability": {
                        "dist": "uniform",
                        "low": 0.5,
                        "high": 1.2,
                        "unit": "probability",
                        "rationale": "abc",
                    },
                    "timing": q(1, "trading days"),
                }
            }
        }
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_scenario(doc=doc))
    assert info.value.field == "events.e.probability"
    assert info.value.message == (
        "must be <= 1 probability on every draw; uniform(0.5, 1.2) probability "
        "takes values in [0.5, 1.2]"
    )


# --------------------------------------------------------------------------- shapes


def _error(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        parse(doc)
    return str(info.value.errors()[0]["msg"]).removeprefix("Value error, ")


def test_discrete_weights_must_sum_to_one() -> None:
    message = _error({"dist": "discrete", "values": [1, 2], "weights": [0.5, 0.4]})
    assert message == "discrete weights must sum to 1 (they sum to 0.9)"


def test_discrete_weights_and_values_same_length() -> None:
    message = _error({"dist": "discrete", "values": [1, 2, 3], "weights": [0.5, 0.5]})
    assert message == "discrete needs as many weights as values (2 weights, 3 values)"


def test_discrete_weights_cannot_be_negative() -> None:
    with pytest.raises(ValidationError):
        parse({"dist": "discrete", "values": [1, 2, 3], "weights": [1.2, -0.4, 0.2]})


def test_discrete_weights_summing_to_one_within_rounding_accepted() -> None:
    law = parse({"dist": "discrete", "values": [1, 2, 3], "weights": [1 / 3, 1 / 3, 1 / 3]})
    assert law.mean() == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"dist": "triangular", "low": 1, "mode": 0, "high": 2},
            "triangular needs low <= mode <= high and low < high",
        ),
        ({"dist": "uniform", "low": 2, "high": 2}, "uniform needs low < high"),
        ({"dist": "beta", "a": 1, "b": 1, "low": 1, "high": 0}, "beta needs low < high"),
    ],
)
def test_ordering_of_parameters(doc: dict[str, Any], message: str) -> None:
    assert _error(doc) == message


@pytest.mark.parametrize(
    "doc",
    [
        {"dist": "normal", "mean": 0, "sd": 0},
        {"dist": "normal", "mean": float("nan"), "sd": 1},
        {"value": float("inf")},
        {"dist": "lognormal", "median": -1, "sigma": 1},
        {"dist": "gamma", "shape": 1},
        {"value": 1, "extra": 2},
    ],
)
def test_invalid_parameters_rejected(doc: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse(doc)


@pytest.mark.parametrize("missing", ["unit", "rationale"])
def test_unit_and_rationale_required(missing: str) -> None:
    doc = {"value": 1.0, "unit": "fraction", "rationale": "abc"}
    del doc[missing]
    with pytest.raises(ValidationError) as info:
        QUANTITY.validate_python(doc)
    assert info.value.errors()[0]["type"] == "missing"
    assert info.value.errors()[0]["loc"][-1] == missing
