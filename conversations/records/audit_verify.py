"""Checking the audit trail: recompute every payload hash and chain hash, in seq order.

Triggers stop UPDATE and DELETE through SQLite, but not someone who drops them or edits the file, so the
chain is the evidence: altering any column of a row, removing, inserting or reordering rows breaks it at
that row. From its ``audit_keyed`` event on, each chain hash is a MAC under the trail's key (audit.py):
with the key, no event can be forged or rewritten, not even with every later hash recomputed; without
it, the structure is checked (sequence, payload hashes, the plain part of the chain) and the MACs left
unchecked are counted (`VerifyResult.unchecked`). What no chain can show is a tail cut off, or the whole
file swapped for an older copy: for that, compare with heads recorded elsewhere (``head=``, and the
anchors of anchors.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlite_utils

from .audit import GENESIS, KEYED, TABLE, chain_hash, sha256
from .audit_key import AuditKey

COLUMNS = ("seq", "ts", "actor_role", "actor_id", "referral_id", "type", "payload", "payload_hash",
           "chain_hash", "key_id")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int  # events checked and found sound (all of them when ok)
    head_seq: int  # last sound event (0 for an empty trail)
    head: str  # its chain hash (GENESIS for an empty trail)
    bad_seq: int | None = None  # first event that fails, None when ok or when only head= fails
    reason: str = ""
    key_id: str | None = None  # the key the trail is keyed with (None: not keyed)
    keyed_from: int | None = None  # its audit_keyed event
    unchecked: int = 0  # MACs not checked: no key given, or not the trail's
    key_given: str | None = None  # the ID of the key given to check them with

    @property
    def proven(self) -> bool:
        """Sound, and every event proven by the key: nothing left unchecked, the trail keyed."""
        return self.ok and self.unchecked == 0 and (self.key_id is not None or self.events == 0)

    def unproven(self) -> str:
        """What a sound trail leaves unproven, in one sentence ("" when `proven`)."""
        if not self.ok or self.proven:
            return ""
        if self.key_id is None:
            return ("the trail is not keyed: its hashes are plain SHA-256, which anyone who can write the file "
                    "can recompute; start the bot with its audit key to key it from the next event on")
        if self.key_given is None:
            return (f"the MACs of events {self.keyed_from} to {self.head_seq} were not checked: no audit key (give "
                    f"--key-file, or set SCREENING_AUDIT_KEY_FILE or SCREENING_AUDIT_KEY); the trail's key is "
                    f"{self.key_id}")
        return (f"the MACs of events {self.keyed_from} to {self.head_seq} were not checked: the key given "
                f"({self.key_given}) is not the trail's ({self.key_id})")


class Chain:
    """The check of one trail read in seq order from event 1: plain hashes up to its ``audit_keyed``
    event, MACs under the trail's key from it on."""

    def __init__(self, key: AuditKey | None = None) -> None:
        self.key = key
        self.prev, self.expected, self.count = GENESIS, 1, 0
        self.key_id: str | None = None
        self.keyed_from: int | None = None
        self.unchecked = 0

    def follow(self, row: tuple) -> str | None:
        """Why ``row`` (``COLUMNS`` order) does not follow the rows before it; None, and the chain moved on
        to it, when it does."""
        failure = self._failure(row)
        if failure is None:
            self.prev, self.expected, self.count = row[8], self.expected + 1, self.count + 1
        return failure

    def _failure(self, row: tuple) -> str | None:
        seq, ts, role, actor_id, referral_id, type_, payload, p_hash, c_hash, key_id = row
        if seq != self.expected:
            # seq only grows by one, so a gap means removed rows; another number at the start, an
            # inserted or renumbered row.
            what = "events removed" if isinstance(seq, int) and seq > self.expected else "row inserted or renumbered"
            return f"expected seq {self.expected}, found {seq!r} ({what})"
        if not isinstance(payload, str) or sha256(payload) != p_hash:
            return "payload does not match payload_hash (payload altered)"
        if key_id is None:
            if type_ == KEYED:
                return "the trail's keying event without its key (the keying stripped, the events after it rewritten)"
            if self.key_id is not None:
                return (f"an event without the trail's key, after it was keyed at event {self.keyed_from} "
                        "(written by someone who does not hold the key)")
            if chain_hash(self.prev, seq, ts, role, actor_id, referral_id, type_, p_hash) != c_hash:
                return "chain hash mismatch (this row altered, or inserted, reordered or removed before it)"
            return None
        if self.key_id is None:
            if failure := _keying_failure(row, self.prev):
                return failure
            self.key_id, self.keyed_from = key_id, seq
        elif key_id != self.key_id:
            return f"an event keyed with another key ({key_id}) than the trail's ({self.key_id})"
        if self.key is None or self.key.key_id != key_id:
            self.unchecked += 1
            return None
        if chain_hash(self.prev, seq, ts, role, actor_id, referral_id, type_, p_hash, self.key) != c_hash:
            return ("MAC mismatch (this row altered, or inserted, reordered or removed before it, or written "
                    "without the key)")
        return None

    def result(self, ok: bool = True, bad_seq: int | None = None, reason: str = "") -> VerifyResult:
        return VerifyResult(ok, self.count, self.expected - 1, self.prev, bad_seq, reason, self.key_id,
                            self.keyed_from, self.unchecked, self.key.key_id if self.key else None)


def _keying_failure(row: tuple, prev: str) -> str | None:
    """Why the first keyed row is not the keying event it must be."""
    seq, type_, payload, key_id = row[0], row[5], row[6], row[9]
    if type_ != KEYED:
        return "a keyed event with no audit_keyed event before it (the trail's keying removed or forged)"
    try:
        data = json.loads(payload)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("key_id") != key_id or data.get("from_seq") != seq \
            or data.get("plain_head") != prev:
        return "the audit_keyed event does not name its key, its own seq and the head before it"
    return None


def select_columns(db: sqlite_utils.Database) -> str:
    """COLUMNS as a SELECT list; key_id NULL in a database from before keys (read-only: not migrated)."""
    have = {r[1] for r in db.conn.execute(f"PRAGMA table_info({TABLE})")}
    return ", ".join(c if c in have or c != "key_id" else "NULL AS key_id" for c in COLUMNS)


def verify(db: sqlite_utils.Database, head: str | None = None, key: AuditKey | None = None) -> VerifyResult:
    """Verify the trail in ``db``; with ``head``, also require the chain to contain that head hash; with
    ``key``, check the MACs of its keyed events."""
    # A cursor streams rows; one SELECT reads one WAL snapshot, so writers appending meanwhile are
    # neither blocked nor half-seen.
    cursor = db.conn.execute(f"SELECT {select_columns(db)} FROM {TABLE} ORDER BY seq")
    last = [0, GENESIS, 0]  # seq, chain hash and count of the rows handed on (all sound, or verify_rows stops)

    def rows() -> Iterator[tuple]:
        while True:
            try:
                row = next(cursor)
            except StopIteration:
                return
            except sqlite3.OperationalError as exc:  # text that is not UTF-8 cannot even be read as a row
                if "decode" not in str(exc):
                    raise
                raise _Undecodable(_column(exc)) from None
            yield row
            last[:] = [row[0], row[8], last[2] + 1]

    chain = Chain(key)
    try:
        return verify_rows(rows(), head, chain)
    except _Undecodable as exc:
        seq = last[0]
        found = db.conn.execute(f"SELECT seq FROM {TABLE} WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)).fetchone()
        bad = found[0] if found else seq + 1
        return chain.result(False, bad, f"{exc.column} is not valid UTF-8 text (altered in the file)")


class _Undecodable(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _column(exc: sqlite3.OperationalError) -> str:
    """The column SQLite's decode error names (never the text it quotes), or "a column"."""
    m = re.match(r"Could not decode to UTF-8 column '(\w+)'", str(exc))
    return m.group(1) if m and m.group(1) in COLUMNS else "a column"


def verify_rows(rows: Iterable[tuple], head: str | None = None, chain: Chain | None = None) -> VerifyResult:
    """Verify rows given as tuples in ``COLUMNS`` order and seq order (from the database or an export)."""
    chain = chain or Chain()
    head_seen = head is None or head == GENESIS
    for row in rows:
        if (failure := chain.follow(row)) is not None:
            return chain.result(False, row[0], failure)
        head_seen = head_seen or chain.prev == head
    if not head_seen:
        return chain.result(False, None, f"head {head} is not in the chain (tail cut off or rewritten)")
    return chain.result()


class BrokenChain(ValueError):
    """Raised by `checked_rows` at the first row that does not follow; ``result`` says where and why."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(f"audit trail broken at event {result.bad_seq}: {result.reason}")
        self.result = result


def checked_rows(rows: Iterable[tuple], chain: Chain | None = None) -> Iterator[tuple[tuple, str]]:
    """(row, the chain hash before it) for rows of the whole trail from event 1 in seq order, each checked
    as it is read (with ``chain``'s key); `BrokenChain` at the first that does not follow, so nothing after
    it is handed on."""
    chain = chain or Chain()
    for row in rows:
        prev = chain.prev
        if (failure := chain.follow(row)) is not None:
            raise BrokenChain(chain.result(False, row[0], failure))
        yield row, prev
