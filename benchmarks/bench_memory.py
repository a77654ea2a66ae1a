"""Peak memory and wall time of the real CLI, ``sim run``, at 100k, 1M and 10M paths.

Prints figures; asserts nothing (see ``check_memory.py`` for the PASS/FAIL check against the
1 GiB target). Run from the repository root:

    python benchmarks/bench_memory.py                          # 100k, 1M, then 10M (see below)
    python benchmarks/bench_memory.py --paths 1000000 --workers 2

Each run is its own subprocess, ``sim run SCENARIO --paths N --workers W --out TMP -q``.
Memory is measured two ways, both including the worker processes:

* sampled: every 200 ms this script walks the run's process tree in /proc and records the
  parent's RSS, the largest worker's RSS, the sum of RSS over the tree (an upper bound:
  forked workers share copy-on-write pages with the parent) and the sum of PSS (shared pages
  split between the processes that map them: the best figure of what the run really holds);
* ``wait4``: the kernel's ``ru_maxrss`` of the run, the peak RSS of the largest single
  process in the tree (parent or worker), which sampling cannot miss.

10M paths can take many minutes: unless ``--paths`` is given, the 1M run comes first and 10M
runs at the full horizon only if 1M took less than 90 s; otherwise 10M runs with
``--horizon 21`` and the output says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
MIB = 2**20


@dataclass
class Measurement:
    paths: int
    workers: int
    horizon: int | None
    wall_seconds: float
    returncode: int
    parent_peak: int  # bytes, sampled RSS of the `sim` process
    worker_peak: int  # bytes, sampled RSS of the largest worker
    tree_rss_peak: int  # bytes, sampled sum of RSS over the tree
    tree_pss_peak: int  # bytes, sampled sum of PSS over the tree
    maxrss: int  # bytes, ru_maxrss from wait4 (largest single process)
    n_workers_seen: int
    stderr_tail: str = ""

    @property
    def parent_plus_worker(self) -> int:
        return self.parent_peak + self.worker_peak

    @property
    def figure(self) -> int:
        """The run's peak memory for the target: the larger of the sampled tree PSS and
        parent + largest worker (both include the workers)."""
        return max(self.tree_pss_peak, self.parent_plus_worker)


def sim_command() -> list[str]:
    """The installed ``sim`` entry point beside this interpreter, else ``python -m simulator``."""
    exe = Path(sys.executable).parent / "sim"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sim")
    return [found] if found else [sys.executable, "-m", "simulator"]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc/PID/task/TID/children (cheap: no /proc scan)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children", encoding="ascii") as fh:
                    todo.extend(int(c) for c in fh.read().split())
            except OSError:
                pass
    return out


def _rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes from /proc/PID/smaps_rollup; (0, 0) if the process is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.parent = self.worker = self.tree_rss = self.tree_pss = 0
        self.workers_seen: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            total_rss = total_pss = 0
            for p in pids:
                rss, pss = _rss_pss(p)
                total_rss += rss
                total_pss += pss
                if p == self.pid:
                    self.parent = max(self.parent, rss)
                elif rss:
                    self.workers_seen.add(p)
                    self.worker = max(self.worker, rss)
            self.tree_rss = max(self.tree_rss, total_rss)
            self.tree_pss = max(self.tree_pss, total_pss)
            self.stop.wait(self.interval)


def measure(
    paths: int,
    workers: int = 2,
    horizon: int | None = None,
    scenario: str | Path = ROOT / "scenarios" / "talks_fail.yaml",
    out_dir: str | Path | None = None,
) -> Measurement:
    """Run ``sim run`` once in a subprocess and measure its wall time and peak memory."""
    tmp = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="sim-bench-"))
    cmd = [
        *sim_command(),
        "run",
        str(scenario),
        "--paths",
        str(paths),
        "--workers",
        str(workers),
        "--out",
        str(tmp),
        "--force",
        "--quiet",
    ]
    if horizon is not None:
        cmd += ["--horizon", str(horizon)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    sampler.start()
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop.set()
    sampler.join()
    reader.join(timeout=5)
    if out_dir is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return Measurement(
        paths=paths,
        workers=workers,
        horizon=horizon,
        wall_seconds=wall,
        returncode=proc.returncode,
        parent_peak=sampler.parent,
        worker_peak=sampler.worker,
        tree_rss_peak=sampler.tree_rss,
        tree_pss_peak=sampler.tree_pss,
        maxrss=usage.ru_maxrss * 1024,
        n_workers_seen=len(sampler.workers_seen),
        stderr_tail=b"".join(err_chunks).decode(errors="replace")[-400:],
    )


def command_line(m: Measurement, scenario: str) -> str:
    h = f" --horizon {m.horizon}" if m.horizon else ""
    return f"sim run {scenario} --paths {m.paths} --workers {m.workers}{h} --out /tmp/... -q"


def report(m: Measurement, scenario: str = "scenarios/talks_fail.yaml") -> None:
    load = os.getloadavg()[0]
    print(f"$ {command_line(m, scenario)}   (load before: see header; after: {load:.2f})")
    if m.returncode != 0:
        print(f"  FAILED with exit code {m.returncode}: {m.stderr_tail}")
    print(
        f"  wall {m.wall_seconds:7.1f} s | parent {m.parent_peak / MIB:7.0f} MiB | largest worker "
        f"{m.worker_peak / MIB:7.0f} MiB | parent+worker {m.parent_plus_worker / MIB:7.0f} MiB | "
        f"tree RSS {m.tree_rss_peak / MIB:7.0f} MiB | tree PSS {m.tree_pss_peak / MIB:7.0f} MiB | "
        f"ru_maxrss (largest process) {m.maxrss / MIB:6.0f} MiB | workers seen {m.n_workers_seen}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="scenarios/talks_fail.yaml")
    parser.add_argument(
        "--paths",
        type=int,
        nargs="*",
        default=None,
        help="path counts (default: 100k, 1M, then 10M per the 90 s rule)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=None)
    args = parser.parse_args()

    print(f"uptime: {Path('/proc/loadavg').read_text().strip()}  (nproc {os.cpu_count()})")
    if args.paths:
        for n in args.paths:
            report(measure(n, args.workers, args.horizon, args.scenario), args.scenario)
        return
    results = {}
    for n in (100_000, 1_000_000):
        print(f"uptime: {Path('/proc/loadavg').read_text().strip()}")
        results[n] = measure(n, args.workers, args.horizon, args.scenario)
        report(results[n], args.scenario)
    m1 = results[1_000_000]
    horizon = args.horizon
    est = m1.wall_seconds * 10  # paths scale linearly; memory does not grow with paths
    if m1.wall_seconds >= 90 and horizon is None:
        horizon = 21
        print(
            f"1M took {m1.wall_seconds:.0f} s (>= 90 s): 10M at the full horizon would take "
            f"about {est / 60:.0f} min, so 10M runs with --horizon 21"
        )
    else:
        print(f"1M took {m1.wall_seconds:.0f} s: 10M estimated at {est / 60:.1f} min")
    print(f"uptime: {Path('/proc/loadavg').read_text().strip()}")
    report(measure(10_000_000, args.workers, horizon, args.scenario), args.scenario)


if __name__ == "__main__":
    main()
