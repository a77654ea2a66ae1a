"""The comparison report: self-contained HTML and Markdown with the expected sections."""

from __future__ import annotations

import base64
import csv
import re
from pathlib import Path
from typing import Any

from simulator.cli import app
from simulator.report.html import png_size

ROOT = Path(__file__).resolve().parents[1]


def test_compare_writes_a_self_contained_report(runner: Any, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            str(ROOT / "scenarios" / "deal_reached.yaml"),
            str(ROOT / "scenarios" / "talks_fail.yaml"),
            "--paths",
            "1000",
            "--horizon",
            "21",
            "--workers",
            "1",
            "-q",
            "--weights",
            "deal_reached=0.5,talks_fail=0.5",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "compare-deal_reached-talks_fail"
    html = (out / "report.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == [
        "Headline numbers",
        "Charts",
        "Side by side",
        "Differences",
        "Assumptions",
        "Manifest",
    ]
    assert "<h1>Scenario comparison: deal_reached, talks_fail</h1>" in html
    assert not re.search(r"https?://|src=\"/|<script", html)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 3
    for data in images:
        width, height = png_size(base64.b64decode(data))
        assert width > 0
        assert height > 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![Brent fan charts by scenario](brent_fans.png)" in md
    assert "## Differences" in md
    # Yields (percent) are shown to 0.1 bp, with the value read back from comparison.csv.
    rows = list(csv.DictReader((out / "comparison.csv").open(encoding="utf-8")))
    mean = next(
        r
        for r in rows
        if (r["scenario"], r["asset"], r["horizon_days"], r["statistic"])
        == ("talks_fail", "us10y", "21", "mean")
    )
    se = float(mean["std_error"])
    cell = f"{float(mean['value']):,.3f} ± " + (f"{se:.3f}" if se >= 0.0005 else "<0.001")
    comparison = (out / "comparison.md").read_text(encoding="utf-8")
    assert "| mean | " in comparison
    assert cell in comparison, cell
