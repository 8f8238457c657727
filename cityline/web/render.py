"""Turning a template and its values into a page: the Jinja2 environment, its filters, and
what every page knows (the language, the visitor, the menu).

Every value a template prints passes :func:`shown`, which masks phone and ID numbers,
so no page shows one in full whichever template prints it and wherever the value came
from (an order, an event's data, a number typed into the address bar). Templates
call ``mask()`` where a text is cut short, since a number cut in half would no longer
be recognised. The caller's full number is shown only by the order page's script,
from the audited reveal."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cityline import privacy
from cityline.db import utcnow
from cityline.orders.rules import FINAL
from cityline.taxonomy import load_taxonomy
from cityline.timeutil import local_zone, to_local
from cityline.web.cards import Cards
from cityline.web.rules import (
    DUE_SOON,
    Clock,
    event_facts,
    is_foreign,
    pages_for,
    resolution_clock,
    span_parts,
    unit_clock,
)
from cityline.web.texts import strings, translate
from cityline.web.visitor import LANGUAGE_COOKIE, Visitor, language_of

HERE = Path(__file__).parent
STATIC = HERE / "static"
ONE_YEAR = 365 * 24 * 3600


@lru_cache
def environment() -> Environment:
    # auto_reload off: the templates ship with the code and are compiled once a process, where
    # Jinja would look at each file's time again for every page drawn.
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=shown,
                      auto_reload=False)
    env.filters.update(local=local_time, iso=iso_time)
    env.globals.update(asset=asset, is_foreign=is_foreign, mask=privacy.mask_text, mask_name=privacy.mask_name,
                       facts_of=lambda e: event_facts(e.action, e.data))
    return env


def shown(value: Any) -> Any:
    """What a template prints: strings with their phone and ID numbers masked. Markup passes
    as it is: what the console makes itself (JSON for the scripts, asset URLs, the CSRF token)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _masked(value)
    return value


@lru_cache(maxsize=8192)
def _masked(text: str) -> str:
    """Masked once per distinct value: a page prints ~1,500 values, most of them the same words,
    codes and names again on every card (and the same ones on the next page)."""
    return privacy.mask_text(text)


def local_time(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """UTC from the store, shown in the hotline's local time (Asia/Shanghai)."""
    return to_local(value).strftime(fmt) if value else ""


def iso_time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@lru_cache(maxsize=64)
def asset(path: str) -> Markup:
    """URL of a static file with its content hash, so a browser never runs an old script
    (Markup: a hash that happens to be eight digits is not a phone number to mask)."""
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    return Markup.escape(f"/static/{path}?v={digest}")


def taxonomy_name(lang: str, code: str | None) -> str:
    return taxonomy_names(lang).get(code, code) if code else ""  # a code not in the taxonomy shows itself


@lru_cache(maxsize=4)
def taxonomy_names(lang: str) -> dict[str, str]:
    """Every taxonomy code's name in one language, for the intake form's script."""
    taxonomy = load_taxonomy()
    entries = taxonomy.kinds + taxonomy.categories + taxonomy.urgencies + taxonomy.special_groups
    return {e.code: taxonomy.name(e.code, lang) for e in entries}


def span(lang: str, seconds: int) -> str:
    return "".join(translate(lang, f"deadline.{unit}", n=n) for unit, n in span_parts(seconds))


def clock_text(lang: str, clock: Clock) -> str:
    """"剩余 3小时5分" / "已超时 1天2小时" / "已暂停", as first shown (the page's script counts on)."""
    if clock.state == "paused":
        return translate(lang, "deadline.paused")
    if clock.seconds_left is None:
        return translate(lang, "deadline.none")
    key = "deadline.over" if clock.seconds_left < 0 else "deadline.left"
    return translate(lang, key, span=span(lang, clock.seconds_left))


def clock_of(order: Any, now: datetime | None = None, resolution: bool = False) -> Clock:
    """The unit's clock of an order as the page is drawn (or, with ``resolution``, the
    deadline promised to the caller, whoever holds the order)."""
    now = now or utcnow()
    if resolution and order.status not in FINAL:
        return resolution_clock(order.paused, order.resolve_by, now)
    return unit_clock(order.status, order.paused, order.accept_by, order.resolve_by, now)


def cards_in(lang: str) -> Cards:
    """An order card's pieces in ``lang``, printing as the templates print (``shown``)."""
    return Cards(lang, shown=shown, t=partial(translate, lang), name=partial(taxonomy_name, lang), local=local_time,
                 iso=iso_time, clock_text=partial(clock_text, lang))


def switch_url(request: Request, lang: str) -> str:
    """This page in the other language (a path on this site, the other filters kept)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(params)}"


def page_values(request: Request, visitor: Visitor | None, lang: str, current: str | None) -> dict[str, Any]:
    t = partial(translate, lang)
    other = "en" if lang == "zh" else "zh"
    name = partial(taxonomy_name, lang)
    return {
        "lang": lang, "t": t, "name": name,
        "taxonomy_names": partial(taxonomy_names, lang), "visitor": visitor,
        "pages": pages_for(visitor.permissions) if visitor else [], "current": current,
        # Markup: the CSRF token passes ``shown`` as it is (eight digits in it are no phone number).
        "csrf": Markup.escape(visitor.csrf) if visitor else "", "path": request.url.path,
        "clock_of": clock_of, "clock_text": partial(clock_text, lang), "cards": cards_in(lang),
        "other_lang": other, "switch_url": switch_url(request, other), "strings": strings(lang),
        "due_soon_seconds": int(DUE_SOON.total_seconds()),  # the page's countdowns use the same
        "time_zone": local_zone().key,  # times a script shows are the centre's, as the server's are
    }


def render(request: Request, visitor: Visitor | None, template: str, *, current: str | None = None,
           status: int = 200, **values: Any) -> HTMLResponse:
    lang = language_of(request)
    html = environment().get_template(template).render(**page_values(request, visitor, lang, current),
                                                       **values)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") == lang:  # remember an explicit choice
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=ONE_YEAR, samesite="lax")
    return response
