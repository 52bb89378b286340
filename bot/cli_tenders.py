"""Sub-commands of the tender side: ingest, match, tenders list, import structures.

centrale ingest boamp|ted [--since DATE] [--file PATH] [--json]
centrale tenders list [--status STATUS] [--limit N] [--json]
centrale match [--all] [--json]
centrale import structures FILE.csv [--json]

(`centrale deliver` belongs to the alerts step and registers itself beside these.)
Output goes to stdout in the operator's language (LC_ALL / LC_MESSAGES / LANG, French by
default); `--json` prints one JSON document instead, for scripts. Progress bars go to stderr and
only when it is a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from locales import format_date, gettext_for, normalise_language

STATUSES = ("open", "changed", "cancelled", "closed")


def cli_language() -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(name):
            return normalise_language(value)
    return normalise_language(None)


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def _engine_or_none(_):
    """The configured database, or None (with a message) when its tables are not there."""
    from sqlalchemy import inspect

    from bot.settings import get_settings
    from store.db import engine_for

    engine = engine_for(get_settings().DATABASE_URL)
    if not inspect(engine).has_table("tenders"):
        print(_("The database has no tender tables yet: run `centrale db upgrade` first."),
              file=sys.stderr)
        return None
    return engine


def _progress_bar(_, total: int | None = None):
    """A tqdm bar on stderr when it is a terminal; it appears only once the run has lasted a
    couple of seconds (short runs stay quiet)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=_("notices"), file=sys.stderr, delay=2.0,
                disable=not sys.stderr.isatty(), leave=False)


# --- ingest --------------------------------------------------------------------------------------


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _ = gettext_for(cli_language())
        raise argparse.ArgumentTypeError(
            _("“{text}” is not a date: write it as YYYY-MM-DD, for example 2027-03-01").format(
                text=text)) from None


def _cmd_ingest(args: argparse.Namespace) -> int:
    import asyncio

    from bot.settings import get_settings
    from tenders.ingest import IngestError, ingest_fetch, ingest_files, summary_lines

    _ = gettext_for(cli_language())
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    with _progress_bar(_) as bar:
        try:
            if args.file:
                report = ingest_files(engine, args.source, Path(args.file), progress=bar.update,
                                      territory=get_settings().territory)
            else:
                url = get_settings().tender_api_url(args.source)
                report = asyncio.run(ingest_fetch(engine, url, args.source, args.since,
                                                  progress=bar.update,
                                                  territory=get_settings().territory))
        except IngestError as exc:
            print(_("Ingestion stopped: {error}").format(error=exc), file=sys.stderr)
            return 1
    if args.json:
        _print_json(report.to_dict())
    else:
        print("\n".join(summary_lines(report, _)))
    return 0


# --- tenders list --------------------------------------------------------------------------------


def _tender_dict(row) -> dict:
    return {
        "id": row.id,
        "source": row.source,
        "source_id": row.source_id,
        "boamp_ref": row.boamp_ref,
        "ted_ref": row.ted_ref,
        "status": row.status,
        "kind": row.kind,
        "title": row.title,
        "buyer": row.buyer,
        "cpv_codes": row.cpv_codes,
        "departements": row.departements,
        "published": row.published.isoformat() if row.published else None,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "estimated_value": row.estimated_value,
        "reserved": row.reserved,
        "social_clause": row.social_clause,
        "url": row.url,
        "needs_matching": row.needs_matching,
    }


def _cmd_tenders_list(args: argparse.Namespace) -> int:
    from store.db import session_scope
    from tenders.store import list_tenders

    lang = cli_language()
    _ = gettext_for(lang)
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    with session_scope(engine) as session:
        rows = list_tenders(session, status=args.status, limit=args.limit)
    if args.json:
        _print_json([_tender_dict(row) for row in rows])
        return 0
    if not rows:
        print(_("No tenders stored yet: run `centrale ingest boamp` first."))
        return 0
    labels = {"open": _("still open"), "changed": _("changed since published"),
              "cancelled": _("cancelled by the buyer"), "closed": _("closed (awarded)")}
    for row in rows:
        deadline = (format_date(row.deadline, lang, "medium") if row.deadline
                    else _("no deadline"))
        refs = " + ".join(filter(None, (row.boamp_ref and f"BOAMP {row.boamp_ref}",
                                        row.ted_ref and f"TED {row.ted_ref}")))
        print(_("{refs} [{status}] {title} — {buyer} ({departements}), deadline {deadline}")
              .format(refs=refs or f"{row.source} {row.source_id}",
                      status=labels.get(row.status, row.status), title=row.title,
                      buyer=row.buyer or "?", departements=", ".join(row.departements) or "?",
                      deadline=deadline))
    return 0


# --- match ---------------------------------------------------------------------------------------


def _cmd_match(args: argparse.Namespace) -> int:
    from alerts.match_job import run_matching
    from bot.settings import get_settings
    from store.db import session_scope

    lang = cli_language()
    _ = gettext_for(lang)
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    with session_scope(engine) as session:
        run = run_matching(session, now=datetime.now(UTC), everything=args.all,
                           tz=get_settings().timezone)
    if args.json:
        # Reasons in French (the members' default language) plus their raw data.
        _print_json([stored.to_dict("fr") for stored in run.stored])
        return 0
    print(_("{tenders} tenders scored, {matches} new matches, {refreshed} refreshed.").format(
        tenders=run.tenders, matches=len(run.stored), refreshed=run.refreshed))
    for stored in run.stored:
        data = stored.to_dict(lang)
        print(_("{score}  {structure} ({siret}) ← {source} {source_id} {title}").format(
            score=str(stored.score).rjust(3), structure=stored.structure_name, siret=stored.structure_siret
            or "-", source=stored.tender_source.upper(), source_id=stored.tender_source_id,
            title=stored.tender_title))
        print("       " + "; ".join(data["reasons"]))
    return 0


# --- import structures ---------------------------------------------------------------------------


def _cmd_import_structures(args: argparse.Namespace) -> int:
    from conversations.structures_import import ImportFileError, import_structures, read_text
    from store.db import session_scope

    lang = cli_language()
    _ = gettext_for(lang)
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    try:
        text = read_text(Path(args.file))
        with session_scope(engine) as session:
            report = import_structures(session, text)
    except ImportFileError as exc:
        print(exc.text(lang), file=sys.stderr)
        return 2
    if args.json:
        _print_json({
            "created": report.created,
            "updated": report.updated,
            "members_created": report.members_created,
            "rejected": [rejection.to_dict(lang) for rejection in report.rejected],
            "ignored_columns": report.ignored_columns,
        })
        return 0
    print(_("Structures: {created} created, {updated} updated, {rejected} rejected.").format(
        created=report.created, updated=report.updated, rejected=len(report.rejected)))
    if report.members_created:
        print(_("{count} members reachable by email created.").format(
            count=report.members_created))
    for rejection in report.rejected:
        print(_("  line {line}: {reason}").format(line=rejection.line,
                                                  reason=rejection.text(lang)))
    if report.ignored_columns:
        print(_("Columns ignored (unknown): {columns}").format(
            columns=", ".join(report.ignored_columns)))
    return 0


# --- registration --------------------------------------------------------------------------------


def register(commands) -> None:
    """Add the tender-side sub-commands to the `centrale` parser."""
    _ = gettext_for(cli_language())

    ingest = commands.add_parser(
        "ingest", help=_("fetch (or read a saved answer/notice file) and store tenders"),
        description=_("Fetch tenders from BOAMP or TED since a date (default: where the last "
                      "fetch stopped, else the last 2 days), or read saved API answers (JSON) "
                      "or notices (XML), and store them."))
    ingest.add_argument("source", choices=("boamp", "ted"), help=_("the source"))
    ingest.add_argument("--since", type=_parse_day, metavar="DATE",
                        help=_("first publication date to fetch (YYYY-MM-DD)"))
    ingest.add_argument("--file", metavar="PATH",
                        help=_("a saved API answer (JSON), a notice (XML) or a directory of them"))
    ingest.add_argument("--json", action="store_true", help=_("print the summary as JSON"))
    ingest.set_defaults(func=_cmd_ingest)

    tenders = commands.add_parser("tenders", help=_("the stored tenders"))
    tender_commands = tenders.add_subparsers(dest="tenders_command", required=True,
                                             metavar="ACTION")
    listing = tender_commands.add_parser("list", help=_("list the stored tenders, latest first"))
    listing.add_argument("--status", choices=STATUSES, help=_("only tenders in this state"))
    listing.add_argument("--limit", type=int, default=None, metavar="N",
                         help=_("at most N tenders"))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    listing.set_defaults(func=_cmd_tenders_list)

    match = commands.add_parser(
        "match", help=_("match new or changed tenders against the structures' profiles"),
        description=_("Score new and changed tenders against every structure and store one "
                      "match per (tender, structure); running it again adds nothing."))
    match.add_argument("--all", action="store_true",
                       help=_("match every open tender again (after importing structures)"))
    match.add_argument("--json", action="store_true", help=_("print the matches stored as JSON"))
    match.set_defaults(func=_cmd_match)

    importing = commands.add_parser("import", help=_("bulk imports"))
    import_commands = importing.add_subparsers(dest="import_command", required=True,
                                               metavar="WHAT")
    structures = import_commands.add_parser(
        "structures", help=_("create or update structure profiles from a CSV file"),
        description=_("Create or update structure profiles from a CSV file (columns: siret, "
                      "name, family, departements, cpv_codes, keywords, excluded_keywords, "
                      "max_contract_value, email, language, legal_form, naf, is_ess)."))
    structures.add_argument("file", metavar="FILE.csv", help=_("the CSV file"))
    structures.add_argument("--json", action="store_true", help=_("print the report as JSON"))
    structures.set_defaults(func=_cmd_import_structures)
