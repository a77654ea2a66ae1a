"""Kernels: in both forms (compiled with numba, and numpy) each equals a closed form or a
direct statement of its rule; the compiled form equals its plain-Python reference."""

from __future__ import annotations

import signal
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from simulator import kernels
from simulator.kernels import add_decaying, offset_response

FORMS = pytest.mark.parametrize("form", ["numba", "numpy"])


def _decay_formula(
    shape: tuple[int, int], rows: np.ndarray, amp: np.ndarray, start: np.ndarray, hl: np.ndarray
) -> np.ndarray:
    days = np.arange(shape[1])[None, :]
    tau = days - start[:, None]
    values = np.where(tau >= 0, amp[:, None] * 2.0 ** (-np.maximum(tau, 0) / hl[:, None]), 0.0)
    out = np.zeros(shape)
    np.add.at(out, rows, values)
    return out


@FORMS
@pytest.mark.parametrize("half_life", ["ordinary", "tiny"])
def test_add_decaying_matches_the_exponential_formula(half_life: str, form: str) -> None:
    """amplitude * 2^(-(t - start) / h) on t >= start, 0 before, summed over impulses that
    share a row; starts beyond the last day add nothing. With half-lives of 0.05 days the
    impulse reaches the 1e-300 cut-off within the horizon (dropped values are below it).
    Error: about t units in the last place of the amplitude after t days."""
    rng = np.random.default_rng(3)
    m, shape = 300, (120, 127)
    rows = rng.integers(0, shape[0], size=m)  # repeated rows: impulses add up
    start = rng.integers(0, shape[1] + 5, size=m)
    amp = rng.normal(size=m)
    hl = rng.uniform(0.5, 200.0, size=m) if half_life == "ordinary" else np.full(m, 0.05)
    got = np.zeros(shape)
    with kernels.compiled(form == "numba"):
        add_decaying(got, rows, amp, start, hl)
    # Relative to the amplitudes (|amp| < 5): impulses sharing a row can cancel.
    expected = _decay_formula(shape, rows, amp, start, hl)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def _offset_formula(
    remaining: np.ndarray,
    capacity: np.ndarray,
    fraction: np.ndarray,
    lag: np.ndarray,
    trigger: np.ndarray | None,
    volume: np.ndarray | None,
    c: float,
) -> np.ndarray:
    """The rule in numpy statements, path by path and day by day."""
    width = remaining.shape[1]
    t = np.arange(width)[None, :] - lag[:, None]
    lagged = np.where(t >= 0, np.take_along_axis(remaining, np.maximum(t, 0), axis=1), 0.0)
    if trigger is not None:
        lagged = np.where(lagged > trigger[:, None], lagged, 0.0)
    response = np.minimum(np.minimum(fraction[:, None] * lagged, capacity), remaining)
    if volume is not None:
        used = np.minimum(np.cumsum(response, axis=1) * c, volume[:, None])
        response = np.diff(used, axis=1, prepend=0.0) / c
    return response


@FORMS
@pytest.mark.parametrize("trigger", [False, True])
@pytest.mark.parametrize("volume", [False, True])
@pytest.mark.parametrize("by_day", [False, True])
def test_offset_response_matches_the_rule(
    trigger: bool, volume: bool, by_day: bool, form: str
) -> None:
    rng = np.random.default_rng(5)
    n, width = 80, 60
    remaining = np.maximum(rng.normal(0.5, 1.0, size=(n, width)), 0.0)
    capacity = rng.uniform(0.2, 1.5, size=(n, width if by_day else 1))
    fraction = rng.uniform(0.3, 1.0, size=n)
    lag = rng.integers(0, 70, size=n)
    trig = rng.uniform(0.0, 1.0, size=n) if trigger else None
    vol = rng.uniform(1.0, 30.0, size=n) if volume else None
    c = 365.25 / 252
    with kernels.compiled(form == "numba"):
        got = offset_response(remaining, capacity, fraction, lag, trig, vol, c)
    expected = _offset_formula(remaining, capacity, fraction, lag, trig, vol, c)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    if volume:
        assert np.all(got.sum(axis=1) * c <= vol * (1 + 1e-12))
        assert np.any(got.sum(axis=1) * c >= vol * (1 - 1e-12))  # some stock ran out


def test_compiled_kernels_equal_their_references() -> None:
    rng = np.random.default_rng(8)
    target = rng.normal(size=(20, 40))
    args = (
        rng.integers(0, 20, size=30),
        rng.normal(size=30),
        rng.integers(0, 45, size=30),
        rng.uniform(0.5, 50.0, size=30),
    )
    a, b = target.copy(), target.copy()
    with kernels.compiled():
        add_decaying(a, *args)
    kernels.reference_add_decaying(b, *args)
    np.testing.assert_array_equal(a, b)

    remaining = np.maximum(rng.normal(0.5, 1.0, size=(20, 40)), 0.0)
    inputs = (
        remaining,
        rng.uniform(0.2, 1.5, size=(20, 40)),
        rng.uniform(0.3, 1.0, size=20),
        rng.integers(0, 50, size=20),
        rng.uniform(0.0, 1.0, size=20),
        rng.uniform(1.0, 30.0, size=20),
        1.5,
    )
    out = np.empty_like(remaining)
    m = 2
    impaired = rng.random((m, 20, 40)) < 0.3
    left = rng.uniform(0.0, 1.0, size=(m, 20))
    net = rng.normal(size=(20, 40))
    net_ref, remaining_ref = net.copy(), remaining.copy()
    kernels.reference_offset_response(
        remaining_ref, inputs[1], impaired, left, *inputs[2:], out, net_ref
    )
    pairs = list(zip(impaired, left, strict=True))
    with kernels.compiled():
        np.testing.assert_array_equal(offset_response(*inputs, pairs, net), out)
    np.testing.assert_array_equal(net, net_ref)
    np.testing.assert_array_equal(remaining, remaining_ref)


@FORMS
@pytest.mark.parametrize("volume", [False, True])
def test_offset_response_impaired_and_in_place_is_the_steps_in_turn(
    volume: bool, form: str
) -> None:
    """Impairments and the in-place update give bit for bit what the separate numpy steps
    give: the capacity times each share on its days, in turn; then ``remaining`` less the
    response and ``net`` plus it. The lagged loss is the loss before this offset (lag 0
    included), though ``remaining`` is updated in the same pass."""
    rng = np.random.default_rng(12)
    n, width = 60, 50
    remaining = np.maximum(rng.normal(0.5, 1.0, size=(n, width)), 0.0)
    capacity = rng.uniform(0.2, 1.5, size=(n, 1))
    fraction = rng.uniform(0.3, 1.0, size=n)
    lag = rng.integers(0, 4, size=n)
    vol = rng.uniform(1.0, 30.0, size=n) if volume else None
    pairs = [(rng.random((n, width)) < 0.4, rng.uniform(0.0, 1.0, size=n)) for _ in range(2)]
    net = rng.normal(size=(n, width))
    c = 365.25 / 252
    with kernels.compiled(form == "numba"):
        cap = capacity
        for days, share in pairs:
            cap = np.where(days, cap * share[:, None], cap)
        expected = offset_response(remaining, cap, fraction, lag, None, vol, c)
        got_remaining, got_net = remaining.copy(), net.copy()
        got = offset_response(got_remaining, capacity, fraction, lag, None, vol, c, pairs, got_net)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_remaining, remaining - expected)
    np.testing.assert_array_equal(got_net, net + expected)
    assert np.any(got != offset_response(remaining, capacity, fraction, lag, None, vol, c))
    with pytest.raises(ValueError, match="remaining and net must be C-contiguous float64"):
        offset_response(remaining, capacity, fraction, lag, None, vol, c, pairs, net[:, ::2])
    with pytest.raises(ValueError, match="remaining and net must not share memory"):
        offset_response(got_remaining, capacity, fraction, lag, None, vol, c, pairs, got_remaining)
    with pytest.raises(ValueError, match=r"impaired_by needs days \(60, 50\) and shares"):
        offset_response(remaining, capacity, fraction, lag, None, vol, c, [(pairs[0][0][0], 1.0)])


def _asset_inputs(seed: int, k: int = 4) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    n, t = 30, 25
    weights = np.tril(rng.normal(size=(k, k)))
    return (
        rng.normal(size=(n, k, t)),
        weights,
        np.resize([1.0, 1.3, 1.0, 0.8], k),
        rng.random((n, t)) < 0.3,
        rng.normal(size=(n, t)),
        np.cumsum(rng.normal(size=(n, t + 1)), axis=1),
        np.cumsum(rng.normal(size=(n, t + 1)), axis=1),
        rng.normal(size=(k, 3)),
        rng.normal(size=k) * 0.01,
        np.cumsum(rng.normal(size=(n, t + 1)), axis=1),
    )


def _combined_by_definition(
    inputs: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Moves = weights @ noise (times boost on stressed days) + loadings x (ordinary shock,
    change of the event component, change of risk-off) + drift, from the definition:
    the moves, Brent's and the assets' daily moves as rows, and each path's sums and sums
    of products (``path_sums`` order)."""
    noise, weights, boost, stressed, ordinary, event, risk, loads, drift, oil = inputs
    k = weights.shape[0]
    residual = np.einsum("ab,nbt->ant", weights, noise)
    residual = np.where(stressed[None], residual * boost[:, None, None], residual)
    moves = (
        residual
        + loads[:, 0, None, None] * ordinary[None]
        + loads[:, 1, None, None] * np.diff(event, axis=1)[None]
        + loads[:, 2, None, None] * np.diff(risk, axis=1)[None]
        + drift[:, None, None]
    )
    rows = np.vstack([np.diff(oil, axis=1).ravel(), moves.reshape(k, -1)])
    series = np.concatenate([np.diff(oil, axis=1)[None], moves])  # (k + 1, n, t)
    a, b = np.triu_indices(k + 1)
    per_path = np.hstack([series.sum(axis=2).T, (series[a] * series[b]).sum(axis=2).T])
    return moves, rows, per_path, np.stack([a, b])


def _check_combined(
    got: tuple[np.ndarray, ...], inputs: tuple[np.ndarray, ...], rtol: float = 1e-12
) -> None:
    paths, total, cross, extreme, sums = got
    moves, rows, per_path, (a, b) = _combined_by_definition(inputs)
    k = moves.shape[0]
    np.testing.assert_allclose(sums, per_path, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(sums.sum(axis=0)[: k + 1], total, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(sums.sum(axis=0)[k + 1 :], cross[a, b], rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(paths[:, :, 1:], np.cumsum(moves, axis=2), rtol=rtol, atol=1e-12)
    np.testing.assert_array_equal(paths[:, :, 0], 0.0)
    np.testing.assert_allclose(total, rows.sum(axis=1), rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(cross, rows @ rows.T, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(extreme, np.abs(paths).max(axis=(1, 2)), rtol=1e-15)


def test_combine_assets_follows_the_definition() -> None:
    """Paths are the running sums of the moves; the cross moments are those of [Brent's
    daily log move, moves]; a factor given separately is the same bit for bit as shocks
    multiplied by it first; a NaN path is flagged."""
    inputs = _asset_inputs(12)
    _check_combined(kernels.combine_assets(*inputs), inputs)
    factor = np.random.default_rng(3).uniform(0.5, 2.0, size=inputs[3].shape)
    premixed = (inputs[0] * factor[:, None, :], *inputs[1:])
    for got, want in zip(
        kernels.combine_assets(*inputs, factor), kernels.combine_assets(*premixed), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    inputs[0][3, 1, 4] = np.nan
    assert kernels.combine_assets(*inputs)[3][1] == np.inf
    with pytest.raises(ValueError, match=r"factor must be \(30, 25\)"):
        kernels.combine_assets(*inputs, factor[:, 1:])


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9])
def test_combine_assets_drawn_forms_draw_the_same_shocks(k: int) -> None:
    """Compiled on SFC64 (one pass, the shocks drawn path by path into cache) or not, the
    drawn combination uses the normals ``noise_rng.standard_normal((n, k, t))`` and the
    mixing factors of ``t_factors(mixing_rng, df, t, scale)`` (scale ``stress_scale`` on
    stressed days), follows the definition on them, and leaves both generators where
    those draws leave them. The compiled form advances its running sums four at a time:
    any k, a multiple of four or not, gives the same results to rounding."""
    inputs = _asset_inputs(k, k)
    noise, rest = inputs[0], inputs[1:]
    n, _, t = noise.shape
    stressed = rest[2]
    df = np.random.default_rng(k).uniform(2.5, 30.0, size=n)
    expected_noise = np.random.Generator(np.random.SFC64(1)).standard_normal((n, k, t))
    expected_rngs = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
    expected_rngs[0].standard_normal((n, k, t))
    gammas = expected_rngs[1].standard_gamma(np.broadcast_to(df[:, None] / 2.0, (n, t)))
    factor = np.sqrt(((df - 2.0) / 2.0)[:, None] / gammas) * np.where(stressed, 1.4, 1.0)
    shocks = expected_noise * factor[:, None, :]
    after = [rng.random(5) for rng in expected_rngs]
    results = {}
    for form in ("numba", "numpy"):
        rngs = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
        with kernels.compiled(form == "numba"):
            results[form] = kernels.combine_assets_drawn(*rngs, df, 1.4, *rest)
        _check_combined(results[form], (shocks, *rest), rtol=1e-11)
        for rng, expected in zip(rngs, after, strict=True):
            np.testing.assert_array_equal(rng.random(5), expected)
    for got, want in zip(results["numba"], results["numpy"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)
    rngs = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
    with pytest.raises(ValueError, match=r"df must be \(30,\), each above 2"):
        kernels.combine_assets_drawn(*rngs, np.full(n, 2.0), 1.4, *rest)


def test_combine_assets_drawn_flags_a_nan_path() -> None:
    """A NaN in a driver (here the event component, on one path) makes every asset that
    loads on it report an infinite extreme, in both forms."""
    inputs = _asset_inputs(5)
    rest = list(inputs[1:])
    rest[4] = rest[4].copy()
    rest[4][7, 3] = np.nan
    loads_on_event = np.abs(inputs[7][:, 1]) > 0
    assert loads_on_event.any()
    for form in ("numba", "numpy"):
        rngs = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
        with kernels.compiled(form == "numba"):
            extreme = kernels.combine_assets_drawn(*rngs, np.full(30, 5.0), 1.0, *rest)[3]
        assert np.all(extreme[loads_on_event] == np.inf)


def test_combine_assets_drawn_compiled_draws_numpys_numbers_bit_for_bit() -> None:
    """With one asset, unit weight and no loadings the compiled path is the running sum of
    the shocks themselves: numpy's normals times sqrt(((df - 2) / 2) / G) with numpy's
    gammas G (times the stress scale on stressed days), bit for bit. Low degrees of
    freedom take the gamma method's every branch (squeeze, log test, rejection) in 24,000
    draws; the generators end where numpy's do."""
    n, t = 6000, 4
    setup = np.random.default_rng(4)
    df = setup.uniform(2.05, 4.0, size=n)
    stressed = setup.random((n, t)) < 0.3
    zeros = np.zeros((n, t + 1))
    expected = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
    z = expected[0].standard_normal((n, 1, t))[:, 0]
    gammas = expected[1].standard_gamma(np.broadcast_to(df[:, None] / 2.0, (n, t)))
    shocks = z * (np.sqrt(((df - 2.0) / 2.0)[:, None] / gammas) * np.where(stressed, 1.4, 1.0))
    rngs = np.random.Generator(np.random.SFC64(1)), np.random.Generator(np.random.SFC64(2))
    with kernels.compiled():
        paths = kernels.combine_assets_drawn(
            *rngs,
            df,
            1.4,
            np.ones((1, 1)),
            np.ones(1),
            stressed,
            np.zeros((n, t)),
            zeros,
            zeros,
            np.zeros((1, 3)),
            np.zeros(1),
            zeros,
        )[0]
    np.testing.assert_array_equal(paths[0, :, 1:], np.cumsum(shocks, axis=1))
    for rng, done in zip(rngs, expected, strict=True):
        np.testing.assert_array_equal(rng.random(3), done.random(3))


@pytest.mark.parametrize("days", [[0, 3, 7, 25], [25], list(range(26))])
def test_histogram_days_forms_count_the_same(days: list[int]) -> None:
    rng = np.random.default_rng(13)
    x = np.cumsum(rng.normal(scale=0.4, size=(300, 26)), axis=1)
    x[0, 25] = 9.0  # beyond the grid: the overflow cell
    got = []
    for form in ("numba", "numpy"):
        with kernels.compiled(form == "numba"):
            got.append(kernels.histogram_days(x, np.array(days), 4.0, 0.001, 8000))
    (ca, fa, la, ha), (cb, fb, lb, hb) = got
    assert fa == fb
    np.testing.assert_array_equal(ca, cb)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(ha, hb)
    assert ca.sum() == 300 * len(days)


def test_oil_paths_forms_follow_the_recursion() -> None:
    """Both forms equal the recursion written out in Python (the reference, run
    uncompiled): s' = phi s + z0 m sd + J, l' = l + (rho z0 + sqrt(1 - rho^2) z1) m sdl + mu,
    log P = s + l + premium + supply + log spot; extremes are those of log P."""
    rng = np.random.default_rng(17)
    n, t = 40, 30
    args = (
        rng.normal(size=(2, n, t)),
        rng.uniform(-0.5, 0.9, size=n),
        np.where(rng.random((n, t)) < 0.2, 1.8, 1.0),
        np.where(rng.random((n, t)) < 0.05, rng.normal(0, 0.05, size=(n, t)), 0.0),
        rng.uniform(0.01, 0.03, size=n),
        rng.uniform(0.9, 0.999, size=n),
        rng.uniform(0.005, 0.02, size=n),
        rng.normal(0, 1e-4, size=n),
        np.cumsum(rng.normal(0, 0.01, size=(n, t + 1)), axis=1),
        np.cumsum(rng.normal(0, 0.01, size=(n, t + 1)), axis=1),
        np.log(rng.uniform(50, 100, size=n)),
    )
    expected = (np.empty((n, t + 1)), np.empty((n, t + 1)), np.empty((n, t)), np.empty(2))
    kernels.reference_oil_paths(*args, np.zeros((0, 0)), *expected)
    factor = rng.uniform(0.5, 2.0, size=(n, t))
    premixed = (args[0] * factor, *args[1:])
    for form in ("numba", "numpy"):
        with kernels.compiled(form == "numba"):
            log_price, ordinary, shock, low, high = kernels.oil_paths(*args)
            # A factor given separately is the same, bit for bit, as shocks premultiplied.
            mixed = kernels.oil_paths(*args, factor)
            for got, want in zip(mixed, kernels.oil_paths(*premixed), strict=True):
                np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(log_price, expected[0], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(ordinary, expected[1], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(shock, expected[2], rtol=1e-14, atol=1e-14)
        assert (low, high) == (expected[3][0], expected[3][1])
        assert (low, high) == (log_price.min(), log_price.max())
    with pytest.raises(ValueError, match=r"factor must be \(40, 30\) for 40 paths of 30 steps"):
        kernels.oil_paths(*args, factor[:, 1:])


def test_an_interruption_inside_compiled_code_surfaces_as_keyboard_interrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signal handler that raises while compiled code runs makes CPython report
    "returned a result with an exception set" (a SystemError caused by the interruption):
    the kernel re-raises the KeyboardInterrupt itself, so the CLI reports "Interrupted"
    (exit 130) rather than an internal error. Other SystemErrors pass through."""
    from types import SimpleNamespace

    def interrupted(*args: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("returned a result with an exception set") from exc

    def broken(*args: object) -> None:
        raise SystemError("something else")

    monkeypatch.setattr(kernels, "_compiled", lambda: SimpleNamespace(add_decaying=interrupted))
    one = np.ones(1)
    with kernels.compiled(), pytest.raises(KeyboardInterrupt):
        add_decaying(np.zeros((1, 2)), np.zeros(1, np.int64), one, np.zeros(1, np.int64), one)
    monkeypatch.setattr(kernels, "_compiled", lambda: SimpleNamespace(add_decaying=broken))
    with kernels.compiled(), pytest.raises(SystemError, match="something else"):
        add_decaying(np.zeros((1, 2)), np.zeros(1, np.int64), one, np.zeros(1, np.int64), one)


def test_ou_paths_forms_equal_the_closed_form() -> None:
    """x_t = sum_{s < t} phi^(t - 1 - s) e_s, per path, in both forms."""
    rng = np.random.default_rng(19)
    drive = rng.normal(size=(15, 40))
    phi = rng.uniform(0.5, 1.0, size=15)
    t = np.arange(41)[:, None]
    s = np.arange(40)[None, :]
    for form in ("numba", "numpy"):
        with kernels.compiled(form == "numba"):
            got = kernels.ou_paths(drive, np.ones(15), phi)  # unit sd: an AR(1) on drive
        for i in range(15):
            weights = np.where(s < t, phi[i] ** np.maximum(t - 1 - s, 0), 0.0)
            np.testing.assert_allclose(got[i], weights @ drive[i], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("profile", [None, "step", "ramp", "decay"])
@pytest.mark.parametrize("ends", [False, True])
def test_event_effects_forms_agree_with_the_profiles(profile: str | None, ends: bool) -> None:
    """Both forms mark active days start <= t < until and forced-stress steps
    start - 1 <= t < start - 1 + length, and add the profile to the supply already there:
    step (the change while active), ramp (min(1, (t - start + 1) / 7) of it while active),
    decay (halving every 7 days from the start on, whatever ``until``)."""
    rng = np.random.default_rng(23)
    n, width, m = 60, 50, 40
    rows = np.sort(rng.choice(n, size=m, replace=False))
    start = rng.integers(1, width + 3, size=m)
    until = start + rng.uniform(0, 30, size=m) if ends else None
    change = rng.normal(size=m)
    base = rng.normal(size=(n, width))
    days = np.arange(width)[None, :]
    on = (days >= start[:, None]) & (days < (np.inf if until is None else until[:, None]))
    past = np.maximum(days - start[:, None], 0)
    expected = base.copy()
    if profile == "step":
        expected[rows] += np.where(on, change[:, None], 0.0)
    elif profile == "ramp":
        expected[rows] += np.where(on, change[:, None] * np.minimum(1.0, (past + 1) / 7.0), 0.0)
    elif profile == "decay":
        expected[rows] += np.where(
            days >= start[:, None], change[:, None] * 2.0 ** (-past / 7.0), 0.0
        )
    steps = days[:, :-1]
    stress = (steps >= start[:, None] - 1) & (steps < start[:, None] - 1 + 5)
    for form in ("numba", "numpy"):
        supply = base.copy()
        active = np.zeros((n, width), bool)
        forced = np.zeros((n, width - 1), bool)
        with kernels.compiled(form == "numba"):
            kernels.event_effects(
                rows,
                start,
                supply,
                active,
                forced,
                profile=profile,
                change=change if profile else None,
                until=until,
                shape=np.full(m, 7.0) if profile in ("ramp", "decay") else None,
                stress_length=np.full(m, 5.0),
            )
        np.testing.assert_allclose(supply, expected, rtol=1e-13, atol=1e-14)
        np.testing.assert_array_equal(active[rows], on)
        np.testing.assert_array_equal(np.delete(active, rows, axis=0), False)
        np.testing.assert_array_equal(forced[rows], stress)


@pytest.mark.parametrize("bit_generator", [np.random.SFC64, np.random.PCG64])
def test_standard_normal_forms_give_numpys_numbers(bit_generator: type) -> None:
    """Compiled or not, the fill is numpy's own standard_normal, bit for bit, and leaves the
    generator where numpy's fill would (the next draws of any kind agree too). 2.1 million
    draws reach the ziggurat's tail branch (|x| > 3.654) hundreds of times."""
    shape = (3, 1000, 700)
    expected_rng = np.random.Generator(bit_generator(5))
    expected = expected_rng.standard_normal(shape)
    after = expected_rng.standard_gamma(2.5, size=100)
    for on in (False, True):
        rng = np.random.Generator(bit_generator(5))
        out = np.empty(shape)
        with kernels.compiled(on):
            kernels.standard_normal(rng, out)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(rng.standard_gamma(2.5, size=100), after)
    assert np.count_nonzero(np.abs(expected) > 3.6541528853610088) > 100
    with pytest.raises(ValueError, match="out must be a C-contiguous float64 array"):
        kernels.standard_normal(np.random.Generator(bit_generator(5)), np.empty((4, 6))[:, ::2])


@pytest.mark.parametrize("bit_generator", [np.random.SFC64, np.random.PCG64])
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("df_kind", ["one df", "df per path"])
def test_t_factors_and_mixing_forms_draw_numpys_gammas_bit_for_bit(
    bit_generator: type, scaled: bool, df_kind: str
) -> None:
    """Both forms draw ``rng.standard_gamma(df / 2)`` per path and step (the compiled one
    runs numpy's method on the same bit generator) and give ``z * sqrt(((df - 2) / 2) / G)
    * scale`` bit for bit, leaving the generator where numpy leaves it. With df per path
    (2.1 to 60) the 100,000 draws take the method's every branch: about 8,000 pass the
    log test, about 400 are rejected and a few redraw a normal with ``1 + c x <= 0``."""
    k, n, m = 3, 2000, 50
    setup = np.random.default_rng(11)
    z = setup.normal(size=(k, n, m))
    df = np.full(n, 5.0) if df_kind == "one df" else setup.uniform(2.1, 60.0, size=n)
    scale = setup.uniform(1.0, 2.0, size=(n, m)) if scaled else None
    expected_rng = np.random.Generator(bit_generator(3))
    gamma = expected_rng.standard_gamma(np.broadcast_to(df[:, None] / 2.0, (n, m)))
    after = expected_rng.random(10)
    factor = np.sqrt(((df - 2.0) / 2.0)[:, None] / gamma) * (scale if scaled else 1.0)
    for on in (False, True):
        rng = np.random.Generator(bit_generator(3))
        out = z.copy()
        with kernels.compiled(on):
            kernels.t_mixing(rng, out, df, scale)
        np.testing.assert_array_equal(out, z * factor[None])
        np.testing.assert_array_equal(rng.random(10), after)
        rng = np.random.Generator(bit_generator(3))
        with kernels.compiled(on):
            factors = kernels.t_factors(rng, df, m, scale)
        np.testing.assert_array_equal(factors, factor)
        np.testing.assert_array_equal(rng.random(10), after)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"df must be \(2000,\) for out of \(3, 2000, 50\)"):
        kernels.t_mixing(rng, z.copy(), df[:-1], scale)
    with pytest.raises(ValueError, match="df must be one value per path, each above 2"):
        kernels.t_mixing(rng, z.copy(), np.full(n, 2.0), scale)
    with pytest.raises(ValueError, match=r"scale must be \(2000, 50\) for 2000 paths of 50"):
        kernels.t_mixing(rng, z.copy(), df, np.ones((n, m - 1)))


@pytest.mark.parametrize("settling", [False, True])
def test_markov_regimes_forms_agree_and_follow_the_rules(settling: bool) -> None:
    """Both forms give the same chains; forced days are stressed; a settle day is calm
    unless forced, and a settle held up by forced stress lands on the first free day;
    otherwise each day moves by the chain's rule on that day's uniform."""
    rng = np.random.default_rng(8)
    n_steps, n = 60, 500
    u = rng.random((n_steps, n))
    initial, p, q = rng.random(n), rng.uniform(0, 0.2, n), rng.uniform(0.05, 0.5, n)
    hold = rng.random((n_steps, n)) < 0.1
    settle = rng.random((n_steps, n)) < 0.05 if settling else None
    forms = {}
    for on in (False, True):
        with kernels.compiled(on):
            forms[on] = kernels.markov_regimes(u, initial, p, q, hold, settle)
    np.testing.assert_array_equal(forms[True], forms[False])
    out = forms[True]
    assert out[hold].all()
    expected = np.empty_like(out)
    for i in range(n):
        state, pending = u[0, i] < initial[i], False
        for t in range(n_steps):
            if t > 0:
                state = u[t, i] >= q[i] if state else u[t, i] < p[i]
            if settle is not None:
                pending = pending or settle[t, i]
                state = state and not pending
                pending = pending and hold[t, i]
            expected[t, i] = state = state or hold[t, i]
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match=r"initial, p and q must be \(500,\) and hold \(60, 500\)"):
        kernels.markov_regimes(u, initial[1:], p, q, hold, settle)


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="signal.raise_signal")
def test_ctrl_c_inside_a_compiled_draw_is_delivered_as_it_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """numba unboxes a Generator by calling Python code, where a raising handler leaves it
    with unset pointers (a crash). A stand-in kernel sends itself SIGINT, then runs
    bytecode as that Python code does: in a kernel that takes a generator the handler
    only runs once the kernel has returned; in the others at once. (A PCG64 generator:
    an SFC64 one reaches its kernels as a plain state array, see simulator.drawing_kernels.)"""
    ran: list[str] = []

    def drawing(*args: Any) -> None:
        signal.raise_signal(signal.SIGINT)
        ran.append("drawing went on")

    def other(*args: Any) -> None:
        signal.raise_signal(signal.SIGINT)
        ran.append("other went on")

    fake = SimpleNamespace(standard_normal=drawing, t_factors=drawing, add_decaying=other)
    monkeypatch.setattr(kernels, "_compiled", lambda: fake)
    original = signal.getsignal(signal.SIGINT)
    rng = np.random.Generator(np.random.PCG64(0))
    with kernels.compiled():
        with pytest.raises(KeyboardInterrupt):
            kernels.standard_normal(rng, np.empty(3))
        with pytest.raises(KeyboardInterrupt):
            kernels.t_factors(rng, np.full(2, 5.0), 3)
        with pytest.raises(KeyboardInterrupt):
            add_decaying(
                np.zeros((1, 2)),
                np.zeros(1, np.int64),
                np.ones(1),
                np.zeros(1, np.int64),
                np.ones(1),
            )
    assert ran == ["drawing went on", "drawing went on"]
    assert signal.getsignal(signal.SIGINT) is original
