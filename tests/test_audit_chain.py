"""The hash-chained audit trail as the system writes it: every event type, hashes, append-only triggers."""

import json
import sqlite3

import pytest
from audit_fixtures import Clock, fresh_db, populate, record, rows

from conversations.records import audit
from conversations.records.audit_verify import verify
from conversations.records.db import write

EVENT_TYPES = {
    "prescreen_started", "update_received", "message_sent", "answer_accepted", "answer_rejected",
    "answer_withdrawn", "answer_corrected", "outcome", "prescreen_cancelled", "referral_sent",
    "coordinator_decision", "invite_created", "physician_registered", "physician_revoked", "access_refused",
    "export",
}


@pytest.fixture
def db(tmp_path):
    db = fresh_db(tmp_path)
    clock = populate(db)
    record(db, clock, "operator", 7, "export",
           {"format": "jsonl", "referral_id": None, "since": None, "events": 3, "head": "ab" * 32})
    return db


def test_every_event_type_is_recorded_with_its_hashes(db):
    prev = audit.GENESIS
    for n, row in enumerate(rows(db), start=1):
        assert row["seq"] == n
        assert row["ts"].endswith("Z")
        assert row["actor_role"] in audit.ROLES
        assert row["payload"] == audit.canonical(json.loads(row["payload"]))
        assert row["payload_hash"] == audit.sha256(row["payload"])
        assert row["chain_hash"] == audit.chain_hash(
            prev, row["seq"], row["ts"], row["actor_role"], row["actor_id"], row["referral_id"], row["type"],
            row["payload_hash"])
        prev = row["chain_hash"]
    assert {r["type"] for r in rows(db)} == EVENT_TYPES
    assert audit.head(db) == (len(rows(db)), prev)


def test_verify_accepts_the_untouched_trail(db):
    result = verify(db)
    assert result.ok and result.bad_seq is None
    assert (result.events, result.head_seq, result.head) == (len(rows(db)), *audit.head(db))


def test_empty_trail_verifies_with_the_genesis_head(tmp_path):
    result = verify(fresh_db(tmp_path))
    assert result.ok and result.events == 0 and result.head == audit.GENESIS


def test_access_refusals_carry_no_content(db):
    refused = [json.loads(r["payload"]) for r in rows(db) if r["type"] == "access_refused"]
    assert refused and all(set(p) == {"reason", "chat_type", "update_kind"} for p in refused)


@pytest.mark.parametrize("sql", [
    f"UPDATE {audit.TABLE} SET payload = '{{}}' WHERE seq = 3",
    f"UPDATE {audit.TABLE} SET ts = '2020-01-01T00:00:00.000000Z'",
    f"DELETE FROM {audit.TABLE} WHERE seq = 3",
    f"DELETE FROM {audit.TABLE}",
])
def test_triggers_refuse_update_and_delete(db, sql):
    before = rows(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), write(db):
        db.conn.execute(sql)
    assert rows(db) == before
    assert verify(db).ok


def test_append_outside_a_write_transaction_is_refused(db):
    with pytest.raises(RuntimeError, match="inside the write transaction"):
        audit.append(db, actor_role="system", actor_id=0, type="message_sent", payload={})


def test_unknown_actor_role_is_refused(db):
    with pytest.raises(ValueError, match="unknown actor role"), write(db):
        audit.append(db, actor_role="admin", actor_id=1, type="export")


def test_rolled_back_step_leaves_no_event(db):
    before = audit.head(db)
    with pytest.raises(ZeroDivisionError), write(db):
        audit.append(db, actor_role="system", actor_id=0, type="message_sent", payload={"chat_id": 1})
        1 / 0  # noqa: B018 — the change the event records fails
    assert audit.head(db) == before


def test_timestamps_given_by_the_clock_are_kept(tmp_path):
    db = fresh_db(tmp_path)
    event = record(db, Clock(), "system", 0, "message_sent", {"chat_id": 1, "text": "hi"})
    assert event.ts == "2026-03-02T09:00:00.000000Z"
    with write(db):
        live = audit.append(db, actor_role="system", actor_id=0, type="message_sent")
    assert live.ts.endswith("Z") and live.ts > event.ts
