"""checkpoints: road checkpoints, the vehicles they register and the people aboard

Revision ID: 0011_checkpoints
Revises: 0010_knowledge_embeddings
Create Date: 2026-12-06 13:58:23.340409

Three new tables; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa
import cityline.db


revision = '0011_checkpoints'
down_revision = '0010_knowledge_embeddings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('street', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_checkpoints_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoints')),
    sa.UniqueConstraint('code', name=op.f('uq_checkpoints_code'))
    )
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoints_unit_id'), ['unit_id'], unique=False)

    op.create_table('checkpoint_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('registered_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('plate_enc', sa.Text(), nullable=False),
    sa.Column('plate_masked', sa.String(length=32), nullable=False),
    sa.Column('plate_digest', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=True),
    sa.Column('destination', sa.String(length=200), nullable=True),
    sa.Column('cargo', sa.String(length=200), nullable=True),
    sa.Column('risk_area', sa.String(length=200), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('must_leave_by', cityline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('loop_order', sa.String(length=32), nullable=True),
    sa.Column('left_at', cityline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('left_registration_id', sa.Integer(), nullable=True),
    sa.Column('warning_order', sa.String(length=32), nullable=True),
    sa.Column('warned_at', cityline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', cityline.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_checkpoint_registrations_checkpoint_id_checkpoints')),
    sa.ForeignKeyConstraint(['left_registration_id'], ['checkpoint_registrations.id'], name=op.f('fk_checkpoint_registrations_left_registration_id_checkpoint_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_registrations')),
    sa.UniqueConstraint('checkpoint_id', 'plate_digest', 'registered_at', 'direction', name='uq_checkpoint_registrations_once')
    )
    with op.batch_alter_table('checkpoint_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_checkpoint_registrations_loop', ['must_leave_by', 'left_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_registrations_plate_digest'), ['plate_digest'], unique=False)
        batch_op.create_index('ix_checkpoint_registrations_time', ['checkpoint_id', 'registered_at'], unique=False)

    op.create_table('checkpoint_travellers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name_enc', sa.Text(), nullable=True),
    sa.Column('name_masked', sa.String(length=100), nullable=True),
    sa.Column('id_number_enc', sa.Text(), nullable=True),
    sa.Column('id_number_masked', sa.String(length=40), nullable=True),
    sa.Column('id_number_digest', sa.String(length=64), nullable=True),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('phone_masked', sa.String(length=32), nullable=True),
    sa.Column('phone_digest', sa.String(length=64), nullable=True),
    sa.Column('health_code', sa.String(length=16), nullable=True),
    sa.Column('tested_at', cityline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['registration_id'], ['checkpoint_registrations.id'], name=op.f('fk_checkpoint_travellers_registration_id_checkpoint_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoint_travellers'))
    )
    with op.batch_alter_table('checkpoint_travellers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoint_travellers_id_number_digest'), ['id_number_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoint_travellers_registration_id'), ['registration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('checkpoint_travellers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoint_travellers_registration_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoint_travellers_id_number_digest'))

    op.drop_table('checkpoint_travellers')
    with op.batch_alter_table('checkpoint_registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_checkpoint_registrations_time')
        batch_op.drop_index(batch_op.f('ix_checkpoint_registrations_plate_digest'))
        batch_op.drop_index('ix_checkpoint_registrations_loop')

    op.drop_table('checkpoint_registrations')
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoints_unit_id'))

    op.drop_table('checkpoints')
