"""Who screened in the terminal, and when they paused and came back (issue 14): every session is an event
naming the operator (--as NAME, or the system's user) and the host; quitting while the pre-screen asks is a
pause; resuming is an event of its own."""

from __future__ import annotations

import io
import json

from bot import cli, terminal
from conversations.records.audit_export import transcript_line
from conversations.records.store import Store

ME = terminal.Operator("Dr. Wang", "ward-pc-3")


def sessions(store: Store) -> list[tuple[str, dict]]:
    rows = store.db.conn.execute("SELECT type, payload FROM audit_events WHERE type LIKE 'session_%' ORDER BY seq")
    return [(t, json.loads(p)) for t, p in rows]


def test_a_session_names_its_operator_and_a_quit_and_a_resume_are_recorded(tmp_path):
    store = Store.open(tmp_path / "s.db")
    assert terminal.jsonl(store, None, iter(["12\n"]), io.StringIO(), ME) == 0  # the input ends: a pause
    ref = store.prescreens()[0].referral_id
    said = iter(["female", "quit"])
    terminal.interactive(store, ref, read=lambda _: next(said), write=lambda _: None,
                         operator=terminal.Operator("Dr. Li", "clinic-1"))
    assert sessions(store) == [
        ("session_opened", {"operator": "Dr. Wang", "host": "ward-pc-3", "resumed": False}),
        ("session_paused", {"operator": "Dr. Wang", "host": "ward-pc-3"}),
        ("session_opened", {"operator": "Dr. Li", "host": "clinic-1", "resumed": True}),
        ("session_paused", {"operator": "Dr. Li", "host": "clinic-1"}),
    ]
    lines = [transcript_line(r) for r in store.db.conn.execute(
        "SELECT seq, ts, actor_role, actor_id, referral_id, type, payload FROM audit_events ORDER BY seq")]
    assert any(line.endswith("resumed the pre-screen in the terminal as Dr. Li on clinic-1") for line in lines)
    assert any(line.endswith("paused the pre-screen in the terminal (Dr. Wang on ward-pc-3)") for line in lines)
    store.close()


def test_a_finished_or_cancelled_session_is_no_pause(tmp_path):
    store = Store.open(tmp_path / "s.db")
    terminal.jsonl(store, None, iter(["cancel\n"]), io.StringIO(), ME)
    assert [t for t, _ in sessions(store)] == ["session_opened"]
    store.close()


def test_chat_as_names_the_operator_and_defaults_to_the_system_user(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    db = tmp_path / "c.db"
    assert cli.main(["chat", "--jsonl", "--db", str(db), "--as", "Dr. Zhang"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    monkeypatch.setattr(terminal.getpass, "getuser", lambda: "pediatrics")
    assert cli.main(["chat", "--jsonl", "--db", str(db)]) == 0
    store = Store.open(db)
    names = [p["operator"] for t, p in sessions(store) if t == "session_opened"]
    assert names == ["Dr. Zhang", "pediatrics"]
    store.close()


def test_an_operator_name_that_looks_like_an_identifier_is_refused_unwritten(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    db = tmp_path / "c.db"
    assert cli.main(["chat", "--jsonl", "--db", str(db), "--as", "born 12.03.2014"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "12.03.2014" not in err and not db.exists()
