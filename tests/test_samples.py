"""Per-path samples of a run: the ``paths.npz`` round trip and ``fan.csv``."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import event, q, scenario_doc

from simulator.engine import RunConfig, run
from simulator.output import write_run
from simulator.portfolio import load_portfolio
from simulator.reduce import BIN_WIDTH
from simulator.samples import FAN_LEVELS, Sample
from simulator.scenario import load_scenario

FAN_HEADER = ["scenario", "asset", "day", "date", "p05", "p25", "p50", "p75", "p95"]


def _asset(kind: str) -> dict[str, Any]:
    price = kind == "price"
    return {
        "label": kind,
        "rationale": "test asset",
        "kind": kind,
        "start": q(2000.0, "USD/oz") if price else q(4.2, "percent"),
        "drift": q(0.0, "per year" if price else "bp/year"),
        "vol": q(0.15 if price else 80.0, "annualised" if price else "bp/year"),
        "stressed_vol_multiplier": q(1.2, "multiplier"),
        "beta_supply": q(0.1 if price else -0.2, "beta" if price else "bp per oil %"),
        "risk_off": q(1.0 if price else -4.0, "percent" if price else "bp"),
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A run with a price asset, a yield, an event and a portfolio, written to disk."""
    tmp = tmp_path_factory.mktemp("samples")
    doc = scenario_doc(
        {
            "name": "round_trip",
            "horizon_days": 30,
            "report_horizons_days": [5, 20],
            "events": {
                "scare": event(
                    0.4,
                    4,
                    risk_premium={"size": q(3.0, "USD/bbl"), "half_life": q(5, "trading days")},
                    risk_off={"size": q(1.0, "risk-off units"), "half_life": q(3, "trading days")},
                )
            },
            "assets": {"gold": _asset("price"), "us10y": _asset("yield")},
            "correlations": {
                "rationale": "test correlations",
                "noise_df": q(6, "degrees of freedom"),
                "pairs": {"brent/gold": 0.1, "brent/us10y": 0.2, "gold/us10y": -0.3},
            },
        }
    )
    path = tmp / "round_trip.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    book_file = tmp / "book.yaml"
    book_file.write_text(
        "positions:\n  gold: {notional_usd: 100000}\n  us10y: {dv01_usd: 50}\n", encoding="utf-8"
    )
    result = run(
        load_scenario(path),
        RunConfig(paths=1500, seed=21, workers=1, block_size=400),
        portfolio=load_portfolio(book_file),
    )
    target = write_run(result, tmp / "out")
    return result, target


def test_paths_npz_round_trip(written: tuple[Any, Path]) -> None:
    """Sample.from_directory gives back what Sample.from_result holds: the same name,
    horizons, series specs, per-path values (bit for bit) and, to the 10 digits fan.csv
    keeps, the same fan quantiles on the same dates."""
    result, target = written
    meta = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert "paths.npz" in meta["files"]
    direct = Sample.from_result(result, meta)
    loaded = Sample.from_directory(target)

    assert loaded.name == direct.name == "round_trip"
    assert loaded.horizons == direct.horizons == [5, 20, 30]
    assert loaded.meta == meta
    # Specs agree field by field (the manifest spells out the default statistic names).
    assert set(loaded.specs) == set(direct.specs)
    for name, spec in direct.specs.items():
        other = loaded.specs[name]
        assert (other.name, other.unit, other.start, other.kind) == (
            spec.name,
            spec.unit,
            spec.start,
            spec.kind,
        )
        assert other.thresholds_above == spec.thresholds_above
        assert other.thresholds_below == spec.thresholds_below
        assert other.statistic_names() == spec.statistic_names()
    assert set(loaded.specs) == {"brent", "gold", "us10y"}
    assert set(loaded.values) == set(direct.values) == {"brent", "gold", "us10y", "portfolio"}
    for name, values in direct.values.items():
        assert values.shape == (1500, 3)
        assert loaded.values[name].dtype == values.dtype
        np.testing.assert_array_equal(loaded.values[name], values)
    assert loaded.n == direct.n == 1500
    assert set(loaded.fan) == set(direct.fan) == {"brent", "gold", "us10y"}
    for name, (dates, quantiles) in direct.fan.items():
        assert loaded.fan[name][0] == dates
        np.testing.assert_allclose(loaded.fan[name][1], quantiles, rtol=1e-9, atol=0)
    assert len(loaded.events) == len(direct.events) == 1
    for key, value in direct.events[0].items():
        got = loaded.events[0][key]
        try:
            assert float(got) == pytest.approx(float(value), rel=1e-9)
        except ValueError:
            assert got == value


def test_per_path_values_are_the_levels_at_the_horizons(written: tuple[Any, Path]) -> None:
    """The stored values are levels (USD/bbl, USD/oz, percent) and the portfolio's P&L:
    P&L = notional (gold / start - 1) - dv01 (yield change in bp), path by path."""
    result, target = written
    s = Sample.from_directory(target)
    gold, rates = s.values["gold"], s.values["us10y"]
    assert np.all(s.values["brent"] > 0)
    assert np.all(gold > 0)
    pnl = 100_000 * (gold / 2000.0 - 1) - 50 * (rates - 4.2) * 100
    np.testing.assert_allclose(s.values["portfolio"], pnl, rtol=1e-9, atol=1e-6)
    # Means agree with the run's own summary.
    for name in ("brent", "gold", "us10y"):
        np.testing.assert_allclose(
            s.values[name].mean(axis=0), result.summary.series[name].moments.mean, rtol=1e-12
        )


def test_fan_csv_header_dates_and_monotone_quantiles(written: tuple[Any, Path]) -> None:
    result, target = written
    text = (target / "fan.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == FAN_HEADER
    assert [f"p{round(x * 100):02d}" for x in FAN_LEVELS] == FAN_HEADER[4:]
    rows = list(csv.DictReader(io.StringIO(text)))
    by_asset: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        assert row["scenario"] == "round_trip"
        by_asset.setdefault(row["asset"], []).append(row)
    assert list(by_asset) == ["brent", "gold", "us10y"]
    dates = result.dates()
    for name, series_rows in by_asset.items():
        days = [int(r["day"]) for r in series_rows]
        assert days == sorted(set(days))
        assert days[0] == 0
        assert days[-1] == 30
        assert {5, 20, 30} <= set(days)
        assert [r["date"] for r in series_rows] == [str(dates[d]) for d in days]
        iso = [np.datetime64(r["date"]) for r in series_rows]
        assert all(np.is_busday(iso))
        assert all(a < b for a, b in itertools.pairwise(iso))
        assert series_rows[0]["date"] == "2026-02-06"
        start = result.summary.series[name].spec.start
        for r in series_rows:
            values = [float(r[c]) for c in FAN_HEADER[4:]]
            assert all(a <= b for a, b in itertools.pairwise(values)), r
            if r["day"] == "0":
                assert values == pytest.approx([start] * 5, rel=1e-9)
            else:
                assert values[0] < values[-1]


def test_fan_quantiles_at_the_horizons_match_the_exact_ones(written: tuple[Any, Path]) -> None:
    """The fan comes from fixed-bin histograms: at each horizon its quantiles lie within one
    bin (plus the neighbouring order statistics) of the exact per-path quantiles."""
    result, target = written
    s = Sample.from_directory(target)
    for name in ("brent", "gold", "us10y"):
        spec = s.specs[name]
        _, fan = s.fan[name]
        days = list(result.summary.series[name].fan_days)
        w = BIN_WIDTH[spec.kind]
        for i, h in enumerate(s.horizons):
            x = np.sort(spec.transform(s.values[name][:, i]))
            row = fan[days.index(h)]
            for level, value in zip(FAN_LEVELS, row, strict=True):
                j = level * x.size
                lo = x[max(0, math.floor(j) - 1)] - w
                hi = x[min(x.size - 1, math.ceil(j) + 1)] + w
                assert lo <= float(spec.transform(np.array(value))) <= hi, (name, h, level)
