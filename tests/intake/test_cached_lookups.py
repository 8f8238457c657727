"""What every create looks up but only an admin changes — the grids, the published zones, the
active triage model (and routing's catalogue, tests/routing/test_cached_catalogue.py) — is kept
per process and read again only after a change, made here or in another process, which the next
create uses at once (cityline.generations)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import event

from cityline.db import transaction
from cityline.epidemic import service as epidemic
from cityline.epidemic import zonemarks
from cityline.geo.service import import_grids
from cityline.intake.service import create_order, use_zone_lookup
from cityline.intake.triage import classify_with
from cityline.orders.schemas import OrderCreate
from cityline.orders.service import events_of
from tests.intake.test_zones import DAY_NOON, ZONES

ROOT = Path(__file__).resolve().parents[2]
GRID = {"code": "G-SUN", "name": "阳光网格", "district": "静安区", "street": "曹家渡街道",
        "unit_code": "SH-JA-CJD", "compounds": "阳光小区"}
WATCHED = ("FROM grids", "FROM epidemic_zones", "FROM triage_model_versions")


def create(sessions, vault, text: str) -> dict:
    """A new order's received event's data (its grid, zone, triage)."""
    with transaction(sessions) as session:
        made, _ = create_order(session, OrderCreate(text=text, received_at=DAY_NOON), actor="test", now=DAY_NOON,
                               vault=vault, classify=classify_with(session))
        return events_of(session, made)[0].data


def in_another_process(sessions, code: str) -> None:
    """Run ``code`` (with ``session`` in a committed transaction) in a Python process of its own."""
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    script = ("import sys\nfrom cityline.db import make_engine, make_sessionmaker, transaction\n"
              "from cityline.geo.service import set_zone\nimport cityline.schema\n"
              f"with transaction(make_sessionmaker(make_engine(sys.argv[1]))) as session:\n    {code}\n")
    subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, check=True, timeout=120)


def test_creates_read_grids_zones_and_the_model_again_only_after_a_change_made_anywhere(sessions, vault):
    use_zone_lookup(zonemarks.zone_of)
    with transaction(sessions) as session:
        assert not import_grids(session, [(2, GRID)]).bad
        epidemic.save_zones(session, DAY_NOON.date(), ZONES, DAY_NOON)
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        reads.extend(w for w in WATCHED if w in statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", count)
    try:
        first = create(sessions, vault, "静安区曹家渡街道阳光小区路灯坏了")
        assert first["grid"] == {"code": "G-SUN", "name": "阳光网格", "unit": "SH-JA-CJD", "zone": None}
        reads.clear()
        create(sessions, vault, "静安区曹家渡街道阳光小区垃圾没人收")
        create(sessions, vault, "静安区曹家渡街道月亮小区1号楼老人需要配药")
        assert reads == []  # nothing of them read again
        in_another_process(sessions, "set_zone(session, 'G-SUN', '封控')")
        sealed = create(sessions, vault, "静安区曹家渡街道阳光小区老人需要配药")
        assert sealed["grid"]["zone"] == "sealed" and sealed["zone"]["zone"] == "grid:G-SUN"
        assert reads == ["FROM grids"]  # the grids alone: the zones and the model did not change
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", count)


def test_an_order_is_stored_in_one_insert_each_for_it_its_event_and_its_timers(sessions, vault):
    """Its duplicates, units and deadlines are decided before anything is written: no UPDATE follows."""
    create(sessions, vault, "楼道灯坏了三天")  # the first: caches filled
    written: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            written.append(statement.split("(")[0].split(" SET")[0].strip())

    event.listen(sessions.kw["bind"], "before_cursor_execute", count)
    try:
        data = create(sessions, vault, "小区门口的路灯坏了")
    finally:
        event.remove(sessions.kw["bind"], "before_cursor_execute", count)
    assert data["deadlines"]["resolve_by"] and "suggested_units" in data and "duplicates" in data
    assert [w for w in written if not w.startswith("INSERT INTO order_sequences")] == [
        "INSERT INTO orders", "INSERT INTO order_search", "INSERT INTO order_events", "INSERT INTO sla_timers"]
