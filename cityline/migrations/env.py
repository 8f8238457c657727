"""Alembic environment: migrates the database named by the config to the models' schema."""

from alembic import context
from sqlalchemy import pool

from cityline.db import make_engine
from cityline.orders import search
from cityline.schema import metadata

config = context.config
target_metadata = metadata()


def include_name(name, type_, parent_names) -> bool:
    """The orders' text index (orders/search.py) is a side table the models cannot say (an FTS5
    table and its shadow tables on SQLite): made by its migration and the models' DDL events, and
    left out of the comparison of the database with the models."""
    return not (type_ == "table" and name and name.startswith(search.TABLE))


def made_here(object_, name, type_, reflected, compare_to) -> bool:
    """Whether the check compares ``object_`` on this database: an index spelt for another database
    (``ddl_if``, as ``orders.models.lanes_index``) is not made here, so not looked for."""
    wanted = getattr(object_, "_ddl_if", None)
    return not (type_ == "index" and not reflected and wanted is not None and wanted.dialect is not None
                and wanted.dialect != context.get_context().dialect.name)


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one; with foreign keys
            # enforced, dropping `orders` while `order_events` point at it fails (or would
            # delete them). So they are off while migrating (the pragma only works outside a
            # transaction: on the driver's connection, before any) and checked at the end.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite,
                          include_name=include_name, include_object=made_here)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
    engine.dispose()


run_migrations_online()
