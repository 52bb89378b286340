"""The `centrale` command line: one entry point, one sub-command per job (see DESIGN.md)."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import SettingsError, get_settings
from locales import load_catalogs


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from store.db import upgrade

    upgrade(get_settings().DATABASE_URL)
    print("Database is up to date.")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import run_polling
    from bot.demo import run_demo

    settings = get_settings()
    if not settings.TELEGRAM_BOT_TOKEN:
        print("TELEGRAM_BOT_TOKEN is not set: starting the terminal demo instead of the bot.")
        return run_demo(settings)
    return run_polling(settings)


def _cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(get_settings())


def build_parser() -> argparse.ArgumentParser:
    from bot import cli_advisors, cli_alerts, cli_mail, cli_tenders

    parser = argparse.ArgumentParser(prog="centrale", description="Centrale: ESS tenders assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the bot (long polling) with its scheduled jobs")
    run.set_defaults(func=_cmd_run)
    demo = commands.add_parser("demo", help="the conversations in the terminal, on the local database")
    demo.set_defaults(func=_cmd_demo)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(func=_cmd_db_upgrade)

    cli_tenders.register(commands)
    cli_alerts.register(commands)
    cli_advisors.register(commands)
    cli_mail.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    load_catalogs()  # a catalog that cannot be loaded is a warning now, before any message
    try:
        get_settings()
        return args.func(args) or 0
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
