"""sim: oil-market scenario simulator.

Turn geopolitical narratives (US–Iran talks and their outcomes) into Monte Carlo
distributions of Brent and, through them, of risk assets.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from simulator.engine import RunConfig, RunResult, run
    from simulator.errors import (
        InputError,
        RuntimeFailure,
        ScenarioError,
        SimulatorError,
        SimulatorWarning,
    )
    from simulator.output import write_run
    from simulator.scenario import LoadedScenario, Scenario, load_scenario

    __version__: str

#: Where each public name lives. They are imported on first use (numpy, pydantic and the
#: scenario models take a moment), so that the ``sim`` script can start up and take charge
#: of Ctrl-C before those imports (:mod:`simulator.console`). Submodules
#: (``simulator.engine``) are imported on first use too.
_HOME = {
    "RunConfig": "simulator.engine",
    "RunResult": "simulator.engine",
    "run": "simulator.engine",
    "InputError": "simulator.errors",
    "RuntimeFailure": "simulator.errors",
    "ScenarioError": "simulator.errors",
    "SimulatorError": "simulator.errors",
    "SimulatorWarning": "simulator.errors",
    "write_run": "simulator.output",
    "LoadedScenario": "simulator.scenario",
    "Scenario": "simulator.scenario",
    "load_scenario": "simulator.scenario",
}

__all__ = [
    "InputError",
    "LoadedScenario",
    "RunConfig",
    "RunResult",
    "RuntimeFailure",
    "Scenario",
    "ScenarioError",
    "SimulatorError",
    "SimulatorWarning",
    "__version__",
    "load_scenario",
    "run",
    "write_run",
]

if not TYPE_CHECKING:  # type checkers see the imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        if name == "__version__":  # the installed metadata, read on first use too
            from importlib.metadata import PackageNotFoundError, version

            try:
                value = version("oil-scenario-sim")
            except PackageNotFoundError:  # pragma: no cover - running from a source tree
                value = "0.0.0+unknown"
        elif name in _HOME:
            value = getattr(importlib.import_module(_HOME[name]), name)
        elif not name.startswith("_") and _is_submodule(name):
            return importlib.import_module(f"simulator.{name}")  # sets the attribute itself
        else:
            raise AttributeError(f"module 'simulator' has no attribute {name!r}")
        globals()[name] = value  # found directly from now on
        return value


def _is_submodule(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"simulator.{name}") is not None


def __dir__() -> list[str]:
    return sorted(__all__)
