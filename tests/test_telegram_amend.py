"""Reasons for a change after sending, in Telegram (issue 14): /amend alone shows the reasons as buttons, a
tap amends with that reason ("other" asks for a few words), /amend <words> stays "other", and the
coordinators are told the reason."""

from __future__ import annotations

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end, texts

from bot.telegram import keyboards


async def referred(h: Harness) -> str:
    ref = ref_of(await h.say(PHYSICIAN, "/screen"))
    await run_to_end(h, ref, ELIGIBLE)
    await h.press(PHYSICIAN, f"s:{ref}")
    return ref


def reason(payload: dict) -> dict:
    """The keys of a referral_amended event this test is about (the store may add its own)."""
    return {k: payload[k] for k in ("send_no", "reason_code", "reason")}


def told(calls) -> list[str]:
    return [c.text for c in calls if c.chat_id == COORDINATOR]


async def test_amend_alone_shows_the_reasons_as_buttons_and_a_tap_amends(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.say(PHYSICIAN, "/amend")
        assert len(calls) == 1 and "why the pre-screen changes" in calls[0].text
        buttons = calls[0].buttons()
        assert [data for _, data in buttons] == [f"m:{ref}:1:{n}" for n in range(1, 6)]
        assert all(len(data.encode()) <= keyboards.MAX_DATA for _, data in buttons)
        assert "A new test or examination result" in buttons[0][0] and "Other" in buttons[-1][0]
        assert h.audit("referral_amended") == []

        calls = await h.press(PHYSICIAN, f"m:{ref}:1:2", message_id=77)
        [amended] = h.audit("referral_amended")
        assert reason(amended["payload"]) == {"send_no": 1, "reason_code": "entry_error", "reason": ""}
        assert h.services.registry.referral(ref).status == "amending"
        [notice] = told(calls)
        assert "is being changed by its physician: an answer was entered wrongly." in notice
        assert "decision on version 1 no longer stands" in notice
        edit = next(c for c in calls if c.method == "editMessageText")
        assert "an answer was entered wrongly" in edit.text and not edit.buttons(), "the buttons are gone"
        assert any("can be changed now" in c.text for c in calls if c.chat_id == PHYSICIAN)

        # The answers changed now carry the reason.
        await h.say(PHYSICIAN, "/back")
        await h.say(PHYSICIAN, "yes")
        changed = [e for e in h.audit() if e["type"] in ("answer_withdrawn", "answer_accepted", "answer_corrected")
                   and e["seq"] > amended["seq"]]
        assert changed and all((e["payload"]["reason_code"], e["payload"]["send_no"]) == ("entry_error", 1)
                               for e in changed)


async def test_other_asks_for_words_and_words_alone_are_other(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        calls = await h.press(PHYSICIAN, f"m:{ref}:1:5")
        assert "in a few words" in texts(calls)[-1] and "/amend &lt;reason&gt;" in texts(calls)[-1]
        assert h.audit("referral_amended") == [] and not told(calls)
        calls = await h.say(PHYSICIAN, "/amend the echocardiogram is done now")
        assert any("is being changed by its physician: the echocardiogram is done now." in t for t in told(calls))
        assert [reason(e["payload"]) for e in h.audit("referral_amended")] == [
            {"send_no": 1, "reason_code": "other", "reason": "the echocardiogram is done now"}]


async def test_amend_with_a_number_and_words(tmp_path):
    async with Harness(tmp_path) as h:
        await referred(h)
        calls = await h.say(PHYSICIAN, "/amend 1 the biopsy report came back")
        assert any("a new test or examination result (the biopsy report came back)" in t for t in told(calls))
        assert h.audit("referral_amended")[0]["payload"]["reason_code"] == "new_result"


async def test_an_identifier_in_the_words_is_refused_and_the_coordinators_are_not_told(tmp_path):
    async with Harness(tmp_path) as h:
        await referred(h)
        calls = await h.say(PHYSICIAN, "/amend 3 born 04.03.2012")
        assert not told(calls) and h.audit("referral_amended") == []
        assert "identifiers" in texts(calls)[0]
        assert all("04.03.2012" not in e["payload"].get("text", "") for e in h.audit("message_sent"))


async def test_a_reason_button_of_an_earlier_version_or_forged_changes_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        ref = await referred(h)
        for data in (f"m:{ref}:2:1", f"m:{ref}:1:6", f"m:{ref}:1:0", f"m:{ref}:1", f"m:{ref}:x:1"):
            calls = await h.press(PHYSICIAN, data)
            assert calls[0].method == "answerCallbackQuery" and "not valid" in calls[0].params["text"], data
        assert h.audit("referral_amended") == []
