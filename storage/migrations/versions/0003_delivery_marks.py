"""deliveries.marks: what clicks did to a posted digest, so concurrent clicks all show

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marks', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('marks')
