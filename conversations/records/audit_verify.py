"""Checking the audit trail: recompute every payload hash and chain hash, in seq order.

Triggers stop UPDATE and DELETE through SQLite, but not someone who drops them or edits the file, so the
chain is the evidence: altering any column of a row, removing, inserting or reordering rows breaks it at
that row. What the chain alone cannot show is a tail cut off, or a rewrite from some row on with every
later hash recomputed: for that, compare with a head hash recorded elsewhere (``head=``), such as one
printed by an earlier ``audit verify`` or carried in an export.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlite_utils

from .audit import GENESIS, TABLE, chain_hash, sha256

COLUMNS = ("seq", "ts", "actor_role", "actor_id", "referral_id", "type", "payload", "payload_hash",
           "chain_hash")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events: int  # events checked and found sound (all of them when ok)
    head_seq: int  # last sound event (0 for an empty trail)
    head: str  # its chain hash (GENESIS for an empty trail)
    bad_seq: int | None = None  # first event that fails, None when ok or when only head= fails
    reason: str = ""


def verify(db: sqlite_utils.Database, head: str | None = None) -> VerifyResult:
    """Verify the trail in ``db``; with ``head``, also require the chain to contain that head hash."""
    # A cursor streams rows; one SELECT reads one WAL snapshot, so writers appending meanwhile are
    # neither blocked nor half-seen.
    cursor = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY seq")
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

    try:
        return verify_rows(rows(), head)
    except _Undecodable as exc:
        seq, prev, count = last
        found = db.conn.execute(f"SELECT seq FROM {TABLE} WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)).fetchone()
        bad = found[0] if found else seq + 1
        return _bad(count, prev, seq, bad, f"{exc.column} is not valid UTF-8 text (altered in the file)")


class _Undecodable(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _column(exc: sqlite3.OperationalError) -> str:
    """The column SQLite's decode error names (never the text it quotes), or "a column"."""
    m = re.match(r"Could not decode to UTF-8 column '(\w+)'", str(exc))
    return m.group(1) if m and m.group(1) in COLUMNS else "a column"


def verify_rows(rows: Iterable[tuple], head: str | None = None) -> VerifyResult:
    """Verify rows given as tuples in ``COLUMNS`` order and seq order (from the database or an export)."""
    prev, expected, count = GENESIS, 1, 0
    head_seen = head is None or head == GENESIS
    for row in rows:
        if (failure := check_row(prev, expected, row)) is not None:
            return _bad(count, prev, expected - 1, row[0], failure)
        prev, expected, count = row[8], expected + 1, count + 1
        head_seen = head_seen or prev == head
    if not head_seen:
        return VerifyResult(False, count, expected - 1, prev, None,
                            f"head {head} is not in the chain (tail cut off or rewritten)")
    return VerifyResult(True, count, expected - 1, prev)


def check_row(prev: str, expected: int, row: tuple) -> str | None:
    """Why ``row`` (``COLUMNS`` order) does not follow the event of chain hash ``prev`` as event ``expected``;
    None when it does."""
    seq, ts, role, actor_id, referral_id, type_, payload, p_hash, c_hash = row
    if seq != expected:
        # seq only grows by one, so a gap means removed rows; another number at the start, an
        # inserted or renumbered row.
        what = "events removed" if isinstance(seq, int) and seq > expected else "row inserted or renumbered"
        return f"expected seq {expected}, found {seq!r} ({what})"
    if not isinstance(payload, str) or sha256(payload) != p_hash:
        return "payload does not match payload_hash (payload altered)"
    if chain_hash(prev, seq, ts, role, actor_id, referral_id, type_, p_hash) != c_hash:
        return "chain hash mismatch (this row altered, or inserted, reordered or removed before it)"
    return None


class BrokenChain(ValueError):
    """Raised by `checked_rows` at the first row that does not follow; ``result`` says where and why."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(f"audit trail broken at event {result.bad_seq}: {result.reason}")
        self.result = result


def checked_rows(rows: Iterable[tuple]) -> Iterator[tuple[tuple, str]]:
    """(row, the chain hash before it) for rows of the whole trail from event 1 in seq order, each checked
    as it is read; `BrokenChain` at the first that does not follow, so nothing after it is handed on."""
    prev, expected = GENESIS, 1
    for row in rows:
        if (failure := check_row(prev, expected, row)) is not None:
            raise BrokenChain(_bad(expected - 1, prev, expected - 1, row[0], failure))
        yield row, prev
        prev, expected = row[8], expected + 1


def _bad(count: int, prev: str, prev_seq: int, seq: int, reason: str) -> VerifyResult:
    return VerifyResult(False, count, prev_seq, prev, seq, reason)
