"""Other processes on the database `screening-bot run` is serving: `screening-bot backup` copies it while
updates are being processed (the copies are consistent and verify), and another writer holding the
database for a few seconds makes an update wait, not fail."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import PHYSICIAN, REF, LiveBot, asked, bot_env, cli
from telegram_harness import message

HOLD_S = 2.0  # how long the other writer keeps the database (the bot waits up to 15 s)


def _check_copy(path: Path) -> int:
    """A copy on its own: integrity, its pre-screens agree with its audit trail, every processed update
    and every sent message is audited. Returns its number of audit events."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for rid, state in con.execute("SELECT referral_id, state FROM prescreens"):
            accepted = con.execute("SELECT count(*) FROM audit_events WHERE referral_id = ? AND type = "
                                   "'answer_accepted'", (rid,)).fetchone()[0]
            assert len(json.loads(state)["history"]) == accepted, "state and audit from one snapshot"
        processed = {u for (u,) in con.execute("SELECT update_id FROM telegram_updates WHERE processed_at "
                                               "IS NOT NULL")}
        received = [json.loads(p)["update_id"] for (p,) in con.execute(
            "SELECT payload FROM audit_events WHERE type = 'update_received'")]
        assert sorted(received) == sorted(processed)
        sent = con.execute("SELECT count(*) FROM telegram_outbox WHERE status = 'sent'").fetchone()[0]
        assert con.execute("SELECT count(*) FROM audit_events WHERE type = 'message_sent'").fetchone()[0] == sent
        return con.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        con.close()


def test_backup_while_run_is_serving(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    stop, errors, ids = threading.Event(), [], []

    def physician() -> None:
        """Answers "unknown", one update after another, for as long as the backups run."""
        try:
            while not stop.is_set():
                ids.append(api.push(message(PHYSICIAN, "unknown")))
                bot.api.wait_for(lambda: bot.processed(ids[-1:]), what=f"update {ids[-1]}")
        except BaseException as exc:
            errors.append(exc)

    try:
        bot.start()
        ids.append(api.push(message(PHYSICIAN, "/screen")))
        ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
        feeder = threading.Thread(target=physician)
        feeder.start()
        copies = []
        try:
            for i in range(3):
                # ids grows once the previous update is processed: at least one more since the last copy
                n = len(ids)
                bot.wait(lambda n=n: len(ids) > n + 1, "the physician to be answering")
                out = tmp_path / f"backup{i}.db"
                done = cli(["backup", str(out)], bot_env(api, bot.db_path), cwd=tmp_path)
                assert done.returncode == 0, done.stderr
                assert "integrity ok; audit chain intact" in done.stdout
                copies.append(out)
        finally:
            stop.set()
            feeder.join(30)
        assert not errors, errors
        ids.append(api.push(message(PHYSICIAN, "/status")))  # one more write after the last copy
        bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "the last answers")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    events = []
    for out in copies:
        key = bot.db_path.with_name(bot.db_path.name + ".audit-key")  # a backup travels without its key
        verified = cli(["audit", "verify", "--db", str(out), "--key-file", str(key)], bot_env(api, bot.db_path),
                       cwd=tmp_path)
        assert verified.returncode == 0, verified.stderr
        events.append(_check_copy(out))
    live = _check_copy(bot.db_path)
    assert events == sorted(events) and events[-1] < live, "snapshots taken while the bot kept writing"
    assert events[0] < events[-1], "the bot wrote between the backups"
    bot.check_updates_applied_once(ids)
    assert len(bot.history(ref)) == len(bot.events("answer_accepted"))
    assert bot.verify().ok
    bot.check_clean_logs()


def test_an_update_waits_for_another_writer_and_succeeds(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
        bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "question 1 marked sent")

        other = sqlite3.connect(bot.db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer: a backup tool, an operator's script
        try:
            ids.append(api.push(message(PHYSICIAN, "12")))
            bot.wait(lambda: ids[-1] in api.delivered, "the answer to reach the bot")
            held = time.monotonic()
            time.sleep(HOLD_S)  # the fault being simulated: the database stays locked this long
            assert not asked(api, 2), "nothing is answered while the database is locked"
            assert not bot.processed(ids), "the update is not stored, nor applied, yet"
        finally:
            other.execute("COMMIT")
            released = time.monotonic()
            other.close()
        reply = bot.wait(lambda: asked(api, 2), "question 2")
        assert reply.at >= released and released - held >= HOLD_S
        bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "question 2 marked sent")
        ids.append(api.push(message(PHYSICIAN, "female")))
        bot.wait(lambda: asked(api, 3) and bot.processed(ids) and bot.all_sent(), "question 3")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.history(ref) == [("age_years", "12"), ("sex", "female")]
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN)
    assert bot.verify().ok
    bot.check_clean_logs()
