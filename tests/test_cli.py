"""The ``sim`` command line: outputs, reproducibility, exit codes and exact error text."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from conftest import REPO, SCENARIOS, event, q

import simulator.cli
import simulator.engine
import simulator.scenario
from simulator import __version__
from simulator.cli import app
from simulator.errors import RuntimeFailure
from simulator.report.tables import format_stat

FAST = ["--paths", "400", "--workers", "1", "--quiet"]
SUMMARY_HEADER = "scenario,asset,horizon_days,statistic,value,std_error"
OUTPUT_FILES = {
    "summary.csv",
    "summary.md",
    "events.csv",
    "brent_fan.png",
    "brent_terminal.png",
    "manifest.json",
}


def invoke(runner: Any, *args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], prog_name="sim")


def empty(directory: Path) -> bool:
    return not directory.exists() or not any(directory.iterdir())


def only_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --------------------------------------------------------------------------- basics


def test_version(runner: Any) -> None:
    result = invoke(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"sim {__version__}\n"


COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_the_core_commands_exist() -> None:
    assert {"run", "validate", "list"} <= set(COMMANDS)


@pytest.mark.parametrize(
    "command",
    [pytest.param([], id="sim")] + [pytest.param([c], id=c) for c in COMMANDS],
)
def test_every_command_has_help_with_an_example(runner: Any, command: list[str]) -> None:
    result = invoke(runner, *command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "Usage: sim" in result.stdout


# --------------------------------------------------------------------------- run


SCENARIO_OVERRIDES = {
    "events": {
        "shock": event(
            0.4, 3, risk_premium={"size": q(4.0, "USD/bbl"), "half_life": q(5, "trading days")}
        ),
    }
}


@pytest.fixture
def scenario_file(write_scenario: Any) -> Path:
    return write_scenario(SCENARIO_OVERRIDES)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One scenario run three times: seeds 7, 7 and 8, into out/a, out/b and out/c."""
    import yaml
    from conftest import scenario_doc
    from typer.testing import CliRunner

    base = tmp_path_factory.mktemp("runs")
    scenario = base / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(scenario_doc(SCENARIO_OVERRIDES), sort_keys=False))
    runner = CliRunner()
    results = {
        name: invoke(runner, "run", scenario, *FAST, "--seed", seed, "--out", base / name)
        for name, seed in (("a", "7"), ("b", "7"), ("c", "8"))
    }
    return {"scenario": scenario, "base": base, "results": results}


def test_run_writes_every_output(runs: dict[str, Any]) -> None:
    result, scenario_file, out = runs["results"]["a"], runs["scenario"], runs["base"] / "a"
    assert result.exit_code == 0, result.output
    target = out / "mini"
    assert result.stdout.strip().splitlines()[-1] == str(target.resolve())
    assert {p.name for p in target.iterdir()} >= OUTPUT_FILES

    csv_lines = (target / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == SUMMARY_HEADER
    first = csv_lines[1].split(",")
    assert first[:4] == ["mini", "brent", "5", "mean"]
    assert {line.split(",")[2] for line in csv_lines[1:] if ",brent," in line} == {"5", "20"}

    events = (target / "events.csv").read_text(encoding="utf-8").splitlines()
    assert events[0].startswith("scenario,event,probability_input,frequency_simulated")
    assert events[1].startswith("mini,shock,0.4,")

    assert (
        (target / "summary.md")
        .read_text(encoding="utf-8")
        .startswith("# mini: simulated distribution")
    )
    for png in ("brent_fan.png", "brent_terminal.png"):
        assert (target / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7
    assert manifest["command"] is None  # invoked from Python, not as the sim process
    assert manifest["bit_generator"] == "SFC64"
    assert manifest["stream_layout"] == 2
    assert manifest["paths"] == 400
    assert manifest["steps"] == 20
    assert manifest["scenario"] == "mini"
    assert manifest["scenario_sha256"] == hashlib.sha256(scenario_file.read_bytes()).hexdigest()
    assert set(manifest["files"]) == {p.name for p in target.iterdir()}
    # Nothing left behind beside the result.
    assert [p.name for p in out.iterdir()] == ["mini"]


def test_correlations_csv_has_every_vol_and_pair_and_is_the_same_on_two_workers(
    runner: Any, runs: dict[str, Any], tmp_path: Path
) -> None:
    """Input against simulated, with delta-method errors; blocks on two processes give the
    same bytes. A run without assets has no such file."""
    import yaml

    doc = yaml.safe_load((SCENARIOS / "baseline.yaml").read_text(encoding="utf-8"))
    names = ["brent", *doc["assets"]]
    texts = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        args = ["run", SCENARIOS / "baseline.yaml", "--paths", "12000", "--horizon", "5"]
        result = invoke(runner, *args, "-w", workers, "--quiet", "--out", out)
        assert result.exit_code == 0, result.output
        texts.append((out / "baseline" / "correlations.csv").read_text(encoding="utf-8"))
        manifest = json.loads((out / "baseline" / "manifest.json").read_text(encoding="utf-8"))
        assert "correlations.csv" in manifest["files"]
    assert texts[0] == texts[1]
    lines = texts[0].splitlines()
    assert lines[0] == "scenario,statistic,series,other,unit,input,simulated,std_error"
    rows = [line.split(",") for line in lines[1:]]
    k = len(names)
    assert [(r[1], r[2]) for r in rows[:k]] == [("vol", n) for n in names]
    assert [(r[2], r[3]) for r in rows[k:]] == [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :]
    ]
    assert rows[0][5] == "nan"  # Brent's vol has no single input
    for r in rows[1:k]:
        assert float(r[5]) == doc["assets"][r[2]]["vol"]["value"]
        assert r[4] == ("bp/year" if doc["assets"][r[2]]["kind"] == "yield" else "annualised")
    pairs = {tuple(p.split("/")): v for p, v in doc["correlations"]["pairs"].items()}
    for r in rows[k:]:
        assert float(r[5]) == pairs.get((r[2], r[3]), pairs.get((r[3], r[2]), 0.0))
        assert -1 < float(r[6]) < 1
        assert 0 < float(r[7]) < 0.05
    assert not (runs["base"] / "a" / "mini" / "correlations.csv").exists()


def test_the_manifest_records_the_horizon_that_ran(runner: Any, tmp_path: Path) -> None:
    """--horizon replaces the file's horizon_days and its reporting horizons beyond it."""
    args = ["run", SCENARIOS / "baseline.yaml", "--horizon", "30", *FAST, "--out", tmp_path]
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "baseline" / "manifest.json").read_text(encoding="utf-8"))
    assert record["steps"] == record["parameters"]["horizon_days"] == 30
    assert record["horizons_days"] == record["parameters"]["report_horizons_days"] == [5, 21, 30]


def test_same_seed_same_bytes(runs: dict[str, Any]) -> None:
    base = runs["base"]
    assert all(r.exit_code == 0 for r in runs["results"].values())
    for table in ("summary.csv", "events.csv"):
        a = (base / "a" / "mini" / table).read_bytes()
        assert a == (base / "b" / "mini" / table).read_bytes()
    assert (base / "c" / "mini" / "summary.csv").read_bytes() != (
        base / "a" / "mini" / "summary.csv"
    ).read_bytes()


def test_rerun_gets_a_new_directory_and_force_replaces(
    runner: Any, scenario_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "mini").mkdir(parents=True)  # an earlier result: it has a manifest.json
    (out / "mini" / "manifest.json").write_text('{"package_version": "0.1.0"}')
    (out / "mini" / "keep.txt").write_text("earlier")
    result = invoke(runner, "run", scenario_file, *FAST, "--seed", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["mini", "mini-2"]
    assert (out / "mini" / "keep.txt").read_text() == "earlier"
    result = invoke(runner, "run", scenario_file, *FAST, "--seed", "2", "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["mini", "mini-2"]
    assert not (out / "mini" / "keep.txt").exists()
    assert json.loads((out / "mini" / "manifest.json").read_text())["seed"] == 2
    assert json.loads((out / "mini-2" / "manifest.json").read_text())["seed"] == 1


def test_run_several_scenarios(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    a = write_scenario({"name": "first"}, name="a.yaml")
    b = write_scenario({"name": "second"}, name="b.yaml")
    result = invoke(runner, "run", a, b, *FAST, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["first", "second"]


@pytest.mark.parametrize(
    ("interrupt_at", "message"),
    [
        ("second", "Interrupted: nothing was written for the unfinished scenario."),
        (None, "Interrupted: every result was written."),
    ],
)
def test_an_interruption_says_what_was_written(
    runner: Any,
    write_scenario: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    interrupt_at: str | None,
    message: str,
) -> None:
    """Ctrl-C during the second scenario's run, or after the last result was written (while
    its summary prints): the message says which."""
    a = write_scenario({"name": "first"}, name="a.yaml")
    b = write_scenario({"name": "second"}, name="b.yaml")
    real_run, real_table = simulator.cli.run, simulator.cli._summary_table
    tables: list[str] = []

    def run(item: Any, *args: Any, **kwargs: Any) -> Any:
        if item.scenario.name == interrupt_at:
            raise KeyboardInterrupt
        return real_run(item, *args, **kwargs)

    def table(result: Any) -> Any:
        tables.append(result.loaded.scenario.name)
        if interrupt_at is None and len(tables) == 2:
            raise KeyboardInterrupt
        return real_table(result)

    monkeypatch.setattr(simulator.cli, "run", run)
    monkeypatch.setattr(simulator.cli, "_summary_table", table)
    monkeypatch.setattr(simulator.cli_errors, "_interrupted", [False])
    args = ["--paths", "400", "--workers", "1"]  # not --quiet: the summaries print
    result = invoke(runner, "run", a, b, *args, "--out", tmp_path / "out")
    assert result.exit_code == 130
    assert only_line(result.stderr) == message
    written = ["first"] if interrupt_at else ["first", "second"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == written


def test_an_interrupted_compare_says_whether_it_wrote(
    runner: Any, write_scenario: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the comparison's table prints: the comparison was written."""
    import simulator.report.compare_report as cr

    def table(comparison: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cr, "terminal_table", table)
    monkeypatch.setattr(simulator.cli_errors, "_interrupted", [False])
    a = write_scenario({"name": "first"}, name="a.yaml")
    b = write_scenario({"name": "second"}, name="b.yaml")
    out = tmp_path / "out"
    result = invoke(runner, "compare", a, b, "--paths", "200", "--workers", "1", "--out", out)
    assert result.exit_code == 130
    assert only_line(result.stderr) == "Interrupted: the comparison was written."
    assert len(list(out.iterdir())) == 1


def test_a_run_that_needs_more_memory_than_is_free_is_refused(
    runner: Any, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 2 before anything runs, with the estimate and what to do; the check can be
    skipped."""
    monkeypatch.setattr(simulator.engine, "available_memory", lambda: 0.1 * 2**30)
    out = tmp_path / "out"
    args = ["--paths", "400", "--workers", "2", "--quiet", "--out", out]
    config = simulator.engine.RunConfig(paths=400, seed=1, workers=2)
    loaded = simulator.scenario.load_scenario(scenario_file)
    need = simulator.engine.estimate(loaded.scenario, config) / 2**30
    result = invoke(runner, "run", scenario_file, *args)
    assert result.exit_code == 2
    assert only_line(result.stderr) == (
        f"Error: {loaded.scenario.name}: this run needs about {need:.1f} GiB but 0.1 GiB is "
        "available; use fewer --workers, or pass --ignore-memory-check to run anyway"
    )
    assert not out.exists() or empty(out)
    result = invoke(runner, "run", scenario_file, *args, "--ignore-memory-check")
    assert result.exit_code == 0, result.output


def test_run_shipped_baseline(runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        runner,
        "run",
        SCENARIOS / "baseline.yaml",
        "--paths",
        "300",
        "--workers",
        "1",
        "--horizon",
        "21",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "Brent (USD/bbl)" in result.stdout
    manifest = json.loads((out / "baseline" / "manifest.json").read_text())
    assert (manifest["paths"], manifest["steps"]) == (300, 21)
    assert set(manifest["files"]) >= OUTPUT_FILES


def test_manifest_records_the_workers(runner: Any, scenario_file: Path, tmp_path: Path) -> None:
    result = invoke(
        runner, "run", scenario_file, "--paths", "12000", "--workers", "2", "-q", "--out", tmp_path
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "mini" / "manifest.json").read_text())
    assert (manifest["workers"], manifest["engine"]) == (2, "numpy-processes")


def test_workers_do_not_change_the_results(
    runner: Any, scenario_file: Path, tmp_path: Path
) -> None:
    # 3 blocks of the default size would need 15,000 paths; results depend only on the blocks.
    for w in ("1", "2"):
        result = invoke(
            runner,
            "run",
            scenario_file,
            "--paths",
            "6000",
            "--workers",
            w,
            "-q",
            "--out",
            tmp_path / w,
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "1" / "mini" / "summary.csv").read_bytes() == (
        tmp_path / "2" / "mini" / "summary.csv"
    ).read_bytes()


# --------------------------------------------------------------------------- errors


def _fails(runner: Any, out: Path, *args: str | Path) -> str:
    result = invoke(runner, "run", *args, *FAST, "--out", out)
    assert result.exit_code == 2, result.output
    assert empty(out)
    assert result.stdout == ""
    return only_line(result.stderr)


def test_missing_file(runner: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert _fails(runner, tmp_path / "out", missing) == f"Error: {missing}: file not found"


def test_yaml_syntax_error(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    path = write_scenario(text="name: x\n  foo: [\n")
    assert _fails(runner, tmp_path / "out", path) == (
        f"Error: {path}:2: YAML error: mapping values are not allowed here"
    )


def test_unknown_key(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    path = write_scenario({"oil": {"short_term": {"half_lfe": q(3, "trading days")}}})
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "half_lfe" in s)
    assert _fails(runner, tmp_path / "out", path) == (
        f"Error: {path}:{line}: oil.short_term.half_lfe: unknown field; did you mean "
        "'half_life'? (allowed: half_life, vol)"
    )


def test_wrong_type(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    path = write_scenario({"horizon_days": "abc"})
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "horizon_days" in s)
    assert _fails(runner, tmp_path / "out", path) == (
        f"Error: {path}:{line}: horizon_days: Input should be a valid integer, got 'abc'"
    )


def test_bad_paths(runner: Any, scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(runner, "run", scenario_file, "--paths", "0", "--workers", "1", "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --paths must be between 100 and 100,000,000, got 0 (fewer paths give no "
        "usable standard errors)\n"
    )
    assert empty(out)


def test_one_bad_file_means_nothing_is_run(
    runner: Any, scenario_file: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"
    assert _fails(runner, tmp_path / "out", scenario_file, missing) == (
        f"Error: {missing}: file not found"
    )


def test_runtime_failure_exits_1_and_writes_nothing(
    runner: Any, write_scenario: Any, tmp_path: Path
) -> None:
    path = write_scenario(
        {
            "horizon_days": 2520,
            "report_horizons_days": [2520],
            "oil": {"long_term": {"vol": q(5.0, "annualised")}},
        }
    )
    out = tmp_path / "out"
    result = invoke(runner, "run", path, "--paths", "100", "--workers", "1", "--out", out)
    assert result.exit_code == 1
    assert only_line(result.stderr).startswith(
        f"Error: {path}: Brent left the range (0, 1e6) USD/bbl"
    )
    assert empty(out)


def test_failure_while_writing_leaves_no_partial_directory(
    runner: Any, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulator.report import charts

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeFailure("disk full")

    monkeypatch.setattr(charts, "terminal_chart", broken)
    out = tmp_path / "out"
    result = invoke(runner, "run", scenario_file, *FAST, "--out", out)
    assert result.exit_code == 1
    assert result.stderr == "Error: disk full\n"
    assert empty(out)  # no hidden temporary directory either


def test_internal_error_is_one_line(
    runner: Any, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulator.cli as cli

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(cli, "run", broken)
    result = invoke(runner, "run", scenario_file, *FAST, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == "Error: internal error (ValueError: boom); please report it\n"


# --------------------------------------------------------------------------- validate, list


def test_validate_ok(runner: Any, scenario_file: Path) -> None:
    result = invoke(runner, "validate", scenario_file)
    assert result.exit_code == 0
    assert result.stdout == f"ok: {scenario_file} (mini, 1 event, 0 offsets)\n"


def test_validate_reports_every_bad_file(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    good = write_scenario(name="good.yaml")
    bad = write_scenario(text="name: a\nname: b\n", name="bad.yaml")
    missing = tmp_path / "missing.yaml"
    result = invoke(runner, "validate", good, bad, missing)
    assert result.exit_code == 2
    assert result.stdout == f"ok: {good} (mini, 0 events, 0 offsets)\n"
    assert result.stderr.splitlines() == [
        f"Error: {bad}:2: name: duplicate key (first defined on line 1)",
        f"Error: {missing}: file not found",
    ]


def test_validate_lists_every_problem_and_run_counts_them(runner: Any, write_scenario: Any) -> None:
    bad = write_scenario({"horizon_days": "abc", "oil": {"spot": q(-70, "USD/bbl")}})
    lines = bad.read_text().splitlines()
    at = {key: next(i for i, s in enumerate(lines, 1) if key in s) for key in ("horizon", "spot")}
    first = f"{bad}:{at['horizon']}: horizon_days: Input should be a valid integer, got 'abc'"
    second = f"{bad}:{at['spot']}: oil.spot: must be > 0 USD/bbl, got -70"
    result = invoke(runner, "validate", bad)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: {first}", f"Error: {second}"]
    result = invoke(runner, "run", bad, "--out", bad.parent / "out")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {first} (+1 more problem; sim validate lists them all)\n"
    assert not (bad.parent / "out").exists()


def test_validate_counts_assets(runner: Any) -> None:
    result = invoke(runner, "validate", SCENARIOS / "baseline.yaml")
    assert result.exit_code == 0
    assert result.stdout.endswith("(baseline, 2 events, 2 offsets, 7 assets)\n")


def test_validate_shipped_scenarios(runner: Any) -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    result = invoke(runner, "validate", *files)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == len(files)


def test_list(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    write_scenario({"name": "alpha", "description": "first one"}, name="alpha.yaml")
    write_scenario(
        {"name": "beta", "description": "second one. The details are in the file."},
        name="beta.yaml",
    )
    (tmp_path / "notes.txt").write_text("not a scenario")
    result = invoke(runner, "list", tmp_path)
    assert result.exit_code == 0, result.output
    for text in ("alpha.yaml", "alpha", "first one", "beta.yaml", "2026-02-06", "second one."):
        assert text in result.stdout
    assert "details" not in result.stdout  # the first sentence only
    assert "notes" not in result.stdout
    assert "┃ name" not in result.stdout  # every name is its file's stem
    write_scenario({"name": "gamma", "description": "third"}, name="other.yaml")
    result = invoke(runner, "list", tmp_path)
    assert "┃ name" in result.stdout
    assert "gamma" in result.stdout
    assert result.stderr == ""


def test_list_reports_bad_files(runner: Any, write_scenario: Any, tmp_path: Path) -> None:
    write_scenario(name="good.yaml")
    bad = write_scenario(text="name: [\n", name="bad.yaml")
    result = invoke(runner, "list", tmp_path)
    assert result.exit_code == 2
    assert "good.yaml" in result.stdout
    assert only_line(result.stderr).startswith(f"Error: {bad}:")


def test_list_and_validate_with_many_problems(
    runner: Any, write_scenario: Any, tmp_path: Path
) -> None:
    """sim list counts a file's further problems and says where to see them; sim validate
    lists the first 50 and counts the rest."""
    pairs = {f"a{i}/b{i}": 2.0 for i in range(60)}
    bad = write_scenario({"correlations": {"rationale": "many", "pairs": pairs}}, name="bad.yaml")
    result = invoke(runner, "list", tmp_path)
    assert result.exit_code == 2
    assert only_line(result.stderr).endswith("(+60 more problems; sim validate lists them all)")
    result = invoke(runner, "validate", bad)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 51
    assert all(line.startswith(f"Error: {bad}:") for line in lines)
    assert lines[-1] == f"Error: {bad}: 11 more problems not listed"


def test_list_not_a_directory(runner: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = invoke(runner, "list", missing)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing}: not a directory\n"


def test_list_shipped(runner: Any) -> None:
    result = invoke(runner, "list", SCENARIOS)
    assert result.exit_code == 0, result.output
    assert "baseline" in result.stdout


def test_an_error_on_line_100_prints_the_number(runner: Any, write_scenario: Any) -> None:
    """':100:' is a rich emoji code; the location must print as written."""
    bad = write_scenario(text="\n" * 98 + "name: a\nname: b\n", name="bad.yaml")
    result = invoke(runner, "validate", bad)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {bad}:100: name: duplicate key (first defined on line 99)\n"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            ["--reference", "gamma"],
            "--reference 'gamma' is not one of the compared scenarios (alpha, beta)",
        ),
        (["--reference", ""], "--reference '' is not one of the compared scenarios (alpha, beta)"),
        (
            ["--weights", "alpha=0.3"],
            "--weights: no weight for beta; give every compared scenario one (0 leaves it out "
            "of the blend)",
        ),
        (
            ["--weights", "alpha=0.3,betta=0.7"],
            "--weights: 'betta' is not one of the compared scenarios (alpha, beta)",
        ),
    ],
)
def test_compare_checks_its_options_before_running(
    runner: Any,
    write_scenario: Any,
    tmp_path: Path,
    no_simulation: None,
    option: list[str],
    message: str,
) -> None:
    a = write_scenario({"name": "alpha"}, name="alpha.yaml")
    b = write_scenario({"name": "beta"}, name="beta.yaml")
    out = tmp_path / "out"
    result = invoke(runner, "compare", a, b, *option, *FAST, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert empty(out)


def test_a_shorter_horizon_notes_the_report_horizons_it_drops(
    runner: Any, write_scenario: Any, tmp_path: Path
) -> None:
    path = write_scenario({"horizon_days": 126, "report_horizons_days": [5, 21, 63, 126]})
    args = ["--paths", "200", "--workers", "1", "--horizon", "30", "--out", tmp_path / "out"]
    result = invoke(runner, "run", path, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Note: mini: report horizons 63, 126 are beyond the 30-day horizon; reporting 5, 21, 30\n"
    )
    manifest = json.loads((tmp_path / "out" / "mini" / "manifest.json").read_text())
    assert manifest["horizons_days"] == [5, 21, 30]


def test_a_run_too_large_for_per_path_values_says_so(
    runner: Any, write_scenario: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 horizons x (Brent, its running high and low): 6 values a path, 166 paths fit.
    budget = 1_000
    monkeypatch.setattr(simulator.engine, "EXACT_BUDGET_VALUES", budget)
    path = write_scenario()
    args = ["--paths", "600", "--workers", "1", "--out", tmp_path / "out"]
    result = invoke(runner, "run", path, *args)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "out" / "mini" / "paths.npz").exists()
    assert result.stderr == (
        "Note: no paths.npz: 600 paths are more than the 166 whose per-path values fit in "
        "memory here, so quantiles come from histograms (within 0.1%) and `sim compare` cannot "
        "reuse this directory\n"
    )


def test_validate_reads_a_portfolio_as_a_portfolio(runner: Any, tmp_path: Path) -> None:
    good = tmp_path / "book.yaml"
    good.write_text("name: book\npositions:\n  brent: {notional_usd: 1000}\n", encoding="utf-8")
    bad = tmp_path / "typo.yaml"
    bad.write_text("name: typo\npositions:\n  brent: {notionl_usd: 1000}\n", encoding="utf-8")
    result = invoke(runner, "validate", good, bad)
    assert result.exit_code == 2
    assert result.stdout == f"ok: {good} (portfolio book, 1 position)\n"
    assert result.stderr == (
        f"Error: {bad}:3: positions.brent.notionl_usd: unknown field; did you mean "
        "'notional_usd'? (allowed: notional_usd, weight, dv01_usd, duration_years, rationale)\n"
    )


def test_validate_checks_portfolios_against_the_scenarios_given(
    runner: Any, write_scenario: Any, tmp_path: Path
) -> None:
    """As `sim run -p` would: a position the scenario lacks is an error, once per problem,
    and the portfolio gets no "ok" line."""
    scen = write_scenario()  # the minimal scenario: Brent only
    book = tmp_path / "book.yaml"
    book.write_text("name: book\npositions:\n  brent: {notional_usd: 1000}\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(
        "name: other\npositions:\n  brent: {notional_usd: 1000}\n  gold: {notional_usd: 5}\n",
        encoding="utf-8",
    )
    result = invoke(runner, "validate", other, scen, book, scen)
    assert result.exit_code == 2
    assert result.stdout == (
        f"ok: {scen} (mini, 0 events, 0 offsets)\n"
        f"ok: {book} (portfolio book, 1 position)\n"
        f"ok: {scen} (mini, 0 events, 0 offsets)\n"
    )
    assert result.stderr == (
        f"Error: {other}:4: positions.gold: unknown asset 'gold' for scenario 'mini' "
        "(known: brent)\n"
    )
    alone = invoke(runner, "validate", other)
    assert alone.exit_code == 0
    assert alone.stdout == f"ok: {other} (portfolio other, 2 positions)\n"


def test_a_scenario_given_as_the_portfolio_is_named_as_such(runner: Any, tmp_path: Path) -> None:
    """The mirror mistake: not 'as_of: unknown field (+10 more problems)'."""
    scenario = SCENARIOS / "deal_reached.yaml"  # extends, events, no positions
    out = tmp_path / "out"
    args = ["run", SCENARIOS / "baseline.yaml", "--portfolio", scenario, *FAST, "--out", out]
    result = invoke(runner, *args)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {scenario}: a scenario file (top-level oil, events or extends), not a "
        "portfolio; give it as an argument, and a book (top-level positions) with "
        "--portfolio\n"
    )
    assert not out.exists()


def test_a_portfolio_given_as_a_scenario_is_named_as_such(
    runner: Any, write_scenario: Any, tmp_path: Path
) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("name: book\npositions:\n  brent: {notional_usd: 1000}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(runner, "run", book, *FAST, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {book}: a portfolio file (top-level positions), not a scenario; give it with "
        "--portfolio\n"
    )
    assert not out.exists()
    listed = invoke(runner, "list", tmp_path)
    assert (listed.exit_code, listed.stdout) == (
        0,
        f"No scenario files in {tmp_path} (1 portfolio file)\n",
    )
    write_scenario(name="mini.yaml")
    listed = invoke(runner, "list", tmp_path)
    assert listed.exit_code == 0, listed.stderr
    assert "mini.yaml" in listed.stdout
    assert "book.yaml" not in listed.stdout


def test_list_of_a_directory_without_scenarios(runner: Any, tmp_path: Path) -> None:
    result = invoke(runner, "list", tmp_path)
    assert result.exit_code == 0
    assert result.stdout == f"No scenario files (*.yaml, *.yml) in {tmp_path}\n"


def test_the_terminal_table_rounds_standard_errors_as_the_reports_do(
    runner: Any, tmp_path: Path
) -> None:
    """Each cell is summary.csv's value and error through format_stat: an error too small
    for the shown decimals reads ``<0.01``, never a misleading ``0.00``."""
    quiet = tmp_path / "quiet.yaml"  # Brent barely moves: its mean's error is about 4e-5
    quiet.write_text(
        f"extends: {SCENARIOS / 'baseline.yaml'}\nname: quiet\ndescription: test\n"
        "oil:\n"
        "  short_term: {vol: {value: 0.0001, unit: annualised, rationale: test}}\n"
        "  long_term: {vol: {value: 0.0001, unit: annualised, rationale: test}}\n"
        "events: {premium_fades: null, flare_up: null}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["run", quiet, "--paths", "500", "--horizon", "5", "-w", "1", "--out", out]
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    stats = {
        (r[1], r[2], r[3]): (float(r[4]), float(r[5]))
        for r in (
            line.split(",") for line in (out / "quiet" / "summary.csv").read_text().splitlines()
        )
        if r[1] == "brent"
    }
    mean, se = stats[("brent", "5", "mean")]
    assert 0 < se < 0.005
    p, p_se = stats[("brent", "5", "prob_above_100")]
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("│     5 d"))
    cells = [c.strip() for c in line.strip("│ ").split("│")]
    assert cells[4] == format_stat(mean, se, 2) == f"{mean:.2f} ± <0.01"
    assert cells[5] == format_stat(100 * p, 100 * p_se, 1) + "%" == "0.0 ± 0.0%"  # exactly 0


def test_run_with_a_portfolio_prints_its_var_and_es(runner: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["run", SCENARIOS / "baseline.yaml", "--portfolio", REPO / "portfolios" / "sample.yaml"]
    result = invoke(runner, *args, "--paths", "500", "--horizon", "5", "-w", "1", "--out", out)
    assert result.exit_code == 0, result.output
    rows = {
        (r[1], r[2], r[3]): float(r[4])
        for r in (
            line.split(",") for line in (out / "baseline" / "summary.csv").read_text().splitlines()
        )
        if r[1] == "portfolio"
    }
    mean = rows[("portfolio", "5", "mean")]
    cells = [f"{rows[('portfolio', '5', s)]:,.0f}" for s in ("var_95", "es_95", "var_99", "es_99")]
    lines = result.stdout.splitlines()
    title = lines.index("Portfolio 'sample' P&L (USD; VaR and ES are losses)")
    line = next(x for x in lines[title:] if x.strip().startswith("│     5 d"))
    assert [c.strip() for c in line.strip("│ ").split("│")][2:] == cells
    assert f"{mean:,.0f} ± " in line
