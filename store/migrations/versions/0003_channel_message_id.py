"""The outbox keeps the channel's id of a sent message as text (`channel_message_id`), not a
Telegram message id: an email's Message-ID is the next one. Existing ids are kept.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("channel_message_id", sa.String(length=250), nullable=True))
    op.execute("UPDATE deliveries SET channel_message_id = CAST(telegram_message_id AS VARCHAR(250)) "
               "WHERE telegram_message_id IS NOT NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("telegram_message_id")


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("telegram_message_id", sa.BigInteger(), nullable=True))
    # Only Telegram's ids were numbers.
    op.execute("UPDATE deliveries SET telegram_message_id = CAST(channel_message_id AS BIGINT) "
               "WHERE channel = 'telegram' AND channel_message_id IS NOT NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("channel_message_id")
