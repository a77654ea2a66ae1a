"""One run as a document: a self-contained ``report.html`` and its Markdown twin ``report.md``.

The report is built once as a list of sections made of a few plain blocks (paragraphs,
lists, tables, figures, preformatted text) and then rendered twice: to HTML, with every
chart embedded as a base64 ``data:`` URI and the CSS inline, so the file opens offline
and refers to nothing outside itself; and to Markdown, with the charts referenced by their
file names in the run directory. Every piece of scenario or portfolio text is escaped.

The assumptions are found by walking the scenario's pydantic model: any object with
``describe`` and ``rationale`` attributes is a quantity, so fields added to the model
appear in the report without changes here.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from simulator import __version__
from simulator.engine import RunResult
from simulator.reduce import SeriesSummary
from simulator.report.tables import (
    PROBABILITY_DIGITS,
    cell_digits,
    correlation_rows,
    event_rows,
    format_number,
    format_stat,
    input_probability,
    markdown_table,
    stat_digits,
    zero_probability_note,
)

__all__ = ["CHARTS", "SECTIONS", "png_size", "render_run"]

#: The ``<h2>`` headings, in order; "Risk assets" and "Portfolio" appear only when relevant.
SECTIONS = (
    "Headline numbers",
    "Charts",
    "Brent distribution",
    "Risk assets",
    "Portfolio",
    "Events",
    "Assumptions",
    "Manifest",
)

#: Chart files a run may write, with their alternative text and caption.
CHARTS: tuple[tuple[str, str, str], ...] = (
    (
        "brent_fan.png",
        "Brent fan chart",
        "Brent: median, 25–75% and 5–95% bands, a few sample paths and the as-of price.",
    ),
    (
        "brent_terminal.png",
        "Brent distribution at the horizons",
        "Distribution of Brent at the reporting horizons.",
    ),
    ("assets_fan.png", "Risk assets fan charts", "Risk assets: medians and 5–95% bands."),
    (
        "assets_terminal.png",
        "Risk assets distributions at the last horizon",
        "Distribution of each risk asset at the last horizon.",
    ),
    (
        "correlation.png",
        "Correlation of daily moves",
        "Correlation of simulated daily moves: Brent and the risk assets.",
    ),
    (
        "portfolio_pnl.png",
        "Portfolio P&L distribution",
        "Distribution of the portfolio's P&L, with VaR and expected shortfall.",
    ),
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BRENT_LEVEL = 100.0
_QUANTILE_STATS = ("p05", "p25", "p50", "p75", "p95")


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class _Para:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class _List:
    """A bulleted list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    """A table of plain-text cells (columns of numbers are right-aligned in HTML)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Figure:
    """A chart file of the run directory."""

    file: str
    alt: str
    caption: str


@dataclass(frozen=True)
class _Pre:
    """Preformatted text."""

    text: str


@dataclass(frozen=True)
class _Heading:
    """A sub-heading: ``level`` 3 or 4."""

    text: str
    level: int = 3


_Block = _Para | _List | _Table | _Figure | _Pre | _Heading


@dataclass
class _Section:
    title: str
    blocks: list[_Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return self.title.lower().replace(" ", "-")


# --------------------------------------------------------------------------- formatting


def _pm(value: float, se: float, digits: int = 2) -> str:
    """``value ± se`` with thousands separators (:func:`format_stat`); ``n/a`` for NaN."""
    if math.isnan(value):
        return "n/a"
    if math.isnan(se):
        return f"{value:,.{digits}f}"
    return format_stat(value, se, digits, grouping=True)


def _usd(value: float, se: float) -> str:
    return _pm(value, se, 0)


def _scalar(value: Any) -> str:
    """A setting's value as text, YAML-like."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _date(result: RunResult, day: int) -> str:
    return str(result.dates()[day])


def _stats(
    rows: Sequence[tuple[str, int, str, float, float]],
) -> dict[tuple[int, str], tuple[float, float]]:
    """``(horizon, statistic) -> (value, std_error)`` from tidy rows."""
    return {(h, stat): (value, se) for _, h, stat, value, se in rows}


def _threshold_labels(series: SeriesSummary) -> list[tuple[str, str]]:
    """``(statistic, column label)`` for each threshold probability of a series."""
    spec = series.spec
    above, below = spec.statistic_names()
    if spec.above_names or spec.below_names:
        labels = [(s, "P(" + s.removeprefix("prob_").replace("_", " ") + ")") for s in below]
        return labels + [(s, "P(" + s.removeprefix("prob_").replace("_", " ") + ")") for s in above]
    out = [(s, f"P(< {t:g})") for s, t in zip(below, spec.thresholds_below, strict=True)]
    return out + [(s, f"P(> {t:g})") for s, t in zip(above, spec.thresholds_above, strict=True)]


def _prob_above(series: SeriesSummary, i: int, level: float) -> tuple[float, float] | None:
    """P(level at horizon index ``i`` > ``level``) and its standard error, if known.

    From the threshold counts when ``level`` is a threshold (below the start, as one minus
    P(< level): equal for a continuous law), else from the exact levels when kept.
    """
    spec = series.spec
    n = series.n
    p: float | None = None
    if level in spec.thresholds_above:
        p = float(series.above[i, spec.thresholds_above.index(level)] / n)
    elif level in spec.thresholds_below:
        p = 1.0 - float(series.below[i, spec.thresholds_below.index(level)] / n)
    elif series.exact is not None:
        p = float(np.mean(series.exact[:, i] > level))
    if p is None or n == 0:
        return None
    return p, math.sqrt(p * (1.0 - p) / n)


# --------------------------------------------------------------------------- assumptions


def _is_quantity(value: Any) -> bool:
    """A scenario quantity: anything with ``describe`` and ``rationale`` attributes."""
    return callable(getattr(value, "describe", None)) and hasattr(value, "rationale")


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | dt.date)


def _assumption_rows(node: Any, path: str, top: bool = True) -> Iterator[tuple[str, str, str]]:
    """``(dotted path, value, rationale)`` for every quantity and setting under ``node``.

    The node's own ``rationale`` text (``top``) is left to the caller, which shows it
    with the item; nested ones become rows.
    """
    if _is_quantity(node):
        yield path, str(node.describe()), str(node.rationale)
    elif isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            value = getattr(node, name)
            if value is None or (top and name == "rationale" and isinstance(value, str)):
                continue
            yield from _assumption_rows(value, _join(path, info.alias or name), top=False)
    elif isinstance(node, dict):
        if not node:
            yield path, "none", ""
        for key, value in node.items():
            yield from _assumption_rows(value, _join(path, key), top=False)
    elif isinstance(node, list | tuple):
        if all(_is_scalar(v) for v in node):
            yield path, ", ".join(_scalar(v) for v in node) or "none", ""
        else:
            for i, value in enumerate(node):
                yield from _assumption_rows(value, _join(path, i), top=False)
    else:
        yield path, _scalar(node), ""


#: Maps a field path to the name of the file that wrote it; ``None`` when one file did.
_Where = Callable[[str], str] | None


def _where(result: RunResult) -> _Where:
    loaded = result.loaded
    if len(loaded.files) < 2:
        return None
    return lambda field: loaded.written_in(field).name


def _rows_table(rows: Iterable[tuple[str, str, str]], where: _Where) -> _Table:
    """``field, value, rationale`` rows, plus the file each was written in if the scenario
    extends another."""
    if where is None:
        return _Table(("field", "value", "rationale"), tuple(rows))
    return _Table(
        ("field", "value", "rationale", "written in"),
        tuple((*row, where(row[0])) for row in rows),
    )


def _assumption_table(node: Any, path: str, where: _Where = None) -> _Table:
    return _rows_table(_assumption_rows(node, path), where)


def _doc_line(obj: Any) -> str | None:
    """First line of the docstring of ``obj``'s class."""
    doc = type(obj).__doc__
    return doc.strip().splitlines()[0] if doc else None


def _conditions(event: Any) -> str:
    parts = []
    if getattr(event, "requires", None):
        parts.append("requires " + ", ".join(event.requires))
    if getattr(event, "excludes", None):
        parts.append("excludes " + ", ".join(event.excludes))
    return "; ".join(parts) or "none"


_EVENT_CORE = {"rationale", "probability", "timing", "requires", "excludes"}


def _effects(event: BaseModel) -> str:
    """The effects an event has: its fields beyond probability, timing and conditions."""
    names = [n for n in type(event).model_fields if n not in _EVENT_CORE]
    return ", ".join(n for n in names if getattr(event, n) is not None) or "none"


def _assumptions(result: RunResult) -> list[_Block]:
    scenario = result.scenario
    where = _where(result)
    written = (
        " The last column names the file that wrote each value: this scenario's, or a base "
        "it inherits from."
        if where is not None
        else ""
    )
    blocks: list[_Block] = [
        _Para(
            "Every input of the scenario, by its field path in the scenario file "
            f"({result.loaded.path.name}, after extends), with its value or distribution "
            f"and the reason given for it.{written}"
        )
    ]
    settings: list[tuple[str, str, str]] = []
    nested: list[tuple[str, Any]] = []
    for name, info in type(scenario).model_fields.items():
        value = getattr(scenario, name)
        key = info.alias or name
        if value is None:
            continue
        if _is_scalar(value) or (
            isinstance(value, list | tuple) and all(_is_scalar(v) for v in value)
        ):
            settings += _assumption_rows(value, key, top=False)
        else:
            nested.append((key, value))
    if settings:
        blocks += [
            _Heading("Scenario"),
            _rows_table(settings, where),
        ]
    for key, value in nested:
        blocks.append(_Heading(key))
        if key == "correlations":
            blocks += _repair_note(result)
        if isinstance(value, dict):
            blocks += _collection(key, value, where)
        else:
            blocks += _item_blocks(value, key, describe=True, where=where)
    return blocks


def _repair_note(result: RunResult) -> list[_Block]:
    """Say so when the run used a repaired correlation matrix rather than the file's."""
    from simulator.assets import correlation_repair

    repair = correlation_repair(result.scenario)
    if repair is None:
        return []
    return [
        _Para(
            "The correlations as written do not form a valid matrix (smallest eigenvalue "
            f"{repair['smallest_eigenvalue']:.4g}): the run used the nearest valid one, which "
            f"changes some correlations by up to {repair['largest_change']:.3f}. Set "
            "correlations.strict: true to refuse such a matrix instead."
        )
    ]


def _item_blocks(item: Any, path: str, describe: bool, where: _Where = None) -> list[_Block]:
    """A model's docstring (``describe``), its own rationale and its assumptions table."""
    blocks: list[_Block] = []
    doc = _doc_line(item) if describe else None
    if doc:
        blocks.append(_Para(doc))
    rationale = getattr(item, "rationale", None)
    if isinstance(rationale, str) and not _is_quantity(item):
        blocks.append(_Para(f"Rationale: {rationale}"))
    blocks.append(_assumption_table(item, path, where))
    return blocks


def _collection(key: str, items: dict[str, Any], where: _Where = None) -> list[_Block]:
    """Assumptions of a named collection (``events``, ``offsets``, ``assets``)."""
    if not items:
        return [_Para(f"No {key} in this scenario.")]
    blocks: list[_Block] = []
    doc = _doc_line(next(iter(items.values())))
    if doc:
        blocks.append(_Para(doc))
    if key == "events":
        blocks.append(_events_overview(items))
    for name, item in items.items():
        path = _join(key, name)
        label = getattr(item, "label", None)
        blocks.append(_Heading(f"{path} — {label}" if isinstance(label, str) else path, 4))
        blocks += _item_blocks(item, path, describe=False, where=where)
    return blocks


def _events_overview(events: dict[str, Any]) -> _Table:
    rows = []
    for name, ev in events.items():
        rows.append(
            (
                name,
                ev.probability.describe() if _is_quantity(ev.probability) else "",
                ev.timing.describe() if _is_quantity(ev.timing) else "",
                _conditions(ev),
                _effects(ev),
                str(getattr(ev, "rationale", "")),
            )
        )
    header = ("event", "probability", "timing", "conditions", "effects", "rationale")
    return _Table(header, tuple(rows))


# --------------------------------------------------------------------------- sections


def _headline(result: RunResult) -> list[_Block]:
    scenario = result.scenario
    brent = result.summary.series["brent"]
    spot = scenario.oil.spot
    stats = _stats(brent.rows())
    digits = stat_digits(brent.spec.unit)
    last = len(result.horizons) - 1
    h_last = result.horizons[last]
    spot_text = f"{spot.mean():,.2f} {spot.unit}" if spot.variance() == 0 else spot.describe()
    items = [
        f"As of {scenario.as_of.isoformat()}: Brent {spot_text} ({spot.rationale}).",
        f"{result.summary.n_paths:,} paths, seed {result.config.seed}, {result.n_steps} "
        f"trading days (to {_date(result, result.n_steps)}). Values ± one Monte Carlo "
        "standard error.",
    ]
    p100 = _prob_above(brent, last, _BRENT_LEVEL)
    where = f"at {h_last} trading days ({_date(result, h_last)})"
    if p100 is None:
        items.append(
            f"P(Brent > {_BRENT_LEVEL:g}) {where}: not computed (add {_BRENT_LEVEL:g} to "
            "report.brent_thresholds)."
        )
    else:
        p_text = _pm(*p100, PROBABILITY_DIGITS)
        items.append(f"P(Brent > {_BRENT_LEVEL:g} {brent.spec.unit}) {where}: {p_text}.")
    book = result.summary.portfolio
    if book is not None and result.portfolio is not None:
        risk = book.risk(last, "99")
        items.append(
            f"Portfolio '{result.portfolio.portfolio.name}' {where}: "
            f"VaR 99% {_usd(*risk['var_99'])} USD, "
            f"expected shortfall 99% {_usd(*risk['es_99'])} USD (losses positive)."
        )
    rows = tuple(
        (
            str(h),
            _date(result, h),
            _pm(*stats[(h, "p50")], digits),
            _pm(*stats[(h, "p05")], digits) + " – " + _pm(*stats[(h, "p95")], digits),
        )
        for h in result.horizons
    )
    header = (
        "horizon (trading days)",
        "date",
        f"Brent median ({brent.spec.unit})",
        "5–95% range",
    )
    return [_List(tuple(items)), _Table(header, rows)]


def _charts(directory: Path) -> list[_Block]:
    blocks: list[_Block] = [
        _Figure(name, alt, caption) for name, alt, caption in CHARTS if (directory / name).is_file()
    ]
    return blocks or [_Para("No charts were found in the run directory.")]


def _brent(result: RunResult) -> list[_Block]:
    brent = result.summary.series["brent"]
    stats = _stats(brent.rows())
    thresholds = _threshold_labels(brent)
    header = (
        "horizon (trading days)",
        "date",
        "mean",
        *_QUANTILE_STATS,
        *(label for _, label in thresholds),
    )
    unit = brent.spec.unit
    rows = []
    for h in result.horizons:
        cells = [str(h), _date(result, h), _pm(*stats[(h, "mean")], stat_digits(unit, "mean"))]
        cells += [_pm(*stats[(h, s)], stat_digits(unit, s)) for s in _QUANTILE_STATS]
        cells += [_pm(*stats[(h, s)], stat_digits(unit, s)) for s, _ in thresholds]
        rows.append(tuple(cells))
    blocks: list[_Block] = [
        _Para(
            f"Brent in {brent.spec.unit} at each reporting horizon: mean, quantiles and "
            "probabilities of ending above or below each threshold, ± one standard error. "
            + zero_probability_note(brent.n)
        ),
        _Table(header, tuple(rows)),
    ]
    ever_above, ever_below = brent.spec.first_passage_names()
    if ever_above or ever_below:
        ever = [
            *zip(ever_below, (f"P(< {t:g})" for t in brent.spec.thresholds_below), strict=True),
            *zip(ever_above, (f"P(> {t:g})" for t in brent.spec.thresholds_above), strict=True),
        ]
        ever_rows = tuple(
            (str(h), _date(result, h), *(_pm(*stats[(h, s)], PROBABILITY_DIGITS) for s, _ in ever))
            for h in result.horizons
        )
        blocks += [
            _Para(
                "Probabilities that Brent closes beyond each threshold on at least one trading "
                "day up to each horizon (first passage, daily closes): the risk that a level "
                "is touched on the way, not only at the end."
            ),
            _Table(("horizon (trading days)", "date", *(label for _, label in ever)), ever_rows),
        ]
    return blocks


def _assets(result: RunResult) -> list[_Block]:
    last = len(result.horizons) - 1
    h = result.horizons[last]
    rows = []
    for name, spec in result.scenario.assets.items():
        series = result.summary.series[name]
        stats = _stats(series.rows())
        down, up = series.spec.below_names, series.spec.above_names
        move = "50 bp" if spec.kind == "yield" else "10%"
        digits = stat_digits(series.spec.unit)
        rows.append(
            (
                name,
                spec.label,
                series.spec.unit,
                f"{series.spec.start:,.{digits}f}",
                _pm(*stats[(h, "p05")], digits),
                _pm(*stats[(h, "p50")], digits),
                _pm(*stats[(h, "p95")], digits),
                move,
                _pm(*stats[(h, down[0])], PROBABILITY_DIGITS) if down else "n/a",
                _pm(*stats[(h, up[0])], PROBABILITY_DIGITS) if up else "n/a",
            )
        )
    header = ("asset", "label", "unit", "start", "p05", "p50", "p95", "move", "P(down)", "P(up)")
    return [
        _Para(
            f"Each risk asset at {h} trading days ({_date(result, h)}): quantiles of its "
            "level and the probabilities of a fall or rise by the move shown (10% for "
            "prices, 50 bp for yields), ± one standard error. summary.csv has every horizon."
        ),
        _Table(header, tuple(rows)),
        *_comovement(result),
    ]


def _comovement(result: RunResult) -> list[_Block]:
    """Volatilities and correlations of the daily moves, input against simulated."""
    rows = correlation_rows(result)
    if not rows:
        return []
    vols: list[tuple[str, ...]] = []
    pairs: list[tuple[str, ...]] = []
    for _, stat, series, other, unit, given, simulated, se in rows:
        value, err, given_f = float(simulated), float(se), float(given)  # type: ignore[arg-type]
        if stat == "vol":  # prices in percent a year (2 decimals), yields in bp (1)
            scale, digits, label = (
                (1.0, 1, "bp a year") if unit == "bp/year" else (100.0, 2, "% a year")
            )
            shown = "n/a" if math.isnan(given_f) else f"{scale * given_f:,.{digits}f}"
            vols.append((str(series), label, shown, _pm(scale * value, scale * err, digits)))
        else:
            pairs.append((f"{series} / {other}", f"{given_f:.2f}", _pm(value, err, 3)))
    return [
        _Heading("Volatilities and correlations of daily moves"),
        _Para(
            "The inputs hold for calm days without events; the simulated figures are over "
            "every day of every path, with the stressed regime and the events, ± one "
            "standard error (delta method over independent paths). Brent's volatility has "
            "no single input: it comes from its two factors. Also in correlations.csv."
        ),
        _Table(("series", "unit", "input", "simulated"), tuple(vols)),
        _Table(("pair", "input", "simulated"), tuple(pairs)),
    ]


def _portfolio(result: RunResult) -> list[_Block]:
    book = result.summary.portfolio
    loaded = result.portfolio
    assert book is not None
    assert loaded is not None
    p = loaded.portfolio
    about = f": {p.description}" if p.description else "."
    blocks: list[_Block] = [_Para(f"Portfolio '{p.name}' ({loaded.path.name}){about}")]
    exposures = loaded.exposures()
    positions = []
    for name, pos in p.positions.items():
        kind, amount = exposures[name]
        size = f"DV01 {amount:,.0f} per bp" if kind == "dv01" else f"notional {amount:,.0f}"
        positions.append((name, size, pos.rationale or ""))
    blocks += [
        _Heading("Positions"),
        _Table(("position", "exposure (USD)", "rationale"), tuple(positions)),
    ]
    rows = book.rows()
    stats = _stats([r for r in rows if r[0] == "portfolio"])
    keys = ("mean", "p05", "p50", "p95", "var_95", "es_95", "var_99", "es_99")
    table = []
    for h in (int(x) for x in book.horizons):
        cells = [str(h), _date(result, h)]
        cells += [_usd(*stats[(h, k)]) for k in keys[:4]]
        cells.append(_pm(*stats[(h, "prob_loss")], PROBABILITY_DIGITS))
        cells += [_usd(*stats[(h, k)]) for k in keys[4:]]
        table.append(tuple(cells))
    header = (
        "horizon (trading days)",
        "date",
        "mean",
        "p05",
        "p50",
        "p95",
        "P(loss)",
        "VaR 95%",
        "ES 95%",
        "VaR 99%",
        "ES 99%",
    )
    blocks += [
        _Heading("P&L"),
        _Para(
            "P&L in USD (losses negative; VaR and expected shortfall are positive losses "
            "measured from zero P&L, so the expected P&L is in them; yield positions are DV01 "
            "times the yield change, without carry), ± one Monte Carlo standard error."
        ),
        _Table(header, tuple(table)),
    ]
    last = len(book.horizons) - 1
    h_last = int(book.horizons[last])
    contrib = {(a, s): (v, e) for a, hh, s, v, e in rows if hh == h_last and a != "portfolio"}
    table = []
    for name in book.names:
        table.append(
            (
                name,
                _usd(*contrib[(name, "portfolio_es_95_contribution")]),
                _usd(*contrib[(name, "portfolio_es_99_contribution")]),
            )
        )
    blocks += [
        _Heading(f"Contributions to expected shortfall at {h_last} trading days"),
        _Table(("position", "ES 95% share (USD)", "ES 99% share (USD)"), tuple(table)),
    ]
    return blocks


def _events(result: RunResult) -> list[_Block]:
    events = result.scenario.events
    if not events:
        return [_Para("This scenario has no events.")]
    rows = []
    for r in event_rows(result):
        name = str(r[1])
        freq, se, cond, cond_se, within = (float(x) for x in r[3:8])  # type: ignore[arg-type]
        rows.append(
            (
                name,
                input_probability(result, name),
                _conditions(events[name]),
                _pm(cond, cond_se, PROBABILITY_DIGITS)
                if not math.isnan(cond)
                else "n/a (conditions never held)",
                _pm(freq, se, PROBABILITY_DIGITS),
                f"{within:.4f}",
            )
        )
    header = (
        "event",
        "input probability",
        "conditions",
        "conditional frequency",
        "share of paths",
        "share within horizon",
    )
    return [
        _Para(
            "The input probability holds given the event's conditions; the conditional "
            "frequency is the simulated share of the paths where the conditions held, and "
            "should match it within a few standard errors."
        ),
        _Table(header, tuple(rows)),
    ]


def _sections(result: RunResult, directory: Path, manifest: dict[str, Any]) -> list[_Section]:
    sections = [
        _Section("Headline numbers", _headline(result)),
        _Section("Charts", _charts(directory)),
        _Section("Brent distribution", _brent(result)),
    ]
    if result.scenario.assets:
        sections.append(_Section("Risk assets", _assets(result)))
    if result.summary.portfolio is not None and result.portfolio is not None:
        sections.append(_Section("Portfolio", _portfolio(result)))
    sections += [
        _Section("Events", _events(result)),
        _Section("Assumptions", _assumptions(result)),
        _Section(
            "Manifest",
            [_Pre(json.dumps(manifest, indent=2, ensure_ascii=False, default=str))],
        ),
    ]
    return sections


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial,
  sans-serif; color: #1b1f24; background: #fff; margin: 0 auto; max-width: 1180px;
  padding: 1.5rem 2rem 3rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; padding-bottom: .25rem;
  border-bottom: 2px solid #1f5a96; }
h3 { font-size: 1.08rem; margin: 1.4rem 0 .4rem; }
h4 { font-size: .98rem; margin: 1.1rem 0 .3rem; font-family: ui-monospace, "DejaVu Sans Mono",
  monospace; }
nav ol { columns: 2; margin: .5rem 0 0; }
.description { color: #3a4149; }
.scroll { overflow-x: auto; margin: .4rem 0 1rem; }
table { border-collapse: collapse; font-size: .86rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; vertical-align: top; }
th { background: #eef2f6; text-align: left; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f8fafc; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7eb; }
figcaption { font-size: .88rem; color: #4a525b; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: .8rem; overflow-x: auto;
  font-size: .78rem; line-height: 1.3; }
footer { margin-top: 2.5rem; font-size: .8rem; color: #6a737d; }
@media print { body { max-width: none; padding: 0; } pre { white-space: pre-wrap; }
  figure, table { break-inside: avoid; } }
"""

# No scripts, no remote loads: the browser refuses anything but inline styles and
# embedded images, so a file opened offline behaves the same as online.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_e = html.escape
# A cell that is a number, possibly with a standard error, a range, a unit or a percent.
_NUMBER = re.compile(r"^[-+]?\d[\d,.]*(\s|%|$)")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk.

    Raises
    ------
    ValueError
        If ``data`` does not start with a PNG signature and an IHDR chunk.
    """
    if len(data) < 24 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell)) or cell == "n/a"


def _html_table(table: _Table) -> str:
    numeric = [
        j > 0 and bool(table.rows) and all(_is_number(row[j]) for row in table.rows)
        for j in range(len(table.header))
    ]
    cls = [' class="num"' if n else "" for n in numeric]
    head = "".join(f'<th scope="col"{cls[j]}>{_e(c)}</th>' for j, c in enumerate(table.header))
    body = "\n".join(
        "<tr>" + "".join(f"<td{cls[j]}>{_e(c)}</td>" for j, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _html_figure(fig: _Figure, directory: Path) -> str:
    data = (directory / fig.file).read_bytes()
    width, height = png_size(data)
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img src="{uri}" alt="{_e(fig.alt)}" width="{width}" height="{height}">'
        f"<figcaption>{_e(fig.caption)} <small>({_e(fig.file)})</small></figcaption></figure>"
    )


def _html_block(block: _Block, directory: Path) -> str:
    if isinstance(block, _Para):
        return f"<p>{_e(block.text)}</p>"
    if isinstance(block, _List):
        return "<ul>\n" + "\n".join(f"<li>{_e(t)}</li>" for t in block.items) + "\n</ul>"
    if isinstance(block, _Table):
        return _html_table(block)
    if isinstance(block, _Figure):
        return _html_figure(block, directory)
    if isinstance(block, _Pre):
        return f"<pre>{_e(block.text)}</pre>"
    return f"<h{block.level}>{_e(block.text)}</h{block.level}>"


def _to_html(
    title: str, description: str, footer: str, sections: list[_Section], directory: Path
) -> str:
    nav = "".join(f'<li><a href="#{s.anchor}">{_e(s.title)}</a></li>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="sim {_e(__version__)}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="description">{_e(description)}</p>',
        f'<nav aria-label="Sections"><ol>{nav}</ol></nav>',
        "</header>",
        "<main>",
    ]
    for section in sections:
        parts.append(f'<section id="{section.anchor}">')
        parts.append(f"<h2>{_e(section.title)}</h2>")
        parts += [_html_block(b, directory) for b in section.blocks]
        parts.append("</section>")
    parts += [
        "</main>",
        f"<footer>{_e(footer)}</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _footer(result: RunResult) -> str:
    return (
        f"Generated by sim {__version__} on {result.finished.isoformat(timespec='seconds')} "
        f"from {result.loaded.path.name} (sha256 {result.loaded.sha256[:12]})."
    )


# --------------------------------------------------------------------------- Markdown


# What can open raw HTML in CommonMark: ``<`` before a letter, ``/``, ``!`` or ``?``.
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def _md_text(text: str) -> str:
    """Text on one line that a Markdown renderer cannot turn into raw HTML."""
    return _MD_TAG.sub("&lt;", " ".join(text.split()))


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|")


def _md_block(block: _Block) -> str:
    if isinstance(block, _Para):
        return _md_text(block.text)
    if isinstance(block, _List):
        return "\n".join(f"- {_md_text(t)}" for t in block.items)
    if isinstance(block, _Table):
        header = [_md_cell(c) for c in block.header]
        return markdown_table(header, ([_md_cell(c) for c in row] for row in block.rows))
    if isinstance(block, _Figure):
        alt = _md_text(block.alt).replace("[", "(").replace("]", ")")
        return f"![{alt}]({block.file})\n\n*{_md_text(block.caption)}*"
    if isinstance(block, _Pre):
        fence = "```"
        while fence in block.text:
            fence += "`"
        return f"{fence}json\n{block.text}\n{fence}"
    return "#" * block.level + " " + _md_text(block.text)


def _to_markdown(title: str, description: str, footer: str, sections: list[_Section]) -> str:
    parts = [f"# {_md_text(title)}", _md_text(description)]
    for section in sections:
        parts.append(f"## {section.title}")
        parts += [_md_block(b).rstrip("\n") for b in section.blocks]
    parts.append(f"---\n\n*{_md_text(footer)}*")
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- entry point


def render_run(result: RunResult, directory: Path, manifest: dict[str, Any]) -> tuple[str, str]:
    """Render one run as a self-contained HTML report and a Markdown report.

    Parameters
    ----------
    result
        The finished run.
    directory
        The run's directory, already holding the chart PNGs (``brent_fan.png``, ...);
        charts that are missing are left out.
    manifest
        The run's manifest (:func:`simulator.output.manifest`), shown at the end.

    Returns
    -------
    report_html : str
        One HTML5 document with the charts embedded as ``data:`` URIs and inline CSS;
        it loads nothing else and runs no script.
    report_md : str
        The same content in Markdown, referring to the charts by their file names.

    Notes
    -----
    Sections, in order: headline numbers, charts, the Brent distribution, risk assets (if
    any), the portfolio (if any), events, every assumption of the scenario with its
    rationale, and the manifest. Statistics carry ± one Monte Carlo standard error.
    """
    title = f"Scenario report: {result.scenario.name}"
    sections = _sections(result, directory, manifest)
    description, footer = result.scenario.description, _footer(result)
    return (
        _to_html(title, description, footer, sections, directory),
        _to_markdown(title, description, footer, sections),
    )


# --------------------------------------------------------------------------- comparisons

COMPARE_CHARTS = (
    ("brent_fans.png", "Brent fan charts by scenario", "Brent: the scenarios on one scale."),
    (
        "brent_densities.png",
        "Brent densities at the horizon",
        "Distribution of Brent at the last horizon, by scenario (blend dashed).",
    ),
    (
        "probabilities.png",
        "Key probabilities",
        "Key probabilities at the last horizon with ±2 standard-error bars.",
    ),
)


def _compare_cell(row: dict[str, Any], unit: str, diff: bool = False) -> str:
    """A comparison cell, ``value ± se`` (``+diff ± se`` if ``diff``) for a series in ``unit``."""
    value, se = (row["diff"], row["diff_std_error"]) if diff else (row["value"], row["std_error"])
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    stat, asset = row["statistic"], row["asset"]
    text = format_stat(value, se, cell_digits(unit, asset, stat), grouping=True, signed=diff)
    vr = row.get("variance_reduction")
    if diff and isinstance(vr, float) and math.isfinite(vr) and vr != 1.0:
        text += f" (VR {vr:.1f}x)"
    return text


def _compare_sections(comparison: Any, directory: Path, manifest: dict[str, Any]) -> list[_Section]:
    from simulator.compare import unpaired_reason

    c = comparison
    cols = [*c.names, *(["blend"] if c.weights else [])]
    h = c.samples[0].horizons[-1]
    head: list[_Block] = [
        _List(
            (
                f"As of {c.samples[0].meta.get('as_of')}; horizons "
                f"{', '.join(str(x) for x in c.samples[0].horizons)} trading days; "
                + (
                    f"{c.samples[0].n:,} paths per scenario."
                    if len({s.n for s in c.samples}) == 1
                    else "paths: " + ", ".join(f"{s.name} {s.n:,}" for s in c.samples) + "."
                ),
                f"Reference: {c.reference}. "
                + (
                    "Paths are paired (same seed): differences use common random numbers."
                    if c.paired
                    else f"Runs are not paired ({unpaired_reason(c.samples)}): differences "
                    "assume independence."
                ),
                *(
                    [
                        "Blend weights: "
                        + ", ".join(f"{k} {v:.3g}" for k, v in c.weights.items())
                        + (f" ({c.weights_note})" if c.weights_note else "")
                    ]
                    if c.weights
                    else []
                ),
                "Values ± one Monte Carlo standard error (as in sim run; differences of quantiles, "
                "VaR and ES: batch means); VR: variance reduction "
                "of a difference from common random numbers.",
            )
        )
    ]
    rows = []
    brent_unit = c.unit("brent")
    for scen in cols:
        med = c.value(scen, "brent", h, "p50")
        cells = [scen, _compare_cell(med, brent_unit)]
        cells.append(
            "reference" if scen == c.reference else _compare_cell(med, brent_unit, diff=True)
        )
        for p in c.headline_probabilities(scen, h):
            cells.append("n/a" if p is None else _compare_cell(p, brent_unit))
        rows.append(tuple(cells))
    head.append(
        _Table(
            (
                "scenario",
                f"Brent median at {h} d",
                f"vs {c.reference}",
                "P(Brent > 100)",
                "P(ever > 100)",
            ),
            tuple(rows),
        )
    )
    charts: list[_Block] = [
        _Figure(n, a, cap) for n, a, cap in COMPARE_CHARTS if (directory / n).is_file()
    ]
    side: list[_Block] = []
    diffs: list[_Block] = []
    assets = list(dict.fromkeys(r["asset"] for r in c.rows))
    for asset in assets:
        unit = c.unit(asset)
        stats = list(
            dict.fromkeys(
                r["statistic"] for r in c.rows if r["asset"] == asset and r["horizon_days"] == h
            )
        )
        side.append(_Heading(f"{asset} at {h} trading days", 3))
        side.append(
            _Table(
                ("statistic", *cols),
                tuple(
                    (stat, *(_compare_cell(c.value(scen, asset, h, stat), unit) for scen in cols))
                    for stat in stats
                ),
            )
        )
        others = [x for x in cols if x != c.reference]
        diffs.append(_Heading(f"{asset} at {h} trading days, against {c.reference}", 3))
        diffs.append(
            _Table(
                ("statistic", *others),
                tuple(
                    (
                        stat,
                        *(
                            _compare_cell(c.value(scen, asset, h, stat), unit, diff=True)
                            for scen in others
                        ),
                    )
                    for stat in stats
                ),
            )
        )
    assumptions: list[_Block] = []
    for sample in c.samples:
        params = sample.meta.get("parameters") or {}
        assumptions.append(_Heading(sample.name, 3))
        assumptions.append(_Para(str(sample.meta.get("description", ""))))
        events = params.get("events") or {}
        if events:
            assumptions.append(
                _Table(
                    ("event", "probability", "requires", "rationale"),
                    tuple(
                        (
                            name,
                            _quantity_text(ev.get("probability")),
                            ", ".join(ev.get("requires") or []) or "—",
                            str(ev.get("rationale", "")),
                        )
                        for name, ev in events.items()
                    ),
                )
            )
    return [
        _Section("Headline numbers", head),
        _Section("Charts", charts or [_Para("No charts were found.")]),
        _Section("Side by side", side),
        _Section("Differences", diffs),
        _Section("Assumptions", assumptions or [_Para("Not recorded in the runs.")]),
        _Section(
            "Manifest", [_Pre(json.dumps(manifest, indent=2, ensure_ascii=False, default=str))]
        ),
    ]


def _quantity_text(q: Any) -> str:
    if not isinstance(q, dict):
        return "n/a"
    if "value" in q and q.get("dist", "fixed") == "fixed":
        return f"{q['value']:g}"
    params = ", ".join(
        f"{k} {v:g}" if isinstance(v, int | float) else f"{k} {v}"
        for k, v in q.items()
        if k not in {"unit", "rationale", "dist"}
    )
    return f"{q.get('dist')}({params})"


def render_compare(comparison: Any, directory: Path, manifest: dict[str, Any]) -> tuple[str, str]:
    """Render a comparison (:class:`simulator.compare.Comparison`) as HTML and Markdown.

    Sections: headline numbers, charts, side-by-side tables at the last horizon,
    differences against the reference with their standard errors, each scenario's events
    with their rationales, and the manifest.
    """
    title = f"Scenario comparison: {', '.join(comparison.names)}"
    description = f"{len(comparison.names)} scenarios compared against {comparison.reference}" + (
        " with common random numbers." if comparison.paired else "."
    )
    footer = f"Generated by sim {__version__}."
    sections = _compare_sections(comparison, directory, manifest)
    return (
        _to_html(title, description, footer, sections, directory),
        _to_markdown(title, description, footer, sections),
    )
