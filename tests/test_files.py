"""Output files: unwritable destinations, a full disk, names that try to leave --out.

Failures to write end with exit 1 (runtime) or 2 (bad --out) and one ``Error:`` line, no
traceback, nothing half-written. Scenario names are restricted by a regex, so a result can
only land directly under --out; the path printed at the end is absolute and inside --out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import minimal_doc

from simulator.cli import app
from simulator.errors import RuntimeFailure
from simulator.output import write_text_atomic

FAST = ["--paths", "200", "--horizon", "5", "--workers", "1", "--quiet"]


def invoke(runner: Any, *args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], prog_name="sim")


def one_error_line(result: Any) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.split("\n") if line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "internal error" not in lines[0], lines[0]
    return lines[0]


def scenario(tmp_path: Path, **fields: Any) -> Path:
    doc = minimal_doc()
    doc.update(fields)
    path = tmp_path / f"{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _writes_despite_chmod(directory: Path) -> bool:
    """True if permission bits do not stop us (root, CAP_DAC_OVERRIDE)."""
    probe = directory / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


# --------------------------------------------------------------------------- unwritable --out


def test_read_only_output_directory(runner: Any, tmp_path: Path, no_simulation: None) -> None:
    path = scenario(tmp_path)
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        if _writes_despite_chmod(out):
            pytest.skip(
                "running with CAP_DAC_OVERRIDE (root): chmod does not stop writes; "
                "see the --out-under-a-file and /proc tests"
            )
        result = invoke(runner, "run", path, *FAST, "--out", out)
        assert result.exit_code == 2
        assert (
            one_error_line(result) == f"Error: --out {out}: cannot write there (Permission denied)"
        )
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)


def test_out_is_a_file(runner: Any, tmp_path: Path, no_simulation: None) -> None:
    path = scenario(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("not a directory")
    result = invoke(runner, "run", path, *FAST, "--out", afile)
    assert result.exit_code == 2
    assert one_error_line(result) == f"Error: --out {afile} exists and is not a directory"
    assert afile.read_text() == "not a directory"


def test_out_under_a_file(runner: Any, tmp_path: Path, no_simulation: None) -> None:
    """--out somefile/sub: refused before the run, with the file named."""
    path = scenario(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = invoke(runner, "run", path, *FAST, "--out", afile / "sub")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --out {afile / 'sub'}: {afile} is a file, not a directory"
    )
    assert afile.read_text() == "x"


def test_compare_out_under_a_file(runner: Any, tmp_path: Path, no_simulation: None) -> None:
    a, b = scenario(tmp_path, name="alpha"), scenario(tmp_path, name="beta")
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = invoke(runner, "compare", a, b, *FAST, "--out", afile / "sub")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --out {afile / 'sub'}: {afile} is a file, not a directory"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_out_under_proc(runner: Any, tmp_path: Path, no_simulation: None) -> None:
    """/proc refuses new directories even for root: found before the run, exit 2."""
    path = scenario(tmp_path)
    out = Path("/proc/self/sim-out")
    result = invoke(runner, "run", path, *FAST, "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"Error: --out {out}: cannot write there ("), line


def test_calibrate_out_under_a_file(runner: Any, tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text("Date,Price\n2020-01-01,1\n")
    afile = tmp_path / "afile"
    afile.write_text("x")
    # Where the results go is checked before the data and the fit.
    result = invoke(runner, "calibrate", prices, "--quiet", "--out", afile / "x.yaml")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --out {afile / 'x.yaml'}: {afile} is a file, not a directory"
    )
    result = invoke(runner, "calibrate", prices, "--quiet", "--charts", afile)
    assert result.exit_code == 2
    assert one_error_line(result) == f"Error: --charts {afile}: {afile} is a file, not a directory"
    result = invoke(runner, "calibrate", prices, "--quiet", "--out", tmp_path)
    assert result.exit_code == 2
    assert one_error_line(result) == f"Error: --out {tmp_path} is a directory; give a file name"
    assert afile.read_text() == "x"


def test_write_text_atomic_keeps_the_earlier_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "fragment.yaml"
    target.write_text("earlier", encoding="utf-8")
    write_text_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "new"

    with pytest.raises(TypeError):
        write_text_atomic(target, 42)  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["fragment.yaml"]


def test_write_text_atomic_gives_the_usual_permissions(tmp_path: Path) -> None:
    """Not the private 0600 of a temporary file: what a plain write would give."""
    old = os.umask(0o022)
    try:
        target = tmp_path / "fragment.yaml"
        write_text_atomic(target, "x")
        assert target.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


def test_write_text_atomic_failure_is_a_runtime_failure(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RuntimeFailure) as info:
        write_text_atomic(tmp_path / "afile" / "x.yaml", "y")
    assert str(info.value).startswith(f"cannot write {tmp_path / 'afile' / 'x.yaml'}: ")


# --------------------------------------------------------------------------- full disk


def _can_mount() -> bool:
    return not (os.geteuid() != 0 or shutil.which("mount") is None)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Any:
    if not _can_mount():
        pytest.skip("a full disk needs root and mount(8) to make a tiny tmpfs")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"mount not permitted here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, check=False)


def test_full_disk(runner: Any, tmp_path: Path, tiny_tmpfs: Path) -> None:
    path = scenario(tmp_path)
    result = invoke(runner, "run", path, *FAST, "--out", tiny_tmpfs)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "cannot write" in line
    assert [p.name for p in tiny_tmpfs.iterdir()] == []


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    [
        "../../etc",
        "..",
        ".",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "~root",
        "Mini",
        "mini.yaml",
        "",
        " mini",
        "mini\x00",
        "a" * 65,
        "caf\u00e9",
        "\u202eevil",
    ],
)
def test_names_cannot_leave_the_output_directory(runner: Any, tmp_path: Path, name: str) -> None:
    path = scenario(tmp_path, name=name)
    out = tmp_path / "deep" / "out"
    result = invoke(runner, "run", path, *FAST, "--out", out)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith(f"Error: {path}")
    assert ": name: " in line
    assert not (tmp_path / "deep").exists()
    assert not Path("/etc/passwd.tmp").exists()


@pytest.mark.parametrize("stem", ["..", "UPPER", "1abc", "a-b", "x.y"])
def test_name_from_the_file_stem_is_checked_too(runner: Any, tmp_path: Path, stem: str) -> None:
    doc = minimal_doc()
    del doc["name"]
    d = tmp_path / "d"
    d.mkdir()
    path = d / f"{stem}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = invoke(runner, "validate", path)
    assert result.exit_code == 2
    assert "name" in one_error_line(result)


def test_printed_paths_are_absolute_and_inside_out(
    runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a = scenario(tmp_path, name="alpha")
    b = scenario(tmp_path, name="beta")
    out = Path("rel") / ".." / "rel" / "out"  # relative, with a '..'
    result = invoke(runner, "run", a.name, b.name, *FAST, "--out", out)
    assert result.exit_code == 0, result.stderr
    printed = [Path(line) for line in result.stdout.split("\n") if line]
    assert [p.name for p in printed] == ["alpha", "beta"]
    root = (tmp_path / "rel" / "out").resolve()
    for p in printed:
        assert p.is_absolute()
        assert p.parent == root
        assert (p / "manifest.json").is_file()
    again = invoke(runner, "run", a.name, *FAST, "--out", out)
    assert Path(again.stdout.strip()) == root / "alpha-2"
    cmp = invoke(runner, "compare", a.name, b.name, *FAST, "--out", out)
    assert cmp.exit_code == 0, cmp.stderr
    target = Path(cmp.stdout.strip().split("\n")[-1])
    assert target.is_absolute()
    assert target.parent == root


def test_symlinked_out_is_followed_not_escaped(runner: Any, tmp_path: Path) -> None:
    """--out may be a symlink the user made; the result goes into its target, nowhere else."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    result = invoke(runner, "run", scenario(tmp_path, name="mini"), *FAST, "--out", link)
    assert result.exit_code == 0, result.stderr
    assert (real / "mini" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["link", "real"]


def test_existing_result_replaced_only_with_force(runner: Any, tmp_path: Path) -> None:
    path = scenario(tmp_path, name="mini")
    out = tmp_path / "out"
    assert invoke(runner, "run", path, *FAST, "--out", out).exit_code == 0
    marker = out / "mini" / "user-notes.txt"
    marker.write_text("mine")
    assert invoke(runner, "run", path, *FAST, "--out", out).exit_code == 0
    assert marker.read_text() == "mine"
    assert invoke(runner, "run", path, *FAST, "--out", out, "--force").exit_code == 0
    assert not marker.exists()
    assert sorted(p.name for p in out.iterdir()) == ["mini", "mini-2"]


@pytest.mark.parametrize("kind", ["directory", "file"])
def test_force_replaces_only_an_earlier_result(runner: Any, tmp_path: Path, kind: str) -> None:
    """--force must not remove what the user keeps under the result's name: a directory
    without a manifest.json, or a file. Checked before anything runs; nothing is written."""
    path = scenario(tmp_path, name="mini")
    out = tmp_path / "out"
    out.mkdir()
    theirs = out / "mini"
    if kind == "directory":
        theirs.mkdir()
        (theirs / "notes.txt").write_text("mine")
    else:
        theirs.write_text("mine")
    result = invoke(runner, "run", path, *FAST, "--out", out, "--force")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --force: {theirs} is a {kind} that is not a sim result (no manifest.json); "
        "not replacing it"
    )
    assert sorted(p.name for p in out.iterdir()) == ["mini"]
    mine = theirs / "notes.txt" if kind == "directory" else theirs
    assert mine.read_text() == "mine"


@pytest.mark.parametrize("manifest", ["", "[]", '{"scenario": "mini"}', "not json"])
def test_force_needs_a_manifest_sim_wrote(runner: Any, tmp_path: Path, manifest: str) -> None:
    """A manifest.json of someone else's (empty, not JSON, without sim's package_version)
    does not make a directory an earlier result."""
    path = scenario(tmp_path, name="mini")
    theirs = tmp_path / "out" / "mini"
    theirs.mkdir(parents=True)
    (theirs / "manifest.json").write_text(manifest)
    result = invoke(runner, "run", path, *FAST, "--out", tmp_path / "out", "--force")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --force: {theirs} is a directory that is not a sim result (no "
        "manifest.json); not replacing it"
    )
    assert (theirs / "manifest.json").read_text() == manifest


@pytest.mark.parametrize("dangling", [False, True])
def test_force_does_not_replace_a_symbolic_link(
    runner: Any, tmp_path: Path, dangling: bool
) -> None:
    """Neither a link to an earlier result (it would be left behind, renamed) nor a
    dangling one (the run would fail only at the end)."""
    path = scenario(tmp_path, name="mini")
    real = tmp_path / "real"
    if not dangling:
        assert invoke(runner, "run", path, *FAST, "--out", tmp_path / "first").exit_code == 0
        (tmp_path / "first" / "mini").rename(real)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mini").symlink_to(real)
    result = invoke(runner, "run", path, *FAST, "--out", out, "--force")
    assert result.exit_code == 2
    assert (
        one_error_line(result)
        == f"Error: --force: {out / 'mini'} is a symbolic link; not replacing it"
    )
    assert sorted(p.name for p in out.iterdir()) == ["mini"]
    assert (out / "mini").is_symlink()
    again = invoke(runner, "run", path, *FAST, "--out", out)  # without --force: a new name
    assert again.exit_code == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["mini", "mini-2"]


def test_force_refuses_two_scenarios_of_one_name(runner: Any, tmp_path: Path) -> None:
    a, b = scenario(tmp_path, name="mini"), scenario(tmp_path, name="mini")
    out = tmp_path / "out"
    result = invoke(runner, "run", a, b, *FAST, "--out", out, "--force")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "Error: --force: two scenarios are named 'mini'; the second result would replace the first"
    )
    assert not out.exists()


def test_compare_force_replaces_only_an_earlier_comparison(runner: Any, tmp_path: Path) -> None:
    a, b = scenario(tmp_path, name="alpha"), scenario(tmp_path, name="beta")
    out = tmp_path / "out"
    theirs = out / "compare-alpha-beta"
    theirs.mkdir(parents=True)
    result = invoke(runner, "compare", a, b, *FAST, "--out", out, "--force")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"Error: --force: {theirs} is a directory that is not a sim result (no "
        "manifest.json); not replacing it"
    )
    assert sorted(p.name for p in out.iterdir()) == ["compare-alpha-beta"]
    assert not any(theirs.iterdir())
    first = invoke(runner, "compare", a, b, *FAST, "--out", tmp_path / "out2")
    assert first.exit_code == 0, first.stderr
    again = invoke(runner, "compare", a, b, *FAST, "--out", tmp_path / "out2", "--force")
    assert again.exit_code == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["compare-alpha-beta"]


def test_empty_out_is_an_error_not_the_current_directory(
    runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = scenario(tmp_path, name="mini")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = invoke(runner, "run", path, *FAST, "--out", "")
    assert result.exit_code == 2
    assert (
        one_error_line(result)
        == "Error: --out is empty: give a directory ('.' for the current one)"
    )
    assert not any(work.iterdir())


def test_python_m_simulator_entry_point(tmp_path: Path) -> None:
    """The real entry point prints the same one-line error (no rich traceback box)."""
    path = scenario(tmp_path, name="../../etc")
    proc = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.split("\n") if x]
    assert line.startswith(f"Error: {path}")
    assert ": name: " in line
