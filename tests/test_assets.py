"""Risk assets: calm-market correlations and volatilities, betas, Student-t residuals,
risk-off reactions, correlation-matrix repair and asset validation messages.

Statistical checks use fixed seeds and 4-standard-error tolerances, with the standard
error computed from the sample size and the model's own moments (never a loose guess).
"""

from __future__ import annotations

import copy
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import SCENARIOS, asset, event, make_scenario, q, scenario_doc

from simulator import kernels
from simulator.assets import (
    CorrelationRepairedWarning,
    correlation_matrix,
    nearest_correlation,
    simulate_assets,
)
from simulator.engine import run_block, simulate_oil
from simulator.errors import ScenarioError, SimulatorWarning
from simulator.scenario import load_scenario
from simulator.streams import Streams

DT = 1.0 / 252
Z = 4.0  # tolerance in standard errors


def correlations(pairs: dict[str, float], df: float = 1000.0, **extra: Any) -> dict[str, Any]:
    return {
        "rationale": "test correlations",
        "noise_df": q(df, "degrees of freedom"),
        "pairs": pairs,
        **extra,
    }


def baseline_doc() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "baseline.yaml").read_text(encoding="utf-8"))


def line_of(text: str, *anchors: str) -> int:
    """1-based line of the last anchor, each searched for after the previous one."""
    lines = text.splitlines()
    i = 0
    for anchor in anchors:
        while anchor not in lines[i]:
            i += 1
        found = i
        i += 1
    return found + 1


# --------------------------------------------------------------------------- (1) calm moments


def test_calm_daily_correlations_and_vols_match_the_inputs() -> None:
    """Without regimes, jumps or events and with near-normal noise, the simulated daily-move
    correlation matrix [brent, assets...] equals the input matrix and the daily vols equal
    vol * sqrt(1/252) (bp for the yield), within 4 standard errors.

    The short factor's half-life is made very long so that Brent's daily moves are i.i.d.
    (mean reversion would otherwise add a small non-shock term to Brent's move); both
    factors and their correlation still enter oil's shock s.d., which the betas divide by.
    """
    doc = baseline_doc()
    corr = copy.deepcopy(doc["correlations"])
    corr["noise_df"] = q(1000, "degrees of freedom")
    scenario = make_scenario(
        {
            "oil": {
                "short_term": {"half_life": q(1e6, "trading days"), "vol": q(0.2, "annualised")},
                "long_term": {"drift": q(0.0, "per year"), "vol": q(0.15, "annualised")},
                "factor_correlation": q(0.3, "correlation"),
            },
            "assets": doc["assets"],
            "correlations": corr,
        }
    )
    names, target = correlation_matrix(scenario)
    # The baseline matrix is a valid correlation matrix: it is used as given.
    assert np.linalg.eigvalsh(target).min() > 0
    for pair, rho in doc["correlations"]["pairs"].items():
        a, b = pair.split("/")
        assert target[names.index(a), names.index(b)] == rho

    n_paths, n_steps = 4000, 25
    block = run_block(scenario, 20260206, 0, n_paths, n_steps, scenario.horizons(n_steps), False)
    assert block.daily is not None
    n = block.daily.n
    assert n == n_paths * n_steps
    simulated = block.daily.correlation()
    se = (1.0 - target**2) / math.sqrt(n)
    off = ~np.eye(len(names), dtype=bool)
    z = np.abs(simulated - target)[off] / se[off]
    assert z.max() < Z, dict(zip(names, np.round(simulated[0], 4), strict=True))

    oil_vol = math.sqrt(0.2**2 + 0.15**2 + 2 * 0.3 * 0.2 * 0.15)
    vols = [oil_vol] + [a["vol"]["value"] for a in doc["assets"].values()]
    expected_sd = np.array(vols) * math.sqrt(DT)
    sd = np.sqrt(np.diag(block.daily.covariance()))
    # Near-normal moves: the SE of a sample s.d. is sd / sqrt(2n).
    assert np.all(np.abs(sd - expected_sd) < Z * expected_sd / math.sqrt(2 * n)), sd / expected_sd
    # The errors correlations.csv reports (delta method over paths) say the same here.
    corr_se, vol_se = block.daily.std_errors(per_year=252.0)
    assert np.all(np.abs(simulated - target)[off] < Z * corr_se[off])
    annual = np.array(vols)
    assert np.all(np.abs(block.daily.volatility(252.0) - annual) < Z * vol_se)


# --------------------------------------------------------------------------- (2) betas


EVENT_SCENARIO = {
    "events": {
        "outage": event(
            1.0,
            {
                "dist": "uniform",
                "low": 1,
                "high": 20,
                "unit": "trading days",
                "rationale": "any day",
            },
            supply={
                "change": {
                    "dist": "uniform",
                    "low": -6.0,
                    "high": -1.0,
                    "unit": "mb/d",
                    "rationale": "outage of varying size",
                },
                "profile": {"shape": "decay", "half_life": q(3, "trading days")},
            },
        )
    },
    "assets": {
        "eq": asset("price", vol=0.2, beta_supply=0.3, risk_off=-1.0),
        "rates": asset("yield", vol=80.0, beta_supply=-0.2, risk_off=-4.0),
    },
    "correlations": correlations({"brent/eq": 0.4, "brent/rates": 0.2, "eq/rates": 0.1}),
}


def test_regression_on_oil_components_recovers_beta_ord_and_beta_supply() -> None:
    """Regressing each asset's daily move on oil's ordinary shock and on the change of oil's
    event-driven log component recovers beta_ord = r sigma_a sqrt(dt) / sigma_omega and
    beta_supply (x100 for a yield: bp per 1% of oil = bp per 0.01 log), within 4 OLS SEs.
    """
    scenario = make_scenario(EVENT_SCENARIO)
    n, n_steps = 4000, 25
    streams = Streams(77, 0)
    oil = simulate_oil(scenario, streams, n, n_steps)
    paths = simulate_assets(
        scenario,
        streams,
        oil.ordinary_shock,
        oil.shock_sd,
        oil.event_driven,
        oil.risk_off,
        oil.stressed,
    )
    # Oil's calm ordinary daily s.d. from the inputs (short factor: exact OU step; long: BM).
    kappa = math.log(2.0) * 252 / 20
    short_sd = 0.25 * math.sqrt(-math.expm1(-2 * kappa * DT) / (2 * kappa))
    sigma_omega = math.sqrt(short_sd**2 + 0.15**2 * DT)
    np.testing.assert_allclose(oil.shock_sd, sigma_omega, rtol=1e-12)

    d_event = np.diff(oil.event_driven, axis=1).ravel()
    assert np.count_nonzero(d_event) > n  # the event component really varies
    x = np.column_stack([np.ones(n * n_steps), oil.ordinary_shock.ravel(), d_event])
    xtx_inv = np.linalg.inv(x.T @ x)
    expected = {
        "eq": (0.4 * 0.2 * math.sqrt(DT) / sigma_omega, 0.3),
        "rates": (0.2 * 80.0 * math.sqrt(DT) / sigma_omega, -0.2 * 100.0),
    }
    for k, name in enumerate(paths.names):
        y = paths.moves[k].ravel()
        coef, resid, *_ = np.linalg.lstsq(x, y, rcond=None)
        s2 = float(resid[0]) / (y.size - 3)
        se = np.sqrt(s2 * np.diag(xtx_inv))
        beta_ord, beta_sup = expected[name]
        assert abs(coef[1] - beta_ord) < Z * se[1], (name, coef[1], beta_ord, se[1])
        assert abs(coef[2] - beta_sup) < Z * se[2], (name, coef[2], beta_sup, se[2])
        # And the residual s.d. is the asset's idiosyncratic part sigma sqrt((1 - r^2) dt).
        r = {"eq": 0.4, "rates": 0.2}[name]
        vol = {"eq": 0.2, "rates": 80.0}[name]
        resid_sd = vol * math.sqrt((1 - r * r) * DT)
        assert abs(math.sqrt(s2) - resid_sd) < Z * resid_sd / math.sqrt(2 * y.size)


# --------------------------------------------------------------------------- (3) t residuals


def _t_standardised_moments(nu: float) -> tuple[float, float, float]:
    """E[x^4], E[x^6], E[x^8] of a Student-t scaled to unit variance."""
    m4 = 3 * (nu - 2) / (nu - 4)
    m6 = 15 * (nu - 2) ** 2 / ((nu - 4) * (nu - 6))
    m8 = 105 * (nu - 2) ** 3 / ((nu - 4) * (nu - 6) * (nu - 8))
    return m4, m6, m8


def test_student_t_residuals_have_the_t_excess_kurtosis() -> None:
    """An asset uncorrelated with Brent moves by its Student-t residual alone: the excess
    kurtosis of its daily moves is 6 / (df - 4), within 4 delta-method SEs.

    df = 12 (the SE needs the 8th moment, finite for df > 8; 12 keeps the sampling
    distribution of the kurtosis close to normal).
    """
    nu = 12.0
    scenario = make_scenario(
        {"assets": {"gold": asset("price", vol=0.15)}, "correlations": correlations({}, df=nu)}
    )
    n, n_steps = 8000, 50
    streams = Streams(3, 0)
    oil = simulate_oil(scenario, streams, n, n_steps)
    paths = simulate_assets(
        scenario,
        streams,
        oil.ordinary_shock,
        oil.shock_sd,
        oil.event_driven,
        oil.risk_off,
        oil.stressed,
    )
    x = paths.moves[0].ravel()
    x = x - x.mean()
    m2 = float(np.mean(x**2))
    kurt = float(np.mean(x**4)) / m2**2
    m4, m6, m8 = _t_standardised_moments(nu)
    # Var(m4/m2^2) ~ [mu8 - mu4^2 - 4 mu4 (mu6 - mu4) + 4 mu4^2 (mu4 - 1)] / n, unit variance.
    se = math.sqrt((m8 - m4**2 - 4 * m4 * (m6 - m4) + 4 * m4**2 * (m4 - 1)) / x.size)
    assert abs((kurt - 3.0) - 6.0 / (nu - 4.0)) < Z * se, (kurt - 3.0, se)
    # And its variance is the input's: vol^2 dt.
    var = 0.15**2 * DT
    assert abs(m2 - var) < Z * var * math.sqrt((m4 - 1) / x.size)


# --------------------------------------------------------------------------- (4) risk-off


def _risk_off_pair(overrides: dict[str, Any]) -> tuple[Any, Any, Any]:
    doc = baseline_doc()
    base = {"assets": doc["assets"], "correlations": doc["correlations"], **overrides}
    with_event = make_scenario(
        {
            **base,
            "events": {
                "scare": event(
                    1.0,
                    5,
                    risk_off={"size": q(1.0, "risk-off units"), "half_life": q(4, "trading days")},
                )
            },
        }
    )
    without = make_scenario(base)
    n, n_steps = 50, 12
    out = []
    for scenario in (with_event, without):
        streams = Streams(99, 0)
        oil = simulate_oil(scenario, streams, n, n_steps)
        out.append(
            (
                oil,
                simulate_assets(
                    scenario,
                    streams,
                    oil.ordinary_shock,
                    oil.shock_sd,
                    oil.event_driven,
                    oil.risk_off,
                    oil.stressed,
                ),
            )
        )
    return doc, out[0], out[1]


def test_risk_off_event_moves_each_asset_by_its_loading_on_the_event_day() -> None:
    """One certain risk-off event (size 1 on day 5, half-life 4) with the baseline's loadings:
    against the same seed without the event (common random numbers), each asset's move
    differs by exactly loading x the change of the risk-off level: loading x 1 on the event
    day (percent -> log for prices, bp for the yield), nothing before, the decay after; so
    the cumulative difference is loading x the level. Equities fall, gold rises, the
    10-year yield falls and the dollar rises on the event day. Oil is untouched."""
    doc, (oil_a, a), (oil_b, b) = _risk_off_pair({})
    np.testing.assert_array_equal(oil_a.log_price, oil_b.log_price)
    day = 5
    level = np.where(np.arange(13) >= day, 2.0 ** (-(np.arange(13) - day) / 4.0), 0.0)
    d_level = np.diff(level)
    signs = {
        "sp500": -1,
        "energy": -1,
        "airlines": -1,
        "em_equities": -1,
        "gold": +1,
        "us10y": -1,
        "usd": +1,
    }
    assert set(signs) <= set(a.names)
    for k, name in enumerate(a.names):
        spec = doc["assets"][name]
        loading = spec["risk_off"]["value"] / (1.0 if spec["kind"] == "yield" else 100.0)
        diff = a.moves[k] - b.moves[k]
        if name in signs:
            assert np.all(np.sign(diff[:, day - 1]) == signs[name]), name
        np.testing.assert_allclose(diff[:, day - 1], loading, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(diff[:, : day - 1], 0.0)
        np.testing.assert_allclose(
            diff, np.broadcast_to(loading * d_level, diff.shape), rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            a.paths[name] - b.paths[name],
            np.broadcast_to(loading * level, (diff.shape[0], 13)),
            rtol=1e-9,
            atol=1e-12,
        )


# --------------------------------------------------------------------------- (5) repair


NON_PSD = {"brent/a": 0.9, "brent/b": 0.9, "a/b": -0.9}


def _non_psd_doc(**extra: Any) -> dict[str, Any]:
    return scenario_doc(
        {
            "assets": {"a": asset("price"), "b": asset("price", vol=0.3)},
            "correlations": correlations(NON_PSD, **extra),
        }
    )


def _raw_matrix() -> np.ndarray:
    return np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])


def test_non_psd_matrix_is_repaired_with_a_warning(write_scenario: Callable[..., Path]) -> None:
    path = write_scenario(doc=_non_psd_doc())
    assert issubclass(CorrelationRepairedWarning, SimulatorWarning)
    low = np.linalg.eigvalsh(_raw_matrix()).min()
    with pytest.warns(CorrelationRepairedWarning) as record:
        loaded = load_scenario(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(
        f"correlations: the matrix was not positive semi-definite (smallest eigenvalue "
        f"{low:.4g}); repaired to the nearest valid one (largest change "
    ), message
    names, m = correlation_matrix(loaded.scenario)
    assert names == ["brent", "a", "b"]
    np.testing.assert_allclose(m, m.T, atol=1e-15)
    np.testing.assert_allclose(np.diag(m), 1.0, rtol=0, atol=1e-12)
    assert np.linalg.eigvalsh(m).min() >= -1e-10
    change = float(re.search(r"largest change ([0-9.]+)\)", message).group(1))  # type: ignore[union-attr]
    assert change == pytest.approx(np.abs(m - _raw_matrix()).max(), abs=5e-4)
    # The repaired matrix is the nearest one (same as nearest_correlation of the input).
    np.testing.assert_allclose(m, nearest_correlation(_raw_matrix()), atol=1e-12)
    # And the simulation runs on it without further warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        block = run_block(loaded.scenario, 1, 0, 200, 5, [5], False)
    assert block.daily is not None


def test_non_psd_matrix_with_strict_is_an_error(write_scenario: Callable[..., Path]) -> None:
    path = write_scenario(doc=_non_psd_doc(strict=True))
    low = np.linalg.eigvalsh(_raw_matrix()).min()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    line = line_of(path.read_text(encoding="utf-8"), "correlations:", "pairs:")
    assert info.value.field == "correlations.pairs"
    assert str(info.value) == (
        f"{path}:{line}: correlations.pairs: correlation matrix is not positive semi-definite "
        f"(smallest eigenvalue {low:.4g}); set correlations.strict: false to repair it to the "
        "nearest valid matrix"
    )


def test_a_pair_given_twice_is_an_error(write_scenario: Callable[..., Path]) -> None:
    """'a/b' and 'b/a' are one correlation: two values for it cannot both hold."""
    doc = scenario_doc(
        {
            "assets": {"a": asset("price")},
            "correlations": correlations({"brent/a": 0.2, "a/brent": 0.3}),
        }
    )
    path = write_scenario(doc=doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    line = line_of(path.read_text(encoding="utf-8"), "correlations:", "a/brent")
    assert str(info.value) == (
        f"{path}:{line}: correlations.pairs.a/brent: the same pair as 'brent/a': give each "
        "correlation once"
    )


def test_a_child_overrides_or_removes_a_pair_written_the_other_way_round(
    write_scenario: Callable[..., Path],
) -> None:
    base = scenario_doc(
        {
            "assets": {"a": asset("price"), "b": asset("price")},
            "correlations": correlations({"brent/a": 0.2, "a/b": 0.1}),
        }
    )
    write_scenario(doc=base, name="base.yaml")
    head = "extends: base.yaml\ndescription: child\ncorrelations:\n  pairs:\n"
    over = write_scenario(name="over.yaml", text=head + "    a/brent: 0.4\n")
    _, m = correlation_matrix(load_scenario(over).scenario)
    assert (m[0, 1], m[1, 2]) == (0.4, 0.1)
    gone = write_scenario(name="gone.yaml", text=head + "    b/a: null\n")
    _, m = correlation_matrix(load_scenario(gone).scenario)
    assert (m[0, 1], m[1, 2]) == (0.2, 0.0)
    # Both spellings in the child: two values for one pair, as in a single file.
    both = write_scenario(name="both.yaml", text=head + "    a/brent: 0.4\n    brent/a: 0.5\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(both)
    assert str(info.value) == (
        f"{both}:5: correlations.pairs.a/brent: the same pair as 'brent/a': give each "
        "correlation once"
    )


def test_nearest_correlation_reproduces_highams_example() -> None:
    """Higham (2002), section 4: the nearest correlation matrix to [[1,1,0],[1,1,1],[0,1,1]]
    has off-diagonals 0.7607 and 0.1573 (to 4 decimals)."""
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x = nearest_correlation(a)
    reference = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    np.testing.assert_allclose(x, reference, atol=6e-5)
    np.testing.assert_allclose(np.diag(x), 1.0, atol=1e-12)
    assert np.linalg.eigvalsh(x).min() >= -1e-10
    # Optimality (projection onto a convex set): <A - X, Y - X> <= 0 for every correlation
    # matrix Y; checked on random ones and on rank-one extreme points.
    rng = np.random.default_rng(0)
    for _ in range(500):
        g = rng.standard_normal((3, 3))
        c = g @ g.T
        d = np.sqrt(np.diag(c))
        y = c / np.outer(d, d)
        assert np.sum((a - x) * (y - x)) <= 1e-6
    for s in [(1, 1, 1), (1, 1, -1), (1, -1, 1), (-1, 1, 1)]:
        y = np.outer(s, s).astype(float)
        assert np.sum((a - x) * (y - x)) <= 1e-6


def test_nearest_correlation_leaves_a_valid_matrix_alone() -> None:
    """Higham's tridiagonal [[2,-1,0],[-1,2,-1],[0,-1,2]] scaled to unit diagonal is already
    a correlation matrix (eigenvalues 1 and 1 +/- 1/sqrt 2): it is its own nearest."""
    b = np.array([[2.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 2.0]]) / 2.0
    np.testing.assert_allclose(nearest_correlation(b), b, atol=1e-10)


# --------------------------------------------------------------------------- (6) messages


def test_unknown_asset_in_correlation_pairs(write_scenario: Callable[..., Path]) -> None:
    doc = scenario_doc(
        {
            "assets": {"a": asset("price"), "b": asset("price")},
            "correlations": correlations({"brent/a": 0.3, "a/zzz": 0.1}),
        }
    )
    path = write_scenario(doc=doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    line = line_of(path.read_text(encoding="utf-8"), "correlations:", "pairs:", "a/zzz")
    assert info.value.field == "correlations.pairs.a/zzz"
    assert str(info.value) == (
        f"{path}:{line}: correlations.pairs.a/zzz: 'zzz' is not brent or an asset of this "
        "scenario (assets: a, b)"
    )


@pytest.mark.parametrize(
    ("kind", "field", "unit", "expected"),
    [
        ("yield", "vol", "annualised", "bp/year"),
        ("yield", "drift", "per year", "bp/year"),
        ("yield", "risk_off", "percent", "bp"),
        ("yield", "beta_supply", "beta", "bp per oil %"),
        ("price", "vol", "bp/year", "annualised"),
        ("price", "beta_supply", "bp per oil %", "beta"),
    ],
)
def test_asset_unit_errors_name_the_field(
    write_scenario: Callable[..., Path], kind: str, field: str, unit: str, expected: str
) -> None:
    spec = asset(kind)
    spec[field] = q(spec[field]["value"], unit)
    doc = scenario_doc({"assets": {"x": spec}, "correlations": correlations({})})
    path = write_scenario(doc=doc)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = path.read_text(encoding="utf-8")
    line = line_of(text, "assets:", "  x:", f"    {field}:", "unit:")
    assert info.value.field == f"assets.x.{field}.unit"
    assert str(info.value) == (
        f"{path}:{line}: assets.x.{field}.unit: a {kind} asset's {field} is in '{expected}', "
        f"got '{unit}'"
    )


def test_a_yield_must_start_in_percent(write_scenario: Callable[..., Path]) -> None:
    spec = asset("yield")
    spec["start"] = q(4.0, "index points")
    path = write_scenario(
        doc=scenario_doc({"assets": {"y": spec}, "correlations": correlations({})})
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    line = line_of(path.read_text(encoding="utf-8"), "assets:", "  y:", "    start:", "unit:")
    assert str(info.value) == f"{path}:{line}: assets.y.start.unit: a yield starts in 'percent'"


# --------------------------------------------------------------------------- (6) fast route


@pytest.mark.parametrize("form", ["numba", "numpy"])
def test_one_matrix_product_equals_the_path_by_path_route(form: str) -> None:
    """With fixed parameters the moves come from one matrix product, the common stressed
    multiplier folded into the noise draw and a correction for the asset with its own
    multiplier; forcing the path-by-path route (used when parameters are drawn per path)
    must give the same moves to rounding, on a block with stressed days and events."""
    doc = copy.deepcopy(EVENT_SCENARIO)
    doc["assets"]["eq"]["stressed_vol_multiplier"] = q(1.5, "multiplier")
    doc["assets"]["rates"]["stressed_vol_multiplier"] = q(1.2, "multiplier")
    doc["assets"]["fx"] = asset("price", vol=0.1, risk_off=0.5, drift=0.03, multiplier=1.5)
    doc["correlations"]["pairs"].update({"brent/fx": -0.1, "eq/fx": 0.2, "fx/rates": 0.0})
    scenario = make_scenario(doc)
    n, n_steps = 600, 30
    oil = simulate_oil(scenario, Streams(5, 0), n, n_steps)
    stressed = oil.stressed.copy()
    stressed[::3, 10:20] = True  # make sure stressed days are there
    args = (oil.ordinary_shock, oil.shock_sd, oil.event_driven, oil.risk_off, stressed)
    with kernels.compiled(form == "numba"):
        fast = simulate_assets(scenario, Streams(5, 0), *args, oil_log=oil.log_price)
    slow = simulate_assets(scenario, Streams(5, 0), *args, oil_log=oil.log_price, per_path=True)
    assert stressed.any()
    scale = np.abs(slow.moves).max()
    np.testing.assert_allclose(fast.moves, slow.moves, rtol=0, atol=1e-12 * scale)
    for name in fast.names:
        np.testing.assert_allclose(fast.paths[name], slow.paths[name], rtol=0, atol=1e-11)
    # The daily cross moments and the per-path sums behind their errors agree too.
    assert fast.daily is not None
    assert slow.daily is not None
    assert fast.daily.paths == slow.daily.paths == n
    assert fast.daily.path_cross is not None
    assert slow.daily.path_cross is not None
    np.testing.assert_allclose(fast.daily.cross, slow.daily.cross, rtol=1e-10)
    np.testing.assert_allclose(fast.daily.path_cross, slow.daily.path_cross, rtol=1e-9, atol=1e-18)
    for got, want in zip(fast.daily.std_errors(252.0), slow.daily.std_errors(252.0), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7)


def test_a_repaired_matrix_is_said_once_per_file_and_recorded(
    write_scenario: Callable[..., Path], runner: Any, tmp_path: Path
) -> None:
    """The CLI prints the repair as one line naming the file; the manifest, the report
    and the chart title record it, since the run's correlations are not the file's."""
    from simulator.cli import app

    path = write_scenario(doc=_non_psd_doc())
    low = np.linalg.eigvalsh(_raw_matrix()).min()
    change = np.abs(nearest_correlation(_raw_matrix()) - _raw_matrix()).max()
    out = tmp_path / "out"
    args = ["run", str(path), "--paths", "300", "--workers", "1", "--quiet", "--out", str(out)]
    result = runner.invoke(app, args, prog_name="sim")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"Warning: {path}: correlations: the matrix was not positive semi-definite (smallest "
        f"eigenvalue {low:.4g}); repaired to the nearest valid one (largest change "
        f"{change:.3f})\n"
    )
    manifest = json.loads((out / "mini" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["correlations_repaired"] == pytest.approx(
        {"smallest_eigenvalue": low, "largest_change": change}, abs=1e-9
    )
    report = (out / "mini" / "report.md").read_text(encoding="utf-8")
    assert (
        f"the run used the nearest valid one, which changes some correlations by up to {change:.3f}"
        in report
    )
    valid = write_scenario(
        doc=scenario_doc(
            {"assets": {"a": asset("price")}, "correlations": correlations({"brent/a": 0.3})}
        ),
        name="valid.yaml",
    )
    args[1], args[-1] = str(valid), str(tmp_path / "out2")
    result = runner.invoke(app, args, prog_name="sim")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    manifest = json.loads((tmp_path / "out2" / "mini" / "manifest.json").read_text())
    assert manifest["correlations_repaired"] is None
