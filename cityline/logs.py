"""Logging that never carries a caller's phone or ID number, nor an order's text.

:func:`install` replaces the log record factory, so every record (ours, uvicorn's,
the libraries') is made safe when it is created, whatever handlers are configured
later:

- the message and each argument are masked (:func:`cityline.privacy.mask_text`);
  arguments keep their types when they carry no number, because formatters read
  ``record.args`` (uvicorn's access formatter unpacks five of them);
- an exception is logged as its type and where it was raised
  (:func:`describe_exception`), never its message or traceback: a database error's
  message carries the SQL parameters (the order's text and everything else in the
  row), and other messages may quote the text too. With debug on
  (``CITYLINE_DEBUG=1`` or ``cityline --debug``) the traceback follows, masked;
- masking never breaks a log call: should it fail, the record says that it was
  withheld instead of carrying what it could not mask.

Attributes passed as ``extra=`` are set after the factory and are not masked:
never put personal data there.

:class:`AccessLog` writes the one line per HTTP request, :func:`configure` sends a
running server's records to stderr, and :func:`report_failure` is how a command
that failed says so (one line, no data).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from cityline.privacy import mask_text

_installed = False
_debug = False
PACKAGE = Path(__file__).resolve().parent
access = logging.getLogger("cityline.access")


def install(*, debug: bool | None = None) -> None:
    """Make every log record of this process safe (idempotent). ``debug`` (default: the
    ``CITYLINE_DEBUG`` setting) adds the masked traceback to a logged exception."""
    global _installed
    set_debug(_debug_setting() if debug is None else debug)
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            _make_safe(record)
        except Exception:  # noqa: BLE001 -- whatever went wrong, the log call itself must succeed
            _withhold(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def set_debug(on: bool) -> None:
    global _debug
    _debug = on


def debug() -> bool:
    return _debug


def _debug_setting() -> bool:
    try:
        from cityline.config import get_settings

        return get_settings().debug
    except Exception:  # noqa: BLE001 -- a broken setting is reported where settings are used
        return False


def _make_safe(record: logging.LogRecord) -> None:
    summary = None
    if record.exc_info:
        error = record.exc_info[1]
        if error is not None:
            summary = describe_exception(error)
            record.exc_text = masked_traceback(error) if _debug else None
        record.exc_info = None  # no handler formats the traceback (and its message) itself
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    msg, args = _safe(record.msg), record.args
    if args:
        args = ({key: _safe(value) for key, value in args.items()} if isinstance(args, Mapping)
                else tuple(_safe(value) for value in args))
    if summary:
        msg = f"{msg} — {summary.replace('%', '%%') if args else summary}"
    record.msg, record.args = msg, args
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):
        # A broken format string: show the call as it was made (masked) rather than let
        # logging print its own report, which would carry the arguments unmasked.
        record.msg, record.args = mask_text(f"{msg} (arguments: {args!r})"), ()
        return
    if mask_text(message) != message:
        # A number the arguments hid until formatted (an int, pieces that join up): mask the
        # whole message, giving up the arguments.
        record.msg, record.args = mask_text(message), ()


def _safe(value: Any) -> Any:
    """An argument of a log call, masked; its own type kept when it carries no number."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, BaseException):
        return describe_exception(value)
    if value is None or isinstance(value, bool | int | float):
        return value  # an int holding a phone number is caught once the message is formatted
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked


def _withhold(record: logging.LogRecord) -> None:
    record.msg, record.args = f"a log record of {record.name!r} was withheld: it could not be masked", ()
    record.exc_info = record.exc_text = record.stack_info = None


def describe_exception(error: BaseException) -> str:
    """What failed and where, without the exception's message, e.g. ``sqlalchemy.exc.DataError
    (psycopg.errors.StringDataRightTruncation 22001) at cityline/intake/importer.py:143 in
    write_batch, raised in psycopg/cursor.py:117 in execute``."""
    kind = _type_name(type(error))
    cause = getattr(error, "orig", None)  # SQLAlchemy's wrapper around the driver's error
    if isinstance(cause, BaseException):
        code = getattr(cause, "sqlstate", None) or getattr(cause, "sqlite_errorname", None)
        kind += f" ({_type_name(type(cause))}{f' {code}' if code else ''})"
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return mask_text(kind)
    ours = [frame for frame in frames if frame.filename.startswith(str(PACKAGE))]
    where = ours[-1] if ours else frames[0]  # the innermost of ours, else where it came in
    text = f"{kind} at {_frame(where)}"
    if frames[-1] is not where:
        text += f", raised in {_frame(frames[-1])}"
    return mask_text(text)


def masked_traceback(error: BaseException) -> str:
    """The whole traceback with numbers masked (debug only: messages may quote an order's text)."""
    return mask_text("".join(traceback.format_exception(error)).rstrip("\n"))


def _type_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _frame(frame: traceback.FrameSummary) -> str:
    path = Path(frame.filename)
    if "site-packages" in path.parts:
        shown = "/".join(path.parts[path.parts.index("site-packages") + 1:])
    elif path.is_relative_to(PACKAGE.parent):
        shown = path.relative_to(PACKAGE.parent).as_posix()
    else:
        shown = "/".join(path.parts[-2:])
    return f"{shown}:{frame.lineno} in {frame.name}"


def report_failure(error: BaseException) -> None:
    """A command failed unexpectedly: one line on stderr naming what and where, never the
    data it was working on; with debug on, the masked traceback before it."""
    if _debug:
        print(masked_traceback(error), file=sys.stderr)
        print(f"error: the command failed: {describe_exception(error)}", file=sys.stderr)
    else:
        print(f"error: the command failed: {describe_exception(error)} "
              "(cityline --debug or CITYLINE_DEBUG=1 shows the traceback, numbers masked)", file=sys.stderr)


def configure(level: int = logging.INFO) -> None:
    """Where a running server's records go: one line each on stderr (installs the masking)."""
    install()
    root = logging.getLogger()
    if not any(getattr(handler, "cityline", False) for handler in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.cityline = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))  # each start's migration check


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AccessLog:
    """ASGI middleware: one line per HTTP request with the method, the path (numbers masked),
    the status and the duration. Neither the query string (it carries search words) nor the
    client's address is logged; a request that raised is logged with what failed and where.

    ``answer(error, path)`` (``problems.unexpected``) gives the response to a request that raised
    before its answer began; the error is then logged here, once, and goes no further (the
    server would log it again, with its message)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 answer: Callable[[BaseException, str], Any] | None = None) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status, started = time.perf_counter(), 500, False

        async def sending(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if started or self.answer is None:
                _access_line(scope, status, began, error)
                raise
            response = self.answer(error, scope.get("path", ""))
            _access_line(scope, response.status_code, began, error)
            await response(scope, receive, send)
            return
        _access_line(scope, status, began)


def _access_line(scope: Scope, status: int, began: float, error: BaseException | None = None) -> None:
    level = logging.ERROR if error else logging.WARNING if status >= 500 else logging.INFO
    access.log(level, "%s %s %d %.1f ms", scope.get("method", "?"), mask_text(scope.get("path", "")), status,
               (time.perf_counter() - began) * 1000, exc_info=error)
