"""board lanes: the open orders' deadline indexes carry what sorts an order into the board's lanes

Revision ID: 0019_board_lanes
Revises: 0018_order_search
Create Date: 2026-12-07 05:30:00.000000

Indexes only; no data changes. The open orders by deadline — city-wide, by unit, by place — now
end in the id and carry the lanes' columns (paused, extension asked, special groups), and an
order's timers are indexed by kind too (has its overdue escalation fired): the supervisor's board
reads its reach's open orders and sorts them into lanes from these indexes alone, not from every
open order's row and timer. PostgreSQL carries the lanes' columns as INCLUDE columns (its JSON
cannot be a key), SQLite as keys after the sort, with the status.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_board_lanes'
down_revision = '0018_order_search'
branch_labels = None
depends_on = None

OPEN_ONLY = "status IN ('accepted', 'dispatched', 'received', 'replied', 'returned', 'visited')"
LANE_COLUMNS = ['paused', 'extension_requested', 'special_groups']
# name: (the reach's columns, the index it replaces, that index's columns)
LANES = {
    'ix_orders_open_lanes': ([], 'ix_orders_open_due', ['resolve_by']),
    'ix_orders_open_unit_lanes': (['unit_id'], 'ix_orders_open_unit_due', ['unit_id', 'resolve_by']),
    'ix_orders_open_place_lanes': (['district', 'street'], 'ix_orders_open_place_due',
                                   ['district', 'street', 'resolve_by']),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    where = {'sqlite_where': sa.text(OPEN_ONLY), 'postgresql_where': sa.text(OPEN_ONLY)}
    for name, (reach, old, _columns) in LANES.items():
        keys = [*reach, 'resolve_by', 'id']
        if postgresql:
            op.create_index(name, 'orders', keys, unique=False, postgresql_include=LANE_COLUMNS, **where)
        else:
            op.create_index(name, 'orders', [*keys, *LANE_COLUMNS, 'status'], unique=False, **where)
        op.drop_index(old, table_name='orders')
    op.create_index('ix_sla_timers_order_kind', 'sla_timers', ['order_id', 'state', 'kind'], unique=False)
    op.drop_index('ix_sla_timers_order', table_name='sla_timers')


def downgrade() -> None:
    where = {'sqlite_where': sa.text(OPEN_ONLY), 'postgresql_where': sa.text(OPEN_ONLY)}
    op.create_index('ix_sla_timers_order', 'sla_timers', ['order_id', 'state'], unique=False)
    op.drop_index('ix_sla_timers_order_kind', table_name='sla_timers')
    for name, (_reach, old, columns) in LANES.items():
        op.create_index(old, 'orders', columns, unique=False, **where)
        op.drop_index(name, table_name='orders')
