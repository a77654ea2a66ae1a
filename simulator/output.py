"""Writing a run to disk: one directory, complete or not at all.

Everything is written into a hidden temporary directory beside the target and renamed
into place at the end, so an interrupted or failed run leaves no partial directory and
never touches an earlier result. Without ``force`` an existing result is kept and the new
one gets the next free name (``talks_fail-2``, ...); with ``force`` the old directory is
replaced only after the new one is complete, and only if it is an earlier result (it holds
a ``manifest.json``): anything else of that name is the user's and stops the run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from simulator import __version__
from simulator.assets import correlation_repair
from simulator.engine import RunResult
from simulator.engine import default_workers as engine_default_workers
from simulator.errors import InputError, RuntimeFailure
from simulator.interrupts import signals_held
from simulator.portfolio import describe
from simulator.samples import series_meta
from simulator.streams import BIT_GENERATOR, LAYOUT

__all__ = [
    "atomic_directory",
    "check_out",
    "check_replaceable",
    "comparison_name",
    "manifest",
    "out_directory",
    "target_directory",
    "write_run",
    "write_text_atomic",
]


def check_out(out: Path, label: str | None = None) -> None:
    """Check, before anything runs, that results can be written under ``out``.

    Makes and removes a temporary directory in ``out``'s nearest existing ancestor (so a
    read-only or virtual file system fails here, not after the simulation); creates
    nothing that stays.

    Parameters
    ----------
    out
        The directory results will go to (it may not exist yet).
    label
        How to name it in an error; default ``--out OUT``.

    Raises
    ------
    InputError
        ``out`` or an ancestor is a file, or the nearest existing ancestor is not writable.
    """
    named = label or f"--out {out}"
    try:
        existing = out
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            if existing == out and label is None:
                raise InputError(f"{named} exists and is not a directory")
            raise InputError(f"{named}: {existing} is a file, not a directory")
        probe = tempfile.mkdtemp(prefix=".sim-write-check-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        raise InputError(f"{named}: cannot write there ({exc.strerror or exc})") from None


def _make_public(path: Path, mode: int) -> None:
    """Give ``path`` the permissions a plain create would: ``mode`` less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(mode & ~mask)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, so that a
    failed or interrupted write leaves any earlier file as it was.

    Raises
    ------
    RuntimeFailure
        The file cannot be written.
    """
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _make_public(tmp, 0o666)  # mkstemp makes it private; the result should not be
        os.replace(tmp, path)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def out_directory(value: str, option: str = "--out") -> Path:
    """The directory given to ``option``; an empty value is an error, not the current
    directory.

    Raises
    ------
    InputError
        ``value`` is empty.
    """
    if not value.strip():
        raise InputError(f"{option} is empty: give a directory ('.' for the current one)")
    return Path(value)


def check_replaceable(target: Path) -> None:
    """Check that ``--force`` may replace ``target``: absent, or an earlier result.

    A directory counts as an earlier result when it holds a ``manifest.json`` that ``sim``
    wrote (every result has one); anything else there, a symbolic link included, is the
    user's and is not removed.

    Raises
    ------
    InputError
        ``target`` exists and is not a directory with ``sim``'s ``manifest.json``.
    """
    if not os.path.lexists(target):
        return
    if target.is_symlink():
        raise InputError(f"--force: {target} is a symbolic link; not replacing it")
    if not _is_result(target):
        kind = "directory" if target.is_dir() else "file"
        raise InputError(
            f"--force: {target} is a {kind} that is not a sim result (no manifest.json); "
            "not replacing it"
        )


def _is_result(directory: Path) -> bool:
    """A directory holding a ``manifest.json`` that ``sim`` wrote (a JSON object with its
    ``package_version``)."""
    try:
        record = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and "package_version" in record


def target_directory(out: Path, name: str, force: bool) -> Path:
    """Where a result named ``name`` goes under ``out``: ``out/name`` or the next free name.

    With ``force``, ``out/name`` itself, which must be absent or an earlier result
    (:func:`check_replaceable`).
    """
    candidate = out / name
    if force:
        check_replaceable(candidate)
        return candidate
    if not os.path.lexists(candidate):  # a dangling link is taken too
        return candidate
    k = 2
    while os.path.lexists(out / f"{name}-{k}"):
        k += 1
    return out / f"{name}-{k}"


@contextlib.contextmanager
def atomic_directory(target: Path, on_done: Callable[[], None] | None = None) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary directory is removed and
    ``target`` is left as it was. Signals wait while an earlier ``target`` is swapped out
    and removed and the new one put in place, and while ``on_done`` (if given) records
    that it is: an interruption there would leave the earlier result hidden, or a result
    in place that its caller does not know about.
    """
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
        _make_public(tmp, 0o777)  # mkdtemp makes it private; the result should not be
    except OSError as exc:
        raise RuntimeFailure(f"cannot write to {parent}: {exc.strerror or exc}") from None
    try:
        yield tmp
        with signals_held():
            old = None
            if target.exists():
                old = parent / f".{target.name}.old-{os.getpid()}"
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            if on_done is not None:
                on_done()
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeFailure(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_files(directory: Path) -> Iterator[Path]:
    """Yield a staging directory whose files move into ``directory`` if the block succeeds.

    For a directory the user names and may share with other files (``--charts DIR``): the
    files written are renamed into place only once all are written, so a failure or an
    interruption while they are written leaves the earlier files as they were; other files
    are not touched. Signals wait while the files are renamed (microseconds), so an
    interruption cannot leave half of them renamed.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
    except OSError as exc:
        raise RuntimeFailure(f"cannot write to {directory}: {exc.strerror or exc}") from None
    try:
        yield tmp
        with signals_held():
            for path in sorted(tmp.iterdir()):
                os.replace(path, directory / path.name)
    except OSError as exc:
        raise RuntimeFailure(f"cannot write to {directory}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def manifest(
    result: RunResult, directory: Path, files: list[str], command: str | None = None
) -> dict[str, Any]:
    """The run's record: what was run (and the command line, if given), with what, when,
    and where the files are."""
    loaded = result.loaded
    return {
        "command": command,
        "scenario": result.scenario.name,
        "description": result.scenario.description,
        "as_of": result.scenario.as_of.isoformat(),
        "scenario_file": str(loaded.path),
        "scenario_sha256": loaded.sha256,
        "files_sha256": loaded.sha256_all,
        # As run: a --horizon replaces the file's horizon and the horizons reported.
        "parameters": _jsonable(
            {
                **result.scenario.model_dump(mode="json", by_alias=True),
                "horizon_days": result.n_steps,
                "report_horizons_days": list(result.horizons),
            }
        ),
        # The matrix simulated differs from the file's when it had to be repaired.
        "correlations_repaired": correlation_repair(result.scenario),
        "seed": result.config.seed,
        "bit_generator": BIT_GENERATOR.__name__,
        "stream_layout": LAYOUT,
        "paths": result.summary.n_paths,
        "steps": result.n_steps,
        "step": "1 trading day",
        "horizons_days": result.horizons,
        "block_size": result.config.block_size,
        "package_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "engine": result.engine.get("name", "numpy-local"),
        "workers": result.engine.get("workers", 1),
        "workers_requested": result.engine.get("workers_requested", 1),
        "quantile_method": result.engine.get("quantiles", "exact"),
        "kernels": result.engine.get("kernels", "numpy"),
        "started": result.started.isoformat(),
        "finished": result.finished.isoformat(),
        "wall_seconds": round(result.wall_seconds, 3),
        "stressed_share_of_days": result.summary.stressed_share,
        "portfolio": describe(result.portfolio) if result.portfolio is not None else None,
        "series": series_meta(result),
        "directory": str(directory),
        "files": sorted(files),
    }


_JOBS: list[tuple[Callable[[Any], Any], Path]] = []
_SUBJECT: Any = None


def _render_one(i: int) -> None:
    make, path = _JOBS[i]
    make(_SUBJECT).savefig(path)


def render_figures(subject: Any, jobs: list[tuple[Callable[[Any], Any], Path]]) -> None:
    """Draw and save figures ``make(subject)`` to their paths, in parallel where possible.

    Matplotlib drawing holds the GIL, so figures are rendered in forked processes, which
    see ``subject`` without pickling it. Without ``fork`` (or with one job, or in a
    daemonic worker) they are drawn here in turn. A failure in any figure is raised here.
    """
    global _SUBJECT
    workers = min(len(jobs), engine_default_workers())
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if workers <= 1 or not can_fork or multiprocessing.current_process().daemon:
        for make, path in jobs:
            make(subject).savefig(path)
        return
    _JOBS[:] = jobs
    _SUBJECT = subject
    try:
        context = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            with signals_held():  # submit forks the workers
                futures = [pool.submit(_render_one, i) for i in range(len(jobs))]
            for future in futures:
                future.result()
    finally:
        _JOBS.clear()
        _SUBJECT = None


def write_run(
    result: RunResult,
    out: Path,
    force: bool = False,
    extra: Callable[[RunResult, Path], list[str]] | None = None,
    command: str | None = None,
    on_written: Callable[[], None] | None = None,
) -> Path:
    """Write a run's tables, charts and manifest into a new directory under ``out``.

    Parameters
    ----------
    result
        The finished run.
    out
        Parent directory (``outputs/`` by default in the CLI).
    force
        Replace an existing ``out/<scenario>`` instead of choosing a new name.
    extra
        Called with the run and the temporary directory to write more files; returns
        their names.
    command
        The command line that asked for the run, for the manifest.
    on_written
        Called as the directory is put in place, with signals held (see
        :func:`atomic_directory`).

    Returns
    -------
    Path
        The directory written.
    """
    from simulator import samples
    from simulator.report import charts, tables
    from simulator.report.html import render_run

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    target = target_directory(out, result.scenario.name, force)
    with atomic_directory(target, on_written) as tmp:
        written = {
            "summary.csv": tables.to_csv(tables.SUMMARY_COLUMNS, tables.summary_rows(result)),
            "events.csv": tables.to_csv(tables.EVENT_COLUMNS, tables.event_rows(result)),
            "summary.md": tables.summary_markdown(result),
        }
        if result.summary.daily is not None:
            written["correlations.csv"] = tables.to_csv(
                tables.CORRELATION_COLUMNS, tables.correlation_rows(result)
            )
        for name, text in written.items():
            (tmp / name).write_text(text, encoding="utf-8")
        files = list(written)
        figures: list[tuple[str, Callable[[RunResult], Any]]] = [
            ("brent_fan.png", charts.fan_chart),
            ("brent_terminal.png", charts.terminal_chart),
        ]
        if result.scenario.assets:
            figures += [
                ("assets_fan.png", charts.assets_fan_chart),
                ("assets_terminal.png", charts.assets_terminal_chart),
                ("correlation.png", charts.correlation_chart),
            ]
        if result.summary.portfolio is not None:
            figures.append(("portfolio_pnl.png", charts.portfolio_chart))
            (tmp / "portfolio.md").write_text(tables.portfolio_markdown(result), encoding="utf-8")
            files.append("portfolio.md")
        # Small multiples first: the slowest figures start first on the two processes.
        figures.sort(key=lambda item: not item[0].startswith(("assets_", "correlation")))
        render_figures(result, [(make, tmp / name) for name, make in figures])
        files += [name for name, _ in figures]
        (tmp / "fan.csv").write_text(samples.fan_csv(result), encoding="utf-8")
        files.append("fan.csv")
        if samples.write_paths(result, tmp / "paths.npz"):
            files.append("paths.npz")
        if extra is not None:
            files += extra(result, tmp)
        reports = ["report.html", "report.md"]
        record = manifest(result, target.resolve(), [*files, *reports, "manifest.json"], command)
        # The reports embed the charts already in tmp and show the manifest, which lists them.
        for name, text in zip(reports, render_run(result, tmp, record), strict=True):
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


def comparison_name(names: list[str]) -> str:
    """Directory name of the comparison of ``names`` (scenario names, or labels of run
    directories such as ``out1/baseline``): one safe path component, at most 120 characters."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "compare-" + "-".join(names))[:120]


def write_comparison(
    comparison: Any,
    out: Path,
    force: bool = False,
    meta: dict[str, Any] | None = None,
    on_written: Callable[[], None] | None = None,
) -> Path:
    """Write a comparison's tables, charts and manifest into a new directory under ``out``.

    Parameters
    ----------
    comparison
        A :class:`simulator.compare.Comparison`.
    out
        Parent directory.
    force
        Replace an existing directory of the same name.
    meta
        Extra manifest entries (command, times).
    on_written
        Called as the directory is put in place, with signals held.
    """
    from simulator.report import compare_report as cr
    from simulator.report.html import render_compare

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    target = target_directory(out, comparison_name(comparison.names), force)
    with atomic_directory(target, on_written) as tmp:
        files = {
            "comparison.csv": cr.comparison_csv(comparison),
            "comparison.md": cr.comparison_markdown(comparison),
        }
        for fname, text in files.items():
            (tmp / fname).write_text(text, encoding="utf-8")
        written = list(files)
        figures = [
            ("brent_fans.png", cr.fans_chart),
            ("brent_densities.png", cr.densities_chart),
            ("probabilities.png", cr.probabilities_chart),
        ]
        render_figures(comparison, [(make, tmp / fname) for fname, make in figures])
        written += [fname for fname, _ in figures]
        record = {
            "kind": "comparison",
            "scenarios": comparison.names,
            "reference": comparison.reference,
            "weights": comparison.weights,
            "weights_note": comparison.weights_note,
            "paired_common_random_numbers": comparison.paired,
            "runs": [
                _jsonable({k: v for k, v in s.meta.items() if k != "parameters"})
                for s in comparison.samples
            ],
            "package_version": __version__,
            "directory": str(target.resolve()),
            **(meta or {}),
        }
        reports = ["report.html", "report.md"]
        record["files"] = sorted([*written, *reports, "manifest.json"])
        for fname, text in zip(reports, render_compare(comparison, tmp, record), strict=True):
            (tmp / fname).write_text(text, encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target
