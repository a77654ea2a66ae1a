"""sim: oil-market scenario simulator.

Turn geopolitical narratives (US–Iran talks and their outcomes) into Monte Carlo
distributions of Brent and, through them, of risk assets.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("oil-scenario-sim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

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
