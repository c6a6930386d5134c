"""The durable store: each step's new state and its audit events commit in one SQLite transaction; a
failure anywhere in the step rolls back everything; a pre-screen resumes from another Store (process)."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
import steps
from conversation_script import ELIGIBLE_GIRL_12

from conversations.dialogue import engine
from conversations.dialogue.state import State
from conversations.records.audit_verify import verify
from conversations.records.store import Store, new_referral_id

ACTOR = ("physician", 42)


def committed(path) -> tuple[State | None, list[str]]:
    """What another connection (another process) sees: the committed state and audit event types."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT state FROM prescreens").fetchone()
        events = [r[0] for r in conn.execute("SELECT type FROM audit_events ORDER BY seq")]
    finally:
        conn.close()
    return (State.from_json(row[0]) if row else None), events


def answer(store: Store, rid: str, text: str, then=None):
    """The answer in the caller's transaction; ``then`` runs in it afterwards, as an edge's own writes do."""
    with store.transaction() as db:
        result = store.apply(rid, engine.Answer(text), *ACTOR)
        if then is not None:
            then(db, result)
    return result


# ---- referral IDs -------------------------------------------------------------------------------------------

def test_referral_ids_are_random_and_readable():
    ids = {new_referral_id() for _ in range(200)}
    assert len(ids) == 200
    for rid in ids:
        assert re.fullmatch(r"R-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", rid)


def test_start_records_the_pre_screen_and_its_first_event(store, path):
    result = steps.start(store, *ACTOR)
    assert result.state.current == "age_years" and result.state.history == []
    state, events = committed(path)
    assert state == result.state
    assert events == ["prescreen_started"]
    p = store.get(result.referral_id)
    assert (p.owner_role, p.owner_id, p.phase, p.current, p.outcome_status) == (
        "physician", 42, "asking", "age_years", None)
    # The referral ID is the only key: the record has no column for a name, birth date or record number.
    columns = {r[1] for r in store.db.conn.execute("PRAGMA table_info(prescreens)")}
    assert columns == {"referral_id", "owner_role", "owner_id", "channel", "phase", "current", "outcome_status",
                       "created_at", "updated_at", "state"}


def test_two_pre_screens_get_different_ids(store):
    assert steps.start(store, *ACTOR).referral_id != steps.start(store, *ACTOR).referral_id


# ---- one transaction per step -------------------------------------------------------------------------------

def test_state_and_events_commit_together_before_the_reply(store, path):
    rid = steps.start(store, *ACTOR).referral_id
    seen_inside = []

    def hook(db, step):
        # Inside the step's transaction: the new state and its events are written but not yet visible to
        # anyone else; the reply has not been returned yet.
        seen_inside.append(committed(path))

    result = answer(store, rid, "4", hook)
    (state_inside, events_inside), = seen_inside
    assert state_inside.history == [] and events_inside == ["prescreen_started"]
    state_after, events_after = committed(path)
    assert state_after == result.state and len(state_after.history) == 1
    # The accepted answer and the certain ineligibility it caused: one commit.
    assert events_after == ["prescreen_started", "answer_accepted", "outcome"]
    assert [e.type for e in result.events] == ["answer_accepted", "outcome"]


def test_a_failure_in_the_callers_transaction_rolls_back_state_and_events(store, path):
    rid = steps.start(store, *ACTOR).referral_id
    answer(store, rid, "12")
    before = committed(path)
    head_before = verify(store.db)

    def boom(db, step):
        raise RuntimeError("the reply could not be queued")

    with pytest.raises(RuntimeError):
        answer(store, rid, "female", boom)
    assert committed(path) == before
    assert verify(store.db) == head_before and head_before.ok
    # The same answer goes through afterwards, and the trail is sound.
    answer(store, rid, "female")
    assert committed(path)[0].history[-1].value == "female"
    assert verify(store.db).ok


def test_a_failure_after_start_in_the_same_transaction_leaves_nothing(store, path):
    with pytest.raises(RuntimeError), store.transaction():
        store.start(*ACTOR)
        raise RuntimeError("no")
    assert committed(path) == (None, [])
    assert store.prescreens() == []


def test_a_step_outside_a_transaction_is_refused(store, path):
    with pytest.raises(RuntimeError, match="caller's transaction"):
        store.start(*ACTOR)
    assert committed(path) == (None, [])


def test_an_illegal_step_writes_nothing(store, path):
    rid = steps.start(store, *ACTOR).referral_id
    steps.apply(store, rid, engine.Command("cancel"), *ACTOR)
    before = committed(path)
    assert before[0].phase == "cancelled" and before[1][-1] == "prescreen_cancelled"
    with pytest.raises(engine.IllegalStep):
        answer(store, rid, "12")
    assert committed(path) == before


def test_a_step_that_changes_no_state_leaves_the_row_alone(store):
    rid = steps.start(store, *ACTOR).referral_id
    answer(store, rid, "12")
    row = store.db.conn.execute("SELECT state, updated_at FROM prescreens").fetchone()
    for command in ("status", "summary", "help"):
        steps.apply(store, rid, engine.Command(command), *ACTOR)
    assert store.db.conn.execute("SELECT state, updated_at FROM prescreens").fetchone() == row


def test_outcome_events_are_the_systems_and_carry_the_facts(store):
    rid = steps.start(store, *ACTOR).referral_id
    for _, text in ELIGIBLE_GIRL_12:
        result = answer(store, rid, text)
    assert result.state.phase == "done"
    rows = store.db.conn.execute("SELECT type, actor_role, actor_id, payload FROM audit_events ORDER BY seq").fetchall()
    assert [r[0] for r in rows].count("answer_accepted") == 30
    outcome = rows[-1]
    assert outcome[:3] == ("outcome", "system", 0)
    payload = json.loads(outcome[3])
    assert payload["status"] == "eligible" and payload["final"] is True
    assert payload["facts"] == engine.facts_of(result.state).known()
    assert {r[1] for r in rows[:-1]} == {"physician"}
    p = store.get(rid)
    assert (p.phase, p.current, p.outcome_status) == ("done", None, "eligible")
    assert verify(store.db).ok


# ---- resume in a new Store ----------------------------------------------------------------------------------

def test_resume_in_a_new_store_exactly_where_it_was(path):
    first = Store.open(path)
    rid = steps.start(first, *ACTOR).referral_id
    for _, text in ELIGIBLE_GIRL_12[:10]:
        answer(first, rid, text)
    steps.apply(first, rid, engine.Command("back"), *ACTOR)  # a withdrawn answer must survive too
    state = first.load(rid)
    first.close()

    second = Store.open(path)
    assert second.load(rid) == state
    assert [p.referral_id for p in second.prescreens(*ACTOR, phases=("asking",))] == [rid]
    result = steps.apply(second, rid, engine.Command("status"), *ACTOR)
    q = result.outputs[-1]
    assert q.fact == ELIGIBLE_GIRL_12[9][0] and q.seq == state.seq and q.number == 10
    # The re-answer after the restart is still known to follow a withdrawal: the same answer again is
    # recorded as unchanged, not as a correction.
    result = answer(second, rid, ELIGIBLE_GIRL_12[9][1])
    assert [(e.type, e.payload.get("unchanged")) for e in result.events] == [("answer_accepted", True)]
    for _, text in ELIGIBLE_GIRL_12[10:]:
        result = answer(second, rid, text)
    assert result.state.phase == "done"
    assert result.outputs[-1].outcome.status == "eligible"
    assert verify(second.db).ok
    second.close()


def test_prescreens_lists_by_owner_and_phase(store):
    a = steps.start(store, "physician", 1).referral_id
    b = steps.start(store, "physician", 2).referral_id
    steps.apply(store, b, engine.Command("cancel"), "physician", 2)
    assert [p.referral_id for p in store.prescreens("physician", 1)] == [a]
    assert store.prescreens("physician", 2) == []
    assert [p.referral_id for p in store.prescreens(phases=("cancelled",))] == [b]


def test_loading_an_unknown_referral_fails(store):
    assert store.get("R-NONE-0000") is None
    with pytest.raises(KeyError):
        store.load("R-NONE-0000")
