"""The boundaries of contacts and arrivals (``boundaries/README.md``): the §6 files imported and the
§7 outputs asked for through the command line, compared with the lines worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.cli import app
from cityline.config import get_settings
from cityline.db import default_sessionmaker

HERE = Path(__file__).parent / "boundaries"
KINDS = ("residents", "cases", "scans", "trips", "risk-areas")


@pytest.fixture(scope="module")
def cityline(tmp_path_factory):
    """``cityline …`` in this process on an embedded database of its own, the files imported."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CITYLINE_DATA_DIR", str(tmp_path_factory.mktemp("boundaries")))
    patch.setenv("CITYLINE_SECRET_KEY", "boundaries")
    patch.delenv("CITYLINE_DATABASE_URL", raising=False)
    forget_the_database()

    def run(*args: str) -> list[dict]:
        result = CliRunner().invoke(app, ["epidemic", *args, "--json"])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]

    for kind in KINDS:
        (report,) = run("import", kind, str(HERE / "data" / f"{kind}.csv"))
        assert report["bad"] == 0 and report["added"] == report["read"], report
    yield run
    patch.undo()
    forget_the_database()


def forget_the_database() -> None:
    """The settings and the database are built once per process: built anew for this module's, and
    again after it (so no later module gets this one's)."""
    get_settings.cache_clear()
    runtime.sessions.cache_clear()
    default_sessionmaker.cache_clear()


def expected(name: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / "expected" / name).read_text(encoding="utf-8").splitlines() if line]


def test_contacts_at_the_boundaries(cityline):
    assert cityline("contacts") == expected("contacts.jsonl")


def test_arrivals_at_the_boundaries(cityline):
    assert cityline("arrivals", "--date", "2022-05-12") == expected("arrivals_2022-05-12.jsonl")
