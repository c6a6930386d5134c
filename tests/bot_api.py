"""One fake Telegram Bot API: the brain behind both test transports.

``BotAPI`` answers a Bot API method call as Telegram would, for the methods the bot uses (getMe, getUpdates
with Telegram's offset semantics, sendMessage, editMessageText, sendDocument, and the methods answering
``True``), records every call, and injects faults: ``fail(method, Failure(...))`` answers the next calls of
a method with an error (500, 429 with ``retry_after``) or a time-out; ``kill_on(pid, ...)`` sends SIGKILL
to the bot when a matching call arrives; ``push(update)`` queues an update for getUpdates.

Its one entry, ``handle(method, params)``, gives a ``Reply`` (the status and JSON Telegram answers, or no
answer: a time-out). Two transports put it in front of the bot, as httpx's MockTransport puts a handler:
``telegram_harness.RecordingRequest``, a python-telegram-bot ``BaseRequest`` in-process, and
``fake_bot_api.FakeBotAPI``, a threaded HTTP server on 127.0.0.1 for ``screening-bot run`` in a subprocess.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TRUE_METHODS = ("deleteWebhook", "setMyCommands", "deleteMyCommands", "answerCallbackQuery", "setWebhook", "close",
                "deleteMessage")


@dataclass
class Call:
    """One call the fake received."""

    method: str
    params: dict[str, Any]
    at: float = 0.0  # time.monotonic() when it was recorded
    status: int | None = 200  # the answer: 200, an error; 0 none (a time-out, a kill); None not yet
    files: dict[str, bytes] = field(default_factory=dict)  # uploaded files by parameter name
    message_id: int | None = None  # of the message a send made, once answered

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def chat_id(self) -> int | None:
        cid = self.params.get("chat_id")
        return int(cid) if cid is not None else None

    @property
    def markup(self) -> dict | None:
        m = self.params.get("reply_markup")
        return json.loads(m) if isinstance(m, str) else m

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        m = self.markup or {}
        return [(b["text"], b.get("callback_data", "")) for row in m.get("inline_keyboard", []) for b in row]

    def button(self, label_part: str) -> str:
        for label, data in self.buttons():
            if label_part.lower() in label.lower():
                return data
        raise AssertionError(f"no button {label_part!r} in {self.buttons()}")


@dataclass
class Failure:
    """How to answer one call: an HTTP error (``status``, a 429 with ``retry_after``), or a time-out:
    ``status`` None (in-process: at once), or with ``hold`` no answer for that many seconds (over HTTP:
    longer than the client waits). A timed-out call counts as delivered when ``delivered`` (Telegram took
    it, the answer was lost)."""

    status: int | None = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    hold: float = 0.0
    delivered: bool = False

    @property
    def timeout(self) -> bool:
        return self.status is None or bool(self.hold)


@dataclass
class Reply:
    """What the Bot API answers: ``status`` and the JSON ``body``; status 0 is no answer (a time-out),
    for ``hold`` seconds, after which ``late`` gives the answer nobody reads."""

    status: int
    body: dict[str, Any] | None = None
    hold: float = 0.0
    late: Callable[[], Reply] | None = None

    @classmethod
    def ok(cls, result: Any) -> Reply:
        return cls(200, {"ok": True, "result": result})

    @classmethod
    def error(cls, status: int, description: str, retry_after: int | None = None) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return cls(status, body)

    def payload(self) -> bytes:
        return json.dumps(self.body).encode()


class NotFaked(LookupError):
    pass


@dataclass
class _Kill:
    pid: int
    predicate: Callable[[Call], bool]
    delivered: bool


class BotAPI:
    """The state of one fake Telegram (its message IDs count from 1, one count for what the bot sends and
    what users send, as in a private chat, so a message typed before a question arrived has the lower ID)
    and the answer to every call.

    ``strict``: a method not faked is answered 404 (else ``True``). ``long_poll``: the longest a getUpdates
    waits for an update (0: never; in-process nothing may block)."""

    def __init__(self, bot: dict[str, Any], *, strict: bool = False, long_poll: float = 0.0) -> None:
        self.bot = bot
        self.strict = strict
        self.long_poll = long_poll
        self.calls: list[Call] = []
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.delivered: set[int] = set()  # update IDs returned by getUpdates at least once
        self.refuse_token = False  # answer every call 401 Unauthorized, as for a revoked token
        self.polls = 0  # getUpdates requests received (counted on arrival, unlike ``calls``)
        self.failures: dict[str, list[Failure]] = {}
        self.kills: list[_Kill] = []
        self.killed: list[Call] = []  # the calls that triggered a kill
        self.cond = threading.Condition()
        self._message_ids = itertools.count(1)
        self._next_update_id = 1

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
                    if "message" in u:  # a new message takes the chat's next message ID, as ours do (in
                        # the caller's dict too, so that a test sees the ID Telegram gave it)
                        u["message"]["message_id"] = next(self._message_ids)
                self._next_update_id = max(self._next_update_id, uid + 1)
                queued.append({**u, "update_id": uid})
            self.updates = sorted(self.updates + queued, key=lambda u: u["update_id"])
            self.cond.notify_all()
            return [u["update_id"] for u in queued]

    def fail(self, method: str, *failures: Failure) -> None:
        """Answer the next calls of ``method`` with these failures, one each, in order."""
        with self.cond:
            self.failures.setdefault(method, []).extend(failures)

    def kill_on(self, pid: int, predicate: Callable[[Call], bool], delivered: bool = False) -> None:
        """SIGKILL ``pid`` when a call matching ``predicate`` arrives (once), before answering it; with
        ``delivered`` the call counts as accepted (Telegram took the message, the bot never heard)."""
        with self.cond:
            self.kills.append(_Kill(pid, predicate, delivered))

    # ---- reading the record -------------------------------------------------------------------------

    def attempts(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """Every call of ``method``, failed ones and ones not yet answered included."""
        with self.cond:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """The calls of ``method`` that the fake accepted."""
        return [c for c in self.attempts(chat_id, method) if c.status == 200]

    def answers(self) -> list[Call]:
        return self.attempts(method="answerCallbackQuery")

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

    # ---- the Bot API ----------------------------------------------------------------------------------

    def arrive(self, method: str, params: dict[str, Any], files: dict[str, bytes] | None = None) -> Call:
        """Record a call on its arrival, before ``handle(..., call=)`` answers it (status None till then)."""
        call = Call(method, params, time.monotonic(), None, files or {})
        with self.cond:
            self.calls.append(call)
            self.cond.notify_all()
        return call

    def handle(self, method: str, params: dict[str, Any], files: dict[str, bytes] | None = None, *,
               call: Call | None = None) -> Reply:
        """Answer one call. It is recorded as it is answered, unless ``call`` is its record from ``arrive``
        (a getUpdates then keeps its parameters; else its record holds the offset and how many returned)."""
        if self.refuse_token:
            if call is not None:
                call.status = 401
            return Reply.error(401, "Unauthorized")
        recorded = call is not None
        if method == "getUpdates":
            with self.cond:
                self.polls += 1
                self.cond.notify_all()
                failure = self._next_failure(method)
            if failure is not None:
                return self._failed(call or Call(method, params, time.monotonic()), failure, recorded)
            return Reply.ok(self._get_updates(params, call))
        call = call or Call(method, params, time.monotonic(), files=files or {})
        with self.cond:
            failure = self._next_failure(method)
            kill = next((k for k in self.kills if k.predicate(call)), None)
        if kill is not None:
            with self.cond:
                self.kills.remove(kill)
                self._record(call, 200 if kill.delivered else 0, recorded)
                self.killed.append(call)
            os.kill(kill.pid, signal.SIGKILL)
            return Reply.error(500, "killed")  # nobody reads the answer
        if failure is not None:
            return self._failed(call, failure, recorded)
        with self.cond:
            reply = self._answer(method, params)
            result = (reply.body or {}).get("result")
            if isinstance(result, dict) and "message_id" in result:
                call.message_id = result["message_id"]
            self._record(call, reply.status, recorded)
            return reply

    def result(self, method: str, params: dict[str, Any]) -> Any:
        """The result Telegram gives for a call that succeeds (a message takes the next message ID);
        NotFaked for a method not faked when ``strict``. Parameters may be JSON-encoded strings."""
        if method == "getMe":
            return self.bot
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            return [u for u in self.updates if u["update_id"] >= offset]
        if method == "sendDocument":
            return {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.bot,
                    "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "X"},
                    "document": {"file_id": "BQAD-export", "file_unique_id": "e1", "file_name": "audit.jsonl"},
                    "caption": str(params.get("caption", ""))}
        if method in ("sendMessage", "editMessageText"):
            message_id = int(params["message_id"]) if method == "editMessageText" else next(self._message_ids)
            msg = {"message_id": message_id, "date": int(time.time()), "from": self.bot,
                   "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "X"},
                   "text": str(params.get("text", ""))}
            if params.get("reply_markup"):
                rm = params["reply_markup"]
                msg["reply_markup"] = json.loads(rm) if isinstance(rm, str) else rm
            return msg
        if method in TRUE_METHODS or not self.strict:
            return True
        raise NotFaked(method)

    def _answer(self, method: str, params: dict[str, Any]) -> Reply:
        with self.cond:
            try:
                return Reply.ok(self.result(method, params))
            except NotFaked:
                return Reply.error(404, "Not Found: method not faked")

    def _record(self, call: Call, status: int, recorded: bool) -> None:
        with self.cond:
            call.status = status
            if not recorded:
                self.calls.append(call)
            self.cond.notify_all()

    def _next_failure(self, method: str) -> Failure | None:
        pending = self.failures.get(method)
        return pending.pop(0) if pending else None

    def _failed(self, call: Call, failure: Failure, recorded: bool) -> Reply:
        if failure.timeout:  # delivered (or not) now; the answer is what is late
            self._record(call, 200 if failure.delivered else 0, recorded)
            return Reply(0, hold=failure.hold, late=lambda: self._answer(call.method, call.params))
        self._record(call, failure.status, recorded)
        return Reply.error(failure.status, failure.description, failure.retry_after)

    def _get_updates(self, params: dict[str, Any], call: Call | None) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), self.long_poll)
        deadline = time.monotonic() + timeout
        with self.cond:
            if offset:  # confirms every update below it, gone for good
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            batch = list(self.updates[:100])
            self.delivered.update(u["update_id"] for u in batch)
            recorded = call is not None
            if call is None:
                call = Call("getUpdates", {"offset": offset, "returned": len(batch)}, time.monotonic())
            self._record(call, 200, recorded)
            return batch
