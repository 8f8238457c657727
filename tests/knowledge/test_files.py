"""Import and export (formats.md §4): Markdown, CSV and Excel; re-import makes versions."""

import pytest

from cityline.db import transaction
from cityline.errors import BadFile
from cityline.knowledge import service
from cityline.knowledge.files import export_rows, import_records, read_records, write_rows
from tests.knowledge.conftest import DATA, NOW

CSV = (
    "external_id,title,questions,answer,category,effective_from,expires_at,source,status\n"
    'KB-C-1,消费券怎么领,"消费券在哪里领\n电子消费券怎么用",在App领取。,EPI.WORK,2022-05-01,,市商务委,published\n'
    "KB-C-2,草稿条目,,还在写,,,,,draft\n"
    "KB-C-3,,,没有标题,,,,,\n"
    "KB-C-4,错的分类,,答案,EPI.NOPE,,,,\n"
    "KB-C-5,错的日期,,答案,,2022-13-01,,,\n"
    "KB-C-1,重复,,答案,,,,,\n"
)


def run_import(sessions, path):
    with transaction(sessions) as session:
        return import_records(session, read_records(path), actor="import", now=NOW)


def test_the_starter_knowledge_base_imports_and_reimports_unchanged(sessions):
    first = run_import(sessions, DATA)
    assert first.bad == [] and first.created == first.published == first.read >= 60
    again = run_import(sessions, DATA)
    assert (again.created, again.updated, again.unchanged, again.published) == (0, 0, first.read, 0)


def test_csv_rows_import_and_bad_rows_are_reported(sessions, tmp_path):
    path = tmp_path / "articles.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    report = run_import(sessions, path)
    assert (report.read, report.created, report.published) == (6, 2, 1)
    bad = dict(report.bad)  # spreadsheet rows: the header is row 1
    assert "title required" in bad["row 4"]
    assert "EPI.NOPE" in bad["row 5"]
    assert "effective_from" in bad["row 6"]
    assert "appears twice" in bad["row 7"]
    with sessions() as session:
        assert service.get_article(session, "KB-C-2").status == "draft"
        live = service.live_version(session, "KB-C-1", NOW.date().replace(month=5))
        assert live.questions == ["消费券在哪里领", "电子消费券怎么用"]


def test_a_changed_article_becomes_a_new_published_version(sessions, tmp_path):
    path = tmp_path / "a.md"
    path.write_text("---\nexternal_id: KB-M-1\ntitle: 口罩\nquestions: [口罩哪里买]\n---\n第一版答案\n",
                    encoding="utf-8")
    run_import(sessions, path)
    path.write_text(path.read_text(encoding="utf-8").replace("第一版", "第二版"), encoding="utf-8")
    report = run_import(sessions, path)
    assert (report.updated, report.published) == (1, 1)
    with sessions() as session:
        article = service.get_article(session, "KB-M-1")
        assert (article.latest_version, article.published_version) == (2, 2)
        assert service.get_version(session, article, 1).status == "superseded"


@pytest.mark.parametrize("target", ["export.xlsx", "export.csv", "folder"])
def test_export_then_import_round_trips(loaded, tmp_path, target):
    with loaded() as session:
        rows = export_rows(session)
    write_rows(rows, tmp_path / target)
    report = run_import(loaded, tmp_path / target)
    assert report.bad == [] and report.unchanged == len(rows) >= 60


def test_unreadable_inputs_say_what_is_wrong(sessions, tmp_path):
    with pytest.raises(BadFile, match="no such file"):
        list(read_records(tmp_path / "missing.csv"))
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BadFile, match="expected a folder"):
        list(read_records(tmp_path / "x.txt"))
    (tmp_path / "bad.md").write_text("no front matter", encoding="utf-8")
    assert "no front matter" in run_import(sessions, tmp_path / "bad.md").bad[0][1]
