"""`screening-bot audit verify|export|verify-export`: check the hash chain, export the trail for inspection,
and check an export file on its own."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import sqlite_utils

from conversations.records import anchors, audit, audit_export, fhir_export, rebuild
from conversations.records.audit_key import AuditKey
from conversations.records.audit_verify import VerifyResult, verify
from conversations.records.db import open_db, open_readonly, stamp
from conversations.records.export_verify import Unreadable, verify_export

from . import audit_keys, phrases
from .settings import add_db_argument, clip, settings_for


def open_existing(args: argparse.Namespace, prog: str, *, readonly: bool = False) -> sqlite_utils.Database | None:
    """The database named by --db / SCREENING_DB_PATH (environment or .env), or None after a one-line
    error. Never creates one: an empty new database would "verify" as a sound trail of 0 events.
    ``readonly``: opened by `open_readonly`, so that nothing done changes the file."""
    path = settings_for(args).db_path
    if not path.is_file():
        print(f"{prog}: no database at {path} (give --db PATH or set SCREENING_DB_PATH)", file=sys.stderr)
        return None
    # a damaged file is said as such, not as a broken chain
    db = open_readonly(path)[0] if readonly else open_db(path, checked=True)
    if audit.TABLE not in db.table_names():
        print(f"{prog}: {path} holds no audit trail (no {audit.TABLE} table)", file=sys.stderr)
        return None
    return db


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="verify or export the audit trail")
    actions = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    v = actions.add_parser("verify", help="recompute the hash chain; exit 1 naming the first bad event")
    add_db_argument(v)
    v.add_argument("--head", metavar="HASH",
                   help="a head hash recorded earlier: fail if the chain no longer contains it")
    v.add_argument("--anchors", metavar="FILE", action="append",
                   help="anchored heads (the anchors file, or the daily heads the coordinators received, one a "
                        "line; - reads them from standard input): fail unless each is still in the chain")
    add_key_argument(v)
    v.set_defaults(func=run_verify)

    e = actions.add_parser("export", help="export events, transcripts and the head hash (recorded as an "
                                          "audit event)")
    add_db_argument(e)
    e.add_argument("--format", required=True, choices=("jsonl", "csv", "fhir"),
                   help="jsonl or csv: every event, transcripts, head; fhir: FHIR R4B NDJSON, one Bundle "
                        "per referral")
    e.add_argument("--out", required=True, metavar="PATH", help="file to write (must not exist yet)")
    e.add_argument("--referral", metavar="ID", help="only this referral")
    e.add_argument("--since", metavar="DATE", help="only events from this ISO date/date-time on (UTC)")
    e.add_argument("--as", dest="actor_role", choices=audit_export.EXPORT_ROLES, default="operator",
                   help="who exports, for the audit event (default: operator)")
    e.add_argument("--actor-id", type=int, default=None,
                   help="their ID for the audit event (default: the numeric ID of this OS account)")
    e.set_defaults(func=run_export)

    x = actions.add_parser("verify-export", help="check a jsonl export on its own, with no database: every "
                                                 "hash recomputed, and its head; exit 1 naming the first bad line")
    x.add_argument("file", metavar="FILE", help="a jsonl file written by `audit export`")
    add_key_argument(x)
    x.set_defaults(func=run_verify_export)


def add_key_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-file", metavar="PATH", type=Path,
                   help="the trail's audit key file, to check every MAC (default: SCREENING_AUDIT_KEY, else "
                        "SCREENING_AUDIT_KEY_FILE, else <database>.audit-key if there is one)")


# Exit statuses of the checks: 0 sound and proven by the key, 1 broken, 2 not checked at all (a usage or file
# error), 3 sound as far as it could be checked, with what was not said on standard error.
UNPROVEN = 3


def reading_key(args: argparse.Namespace) -> AuditKey | None:
    return audit_keys.configured(settings_for(args), getattr(args, "key_file", None))


def run_verify(args: argparse.Namespace) -> int:
    prog = "screening-bot audit verify"
    try:
        anchor_list = read_anchors(args.anchors or [])
    except (OSError, UnicodeDecodeError, anchors.NotAnAnchor) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{prog}: --anchors: {clip(why, 200)}", file=sys.stderr)
        return 2
    # Read-only, and immutable where it can be (see open_readonly): the file stays byte-identical.
    path = settings_for(args).db_path
    db = open_existing(args, prog, readonly=True)
    if db is None:
        return 2
    try:
        key = reading_key(args)
    except BaseException:
        db.conn.close()
        raise
    before = stamp(path)
    found = _check(db, args.head, key, anchor_list)
    if stamp(path) != before:  # a writer started while an immutable read was under way: read it again, shared
        found = _check(open_readonly(path, immutable=False)[0], args.head, key, anchor_list)
    r, held, rebuilt = found
    if not r.ok:
        where = f"event {r.bad_seq}" if r.bad_seq is not None else "the head"
        print(f"{prog}: audit trail broken at {where}: {r.reason} "
              f"({r.events} events before it are sound, up to event {r.head_seq} {r.head})", file=sys.stderr)
        return 1
    problems = held + [rebuild.describe(d) for d in (rebuilt.differences if rebuilt else [])]
    if problems:
        for line in problems[:MAX_LINES]:
            print(f"{prog}: {line}", file=sys.stderr)
        if len(problems) > MAX_LINES:
            print(f"{prog}: … and {len(problems) - MAX_LINES} more", file=sys.stderr)
        return 1
    keyed = f"; keyed from event {r.keyed_from} (key {r.key_id})" if r.key_id else ""
    if rebuilt is None:
        state = "state not compared (the database holds the trail alone, no state table)"
    else:
        rows = ", ".join(f"{n} {table}" for table, n in rebuilt.checked.items())
        unprovable = sum(rebuilt.unchecked.values())
        state = f"state proven by the trail: {rows or 'no rows'}" + (
            f" ({unprovable} fields from before the trail recorded them not provable)" if unprovable else "")
    held_line = f"; {len(anchor_list)} anchored heads held" if anchor_list else ""
    # One line, as before: scripts read the first words.
    print(f"audit trail {'sound' if r.proven else 'structure sound'}: {r.events} events, head {r.head_seq} "
          f"{r.head}{keyed}; {state}{held_line}")
    if r.proven:
        return 0
    print(f"{prog}: not proven: {r.unproven()}", file=sys.stderr)
    return UNPROVEN


MAX_LINES = 20  # differences said one a line; the rest counted


def _check(db: sqlite_utils.Database, head: str | None, key: AuditKey | None,
           anchor_list: list[anchors.Anchor]) -> tuple[VerifyResult, list[str], rebuild.RebuildResult | None]:
    """The chain, then (only once it is sound: else its events prove nothing) the anchors and the tables."""
    try:
        r = verify(db, head=head, key=key)
        if not r.ok:
            return r, [], rebuild.RebuildResult()
        # A trail alone (a database holding no state table at all: tools', tests') has no rows to compare.
        alone = not set(rebuild.TABLES) & set(db.table_names())
        return r, missing_triggers(db) + anchors.check(db, anchor_list), None if alone else rebuild.compare(db)
    finally:
        db.conn.close()


def missing_triggers(db: sqlite_utils.Database) -> list[str]:
    """The append-only triggers gone (someone dropped them to change the trail), one line each."""
    have = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return [f"the trigger {name} that keeps the trail append-only is missing (dropped to change rows)"
            for name in audit.TRIGGERS if name not in have]


def read_anchors(sources: list[str]) -> list[anchors.Anchor]:
    """The anchors in each file named ("-": standard input, for heads pasted one a line)."""
    found: list[anchors.Anchor] = []
    for source in sources:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        found += anchors.parse(text)
    return found


def run_export(args: argparse.Namespace) -> int:
    prog = "screening-bot audit export"
    out = Path(args.out)
    if out.exists():
        print(f"{prog}: {out} already exists; an export never overwrites an earlier one", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"{prog}: directory {out.parent} does not exist", file=sys.stderr)
        return 2
    db = open_existing(args, prog)
    if db is None:
        return 2
    audit.bind(db, audit_keys.configured(settings_for(args)))  # its own event is keyed like the rest
    actor_id = args.actor_id if args.actor_id is not None else os.getuid()
    kwargs = {"actor_role": args.actor_role, "actor_id": actor_id, "referral_id": args.referral,
              "since": args.since}
    try:
        if args.format == "fhir":
            r = fhir_export.export(db, out, **kwargs)
        else:
            r = audit_export.export(db, out, args.format, phrase=phrases.text, **kwargs)
    except audit_export.BrokenTrail as exc:  # its head would prove nothing: not exported, not recorded
        r = exc.result
        where = f"event {r.bad_seq}" if r.bad_seq is not None else "its head"
        print(f"{prog}: the audit trail is broken at {where}, so it is not exported (nothing written, nothing "
              "recorded); run `screening-bot audit verify` for where and why", file=sys.stderr)
        return 2  # a refusal, as `log` refuses; exit 1 is `audit verify`'s finding
    except ValueError as exc:  # a filter it cannot take, which the message may quote (--since)
        print(f"{prog}: {clip(str(exc), 200)}", file=sys.stderr)
        return 2
    except FileExistsError:  # another export to the same path finished first; its file stays as it is
        print(f"{prog}: {out} already exists (another export finished first); an export never overwrites an "
              "earlier one, and this one is recorded in the trail but not kept", file=sys.stderr)
        return 2
    except OSError as exc:  # the directory it goes to is not ours to write, or its disk is full
        print(f"{prog}: cannot write {out} ({exc.strerror or type(exc).__name__})", file=sys.stderr)
        return 2
    what = f"{r.referrals} referral bundles from {r.events} events" if r.format == "fhir" else \
        f"{r.events} events and {r.referrals} transcripts"
    print(f"exported {what} to {r.path}; head {r.head_seq} {r.head}; recorded as audit event {r.audit_seq}")
    settings = settings_for(args)
    if settings.coordinator_ids or settings.anchors_file:  # somewhere to anchor the head, apart from the file
        from .telegram import anchoring  # the coordinators' chats are the bot's: only this needs its phrases

        anchor, not_written = anchoring.after_export(db, settings)
        told = [f"sent to {len(anchor_chats(db, anchor))} coordinators' chats" if settings.coordinator_ids else "",
                f"written to {settings.anchors_file}" if settings.anchors_file and not not_written else ""]
        print(f"anchored head: event {anchor.seq} {anchor.head}" + (
            f" ({'; '.join(t for t in told if t)})" if any(told) else ""))
        if not_written:
            print(f"{prog}: the anchored head could not be written to {settings.anchors_file} ({not_written}); "
                  "the export itself is whole and recorded", file=sys.stderr)
            return 1
    return 0


def anchor_chats(db: sqlite_utils.Database, anchor: anchors.Anchor) -> list[int]:
    row = db.conn.execute(f"SELECT payload FROM {audit.TABLE} WHERE type = ? ORDER BY seq DESC LIMIT 1",
                          (anchors.HEAD_ANCHORED,)).fetchone()
    return json.loads(row[0])["chats"] if row else []


def run_verify_export(args: argparse.Namespace) -> int:
    prog = "screening-bot audit verify-export"
    try:
        r = verify_export(args.file, reading_key(args))
    except Unreadable as exc:
        print(f"{prog}: {clip(str(exc), 300)}", file=sys.stderr)
        return 2
    if not r.ok:
        event = f" (event {r.bad_seq})" if r.bad_seq is not None else ""
        print(f"{prog}: {args.file} broken at line {r.bad_line}{event}: {clip(r.reason, 300)}", file=sys.stderr)
        return 1
    line = f"export sound: {r.events} events, head {r.head_seq} {r.head}"
    if r.partial:
        filters = ", ".join(f for f in (r.referral_id and f"referral {r.referral_id}",
                                        r.since and f"since {r.since}") if f)
        line += (f"; a partial export ({clip(filters, 200)}): each event checked from the previous hash it "
                 "records, not the events between them; that they are the trail's, up to this head, "
                 f"`screening-bot audit verify --head {r.head}` shows on the database")
    print(line)
    if r.proven:
        return 0
    if r.key_id is None:
        why = "the export is of a trail that is not keyed: its plain SHA-256 hashes can be recomputed by anyone"
    elif r.key_given is None:
        why = (f"{r.unchecked} MACs were not checked: no audit key (give --key-file); the trail's key is "
               f"{r.key_id}")
    else:
        why = f"{r.unchecked} MACs were not checked: the key given ({r.key_given}) is not the trail's ({r.key_id})"
    print(f"{prog}: not proven: {why}", file=sys.stderr)
    return UNPROVEN
