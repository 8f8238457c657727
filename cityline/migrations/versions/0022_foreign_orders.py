"""foreign orders: a partial index of the orders in a language other than Chinese, newest first

Revision ID: 0022_foreign_orders
Revises: 0021_orders_escalated
Create Date: 2026-12-07 11:40:00.000000

Index only; no data changes. The order list's "foreign language" filter (language != 'zh') and its
count read this small index (one or two orders in a hundred) instead of the language index's two
ranges either side of "zh", which PostgreSQL walked as one, testing every Chinese order.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_foreign_orders'
down_revision = '0021_orders_escalated'
branch_labels = None
depends_on = None

FOREIGN = "language != 'zh'"


def upgrade() -> None:
    op.create_index('ix_orders_foreign_received', 'orders', ['received_at'], unique=False,
                    sqlite_where=sa.text(FOREIGN), postgresql_where=sa.text(FOREIGN))


def downgrade() -> None:
    op.drop_index('ix_orders_foreign_received', table_name='orders')
