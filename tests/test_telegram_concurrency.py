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

import pytest
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
        # (Their questions wait behind the stalled send, so they step by command: a typed answer would
        # be for a question not yet on their phone.)
        others = [await put(h, message(OTHER, "/screen")), await put(h, message(OTHER, "/skip"))]
        await until(lambda: all(processed(h, u) for u in others), "the other physician's updates")
        other_ref = h.db.conn.execute("SELECT referral_id FROM prescreens WHERE owner_id = ?",
                                      (OTHER,)).fetchone()[0]
        assert [e.q for e in h.services.store.load(other_ref).history] == ["age_years"]
        assert processed(h, answer) and [e.q for e in h.services.store.load(ref).history] == ["age_years"]
        stall.set()
        await until(lambda: len(questions_to(h, PHYSICIAN)) == 2 and len(questions_to(h, OTHER)) == 2,
                    "both second questions")
        assert h.services.outbox.pending() == []


def question_call(h: Harness, chat_id: int):
    """The last question delivered to the chat (its message ID is the one Telegram gave it)."""
    return next(c for c in reversed(h.request.sent(chat_id)) if "· question" in c.text)


async def test_updates_of_one_physician_apply_in_arrival_order(tmp_path):
    async with running(tmp_path) as h:
        ref = await screening(h, PHYSICIAN)
        # Typed faster than the bot answers, all in front of the first question: the age, then the sex
        # (for a question not yet on the phone), /back, and the age again (/back asks it anew).
        typed = [message(PHYSICIAN, text) for text in ["12", "female", "/back", "13"]]
        ids = [await put(h, u) for u in typed]
        await until(lambda: all(processed(h, u) for u in ids), "the four updates")
        assert h.services.store.load(ref).history == [], "12 applied, then taken back; the rest refused"
        accepted = [e["payload"]["question"] for e in h.audit("answer_accepted")]
        withdrawn = [e["payload"]["question"] for e in h.audit("answer_withdrawn")]
        assert (accepted, withdrawn) == (["age_years"], ["age_years"])
        received = [e["payload"]["update_id"] for e in h.audit("update_received")]
        assert received[-4:] == ids
        said = "\n".join(c.text for c in h.request.sent(PHYSICIAN))
        assert said.count("written before the question below reached you") == 2


@pytest.mark.parametrize("tap_first", [True, False], ids=["tap-first", "typed-first"])
async def test_a_tap_and_a_typed_answer_at_once_answer_only_the_question_on_screen(tmp_path, tap_first):
    """The physician taps "No" on the menarche question and types "no" at the same moment (issue 13): the
    tap brings the exclusion checklist, which the typed "no" must never answer."""
    async with running(tmp_path) as h:
        ref = await screening(h, PHYSICIAN)
        await put(h, message(PHYSICIAN, "12"))
        await until(lambda: len(questions_to(h, PHYSICIAN)) == 2, "the sex question")
        await put(h, callback(PHYSICIAN, question_call(h, PHYSICIAN).button("female")))
        await until(lambda: len(questions_to(h, PHYSICIAN)) == 3, "the menarche question")
        menarche = question_call(h, PHYSICIAN)
        assert "menarche" in menarche.text.lower() or "childbearing" in menarche.text.lower()
        assert h.services.store.load(ref).current == "childbearing_potential"
        tap = callback(PHYSICIAN, menarche.button("No"), message_id=menarche.message_id)
        typed = message(PHYSICIAN, "no")  # typed in front of the menarche question, as the tap was made
        ids = [await put(h, u) for u in ((tap, typed) if tap_first else (typed, tap))]
        await until(lambda: all(processed(h, u) for u in ids), "both updates")
        state = h.services.store.load(ref)
        assert [(e.q, e.value) for e in state.history] == [
            ("age_years", 12), ("sex", "female"), ("childbearing_potential", False)]
        assert state.current == "exclusion_checklist", "the checklist is asked, not answered"
        accepted = [e["payload"]["question"] for e in h.audit("answer_accepted")]
        assert accepted.count("childbearing_potential") == 1 and "exclusion_checklist" not in accepted
        said = "\n".join(c.text for c in h.request.sent(PHYSICIAN))
        note = ("written before the question below reached you" if tap_first
                else "belongs to an earlier question")
        assert note in said or any(note in (a.params.get("text") or "") for a in h.request.answers())


async def test_an_answer_typed_before_its_question_arrived_changes_nothing(tmp_path):
    async with running(tmp_path) as h:
        ref = await screening(h, PHYSICIAN)
        stall = h.request.stalls[PHYSICIAN] = asyncio.Event()
        await put(h, message(PHYSICIAN, "12"))
        await until(lambda: len(h.request.sent(PHYSICIAN)) == 2, "the sex question, stalled at Telegram")
        # The sex question has not reached the phone: a "female" now was typed in front of the age question.
        early = await put(h, message(PHYSICIAN, "female"))
        await until(lambda: processed(h, early), "the early answer")
        assert [e.q for e in h.services.store.load(ref).history] == ["age_years"]
        stall.set()
        await until(lambda: h.services.outbox.pending() == [], "the replies")
        assert "written before the question below reached you" in h.request.sent(PHYSICIAN)[-1].text
        # Typed once the question arrived, the same answer applies.
        late = await put(h, message(PHYSICIAN, "female"))
        await until(lambda: processed(h, late), "the answer")
        assert [e.q for e in h.services.store.load(ref).history] == ["age_years", "sex"]


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
