"""search counts: how many orders a search of the whole list is known to find at least

Revision ID: 0020_search_counts
Revises: 0019_board_lanes
Create Date: 2026-12-07 08:30:00.000000

A table of its own (orders.models.SearchCount), empty: a count of a city-wide search that stops at
its limit ("10000+") is remembered there, and the order list reads it instead of counting again
(orders are never deleted, so what a search found once it finds still). Down drops it: every
search is counted again.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_search_counts'
down_revision = '0019_board_lanes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_counts',
                    sa.Column('text', sa.String(length=200), nullable=False),
                    sa.Column('at_least', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint('text', name=op.f('pk_search_counts')))


def downgrade() -> None:
    op.drop_table('search_counts')
