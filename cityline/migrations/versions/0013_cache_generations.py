"""cache generations: a stamp per cache of admin-changed tables (catalogue, units)

Revision ID: 0013_cache_generations
Revises: 0012_inspection
Create Date: 2026-12-06 14:20:00.000000

One new table; nothing existing changes. Empty after the upgrade: a missing row reads as 0,
and the first change to a watched table writes it (``cityline.generations``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_cache_generations'
down_revision = '0012_inspection'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cache_generations',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('stamp', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('cache_generations')
