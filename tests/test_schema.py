"""Migrations build exactly the schema the models describe, on both databases."""


import pytest
from alembic import command

from cityline.schema import alembic_config, upgrade
from tests.pg import fresh_database


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_match_the_models(database, tmp_path):
    url = fresh_database(database, tmp_path, "cityline_migrations")
    upgrade(url)
    command.check(alembic_config(url))  # raises when a model changed without a migration
    upgrade(url)  # a second run is a no-op
