"""Side by side with an existing scenario generator: pyesg's Ornstein–Uhlenbeck and GBM.

Prints figures; asserts nothing. Run from the repository root with the project's venv:

    python benchmarks/bench_pyesg.py --venv /tmp/bench-venv

The work: 100,000 paths x 252 daily steps of an OU process (dX = theta (mu - X) dt + sigma dW,
theta = 5/yr, sigma = 0.3, mu = 0, X0 = 0, dt = 1/252), returning the full path array
(100,000 x 253 float64), normal shocks drawn inside the timed region. Contenders:

* pyesg 0.1.5 ``OrnsteinUhlenbeckProcess.scenarios`` and ``GeometricBrownianMotion.scenarios``
  (Euler steps; every step calls ``scipy.stats.norm.rvs`` on a legacy ``RandomState``);
* plain vectorised numpy OU (``default_rng().standard_normal`` then one loop over steps);
* the project's OU, ``simulator.processes.ShortTermFactor.path`` (exact discretisation, half-life
  ln2 * 252 / theta days) fed by ``NormalInnovations.draw`` from a generator made as the
  engine makes them (``simulator.streams.Streams``: SeedSequence tree, SFC64), with its
  recursion in numpy and compiled (``simulator.kernels``, as the engine runs from 200,000
  paths up; numba's start-up is outside the timed region); also with explicit regime
  multipliers and jumps (all one and all zero: the full model's inputs), and in blocks of
  5,000 paths as the engine runs;
* a plain per-path Python loop (``random.gauss``) at 1,000 paths, scaled x100: the floor.

pyesg is never a dependency of the project: it is installed only into the venv given by
``--venv`` (created with ``python3 -m venv`` and ``pip install pyesg numpy`` if missing), and
its part runs there, in a subprocess of this script (``--pyesg-only``), reporting JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import time
from pathlib import Path

import numpy as np

THETA, SIGMA, MU, DT = 5.0, 0.3, 0.0, 1.0 / 252
PATHS, STEPS = 100_000, 252


def best_of(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        del out
    return best


# --------------------------------------------------------------------------- pyesg part


def pyesg_part(paths: int, steps: int, repeats: int) -> dict[str, object]:
    """Runs inside the benchmark venv (where pyesg is installed)."""
    import pyesg

    ou = pyesg.OrnsteinUhlenbeckProcess(mu=MU, sigma=SIGMA, theta=THETA)
    gbm = pyesg.GeometricBrownianMotion(mu=0.05, sigma=0.2)
    out = ou.scenarios(0.0, DT, paths, steps, random_state=1)
    assert out.shape == (paths, steps + 1)
    # Sanity: the terminal variance matches the OU's (Euler) stationary-ish variance.
    var_exact = SIGMA**2 * (1 - math.exp(-2 * THETA * steps * DT)) / (2 * THETA)
    return {
        "pyesg_version": getattr(pyesg, "__version__", "?"),
        "numpy_version": np.__version__,
        "ou_seconds": best_of(lambda: ou.scenarios(0.0, DT, paths, steps, random_state=1), repeats),
        "gbm_seconds": best_of(
            lambda: gbm.scenarios(100.0, DT, paths, steps, random_state=1), repeats
        ),
        "ou_terminal_var": float(out[:, -1].var()),
        "ou_terminal_var_exact": var_exact,
    }


def ensure_venv(venv: Path) -> Path:
    """The venv's python, creating the venv with pyesg and numpy if needed."""
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(py), "-c", "import pyesg, numpy"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pyesg", "numpy"], check=True)
    return py


# --------------------------------------------------------------------------- project part


def _simulator() -> tuple[type, type]:
    from simulator.processes import NormalInnovations, ShortTermFactor

    return NormalInnovations, ShortTermFactor


def project_rng(seed: int) -> np.random.Generator:
    """A generator as the engine makes them (its SeedSequence tree and bit generator)."""
    from simulator.streams import Streams

    return Streams(seed, 0).get("oil.shocks")


def numpy_ou(paths: int, steps: int, seed: int = 1) -> np.ndarray:
    """Plain vectorised numpy OU (Euler, as pyesg), full path array."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((steps, paths))  # step-major: each step's shocks contiguous
    eps *= SIGMA * math.sqrt(DT)
    out = np.empty((steps + 1, paths))
    out[0] = 0.0
    a = 1.0 - THETA * DT
    for t in range(steps):
        np.multiply(out[t], a, out=out[t + 1])
        out[t + 1] += eps[t]
        if MU:
            out[t + 1] += THETA * MU * DT
    return out.T  # (paths, steps + 1) view, like pyesg's layout


def project_ou(paths: int, steps: int, seed: int = 1, arrays: bool = False) -> np.ndarray:
    """simulator.processes.ShortTermFactor.path with normal innovations; ``arrays``: with
    explicit regime multipliers (all one) and jumps (all zero), as the full model passes
    them, instead of none."""
    NormalInnovations, ShortTermFactor = _simulator()  # imported before timing (in main)
    rng = project_rng(seed)
    half_life = math.log(2.0) * 252 / THETA
    factor = ShortTermFactor(np.full(paths, half_life), np.full(paths, SIGMA))
    z = NormalInnovations(paths).draw(rng, steps, 1)[0]
    if arrays:
        return factor.path(z, np.ones((paths, steps)), np.zeros((paths, steps)))
    return factor.path(z)


def project_ou_compiled(paths: int, steps: int, seed: int = 1, arrays: bool = False) -> np.ndarray:
    """``ShortTermFactor.path`` with the compiled kernels on (as the engine runs from
    200,000 paths up); numba is loaded before timing (in main)."""
    from simulator import kernels

    with kernels.compiled():
        return project_ou(paths, steps, seed, arrays)


def project_ou_blocked(paths: int, steps: int, seed: int = 1, block: int = 5_000) -> np.ndarray:
    """Compiled ``ShortTermFactor.path`` called on blocks of ``block`` paths, as the engine
    calls its kernels (a block's arrays stay in cache)."""
    from simulator import kernels

    NormalInnovations, ShortTermFactor = _simulator()
    rng = project_rng(seed)
    half_life = math.log(2.0) * 252 / THETA
    out = np.empty((paths, steps + 1))
    with kernels.compiled():
        for start in range(0, paths, block):
            n = min(block, paths - start)
            factor = ShortTermFactor(np.full(n, half_life), np.full(n, SIGMA))
            z = NormalInnovations(n).draw(rng, steps, 1)[0]
            out[start : start + n] = factor.path(z)
    return out


def python_loop(paths: int, steps: int, seed: int = 1) -> list[list[float]]:
    """One path at a time in pure Python: the floor."""
    rnd = random.Random(seed)
    sd = SIGMA * math.sqrt(DT)
    a = 1.0 - THETA * DT
    out = []
    for _ in range(paths):
        x = 0.0
        row = [x]
        for _ in range(steps):
            x = a * x + THETA * MU * DT + sd * rnd.gauss(0.0, 1.0)
            row.append(x)
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--venv",
        default="/tmp/bench-venv",
        help="venv for pyesg (created with pyesg and numpy if missing)",
    )
    parser.add_argument("--paths", type=int, default=PATHS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-paths", type=int, default=1_000)
    parser.add_argument("--pyesg-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.pyesg_only:
        print(json.dumps(pyesg_part(args.paths, args.steps, args.repeats)))
        return

    n, t = args.paths, args.steps
    print(f"load average: {os.getloadavg()}  numpy {np.__version__}")
    print(
        f"work: {n:,} paths x {t} steps OU (theta={THETA}, sigma={SIGMA}), best of {args.repeats}"
    )
    _simulator()  # import the package outside the timed region
    rows: list[tuple[str, float]] = []
    py = ensure_venv(Path(args.venv))
    res = subprocess.run(
        [
            str(py),
            __file__,
            "--pyesg-only",
            "--paths",
            str(n),
            "--steps",
            str(t),
            "--repeats",
            str(args.repeats),
        ],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        print(f"pyesg part failed in {args.venv}:\n{res.stderr[-2000:]}")
        pyesg = None
    else:
        pyesg = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"pyesg {pyesg['pyesg_version']} with numpy {pyesg['numpy_version']} in {args.venv}"
            f"; OU terminal variance {pyesg['ou_terminal_var']:.5f} "
            f"(exact {pyesg['ou_terminal_var_exact']:.5f})"
        )
        rows += [
            ("pyesg OrnsteinUhlenbeckProcess", pyesg["ou_seconds"]),
            ("pyesg GeometricBrownianMotion", pyesg["gbm_seconds"]),
        ]
    rows.append(("numpy vectorised OU (Euler)", best_of(lambda: numpy_ou(n, t), args.repeats)))
    rows.append(
        ("sim ShortTermFactor.path (numpy)", best_of(lambda: project_ou(n, t), args.repeats))
    )
    from simulator import kernels

    with kernels.compiled():  # numba's start-up (about a second) outside the timed region
        kernels.ou_paths(np.zeros((1, 1)), np.ones(1), np.ones(1))
    rows.append(
        (
            "sim ShortTermFactor.path (compiled)",
            best_of(lambda: project_ou_compiled(n, t), args.repeats),
        )
    )
    rows.append(
        (
            "sim ... (compiled), regime and jump arrays",
            best_of(lambda: project_ou_compiled(n, t, arrays=True), args.repeats),
        )
    )
    rows.append(
        (
            "sim ... (compiled), 5,000-path blocks",
            best_of(lambda: project_ou_blocked(n, t), args.repeats),
        )
    )
    loop = best_of(lambda: python_loop(args.loop_paths, t), args.repeats)
    rows.append(
        (
            f"pure Python loop ({args.loop_paths:,} paths, x{n / args.loop_paths:g})",
            loop * n / args.loop_paths,
        )
    )
    ref = pyesg["ou_seconds"] if pyesg else None
    print(f"{'generator':<46} {'seconds':>9} {'M path-steps/s':>15} {'vs pyesg OU':>12}")
    for label, secs in rows:
        speed = f"{ref / secs:10.1f}x" if ref else "n/a"
        print(f"{label:<46} {secs:9.3f} {n * t / secs / 1e6:15.1f} {speed:>12}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
