"""Practice drills: the brush-off the coach played in the rep's DM, the answers, the score

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 18:45:00
"""
import sqlalchemy as sa
from alembic import op

from storage.models import Id, UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'drills',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('thread_ts', sa.String(length=32), nullable=False),
        sa.Column('brushoff', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('turns', sa.JSON(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_drills'),
        sa.UniqueConstraint('team_id', 'channel', 'thread_ts', name='uq_drills_thread'),
    )
    op.create_index('ix_drills_user_created', 'drills', ['team_id', 'user_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_drills_user_created', table_name='drills')
    op.drop_table('drills')
