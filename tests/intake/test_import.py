"""``orders import`` as formats.md §1 says: CSV, JSON Lines, Excel; idempotent; bad rows named."""

import csv
import json
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cityline.errors import BadFile
from cityline.intake.importer import import_file
from cityline.orders.models import Order, OrderEvent
from cityline.orders.queries import events_of
from cityline.orders.rules import apply_move, replay
from cityline.orders.service import get_order
from tests.factories import add_units

COLUMNS = ["external_id", "received_at", "channel", "text", "address", "caller_phone", "kind", "category",
           "urgency", "special_groups", "unit", "dispatched_at", "replied_at", "closed_at", "satisfaction"]

GOOD = [
    {"external_id": "H-1", "received_at": "2020-01-28 09:15:00", "text": "市民反映药店门口排队买口罩人太多",
     "kind": "complaint", "category": "EPI.MASK", "urgency": "normal", "unit": "SH-JA-CJD",
     "dispatched_at": "2020-01-28 09:30:00", "replied_at": "2020-01-28 15:00:00",
     "closed_at": "2020-01-29 10:00:00", "satisfaction": "满意", "caller_phone": "13800001111"},
    {"external_id": "H-2", "received_at": "2020-01-28T10:00:00+08:00", "channel": "wechat",
     "text": "口罩预约在哪里登记", "kind": "consult", "category": "EPI.MASK", "urgency": "normal",
     "closed_at": "2020-01-28T10:03:00+08:00"},
    {"external_id": "H-3", "received_at": "2020-01-28T11:00:00", "text": "楼上装修噪声很大",
     "special_groups": "elderly;disabled", "kind": "complaint", "category": "GEN.ENVIRONMENT", "urgency": "normal"},
]
BAD = [
    {"external_id": "B-1", "received_at": "yesterday", "text": "x"},
    {"external_id": "B-2", "received_at": "2020-01-28T11:00:00", "text": ""},
    {"external_id": "B-3", "received_at": "2020-01-28T11:00:00", "text": "x", "category": "EPI.NOPE"},
    {"external_id": "B-4", "received_at": "2020-01-28T11:00:00", "text": "x", "unit": "NO-SUCH-UNIT",
     "dispatched_at": "2020-01-28T12:00:00"},
    {"external_id": "B-5", "received_at": "2020-01-28T11:00:00", "text": "x", "unit": "SH-JA-CJD",
     "dispatched_at": "2020-01-28T10:00:00"},
    {"external_id": "B-6", "received_at": "2020-01-28T11:00:00", "text": "x", "satisfaction": "很好"},
]


def write_csv(path, rows, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(sessions, model=Order):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_csv_good_rows_in_bad_rows_named(sessions, vault, tmp_path):
    add_units(sessions)
    path = write_csv(tmp_path / "orders.csv", GOOD[:1] + BAD + GOOD[1:])
    report = import_file(sessions, path, vault=vault)
    assert report.imported == 3 and count(sessions) == 3
    reasons = {bad.row: bad.message for bad in report.bad}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}  # spreadsheet rows: header is row 1
    assert "received_at 'yesterday'" in reasons[3]
    assert "text is required" in reasons[4]
    assert "EPI.NOPE" in reasons[5]
    assert "NO-SUCH-UNIT" in reasons[6]
    assert "dispatched_at is before received_at" in reasons[7]
    assert "satisfaction '很好'" in reasons[8]
    with sessions() as session:
        assert not session.scalars(select(Order).where(Order.external_id.like("B-%"))).all()


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_csv_saved_by_excel_on_a_chinese_windows_imports(sessions, vault, tmp_path, encoding):
    """Offices' exports come in GBK ("CSV" in Excel on a Chinese Windows): read, not refused."""
    add_units(sessions)
    path = write_csv(tmp_path / "orders.csv", GOOD + BAD[:1], encoding=encoding)
    report = import_file(sessions, path, vault=vault)
    assert (report.imported, [b.row for b in report.bad]) == (3, [5])
    with sessions() as session:
        h1 = session.scalars(select(Order).where(Order.external_id == "H-1")).one()
        assert (h1.text, h1.satisfaction) == ("市民反映药店门口排队买口罩人太多", "satisfied")


def test_undecodable_bytes_lose_their_row_only(sessions, vault, tmp_path):
    add_units(sessions)
    path = write_csv(tmp_path / "orders.csv", GOOD, encoding="gbk")
    path.write_bytes(path.read_bytes().replace("口罩预约".encode("gbk"), b"\xff\xff"))
    report = import_file(sessions, path, vault=vault)
    assert report.imported == 2 and [b.row for b in report.bad] == [3]
    assert "not GB18030 text" in report.bad[0].message


def test_historical_orders_keep_times_satisfaction_and_a_consistent_history(sessions, vault, tmp_path):
    add_units(sessions)
    import_file(sessions, write_csv(tmp_path / "orders.csv", GOOD), vault=vault)
    with sessions() as session:
        h1 = session.scalars(select(Order).where(Order.external_id == "H-1")).one()
        assert h1.status == "closed" and h1.satisfaction == "satisfied"
        assert h1.dispatched_at == datetime(2020, 1, 28, 1, 30, tzinfo=UTC)  # 09:30 Shanghai
        assert h1.closed_at == datetime(2020, 1, 29, 2, 0, tzinfo=UTC)
        assert h1.caller_phone_masked == "138****1111" and "13800001111" not in h1.caller_phone_enc
        assert h1.number.startswith("20200128-")
        events = events_of(session, h1)
        assert [e.action for e in events] == ["received", "dispatch", "accept", "reply", "visit", "close"]
        assert replay((e.action, e.data, e.at) for e in events).status == "closed"
        h2 = get_order(session, session.scalars(select(Order.number).where(Order.external_id == "H-2")).one())
        assert (h2.status, h2.unit_id, h2.channel) == ("closed", None, "wechat")
        h3 = session.scalars(select(Order).where(Order.external_id == "H-3")).one()
        assert (h3.status, h3.special_groups, h3.triage_source) == ("received", ["elderly", "disabled"], "import")


def test_each_order_history_is_replayed_once_and_its_events_chain_statuses(sessions, vault, tmp_path, monkeypatch):
    """The order rules check a history once (a second replay for the events cost the demo's
    build a few seconds); the events still say which status each step moved the order from and to."""
    from cityline.intake import importer

    moves = []

    def counted(state, action, params, at):  # the real rule, counted
        moves.append(action)
        return apply_move(state, action, params, at)

    monkeypatch.setattr(importer, "apply_move", counted)
    add_units(sessions)
    import_file(sessions, write_csv(tmp_path / "orders.csv", GOOD), vault=vault)
    assert moves == ["dispatch", "accept", "reply", "visit", "close", "answer"]  # H-1's five, H-2's one
    with sessions() as session:
        for order in session.scalars(select(Order)):
            events = events_of(session, order)
            statuses = [(e.from_status, e.to_status) for e in events]
            assert statuses[0] == (None, "received")
            assert all(before[1] == after[0] for before, after in zip(statuses, statuses[1:], strict=False))
            assert statuses[-1][1] == order.status


def test_importing_twice_adds_nothing(sessions, vault, tmp_path):
    add_units(sessions)
    path = write_csv(tmp_path / "orders.csv", GOOD + GOOD[:1])  # also repeated inside the file
    first = import_file(sessions, path, vault=vault)
    events = count(sessions, OrderEvent)
    second = import_file(sessions, path, vault=vault)
    assert (first.imported, first.repeated_in_file) == (3, 1)
    assert (second.imported, second.already_present) == (0, 3)
    assert count(sessions) == 3 and count(sessions, OrderEvent) == events


def test_json_lines_and_excel(sessions, vault, tmp_path):
    add_units(sessions)
    jsonl = tmp_path / "orders.jsonl"
    lines = [json.dumps({**GOOD[2], "special_groups": ["child"]}, ensure_ascii=False), "", "{not json", "[1, 2]"]
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(sessions, jsonl, vault=vault)
    assert report.imported == 1 and [b.row for b in report.bad] == [3, 4]
    assert "not valid JSON" in report.bad[0].message

    book = Workbook()
    sheet = book.active
    sheet.append(["external_id", "received_at", "text", "category"])
    sheet.append(["X-1", datetime(2020, 2, 10, 9, 0), "二房东没有把减免的房租给我们", "EPI.WORK"])
    sheet.append(["X-2", "2020-02-10T09:05:00", None, None])
    book.save(tmp_path / "orders.xlsx")
    report = import_file(sessions, tmp_path / "orders.xlsx", vault=vault)
    assert report.imported == 1 and report.bad[0].row == 3 and "text is required" in report.bad[0].message
    with sessions() as session:
        x1 = session.scalars(select(Order).where(Order.external_id == "X-1")).one()
        assert x1.received_at == datetime(2020, 2, 10, 1, 0, tzinfo=UTC)


def test_missing_required_column_rejects_the_file(sessions, vault, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("external_id,text\nA,口罩\n", encoding="utf-8")
    with pytest.raises(BadFile, match="received_at"):
        import_file(sessions, path, vault=vault)
    with pytest.raises(BadFile, match="unknown file type"):
        import_file(sessions, tmp_path / "orders.txt", vault=vault)
    assert count(sessions) == 0


def test_interrupted_import_leaves_whole_orders_and_resumes(sessions, vault, tmp_path):
    rows = [{"external_id": f"R-{i}", "received_at": "2020-02-01T08:00:00", "text": f"第{i}单 垃圾未清运",
             "kind": "complaint", "category": "GEN.ENVIRONMENT", "urgency": "normal"} for i in range(1200)]
    path = write_csv(tmp_path / "orders.csv", rows)

    def crash(done: int) -> None:
        if done >= 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(sessions, path, vault=vault, batch_size=500, progress=crash)
    partial = count(sessions)
    assert partial in (500, 1000) and count(sessions, OrderEvent) == partial  # whole orders only
    report = import_file(sessions, path, vault=vault, batch_size=500)
    assert report.imported == 1200 - partial and count(sessions) == 1200


@pytest.mark.slow
def test_30k_rows_twice_leave_30k_orders(sessions, vault, tmp_path):
    rows = ({"external_id": f"N-{i}", "received_at": f"2020-02-{1 + i % 28:02d}T{8 + i % 12:02d}:00:00",
             "text": f"市民反映第{i}号楼电梯故障", "kind": "complaint", "category": "GEN.HOUSING",
             "urgency": "normal"} for i in range(30_000))
    path = write_csv(tmp_path / "big.csv", rows)
    assert import_file(sessions, path, vault=vault).imported == 30_000
    assert import_file(sessions, path, vault=vault).already_present == 30_000
    assert count(sessions) == 30_000


def test_an_imported_open_order_gets_deadlines_and_fires_its_reminder(sessions, vault, tmp_path):
    """Open orders come in through the same builder as live ones: deadlines, timers, reminders."""
    from cityline.outbox.senders import MemorySender
    from cityline.sla.messages import reminder_handler
    from cityline.sla.models import Timer
    from cityline.sla.worker import run_once

    add_units(sessions)
    rows = [{"external_id": "OPEN-1", "received_at": "2020-01-28 22:10:00", "text": "家里老人透析药快用完了",
             "kind": "help", "category": "EPI.MEDICAL", "urgency": "urgent", "unit": "SH-JA-CJD",
             "dispatched_at": "2020-01-28 22:14:00"},
            GOOD[0]]  # closed in the source system: keeps its recorded times, gets no timers
    report = import_file(sessions, write_csv(tmp_path / "open.csv", rows), vault=vault)
    assert (report.imported, report.bad) == (2, [])
    with sessions() as session:
        open_order = session.scalar(select(Order).where(Order.external_id == "OPEN-1"))
        closed = session.scalar(select(Order).where(Order.external_id == "H-1"))
        assert open_order.status == "dispatched" and open_order.sla_policy
        assert open_order.accept_by is not None and open_order.resolve_by is not None
        assert closed.resolve_by is None
        timers = session.scalars(select(Timer).where(Timer.state == "pending")).all()
        assert timers and {t.order_id for t in timers} == {open_order.id}
    sender = MemorySender()
    run_once(sessions, datetime(2020, 1, 28, 14, 50, tzinfo=UTC), "w1", reminder_handler(), sender)
    reminders = [m for m in sender.delivered if m.kind == "sla.accept_reminder"]
    assert [m.recipient for m in reminders] == ["SH-JA-CJD"]
