"""Cells of the spreadsheets cityline writes (CSV and .xlsx): never a formula.

Text that callers or editors wrote ends up in exports that analysts open in Excel
or LibreOffice, which run a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: ``=HYPERLINK(...)`` in a caller's
message would be live on an analyst's screen ("CSV injection"). As OWASP advises,
such a cell gets a leading ``'``, which spreadsheets read as "this is text".
Numbers stay numbers: an int or float, or a string that is a plain number
(``-12.5``, ``+8613800001234``), is left as it is.

Every export uses :func:`safe_cell` / :func:`safe_row`; a file cityline reads back
(the knowledge base's export) drops the guard again with :func:`plain_cell`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it, never run it."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def plain_cell(value: Any) -> Any:
    """A cell read back from a file cityline wrote: without the guard :func:`safe_cell` added."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value
