"""The catalogue and units are cached per process and re-read only after a change, made here or
in another process (another server worker, the command line), seen at once (cityline.generations)."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, update

from cityline.accounts.models import Unit
from cityline.db import transaction
from cityline.routing import catalogue
from tests.factories import add_units_and_catalogue

ROOT = Path(__file__).resolve().parents[2]


def units_for(sessions, category: str) -> list[str]:
    with transaction(sessions) as session:
        return [c.unit for c in catalogue.suggest_units(session, category, "静安区", "曹家渡街道")]


def in_another_process(sessions, code: str) -> None:
    """Run ``code`` (with ``session`` in a committed transaction) in a Python process of its own."""
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    script = ("import sys\nfrom sqlalchemy import update\nfrom cityline.db import make_engine, make_sessionmaker, "
              "transaction\nfrom cityline.accounts.models import Unit\nfrom cityline.routing import catalogue\n"
              f"with transaction(make_sessionmaker(make_engine(sys.argv[1]))) as session:\n    {code}\n")
    subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, check=True, timeout=120)


def test_a_change_in_another_process_is_seen_here(sessions):
    add_units_and_catalogue(sessions)
    assert units_for(sessions, "EPI.CODE") == ["SH-WJW"]
    in_another_process(sessions, "catalogue.replace_catalogue(session, [(2, {'category': 'EPI.CODE', "
                                 "'unit': 'SH-JA'}), (3, {'category': 'EPI.MEDICAL', 'level': 'street'})], actor='cli:ana')")
    assert units_for(sessions, "EPI.CODE") == ["SH-JA"]
    assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA-CJD"]  # the street's office
    in_another_process(sessions, "session.execute(update(Unit).where(Unit.code == 'SH-JA-CJD').values(active=False))")
    assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA"]  # the office closed: its district centre


def test_the_catalogue_is_read_again_only_after_a_change(sessions):
    add_units_and_catalogue(sessions)
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM dispatch_rules" in statement or "FROM units" in statement:
            reads.append(statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", count)
    try:
        assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA-CJD"]
        first = len(reads)
        assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA-CJD"] and len(reads) == first
        with transaction(sessions) as session:  # an ORM change of a unit is a change too
            unit = session.query(Unit).filter_by(code="SH-JA-CJD").one()
            unit.active = False
        assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA"] and len(reads) > first
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", count)


def test_a_change_rolled_back_is_forgotten(sessions):
    add_units_and_catalogue(sessions)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        session.execute(update(Unit).where(Unit.code == "SH-JA-CJD").values(active=False))
        assert [c.unit for c in catalogue.suggest_units(session, "EPI.MEDICAL", "静安区", "曹家渡街道")] == ["SH-JA"]
        raise RuntimeError("the use case fails")
    assert units_for(sessions, "EPI.MEDICAL") == ["SH-JA-CJD"]
