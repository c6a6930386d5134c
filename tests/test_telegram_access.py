"""Who may do what, and what the bot refuses: strangers, groups, attachments, edits, stale and forged
buttons. A refusal is one polite message, changes nothing, and is audited without the content."""

from __future__ import annotations

import pytest
from telegram_harness import (
    ATTACHMENTS,
    COORDINATOR,
    PHYSICIAN,
    STRANGER,
    Harness,
    attachment,
    callback,
    group_chat,
    last_question,
    message,
    ref_of,
    texts,
)

from bot.telegram.inbox import MAY_IDENTIFY


def prescreen_count(h: Harness) -> int:
    return h.db.conn.execute("SELECT COUNT(*) FROM prescreens").fetchone()[0]


async def test_a_stranger_gets_one_polite_refusal_and_changes_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(STRANGER, "/screen")
        assert len(texts(calls)) == 1 and "ask a study coordinator" in texts(calls)[0]
        for text in ("patient Jane Doe, 12 years", "/start"):  # refused lately: ignored
            assert texts(await h.say(STRANGER, text)) == []
        calls = await h.press(STRANGER, "a:R-AAAA-BBBB:1:y")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert prescreen_count(h) == 0
        refused = h.audit("access_refused")
        assert [e["payload"]["update_kind"] for e in refused] == ["command"]
        assert all(e["actor_role"] == "stranger" and e["actor_id"] == STRANGER for e in refused)
        assert not h.audit("update_received"), "a stranger's content is not recorded"
        assert "Jane" not in str(h.audit())
        assert "Jane" not in str(h.db.conn.execute("SELECT * FROM telegram_updates").fetchall())


async def test_a_flood_from_a_stranger_costs_one_refusal_every_ten_minutes(tmp_path, monkeypatch):
    from bot.telegram import access

    clock = [1000.0]
    monkeypatch.setattr(access.time, "monotonic", lambda: clock[0])
    async with Harness(tmp_path) as h:
        count = "SELECT COUNT(*) FROM audit_events WHERE type != 'audit_keyed'"  # the trail's first, keyed event
        events = h.db.conn.execute(count).fetchone()[0]
        replies = [texts(await h.say(STRANGER, f"hello {i}")) for i in range(200)]
        assert sum(len(r) for r in replies) == 1 and len(h.audit("access_refused")) == 1
        assert h.db.conn.execute(count).fetchone()[0] - events == 2, (
            "the refusal and its message, nothing per message after")
        assert h.db.conn.execute("SELECT COUNT(*) FROM telegram_updates WHERE processed_at IS NULL"
                                 ).fetchone() == (0,), "every update marked processed"
        clock[0] += 601
        assert "ask a study coordinator" in texts(await h.say(STRANGER, "hello again"))[0]


async def test_identity_is_the_numeric_id_never_the_username(tmp_path):
    async with Harness(tmp_path) as h:
        update = message(STRANGER, "/screen")
        update["message"]["from"]["username"] = "physician1001"
        calls = await h.feed(update)
        assert "ask a study coordinator" in texts(calls)[0]


@pytest.mark.parametrize("who", [PHYSICIAN, COORDINATOR, STRANGER])
async def test_in_a_group_the_bot_says_so_and_does_nothing_else(tmp_path, who):
    async with Harness(tmp_path) as h:
        calls = await h.say(who, "/screen", chat=group_chat())
        assert texts(calls) == [texts(calls)[0]] and "private chats only" in texts(calls)[0]
        assert calls[0].chat_id == group_chat()["id"]
        assert prescreen_count(h) == 0
        refused = h.audit("access_refused")[0]["payload"]
        assert refused == {"reason": "not_private", "chat_type": "group", "update_kind": "command"}


@pytest.mark.parametrize("kind", sorted(ATTACHMENTS))
async def test_attachments_are_refused_with_a_reminder_and_never_downloaded(tmp_path, kind):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        update = attachment(PHYSICIAN, kind)
        calls = await h.feed(update)
        assert len(texts(calls)) == 1 and "send no photos, files" in texts(calls)[0]
        assert not [c for c in h.request.calls if c.method == "getFile"]
        assert h.services.store.load(ref).history == []
        received = h.audit("update_received")[-1]["payload"]
        assert received["kind"] == kind and received["text"] is None, "captions are not recorded"
        deleted = [(c.chat_id, int(c.params["message_id"])) for c in calls if c.method == "deleteMessage"]
        may_identify = kind in MAY_IDENTIFY  # a sticker cannot; a photo, contact or voice note can
        assert deleted == ([(PHYSICIAN, update["message"]["message_id"])] if may_identify else [])
        assert [e["payload"]["reason"] for e in h.audit("message_deleted")] == (
            [f"{kind}, may identify the patient"] if may_identify else [])
        calls = await h.feed(attachment(COORDINATOR, kind))
        assert "send no photos, files" in texts(calls)[0]
        assert bool([c for c in calls if c.method == "deleteMessage"]) == may_identify


async def test_a_button_of_an_earlier_question_changes_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(PHYSICIAN, "/screen")
        ref = ref_of(calls)
        await h.say(PHYSICIAN, "12")
        sex = last_question(await h.say(PHYSICIAN, "/status"))
        female = sex.button("female")
        await h.press(PHYSICIAN, female)
        before = h.services.store.load(ref)
        for stale in (f"a:{ref}:1:u", female, f"t:{ref}:2:0", f"k:{ref}:2"):
            calls = await h.press(PHYSICIAN, stale)
            assert [c.method for c in calls] == ["answerCallbackQuery"]
            assert "earlier question" in calls[0].params["text"]
        assert h.services.store.load(ref) == before


@pytest.mark.parametrize("data", [
    "", "x", "a:R-1:1", "a:R-1:x:0", "a::1:0", "a:R-1:1:99999", "zz:R-1:1:0", "a:" + "R" * 60 + ":1:0",
    "d:R-1:1:z", "a:R-1:-1:0", "t:R-1:1:u", "s:R-1:extra", "a:R-1:1:0;DROP TABLE prescreens",
])
async def test_forged_callback_data_never_crashes_and_changes_nothing(tmp_path, data):
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        calls = await h.press(PHYSICIAN, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert calls[0].params["text"]
        row = h.db.conn.execute("SELECT result FROM telegram_updates ORDER BY update_id DESC").fetchone()
        assert row[0] == "ok", "handled, not an error"


async def test_a_forged_index_on_the_current_question_changes_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "12")
        calls = await h.press(PHYSICIAN, f"a:{ref}:2:7")  # sex has two choices
        assert calls[0].params["text"].startswith("That button is not valid")
        assert len(h.services.store.load(ref).history) == 1


async def test_another_physicians_prescreen_is_out_of_reach(tmp_path):
    async with Harness(tmp_path, physicians=(PHYSICIAN, PHYSICIAN + 1)) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        for data in (f"a:{ref}:1:u", f"s:{ref}", f"r:{ref}", f"c:{ref}"):
            calls = await h.press(PHYSICIAN + 1, data)
            assert calls[0].params["text"] == "That button does not belong to any of your pre-screens."
        calls = await h.say(PHYSICIAN + 1, f"/status {ref}")
        assert "is not one of your open pre-screens" in calls[0].text
        assert h.services.store.load(ref).history == []


async def test_edited_messages_are_not_read_as_answers(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        calls = await h.say(PHYSICIAN, "12", edited=True)
        assert "I do not read edited messages" in calls[0].text
        assert h.services.store.load(ref).history == []


async def test_unknown_commands_and_callbacks_in_a_chat_are_answered(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(PHYSICIAN, "/frobnicate")
        assert "I did not understand that" in calls[0].text
        calls = await h.feed(callback(PHYSICIAN, "c:R-0000-0000"))
        assert calls[0].params["text"] == "That button does not belong to any of your pre-screens."
