"""sim: oil-market scenario simulator.

Turn geopolitical narratives (US–Iran talks and their outcomes) into Monte Carlo
distributions of Brent and, through them, of risk assets.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str

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

#: Where each public name lives. They are imported on first use (numpy, pydantic and the
#: scenario models take a moment), so that the ``sim`` script can start up and catch a
#: Ctrl-C during those imports (:mod:`simulator.console`).
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


def __getattr__(name: str) -> Any:
    if name == "__version__":  # the installed metadata, read on first use too
        from importlib.metadata import PackageNotFoundError, version

        try:
            value: Any = version("oil-scenario-sim")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0.0.0+unknown"
    elif name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    else:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | {"__version__"})


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
