"""outbox_messages.claimed_by: which worker holds a message in flight

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 06:50:00

One nullable column: a worker delivers and marks only messages it still holds, and a
restarted worker of the same name takes back at once what its dead predecessor held.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
