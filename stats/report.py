"""/stats: the bilan for an advisor (role checked), as a short text, the chart and the CSV."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from alerts.actions import Reply, language_of
from alerts.advisors import advisors_only_text, is_advisor
from alerts.message import Attachment, Message, Request, block, line
from locales import gettext_for
from stats.figures import Bilan, compute
from stats.output import chart_png, csv_bytes
from store.models import Member


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months, this one included."""
    year, month = (today.year, today.month - 11) if today.month == 12 else (
        today.year - 1, today.month + 1)
    return date(year, month, 1), today


def summary_lines(bilan: Bilan, lang: str) -> list[str]:
    _ = gettext_for(lang)
    sent, interested = bilan.total("alerts_sent"), bilan.total("alerts_interested")
    rate = f"{100 * interested / sent:.0f} %" if sent else "—"
    return [
        _("From {start} to {end}:").format(start=bilan.start.isoformat(),
                                          end=bilan.end.isoformat()),
        _("{count} structures diagnosed").format(count=bilan.total("diagnosed")),
        _("{sent} alerts sent, {interested} marked interesting ({rate})").format(
            sent=sent, interested=interested, rate=rate),
        _("{count} announcements, {registrations} event registrations").format(
            count=bilan.total("announcements"), registrations=bilan.total("registrations")),
        _("{proposed} partner proposals, {formed} groupements formed, {won} won").format(
            proposed=_int(bilan.total_extra("partners_proposed")),
            formed=_int(bilan.total_extra("groupements_formed")),
            won=_int(bilan.total_extra("groupements_won"))),
        _("{opened} support requests opened, {closed} closed").format(
            opened=_int(bilan.total_extra("support_opened")),
            closed=_int(bilan.total_extra("support_closed"))),
        _("{bids} bids submitted, {won} contracts won").format(
            bids=_int(bilan.total_extra("bids_submitted")),
            won=_int(bilan.total_extra("contracts_won"))),
    ]


def _int(value: float) -> int:
    return int(round(value))


def stats_request(session: Session, member_id: int | None, request: Request, now: datetime,
                  tz: ZoneInfo, fallback_lang: str = "fr",
                  territory: frozenset[str] | None = None) -> Reply:
    member = session.get(Member, member_id) if member_id is not None else None
    lang = language_of(member, fallback_lang)
    if not is_advisor(member):
        return Reply(lang, note=advisors_only_text(lang), refused=True)
    _ = gettext_for(lang)
    start, end = default_period(now.astimezone(tz).date())
    bilan = compute(session, start, end, tz, territory)
    message = Message(_("The bilan, month by month"), (block(*(line(text) for text in
                                                              summary_lines(bilan, lang))),),
                      icon="📊",
                      attachments=(Attachment("bilan.png", chart_png(bilan, lang), "image/png"),
                                   Attachment("bilan.csv", csv_bytes(bilan), "text/csv")))
    return Reply(lang, messages=(message,))
