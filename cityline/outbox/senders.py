"""How outbox messages leave: one sender per channel.

``notice`` messages (reminders, escalations) go to a pluggable sender for people —
JSON lines appended to a file today; ``webhook`` messages are POSTed to the
unit's own system (:class:`cityline.outbox.webhooks.WebhookSender`)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from cityline.outbox.worker import GiveUp, OutboxItem, Sender
from cityline.privacy import Vault


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


def by_channel(senders: Mapping[str, Sender]) -> Sender:
    """One sender that hands each message to its channel's sender."""

    def send(item: OutboxItem) -> None:
        chosen = senders.get(item.channel)
        if chosen is None:  # no retry will grow a sender for it
            raise GiveUp(f"no sender for channel {item.channel!r}")
        chosen(item)

    return send


def standard(session_factory: sessionmaker[Session], notice_log: Path | None, vault: Vault) -> Sender:
    """What a running cityline delivers with: notices as JSON lines appended to
    ``notice_log`` (stdout when None), webhooks as POSTs signed with their secrets (which
    ``vault`` decrypts)."""
    from cityline.outbox.webhooks import WebhookSender

    return by_channel({"notice": LogSender(notice_log), "webhook": WebhookSender(session_factory, vault)})
