"""inspection: the sites patrolled, findings beside their orders, and their photos

Revision ID: 0012_inspection
Revises: 0011_checkpoints
Create Date: 2026-12-06 14:00:00.000000

Three new tables; nothing existing changes. Photo files live in the data directory
(``inspection/photos``); the rows name them.
"""
from alembic import op
import sqlalchemy as sa
import cityline.db


revision = '0012_inspection'
down_revision = '0011_checkpoints'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inspection_sites',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_inspection_sites_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_sites')),
    sa.UniqueConstraint('code', name=op.f('uq_inspection_sites_code'))
    )
    op.create_table('inspection_findings',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('inspector', sa.String(length=100), nullable=False),
    sa.Column('found_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_inspection_findings_order_id_orders')),
    sa.ForeignKeyConstraint(['site_id'], ['inspection_sites.id'], name=op.f('fk_inspection_findings_site_id_inspection_sites')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_inspection_findings'))
    )
    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_findings_problem'), ['problem'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_findings_site_id'), ['site_id'], unique=False)

    op.create_table('inspection_photos',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('file', sa.String(length=80), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_inspection_photos_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_photos')),
    sa.UniqueConstraint('file', name=op.f('uq_inspection_photos_file'))
    )
    with op.batch_alter_table('inspection_photos', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_photos_order', ['order_id', 'stage'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inspection_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_photos_order')

    op.drop_table('inspection_photos')
    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_findings_site_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_findings_problem'))

    op.drop_table('inspection_findings')
    op.drop_table('inspection_sites')
