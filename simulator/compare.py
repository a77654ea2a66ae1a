"""Comparing scenarios: side by side, differences with honest errors, and blends.

Scenarios run with the same seed share the random draws of every component they have in
common (:mod:`simulator.streams`), so path ``i`` of one scenario and path ``i`` of another
differ only through what the scenarios change: differences are measured on those pairs.

Standard errors. A scenario's own statistics carry the errors ``sim run`` gives them
(:func:`standard_errors`: closed forms for means and probabilities, order-statistic
intervals for quantiles and VaR, the tail formula for expected shortfall), so a number has
the same error in both. A paired difference of a mean or a probability is the mean of
per-path differences, and its error is theirs (:func:`linear_parts`); so is a mean or a
probability of the blend of paired scenarios, the mean over paths of the weighted per-path
values. Differences of quantiles, VaR and ES, and those statistics of the paired blend,
use batch means: the paths are
cut into :data:`N_BATCHES` contiguous batches, the statistic (or difference) is computed
per batch, and the error is the batches' standard deviation over ``sqrt(N_BATCHES)``,
which sees the correlation that common random numbers create. The independent-runs error
of a difference is ``sqrt(se_a^2 + se_b^2)``; the ratio of the two variances is the
variance reduction that common random numbers gave.

Statistics of a sample with weights (a blend is the scenarios' samples pooled with
weights ``w_s / n_s``) use one definition throughout: the quantile at ``q`` interpolates
the sorted values at the midpoints of their cumulative weights (with equal weights,
numpy's default quantile, as ``sim run``); expected shortfall is the weighted mean of the
worst ``alpha`` of probability mass.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.errors import InputError
from simulator.portfolio import LEVELS
from simulator.reduce import QUANTILES, SeriesSpec, first_passage_hits
from simulator.samples import Sample

__all__ = [
    "HEADLINE_PROBABILITIES",
    "N_BATCHES",
    "Comparison",
    "check_comparable",
    "check_distinct",
    "check_reference",
    "compare",
    "linear_parts",
    "parse_weights",
    "standard_errors",
    "statistics",
    "unpaired_reason",
]

N_BATCHES = 20
#: Brent's probabilities in the headline tables (terminal, HTML).
HEADLINE_PROBABILITIES = ("prob_above_100", "prob_ever_above_100")
PORTFOLIO_STATS = ("mean", "p05", "p50", "p95", "prob_loss", "var_95", "es_95", "var_99", "es_99")


class _Ranked:
    """A weighted sample sorted once, for all its quantiles and shortfalls."""

    def __init__(self, values: np.ndarray, weights: np.ndarray) -> None:
        order = np.argsort(values, kind="stable")
        self.v = values[order]
        w = weights[order]
        self.equal = bool(np.all(w == w[0])) if len(w) else True
        self.total = w.sum()
        self.mid = np.cumsum(w) - w / 2.0
        self.w_norm = w / self.total
        self.cum = np.cumsum(self.w_norm)

    def quantiles(self, qs: list[float]) -> list[float]:
        """Quantiles at levels ``qs``: the sorted values interpolated at the midpoints of
        their cumulative weights; with equal weights, numpy's default quantile (the one
        ``sim run`` reports), all levels in one call (one partition)."""
        q = np.asarray(qs, dtype=np.float64)
        if self.equal:
            return [float(x) for x in np.quantile(self.v, np.clip(q, 0.0, 1.0))]
        return [float(x) for x in np.interp(q * self.total, self.mid, self.v)]

    def shortfall(self, alpha: float) -> float:
        """Expected shortfall (a positive loss) of P&L at tail mass ``alpha``."""
        v, w = self.v, self.w_norm
        k = int(np.searchsorted(self.cum, alpha))
        taken = w[:k].sum()
        total = float(np.dot(v[:k], w[:k])) + (alpha - taken) * (v[k] if k < len(v) else 0.0)
        return -total / alpha


def statistics(
    values: np.ndarray,
    weights: np.ndarray,
    spec: SeriesSpec | None,
    running: np.ndarray | None = None,
) -> dict[str, float]:
    """Statistics of one series at one horizon from a weighted sample.

    Parameters
    ----------
    values, weights
        Levels (or P&L for the portfolio) and their weights, ``(n,)``.
    spec
        The series' spec (thresholds); ``None`` for the portfolio (P&L statistics).
    running
        Highest and lowest level up to the horizon, ``(n, 2)``: adds the first-passage
        probabilities (``prob_ever_above_X``, ``prob_ever_below_X``).
    """
    w = weights / weights.sum()
    ranked = _Ranked(values, w)
    out = {"mean": float(np.dot(values, w))}
    if spec is None:
        shown = ("p05", "p50", "p95")
        q = ranked.quantiles([QUANTILES[stat] for stat in shown] + list(LEVELS.values()))
        out.update(zip(shown, q, strict=False))
        for name, hit in _threshold_events(values, spec):
            out[name] = float(w[hit].sum())
        for (level, alpha), var in zip(LEVELS.items(), q[len(shown) :], strict=True):
            out[f"var_{level}"] = -var
            out[f"es_{level}"] = ranked.shortfall(alpha)
        return out
    out.update(zip(QUANTILES, ranked.quantiles(list(QUANTILES.values())), strict=True))
    for name, hit in _threshold_events(values, spec, running):
        out[name] = float(w[hit].sum())
    return out


def _threshold_events(
    values: np.ndarray, spec: SeriesSpec | None, running: np.ndarray | None = None
) -> list[tuple[str, np.ndarray]]:
    """Each probability statistic with the paths where its event happens, bool ``(n,)``:
    beyond each threshold of ``spec`` (at the horizon, and with ``running`` on some day up
    to it), or a loss for the portfolio (``spec`` ``None``)."""
    if spec is None:
        return [("prob_loss", values < 0)]
    above, below = spec.statistic_names()
    events = [
        *((name, values > t) for name, t in zip(above, spec.thresholds_above, strict=True)),
        *((name, values < t) for name, t in zip(below, spec.thresholds_below, strict=True)),
    ]
    if running is not None:
        events += first_passage_hits(spec, running)
    return events


def linear_parts(
    values: np.ndarray, spec: SeriesSpec | None, running: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-path values whose average is the statistic, for the statistics that are means:
    ``mean`` and the probabilities, ``(n,)`` each (what paired differences are made of)."""
    return {
        "mean": values,
        **{name: hit.astype(float) for name, hit in _threshold_events(values, spec, running)},
    }


def standard_errors(values: np.ndarray, stats: dict[str, float]) -> dict[str, float]:
    """Monte Carlo standard errors of :func:`statistics` of an unweighted sample, by the
    formulas ``sim run`` uses (so a scenario's errors are the same in both).

    Means and probabilities: ``sd / sqrt(n)``; quantiles and VaR: half the distance between
    the quantiles at ``p -/+ sqrt(p (1 - p) / n)``; ES: ``sqrt((tail variance + (1 - a)
    (ES - VaR)^2) / (n a))``.
    """
    n = len(values)
    ranked = np.sort(values)
    # Every quantile level the formulas need, read in one call (one partition).
    levels = {
        stat: QUANTILES[stat] if stat in QUANTILES else LEVELS[stat.split("_", 1)[1]]
        for stat in stats
        if stat in QUANTILES or stat.startswith(("var_", "es_"))
    }
    points = sorted(
        {
            min(max(x, 0.0), 1.0)
            for stat, p in levels.items()
            for x in ((p,) if stat.startswith("es_") else _se_levels(p, n))
        }
    )
    at = dict(zip(points, np.quantile(ranked, points).tolist(), strict=True))

    def q(p: float) -> float:
        return float(at[min(max(p, 0.0), 1.0)])

    def quantile_se(p: float) -> float:
        lo, hi = _se_levels(p, n)
        return abs(q(hi) - q(lo)) / 2.0

    out: dict[str, float] = {}
    for stat, value in stats.items():
        if stat == "mean":
            out[stat] = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        elif stat.startswith("prob_"):
            out[stat] = math.sqrt(value * (1 - value) / n)
        elif stat in QUANTILES:
            out[stat] = quantile_se(QUANTILES[stat])
        elif stat.startswith("var_"):
            out[stat] = quantile_se(LEVELS[stat.removeprefix("var_")])
        elif stat.startswith("es_"):
            a = LEVELS[stat.removeprefix("es_")]
            k = max(1, math.ceil(a * n))
            tail_var = float(ranked[:k].var(ddof=1)) if k > 1 else 0.0
            var = -q(a)
            out[stat] = math.sqrt((tail_var + (1 - a) * (value - var) ** 2) / (n * a))
        else:
            raise AssertionError(f"no standard error for {stat}")
    return out


def _se_levels(p: float, n: int) -> tuple[float, float]:
    """``p -/+ sqrt(p (1 - p) / n)``: the levels whose quantiles bound the one at ``p``."""
    s = math.sqrt(p * (1 - p) / n)
    return p - s, p + s


def parse_weights(text: str, names: list[str]) -> tuple[dict[str, float], str | None]:
    """Parse ``a=0.3,b=0.7`` into weights over ``names``.

    Every compared scenario needs a weight (0 leaves it out of the blend), so that a
    forgotten name is not silently weighted 0. Returns the weights and a note when they
    were normalised.

    Raises
    ------
    InputError
        Malformed text, unknown names, negative or non-finite weights, or all zero.
    """
    weights = dict.fromkeys(names, 0.0)
    given: set[str] = set()
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"--weights: '{part}' is not NAME=WEIGHT")
        if name not in weights:
            raise InputError(
                f"--weights: '{name}' is not one of the compared scenarios ({', '.join(names)})"
            )
        try:
            w = float(value)
        except ValueError:
            raise InputError(f"--weights: '{value.strip()}' for {name} is not a number") from None
        if not math.isfinite(w) or w < 0:
            raise InputError(f"--weights: the weight of {name} must be a finite number >= 0")
        weights[name] = w
        given.add(name)
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(
            f"--weights: no weight for {', '.join(missing)}; give every compared scenario one "
            "(0 leaves it out of the blend)"
        )
    total = sum(weights.values())
    if total <= 0:
        raise InputError("--weights: at least one weight must be positive")
    note = None
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        note = f"weights summed to {total:g}; normalised to 1"
        weights = {k: v / total for k, v in weights.items()}
    return weights, note


def check_reference(reference: str | None, names: list[str]) -> str:
    """The reference scenario: ``reference``, or the first of ``names``.

    Raises
    ------
    InputError
        ``reference`` is not one of ``names``.
    """
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise InputError(
            f"--reference '{ref}' is not one of the compared scenarios ({', '.join(names)})"
        )
    return ref


def check_distinct(names: list[str], labels: list[str]) -> None:
    """Refuse two inputs (``labels``: files or directories) of one scenario name.

    Raises
    ------
    InputError
        Naming the first two inputs that share a name.
    """
    seen: dict[str, str] = {}
    for name, label in zip(names, labels, strict=True):
        if name in seen:
            raise InputError(f"cannot compare {seen[name]} and {label}: both are scenario '{name}'")
        seen[name] = label


def check_comparable(samples: list[Sample], labels: list[str]) -> None:
    """Refuse samples that cannot be compared, saying what differs.

    Raises
    ------
    InputError
        Different as-of dates, horizons, series (assets) or portfolios; duplicate names.
    """
    first, label0 = samples[0], labels[0]
    check_distinct([s.name for s in samples], labels)
    for s, label in zip(samples[1:], labels[1:], strict=True):
        what = f"cannot compare {label0} and {label}"
        if s.meta.get("as_of") != first.meta.get("as_of"):
            raise InputError(
                f"{what}: as-of dates differ ({first.meta.get('as_of')} vs {s.meta.get('as_of')})"
            )
        if s.horizons != first.horizons:
            raise InputError(f"{what}: horizons differ ({first.horizons} vs {s.horizons})")
        a, b = set(first.values), set(s.values)
        if ("portfolio" in a) != ("portfolio" in b):
            with_book = label0 if "portfolio" in a else label
            raise InputError(f"{what}: only {with_book} was run with a portfolio")
        if a != b:
            only_a = ", ".join(sorted(a - b)) or "none"
            only_b = ", ".join(sorted(b - a)) or "none"
            raise InputError(
                f"{what}: assets differ (only in {label0}: {only_a}; only in {label}: {only_b})"
            )
        pa = (first.meta.get("portfolio") or {}).get("sha256")
        pb = (s.meta.get("portfolio") or {}).get("sha256")
        if pa != pb:
            raise InputError(f"{what}: they were run with different portfolios")


def unpaired_reason(samples: list[Sample]) -> str | None:
    """Why path i does not mean the same draws in every sample, or ``None`` if it does:
    the seeds, path counts, block sizes, bit generators or stream layouts
    (:data:`simulator.streams.LAYOUT`) that differ."""
    fields = (
        ("seed", "seeds", None),
        ("paths", "path counts", None),
        ("block_size", "block sizes", None),
        ("bit_generator", "bit generators", "PCG64"),
        ("stream_layout", "stream layouts", 1),
    )
    differ = []
    for key, label, default in fields:
        values = [s.meta.get(key, default) for s in samples]
        if len(set(map(str, values))) > 1:
            shown = ", ".join(
                f"{s.name} {v:,}" if isinstance(v, int) else f"{s.name} {v}"
                for s, v in zip(samples, values, strict=True)
            )
            differ.append(f"{label} differ ({shown})")
    return "; ".join(differ) if differ else None


def paired(samples: list[Sample]) -> bool:
    """Whether path i means the same draws in every sample (same seed, paths, blocks, bit
    generator and stream layout; manifests from before the generator was recorded used
    PCG64, and those from before the layout was recorded layout 1)."""
    return unpaired_reason(samples) is None


@dataclass
class Comparison:
    """The result of comparing scenarios.

    ``rows`` are tidy: ``scenario, asset, horizon_days, statistic, value, std_error,
    diff, diff_std_error, diff_std_error_independent, variance_reduction`` where the
    differences are against ``reference`` (empty for the reference itself).
    """

    samples: list[Sample]
    reference: str
    weights: dict[str, float] | None
    weights_note: str | None
    paired: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    _index: dict[tuple[str, str, int, str], dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _indexed: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.samples]

    def unit(self, asset: str) -> str:
        """Unit of a compared series' level (``USD`` for the portfolio's P&L)."""
        spec = self.samples[0].specs.get(asset)
        return spec.unit if spec is not None else "USD"

    def headline_probabilities(self, scenario: str, horizon: int) -> list[dict[str, Any] | None]:
        """The rows of :data:`HEADLINE_PROBABILITIES` (Brent above $100 at the horizon, and
        on any close up to it), ``None`` where the comparison has no such row."""
        out: list[dict[str, Any] | None] = []
        for stat in HEADLINE_PROBABILITIES:
            try:
                out.append(self.value(scenario, "brent", horizon, stat))
            except KeyError:  # no such threshold, or runs without running extremes
                out.append(None)
        return out

    def value(self, scenario: str, asset: str, horizon: int, stat: str) -> dict[str, Any]:
        """The row for one scenario (or ``blend``), series, horizon and statistic.

        Raises
        ------
        KeyError
            No such row.
        """
        if self._indexed != len(self.rows):  # rows were added: index them again
            self._index = {}
            for r in self.rows:
                key = (r["scenario"], r["asset"], r["horizon_days"], r["statistic"])
                self._index.setdefault(key, r)
            self._indexed = len(self.rows)
        return self._index[(scenario, asset, horizon, stat)]


def _batches(n: int) -> list[slice]:
    edges = np.linspace(0, n, N_BATCHES + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def compare(
    samples: list[Sample],
    reference: str | None = None,
    weights: dict[str, float] | None = None,
    weights_note: str | None = None,
) -> Comparison:
    """Compare samples: statistics with errors, differences against the reference, blend.

    Parameters
    ----------
    samples
        Comparable samples (:func:`check_comparable`), at least two.
    reference
        Name of the reference scenario (default: the first).
    weights
        Scenario -> blend weight (summing to 1), or ``None`` for no blend.
    """
    names = [s.name for s in samples]
    ref = check_reference(reference, names)
    is_paired = paired(samples)
    result = Comparison(samples, ref, weights, weights_note, is_paired)
    first = samples[0]
    series = list(first.values)
    for asset in series:
        spec = first.specs.get(asset) if asset != "portfolio" else None
        # First-passage probabilities need every sample's running extremes (runs written
        # before they were kept have none).
        has_running = spec is not None and spec.first_passage
        has_running = has_running and all(asset in s.running for s in samples)
        for h_i, h in enumerate(first.horizons):
            # Each scenario's values at the horizon, and its running extremes (or None).
            at = {
                s.name: (
                    s.values[asset][:, h_i],
                    s.running[asset][:, :, h_i] if has_running else None,
                )
                for s in samples
            }
            # Full-sample statistics and per-batch statistics of every scenario.
            full: dict[str, dict[str, float]] = {}
            per_batch: dict[str, list[dict[str, float]]] = {}
            exact_se: dict[str, dict[str, float]] = {}
            parts: dict[str, dict[str, np.ndarray]] = {}
            for s in samples:
                v, r = at[s.name]
                ones = np.ones(v.shape[0])
                full[s.name] = statistics(v, ones, spec, r)
                exact_se[s.name] = standard_errors(v, full[s.name])
                parts[s.name] = linear_parts(v, spec, r)
                per_batch[s.name] = [
                    statistics(v[b], ones[b], spec, None if r is None else r[b])
                    for b in _batches(len(v))
                ]
            if weights is not None:
                scale = {s.name: weights[s.name] / s.n for s in samples}
                full["blend"] = _pooled(at, slice(None), scale, spec)
                if is_paired:
                    per_batch["blend"] = [_pooled(at, b, weights, spec) for b in _batches(first.n)]
                    # A mean or probability of the blend is the mean over paths i of
                    # sum_s w_s x_s[i]: its per-path values, as for one scenario.
                    common = set.intersection(*(set(parts[s.name]) for s in samples))
                    parts["blend"] = {
                        stat: np.sum([weights[s.name] * parts[s.name][stat] for s in samples], 0)
                        for stat in common
                    }
            for scen, stats in full.items():
                for stat, value in stats.items():
                    if scen in exact_se:
                        se = exact_se[scen][stat]
                    elif is_paired and stat in parts.get(scen, {}):
                        x = parts[scen][stat]
                        se = float(x.std(ddof=1) / math.sqrt(len(x)))
                    elif is_paired:  # quantiles, VaR, ES of the paired blend: batch means
                        se = _batch_se(per_batch.get(scen), stat)
                    else:  # the blend of independent samples
                        se = math.sqrt(
                            sum(
                                (weights or {}).get(s.name, 0.0) ** 2 * exact_se[s.name][stat] ** 2
                                for s in samples
                            )
                        )
                    row: dict[str, Any] = {
                        "scenario": scen,
                        "asset": asset,
                        "horizon_days": h,
                        "statistic": stat,
                        "value": value,
                        "std_error": se,
                        "diff": math.nan,
                        "diff_std_error": math.nan,
                        "diff_std_error_independent": math.nan,
                        "variance_reduction": math.nan,
                    }
                    if scen != ref:
                        se_ref = exact_se[ref][stat]
                        indep = math.sqrt(se * se + se_ref * se_ref)
                        row["diff"] = value - full[ref][stat]
                        row["diff_std_error_independent"] = indep
                        if is_paired and scen in per_batch:
                            if scen in parts and stat in parts[scen]:
                                # A mean of per-path values: the paired differences' own error.
                                d = parts[scen][stat] - parts[ref][stat]
                                crn = float(d.std(ddof=1) / math.sqrt(len(d)))
                            else:  # quantiles, VaR and ES: batch means
                                diffs = [
                                    a[stat] - b[stat]
                                    for a, b in zip(per_batch[scen], per_batch[ref], strict=True)
                                ]
                                crn = float(np.std(diffs, ddof=1) / math.sqrt(len(diffs)))
                            row["diff_std_error"] = crn
                            if crn > 0:
                                row["variance_reduction"] = indep * indep / (crn * crn)
                        else:
                            row["diff_std_error"] = indep
                            row["variance_reduction"] = 1.0
                    result.rows.append(row)
    return result


def _pooled(
    at: dict[str, tuple[np.ndarray, np.ndarray | None]],
    rows: slice,
    scale: dict[str, float],
    spec: SeriesSpec | None,
) -> dict[str, float]:
    """Statistics of the blend: ``rows`` of every scenario's values (and running extremes)
    in ``at``, pooled with path weight ``scale[name]``."""
    v = np.concatenate([x[rows] for x, _ in at.values()])
    w = np.concatenate([np.full(len(x[rows]), scale[name]) for name, (x, _) in at.items()])
    extremes = [r[rows] for _, r in at.values() if r is not None]
    r = np.concatenate(extremes) if len(extremes) == len(at) else None
    return statistics(v, w, spec, r)


def _batch_se(batches: list[dict[str, float]] | None, stat: str) -> float:
    if not batches or len(batches) < 2:
        return math.nan
    values = np.array([b[stat] for b in batches])
    return float(values.std(ddof=1) / math.sqrt(len(values)))
