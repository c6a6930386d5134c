"""The running Application handles several updates at once: a coordinator's export or a send that waits
on Telegram holds up no physician, and steps still apply in arrival order, each exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram_harness import COORDINATOR, PHYSICIAN, Harness, callback, message, ref_of

from bot.telegram import coordinator

OTHER = 1002


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **kw: Any) -> AsyncIterator[Harness]:
    """The application started as ``screening-bot run`` starts it: updates go through its queue."""
    async with Harness(tmp_path, **kw) as h:
        await h.app.start()
        try:
            yield h
        finally:
            for event in h.request.stalls.values():
                event.set()
            await h.app.stop()


async def screening(h: Harness, uid: int) -> str:
    """A pre-screen started by ``uid``, its first question on screen; its referral ID."""
    await put(h, message(uid, "/screen"))
    await until(lambda: questions_to(h, uid), "the first question")
    return ref_of(h.request.sent(uid))


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def put(h: Harness, update: dict) -> int:
    """Hand an update to the running application, as polling or the webhook does."""
    await h.app.update_queue.put(Update.de_json(update, h.app.bot))
    return update["update_id"]


def processed(h: Harness, update_id: int) -> bool:
    return h.services.inbox.is_processed(update_id)


def questions_to(h: Harness, chat_id: int) -> list[str]:
    return [c.text for c in h.request.sent(chat_id) if "· question" in c.text]


async def test_an_export_in_progress_holds_up_no_physician(tmp_path, monkeypatch):
    release = threading.Event()
    original = coordinator._export

    def slow_export(*args):
        assert release.wait(10), "the physician was never served"
        return original(*args)

    monkeypatch.setattr(coordinator, "_export", slow_export)
    try:
        async with running(tmp_path) as h:
            export = await put(h, message(COORDINATOR, "/export"))
            await until(lambda: processed(h, export), "the /export update")
            await screening(h, PHYSICIAN)
            assert not h.request.sent(COORDINATOR, "sendDocument"), "the export finished first"
            release.set()
            await until(lambda: h.request.sent(COORDINATOR, "sendDocument"), "the export document")
    finally:
        release.set()


async def test_a_stalled_send_holds_up_no_step(tmp_path):
    async with running(tmp_path, physicians=(PHYSICIAN, OTHER)) as h:
        ref = await screening(h, PHYSICIAN)
        stall = h.request.stalls[PHYSICIAN] = asyncio.Event()
        answer = await put(h, message(PHYSICIAN, "12"))
        # The reply to the age hangs at Telegram; the other physician's steps go on meanwhile.
        await until(lambda: len(h.request.sent(PHYSICIAN)) == 2, "the stalled send")
        others = [await put(h, message(OTHER, "/screen")), await put(h, message(OTHER, "12"))]
        await until(lambda: all(processed(h, u) for u in others), "the other physician's updates")
        other_ref = h.db.conn.execute("SELECT referral_id FROM prescreens WHERE owner_id = ?",
                                      (OTHER,)).fetchone()[0]
        assert [e.q for e in h.services.store.load(other_ref).history] == ["age_years"]
        assert processed(h, answer) and [e.q for e in h.services.store.load(ref).history] == ["age_years"]
        stall.set()
        await until(lambda: len(questions_to(h, PHYSICIAN)) == 2 and len(questions_to(h, OTHER)) == 2,
                    "both second questions")
        assert h.services.outbox.pending() == []


async def test_updates_of_one_physician_apply_in_arrival_order(tmp_path):
    async with running(tmp_path) as h:
        ref = await screening(h, PHYSICIAN)
        # Typed faster than the bot answers: age, sex, then /back and a new sex, all queued at once.
        ids = [await put(h, u) for u in (message(PHYSICIAN, "12"), message(PHYSICIAN, "female"),
                                          message(PHYSICIAN, "/back"), message(PHYSICIAN, "male"))]
        await until(lambda: all(processed(h, u) for u in ids), "the four updates")
        state = h.services.store.load(ref)
        assert [(e.q, e.value) for e in state.history] == [("age_years", 12), ("sex", "male")]
        received = [e["payload"]["update_id"] for e in h.audit("update_received")]
        assert received[-4:] == ids


async def test_a_button_pressed_twice_at_once_applies_once(tmp_path):
    async with running(tmp_path) as h:
        ref = await screening(h, PHYSICIAN)
        await put(h, message(PHYSICIAN, "12"))
        await until(lambda: len(questions_to(h, PHYSICIAN)) == 2, "the sex question")
        sex = h.request.sent(PHYSICIAN)[-1]
        press = callback(PHYSICIAN, sex.button("female"))
        twice = [await put(h, press), await put(h, {**press, "update_id": press["update_id"] + 10_000})]
        await until(lambda: all(processed(h, u) for u in twice), "both presses")
        assert [e.q for e in h.services.store.load(ref).history] == ["age_years", "sex"]
