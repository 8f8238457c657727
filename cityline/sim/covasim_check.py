"""Contact mining held to covasim's truth: the bridge's files imported into a fresh embedded
database, ``tracing.contacts`` run for every case, and the tier-1 contacts found compared
with the truth (``covasim_bridge.figures``)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cityline.config import Settings
from cityline.db import make_engine, make_sessionmaker, read_transaction
from cityline.epidemic import service, tracing
from cityline.epidemic.importer import import_file
from cityline.privacy import Vault
from cityline.schema import upgrade
from cityline.sim.covasim_bridge import FILES, KINDS_IN_ORDER, Bridge, figures

CASES_A_CALL = 16  # cases traced together: one read of their days' scans, then the rules case by case


def check(made: Bridge, folder: Path, *, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Imports the files in ``folder`` into a new database in ``folder/cityline-db`` (replaced
    when there), traces every case and returns the figures with the seconds each step took."""
    settings = Settings(data_dir=folder / "cityline-db", database_url=None, secret_key=None)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    url = settings.resolved_database_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        env = service.env_for(Vault(settings.resolved_secret_key()), settings)
        began = time.perf_counter()
        for kind in KINDS_IN_ORDER:
            report = import_file(factory, env, kind, folder / FILES[kind], actor="covasim-bridge")
            if report.bad:
                raise ValueError(f"{kind}: {len(report.bad)} rows refused, first: {report.bad[0].message}")
            say(report.summary())
        imported = time.perf_counter() - began
        by_id = {f"CV{c.agent:06d}": c.agent for c in made.cases}
        found: dict[int, set[int]] = {c.agent: set() for c in made.cases}
        began = time.perf_counter()
        with read_transaction(factory) as session:
            # by report, so the cases traced together share their days (and the scans read for them)
            cases = sorted(service.case_records(session, list(by_id)), key=lambda c: (c.reported_at, c.person_id))
            for at in range(0, len(cases), CASES_A_CALL):
                for contact in tracing.contacts(session, env, cases[at:at + CASES_A_CALL]):
                    if contact.tier == 1:
                        found[by_id[contact.case]].add(int(contact.person[2:]))
        traced = time.perf_counter() - began
    finally:
        engine.dispose()
    return figures(found, made.truth, made.infected) | {"transmissions": made.transmissions,
                                                        "import_seconds": round(imported, 1),
                                                        "trace_seconds": round(traced, 1)}
