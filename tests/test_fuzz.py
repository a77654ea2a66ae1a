"""Hardening fuzz: every command succeeds or exits 2 with one ``Error:`` line naming the file.

Property tests (hypothesis) that generate scenario, portfolio, price and run-directory
inputs — valid ones taken from the minimal scenario in ``conftest`` and from
``scenarios/baseline.yaml``, and ones mutated by dropping keys, changing types, NaN/inf/huge/
negative numbers, deep nesting, unicode (RTL, combining marks, astral), YAML anchors/aliases
(billion laughs, merge keys), object-building tags, duplicate keys, long strings, binary
garbage, empty files and directories — and drive the real CLI (``typer``'s ``CliRunner`` on
:data:`simulator.cli.app`) or the library loaders.

Every case asserts:

* exit code 0 or 2 (1 only from ``run``/``compare`` for a declared runtime failure, never the
  "internal error" of an unexpected exception);
* no ``Traceback`` in stdout/stderr, no exception escaping the command;
* on failure exactly one line on stderr, starting ``Error: <file>``;
* no hang: each case runs under a SIGALRM watchdog (``HANG_SECONDS``) and inputs are bounded.

Profiles: ``ci`` (default, derandomised, ~2,400 cases, under ~90 s on two cores) and
``long`` (``HYPOTHESIS_PROFILE=long``: random seeds, ``FUZZ_SCALE`` times more cases, 20 by
default). ``benchmarks/fuzz_long.py`` runs these properties for a set number of minutes.

The bugs this fuzzing found are fixed and pinned by the ``test_regression_*`` tests at the
end; the properties generate their inputs too (``FUZZ_EXCLUDE_FIXED_BUGS=1`` leaves them out,
to tell a regression from a new bug).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SCENARIOS, minimal_doc, q

from simulator.calibrate.data import prepare, read_prices
from simulator.cli import app
from simulator.engine import RunConfig, run
from simulator.errors import RuntimeFailure, ScenarioError
from simulator.portfolio import load_portfolio
from simulator.scenario import MAX_DEPTH, MAX_FILE_BYTES, load_scenario

# --------------------------------------------------------------------------- settings

_SUPPRESS = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
    HealthCheck.large_base_example,
]
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=dt.timedelta(seconds=20),
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)
settings.register_profile(
    "long",
    derandomize=False,
    deadline=dt.timedelta(seconds=60),
    suppress_health_check=_SUPPRESS,
    print_blob=True,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    PROFILE = "ci"
#: Profiles are fetched, not loaded, so other test modules keep hypothesis' defaults.
BASE = settings.get_profile(PROFILE)
SCALE = int(os.environ.get("FUZZ_SCALE", "1" if PROFILE == "ci" else "20"))
#: Seconds one generated case may take before it counts as a hang.
HANG_SECONDS = int(os.environ.get("FUZZ_HANG_SECONDS", "30"))
#: The bugs the fuzzing found are fixed; the regression tests at the end pin them, and the
#: properties generate their inputs again (set FUZZ_EXCLUDE_FIXED_BUGS=1 to leave them out).
EXCLUDE_KNOWN_BUGS = os.environ.get("FUZZ_EXCLUDE_FIXED_BUGS", "") != ""

#: Generated cases per property in the ci profile (the sum is asserted below).
BUDGET = {
    "validate_minimal": 640,
    "validate_baseline": 20,
    "validate_text": 380,
    "validate_binary": 150,
    "yaml_attacks": 150,
    "extends_chain": 60,
    "portfolio": 420,
    "prices": 260,
    "calibrate_cli": 50,
    "compare_dirs": 15,
    "run_cli": 10,
    "kernel_forms": 60,
    "list_cli": 30,
}
CI_CASES = sum(BUDGET.values())

#: Cases run so far in this process, per property (benchmarks/fuzz_long.py reports these).
CASES: dict[str, int] = dict.fromkeys(BUDGET, 0)


def fuzz(name: str) -> settings:
    return settings(BASE, max_examples=BUDGET[name] * SCALE)


# --------------------------------------------------------------------------- helpers


class Hang(BaseException):
    """A generated case ran longer than HANG_SECONDS."""


@contextlib.contextmanager
def watchdog(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` if the block runs longer than ``seconds`` (main thread only)."""

    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"case still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_WORK: list[Path] = []
_COUNTER = itertools.count()


def workdir() -> Path:
    """One scratch directory for the module (hypothesis runs examples without fixtures)."""
    if not _WORK:
        _WORK.append(Path(tempfile.mkdtemp(prefix="sim-fuzz-")))
        import atexit

        atexit.register(shutil.rmtree, _WORK[0], True)
    return _WORK[0]


def fresh(suffix: str = ".yaml", stem: str = "case") -> Path:
    """A new, unused path in the scratch directory."""
    d = workdir() / f"c{next(_COUNTER)}"
    d.mkdir()
    return d / f"{stem}{suffix}"


def invoke(*args: str | Path) -> Any:
    from typer.testing import CliRunner

    runner = CliRunner()
    with watchdog(), warnings.catch_warnings():
        # As in production: numerical warnings are not errors (pytest's config makes them so).
        warnings.simplefilter("ignore")
        return runner.invoke(app, [str(a) for a in args], prog_name="sim")


def check_cli(
    result: Any,
    files: list[str | Path],
    *,
    allow_runtime: bool = False,
    name_file: bool = True,
    several: bool = False,
) -> None:
    """The contract of every command on any input.

    ``files``: the files the command read; an error line must name one of them.
    ``allow_runtime``: exit 1 is acceptable (run/compare) for a declared runtime failure.
    ``several``: the command may report several problems (``sim validate`` lists every
    one), each on its own ``Error:`` line held to the same rules; otherwise exactly one.
    """
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        pytest.fail(f"exception escaped the command (a traceback for the user):\n{tb}")
    out, err = result.stdout, result.stderr
    assert "Traceback" not in out, out
    assert "Traceback" not in err, err
    code = result.exit_code
    allowed = {0, 2} | ({1} if allow_runtime else set())
    assert code in allowed, f"exit code {code}; stderr: {err!r}"
    if code == 0:
        assert "Error:" not in err, err
        return
    lines = [line for line in err.split("\n") if line and not line.startswith("Note: ")]
    errors = [line for line in lines if line.startswith("Error: ")]
    if several:
        assert errors, f"expected 'Error:' lines, got: {err!r}"
    else:
        assert len(errors) == 1, f"expected exactly one 'Error:' line, got: {err!r}"
    assert len(lines) == len(errors), f"an error message spans several lines: {err!r}"
    for line in errors:
        assert "internal error" not in line, f"an unexpected exception reached the user: {line!r}"
        # Bad input (exit 2) names the file; a declared runtime failure (exit 1) need not.
        if name_file and files and code == 2:
            assert any(
                line.startswith(f"Error: {f}") or f" {f}" in line for f in map(str, files)
            ), f"the message does not name the file ({[str(f) for f in files]}): {line!r}"


def check_error(exc: ScenarioError, path: Path) -> None:
    """A library error: one line, naming the file."""
    text = str(exc)
    assert "\n" not in text, f"message spans lines: {text!r}"
    assert "\r" not in text, f"message spans lines: {text!r}"
    assert text.startswith(str(path)), f"message does not start with the file: {text!r}"
    assert exc.message


# --------------------------------------------------------------------------- value strategies

# Characters that break a message into several lines (known bug: they are echoed raw).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Characters a YAML stream may not contain (known bug: the reader's message has two lines).
_YAML_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)

_NASTY_TEXT_PARTS = [
    "\u202e",  # right-to-left override
    "\u05e9\u05dc\u05d5\u05dd",  # Hebrew
    "\u0627\u0644\u0646\u0641\u0637",  # Arabic
    "e\u0301",  # combining acute
    "\U0001f6e2\ufe0f",  # oil drum emoji + variation selector
    "\u200b",  # zero-width space
    "\ufeff",  # BOM inside text
    "\t",
    "[bold]",
    "[/]",
    "[link=x]",
    "<script>alert(1)</script>",
    "{{x}}",
    "%s%n",
    "../..",
    "'",
    '"',
    "\\",
    ": ",
    "#",
    "&a",
    "*a",
    "!!python/object/apply:os.system",
    "${HOME}",
]


def _text_alphabet() -> st.SearchStrategy[str]:
    if not EXCLUDE_KNOWN_BUGS:
        return st.characters(blacklist_categories=("Cs",))
    # No control characters (Cc: C0, DEL, C1 incl. NEL), no line/paragraph separators, no
    # non-characters: YAML rejects some, and line breaks split the message (known bugs).
    return st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufffe\uffff"
    ) | st.just("\t")


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(_text_alphabet(), max_size=max_size),
        st.lists(st.sampled_from(_NASTY_TEXT_PARTS), min_size=1, max_size=6).map("".join),
        st.sampled_from(["", " ", "x", "abc", "mini", "baseline", "USD/bbl", "mb/d"]),
        st.integers(1, 3000).map(lambda n: "x" * n),
    )


NASTY_FLOATS = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -5e-324,
    0.0,
    -0.0,
    1e-300,
    2.0000000001,
    1e13,
    -1,
]

numbers = st.one_of(
    st.sampled_from(NASTY_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    # Python refuses int("9" * 4301): known bug, so stay below 4,300 digits.
    st.integers(1, 400).map(lambda n: int("9" * n)),
    st.integers(1, 400).map(lambda n: -int("9" * n)),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    texts(),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(),
    st.binary(max_size=20),
)

values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(texts(12), st.integers(-5, 5), st.booleans()), inner, max_size=4),
    ),
    max_leaves=6,
)


def quantities() -> st.SearchStrategy[dict[str, Any]]:
    """Quantity mappings, well-formed or not, of every law."""
    unit = st.sampled_from(
        ["USD/bbl", "mb/d", "trading days", "annualised", "probability"]
    ) | texts(12)
    rationale = st.sampled_from(["fuzzed value"]) | texts(50)
    return st.one_of(
        st.fixed_dictionaries({"value": numbers, "unit": unit, "rationale": rationale}),
        st.fixed_dictionaries(
            {
                "dist": st.sampled_from(
                    [
                        "normal",
                        "lognormal",
                        "triangular",
                        "uniform",
                        "beta",
                        "discrete",
                        "student_t",
                        "laplace",
                        "fixed",
                        "cauchy",
                    ]
                ),
                "unit": unit,
                "rationale": rationale,
            },
            optional=dict.fromkeys(
                (
                    "mean",
                    "sd",
                    "median",
                    "sigma",
                    "low",
                    "mode",
                    "high",
                    "a",
                    "b",
                    "df",
                    "loc",
                    "scale",
                    "value",
                ),
                numbers,
            )
            | {"values": st.lists(numbers, max_size=5), "weights": st.lists(numbers, max_size=5)},
        ),
    )


# --------------------------------------------------------------------------- document mutations


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], max_mutations: int = 3) -> dict[str, Any]:
    """``base`` with 0..``max_mutations`` structural mutations."""
    doc = json.loads(json.dumps(base, default=str))
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = _paths(doc)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(doc, path[:-1])
        key = path[-1]
        kind = draw(
            st.sampled_from(["drop", "replace", "number", "quantity", "add", "wrap", "nest"])
        )
        if kind == "drop":
            del parent[key]
        elif kind == "replace":
            parent[key] = draw(values)
        elif kind == "number":
            parent[key] = draw(numbers)
        elif kind == "quantity":
            parent[key] = draw(quantities())
        elif kind == "add":
            target = parent if isinstance(parent, dict) else doc
            target[draw(texts(16))] = draw(values)
        elif kind == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
        else:
            depth = draw(st.integers(1, MAX_DEPTH + 8))
            node: Any = parent[key]
            for _ in range(depth):
                node = {"x": node} if draw(st.booleans()) else [node]
            parent[key] = node
    return doc


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)


@st.composite
def text_mutated(draw: st.DrawFn, text: str) -> str:
    """Text-level mutations: aliases, tags, duplicate keys, truncation, BOM, CRLF..."""
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(
            st.sampled_from(
                ["append", "prepend", "truncate", "insert", "crlf", "bom", "dup", "alias", "tabs"]
            )
        )
        if kind == "append":
            text += draw(st.sampled_from(YAML_SNIPPETS))
        elif kind == "prepend":
            text = draw(st.sampled_from(YAML_PREFIXES)) + text
        elif kind == "truncate" and text:
            text = text[: draw(st.integers(0, len(text)))]
        elif kind == "insert" and text:
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.sampled_from(INSERTS)) + text[i:]
        elif kind == "crlf":
            text = text.replace("\n", "\r\n")
        elif kind == "bom":
            text = "\ufeff" + text
        elif kind == "dup":
            lines = text.split("\n")
            i = draw(st.integers(0, max(0, len(lines) - 1)))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif kind == "alias":
            text = "x-anchor: &a {value: 1, unit: mb/d, rationale: anchored}\n" + text.replace(
                "{value: 100.0, unit: mb/d, rationale: test value}", "*a", 1
            )
        else:
            text = text.replace("  ", "\t", 1)
    return text


YAML_SNIPPETS = [
    "x: !!python/object/apply:os.system ['touch SENTINEL']\n",
    "x: !!python/object/new:os.system ['touch SENTINEL']\n",
    "x: !!python/name:os.system\n",
    "x: !!python/module:os\n",
    "x: !!python/tuple [1, 2]\n",
    "x: !!python/bytes aGk=\n",
    "x: !custom {a: 1}\n",
    "x: !!binary aGVsbG8=\n",
    "x: !!set {a, b}\n",
    "x: !!omap [a: 1, b: 2]\n",
    "x: !!str 1\n",
    "name: duplicate\n",
    "oil: {}\n",
    "<<: {horizon_days: 5}\n",
    "<<: [*missing]\n",
    "events: *missing\n",
    "a: &r [*r]\n",
    "? [1, 2]\n: 3\n",
    "? {a: 1}\n: 3\n",
    "---\nsecond: document\n",
    "...\n",
    "%TAG ! tag:example.com,2000:\n",
    "description: |\n  block\n  text\n",
    "description: >-\n  folded\n",
    "  bad indentation: 1\n",
    "- list item\n",
    "extends: baseline.yaml\n",
    "extends: ../../etc/passwd\n",
    "extends: /dev/null\n",
    "extends: .\n",
    "extends: [a]\n",
    "name: ../../etc\n",
    "name: /abs\n",
    "name: CON\n",
    "as_of: 2026-02-06 12:00:00\n",
    "as_of: 2026-02-06T12:00:00Z\n",
    "horizon_days: 0x10\n",
    "horizon_days: 0o17\n",
    "horizon_days: 1_000\n",
    "horizon_days: 1:30\n",
    "horizon_days: .inf\n",
    "horizon_days: -.inf\n",
    "horizon_days: .nan\n",
    "horizon_days: 1e308\n",
    "horizon_days: -1e308\n",
    "horizon_days: yes\n",
    "horizon_days: ~\n",
    "'\u202eeman': x\n",
    "\u05d0: \u05d1\n",
]
YAML_PREFIXES = ["%YAML 1.1\n---\n", "---\n", "# comment\n", "%YAML 1.2\n---\n", "--- !!map\n"]
INSERTS = [
    "&a ",
    "*a",
    "!!str ",
    "!!seq ",
    "!!map ",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "'",
    '"',
    "#",
    "|",
    ">",
    "? ",
    "\t",
    ",",
    "%",
    "@",
    "`",
    "\u202e",
    "\xa0",
    "é",
] + ([] if EXCLUDE_KNOWN_BUGS else ["!!int ", "!!float ", "!!bool ", "!!timestamp "])

# A flow-style dump of the minimal scenario (one quantity per line), the base of text fuzzing.
MINIMAL_TEXT = yaml.safe_dump(minimal_doc(), sort_keys=False, default_flow_style=None)


def _baseline_doc() -> dict[str, Any]:
    return yaml.safe_load((SCENARIOS / "baseline.yaml").read_text(encoding="utf-8"))


BASELINE_DOC = json.loads(json.dumps(_baseline_doc(), default=str))


def _sentinel_absent(where: Path) -> None:
    assert not (where / "SENTINEL").exists(), "a YAML tag ran a shell command"
    assert not Path("SENTINEL").exists(), "a YAML tag ran a shell command"


# --------------------------------------------------------------------------- scenario files


@fuzz("validate_minimal")
@given(
    doc=mutated(minimal_doc()),
    mutate_text=st.booleans(),
    via_cli=st.sampled_from([True, False, False, False]),
    data=st.data(),
)
@example(doc=minimal_doc(), mutate_text=False, via_cli=True, data=None)
def test_validate_mutated_minimal_scenarios(
    doc: dict[str, Any], mutate_text: bool, via_cli: bool, data: Any
) -> None:
    """The minimal scenario with structural and textual mutations.

    A quarter of the cases go through `sim validate`, the rest through load_scenario (the
    same loader, a third of the cost).
    """
    CASES["validate_minimal"] += 1
    text = dump(doc)
    if mutate_text and data is not None:
        text = data.draw(text_mutated(text))
    path = fresh()
    path.write_text(text, encoding="utf-8")
    if via_cli:
        result = invoke("validate", path)
        check_cli(result, [path], several=True)
        if doc == minimal_doc() and not mutate_text:
            assert result.exit_code == 0, result.stderr
    else:
        with watchdog():
            try:
                load_scenario(path)
            except ScenarioError as exc:
                check_error(exc, path)
    _sentinel_absent(path.parent)


@fuzz("validate_baseline")
@given(doc=mutated(BASELINE_DOC, max_mutations=2))
def test_validate_mutated_baseline(doc: dict[str, Any]) -> None:
    """`sim validate` on baseline.yaml with structural mutations (larger, slower files)."""
    CASES["validate_baseline"] += 1
    path = fresh()
    path.write_text(dump(doc), encoding="utf-8")
    check_cli(invoke("validate", path), [path], several=True)


yaml_tokens = st.lists(
    st.sampled_from(
        [
            *YAML_SNIPPETS,
            *INSERTS,
            *YAML_PREFIXES,
            "name: x\n",
            "oil:\n",
            "  spot: ",
            "{value: 1, unit: USD/bbl, rationale: abc}",
            "\n",
            "  ",
            "events:\n",
            "  e: null\n",
            "1e308",
            "-.inf",
            ".nan",
            "<<: *a\n",
        ]
    ),
    max_size=40,
).map("".join)


@fuzz("validate_text")
@given(
    text=st.one_of(yaml_tokens, st.text(_text_alphabet(), max_size=400)),
    stem=st.sampled_from(["case", "CASE", "1x", "ok_name", "r\u00e9sum\u00e9"]),
)
@example(text="", stem="case")
@example(text="   \n\n# only a comment\n", stem="case")
@example(text="~", stem="case")
@example(text="[]", stem="case")
@example(text="'just a string'", stem="case")
@example(text="- 1\n- 2\n", stem="case")
def test_validate_yaml_text(text: str, stem: str) -> None:
    """`sim validate` on arbitrary YAML-ish text (empty, scalars, fragments, tags)."""
    CASES["validate_text"] += 1
    path = fresh(stem=stem)
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", path)
    check_cli(result, [path], several=True)
    _sentinel_absent(path.parent)


def _decodes_to_bad_yaml(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(_YAML_FORBIDDEN.search(text.lstrip("\ufeff")))


@fuzz("validate_binary")
@given(
    data=st.binary(max_size=3000),
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", MINIMAL_TEXT.encode()]),
)
def test_validate_binary_garbage(data: bytes, prefix: bytes) -> None:
    """Binary garbage, with and without a UTF-8/UTF-16 BOM or a valid scenario in front."""
    blob = prefix + data
    if EXCLUDE_KNOWN_BUGS:
        assume(not _decodes_to_bad_yaml(blob))
    CASES["validate_binary"] += 1
    path = fresh()
    path.write_bytes(blob)
    check_cli(invoke("validate", path), [path])


def billion_laughs(levels: int, width: int, merge: bool) -> str:
    lines = ['l0: &l0 "lol"']
    for i in range(1, levels + 1):
        items = ", ".join(f"*l{i - 1}" for _ in range(width))
        if merge and i > 1:
            lines.append(f"l{i}: &l{i} {{<<: [{items}], k{i}: 1}}")
        else:
            lines.append(f"l{i}: &l{i} [{items}]")
    return "\n".join(lines) + "\n"


def deep(depth: int, style: str) -> str:
    if style == "flow-seq":
        return "x: " + "[" * depth + "]" * depth + "\n"
    if style == "flow-map":
        return "x: " + "{a: " * depth + "1" + "}" * depth + "\n"
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"


yaml_attacks = st.one_of(
    st.builds(
        billion_laughs,
        levels=st.integers(1, 12),
        width=st.integers(1, 12),
        merge=st.booleans(),
    ),
    st.builds(
        deep,
        depth=st.integers(1, 400),
        style=st.sampled_from(["flow-seq", "flow-map", "block"]),
    ),
    # Many nodes: near and above the node budget (a flow sequence of small ints).
    # (kept small: PyYAML is pure Python here, ~0.1 ms per node; see test_bug_slow_... below)
    st.integers(1, 800).map(lambda n: "x: [" + ",".join(["0"] * n) + "]\n"),
    # Long strings and keys.
    st.integers(1, 50_000).map(lambda n: f"description: {'y' * n}\n"),
    st.integers(1, 5_000).map(lambda n: f"{'k' * n}: 1\n"),
    # Duplicate keys at some depth, and many distinct keys.
    st.integers(0, 30).map(lambda d: deep(d, "block") + "  " * d + "v: 2\n"),
    st.integers(1, 600).map(lambda n: "".join(f"k{i}: {i}\n" for i in range(n))),
    # Object-building tags, some nested in a valid scenario.
    st.sampled_from(YAML_SNIPPETS[:6]).map(lambda s: MINIMAL_TEXT + s),
    st.sampled_from(YAML_SNIPPETS[:6]).map(lambda s: s.replace("x: ", "")),
    # Recursive anchors.
    st.sampled_from(["a: &a [*a]\n", "a: &a {b: *a}\n", "&a [*a, *a]\n", "<<: &a {<<: *a}\n"]),
)


@fuzz("yaml_attacks")
@given(text=yaml_attacks, via_cli=st.booleans())
@example(text=billion_laughs(9, 9, merge=False), via_cli=True)
@example(text=billion_laughs(9, 9, merge=True), via_cli=True)
@example(text=deep(MAX_DEPTH + 1, "flow-seq"), via_cli=True)
@example(text=deep(5000, "flow-seq"), via_cli=False)
@example(
    text="a: &a [" + ",".join(["0"] * 500) + "]\nb: [" + ",".join(["*a"] * 401) + "]\n",
    via_cli=True,
)
def test_yaml_bombs_tags_and_sizes(text: str, via_cli: bool) -> None:
    """Alias bombs, merge-key bombs, deep nesting, node counts, long strings, python tags.

    Every one ends in a quick, one-line rejection (or a plain validation error).
    """
    CASES["yaml_attacks"] += 1
    path = fresh()
    path.write_text(text, encoding="utf-8")
    if via_cli:
        check_cli(invoke("validate", path), [path], several=True)
    else:
        with watchdog():
            try:
                load_scenario(path)
            except ScenarioError as exc:
                check_error(exc, path)
    _sentinel_absent(path.parent)


@fuzz("extends_chain")
@given(
    base=mutated(minimal_doc(), max_mutations=2),
    child=st.fixed_dictionaries(
        {"extends": st.sampled_from(["base.yaml", "./base.yaml", "base.yaml "])},
        optional={
            "name": st.sampled_from(["child", "Child", "../../etc", ""]),
            "horizon_days": numbers,
            "events": st.one_of(
                st.none(), st.dictionaries(texts(10), st.none() | values, max_size=2)
            ),
            "oil": st.dictionaries(
                st.sampled_from(["spot", "regimes", "jumps"]), values, max_size=2
            ),
        },
    ),
    self_cycle=st.booleans(),
)
def test_validate_extends(base: dict[str, Any], child: dict[str, Any], self_cycle: bool) -> None:
    """A child extending a mutated base (and, sometimes, a base extending the child)."""
    CASES["extends_chain"] += 1
    child_path = fresh(stem="child")
    base_path = child_path.parent / "base.yaml"
    if self_cycle:
        base = {**base, "extends": "child.yaml"}
    base_path.write_text(dump(base), encoding="utf-8")
    child_path.write_text(dump(child), encoding="utf-8")
    result = invoke("validate", child_path)
    check_cli(result, [child_path, base_path], several=True)


# --------------------------------------------------------------------------- portfolios

positions = st.dictionaries(
    st.sampled_from(["brent", "sp500", "us10y"]) | texts(12),
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "notional_usd": numbers | scalars,
                "weight": numbers,
                "dv01_usd": numbers,
                "duration_years": numbers,
                "rationale": texts(50),
                "extra": scalars,
            },
        ),
        values,
    ),
    max_size=4,
)
portfolios = st.one_of(
    st.fixed_dictionaries(
        {"positions": positions},
        optional={
            "name": st.sampled_from(["sample", "../../etc", "Sample", ""]) | texts(10),
            "description": texts(60),
            "value_usd": numbers,
        },
    ),
    values,
)


@fuzz("portfolio")
@given(doc=portfolios, as_text=st.one_of(st.none(), yaml_tokens))
@example(doc={"positions": {"brent": {"notional_usd": 1_000_000}}}, as_text=None)
def test_portfolio_loader(doc: Any, as_text: str | None) -> None:
    """load_portfolio either returns a book or raises a one-line ScenarioError naming the file."""
    CASES["portfolio"] += 1
    path = fresh(stem="book")
    path.write_text(dump(doc) if as_text is None else as_text, encoding="utf-8")
    with watchdog():
        try:
            book = load_portfolio(path)
        except ScenarioError as exc:
            check_error(exc, path)
            return
    for pos in book.portfolio.positions.values():
        for v in (pos.notional_usd, pos.weight, pos.dv01_usd, pos.duration_years):
            assert v is None or math.isfinite(v)
    assert all(math.isfinite(v) for _, (_, v) in book.exposures().items())


# --------------------------------------------------------------------------- price files

_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%b %d, %Y", "%Y%m%d"]
csv_cells = st.one_of(
    st.sampled_from(["", ".", "NA", "nan", "#N/A", "null", "-", "inf", "-inf", "1e400", "-1e400"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e6, 1e6).map(lambda v: f'"{v:,.2f}"'),
    st.integers(1, 400).map(lambda n: "9" * n),
    texts(20).map(lambda s: s.replace('"', "")),
)


@st.composite
def price_files(draw: st.DrawFn) -> str:
    header = draw(
        st.sampled_from(
            [
                "Date,Price",
                "observation_date,DCOILBRENTEU",
                "date,value",
                "Date,Open,High,Low,Close",
                "Date,A,B",
                "Date",
                "",
                "2020-01-01,1",
                "Date;Price",
            ]
        )
        | st.lists(
            texts(8).map(lambda s: s.replace('"', "").replace(",", "")), min_size=1, max_size=4
        ).map(",".join)
    )
    n = draw(st.integers(0, 60))
    start = draw(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9998, 1, 1)))
    fmt = draw(st.sampled_from(_DATE_FORMATS))
    width = max(1, header.count(",") + draw(st.integers(-1, 1)))
    rows = []
    for i in range(n):
        d = start + dt.timedelta(days=draw(st.integers(0, 3)) + i)
        date = d.strftime(fmt) if draw(st.integers(0, 9)) else draw(texts(10)).replace(",", "")
        cells = [draw(csv_cells) for _ in range(width)]
        rows.append(",".join([date, *cells]))
    if rows and draw(st.booleans()):
        rows = draw(st.permutations(rows))
    if rows and draw(st.integers(0, 4)) == 0:
        rows.append(rows[0])
    text = "\n".join([header, *rows]) + draw(st.sampled_from(["", "\n", "\n\n"]))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        text = text.replace("\n", "\r\n")
    elif kind == 1:
        text = "\ufeff" + text
    elif kind == 2:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def _prices_bug(text: str) -> bool:
    """Known bugs: a field over csv's 131,072-character limit; a line break in a quoted cell."""
    import csv

    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return True
    return any("\n" in f or "\r" in f for row in rows for f in row)


@fuzz("prices")
@given(
    text=price_files(),
    column=st.one_of(st.none(), st.sampled_from(["Close", "price", "B", "nope"])),
)
@example(text="", column=None)
@example(text="Date,Price\n", column=None)
@example(text="Date,Price\n2020-01-01,70\n2020-01-01,71\n", column=None)
@example(text="Date,Price\n2020-01-01,-1\n2020-01-02,1\n", column=None)
def test_price_reader(text: str, column: str | None) -> None:
    """read_prices and prepare: a series, or one-line ScenarioError naming the file."""
    if EXCLUDE_KNOWN_BUGS:
        assume(not _prices_bug(text))
    CASES["prices"] += 1
    path = fresh(".csv", stem="prices")
    path.write_text(text, encoding="utf-8")
    with watchdog():
        try:
            series = read_prices(path, column)
            assert np.all(np.isfinite(series.values))
            assert np.all(np.diff(series.dates) > np.timedelta64(0, "D"))
            prepare(series, min_returns=1)
        except ScenarioError as exc:
            check_error(exc, path)


@fuzz("calibrate_cli")
@given(
    text=price_files(),
    second=st.booleans(),
    opts=st.lists(
        st.sampled_from(
            [
                ["--since", "2020-13-01"],
                ["--until", "x"],
                ["--exclude", "2020-01-02:2020-01-01"],
                ["--exclude", "garbage"],
                ["--column", "nope"],
                ["--weekly"],
                ["--factor-correlation", "nan"],
                ["--factor-correlation", "2"],
                ["--since", "2020-01-01"],
            ]
        ),
        max_size=2,
    ),
)
def test_calibrate_cli_on_bad_price_files(text: str, second: bool, opts: list[list[str]]) -> None:
    """`sim calibrate` on small price files (always too short to calibrate): exit 2, one line."""
    if EXCLUDE_KNOWN_BUGS:
        assume(not _prices_bug(text))
    CASES["calibrate_cli"] += 1
    path = fresh(".csv", stem="prices")
    path.write_text(text, encoding="utf-8")
    files = [path]
    if second:
        other = path.parent / "other.csv"
        other.write_text("Date,Price\n2020-01-01,1\n", encoding="utf-8")
        files.append(other)
    args = [a for o in opts for a in o]
    result = invoke("calibrate", *files, "--quiet", *args)
    # Option errors (--since/--exclude/...) name the option, not a file.
    named = not any(
        o[0] in ("--since", "--until", "--exclude", "--factor-correlation") for o in opts
    )
    check_cli(result, files, name_file=named)
    assert result.exit_code == 2


# --------------------------------------------------------------------------- compare run dirs

_RUNS: dict[str, Path] = {}


def _template_runs() -> dict[str, Path]:
    """Two small real run directories (made once per process) to corrupt."""
    if not _RUNS:
        out = workdir() / "runs"
        for name in ("alpha", "beta"):
            doc = minimal_doc()
            doc["name"] = name
            path = workdir() / f"{name}.yaml"
            path.write_text(dump(doc), encoding="utf-8")
            result = invoke(
                "run",
                path,
                "--paths",
                "200",
                "--horizon",
                "5",
                "--workers",
                "1",
                "--out",
                out,
                "--quiet",
            )
            assert result.exit_code == 0, result.stderr
            _RUNS[name] = Path(result.stdout.strip().splitlines()[-1])
    return _RUNS


def _npz_bytes(kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "pickle":
        np.savez(buf, brent=np.array([{"a": 1}, None], dtype=object))
    elif kind == "empty":
        np.savez(buf)
    elif kind == "nan":
        np.savez(buf, brent=np.full((5, 2), np.nan))
    else:
        return b"PK\x03\x04 not really a zip"
    return buf.getvalue()


@fuzz("compare_dirs")
@given(
    damage=st.sampled_from(
        [
            "none",
            "json-garbage",
            "json-empty",
            "no-manifest",
            "no-paths",
            "npz-pickle",
            "npz-empty",
            "same-dir",
            "file-instead",
        ]
        + ([] if EXCLUDE_KNOWN_BUGS else ["npz-garbage", "npz-nan"])
    ),
    blob=st.binary(max_size=200),
)
def test_compare_damaged_run_directories(damage: str, blob: bytes) -> None:
    """`sim compare DIR DIR` on real run directories with damaged files.

    (Manifests that parse as JSON but lack keys are a known bug, tested separately.)
    """
    CASES["compare_dirs"] += 1
    runs = _template_runs()
    case = fresh(stem="x").parent
    a, b = case / "alpha", case / "beta"
    shutil.copytree(runs["alpha"], a)
    shutil.copytree(runs["beta"], b)
    items: list[Path] = [a, b]
    if damage == "json-garbage":
        (b / "manifest.json").write_bytes(b"{'" + blob)  # never valid JSON
    elif damage == "json-empty":
        (b / "manifest.json").write_bytes(b"")
    elif damage == "no-manifest":
        (b / "manifest.json").unlink()
    elif damage == "no-paths":
        (b / "paths.npz").unlink()
    elif damage.startswith("npz-"):
        (b / "paths.npz").write_bytes(_npz_bytes(damage[4:]))
    elif damage == "same-dir":
        items = [a, a]
    elif damage == "file-instead":
        items = [a, b / "manifest.json"]
    result = invoke("compare", *items, "--out", case / "out", "--quiet")
    check_cli(result, items, allow_runtime=True, name_file=damage != "none")
    if damage == "none":
        assert result.exit_code == 0, result.stderr
    leftovers = list((case / "out").glob(".*.tmp-*")) if (case / "out").exists() else []
    assert not leftovers


# --------------------------------------------------------------------------- run

#: Values allowed by the schema, at the edges of the allowed ranges.
EDGES = {
    ("oil", "spot"): [q(1e-300, "USD/bbl"), q(10_000, "USD/bbl"), q(5e-324, "USD/bbl")],
    ("oil", "short_term", "half_life"): [q(1e-300, "trading days"), q(1e300, "trading days")],
    ("oil", "short_term", "vol"): [q(0, "annualised"), q(5, "annualised")],
    ("oil", "long_term", "vol"): [q(0, "annualised"), q(5, "annualised")],
    ("oil", "long_term", "drift"): [q(-2, "per year"), q(2, "per year")],
    ("oil", "factor_correlation"): [q(-1, "correlation"), q(1, "correlation")],
    ("oil", "innovations"): [
        {"model": "student_t", "df": q(2.000001, "degrees of freedom")},
        {"model": "student_t", "df": q(1000, "degrees of freedom")},
    ],
    ("oil", "regimes"): [
        {
            "model": "markov",
            "calm_to_stressed": q(1, "per day"),
            "stressed_duration": q(1, "trading days"),
            "vol_multiplier": q(20, "multiplier"),
            "initial_stressed": q(1, "probability"),
        }
    ],
    ("oil", "jumps"): [
        {
            "model": "poisson",
            "intensity_calm": q(252, "per year"),
            "intensity_stressed": q(252, "per year"),
            "size": {
                "dist": "laplace",
                "loc": 0,
                "scale": 1e150,
                "unit": "log return",
                "rationale": "huge jumps",
            },
        }
    ],
    ("physical", "world_demand"): [q(1.000001, "mb/d"), q(1000, "mb/d")],
    ("physical", "supply_elasticity"): [q(0, "elasticity"), q(10, "elasticity")],
    ("physical", "demand_elasticity"): [q(-10, "elasticity"), q(-1e-300, "elasticity")],
    ("horizon_days",): [1, 2520],
    ("report_horizons_days",): [[1], [2520], [1, 1, 1]],
}


@st.composite
def edge_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    doc = minimal_doc()
    for path in draw(st.lists(st.sampled_from(sorted(EDGES)), max_size=4, unique=True)):
        parent = _get(doc, path[:-1])
        parent[path[-1]] = draw(st.sampled_from(EDGES[path]))
    if draw(st.booleans()):
        doc["events"] = {
            "shock": {
                "rationale": "fuzzed event",
                "probability": q(draw(st.sampled_from([0.0, 1.0, 0.5])), "probability"),
                "timing": q(draw(st.sampled_from([0, 1, 10_000])), "trading days"),
                "supply": {
                    "change": q(draw(st.sampled_from([-60, 60, 0])), "mb/d"),
                    "profile": {"shape": "step"},
                },
                "risk_premium": {
                    "size": q(
                        draw(st.sampled_from([-50, 500] if EXCLUDE_KNOWN_BUGS else [-500, 500])),
                        "USD/bbl",
                    ),
                    "half_life": q(1e-300, "trading days"),
                },
            }
        }
    return doc


VALID_OPTIONS = {"--paths": "200", "--horizon": "5", "--seed": "1", "--workers": "1"}
run_options = (
    st.just(VALID_OPTIONS)
    | st.just(VALID_OPTIONS)
    | st.fixed_dictionaries(
        {
            "--paths": st.sampled_from(["200", "1", "0", "-5", "10000000000000"]),
            "--horizon": st.sampled_from(["5", "1", "0", "2521", "-1"]),
            "--seed": st.sampled_from(["1", "0", "-1", str(2**64), str(2**200)]),
            "--workers": st.sampled_from(["1", "0", "-1", "257"]),
        }
    )
)


@fuzz("run_cli")
@given(
    doc=edge_scenarios() | mutated(minimal_doc(), max_mutations=1),
    options=run_options,
    book=st.one_of(st.none(), portfolios, st.just({"positions": {"brent": {"notional_usd": 1e6}}})),
)
@example(
    doc=minimal_doc(),
    options={"--paths": "200", "--horizon": "5", "--seed": "1", "--workers": "1"},
    book=None,
)
def test_run_cli(doc: dict[str, Any], options: dict[str, str], book: Any) -> None:
    """`sim run` with edge-of-range scenarios, odd options and portfolios.

    Valid requests are capped at 200 paths x 5 days; success prints an absolute path inside
    --out, failure one line; no temporary directory is left behind either way.
    """
    CASES["run_cli"] += 1
    path = fresh(stem="scn")
    path.write_text(dump(doc), encoding="utf-8")
    out = path.parent / "out"
    args: list[str | Path] = ["run", path, "--out", out, "--quiet"]
    for k, v in options.items():
        args += [k, v]
    files: list[str | Path] = [path]
    if book is not None:
        bpath = path.parent / "book.yaml"
        bpath.write_text(dump(book), encoding="utf-8")
        args += ["--portfolio", bpath]
        files.append(bpath)
    # Option errors name the option, not a file.
    ok_options = (
        options["--paths"] in ("200", "1")
        and options["--horizon"] in ("5", "1")
        and (options["--seed"] in ("0", "1") and options["--workers"] == "1")
    )
    result = invoke(*args)
    check_cli(result, files, allow_runtime=True, name_file=ok_options)
    if out.exists():
        assert not list(out.glob(".*.tmp-*")), "temporary directory left behind"
        assert not list(out.glob(".*.old-*")), "old directory left behind"
    if result.exit_code == 0:
        printed = Path(result.stdout.strip().splitlines()[-1])
        assert printed.is_absolute()
        assert printed.parent == out.resolve()
        assert (printed / "manifest.json").is_file()


@fuzz("kernel_forms")
@given(
    doc=edge_scenarios() | mutated(BASELINE_DOC, max_mutations=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_and_numpy_kernels_agree_on_edge_scenarios(doc: dict[str, Any], seed: int) -> None:
    """The compiled kernels (used from 200,000 paths up, which the CLI cases above never
    reach) and their numpy twins give the same statistics to rounding, or fail with the same
    message, on edge-of-range and mutated scenarios, with assets and without."""
    CASES["kernel_forms"] += 1
    path = fresh(stem="scn")
    path.write_text(dump(doc), encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a repaired correlation matrix
            loaded = load_scenario(path)
    except ScenarioError:
        return
    horizon = min(loaded.scenario.horizon_days, 30)
    config = {"paths": 300, "seed": seed, "horizon_days": horizon, "block_size": 150}
    outcomes: list[Any] = []
    for compiled in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcomes.append(run(loaded, RunConfig(**config, workers=1, compiled=compiled)))
        except RuntimeFailure as exc:
            outcomes.append(str(exc))
    fast, slow = outcomes
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
        return
    for name, series in fast.summary.series.items():
        a = series.rows()
        b = slow.summary.series[name].rows()
        assert [r[:3] for r in a] == [r[:3] for r in b]
        np.testing.assert_allclose(
            [r[3:] for r in a], [r[3:] for r in b], rtol=1e-9, atol=1e-12, equal_nan=True
        )
    assert fast.summary.events.occurred.tolist() == slow.summary.events.occurred.tolist()


# --------------------------------------------------------------------------- list


@fuzz("list_cli")
@given(
    docs=st.lists(
        st.one_of(mutated(minimal_doc(), max_mutations=1), st.just(None)), min_size=0, max_size=3
    ),
    description=texts(60),
)
def test_list_cli(docs: list[Any], description: str) -> None:
    """`sim list DIR` over a directory of good and bad scenarios (and a sub-directory)."""
    if EXCLUDE_KNOWN_BUGS:
        # Known bug: rich markup in a description crashes the table.
        assume("[" not in description)
    CASES["list_cli"] += 1
    d = fresh().parent
    files = []
    for i, doc in enumerate(docs):
        if doc is None:
            (d / f"dir{i}.yaml").mkdir()
            files.append(d / f"dir{i}.yaml")
            continue
        if isinstance(doc, dict) and isinstance(doc.get("description"), str):
            doc["description"] = description or "x"
        f = d / f"s{i}.yaml"
        f.write_text(dump(doc), encoding="utf-8")
        files.append(f)
    result = invoke("list", d)
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), repr(exc)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code in (0, 2)
    errors = [line for line in result.stderr.split("\n") if line]
    assert all(line.startswith("Error: ") for line in errors), result.stderr
    # One line per bad file, each naming it.
    for line in errors:
        assert any(str(f) in line for f in files), line


# --------------------------------------------------------------------------- fixed cases


def test_the_ci_budget_is_at_least_2000_cases() -> None:
    assert CI_CASES >= 2000


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("empty file", lambda p: p.write_text("")),
        ("directory", lambda p: p.mkdir()),
        ("missing", lambda p: None),
        ("too large", lambda p: p.write_text("#" * (MAX_FILE_BYTES + 1))),
        ("not utf-8", lambda p: p.write_bytes(b"name: \xff\xfe\n")),
        ("utf-16", lambda p: p.write_text("name: x\n", encoding="utf-16")),
        ("path under a file", None),
        ("dangling symlink", lambda p: p.symlink_to(p.parent / "nowhere.yaml")),
    ],
)
def test_odd_files_on_every_command(tmp_path: Path, what: str, make: Callable[..., Any]) -> None:
    """Each loader's odd-file errors: validate, run, compare, run --portfolio, calibrate."""
    path = tmp_path / "s.yaml"
    if make is None:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "s.yaml"
    else:
        make(path)
    good = tmp_path / "good.yaml"
    good.write_text(dump(minimal_doc()), encoding="utf-8")
    fast = [
        "--paths",
        "200",
        "--horizon",
        "5",
        "--workers",
        "1",
        "--quiet",
        "--out",
        tmp_path / "o",
    ]
    cases: list[tuple[list[Any], bool]] = [
        (["validate", path], True),
        (["run", path, *fast], True),
        (["run", good, "--portfolio", path, *fast], True),
        (["compare", good, path, *fast], True),
    ]
    if not (EXCLUDE_KNOWN_BUGS and what == "too large"):  # one 1 MB CSV field: csv.Error bug
        cases.append((["calibrate", path, "--quiet"], True))
    for args, named in cases:
        result = invoke(*args)
        check_cli(result, [path], name_file=named, several=args[0] == "validate")
        assert result.exit_code == 2, (args, result.stderr)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_python_tags_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for snippet in YAML_SNIPPETS[:6]:
        path = tmp_path / "s.yaml"
        path.write_text(MINIMAL_TEXT + snippet, encoding="utf-8")
        result = invoke("validate", path)
        check_cli(result, [path])
        assert result.exit_code == 2
        assert "tags that build Python objects are not allowed" in result.stderr or (
            "!!python" not in snippet
        )
        assert not (tmp_path / "SENTINEL").exists()


def test_billion_laughs_is_rejected_quickly(tmp_path: Path) -> None:
    import time

    for merge in (False, True):
        path = tmp_path / "bomb.yaml"
        path.write_text(billion_laughs(12, 12, merge), encoding="utf-8")
        t0 = time.perf_counter()
        result = invoke("validate", path)
        check_cli(result, [path])
        assert result.exit_code == 2
        assert "document too large" in result.stderr
        assert time.perf_counter() - t0 < 10


# --------------------------------------------------------------------------- known bugs
# Each pins one bug in simulator/ with its exact input. strict=True: a fix turns it red.


def _validate_text(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path, invoke("validate", path)


MINIMAL_LINES = dump(minimal_doc())


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(MINIMAL_LINES.replace("as_of: '2026-02-06'", "as_of: 2026-02-30"), id="feb30"),
        pytest.param(
            MINIMAL_LINES.replace("as_of: '2026-02-06'", "as_of: 2026-13-01"), id="month13"
        ),
        pytest.param(
            MINIMAL_LINES.replace("horizon_days: 20", "horizon_days: " + "9" * 4301),
            id="int-4301-digits",
        ),
        pytest.param(MINIMAL_LINES + "x: !!float abc\n", id="tag-float"),
        pytest.param(MINIMAL_LINES + "x: !!int abc\n", id="tag-int"),
        pytest.param(MINIMAL_LINES + "x: !!bool maybe\n", id="tag-bool"),
        pytest.param(MINIMAL_LINES + "x: !!timestamp abc\n", id="tag-timestamp"),
    ],
)
def test_regression_yaml_constructor_errors_escape(tmp_path: Path, text: str) -> None:
    path, result = _validate_text(tmp_path, text)
    check_cli(result, [path])
    assert result.exit_code == 2


def _portfolio_error(tmp_path: Path, text: str) -> ScenarioError:
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_portfolio(path)
    check_error(info.value, path)
    return info.value


def test_regression_portfolio_constructor_error(tmp_path: Path) -> None:
    _portfolio_error(tmp_path, "positions: {brent: {notional_usd: !!float x}}\n")


def test_regression_portfolio_position_name_with_a_line_break(tmp_path: Path) -> None:
    """A position named by a line break is echoed in the field: escaped, one line."""
    error = _portfolio_error(tmp_path, 'positions: {"\\n": {}}\n')
    assert "positions.\\n: give exactly one of" in str(error)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x7f", "\ufffe"])
def test_regression_forbidden_character_message_has_two_lines(tmp_path: Path, char: str) -> None:
    path, result = _validate_text(tmp_path, MINIMAL_LINES + f"x: a{char}b\n")
    check_cli(result, [path])


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param('"a\\nb": 1\n', id="key"),
        pytest.param('extends: "a\\nb"\n', id="extends"),
    ],
)
def test_regression_line_breaks_echoed_into_message(tmp_path: Path, snippet: str) -> None:
    path, result = _validate_text(tmp_path, MINIMAL_LINES + snippet)
    check_cli(result, [path])


def test_regression_line_break_in_unit(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["oil"]["spot"]["unit"] = "USD\nbbl"
    path, result = _validate_text(tmp_path, dump(doc))
    check_cli(result, [path])


@pytest.mark.parametrize("parent", ["a\\0b", "x" * 5000], ids=["nul", "too-long"])
def test_regression_extends_odd_names(tmp_path: Path, parent: str) -> None:
    path, result = _validate_text(tmp_path, MINIMAL_LINES + f'extends: "{parent}"\n')
    check_cli(result, [path])
    assert result.exit_code == 2


def test_regression_list_description_markup(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["description"] = "[/x] closes nothing"
    (tmp_path / "s.yaml").write_text(dump(doc), encoding="utf-8")
    result = invoke("list", tmp_path)
    check_cli(result, [])
    assert result.exit_code == 0
    assert "[/x] closes nothing" in result.stdout


def test_regression_price_field_over_csv_limit(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Date,Price\n2020-01-01," + "1" * 200_000 + "\n", encoding="utf-8")
    check_cli(invoke("calibrate", path, "--quiet"), [path])


def test_regression_price_cell_with_line_break(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('Date,Price\n2020-01-01,"1\n2"\n', encoding="utf-8")
    check_cli(invoke("calibrate", path, "--quiet"), [path])


@pytest.mark.parametrize(
    "damage", ["drop-scenario", "drop-horizons", "list", "type", "fan", "npz-shape"]
)
def test_regression_compare_trusts_manifest(damage: str) -> None:
    runs = _template_runs()
    case = fresh(stem="x").parent
    a, b = case / "alpha", case / "beta"
    shutil.copytree(runs["alpha"], a)
    shutil.copytree(runs["beta"], b)
    meta = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    if damage == "drop-scenario":
        del meta["scenario"]
    elif damage == "drop-horizons":
        del meta["horizons_days"]
    elif damage == "list":
        meta = [meta]
    elif damage == "type":
        meta["horizons_days"] = "x"
    (b / "manifest.json").write_text(json.dumps(meta), encoding="utf-8")
    if damage == "fan":
        (b / "fan.csv").write_text("garbage\n1,2\n", encoding="utf-8")
    if damage == "npz-shape":  # brent: (5, 2) NaNs -> ValueError from zip(strict=True)
        (b / "paths.npz").write_bytes(_npz_bytes("nan"))
    result = invoke("compare", a, b, "--out", case / "out", "--quiet")
    check_cli(result, [b])
    assert result.exit_code == 2


def test_regression_symlink_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.symlink_to(path)
    result = invoke("validate", path)
    check_cli(result, [path])
    assert result.exit_code == 2


def test_regression_compare_npz_not_a_zip() -> None:
    runs = _template_runs()
    case = fresh(stem="x").parent
    a, b = case / "alpha", case / "beta"
    shutil.copytree(runs["alpha"], a)
    shutil.copytree(runs["beta"], b)
    (b / "paths.npz").write_bytes(_npz_bytes("garbage"))
    result = invoke("compare", a, b, "--out", case / "out", "--quiet")
    check_cli(result, [b])
    assert result.exit_code == 2


def test_regression_one_megabyte_of_nodes_is_slow(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "s.yaml"
    n = (MAX_FILE_BYTES - 10) // 2
    path.write_text("x: [" + ",".join(["0"] * n) + "]\n", encoding="utf-8")
    try:
        proc = _subprocess_validate(str(path), timeout=8)
    except subprocess.TimeoutExpired:
        raise AssertionError("still running after 8 s") from None
    assert proc.returncode == 2


def _subprocess_validate(target: str, timeout: float = 15) -> Any:
    import subprocess

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    return subprocess.run(
        [sys.executable, "-m", "simulator", "validate", target],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )


def test_regression_unbounded_read_of_dev_zero() -> None:
    import subprocess

    try:
        proc = _subprocess_validate("/dev/zero", timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("hang") from None
    assert proc.returncode == 2, proc.stderr[-300:]
    assert "Traceback" not in proc.stderr


def test_regression_fifo_hangs(tmp_path: Path) -> None:
    import subprocess

    fifo = tmp_path / "s.yaml"
    os.mkfifo(fifo)
    try:
        proc = _subprocess_validate(str(fifo), timeout=3)
    except subprocess.TimeoutExpired:
        raise AssertionError("sim validate FIFO still running after 3 s") from None
    assert proc.returncode == 2


def test_regression_laplace_jump_scale_overflows(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["oil"]["jumps"] = {
        "model": "poisson",
        "intensity_calm": q(1, "per year"),
        "intensity_stressed": q(1, "per year"),
        "size": {
            "dist": "laplace",
            "loc": 0,
            "scale": 1e300,
            "unit": "log return",
            "rationale": "huge jumps",
        },
    }
    path = tmp_path / "s.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    result = invoke(
        "run",
        path,
        "--paths",
        "200",
        "--horizon",
        "5",
        "--workers",
        "1",
        "--quiet",
        "--out",
        tmp_path / "out",
    )
    check_cli(result, [path], allow_runtime=True)


def test_regression_premium_check_does_not_name_the_file(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["events"] = {
        "shock": {
            "rationale": "fuzzed event",
            "probability": q(1.0, "probability"),
            "timing": q(1, "trading days"),
            "risk_premium": {"size": q(-500, "USD/bbl"), "half_life": q(5, "trading days")},
        }
    }
    path = tmp_path / "s.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    result = invoke(
        "run",
        path,
        "--paths",
        "200",
        "--horizon",
        "5",
        "--workers",
        "1",
        "--quiet",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 2
    check_cli(result, [path])
