"""The in-memory index: ranking, dates, categories and how well an article covers a question."""

from datetime import date

from cityline.knowledge.index import IndexedArticle, SearchIndex

ARTICLES = [
    IndexedArticle("MASK", 1, "口罩怎么预约购买", ("药店买口罩要预约吗",), "通过App预约，每户每次5只。", "EPI.MASK"),
    IndexedArticle("CODE", 2, "健康码变黄码怎么转绿", ("黄码怎么办",), "按提示完成核酸检测后自动转绿。", "EPI.CODE"),
    IndexedArticle("TEST", 1, "核酸检测点在哪里", ("哪里可以做核酸",), "在App查询采样点。", "EPI.TEST",
                   effective_from=date(2022, 3, 1), expires_at=date(2022, 6, 30)),
    IndexedArticle("NOISE", 1, "夜间施工噪声扰民", ("工地晚上太吵",), "夜间22点后禁止施工。", "GEN.ENVIRONMENT"),
]


def test_short_spoken_questions_find_their_article():
    index = SearchIndex(ARTICLES)
    assert index.search("口罩哪里买啊")[0].article.external_id == "MASK"
    assert index.search("那个码黄了咋办")[0].article.external_id == "CODE"
    assert index.search("去哪捅嗓子")[0].article.external_id == "TEST"
    assert index.search("半夜工地吵死了")[0].article.external_id == "NOISE"


def test_articles_outside_their_dates_are_not_found():
    index = SearchIndex(ARTICLES)
    assert "TEST" in [h.article.external_id for h in index.search("做核酸", today=date(2022, 4, 1))]
    assert "TEST" not in [h.article.external_id for h in index.search("做核酸", today=date(2022, 7, 1))]
    assert "TEST" not in [h.article.external_id for h in index.search("做核酸", today=date(2022, 2, 28))]


def test_category_and_limit():
    index = SearchIndex(ARTICLES)
    assert all(h.article.category == "EPI.CODE" for h in index.search("核酸", category="EPI.CODE"))
    assert len(index.search("怎么", limit=1)) <= 1


def test_coverage_says_how_much_of_the_question_the_article_answers():
    index = SearchIndex(ARTICLES)
    assert index.search("口罩预约")[0].coverage == 1.0
    partial = index.search("口罩消费券怎么领")[0]
    assert partial.article.external_id == "MASK" and partial.coverage < 0.5


def test_nothing_to_find():
    assert SearchIndex(ARTICLES).search("今天天气不错") == []
    assert SearchIndex([]).search("口罩") == []
    assert SearchIndex(ARTICLES).search("？？") == []


def test_how_callers_keep_asking_is_learnt_and_a_one_off_word_is_not():
    asked = "我妈要血滤，能出门吗"
    dialysis = IndexedArticle("DIALYSIS", 1, "透析病人怎么治疗", ("要做透析出不了门",), "联系社区安排车辆。")
    unlearnt = [h.article.external_id for h in SearchIndex([*ARTICLES, dialysis]).search(asked)]
    assert unlearnt[:1] != ["DIALYSIS"]
    learnt = ("家里老人要血滤，现在出不去", "我爸每周血滤三次，出不了门", "医院在哪里")
    index = SearchIndex([*ARTICLES, IndexedArticle(**{**dialysis.__dict__, "learnt": learnt})])
    assert index.search(asked)[0].article.external_id == "DIALYSIS"
    assert index.search("医院") == []  # asked once: not learnt
