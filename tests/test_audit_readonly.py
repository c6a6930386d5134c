"""`audit verify` touches nothing (#14): it opens the database read-only (immutable where SQLite could not
otherwise read it: a read-only file or directory, or a WAL database nobody has open), runs nothing that
writes, and leaves the file byte-identical (its sha256, header included) with no -wal or -shm left behind
that were not there; it works on read-only media. Invalid UTF-8 in a payload is "broken at event N"."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from audit_fixtures import drop_triggers, fresh_db, populate
from test_cli_robustness_db import one_line, run_cli, unprivileged

from conversations.records import audit

PROG = "screening-bot audit verify"


@pytest.fixture(autouse=True)
def no_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("SCREENING_DB_PATH", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> tuple[bytes, bytes]:
    """The same keyed trail as a WAL database (as the system leaves it, closed) and as a rollback-journal one
    (as a copy may arrive: `backup` output, or another tool's); its key is in KEY."""
    directory = tmp_path_factory.mktemp("orig")
    db = fresh_db(directory, keyed=True)
    KEY.append(audit.bound(db).secret.hex())
    populate(db)
    db.conn.close()
    wal = (directory / "screening.db").read_bytes()
    conn = sqlite3.connect(directory / "screening.db")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    delete = (directory / "screening.db").read_bytes()
    assert wal[18:20] == b"\x02\x02" and delete[18:20] == b"\x01\x01"
    return wal, delete


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


KEY: list[str] = []  # the key of `original`, given as the environment gives it (nobody can read root's file)


def verify_cli(capsys, monkeypatch, db: Path) -> tuple[int, str, str]:
    if KEY:
        monkeypatch.setenv("SCREENING_AUDIT_KEY", KEY[-1])
    return run_cli(capsys, monkeypatch, ["audit", "verify", "--db", str(db)])


def expected_events(data: bytes) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "x.db").write_bytes(data)
        conn = sqlite3.connect(Path(tmp) / "x.db")
        try:
            return conn.execute(f"SELECT count(*) FROM {audit.TABLE}").fetchone()[0]
        finally:
            conn.close()


@pytest.mark.parametrize("kind", ["wal", "delete"])
def test_verify_on_a_copy_leaves_it_byte_identical(original, tmp_path, capsys, monkeypatch, kind):
    data = original[0] if kind == "wal" else original[1]
    db = tmp_path / "copy.db"
    db.write_bytes(data)
    before = sha(db)
    code, out, err = verify_cli(capsys, monkeypatch, db)
    assert (code, err) == (0, "")
    assert out.startswith(f"audit trail sound: {expected_events(data)} events, head ")
    assert sha(db) == before and db.read_bytes()[:100] == data[:100]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db"], "no -wal or -shm left behind"


def test_verify_twice_while_the_database_is_open_elsewhere(original, tmp_path, capsys, monkeypatch):
    """With a writer holding it open (its -wal and -shm exist), verify reads it as a WAL reader would."""
    db = tmp_path / "live.db"
    db.write_bytes(original[0])
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute(f"SELECT count(*) FROM {audit.TABLE}").fetchone()
    try:
        code, out, err = verify_cli(capsys, monkeypatch, db)
        assert (code, err) == (0, "") and out.startswith("audit trail sound: ")
    finally:
        writer.close()


@pytest.mark.parametrize("kind", ["wal", "delete"])
@pytest.mark.parametrize(("file_mode", "dir_mode"), [(0o444, 0o555), (0o444, 0o777), (0o666, 0o555)])
def test_verify_on_read_only_media(original, shared, capsys, monkeypatch, kind, file_mode, dir_mode):
    data = original[0] if kind == "wal" else original[1]
    directory = shared / "media"
    directory.mkdir()
    db = directory / "screening.db"
    db.write_bytes(data)
    os.chmod(db, file_mode)
    os.chmod(directory, dir_mode)
    with unprivileged():
        code, out, err = verify_cli(capsys, monkeypatch, db)
    assert (code, err) == (0, ""), err
    assert out.startswith(f"audit trail sound: {expected_events(data)} events, head ")
    assert out.count("\n") == 1
    assert db.read_bytes() == data
    assert sorted(p.name for p in directory.iterdir()) == ["screening.db"]


def test_a_tampered_read_only_copy_is_still_caught(original, shared, capsys, monkeypatch):
    directory = shared / "media"
    directory.mkdir()
    db = directory / "screening.db"
    db.write_bytes(original[1])
    conn = sqlite3.connect(db)
    conn.execute(f"DROP TRIGGER {audit.TABLE}_no_update")
    conn.execute(f"UPDATE {audit.TABLE} SET actor_id = 7 WHERE seq = 3")
    conn.commit()
    conn.close()
    data = db.read_bytes()
    os.chmod(db, 0o444)
    os.chmod(directory, 0o555)
    with unprivileged():
        code, out, err = verify_cli(capsys, monkeypatch, db)
    assert code == 1 and out == ""
    assert "audit trail broken at event 3" in one_line(err, PROG)
    assert db.read_bytes() == data


# ---- invalid UTF-8 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["payload", "ts", "type", "chain_hash"])
def test_invalid_utf8_is_broken_at_that_event_not_a_traceback(tmp_path, capsys, monkeypatch, column):
    db = fresh_db(tmp_path)
    populate(db)
    drop_triggers(db)
    db.conn.execute(f"UPDATE {audit.TABLE} SET {column} = CAST(X'FF' AS TEXT) WHERE seq = 4")
    db.conn.commit()
    db.conn.close()
    path = tmp_path / "screening.db"
    code, out, err = verify_cli(capsys, monkeypatch, path)
    assert (code, out) == (1, "")
    line = one_line(err, PROG)
    assert "audit trail broken at event 4: " in line and "UTF-8" in line, line
    assert "3 events before it are sound, up to event 3 " in line


def test_invalid_utf8_in_the_first_event(tmp_path, capsys, monkeypatch):
    db = fresh_db(tmp_path)
    populate(db)
    drop_triggers(db)
    db.conn.execute(f"UPDATE {audit.TABLE} SET payload = CAST(X'7B22FF227D' AS TEXT) WHERE seq = 1")
    db.conn.commit()
    db.conn.close()
    code, out, err = verify_cli(capsys, monkeypatch, tmp_path / "screening.db")
    assert (code, out) == (1, "")
    assert "audit trail broken at event 1: " in one_line(err, PROG)
    assert f"0 events before it are sound, up to event 0 {audit.GENESIS}" in err
