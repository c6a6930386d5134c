"""`screening-bot run` in webhook mode as a subprocess, on loopback: it registers its webhook (URL and secret
token) with the fake Bot API (tests/fake_bot_api.py), takes real Update JSON POSTed to its own HTTP server,
answers through the fake API's sendMessage, refuses a POST without the right secret (403, the database
untouched), applies an update delivered twice once, and stops cleanly on SIGTERM.

The webhook URL is only handed to setWebhook; nothing ever contacts it. The test POSTs straight to the
listening port, as Telegram (or a reverse proxy) would.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import PHYSICIAN, REF, LiveBot, bot_env
from telegram_harness import callback, message

WEBHOOK_URL = "https://bot.example.test/telegram/hook"
PATH = "/telegram/hook"
SECRET = "webhook_Secret-e2e_0123"
ALLOWED = ["message", "edited_message", "callback_query"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, update: dict, secret: str | None = SECRET, path: str = PATH) -> int:
    """POST an update as Telegram does; the HTTP status of the answer."""
    body = json.dumps(update).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        con.request("POST", path, body=body, headers=headers)
        response = con.getresponse()
        response.read()
        return response.status
    finally:
        con.close()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def snapshot(bot: LiveBot) -> dict[str, list[tuple]]:
    """Every row of every table."""
    tables = [t for (t,) in bot.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: bot.query(f'SELECT * FROM "{t}" ORDER BY rowid') for t in tables}


def message_id(api: FakeBotAPI, sent: object) -> int:
    """The message ID the fake gave a sent message (it numbers accepted sendMessage calls from 1)."""
    return api.sent().index(sent) + 1


def start_webhook_bot(api: FakeBotAPI, tmp_path: Path, port: int) -> LiveBot:
    bot = LiveBot(api, tmp_path)
    log = tmp_path / "run1.log"
    bot.logs.append(log)
    env = bot_env(api, bot.db_path, SCREENING_WEBHOOK_URL=WEBHOOK_URL, SCREENING_WEBHOOK_SECRET=SECRET,
                  SCREENING_WEBHOOK_LISTEN="127.0.0.1", SCREENING_WEBHOOK_PORT=str(port))
    with open(log, "w", encoding="utf-8") as err:
        bot.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                                    stdout=subprocess.DEVNULL, stderr=err, text=True)
    return bot


def test_webhook_mode_end_to_end(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api = fake_bot_api
    port = free_port()
    started = time.monotonic()
    bot = start_webhook_bot(api, tmp_path, port)
    try:
        # (1) The webhook is registered with its URL and secret (python-telegram-bot calls setWebhook just
        # before its HTTP server listens: Telegram retries a refused delivery, so we wait for the port).
        hook = bot.wait(lambda: next(iter(api.sent(method="setWebhook")), None), "setWebhook", restart=False)
        assert hook.params["url"] == WEBHOOK_URL
        assert hook.params["secret_token"] == SECRET
        assert hook.params["allowed_updates"] == ALLOWED
        assert api.polls == 0 and not api.attempts(method="getUpdates"), "no polling in webhook mode"
        assert api.sent(method="setMyCommands"), "the command menu is set at start-up"
        bot.wait(lambda: listening(port), "the webhook server to listen", restart=False)
        ready = time.monotonic() - started

        # (2) A physician starts a pre-screen by webhook; the reply goes out through sendMessage.
        pushed = [5001]
        assert post(port, message(PHYSICIAN, "/screen", update_id=5001)) == 200
        first = bot.wait(lambda: next((c for c in api.sent(PHYSICIAN) if "question 1 of" in c.text), None),
                         "question 1")
        ref = REF.search(first.text).group(0)
        bot.wait(bot.all_sent, "the outbox to drain")

        # (3) Forged POSTs, each carrying an answer: refused with 403 before anything is stored or said.
        before = snapshot(bot)
        sent_before = len(api.attempts())
        forged = message(PHYSICIAN, "4", update_id=5002)
        assert post(port, forged, secret="wrong-secret") == 403
        assert post(port, forged, secret=None) == 403
        assert post(port, forged, secret=SECRET.upper()) == 403
        assert post(port, forged, secret=SECRET + "x") == 403
        assert post(port, forged, path="/other") == 404, "only the webhook's path is served"
        assert snapshot(bot) == before, "a refused POST changes nothing in the database"
        assert not bot.query("SELECT 1 FROM telegram_updates WHERE update_id = 5002")
        assert len(api.attempts()) == sent_before, "and nothing is said"

        # (4) The same update (age 4) twice back to back, and once more after it was applied: once.
        age = message(PHYSICIAN, "4", update_id=5003)
        pushed.append(5003)
        assert post(port, age) == 200
        assert post(port, age) == 200
        bot.wait(lambda: bot.processed([5003]), "the age to be applied")
        assert post(port, age) == 200
        ineligible = bot.wait(lambda: next((c for c in api.sent(PHYSICIAN) if "INELIGIBLE" in c.text), None),
                              "the certain ineligibility")
        assert "age 4 years &lt; 5 years" in ineligible.text
        sex = bot.wait(lambda: next((c for c in api.sent(PHYSICIAN) if "question 2 of" in c.text), None),
                       "question 2")

        # A button press arrives by webhook too.
        female = next(d for label, d in sex.buttons() if label == "female")
        pushed.append(5004)
        assert post(port, callback(PHYSICIAN, female, message_id=message_id(api, sex), update_id=5004)) == 200
        bot.wait(lambda: any("question 3 of" in c.text for c in api.sent(PHYSICIAN)), "question 3")
        bot.wait(lambda: bot.processed(pushed) and bot.all_sent(), "everything applied and sent")

        # A late duplicate of the age (after other updates) is ignored as well.
        assert post(port, age) == 200
        marker = message(PHYSICIAN, "/status", update_id=5005)
        pushed.append(5005)
        assert post(port, marker) == 200
        bot.wait(lambda: bot.processed(pushed) and bot.all_sent(), "the /status reply")

        # (5) SIGTERM: a clean stop.
        assert bot.stop() == 0
    finally:
        bot.cleanup()
    elapsed = time.monotonic() - started

    assert bot.history(ref) == [("age_years", "4"), ("sex", "female")], "each answer applied exactly once"
    bot.check_updates_applied_once(pushed)
    assert len(bot.events("answer_accepted")) == 2
    delivered = bot.check_deliveries(PHYSICIAN)
    assert sum("INELIGIBLE" in t for t in delivered) == 1, "the ineligibility is announced once"
    assert bot.verify().ok
    bot.check_clean_logs()
    log = bot.log_text()
    assert SECRET not in log, "the webhook secret never reaches the log"
    assert f"by webhook on 127.0.0.1:{port}" in log
    assert log.count("update 5003 already processed: ignored") == 3, "each duplicate reached the bot"
    assert "5002" not in log, "a refused POST never reaches the application"
    print(f"webhook ready after {ready:.2f}s; whole run {elapsed:.2f}s")

