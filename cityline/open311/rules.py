"""Open311 GeoReport v2, pure: services from the taxonomy, an order as a service request, the
search window, form attributes, and the two formats (JSON, and XML, which the specification
requires). Values in, values out; no database, no HTTP.

Decisions (README, "Open311 GeoReport v2"):
- one service per taxonomy category, its code the category code; epidemic categories take one
  attribute, the special groups a request is about (they raise its urgency as at the hotline);
- a service request is an order made through Open311; its id is the order number;
- ``status`` is ``open`` until the order is closed, merged or cancelled;
- what a public GET shows is masked like every answer of cityline, and never names the caller.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cityline.orders.rules import OPEN, Status
from cityline.privacy import mask_text
from cityline.taxonomy import EPIDEMIC_PREFIX, Taxonomy
from cityline.timeutil import parse_when, to_local

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-06T00:00:00+08:00"  # discovery: when this endpoint's interface last changed
FORMATS = ("json", "xml")
MAX_WINDOW = timedelta(days=90)  # the specification's limit on start_date … end_date
MAX_IDS = 100  # service_request_id values in one search
SPECIAL_GROUP = "special_group"  # the one attribute, of epidemic services
GROUPS = {EPIDEMIC_PREFIX: ("疫情防控", "Epidemic control"), "": ("城市管理与民生", "City services")}


class RuleError(ValueError):
    """A request Open311 refuses with 400; the message says what was wrong."""


def language(locale: str | None, accept_language: str | None) -> str:
    """``zh`` (the default) or ``en``: ``?locale=`` first, else the first Accept-Language tag."""
    wanted = locale or (accept_language or "").split(",")[0]
    return "en" if wanted.strip().lower().startswith("en") else "zh"


def _group(code: str, lang: str) -> str:
    zh, en = GROUPS[EPIDEMIC_PREFIX if code.startswith(EPIDEMIC_PREFIX) else ""]
    return en if lang == "en" else zh


def services(taxonomy: Taxonomy, lang: str) -> list[dict[str, Any]]:
    """GET services: one realtime service per category of the taxonomy."""
    return [{
        "service_code": c.code,
        "service_name": c.en if lang == "en" else c.zh,
        "description": (c.note or c.en) if lang == "en" else c.zh,  # the taxonomy's notes are English
        "metadata": c.code.startswith(EPIDEMIC_PREFIX),
        "type": "realtime",
        "keywords": ",".join((c.zh, c.en)),
        "group": _group(c.code, lang),
    } for c in taxonomy.categories]


def definition(taxonomy: Taxonomy, code: str, lang: str) -> dict[str, Any] | None:
    """GET services/{code}: the attributes a service takes (None for a code that is no service)."""
    if code not in taxonomy.codes("category"):
        return None
    attributes = []
    if code.startswith(EPIDEMIC_PREFIX):
        attributes.append({
            "variable": True, "code": SPECIAL_GROUP, "datatype": "multivaluelist", "required": False,
            "datatype_description": ("Any of the values; requests about them are handled first" if lang == "en"
                                     else "可多选；涉及以下人群的诉求优先办理"),
            "order": 1,
            "description": "Who the request is about" if lang == "en" else "诉求涉及的特殊人群",
            "values": [{"key": g.code, "name": g.en if lang == "en" else g.zh} for g in taxonomy.special_groups],
        })
    return {"service_code": code, "attributes": attributes}


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def form_attributes(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``attribute[code]`` and ``attribute[code][]`` fields of a form, each code with its values."""
    found: dict[str, list[str]] = {}
    for key, value in items:
        match = _ATTRIBUTE.match(key)
        if match and value != "":
            found.setdefault(match.group(1), []).append(value)
    return found


def special_groups(taxonomy: Taxonomy, service_code: str, attributes: Mapping[str, list[str]]) -> list[str]:
    """The special groups a request names through its service's attribute; refuses any other
    attribute, and values that are not keys of it."""
    taken = {SPECIAL_GROUP} if service_code.startswith(EPIDEMIC_PREFIX) else set()
    unknown = sorted(set(attributes) - taken)
    if unknown:
        raise RuleError(f"service {service_code} takes no attribute {', '.join(unknown)}"
                        + (f" (it takes: {SPECIAL_GROUP})" if taken else " (it takes none)"))
    values = attributes.get(SPECIAL_GROUP, [])
    known = taxonomy.codes("special_group")
    bad = [v for v in values if v not in known]
    if bad:
        raise RuleError(f"attribute[{SPECIAL_GROUP}]: {', '.join(bad)} not among {', '.join(known)}")
    return list(dict.fromkeys(values))


def caller_name(first_name: str | None, last_name: str | None) -> str | None:
    """One name from the form's two: a Chinese name family name first (张 + 三 = 张三)."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if not (first or last):
        return None
    if re.search(r"[\u3400-\u9fff]", first + last):
        return last + first
    return " ".join(filter(None, (first, last)))


def window(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The requested_datetime range of a search: the last 90 days by default, 90 days after a
    start or before an end given alone, never more than 90 days."""
    try:
        since = parse_when(start) if start else None
        until = parse_when(end) if end else None
    except ValueError:
        raise RuleError("start_date and end_date must be ISO 8601 (w3 format), e.g. 2026-01-01T00:00:00+08:00") from None
    if since is None and until is None:
        return now - MAX_WINDOW, now
    since = since or until - MAX_WINDOW  # type: ignore[operator]
    until = until or since + MAX_WINDOW
    if until < since:
        raise RuleError("end_date is before start_date")
    if until - since > MAX_WINDOW:
        raise RuleError("start_date and end_date may not be more than 90 days apart")
    return since, until


def listed(value: str | None, allowed: Iterable[str] | None = None, what: str = "value") -> list[str]:
    """A comma-delimited parameter as a list; refuses values outside ``allowed``."""
    values = [v.strip() for v in (value or "").split(",") if v.strip()]
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise RuleError(f"unknown {what} {', '.join(bad)}; known: {', '.join(allowed)}")
    return values


def status_of(order_status: str) -> str:
    return "open" if order_status in OPEN else "closed"


def order_statuses(status: str) -> list[str]:
    """The order statuses an Open311 status stands for."""
    return sorted(s.value for s in Status if status_of(s.value) == status)


_NOTES = {
    "received": ("已受理，等待派单", "Received, waiting to be dispatched"),
    "dispatched": ("已派至{unit}", "Dispatched to {unit}"),
    "accepted": ("{unit}已接单，正在办理", "Accepted by {unit}, in hand"),
    "returned": ("承办单位退回，正在重新派单", "Returned by the unit, being dispatched again"),
    "replied": ("{unit}已答复", "{unit} has replied"),
    "visited": ("已回访", "The caller has been asked about the outcome"),
    "closed": ("已办结", "Closed"),
    "merged": ("与同一问题的其他诉求合并办理", "Handled together with another request about the same problem"),
    "cancelled": ("已撤销", "Cancelled"),
}


@dataclass(frozen=True)
class RequestView:
    """What a service request shows of one order (the service layer reads it)."""

    number: str
    status: str
    category: str | None
    text: str
    unit_name: str | None
    reply: str | None
    address: str | None
    lat: float | None
    lon: float | None
    media_url: str | None
    received_at: datetime
    updated_at: datetime
    resolve_by: datetime | None


def when(value: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the hotline's local time."""
    return to_local(value).isoformat(timespec="seconds") if value else None


def status_notes(view: RequestView, lang: str) -> str:
    """The unit's reply once it has replied; before, where the order stands in its loop."""
    if view.reply:
        return mask_text(view.reply)
    zh, en = _NOTES.get(view.status, (view.status, view.status))
    unit = view.unit_name or ("the unit" if lang == "en" else "承办单位")
    return (en if lang == "en" else zh).format(unit=unit)


def request_record(view: RequestView, taxonomy: Taxonomy, lang: str) -> dict[str, Any]:
    """One service request as the specification lists its fields: masked text, no caller."""
    try:
        name = taxonomy.name(view.category, lang) if view.category else None
    except ValueError:  # a category since removed from the taxonomy
        name = view.category
    return {
        "service_request_id": view.number,
        "status": status_of(view.status),
        "status_notes": status_notes(view, lang),
        "service_name": name,
        "service_code": view.category,
        "description": mask_text(view.text),
        "agency_responsible": view.unit_name,
        "service_notice": None,
        "requested_datetime": when(view.received_at),
        "updated_datetime": when(view.updated_at),
        "expected_datetime": when(view.resolve_by),
        "address": mask_text(view.address) if view.address else None,
        "address_id": None,
        "zipcode": None,
        "lat": view.lat,
        "long": view.lon,
        "media_url": view.media_url,
    }


def error_list(status: int, descriptions: Iterable[str]) -> list[dict[str, Any]]:
    """The specification's errors: a list of ``{code, description}``, the code the HTTP status."""
    return [{"code": status, "description": mask_text(d)} for d in descriptions]


# XML: the element around each item of a list, by the list's name.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot hold at all (a description may carry them): left out of XML answers.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS.get(element.tag, "item")), item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` as the specification's XML: a list in ``<root>`` of its items (``<services>`` of
    ``<service>``), a mapping as ``<root>`` of its keys."""
    element = ET.Element(root)
    _fill(element, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)
