"""Quotes and signatures out of replies, for the French clients whose formats common strippers
miss (each pattern of issue 13), and the commands read from the first line."""

import pytest

from channels.email import commands as C
from channels.email.quotes import strip_reply

NBSP, NNBSP = "\u00a0", "\u202f"

CASES = {
    "gmail": "INTERESSE 2\n\nLe mar. 24 nov. 2026 à 11:00, Centrale <alertes@centrale.test> a "
             "écrit :\n> Votre résumé du jour\n> 1. Nettoyage\n",
    "gmail wrapped over two lines": "INTERESSE 2\n\nLe mar. 24 nov. 2026 à 11:00, Centrale "
                                    "<alertes@centrale.test>\na écrit :\n> Votre résumé\n",
    "gmail no-break space before the colon": f"INTERESSE 2\n\nLe mar. 24 nov. 2026 à 11:00, "
                                             f"Centrale a écrit{NBSP}:\n> blah\n",
    "apple mail narrow no-break space": f"INTERESSE 2\n\nLe 24 nov. 2026 à 11:00, Centrale "
                                        f"<alertes@centrale.test> a écrit{NNBSP}:\n\n> blah\n",
    "outlook desktop": f"INTERESSE 2\r\n\r\nCordialement,\r\nMarie Dupont\r\n\r\nDe{NBSP}: "
                       f"Centrale <alertes@centrale.test>\r\nEnvoyé{NBSP}: mardi 24 novembre "
                       f"2026 11:00\r\nÀ{NBSP}: marie@asso.test\r\nObjet{NBSP}: Nettoyage\r\n"
                       "\r\nblah",
    "outlook web": "INTERESSE 2\n\n________________________________\nDe : Centrale "
                   "<alertes@centrale.test>\nEnvoyé : mardi 24 novembre 2026 11:00\nÀ : "
                   "marie@asso.test\nObjet : Nettoyage\n\nblah",
    "outlook web in bold": "INTERESSE 2\n\n**De :** Centrale <alertes@centrale.test>\n"
                           "**Envoyé :** mardi 24 novembre 2026 11:00\n**À :** marie\n",
    "outlook ios": "INTERESSE 2\n\nObtenir Outlook pour iOS<https://aka.ms/o0ukef>\n"
                   "________________________________\nDe : Centrale\nEnvoyé : mardi\n",
    "iphone": "INTERESSE 2\n\nEnvoyé de mon iPhone\n\n> Le 24 nov. 2026 à 11:00, Centrale "
              "<alertes@centrale.test> a écrit :\n>\n> blah",
    "apple mail forwarded": "INTERESSE 2\n\nDébut du message réexpédié :\n\nDe: Centrale "
                            "<alertes@centrale.test>\nObjet: blah\n",
    "thunderbird": "INTERESSE 2\n\nLe 24/11/2026 à 11:00, Centrale a écrit :\n> blah\n",
    "thunderbird original message": "INTERESSE 2\n\n-------- Message d'origine --------\n"
                                    "De : Centrale\n",
    "thunderbird forwarded": "INTERESSE 2\n\n-------- Message transféré --------\nSujet : x\n",
    "signature dash dash": "INTERESSE 2\n-- \nMarie Dupont\n06 00 00 00 00",
    "english gmail": "INTERESSE 2\n\nOn Tue, Nov 24, 2026 at 11:00 AM Centrale <a@b.c>\n"
                     "wrote:\n> blah",
    "sent from my iphone": "INTERESSE 2\n\nSent from my iPhone\n\n> On 24 Nov 2026 wrote:",
}


@pytest.mark.parametrize("name", list(CASES))
def test_french_reply_formats_are_stripped(name):
    assert strip_reply(CASES[name]) == "INTERESSE 2"


def test_lists_in_a_question_are_kept():
    text = strip_reply("AIDE nous avons deux questions\n- le lot 2\n- le DUME\n\nCordialement,"
                       "\nMarie")
    assert text == "AIDE nous avons deux questions\n- le lot 2\n- le DUME"


@pytest.mark.parametrize("line, expected", [
    ("INTERESSE", C.Command(C.INTERESTED)),
    ("Intéressés !", C.Command(C.INTERESTED)),
    ("interessé 3", C.Command(C.INTERESTED, 3)),
    ("  NON 2 trop loin", C.Command(C.NOT_FOR_US, 2, "trop loin")),
    ("Non merci", C.Command(C.NOT_FOR_US, None, "merci")),
    ("PARTENAIRES n°4", C.Command(C.PARTNERS, 4)),
    ("aide : comment faire ?", C.Command(C.HELP, None, "comment faire ?")),
    ("PAUSE 14", C.Command(C.PAUSE, 14)),
    ("pause 14j", C.Command(C.PAUSE, 14, "j")),
    ("/reprendre", C.Command(C.RESUME)),
    ("Resume", C.Command(C.RESUME)),
    ("STOP", C.Command(C.STOP)),
    ("ARRÊT", C.Command(C.STOP)),
    ("Accepter", C.Command(C.ACCEPT)),
    ("REFUSER", C.Command(C.DECLINE)),
    ("inscription", C.Command(C.SIGNUP)),
    ("Bonjour, je voudrais", None),
    ("123", None),
    ("", None),
])
def test_commands_in_both_languages(line, expected):
    assert C.parse(line) == expected


def test_reasons():
    assert C.reason("trop loin") == "far" and C.reason("pas notre métier") == "trade"
    assert C.reason("délai trop court") == "short" and C.reason("bof") is None
