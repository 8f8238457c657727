"""Migrations build exactly the schema the models describe, on both databases."""

import os

import pytest
from alembic import command

from cityline.schema import alembic_config, upgrade
from tests.pg import create_database


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_match_the_models(database, tmp_path):
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        url = create_database(os.environ["CITYLINE_TEST_POSTGRES_URL"], "cityline_migrations")
    upgrade(url)
    command.check(alembic_config(url))  # raises when a model changed without a migration
    upgrade(url)  # a second run is a no-op
