"""The ``sim`` command line: parse options, call the library, print, set the exit code.

Exit codes: 0 success, 2 bad input (files, fields, options), 1 runtime failure.
"""

from __future__ import annotations

import shlex
import signal
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from simulator import __version__, cli_errors
from simulator.cli_errors import (
    NOTHING_WRITTEN,
    VALIDATE_HINT,
    handle_errors,
    interrupted_by,
    one_line,
    received,
)
from simulator.engine import (
    DEFAULT_PATHS,
    RunConfig,
    RunResult,
    check_resources,
    default_workers,
    max_exact_paths,
    run,
    uses_compiled,
)
from simulator.errors import InputError, PortfolioFileError, ScenarioError, SimulatorWarning
from simulator.interrupts import end_now
from simulator.output import (
    check_out,
    check_replaceable,
    comparison_name,
    out_directory,
    write_run,
)
from simulator.portfolio import LoadedPortfolio, load_portfolio
from simulator.report.tables import format_stat
from simulator.scenario import LoadedScenario, load_scenario

app = typer.Typer(
    name="sim",
    help=(
        "Oil-market scenario simulator: scenario files to Monte Carlo charts and tables.\n\n"
        "Example: sim run scenarios/talks_fail.yaml"
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

# No emoji codes: a location such as "file.yaml:100:" must not print as a symbol.
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = Console(highlight=False, soft_wrap=True, emoji=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"sim {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Oil-market scenario simulator.

    Example: sim run scenarios/talks_fail.yaml
    """


class _Progress:
    """A progress bar that appears only once a run has taken more than a second."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.warmed = False

    def __call__(self, done: int, total: int) -> None:
        if not self.warmed:
            # While worker processes simulate the remaining blocks, this process is idle:
            # load the charting stack now rather than after the run (about 0.8 s).
            self.warmed = True
            import simulator.report.charts
            import simulator.report.html  # noqa: F401
        if self.quiet:
            return
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0 or done >= total:
                return
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} paths"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        if self.task is not None:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _config(
    paths: int,
    seed: int,
    horizon: int | None,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
) -> RunConfig:
    """The run configuration from the shared options of ``run`` and ``compare``."""
    return RunConfig(
        paths=paths,
        seed=seed,
        horizon_days=horizon,
        workers=default_workers() if workers is None else workers,
        scheduler=_scheduler(scheduler, cluster),
    )


def _scheduler(scheduler: str | None, cluster: str | None) -> str | None:
    if cluster is not None and cluster != "local":
        raise InputError(f"--cluster takes 'local', got '{cluster}'")
    if cluster is not None and scheduler is not None:
        raise InputError("give --scheduler or --cluster, not both")
    return "local" if cluster is not None else scheduler


def _prepare(
    files: list[Path], portfolio: Path | None, config: RunConfig, check_memory: bool
) -> tuple[list[LoadedScenario], LoadedPortfolio | None, RunConfig]:
    """Load and check every input before anything runs, so bad input writes nothing."""
    loaded = _load_all(files)
    book = load_portfolio(portfolio) if portfolio is not None else None
    if book is not None:
        for item in loaded:
            book.check_assets(item.scenario)
    config = config.validated()
    if config.scheduler is None and check_memory:
        for item in loaded:
            check_resources(item.scenario, config, book is not None)
    return loaded, book, config


def _check_comparable_paths(
    files: list[Path], loaded: list[LoadedScenario], config: RunConfig, book: bool
) -> None:
    """A comparison needs every path's values (paired differences, blends): refuse, before
    anything runs, more paths than a run keeps them for."""
    for path, item in zip(files, loaded, strict=True):
        n_steps = config.horizon_days or item.scenario.horizon_days
        limit = max_exact_paths(item.scenario, n_steps, book)
        if config.paths > limit:
            with_book = " with the portfolio" if book else ""
            raise InputError(
                f"{path}: --paths {config.paths:,} is more than a comparison can keep each "
                f"path's values for ({limit:,} for this scenario{with_book}); use fewer --paths"
            )


def _notes(loaded: list[LoadedScenario], config: RunConfig, quiet: bool) -> None:
    """Say which report horizons a shorter horizon drops (the run reports up to its end)."""
    if quiet:
        return
    for item in loaded:
        s = item.scenario
        steps = config.horizon_days or s.horizon_days
        dropped = [h for h in s.report_horizons_days if h > steps]
        if dropped:
            err.print(
                f"Note: {item.scenario.name}: report horizons "
                f"{', '.join(map(str, dropped))} are beyond the {steps}-day horizon; reporting "
                f"{', '.join(map(str, s.horizons(steps)))}",
                markup=False,
            )


def _paths_note(result: RunResult, target: Path, quiet: bool) -> None:
    """Say when a run kept no per-path values (no paths.npz: it cannot be re-compared)."""
    if quiet or (target / "paths.npz").exists():
        return
    limit = max_exact_paths(result.scenario, result.n_steps, result.portfolio is not None)
    err.print(
        f"Note: no paths.npz: {result.summary.n_paths:,} paths are more than the "
        f"{limit:,} whose per-path values fit in memory here, so quantiles come from "
        "histograms (within 0.1%) and `sim compare` cannot reuse this directory",
        markup=False,
    )


def _command_line() -> str | None:
    """The command line as typed (``sim`` and its arguments), shell-quoted, for manifests;
    ``None`` when the app was invoked from Python rather than as the ``sim`` process."""
    if not cli_errors.owns_process[0]:
        return None
    return shlex.join(["sim", *sys.argv[1:]])


def _warm_kernels(config: RunConfig, quiet: bool) -> None:
    """Load the compiled kernels before the first progress bar can appear: the first run
    after installing compiles them, which takes several seconds with nothing else to show."""
    if quiet or config.scheduler is not None or not uses_compiled(config):
        return  # run() loads them itself; numpy kernels; or compiled on the cluster's workers
    from simulator import kernels

    with err.status("Loading the compiled kernels (the first run compiles them: about 10 s)"):
        kernels.warm_up()


def _load(path: Path) -> LoadedScenario:
    """Load a scenario, printing the library's warnings about it as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SimulatorWarning)
        loaded = load_scenario(path)
    for w in caught:
        if issubclass(w.category, SimulatorWarning):
            err.print(f"Warning: {one_line(f'{path}: {w.message}')}", markup=False)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return loaded


def _load_all(files: list[Path]) -> list[LoadedScenario]:
    return [_load(f) for f in files]


def _summary_table(result: RunResult) -> Table:
    series = result.summary.series["brent"]
    table = Table(
        title=f"Brent (USD/bbl) — {result.scenario.name}",
        title_justify="left",
        caption="P(ever>X): above X on at least one daily close up to the horizon",
        caption_justify="left",
    )
    for col in ("horizon", "p05", "p50", "p95", "mean ± se"):
        table.add_column(col, justify="right")
    above = [t for t in series.spec.thresholds_above if t >= 100][:1]
    if above:
        table.add_column(f"P(>{above[0]:g})", justify="right")
        table.add_column(f"P(ever>{above[0]:g})", justify="right")
    for h, stats in _by_horizon(series.rows()).items():
        mean, se = stats["mean"]
        cells = [
            f"{h} d",
            f"{stats['p05'][0]:.2f}",
            f"{stats['p50'][0]:.2f}",
            f"{stats['p95'][0]:.2f}",
            format_stat(mean, se, 2),
        ]
        if above:
            for stat in (f"prob_above_{above[0]:g}", f"prob_ever_above_{above[0]:g}"):
                p, pse = stats[stat]
                cells.append(format_stat(100 * p, 100 * pse, 1) + "%")
        table.add_row(*cells)
    return table


def _by_horizon(
    rows: Iterable[tuple[str, int, str, float, float]],
) -> dict[int, dict[str, tuple[float, float]]]:
    """Tidy rows as horizon -> statistic -> (value, std_error)."""
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for _, h, stat, value, se in rows:
        out.setdefault(h, {})[stat] = (value, se)
    return out


def _portfolio_table(result: RunResult) -> Table | None:
    """The book's P&L, VaR and ES per horizon (USD), if the run had a portfolio."""
    book = result.summary.portfolio
    if book is None or result.portfolio is None:
        return None
    table = Table(
        title=f"Portfolio '{result.portfolio.portfolio.name}' P&L (USD; VaR and ES are losses)",
        title_justify="left",
        caption="Standard errors of VaR and ES: portfolio.md",
        caption_justify="left",
    )
    stats = ("mean", "var_95", "es_95", "var_99", "es_99")
    for col in ("horizon", "mean ± se", "VaR 95%", "ES 95%", "VaR 99%", "ES 99%"):
        table.add_column(col, justify="right")
    rows = _by_horizon(row for row in book.rows() if row[0] == "portfolio")
    for h, values in rows.items():
        mean, se = values["mean"]
        table.add_row(
            f"{h} d",
            format_stat(mean, se, 0, grouping=True),
            *(f"{values[s][0]:,.0f}" for s in stats[1:]),
        )
    return table


# Options shared by `run` and `compare`.
PathsOpt = Annotated[int, typer.Option("--paths", "-n", help="Monte Carlo paths.")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Root random seed.")]
HorizonOpt = Annotated[
    int | None,
    typer.Option("--horizon", help="Trading days to simulate (default: the scenario's)."),
]
# A string, not a Path: typer would read an empty --out as the current directory.
OutOpt = Annotated[str, typer.Option("--out", "-o", help="Parent output directory.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace an existing result of the same name.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the paths.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-w", help="Local worker processes (default: all cores)."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler address (tcp://HOST:PORT) to run on."),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option("--cluster", help="'local': start a Dask LocalCluster with --workers."),
]
DEFAULT_SEED = 20260206


@app.command("run")
def run_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.", show_default=False)],
    paths: PathsOpt = DEFAULT_PATHS,
    seed: SeedOpt = DEFAULT_SEED,
    horizon: HorizonOpt = None,
    out_dir: OutOpt = "outputs",
    force: ForceOpt = False,
    quiet: QuietOpt = False,
    portfolio: Annotated[
        Path | None,
        typer.Option("--portfolio", "-p", help="Portfolio YAML: P&L, VaR and ES of a book."),
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    ignore_memory_check: Annotated[
        bool,
        typer.Option("--ignore-memory-check", help="Run even if the estimate exceeds free memory."),
    ] = False,
) -> None:
    """Run scenarios and write tables, charts and a manifest, one directory per scenario.

    Example: sim run scenarios/talks_fail.yaml --portfolio portfolios/sample.yaml
    """
    unwritten: int | None = None  # scenarios still to write, once running

    def interrupted() -> str:
        if unwritten is None:
            return NOTHING_WRITTEN
        if unwritten == 0:  # after the last write (printing its summary, say)
            return "Interrupted: every result was written."
        return "Interrupted: nothing was written for the unfinished scenario."

    def written() -> None:
        nonlocal unwritten
        assert unwritten is not None
        unwritten -= 1

    with handle_errors(interrupted):
        loaded, book, config = _prepare(
            files,
            portfolio,
            _config(paths, seed, horizon, workers, scheduler, cluster),
            check_memory=not ignore_memory_check,
        )
        out_path = out_directory(out_dir)
        check_out(out_path)
        if force:
            names = [item.scenario.name for item in loaded]
            twice = [name for name in dict.fromkeys(names) if names.count(name) > 1]
            if twice:
                raise InputError(
                    f"--force: two scenarios are named '{twice[0]}'; the second result would "
                    "replace the first"
                )
            for item in loaded:
                check_replaceable(out_path / item.scenario.name)
        _notes(loaded, config, quiet)
        _warm_kernels(config, quiet)
        unwritten = len(loaded)
        for item in loaded:
            bar = _Progress(f"{item.scenario.name}", quiet)
            try:
                result = run(item, config, progress=bar, portfolio=book)
            finally:
                bar.close()
            target = write_run(
                result, out_path, force=force, command=_command_line(), on_written=written
            )
            _paths_note(result, target, quiet)
            if not quiet:
                out.print(_summary_table(result))
                book_table = _portfolio_table(result)
                if book_table is not None:
                    out.print(book_table)
                out.print(
                    f"{result.summary.n_paths:,} paths x {result.n_steps} days in "
                    f"{result.wall_seconds:.2f} s (seed {config.seed})"
                )
            out.print(str(target.resolve()), markup=False)


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    items: Annotated[
        list[Path],
        typer.Argument(help="Scenario YAML files, or run directories.", show_default=False),
    ],
    reference: Annotated[
        str | None, typer.Option("--reference", "-r", help="Scenario to difference against.")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="Blend weights, e.g. deal_reached=0.3,talks_fail=0.7."),
    ] = None,
    portfolio: Annotated[
        Path | None, typer.Option("--portfolio", "-p", help="Portfolio YAML (scenario files).")
    ] = None,
    paths: PathsOpt = DEFAULT_PATHS,
    seed: SeedOpt = DEFAULT_SEED,
    horizon: HorizonOpt = None,
    out_dir: OutOpt = "outputs",
    force: ForceOpt = False,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Compare scenarios (run with common random numbers) or existing run directories.

    Example: sim compare scenarios/deal_reached.yaml scenarios/talks_fail.yaml
    scenarios/sanctions_lifted.yaml --reference deal_reached
    --weights deal_reached=0.3,talks_fail=0.4,sanctions_lifted=0.3
    """
    from simulator.compare import (
        check_comparable,
        check_distinct,
        check_reference,
        compare,
        parse_weights,
        unpaired_reason,
    )
    from simulator.output import manifest, write_comparison
    from simulator.report.compare_report import portfolio_terminal_table, terminal_table
    from simulator.samples import Sample

    done = False  # the comparison is in place

    def interrupted() -> str:
        return "Interrupted: the comparison was written." if done else NOTHING_WRITTEN

    def written() -> None:
        nonlocal done
        done = True

    with handle_errors(interrupted):
        if len(items) < 2:
            raise InputError("compare needs at least two scenario files or run directories")
        dirs = [p.is_dir() for p in items]
        if any(dirs) and not all(dirs):
            folder = items[dirs.index(True)]
            file = items[dirs.index(False)]
            raise InputError(
                f"give either scenario files or run directories, not both: {folder} is a "
                f"directory, {file} is not"
            )
        t0 = time.perf_counter()
        samples: list[Sample] = []
        if all(dirs):
            if portfolio is not None:
                raise InputError("--portfolio applies to scenario files; runs keep their own")
            given = [
                f"--{name}"
                for name in ("paths", "seed", "horizon", "workers", "scheduler", "cluster")
                # By name: typer may bring its own copy of click's ParameterSource.
                if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
            ]
            if given:
                raise InputError(
                    f"{', '.join(given)}: run directories are not re-run (they keep their own "
                    "paths, seed and horizon); these options apply to scenario files"
                )
            samples = [Sample.from_directory(p) for p in items]
            for path, sample in zip(items, samples, strict=True):
                missing = sample.lacks_running()
                if missing and not quiet:
                    err.print(
                        f"Note: {path}: no running extremes of {', '.join(missing)} (written "
                        "by an earlier version); first-passage probabilities are left out",
                        markup=False,
                    )
            names = [s.name for s in samples]
            if len(set(names)) < len(names):
                # Runs of one scenario (other seeds, say): tell them apart by their paths.
                names = _distinct_labels(items)
                for sample, label in zip(samples, names, strict=True):
                    sample.name = label
        else:
            loaded, book, config = _prepare(
                items,
                portfolio,
                _config(paths, seed, horizon, workers, scheduler, cluster),
                check_memory=True,
            )
            names = [item.scenario.name for item in loaded]
            check_distinct(names, [str(p) for p in items])
            _check_comparable_paths(items, loaded, config, book is not None)
        # Options and --out are checked before anything runs.
        check_reference(reference, names)
        blend, note = parse_weights(weights, names) if weights else (None, None)
        out_path = out_directory(out_dir)
        check_out(out_path)
        if force:
            check_replaceable(out_path / comparison_name(names))
        if not all(dirs):
            _notes(loaded, config, quiet)
            _warm_kernels(config, quiet)
            for item in loaded:
                bar = _Progress(item.scenario.name, quiet)
                try:
                    result = run(item, config, progress=bar, portfolio=book)
                finally:
                    bar.close()
                samples.append(Sample.from_result(result, manifest(result, Path("."), [])))
        check_comparable(samples, [str(p) for p in items])
        unpaired = unpaired_reason(samples)
        if unpaired and not quiet:
            err.print(
                f"Note: the runs are not paired ({unpaired}): differences get the errors of "
                "independent runs; rerun with one seed, path count and block size to pair them",
                markup=False,
            )
        if note and not quiet:
            err.print(f"Note: {note}", markup=False)
        comparison = compare(samples, reference, blend, note)
        target = write_comparison(
            comparison,
            out_path,
            force=force,
            meta={
                "wall_seconds": round(time.perf_counter() - t0, 3),
                "inputs": [str(p) for p in items],
                "command": _command_line(),
            },
            on_written=written,
        )
        if not quiet:
            table = Table(
                title=f"Brent at {samples[0].horizons[-1]} trading days (USD/bbl)",
                title_justify="left",
            )
            rows = terminal_table(comparison)
            # Names whole; the numbers wrap at ± on a narrow terminal.
            widest = max(len(row[0]) for row in rows)
            table.add_column("scenario", justify="right", no_wrap=True, min_width=widest)
            for col in ("median ± se", f"vs {comparison.reference}", "P(>100)", "P(ever>100)"):
                table.add_column(col, justify="right")
            for row in rows:
                table.add_row(*row)
            out.print(table)
            pnl = portfolio_terminal_table(comparison)
            if pnl is not None:
                table = Table(
                    title=f"Portfolio P&L at {samples[0].horizons[-1]} trading days (USD; VaR "
                    "and ES are losses)",
                    caption="Standard errors of VaR and ES: comparison.md",
                    caption_justify="left",
                    title_justify="left",
                )
                table.add_column("scenario", justify="right", no_wrap=True, min_width=widest)
                for col in ("mean ± se", "VaR 99%", "ES 99%", f"VaR vs {comparison.reference}"):
                    table.add_column(col, justify="right")
                for row in pnl:
                    table.add_row(*row)
                out.print(table)
        out.print(str(target.resolve()), markup=False)


def _distinct_labels(paths: list[Path]) -> list[str]:
    """The shortest trailing parts of ``paths`` that tell them apart (``out1/baseline``)."""
    parts = [p.resolve().parts for p in paths]
    for i, x in enumerate(parts):
        if x in parts[:i]:
            raise InputError(f"cannot compare {paths[i]} with itself (given twice)")
    for k in range(1, max(len(x) for x in parts) + 1):
        labels = ["/".join(x[-k:]) for x in parts]
        if len(set(labels)) == len(labels):
            return labels
    raise AssertionError("distinct paths have distinct ends")


#: Problems ``sim validate`` lists per file; the rest are counted.
MAX_LISTED = 50


@app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="Scenario or portfolio YAML files.", show_default=False)
    ],
) -> None:
    """Check scenario and portfolio files without running them; exit 2 if any is invalid.

    A file with top-level positions and no oil section is read as a portfolio; portfolios
    given with scenarios are also checked against each of them (as `sim run --portfolio`).

    Example: sim validate scenarios/*.yaml portfolios/sample.yaml
    """
    checked: list[tuple[Path, str | list[str], LoadedScenario | LoadedPortfolio | None]] = []
    for f in files:
        try:
            summary, item = _validate_one(f)
        except ScenarioError as exc:
            # Every problem found, each on its own line (sim run shows the first), up to
            # MAX_LISTED: a file with thousands is better fixed from the first ones.
            listed = [str(p) for p in exc.problems()[:MAX_LISTED]]
            if len(exc.also) >= MAX_LISTED:
                n = len(exc.also) + 1 - MAX_LISTED
                listed.append(f"{exc.file}: {n:,} more problem{'s' if n > 1 else ''} not listed")
            checked.append((f, listed, None))
            continue
        checked.append((f, summary, item))
    scenarios = [item for _, _, item in checked if isinstance(item, LoadedScenario)]
    bad = 0
    for f, text, loaded_file in checked:
        problems = list(text) if isinstance(text, list) else []
        if isinstance(loaded_file, LoadedPortfolio):
            # Given with scenarios, a portfolio is checked against each (as `sim run -p`).
            for loaded in scenarios:
                try:
                    loaded_file.check_assets(loaded.scenario)
                except ScenarioError as exc:
                    problems.append(str(exc))
        for problem in dict.fromkeys(problems):  # the same problem for several scenarios
            err.print(f"Error: {one_line(problem)}", markup=False)
        if problems:
            bad += 1
        else:
            out.print(f"ok: {one_line(str(f))} ({text})", markup=False)
    if bad:
        raise typer.Exit(2)


def _validate_one(path: Path) -> tuple[str, LoadedScenario | LoadedPortfolio]:
    """Validate a scenario or portfolio file: a one-line summary of it, and the file loaded."""
    try:
        item = _load(path)
    except PortfolioFileError:
        book = load_portfolio(path)
        p = book.portfolio
        return f"portfolio {p.name}, {_count(len(p.positions), 'position')}", book
    s = item.scenario
    counts = [_count(len(s.events), "event"), _count(len(s.offsets), "offset")]
    if s.assets:
        counts.append(_count(len(s.assets), "asset"))
    return ", ".join([s.name, *counts]), item


def _count(n: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _first_sentence(text: str, limit: int = 120) -> str:
    """The first sentence of ``text`` (at most ``limit`` characters, else cut with ...)."""
    text = " ".join(text.split())
    end = text.find(". ")
    first = text if end < 0 else text[: end + 1]
    return first if len(first) <= limit else first[: limit - 3].rstrip() + "..."


@app.command("list")
def list_cmd(
    directory: Annotated[Path, typer.Argument(help="Directory of scenario files.")] = Path(
        "scenarios"
    ),
) -> None:
    """List the scenarios in a directory: name, as-of date, the description's first sentence.

    Example: sim list scenarios
    """
    if not directory.is_dir():
        err.print(f"Error: {one_line(str(directory))}: not a directory", markup=False)
        raise typer.Exit(2)
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"})
    if not files:
        out.print(f"No scenario files (*.yaml, *.yml) in {one_line(str(directory))}", markup=False)
        return
    rows: list[tuple[str, str, str, str]] = []
    bad: list[str] = []
    skipped = 0
    for f in files:
        try:
            s = _load(f).scenario
        except PortfolioFileError:
            skipped += 1  # portfolios may sit beside the scenarios
            continue
        except ScenarioError as exc:
            bad.append(exc.format(VALIDATE_HINT))
            continue
        rows.append((f.name, s.name, str(s.as_of), _first_sentence(s.description)))
    if rows or bad:
        table = Table(title=f"Scenarios in {directory}", title_justify="left")
        # The name column only when some name is not its file's stem.
        named = any(Path(row[0]).stem != row[1] for row in rows)
        for col in (
            ("file", "name", "as of", "description") if named else ("file", "as of", "description")
        ):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for i, cell in enumerate(row) if named or i != 1))
        out.print(table)
    else:
        out.print(
            f"No scenario files in {one_line(str(directory))} ({skipped} portfolio "
            f"file{'s' if skipped != 1 else ''})",
            markup=False,
        )
    for message in bad:
        err.print(f"Error: {one_line(message)}", markup=False)
    if bad:
        raise typer.Exit(2)


def _register_extra_commands() -> None:
    from simulator.calibrate.command import register

    register(app)


_register_extra_commands()


def _terminate(signum: int, frame: object) -> None:
    received(signum)
    raise KeyboardInterrupt


def main() -> None:
    """The command line, as the ``sim`` console script runs it (through
    :func:`simulator.console.main`, which imports this module).

    SIGTERM is treated like Ctrl-C: the run stops, its temporary directory is removed and
    any earlier result is left as it was. After an interruption the process ends at once,
    once its clean-up is done and its output flushed, without the interpreter's
    finalisation: an interruption can leave compiled code or imports half-way, and
    finalising then has ended with a signal exit status or a crash instead of the code
    reported.
    """
    signal.signal(signal.SIGTERM, _terminate)
    cli_errors.owns_process[0] = True
    try:
        app(prog_name="sim")
    except KeyboardInterrupt:  # before a command's own handler is in place
        _end_interrupted(NOTHING_WRITTEN)
    except SystemExit as exc:
        context = exc.__context__
        if isinstance(context, typer.Exit) and isinstance(context.__cause__, KeyboardInterrupt):
            # Typer turns an interruption outside a command's own handler (parsing the
            # command line, imports before the handler) into a silent exit 130.
            _end_interrupted(NOTHING_WRITTEN)
        if cli_errors.was_interrupted():
            _end_interrupted(None, exc.code if isinstance(exc.code, int) else 1)
        raise


def _end_interrupted(message: str | None, code: int | None = None) -> NoReturn:
    """Say ``message`` (if any), flush, and end the process with ``code`` (default: 128 +
    the signal's number): :func:`~simulator.interrupts.end_now`."""
    end_now(message, interrupted_by() if code is None else code)


if __name__ == "__main__":  # pragma: no cover
    main()
