"""`screening-bot log [--json]`: the screening numbers in CONSORT order, from the audit trail."""

from __future__ import annotations

import argparse

from conversations.records.screening_log import render_json, render_text, screening_log

from .audit_cmd import open_existing
from .settings import add_db_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="the screening log: started, completed, outcomes, referrals, decisions")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = open_existing(args, "screening-bot log")
    if db is None:
        return 2
    log = screening_log(db)
    print(render_json(log) if args.json else render_text(log))
    return 0
