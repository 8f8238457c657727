"""The six kinds of epidemic data (formats.md §6): their columns, keys and accepted words.

Pure data. Each column says how its text is read (``Column.parse``): ``text``,
``time`` (ISO 8601; local time without an offset), ``date``, ``word`` (one of a
few codes, any case; Chinese words only where §6 names them), ``phone``, ``id_number`` or
``groups`` (special-group codes, ``;``-separated). ``checks.py`` turns these
into one SQL statement per kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Accepted words → code, looked up after trimming and lower-casing: the codes of §6 and,
# where §6 names them, their Chinese words (results, risk levels). Nothing else is guessed
# at: "bus" might be a coach or a city bus, "诊所" a hospital or not; a value outside the
# contract is a bad row the sender sees and corrects, not a silent guess.
RESULTS = {"negative": "negative", "阴性": "negative", "positive": "positive", "阳性": "positive",
           "pending": "pending", "待出": "pending"}
TEST_KINDS = {"pcr": "pcr", "antigen": "antigen"}
STATUSES = {"present": "present", "away": "away", "moved_out": "moved_out"}
VENUE_KINDS = {kind: kind for kind in ("restaurant", "workplace", "shop", "transport", "hospital", "school", "other")}
MODES = {mode: mode for mode in ("train", "flight", "coach", "car", "ship")}
LEVELS = {"high": "high", "高": "high", "medium": "medium", "中": "medium", "low": "low", "低": "low"}
CASE_KINDS = {"confirmed": "confirmed", "asymptomatic": "asymptomatic"}

# Strictness of risk levels and of zones: a higher number is stricter.
LEVEL_ORDER = {"low": 1, "medium": 2, "high": 3}
ZONE_ORDER = {"precaution": 1, "controlled": 2, "sealed": 3}


@dataclass(frozen=True)
class Column:
    name: str
    parse: str = "text"  # text | time | date | word | phone | id_number | groups
    required: bool = False
    max_length: int = 64
    words: dict[str, str] = field(default_factory=dict)
    default: str | None = None


@dataclass(frozen=True)
class Kind:
    """One kind of file: its columns, its key, and where its rows are kept."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    store: str  # "db": the database; "facts": append-only Parquet partitions
    day_of: str | None = None  # the time column a fact's partition (local date) comes from

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _text(name: str, required: bool = False, max_length: int = 64) -> Column:
    return Column(name, "text", required, max_length)


def _word(name: str, words: dict[str, str], required: bool = False, default: str | None = None) -> Column:
    return Column(name, "word", required, words=words, default=default)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("residents", (
        _text("person_id", True), _text("name", max_length=100), Column("id_number", "id_number"),
        Column("phone", "phone"), _text("district", True), _text("street", True),
        _text("compound", True, 128), _text("building"), _text("unit", max_length=32),
        _text("room", max_length=32), _text("household_id", max_length=128), _text("grid"),
        Column("special_groups", "groups"), _word("status", STATUSES, default="present"),
    ), key=("person_id",), store="db"),
    Kind("tests", (
        _text("person_id", True), Column("sampled_at", "time", True), _word("result", RESULTS, True),
        _word("kind", TEST_KINDS, default="pcr"), _text("site", max_length=200),
    ), key=("person_id", "sampled_at", "kind"), store="facts", day_of="sampled_at"),
    Kind("scans", (
        _text("person_id", True), _text("venue_code", True), Column("scanned_at", "time", True),
        Column("left_at", "time"), _text("venue_name", max_length=200), _text("district"), _text("street"),
        _word("venue_kind", VENUE_KINDS, default="other"),
    ), key=("person_id", "venue_code", "scanned_at"), store="facts", day_of="scanned_at"),
    Kind("trips", (
        _text("person_id", True), _word("mode", MODES, True), Column("arrived_at", "time", True),
        _text("from_area", True, 200), _text("trip_no", max_length=32), Column("departed_at", "time"),
        _text("carriage", max_length=16), _text("seat", max_length=16), _text("to_area", max_length=200),
    ), key=("person_id", "mode", "trip_no", "arrived_at"), store="facts", day_of="arrived_at"),
    Kind("cases", (
        _text("person_id", True), Column("reported_at", "time", True), Column("onset_at", "time"),
        Column("sampled_at", "time"), _word("kind", CASE_KINDS, default="confirmed"),
    ), key=("person_id",), store="db"),
    Kind("risk-areas", (
        _text("area", True, 200), _word("level", LEVELS, True), Column("from", "date", True),
        Column("to", "date"),
    ), key=("area", "from"), store="db"),
)}
FACT_KINDS = tuple(name for name, kind in KINDS.items() if kind.store == "facts")


def kind_named(name: str) -> Kind:
    """The kind called ``name`` (``risk_areas`` is accepted for ``risk-areas``)."""
    found = KINDS.get(name.strip().lower().replace("_", "-"))
    if found is None:
        raise ValueError(f"unknown kind {name!r}; use one of {', '.join(KINDS)}")
    return found
