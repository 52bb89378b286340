"""Alert messages (alerts.render, channel-neutral) as the Telegram channel renders them: content in
the member's language, and HTML Telegram accepts for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts import render as neutral
from alerts.render import AlertChoice, alert_actions
from channels.telegram import LIMIT, keyboard, render, units
from locales import format_amount
from matching.reasons import Reason, render_reason
from store.tender_models import LotRow, TenderRow
from tests.fakebot.html_check import telegram_html_error, visible_length, visible_text

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 3, 9, 0, tzinfo=UTC)
REASONS = [
    {"kind": "cpv", "code": "90910000", "field": "90900000", "relation": "within"},
    {"kind": "keyword", "keyword": "nettoyage"},
    {"kind": "area", "scope": "departement", "departement": "06"},
    {"kind": "reserved", "reserved": "siae"},
]


def render_alert(*args, **kwargs):
    return render(neutral.render_alert(*args, **kwargs))


def render_digest(*args, **kwargs):
    return render(neutral.render_digest(*args, **kwargs))


def render_update(*args, **kwargs):
    return render(neutral.render_update(*args, **kwargs))


def render_cancellation(*args, **kwargs):
    return render(neutral.render_cancellation(*args, **kwargs))


def render_reminder(*args, **kwargs):
    return render(neutral.render_reminder(*args, **kwargs))


def alert_keyboard(tender_id, lang, choice=None):
    return keyboard(alert_actions(tender_id, lang, choice))


def tender(**fields) -> TenderRow:
    values = dict(
        id=4242, source="boamp", source_id="26-102345", title="Nettoyage des locaux du CCAS",
        buyer="CCAS de Nice", description="Nettoyage quotidien des bureaux de trois sites.",
        departements=["06"], deadline=datetime(2027, 1, 15, 11, 0, tzinfo=UTC),
        estimated_value=150000.0, reserved="siae", social_clause=True,
        url="https://www.boamp.fr/pages/avis/?q=idweb:26-102345", content_hash="h")
    values.update(fields)
    return TenderRow(**values)


def lot(number: str, title: str, value: float | None = None) -> LotRow:
    return LotRow(tender_id=4242, number=number, title=title, estimated_value=value)


def check_telegram(html_text: str) -> None:
    assert telegram_html_error(html_text) is None, telegram_html_error(html_text)
    assert units(html_text) <= LIMIT
    assert visible_length(html_text) <= LIMIT


def check_keyboard(keyboard) -> None:
    for row in keyboard or []:
        for label, data in row:
            assert label.strip()
            assert len(data.encode()) <= 64


def test_alert_has_everything_a_member_needs_in_french():
    rendered = render_alert(tender(), [lot("1", "Bureaux", 50000), lot("2", "Vitres")],
                            REASONS, 80, "fr", NOW, TZ)
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    assert "Nettoyage des locaux du CCAS" in text
    assert "CCAS de Nice" in text
    assert "Alpes-Maritimes (06)" in text
    # 11:00 UTC is 12:00 in Paris; absolute and relative, the French way.
    assert "15 janvier 2027" in text and "12:00" in text and "dans 12 jours" in text
    assert format_amount(150000, "fr") in text
    assert "Lot 1" in text and "Bureaux" in text and format_amount(50000, "fr") in text
    assert "Vitres" in text
    assert "♻️" in text  # reserved / social clause badges
    assert "⏰" not in text  # 12 days is not close
    for reason in REASONS:
        assert render_reason(Reason.from_dict(reason), "fr") in text
    assert '<a href="https://www.boamp.fr/pages/avis/?q=idweb:26-102345">' in rendered.html
    assert [data for row in rendered.keyboard for _label, data in row] == [
        "a|i|4242", "a|n|4242", "a|p|4242", "a|h|4242"]
    check_keyboard(rendered.keyboard)


def test_alert_in_english_and_close_deadline_badge():
    soon = tender(deadline=NOW + timedelta(days=3), reserved="none", social_clause=False)
    rendered = render_alert(soon, [], REASONS[:1], 50, "en", NOW, TZ)
    text = visible_text(rendered.html)
    assert "in 3 days" in text and "⏰" in text
    assert "♻️" not in text
    assert "Interested" in [label for row in rendered.keyboard for label, _data in row]


def test_deadline_day_is_the_configured_timezone_day():
    # 23:30 UTC on the 15th is already the 16th in Paris.
    late = tender(deadline=datetime(2027, 1, 15, 23, 30, tzinfo=UTC))
    text = visible_text(render_alert(late, [], [], 10, "fr", NOW, TZ).html)
    assert "16 janvier 2027" in text and "00:30" in text


def test_missing_fields_are_left_out():
    bare = tender(buyer="", departements=[], deadline=None, estimated_value=None, url="",
                  reserved="none", social_clause=False, description="")
    rendered = render_alert(bare, [], [], 0, "en", NOW, TZ)
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    for absent in ("Buyer", "Place", "Deadline", "Estimated value", "See the notice", "Why"):
        assert absent not in text


def test_unsafe_url_is_not_linked():
    rendered = render_alert(tender(url='javascript:alert("x")'), [], [], 0, "en", NOW, TZ)
    assert "<a " not in rendered.html
    check_telegram(rendered.html)


def test_many_lots_are_cut_with_a_count():
    lots = [lot(str(i), f"Lot de travaux numéro {i} " * 5, 1000.0 * i) for i in range(1, 40)]
    rendered = render_alert(tender(), lots, REASONS, 80, "en", NOW, TZ)
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    assert "Lots (39)" in text and "29 more lots" in text


def test_keyboard_shows_the_choice():
    interested = alert_keyboard(7, "en", AlertChoice(interested=True))
    labels = [label for row in interested for label, _data in row]
    assert "✅ Interested" in labels and "↩️ Undo" in labels
    picking = alert_keyboard(7, "en", AlertChoice(picking_reason=True))
    datas = [data for row in picking for _label, data in row]
    assert datas == ["a|nr|7|far", "a|nr|7|big", "a|nr|7|trade", "a|nr|7|short", "a|u|7"]
    refused = alert_keyboard(7, "en", AlertChoice(not_for_us=True, reason="far"))
    assert [label for row in refused for label, _d in row] == ["🚫 Not for us: too far", "↩️ Undo"]
    signals = alert_keyboard(7, "en", AlertChoice(partners=True, help=True))
    assert "✅ Find partners" in [label for row in signals for label, _d in row]
    assert "✅ Need help" in [label for row in signals for label, _d in row]
    check_keyboard(alert_keyboard(2**62, "en", AlertChoice(picking_reason=True)))


def test_digest_orders_by_score_and_lists_the_rest():
    items = [(tender(id=100 + i, title=f"Marché {i}"), [], REASONS, score)
             for i, score in enumerate([10, 90, 50, 70, 30, 20, 80, 60, 40, 15, 5, 95])]
    rendered = render_digest(items, "en", NOW, TZ, "daily")
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    assert "daily digest: 12 tenders" in text
    order = [f"Marché {i}" for i in (11, 1, 6, 3, 7, 2, 8, 4, 5, 9, 0, 10)]
    positions = [text.index(title + "\n") if title + "\n" in text else text.index(title)
                 for title in order]
    assert positions == sorted(positions)
    assert "1. Marché 11" in text and "10. Marché 9" in text
    assert "And 2 more:" in text and "11. Marché 0" in text and "12. Marché 10" in text
    buttons = [b for row in rendered.keyboard for b in row]
    assert buttons[0] == ("1", "a|o|111") and len(buttons) == 10
    check_keyboard(rendered.keyboard)


def test_weekly_digest_heading_in_french():
    rendered = render_digest([(tender(), [], [], 10)], "fr", NOW, TZ, "weekly")
    check_telegram(rendered.html)
    assert "1." in visible_text(rendered.html)


def test_huge_digest_stays_within_the_limit():
    long = "Prestations de nettoyage & d'entretien <urgent> " * 40
    items = [(tender(id=i, title=long, buyer=long), [], REASONS, i) for i in range(1, 201)]
    rendered = render_digest(items, "fr", NOW, TZ, "daily")
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    assert "10." in text and ("others" in text or "autres" in text)


def test_update_says_what_changed():
    changes = [
        {"field": "deadline", "old": "2027-01-15T11:00:00+00:00",
         "new": "2027-01-22T11:00:00+00:00"},
        {"field": "estimated_value", "old": 100000, "new": 150000},
        {"field": "title", "old": "Nettoyage", "new": "Nettoyage des locaux"},
        {"field": "lots", "old": [{"number": "1", "title": "Bureaux"}],
         "new": [{"number": "1", "title": "Bureaux"}, {"number": "2", "title": "Vitres"}]},
    ]
    rendered = render_update(tender(), changes, "fr", NOW, TZ)
    check_telegram(rendered.html)
    text = visible_text(rendered.html)
    assert "15 janvier 2027" in text and "22 janvier 2027" in text
    assert format_amount(100000, "fr") in text and format_amount(150000, "fr") in text
    assert "2 Vitres" in text
    assert "<s>" in rendered.html


def test_update_without_details_and_cancellation_and_reminder():
    check_telegram(render_update(tender(), [], "en", NOW, TZ).html)
    cancelled = render_cancellation(tender(), "en")
    check_telegram(cancelled.html)
    assert "cancelled" in visible_text(cancelled.html)
    assert cancelled.keyboard is None
    reminder = render_reminder(tender(deadline=NOW + timedelta(days=7)), 7, "en", NOW, TZ)
    check_telegram(reminder.html)
    assert "7 days left" in visible_text(reminder.html)
    assert [d for row in reminder.keyboard for _l, d in row] == ["a|p|4242", "a|h|4242"]
    last = render_reminder(tender(deadline=NOW + timedelta(hours=30)), 2, "fr", NOW, TZ)
    check_telegram(last.html)


# --- any input ----------------------------------------------------------------------------------

nasty = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="<>&\"' éà€😀\n\t;#x", max_size=200),
    st.text(min_size=0, max_size=40).map(lambda s: (s + "<&>\"😀") * 250),  # ~10,000 characters
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=nasty, buyer=nasty, description=nasty, lot_title=nasty, keyword=nasty,
       lots=st.integers(0, 60), lang=st.sampled_from(["fr", "en"]),
       url=st.one_of(st.just("https://www.boamp.fr/avis?a=1&b=<2>"), nasty))
def test_any_alert_is_accepted_by_telegram(title, buyer, description, lot_title, keyword, lots,
                                           lang, url):
    row = tender(title=title, buyer=buyer, description=description, url=url,
                 departements=["06", "2A", "971", "75", "13", "xx<"])
    lot_rows = [lot(str(i) + lot_title[:30], lot_title, 10.5 * i) for i in range(lots)]
    reasons = REASONS + [{"kind": "keyword", "keyword": keyword}] * 8
    rendered = render_alert(row, lot_rows, reasons, 50, lang, NOW, TZ)
    check_telegram(rendered.html)
    check_keyboard(rendered.keyboard)
    if title.strip() and "<" in title:
        assert "<" not in rendered.html.split("</b>")[0][3:]  # escaped in the heading


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(titles=st.lists(nasty, min_size=1, max_size=30), buyer=nasty,
       lang=st.sampled_from(["fr", "en"]), rhythm=st.sampled_from(["daily", "weekly"]))
def test_any_digest_is_accepted_by_telegram(titles, buyer, lang, rhythm):
    items = [(tender(id=i + 1, title=title, buyer=buyer), [], REASONS, i % 7)
             for i, title in enumerate(titles)]
    rendered = render_digest(items, lang, NOW, TZ, rhythm)
    check_telegram(rendered.html)
    check_keyboard(rendered.keyboard)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=nasty, old=st.one_of(nasty, st.integers(), st.floats(allow_nan=False), st.none(),
                                  st.lists(nasty, max_size=8)),
       new=st.one_of(nasty, st.booleans(), st.lists(st.dictionaries(
           st.sampled_from(["number", "title"]), nasty), max_size=8)),
       field=st.sampled_from(["deadline", "estimated_value", "title", "lots", "departements",
                              "reserved", "weird<field>"]),
       lang=st.sampled_from(["fr", "en"]))
def test_any_update_cancellation_reminder_is_accepted(title, old, new, field, lang):
    row = tender(title=title, buyer=title)
    changes = [{"field": field, "old": old, "new": new}] * 12
    check_telegram(render_update(row, changes, lang, NOW, TZ).html)
    check_telegram(render_cancellation(row, lang).html)
    check_telegram(render_reminder(row, 2, lang, NOW, TZ).html)


def test_a_procedure_is_shown_by_its_label_in_the_members_language():
    changes = [{"field": "procedure", "old": "adapted", "new": "open"}]
    french = visible_text(render_update(tender(), changes, "fr", NOW, TZ).html)
    english = visible_text(render_update(tender(), changes, "en", NOW, TZ).html)
    assert "adapted" not in french and "open" not in french.lower().split()
    assert "adapted" not in english  # a label, not the code
