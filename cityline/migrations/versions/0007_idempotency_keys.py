"""idempotency keys: a create request's Idempotency-Key or an order's external_id, with what it made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 06:00:00.000000

Self-contained (one new table): written as 0003 after 0002 on the limits branch, chained
after main's 0003 (outbox), 0004 (catalogue versions) and 0005 (outbox claimed_by) as main
was merged in. Another migration that main gains first only needs this down_revision moved.
"""
from alembic import op
import sqlalchemy as sa
import cityline.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('field_digests', sa.JSON(), nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=True),
    sa.Column('created_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('scope', 'key', name=op.f('uq_idempotency_keys_scope'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_expires_at'))

    op.drop_table('idempotency_keys')
