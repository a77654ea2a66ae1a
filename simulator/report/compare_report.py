"""Tables and charts of a comparison (``sim compare``)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from simulator.compare import Comparison, unpaired_reason
from simulator.report.tables import cell_digits, format_stat, markdown_table, to_csv

__all__ = [
    "COMPARISON_COLUMNS",
    "comparison_csv",
    "comparison_markdown",
    "densities_chart",
    "fans_chart",
    "key_probabilities",
    "probabilities_chart",
]

COMPARISON_COLUMNS = (
    "scenario",
    "asset",
    "horizon_days",
    "statistic",
    "value",
    "std_error",
    "reference",
    "diff",
    "diff_std_error",
    "diff_std_error_independent",
    "variance_reduction",
)
_COLORS = ["#1f5a96", "#b22222", "#2e8b57", "#8b6914", "#6a3d9a", "#ff7f00"]
TABLE_STATS = ("mean", "p05", "p50", "p95")


def comparison_csv(c: Comparison) -> str:
    """``comparison.csv``: one tidy row per scenario, series, horizon and statistic."""
    rows = [
        [
            r["scenario"],
            r["asset"],
            r["horizon_days"],
            r["statistic"],
            r["value"],
            r["std_error"],
            c.reference if r["scenario"] != c.reference else "",
            r["diff"],
            r["diff_std_error"],
            r["diff_std_error_independent"],
            r["variance_reduction"],
        ]
        for r in c.rows
    ]
    return to_csv(COMPARISON_COLUMNS, [[_blank(v) for v in row] for row in rows])


def _blank(v: object) -> object:
    return "" if isinstance(v, float) and math.isnan(v) else v


def _cell(c: Comparison, value: float, se: float, stat: str, asset: str) -> str:
    """``value ± se`` in the precision of the statistic and the series' unit (probabilities
    to 0.001 in Markdown)."""
    digits = cell_digits(c.unit(asset), asset, stat, probability_digits=3)
    return format_stat(value, se, digits, grouping=True)


def comparison_markdown(c: Comparison) -> str:
    """``comparison.md``: side-by-side tables per series and horizon, then differences."""
    cols = [*c.names, *(["blend"] if c.weights else [])]
    out = [f"# Comparison: {', '.join(c.names)}\n\n"]
    out.append(
        f"Reference: **{c.reference}**. Values ± one Monte Carlo standard error (as in "
        "`sim run`; differences of quantiles, VaR and ES: batch means). "
        + (
            "Paths are paired (same seed): differences use common random numbers.\n\n"
            if c.paired
            else f"Runs are not paired ({unpaired_reason(c.samples)}): differences assume "
            "independence.\n\n"
        )
    )
    if c.weights:
        shown = ", ".join(f"{k} {v:.3g}" for k, v in c.weights.items())
        out.append(
            f"Blend weights: {shown}." + (f" ({c.weights_note})" if c.weights_note else "") + "\n\n"
        )
    series = list(dict.fromkeys(r["asset"] for r in c.rows))
    horizons = list(dict.fromkeys(r["horizon_days"] for r in c.rows))
    for asset in series:
        unit = c.samples[0].specs[asset].unit if asset in c.samples[0].specs else "USD P&L"
        out.append(f"## {asset} ({unit})\n\n")
        for h in horizons:
            stats = list(
                dict.fromkeys(
                    r["statistic"] for r in c.rows if r["asset"] == asset and r["horizon_days"] == h
                )
            )
            body = []
            for stat in stats:
                cells = [stat]
                for scen in cols:
                    r = c.value(scen, asset, h, stat)
                    cells.append(_cell(c, r["value"], r["std_error"], stat, asset))
                body.append(cells)
            out.append(f"**{h} trading days**\n\n")
            out.append(markdown_table(["statistic", *cols], body))
            out.append("\n")
        # Differences at the last horizon.
        h = horizons[-1]
        others = [s for s in cols if s != c.reference]
        body = []
        for stat in TABLE_STATS + tuple(
            s
            for s in dict.fromkeys(r["statistic"] for r in c.rows if r["asset"] == asset)
            if s.startswith(("prob_", "var_", "es_"))
        ):
            try:
                cells = [stat]
                for scen in others:
                    r = c.value(scen, asset, h, stat)
                    vr = r["variance_reduction"]
                    cells.append(
                        _cell(c, r["diff"], r["diff_std_error"], stat, asset)
                        + (
                            f" (VR {vr:.1f}x)"
                            if isinstance(vr, float) and math.isfinite(vr) and vr != 1.0
                            else ""
                        )
                    )
                body.append(cells)
            except KeyError:
                continue
        out.append(
            f"Difference against {c.reference} at {h} trading days "
            "(VR: variance reduction from common random numbers):\n\n"
        )
        out.append(markdown_table(["statistic", *others], body))
        out.append("\n")
    return "".join(out)


def fans_chart(c: Comparison, asset: str = "brent") -> Figure:
    """Fan charts of the scenarios side by side, on one vertical scale."""
    n = len(c.samples)
    fig = Figure(figsize=(4.2 * n, 4.2), dpi=100)
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for ax, s, color in zip(axes, c.samples, _COLORS, strict=False):
        dates, q = s.fan[asset]
        x = mdates.date2num(np.array(dates, dtype="datetime64[D]"))
        ax.fill_between(x, q[:, 0], q[:, 4], color=color, alpha=0.18, lw=0, label="5–95%")
        ax.fill_between(x, q[:, 1], q[:, 3], color=color, alpha=0.35, lw=0, label="25–75%")
        ax.plot(x, q[:, 2], color=color, lw=1.8, label="median")
        ax.axhline(s.specs[asset].start, color="0.3", lw=0.8, ls="--")
        ax.set_title(s.name, fontsize=10)
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
        ax.tick_params(labelsize=8)
        ax.grid(True, alpha=0.3)
    unit = c.samples[0].specs[asset].unit
    axes[0].set_ylabel(f"{'Brent' if asset == 'brent' else asset} ({unit})")
    axes[0].legend(fontsize=7, frameon=False, loc="upper left")
    fig.suptitle(
        f"{'Brent' if asset == 'brent' else asset}: scenarios on one scale "
        f"(dashed: start value, scenarios as of {c.samples[0].meta.get('as_of')})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def densities_chart(c: Comparison, asset: str = "brent") -> Figure:
    """Overlaid densities at the last horizon (and the blend, dashed)."""
    fig = Figure(figsize=(9, 5), dpi=110)
    ax = fig.add_subplot()
    h_i = len(c.samples[0].horizons) - 1
    allv = np.concatenate([s.values[asset][:, h_i] for s in c.samples])
    lo, hi = np.quantile(allv, [0.002, 0.998])
    edges = np.linspace(lo, hi, 90)
    centres = (edges[:-1] + edges[1:]) / 2
    for s, color in zip(c.samples, _COLORS, strict=False):
        dens, _ = np.histogram(s.values[asset][:, h_i], bins=edges)
        dens = dens / (s.n * np.diff(edges))
        ax.plot(centres, dens, color=color, lw=1.6, label=s.name)
    if c.weights:
        blend = np.zeros(len(centres))
        for s in c.samples:
            dens, _ = np.histogram(s.values[asset][:, h_i], bins=edges)
            blend += c.weights[s.name] * dens / (s.n * np.diff(edges))
        ax.plot(centres, blend, color="black", lw=1.4, ls="--", label="blend")
    unit = c.samples[0].specs[asset].unit if asset in c.samples[0].specs else "USD"
    ax.set_xlabel(
        f"{'Brent' if asset == 'brent' else asset} ({unit}) at "
        f"{c.samples[0].horizons[-1]} trading days"
    )
    ax.set_ylabel(f"probability density (per {unit})")
    ax.set_title("Distribution at the horizon by scenario")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def key_probabilities(c: Comparison) -> list[tuple[str, str, str]]:
    """(label, asset, statistic) of the probabilities worth a bar chart, where present."""
    wanted = [
        ("Brent > $100", "brent", "prob_above_100"),
        ("Brent > $100 any day", "brent", "prob_ever_above_100"),
        ("Brent > $130", "brent", "prob_above_130"),
        ("Brent < $60", "brent", "prob_below_60"),
        ("S&P 500 down >10%", "sp500", "prob_down_10pct"),
        ("Airlines down >10%", "airlines", "prob_down_10pct"),
        ("Gold up >10%", "gold", "prob_up_10pct"),
        ("10y yield down >50 bp", "us10y", "prob_down_50bp"),
        ("Portfolio loss", "portfolio", "prob_loss"),
    ]
    h = c.samples[0].horizons[-1]
    out = []
    for label, asset, stat in wanted:
        try:
            c.value(c.names[0], asset, h, stat)
        except KeyError:
            continue
        out.append((label, asset, stat))
    return out


def probabilities_chart(c: Comparison) -> Figure:
    """Bars of key probabilities at the last horizon, per scenario, with ±2 SE error bars."""
    keys = key_probabilities(c)
    cols = [*c.names, *(["blend"] if c.weights else [])]
    h = c.samples[0].horizons[-1]
    fig = Figure(figsize=(max(8.0, min(14.0, 0.45 * len(keys) * len(cols))), 5), dpi=110)
    ax = fig.add_subplot()
    width = 0.8 / len(cols)
    x = np.arange(len(keys))
    for j, scen in enumerate(cols):
        vals = [c.value(scen, a, h, s)["value"] for _, a, s in keys]
        errs = [2 * c.value(scen, a, h, s)["std_error"] for _, a, s in keys]
        ax.bar(
            x + (j - (len(cols) - 1) / 2) * width,
            vals,
            width,
            yerr=errs,
            capsize=2,
            color=_COLORS[j % len(_COLORS)] if scen != "blend" else "0.4",
            label=scen,
        )
    ax.set_xticks(x, [k[0] for k in keys], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"probability at {h} trading days")
    ax.set_title("Key probabilities by scenario (error bars: ±2 standard errors)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def terminal_table(c: Comparison) -> list[list[str]]:
    """Rows for the terminal: Brent median, P(>100) and P(ever>100) at the last horizon,
    with the median's difference from the reference."""
    h = c.samples[0].horizons[-1]
    rows = []
    for scen in [*c.names, *(["blend"] if c.weights else [])]:
        med = c.value(scen, "brent", h, "p50")
        cells = [scen, _cell(c, med["value"], med["std_error"], "p50", "brent")]
        if scen == c.reference or math.isnan(med["diff"]):
            cells.append("reference" if scen == c.reference else "")
        else:
            vr = med["variance_reduction"]
            cells.append(
                format_stat(med["diff"], med["diff_std_error"], 2, signed=True)
                + (f" (VR {vr:.0f}x)" if math.isfinite(vr) and vr != 1 else "")
            )
        for p in c.headline_probabilities(scen, h):  # in percent, as in `sim run`
            cells.append(
                "" if p is None else format_stat(100 * p["value"], 100 * p["std_error"], 1) + "%"
            )
        rows.append(cells)
    return rows


def portfolio_terminal_table(c: Comparison) -> list[list[str]] | None:
    """Rows for the terminal when the scenarios ran with a portfolio: the book's mean P&L
    (± standard error), VaR and ES at 99% at the last horizon (USD), and the VaR's
    difference from the reference (± its error); ``None`` without a portfolio."""
    if "portfolio" not in c.samples[0].values:
        return None
    h = c.samples[0].horizons[-1]
    rows = []
    for scen in [*c.names, *(["blend"] if c.weights else [])]:
        mean = c.value(scen, "portfolio", h, "mean")
        cells = [scen, format_stat(mean["value"], mean["std_error"], 0, grouping=True)]
        for stat in ("var_99", "es_99"):
            cells.append(f"{c.value(scen, 'portfolio', h, stat)['value']:,.0f}")
        var = c.value(scen, "portfolio", h, "var_99")
        if scen == c.reference or math.isnan(var["diff"]):
            cells.append("reference" if scen == c.reference else "")
        else:
            cells.append(
                format_stat(var["diff"], var["diff_std_error"], 0, grouping=True, signed=True)
            )
        rows.append(cells)
    return rows
