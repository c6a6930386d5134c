"""Schema versions (issue 11): ordered migrations numbered by PRAGMA user_version. A database written
before each migration, with real data in every table it had, is brought up to date with nothing lost."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from conversations.records import schema
from conversations.records.audit_verify import verify
from conversations.records.db import DatabaseFault, open_db
from conversations.records.store import Store
from criteria import PROTOCOL_VERSION

OLD = Path(__file__).parent / "data" / "protocol1.db"  # written by protocol 1's code, before versions were kept
# What migration 4 (the carry-over to protocol 2) rewrites in a pre-screen's row.
CARRIED_OVER = {"phase", "current", "outcome_status", "updated_at", "state"}


def rows(path: Path, table: str, columns: list[str]) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        names = ", ".join(f"[{c}]" for c in columns)
        return conn.execute(f"SELECT {names} FROM [{table}] ORDER BY rowid").fetchall()
    finally:
        conn.close()


def tables(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: [r[1] for r in conn.execute(f"PRAGMA table_info([{n}])")] for n in names}
    finally:
        conn.close()


def written_at(version: int, path: Path) -> Path:
    """A database at schema ``version``, holding protocol 1's data in every column that version has."""
    db = open_db(path)
    schema.upgrade(db, to=version)
    db.conn.execute("ATTACH DATABASE ? AS old", (str(OLD),))
    old = tables(OLD)
    for table, columns in tables(path).items():
        shared = ", ".join(f"[{c}]" for c in columns if c in old.get(table, []))
        if not shared:  # a table protocol 1 did not have (a registration under way, since version 7)
            continue
        db.conn.execute(f"INSERT INTO main.[{table}] ({shared}) SELECT {shared} FROM old.[{table}]")
    if "protocol_version" in tables(path)["referrals"]:  # as the code of that version wrote them
        db.conn.execute("UPDATE referrals SET protocol_version = ? WHERE protocol_version IS NULL",
                        (schema.PROTOCOL_1,))
    db.conn.commit()
    db.conn.execute("DETACH DATABASE old")
    db.close()
    return path


@pytest.fixture(params=[0, 1, 2, 3], ids=lambda v: f"before-migration-{v + 1}")
def before(request, tmp_path) -> Path:
    if request.param == 0:  # the real thing: a database from before schema versions were kept
        return Path(shutil.copy(OLD, tmp_path / "old.db"))
    return written_at(request.param, tmp_path / "old.db")


def test_the_migrations_are_numbered_in_order():
    assert [m.version for m in schema.MIGRATIONS] == list(range(1, schema.LATEST + 1))


def test_a_fresh_database_is_at_the_latest_version_with_every_table(tmp_path):
    store = Store.open(tmp_path / "new.db")
    assert schema.version(store.db) == schema.LATEST
    assert set(store.db.table_names()) >= {"audit_events", "prescreens", "physicians", "invites", "referrals",
                                           "referral_decisions", "telegram_updates", "telegram_outbox",
                                           "telegram_focus", "user_languages", "telegram_languages"}
    assert schema.upgrade(store.db) == [], "nothing runs twice"
    store.close()


def test_a_database_written_before_each_migration_is_upgraded_with_nothing_lost(before):
    start = schema.version(open_db(before))
    earlier = {t: rows(before, t, cols) for t, cols in tables(before).items()}
    shape = tables(before)
    store = Store.open(before)
    assert schema.version(store.db) == schema.LATEST
    store.close()
    now = tables(before)
    for table, columns in shape.items():
        assert set(columns) <= set(now[table]), f"{table} lost a column"
        kept = [c for c in columns if not (table == "prescreens" and c in CARRIED_OVER)]
        old_rows = [tuple(r[columns.index(c)] for c in kept) for r in earlier[table]]
        new_rows = rows(before, table, kept)
        if table == "audit_events":  # append-only: the old events stay, the carry-over adds its own
            assert new_rows[:len(old_rows)] == old_rows
        else:
            assert new_rows == old_rows, f"{table} changed"
    # Every pre-screen is under protocol 2 now, each carried over with a protocol_changed event.
    conn = sqlite3.connect(before)
    versions = {r[0] for r in conn.execute("SELECT json_extract(state, '$.protocol_version') FROM prescreens")}
    changed = conn.execute("SELECT count(*) FROM audit_events WHERE type = 'protocol_changed'").fetchone()[0]
    sent_under = {r[0] for r in conn.execute("SELECT protocol_version FROM referrals")}
    conn.close()
    assert versions == {PROTOCOL_VERSION}
    assert changed == len(earlier["prescreens"]) if start < 4 else changed == 0
    assert sent_under == {schema.PROTOCOL_1}, "referrals keep the protocol they were sent under"
    db = open_db(before)
    assert verify(db).ok
    db.close()


def test_every_starting_point_ends_in_the_same_shape(tmp_path):
    shapes = []
    for v in range(schema.LATEST):
        path = written_at(v, tmp_path / f"v{v}.db") if v else Path(shutil.copy(OLD, tmp_path / "v0.db"))
        Store.open(path).close()
        shapes.append({t: sorted(c) for t, c in tables(path).items()})
    assert all(s == shapes[0] for s in shapes)


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    db = open_db(tmp_path / "future.db")
    db.conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    with pytest.raises(DatabaseFault, match="upgrade the bot"):
        schema.upgrade(db)
    assert db.table_names() == [], "nothing was written to it"
    db.close()


def test_every_command_says_a_newer_database_in_one_line(tmp_path, capsys):
    from bot import cli

    db = open_db(tmp_path / "future.db")
    db.conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    db.close()
    # chat would write (and refuses to); the others only read, and say what they find
    for argv, says in ((["chat", "--jsonl"], "upgrade the bot"), (["reassess"], "no audit trail"),
                       (["log"], "no audit trail"), (["audit", "verify"], "no audit trail")):
        assert cli.main([*argv, "--db", str(tmp_path / "future.db")]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "Traceback" not in err, (argv, err)
