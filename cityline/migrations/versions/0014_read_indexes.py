"""read indexes: the console's lists, queue, inbox and board read only what they show

Revision ID: 0014_read_indexes
Revises: 0013_cache_generations
Create Date: 2026-12-06 17:10:00.000000

Indexes only; no data changes. Each list filter gets an index ending in the time the list is
sorted by; the board's open orders (a few in a hundred) partial indexes by deadline, city-wide,
by unit and by place; and the time an extension was asked for its own. Four single-column indexes become the first column of a new one and are dropped (every
insert of an order paid for them): category, urgency, district and status.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_read_indexes'
down_revision = '0013_cache_generations'
branch_labels = None
depends_on = None

NEW = {
    'ix_orders_category_received': ['category', 'received_at'],
    'ix_orders_urgency_received': ['urgency', 'received_at'],
    'ix_orders_channel_received': ['channel', 'received_at'],
    'ix_orders_language_received': ['language', 'received_at'],
    'ix_orders_unit_received': ['unit_id', 'received_at'],
    'ix_orders_place_received': ['district', 'street', 'received_at'],
    'ix_orders_extension_requested': ['extension_requested'],
    'ix_orders_status_kind': ['status', 'kind'],
}
# Of the open orders only (a few in a hundred): the board's deadlines, city-wide, by unit, by place.
OPEN_ONLY = "status IN ('accepted', 'dispatched', 'received', 'replied', 'returned', 'visited')"
OPEN = {
    'ix_orders_open_due': ['resolve_by'],
    'ix_orders_open_unit_due': ['unit_id', 'resolve_by'],
    'ix_orders_open_place_due': ['district', 'street', 'resolve_by'],
}
REPLACED = {'ix_orders_category': ['category'], 'ix_orders_urgency': ['urgency'], 'ix_orders_district': ['district'],
            'ix_orders_status': ['status']}


def upgrade() -> None:
    for name, columns in NEW.items():
        op.create_index(name, 'orders', columns, unique=False)
    for name, columns in OPEN.items():
        op.create_index(name, 'orders', columns, unique=False, sqlite_where=sa.text(OPEN_ONLY),
                        postgresql_where=sa.text(OPEN_ONLY))
    for name in REPLACED:
        op.drop_index(name, table_name='orders')


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.create_index(name, 'orders', columns, unique=False)
    for name in [*NEW, *OPEN]:
        op.drop_index(name, table_name='orders')
