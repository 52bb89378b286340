"""The advisors' tools: announcements (and their events), event registrations, opportunities;
deliveries say which announcement they belong to.

Revision ID: 0007
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from store.tender_models import UTCDateTime

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("author_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("send_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("event_at", UTCDateTime(), nullable=True),
        sa.Column("event_place", sa.String(length=300), nullable=True),
        sa.Column("event_link", sa.String(length=600), nullable=True),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    for column in ("author_id", "status", "send_at", "event_at"):
        op.create_index(f"ix_announcements_{column}", "announcements", [column])
    op.create_table(
        "event_registrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("announcement_id", sa.Integer(),
                  sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("announcement_id", "member_id"),
    )
    op.create_index("ix_event_registrations_announcement_id", "event_registrations",
                    ["announcement_id"])
    op.create_index("ix_event_registrations_member_id", "event_registrations", ["member_id"])
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tender_id", sa.Integer(), sa.ForeignKey("tenders.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("author_id", sa.Integer(),
                  sa.ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
        sa.Column("buyer_kind", sa.String(length=10), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_opportunities_author_id", "opportunities", ["author_id"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("announcement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_deliveries_announcement_id", "announcements",
                                 ["announcement_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_deliveries_announcement_id", ["announcement_id"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_announcement_id")
        batch.drop_constraint("fk_deliveries_announcement_id", type_="foreignkey")
        batch.drop_column("announcement_id")
    op.drop_table("opportunities")
    op.drop_table("event_registrations")
    op.drop_table("announcements")
