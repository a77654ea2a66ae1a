"""The shipped scenarios order the risk assets as a reader of the article expects.

Talks failing rather than a deal: oil and gold higher, the S&P 500 and airlines lower,
Treasury yields lower — at every reporting horizon, by more than 4 standard errors of the
paired (common random numbers) difference of medians.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.compare import compare
from simulator.engine import RunConfig, run
from simulator.output import manifest
from simulator.samples import Sample
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def comparison() -> object:
    config = RunConfig(paths=6_000, seed=7, workers=1)
    samples = []
    for name in ("deal_reached", "talks_fail"):
        result = run(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), config)
        samples.append(Sample.from_result(result, manifest(result, Path("."), [])))
    return compare(samples, reference="deal_reached")


@pytest.mark.parametrize(
    ("asset", "sign"),
    [("brent", 1), ("gold", 1), ("sp500", -1), ("airlines", -1), ("us10y", -1)],
)
@pytest.mark.parametrize("horizon", [5, 21, 63, 126])
def test_talks_fail_against_a_deal(comparison: object, asset: str, sign: int, horizon: int) -> None:
    row = comparison.value("talks_fail", asset, horizon, "p50")  # type: ignore[attr-defined]
    assert sign * row["diff"] > 4 * row["diff_std_error"], row
