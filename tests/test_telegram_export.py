"""Coordinators' /export: the jsonl audit export as a document, itself an audit event; nobody else."""

from __future__ import annotations

import json

from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, STRANGER, Failure, Harness, ref_of, run_to_end

from conversations.records.audit_verify import verify


async def test_coordinator_receives_the_jsonl_export_as_a_document(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{ref}")
        calls = await h.say(COORDINATOR, "/export")
        docs = [c for c in calls if c.method == "sendDocument"]
        assert len(docs) == 1 and docs[0].chat_id == COORDINATOR
        body = next(iter(docs[0].files.values())).decode("utf-8")
        records = [json.loads(line) for line in body.splitlines()]
        head = records[-1]
        assert head["record"] == "head"
        transcript = [r for r in records if r["record"] == "transcript" and r["referral_id"] == ref]
        assert transcript and transcript[0]["lines"]
        assert head["chain_hash"] in docs[0].params["caption"]
        assert verify(h.db, head=head["chain_hash"]).ok
        exports = h.audit("export")
        assert len(exports) == 1
        assert exports[0]["actor_role"] == "coordinator" and exports[0]["actor_id"] == COORDINATOR
        assert exports[0]["payload"]["head"] == head["chain_hash"]
        sent = [e for e in h.audit("message_sent") if e["payload"]["text"].startswith("[document audit-")]
        assert len(sent) == 1


async def test_export_is_for_coordinators_only(tmp_path):
    async with Harness(tmp_path) as h:
        for uid in (PHYSICIAN, STRANGER):
            calls = await h.say(uid, "/export")
            assert not [c for c in calls if c.method == "sendDocument"]
        assert h.audit("export") == []


async def test_a_failed_document_send_is_reported_to_the_coordinator(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.telegram.outbox.backoff", lambda attempt, cap: 0)
    async with Harness(tmp_path) as h:
        h.request.fail("sendDocument", Failure(400, "Bad Request: file too big"))
        calls = await h.say(COORDINATOR, "/export")
        assert any("could not be sent" in c.text for c in calls if c.chat_id == COORDINATOR)


async def test_a_broken_trail_is_not_exported_and_the_coordinator_is_told(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        for (name,) in h.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            h.db.conn.execute(f"DROP TRIGGER {name}")
        h.db.conn.execute("UPDATE audit_events SET payload = '{}' WHERE seq = 1")
        h.db.conn.commit()
        calls = await h.say(COORDINATOR, "/export")
        assert "sendDocument" not in [c.method for c in h.request.calls]
        said = "\n".join(c.text for c in calls)
        assert "does not verify (broken at event 1)" in said and "not exported" in said
