"""SQLite: bulk-inserted tender datetimes get the microseconds SQLAlchemy writes

Rows inserted by the ingest's bulk path stored "YYYY-MM-DD HH:MM:SS" when the microseconds were 0,
rows written through SQLAlchemy "YYYY-MM-DD HH:MM:SS.000000"; SQLite compares that text as text.
PostgreSQL stores timestamps: nothing to do there.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "tenders": ("deadline", "first_seen", "updated_at"),
    "tender_notices": ("seen_at",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(
                f"UPDATE {table} SET {column} = {column} || '.000000' "
                f"WHERE length({column}) = 19"
            )


def downgrade() -> None:
    pass  # the longer text is what SQLAlchemy writes anyway
