"""Every domain's tables, and migrating a database to the current schema."""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import Engine, MetaData

from cityline.db import Base

# Domains whose models.py defines tables. Add a domain here when it gets tables.
MODEL_MODULES = (
    "cityline.routing.models",
    "cityline.orders.models",
    "cityline.accounts.models",
    "cityline.triage.models",
    "cityline.geo.models",
    "cityline.sla.models",
    "cityline.outbox.models",
    "cityline.knowledge.models",
    "cityline.analytics.models",
    "cityline.epidemic.models",
    "cityline.idempotency.models",
    "cityline.checkpoints.models",
    "cityline.inspection.models",
    "cityline.generations",
)


def metadata() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata


def alembic_config(url: str):
    import sys

    from alembic.config import Config

    # Alembic's default stdout is sys.stdout as it was when alembic was first imported (a
    # default argument), which may be a stream closed since (a command run under a test runner).
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creates it on first use)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def create_all(engine: Engine) -> None:
    """Tables straight from the models (tests); real databases use :func:`upgrade`."""
    metadata().create_all(engine)
