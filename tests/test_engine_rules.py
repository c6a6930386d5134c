"""The dialogue's rules in one table (issue 11): every (phase, input kind) pair is decided by
``engine.RULES``; each step gives a result, or raises IllegalStep and changes nothing. Every message
code the dialogue can produce has a sentence at the edges."""

from __future__ import annotations

import typing

import pytest
from conversation_script import ELIGIBLE_GIRL_12, eligible_answers, run_answers, run_script, start
from said import said

from bot import phrases
from conversations.dialogue import engine
from conversations.dialogue.inputs import KINDS, CommandName
from conversations.dialogue.messages import M
from conversations.dialogue.state import Phase, State


def states() -> dict[str, State]:
    """A state of every phase, and of the asking phase at each kind of question."""
    asking = start().state
    checklist = run_answers(eligible_answers(), stop_at="exclusion_checklist").state
    done = run_script(ELIGIBLE_GIRL_12).state
    ineligible = run_answers({"age_years": "4"}, stop_at="sex").state
    cancelled = engine.step(asking, engine.Command("cancel")).state
    return {"asking a number": asking, "asking a checklist": checklist, "done": done,
            "ineligible, going on": ineligible, "cancelled": cancelled}


def inputs(state: State) -> dict[str, list[engine.Input]]:
    """Inputs of every kind, both fitting and not fitting the question on screen."""
    q = engine.current_question(state)
    choice = q.choices[0].value if q is not None and q.choices else "x"
    return {
        "typed": [engine.Answer("12"), engine.Answer("unknown"), engine.Answer("nonsense")],
        "pressed": [engine.Answer("yes", seq=state.seq), engine.Answer("yes", seq=state.seq - 1)],
        "toggle": [engine.Toggle(state.seq, choice), engine.Toggle(state.seq + 1, choice),
                   engine.Toggle(state.seq, "no such item")],
        "submit": [engine.Submit(state.seq), engine.Submit(state.seq - 1)],
        "change": [engine.Change(1), engine.Change(0), engine.Change(999)],
        "amend": [engine.Amend("the LVEF was remeasured"), engine.Amend(""), engine.Amend(code="entry_error"),
                  engine.Amend(code="other"), engine.Amend("x", code="no_such_reason")],
        "sent": [engine.Sent(1)],
        "reopen": [engine.Reopen(("lvef_percent",)), engine.Reopen(("lvef_percent",), code="team_request"),
                   engine.Reopen(())],
        **{f"command:{c}": [engine.Command(c)] for c in CommandName},
    }


STATES = states()


def test_the_table_decides_every_phase_and_input_kind():
    phases = typing.get_args(Phase)
    assert set(engine.RULES) == set(phases)
    for phase in phases:
        assert set(engine.RULES[phase]) == set(KINDS), phase
    assert set(inputs(STATES["done"])) == set(KINDS)


@pytest.mark.parametrize("name", list(STATES))
def test_every_pair_gives_a_result_or_an_illegal_step_that_changes_nothing(name):
    state = STATES[name]
    frozen = state.model_dump_json()
    for kind, cases in inputs(state).items():
        for inp in cases:
            try:
                result = engine.step(state, inp)
            except engine.IllegalStep as exc:
                assert state.model_dump_json() == frozen, (name, inp)
                assert said(exc), "the reason is said"
                continue
            assert state.model_dump_json() == frozen, "a step never changes the state it was given"
            assert result.outputs, (name, inp)
            if kind in ("pressed", "toggle", "submit") and result.state == state:
                continue  # a stale press: nothing changed (Stale says so)
            for o in result.outputs:  # everything the step says can be said
                if isinstance(o, engine.Info | engine.Stale | engine.Reprompt | engine.Help):
                    assert said(o)


def test_every_message_code_has_a_sentence():
    assert set(phrases.SENTENCES) == set(M)
