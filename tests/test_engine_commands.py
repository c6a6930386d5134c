"""Commands (back, skip, status, summary, cancel, help, reopen), button drafts (Toggle / Submit) and stale
buttons."""

from __future__ import annotations

import json

import pytest
import steps
from conversation_script import (
    ELIGIBLE_GIRL_12,
    EVERY_QUESTION,
    eligible_answers,
    run_answers,
    run_script,
    start,
    states_by_question,
)
from said import said

from conversations.dialogue import engine, questions
from conversations.dialogue.state import State
from conversations.records.store import Store
from criteria import evaluate

BACK, SKIP, STATUS, SUMMARY, CANCEL, HELP, REOPEN = (
    engine.Command(n) for n in ("back", "skip", "status", "summary", "cancel", "help", "reopen"))


def types(outputs) -> list[str]:
    return [type(o).__name__ for o in outputs]


# ---- back ---------------------------------------------------------------------------------------------------

def test_back_undoes_the_last_answer_and_asks_it_again():
    conv = run_script(ELIGIBLE_GIRL_12[:2])
    assert conv.state.current == "childbearing_potential"
    seq = conv.state.seq
    result = conv.send(BACK)
    assert types(result.outputs) == ["Info", "Question"]
    assert said(result.outputs[0]) == 'Your answer "sex: female" was taken back.'
    assert result.outputs[1].fact == "sex" and result.outputs[1].number == 2
    assert conv.state.current == "sex" and conv.state.seq == seq + 1
    assert [e.q for e in conv.state.history] == ["age_years"]
    assert "sex" not in conv.facts.known()
    assert [e.type for e in result.events] == ["answer_withdrawn"]
    assert result.events[0].payload == {"question": "sex", "facts": {"sex": "female"}, "unknown": []}
    # The correction is its own event, with the old and the new answer.
    result = conv.send("male")
    assert [e.type for e in result.events] == ["answer_corrected"]
    assert result.events[0].payload == {
        "question": "sex", "old": {"facts": {"sex": "female"}, "unknown": []},
        "new": {"facts": {"sex": "male"}, "unknown": []}, "raw": "male"}
    assert conv.state.withdrawn == {}
    # A boy: the next question is no longer menarche.
    assert conv.state.current == "exclusion_checklist"


def test_back_twice_goes_two_answers_back():
    conv = run_script(ELIGIBLE_GIRL_12[:3])
    conv.send(BACK)
    conv.send(BACK)
    assert conv.state.current == "sex" and len(conv.state.history) == 1
    # Answering again (both were taken back): a different answer is a correction; the same one is not.
    assert conv.send("male").events[0].type == "answer_corrected"
    assert conv.state.current == "exclusion_checklist" and "childbearing_potential" in conv.state.withdrawn
    conv.send(BACK)
    same = conv.send("male").events[0]
    assert (same.type, same.payload.get("unchanged")) == ("answer_accepted", True)
    assert conv.send("none").events[0].type == "answer_accepted"


def test_five_backs_and_the_same_answers_again_are_no_corrections():
    """Issue 14: re-answering with an unchanged value is not a correction."""
    conv = run_script(ELIGIBLE_GIRL_12[:5])
    for _ in range(5):
        conv.send(BACK)
    events = [e for _, text in ELIGIBLE_GIRL_12[:5] for e in conv.send(text).events
              if e.type in ("answer_accepted", "answer_corrected")]
    assert [(e.type, e.payload.get("unchanged")) for e in events] == [("answer_accepted", True)] * 5


def test_back_with_nothing_to_undo_repeats_the_question():
    conv = start()
    state = conv.state
    result = conv.send(BACK)
    assert types(result.outputs) == ["Info", "Question"]
    assert "no earlier answer" in said(result.outputs[0])
    assert result.outputs[1].fact == "age_years" and result.outputs[1].seq == state.seq
    assert result.state == state and result.events == []


def test_back_retracts_an_announced_ineligibility():
    conv = start()
    accepted, announced = conv.send("4").outputs[:2]
    assert isinstance(accepted, engine.Accepted) and accepted.facts == {"age_years": 4}
    assert announced.outcome.failed == ["I1"]
    assert conv.state.announced == ["I1"]
    conv.send(BACK)
    assert conv.state.announced == [] and conv.state.current == "age_years"
    result = conv.send("12")
    assert not any(isinstance(o, engine.OutcomeReached) for o in result.outputs)
    # A second knock-out after the correction is announced again.
    conv.send(BACK)
    assert any(isinstance(o, engine.OutcomeReached) for o in conv.send("19").outputs)


def test_back_after_the_outcome_reopens_the_last_question():
    conv = run_script(ELIGIBLE_GIRL_12)
    assert conv.state.phase == "done"
    result = conv.send(BACK)
    assert conv.state.phase == "asking" and conv.state.current == "apheresis_suitable"
    assert types(result.outputs) == ["Info", "Question"]
    conv.send("no")
    final = conv.final()
    assert final.outcome.failed == ["I5"] and final.outcome == evaluate(conv.facts)


def test_back_over_a_calculator_step_removes_the_derived_fact():
    conv = run_answers(eligible_answers(egfr="unknown"), stop_at="ast_x_uln")
    assert engine.outcome_of(conv.state).calculated["egfr"] == 99.8
    known = conv.facts.known()
    assert known["height_cm"] == 145 and known["creatinine"] == 0.6
    conv.send(BACK)
    assert conv.state.current == "height_cm" and "height_cm" not in conv.facts.known()
    assert engine.outcome_of(conv.state).criteria["I4b"] == "unknown"
    conv.send("unknown")
    assert engine.outcome_of(conv.state).criteria["I4b"] == "unknown"
    assert conv.state.current == "ast_x_uln"


def test_back_and_corrections_are_in_the_audit_trail(tmp_path):
    store = Store.open(tmp_path / "screening.db")
    rid = steps.start(store, "physician", 7).referral_id
    for inp in (engine.Answer("12"), engine.Answer("female"), BACK, engine.Answer("male")):
        steps.apply(store, rid, inp, "physician", 7)
    rows = store.db.conn.execute(
        "SELECT type, payload, actor_role, actor_id FROM audit_events WHERE referral_id = ? ORDER BY seq",
        (rid,)).fetchall()
    assert [r[0] for r in rows] == ["prescreen_started", "answer_accepted", "answer_accepted",
                                    "answer_withdrawn", "answer_corrected"]
    assert {(r[2], r[3]) for r in rows} == {("physician", 7)}
    corrected = json.loads(rows[-1][1])
    assert corrected["old"] == {"facts": {"sex": "female"}, "unknown": []}
    assert corrected["new"] == {"facts": {"sex": "male"}, "unknown": []}
    assert store.load(rid).history[-1].value == "male"
    store.close()


# ---- skip ---------------------------------------------------------------------------------------------------

def test_skip_answers_unknown():
    conv = start()
    result = conv.send(SKIP)
    assert conv.state.history[-1].unknown and conv.state.history[-1].q == "age_years"
    assert result.events[0].type == "answer_accepted"
    assert result.events[0].payload == {"question": "age_years", "facts": {}, "unknown": ["age_years"],
                                        "raw": "", "skipped": True}, "recorded as a skip, not as a word typed"
    assert conv.state.current == "sex"
    assert engine.outcome_of(conv.state).criteria["I1"] == "unknown"


def test_skip_on_a_calculator_marks_its_fact_unknown():
    conv = run_answers(eligible_answers(egfr="unknown"), stop_at="creatinine")
    result = conv.send(SKIP)
    assert result.events[0].payload["unknown"] == ["egfr"]


def test_skip_a_checklist_leaves_every_item_unknown():
    conv = run_script(ELIGIBLE_GIRL_12[:3])
    conv.send(SKIP)
    assert not set(questions.EXCLUSION_CHECKLIST) & set(conv.facts.known())
    assert conv.state.current == "sle_eular_acr_2019"


def test_skip_when_finished_is_illegal():
    conv = run_script(ELIGIBLE_GIRL_12)
    with pytest.raises(engine.IllegalStep):
        engine.step(conv.state, SKIP)


# ---- status, summary, help ----------------------------------------------------------------------------------

def test_status_shows_progress_and_the_same_question():
    conv = run_script(ELIGIBLE_GIRL_12[:5])
    state = conv.state
    result = conv.send(STATUS)
    assert types(result.outputs) == ["Info", "Question"]
    assert said(result.outputs[0]) == "Pre-screen R-TEST-0001: question 6 of at most 45."
    assert result.outputs[1].fact == ELIGIBLE_GIRL_12[5][0] and result.outputs[1].seq == state.seq
    assert result.state == state and result.events == []


def test_status_when_finished_gives_the_outcome():
    conv = run_script(ELIGIBLE_GIRL_12)
    result = conv.send(STATUS)
    assert types(result.outputs) == ["OutcomeReached"] and result.outputs[0].final
    assert result.outputs[0].outcome.status == "eligible"


def test_summary_lists_the_answers_with_short_names():
    conv = start()
    assert said(conv.send(SUMMARY).outputs[0]) == "Pre-screen R-TEST-0001: no answers yet."
    run_script(ELIGIBLE_GIRL_12[:4] + [("sle_eular_acr_2019", "unknown"),
                                       ("eular_acr_2019.ana_ge_1_80", "yes"),
                                       ("ln_classes", "none"), ("cns_lupus", "yes"),
                                       ("eular_acr_2019.items", "acute cutaneous lupus, anti-dsDNA")], conv)
    conv.send(engine.Answer("unknown"))  # sledai_2k
    conv.send(engine.Answer("arthritis"))  # sledai_2k_items
    state = conv.state
    result = conv.send(SUMMARY)
    assert result.state == state
    assert said(result.outputs[0]).splitlines() == [
        "Pre-screen R-TEST-0001, answers so far:",
        "1. age: 12 years",
        "2. sex: female",
        "3. childbearing potential: yes",
        "4. exclusion checklist: none",
        "5. meets the 2019 EULAR/ACR SLE classification: unknown",
        "6. ANA ≥ 1:80: yes",
        "7. biopsy-proven lupus nephritis classes: none",
        "8. CNS lupus: yes",
        "9. 2019 EULAR/ACR items: acute cutaneous lupus, anti-dsDNA or anti-Sm antibodies",
        "10. SLEDAI-2K: unknown",
        "11. SLEDAI-2K descriptors: arthritis",
        # Issue 12: what the calculators made of the answers, with labels (the summary said "eGFR: unknown").
        "Calculated: SLEDAI-2K 4, meets the 2019 EULAR/ACR SLE classification: yes, 2019 EULAR/ACR total 12",
    ]


def test_summary_of_a_checklist_names_the_unsure_items():
    conv = run_script(ELIGIBLE_GIRL_12[:3] + [("exclusion_checklist", "1, ?mas_1m")])
    assert said(conv.send(SUMMARY).outputs[0]).splitlines()[-1] == (
        "4. exclusion checklist: prior CAR-T or genetically modified cell therapy; not sure: macrophage "
        "activation syndrome in the last month")


def test_every_question_has_help_on_request():
    states = states_by_question(EVERY_QUESTION)
    for qid, state in states.items():
        result = engine.step(state, HELP)
        assert types(result.outputs) == ["Help"] and result.state == state
        expected = questions.BY_ID[qid].help or "No further help for this question."
        assert said(result.outputs[0]) == expected
    with_help = [q for q in states if questions.BY_ID[q].help]
    assert len(with_help) >= 20


def test_help_when_finished_lists_the_commands():
    conv = run_script(ELIGIBLE_GIRL_12)
    text = said(conv.send(HELP).outputs[0])
    assert all(word in text for word in ("back", "skip", "status", "summary", "cancel"))


# ---- cancel -------------------------------------------------------------------------------------------------

def test_cancel_ends_the_pre_screen_and_nothing_is_allowed_after():
    conv = run_script(ELIGIBLE_GIRL_12[:3])
    result = conv.send(CANCEL)
    assert types(result.outputs) == ["Cancelled"]
    assert conv.state.phase == "cancelled" and conv.state.current is None
    assert [e.type for e in result.events] == ["prescreen_cancelled"]
    for inp in (engine.Answer("none"), BACK, SKIP, STATUS, CANCEL, engine.Toggle(conv.state.seq, "mas_1m"),
                engine.Submit(conv.state.seq)):
        with pytest.raises(engine.IllegalStep):
            engine.step(conv.state, inp)


def test_a_finished_pre_screen_cannot_be_cancelled_or_answered():
    conv = run_script(ELIGIBLE_GIRL_12)
    with pytest.raises(engine.IllegalStep):
        engine.step(conv.state, CANCEL)
    # Text typed to it answers nothing: the engine says so and shows the outcome again (issue 11: the rule
    # is the engine's, no longer the Telegram handler's), and nothing changes.
    result = engine.step(conv.state, engine.Answer("yes"))
    assert result.state == conv.state and result.events == []
    assert types(result.outputs) == ["Info", "OutcomeReached"] and "is finished" in said(result.outputs[0])


# ---- reopen -------------------------------------------------------------------------------------------------

def test_reopen_asks_again_what_was_unknown():
    conv = run_answers(eligible_answers(lvef_percent="unknown", exclusion_checklist="?mas_1m"))
    assert conv.final().outcome.status == "incomplete"
    result = conv.send(REOPEN)
    assert conv.state.phase == "asking" and conv.state.current == "exclusion_checklist"
    assert [e.type for e in result.events] == ["prescreen_reopened"]
    assert result.events[0].payload == {"questions": ["exclusion_checklist", "lvef_percent"]}
    # The checklist answer had an unsure item, so the whole checklist is asked again.
    conv.send("none")
    assert conv.state.current == "lvef_percent"
    conv.send("60")
    assert conv.final().outcome.status == "eligible"


def test_reopen_with_nothing_unknown_and_while_asking():
    conv = run_script(ELIGIBLE_GIRL_12)
    result = conv.send(REOPEN)
    assert result.state == conv.results[-2].state and "nothing to fill in" in said(result.outputs[0])
    with pytest.raises(engine.IllegalStep):
        engine.step(start().state, REOPEN)


def test_reopen_does_not_ask_what_a_known_pregnancy_decided():
    # Sex and menarche unknown, pregnancy known: the pregnancy implies childbearing potential (I6 pending,
    # E11 excluded), so reopening asks nothing more and gives the same outcome.
    conv = run_answers(eligible_answers(sex="unknown", childbearing_potential="unknown",
                                        exclusion_checklist="pregnant"))
    before = conv.final().outcome
    assert before.failed == ["E11"] and before.criteria["I6"] == "pending"
    result = conv.send(REOPEN)
    assert conv.state.phase == "done" and conv.final().outcome == before
    assert [e.type for e in result.events] == ["prescreen_reopened", "outcome"]


# ---- buttons: Toggle / Submit drafts, stale presses ---------------------------------------------------------

def at_checklist():
    return run_script(ELIGIBLE_GIRL_12[:3])


def test_toggle_cycles_a_checklist_item_yes_unsure_off():
    conv = at_checklist()
    seq = conv.state.seq
    marks = []
    for _ in range(4):
        result = conv.send(engine.Toggle(seq, "mas_1m"))
        assert types(result.outputs) == ["Question"] and result.outputs[0].seq == seq
        assert result.events == []
        marks.append(result.outputs[0].draft.get("mas_1m"))
    assert marks == ["yes", "unknown", None, "yes"]
    assert len(conv.state.history) == 3 and conv.state.draft == {"mas_1m": "yes"}


def test_submit_stores_the_draft():
    conv = at_checklist()
    seq = conv.state.seq
    conv.send(engine.Toggle(seq, "prior_cell_therapy"))
    conv.send(engine.Toggle(seq, "mas_1m"))
    conv.send(engine.Toggle(seq, "mas_1m"))
    assert conv.state.draft == {"prior_cell_therapy": "yes", "mas_1m": "unknown"}
    result = conv.send(engine.Submit(seq))
    entry = conv.state.history[-1]
    assert entry.raw == "prior_cell_therapy, ?mas_1m"
    assert entry.value["prior_cell_therapy"] is True and entry.value["mas_1m"] is None
    assert entry.value["dialysis_3m"] is False
    assert conv.state.draft == {} and conv.state.seq == seq + 1
    assert any(isinstance(o, engine.OutcomeReached) and o.outcome.failed == ["E1"] for o in result.outputs)


def test_submit_with_nothing_selected_means_none():
    conv = run_answers(eligible_answers(), stop_at="dmards")
    conv.send(engine.Submit(conv.state.seq))
    assert conv.facts.known()["dmards"] == []


def test_toggle_on_a_list_question_is_yes_or_off():
    conv = run_answers(eligible_answers(), stop_at="dmards")
    seq = conv.state.seq
    conv.send(engine.Toggle(seq, "rituximab"))
    conv.send(engine.Toggle(seq, "belimumab"))
    conv.send(engine.Toggle(seq, "rituximab"))
    assert conv.state.draft == {"belimumab": "yes"}
    conv.send(engine.Submit(seq))
    assert conv.facts.known()["dmards"] == ["belimumab"]


def test_a_typed_answer_replaces_the_draft():
    conv = at_checklist()
    conv.send(engine.Toggle(conv.state.seq, "mas_1m"))
    conv.send("none")
    assert conv.facts.known()["mas_1m"] is False and conv.state.draft == {}


def test_the_draft_survives_status_and_a_restart_but_not_back():
    conv = at_checklist()
    seq = conv.state.seq
    conv.send(engine.Toggle(seq, "mas_1m"))
    result = conv.send(STATUS)
    assert result.outputs[1].draft == {"mas_1m": "yes"}
    restored = State.from_json(conv.state.to_json())
    assert restored == conv.state and engine.current_question(restored).draft == {"mas_1m": "yes"}
    conv.send(BACK)
    assert conv.state.draft == {}


@pytest.mark.parametrize("make", [
    lambda seq: engine.Toggle(seq - 1, "mas_1m"),
    lambda seq: engine.Submit(seq - 1),
    lambda seq: engine.Answer("none", seq=seq - 1),
    lambda seq: engine.Toggle(seq + 1, "mas_1m"),
])
def test_a_button_of_an_earlier_question_is_stale(make):
    conv = at_checklist()
    state = conv.state
    result = conv.send(make(state.seq))
    assert types(result.outputs) == ["Stale"] and "earlier question" in said(result.outputs[0])
    assert result.state == state and result.events == []


def test_a_button_press_with_the_current_seq_is_an_answer():
    conv = at_checklist()
    conv.send(engine.Answer("none", seq=conv.state.seq))
    assert conv.state.current == "sle_eular_acr_2019"


def test_buttons_after_the_end_are_stale_not_illegal():
    conv = run_script(ELIGIBLE_GIRL_12)
    state = conv.state
    for inp in (engine.Toggle(state.seq, "x"), engine.Submit(state.seq), engine.Answer("yes", seq=state.seq)):
        result = engine.step(state, inp)
        assert types(result.outputs) == ["Stale"] and result.state == state


def test_toggle_of_a_choice_not_on_screen_changes_nothing():
    # A boy's checklist has no pregnancy item; a yes/no question has no choices to toggle.
    conv = run_script([("age_years", "12"), ("sex", "male")])
    state = conv.state
    for inp in (engine.Toggle(state.seq, "pregnant"), engine.Toggle(state.seq, "no_such_item")):
        result = conv.send(inp)
        assert types(result.outputs) == ["Stale"] and result.state == state
    conv.send("none")
    state = conv.state
    assert state.current == "sle_eular_acr_2019"
    result = conv.send(engine.Toggle(state.seq, "yes"))
    assert types(result.outputs) == ["Stale"] and result.state == state


def test_a_sent_pre_screen_changes_only_with_a_reason():
    conv = run_script(ELIGIBLE_GIRL_12)
    conv.send(engine.Sent(1))
    for inp in (BACK, REOPEN, engine.Change(3)):
        with pytest.raises(engine.IllegalStep) as exc:
            engine.step(conv.state, inp)
        assert "first say why" in said(exc)
    assert [o for o in conv.send(engine.Command("send")).outputs if isinstance(o, engine.ReadyToSend)] == []
    locked = conv.state
    assert conv.send(engine.Amend("born 04.03.2012")).state == locked, "an identifier is never kept"
    result = conv.send(engine.Amend("  the ECG was read again  "))
    assert [(e.type, e.payload) for e in result.events] == [
        ("referral_amended", {"send_no": 1, "reason_code": "other", "reason": "the ECG was read again"})]
    assert "no longer stands" in said(result.outputs[0])
    conv.send(BACK)
    assert conv.state.phase == "asking"


# ---- a typed answer and the question on screen when it was typed --------------------------------------------

def test_a_typed_answer_applies_only_to_the_question_shown_when_it_was_typed():
    conv = run_script(ELIGIBLE_GIRL_12[:1])
    state = conv.state
    for shown in (state.seq - 1, 0, state.seq + 1):  # an earlier question, none yet, one not asked yet
        result = engine.step(state, engine.Answer("female", shown_seq=shown))
        assert types(result.outputs) == ["Stale", "Question"] and result.events == []
        assert said(result.outputs[0]).startswith("Your message was written before the question below")
        assert result.state == state, "nothing changes"
    result = engine.step(state, engine.Answer("female", shown_seq=state.seq))
    assert [e.type for e in result.events] == ["answer_accepted"]
    assert engine.step(state, engine.Answer("female")).state == result.state, "an edge that cannot tell"


def test_a_skip_and_an_unchanged_answer_read_as_such_in_the_transcript(tmp_path):
    from conversations.records.audit_export import transcript_line

    store = Store.open(tmp_path / "t.db")
    rid = steps.start(store, "physician", 7).referral_id
    steps.apply(store, rid, SKIP, "physician", 7)
    steps.apply(store, rid, BACK, "physician", 7)
    steps.apply(store, rid, engine.Answer("unknown"), "physician", 7)
    lines = [transcript_line(r) for r in store.db.conn.execute(
        "SELECT seq, ts, actor_role, actor_id, referral_id, type, payload FROM audit_events ORDER BY seq")]
    assert any(line.endswith("skipped question age_years (age_years unknown)") for line in lines), lines
    assert any("answered question age_years again, unchanged: unknown" in line for line in lines), lines
    store.close()
