"""Driving the real python-telegram-bot Application without a network.

``RecordingRequest`` is a ``BaseRequest`` in front of the fake Bot API of tests/bot_api.py, which answers
the methods the bot uses with realistic JSON and records every call; failures (HTTP status, 429 with
retry_after, time-outs) can be injected.
The builders make real Update JSON (messages, commands with their entities, callback queries, photos,
group messages) that ``Harness.feed`` passes to ``Application.process_update``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from pathlib import Path
from typing import Any

from bot_api import BotAPI, Call, Failure
from telegram import Update
from telegram.error import TimedOut
from telegram.ext import BaseRateLimiter
from telegram.request import BaseRequest, RequestData

from bot.settings import Settings
from bot.telegram.app import build_application
from conversations.dialogue import engine

TOKEN = "123456:TEST-token-never-real"
BOT = {"id": 123456, "is_bot": True, "first_name": "Screening", "username": "screening_test_bot",
       "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
COORDINATOR = 9001
PHYSICIAN = 1001
STRANGER = 5005


class PassThrough(BaseRateLimiter):
    """A rate limiter that limits nothing: no waiting for Telegram's 30 messages/s where hundreds are
    sent (the hostile state machine, the load benchmark)."""

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        return await callback(*args, **kwargs)


class RecordingRequest(BaseRequest):
    """The in-process transport: a ``BaseRequest`` that hands every call to a ``BotAPI`` (its own unless
    one is given) and answers with its reply, a time-out raising ``TimedOut``. A call is recorded on
    arrival; one to a chat in ``stalls`` then waits for that event before it is answered."""

    def __init__(self, api: BotAPI | None = None) -> None:
        self.api = api if api is not None else BotAPI(BOT)
        if api is None:  # one count for the messages users type and the bot sends, as in a private chat
            self.api._message_ids = _message_ids
        self.stalls: dict[int, asyncio.Event] = {}  # chat ID: calls to it wait for the event

    @property
    def calls(self) -> list[Call]:
        return self.api.calls

    @property
    def failures(self) -> dict[str, list[Failure]]:
        return self.api.failures

    @property
    def updates(self) -> list[dict]:
        return self.api.updates

    @updates.setter
    def updates(self, updates: list[dict]) -> None:
        self.api.updates = updates

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def fail(self, method: str, *failures: Failure) -> None:
        self.api.fail(method, *failures)

    def result(self, name: str, params: dict[str, Any]) -> Any:
        return self.api.result(name, params)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {k: v[1] for k, v in (request_data.multipart_data or {}).items()} if request_data else {}
        call = self.api.arrive(name, params, files)
        stall = self.stalls.get(int(params["chat_id"])) if "chat_id" in params else None
        if stall is not None:
            await stall.wait()
        reply = self.api.handle(name, params, files, call=call)
        if reply.status == 0:
            raise TimedOut("Timed out (injected)")
        return reply.status, reply.payload()

    # ---- reading the record -----------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        """Every call of ``method``: failed ones and ones still stalled included."""
        return self.api.attempts(chat_id, method)

    def answers(self) -> list[Call]:
        return self.api.answers()


# ---- Update JSON -------------------------------------------------------------------------------------

_update_ids = itertools.count(100)
_message_ids = itertools.count(5000)


def user(uid: int, username: str | None = None) -> dict:
    u = {"id": uid, "is_bot": False, "first_name": f"User{uid}", "language_code": "en"}
    if username:
        u["username"] = username
    return u


def private_chat(uid: int) -> dict:
    return {"id": uid, "type": "private", "first_name": f"User{uid}"}


def group_chat(chat_id: int = -100777) -> dict:
    return {"id": chat_id, "type": "group", "title": "Ward team"}


def _message(uid: int, chat: dict | None = None, message_id: int | None = None, **content: Any) -> dict:
    return {"message_id": message_id or next(_message_ids), "date": int(time.time()), "from": user(uid),
            "chat": chat or private_chat(uid), **content}


def message(uid: int, text: str, *, chat: dict | None = None, update_id: int | None = None,
            edited: bool = False, message_id: int | None = None) -> dict:
    """A message from ``uid``, typed now: its ID, unless given, is the next of the count the in-process
    Bot API gives the bot's messages too, so it follows every message delivered so far."""
    msg = _message(uid, chat, message_id, text=text)
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if edited:
        msg["edit_date"] = int(time.time())
        return {"update_id": update_id or next(_update_ids), "edited_message": msg}
    return {"update_id": update_id or next(_update_ids), "message": msg}


def callback(uid: int, data: str, *, message_id: int = 1, update_id: int | None = None,
             chat: dict | None = None) -> dict:
    return {"update_id": update_id or next(_update_ids), "callback_query": {
        "id": str(next(_update_ids) * 7), "from": user(uid), "chat_instance": "ci-1", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()), "from": BOT,
                    "chat": chat or private_chat(uid), "text": "(earlier message)"}}}


ATTACHMENTS = {
    "photo": {"photo": [{"file_id": "AgAD-photo", "file_unique_id": "p1", "width": 90, "height": 90}],
              "caption": "patient Jane Doe"},
    "document": {"document": {"file_id": "BQAD-doc", "file_unique_id": "d1", "file_name": "labs.pdf"}},
    "sticker": {"sticker": {"file_id": "CAAD-st", "file_unique_id": "s1", "type": "regular", "width": 512,
                            "height": 512, "is_animated": False, "is_video": False}},
    "voice": {"voice": {"file_id": "AwAD-voice", "file_unique_id": "v1", "duration": 3}},
    "contact": {"contact": {"phone_number": "+100000000", "first_name": "Jane"}},
    "location": {"location": {"latitude": 48.1, "longitude": 11.5}},
}


def attachment(uid: int, kind: str, *, update_id: int | None = None) -> dict:
    return {"update_id": update_id or next(_update_ids), "message": _message(uid, **ATTACHMENTS[kind])}


# ---- the application -----------------------------------------------------------------------------


class Harness:
    """A real Application over a RecordingRequest and a database in ``tmp_path``."""

    def __init__(self, tmp_path: Path, *, coordinators: tuple[int, ...] = (COORDINATOR,),
                 physicians: tuple[int, ...] = (PHYSICIAN,), clock: Any = None, **settings: Any):
        self.settings = Settings(
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL="https://api.telegram.test/bot",
            SCREENING_DB_PATH=tmp_path / "screening.db",
            SCREENING_COORDINATOR_IDS=",".join(map(str, coordinators)),
            SCREENING_PHYSICIAN_IDS=",".join(map(str, physicians)), _env_file=None, **settings)
        self.request = RecordingRequest()
        self.updates_request = RecordingRequest()
        self.clock = clock
        self.app = build_application(self.settings, request=self.request,
                                     get_updates_request=self.updates_request, clock=clock)

    async def __aenter__(self) -> Harness:
        await self.app.initialize()
        await self.app.post_init(self.app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.shutdown()
        await self.app.post_shutdown(self.app)

    @property
    def services(self):
        return self.app.bot_data

    @property
    def db(self):
        return self.services.store.db

    async def feed(self, update: dict) -> list[Call]:
        """Process one update; the calls it caused. Then the sender is idle: what it delivered is marked
        (as the outbox's idle timer would, a moment later), so that the record is read as it settles."""
        before = len(self.request.calls)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        self.services.outbox.write_marks()
        return self.request.calls[before:]

    async def say(self, uid: int, text: str, **kw: Any) -> list[Call]:
        return await self.feed(message(uid, text, **kw))

    async def press(self, uid: int, data: str, message_id: int = 1, **kw: Any) -> list[Call]:
        return await self.feed(callback(uid, data, message_id=message_id, **kw))

    async def decide(self, uid: int, ref: str, send_no: int, code: str, *, items: list[int] | None = None,
                     reason: int = 0, note: str | None = None) -> list[Call]:
        """A decision as a coordinator makes it (a: accept, i: need information, d: decline): the summary's
        button, then on the confirmation ``items`` (the indexes of the items to ask for; all offered when
        None) or ``reason`` (the index of the decline reason), an optional typed ``note``, then "Yes". The
        calls of every step."""
        calls = await self.press(uid, f"d:{ref}:{send_no}:{code}")
        confirm = [c for c in calls if c.chat_id == uid and any(d.startswith("dc:") for _, d in c.buttons())]
        assert confirm, f"no confirmation for {ref}: {[c.text for c in calls]}"
        buttons = confirm[-1].buttons()
        base = f"dc:{ref}:{send_no}"
        message_id = 7000 + send_no
        if code == "i":
            offered = [d for _, d in buttons if d.startswith(f"{base}:t")]
            for i in range(len(offered)) if items is None else items:
                calls += await self.press(uid, f"{base}:t{i}", message_id=message_id)
            if not offered and note is None:
                note = "Please send the missing results."
        elif code == "d":
            calls += await self.press(uid, f"{base}:r{reason}", message_id=message_id)
        if note is not None:
            calls += await self.say(uid, note)
        return calls + await self.press(uid, f"{base}:y", message_id=message_id)

    async def deliver(self) -> int:
        """One round of the sender, its marks written as the idle timer would; the rows still pending."""
        await self.services.sender.deliver_due()
        self.services.outbox.write_marks()
        return len(self.services.outbox.pending())

    def audit(self, type_: str | None = None) -> list[dict]:
        rows = self.db.conn.execute("SELECT seq, actor_role, actor_id, referral_id, type, payload"
                                    " FROM audit_events ORDER BY seq").fetchall()
        events = [{"seq": r[0], "actor_role": r[1], "actor_id": r[2], "referral_id": r[3], "type": r[4],
                   "payload": json.loads(r[5])} for r in rows]
        return [e for e in events if type_ is None or e["type"] == type_]


def texts(calls: list[Call], method: str = "sendMessage") -> list[str]:
    return [c.text for c in calls if c.method == method]


def last_question(calls: list[Call]) -> Call:
    """The last sent message with an answer keyboard."""
    for c in reversed(calls):
        if c.method in ("sendMessage", "editMessageText") and any(
                d.startswith(("a:", "t:", "k:")) for _, d in c.buttons()):
            return c
    raise AssertionError("no question among the calls")


# ---- driving a pre-screen ------------------------------------------------------------------------

REF = re.compile(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}")

# A 12-year-old girl who meets every criterion, answered by question ID (calculator steps included, in
# case a test answers "unknown" to a score; "target_not_reached" answers "in LLDAS or remission now?").
ELIGIBLE = {
    "age_years": "12", "sex": "female", "childbearing_potential": "yes", "exclusion_checklist": "none",
    "sle_eular_acr_2019": "yes", "sledai_2k": "12", "intolerant_to_conventional": "no", "soc_months": "12",
    "gc_high_dose": "yes", "hcq": "yes", "dmards": "mycophenolate, cyclophosphamide",
    "target_not_reached": "no", "ln_classes": "IV", "lvef_percent": "62", "ecg_significant_abnormality": "no",
    "egfr": "95", "ast_x_uln": "1", "alt_x_uln": "1", "bilirubin_x_uln": "0.5", "severe_lung_disease": "no",
    "spo2_percent": "98", "cardiac_conditions": "none", "ln_chronicity_index": "2", "hbsag": "negative",
    "hbcab": "negative", "hcv_ab": "negative", "hiv_ab": "negative", "syphilis": "negative",
    "cmv_dna": "negative", "agrees_contraception": "yes", "apheresis_suitable": "yes", "cns_lupus": "no",
    "refractory_cytopenia": "no", "other_major_organ": "no", "steroid_dependent": "no", "hbv_dna": "negative",
    "hcv_rna": "negative",
    "eular_acr_2019.ana_ge_1_80": "yes", "eular_acr_2019.items": "acute cutaneous lupus, anti_dsdna_or_anti_sm",
    "sledai_2k_items": "arthritis, proteinuria, low_complement", "gc_peak_drug": "prednisone",
    "gc_drug_mg_day": "40", "weight_kg": "30", "creatinine": "0.6 mg/dL", "height_cm": "145",
    "gc_taper_tried": "yes", "gc_taper_floor_mg_kg_day": "0.6",
}


def ref_of(calls: list[Call]) -> str:
    return REF.search("\n".join(c.text for c in calls)).group(0)


async def answer_current(h: Harness, ref: str, answers: dict[str, str]) -> list[Call]:
    """Answer the question on screen as a phone user would: a button when one fits, else typing."""
    state = h.services.store.load(ref)
    q = engine.current_question(state)
    text = answers[q.fact]
    base = f"{ref}:{q.seq}"
    if q.kind == "yes_no" and text in ("yes", "no", "unknown"):
        return await h.press(PHYSICIAN, f"a:{base}:{text[0]}", message_id=40 + q.seq)
    values = [c.value for c in q.choices]
    if q.kind == "choice" and text in values:
        return await h.press(PHYSICIAN, f"a:{base}:{values.index(text)}", message_id=40 + q.seq)
    return await h.say(PHYSICIAN, text)


async def run_to_end(h: Harness, ref: str, answers: dict[str, str]) -> list[Call]:
    calls: list[Call] = []
    for _ in range(80):
        if h.services.store.load(ref).phase != "asking":
            return calls
        calls += await answer_current(h, ref, answers)
    raise AssertionError("the pre-screen did not end")
