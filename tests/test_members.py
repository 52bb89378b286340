"""Members and structures in the store, on SQLite and PostgreSQL."""

from sqlalchemy import func, select, text
from sqlmodel import Session

from conversations import profile_fields
from store import members
from store.db import all_metadata, session_scope
from store.models import AlertPreference, BotState, Member, Structure

ANSWERS = {
    "consent": "yes", "siret": "80032984900023", "company_status": "found", "company_ok": "yes",
    "company": {"name": "THEATRE STEPHANE GILDAS", "legal_form": "9220", "naf": "90.01Z",
                "departement": "75", "is_ess": True, "is_siae": False, "siae_type": None},
    "family": "association", "activities": "spectacle vivant, ateliers théâtre",
    "cpv": ["92312000"], "area": {"all_france": False, "departements": ["75", "92"]},
    "headcount": "1-4", "turnover": "lt100k", "capacity": "lt40k", "experience": "answered",
    "readiness": ["urssaf", "tax"], "consortium": ["cocontractor"], "rhythm": "weekly",
    "channel": "both", "email": "contact@theatre.fr",
}


def save(engine, user_id=42, answers=ANSWERS):
    with session_scope(engine) as session:
        return profile_fields.save_diagnostic(session, telegram_user_id=user_id, chat_id=user_id,
                                       language="fr", answers=answers)


def test_save_diagnostic_creates_profile(engine):
    save(engine)
    with Session(engine) as session:
        structure = session.exec(select(Structure)).scalars().one()
        assert structure.siret == "80032984900023"
        assert structure.name == "THEATRE STEPHANE GILDAS" and structure.legal_form == "9220"
        assert structure.is_ess and structure.naf == "90.01Z"
        assert structure.departements == ["75", "92"] and structure.cpv_codes == ["92312000"]
        assert structure.keywords == ["spectacle vivant", "ateliers théâtre"]
        assert structure.max_contract_value == 40_000
        assert structure.readiness_score == 15 + 15 + 8
        member = session.exec(select(Member)).scalars().one()
        assert member.email == "contact@theatre.fr" and member.consent_data_at is not None
        prefs = session.exec(select(AlertPreference)).scalars().one()
        assert (prefs.rhythm, prefs.channel) == ("weekly", "both")


def test_second_member_joins_same_structure_by_siret(engine):
    save(engine, 1)
    save(engine, 2)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Structure)).scalar() == 1
        assert session.exec(select(func.count()).select_from(Member)).scalar() == 2


def test_profile_round_trip_and_update(engine):
    save(engine)
    with session_scope(engine) as session:
        member = members.member_by_telegram(session, 42)
        answers, score = profile_fields.load_answers(session, member)
        assert score == 38 and answers["area"]["departements"] == ["75", "92"]
        answers["capacity"] = "250k-1m"
        answers["rhythm"] = "instant"
        profile_fields.update_profile(session, member, answers)
    with Session(engine) as session:
        structure = session.exec(select(Structure)).scalars().one()
        assert structure.max_contract_value == 1_000_000
        assert structure.keywords == ["spectacle vivant", "ateliers théâtre"]
        assert structure.name == "THEATRE STEPHANE GILDAS"
        assert session.exec(select(AlertPreference)).scalars().one().rhythm == "instant"


def test_export_has_everything_about_the_member(engine):
    save(engine)
    with session_scope(engine) as session:
        document = members.export_member(session, members.member_by_telegram(session, 42))
    assert document["member"]["email"] == "contact@theatre.fr"
    assert document["structure"]["siret"] == "80032984900023"
    assert document["alert_preferences"]["rhythm"] == "weekly"


def test_delete_leaves_no_personal_data(engine):
    save(engine, 42)
    with session_scope(engine) as session:
        session.add(BotState(kind="user_data", key="42", value={"lang": "fr"}))
        session.add(BotState(kind="conv:diagnostic", key="[42, 42]", value="area"))
        session.add(BotState(kind="conv:diagnostic", key="[142, 142]", value="area"))
    with session_scope(engine) as session:
        assert members.delete_member(session, members.member_by_telegram(session, 42))
    with engine.connect() as connection:
        for table in all_metadata().sorted_tables:
            rows = connection.execute(select(table)).all()
            dump = " ".join(str(row) for row in rows)
            for secret in ("contact@theatre.fr", "80032984900023", "THEATRE", "[42, 42]"):
                assert secret not in dump, (table.name, secret)
        left = connection.execute(text("select key from bot_state")).scalars().all()
        assert left == ["[142, 142]"]


def test_structure_kept_while_another_member_remains(engine):
    save(engine, 1)
    save(engine, 2)
    with session_scope(engine) as session:
        assert not members.delete_member(session, members.member_by_telegram(session, 1))
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Structure)).scalar() == 1
