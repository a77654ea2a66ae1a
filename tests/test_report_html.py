"""The HTML and Markdown run reports: structure, self-containment, escaping, and a browser.

The unit tests run a tiny synthetic scenario (two events, an offset, a price and a yield
asset, a portfolio) at a few thousand paths and render its report. The browser test opens
the file in headless Chromium; it skips when Chromium is missing, except under ``CI=true``
where it fails (CI installs Chromium with ``.ci/install-chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import asset, event, q, scenario_doc

from simulator.engine import RunConfig, RunResult, run
from simulator.output import write_run
from simulator.portfolio import load_portfolio
from simulator.report.html import SECTIONS, _compare_cell, png_size, render_run
from simulator.report.tables import format_stat, summary_markdown
from simulator.scenario import load_scenario

EVIL = "<script>alert(1)</script>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _doc() -> dict[str, Any]:
    """A small scenario with something in every part of the model, and hostile text."""
    return scenario_doc(
        {
            "description": f"Synthetic report test {EVIL} & <b>bold</b>",
            "oil": {"spot": q(70.0, "USD/bbl", "spot <i>close</i> & co")},
            "report": {"brent_thresholds": [60.0, 100.0]},
            "events": {
                "talks_fail": event(
                    0.5,
                    3.0,
                    rationale="talks fail <img src=x onerror=alert(2)>",
                    risk_premium={
                        "size": q(5.0, "USD/bbl", "a premium"),
                        "half_life": q(5.0, "trading days", "fades"),
                    },
                ),
                "outage": event(
                    0.4,
                    2.0,
                    requires=["talks_fail"],
                    supply={
                        "change": {
                            "dist": "triangular",
                            "low": -2.0,
                            "mode": -1.0,
                            "high": -0.5,
                            "unit": "mb/d",
                            "rationale": "barrels lost | piped",
                        },
                        "profile": {"shape": "step", "duration": q(5, "trading days")},
                    },
                    risk_off={
                        "size": q(1.0, "risk-off units"),
                        "half_life": q(3.0, "trading days"),
                    },
                ),
            },
            "offsets": {
                "spare": {
                    "rationale": "spare capacity",
                    "capacity": q(2.0, "mb/d", "spare capacity size"),
                    "response_fraction": q(0.5, "fraction"),
                    "lag": q(3.0, "trading days"),
                }
            },
            "assets": {
                "eq": {
                    "label": "Equities <& co>",
                    "rationale": "an equity index",
                    "kind": "price",
                    "start": q(100.0, "index points"),
                    "drift": q(0.05, "per year"),
                    "vol": q(0.2, "annualised"),
                    "stressed_vol_multiplier": q(1.5, "multiplier"),
                    "beta_supply": q(-0.1, "beta"),
                    "risk_off": q(-1.0, "percent"),
                },
                "y10": asset("yield", 80.0, 0.3, -5.0, multiplier=1.2, label="10-year yield"),
            },
            "correlations": {
                "rationale": "test correlations",
                "noise_df": q(6.0, "degrees of freedom"),
                "pairs": {"brent/eq": 0.2, "eq/y10": 0.1},
            },
        }
    )


def _quantity_paths(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, rationale) of every quantity in a scenario document."""
    if isinstance(node, dict):
        if isinstance(node.get("unit"), str) and "rationale" in node:
            return [(path, node["rationale"])]
        out = []
        for key, value in node.items():
            out += _quantity_paths(value, f"{path}.{key}" if path else str(key))
        return out
    return []


class _Report:
    """A rendered run and where it was written."""

    def __init__(self, result: RunResult, directory: Path) -> None:
        self.result = result
        self.directory = directory
        self.manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        self.html, self.md = render_run(result, directory, self.manifest)


def _make_report(tmp: Path, doc: dict[str, Any], paths: int, portfolio: bool) -> _Report:
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    book = None
    if portfolio:
        book_path = tmp / "book.yaml"
        book_path.write_text(
            yaml.safe_dump(
                {
                    "name": "book",
                    "description": f"test book {EVIL}",
                    "positions": {
                        "eq": {"notional_usd": 1_000_000, "rationale": "equity <long>"},
                        "y10": {"dv01_usd": 500},
                        "brent": {"notional_usd": -200_000},
                    },
                }
            ),
            encoding="utf-8",
        )
        book = load_portfolio(book_path)
    result = run(load_scenario(path), RunConfig(paths=paths, seed=7), portfolio=book)
    return _Report(result, write_run(result, tmp / "out"))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> _Report:
    return _make_report(tmp_path_factory.mktemp("full"), _doc(), 2000, portfolio=True)


@pytest.fixture(scope="module")
def plain_report(tmp_path_factory: pytest.TempPathFactory) -> _Report:
    return _make_report(tmp_path_factory.mktemp("plain"), scenario_doc(), 500, portfolio=False)


def _h2(text: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", text)


class _Checker(HTMLParser):
    """Collects tags and attributes and checks that elements nest properly."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


# --------------------------------------------------------------------------- unit tests


def test_headings_in_order(report: _Report) -> None:
    assert _h2(report.html) == list(SECTIONS)
    assert re.findall(r"<h1>(.*?)</h1>", report.html) == ["Scenario report: mini"]
    assert "<title>Scenario report: mini</title>" in report.html


def test_optional_sections_left_out(plain_report: _Report) -> None:
    expected = [s for s in SECTIONS if s not in ("Risk assets", "Portfolio")]
    assert _h2(plain_report.html) == expected
    assert re.findall(r"^## (.*)$", plain_report.md, flags=re.M) == expected
    assert "This scenario has no events." in plain_report.html
    assert "assets_fan.png" not in plain_report.md


def test_valid_html5_structure(report: _Report) -> None:
    checker = _parse(report.html)
    assert checker.doctype.lower() == "doctype html"
    assert checker.errors == []
    assert checker.stack == []
    assert report.html.count('<meta charset="utf-8">') == 1
    assert report.html.index('<meta charset="utf-8">') < report.html.index("<title>")
    ids = [a["id"] for _, a in checker.tags if "id" in a]
    assert len(ids) == len(set(ids))
    anchors = [a["href"] for t, a in checker.tags if t == "a"]
    assert anchors
    assert all(h is not None and h[1:] in ids for h in anchors)


def test_self_contained(report: _Report) -> None:
    text = report.html
    for bad in ("http://", "https://", "//", 'src="/', "url(", "@import", "<script", "<link"):
        if bad == "//":
            # Protocol-relative references; "//" may occur in data or text otherwise.
            assert not re.search(r"""(src|href)\s*=\s*["']?//""", text)
            continue
        assert bad not in text, bad
    for tag, attrs in _parse(text).tags:
        for name in ("src", "href", "srcset", "action", "poster", "data"):
            value = attrs.get(name)
            if value is None:
                continue
            ok = value.startswith("data:image/png;base64,") if name == "src" else False
            ok = ok or (name == "href" and value.startswith("#"))
            assert ok, f"<{tag} {name}={value[:40]!r}> refers outside the file"


def test_images_embedded_and_decodable(report: _Report) -> None:
    images = [a for t, a in _parse(report.html).tags if t == "img"]
    pngs = sorted(p.name for p in report.directory.glob("*.png"))
    assert len(images) == len(pngs) == 6
    for attrs in images:
        src = attrs["src"]
        assert src is not None
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == PNG_SIGNATURE
        width, height = png_size(data)
        assert width > 0
        assert height > 0
        assert attrs["width"] == str(width)
        assert attrs["height"] == str(height)
        assert attrs.get("alt")
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"GIF89a" + b"\0" * 30)


def test_scenario_text_escaped(report: _Report) -> None:
    html = report.html
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>bold</b>" not in html
    assert "Equities &lt;&amp; co&gt;" in html
    # The manifest's fenced JSON block is literal text in Markdown; the rest is prose.
    md = report.md.split("## Manifest")[0]
    assert "<script" not in md
    assert "<img" not in md
    assert "&lt;script>alert(1)&lt;/script>" in md


def test_headline_numbers(report: _Report) -> None:
    result = report.result
    h = result.horizons[-1]
    stats = {(a, hh, s): (v, e) for a, hh, s, v, e in result.summary.series["brent"].rows()}
    headline = report.html.split("<h2>Headline numbers</h2>")[1].split("<h2>")[0]
    p, se = stats[("brent", h, "prob_above_100")]
    assert f"P(Brent &gt; 100 USD/bbl) at {h} trading days" in headline
    assert f"{p:.4f} ± {se:.4f}" in headline
    for hh in result.horizons:
        med, med_se = stats[("brent", hh, "p50")]
        assert f"{med:,.2f} ± {med_se:,.2f}" in headline
    assert "As of 2026-02-06: Brent 70.00 USD/bbl" in headline
    book = result.summary.portfolio
    assert book is not None
    var, var_se = book.risk(len(result.horizons) - 1, "99")["var_99"]
    assert f"VaR 99% {var:,.0f} ± {var_se:,.0f} USD" in headline


def test_tables_have_standard_errors(report: _Report) -> None:
    html = report.html
    for section in ("Brent distribution", "Risk assets", "Portfolio", "Events"):
        body = html.split(f"<h2>{section}</h2>")[1].split("<h2>")[0]
        assert "<table>" in body
        assert " ± " in body, section
    brent = html.split("<h2>Brent distribution</h2>")[1].split("<h2>")[0]
    for col in ("mean", "p05", "p25", "p50", "p75", "p95", "P(&lt; 60)", "P(&gt; 100)"):
        assert f">{col}</th>" in brent
    assets = html.split("<h2>Risk assets</h2>")[1].split("<h2>")[0]
    assert "<td>eq</td>" in assets
    assert "<td>y10</td>" in assets
    assert "50 bp" in assets
    events = html.split("<h2>Events</h2>")[1].split("<h2>")[0]
    assert "requires talks_fail" in events


def test_assumptions_list_every_quantity(report: _Report) -> None:
    body = report.html.split("<h2>Assumptions</h2>")[1].split("<h2>Manifest</h2>")[0]
    quantities = _quantity_paths(report.result.loaded.document)
    assert len(quantities) > 25
    for path, rationale in quantities:
        assert f"<td>{path}</td>" in body, path
        assert f">{_escape(rationale)}</td>" in body, path
    for name in ("events.talks_fail", "events.outage", "offsets.spare", "assets.eq"):
        assert f"<h4>{name}" in body
    assert "events.outage.requires</td><td>talks_fail" in body
    assert "events.outage.supply.profile.shape</td><td>step" in body
    assert "correlations.pairs.brent/eq</td><td>0.2" in body
    assert "Rationale: talks fail &lt;img" in body
    md = report.md.split("## Assumptions")[1]
    assert "| events.outage.supply.change | triangular(-2, -1, -0.5) mb/d |" in md
    assert "barrels lost \\| piped" in md


def test_assumptions_name_the_file_of_each_value_when_a_scenario_extends(tmp_path: Path) -> None:
    """An extending scenario's assumption rows say which file wrote each value: the child's
    own fields, the base's inherited ones, a base mapping changed in one field."""
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(_doc(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base.yaml\n"
        "description: the child\n"
        "events:\n"
        "  outage:\n"
        "    probability: {value: 0.25, unit: probability, rationale: changed here}\n"
        "  talks_fail:\n"
        "    probability: {dist: beta, a: 1, b: 1, unit: probability, rationale: unsure}\n",
        encoding="utf-8",
    )
    result = run(load_scenario(child), RunConfig(paths=1000, seed=7))
    directory = write_run(result, tmp_path / "out")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    html_text, md = render_run(result, directory, manifest)
    body = html_text.split("<h2>Assumptions</h2>")[1].split("<h2>Manifest</h2>")[0]
    assert ">written in</th>" in body
    assert "The last column names the file that wrote each value" in body
    rows = md.split("## Assumptions")[1]
    assert "| events.outage.probability | 0.25 probability | changed here | child.yaml |" in rows
    assert "| events.outage.supply.change | triangular(-2, -1, -0.5) mb/d |" in rows
    change = next(line for line in rows.splitlines() if "| events.outage.supply.change |" in line)
    assert change.endswith("| base.yaml |")
    # A drawn probability is shown as its mean, and said to be one.
    events = html_text.split("<h2>Events</h2>")[1].split("<h2>")[0]
    assert ">0.5 (mean)</td>" in events
    assert ">0.25</td>" in events
    # One file: no column.
    (tmp_path / "plain").mkdir()
    plain = _make_report(tmp_path / "plain", _doc(), 1000, portfolio=False)
    assert ">written in</th>" not in plain.html


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def test_manifest_section(report: _Report) -> None:
    body = report.html.split("<h2>Manifest</h2>")[1]
    assert body.lstrip().startswith("<pre>")
    assert f"&quot;seed&quot;: {report.manifest['seed']}" in body
    md = report.md.split("## Manifest")[1]
    assert '"seed": 7' in md


def test_markdown_twin(report: _Report) -> None:
    md = report.md
    assert md.startswith("# Scenario report: mini\n")
    assert re.findall(r"^## (.*)$", md, flags=re.M) == list(SECTIONS)
    images = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", md)
    assert ("Brent fan chart", "brent_fan.png") in images
    assert sorted(f for _, f in images) == sorted(p.name for p in report.directory.glob("*.png"))
    assert "data:" not in md
    assert "http://" not in md
    assert "https://" not in md
    assert "| horizon (trading days) |" in md


def test_missing_chart_is_left_out(tmp_path: Path, plain_report: _Report) -> None:
    for name in ("brent_terminal.png", "manifest.json"):
        shutil.copy(plain_report.directory / name, tmp_path / name)
    html, md = render_run(plain_report.result, tmp_path, plain_report.manifest)
    assert html.count("<img ") == 1
    assert "](brent_fan.png)" not in md
    assert "](brent_terminal.png)" in md


def test_written_by_write_run(report: _Report) -> None:
    """Once write_run writes the reports, they are what render_run gives for the run."""
    written = report.directory / "report.html"
    if not written.exists():
        pytest.skip("write_run does not write report.html yet (simulator/output.py)")
    assert written.read_text(encoding="utf-8") == report.html
    assert (report.directory / "report.md").read_text(encoding="utf-8") == report.md
    assert {"report.html", "report.md"} <= set(report.manifest["files"])


def test_yield_precision(tmp_path: Path) -> None:
    """Yields show three decimals (0.1 bp) in the report and summary.md alike; prices two."""
    doc = scenario_doc(
        {
            "assets": {"y10": asset("yield", 10.0, label="10-year yield")},
            "correlations": {"rationale": "none", "noise_df": q(6.0, "degrees of freedom")},
        }
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = run(load_scenario(path), RunConfig(paths=2000, seed=11))
    html, md = render_run(result, tmp_path, {})  # no charts: they are left out
    stats = {(h, s): (v, e) for _, h, s, v, e in result.summary.series["y10"].rows()}
    h = result.horizons[-1]
    cells = []
    for stat in ("p05", "p50", "p95"):
        v, se = stats[(h, stat)]
        # The audit's case: each of these standard errors printed as "0.00".
        assert 0.0005 <= se < 0.005, stat
        cells.append(f"{v:,.3f} ± {se:,.3f}")
    p_up, p_up_se = stats[(h, "prob_up_50bp")]
    row = (
        '<tr><td>y10</td><td>10-year yield</td><td>percent</td><td class="num">4.000</td>'
        + "".join(f'<td class="num">{c}</td>' for c in cells)
        + f'<td class="num">50 bp</td><td class="num">{stats[(h, "prob_down_50bp")][0]:.4f} ± '
    )
    assets = html.split("<h2>Risk assets</h2>")[1].split("<h2>")[0]
    assert row in assets
    assert f"{p_up:.4f} ± {p_up_se:.4f}</td></tr>" in assets
    assert "| y10 | 10-year yield | percent | 4.000 | " + " | ".join(cells) + " | 50 bp |" in md
    # summary.md shows the same cells for the same horizon.
    summary = summary_markdown(result).split("## y10 (percent)")[1]
    last_row = next(line for line in summary.splitlines() if line.startswith(f"| {h} |"))
    assert all(c in last_row for c in cells)
    # Brent, a price, keeps two decimals.
    brent = {(hh, s): (v, e) for _, hh, s, v, e in result.summary.series["brent"].rows()}
    b, b_se = brent[(h, "p50")]
    assert f"{b:,.2f} ± {b_se:,.2f}" in html.split("<h2>Headline numbers</h2>")[1]


@pytest.mark.parametrize(
    ("unit", "row", "diff", "text"),
    [
        (
            "percent",
            {"statistic": "p50", "value": 4.2134, "std_error": 0.0012},
            False,
            "4.213 ± 0.001",
        ),
        (
            "percent",
            {"statistic": "p50", "diff": -0.0123, "diff_std_error": 0.0004},
            True,
            "-0.012 ± <0.001",
        ),
        (
            "percent",
            {"statistic": "prob_up_50bp", "value": 0.25, "std_error": 0.004},
            False,
            "0.2500 ± 0.0040",
        ),
        (
            "USD/bbl",
            {"statistic": "p50", "diff": 1.234, "diff_std_error": 0.051},
            True,
            "+1.23 ± 0.05",
        ),
        (
            "USD",
            {"statistic": "es_99", "value": 123456.7, "std_error": 2345.6},
            False,
            "123,457 ± 2,346",
        ),
    ],
)
def test_compare_cells(unit: str, row: dict[str, Any], diff: bool, text: str) -> None:
    """Comparison report cells use the run report's precision: yields 3, prices 2 decimals."""
    asset = "portfolio" if unit == "USD" else "x"
    assert _compare_cell({"asset": asset, **row}, unit, diff=diff) == text


# --------------------------------------------------------------------------- browser


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        reason = "chromium not installed: run .ci/install-chromium to enable the browser test"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: a missing browser is an error here)")
        pytest.skip(reason)
    return exe


def _browse(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within 60 s: {' '.join(cmd)}")


def _console_messages(stderr: str) -> list[str]:
    # The page runs no script, so every console message is a problem: a CSP violation
    # (something tried to load or run), an uncaught error, a console.error. Chromium logs
    # console.error as "INFO:CONSOLE", so matching "ERROR" alone would miss it.
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.mark.browser
def test_opens_in_headless_chromium(report: _Report, tmp_path: Path) -> None:
    exe = _chromium()
    page = tmp_path / "report.html"
    page.write_text(report.html, encoding="utf-8")
    url = page.resolve().as_uri()

    dom = _browse(exe, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_messages(dom.stderr) == []
    assert _h2(dom.stdout) == list(SECTIONS)
    assert dom.stdout.count("<img ") == 6

    shot = tmp_path / "shot.png"
    out = _browse(
        exe, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,4000", url
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert _console_messages(out.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert png_size(data) == (1280, 4000)
    # A blank 1280x4000 page is about 20 kB; the charts and tables make it far larger.
    assert len(data) > 100_000


def test_brent_first_passage_table(report: _Report) -> None:
    """The Brent section has the first-passage probabilities, one row per horizon."""
    result = report.result
    stats = {(hh, s): (v, e) for _, hh, s, v, e in result.summary.series["brent"].rows()}
    ever_above, ever_below = result.summary.series["brent"].spec.first_passage_names()
    assert ever_above or ever_below
    section = report.html.split("first passage, daily closes")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)[1:]  # after the header
    assert len(rows) == len(result.horizons)
    for h, row in zip(result.horizons, rows, strict=True):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        expected = [f"{stats[(h, s)][0]:.4f} ± {stats[(h, s)][1]:.4f}" for s in ever_below]
        expected += [f"{stats[(h, s)][0]:.4f} ± {stats[(h, s)][1]:.4f}" for s in ever_above]
        assert cells[0] == str(h)
        assert cells[2:] == expected


def test_the_volatility_and_correlation_tables_show_correlations_csv(report: _Report) -> None:
    """Each row of correlations.csv, input against simulated ± error, in both reports;
    prices' vols in percent a year, yields' in bp; a plain run (no assets) has neither."""
    rows = [
        line.split(",")
        for line in (report.directory / "correlations.csv").read_text().splitlines()[1:]
    ]
    section = report.html.split("Volatilities and correlations of daily moves")[1]
    for _, stat, series, other, unit, given, simulated, se in rows:
        if stat == "vol":
            scale, digits = (1.0, 1) if unit == "bp/year" else (100.0, 2)
            cell = format_stat(scale * float(simulated), scale * float(se), digits)
            shown = "n/a" if given == "nan" else f"{scale * float(given):,.{digits}f}"
            label = "bp a year" if unit == "bp/year" else "% a year"
            assert f"| {series} | {label} | {shown} | {cell} |" in report.md
        else:
            cell = format_stat(float(simulated), float(se), 3)
            assert f"| {series} / {other} | {float(given):.2f} | {cell} |" in report.md
        assert cell in section
    assert {r[2] for r in rows if r[1] == "vol"} == {"brent", *report.result.scenario.assets}


def test_a_run_without_assets_has_no_correlation_tables(plain_report: _Report) -> None:
    assert not plain_report.result.scenario.assets
    assert "Volatilities and correlations" not in plain_report.html
    assert not (plain_report.directory / "correlations.csv").exists()
