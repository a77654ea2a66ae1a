"""Compiled kernels that draw their random numbers inline from numpy's SFC64 generator.

numba runs ``Generator.standard_normal`` and ``Generator.random`` on any bit generator
through the bit generator's function pointers: every draw is a call that the compiler cannot
inline, and the generator's 256-bit state goes through memory around it. For SFC64, the
engine's bit generator (:data:`simulator.streams.BIT_GENERATOR`), the kernels here run the
same algorithms with the state in four local integers instead:

* the SFC64 step of ``numpy/random/src/sfc64/sfc64.h`` (Doty-Humphrey's generator);
* ``next_double`` (53 bits, as ``Generator.random``);
* the 256-layer ziggurat of ``random_standard_normal`` with numpy's own tables (numba's
  copies of them);
* the gamma method of ``random_standard_gamma`` for shapes above 1 (Marsaglia and Tsang's),
  with the same squeeze and order of operations.

So they give numpy's numbers bit for bit and leave the generator's state where numpy would
(tests compare both to numpy's own draws). The kernels:

* :func:`fill_normals` and :func:`t_factors`, the compiled forms of
  :func:`simulator.kernels.standard_normal` and :func:`simulator.kernels.t_factors` on
  SFC64 (the mixing gammas take about a quarter less time than through numba's generator;
  the normals the same time: the ziggurat, not the call, bounds them);
* :func:`combine_assets`, the compiled form of
  :func:`simulator.kernels.combine_assets_drawn`: in one pass over the block, path by path,
  the path's Student-t mixing factors and unit normals are drawn into buffers that stay in
  cache, correlated and scaled, added to the loadings on oil's drivers, summed into paths,
  and reduced to the daily cross moments. Drawing the block's ``k x n x n_steps`` normals
  into an array first and reading them back cost about a quarter of the combination's time
  (35 MB each way per block of 5,000 x 126 with seven assets).

They share one module because numba's cache (``cache=True``) checks only the source file
of the function it compiled: a kernel calling a function of another module would keep its
cached machine code when that module changed.

This module imports numba; :mod:`simulator.kernels` imports it only when it compiles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numba
import numpy as np
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

__all__ = ["combine_assets", "fill_normals", "run", "t_factors"]

_U11 = np.uint64(11)
_U3 = np.uint64(3)
_U24 = np.uint64(24)
_U40 = np.uint64(40)
_U8 = np.uint64(8)
_U1 = np.uint64(1)
_LOW8 = np.uint64(0xFF)
_LOW52 = np.uint64(0x000F_FFFF_FFFF_FFFF)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2^-53

_inline = numba.njit(inline="always")
_kernel = numba.njit(cache=True, nogil=True)


@_inline
def _next(a, b, c, w):  # type: ignore[no-untyped-def]
    # One SFC64 step: the output, then the new state (a, b, c, counter w).
    out = a + b + w
    a2 = b ^ (b >> _U11)
    b2 = c + (c << _U3)
    c2 = ((c << _U24) | (c >> _U40)) + out
    return out, a2, b2, c2, w + _U1


@_inline
def _double(a, b, c, w):  # type: ignore[no-untyped-def]
    r, a, b, c, w = _next(a, b, c, w)
    return (r >> _U11) * _TO_DOUBLE, a, b, c, w


@_inline
def _normal(a, b, c, w):  # type: ignore[no-untyped-def]
    while True:
        r, a, b, c, w = _next(a, b, c, w)
        idx = r & _LOW8
        r >>= _U8
        rabs = (r >> _U1) & _LOW52
        x = rabs * wi_double[idx]
        if r & _U1:
            x = -x
        if rabs < ki_double[idx]:
            return x, a, b, c, w  # 99.3% of draws
        if idx == 0:  # the tail beyond the last layer
            while True:
                u1, a, b, c, w = _double(a, b, c, w)
                u2, a, b, c, w = _double(a, b, c, w)
                xx = -ziggurat_nor_inv_r * np.log1p(-u1)
                yy = -np.log1p(-u2)
                if yy + yy > xx * xx:
                    if (rabs >> _U8) & _U1:
                        return -(ziggurat_nor_r + xx), a, b, c, w
                    return ziggurat_nor_r + xx, a, b, c, w
        else:
            u, a, b, c, w = _double(a, b, c, w)
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                return x, a, b, c, w


@_inline
def _gamma(b, cb, s0, s1, s2, s3):  # type: ignore[no-untyped-def]
    # Gamma(b + 1/3) by numpy's method for shapes above 1, with cb = 1 / sqrt(9 b):
    # returns b v (numpy's draw), then the state.
    while True:
        x, s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
        v = 1.0 + cb * x
        if v <= 0.0:
            continue
        v = v * v * v
        u, s0, s1, s2, s3 = _double(s0, s1, s2, s3)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return b * v, s0, s1, s2, s3
        if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
            return b * v, s0, s1, s2, s3


@_kernel
def t_factors(
    state: np.ndarray, shape: np.ndarray, c: np.ndarray, scale: np.ndarray, factor: np.ndarray
) -> None:
    """Student-t mixing factors, as :func:`simulator.kernels.reference_t_factors` takes them.

    Parameters
    ----------
    state
        SFC64 state, uint64 ``(4,)``, advanced in place.
    shape
        Gamma shape per path, each above 1, ``(n,)``.
    c
        Numerator per path, ``(n,)``: the factor is ``sqrt(c / G)``.
    scale
        Factor per path and step, ``(n, n_steps)``, or empty ``(0, 0)`` for none.
    factor
        Output, ``(n, n_steps)``: ``sqrt(c[i] / G)`` times ``scale[i, t]``, with one
        ``G ~ Gamma(shape[i])`` per path and step drawn in C order.
    """
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    n, n_steps = factor.shape
    scaled = scale.shape[0] > 0
    for i in range(n):
        b = shape[i] - 1.0 / 3.0
        cb = 1.0 / np.sqrt(9.0 * b)
        for t in range(n_steps):
            g, s0, s1, s2, s3 = _gamma(b, cb, s0, s1, s2, s3)
            f = np.sqrt(c[i] / g)
            if scaled:
                f *= scale[i, t]
            factor[i, t] = f
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


# The helpers that draw for fill_normals and combine_assets set fastmath off: a function
# compiled from inside another takes on the caller's fastmath flags unless it sets its
# own, and contracted or reassociated arithmetic would change numpy's numbers (and could
# flip an accept/reject test, putting the generator out of step).
@numba.njit(nogil=True, fastmath=False)
def _normals_into(a, b, c, w, out):  # type: ignore[no-untyped-def]
    # Fill ``out`` (C-contiguous float64, any shape) with standard normals in C order
    # from the SFC64 state (a, b, c, w); returns the advanced state.
    flat = out.reshape(-1)
    for i in range(flat.shape[0]):
        x, a, b, c, w = _normal(a, b, c, w)
        flat[i] = x
    return a, b, c, w


@numba.njit(nogil=True, fastmath=False)
def _t_factor_row(a, b_, c_, w, shape, c, stress_scale, stressed, factor):  # type: ignore[no-untyped-def]
    # One path's Student-t mixing factors into ``factor`` (n_steps,), as t_factors takes
    # them with scale ``stress_scale`` on the ``stressed`` days and 1 on the others, from
    # the SFC64 state (a, b_, c_, w); returns the advanced state.
    b = shape - 1.0 / 3.0
    cb = 1.0 / np.sqrt(9.0 * b)
    for t in range(factor.shape[0]):
        g, a, b_, c_, w = _gamma(b, cb, a, b_, c_, w)
        f = np.sqrt(c / g)
        f *= stress_scale if stressed[t] else 1.0
        factor[t] = f
    return a, b_, c_, w


@_kernel
def fill_normals(state: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` with standard normals, as ``Generator.standard_normal(out=out)``.

    Parameters
    ----------
    state
        SFC64 state, uint64 ``(4,)``, advanced in place.
    out
        float64 ``(m,)``, filled in order.
    """
    state[0], state[1], state[2], state[3] = _normals_into(
        state[0], state[1], state[2], state[3], out
    )


# Reassociating sums lets the per-path sums over days vectorise; NaN and inf keep their
# meaning (no finite-math flags). The draws (_normals_into, _t_factor_row) are compiled
# without them (see above), and keep numpy's numbers.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def combine_assets(
    noise_state: np.ndarray,
    mixing_state: np.ndarray,
    shape: np.ndarray,
    c: np.ndarray,
    stress_scale: float,
    weights: np.ndarray,
    boost: np.ndarray,
    stressed: np.ndarray,
    ordinary: np.ndarray,
    event_log: np.ndarray,
    risk_off: np.ndarray,
    loadings: np.ndarray,
    drift: np.ndarray,
    oil_log: np.ndarray,
    paths: np.ndarray,
    total: np.ndarray,
    cross: np.ndarray,
    extreme: np.ndarray,
    sums: np.ndarray,
) -> None:
    """The compiled form of :func:`simulator.kernels.combine_assets_drawn`.

    Parameters
    ----------
    noise_state, mixing_state
        SFC64 states of the normals' and the mixing gammas' generators, uint64 ``(4,)``
        each, advanced in place.
    shape, c
        Per path, ``(n,)``: the gammas' shape ``df / 2`` and the factors' numerator
        ``(df - 2) / 2``.
    stress_scale
        Factor on every shock of a stressed day.
    weights, boost, stressed, ordinary, event_log, risk_off, loadings, drift, oil_log
        As for :func:`simulator.kernels.combine_assets`.
    paths, total, cross, extreme, sums
        Outputs, shaped as :func:`simulator.kernels.combine_assets` returns them.
    """
    # One path at a time, days innermost (contiguous, so the loops vectorise): row 0 of
    # ``move`` is Brent's daily log move, rows 1..k the assets'. ``sums`` gets each
    # path's sums and sums of products (see path_sums). The path's shocks are drawn into
    # ``shock`` and its mixing factors into ``factor``, a few kilobytes that stay in
    # cache: the block's shocks never go to memory.
    k = weights.shape[0]
    n, n_steps = ordinary.shape
    s0, s1, s2, s3 = noise_state[0], noise_state[1], noise_state[2], noise_state[3]
    m0, m1, m2, m3 = mixing_state[0], mixing_state[1], mixing_state[2], mixing_state[3]
    factor = np.empty(n_steps)
    move = np.empty((k + 1, n_steps))
    residual = np.empty(n_steps)
    shock = np.empty((k, n_steps))
    drive = np.empty((3, n_steps))  # ordinary shock, event and risk-off changes
    total[:] = 0.0
    cross[:, :] = 0.0
    extreme[:] = 0.0
    for i in range(n):
        m0, m1, m2, m3 = _t_factor_row(
            m0, m1, m2, m3, shape[i], c[i], stress_scale, stressed[i], factor
        )
        s0, s1, s2, s3 = _normals_into(s0, s1, s2, s3, shock)
        for b in range(k):
            for t in range(n_steps):
                shock[b, t] *= factor[t]
        for t in range(n_steps):
            move[0, t] = oil_log[i, t + 1] - oil_log[i, t]
            drive[0, t] = ordinary[i, t]
            drive[1, t] = event_log[i, t + 1] - event_log[i, t]
            drive[2, t] = risk_off[i, t + 1] - risk_off[i, t]
        for a in range(k):
            l_ord, l_event, l_risk, mu = loadings[a, 0], loadings[a, 1], loadings[a, 2], drift[a]
            for t in range(n_steps):
                move[a + 1, t] = (
                    mu + l_ord * drive[0, t] + l_event * drive[1, t] + l_risk * drive[2, t]
                )
            residual[:] = 0.0
            for b in range(k):
                w = weights[a, b]
                if w != 0.0:
                    for t in range(n_steps):
                        residual[t] += w * shock[b, t]
            g = boost[a]
            if g != 1.0:
                for t in range(n_steps):  # a select, not a branch: it vectorises
                    residual[t] *= g if stressed[i, t] else 1.0
            for t in range(n_steps):
                move[a + 1, t] += residual[t]
        # The running sums are chains of dependent additions; four chains advance side by
        # side (four series, or four products of one series with others), so that none
        # waits on its own last addition. Each chain still adds its terms in day order,
        # so every sum is what one chain at a time would give.
        for a0 in range(0, k, 4):
            a1, a2, a3 = min(a0 + 1, k - 1), min(a0 + 2, k - 1), min(a0 + 3, k - 1)
            l0 = l1 = l2 = l3 = 0.0
            t0 = t1 = t2 = t3 = 0.0
            for t in range(n_steps):
                l0 += move[a0 + 1, t]
                l1 += move[a1 + 1, t]
                l2 += move[a2 + 1, t]
                l3 += move[a3 + 1, t]
                paths[a0, i, t + 1] = l0
                paths[a1, i, t + 1] = l1
                paths[a2, i, t + 1] = l2
                paths[a3, i, t + 1] = l3
                t0 = max(t0, abs(l0))
                t1 = max(t1, abs(l1))
                t2 = max(t2, abs(l2))
                t3 = max(t3, abs(l3))
            for a, last, top in ((a0, l0, t0), (a1, l1, t1), (a2, l2, t2), (a3, l3, t3)):
                paths[a, i, 0] = 0.0
                if last != last:  # NaN once is NaN to the end (max() may have skipped it)
                    top = np.inf
                extreme[a] = max(extreme[a], top)
        j = k + 1
        for a in range(k + 1):
            # Products of series a with b, b + 1, b + 2 and b + 3 (the last ones repeated
            # past the end and dropped); its own sum rides along.
            s_a = 0.0
            for b in range(a, k + 1, 4):
                b1, b2, b3 = min(b + 1, k), min(b + 2, k), min(b + 3, k)
                p0 = p1 = p2 = p3 = 0.0
                for t in range(n_steps):
                    v = move[a, t]
                    p0 += v * move[b, t]
                    p1 += v * move[b1, t]
                    p2 += v * move[b2, t]
                    p3 += v * move[b3, t]
                    if b == a:
                        s_a += v
                for q, p in ((b, p0), (b + 1, p1), (b + 2, p2), (b + 3, p3)):
                    if q <= k:
                        cross[a, q] += p
                        sums[i, j] = p
                        j += 1
            total[a] += s_a
            sums[i, a] = s_a
    for a in range(k + 1):
        for b in range(a):
            cross[a, b] = cross[b, a]
    noise_state[0], noise_state[1], noise_state[2], noise_state[3] = s0, s1, s2, s3
    mixing_state[0], mixing_state[1], mixing_state[2], mixing_state[3] = m0, m1, m2, m3


def run(kernel: Callable[..., None], rngs: Sequence[np.random.Generator], *args: object) -> None:
    """Run ``kernel(*states, *args)`` on the states of ``rngs``, then store the advanced
    states back in them (later draws continue exactly where numpy's would).

    Parameters
    ----------
    kernel
        A kernel of this module, taking one state per generator first.
    rngs
        SFC64 generators, each on a bit generator of its own.
    *args
        The kernel's other arguments.
    """
    bits = [rng.bit_generator for rng in rngs]
    if not all(type(b) is np.random.SFC64 for b in bits):
        raise ValueError("the inline draws need SFC64 generators")
    if len({id(b) for b in bits}) != len(bits):
        raise ValueError("each generator needs a bit generator of its own")
    full = [b.state for b in bits]
    states = [np.array(f["state"]["state"], dtype=np.uint64) for f in full]
    kernel(*states, *args)
    for b, f, state in zip(bits, full, states, strict=True):
        f["state"]["state"] = state
        b.state = f
