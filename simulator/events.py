"""Scenario events: whether and when each happens, and what it does to supply and prices.

An event is drawn per path in dependency order (:func:`simulator.scenario.event_order`):
it can happen only if every event it ``requires`` has happened and no event it
``excludes`` has happened by its own day; it then happens with its ``probability``. Its
day is ``timing`` trading days after the as-of date, or after the latest required event,
rounded up to a whole day (at least 1: the as-of close is known).

Its effects, each a path of shape ``(n_paths, n_steps + 1)`` indexed by day:

* **supply** change in mb/d with a step, ramp or decay profile;
* **risk premium** in USD/bbl at the start, fading with a half-life (kept in log terms);
* **stressed regime** forced for a number of days, or ended on the event's day with a
  probability (a deal that settles the market);
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
from simulator.errors import SimulationFailure
from simulator.kernels import add_decaying, event_effects, offset_response
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
#: A decaying supply change is "active" (e.g. for impairing offsets) for this many
#: half-lives, until it is down to 5% of its initial size.
DECAY_ACTIVE_HALF_LIVES = math.log2(20.0)


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
    forced_calm: np.ndarray  # bool (n_paths, n_steps): the chain is set calm at step t
    outcomes: dict[str, EventOutcome] = field(default_factory=dict)


@dataclass
class _EffectDraws:
    """Per-path draws of an event's effect sizes, made for every path in a fixed order."""

    change: np.ndarray | None = None
    duration: np.ndarray | None = None
    ramp: np.ndarray | None = None
    half_life: np.ndarray | None = None
    premium: np.ndarray = field(default_factory=lambda: np.zeros(0))
    premium_half_life: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stressed_for: np.ndarray = field(default_factory=lambda: np.zeros(0))
    risk_off: np.ndarray = field(default_factory=lambda: np.zeros(0))
    risk_off_half_life: np.ndarray = field(default_factory=lambda: np.zeros(0))
    calms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def draw(cls, spec: sc.Event, rng: np.random.Generator, n: int) -> _EffectDraws:
        out = cls()
        if spec.supply is not None:
            out.change = spec.supply.change.sample(rng, n)
            profile = spec.supply.profile
            if isinstance(profile, sc.DecayProfile):
                out.half_life = profile.half_life.sample(rng, n)
            else:
                if isinstance(profile, sc.RampProfile):
                    out.ramp = profile.ramp.sample(rng, n)
                if profile.duration is not None:
                    out.duration = np.ceil(profile.duration.sample(rng, n))
        if spec.risk_premium is not None:
            out.premium = spec.risk_premium.size.sample(rng, n)
            out.premium_half_life = spec.risk_premium.half_life.sample(rng, n)
        if spec.stressed_for is not None:
            out.stressed_for = np.ceil(spec.stressed_for.sample(rng, n))
        if spec.risk_off is not None:
            out.risk_off = spec.risk_off.size.sample(rng, n)
            out.risk_off_half_life = spec.risk_off.half_life.sample(rng, n)
        if spec.ends_stress is not None:  # drawn last: adding it leaves the other draws alone
            p = spec.ends_stress.sample(rng, n)
            out.calms = rng.random(n) < p
        return out


def _effects(
    spec: sc.Event,
    draws: _EffectDraws,
    hit: np.ndarray,
    start: np.ndarray,
    out: EventDraws,
    active: np.ndarray,
) -> None:
    """Supply change, activity and forced stress of one event on the ``hit`` paths."""
    profile, change, until, shape = None, None, None, None
    if spec.supply is not None:
        assert draws.change is not None
        change = draws.change[hit]
        if draws.half_life is not None:
            # A decaying change counts as under way until it is down to 5% of its size.
            profile, shape = "decay", draws.half_life[hit]
            until = start + shape * DECAY_ACTIVE_HALF_LIVES
        else:
            profile = "step"
            if draws.duration is not None:
                until = start + draws.duration[hit]
            if draws.ramp is not None:
                profile, shape = "ramp", draws.ramp[hit]
    event_effects(
        hit,
        start,
        out.supply_mbd,
        active,
        out.forced_stress,
        profile=profile,
        change=change,
        until=until,
        shape=shape,
        stress_length=None if spec.stressed_for is None else draws.stressed_for[hit],
    )


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
    out = EventDraws(
        supply_mbd=np.zeros(shape),
        premium_log=np.zeros(shape),
        risk_off=np.zeros(shape),
        forced_stress=np.zeros((n_paths, n_steps), dtype=bool),
        forced_calm=np.zeros((n_paths, n_steps), dtype=bool),
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
        day = np.maximum(1, np.ceil(base_day + timing)).astype(np.int64)
        for exc in spec.excludes:
            # Ruled out by an excluded event that has happened by this event's day.
            other = out.outcomes[exc]
            eligible &= ~(other.occurred & (other.day <= day))
        occurred = eligible & (u < p)
        day = np.where(occurred, day, n_steps + 10**6)
        # Effects are computed only on the paths where the event starts within the horizon;
        # the draws above were made for every path.
        hit = np.flatnonzero(day <= n_steps)
        active = np.zeros(shape, dtype=bool)
        draws = _EffectDraws.draw(spec, rng, n_paths)
        if hit.size:
            start = day[hit]
            _effects(spec, draws, hit, start, out, active)
            if spec.ends_stress is not None:
                # Calm from the move into the event's day, as stress starts with it.
                calmed = draws.calms[hit]
                out.forced_calm[hit[calmed], start[calmed] - 1] = True
            if spec.risk_premium is not None:
                ratio = 1.0 + draws.premium[hit] / spot[hit]
                if np.any(ratio <= 0.05):
                    raise SimulationFailure(
                        f"events.{name}.risk_premium.size: a draw of "
                        f"{draws.premium[hit].min():g} USD/bbl would take Brent below 5% of "
                        "its spot price; narrow the distribution"
                    )
                add_decaying(
                    out.premium_log, hit, np.log(ratio), start, draws.premium_half_life[hit]
                )
            if spec.risk_off is not None:
                add_decaying(
                    out.risk_off, hit, draws.risk_off[hit], start, draws.risk_off_half_life[hit]
                )
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
    n = supply.shape[0]
    remaining = np.negative(supply, dtype=np.float64)
    np.maximum(0.0, remaining, out=remaining)
    net = np.array(supply, dtype=np.float64)
    added: dict[str, np.ndarray] = {}
    if not remaining.any():
        # No barrels lost on any path: offsets have nothing to answer (and draw nothing).
        return net, {name: np.zeros_like(net) for name in scenario.offsets}
    for name, spec in scenario.offsets.items():
        rng = streams.get(f"offset.{name}")
        capacity = spec.capacity.sample(rng, n)[:, None]
        fraction = spec.response_fraction.sample(rng, n)
        lag = np.ceil(spec.lag.sample(rng, n)).astype(np.int64)
        volume = spec.volume.sample(rng, n) if spec.volume is not None else None
        trigger = spec.trigger.sample(rng, n) if spec.trigger is not None else None
        # Drawn after the offset's other parameters, so adding one changes none of them.
        impaired_by = [
            (events.outcomes[event].active, share.sample(rng, n))
            for event, share in spec.impaired_by.items()
        ]
        # Never more than the barrels still missing today, nor than capacity allows;
        # ``remaining`` and ``net`` are updated in the same pass.
        added[name] = offset_response(
            remaining,
            capacity,
            fraction,
            lag,
            trigger,
            volume,
            CALENDAR_DAYS_PER_TRADING_DAY,
            impaired_by,
            net,
        )
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
    # The smallest share, NaN ignored (as any(share <= -0.95) ignores it), in one pass.
    if share.size and np.fmin.reduce(share, axis=None) <= -0.95:
        raise SimulationFailure(
            "events remove more than 95% of world supply on some path; "
            "check the events' supply.change against physical.world_demand"
        )
    # In place, one array: -log1p(s) / d is log1p(s) / -d bit for bit.
    np.log1p(share, out=share)
    share /= (demand_el - supply_el)[:, None]
    return share
