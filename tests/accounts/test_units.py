"""Units from a spreadsheet: parents before children, bad rows named, importing twice changes nothing."""

from openpyxl import Workbook

from cityline.accounts.units import descendant_ids, import_units, list_units
from cityline.db import transaction
from cityline.tabular import read_rows


def test_units_from_excel(sessions, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["code", "name", "parent_code", "kind", "district", "street"])
    sheet.append(["SH", "上海市12345市民服务热线", None, "centre", None, None])
    sheet.append(["PT", "普陀区分中心", "SH", "centre", "普陀区", None])
    sheet.append(["PT-CS", "长寿路街道办事处", "PT", "street_office", "普陀区", "长寿路街道"])
    sheet.append(["PT-X", "无名单位", "PT", "office", None, None])
    sheet.append(["JA-Y", "静安某街道", "JA", "street_office", "静安区", None])
    book.save(tmp_path / "units.xlsx")
    for _ in range(2):
        with transaction(sessions) as session:
            count, bad = import_units(session, read_rows(tmp_path / "units.xlsx"))
        assert count == 3 and [(b.row, "kind 'office'" in b.message or "'JA'" in b.message) for b in bad] == [
            (5, True), (6, True)]
    with sessions() as session:
        units = {u.code: u for u in list_units(session)}
        assert set(units) == {"SH", "PT", "PT-CS"}
        assert units["PT-CS"].parent_id == units["PT"].id
        assert descendant_ids(session, units["PT"].id) == {units["PT"].id, units["PT-CS"].id}
