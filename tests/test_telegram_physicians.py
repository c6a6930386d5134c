"""Coordinators manage physicians and invites (issue 15): /physicians lists them with their referral counts
and a revoke button that asks first; /invites lists the open invites, each cancellable; the command menus
are set by role, per chat: none for strangers."""

from __future__ import annotations

import json
import re

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, STRANGER, Harness, ref_of, run_to_end, texts

from bot.telegram import access
from conversations.records import rebuild

LINK = re.compile(r"\?start=([A-Za-z0-9_-]+)")


async def registered(h: Harness, uid: int = STRANGER) -> None:
    code = LINK.search(texts(await h.say(COORDINATOR, "/invite"))[-1]).group(1)
    await h.say(uid, f"/start {code}")
    for answer in ("Dr Anna Weber", "Charité Berlin", "+41 44 555 12 34"):
        await h.say(uid, answer)


async def test_physicians_lists_them_with_their_referral_counts(tmp_path):
    async with Harness(tmp_path) as h:
        await registered(h)
        for _ in range(2):
            ref = ref_of(await h.say(PHYSICIAN, "/screen"))
            await run_to_end(h, ref, ELIGIBLE)
            await h.press(PHYSICIAN, f"s:{ref}")
        calls = await h.say(COORDINATOR, "/physicians")
        text = texts(calls)[0]
        assert "Physicians (2)" in text
        line = next(x for x in text.split("\n") if "Dr Anna Weber" in x)
        assert "Charité Berlin" in line and f"tg://user?id={STRANGER}" in line and "0 referrals" in line
        line = next(x for x in text.split("\n") if f"tg://user?id={PHYSICIAN}" in x)
        assert "2 referrals" in line and "allow-list" in line
        assert [d for _, d in calls[0].buttons()] == [f"pv:{STRANGER}", f"pv:{PHYSICIAN}"]
        assert "+41" not in text, "the contacts stay out of the list (and so out of the trail)"


async def test_revoke_asks_first_then_removes_the_physician_and_their_menu(tmp_path):
    async with Harness(tmp_path) as h:
        await registered(h)
        calls = await h.press(COORDINATOR, f"pv:{STRANGER}")
        assert "Revoke <b>Dr Anna Weber</b>" in texts(calls)[0]
        ask = next(c for c in calls if c.method == "sendMessage")
        assert [d for _, d in ask.buttons()] == [f"py:{STRANGER}", f"pn:{STRANGER}"]
        assert h.services.role_of(STRANGER) == "physician", "nothing happens before the confirmation"
        calls = await h.press(COORDINATOR, f"pn:{STRANGER}", message_id=77)
        assert "stays a physician" in texts(calls, "editMessageText")[0]
        assert h.services.role_of(STRANGER) == "physician"
        calls = await h.press(COORDINATOR, f"py:{STRANGER}", message_id=78)
        assert "Dr Anna Weber</b> was removed" in texts(calls, "editMessageText")[0]
        assert h.services.role_of(STRANGER) == "stranger"
        removed = [c for c in calls if c.method == "deleteMyCommands"]
        assert [_json(c.params["scope"]) for c in removed] == [{"type": "chat", "chat_id": STRANGER}] * 2
        assert [e["payload"] for e in h.audit("physician_revoked")] == [{"physician_id": STRANGER, "existed": True}]
        calls = await h.press(COORDINATOR, f"py:{STRANGER}", message_id=78)
        assert "not a physician" in texts(calls, "editMessageText")[0]
        calls = await h.press(STRANGER, "pf:name")  # the revoked physician's pop-up fits Telegram's 200
        toast = h.request.answers()[-1].params["text"]
        assert len(toast) <= 200 and toast == access.REFUSAL_TOAST
        await h.press(PHYSICIAN, f"py:{PHYSICIAN}")
        assert h.services.role_of(PHYSICIAN) == "physician", "physicians press no coordinator's buttons"
        assert rebuild.compare(h.db).ok


async def test_open_invites_are_listed_and_cancelled(tmp_path):
    async with Harness(tmp_path) as h:
        assert "No open invites" in texts(await h.say(COORDINATOR, "/invites"))[0]
        await registered(h)  # its invite is used: not open
        await h.say(COORDINATOR, "/invite")
        await h.say(COORDINATOR, "/invite 30")
        made = [e["payload"]["invite_id"] for e in h.audit("invite_created")]
        calls = await h.say(COORDINATOR, "/invites")
        text = texts(calls)[0]
        assert "Open invites (2)" in text and made[1] in text and made[2] in text and made[0] not in text
        assert [d for _, d in calls[0].buttons()] == [f"ix:{made[1]}", f"ix:{made[2]}"]
        assert all(len(d.encode()) <= 64 for _, d in calls[0].buttons())
        await h.press(COORDINATOR, f"ix:{made[1]}")
        text = texts(await h.say(COORDINATOR, "/invites"))[0]
        assert "Open invites (1)" in text and made[1] not in text
        row = h.services.registry.invite(made[1])
        assert row["cancelled_by"] == COORDINATOR and row["cancelled_at"] is not None
        assert rebuild.compare(h.db).ok


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def _menus(h: Harness) -> list[tuple[str, dict, list[str]]]:
    out = []
    for c in h.request.calls:
        if c.method in ("setMyCommands", "deleteMyCommands"):
            commands = [x["command"] for x in _json(c.params.get("commands", "[]"))]
            out.append((c.method, _json(c.params.get("scope", '{"type": "default"}')), commands))
    return out


async def test_command_menus_by_role_and_none_for_strangers(tmp_path):
    async with Harness(tmp_path) as h:
        menus = _menus(h)
        set_ = [(scope, cmds) for m, scope, cmds in menus if m == "setMyCommands"]
        assert all(scope["type"] == "chat" for scope, _ in set_), "no menu for all private chats, nor the default"
        by_chat = {scope["chat_id"]: cmds for scope, cmds in set_}
        assert set(by_chat) == {PHYSICIAN, COORDINATOR}
        assert "screen" in by_chat[PHYSICIAN] and "profile" in by_chat[PHYSICIAN]
        assert {"physicians", "invites", "invite"} <= set(by_chat[COORDINATOR]) and "screen" not in by_chat[COORDINATOR]
        deleted = [scope["type"] for m, scope, _ in menus if m == "deleteMyCommands"]
        assert "all_private_chats" in deleted, "a menu an earlier version set for every private chat is removed"
        before = len(h.request.calls)
        await registered(h)
        new = [c for c in h.request.calls[before:] if c.method == "setMyCommands"]
        assert [_json(c.params["scope"]) for c in new] == [{"type": "chat", "chat_id": STRANGER}] * 2  # both languages
        assert STRANGER + 1 not in {s.get("chat_id") for _, s, _ in _menus(h)}
    async with Harness(tmp_path) as h:  # at start: every registered physician and the allow-list
        chats = {s["chat_id"] for m, s, _ in _menus(h) if m == "setMyCommands"}
        assert chats == {PHYSICIAN, STRANGER, COORDINATOR}
