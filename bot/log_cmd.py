"""`screening-bot log [--json]`: the screening numbers in CONSORT order, from the audit trail."""

from __future__ import annotations

import argparse
import sys

from conversations.records.screening_log import ScreeningLog, render_json, render_text, verified_log

from . import audit_keys
from .audit_cmd import open_existing
from .settings import add_db_argument, settings_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="the screening log: started, completed, outcomes, referrals, decisions")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    prog = "screening-bot log"
    db = open_existing(args, prog)
    if db is None:
        return 2
    log = verified_log(db, audit_keys.configured(settings_for(args)))  # with the key, when it is here
    if not isinstance(log, ScreeningLog):  # numbers from a trail that does not verify are not to be relied on
        where = f"event {log.bad_seq}" if log.bad_seq is not None else "its head"
        print(f"{prog}: the audit trail is broken at {where}, so it gives no numbers; run `screening-bot audit "
              "verify` for where and why", file=sys.stderr)
        return 2  # a refusal, as every command's refusal to do its job; exit 1 is `audit verify`'s finding
    print(render_json(log) if args.json else render_text(log))
    return 0
