"""French screens under test: every message shown to a French member must be translated.

`french_screens()` (or the `french` fixture of tests/conftest.py) replaces, for the time of a
block, the French translation that `locales.gettext_for` / `ngettext_for` return (and therefore
every `_ = gettext_for(lang)` and `tr(update, context)` of the code, looked up at each call) with
one that

- **records** each message id looked up in French that the loaded French catalog does not
  translate (absent from the compiled .mo, or empty or fuzzy in the .po), with the file and line
  that asked for it — a message built at run time, a constant not marked with `N_`, a catalog
  not updated;
- **marks** each French translation it returns: "⟦Oui⟧". What a screen shows outside the marks
  did not go through gettext: data (a name, a date, a CPV label), or a string typed in the code.
  `check` looks in that unmarked text for English words (words of the English message ids that
  no French translation uses, and English function words such as "the", "your", "this").

Use it around anything that renders for a French member, then check what was shown:

    from tests.screens import french_screens

    def test_alert_in_french(engine):
        with french_screens() as fr:
            message = render_alert(..., lang="fr")       # anything: a Message, HTML, a keyboard
            html = telegram_channel.render(message)
        fr.check(html, message)                          # fails naming each untranslated text

    def test_digest(french):                              # the fixture: same object, and it also
        html = french.call(render_digest, rows, "fr")   # fails at teardown on any missing id
        assert "Résumé" in french.plain(html)           # text without the marks, for asserts

    async def test_alertes_command(french, centrale):    # through the real bot (tests/e2e)
        replies = await centrale.user(language_code="fr").send("/alertes")
        french.check(replies)

`check(*shown, allow=())` accepts strings and, recursively, lists, tuples, dicts (their values),
dataclasses (their fields, e.g. a `Message` or a `Screen`), PTB objects (`to_dict()`), and the
e2e `Replies`/`SentMessage` (their text and button labels); lower-case identifiers without
spaces ("not_for_us", "q|siret|c|0") are skipped as codes, and so are commands ("/stop"), links and
e-mail addresses inside a text. `allow` lists data strings that may
legitimately contain English words (a company called "The Good Kitchen"). `check` raises
AssertionError listing the missing ids (with where they were asked) and the English words found;
`problems(...)` returns the same list without raising. `call(function, *args, **kwargs)` and
`await acall(...)` run a function and check its result. `missing` is the Counter of untranslated
ids seen so far; `forget()` clears it (between two phases of a test).

The marks change the text: assert on `fr.plain(text)`, or pass `mark=False` to keep the exact
French text (the recording of missing ids stays; the English-word check then runs on the whole
text, which is still sound since French translations never contain those words).
"""

from __future__ import annotations

import dataclasses
import html
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import locales

ROOT = Path(__file__).resolve().parents[1]
OPEN, CLOSE = "⟦", "⟧"
_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
# A marked label cut short by a length limit ("⟦Recevoir les …") loses its closing mark.
_CUT = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*?(…|$)", re.MULTILINE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_NAMES = re.compile(r"https?://\S+|/\w+|\S+@\S+")  # links, commands (/stop), addresses
_PLACEHOLDER = re.compile(r"\{\w*\}")
_WORD = re.compile(r"[^\W\d_]{2,}")
_CODE = re.compile(r"^[a-z0-9_|:./#@+\-]*$")

# English words that are no French words ("on", "or", "a", "as", "an", "me" are, so they are not
# here); they catch English typed in the code even where no message id uses them.
ENGLISH_FUNCTION_WORDS = frozenset("""
    the and your you yours this that these those with for from please what which who whose why
    how when where is are was were be been has have had will would can could should shall may
    not no yes of to by at in into it its our we they them their there here if than then all
    any more some one only about do does did done back next skip cancel confirm save saved
    other none nothing must every each just also very
""".split())


def plain(text: str) -> str:
    """The text without the marks."""
    return text.replace(OPEN, "").replace(CLOSE, "")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(_PLACEHOLDER.sub(" ", text))}


@cache
def english_words() -> frozenset[str]:
    """Words of the English message ids that no French translation uses, and English function
    words: a French screen shows none of them outside data."""
    from locales.catalogs import read
    from reference.text import STOPWORDS

    english: set[str] = set(ENGLISH_FUNCTION_WORDS)
    french: set[str] = set(STOPWORDS["fr"])
    for message in read("fr"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            english |= _words(msgid)
        for form in forms:
            french |= _words(form or "")
    return frozenset(english - french)


@cache
def _po_translated() -> frozenset[str] | None:
    """Ids the French .po translates (not empty, not fuzzy); None without a .po (an install)."""
    from locales.catalogs import po_path, read

    if not po_path("fr").exists():
        return None
    done = set()
    for message in read("fr"):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and all(forms) and not message.fuzzy:
            done.add(message.id if isinstance(message.id, str) else message.id[0])
    return frozenset(done)


def _caller() -> str:
    """file:line of the code that asked for the translation (outside this module and locales)."""
    frame = sys._getframe(2)
    while frame and frame.f_code.co_filename in (__file__, locales.__file__):
        frame = frame.f_back
    if frame is None:
        return "?"
    path = Path(frame.f_code.co_filename)
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        pass
    return f"{path}:{frame.f_lineno}"


class _RecordingFrench:
    """The French translation, recording what it does not translate and marking what it does."""

    def __init__(self, real, screens: FrenchScreens):
        self._real = real
        self._screens = screens
        self._po = _po_translated()

    def _known(self, key, msgid: str) -> bool:
        return key in self._real._catalog and (self._po is None or msgid in self._po)

    def _mark(self, text: str) -> str:
        return f"{OPEN}{text}{CLOSE}" if self._screens.mark else text

    def gettext(self, message: str) -> str:
        if not self._known(message, message):
            self._screens._record(message)
            return message
        return self._mark(self._real.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if not self._known((singular, 0), singular):
            self._screens._record(singular)
            return singular if n == 1 else plural
        return self._mark(self._real.ngettext(singular, plural, n))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class FrenchScreens:
    """What the French translation was asked while it was installed. See the module docstring."""

    def __init__(self, *, mark: bool = True):
        self.mark = mark
        self.missing: Counter[str] = Counter()
        self.where: dict[str, set[str]] = {}
        self.plain = plain

    def _record(self, msgid: str) -> None:
        self.missing[msgid] += 1
        self.where.setdefault(msgid, set()).add(_caller())

    def forget(self) -> None:
        self.missing.clear()
        self.where.clear()

    # --- checking --------------------------------------------------------------------------------
    def problems(self, *shown: Any, allow: tuple[str, ...] | list[str] = ()) -> list[str]:
        found = [f"untranslated in French: {msgid!r} (asked at {', '.join(sorted(self.where[msgid]))})"
                 for msgid in self.missing]
        vocabulary = english_words()
        for text in texts_of(shown):
            outside = _unmarked(text)
            for data in allow:
                outside = outside.replace(data, " ")
            english = sorted(_words(outside) & vocabulary)
            if english:
                found.append(f"English outside gettext {english} in: {plain(text)[:300]!r}")
        return found

    def check(self, *shown: Any, allow: tuple[str, ...] | list[str] = ()) -> None:
        found = self.problems(*shown, allow=allow)
        assert not found, "French screens show untranslated text:\n" + "\n".join(found)

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        self.check(result)
        return result

    async def acall(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = await function(*args, **kwargs)
        self.check(result)
        return result


def _unmarked(text: str) -> str:
    text = _NAMES.sub(" ", html.unescape(_TAG.sub(" ", text)))
    previous = None
    while previous != text:  # marks nest: "⟦• ⟦Zone⟧ : Loire⟧"
        previous, text = text, _MARKED.sub(" ", text)
    return _CUT.sub(" ", text).replace(CLOSE, " ")


def texts_of(value: Any) -> Iterator[str]:
    """The human-readable strings in a value (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if value and not _CODE.match(value):
            yield value
        return
    if isinstance(value, bytes):
        return
    if isinstance(value, list) and hasattr(value, "answers"):  # tests.fakebot's Replies
        for item in value:
            yield from texts_of(item)
        for answer in value.answers:  # callback answers ("This question is closed.")
            yield from texts_of(answer.text)
        return
    if hasattr(value, "labels") and hasattr(value, "text"):  # tests.fakebot's SentMessage
        yield from texts_of(value.text)
        yield from texts_of(value.labels())
        return
    if hasattr(value, "to_dict") and callable(value.to_dict):  # PTB objects
        yield from texts_of(value.to_dict())
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from texts_of(getattr(value, item.name))
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from texts_of(item)
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from texts_of(item)
    # Anything else (a function kept in a field, a datetime) is not text shown to a member.


@contextmanager
def french_screens(*, mark: bool = True) -> Iterator[FrenchScreens]:
    """Install the recording French translation for the block (see the module docstring)."""
    screens = FrenchScreens(mark=mark)
    original = locales.translation
    real = original("fr")
    if not hasattr(real, "_catalog"):
        raise RuntimeError("the French catalog is not loaded: see the warning of `locales`")
    recording = _RecordingFrench(real, screens)

    def translation(lang: str):
        return recording if locales.normalise_language(lang) == "fr" else original(lang)

    locales.translation = translation
    try:
        yield screens
    finally:
        locales.translation = original
