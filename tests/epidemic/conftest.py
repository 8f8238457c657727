"""Fixtures for the epidemic tests: the world of ``world.py`` as files, an environment with its
own fact store, and everything imported (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityline.accounts.units import upsert_unit
from cityline.config import Settings
from cityline.db import transaction
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from cityline.geo.service import import_grids
from tests.epidemic.world import CJD, JA, MOON, SUN, write_world

ORDER = ("residents", "tests", "scans", "trips", "cases", "risk-areas")


@pytest.fixture
def world_files(tmp_path) -> dict[str, Path]:
    return write_world(tmp_path / "world")


@pytest.fixture
def env(tmp_path, vault) -> service.Env:
    return service.env_for(vault, Settings(data_dir=tmp_path / "data"))


@pytest.fixture
def loaded(sessions, env, world_files):
    """The whole world imported; returns (sessions, env)."""
    for kind in ORDER:
        report = import_file(sessions, env, kind, world_files[kind], actor="test")
        assert not report.bad, report.as_dict()
    return sessions, env


UNITS = [
    {"code": "SH", "name": "市热线", "kind": "centre"},
    {"code": "SH-JA", "name": "静安区中心", "kind": "centre", "parent_code": "SH", "district": JA},
    {"code": "SH-JA-CJD", "name": "曹家渡街道", "kind": "street_office", "parent_code": "SH-JA", "district": JA,
     "street": CJD},
    {"code": "SH-JA-SUN", "name": "阳光居委", "kind": "department", "parent_code": "SH-JA-CJD"},
]
GRIDS = [{"code": "G-SUN", "name": "阳光网格", "district": JA, "street": CJD, "unit_code": "SH-JA-SUN",
          "compounds": SUN},
         {"code": "G-MOON", "name": "月亮网格", "district": JA, "street": CJD, "unit_code": "SH-JA-GONE",
          "compounds": MOON}]


@pytest.fixture
def world(loaded):
    """The world imported, with units and grids to dispatch its work orders to: G-SUN's unit
    SH-JA-SUN; G-MOON names a unit that does not exist (→ the street office SH-JA-CJD);
    江宁路街道 has no office (→ a dispatcher)."""
    sessions, env = loaded
    with transaction(sessions) as session:
        for unit in UNITS:
            upsert_unit(session, unit)
        assert not import_grids(session, enumerate(GRIDS, start=2)).bad
    return sessions, env
