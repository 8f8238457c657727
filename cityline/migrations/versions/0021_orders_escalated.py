"""orders escalated: an order's overdue escalation fired, kept on the order for the board's lanes

Revision ID: 0021_orders_escalated
Revises: 0020_search_counts
Create Date: 2026-12-07 11:00:00.000000

A column ``orders.escalated`` (false by default: both databases add it without rewriting the
table), set for every order with a fired overdue escalation timer, and kept so by a trigger on
``sla_timers`` (orders.models.escalation_statements). The three open-orders lanes indexes are made
again carrying it (open orders only: small). Down drops the trigger, the column and makes the
lanes indexes as 0019 left them; the board then asks each open order's timers again.
On a large PostgreSQL database, vacuum orders after it (docs/operations.md, Migrations): the rows
marked leave their pages not all-visible until then.
"""
from alembic import op
import sqlalchemy as sa

from cityline.orders.models import escalation_drop_statements, escalation_statements


revision = '0021_orders_escalated'
down_revision = '0020_search_counts'
branch_labels = None
depends_on = None

OPEN_ONLY = "status IN ('accepted', 'dispatched', 'received', 'replied', 'returned', 'visited')"
BEFORE = ['paused', 'extension_requested', 'special_groups']
AFTER = [*BEFORE, 'escalated']
LANES = {  # name: the reach's columns
    'ix_orders_open_lanes': [],
    'ix_orders_open_unit_lanes': ['unit_id'],
    'ix_orders_open_place_lanes': ['district', 'street'],
}


def _lanes(carried: list[str]) -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    where = {'sqlite_where': sa.text(OPEN_ONLY), 'postgresql_where': sa.text(OPEN_ONLY)}
    for name, reach in LANES.items():
        op.drop_index(name, table_name='orders')
        keys = [*reach, 'resolve_by', 'id']
        if postgresql:
            op.create_index(name, 'orders', keys, unique=False, postgresql_include=carried, **where)
        else:
            op.create_index(name, 'orders', [*keys, *carried, 'status'], unique=False, **where)


def upgrade() -> None:
    connection = op.get_bind()
    op.add_column('orders', sa.Column('escalated', sa.Boolean(), server_default=sa.false(), nullable=False))
    connection.exec_driver_sql(
        "UPDATE orders SET escalated = true WHERE id IN (SELECT order_id FROM sla_timers "
        "WHERE state = 'fired' AND kind = 'overdue_escalation')")
    for statement in escalation_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    _lanes(AFTER)


def downgrade() -> None:
    connection = op.get_bind()
    for statement in escalation_drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
    _lanes(BEFORE)
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('escalated')
