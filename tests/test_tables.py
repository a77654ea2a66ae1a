"""Report tables: stable number formatting, CSV and Markdown, event frequencies."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import event

from simulator.engine import RunConfig, run
from simulator.report.tables import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    event_rows,
    format_number,
    markdown_table,
    summary_markdown,
    summary_rows,
    to_csv,
)
from simulator.scenario import load_scenario


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.1 + 0.2, "0.3"),
        (-0.0, "0"),
        (1e-300, "1e-300"),
        (1234567890.0, "1234567890"),
        (123456789012.0, "1.23456789e+11"),
        (2 / 3, "0.6666666667"),
        (float("nan"), "nan"),
        (70.45, "70.45"),
    ],
)
def test_format_number(x: float, text: str) -> None:
    assert format_number(x) == text


def test_to_csv_is_stable() -> None:
    import numpy as np

    text = to_csv(("a", "b", "c"), [("x", 1, 0.1 + 0.2), ("y,z", 2, np.float64(-0.0))])
    assert text == 'a,b,c\nx,1,0.3\n"y,z",2,0\n'


def test_markdown_table() -> None:
    assert markdown_table(["h1", "h2"], [["a", "b"]]) == "| h1 | h2 |\n|---|---|\n| a | b |\n"


def test_event_rows_and_summary(write_scenario: Any) -> None:
    n = 20_000
    path = write_scenario({"events": {"a": event(0.4, 2), "b": event(0.5, 3, requires=["a"])}})
    result = run(load_scenario(path), RunConfig(paths=n, seed=13))
    rows = {r[1]: dict(zip(EVENT_COLUMNS, r, strict=True)) for r in event_rows(result)}
    a, b = rows["a"], rows["b"]
    assert a["probability_input"] == 0.4
    assert abs(a["frequency_simulated"] - 0.4) < 4 * math.sqrt(0.4 * 0.6 / n)
    assert a["std_error"] == pytest.approx(
        math.sqrt(a["frequency_simulated"] * (1 - a["frequency_simulated"]) / n)
    )
    # b's input probability is conditional on a: compare it with the conditional frequency.
    n_a = round(a["frequency_simulated"] * n)
    assert abs(b["conditional_frequency"] - 0.5) < 4 * math.sqrt(0.25 / n_a)
    assert b["frequency_simulated"] == pytest.approx(b["conditional_frequency"] * n_a / n)
    assert a["frequency_within_horizon"] == a["frequency_simulated"]

    summary = summary_rows(result)
    assert all(len(r) == len(SUMMARY_COLUMNS) for r in summary)
    assert {r[1] for r in summary} == {"brent"}
    md = summary_markdown(result)
    assert md.startswith("# mini: simulated distribution\n")
    assert "## brent (USD/bbl)" in md
    assert "## Events" in md
