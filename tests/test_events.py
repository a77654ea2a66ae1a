"""Events: occurrence, conditions, timing, supply profiles, offsets and price conversion."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import event, make_scenario, q
from pydantic import ValidationError

from simulator.errors import RuntimeFailure
from simulator.events import (
    CALENDAR_DAYS_PER_TRADING_DAY,
    EventDraws,
    EventOutcome,
    apply_offsets,
    draw_events,
    supply_to_log_price,
)
from simulator.streams import Streams

SPOT = 70.0


def draws(events: dict[str, Any], n: int = 20_000, steps: int = 20, seed: int = 1, **extra: Any):
    scenario = make_scenario({"events": events, **extra})
    return draw_events(scenario, Streams(seed, 0), n, steps, np.full(n, SPOT))


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def supply(change: float, **profile: Any) -> dict[str, Any]:
    return {"change": q(change, "mb/d"), "profile": profile}


# --------------------------------------------------------------------------- occurrence


@pytest.mark.parametrize("p", [0.05, 0.3, 0.8])
def test_frequency_matches_probability(p: float) -> None:
    n = 20_000
    out = draws({"e": event(p)}, n=n)
    o = out.outcomes["e"]
    assert o.eligible.all()
    assert abs(o.occurred.mean() - p) < 4 * binomial_se(p, n)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_certain_and_impossible_events(p: float) -> None:
    assert (draws({"e": event(p)}, n=1_000).outcomes["e"].occurred == bool(p)).all()


def test_uncertain_probability_averages_out() -> None:
    n = 20_000
    prob = {"dist": "uniform", "low": 0.2, "high": 0.6, "unit": "probability", "rationale": "abc"}
    o = draws({"e": {**event(), "probability": prob}}, n=n).outcomes["e"]
    assert abs(o.occurred.mean() - 0.4) < 4 * binomial_se(0.4, n)


def test_requires_conditional_frequency() -> None:
    n = 40_000
    out = draws({"a": event(0.5), "b": event(0.3, requires=["a"])}, n=n)
    a, b = out.outcomes["a"], out.outcomes["b"]
    np.testing.assert_array_equal(b.eligible, a.occurred)
    assert not (b.occurred & ~a.occurred).any()
    cond = b.occurred[a.occurred].mean()
    assert abs(cond - 0.3) < 4 * binomial_se(0.3, int(a.occurred.sum()))
    assert abs(b.occurred.mean() - 0.15) < 4 * binomial_se(0.15, n)


def test_excludes_never_co_occur() -> None:
    n = 40_000
    out = draws({"a": event(0.4), "c": event(0.5, excludes=["a"])}, n=n)
    a, c = out.outcomes["a"], out.outcomes["c"]
    assert not (a.occurred & c.occurred).any()
    np.testing.assert_array_equal(c.eligible, ~a.occurred)
    cond = c.occurred[~a.occurred].mean()
    assert abs(cond - 0.5) < 4 * binomial_se(0.5, int((~a.occurred).sum()))


def test_excludes_only_an_event_that_happened_by_its_own_day() -> None:
    out = draws(
        {
            "late": event(1.0, 10),
            "early": event(1.0, 3, excludes=["late"]),
            "after": event(1.0, 12, excludes=["late"]),
        },
        n=100,
    )
    assert out.outcomes["early"].occurred.all()  # the excluded event comes later
    assert not out.outcomes["after"].eligible.any()


def test_requires_all_of_several() -> None:
    out = draws({"a": event(0.5), "b": event(0.5), "c": event(1.0, requires=["a", "b"])}, n=5_000)
    a, b, c = (out.outcomes[k].occurred for k in "abc")
    np.testing.assert_array_equal(c, a & b)


def test_event_streams_are_independent_of_other_events() -> None:
    # Common random numbers: adding an unrelated event does not change another's draws.
    one = draws({"a": event(0.5, timing=q(3, "trading days"))}, n=2_000)
    two = draws({"z": event(0.7), "a": event(0.5, timing=q(3, "trading days"))}, n=2_000)
    np.testing.assert_array_equal(one.outcomes["a"].occurred, two.outcomes["a"].occurred)


# --------------------------------------------------------------------------- timing


@pytest.mark.parametrize(("timing", "day"), [(0.0, 1), (0.2, 1), (1.0, 1), (2.3, 3), (7.0, 7)])
def test_fixed_timing_day(timing: float, day: int) -> None:
    o = draws({"e": event(1.0, timing)}, n=10).outcomes["e"]
    np.testing.assert_array_equal(o.day, day)


def test_timing_after_a_required_event() -> None:
    out = draws({"a": event(1.0, 4.5), "b": event(1.0, 2.2, requires=["a"])}, n=10)
    np.testing.assert_array_equal(out.outcomes["a"].day, 5)
    np.testing.assert_array_equal(out.outcomes["b"].day, 8)  # ceil(5 + 2.2)


def test_random_timing_day_is_ceil_of_base_plus_timing() -> None:
    n, steps = 500, 30
    timing = {"dist": "uniform", "low": 0, "high": 10, "unit": "trading days", "rationale": "abc"}
    events = {"a": event(1.0, 2.5), "b": {**event(0.6, requires=["a"]), "timing": timing}}
    out = draws(events, n=n, steps=steps, seed=9)
    # Replay event b's stream: probability (fixed: no draws), uniforms, then timings.
    rng = Streams(9, 0).get("event.b")
    u = rng.random(n)
    t = rng.uniform(0, 10, n)
    expected = np.maximum(1, np.ceil(3 + t)).astype(int)
    b = out.outcomes["b"]
    np.testing.assert_array_equal(b.occurred, u < 0.6)
    np.testing.assert_array_equal(b.day[b.occurred], expected[b.occurred])
    assert (b.day[~b.occurred] > steps).all()


def test_risk_premium_starts_on_the_event_day() -> None:
    hl = 10.0
    out = draws(
        {
            "e": event(
                1.0, 3, risk_premium={"size": q(7.0, "USD/bbl"), "half_life": q(hl, "trading days")}
            )
        },
        n=4,
        steps=20,
    )
    log_size = math.log(1 + 7.0 / SPOT)
    tau = np.arange(21) - 3
    expected = np.where(tau >= 0, log_size * 2.0 ** (-np.maximum(tau, 0) / hl), 0.0)
    for row in out.premium_log:
        np.testing.assert_allclose(row, expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(out.supply_mbd, 0.0)


def test_risk_premium_uses_each_paths_spot() -> None:
    scenario = make_scenario(
        {
            "events": {
                "e": event(
                    1.0,
                    1,
                    risk_premium={"size": q(-5.0, "USD/bbl"), "half_life": q(1e9, "trading days")},
                )
            }
        }
    )
    spot = np.array([50.0, 100.0])
    out = draw_events(scenario, Streams(0, 0), 2, 3, spot)
    np.testing.assert_allclose(out.premium_log[:, 2], np.log(1 - 5.0 / spot), rtol=1e-9)


def test_risk_premium_too_negative_is_rejected_when_the_scenario_is_validated() -> None:
    # A premium that could take Brent below 5% of spot is bad input, caught up front.
    with pytest.raises(ValidationError, match=r"would take Brent below 5% of its 70 USD/bbl spot"):
        draws(
            {
                "e": event(
                    1.0,
                    1,
                    risk_premium={"size": q(-68.0, "USD/bbl"), "half_life": q(5, "trading days")},
                )
            },
            n=3,
        )


def test_ends_stress_marks_the_start_step_on_a_share_of_paths() -> None:
    n, p = 20_000, 0.3
    out = draws({"e": event(1.0, 4, ends_stress=q(p, "probability"))}, n=n, steps=12)
    # The chain is set calm at step 3 (the move into day 4), and only there.
    assert not out.forced_calm[:, np.arange(12) != 3].any()
    assert not out.forced_stress.any()
    assert abs(out.forced_calm[:, 3].mean() - p) < 4 * binomial_se(p, n)


def test_ends_stress_leaves_the_other_draws_of_the_event_alone() -> None:
    risk_off = {"size": q(1.0, "risk-off units"), "half_life": q(5, "trading days")}
    timing = {
        "dist": "uniform",
        "low": 1,
        "high": 9,
        "unit": "trading days",
        "rationale": "any day",
    }
    plain = draws({"e": event(0.5, timing, risk_off=risk_off)}, n=200, steps=12)
    calming = draws(
        {"e": event(0.5, timing, risk_off=risk_off, ends_stress=q(1.0, "probability"))},
        n=200,
        steps=12,
    )
    np.testing.assert_array_equal(plain.risk_off, calming.risk_off)
    day = calming.outcomes["e"].day
    hit = day <= 12
    np.testing.assert_array_equal(calming.forced_calm[hit, day[hit] - 1], True)
    assert calming.forced_calm.sum() == hit.sum()


def test_an_event_cannot_both_force_and_end_stress() -> None:
    with pytest.raises(ValidationError, match="not both"):
        make_scenario(
            {
                "events": {
                    "e": event(
                        1.0, 4, stressed_for=q(5, "trading days"), ends_stress=q(1.0, "probability")
                    )
                }
            }
        )


def test_stressed_for_forces_the_steps_after_the_start() -> None:
    out = draws({"e": event(1.0, 4, stressed_for=q(2.5, "trading days"))}, n=3, steps=12)
    # Step t ends on day t + 1; the event starts on day 4: steps 3, 4, 5 (ceil(2.5) = 3).
    expected = np.zeros(12, dtype=bool)
    expected[3:6] = True
    for row in out.forced_stress:
        np.testing.assert_array_equal(row, expected)


def test_risk_off_impulse_decays() -> None:
    out = draws(
        {
            "e": event(
                1.0,
                2,
                risk_off={"size": q(0.8, "risk-off units"), "half_life": q(5, "trading days")},
            )
        },
        n=2,
        steps=10,
    )
    tau = np.arange(11) - 2
    expected = np.where(tau >= 0, 0.8 * 2.0 ** (-np.maximum(tau, 0) / 5), 0.0)
    np.testing.assert_allclose(out.risk_off[0], expected, rtol=1e-12)


def test_event_that_does_not_happen_has_no_effect() -> None:
    out = draws(
        {
            "e": event(
                0.0,
                1,
                supply=supply(-2.0, shape="step"),
                risk_premium={"size": q(5.0, "USD/bbl"), "half_life": q(5, "trading days")},
            )
        },
        n=10,
    )
    np.testing.assert_array_equal(out.supply_mbd, 0.0)
    np.testing.assert_array_equal(out.premium_log, 0.0)
    assert not out.outcomes["e"].active.any()


# --------------------------------------------------------------------------- supply profiles


def one_path_supply(spec: dict[str, Any], day: int = 3, steps: int = 15) -> tuple[Any, Any]:
    out = draws({"e": event(1.0, day, supply=spec)}, n=1, steps=steps)
    return out.supply_mbd[0], out.outcomes["e"].active[0]


def test_step_profile_with_duration() -> None:
    values, active = one_path_supply(supply(-2.0, shape="step", duration=q(4.2, "trading days")))
    expected = np.zeros(16)
    expected[3:8] = -2.0  # ceil(4.2) = 5 days from day 3
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(active, expected != 0)


def test_step_profile_held_to_the_horizon() -> None:
    values, active = one_path_supply(supply(1.5, shape="step"))
    np.testing.assert_array_equal(values, np.where(np.arange(16) >= 3, 1.5, 0.0))
    np.testing.assert_array_equal(active, np.arange(16) >= 3)


def test_ramp_profile() -> None:
    values, _ = one_path_supply(supply(-2.0, shape="ramp", ramp=q(4, "trading days")))
    expected = np.zeros(16)
    expected[3:7] = [-0.5, -1.0, -1.5, -2.0]
    expected[7:] = -2.0
    np.testing.assert_allclose(values, expected, rtol=1e-15)


def test_ramp_profile_with_duration() -> None:
    values, active = one_path_supply(
        supply(-2.0, shape="ramp", ramp=q(4, "trading days"), duration=q(6, "trading days"))
    )
    expected = np.zeros(16)
    expected[3:9] = [-0.5, -1.0, -1.5, -2.0, -2.0, -2.0]
    np.testing.assert_allclose(values, expected, rtol=1e-15)
    np.testing.assert_array_equal(active, (np.arange(16) >= 3) & (np.arange(16) < 9))


def test_decay_profile() -> None:
    values, active = one_path_supply(supply(-4.0, shape="decay", half_life=q(2, "trading days")))
    assert values[2] == 0.0
    assert values[3] == pytest.approx(-4.0, rel=1e-15)
    assert values[5] == pytest.approx(-2.0, rel=1e-15)
    assert values[7] == pytest.approx(-1.0, rel=1e-15)
    # Under way until down to 5% of its size: log2(20) = 4.32 half-lives = 8.6 days.
    days = np.arange(16)
    np.testing.assert_array_equal(active, (days >= 3) & (days - 3 < 2 * math.log2(20)))
    assert values[15] == pytest.approx(-4.0 * 2 ** (-6), rel=1e-12)  # still decaying


def test_supply_changes_of_several_events_add_up() -> None:
    out = draws(
        {
            "a": event(1.0, 2, supply=supply(-1.0, shape="step")),
            "b": event(1.0, 5, supply=supply(0.25, shape="step")),
        },
        n=1,
        steps=8,
    )
    np.testing.assert_allclose(out.supply_mbd[0], [0, 0, -1, -1, -1, -0.75, -0.75, -0.75, -0.75])


# --------------------------------------------------------------------------- offsets


def offset(capacity: float, fraction: float, lag: float, **extra: Any) -> dict[str, Any]:
    return {
        "rationale": "test offset",
        "capacity": q(capacity, "mb/d"),
        "response_fraction": q(fraction, "fraction"),
        "lag": q(lag, "trading days"),
        **extra,
    }


def loss_draws(loss: np.ndarray, active: dict[str, np.ndarray] | None = None) -> EventDraws:
    n, width = loss.shape
    outcomes = {
        name: EventOutcome(np.ones(n, bool), np.ones(n, bool), np.ones(n, int), mask)
        for name, mask in (active or {}).items()
    }
    return EventDraws(
        supply_mbd=loss,
        premium_log=np.zeros((n, width)),
        risk_off=np.zeros((n, width)),
        forced_stress=np.zeros((n, width - 1), dtype=bool),
        forced_calm=np.zeros((n, width - 1), dtype=bool),
        outcomes=outcomes,
    )


def offsets_of(
    offsets: dict[str, Any], loss: np.ndarray, events: dict[str, Any] | None = None, **active: Any
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    scenario = make_scenario({"offsets": offsets, "events": events or {}})
    return apply_offsets(scenario, Streams(0, 0), loss_draws(loss, active))


LOSS = np.where(np.arange(21) >= 2, -3.0, 0.0)[None, :]  # 3 mb/d lost from day 2


def test_offset_after_its_lag() -> None:
    net, added = offsets_of({"o": offset(10, 1.0, 5)}, LOSS)
    expected = np.where(np.arange(21) >= 7, 3.0, 0.0)
    np.testing.assert_array_equal(added["o"][0], expected)
    np.testing.assert_array_equal(net[0], LOSS[0] + expected)


def test_offset_capped_by_capacity() -> None:
    net, added = offsets_of({"o": offset(1.2, 1.0, 0)}, LOSS)
    np.testing.assert_allclose(added["o"][0], np.where(np.arange(21) >= 2, 1.2, 0.0))
    np.testing.assert_allclose(net[0, 2:], -1.8)


def test_offset_response_fraction() -> None:
    _, added = offsets_of({"o": offset(10, 0.4, 0)}, LOSS)
    np.testing.assert_allclose(added["o"][0], np.where(np.arange(21) >= 2, 1.2, 0.0))


def test_offset_lag_is_rounded_up() -> None:
    _, added = offsets_of({"o": offset(10, 1.0, 2.1)}, LOSS)
    np.testing.assert_array_equal(added["o"][0] > 0, np.arange(21) >= 5)


def test_offset_ignores_added_supply() -> None:
    gain = np.where(np.arange(21) >= 2, 2.0, 0.0)[None, :]
    net, added = offsets_of({"o": offset(10, 1.0, 0)}, gain)
    np.testing.assert_array_equal(added["o"], 0.0)
    np.testing.assert_array_equal(net, gain)


def test_offset_volume_exhaustion() -> None:
    volume = 10.0  # million bbl at 2 mb/d lasts 10 / (2 * 365.25/252) = 3.45 trading days
    _, added = offsets_of({"o": offset(2.0, 1.0, 0, volume=q(volume, "million bbl"))}, LOSS)
    r = added["o"][0]
    per_day = 2.0 * CALENDAR_DAYS_PER_TRADING_DAY
    full = int(volume // per_day)
    np.testing.assert_allclose(r[2 : 2 + full], 2.0)
    assert r[2 + full] == pytest.approx((volume - full * per_day) / CALENDAR_DAYS_PER_TRADING_DAY)
    np.testing.assert_allclose(r[3 + full :], 0.0, atol=1e-12)
    assert r.sum() * CALENDAR_DAYS_PER_TRADING_DAY == pytest.approx(volume, rel=1e-12)


def test_offset_trigger() -> None:
    loss = np.where(np.arange(21) >= 2, -3.0, 0.0)
    loss[10:] = -1.0
    _net, added = offsets_of({"o": offset(10, 1.0, 0, trigger=q(2.0, "mb/d"))}, loss[None, :])
    expected = np.where((np.arange(21) >= 2) & (np.arange(21) < 10), 3.0, 0.0)
    np.testing.assert_allclose(added["o"][0], expected)


def test_offset_impaired_by_an_active_event() -> None:
    mask = np.arange(21)[None, :] < 10
    _net, added = offsets_of(
        {"o": offset(2.0, 1.0, 0, impaired_by={"closure": q(0.25, "fraction")})},
        LOSS,
        events={"closure": event(0.0)},
        closure=mask,
    )
    expected = np.where(np.arange(21) < 2, 0.0, np.where(np.arange(21) < 10, 0.5, 2.0))
    np.testing.assert_allclose(added["o"][0], expected)


def test_offset_impairment_is_drawn_per_path() -> None:
    """A distribution for the share left is drawn once per path: with shares 0 or 1 at even
    odds, each path's offset answers in full or not at all while the event is active, and
    the share of silenced paths is 1/2 within 4 standard errors."""
    n = 4000
    loss = np.repeat(LOSS, n, axis=0)
    mask = np.repeat(np.arange(21)[None, :] < 10, n, axis=0)
    share = {
        "dist": "discrete",
        "values": [0.0, 1.0],
        "weights": [0.5, 0.5],
        "unit": "fraction",
        "rationale": "either stranded or not",
    }
    _net, added = offsets_of(
        {"o": offset(2.0, 1.0, 0, impaired_by={"closure": share})},
        loss,
        events={"closure": event(0.0)},
        closure=mask,
    )
    during = added["o"][:, 2:10]
    silenced = np.all(during == 0.0, axis=1)
    assert np.all(silenced | np.all(during == 2.0, axis=1))
    np.testing.assert_array_equal(added["o"][:, 10:], 2.0)
    assert abs(silenced.mean() - 0.5) < 4 * math.sqrt(0.25 / n)


def test_offsets_respond_in_order_to_what_is_left() -> None:
    net, added = offsets_of({"first": offset(1.0, 1.0, 0), "second": offset(10, 0.5, 0)}, LOSS)
    days = np.arange(21) >= 2
    np.testing.assert_allclose(added["first"][0], np.where(days, 1.0, 0.0))
    np.testing.assert_allclose(added["second"][0], np.where(days, 1.0, 0.0))  # half of 2 left
    np.testing.assert_allclose(net[0], np.where(days, -1.0, 0.0))


def test_offset_never_adds_more_than_is_missing() -> None:
    # A loss that ends: a lagged response must not outlast it.
    loss = np.where((np.arange(21) >= 2) & (np.arange(21) < 6), -3.0, 0.0)[None, :]
    net, added = offsets_of({"o": offset(10, 1.0, 3)}, loss)
    assert (added["o"] <= -loss + 1e-15).all()
    assert (net <= 1e-15).all()


# --------------------------------------------------------------------------- price


def test_supply_to_log_price_known_loss() -> None:
    out = supply_to_log_price(
        np.array([[0.0, -1.0]]), np.array([100.0]), np.array([0.015]), np.array([-0.26])
    )
    assert out[0, 0] == 0.0
    assert out[0, 1] == pytest.approx(-math.log(0.99) / 0.275, rel=1e-12)


def test_supply_to_log_price_is_exact_for_isoelastic_curves() -> None:
    # Supply S = D (1 + N/D) p^es meets demand D p^ed when ln p = -ln(1 + N/D) / (es - ed).
    net, demand, es, ed = 2.5, 104.0, 0.05, -0.25
    ln_p = supply_to_log_price(
        np.array([[net]]), np.array([demand]), np.array([es]), np.array([ed])
    )[0, 0]
    p = math.exp(ln_p)
    assert (demand + net) * p**es == pytest.approx(demand * p**ed, rel=1e-12)
    assert ln_p < 0


def test_supply_to_log_price_rejects_losing_almost_all_supply() -> None:
    with pytest.raises(RuntimeFailure, match="more than 95% of world supply"):
        supply_to_log_price(
            np.array([[-96.0]]), np.array([100.0]), np.array([0.05]), np.array([-0.25])
        )
    # A NaN on another path does not hide it.
    with pytest.raises(RuntimeFailure, match="more than 95% of world supply"):
        supply_to_log_price(
            np.array([[np.nan, 0.0], [-96.0, -1.0]]),
            np.array([100.0, 100.0]),
            np.array([0.05, 0.05]),
            np.array([-0.25, -0.25]),
        )
