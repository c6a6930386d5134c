"""Never lose anything: an update is stored before it is processed, an update ID already processed is
ignored, a stored but unprocessed update is processed after a restart, and replies committed but not
sent are sent after a restart."""

from __future__ import annotations

import json

from telegram import Update
from telegram_harness import COORDINATOR, PHYSICIAN, STRANGER, Failure, Harness, message, ref_of

from bot.telegram.inbox import DurableQueue


async def test_a_duplicate_update_id_is_ignored(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        update = message(PHYSICIAN, "12")
        first = await h.feed(update)
        assert first
        again = await h.feed(update)
        assert again == [], "no reply, no change"
        assert len(h.services.store.load(ref).history) == 1
        ids = [e["payload"]["update_id"] for e in h.audit("update_received")]
        assert ids.count(update["update_id"]) == 1


async def test_processed_updates_keep_no_content(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        await h.say(PHYSICIAN, "12")
        rows = h.db.conn.execute("SELECT kind, raw, processed_at, result FROM telegram_updates").fetchall()
        assert [(k, raw, r) for k, raw, _, r in rows] == [("command", None, "ok"), ("text", None, "ok")]
        assert all(p for _, _, p, _ in rows)


def _stored(h: Harness, update_id: int) -> tuple | None:
    return h.db.conn.execute("SELECT raw, processed_at FROM telegram_updates WHERE update_id = ?",
                             (update_id,)).fetchone()


async def test_an_update_is_stored_before_telegram_is_told_it_arrived(tmp_path):
    """Polling: an update taken in and not processed yet is written before the next getUpdates, which
    confirms it to Telegram."""
    async with Harness(tmp_path) as h:
        queue = h.app.update_queue
        assert isinstance(queue, DurableQueue) and not queue.store_at_once
        update = Update.de_json(message(PHYSICIAN, "/screen"), h.app.bot)
        await queue.put(update)
        assert queue.get_nowait() is update
        assert _stored(h, update.update_id) is None, "held: its own turn will write it"
        await h.app.bot.get_updates(offset=update.update_id + 1, timeout=0)
        raw, processed = _stored(h, update.update_id)
        assert json.loads(raw)["message"]["text"] == "/screen" and processed is None
        assert h.updates_request.calls[-1].method == "getUpdates", "stored first, then confirmed"


async def test_answers_in_a_row_cost_one_commit_each(tmp_path):
    """Each turn's commit holds its update, its step and the marks of the replies sent before it; the
    last replies' marks wait for the next commit (here the getUpdates that confirms the updates)."""
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        commits: list[str] = []
        h.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        updates = []
        for text in ("12", "female"):  # each typed once its question arrived
            updates.append(update := Update.de_json(message(PHYSICIAN, text), h.app.bot))
            await h.app.update_queue.put(update)
            await h.app.process_update(h.app.update_queue.get_nowait())
        await h.app.bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        h.db.conn.set_trace_callback(None)
        assert all(_stored(h, u.update_id)[1] is not None for u in updates)
        assert len(commits) == 3, commits
        assert [e.q for e in h.services.store.load(ref_of(h.request.sent(PHYSICIAN))).history] == ["age_years", "sex"]
        assert h.services.outbox.pending() == [] and h.db.conn.execute(
            "SELECT COUNT(*) FROM telegram_outbox WHERE status = 'pending'").fetchone() == (0,)


async def test_a_webhook_update_is_stored_before_the_webhook_answers(tmp_path):
    async with Harness(tmp_path) as h:
        h.app.update_queue.store_at_once = True  # as build_application sets it for a webhook
        update = Update.de_json(message(PHYSICIAN, "/screen"), h.app.bot)
        await h.app.update_queue.put(update)
        assert json.loads(_stored(h, update.update_id)[0])["message"]["text"] == "/screen"


async def test_an_invite_code_is_never_stored_even_before_processing(tmp_path):
    async with Harness(tmp_path) as h:
        update = Update.de_json(message(STRANGER, "/start SECRETcode123SECRETcode123SECRET"), h.app.bot)
        await h.app.update_queue.put(update)
        await h.app.bot.get_updates(offset=update.update_id + 1, timeout=0)
        assert h.db.conn.execute("SELECT raw FROM telegram_updates").fetchone() == (None,)


async def test_a_stored_unprocessed_update_is_processed_once_after_a_restart(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        answer = message(PHYSICIAN, "12")
        # Received (stored by the queue), then the process dies before a handler ran.
        await h.app.update_queue.put(Update.de_json(answer, h.app.bot))
    async with Harness(tmp_path) as h:  # the restart: post_init queues it again
        replayed = h.app.update_queue.get_nowait()
        assert replayed.update_id == answer["update_id"]
        await h.app.process_update(replayed)
        assert len(h.services.store.load(ref).history) == 1
        assert "question 2" in h.request.sent(PHYSICIAN)[-1].text
        # Telegram delivers it again (it was never confirmed): ignored.
        assert await h.feed(answer) == []
        assert len(h.services.store.load(ref).history) == 1
    async with Harness(tmp_path) as h:
        assert h.app.update_queue.empty(), "nothing left to replay"


async def test_replies_committed_but_not_sent_are_sent_after_a_restart(tmp_path):
    async with Harness(tmp_path) as h:
        h.request.fail("sendMessage", Failure(None), Failure(None))
        await h.say(PHYSICIAN, "/screen")
        assert h.services.outbox.pending(), "kept, not dropped"
    async with Harness(tmp_path) as h:
        h.services.sender.clock = lambda: 10**10  # long after the back-off
        assert await h.deliver() == 0
        assert "New pre-screen" in h.request.sent(PHYSICIAN)[0].text


async def test_after_a_restart_an_open_prescreen_continues_where_it_was(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "12")
    async with Harness(tmp_path) as h:
        calls = await h.say(PHYSICIAN, "/status")
        assert ref in calls[-1].text and "question 2" in calls[-1].text
        calls = await h.say(PHYSICIAN, "female")
        assert "question 3" in calls[-1].text
        assert [e.q for e in h.services.store.load(ref).history] == ["age_years", "sex"]


async def test_a_failing_handler_is_reported_and_not_replayed_forever(tmp_path, monkeypatch):
    async with Harness(tmp_path) as h:
        def boom(*args, **kwargs):
            raise RuntimeError("simulated bug with secret content")
        monkeypatch.setattr(h.services.store, "start", boom)
        calls = await h.say(PHYSICIAN, "/screen")
        assert "something went wrong" in calls[-1].text
        row = h.db.conn.execute("SELECT result FROM telegram_updates").fetchone()
        assert row == ("error: RuntimeError",)
    async with Harness(tmp_path) as h:
        assert h.app.update_queue.empty()


async def test_commands_menu_is_set_per_role_and_failure_is_not_fatal(tmp_path):
    h = Harness(tmp_path)
    h.request.fail("setMyCommands", Failure(500))
    async with h:
        calls = [c for c in h.request.calls if c.method == "setMyCommands"]
        assert len(calls) == 1, "failed once, logged, start-up went on"
        assert "New pre-screen" in (await h.say(PHYSICIAN, "/screen"))[0].text
    async with Harness(tmp_path) as h:
        scopes = [c.params["scope"] for c in h.request.calls if c.method == "setMyCommands"]
        # per chat, by role: the allow-listed physician's and the coordinator's; none for strangers (issue 15);
        # each twice: for a Telegram in Chinese and any other (issue 16)
        assert scopes == [{"type": "chat", "chat_id": PHYSICIAN}] * 2 + [{"type": "chat", "chat_id": COORDINATOR}] * 2
