"""Issue 16: a physician and a coordinator who both chose Chinese go through a referral end to end in
Telegram (wrong answers first, the commands, sending, the summary's details, "need information" with
items, the reopened items answered, sending again, a decline with its reason, undo, the coordinator's
lists and commands, /amend): every message, edit, pop-up and button they see is Chinese (command words and
the protocol's identifier aside), and Telegram's limits hold."""

from __future__ import annotations

import re

from telegram_harness import COORDINATOR, PHYSICIAN, Harness, ref_of
from test_i18n import SCRIPT

from conversations.dialogue import engine
from criteria.protocol import PROTOCOL_VERSION

WORD = re.compile(r"[A-Za-z]*[a-z]{3,}[A-Za-z]*")
# Commands and their arguments, names and formats kept as they are: "JSON Lines" is a file format.
KEPT = {"Telegram", "Schwartz", "min", "back", "skip", "status", "summary", "change", "reopen", "cancel", "help",
        "amend", "contacts", "Lines"}
WRONG = ["可能吧", "-5", "99999", "13812345678"]


def english_words(text: str) -> set[str]:
    text = text.replace(PROTOCOL_VERSION, " ")
    text = re.sub(r"<[^>]*>|/[a-z_]+|R-[0-9A-Z]{4}-[0-9A-Z]{4}|[0-9a-f]{64}|(?:https?|tg)://\S+", " ", text)
    return {w for w in WORD.findall(text) if w not in KEPT}


async def _answer_all(h: Harness, ref: str, wrong: bool) -> None:
    tried: dict[str, int] = {}
    for _ in range(300):
        state = h.services.store.load(ref)
        q = engine.current_question(state) if state.phase == "asking" else None
        if q is None:
            return
        n = tried[q.fact] = tried.get(q.fact, -1) + 1
        await h.say(PHYSICIAN, WRONG[n] if wrong and n < len(WRONG) else SCRIPT[q.fact][0])
    raise AssertionError("the pre-screen did not finish")


def _button(calls, prefix: str) -> str:
    return next(d for c in reversed(calls) for _, d in c.buttons() if d.startswith(prefix))


async def test_a_referral_end_to_end_in_chinese(tmp_path):
    async with Harness(tmp_path) as h:
        await h.press(PHYSICIAN, "lg:zh_Hans")
        await h.press(COORDINATOR, "lg:zh_Hans")
        start = len(h.request.calls)
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await _answer_all(h, ref, wrong=True)
        for command in ("/summary", "/status", "/help"):
            await h.say(PHYSICIAN, command)
        await h.press(PHYSICIAN, f"s:{ref}")
        await h.deliver()
        await h.press(COORDINATOR, f"v:{ref}:1:1")
        await h.decide(COORDINATOR, ref, 1, "i")
        await h.deliver()
        await h.press(PHYSICIAN, _button(h.request.sent(PHYSICIAN), "ri:"))
        await _answer_all(h, ref, wrong=False)
        await h.press(PHYSICIAN, f"s:{ref}")
        await h.deliver()
        decided = await h.decide(COORDINATOR, ref, 2, "d", reason=0)
        await h.press(COORDINATOR, _button(decided, "du:"))
        for command in ("/referrals", "/physicians", "/invites", "/invite", "/help", "/reassess"):
            await h.say(COORDINATOR, command)
        await h.deliver()
        await h.say(PHYSICIAN, "/amend")
        calls = [c for c in h.request.calls[start:]
                 if c.method in ("sendMessage", "editMessageText", "answerCallbackQuery")]
        assert len(calls) > 150
        english = {}
        for c in calls:
            for text in [c.text or "", *(label for label, _ in c.buttons())]:
                if found := english_words(text):
                    english[text[:200]] = found
                assert len(text) <= 4096
            for _, data in c.buttons():
                assert len(data.encode()) <= 64
        assert not english
        assert any("需要补充" in (c.text or "") for c in calls)
        assert any("撤销" in (c.text or "") for c in calls)
