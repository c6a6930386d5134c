"""`screening-bot reassess [--json]`: after an amendment, every referral whose outcome the current
protocol changes (its pre-screen is carried over to the current protocol when the database opens)."""

from __future__ import annotations

import argparse
import json

from conversations.records.reassess import reassess, render_text
from conversations.records.store import Store

from .audit_cmd import open_existing
from .settings import add_db_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reassess", help="list the referrals whose outcome the current protocol changes")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = open_existing(args, "screening-bot reassess")
    if db is None:
        return 2
    store = Store(db)
    try:
        rows = reassess(store)
    finally:
        store.close()
    print(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2) if args.json else render_text(rows))
    return 0
