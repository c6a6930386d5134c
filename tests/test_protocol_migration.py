"""A database written by the protocol-1 bot (tests/data/protocol1.db, made by tests/data/make_protocol1_db.py
with the code of commit da7c8af) opens under protocol 2: open pre-screens continue, sent referrals keep
what they were decided under, the trail records the change and still verifies, and `reassess` lists the
referrals whose outcome changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import steps
from said import said

from bot.cli import main
from conversations.dialogue import engine
from conversations.dialogue.migrate import PROTOCOL_1, migrate
from conversations.dialogue.state import Entry, State
from conversations.records import schema
from conversations.records.audit_verify import verify
from conversations.records.registry import Registry
from conversations.records.store import Store
from criteria import PROTOCOL_VERSION

FIXTURE = Path(__file__).parent / "data" / "protocol1.db"
# The pre-screens of the fixture (see make_protocol1_db.py).
ACCEPTED = "R-Z3K9-VVFX"   # eligible, sent and accepted
DECLINED = "R-AY2H-YYF7"   # excluded by E3c alone, sent and declined
RELAPSED = "R-KRA9-QV0X"   # "target NOT reached?" answered no, SLEDAI-2K 10 from descriptors; sent
UNSENT = "R-5A5E-16S8"     # E3c and a malignancy, finished, not sent
AT_LLDAS = "R-QK3X-G49G"   # open, at the LLDAS question
ANSWERED_NO = "R-T5H7-P3GQ"  # open, the LLDAS question answered no, SLEDAI-2K 4 from descriptors
CANCELLED = "R-KFN6-RK7R"


@pytest.fixture
def path(tmp_path) -> Path:
    """The protocol-1 database (conftest's ``store`` opens it)."""
    out = tmp_path / "screening.db"
    shutil.copy(FIXTURE, out)
    return out


def events(store: Store, referral_id: str, type_: str | None = None) -> list[dict]:
    rows = store.db.conn.execute("SELECT type, actor_role, payload FROM audit_events WHERE referral_id = ?"
                                 " ORDER BY seq", (referral_id,)).fetchall()
    return [{"type": t, "actor_role": a, **json.loads(p)} for t, a, p in rows if type_ in (None, t)]


def test_the_fixture_is_a_protocol_1_database():
    import sqlite3

    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    versions = {json.loads(s)["protocol_version"] for (s,) in conn.execute("SELECT state FROM prescreens")}
    conn.close()
    assert versions == {PROTOCOL_1}


def test_every_pre_screen_is_carried_over_once_and_the_trail_verifies(path, store):
    rows = store.db.conn.execute("SELECT referral_id, state FROM prescreens").fetchall()
    assert len(rows) == 7
    assert {State.from_json(s).protocol_version for _, s in rows} == {PROTOCOL_VERSION}
    for rid, _ in rows:
        (changed,) = events(store, rid, "protocol_changed")
        assert changed["from"] == PROTOCOL_1 and changed["to"] == PROTOCOL_VERSION
        assert changed["actor_role"] == "system"
    assert verify(store.db).ok
    # Opening again changes nothing.
    assert schema.upgrade(store.db) == []
    again = Store.open(path)
    assert again.db.conn.execute("SELECT count(*) FROM audit_events WHERE type = 'protocol_changed'").fetchone() == (7,)
    again.close()


def test_an_open_pre_screen_continues_under_protocol_2(store):
    state = store.load(AT_LLDAS)
    # SLEDAI-2K 12 now implies the target is not reached: the LLDAS question is skipped.
    assert state.phase == "asking" and state.current == "ln_classes"
    items = next(e for e in state.history if e.q == "eular_acr_2019.items")
    assert items.value["acute_cutaneous_lupus"] is True and items.value["fever"] is False
    from telegram_harness import ELIGIBLE

    while state.phase == "asking":
        state = steps.apply(store, AT_LLDAS, engine.Answer(ELIGIBLE[state.current]), "physician", 1001).state
    assert engine.outcome_of(state).status == "eligible"


def test_a_button_of_the_question_shown_before_the_change_is_stale(store):
    state = store.load(AT_LLDAS)
    old_seq = state.seq - 1  # the LLDAS question the physician still sees
    result = steps.apply(store, AT_LLDAS, engine.Answer("yes", seq=old_seq), "physician", 1001)
    assert [type(o).__name__ for o in result.outputs] == ["Stale"]
    assert store.load(AT_LLDAS).history == state.history


def test_an_answer_to_the_old_lldas_question_no_longer_counts_but_stays_in_the_trail(store):
    state = store.load(ANSWERED_NO)
    assert "target_not_reached" not in {e.q for e in state.history}
    (changed,) = events(store, ANSWERED_NO, "protocol_changed")
    assert [d["question"] for d in changed["dropped"]] == ["target_not_reached"]
    assert "asked positively" in changed["dropped"][0]["why"]
    assert any(e["question"] == "target_not_reached" for e in events(store, ANSWERED_NO, "answer_accepted"))
    # SLEDAI-2K 4 from descriptors fails I2b whatever the LLDAS answer: it is not asked again.
    assert state.phase == "asking" and state.current == "ln_classes"


def test_the_physician_is_told_when_the_outcome_so_far_changed(store):
    assert store.load(ACCEPTED).notice is None  # eligible before and after
    state = store.load(RELAPSED)
    assert "changed from ineligible to eligible" in said(state.notice)
    result = steps.apply(store, RELAPSED, engine.Command("status"), "physician", 1002)
    assert isinstance(result.outputs[0], engine.Info) and "protocol" in said(result.outputs[0])
    assert store.load(RELAPSED).notice is None
    again = steps.apply(store, RELAPSED, engine.Command("status"), "physician", 1002)
    assert not any(isinstance(o, engine.Info) and "protocol" in o.text for o in again.outputs)


def test_the_relapsed_child_is_eligible_under_protocol_2(store):
    outcome = engine.outcome_of(store.load(RELAPSED))
    assert outcome.status == "eligible" and outcome.criteria["I2c"] == "met"
    assert outcome.calculated["target_not_reached"] is True


def test_a_finished_unsent_pre_screen_gets_its_protocol_2_outcome_recorded(store):
    final = [e for e in events(store, UNSENT, "outcome") if e["final"]]
    assert final[-2]["protocol_version"] == PROTOCOL_1 and final[-2]["failed"] == ["E3c", "E10"]
    assert final[-1]["protocol_version"] == PROTOCOL_VERSION and final[-1]["failed"] == ["E10"]
    assert store.get(UNSENT).outcome_status == "ineligible"


def test_sent_referrals_keep_the_outcome_and_version_they_were_decided_under(store):
    registry = Registry(store.db)
    declined = registry.referral(DECLINED)
    assert (declined.status, declined.outcome_status, declined.protocol_version) == (
        "declined", "ineligible", PROTOCOL_1)
    assert registry.referral(RELAPSED).outcome_status == "ineligible"
    for rid in (ACCEPTED, DECLINED, RELAPSED):
        after = events(store, rid)
        i = next(i for i, e in enumerate(after) if e["type"] == "protocol_changed")
        assert not [e for e in after[i:] if e["type"] == "outcome"], rid


def test_reassess_lists_the_referrals_whose_outcome_changes(path, capsys):
    assert main(["reassess", "--db", str(path), "--json"]) == 0
    rows = {r["referral_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {ACCEPTED, DECLINED, RELAPSED}  # the unsent ones are not referrals
    declined = rows[DECLINED]
    assert (declined["referral_status"], declined["recorded_status"], declined["recorded_protocol_version"],
            declined["new_status"]) == ("declined", "ineligible", PROTOCOL_1, "eligible")
    assert declined["changes"] == [{"criterion": "E3c", "before": "fails", "after": "pending"}]
    relapsed = rows[RELAPSED]
    assert relapsed["new_status"] == "eligible"
    assert {"criterion": "I2c", "before": "fails", "after": "passes"} in relapsed["changes"]
    # Eligible before and after, but E3c now waits for the investigator's judgement.
    assert rows[ACCEPTED]["changes"] == [{"criterion": "E3c", "before": "passes", "after": "pending"}]
    assert main(["reassess", "--db", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"{DECLINED} (declined): recorded ineligible under protocol {PROTOCOL_1}, now eligible" in text


def test_reassess_of_a_database_without_changes_says_so(tmp_path, capsys):
    store = Store.open(tmp_path / "new.db")
    store.close()
    assert main(["reassess", "--db", str(tmp_path / "new.db")]) == 0
    assert capsys.readouterr().out.startswith("No referral changes its outcome under protocol")


def test_reassess_needs_an_existing_database(tmp_path, capsys):
    assert main(["reassess", "--db", str(tmp_path / "nothing.db")]) == 2
    assert "no database" in capsys.readouterr().err


async def test_coordinators_get_the_same_list_in_telegram(tmp_path):
    from telegram_harness import COORDINATOR, Harness, texts

    shutil.copy(FIXTURE, tmp_path / "screening.db")
    async with Harness(tmp_path, physicians=(1001, 1002)) as h:
        # Update IDs above those the fixture's bot already processed.
        (reply,) = texts(await h.say(COORDINATOR, "/reassess", update_id=100_000))
    assert "3 referrals whose outcome protocol" in reply
    assert DECLINED in reply and "E3c fails → pending" in reply and RELAPSED in reply


# ---- migrate() on its own --------------------------------------------------------------------------------

def p1_state(history: list[Entry], phase: str = "asking", current: str | None = "hcq") -> State:
    return State(referral_id="R-TEST-0001", protocol_version=PROTOCOL_1, phase=phase, current=current, seq=9,
                 history=history)


def test_the_drugs_own_dose_gets_its_new_key_and_old_item_lists_become_checklists():
    m = migrate(p1_state([Entry(q="gc_high_dose", unknown=True), Entry(q="gc_peak_drug", value="prednisone"),
                          Entry(q="gc_peak_mg_day", value=40.0), Entry(q="sledai_2k", unknown=True),
                          Entry(q="sledai_2k_items", value=["arthritis"])]), "incomplete", sent=False)
    qs = [e.q for e in m.state.history]
    assert qs == ["gc_high_dose", "gc_peak_drug", "gc_drug_mg_day", "sledai_2k", "sledai_2k_items"]
    assert m.state.history[-1].value["arthritis"] is True and m.state.history[-1].value["fever"] is False
    facts = engine.facts_of(m.state).known()
    assert facts["gc_peak_mg_day"] == 40 and facts["sledai_2k_items"] == ["arthritis"]
    assert "sledai_2k_unknown" not in facts  # a protocol-1 list was complete


def test_a_question_that_no_longer_exists_is_dropped_with_its_reason():
    m = migrate(p1_state([Entry(q="age_years", value=12.0), Entry(q="no_such_question", value=True)]),
                "incomplete", sent=False)
    assert [e.q for e in m.state.history] == ["age_years"]
    assert m.events[0].payload["dropped"] == [{"question": "no_such_question", "why": "no such question in protocol 2"}]


def test_the_e3c_item_leaves_the_exclusion_checklist():
    checklist = {"prior_cell_therapy": False, "nephropathy_needs_intensification": True, "mas_1m": False}
    m = migrate(p1_state([Entry(q="exclusion_checklist", value=checklist)]), "ineligible", sent=False)
    assert "nephropathy_needs_intensification" not in m.state.history[0].value
    assert m.changed and "changed from ineligible to incomplete" in said(m.state.notice)


def test_a_current_state_is_left_alone_and_an_unknown_version_is_an_error():
    from conversations.dialogue.migrate import UnknownProtocol

    assert migrate(engine.start("R-TEST-0001").state, None, sent=False) is None
    with pytest.raises(UnknownProtocol, match="9.9"):
        migrate(p1_state([]).model_copy(update={"protocol_version": "cart-sle-ped-prescreen/9.9"}), None,
                sent=False)
