"""An advisor's opportunity end to end: posted with /opportunite, it becomes a tender of source
`advisor`, is matched and alerted like a BOAMP one, shows its contact only to a member who marks
interest, is edited (those alerted get what changed) and cancelled (those interested are told).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

from store.alert_models import DeliveryKind
from store.tender_models import TenderRow
from tests.e2e.test_alerts import deliver, deliveries, member
from tests.e2e.test_announcements import advisor


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    return centrale_bot


async def deliver_due(centrale, fake_server, engine):
    """Deliver what is pending, at its due time (alerts wait for the end of quiet hours)."""
    pending = [d.next_attempt_at for d in deliveries(engine) if d.status == "pending"]
    return await deliver(centrale, fake_server, engine, max(pending + [datetime.now(UTC)]))


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%d/%m/%Y")


async def test_opportunity_alerted_edited_and_cancelled(centrale, fake_server, engine):
    boss = centrale.user(language_code="en", first_name="Advisor")
    advisor(engine, boss)
    fits = centrale.user(language_code="en")
    other = centrale.user(language_code="en")
    member(engine, fits)
    member(engine, other, cpv=["45000000"], activities="maçonnerie")

    replies = await boss.send("/opportunite")
    assert "public buyer or a private company" in replies.text
    await boss.tap("Private company")
    await boss.send("Clinique du Parc")
    replies = await boss.send("Entretien des espaces verts de la clinique")
    assert "77310000" in " ".join(replies.labels()) or replies.labels()
    await boss.tap("77310000")
    await boss.tap("Done")
    await boss.send("42")
    await boss.send(f"{_day(20)} 12h00")
    await boss.send("15 000")
    await boss.send("Mme Roux, 04 77 00 00 00, achats@clinique.example")
    replies = await boss.tap("No documents")
    assert "Check the opportunity" in replies.text and "Clinique du Parc" in replies.text
    replies = await boss.tap("Publish")
    assert "published" in replies.text
    with Session(engine) as session:
        tender = session.execute(select(TenderRow)).scalar_one()
    assert (tender.source, tender.buyer, tender.departements) == (
        "advisor", "Clinique du Parc", ["42"])

    await deliver_due(centrale, fake_server, engine)
    alert = (await fits.wait(count=1)).last
    assert "Entretien des espaces verts de la clinique" in alert.text
    assert "Mme Roux" not in alert.text  # the contact is not in the alert
    assert other.messages == []
    replies = await fits.tap("Interested", message=alert)
    assert "Mme Roux, 04 77 00 00 00" in replies.text

    # An edit abandoned on its summary changes nothing and tells no one.
    await boss.send("/opportunites")
    await boss.tap(f"Edit #{tender.id}")
    await boss.tap("Deadline")
    await boss.send(f"{_day(30)} 12h00")
    replies = await boss.tap("❌ Cancel")
    assert "Cancelled: nothing was published." in replies.text
    with Session(engine) as session:
        assert session.get(TenderRow, tender.id).deadline == tender.deadline
    assert not deliveries(engine, DeliveryKind.UPDATE)

    # Edited: a later deadline; the member alerted is told what changed.
    replies = await boss.send("/opportunites")
    await boss.tap(f"Edit #{tender.id}")
    await boss.tap("Deadline")
    await boss.send(f"{_day(27)} 12h00")
    # …and the estimated value, set, is cleared ("Unknown"): the store's "an empty field keeps
    # the stored one" is for bulletins, not for an advisor's edit.
    await boss.tap("Estimated value")
    replies = await boss.tap("Unknown")
    assert "Estimated value: unknown" in replies.text
    replies = await boss.tap("Publish")
    assert "updated" in replies.text
    with Session(engine) as session:
        assert session.get(TenderRow, tender.id).estimated_value is None
    assert len(deliveries(engine, DeliveryKind.UPDATE)) == 1
    await deliver_due(centrale, fake_server, engine)
    update = (await fits.wait(count=1)).last
    assert "Entretien des espaces verts de la clinique" in update.text and "<s>" in update.html
    assert "<b>Estimated value</b>: <s>€15,000</s> → <b>none</b>" in update.html

    # Cancelled: the interested member is told.
    await boss.send("/opportunites")
    replies = await boss.tap(f"Cancel #{tender.id}")
    assert "1 interested members are told" in replies.answer.text
    await deliver_due(centrale, fake_server, engine)
    cancelled = (await fits.wait(count=1)).last
    assert "Tender cancelled" in cancelled.text
    with Session(engine) as session:
        assert session.get(TenderRow, tender.id).status == "cancelled"
