"""Statistics that merge across blocks of paths.

Each block of paths is reduced at once into a :class:`SeriesSummary` per simulated series
(Brent, each asset); summaries of blocks merge with :meth:`SeriesSummary.merge`, always in
block order, so a run's numbers do not depend on where blocks ran.

* counts, threshold counts and histogram counts merge exactly (integers);
* moments merge with the pairwise formulas of Chan et al. / Pébay (2008);
* quantiles at the reporting horizons are exact (all values kept) while they fit in a
  memory budget; beyond it, and for the fan chart at every date, they come from a fixed-bin
  histogram of the transformed value (log price relative to the start, or change in bp for
  yields) whose bin width bounds the error: a quantile read from it is within one bin of
  the empirical quantile, i.e. within ``exp(0.001) - 1 = 0.1%`` of the price for log series
  and 0.1 bp for yields.

Standard errors: the mean's is ``s / sqrt(n)``; the standard deviation's uses the fourth
moment, ``sqrt((m4 - m2^2) / (4 m2 n))``; a probability's is ``sqrt(p (1 - p) / n)``; a
quantile's is the half-width of the distribution-free interval
``(Q(p + s_p) - Q(p - s_p)) / 2`` with ``s_p = sqrt(p (1 - p) / n)``, which estimates
``sqrt(p (1 - p) / n) / f(Q(p))`` without a density estimate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from simulator import kernels

__all__ = [
    "QUANTILES",
    "CrossMoments",
    "Moments",
    "SeriesSpec",
    "SeriesSummary",
    "compact_counts",
    "first_passage_hits",
]

#: Quantile levels reported for every series and horizon, with their statistic names.
QUANTILES: dict[str, float] = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
#: Histogram bin width in transformed units (log price, or bp for yields).
BIN_WIDTH = {"log": 0.001, "linear": 0.1}
#: Histogram half-range in transformed units: log +/-4 (factor 55), or +/-1,000 bp.
HALF_RANGE = {"log": 4.0, "linear": 1000.0}
#: Number of paths whose horizon values are kept exactly (all series together).
EXACT_BUDGET_VALUES = 16_000_000


@dataclass
class Moments:
    """Count, mean and central moment sums M2..M4 of several variables, mergeable.

    Arrays have shape ``(k,)``, one entry per variable.
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    m3: np.ndarray
    m4: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Moments of the rows of ``x``, shape ``(n, k)``."""
        n = x.shape[0]
        mean = x.mean(axis=0)
        d = x - mean
        d2 = d * d
        return cls(n, mean, d2.sum(axis=0), (d2 * d).sum(axis=0), (d2 * d2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        """Moments of both samples together (Pébay 2008, eqs. 2.1-2.3)."""
        na, nb = self.n, other.n
        if na == 0:
            return other
        if nb == 0:
            return self
        n = na + nb
        delta = other.mean - self.mean
        d_n = delta / n
        mean = self.mean + nb * d_n
        m2 = self.m2 + other.m2 + delta * d_n * na * nb
        m3 = (
            self.m3
            + other.m3
            + delta * d_n * d_n * na * nb * (na - nb)
            + 3.0 * d_n * (na * other.m2 - nb * self.m2)
        )
        m4 = (
            self.m4
            + other.m4
            + delta * d_n**3 * na * nb * (na * na - na * nb + nb * nb)
            + 6.0 * d_n * d_n * (na * na * other.m2 + nb * nb * self.m2)
            + 4.0 * d_n * (na * other.m3 - nb * self.m3)
        )
        return Moments(n, mean, m2, m3, m4)

    def var(self) -> np.ndarray:
        """Sample variance (divisor ``n - 1``), ``(k,)``."""
        return self.m2 / max(self.n - 1, 1)

    def std_error_of_mean(self) -> np.ndarray:
        """``s / sqrt(n)``, ``(k,)``."""
        return np.sqrt(self.var() / max(self.n, 1))

    def std_error_of_std(self) -> np.ndarray:
        """Delta-method standard error of the standard deviation, ``(k,)``."""
        n = max(self.n, 2)
        m2 = self.m2 / n
        m4 = self.m4 / n
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(np.maximum(m4 - m2 * m2, 0.0) / (4.0 * m2 * n))
        return np.where(m2 > 0, se, 0.0)


@dataclass
class CrossMoments:
    """Sums for the covariance of ``k`` variables, mergeable: count, sums, cross products.

    With ``paths`` and ``path_cross`` the observations come in ``paths`` independent groups
    of ``n / paths`` (the days of one path), and the sums carry the second moments of each
    group's sums, so that the correlations and volatilities get standard errors that hold
    however the days of a path depend on each other (regimes, events): the delta method
    over independent paths.

    Attributes
    ----------
    n
        Observations (path-days).
    total, cross
        Sums of the observations, ``(k,)``, and of their products, ``(k, k)``.
    paths
        Independent groups (paths); 0 if not tracked.
    path_cross
        Sum over paths of ``y y'``, where ``y`` is a path's vector of sums: the ``k`` sums,
        then the products in :func:`numpy.triu_indices` order, ``(m, m)`` with
        ``m = k + k (k + 1) / 2``; ``None`` if not tracked.
    """

    n: int
    total: np.ndarray  # (k,)
    cross: np.ndarray  # (k, k)
    paths: int = 0
    path_cross: np.ndarray | None = None

    def with_paths(self, sums: np.ndarray) -> CrossMoments:
        """These moments with the per-path sums ``sums`` (``(n_paths, m)``, from
        :func:`simulator.kernels.path_sums` or :func:`simulator.kernels.combine_assets_drawn`)
        tracked."""
        return CrossMoments(self.n, self.total, self.cross, sums.shape[0], sums.T @ sums)

    @classmethod
    def of(cls, x: np.ndarray) -> CrossMoments:
        """From observations ``x``, shape ``(n, k)``."""
        return cls(x.shape[0], x.sum(axis=0), x.T @ x)

    @classmethod
    def of_rows(cls, rows: np.ndarray) -> CrossMoments:
        """From observations stored as rows, shape ``(k, n)`` (one BLAS product)."""
        return cls(rows.shape[1], rows.sum(axis=1), rows @ rows.T)

    @classmethod
    def of_parts(cls, first: np.ndarray, rest: np.ndarray) -> CrossMoments:
        """As :meth:`of_rows` for the rows ``first`` (``(n,)``) then ``rest`` (``(k - 1, n)``),
        without copying them into one array."""
        k = rest.shape[0] + 1
        total = np.empty(k)
        total[0] = first.sum()
        total[1:] = rest.sum(axis=1)
        cross = np.empty((k, k))
        cross[0, 0] = first @ first
        cross[1:, 0] = cross[0, 1:] = rest @ first
        cross[1:, 1:] = rest @ rest.T
        return cls(first.shape[0], total, cross)

    def merge(self, other: CrossMoments) -> CrossMoments:
        tracked = self.path_cross is not None and other.path_cross is not None
        return CrossMoments(
            self.n + other.n,
            self.total + other.total,
            self.cross + other.cross,
            self.paths + other.paths if tracked else 0,
            self.path_cross + other.path_cross if tracked else None,  # type: ignore[operator]
        )

    def _path_covariance(self) -> tuple[np.ndarray, float] | None:
        """Covariance of a path's vector of sums ``y``, ``(m, m)``, and days per path."""
        if self.path_cross is None or self.paths < 2:
            return None
        k = self.total.shape[0]
        a, b = np.triu_indices(k)
        mean = np.concatenate([self.total, self.cross[a, b]]) / self.paths
        cov = (self.path_cross - self.paths * np.outer(mean, mean)) / (self.paths - 1)
        return cov, self.n / self.paths

    def std_errors(self, per_year: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        r"""Standard errors of :meth:`correlation` and of the volatilities
        ``sqrt(per_year * variance)``, by the delta method over independent paths.

        Parameters
        ----------
        per_year
            Observations per year, to annualise the volatilities (252 for daily moves).

        Returns
        -------
        correlation
            ``(k, k)``, zero on the diagonal; NaN if the per-path sums were not tracked or
            there are fewer than 2 paths.
        volatility
            ``(k,)``, in the units of the observations per square root of a year.

        Notes
        -----
        With ``T`` days per path and per-day means :math:`m_a` and covariances
        :math:`c_{ab}` (divisor ``n``), :math:`r_{ab} = c_{ab} / \sqrt{c_{aa} c_{bb}}` is a
        smooth function of the per-path mean sums; its variance is :math:`g' \Sigma g / P`
        with :math:`\Sigma` the covariance of a path's sums over the ``P`` paths and
        :math:`g` the gradient: :math:`\partial r / \partial \bar y_{c,ab} = 1 / (T s_a s_b)`,
        :math:`\partial r / \partial \bar y_{c,aa} = -r / (2 T c_{aa})`,
        :math:`\partial r / \partial \bar y_{t,a} = (r m_a / c_{aa} - m_b / (s_a s_b)) / T`.
        """
        k = self.total.shape[0]
        found = self._path_covariance()
        if found is None:
            return np.full((k, k), np.nan), np.full(k, np.nan)
        cov_y, days = found
        mean = self.total / self.n
        c = self.cross / self.n - np.outer(mean, mean)
        var = np.diag(c).copy()
        sd = np.sqrt(var)
        a_idx, b_idx = np.triu_indices(k)
        position = {
            (int(i), int(j)): k + q for q, (i, j) in enumerate(zip(a_idx, b_idx, strict=True))
        }
        m = cov_y.shape[0]
        corr_se = np.zeros((k, k))
        for a in range(k):
            for b in range(a + 1, k):
                if not (var[a] > 0 and var[b] > 0):
                    corr_se[a, b] = corr_se[b, a] = np.nan
                    continue
                r = c[a, b] / (sd[a] * sd[b])
                g = np.zeros(m)
                g[position[a, b]] = 1.0 / (sd[a] * sd[b])
                g[position[a, a]] = -r / (2.0 * var[a])
                g[position[b, b]] = -r / (2.0 * var[b])
                g[a] = r * mean[a] / var[a] - mean[b] / (sd[a] * sd[b])
                g[b] = r * mean[b] / var[b] - mean[a] / (sd[a] * sd[b])
                g /= days
                se = math.sqrt(max(float(g @ cov_y @ g), 0.0) / self.paths)
                corr_se[a, b] = corr_se[b, a] = se
        vol_se = np.empty(k)
        for a in range(k):
            g = np.zeros(m)
            g[position[a, a]] = 1.0
            g[a] = -2.0 * mean[a]
            g /= days
            var_c = max(float(g @ cov_y @ g), 0.0) / self.paths  # of c_aa
            # vol = sqrt(per_year * c_aa): d vol / d c_aa = per_year / (2 vol)
            vol = math.sqrt(per_year * var[a])
            vol_se[a] = per_year / (2.0 * vol) * math.sqrt(var_c) if vol > 0 else np.nan
        return corr_se, vol_se

    def volatility(self, per_year: float = 1.0) -> np.ndarray:
        """Standard deviations of the observations times ``sqrt(per_year)``, ``(k,)``."""
        return np.sqrt(per_year * np.diag(self.covariance()))

    def covariance(self) -> np.ndarray:
        """Sample covariance, ``(k, k)``."""
        mean = self.total / self.n
        return (self.cross - self.n * np.outer(mean, mean)) / max(self.n - 1, 1)

    def correlation(self) -> np.ndarray:
        """Sample correlation, ``(k, k)``."""
        cov = self.covariance()
        sd = np.sqrt(np.diag(cov))
        safe = np.where(sd > 0, sd, 1.0)
        return cov / np.outer(safe, safe)


@dataclass(frozen=True)
class SeriesSpec:
    """How to summarise one simulated series.

    Attributes
    ----------
    name
        Series name in the tables (``brent``, ``sp500``, ...).
    unit
        Unit of its level (``USD/bbl``, ``index points``, ``percent``).
    start
        Level on day 0.
    kind
        ``"log"`` for prices (histogram of ``ln(level / start)``) or ``"linear"`` for
        yields (histogram of the change in basis points).
    thresholds_above, thresholds_below
        Levels for ``prob_above_X`` and ``prob_below_X`` rows.
    above_names, below_names
        Statistic names for those rows, if not the default ``prob_above_X``.
    first_passage
        Also count the paths that cross each threshold on any daily close up to each
        horizon (rows ``prob_ever_above_X`` and ``prob_ever_below_X``).
    """

    name: str
    unit: str
    start: float
    kind: Literal["log", "linear"] = "log"
    thresholds_above: tuple[float, ...] = ()
    thresholds_below: tuple[float, ...] = ()
    above_names: tuple[str, ...] = ()
    below_names: tuple[str, ...] = ()
    first_passage: bool = False

    def statistic_names(self) -> tuple[list[str], list[str]]:
        """Names of the ``prob_above`` and ``prob_below`` rows (default ``prob_above_100``)."""
        above = list(self.above_names) or [f"prob_above_{_fmt(t)}" for t in self.thresholds_above]
        below = list(self.below_names) or [f"prob_below_{_fmt(t)}" for t in self.thresholds_below]
        return above, below

    def first_passage_names(self) -> tuple[list[str], list[str]]:
        """Names of the first-passage rows (``prob_ever_above_100``), empty without
        :attr:`first_passage`."""
        if not self.first_passage:
            return [], []
        above, below = self.statistic_names()
        assert all(n.startswith("prob_") for n in above + below), (above, below)
        ever = [name.replace("prob_", "prob_ever_", 1) for name in above]
        return ever, [name.replace("prob_", "prob_ever_", 1) for name in below]

    def transform(self, level: np.ndarray) -> np.ndarray:
        """Level to histogram coordinate (log return, or bp change)."""
        if self.kind == "log":
            return np.log(level / self.start)
        return (level - self.start) * 100.0

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Histogram coordinate back to level."""
        if self.kind == "log":
            return self.start * np.exp(x)
        return self.start + x / 100.0


def compact_counts(counts: np.ndarray, n: int) -> np.ndarray:
    """Counts of ``n`` values in the smallest unsigned type that holds ``n``, for a
    histogram that crosses a pipe to the parent (a block's, or a task's merged one: uint16
    up to 65,535 values is a quarter of int64). Merged totals are int64."""
    for dtype in (np.uint16, np.uint32):
        if n <= np.iinfo(dtype).max:
            return counts.astype(dtype)
    return counts


@dataclass
class Histogram:
    """Fixed-bin counts of a transformed value on several dates, mergeable exactly.

    The full grid has ``n_bins + 2`` cells per date: underflow, ``n_bins`` bins of width
    :data:`BIN_WIDTH` over ``[-HALF_RANGE, HALF_RANGE)``, overflow. Only the occupied
    cells are stored: ``counts`` (unsigned for one block, int64 once merged) has shape
    ``(n_dates, m)`` and holds cells
    ``offset .. offset + m - 1`` of the grid.
    """

    kind: Literal["log", "linear"]
    counts: np.ndarray
    offset: int
    low: np.ndarray  # (n_dates,) smallest value seen
    high: np.ndarray  # (n_dates,) largest value seen

    @property
    def width(self) -> float:
        return BIN_WIDTH[self.kind]

    @property
    def half_range(self) -> float:
        return HALF_RANGE[self.kind]

    @property
    def n_cells(self) -> int:
        """Cells in the full grid, under- and overflow included."""
        return round(2 * self.half_range / self.width) + 2

    @classmethod
    def of(cls, kind: Literal["log", "linear"], x: np.ndarray) -> Histogram:
        """Histogram of ``x``, shape ``(n_paths, n_dates)``, per date."""
        return cls.of_days(kind, x, np.arange(x.shape[1]))

    @classmethod
    def of_days(
        cls, kind: Literal["log", "linear"], coords: np.ndarray, days: np.ndarray
    ) -> Histogram:
        """As ``of(kind, coords[:, days])`` (the same counts), counted in one compiled pass
        (:func:`simulator.kernels.histogram_days`); ``coords`` must be finite."""
        width, half = BIN_WIDTH[kind], HALF_RANGE[kind]
        counts, offset, low, high = kernels.histogram_days(
            coords, days, half, width, round(2 * half / width)
        )
        return cls(kind, compact_counts(counts, coords.shape[0]), offset, low, high)

    def merge(self, other: Histogram, in_place: bool = False) -> Histogram:
        """Counts of both samples (exact).

        With ``in_place``, ``self`` may be updated and returned (when ``other``'s cells lie
        within its own): a running total then costs the size of ``other``, not a copy of
        the total, per merge.
        """
        end = self.offset + self.counts.shape[1]
        if (
            in_place
            and self.counts.dtype == np.int64
            and self.offset <= other.offset
            and other.offset + other.counts.shape[1] <= end
        ):
            start = other.offset - self.offset
            self.counts[:, start : start + other.counts.shape[1]] += other.counts
            np.minimum(self.low, other.low, out=self.low)
            np.maximum(self.high, other.high, out=self.high)
            return self
        lo = min(self.offset, other.offset)
        hi = max(self.offset + self.counts.shape[1], other.offset + other.counts.shape[1])
        counts = np.zeros((self.counts.shape[0], hi - lo), dtype=np.int64)
        for h in (self, other):
            start = h.offset - lo
            counts[:, start : start + h.counts.shape[1]] += h.counts
        return Histogram(
            self.kind,
            counts,
            lo,
            np.minimum(self.low, other.low),
            np.maximum(self.high, other.high),
        )

    def compacted(self) -> Histogram:
        """The same counts in the smallest unsigned type that holds them, as a block's are
        (merged counts are int64): a task's merged histogram crosses a pipe a quarter the
        size."""
        n = int(self.counts[0].sum()) if self.counts.size else 0
        return dataclasses.replace(self, counts=compact_counts(self.counts, n))

    def quantile(self, q: np.ndarray) -> np.ndarray:
        """Quantiles at levels ``q`` (shape ``(m,)``) for every date: ``(n_dates, m)``.

        Linear interpolation inside the bin holding the quantile; values in the under- or
        overflow cells are clamped to the smallest or largest value seen.
        """
        n_dates = self.counts.shape[0]
        rows = np.arange(n_dates)
        total = self.counts[0].sum()
        cum = np.cumsum(self.counts, axis=1)
        out = np.empty((n_dates, len(q)))
        for j, level in enumerate(np.clip(q, 0.0, 1.0)):
            target = level * total
            local = np.argmax(cum >= target, axis=1)  # first cell reaching the target
            below = np.where(local > 0, cum[rows, np.maximum(local - 1, 0)], 0)
            inside = self.counts[rows, local]
            frac = np.where(inside > 0, (target - below) / np.maximum(inside, 1), 0.5)
            cell = local + self.offset
            value = -self.half_range + (cell - 1 + frac) * self.width
            value = np.where(cell == 0, self.low, value)
            value = np.where(cell == self.n_cells - 1, self.high, value)
            out[:, j] = np.clip(value, self.low, self.high)
        return out

    def density(self, date: int, n_bins: int = 120) -> tuple[np.ndarray, np.ndarray]:
        """Bin centres and probability density on ``date``, about ``n_bins`` merged bins
        over the occupied range (under- and overflow left out)."""
        row = self.counts[date]
        total = max(int(row.sum()), 1)
        first = 1 if self.offset == 0 else 0
        last = row.shape[0] - (1 if self.offset + row.shape[0] == self.n_cells else 0)
        inner = row[first:last]
        coarsen = max(1, inner.shape[0] // n_bins)
        usable = inner.shape[0] - inner.shape[0] % coarsen
        merged = inner[:usable].reshape(-1, coarsen).sum(axis=1)
        width = self.width * coarsen
        start = -self.half_range + (self.offset + first - 1) * self.width
        centres = start + width * (np.arange(merged.shape[0]) + 0.5)
        return centres, merged / (total * width)


@dataclass
class SeriesSummary:
    """Mergeable summary of one series over one or more blocks.

    Attributes
    ----------
    spec
        The series' description.
    horizons
        Reporting horizons, trading days, ``(h,)``.
    moments
        Moments of the level at each horizon.
    above, below
        Counts of paths above / below each threshold, ``(h, n_thresholds)``.
    ever_above, ever_below
        Counts of paths above / below each threshold on some daily close from day 1 to the
        horizon, ``(h, n_thresholds)`` (zero columns without ``spec.first_passage``).
    exact_parts
        Levels at the horizons, block by block, each ``(n_block, h)``, or ``None`` once over
        the memory budget; read them joined as :attr:`exact`. Empty, ``()``, in a forked
        worker's summary, whose rows went to the run's shared memory
        (:mod:`simulator.shared_rows`) until the parent puts them back.
    running_parts
        With ``spec.first_passage``, each path's highest and lowest daily close from day 1
        to each horizon, block by block, each ``(n_block, 2, h)`` (maximum first), kept
        and read (:attr:`running`) like ``exact_parts``; ``None`` otherwise.
    fan_days
        Day indices of the fan-chart dates (the horizons among them), ``(f,)``.
    fan
        Histogram on the fan-chart dates.
    samples
        A few whole paths, ``(n_samples, n_steps + 1)``, from the first block.
    """

    spec: SeriesSpec
    horizons: np.ndarray
    moments: Moments
    above: np.ndarray
    below: np.ndarray
    ever_above: np.ndarray
    ever_below: np.ndarray
    exact_parts: tuple[np.ndarray, ...] | None
    fan_days: np.ndarray
    fan: Histogram
    samples: np.ndarray
    running_parts: tuple[np.ndarray, ...] | None = None

    @classmethod
    def of(
        cls,
        spec: SeriesSpec,
        levels: np.ndarray,
        horizons: np.ndarray,
        fan_days: np.ndarray,
        n_samples: int,
        keep_exact: bool,
    ) -> SeriesSummary:
        """Summarise one block from its levels.

        Parameters
        ----------
        levels
            Simulated levels, ``(n_paths, n_steps + 1)``; column 0 is the start.
        horizons, fan_days
            Day indices for the tables and for the fan chart.
        n_samples
            Whole paths to keep for charts.
        keep_exact
            Keep the levels at the horizons for exact quantiles.
        """
        return cls.of_coords(
            spec, spec.transform(levels), horizons, fan_days, n_samples, keep_exact
        )

    @classmethod
    def of_coords(
        cls,
        spec: SeriesSpec,
        coords: np.ndarray,
        horizons: np.ndarray,
        fan_days: np.ndarray,
        n_samples: int,
        keep_exact: bool,
    ) -> SeriesSummary:
        """As :meth:`of`, from ``spec.transform(levels)`` (log return or bp change), which
        the engine has already, saving a log and an exp over every path and day."""
        at = spec.inverse(coords[:, horizons])
        n_h = len(horizons)
        above = np.zeros((n_h, len(spec.thresholds_above)), dtype=np.int64)
        for j, t in enumerate(spec.thresholds_above):
            above[:, j] = (at > t).sum(axis=0)
        below = np.zeros((n_h, len(spec.thresholds_below)), dtype=np.int64)
        for j, t in enumerate(spec.thresholds_below):
            below[:, j] = (at < t).sum(axis=0)
        running = _running_extremes(spec, coords, horizons)
        ever_above, ever_below = _first_passages(spec, running, n_h)
        return cls(
            spec=spec,
            horizons=horizons,
            moments=Moments.of(at),
            above=above,
            below=below,
            ever_above=ever_above,
            ever_below=ever_below,
            exact_parts=(at,) if keep_exact else None,
            fan_days=fan_days,
            fan=Histogram.of_days(spec.kind, coords, fan_days),
            samples=spec.inverse(coords[:n_samples]),
            running_parts=(running,) if keep_exact and running is not None else None,
        )

    def merge(self, other: SeriesSummary, in_place: bool = False) -> SeriesSummary:
        """Summary of both blocks; ``self`` is the earlier block. ``in_place`` lets the
        histogram of ``self`` be updated rather than copied (for running totals)."""
        exact = None
        if self.exact_parts is not None and other.exact_parts is not None:
            # Joined only when read: concatenating at every merge would cost O(blocks^2).
            exact = self.exact_parts + other.exact_parts
        running = None
        if self.running_parts is not None and other.running_parts is not None:
            running = self.running_parts + other.running_parts
        return SeriesSummary(
            spec=self.spec,
            horizons=self.horizons,
            moments=self.moments.merge(other.moments),
            above=self.above + other.above,
            below=self.below + other.below,
            ever_above=self.ever_above + other.ever_above,
            ever_below=self.ever_below + other.ever_below,
            exact_parts=exact,
            fan_days=self.fan_days,
            fan=self.fan.merge(other.fan, in_place),
            samples=self.samples,
            running_parts=running,
        )

    @property
    def exact(self) -> np.ndarray | None:
        """Levels at the horizons on every path, ``(n, h)``, or ``None`` over the budget."""
        self.exact_parts = join_parts(self.exact_parts)
        return None if self.exact_parts is None else self.exact_parts[0]

    @property
    def running(self) -> np.ndarray | None:
        """Highest and lowest daily close up to each horizon on every path, ``(n, 2, h)``
        (maximum first), or ``None`` (no first passage, or over the budget)."""
        self.running_parts = join_parts(self.running_parts)
        return None if self.running_parts is None else self.running_parts[0]

    @property
    def n(self) -> int:
        return self.moments.n

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Level quantiles at each horizon, ``(h, len(levels))``: exact or from the sketch."""
        if self.exact is not None:
            return np.quantile(self.exact, np.clip(levels, 0, 1), axis=0).T
        pos = np.searchsorted(self.fan_days, self.horizons)
        return self.spec.inverse(self.fan.quantile(levels)[pos])

    def fan_quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Level quantiles on every fan date, ``(n_fan_dates, len(levels))``."""
        return self.spec.inverse(self.fan.quantile(levels))

    def rows(self) -> list[tuple[str, int, str, float, float]]:
        """Tidy rows ``(series, horizon_days, statistic, value, std_error)``."""
        n = self.n
        out: list[tuple[str, int, str, float, float]] = []
        levels = np.array(list(QUANTILES.values()))
        s = np.sqrt(levels * (1 - levels) / max(n, 1))
        # One call for all three sets of levels: one partition of the exact values.
        q, q_lo, q_hi = np.split(
            self.quantiles(np.concatenate([levels, levels - s, levels + s])), 3, axis=1
        )
        mean = self.moments.mean
        std = np.sqrt(self.moments.var())
        se_mean = self.moments.std_error_of_mean()
        se_std = self.moments.std_error_of_std()
        above_names, below_names = self.spec.statistic_names()
        ever_above, ever_below = self.spec.first_passage_names()
        for i, h in enumerate(self.horizons):
            h = int(h)
            out.append((self.spec.name, h, "mean", float(mean[i]), float(se_mean[i])))
            out.append((self.spec.name, h, "std", float(std[i]), float(se_std[i])))
            for j, stat in enumerate(QUANTILES):
                se = (q_hi[i, j] - q_lo[i, j]) / 2.0
                out.append((self.spec.name, h, stat, float(q[i, j]), float(se)))
            for j, stat in enumerate(above_names):
                p = float(self.above[i, j] / n)
                out.append((self.spec.name, h, stat, p, math.sqrt(p * (1 - p) / n)))
            for j, stat in enumerate(below_names):
                p = float(self.below[i, j] / n)
                out.append((self.spec.name, h, stat, p, math.sqrt(p * (1 - p) / n)))
            for counts, names in ((self.ever_above, ever_above), (self.ever_below, ever_below)):
                for j, stat in enumerate(names):
                    p = float(counts[i, j] / n)
                    out.append((self.spec.name, h, stat, p, math.sqrt(p * (1 - p) / n)))
        return out


def _running_extremes(
    spec: SeriesSpec, coords: np.ndarray, horizons: np.ndarray
) -> np.ndarray | None:
    """Each path's highest and lowest level on the daily closes from day 1 to each horizon,
    ``(n_paths, 2, h)`` (maximum first); ``None`` without ``spec.first_passage``.

    ``coords`` is ``(n_paths, n_steps + 1)`` in the spec's coordinate; ``horizons`` is
    sorted. The extremes are taken per horizon segment and accumulated, then turned into
    levels (the transform is increasing), so a path's level at a horizon always lies
    between them.
    """
    if not spec.first_passage:
        return None
    if len(horizons) and (horizons[0] < 1 or np.any(np.diff(horizons) <= 0)):
        raise ValueError(f"horizons must be strictly increasing days >= 1, got {horizons}")
    days = coords[:, 1 : int(horizons[-1]) + 1]
    starts = np.concatenate([[0], np.asarray(horizons[:-1], dtype=np.int64)])
    out = np.empty((coords.shape[0], 2, len(horizons)))
    for k, reduce in enumerate((np.maximum, np.minimum)):
        out[:, k] = spec.inverse(reduce.accumulate(reduce.reduceat(days, starts, axis=1), axis=1))
    return out


def first_passage_hits(spec: SeriesSpec, running: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each first-passage statistic (``prob_ever_above_X``, then ``prob_ever_below_X``) with
    the paths where it happened: the highest close ``running[:, 0]`` above ``X``, or the
    lowest ``running[:, 1]`` below it; bool, the shape of ``running[:, 0]``."""
    ever_above, ever_below = spec.first_passage_names()
    high, low = running[:, 0], running[:, 1]
    return [
        *((name, high > t) for name, t in zip(ever_above, spec.thresholds_above, strict=True)),
        *((name, low < t) for name, t in zip(ever_below, spec.thresholds_below, strict=True)),
    ]


def _first_passages(
    spec: SeriesSpec, running: np.ndarray | None, n_h: int
) -> tuple[np.ndarray, np.ndarray]:
    """Paths above / below each threshold on some daily close up to each horizon, from
    :func:`_running_extremes`: ``(h, n_thresholds)`` each; zero columns without
    ``spec.first_passage``."""
    sums = (
        [] if running is None else [hit.sum(axis=0) for _, hit in first_passage_hits(spec, running)]
    )
    k = len(spec.thresholds_above)

    def stacked(parts: list[np.ndarray]) -> np.ndarray:
        return np.stack(parts, axis=1) if parts else np.zeros((n_h, 0), dtype=np.int64)

    return stacked(sums[:k]), stacked(sums[k:])


def join_parts(parts: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, ...] | None:
    """Blocks of rows joined into one array (a 1-tuple), or ``None``."""
    if parts is None or len(parts) == 1:
        return parts
    return (np.concatenate(parts),)


def _fmt(x: float) -> str:
    return f"{x:g}".replace("-", "m").replace(".", "p")
