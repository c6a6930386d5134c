"""`screening-bot log` prints no numbers from a trail that does not verify (#14): one line on standard
error saying where it is broken and to run `audit verify`, nothing on standard output, exit 2 (a refusal,
as every command's refusal to do its job is; exit 1 stays `audit verify`'s finding)."""

from __future__ import annotations

import sqlite3

import pytest
from audit_fixtures import drop_triggers, fresh_db, populate
from test_cli_robustness_db import one_line, run_cli

from conversations.records import audit

PROG = "screening-bot log"


@pytest.fixture(autouse=True)
def no_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("SCREENING_DB_PATH", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def path(tmp_path):
    db = fresh_db(tmp_path)
    populate(db)
    drop_triggers(db)
    db.conn.close()
    return tmp_path / "screening.db"


def tamper(path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("json", [False, True])
def test_a_sound_trail_is_counted(path, capsys, monkeypatch, json):
    code, out, err = run_cli(capsys, monkeypatch, ["log", "--db", str(path), *(["--json"] if json else [])])
    assert (code, err) == (0, "")
    assert ('"started"' if json else "Pre-screens started") in out


TAMPERINGS = {
    "payload edited": (f"UPDATE {audit.TABLE} SET payload = '{{\"decision\": \"accept\"}}' WHERE seq = 6", 6),
    "row deleted": (f"DELETE FROM {audit.TABLE} WHERE seq = 5", 6),  # where verify finds the gap
    "invalid UTF-8": (f"UPDATE {audit.TABLE} SET payload = CAST(X'FF' AS TEXT) WHERE seq = 7", 7),
    "actor edited": (f"UPDATE {audit.TABLE} SET actor_id = 1 WHERE seq = 2", 2),
}


@pytest.mark.parametrize("json", [False, True])
@pytest.mark.parametrize("what", TAMPERINGS)
def test_a_broken_trail_is_refused_in_one_line(path, capsys, monkeypatch, what, json):
    statement, seq = TAMPERINGS[what]
    tamper(path, statement)
    code, out, err = run_cli(capsys, monkeypatch, ["log", "--db", str(path), *(["--json"] if json else [])])
    assert code == 2 and out == "", (what, out)
    line = one_line(err, PROG)
    assert f"the audit trail is broken at event {seq}" in line, line
    assert "screening-bot audit verify" in line
    assert "Traceback" not in err


def test_with_the_trails_key_a_forged_event_with_a_right_plain_hash_gives_no_numbers(tmp_path, capsys, monkeypatch):
    db = fresh_db(tmp_path, keyed=True)  # the key where the bot keeps it, beside the database: `log` finds it
    populate(db)
    drop_triggers(db)
    seq, prev = audit.head(db)
    body = audit.canonical({"decision": "accept", "send_no": 1})
    fields = (seq + 1, "2026-03-03T09:00:00.000000Z", "coordinator", 201, None, "coordinator_decision")
    db.conn.execute(f"INSERT INTO {audit.TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (*fields, body, audit.sha256(body), audit.chain_hash(prev, *fields, audit.sha256(body))))
    db.conn.commit()
    db.conn.close()
    code, out, err = run_cli(capsys, monkeypatch, ["log", "--db", str(tmp_path / "screening.db")])
    assert (code, out) == (2, "")
    assert f"broken at event {seq + 1}" in one_line(err, PROG)
