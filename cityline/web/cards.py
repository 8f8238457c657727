"""The pieces every card of an order repeats — its badges, headline, countdown and the forms
of its moves — written in Python rather than as Jinja macros: a work page draws them for up
to a hundred cards, and as macros they were half of the page's CPU (a macro call, and every
value it prints, pass through Jinja's runtime one at a time).

What they print is what the macros printed, and masked the same way: every value passes
:func:`cityline.web.render.shown` (phone and ID numbers masked) and is then HTML-escaped,
as Jinja's ``finalize`` hook and autoescape did. A page gets them as ``cards``, in its
language (:func:`cityline.web.render.page_values`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from cityline.web.rules import Clock, is_foreign

# Moves that need nothing more than a click: one button (``close`` too, once the order was visited).
PLAIN = frozenset({"accept", "resume", "grant"})
REASONED = frozenset({"return", "pause", "cancel", "reopen", "close", "refuse"})
SATISFACTION = ("satisfied", "basic", "unsatisfied")


class Cards:
    """One page's card pieces in the page's language. ``shown`` masks what is printed,
    ``t`` and ``name`` say words and taxonomy codes, ``local`` and ``iso`` write times,
    ``clock_text`` says a countdown as first drawn (the page's own, see ``page_values``)."""

    def __init__(self, lang: str, *, shown: Callable[[Any], Any], t: Callable[..., str], name: Callable[[str], str],
                 local: Callable[[Any], str], iso: Callable[[Any], str], clock_text: Callable[[Clock], str]) -> None:
        self.lang, self.shown, self.t, self.name = lang, shown, t, name
        self.local, self.iso, self.clock_text = local, iso, clock_text
        self._lane_items: dict[str, Markup] = {}  # a board's order in several lanes, drawn once (a page's)

    def _e(self, value: Any) -> str:
        """A value as a template prints it: masked, then escaped (a page's words, codes and names
        come again on every card: each distinct one is masked and escaped once)."""
        if type(value) is str:
            return _printed(value, self.shown)
        return escape(self.shown(value))

    def badges(self, o: Any) -> Markup:
        """Urgency, special groups, a foreign language, paused, an extension asked for."""
        e, t, name = self._e, self.t, self.name
        html = []
        if o.urgency:
            html.append(f'<span class="badge u-{e(o.urgency)}">{e(name(o.urgency))}</span>')
        html += [f'<span class="badge group">{e(name(g))}</span>' for g in o.special_groups]
        if is_foreign(o.language):
            html.append(f'<span class="badge foreign">{e(t("intake.foreign", language=o.language))}</span>')
        if o.paused:
            html.append(f'<span class="badge paused">{e(t("inbox.paused"))}</span>')
        if o.extension_requested:
            html.append(f'<span class="badge paused">{e(t("inbox.extension_pending"))}</span>')
        return Markup("".join(html))

    def countdown(self, c: Clock) -> Markup:
        """The deadline an order races, counted on by the page's script (nothing without one)."""
        if c.state == "none" and not c.kind:
            return Markup("")
        e = self._e
        due = f' datetime="{e(self.iso(c.due))}"' if c.due else ""
        kind = f"{e(self.t('deadline.' + c.kind))} {e(self.local(c.due))} · " if c.kind else ""
        return Markup(f'  <time class="countdown {e(c.state)}"{due} data-kind="{e(c.kind or "")}">{kind}'
                      f'<span class="left">{e(self.clock_text(c))}</span>\n  </time>\n')

    def lane_item(self, o: Any, clock: Clock, unit_names: Mapping[str, str]) -> Markup:
        """An order as a line of a board lane: number (linked), category, badges, unit, status and
        its countdown (a board draws a hundred of them, an order often in two lanes)."""
        if o.number in self._lane_items:
            return self._lane_items[o.number]
        e, t = self._e, self.t
        # The unit right after the badges' line, as the template printed it (the CSS spaces them).
        unit = f'<span class="meta">{e(unit_names.get(o.unit, o.unit))}</span>' if o.unit else ""
        item = self._lane_items[o.number] = Markup(
            f'        <a href="/orders/{e(o.number)}">{e(o.number)}</a>\n'
            f'        <span class="category">{e(self.name(o.category))}</span>\n'
            f"        {self.badges(o)}\n"
            f'{unit}        <span class="status s-{e(o.status)}">{e(t("status." + o.status))}</span>\n'
            f"        {self.countdown(clock)}\n")
        return item

    def headline(self, o: Any, unit_names: Mapping[str, str]) -> Markup:
        """Number (linked), category, status; then the badges, when received, where, which unit."""
        e, t = self._e, self.t
        # Place and unit side by side, as the macro printed them (no space between: the CSS spaces them).
        place = f"<span>{e(o.district)}{e(o.street or '')}</span>" if o.district else ""
        unit = f"<span>{e(t('order.unit', unit=unit_names.get(o.unit, o.unit)))}</span>" if o.unit else ""
        return Markup(
            f'  <h3 class="headline">\n    <a href="/orders/{e(o.number)}">{e(o.number)}</a>\n'
            f'    <span class="category">{e(self.name(o.category) or t("field.unset"))}</span>\n'
            f'    <span class="status s-{e(o.status)}">{e(t("status." + o.status))}</span>\n  </h3>\n'
            f'  <p class="meta">{self.badges(o)}\n    <span class="nowrap">{e(self.local(o.received_at))}</span>\n'
            f"{place}{unit}  </p>\n")

    def move_form(self, o: Any, action: str, primary: bool = False) -> Markup:
        """One move of the loop as a small form the page's script sends to the API: moves that
        need nothing more are one button; the others open a form first."""
        e, t = self._e, self.t
        number, label = e(o.number), e(t("do." + action))
        first = " primary" if primary else ""
        if action == "reply" and o.channel == "inspection":  # a finding is answered with a photo, on its page
            return Markup(f'  <a class="button{first}" href="/inspection/findings/{number}">{e(t("do.reply"))}</a>\n')
        if action in PLAIN or (action == "close" and o.status == "visited"):
            button = ' class="primary"' if primary else ""
            return Markup(f'  <form class="move" data-number="{number}" data-action="{e(action)}">\n'
                          f'    <button type="submit"{button}>{label}</button>\n  </form>\n')
        fid = e(f"m-{action}-{o.number}")
        return Markup(
            f'  <button type="button" class="toggle{first}" aria-expanded="false" aria-controls="{fid}">{label}</button>\n'
            f'  <form class="move" id="{fid}" data-number="{number}" data-action="{e(action)}" hidden>\n'
            f"{self._fields(o, action, fid)}"
            f'    <button type="submit" class="primary">{e(t("app.submit"))}</button>\n  </form>\n')

    def unit_list(self, units: Iterable[Any]) -> Markup:
        """Every unit, for the dispatch forms' unit field to offer as it is typed in."""
        e = self._e
        options = "".join(f'<option value="{e(u.code)}">{e(u.name)}</option>' for u in units)
        return Markup(f'  <datalist id="unit-list">\n    {options}  </datalist>\n')

    def _fields(self, o: Any, action: str, fid: str) -> str:
        """What a move's form asks for (``fid`` is escaped already)."""
        e, t = self._e, self.t
        if action in ("reply", "answer"):
            return (f'      <label for="{fid}-text">{e(t("field.reply" if action == "reply" else "field.answer"))}</label>\n'
                    f'      <textarea id="{fid}-text" name="text" rows="3" required></textarea>\n')
        if action in REASONED:
            return (f'      <label for="{fid}-reason">{e(t("visits.close_reason" if action == "close" else "field.reason"))}'
                    f'</label>\n      <input id="{fid}-reason" name="reason" required>\n')
        if action == "extend":
            return (f'      <label for="{fid}-until">{e(t("field.until"))}</label>\n'
                    f'      <input id="{fid}-until" name="until" type="datetime-local" required>\n'
                    f'      <label for="{fid}-reason">{e(t("field.reason"))}</label>\n'
                    f'      <input id="{fid}-reason" name="reason" required>\n')
        if action == "milestone":
            options = "".join(f'<option value="{e(ms.code)}">{e(ms.zh if self.lang == "zh" else (ms.en or ms.zh))}</option>'
                              for ms in o.milestones if not ms.done_at)
            return (f'      <label for="{fid}-milestone">{e(t("field.milestone"))}</label>\n'
                    f'      <select id="{fid}-milestone" name="milestone" required>\n        {options}\n      </select>\n'
                    f'      <label for="{fid}-note">{e(t("field.note"))}</label>\n'
                    f'      <input id="{fid}-note" name="note">\n')
        if action == "visit":
            choices = "".join(f'        <label class="choice"><input type="radio" name="satisfaction" value="{s}" '
                              f'required> {e(t("satisfaction." + s))}</label>\n' for s in SATISFACTION)
            return f'      <fieldset>\n        <legend>{e(t("field.satisfaction"))}</legend>\n{choices}      </fieldset>\n'
        if action in ("dispatch", "redispatch"):
            return (f'      <label for="{fid}-unit">{e(t("field.unit"))}</label>\n'
                    f'      <input id="{fid}-unit" name="unit" list="unit-list" required autocomplete="off">\n')
        if action == "merge":
            return (f'      <label for="{fid}-into">{e(t("field.into"))}</label>\n'
                    f'      <input id="{fid}-into" name="into" required pattern="[0-9]{{8}}-[0-9]+">\n')
        return ""


@lru_cache(maxsize=8192)
def _printed(text: str, shown: Callable[[Any], Any]) -> str:
    return str(escape(shown(text)))
