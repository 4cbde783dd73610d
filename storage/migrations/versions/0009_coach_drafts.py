"""Coach feedback: every draft shown, whether it was sent, and the rep's thumbs up or down

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 18:50:00
"""
import sqlalchemy as sa
from alembic import op

from storage.models import Id, UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'coach_drafts',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('deal_id', Id, nullable=True),
        sa.Column('proposal_id', Id, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('tone', sa.String(length=16), nullable=False),
        sa.Column('variant', sa.String(length=100), nullable=False),
        sa.Column('shown_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('rating', sa.String(length=4), nullable=True),
        sa.Column('rated_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_coach_drafts'),
        sa.UniqueConstraint('proposal_id', name='uq_coach_drafts_proposal_id'),
    )
    op.create_index('ix_coach_drafts_shown', 'coach_drafts', ['shown_at'], unique=False)
    op.create_index('ix_coach_drafts_user_id', 'coach_drafts', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_coach_drafts_user_id', table_name='coach_drafts')
    op.drop_index('ix_coach_drafts_shown', table_name='coach_drafts')
    op.drop_table('coach_drafts')
