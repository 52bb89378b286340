"""The neutral Message and its Telegram rendering: spans, templates, shorter versions, limits."""

from __future__ import annotations

from alerts.message import Action, Intent, Message, Span, block, bold, fill, line
from channels.telegram import LIMIT, render, units
from tests.fakebot.html_check import telegram_html_error, visible_text


def test_fill_keeps_the_translations_order_and_punctuation():
    spans = fill("{label} : {value}", label=bold("Acheteur"), value="Ville <de> Lyon")
    assert spans == (Span("Acheteur", bold=True), Span(" : "), Span("Ville <de> Lyon"))
    assert fill("{value} ({label})", label="x", value=(Span("a", strike=True), Span("b"))) == (
        Span("a", strike=True), Span("b"), Span(" ("), Span("x"), Span(")"))
    assert fill("{unknown} and {", label="x") == (Span("{unknown}"), Span(" and {"))


def test_telegram_escapes_every_span_and_links_only_what_it_is_given():
    message = Message("Title <&>", (block(line(Span("a&b", bold=True), Span(" <i>")),
                                          line(Span("notice", link='https://x.fr/?a=1&b="2"')),
                                          line("item", item=True)),),
                      ((Action(Intent.INTERESTED, "Yes <b>", 5, selected=True),),), icon="📬")
    rendered = render(message)
    assert telegram_html_error(rendered.html) is None
    assert rendered.html.startswith("📬 <b>Title &lt;&amp;&gt;</b>\n\n<b>a&amp;b</b> &lt;i&gt;")
    assert '<a href="https://x.fr/?a=1&amp;b=&quot;2&quot;">notice</a>' in rendered.html
    assert "• item" in visible_text(rendered.html)
    assert rendered.keyboard == [[("✅ Yes <b>", "a|i|5")]]


def test_a_long_message_takes_its_first_shorter_version_that_fits():
    calls = []

    def version(size: int) -> Message:
        calls.append(size)
        text = "é" * (10_000 // (size + 1))
        return Message("T", (block(text),), shorter=(lambda: version(size + 1)) if size < 5
                       else None)

    rendered = render(version(0))
    assert units(rendered.html) <= LIMIT and calls == [0, 1, 2]  # 3,333 characters fit
    # None fits: whole lines are dropped, the HTML stays valid.
    huge = Message("T", (tuple(line(bold("<" * 100)) for _ in range(200)),))
    html_text = render(huge).html
    assert units(html_text) <= LIMIT and telegram_html_error(html_text) is None
    assert html_text.endswith("…")
