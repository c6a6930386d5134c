"""`screening-bot chat`: the pre-screen in a terminal (interactive, or JSON lines with --jsonl)."""

import argparse
import sys

from conversations.dialogue import identifiers
from conversations.records.db import open_db
from conversations.records.store import Store

from . import audit_keys, i18n, terminal
from .settings import add_db_argument, settings_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="pre-screen a patient in this terminal")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_db_argument(p)
    p.add_argument("--jsonl", action="store_true", help="read one answer per line, write one JSON object per line")
    p.add_argument("--resume", metavar="REFERRAL_ID", help="continue an open pre-screen")
    p.add_argument("--lang", metavar="LANG", help="the language of the texts: zh (Simplified Chinese) or en "
                   "(default: the system locale)")
    p.add_argument("--as", dest="operator", metavar="NAME",
                   help="who is screening, for the audit trail (default: the system's user name)")


def run(args: argparse.Namespace) -> int:
    name = getattr(args, "operator", None)
    if name is not None and identifiers.identifier_kind(name) is not None:  # never written, never quoted
        print("screening-bot chat: --as takes your name, and that looks like a patient identifier",
              file=sys.stderr)
        return 2
    settings = settings_for(args)
    db = open_db(settings.db_path, checked=True)  # never an answer written into a damaged file
    try:
        store = Store(db)
        audit_keys.for_writing(settings, db, "screening-bot chat")  # before anything is asked
    except BaseException:
        db.close()
        raise
    operator = terminal.Operator.here(getattr(args, "operator", None))
    lang = getattr(args, "lang", None)
    i18n.set_current(i18n.negotiate(lang) if lang else i18n.system_language())
    try:
        if getattr(args, "jsonl", False):
            # Bytes, so that a line that is not UTF-8 is refused by itself rather than read as a guess.
            lines = getattr(sys.stdin, "buffer", sys.stdin)
            return terminal.jsonl(store, getattr(args, "resume", None), iter(lines), sys.stdout, operator)
        return terminal.interactive(store, getattr(args, "resume", None), operator=operator)
    finally:
        store.close()
