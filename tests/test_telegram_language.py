"""/language (issue 16): every user chooses the language the bot writes to them in, over their Telegram's
language_code; the choice is stored (it survives a restart), audited (language_chosen) and proven by the
rebuild; every message_sent records the language it was written in; the command menus are set per
language, the descriptions translated."""

from __future__ import annotations

import json
import re

from telegram_harness import COORDINATOR, PHYSICIAN, Harness, callback, message, ref_of

from bot import i18n
from bot.telegram import menus
from conversations.dialogue.events import E
from conversations.records import rebuild

CJK = re.compile(r"[\u4e00-\u9fff]")


def _zh(update: dict) -> dict:
    update["message"]["from"]["language_code"] = "zh-hans"
    return update


def chinese(calls) -> bool:
    sent = [c.text for c in calls if c.method in ("sendMessage", "editMessageText")]
    assert sent, "something was said"
    return all(CJK.search(t) for t in sent)


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


async def test_language_switches_the_next_question_and_is_remembered_across_a_restart(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(PHYSICIAN, "/screen")
        ref = ref_of(calls)
        assert not chinese(calls)
        calls = await h.say(PHYSICIAN, "/language")
        assert {d for _, d in calls[-1].buttons()} == {"lg:en", "lg:zh_Hans"}
        calls = await h.press(PHYSICIAN, "lg:zh_Hans", message_id=calls[-1].message_id or 1)
        assert any("简体中文" in c.text for c in calls if c.method in ("sendMessage", "editMessageText"))
        chosen = h.audit(E.LANGUAGE_CHOSEN)
        assert [(e["actor_id"], e["payload"]) for e in chosen] == [(PHYSICIAN, {"lang": i18n.CHINESE})]
        calls = await h.say(PHYSICIAN, "12")  # the age: the next question is in Chinese
        assert chinese(calls), [c.text for c in calls]
        assert ref in calls[-1].text
    async with Harness(tmp_path) as h:  # a restart: the choice is the database's
        assert chinese(await h.say(PHYSICIAN, "/status"))
        sent = h.audit(E.MESSAGE_SENT)
        assert {e["payload"]["lang"] for e in sent} == {i18n.ENGLISH, i18n.CHINESE}
        assert sent[-1]["payload"]["lang"] == i18n.CHINESE
        result = rebuild.compare(h.db)
        assert result.ok, [rebuild.describe(d) for d in result.differences]
        assert result.checked["user_languages"] == 1
    assert h.db.conn is not None


async def test_the_choice_overrides_the_telegram_language_code(tmp_path):
    async with Harness(tmp_path) as h:
        assert chinese(await h.feed(_zh(message(PHYSICIAN, "/screen"))))
        await h.press(PHYSICIAN, "lg:en")
        calls = await h.feed(_zh(message(PHYSICIAN, "/status")))
        assert not any(CJK.search(c.text) for c in calls if c.method == "sendMessage")
        assert h.audit(E.MESSAGE_SENT)[-1]["payload"]["lang"] == i18n.ENGLISH


async def test_a_forged_language_is_refused_and_nothing_is_stored(tmp_path):
    async with Harness(tmp_path) as h:
        await h.press(PHYSICIAN, "lg:fr")
        assert not h.audit(E.LANGUAGE_CHOSEN)
        assert h.services.languages.of(PHYSICIAN) is None


async def test_coordinators_choose_their_language_too(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(COORDINATOR, "/language")
        assert any(d == "lg:zh_Hans" for _, d in calls[-1].buttons())
        await h.press(COORDINATOR, "lg:zh_Hans")
        assert h.services.languages.of(COORDINATOR) == i18n.CHINESE
        assert h.audit(E.LANGUAGE_CHOSEN)[-1]["actor_role"] == "coordinator"


def _menus(calls) -> list[tuple[int, str | None, dict[str, str]]]:
    out = []
    for c in calls:
        if c.method == "setMyCommands":
            cmds = {x["command"]: x["description"] for x in _json(c.params["commands"])}
            out.append((_json(c.params["scope"])["chat_id"], c.params.get("language_code"), cmds))
    return out


async def test_menus_are_set_per_language_with_translated_descriptions(tmp_path):
    async with Harness(tmp_path) as h:
        by = {(chat, code): cmds for chat, code, cmds in _menus(h.request.calls)}
        assert set(by) == {(PHYSICIAN, None), (PHYSICIAN, "zh"), (COORDINATOR, None), (COORDINATOR, "zh")}
        assert by[PHYSICIAN, None]["screen"] == menus.PHYSICIAN_MENU["screen"]
        assert "language" in by[PHYSICIAN, None] and "language" in by[COORDINATOR, None]
        for chat in (PHYSICIAN, COORDINATOR):
            zh = by[chat, "zh"]
            assert set(zh) == set(by[chat, None])
            assert all(CJK.search(d) for d in zh.values()), zh
        before = len(h.request.calls)
        await h.press(PHYSICIAN, "lg:zh_Hans")  # chosen: both menus in Chinese
        new = _menus(h.request.calls[before:])
        assert {code for _, code, _ in new} == {None, "zh"}
        assert all(chat == PHYSICIAN and CJK.search(cmds["screen"]) for chat, _, cmds in new)
    async with Harness(tmp_path) as h:  # at start, in the language chosen
        by = {(chat, code): cmds for chat, code, cmds in _menus(h.request.calls)}
        assert CJK.search(by[PHYSICIAN, None]["screen"]) and not CJK.search(by[COORDINATOR, None]["referrals"])


async def test_a_users_language_does_not_outlive_the_application(tmp_path):
    """What one application's updates said of a user's language is not carried into the next one (another bot,
    or a test's harness): the next starts from the user's choice or their own next update."""
    from bot import i18n

    i18n.remember(424242, i18n.CHINESE)
    assert i18n.lang_of(424242) == i18n.CHINESE
    async with Harness(tmp_path):
        assert i18n.lang_of(424242) == i18n.ENGLISH
    assert i18n.lang_of(424242) == i18n.ENGLISH


def _telegram_languages(h: Harness) -> list[tuple[int, str]]:
    return h.db.conn.execute("SELECT user_id, lang FROM telegram_languages ORDER BY user_id").fetchall()


async def test_a_job_after_a_restart_writes_in_the_language_the_users_telegram_gave(tmp_path):
    """A physician whose Telegram is Chinese and who never chose a language: after a restart on the same
    database, and before they send anything again, the idle reminder is in Chinese (telegram_languages)."""
    from datetime import UTC, datetime, timedelta

    from bot.telegram import reminders
    from conversations.records.reminders import parse_time

    class Clock:
        t = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

        def __call__(self) -> datetime:
            return self.t

    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        ref = ref_of(await h.feed(_zh(message(PHYSICIAN, "/screen"))))
        assert chinese(await h.feed(_zh(message(PHYSICIAN, "12"))))
        t0 = parse_time(h.services.store.get(ref).updated_at)
        assert h.services.languages.of(PHYSICIAN) is None, "never chosen"
        assert _telegram_languages(h) == [(PHYSICIAN, i18n.CHINESE)]
    async with Harness(tmp_path, clock=clock) as h:  # a restart: nothing in memory, the database remembers
        assert i18n.lang_of(PHYSICIAN) == i18n.CHINESE
        assert len(reminders.look(h.services, now=t0 + timedelta(hours=48))) == 1
        assert await h.deliver() == 0
        [sent] = [c for c in h.request.sent(PHYSICIAN) if ref in c.text]
        assert CJK.search(sent.text) and "is waiting for your next answer" not in sent.text, sent.text
        assert h.audit(E.MESSAGE_SENT)[-1]["payload"]["lang"] == i18n.CHINESE
        result = rebuild.compare(h.db)
        assert result.ok, [rebuild.describe(d) for d in result.differences]
        assert "telegram_languages" not in result.checked, "a cache, not proven state"
        assert not [e for e in h.audit(E.LANGUAGE_CHOSEN)], "nothing was chosen"


async def test_the_telegram_language_is_written_once_not_per_update_and_follows_a_change(tmp_path):
    async with Harness(tmp_path) as h:
        h.db.conn.execute("CREATE TEMP TABLE writes (n INTEGER)")
        h.db.conn.execute("CREATE TEMP TRIGGER w_ins AFTER INSERT ON main.telegram_languages"
                          " BEGIN INSERT INTO writes VALUES (1); END")
        h.db.conn.execute("CREATE TEMP TRIGGER w_upd AFTER UPDATE ON main.telegram_languages"
                          " BEGIN INSERT INTO writes VALUES (1); END")

        def writes() -> int:
            return h.db.conn.execute("SELECT count(*) FROM writes").fetchone()[0]

        ref_of(await h.feed(_zh(message(PHYSICIAN, "/screen"))))
        for text in ("12", "/status", "/summary"):
            await h.feed(_zh(message(PHYSICIAN, text)))
        assert writes() == 1 and _telegram_languages(h) == [(PHYSICIAN, i18n.CHINESE)]
        english = message(PHYSICIAN, "/status")  # their Telegram switched to English
        assert not chinese(await h.feed(english))
        await h.say(PHYSICIAN, "/status")
        assert writes() == 2 and _telegram_languages(h) == [(PHYSICIAN, i18n.ENGLISH)]
        assert i18n.lang_of(PHYSICIAN) == i18n.ENGLISH
        no_code = message(PHYSICIAN, "/status")
        del no_code["message"]["from"]["language_code"]  # Telegram said nothing: nothing changes
        await h.feed(no_code)
        assert writes() == 2
        stranger = _zh(message(31337, "/start"))
        await h.feed(stranger)
        assert [uid for uid, _ in _telegram_languages(h)] == [PHYSICIAN], "strangers' languages are not kept"


async def test_the_choice_overrides_the_stored_telegram_language_after_a_restart(tmp_path):
    async with Harness(tmp_path) as h:
        await h.feed(_zh(message(PHYSICIAN, "/screen")))
        press = callback(PHYSICIAN, "lg:en")
        press["callback_query"]["from"]["language_code"] = "zh-hans"
        await h.feed(press)
        assert _telegram_languages(h) == [(PHYSICIAN, i18n.CHINESE)]
        assert i18n.lang_of(PHYSICIAN) == i18n.ENGLISH
    async with Harness(tmp_path) as h:
        assert i18n.lang_of(PHYSICIAN) == i18n.ENGLISH, "the choice first"
        assert not chinese(await h.feed(_zh(message(PHYSICIAN, "/status"))))


async def test_a_closed_store_keeps_no_language_and_breaks_nothing(tmp_path):
    from bot.telegram import languages

    async with Harness(tmp_path) as h:
        services = h.services
        await h.feed(_zh(message(PHYSICIAN, "/screen")))
    languages.keep_telegram_language(services, PHYSICIAN, "en")  # the store closed: a warning at most
    assert i18n.lang_of(PHYSICIAN) == i18n.ENGLISH, "nothing of the closed store is read"
