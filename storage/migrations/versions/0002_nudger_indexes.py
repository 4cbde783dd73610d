"""indexes for the nudger's medians: stage changes, and deal amounts per rep and currency

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 23:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.create_index('ix_deals_owner_amount', ['owner_id', 'currency', 'amount'], unique=False,
                              postgresql_where=sa.text('amount IS NOT NULL'),
                              sqlite_where=sa.text('amount IS NOT NULL'))
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_stage_changes', ['deal_id', 'at', 'id'], unique=False,
                              postgresql_include=['text'], postgresql_where=sa.text("kind = 'stage'"),
                              sqlite_where=sa.text("kind = 'stage'"))


def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_stage_changes', postgresql_where=sa.text("kind = 'stage'"),
                            sqlite_where=sa.text("kind = 'stage'"))
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_index('ix_deals_owner_amount', postgresql_where=sa.text('amount IS NOT NULL'),
                            sqlite_where=sa.text('amount IS NOT NULL'))
