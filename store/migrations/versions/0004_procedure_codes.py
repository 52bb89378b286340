"""Tender procedures as codes: one vocabulary instead of BOAMP's French labels and TED's codes

`tenders.procedure` defines the codes (eForms' procurement-procedure-type codes, plus "adapted"
for the procédure adaptée and "contest" for the concours); the readers now write them. The values
already stored ("Procédure adaptée", "Procédure Ouverte", "Dialogue compétitif", "involving_
negotiation"…) are mapped by the readers' own rule, `procedure_code`. Delivery snapshots hold no
procedure: nothing to map there.

A notice's stored hash covers its procedure, so a notice hashed with a label would look changed
when it is read again and mark its tender changed for nothing: the notices of tenders that have a
procedure get the `REHASH` mark instead, and the store gives them their new hash at their next
sight, changing their tender only if the notice says something new.

Downgrade keeps the codes: the older code reads them as any other text.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from tenders.procedure import procedure_code
from tenders.store import REHASH

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENDERS = sa.table("tenders", sa.column("id", sa.Integer), sa.column("procedure", sa.String))
NOTICES = sa.table(
    "tender_notices", sa.column("tender_id", sa.Integer), sa.column("content_hash", sa.String)
)


def upgrade() -> None:
    bind = op.get_bind()
    with_procedure = sa.select(TENDERS.c.id).where(TENDERS.c.procedure != "")
    bind.execute(
        NOTICES.update()
        .where(NOTICES.c.content_hash != "", NOTICES.c.tender_id.in_(with_procedure))
        .values(content_hash=REHASH)
    )
    for (value,) in bind.execute(sa.select(TENDERS.c.procedure).distinct()).all():
        code = procedure_code(value)
        if code != value:
            bind.execute(
                TENDERS.update().where(TENDERS.c.procedure == value).values(procedure=code)
            )


def downgrade() -> None:
    pass
