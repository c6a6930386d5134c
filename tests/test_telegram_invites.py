"""Invites: a coordinator's /invite gives a single-use deep link (≥128 bits, stored as a hash only,
7 days, bound to the first account); /revoke removes a physician."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from telegram_harness import COORDINATOR, PHYSICIAN, STRANGER, Harness, texts

from conversations.records.registry import code_hash

LINK = re.compile(r"https://t\.me/screening_test_bot\?start=([A-Za-z0-9_-]+)")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def invite(h: Harness) -> str:
    calls = await h.say(COORDINATOR, "/invite")
    return LINK.search(texts(calls)[-1]).group(1)


def everything_stored(h: Harness) -> str:
    """Every text the database holds (all tables), to look for secrets in."""
    out = []
    for (table,) in h.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in h.db.conn.execute(f"SELECT * FROM [{table}]"):
            out += [str(v) for v in row]
    return "\n".join(out)


async def test_a_valid_invite_registers_the_first_account(tmp_path):
    async with Harness(tmp_path) as h:
        code = await invite(h)
        assert len(code) >= 22, "at least 128 bits of token_urlsafe"
        calls = await h.say(STRANGER, f"/start {code}")
        assert "You are registered as a referring physician" in calls[0].text
        assert h.services.role_of(STRANGER) == "physician"
        calls = await h.say(STRANGER, "/screen")
        assert "finish registering first" in calls[0].text, "the registration comes first (issue 15)"
        for answer in ("Dr Anna Weber", "Charité Berlin", "+49 30 1234567"):
            calls = await h.say(STRANGER, answer)
        assert "Thank you, Dr Anna Weber" in calls[0].text
        calls = await h.say(STRANGER, "/screen")
        assert "New pre-screen R-" in calls[0].text
        created, registered = h.audit("invite_created"), h.audit("physician_registered")
        assert registered[0]["payload"]["invite_id"] == created[0]["payload"]["invite_id"]
        assert registered[0]["actor_id"] == STRANGER
        stored = everything_stored(h)
        assert code not in stored, "the code is stored nowhere, not even in the audit trail"
        assert code_hash(code) in stored


async def test_a_reused_invite_is_refused_for_anyone_else(tmp_path):
    async with Harness(tmp_path, physicians=()) as h:
        code = await invite(h)
        await h.say(STRANGER, f"/start {code}")
        calls = await h.say(STRANGER + 1, f"/start {code}")
        assert "already been used" in calls[0].text
        assert h.services.role_of(STRANGER + 1) == "stranger"
        calls = await h.say(STRANGER, f"/start {code}")
        assert "already registered" in calls[0].text, "the owner using it again is told, nothing changes"
        refused = h.audit("access_refused")
        assert [e["payload"]["reason"] for e in refused] == ["invite_used"]


async def test_an_expired_invite_is_refused(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        code = await invite(h)
        clock.now += timedelta(days=7)
        calls = await h.say(STRANGER, f"/start {code}")
        assert "expired" in calls[0].text
        assert h.services.role_of(STRANGER) == "stranger"
        clock.now -= timedelta(seconds=1)
        calls = await h.say(STRANGER, f"/start {code}")
        assert "You are registered" in calls[0].text, "valid until the seventh day ends"


async def test_a_guessed_code_is_refused_and_not_recorded(tmp_path):
    async with Harness(tmp_path) as h:
        await invite(h)
        guess = "A" * 32
        calls = await h.say(STRANGER, f"/start {guess}")
        assert "not valid" in calls[0].text
        refused = h.audit("access_refused")[-1]
        assert refused["payload"] == {"reason": "invite_unknown", "chat_type": "private", "update_kind": "command"}
        assert guess not in everything_stored(h)


async def test_start_is_matched_in_any_case_and_with_the_bot_name(tmp_path):
    """/Start <code> reaches the start handler as Telegram matches commands: it must register, and its code
    be stored nowhere, like /start <code>."""
    async with Harness(tmp_path, physicians=()) as h:
        code = await invite(h)
        calls = await h.say(STRANGER, f"/Start {code}")
        assert "You are registered as a referring physician" in calls[0].text
        assert h.services.role_of(STRANGER) == "physician"
        second = await invite(h)
        calls = await h.say(STRANGER + 1, f"/START@screening_test_bot {second}")
        assert "You are registered as a referring physician" in calls[0].text
        stored = everything_stored(h)
        assert code not in stored and second not in stored
        texts_ = [e["payload"]["text"] for e in h.audit("update_received") if e["actor_id"] in (STRANGER, STRANGER + 1)]
        assert texts_ == ["/start [invite code]"] * 2


async def test_revoke_removes_a_physician(tmp_path):
    async with Harness(tmp_path) as h:
        code = await invite(h)
        await h.say(STRANGER, f"/start {code}")
        calls = await h.say(COORDINATOR, f"/revoke {STRANGER}")
        assert "was removed" in calls[0].text
        calls = await h.say(STRANGER, "/screen")
        assert "ask a study coordinator" in calls[0].text
        calls = await h.say(COORDINATOR, f"/revoke {PHYSICIAN}")  # on the allow-list
        assert "remove it there too" in calls[0].text
        assert h.services.role_of(PHYSICIAN) == "stranger"
        calls = await h.say(COORDINATOR, f"/revoke {PHYSICIAN}")
        assert "not a physician" in calls[0].text
        calls = await h.say(COORDINATOR, "/revoke @someone")
        assert calls[0].text.startswith("Usage: /revoke")
        assert [e["payload"] for e in h.audit("physician_revoked")] == [
            {"physician_id": STRANGER, "existed": True}, {"physician_id": PHYSICIAN, "existed": False}]


async def test_physicians_cannot_invite_or_revoke(tmp_path):
    async with Harness(tmp_path) as h:
        calls = await h.say(PHYSICIAN, "/invite")
        assert "I did not understand that" in calls[0].text
        calls = await h.say(PHYSICIAN, f"/revoke {PHYSICIAN}")
        assert "I did not understand that" in calls[0].text
        assert not h.audit("invite_created") and not h.audit("physician_revoked")


async def test_a_revoked_physician_can_come_back_only_with_a_new_invite(tmp_path):
    async with Harness(tmp_path, physicians=()) as h:
        first = await invite(h)
        await h.say(STRANGER, f"/start {first}")
        await h.say(COORDINATOR, f"/revoke {STRANGER}")
        calls = await h.say(STRANGER, f"/start {first}")
        assert "already been used" in calls[0].text
        second = await invite(h)
        calls = await h.say(STRANGER, f"/start {second}")
        assert "You are registered" in calls[0].text and h.services.role_of(STRANGER) == "physician"


async def test_revoke_with_an_id_too_long_for_telegram_is_a_usage_line(tmp_path):
    """Issue 13: `/revoke 99999999999999999999999` crashed the handler (an integer SQLite cannot hold)."""
    async with Harness(tmp_path) as h:
        calls = await h.say(COORDINATOR, "/revoke 99999999999999999999999")
        assert len(calls) == 1 and calls[0].text.startswith("Usage: /revoke")
        assert h.audit("physician_revoked") == []
