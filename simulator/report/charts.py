"""Charts of a run, as matplotlib Figures (Agg backend; callers save them)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from simulator.engine import RunResult
from simulator.reduce import SeriesSummary

__all__ = [
    "assets_fan_chart",
    "assets_terminal_chart",
    "correlation_chart",
    "fan_chart",
    "portfolio_chart",
    "terminal_chart",
]

BANDS = ((0.05, 0.95), (0.25, 0.75))
_BLUE = "#1f5a96"


def _series_label(series: SeriesSummary) -> str:
    names = {"brent": "Brent"}
    return names.get(series.spec.name, series.spec.name)


def fan_chart(result: RunResult, series_name: str = "brent", ax: object = None) -> Figure:
    """Fan chart: 5-95% and 25-75% bands, median, sample paths and the as-of level.

    Parameters
    ----------
    result
        A finished run.
    series_name
        Which series (``brent`` or an asset name).
    ax
        Draw into this Axes instead of a new figure.
    """
    series = result.summary.series[series_name]
    dates = result.dates()
    fan_dates = mdates.date2num(dates[series.fan_days])
    q = series.fan_quantiles(np.array([0.05, 0.25, 0.5, 0.75, 0.95]))
    if ax is None:
        fig = Figure(figsize=(9, 5), dpi=110)
        axes = fig.add_subplot()
    else:
        axes = ax  # type: ignore[assignment]
        fig = axes.figure  # type: ignore[attr-defined,assignment]
    axes.fill_between(fan_dates, q[:, 0], q[:, 4], color=_BLUE, alpha=0.18, lw=0, label="5–95%")
    axes.fill_between(fan_dates, q[:, 1], q[:, 3], color=_BLUE, alpha=0.35, lw=0, label="25–75%")
    all_dates = mdates.date2num(dates)
    for i, path in enumerate(series.samples[:5]):
        axes.plot(
            all_dates,
            path,
            color="0.35",
            lw=0.6,
            alpha=0.7,
            label="sample paths" if i == 0 else None,
        )
    axes.plot(fan_dates, q[:, 2], color=_BLUE, lw=2.0, label="median")
    axes.axhline(
        series.spec.start,
        color="#b22222",
        lw=1.0,
        ls="--",
        label=f"start {series.spec.start:,.2f} (scenario as of {result.scenario.as_of})",
    )
    unit = series.spec.unit
    axes.set_ylabel(f"{_series_label(series)} ({unit})")
    axes.set_xlabel("date (a step per weekday from the as-of date; holidays are not skipped)")
    axes.set_title(
        f"{_series_label(series)} — {result.scenario.name} "
        f"({result.summary.n_paths:,} paths, seed {result.config.seed})"
    )
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    if ax is None:
        fig.autofmt_xdate()
        fig.tight_layout()
    return fig


def terminal_chart(result: RunResult, series_name: str = "brent") -> Figure:
    """Densities of the level at each reporting horizon, with medians marked."""
    series = result.summary.series[series_name]
    fig = Figure(figsize=(9, 5), dpi=110)
    axes = fig.add_subplot()
    colors = ["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]
    positions = np.searchsorted(series.fan_days, series.horizons)
    medians = series.quantiles(np.array([0.5]))[:, 0]
    for k, (h, pos) in enumerate(zip(series.horizons, positions, strict=True)):
        x, dens = series.fan.density(int(pos))
        level = series.spec.inverse(x)
        # density of the histogram coordinate -> density of the level
        dens = dens / level if series.spec.kind == "log" else dens * 100.0
        keep = dens > dens.max() * 2e-3
        lo, hi = np.nonzero(keep)[0][[0, -1]] if keep.any() else (0, len(x) - 1)
        color = colors[min(k, len(colors) - 1)]
        axes.plot(
            level[lo : hi + 1],
            dens[lo : hi + 1],
            color=color,
            lw=1.5,
            label=f"{int(h)} trading days (median {medians[k]:,.2f})",
        )
        axes.axvline(medians[k], color=color, lw=0.8, ls=":")
    axes.axvline(
        series.spec.start,
        color="#b22222",
        lw=1.0,
        ls="--",
        label=f"start (scenario as of {result.scenario.as_of})",
    )
    axes.set_xlabel(f"{_series_label(series)} ({series.spec.unit})")
    axes.set_ylabel(f"probability density (per {series.spec.unit})")
    axes.set_title(f"{_series_label(series)} at each horizon — {result.scenario.name}")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _label(result: RunResult, name: str) -> str:
    if name == "brent":
        return "Brent"
    asset = result.scenario.assets.get(name)
    return asset.label if asset is not None else name


def assets_fan_chart(result: RunResult) -> Figure:
    """Small multiples: a fan chart for Brent and for every asset."""
    names = list(result.summary.series)
    cols = 2 if len(names) <= 4 else 3
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(5.0 * cols, 3.2 * rows), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False)
    dates = result.dates()
    for ax, name in zip(axes.flat, names, strict=False):
        series = result.summary.series[name]
        fan_dates = mdates.date2num(dates[series.fan_days])
        q = series.fan_quantiles(np.array([0.05, 0.25, 0.5, 0.75, 0.95]))
        ax.fill_between(fan_dates, q[:, 0], q[:, 4], color=_BLUE, alpha=0.18, lw=0)
        ax.fill_between(fan_dates, q[:, 1], q[:, 3], color=_BLUE, alpha=0.35, lw=0)
        ax.plot(fan_dates, q[:, 2], color=_BLUE, lw=1.5)
        ax.axhline(series.spec.start, color="#b22222", lw=0.8, ls="--")
        ax.set_title(f"{_label(result, name)} ({series.spec.unit})", fontsize=9)
        ax.xaxis_date()
        ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, len(fan_dates) // 120)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %y"))
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{result.scenario.name}: 5–95% and 25–75% bands, median; dashed: start value "
        f"(scenario as of {result.scenario.as_of})",
        fontsize=10,
    )
    # Fixed margins: tight_layout would render the whole figure once more.
    fig.subplots_adjust(left=0.05, right=0.98, top=0.92, bottom=0.06, hspace=0.35, wspace=0.18)
    return fig


def assets_terminal_chart(result: RunResult) -> Figure:
    """Small multiples: each series' distribution at the last horizon, as a move from start."""
    names = list(result.summary.series)
    cols = 2 if len(names) <= 4 else 3
    rows = -(-len(names) // cols)
    fig = Figure(figsize=(5.0 * cols, 3.0 * rows), dpi=100)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        series = result.summary.series[name]
        pos = int(np.searchsorted(series.fan_days, series.horizons[-1]))
        x, dens = series.fan.density(pos)
        if series.spec.kind == "log":
            x = np.expm1(x) * 100.0
            xlabel = "change from start (%)"
            dens = dens / (1.0 + x / 100.0) / 100.0
        else:
            xlabel = "change from start (bp)"
        lo, hi = np.quantile(x, [0, 1])
        keep = dens > dens.max() * 1e-3
        if keep.any():
            lo, hi = x[keep][[0, -1]]
        sel = (x >= lo) & (x <= hi)
        ax.fill_between(x[sel], dens[sel], color=_BLUE, alpha=0.35, lw=0)
        ax.plot(x[sel], dens[sel], color=_BLUE, lw=1.0)
        ax.axvline(0.0, color="#b22222", lw=0.8, ls="--")
        ax.set_title(f"{_label(result, name)} at {int(series.horizons[-1])} days", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"{result.scenario.name}: distribution at the horizon", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.92, bottom=0.07, hspace=0.5, wspace=0.18)
    return fig


#: Tick labels of the correlation chart are cut to this many characters (labels may have 80).
_CORR_LABEL_CHARS = 40
#: Up to this many series the correlation cells carry their values; beyond, they are too small.
_CORR_ANNOTATE_MAX = 12


def _short(text: str, width: int = _CORR_LABEL_CHARS) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis if cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def correlation_chart(result: RunResult) -> Figure:
    """Input correlation matrix next to the simulated one (daily moves, all days).

    The two heatmaps share their rows (labelled once, on the left) and one colour bar.
    The figure grows with the number of series so that cells, rotated column labels and
    titles keep their size, and constrained layout places them without overlaps; up to
    :data:`_CORR_ANNOTATE_MAX` series each cell also shows its value.
    """
    from simulator.assets import correlation_matrix, correlation_repair

    names, target = correlation_matrix(result.scenario)
    repaired = correlation_repair(result.scenario) is not None
    assert result.summary.daily is not None
    simulated = result.summary.daily.correlation()
    labels = [_short(_label(result, n)) for n in names]
    k = len(names)
    annotate = k <= _CORR_ANNOTATE_MAX
    fontsize = 8 if annotate else 7
    # Sizes in inches. A character of the tick font is about 0.6 em wide; the panel has a
    # floor so that its two-line title fits above a matrix of one or two cells. Column
    # labels at 45 degrees hang down and to the left by about 0.7 of their length: below
    # both panels, and into the gap between them.
    cell = 0.5 if annotate else 0.24
    panel = max(k * cell, 2.4)
    label = 0.6 * fontsize / 72 * max(len(t) for t in labels) + 0.2
    width = label + 2 * panel + 0.7 * label + 1.4
    height = panel + 0.7 * label + 1.0
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, matrix, title in (
        (axes[0], target, f"input{', repaired' if repaired else ''}\n(calm days, no events)"),
        (axes[1], simulated, "simulated\n(all days, regimes and events)"),
    ):
        # Auto aspect: the figure is sized for square cells, and a fixed aspect would shrink
        # the axes after constrained layout has placed the labels around them.
        im = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu_r", aspect="auto")
        ax.set_xticks(range(k), labels, fontsize=fontsize)
        # Anchored rotation keeps each label's end at its tick, below the matrix.
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")
        ax.set_yticks(range(k), labels, fontsize=fontsize)
        ax.set_title(title, fontsize=9)
        if annotate:
            for i in range(k):
                for j in range(k):
                    value = float(matrix[i, j])
                    ax.text(
                        j,
                        i,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if abs(value) > 0.6 else "black",
                    )
    # The rows are the same in both panels: label them once, on the left.
    axes[1].tick_params(axis="y", labelleft=False)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="correlation")
    fig.suptitle(f"Correlation of daily moves — {result.scenario.name}", fontsize=10)
    return fig


def portfolio_chart(result: RunResult) -> Figure:
    """P&L densities at each horizon with VaR and ES at 99% for the last horizon."""
    book = result.summary.portfolio
    assert book is not None
    fig = Figure(figsize=(9, 5), dpi=110)
    ax = fig.add_subplot()
    colors = ["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]
    last = len(book.horizons) - 1
    lo_all, hi_all = 0.0, 0.0
    for i, h in enumerate(book.horizons):
        x, dens = book.density(i)
        keep = dens > dens.max() * 1e-3
        if not keep.any():
            continue
        lo, hi = x[keep][[0, -1]]
        lo_all, hi_all = min(lo_all, lo), max(hi_all, hi)
        sel = (x >= lo) & (x <= hi)
        ax.plot(
            x[sel] / 1e6,
            dens[sel] * 1e6,
            color=colors[min(i, 4)],
            lw=1.4,
            label=f"{int(h)} trading days",
        )
    risk = book.risk(last, "99")
    var, es = risk["var_99"][0], risk["es_99"][0]
    ax.axvline(
        -var / 1e6,
        color="#b22222",
        lw=1.0,
        ls="--",
        label=f"99% VaR at {int(book.horizons[last])} d: {var / 1e6:,.2f}m",
    )
    ax.axvline(
        -es / 1e6,
        color="#7f0000",
        lw=1.0,
        ls=":",
        label=f"99% ES at {int(book.horizons[last])} d: {es / 1e6:,.2f}m",
    )
    ax.set_xlim(lo_all / 1e6, hi_all / 1e6)
    ax.set_xlabel("P&L (USD million)")
    ax.set_ylabel("probability density (per USD million)")
    name = result.portfolio.portfolio.name if result.portfolio else "portfolio"
    ax.set_title(f"Portfolio '{name}' P&L — {result.scenario.name}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
