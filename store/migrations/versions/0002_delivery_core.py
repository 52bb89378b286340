"""delivery core: attempt start, failures and snapshot hash on deliveries; shared send slots

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.tender_models

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_started_at',
                                      store.tender_models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('failures', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('snapshot_hash',
                                      sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    op.create_table('send_slots',
                    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40),
                              nullable=False),
                    sa.Column('next_at', sa.Float(), nullable=False),
                    sa.PrimaryKeyConstraint('key'))


def downgrade() -> None:
    op.drop_table('send_slots')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('snapshot_hash')
        batch_op.drop_column('failures')
        batch_op.drop_column('attempt_started_at')
