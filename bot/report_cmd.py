"""`screening-bot report --html OUT [--db PATH] [--contacts] [--lang LANG]`: the screening report as one
HTML page, in Simplified Chinese or English (``--lang``, else the system locale, as `chat` takes it).

The numbers are the screening log's (`screening-bot log`), from a trail that verifies, with its key when
the key is here; a broken trail gives no report (one line, exit 2, nothing written). The page is written
as the exports are: a file of its own beside OUT, owner-only, put into place whole and never over an
existing file. It reads the database only: making a report records nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlite_utils

from conversations.records.audit_export import new_file
from conversations.records.audit_key import AuditKey
from conversations.records.report_data import ReportData, verified_report

from . import audit_keys, i18n, report_html
from .audit_cmd import open_existing
from .settings import add_db_argument, clip, settings_for

PROG = "screening-bot report"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="the screening report as one HTML page: flow diagram, months, referrals")
    add_db_argument(p)
    p.add_argument("--html", required=True, metavar="OUT", type=Path, help="file to write (must not exist yet)")
    p.add_argument("--contacts", action="store_true",
                   help="include the referring physicians' details (left out by default)")
    p.add_argument("--lang", metavar="LANG", help="the language of the page: zh (Simplified Chinese) or en "
                   "(default: the system locale)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out: Path = args.html
    lang = getattr(args, "lang", None)
    i18n.set_current(i18n.negotiate(lang) if lang else i18n.system_language())
    if out.exists() or out.is_symlink():
        print(f"{PROG}: {clip(str(out), 100)} already exists; a report is never written over a file",
              file=sys.stderr)
        return 2
    db = open_existing(args, PROG)
    if db is None:
        return 2
    try:
        data = verified(db, audit_keys.configured(settings_for(args)), contacts=args.contacts)
        if data is None:
            return 2
        try:
            write_report(data, out)
        except FileExistsError:
            print(f"{PROG}: {clip(str(out), 100)} already exists; a report is never written over a file",
                  file=sys.stderr)
            return 2
    finally:
        db.conn.close()
    log = data.log
    print(f"{PROG}: wrote {out} ({len(data.referrals)} referrals; {log.started} started, {log.completed} "
          f"completed, {log.sent} sent; audit trail up to event {log.head_seq})")
    return 0


def verified(db: sqlite_utils.Database, key: AuditKey | None, *, contacts: bool = False,
             prog: str = PROG) -> ReportData | None:
    """The report's data, or None after the one line `log` says for a trail that does not verify."""
    data = verified_report(db, key, contacts=contacts)
    if not isinstance(data, ReportData):
        where = f"event {data.bad_seq}" if data.bad_seq is not None else "its head"
        print(f"{prog}: the audit trail is broken at {where}, so it gives no report; run `screening-bot audit "
              "verify` for where and why", file=sys.stderr)
        return None
    return data


def write_report(data: ReportData, out: Path, lang: str | None = None) -> None:
    """The page at ``out`` in ``lang`` (default: the current language), whole, owner-only, never over a file
    (FileExistsError)."""
    page = report_html.render(data, lang=lang)
    with new_file(out) as temporary:
        temporary.write_text(page, encoding="utf-8")
