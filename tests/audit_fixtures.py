"""Realistic audit trails for the audit, export and screening-log tests.

Events are written the way the running system writes them: ``audit.append`` inside ``write(db)``, one
transaction per step, with the payload shapes of issue #5. Timestamps come from a fake clock (one
minute a step from a fixed start) so that date filters can be tested exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from conversations.records import audit, audit_key
from conversations.records.db import open_db, write
from criteria import PROTOCOL_VERSION, evaluate

START = datetime(2026, 3, 2, 9, 0, 0)

ELIGIBLE_FACTS: dict[str, Any] = dict(
    age_years=14, sex="female", childbearing_potential=True, weight_kg=48, height_cm=158,
    sle_eular_acr_2019=True, sledai_2k=12, soc_months=9, gc_high_dose=True, hcq=True,
    dmards=["mycophenolate", "rituximab"], target_not_reached=True, intolerant_to_conventional=False,
    ln_classes=["IV"], cns_lupus=False, refractory_cytopenia=False, steroid_dependent=True,
    lvef_percent=62, ecg_significant_abnormality=False, egfr=85, ast_x_uln=1.2, alt_x_uln=1.0,
    bilirubin_x_uln=0.6, spo2_percent=98, severe_lung_disease=False, apheresis_suitable=True,
    agrees_contraception=True, prior_cell_therapy=False, cns_event_60d=False,
    cns_damage_or_severe_seizures=False, dialysis_3m=False, ln_chronicity_index=2,
    renal_fibrosis_extensive=False, cardiac_conditions=[],
    non_sle_immunosuppression=False, active_infection=False, transplant_3m=False, gvhd_grade2_2w=False,
    hbsag="negative", hbcab="negative", hcv_ab="negative", hiv_ab="negative", syphilis="negative",
    cmv_dna="negative", mas_1m=False, live_vaccine_4w=False, malignancy_or_severe_disease=False,
    pregnant=False, other_trial_3m=False,
)


def fresh_db(tmp_path: Path, keyed: bool = False) -> sqlite_utils.Database:
    """An empty trail in ``tmp_path/screening.db``; ``keyed``: with its key generated where the bot keeps it
    by default (``screening.db.audit-key``) and bound, so that every event is keyed."""
    db = open_db(tmp_path / "screening.db")
    audit.ensure_schema(db)
    if keyed:
        audit.bind(db, audit_key.generate(tmp_path / "screening.db.audit-key"))
    return db


class Clock:
    def __init__(self, start: datetime = START, step: timedelta = timedelta(minutes=1)) -> None:
        self.now, self.step = start, step

    def __call__(self) -> str:
        ts = self.now.isoformat(timespec="microseconds") + "Z"
        self.now += self.step
        return ts


def record(db: sqlite_utils.Database, clock: Clock, role: str, actor_id: int, type_: str,
           payload: dict[str, Any] | None = None, referral_id: str | None = None) -> audit.Event:
    with write(db):
        return audit.append(db, actor_role=role, actor_id=actor_id, type=type_, payload=payload,
                            referral_id=referral_id, ts=clock())


@dataclass
class Conversation:
    """One physician's pre-screen, event by event, keeping the facts the bot would hold."""

    db: sqlite_utils.Database
    clock: Clock
    referral_id: str
    physician: int
    channel: str = "telegram"
    facts: dict[str, Any] = field(default_factory=dict)
    update_id: int = 1000

    def _rec(self, role: str, actor: int, type_: str, payload: dict[str, Any] | None = None) -> audit.Event:
        return record(self.db, self.clock, role, actor, type_, payload, self.referral_id)

    def _update(self, kind: str, text: str) -> None:
        self.update_id += 1
        self._rec("physician", self.physician, "update_received",
                  {"update_id": self.update_id, "kind": kind, "text": text})

    def say(self, text: str) -> None:
        self._rec("system", 0, "message_sent", {"chat_id": self.physician, "text": text})

    def start(self) -> None:
        self._update("command", "/start")
        self._rec("physician", self.physician, "prescreen_started",
                  {"channel": self.channel, "protocol_version": PROTOCOL_VERSION})

    def answer(self, question: str, facts: dict[str, Any], raw: str, unknown: tuple[str, ...] = ()) -> None:
        self.say(f"Question {question}?")
        self._update("message", raw)
        self._rec("physician", self.physician, "answer_accepted",
                  {"question": question, "facts": facts, "unknown": list(unknown), "raw": raw})
        self.facts.update(facts)
        for k in unknown:
            self.facts.pop(k, None)

    def reject(self, question: str, raw: str, error: str) -> None:
        self._update("message", raw)
        self._rec("physician", self.physician, "answer_rejected", {"question": question, "error": error})
        self.say(error)

    def withdraw(self, question: str, facts: dict[str, Any]) -> None:
        self._update("callback", "back")
        self._rec("physician", self.physician, "answer_withdrawn",
                  {"question": question, "facts": facts, "unknown": []})
        for k in facts:
            self.facts.pop(k, None)

    def correct(self, question: str, old: dict[str, Any], new: dict[str, Any], raw: str) -> None:
        self._update("message", raw)
        self._rec("physician", self.physician, "answer_corrected", {
            "question": question, "old": {"facts": old, "unknown": []},
            "new": {"facts": new, "unknown": []}, "raw": raw})
        for k in old:
            self.facts.pop(k, None)
        self.facts.update(new)

    def outcome(self, final: bool) -> dict[str, Any]:
        o = evaluate(self.facts)
        payload = {"status": o.status, "final": final, "failed": o.failed, "missing": o.missing_facts,
                   "pending": o.pending, "protocol_version": o.protocol_version, "facts": dict(self.facts)}
        self._rec("system", 0, "outcome", payload)
        self.say(f"Outcome: {o.status}")
        return payload

    def cancel(self) -> None:
        self._update("command", "/cancel")
        self._rec("physician", self.physician, "prescreen_cancelled", {})

    def send(self, coordinators: list[int], status: str) -> None:
        _, head = audit.head(self.db)
        self._rec("system", 0, "referral_sent",
                  {"outcome_status": status, "coordinators": coordinators, "audit_head": head})

    def decide(self, coordinator: int, decision: str) -> None:
        self._rec("coordinator", coordinator, "update_received",
                  {"update_id": 5000 + coordinator, "kind": "callback", "text": decision})
        self._rec("coordinator", coordinator, "coordinator_decision", {"decision": decision})


# Referral IDs of populate(), and what happens to each.
ELIGIBLE = "R-7KQ2-9XPM"     # eligible, sent, accepted
INELIGIBLE = "R-3HBV-A4TT"   # ineligible (I1 and E9a), final, not sent
IN_PROGRESS = "R-Q8WN-2LRC"  # answers rejected, withdrawn and corrected; provisional outcome only
CANCELLED = "R-CX5D-7YUE"    # cancelled after one answer
NEED_INFO = "R-M2PF-6GJH"    # final but incomplete, sent, coordinator asks for more information
REFERRALS = (ELIGIBLE, INELIGIBLE, IN_PROGRESS, CANCELLED, NEED_INFO)
COORDINATOR, PHYSICIAN_A, PHYSICIAN_B = 201, 101, 102


def populate(db: sqlite_utils.Database, clock: Clock | None = None) -> Clock:
    """Write a small realistic trail: access control events and five pre-screens (see REFERRALS)."""
    clock = clock or Clock()
    record(db, clock, "coordinator", COORDINATOR, "invite_created", {"invite_id": "inv-1"})
    record(db, clock, "physician", PHYSICIAN_A, "physician_registered", {"invite_id": "inv-1"})
    record(db, clock, "coordinator", COORDINATOR, "invite_created", {"invite_id": "inv-2"})
    record(db, clock, "physician", PHYSICIAN_B, "physician_registered", {"invite_id": "inv-2"})
    record(db, clock, "stranger", 999, "access_refused",
           {"reason": "not registered", "chat_type": "private", "update_kind": "message"})

    c = Conversation(db, clock, ELIGIBLE, PHYSICIAN_A)
    c.start()
    items = list(ELIGIBLE_FACTS.items())
    for i in range(0, len(items), 8):  # several facts per question, as the real questions group them
        chunk = dict(items[i:i + 8])
        c.answer(f"q{i // 8 + 1}", chunk, raw=", ".join(f"{k} {v}" for k, v in chunk.items()))
    c.outcome(final=True)
    c.send([COORDINATOR], "eligible")
    c.decide(COORDINATOR, "accept")

    c = Conversation(db, clock, INELIGIBLE, PHYSICIAN_B, channel="terminal")
    c.start()
    c.answer("age", {"age_years": 4}, raw="4")
    c.answer("hbv", {"hbsag": "positive", "hbcab": "negative", "hbv_dna": "positive"},
             raw="HBsAg positive, HBcAb negative, HBV-DNA detectable")
    c.outcome(final=True)

    c = Conversation(db, clock, IN_PROGRESS, PHYSICIAN_A)
    c.start()
    c.reject("age", raw="twelve-ish", error="Please give the age in completed years, e.g. 12.")
    c.answer("age", {"age_years": 12}, raw="12")
    c.answer("sex", {"sex": "male"}, raw="male")
    c.withdraw("sex", {"sex": "male"})
    c.answer("sex", {"sex": "female", "childbearing_potential": False}, raw="girl, before menarche")
    c.answer("lvef", {}, raw="not known", unknown=("lvef_percent",))
    c.correct("age", {"age_years": 12}, {"age_years": 13}, raw="sorry, 13")
    c.outcome(final=False)

    c = Conversation(db, clock, CANCELLED, PHYSICIAN_B)
    c.start()
    c.answer("age", {"age_years": 9}, raw="9")
    c.cancel()

    c = Conversation(db, clock, NEED_INFO, PHYSICIAN_B)
    c.start()
    partial = {k: v for k, v in ELIGIBLE_FACTS.items() if k not in ("hbsag", "hbcab", "hbv_dna")}
    c.answer("all", partial, raw="(everything but hepatitis B)")
    c.answer("hbv", {}, raw="unknown", unknown=("hbsag", "hbcab"))
    c.outcome(final=True)
    c.send([COORDINATOR], "incomplete")
    c.decide(COORDINATOR, "need_info")

    record(db, clock, "coordinator", COORDINATOR, "physician_revoked", {"physician_id": PHYSICIAN_B})
    return clock


def drop_triggers(db: sqlite_utils.Database) -> None:
    """What an attacker with file access does first."""
    db.conn.execute(f"DROP TRIGGER {audit.TABLE}_no_update")
    db.conn.execute(f"DROP TRIGGER {audit.TABLE}_no_delete")
    db.conn.commit()


def rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query(f"SELECT * FROM {audit.TABLE} ORDER BY seq"))
