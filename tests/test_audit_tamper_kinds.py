"""Tampering with a real keyed database, as an attacker with the file but not the key would (issue 14): each
kind is caught by `screening-bot audit verify` and the test says by what:

- ``key``: the chain with the trail's key (a MAC no one without the key can recompute);
- ``not keyed``: with the key, a trail whose keying was stripped is not proven (exit 3, never 0);
- ``state``: the state tables rebuilt from the events (a row or field the trail does not account for);
- ``triggers``: the append-only triggers dropped;
- ``anchors``: only a head anchored earlier can tell (a sound chain that was cut, emptied or swapped for an
  older copy): verify with the key alone says sound, with ``--anchors`` it fails.

The database is a Telegram run (invites, a registration, pre-screens sent, decided, amended, revoked), then
an older copy is kept and the run goes on, and the head is anchored in a file, as the daily anchor would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from telegram_harness import COORDINATOR, Harness
from test_audit_rebuild import _telegram_run

from bot import cli
from bot.settings import Settings
from conversations.records import audit

KEYS = [f.alias for f in Settings.model_fields.values()]
T = audit.TABLE


async def _more(tmp: Path) -> None:
    """The run goes on after the backup (both physicians are revoked by now: a coordinator invites more)."""
    async with Harness(tmp) as h:
        await h.say(COORDINATOR, "/invite")
        await h.say(COORDINATOR, "/invite")


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("run")
    asyncio.run(_telegram_run(tmp))
    older = tmp / "older.db"
    src = sqlite3.connect(tmp / "screening.db")
    dst = sqlite3.connect(older)
    src.backup(dst)  # a backup as `screening-bot backup` makes it
    src.close()
    dst.close()
    asyncio.run(_more(tmp))
    conn = sqlite3.connect(tmp / "screening.db")
    seq, head = conn.execute(f"SELECT seq, chain_hash FROM {T} ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    anchors = tmp / "anchors.txt"
    anchors.write_text(f"2026-12-02T00:00:00Z event {seq} {head} daily\n", encoding="ascii")
    return {"db": tmp / "screening.db", "key": tmp / "screening.db.audit-key", "older": older, "anchors": anchors}


@pytest.fixture
def copy(original, tmp_path, monkeypatch) -> Path:
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "screening.db"
    shutil.copy(original["db"], db)
    return db


def verify(capsys, original, db: Path, *, anchors: bool = False) -> tuple[int, str]:
    argv = ["audit", "verify", "--db", str(db), "--key-file", str(original["key"])]
    code = cli.main(argv + (["--anchors", str(original["anchors"])] if anchors else []))
    out, err = capsys.readouterr()
    return code, out + err


# --- what an attacker does with the file -----------------------------------------------------------------

def _conn(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.execute(f"DROP TRIGGER IF EXISTS {T}_no_update")
    conn.execute(f"DROP TRIGGER IF EXISTS {T}_no_delete")
    return conn


def _done(conn: sqlite3.Connection, *, triggers: bool = True) -> None:
    """Commit, and put the triggers back as someone covering their tracks would."""
    conn.commit()
    if triggers:
        conn.executescript(audit.SCHEMA)
    conn.close()


def _rows(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute(f"SELECT seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash, "
                        f"chain_hash, key_id FROM {T} ORDER BY seq").fetchall()


def _of_type(conn: sqlite3.Connection, type_: str) -> int:
    return conn.execute(f"SELECT seq FROM {T} WHERE type = ? ORDER BY seq LIMIT 1", (type_,)).fetchone()[0]


def _rechain(conn: sqlite3.Connection, start: int, *, keep_key_id: bool = True) -> None:
    """Every chain hash from ``start`` on recomputed as plain SHA-256: all one can do without the key."""
    rows = _rows(conn)
    prev = audit.GENESIS if start == 1 else rows[start - 2][8]
    for r in rows[start - 1:]:
        c = audit.chain_hash(prev, *r[:6], r[7])
        conn.execute(f"UPDATE {T} SET chain_hash = ?, key_id = ? WHERE seq = ?", (c, r[9] if keep_key_id else None,
                                                                                  r[0]))
        prev = c


def _forge(conn: sqlite3.Connection, payload: dict, key_id: str | None, mac_key: bytes | None = None) -> None:
    seq, prev = conn.execute(f"SELECT seq, chain_hash FROM {T} ORDER BY seq DESC LIMIT 1").fetchone()
    body = audit.canonical(payload)
    fields = (seq + 1, "2026-12-02T12:00:00.000000Z", "coordinator", 9001, None, "coordinator_decision")
    key = audit.AuditKey.of(mac_key) if mac_key else None
    c = audit.chain_hash(prev, *fields, audit.sha256(body), key)
    conn.execute(f"INSERT INTO {T} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (*fields, body, audit.sha256(body), c, key_id))


def edit_payload(db):
    conn = _conn(db)
    seq = _of_type(conn, "answer_accepted")
    conn.execute(f"UPDATE {T} SET payload = json_set(payload, '$.raw', '15') WHERE seq = ?", (seq,))
    _done(conn)


def edit_and_rehash(db):
    conn = _conn(db)
    seq = _of_type(conn, "outcome")
    body = conn.execute(f"SELECT json_set(payload, '$.status', 'changed') FROM {T} WHERE seq = ?",
                        (seq,)).fetchone()[0]
    conn.execute(f"UPDATE {T} SET payload = ?, payload_hash = ? WHERE seq = ?", (body, audit.sha256(body), seq))
    _done(conn)


def rechain(db):
    conn = _conn(db)
    seq = _of_type(conn, "coordinator_decision")
    body = conn.execute(f"SELECT json_set(payload, '$.decision', 'accept') FROM {T} WHERE seq = ?",
                        (seq,)).fetchone()[0]
    conn.execute(f"UPDATE {T} SET payload = ?, payload_hash = ? WHERE seq = ?", (body, audit.sha256(body), seq))
    _rechain(conn, seq)
    _done(conn)


def edit_column(column, value):
    def attack(db):
        conn = _conn(db)
        seq = _of_type(conn, "coordinator_decision")
        conn.execute(f"UPDATE {T} SET {column} = ? WHERE seq = ?", (value, seq))
        _done(conn)
    return attack


def delete_row(db):
    conn = _conn(db)
    conn.execute(f"DELETE FROM {T} WHERE seq = ?", (_of_type(conn, "coordinator_decision"),))
    _done(conn)


def delete_and_renumber(db):
    conn = _conn(db)
    seq = _of_type(conn, "physician_revoked")
    conn.execute(f"DELETE FROM {T} WHERE seq = ?", (seq,))
    conn.execute(f"UPDATE {T} SET seq = seq - 1 WHERE seq > ?", (seq,))
    _rechain(conn, seq)
    _done(conn)


def insert_row(db):
    conn = _conn(db)
    seq = _of_type(conn, "referral_sent")
    conn.execute(f"UPDATE {T} SET seq = -seq WHERE seq > ?", (seq,))
    conn.execute(f"UPDATE {T} SET seq = 1 - seq WHERE seq < 0")
    prev = conn.execute(f"SELECT chain_hash FROM {T} WHERE seq = ?", (seq,)).fetchone()[0]
    body = audit.canonical({"decision": "accept", "send_no": 1})
    fields = (seq + 1, "2026-12-02T12:00:00.000000Z", "coordinator", 9001, None, "coordinator_decision")
    conn.execute(f"INSERT INTO {T} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (*fields, body, audit.sha256(body), audit.chain_hash(prev, *fields, audit.sha256(body)), None))
    _done(conn)


def swap_rows(db):
    conn = _conn(db)
    seq = _of_type(conn, "referral_sent")
    a, b = (conn.execute(f"SELECT ts, actor_role, actor_id, referral_id, type, payload, payload_hash, chain_hash "
                         f"FROM {T} WHERE seq = ?", (s,)).fetchone() for s in (seq, seq + 1))
    for s, r in ((seq, b), (seq + 1, a)):
        conn.execute(f"UPDATE {T} SET ts = ?, actor_role = ?, actor_id = ?, referral_id = ?, type = ?, payload = ?,"
                     " payload_hash = ?, chain_hash = ? WHERE seq = ?", (*r, s))
    _done(conn)


def forged_plain_append(db):
    conn = _conn(db)
    _forge(conn, {"decision": "accept", "send_no": 1}, None)
    _done(conn)


def forged_append_under_another_key(db):
    conn = _conn(db)
    key_id = conn.execute(f"SELECT key_id FROM {T} ORDER BY seq DESC LIMIT 1").fetchone()[0]
    _forge(conn, {"decision": "accept", "send_no": 1}, key_id, bytes(32))
    _done(conn)


def downgraded_to_plain(db):
    conn = _conn(db)
    _rechain(conn, _of_type(conn, "audit_keyed"), keep_key_id=False)
    _done(conn)


def keying_removed(db):
    conn = _conn(db)
    seq = _of_type(conn, "audit_keyed")
    conn.execute(f"DELETE FROM {T} WHERE seq = ?", (seq,))
    conn.execute(f"UPDATE {T} SET seq = seq - 1 WHERE seq > ?", (seq,))
    _done(conn)


def rebuilt_from_genesis(db):
    """A whole new trail, chained from genesis without the key (the keying stripped)."""
    conn = _conn(db)
    seq = _of_type(conn, "audit_keyed")
    conn.execute(f"DELETE FROM {T} WHERE seq = ?", (seq,))
    conn.execute(f"UPDATE {T} SET seq = seq - 1 WHERE seq > ?", (seq,))
    _rechain(conn, 1, keep_key_id=False)
    _done(conn)


def invalid_utf8(db):
    conn = _conn(db)
    seq = _of_type(conn, "answer_accepted")
    conn.execute(f"UPDATE {T} SET payload = CAST(X'7B22726177223A22FF227D' AS TEXT) WHERE seq = ?", (seq,))
    _done(conn)


def truncate_tail(db):
    """The last messages' events cut off: nothing in the tables speaks of them."""
    conn = _conn(db)
    last = conn.execute(f"SELECT MAX(seq) FROM {T} WHERE type != 'message_sent'").fetchone()[0]
    assert conn.execute(f"DELETE FROM {T} WHERE seq > ?", (last,)).rowcount >= 1
    _done(conn)


def delete_all(db):
    conn = _conn(db)
    conn.execute(f"DELETE FROM {T}")
    _done(conn)


def triggers_dropped(db):
    _done(_conn(db), triggers=False)


def sql(statement: str, *params: object) -> Callable[[Path], None]:
    def attack(db):
        conn = sqlite3.connect(db)
        conn.execute(statement, params)
        _done(conn, triggers=False)
    return attack


def edit_state(db):
    conn = sqlite3.connect(db)
    rid, state = conn.execute("SELECT referral_id, state FROM prescreens WHERE phase = 'done' LIMIT 1").fetchone()
    data = json.loads(state)
    data["history"][0]["raw"] = "15"
    data["history"][0]["value"] = 15
    conn.execute("UPDATE prescreens SET state = ? WHERE referral_id = ?", (json.dumps(data), rid))
    _done(conn, triggers=False)


# kind -> (attack, what catches it)
KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "payload edited": (edit_payload, "key"),
    "payload edited, its hash recomputed": (edit_and_rehash, "key"),
    "payload edited, every later hash recomputed (rechained)": (rechain, "key"),
    "actor edited": (edit_column("actor_id", 4242), "key"),
    "time edited": (edit_column("ts", "2026-01-01T00:00:00.000000Z"), "key"),
    "type edited": (edit_column("type", "answer_rejected"), "key"),
    "a row deleted": (delete_row, "key"),
    "a row deleted, the rest renumbered and rechained": (delete_and_renumber, "key"),
    "a row inserted": (insert_row, "key"),
    "two rows swapped": (swap_rows, "key"),
    "forged append with a valid plain hash": (forged_plain_append, "key"),
    "forged append naming the trail's key, MAC under another": (forged_append_under_another_key, "key"),
    "keyed events downgraded to plain hashes": (downgraded_to_plain, "key"),
    "the keying event removed": (keying_removed, "key"),
    "invalid UTF-8 in a payload": (invalid_utf8, "key"),
    "rebuilt from genesis without the key": (rebuilt_from_genesis, "not keyed"),
    "append-only triggers dropped": (triggers_dropped, "triggers"),
    "a pre-screen's state edited": (edit_state, "state"),
    "a pre-screen's outcome column edited": (sql("UPDATE prescreens SET outcome_status = 'eligible' WHERE phase ="
                                                 " 'cancelled'"), "state"),
    "a pre-screen row deleted": (sql("DELETE FROM prescreens WHERE phase = 'cancelled'"), "state"),
    "a referral's status edited": (sql("UPDATE referrals SET status = 'sent' WHERE rowid = 1"), "state"),
    "a decision row inserted": (sql("INSERT INTO referral_decisions (referral_id, send_no, coordinator_id, decision,"
                                    " decided_at) SELECT referral_id, 1, 9001, 'accept', last_sent_at FROM referrals"
                                    " LIMIT 1"), "state"),
    "a physician row inserted": (sql("INSERT INTO physicians (user_id, via, registered_at) VALUES (666, 'invite', "
                                     "'2026-12-01T00:00:00.000000Z')"), "state"),
    "a revoked physician restored": (sql("UPDATE physicians SET revoked_at = NULL, revoked_by = NULL"), "state"),
    "an invite row inserted": (sql("INSERT INTO invites (invite_id, code_hash, created_by, created_at, expires_at) "
                                   "VALUES ('inv-evil', 'x', 1, '2026-12-01T00:00:00.000000Z', "
                                   "'2099-01-01T00:00:00.000000Z')"), "state"),
    "an invite's expiry extended": (sql("UPDATE invites SET expires_at = '2099-01-01T00:00:00.000000Z'"), "state"),
    "the tail truncated": (truncate_tail, "anchors"),
    "an older backup swapped in": (None, "anchors"),
    "every event deleted": (delete_all, "anchors"),
}


def test_there_are_at_least_the_24_kinds_of_the_issue():
    assert len(KINDS) >= 24


def test_the_untouched_database_is_sound_and_proven(capsys, original, copy):
    code, text = verify(capsys, original, copy, anchors=True)
    assert code == 0, text
    assert "audit trail sound" in text and "state proven by the trail" in text and "1 anchored heads held" in text


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_tampering_is_caught(capsys, original, copy, kind):
    attack, caught_by = KINDS[kind]
    if attack is None:  # the older backup, put where the database was
        shutil.copy(original["older"], copy)
    else:
        attack(copy)
    code, text = verify(capsys, original, copy)
    if caught_by == "anchors":
        if kind != "every event deleted":  # emptied, the tables speak of events the trail no longer has
            assert code == 0, f"only an anchor can tell: {text}"
        code, text = verify(capsys, original, copy, anchors=True)
        assert code == 1 and "the head anchored as event" in text, text
    elif caught_by == "not keyed":
        assert code == 3 and "not keyed" in text, text
        code, text = verify(capsys, original, copy, anchors=True)
        assert code == 1 and "the head anchored as event" in text, text
    else:
        assert code == 1, text
        expect = {"key": "audit trail broken at event", "triggers": "trigger", "state": "screening-bot audit verify: "}
        assert expect[caught_by] in text, text
        if caught_by == "state":
            assert "broken" not in text, "the chain itself is sound: the tables were changed"
