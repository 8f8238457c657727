"""Analytics fixtures: the simulated 2020 outbreak as analytics exports (cached on disk,
see ``simdata.py``), and small order stores on SQLite and PostgreSQL for the store path."""

from __future__ import annotations

from datetime import date

import pytest

from cityline.accounts.units import upsert_unit
from cityline.db import transaction
from cityline.intake.importer import import_rows
from cityline.sim import generate, units_rows
from tests.analytics.simdata import SimData, sim_export

SMALL_SCALE = 0.02  # a fifth of the demo's volume (cityline demo is 0.1): quick tests
# From five weeks before the quiet weeks (the detection methods' history) to late February,
# and the same weeks a year earlier for the year-on-year comparison.
SMALL_RANGES = ((date(2019, 10, 28), date(2020, 2, 25)), (date(2019, 1, 21), date(2019, 2, 3)))
QUIET_RANGES = ((date(2019, 10, 28), date(2020, 1, 19)),)
CITY_SCALE = 0.1
CITY_RANGES = ((date(2020, 1, 4), date(2020, 2, 12)),)
STORE_SCALE = 0.01  # about 200 orders a day: enough for every figure, quick to import


@pytest.fixture(scope="session")
def small_city() -> SimData:
    """A small city: the 2020 scenario at scale 0.02, seed 1."""
    return sim_export(SMALL_SCALE, 1, SMALL_RANGES)


@pytest.fixture(scope="session")
def small_city_other_seed() -> SimData:
    """The quiet weeks again with another seed: other random days, same city."""
    return sim_export(SMALL_SCALE, 2, QUIET_RANGES)


@pytest.fixture(scope="session")
def city() -> SimData:
    """Five weeks before the sub-landlord problem to three days after it, at the demo's scale (a tenth)."""
    return sim_export(CITY_SCALE, 1, CITY_RANGES)


def load_store(factory, vault, first: date, last: date, scale: float = STORE_SCALE) -> int:
    """Units and the simulated orders of a few days, through the real importer."""
    with transaction(factory) as session:
        for row in units_rows():
            upsert_unit(session, row)
    rows = generate("2020", scale=scale, seed=1, start=first, end=last)
    report = import_rows(factory, enumerate(rows, 1), vault=vault)
    assert not report.bad, report.bad[:3]
    return report.imported


@pytest.fixture
def store(sessions, vault):
    """SQLite, then PostgreSQL: units and two days of simulated orders around the mask queues
    (the 2020 scenario at a tenth of the demo's scale)."""
    load_store(sessions, vault, date(2020, 1, 27), date(2020, 1, 28))
    return sessions
