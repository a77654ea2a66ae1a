"""The ``sim calibrate`` command: parse options, call :func:`calibrate`, write, exit.

Wire it into the main app with ``register(app)``. The YAML fragment (or, with ``--json``,
the JSON) goes to stdout or ``--out``; the model-comparison and stylised-facts tables go to
stderr so that stdout stays a clean fragment.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Annotated

import typer

from simulator.cli_errors import handle_errors
from simulator.errors import InputError

__all__ = ["calibrate_cmd", "register"]


def _command_line(files: list[Path], **options: object) -> str:
    """The command that reproduces this run, for the fragment's header."""
    words = ["sim", "calibrate", *(str(f) for f in files)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            for v in value:
                words += [flag, str(v)]
        else:
            words += [flag, str(value)]
    return " ".join(shlex.quote(w) for w in words)


def _identity(path: Path) -> object:
    """What makes two names one file: device and inode (so hard and symbolic links to one
    file match), or the resolved path of a file that cannot be read (reported later)."""
    try:
        st = path.stat()
    except OSError:
        return path.resolve()
    return (st.st_dev, st.st_ino)


def _columns(values: list[str]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """``--column`` values as the first file's column and ``(file, column)`` pairs.

    ``FILE=NAME`` names a file (checked by :func:`~simulator.calibrate.core.calibrate`,
    which matches it to the files); any other value is the first file's column, which may be
    given once.
    """
    first: str | None = None
    pairs: list[tuple[str, str]] = []
    for value in values:
        key, sep, name = value.rpartition("=")
        if sep:
            if not name:
                raise InputError(f"--column {value}: give a column name after '='")
            pairs.append((key, name))
        elif first is not None:
            raise InputError(
                f"--column {value}: the first file's column is already '{first}'; "
                "name other files' columns as FILE=NAME"
            )
        else:
            first = value
    return first, tuple(pairs)


def calibrate_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files: oil prices first, then other prices or yields.", show_default=False
        ),
    ],
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="Value column: NAME for the first file, FILE=NAME for any file (repeatable; "
            "FILE as given or its base name). Default: the only one, or close/price/value.",
        ),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="First date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last date (YYYY-MM-DD).")] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="Leave out START:END (repeatable), e.g. 2020-01-01:2020-12-31.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the fragment (or JSON) here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="All numbers with standard errors as JSON.")
    ] = False,
    # A string, not a Path: typer would read an empty --charts as the current directory.
    charts: Annotated[
        str | None, typer.Option("--charts", help="Write diagnostic charts and tables here.")
    ] = None,
    weekly: Annotated[
        bool, typer.Option("--weekly", help="Cross-asset statistics on weekly returns.")
    ] = False,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            help="Declare a series' kind, SERIES=price|yield (repeatable); SERIES is a file or "
            "its column. A price moves in log returns, a yield (in percent) in bp changes. "
            "Default: yield for rate columns such as DGS10, else price.",
        ),
    ] = None,
    factor_correlation: Annotated[
        float,
        typer.Option("--factor-correlation", help="Factor correlation, held fixed (unidentified)."),
    ] = 0.0,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="How to fix the half-life and split the variance between the factors: "
            "variance-ratio (VR at 5-252 days) or kalman (two-factor Kalman ML).",
        ),
    ] = "variance-ratio",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the model check run.")] = 20260206,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on stderr.")] = False,
) -> None:
    """Fit the oil: section of a scenario to daily prices; print it as YAML.

    Files after the first (oil) get vols, drifts and correlations with oil for the assets:
    and correlations: sections: prices in log returns, yields (e.g. FRED DGS10, percent)
    in bp/year.

    Example: sim calibrate data/brent-daily.csv --since 2015-01-01
    --exclude 2020-01-01:2020-12-31 --charts calib/
    """
    err = typer.get_text_stream("stderr")
    with handle_errors("Interrupted."):
        t0 = time.perf_counter()
        from simulator.calibrate.core import Options, calibrate
        from simulator.calibrate.data import parse_kind, parse_window
        from simulator.output import check_out, out_directory, write_text_atomic

        seen: dict[object, Path] = {}
        for f in files:
            key = _identity(f)
            if key in seen:
                raise InputError(
                    f"{f}: given twice (also as {seen[key]}); each file is one series"
                    if f != seen[key]
                    else f"{f}: given twice; each file is one series"
                )
            seen[key] = f
        # Where the results go is checked before the fit, which takes seconds.
        if out is not None:
            if out.is_dir():
                raise InputError(f"--out {out} is a directory; give a file name")
            check_out(out.parent, label=f"--out {out}")
        charts_dir = None if charts is None else out_directory(charts, "--charts")
        if charts_dir is not None:
            check_out(charts_dir, label=f"--charts {charts_dir}")
        first_column, columns = _columns(column or [])
        windows = tuple(parse_window(w) for w in exclude or [])
        kinds = tuple(parse_kind(k) for k in kind or [])
        options = Options(
            files=tuple(str(f) for f in files),
            column=first_column,
            columns=columns,
            since=since,
            until=until,
            exclude=windows,
            weekly=weekly,
            kinds=kinds,
            factor_correlation=factor_correlation,
            split=split,
            seed=seed,
        )
        cal = calibrate(options)
        from simulator.calibrate.report import comparison_table, facts_table, to_json, to_yaml

        command = _command_line(
            files,
            column=column,
            since=since,
            until=until,
            exclude=exclude,
            weekly=weekly,
            kind=kind,
            factor_correlation=factor_correlation or None,
            split=None if split == "variance-ratio" else split,
            json=as_json,
        )
        text = (
            json.dumps(to_json(cal, command), indent=1, ensure_ascii=False) + "\n"
            if as_json
            else to_yaml(cal, command)
        )
        if charts_dir is not None:
            from simulator.calibrate.charts import write_charts

            write_charts(cal, charts_dir)
        if out is not None:
            write_text_atomic(out, text)
        else:
            typer.echo(text, nl=False)
        if not quiet:
            err.write("\n" + comparison_table(cal) + "\n" + facts_table(cal))
            err.write(f"calibrated in {time.perf_counter() - t0:.1f} s\n")


def register(app: typer.Typer) -> None:
    """Add the ``calibrate`` command to ``app``."""
    app.command("calibrate")(calibrate_cmd)
