"""The diagnostic end to end: the real Application, through the fake Bot API server."""

from __future__ import annotations

import json

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

from store.db import all_metadata
from store.models import AlertPreference, Member, Structure

THEATRE_SIRET = "80032984900023"


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    """The shared bot, with an emptied database for this test."""
    return centrale_bot


def structures(engine) -> list[Structure]:
    with Session(engine) as session:
        return list(session.exec(select(Structure)).scalars())


async def answer_french(user, *, siret=None, email=True):
    """Go through the whole diagnostic in French; returns the summary replies."""
    replies = await user.send("/start")
    assert "Question 1/" in replies.text and "Bienvenue sur Centrale" in replies.text
    replies = await user.tap("J'accepte")
    assert "numéro SIRET" in replies.text
    if siret:
        replies = await user.send(siret)
        assert "Est-ce bien la vôtre" in replies.text
        await user.tap("Oui, c'est nous")
    else:
        replies = await user.tap("Pas encore de SIRET")
        assert "nom de votre structure" in replies.text
        await user.send("Les Jardins d'Alice <&> « bio »")
    replies = await user.tap("SIAE – ACI (atelier)")
    assert "principes de l'économie sociale et solidaire" in replies.text
    replies = await user.tap("Oui")
    assert "Quels sont vos métiers" in replies.text
    replies = await user.send("entretien d'espaces verts, nettoyage de locaux")
    assert "codes CPV" in replies.text and "77310000" in replies.text
    replies = await user.tap("77310000")
    assert "✅ 77310000" in replies.text
    replies = await user.tap("Valider")
    assert "Où pouvez-vous travailler" in replies.text
    replies = await user.send("42, 43, Rhône")
    assert "Combien de personnes" in replies.text
    await user.tap("10 à 19 personnes")
    replies = await user.tap("Passer")  # turnover is optional
    assert "plus gros marché" in replies.text
    await user.tap("40 k€ à 100 k€")
    await user.tap("Jamais répondu")
    await user.tap("Attestation URSSAF")
    await user.tap("Kbis ou statuts")
    await user.tap("Valider")
    await user.tap("Comme mandataire")
    await user.tap("Valider")
    await user.tap("Résumé quotidien")
    if email:
        replies = await user.tap("Les deux")
        assert "adresse e-mail" in replies.text
        return await user.send("contact@jardins-alice.fr")
    return await user.tap("Telegram")


async def test_full_diagnostic_in_french(centrale, engine):
    user = centrale.user(language_code="fr")
    replies = await answer_french(user)
    summary = replies.text
    assert "Voici votre profil" in summary
    assert "Loire (42), Haute-Loire (43), Rhône (69)" in summary
    assert "Les Jardins d'Alice <&> « bio »" in summary  # escaped on the way, shown as typed
    assert "Zone : Loire" in summary and "Chiffre d'affaires : passée" in summary
    replies = await user.tap("Confirmer")
    assert "Votre profil est enregistré" in replies.text
    assert "Score de préparation : 25/100" in replies.text
    assert "1. Téléchargez votre attestation de régularité fiscale" in replies.text
    assert "2. Commencez par un marché réservé ♻️" in replies.text
    assert "3. Demandez à votre assureur" in replies.text
    [structure] = structures(engine)
    assert structure.name == "Les Jardins d'Alice <&> « bio »"
    assert structure.family == "siae_aci" and structure.is_siae
    assert structure.departements == ["42", "43", "69"]
    assert structure.cpv_codes == ["77310000"]
    assert structure.keywords == ["entretien d'espaces verts", "nettoyage de locaux"]
    assert structure.readiness_score == 25 and structure.max_contract_value == 100_000
    with Session(engine) as session:
        member = session.exec(select(Member)).scalars().one()
        prefs = session.exec(select(AlertPreference)).scalars().one()
    assert member.telegram_user_id == user.user_id and member.language == "fr"
    assert member.email == "contact@jardins-alice.fr" and member.consent_data_at
    assert (prefs.rhythm, prefs.channel) == ("daily", "both")


async def test_full_diagnostic_in_english_with_company_lookup(centrale, engine, company_api):
    user = centrale.user(language_code="en-GB")
    replies = await user.send("/start")
    assert "Welcome to Centrale" in replies.text and "Question 1/" in replies.text
    await user.tap("I agree")
    replies = await user.send("800 329 849 00023")
    assert "I found this structure" in replies.text
    assert "THEATRE STEPHANE GILDAS" in replies.text and "Paris (75)" in replies.text
    replies = await user.tap("Yes, that's us")
    assert "The register suggests: Association" in replies.text
    await user.tap("Association")
    await user.tap("Yes")
    replies = await user.send("spectacle vivant, ateliers théâtre")
    assert "92300000 Entertainment services" in replies.text  # English labels, French words
    replies = await user.tap("Keywords only")
    assert "📍 Paris (75)" in replies.labels()
    replies = await user.tap("📍 Paris (75)")
    assert "How many people" in replies.text
    await user.tap("1 to 4 people")
    await user.tap("Under €100k")
    await user.tap("Under €40k")
    await user.tap("Answered, never won")
    await user.tap("Done")
    await user.tap("Not interested")
    await user.tap("Done")
    await user.tap("Instant")
    replies = await user.tap("Telegram")
    assert "Here is your profile" in replies.text and "Paris (75)" in replies.text
    replies = await user.tap("Confirm")
    assert "Readiness score: 8/100" in replies.text
    [structure] = structures(engine)
    assert structure.siret == THEATRE_SIRET and structure.name == "THEATRE STEPHANE GILDAS"
    assert structure.legal_form == "9220" and structure.naf == "90.01Z" and structure.is_ess
    assert company_api.calls.call_count == 1


async def test_company_api_down_goes_on_by_hand(centrale, engine, company_api):
    company_api.clear()
    company_api.route().mock(return_value=httpx.Response(503))
    user = centrale.user(language_code="en")
    await user.send("/start")
    await user.tap("I agree")
    replies = await user.send("53374499100035")  # not looked up (nor cached) before
    assert "The company register did not answer: we go on by hand." in replies.text
    assert "What is the name of your structure?" in replies.text


async def test_validation_errors_change_nothing(centrale, engine):
    user = centrale.user(language_code="fr")
    await user.send("/start")
    await user.tap("J'accepte")
    replies = await user.send("123 456 789 00000")
    assert "Ce SIRET n'est pas valide" in replies.text and "Question 2/" in replies.text
    await user.tap("Pas encore de SIRET")
    replies = await user.send("x" * 10_000)
    assert "trop longue (10000 caractères)" in replies.text
    await user.send("Atelier du Lien")
    replies = await user.send("je tape au lieu de toucher")
    assert "Utilisez les boutons" in replies.text
    await user.tap("Association")
    await user.tap("Oui")
    replies = await user.send("!!")
    assert "Décrivez vos métiers" in replies.text
    await user.send("menuiserie bois")
    await user.tap("Mots-clés seuls")  # nothing ticked: keywords only
    replies = await user.send("42, Rhôn")
    assert "Je ne connais pas « Rhôn »" in replies.text and "Rhône (69)" in replies.text
    replies = await user.send("<b>Atlantide</b>")
    assert "Je ne connais pas" in replies.text
    assert structures(engine) == []


async def test_back_and_cancel(centrale, engine):
    user = centrale.user(language_code="fr")
    await user.send("/start")
    await user.tap("J'accepte")
    await user.tap("Pas encore de SIRET")
    replies = await user.send("Atelier du Lien")
    assert "Quel type de structure" in replies.text
    replies = await user.tap("Retour")
    assert "nom de votre structure" in replies.text
    assert "Réponse actuelle : Atelier du Lien" in replies.text
    replies = await user.send("/annuler")
    assert "Annulé : rien n'a été enregistré" in replies.text
    replies = await user.send("Atelier du Lien")
    assert "Je n'ai pas compris" in replies.text
    assert structures(engine) == []


async def test_declining_consent_stores_nothing(centrale, engine):
    user = centrale.user(language_code="fr")
    await user.send("/start")
    replies = await user.tap("Non merci")
    assert "rien n'a été enregistré" in replies.text
    with engine.connect() as connection:
        from store.models import BotState
        rows = connection.execute(select(BotState)).all()
    assert all(str(user.user_id) not in row.key for row in rows)


async def test_profile_edit_without_redoing_the_diagnostic(centrale, engine):
    user = centrale.user(language_code="fr")
    await answer_french(user, email=False)
    await user.tap("Confirmer")
    replies = await user.send("/profil")
    assert "Votre profil" in replies.text and "Score de préparation : 25/100" in replies.text
    replies = await user.tap("✏️ Zone")
    assert "Où pouvez-vous travailler" in replies.text
    replies = await user.send("Bretagne")
    assert "✅ Enregistré." in replies.text
    assert "Côtes-d'Armor (22)" in replies.text  # the profile shown again, updated
    [structure] = structures(engine)
    assert structure.departements == ["22", "29", "35", "56"]
    assert structure.cpv_codes == ["77310000"]  # the rest is untouched


async def test_profile_edit_to_email_asks_the_address(centrale, engine):
    user = centrale.user(language_code="fr")
    await answer_french(user, email=False)
    await user.tap("Confirmer")
    await user.send("/profil")
    await user.tap("✏️ Canal des alertes")
    replies = await user.tap("E-mail")
    assert "adresse e-mail" in replies.text
    await user.send("contact@lien.fr")
    with Session(engine) as session:
        member = session.exec(select(Member)).scalars().one()
        prefs = session.exec(select(AlertPreference)).scalars().one()
    assert member.email == "contact@lien.fr" and prefs.channel == "email"


async def test_my_data_and_delete(centrale, engine):
    user = centrale.user(language_code="fr")
    await answer_french(user)
    await user.tap("Confirmer")
    replies = await user.send("/mesdonnees")
    document = replies.last.document
    assert document is not None and document.filename.endswith(".json")
    exported = json.loads(document.data)
    assert exported["member"]["email"] == "contact@jardins-alice.fr"
    assert exported["structure"]["departements"] == ["42", "43", "69"]
    replies = await user.send("/supprimer")
    assert "Supprimer vos données" in replies.text
    replies = await user.tap("Non, garder")
    assert "Rien n'a été supprimé" in replies.text
    await user.send("/supprimer")
    replies = await user.tap("Oui, tout supprimer")
    assert "Vos données ont été supprimées" in replies.text
    with engine.connect() as connection:
        for table in all_metadata().sorted_tables:
            dump = " ".join(str(row) for row in connection.execute(select(table)).all())
            for secret in ("jardins-alice", "Jardins d'Alice", str(user.user_id)):
                assert secret not in dump, (table.name, secret)
    replies = await user.send("/profil")
    assert "pas encore de profil" in replies.text


async def test_language_command_switches(centrale, engine):
    user = centrale.user(language_code="fr")
    replies = await user.send("/langue")
    assert "Choisissez votre langue" in replies.text
    replies = await user.tap("English")
    assert "Language: English" in replies.text
    replies = await user.send("/start")
    assert "Welcome to Centrale" in replies.text


async def test_help_and_command_menu(centrale):
    user = centrale.user(language_code="en")
    replies = await user.send("/aide")
    assert "/profil" in replies.text and "/supprimer" in replies.text
    fr = centrale.state.commands_for("default", "fr")
    en = centrale.state.commands_for("default", "en")
    assert {c for c, _d in fr} >= {"start", "profil", "aide", "langue", "mesdonnees",
                                         "supprimer", "annuler"}
    assert ("profil", "Voir et modifier votre profil") in fr
    assert ("profil", "See and change your profile") in en


@pytest.mark.parametrize("command", ["/start", "/profil"])
async def test_command_mid_way_shows_current_question(centrale, engine, command):
    user = centrale.user(language_code="fr")
    await user.send("/start")
    await user.tap("J'accepte")
    replies = await user.send(command)
    assert "Reprenons là où vous en étiez" in replies.text
    assert "numéro SIRET" in replies.text


async def test_stale_button_is_answered(centrale, engine):
    user = centrale.user(language_code="fr")
    first = await user.send("/start")
    await user.tap("J'accepte")
    # A client may still show an old keyboard: its button arrives for a question now closed.
    user.state.push_callback(user.user_id, first.last.message_id, "q|consent|c|0")
    replies = await user.wait(until=lambda r: r.answers and "numéro SIRET" in r.text)
    assert "close" in (replies.answer.text or "")


@pytest.mark.parametrize("language_code, label", [
    ("en", "77310000 Planting and maintenance"), ("fr", "77310000 Réalisation et entretien"),
])
async def test_french_trades_read_right_whatever_the_telegram_language(
        centrale, engine, language_code, label):
    """Issue 11: the statutes' French words on an English Telegram (and a French one)."""
    user = centrale.user(language_code=language_code)
    await user.send("/start")
    await user.tap("I agree" if language_code == "en" else "J'accepte")
    await user.tap("No SIRET yet" if language_code == "en" else "Pas encore de SIRET")
    await user.send("Les Jardins d'Alice")
    await user.tap("Association")
    await user.tap("Yes" if language_code == "en" else "Oui")
    replies = await user.send(
        "Entretien des espaces verts, débroussaillage et nettoyage de locaux")
    assert label in replies.text and "45111220" in replies.text
    for wrong in ("Space transport", "Vertical blinds", "De-icing", "De-aeration",
                  "Vertical-spindle", "transport spatial", "Jalousies"):
        assert wrong not in replies.text
