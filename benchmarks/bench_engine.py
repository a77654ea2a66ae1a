"""Throughput of the Monte Carlo engine against numpy's raw normal generator.

Prints figures; asserts nothing (speed is never a test). Run from the repository root:

    python benchmarks/bench_engine.py                 # oil only and oil + 7 assets, 100k x 126
    python benchmarks/bench_engine.py --paths 1000000 --workers 2

"Path-steps per second" counts one path advanced by one trading day; "path-step-factors"
multiplies by the random factors drawn per step (2 for oil, 2 + 7 with the assets).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from simulator.engine import RunConfig, run
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def normal_rate(n: int = 20_000_000, repeats: int = 3) -> float:
    """Best-of-``repeats`` float64 standard normals per second on one core (PCG64)."""
    rng = np.random.default_rng(0)
    out = np.empty(n)
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rng.standard_normal(out=out)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def oil_only(path: Path) -> object:
    """The scenario with its assets removed (oil model only)."""
    loaded = load_scenario(path)
    scenario = loaded.scenario.model_copy(update={"assets": {}, "correlations": None})
    return loaded.model_copy(update={"scenario": scenario})


def time_run(loaded: object, paths: int, workers: int, seed: int = 1) -> float:
    """Best of two runs' wall seconds."""
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        run(loaded, RunConfig(paths=paths, seed=seed, workers=workers))  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "talks_fail.yaml"))
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    rate = normal_rate()
    print(f"numpy standard_normal (PCG64, 1 core): {rate / 1e6:8.1f} M draws/s")
    full = load_scenario(args.scenario)
    steps = full.scenario.horizon_days
    cases = [("oil only", oil_only(Path(args.scenario)), 2),
             (f"oil + {len(full.scenario.assets)} assets", full, 2 + len(full.scenario.assets))]
    for label, loaded, factors in cases:
        secs = time_run(loaded, args.paths, args.workers)
        ps = args.paths * steps / secs
        print(
            f"{label:>16}: {args.paths:,} paths x {steps} steps, {args.workers} worker(s): "
            f"{secs:6.2f} s  {ps / 1e6:6.2f} M path-steps/s  "
            f"{ps * factors / 1e6:7.1f} M path-step-factors/s  "
            f"= {ps * factors / rate:5.1%} of the raw normal rate"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak resident memory: this process {peak:,.0f} MiB, largest worker {child:,.0f} MiB")


if __name__ == "__main__":
    main()
