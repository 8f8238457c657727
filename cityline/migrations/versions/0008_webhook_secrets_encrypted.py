"""webhook secrets kept encrypted with the project's Vault (webhooks.secret → secret_enc)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00.000000

Existing secrets are encrypted in place with the instance's own secret (CITYLINE_SECRET_KEY
or the data directory's key file), the one the delivering worker decrypts them with.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from cityline.privacy import default_vault

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_enc', sa.String(length=400), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, secret FROM webhooks")).all()
    if rows:
        vault = default_vault()
        for hook_id, secret in rows:
            bind.execute(sa.text("UPDATE webhooks SET secret_enc = :enc WHERE id = :id"),
                         {"enc": vault.encrypt(secret), "id": hook_id})
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('secret_enc', existing_type=sa.String(length=400), nullable=False)
        batch_op.drop_column('secret')


def downgrade() -> None:
    from cityline.privacy import default_vault

    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=100), nullable=True))
    bind = op.get_bind()
    vault = default_vault()
    for hook_id, enc in bind.execute(sa.text("SELECT id, secret_enc FROM webhooks")).all():
        bind.execute(sa.text("UPDATE webhooks SET secret = :secret WHERE id = :id"),
                     {"secret": vault.reveal(enc), "id": hook_id})
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column('secret_enc')
