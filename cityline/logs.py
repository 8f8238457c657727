"""Logging that never carries a caller's phone or ID number.

The log record factory masks numbers in every record's message and arguments
when the record is created, so it covers every logger (ours, uvicorn's, the
libraries') whatever handlers are configured later.
"""

from __future__ import annotations

import logging

from cityline.privacy import mask_text

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()  # arguments of any type (URLs, objects) end up in here
        except (TypeError, ValueError):
            return record  # a broken format string: logging reports it itself
        record.msg, record.args = mask_text(message), ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
