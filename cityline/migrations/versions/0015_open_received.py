"""open received: the city-wide open lists read the open orders newest first, not every order

Revision ID: 0015_open_received
Revises: 0014_read_indexes
Create Date: 2026-12-06 20:30:00.000000

Indexes only; no data changes. The open orders (a few in a hundred) by the time they came in, and
by urgency then that time: "open, urgent" and "open, with a special group" read the open orders
newest first (and count them) instead of every urgent order, or every open order sorted.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_open_received'
down_revision = '0014_read_indexes'
branch_labels = None
depends_on = None

OPEN_ONLY = "status IN ('accepted', 'dispatched', 'received', 'replied', 'returned', 'visited')"
OPEN = {
    'ix_orders_open_received': ['received_at'],
    'ix_orders_open_urgency_received': ['urgency', 'received_at'],
}


def upgrade() -> None:
    for name, columns in OPEN.items():
        op.create_index(name, 'orders', columns, unique=False, sqlite_where=sa.text(OPEN_ONLY),
                        postgresql_where=sa.text(OPEN_ONLY))


def downgrade() -> None:
    for name in OPEN:
        op.drop_index(name, table_name='orders')
