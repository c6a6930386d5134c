"""A fake Telegram Bot API on 127.0.0.1, enough for `screening-bot run` in polling mode.

Threaded HTTP server: getMe, deleteWebhook, setMyCommands, getUpdates (long polling with Telegram's
offset semantics: an offset confirms every update below it, which is then gone for good),
sendMessage, editMessageText, answerCallbackQuery; every call is recorded. The test pushes updates
into the queue and reads the calls back.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

BOT = {"id": 777000, "is_bot": True, "first_name": "Screening", "username": "screening_e2e_bot",
       "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        return int(self.params["chat_id"]) if "chat_id" in self.params else None

    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", [])
                for b in row]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed with SIGKILL drops its connections: expected here


class FakeBotAPI:
    def __init__(self) -> None:
        self.calls: list[ApiCall] = []
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.delivered: set[int] = set()  # update IDs returned by getUpdates at least once
        self.refuse_token = False  # answer every call 401 Unauthorized, as for a revoked token
        self.cond = threading.Condition()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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

    # ---- what the test does -------------------------------------------------------------------------

    def push(self, update: dict) -> int:
        """Queue an update (its update_id assigned here); returns the ID."""
        with self.cond:
            update = {**update, "update_id": next(self._update_ids)}
            self.updates.append(update)
            self.cond.notify_all()
            return update["update_id"]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; last calls: "
                                         f"{[(c.method, c.text[:60]) for c in self.calls[-5:]]}")
                self.cond.wait(min(left, 0.05))

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[ApiCall]:
        with self.cond:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    # ---- the Bot API ----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    params = json.loads(body or "{}")
                else:
                    params = {}
                    for k, v in parse_qsl(body):
                        try:
                            params[k] = json.loads(v)
                        except ValueError:
                            params[k] = v
                method = self.path.rsplit("/", 1)[-1]
                status, result = api.answer(method, params)
                payload = json.dumps({"ok": True, "result": result} if status == 200 else
                                     {"ok": False, "error_code": status, "description": str(result)}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST  # noqa: N815

        return Handler

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        if self.refuse_token:
            return 401, "Unauthorized"
        if method == "getUpdates":
            return 200, self._get_updates(params)
        with self.cond:
            self.calls.append(ApiCall(method, params, time.monotonic()))
            self.cond.notify_all()
            if method == "getMe":
                return 200, BOT
            if method in ("sendMessage", "editMessageText"):
                message_id = (int(params["message_id"]) if method == "editMessageText"
                              else next(self._message_ids))
                msg = {"message_id": message_id, "date": int(time.time()), "from": BOT,
                       "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "X"},
                       "text": str(params.get("text", ""))}
                if params.get("reply_markup"):
                    msg["reply_markup"] = params["reply_markup"]
                return 200, msg
            if method in ("deleteWebhook", "setMyCommands", "answerCallbackQuery", "setWebhook", "close"):
                return 200, True
            return 404, "Not Found: method not faked"

    def _get_updates(self, params: dict[str, Any]) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 2.0)
        deadline = time.monotonic() + timeout
        with self.cond:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            batch = list(self.updates[:100])
            self.delivered.update(u["update_id"] for u in batch)
            self.calls.append(ApiCall("getUpdates", {"offset": offset, "returned": len(batch)}, time.monotonic()))
            self.cond.notify_all()
            return batch


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()
