"""The Bot API failing during a live `screening-bot run`: 429 with retry_after, 5xx, a send that times out
(Telegram took the message, the answer never came), getUpdates failing, a button answer refused. Sends
are retried, never dropped; the replies keep their order behind a failing one; every answer is applied
once; the audit chain stays intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_bot_api import Failure, FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import PHYSICIAN, REF, LiveBot, answer_in_turn, asked
from telegram_harness import message

ANSWERED = [("age_years", "12"), ("sex", "female"), ("childbearing_potential", "no"),
            ("exclusion_checklist", "none")]

# id: (failures of sendMessage, duplicates expected, least seconds between the failure and the retry)
SEND_FAILURES = {
    "429-retry-after": ([Failure(429, "Too Many Requests: retry after 1", retry_after=1)], 0, 1.0),
    "500": ([Failure(500)], 0, 1.0),
    "timeout-delivered": ([Failure(hold=5.5, delivered=True)], 1, 5.0),  # the client waits 5 s
}


@pytest.mark.parametrize("case", list(SEND_FAILURES))
def test_failed_sends_are_retried_in_order(case: str, fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    failures, duplicates, least_wait = SEND_FAILURES[case]
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
        bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "question 1 marked sent")
        # The reply to the first answer fails; the reply to /summary, sent meanwhile, queues up behind it.
        # The next answers follow their questions, as a physician can answer only what they see.
        api.fail("sendMessage", *failures)
        ids += api.push_many([message(PHYSICIAN, "12"), message(PHYSICIAN, "/summary")])
        answer_in_turn(api, bot, ids, ref, ["press:0", "no", "none"], first=2)
        bot.wait(lambda: asked(api, 5) and bot.processed(ids) and bot.all_sent(), "question 5")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.history(ref) == ANSWERED, "every answer applied exactly once, in order"
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN, duplicates)
    attempts = api.attempts(PHYSICIAN)
    first_failed = next(i for i, c in enumerate(attempts) if "question 2" in c.text)
    retry = next(c for c in attempts[first_failed + 1:] if "question 2" in c.text)
    assert retry.at - attempts[first_failed].at >= least_wait * 0.95, "the retry waited"
    row = bot.query("SELECT attempts, status, last_error FROM telegram_outbox WHERE text LIKE '%question 2%'"
                    " AND edit_message_id IS NULL")
    assert row == [(len(failures) + 1, "sent", None)]
    assert bot.verify().ok
    bot.check_clean_logs()


def test_get_updates_failing_and_a_refused_button_answer_lose_nothing(fake_bot_api: FakeBotAPI,  # noqa: F811
                                                                      tmp_path: Path) -> None:
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
        bot.wait(lambda: bot.processed(ids) and bot.all_sent(), "question 1 marked sent")
        polls = api.polls
        api.fail("getUpdates", Failure(500), Failure(429, "Too Many Requests: retry after 1", retry_after=1))
        api.fail("answerCallbackQuery", Failure(400, "Bad Request: query is too old and response timeout "
                                                     "expired or query id is invalid"))
        bot.wait(lambda: api.polls >= polls + 2, "getUpdates to fail twice")
        answer_in_turn(api, bot, ids, ref, ["12", "press:0", "no", "none"])
        bot.wait(lambda: asked(api, 5) and bot.processed(ids) and bot.all_sent(), "question 5")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.history(ref) == ANSWERED
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN)
    assert [c.status for c in api.calls if c.method == "answerCallbackQuery"] == [400]
    assert bot.verify().ok
    log = bot.log_text()
    assert "callback answer for update" in log, "the lost toast is logged, nothing else is lost"
    assert "getUpdates failed (NetworkError: Internal Server Error); polling retries" in log
    assert "update None failed" not in log, "a failed poll is one warning, not an update's error with a stack"
    bot.check_clean_logs()
