"""Price-file readers and sample checks of ``sim calibrate`` (synthetic files only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer

from simulator.calibrate import data
from simulator.calibrate.command import register
from simulator.errors import ScenarioError


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def business_days(n: int, start: str = "2015-01-02") -> np.ndarray:
    return np.busday_offset(np.datetime64(start), np.arange(n), roll="forward")


def price_csv(n: int, header: str = "Date,Price", start: str = "2015-01-02") -> str:
    rng = np.random.default_rng(0)
    p = 60.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    rows = [header] + [f"{d},{v:.4f}" for d, v in zip(business_days(n, start), p, strict=True)]
    return "\n".join(rows) + "\n"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _main() -> None:
        """Test app."""

    register(app)
    return app


# --------------------------------------------------------------------------- layouts


def test_eia_layout(tmp_path: Path) -> None:
    s = data.read_prices(write(tmp_path, "Date,Price\n2020-01-02,66.25\n2020-01-03,68.6\n"))
    assert s.name == "Price"
    assert s.dates.tolist() == [np.datetime64("2020-01-02"), np.datetime64("2020-01-03")]
    np.testing.assert_allclose(s.values, [66.25, 68.6])
    assert s.lines.tolist() == [2, 3]


def test_fred_layout_with_dots_and_blanks(tmp_path: Path) -> None:
    text = "observation_date,DGS10\n2015-01-01,\n2015-01-02,2.12\n2015-01-05,.\n2015-01-06,1.97\n"
    s = data.read_prices(write(tmp_path, text))
    assert s.name == "DGS10"
    assert [str(d) for d in s.dates] == ["2015-01-02", "2015-01-06"]
    assert s.lines.tolist() == [3, 5]


def test_generic_layout_and_other_date_forms(tmp_path: Path) -> None:
    s = data.read_prices(write(tmp_path, "date,value\n01/02/2015,10\n2015/01/05,11\n"))
    assert [str(d) for d in s.dates] == ["2015-01-02", "2015-01-05"]


def test_wide_file_picks_close_or_column(tmp_path: Path) -> None:
    text = "DATE,OPEN,HIGH,LOW,CLOSE\n1990-01-02,17.2,17.3,17.1,17.24\n"
    path = write(tmp_path, text)
    assert data.read_prices(path).name == "CLOSE"
    assert data.read_prices(path, column="high").values.tolist() == [17.3]


def test_unsorted_dates_are_sorted(tmp_path: Path) -> None:
    s = data.read_prices(write(tmp_path, "Date,Price\n2020-01-03,2\n2020-01-02,1\n"))
    assert [str(d) for d in s.dates] == ["2020-01-02", "2020-01-03"]
    assert s.values.tolist() == [1.0, 2.0]
    assert s.lines.tolist() == [3, 2]
    assert s.notes == ("rows were not in date order and were sorted",)


def test_exclusion_splits_segments(tmp_path: Path) -> None:
    s = data.read_prices(write(tmp_path, price_csv(800)))
    w = data.parse_window("2016-01-01:2016-03-31")
    smp = data.prepare(s, exclude=(w,))
    assert smp.segment_starts.tolist()[0] == 0
    assert len(smp.price_segments) == 2
    assert not np.any((smp.return_dates >= w.start) & (smp.return_dates <= w.end))
    assert smp.returns.size == len(smp.series) - 2


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Date,Price\n2020-01-02,1\n2020-13-45,2\n",
            "prices.csv:3: Date: cannot read date '2020-13-45' (expected YYYY-MM-DD)",
        ),
        (
            "Date,Price\n2020-01-02,1\n2020-01-03,abc\n",
            "prices.csv:3: Price: cannot read number 'abc'",
        ),
        (
            "Date,Price\n2020-01-02,1\n2020-01-03,2\n2020-01-02,3\n",
            "prices.csv:4: Date: date 2020-01-02 appears twice (lines 2 and 4)",
        ),
        (
            "Date,Open,Close2\n2020-01-02,1,2\n",
            "prices.csv:1: several value columns (Open, Close2): choose one with --column",
        ),
        ("", "prices.csv: file is empty"),
        ("Date,Price\n2020-01-02,.\n", "prices.csv: Price: no observations in column 'Price'"),
    ],
)
def test_read_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        data.read_prices("prices.csv")
    assert str(info.value) == message


def test_unknown_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "Date,Price\n2020-01-02,1\n")
    with pytest.raises(ScenarioError, match=r"^prices.csv:1: --column: no column 'Close'; "):
        data.read_prices("prices.csv", column="Close")


def test_non_positive_price(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = price_csv(400).replace("\n2015-06-01,", "\n2015-06-01,-36.98\n2015-06-01x,", 1)
    text = "\n".join(line for line in text.splitlines() if "x," not in line) + "\n"
    write(tmp_path, text)
    s = data.read_prices("prices.csv")
    with pytest.raises(ScenarioError) as info:
        data.prepare(s)
    line = int(s.lines[np.flatnonzero(s.values < 0)[0]])
    assert str(info.value) == (
        f"prices.csv:{line}: Price: price -36.98 on 2015-06-01 is not positive and log "
        "returns need positive prices: start after it (--since 2015-06-02), leave it out "
        "(--exclude 2015-06-01:2015-06-01) or drop the line"
    )
    assert data.prepare(s, since="2015-06-02").returns.size > 250
    assert data.prepare(s, exclude=(data.parse_window("2015-06-01:2015-06-01"),)).returns.size


def test_too_few_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, price_csv(100))
    s = data.read_prices("prices.csv")
    with pytest.raises(ScenarioError) as info:
        data.prepare(s)
    assert str(info.value) == (
        "prices.csv: Price: only 99 daily returns; calibration needs at least 250"
    )


def test_large_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = price_csv(400).splitlines()
    del lines[101:121]  # four weeks missing
    write(tmp_path, "\n".join(lines) + "\n")
    s = data.read_prices("prices.csv")
    with pytest.raises(ScenarioError) as info:
        data.prepare(s)
    assert str(info.value) == (
        "prices.csv:102: Price: gap of 29 days between 2015-05-21 and 2015-06-19 (at most 10 "
        "allowed for daily data): choose a sample without it with --since/--until or --exclude"
    )


def test_bad_window() -> None:
    with pytest.raises(ScenarioError) as info:
        data.parse_window("2020")
    assert str(info.value) == (
        "--exclude: '2020' is not a date range START:END such as 2020-01-01:2020-12-31"
    )


# --------------------------------------------------------------------------- CLI


def test_cli_bad_date_exit_2_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer, runner: object
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "Date,Price\n2020-01-02,1\nyesterday,2\n")
    res = runner.invoke(app, ["calibrate", "prices.csv"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (
        "Error: prices.csv:3: Date: cannot read date 'yesterday' (expected YYYY-MM-DD)\n"
    )


def test_cli_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer, runner: object
) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["calibrate", "nope.csv"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr == "Error: nope.csv: no such file\n"


def test_cli_too_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: typer.Typer, runner: object
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, price_csv(100))
    res = runner.invoke(app, ["calibrate", "prices.csv"])  # type: ignore[attr-defined]
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith("Error: prices.csv: Price: only 99 daily returns")


def test_a_monthly_file_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    months = np.arange(np.datetime64("2000-01"), np.datetime64("2030-01")).astype("datetime64[D]")
    write(tmp_path, "Date,Price\n" + "".join(f"{d},{50 + i % 7}\n" for i, d in enumerate(months)))
    with pytest.raises(ScenarioError) as info:
        data.prepare(data.read_prices("prices.csv"))
    assert str(info.value) == (
        "prices.csv:3: Price: gap of 31 days between 2000-01-01 and 2000-02-01 (at most 10 "
        "allowed for daily data): the file looks monthly (a median of 31 days between "
        "observations): calibration needs daily prices"
    )


def test_gaps_across_an_excluded_window_and_of_a_week_more_when_weekly_are_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lines = price_csv(400).splitlines()
    del lines[101:111]  # two weeks of business days missing
    write(tmp_path, "\n".join(lines) + "\n")
    s = data.read_prices("prices.csv")
    with pytest.raises(ScenarioError, match="gap of 15 days between 2015-05-21 and 2015-06-05"):
        data.check_gaps(s)
    data.check_gaps(s, weekly=True)  # at most 17 days
    data.check_gaps(s, (data.parse_window("2015-05-22:2015-06-04"),))
