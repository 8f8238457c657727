"""The sites register: imported from a file through tabular, bad rows named, imported twice the same."""

from sqlalchemy import select

from cityline import tabular
from cityline.db import transaction
from cityline.inspection import service
from cityline.inspection.models import Site
from cityline.orders.models import OrderEvent
from tests.factories import add_units


def test_sites_import_names_bad_rows_and_keeps_the_good(sessions, tmp_path):
    add_units(sessions)
    file = tmp_path / "sites.csv"
    file.write_text("code,name,kind,district,street,address,unit\n"
                    "TS-1,万航渡路核酸采样点,test_site,静安区,曹家渡街道,万航渡路500号,SH-JA-CJD\n"
                    "TS-2,,test_site,静安区,曹家渡街道,,SH-JA-CJD\n"
                    "V-1,某商场,venue,静安区,江宁路街道,昌平路1号,SH-NOPE\n"
                    "C-1,某小区北门,compound,静安区,江宁路街道,,\n", encoding="gbk")
    for _ in range(2):
        with transaction(sessions) as session:
            written, bad = service.import_sites(session, tabular.read_rows(file))
        assert written == 2
        assert [(b.row, "name" in b.message or "unit" in b.message) for b in bad] == [(3, True), (4, True)]
    with transaction(sessions) as session:
        sites = {s.code: s for s in session.scalars(select(Site))}
        assert sorted(sites) == ["C-1", "TS-1"] and sites["C-1"].unit_id is None
        assert [(s.code, unit) for s, unit in service.find_sites(session, "万航渡")] == [("TS-1", "SH-JA-CJD")]


def test_a_site_without_a_unit_is_routed_by_the_catalogue(sessions, vault, tmp_path):
    from cityline.db import utcnow
    from tests.factories import add_units_and_catalogue
    from tests.inspection.conftest import photo

    add_units_and_catalogue(sessions)  # EPI.CODE goes to the health commission (SH-WJW)
    store = service.PhotoStore(tmp_path / "photos", 100_000)
    with store.keeping() as written, transaction(sessions) as session:
        service.upsert_site(session, {"code": "V-9", "name": "某超市入口", "kind": "venue", "district": "静安区",
                                      "street": "曹家渡街道", "address": "静安区长寿路1号"})
        order = service.record_finding(session, store, written, service.NewFinding("V-9", "code_poster", "foot"),
                                       [service.Upload("p.png", photo("PNG"))], actor="patrol", now=utcnow(),
                                       vault=vault)
        assert (order.channel, order.category, order.sla_policy) == ("inspection", "EPI.CODE", "inspection")
        assert order.status == "dispatched" and order.unit_id is not None
        assert [e.actor for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
                if e.action == "dispatch"] == ["auto-dispatch"]
