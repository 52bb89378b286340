"""The commands a member types in a reply, French or English, accents and case ignored.

    INTERESSE [n] · NON [n] [raison] · PARTENAIRES [n] · AIDE [texte] · VOIR n · ANNULER [n] ·
    ACCEPTER · REFUSER · STOP · PAUSE [jours] · REPRENDRE · INSCRIPTION ·
    PARTAGER [NOM|EMAIL|TELEPHONE|TELEGRAM] (in a groupement's thread)

(and INTERESTED, NO, PARTNERS, HELP, SHOW, UNDO, ACCEPT, DECLINE, STOP, PAUSE, RESUME, SIGNUP,
SHARE [NAME|EMAIL|PHONE|TELEGRAM]).
`n` is an item of a digest. Only the first non-empty line of the reply is read (quotes and
signatures stripped before, channels.email.quotes); a leading "/" is allowed, since the
Telegram texts name /pause, /reprendre. Nothing here is trusted: a command is only a word and a
number; the thread handlers check it against the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Canonical command names.
INTERESTED, NOT_FOR_US, PARTNERS, HELP, OPEN, UNDO = (
    "interested", "not_for_us", "partners", "help", "open", "undo")
ACCEPT, DECLINE, STOP, PAUSE, RESUME, SIGNUP = (
    "accept", "decline", "stop", "pause", "resume", "signup")
SHARE = "share"  # a groupement's contact details, field by field (consortia.email_replies)
CHOICE = "choice"  # "CHOIX 2" or "2" alone: a numbered choice of the email (channels.email.choices)
# Words of the onboarding by email (channels.email.onboarding).
CONFIRM, BACK, SKIP, DONE, RESTART = "confirm", "back", "skip", "done", "restart"

WORDS: dict[str, str] = {
    "interesse": INTERESTED, "interessee": INTERESTED, "interesses": INTERESTED,
    "interessees": INTERESTED, "interested": INTERESTED,
    "non": NOT_FOR_US, "no": NOT_FOR_US,
    "partenaires": PARTNERS, "partenaire": PARTNERS, "partners": PARTNERS, "partner": PARTNERS,
    "aide": HELP, "help": HELP,
    "voir": OPEN, "show": OPEN, "open": OPEN,
    "annuler": UNDO, "undo": UNDO,
    "accepter": ACCEPT, "accepte": ACCEPT, "accept": ACCEPT,
    "refuser": DECLINE, "refuse": DECLINE, "decline": DECLINE,
    "stop": STOP, "arret": STOP, "unsubscribe": STOP, "desinscription": STOP,
    "pause": PAUSE,
    "reprendre": RESUME, "reprise": RESUME, "resume": RESUME,
    "inscription": SIGNUP, "signup": SIGNUP,
    "choix": CHOICE, "choice": CHOICE,
    "partager": SHARE, "share": SHARE,
    "confirmer": CONFIRM, "confirm": CONFIRM, "ok": CONFIRM,
    "retour": BACK, "back": BACK,
    "passer": SKIP, "skip": SKIP,
    "fini": DONE, "termine": DONE, "done": DONE,
    "recommencer": RESTART, "restart": RESTART,
}

# The word shown for each command, by language (what a member is told to type).
SHOWN: dict[str, dict[str, str]] = {
    "fr": {INTERESTED: "INTERESSE", NOT_FOR_US: "NON", PARTNERS: "PARTENAIRES", HELP: "AIDE",
           OPEN: "VOIR", UNDO: "ANNULER", ACCEPT: "ACCEPTER", DECLINE: "REFUSER", STOP: "STOP",
           PAUSE: "PAUSE", RESUME: "REPRENDRE", SIGNUP: "INSCRIPTION", CONFIRM: "CONFIRMER",
           BACK: "RETOUR", SKIP: "PASSER", DONE: "FINI", RESTART: "RECOMMENCER", CHOICE: "CHOIX",
           SHARE: "PARTAGER"},
    "en": {INTERESTED: "INTERESTED", NOT_FOR_US: "NO", PARTNERS: "PARTNERS", HELP: "HELP",
           OPEN: "SHOW", UNDO: "UNDO", ACCEPT: "ACCEPT", DECLINE: "DECLINE", STOP: "STOP",
           PAUSE: "PAUSE", RESUME: "RESUME", SIGNUP: "SIGNUP", CONFIRM: "CONFIRM",
           BACK: "BACK", SKIP: "SKIP", DONE: "DONE", RESTART: "RESTART", CHOICE: "CHOICE",
           SHARE: "SHARE"},
}

# "NON 2 loin": the reasons of alerts.render.NOT_FOR_US_REASONS, in words of both languages.
REASON_WORDS: dict[str, str] = {
    "loin": "far", "far": "far", "distance": "far", "eloigne": "far",
    "gros": "big", "grand": "big", "big": "big", "large": "big",
    "metier": "trade", "trade": "trade", "activite": "trade",
    "delai": "short", "court": "short", "short": "short", "deadline": "short",
}
# The reason word shown, by language.
REASON_SHOWN = {"fr": {"far": "loin", "big": "gros", "trade": "metier", "short": "delai"},
                "en": {"far": "far", "big": "big", "trade": "trade", "short": "short"}}

# "PARTAGER EMAIL": the fields of consortia.contacts.FIELDS, in words of both languages.
FIELD_WORDS: dict[str, str] = {
    "nom": "name", "name": "name", "contact": "name",
    "email": "email", "e-mail": "email", "mail": "email", "courriel": "email",
    "telephone": "phone", "tel": "phone", "portable": "phone", "phone": "phone",
    "mobile": "phone", "telegram": "telegram",
}
FIELD_SHOWN = {"fr": {"name": "NOM", "email": "EMAIL", "phone": "TELEPHONE",
                      "telegram": "TELEGRAM"},
               "en": {"name": "NAME", "email": "EMAIL", "phone": "PHONE",
                      "telegram": "TELEGRAM"}}

MAX_LINE = 2000
_TOKEN = re.compile(r"[\w'’-]+|\S")


def fold(text: str) -> str:
    """Lower case without accents (é → e, œ kept as oe), for comparing words."""
    text = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def shown(command: str, lang: str) -> str:
    return SHOWN.get(lang, SHOWN["fr"])[command]


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # one of the canonical names above
    number: int | None = None  # a digest item (or the days of PAUSE)
    rest: str = ""  # what follows, as typed (AIDE's text, NON's reason)


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:MAX_LINE]
    return ""


def parse(line: str) -> Command | None:
    """The command at the start of `line`, or None when it does not start with one."""
    line = (line or "").strip()[:MAX_LINE]
    bare = re.fullmatch(r"(\d{1,2})\s*[.)]?", line)
    if bare:  # "2": the second numbered choice of the email
        return Command(CHOICE, int(bare.group(1)))
    match = re.match(r"/?\s*([^\W\d_]+(?:['’][^\W\d_]+)?)", line)
    if match is None:
        return None
    word = fold(match.group(1)).replace("'", "").replace("’", "")
    name = WORDS.get(word)
    if name is None:
        return None
    rest = line[match.end():].strip(" \t:.,;!-–—")
    number = None
    numeric = re.match(r"(?:n[°o]\s*|#\s*)?(\d{1,6})(?!\d)\s*", rest)
    if numeric:
        number = int(numeric.group(1))
        rest = rest[numeric.end():].strip(" \t:.,;!-–—")
    return Command(name, number, rest)


def field(text: str) -> str | None:
    """The contact field that `text` is, as a whole ("email", "Téléphone"), or None."""
    return FIELD_WORDS.get(fold((text or "").strip(" \t:.,;!")))


def reason(text: str) -> str | None:
    """The NOT_FOR_US reason key named in `text` ("trop loin", "not our trade"), or None."""
    for token in _TOKEN.findall(fold(text or "")):
        if token in REASON_WORDS:
            return REASON_WORDS[token]
    return None
