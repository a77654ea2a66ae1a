"""Comparing scenarios: common random numbers, batch-means errors, blends, weights, run
directories against scenario files, refusals and the files ``sim compare`` writes.

Statistical checks use fixed seeds; tolerances come from standard errors (4 SE).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import event, q, scenario_doc

import simulator.cli
from simulator.cli import app
from simulator.compare import N_BATCHES, check_comparable, compare, parse_weights, statistics
from simulator.engine import RunConfig, max_exact_paths, run
from simulator.errors import InputError
from simulator.output import manifest
from simulator.portfolio import load_portfolio
from simulator.report.tables import format_stat
from simulator.samples import Sample
from simulator.scenario import LoadedScenario, load_scenario

Z = 4.0
COMPARE_FILES = {
    "comparison.csv",
    "comparison.md",
    "brent_fans.png",
    "brent_densities.png",
    "probabilities.png",
    "manifest.json",
    "report.html",
    "report.md",
}

SHOCK = {
    "events": {
        "shock": event(
            0.5,
            3,
            risk_premium={
                "size": {
                    "dist": "uniform",
                    "low": 2.0,
                    "high": 8.0,
                    "unit": "USD/bbl",
                    "rationale": "a scare of uncertain size",
                },
                "half_life": q(10, "trading days"),
            },
        )
    }
}


def invoke(runner: Any, *args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], prog_name="sim")


def write_doc(directory: Path, name: str, overrides: dict[str, Any] | None = None) -> Path:
    doc = scenario_doc({"name": name, **(overrides or {})})
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def sample_of(
    loaded: LoadedScenario, seed: int, paths: int, portfolio: Any = None, **config: Any
) -> Sample:
    result = run(
        loaded, RunConfig(paths=paths, seed=seed, workers=1, **config), portfolio=portfolio
    )
    return Sample.from_result(result, manifest(result, Path("."), []))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedScenario, LoadedScenario]:
    """Two scenarios that differ only by one event."""
    tmp = tmp_path_factory.mktemp("pair")
    return (
        load_scenario(write_doc(tmp, "calm")),
        load_scenario(write_doc(tmp, "shocked", SHOCK)),
    )


# --------------------------------------------------------------------------- CRN


def test_common_random_numbers_reduce_the_variance_of_differences(
    pair: tuple[LoadedScenario, LoadedScenario],
) -> None:
    calm, shocked = pair
    a = sample_of(calm, 1, 4000)
    b_same = sample_of(shocked, 1, 4000)
    b_other = sample_of(shocked, 2, 4000)

    crn = compare([a, b_same])
    indep = compare([a, b_other])
    assert crn.paired
    assert not indep.paired
    # At 20 days the premium has mostly faded: the paired difference varies far less than
    # either scenario (expected variance reduction ~90; the batch estimate of it has a
    # log-SE ~0.5, so > 4 is a clear margin). At 5 days it is ~3, too close to test.
    row = crn.value("shocked", "brent", 20, "mean")
    assert row["variance_reduction"] > 4, row
    assert row["diff_std_error"] ** 2 * 4 < row["diff_std_error_independent"] ** 2
    other = indep.value("shocked", "brent", 20, "mean")
    assert row["diff_std_error"] ** 2 * 4 < other["diff_std_error"] ** 2
    for h in (5, 20):
        row = crn.value("shocked", "brent", h, "mean")
        other = indep.value("shocked", "brent", h, "mean")
        # Unpaired runs: the difference's error is the independent one.
        assert other["diff_std_error"] == other["diff_std_error_independent"]
        assert other["variance_reduction"] == 1.0
        assert row["variance_reduction"] == pytest.approx(
            row["diff_std_error_independent"] ** 2 / row["diff_std_error"] ** 2, rel=1e-12
        )
        # Both measure the same difference: they agree within their errors.
        gap = abs(row["diff"] - other["diff"])
        assert gap < Z * math.hypot(row["diff_std_error"], other["diff_std_error"])
        # The reference's own rows have no difference.
        ref = crn.value("calm", "brent", h, "mean")
        assert math.isnan(ref["diff"])
        assert math.isnan(ref["diff_std_error"])


def test_batch_standard_error_matches_the_spread_over_seeds(
    pair: tuple[LoadedScenario, LoadedScenario],
) -> None:
    """Over R independent seeds, the variance of the paired difference in mean Brent
    matches the mean of the squared batch-means SEs. log(variance ratio) has SE about
    sqrt(2/(R-1) + 2/(R (B-1))) (chi-square estimates); the check is at 4 SE."""
    calm, shocked = pair
    r_seeds, paths, h = 60, 1000, 20
    diffs, se2 = [], []
    for seed in range(100, 100 + r_seeds):
        row = compare([sample_of(calm, seed, paths), sample_of(shocked, seed, paths)]).value(
            "shocked", "brent", h, "mean"
        )
        diffs.append(row["diff"])
        se2.append(row["diff_std_error"] ** 2)
    ratio = float(np.var(diffs, ddof=1) / np.mean(se2))
    se_log = math.sqrt(2 / (r_seeds - 1) + 2 / (r_seeds * (N_BATCHES - 1)))
    assert abs(math.log(ratio)) < Z * se_log, ratio


# --------------------------------------------------------------------------- blends


@pytest.fixture(scope="module")
def blend_inputs(
    pair: tuple[LoadedScenario, LoadedScenario], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Sample, Sample]:
    tmp = tmp_path_factory.mktemp("book")
    path = tmp / "book.yaml"
    path.write_text("positions:\n  brent: {notional_usd: 1_000_000}\n", encoding="utf-8")
    book = load_portfolio(path)
    calm, shocked = pair
    return sample_of(calm, 4, 2000, book), sample_of(shocked, 4, 2000, book)


def test_equal_weight_blend_is_the_pooled_sample(blend_inputs: tuple[Sample, Sample]) -> None:
    a, b = blend_inputs
    c = compare([a, b], weights={"calm": 0.5, "shocked": 0.5})
    for asset in ("brent", "portfolio"):
        spec = a.specs.get(asset) if asset != "portfolio" else None
        for i, h in enumerate(a.horizons):
            pooled = np.concatenate([a.values[asset][:, i], b.values[asset][:, i]])
            expected = statistics(pooled, np.ones(pooled.size), spec)
            for stat, value in expected.items():
                got = c.value("blend", asset, h, stat)["value"]
                assert got == pytest.approx(value, rel=1e-12, abs=1e-9), (asset, h, stat)


def test_a_paired_blends_means_and_probabilities_have_the_per_path_error(
    blend_inputs: tuple[Sample, Sample],
) -> None:
    """The blend's mean (or probability) is the mean over paths of sum_s w_s x_s[i]: its
    error is that of those per-path values, exactly, and so is its difference's from the
    reference; it can never exceed sum_s w_s se_s (batch means could)."""
    a, b = blend_inputs
    w = {"calm": 0.3, "shocked": 0.7}
    c = compare([a, b], weights=w)
    assert c.paired
    checked = 0
    for i, h in enumerate(a.horizons):
        va, vb = a.values["brent"][:, i], b.values["brent"][:, i]
        for stat, xa, xb in (
            ("mean", va, vb),
            ("prob_above_80", (va >= 80).astype(float), (vb >= 80).astype(float)),
        ):
            blend = c.value("blend", "brent", h, stat)
            x = w["calm"] * xa + w["shocked"] * xb
            assert blend["std_error"] == pytest.approx(x.std(ddof=1) / math.sqrt(x.size), rel=1e-12)
            d = x - xa  # calm is the reference
            assert blend["diff_std_error"] == pytest.approx(
                d.std(ddof=1) / math.sqrt(d.size), rel=1e-12
            )
            bound = sum(w[n] * c.value(n, "brent", h, stat)["std_error"] for n in w)
            assert blend["std_error"] <= bound * (1 + 1e-12)
            checked += 1
    assert checked == 2 * len(a.horizons)


def test_unequal_weight_blend_is_the_weighted_mixture(blend_inputs: tuple[Sample, Sample]) -> None:
    """Weights 0.25/0.75 with equal n: the blend is the pool of one copy of the first
    sample and three of the second. Means, probabilities and ES equal the pooled ones (and
    means and probabilities are the weighted averages of the scenarios'); quantiles differ
    only in how they interpolate, so each lies within the pooled order statistics around
    its position (the groups of copies are at most 3 long)."""
    a, b = blend_inputs
    w = {"calm": 0.25, "shocked": 0.75}
    c = compare([a, b], weights=w)
    checked = set()
    for asset in ("brent", "portfolio"):
        spec = a.specs.get(asset) if asset != "portfolio" else None
        for i, h in enumerate(a.horizons):
            va, vb = a.values[asset][:, i], b.values[asset][:, i]
            pooled = np.concatenate([va, vb, vb, vb])
            expected = statistics(pooled, np.ones(pooled.size), spec)
            s = np.sort(pooled)
            for stat, value in expected.items():
                got = c.value("blend", asset, h, stat)["value"]
                if stat == "mean" or stat.startswith("prob_"):
                    assert got == pytest.approx(value, rel=1e-12, abs=1e-12), (asset, stat)
                    mix = sum(w[name] * c.value(name, asset, h, stat)["value"] for name in w)
                    assert got == pytest.approx(mix, rel=1e-12, abs=1e-12), (asset, stat)
                elif stat.startswith("es_"):
                    assert got == pytest.approx(value, rel=1e-9), (asset, stat)
                else:
                    level = {"var_95": 0.05, "var_99": 0.01}.get(stat)
                    qq = level if level is not None else int(stat[1:]) / 100
                    pos = qq * s.size - 0.5
                    lo = s[max(0, math.floor(pos) - 3)]
                    hi = s[min(s.size - 1, math.ceil(pos) + 3)]
                    if level is not None:
                        lo, hi = -hi, -lo
                    assert lo <= got <= hi, (asset, h, stat, lo, got, hi)
                checked.add(stat)
    assert {"mean", "p05", "p95", "prob_loss", "es_95", "var_99", "prob_above_80"} <= checked


# --------------------------------------------------------------------------- weights


def test_parse_weights_normalises_with_a_note() -> None:
    weights, note = parse_weights("a=1, b=3, c=0", ["a", "b", "c"])
    assert weights == {"a": 0.25, "b": 0.75, "c": 0.0}
    assert note == "weights summed to 4; normalised to 1"
    weights, note = parse_weights("a=0.3,b=0.7", ["a", "b"])
    assert weights == {"a": 0.3, "b": 0.7}
    assert note is None
    assert parse_weights("a=0,b=1", ["a", "b"]) == ({"a": 0.0, "b": 1.0}, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=0.3,b", "--weights: 'b' is not NAME=WEIGHT"),
        ("a=0.5,zz=0.5", "--weights: 'zz' is not one of the compared scenarios (a, b)"),
        ("a=half", "--weights: 'half' for a is not a number"),
        ("a=-0.1,b=1", "--weights: the weight of a must be a finite number >= 0"),
        ("a=nan", "--weights: the weight of a must be a finite number >= 0"),
        ("b=inf", "--weights: the weight of b must be a finite number >= 0"),
        ("a=0,b=0", "--weights: at least one weight must be positive"),
        (
            "",
            "--weights: no weight for a, b; give every compared scenario one (0 leaves it "
            "out of the blend)",
        ),
        (
            "b=1",
            "--weights: no weight for a; give every compared scenario one (0 leaves it out "
            "of the blend)",
        ),
    ],
)
def test_parse_weights_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_weights(text, ["a", "b"])
    assert str(info.value) == message


# --------------------------------------------------------------------------- refusals


def test_check_comparable_refusals(
    pair: tuple[LoadedScenario, LoadedScenario], tmp_path: Path
) -> None:
    calm, shocked = pair
    a = sample_of(calm, 1, 100)
    b = sample_of(shocked, 1, 100)
    short = sample_of(shocked, 1, 100, horizon_days=10)
    with pytest.raises(InputError) as info:
        check_comparable([a, short], ["x", "y"])
    assert str(info.value) == "cannot compare x and y: horizons differ ([5, 20] vs [5, 10])"
    with pytest.raises(InputError) as info:
        check_comparable([a, a], ["x", "y"])
    assert str(info.value) == "cannot compare x and y: both are scenario 'calm'"
    path = tmp_path / "book.yaml"
    path.write_text("positions:\n  brent: {notional_usd: 1}\n", encoding="utf-8")
    with_book = sample_of(shocked, 1, 100, load_portfolio(path))
    with pytest.raises(InputError) as info:
        check_comparable([a, with_book], ["x", "y"])
    assert str(info.value) == "cannot compare x and y: only y was run with a portfolio"
    check_comparable([a, b], ["x", "y"])  # fine


def _refused(runner: Any, tmp_path: Path, *args: str | Path) -> str:
    out = tmp_path / "cmp_out"
    result = invoke(
        runner, "compare", *args, "--paths", "200", "--workers", "1", "--quiet", "--out", out
    )
    assert result.exit_code == 2, result.output
    assert not out.exists() or not any(out.iterdir())
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_compare_refuses_different_as_of_dates(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    b = write_doc(tmp_path, "second", {"as_of": "2026-02-05"})
    assert _refused(runner, tmp_path, a, b) == (
        f"Error: cannot compare {a} and {b}: as-of dates differ (2026-02-06 vs 2026-02-05)"
    )


def test_compare_refuses_different_horizons(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    b = write_doc(tmp_path, "second", {"horizon_days": 10})
    assert _refused(runner, tmp_path, a, b) == (
        f"Error: cannot compare {a} and {b}: horizons differ ([5, 20] vs [5, 10])"
    )


def test_compare_refuses_different_assets(runner: Any, tmp_path: Path) -> None:
    gold = {
        "label": "Gold",
        "rationale": "a haven",
        "kind": "price",
        "start": q(2000.0, "USD/oz"),
        "drift": q(0.0, "per year"),
        "vol": q(0.15, "annualised"),
        "stressed_vol_multiplier": q(1.0, "multiplier"),
        "beta_supply": q(0.0, "beta"),
        "risk_off": q(1.0, "percent"),
    }
    a = write_doc(tmp_path, "first")
    b = write_doc(
        tmp_path,
        "second",
        {
            "assets": {"gold": gold},
            "correlations": {"rationale": "none given", "noise_df": q(5, "degrees of freedom")},
        },
    )
    assert _refused(runner, tmp_path, a, b) == (
        f"Error: cannot compare {a} and {b}: assets differ (only in {a}: none; only in {b}: gold)"
    )


def test_compare_refuses_the_same_scenario_twice(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    assert _refused(runner, tmp_path, a, a) == (
        f"Error: cannot compare {a} and {a}: both are scenario 'first'"
    )


def test_compare_refuses_fewer_than_two_inputs(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    assert _refused(runner, tmp_path, a) == (
        "Error: compare needs at least two scenario files or run directories"
    )


def test_compare_refuses_files_mixed_with_directories(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    d = tmp_path / "somedir"
    d.mkdir()
    assert _refused(runner, tmp_path, a, d) == (
        f"Error: give either scenario files or run directories, not both: {d} is a "
        f"directory, {a} is not"
    )


def test_compare_refuses_a_directory_without_manifest(runner: Any, tmp_path: Path) -> None:
    d1, d2 = tmp_path / "run1", tmp_path / "run2"
    d1.mkdir()
    d2.mkdir()
    result = invoke(runner, "compare", d1, d2, "--quiet", "--out", tmp_path / "cmp_out")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {d1}: not a run directory (no manifest.json)\n"


# --------------------------------------------------------------------------- directories


def test_comparing_run_directories_equals_comparing_the_files(runner: Any, tmp_path: Path) -> None:
    """`sim run` both scenarios with one seed, then `sim compare` the run directories: the
    comparison (values, errors, differences, blend) is the one `sim compare` computes from
    the scenario files with that seed, and both write the six comparison files."""
    a = write_doc(tmp_path, "calm")
    b = write_doc(tmp_path, "shocked", SHOCK)
    common = ["--paths", "1000", "--seed", "7", "--workers", "1"]
    runs = tmp_path / "runs"
    result = invoke(runner, "run", a, b, *common, "--quiet", "--out", runs)
    assert result.exit_code == 0, result.output

    weights = ["--weights", "calm=1,shocked=3", "--reference", "shocked"]
    from_dirs = invoke(
        runner, "compare", runs / "calm", runs / "shocked", *weights, "--out", tmp_path / "c1"
    )
    from_files = invoke(
        runner, "compare", a, b, *common, *weights, "--quiet", "--out", tmp_path / "c2"
    )
    assert from_dirs.exit_code == 0, from_dirs.output
    assert from_files.exit_code == 0, from_files.output
    # The weights were normalised, and said so (not in --quiet mode).
    assert from_dirs.stderr == "Note: weights summed to 4; normalised to 1\n"
    assert from_files.stderr == ""

    d1 = tmp_path / "c1" / "compare-calm-shocked"
    d2 = tmp_path / "c2" / "compare-calm-shocked"
    assert from_files.stdout.strip() == str(d2.resolve())
    csv1 = (d1 / "comparison.csv").read_text(encoding="utf-8")
    csv2 = (d2 / "comparison.csv").read_text(encoding="utf-8")
    assert csv1 == csv2
    lines = csv1.splitlines()
    assert any(line.startswith("blend,brent,20,mean,") for line in lines)
    assert any(line.startswith("shocked,brent,20,prob_ever_above_80,") for line in lines)
    assert any(line.startswith("calm,brent,20,mean,") and ",shocked," in line for line in lines)

    for d in (d1, d2):
        assert {p.name for p in d.iterdir()} == COMPARE_FILES
        record = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        assert record["files"] == sorted(COMPARE_FILES)
        assert record["scenarios"] == ["calm", "shocked"]
        assert record["reference"] == "shocked"
        assert record["paired_common_random_numbers"] is True
        assert record["weights"] == {"calm": 0.25, "shocked": 0.75}
        assert record["weights_note"] == "weights summed to 4; normalised to 1"
        for png in ("brent_fans.png", "brent_densities.png", "probabilities.png"):
            assert (d / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_with_different_bit_generators_are_not_paired() -> None:
    """Same seed, paths and blocks but another bit generator (a manifest written before the
    generator was recorded means PCG64): path i holds different draws, so no pairing."""
    from simulator.compare import paired

    def sample(**meta: object) -> Sample:
        base = {"seed": 1, "paths": 100, "block_size": 50, **meta}
        return Sample("s", base, [5], {}, {}, {}, [])

    assert paired([sample(bit_generator="SFC64"), sample(bit_generator="SFC64")])
    assert not paired([sample(bit_generator="SFC64"), sample()])
    assert paired([sample(bit_generator="PCG64"), sample()])


def test_runs_with_different_stream_layouts_are_not_paired() -> None:
    """Same seed, paths, blocks and generator, but the draws laid out in the streams
    another way (a manifest without ``stream_layout`` means layout 1): not paired, and
    the reason says so."""
    from simulator.compare import paired, unpaired_reason

    def sample(name: str, **meta: object) -> Sample:
        base = {"seed": 1, "paths": 100, "block_size": 50, "bit_generator": "SFC64", **meta}
        return Sample(name, base, [5], {}, {}, {}, [])

    assert paired([sample("a", stream_layout=2), sample("b", stream_layout=2)])
    assert paired([sample("a", stream_layout=1), sample("b")])
    assert unpaired_reason([sample("a", stream_layout=2), sample("b")]) == (
        "stream layouts differ (a 2, b 1)"
    )


def test_runs_of_one_scenario_compare_by_directory_name(runner: Any, tmp_path: Path) -> None:
    """Two seeds of one scenario (a convergence check): told apart by their directories,
    unpaired, so differences use independent errors."""
    a = write_doc(tmp_path, "first")
    runs = tmp_path / "runs"
    for seed in ("1", "2"):
        result = invoke(
            runner, "run", a, "--paths", "300", "--seed", seed, "-w", "1", "-q", "--out", runs
        )
        assert result.exit_code == 0, result.output
    dirs = [runs / "first", runs / "first-2"]
    out = tmp_path / "cmp"
    result = invoke(runner, "compare", *dirs, "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "compare-first-first-2" / "comparison.csv").open()))
    assert {r["scenario"] for r in rows} == {"first", "first-2"}
    diff = next(
        r
        for r in rows
        if (r["scenario"], r["asset"], r["horizon_days"], r["statistic"])
        == ("first-2", "brent", "20", "mean")
    )
    assert diff["diff_std_error"] == diff["diff_std_error_independent"]


def test_unpaired_runs_say_why_in_the_terminal_and_the_reports(runner: Any, tmp_path: Path) -> None:
    """Same seed, other path counts: not paired, and the note names what differs."""
    a = write_doc(tmp_path, "first")
    runs = tmp_path / "runs"
    for paths in ("300", "200"):
        args = ["run", a, "--paths", paths, "--seed", "5", "-w", "1", "-q", "--out", runs]
        assert invoke(runner, *args).exit_code == 0
    out = tmp_path / "cmp"
    result = invoke(runner, "compare", runs / "first", runs / "first-2", "--out", out)
    assert result.exit_code == 0, result.output
    reason = "path counts differ (first 300, first-2 200)"
    assert (
        f"Note: the runs are not paired ({reason}): differences get the errors of "
        "independent runs; rerun with one seed, path count and block size to pair them"
    ) in " ".join(result.stderr.split())
    target = out / "compare-first-first-2"
    md = (target / "comparison.md").read_text(encoding="utf-8")
    assert f"Runs are not paired ({reason}): differences assume independence." in md
    html = (target / "report.html").read_text(encoding="utf-8")
    assert "paths: first 300, first-2 200." in html
    quiet = invoke(runner, "compare", runs / "first", runs / "first-2", "-q", "--out", out)
    assert quiet.exit_code == 0
    assert quiet.stderr == ""


def test_compare_with_a_portfolio_prints_the_books_var_in_the_terminal(
    runner: Any, tmp_path: Path
) -> None:
    """Mean ± se, VaR and ES at 99% at the last horizon and the VaR's paired difference,
    as in comparison.csv."""
    a = write_doc(tmp_path, "first")
    b = write_doc(tmp_path, "second", {"oil": {"spot": q(80.0, "USD/bbl")}})
    book = tmp_path / "book.yaml"
    book.write_text("positions:\n  brent: {notional_usd: 1_000_000}\n", encoding="utf-8")
    out = tmp_path / "cmp"
    args = ["compare", a, b, "--portfolio", book, "--paths", "400", "-w", "1", "--out", out]
    result = invoke(runner, *args)
    assert result.exit_code == 0, result.output
    rows = {
        (r["scenario"], r["statistic"]): r
        for r in csv.DictReader((out / "compare-first-second" / "comparison.csv").open())
        if r["asset"] == "portfolio" and r["horizon_days"] == "20"
    }
    lines = result.stdout.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Portfolio P&L at 20 trading"))
    for scen in ("first", "second"):
        line = next(x for x in lines[start:] if x.strip("│ ").startswith(scen))
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        mean = rows[(scen, "mean")]
        assert cells[1] == format_stat(
            float(mean["value"]), float(mean["std_error"]), 0, grouping=True
        )
        assert cells[2] == f"{float(rows[(scen, 'var_99')]['value']):,.0f}"
        assert cells[3] == f"{float(rows[(scen, 'es_99')]['value']):,.0f}"
    var = rows[("second", "var_99")]
    assert cells[4] == format_stat(
        float(var["diff"]), float(var["diff_std_error"]), 0, grouping=True, signed=True
    )
    assert "Standard errors of VaR and ES: comparison.md" in result.stdout


def test_runs_of_one_scenario_in_two_folders_compare_by_path(runner: Any, tmp_path: Path) -> None:
    a = write_doc(tmp_path, "first")
    for seed, folder in (("1", "out1"), ("2", "out2")):
        result = invoke(
            runner,
            "run",
            a,
            "--paths",
            "300",
            "--seed",
            seed,
            "-w",
            "1",
            "-q",
            "--out",
            tmp_path / folder,
        )
        assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    dirs = [tmp_path / "out1" / "first", tmp_path / "out2" / "first"]
    result = invoke(runner, "compare", *dirs, "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["compare-out1_first-out2_first"]
    rows = list(csv.DictReader((out / "compare-out1_first-out2_first" / "comparison.csv").open()))
    assert {r["scenario"] for r in rows} == {"out1/first", "out2/first"}


def test_compare_refuses_one_scenario_file_twice_before_running(
    runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write_doc(tmp_path, "first")
    copy = tmp_path / "copy.yaml"
    copy.write_text(a.read_text())
    monkeypatch.setattr(simulator.cli, "run", lambda *a, **k: pytest.fail("ran"))
    assert _refused(runner, tmp_path, a, copy) == (
        f"Error: cannot compare {a} and {copy}: both are scenario 'first'"
    )


@pytest.mark.parametrize(
    "option",
    [
        ["--paths", "500"],
        ["--paths", "20000"],  # the default, given explicitly
        ["--seed", "3"],
        ["--horizon", "5"],
        ["--workers", "2"],
    ],
)
def test_run_directories_refuse_run_options(runner: Any, tmp_path: Path, option: list[str]) -> None:
    a, b = write_doc(tmp_path, "first"), write_doc(tmp_path, "second")
    runs = tmp_path / "runs"
    for path in (a, b):
        result = invoke(runner, "run", path, "--paths", "200", "-w", "1", "-q", "--out", runs)
        assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    result = invoke(runner, "compare", runs / "first", runs / "second", *option, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {option[0]}: run directories are not re-run (they keep their own paths, seed "
        "and horizon); these options apply to scenario files\n"
    )
    assert not out.exists()


def test_a_run_directory_given_twice_is_named(runner: Any, tmp_path: Path) -> None:
    """Found by the fuzz tests: the error must name the directory."""
    a = write_doc(tmp_path, "first")
    runs = tmp_path / "runs"
    result = invoke(runner, "run", a, "--paths", "200", "-w", "1", "-q", "--out", runs)
    assert result.exit_code == 0, result.output
    d = runs / "first"
    result = invoke(
        runner, "compare", d, tmp_path / "runs" / "." / "first", "--out", tmp_path / "c"
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: cannot compare {tmp_path / 'runs' / '.' / 'first'} with itself (given twice)\n"
    )


def test_a_scenarios_values_and_errors_are_those_of_sim_run(
    pair: tuple[LoadedScenario, LoadedScenario], tmp_path: Path
) -> None:
    """Same seed, same paths: compare reports each scenario's statistics with the values and
    standard errors `sim run` gives (quantiles, probabilities, means, VaR and ES alike)."""
    calm, shocked = pair
    book = tmp_path / "book.yaml"
    book.write_text("positions:\n  brent: {notional_usd: 1000000}\n", encoding="utf-8")
    portfolio = load_portfolio(book)
    results = [
        run(s, RunConfig(paths=3000, seed=4, workers=1), portfolio=portfolio)
        for s in (calm, shocked)
    ]
    samples = [Sample.from_result(r, manifest(r, Path("."), [])) for r in results]
    c = compare(samples, "calm")
    rows = {
        (r["asset"], r["horizon_days"], r["statistic"]): (r["value"], r["std_error"])
        for r in c.rows
        if r["scenario"] == "shocked"
    }
    summary = results[1].summary
    expected = [*summary.series["brent"].rows()]
    assert summary.portfolio is not None
    expected += [row for row in summary.portfolio.rows() if row[0] == "portfolio"]
    checked = 0
    for asset, h, stat, value, se in expected:
        if (asset, h, stat) in rows:
            assert rows[(asset, h, stat)] == pytest.approx((value, se), rel=1e-9, abs=1e-12)
            checked += 1
    assert checked >= 20
    for stat in ("var_95", "es_99", "p05", "prob_above_80", "prob_ever_above_80", "mean"):
        assert any(key[2] == stat for key in rows)


def test_first_passage_differences_and_blend_use_the_running_extremes(
    pair: tuple[LoadedScenario, LoadedScenario],
) -> None:
    """prob_ever_above_X: per scenario the share of paths whose highest close up to the
    horizon exceeds X (as sim run counts it), the difference the mean of per-path
    differences, the blend the weighted share."""
    calm, shocked = pair
    a, b = sample_of(calm, 5, 2000), sample_of(shocked, 5, 2000)
    c = compare([a, b], "calm", weights={"calm": 0.25, "shocked": 0.75})
    h_i = len(a.horizons) - 1
    h = a.horizons[h_i]
    hit = {s.name: (s.running["brent"][:, 0, h_i] > 80.0).astype(float) for s in (a, b)}
    row = c.value("shocked", "brent", h, "prob_ever_above_80")
    assert row["value"] == pytest.approx(hit["shocked"].mean(), rel=1e-12)
    d = hit["shocked"] - hit["calm"]
    assert row["diff"] == pytest.approx(d.mean(), abs=1e-15)
    assert row["diff_std_error"] == pytest.approx(d.std(ddof=1) / math.sqrt(len(d)), rel=1e-12)
    blend = c.value("blend", "brent", h, "prob_ever_above_80")
    expected = 0.25 * hit["calm"].mean() + 0.75 * hit["shocked"].mean()
    assert blend["value"] == pytest.approx(expected, rel=1e-12)
    # Having ended above 80 means having been above it.
    at = c.value("shocked", "brent", h, "prob_above_80")["value"]
    assert row["value"] >= at
    assert b.running["brent"][:, 0, h_i].max() >= b.values["brent"][:, h_i].max()


def test_runs_without_running_extremes_compare_without_first_passage(
    runner: Any, tmp_path: Path
) -> None:
    """paths.npz from before the running extremes were kept: compared as before, without
    the prob_ever rows."""
    a = write_doc(tmp_path, "calm")
    b = write_doc(tmp_path, "shocked", SHOCK)
    runs = tmp_path / "runs"
    common = ["--paths", "500", "--seed", "3", "--workers", "1", "--quiet"]
    assert invoke(runner, "run", a, b, *common, "--out", runs).exit_code == 0
    old = runs / "calm" / "paths.npz"
    with np.load(old) as data:
        kept = {k: data[k] for k in data.files if "." not in k}
    assert set(kept) == {"brent"}
    np.savez(old, **kept)
    result = invoke(runner, "compare", runs / "calm", runs / "shocked", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"Note: {runs / 'calm'}: no running extremes of brent (written by an earlier "
        "version); first-passage probabilities are left out\n"
    )
    with (tmp_path / "c" / "compare-calm-shocked" / "comparison.csv").open() as fh:
        stats = {row["statistic"] for row in csv.DictReader(fh)}
    assert "prob_above_80" in stats
    assert not any("ever" in stat for stat in stats)

    kept["brent.running_max"] = kept["brent.running_min"] = kept["brent"][:10]
    np.savez(old, **kept)
    result = invoke(runner, "compare", runs / "calm", runs / "shocked", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {runs / 'calm'}: not a usable run directory (ValueError: paths.npz: "
        "'brent.running_max/min' do not match 'brent')\n"
    )
    del kept["brent.running_min"]
    np.savez(old, **kept)
    result = invoke(runner, "compare", runs / "calm", runs / "shocked", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "(ValueError: paths.npz: 'brent.running_max/min' come in pairs)\n"
    )


def test_paired_differences_of_means_use_the_per_path_differences(
    pair: tuple[LoadedScenario, LoadedScenario],
) -> None:
    calm, shocked = pair
    a, b = sample_of(calm, 3, 2000), sample_of(shocked, 3, 2000)
    c = compare([a, b], "calm")
    h_i = len(a.horizons) - 1
    row = next(
        r
        for r in c.rows
        if (r["scenario"], r["asset"], r["horizon_days"], r["statistic"])
        == ("shocked", "brent", a.horizons[h_i], "mean")
    )
    d = b.values["brent"][:, h_i] - a.values["brent"][:, h_i]
    assert row["diff"] == pytest.approx(d.mean(), rel=1e-12)
    assert row["diff_std_error"] == pytest.approx(d.std(ddof=1) / math.sqrt(len(d)), rel=1e-12)
    assert row["variance_reduction"] > 1.0  # common random numbers pay


def test_terminal_rows_show_the_headline_probabilities_in_percent(
    pair: tuple[LoadedScenario, LoadedScenario],
) -> None:
    from simulator.report.compare_report import terminal_table

    calm, shocked = pair
    c = compare([sample_of(calm, 6, 1000), sample_of(shocked, 6, 1000)], "calm")
    h = c.samples[0].horizons[-1]
    rows = {row[0]: row for row in terminal_table(c)}
    assert rows["calm"][2] == "reference"
    for scen, row in rows.items():
        median = c.value(scen, "brent", h, "p50")
        assert row[1] == f"{median['value']:.2f} ± {median['std_error']:.2f}"
        for cell, stat in zip(row[3:], ("prob_above_100", "prob_ever_above_100"), strict=True):
            p = c.value(scen, "brent", h, stat)
            assert cell == f"{100 * p['value']:.1f} ± {100 * p['std_error']:.1f}%"
    assert rows["shocked"][2].startswith(f"{c.value('shocked', 'brent', h, 'p50')['diff']:+.2f} ± ")


def test_compare_refuses_more_paths_than_it_keeps_before_running(
    runner: Any, tmp_path: Path
) -> None:
    """A comparison needs every path's values; asking for more paths than a run keeps them
    for is refused at once (exit 2, nothing written), not after the first run."""
    a, b = write_doc(tmp_path, "alpha"), write_doc(tmp_path, "beta")
    loaded = load_scenario(a)
    limit = max_exact_paths(loaded.scenario, loaded.scenario.horizon_days, False)
    out = tmp_path / "out"
    result = invoke(runner, "compare", a, b, "--paths", str(limit + 1), "--quiet", "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {a}: --paths {limit + 1:,} is more than a comparison can keep each path's "
        f"values for ({limit:,} for this scenario); use fewer --paths\n"
    )
    assert not out.exists()
