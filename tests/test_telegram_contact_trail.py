"""A physician's contact reaches the coordinators in the summary, and never the audit trail (issue 15): the
trail's copy of every message keeps a placeholder where the contact was (bot/telegram/contact.py), as it
keeps only the contact's salted hash from the registration."""

from __future__ import annotations

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

from bot.telegram import contact

PHONE = "+41 44 555 12 34"


async def test_the_summary_shows_the_contact_and_the_trail_keeps_a_placeholder(tmp_path):
    async with Harness(tmp_path) as h:
        # The directory as /profile fills it for the allow-listed physician (registration is tested on its own).
        with h.services.store.transaction() as db:
            db.conn.execute("INSERT OR IGNORE INTO physicians (user_id, via, registered_at)"
                            " VALUES (?, 'allow_list', ?)", (PHYSICIAN, "2026-01-01T00:00:00.000000Z"))
            db.conn.execute("UPDATE physicians SET name = 'Dr Anna Weber', institution = 'Charité Berlin', contact = ?"
                            " WHERE user_id = ?", (PHONE, PHYSICIAN))
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, ELIGIBLE)
        calls = await h.press(PHYSICIAN, f"s:{ref}")
        summary = next(c.text for c in calls if c.params.get("chat_id") == COORDINATOR and ref in c.text)
        assert PHONE in summary and "Dr Anna Weber" in summary, "the coordinator can reach the physician"
        sent = [e["payload"]["text"] for e in h.audit("message_sent") if e["payload"]["chat_id"] == COORDINATOR]
        assert any(ref in t and contact.KEPT in t for t in sent), "the summary is in the trail, its contact is not"
        trail = "\n".join(str(row) for row in h.db.conn.execute("SELECT payload FROM audit_events"))
        assert PHONE not in trail and PHONE.replace(" ", "") not in trail


def test_for_the_trail_replaces_only_what_is_marked():
    text = f"Physician Dr A · Hospital · {contact.marked('+41 44 555 12 34')} · age 12"
    assert contact.for_the_trail(text) == f"Physician Dr A · Hospital · {contact.KEPT} · age 12"
    assert contact.for_the_trail("no contact here 123456") == "no contact here 123456"
