"""`screening-bot run` as a subprocess against the fake Bot API (tests/fake_bot_api.py), for the fault tests:
start it (optionally with a crash point, bot/faults.py), wait for conditions while restarting it after a
SIGKILL, stop it, and read what it left in the database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fake_bot_api import ApiCall, FakeBotAPI
from telegram_harness import callback, message

from conversations.records.audit_verify import VerifyResult, verify
from conversations.records.db import open_db

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "777000:Faults-test-token"
PHYSICIAN = 1001
COORDINATORS = (9001, 9002)
REF = re.compile(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}")
QUESTION = re.compile(r"· question (\d+) of at most")


def bot_env(api: FakeBotAPI, db_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "SCREENING_")) and "proxy" not in k.lower()}
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.base_url, "SCREENING_DB_PATH": str(db_path),
        "SCREENING_COORDINATOR_IDS": ",".join(map(str, COORDINATORS)),
        "SCREENING_PHYSICIAN_IDS": str(PHYSICIAN), "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    """Another `screening-bot` command, run to its end."""
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


class LiveBot:
    """One database served by successive `screening-bot run` processes (a new one after each SIGKILL)."""

    def __init__(self, api: FakeBotAPI, tmp_path: Path):
        self.api = api
        self.dir = tmp_path
        self.db_path = tmp_path / "screening.db"
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []
        self.exits: list[int] = []  # return codes of the processes that ended, in order
        self.env: dict[str, str] = {}  # more settings for every process (e.g. SCREENING_REMINDER_IDLE_HOURS)

    # ---- processes -------------------------------------------------------------------------------

    def start(self, fault: str | None = None) -> subprocess.Popen:
        """Start a process (``fault``: SCREENING_FAULT for it) and wait until it polls."""
        assert self.proc is None or self.proc.poll() is not None, "one process at a time"
        log = self.dir / f"run{len(self.logs) + 1}.log"
        self.logs.append(log)
        polls = self.api.polls
        env = bot_env(self.api, self.db_path, **self.env, **({"SCREENING_FAULT": fault} if fault else {}))
        with open(log, "w", encoding="utf-8") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=self.dir, env=env,
                                         stdout=subprocess.DEVNULL, stderr=err, text=True)
        self.wait(lambda: self.api.polls > polls, "the bot to poll", restart=False)
        return self.proc

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 20.0, restart: bool = True) -> Any:
        """Poll until ``predicate`` holds; returns its value. A process killed meanwhile (SIGKILL) is
        restarted, without a crash point, when ``restart``; any other exit fails the test."""
        deadline = time.monotonic() + timeout
        while True:
            proc = self.proc
            result = self.api.wait_for(lambda p=proc: p.poll() is not None or predicate(),
                                       timeout=max(deadline - time.monotonic(), 0.01), what=what)
            if proc.poll() is None:
                return result
            self._ended(proc, restart)

    def _ended(self, proc: subprocess.Popen, restart: bool) -> None:
        self.exits.append(proc.returncode)
        if proc.returncode != -signal.SIGKILL or not restart:
            raise AssertionError(f"the bot exited with {proc.returncode}:\n{self.log_text()[-3000:]}")
        self.start()

    def kill(self) -> None:
        """SIGKILL the running process and restart it."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._ended(self.proc, restart=True)

    def stop(self) -> int:
        """SIGTERM: a clean stop; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(20)
        self.exits.append(rc)
        return rc

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def kills(self) -> int:
        return self.exits.count(-signal.SIGKILL)

    def log_text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())

    # ---- the database ----------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the live database (WAL: never blocks the bot); [] while a table does not exist yet."""
        if not self.db_path.exists():
            return []
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            con.close()

    def history(self, ref: str) -> list[tuple[str, str]]:
        """(question, raw answer) of every answer in the pre-screen's state."""
        rows = self.query("SELECT state FROM prescreens WHERE referral_id = ?", (ref,))
        return [(e["q"], e.get("raw")) for e in json.loads(rows[0][0])["history"]] if rows else []

    def events(self, type_: str) -> list[dict]:
        return [json.loads(p) for (p,) in self.query("SELECT payload FROM audit_events WHERE type = ? ORDER BY seq",
                                                     (type_,))]

    def outbox(self, chat_id: int | None = None) -> list[tuple[str, str, str, int | None]]:
        """(key, status, text, edit_message_id) of the outbox rows, in sending order."""
        rows = self.query("SELECT key, status, text, edit_message_id, chat_id FROM telegram_outbox ORDER BY id")
        return [r[:4] for r in rows if chat_id is None or r[4] == chat_id]

    def all_sent(self) -> bool:
        rows = self.outbox()
        return bool(rows) and all(status == "sent" for _, status, _, _ in rows)

    def processed(self, update_ids: list[int]) -> bool:
        done = {u for (u,) in self.query("SELECT update_id FROM telegram_updates WHERE processed_at IS NOT NULL")}
        return set(update_ids) <= done

    def verify(self) -> VerifyResult:
        db = open_db(self.db_path)
        try:
            return verify(db)
        finally:
            db.close()

    # ---- checks ----------------------------------------------------------------------------------

    def check_updates_applied_once(self, update_ids: list[int]) -> None:
        """Every update processed, without error, and recorded in the audit trail exactly once."""
        received = [e["update_id"] for e in self.events("update_received")]
        assert len(received) == len(set(received)), f"an update was applied twice: {received}"
        assert sorted(received) == sorted(set(update_ids)), (received, update_ids)
        rows = self.query("SELECT update_id, processed_at, result, raw FROM telegram_updates ORDER BY update_id")
        assert [r[0] for r in rows] == sorted(set(update_ids))
        assert all(p is not None and res == "ok" and raw is None for _, p, res, raw in rows), rows

    def check_deliveries(self, chat_id: int, duplicates: int = 0) -> list[str]:
        """What Telegram accepted for the chat, in order, is exactly the chat's outbox rows in order, every
        row sent, with ``duplicates`` extra copies (at-least-once): after a kill, the rows delivered since the
        last commit that marked them are delivered again, in order, so the sequence may step back to an
        earlier row and go on from there, never skip one. Returns the delivered texts."""
        rows = self.query("SELECT status, text, edit_message_id, delete_message_id FROM telegram_outbox"
                          " WHERE chat_id = ? ORDER BY id", (chat_id,))
        assert all(status == "sent" for status, _, _, _ in rows), rows
        expected = [("deleteMessage", "") if deletes is not None else
                    ("editMessageText" if edit else "sendMessage", text) for _, text, edit, deletes in rows]
        delivered = [(c.method, c.text) for c in self.api.calls
                     if c.method in ("sendMessage", "editMessageText", "deleteMessage") and c.chat_id == chat_id
                     and c.status == 200]
        at = 0  # the next row due
        for d in delivered:
            if at < len(expected) and d == expected[at]:
                at += 1
                continue
            back = [r for r in range(at) if expected[r] == d]
            assert back, f"{d[0]} {d[1][:70]!r} is no row delivered so far: " + _diff(delivered, expected)
            at = back[-1] + 1  # sent again from there
        assert at == len(expected), _diff(delivered, expected)
        assert len(delivered) - len(expected) == duplicates, (
            f"{len(delivered) - len(expected)} duplicate(s), want {duplicates}: "
            f"{[(m, t[:70]) for m, t in delivered]}")
        return [t for _, t in delivered]

    def check_clean_logs(self) -> None:
        text = self.log_text()
        assert TOKEN not in text, "the token never reaches the log"
        assert "Traceback" not in text, text[-3000:]


def _diff(got: list, want: list) -> str:
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"first difference at {i}: got {g[0]} {g[1][:80]!r}, want {w[0]} {w[1][:80]!r}"
    return f"got {len(got)} messages, want {len(want)}"


def questions(calls: list[ApiCall]) -> list[int]:
    """The question numbers asked in these messages, in order."""
    return [int(m.group(1)) for c in calls if (m := QUESTION.search(c.text))]


def asked(api: FakeBotAPI, number: int, chat_id: int = PHYSICIAN) -> ApiCall | None:
    """The first accepted message to the chat that asks question ``number``."""
    return next((c for c in api.sent(chat_id) if number in questions([c])), None)


def answer_in_turn(api: FakeBotAPI, bot: LiveBot, ids: list[int], ref: str, answers: list[str],
                   first: int = 1) -> None:
    """Answer as a physician does: each answer once its question (``first``, ``first`` + 1, ...) is on the
    phone and the bot has marked it sent. ``"press:<choice>"`` taps that button of the question, anything
    else is typed. The update IDs are appended to ``ids``."""
    for k, answer in enumerate(answers, first):
        shown = bot.wait(lambda k=k: (asked(api, k) if bot.processed(ids) and bot.all_sent() else None),
                         f"question {k} on screen")
        if answer.startswith("press:"):
            ids.append(api.push(callback(PHYSICIAN, f"a:{ref}:{k}:{answer[6:]}", message_id=shown.message_id)))
        else:
            ids.append(api.push(message(PHYSICIAN, answer)))
