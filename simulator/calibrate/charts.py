"""Diagnostic charts of a calibration (matplotlib Figures; the caller saves them).

* QQ plot of historical against simulated daily returns;
* autocorrelation of squared returns, history against the model's mean over paths;
* rolling 63-day volatility of history, with the model's 5–95% band.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from simulator.calibrate.data import MAX_GAP_DAYS
from simulator.calibrate.facts import acf
from simulator.calibrate.jumps import trailing_sd

if TYPE_CHECKING:
    from simulator.calibrate.core import Calibration

__all__ = [
    "ACF_LAGS",
    "ROLLING_DAYS",
    "acf_figure",
    "qq_figure",
    "rolling_vol_figure",
    "write_charts",
]

ACF_LAGS = 60
ROLLING_DAYS = 63


def qq_figure(cal: Calibration) -> Figure:
    """Quantiles of historical vs simulated daily log returns (percent)."""
    assert cal.simulated is not None
    hist = np.sort(cal.sample.returns)
    probs = (np.arange(hist.size) + 0.5) / hist.size
    sim = np.quantile(cal.simulated.ravel(), probs)
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot()
    ax.scatter(sim * 100, hist * 100, s=6, alpha=0.6)
    lo, hi = min(sim[0], hist[0]) * 100, max(sim[-1], hist[-1]) * 100
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.set_xlabel("model daily log return (%)")
    ax.set_ylabel("historical daily log return (%)")
    ax.set_title("QQ: history vs calibrated model")
    fig.tight_layout()
    return fig


def acf_figure(cal: Calibration) -> Figure:
    """ACF of squared daily returns at lags 1..60, history and model (mean over paths)."""
    assert cal.simulated is not None
    h = acf(cal.sample.returns**2, ACF_LAGS)
    m = acf(cal.simulated.T**2, ACF_LAGS).mean(axis=1)
    lags = np.arange(1, ACF_LAGS + 1)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.bar(lags, h, width=0.8, alpha=0.6, label="history")
    ax.plot(lags, m, color="C1", lw=2, label="model (mean over paths)")
    ax.axhline(1.96 / np.sqrt(cal.sample.returns.size), color="grey", ls=":", lw=1)
    ax.set_xlabel("lag (trading days)")
    ax.set_ylabel("autocorrelation of r²")
    ax.set_title("Volatility clustering")
    ax.legend()
    fig.tight_layout()
    return fig


def rolling_vol_figure(cal: Calibration) -> Figure:
    """Rolling 63-day annualised vol of history, with the model's 5–95% band."""
    assert cal.simulated is not None
    r = cal.sample.returns
    d = cal.sample.return_dates
    hv = trailing_sd(np.r_[r, 0.0], ROLLING_DAYS) * np.sqrt(252)
    sv = trailing_sd(cal.simulated.T, ROLLING_DAYS) * np.sqrt(252)
    lo, med, hi = np.quantile(sv, [0.05, 0.5, 0.95])
    x, y = d[ROLLING_DAYS - 1 :], hv * 100
    # A break in the line across an excluded window (or any gap longer than the data
    # allows): a NaN between the two sides.
    cut = np.flatnonzero(np.diff(x).astype(int) > MAX_GAP_DAYS) + 1
    x = np.insert(x, cut, x[cut - 1] + (x[cut] - x[cut - 1]) // 2)
    y = np.insert(y, cut, np.nan)
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    ax.plot(x, y, lw=1, label="history")
    ax.axhspan(lo * 100, hi * 100, color="C1", alpha=0.2, label="model 5–95%")
    ax.axhline(med * 100, color="C1", lw=1, label="model median")
    ax.set_ylabel(f"{ROLLING_DAYS}-day vol (% a year)")
    ax.set_title("Rolling volatility")
    ax.legend()
    fig.tight_layout()
    return fig


def write_charts(cal: Calibration, directory: Path) -> list[Path]:
    """Write the charts (PNG) and the stylised-facts tables (Markdown, CSV) to ``directory``.

    All are written first and then moved in together (:func:`simulator.output.atomic_files`),
    so a failed or interrupted call leaves earlier files in ``directory`` as they were.
    """
    from simulator.calibrate.report import comparison_table, facts_csv, facts_table
    from simulator.output import atomic_files

    tables = (
        ("stylised_facts.md", facts_table(cal)),
        ("stylised_facts.csv", facts_csv(cal)),
        ("model_comparison.md", comparison_table(cal)),
    )
    figures = (
        ("qq.png", qq_figure),
        ("acf_squared.png", acf_figure),
        ("rolling_vol.png", rolling_vol_figure),
    )
    with atomic_files(directory) as tmp:
        for name, make in figures:
            make(cal).savefig(tmp / name, dpi=110)
        for name, text in tables:
            (tmp / name).write_text(text, encoding="utf-8")
    return [directory / name for name, _ in (*figures, *tables)]
