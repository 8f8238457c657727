"""Alembic environment: migrates the database named by the config to the models' schema."""

from alembic import context
from sqlalchemy import pool

from cityline.db import make_engine
from cityline.schema import metadata

config = context.config
target_metadata = metadata()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
