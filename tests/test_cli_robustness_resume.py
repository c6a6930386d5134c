"""A stored pre-screen this version cannot continue (#13): its state names a question that does not exist (a
database edited, or written by another version), or cannot be read at all. `chat --resume` refuses it in one
line, exit status 2, and changes nothing; the interactive chat says the same line. Never a traceback."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import cli, terminal
from bot.settings import Settings
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


def a_pre_screen(db: Path) -> str:
    store = Store.open(db)
    try:
        out = io.StringIO()
        terminal.jsonl(store, None, iter(["14\n", "female\n", "yes\n"]), out)
    finally:
        store.close()
    return json.loads(out.getvalue().splitlines()[0])["referral_id"]


def edit_state(db: Path, ref: str, edit: Callable[[dict[str, Any]], Any] | str) -> None:
    conn = sqlite3.connect(db)
    try:
        state = conn.execute("SELECT state FROM prescreens WHERE referral_id = ?", (ref,)).fetchone()[0]
        if isinstance(edit, str):
            state = edit
        else:
            data = json.loads(state)
            edit(data)
            state = json.dumps(data)
        conn.execute("UPDATE prescreens SET state = ? WHERE referral_id = ?", (state, ref))
        conn.commit()
    finally:
        conn.close()


def stored(db: Path) -> tuple:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT * FROM prescreens").fetchall(),
                conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0])
    finally:
        conn.close()


GONE = "no_such_question"
EDITS: dict[str, Callable[[dict[str, Any]], Any] | str] = {
    "current": lambda s: s.update(current=GONE),
    "history": lambda s: s["history"][1].update(q=GONE),
    "via": lambda s: s["history"][0].update(via=GONE),
    "long-name": lambda s: s.update(current="q" * 100_000),
}
UNREADABLE: dict[str, str] = {"not-json": "{not json", "not-a-state": "{}", "a-list": "[1, 2]"}


@pytest.mark.parametrize("how", list(EDITS))
def test_a_question_that_no_longer_exists_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, how):
    db = tmp_path / "screening.db"
    ref = a_pre_screen(db)
    edit_state(db, ref, EDITS[how])
    before = stored(db)
    monkeypatch.setattr("sys.stdin", io.StringIO("none\n"))
    assert cli.main(["chat", "--jsonl", "--resume", ref, "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"screening-bot chat: pre-screen {ref} cannot be resumed: its stored state names a "
                          "question this version does not have")
    assert len(err) < 400
    if how != "long-name":
        assert repr(GONE) in err
    assert stored(db) == before, "nothing written"


@pytest.mark.parametrize("how", list(UNREADABLE))
def test_a_state_that_cannot_be_read_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, how):
    db = tmp_path / "screening.db"
    ref = a_pre_screen(db)
    edit_state(db, ref, UNREADABLE[how])
    before = stored(db)
    monkeypatch.setattr("sys.stdin", io.StringIO("none\n"))
    assert cli.main(["chat", "--jsonl", "--resume", ref, "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err == f"screening-bot chat: pre-screen {ref} cannot be resumed: its stored state cannot be read\n"
    assert stored(db) == before


def test_the_interactive_chat_says_the_same(tmp_path):
    db = tmp_path / "screening.db"
    ref = a_pre_screen(db)
    edit_state(db, ref, EDITS["current"])
    said: list[str] = []
    store = Store.open(db)
    try:
        assert terminal.interactive(store, ref, read=lambda p: "none", write=said.append) == 2
        # Offered among the open pre-screens, and chosen: the same line.
        said.clear()
        assert terminal.interactive(store, None, read=lambda p: "1", write=said.append) == 2
    finally:
        store.close()
    assert said[-1].startswith(f"Pre-screen {ref} cannot be resumed: its stored state names a question")


def test_the_other_pre_screens_of_the_database_are_untouched(tmp_path, capsys, monkeypatch):
    db = tmp_path / "screening.db"
    broken, sound = a_pre_screen(db), a_pre_screen(db)
    edit_state(db, broken, EDITS["history"])
    monkeypatch.setattr("sys.stdin", io.StringIO("none\n"))
    assert cli.main(["chat", "--jsonl", "--resume", sound, "--db", str(db)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["type"] for x in lines][:2] == ["question", "accepted"]
