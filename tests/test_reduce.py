"""Mergeable statistics: moments, histogram quantiles, series summaries, standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator import kernels
from simulator.reduce import (
    BIN_WIDTH,
    QUANTILES,
    CrossMoments,
    Histogram,
    Moments,
    SeriesSpec,
    SeriesSummary,
)


def assert_moments_close(a: Moments, b: Moments, scale: float) -> None:
    assert a.n == b.n
    n = max(a.n, 1)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-10, atol=1e-12 * scale)
    np.testing.assert_allclose(a.m2, b.m2, rtol=1e-9, atol=1e-10 * n * scale**2)
    np.testing.assert_allclose(a.m3, b.m3, rtol=1e-8, atol=1e-9 * n * scale**3)
    np.testing.assert_allclose(a.m4, b.m4, rtol=1e-8, atol=1e-9 * n * scale**4)


# --------------------------------------------------------------------------- moments


X = np.random.default_rng(0).lognormal(0.0, 0.8, size=(1000, 3)) + np.array([0.0, 50.0, -7.0])


@pytest.mark.parametrize("split", [1, 2, 10, 333, 500, 999])
def test_merge_equals_moments_of_concatenation(split: int) -> None:
    merged = Moments.of(X[:split]).merge(Moments.of(X[split:]))
    assert_moments_close(merged, Moments.of(X), scale=float(np.abs(X).max()))


def test_merge_of_many_blocks_in_order() -> None:
    parts = np.array_split(X, 7)
    total = Moments.of(parts[0])
    for part in parts[1:]:
        total = total.merge(Moments.of(part))
    assert_moments_close(total, Moments.of(X), scale=float(np.abs(X).max()))


def test_merge_with_empty_is_identity() -> None:
    a = Moments.of(X)
    empty = Moments(0, np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))
    assert a.merge(empty) is a
    assert empty.merge(a) is a


@settings(max_examples=150, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(2, 60), st.integers(1, 3)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    cut=st.floats(0.0, 1.0),
)
def test_merge_property(data: np.ndarray, cut: float) -> None:
    split = min(max(1, round(cut * data.shape[0])), data.shape[0] - 1)
    merged = Moments.of(data[:split]).merge(Moments.of(data[split:]))
    assert_moments_close(merged, Moments.of(data), scale=max(float(np.abs(data).max()), 1.0))


@settings(max_examples=100, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(3, 40), st.just(2)),
        elements=st.floats(-100, 100, allow_nan=False),
    ),
    cuts=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_merge_is_associative(data: np.ndarray, cuts: tuple[float, float]) -> None:
    n = data.shape[0]
    i, j = sorted(min(max(1, round(c * n)), n - 1) for c in cuts)
    if i == j:
        return
    a, b, c = (Moments.of(p) for p in (data[:i], data[i:j], data[j:]))
    assert_moments_close(a.merge(b).merge(c), a.merge(b.merge(c)), scale=100.0)


def test_variance_and_standard_errors_on_a_known_sample() -> None:
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    m = Moments.of(x)
    assert m.var()[0] == pytest.approx(5 / 3)
    assert m.std_error_of_mean()[0] == pytest.approx(math.sqrt(5 / 3 / 4))
    # Population m2 = 1.25, m4 = (2 * 1.5**4 + 2 * 0.5**4) / 4 = 2.5625.
    expected = math.sqrt((2.5625 - 1.25**2) / (4 * 1.25 * 4))
    assert m.std_error_of_std()[0] == pytest.approx(expected)


def test_std_error_of_std_is_zero_for_a_two_point_symmetric_sample() -> None:
    # +/-1 with equal weight: m4 = m2^2 = 1, so the delta-method SE is 0.
    x = np.tile([[-1.0], [1.0]], (50, 1))
    assert Moments.of(x).std_error_of_std()[0] == pytest.approx(0.0, abs=1e-12)


def test_std_error_of_a_constant_is_zero() -> None:
    m = Moments.of(np.full((10, 1), 3.0))
    assert m.std_error_of_std()[0] == 0.0
    assert m.std_error_of_mean()[0] == 0.0


def test_standard_errors_of_a_normal_sample() -> None:
    # SE of the mean ~ sigma / sqrt(n), of the std ~ sigma / sqrt(2n). The sample estimates
    # of those SEs have relative errors ~ 1/sqrt(2n) and sqrt(kurtosis terms / n).
    n, sigma = 100_000, 2.5
    m = Moments.of(np.random.default_rng(4).normal(1.0, sigma, size=(n, 1)))
    assert m.std_error_of_mean()[0] == pytest.approx(sigma / math.sqrt(n), rel=4 / math.sqrt(2 * n))
    # The SE of the std is sqrt(m4 - m2^2) / (2 sqrt(m2 n)); its relative error is dominated
    # by that of m4, whose relative SE for a normal is sqrt(96) / (3 sqrt(n)) -> halved by
    # the square root and scaled by m4 / (m4 - m2^2) = 3/2.
    rel = 0.5 * 1.5 * math.sqrt(96) / 3 / math.sqrt(n)
    assert m.std_error_of_std()[0] == pytest.approx(sigma / math.sqrt(2 * n), rel=4 * rel)


def test_standard_errors_match_the_spread_across_replicates() -> None:
    reps, n = 2_000, 200
    x = np.random.default_rng(5).exponential(1.0, size=(reps, n))
    means = x.mean(axis=1)
    stds = x.std(axis=1, ddof=1)
    se_mean = np.array([Moments.of(row[:, None]).std_error_of_mean()[0] for row in x])
    se_std = np.array([Moments.of(row[:, None]).std_error_of_std()[0] for row in x])
    tol = 4 / math.sqrt(2 * (reps - 1))  # relative SE of an empirical standard deviation
    assert means.std(ddof=1) == pytest.approx(np.mean(se_mean), rel=tol)
    # Delta method at n = 200 for an exponential (kurtosis 9) is good to a few per cent.
    assert stds.std(ddof=1) == pytest.approx(np.mean(se_std), rel=tol + 0.05)


# --------------------------------------------------------------------------- histogram


def _sample(seed: int, n: int = 5_000, dates: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_t(4, size=(n, dates)) * np.array([0.05, 0.2, 0.3])[:dates]


LEVELS = np.array([0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999])


@pytest.mark.parametrize("kind", ["log", "linear"])
def test_histogram_quantile_within_one_bin(kind: str) -> None:
    x = _sample(1) * (1.0 if kind == "log" else 100.0)
    h = Histogram.of(kind, x)
    got = h.quantile(LEVELS)
    assert got.shape == (3, LEVELS.size)
    # The sketch targets the inverted-CDF empirical quantile x_(ceil(p n)) and interpolates
    # inside the bin that holds it, so it is within one bin of that order statistic.
    exact = np.quantile(x, LEVELS, axis=0, method="inverted_cdf").T
    assert np.abs(got - exact).max() <= BIN_WIDTH[kind] * (1 + 1e-9)
    # Against numpy's default (linear) definition the gap between neighbouring order
    # statistics is added; at central levels with n = 5000 that gap is far below a bin.
    central = (LEVELS >= 0.05) & (LEVELS <= 0.95)
    linear = np.quantile(x, LEVELS[central], axis=0).T
    assert np.abs(got[:, central] - linear).max() <= 2 * BIN_WIDTH[kind]


def test_histogram_extreme_levels_are_min_and_max() -> None:
    x = _sample(2)
    got = Histogram.of("log", x).quantile(np.array([0.0, 1.0]))
    np.testing.assert_array_equal(got[:, 0], x.min(axis=0))
    np.testing.assert_array_equal(got[:, 1], x.max(axis=0))


def test_histogram_values_outside_the_range_are_counted() -> None:
    x = np.array([[-10.0], [0.0], [0.5], [10.0]])
    h = Histogram.of("log", x)
    assert h.counts.sum() == 4
    assert h.counts[0, 0] == 1
    assert h.counts[0, -1] == 1
    assert h.quantile(np.array([1.0]))[0, 0] == 10.0


def test_histogram_merge_is_exact_and_associative() -> None:
    a, b, c = (Histogram.of("log", _sample(s, n=700)) for s in (3, 4, 5))
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    np.testing.assert_array_equal(left.counts, right.counts)
    whole = Histogram.of("log", np.concatenate([_sample(s, n=700) for s in (3, 4, 5)]))
    np.testing.assert_array_equal(left.counts, whole.counts)
    np.testing.assert_array_equal(left.low, whole.low)
    np.testing.assert_array_equal(left.high, whole.high)


def test_compacted_histogram_keeps_its_counts_in_the_narrowest_type() -> None:
    merged = Histogram.of("log", _sample(3, n=700)).merge(Histogram.of("log", _sample(4, n=700)))
    assert merged.counts.dtype == np.int64
    small = merged.compacted()
    assert small.counts.dtype == np.uint16
    np.testing.assert_array_equal(small.counts, merged.counts)
    assert (small.offset, small.kind) == (merged.offset, merged.kind)
    big = Histogram("log", merged.counts * 100, merged.offset, merged.low, merged.high)
    assert big.compacted().counts.dtype == np.uint32  # 140,000 values per date
    # Merging into a compacted total still gives int64 counts.
    assert small.merge(merged, in_place=True).counts.dtype == np.int64


def test_histogram_density_integrates_to_one() -> None:
    # 240 occupied bins [j, j + 1) / 1000 with j = 0..239, merged in pairs into 120 bins.
    rng = np.random.default_rng(6)
    weights = rng.integers(1, 20, size=240)
    x = np.repeat((np.arange(240) + 0.5) * BIN_WIDTH["log"], weights)[:, None]
    centres, dens = Histogram.of("log", x).density(0, n_bins=120)
    assert centres.shape == dens.shape == (120,)
    np.testing.assert_allclose(centres, (np.arange(120) + 0.5) * 0.002, atol=1e-12)
    pairs = weights.reshape(120, 2).sum(axis=1)
    np.testing.assert_allclose(dens, pairs / (weights.sum() * 0.002), rtol=1e-12)
    assert np.sum(dens) * 0.002 == pytest.approx(1.0, rel=1e-12)


# --------------------------------------------------------------------------- series summaries


SPEC = SeriesSpec("brent", "USD/bbl", 70.0, "log", (80.0, 100.0), (50.0, 60.0))


def _levels(seed: int, n: int, steps: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    log = np.cumsum(rng.normal(0, 0.03, size=(n, steps)), axis=1)
    return 70.0 * np.exp(np.concatenate([np.zeros((n, 1)), log], axis=1))


def _summary(levels: np.ndarray, keep_exact: bool = True, samples: int = 0) -> SeriesSummary:
    return SeriesSummary.of(SPEC, levels, np.array([5, 10]), np.arange(11), samples, keep_exact)


def test_summary_merge_equals_summary_of_concatenation() -> None:
    a, b = _levels(1, 800), _levels(2, 1200)
    merged = _summary(a, samples=3).merge(_summary(b))
    whole = _summary(np.concatenate([a, b]), samples=3)
    assert merged.n == 2000
    assert_moments_close(merged.moments, whole.moments, scale=200.0)
    np.testing.assert_array_equal(merged.above, whole.above)
    np.testing.assert_array_equal(merged.below, whole.below)
    np.testing.assert_array_equal(merged.exact, whole.exact)
    np.testing.assert_array_equal(merged.fan.counts, whole.fan.counts)
    np.testing.assert_array_equal(merged.samples, a[:3])


def test_summary_rows() -> None:
    levels = _levels(3, 4000)
    s = _summary(levels)
    rows = {(h, stat): (value, se) for _, h, stat, value, se in s.rows()}
    names = {stat for _, stat in rows}
    assert names == {
        "mean",
        "std",
        *QUANTILES,
        "prob_above_80",
        "prob_above_100",
        "prob_below_50",
        "prob_below_60",
    }
    at = levels[:, 10]
    assert rows[(10, "mean")][0] == pytest.approx(at.mean(), rel=1e-12)
    assert rows[(10, "mean")][1] == pytest.approx(at.std(ddof=1) / math.sqrt(4000), rel=1e-9)
    assert rows[(10, "std")][0] == pytest.approx(at.std(ddof=1), rel=1e-9)
    for stat, level in QUANTILES.items():
        assert rows[(10, stat)][0] == pytest.approx(np.quantile(at, level), rel=1e-12)
    p = float(np.mean(at > 80.0))
    assert rows[(10, "prob_above_80")] == pytest.approx((p, math.sqrt(p * (1 - p) / 4000)))
    p = float(np.mean(at < 60.0))
    assert rows[(10, "prob_below_60")] == pytest.approx((p, math.sqrt(p * (1 - p) / 4000)))


def test_sketch_quantiles_within_a_bin_of_exact() -> None:
    levels = _levels(4, 5000)
    exact = _summary(levels, keep_exact=True).quantiles(LEVELS)
    np.testing.assert_array_equal(exact, np.quantile(levels[:, [5, 10]], LEVELS, axis=0).T)
    sketch = _summary(levels, keep_exact=False).quantiles(LEVELS)
    inverted = np.quantile(levels[:, [5, 10]], LEVELS, axis=0, method="inverted_cdf").T
    # One bin of log price: a factor exp(0.001).
    assert np.abs(np.log(sketch / inverted)).max() <= BIN_WIDTH["log"] * (1 + 1e-9)


def test_quantile_standard_error_matches_the_spread_across_replicates() -> None:
    reps, n = 400, 2_000
    medians, ses = [], []
    for r in range(reps):
        rows = {(h, st_): (v, se) for _, h, st_, v, se in _summary(_levels(100 + r, n)).rows()}
        medians.append(rows[(10, "p50")][0])
        ses.append(rows[(10, "p50")][1])
    spread = np.std(medians, ddof=1)
    combined = math.hypot(spread / math.sqrt(2 * (reps - 1)), np.std(ses, ddof=1) / math.sqrt(reps))
    assert abs(spread - np.mean(ses)) < 4 * combined


@settings(max_examples=80, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(3, 300), st.integers(1, 4)),
        elements=st.floats(-5.0, 5.0, allow_nan=False),
    ),
    cuts=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    q=st.floats(0.001, 0.999),
)
def test_histogram_merges_are_associative_and_within_a_bin(
    data: np.ndarray, cuts: tuple[float, float], q: float
) -> None:
    """Sketch merges are exact (so associative) and a merged quantile is within one bin of the
    empirical (inverted-CDF) quantile, or at the extremes seen when outside the grid."""
    from simulator.reduce import BIN_WIDTH, Histogram

    n = data.shape[0]
    i, j = sorted(min(max(1, round(c * n)), n - 1) for c in cuts)
    parts = [data[:i], data[i:j], data[j:]]
    parts = [p for p in parts if p.shape[0] > 0]
    hs = [Histogram.of("log", p) for p in parts]
    left = hs[0]
    for h in hs[1:]:
        left = left.merge(h)
    right = hs[-1]
    for h in reversed(hs[:-1]):
        right = h.merge(right)
    whole = Histogram.of("log", data)
    for merged in (left, right):
        lo = min(merged.offset, whole.offset)
        width = max(merged.offset + merged.counts.shape[1], whole.offset + whole.counts.shape[1])
        pad = np.zeros((data.shape[1], width - lo), dtype=np.int64)
        a, b = pad.copy(), pad.copy()
        a[:, merged.offset - lo : merged.offset - lo + merged.counts.shape[1]] = merged.counts
        b[:, whole.offset - lo : whole.offset - lo + whole.counts.shape[1]] = whole.counts
        np.testing.assert_array_equal(a, b)
    est = left.quantile(np.array([q]))[:, 0]
    exact = np.quantile(data, q, axis=0, method="inverted_cdf")
    inside = np.abs(exact) < 3.999
    assert np.all(np.abs(est - exact)[inside] <= BIN_WIDTH["log"] + 1e-12)


def test_cross_moments_of_parts_equal_those_of_the_stacked_rows() -> None:
    rng = np.random.default_rng(9)
    rows = rng.normal(size=(5, 1000)) + np.arange(5)[:, None]
    whole = CrossMoments.of_rows(rows)
    parts = CrossMoments.of_parts(rows[0], rows[1:])
    assert parts.n == whole.n
    np.testing.assert_allclose(parts.total, whole.total, rtol=1e-13)
    np.testing.assert_allclose(parts.cross, whole.cross, rtol=1e-13)


def _path_moments(x: np.ndarray) -> CrossMoments:
    """Cross moments of ``x`` (``(k, paths, days)``) with the per-path sums tracked."""
    k = x.shape[0]
    base = CrossMoments.of_rows(x.reshape(k, -1))
    return base.with_paths(kernels.path_sums(list(x)))


def test_correlation_and_vol_errors_match_the_iid_normal_closed_forms() -> None:
    """iid bivariate normal days: se(r) = (1 - r^2) / sqrt(N), se(sd) = sd / sqrt(2 N).
    The tolerance is 4 standard errors of the delta-method estimate itself: its relative
    error is sqrt((kurtosis - 1) / P) / 2 for P paths, the kurtosis being that of the
    linearised per-path values, estimated here from the sample."""
    rng = np.random.default_rng(31)
    paths, days, rho, sd = 4000, 50, 0.6, 0.02
    z = rng.standard_normal((2, paths, days))
    x = np.stack([z[0], rho * z[0] + math.sqrt(1 - rho**2) * z[1]]) * sd
    m = _path_moments(x)
    corr_se, vol_se = m.std_errors(per_year=252.0)
    n = paths * days
    r = m.correlation()[0, 1]
    assert abs(r - rho) < 4 * (1 - rho**2) / math.sqrt(n)
    # Linearised per-path values of r, for the kurtosis behind the tolerance.
    y = kernels.path_sums(list(x))
    lin = y[:, 3] - 0.5 * r * (y[:, 2] + y[:, 4])  # d r ~ d(c_ab) - r/2 (d c_aa + d c_bb)
    kurt = float(np.mean((lin - lin.mean()) ** 4) / np.var(lin) ** 2)
    tol = 4 * math.sqrt((kurt - 1) / paths) / 2
    assert corr_se[0, 1] == pytest.approx((1 - r**2) / math.sqrt(n), rel=tol)
    assert corr_se[0, 1] == corr_se[1, 0]
    assert np.all(np.diag(corr_se) == 0)
    sq = y[:, 2] - y[:, 2].mean()
    kurt_sq = float(np.mean(sq**4) / np.var(sq) ** 2)
    tol_vol = 4 * math.sqrt((kurt_sq - 1) / paths) / 2
    vol = m.volatility(252.0)
    np.testing.assert_allclose(vol_se, vol / math.sqrt(2 * n), rtol=tol_vol)


def test_correlation_errors_hold_when_the_days_of_a_path_depend_on_each_other() -> None:
    """A path-level shock shared by its days (as regimes and events make): the spread of
    r and of the vols over 400 independent runs matches their mean delta-method errors
    (to 4 standard errors of a standard deviation from 400 values), where the iid formula
    (1 - r^2) / sqrt(N) is about half the truth."""
    rng = np.random.default_rng(32)
    reps, paths, days = 400, 100, 20
    rs, vols, r_se, v_se, naive = [], [], [], [], []
    for _ in range(reps):
        common = rng.standard_normal((paths, 1)) * 0.5  # the same on every day of a path
        z = rng.standard_normal((2, paths, days))
        x = np.stack([z[0] + common, 0.3 * z[0] + z[1] - 2.0 * common])
        m = _path_moments(x)
        corr_se, vol_se = m.std_errors()
        r = m.correlation()[0, 1]
        rs.append(r)
        vols.append(m.volatility()[1])
        r_se.append(corr_se[0, 1])
        v_se.append(vol_se[1])
        naive.append((1 - r**2) / math.sqrt(paths * days))
    tol = 4 / math.sqrt(2 * (reps - 1))
    assert np.mean(r_se) == pytest.approx(np.std(rs, ddof=1), rel=tol)
    assert np.mean(v_se) == pytest.approx(np.std(vols, ddof=1), rel=tol)
    assert np.std(rs, ddof=1) > 1.5 * np.mean(naive)


def test_cross_moment_errors_merge_exactly_and_need_the_per_path_sums() -> None:
    rng = np.random.default_rng(33)
    x = rng.standard_normal((3, 60, 10))
    whole = _path_moments(x)
    halves = _path_moments(x[:, :25]).merge(_path_moments(x[:, 25:]))
    assert halves.paths == whole.paths == 60
    assert halves.path_cross is not None
    assert whole.path_cross is not None
    np.testing.assert_allclose(halves.path_cross, whole.path_cross, rtol=1e-13)
    for got, want in zip(halves.std_errors(), whole.std_errors(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)
    untracked = CrossMoments.of_rows(x.reshape(3, -1))
    assert untracked.merge(whole).path_cross is None
    assert np.isnan(untracked.std_errors()[0][0, 1])


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["log", "linear"]),
    arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(1, 12)),
        elements=st.floats(-1500.0, 1500.0, allow_nan=False),
    ),
    st.data(),
)
def test_histogram_of_days_counts_exactly_as_the_numpy_histogram(
    kind: str, coords: np.ndarray, data: st.DataObject
) -> None:
    """The compiled per-day count equals the numpy histogram of the gathered columns: same
    cells, same offset, same extremes (values reach the under- and overflow cells)."""
    days = np.array(
        sorted(data.draw(st.sets(st.integers(0, coords.shape[1] - 1), min_size=1))),
        dtype=np.int64,
    )
    with kernels.compiled():
        fast = Histogram.of_days(kind, coords, days)  # type: ignore[arg-type]
    slow = Histogram.of(kind, coords[:, days])  # type: ignore[arg-type]
    assert fast.offset == slow.offset
    np.testing.assert_array_equal(fast.counts, slow.counts)
    np.testing.assert_array_equal(fast.low, slow.low)
    np.testing.assert_array_equal(fast.high, slow.high)


def test_in_place_running_total_equals_the_functional_merge() -> None:
    """A running total merged in place (as the engine does) has the same counts, offset and
    extremes as folding functional merges, whether later blocks fall inside its cells or
    widen them; the blocks themselves are left unchanged."""
    rng = np.random.default_rng(21)
    blocks = [
        Histogram.of("log", rng.normal(scale=s, size=(200, 5)) + shift)
        for s, shift in [(0.1, 0.0), (0.05, 0.0), (0.3, 0.2), (0.01, -0.1), (0.2, 0.0)]
    ]
    before = [b.counts.copy() for b in blocks[1:]]
    functional = blocks[0]
    for b in blocks[1:]:
        functional = functional.merge(b)
    running = Histogram(
        "log",
        blocks[0].counts.copy(),
        blocks[0].offset,
        blocks[0].low.copy(),
        blocks[0].high.copy(),
    )
    for b in blocks[1:]:
        running = running.merge(b, in_place=True)
    assert running.offset == functional.offset
    np.testing.assert_array_equal(running.counts, functional.counts)
    np.testing.assert_array_equal(running.low, functional.low)
    np.testing.assert_array_equal(running.high, functional.high)
    for b, counts in zip(blocks[1:], before, strict=True):
        np.testing.assert_array_equal(b.counts, counts)


# --------------------------------------------------------------------------- first passage


PASSAGE = SeriesSpec(
    "brent", "USD/bbl", 70.0, "log", (75.0, 80.0), (60.0, 65.0), first_passage=True
)


@pytest.mark.parametrize(
    ("spec", "horizons"),
    [
        (PASSAGE, [1, 3, 7, 10]),
        (PASSAGE, [10]),
        (
            SeriesSpec("us10y", "percent", 4.0, "linear", (4.1,), (3.9,), first_passage=True),
            [2, 5, 9],
        ),
    ],
)
def test_first_passage_counts_equal_a_brute_force(spec: SeriesSpec, horizons: list[int]) -> None:
    """Counted from the running extremes of the daily closes 1..h, path by path."""
    levels = _levels(11, 3000) if spec.kind == "log" else 4.0 + (_levels(11, 3000) - 70.0) / 50
    s = SeriesSummary.of(spec, levels, np.array(horizons), np.arange(11), 0, True)
    running = s.running
    assert running is not None
    for i, h in enumerate(horizons):
        high, low = levels[:, 1 : h + 1].max(axis=1), levels[:, 1 : h + 1].min(axis=1)
        np.testing.assert_allclose(running[:, 0, i], high, rtol=1e-13)
        np.testing.assert_allclose(running[:, 1, i], low, rtol=1e-13)
        for j, t in enumerate(spec.thresholds_above):
            assert s.ever_above[i, j] == int((high > t).sum())
            assert s.ever_above[i, j] >= s.above[i, j]  # ending above means having been above
        for j, t in enumerate(spec.thresholds_below):
            assert s.ever_below[i, j] == int((low < t).sum())
            assert s.ever_below[i, j] >= s.below[i, j]
    assert np.all(np.diff(s.ever_above, axis=0) >= 0)  # a longer window can only add paths
    assert np.all(np.diff(s.ever_below, axis=0) >= 0)


def test_first_passage_rows_merge_and_are_off_by_default() -> None:
    a, b = _levels(12, 700), _levels(13, 900)
    one = SeriesSummary.of(PASSAGE, a, np.array([5, 10]), np.arange(11), 0, True)
    merged = one.merge(SeriesSummary.of(PASSAGE, b, np.array([5, 10]), np.arange(11), 0, True))
    whole = SeriesSummary.of(
        PASSAGE, np.concatenate([a, b]), np.array([5, 10]), np.arange(11), 0, True
    )
    np.testing.assert_array_equal(merged.ever_above, whole.ever_above)
    np.testing.assert_array_equal(merged.ever_below, whole.ever_below)
    np.testing.assert_array_equal(merged.running, whole.running)  # kept path by path
    rows = {(h, stat): (v, se) for _, h, stat, v, se in merged.rows()}
    p = float(np.mean(np.concatenate([a, b])[:, 1:11].max(axis=1) > 80.0))
    assert rows[(10, "prob_ever_above_80")] == pytest.approx((p, math.sqrt(p * (1 - p) / 1600)))
    assert {stat for _, stat in rows if "ever" in stat} == {
        "prob_ever_above_75",
        "prob_ever_above_80",
        "prob_ever_below_60",
        "prob_ever_below_65",
    }
    plain = _summary(a)
    assert plain.ever_above.shape == (2, 0)
    assert plain.running is None
    # Over the memory budget nothing per path is kept, but the counts still are.
    counted = SeriesSummary.of(PASSAGE, a, np.array([5, 10]), np.arange(11), 0, False)
    assert counted.running is None
    np.testing.assert_array_equal(counted.ever_above, one.ever_above)
    assert not any("ever" in stat for _, _, stat, _, _ in plain.rows())
