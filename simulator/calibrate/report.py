"""Calibration results as text: the ``oil:`` YAML fragment, JSON and Markdown/CSV tables.

Nothing here prints; the command writes what these functions return.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.calibrate.facts import FACTS, SPREAD_HORIZONS
from simulator.calibrate.mle import Estimate

if TYPE_CHECKING:
    from simulator.calibrate.assets import AssetStats
    from simulator.calibrate.core import Calibration

__all__ = [
    "asset_comments",
    "comparison_rows",
    "comparison_table",
    "facts_csv",
    "facts_table",
    "oil_section",
    "split_rows",
    "split_table",
    "to_json",
    "to_yaml",
]


def _num(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (a plain float for YAML/JSON)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


def _pm(e: Estimate, scale: float = 1.0, unit: str = "") -> str:
    """``value ± se unit``; a bound or fixed value says so."""
    v = f"{_num(e.value * scale, 3):g}{unit}"
    if not math.isfinite(e.se):
        return v
    return f"{v} ± {_num(e.se * scale, 2):g}{unit} (se)"


def _sample_text(cal: Calibration) -> str:
    s = cal.sample
    text = f"{s.first}..{s.last}"
    if s.excluded:
        text += " excl. " + ", ".join(str(w) for w in s.excluded)
    return text


def _q(value: float, unit: str, rationale: str) -> dict[str, Any]:
    return {"value": _num(value), "unit": unit, "rationale": rationale[:400]}


def oil_section(cal: Calibration) -> dict[str, Any]:
    """The ``oil:`` section (schema of :class:`simulator.scenario.OilModel`) as a dict."""
    e = cal.estimates
    full = cal.full
    kf = cal.kalman
    smp = _sample_text(cal)
    n = cal.sample.returns.size
    ms = f"t + regimes + jumps ML fit (Hamilton filter), {n} daily returns {smp}"
    kfw = f"two-factor Kalman ML, {smp}"
    vr = cal.vr
    by_vr = cal.split == "variance-ratio"
    f_stuck = bool(vr.at_bound[1])
    bound = {  # parameters stuck at the edge of the search
        "long_term.vol": (f_stuck and vr.share_long.value <= 0.5)
        if by_vr
        else bool(kf.mle.at_bound[2]),
        "short_term.vol": (f_stuck and vr.share_long.value > 0.5)
        if by_vr
        else bool(kf.mle.at_bound[1]),
        "short_term.half_life": bool(vr.at_bound[0]) if by_vr else bool(kf.mle.at_bound[0]),
        "jumps.intensity_calm": not math.isfinite(e["jumps.intensity_calm"].se),
        "jumps.intensity_stressed": not math.isfinite(e["jumps.intensity_stressed"].se),
        "jumps.size.scale": not math.isfinite(e["jumps.size.scale"].se),
    }

    def at_bound(key: str) -> str:
        return "; at the bound of the search, no se" if bound.get(key) else ""

    if by_vr:
        share = vr.share_long
        lo, hi = vr.half_life_interval
        ks = vr.horizons
        hl_text = (
            f"{_pm(e['short_term.half_life'])} d (bootstrap 90% {lo:.0f}-{hi:.0f} d), "
            f"variance-ratio fit at k = {ks[0]}..{ks[-1]} d (se: block bootstrap over "
            f"{vr.n_blocks} calendar years), {smp}; Kalman ML gives {_pm(kf.half_life)} d"
        )
        split_by = "the variance-ratio fit"
    else:
        share = kf.share_long
        hl_text = (
            f"{_pm(e['short_term.half_life'])} d, {kfw}; variance-ratio fit gives "
            f"{_pm(vr.half_life)} d"
        )
        split_by = "the Kalman fit"
    share_text = f"long factor {_pm(share, 100, '%')} of daily variance"
    drift = e["long_term.drift"]
    drift_v = min(max(drift.value, -2.0), 2.0)
    th = cal.threshold
    return {
        "spot": {
            "value": float(e["spot"].value),
            "unit": "USD/bbl",
            "rationale": f"last close in {cal.sample.series.file} on {cal.sample.last}"[-400:],
        },
        "short_term": {
            "half_life": _q(
                e["short_term.half_life"].value,
                "trading days",
                hl_text + at_bound("short_term.half_life"),
            ),
            "vol": _q(
                e["short_term.vol"].value,
                "annualised",
                f"{_pm(e['short_term.vol'])}: calm vol of the t fit split by {split_by} "
                f"({share_text}){at_bound('short_term.vol')}",
            ),
        },
        "long_term": {
            "drift": _q(drift_v, "per year", f"{_pm(drift)} a year, {kfw}"),
            "vol": _q(
                e["long_term.vol"].value,
                "annualised",
                f"{_pm(e['long_term.vol'])}: calm vol of the t fit split by {split_by} "
                f"({share_text}){at_bound('long_term.vol')}",
            ),
        },
        "factor_correlation": _q(
            kf.rho.value,
            "correlation",
            "held fixed: spot prices alone do not identify it (returns are ARMA(1,1)); "
            "set with --factor-correlation",
        ),
        "innovations": {
            "model": "student_t",
            "df": _q(
                e["innovations.df"].value, "degrees of freedom", f"{_pm(e['innovations.df'])}, {ms}"
            ),
        },
        "regimes": {
            "model": "markov",
            "calm_to_stressed": _q(
                e["regimes.calm_to_stressed"].value,
                "per day",
                f"{_pm(e['regimes.calm_to_stressed'])} a day, {ms}",
            ),
            "stressed_duration": _q(
                max(e["regimes.stressed_duration"].value, 1.0),
                "trading days",
                f"{_pm(e['regimes.stressed_duration'])} d (1/P(stressed to calm)), same fit",
            ),
            "vol_multiplier": _q(
                min(max(e["regimes.vol_multiplier"].value, 1.0), 20.0),
                "multiplier",
                f"{_pm(e['regimes.vol_multiplier'])}, same fit; calm vol "
                f"{_pm(full.estimates['vol_calm'], 100, '%')}",
            ),
            "initial_stressed": _q(
                e["regimes.initial_stressed"].value,
                "probability",
                f"filtered P(stressed) on {cal.sample.last}; stationary share "
                f"{_pm(full.estimates['stressed_share'])}",
            ),
        },
        "jumps": {
            "model": "poisson",
            "intensity_calm": _q(
                e["jumps.intensity_calm"].value,
                "per year",
                f"{_pm(e['jumps.intensity_calm'])} a year, same fit"
                f"{at_bound('jumps.intensity_calm')}",
            ),
            "intensity_stressed": _q(
                e["jumps.intensity_stressed"].value,
                "per year",
                f"{_pm(e['jumps.intensity_stressed'])} a year, same fit"
                f"{at_bound('jumps.intensity_stressed')}; threshold rule (|r| > {th.k:g} trailing "
                f"{th.window}-day sd) finds {th.dates.size}, {_pm(th.intensity)} a year",
            ),
            "size": {
                "dist": "laplace",
                "loc": 0.0,
                "scale": _num(e["jumps.size.scale"].value),
                "unit": "log return",
                "rationale": (
                    f"Laplace scale {_pm(e['jumps.size.scale'])}, same fit (held >= 2.5 daily "
                    f"sd){at_bound('jumps.size.scale')}"
                )[:400],
            },
        },
    }


# --------------------------------------------------------------------------- YAML


def _flow(d: dict[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        if isinstance(v, str):
            text = json.dumps(v, ensure_ascii=False) if k == "rationale" or ":" in v else v
        else:
            text = f"{v:g}" if isinstance(v, float) else str(v)
        parts.append(f"{k}: {text}")
    return "{" + ", ".join(parts) + "}"


def _emit(d: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict) and ("unit" in v or "dist" in v):
            out.append(f"{pad}{k}: {_flow(v)}")
        elif isinstance(v, dict):
            out.append(f"{pad}{k}:")
            _emit(v, indent + 1, out)
        else:
            out.append(f"{pad}{k}: {v}")


def to_yaml(cal: Calibration, command: str) -> str:
    """The ``oil:`` fragment with a header comment naming data, sample and command."""
    s = cal.sample
    h, m = cal.history, cal.model
    lines = [
        f"# Calibrated by: {command}",
        f"# Data: {s.series.file} (column {s.series.name}), {_sample_text(cal)}, "
        f"{s.returns.size} daily log returns.",
        (
            "# Variance ratios (5-252 d) for half-life/split, Kalman ML for drift;"
            if cal.split == "variance-ratio"
            else "# Two-factor Kalman ML for half-life/split/drift;"
        )
        + " Student-t Markov-switching",
        "# ML with Poisson-Laplace jumps (Hamilton filter) for calm vol, regimes, tails, jumps.",
        "# Rationales give estimate ± standard error (inverse Hessian; Kalman: robust sandwich;",
        "# variance ratios: block bootstrap over calendar years).",
    ]
    if h is not None and m is not None:
        lines.append(
            f"# Check (engine, {m.n:,} simulated days): ann. vol {m.vol:.1%} vs history "
            f"{h.vol:.1%}; 1%/99% day {m.q01:+.2%}/{m.q99:+.2%} vs {h.q01:+.2%}/{h.q99:+.2%}."
        )
        hs, ms_ = h.spreads, m.spreads
        parts = [
            f"{k}d {ms_[f'h{k}_q05']:+.1%}/{ms_[f'h{k}_q95']:+.1%} vs "
            f"{hs[f'h{k}_q05']:+.1%}/{hs[f'h{k}_q95']:+.1%}"
            for k in SPREAD_HORIZONS
        ]
        lines.append("# 5%/95% k-day log returns, model vs history: " + ", ".join(parts[:2]) + ",")
        lines.append("#   " + ", ".join(parts[2:]) + ".")
    for note in cal.notes:
        lines.append(f"# Note: {note}")
    lines.append("oil:")
    _emit(cal.oil, 1, lines)
    if cal.assets is not None:
        lines += asset_comments(cal.assets)
    return "\n".join(lines) + "\n"


def asset_comments(a: AssetStats) -> list[str]:
    """Comment lines with each other series' ``vol``/``drift`` (in its asset kind's units,
    ready for a scenario's ``assets:`` entry) and its correlation with the first series."""
    ref = a.names[0]
    lines = [
        f"# Cross-asset, {a.frequency}, {a.n} common moves {a.first}..{a.last}, "
        "for the assets: and",
        "# correlations: sections. Moves as the simulator's assets: log returns for prices, bp",
        "# changes for yields. Vol and drift over all days (a scenario's vol is the calm-regime "
        "one).",
    ]
    for i, name in enumerate(a.names):
        if i == 0:
            continue
        if a.kinds[i] == "yield":
            how = "--kind" if a.declared[i] else f"by its column name; else --kind {name}=price"
            what = f"kind: yield, in percent ({how})"
        else:
            what = "kind: price" + (" (--kind)" if a.declared[i] else "")
        vol, drift, beta = a.vols[i], a.drifts[i], a.betas[i]
        lines += [
            f"#   {name} ({a.files[i]}): {what}",
            f"#     vol: {{value: {_num(vol.value, 3):g}, unit: {vol.unit}}}  # {_pm(vol)}",
            f"#     drift: {{value: {_num(drift.value, 3):g}, unit: {drift.unit}}}  # {_pm(drift)}",
            f"#     correlation {ref}/{name} {a.corr[0, i]:.3f} ± {a.corr_se[0, i]:.3f} (se); "
            f"beta {_pm(beta)} {beta.unit}",
        ]
    return lines


# --------------------------------------------------------------------------- tables


def comparison_rows(cal: Calibration) -> list[dict[str, Any]]:
    """One row per model: log-likelihood, parameters, AIC, BIC and their differences."""
    rows: list[dict[str, Any]] = [
        {
            "model": "normal, two factors (Kalman)",
            "loglik": cal.kalman.mle.loglik,
            "k": cal.kalman.mle.k,
            "aic": cal.kalman.mle.aic,
            "bic": cal.kalman.mle.bic,
        }
    ]
    rows.append(
        {
            "model": "normal, two factors (variance-ratio split, not ML)",
            "loglik": cal.vr_loglik,
            "k": cal.kalman.mle.k,
            "aic": 2.0 * cal.kalman.mle.k - 2.0 * cal.vr_loglik,
            "bic": cal.kalman.mle.k * math.log(cal.kalman.mle.n_obs) - 2.0 * cal.vr_loglik,
        }
    )
    for f in cal.fits:
        rows.append(
            {
                "model": f.model.label,
                "loglik": f.mle.loglik,
                "k": f.mle.k,
                "aic": f.mle.aic,
                "bic": f.mle.bic,
            }
        )
    best_aic = min(r["aic"] for r in rows)
    best_bic = min(r["bic"] for r in rows)
    for r in rows:
        r["d_aic"] = r["aic"] - best_aic
        r["d_bic"] = r["bic"] - best_bic
    return rows


def comparison_table(cal: Calibration) -> str:
    """Markdown table of :func:`comparison_rows`."""
    out = [
        "| model | log-lik | k | AIC | BIC | ΔAIC | ΔBIC |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in comparison_rows(cal):
        out.append(
            f"| {r['model']} | {r['loglik']:.1f} | {r['k']} | {r['aic']:.1f} | {r['bic']:.1f} "
            f"| {r['d_aic']:.1f} | {r['d_bic']:.1f} |"
        )
    return "\n".join(out) + "\n\n" + split_table(cal)


def split_rows(cal: Calibration) -> list[dict[str, Any]]:
    """The two ways of splitting the daily variance, side by side (the chosen one first)."""
    from simulator.calibrate.core import oil_estimates
    from simulator.calibrate.varratio import model_vr

    ks = np.array(cal.vr.horizons, dtype=float)
    rows = []
    for split in (cal.split, *(s for s in ("variance-ratio", "kalman") if s != cal.split)):
        est = oil_estimates(cal.kalman, cal.full, 0.0, 0.0, cal.vr, split)
        if split == "variance-ratio":
            h, share, se_method = cal.vr.half_life, cal.vr.share_long, "year-block bootstrap"
        else:
            h, share, se_method = cal.kalman.half_life, cal.kalman.share_long, "robust sandwich"
            if cal.kalman.mle.at_bound[1:3].any():  # a factor sd at its bound: share has no se
                share = Estimate(share.value, math.nan, share.unit)
        rows.append(
            {
                "split": split,
                "used": split == cal.split,
                "half_life": h.as_dict(),
                "share_long": share.as_dict(),
                "short_vol_calm": est["short_term.vol"].as_dict(),
                "long_vol_calm": est["long_term.vol"].as_dict(),
                "se_method": se_method,
                "variance_ratio": {
                    str(int(k)): float(v)
                    for k, v in zip(ks, model_vr(ks, h.value, share.value), strict=True)
                },
            }
        )
    return rows


def split_table(cal: Calibration) -> str:
    """Markdown: half-life, long share, calm factor vols and VR(k) of both splits vs history."""
    ks = cal.vr.horizons
    head = " | ".join(f"VR({k})" for k in ks)
    out = [
        f"| split of variance | half-life (d) | long share | short vol | long vol | {head} |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(ks),
        "| history (± bootstrap se) | | | | | "
        + " | ".join(f"{v:.2f} ± {s:.2f}" for v, s in zip(cal.vr.vr, cal.vr.vr_se, strict=True))
        + " |",
    ]

    def pm(d: dict[str, Any], scale: float = 1.0, unit: str = "") -> str:
        return _pm(
            Estimate(d["value"], d["se"] if d["se"] is not None else math.nan, ""), scale, unit
        ).replace(" (se)", "")

    for r in split_rows(cal):
        name = r["split"] + (" (used)" if r["used"] else "")
        out.append(
            f"| {name} | {pm(r['half_life'])} | {pm(r['share_long'], 100, '%')} "
            f"| {pm(r['short_vol_calm'])} | {pm(r['long_vol_calm'])} | "
            + " | ".join(f"{v:.2f}" for v in r["variance_ratio"].values())
            + " |"
        )
    return "\n".join(out) + "\n"


def _fmt_fact(key: str, v: float) -> str:
    if key == "excess_kurtosis":
        return f"{v:.2f}"
    if key == "vol":
        return f"{v:.1%}"
    if key == "share_gt5":
        return f"{v:.2%}"
    if key.startswith("h"):
        return f"{v:+.1%}"
    return f"{v:+.2%}"


def facts_table(cal: Calibration) -> str:
    """Markdown table of stylised facts: history, model and model/history ratio."""
    assert cal.history is not None
    assert cal.model is not None
    h, m = cal.history.as_dict(), cal.model.as_dict()
    out = [
        f"| statistic | history ({cal.history.n} days) | model ({cal.model.n:,} days) "
        "| model/history |",
        "|---|---:|---:|---:|",
    ]
    for key, label in FACTS:
        ratio = m[key] / h[key] if h[key] else math.nan
        out.append(
            f"| {label} | {_fmt_fact(key, h[key])} | {_fmt_fact(key, m[key])} | {ratio:.2f} |"
        )
    return "\n".join(out) + "\n"


def facts_csv(cal: Calibration) -> str:
    """The stylised facts as CSV: ``statistic,history,model,ratio``."""
    assert cal.history is not None
    assert cal.model is not None
    h, m = cal.history.as_dict(), cal.model.as_dict()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["statistic", "history", "model", "ratio"])
    for key, _ in FACTS:
        w.writerow(
            [key, f"{h[key]:.6g}", f"{m[key]:.6g}", f"{m[key] / h[key]:.4f}" if h[key] else ""]
        )
    w.writerow(["n_days", h["n"], m["n"], ""])
    return buf.getvalue()


def to_json(cal: Calibration, command: str) -> dict[str, Any]:
    """All numbers, with standard errors, as a JSON-ready dict."""
    s = cal.sample
    th = cal.threshold
    out: dict[str, Any] = {
        "command": command,
        "data": {
            "file": s.series.file,
            "column": s.series.name,
            "first": str(s.first),
            "last": str(s.last),
            "excluded": [str(w) for w in s.excluded],
            "n_returns": int(s.returns.size),
        },
        "oil": {k: v.as_dict() for k, v in cal.estimates.items()},
        "kalman": {
            "half_life": cal.kalman.half_life.as_dict(),
            "sd_short_daily": cal.kalman.sd_short.as_dict(),
            "sd_long_daily": cal.kalman.sd_long.as_dict(),
            "drift": cal.kalman.drift.as_dict(),
            "factor_correlation_fixed": cal.kalman.rho.value,
            "share_long": cal.kalman.share_long.as_dict(),
            "loglik": cal.kalman.mle.loglik,
            "se": "robust sandwich",
        },
        "split": cal.split,
        "variance_ratio": cal.vr.as_dict() | {"loglik_two_factor": cal.vr_loglik},
        "splits": split_rows(cal),
        "return_models": {
            f.model.label: {
                "loglik": f.mle.loglik,
                "k": f.mle.k,
                "aic": f.mle.aic,
                "bic": f.mle.bic,
                "estimates": {k: v.as_dict() for k, v in f.estimates.items()},
            }
            for f in cal.fits
        },
        "comparison": comparison_rows(cal),
        "threshold_jumps": {
            "k_sd": th.k,
            "window_days": th.window,
            "days": th.days,
            "count": int(th.dates.size),
            "intensity": th.intensity.as_dict(),
            "mean_abs_size": th.mean_abs.as_dict(),
            "jumps": [
                {"date": str(d), "log_return": float(x)}
                for d, x in zip(th.dates, th.sizes, strict=True)
            ],
        },
        "stylised_facts": {
            "history": cal.history.as_dict() if cal.history else None,
            "model": cal.model.as_dict() if cal.model else None,
        },
        "notes": cal.notes,
        "oil_section": cal.oil,
    }
    if cal.assets is not None:
        out["assets"] = cal.assets.as_dict()
    return _clean(out)


def _clean(x: Any) -> Any:
    """Replace non-finite floats by None so the JSON is standard."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if hasattr(x, "item"):
        return _clean(x.item())
    return x
