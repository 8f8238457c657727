"""knowledge embeddings: article texts' vectors under the embedding model, by text digest

Revision ID: 0010_knowledge_embeddings
Revises: 0009_idempotency_answer
Create Date: 2026-12-06 11:30:00.000000

One new table; nothing existing changes. Empty after the upgrade: the first search index
built embeds the published articles' texts and stores them (``knowledge.semantic``).
"""
from alembic import op
import sqlalchemy as sa

import cityline.db


revision = '0010_knowledge_embeddings'
down_revision = '0009_idempotency_answer'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge_embeddings',
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('model', 'digest')
    )


def downgrade() -> None:
    op.drop_table('knowledge_embeddings')
