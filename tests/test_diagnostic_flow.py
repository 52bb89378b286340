"""The diagnostic's questions and driver, without any channel."""

import pytest

from conversations.diagnostic import QUESTIONS, keywords_from_activities
from conversations.driver import DIAGNOSTIC, PROFILE_EDIT, SUMMARY, SUMMARY_EDIT, DiagnosticDriver
from conversations.questions import Kind, Services
from conversations.readiness import next_steps, readiness_score


class FakeLookup:
    def __init__(self, info=None, fail=False):
        self.info, self.fail, self.calls = info, fail, 0

    async def lookup(self, siret):
        from conversations.company_lookup import LookupUnavailable
        self.calls += 1
        if self.fail:
            raise LookupUnavailable("down")
        return self.info


def make_driver(lookup=None):
    saved = {}

    async def save_all(answers, lang):
        saved["all"] = dict(answers)

    async def save_one(answers):
        saved["one"] = dict(answers)

    return DiagnosticDriver(Services(company_lookup=lookup), save_all, save_one), saved


def option_value(reply, label_start):
    for option in reply.screen.options:
        if option.label.startswith(label_start) or option.value == label_start:
            return option.value
    raise AssertionError(f"no option {label_start!r} in {[o.label for o in reply.screen.options]}")


async def walk_to(driver, answers, stop_key, lang="en", screens=None, **changes):
    """Answer every question with a plausible value until `stop_key` is on screen (`changes`:
    other answers, e.g. company_ok=("choose", "yes"); `screens` collects every screen shown)."""
    reply = driver.start(answers, lang)
    script = {
        "consent": ("choose", "yes"), "siret": ("text", "800 329 849 00023"),
        "company_ok": ("choose", "no"), "name": ("text", "Les Jardins d'Alice"),
        "family": ("choose", "siae_aci"), "ess_principles": ("choose", "yes"),
        "activities": ("text", "entretien d'espaces verts, nettoyage de locaux"),
        "cpv": ("toggle", None), "area": ("text", "42, 43, Rhône"),
        "headcount": ("choose", "10-19"), "turnover": ("skip", None),
        "capacity": ("choose", "40k-100k"), "experience": ("choose", "never"),
        "readiness": ("multi", ["urssaf", "kbis"]), "consortium": ("multi", ["lead"]),
        "rhythm": ("choose", "daily"), "channel": ("choose", "both"),
        "email": ("text", "Contact@Jardins-Alice.fr"),
    }
    script.update(changes)
    while reply.state != stop_key:
        if screens is not None and reply.screen is not None:
            screens.append(reply.screen)
        key = reply.state
        action, value = script[key]
        if action == "choose":
            reply = await driver.choose(key, value, answers, DIAGNOSTIC, lang)
        elif action == "text":
            reply = await driver.text(key, value, answers, DIAGNOSTIC, lang)
        elif action == "skip":
            reply = await driver.skip(key, answers, DIAGNOSTIC, lang)
        elif action == "toggle":
            first = reply.screen.options[0].value
            await driver.choose(key, first, answers, DIAGNOSTIC, lang)
            reply = await driver.done(key, answers, DIAGNOSTIC, lang)
        else:
            for item in value:
                await driver.choose(key, item, answers, DIAGNOSTIC, lang)
            reply = await driver.done(key, answers, DIAGNOSTIC, lang)
        assert reply.screen is None or reply.screen.error is None, reply.screen.error
    return reply


async def test_full_walk_reaches_summary_and_saves():
    driver, saved = make_driver(FakeLookup(info=None))
    answers = {}
    reply = await walk_to(driver, answers, SUMMARY)
    labels = {label: value for _k, label, value in reply.summary}
    assert labels["Area"] == "Loire (42), Haute-Loire (43), Rhône (69)"
    assert labels["Email"] == "contact@jardins-alice.fr"
    assert labels["Turnover"] == "skipped"
    done = await driver.confirm(answers, "en")
    assert done.state is None and done.finish is not None
    assert saved["all"]["name"] == "Les Jardins d'Alice"
    assert done.finish.score == readiness_score(answers) == 15 + 10
    assert len(done.finish.steps) == 3


async def test_question_numbering_counts_visible_questions():
    driver, _ = make_driver(FakeLookup(info=None))
    answers = {}
    reply = driver.start(answers, "fr")
    assert (reply.screen.step, reply.screen.total) == (1, len(QUESTIONS) - 2)  # no company, email


async def test_invalid_siret_is_refused_and_changes_nothing():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "siret")
    reply = await driver.text("siret", "123 456 789 00000", answers, DIAGNOSTIC, "en")
    assert reply.state == "siret" and "not valid" in reply.screen.error
    assert "siret" not in answers


async def test_company_found_is_confirmed_and_skips_name():
    from conversations.company_lookup import CompanyInfo
    info = CompanyInfo("800329849", "80032984900023", "THEATRE STEPHANE GILDAS", "9220",
                       "90.01Z", "75", True, False, None, True, True)
    driver, _ = make_driver(FakeLookup(info=info))
    answers = {}
    await walk_to(driver, answers, "siret")
    reply = await driver.text("siret", "80032984900023", answers, DIAGNOSTIC, "en")
    assert reply.state == "company_ok"
    assert "Name: THEATRE STEPHANE GILDAS" in reply.screen.lines
    assert "Département: Paris (75)" in reply.screen.lines
    reply = await driver.choose("company_ok", "yes", answers, DIAGNOSTIC, "en")
    assert reply.state == "family"
    assert "The register suggests: Association" in reply.screen.lines


async def test_company_api_down_goes_on_by_hand():
    driver, _ = make_driver(FakeLookup(fail=True))
    answers = {}
    await walk_to(driver, answers, "siret")
    reply = await driver.text("siret", "80032984900023", answers, DIAGNOSTIC, "en")
    assert reply.state == "name"
    assert "The company register did not answer: we go on by hand." in reply.screen.lines


async def test_declining_consent_stops_and_keeps_nothing():
    driver, saved = make_driver()
    answers = {}
    driver.start(answers, "en")
    reply = await driver.choose("consent", "no", answers, DIAGNOSTIC, "en")
    assert reply.state is None and "nothing has been stored" in reply.notes[0]
    assert answers == {} and saved == {}


async def test_unknown_departement_gets_suggestions():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "area")
    reply = await driver.text("area", "42, Rhôn", answers, DIAGNOSTIC, "en")
    assert reply.state == "area" and "I don't know “Rhôn”" in reply.screen.error
    assert "Rhône (69)" in reply.screen.error
    assert "area" not in answers


async def test_too_long_answer_is_refused():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "activities")
    reply = await driver.text("activities", "x" * 10_000, answers, DIAGNOSTIC, "en")
    assert "too long (10000 characters)" in reply.screen.error
    assert "activities" not in answers


async def test_back_returns_to_previous_question_with_answer_kept():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "headcount")
    reply = driver.back("headcount", answers, DIAGNOSTIC, "en")
    assert reply.state == "area"
    assert answers["area"]["departements"] == ["42", "43", "69"]


async def test_consortium_not_interested_is_exclusive():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "consortium")
    await driver.choose("consortium", "lead", answers, DIAGNOSTIC, "en")
    await driver.choose("consortium", "no", answers, DIAGNOSTIC, "en")
    assert answers["consortium"] == ["no"]
    await driver.choose("consortium", "subcontractor", answers, DIAGNOSTIC, "en")
    assert answers["consortium"] == ["subcontractor"]


async def test_consortium_needs_one_answer():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "consortium")
    reply = await driver.done("consortium", answers, DIAGNOSTIC, "en")
    assert reply.state == "consortium" and "at least one" in reply.screen.error


async def test_summary_edit_returns_to_summary_and_asks_new_dependent_question():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "channel")
    await driver.choose("channel", "telegram", answers, DIAGNOSTIC, "en")
    reply = driver.edit("channel", answers, "en")
    reply = await driver.choose("channel", "email", answers, SUMMARY_EDIT, "en")
    assert reply.state == "email"  # the address is needed now
    reply = await driver.text("email", "a@b.fr", answers, SUMMARY_EDIT, "en")
    assert reply.state == SUMMARY


async def test_profile_edit_saves_one_answer():
    driver, saved = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, SUMMARY)
    reply = await driver.choose("headcount", "50-249", answers, PROFILE_EDIT, "en")
    assert reply.state is None and reply.saved_key == "headcount"
    assert saved["one"]["headcount"] == "50-249"


async def test_text_on_a_button_question_asks_for_buttons():
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "headcount")
    reply = await driver.text("headcount", "twelve", answers, DIAGNOSTIC, "en")
    assert "use the buttons" in reply.screen.error


@pytest.mark.parametrize("address", ["nope", "a@b", "a@@b.fr", "a b@c.fr", "a..b@c.fr"])
async def test_bad_email_refused(address):
    driver, _ = make_driver(FakeLookup())
    answers = {}
    await walk_to(driver, answers, "email")
    reply = await driver.text("email", address, answers, DIAGNOSTIC, "en")
    assert reply.state == "email" and reply.screen.error


def test_keywords_from_activities():
    assert keywords_from_activities("Entretien d'espaces verts, nettoyage de locaux et "
                                    "traiteur") == ["entretien d'espaces verts",
                                                    "nettoyage de locaux", "traiteur"]


def test_every_question_is_well_formed():
    keys = [q.key for q in QUESTIONS]
    assert len(keys) == len(set(keys))
    for question in QUESTIONS:
        assert question.kind in Kind
        if question.kind is not Kind.TEXT and not question.dynamic_choices:
            assert question.choices, question.key
        assert len(f"q|{question.key}|c|99".encode()) <= 64


def test_next_steps_follow_answers():
    answers = {"readiness": ["urssaf", "tax"], "family": "siae_ei", "experience": "never",
               "consortium": ["lead"]}
    steps = next_steps(answers)
    assert steps[0].startswith("Try a reserved contract first")
    full = {"readiness": ["urssaf", "tax", "kbis", "insurance", "dume", "references",
                          "esignature", "platforms"], "experience": "won_public"}
    assert readiness_score(full) == 100
    assert len(next_steps(full)) == 3


# --- the CPV step (issue 11, point 2) -----------------------------------------------------------

GREENS = "Entretien des espaces verts, débroussaillage et nettoyage de locaux"


@pytest.mark.parametrize("lang, label", [("en", "77310000 Planting and maintenance services"),
                                         ("fr", "77310000 Réalisation et entretien")])
async def test_cpv_step_reads_french_words_in_either_language(lang, label):
    driver, _ = make_driver(FakeLookup(info=None))
    answers = {}
    reply = await walk_to(driver, answers, "cpv", lang=lang,
                          activities=("text", GREENS))
    labels = [option.label for option in reply.screen.options]
    assert any(text.startswith(label) for text in labels), labels
    codes = [option.value for option in reply.screen.options]
    assert "45111220" in codes and any(code.startswith("9091") for code in codes)
    for wrong in ("60500000", "39515440", "24951310", "42912320", "42612200"):
        assert wrong not in codes  # space transport, vertical blinds, de-icing agents…


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_cpv_step_says_when_nothing_fits_and_goes_on_with_keywords(lang):
    driver, saved = make_driver(FakeLookup(info=None))
    answers = {}
    reply = await walk_to(driver, answers, "cpv", lang=lang,
                          activities=("text", "Nous sommes une association xyzzy"))
    screen = reply.screen
    assert screen.options == [] and screen.free_text and screen.multi
    said = {"en": ("I found no category", "Keywords only ➡️"),
            "fr": ("Je n'ai trouvé aucune catégorie", "Mots-clés seuls ➡️")}[lang]
    assert any(line.startswith(said[0]) for line in screen.lines), screen.lines
    assert screen.done_label == said[1]
    # Keywords only: the step is answered with no code, and the diagnostic goes on.
    reply = await driver.done("cpv", answers, DIAGNOSTIC, lang)
    assert reply.state == "area" and answers["cpv"] == []


async def test_cpv_step_searches_again_with_a_typed_word_and_keeps_ticks():
    driver, _ = make_driver(FakeLookup(info=None))
    answers = {}
    reply = await walk_to(driver, answers, "cpv", activities=("text", "Nous sommes xyzzy"))
    assert reply.screen.options == []
    reply = await driver.text("cpv", "x1", answers, DIAGNOSTIC, "en")
    assert reply.state == "cpv" and "Type a word for your trade" in reply.screen.error
    reply = await driver.text("cpv", "nettoyage", answers, DIAGNOSTIC, "en")
    assert reply.state == "cpv" and reply.screen.error is None
    assert [o.value for o in reply.screen.options] == ["90910000"]
    assert "Categories for “nettoyage”:" in reply.screen.lines
    await driver.choose("cpv", "90910000", answers, DIAGNOSTIC, "en")
    reply = await driver.text("cpv", "blanchisserie", answers, DIAGNOSTIC, "en")
    options = [(o.value, o.selected) for o in reply.screen.options]
    assert options[0] == ("90910000", True)  # ticked before: kept, first
    assert options[1:] and all(v.startswith("9831") and not ticked for v, ticked in options[1:])
    assert reply.screen.done_label is None  # something is ticked: the usual "Done"
    reply = await driver.done("cpv", answers, DIAGNOSTIC, "en")
    assert reply.state == "area" and answers["cpv"] == ["90910000"]


# --- the counter (issue 11, point 4) -------------------------------------------------------------

def _company():
    from conversations.company_lookup import CompanyInfo
    return CompanyInfo("800329849", "80032984900023", "THEATRE STEPHANE GILDAS", "9220",
                       "90.01Z", "75", True, False, None, True, True)


@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_counter_keeps_one_total_on_every_screen(lang):
    for lookup, changes in (
        (FakeLookup(info=_company()), {"company_ok": ("choose", "yes")}),
        (FakeLookup(info=None), {}),
        (FakeLookup(fail=True), {}),
    ):
        driver, _ = make_driver(lookup)
        answers, screens = {}, []
        await walk_to(driver, answers, SUMMARY, lang=lang, screens=screens,
                      channel=("choose", "telegram"), **changes)
        assert len({screen.total for screen in screens}) == 1, [s.total for s in screens]
        assert [screen.step for screen in screens] == list(range(1, len(screens) + 1))


@pytest.mark.parametrize("lang, adds", [
    ("en", "Because of your answer, there are now {n} questions."),
    ("fr", "Avec votre réponse, il y a désormais {n} questions."),
])
async def test_counter_changes_once_and_says_so_when_an_answer_adds_a_question(lang, adds):
    driver, _ = make_driver(FakeLookup(info=_company()))
    answers, screens = {}, []
    # The company found is not theirs (the name is asked too), and alerts go by email too.
    await walk_to(driver, answers, SUMMARY, lang=lang, screens=screens,
                  company_ok=("choose", "no"), channel=("choose", "both"))
    totals = [screen.total for screen in screens]
    first = totals[0]
    assert sorted(set(totals)) == [first, first + 1, first + 2]
    changed = [i for i in range(1, len(totals)) if totals[i] != totals[i - 1]]
    assert [screens[i].key for i in changed] == ["name", "email"]
    for i in changed:
        assert adds.format(n=totals[i]) in screens[i].lines
    notes = [s.key for s in screens if any(adds.format(n=s.total) == line for line in s.lines)]
    assert notes == ["name", "email"]  # said once each, not on every later screen
    assert [screen.step for screen in screens] == list(range(1, len(screens) + 1))
