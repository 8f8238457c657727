"""A throwaway SQLite database for the triage tests, and small labelled examples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

import cityline.orders.models  # noqa: F401  (registers the orders table)
import cityline.routing.models  # noqa: F401  (orders refer to units)
import cityline.triage.models  # noqa: F401
from cityline.db import Base, make_engine, make_sessionmaker
from cityline.triage.model import LabelledText


@pytest.fixture
def factory(tmp_path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'triage.db'}")
    Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def session(factory) -> Iterator[Session]:
    with factory() as session:
        yield session
        session.rollback()


# Short made-up orders, two phrasings per label, enough for a model to learn from.
EXAMPLES = [
    ("小区门口排队做核酸排了三个小时", "complaint", "EPI.TEST", "sub_urgent", ()),
    ("核酸结果两天了还查不到，要求尽快出结果", "complaint", "EPI.TEST", "sub_urgent", ()),
    ("奶奶九十岁了降压药吃完了出不了门，求帮忙配药", "help", "EPI.MEDICAL", "urgent", ("elderly",)),
    ("我爸透析的日子到了，小区封着去不了医院", "help", "EPI.MEDICAL", "urgent", ("serious_illness",)),
    ("请问哪里可以打疫苗加强针", "consult", "EPI.VACCINE", "normal", ()),
    ("疫苗接种点周末开不开门", "consult", "EPI.VACCINE", "normal", ()),
    ("举报楼下棋牌室偷偷营业，一屋子人打麻将", "report", "EPI.VIOLATION", "sub_urgent", ()),
    ("举报隔壁饭店关着门在里面办酒席", "report", "EPI.VIOLATION", "sub_urgent", ()),
    ("楼上邻居半夜唱卡拉OK，吵得睡不着", "complaint", "GEN.ENVIRONMENT", "normal", ()),
    ("工地夜里施工噪音太大，天天到两点", "complaint", "GEN.ENVIRONMENT", "normal", ()),
    ("表扬居委志愿者给我们送菜上门", "praise", "EPI.SUPPLY", "normal", ()),
    ("感谢团购的志愿者，菜送得很及时", "praise", "EPI.SUPPLY", "normal", ()),
]


def examples(copies: int = 1) -> list[LabelledText]:
    return [
        LabelledText(text, kind, category, urgency, groups, "zh")
        for _ in range(copies)
        for text, kind, category, urgency, groups in EXAMPLES
    ]
