"""order_search: the orders' text index (bigrams of each order's text and address)

Revision ID: 0018_order_search
Revises: 0017_open_special
Create Date: 2026-12-07 05:30:00.000000

A side table keyed by the order's id (orders/search.py): on SQLite a contentless FTS5 table, on
PostgreSQL (order_id, terms tsvector) with a GIN index. Every order stored is indexed, in
batches of 20,000 by id; PostgreSQL's GIN index is built after them, once (a store of 1 M orders:
about 3 min on SQLite, 2 min on PostgreSQL, on two busy cores; the SQLite file grows by ~85 MB). No
other table changes; down drops the side table (searches read every order again, by LIKE).
"""
from alembic import op

from cityline.orders import search


revision = '0018_order_search'
down_revision = '0017_open_special'
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    table, *indexes = search.create_statements(connection.dialect.name)
    connection.exec_driver_sql(table)
    search.backfill(connection)
    for statement in indexes:
        connection.exec_driver_sql(statement)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(f"DROP TABLE {search.TABLE}")
