"""What a fired SLA timer says, and to whom (the default timer handler). The messages
go to the outbox (``cityline.outbox``), which delivers them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cityline.outbox.service import Message
from cityline.sla.rules import ACCEPT_REMINDER, DEADLINE_WARNING, MILESTONE, OVERDUE_ESCALATION
from cityline.sla.worker import Handler, TimerView

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
    if str(payload.get("deadline", "")).startswith(MILESTONE):  # a step of the hour chain (流调工单)
        what_zh = f"“{payload.get('milestone_zh') or payload['milestone']}”节点"
        what_en = f"“{payload.get('milestone_en') or payload['milestone']}” milestone"
    due = datetime.fromisoformat(payload.get("deadline_at", timer.due_at.isoformat()))
    local = due.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    # People know an order by its number; a timer scheduled without one (older rows,
    # direct callers) still says which order, by its id.
    order = timer.order_number or f"#{timer.order_id}"
    facts = {"timer_id": timer.id, "order_number": timer.order_number, "deadline": payload.get("deadline"),
             "deadline_at": due.isoformat(), "policy": payload.get("policy"), "unit": unit,
             **({"milestone": payload["milestone"]} if payload.get("milestone") else {})}
    if timer.kind == ACCEPT_REMINDER:
        texts = (f"工单 {order} 已派发未签收，请尽快签收（应于 {local} 前签收）。",
                 f"Order {order} was dispatched to you and is not accepted yet (due {local}).")
        return [_message("sla.accept_reminder", timer.recipient or unit, timer.order_id, facts, texts)]
    if timer.kind == DEADLINE_WARNING:
        texts = (f"工单 {order} 将于 {local} 到达{what_zh}时限，请抓紧办理。",
                 f"Order {order} reaches its {what_en} deadline at {local}.")
        return [_message("sla.deadline_warning", timer.recipient or unit, timer.order_id, facts, texts)]
    if timer.kind == OVERDUE_ESCALATION:
        texts = (f"督办：工单 {order}（承办单位 {unit or '未派发'}）已超过{what_zh}时限 {local}。",
                 f"Escalation: order {order} (unit {unit or 'not dispatched'}) "
                 f"missed its {what_en} deadline of {local}.")
        # One escalation per missed deadline (order, which deadline, its instant), however
        # often the order's timers were re-planned: a second timer for it stores nothing.
        key = f"sla.escalation:{timer.order_id}:{payload.get('deadline', 'resolve')}:{due.astimezone(UTC).isoformat()}"
        messages = [_message("sla.overdue_escalation", timer.recipient or "role:supervisor",
                             timer.order_id, facts, texts, key)]
        if unit:  # the unit learns it is being chased (督办) too
            messages.append(_message("sla.overdue_notice", unit, timer.order_id, facts, texts,
                                     f"{key}:notice"))
        return messages
    raise ValueError(f"no reminder text for timer kind {timer.kind!r}")


def _message(kind: str, recipient: str | None, order_id: int, facts: dict,
             texts: tuple[str, str], dedupe_key: str | None = None) -> Message:
    if not recipient:
        raise ValueError(f"{kind} for order {order_id} has no recipient")
    return Message(kind, recipient, order_id, {**facts, "text_zh": texts[0], "text_en": texts[1]},
                   dedupe_key)
