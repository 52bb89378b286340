"""Alerts end to end: a tender ingested from a file is matched, delivered by the outbox worker
through the fake Bot API, and the member acts on it (buttons, /alertes, /pause, /reprendre);
quiet hours and weekends, digests, rectificatifs, cancellations and reminders.

Time: the worker and matching take `now` injected (the bot's own handlers use the real clock).
Dates are placed a few days after the real today, on chosen weekdays, so that the tests mean the
same whenever they run.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

from bot.app import seed_advisors
from conversations.profile_fields import save_diagnostic
from locales import format_amount, format_date
from matching.reasons import Reason, render_reason
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus, Interest
from store.db import session_scope
from store.models import AlertPreference, Member
from store.tender_models import MatchRow, TenderRow

PARIS = ZoneInfo("Europe/Paris")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "boamp"


def _next(weekday: int) -> date:
    start = datetime.now(PARIS).date() + timedelta(days=3)
    return start + timedelta(days=(weekday - start.weekday()) % 7)


TUESDAY = _next(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


def day(offset: int) -> date:
    return TUESDAY + timedelta(days=offset)


# --- notices -------------------------------------------------------------------------------------


def fnsimple(idweb: str, *, title: str, deadline: datetime, cpv: str = "77310000",
             value: int = 180000, social: bool = True) -> dict:
    """The saved FNSimple record (Saint-Chamond, green spaces, two lots, social clause) as
    another notice."""
    record = json.loads((FIXTURES / "record_fnsimple.json").read_text())
    donnees = json.loads(record["donnees"])
    initial = donnees["FNSimple"]["initial"]
    nature = initial["natureMarche"]
    nature["intitule"] = title
    nature["codeCPV"] = {"objetPrincipal": {"classPrincipale": cpv}}
    nature["valeurEstimee"] = {"valeur": str(value)}
    initial["procedure"]["dateReceptionOffres"] = deadline.astimezone(PARIS).isoformat()
    if not social:
        del initial["informComplementaire"]
        initial.pop("lots")
        nature["description"] = "Travaux horticoles."
    record.update(idweb=idweb, id=idweb.replace("-", "_"), objet=title,
                  dateparution=(deadline - timedelta(days=25)).date().isoformat(),
                  datelimitereponse=deadline.astimezone(PARIS).isoformat(),
                  url_avis=f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
                  gestion=json.dumps({"REFERENCE": {"IDWEB": idweb}}),
                  donnees=json.dumps(donnees, ensure_ascii=False))
    return record


def rectificatif(idweb: str, of: str, *, deadline: datetime) -> dict:
    record = json.loads((FIXTURES / "record_rectificatif.json").read_text())
    donnees = json.loads(record["donnees"])
    donnees["FNSimple"]["rectificatif"]["procedure"]["dateReceptionOffres"] = \
        deadline.astimezone(PARIS).isoformat()
    record.update(idweb=idweb, id=idweb.replace("-", "_"), annonce_lie=[of],
                  dateparution=(deadline - timedelta(days=10)).date().isoformat(),
                  datelimitereponse=deadline.astimezone(PARIS).isoformat(),
                  gestion=json.dumps({"REFERENCE": {"IDWEB": idweb}}),
                  donnees=json.dumps(donnees, ensure_ascii=False))
    return record


def annulation(idweb: str, of: str, *, published: date) -> dict:
    record = json.loads((FIXTURES / "record_annulation.json").read_text())
    record.update(idweb=idweb, id=idweb.replace("-", "_"), annonce_lie=of,
                  objet="Entretien des espaces verts et fauchage des accotements",
                  nomacheteur="Commune de Saint-Chamond", code_departement=["42"],
                  dateparution=published.isoformat(),
                  gestion=json.dumps({"REFERENCE": {"IDWEB": idweb}}))
    return record


def write(tmp_path: Path, name: str, *records: dict) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"total_count": len(records), "results": list(records)}))
    return path


def ingest(engine, path: Path) -> None:
    from tenders.ingest import ingest_files

    report = ingest_files(engine, "boamp", path)
    assert not report.summary.skipped, report.summary.skipped


def match(engine, now: datetime) -> None:
    from alerts.match_job import run_matching

    with session_scope(engine) as session:
        run_matching(session, tz=PARIS, now=now)


# --- the bot and the worker ----------------------------------------------------------------------

ANSWERS = {
    "consent": "yes", "siret": "none", "name": "Les Jardins d'Insertion", "family": "siae_aci",
    "activities": "entretien d'espaces verts", "cpv": ["77310000"],
    "area": {"all_france": False, "departements": ["42"]}, "rhythm": "instant",
    "channel": "telegram",
}


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    """The shared bot, with an emptied database for this test."""
    return centrale_bot


def member(engine, user, *, lang: str = "en", **answers) -> int:
    """A member created directly (the diagnostic is not under test here)."""
    with session_scope(engine) as session:
        _structure, row = save_diagnostic(
            session, telegram_user_id=user.user_id, chat_id=user.chat_id, language=lang,
            answers={**ANSWERS, **answers})
        return row.id


async def deliver(centrale, fake_server, engine, now: datetime):
    """One run of the outbox worker, as `centrale deliver --once` does, at `now`."""
    from alerts.runner import DeliveryRunner, WorkerConfig
    from channels.telegram import TelegramChannel, make_bot

    bot = make_bot(centrale.token, fake_server.base_url)
    await bot.initialize()
    worker = DeliveryRunner(engine, TelegramChannel(bot), tz=PARIS, now=lambda: now,
                            config=WorkerConfig(chat_interval_s=0.05))
    try:
        return await worker.run(once=True)
    finally:
        await bot.shutdown()
        worker.close()


def deliveries(engine, kind: str | None = None) -> list[Delivery]:
    with Session(engine) as session:
        query = select(Delivery).order_by(Delivery.id)
        if kind:
            query = query.where(Delivery.kind == kind)
        return list(session.execute(query).scalars())


def tender_id(engine, idweb: str) -> int:
    with Session(engine) as session:
        return session.execute(select(TenderRow.id).where(
            TenderRow.source_id == idweb)).scalar_one()


def current(user, message):
    """`message` as it is now in the user's chat (edits applied)."""
    return next(m for m in user.messages if m.message_id == message.message_id)


def callback_datas(message) -> list[str]:
    return [button["callback_data"] for button in message.buttons()]


async def alerted(centrale, fake_server, engine, tmp_path, user, *, now: datetime,
                  deadline: datetime, idweb: str = "26-101234"):
    """Ingest a fitting notice, match and deliver it at `now`; returns (tender id, message)."""
    ingest(engine, write(tmp_path, idweb, fnsimple(
        idweb, title="Entretien des espaces verts et fauchage des accotements",
        deadline=deadline)))
    match(engine, now)
    await deliver(centrale, fake_server, engine, now)
    replies = await user.wait(count=1)
    return tender_id(engine, idweb), replies.last


# --- the whole path ------------------------------------------------------------------------------


async def test_diagnostic_then_a_fitting_tender_arrives_as_an_alert(
        centrale, fake_server, engine, tmp_path, db_url, monkeypatch):
    from bot.cli import main
    from bot.settings import get_settings
    from tests.e2e.test_diagnostic import answer_french

    user = centrale.user(language_code="fr")
    await answer_french(user, email=False)
    replies = await user.tap("Confirmer")
    assert "Votre profil est enregistré" in replies.text
    # The diagnostic chose a daily digest; /alertes switches to instant alerts.
    replies = await user.send("/alertes")
    assert "al|r|instant" in callback_datas(replies.last)
    await user.tap("al|r|instant")
    with Session(engine) as session:
        assert session.execute(select(AlertPreference.rhythm)).scalar_one() == "instant"

    now = at(TUESDAY, 10)
    deadline = at(day(12), 12)
    path = write(tmp_path, "boamp", fnsimple(
        "26-101234", title="Entretien des espaces verts et fauchage des accotements",
        deadline=deadline))
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        assert main(["ingest", "boamp", "--file", str(path)]) == 0
    finally:
        get_settings.cache_clear()
    match(engine, now)
    stats = await deliver(centrale, fake_server, engine, now)
    assert stats.sent == 1
    alert = (await user.wait(count=1)).last

    text = alert.text
    assert "Entretien des espaces verts et fauchage des accotements" in text
    assert "Commune de Saint-Chamond" in text
    assert "Loire (42)" in text
    assert f"{format_date(day(12), 'fr')} à 12:00" in text or \
        f"{format_date(day(12), 'fr')} at 12:00" in text
    assert "dans 12 jours" in text
    assert format_amount(180000, "fr") in text
    assert "Lot 1" in text and format_amount(120000, "fr") in text
    assert "♻️" in text  # the social clause badge
    tid = tender_id(engine, "26-101234")
    with Session(engine) as session:
        reasons = session.execute(select(MatchRow.reasons)).scalar_one()
    assert reasons
    for reason in reasons:
        assert render_reason(Reason.from_dict(reason), "fr") in text
    assert 'href="https://www.boamp.fr/pages/avis/?q=idweb:26-101234"' in alert.html
    assert callback_datas(alert) == [f"a|i|{tid}", f"a|n|{tid}", f"a|p|{tid}", f"a|h|{tid}"]
    # Delivered once: another run sends nothing.
    assert (await deliver(centrale, fake_server, engine, now)).sent == 0
    [delivery] = deliveries(engine)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.channel_message_id == str(alert.message_id)


# --- buttons -------------------------------------------------------------------------------------


async def test_interested_not_for_us_and_undo(centrale, fake_server, engine, tmp_path):
    user = centrale.user(language_code="en")
    member_id = member(engine, user)
    tid, alert = await alerted(centrale, fake_server, engine, tmp_path, user,
                               now=at(TUESDAY, 10), deadline=at(day(12), 12))
    assert alert.labels() == ["Interested", "Not for us", "Find partners", "Need help"]

    replies = await user.tap("Interested", message=alert)
    assert replies.answer.text.startswith("Noted: you are interested")
    assert replies.last.labels() == ["✅ Interested", "↩️ Undo", "Find partners", "Need help"]
    assert replies.last.text == alert.text  # only the buttons changed

    # Tapping the chosen button again changes nothing (and Telegram is not asked to).
    replies = await user.tap("✅ Interested", message=alert)
    assert replies.answer is not None and not [o for o in replies.outputs if o.kind == "edit"]

    await user.tap("Undo", message=alert)
    replies = await user.tap("Not for us", message=alert)
    assert replies.last.labels() == ["Too far", "Too big for us", "Not our trade",
                                     "Deadline too short", "↩️ Undo"]
    replies = await user.tap("Too far", message=alert)
    assert replies.last.labels() == ["🚫 Not for us: too far", "↩️ Undo"]
    with Session(engine) as session:
        rows = session.execute(select(Interest).where(Interest.member_id == member_id))
        assert [(r.signal, r.reason) for r in rows.scalars()] == [("not_for_us", "far")]
    replies = await user.tap("Undo", message=alert)
    assert replies.last.labels() == ["Interested", "Not for us", "Find partners", "Need help"]
    with Session(engine) as session:
        assert session.execute(select(Interest)).first() is None


async def test_partners_and_help_say_what_happens_next(centrale, fake_server, engine, tmp_path):
    user = centrale.user(language_code="en")
    advisor = centrale.user(language_code="fr", first_name="Conseillère")
    member(engine, user)
    tid, alert = await alerted(centrale, fake_server, engine, tmp_path, user,
                               now=at(TUESDAY, 10), deadline=at(day(12), 12))
    replies = await user.tap("Find partners", message=alert)
    assert "Which role do you propose to your partners?" in replies.text  # consortia.search
    assert "✅ Find partners" in current(user, alert).labels()

    # Advisors are listed in CENTRALE_ADVISORS and seeded at start (bot.app.seed_advisors).
    settings = centrale.application.bot_data["settings"]
    seed_advisors(engine, settings.model_copy(update={"CENTRALE_ADVISORS": str(advisor.user_id)}))
    replies = await user.tap("Need help", message=alert)
    assert "an advisor will contact you" in replies.text
    assert advisor.messages == []  # through the outbox, not straight from the handler
    await deliver(centrale, fake_server, engine, at(TUESDAY, 11))
    [note] = advisor.messages
    assert "Entretien des espaces verts" in note.text and str(tid) in note.text
    assert "demande un accompagnement" in note.text  # in the advisor's language
    assert "Je prends" in note.labels()  # a support request (support/requests.py)
    replies = await advisor.tap("Je prends", message=note)
    assert "prise par" in replies.text  # the request as it stands now
    assert [row.status for row in _support_requests(engine)] == ["assigned"]
    assert current(user, alert).labels() == ["Interested", "Not for us", "✅ Find partners",
                                             "✅ Need help"]
    with Session(engine) as session:
        signals = session.execute(select(Interest.signal).order_by(Interest.id)).scalars().all()
    assert signals == ["partners", "help"]


def _support_requests(engine):
    from store.consortia_models import SupportRequest

    with Session(engine) as session:
        return session.execute(select(SupportRequest)).scalars().all()


async def test_forged_stale_and_garbage_callbacks_change_nothing(centrale, fake_server, engine,
                                                                  tmp_path):
    owner = centrale.user(language_code="en")
    other = centrale.user(language_code="fr")
    member(engine, owner)
    member(engine, other, lang="fr", name="Bâtir Ensemble", activities="maçonnerie",
           cpv=["45262500"], area={"all_france": False, "departements": ["13"]})
    tid, alert = await alerted(centrale, fake_server, engine, tmp_path, owner,
                               now=at(TUESDAY, 10), deadline=at(day(12), 12))
    menu = (await other.send("/alertes")).last
    # Another member's tender (never sent to them), an unknown tender, and garbage: a polite
    # answer, nothing recorded, no message changed.
    for data in (f"a|i|{tid}", f"a|h|{tid}", f"a|o|{tid}", "a|i|987654"):
        replies = await other.press(data, message=menu)
        assert "plus disponible" in replies.answer.text
        assert not [m for m in replies if m.message_id != menu.message_id]
    for data in ("a|i|", "al|q|1", "a|nr|1|<script>", "\x00\xff", "x" * 64, "a|i|-1"):
        replies = await other.press(data, message=menu)
        assert replies.answer is not None and not list(replies)  # answered, nothing shown
    # The owner's own stale button from an older keyboard layout still works.
    replies = await owner.press(f"a|p|{tid}", message=alert)
    assert "Which role do you propose to your partners?" in replies.text  # consortia.search
    with Session(engine) as session:
        rows = session.execute(select(Interest.member_id, Interest.signal)).all()
        owner_id = session.execute(select(Member.id).where(
            Member.telegram_user_id == owner.user_id)).scalar_one()
    assert rows == [(owner_id, "partners")]
    assert current(other, menu).html == menu.html


# --- /alertes, /pause, /reprendre ----------------------------------------------------------------


async def test_alertes_menu(centrale, engine):
    user = centrale.user(language_code="en")
    member_id = member(engine, user)
    replies = await user.send("/alertes")
    assert "each tender as soon as it is found" in replies.text
    assert "20:00 to 08:00, and weekends" in replies.text
    replies = await user.tap("Daily digest")
    assert "a daily digest at 08:00" in replies.text
    replies = await user.tap("Hour: 08:00")
    assert "At what time" in replies.text
    replies = await user.tap("18:00")
    assert "a daily digest at 18:00" in replies.text
    await user.tap("Weekly digest")
    replies = await user.tap("📅 Monday")
    replies = await user.tap("Friday")
    assert "a weekly digest on Friday at 18:00" in replies.text
    await user.tap("Quiet hours")
    replies = await user.tap("22:00 to 07:00")
    assert "22:00 to 07:00, and weekends" in replies.text
    replies = await user.tap("Quiet weekends")
    assert "22:00 to 07:00." in replies.text and "Weekends too" in replies.last.labels()
    replies = await user.tap("Weekly digest")  # already chosen: nothing to edit
    assert not [o for o in replies.outputs if o.kind == "edit"]
    replies = await user.tap("Done")
    assert replies.last.labels() == [] and "Saved" in replies.text
    with Session(engine) as session:
        prefs = session.execute(select(AlertPreference).where(
            AlertPreference.member_id == member_id)).scalars().one()
    assert (prefs.rhythm, prefs.digest_hour, prefs.weekly_day) == ("weekly", 18, 4)
    assert (prefs.quiet_start, prefs.quiet_end, prefs.quiet_weekends) == (22, 7, False)


async def test_pause_and_resume_commands(centrale, engine):
    user = centrale.user(language_code="en")
    member(engine, user)
    for bad in ("/pause abc", "/pause 0", "/pause 200", "/pause 3 4"):
        replies = await user.send(bad)
        assert "between 1 and 90, for example /pause 14" in replies.text
    replies = await user.send("/pause")
    until = datetime.now(PARIS).date() + timedelta(days=7)
    assert f"Alerts paused until {format_date(until, 'en')}" in replies.text
    replies = await user.send("/alertes")
    assert "Paused until" in replies.text and "▶️ Resume" in replies.labels()
    replies = await user.send("/reprendre")
    assert "Alerts resumed" in replies.text
    replies = await user.send("/reprendre")
    assert "not paused" in replies.text
    replies = await user.send("/pause 14")
    until = datetime.now(PARIS).date() + timedelta(days=14)
    assert format_date(until, "en") in replies.text
    replies = await user.send("/stop")
    assert "you will receive no more tenders" in replies.text
    replies = await user.send("/alertes")
    assert "Stopped until you resume them" in replies.text and "▶️ Resume" in replies.labels()
    replies = await user.tap("▶️ Resume")
    assert "Alerts resumed" in replies.answer.text


async def test_commands_without_a_profile_and_in_the_menu(centrale):
    user = centrale.user(language_code="en")
    for command in ("/alertes", "/pause", "/reprendre"):
        replies = await user.send(command)
        assert "/start" in replies.text
    menu = {name for name, _description in centrale.state.commands_for("default", "en")}
    assert {"alertes", "pause", "reprendre"} <= menu
    replies = await user.send("/aide")
    assert "/alertes" in replies.text and "/pause" in replies.text


async def test_pause_holds_alerts_and_resume_releases_them(centrale, fake_server, engine,
                                                           tmp_path):
    user = centrale.user(language_code="en")
    member(engine, user)
    await user.send("/pause 30")
    now = datetime.now(UTC)
    ingest(engine, write(tmp_path, "a", fnsimple(
        "26-200001", title="Entretien des espaces verts", deadline=at(day(40), 12))))
    match(engine, now)
    await deliver(centrale, fake_server, engine, now)
    [waiting] = deliveries(engine)
    assert waiting.status == DeliveryStatus.PENDING
    assert waiting.next_attempt_at >= now + timedelta(days=29)
    before = len(user.messages)
    await user.send("/reprendre")
    [waiting] = deliveries(engine)
    assert waiting.next_attempt_at < now + timedelta(days=4)  # the next allowed moment
    stats = await deliver(centrale, fake_server, engine, waiting.next_attempt_at)
    assert stats.sent == 1
    assert "Entretien des espaces verts" in user.messages[-1].text
    assert len(user.messages) == before + 2  # the answer to /reprendre, then the alert


# --- quiet hours and weekends --------------------------------------------------------------------


async def test_quiet_weekend_and_quiet_evening(centrale, fake_server, engine, tmp_path):
    user = centrale.user(language_code="en")
    member(engine, user)
    saturday = at(day(4), 11)
    ingest(engine, write(tmp_path, "a", fnsimple(
        "26-300001", title="Entretien des espaces verts", deadline=at(day(20), 12))))
    match(engine, saturday)
    stats = await deliver(centrale, fake_server, engine, saturday)
    assert stats.sent == 0 and user.messages == []
    [held] = deliveries(engine)
    monday_8 = at(day(6), 8)
    assert held.next_attempt_at == monday_8
    assert (await deliver(centrale, fake_server, engine, at(day(5), 22))).sent == 0  # Sunday
    assert (await deliver(centrale, fake_server, engine, monday_8)).sent == 1
    assert "Entretien des espaces verts" in (await user.wait(count=1)).last.text

    # A weekday evening (21:30): held until 08:00 the next morning.
    evening = at(day(8), 21, 30)
    ingest(engine, write(tmp_path, "b", fnsimple(
        "26-300002", title="Fauchage des talus", deadline=at(day(20), 12))))
    match(engine, evening)
    assert (await deliver(centrale, fake_server, engine, evening)).sent == 0
    held = deliveries(engine)[-1]
    assert held.next_attempt_at == at(day(9), 8)
    assert (await deliver(centrale, fake_server, engine, at(day(9), 8))).sent == 1
    assert "Fauchage des talus" in (await user.wait(count=1)).last.text


# --- digests -------------------------------------------------------------------------------------


async def test_daily_digest_groups_and_orders_by_score(centrale, fake_server, engine, tmp_path):
    user = centrale.user(language_code="en")
    member(engine, user, rhythm="daily")
    now = at(TUESDAY, 10)
    deadline = at(day(20), 12)
    ingest(engine, write(
        tmp_path, "three",
        fnsimple("26-400001", title="Travaux horticoles divers", cpv="77300000", social=False,
                 deadline=deadline),
        fnsimple("26-400002", title="Entretien des espaces verts du parc", deadline=deadline),
        fnsimple("26-400003", title="Fauchage des accotements", cpv="77312000", social=False,
                 deadline=deadline)))
    match(engine, now)
    assert len(deliveries(engine, DeliveryKind.DIGEST_ITEM)) == 3
    assert (await deliver(centrale, fake_server, engine, now)).sent == 0  # not yet 08:00
    stats = await deliver(centrale, fake_server, engine, at(day(1), 8))
    assert (stats.messages, stats.sent) == (1, 3)
    digest = (await user.wait(count=1)).last
    with Session(engine) as session:
        scored = session.execute(select(TenderRow.title, MatchRow.score, TenderRow.id)
                                 .join(MatchRow, MatchRow.tender_id == TenderRow.id)
                                 .order_by(MatchRow.score.desc())).all()
    assert len({score for _t, score, _i in scored}) == 3
    assert "daily digest: 3 tenders" in digest.text
    for number, (title, _score, _tid) in enumerate(scored, 1):
        assert f"{number}. {title}" in digest.text
    assert callback_datas(digest) == [f"a|o|{tid}" for _t, _s, tid in scored]
    # A number opens that tender as a full alert, with its buttons.
    replies = await user.tap("1", message=digest)
    full = replies.last
    assert scored[0][0] in full.text and "Why this tender" in full.text
    assert callback_datas(full)[0] == f"a|i|{scored[0][2]}"


# --- rectificatif, cancellation, reminders -------------------------------------------------------


async def test_rectificatif_sends_what_changed(centrale, fake_server, engine, tmp_path):
    user = centrale.user(language_code="fr")
    member(engine, user, lang="fr")
    now = at(TUESDAY, 10)
    old, new = at(day(10), 12), at(day(17), 12)
    await alerted(centrale, fake_server, engine, tmp_path, user, now=now, deadline=old)
    later = at(day(2), 10)
    ingest(engine, write(tmp_path, "rectif", rectificatif("26-105678", "26-101234",
                                                          deadline=new)))
    match(engine, later)
    [update] = deliveries(engine, DeliveryKind.UPDATE)
    assert (await deliver(centrale, fake_server, engine, later)).sent == 1
    message = (await user.wait(count=1)).last
    assert "Entretien des espaces verts et fauchage des accotements" in message.text
    assert format_date(day(10), "fr") in message.text  # the old deadline, struck through
    assert format_date(day(17), "fr") in message.text  # the new one
    assert "<s>" in message.html
    assert update.member_id is not None and message.buttons() == []


async def test_cancellation_tells_those_who_marked_interest(centrale, fake_server, engine,
                                                            tmp_path):
    interested = centrale.user(language_code="en")
    indifferent = centrale.user(language_code="en")
    member(engine, interested)
    member(engine, indifferent)
    now = at(TUESDAY, 10)
    ingest(engine, write(tmp_path, "call", fnsimple(
        "26-101234", title="Entretien des espaces verts", deadline=at(day(12), 12))))
    match(engine, now)
    await deliver(centrale, fake_server, engine, now)
    alert = (await interested.wait(count=1)).last
    await indifferent.wait(count=1)
    await interested.tap("Interested", message=alert)

    later = at(day(3), 10)
    ingest(engine, write(tmp_path, "cancel", annulation("26-106789", "26-101234",
                                                        published=day(3))))
    match(engine, later)
    assert (await deliver(centrale, fake_server, engine, later)).sent == 1
    message = (await interested.wait(count=1)).last
    assert "Tender cancelled" in message.text and "Entretien des espaces verts" in message.text
    assert len(indifferent.messages) == 1  # only the alert


async def test_reminders_at_j7_and_j2(centrale, fake_server, engine, tmp_path):
    from alerts.reminders import enqueue_reminders

    user = centrale.user(language_code="en")
    member(engine, user)
    deadline = at(day(16), 12)  # a Thursday: J-7 and J-2 are weekdays
    tid, alert = await alerted(centrale, fake_server, engine, tmp_path, user,
                               now=at(TUESDAY, 10), deadline=deadline)
    await user.tap("Interested", message=alert)

    for days, when in ((7, at(day(9), 9)), (2, at(day(14), 9))):
        with session_scope(engine) as session:
            assert enqueue_reminders(session, when, PARIS) == 1
        with session_scope(engine) as session:
            assert enqueue_reminders(session, when, PARIS) == 0  # idempotent
        assert (await deliver(centrale, fake_server, engine, when)).sent == 1
        reminder = (await user.wait(count=1)).last
        assert f"Reminder: {days} days left to answer" in reminder.text
        assert "Entretien des espaces verts" in reminder.text
        assert callback_datas(reminder) == [f"a|p|{tid}", f"a|h|{tid}"]
    replies = await user.tap("Need help", message=reminder)
    assert current(user, reminder).labels() == ["Find partners", "✅ Need help"]
    assert "advisor will contact you" in replies.text
    keys = [d.idempotency_key for d in deliveries(engine, DeliveryKind.REMINDER)]
    assert keys == [f"reminder:{d.member_id}:{tid}:{n}:telegram"
                    for d, n in zip(deliveries(engine, DeliveryKind.REMINDER), (7, 2),
                                    strict=True)]


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_alert_with_hostile_text_is_accepted(centrale, fake_server, engine, tmp_path,
                                                   lang):
    user = centrale.user(language_code=lang)
    member(engine, user, lang=lang, activities="entretien, <b>&amp;")
    title = "Entretien <script>alert('x')</script> & « espaces » " + "très long " * 800
    ingest(engine, write(tmp_path, "hostile", fnsimple(
        "26-500001", title=title, deadline=at(day(12), 12))))
    match(engine, at(TUESDAY, 10))
    stats = await deliver(centrale, fake_server, engine, at(TUESDAY, 10))
    assert stats.sent == 1 and stats.dead == 0
    alert = (await user.wait(count=1)).last
    assert "<script>" in alert.text  # shown as typed, never as markup
    assert len(alert.text) <= 4096


async def test_support_commands_through_telegram(centrale, fake_server, engine):
    user = centrale.user(language_code="fr")
    member(engine, user, lang="fr")
    replies = await user.send("/demandes")  # not an advisor
    assert "conseill" in replies.text and not _support_requests(engine)
    replies = await user.send("/accompagnement")
    assert "/accompagnement" in replies.text and not _support_requests(engine)
    replies = await user.send("/accompagnement Comment répondre à un marché <alloti> ?")
    assert "transmise aux conseillers" in replies.text
    assert [r.text for r in _support_requests(engine)] == [
        "Comment répondre à un marché <alloti> ?"]
