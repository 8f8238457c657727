"""Order texts assembled from phrase pieces, a whole day at a time.

Every text names its problem in the words an analyst would cluster on (the pieces
of one problem share its vocabulary), while the frame around it varies: an
operator's write-up ("市民来电反映：…诉求：…"), a caller's own words with greetings
and fillers, a typed web message, a one-line note, or a long complaint; some callers
speak Shanghainese and some texts carry typing slips.

Speed comes from doing the choosing with numpy: the pieces of all problems sit in
flat object arrays, each order's pieces are picked with one fancy-indexing call per
slot, and Python only joins the chosen pieces of each order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np

from cityline.sim.catalogue import phrases, problems

STYLES = ("short", "operator", "caller", "written", "long")
KINDS = ("consult", "help", "complaint", "report", "suggestion", "praise")
GROUPS = ("elderly", "pregnant", "child", "disabled", "serious_illness")
RANDOM_COLUMNS = 12  # random integers each text may use
PLACE = "{place}"


def objects(values: Sequence[object]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


@dataclass(frozen=True)
class Table:
    """Pieces of many keys (problems, or problem x kind) in one flat array."""

    flat: np.ndarray
    offset: np.ndarray
    count: np.ndarray

    @classmethod
    def build(cls, options: Sequence[Sequence[str]]) -> Table:
        options = [tuple(o) or ("",) for o in options]
        counts = np.array([len(o) for o in options])
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return cls(objects([piece for o in options for piece in o]), offsets, counts)

    def index(self, key: np.ndarray, number: np.ndarray) -> np.ndarray:
        return self.offset[key] + number % self.count[key]

    def pick(self, key: np.ndarray, number: np.ndarray) -> np.ndarray:
        return self.flat[self.index(key, number)]


@dataclass(frozen=True)
class Split:
    """Pieces that may hold "{place}", kept as the text before and after it."""

    before: np.ndarray
    after: np.ndarray
    marked: np.ndarray  # bool: the piece names a place

    @classmethod
    def of(cls, table: Table) -> Split:
        parts = [piece.split(PLACE, 1) for piece in table.flat]
        return cls(objects([p[0] for p in parts]), objects([p[1] if len(p) > 1 else "" for p in parts]),
                   np.array([len(p) > 1 for p in parts]))

    def columns(self, at: np.ndarray, place: np.ndarray) -> list[np.ndarray]:
        return [self.before[at], np.where(self.marked[at], place, ""), self.after[at]]


@dataclass(frozen=True)
class Pieces:
    short: Table
    summary: Table
    summary_split: Split
    caller: Table
    caller_split: Split
    detail: Table
    urgent: Table
    asks: Table  # key: problem * len(KINDS) + kind
    frames: dict[str, np.ndarray]
    groups: list[np.ndarray]  # per group in GROUPS: a caller's phrases
    groups_operator: list[np.ndarray]
    dialect: tuple[tuple[str, str], ...]
    typos: tuple[tuple[str, str], ...]


@lru_cache(maxsize=1)
def pieces() -> Pieces:
    data = phrases()
    catalogue = problems()
    generic = data["asks"]
    summary = Table.build([p.summary for p in catalogue])
    caller = Table.build([p.caller for p in catalogue])
    return Pieces(
        short=Table.build([p.short for p in catalogue]),
        summary=summary,
        summary_split=Split.of(summary),
        caller=caller,
        caller_split=Split.of(caller),
        detail=Table.build([p.detail for p in catalogue]),
        urgent=Table.build([p.urgent or data["urgent_cues"] for p in catalogue]),
        asks=Table.build([p.asks.get(kind) or generic[kind] for p in catalogue for kind in KINDS]),
        frames={key: objects(value) for key, value in data.items() if isinstance(value, list)
                and key not in ("dialect", "typos")},
        groups=[objects(data["groups"][g]) for g in GROUPS],
        groups_operator=[objects(data["groups_operator"][g]) for g in GROUPS],
        dialect=tuple((a, b) for a, b in data["dialect"]),
        typos=tuple((a, b) for a, b in data["typos"]),
    )


def _frame(name: str, number: np.ndarray) -> np.ndarray:
    options = pieces().frames[name]
    return options[number % len(options)]


def join_pieces(columns: list) -> list[str]:
    """Join each order's pieces; a plain string in ``columns`` is the same for every order."""
    # repeat() is endless, so zip may not be strict: the arrays set the length
    streams = (repeat(c) if isinstance(c, str) else c for c in columns)
    return list(map("".join, zip(*streams, strict=False)))


def _who(groups: np.ndarray, number: np.ndarray, phrases_by_group: list[np.ndarray]) -> np.ndarray:
    who = np.full(len(groups), "", dtype=object)
    for bit, options in enumerate(phrases_by_group):
        has = (groups >> bit & 1).astype(bool)
        if has.any():
            who = np.where(has, who + options[number % len(options)], who)
    return who


def assemble_texts(problem: np.ndarray, kind: np.ndarray, urgent: np.ndarray,
                   groups: np.ndarray, style: np.ndarray, dialect: np.ndarray,
                   typo: np.ndarray, r: np.ndarray, place: np.ndarray) -> np.ndarray:
    """The texts of a day's orders (all arrays have one entry per order; ``r`` has
    :data:`RANDOM_COLUMNS` random integers per order)."""
    kit = pieces()
    texts = np.empty(len(problem), dtype=object)
    for code, build in (("short", _short), ("operator", _operator), ("caller", _spoken),
                        ("written", _written), ("long", _spoken)):
        rows = np.flatnonzero(style == STYLES.index(code))
        if len(rows):
            texts[rows] = build(kit, problem[rows], kind[rows], urgent[rows], groups[rows],
                                dialect[rows], r[rows], place[rows], code == "long")
    for row in np.flatnonzero(dialect):
        texts[row] = speak_dialect(texts[row], int(r[row, 7]))
    for row in np.flatnonzero(typo):
        texts[row] = add_typo(texts[row], int(r[row, 11]))
    return texts


def _short(kit: Pieces, p, kind, urgent, groups, dialect, r, place, long) -> list[str]:
    return kit.short.pick(p, r[:, 0]).tolist()


def _ask(kit: Pieces, p: np.ndarray, kind: np.ndarray, r: np.ndarray) -> np.ndarray:
    return kit.asks.pick(p * len(KINDS) + kind, r[:, 1])


def _operator(kit: Pieces, p, kind, urgent, groups, dialect, r, place, long) -> list[str]:
    detail = kit.detail.pick(p, r[:, 3])
    extra = np.where((detail != "") & (r[:, 7] % 2 == 1), "，" + detail, "")
    cue = np.where(urgent, "来电人称" + kit.urgent.pick(p, r[:, 2]) + "，", "")
    note = np.where(r[:, 6] % 5 == 0, _frame("operator_notes", r[:, 6]), "")
    body = kit.summary_split.columns(kit.summary.index(p, r[:, 5]), place)
    return join_pieces([_frame("operator_openers", r[:, 8]), _who(groups, r[:, 4], kit.groups_operator),
                  *body, extra, "。", cue, _frame("operator_asks", r[:, 9]), _ask(kit, p, kind, r),
                  "。", note])


def _written(kit: Pieces, p, kind, urgent, groups, dialect, r, place, long) -> list[str]:
    detail = kit.detail.pick(p, r[:, 3])
    tail = np.where((detail != "") & (r[:, 7] % 3 > 0), "，" + detail, "")
    vent = np.where(r[:, 10] % 4 == 0, _frame("complaint_fillers", r[:, 10]) + "。", "")
    cue = np.where(urgent, kit.urgent.pick(p, r[:, 2]) + "，", "")
    said = kit.caller_split.columns(kit.caller.index(p, r[:, 5]), place)
    return join_pieces([_frame("written_openers", r[:, 8]), _who(groups, r[:, 4], kit.groups), *said,
                  tail, "。", vent, cue, _ask(kit, p, kind, r), "。"])


def _spoken(kit: Pieces, p, kind, urgent, groups, dialect, r, place, long) -> list[str]:
    """A caller's own words, taken down as said (``long``: a drawn-out complaint)."""
    def plain_or_dialect(name: str, column: int) -> np.ndarray:
        return np.where(dialect, _frame(name + "_dialect", r[:, column]), _frame(name, r[:, column]))

    detail = kit.detail.pick(p, r[:, 3])
    filler = np.where(r[:, 6] % 3 == 0, plain_or_dialect("fillers", 6), "")
    middle = np.where(detail != "", "，" + filler + detail, "")
    cue = np.where(urgent, kit.urgent.pick(p, r[:, 2]) + "，", "")
    said = kit.caller_split.columns(kit.caller.index(p, r[:, 5]), place)
    columns = [plain_or_dialect("greetings", 8), _who(groups, r[:, 4], kit.groups), *said,
               middle, "，", cue, _ask(kit, p, kind, r), "。"]
    if long:
        # the second detail and the retold complaint differ from the first ones
        recap = kit.caller_split.columns(kit.caller.index(p, r[:, 5] + 1), place)
        columns += [_frame("long_story", r[:, 10] // 3), "。", kit.detail.pick(p, r[:, 3] + 1),
                    "。", _frame("complaint_fillers", r[:, 10]), "，", _frame("long_story", r[:, 6]),
                    "。", _frame("complaint_fillers", r[:, 11]), "。", *recap, "。",
                    _ask(kit, p, kind, r // 11), "。"]
    return join_pieces([*columns, plain_or_dialect("closers", 9)])


def speak_dialect(text: str, number: int) -> str:
    """Swap a few plain words for Shanghainese ones (which ones depends on ``number``)."""
    pairs = pieces().dialect
    for step in range(3):
        plain, spoken = pairs[(number + step * 3) % len(pairs)]
        text = text.replace(plain, spoken)
    return text


def add_typo(text: str, number: int) -> str:
    """Introduce one typing slip, if the text has a word the slips table knows."""
    pairs = pieces().typos
    for step in range(len(pairs)):
        correct, slip = pairs[(number + step) % len(pairs)]
        if correct in text:
            return text.replace(correct, slip, 1)
    return text
