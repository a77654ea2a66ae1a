"""Per-path values at the reporting horizons: what ``compare`` needs from a run.

A run directory keeps, besides its tables, ``paths.npz`` (each series' level, and the
portfolio's P&L, at every reporting horizon, for every path, in path order; for Brent also
its highest and lowest daily close up to each horizon, ``brent.running_max`` and
``brent.running_min``, for first-passage probabilities) and
``fan.csv`` (the fan-chart quantiles by date). With them, ``sim compare`` can pair the
paths of runs that shared a seed (common random numbers) and blend scenarios exactly,
without re-running anything.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulator.engine import RunResult, series_specs
from simulator.errors import InputError
from simulator.reduce import SeriesSpec

__all__ = ["FAN_LEVELS", "Sample", "fan_csv", "write_paths"]

FAN_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Sample:
    """One scenario's per-path horizon values and what is needed to compare it.

    Attributes
    ----------
    name
        Scenario name.
    meta
        The run's manifest (as-of date, seed, paths, block size, horizons, ...).
    horizons
        Reporting horizons, trading days.
    specs
        Series name -> how it is summarised (unit, start, kind, thresholds).
    values
        Series name -> levels (or P&L for ``portfolio``), ``(n_paths, n_horizons)``.
    fan
        Series name -> (dates ``(f,)`` as ISO strings, quantiles ``(f, 5)`` at
        :data:`FAN_LEVELS`).
    events
        The run's ``events.csv`` rows as dicts.
    running
        Series name -> highest and lowest level on the daily closes up to each horizon,
        ``(n_paths, 2, n_horizons)`` (maximum first), for the series with first-passage
        probabilities (Brent); empty for runs written before they were kept.
    """

    name: str
    meta: dict[str, Any]
    horizons: list[int]
    specs: dict[str, SeriesSpec]
    values: dict[str, np.ndarray]
    fan: dict[str, tuple[list[str], np.ndarray]] = field(default_factory=dict)
    events: list[dict[str, str]] = field(default_factory=list)
    running: dict[str, np.ndarray] = field(default_factory=dict)

    def lacks_running(self) -> list[str]:
        """First-passage series without running extremes (a run written before they were
        kept): their ``prob_ever`` rows cannot be compared."""
        return [
            name
            for name, spec in self.specs.items()
            if spec.first_passage and name not in self.running
        ]

    @property
    def n(self) -> int:
        return next(iter(self.values.values())).shape[0]

    @classmethod
    def from_result(cls, result: RunResult, meta: dict[str, Any]) -> Sample:
        """From a finished run (``meta`` is its manifest)."""
        from simulator.report import tables

        values: dict[str, np.ndarray] = {}
        for name, series in result.summary.series.items():
            if series.exact is None:
                raise InputError(
                    f"{result.scenario.name}: too many paths to keep per-path values for a "
                    "comparison; use fewer --paths"
                )
            values[name] = series.exact
        running = {
            name: series.running
            for name, series in result.summary.series.items()
            if series.running is not None
        }
        book = result.summary.portfolio
        if book is not None:
            if book.exact is None:
                raise InputError("too many paths to keep per-path portfolio P&L; use fewer")
            values["portfolio"] = book.exact
        specs = {s.name: s for s in series_specs(result.scenario)}
        fan = {}
        dates = result.dates()
        for name, series in result.summary.series.items():
            q = series.fan_quantiles(np.array(FAN_LEVELS))
            fan[name] = ([str(d) for d in dates[series.fan_days]], q)
        events = [
            dict(zip(tables.EVENT_COLUMNS, [str(v) for v in row], strict=True))
            for row in tables.event_rows(result)
        ]
        return cls(
            result.scenario.name, meta, list(result.horizons), specs, values, fan, events, running
        )

    @classmethod
    def from_directory(cls, directory: Path) -> Sample:
        """From a run directory written by ``sim run``.

        Raises
        ------
        InputError
            The directory is not a complete run (no manifest or no ``paths.npz``).
        """
        manifest = directory / "manifest.json"
        if not directory.is_dir():
            raise InputError(f"{directory}: not a directory")
        if not manifest.is_file():
            raise InputError(f"{directory}: not a run directory (no manifest.json)")
        try:
            return cls._read_directory(directory, manifest)
        except InputError:
            raise
        except FileNotFoundError:
            raise InputError(
                f"{directory}: no paths.npz (run with fewer paths to keep per-path values)"
            ) from None
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            IndexError,
            OSError,
            zipfile.BadZipFile,
            csv.Error,
            json.JSONDecodeError,
        ) as exc:
            raise InputError(
                f"{directory}: not a usable run directory ({type(exc).__name__}: {exc})"
            ) from None

    @classmethod
    def _read_directory(cls, directory: Path, manifest: Path) -> Sample:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("manifest.json is not a JSON object")
        horizons = [int(h) for h in meta["horizons_days"]]
        with np.load(directory / "paths.npz", allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k], dtype=np.float64) for k in data.files}
        values = {k: v for k, v in arrays.items() if "." not in k}
        running = {}
        for name in values:
            high, low = (arrays.get(f"{name}.running_{end}") for end in ("max", "min"))
            if (high is None) != (low is None):
                raise ValueError(f"paths.npz: '{name}.running_max/min' come in pairs")
            if high is not None and low is not None:
                running[name] = np.stack([high, low], axis=1)
        sizes = set()
        for name, arr in values.items():
            if arr.ndim != 2 or arr.shape[1] != len(horizons):
                raise ValueError(
                    f"paths.npz: '{name}' has shape {arr.shape}, expected (paths, {len(horizons)})"
                )
            sizes.add(arr.shape[0])
        if len(sizes) > 1 or not values:
            raise ValueError("paths.npz: the series do not have the same number of paths")
        for name, arr in running.items():
            if arr.shape != (*values[name].shape[:1], 2, len(horizons)):
                raise ValueError(f"paths.npz: '{name}.running_max/min' do not match '{name}'")
        specs = {
            s["name"]: SeriesSpec(
                name=s["name"],
                unit=s["unit"],
                start=float(s["start"]),
                kind=s["kind"],
                thresholds_above=tuple(s["thresholds_above"]),
                thresholds_below=tuple(s["thresholds_below"]),
                above_names=tuple(s["above_names"]),
                below_names=tuple(s["below_names"]),
                first_passage=bool(s.get("first_passage", False)),
            )
            for s in meta.get("series", [])
        }
        missing = [k for k in values if k != "portfolio" and k not in specs]
        if missing:
            raise ValueError(f"manifest.json describes no series {', '.join(missing)}")
        fan: dict[str, tuple[list[str], list[list[float]]]] = {}
        fan_file = directory / "fan.csv"
        if fan_file.is_file():
            with fan_file.open(encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    dates, qs = fan.setdefault(row["asset"], ([], []))
                    dates.append(row["date"])
                    qs.append([float(row[f"p{round(q * 100):02d}"]) for q in FAN_LEVELS])
        events: list[dict[str, str]] = []
        ev_file = directory / "events.csv"
        if ev_file.is_file():
            with ev_file.open(encoding="utf-8") as fh:
                events = list(csv.DictReader(fh))
        return cls(
            name=str(meta["scenario"]),
            meta=meta,
            horizons=horizons,
            specs=specs,
            values=values,
            fan={k: (d, np.array(q)) for k, (d, q) in fan.items()},
            events=events,
            running=running,
        )


def series_meta(result: RunResult) -> list[dict[str, Any]]:
    """The series' specs as recorded in the manifest (for comparisons)."""
    return [
        {
            "name": s.name,
            "unit": s.unit,
            "start": s.start,
            "kind": s.kind,
            "thresholds_above": list(s.thresholds_above),
            "thresholds_below": list(s.thresholds_below),
            "above_names": list(s.statistic_names()[0]),
            "below_names": list(s.statistic_names()[1]),
            "first_passage": s.first_passage,
        }
        for s in series_specs(result.scenario)
    ]


def write_paths(result: RunResult, path: Path) -> bool:
    """Write ``paths.npz``; returns False (writing nothing) when values were not kept."""
    arrays: dict[str, np.ndarray] = {}
    for name, series in result.summary.series.items():
        if series.exact is None:
            return False
        arrays[name] = series.exact
        if series.running is not None:
            arrays[f"{name}.running_max"] = series.running[:, 0]
            arrays[f"{name}.running_min"] = series.running[:, 1]
    book = result.summary.portfolio
    if book is not None:
        if book.exact is None:
            return False
        arrays["portfolio"] = book.exact
    with path.open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    return True


def fan_csv(result: RunResult) -> str:
    """``fan.csv``: quantiles of every series on each fan-chart date, tidy."""
    from simulator.report.tables import format_number

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["scenario", "asset", "day", "date", *(f"p{round(q * 100):02d}" for q in FAN_LEVELS)]
    )
    dates = result.dates()
    for name, series in result.summary.series.items():
        q = series.fan_quantiles(np.array(FAN_LEVELS))
        for k, day in enumerate(series.fan_days):
            w.writerow(
                [
                    result.scenario.name,
                    name,
                    int(day),
                    str(dates[day]),
                    *(format_number(float(v)) for v in q[k]),
                ]
            )
    return buf.getvalue()
