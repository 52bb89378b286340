"""Sub-commands of the advisors' side.

centrale advisors add|remove ID_OR_EMAIL …      give or take the advisor role (Telegram user id
                                                or email address)
centrale advisors list [--json]
centrale opportunities import FILE.csv [--json]
centrale stats [--from DATE] [--to DATE] [--png PATH] [--csv PATH] [--json]

CENTRALE_ADVISORS is applied at every start of the bot (store.members.seed_advisors): someone
removed here but still listed there is an advisor again at the next start, which `remove` says.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli_tenders import _engine_or_none, _parse_day, _print_json, cli_language
from locales import gettext_for


def _who(value: str) -> tuple[set[int], set[str]]:
    value = value.strip()
    if value.isdigit():
        return {int(value)}, set()
    if "@" in value:
        return set(), {value.lower()}
    _ = gettext_for(cli_language())
    raise argparse.ArgumentTypeError(_("“{value}” is neither a Telegram user id nor an email "
                                       "address").format(value=value))


def _cmd_advisors(args: argparse.Namespace) -> int:
    from sqlalchemy import or_, select

    from bot.settings import get_settings
    from store.db import session_scope
    from store.members import advisors, seed_advisors
    from store.models import Member, Role

    _ = gettext_for(cli_language())
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    with session_scope(engine) as session:
        if args.action == "add":
            ids = {i for who in args.who for i in who[0]}
            emails = {e for who in args.who for e in who[1]}
            changed = seed_advisors(session, ids, emails)
            print(_("{count} advisors added.").format(count=changed))
        elif args.action == "remove":
            settings = get_settings()
            removed = 0
            for ids, emails in args.who:
                for member in session.execute(select(Member).where(or_(
                        Member.telegram_user_id.in_(ids), Member.email.in_(emails)))).scalars():
                    if member.role == Role.ADVISOR:
                        member.role = Role.MEMBER
                        removed += 1
                if ids & settings.advisor_ids or emails & settings.advisor_emails:
                    print(_("Still listed in CENTRALE_ADVISORS: an advisor again at the next "
                            "start unless removed from there too."), file=sys.stderr)
            print(_("{count} advisors removed.").format(count=removed))
        else:
            rows = [{"id": m.id, "telegram_user_id": m.telegram_user_id, "email": m.email}
                    for m in advisors(session)]
            if args.json:
                _print_json(rows)
            elif not rows:
                print(_("No advisor yet: `centrale advisors add ID_OR_EMAIL`."))
            for row in rows if not args.json else []:
                print(_("#{id} Telegram {telegram} · {email}").format(
                    id=row["id"], telegram=row["telegram_user_id"] or "-",
                    email=row["email"] or "-"))
    return 0


def _cmd_opportunities_import(args: argparse.Namespace) -> int:
    from announcements.opportunities import import_rows
    from bot.settings import get_settings
    from store.db import session_scope

    lang = cli_language()
    _ = gettext_for(lang)
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(_("Cannot read {path}: {error}").format(path=args.file, error=error),
              file=sys.stderr)
        return 2
    with session_scope(engine) as session:
        report = import_rows(session, text, None, datetime.now(UTC), get_settings().timezone)
    if args.json:
        _print_json({"created": report.created,
                     "rejected": [{"line": n, "reason": _(r)} for n, r in report.rejected]})
        return 0
    print(_("Opportunities: {created} created (matched and alerted), {rejected} rejected.")
          .format(created=len(report.created), rejected=len(report.rejected)))
    for number, reason in report.rejected:
        print(_("  line {line}: {reason}").format(line=number, reason=_(reason)))
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from bot.settings import get_settings
    from stats.figures import compute
    from stats.output import chart_png, csv_bytes, rows
    from stats.report import default_period, summary_lines
    from store.db import session_scope

    lang = cli_language()
    _ = gettext_for(lang)
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    settings = get_settings()
    tz = settings.timezone
    start, end = default_period(datetime.now(UTC).astimezone(tz).date())
    start, end = args.start or start, args.end or end
    if start > end:
        print(_("--from is after --to."), file=sys.stderr)
        return 2
    with session_scope(engine) as session:
        bilan = compute(session, start, end, tz, settings.territory)
    if args.csv:
        Path(args.csv).write_bytes(csv_bytes(bilan))
    if args.png:
        Path(args.png).write_bytes(chart_png(bilan, lang))
    if args.json:
        _print_json(rows(bilan))
    else:
        print("\n".join(summary_lines(bilan, lang)))
    return 0


def register(commands) -> None:
    _ = gettext_for(cli_language())
    advisors = commands.add_parser("advisors", help=_("manage advisors"))
    actions = advisors.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("add", _("give the advisor role")),
                       ("remove", _("take the advisor role back"))):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("who", nargs="+", type=_who, metavar="ID_OR_EMAIL",
                         help=_("Telegram user ids or email addresses"))
        sub.set_defaults(func=_cmd_advisors)
    listing = actions.add_parser("list", help=_("the advisors"))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    listing.set_defaults(func=_cmd_advisors)

    opportunities = commands.add_parser("opportunities", help=_("advisor-posted opportunities"))
    sub = opportunities.add_subparsers(dest="opportunities_command", required=True,
                                       metavar="ACTION")
    importing = sub.add_parser(
        "import", help=_("post opportunities from a CSV file"),
        description=_("Columns: buyer_kind (public/private), buyer, title, cpv_codes, "
                      "departements, deadline (DD/MM/YYYY HH:MM), estimated_value, contact, "
                      "documents_url, description."))
    importing.add_argument("file", metavar="FILE.csv", help=_("the CSV file"))
    importing.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    importing.set_defaults(func=_cmd_opportunities_import)

    stats = commands.add_parser("stats", help=_("the impact figures (the yearly bilan)"),
                                description=_("The figures by month, from the tables: "
                                              "structures diagnosed, readiness, alerts and "
                                              "interest, announcements and registrations."))
    stats.add_argument("--from", dest="start", type=_parse_day, metavar="DATE",
                       help=_("first day (YYYY-MM-DD; default: twelve months ago)"))
    stats.add_argument("--to", dest="end", type=_parse_day, metavar="DATE",
                       help=_("last day (YYYY-MM-DD; default: today)"))
    stats.add_argument("--png", metavar="PATH", help=_("write the chart (PNG) there"))
    stats.add_argument("--csv", metavar="PATH", help=_("write the figures (CSV) there"))
    stats.add_argument("--json", action="store_true", help=_("print the figures as JSON"))
    stats.set_defaults(func=_cmd_stats)
