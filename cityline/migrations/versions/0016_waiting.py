"""waiting: the dispatcher's queue sorted and counted from an index of the waiting orders alone

Revision ID: 0016_waiting
Revises: 0015_open_received
Create Date: 2026-12-06 23:40:00.000000

An index only; no data changes. The orders waiting for a dispatcher (received or returned: a few in
a thousand) with every column the queue filters and sorts them by, so its first page and its count
read this small index instead of every open order.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_waiting'
down_revision = '0015_open_received'
branch_labels = None
depends_on = None

WAITING_ONLY = "status IN ('received', 'returned')"


def upgrade() -> None:
    op.create_index('ix_orders_waiting', 'orders', ['status', 'kind', 'urgency', 'received_at', 'id'], unique=False,
                    sqlite_where=sa.text(WAITING_ONLY), postgresql_where=sa.text(WAITING_ONLY))


def downgrade() -> None:
    op.drop_index('ix_orders_waiting', table_name='orders')
