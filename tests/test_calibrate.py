"""Estimators of ``sim calibrate``: likelihoods against references, parameter recovery, output.

All series are simulated here (never the shared market data).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from scipy import integrate, stats

from simulator import processes
from simulator.calibrate import kalman, regimes, varratio
from simulator.calibrate.assets import asset_stats
from simulator.calibrate.command import register
from simulator.calibrate.data import PriceSeries, Window, detect_kind, parse_kind, read_prices
from simulator.calibrate.facts import simulate_returns
from simulator.errors import ScenarioError
from simulator.scenario import OilModel

# --------------------------------------------------------------------------- references


def brute_force_loglik(
    y: np.ndarray, phi: float, s1: float, s2: float, rho: float, mu: float
) -> float:
    """log p(y_1..y_n | y_0) from the full covariance of d_t = y_t - y_0."""
    n = y.size - 1
    # d_t = (phi^t - 1) chi_0 + sum_{j<=t} phi^(t-j) e1_j + sum_{j<=t} e2_j + t mu
    a = np.zeros((n, 1 + 2 * n))
    for t in range(1, n + 1):
        a[t - 1, 0] = phi**t - 1.0
        for j in range(1, t + 1):
            a[t - 1, j] = phi ** (t - j)
            a[t - 1, n + j] = 1.0
    cov_z = np.zeros((1 + 2 * n, 1 + 2 * n))
    cov_z[0, 0] = s1 * s1 / (1 - phi * phi)
    for j in range(1, n + 1):
        cov_z[j, j] = s1 * s1
        cov_z[n + j, n + j] = s2 * s2
        cov_z[j, n + j] = cov_z[n + j, j] = rho * s1 * s2
    cov = a @ cov_z @ a.T
    mean = mu * np.arange(1, n + 1)
    return float(stats.multivariate_normal(mean, cov).logpdf(y[1:] - y[0]))


def test_kalman_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    y = 4.2 + np.cumsum(rng.normal(0, 0.02, 31))
    for phi, s1, s2, rho, mu in ((0.95, 0.015, 0.01, 0.0, 0.0), (0.8, 0.02, 0.012, 0.4, 0.001)):
        ll = kalman.kalman_loglik(y, phi, s1, s2, rho, mu)
        assert ll == pytest.approx(brute_force_loglik(y, phi, s1, s2, rho, mu), rel=1e-9, abs=1e-8)
        parts = kalman.kalman_loglik(y, phi, s1, s2, rho, mu, contributions=True)
        assert np.sum(parts) == pytest.approx(ll)


def test_hamilton_product_equals_loop() -> None:
    rng = np.random.default_rng(4)
    r = rng.standard_t(5, 700) * 0.015
    model = regimes.ReturnModel(student_t=True, regimes=True, jumps=True)
    th = np.array([0.1, math.log(0.012), 0.0, -4.0, -3.0, math.log(4.0), 0.0, 1.0, math.log(0.06)])
    par = regimes._unpack(model, th)
    logf = regimes.log_densities(model, par, r)
    trans, start = regimes._chain(par)
    ll, xi = 0.0, start
    for t in range(r.size):
        pred = start if t in (0, 300) else xi @ trans
        j = pred * np.exp(logf[t])
        ll += math.log(j.sum())
        xi = j / j.sum()
    assert regimes._loglik(model, th, r, np.array([0, 300])) == pytest.approx(ll, rel=1e-10)


@pytest.mark.parametrize("x", [0.0, 0.04, -0.3, 0.64])
def test_normal_laplace_density(x: float) -> None:
    sd, b = 0.02, 0.06
    num = integrate.quad(
        lambda u: stats.norm.pdf(x - u, scale=sd) * stats.laplace.pdf(u, scale=b),
        -3,
        3,
        points=[x],
        limit=200,
    )[0]
    got = regimes._log_normal_laplace(np.array([x]), sd, b)[0]
    assert got == pytest.approx(math.log(num), rel=1e-7)


# --------------------------------------------------------------------------- recovery


def _within(est: float, se: float, true: float, k: float = 4.0) -> bool:
    return math.isfinite(se) and abs(est - true) <= k * se


def test_kalman_recovers_two_factor_parameters() -> None:
    """One long Gaussian series simulated with the project's factor processes."""
    rng = np.random.default_rng(11)
    n = 3000
    h, vol_s, vol_l, drift = 20.0, 0.30, 0.20, 0.05
    short = processes.ShortTermFactor(np.array([h]), np.array([vol_s]))
    long_ = processes.LongTermFactor(np.array([drift]), np.array([vol_l]))
    z = rng.standard_normal((2, 1, n))
    ones = np.ones((1, n))
    # Start the short factor from its stationary law, as the filter assumes.
    chi0 = rng.normal(0, short.step_sd[0] / math.sqrt(1 - short.phi[0] ** 2))
    chi = short.path(z[0], ones, np.zeros((1, n)))[0] + chi0 * short.phi[0] ** np.arange(n + 1)
    y = 4.0 + chi + long_.path(z[1], ones)[0]
    fit = kalman.fit_two_factor([y])
    assert _within(fit.half_life.value, fit.half_life.se, h)
    assert _within(fit.sd_short.value, fit.sd_short.se, float(short.step_sd[0]))
    assert _within(fit.sd_long.value, fit.sd_long.se, vol_l / math.sqrt(252))
    assert _within(fit.drift.value, fit.drift.se, drift)


def test_regime_model_recovers_parameters() -> None:
    """t innovations and Markov regimes simulated with the project's processes."""
    rng = np.random.default_rng(5)
    n = 6000
    p, dur, mult, df, sigma = 0.02, 25.0, 2.0, 6.0, 0.015
    reg = processes.MarkovRegimes(
        np.array([p]), np.array([1 / dur]), np.array([mult]), np.array([p / (p + 1 / dur)])
    )
    stressed = reg.simulate(rng, np.zeros((1, n), dtype=bool))
    eps = processes.StudentTInnovations(np.array([df])).draw(rng, n, 1)[0]
    r = (sigma * reg.multiplier(stressed) * eps)[0]
    fit = regimes.fit_returns(
        regimes.ReturnModel(student_t=True, regimes=True, jumps=False), r, np.array([0])
    )
    e = fit.estimates
    truth = {
        "vol_calm": sigma * math.sqrt(252),
        "vol_multiplier": mult,
        "calm_to_stressed": p,
        "stressed_to_calm": 1 / dur,
        "df": df,
        "mu": 0.0,
    }
    for name, value in truth.items():
        assert _within(e[name].value, e[name].se, value), (name, e[name], value)


def _two_factor_path(
    rng: np.random.Generator, n: int, h: float, share_long: float, sd: float, paths: int = 1
) -> np.ndarray:
    """Daily log prices of a stationary AR(1) plus an independent random walk, ``(paths, n+1)``.

    ``share_long`` of the daily return variance ``sd**2`` is the random walk's.
    """
    from scipy.signal import lfilter

    phi = 2.0 ** (-1.0 / h)
    s1 = sd * math.sqrt((1 - share_long) * (1 + phi) / 2)
    s2 = sd * math.sqrt(share_long)
    chi = np.empty((paths, n + 1))
    chi[:, 0] = rng.normal(0.0, s1 / math.sqrt(1 - phi * phi), paths)
    # chi_{t+1} = phi chi_t + e_t, as a linear filter started from chi_0
    e = rng.normal(0.0, s1, (paths, n))
    chi[:, 1:] = lfilter([1.0], [1.0, -phi], e, axis=-1, zi=phi * chi[:, :1])[0]
    xi = np.concatenate([np.zeros((paths, 1)), np.cumsum(rng.normal(0.0, s2, (paths, n)), 1)], 1)
    return chi + xi


def test_variance_ratio_formula_against_simulation() -> None:
    """Monte Carlo variance ratios of the discretised model (stationary start) vs the formula."""
    rng = np.random.default_rng(8)
    h, f, k_max, paths = 30.0, 0.4, 126, 20000
    y = _two_factor_path(rng, k_max, h, f, 0.02, paths)
    d1 = y[:, 1] - y[:, 0]
    for k in (5, 21, 63, 126):
        mc = np.var(y[:, k] - y[:, 0]) / (k * np.var(d1))
        assert mc == pytest.approx(float(varratio.model_vr(k, h, f)), rel=0.04), k
    assert float(varratio.model_vr(1, h, f)) == pytest.approx(1.0)


def test_variance_ratio_recovers_half_life_and_split() -> None:
    """One long series (60 years) from known (h, f); estimates within 4 bootstrap se."""
    rng = np.random.default_rng(21)
    n, h, f = 252 * 60, 30.0, 0.6
    y = _two_factor_path(rng, n, h, f, 0.02)[0]
    years = np.arange(n + 1) // 252
    fit = varratio.fit_variance_ratio([y[:6000], y[6000:]], [years[:6000], years[6000:]], seed=1)
    assert fit.horizons == varratio.HORIZONS
    assert fit.n_blocks == 60
    assert _within(fit.share_long.value, fit.share_long.se, f)
    assert _within(math.log(fit.half_life.value), math.sqrt(fit.cov[0, 0]), math.log(h))
    assert fit.half_life_interval[0] < fit.half_life.value < fit.half_life_interval[1]
    # A pure random walk: VR = 1 at every horizon, so the long share goes to 1.
    rw = _two_factor_path(rng, 252 * 20, h, 1.0, 0.02)[0]
    vr = varratio.sample_vr([rw])
    assert all(abs(v - 1.0) < 0.35 for v in vr.values())


# --------------------------------------------------------------------------- cross-asset


def _series(name: str, dates: np.ndarray, values: np.ndarray, file: str = "x.csv") -> PriceSeries:
    return PriceSeries(name, file, dates, values, np.arange(2, values.size + 2))


def _oil_and_yield(
    rng: np.random.Generator, n: int, oil_vol: float, bp_vol: float, bp_drift: float, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates, Brent-like prices (USD/bbl) and a yield (percent) whose daily bp changes are
    normal with annualised sd ``bp_vol``, drift ``bp_drift`` bp/year and correlation ``rho``
    with oil's log returns; ``n + 1`` business days each."""
    z = rng.standard_normal((2, n))
    r = oil_vol / math.sqrt(252) * z[0]
    dy = bp_drift / 252 + bp_vol / math.sqrt(252) * (rho * z[0] + math.sqrt(1 - rho**2) * z[1])
    dates = np.busday_offset(np.datetime64("2015-01-02"), np.arange(n + 1), roll="forward")
    oil = 70.0 * np.exp(np.r_[0.0, np.cumsum(r)])
    yld = 3.0 + np.r_[0.0, np.cumsum(dy)] / 100.0  # percent; 1 bp = 0.01%
    return dates, oil, yld


def test_yield_moves_in_bp_and_recovers_vol_drift_correlation(tmp_path: Path) -> None:
    """A FRED-style DGS10 file with known bp vol: vol and drift in bp/year, correlation of bp
    changes with oil's log returns, all within 4 standard errors of the estimator."""
    n, oil_vol, bp_vol, bp_drift, rho = 2500, 0.35, 90.0, -20.0, 0.3
    dates, oil, yld = _oil_and_yield(np.random.default_rng(17), n, oil_vol, bp_vol, bp_drift, rho)
    path = tmp_path / "dgs10.csv"
    path.write_text(
        "observation_date,DGS10\n"
        + "".join(f"{d},{v:.6f}\n" for d, v in zip(dates, yld, strict=True))
    )
    a = asset_stats([_series("Price", dates, oil), read_prices(path)])
    assert a.kinds == ["price", "yield"]
    assert a.moves == ["log return", "bp"]
    assert a.n == n
    vol, drift, beta = a.vols[1], a.drifts[1], a.betas[1]
    assert (vol.unit, drift.unit) == ("bp/year", "bp/year")
    # Normal moves: se(sd) = sigma / sqrt(2n); se(mean * 252) = sigma * sqrt(252 / n).
    assert abs(vol.value - bp_vol) < 4 * bp_vol / math.sqrt(2 * n)
    assert abs(drift.value - bp_drift) < 4 * bp_vol * math.sqrt(252 / n)
    assert abs(a.corr[0, 1] - rho) < 4 * (1 - rho**2) / math.sqrt(n)
    # The reported se: sqrt((kurtosis - 1) / 2) times the normal one; sd of kurtosis sqrt(24/n).
    assert vol.se / (bp_vol / math.sqrt(2 * n)) == pytest.approx(
        1.0, abs=4 * 0.25 * math.sqrt(24 / n)
    )
    assert drift.se == pytest.approx(bp_vol * math.sqrt(252 / n), rel=4 / math.sqrt(2 * n))
    # bp per 1% of oil, as a yield's beta_supply: rho * bp_vol / oil_vol / 100.
    assert beta.unit == "bp per 1% move of Price"
    beta_se = bp_vol * math.sqrt(1 - rho**2) / (oil_vol * math.sqrt(n)) / 100
    assert abs(beta.value - rho * bp_vol / oil_vol / 100) < 4 * beta_se
    # Oil itself is a price: log returns, annualised.
    assert a.vols[0].unit == "annualised"
    assert abs(a.vols[0].value - oil_vol) < 4 * oil_vol / math.sqrt(2 * n)


def test_declared_kind_overrides_column_name() -> None:
    """The same levels as a price (log returns) or, declared, as a yield (bp changes)."""
    dates, oil, yld = _oil_and_yield(np.random.default_rng(3), 400, 0.3, 80.0, 0.0, 0.0)
    series = [_series("Price", dates, oil), _series("Close", dates, yld)]
    as_price = asset_stats(series)
    as_yield = asset_stats(series, kinds=[None, "yield"])
    assert as_price.kinds[1] == "price"
    assert as_yield.kinds[1] == "yield"
    assert as_yield.declared == [False, True]
    dy = np.diff(yld) * 100
    assert as_yield.vols[1].value == pytest.approx(dy.std(ddof=1) * math.sqrt(252), rel=1e-12)
    lr = np.diff(np.log(yld))
    assert as_price.vols[1].value == pytest.approx(lr.std(ddof=1) * math.sqrt(252), rel=1e-12)


def test_no_move_spans_an_excluded_window() -> None:
    """A 300 bp jump inside an excluded window leaves no trace in the yield's vol."""
    dates, oil, yld = _oil_and_yield(np.random.default_rng(9), 600, 0.3, 80.0, 0.0, 0.0)
    yld[300:] += 3.0
    window = Window(dates[290], dates[310])
    keep = (dates < window.start) | (dates > window.end)
    series = [_series(name, dates[keep], v[keep]) for name, v in (("Price", oil), ("DGS10", yld))]
    a = asset_stats(series, exclude=[window])
    assert a.n == int(keep.sum()) - 2  # one move lost per segment
    dy = np.diff(yld * 100)
    dy = np.r_[dy[: 290 - 1], dy[311:]]
    assert a.vols[1].value == pytest.approx(dy.std(ddof=1) * math.sqrt(252), rel=1e-12)


def test_non_positive_price_is_refused_but_a_yield_may_be_negative() -> None:
    dates, oil, yld = _oil_and_yield(np.random.default_rng(4), 100, 0.3, 80.0, 0.0, 0.0)
    neg = yld - 3.5  # crosses zero
    assert asset_stats([_series("Price", dates, oil), _series("DGS2", dates, neg)]).n == 100
    with pytest.raises(ScenarioError) as info:
        asset_stats([_series("Price", dates, oil), _series("Close", dates, neg, "spread.csv")])
    j = int(np.flatnonzero(neg <= 0)[0])
    assert str(info.value) == (
        f"spread.csv:{j + 2}: Close: price {neg[j]:g} on {dates[j]} is not positive and a "
        f"price moves in log returns: leave it out (--exclude {dates[j]}:{dates[j]}), or if "
        "the series is a yield or spread in percent declare it (--kind spread.csv=yield)"
    )


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("DGS10", "yield"),
        ("dgs3mo", "yield"),
        ("GS10", "yield"),
        ("DFII10", "yield"),
        ("T10Y2Y", "yield"),
        ("Rate", "yield"),
        ("US 10y yield", "yield"),
        ("Price", "price"),
        ("Close", "price"),
        ("DTWEXBGS", "price"),
        ("SP500", "price"),
        ("DEXUSEU", "price"),
    ],
)
def test_detect_kind(column: str, kind: str) -> None:
    assert detect_kind(column) == kind


def test_parse_kind() -> None:
    assert parse_kind("DGS10=yield") == ("DGS10", "yield")
    assert parse_kind("data/a=b.csv=Price") == ("data/a=b.csv", "price")
    with pytest.raises(ScenarioError, match=r"^--kind: 'DGS10' is not SERIES=KIND"):
        parse_kind("DGS10")
    with pytest.raises(ScenarioError, match=r"^--kind: unknown kind 'bond' in 'x=bond': use one"):
        parse_kind("x=bond")


# --------------------------------------------------------------------------- end to end


OIL = {
    "spot": {"value": 70.0, "unit": "USD/bbl", "rationale": "test"},
    "short_term": {
        "half_life": {"value": 30, "unit": "trading days", "rationale": "test"},
        "vol": {"value": 0.2, "unit": "annualised", "rationale": "test"},
    },
    "long_term": {
        "drift": {"value": 0.0, "unit": "per year", "rationale": "test"},
        "vol": {"value": 0.2, "unit": "annualised", "rationale": "test"},
    },
    "factor_correlation": {"value": 0.0, "unit": "correlation", "rationale": "test"},
    "innovations": {
        "model": "student_t",
        "df": {"value": 8, "unit": "degrees of freedom", "rationale": "test"},
    },
    "regimes": {
        "model": "markov",
        "calm_to_stressed": {"value": 0.02, "unit": "per day", "rationale": "test"},
        "stressed_duration": {"value": 20, "unit": "trading days", "rationale": "test"},
        "vol_multiplier": {"value": 2.0, "unit": "multiplier", "rationale": "test"},
        "initial_stressed": {"value": 0.3, "unit": "probability", "rationale": "test"},
    },
    "jumps": {
        "model": "poisson",
        "intensity_calm": {"value": 1.0, "unit": "per year", "rationale": "test"},
        "intensity_stressed": {"value": 3.0, "unit": "per year", "rationale": "test"},
        "size": {
            "dist": "laplace",
            "loc": 0.0,
            "scale": 0.06,
            "unit": "log return",
            "rationale": "test",
        },
    },
}


@pytest.fixture(scope="module")
def price_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An oil file simulated with the engine, and a FRED-style second series."""
    d = tmp_path_factory.mktemp("calib")
    r = simulate_returns(OIL, "2026-02-06", 1, 500, seed=1)[0]
    p = 70.0 * np.exp(np.r_[0.0, np.cumsum(r)])
    dates = np.busday_offset(np.datetime64("2023-01-02"), np.arange(p.size), roll="forward")
    oil = d / "oil.csv"
    oil.write_text(
        "Date,Price\n" + "".join(f"{a},{b:.4f}\n" for a, b in zip(dates, p, strict=True))
    )
    rng = np.random.default_rng(2)
    other = 100 * np.exp(0.3 * np.r_[0.0, np.cumsum(r)] + np.cumsum(rng.normal(0, 0.005, p.size)))
    usd = d / "usd.csv"
    rows = [
        f"{a},{'.' if i % 50 == 7 else f'{b:.4f}'}\n"
        for i, (a, b) in enumerate(zip(dates, other, strict=True))
    ]
    usd.write_text("observation_date,DTWEXBGS\n" + "".join(rows))
    return oil, usd


#: Annualised sd of the synthetic DGS10 file's daily changes, bp/year.
BP_VOL = 90.0


@pytest.fixture(scope="module")
def yield_file(
    price_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int]:
    """A FRED DGS10-style yield (percent) on the oil file's dates with normal daily changes
    of sd ``BP_VOL / sqrt(252)`` bp, and its number of daily changes."""
    oil, _ = price_files
    dates = [line.split(",")[0] for line in oil.read_text().splitlines()[1:]]
    dy = np.random.default_rng(6).normal(0.0, BP_VOL / math.sqrt(252), len(dates) - 1)
    yld = 4.0 + np.r_[0.0, np.cumsum(dy)] / 100.0
    path = tmp_path_factory.mktemp("yield") / "dgs10.csv"
    path.write_text(
        "observation_date,DGS10\n"
        + "".join(f"{d},{v:.6f}\n" for d, v in zip(dates, yld, strict=True))
    )
    return path, dy.size


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _main() -> None:
        """Test app."""

    register(app)
    return app


def test_cli_fragment_validates_as_oil_section(
    price_files: tuple[Path, Path], app: typer.Typer, runner: object, tmp_path: Path
) -> None:
    oil, usd = price_files
    charts = tmp_path / "charts"
    res = runner.invoke(  # type: ignore[attr-defined]
        app, ["calibrate", str(oil), str(usd), "--since", "2023-01-01", "--charts", str(charts)]
    )
    assert res.exit_code == 0, res.stderr
    doc = yaml.safe_load(res.stdout)
    model = OilModel.model_validate(doc["oil"])
    assert model.spot.mean() == pytest.approx(float(oil.read_text().splitlines()[-1].split(",")[1]))
    assert res.stdout.startswith(f"# Calibrated by: sim calibrate {oil} {usd} --since 2023-01-01")
    assert f"# Data: {oil} (column Price), 2023-01-02..2024-12-" in res.stdout
    assert f"#   DTWEXBGS ({usd}): kind: price\n#     vol: {{value: " in res.stdout
    for name in (
        "qq.png",
        "acf_squared.png",
        "rolling_vol.png",
        "stylised_facts.md",
        "stylised_facts.csv",
        "model_comparison.md",
    ):
        assert (charts / name).stat().st_size > 0
    assert "| ann. vol |" in res.stderr
    assert "| Student-t + regimes + jumps |" in res.stderr
    assert "| variance-ratio (used) |" in res.stderr
    assert "| 21-day 95% quantile |" in res.stderr
    rationale = doc["oil"]["short_term"]["half_life"]["rationale"]
    assert "variance-ratio fit at k = 5..126 d" in rationale
    assert "h63_q05" in (charts / "stylised_facts.csv").read_text()


def test_cli_refuses_a_file_given_twice(
    price_files: tuple[Path, Path],
    app: typer.Typer,
    runner: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same series twice would report a correlation of 1 with itself."""
    oil, usd = price_files
    res = runner.invoke(app, ["calibrate", str(oil), str(usd), str(usd)])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == f"Error: {usd}: given twice; each file is one series\n"
    monkeypatch.chdir(usd.parent)
    res = runner.invoke(app, ["calibrate", str(oil), usd.name, str(usd)])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert (
        res.stderr == f"Error: {usd}: given twice (also as {usd.name}); each file is one series\n"
    )
    linked = tmp_path / "hard-link.csv"
    os.link(usd, linked)
    res = runner.invoke(app, ["calibrate", str(oil), str(usd), str(linked)])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == f"Error: {linked}: given twice (also as {usd}); each file is one series\n"


def test_cli_empty_charts_is_an_error_not_the_current_directory(
    price_files: tuple[Path, Path],
    app: typer.Typer,
    runner: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oil, _ = price_files
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["calibrate", str(oil), "--charts", ""])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == "Error: --charts is empty: give a directory ('.' for the current one)\n"
    assert not any(tmp_path.iterdir())


def test_cli_failed_charts_leave_the_earlier_ones(
    price_files: tuple[Path, Path],
    app: typer.Typer,
    runner: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oil, _ = price_files
    charts = tmp_path / "charts"
    args = ["calibrate", str(oil), "--since", "2023-01-01", "--charts", str(charts)]
    assert runner.invoke(app, args).exit_code == 0  # type: ignore[attr-defined]
    (charts / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in charts.iterdir()}

    def full_disk(cal: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("simulator.calibrate.charts.rolling_vol_figure", full_disk)
    args[args.index("2023-01-01")] = "2023-06-01"  # other charts, were they written
    res = runner.invoke(app, args)  # type: ignore[attr-defined]
    assert res.exit_code == 1
    assert res.stderr == f"Error: cannot write to {charts}: No space left on device\n"
    assert {p.name: p.read_bytes() for p in charts.iterdir()} == before


def test_cli_json_has_standard_errors(
    price_files: tuple[Path, Path],
    yield_file: tuple[Path, int],
    app: typer.Typer,
    runner: object,
    tmp_path: Path,
) -> None:
    oil, usd = price_files
    out = tmp_path / "calib.json"
    res = runner.invoke(  # type: ignore[attr-defined]
        app,
        [
            "calibrate",
            str(oil),
            str(usd),
            str(yield_file[0]),
            "--kind",
            "dgs10.csv=yield",
            "--json",
            "--weekly",
            "--split",
            "kalman",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    doc = json.loads(out.read_text())
    assert doc["oil"]["short_term.half_life"]["unit"] == "trading days"
    assert doc["oil"]["innovations.df"]["se"] > 0
    assert {r["model"] for r in doc["comparison"]} >= {"normal", "Student-t + regimes + jumps"}
    assert doc["split"] == "kalman"
    assert [r["split"] for r in doc["splits"]] == ["kalman", "variance-ratio"]
    assert doc["oil"]["short_term.half_life"] == doc["kalman"]["half_life"]
    assert doc["variance_ratio"]["se"] == "block bootstrap over calendar years"
    assert set(doc["stylised_facts"]["history"]) >= {"h5_q05", "h126_q95"}
    assert doc["command"].endswith("--kind dgs10.csv=yield --split kalman --json")
    assert doc["assets"]["frequency"] == "weekly"
    assert doc["assets"]["series"][1]["beta_to_first"]["se"] > 0
    usd_json, dgs10_json = doc["assets"]["series"][1:]
    assert (usd_json["kind"], usd_json["moves"], usd_json["vol"]["unit"]) == (
        "price",
        "log return",
        "annualised",
    )
    assert (dgs10_json["kind"], dgs10_json["kind_from"], dgs10_json["moves"]) == (
        "yield",
        "--kind",
        "bp",
    )
    assert dgs10_json["vol"]["unit"] == dgs10_json["drift"]["unit"] == "bp/year"
    assert dgs10_json["beta_to_first"]["unit"] == "bp per 1% move of Price"
    OilModel.model_validate(doc["oil_section"])


def test_cli_option_error_is_one_line(
    price_files: tuple[Path, Path], app: typer.Typer, runner: object
) -> None:
    oil, _ = price_files
    res = runner.invoke(app, ["calibrate", str(oil), "--exclude", "2020"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: --exclude: '2020' is not a date range START:END such as 2020-01-01:2020-12-31\n"
    )


def test_cli_bad_split_is_one_line(
    price_files: tuple[Path, Path], app: typer.Typer, runner: object
) -> None:
    oil, _ = price_files
    res = runner.invoke(app, ["calibrate", str(oil), "--split", "vr"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == "Error: --split must be one of variance-ratio, kalman, got 'vr'\n"


def test_cli_labels_a_yield_in_bp(
    price_files: tuple[Path, Path],
    yield_file: tuple[Path, int],
    app: typer.Typer,
    runner: object,
) -> None:
    """A DGS10 column is a yield: its vol and drift come out in bp/year, ready for a scenario's
    kind: yield asset, with the vol within 4 se of the simulated one; a price stays annualised."""
    oil, usd = price_files
    dgs10, n = yield_file
    res = runner.invoke(app, ["calibrate", str(oil), str(usd), str(dgs10), "-q"])  # type: ignore[attr-defined]
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    i = lines.index(
        f"#   DGS10 ({dgs10}): kind: yield, in percent (by its column name; else --kind "
        "DGS10=price)"
    )
    entry = yaml.safe_load("\n".join(line[5:] for line in lines[i + 1 : i + 3]))
    assert entry["vol"]["unit"] == "bp/year"
    assert entry["drift"]["unit"] == "bp/year"
    assert abs(entry["vol"]["value"] - BP_VOL) < 4 * BP_VOL / math.sqrt(2 * n)
    assert lines[i + 3].startswith("#     correlation Price/DGS10 ")
    assert lines[i + 3].endswith(" bp per 1% move of Price")
    j = lines.index(f"#   DTWEXBGS ({usd}): kind: price")
    assert yaml.safe_load(lines[j + 1][5:].split("  #")[0])["vol"]["unit"] == "annualised"
    assert "log moves" not in res.stdout


def test_cli_refuses_a_yield_as_oil(
    yield_file: tuple[Path, int], app: typer.Typer, runner: object
) -> None:
    dgs10, _ = yield_file
    res = runner.invoke(app, ["calibrate", str(dgs10)])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (
        f"Error: {dgs10}: DGS10: a yield (by its column name; else --kind DGS10=price), not an "
        "oil price: the oil model needs prices in USD/bbl; give the oil file first and this one "
        "after it for its vol and drift in bp/year and its correlation with oil\n"
    )
    res = runner.invoke(app, ["calibrate", str(dgs10), "--kind", "Close=price"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: --kind: 'Close' names no file or column; the series are dgs10.csv (DGS10)\n"
    )


def test_cli_refuses_a_gap_in_a_second_file(
    price_files: tuple[Path, Path], app: typer.Typer, runner: object, tmp_path: Path
) -> None:
    """Every file is checked for gaps, not only the oil file: a move across six missing
    weeks of the second series would count as one daily move in its vol and correlations."""
    oil, usd = price_files
    lines = usd.read_text().splitlines()
    gapped = tmp_path / "usd_gap.csv"
    gapped.write_text("\n".join(lines[:101] + lines[131:]) + "\n")
    before, after = lines[100].split(",")[0], lines[131].split(",")[0]
    days = (np.datetime64(after) - np.datetime64(before)).astype(int)
    res = runner.invoke(app, ["calibrate", str(oil), str(gapped)])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: {gapped}:102: DTWEXBGS: gap of {days} days between {before} and {after} "
        "(at most 10 allowed for daily data): choose a sample without it with --since/--until "
        "or --exclude\n"
    )


def test_cli_column_of_a_second_file_is_chosen_with_file_equals_name(
    price_files: tuple[Path, Path], app: typer.Typer, runner: object, tmp_path: Path
) -> None:
    """--column NAME is the oil file's; a wide second file needs --column FILE=NAME, which
    the message says, and which then reads the same series as a one-column file."""
    oil, usd = price_files
    lines = usd.read_text().splitlines()
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "\n".join([lines[0] + ",Open"] + [f"{x},{i}" for i, x in enumerate(lines[1:])]) + "\n"
    )
    invoke = runner.invoke  # type: ignore[attr-defined]
    res = invoke(app, ["calibrate", str(oil), str(wide), "-q"])
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: {wide}:1: several value columns (DTWEXBGS, Open): choose one with "
        "--column wide.csv=NAME\n"
    )
    res = invoke(app, ["calibrate", str(oil), str(wide), "--column", "wide.csv=Close"])
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: {wide}:1: --column: no column 'Close'; the value columns are: DTWEXBGS, Open\n"
    )
    res = invoke(app, ["calibrate", str(oil), str(wide), "--column", "other.csv=Open"])
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: --column other.csv=Open: 'other.csv' names no file; the files are "
        f"{oil.name}, wide.csv\n"
    )
    res = invoke(app, ["calibrate", str(oil), str(wide), "--column", "Price", "--column", "Open"])
    assert res.exit_code == 2
    assert res.stderr == (
        "Error: --column Open: the first file's column is already 'Price'; name other files' "
        "columns as FILE=NAME\n"
    )
    args = ["calibrate", str(oil), "--json", "-q"]
    picked = invoke(app, [*args, str(wide), "--column", f"{wide}=DTWEXBGS"])
    plain = invoke(app, [*args, str(usd)])
    assert picked.exit_code == plain.exit_code == 0, picked.output
    a, b = json.loads(picked.stdout)["assets"], json.loads(plain.stdout)["assets"]
    for series in (*a["series"], *b["series"]):
        series.pop("file")
    assert a == b


def test_rolling_vol_chart_breaks_its_line_across_an_excluded_window() -> None:
    """Two segments a year apart (2020 left out): one NaN between them, none inside."""
    from types import SimpleNamespace

    from simulator.calibrate.charts import ROLLING_DAYS, rolling_vol_figure

    rng = np.random.default_rng(3)
    before = np.busday_offset(np.datetime64("2019-01-02"), np.arange(200), roll="forward")
    after = np.busday_offset(np.datetime64("2021-01-04"), np.arange(200), roll="forward")
    dates = np.r_[before, after].astype("datetime64[D]")
    cal = SimpleNamespace(
        sample=SimpleNamespace(returns=rng.normal(0, 0.02, dates.size), return_dates=dates),
        simulated=rng.normal(0, 0.02, (3, dates.size)),
    )
    line = rolling_vol_figure(cal).axes[0].get_lines()[0]  # type: ignore[arg-type]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert y.size == dates.size - ROLLING_DAYS + 2
    gap = np.flatnonzero(np.isnan(y))
    assert gap.tolist() == [200 - ROLLING_DAYS + 1]
    x = np.asarray(line.get_xdata())
    assert x[gap[0] - 1] < x[gap[0]] < x[gap[0] + 1]
