"""Oil processes: closed-form moments within 4 standard errors, and fast paths vs loops.

Every statistical check uses a fixed seed and a tolerance of four Monte Carlo standard
errors computed from the theoretical law (or, where stated, from the sample).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario, q
from scipy.special import gammaln

from simulator import kernels, processes
from simulator import scenario as sc
from simulator.engine import simulate_oil
from simulator.processes import (
    DAYS_PER_YEAR,
    JUMP_TRUNCATION,
    LongTermFactor,
    MarkovRegimes,
    NoJumps,
    NoRegimes,
    NormalInnovations,
    PoissonJumps,
    ShortTermFactor,
    StudentTInnovations,
)
from simulator.quantities import Fixed
from simulator.streams import Streams


def close(estimate: float, expected: float, se: float) -> bool:
    return abs(estimate - expected) < 4 * se


def var_se_normal(var: float, n: int) -> float:
    """Standard error of a sample variance of ``n`` normal draws."""
    return var * math.sqrt(2.0 / (n - 1))


def unit_jumps(size: float = 1.0) -> Fixed:
    return Fixed(value=size, unit="log return", rationale="count the jumps")


# --------------------------------------------------------------------------- short-term factor


@pytest.mark.parametrize(("half_life", "vol", "mult"), [(10.0, 0.3, 1.0), (60.0, 0.24, 1.8)])
def test_short_term_conditional_moments(half_life: float, vol: float, mult: float) -> None:
    n, steps = 20_000, 40
    rng = np.random.default_rng(101)
    f = ShortTermFactor(np.full(n, half_life), np.full(n, vol))
    x = f.path(rng.standard_normal((n, steps)), np.full((n, steps), mult), np.zeros((n, steps)))
    assert x.shape == (n, steps + 1)
    np.testing.assert_array_equal(x[:, 0], 0.0)
    kappa = math.log(2) * DAYS_PER_YEAR / half_life
    phi = 2 ** (-1 / half_life)
    for t in (1, 10, steps):
        var = (mult * vol) ** 2 * (1 - phi ** (2 * t)) / (2 * kappa)
        assert close(x[:, t].mean(), 0.0, math.sqrt(var / n))
        assert close(x[:, t].var(ddof=1), var, var_se_normal(var, n))


def test_short_term_phi_and_step_sd() -> None:
    f = ShortTermFactor(np.array([1.0, 20.0]), np.array([0.2, 0.5]))
    np.testing.assert_allclose(f.phi, [0.5, 2 ** (-1 / 20)], rtol=1e-15)
    kappa = math.log(2) * DAYS_PER_YEAR / np.array([1.0, 20.0])
    expected = np.array([0.2, 0.5]) * np.sqrt((1 - f.phi**2) / (2 * kappa))
    np.testing.assert_allclose(f.step_sd, expected, rtol=1e-12)


def test_short_term_jumps_fade_with_the_factor() -> None:
    f = ShortTermFactor(np.array([5.0]), np.array([0.0]))
    jumps = np.zeros((1, 20))
    jumps[0, 3] = 0.1
    x = f.path(np.zeros((1, 20)), np.ones((1, 20)), jumps)
    np.testing.assert_allclose(x[0, :4], 0.0)
    np.testing.assert_allclose(x[0, 4:], 0.1 * 2 ** (-np.arange(17) / 5.0), rtol=1e-12)


def _short_reference(f: ShortTermFactor, e: np.ndarray, m: np.ndarray, j: np.ndarray) -> np.ndarray:
    n, steps = e.shape
    out = np.zeros((n, steps + 1))
    for i in range(n):
        phi = 2.0 ** (-1.0 / f.half_life_days[i])
        kappa = math.log(2.0) * 252 / f.half_life_days[i]
        sd = f.vol[i] * math.sqrt((1 - phi * phi) / (2 * kappa))
        x = 0.0
        for t in range(steps):
            x = phi * x + e[i, t] * m[i, t] * sd + j[i, t]
            out[i, t + 1] = x
    return out


def test_short_term_fast_path_matches_reference_loop() -> None:
    rng = np.random.default_rng(7)
    n, steps = 30, 50
    f = ShortTermFactor(rng.uniform(2, 100, n), rng.uniform(0.1, 0.6, n))
    e = rng.standard_normal((n, steps))
    m = np.where(rng.random((n, steps)) < 0.3, 1.8, 1.0)
    j = np.where(rng.random((n, steps)) < 0.05, rng.laplace(0, 0.04, (n, steps)), 0.0)
    np.testing.assert_allclose(
        f.path(e, m, j), _short_reference(f, e, m, j), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("form", ["numba", "numpy"])
@pytest.mark.parametrize(
    ("regimes", "jumpy"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_short_term_path_without_regimes_or_jumps_matches_reference_loop(
    form: str, regimes: bool, jumpy: bool
) -> None:
    """``multiplier=None`` is a multiplier of one, ``jumps=None`` no jumps, in both kernel
    forms."""
    rng = np.random.default_rng(17)
    n, steps = 25, 40
    f = ShortTermFactor(rng.uniform(2, 100, n), rng.uniform(0.1, 0.6, n))
    e = rng.standard_normal((n, steps))
    m = np.where(rng.random((n, steps)) < 0.3, 1.8, 1.0) if regimes else None
    j = (
        np.where(rng.random((n, steps)) < 0.1, rng.laplace(0, 0.04, (n, steps)), 0.0)
        if jumpy
        else None
    )
    expected = _short_reference(
        f,
        e,
        np.ones((n, steps)) if m is None else m,
        np.zeros((n, steps)) if j is None else j,
    )
    with kernels.compiled(form == "numba"):
        got = f.path(e, m, j)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got.shape == (n, steps + 1)


# --------------------------------------------------------------------------- long-term factor


def test_long_term_moments() -> None:
    n, steps, mu, vol = 20_000, 63, 0.5, 0.2
    rng = np.random.default_rng(202)
    f = LongTermFactor(np.full(n, mu), np.full(n, vol))
    x = f.path(rng.standard_normal((n, steps)))
    np.testing.assert_array_equal(x[:, 0], 0.0)
    for t in (1, 21, steps):
        var = vol**2 * t / DAYS_PER_YEAR
        assert close(x[:, t].mean(), mu * t / DAYS_PER_YEAR, math.sqrt(var / n))
        assert close(x[:, t].var(ddof=1), var, var_se_normal(var, n))


def test_long_term_matches_reference_loop() -> None:
    rng = np.random.default_rng(8)
    n, steps = 20, 30
    f = LongTermFactor(rng.normal(0, 0.3, n), rng.uniform(0.1, 0.4, n))
    e = rng.standard_normal((n, steps))
    m = np.where(rng.random((n, steps)) < 0.3, 2.0, 1.0)
    ref = np.zeros((n, steps + 1))
    for i in range(n):
        for t in range(steps):
            step = e[i, t] * m[i, t] * f.vol[i] / math.sqrt(252) + f.drift[i] / 252
            ref[i, t + 1] = ref[i, t] + step
    np.testing.assert_allclose(f.path(e, m), ref, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- two factors


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.6])
def test_two_factor_variance_with_correlation(rho: float) -> None:
    h, s1, s2, mu = 20.0, 0.25, 0.15, 0.1
    scenario = make_scenario(
        {
            "horizon_days": 40,
            "oil": {
                "short_term": {"half_life": q(h, "trading days"), "vol": q(s1, "annualised")},
                "long_term": {"drift": q(mu, "per year"), "vol": q(s2, "annualised")},
                "factor_correlation": q(rho, "correlation"),
            },
        }
    )
    n, steps = 20_000, 40
    oil = simulate_oil(scenario, Streams(31, 0), n, steps)
    np.testing.assert_allclose(oil.log_price, oil.ordinary + math.log(70.0), rtol=0, atol=1e-12)
    kappa = math.log(2) * DAYS_PER_YEAR / h
    phi = 2 ** (-1 / h)
    a = s1 * math.sqrt((1 - phi**2) / (2 * kappa))  # short factor's daily shock sd
    b = s2 * math.sqrt(1 / DAYS_PER_YEAR)  # long factor's daily shock sd
    for t in (5, 40):
        var_chi = s1**2 * (1 - phi ** (2 * t)) / (2 * kappa)
        var_xi = s2**2 * t / DAYS_PER_YEAR
        # chi_t = sum_s phi^(t-1-s) a e1_s,  xi_t = sum_s b (rho e1_s + sqrt(1-rho^2) e2_s)
        cov = rho * a * b * sum(phi ** (t - 1 - s) for s in range(t))
        var = var_chi + var_xi + 2 * cov
        x = oil.ordinary[:, t]
        assert close(x.mean(), mu * t / DAYS_PER_YEAR, math.sqrt(var / n))
        assert close(x.var(ddof=1), var, var_se_normal(var, n))


# --------------------------------------------------------------------------- innovations


def _t_even_moment(df: float, k: int) -> float:
    """E[x^(2k)] of a Student-t with ``df`` scaled to unit variance (needs 2k < df)."""
    log = (
        k * math.log(df - 2)
        + gammaln(k + 0.5)
        + gammaln(df / 2 - k)
        - 0.5 * math.log(math.pi)
        - gammaln(df / 2)
    )
    return math.exp(log)


def test_normal_innovations_shape() -> None:
    # Factor-major layout: (k, n_paths, n_steps).
    z = NormalInnovations(7).draw(np.random.default_rng(0), 5, 2)
    assert z.shape == (2, 7, 5)


def test_student_t_unit_variance_and_kurtosis() -> None:
    # df = 12: the 8th moment is finite, so the sample kurtosis has a finite standard error.
    df, n, steps = 12.0, 4_000, 250
    x = StudentTInnovations(np.full(n, df)).draw(np.random.default_rng(303), steps, 1).ravel()
    big_n = x.size
    m2, m4, m6, m8 = (_t_even_moment(df, k) for k in (1, 2, 3, 4))
    assert m2 == pytest.approx(1.0)
    assert m4 == pytest.approx(3 + 6 / (df - 4))
    assert close(x.mean(), 0.0, math.sqrt(1 / big_n))
    assert close(np.mean(x * x), 1.0, math.sqrt((m4 - 1) / big_n))
    # Delta method for m4 / m2^2 at (m2, m4) = (1, mu4): gradient (-2 mu4, 1).
    var_kurt = 4 * m4**2 * (m4 - 1) - 4 * m4 * (m6 - m4) + (m8 - m4**2)
    x2 = x * x
    kurt = np.mean(x2 * x2) / np.mean(x2) ** 2 - 3
    assert close(kurt, 6 / (df - 4), math.sqrt(var_kurt / big_n))


def test_student_t_shares_the_mixing_variable_across_components() -> None:
    # x_i = z_i sqrt((df-2)/W): uncorrelated, but Cov(x1^2, x2^2) = 2 / (df - 4).
    df, n, steps = 10.0, 4_000, 100
    x = StudentTInnovations(np.full(n, df)).draw(np.random.default_rng(304), steps, 2)
    assert x.shape == (2, n, steps)
    x1, x2 = x[0].ravel(), x[1].ravel()
    prod = x1 * x2
    assert close(prod.mean(), 0.0, prod.std() / math.sqrt(prod.size))
    sq = x1 * x1 * x2 * x2
    assert close(sq.mean() - 1.0, 2 / (df - 4), sq.std() / math.sqrt(sq.size))


@pytest.mark.parametrize("df", [[5.0, 8.0, 30.0], [6.0, 6.0, 6.0]])
def test_student_t_matches_reference_draws(df: list[float]) -> None:
    got = StudentTInnovations(np.array(df)).draw(np.random.default_rng(9), 4, 2)
    assert got.shape == (2, 3, 4)
    rng = np.random.default_rng(9)
    z = rng.standard_normal((2, 3, 4))
    w = [[rng.chisquare(df[i]) for _ in range(4)] for i in range(3)]
    for k in range(2):
        for i in range(3):
            for t in range(4):
                expected = z[k, i, t] * math.sqrt((df[i] - 2) / w[i][t])
                assert got[k, i, t] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    "model", [StudentTInnovations(np.array([5.0, 8.0, 30.0])), NormalInnovations(3)]
)
def test_draw_into_with_a_scale_is_the_draw_times_the_scale(model: object) -> None:
    """``draw_into(rng, out, scale)`` fills ``out`` with the same shocks as ``draw`` from the
    same stream, each multiplied by ``scale`` of its path and step."""
    scale = np.random.default_rng(1).uniform(0.5, 2.0, size=(3, 4))
    plain = model.draw(np.random.default_rng(9), 4, 2)  # type: ignore[attr-defined]
    out = np.empty((2, 3, 4))
    model.draw_into(np.random.default_rng(9), out, scale)  # type: ignore[attr-defined]
    np.testing.assert_allclose(out, plain * scale[None], rtol=1e-15)


# --------------------------------------------------------------------------- jumps


def _jump_counts(calm: float, stressed: float, mask: np.ndarray, seed: int) -> np.ndarray:
    n = mask.shape[0]
    jumps = PoissonJumps(np.full(n, calm), np.full(n, stressed), unit_jumps())
    per_step = jumps.simulate(np.random.default_rng(seed), mask)
    assert per_step.shape == mask.shape
    np.testing.assert_array_equal(per_step, np.round(per_step))
    return per_step.sum(axis=1)


def _check_poisson(counts: np.ndarray, lam: float) -> None:
    n = counts.size
    assert close(counts.mean(), lam, math.sqrt(lam / n))
    # Poisson: mu4 = lam (1 + 3 lam), so Var(s^2) ~ (lam + 2 lam^2) / n.
    assert close(counts.var(ddof=1), lam, math.sqrt((lam + 2 * lam * lam) / n))


def test_poisson_counts_without_regimes() -> None:
    n, steps, lam = 20_000, 63, 12.0
    counts = _jump_counts(lam, 40.0, np.zeros((n, steps), dtype=bool), seed=404)
    _check_poisson(counts, lam * steps / DAYS_PER_YEAR)


def test_thinning_all_stressed_gives_the_stressed_rate() -> None:
    n, steps = 20_000, 63
    counts = _jump_counts(2.0, 20.0, np.ones((n, steps), dtype=bool), seed=405)
    _check_poisson(counts, 20.0 * steps / DAYS_PER_YEAR)


def test_thinning_with_mixed_regimes() -> None:
    n, steps = 20_000, 100
    mask = np.zeros((n, steps), dtype=bool)
    mask[:, 70:] = True
    counts = _jump_counts(5.0, 30.0, mask, seed=406)
    _check_poisson(counts, (5.0 * 70 + 30.0 * 30) / DAYS_PER_YEAR)


def test_jump_sizes_are_truncated() -> None:
    n, steps = 2_000, 50
    mask = np.zeros((n, steps), dtype=bool)
    jumps = PoissonJumps(np.full(n, 50.0), np.full(n, 50.0), unit_jumps(-3.0))
    per_step = jumps.simulate(np.random.default_rng(407), mask)
    assert per_step.min() < 0
    np.testing.assert_array_equal(np.mod(per_step, -JUMP_TRUNCATION), 0.0)


def test_no_intensity_no_jumps() -> None:
    mask = np.ones((10, 20), dtype=bool)
    jumps = PoissonJumps(np.zeros(10), np.zeros(10), unit_jumps())
    np.testing.assert_array_equal(jumps.simulate(np.random.default_rng(0), mask), 0.0)
    np.testing.assert_array_equal(NoJumps(10).simulate(np.random.default_rng(0), mask), 0.0)


def test_poisson_matches_reference_loop() -> None:
    n, steps = 6, 40
    calm, stressed = np.linspace(5, 30, n), np.linspace(60, 10, n)
    mask = np.random.default_rng(1).random((n, steps)) < 0.4
    size = Fixed(value=0.03, unit="log return", rationale="abc")
    got = PoissonJumps(calm, stressed, size).simulate(np.random.default_rng(11), mask)
    rng = np.random.default_rng(11)
    lam_max = np.maximum(calm, stressed)
    counts = rng.poisson(lam_max * steps / 252)
    total = int(counts.sum())
    day = rng.integers(0, steps, size=total)
    u = rng.random(total)
    ref = np.zeros((n, steps))
    k = 0
    for i in range(n):
        for _ in range(counts[i]):
            lam = stressed[i] if mask[i, day[k]] else calm[i]
            if u[k] * lam_max[i] < lam:
                ref[i, day[k]] += 0.03
            k += 1
    assert total > 0
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- regimes


def _markov(n: int, p: float, duration: float, mult: float, initial: float) -> MarkovRegimes:
    return MarkovRegimes(
        np.full(n, p), np.full(n, 1.0 / duration), np.full(n, mult), np.full(n, initial)
    )


def test_markov_occupation_matches_stationary_law() -> None:
    n, steps, p, duration = 4_000, 500, 0.02, 10.0
    pi = p / (p + 1 / duration)
    regimes = _markov(n, p, duration, 1.8, pi)  # start in the stationary law
    np.testing.assert_allclose(regimes.stationary_stressed(), pi)
    stressed = regimes.simulate(np.random.default_rng(505), np.zeros((n, steps), dtype=bool))
    share = stressed.mean(axis=1)  # one value per independent path
    assert close(share.mean(), pi, share.std(ddof=1) / math.sqrt(n))
    np.testing.assert_array_equal(regimes.multiplier(stressed), np.where(stressed, 1.8, 1.0))


def test_markov_forced_days_are_always_stressed() -> None:
    n, steps = 500, 200
    forced = np.random.default_rng(1).random((n, steps)) < 0.1
    stressed = _markov(n, 0.01, 5.0, 2.0, 0.0).simulate(np.random.default_rng(506), forced)
    assert stressed[forced].all()
    assert not stressed.all()


def test_markov_leaves_forced_stress_at_its_usual_rate() -> None:
    n, steps, duration = 20_000, 30, 8.0
    forced = np.zeros((n, steps), dtype=bool)
    forced[:, :5] = True
    stressed = _markov(n, 0.0, duration, 2.0, 0.0).simulate(np.random.default_rng(507), forced)
    q_ = 1 / duration
    for k in (0, 3, 10):
        expected = (1 - q_) ** (k + 1)
        assert close(stressed[:, 5 + k].mean(), expected, math.sqrt(expected * (1 - expected) / n))


def test_markov_after_an_event_ends_stress() -> None:
    # Set calm at step 5 on every path, the chain is stressed k steps later with
    # probability pi (1 - (1 - p - q)^k); before, the calm event changes nothing.
    n, steps, p, duration, start = 20_000, 40, 0.03, 8.0, 5
    q_ = 1 / duration
    pi = p / (p + q_)
    forced = np.zeros((n, steps), dtype=bool)
    calm = np.zeros((n, steps), dtype=bool)
    calm[:, start] = True
    regimes = _markov(n, p, duration, 2.0, 1.0)
    stressed = regimes.simulate(np.random.default_rng(508), forced, calm)
    assert not stressed[:, start].any()
    for k in (1, 4, 20):
        expected = pi * (1 - (1 - p - q_) ** k)
        got = stressed[:, start + k].mean()
        assert close(got, expected, math.sqrt(expected * (1 - expected) / n))
    before = regimes.simulate(np.random.default_rng(508), forced)
    np.testing.assert_array_equal(stressed[:, :start], before[:, :start])


def test_markov_calm_waits_for_forced_stress_to_end() -> None:
    # A chain that never leaves stress by itself: a calm on forced steps 3-5 takes effect
    # at step 6, and lasts (no re-entry).
    n, steps = 50, 10
    forced = np.zeros((n, steps), dtype=bool)
    forced[:, 3:6] = True
    calm = np.zeros((n, steps), dtype=bool)
    calm[:, 4] = True
    regimes = _markov(n, 0.0, 1e12, 2.0, 1.0)
    stressed = regimes.simulate(np.random.default_rng(9), forced, calm)
    assert stressed[:, :6].all()
    assert not stressed[:, 6:].any()


@pytest.mark.parametrize("step", [0, 9])
def test_markov_calm_on_the_first_and_last_step(step: int) -> None:
    n, steps = 50, 10
    calm = np.zeros((n, steps), dtype=bool)
    calm[:, step] = True
    regimes = _markov(n, 0.0, 1e12, 2.0, 1.0)  # starts stressed on every path
    stressed = regimes.simulate(np.random.default_rng(10), np.zeros((n, steps), bool), calm)
    assert stressed[:, :step].all()
    assert not stressed[:, step:].any()


def test_markov_matches_reference_loop() -> None:
    n, steps = 8, 60
    rng = np.random.default_rng(2)
    regimes = MarkovRegimes(
        rng.uniform(0, 0.2, n), rng.uniform(0.05, 0.5, n), np.full(n, 2.0), rng.uniform(0, 1, n)
    )
    forced = rng.random((n, steps)) < 0.05
    calm = rng.random((n, steps)) < 0.05
    got = regimes.simulate(np.random.default_rng(12), forced, calm)
    u = np.random.default_rng(12).random((steps, n)).T  # drawn day-major
    for i in range(n):
        state = u[i, 0] < regimes.initial_stressed[i]
        pending = False
        for t in range(steps):
            if t > 0:
                if state:
                    state = u[i, t] >= regimes.p_stressed_to_calm[i]
                else:
                    state = u[i, t] < regimes.p_calm_to_stressed[i]
            pending = pending or calm[i, t]
            if forced[i, t]:
                state = True
            elif pending:
                state, pending = False, False
            assert got[i, t] == state


def test_no_regimes_only_forced_days_are_stressed() -> None:
    forced = np.random.default_rng(3).random((5, 10)) < 0.3
    regimes = NoRegimes(5)
    stressed = regimes.simulate(np.random.default_rng(0), forced, ~forced)
    np.testing.assert_array_equal(stressed, forced)
    np.testing.assert_array_equal(regimes.multiplier(stressed), 1.0)


# --------------------------------------------------------------------------- registry


def test_build_draws_parameters_per_path() -> None:
    spec = sc.ShortTermSpec.model_validate(
        {
            "half_life": {
                "dist": "uniform",
                "low": 10,
                "high": 30,
                "unit": "trading days",
                "rationale": "abc",
            },
            "vol": q(0.3, "annualised"),
        }
    )
    f = processes.build(spec, np.random.default_rng(0), 1000)
    assert isinstance(f, ShortTermFactor)
    assert f.half_life_days.shape == (1000,)
    assert 10 <= f.half_life_days.min() < f.half_life_days.max() <= 30
    np.testing.assert_array_equal(f.vol, 0.3)


def test_build_rejects_an_unknown_spec() -> None:
    with pytest.raises(TypeError, match=r"no process for Physical; known specs: "):
        processes.build(make_scenario().physical, np.random.default_rng(0), 1)


def test_ordinary_shock_sd_is_its_calm_day_standard_deviation() -> None:
    rho, lam, b = 0.4, 20.0, 0.04
    scenario = make_scenario(
        {
            "oil": {
                "factor_correlation": q(rho, "correlation"),
                "jumps": {
                    "model": "poisson",
                    "intensity_calm": q(lam, "per year"),
                    "intensity_stressed": q(lam, "per year"),
                    "size": {
                        "dist": "laplace",
                        "loc": 0.0,
                        "scale": b,
                        "unit": "log return",
                        "rationale": "abc",
                    },
                },
            }
        }
    )
    n, steps = 20_000, 40
    oil = simulate_oil(scenario, Streams(32, 0), n, steps)
    assert oil.ordinary_shock.shape == (n, steps)
    kappa = math.log(2) * DAYS_PER_YEAR / 20
    phi = 2 ** (-1 / 20)
    sd_short = 0.25 * math.sqrt((1 - phi**2) / (2 * kappa))
    sd_long = 0.15 / math.sqrt(DAYS_PER_YEAR)
    var = sd_short**2 + sd_long**2 + 2 * rho * sd_short * sd_long + lam * 2 * b * b / 252
    np.testing.assert_allclose(oil.shock_sd, math.sqrt(var), rtol=1e-12)
    x = oil.ordinary_shock.ravel()
    se = math.sqrt(np.mean((x - x.mean()) ** 4) - x.var() ** 2) / math.sqrt(x.size)
    assert close(x.var(), var, se)
