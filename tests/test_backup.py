"""screening-bot backup: a consistent, verified copy while another writer keeps committing."""

import sqlite3
import threading
import time

import steps

from bot.cli import main
from conversations.dialogue import engine
from conversations.records.audit_verify import verify
from conversations.records.backup import backup
from conversations.records.store import Store

ANSWERS = ["12", "female", "yes", "none", "yes", "IV", "12", "no", "8", "yes", "yes", "1,2", "yes"]


def _busy_writer(path, stop: threading.Event, counter: list[int]) -> None:
    store = Store.open(path)
    try:
        while not stop.is_set():
            r = steps.start(store, "physician", 7)
            for a in ANSWERS:
                steps.apply(store, r.referral_id, engine.Answer(a), "physician", 7)
                counter[0] += 1
    finally:
        store.close()


def test_backup_while_writing_is_consistent_and_verifies(tmp_path):
    db = tmp_path / "live.db"
    Store.open(db).close()
    stop, counter = threading.Event(), [0]
    writer = threading.Thread(target=_busy_writer, args=(db, stop, counter))
    writer.start()
    try:
        while counter[0] < 50:
            assert writer.is_alive(), "the writer stopped"
            time.sleep(0.01)
        results = [backup(db, tmp_path / f"copy{i}.db") for i in range(3)]
    finally:
        stop.set()
        writer.join()
    for r in results:
        assert r.ok, (r.integrity, r.audit)
        assert r.audit.events > 0
    # The copies are snapshots taken at different moments: later ones hold at least as many events.
    counts = [r.audit.events for r in results]
    assert counts == sorted(counts)
    # Every pre-screen in a copy is whole: its stored state and its audit events agree.
    con = sqlite3.connect(results[-1].path)
    for rid, state in con.execute("SELECT referral_id, state FROM prescreens"):
        answered = con.execute("SELECT count(*) FROM audit_events WHERE referral_id = ? AND type = "
                               "'answer_accepted'", (rid,)).fetchone()[0]
        assert state.count('"q":') == answered


def test_backup_command_refuses_to_overwrite_and_reports(tmp_path, capsys):
    db = tmp_path / "live.db"
    store = Store.open(db)
    r = steps.start(store, "physician", 1)
    steps.apply(store, r.referral_id, engine.Answer("12"), "physician", 1)
    store.close()
    out = tmp_path / "copy.db"
    assert main(["backup", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "integrity ok" in printed and "2 events" in printed
    assert verify(Store.open(out).db).ok
    assert main(["backup", str(out), "--db", str(db)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_backup_of_missing_database_is_a_clear_error(tmp_path, capsys):
    assert main(["backup", str(tmp_path / "c.db"), "--db", str(tmp_path / "nope.db")]) == 2
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()
