"""The log never shows the bot token, an invite code or what a physician answered.

A whole pre-screen runs the production path: the Application built by ``build_application`` (with its
rate limiter, job queue and durable update queue), python-telegram-bot's own HTTPXRequest over an httpx
mock transport (so that httpx logs its request lines as it would against Telegram), updates put on the
update queue as polling does. The answers carry distinctive strings (numbers like 73.123, a garbage
answer "zebra-unicorn-xyz", a /back so that a reply quotes an answer), and a coordinator makes an invite.

Without the run command's configuration the libraries do log all of it: python-telegram-bot at DEBUG
every update ("Processing update ...") and every request's parameters (our replies, which quote
answers, and the invite link) and the API URL with the token; httpx at INFO every URL (the token). With
``configure_logging`` (what ``screening-bot run`` does), every record is sanitised as it is made, so
even with every logger at DEBUG and a handler of anyone's on the root logger, none of it appears.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update
from telegram.request import HTTPXRequest
from telegram_harness import (
    COORDINATOR,
    ELIGIBLE,
    PHYSICIAN,
    STRANGER,
    Call,
    RecordingRequest,
    attachment,
    callback,
    message,
)

from bot import run_cmd
from bot.settings import Settings
from bot.telegram.app import build_application
from conversations.dialogue import engine

TOKEN = "7350981:AAHzebraTokenQ9xK-distinctive_000"
GARBAGE = "zebra-unicorn-xyz"
# Distinctive valid answers, by question (the rest from the eligible script).
ANSWERS = {**ELIGIBLE, "lvef_percent": "73.123", "spo2_percent": "97.654", "egfr": "88.321",
           "soc_months": "11.777"}
CONTENT = [GARBAGE, "73.123", "97.654", "88.321", "11.777"]
INVITE = re.compile(r"start=([A-Za-z0-9_-]{20,})")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def everything_in(record: logging.LogRecord) -> str:
    """All a handler could show of a record: message, raw msg and args, exception and stack."""
    parts = [record.getMessage(), str(record.msg), repr(record.args), record.exc_text or "",
             record.stack_info or ""]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    loggers = {name: lg for name, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory(),
             {name: (lg.level, lg.disabled) for name, lg in loggers.items()})
    yield
    handlers, level, factory, levels = saved
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, lg in logging.root.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            lg.setLevel(levels.get(name, (logging.NOTSET, False))[0])
            lg.disabled = levels.get(name, (0, False))[1]


def everything_at_debug() -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    for lg in list(logging.root.manager.loggerDict.values()):
        if isinstance(lg, logging.Logger):
            lg.setLevel(logging.DEBUG)
            lg.disabled = False


def mock_api() -> tuple[RecordingRequest, httpx.MockTransport]:
    """A Bot API answering like the harness's recording request, behind httpx."""
    recorder = RecordingRequest()

    def handle(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(httpx.QueryParams(request.content.decode())) if request.content else {}
        recorder.calls.append(Call(method, params))
        return httpx.Response(200, json={"ok": True, "result": recorder.result(method, params)})

    return recorder, httpx.MockTransport(handle)


async def run_prescreen(tmp_path: Path, *, full: bool = True, debug: bool = True) -> RecordingRequest:
    settings = Settings(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL="https://api.telegram.test/bot",
        SCREENING_DB_PATH=tmp_path / "screening.db", SCREENING_COORDINATOR_IDS=str(COORDINATOR),
        SCREENING_PHYSICIAN_IDS=str(PHYSICIAN), _env_file=None)
    recorder, transport = mock_api()
    app = build_application(settings, request=HTTPXRequest(httpx_kwargs={"transport": transport}),
                            get_updates_request=HTTPXRequest(httpx_kwargs={"transport": transport}))
    if debug:
        everything_at_debug()  # the bot's loggers exist now too
    await app.initialize()
    await app.post_init(app)
    await app.start()
    s = app.bot_data

    async def feed(update: dict) -> None:
        await app.update_queue.put(Update.de_json(update, app.bot))
        await app.update_queue.join()

    try:
        await feed(message(PHYSICIAN, "/screen"))
        ref = s.store.prescreens()[0].referral_id
        await feed(message(PHYSICIAN, GARBAGE))  # refused: the age is a number
        await feed(message(PHYSICIAN, GARBAGE, edited=True))
        await feed(message(STRANGER, f"{GARBAGE} 73.123"))
        for _ in range(80 if full else 12):
            state = s.store.load(ref)
            if state.phase != "asking":
                break
            q = engine.current_question(state)
            await feed(message(PHYSICIAN, ANSWERS[q.fact]))
            if q.fact in ("soc_months", "lvef_percent"):  # the reply quotes the answer taken back
                await feed(message(PHYSICIAN, "/back"))
                await feed(message(PHYSICIAN, ANSWERS[q.fact]))
        if full:
            assert s.store.load(ref).phase == "done"
            await feed(attachment(PHYSICIAN, "photo"))
            await feed(callback(PHYSICIAN, f"s:{ref}"))
            await feed(callback(COORDINATOR, f"d:{ref}:1:a"))
            await feed(message(COORDINATOR, "/invite"))
            await feed(message(PHYSICIAN, "/status"))
    finally:
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)
    return recorder


def secrets_of(recorder: RecordingRequest) -> list[str]:
    codes = [m.group(1) for c in recorder.calls for m in INVITE.finditer(c.text)]
    return [TOKEN, *CONTENT, *codes]


async def test_with_the_run_configuration_nothing_secret_reaches_any_log_record(tmp_path, restore_logging):
    settings = Settings(TELEGRAM_BOT_TOKEN=TOKEN, _env_file=None)
    run_cmd.configure_logging(settings)
    stream = io.StringIO()
    run_handler = logging.getLogger().handlers[0]
    run_handler.setStream(stream)
    capture = Capture()
    logging.getLogger().addHandler(capture)

    recorder = await run_prescreen(tmp_path)

    secrets = secrets_of(recorder)
    assert len(secrets) == len(CONTENT) + 2, "the invite code was sent (and is looked for)"
    sent = "\n".join(c.text for c in recorder.calls)
    assert "73.123" in sent and "11.777" in sent, "replies quoted answers (taken back): the bodies had content"
    leaks = [(r.name, r.levelname, s) for r in capture.records for s in secrets if s in everything_in(r)]
    assert leaks == []
    assert not [s for s in secrets if s in stream.getvalue()]
    # The libraries did log (at DEBUG, everything on): their records were made, and sanitised.
    names = {(r.name, r.msg) for r in capture.records}
    assert ("telegram.ext.Application", "Processing update %s") in names
    assert any(n == "telegram.ext.ExtBot" and m.startswith("Calling Bot API endpoint") for n, m in names)
    assert any(n == "httpx" and m.startswith("HTTP Request") for n, m in names)
    processing = next(r for r in capture.records if r.msg == "Processing update %s")
    assert processing.getMessage() == "Processing update <Update>"
    request_line = next(r for r in capture.records if r.name == "httpx").getMessage()
    assert "https://api.telegram.test/bot<redacted>/" in request_line
    assert "bot.telegram.access" in {r.name for r in capture.records}, "our own lines are there too"
    assert stream.getvalue(), "the run's handler wrote the lines it was given"


async def test_without_it_the_libraries_would_log_the_token_and_the_answers(tmp_path, restore_logging):
    """Why the configuration exists (python-telegram-bot 22, httpx 0.28): a plain DEBUG capture."""
    capture = Capture()
    logging.getLogger().addHandler(capture)
    await run_prescreen(tmp_path, full=False)
    text = "\n".join(everything_in(r) for r in capture.records if r.name.split(".")[0] in ("telegram", "httpx"))
    assert TOKEN in text and GARBAGE in text
    ours = "\n".join(everything_in(r) for r in capture.records if r.name.split(".")[0] in ("bot", "conversations"))
    assert ours and not [s for s in [TOKEN, *CONTENT] if s in ours], "our own loggers never log content"


async def test_our_loggers_alone_at_debug_show_no_content(tmp_path, restore_logging):
    """Whatever the libraries do: the bot's and the engine's own records, at DEBUG, carry no content."""
    capture = Capture()
    logging.getLogger().addHandler(capture)
    recorder = await run_prescreen(tmp_path)
    ours = [r for r in capture.records if r.name.split(".")[0] in ("bot", "conversations", "criteria")]
    assert ours
    secrets = secrets_of(recorder)
    assert [(r.name, s) for r in ours for s in secrets if s in everything_in(r)] == []


def test_sanitise_keeps_plain_words_and_drops_content():
    secrets = ["1:SECRET"]
    make = logging.LogRecord
    record = make("telegram.ext.ExtBot", logging.DEBUG, __file__, 1,
                  "Calling Bot API endpoint `%s` with parameters `%s`", ("sendMessage", {"text": "73.123"}), None)
    run_cmd.sanitise(record, secrets)
    assert record.getMessage() == "Calling Bot API endpoint `sendMessage` with parameters `<dict>`"
    record = make("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s %d %s"',
                  ("POST", httpx.URL("https://api.telegram.org/bot1:SECRET/getMe"), "HTTP/1.1", 200, "OK"), None)
    run_cmd.sanitise(record, secrets)
    assert record.getMessage() == 'HTTP Request: POST https://api.telegram.org/bot<redacted>/getMe "HTTP/1.1 200 OK"'
    record = make("telegram.ext._utils.webhookhandler", logging.DEBUG, __file__, 1, "Webhook received data: %s",
                  ('{"update_id": 1, "message": {"text": "zebra"}}',), None)
    run_cmd.sanitise(record, secrets)
    assert record.getMessage() == "Webhook received data: <str>"
    try:
        raise RuntimeError("token 1:SECRET in an error")
    except RuntimeError:
        record = make("bot.telegram.app", logging.ERROR, __file__, 1, "failed: %s", ("1:SECRET",), sys.exc_info())
    run_cmd.sanitise(record, secrets)
    assert "SECRET" not in everything_in(record) and "<redacted>" in record.exc_text
