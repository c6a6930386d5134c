"""`chat` given a line that is not UTF-8 text (#13): --jsonl answers it with one JSON error record (a code,
nothing of the bytes) and goes on, as it does after any line it cannot take; nothing of it is stored; the
interactive chat says so in a line and asks again. Never a traceback."""

from __future__ import annotations

import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli, terminal
from bot.settings import Settings
from conversations.records import audit, audit_key
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "screening-bot"
BOT = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
NOT_UTF8 = {"type": "error", "code": "not_utf8",
            "error": "That line is not UTF-8 text, so it was not read; type it again."}


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


def not_utf8(rng: random.Random) -> bytes:
    """Random bytes, on one line, that do not decode as UTF-8."""
    while True:
        data = bytes(b for b in rng.randbytes(rng.randrange(1, 40)) if b not in b"\r\n")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return data


BAD = [not_utf8(random.Random(seed)) for seed in range(50)] + [b"\xff", b"caf\xe9", b"1\xfe4", b"\xc3", b"\xed\xa0\x80"]


def stdin_of(data: bytes) -> io.TextIOWrapper:
    """Standard input as Python makes it under a UTF-8 locale (undecodable bytes kept as surrogates)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape")


def chat(capsys, monkeypatch, db: Path, data: bytes) -> tuple[int, list[dict], str]:
    monkeypatch.setattr("sys.stdin", stdin_of(data))
    code = cli.main(["chat", "--jsonl", "--db", str(db)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def events(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT type, payload FROM {audit.TABLE} ORDER BY seq").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.hex()[:16])
def test_a_line_that_is_not_utf8_is_one_error_record_and_the_session_goes_on(tmp_path, capsys, monkeypatch, bad):
    db = tmp_path / "screening.db"
    code, lines, err = chat(capsys, monkeypatch, db, b"14\n" + bad + b"\nfemale\n")
    assert code == 0 and err == ""
    kinds = [x["type"] for x in lines]
    assert kinds == ["question", "accepted", "question", "error", "accepted", "question"], kinds
    assert lines[3] == NOT_UTF8
    assert lines[4]["facts"] == {"sex": "female"}, "the next line is read as the answer it is"
    stored = events(db)
    assert [t for t, _ in stored].count("answer_rejected") == 0, "nothing of the line was taken as an answer"
    assert not any("\udcff" in p or "\ufffd" in p for _, p in stored)


def test_many_bad_lines_in_a_row_each_get_their_record(tmp_path, capsys, monkeypatch):
    db = tmp_path / "screening.db"
    code, lines, err = chat(capsys, monkeypatch, db, b"".join(b + b"\n" for b in BAD) + b"14\n")
    assert code == 0 and err == ""
    assert [x["type"] for x in lines] == ["question", *["error"] * len(BAD), "accepted", "question"]


def test_a_last_line_without_newline_that_is_not_utf8(tmp_path, capsys, monkeypatch):
    code, lines, err = chat(capsys, monkeypatch, tmp_path / "screening.db", b"14\n\xff\xfe")
    assert code == 0 and err == "" and lines[-1] == NOT_UTF8


def test_a_resumed_session_takes_bad_lines_the_same_way(tmp_path, capsys, monkeypatch):
    db = tmp_path / "screening.db"
    _, lines, _ = chat(capsys, monkeypatch, db, b"14\n")
    ref = lines[0]["referral_id"]
    monkeypatch.setattr("sys.stdin", stdin_of(b"\x80\nfemale\n"))
    assert cli.main(["chat", "--jsonl", "--resume", ref, "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    kinds = [json.loads(x)["type"] for x in out.splitlines()]
    assert err == "" and kinds == ["question", "error", "accepted", "question"]


def test_the_interactive_chat_says_so_and_asks_again(tmp_path):
    store = Store.open(tmp_path / "screening.db")
    said: list[str] = []
    typed = iter(["14", "caf\udce9", "female", "quit"])
    try:
        assert terminal.interactive(store, None, read=lambda prompt: next(typed), write=said.append) == 0
    finally:
        store.close()
    assert NOT_UTF8["error"] in "\n".join(said)
    assert "Read as: sex: female." in "\n".join(said)


def test_the_interactive_chat_on_a_strict_terminal(tmp_path):
    store = Store.open(tmp_path / "screening.db")
    said: list[str] = []
    answers = iter([b"\xff", "14", "quit"])

    def read(prompt: str) -> str:
        answer = next(answers)
        if isinstance(answer, bytes):
            raise UnicodeDecodeError("utf-8", answer, 0, 1, "invalid start byte")
        return answer

    try:
        assert terminal.interactive(store, None, read=read, write=said.append) == 0
    finally:
        store.close()
    assert NOT_UTF8["error"] in "\n".join(said) and "Read as: age 14 years." in "\n".join(said)


@pytest.mark.slow  # a process of its own: the real standard input, bytes as they come
def test_the_real_standard_input(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    audit_key.generate(tmp_path / "s.db.audit-key")  # as the first start left it: its notice is not looked at
    data = b"14\n" + b"\n".join(BAD[:10]) + b"\nfemale\n"
    proc = subprocess.run([*BOT, "chat", "--jsonl", "--db", str(tmp_path / "s.db")], input=data,
                          capture_output=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stderr == b""
    lines = [json.loads(x) for x in proc.stdout.decode("utf-8").splitlines()]
    assert [x for x in lines if x["type"] == "error"] == [NOT_UTF8] * 10
    assert lines[-2]["facts"] == {"sex": "female"}
