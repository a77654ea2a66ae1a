"""Scenario events: whether and when each happens, and what it does to supply and prices.

An event is drawn per path in dependency order (:func:`simulator.scenario.event_order`):
it can happen only if every event it ``requires`` has happened and none it ``excludes``
has; it then happens with its ``probability``. Its day is ``timing`` trading days after
the as-of date, or after the latest required event, rounded up to a whole day (at least 1:
the as-of close is known).

Its effects, each a path of shape ``(n_paths, n_steps + 1)`` indexed by day:

* **supply** change in mb/d with a step, ramp or decay profile;
* **risk premium** in USD/bbl at the start, fading with a half-life (kept in log terms);
* **stressed regime** forced for a number of days;
* **risk-off** impulse for the risk assets, fading with a half-life.

Offsets (spare capacity, strategic stocks) then replace part of the net loss of barrels
after a lag, within a capacity (mb/d) and, for stocks, a volume (million bbl); an event can
impair an offset while it lasts (a closed strait strands the spare capacity behind it).
Net supply becomes price through constant short-run elasticities drawn per path:

.. math:: \\Delta \\ln P_t = -\\frac{\\ln(1 + N_t / D)}{\\varepsilon_s - \\varepsilon_d},

exact for isoelastic supply and demand curves, with :math:`N_t` the net supply change and
:math:`D` world demand, both mb/d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator import scenario as sc
from simulator.errors import RuntimeFailure
from simulator.streams import Streams

__all__ = [
    "CALENDAR_DAYS_PER_TRADING_DAY",
    "EventDraws",
    "EventOutcome",
    "apply_offsets",
    "draw_events",
    "supply_to_log_price",
]

CALENDAR_DAYS_PER_TRADING_DAY = 365.25 / 252
_LN2 = math.log(2.0)


@dataclass
class EventOutcome:
    """One event on every path of a block.

    Attributes
    ----------
    eligible
        Its conditions held, bool ``(n_paths,)``.
    occurred
        It happened (within or beyond the horizon), bool ``(n_paths,)``.
    day
        Start day, int ``(n_paths,)``; meaningful where ``occurred``.
    active
        Its supply effect is under way, bool ``(n_paths, n_steps + 1)``.
    """

    eligible: np.ndarray
    occurred: np.ndarray
    day: np.ndarray
    active: np.ndarray


@dataclass
class EventDraws:
    """All events of a block, summed by channel; arrays are ``(n_paths, n_steps + 1)``."""

    supply_mbd: np.ndarray
    premium_log: np.ndarray
    risk_off: np.ndarray
    forced_stress: np.ndarray  # bool (n_paths, n_steps): step t is forced stressed
    outcomes: dict[str, EventOutcome] = field(default_factory=dict)


def _decay(tau: np.ndarray, half_life: np.ndarray) -> np.ndarray:
    return np.exp(-_LN2 * tau / half_life[:, None])


def _supply_profile(
    spec: sc.SupplyEffect, rng: np.random.Generator, tau: np.ndarray, on: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Supply change (mb/d) and activity mask over ``tau`` = days since start."""
    n = tau.shape[0]
    change = spec.change.sample(rng, n)[:, None]
    profile = spec.profile
    if isinstance(profile, sc.DecayProfile):
        active = on
        shape = _decay(np.maximum(tau, 0.0), profile.half_life.sample(rng, n))
    else:
        if profile.duration is None:
            active = on
        else:
            duration = np.ceil(profile.duration.sample(rng, n))[:, None]
            active = on & (tau < duration)
        if isinstance(profile, sc.RampProfile):
            ramp = profile.ramp.sample(rng, n)[:, None]
            shape = np.minimum(1.0, (np.maximum(tau, 0.0) + 1.0) / ramp)
        else:
            shape = np.ones(tau.shape)
    return np.where(active, change * shape, 0.0), active


def draw_events(
    scenario: sc.Scenario, streams: Streams, n_paths: int, n_steps: int, spot: np.ndarray
) -> EventDraws:
    """Draw every event of ``scenario`` for one block of paths.

    Parameters
    ----------
    scenario
        The validated scenario.
    streams
        The block's random streams; event ``x`` draws from stream ``event.x`` only.
    n_paths, n_steps
        Block size and number of daily steps.
    spot
        As-of Brent price per path, USD/bbl, ``(n_paths,)``, to turn premia into logs.
    """
    shape = (n_paths, n_steps + 1)
    days = np.arange(n_steps + 1, dtype=np.float64)[None, :]
    out = EventDraws(
        supply_mbd=np.zeros(shape),
        premium_log=np.zeros(shape),
        risk_off=np.zeros(shape),
        forced_stress=np.zeros((n_paths, n_steps), dtype=bool),
    )
    order = sc.event_order(scenario.events) or []
    for name in order:
        spec = scenario.events[name]
        rng = streams.get(f"event.{name}")
        # Draw everything for every path, used or not, so a path's draws do not depend on
        # what other events did on it (keeps common random numbers aligned).
        p = spec.probability.sample(rng, n_paths)
        u = rng.random(n_paths)
        timing = spec.timing.sample(rng, n_paths)
        eligible = np.ones(n_paths, dtype=bool)
        base_day = np.zeros(n_paths)
        for req in spec.requires:
            eligible &= out.outcomes[req].occurred
            base_day = np.maximum(base_day, out.outcomes[req].day)
        for exc in spec.excludes:
            eligible &= ~out.outcomes[exc].occurred
        occurred = eligible & (u < p)
        day = np.maximum(1, np.ceil(base_day + timing)).astype(np.int64)
        day = np.where(occurred, day, n_steps + 10**6)
        tau = days - day[:, None]
        on = tau >= 0
        active = on
        if spec.supply is not None:
            change, active = _supply_profile(spec.supply, rng, tau, on)
            out.supply_mbd += change
        if spec.risk_premium is not None:
            size = spec.risk_premium.size.sample(rng, n_paths)
            half_life = spec.risk_premium.half_life.sample(rng, n_paths)
            ratio = 1.0 + size / spot
            if np.any(ratio <= 0.05):
                raise RuntimeFailure(
                    f"events.{name}.risk_premium.size: a draw of {size.min():g} USD/bbl would "
                    f"take Brent below 5% of its spot price; narrow the distribution"
                )
            log_size = np.log(ratio)[:, None]
            out.premium_log += np.where(on, log_size * _decay(np.maximum(tau, 0.0), half_life), 0.0)
        if spec.stressed_for is not None:
            length = np.ceil(spec.stressed_for.sample(rng, n_paths))[:, None]
            step_tau = tau[:, :-1] + 1.0  # step t ends on day t + 1
            out.forced_stress |= (step_tau >= 0) & (step_tau < length)
        if spec.risk_off is not None:
            size = spec.risk_off.size.sample(rng, n_paths)[:, None]
            half_life = spec.risk_off.half_life.sample(rng, n_paths)
            out.risk_off += np.where(on, size * _decay(np.maximum(tau, 0.0), half_life), 0.0)
        out.outcomes[name] = EventOutcome(eligible, occurred, day, active)
    return out


def apply_offsets(
    scenario: sc.Scenario, streams: Streams, events: EventDraws
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Net supply change after offsets respond to the loss of barrels.

    Offsets respond in file order, each to the loss the earlier ones left, ``lag`` days
    late, up to ``response_fraction`` of it and to its (possibly impaired) capacity; stocks
    stop when their ``volume`` is used up.

    Returns
    -------
    net
        Net supply change, mb/d, ``(n_paths, n_steps + 1)``.
    offsets
        Each offset's supply added, mb/d, same shape.
    """
    supply = events.supply_mbd
    n, width = supply.shape
    remaining = np.maximum(0.0, -supply)
    net = supply.copy()
    added: dict[str, np.ndarray] = {}
    days = np.arange(width)[None, :]
    for name, spec in scenario.offsets.items():
        rng = streams.get(f"offset.{name}")
        capacity = spec.capacity.sample(rng, n)[:, None] * np.ones((1, width))
        fraction = spec.response_fraction.sample(rng, n)[:, None]
        lag = np.ceil(spec.lag.sample(rng, n)).astype(np.int64)[:, None]
        volume = spec.volume.sample(rng, n) if spec.volume is not None else None
        for event, left in spec.impaired_by.items():
            capacity = np.where(events.outcomes[event].active, capacity * left, capacity)
        src = days - lag
        lagged = np.take_along_axis(remaining, np.maximum(src, 0), axis=1)
        lagged = np.where(src >= 0, lagged, 0.0)
        # Never more than the barrels still missing today, nor than capacity allows.
        response = np.minimum(np.minimum(capacity, fraction * lagged), remaining)
        if volume is not None:
            used = np.cumsum(response, axis=1) * CALENDAR_DAYS_PER_TRADING_DAY
            capped = np.minimum(used, volume[:, None])
            response = np.diff(capped, axis=1, prepend=0.0) / CALENDAR_DAYS_PER_TRADING_DAY
        remaining = remaining - response
        net += response
        added[name] = response
    return net, added


def supply_to_log_price(
    net_mbd: np.ndarray, demand_mbd: np.ndarray, supply_el: np.ndarray, demand_el: np.ndarray
) -> np.ndarray:
    """Log price impact of a net supply change, per path and day.

    Parameters
    ----------
    net_mbd
        Net supply change, mb/d, ``(n_paths, n_days)``.
    demand_mbd, supply_el, demand_el
        World demand (mb/d) and short-run elasticities, each ``(n_paths,)``.

    Returns
    -------
    ndarray
        :math:`-\\ln(1 + N/D) / (\\varepsilon_s - \\varepsilon_d)`, ``(n_paths, n_days)``.
    """
    share = net_mbd / demand_mbd[:, None]
    if np.any(share <= -0.95):
        raise RuntimeFailure(
            "events remove more than 95% of world supply on some path; "
            "check the events' supply.change against physical.world_demand"
        )
    return -np.log1p(share) / (supply_el - demand_el)[:, None]
