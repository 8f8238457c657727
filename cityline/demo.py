"""``cityline demo``: an outbreak in a box.

Builds an embedded database once — the simulated city's units, the shipped
dispatch catalogue, the 2020 outbreak (a tenth of its real volume: enough for
the small early signals to show, ready in about a minute), a triage model
trained on it, one user per role, the analytics export and the briefings of
a few telling days, and the epidemic data of the 2022 wave at a small scale (the
2020 outbreak had no mass testing) — then serves cityline on
127.0.0.1. A ``demo.json`` in the data directory remembers what was built, so
the next start skips straight to serving.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cityline.db import transaction
from cityline.privacy import Vault

DEMO_PASSWORD = "cityline-demo-2020"  # printed by the demo; a local demo only
ROLE_USERS = (("operator", "operator"), ("dispatcher", "dispatcher"), ("handler", "unit_handler"),
              ("supervisor", "supervisor"), ("analyst", "analyst"), ("admin", "admin"),
              ("commander", "commander"), ("gridworker", "grid_worker"))


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


def marker(data_dir: Path) -> Path:
    return data_dir / "demo.json"


def load_info(data_dir: Path) -> DemoInfo | None:
    path = marker(data_dir)
    return DemoInfo(**json.loads(path.read_text())) if path.exists() else None


DEMO_SCALE = 0.1
# The 2022 wave's residents, tests, scans, trips, cases and risk areas (``cityline.sim.epidemic``):
# about 7,000 people and 170,000 tests, generated and imported in about ten seconds.
DEMO_EPIDEMIC_SCALE = 0.001
# Briefings kept in the demo's archive: the mask rush (2020-01-28), the first day of
# the sub-landlord rent-relief problem (2020-02-09, where it is flagged as emerging)
# and its fourth, and the scenario's last day.
BRIEFING_DAYS = {"2020": ("2020-01-28", "2020-02-09", "2020-02-12", "2020-03-01")}


def build(factory: sessionmaker[Session], vault: Vault, *, scenario: str = "2020", scale: float = DEMO_SCALE,
          seed: int = 1, say: Callable[[str], None] = print) -> DemoInfo:
    """Fill an empty database with a simulated outbreak, a trained model and demo users."""
    from cityline.accounts.units import upsert_unit
    from cityline.intake.importer import import_rows
    from cityline.routing import catalogue
    from cityline.sim import generate, units_rows

    began = time.perf_counter()
    with transaction(factory) as session:
        units = units_rows()
        for row in units:
            upsert_unit(session, row)
        catalogue.replace_catalogue(session, catalogue.default_rows(), actor="demo", note="the shipped default")
    say(f"units: {len(units)}; dispatch catalogue: shipped default")
    rows = enumerate(generate(scenario=scenario, scale=scale, seed=seed), start=1)
    report = import_rows(factory, rows, vault=vault)
    if report.bad:
        raise RuntimeError(f"simulated rows were refused: {report.bad[:3]}")
    say(f"orders: {report.imported:,} simulated orders of the {scenario} scenario (scale {scale})")
    articles = load_starter_knowledge(factory)
    say(f"knowledge base: {articles} published starter articles")
    version = train_triage(factory, say)
    handler_unit, supervisor_unit = busiest_street_office(factory)
    create_demo_users(factory, handler_unit, supervisor_unit)
    store_briefings(factory, BRIEFING_DAYS.get(scenario, ()), say)
    epidemic = load_epidemic(factory, vault, say, seed=seed)
    return DemoInfo(scenario, scale, seed, report.imported, len(units), version, handler_unit, supervisor_unit,
                    round(time.perf_counter() - began, 1), epidemic)


def load_epidemic(factory: sessionmaker[Session], vault: Vault, say: Callable[[str], None], *,
                  scale: float = DEMO_EPIDEMIC_SCALE, seed: int = 1) -> dict[str, int]:
    """Generate the 2022 wave's epidemic files and import them as ``cityline epidemic import``
    would, so the epidemic figures and pages have data; returns the rows imported by kind."""
    import tempfile

    from cityline.epidemic import service
    from cityline.epidemic.importer import import_file
    from cityline.sim.epidemic import KINDS_IN_ORDER, write_epidemic

    began = time.perf_counter()
    env = service.env_for(vault)
    imported: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="cityline-demo-epidemic-") as folder:
        files = write_epidemic(folder, "2022", scale=scale, seed=seed)
        register_grids(factory, files["residents"][0])
        for kind in KINDS_IN_ORDER:
            report = import_file(factory, env, kind, files[kind][0], actor="demo")
            if report.bad:
                raise RuntimeError(f"simulated {kind} rows were refused: {report.as_dict()['bad_rows'][:3]}")
            imported[kind] = report.added
    say(f"epidemic data of the 2022 wave (scale {scale}): "
        + ", ".join(f"{count:,} {kind}" for kind, count in imported.items())
        + f" in {time.perf_counter() - began:.0f} s")
    return imported


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

    with transaction(factory) as session:
        return import_records(session, read_records(starter_folder()), actor="demo", now=utcnow()).published


def starter_folder() -> Path:
    from importlib import resources

    return Path(str(resources.files("cityline.knowledge").joinpath("data")))


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

    with transaction(factory) as session:
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


def store_briefings(factory: sessionmaker[Session], days: tuple[str, ...],
                    say: Callable[[str], None]) -> None:
    """Export the orders for analytics (so the first situation page is quick) and keep
    the briefings of ``days`` in the archive, as the morning run would have."""
    from datetime import date

    from cityline.analytics import service

    say(service.refresh(factory).summary())
    for day in days:
        service.generate(factory, date.fromisoformat(day), store=True)
    if days:
        say(f"briefings: {', '.join(days)} in the archive")


def busiest_street_office(factory: sessionmaker[Session]) -> tuple[str, str]:
    """The street office with most orders (the demo handler's), and its district centre."""
    from cityline.accounts.models import Unit
    from cityline.orders.queries import busiest_unit

    with factory() as session:
        unit = busiest_unit(session, "street_office")
        parent = session.get(Unit, unit.parent_id)
        return unit.code, parent.code if parent else unit.code


def create_demo_users(factory: sessionmaker[Session], handler_unit: str, supervisor_unit: str) -> None:
    from cityline.accounts.service import create_user

    # The grid worker looks after the grids of the handler's street office (see register_grids).
    units = {"handler": handler_unit, "supervisor": supervisor_unit, "gridworker": handler_unit}
    with transaction(factory) as session:
        for username, role in ROLE_USERS:
            create_user(session, username, DEMO_PASSWORD, [role], unit=units.get(username), actor="demo")


def save_info(data_dir: Path, info: DemoInfo) -> None:
    marker(data_dir).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))


def welcome(info: DemoInfo, host: str, port: int) -> str:
    users = "\n".join(f"    {name:<11} {role}" for name, role in ROLE_USERS)
    return f"""
cityline demo — the {info.scenario} outbreak at scale {info.scale}: {info.orders:,} orders, {info.units} units
  console:   http://{host}:{port}/
  API docs:  http://{host}:{port}/docs
  sign in with any of these users, password {DEMO_PASSWORD}:
{users}
  (handler and gridworker work for unit {info.handler_unit}; supervisor for {info.supervisor_unit})
  the same database answers the command line: .venv/bin/cityline orders list --category EPI.MASK
{_epidemic_line(info)}"""


def _epidemic_line(info: DemoInfo) -> str:
    if not info.epidemic:
        return ""
    return (f"  epidemic data of the 2022 wave: {info.epidemic.get('residents', 0):,} residents, "
            f"{info.epidemic.get('tests', 0):,} tests, {info.epidemic.get('cases', 0):,} cases —\n"
            "    .venv/bin/cityline epidemic zones --date 2022-04-13\n")
