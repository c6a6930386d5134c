"""One event catalogue (issue 11): conversations/dialogue/events.py names every audit event type and the
keys its payload always has. Every event the bot writes, in the terminal, in Telegram, in an export and
in a migration, is in the catalogue with those keys; no producer or reader spells a type by hand."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import steps
from conversation_script import ELIGIBLE_GIRL_12
from telegram_harness import COORDINATOR, PHYSICIAN, STRANGER, Harness, ref_of

from bot import terminal
from conversations.dialogue import engine
from conversations.dialogue.events import PAYLOAD_KEYS, E
from conversations.records import audit_export
from conversations.records.store import Store

ROOT = Path(__file__).resolve().parents[1]
OLD = Path(__file__).parent / "data" / "protocol1.db"


def events(db, after: int = 0) -> list[tuple[str, dict]]:
    rows = db.conn.execute("SELECT type, payload FROM audit_events WHERE seq > ? ORDER BY seq", (after,))
    return [(t, json.loads(p)) for t, p in rows]


def check(written: list[tuple[str, dict]]) -> set[str]:
    for type_, payload in written:
        assert type_ in set(E), f"{type_!r} is not in the catalogue"
        missing = PAYLOAD_KEYS[E(type_)] - payload.keys()
        assert not missing, f"{type_} without {sorted(missing)}"
    return {t for t, _ in written}


def test_every_event_of_the_terminal_and_a_migration_is_in_the_catalogue(tmp_path):
    db_path = tmp_path / "old.db"
    shutil.copy(OLD, db_path)
    old_events = sqlite3.connect(OLD).execute("SELECT max(seq) FROM audit_events").fetchone()[0]
    store = Store.open(db_path)  # the carry-over to protocol 2 writes protocol_changed and outcome events
    lines = ["12", "twelve", "female", "/back", "back", "female", "skip", "cancel"]
    terminal.jsonl(store, None, iter(f"{x}\n" for x in lines), io.StringIO())
    rid = steps.start(store, "physician", 7).referral_id
    for _, answer in ELIGIBLE_GIRL_12:
        steps.apply(store, rid, engine.Answer(answer), "physician", 7)
    audit_export.export(store.db, tmp_path / "out.jsonl", "jsonl", actor_role="operator", actor_id=0)
    seen = check(events(store.db, after=old_events))  # older events may lack keys added since
    store.close()
    assert {E.PRESCREEN_STARTED, E.ANSWER_ACCEPTED, E.ANSWER_REJECTED, E.ANSWER_WITHDRAWN, E.ANSWER_CORRECTED,
            E.OUTCOME, E.PRESCREEN_CANCELLED, E.PROTOCOL_CHANGED, E.EXPORT} <= seen


async def test_every_event_of_telegram_is_in_the_catalogue(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(STRANGER, "hello")
        await h.say(COORDINATOR, "/invite")
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        for _, answer in ELIGIBLE_GIRL_12:
            await h.say(PHYSICIAN, answer)
        await h.say(PHYSICIAN, "born 04.03.2012")
        await h.press(PHYSICIAN, f"s:{ref}")
        await h.decide(COORDINATOR, ref, 1, "a")
        await h.say(COORDINATOR, "/revoke 4242")
        await h.say(COORDINATOR, f"/revoke {PHYSICIAN}")
        code = re.search(r"start=([\w-]+)", [c.text for c in await h.say(COORDINATOR, "/invite 3")][-1]).group(1)
        await h.say(STRANGER + 1, f"/start {code}")
        for answer in ("Dr Anna Weber", "Charité Berlin", "+41 44 555 12 34"):  # registration (issue 15)
            await h.say(STRANGER + 1, answer)
        await h.say(COORDINATOR, "/invite")
        await h.press(COORDINATOR, f"ix:{h.audit(E.INVITE_CREATED)[-1]['payload']['invite_id']}")
        await h.press(COORDINATOR, "lg:en")  # /language (issue 16)
        seen = check([(e["type"], e["payload"]) for e in h.audit()])
    assert {E.ACCESS_REFUSED, E.INVITE_CREATED, E.UPDATE_RECEIVED, E.MESSAGE_SENT, E.REFERRAL_SENT,
            E.COORDINATOR_DECISION, E.PHYSICIAN_REVOKED, E.PHYSICIAN_REGISTERED, E.PHYSICIAN_PROFILE,
            E.INVITE_CANCELLED, E.LANGUAGE_CHOSEN} <= seen


def test_no_module_spells_an_event_type_by_hand():
    """Producers write ``type=E.…`` and readers compare with ``E.…``: a type string appears only in the
    catalogue (a typo would otherwise make an event nobody reads)."""
    names = "|".join(re.escape(str(e)) for e in E)
    spelled = re.compile(rf"""(type_?\s*==\s*|type=|case\s+|type_?,\s*\w+\s*=\s*)["']({names})["']""")
    offenders = []
    for folder in ("bot", "conversations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "events.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if spelled.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
