"""Test data built in one place. Personal data here is fake."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from cityline.accounts.units import upsert_unit
from cityline.db import transaction

UNITS = [
    {"code": "SH", "name": "上海市12345市民服务热线", "kind": "centre"},
    {"code": "SH-JA", "name": "静安区城运中心", "kind": "centre", "parent_code": "SH", "district": "静安区"},
    {"code": "SH-JA-CJD", "name": "曹家渡街道办事处", "kind": "street_office", "parent_code": "SH-JA",
     "district": "静安区", "street": "曹家渡街道"},
    {"code": "SH-JA-JNL", "name": "江宁路街道办事处", "kind": "street_office", "parent_code": "SH-JA",
     "district": "静安区", "street": "江宁路街道"},
    {"code": "SH-WJW", "name": "市卫生健康委员会", "kind": "department", "parent_code": "SH"},
]


def add_units(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        for values in UNITS:
            upsert_unit(session, values)


def order_body(**overrides) -> dict:
    body = {
        "text": "市民来电反映：家中老人透析药快用完了，小区封控出不去，请求帮助配药。",
        "channel": "phone",
        "caller_phone": "13800001234",
        "address": "静安区曹家渡街道万航渡路123弄",
        "kind": "help",
        "category": "EPI.MEDICAL",
        "urgency": "urgent",
        "special_groups": ["elderly", "serious_illness"],
    }
    body.update(overrides)
    return body


CATALOGUE = [(2, {"category": "EPI.MEDICAL", "level": "street"}), (3, {"category": "EPI.CODE", "unit": "SH-WJW"}),
             (4, {"category": "GEN.ENVIRONMENT", "level": "street"})]


def add_units_and_catalogue(sessions: sessionmaker[Session]) -> None:
    """The units above and a small dispatch catalogue over them."""
    from cityline.routing import catalogue

    add_units(sessions)
    with transaction(sessions) as session:
        count, bad = catalogue.replace_catalogue(session, CATALOGUE)
        assert (count, bad) == (3, [])
