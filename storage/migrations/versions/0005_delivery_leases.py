"""deliveries.lease_until and checked_at: a claim whose instance died is recovered; an unsure post is looked for once

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 09:40:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checked_at', storage.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('checked_at')
        batch_op.drop_column('lease_until')
