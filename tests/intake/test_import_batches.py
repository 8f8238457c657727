"""Bulk import's batch triage and worker processes store exactly what one order at a time would."""

from sqlalchemy import select

from cityline.intake.importer import import_rows
from cityline.intake.triage import classify_many_with, classify_with
from cityline.orders import search
from cityline.orders.models import Order, OrderEvent
from tests.factories import add_units

TEXTS = ["市民反映药店门口排队买口罩人太多", "家里老人透析药快用完了，小区封控出不去", "楼上装修噪声很大，晚上十点还在敲",
         "二房东没有把减免的房租给我们小商户", "健康码变黄了但我没去过中高风险地区", "I cannot buy masks anywhere near my hotel"]
# Columns that differ between two imports of the same rows by design: keys, numbers, clocks, and
# the phone's encryption (a fresh nonce each time; its digest and mask are compared).
UNCOMPARED = {"id", "number", "external_id", "created_at", "updated_at", "caller_phone_enc"}


def rows(prefix: str) -> list[tuple[int, dict]]:
    """Unlabelled rows (triage fills them), labelled ones, one in English, a bad one, a repeat."""
    found = []
    for i in range(60):
        row = {"external_id": f"{prefix}-{i}", "received_at": f"2020-01-{20 + i % 9}T{8 + i % 12:02d}:15:00",
               "text": TEXTS[i % len(TEXTS)], "caller_phone": f"1380000{i:04d}",
               "address": ["静安区曹家渡街道万航渡路123弄", "", "浦东新区花木街道"][i % 3]}
        if i % 4 == 0:
            row.update(kind="complaint", category="GEN.HOUSING", urgency="normal")
        if i % 6 == 5:
            row["language"] = "en"
        found.append(row)
    found[10]["received_at"] = "yesterday"
    found.append(dict(found[3]))
    return list(enumerate(found, 2))


def stored(sessions, prefix: str) -> list[tuple[dict, list[dict]]]:
    with sessions() as session:
        orders = session.scalars(select(Order).where(Order.external_id.like(f"{prefix}-%"))).all()
        result = []
        for order in sorted(orders, key=lambda o: int(o.external_id.split("-")[1])):
            columns = {c.name: getattr(order, c.key) for c in Order.__table__.columns if c.name not in UNCOMPARED}
            events = [{"action": e.action, "at": e.at, "to": e.to_status,
                       "data": {k: v for k, v in e.data.items() if k != "external_id"}}
                      for e in session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                               .order_by(OrderEvent.id))]
            result.append((columns, events))
        return result


def test_worker_processes_store_what_one_process_stores(sessions, vault):
    add_units(sessions)
    with sessions() as session:
        classify_many = classify_many_with(session)
    one = import_rows(sessions, rows("one"), vault=vault, classify_many=classify_many, batch_size=16)
    two = import_rows(sessions, rows("two"), vault=vault, classify_many=classify_many, batch_size=16, workers=2)
    assert one.as_dict() == two.as_dict()
    assert (one.imported, one.repeated_in_file, [e.row for e in one.bad]) == (59, 1, [12])
    alone, pooled = stored(sessions, "one"), stored(sessions, "two")
    assert len(alone) == 59 and alone == pooled
    # Batch triage labels each order as classifying it alone does, the given language kept.
    with sessions() as session:
        classify = classify_with(session)
    for (columns, events), (_, raw) in zip(alone, [r for r in rows("one") if r[0] != 12][:59], strict=True):
        if raw.get("category"):
            assert columns["triage_source"] == "import" and "triage" not in events[0]["data"]
            continue
        alone_prediction = classify(raw["text"], raw.get("language"))
        assert events[0]["data"]["triage"] == alone_prediction
        assert (columns["category"], columns["language"]) == (alone_prediction["category"],
                                                              alone_prediction["language"])


def test_worker_processes_keep_the_file_s_order(sessions, vault):
    """The workers share a batch by text, not by place in the file: what is stored is still in
    the file's order (numbers given in it), and of a repeated external_id the file's first row
    counts, whichever worker built it."""
    add_units(sessions)
    repeated = [(n, {"external_id": f"r-{i % 10}", "received_at": "2020-01-28T09:00:00",
                     "text": f"{TEXTS[i % len(TEXTS)]}（第{i}次来电）"}) for n, i in enumerate(range(40), 2)]
    report = import_rows(sessions, repeated, vault=vault, batch_size=40, workers=2)
    assert (report.imported, report.repeated_in_file) == (10, 30)
    with sessions() as session:
        stored_rows = session.execute(select(Order.external_id, Order.text).order_by(Order.number)).all()
    assert stored_rows == [(f"r-{i}", f"{TEXTS[i % len(TEXTS)]}（第{i}次来电）") for i in range(10)]


def test_worker_processes_write_each_orders_text_index(sessions, vault):
    """The bigrams the workers make for an order are its text's and address's: the index gives,
    for every bigram of the imported orders, exactly those of them whose text or address holds it."""
    add_units(sessions)
    report = import_rows(sessions, rows("ix"), vault=vault, batch_size=16, workers=2)
    assert report.imported == 59
    with sessions() as session:
        dialect = session.get_bind().dialect.name
        imported = session.execute(select(Order.id, Order.text, Order.address)
                                   .where(Order.external_id.like("ix-%"))).all()
        holding: dict[str, set[int]] = {}
        for order_id, text, address in imported:
            for term in search.terms(text, address):
                holding.setdefault(term, set()).add(order_id)
        assert {"曹家", "hotel"[:2]} <= holding.keys()  # the address's bigrams and the English text's
        found = {term: set(session.scalars(search.candidates(dialect, search.match_text(dialect, {term}))))
                 for term in holding}
    assert found == holding


def test_a_text_triage_fails_on_loses_its_row_only(sessions, vault):
    """Triage is run on the batch; a text it fails on is found by classifying the batch's texts
    one by one, so only its row is named."""
    add_units(sessions)
    with sessions() as session:
        real = classify_many_with(session)

    def failing_on_noise(texts, language):  # the real classifier, made to fail on one text
        if any("噪声" in text for text in texts):
            raise ValueError("cannot read 噪声")
        return real(texts, language)

    report = import_rows(sessions, rows("f"), vault=vault, classify_many=failing_on_noise, batch_size=16)
    noisy = [n for n, raw in rows("f") if "噪声" in raw["text"] and not raw.get("category") and n != 12]
    assert noisy and [e.row for e in report.bad] == sorted([12, *noisy])
    assert {e.message for e in report.bad if e.row != 12} == {"could not be prepared (ValueError)"}
    assert report.imported == 59 - len(noisy)
