"""``cityline knowledge`` commands on a real SQLite database (formats.md §4 and §5)."""

import getpass
import json

import pytest
from typer.testing import CliRunner

from cityline import runtime
from cityline.db import make_engine, make_sessionmaker
from cityline.knowledge.cli import app
from cityline.schema import create_all
from tests.knowledge.conftest import DATA, consult

runner = CliRunner()


@pytest.fixture
def database(tmp_path, monkeypatch):
    """The commands' database: a SQLite file with every table (the migration is generated centrally)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    create_all(engine)
    factory = make_sessionmaker(engine)
    monkeypatch.setattr(runtime, "sessions", lambda: factory)
    yield factory
    engine.dispose()


def invoke(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_import_search_json_lines_and_file(database, tmp_path):
    report = json.loads(invoke("import", str(DATA), "--json"))
    assert report["created"] == report["published"] >= 60 and report["bad"] == []
    line = json.loads(invoke("search", "口罩哪里买啊", "--limit", "3", "--json"))
    assert list(line) == ["query", "results", "ms"] and line["query"] == "口罩哪里买啊"
    assert len(line["results"]) == 3 and list(line["results"][0]) == ["external_id", "title", "score"]
    status = json.loads(invoke("status", "--json"))
    assert status["ranked_by"] == "words and meaning" and status["why_words_only"] is None
    assert status["texts_embedded"] > status["published_articles"] == report["published"]
    assert "search ranks by words and meaning" in invoke("status")
    assert "KB-MASK-001" in [r["external_id"] for r in line["results"]]
    questions = tmp_path / "questions.txt"
    questions.write_text("那个码黄了咋办\n\n做核酸去哪儿\n", encoding="utf-8")
    lines = [json.loads(x) for x in invoke("search", "--file", str(questions), "--json").splitlines()]
    assert [x["query"] for x in lines] == ["那个码黄了咋办", "做核酸去哪儿"]
    assert lines[0]["results"][0]["external_id"] == "KB-CODE-001"
    assert "KB-CODE-001" in invoke("search", "码黄了")
    assert "either a question or --file" in invoke("search", code=2)


def test_workflow_export_and_bad_rows(database, tmp_path):
    (tmp_path / "a.csv").write_text("external_id,title,answer,status\nKB-X,消费券,在App领取,draft\nKB-Y,,缺标题,\n",
                                    encoding="utf-8")
    output = invoke("import", str(tmp_path / "a.csv"), code=1)
    assert "created 1" in output and "row 3: article KB-Y: title required" in output  # spreadsheet rows: header = 1
    author = f"cli:{getpass.getuser()}"  # who ran the import
    assert "another editor must review" in invoke("review", "KB-X", "--by", author, code=1)
    invoke("review", "KB-X", "--by", "reviewer")
    assert "published" in invoke("publish", "KB-X", "--by", "reviewer")
    shown = json.loads(invoke("show", "KB-X", "--json"))
    assert [e["action"] for e in shown["events"]] == ["create", "review", "publish"]
    invoke("export", str(tmp_path / "out.xlsx"))
    assert json.loads(invoke("import", str(tmp_path / "out.xlsx"), "--json"))["unchanged"] == 1
    assert "expire → expired" in invoke("expire", "KB-X")


def test_mine_a_day_from_the_command_line(database):
    invoke("import", str(DATA))
    for text in ["消费券怎么领取", "消费券在哪里领", "电子消费券领不到", "领消费券要什么条件"]:
        consult(database, text, received_at="2022-04-19T10:00:00")
    dry = json.loads(invoke("mine", "--date", "2022-04-19", "--dry-run", "--json"))
    assert len(dry) == 1 and dry[0]["count"] == 4 and dry[0]["stored"] is False
    assert "new draft" in invoke("mine", "--date", "2022-04-19")
    assert "already proposed" in invoke("mine", "--date", "2022-04-19")
    assert "not a date" in invoke("mine", "--date", "19/04/2022", code=2)


def test_words_callers_keep_using_for_an_article_are_proposed_as_synonyms(database):
    invoke("import", str(DATA))
    for text in ["我爸每周要血滤三次，出不了小区", "家里老人要做血滤，封控了怎么办", "血滤病人现在能去医院吗"]:
        invoke("answer", "KB-MED-002", "--order", consult(database, text))
    found = json.loads(invoke("learnt-words", "--json"))
    assert {"article": "KB-MED-002", "word": "血滤", "count": 3} in [
        {k: c[k] for k in ("article", "word", "count")} for c in found]
    assert all(c["word"] not in ("小区", "医院", "封控") for c in found)  # articles say these already
    assert "血滤  3 calls" in invoke("learnt-words")
    assert json.loads(invoke("learnt-words", "--min-count", "4", "--json")) == []


def test_embed_ahead_stores_what_was_published_without_the_model(database, tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from cityline.config import get_settings
    from cityline.knowledge import search, semantic
    from cityline.knowledge.models import Embedding

    def model(on: bool) -> None:
        monkeypatch.setenv("CITYLINE_KNOWLEDGE_SEMANTIC", "true" if on else "false")
        get_settings.cache_clear()
        semantic.reset()

    def stored() -> int:
        with database() as session:
            return session.scalar(select(func.count()).select_from(Embedding))

    (tmp_path / "a.csv").write_text("external_id,title,answer,questions\n"
                                    'KB-EMB-1,居家血氧仪申领,到居委会登记后由社区统一发放。,"血氧仪去哪里领\n测手指头含氧量的小夹子怎么申请"\n'
                                    "KB-EMB-2,旧衣回收点,每个小区的垃圾厢房旁有旧衣回收箱。,旧衣服扔哪里\n",
                                    encoding="utf-8")
    try:
        model(False)
        invoke("import", str(tmp_path / "a.csv"))
        assert stored() == 0
        assert "nothing embedded: search ranks by words only" in invoke("embed")
        model(True)
        for digest in map(semantic.digest, ["血氧仪去哪里领", "旧衣服扔哪里"]):
            semantic._passages.pop(digest, None)  # as in a fresh process
        report = json.loads(invoke("embed", "--json"))
        assert report == {"articles": 2, "texts": 5, "embedded": 5, "model": semantic.MODEL, "why_not": None}
        assert stored() == 5
        assert "5 texts: 0 embedded now, 5 were already stored" in invoke("embed")
        search._cache.clear()
        before = semantic.embedded["passages"]
        with database() as session:
            assert search.index_for(session).texts_embedded == 5
            assert search.search(session, "手指头夹的测氧仪器哪里申请")[0].article.external_id == "KB-EMB-1"
        assert semantic.embedded["passages"] == before  # the first search embedded nothing
    finally:
        monkeypatch.delenv("CITYLINE_KNOWLEDGE_SEMANTIC")
        get_settings.cache_clear()
        semantic.reset()
