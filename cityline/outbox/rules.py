"""Pure decisions of the outbox: when to try again, how a delivery is signed, what a
dispatch notice says. Values in, values out."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, tzinfo

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: the tenth failure comes about 3 hours after the
# first, long enough to ride out a receiver's maintenance window before an admin must act.
MAX_ATTEMPTS = 10

DISPATCHED = "order.dispatched"
REDISPATCHED = "order.redispatched"
REOPENED = "order.reopened"  # back to its unit after an unsatisfied return visit
# What a unit is told an order is, by the kind of message: the head of the line it reads.
HEADS = {DISPATCHED: "新派工单", REDISPATCHED: "改派工单", REOPENED: "重办工单"}
SIGNATURE_HEADER = "X-Cityline-Signature"
DELIVERY_HEADER = "X-Cityline-Delivery"
EVENT_HEADER = "X-Cityline-Event"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 30 s, 1 min, 2 min … at most 1 hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def after_failure(attempts: int, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> tuple[str, datetime]:
    """(state, next attempt) of a message whose n-th attempt just failed: pending and backed
    off, or ``failed`` (given up, for an admin to see) once ``max_attempts`` were made."""
    state = "failed" if attempts >= max_attempts else "pending"
    return state, now + retry_delay(attempts)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """What a receiver does: recompute over the raw bytes received, compare in constant time."""
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)


def local_text(moment: datetime | None, zone: tzinfo) -> str | None:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else None


def dispatch_text(kind: str, number: str, *, category: str | None, urgency: str | None,
                  accept_by: str | None, resolve_by: str | None) -> str:
    """The Chinese line a unit reads when an order is (re-)dispatched or reopened to it; names are
    display names (就医, 紧急) and times local, already formatted."""
    head = HEADS[kind]
    labels = "，".join(name for name in (category, urgency) if name)
    parts = [f"{head} {number}" + (f"（{labels}）" if labels else "")]
    if accept_by:
        parts.append(f"请于 {accept_by} 前签收")
    if resolve_by:
        parts.append(f"{resolve_by} 前办结")
    if not (accept_by or resolve_by):
        parts.append("暂无办理时限")
    return "，".join(parts) + "。"
