"""What a fired SLA timer says, and to whom (the default timer handler), plus
the senders that deliver outbox messages."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from cityline.sla.rules import ACCEPT_REMINDER, DEADLINE_WARNING, OVERDUE_ESCALATION
from cityline.sla.service import Message
from cityline.sla.worker import Handler, OutboxItem, TimerView

_WHAT = {
    "accept": ("签收", "acceptance"),
    "respond": ("首次响应", "first response"),
    "resolve": ("办结", "resolution"),
}


def reminder_handler(timezone: str = "Asia/Shanghai") -> Handler:
    """The handler for SLA timers: reminders to the unit, 督办 to the supervisor."""
    zone = ZoneInfo(timezone)

    def handle(timer: TimerView) -> list[Message]:
        return reminder_messages(timer, zone)

    return handle


def reminder_messages(timer: TimerView, zone: ZoneInfo) -> list[Message]:
    payload = timer.payload
    unit = payload.get("unit")
    what_zh, what_en = _WHAT.get(payload.get("deadline", "resolve"), _WHAT["resolve"])
    due = datetime.fromisoformat(payload.get("deadline_at", timer.due_at.isoformat()))
    local = due.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    order = timer.order_id
    facts = {"timer_id": timer.id, "deadline": payload.get("deadline"),
             "deadline_at": due.isoformat(), "policy": payload.get("policy"), "unit": unit}
    if timer.kind == ACCEPT_REMINDER:
        texts = (f"工单 {order} 已派发未签收，请尽快签收（应于 {local} 前签收）。",
                 f"Order {order} was dispatched to you and is not accepted yet (due {local}).")
        return [_message("sla.accept_reminder", timer.recipient or unit, order, facts, texts)]
    if timer.kind == DEADLINE_WARNING:
        texts = (f"工单 {order} 将于 {local} 到达{what_zh}时限，请抓紧办理。",
                 f"Order {order} reaches its {what_en} deadline at {local}.")
        return [_message("sla.deadline_warning", timer.recipient or unit, order, facts, texts)]
    if timer.kind == OVERDUE_ESCALATION:
        texts = (f"督办：工单 {order}（承办单位 {unit or '未派发'}）已超过{what_zh}时限 {local}。",
                 f"Escalation: order {order} (unit {unit or 'not dispatched'}) "
                 f"missed its {what_en} deadline of {local}.")
        messages = [_message("sla.overdue_escalation", timer.recipient or "role:supervisor",
                             order, facts, texts)]
        if unit:  # the unit learns it is being chased (督办) too
            messages.append(_message("sla.overdue_notice", unit, order, facts, texts))
        return messages
    raise ValueError(f"no reminder text for timer kind {timer.kind!r}")


def _message(kind: str, recipient: str | None, order_id: int, facts: dict,
             texts: tuple[str, str]) -> Message:
    if not recipient:
        raise ValueError(f"{kind} for order {order_id} has no recipient")
    return Message(kind, recipient, order_id, {**facts, "text_zh": texts[0], "text_en": texts[1]})


def item_as_json(item: OutboxItem) -> str:
    return json.dumps(
        {"id": item.id, "kind": item.kind, "recipient": item.recipient, "order_id": item.order_id,
         "attempt": item.attempts, "payload": item.payload},
        ensure_ascii=False, sort_keys=True,
    )


class LogSender:
    """Delivers a message by writing one JSON line to a file (appended) or to stdout."""

    def __init__(self, path: str | Path | None = None, stream: IO[str] | None = None) -> None:
        self.path = Path(path) if path else None
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, item: OutboxItem) -> None:
        line = item_as_json(item) + "\n"
        with self._lock:
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line)
            else:
                stream = self.stream or sys.stdout
                stream.write(line)
                stream.flush()


class MemorySender:
    """Delivers into a list in this process (tests, embedding)."""

    def __init__(self) -> None:
        self.delivered: list[OutboxItem] = []

    def __call__(self, item: OutboxItem) -> None:
        self.delivered.append(item)


SENDERS: dict[str, Callable[..., Callable[[OutboxItem], None]]] = {
    "log": LogSender,
    "memory": MemorySender,
}
