"""The advisors' tools below the bot: the audience query against the database for several
filters, scheduled announcements released and cancelled, event reminders, opportunities from a
CSV, the territory, `centrale advisors` and `centrale stats` (CSV and chart from a known
database)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from announcements.audience import Filters, audience
from announcements.events import enqueue_event_reminders
from announcements.sending import Draft, cancel, create, release_due
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus, Interest
from store.announcement_models import Announcement, EventRegistration
from store.db import session_scope
from store.models import AlertPreference, Member, Role, Structure
from store.tender_models import TenderRow

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
FAMILIES = ("association", "siae_aci", "ea", "scop")
PLACES = (["42"], ["43"], ["42", "69"], ["13"])
CPVS = (["77310000"], ["45210000"], ["90910000", "77311000"], [])


def population(engine, count: int = 40) -> None:
    """Members with varied profiles, a few without a usable channel or structure."""
    with session_scope(engine) as session:
        for n in range(count):
            structure = Structure(
                name=f"S{n}", family=FAMILIES[n % 4], departements=PLACES[n % 4],
                all_france=n % 9 == 0, cpv_codes=CPVS[n % 3 if n % 5 else 3],
                readiness_score=(n * 7) % 101, experience="never" if n % 3 == 0 else "answered",
                created_at=datetime(2027, 1 + n % 3, 5, tzinfo=UTC))
            session.add(structure)
            session.flush()
            member = Member(structure_id=structure.id, telegram_user_id=1000 + n,
                            telegram_chat_id=1000 + n, telegram_active=n % 11 != 0,
                            email=f"m{n}@example.org" if n % 4 == 0 else None)
            session.add(member)
            session.flush()
            if n % 2:
                session.add(AlertPreference(member_id=member.id,
                                            channel=("telegram", "email", "both")[n % 3]))
        session.add(Member(telegram_user_id=9999, telegram_chat_id=9999, role=Role.ADVISOR))


def expected(engine, filters: Filters) -> dict[str, set[int]]:
    """The audience computed another way: every row read, filtered in Python."""
    from alerts.outbox import member_channels

    with session_scope(engine) as session:
        rows = session.execute(
            select(Member, Structure, AlertPreference)
            .join(Structure, Structure.id == Member.structure_id)
            .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)).all()
        result: dict[str, set[int]] = {"telegram": set(), "email": set()}
        for member, structure, preference in rows:
            if member.role != Role.MEMBER:
                continue
            if filters.departements and not (structure.all_france or set(
                    filters.departements) & set(structure.departements)):
                continue
            if filters.families and structure.family not in filters.families:
                continue
            if filters.cpv and not any(code.startswith(prefix) for code in structure.cpv_codes
                                       for prefix in filters.cpv):
                continue
            if filters.min_readiness and (structure.readiness_score or 0) < filters.min_readiness:
                continue
            chosen = preference.channel if preference else "telegram"
            if filters.channel and chosen != filters.channel:
                continue
            if filters.never_answered and structure.experience != "never":
                continue
            for channel in member_channels(member, preference):
                result[channel].add(member.id)
        return result


@pytest.mark.parametrize("filters", [
    Filters(),
    Filters(departements=("42",)),
    Filters(departements=("42", "13"), families=("siae_aci", "ea")),
    Filters(cpv=("7731",)),
    Filters(cpv=("45", "909"), min_readiness=40),
    Filters(channel="email"),
    Filters(channel="telegram", never_answered=True),
    Filters(departements=("69",), families=("scop",), cpv=("77",), min_readiness=10,
            channel="both", never_answered=False),
], ids=lambda f: json.dumps(f.to_dict())[:60])
def test_audience_is_the_database(engine, filters):
    population(engine)
    with session_scope(engine) as session:
        found = audience(session, filters)
    want = expected(engine, filters)
    assert {c: set(ids) for c, ids in found.by_channel.items()} == want
    assert found.members == len(want["telegram"] | want["email"])


def test_announcement_scheduled_released_once_and_cancellable(engine):
    population(engine, 12)
    with session_scope(engine) as session:
        later = create(session, None, Draft("Réunion *ESS*", Filters(departements=("42",)),
                                            send_at=NOW + timedelta(days=2)), NOW)
        other = create(session, None, Draft("Annulée", Filters(),
                                            send_at=NOW + timedelta(days=1)), NOW)
        later_id, other_id = later.id, other.id
        assert session.execute(select(Delivery)).first() is None
        cancel(session, other, NOW)
    with session_scope(engine) as session:
        assert release_due(session, NOW + timedelta(days=1)) == []  # the other was cancelled
        assert release_due(session, NOW + timedelta(days=2)) == [later_id]
        assert release_due(session, NOW + timedelta(days=3)) == []
        expected_count = audience(session, Filters(departements=("42",))).deliveries
        queued = session.execute(select(Delivery).where(
            Delivery.announcement_id == later_id)).scalars().all()
        assert len(queued) == expected_count == session.get(Announcement, later_id).recipients
        assert {d.kind for d in queued} == {DeliveryKind.ANNOUNCEMENT}
        assert session.get(Announcement, other_id).status == "cancelled"


def test_event_reminders_day_and_hour_once(engine):
    population(engine, 4)
    event_at = NOW + timedelta(days=5)
    with session_scope(engine) as session:
        announcement = create(session, None, Draft("Atelier", Filters(), event_at=event_at,
                                                   event_place="Saint-Étienne", seats=10), NOW)
        member_ids = [d.member_id for d in session.execute(select(Delivery)).scalars()]
        for member_id in member_ids[:2]:
            session.add(EventRegistration(announcement_id=announcement.id, member_id=member_id,
                                          status="registered", created_at=NOW, updated_at=NOW))
    for moment, count in ((event_at - timedelta(days=2), 0),
                          (event_at - timedelta(hours=23), 2),
                          (event_at - timedelta(hours=20), 0),
                          (event_at - timedelta(minutes=50), 2),
                          (event_at - timedelta(minutes=10), 0)):
        with session_scope(engine) as session:
            assert enqueue_event_reminders(session, moment, PARIS) >= count, moment
    with session_scope(engine) as session:
        whens = sorted(d.payload["when"] for d in session.execute(select(Delivery).where(
            Delivery.kind == DeliveryKind.EVENT_REMINDER)).scalars())
    assert whens == ["day", "day", "hour", "hour"]


def test_opportunities_import_and_territory(engine, cli, tmp_path, capsys, monkeypatch):
    deadline = (datetime.now(UTC) + timedelta(days=30)).strftime("%d/%m/%Y 12:00")
    path = tmp_path / "opportunities.csv"
    path.write_text(
        "buyer_kind;buyer;title;cpv_codes;departements;deadline;estimated_value;contact\n"
        f"private;Clinique du Parc;Nettoyage des locaux;90910000;42;{deadline};12 000;M. Roux\n"
        f"public;Mairie;Tonte;;Loire;{deadline};;mairie@example.org\n"
        f"public;Mairie;Sans date;;42;hier;;x\n"
        f"alien;Mairie;Mauvais type;;42;{deadline};;x\n", encoding="utf-8")
    assert cli("opportunities", "import", str(path), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["created"]) == 2 and [r["line"] for r in report["rejected"]] == [4, 5]
    with session_scope(engine) as session:
        rows = session.execute(select(TenderRow).order_by(TenderRow.id)).scalars().all()
        assert [(t.source, t.buyer, t.departements) for t in rows] == [
            ("advisor", "Clinique du Parc", ["42"]), ("advisor", "Mairie", ["42"])]
        assert rows[1].cpv_codes  # suggested from the title

    from tenders.ingest import in_territory, ingest_files
    from tenders.model import Tender

    territory = frozenset({"42", "43"})
    assert in_territory(Tender("boamp", "1", "t", departements=["42"]), territory)
    assert in_territory(Tender("boamp", "2", "t", departements=[]), territory)
    assert not in_territory(Tender("boamp", "3", "t", departements=["13"]), territory)
    _ = ingest_files


def test_advisors_cli(engine, cli, capsys):
    assert cli("advisors", "add", "123456", "Conseil@Centrale.example") == 0
    assert "2 advisors added" in capsys.readouterr().out
    assert cli("advisors", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(a["telegram_user_id"], a["email"]) for a in listed} == {
        (123456, None), (None, "conseil@centrale.example")}
    assert cli("advisors", "remove", "123456") == 0
    assert "1 advisors removed" in capsys.readouterr().out
    with session_scope(engine) as session:
        roles = dict(session.execute(select(Member.telegram_user_id, Member.role)).all())
    assert roles[123456] == "member"
    with pytest.raises(SystemExit):
        cli("advisors", "add", "not-an-id")


def known_database(engine) -> None:
    """Three months: January 2 structures, February 1, March none; alerts and interest, one
    announcement with two registrations in March."""
    with session_scope(engine) as session:
        structures = [Structure(name="A", family="association", departements=["42"],
                                readiness_score=20, created_at=datetime(2027, 1, 10, tzinfo=UTC)),
                      Structure(name="B", family="siae_aci", departements=["42", "43"],
                                readiness_score=60, created_at=datetime(2027, 1, 20, tzinfo=UTC)),
                      Structure(name="C", family="association", all_france=True,
                                readiness_score=80, created_at=datetime(2027, 2, 3, tzinfo=UTC)),
                      Structure(name="Out", family="ea", departements=["13"],
                                readiness_score=90, created_at=datetime(2027, 2, 4, tzinfo=UTC))]
        session.add_all(structures)
        session.flush()
        people = [Member(structure_id=s.id, telegram_user_id=50 + i, telegram_chat_id=50 + i)
                  for i, s in enumerate(structures)]
        session.add_all(people)
        tenders = [TenderRow(source="boamp", source_id=str(i), title=f"T{i}", content_hash="h",
                             departements=["42"]) for i in range(3)]
        session.add_all(tenders)
        session.flush()
        sent = [(people[0], tenders[0], datetime(2027, 2, 10, 9, tzinfo=UTC)),
                (people[1], tenders[0], datetime(2027, 2, 10, 9, tzinfo=UTC)),
                (people[1], tenders[1], datetime(2027, 3, 1, 9, tzinfo=UTC)),
                (people[2], tenders[2], datetime(2027, 3, 2, 9, tzinfo=UTC))]
        for n, (member, tender, at) in enumerate(sent):
            session.add(Delivery(member_id=member.id, tender_id=tender.id, kind="alert",
                                 idempotency_key=f"k{n}", status=DeliveryStatus.SENT,
                                 sent_at=at, created_at=at, next_attempt_at=at))
        session.add(Interest(member_id=people[1].id, tender_id=tenders[0].id,
                             signal="interested"))
        session.add(Interest(member_id=people[2].id, tender_id=tenders[2].id, signal="partners"))
        announcement = Announcement(text="x", status="sent", sent_at=datetime(
            2027, 3, 5, 10, tzinfo=UTC), event_at=datetime(2027, 4, 1, 10, tzinfo=UTC))
        session.add(announcement)
        session.flush()
        for member in people[:2]:
            session.add(EventRegistration(announcement_id=announcement.id, member_id=member.id,
                                          status="registered",
                                          created_at=datetime(2027, 3, 6, tzinfo=UTC)))
        consortia_and_support(session, people, tenders)


def consortia_and_support(session, people, tenders) -> None:
    """February: two proposals, one groupement formed, a support request answered after 3 h
    and closed in March; March: the groupement won, a bid submitted and a contract won."""
    from store.consortia_models import (
        FollowUp,
        Groupement,
        PartnerSearch,
        Proposal,
        SupportRequest,
    )

    feb, mar = datetime(2027, 2, 11, 9, tzinfo=UTC), datetime(2027, 3, 20, 9, tzinfo=UTC)
    search = PartnerSearch(member_id=people[0].id, tender_id=tenders[0].id, created_at=feb)
    session.add(search)
    session.flush()
    for candidate in people[1:3]:
        session.add(Proposal(search_id=search.id, tender_id=tenders[0].id,
                             from_member_id=people[0].id, to_member_id=candidate.id,
                             role="cocontractor", created_at=feb))
    session.add(Groupement(tender_id=tenders[0].id, status="won", created_at=feb,
                           closed_at=mar))
    session.add(Groupement(tender_id=tenders[1].id, status="lost", created_at=mar,
                           closed_at=mar))
    session.add(SupportRequest(member_id=people[1].id, text="?", status="closed",
                               created_at=feb, first_answer_at=feb + timedelta(hours=3),
                               closed_at=mar))
    session.add(SupportRequest(member_id=people[2].id, text="?", created_at=mar))
    session.add(FollowUp(member_id=people[0].id, tender_id=tenders[0].id, answered=True,
                         result="won", answered_at=mar))
    session.add(FollowUp(member_id=people[1].id, tender_id=tenders[1].id, answered=False,
                         answered_at=mar))


def test_stats_csv_and_chart_from_a_known_database(engine, cli, tmp_path, monkeypatch, capsys):
    known_database(engine)
    monkeypatch.setenv("CENTRALE_TERRITORY", "42, 43")
    from bot.settings import get_settings

    get_settings.cache_clear()
    out_csv, out_png = tmp_path / "bilan.csv", tmp_path / "bilan.png"
    assert cli("stats", "--from", "2027-01-01", "--to", "2027-03-31", "--csv", str(out_csv),
               "--png", str(out_png)) == 0
    out = capsys.readouterr().out
    assert "3 structures diagnosed" in out  # "Out" is outside the territory
    assert "2 partner proposals, 2 groupements formed, 1 won" in out
    assert "2 support requests opened, 1 closed" in out and "1 bids submitted, 1 contracts" in out
    rows = list(csv.DictReader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    by_month = {row["month"]: row for row in rows}
    assert list(by_month) == ["2027-01", "2027-02", "2027-03"]
    january, february, march = (by_month[m] for m in ("2027-01", "2027-02", "2027-03"))
    assert (january["structures_diagnosed"], february["structures_diagnosed"],
            march["structures_diagnosed"]) == ("2", "1", "0")
    assert january["family_association"] == "1" and january["family_siae_aci"] == "1"
    assert january["departement_42"] == "2" and january["departement_43"] == "1"
    assert february["departement_all"] == "1"
    assert january["readiness_mean"] == "40.0" and january["readiness_0_24"] == "1"
    assert january["readiness_50_74"] == "1" and february["readiness_75_100"] == "1"
    assert (february["alerts_sent"], february["alerts_interested"],
            february["interest_rate"]) == ("2", "1", "0.5")
    assert (march["alerts_sent"], march["alerts_interested"]) == ("2", "1")
    assert (march["announcements_sent"], march["event_registrations"]) == ("1", "2")
    assert (february["partners_proposed"], february["groupements_formed"],
            march["groupements_formed"], march["groupements_won"]) == ("2", "1", "1", "1")
    assert (february["support_opened"], february["support_first_answer_h"],
            march["support_opened"], march["support_closed"]) == ("1", "3.0", "1", "1")
    assert (march["bids_submitted"], march["contracts_won"]) == ("1", "1")
    assert (january["groupements_formed"], march["support_first_answer_h"]) == ("0", "")
    from matplotlib import image

    picture = image.imread(out_png)
    height, width = picture.shape[:2]
    assert height > width >= 600  # tall and narrow: a phone's screen
    assert date(2027, 1, 1)  # the period is given, not the wall clock


def test_an_advisor_erased_leaves_the_announcements(engine):
    from store.members import delete_member

    with session_scope(engine) as session:
        advisor = Member(telegram_user_id=77, telegram_chat_id=77, role=Role.ADVISOR)
        session.add(advisor)
        session.flush()
        announcement = create(session, advisor.id, Draft("Info", Filters()), NOW)
        announcement_id = announcement.id
        delete_member(session, advisor)
    with session_scope(engine) as session:
        assert session.get(Announcement, announcement_id).author_id is None
