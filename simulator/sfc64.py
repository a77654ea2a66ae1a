"""numpy's SFC64 generator, its normals and its gammas, inlined into compiled loops.

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
(tests compare both to numpy's own draws). Measured on the engine's reference machine, the
Student-t mixing gammas take about a quarter less time than through numba's generator;
normals take the same time (the ziggurat, not the call, bounds them).

This module imports numba; :mod:`simulator.kernels` imports it only when it compiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

__all__ = ["fill_normals", "is_sfc64", "run", "t_factors"]

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


@_kernel
def fill_normals(state: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (1-D float64) with standard normals, advancing ``state`` (4 uint64)."""
    a, b, c, w = state[0], state[1], state[2], state[3]
    for i in range(out.shape[0]):
        x, a, b, c, w = _normal(a, b, c, w)
        out[i] = x
    state[0], state[1], state[2], state[3] = a, b, c, w


@_kernel
def t_factors(
    state: np.ndarray, shape: np.ndarray, c: np.ndarray, scale: np.ndarray, factor: np.ndarray
) -> None:
    """``sqrt(c / G)`` (times ``scale`` if it is not empty) per path and step into ``factor``
    ``(n, n_steps)``, with ``G ~ Gamma(shape[i])`` (each above 1) drawn in C order, as
    :func:`simulator.kernels.reference_t_factors` takes it."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    n, n_steps = factor.shape
    scaled = scale.shape[0] > 0
    for i in range(n):
        b = shape[i] - 1.0 / 3.0
        cb = 1.0 / np.sqrt(9.0 * b)
        for t in range(n_steps):
            while True:
                x, s0, s1, s2, s3 = _normal(s0, s1, s2, s3)
                v = 1.0 + cb * x
                if v <= 0.0:
                    continue
                v = v * v * v
                u, s0, s1, s2, s3 = _double(s0, s1, s2, s3)
                if u < 1.0 - 0.0331 * (x * x) * (x * x):
                    break
                if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
                    break
            f = np.sqrt(c[i] / (b * v))
            if scaled:
                f *= scale[i, t]
            factor[i, t] = f
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


def is_sfc64(rng: np.random.Generator) -> bool:
    """Whether ``rng`` runs on numpy's SFC64 (whose draws the kernels here reproduce)."""
    return type(rng.bit_generator) is np.random.SFC64


def run(kernel: Callable[..., None], rng: np.random.Generator, *args: object) -> None:
    """Run ``kernel(state, *args)`` on ``rng``'s state, then store the advanced state back
    in ``rng`` (later draws from it continue exactly where numpy's would)."""
    full = rng.bit_generator.state
    state = np.array(full["state"]["state"], dtype=np.uint64)
    kernel(state, *args)
    full["state"]["state"] = state
    rng.bit_generator.state = full
