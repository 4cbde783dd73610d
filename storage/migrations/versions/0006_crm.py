"""CRM: rep emails, links to outside deals (HubSpot ids, imported rows), sync state and pushes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:50:00
"""
import sqlalchemy as sa
from alembic import op

from storage.models import Id, UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.create_index('ix_reps_email', ['email'], unique=False)
    op.create_table(
        'crm_links',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('system', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=128), nullable=False),
        sa.Column('deal_id', Id, nullable=False),
        sa.Column('synced', sa.JSON(), nullable=True),
        sa.Column('synced_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name='fk_crm_links_deal_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_crm_links'),
        sa.UniqueConstraint('system', 'external_id', name='uq_crm_links_key'),
    )
    op.create_index('ix_crm_links_deal_id', 'crm_links', ['deal_id'], unique=False)
    op.create_table(
        'crm_state',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('key', name='pk_crm_state'),
    )
    op.create_table(
        'crm_pushes',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('deal_id', Id, nullable=False),
        sa.Column('remote_id', sa.String(length=64), nullable=True),
        sa.Column('done_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name='fk_crm_pushes_deal_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', name='pk_crm_pushes'),
    )
    op.create_index('ix_crm_pushes_deal_id', 'crm_pushes', ['deal_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_crm_pushes_deal_id', table_name='crm_pushes')
    op.drop_table('crm_pushes')
    op.drop_table('crm_state')
    op.drop_index('ix_crm_links_deal_id', table_name='crm_links')
    op.drop_table('crm_links')
    with op.batch_alter_table('reps', schema=None) as batch_op:
        batch_op.drop_index('ix_reps_email')
        batch_op.drop_column('email')
