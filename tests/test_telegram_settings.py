"""Configuration (pydantic-settings, environment and .env, in sync with .env.example) and how
`screening-bot run` starts or refuses to: one clear line, never a traceback."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_bot_api import FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture

from bot import cli, run_cmd
from bot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "SCREENING_DB_PATH", "SCREENING_COORDINATOR_IDS",
        "SCREENING_PHYSICIAN_IDS", "SCREENING_WEBHOOK_URL", "SCREENING_WEBHOOK_SECRET",
        "SCREENING_WEBHOOK_LISTEN", "SCREENING_WEBHOOK_PORT")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_cmd, "configure_logging", lambda settings: None)  # keep pytest's logging


def test_env_example_lists_and_explains_every_setting():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    keys = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)]
    aliases = [f.alias for f in Settings.model_fields.values()]
    assert sorted(keys) == sorted(aliases)
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):  # explained by the comment above its block of keys
            above = next(x for x in reversed(lines[:i]) if not re.match(r"^[A-Z_]+=", x))
            assert above.startswith("#"), f"{line.split('=')[0]} is explained"


def test_defaults_and_lists(monkeypatch):
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", " 11, 22 ,,33")
    s = load_settings()
    assert s.coordinator_ids == {11, 22, 33} and s.physician_ids == frozenset()
    assert s.api_url == "https://api.telegram.org/bot" and s.token is None and not s.use_webhook
    assert s.db_path == Path("screening.db")


def test_dotenv_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=1:abc\nSCREENING_PHYSICIAN_IDS=5,6\n"
                                   "SCREENING_WEBHOOK_URL=\nSCREENING_COORDINATOR_IDS=7\n", encoding="utf-8")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "8")
    s = load_settings()
    assert s.token.get_secret_value() == "1:abc" and "1:abc" not in repr(s)
    assert s.physician_ids == {5, 6} and s.coordinator_ids == {8} and s.webhook_url is None


@pytest.mark.parametrize(("env", "message"), [
    ({"SCREENING_COORDINATOR_IDS": "12,@alice"}, "SCREENING_COORDINATOR_IDS: '@alice' is not a numeric"),
    ({"SCREENING_PHYSICIAN_IDS": "-5"}, "SCREENING_PHYSICIAN_IDS: '-5' is not a numeric"),
    ({"TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: must be an http(s) URL"),
    ({"SCREENING_WEBHOOK_URL": "https://bot.example.org/tg"}, "SCREENING_WEBHOOK_SECRET is required"),
    ({"SCREENING_WEBHOOK_URL": "http://bot.example.org/tg", "SCREENING_WEBHOOK_SECRET": "s"},
     "SCREENING_WEBHOOK_URL: must be a public https:// URL"),
    ({"SCREENING_WEBHOOK_URL": "https://x.org/tg", "SCREENING_WEBHOOK_SECRET": "no spaces!"},
     "SCREENING_WEBHOOK_SECRET: must be 1 to 256 characters"),
    ({"SCREENING_WEBHOOK_PORT": "eighty"}, "SCREENING_WEBHOOK_PORT: Input should be a valid integer"),
    ({"SCREENING_WEBHOOK_PORT": "70000"}, "SCREENING_WEBHOOK_PORT: Input should be less than or equal"),
])
def test_malformed_settings_name_their_key(monkeypatch, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "no spaces!" not in str(info.value), "values (secrets) are not echoed"


@pytest.mark.parametrize(("env", "message"), [
    ({}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "1:x"}, "SCREENING_COORDINATOR_IDS is empty"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "SCREENING_COORDINATOR_IDS": "x"}, "SCREENING_COORDINATOR_IDS: 'x' is not"),
])
def test_run_stops_with_one_line_and_status_2(monkeypatch, capsys, env, message):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("screening-bot run: ") and message in err
    assert "Traceback" not in err


def test_run_refuses_a_database_another_run_holds(monkeypatch, capsys, tmp_path):
    db = tmp_path / "data" / "screening.db"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    monkeypatch.setenv("SCREENING_DB_PATH", str(db))
    held = run_cmd.acquire_lock(db)
    try:
        assert run_cmd.acquire_lock(db) is None
        assert cli.main(["run"]) == 1
        err = capsys.readouterr().err
        assert "another `screening-bot run` is serving" in err and err.count("\n") == 1
    finally:
        held.close()
    assert run_cmd.acquire_lock(db) is not None, "free again once the holder is gone"


@pytest.mark.parametrize("link", ["symlink", "hardlink", "relative"])
def test_the_single_instance_lock_holds_on_the_database_file_however_it_is_named(tmp_path, monkeypatch, link):
    """Issue 13: two `run`s started when one was given the database by a symbolic link (the lock was keyed by
    the path string), and 1-3 updates were applied twice."""
    db = tmp_path / "data" / "screening.db"
    held = run_cmd.acquire_lock(db)
    try:
        other = tmp_path / "other.db"
        if link == "symlink":
            other.symlink_to(db)
        elif link == "hardlink":
            other.hardlink_to(db)
        else:
            monkeypatch.chdir(tmp_path / "data")
            other = Path("../data/./screening.db")
        assert run_cmd.acquire_lock(other) is None
    finally:
        held.close()
    assert run_cmd.acquire_lock(db) is not None


def test_run_refuses_an_unusable_database_path(monkeypatch, capsys, tmp_path):
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    monkeypatch.setenv("SCREENING_DB_PATH", str(tmp_path / "a-file" / "screening.db"))
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("screening-bot run: SCREENING_DB_PATH: cannot use ") and err.count("\n") == 1


def test_run_reports_a_refused_token_and_an_unreachable_api(monkeypatch, capsys, fake_bot_api):  # noqa: F811
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:refused")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    fake_bot_api.refuse_token = True
    monkeypatch.setenv("TELEGRAM_API_URL", fake_bot_api.base_url)
    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err
    assert err == "screening-bot run: Telegram refused TELEGRAM_BOT_TOKEN (check the token from @BotFather)\n"
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:1/bot")
    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("screening-bot run: cannot reach the Bot API at 127.0.0.1:1") and err.count("\n") == 1


def test_webhook_mode_uses_the_secret_token(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    monkeypatch.setenv("SCREENING_WEBHOOK_URL", "https://bot.example.org/telegram/hook")
    monkeypatch.setenv("SCREENING_WEBHOOK_SECRET", "s3cret_-TOKEN-0123456789")
    monkeypatch.setenv("SCREENING_WEBHOOK_PORT", "8080")
    seen = {}

    async def initialize() -> None:
        pass

    def fake_build(settings):
        return SimpleNamespace(bot=SimpleNamespace(initialize=initialize, username="b"),
                               run_webhook=lambda **kw: seen.update(kw),
                               run_polling=lambda **kw: pytest.fail("polling in webhook mode"))

    monkeypatch.setattr("bot.telegram.app.build_application", fake_build)
    assert cli.main(["run"]) == 0
    assert seen == {"listen": "127.0.0.1", "port": 8080, "url_path": "telegram/hook",
                    "webhook_url": "https://bot.example.org/telegram/hook", "secret_token": "s3cret_-TOKEN-0123456789",
                    "allowed_updates": ["message", "edited_message", "callback_query"]}


def test_the_log_never_shows_the_token():
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "POST %s", ("https://x/bot1:SECRET/getMe",),
                               None)
    run_cmd.RedactSecrets(["1:SECRET"]).filter(record)
    assert record.getMessage() == "POST https://x/bot<redacted>/getMe"


def test_the_api_urls_password_is_never_said(monkeypatch, capsys, tmp_path):
    """Issue 13: `TELEGRAM_API_URL=http://user:secret@…` was logged at every start."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    monkeypatch.setenv("SCREENING_DB_PATH", str(tmp_path / "s.db"))
    monkeypatch.setenv("TELEGRAM_API_URL", "http://proxyuser:pr0xy-s3cret@127.0.0.1:9/bot")  # nothing listens
    monkeypatch.setattr(run_cmd, "configure_logging", lambda settings: None)
    assert cli.main(["run"]) != 0
    err = capsys.readouterr().err
    assert "127.0.0.1:9" in err and "pr0xy-s3cret" not in err and "proxyuser" not in err
