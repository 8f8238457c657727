"""The sites register: imported from a file through tabular, bad rows named, imported twice the same."""

from sqlalchemy import select

from cityline import tabular
from cityline.db import transaction
from cityline.inspection import service
from cityline.inspection.models import Site
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
