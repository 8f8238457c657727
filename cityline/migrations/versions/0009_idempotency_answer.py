"""idempotency keys: the answer of a create that made several things (passes issued at once)

Revision ID: 0009_idempotency_answer
Revises: 0008
Create Date: 2026-12-06 08:30:00.000000

One nullable column; a replay of such a create answers from it instead of reading one
thing back by ``resource``. Written as 0008 after 0007; chained after main's 0008 (webhook
secrets encrypted) when main was merged in.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_idempotency_answer'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('answer')
