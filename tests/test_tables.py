"""Report tables: stable number formatting, CSV and Markdown, event frequencies."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import asset, event, q

from simulator.engine import RunConfig, run
from simulator.report.tables import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    cell_digits,
    event_rows,
    format_number,
    format_stat,
    markdown_table,
    stat_digits,
    summary_markdown,
    summary_rows,
    to_csv,
    zero_probability_note,
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


def test_a_drawn_probability_is_shown_as_its_mean(write_scenario: Any) -> None:
    """A Beta(3, 2) probability is drawn per path: the tables give its mean, 0.6, marked as
    a mean, and the frequency over all paths matches it within 4 standard errors."""
    n = 20_000
    drawn = {"dist": "beta", "a": 3, "b": 2, "unit": "probability", "rationale": "uncertain"}
    path = write_scenario({"events": {"a": {**event(), "probability": drawn}, "b": event(0.4)}})
    result = run(load_scenario(path), RunConfig(paths=n, seed=13))
    rows = {r[1]: dict(zip(EVENT_COLUMNS, r, strict=True)) for r in event_rows(result)}
    assert rows["a"]["probability_input"] == pytest.approx(0.6)
    assert abs(rows["a"]["frequency_simulated"] - 0.6) < 4 * math.sqrt(0.24 / n)
    md = summary_markdown(result)
    assert "\n| a | 0.6 (mean) | " in md
    assert "\n| b | 0.4 | " in md


@pytest.mark.parametrize(
    ("unit", "statistic", "digits"),
    [
        ("USD/bbl", "mean", 2),
        ("index points", "p50", 2),
        ("percent", "mean", 3),
        ("percent", "p05", 3),
        ("percent", "prob_up_50bp", 4),
        ("USD/bbl", "prob_above_100", 4),
    ],
)
def test_stat_digits(unit: str, statistic: str, digits: int) -> None:
    assert stat_digits(unit, statistic) == digits


@pytest.mark.parametrize(
    ("args", "text"),
    [
        # A yield in percent: 0.1 bp, so a standard error of 0.12 bp is not "0.00".
        ((4.21349, 0.00123, 3), "4.213 ± 0.001"),
        # Positive but below half the last digit: shown as a bound, not as zero.
        ((4.21349, 0.0004, 3), "4.213 ± <0.001"),
        ((0.5, 0.00004, 4), "0.5000 ± <0.0001"),
        # An exact zero (a probability of 0) is a zero.
        ((0.0, 0.0, 4), "0.0000 ± 0.0000"),
        # Prices keep two decimals.
        ((6012.345, 1.234, 2), "6012.35 ± 1.23"),
        ((6012.345, 1.234, 2, True), "6,012.35 ± 1.23"),
        ((-0.25, 0.0123, 3, False, True), "-0.250 ± 0.012"),
        ((0.25, 0.0123, 3, False, True), "+0.250 ± 0.012"),
    ],
)
def test_format_stat(args: tuple[Any, ...], text: str) -> None:
    assert format_stat(*args) == text


def test_summary_markdown_yield_precision(write_scenario: Any) -> None:
    """A yield's cells have three decimals, so a standard error under 0.5 bp is visible."""
    path = write_scenario(
        {
            "assets": {"y10": asset("yield", 80.0, label="10-year yield")},
            "correlations": {"rationale": "none", "noise_df": q(6.0, "degrees of freedom")},
        }
    )
    result = run(load_scenario(path), RunConfig(paths=4000, seed=5))
    md = summary_markdown(result)
    y10 = md.split("## y10 (percent)")[1].split("## ")[0]
    rows = {(h, s): (v, e) for _, h, s, v, e in result.summary.series["y10"].rows()}
    v, se = rows[(5, "mean")]
    # The case of the audit: this standard error printed as "0.00" with two decimals.
    assert 0.0005 <= se < 0.005
    cell = f"{v:.3f} ± {se:.3f}"
    assert f"| 5 | {cell} |" in y10
    assert " ± 0.00 " not in y10
    assert " ± 0.00 |" not in y10
    # Probabilities keep four decimals; Brent, a price, keeps two.
    p, p_se = rows[(20, "prob_up_50bp")]
    assert f"{p:.4f} ± {p_se:.4f}" in y10
    brent = {(h, s): (v, e) for _, h, s, v, e in result.summary.series["brent"].rows()}
    b, b_se = brent[(5, "mean")]
    assert f"| 5 | {b:.2f} ± {b_se:.2f} |" in md.split("## brent (USD/bbl)")[1]


@pytest.mark.parametrize(("n", "bound"), [(20_000, "0.00015"), (1_000, "0.003"), (7, "0.35")])
def test_zero_probability_note_gives_the_exact_upper_bound(n: int, bound: str) -> None:
    """Zero paths out of n: the p with (1 - p)^n = 0.05, about 3/n for large n."""
    assert zero_probability_note(n) == (
        f"A probability of 0 means that no path got there: with {n:,} paths the true "
        f"probability is below {bound} at 95% confidence."
    )


@pytest.mark.parametrize(
    ("unit", "asset", "stat", "probability_digits", "digits"),
    [
        ("USD/bbl", "brent", "p50", None, 2),
        ("percent", "us10y", "mean", None, 3),
        ("USD", "portfolio", "var_99", None, 0),
        ("USD", "portfolio", "prob_loss", None, 4),
        ("USD/bbl", "brent", "prob_ever_above_100", None, 4),
        ("USD/bbl", "brent", "prob_above_100", 3, 3),
        ("USD/bbl", "brent", "p05", 3, 2),
    ],
)
def test_comparison_cells_take_the_digits_of_sim_run(
    unit: str, asset: str, stat: str, probability_digits: int | None, digits: int
) -> None:
    assert cell_digits(unit, asset, stat, probability_digits) == digits
