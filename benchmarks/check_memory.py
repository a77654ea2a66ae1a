"""Check the memory target: ``sim run`` at 1,000,000 paths x 126 days, all assets, 2 workers,
under 1 GiB peak (parent plus workers). Prints PASS or FAIL; a script, not a test.

    python benchmarks/check_memory.py                    # 1M paths, talks_fail, 2 workers
    python benchmarks/check_memory.py --paths 100000 --limit-gib 1

The figure checked is the larger of (a) the peak of the summed PSS of the run's process tree,
sampled from /proc, and (b) the parent's peak RSS plus the largest worker's peak RSS (see
``bench_memory.py``). The wall time is printed against the 30 s target as well. Exit status:
0 on PASS, 1 on FAIL (memory), 2 if the run itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_memory import GIB, MIB, measure, report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="scenarios/talks_fail.yaml")
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=None)
    parser.add_argument("--limit-gib", type=float, default=1.0)
    parser.add_argument("--time-target", type=float, default=30.0, help="seconds (reported only)")
    args = parser.parse_args()

    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    m = measure(args.paths, args.workers, args.horizon, args.scenario)
    report(m, args.scenario)
    if m.returncode != 0:
        print("FAIL: the run did not finish")
        return 2
    limit = args.limit_gib * GIB
    ok = m.figure < limit
    print(
        f"{'PASS' if ok else 'FAIL'}: peak memory {m.figure / MIB:,.0f} MiB "
        f"(max of tree PSS {m.tree_pss_peak / MIB:,.0f} MiB and parent + largest worker "
        f"{m.parent_plus_worker / MIB:,.0f} MiB) against {limit / MIB:,.0f} MiB; "
        f"tree RSS sum (counts shared pages twice) {m.tree_rss_peak / MIB:,.0f} MiB"
    )
    in_time = m.wall_seconds < args.time_target
    print(
        f"time: {m.wall_seconds:.1f} s against {args.time_target:.0f} s: "
        f"{'met' if in_time else 'not met'} (load after %.2f)" % os.getloadavg()[0]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
