"""Blocks on a real Dask cluster: same numbers as one process, even when a worker dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from simulator.engine import RunConfig, run, task_blocks
from simulator.report.tables import summary_rows
from simulator.scenario import load_scenario

distributed = pytest.importorskip("distributed", reason="the [distributed] extra is not installed")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "talks_fail.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


@pytest.fixture
def cluster() -> Any:
    """A scheduler and two single-threaded workers on 127.0.0.1, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_spawn("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")]
    workers = []
    for _ in range(2):
        w = _spawn(
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-dashboard",
            "--no-nanny",
        )
        workers.append(w)
        procs.append(w)
    try:
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_dask_cluster_matches_one_process_even_when_a_worker_is_killed(cluster: Any) -> None:
    address, workers = cluster
    loaded = load_scenario(SCENARIO)
    base = {"paths": 8_000, "seed": 11, "horizon_days": 42, "block_size": 1_000}
    local = summary_rows(run(loaded, RunConfig(**base, workers=1)))  # type: ignore[arg-type]

    killed: list[int] = []

    def kill_after_first_block(done: int, total: int) -> None:
        if not killed:
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=20)
            killed.append(done)

    result = run(
        loaded,
        RunConfig(**base, workers=2, scheduler=address),  # type: ignore[arg-type]
        progress=kill_after_first_block,
    )
    assert killed, "the worker was never killed"
    assert workers[0].poll() is not None
    assert summary_rows(result) == local
    assert result.engine["name"] == f"dask:{address}"


def test_unreachable_scheduler_is_a_runtime_failure() -> None:
    from simulator.errors import RuntimeFailure

    loaded = load_scenario(SCENARIO)
    port = _free_port()
    t0 = time.perf_counter()
    with pytest.raises(
        RuntimeFailure, match=rf"^cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
    ):
        run(loaded, RunConfig(paths=1000, seed=1, scheduler=f"tcp://127.0.0.1:{port}"))
    assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize("compiled", [False, True])
def test_local_cluster_and_two_processes_match_one_process(compiled: bool) -> None:
    """Bit for bit, with the kernels in numpy and compiled (Dask workers load the compiled
    kernels themselves), and whatever the size of the tasks."""
    loaded = load_scenario(SCENARIO)
    # 42 blocks: tasks of 4 blocks in one process (the last one of 2), of 2 for two
    # workers (the last four blocks one at a time), of 1 for three; the last group of the
    # tree is incomplete.
    base = {"paths": 4_200, "seed": 3, "horizon_days": 21, "block_size": 100}
    assert [task_blocks(42, w) for w in (1, 2, 3)] == [4, 2, 1]
    base["compiled"] = compiled
    one = summary_rows(run(loaded, RunConfig(**base, workers=1)))  # type: ignore[arg-type]
    two = summary_rows(run(loaded, RunConfig(**base, workers=2)))  # type: ignore[arg-type]
    three = summary_rows(run(loaded, RunConfig(**base, workers=3)))  # type: ignore[arg-type]
    dask = run(loaded, RunConfig(**base, workers=2, scheduler="local"))  # type: ignore[arg-type]
    assert one == two == three == summary_rows(dask)
    assert dask.engine["name"] == "dask:local"
