"""Exporting the audit trail for inspection: every event as stored, readable transcripts per referral,
and the head hash that ties the file to the chain.

Which head a file carries: the head of the whole trail when the export starts (seq and chain hash).
The file holds the events up to that head (filtered by referral and/or date), and the export itself
is then recorded as an ``export`` audit event whose payload names that same head. So the file never
mentions the event that records it, and ``audit verify --head HASH`` with the file's head checks that
the trail still contains everything the file was cut from.

That head is recomputed, not copied: every event up to it is read and its payload hash and chain hash
checked as the file is written (the events of a partial export among them), and a trail that does not
verify is not exported at all (`BrokenTrail`, nothing written, nothing recorded).

jsonl: one JSON object a line, ``record`` telling which:
  ``event``       every column of ``audit_events``; ``payload`` as a JSON object (the stored text);
                  ``prev_hash``, the chain hash of the event before it, so that each event of a partial
                  export can be checked on its own (`export_verify`)
  ``transcript``  ``referral_id`` and ``lines``: readable lines in seq order
  ``head``        last line: ``seq``, ``chain_hash``, ``exported_at``, the filters and the event count;
                  a file without it was cut short
csv: header ``record`` + the table's columns. ``event`` rows hold the columns as stored (payload as
its JSON text); ``transcript`` rows one readable line each in the ``payload`` column, with the seq, ts,
actor, referral and type of the event it describes; a final ``head`` trailer row holds the head seq in
``seq``, its hash in ``chain_hash``, the export time in ``ts`` and the filters as JSON in ``payload``.

The file is written under a temporary name of its own (``tempfile.mkstemp`` beside the target, owner-only)
and put into place atomically, never over another file, only once the export event has been committed: a
file at the requested path always has its audit event and is one export whole. Of two exports to one path
at once, the second to finish gets FileExistsError (its event recorded, its file removed).
"""

from __future__ import annotations

import csv
import errno
import itertools
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import sqlite_utils

from conversations.dialogue.events import ANSWER_EVENTS, E
from conversations.dialogue.messages import M, Message

from . import audit
from .audit_verify import COLUMNS, BrokenChain, Chain, VerifyResult, checked_rows, select_columns
from .db import PRIVATE, write

FORMATS = ("jsonl", "csv")
# An export of a trail whose chain does not verify is refused: its head would prove nothing.
BrokenTrail = BrokenChain
EXPORT_ROLES = ("operator", "coordinator")


@dataclass(frozen=True)
class Selection:
    """What an export holds: events up to ``head_seq``, optionally of one referral, from ``since`` on."""

    head_seq: int
    head: str
    referral_id: str | None = None
    since: str | None = None  # a ts lower bound in the trail's own format, so strings compare as times
    chain: Chain | None = None  # the check of the events read (with the key bound to the database), once read

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["seq <= ?"], [self.head_seq]
        if self.referral_id is not None:
            clauses.append("referral_id = ?")
            params.append(self.referral_id)
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        return " AND ".join(clauses), params

    def rows(self, db: sqlite_utils.Database) -> Iterator[tuple[tuple, str]]:
        """(row, the chain hash before it) for each selected event, in seq order. Every event up to the
        head is read and its hashes checked on the way, selected or not, so the head the file carries is
        the one these events recompute: `BrokenTrail` at the first that does not follow, or when they do
        not end at the head."""
        last = (0, audit.GENESIS)
        cursor = db.conn.execute(f"SELECT {select_columns(db)} FROM {audit.TABLE} WHERE seq <= ? ORDER BY seq",
                                 (self.head_seq,))
        chain = Chain(audit.bound(db))
        object.__setattr__(self, "chain", chain)  # frozen, but the writer's head line needs the key it read
        try:
            for row, prev in checked_rows(cursor, chain):
                last = (row[0], row[8])
                if (self.referral_id is None or row[4] == self.referral_id) and (
                        self.since is None or row[1] >= self.since):
                    yield row, prev
        except sqlite3.OperationalError as exc:  # text that is not UTF-8 cannot even be read as a row
            if "decode" not in str(exc):
                raise
            raise BrokenTrail(VerifyResult(False, last[0], last[0], last[1], last[0] + 1,
                                           "a column is not valid UTF-8 text (altered in the file)")) from None
        if last != (self.head_seq, self.head):
            raise BrokenTrail(VerifyResult(False, last[0], last[0], last[1], None,
                                           f"the events end at {last[0]} {last[1]}, not at the head "
                                           f"{self.head_seq} {self.head}"))

    def referral_rows(self, db: sqlite_utils.Database) -> Iterator[tuple[str, list[tuple]]]:
        """(referral_id, its rows in seq order) for each referral; the (referral_id, seq) index streams it."""
        where, params = self.where()
        rows = db.conn.execute(
            f"SELECT {select_columns(db)} FROM {audit.TABLE} WHERE referral_id IS NOT NULL AND {where}"
            " ORDER BY referral_id, seq", params)
        for referral_id, group in itertools.groupby(rows, key=lambda r: r[4]):
            yield referral_id, list(group)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    events: int
    referrals: int
    head_seq: int
    head: str
    audit_seq: int  # the export's own audit event


# A writer fills the file at the path it is given and returns (events written, referrals written).
Writer = Callable[[sqlite_utils.Database, Path, Selection], tuple[int, int]]
# How an edge says a dialogue message (bot/phrases.py: text); records know the codes, not the sentences.
Phrase = Callable[[Message], str]


def parse_since(text: str) -> str:
    """An ISO date or datetime (UTC unless it names an offset) as a lower bound comparable with ts."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r} is not an ISO date or date-time") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return audit.iso_utc(moment)


def export(db: sqlite_utils.Database, path: str | Path, fmt: str, *, actor_role: str, actor_id: int,
           referral_id: str | None = None, since: str | None = None, phrase: Phrase | None = None) -> ExportResult:
    """Export the trail as jsonl or csv (see the module docstring) and record the export. ``phrase`` says
    the dialogue's messages (a refused answer's reason) in the transcripts' language; without it they
    show as their codes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    writer = partial(_write_jsonl if fmt == "jsonl" else _write_csv, phrase=phrase)
    return publish(db, path, fmt, writer, actor_role=actor_role, actor_id=actor_id, referral_id=referral_id,
                   since=since)


def publish(db: sqlite_utils.Database, path: str | Path, fmt: str, writer: Writer, *, actor_role: str,
            actor_id: int, referral_id: str | None, since: str | None) -> ExportResult:
    """Write an export through ``writer`` and record it as an ``export`` audit event (shared by formats)."""
    if actor_role not in EXPORT_ROLES:
        raise ValueError(f"exports are made by {' or '.join(EXPORT_ROLES)}, not {actor_role!r}")
    path = Path(path)
    head_seq, head_hash = audit.head(db)
    selection = Selection(head_seq, head_hash, referral_id, parse_since(since) if since else None)
    with new_file(path) as temporary:
        events, referrals = writer(db, temporary, selection)
        with write(db):
            event = audit.append(db, actor_role=actor_role, actor_id=actor_id, type=E.EXPORT, payload={
                "format": fmt, "referral_id": referral_id, "since": selection.since, "events": events,
                "head": head_hash,
            })
    return ExportResult(path, fmt, events, referrals, head_seq, head_hash, event.seq)


@contextmanager
def new_file(path: Path) -> Iterator[Path]:
    """A temporary file to fill, put into place at ``path`` whole when the block ends without an exception,
    never over another file (`_put_in_place`; FileExistsError when ``path`` exists by then), and removed
    otherwise. It is a file of its own beside the target (so the rename stays on one file system),
    owner-only from the start: two writers to one path each fill their own and never each other's."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    temporary = Path(name)
    try:
        os.fchmod(fd, PRIVATE)  # the trail is for its auditors only; the writer then fills the file as it is
        os.close(fd)
        yield temporary
        _put_in_place(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _put_in_place(temporary: Path, path: Path) -> None:
    """``temporary`` renamed to ``path`` atomically and never over another file: a hard link fails if
    ``path`` exists (FileExistsError: another export got there first, and its file stays whole). Where the
    file system has no hard links, a rename, which could replace a file made in the same instant."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.replace(temporary, path)


def _head_record(selection: Selection, events: int) -> dict[str, Any]:
    return {"record": "head", "seq": selection.head_seq, "chain_hash": selection.head,
            "exported_at": audit.utc_now(), "referral_id": selection.referral_id, "since": selection.since,
            "events": events, "key_id": selection.chain.key_id if selection.chain else None,
            "keyed_from": selection.chain.keyed_from if selection.chain else None}


def _write_jsonl(db: sqlite_utils.Database, path: Path, selection: Selection,
                 phrase: Phrase | None = None) -> tuple[int, int]:
    events = referrals = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for row, prev in selection.rows(db):
            out.write(_event_line(row, prev))
            events += 1
        for referral_id, rows in selection.referral_rows(db):
            out.write(_dumps({"record": "transcript", "referral_id": referral_id,
                              "lines": [transcript_line(r, phrase) for r in rows]}) + "\n")
            referrals += 1
        out.write(_dumps(_head_record(selection, events)) + "\n")
    return events, referrals


def _event_line(row: tuple, prev: str) -> str:
    # The stored payload text is spliced in as it is, not parsed and re-serialised: the file shows
    # exactly the bytes payload_hash was computed over, and 100k rows skip a JSON parse each.
    fields = dict(zip(COLUMNS, row, strict=True))
    payload = fields.pop("payload")
    return _dumps({"record": "event", **fields, "prev_hash": prev})[:-1] + ',"payload":' + payload + "}\n"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _write_csv(db: sqlite_utils.Database, path: Path, selection: Selection,
               phrase: Phrase | None = None) -> tuple[int, int]:
    events = referrals = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(("record", *COLUMNS))
        for row, _ in selection.rows(db):
            w.writerow(("event", *row))
            events += 1
        for _, rows in selection.referral_rows(db):
            for r in rows:
                w.writerow(("transcript", *r[:6], transcript_line(r, phrase), "", "", ""))
            referrals += 1
        h = _head_record(selection, events)
        filters = {k: h[k] for k in ("referral_id", "since", "events", "keyed_from")}
        w.writerow(("head", h["seq"], h["exported_at"], "", "", "", "", _dumps(filters), "", h["chain_hash"],
                    h["key_id"] or ""))
    return events, referrals


@dataclass
class ExportFile:
    events: list[dict[str, Any]]  # rows as in the database: COLUMNS, payload as its canonical text
    transcripts: dict[str, list[str]]
    head: dict[str, Any] | None  # None: the file was cut short


def read_jsonl(path: str | Path) -> ExportFile:
    """Read a jsonl export back (for checks and tests; it holds the whole file in memory)."""
    result = ExportFile([], {}, None)
    with open(path, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            kind = record.pop("record")
            if kind == "event":
                record["payload"] = audit.canonical(record["payload"])
                result.events.append({c: record.get(c) for c in COLUMNS})
            elif kind == "transcript":
                result.transcripts[record["referral_id"]] = record["lines"]
            elif kind == "head":
                result.head = record
    return result


def transcript_line(row: tuple, phrase: Phrase | None = None) -> str:
    """One event as a readable line: ``<ts> <role> <actor id>: <what happened>``."""
    seq, ts, role, actor_id, _referral, type_, payload = row[:7]
    try:
        p = json.loads(payload)
        text = _describe(type_, p, phrase) + _for_change(type_, p)
    except (ValueError, TypeError, AttributeError, KeyError):
        text = f"{type_} (payload unreadable, event {seq})"
    return f"{ts} {role} {actor_id}: {text}"


def _for_change(type_: str, p: dict[str, Any]) -> str:
    """An answer changed while a pre-screen already sent was open for a change: the version and the reason's
    code it belongs to (older events, and answers before any sending, carry neither)."""
    if (type_ not in ANSWER_EVENTS and type_ != E.PRESCREEN_REOPENED) or "reason_code" not in p:
        return ""
    return f" [change to version {p.get('send_no')}, reason {p['reason_code']}]"


def _facts_text(facts: dict[str, Any] | None, unknown: list[str] | None = None) -> str:
    parts = [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in (facts or {}).items()]
    parts += [f"{k} unknown" for k in unknown or ()]
    return ", ".join(parts) or "nothing"


def _reason(p: dict[str, Any], phrase: Phrase | None) -> str:
    """Why an answer was refused: a message code with its parameters (an older trail: the sentence)."""
    if "params" not in p:
        return str(p.get("error"))
    message = Message(M(p["error"]), p["params"])
    return phrase(message) if phrase else f"{message.code} {audit.canonical(message.params)}"


def _describe(type_: str, p: dict[str, Any], phrase: Phrase | None = None) -> str:
    match type_:
        case E.PRESCREEN_STARTED:
            return f"started a pre-screen ({p.get('channel')}, protocol {p.get('protocol_version')})"
        case E.UPDATE_RECEIVED:
            verb = {"text": "wrote", "message": "wrote", "command": "sent command",
                    "callback": "pressed"}.get(p.get("kind"), p.get("kind"))
            return f"{verb}: {p.get('text')}"
        case E.MESSAGE_SENT:  # ``lang`` since messages record their language (older events: none)
            lang = f" [{p['lang']}]" if p.get("lang") else ""
            return f"sent to chat {p.get('chat_id')}{lang}: {p.get('text')}"
        case E.MESSAGE_DELETED:
            return f"deleted message {p.get('message_id')} in chat {p.get('chat_id')} ({p.get('reason')})"
        case E.LANGUAGE_CHOSEN:
            return f"chose the language {p.get('lang')}"
        case E.SESSION_OPENED:
            return (f"{'resumed' if p.get('resumed') else 'started'} the pre-screen in the terminal as "
                    f"{p.get('operator')} on {p.get('host')}")
        case E.SESSION_PAUSED:
            return f"paused the pre-screen in the terminal ({p.get('operator')} on {p.get('host')})"
        case E.ANSWER_ACCEPTED if p.get("skipped"):
            return f"skipped question {p['question']} ({_facts_text(p.get('facts'), p.get('unknown'))})"
        case E.ANSWER_ACCEPTED if p.get("unchanged"):
            return (f"answered question {p['question']} again, unchanged: {p.get('raw')} "
                    f"({_facts_text(p.get('facts'), p.get('unknown'))})")
        case E.ANSWER_ACCEPTED:
            return (f"answered question {p['question']}: {p.get('raw')} "
                    f"({_facts_text(p.get('facts'), p.get('unknown'))})")
        case E.ANSWER_REJECTED:
            return f"answer to question {p['question']} rejected: {_reason(p, phrase)}"
        case E.ANSWER_WITHDRAWN:
            return (f"withdrew the answer to question {p['question']} "
                    f"({_facts_text(p.get('facts'), p.get('unknown'))})")
        case E.ANSWER_CORRECTED:
            old, new = p.get("old") or {}, p.get("new") or {}
            return (f"corrected question {p['question']}: {p.get('raw')} (was "
                    f"{_facts_text(old.get('facts'), old.get('unknown'))}; now "
                    f"{_facts_text(new.get('facts'), new.get('unknown'))})")
        case E.OUTCOME:
            parts = [f"outcome {p['status']}" + (" (final)" if p.get("final") else " (provisional)")]
            for key in ("failed", "missing", "pending"):
                if p.get(key):
                    parts.append(f"{key} {', '.join(map(str, p[key]))}")
            return "; ".join(parts)
        case E.PRESCREEN_CANCELLED:
            return "cancelled the pre-screen"
        case E.PRESCREEN_REOPENED:  # written by the engine, not in issue #5's list
            return f"reopened the pre-screen to fill in unknowns ({', '.join(p.get('questions', []))})"
        case E.REFERRAL_SENT:
            return (f"referral ({p.get('outcome_status')}) sent to coordinators "
                    f"{', '.join(map(str, p.get('coordinators', [])))}; audit head {p.get('audit_head')}")
        case E.REFERRAL_AMENDED:
            why = ": ".join(str(x) for x in (p.get("reason_code"), p.get("reason")) if x)  # older: no code
            return f"opened version {p.get('send_no')} for a change: {why}"
        case E.COORDINATOR_DECISION:
            return f"decision: {p['decision']}"
        case _:
            return f"{type_} {audit.canonical(p)}"
