"""The screening log: CONSORT-ordered counts of referrals, from the audit trail."""

import json
from datetime import datetime

import pytest
from audit_fixtures import ELIGIBLE, INELIGIBLE, Clock, Conversation, fresh_db, populate

from conversations.screening_log import render_json, render_text, screening_log


@pytest.fixture
def db(tmp_path):
    db = fresh_db(tmp_path)
    populate(db)
    return db


def test_counts_of_the_populated_trail(db):
    log = screening_log(db)
    assert (log.started, log.cancelled, log.in_progress, log.completed, log.sent) == (5, 1, 1, 3, 2)
    assert log.by_outcome == {"eligible": 1, "ineligible": 1, "incomplete": 1}
    assert log.by_failing_criterion == {"I1": 1, "E9a": 1}
    assert log.by_decision == {"accept": 1, "need_info": 1, "decline": 0, "awaiting": 0}


def test_empty_trail(tmp_path):
    log = screening_log(fresh_db(tmp_path))
    assert (log.started, log.completed, log.sent, log.head_seq) == (0, 0, 0, 0)
    assert sum(log.by_outcome.values()) == 0 and log.by_failing_criterion == {}


def test_latest_final_outcome_and_latest_decision_count(db):
    clock = Clock(start=datetime(2026, 3, 3, 9, 0))
    # The ineligible referral is corrected (age) and completed again: now it fails E9a only.
    c = Conversation(db, clock, INELIGIBLE, 102, facts={"age_years": 4, "hbsag": "positive",
                                                        "hbcab": "negative", "hbv_dna": "positive"})
    c.correct("age", {"age_years": 4}, {"age_years": 14}, raw="14, typo")
    c.outcome(final=False)  # a provisional outcome does not replace the final one...
    assert screening_log(db).by_failing_criterion == {"I1": 1, "E9a": 1}
    c.outcome(final=True)  # ...a new final one does
    # The coordinator changes their mind on the eligible referral.
    Conversation(db, clock, ELIGIBLE, 101).decide(201, "decline")
    log = screening_log(db)
    assert log.completed == 3 and log.by_outcome["ineligible"] == 1
    assert log.by_failing_criterion == {"E9a": 1}
    assert log.by_decision == {"accept": 0, "need_info": 1, "decline": 1, "awaiting": 0}


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
             "Completed (final outcome)", "eligible", "ineligible", "failing I1", "failing E9a", "incomplete",
             "Sent to coordinators", "decision: accept", "decision: need_info", "decision: decline",
             "awaiting a decision"]
    positions = [text.index(label) for label in order]
    assert positions == sorted(positions)
    assert text.splitlines()[1].split()[-1] == "5"


def test_json_rendering(db):
    data = json.loads(render_json(screening_log(db)))
    assert data["started"] == 5 and data["by_failing_criterion"] == {"I1": 1, "E9a": 1}
    assert len(data["head"]) == 64
