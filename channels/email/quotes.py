"""What the member wrote, without the quoted message and the signature.

mail-parser-reply (French and English rules) does the work, after this module has mended what it
misses in French clients (each pattern has its test in tests/email/test_quotes.py):
- Gmail's "Le mar. 24 nov. 2026 à 10:00, Centrale <…> a écrit :" wrapped over two lines, or with
  a no-break space before the colon (French typography; Gmail and Apple Mail write U+00A0, some
  clients U+202F);
- Outlook's "De : / Envoyé : / À : / Objet :" block, with no-break spaces or in bold (web, iOS);
- "Envoyé de mon iPhone", "Obtenir Outlook pour iOS" and their English twins;
- Apple Mail's "Début du message réexpédié :", Thunderbird's "-------- Message d'origine --------"
  and "-------- Message transféré --------".
Lines still quoted with ">" after that are dropped too.
"""

from __future__ import annotations

import re

from mailparser_reply.parser import EmailMessage

_SPACES = re.compile(r"[\u00a0\u202f\u2007\u2009\u200b\t]")
# "Le … \n … a écrit :" (and "On … \n … wrote:"), the header cut in two by the client's wrapping.
_WRAPPED = re.compile(r"^(>?[ ]*(?:Le|On)\b[^\n]{0,300})\n([^\n]{0,300}\b(?:a écrit|wrote)[ ]*:)"
                      r"[ ]*$", re.MULTILINE)
# Where the member's text certainly ends (the library does not know these).
_CUTS = re.compile(
    r"^[ >]*(?:"
    r"envoy[ée] de mon (?:iphone|ipad|mobile|smartphone|appareil)[^\n]*"
    r"|envoy[ée] depuis (?:mon|l'application|outlook|yahoo)[^\n]*"
    r"|(?:obtenir|t[ée]l[ée]charger) outlook pour (?:ios|android)[^\n]*"
    r"|sent from my (?:iphone|ipad|mobile|android)[^\n]*"
    r"|get outlook for (?:ios|android)[^\n]*"
    r"|d[ée]but du message r[ée]exp[ée]di[ée] ?:"
    r"|begin forwarded message ?:"
    r"|-{2,} ?(?:message d'origine|message transf[ée]r[ée]|original message|forwarded message)"
    r" ?-{2,}"
    r"|le [^\n]{0,300}a [ée]crit ?:"
    r"|on [^\n]{0,300}wrote ?:"
    r"|\*{0,2}de ?\*{0,2} ?: [^\n]*\n[ >*]*(?:envoy[ée]|date|[àa]|objet|cc) ?\*{0,2} ?:"
    r"|\*{0,2}from ?\*{0,2} ?: [^\n]*\n[ >*]*(?:sent|date|to|subject|cc) ?\*{0,2} ?:"
    r"|_{10,}"
    r")",
    re.IGNORECASE | re.MULTILINE)
LANGUAGES = ("fr", "en")
MAX_TEXT = 20_000  # a reply longer than this is cut first (nobody types that much)


def normalise(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")[:MAX_TEXT * 5]
    text = _SPACES.sub(" ", text)
    return _WRAPPED.sub(lambda m: m.group(1).rstrip() + " " + m.group(2).lstrip(" >"), text)


def strip_reply(text: str) -> str:
    """The member's own text of a reply (may be empty)."""
    text = normalise(text)
    cut = _CUTS.search(text)
    if cut is not None:
        text = text[:cut.start()]
    text = text[:MAX_TEXT]
    try:
        parsed = EmailMessage(text=text, languages=list(LANGUAGES),
                              keep_hyphen_lists=True).read()
        reply = parsed.replies[0].body if parsed.replies else text
    except Exception:  # noqa: BLE001 - a regex library on hostile text: keep ours
        reply = text
    lines = [line.rstrip() for line in (reply or "").split("\n")
             if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()
