"""Checking a jsonl export of the trail on its own, with no database (`screening-bot audit verify-export`).

A full export (no referral, no date filter) holds every event from event 1 to its head: each payload hash
and chain hash is recomputed in order from genesis, and the head line must name the last of them, with the
count of events the file holds. Any line altered, removed, inserted or reordered breaks it at that line.

A partial export (``--referral`` / ``--since``) holds some events only, so the chain between them is not in
the file. Each event records the chain hash before it (``prev_hash``), so it is checked as far as the file
allows: every payload hash, every chain hash recomputed from the previous hash the event records, events in
rising seq order, each event that directly follows another linked to it, every event within the filters
the head line names, none past the head, the count of events, and the head hash if the last event is the
head. What only the trail can prove (that the recorded previous hashes are the trail's, and that nothing
of the selection was left out) is said in the result: `audit verify --head HASH` with the file's head.

With the trail's key, every MAC of a keyed event is checked too, and nobody without the key can have
rewritten the file. Without it, the structure and the plain hashes are checked and the MACs left unchecked
counted: who can recompute SHA-256 could have rewritten those, so compare the file's head with a head
recorded elsewhere (the export's own audit event names it, and the anchors).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .audit import GENESIS, canonical, chain_hash, sha256
from .audit_key import AuditKey
from .audit_verify import COLUMNS, Chain


class Unreadable(Exception):
    """The file cannot be read as a jsonl export at all (missing, unreadable, not UTF-8, not JSON)."""


@dataclass(frozen=True)
class ExportCheck:
    ok: bool
    events: int  # events in the file (when ok)
    head_seq: int
    head: str
    partial: bool = False
    referral_id: str | None = None
    since: str | None = None
    bad_line: int | None = None  # first bad line (1-based); None when ok
    bad_seq: int | None = None  # its event, when the line is an event's
    reason: str = ""
    key_id: str | None = None  # the trail's key, as the file says (None: not keyed)
    unchecked: int = 0  # MACs not checked: no key given, or not the trail's
    key_given: str | None = None

    @property
    def proven(self) -> bool:
        return self.ok and self.unchecked == 0 and (self.key_id is not None or self.events == 0)


@dataclass
class _Failure:
    line: int
    seq: int | None
    reason: str


@dataclass
class _State:
    """The full-export check and the check of each event on its own, both kept while the file is read
    (whether the export is partial is said only by its last line)."""

    chain: Chain = field(default_factory=Chain)
    key: AuditKey | None = None
    local_unchecked: int = 0
    full: _Failure | None = None
    local: _Failure | None = None
    last: tuple[int, str] | None = None  # (seq, chain hash) of the last event read
    count: int = 0
    filters: list[tuple[int, int, Any, Any]] = field(default_factory=list)  # line, seq, referral_id, ts
    keys: list[tuple[int, int, Any]] = field(default_factory=list)  # line, seq, key_id


_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,), "ts": (str,), "actor_role": (str,), "actor_id": (int,), "referral_id": (str, type(None)),
    "type": (str,), "payload_hash": (str,), "chain_hash": (str,), "key_id": (str, type(None)),
}


def verify_export(path: str | Path, key: AuditKey | None = None) -> ExportCheck:
    """Check the jsonl export at ``path`` (with ``key``, the MACs of its keyed events too); `Unreadable` when
    it is not one at all."""
    path = Path(path)
    state = _State(Chain(key), key)
    head: dict[str, Any] | None = None
    head_line = 0
    after_head: int | None = None
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; OSError of open and read handled alike
    except OSError as exc:
        raise Unreadable(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    with f:
        n = 0
        while True:
            try:
                raw = f.readline()
            except OSError as exc:
                raise Unreadable(f"cannot read {path} ({exc.strerror or type(exc).__name__})") from None
            if not raw:
                break
            n += 1
            record = _parse(raw, n, path)
            if record is None:  # a later line that is not a record: altered or cut short
                return _broken(n, None, "not a JSON record (the file was altered or cut short)")
            if head is not None:
                after_head = after_head or n
                continue
            kind = record.get("record")
            if kind == "event":
                _event(state, record, n)
            elif kind == "head":
                head, head_line = record, n
            elif kind != "transcript":
                return _broken(n, None, f"unknown record {kind!r}")
    if n == 0:
        raise Unreadable(f"{path} is empty, not a jsonl export")
    if head is None:
        return _broken(n + 1, None, "no head line (the file was cut short)")
    if after_head is not None:
        return _broken(after_head, None, "a line after the head line (the head must be last)")
    return _conclude(state, head, head_line)


def _parse(raw: bytes, n: int, path: Path) -> dict[str, Any] | None:
    """The record on line ``n``; on the first line, anything else means the file is not an export at all."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        record = None
    if not isinstance(record, dict) or "record" not in record:
        if n == 1:
            raise Unreadable(f"{path} is not a jsonl audit export (line 1 is not a JSON record"
                             f"{'' if _utf8(raw) else ', nor UTF-8 text'})")
        return None
    return record


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _event(state: _State, record: dict[str, Any], n: int) -> None:
    seq = record.get("seq")
    record.setdefault("key_id", None)  # an export from before keys
    for name, types in _TYPES.items():
        if name not in record or not isinstance(record[name], types) or isinstance(record[name], bool):
            _fail(state, "full", n, seq, f"{name} missing or not a {types[0].__name__}")
            _fail(state, "local", n, seq, f"{name} missing or not a {types[0].__name__}")
            return
    if "payload" not in record:
        _fail(state, "full", n, seq, "payload missing")
        _fail(state, "local", n, seq, "payload missing")
        return
    row = tuple(canonical(record["payload"]) if c == "payload" else record[c] for c in COLUMNS)
    prev = record.get("prev_hash")
    # The full chain, from genesis: each event must follow the one before it in the file.
    if state.full is None:
        before = state.chain.prev
        failure = state.chain.follow(row)
        if failure is None and prev is not None and prev != before:
            failure = "prev_hash is not the chain hash of the event before it (events removed or inserted)"
        if failure is not None:
            _fail(state, "full", n, seq, failure)
    # Each event on its own, from the previous hash it records (a partial export's check).
    if prev is None or not isinstance(prev, str):
        local = "prev_hash missing (a partial export needs each event's previous chain hash)"
    elif state.last is not None and seq <= state.last[0]:
        local = f"event {seq} after event {state.last[0]} (events out of order or repeated)"
    elif state.last is not None and seq == state.last[0] + 1 and prev != state.last[1]:
        local = "prev_hash is not the chain hash of the event before it (an event altered or inserted)"
    elif seq == 1 and prev != GENESIS:
        local = "the first event of the trail does not start from genesis"
    elif sha256(row[6]) != row[7]:
        local = "payload does not match payload_hash (payload altered)"
    else:
        local = _alone(state, prev, row)
    if local is not None:
        _fail(state, "local", n, seq, local)
    state.last = (seq, row[8])
    state.count += 1
    state.filters.append((n, seq, row[4], row[1]))
    state.keys.append((n, seq, row[9]))


def _alone(state: _State, prev: str, row: tuple) -> str | None:
    """An event of a partial export checked from the previous hash it records: its plain hash, or its MAC
    when the key given is the one it names (otherwise counted as unchecked)."""
    key_id = row[9]
    if key_id is None:
        return None if chain_hash(prev, *row[:6], row[7]) == row[8] else "chain hash mismatch (this event altered)"
    if state.key is None or state.key.key_id != key_id:
        state.local_unchecked += 1
        return None
    if chain_hash(prev, *row[:6], row[7], state.key) != row[8]:
        return "MAC mismatch (this event altered, or written without the key)"
    return None


def _fail(state: _State, which: str, n: int, seq: Any, reason: str) -> None:
    if getattr(state, which) is None:
        setattr(state, which, _Failure(n, seq if isinstance(seq, int) else None, reason))


def _conclude(state: _State, head: dict[str, Any], n: int) -> ExportCheck:
    seq, hash_, events = head.get("seq"), head.get("chain_hash"), head.get("events")
    referral_id, since = head.get("referral_id"), head.get("since")
    key_id, keyed_from = head.get("key_id"), head.get("keyed_from")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(hash_, str) \
            or not isinstance(referral_id, (str, type(None))) or not isinstance(since, (str, type(None))) \
            or not isinstance(key_id, (str, type(None))) or not isinstance(keyed_from, (int, type(None))):
        return _broken(n, None, "the head line has no seq, chain_hash or filters of the right kind")
    partial = referral_id is not None or since is not None
    if partial and key_id is not None:  # the keyed part of the trail: each of its events must name the key
        for line, event_seq, event_key in state.keys:
            if event_seq >= (keyed_from or 0) and event_key != key_id:
                return _broken(line, event_seq, f"event {event_seq} is not keyed with the trail's key {key_id} "
                                                "(written or rewritten without the key)")
    unchecked = state.local_unchecked if partial else state.chain.unchecked
    given = state.key.key_id if state.key else None
    first = state.local if partial else state.full
    if first is not None:
        return _broken(first.line, first.seq, first.reason)
    if partial:
        for line, event_seq, event_referral, ts in state.filters:
            if event_seq > seq:
                return _broken(line, event_seq, f"event {event_seq} is past the head {seq}")
            if referral_id is not None and event_referral != referral_id:
                return _broken(line, event_seq, f"event of referral {event_referral!r} in an export of {referral_id!r}")
            if since is not None and ts < since:
                return _broken(line, event_seq, f"event at {ts} in an export since {since}")
    if events != state.count:
        return _broken(n, None, f"the head line counts {events!r} events, the file holds {state.count} "
                                "(events removed or inserted)")
    if not partial:
        last = state.last or (0, GENESIS)
        if (seq, hash_) != last:
            return _broken(n, None, f"the head {seq} {hash_} is not the last event's ({last[0]} {last[1]})")
        if key_id != state.chain.key_id:
            return _broken(n, None, f"the head line names key {key_id}, the events {state.chain.key_id}")
        return ExportCheck(True, state.count, seq, hash_, key_id=key_id, unchecked=unchecked, key_given=given)
    if state.last is not None and state.last[0] == seq and state.last[1] != hash_:
        return _broken(n, None, f"the head {seq} {hash_} is not the last event's ({state.last[1]})")
    return ExportCheck(True, state.count, seq, hash_, partial=True, referral_id=referral_id, since=since,
                       key_id=key_id, unchecked=unchecked, key_given=given)


def _broken(line: int, seq: int | None, reason: str) -> ExportCheck:
    return ExportCheck(False, 0, 0, GENESIS, bad_line=line, bad_seq=seq, reason=reason)
