"""``sim calibrate``: fit a scenario's ``oil:`` section to daily price history.

The heavy modules (scipy.optimize, the filters) load on first use, so that importing the
command line stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Calibration", "Options", "PriceSeries", "calibrate", "read_prices"]

_WHERE = {
    "Calibration": "simulator.calibrate.core",
    "Options": "simulator.calibrate.core",
    "calibrate": "simulator.calibrate.core",
    "PriceSeries": "simulator.calibrate.data",
    "read_prices": "simulator.calibrate.data",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'simulator.calibrate' has no attribute {name!r}")
