"""``cityline demo``: an outbreak in a box, happening now.

Builds an embedded database — the simulated city's units, the shipped dispatch
catalogue, the 2020 outbreak (a tenth of its real volume: enough for the small
early signals to show), users for the whole city and a handler per district
centre (``build_city``) — and serves cityline on 127.0.0.1 while it finishes
beside the server (``finish``: the starter knowledge, a triage model trained on the
outbreak, the analytics export and the briefings of a few telling days, and the
epidemic data of the 2022 wave at a small scale: the 2020 outbreak had no mass
testing). A live feed (``cityline.sim.live``) keeps the outbreak going meanwhile.

Both scenarios are replayed on the real clock (``cityline.sim.timeshift``): moved
forward by whole weeks so that their peak falls in the present week and stopped at
now, so deadlines, the board, inboxes, the situation page and the briefings show
today's figures. A ``demo.json`` in the data directory remembers what was built; the
next start the same day serves it as it is, a start on a later day (or after a build
stopped before it finished) builds it again, since its outbreak would have stood still.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cityline.db import read_transaction, transaction, utcnow
from cityline.privacy import Vault
from cityline.sim.fieldwork import seed_field_work
from cityline.sim.timeshift import Replay, replay_at_peak, shift_epidemic_files
from cityline.timeutil import local_day, to_local

DEMO_PASSWORD = "cityline-demo-2020"  # printed by the demo; a local demo only
ROLE_USERS = (("operator", "operator"), ("dispatcher", "dispatcher"), ("handler", "unit_handler"),
              ("supervisor", "supervisor"), ("analyst", "analyst"), ("admin", "admin"),
              ("commander", "commander"), ("gridworker", "grid_worker"), ("inspector", "inspector"))
CITY_CENTRE = "SH"  # the simulated city's hotline centre: staff there see the whole city


@dataclass
class DemoInfo:
    scenario: str
    scale: float
    seed: int
    orders: int
    units: int
    model_version: int | None
    handler_unit: str
    supervisor_unit: str
    seconds: float
    epidemic: dict[str, int] | None = None  # rows imported by kind (older demo.json files: none)
    built_at: str | None = None  # when (ISO, UTC): the replays stop there
    weeks: int | None = None  # the 2020 outbreak moved this many weeks forward
    epidemic_weeks: int | None = None  # the 2022 wave moved this many weeks forward
    warnings: dict[str, int] | None = None  # today's zones and the orders the warnings opened
    district_handlers: dict[str, str] | None = None  # username -> district centre's code
    city_seconds: float | None = None  # of ``seconds``, until it could serve (``build_city``)
    field_work: dict[str, int] | None = None  # test sites, findings, checkpoints, vehicles (sim.fieldwork)
    finished: bool = True  # ``finish`` done (a demo stopped before is built again)

    def current(self, now: datetime) -> bool:
        """Finished, and built today (local time), so its outbreak reaches up to this morning at least."""
        return self.finished and self.built_at is not None and (
            to_local(datetime.fromisoformat(self.built_at)).date() == to_local(now).date())


def marker(data_dir: Path) -> Path:
    return data_dir / "demo.json"


def load_info(data_dir: Path) -> DemoInfo | None:
    path = marker(data_dir)
    return DemoInfo(**json.loads(path.read_text())) if path.exists() else None


DEMO_SCALE = 0.1
# The live feed's clock against the real one: 1 replays the outbreak's calls at its own (scaled) rate.
DEMO_REPLAY_SPEED = 1.0
# The 2022 wave's residents, tests, scans, trips, cases and risk areas (``cityline.sim.epidemic``):
# about 7,000 people and 170,000 tests, generated and imported in about ten seconds.
DEMO_EPIDEMIC_SCALE = 0.001
# Briefings kept in the demo's archive: the mask rush (2020-01-28), the first day of
# the sub-landlord rent-relief problem (2020-02-09, where it is flagged as emerging)
# and its fourth, and the scenario's last day.
BRIEFING_DAYS = {"2020": ("2020-01-28", "2020-02-09", "2020-02-12", "2020-03-01")}


def build(factory: sessionmaker[Session], vault: Vault, *, scenario: str = "2020", scale: float = DEMO_SCALE,
          seed: int = 1, now: datetime | None = None, say: Callable[[str], None] = print) -> DemoInfo:
    """Fill an empty database with a simulated outbreak replayed up to ``now`` (default: the
    real now), demo users, trained models, briefings and epidemic data: ``build_city``, then
    ``finish``."""
    info = build_city(factory, vault, scenario=scenario, scale=scale, seed=seed, now=now, say=say)
    finish(factory, vault, info, say)
    return info


def build_city(factory: sessionmaker[Session], vault: Vault, *, scenario: str = "2020",
               scale: float = DEMO_SCALE, seed: int = 1, now: datetime | None = None,
               say: Callable[[str], None] = print) -> DemoInfo:
    """What serving needs: units, the dispatch catalogue, the outbreak's orders up to ``now`` of
    the days that still have an order open (``serving_first``; their deadlines and timers as an
    import gives them) and the users. The other days' orders, all closed, follow in ``finish``."""
    from cityline.accounts.units import upsert_unit
    from cityline.routing import catalogue
    from cityline.sim import units_rows

    began = time.perf_counter()
    now = now or utcnow()
    replay = replay_at_peak(scenario, now)
    with transaction(factory) as session:
        units = units_rows()
        for row in units:
            upsert_unit(session, row)
        catalogue.replace_catalogue(session, catalogue.default_rows(), actor="demo", note="the shipped default")
    say(f"units: {len(units)}; dispatch catalogue: shipped default")
    first, later = serving_first(simulated_orders(scenario, scale, seed, replay))
    imported = import_orders(factory, vault, first)
    say(f"orders: {imported:,} simulated orders of the {scenario} scenario (scale {scale}) of the days "
        f"with orders still open, {_replayed(replay)}; "
        f"the {len(later):,} of earlier days follow while it serves")
    handler_unit = busiest_street_office(factory)
    district_handlers = create_demo_users(factory, handler_unit)
    seconds = round(time.perf_counter() - began, 1)
    return DemoInfo(scenario, scale, seed, imported, len(units), None, handler_unit, CITY_CENTRE,
                    seconds, built_at=now.isoformat(), weeks=replay.weeks, district_handlers=district_handlers,
                    city_seconds=seconds, finished=False)


def finish(factory: sessionmaker[Session], vault: Vault, info: DemoInfo, say: Callable[[str], None] = print) -> None:
    """What may follow while the demo already serves, filled into ``info``: the starter knowledge
    (first: embedding its articles for search by meaning takes 10–20 s), the orders of the days
    ``build_city`` left for later (``serving_first``), triage trained on the outbreak (until then the model learnt from the shipped history answers), the analytics export
    and the archived briefings, and the 2022 wave's epidemic data, both replayed up to the moment
    ``build_city`` stopped at."""
    began = time.perf_counter()
    built_at = datetime.fromisoformat(info.built_at or utcnow().isoformat())
    say(f"knowledge base: {load_starter_knowledge(factory)} published starter articles")
    replay = Replay(info.scenario, info.weeks or 0, built_at)  # build_city's
    _, later = serving_first(simulated_orders(info.scenario, info.scale, info.seed, replay))
    added = import_orders(factory, vault, later)
    info.orders += added
    say(f"orders: the {added:,} of earlier days, all closed ({info.orders:,} in all)")
    info.model_version = train_triage(factory, say)
    store_briefings(factory, briefing_days(info.scenario, replay), say)
    epidemic_replay = replay_at_peak("2022", built_at)
    info.epidemic = load_epidemic(factory, vault, say, replay=epidemic_replay, seed=info.seed)
    info.epidemic_weeks = epidemic_replay.weeks
    info.warnings = publish_epidemic_day(factory, vault, say, built_at)
    info.field_work = seed_field_work(factory, vault, info.handler_unit, built_at, seed=info.seed)
    say("field work: {sites} test sites with {findings} findings, {checkpoints} checkpoints with {vehicles} "
        "vehicles ({loops} in a closed loop, {warnings} overdue)".format(**info.field_work))
    info.seconds = round(info.seconds + time.perf_counter() - began, 1)
    info.finished = True


class Finishing:
    """``finish`` in a thread beside the server, writing ``demo.json`` when done. A daemon: stopping
    the demo meanwhile leaves it unfinished, and the next start builds it again."""

    def __init__(self, factory: sessionmaker[Session], vault: Vault, info: DemoInfo, data_dir: Path,
                 say: Callable[[str], None] = print) -> None:
        def work() -> None:
            finish(factory, vault, info, say)
            save_info(data_dir, info)
            say(f"demo finished: built in {info.seconds:.0f} s (serving after {info.city_seconds:.0f} s)")

        save_info(data_dir, info)  # unfinished: a start before it is done builds again
        self.thread = threading.Thread(target=work, daemon=True, name="demo-finish")
        self.thread.start()


def simulated_orders(scenario: str, scale: float, seed: int, replay: Replay) -> list[dict]:
    """The scenario's orders received up to the replay's moment, moved to the real calendar (the
    same ones each time: the simulator draws them from ``seed``)."""
    from cityline.sim import generate

    return list(generate(scenario=scenario, scale=scale, seed=seed, until=replay.scenario_now,
                         shift_weeks=replay.weeks))


def serving_first(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The orders of the days on which an order still open was received — what the board, the
    inboxes and today's situation show — and the rest (about half, all closed: history for
    comparisons, training and briefings). Whole days, since an order's number counts the calls
    of its day: importing a day in two parts would number its calls out of their order."""
    days = [_day(row) for row in rows]
    open_days = {day for row, day in zip(rows, days, strict=True) if not row["closed_at"]}
    first = [row for row, day in zip(rows, days, strict=True) if day in open_days]
    return first, [row for row, day in zip(rows, days, strict=True) if day not in open_days]


def _day(row: dict) -> str:
    return local_day(datetime.fromisoformat(row["received_at"]))  # as the importer numbers it


def import_orders(factory: sessionmaker[Session], vault: Vault, rows: list[dict]) -> int:
    """Import simulated orders as ``cityline orders import`` would; returns how many went in."""
    from cityline.intake.importer import import_rows

    report = import_rows(factory, enumerate(rows, start=1), vault=vault)
    if report.bad:
        raise RuntimeError(f"simulated rows were refused: {report.bad[:3]}")
    return report.imported


def _replayed(replay: Replay) -> str:
    return (f"moved {replay.weeks} weeks forward: {replay.scenario_now:%Y-%m-%d %H:%M} of the scenario is now "
            f"({to_local(replay.now):%Y-%m-%d %H:%M})")


def briefing_days(scenario: str, replay: Replay) -> tuple[date, ...]:
    """The telling days of the scenario that the replay has reached, on the real calendar, and
    yesterday (the morning run's briefing)."""
    reached = [replay.real_day(date.fromisoformat(day)) for day in BRIEFING_DAYS.get(scenario, ())
               if date.fromisoformat(day) < replay.scenario_now.date()]
    yesterday = to_local(replay.now).date() - timedelta(days=1)
    return tuple(sorted({*reached, yesterday}))


def load_epidemic(factory: sessionmaker[Session], vault: Vault, say: Callable[[str], None], *,
                  replay: Replay, scale: float = DEMO_EPIDEMIC_SCALE, seed: int = 1) -> dict[str, int]:
    """Generate the 2022 wave's epidemic files up to the replay's moment, move them to the real
    calendar and import them as ``cityline epidemic import`` would, so the epidemic figures and
    pages have data; returns the rows imported by kind."""
    import tempfile

    from cityline.epidemic import service
    from cityline.epidemic.importer import import_file
    from cityline.sim.epidemic import KINDS_IN_ORDER, write_epidemic

    began = time.perf_counter()
    env = service.env_for(vault)
    imported: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="cityline-demo-epidemic-") as folder:
        files = shift_epidemic_files(write_epidemic(folder, "2022", scale=scale, seed=seed,
                                                    end=replay.scenario_now.date()), replay)
        register_grids(factory, files["residents"][0])
        for kind in KINDS_IN_ORDER:
            report = import_file(factory, env, kind, files[kind][0], actor="demo")
            if report.bad:
                raise RuntimeError(f"simulated {kind} rows were refused: {report.as_dict()['bad_rows'][:3]}")
            imported[kind] = report.added
    say(f"epidemic data of the 2022 wave (scale {scale}), {_replayed(replay)}: "
        + ", ".join(f"{count:,} {kind}" for kind, count in imported.items())
        + f" in {time.perf_counter() - began:.0f} s")
    return imported


def publish_epidemic_day(factory: sessionmaker[Session], vault: Vault, say: Callable[[str], None],
                         now: datetime) -> dict[str, int]:
    """What the command does each morning with the day's data: publish today's zones (new orders
    inside them are marked) and turn the cases, their close contacts and the risk-area arrivals
    into tracing orders on the hour chain and control tasks (``epidemic.warnings``)."""
    from cityline.epidemic import service
    from cityline.epidemic.warnings import run_warnings

    began = time.perf_counter()
    env = service.env_for(vault)
    today = to_local(now).date()
    with transaction(factory) as session:
        zones = service.compute_zones(session, env, today)
        service.save_zones(session, today, zones, now)
        report = run_warnings(session, env, today, actor="demo", now=now, vault=vault).as_dict()
    made = {"zones": len(zones), "tracing": report["tracing"]["created"], "contacts": report["contact"]["created"],
            "arrivals": report["arrival"]["created"]}
    say(f"today's zones published and warnings opened: {made['zones']} zones, {made['tracing']} tracing orders, "
        f"{made['contacts']} contact and {made['arrivals']} arrival tasks in {time.perf_counter() - began:.0f} s")
    return made


def register_grids(factory: sessionmaker[Session], residents_csv: Path) -> None:
    """The simulated ledger's grids (``<street office>-G01`` …) as grids of their street office,
    with the compounds they cover, so a grid worker of that office sees their residents."""
    import pyarrow.csv as pacsv

    from cityline.geo.service import import_grids

    ledger = pacsv.read_csv(residents_csv).select(["grid", "district", "street", "compound"])
    grids: dict[str, dict] = {}
    for grid, district, street, compound in zip(*(ledger[c].to_pylist() for c in ledger.column_names),
                                                strict=True):
        if grid:
            entry = grids.setdefault(grid, {"code": grid, "name": f"{street}{grid.rsplit('-', 1)[1]}网格",
                                            "district": district, "street": street,
                                            "unit_code": grid.rsplit("-", 1)[0], "compounds": []})
            if compound not in entry["compounds"]:
                entry["compounds"].append(compound)
    with transaction(factory) as session:
        report = import_grids(session, enumerate(grids.values(), start=1))
    if report.bad:
        raise RuntimeError(f"simulated grids were refused: {report.bad[:3]}")


def load_starter_knowledge(factory: sessionmaker[Session]) -> int:
    from cityline.db import utcnow
    from cityline.knowledge.files import import_records, read_records
    from cityline.knowledge.search import STARTER

    with transaction(factory) as session:
        return import_records(session, read_records(STARTER), actor="demo", now=utcnow()).published


def train_triage(factory: sessionmaker[Session], say: Callable[[str], None]) -> int | None:
    """Learn from the simulated history, behind the triage quality gate (``triage/gate.py``).

    Two models are trained — on the shipped, guideline-labelled history, then
    on it plus a sample of the simulated orders — and each is judged against
    the one in use on the same held-back fifth of the shipped history (never
    learnt from). Both are stored; the second takes over only if it does at
    least as well, because simulated labels are looser than the guidelines and
    can make a model worse.
    """
    import random

    from cityline.triage import gate
    from cityline.triage.history import shipped_records
    from cityline.triage.service import active_version, training_records

    with read_transaction(factory) as session:  # a long read: writers (the server beside it) must not wait
        history = training_records(session)
    if len(history) < 20:
        return None
    shipped = list(shipped_records())
    judge = gate.held_back(shipped)
    sample = random.Random(1).sample(history, min(2000, len(history)))
    for name, records in (("shipped history only", shipped), ("shipped + simulated history", [*shipped, *sample])):
        outcome = gate.train_behind_gate(factory, records, judge, metrics={"source": f"demo: {name}"})
        say(f"triage: {outcome.summary()} — {name}, judged on {outcome.judged_on} held-back "
            "guideline-labelled orders")
    with transaction(factory) as session:
        active = active_version(session)
        version = active.version if active else None
    if version is None:
        say("triage: no trained model passed the gate; the model learnt from the shipped history is in use")
    else:
        say(f"triage: model-{version} is active; `cityline triage models` lists both, `cityline triage activate` "
            "switches")
    return version


def store_briefings(factory: sessionmaker[Session], days: tuple[date, ...],
                    say: Callable[[str], None]) -> None:
    """Export the orders for analytics (so the first situation page is quick) and keep
    the briefings of ``days`` in the archive, as the morning run would have."""
    from cityline.analytics import service

    say(service.refresh(factory).summary())
    for day in days:
        service.generate(factory, day, store=True)
    if days:
        say(f"briefings: {', '.join(map(str, days))} in the archive")


def busiest_street_office(factory: sessionmaker[Session]) -> str:
    """The street office with most orders of those imported before serving (the weeks that
    still have open ones, so the most live work): the demo handler's."""
    from cityline.orders.queries import busiest_unit

    with factory() as session:
        return busiest_unit(session, "street_office").code


def create_demo_users(factory: sessionmaker[Session], handler_unit: str) -> dict[str, str]:
    """A user per role — the handler and the grid worker at ``handler_unit``, everyone else at the
    city centre (the whole city) — and a handler per district centre (``handler-ja`` for 静安区's,
    who sees its street offices' orders too); returns the district handlers' units."""
    from sqlalchemy import select

    from cityline.accounts.models import Unit
    from cityline.accounts.service import create_user, hash_password

    # The grid worker looks after the grids of the handler's street office (see register_grids).
    units = {"handler": handler_unit, "gridworker": handler_unit}
    hashed = hash_password(DEMO_PASSWORD)  # one password for all: hashed once, not 24 times (7 s)
    with transaction(factory) as session:
        for username, role in ROLE_USERS:
            create_user(session, username, DEMO_PASSWORD, [role], unit=units.get(username, CITY_CENTRE),
                        actor="demo", password_hash=hashed)
        centres = session.execute(select(Unit.code, Unit.name)
                                  .where(Unit.kind == "centre", Unit.parent_id.is_not(None))
                                  .order_by(Unit.code)).all()
        handlers = {}
        for code, name in centres:
            username = f"handler-{code.lower()}"
            create_user(session, username, DEMO_PASSWORD, ["unit_handler"], unit=code, actor="demo",
                        display_name=f"{name}处置员", password_hash=hashed)
            handlers[username] = code
    return handlers


# What a build writes into the data directory (the key, secret.key, stays: it protects
# the phone numbers of anything else kept there).
BUILT = ("cityline.db", "cityline.db-wal", "cityline.db-shm", "demo.json", "outbox.log", "analytics", "epidemic")


def clear(data_dir: Path) -> None:
    """Remove an earlier build, so the next one starts from an empty database."""
    for name in BUILT:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


class Feed:
    """The live feed (``cityline.sim.live``) in a thread of the demo's process, from now on: the
    scenario's calls at ``speed`` times its (scaled) rate, and its dispatcher, units and
    return-visit operator at work."""

    def __init__(self, factory: sessionmaker[Session], vault: Vault, info: DemoInfo, speed: float) -> None:
        from cityline.sim.live import LiveFeed, run

        now = utcnow()
        # The scenario time the real now stands for: the feed picks up the outbreak where it is now.
        scenario_start = Replay(info.scenario, info.weeks or 0, now).scenario_now
        self.feed = LiveFeed(factory, vault, scenario=info.scenario, scale=info.scale, seed=info.seed,
                             scenario_start=scenario_start, started=now, speed=speed)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=run, args=(self.feed, self.stopping, utcnow), daemon=True,
                                       name="demo-live-feed")
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def save_info(data_dir: Path, info: DemoInfo) -> None:
    marker(data_dir).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))


def welcome(info: DemoInfo, host: str, port: int) -> str:
    users = "\n".join(f"    {name:<11} {role}" for name, role in ROLE_USERS)
    return f"""
cityline demo — the {info.scenario} outbreak at scale {info.scale}: {info.orders:,} orders, {info.units} units,
  {_clock_line(info)}
  console:   http://{host}:{port}/
  API docs:  http://{host}:{port}/docs
  sign in with any of these users, password {DEMO_PASSWORD}:
{users}
  (handler and gridworker work for street office {info.handler_unit}; the others for the whole city;
   the inspector patrols test sites: /inspection/patrol; road checkpoints: /checkpoints)
{_district_lines(info)}  the same database answers the command line: .venv/bin/cityline orders list --category EPI.MASK
{_epidemic_line(info)}"""


def _clock_line(info: DemoInfo) -> str:
    if info.weeks is None:
        return "on its own dates (built before the demo ran on the real clock)"
    return f"moved {info.weeks} weeks forward so that its peak is this week, up to the moment it was built"


def _district_lines(info: DemoInfo) -> str:
    if not info.district_handlers:
        return ""
    names = " ".join(info.district_handlers)
    return ("  a handler per district centre (its street offices' orders too), same password:\n"
            + "".join(f"    {line}\n" for line in textwrap.wrap(names, 96, break_on_hyphens=False)))


def _epidemic_line(info: DemoInfo) -> str:
    if not info.epidemic:
        return ""
    day = to_local(datetime.fromisoformat(info.built_at)).date() if info.built_at else date(2022, 4, 13)
    return (f"  epidemic data of the 2022 wave: {info.epidemic.get('residents', 0):,} residents, "
            f"{info.epidemic.get('tests', 0):,} tests, {info.epidemic.get('cases', 0):,} cases —\n"
            f"    .venv/bin/cityline epidemic zones --date {day}\n")
