"""Tampering as an attacker with the database file would do it: triggers dropped first, then rows altered,
removed, inserted or reordered. verify() must name the first bad event; a cut or rewritten tail needs
the head hash recorded earlier."""

import json

import pytest
from audit_fixtures import drop_triggers, fresh_db, populate, rows

from conversations.records import audit
from conversations.records.audit_verify import verify

TARGET = 20  # an event in the middle of the trail
PLAIN = "seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash, chain_hash"  # not keyed


@pytest.fixture
def db(trail):
    db = trail
    assert verify(db).ok
    drop_triggers(db)
    return db


def sql(db, statement, *params):
    db.conn.execute(statement, params)
    db.conn.commit()


def row(db, seq):
    return db.conn.execute(f"SELECT * FROM {audit.TABLE} WHERE seq = ?", (seq,)).fetchone()


def assert_broken_at(db, seq, reason):
    result = verify(db)
    assert not result.ok
    assert result.bad_seq == seq
    assert reason in result.reason
    # Everything before the bad event still counts as sound, and the head reported is the last of those.
    assert result.events == result.head_seq < seq
    return result


def test_altered_payload(db):
    payload = json.loads(row(db, TARGET)[6])
    payload["text"] = "something else"
    sql(db, f"UPDATE {audit.TABLE} SET payload = ? WHERE seq = ?", audit.canonical(payload), TARGET)
    assert_broken_at(db, TARGET, "payload altered")


def test_altered_payload_with_its_hash_recomputed(db):
    body = audit.canonical({"status": "eligible"})
    sql(db, f"UPDATE {audit.TABLE} SET payload = ?, payload_hash = ? WHERE seq = ?", body, audit.sha256(body),
        TARGET)
    assert_broken_at(db, TARGET, "chain hash mismatch")


def test_payload_reformatted_but_equal_is_still_an_alteration(db):
    payload = json.loads(row(db, TARGET)[6])
    sql(db, f"UPDATE {audit.TABLE} SET payload = ? WHERE seq = ?", json.dumps(payload, indent=1), TARGET)
    assert_broken_at(db, TARGET, "payload altered")


@pytest.mark.parametrize(("column", "value"), [
    ("ts", "2026-03-01T08:00:00.000000Z"),
    ("actor_role", "coordinator"),
    ("actor_id", 555),
    ("actor_id", "101"),  # same digits, stored as text
    ("referral_id", "R-0000-0000"),
    ("referral_id", None),
    ("type", "answer_rejected"),
    ("chain_hash", "f" * 64),
])
def test_altered_column(db, column, value):
    sql(db, f"UPDATE {audit.TABLE} SET {column} = ? WHERE seq = ?", value, TARGET)
    assert_broken_at(db, TARGET, "chain hash mismatch")


def test_deleted_row(db):
    sql(db, f"DELETE FROM {audit.TABLE} WHERE seq = ?", TARGET)
    result = assert_broken_at(db, TARGET + 1, "events removed")
    assert f"expected seq {TARGET}" in result.reason and result.head_seq == TARGET - 1


def test_deleted_first_row(db):
    sql(db, f"DELETE FROM {audit.TABLE} WHERE seq = 1")
    result = verify(db)
    assert not result.ok and result.bad_seq == 2 and "expected seq 1" in result.reason


def test_deleted_row_with_later_rows_renumbered(db):
    sql(db, f"DELETE FROM {audit.TABLE} WHERE seq = ?", TARGET)
    last = audit.head(db)[0]
    for seq in range(TARGET + 1, last + 1):
        sql(db, f"UPDATE {audit.TABLE} SET seq = ? WHERE seq = ?", seq - 1, seq)
    assert_broken_at(db, TARGET, "chain hash mismatch")


def _insert_after(db, after, recompute_rest=False):
    """Shift later rows up and insert a forged row with hashes computed the way append() does."""
    last = audit.head(db)[0]
    for seq in range(last, after, -1):
        sql(db, f"UPDATE {audit.TABLE} SET seq = ? WHERE seq = ?", seq + 1, seq)
    prev = row(db, after)[8]
    ts, body = row(db, after)[1], audit.canonical({"decision": "accept"})
    p_hash = audit.sha256(body)
    c_hash = audit.chain_hash(prev, after + 1, ts, "coordinator", 201, "R-7KQ2-9XPM", "coordinator_decision",
                              p_hash)
    sql(db, f"INSERT INTO {audit.TABLE} ({PLAIN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", after + 1, ts, "coordinator",
        201, "R-7KQ2-9XPM", "coordinator_decision", body, p_hash, c_hash)
    if recompute_rest:
        for r in rows(db)[after + 1:]:
            c_hash = audit.chain_hash(c_hash, r["seq"], r["ts"], r["actor_role"], r["actor_id"],
                                      r["referral_id"], r["type"], r["payload_hash"])
            sql(db, f"UPDATE {audit.TABLE} SET chain_hash = ? WHERE seq = ?", c_hash, r["seq"])


def test_inserted_row(db):
    _insert_after(db, TARGET)
    # The forged row itself is consistent with its predecessor; the row after it no longer is.
    assert_broken_at(db, TARGET + 2, "chain hash mismatch")


def test_inserted_row_at_the_end_without_the_chain(db):
    last, _ = audit.head(db)
    body = audit.canonical({})
    sql(db, f"INSERT INTO {audit.TABLE} ({PLAIN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", last + 1,
        "2026-03-02T12:00:00.000000Z", "system", 0, None, "prescreen_cancelled", body, audit.sha256(body),
        "0" * 64)
    assert_broken_at(db, last + 1, "chain hash mismatch")


def test_inserted_row_before_the_first(db):
    body = audit.canonical({})
    sql(db, f"INSERT INTO {audit.TABLE} ({PLAIN}) VALUES (0, '2026-03-01T00:00:00.000000Z', 'system', 0, NULL, 'x', ?,"
            " ?, ?)", body, audit.sha256(body), "0" * 64)
    result = verify(db)
    assert not result.ok and result.bad_seq == 0 and "inserted or renumbered" in result.reason


def test_reordered_rows(db):
    a, b = row(db, TARGET), row(db, TARGET + 1)
    sql(db, f"UPDATE {audit.TABLE} SET seq = -1 WHERE seq = ?", TARGET)
    sql(db, f"UPDATE {audit.TABLE} SET seq = ? WHERE seq = ?", TARGET, TARGET + 1)
    sql(db, f"UPDATE {audit.TABLE} SET seq = ? WHERE seq = -1", TARGET + 1)
    assert row(db, TARGET)[1:] == b[1:] and row(db, TARGET + 1)[1:] == a[1:]
    assert_broken_at(db, TARGET, "chain hash mismatch")


def test_truncated_tail_needs_the_recorded_head(db):
    _, recorded = audit.head(db)
    last = audit.head(db)[0]
    sql(db, f"DELETE FROM {audit.TABLE} WHERE seq > ?", last - 3)
    assert verify(db).ok  # the remaining chain is sound on its own...
    result = verify(db, head=recorded)  # ...but no longer reaches the head recorded earlier
    assert not result.ok and result.bad_seq is None
    assert "not in the chain" in result.reason and result.head_seq == last - 3


def test_rewritten_chain_needs_the_recorded_head(db):
    _, recorded = audit.head(db)
    _insert_after(db, TARGET, recompute_rest=True)
    assert verify(db).ok
    assert not verify(db, head=recorded).ok


def test_recorded_head_stays_valid_as_the_trail_grows(tmp_path):
    db = fresh_db(tmp_path)
    populate(db)
    _, recorded = audit.head(db)
    populate(db)
    assert verify(db, head=recorded).ok
    assert verify(db, head=audit.GENESIS).ok
    assert not verify(db, head="e" * 64).ok
