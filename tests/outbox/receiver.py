"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread.

It answers with the statuses it is given, in turn (then 200), checks each
request's signature itself with the secret it is told, and keeps every request
it saw (headers, raw body, whether the signature held)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.statuses: list[int] = []  # answered in turn; 200 once they run out
        self.seen: list[Seen] = []
        self.redirect_to: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._answer(self, body)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        # Checked independently of cityline's own code: HMAC-SHA256 of the raw body, hex.
        expected = "sha256=" + hmac.new((self.secret or "").encode(), body, hashlib.sha256).hexdigest()
        given = handler.headers.get("X-Cityline-Signature") or ""
        signature_ok = self.secret is not None and hmac.compare_digest(expected, given)
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            if not signature_ok:
                status = 401
            self.seen.append(Seen(handler.path, dict(handler.headers.items()), body, signature_ok, status))
        handler.send_response(status)
        if self.redirect_to and status in (301, 302, 307, 308):
            handler.send_header("Location", self.redirect_to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
