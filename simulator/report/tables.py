"""Tidy tables of a run: ``summary.csv``, ``events.csv``, ``correlations.csv`` and their
Markdown forms.

Numbers are written with 10 significant digits, so the same run gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence

import numpy as np

from simulator.engine import RunResult
from simulator.processes import DAYS_PER_YEAR

__all__ = [
    "CORRELATION_COLUMNS",
    "EVENT_COLUMNS",
    "PROBABILITY_DIGITS",
    "SUMMARY_COLUMNS",
    "cell_digits",
    "correlation_rows",
    "event_rows",
    "format_number",
    "format_stat",
    "markdown_table",
    "stat_digits",
    "summary_rows",
    "to_csv",
    "zero_probability_note",
]

SUMMARY_COLUMNS = ("scenario", "asset", "horizon_days", "statistic", "value", "std_error")
EVENT_COLUMNS = (
    "scenario",
    "event",
    "probability_input",
    "frequency_simulated",
    "std_error",
    "conditional_frequency",
    "conditional_std_error",
    "frequency_within_horizon",
)


def format_number(x: float) -> str:
    """Compact, stable text for a float: 10 significant digits, no ``-0``."""
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    text = f"{float(x):.10g}"
    return "0" if text == "-0" else text


def summary_rows(result: RunResult) -> list[tuple[object, ...]]:
    """Rows of ``summary.csv`` in :data:`SUMMARY_COLUMNS` order."""
    name = result.scenario.name
    rows: list[tuple[object, ...]] = []
    for series in result.summary.series.values():
        for asset, horizon, stat, value, se in series.rows():
            rows.append((name, asset, horizon, stat, value, se))
    if result.summary.portfolio is not None:
        for asset, horizon, stat, value, se in result.summary.portfolio.rows():
            rows.append((name, asset, horizon, stat, value, se))
    return rows


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1.0 - p) / n) if n > 0 else float("nan")


def input_probability(result: RunResult, event: str) -> str:
    """An event's input probability for a table: the value, or the mean of its
    distribution marked ``(mean)`` (what its conditional frequency should match)."""
    probability = result.scenario.events[event].probability
    text = format_number(probability.mean())
    return text if probability.dist == "fixed" else f"{text} (mean)"


def event_rows(result: RunResult) -> list[tuple[object, ...]]:
    """Rows of ``events.csv`` in :data:`EVENT_COLUMNS` order.

    ``probability_input`` is the event's probability given its conditions (the mean of its
    distribution if it has one: the frequency to expect over all paths);
    ``frequency_simulated`` is the share of all paths on which it happened, and
    ``conditional_frequency`` the share of paths whose conditions held — the one to
    compare with the input.
    """
    counts = result.summary.events
    n = result.summary.n_paths
    rows: list[tuple[object, ...]] = []
    for i, name in enumerate(counts.names):
        p_in = result.scenario.events[name].probability.mean()
        freq = counts.occurred[i] / n
        elig = int(counts.eligible[i])
        cond = counts.occurred[i] / elig if elig else float("nan")
        rows.append(
            (
                result.scenario.name,
                name,
                p_in,
                freq,
                _se(freq, n),
                cond,
                _se(cond, elig) if elig else float("nan"),
                counts.within_horizon[i] / n,
            )
        )
    return rows


CORRELATION_COLUMNS = (
    "scenario",
    "statistic",
    "series",
    "other",
    "unit",
    "input",
    "simulated",
    "std_error",
)


def correlation_rows(result: RunResult) -> list[tuple[object, ...]]:
    """Rows of ``correlations.csv`` in :data:`CORRELATION_COLUMNS` order.

    The volatility of each series' daily moves (``vol``: log returns, or bp for yields,
    times sqrt(252)), then the correlation of each pair (``correlation``), over every
    simulated day of every path, against the scenario's inputs, which hold for calm days
    without events (Brent has no single input volatility: it comes from two factors). The
    standard errors are the delta method's over independent paths
    (:meth:`simulator.reduce.CrossMoments.std_errors`). Empty for a run without assets.
    """
    from simulator.assets import correlation_matrix

    daily = result.summary.daily
    if daily is None:
        return []
    names, target = correlation_matrix(result.scenario)
    corr = daily.correlation()
    vol = daily.volatility(DAYS_PER_YEAR)
    corr_se, vol_se = daily.std_errors(DAYS_PER_YEAR)
    name = result.scenario.name
    rows: list[tuple[object, ...]] = []
    for i, series in enumerate(names):
        asset = result.scenario.assets.get(series)
        if asset is None:
            rows.append((name, "vol", series, "", "annualised", float("nan"), vol[i], vol_se[i]))
        else:
            unit = "bp/year" if asset.kind == "yield" else "annualised"
            rows.append((name, "vol", series, "", unit, asset.vol.mean(), vol[i], vol_se[i]))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            rows.append(
                (
                    name,
                    "correlation",
                    names[i],
                    names[j],
                    "correlation",
                    float(target[i, j]),
                    float(corr[i, j]),
                    float(corr_se[i, j]),
                )
            )
    return rows


def _cell(value: object) -> str:
    return format_number(value) if isinstance(value, float) else str(value)


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header, ``\\n`` line ends and stable number formatting."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v.item() if isinstance(v, np.generic) else v) for v in row])
    return buf.getvalue()


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


#: Decimals of a probability and of its standard error.
PROBABILITY_DIGITS = 4


def stat_digits(unit: str, statistic: str = "") -> int:
    """Decimals to show a statistic of a series, and its standard error, with.

    Parameters
    ----------
    unit
        Unit of the series' level (``USD/bbl``, ``index points``, ``percent``).
    statistic
        The statistic's name in the tidy rows (``mean``, ``p50``, ``prob_up_50bp``, ...).

    Returns
    -------
    int
        :data:`PROBABILITY_DIGITS` for a ``prob_*`` statistic; 3 for a level in
        ``percent`` (a yield: 0.1 bp, since its standard errors are often below 0.5 bp);
        2 otherwise (a price, in cents or index hundredths).
    """
    if statistic.startswith("prob_"):
        return PROBABILITY_DIGITS
    return 3 if unit == "percent" else 2


def cell_digits(unit: str, asset: str, stat: str, probability_digits: int | None = None) -> int:
    """Decimals of a comparison value: :func:`stat_digits` for
    the series' ``unit``, whole USD for the portfolio's P&L, and ``probability_digits``
    (default that of ``sim run``) for a probability."""
    if stat.startswith("prob_"):
        return stat_digits(unit, stat) if probability_digits is None else probability_digits
    return 0 if asset == "portfolio" else stat_digits(unit, stat)


def format_stat(
    value: float, se: float, digits: int, grouping: bool = False, signed: bool = False
) -> str:
    """``value ± se`` with ``digits`` decimals.

    Parameters
    ----------
    value, se
        A statistic and its Monte Carlo standard error.
    digits
        Decimals of both (see :func:`stat_digits`).
    grouping
        Thousands separators (``1,234.56``).
    signed
        Always sign the value (``+0.25``), as for a difference.

    Notes
    -----
    A standard error that is positive but rounds to zero at ``digits`` decimals is shown as
    ``<0.001`` (for three decimals) rather than as a misleading ``0.000``; an exact zero
    (a probability of 0 or 1) stays ``0.000``.
    """
    sep = "," if grouping else ""
    sign = "+" if signed else ""
    text = f"{value:{sign}{sep}.{digits}f} ± "
    shown = f"{se:{sep}.{digits}f}"
    if se > 0.0 and float(shown.replace(",", "")) == 0.0:
        return text + f"<{10.0**-digits:.{digits}f}"
    return text + shown


def zero_probability_note(n_paths: int) -> str:
    """What a probability of zero means with ``n_paths`` paths: no path got there, and the
    exact one-sided 95% upper bound after zero events in ``n`` trials, ``1 - 0.05^(1/n)``
    (about ``3 / n``), since the standard error formula gives a misleading 0."""
    bound = 1.0 - 0.05 ** (1.0 / max(n_paths, 1))
    return (
        f"A probability of 0 means that no path got there: with {n_paths:,} paths the true "
        f"probability is below {bound:.2g} at 95% confidence."
    )


def summary_markdown(result: RunResult) -> str:
    """``summary.md``: one table per series (horizons as rows), then the events table."""
    scenario = result.scenario
    out = [
        f"# {scenario.name}: simulated distribution\n",
        f"{scenario.description}\n",
        f"As of {scenario.as_of}, {result.summary.n_paths:,} paths, seed {result.config.seed}, "
        f"{result.n_steps} trading days. Values ± one Monte Carlo standard error. "
        f"{zero_probability_note(result.summary.n_paths)}\n",
    ]
    by_series: dict[str, dict[int, dict[str, tuple[float, float]]]] = {}
    for series in result.summary.series.values():
        for asset, h, stat, value, se in series.rows():
            by_series.setdefault(asset, {}).setdefault(h, {})[stat] = (value, se)
    for asset, horizons in by_series.items():
        series = result.summary.series[asset]
        stats = list(next(iter(horizons.values())))
        out.append(f"\n## {asset} ({series.spec.unit})\n\n")
        header = ["horizon (trading days)", *stats]
        rows = []
        for h, values in horizons.items():
            cells = [str(h)]
            for stat in stats:
                v, se = values[stat]
                cells.append(format_stat(v, se, stat_digits(series.spec.unit, stat)))
            rows.append(cells)
        out.append(markdown_table(header, rows))
    ev = event_rows(result)
    if ev:
        out.append("\n## Events\n\n")
        out.append(
            markdown_table(
                [
                    "event",
                    "input probability",
                    "conditional frequency",
                    "share of paths",
                    "share within horizon",
                ],
                [
                    [
                        str(r[1]),
                        input_probability(result, str(r[1])),
                        format_stat(float(r[5]), float(r[6]), PROBABILITY_DIGITS),  # type: ignore[arg-type]
                        format_stat(float(r[3]), float(r[4]), PROBABILITY_DIGITS),  # type: ignore[arg-type]
                        f"{float(r[7]):.4f}",  # type: ignore[arg-type]
                    ]
                    for r in ev
                ],
            )
        )
    return "".join(out)


def portfolio_markdown(result: RunResult) -> str:
    """``portfolio.md``: P&L, VaR and ES per horizon, then ES contributions, in USD."""
    book = result.summary.portfolio
    assert book is not None
    assert result.portfolio is not None
    p = result.portfolio.portfolio
    out = [
        f"# Portfolio '{p.name}' under {result.scenario.name}\n\n",
        f"{p.description}\n\n" if p.description else "",
        "P&L in USD (losses negative; VaR and ES are positive losses measured from zero "
        "P&L, so the expected P&L is in them; yield positions are DV01 times the yield "
        "change, without carry), ± one Monte Carlo standard error.\n\n",
    ]
    header = [
        "horizon (trading days)",
        "mean",
        "p05",
        "p50",
        "p95",
        "VaR 95%",
        "ES 95%",
        "VaR 99%",
        "ES 99%",
    ]
    rows = []
    for h in book.horizons:
        stats = {s: (v, e) for a, hh, s, v, e in book.rows() if hh == int(h) and a == "portfolio"}
        rows.append(
            [str(int(h))]
            + [
                f"{stats[k][0]:,.0f} ± {stats[k][1]:,.0f}"
                for k in ("mean", "p05", "p50", "p95", "var_95", "es_95", "var_99", "es_99")
            ]
        )
    out.append(markdown_table(header, rows))
    last = len(book.horizons) - 1
    out.append(f"\n## Contributions to expected shortfall at {int(book.horizons[last])} days\n\n")
    risk95, risk99 = book.risk(last, "95"), book.risk(last, "99")
    exposures = result.portfolio.exposures()
    rows = []
    for name in book.names:
        kind, amount = exposures[name]
        size = f"DV01 {amount:,.0f}" if kind == "dv01" else f"{amount:,.0f}"
        c95, s95 = risk95[f"es_95_contribution:{name}"]
        c99, s99 = risk99[f"es_99_contribution:{name}"]
        rows.append([name, size, f"{c95:,.0f} ± {s95:,.0f}", f"{c99:,.0f} ± {s99:,.0f}"])
    out.append(
        markdown_table(
            ["position", "exposure (USD)", "ES 95% share (USD)", "ES 99% share (USD)"], rows
        )
    )
    return "".join(out)
