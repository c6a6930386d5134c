"""A fake Telegram Bot API on 127.0.0.1, enough for `screening-bot run` in polling mode.

A threaded HTTP server in front of the fake Bot API of tests/bot_api.py (``FakeBotAPI`` is a ``BotAPI``
with a transport): getMe, deleteWebhook, setMyCommands, getUpdates (long polling with Telegram's offset
semantics: an offset confirms every update below it, which is then gone for good), sendMessage,
editMessageText, sendDocument, answerCallbackQuery; other methods are answered 404. Every call is
recorded. The test pushes updates into the queue and reads the calls back.

Faults, for tests/test_faults_*.py: ``fail(method, Failure(...))`` answers the next calls of a method with
an error (500, 429 with ``retry_after``) or holds them past the client's time-out; ``kill_on(pid, ...)``
sends SIGKILL to the bot when a matching call arrives (with the request in flight); ``push(update,
update_id=...)`` and ``push_many`` deliver an update again, or twice in one batch.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from bot_api import BotAPI, Call, Failure

BOT = {"id": 777000, "is_bot": True, "first_name": "Screening", "username": "screening_e2e_bot",
       "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
ApiCall = Call
__all__ = ["BOT", "ApiCall", "Failure", "FakeBotAPI", "fake_bot_api"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed with SIGKILL drops its connections: expected here


class FakeBotAPI(BotAPI):
    def __init__(self) -> None:
        super().__init__(BOT, strict=True, long_poll=2.0)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.cond:
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params, files = _parameters(self.headers.get("Content-Type", ""), body)
                reply = api.handle(self.path.rsplit("/", 1)[-1], params, files)
                if reply.status == 0:  # a time-out: the client gives up meanwhile; nobody reads the answer
                    time.sleep(reply.hold)
                    reply = reply.late()
                payload = reply.payload()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

        return Handler


def _parameters(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A request's parameters (JSON-decoded where they are JSON) and uploaded files."""
    if "json" in content_type:
        return json.loads(body or b"{}"), {}
    if "multipart/form-data" in content_type:
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in form.iter_parts():
            name, data = part.get_param("name", header="content-disposition"), part.get_payload(decode=True)
            if part.get_filename() is not None:
                files[name] = data
            else:
                params[name] = _value(data.decode("utf-8"))
        return params, files
    return {k: _value(v) for k, v in parse_qsl(body.decode("utf-8"))}, {}


def _value(v: str) -> Any:
    try:
        return json.loads(v)
    except ValueError:
        return v


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()
