"""Every screen of the diagnostic, in French, as Telegram shows it: each question (in each of its
variants), each validation error, the summary, the profile and the final result. The French
translation records and marks what it translates (tests/screens.py); a message id shown
untranslated, or English typed in the code, fails the test. The commands (/aide, /profil, …) are
checked through the real bot in tests/e2e/test_french_commands.py."""

from __future__ import annotations

import pytest

from conversations import choices as C
from conversations.diagnostic import QUESTIONS
from conversations.driver import DIAGNOSTIC, FLOW, PROFILE_EDIT, DiagnosticDriver, Finish
from conversations.questions import Services
from conversations.readiness import NEXT_STEPS
from handlers import render
from locales import gettext_for
from tests.screens import french_screens

FOUND_COMPANY = {
    "name": "THEATRE STEPHANE GILDAS", "legal_form": "9220", "naf": "90.01Z",
    "departement": "75", "is_ess": True, "is_siae": True, "siae_type": "ACI",
    "is_association": True,
}

# A whole diagnostic, answered; variants below change one part of it.
ANSWERS = {
    "consent": "yes", "siret": "none", "company_status": "none", "name": "Atelier Solidaire",
    "family": "siae_aci", "ess_principles": "yes",
    "activities": "entretien d'espaces verts, nettoyage de locaux", "cpv": ["77310000"],
    "area": {"all_france": False, "departements": ["42", "43"]}, "headcount": "10-19",
    "turnover": None, "capacity": "40k-100k", "experience": "never",
    "readiness": ["urssaf", "kbis"], "consortium": ["lead"], "rhythm": "daily",
    "channel": "both", "email": "contact@atelier.fr",
}
VARIANTS = {
    "answered": ANSWERS,
    "company found": {**ANSWERS, "siret": "80032984900023", "company_status": "found",
                      "company": FOUND_COMPANY, "company_ok": "yes"},
    "company unknown": {**ANSWERS, "siret": "80032984900023", "company_status": "unknown"},
    "register down": {**ANSWERS, "siret": "80032984900023", "company_status": "unavailable"},
    "nothing ticked": {**ANSWERS, "cpv": [], "readiness": [], "consortium": ["no"],
                       "area": {"all_france": True, "departements": []}, "turnover": "lt100k"},
    "new": {"consent": "yes"},
}
# Data the screens show as such: the member's words, CPV labels, names from registers.
DATA = ("Atelier Solidaire", "THEATRE STEPHANE GILDAS")


def render_screen(screen) -> list:
    return [render.question_html(screen, "fr"), render.question_keyboard(screen, "fr")]


def make_driver() -> tuple[DiagnosticDriver, list]:
    saved: list = []

    async def save_all(answers, lang):
        saved.append(dict(answers))

    async def save_one(answers):
        saved.append(dict(answers))

    return DiagnosticDriver(Services(), save_all, save_one), saved


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("key", [q.key for q in QUESTIONS])
def test_each_question_in_french(key, variant):
    answers = {k: (list(v) if isinstance(v, list) else v) for k, v in VARIANTS[variant].items()}
    with french_screens() as fr:
        shown = render_screen(FLOW.screen(key, answers, "fr"))
    fr.check(shown, allow=DATA)


# (question, what is typed, a word of the French error), each through the driver as a member
# would meet it: the question is shown again with the error above it.
TYPED_ERRORS = [
    ("siret", "123 456 789", "SIRET n'est pas valide"),
    ("siret", "8" * 10_000, "trop longue"),
    ("siret", "   ", "Tapez une réponse"),
    ("name", "A", "nom de votre structure"),
    ("name", "x" * 10_000, "trop longue"),
    ("activities", "!! ??", "Décrivez vos métiers"),
    ("activities", "menuiserie " * 1_000, "trop longue"),
    ("area", "Loir", "Vouliez-vous dire"),
    ("area", "Zzyzx", "Je ne connais pas"),
    ("area", ",", "au moins un département"),
    ("area", "42 " * 5_000, "trop longue"),
    ("email", "pas-une-adresse", "adresse e-mail"),
    ("email", "a@" + "b" * 10_000 + ".fr", "trop longue"),
    ("family", "une association", "boutons"),
]


@pytest.mark.parametrize(("key", "typed", "expected"), TYPED_ERRORS,
                         ids=[f"{k}-{t[:12]}" for k, t, _e in TYPED_ERRORS])
async def test_each_validation_error_in_french(key, typed, expected):
    driver, saved = make_driver()
    answers = dict(ANSWERS)
    with french_screens() as fr:
        reply = await driver.text(key, typed, answers, DIAGNOSTIC, "fr")
        shown = render_screen(reply.screen)
    assert reply.screen.error and reply.state == key and not saved
    assert expected in fr.plain(reply.screen.error)
    fr.check(shown, allow=DATA)


async def test_button_errors_in_french():
    driver, _saved = make_driver()
    with french_screens() as fr:
        shown = []
        answers = {**ANSWERS, "consortium": []}
        stale = await driver.choose("family", "bogus", dict(ANSWERS), DIAGNOSTIC, "fr")
        nothing_ticked = await driver.done("consortium", answers, DIAGNOSTIC, "fr")
        not_skippable = await driver.skip("capacity", dict(ANSWERS), DIAGNOSTIC, "fr")
        for reply in (stale, nothing_ticked, not_skippable):
            assert reply.screen.error
            shown += render_screen(reply.screen)
        refused = await driver.choose("consent", "no", {}, DIAGNOSTIC, "fr")
        not_ess = await driver.choose("ess_principles", "no", dict(ANSWERS), DIAGNOSTIC, "fr")
        back_from_edit = driver.back("area", dict(ANSWERS), PROFILE_EDIT, "fr")
        for reply in (refused, not_ess, back_from_edit):
            assert reply.notes and reply.state is None
            shown += reply.notes
    assert "rien n'a été enregistré" in fr.plain(refused.notes[0])
    fr.check(shown)


@pytest.mark.parametrize("variant", list(VARIANTS)[:-1])
def test_summary_and_profile_in_french(variant):
    answers = dict(VARIANTS[variant])
    with french_screens() as fr:
        summary = FLOW.summary(answers, "fr")
        shown = [render.summary_html(summary, "fr"), render.summary_keyboard(summary, "fr"),
                 render.profile_html(summary, 42, "fr"),
                 render.summary_keyboard(summary, "fr", prefix="p")]
    assert "Voici votre profil" in fr.plain(shown[0])
    fr.check(shown, allow=DATA)


async def test_result_screen_in_french():
    driver, saved = make_driver()
    with french_screens() as fr:
        reply = await driver.confirm(dict(ANSWERS), "fr")
        shown = [render.finish_html(reply.finish, "fr")]
        saved_note = await driver.choose("rhythm", "weekly", dict(ANSWERS), PROFILE_EDIT, "fr")
        shown += saved_note.notes
    assert saved and "Score de préparation" in fr.plain(shown[0])
    assert "1. " in shown[0] and "/profil" in shown[0]
    fr.check(shown, allow=DATA)


def test_every_next_step_in_french():
    """The result screen shows three of the next steps, chosen by the answers: all of them are
    shown here at once."""
    with french_screens() as fr:
        _ = gettext_for("fr")
        finish = Finish(score=100, steps=[_(msgid) for _rule, msgid in NEXT_STEPS])
        shown = render.finish_html(finish, "fr")
    fr.check(shown)


def test_every_choice_label_in_french():
    tables = (C.FAMILIES, C.HEADCOUNT, C.TURNOVER, C.CAPACITY, C.EXPERIENCE, C.READINESS,
              C.CONSORTIUM, C.RHYTHM, C.CHANNEL, C.YES_NO)
    with french_screens() as fr:
        _ = gettext_for("fr")
        shown = [_(label) for table in tables for label in table.values()]
    fr.check(shown)


# --- the tool itself ---------------------------------------------------------------------------

def test_tool_finds_an_untranslated_id_and_english_in_code():
    with french_screens() as fr:
        _ = gettext_for("fr")
        translated = _("Yes")
        missing = _("A message no catalog has")
    assert translated == "⟦Oui⟧" and fr.plain(translated) == "Oui"
    problems = fr.problems(f"<b>{translated}</b>", "Your alerts: none", "⟦Oui⟧ Loire (42)")
    assert len(problems) == 2, problems
    assert "'A message no catalog has'" in problems[0] and "test_french_screens.py" in problems[0]
    assert "['alerts', 'your']" in problems[1] or "'your'" in problems[1]
    assert missing == "A message no catalog has"


def test_tool_reads_nested_and_cut_marks_and_data():
    with french_screens() as fr:
        pass
    assert not fr.problems("⟦• ⟦Zone⟧ : Loire (42)⟧", "⟦Recevoir les appels d'o…", "q|siret|c|0",
                           "/stop — ⟦Arrêter les alertes⟧", "https://the-site.fr/your/page")
    assert fr.problems("The Good Kitchen")
    assert not fr.problems("The Good Kitchen", allow=["The Good Kitchen"])
    assert gettext_for("fr")("Yes") == "Oui"  # restored after the block
