"""Acceptance on data written by someone who saw only formats.md §6–§7, never cityline: the
files, bad rows and hand-derived outputs in ``outsider/`` (see its README), run through the
command line as a user runs it and compared by the rules its ``expected.json`` states."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.cli import app
from cityline.config import get_settings
from cityline.db import default_sessionmaker

HERE = Path(__file__).parent / "outsider"
EXPECTED = json.loads((HERE / "expected.json").read_text())
PERSONAL = re.compile(r"测试[甲乙丙丁戊己庚辛壬癸][一二三四五]|测试坏.|990000\d{11}[\dX]|1380000\d{4}")
T1, T3 = "2026-11-20T10:00:00+08:00", "2026-11-16T12:00:00+08:00"


@pytest.fixture(scope="module")
def cityline(tmp_path_factory):
    """``cityline …`` in this process on an embedded database of its own."""
    data = tmp_path_factory.mktemp("outsider")
    patch = pytest.MonkeyPatch()
    patch.setenv("CITYLINE_DATA_DIR", str(data))
    patch.setenv("CITYLINE_SECRET_KEY", "outsider-acceptance")
    patch.delenv("CITYLINE_DATABASE_URL", raising=False)
    patch.chdir(HERE)
    get_settings.cache_clear()
    runtime.sessions.cache_clear()
    default_sessionmaker.cache_clear()  # else a module before this one leaves its database here

    def run(command: str):
        result = CliRunner().invoke(app, command.split(), env={"COLUMNS": "200"})
        assert not PERSONAL.search(result.output), f"personal data in the output of {command}"
        return result

    yield run
    patch.undo()
    get_settings.cache_clear()
    runtime.sessions.cache_clear()
    default_sessionmaker.cache_clear()  # else a module before this one leaves its database here


@pytest.fixture(scope="module")
def imported(cityline):
    results = {}
    for step in EXPECTED["imports"]:
        if step["command"].startswith("cityline epidemic import"):
            results[step["command"]] = cityline(step["command"].removeprefix("cityline "))
    return results


def json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def instant(value):
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return value


def matches(want: dict, got: dict) -> bool:
    """The keys given, times as instants, numbers as numbers, a ``via`` list as any one of it."""
    for key, value in want.items():
        if key not in got:
            return False
        if key == "via" and isinstance(value, list):
            ok = got[key] in value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            ok = isinstance(got[key], int | float) and abs(got[key] - value) < 1e-9
        elif isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value):
            ok = instant(value) == instant(got[key])
        else:
            ok = got[key] == value
        if not ok:
            return False
    return True


def assert_same_lines(got: list[dict], want: list[dict], what: str) -> None:
    left = list(got)
    for line in want:
        found = next((g for g in left if matches(line, g)), None)
        assert found is not None, f"{what}: missing {line}; got {got}"
        left.remove(found)
    assert not left, f"{what}: lines not expected: {left}"


def test_every_import_names_its_bad_rows_and_takes_the_good_ones(imported):
    for step in EXPECTED["imports"]:
        if step["command"] not in imported:
            continue
        result = imported[step["command"]]
        named = {int(n) for n in re.findall(r"(?:row|line) (\d+):", result.output)}
        allowed = [0, 1] if step["exit_code"] == "0 or 1" else [step["exit_code"]]  # GBK: §6 names UTF-8 only
        assert result.exit_code in allowed, (step["command"], result.output)
        assert named == {bad["line"] for bad in step.get("bad_rows", [])}, (step["command"], result.output)


def test_a_gbk_file_is_read_as_gbk_never_stored_garbled(imported):
    gbk = imported["cityline epidemic import residents optional/residents_gbk.csv"]
    assert "added 0, updated 0, unchanged 4" in gbk.output  # the same people as the UTF-8 file, unchanged


def test_importing_everything_again_adds_nothing(cityline, imported):
    for command in list(imported)[:6]:
        again = cityline(command.removeprefix("cityline "))
        assert re.search(r"added 0, updated 0", again.output), (command, again.output)


@pytest.mark.parametrize("name", sorted(p.stem for p in (HERE / "expected").glob("*.jsonl")
                                        if not p.stem.startswith("pass_")))
def test_the_rules_give_the_outputs_derived_by_hand(cityline, imported, name):
    want = [json.loads(line) for line in (HERE / "expected" / f"{name}.jsonl").read_text().splitlines() if line]
    what, *rest = name.split("_")
    command = {
        "coverage": lambda: (f"epidemic coverage --since {rest[-2]} --until {rest[-1]}"
                             + (" --untested" if rest[0] == "untested" else "")),
        "zones": lambda: f"epidemic zones --date {rest[0]}",
        "arrivals": lambda: f"epidemic arrivals --date {rest[0]}",
        "contacts": lambda: "epidemic contacts" + ("" if rest[0] == "all" else f" --case {rest[0]}"),
    }[what]()
    assert_same_lines(json_lines(cityline(command + " --json")), want, command)


def test_passes_are_issued_verified_expired_and_revoked_as_derived_by_hand(cityline, imported):
    codes = {}
    for issue in EXPECTED["passes"]["issue"]:
        command = issue["command"].removeprefix("cityline ")
        got = json_lines(cityline(command))
        assert_same_lines(got, [line["line"] for line in issue["lines"]], command)
        at = re.search(r"--at (\S+)", command).group(1)
        codes.update({(g["person"], at): g["code"] for g in got if g.get("code")})
    for check in EXPECTED["passes"]["verify"]:
        command = check["command"].removeprefix("cityline ")
        if found := re.search(r"<code of (\w+) from (T\d)>", command):
            code = codes[(found.group(1), {"T1": T1, "T3": T3}[found.group(2)])]
        elif "last character changed" in command:
            code = codes[("R02", T1)]
            code = code[:-1] + ("A" if code[-1] != "A" else "B")
        else:
            code = command.split()[3]
        command = re.sub(r"<[^>]+>|CL-FAKE-0000", code, command)
        assert_same_lines(json_lines(cityline(command)), [check["line"]], command)
