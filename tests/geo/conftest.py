"""A throwaway SQLite database for the geo tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from cityline.db import Base, make_engine, make_sessionmaker
from cityline.geo.models import Grid  # noqa: F401  (registers the table)


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'geo.db'}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        yield session
        session.rollback()
    engine.dispose()
