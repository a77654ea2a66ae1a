"""Running blocks of paths on a Dask distributed cluster.

Each task is 1, 2 or 4 consecutive blocks (:func:`simulator.engine.run_blocks`), sized for
the workers the cluster has, and a pure function of its arguments, so a task lost with a
worker is simply recomputed elsewhere (Dask does this by itself; ``retries`` covers tasks
that raised because their worker died mid-task) and the result is bit-for-bit the same.
Summaries come back in task order and are merged in the run's fixed tree
(:class:`simulator.engine.MergeTree`), whatever the size of the tasks.

Needs the optional extra: ``pip install -e '.[distributed]'`` in a checkout.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Generator
from typing import Any

from simulator.errors import InputError, RuntimeFailure, SimulationFailure

__all__ = ["dask_blocks"]

RETRIES = 3
CONNECT_TIMEOUT = "10s"


def _client(scheduler: str, workers: int) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "--scheduler/--cluster need Dask: install the [distributed] extra "
            "(pip install -e '.[distributed]' in the project's checkout)"
        ) from None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError) as exc:
        raise RuntimeFailure(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None


def dask_blocks(
    fn: Callable[..., Any],
    plan: Callable[[int], list[tuple[Any, ...]]],
    scheduler: str,
    workers: int,
) -> Generator[tuple[tuple[Any, ...], Any], None, None]:
    """Run ``fn(*a)`` for each ``a`` in ``plan(n)`` on Dask, where ``n`` is the number of
    workers the cluster has (``workers`` for a LocalCluster, or if it reports none); yield
    each ``a`` with its result, in order.

    At most twice as many tasks as the cluster has workers are in flight, so the memory
    held by finished summaries stays bounded.
    """
    client, cluster = _client(scheduler, workers)
    run_id = uuid.uuid4().hex[:8]
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        args = plan(n_workers)
        window = 2 * n_workers
        pending: dict[int, Any] = {}
        nxt = 0
        for i in range(len(args)):
            while nxt < len(args) and nxt < i + window:
                pending[nxt] = client.submit(
                    fn, *args[nxt], key=f"sim-task-{run_id}-{nxt}", retries=RETRIES, pure=False
                )
                nxt += 1
            future = pending.pop(i)
            try:
                result = future.result()
            except SimulationFailure:
                raise  # the scenario's own failure, as on this machine
            except Exception as exc:
                raise RuntimeFailure(f"task {i} failed on the cluster: {exc}") from None
            future.release()
            yield args[i], result
    finally:
        for future in pending.values() if "pending" in locals() else []:
            with contextlib.suppress(Exception):
                future.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
