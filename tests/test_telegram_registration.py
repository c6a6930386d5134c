"""Physicians register themselves (issue 15): redeeming an invite asks their name, institution and a contact
of their own, one at a time, kept in the physician directory (not in memory: a restart asks on); the
contact is the one answer a phone number or an e-mail address passes the identifier filter, and it is
stored in the directory only; /profile shows and changes the details; every coordinator is told of the
redemption; cancelled and expired invites are refused; the validity is chosen when the invite is made."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from telegram_harness import COORDINATOR, PHYSICIAN, STRANGER, Harness, ref_of, texts

from conversations.records import rebuild
from conversations.records.registry import contact_digest

LINK = re.compile(r"https://t\.me/screening_test_bot\?start=([A-Za-z0-9_-]+)")
SECOND = 9002
PHONE = "+41 44 555 12 34"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def invite(h: Harness, command: str = "/invite") -> str:
    return LINK.search(texts(await h.say(COORDINATOR, command))[-1]).group(1)


def stored(h: Harness, *tables: str) -> str:
    out = []
    for table in tables:
        for row in h.db.conn.execute(f"SELECT * FROM [{table}]"):
            out += [str(v) for v in row]
    return "\n".join(out)


async def register(h: Harness, uid: int = STRANGER, contact: str = PHONE) -> None:
    await h.say(uid, f"/start {await invite(h)}")
    for answer in ("Dr Anna Weber", "Charité Berlin", contact):
        await h.say(uid, answer)


async def test_registration_step_by_step(tmp_path):
    async with Harness(tmp_path) as h:
        code = await invite(h)
        calls = await h.say(STRANGER, f"/start {code}")
        assert "You are registered" in calls[0].text and "What is your name" in calls[0].text
        assert "What is your name" in texts(await h.say(STRANGER, "x"))[0], "too short: asked again"
        assert "Which hospital" in texts(await h.say(STRANGER, "Dr Anna Weber"))[0]
        assert "How can the study team reach you" in texts(await h.say(STRANGER, "Charité Berlin"))[0]
        calls = await h.say(STRANGER, "no phone")
        assert "does not look like one phone number" in texts(calls)[0]
        calls = await h.say(STRANGER, PHONE)
        assert "Thank you, Dr Anna Weber" in texts(calls, "sendMessage")[0]
        row = h.db.conn.execute("SELECT name, institution, contact, contact_salt FROM physicians WHERE user_id = ?",
                                (STRANGER,)).fetchone()
        assert row[:3] == ("Dr Anna Weber", "Charité Berlin", PHONE)
        events = [e["payload"] for e in h.audit("physician_profile")]
        assert [(e["field"], e["registration"]) for e in events] == [
            ("name", True), ("institution", True), ("contact", True)]
        assert events[0]["value"] == "Dr Anna Weber"
        assert events[2]["value"] == contact_digest(row[3], PHONE), "the trail keeps the salted digest only"
        assert PHONE not in stored(h, "audit_events", "telegram_updates", "telegram_outbox", "prescreens")
        assert "[contact: kept in the physician directory only]" in [
            e["payload"]["text"] for e in h.audit("update_received")]
        assert h.db.conn.execute("SELECT count(*) FROM prescreens").fetchone()[0] == 0
        assert "New pre-screen" in texts(await h.say(STRANGER, "/screen"))[0]
        assert rebuild.compare(h.db).ok


async def test_a_name_that_looks_like_an_identifier_is_still_refused(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(STRANGER, f"/start {await invite(h)}")
        calls = await h.say(STRANGER, "04.03.2012")
        assert "looks like a date" in texts(calls)[0] and "What is your name" in texts(calls)[0]
        assert any(c.method == "deleteMessage" for c in calls), "removed from the chat like any identifier"
        await h.say(STRANGER, "Dr Anna Weber")
        calls = await h.say(STRANGER, "MRN 123456")
        assert "Which hospital" in texts(calls)[0] and "looks like" in texts(calls)[0]
        await h.say(STRANGER, "Charité Berlin")
        calls = await h.say(STRANGER, "born 04.03.2012")
        assert "How can the study team reach you" in texts(calls)[0], "only a phone or e-mail as the contact"
        assert "04.03.2012" not in stored(h, "audit_events", "telegram_updates", "telegram_outbox", "physicians")


async def test_a_contact_typed_as_a_pre_screen_answer_is_still_refused(tmp_path):
    async with Harness(tmp_path) as h:
        await register(h)
        ref = ref_of(await h.say(STRANGER, "/screen"))
        calls = await h.say(STRANGER, "a.weber@clinic.example")
        assert "e-mail" in texts(calls)[0] and ref in texts(calls)[-1]
        assert "a.weber@clinic.example" not in stored(h, "audit_events", "telegram_updates", "prescreens")


async def test_an_email_is_accepted_as_the_contact(tmp_path):
    async with Harness(tmp_path) as h:
        await register(h, contact="a.weber@clinic.example")
        assert h.services.registry.physician(STRANGER).contact == "a.weber@clinic.example"
        assert "a.weber@clinic.example" not in stored(h, "audit_events", "telegram_updates", "telegram_outbox")


async def test_a_restart_mid_registration_asks_on(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(STRANGER, f"/start {await invite(h)}")
        await h.say(STRANGER, "Dr Anna Weber")
    async with Harness(tmp_path) as h:
        calls = await h.say(STRANGER, "/screen")
        assert "finish registering first" in texts(calls)[0] and "Which hospital" in texts(calls)[0]
        await h.say(STRANGER, "Charité Berlin")
        calls = await h.say(STRANGER, PHONE)
        assert "Thank you, Dr Anna Weber" in texts(calls)[0]
        assert h.services.registry.physician(STRANGER).institution == "Charité Berlin"


async def test_profile_shows_and_changes_the_details(tmp_path):
    async with Harness(tmp_path) as h:
        await register(h)
        calls = await h.say(STRANGER, "/profile")
        shown = texts(calls)[0]
        assert "Dr Anna Weber" in shown and "Charité Berlin" in shown and PHONE in shown
        assert {d for _, d in calls[0].buttons()} == {"pf:name", "pf:institution", "pf:contact"}
        assert PHONE not in stored(h, "audit_events", "telegram_outbox"), "sent directly, recorded without it"
        calls = await h.press(STRANGER, "pf:contact")
        assert "How can the study team reach you" in texts(calls)[0]
        calls = await h.say(STRANGER, "anna.weber@charite.example")
        assert "Saved" in texts(calls)[0]
        await h.press(STRANGER, "pf:name")
        await h.say(STRANGER, "Prof. Anna Weber")
        entry = h.services.registry.physician(STRANGER)
        assert (entry.name, entry.contact) == ("Prof. Anna Weber", "anna.weber@charite.example")
        changes = [e["payload"] for e in h.audit("physician_profile") if not e["payload"]["registration"]]
        assert [c["field"] for c in changes] == ["contact", "name"]
        await h.press(STRANGER, "pf:institution")
        calls = await h.say(STRANGER, "/status")  # a command ends a change left unanswered
        assert h.services.registry.asking(STRANGER) is None
        assert rebuild.compare(h.db).ok


async def test_an_allow_listed_physician_can_fill_in_a_profile(tmp_path):
    async with Harness(tmp_path) as h:
        await h.press(PHYSICIAN, "pf:name")
        await h.say(PHYSICIAN, "Dr Ben Kim")
        assert h.services.registry.physician(PHYSICIAN, h.settings.physician_ids).name == "Dr Ben Kim"
        assert rebuild.compare(h.db).ok


async def test_every_coordinator_is_told_of_the_redemption(tmp_path):
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND)) as h:
        code = await invite(h)
        invite_id = h.audit("invite_created")[0]["payload"]["invite_id"]
        calls = await h.say(STRANGER, f"/start {code}")
        for cid in (COORDINATOR, SECOND):
            notice = [c.text for c in calls if c.chat_id == cid]
            assert len(notice) == 1 and invite_id in notice[0] and f"tg://user?id={STRANGER}" in notice[0]
        await h.say(STRANGER, "Dr Anna Weber")
        await h.say(STRANGER, "Charité Berlin")
        calls = await h.say(STRANGER, PHONE)
        for cid in (COORDINATOR, SECOND):
            notice = [c.text for c in calls if c.chat_id == cid]
            assert len(notice) == 1 and "Dr Anna Weber" in notice[0] and "Charité Berlin" in notice[0]
            assert invite_id in notice[0] and f"tg://user?id={STRANGER}" in notice[0] and PHONE not in notice[0]


async def test_cancelled_and_expired_invites_are_refused(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        code = await invite(h)
        invite_id = h.audit("invite_created")[0]["payload"]["invite_id"]
        calls = await h.press(COORDINATOR, f"ix:{invite_id}")
        assert "was cancelled" in texts(calls)[0]
        assert "was cancelled" in texts(await h.say(STRANGER, f"/start {code}"))[0]
        assert h.services.role_of(STRANGER) == "stranger"
        assert "no longer open" in texts(await h.press(COORDINATOR, f"ix:{invite_id}"))[0]
        short = await invite(h, "/invite 1")
        clock.now += timedelta(days=1)
        assert "expired" in texts(await h.say(STRANGER, f"/start {short}"))[0]
        assert [e["payload"]["invite_id"] for e in h.audit("invite_cancelled")] == [invite_id]
        assert rebuild.compare(h.db).ok


async def test_the_validity_is_chosen_when_the_invite_is_made(tmp_path):
    clock = Clock()
    async with Harness(tmp_path, clock=clock) as h:
        calls = await h.say(COORDINATOR, "/invite")
        assert "valid 7 days" in texts(calls)[0]
        assert [d for _, d in calls[-1].buttons()] == ["iv:1", "iv:7", "iv:30"]
        calls = await h.press(COORDINATOR, "iv:30")
        assert "valid 30 days" in texts(calls)[0] and LINK.search(texts(calls)[0])
        await h.say(COORDINATOR, "/invite 3")
        lifetimes = [datetime.fromisoformat(e["payload"]["expires_at"].replace("Z", "+00:00")) - clock.now
                     for e in h.audit("invite_created")]
        assert lifetimes == [timedelta(days=7), timedelta(days=30), timedelta(days=3)]
        for bad in ("/invite 0", "/invite 91", "/invite soon"):
            assert texts(await h.say(COORDINATOR, bad))[0].startswith("Usage: /invite")
        await h.press(PHYSICIAN, "iv:7")
        assert "not valid for you" in h.request.answers()[-1].params.get("text", "")
        assert len(h.audit("invite_created")) == 3, "nobody else makes invites"
