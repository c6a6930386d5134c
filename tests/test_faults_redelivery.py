"""Telegram delivers an update more than once: twice in one getUpdates batch, or again after the bot
restarted (its confirmation lost). `screening-bot run` applies it once, replies once, and goes on.
(An update stored but not processed before a crash, replayed from the inbox and redelivered by Telegram
too, is in tests/test_faults_kill.py: stored-before-processing.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import PHYSICIAN, REF, LiveBot, asked
from telegram_harness import callback, message


def _begin(api: FakeBotAPI, bot: LiveBot) -> tuple[str, list[int]]:
    """/screen, its question shown and marked sent: the referral ID and the update IDs so far."""
    ids = [api.push(message(PHYSICIAN, "/screen"))]
    ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
    bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "question 1 marked sent")
    return ref, ids


def test_the_same_updates_twice_in_one_batch_are_applied_once(fake_bot_api: FakeBotAPI,  # noqa: F811
                                                               tmp_path: Path) -> None:
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ref, ids = _begin(api, bot)
        answer, press = message(PHYSICIAN, "12"), callback(PHYSICIAN, f"a:{ref}:2:0", message_id=2)
        n = ids[-1] + 1
        pushed = api.push_many([answer, answer, press, press], [n, n, n + 1, n + 1])
        assert pushed == [n, n, n + 1, n + 1]
        ids += [n, n + 1]
        bot.wait(lambda: asked(api, 3) and bot.processed(ids) and bot.all_sent(), "question 3")
        ids.append(api.push(message(PHYSICIAN, "no")))
        bot.wait(lambda: asked(api, 4) and bot.processed(ids) and bot.all_sent(), "question 4")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.history(ref) == [("age_years", "12"), ("sex", "female"), ("childbearing_potential", "no")]
    assert [e["question"] for e in bot.events("answer_accepted")] == ["age_years", "sex",
                                                                       "childbearing_potential"]
    bot.check_updates_applied_once(ids)
    texts = bot.check_deliveries(PHYSICIAN)  # each reply once, in order
    assert len(texts) == 5  # question 1, question 2, question 2 answered (an edit), questions 3 and 4
    assert len(api.sent(method="answerCallbackQuery")) == 1, "the press is answered once"
    log = bot.log_text()
    assert f"update {n} already processed: ignored" in log and f"update {n + 1} already processed" in log
    assert bot.verify().ok
    bot.check_clean_logs()


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_updates_delivered_again_after_a_restart_are_ignored(how: str, fake_bot_api: FakeBotAPI,  # noqa: F811
                                                             tmp_path: Path) -> None:
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ref, ids = _begin(api, bot)
        answer, press = message(PHYSICIAN, "12"), callback(PHYSICIAN, f"a:{ref}:2:0", message_id=2)
        ids += [api.push(answer)]
        bot.wait(lambda: asked(api, 2) and bot.processed(ids) and bot.all_sent(), "question 2")
        ids += [api.push(press)]
        bot.wait(lambda: asked(api, 3) and bot.processed(ids) and bot.all_sent(), "question 3")
        if how == "stopped":
            assert bot.stop() == 0  # a clean stop confirms every update it fetched
        else:
            bot.proc.kill()
            bot.proc.wait(10)
        replies = len(api.sent(PHYSICIAN)) + len(api.sent(PHYSICIAN, "editMessageText"))
        # Telegram lost the confirmations: both updates come again, before a new answer.
        api.push_many([answer, press, message(PHYSICIAN, "no")], [ids[1], ids[2], None])
        ids.append(ids[2] + 1)
        bot.start()
        bot.wait(lambda: asked(api, 4) and bot.processed(ids) and bot.all_sent(), "question 4")
        assert len(api.sent(PHYSICIAN)) + len(api.sent(PHYSICIAN, "editMessageText")) == replies + 1, \
            "only the new answer got a reply"
        log = bot.logs[-1].read_text(encoding="utf-8")
        assert f"update {ids[1]} already processed: ignored" in log
        assert f"update {ids[2]} already processed: ignored" in log
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.history(ref) == [("age_years", "12"), ("sex", "female"), ("childbearing_potential", "no")]
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN)
    assert bot.verify().ok
    bot.check_clean_logs()
