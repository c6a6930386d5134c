"""A fake Telegram Bot API on 127.0.0.1, enough for `screening-bot run` in polling mode.

Threaded HTTP server: getMe, deleteWebhook, setMyCommands, getUpdates (long polling with Telegram's
offset semantics: an offset confirms every update below it, which is then gone for good),
sendMessage, editMessageText, answerCallbackQuery; every call is recorded. The test pushes updates
into the queue and reads the calls back.

Faults, for tests/test_faults_*.py: ``fail(method, Failure(...))`` answers the next calls of a method with
an error (500, 429 with ``retry_after``) or holds them past the client's time-out; ``kill_on(pid, ...)``
sends SIGKILL to the bot when a matching call arrives (with the request in flight); ``push(update,
update_id=...)`` and ``push_many`` deliver an update again, or twice in one batch.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
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
    status: int = 200  # what the fake answered; a failed attempt is recorded too (``sent`` skips it)

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


@dataclass
class Failure:
    """How to answer one call: an HTTP error (``status``, a 429 with ``retry_after``), or, with ``hold``,
    no answer for that many seconds (longer than the client waits: a time-out). A held message counts
    as delivered when ``delivered`` (Telegram took it, the answer was lost)."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    hold: float = 0.0
    delivered: bool = False


@dataclass
class _Kill:
    pid: int
    predicate: Callable[[ApiCall], bool]
    delivered: bool


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
        self.polls = 0  # getUpdates requests received (counted on arrival, unlike ``calls``)
        self.failures: dict[str, list[Failure]] = {}
        self.kills: list[_Kill] = []
        self.killed: list[ApiCall] = []  # the calls that triggered a kill
        self.cond = threading.Condition()
        self._message_ids = itertools.count(1)
        self._next_update_id = 1
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

    # ---- what the test does -------------------------------------------------------------------------

    def push(self, update: dict, update_id: int | None = None) -> int:
        """Queue an update; its update_id is assigned here (after the highest seen) unless ``update_id``
        is given (an update Telegram delivers again). Returns the ID."""
        return self.push_many([update], [update_id])[0]

    def push_many(self, updates: list[dict], update_ids: list[int | None] | None = None) -> list[int]:
        """Queue several updates at once, so that one getUpdates returns them together; an ID may repeat
        (the same update twice in one batch). The queue stays in update_id order, as Telegram's."""
        ids = update_ids or [None] * len(updates)
        with self.cond:
            queued = []
            for u, uid in zip(updates, ids, strict=True):
                if uid is None:
                    uid = self._next_update_id
                self._next_update_id = max(self._next_update_id, uid + 1)
                queued.append({**u, "update_id": uid})
            self.updates = sorted(self.updates + queued, key=lambda u: u["update_id"])
            self.cond.notify_all()
            return [u["update_id"] for u in queued]

    def fail(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of ``method`` with these failures, one each, in order."""
        with self.cond:
            self.failures.setdefault(method, []).extend(failures)

    def kill_on(self, pid: int, predicate: Callable[[ApiCall], bool], delivered: bool = False) -> None:
        """SIGKILL ``pid`` when a call matching ``predicate`` arrives (once), before answering it; with
        ``delivered`` the call counts as accepted (Telegram took the message, the bot never heard)."""
        with self.cond:
            self.kills.append(_Kill(pid, predicate, delivered))

    def attempts(self, chat_id: int | None = None, method: str = "sendMessage") -> list[ApiCall]:
        """Every call of ``method``, failed ones included."""
        with self.cond:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

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
        """The calls of ``method`` that the fake accepted."""
        return [c for c in self.attempts(chat_id, method) if c.status == 200]

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
                error = result if isinstance(result, dict) else {"description": str(result)}
                payload = json.dumps({"ok": True, "result": result} if status == 200 else
                                     {"ok": False, "error_code": status, **error}).encode()
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
            with self.cond:
                self.polls += 1
                self.cond.notify_all()
                failure = self._next_failure(method)
            if failure is not None:
                return self._failed(ApiCall(method, params, time.monotonic()), failure)
            return 200, self._get_updates(params)
        call = ApiCall(method, params, time.monotonic())
        with self.cond:
            failure = self._next_failure(method)
            kill = next((k for k in self.kills if k.predicate(call)), None)
        if kill is not None:
            with self.cond:
                self.kills.remove(kill)
                call.status = 200 if kill.delivered else 0  # 0: never answered
                self.calls.append(call)
                self.killed.append(call)
                self.cond.notify_all()
            os.kill(kill.pid, signal.SIGKILL)
            return 500, "killed"  # nobody reads the answer
        if failure is not None:
            return self._failed(call, failure)
        with self.cond:
            self.calls.append(call)
            self.cond.notify_all()
            return self._result(method, params)

    def _next_failure(self, method: str) -> Failure | None:
        pending = self.failures.get(method)
        return pending.pop(0) if pending else None

    def _failed(self, call: ApiCall, failure: Failure) -> tuple[int, Any]:
        if failure.hold:
            with self.cond:  # delivered (or not) now; the answer is what is late
                call.status = 200 if failure.delivered else 0
                self.calls.append(call)
                self.cond.notify_all()
            time.sleep(failure.hold)  # the client has given up meanwhile; nobody reads the answer
            return self._result(call.method, call.params)
        with self.cond:
            call.status = failure.status
            self.calls.append(call)
            self.cond.notify_all()
        error: dict[str, Any] = {"description": failure.description}
        if failure.retry_after is not None:
            error["parameters"] = {"retry_after": failure.retry_after}
        return failure.status, error

    def _result(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        with self.cond:
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
            if method in ("deleteWebhook", "setMyCommands", "answerCallbackQuery", "setWebhook", "close",
                          "deleteMessage"):
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
