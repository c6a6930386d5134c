"""The coordinators' side: every coordinator receives each referral, decides with a button (confirmed
first: tests/test_telegram_decisions.py), the physician is told; /referrals lists what is open; stale,
superseded and forged decisions change nothing."""

from __future__ import annotations

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end, texts

from conversations.records import audit

SECOND = 9002


async def referred(h: Harness, answers: dict[str, str] = ELIGIBLE) -> str:
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await run_to_end(h, ref, answers)
    await h.press(PHYSICIAN, f"s:{ref}")
    return ref


async def test_every_coordinator_receives_the_summary(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND)) as h:
        ref = await referred(h)
        for cid in (COORDINATOR, SECOND):
            parts = h.request.sent(cid)
            text = "\n".join(c.text for c in parts)
            # The first screen (issue 15): one message; the criterion list is behind Details.
            assert len(parts) == 1
            assert f"Referral {ref}" in text and f'<a href="tg://user?id={PHYSICIAN}">' in text
            assert "ELIGIBLE" in text and "Sent " in text and "Audit head #" in text
            assert parts[-1].buttons() == [("✅ Accept", f"d:{ref}:1:a"), ("❓ Need information", f"d:{ref}:1:i"),
                                           ("✖ Decline", f"d:{ref}:1:d"), ("📖 Details", f"v:{ref}:1:1")]
            assert all(len(c.text) <= 4096 for c in parts)
            calls = await h.press(cid, f"v:{ref}:1:1", message_id=parts[0].message_id)
            details = next(c.text for c in calls if c.method == "editMessageText")
            assert "<code>I1</code> met" in details and "Started " in details and "Audit head #" in details
        sent = h.audit("referral_sent")[0]
        head = [line for line in text.splitlines() if "Audit head" in line][0]
        seq = sent["seq"]
        assert f"#{seq} " in head, "the head is the referral_sent event itself"
        chain = h.db.conn.execute("SELECT chain_hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()[0]
        assert chain in head
        assert audit.head(h.db)[0] > seq


async def test_decisions_reach_the_physician_and_close_the_referral(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND)) as h:
        ref = await referred(h)
        calls = await h.say(COORDINATOR, "/referrals")
        assert ref in calls[-1].text and "awaiting a decision" in calls[-1].text

        calls = await h.decide(COORDINATOR, ref, 1, "i")
        assert [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"][-1] == \
            "Recorded: needs more information."
        to_physician = [c.text for c in calls if c.chat_id == PHYSICIAN]
        assert to_physician and "needs more information" in to_physician[0]
        assert any(f"{ref}</b>: needs more information by <code>{COORDINATOR}</code>" in c.text
                   for c in calls if c.chat_id == SECOND)
        calls = await h.say(COORDINATOR, "/referrals")
        assert "needs information" in calls[-1].text

        calls = await h.decide(SECOND, ref, 1, "a")
        assert any("accepted this referral" in c.text for c in calls if c.chat_id == PHYSICIAN)
        calls = await h.press(COORDINATOR, f"d:{ref}:1:d")
        assert calls[0].params["text"].startswith("Already accepted by 9002")
        assert not [c for c in calls if c.method == "sendMessage"]
        assert [e["payload"]["decision"] for e in h.audit("coordinator_decision")] == ["need_info", "accept"]
        calls = await h.say(COORDINATOR, "/referrals")
        assert calls[-1].text == "No open referrals."


async def test_a_decision_on_an_older_summary_is_superseded(tmp_path):
    async with Harness(tmp_path) as h:
        answers = {**ELIGIBLE, "lvef_percent": "unknown"}
        ref = await referred(h, answers)
        await h.say(PHYSICIAN, "/amend LVEF measured")  # a change after sending needs a reason (issue 13)
        await h.press(PHYSICIAN, f"r:{ref}")
        await h.say(PHYSICIAN, "62")
        await h.press(PHYSICIAN, f"s:{ref}")
        calls = await h.press(COORDINATOR, f"d:{ref}:1:a")
        assert calls[0].params["text"].startswith("A newer summary")
        calls = await h.decide(COORDINATOR, ref, 2, "d")
        assert any("declined" in c.text for c in calls if c.chat_id == PHYSICIAN)


async def test_physicians_cannot_decide_and_coordinators_cannot_answer(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.press(PHYSICIAN, f"d:{ref}:1:a")
        assert calls[0].params["text"].startswith("That button is not valid for you")
        assert not h.audit("coordinator_decision")
        calls = await h.press(COORDINATOR, f"a:{ref}:1:u")
        assert calls[0].params["text"] == "That button does not belong to any of your pre-screens."
        calls = await h.say(COORDINATOR, "/screen")
        assert "Coordinators use /referrals" in texts(calls)[0]
        calls = await h.press(COORDINATOR, "d:R-NONE-0000:1:a")
        assert calls[0].params["text"].startswith("Unknown referral")


async def test_coordinator_help(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(COORDINATOR, "/start")
        assert "/invite" in calls[0].text and "/revoke" in calls[0].text and "/referrals" in calls[0].text


async def test_a_change_after_a_decision_needs_a_reason_and_supersedes_the_decision(tmp_path):
    """Issue 13: after a coordinator accepted, the physician sent /back and answered again: the pre-screen
    read ineligible while the referral still read accepted and eligible."""
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        await h.decide(COORDINATOR, ref, 1, "a")
        before = h.services.store.load(ref)
        calls = await h.say(PHYSICIAN, "/back")
        assert "first say why: /amend" in calls[0].text
        assert h.services.store.load(ref) == before, "nothing changed silently"
        calls = await h.say(PHYSICIAN, "/amend")
        assert "why the pre-screen changes" in calls[0].text and h.audit("referral_amended") == []
        calls = await h.say(PHYSICIAN, "/amend the dose was lower than reported")
        told = [c.text for c in calls if c.chat_id == COORDINATOR]
        assert told and "decision on version 1 no longer stands" in told[0]
        assert h.services.registry.referral(ref).status == "amending"
        calls = await h.press(COORDINATOR, f"d:{ref}:1:d")
        assert calls[0].params["text"].startswith("A newer summary"), "the old decision cannot be taken again"
        await h.say(PHYSICIAN, "/back")
        await h.say(PHYSICIAN, "yes")  # the last answer, again
        calls = await h.press(PHYSICIAN, f"s:{ref}")
        summary = [c for c in calls if c.chat_id == COORDINATOR]
        assert summary and summary[-1].buttons()[0][1] == f"d:{ref}:2:a", "a new version"
        assert h.services.registry.referral(ref).status == "sent"


async def test_a_revoked_physician_is_not_told_decisions(tmp_path):
    """Issue 13: a revoked physician still received decisions on earlier referrals."""
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        await h.say(COORDINATOR, f"/revoke {PHYSICIAN}")
        calls = await h.decide(COORDINATOR, ref, 1, "a")
        assert not [c for c in calls if c.chat_id == PHYSICIAN]
        assert any("was removed from this bot and was not told" in c.text for c in calls if c.chat_id == COORDINATOR)
        assert [e["payload"]["decision"] for e in h.audit("coordinator_decision")] == ["accept"]
