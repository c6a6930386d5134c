"""One `screening-bot run` per database: a second one refuses to start, in one line, while the first serves;
the lock goes with the process that held it, even when it is killed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import PHYSICIAN, LiveBot, asked, bot_env, cli
from telegram_harness import message


@pytest.mark.parametrize("argv", [["run"], []], ids=["run", "main-job"])
def test_a_second_run_on_the_same_database_refuses_while_the_first_serves(
        argv: list[str], fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        first = bot.start()
        get_me = len(api.sent(method="getMe"))
        second = cli(argv, bot_env(api, bot.db_path), cwd=tmp_path)
        assert second.returncode == 1
        assert second.stdout == ""
        lines = second.stderr.splitlines()
        assert len(lines) == 1, second.stderr
        assert lines[0] == (f"screening-bot run: another `screening-bot run` is serving {bot.db_path} (it holds "
                            f"the database file's lock; its process ID is in {bot.db_path}.pid); stop it first")
        assert len(api.sent(method="getMe")) == get_me, "the second never talked to Telegram"
        assert (tmp_path / "screening.db.pid").read_text().strip() == str(first.pid)
        # The first goes on serving.
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        bot.wait(lambda: asked(api, 1) and bot.processed(ids) and bot.all_sent(), "question 1")
        assert bot.proc is first and first.poll() is None
        assert bot.stop() == 0
    finally:
        bot.cleanup()
    bot.check_clean_logs()


def test_the_lock_is_released_when_the_holder_is_killed(fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        bot.start()
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        bot.wait(lambda: asked(api, 1) and bot.processed(ids) and bot.all_sent(), "question 1")
        bot.kill()  # SIGKILL, then a new process on the same database and the stale lock file
        assert bot.kills == 1
        assert (tmp_path / "screening.db.pid").read_text().strip() == str(bot.proc.pid)
        ids.append(api.push(message(PHYSICIAN, "12")))
        bot.wait(lambda: asked(api, 2) and bot.processed(ids) and bot.all_sent(), "question 2")
        assert bot.stop() == 0
    finally:
        bot.cleanup()
    bot.check_clean_logs()
