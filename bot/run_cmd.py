"""`screening-bot run`: serve the study on Telegram (long polling, or a webhook when configured).

Bad or missing settings stop it with one line on standard error and exit status 2; a database already
served by another `run` (a lock file beside it), a token Telegram refuses or an unreachable Bot API
stop it with one line and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from conversations.records.db import create_private, make_private, open_db
from conversations.records.store import Store

from . import audit_keys
from .settings import Settings, SettingsError, listen_warning, settings_for

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 10  # seconds a getUpdates call waits for news


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="serve the pre-screen on Telegram (settings: .env.example)")
    p.set_defaults(func=run)


def fail(message: str, status: int) -> int:
    print(f"screening-bot run: {message}", file=sys.stderr)
    return status


class RedactSecrets(logging.Filter):
    """Replaces the token (and the webhook secret) wherever a log record would show it."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self.secrets):
            for s in self.secrets:
                text = text.replace(s, "<redacted>")
            record.msg, record.args = text, None
        return True


# Libraries that log content below WARNING: python-telegram-bot at DEBUG every update ("Processing
# update ...", "Webhook received data ..."), every request's parameters (the text of our replies, which
# can quote an answer) and the API URL with the token; httpx at INFO every request URL (the token).
LIBRARIES = ("telegram", "httpx", "httpcore", "apscheduler")
_PLAIN = re.compile(r"[\w .,:;/()<>@#=+*-]{0,100}")
_make_record = logging.getLogRecordFactory()


def _redact(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "<redacted>")
    return text


def _library_arg(arg: object, secrets: list[str]) -> object:
    """A library's log argument as it may be shown: numbers and plain words (a method name, a URL with the
    token redacted, an error's message); anything else (an update, request parameters, a body) by its type."""
    if arg is None or isinstance(arg, bool | int | float):
        return arg
    if isinstance(arg, str | BaseException) or type(arg).__name__ == "URL":
        text = _redact(str(arg), secrets)
        if _PLAIN.fullmatch(text):
            return text
    return f"<{type(arg).__name__}>"


def sanitise(record: logging.LogRecord, secrets: list[str]) -> None:
    library = record.name.partition(".")[0] in LIBRARIES
    if not isinstance(record.msg, str):
        record.msg = str(record.msg)
    record.msg = _redact(record.msg, secrets)
    if record.args:
        if library:
            convert = lambda a: _library_arg(a, secrets)  # noqa: E731
        else:
            convert = lambda a: _redact(a, secrets) if isinstance(a, str) else a  # noqa: E731
        if isinstance(record.args, dict):
            record.args = {k: convert(v) for k, v in record.args.items()}
        else:
            record.args = tuple(convert(a) for a in record.args)
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = _redact(text, secrets)
        if record.exc_text != text:  # the exception itself holds a secret: only the redacted text remains
            record.exc_info = None


def install_sanitiser(secrets: list[str]) -> None:
    """Sanitise every log record as it is made, whatever the logger's level and whichever handlers see
    it: the secrets are redacted everywhere, and the libraries' content-bearing arguments dropped."""
    secrets = [s for s in secrets if s]

    def make(*args: object, **kwargs: object) -> logging.LogRecord:
        record = _make_record(*args, **kwargs)
        sanitise(record, secrets)
        return record

    logging.setLogRecordFactory(make)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secrets = [settings.token.get_secret_value() if settings.token else "",
               settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""]
    handler.addFilter(RedactSecrets(secrets))
    install_sanitiser(secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # httpx logs every request URL, and the URL holds the token; the library's DEBUG lines hold content.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)
    # With max_retries=0 the rate limiter logs every 429 with a traceback; the outbox reports it in a line.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


def acquire_lock(db_path: Path) -> IO[bytes] | None:
    """An exclusive lock on the database file itself for the life of the process, whatever name reaches
    it (a symbolic or hard link, another relative path): the kernel drops it on any exit, kill -9
    included. None when another process holds it. flock(2) locks do not touch the POSIX record locks
    SQLite takes on the same file (on a local file system; network file systems may emulate flock with
    record locks, and SQLite's WAL mode is not meant for them anyway)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # an empty file is an empty database, owner-only as any
        create_private(db_path)
    handle = open(db_path, "ab")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    # Which process holds it, for the operator (the lock itself is on the database file).
    pid = Path(f"{db_path}.pid")
    make_private(pid)
    pid.write_text(f"{os.getpid()}\n", encoding="utf-8")
    return handle


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_for(args)  # the same settings as every command (cli.main loaded them)
        settings.require_for_run()
    except SettingsError as exc:
        return fail(str(exc), 2)
    if warning := listen_warning(settings):
        logging.getLogger("screening-bot").warning("screening-bot run: warning: %s", warning)
    try:
        lock = acquire_lock(settings.db_path)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):  # run writes the database and its pid file
            where = exc.filename if exc.filename and os.path.exists(exc.filename) else \
                f"its directory {settings.db_path.parent}"
            return fail(f"SCREENING_DB_PATH: cannot use {settings.db_path}: {where} is read-only", 2)
        return fail(f"SCREENING_DB_PATH: cannot use {settings.db_path} ({exc.strerror})", 2)
    if lock is None:
        return fail(f"another `screening-bot run` is serving {settings.db_path} (it holds the database file's "
                    f"lock; its process ID is in {settings.db_path}.pid); stop it first", 1)
    try:
        # Refused here, in one line (cli.main), rather than met by the first update that writes; the trail
        # keyed (its key generated at the first start) before the bot says anything.
        store = Store(open_db(settings.db_path, checked=True))
        try:
            audit_keys.for_writing(settings, store.db, "screening-bot run")
        finally:
            store.close()
        return serve(settings)
    finally:
        lock.close()


def serve(settings: Settings) -> int:
    configure_logging(settings)
    # Imported here: the other subcommands need no chat library.
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from .telegram.app import build_application

    app = build_application(settings)
    log = logging.getLogger("screening-bot")
    # The bot is initialised (getMe) here, on the loop the application then runs on, so that a refused
    # token or an unreachable API is one line from us rather than a logged traceback from the library.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    parts = urlsplit(settings.api_url)
    api = parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "the Bot API"  # no password
    try:
        loop.run_until_complete(app.bot.initialize())
        if settings.use_webhook:
            log.info("serving @%s by webhook on %s:%s", app.bot.username, settings.webhook_listen,
                     settings.webhook_port)
            app.run_webhook(
                listen=settings.webhook_listen, port=settings.webhook_port,
                url_path=urlsplit(settings.webhook_url).path.lstrip("/"), webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(), allowed_updates=ALLOWED_UPDATES)
        else:
            log.info("serving @%s by long polling from %s", app.bot.username, api)
            app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=POLL_TIMEOUT)
    except InvalidToken:
        message = "Telegram refused TELEGRAM_BOT_TOKEN (check the token from @BotFather)"
    except NetworkError as exc:
        message = (f"cannot reach the Bot API at {api} ({type(exc).__name__}); check TELEGRAM_API_URL and "
                   "the network")
    except TelegramError as exc:
        message = f"the Bot API refused to start the bot ({type(exc).__name__})"
    except (OSError, sqlite3.Error) as exc:
        message = f"cannot use the database {settings.db_path} ({type(exc).__name__}: {exc})"
    else:
        return 0
    _close_bot(loop, app)
    return fail(message, 1)


def _close_bot(loop: asyncio.AbstractEventLoop, app: object) -> None:
    if not loop.is_closed():
        with contextlib.suppress(Exception):
            loop.run_until_complete(app.bot.shutdown())
        loop.close()
