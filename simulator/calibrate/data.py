"""Price files in, clean daily series out: layout detection, filtering, alignment.

Reads the common CSV layouts without configuration:

* EIA spot prices: ``Date,Price``;
* FRED series: ``observation_date,SERIES`` with blank or ``.`` for missing days;
* generic ``date,value`` files, or wider files with a ``close``/``price``/``value`` column
  (``--column`` picks any other).

Missing values (blank, ``.``, ``NA``, ``NaN``, ``#N/A``, ``null``) are skipped: they are
holidays. Rows out of date order are sorted; a date that occurs twice is an error. Every
problem becomes a :class:`~simulator.errors.ScenarioError` naming the file, the line and the
column.

A series is a *price* (it moves in log returns) or a *yield* in percent (it moves in
basis-point changes, like a scenario's ``kind: yield`` asset): :func:`detect_kind` tells
them apart by the column name (FRED's ``DGS10`` and friends); ``--kind`` overrides it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from simulator.errors import ScenarioError
from simulator.files import read_bounded

__all__ = [
    "MAX_GAP_DAYS",
    "MIN_RETURNS",
    "SERIES_KINDS",
    "PriceSeries",
    "Sample",
    "SeriesKind",
    "Window",
    "align",
    "check_gaps",
    "check_positive",
    "detect_kind",
    "parse_kind",
    "parse_window",
    "prepare",
    "read_prices",
    "weekly_index",
]

#: Fewest daily returns a calibration accepts (about one trading year).
MIN_RETURNS = 250
#: Longest calendar gap between consecutive observations inside the sample.
MAX_GAP_DAYS = 10
MAX_FILE_BYTES = 50_000_000

_MISSING = {"", ".", "na", "n/a", "nan", "#n/a", "null", "none", "-"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%b %d, %Y", "%Y%m%d")
_VALUE_NAMES = ("close", "adj close", "adj_close", "price", "value", "settle", "last")

#: How a series moves: a price in log returns, a yield (in percent) in basis-point changes.
SeriesKind = Literal["price", "yield"]
SERIES_KINDS: tuple[SeriesKind, ...] = get_args(SeriesKind)

# Column names of interest rates in percent: FRED Treasury constant maturities (DGS10,
# DGS3MO), their monthly averages (GS10), TIPS (DFII10), bills (DTB3, TB3MS), curve spreads
# (T10Y2Y), policy and money-market rates, OECD long rates; or a column named yield/rate.
_YIELD_NAME = re.compile(
    r"(DGS\d+(MO)?|GS\d+M?|D?FII\d+|DTB\d+|TB\d+MS|T\d+Y\d+[YM]|DFF|FEDFUNDS|EFFR|SOFR"
    r"|DPRIME|MORTGAGE\d+US|IRLTLT01[A-Z]{2}M156N|yield|yld|rate|.*[ _]yield)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PriceSeries:
    """One column of a price file, sorted by date.

    Attributes
    ----------
    name
        Column name (the series' label).
    file
        Path of the file as given.
    dates
        Observation dates, ``datetime64[D]``, shape ``(n,)``, strictly increasing.
    values
        Observed levels in the file's units (e.g. USD/bbl), shape ``(n,)``.
    lines
        1-based line of each observation in the file, shape ``(n,)``.
    notes
        Remarks on the reading (e.g. that the rows were sorted).
    """

    name: str
    file: str
    dates: np.ndarray
    values: np.ndarray
    lines: np.ndarray
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.dates.shape[0])


@dataclass(frozen=True)
class Window:
    """An inclusive date range to leave out, e.g. ``2020-01-01:2020-12-31``."""

    start: np.datetime64
    end: np.datetime64

    def __str__(self) -> str:
        return f"{self.start}:{self.end}"


@dataclass(frozen=True)
class Sample:
    """A series restricted to the calibration sample, with its daily log returns.

    Attributes
    ----------
    series
        The series after ``--since``/``--until``/``--exclude``.
    log_price
        Log of the levels, shape ``(n,)``.
    returns
        Daily log returns inside segments, shape ``(n - n_segments,)``.
    return_dates
        End date of each return, ``datetime64[D]``, same shape.
    segment_starts
        Index into ``returns`` where each segment begins (a segment follows an excluded
        window), shape ``(n_segments,)``, first entry 0.
    price_segments
        ``(start, stop)`` slices of ``log_price`` for each segment.
    excluded
        The windows left out.
    """

    series: PriceSeries
    log_price: np.ndarray
    returns: np.ndarray
    return_dates: np.ndarray
    segment_starts: np.ndarray
    price_segments: list[tuple[int, int]]
    excluded: tuple[Window, ...] = field(default_factory=tuple)

    @property
    def first(self) -> np.datetime64:
        return self.series.dates[0]

    @property
    def last(self) -> np.datetime64:
        return self.series.dates[-1]


def _parse_date(text: str) -> np.datetime64 | None:
    text = text.strip().strip('"')
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        text10 = text[:10]  # ISO, possibly with a time part
        try:
            return np.datetime64(dt.date.fromisoformat(text10), "D")
        except ValueError:
            return None
    for fmt in _DATE_FORMATS[1:]:
        try:
            return np.datetime64(dt.datetime.strptime(text, fmt).date(), "D")
        except ValueError:
            continue
    return None


def _pick_column(header: list[str], column: str | None, path: str, option: str) -> int:
    names = [h.strip() for h in header]
    if column is not None:
        lowered = [n.lower() for n in names]
        if column.lower() in lowered[1:]:
            return lowered.index(column.lower(), 1)
        raise ScenarioError(
            f"no column '{column}'; the value columns are: {', '.join(names[1:])}",
            file=path,
            field=option.split(" ")[0],
            line=1,
        )
    if len(names) == 2:
        return 1
    for wanted in _VALUE_NAMES:
        for i, n in enumerate(names[1:], start=1):
            if n.lower() == wanted:
                return i
    raise ScenarioError(
        f"several value columns ({', '.join(names[1:])}): choose one with {option}",
        file=path,
        line=1,
    )


def read_prices(
    path: str | Path, column: str | None = None, option: str = "--column"
) -> PriceSeries:
    """Read one price column from a CSV file.

    Parameters
    ----------
    path
        CSV file whose first column is a date (``YYYY-MM-DD`` and a few other common forms)
        and whose first line is a header.
    column
        Name of the value column (case-insensitive). Default: the only one, or the one
        named close/price/value.
    option
        How the user names the column, for messages (``--column`` for the oil file,
        ``--column FILE=NAME`` for the others).

    Returns
    -------
    PriceSeries
        Sorted by date; missing values skipped.

    Raises
    ------
    ScenarioError
        Unreadable file, unknown column, unparseable date or number, duplicate date, or no
        observations.
    """
    name = str(path)
    p = Path(path)
    if p.is_dir():
        raise ScenarioError("is a directory, not a CSV file", file=name)
    if not p.exists():
        raise ScenarioError("no such file", file=name)
    raw = read_bounded(p, MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError("not a text (UTF-8) CSV file", file=name) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ScenarioError(f"not a readable CSV file ({exc})", file=name) from None
    start = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    if start is None:
        raise ScenarioError("file is empty", file=name)
    header = rows[start]
    if len(header) < 2:
        raise ScenarioError(
            "expected at least two comma-separated columns (date, value)", file=name, line=start + 1
        )
    if _parse_date(header[0]) is not None:
        raise ScenarioError(
            "the first line must be a header such as 'Date,Price'", file=name, line=start + 1
        )
    col = _pick_column(header, column, name, option)
    label = header[col].strip() or f"column {col + 1}"
    date_label = header[0].strip() or "date"
    dates: list[np.datetime64] = []
    values: list[float] = []
    lines: list[int] = []
    for i in range(start + 1, len(rows)):
        row = rows[i]
        if not any(c.strip() for c in row):
            continue
        line = i + 1
        d = _parse_date(row[0])
        if d is None:
            raise ScenarioError(
                f"cannot read date '{row[0].strip()}' (expected YYYY-MM-DD)",
                file=name,
                field=date_label,
                line=line,
            )
        cell = row[col].strip() if col < len(row) else ""
        if cell.lower() in _MISSING:
            continue
        try:
            v = float(cell.replace(",", ""))  # a quoted "1,234.5" has a thousands separator
        except ValueError:
            raise ScenarioError(
                f"cannot read number '{cell}'", file=name, field=label, line=line
            ) from None
        if not np.isfinite(v):
            raise ScenarioError(f"value '{cell}' is not finite", file=name, field=label, line=line)
        dates.append(d)
        values.append(v)
        lines.append(line)
    if not dates:
        raise ScenarioError(f"no observations in column '{label}'", file=name, field=label)
    d_arr = np.array(dates, dtype="datetime64[D]")
    v_arr = np.array(values, dtype=float)
    l_arr = np.array(lines, dtype=np.int64)
    notes: list[str] = []
    if np.any(np.diff(d_arr) < np.timedelta64(0, "D")):
        order = np.argsort(d_arr, kind="stable")
        d_arr, v_arr, l_arr = d_arr[order], v_arr[order], l_arr[order]
        notes.append("rows were not in date order and were sorted")
    dup = np.flatnonzero(np.diff(d_arr) == np.timedelta64(0, "D"))
    if dup.size:
        j = int(dup[0])
        a, b = sorted((int(l_arr[j]), int(l_arr[j + 1])))
        raise ScenarioError(
            f"date {d_arr[j]} appears twice (lines {a} and {b})",
            file=name,
            field=date_label,
            line=b,
        )
    return PriceSeries(label, name, d_arr, v_arr, l_arr, tuple(notes))


def check_positive(s: PriceSeries, remedy: str) -> None:
    """Raise :class:`ScenarioError` at the first level that is not above 0.

    ``remedy`` says what to do; ``{date}`` and ``{next}`` (the day after) are filled in.
    """
    bad = np.flatnonzero(s.values <= 0)
    if bad.size:
        j = int(bad[0])
        date, nxt = s.dates[j], s.dates[j] + np.timedelta64(1, "D")
        raise ScenarioError(
            f"price {s.values[j]:g} on {date} is not positive and "
            + remedy.format(date=date, next=nxt),
            file=s.file,
            field=s.name,
            line=int(s.lines[j]),
        )


def detect_kind(column: str) -> SeriesKind:
    """``"yield"`` for a column named like an interest rate in percent, else ``"price"``.

    Parameters
    ----------
    column
        Column name, e.g. ``DGS10`` (FRED 10-year Treasury yield, percent) or ``Price``.
    """
    return "yield" if _YIELD_NAME.fullmatch(column.strip()) else "price"


def parse_kind(text: str) -> tuple[str, SeriesKind]:
    """``SERIES=KIND`` (``--kind``) to ``(series, kind)``; raises ScenarioError.

    ``SERIES`` names a file (as given, or its base name) or its value column.
    """
    series, sep, kind = text.rpartition("=")
    kind = kind.strip().lower()
    if not sep or not series.strip():
        raise ScenarioError(f"'{text}' is not SERIES=KIND such as DGS10=yield", field="--kind")
    for k in SERIES_KINDS:
        if kind == k:
            return series.strip(), k
    raise ScenarioError(
        f"unknown kind '{kind}' in '{text}': use one of {', '.join(SERIES_KINDS)}",
        field="--kind",
    )


def parse_window(text: str) -> Window:
    """``START:END`` (inclusive ISO dates) to a :class:`Window`; raises ScenarioError."""
    parts = text.split(":")
    dates = [_parse_date(p) for p in parts] if len(parts) == 2 else [None]
    if len(parts) != 2 or any(d is None for d in dates):
        raise ScenarioError(
            f"'{text}' is not a date range START:END such as 2020-01-01:2020-12-31",
            field="--exclude",
        )
    start, end = dates
    assert start is not None
    assert end is not None
    if end < start:
        raise ScenarioError(f"'{text}' ends before it starts", field="--exclude")
    return Window(start, end)


def _parse_bound(text: str | None, option: str) -> np.datetime64 | None:
    if text is None:
        return None
    d = _parse_date(text)
    if d is None:
        raise ScenarioError(f"'{text}' is not a date (expected YYYY-MM-DD)", field=option)
    return d


def restrict(
    series: PriceSeries,
    since: str | None = None,
    until: str | None = None,
    exclude: tuple[Window, ...] = (),
) -> tuple[PriceSeries, np.ndarray]:
    """Observations within ``[since, until]`` and outside ``exclude``.

    Returns the restricted series and a bool array, shape ``(n,)``, true where an
    observation starts a new segment (the first one, and any after an excluded window).
    """
    lo, hi = _parse_bound(since, "--since"), _parse_bound(until, "--until")
    d = series.dates
    keep = np.ones(d.shape, dtype=bool)
    if lo is not None:
        keep &= d >= lo
    if hi is not None:
        keep &= d <= hi
    for w in exclude:
        keep &= ~((d >= w.start) & (d <= w.end))
    out = PriceSeries(
        series.name, series.file, d[keep], series.values[keep], series.lines[keep], series.notes
    )
    breaks = np.zeros(len(out), dtype=bool)
    if len(out):
        breaks[0] = True
        for w in exclude:
            # The first observation after a window whose predecessor came before it.
            after = np.flatnonzero(out.dates > w.end)
            if after.size and after[0] > 0 and out.dates[after[0] - 1] < w.start:
                breaks[after[0]] = True
    return out, breaks


def check_gaps(s: PriceSeries, exclude: Sequence[Window] = (), weekly: bool = False) -> None:
    """Refuse a series (restricted to the sample) with a calendar gap longer than
    :data:`MAX_GAP_DAYS` (a week more for weekly moves) between consecutive observations,
    except across an excluded window: its moves would span weeks or months.

    Raises
    ------
    ScenarioError
        Naming the file, the series, the line after the gap and the gap's dates.
    """
    if len(s) < 2:
        return
    limit = MAX_GAP_DAYS + (7 if weekly else 0)
    gaps = np.diff(s.dates).astype(int)
    spans = np.zeros(gaps.size, dtype=bool)
    for w in exclude:
        spans |= (s.dates[:-1] < w.start) & (s.dates[1:] > w.end)
    long_gap = np.flatnonzero((gaps > limit) & ~spans)
    if long_gap.size:
        j = int(long_gap[0])
        typical = int(np.median(gaps))
        remedy = (
            f"the file looks {'monthly' if typical >= 25 else 'sparser than daily'} "
            f"(a median of {typical} days between observations): calibration needs daily "
            "prices"
            if typical > limit
            else "choose a sample without it with --since/--until or --exclude"
        )
        raise ScenarioError(
            f"gap of {gaps[j]} days between {s.dates[j]} and {s.dates[j + 1]} (at most "
            f"{limit} allowed for {'weekly moves' if weekly else 'daily data'}): {remedy}",
            file=s.file,
            field=s.name,
            line=int(s.lines[j + 1]),
        )


def prepare(
    series: PriceSeries,
    since: str | None = None,
    until: str | None = None,
    exclude: tuple[Window, ...] = (),
    min_returns: int = MIN_RETURNS,
) -> Sample:
    """Restrict a price series to the sample and check it can be calibrated on.

    Raises
    ------
    ScenarioError
        A non-positive price (logs are needed), a gap longer than :data:`MAX_GAP_DAYS`
        calendar days, or fewer than ``min_returns`` daily returns.
    """
    s, breaks = restrict(series, since, until, exclude)
    where = f" in {since or 'start'}..{until or 'end'}" if (since or until) else ""
    if len(s) == 0:
        raise ScenarioError(f"no observations{where}", file=s.file, field=s.name)
    check_positive(
        s,
        "log returns need positive prices: start after it (--since {next}), leave it out "
        "(--exclude {date}:{date}) or drop the line",
    )
    check_gaps(s, exclude)
    lp = np.log(s.values)
    starts = np.flatnonzero(breaks)
    stops = [*starts[1:].tolist(), len(s)]
    segs = [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
    rets = [np.diff(lp[a:b]) for a, b in segs]
    rdates = [s.dates[a + 1 : b] for a, b in segs]
    seg_starts = np.cumsum([0] + [r.size for r in rets[:-1]])
    returns = np.concatenate(rets)
    n = returns.size
    if n < min_returns:
        raise ScenarioError(
            f"only {n} daily returns{where}; calibration needs at least {min_returns}",
            file=s.file,
            field=s.name,
        )
    return Sample(
        s, lp, returns, np.concatenate(rdates), seg_starts.astype(np.int64), segs, tuple(exclude)
    )


def align(series: list[PriceSeries]) -> tuple[np.ndarray, np.ndarray]:
    """Common dates of several series and their values there.

    Returns
    -------
    dates
        Dates present in every series, ``(n,)``.
    values
        ``(k, n)`` levels, one row per series.
    """
    common = series[0].dates
    for s in series[1:]:
        common = np.intersect1d(common, s.dates)
    vals = np.empty((len(series), common.size))
    for i, s in enumerate(series):
        vals[i] = s.values[np.searchsorted(s.dates, common)]
    return common, vals


def weekly_index(dates: np.ndarray) -> np.ndarray:
    """Index of the last date of each Monday-to-Sunday week, ``(n_weeks,)``."""
    week = (dates.astype("datetime64[D]").astype(np.int64) + 3) // 7  # 1970-01-01 was a Thursday
    return np.flatnonzero(np.r_[week[1:] != week[:-1], True])
