"""The `screening-bot` command: each subcommand lives in a module of its own, and every one runs with the
same settings (bot/settings.py: the environment, then `.env`, then the defaults; `--db` over all three)."""

import argparse
import logging
import os
import sqlite3
import sys

from conversations.records.audit import KeyRequired
from conversations.records.audit_key import AuditKeyError
from conversations.records.db import fault

from . import (
    audit_cmd,
    backup_cmd,
    chat_cmd,
    evaluate_cmd,
    log_cmd,
    protocol_cmd,
    reassess_cmd,
    report_cmd,
    run_cmd,
)
from .settings import SettingsError, clip, dotenv_warning, settings_for

# Warnings are log records: on standard error as they are (logging's last resort) until `run` configures
# its log, and apart from a command's own output in tests.
log = logging.getLogger("screening-bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screening-bot",
        description="Pre-screening assistant for the pediatric anti-CD19 CAR-T refractory SLE study.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    evaluate_cmd.add_parser(sub)
    chat_cmd.add_parser(sub)
    backup_cmd.add_parser(sub)
    audit_cmd.add_parser(sub)
    log_cmd.add_parser(sub)
    report_cmd.add_parser(sub)
    reassess_cmd.add_parser(sub)
    protocol_cmd.add_parser(sub)
    run_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings_for(args)  # loaded once, for every command: a malformed setting stops any of them here
    except SettingsError as exc:
        print(f"{program(args)}: {exc}", file=sys.stderr)
        return 2
    if warning := dotenv_warning():
        log.warning("%s: warning: %s", program(args), warning)
    try:
        if not getattr(args, "func", None):
            return main_job(args)
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush fails silently
        return 1
    except (AuditKeyError, KeyRequired) as exc:  # a key missing, malformed, not private, or not the trail's
        tail = "" if isinstance(exc, AuditKeyError) else ": nothing was written; set SCREENING_AUDIT_KEY_FILE or " \
            "SCREENING_AUDIT_KEY"
        print(f"{program(args)}: {exc}{tail}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # the one place a damaged, read-only or full database is said
        print(f"{program(args)}: {fault(settings_for(args).db_path, exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the command was given that the system refuses (a name too long, ...)
        if exc.filename is None:
            raise
        print(f"{program(args)}: cannot use {clip(str(exc.filename), 100)} ({exc.strerror})", file=sys.stderr)
        return 2


def program(args: argparse.Namespace) -> str:
    """The command as its messages name it: `screening-bot audit verify`, `screening-bot log`, ..."""
    words = [getattr(args, "command", None), getattr(args, "audit_command", None)]
    return " ".join(["screening-bot", *(w for w in words if w)])


def main_job(args: argparse.Namespace) -> int:
    """With no command: the Telegram bot when a token is configured (in the environment or `.env`),
    otherwise the terminal pre-screen."""
    if settings_for(args).token is not None:
        return run_cmd.run(args)
    return chat_cmd.run(args)


if __name__ == "__main__":
    sys.exit(main())
