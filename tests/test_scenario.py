"""Scenario loader: the shipped baseline, ``extends`` merging, and located errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DELETE, SCENARIOS, asset, event, minimal_doc, q, scenario_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import ScenarioError
from simulator.quantities import Fixed, Uniform
from simulator.scenario import MAX_NODES, Scenario, event_order, load_scenario


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing ``needle`` (after one containing ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line) + 1
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


# --------------------------------------------------------------------------- baseline


def test_baseline_loads() -> None:
    path = SCENARIOS / "baseline.yaml"
    loaded = load_scenario(path)
    s = loaded.scenario
    assert s.name == "baseline"
    assert s.as_of == dt.date(2026, 2, 6)
    assert s.horizon_days == 126
    assert s.horizons() == [5, 21, 63, 126]
    assert s.oil.spot.mean() == 70.45
    assert set(s.events) >= {"premium_fades", "flare_up"}
    assert set(s.offsets) >= {"opec_spare", "us_spr"}
    assert loaded.files == [path]
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.sha256_all == {str(path): loaded.sha256}


def test_minimal_scenario_loads(write_scenario: Any) -> None:
    path = write_scenario()
    s = load_scenario(path).scenario
    assert s.name == "mini"
    assert s.events == {}
    assert s.offsets == {}
    assert s.horizons() == [5, 20]
    assert s.horizons(7) == [5, 7]


def test_name_defaults_to_the_file_stem(write_scenario: Any) -> None:
    path = write_scenario({"name": DELETE}, name="my_case.yaml")
    assert load_scenario(path).scenario.name == "my_case"


def test_file_stem_that_is_not_a_name(write_scenario: Any) -> None:
    path = write_scenario({"name": DELETE}, name="My-Case.yaml")
    err = error_of(path)
    assert err.field == "name"
    assert err.message == (
        "no 'name' given and the file name 'My-Case' is not a valid name "
        "(lower-case letters, digits and underscores, starting with a letter, at most 64 "
        "characters)"
    )


def test_event_order_puts_dependencies_first() -> None:
    s = Scenario.model_validate(
        scenario_doc(
            {
                "events": {
                    "c": event(requires=["b"]),
                    "a": event(),
                    "b": event(excludes=["a"]),
                }
            }
        )
    )
    assert event_order(s.events) == ["a", "b", "c"]


# --------------------------------------------------------------------------- extends


BASE_EVENTS = {
    "shock": event(
        0.3, 5, risk_premium={"size": q(5.0, "USD/bbl"), "half_life": q(10, "trading days")}
    ),
    "calm": event(0.5, 10),
}


@pytest.fixture
def base_file(write_scenario: Any) -> Path:
    doc = scenario_doc(
        {
            "name": "base_case",
            "description": "the base",
            "horizon_days": 30,
            "oil": {
                "short_term": {
                    "vol": {
                        "dist": "uniform",
                        "low": 0.2,
                        "high": 0.3,
                        "unit": "annualised",
                        "rationale": "a range",
                    }
                }
            },
            "events": BASE_EVENTS,
        }
    )
    return write_scenario(doc=doc, name="base.yaml")


def child_text(body: str) -> str:
    return "extends: base.yaml\n" + body


def test_extends_inherits_and_overrides(write_scenario: Any, base_file: Path) -> None:
    path = write_scenario(
        name="child.yaml",
        text=child_text(
            "description: the child\n"
            "horizon_days: 40\n"
            "oil:\n"
            "  short_term:\n"
            "    vol: {value: 0.5, unit: annualised, rationale: replaced whole}\n"
        ),
    )
    loaded = load_scenario(path)
    s = loaded.scenario
    # A quantity is replaced whole: the base's low/high do not leak into the fixed value.
    assert isinstance(s.oil.short_term.vol, Fixed)
    assert s.oil.short_term.vol.value == 0.5
    # Siblings of an overridden key are inherited.
    assert s.oil.short_term.half_life.value == 20
    assert s.horizon_days == 40
    assert set(s.events) == {"shock", "calm"}
    assert loaded.files == [path, base_file]
    assert set(loaded.sha256_all) == {str(path), str(base_file)}
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_extends_replaces_a_fixed_value_with_a_distribution(
    write_scenario: Any, base_file: Path
) -> None:
    path = write_scenario(
        name="child.yaml",
        text=child_text(
            "description: the child\n"
            "oil:\n"
            "  spot: {dist: uniform, low: 60, high: 80, unit: USD/bbl, rationale: a range}\n"
        ),
    )
    spot = load_scenario(path).scenario.oil.spot
    assert isinstance(spot, Uniform)
    assert (spot.low, spot.high) == (60, 80)


def test_extends_adds_and_removes_events(write_scenario: Any, base_file: Path) -> None:
    path = write_scenario(
        name="child.yaml",
        text=child_text(
            "description: the child\n"
            "events:\n"
            "  calm: null\n"
            "  shock:\n"
            "    probability: {value: 0.9, unit: probability, rationale: more likely}\n"
            "  new_one:\n"
            "    rationale: added by the child\n"
            "    requires: [shock]\n"
            "    probability: {value: 0.4, unit: probability, rationale: abc}\n"
            "    timing: {value: 2, unit: trading days, rationale: abc}\n"
        ),
    )
    s = load_scenario(path).scenario
    assert list(s.events) == ["shock", "new_one"]
    assert s.events["shock"].probability.value == 0.9
    # The rest of the overridden event is inherited.
    assert s.events["shock"].risk_premium is not None
    assert s.events["shock"].timing.value == 5
    assert s.events["new_one"].requires == ["shock"]


def test_name_and_description_are_not_inherited(write_scenario: Any, base_file: Path) -> None:
    path = write_scenario(name="child.yaml", text=child_text("description: the child\n"))
    s = load_scenario(path).scenario
    assert s.name == "child"
    assert s.description == "the child"
    missing = write_scenario(name="child2.yaml", text=child_text("horizon_days: 10\n"))
    err = error_of(missing)
    assert err.field == "description"
    assert err.message == "required field is missing"


def test_error_in_inherited_part_points_at_the_base(write_scenario: Any) -> None:
    base = write_scenario(
        name="base.yaml",
        doc=scenario_doc(
            {
                "events": {
                    "a": event(),
                    "b": event(requires=["a"]),
                }
            }
        ),
    )
    path = write_scenario(
        name="child.yaml", text=child_text("description: the child\nevents:\n  a: null\n")
    )
    err = error_of(path)
    assert err.file == str(base)
    assert err.field == "events.b.requires"
    assert err.line == line_of(base, "requires:", after="  b:")
    assert err.message == "'a' is not an event of this scenario (events: b)"


def test_missing_base_file(write_scenario: Any) -> None:
    path = write_scenario(name="child.yaml", text="name: c\nextends: nowhere.yaml\n")
    err = error_of(path)
    assert (err.file, err.field, err.line) == (str(path), "extends", 2)
    assert err.message == (
        f"base file 'nowhere.yaml' not found (looked for {path.parent / 'nowhere.yaml'})"
    )


def test_null_for_an_event_the_base_lacks_is_an_error(write_scenario: Any, base_file: Path) -> None:
    """A misspelt deletion would otherwise leave the inherited event in the model."""
    path = write_scenario(
        name="child.yaml", text=child_text("description: the child\nevents:\n  calmm: null\n")
    )
    err = error_of(path)
    assert str(err) == (
        f"{path}:4: events.calmm: null removes an inherited event, but the base file has no "
        "event 'calmm'; did you mean 'calm'?"
    )


def test_a_field_missing_from_a_child_is_the_childs(write_scenario: Any, base_file: Path) -> None:
    """The base's description is not inherited: the error names the child, not the base."""
    path = write_scenario(name="child.yaml", text=child_text("horizon_days: 40\n"))
    err = error_of(path)
    assert (err.file, err.line, err.field) == (str(path), 1, "description")
    assert err.message == "required field is missing"


@pytest.mark.parametrize("value", ["yes", "true", "false"])
def test_a_yaml_boolean_is_not_a_number(write_scenario: Any, value: str) -> None:
    """YAML reads yes/true as booleans; pydantic would otherwise take them as 1 and 0."""
    path = write_scenario(
        {"oil": {"spot": {"value": "PLACEHOLDER", "unit": "USD/bbl", "rationale": "abc"}}}
    )
    path.write_text(path.read_text().replace("PLACEHOLDER", value), encoding="utf-8")
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot.value", line_of(path, f"value: {value}"))
    assert err.message == f"Input should be a valid number, got {value in ('yes', 'true')}"


def test_cyclic_extends(write_scenario: Any) -> None:
    a = write_scenario(name="a.yaml", text="name: a\nextends: b.yaml\n")
    write_scenario(name="b.yaml", text="# b\nextends: a.yaml\n")
    err = error_of(a)
    assert err.message == "cyclic extends: a.yaml -> b.yaml -> a.yaml"
    assert err.field == "extends"
    # The error points at the extends that closes the cycle.
    assert (Path(err.file).name, err.line) == ("b.yaml", 2)


def test_cyclic_extends_has_a_line(write_scenario: Any) -> None:
    a = write_scenario(name="a.yaml", text="name: a\nextends: b.yaml\n")
    write_scenario(name="b.yaml", text="# b\nextends: a.yaml\n")
    assert error_of(a).line is not None


def test_self_extends(write_scenario: Any) -> None:
    a = write_scenario(name="a.yaml", text="extends: a.yaml\n")
    assert error_of(a).message == "cyclic extends: a.yaml -> a.yaml"


def test_extends_must_be_a_string(write_scenario: Any) -> None:
    path = write_scenario(text="name: a\nextends: [1, 2]\n")
    err = error_of(path)
    assert (err.field, err.line) == ("extends", 2)
    assert err.message == "extends must be a file name relative to this file"


# --------------------------------------------------------------------------- located errors


def test_unknown_key_suggests_the_nearest(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"short_term": {"half_lfe": q(3, "trading days")}}})
    err = error_of(path)
    assert err.file == str(path)
    assert err.field == "oil.short_term.half_lfe"
    assert err.line == line_of(path, "half_lfe:")
    assert err.message == "unknown field; did you mean 'half_life'? (allowed: half_life, vol)"
    assert str(err) == f"{path}:{err.line}: oil.short_term.half_lfe: {err.message}"


def test_unknown_top_level_key(write_scenario: Any) -> None:
    path = write_scenario({"horizon_dayz": 30})
    err = error_of(path)
    assert (err.field, err.line) == ("horizon_dayz", line_of(path, "horizon_dayz"))
    assert err.message.startswith("unknown field; did you mean 'horizon_days'? (allowed: ")


def test_misspelt_required_key_suggests_the_nearest(write_scenario: Any) -> None:
    doc = scenario_doc()
    doc["oil"]["spott"] = doc["oil"].pop("spot")
    err = error_of(write_scenario(doc=doc))
    assert err.field == "oil.spott"
    assert "did you mean 'spot'?" in err.message


def test_wrong_type(write_scenario: Any) -> None:
    path = write_scenario({"horizon_days": "abc"})
    err = error_of(path)
    assert (err.field, err.line) == ("horizon_days", line_of(path, "horizon_days"))
    assert err.message == ("Input should be a valid integer, got 'abc'")


def test_wrong_type_inside_a_quantity(write_scenario: Any) -> None:
    path = write_scenario(
        {"oil": {"spot": {"value": "cheap", "unit": "USD/bbl", "rationale": "abc"}}}
    )
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot.value", line_of(path, "value: cheap"))
    assert err.message == ("Input should be a valid number, got 'cheap'")


def test_plain_number_instead_of_a_quantity(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"spot": 70}})
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot", line_of(path, "spot: 70"))
    assert err.message.startswith("expected a quantity: {value, unit, rationale}")


def test_missing_unit(write_scenario: Any) -> None:
    doc = scenario_doc()
    del doc["oil"]["spot"]["unit"]
    path = write_scenario(doc=doc)
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot.unit", line_of(path, "spot:"))
    assert err.message == "missing unit: this quantity is in 'USD/bbl'"


def test_probability_above_one(write_scenario: Any) -> None:
    path = write_scenario({"events": {"e": event(probability=1.5)}})
    err = error_of(path)
    assert err.field == "events.e.probability"
    assert err.line == line_of(path, "probability:")
    assert err.message == "must be <= 1 probability, got 1.5"


def test_negative_volatility(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"long_term": {"vol": q(-0.2, "annualised")}}})
    err = error_of(path)
    assert err.field == "oil.long_term.vol"
    assert err.line == line_of(path, "vol:", after="long_term:")
    assert err.message == "must be >= 0 annualised, got -0.2"


def test_unknown_model_lists_the_valid_ones(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"innovations": {"model": "cauchy"}}})
    err = error_of(path)
    assert (err.field, err.line) == ("oil.innovations.model", line_of(path, "model: cauchy"))
    assert err.message == "unknown model 'cauchy' (one of normal, student_t)"


def test_misspelt_dist_model_and_shape_are_named_with_their_spelling(
    write_scenario: Any,
) -> None:
    spot = {"dist": "triangualr", "low": 60, "mode": 70, "high": 80, "unit": "USD/bbl"}
    path = write_scenario({"oil": {"spot": {**spot, "rationale": "r"}}})
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot.dist", line_of(path, "dist: triangualr"))
    assert err.message == (
        "unknown dist 'triangualr'; did you mean 'triangular'? (one of fixed, normal, "
        "lognormal, triangular, uniform, beta, discrete, student_t, laplace)"
    )
    path = write_scenario({"oil": {"regimes": {"model": "markv"}}})
    err = error_of(path)
    assert err.message == "unknown model 'markv'; did you mean 'markov'? (one of none, markov)"
    profile = {"shape": "decy", "half_life": q(5, "trading days")}
    effect = {"change": q(-1.0, "mb/d"), "profile": profile}
    path = write_scenario({"events": {"e": event(supply=effect)}})
    err = error_of(path)
    assert (err.field, err.line) == ("events.e.supply.profile.shape", line_of(path, "shape: decy"))
    assert err.message == "unknown shape 'decy'; did you mean 'decay'? (one of step, ramp, decay)"


def test_a_wrong_choice_names_the_value_given(write_scenario: Any) -> None:
    path = write_scenario({"name": "Talks-Fail"})
    err = error_of(path)
    assert err.field == "name"
    assert err.message == (
        "must be lower-case letters, digits and underscores, starting with a letter, at most 64 "
        "characters, got 'Talks-Fail'"
    )
    path = write_scenario({"assets": {"gold": {**asset(), "kind": "prices"}}})
    problems = error_of(path).problems()
    kind = next(p for p in problems if p.field == "assets.gold.kind")
    assert kind.line == line_of(path, "kind: prices")
    assert kind.message == "must be 'price' or 'yield', got 'prices'; did you mean 'price'?"


def test_tabs_in_yaml_say_to_indent_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text("name: t\n\tdescription: x\n")
    err = error_of(path)
    assert (err.file, err.line) == (str(path), 2)
    assert err.message == (
        "YAML error: found character '\\t' that cannot start any token (YAML indents with "
        "spaces, not tabs)"
    )


def test_a_key_that_is_not_text_is_one_problem_at_its_own_line(write_scenario: Any) -> None:
    """YAML reads ``3:``, ``2.5:``, ``yes:`` and ``null:`` as a number, a boolean or null:
    each such key is one problem, located at its own line (a boolean: quote it); the
    (here invalid) contents under it are not reported as well."""
    path = write_scenario(
        text=yaml.safe_dump(minimal_doc(), sort_keys=False)
        + "events:\n"
        + "  3: {probability: 7}\n"
        + "  yes: {probability: 7}\n"
        + "  2.5: {probability: 7}\n"
        + "  null: {probability: 7}\n"
    )
    problems = error_of(path).problems()
    assert [(p.field, p.line, p.message) for p in problems] == [
        ("events.3", line_of(path, "3:"), "a name or key must be text, got the number 3"),
        (
            "events.True",
            line_of(path, "yes:"),
            "a name or key must be text, got True, a boolean (YAML reads unquoted yes/no/on/off "
            "that way): quote it",
        ),
        (
            "events.2.5",
            line_of(path, "2.5:"),
            "a name or key must be text, got the number 2.5",
        ),
        (
            "events.None",
            line_of(path, "null:"),
            "a name or key must be text, got null",
        ),
    ]
    path = write_scenario(
        text=yaml.safe_dump(minimal_doc(), sort_keys=False)
        + "events:\n  2026-01-01: {probability: 7}\n"
    )
    problems = error_of(path).problems()
    assert [(p.line, p.message) for p in problems] == [
        (
            line_of(path, "2026-01-01:"),
            "a name or key must be text, got the date 2026-01-01 (YAML reads unquoted dates "
            "that way)",
        )
    ]
    # A quoted number is text: the name rule speaks (fuzzing once found '\x1f' called a
    # number).
    path = write_scenario(
        text=yaml.safe_dump(minimal_doc(), sort_keys=False) + "events:\n  '9': {probability: 7}\n"
    )
    first = error_of(path).problems()[0]
    assert (first.field, first.line) == ("events.9", line_of(path, "'9':"))
    assert first.message.startswith("must be lower-case letters, digits and underscores")


def test_missing_unit_names_the_unit_of_the_field(write_scenario: Any) -> None:
    doc = asset()
    del doc["stressed_vol_multiplier"]["unit"]
    path = write_scenario({"assets": {"gold": doc}, "correlations": None})
    problems = error_of(path).problems()
    unit = next(p for p in problems if p.field == "assets.gold.stressed_vol_multiplier.unit")
    assert unit.message == "missing unit: this quantity is in 'multiplier'"


def test_an_incomplete_entry_near_an_inherited_name_suggests_it(
    write_scenario: Any, base_file: Path
) -> None:
    """A misspelt override in a child file reads as a new entry missing its fields; a name
    defined beside it in the same file is no such suggestion."""
    path = write_scenario(
        name="child.yaml",
        text=child_text("description: d\nevents:\n  shokc:\n    rationale: a misspelt override\n"),
    )
    err = error_of(path)
    assert (err.field, err.line) == ("events.shokc", line_of(path, "shokc:"))
    assert err.message == (
        "required fields are missing: probability, timing; if this was meant to change the "
        "inherited 'shock', check the spelling"
    )
    path = write_scenario({"events": {"flare": event(), "flarr": {"rationale": "a new one"}}})
    assert error_of(path).message == "required fields are missing: probability, timing"


def test_null_on_a_required_field_says_so(write_scenario: Any, base_file: Path) -> None:
    """null removes whole entries; on a required field it is named as such, quantity or not."""
    for field in ("probability", "rationale"):
        path = write_scenario(
            name="child.yaml",
            text=child_text(f"description: d\nevents:\n  calm:\n    {field}: null\n"),
        )
        err = error_of(path)
        assert (err.file, err.field) == (str(path), f"events.calm.{field}")
        assert err.line == line_of(path, f"{field}: null")
        assert err.message == "cannot be null: the field is required"


def test_null_on_a_field_with_a_default_says_to_leave_it_out(write_scenario: Any) -> None:
    path = write_scenario({"horizon_days": None, "report_horizons_days": [5, None]})
    problems = error_of(path).problems()
    assert [(p.field, p.message) for p in problems] == [
        (
            "horizon_days",
            "cannot be null here: leave the key out (null removes only a whole inherited entry)",
        ),
        ("report_horizons_days.1", "cannot be null: a list item needs a value"),
    ]


def test_a_misspelt_key_hides_only_the_field_it_misspells(write_scenario: Any) -> None:
    doc = event()
    doc["probabilty"] = doc.pop("probability")
    del doc["timing"]
    path = write_scenario({"events": {"e": doc}})
    problems = error_of(path).problems()
    assert {(p.field, p.message.split(";")[0]) for p in problems} == {
        ("events.e.probabilty", "unknown field"),
        ("events.e.timing", "required field is missing"),
    }
    # In file order: the missing field is located at its mapping, above the misspelt key.
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)


def test_a_model_given_as_text_asks_for_a_mapping(write_scenario: Any) -> None:
    path = write_scenario({"oil": {"regimes": "markov"}})
    err = error_of(path)
    assert err.field == "oil.regimes"
    assert err.message == (
        "expected a mapping with 'model:' (none, markov) and its parameters, got 'markov'"
    )


def spare(**extra: Any) -> dict[str, Any]:
    """A supply offset with its required fields, plus ``extra``."""
    return {
        "rationale": "spare capacity",
        "capacity": q(2, "mb/d"),
        "response_fraction": q(0.5, "fraction"),
        "lag": q(5, "trading days"),
        **extra,
    }


def test_missing_unit_of_an_optional_quantity_and_of_a_mapping_value(
    write_scenario: Any,
) -> None:
    offset = spare(
        trigger={"value": 1.0, "rationale": "large losses only"},
        impaired_by={"e": {"value": 0.5, "rationale": "half is left"}},
    )
    path = write_scenario({"events": {"e": event()}, "offsets": {"spare": offset}})
    problems = {p.field: p.message for p in error_of(path).problems()}
    assert problems == {
        "offsets.spare.trigger.unit": "missing unit: this quantity is in 'mb/d'",
        "offsets.spare.impaired_by.e.unit": "missing unit: this quantity is in 'fraction'",
    }


def test_every_problem_is_kept_and_counted(write_scenario: Any) -> None:
    """One error names the first problem and counts the others; problems() lists each,
    located on its own line, and several fields missing from one mapping are one problem."""
    path = write_scenario(
        {
            "oil": {"spot": q(-70, "USD/bbl")},
            "horizon_days": "abc",
            "events": {"e": {"probability": q(0.5, "probability")}},
        }
    )
    err = error_of(path)
    problems = err.problems()
    assert [p.field for p in problems] == ["horizon_days", "oil.spot", "events.e"]
    assert str(err) == str(problems[0]) + " (+2 more problems)"
    assert problems[1].line == line_of(path, "spot:")
    assert problems[2].line == line_of(path, "  e:")
    assert problems[2].message.startswith("required fields are missing: rationale, timing")
    assert [p.also for p in problems] == [(), (), ()]


def test_requires_an_undefined_event(write_scenario: Any) -> None:
    path = write_scenario({"events": {"a": event(), "b": event(requires=["ghost"])}})
    err = error_of(path)
    assert err.field == "events.b.requires"
    assert err.line == line_of(path, "requires:")
    assert err.message == "'ghost' is not an event of this scenario (events: a, b)"


def test_event_cannot_require_itself(write_scenario: Any) -> None:
    path = write_scenario({"events": {"a": event(excludes=["a"])}})
    err = error_of(path)
    assert err.field == "events.a.excludes"
    assert err.message == "an event cannot name itself"


def test_event_cannot_both_force_and_end_stress(write_scenario: Any) -> None:
    both = {"stressed_for": q(5, "trading days"), "ends_stress": q(0.5, "probability")}
    path = write_scenario({"events": {"a": event(**both)}})
    err = error_of(path)
    assert (err.field, err.line) == ("events.a", line_of(path, "  a:", after="events:"))
    assert err.message == (
        "an event either forces the stressed regime (stressed_for) or ends it "
        "(ends_stress), not both; split it into two events"
    )


@pytest.mark.parametrize(
    ("in_base", "in_child", "field", "line", "message"),
    [
        (
            {},
            "probability: {value: 1.5, unit: probability, rationale: too likely}",
            "events.shock.probability",
            5,
            "must be <= 1 probability, got 1.5",
        ),
        # The base ends stress, the child forces it: located at the child's event.
        (
            {"ends_stress": q(0.5, "probability")},
            "stressed_for: {value: 5, unit: trading days, rationale: three weeks}",
            "events.shock",
            4,
            "an event either forces the stressed regime (stressed_for) or ends it "
            "(ends_stress), not both; split it into two events",
        ),
    ],
)
def test_error_in_child_points_at_the_child(
    write_scenario: Any,
    base_file: Path,
    in_base: dict[str, Any],
    in_child: str,
    field: str,
    line: int,
    message: str,
) -> None:
    base = yaml.safe_load(base_file.read_text())
    base["events"]["shock"].update(in_base)
    base_file.write_text(yaml.safe_dump(base, sort_keys=False))
    path = write_scenario(
        name="child.yaml",
        text=child_text(f"description: the child\nevents:\n  shock:\n    {in_child}\n"),
    )
    err = error_of(path)
    assert (err.file, err.field, err.line) == (str(path), field, line)
    assert err.message == message


def test_event_dependency_cycle(write_scenario: Any) -> None:
    path = write_scenario(
        {
            "events": {
                "a": event(requires=["c"]),
                "b": event(requires=["a"]),
                "c": event(excludes=["b"]),
            }
        }
    )
    err = error_of(path)
    assert (err.field, err.line) == ("events.a", line_of(path, "  a:", after="events:"))
    assert err.message == "requires/excludes form a cycle: a -> c -> b -> a"


def test_offset_impairment_is_a_quantity(write_scenario: Any) -> None:
    """A bare number has no unit or rationale, as every other assumption must."""
    path = write_scenario(
        {
            "events": {"closure": event()},
            "offsets": {"spare": spare(impaired_by={"closure": 0.5})},
        }
    )
    err = error_of(path)
    assert (err.field, err.line) == (
        "offsets.spare.impaired_by.closure",
        line_of(path, "closure: 0.5"),
    )
    assert err.message.startswith("expected a quantity: {value, unit, rationale}")


def test_offset_impaired_by_an_undefined_event(write_scenario: Any) -> None:
    path = write_scenario({"offsets": {"spare": spare(impaired_by={"ghost": q(0.5, "fraction")})}})
    err = error_of(path)
    assert err.field == "offsets.spare.impaired_by.ghost"
    assert err.line == line_of(path, "ghost:")
    assert err.message == "'ghost' is not an event of this scenario"


def test_null_removes_an_inherited_impairment(write_scenario: Any) -> None:
    """An impaired_by entry is removed like an event; a misspelt one is an error."""
    impaired = {"shock": q(0.5, "fraction"), "calm": q(0.8, "fraction")}
    write_scenario(
        {
            "name": "base_case",
            "events": BASE_EVENTS,
            "offsets": {"spare": spare(impaired_by=impaired)},
        },
        name="base.yaml",
    )
    body = "description: the child\noffsets:\n  spare:\n    impaired_by:\n      {}: null\n"
    child = write_scenario(name="child.yaml", text=child_text(body.format("shock")))
    offset = load_scenario(child).scenario.offsets["spare"]
    assert list(offset.impaired_by) == ["calm"]
    wrong = write_scenario(name="wrong.yaml", text=child_text(body.format("shok")))
    assert str(error_of(wrong)) == (
        f"{wrong}:6: offsets.spare.impaired_by.shok: null removes an inherited impaired_by "
        "entry, but the base file has no impaired_by entry 'shok'; did you mean 'shock'?"
    )
    # An inherited offset without impairments: nothing to remove, and the same message.
    write_scenario(
        {"name": "plain", "events": BASE_EVENTS, "offsets": {"spare": spare()}}, name="plain.yaml"
    )
    none = write_scenario(
        name="none.yaml",
        text=body.format("shock").replace("description", "extends: plain.yaml\ndescription"),
    )
    assert str(error_of(none)) == (
        f"{none}:6: offsets.spare.impaired_by.shock: null removes an inherited impaired_by "
        "entry, but the base file has no impaired_by entry 'shock'"
    )


def test_yaml_syntax_error(write_scenario: Any) -> None:
    path = write_scenario(text="name: x\ndescription: [unclosed\nas_of: 2026-02-06\n")
    err = error_of(path)
    assert err.file == str(path)
    assert err.field is None
    assert err.line == 3
    assert err.message.startswith("YAML error: ")


def test_yaml_bad_indentation(write_scenario: Any) -> None:
    path = write_scenario(text="name: x\n  foo: [\n")
    err = error_of(path)
    assert (err.line, err.message) == (2, "YAML error: mapping values are not allowed here")


def test_duplicate_key(write_scenario: Any) -> None:
    path = write_scenario(text="name: a\ndescription: d\nname: b\n")
    err = error_of(path)
    assert (err.file, err.field, err.line) == (str(path), "name", 3)
    assert err.message == "duplicate key (first defined on line 1)"


def test_nested_duplicate_key(write_scenario: Any) -> None:
    path = write_scenario(text="oil:\n  spot: 1\n  short_term: 2\n  spot: 3\n")
    err = error_of(path)
    assert (err.field, err.line) == ("oil.spot", 4)
    assert err.message == "duplicate key (first defined on line 2)"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    err = error_of(path)
    assert (err.file, err.field, err.line) == (str(path), None, None)
    assert err.message == "file not found"
    assert str(err) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert error_of(tmp_path).message == "is a directory, not a file"


def test_not_utf8(write_scenario: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    assert error_of(path).message == "not UTF-8 text (byte 9)"


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['echo pwned']\n",
        "name: !!python/object:builtins.dict {}\n",
        "name: !!python/name:os.system\n",
    ],
)
def test_python_tags_rejected(write_scenario: Any, text: str) -> None:
    err = error_of(write_scenario(text=text))
    assert err.line == 1
    assert err.message.startswith(
        "YAML error: tags that build Python objects are not allowed (could not determine "
        "a constructor for the tag 'tag:yaml.org,2002:python/"
    )


def test_not_a_mapping(write_scenario: Any) -> None:
    err = error_of(write_scenario(text="- a\n- b\n"))
    assert (err.line, err.message) == (1, "a scenario must be a YAML mapping, got list")


def _bomb(levels: int, under_merge_key: bool = False) -> str:
    parts = ["&a0 [" + ", ".join(["lol"] * 9) + "]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    if under_merge_key:
        return "name: bomb\n<<: {description: [" + ", ".join(parts) + "]}\n"
    return "\n".join(f"a{i}: {p}" for i, p in enumerate(parts)) + "\n"


def test_billion_laughs_fails_fast(write_scenario: Any) -> None:
    # 9 levels of 9 aliases: 9**9 (387 million) strings if expanded. The loader counts alias
    # expansion while walking the node graph and stops at MAX_NODES.
    err = error_of(write_scenario(text=_bomb(9)))
    assert err.message == (
        f"document too large (more than {MAX_NODES} nodes, counting alias expansion)"
    )


def test_billion_laughs_under_a_merge_key_is_caught_by_the_budget(write_scenario: Any) -> None:
    err = error_of(write_scenario(text=_bomb(6, under_merge_key=True)))
    assert err.message.startswith("document too large")


def test_merge_keys_still_work(write_scenario: Any) -> None:
    text = yaml.safe_dump(scenario_doc(), sort_keys=False)
    text += "defaults: &d {rationale: shared, unit: probability}\n"
    path = write_scenario(text=text)
    assert error_of(path).field == "defaults"  # an unknown top-level key, not a crash
    doc = scenario_doc()
    doc["oil"]["factor_correlation"] = {"value": 0.1, "unit": "correlation"}
    text = yaml.safe_dump(doc, sort_keys=False).replace(
        "    unit: correlation\n", "    <<: {unit: correlation, rationale: merged in}\n"
    )
    path = write_scenario(text=text)
    assert load_scenario(path).scenario.oil.factor_correlation.rationale == "merged in"


def test_too_deep(write_scenario: Any) -> None:
    text = "a: " + "[" * 100 + "]" * 100 + "\n"
    assert error_of(write_scenario(text=text)).message == "nesting deeper than 64 levels"


# --------------------------------------------------------------------------- fuzzing


VOCAB = [
    "name",
    "description",
    "as_of",
    "horizon_days",
    "report_horizons_days",
    "oil",
    "spot",
    "short_term",
    "long_term",
    "half_life",
    "vol",
    "drift",
    "factor_correlation",
    "innovations",
    "regimes",
    "jumps",
    "model",
    "physical",
    "world_demand",
    "events",
    "offsets",
    "probability",
    "timing",
    "requires",
    "excludes",
    "supply",
    "change",
    "profile",
    "shape",
    "value",
    "unit",
    "dist",
    "rationale",
    "low",
    "high",
    "mode",
    "values",
    "weights",
    "extends",
    "report",
    "brent_thresholds",
    "<<",
    "normal",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(VOCAB)
    | st.dates()
)
keys = st.sampled_from(VOCAB) | st.text(max_size=8) | st.integers(-5, 5)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)
small_documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4),
    max_leaves=8,
)


def _only_scenario_errors(path: Path) -> None:
    """Loading either succeeds or raises a ScenarioError with a message (nothing else)."""
    error: ScenarioError | None = None
    try:
        load_scenario(path)
    except ScenarioError as exc:
        error = exc
    if error is not None:
        for problem in error.problems():
            assert problem.message
            assert str(problem).endswith(problem.message)
            assert "\n" not in str(problem)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents)
def test_fuzz_nested_documents(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _only_scenario_errors(path)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(overrides=st.dictionaries(st.sampled_from(VOCAB), small_documents, max_size=3))
def test_fuzz_near_valid_documents(tmp_path: Path, overrides: dict[str, Any]) -> None:
    doc = scenario_doc()
    doc.update(overrides)
    for section in ("oil", "physical"):
        if isinstance(overrides.get(section), dict):
            doc[section] = {**scenario_doc()[section], **overrides[section]}
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _only_scenario_errors(path)


yaml_ish = st.text(
    alphabet=st.sampled_from([*list(string.printable), "é", "\t", "&", "*", "!", "<", "-"]),
    max_size=300,
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=yaml_ish
    | st.lists(
        st.sampled_from(
            [
                "name: x\n",
                "oil:\n",
                "  spot: ",
                "{value: 1, unit: USD/bbl}",
                "&a ",
                "*a",
                "[",
                "]",
                "!!binary aGk=",
                "!!python/tuple [1]",
                "? ",
                ": ",
                "- ",
                "<<: *a\n",
                "extends: x.yaml\n",
                "\n",
                "  ",
                "events:\n",
                "  e: null\n",
                "---\n",
                "...\n",
                "%YAML 1.1\n",
                '"',
                "'",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_fuzz_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    _only_scenario_errors(path)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-02-30", "'2026-02-30' is not a valid date (day is out of range for month)"),
        (
            "!!float abc",
            "'abc' is not a valid number (could not convert string to float: 'abc')",
        ),
    ],
)
def test_a_value_yaml_cannot_build_is_located(
    write_scenario: Any, value: str, problem: str
) -> None:
    """Named by file, line and field, as a schema error is."""
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace("as_of: '2026-02-06'", f"as_of: {value}")
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.line, err.field, err.message) == (line_of(path, "as_of:"), "as_of", problem)
    assert str(err) == f"{path}:{line_of(path, 'as_of:')}: as_of: {problem}"


def test_an_unreadable_value_beside_a_merge_key_is_the_culprit(write_scenario: Any) -> None:
    """``<<: *base`` merges a mapping in; the merge key itself is not a value."""
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace(
        "as_of: '2026-02-06'", "defaults: &d {note: x}\nextra: {<<: *d, when: 2026-02-30}"
    )
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.field, err.message) == (
        "extra.when",
        "'2026-02-30' is not a valid date (day is out of range for month)",
    )


def test_an_unreadable_value_shared_by_an_alias_is_named_where_it_is_defined(
    write_scenario: Any,
) -> None:
    """An alias nearer the top than its anchor must not lend its path to the anchor's line."""
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace(
        "as_of: '2026-02-06'", "defaults:\n  dates:\n    start: &d 2026-02-30\nas_of: *d"
    )
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.line, err.field, err.message) == (
        line_of(path, "    start:"),
        "defaults.dates.start",
        "'2026-02-30' is not a valid date (day is out of range for month)",
    )


def test_the_first_unreadable_value_in_the_file_is_reported(write_scenario: Any) -> None:
    """Two bad values: the one on the earlier line, however deep it sits."""
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace(
        "as_of: '2026-02-06'", "notes:\n  a:\n    b: !!int x1\nas_of: 2026-02-30"
    )
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.line, err.field) == (line_of(path, "    b:"), "notes.a.b")


def test_an_unreadable_key_is_named_by_its_own_path(write_scenario: Any) -> None:
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace(
        "as_of: '2026-02-06'", "as_of: '2026-02-06'\nnotes:\n  2026-02-30: a holiday"
    )
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.line, err.field) == (line_of(path, "  2026-02-30:"), "notes.2026-02-30")


def test_an_unreadable_value_in_a_list_names_its_index(write_scenario: Any) -> None:
    path = write_scenario()
    text = path.read_text(encoding="utf-8").replace(
        "as_of: '2026-02-06'", "as_of: '2026-02-06'\nnotes: [ok, !!int x1]"
    )
    path.write_text(text, encoding="utf-8")
    err = error_of(path)
    assert (err.field, err.message) == (
        "notes.1",
        "'x1' is not a valid integer (invalid literal for int() with base 10: 'x1')",
    )


def test_exponent_floats_without_a_dot_are_numbers(write_scenario: Any) -> None:
    """YAML 1.1 reads 1e-2 as a string; the loader reads it as the number everyone means."""
    path = write_scenario()
    text = path.read_text(encoding="utf-8")
    assert "value: 0.015\n" in text
    path.write_text(
        text.replace("value: 0.015\n", "value: 15e-3\n").replace("value: 100.0\n", "value: 1E+2\n"),
        encoding="utf-8",
    )
    s = load_scenario(path).scenario
    assert s.physical.supply_elasticity.value == 0.015
    assert s.physical.world_demand.value == 100.0
    assert yaml.safe_load("x: 1e-2") == {"x": "1e-2"}  # PyYAML's own loader is untouched
