"""Run the fuzz properties of tests/test_fuzz.py for a long time (never part of the suite).

    python benchmarks/fuzz_long.py --minutes 10
    python benchmarks/fuzz_long.py --minutes 60 --only validate_minimal,prices
    python benchmarks/fuzz_long.py --minutes 5 --include-known-bugs   # also the xfail'd inputs

Uses the ``long`` hypothesis profile (random seeds, no example database) and cycles through
the properties until the time is up, printing cases run and failures as it goes. A failure
prints hypothesis' falsifying example and its ``@reproduce_failure`` blob. Exit status 1
if anything failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Property name in test_fuzz.BUDGET -> test function name.
PROPERTIES = {
    "validate_minimal": "test_validate_mutated_minimal_scenarios",
    "validate_baseline": "test_validate_mutated_baseline",
    "validate_text": "test_validate_yaml_text",
    "validate_binary": "test_validate_binary_garbage",
    "yaml_attacks": "test_yaml_bombs_tags_and_sizes",
    "extends_chain": "test_validate_extends",
    "portfolio": "test_portfolio_loader",
    "prices": "test_price_reader",
    "calibrate_cli": "test_calibrate_cli_on_bad_price_files",
    "compare_dirs": "test_compare_damaged_run_directories",
    "run_cli": "test_run_cli",
    "list_cli": "test_list_cli",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="How long to fuzz.")
    parser.add_argument(
        "--scale", type=int, default=5, help="Cases per round = ci budget x scale (default 5)."
    )
    parser.add_argument("--only", default="", help="Comma-separated property names.")
    parser.add_argument(
        "--include-known-bugs",
        action="store_true",
        help="Also generate the inputs pinned by the xfail tests (expect failures).",
    )
    args = parser.parse_args()

    os.environ["HYPOTHESIS_PROFILE"] = "long"
    os.environ["FUZZ_SCALE"] = str(args.scale)
    if args.include_known_bugs:
        os.environ["FUZZ_INCLUDE_KNOWN_BUGS"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT))
    import test_fuzz

    names = [n for n in args.only.split(",") if n] or list(PROPERTIES)
    unknown = sorted(set(names) - set(PROPERTIES))
    if unknown:
        parser.error(f"unknown properties: {', '.join(unknown)} (known: {', '.join(PROPERTIES)})")
    end = time.monotonic() + args.minutes * 60
    failures: list[tuple[str, str]] = []
    rounds = 0
    t0 = time.monotonic()
    while time.monotonic() < end:
        rounds += 1
        for name in names:
            if time.monotonic() >= end:
                break
            fn = getattr(test_fuzz, PROPERTIES[name])
            before = test_fuzz.CASES[name]
            started = time.monotonic()
            try:
                fn()
                status = "ok"
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                status = f"FAILED ({type(exc).__name__})"
                failures.append((name, "".join(traceback.format_exception(exc))[-4000:]))
            ran = test_fuzz.CASES[name] - before
            print(
                f"round {rounds} {name:18s} {ran:6d} cases {time.monotonic() - started:7.1f} s "
                f"{status}",
                flush=True,
            )
    total = sum(test_fuzz.CASES.values())
    print(f"\n{total:,} cases in {time.monotonic() - t0:.0f} s over {rounds} rounds")
    for name in names:
        print(f"  {name:18s} {test_fuzz.CASES[name]:8,d}")
    if failures:
        print(f"\n{len(failures)} failure(s):")
        for name, text in failures:
            print(f"\n=== {name}\n{text}")
        return 1
    print("no failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
