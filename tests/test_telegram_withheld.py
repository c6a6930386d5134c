"""Nothing that looks like a patient identifier is written anywhere (issue 13): not in a table, not in the
durable inbox, not in the WAL; commands, edits and coordinators' texts are stopped before any handler
reads them; every such message is deleted from the private chat; no reply quotes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update
from telegram_harness import COORDINATOR, PHYSICIAN, STRANGER, Harness, message, ref_of
from test_identifiers import MORE_FORMS


def files_hold(tmp_path: Path, text: str) -> list[str]:
    """The files of the database directory (database, WAL, shared memory) whose bytes hold ``text``."""
    needle = text.encode()
    return [p.name for p in tmp_path.iterdir() if p.is_file() and needle in p.read_bytes()]


def said_to(h: Harness, chat_id: int) -> str:
    return "\n".join(c.text for c in h.request.sent(chat_id))


@pytest.mark.parametrize("text", [t for t, _ in MORE_FORMS])
async def test_no_file_ever_holds_a_withheld_answer(tmp_path, text):
    async with Harness(tmp_path) as h:
        ref_of(await h.say(PHYSICIAN, "/screen"))
        typed = message(PHYSICIAN, text)
        calls = await h.feed(typed)
        assert "looks like" in calls[0].text and text not in said_to(h, PHYSICIAN)
        assert [c.method for c in calls][-1] == "deleteMessage"
        assert int(calls[-1].params["message_id"]) == typed["message"]["message_id"]
        assert files_hold(tmp_path, text) == [], "WAL and database alike"


# (who, text, edited): a command with an identifier, an edit, a coordinator's text, a physician's /revoke
STOPPED = [
    (PHYSICIAN, "/status 12.03.2014", False),
    (PHYSICIAN, "/summary 138 1234 5678", False),
    (PHYSICIAN, "/revoke 123456789", False),
    (PHYSICIAN, "/Change MRN A12B34C56", False),
    (PHYSICIAN, "born 2012年3月4日", True),
    (COORDINATOR, "the girl's record is ZY2012-0345", False),
    (COORDINATOR, "/referrals 04 03 2012", False),
    (COORDINATOR, "call jane＠example.org", True),
    (STRANGER, "my child was born 4 de marzo de 2012", False),
]


@pytest.mark.parametrize(("who", "text", "edited"), STOPPED)
async def test_commands_edits_and_coordinators_texts_are_withheld_and_deleted(tmp_path, who, text, edited):
    async with Harness(tmp_path) as h:
        if who == PHYSICIAN:
            await h.say(PHYSICIAN, "/screen")
        update = message(who, text, edited=edited)
        calls = await h.feed(update)
        sent = [c for c in calls if c.method == "sendMessage"]
        assert len(sent) == 1 and ("looks like" in sent[0].text or "ask a study coordinator" in sent[0].text)
        assert calls[-1].method == "deleteMessage"
        key = "edited_message" if edited else "message"
        assert int(calls[-1].params["message_id"]) == update[key]["message_id"]
        assert text.split()[-1] not in said_to(h, who)
        assert files_hold(tmp_path, text.split()[-1]) == []
        if who != STRANGER:
            [received] = [e for e in h.audit("update_received") if e["payload"]["update_id"] == update["update_id"]]
            assert received["payload"]["text"].startswith("[withheld: looked like")
        assert h.audit("message_deleted")[-1]["payload"]["reason"] == "possible patient identifier"


async def test_a_coordinators_revoke_of_a_user_id_is_no_identifier(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(COORDINATOR, "/revoke 1234567890")
        assert "deleteMessage" not in [c.method for c in calls]
        assert h.audit("update_received")[-1]["payload"]["text"] == "/revoke 1234567890"


async def test_an_identifier_held_in_the_inbox_is_stored_withheld_and_refused_after_a_restart(tmp_path):
    """Taken in, stored before Telegram was told (the process then died before handling it): the inbox
    holds its placeholder, never the text; replayed, it is refused and deleted as the text would be."""
    async with Harness(tmp_path) as h:
        ref_of(await h.say(PHYSICIAN, "/screen"))
        typed = message(PHYSICIAN, "/status 12.03.2014")
        update = Update.de_json(typed, h.app.bot)
        await h.app.update_queue.put(update)
        await h.app.bot.get_updates(offset=update.update_id + 1, timeout=0)
        assert files_hold(tmp_path, "12.03.2014") == []
        [(raw,)] = h.db.conn.execute("SELECT raw FROM telegram_updates WHERE update_id = ?",
                                     (update.update_id,)).fetchall()
        assert "[withheld: looked like a date]" in raw
    async with Harness(tmp_path) as h:  # the restart: post_init queues it again
        replayed = h.app.update_queue.get_nowait()
        before = len(h.request.calls)
        await h.app.process_update(replayed)
        await h.deliver()
        calls = h.request.calls[before:]
        assert "looks like a date" in calls[0].text and calls[-1].method == "deleteMessage"
        assert int(calls[-1].params["message_id"]) == typed["message"]["message_id"]
