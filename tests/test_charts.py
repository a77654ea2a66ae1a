"""Charts: the correlation figure lays out without overlaps or clipping for any asset count.

Each figure is drawn with the Agg renderer and its text artists are measured in display
coordinates: every text must lie inside the figure, and no tick label or title of one axes
may reach into another axes (a heatmap or the colour bar) or into its labels.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, asset, q
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from simulator.engine import RunConfig, RunResult, run
from simulator.report.charts import correlation_chart
from simulator.scenario import AssetSpec, Scenario, load_scenario

#: The most assets a scenario may have (the schema's limit on ``assets``).
MAX_ASSETS = next(
    int(m.max_length) for m in Scenario.model_fields["assets"].metadata if hasattr(m, "max_length")
)
#: An asset label as long as the schema allows.
LONG_LABEL = ("An asset label as long as the schema allows; " * 4)[
    : next(
        int(m.max_length)
        for m in AssetSpec.model_fields["label"].metadata
        if hasattr(m, "max_length")
    )
]
#: Display pixels two boxes may share without counting as an overlap (antialiasing).
TOLERANCE = 0.5


def _asset(i: int) -> dict[str, Any]:
    """Asset ``i``: prices and yields in turn, with labels of varied length."""
    label = (LONG_LABEL, "X", f"Emerging-market equities {i} (EEM-like)")[i % 3]
    if i % 2:
        return asset("yield", 80.0, 0.3, -5.0, multiplier=1.2, label=label)
    return asset("price", 0.2, -0.1, -1.0, drift=0.05, multiplier=1.5, label=label)


def _result(write_scenario: Callable[..., Path], n_assets: int) -> RunResult:
    names = [f"a{i:02d}" for i in range(n_assets)]
    path = write_scenario(
        {
            "assets": {name: _asset(i) for i, name in enumerate(names)},
            "correlations": {
                "rationale": "test correlations",
                "noise_df": q(6.0, "degrees of freedom"),
                "pairs": {f"brent/{n}": -0.15 if i % 2 else 0.15 for i, n in enumerate(names)},
            },
        }
    )
    return run(load_scenario(path), RunConfig(paths=200, seed=3))


def _texts(owner: Axes | Figure) -> list[Text]:
    """Visible, non-empty texts drawn by ``owner``: tick labels, titles, labels, annotations."""
    if isinstance(owner, Figure):
        found = list(owner.texts)
    else:
        found = [
            *owner.get_xticklabels(),
            *owner.get_yticklabels(),
            owner.title,
            owner.xaxis.label,
            owner.yaxis.label,
            *owner.texts,
        ]
    return [t for t in found if t.get_visible() and t.get_text().strip()]


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (
        min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE
        and min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE
    )


def _inside(inner: Bbox, outer: Bbox) -> bool:
    return (
        inner.x0 >= outer.x0 - TOLERANCE
        and inner.y0 >= outer.y0 - TOLERANCE
        and inner.x1 <= outer.x1 + TOLERANCE
        and inner.y1 <= outer.y1 + TOLERANCE
    )


def layout_problems(fig: Figure) -> list[str]:
    """What in ``fig``'s layout overlaps or is clipped, once drawn (empty if nothing)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    problems: list[str] = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = {id(ax): ax.get_window_extent(renderer) for ax in axes}
    owned = {id(ax): [(t, t.get_window_extent(renderer)) for t in _texts(ax)] for ax in axes}
    for t in _texts(fig):
        if not _inside(t.get_window_extent(renderer), fig.bbox):
            problems.append(f"figure text {t.get_text()!r} is clipped")
    for k, ax in enumerate(axes):
        for t, box in owned[id(ax)]:
            if not _inside(box, fig.bbox):
                problems.append(f"axes {k}: {t.get_text()!r} is clipped by the figure edge")
            if t in ax.texts and not _inside(box, boxes[id(ax)]):
                problems.append(f"axes {k}: cell text {t.get_text()!r} spills out of its axes")
            for m, other in enumerate(axes):
                if other is ax:
                    continue
                if _overlap(box, boxes[id(other)]):
                    problems.append(f"axes {k}: {t.get_text()!r} overlaps axes {m}")
                problems += [
                    f"axes {k}: {t.get_text()!r} overlaps {u.get_text()!r} of axes {m}"
                    for u, other_box in owned[id(other)]
                    if _overlap(box, other_box)
                ]
    return problems


@pytest.mark.parametrize("source", [1, 7, MAX_ASSETS, "talks_fail.yaml"])
def test_correlation_chart_layout(write_scenario: Callable[..., Path], source: int | str) -> None:
    """No overlaps or clipping for one asset, several, the most allowed, and a shipped set."""
    if isinstance(source, int):
        result = _result(write_scenario, source)
    else:
        result = run(load_scenario(SCENARIOS / source), RunConfig(paths=200, seed=3))
    k = len(result.scenario.assets) + 1
    fig = correlation_chart(result)
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 2
    for ax in heatmaps:
        assert ax.images[0].get_array().shape == (k, k)
    # Every series labels a row (once, on the left) and a column of both panels; labels
    # longer than 40 characters are cut with an ellipsis.
    left, right = heatmaps
    labels = [t.get_text() for t in left.get_yticklabels()]
    expected = [
        "Brent",
        *(
            a.label if len(a.label) <= 40 else a.label[:39] + "…"
            for a in result.scenario.assets.values()
        ),
    ]
    assert labels == expected
    assert right.get_yticklabels() == []
    assert [t.get_text() for t in left.get_xticklabels()] == labels
    assert [t.get_text() for t in right.get_xticklabels()] == labels
    assert layout_problems(fig) == []


def test_layout_check_finds_overlaps() -> None:
    """The check itself: clean on a plain figure; finds a label on the next axes and a clip."""
    fig = Figure(figsize=(6, 3), layout="constrained")
    fig.subplots(1, 2)
    fig.suptitle("two empty panels")
    assert layout_problems(fig) == []
    fig = Figure(figsize=(4, 2))
    first, second = fig.subplots(1, 2)
    for ax in (first, second):
        ax.set_xticks([])
        ax.set_yticks([])
    second.set_yticks([0.5], ["a row label too long to stay beside its axes"])
    first.set_xticks([0.0], ["a column label that runs off the edge"])
    problems = layout_problems(fig)
    assert any(p.startswith("axes 1: 'a row label") and "overlaps axes 0" in p for p in problems)
    assert "axes 0: 'a column label that runs off the edge' is clipped by the figure edge" in (
        problems
    )
