"""Every command's screens, in French, through the real bot: /start (new, mid-way, returning),
the company found in the register, /profil and its edit, /aide and the command menu, /langue,
/mesdonnees, /supprimer, /annuler, stray text and buttons, and the demo's opening. The French
translation records and marks what it translates (tests/screens.py): a message id shown
untranslated, or English typed in the code, fails the test."""

from __future__ import annotations

import io

import pytest
import pytest_asyncio

from tests.e2e.test_diagnostic import answer_french
from tests.screens import french_screens

DATA = ("Les Jardins d'Alice <&> « bio »", "L'ENFANT BLEU")
# In the recorded answers of the company API and looked up by no other test (the bot, shared,
# keeps the answers it got in memory).
ENFANT_BLEU_SIRET = "40048550400064"


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    return centrale_bot


async def test_diagnostic_and_profile_screens(centrale, french):
    user = centrale.user(language_code="fr")
    shown = [await answer_french(user)]
    shown.append(await user.send("/start"))  # mid-way: where the member was
    shown.append(await user.tap("Confirmer"))
    shown.append(await user.send("/start"))  # a returning member
    shown.append(profile := await user.send("/profil"))
    assert "Score de préparation" in french.plain(profile.text)
    shown.append(await user.tap("Rythme des alertes"))
    shown.append(saved := await user.tap("Résumé hebdomadaire"))
    assert "✅ Enregistré." in french.plain(saved.text)
    shown.append(await user.tap("Zone"))
    shown.append(await user.tap("Retour"))
    shown.append(await user.send("/profil"))
    shown.append(await user.tap("Zone"))
    shown.append(await user.send("/annuler"))  # profile edit cancelled
    french.check(shown, allow=DATA)


async def test_company_found_in_the_register(centrale, french, company_api):
    user = centrale.user(language_code="fr")
    shown = [await user.send("/start"), await user.tap("J'accepte")]
    shown.append(found := await user.send(ENFANT_BLEU_SIRET))
    assert "L'ENFANT BLEU" in found.text and company_api.calls.call_count == 1
    shown.append(await user.tap("Oui, c'est nous"))
    french.check(shown, allow=DATA)


async def test_commands_outside_the_diagnostic(centrale, french):
    user = centrale.user(language_code="fr")
    shown = [await user.send("/aide"), await user.send("/mesdonnees"), await user.send("/annuler"),
             await user.send("/profil"), await user.send("bonjour")]
    shown.append(language := await user.send("/langue"))
    assert "Choisissez votre langue" in french.plain(language.text)
    shown.append(await user.tap("Français"))
    shown += [await user.send("/supprimer"), await user.tap("Non, garder")]
    shown += [await user.send("/supprimer"), await user.tap("Oui, tout supprimer")]
    first = await user.send("/start")
    shown += [first, await user.tap("J'accepte")]
    shown.append(await user.send("/annuler"))  # diagnostic cancelled
    user.state.push_callback(user.user_id, first.last.message_id, "q|consent|c|0")
    shown.append(await user.wait(until=lambda r: bool(r.answers)))  # a button of a closed step
    french.check(shown, allow=DATA)


async def test_my_data_and_deletion_of_a_member(centrale, french):
    user = centrale.user(language_code="fr")
    await answer_french(user, email=False)
    shown = [await user.tap("Confirmer")]
    shown.append(document := await user.send("/mesdonnees"))
    assert document.last.document is not None
    shown += [await user.send("/supprimer"), await user.tap("Oui, tout supprimer")]
    french.check(shown, allow=DATA)


async def test_command_menu_in_french(centrale):
    from handlers.commands import set_commands

    with french_screens(mark=False) as fr:  # unmarked: the menu stays as other tests expect it
        await set_commands(centrale.application)
    menu = centrale.state.commands_for("default", "fr")
    assert ("profil", "Voir et modifier votre profil") in menu
    fr.check([description for _command, description in menu])


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_demo_opening_in_french(engine, db_url, french):
    from bot.demo import TerminalDemo
    from bot.settings import load_settings

    settings = load_settings(_env_file=None, DATABASE_URL=db_url,
                             COMPANY_API_URL="http://127.0.0.1:9/search")
    out = io.StringIO()
    await TerminalDemo(settings, out=out).run(io.StringIO("1\n1\n"))
    shown = out.getvalue()
    assert "démo" in french.plain(shown) and "Bienvenue sur Centrale" in shown
    french.check(shown.splitlines())
