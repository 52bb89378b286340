"""Would Telegram accept this text with parse_mode=HTML? A re-implementation of the Bot API's HTML
entity parser (TDLib `parse_html`), used by the fake Bot API server and directly by tests.

Error texts follow Telegram's ("Bad Request: can't parse entities: Unsupported start tag "foo" at
byte offset 0"); byte offsets count UTF-8 bytes, as Telegram does.

Deliberately stricter than Telegram in one place: a `&` that does not start one of the entities
`&lt; &gt; &amp; &quot; &#NNN; &#xHH;` (with its `;`) is an error here, whereas Telegram silently
shows it as text. A bot that escapes with `html.escape` never hits it; a bot that forgets to escape
is caught before a user types `<` and gets no answer. Lengths are counted in UTF-16 code units (as
Telegram's entity offsets are), which is never less than the number of characters: when in doubt
about how Telegram counts the 4096 limit, the stricter count wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

ALLOWED_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
     "code", "pre", "blockquote", "tg-emoji"}
)
_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = frozenset(" \t\r\n\0\v\f")  # TDLib's is_space
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]+));")
_UNQUOTED_VALUE_RE = re.compile(r"[A-Za-z0-9.\-]*")

PREFIX = "Bad Request: can't parse entities: "


class TelegramHtmlError(ValueError):
    """The text would be refused; `description` is what follows "can't parse entities: "."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class Entity:
    type: str
    offset: int  # UTF-16 code units into the visible text, like Telegram's MessageEntity
    length: int
    argument: str = ""  # href, language, custom emoji id, "expandable"


@dataclass(frozen=True)
class ParsedText:
    text: str  # what the user sees (tags removed, entities decoded), not yet stripped
    entities: tuple[Entity, ...]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """The character of the entity starting at text[i] == '&' and the index after it."""
    match = _ENTITY_RE.match(text, i)
    if match:
        hex_digits, dec_digits, name = match.groups()
        if name is not None:
            if name in _NAMED_ENTITIES:
                return _NAMED_ENTITIES[name], match.end()
        else:
            code = int(hex_digits, 16) if hex_digits is not None else int(dec_digits)
            if 0 < code < 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code), match.end()
    raise TelegramHtmlError(
        f"Unsupported HTML entity at byte offset {_byte_offset(text, i)}: escape & as &amp;"
    )


def _parse_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Attributes of a start tag from text[i] (just after the tag name) to its '>'."""
    n = len(text)
    attributes: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            return attributes, i + 1
        name_start = i
        while i < n and text[i] not in _SPACE and text[i] not in "=>/\"'":
            i += 1
        name = text[name_start:i]
        if not name:
            raise TelegramHtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n or text[i] != "=":
            attributes[name] = ""  # a value-less attribute, e.g. <blockquote expandable>
            continue
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] in "\"'":
            quote = text[i]
            i += 1
            value: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    char, i = _decode_entity(text, i)
                    value.append(char)
                else:
                    value.append(text[i])
                    i += 1
            if i >= n:
                raise TelegramHtmlError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            attributes[name] = "".join(value)
        else:
            token = _UNQUOTED_VALUE_RE.match(text, i)
            assert token is not None  # the pattern matches the empty string
            if token.end() >= n or (text[token.end()] not in _SPACE and text[token.end()] != ">"):
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            attributes[name] = token.group().lower()
            i = token.end()


def _argument(tag: str, attributes: dict[str, str], text: str, begin: int) -> str:
    if tag == "a":
        return attributes.get("href", "")
    if tag == "code":
        language = attributes.get("class", "")
        return language[len("language-"):] if language.startswith("language-") else ""
    if tag == "span":
        if attributes.get("class") != "tg-spoiler":
            raise TelegramHtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        return ""
    if tag == "tg-emoji":
        emoji_id = attributes.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise TelegramHtmlError(
                f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        return emoji_id
    if tag == "blockquote":
        return "expandable" if "expandable" in attributes else ""
    return ""


def parse_html(text: str) -> ParsedText:
    """Parse like Telegram; raises TelegramHtmlError with Telegram's description."""
    n = len(text)
    out: list[str] = []
    utf16 = 0  # visible length so far, in UTF-16 code units
    open_tags: list[tuple[str, str, int]] = []  # (tag, argument, utf16 offset of its start)
    entities: list[Entity] = []
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded, i = _decode_entity(text, i)
            out.append(decoded)
            utf16 += utf16_length(decoded)
            continue
        if char != "<":
            out.append(char)
            utf16 += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not open_tags:
                raise TelegramHtmlError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            name_start = i
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[name_start:i]
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise TelegramHtmlError(
                    f"Unclosed end tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            tag, argument, start = open_tags.pop()
            if end_name and end_name.lower() != tag:
                raise TelegramHtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            kind = _ENTITY_TYPES[tag]
            if tag == "blockquote" and argument:
                kind, argument = "expandable_blockquote", ""
            if tag == "code" and open_tags and open_tags[-1][0] == "pre":
                # <pre><code class="language-x"> gives the pre block its language
                outer = open_tags.pop()
                open_tags.append((outer[0], argument, outer[2]))
            elif utf16 > start:
                entities.append(Entity(kind, start, utf16 - start, argument))
            continue
        while i < n and text[i] not in _SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        tag = text[begin + 1:i].lower()
        if tag not in ALLOWED_TAGS:
            raise TelegramHtmlError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attributes, i = _parse_attributes(text, i, tag, begin)
        open_tags.append((tag, _argument(tag, attributes, text, begin), utf16))
    if open_tags:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"'
        )
    entities.sort(key=lambda entity: (entity.offset, -entity.length))
    return ParsedText("".join(out), tuple(entities))


def has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def check_text(
    text: str | None,
    parse_mode: str | None,
    *,
    max_length: int | None = MAX_MESSAGE_LENGTH,
    allow_empty: bool = False,
    empty_error: str = "Bad Request: message text is empty",
    long_error: str = "Bad Request: message is too long",
) -> tuple[ParsedText, str | None]:
    """The parsed text and Telegram's error description (None when accepted)."""
    text = text or ""
    if has_surrogates(text):
        return ParsedText(text, ()), "Bad Request: strings must be encoded in UTF-8"
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            parsed = parse_html(text)
        except TelegramHtmlError as error:
            return ParsedText(text, ()), PREFIX + error.description
    elif mode in ("", "markdown", "markdownv2"):
        parsed = ParsedText(text, ())  # Markdown is not checked by this fake server
    else:
        return ParsedText(text, ()), "Bad Request: unsupported parse_mode"
    if not parsed.text.strip() and not allow_empty:
        return parsed, empty_error
    if max_length is not None and utf16_length(parsed.text) > max_length:
        return parsed, long_error
    return parsed, None


def telegram_html_error(text: str, *, max_length: int | None = MAX_MESSAGE_LENGTH) -> str | None:
    """Telegram's error description if `text` sent with parse_mode=HTML would be refused
    (bad HTML, empty after parsing, longer than `max_length`), else None."""
    return check_text(text, "HTML", max_length=max_length)[1]


def visible_length(text: str) -> int:
    """Length of the text the user sees (HTML parsed), in UTF-16 code units.
    Raises TelegramHtmlError when the HTML would be refused."""
    return utf16_length(parse_html(text).text)


def visible_text(text: str) -> str:
    """The text the user sees, leading and trailing whitespace stripped as Telegram does."""
    return parse_html(text).text.strip()
