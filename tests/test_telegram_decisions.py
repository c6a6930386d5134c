"""Decisions with reasons (issue 15): Accept / Need information / Decline each ask for confirmation; need
information asks which items (the referral's missing and pending ones) and the physician gets a button that
reopens the pre-screen at exactly those; decline asks a reason; a note is checked for identifiers; the
coordinator who decided may undo it for 10 minutes; decided and superseded summaries lose their buttons;
every decision, reason, items list and undo is an audit event, and the log counts every decision made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

from conversations.records import rebuild
from conversations.records.screening_log import render_text, screening_log

SECOND = 9002
INCOMPLETE = {**ELIGIBLE, "lvef_percent": "unknown", "apheresis_suitable": "unknown"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def referred(h: Harness, answers: dict[str, str] = ELIGIBLE) -> str:
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await run_to_end(h, ref, answers)
    await h.press(PHYSICIAN, f"s:{ref}")
    return ref


def summary_id(h: Harness, ref: str, send_no: int, cid: int = COORDINATOR) -> int:
    return h.db.conn.execute("SELECT message_id FROM telegram_outbox WHERE key = ?",
                             (f"summary:{ref}:{send_no}:{cid}",)).fetchone()[0]


def edits_of(calls: list, message_id: int, chat_id: int = COORDINATOR) -> list:
    return [c for c in calls if c.method == "editMessageText" and c.chat_id == chat_id
            and int(c.params["message_id"]) == message_id]


def toasts(calls: list) -> list[str]:
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


def to(calls: list, chat_id: int) -> list:
    return [c for c in calls if c.method == "sendMessage" and c.chat_id == chat_id]


def sound(h: Harness) -> None:
    result = rebuild.compare(h.db)
    assert result.ok, [rebuild.describe(d) for d in result.differences]


async def test_a_decision_is_confirmed_first_and_then_the_summary_loses_its_buttons(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND)) as h:
        ref = await referred(h)
        calls = await h.press(COORDINATOR, f"d:{ref}:1:a", message_id=summary_id(h, ref, 1))
        [ask] = to(calls, COORDINATOR)
        assert "Accept referral" in ask.text and ref in ask.text
        assert ask.buttons() == [("✅ Yes, accept", f"dc:{ref}:1:y"), ("Cancel", f"dc:{ref}:1:n")]
        assert all(len(d.encode()) <= 64 for _, d in ask.buttons())
        assert not h.audit("coordinator_decision") and h.services.registry.referral(ref).status == "sent"
        assert not to(calls, PHYSICIAN), "nothing is said to the physician before the confirmation"

        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        assert toasts(calls) == ["Recorded: accepted."]
        [decision] = h.audit("coordinator_decision")
        assert decision["payload"] == {"decision": "accept", "send_no": 1, "reason_code": None, "reason": "",
                                       "items": [], "decision_id": 1}
        assert h.services.registry.referral(ref).status == "accepted"
        [done] = edits_of(calls, ask.message_id)
        assert "Recorded" in done.text and done.buttons() == [("↩ Undo", "du:1")]
        for cid in (COORDINATOR, SECOND):  # every coordinator's summary loses its buttons
            [stripped] = edits_of(calls, summary_id(h, ref, 1, cid), cid)
            assert stripped.buttons() == [] and f"Referral {ref}" in stripped.text
        assert any("accepted this referral" in c.text for c in to(calls, PHYSICIAN))
        assert any(f"{ref}</b>: accepted by <code>{COORDINATOR}</code>" in c.text for c in to(calls, SECOND))
        sound(h)


async def test_a_confirmation_can_be_cancelled_and_is_then_closed(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.press(COORDINATOR, f"d:{ref}:1:d")
        [ask] = to(calls, COORDINATOR)
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:n", message_id=ask.message_id)
        [cancelled] = edits_of(calls, ask.message_id)
        assert "Nothing was decided" in cancelled.text and cancelled.buttons() == []
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        assert toasts(calls) == ["This confirmation is no longer open; tap the decision on the summary again."]
        assert not h.audit("coordinator_decision") and h.services.registry.referral(ref).status == "sent"
        assert not h.db.conn.execute("SELECT count(*) FROM decision_drafts").fetchone()[0]


async def test_decline_asks_a_reason_and_the_physician_receives_it(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.press(COORDINATOR, f"d:{ref}:1:d")
        [ask] = to(calls, COORDINATOR)
        labels = [label for label, _ in ask.buttons()]
        assert any("outside the age range" in x for x in labels) and any("not refractory" in x for x in labels)
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        assert toasts(calls) == ["Please choose a reason first."] and not h.audit("coordinator_decision")
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:r1", message_id=ask.message_id)
        [chosen] = edits_of(calls, ask.message_id)
        assert "Reason: the disease is not refractory." in chosen.text
        calls = await h.say(COORDINATOR, "two DMARDs were not tried")
        assert any("Your note: “two DMARDs were not tried”" in c.text for c in to(calls, COORDINATOR))
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        [told] = to(calls, PHYSICIAN)
        assert "declined this referral. Reason: the disease is not refractory." in told.text
        assert "two DMARDs were not tried" in told.text and told.buttons() == []
        [e] = h.audit("coordinator_decision")
        assert (e["payload"]["reason_code"], e["payload"]["reason"]) == ("not_refractory", "two DMARDs were not tried")
        row = h.db.conn.execute("SELECT reason_code, reason, items FROM referral_decisions").fetchone()
        assert row == ("not_refractory", "two DMARDs were not tried", "[]")
        sound(h)


async def test_other_needs_a_few_words(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        await h.press(COORDINATOR, f"d:{ref}:1:d")
        await h.press(COORDINATOR, f"dc:{ref}:1:r4")
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y")
        assert toasts(calls) == ["Please type a few words saying why (the reason \"other\")."]
        await h.say(COORDINATOR, "enrolment is paused")
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y")
        assert any("Reason: enrolment is paused." in c.text for c in to(calls, PHYSICIAN))


async def test_identifiers_in_a_note_are_refused_and_never_written(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h, INCOMPLETE)
        await h.press(COORDINATOR, f"d:{ref}:1:i")
        for note in ("born 12.03.2015, please check", "call me on +49 171 2345678", "record 4471123"):
            calls = await h.say(COORDINATOR, note)
            [refused] = to(calls, COORDINATOR)
            assert "look" in refused.text.lower() and note not in refused.text
            assert h.services.registry.draft(COORDINATOR).reason == ""
        dump = "\n".join(h.db.iterdump())
        for secret in ("12.03.2015", "2345678", "4471123"):
            assert secret not in dump, "neither the trail nor any table holds it"


async def test_need_information_asks_for_items_and_the_physician_reopens_exactly_those(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h, INCOMPLETE)
        calls = await h.press(COORDINATOR, f"d:{ref}:1:i")
        [ask] = to(calls, COORDINATOR)
        toggles = [(label, d) for label, d in ask.buttons() if d.startswith(f"dc:{ref}:1:t")]
        assert [label for label, _ in toggles] == ["☐ LVEF", "☐ suitable for leukapheresis"], toggles
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        assert toasts(calls) == ["Please choose at least one item, or type a note saying what is needed."]
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:t0", message_id=ask.message_id)
        [shown] = edits_of(calls, ask.message_id)
        assert shown.buttons()[0][0] == "☑ LVEF" and "Asked for: LVEF." in shown.text
        await h.say(COORDINATOR, "the echocardiogram report, please")
        calls = await h.press(COORDINATOR, f"dc:{ref}:1:y", message_id=ask.message_id)
        [told] = to(calls, PHYSICIAN)
        assert "needs more information" in told.text and "They ask for: LVEF." in told.text
        assert "the echocardiogram report, please" in told.text
        [(label, data)] = told.buttons()
        assert data == "ri:1"
        [e] = h.audit("coordinator_decision")
        assert e["payload"]["items"] == ["lvef_percent"] and e["payload"]["decision"] == "need_info"
        assert h.services.registry.referral(ref).status == "need_info"

        calls = await h.press(COORDINATOR, data)
        assert toasts(calls) == ["That button does not belong to any of your pre-screens."]
        calls = await h.press(PHYSICIAN, data)
        [amended] = h.audit("referral_amended")
        assert amended["payload"]["reason_code"] == "team_request"
        [reopened] = h.audit("prescreen_reopened")
        assert reopened["payload"]["questions"] == ["lvef_percent"]
        assert reopened["payload"]["reason_code"] == "team_request"
        state = h.services.store.load(ref)
        assert state.phase == "asking" and state.current == "lvef_percent", "exactly the items asked for"
        assert any("is being changed by its physician" in c.text for c in to(calls, COORDINATOR))
        assert h.services.registry.referral(ref).status == "amending"
        await h.say(PHYSICIAN, "62")
        state = h.services.store.load(ref)
        assert state.phase == "done"
        assert [e.q for e in state.history if e.has_unknown_part()] == ["apheresis_suitable"], "the other stays"
        corrected = h.audit("answer_accepted")[-1]["payload"]
        assert corrected["question"] == "lvef_percent" and corrected["reason_code"] == "team_request"
        calls = await h.press(PHYSICIAN, f"s:{ref}")
        summary = [c for c in to(calls, COORDINATOR) if c.buttons()]
        assert summary and summary[-1].buttons()[0][1] == f"d:{ref}:2:a", "sent again as version 2"
        assert h.services.registry.referral(ref).status == "sent"
        calls = await h.press(PHYSICIAN, data)
        assert toasts(calls) == ["That request no longer stands; nothing was changed."]
        sound(h)


async def test_undo_within_ten_minutes_and_too_late_after(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock, coordinators=(COORDINATOR, SECOND)) as h:
        ref = await referred(h)
        await h.decide(COORDINATOR, ref, 1, "d", reason=0)
        [e] = h.audit("coordinator_decision")
        undo = f"du:{e['payload']['decision_id']}"
        calls = await h.press(SECOND, undo)
        assert toasts(calls) == ["Only the coordinator who made the decision can undo it."]
        clock.now += timedelta(minutes=9, seconds=59)
        calls = await h.press(COORDINATOR, undo, message_id=4321)
        assert toasts(calls) == ["Undone."]
        [u] = h.audit("decision_undone")
        assert u["payload"] == {"decision_id": 1, "decision": "decline", "send_no": 1, "status": "sent"}
        assert h.services.registry.referral(ref).status == "sent"
        assert h.db.conn.execute("SELECT undone_by FROM referral_decisions").fetchone() == (COORDINATOR,)
        assert any("took back its decision (declined)" in c.text for c in to(calls, PHYSICIAN))
        assert any("was undone by" in c.text for c in to(calls, SECOND))
        [back] = edits_of(calls, summary_id(h, ref, 1))
        assert back.buttons()[0] == ("✅ Accept", f"d:{ref}:1:a"), "the summary has its buttons again"
        calls = await h.press(COORDINATOR, undo)
        assert toasts(calls) == ["This decision can no longer be undone: the referral has moved on since."]
        sound(h)

        await h.decide(COORDINATOR, ref, 1, "a")
        undo = f"du:{h.audit('coordinator_decision')[-1]['payload']['decision_id']}"
        clock.now += timedelta(minutes=10, seconds=1)
        calls = await h.press(COORDINATOR, undo, message_id=4322)
        assert toasts(calls) == ["Too late to undo: a decision can be undone for 10 minutes after it was made."]
        [late] = edits_of(calls, 4322)
        assert late.buttons() == [("⏱ Too late to undo (over 10 minutes)", undo)]
        assert h.services.registry.referral(ref).status == "accepted" and len(h.audit("decision_undone")) == 1
        sound(h)


async def test_a_superseded_summary_loses_its_buttons(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h, {**ELIGIBLE, "lvef_percent": "unknown"})
        first = summary_id(h, ref, 1)
        await h.say(PHYSICIAN, "/amend LVEF measured")
        await h.press(PHYSICIAN, f"r:{ref}")
        await h.say(PHYSICIAN, "62")
        calls = await h.press(PHYSICIAN, f"s:{ref}")
        [stripped] = edits_of(calls, first)
        assert stripped.buttons() == [] and f"Referral {ref}" in stripped.text
        calls = await h.press(COORDINATOR, f"d:{ref}:1:a", message_id=first)
        assert toasts(calls)[0].startswith("A newer summary")


async def test_the_log_counts_every_decision_made(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h, INCOMPLETE)
        await h.decide(COORDINATOR, ref, 1, "i", items=[1])
        await h.decide(COORDINATOR, ref, 1, "d", reason=3)
        await h.press(COORDINATOR, f"du:{h.audit('coordinator_decision')[-1]['payload']['decision_id']}")
        await h.decide(COORDINATOR, ref, 1, "a")
        log = screening_log(h.db)
        assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 1, "awaiting": 0}
        assert log.undone == 1
        assert "decisions undone" in render_text(log)
        assert h.services.registry.referral(ref).status == "accepted"
        sound(h)
