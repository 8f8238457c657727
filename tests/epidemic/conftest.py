"""Fixtures for the epidemic tests: the world of ``world.py`` as files, an environment with its
own fact store, and everything imported (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityline.config import Settings
from cityline.epidemic import service
from cityline.epidemic.importer import import_file
from tests.epidemic.world import write_world

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
