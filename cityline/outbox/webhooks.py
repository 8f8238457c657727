"""A unit's webhooks: its own system told of its orders by a signed JSON POST.

Each delivery is one outbox message, POSTed with

- ``X-Cityline-Delivery: <outbox id>`` — the same id on every retry of it: a
  receiver that has seen the id already answers 2xx and does nothing (delivery is
  at-least-once);
- ``X-Cityline-Event: order.dispatched`` (or ``order.redispatched``);
- ``X-Cityline-Signature: sha256=<hex>`` — HMAC-SHA256 of the raw request body
  with the webhook's secret. A receiver recomputes it over the bytes it received
  (before parsing the JSON) and compares in constant time, e.g. in Python
  ``hmac.compare_digest("sha256=" + hmac.new(secret, body, "sha256").hexdigest(), header)``.

Any 2xx answer is a delivery; anything else (another status, a redirect, no
answer within the timeout, no connection) is a failed attempt, retried with
back-off.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction
from cityline.errors import FieldError, Invalid, NotFound
from cityline.outbox.models import Webhook
from cityline.outbox.rules import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from cityline.outbox.worker import GiveUp, OutboxItem
from cityline.privacy import Vault

TIMEOUT_SECONDS = 5.0  # short: one slow receiver must not hold up reminders in the same worker


def check_url(url: str) -> str:
    """http(s) with a host, nothing else (no file:, no ftp:)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"not a webhook address: {url!r}; give an http:// or https:// address with a host",
                      [FieldError("url", "give an http:// or https:// address with a host")])
    return url


def add(session: Session, vault: Vault, *, unit_id: int, unit_code: str, url: str, actor: str | None = None
        ) -> tuple[Webhook, str]:
    """A new webhook for a unit and its secret (shown to the admin this once, stored encrypted)."""
    secret = secrets.token_hex(32)
    hook = Webhook(unit_id=unit_id, unit_code=unit_code, url=check_url(url), secret_enc=vault.encrypt(secret),
                   active=True, created_by=actor)
    session.add(hook)
    session.flush()
    return hook, secret


def list_webhooks(session: Session, *, include_removed: bool = False) -> list[Webhook]:
    stmt = select(Webhook).order_by(Webhook.unit_code, Webhook.id)
    if not include_removed:
        stmt = stmt.where(Webhook.active.is_(True))
    return list(session.scalars(stmt))


def remove(session: Session, webhook_id: int) -> Webhook:
    """Stop delivering to a webhook. The row stays (inactive) so past and pending deliveries
    still say where they were going; the pending ones fail at their next attempt."""
    hook = session.get(Webhook, webhook_id)
    if hook is None or not hook.active:
        raise NotFound(f"no webhook {webhook_id}")
    hook.active = False
    return hook


def active_for_unit(session: Session, unit_id: int) -> list[Webhook]:
    return list(session.scalars(
        select(Webhook).where(Webhook.unit_id == unit_id, Webhook.active.is_(True)).order_by(Webhook.id)))


def body(item: OutboxItem) -> bytes:
    """The JSON a receiver gets: the event's facts and the delivery (outbox) id."""
    event: dict[str, Any] = dict(item.payload.get("event", {}))
    return json.dumps({"event": item.kind, "delivery": item.id, **event},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: it fails the attempt (and never turns a POST into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebhookSender:
    """Posts ``webhook`` messages; the URL and secret are read at delivery time, so a
    removed webhook is not called again."""

    def __init__(self, session_factory: sessionmaker[Session], vault: Vault,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.sessions = session_factory
        self.vault = vault
        self.timeout = timeout
        # No file:, ftp: or data: handlers: only http(s) leaves this process.
        self._opener = urllib.request.OpenerDirector()
        for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(),
                        urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(),
                        _NoRedirect(), urllib.request.HTTPErrorProcessor()):
            self._opener.add_handler(handler)

    def __call__(self, item: OutboxItem) -> None:
        with transaction(self.sessions) as session:
            hook = session.get(Webhook, item.payload.get("webhook_id"))
            target = (hook.url, self.vault.reveal(hook.secret_enc)) if hook is not None and hook.active else None
        if target is None:
            raise GiveUp(f"webhook {item.payload.get('webhook_id')} was removed")
        url, secret = target
        data = body(item)
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "cityline-webhook/1",
            DELIVERY_HEADER: str(item.id),
            EVENT_HEADER: item.kind,
            SIGNATURE_HEADER: sign(secret, data),
        })
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            exc.close()
            raise ConnectionError(f"{url} answered HTTP {exc.code}") from None
        if not 200 <= status < 300:  # the error processor lets no other status through; be sure
            raise ConnectionError(f"{url} answered HTTP {status}")
