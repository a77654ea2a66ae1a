"""Charts of a run, as matplotlib Figures (Agg backend; callers save them)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from simulator.engine import RunResult
from simulator.reduce import SeriesSummary

__all__ = ["fan_chart", "terminal_chart"]

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
    fan_dates = dates[series.fan_days].astype("datetime64[D]").astype(object)
    q = series.fan_quantiles(np.array([0.05, 0.25, 0.5, 0.75, 0.95]))
    if ax is None:
        fig = Figure(figsize=(9, 5), dpi=110)
        axes = fig.add_subplot()
    else:
        axes = ax  # type: ignore[assignment]
        fig = axes.figure  # type: ignore[attr-defined]
    axes.fill_between(fan_dates, q[:, 0], q[:, 4], color=_BLUE, alpha=0.18, lw=0, label="5–95%")
    axes.fill_between(fan_dates, q[:, 1], q[:, 3], color=_BLUE, alpha=0.35, lw=0, label="25–75%")
    all_dates = dates.astype("datetime64[D]").astype(object)
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
        label=f"as of {result.scenario.as_of}: {series.spec.start:,.2f}",
    )
    unit = series.spec.unit
    axes.set_ylabel(f"{_series_label(series)} ({unit})")
    axes.set_xlabel("date (trading days from the as-of date)")
    axes.set_title(
        f"{_series_label(series)} — {result.scenario.name} "
        f"({result.summary.n_paths:,} paths, seed {result.config.seed})"
    )
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
        keep = dens > 0
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
        series.spec.start, color="#b22222", lw=1.0, ls="--", label=f"as of {result.scenario.as_of}"
    )
    axes.set_xlabel(f"{_series_label(series)} ({series.spec.unit})")
    axes.set_ylabel(f"probability density (per {series.spec.unit})")
    axes.set_title(f"{_series_label(series)} at each horizon — {result.scenario.name}")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
