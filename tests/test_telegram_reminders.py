"""Reminders that survive restarts (#15), with a controlled clock: an idle pre-screen reminds its physician
after 48 hours, once, again after 7 days, then never (unless it moves or a reminder is snoozed), across
restarts; its buttons continue, snooze and cancel (asking first); coordinators get one digest a UTC day of
referrals waiting more than two working days. And a SIGKILL between the job's commit and the delivery, or
around the send: the reminder is delivered after the restart, and made once."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import steps
from fake_bot_api import FakeBotAPI
from live_bot import COORDINATORS, LiveBot
from live_bot import PHYSICIAN as LIVE_PHYSICIAN
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end, texts

from bot.settings import Settings
from bot.telegram import reminders
from conversations.dialogue import engine
from conversations.dialogue.events import E
from conversations.records import audit, rebuild
from conversations.records import reminders as due
from conversations.records.registry import Registry
from conversations.records.reminders import add_working_days, next_due, parse_time, working_days
from conversations.records.store import Store

SECOND = 9002
H = timedelta(hours=1)
THURSDAY = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # 2026-12-03 is a Thursday


class Clock:
    """The registry's clock, moved by the test."""

    def __init__(self, t: datetime | None = None) -> None:
        self.t = t or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.t


def reminder_rows(db, chat: int = PHYSICIAN) -> list[tuple[str, str, str]]:
    return db.conn.execute("SELECT key, text, markup FROM telegram_outbox WHERE chat_id = ? AND key LIKE 'remind:%'"
                           " ORDER BY id", (chat,)).fetchall()


def events(h: Harness, type_: str) -> list[dict]:
    return [e["payload"] for e in h.audit(type_)]


def buttons(markup: str) -> list[str]:
    return [b["callback_data"] for row in json.loads(markup)["inline_keyboard"] for b in row]


async def idle_prescreen(h: Harness) -> tuple[str, datetime]:
    """A pre-screen of PHYSICIAN with one answer; (its ID, the time of its last change)."""
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await h.say(PHYSICIAN, "12")
    return ref, parse_time(h.services.store.get(ref).updated_at)


# ---- the decision, pure --------------------------------------------------------------------------------


def test_next_due_first_after_48_hours_again_after_7_days_then_never():
    t0 = THURSDAY
    assert next_due(t0, [], []) == (t0 + 48 * H, "idle")
    assert next_due(t0, [(t0 + 50 * H, "idle")], []) == (t0 + timedelta(days=7), "again")
    assert next_due(t0, [(t0 + 50 * H, "idle"), (t0 + timedelta(days=7), "again")], []) is None
    # a snooze since the last reminder asks for its own time; after it the schedule goes on
    snoozed = [(t0 + 50 * H, "idle")], [(t0 + 51 * H, t0 + 99 * H)]
    assert next_due(t0, *snoozed) == (t0 + 99 * H, "snoozed")
    sent = [(t0 + 50 * H, "idle"), (t0 + 99 * H, "snoozed")]
    assert next_due(t0, sent, snoozed[1]) == (t0 + timedelta(days=7), "again")
    # snoozed late: the second comes no sooner than 48 hours after the snoozed one
    late = [(t0 + 50 * H, "idle"), (t0 + 8 * 24 * H, "snoozed")]
    assert next_due(t0, late, [(t0 + 6 * 24 * H, t0 + 8 * 24 * H)]) == (t0 + 10 * 24 * H, "again")
    # a snooze of the last reminder gives one more, then none
    two = [(t0 + 50 * H, "idle"), (t0 + 7 * 24 * H, "again")]
    assert next_due(t0, two, [(t0 + 7 * 24 * H + H, t0 + 9 * 24 * H + H)]) == (t0 + 9 * 24 * H + H, "snoozed")
    assert next_due(t0, [*two, (t0 + 9 * 24 * H + H, "snoozed")], [(t0 + 7 * 24 * H + H, t0 + 9 * 24 * H + H)]) is None


def test_working_days_skip_the_weekend():
    friday = THURSDAY + timedelta(days=1)
    assert add_working_days(THURSDAY, 1) == friday
    assert add_working_days(THURSDAY, 2) == THURSDAY + timedelta(days=4)  # Monday 10:00
    assert add_working_days(friday, 2) == friday + timedelta(days=4)  # Tuesday 10:00
    saturday = THURSDAY + timedelta(days=2, hours=5)
    assert add_working_days(saturday, 0) == datetime(2026, 12, 7, tzinfo=UTC)  # from the Monday
    assert add_working_days(saturday, 2) == datetime(2026, 12, 9, tzinfo=UTC)
    assert working_days(THURSDAY, THURSDAY + timedelta(days=4)) == 2
    assert working_days(THURSDAY, THURSDAY + timedelta(days=4) - timedelta(seconds=1)) == 1
    assert working_days(friday, friday + timedelta(days=3)) == 1  # Friday to Monday


def test_the_idle_time_is_a_setting():
    assert Settings(_env_file=None).reminder_idle_hours == 48
    fast = Settings(_env_file=None, SCREENING_REMINDER_IDLE_HOURS="0.0003")
    assert reminders.interval(fast) == 1.0 and reminders.interval(Settings(_env_file=None)) == 600.0
    assert Settings(_env_file=None, SCREENING_REMINDER_IDLE_HOURS="").reminder_idle_hours == 48
    with pytest.raises(ValueError):
        Settings(_env_file=None, SCREENING_REMINDER_IDLE_HOURS="0")
    assert "SCREENING_REMINDER_IDLE_HOURS=" in (Path(__file__).parents[1] / ".env.example").read_text()


def test_the_buttons_data_is_short_and_parsed_defensively():
    markup = reminders.keyboard("R-7KQ2-9XPM", 123456789012)
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == [f"w:R-7KQ2-9XPM:123456789012:{x}" for x in "czx"]
    assert all(len(d.encode()) <= 64 for d in data)
    assert reminders.parse(data[1]) == ("R-7KQ2-9XPM", 123456789012, "z")
    for bad in ("w:R-7KQ2-9XPM:12:q", "w:R-7KQ2-9XPM:x:c", "w:R-7KQ2-9XPM:12", "w:R 7:1:c", "", None,
                "w:R-7KQ2-9XPM:1234567890123:c"):
        assert reminders.parse(bad) is None


# ---- the physician's reminders -------------------------------------------------------------------------


async def test_48_hours_once_across_a_restart_then_7_days_then_never(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        ref, t0 = await idle_prescreen(h)
        assert reminders.look(h.services, now=t0 + 47 * H) == []
        assert reminders.look(h.services, now=t0 + 48 * H - timedelta(seconds=1)) == []
        keys = reminders.look(h.services, now=t0 + 48 * H)
        assert keys == [f"remind:{ref}:1:{h.services.store.get(ref).updated_at}"]
        assert reminders.look(h.services, now=t0 + 48 * H) == []  # a second look
        assert reminders.look(h.services, now=t0 + 60 * H) == []
        assert await h.deliver() == 0
        sent = [c for c in h.request.sent(PHYSICIAN) if "is waiting for your next answer" in c.text]
        assert len(sent) == 1 and ref in sent[0].text
        assert [d for _, d in sent[0].buttons()][0].startswith(f"w:{ref}:")
        [ev] = h.audit(E.REMINDER_SENT)
        assert ev["referral_id"] == ref and ev["actor_role"] == "system"
        assert ev["payload"] == {"since": h.services.store.get(ref).updated_at, "number": 1, "kind": "idle",
                                 "chat_id": PHYSICIAN}
    # a restart on the same database: the trail says it was sent
    async with Harness(tmp_path, clock=clock) as h:
        assert reminders.look(h.services, now=t0 + 72 * H) == []
        assert reminders.look(h.services, now=t0 + 7 * 24 * H - H) == []
        assert len(reminders.look(h.services, now=t0 + 7 * 24 * H)) == 1
        assert await h.deliver() == 0
        [again] = [c.text for c in h.request.sent(PHYSICIAN) if "is still open" in c.text]
        assert "last reminder" in again
    async with Harness(tmp_path, clock=clock) as h:
        for days in (8, 15, 60, 400):
            assert reminders.look(h.services, now=t0 + days * 24 * H) == []
        assert [p["number"] for p in events(h, E.REMINDER_SENT)] == [1, 2]
        assert [p["kind"] for p in events(h, E.REMINDER_SENT)] == ["idle", "again"]
        assert len(reminder_rows(h.db)) == 2
        assert rebuild.compare(h.db).differences == []


async def test_a_prescreen_that_moves_starts_over(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        assert len(reminders.look(h.services, now=t0 + 49 * H)) == 1
        await h.deliver()
        await h.say(PHYSICIAN, "female")  # the next answer: a new change
        t1 = parse_time(h.services.store.get(ref).updated_at)
        assert t1 > t0
        assert reminders.look(h.services, now=t1 + 47 * H) == []
        assert len(reminders.look(h.services, now=t1 + 48 * H)) == 1
        assert [p["number"] for p in events(h, E.REMINDER_SENT)] == [1, 1]


async def test_only_open_telegram_prescreens_of_physicians_remind(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        with h.services.store.transaction():  # a terminal pre-screen, as `chat` leaves it
            h.services.store.start("physician", PHYSICIAN, channel="terminal")
        done = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, done, {k: "unknown" for k in ELIGIBLE} | {"age_years": "12"})
        assert h.services.store.get(done).phase == "done"
        keys = reminders.look(h.services, now=t0 + 100 * 24 * H)
        assert [k.split(":")[1] for k in keys] == [ref]


async def test_a_revoked_physician_is_not_reminded(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        with h.services.store.transaction():
            h.services.registry.revoke(PHYSICIAN, COORDINATOR, h.services.settings.physician_ids)
        assert not h.services.registry.is_physician(PHYSICIAN, h.services.settings.physician_ids)
        assert reminders.look(h.services, now=t0 + 48 * H) == []
        assert events(h, E.REMINDER_SENT) == []


async def test_snooze_moves_the_next_reminder_48_hours_from_the_tap(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        ref, t0 = await idle_prescreen(h)
        reminders.look(h.services, now=t0 + 48 * H)
        await h.deliver()
        [(_, _, markup)] = reminder_rows(h.db)
        snooze = buttons(markup)[1]
        assert snooze.endswith(":z")
        clock.t = t0 + 50 * H
        calls = await h.press(PHYSICIAN, snooze, message_id=77)
        [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
        assert "I will remind you again on" in answer.params.get("text", "")
        [edit] = [c for c in calls if c.method == "editMessageText"]
        assert int(edit.params["message_id"]) == 77 and "I will remind you again" in edit.text
        [snoozed] = events(h, E.REMINDER_SNOOZED)
        assert parse_time(snoozed["until"]) == t0 + 98 * H
        assert snoozed["reminder_seq"] == h.audit(E.REMINDER_SENT)[0]["seq"]
        assert reminders.look(h.services, now=t0 + 98 * H - timedelta(seconds=1)) == []
        assert len(reminders.look(h.services, now=t0 + 98 * H)) == 1
        assert reminders.look(h.services, now=t0 + 120 * H) == []
        await h.deliver()
        assert any("As you asked, a reminder" in t for t in texts(h.request.sent(PHYSICIAN)))
        # the 7-day one still comes, once
        assert len(reminders.look(h.services, now=t0 + 7 * 24 * H)) == 1
        assert reminders.look(h.services, now=t0 + 30 * 24 * H) == []
        assert [p["kind"] for p in events(h, E.REMINDER_SENT)] == ["idle", "snoozed", "again"]
    async with Harness(tmp_path, clock=clock) as h:  # the snooze is in the trail, not in memory
        assert reminders.look(h.services, now=t0 + 31 * 24 * H) == []


async def test_snooze_after_the_prescreen_moved_changes_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        reminders.look(h.services, now=t0 + 48 * H)
        await h.deliver()
        [(_, _, markup)] = reminder_rows(h.db)
        await h.say(PHYSICIAN, "female")
        calls = await h.press(PHYSICIAN, buttons(markup)[1])
        [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
        assert "has changed since the reminder" in answer.params.get("text", "")
        assert events(h, E.REMINDER_SNOOZED) == []


async def test_continue_shows_the_current_question_again(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        reminders.look(h.services, now=t0 + 48 * H)
        await h.deliver()
        [(_, _, markup)] = reminder_rows(h.db)
        q = engine.current_question(h.services.store.load(ref))
        calls = await h.press(PHYSICIAN, buttons(markup)[0])
        shown = [c for c in calls if c.method == "sendMessage" and q.text in c.text]
        assert len(shown) == 1 and f"question {q.number} of at most" in shown[0].text
        assert any(d.startswith(f"a:{ref}:{q.seq}:") for _, d in shown[0].buttons())
        # continuing is no answer: the 7-day reminder still comes
        assert len(reminders.look(h.services, now=t0 + 7 * 24 * H)) == 1


async def test_cancel_asks_first_then_cancels_through_the_engine(tmp_path):
    async with Harness(tmp_path) as h:
        ref, t0 = await idle_prescreen(h)
        reminders.look(h.services, now=t0 + 48 * H)
        await h.deliver()
        [(_, _, markup)] = reminder_rows(h.db)
        cancel = buttons(markup)[2]
        calls = await h.press(PHYSICIAN, cancel)
        [ask] = [c for c in calls if c.method == "sendMessage"]
        assert f"Cancel {ref}?" in ask.text.replace("<b>", "").replace("</b>", "")
        assert h.services.store.get(ref).phase == "asking", "asking changes nothing"
        yes, no = [d for _, d in ask.buttons()]
        assert yes.endswith(":y") and no.endswith(":c")
        calls = await h.press(PHYSICIAN, yes)
        assert h.services.store.get(ref).phase == "cancelled"
        assert any("cancelled. Nothing was sent" in t for t in texts(calls))
        assert len(h.audit(E.PRESCREEN_CANCELLED)) == 1
        # again: the engine refuses, nothing changes
        await h.press(PHYSICIAN, yes)
        assert len(h.audit(E.PRESCREEN_CANCELLED)) == 1
        calls = await h.press(PHYSICIAN, cancel)
        assert [c for c in calls if c.method == "sendMessage"] == []
        assert reminders.look(h.services, now=t0 + 30 * 24 * H) == []
        assert rebuild.compare(h.db).differences == []


async def test_a_reminders_buttons_are_its_physicians_only(tmp_path):
    async with Harness(tmp_path, physicians=(PHYSICIAN, 1002)) as h:
        ref, t0 = await idle_prescreen(h)
        reminders.look(h.services, now=t0 + 48 * H)
        await h.deliver()
        [(_, _, markup)] = reminder_rows(h.db)
        for data in buttons(markup):
            calls = await h.press(1002, data)
            [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
            assert "does not belong" in answer.params.get("text", "")
        calls = await h.press(PHYSICIAN, f"w:{ref}:1:q")
        assert "not valid" in [c for c in calls if c.method == "answerCallbackQuery"][0].params.get("text", "")
        assert h.services.store.get(ref).phase == "asking" and events(h, E.REMINDER_SNOOZED) == []


# ---- the coordinators' digest --------------------------------------------------------------------------


async def referred(h: Harness, clock: Clock, at: datetime) -> str:
    clock.t = at
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await run_to_end(h, ref, ELIGIBLE)
    await h.press(PHYSICIAN, f"s:{ref}")
    assert h.services.registry.referral(ref).last_sent_at.startswith(at.date().isoformat())
    return ref


def digests(h: Harness, chat: int) -> list[str]:
    return [t for t in texts(h.request.sent(chat)) if "Referrals waiting for a decision" in t]


async def test_the_digest_once_a_day_per_coordinator_counting_working_days(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND), clock=clock) as h:
        ref = await referred(h, clock, THURSDAY)
        for at in (THURSDAY + 26 * H, THURSDAY + 2 * 24 * H, THURSDAY + 3 * 24 * H + 23 * H):  # Fri, Sat, Sun
            assert reminders.look(h.services, now=at) == []
        monday = THURSDAY + timedelta(days=4)  # Monday 10:00: two working days exactly, not more
        assert reminders.look(h.services, now=monday - H) == []
        assert reminders.look(h.services, now=monday) == []
        keys = reminders.look(h.services, now=monday + H)
        assert keys == [f"digest:2026-12-07:{COORDINATOR}", f"digest:2026-12-07:{SECOND}"]
        assert reminders.look(h.services, now=monday + 12 * H) == []  # the same UTC day
        assert await h.deliver() == 0
        for chat in (COORDINATOR, SECOND):
            [text] = digests(h, chat)
            assert ref in text and "2 working days ago" in text and "Thu 3 Dec 2026, 10:00" in text
        assert [p["chat_id"] for p in events(h, E.DIGEST_SENT)] == [COORDINATOR, SECOND]
        assert events(h, E.DIGEST_SENT)[0] == {"day": "2026-12-07", "chat_id": COORDINATOR, "referrals": [ref]}
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND), clock=clock) as h:  # a restart
        assert reminders.look(h.services, now=THURSDAY + timedelta(days=4, hours=13)) == []
        tuesday = reminders.look(h.services, now=THURSDAY + timedelta(days=5))
        assert len(tuesday) == 2
        await h.deliver()
        assert all("3 working days ago" in digests(h, c)[0] for c in (COORDINATOR, SECOND))
        assert rebuild.compare(h.db).differences == []
        # decided: no longer waiting, no digest
        with h.services.store.transaction():
            h.services.registry.decide(ref, 1, COORDINATOR, "accept")
        assert reminders.look(h.services, now=THURSDAY + timedelta(days=6)) == []


async def test_need_info_keeps_a_referral_waiting(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        ref = await referred(h, clock, THURSDAY)
        with h.services.store.transaction():
            h.services.registry.decide(ref, 1, COORDINATOR, "need_info")
        [w] = due.waiting(h.db, THURSDAY + timedelta(days=6))
        assert (w.referral_id, w.status, w.working_days) == (ref, "need_info", 4)
        assert len(reminders.look(h.services, now=THURSDAY + timedelta(days=6))) == 1
        await h.deliver()
        assert "more information asked for" in digests(h, COORDINATOR)[0]


# ---- a kill between the commit and the delivery, and around the send -----------------------------------


@pytest.fixture(scope="module")
def idle_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database holding a Telegram pre-screen of the live bot's physician, asking, with one answer."""
    path = tmp_path_factory.mktemp("idle") / "screening.db"
    store = Store.open(path)
    ref = steps.start(store, "physician", LIVE_PHYSICIAN, channel="telegram").referral_id
    steps.apply(store, ref, engine.Answer("12"), "physician", LIVE_PHYSICIAN)
    # and a referral sent ten days ago, waiting for a decision: the coordinators' digest is due
    waiting = steps.start(store, "physician", LIVE_PHYSICIAN, channel="telegram").referral_id
    while store.load(waiting).phase == "asking":
        steps.apply(store, waiting, engine.Answer("unknown"), "physician", LIVE_PHYSICIAN)
    registry = Registry(store.db, lambda: datetime.now(UTC) - timedelta(days=10))
    with store.transaction() as db:
        res = store.apply(waiting, engine.Command("send"), "physician", LIVE_PHYSICIAN)
        outcome = next(o for o in res.outputs if isinstance(o, engine.ReadyToSend)).outcome
        sent = registry.record_sent(waiting, LIVE_PHYSICIAN, outcome.status, outcome.protocol_version)
        store.apply(waiting, engine.Sent(sent.sends), "physician", LIVE_PHYSICIAN)
        audit.append(db, actor_role="physician", actor_id=LIVE_PHYSICIAN, type=E.REFERRAL_SENT, referral_id=waiting,
                     ts=sent.last_sent_at, payload={"send_no": 1, "outcome_status": outcome.status,
                                                    "protocol_version": outcome.protocol_version,
                                                    "criteria": outcome.criteria, "coordinators": list(COORDINATORS)})
    store.close()
    time.sleep(1.2)  # idle for longer than the live bot's idle time: both are due at its first look
    return path, ref


# SCREENING_FAULT: (duplicates of the reminder, of the first coordinator's digest) expected. A message Telegram
# took before its mark was written is sent again, as every message; the reminder and the digests go out in one
# delivery round (the reminder first), so a kill after a digest was taken sends the reminder again too.
KILLS = {"job_committed:1:remind:": (0, 0), "before_send:1:remind:": (0, 0), "after_send:1:remind:": (1, 0),
         "job_committed:1:digest:": (0, 0), "after_send:1:digest:": (1, 1)}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(KILLS))
def test_kill_around_a_reminder(fault: str, idle_db: tuple[Path, str], tmp_path: Path) -> None:
    shutil.copy(idle_db[0], tmp_path / "screening.db")
    ref = idle_db[1]
    api = FakeBotAPI()
    api.start()
    bot = LiveBot(api, tmp_path)
    bot.env = {"SCREENING_REMINDER_IDLE_HOURS": "0.0003"}  # about a second; looks every second
    coordinator = COORDINATORS[0]

    def done() -> bool:
        return (bot.kills == 1 and bool(bot.events(E.REMINDER_SENT)) and len(bot.events(E.DIGEST_SENT)) == 2
                and bot.all_sent() and any(REMINDED in c.text for c in api.sent(LIVE_PHYSICIAN))
                and any(DIGEST in c.text for c in api.sent(coordinator)))

    try:
        bot.start(fault)
        bot.wait(done, "the reminder and the digests after the restart", timeout=40)
        assert bot.stop() == 0
    finally:
        bot.cleanup()
        api.stop()
    assert bot.kills == 1, "the fault fired once"
    [made] = bot.events(E.REMINDER_SENT)
    assert made["number"] == 1 and made["kind"] == "idle"
    assert sorted(e["chat_id"] for e in bot.events(E.DIGEST_SENT)) == sorted(COORDINATORS)
    reminded = [c.text for c in api.sent(LIVE_PHYSICIAN) if REMINDED in c.text]
    digested = [c.text for c in api.sent(coordinator) if DIGEST in c.text]
    dup_reminder, dup_digest = KILLS[fault]
    assert len(reminded) == 1 + dup_reminder and all(ref in t for t in reminded)
    assert len(digested) == 1 + dup_digest
    bot.check_deliveries(LIVE_PHYSICIAN, dup_reminder)
    bot.check_deliveries(coordinator, dup_digest)
    assert bot.verify().ok


REMINDED = "waiting for your next answer"
DIGEST = "Referrals waiting for a decision"
