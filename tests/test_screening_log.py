"""The screening log: CONSORT-ordered counts of referrals, from the audit trail."""

import json
from datetime import datetime

import pytest
from audit_fixtures import ELIGIBLE, INELIGIBLE, Clock, Conversation, fresh_db

from conversations.records.screening_log import render_json, render_text, screening_log
from criteria import evaluate


@pytest.fixture
def db(trail):
    return trail


def test_counts_of_the_populated_trail(db):
    log = screening_log(db)
    assert (log.started, log.cancelled, log.in_progress, log.completed, log.sent) == (5, 1, 1, 3, 2)
    assert log.by_outcome == {"eligible": 1, "ineligible": 1, "incomplete": 1}
    assert log.ineligible_now == 0  # the fixtures' events predate the key: counted as not
    assert log.by_failing_criterion == {"I1": 1, "E9a": 1}
    assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 0, "awaiting": 0}


def test_empty_trail(tmp_path):
    log = screening_log(fresh_db(tmp_path))
    assert (log.started, log.completed, log.sent, log.head_seq) == (0, 0, 0, 0)
    assert sum(log.by_outcome.values()) == 0 and log.by_failing_criterion == {}


def test_latest_final_outcome_and_every_decision_count(db):
    clock = Clock(start=datetime(2026, 3, 3, 9, 0))
    # The ineligible referral is corrected (age) and completed again: now it fails E9a only.
    c = Conversation(db, clock, INELIGIBLE, 102, facts={"age_years": 4, "hbsag": "positive",
                                                        "hbcab": "negative", "hbv_dna": "positive"})
    c.correct("age", {"age_years": 4}, {"age_years": 14}, raw="14, typo")
    c.outcome(final=False)  # a provisional outcome does not replace the final one...
    assert screening_log(db).by_failing_criterion == {"I1": 1, "E9a": 1}
    c.outcome(final=True)  # ...a new final one does
    # The coordinator changes their mind on the eligible referral: both decisions were made, both count
    # (issue 15: the log counted only each referral's latest, "need_info 0" after one was made).
    Conversation(db, clock, ELIGIBLE, 101).decide(201, "decline")
    log = screening_log(db)
    assert log.completed == 3 and log.by_outcome["ineligible"] == 1
    assert log.by_failing_criterion == {"E9a": 1}
    assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 1, "awaiting": 0}


def test_an_undone_decision_still_counts_and_the_referral_awaits_again(db):
    clock = Clock(start=datetime(2026, 3, 3, 9, 0))
    c = Conversation(db, clock, ELIGIBLE, 101)
    c._rec("coordinator", 201, "decision_undone", {"decision_id": 1, "decision": "accept", "send_no": 1,
                                                   "status": "sent"})
    log = screening_log(db)
    assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 0, "awaiting": 1}
    assert log.undone == 1
    c.decide(201, "decline")
    log = screening_log(db)
    assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 1, "awaiting": 0}


def test_sent_without_decision_is_awaiting(tmp_path):
    db = fresh_db(tmp_path)
    c = Conversation(db, Clock(), "R-WAIT-0001", 101)
    c.start()
    c.answer("age", {"age_years": 12}, raw="12")
    c.outcome(final=True)
    c.send([201], "incomplete")
    log = screening_log(db)
    assert (log.started, log.completed, log.in_progress, log.sent) == (1, 1, 0, 1)
    assert log.by_decision["awaiting"] == 1


def test_text_is_in_consort_order(db):
    text = render_text(screening_log(db))
    order = ["Pre-screens started", "cancelled before an outcome", "still in progress",
             "Completed (final outcome)", "eligible", "ineligible", "ineligible now, may be re-referred",
             "failing I1", "failing E9a", "incomplete",
             "Sent to coordinators", "decision: accept", "decision: need_info", "decision: decline",
             "awaiting a decision", "decisions undone"]
    positions = [text.index(label) for label in order]
    assert positions == sorted(positions)
    assert text.splitlines()[1].split()[-1] == "5"


def test_json_rendering(db):
    data = json.loads(render_json(screening_log(db)))
    assert data["started"] == 5 and data["by_failing_criterion"] == {"I1": 1, "E9a": 1}
    assert data["ineligible_now"] == 0
    assert len(data["head"]) == 64


# ---- "ineligible now, may be re-referred" ----------------------------------------------------------------

TIME_LIMITED = {"age_years": 4, "cns_event_60d": True, "mas_1m": True, "transplant_3m": True}


def prescreen(db, clock, rid, facts, *, final=True, legacy=False):
    """A pre-screen whose outcome event has the payload conversations.dialogue.engine writes under protocol 2 (or,
    ``legacy``, the one it wrote before: no flags, re-checks or ineligible_now)."""
    c = Conversation(db, clock, rid, 101)
    c.start()
    c.answer("all", facts, raw="(all)")
    o = evaluate(facts)
    payload = {"status": o.status, "final": final, "failed": o.failed, "missing": o.missing_facts,
               "pending": o.pending, "protocol_version": o.protocol_version, "facts": dict(facts)}
    if not legacy:
        payload |= {"flags": [n.model_dump() for n in o.flags], "recheck": [n.model_dump() for n in o.recheck],
                    "ineligible_now": o.ineligible_now, "criteria": o.criteria}
    c._rec("system", 0, "outcome", payload)
    return c


@pytest.fixture
def recheck_db(tmp_path):
    db, clock = fresh_db(tmp_path), Clock()
    prescreen(db, clock, "R-NOW1-0001", TIME_LIMITED)                               # ineligible now
    prescreen(db, clock, "R-NOW2-0002", {"age_years": 4})                           # ineligible now
    prescreen(db, clock, "R-PERM-0003", {"age_years": 4, "prior_cell_therapy": True})  # E1 is for good
    prescreen(db, clock, "R-OLD1-0004", TIME_LIMITED, legacy=True)                  # no key: not counted
    prescreen(db, clock, "R-PROV-0005", {"age_years": 4}, final=False)              # provisional only
    return db


def test_ineligible_now_counts_final_ineligible_outcomes_that_say_so(recheck_db):
    log = screening_log(recheck_db)
    assert log.by_outcome["ineligible"] == 4 and log.ineligible_now == 2
    assert log.by_failing_criterion["I1"] == 4 and log.by_failing_criterion["E1"] == 1


def test_ineligible_now_follows_the_latest_final_outcome(recheck_db):
    clock = Clock(start=datetime(2026, 3, 3, 9, 0))
    c = Conversation(recheck_db, clock, "R-NOW2-0002", 101, facts={"age_years": 4})
    c.correct("age", {"age_years": 4}, {"age_years": 14}, raw="14, typo")
    c.outcome(final=True)  # incomplete now
    log = screening_log(recheck_db)
    assert log.by_outcome["ineligible"] == 3 and log.ineligible_now == 1


def test_ineligible_now_is_shown_under_ineligible_and_in_json(recheck_db):
    log = screening_log(recheck_db)
    rows = render_text(log).splitlines()[1:]
    labels = [" ".join(r.split()[:-1]) for r in rows]
    indent = [len(r) - len(r.lstrip()) for r in rows]
    i = labels.index("ineligible")
    assert labels[i + 1] == "ineligible now, may be re-referred" and labels[i + 2].startswith("failing ")
    assert indent[i + 1] > indent[i] and rows[i + 1].split()[-1] == "2"
    assert json.loads(render_json(log))["ineligible_now"] == 2 == log.as_json()["ineligible_now"]
