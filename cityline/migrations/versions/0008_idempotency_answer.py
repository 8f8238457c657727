"""idempotency keys: the answer of a create that made several things (passes issued at once)

Revision ID: 0008_idempotency_answer
Revises: 0007
Create Date: 2026-12-06 08:30:00.000000

One nullable column; a replay of such a create answers from it instead of reading one
thing back by ``resource``.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_idempotency_answer'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('answer')
