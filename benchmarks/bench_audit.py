"""Benchmark: verify with the key, rebuild the state tables from, and jsonl-export a trail of 100,000 events.

    .venv/bin/python benchmarks/bench_audit.py [--events N]

The trail is written the way the running system writes it: keyed (a key generated into the temporary
directory and bound before the first append, which writes the ``audit_keyed`` event), through the real
store and registry. Physicians are invited and registered (``invite_created``, ``physician_registered``),
then each runs pre-screens answer by answer through ``Store.start``/``Store.apply``, one write transaction
per Telegram turn with the events the Telegram edge writes around the step (``update_received``, a
``message_sent`` per reply): most to the outcome, some with a refused answer, a ``back``, a ``skip`` or a
cancellation; finished ones are sent to the coordinators (``registry.record_sent``, ``engine.Sent``,
``referral_sent``) and decided (``registry.decide``, ``coordinator_decision``), some asked for more
information, amended with a reason, changed, sent again and decided again; a few physicians are revoked
at the end. Pre-screens run until the trail holds at least ``--events`` events. Building is not timed
(it runs at synchronous=OFF; the timed part at the production synchronous=FULL).

Timed: ``audit_verify.verify`` with the key (must be sound and proven), ``rebuild.compare`` (must find no
difference), ``audit_export.export`` as jsonl, and for information ``export_verify.verify_export`` of that
file with the key.

Prints one JSON line: events, prescreens, verify_s, rebuild_s, verify_and_rebuild_s, export_s,
verify_export_s, the rebuild's unchecked fields and rows compared, outcomes, events by type, db and export
sizes, build_s. Exit 0 when the targets hold (issue 14): verify_and_rebuild_s < 10, export_s < 20.

On the 2-core machine (2026-12-02, issue 14), three runs: 100,047 events (935 pre-screens of about 29 answers,
813 referrals, 937 decisions, 38 physicians and invites), verify_s 0.69-0.87, rebuild_s 0.30-0.41,
verify_and_rebuild_s 0.98-1.28, export_s 1.88-2.02, verify_export_s 2.26-2.69, nothing unchecked, no
difference; a 51 MB database, a 70 MB export; building it through the store takes 15-16 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # as bench_bot: the tests' answers

from telegram_harness import ELIGIBLE  # the eligible girl of the Telegram tests, as typed

from conversations.dialogue import engine
from conversations.dialogue.events import E
from conversations.records import audit, audit_key, rebuild
from conversations.records.audit_export import export
from conversations.records.audit_verify import verify
from conversations.records.db import open_db
from conversations.records.export_verify import verify_export
from conversations.records.registry import Registry
from conversations.records.store import Store

VERIFY_AND_REBUILD_TARGET_S = 10.0
EXPORT_TARGET_S = 20.0
COORDINATORS = (9001, 9002)
FIRST_PHYSICIAN = 100_000
PHYSICIANS = 40
PRESCREENS_PER_INVITE_ROUND = 25  # a new physician invited and registered every so many pre-screens



def patient(i: int) -> dict[str, str]:
    """The i-th pre-screen's answers: the eligible girl with numbers of its own (ages 5-17, so that some
    are out of range; some SLEDAI-2K and LVEF values fail), a few questions unknown."""
    answers = {**ELIGIBLE, "age_years": f"{5 + i % 13 + (i // 13) % 100 / 100:.2f}", "sledai_2k": str(3 + i % 40),
               "soc_months": str(6 + i % 60), "lvef_percent": str(45 + i % 50), "egfr": str(60 + i % 120),
               "spo2_percent": str(92 + i % 8), "ln_chronicity_index": str(i % 7)}
    if i % 7 == 3:
        answers["hbcab"] = answers["cmv_dna"] = "unknown"
    return answers


def say(db: Any, chat_id: int, texts: list[str], ref: str | None) -> None:
    """The replies of a turn, as the outbox records them once sent (in the turn's commit)."""
    for text in texts:
        audit.append(db, actor_role="system", actor_id=0, type=E.MESSAGE_SENT,
                     payload={"chat_id": chat_id, "text": text}, referral_id=ref)


def replies(outputs: list[engine.Output]) -> list[str]:
    texts = []
    for o in outputs:
        if isinstance(o, engine.Question):
            texts.append(f"<b>{o.text}</b>\n\nQuestion {o.number}, about {o.remaining} left.")
        elif isinstance(o, engine.Reprompt):
            texts.append(f"{o.error.code}: <b>{o.question.text}</b>")
        elif isinstance(o, engine.OutcomeReached):
            texts.append(f"Outcome: {o.outcome.status} ({len(o.outcome.criteria)} criteria).")
    return texts or ["OK."]


class Builder:
    """Writes the trail through the store and the registry as the Telegram edge does, turn by turn."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.store = Store(db)
        self.registry = Registry(db)
        self.update_id = 0
        self.physicians: list[int] = []
        self.prescreens = 0

    def turn(self, role: str, user_id: int, kind: str, text: str, ref: str | None, work: Any) -> Any:
        """One update: what ``work`` does, the update received and the replies, in one transaction."""
        self.update_id += 1
        with self.store.transaction() as db:
            out = work(db)
            audit.append(db, actor_role=role, actor_id=user_id, type=E.UPDATE_RECEIVED,
                         payload={"update_id": self.update_id, "kind": kind, "text": text}, referral_id=ref)
            return out

    def step(self, uid: int, ref: str, inp: engine.Input, text: str) -> Any:
        def work(db: Any) -> Any:
            res = self.store.apply(ref, inp, "physician", uid)
            say(db, uid, replies(res.outputs), ref)
            return res
        return self.turn("physician", uid, "message", text, ref, work)

    def invite_and_register(self) -> None:
        coordinator = COORDINATORS[len(self.physicians) % 2]
        uid = FIRST_PHYSICIAN + len(self.physicians)
        codes: list[str] = []

        def create(db: Any) -> None:
            ts = self.registry.now()
            invite_id, code = self.registry.create_invite(coordinator, ts=ts)
            codes.append(code)
            row = self.registry.invite(invite_id)
            audit.append(db, actor_role="coordinator", actor_id=coordinator, type=E.INVITE_CREATED,
                         payload={"invite_id": invite_id, "code_hash": row["code_hash"],
                                  "expires_at": row["expires_at"]}, ts=ts)
            say(db, coordinator, [f"Invitation for one physician: [invite {invite_id}]"], None)

        self.turn("coordinator", coordinator, "message", "/invite", None, create)

        def redeem(db: Any) -> None:
            ts = self.registry.now()
            result, invite_id = self.registry.redeem(codes[0], uid, ts=ts)
            assert result == "registered", result
            audit.append(db, actor_role="physician", actor_id=uid, type=E.PHYSICIAN_REGISTERED,
                         payload={"invite_id": invite_id}, ts=ts)
            say(db, uid, ["Welcome: you can now pre-screen patients. /screen starts one."], None)

        self.turn("physician", uid, "message", "/start [invite code]", None, redeem)
        self.physicians.append(uid)

    def answer_to_end(self, uid: int, ref: str, answers: dict[str, str], i: int, limit: int = 80) -> Any:
        state = self.store.load(ref)
        for n in range(limit):
            if state.phase != "asking":
                return state
            q = engine.current_question(state)
            text = answers.get(q.fact, "unknown")
            if n == 3 and i % 5 == 1:  # a typo, refused and asked again
                self.step(uid, ref, engine.Answer("twelfe"), "twelfe")
            if n == 5 and i % 6 == 2:  # back, and the same answer again
                self.step(uid, ref, engine.Command("back"), "/back")
                state = self.store.load(ref)
                q = engine.current_question(state)
                text = answers.get(q.fact, "unknown")
            if n == 8 and i % 9 == 4:
                state = self.step(uid, ref, engine.Command("skip"), "/skip").state
                continue
            state = self.step(uid, ref, engine.Answer(text), text).state
        raise AssertionError(f"{ref} did not finish in {limit} answers")

    def send(self, uid: int, ref: str) -> int | None:
        """/send as physician.send_to_coordinators does it: the send number, None when the engine refuses."""
        sent: list[int] = []

        def work(db: Any) -> None:
            try:
                res = self.store.apply(ref, engine.Command("send"), "physician", uid)
            except engine.IllegalStep:
                say(db, uid, ["This pre-screen cannot be sent yet."], ref)
                return
            ready = next((o for o in res.outputs if isinstance(o, engine.ReadyToSend)), None)
            if ready is None:
                return
            outcome = ready.outcome
            referral = self.registry.record_sent(ref, uid, outcome.status, outcome.protocol_version)
            self.store.apply(ref, engine.Sent(referral.sends), "physician", uid)
            audit.append(db, actor_role="physician", actor_id=uid, type=E.REFERRAL_SENT,
                         payload={"send_no": referral.sends, "outcome_status": outcome.status,
                                  "protocol_version": outcome.protocol_version, "criteria": outcome.criteria,
                                  "coordinators": list(COORDINATORS)}, referral_id=ref, ts=referral.last_sent_at)
            head_seq, head_hash = audit.head(db)
            for cid in COORDINATORS:
                say(db, cid, [f"<b>{ref}</b> summary {referral.sends}: {outcome.status}; audit head {head_seq} "
                              f"{head_hash[:16]}"], ref)
            say(db, uid, [f"📨 <b>{ref}</b> was sent to the study coordinators."], ref)
            sent.append(referral.sends)

        self.turn("physician", uid, "callback_query", f"s:{ref}", ref, work)
        return sent[0] if sent else None

    def decide(self, uid: int, ref: str, send_no: int, decision: str, coordinator: int) -> None:
        def work(db: Any) -> None:
            result, referral, decision_id = self.registry.decide(ref, send_no, coordinator, decision)
            assert result == "decided", result
            audit.append(db, actor_role="coordinator", actor_id=coordinator, type=E.COORDINATOR_DECISION,
                         payload={"decision": decision, "send_no": send_no, "reason_code": None, "reason": "",
                                  "items": [], "decision_id": decision_id}, referral_id=ref,
                         ts=referral.decided_at)
            for cid in COORDINATORS:
                say(db, cid, [f"<b>{ref}</b>: {decision} by {coordinator}."], ref)
            say(db, uid, [f"<b>{ref}</b>: the coordinators decided: {decision}."], ref)

        self.turn("coordinator", coordinator, "callback_query", f"d:{ref}:{send_no}:{decision[0]}", ref, work)

    def amend(self, uid: int, ref: str, answers: dict[str, str], i: int) -> None:
        """/amend with a reason (the coordinators told), /change 1, the new age, to the end again."""
        def work(db: Any) -> None:
            res = self.store.apply(ref, engine.Amend("", "new_result"), "physician", uid)
            assert any(e.type == E.REFERRAL_AMENDED for e in res.events)
            self.registry.amend(ref)
            say(db, uid, replies(res.outputs), ref)
            for cid in COORDINATORS:
                say(db, cid, [f"<b>{ref}</b> is being amended: new_result."], ref)

        self.turn("physician", uid, "message", "/amend 1", ref, work)
        self.step(uid, ref, engine.Change(1), "/change 1")
        self.step(uid, ref, engine.Answer(answers["age_years"] + "1"), answers["age_years"] + "1")
        self.answer_to_end(uid, ref, answers, i)

    def prescreen(self, i: int) -> None:
        if i % PRESCREENS_PER_INVITE_ROUND == 0 and len(self.physicians) < PHYSICIANS:
            self.invite_and_register()
        uid = self.physicians[i % len(self.physicians)]
        coordinator = COORDINATORS[i % 2]

        def start(db: Any) -> str:
            res = self.store.start("physician", uid, channel="telegram")
            say(db, uid, replies(res.outputs), res.referral_id)
            return res.referral_id

        ref = self.turn("physician", uid, "message", "/screen", None, start)
        self.prescreens += 1
        answers = patient(i)
        if i % 23 == 11:  # given up midway
            for _ in range(6):
                q = engine.current_question(self.store.load(ref))
                if q is None:
                    break
                self.step(uid, ref, engine.Answer(answers.get(q.fact, "unknown")), answers.get(q.fact, "unknown"))
            if self.store.load(ref).phase == "asking":
                self.step(uid, ref, engine.Command("cancel"), "/cancel")
            return
        self.answer_to_end(uid, ref, answers, i)
        if i % 11 == 5:  # finished, never sent
            return
        send_no = self.send(uid, ref)
        if send_no is None or i % 13 == 7:  # sent, not decided yet
            return
        if i % 4 == 2:  # more information asked for: amended, sent again, decided
            self.decide(uid, ref, send_no, "need_info", coordinator)
            self.amend(uid, ref, answers, i)
            send_no = self.send(uid, ref)
            if send_no is None:
                return
        self.decide(uid, ref, send_no, "decline" if i % 5 == 4 else "accept", coordinator)

    def revoke(self, uid: int) -> None:
        coordinator = COORDINATORS[0]

        def work(db: Any) -> None:
            ts, existed = self.registry.now(), self.registry.has_row(uid)
            assert self.registry.revoke(uid, coordinator, ts=ts)
            audit.append(db, actor_role="coordinator", actor_id=coordinator, type=E.PHYSICIAN_REVOKED,
                         payload={"physician_id": uid, "existed": existed}, ts=ts)
            say(db, coordinator, [f"Physician <code>{uid}</code> was removed."], None)

        self.turn("coordinator", coordinator, "message", f"/revoke {uid}", None, work)


def build(db: Any, key: audit_key.AuditKey, n: int) -> Builder:
    """At least ``n`` events, written keyed through the store and the registry."""
    audit.bind(db, key)
    b = Builder(db)
    db.conn.execute("PRAGMA synchronous=OFF")  # building is not what is measured
    i = 0
    while audit.head(db)[0] < n - 10:
        b.prescreen(i)
        i += 1
    for uid in b.physicians[-3:]:  # a few physicians leave
        b.revoke(uid)
    db.conn.execute("PRAGMA synchronous=FULL")
    return b


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        key = audit_key.generate(Path(tmp) / "audit.key")
        db = open_db(Path(tmp) / "bench.db")
        built, build_s = timed(build, db, key, args.events)
        events = audit.head(db)[0]
        counts = dict(db.conn.execute("SELECT type, COUNT(*) FROM audit_events GROUP BY type ORDER BY 2 DESC"))
        outcomes = dict(db.conn.execute("SELECT COALESCE(outcome_status, phase), COUNT(*) FROM prescreens"
                                        " GROUP BY 1 ORDER BY 2 DESC"))

        result, verify_s = timed(verify, db, key=key)
        assert result.ok and result.proven and result.events == events, result

        rebuilt, rebuild_s = timed(rebuild.compare, db)
        assert rebuilt.ok, [rebuild.describe(d) for d in rebuilt.differences[:20]]
        assert rebuilt.events == events and rebuilt.checked["prescreens"] == built.prescreens, rebuilt.checked

        out = Path(tmp) / "trail.jsonl"
        exported, export_s = timed(export, db, out, "jsonl", actor_role="operator", actor_id=0)
        assert exported.events == events, exported

        checked, verify_export_s = timed(verify_export, out, key)
        assert checked.ok and checked.proven and checked.events == events, checked

        figures = {
            "events": events, "verify_s": round(verify_s, 3), "rebuild_s": round(rebuild_s, 3),
            "verify_and_rebuild_s": round(verify_s + rebuild_s, 3), "export_s": round(export_s, 3),
            "verify_export_s": round(verify_export_s, 3),
            "unchecked": dict(rebuilt.unchecked), "rows": rebuilt.checked,
            "prescreens": built.prescreens, "outcomes": outcomes, "export_transcripts": exported.referrals,
            "event_types": counts,
            "db_bytes": sum(f.stat().st_size for f in Path(tmp).glob("bench.db*")),  # with its WAL
            "export_bytes": out.stat().st_size, "build_s": round(build_s, 1),
        }
        db.close()
    print(json.dumps(figures))
    missed = verify_s + rebuild_s >= VERIFY_AND_REBUILD_TARGET_S or export_s >= EXPORT_TARGET_S
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
