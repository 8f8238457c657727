"""The database of a running cityline, brought to the current schema once per process."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from cityline.config import get_settings
from cityline.db import default_sessionmaker


@lru_cache
def sessions() -> sessionmaker[Session]:
    """Sessions on the configured database, brought to the current schema once per process."""
    from cityline.schema import upgrade

    upgrade(get_settings().resolved_database_url())
    return default_sessionmaker()
