"""Portfolios: VaR and ES against closed forms, a one-asset book against its asset, Euler
contributions, the exact tail across blocks, bad portfolio files and the CLI outputs.

Statistical checks use fixed seeds and 4 reported (or theoretical) standard errors.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO, SCENARIOS, q
from scipy import stats

from simulator.cli import app
from simulator.engine import RunConfig, run
from simulator.portfolio import LEVELS, PortfolioSummary, load_portfolio
from simulator.scenario import load_scenario

Z = 4.0


def invoke(runner: Any, *args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], prog_name="sim")


def yield_asset(vol_bp: float, drift_bp: float = 0.0) -> dict[str, Any]:
    return {
        "label": "test yield",
        "rationale": "test asset",
        "kind": "yield",
        "start": q(4.0, "percent"),
        "drift": q(drift_bp, "bp/year"),
        "vol": q(vol_bp, "bp/year"),
        "stressed_vol_multiplier": q(1.0, "multiplier"),
        "beta_supply": q(0.0, "bp per oil %"),
        "risk_off": q(0.0, "bp"),
    }


def price_asset(vol: float) -> dict[str, Any]:
    return {
        "label": "test price",
        "rationale": "test asset",
        "kind": "price",
        "start": q(2000.0, "USD/oz"),
        "drift": q(0.02, "per year"),
        "vol": q(vol, "annualised"),
        "stressed_vol_multiplier": q(1.0, "multiplier"),
        "beta_supply": q(0.0, "beta"),
        "risk_off": q(0.0, "percent"),
    }


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows_of(book: PortfolioSummary) -> dict[tuple[str, int, str], tuple[float, float]]:
    return {(s, h, stat): (v, se) for s, h, stat, v, se in book.rows()}


# --------------------------------------------------------------------------- closed forms


def test_var_and_es_match_closed_forms_for_a_linear_book(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    """A long DV01 position in a yield with no link to oil, over one day: P&L is
    -dv01 x (drift dt + s T) with T a unit-variance Student-t (df 1000, so essentially
    normal; the exact t forms are used). VaR_a = -mu + sigma q_{1-a},
    ES_a = -mu + sigma E[T | T > q_{1-a}], both within 4 of the reported SEs; the reported
    VaR SE agrees with the asymptotic sqrt(a(1-a)/n) / f(q) as far as its own estimate allows.
    """
    nu, vol_bp, drift_bp, dv01 = 1000.0, 80.0, 150.0, 10_000.0
    path = write_scenario(
        {
            "horizon_days": 1,
            "report_horizons_days": [1],
            "assets": {"rates": yield_asset(vol_bp, drift_bp)},
            "correlations": {
                "rationale": "independent of oil",
                "noise_df": q(nu, "degrees of freedom"),
                "pairs": {},
            },
        }
    )
    book = load_portfolio(
        write_text(tmp_path / "book.yaml", f"positions:\n  rates: {{dv01_usd: {dv01}}}\n")
    )
    n = 40_000
    result = run(load_scenario(path), RunConfig(paths=n, seed=11, workers=1), portfolio=book)
    summary = result.summary.portfolio
    assert summary is not None
    assert summary.n == n
    rows = rows_of(summary)

    mu = -dv01 * drift_bp / 252
    sigma = dv01 * vol_bp / math.sqrt(252)
    scale = math.sqrt((nu - 2) / nu)  # standard t -> unit variance
    mean, mean_se = rows[("portfolio", 1, "mean")]
    assert abs(mean - mu) < Z * mean_se
    std, std_se = rows[("portfolio", 1, "std")]
    assert abs(std - sigma) < Z * std_se
    for level, a in LEVELS.items():
        t_q = stats.t.ppf(1 - a, nu)
        var_true = -mu + sigma * scale * t_q
        tail_mean = stats.t.pdf(t_q, nu) / a * (nu + t_q**2) / (nu - 1)
        es_true = -mu + sigma * scale * tail_mean
        var, var_se = rows[("portfolio", 1, f"var_{level}")]
        es, es_se = rows[("portfolio", 1, f"es_{level}")]
        assert abs(var - var_true) < Z * var_se, (level, var, var_true, var_se)
        assert abs(es - es_true) < Z * es_se, (level, es, es_true, es_se)
        assert es > var
        # Reported VaR SE vs the asymptotic one; the estimate spans about
        # 2 sqrt(a(1-a)n) order statistics, so its relative error is about 1/sqrt of that.
        se_true = math.sqrt(a * (1 - a) / n) * sigma * scale / stats.t.pdf(t_q, nu)
        rel = 1 / math.sqrt(2 * math.sqrt(a * (1 - a) * n))
        assert abs(var_se / se_true - 1) < Z * rel, (level, var_se, se_true)
        # The ES SE is of the order of sigma / sqrt(n a) (tail s.d. below sigma).
        assert 0 < es_se < sigma / math.sqrt(n * a)
        # VaR is the loss at the a-quantile of P&L; the p05/p01 rows say the same.
        p_row = rows[("portfolio", 1, {"95": "p05", "99": "p01"}[level])][0]
        assert var == pytest.approx(-p_row, rel=1e-12)


# --------------------------------------------------------------------------- one-asset book


@pytest.fixture(scope="module")
def one_asset_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A long gold book (t noise df 5, correlated with Brent), several blocks."""
    import yaml
    from conftest import scenario_doc

    tmp = tmp_path_factory.mktemp("one_asset")
    doc = scenario_doc(
        {
            "report_horizons_days": [5, 20],
            "assets": {"gold": price_asset(0.35)},
            "correlations": {
                "rationale": "gold and oil",
                "noise_df": q(5, "degrees of freedom"),
                "pairs": {"brent/gold": 0.3},
            },
        }
    )
    path = write_text(tmp / "gold.yaml", yaml.safe_dump(doc, sort_keys=False))
    book = load_portfolio(
        write_text(tmp / "book.yaml", "positions:\n  gold: {notional_usd: 2_000_000}\n")
    )
    config = RunConfig(paths=3000, seed=5, workers=1, block_size=700)
    return run(load_scenario(path), config, portfolio=book)


def test_a_one_asset_book_reproduces_the_asset(one_asset_run: Any) -> None:
    """P&L = notional (level / start - 1) path by path, hence in mean, s.d., probability of
    loss and every quantile: exactly in the kept tail (p01, p05), within one histogram bin
    (2e-4 x gross) elsewhere."""
    result = one_asset_run
    notional = 2_000_000.0
    series = result.summary.series["gold"]
    book = result.summary.portfolio
    assert book is not None
    assert series.exact is not None
    assert book.exact is not None
    start = series.spec.start
    np.testing.assert_allclose(book.exact, notional * (series.exact / start - 1.0), rtol=1e-12)

    asset_rows = {(h, stat): v for _, h, stat, v, _ in series.rows()}
    rows = rows_of(book)
    width = 2e-4 * notional
    for i, h in enumerate(result.horizons):
        assert rows[("portfolio", h, "mean")][0] == pytest.approx(
            notional * (asset_rows[(h, "mean")] / start - 1.0), rel=1e-9
        )
        assert rows[("portfolio", h, "std")][0] == pytest.approx(
            notional * asset_rows[(h, "std")] / start, rel=1e-9
        )
        assert rows[("portfolio", h, "prob_loss")][0] == float(np.mean(series.exact[:, i] < start))
        for stat in ("p01", "p05"):
            assert rows[("portfolio", h, stat)][0] == pytest.approx(
                notional * (asset_rows[(h, stat)] / start - 1.0), rel=1e-10
            )
        for stat in ("p25", "p50", "p75", "p95", "p99"):
            expected = notional * (asset_rows[(h, stat)] / start - 1.0)
            assert abs(rows[("portfolio", h, stat)][0] - expected) <= width, (h, stat)


def test_var_es_come_from_the_exact_tail_across_blocks(one_asset_run: Any) -> None:
    """The worst paths kept per block and trimmed at each merge give the same VaR and ES
    as the full sample: VaR = -quantile(P&L, a) (linear interpolation), ES = mean loss of the
    ceil(a n) worst paths; every position's ES contributions sum to ES."""
    book = one_asset_run.summary.portfolio
    n = book.n
    rows = rows_of(book)
    for i, h in enumerate(one_asset_run.horizons):
        pnl = np.sort(book.exact[:, i])
        for level, a in LEVELS.items():
            k = math.ceil(a * n)
            assert rows[("portfolio", h, f"var_{level}")][0] == pytest.approx(
                -np.quantile(pnl, a), rel=1e-12
            )
            es = rows[("portfolio", h, f"es_{level}")][0]
            assert es == pytest.approx(-pnl[:k].mean(), rel=1e-12)
            assert rows[("gold", h, f"portfolio_es_{level}_contribution")][0] == pytest.approx(
                es, rel=1e-12
            )


def test_es_contributions_sum_to_es_for_the_sample_book() -> None:
    loaded = load_scenario(SCENARIOS / "baseline.yaml")
    book = load_portfolio(REPO / "portfolios" / "sample.yaml")
    result = run(
        loaded,
        RunConfig(paths=2500, seed=3, workers=1, horizon_days=21, block_size=600),
        portfolio=book,
    )
    summary = result.summary.portfolio
    assert summary is not None
    rows = rows_of(summary)
    names = list(book.portfolio.positions)
    assert summary.names == names
    for h in result.horizons:
        for level in LEVELS:
            es = rows[("portfolio", h, f"es_{level}")][0]
            var = rows[("portfolio", h, f"var_{level}")][0]
            parts = [rows[(name, h, f"portfolio_es_{level}_contribution")][0] for name in names]
            assert sum(parts) == pytest.approx(es, rel=1e-9, abs=1e-6)
            assert es >= var
        # The exposures: weights x value, DV01 from duration.
    assert book.exposures()["us10y"] == ("dv01", pytest.approx(2400.0))
    assert book.exposures()["sp500"] == ("notional", pytest.approx(4_000_000.0))
    assert book.exposures()["brent"] == ("notional", -500_000.0)


def test_upper_quantiles_of_a_yield_book_beyond_300bp(
    tmp_path: Path, write_scenario: Callable[..., Path]
) -> None:
    """A short DV01 position in a volatile yield (400 bp/yr over 63 days: s.d. 200 bp): the
    P&L's p99 (about 2.33 x 200 bp x DV01 = 465 bp x DV01) must equal the exact quantile of
    the per-path P&L the run keeps, within one histogram bin."""
    path = write_scenario(
        {
            "horizon_days": 63,
            "report_horizons_days": [63],
            "assets": {"rates": yield_asset(400.0)},
            "correlations": {
                "rationale": "independent of oil",
                "noise_df": q(1000, "degrees of freedom"),
                "pairs": {},
            },
        }
    )
    book = load_portfolio(
        write_text(tmp_path / "book.yaml", "positions:\n  rates: {dv01_usd: -1000}\n")
    )
    result = run(load_scenario(path), RunConfig(paths=2000, seed=1, workers=1), portfolio=book)
    summary = result.summary.portfolio
    assert summary is not None
    assert summary.exact is not None
    rows = rows_of(summary)
    for stat, level in (("p95", 0.95), ("p99", 0.99)):
        exact = float(np.quantile(summary.exact[:, 0], level))
        assert exact > 3 * 100 * 1000  # beyond the histogram's range
        assert abs(rows[("portfolio", 63, stat)][0] - exact) <= summary.width, stat


# --------------------------------------------------------------------------- bad files (CLI)


BASELINE = SCENARIOS / "baseline.yaml"


def _bad_run(runner: Any, tmp_path: Path, portfolio: Path) -> str:
    out = tmp_path / "out"
    result = invoke(
        runner,
        "run",
        BASELINE,
        "--portfolio",
        portfolio,
        "--paths",
        "100",
        "--workers",
        "1",
        "--quiet",
        "--out",
        out,
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert not out.exists() or not any(out.iterdir())
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


BAD_FILES = {
    "unknown_asset": (
        "name: p\npositions:\n  sp500: {notional_usd: 1000}\n  copper: {notional_usd: 5}\n",
        "{file}:4: positions.copper: unknown asset 'copper' for scenario 'baseline' "
        "(known: brent, sp500, energy, airlines, em_equities, gold, us10y, usd)",
    ),
    "weight_not_a_number": (
        "name: p\nvalue_usd: 1000\npositions:\n  sp500:\n    weight: abc\n",
        "{file}:5: positions.sp500.weight: Input should be a valid number, got 'abc'",
    ),
    "yield_without_dv01": (
        "name: p\npositions:\n  gold: {notional_usd: 1}\n  us10y: {notional_usd: 1000}\n",
        "{file}:4: positions.us10y: a yield position needs dv01_usd, or duration_years with "
        "its notional",
    ),
    "price_with_duration": (
        "name: p\npositions:\n  gold: {notional_usd: 1, duration_years: 5}\n",
        "{file}:3: positions.gold: dv01_usd and duration_years apply to yields only",
    ),
    "two_sizes": (
        "name: p\npositions:\n  sp500: {notional_usd: 1000, dv01_usd: 3}\n",
        "{file}:3: positions.sp500: give exactly one of notional_usd, weight or dv01_usd "
        "(got notional_usd, dv01_usd)",
    ),
    "unknown_key": (
        "name: p\npositions:\n  sp500: {notional: 1000}\n",
        None,
    ),
    "yaml_error": (
        "name: p\npositions:\n  sp500: {notional_usd: 1000\n  gold: 3\n",
        "{file}:4: YAML error: expected ',' or '}', but got ':'",
    ),
    "not_a_mapping": ("- a\n- b\n", "{file}:1: a portfolio must be a YAML mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_portfolio_files_exit_2_with_one_exact_line(
    runner: Any, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_FILES[case]
    path = write_text(tmp_path / f"{case}.yaml", text)
    line = _bad_run(runner, tmp_path, path)
    if expected is None:  # unknown key: the message lists the allowed ones
        assert line.startswith(f"Error: {path}:3: positions.sp500.notional: unknown field")
        assert "notional_usd" in line
    else:
        assert line == "Error: " + expected.replace("{file}", str(path))


def test_missing_portfolio_file(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert _bad_run(runner, tmp_path, path) == f"Error: {path}: file not found"


def test_weights_without_value_usd_name_the_position(runner: Any, tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "noval.yaml",
        "name: p\npositions:\n  gold: {notional_usd: 1000}\n  sp500: {weight: 0.5}\n",
    )
    line = _bad_run(runner, tmp_path, path)
    tail = ": position 'sp500' is a weight: give value_usd, the book's value"
    assert line in {
        f"Error: {path}:4: positions.sp500.weight{tail}",
        f"Error: {path}:4: positions.sp500{tail}",
    }, line


def test_weights_without_value_usd_are_refused(runner: Any, tmp_path: Path) -> None:
    """What holds today: exit 2, one line naming the file and the position."""
    path = write_text(
        tmp_path / "noval.yaml",
        "name: p\npositions:\n  gold: {notional_usd: 1000}\n  sp500: {weight: 0.5}\n",
    )
    line = _bad_run(runner, tmp_path, path)
    assert line.startswith(f"Error: {path}:")
    assert line.endswith(": position 'sp500' is a weight: give value_usd, the book's value")


# --------------------------------------------------------------------------- CLI outputs


def test_sim_run_with_the_sample_portfolio_writes_its_outputs(runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        runner,
        "run",
        BASELINE,
        "--portfolio",
        REPO / "portfolios" / "sample.yaml",
        "--paths",
        "2000",
        "--seed",
        "9",
        "--workers",
        "1",
        "--quiet",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    target = out / "baseline"
    assert result.stdout.strip() == str(target.resolve())
    for name in ("portfolio.md", "portfolio_pnl.png"):
        assert (target / name).stat().st_size > 0
    assert (target / "portfolio_pnl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "sample" in (target / "portfolio.md").read_text(encoding="utf-8")

    rows = list(csv.DictReader(io.StringIO((target / "summary.csv").read_text("utf-8"))))
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    horizons = manifest["horizons_days"]
    assert horizons == [5, 21, 63, 126]
    book = {(int(r["horizon_days"]), r["statistic"]): r for r in rows if r["asset"] == "portfolio"}
    for h in horizons:
        for stat in ("var_95", "es_95", "var_99", "es_99", "mean", "std", "prob_loss"):
            assert (h, stat) in book, (h, stat)
            assert float(book[(h, stat)]["std_error"]) > 0
        assert float(book[(h, "es_95")]["value"]) >= float(book[(h, "var_95")]["value"])
        assert float(book[(h, "es_99")]["value"]) >= float(book[(h, "var_99")]["value"])
        assert float(book[(h, "var_99")]["value"]) >= float(book[(h, "var_95")]["value"])
        contributions = [
            float(r["value"])
            for r in rows
            if int(r["horizon_days"]) == h and r["statistic"] == "portfolio_es_95_contribution"
        ]
        assert len(contributions) == 7
        assert sum(contributions) == pytest.approx(float(book[(h, "es_95")]["value"]), rel=1e-7)
    assert manifest["portfolio"]["exposures_usd"]["us10y"] == {"kind": "dv01", "amount": 2400.0}
    assert {"portfolio.md", "portfolio_pnl.png"} <= set(manifest["files"])


def test_a_notional_in_exponent_form_is_a_number(tmp_path: Path) -> None:
    path = tmp_path / "book.yaml"
    path.write_text("name: p\npositions:\n  gold: {notional_usd: 1e6}\n", encoding="utf-8")
    assert load_portfolio(path).portfolio.positions["gold"].notional_usd == 1_000_000.0


# --------------------------------------------------------------------------- workers


def test_compacted_portfolio_counts_merge_as_int64() -> None:
    rng = np.random.default_rng(4)
    pnl = rng.normal(0.0, 1.0, size=(2_000, 2, 3))
    book = PortfolioSummary.of(["a", "b", "c"], np.array([1, 5]), pnl, 50, gross=10.0)
    small = book.compacted()
    assert (book.counts.dtype, small.counts.dtype) == (np.int64, np.uint16)
    np.testing.assert_array_equal(small.counts, book.counts)
    np.testing.assert_array_equal(small.merge(small).counts, 2 * book.counts)
    # Two compacted parts whose sum does not fit their type: merged without wrapping.
    full = dataclasses.replace(small, counts=np.full_like(small.counts, 40_000))
    merged = full.merge(full)
    assert merged.counts.dtype == np.int64
    assert (merged.counts == 80_000).all()


def test_a_book_is_the_same_on_one_and_on_two_workers() -> None:
    """Two workers get tasks of two blocks and then single blocks, sent to the parent with
    compacted counts: the book's moments, tails and histogram are those of one process, bit
    for bit (its quantiles here come from the exact values, all kept at 4,000 paths)."""
    loaded = load_scenario(SCENARIOS / "talks_fail.yaml")
    book = load_portfolio(REPO / "portfolios" / "sample.yaml")
    base = {"paths": 4_000, "seed": 8, "horizon_days": 21, "block_size": 100}
    one = run(loaded, RunConfig(**base, workers=1), portfolio=book)  # type: ignore[arg-type]
    two = run(loaded, RunConfig(**base, workers=2), portfolio=book)  # type: ignore[arg-type]
    assert one.summary.portfolio is not None
    assert two.summary.portfolio is not None
    assert one.summary.portfolio.rows() == two.summary.portfolio.rows()
    np.testing.assert_array_equal(one.summary.portfolio.counts, two.summary.portfolio.counts)
    assert two.summary.portfolio.counts.dtype == np.int64
