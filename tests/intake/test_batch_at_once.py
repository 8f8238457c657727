"""A batch recorded at once (``create_many``) stores exactly what recording its orders one by one
(``create_order``, each in a savepoint) stores: the same rows in every table the intake writes,
the same answers — on SQLite and PostgreSQL."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from cityline.accounts.models import Unit
from cityline.db import transaction
from cityline.errors import DomainError, Invalid
from cityline.geo.service import import_grids
from cityline.idempotency.models import IdempotencyKey
from cityline.intake.service import (
    BatchOutcome,
    create_many,
    create_one_by_one,
    create_order,
    order_columns,
)
from cityline.intake.triage import classify_with
from cityline.orders.models import Order, OrderEvent, OrderSequence
from cityline.orders.schemas import OrderCreate
from cityline.outbox import webhooks
from cityline.outbox.models import Notification, OutboxMessage
from cityline.sla.models import Timer
from tests.factories import add_units_and_catalogue, order_body

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
SQUARE = [[[121.42, 31.22], [121.44, 31.22], [121.44, 31.24], [121.42, 31.24], [121.42, 31.22]]]
UNTRIAGED = {"kind": None, "category": None, "urgency": None, "special_groups": []}


def body(key: str, **overrides) -> dict[str, Any]:
    return order_body(external_id=key, **overrides)


# Recorded before the batch, the same way in both runs.
BEFORE = [
    body("PRE-1", caller_phone="13900000001", received_at="2026-03-02T09:30:00+08:00"),
    body("PRE-2", text="小区门口垃圾三天没人清运，气味很大", caller_phone="13900000002", kind="complaint",
         category="GEN.ENVIRONMENT", urgency="normal", special_groups=[], received_at="2026-03-01T20:00:00+08:00"),
]
IMPORTED = body("IMP-1", caller_phone="13900000003")  # stored before by an import
BATCH: list[dict[str, Any] | DomainError] = [
    body("GW-1", text="家里老人透析药快用完了，小区封控出不去，请求帮助配药", caller_phone="13900000011", **UNTRIAGED),
    # the same caller again: a duplicate of GW-1, an order earlier in the same batch
    body("GW-2", text="老人透析药快用完了，小区封控出不去，请帮忙配药", caller_phone="13900000011", **UNTRIAGED),
    body("GW-1", text="家里老人透析药快用完了，小区封控出不去，请求帮助配药", caller_phone="13900000011",
         **UNTRIAGED),  # sent again: existing
    body("GW-1", text="另一件事", caller_phone="13900000011"),  # the same external_id, another request: refused
    body("GW-3", category="NOT.A.CATEGORY"),  # labels not in the taxonomy: refused, its key left free
    body("GW-3", caller_phone="13900000013"),  # ... for this one, which is recorded
    body("PRE-1", caller_phone="13900000001", received_at="2026-03-02T09:30:00+08:00"),  # recorded before: existing
    body("PRE-2", text="换了内容", caller_phone="13900000002"),  # recorded before, another request: refused
    # sure of its unit (the catalogue names SH-WJW for EPI.CODE): dispatched at once, its unit's webhook told
    body("GW-4", text="健康码变黄了怎么办", address=None, caller_phone="13900000014", kind="help",
         category="EPI.CODE", urgency="sub_urgent", special_groups=[]),
    # in a grid by its coordinates; alike GW-5's place (same category, district) stored before
    body("GW-5", text="小区门口垃圾好几天没人清运了", address=None, lat=31.23, lon=121.43, caller_phone="13900000015",
         kind="complaint", category="GEN.ENVIRONMENT", urgency="normal", special_groups=[]),
    # received earlier than the batch: duplicates looked for in its own window
    body("GW-6", caller_phone="13900000016", received_at="2026-03-01T08:00:00+08:00", **UNTRIAGED),
    body("GW-7", lat=31.23, caller_phone="13900000017"),  # a latitude without its longitude: refused
    Invalid("the order has invalid fields"),  # refused before reaching intake (as the API hands one over)
    body("GW-8", text="健康码变黄了怎么办，急着上班", address=None, caller_phone="13900000014", kind="help",
         category="EPI.CODE", urgency="sub_urgent", special_groups=[]),  # GW-4's caller: not dispatched at once
    body("GW-9", caller_phone="13900000011", text="第三次来电：透析药还没有着落", **UNTRIAGED),
    IMPORTED,  # imported before (no key): the same facts, existing
    {**IMPORTED, "urgency": "normal"},  # then its key holds the request just taken: labels differ, refused
]


def imported(vault, raw: dict[str, Any] = IMPORTED, number: str = "20260301-90001") -> Order:
    """An order as an import stores it: with its external_id, but no key (it takes none)."""
    return Order(**order_columns(
        number=number, text=raw["text"], received_at=NOW - timedelta(days=1), channel="phone",
        labels={f: raw[f] for f in ("kind", "category", "urgency", "special_groups")} | {
            "language": "zh", "triage_source": "import"},
        prediction=None, vault=vault, external_id=raw["external_id"], caller_phone=raw["caller_phone"],
        address=raw["address"]))


def prepare(sessions, vault) -> None:
    add_units_and_catalogue(sessions)
    with transaction(sessions) as session:
        assert not import_grids(session, [(2, {"code": "CJD-07", "name": "曹家渡第七网格", "district": "静安区",
                                               "street": "曹家渡街道", "unit_code": "SH-JA-CJD", "polygon": SQUARE,
                                               "compounds": ["万航渡花园"]})]).bad
        wjw = session.scalars(select(Unit).where(Unit.code == "SH-WJW")).one()
        webhooks.add(session, vault, unit_id=wjw.id, unit_code=wjw.code, url="https://wjw.example/hook")


def record(sessions, vault, create) -> tuple[list[BatchOutcome], dict[str, list]]:
    """Record BEFORE, then BATCH with ``create``; the answers and every row written."""
    with transaction(sessions) as session:
        classify = classify_with(session)
        for raw in BEFORE:
            create_order(session, OrderCreate.model_validate(raw), actor="test", now=NOW - timedelta(hours=1),
                         vault=vault, classify=classify)
        session.add(imported(vault))
    items = [(i, raw if isinstance(raw, DomainError) else OrderCreate.model_validate(raw))
             for i, raw in enumerate(BATCH)]
    with transaction(sessions) as session:
        outcomes = create(session, items, actor="gateway", now=NOW, vault=vault, classify=classify_with(session),
                          sees=lambda order: True)
    return outcomes, stored(sessions, vault)


def stored(sessions, vault) -> dict[str, list]:
    """Every row intake writes (then removed), ids replaced by order numbers, times of writing left
    out, the callers' phones decrypted (each encryption differs)."""
    with transaction(sessions) as session:
        numbers = dict(session.execute(select(Order.id, Order.number)).all())

        def rows(model) -> list[dict[str, Any]]:
            found = [{name: numbers[value] if name == "order_id" and value is not None
                      else vault.reveal(value) if name == "caller_phone_enc" and value else value
                      for name, value in sorted(vars(row).items())
                      if not name.startswith("_") and name not in ("id", "created_at", "updated_at")}
                     for row in session.scalars(select(model))]
            return sorted(found, key=repr)

        found = {model.__tablename__: rows(model) for model in (
            Order, OrderEvent, Timer, OutboxMessage, Notification, IdempotencyKey, OrderSequence)}
        for model in (OutboxMessage, Notification, Timer, OrderEvent, IdempotencyKey, OrderSequence, Order):
            session.execute(delete(model))
    return found


def answers(outcomes: list[BatchOutcome]) -> list[tuple]:
    return [(o.index, o.external_id, o.result, o.number, o.status,
             (o.error.status, o.error.detail, o.error.errors) if o.error else None) for o in outcomes]


def test_a_batch_at_once_stores_what_one_by_one_does(sessions, vault):
    prepare(sessions, vault)
    at_once, rows_at_once = record(sessions, vault, create_many)
    one_by_one, rows_one_by_one = record(sessions, vault, create_one_by_one)
    assert answers(at_once) == answers(one_by_one)
    assert [o.result for o in at_once] == [
        "created", "created", "existing", "refused", "refused", "created", "existing", "refused", "created",
        "created", "created", "refused", "refused", "created", "created", "existing", "refused"]
    for table, rows in rows_one_by_one.items():
        assert len(rows_at_once[table]) == len(rows), table
        for mine, theirs in zip(rows_at_once[table], rows, strict=True):
            assert mine == theirs, (table, {k: (v, theirs.get(k)) for k, v in mine.items() if theirs.get(k) != v})
    # what the batch was built to show is there
    events = {(e["order_id"], e["action"]): e["data"] for e in rows_at_once["order_events"]}
    gw = {o.external_id: o.number for o in at_once if o.result == "created"}
    assert gw["GW-1"] in {d["number"] for d in events[(gw["GW-2"], "received")]["duplicates"]}
    assert {gw["GW-1"], gw["GW-2"]} <= {d["number"] for d in events[(gw["GW-9"], "received")]["duplicates"]}
    assert (gw["GW-4"], "dispatch") in events and (gw["GW-8"], "dispatch") not in events
    assert events[(gw["GW-5"], "received")]["grid"]["code"] == "CJD-07"
    assert events[(gw["GW-5"], "received")]["duplicates"] and events[(gw["GW-1"], "received")]["triage"]
    assert rows_at_once["outbox_messages"] and rows_at_once["sla_timers"] and rows_at_once["idempotency_keys"]


def test_an_order_an_import_stores_meanwhile_sends_the_chunk_one_by_one(sessions, vault):
    """The external_id of an order of the batch is stored meanwhile by an import (which takes no
    key): the write at once fails on it, and the chunk is recorded one by one, each order right."""
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    prepare(sessions, vault)
    same = body("GW-2", caller_phone="13900000022")
    importer = sessions()
    importer.add(imported(vault, same))
    importer.flush()  # not committed yet: the batch does not see it, and waits for it on the external_id
    committing = threading.Timer(1.0, importer.commit)
    committing.start()
    items = [(i, OrderCreate.model_validate(raw)) for i, raw in enumerate(
        [body("GW-1", caller_phone="13900000021"), same, body("GW-3", caller_phone="13900000023")])]
    try:
        with transaction(sessions) as session:
            outcomes = create_many(session, items, actor="gateway", now=NOW, vault=vault)
    finally:
        committing.join()
        importer.close()
    assert [(o.external_id, o.result) for o in outcomes] == [("GW-1", "created"), ("GW-2", "existing"),
                                                            ("GW-3", "created")]
    assert outcomes[1].number == "20260301-90001"
    with transaction(sessions) as session:
        stored = {o.external_id: o.number for o in session.scalars(select(Order))}
        received = {e.order_id for e in session.scalars(select(OrderEvent).where(OrderEvent.action == "received"))}
        keys = {k.key: k.resource for k in session.scalars(select(IdempotencyKey))}
    assert stored == {"GW-2": "20260301-90001", "GW-1": outcomes[0].number, "GW-3": outcomes[2].number}
    assert len(received) == 2 and keys == stored
