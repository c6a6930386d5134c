"""`screening-bot run` as a subprocess against a fake Bot API on loopback: a physician's pre-screen with a
SIGKILL in the middle, a restart, the referral sent; the coordinator receives the summary, and every
answer is applied exactly once."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from telegram_harness import callback, message

ROOT = Path(__file__).resolve().parents[1]
PHYSICIAN = 1001
COORDINATOR = 9001
QUESTION = re.compile(r"· question (\d+) of at most")


def start_bot(api: FakeBotAPI, tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "SCREENING_")) and "proxy" not in k.lower()}
    env.update({
        "TELEGRAM_BOT_TOKEN": "777000:E2E-test-token", "TELEGRAM_API_URL": api.base_url,
        "SCREENING_DB_PATH": str(tmp_path / "screening.db"),
        "SCREENING_COORDINATOR_IDS": str(COORDINATOR), "SCREENING_PHYSICIAN_IDS": str(PHYSICIAN),
        "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost",
    })
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def question_message(api: FakeBotAPI, number: int, db: Path | None = None):
    """The first message to the physician that asks question ``number``; with ``db``, once the bot has also
    marked it sent there (a physician answers a question once it is on the phone, which is long after)."""
    def find():
        for c in api.sent(PHYSICIAN):
            m = QUESTION.search(c.text)
            if m and int(m.group(1)) == number:
                return c if db is None or _all_marked(db) else None
        return None
    return api.wait_for(find, what=f"question {number}")


def _all_marked(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending'").fetchone()[0] == 0
    except sqlite3.OperationalError:  # busy, or not created yet
        return False


def final_outcome(api: FakeBotAPI):
    return api.wait_for(lambda: next((c for c in api.sent(PHYSICIAN)
                                      if any(d.startswith("s:") for _, d in c.buttons())), None),
                        what="the outcome with its send button")


def test_kill_restart_finish_and_refer(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api = fake_bot_api
    bot = start_bot(api, tmp_path)
    pushed_answers: list[int] = []
    db = tmp_path / "screening.db"
    try:
        api.wait_for(lambda: api.sent(method="getMe") and any(c.method == "getUpdates" for c in api.calls),
                     what="the bot to start polling")
        assert api.sent(method="setMyCommands"), "the command menu is set at start-up"
        api.push(message(PHYSICIAN, "/screen"))
        first = question_message(api, 1, db)
        ref = re.search(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}", first.text).group(0)

        # Typed answers and a button press, as a phone would send them.
        pushed_answers.append(api.push(message(PHYSICIAN, "12")))
        sex = question_message(api, 2, db)
        data = next(d for label, d in sex.buttons() if label == "female")
        pushed_answers.append(api.push(callback(PHYSICIAN, data, message_id=1)))
        question_message(api, 3, db)
        pushed_answers.append(api.push(message(PHYSICIAN, "no")))
        question_message(api, 4, db)

        # An answer is delivered to the bot, which is killed at once: applied before the kill or
        # after the restart, but exactly once.
        n = api.push(message(PHYSICIAN, "none"))
        pushed_answers.append(n)
        api.wait_for(lambda: n in api.delivered, what="delivery of the answer")
        bot.send_signal(signal.SIGKILL)
        bot.wait(10)

        bot = start_bot(api, tmp_path)
        question_message(api, 5, db)

        # The rest "unknown", then the outcome; a second SIGKILL after an answer was confirmed.
        number = 5
        while True:
            pushed_answers.append(api.push(message(PHYSICIAN, "unknown")))
            if number == 8:
                question_message(api, 9)
                bot.send_signal(signal.SIGKILL)
                bot.wait(10)
                bot = start_bot(api, tmp_path)
            number += 1
            done = api.wait_for(lambda num=number: _all_marked(db) and _question_or_outcome(api, num),
                                what=f"question {number}")
            if done == "outcome":
                break
            assert number < 80, "the pre-screen should end"
        outcome = final_outcome(api)
        send = next(d for _, d in outcome.buttons() if d.startswith("s:"))
        api.push(callback(PHYSICIAN, send, message_id=99))
        last = api.wait_for(lambda: next((c for c in api.sent(COORDINATOR) if ref in c.text and c.buttons()),
                                         None), what="the coordinator's summary")
        summary = "\n".join(c.text for c in api.sent(COORDINATOR) if ref in c.text)
        assert f"Referral {ref}" in summary and "Audit head" in summary and "Outcome:" in summary
        assert [label for label, _ in last.buttons()] == ["✅ Accept", "❓ Need information", "✖ Decline",
                                                          "📖 Details"]
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(15) == 0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(10)
        err = bot.stderr.read() if bot.stderr else ""
        assert "777000:E2E-test-token" not in err, "the token never reaches the log"
        assert "Traceback" not in err

    db = sqlite3.connect(tmp_path / "screening.db")
    state = json.loads(db.execute("SELECT state FROM prescreens WHERE referral_id = ?", (ref,)).fetchone()[0])
    assert len(state["history"]) == len(pushed_answers), "no answer lost or doubled"
    received = [json.loads(p)["update_id"] for (p,) in db.execute(
        "SELECT payload FROM audit_events WHERE type = 'update_received'")]
    assert len(received) == len(set(received)), "no update applied twice"
    assert set(pushed_answers) <= set(received)
    accepted = db.execute("SELECT COUNT(*) FROM audit_events WHERE type = 'answer_accepted'").fetchone()[0]
    assert accepted == len(pushed_answers)
    assert db.execute("SELECT COUNT(*) FROM audit_events WHERE type = 'referral_sent'").fetchone()[0] == 1


def _question_or_outcome(api: FakeBotAPI, number: int) -> str | None:
    for c in api.sent(PHYSICIAN):
        m = QUESTION.search(c.text)
        if m and int(m.group(1)) == number:
            return "question"
        if any(d.startswith("s:") for _, d in c.buttons()):
            return "outcome"
    return None
