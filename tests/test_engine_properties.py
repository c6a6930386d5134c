"""Properties of the conversation engine over random referrals and random answers.

- Agreement: an oracle physician answering from a random valid facts file reaches a final outcome equal
  to ``evaluate`` of the facts the engine stored, and the engine stored exactly what the oracle said.
- Relevance: every question asked can still change a verdict (by the planner, and by an independent
  check that tries values), and nothing that could still change a verdict is left unasked at the end.
- Robustness: any answer string to any kind of question never raises, never stores an invalid fact, and a
  refused answer leaves the state unchanged.
"""

from __future__ import annotations

import random

import pytest
from conversation_script import (
    EVERY_QUESTION,
    OracleRun,
    can_change_a_verdict,
    fmt_number,
    relevant_now,
    run_oracle,
    states_by_question,
    typeable,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import SETTINGS, near_eligible_facts, valid_facts

from conversations.dialogue import engine, planner, questions
from conversations.dialogue.answers import read_number
from conversations.dialogue.state import State
from criteria import Facts, evaluate
from criteria.codes import EULAR_ACR_2019_ITEMS, SLEDAI_2K_WEIGHTS

FEW = settings(SETTINGS, max_examples=60)


def check_run(run: OracleRun, facts: dict) -> None:
    conv = run.conv
    final = conv.final()
    stored = conv.facts
    # The outcome the physician sees is the one evaluate gives for the same facts.
    assert final.outcome == evaluate(stored)
    assert final.outcome == engine.outcome_of(conv.state)
    # The engine stored exactly what the oracle said, nothing more, nothing less...
    assert stored.known() == Facts.model_validate(run.oracle.said).known()
    # ...and the oracle said only what the facts file holds (calculated peak dose aside).
    for key, value in run.oracle.said.items():
        if key == "eular_acr_2019":
            for part, v in value.items():
                assert facts[key][part] == v or (part == "items" and set(v) == set(facts[key][part]))
        elif key == "gc_peak_mg_day" and key not in facts:  # converted from mg/kg/day × weight
            assert abs(value - facts["gc_peak_mg_kg_day"] * facts["weight_kg"]) <= 0.01 * value + 0.01
        elif key == "gc_peak_mg_day":  # the drug's dose converted back, to 3 decimals
            assert abs(value - facts[key]) <= 0.001 + 1e-6 * value, (value, facts[key])
        else:
            assert facts[key] == value or sorted(set(facts[key])) == sorted(value), key
    # A certain ineligibility was announced before the end, unless no question followed its cause.
    if final.outcome.status == "ineligible":
        announced = {c for o in conv.announcements() for c in o.outcome.failed}
        assert announced <= set(final.outcome.failed)
    # Every question could still change a verdict when it was asked.
    for q, before in run.asked:
        wanted = relevant_now(before)
        q_def = questions.BY_ID[q.fact]
        if q_def.fact_checklist:
            shown = [c.value for c in q.choices]
            assert shown and set(shown) <= wanted, (q.fact, shown, wanted)
            assert not set(shown) & set(before.known()), "a checklist item already known was shown"
            for key in shown:
                assert can_change_a_verdict(before, key), (key, before.known())
        else:
            assert set(q_def.serves) & wanted, (q.fact, wanted)
            assert any(can_change_a_verdict(before, s) for s in q_def.serves), (q.fact, before.known())
    # Nothing that could still change a verdict is left unasked.
    covered: set[str] = set()
    for e in conv.state.history:
        covered |= set(questions.BY_ID[e.q].serves)
        if questions.BY_ID[e.q].fact_checklist:
            covered |= set(questions.EXCLUSION_CHECKLIST)
    # A question asked only under a condition that does not hold (the LLDAS question with a SLEDAI-2K
    # known) is left out on purpose: its answer can no longer change the outcome's status.
    for q_def in questions.QUESTIONS:
        if q_def.asked_when is not None and not q_def.asked_when(stored):
            assert final.outcome.status == "ineligible" or not set(q_def.serves) & planner.relevant_facts(
                final.outcome), q_def.id
            covered |= set(q_def.serves)
    assert planner.relevant_facts(final.outcome) <= covered


@FEW
@given(facts=valid_facts(), seed=st.integers(0, 2**16))
def test_oracle_physician_reaches_evaluate_of_the_stored_facts(facts, seed):
    facts = typeable(facts)
    Facts.model_validate(facts)
    check_run(run_oracle(facts, seed), facts)


@FEW
@given(facts=near_eligible_facts(), seed=st.integers(0, 2**16))
def test_oracle_on_near_eligible_referrals(facts, seed):
    facts = typeable(facts)
    run = run_oracle(facts, seed)
    check_run(run, facts)
    # Known verdicts never contradict the full referral. Two documented exceptions: a calculated eGFR
    # decides I4b over a given one (the engine asks eGFR first), and with no biopsy-proven LN the
    # chronicity index is not asked, though a known one counts (E3b). The full referral may leave a
    # verdict unknown that the engine decided: a calculator input it holds that cannot decide leaves its
    # fact unknown even when the fact is given too (criteria.md), and the engine asks the fact first.
    full = evaluate(facts).criteria
    for cid, verdict in run.conv.final().outcome.criteria.items():
        if verdict in ("met", "not_met", "clear", "excluded") and cid not in ("I4b", "E3b"):
            assert full[cid] in (verdict, "unknown"), (cid, verdict, full[cid])


def check_at_most(run) -> None:
    """"Question n of at most m": m never grows, and no pre-screen asks more than it said it might."""
    bounds = [q.number + q.remaining for q, _ in run.asked]
    assert all(b >= a for a, b in zip(bounds[1:], bounds, strict=False)), bounds
    assert len(run.asked) <= bounds[0]
    assert [q.number for q, _ in run.asked] == list(range(1, len(run.asked) + 1))


@FEW
@given(facts=valid_facts(), seed=st.integers(0, 2**16))
# Found by chance (the examples depend on PYTHONHASHSEED): the oracle typed "171,496 μmol/l", which the
# reader rightly asks back (171496 or 171.496?). The oracle must type only what reads one way.
@example(facts={"creatinine_unit": "umol/L", "creatinine": 171.496}, seed=0)
def test_the_most_questions_said_is_an_upper_bound(facts, seed):
    check_at_most(run_oracle(typeable(facts), seed))


def test_the_oracle_never_types_a_number_that_reads_two_ways():
    # "171,496" may be 171496 or 171.496: the reader asks back, so the oracle keeps the point there, and
    # before any three decimals ("0,125" the reader takes, but a person may not). A decimal comma is still
    # typed where it reads one way ("12,5", "1,1255").
    typed = {value: {fmt_number(value, random.Random(seed)) for seed in range(50)}
             for value in (171.496, 1.125, 12.25, 0.125, 12.5, 1.1255, 2400.125)}
    assert typed[171.496] == {"171.496"} and typed[1.125] == {"1.125"} and typed[2400.125] == {"2400.125"}
    assert typed[12.5] == {"12.5", "12,5"} and typed[0.125] == {"0.125"}
    assert typed[1.1255] == {"1.1255", "1,1255"} and typed[12.25] == {"12.25", "12,25"}


@settings(SETTINGS, max_examples=300)
@given(value=st.floats(0, 3000), seed=st.integers(0, 2**16))
def test_every_number_the_oracle_types_reads_as_it_was_meant(value, seed):
    text = fmt_number(value, random.Random(seed))
    assert read_number(text) == float(fmt_number(value)) == round(value, 6), (value, text)


def test_the_oracle_finds_every_status():
    # The properties above are not vacuous: the oracle reaches each status on some referral.
    from strategies import drop_keys, eligible_facts

    seen = set()
    facts = eligible_facts()
    seen.add(run_oracle(typeable(facts), 0).conv.final().outcome.status)
    seen.add(run_oracle(typeable({**facts, "lvef_percent": 50}), 1).conv.final().outcome.status)
    seen.add(run_oracle(typeable(drop_keys(facts, {"hiv_ab"})), 2).conv.final().outcome.status)
    assert seen == {"eligible", "ineligible", "incomplete"}


# ---- random answers to every kind of question -----------------------------------------------------------

@pytest.fixture(scope="module")
def states() -> dict[str, State]:
    return states_by_question(EVERY_QUESTION)


def test_every_question_and_reader_is_reachable(states):
    assert set(states) == {q.id for q in questions.QUESTIONS}
    assert {questions.BY_ID[q].reader for q in states} == {
        "number", "integer", "yes_no", "choice", "list", "checklist", "items", "creatinine"}


SPECIAL = [
    "", " ", "\x00", "\t\n\r", "\x1b[2J", "\u200b", "\u202e21", "\ufeff12", "NaN", "nan", "-nan", "1e309",
    "1E309", "inf", "-inf", "Infinity", "∞", "-0", "-0.0", "+0", "0", "00", "1e-309", "0x10", "1_000",
    "99999999999999999999999", "-99999999", "999999", "999999.999999", "1.5.5", "1,2,3", "12,", ",12",
    "١٢", "፩", "²", "½", "１２", "Ⅻ", "12 years years", "12 ans", "?", "??", "?1", "? ?", ",", ";;", " and ",
    "+", "none, 1", "none", "no", "yes", "-", "—", "µmol/L", "106 µmol/L", "106 μmol/L", "1.2", "0 mg/dL",
    "-1 mg/dL", "999999 umol/L", "0.000001 mg/dL", "1 mmol/L", "mg/dL 1.2", "1.2 mg/dL mg/dL",
    "x" * 4096, "1" * 4096, "?" * 4096, "\x00" * 4096, ("1, " * 1400)[:4096], "🙂", "null", "None", "[]", "{}",
    "'; DROP TABLE prescreens; --", "<script>", "%s%s%n", "{0}",
]


def answer_strings() -> st.SearchStrategy[str]:
    codes = [*SLEDAI_2K_WEIGHTS, *EULAR_ACR_2019_ITEMS, *questions.EXCLUSION_CHECKLIST, "IV", "VII", "foo"]
    units = ["", " ", "years", "%", "x", "mg/dL", "umol/L", "kg", "cm", "mg/kg/day", "/12", "furlongs"]
    return st.one_of(
        st.sampled_from(SPECIAL),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=12),
        st.text(alphabet="0123456789.,-+eE ?", max_size=12),
        st.integers().map(str),
        st.floats().map(repr),
        st.builds(lambda n, u: f"{n}{u}", st.floats(allow_nan=True).map(str) | st.integers(-10**9, 10**9).map(str),
                  st.sampled_from(units)),
        st.lists(st.sampled_from(codes) | st.integers(-2, 30).map(str), max_size=6).map(
            lambda xs: ", ".join(("?" if i % 3 == 2 else "") + x for i, x in enumerate(xs))),
        st.integers(4090, 4100).map(lambda n: "9" * n),
    )


def check_any_answer(state: State, text: str) -> None:
    result = engine.step(state, engine.Answer(text))
    refused = [o for o in result.outputs if isinstance(o, engine.Reprompt)]
    if refused:
        # Refused: the same question again with a message, and nothing changed.
        assert result.state == state
        assert len(refused) == 1 and refused[0].fact == state.current and refused[0].error
        assert refused[0].question.fact == state.current and refused[0].question.seq == state.seq
        assert [e.type for e in result.events] == ["answer_rejected"]
    elif any(isinstance(o, engine.Help) for o in result.outputs):
        # "?" or "help": the question's help, nothing recorded (issue 12)
        assert result.state == state and result.events == []
    else:
        assert len(result.state.history) == len(state.history) + 1
        assert result.state.history[-1].q == state.current
    # Whatever was stored is valid, survives the database round trip, and evaluates.
    facts = Facts.model_validate(planner.replay(result.state.history).facts)
    assert State.from_json(result.state.to_json()) == result.state
    evaluate(facts)


@pytest.mark.parametrize("text", SPECIAL, ids=range(len(SPECIAL)))
def test_special_answers_to_every_question(states, text):
    for state in states.values():
        check_any_answer(state, text)


@settings(SETTINGS, max_examples=300)
@given(text=answer_strings(), which=st.sampled_from(sorted({q.id for q in questions.QUESTIONS})))
def test_random_answers_never_raise_nor_store_invalid_facts(states, text, which):
    check_any_answer(states[which], text)


def test_refused_answers_are_refused_for_the_right_reason(states):
    # Spot checks of the property above, so that it cannot pass by accepting everything.
    for which, text in [("age_years", "NaN"), ("age_years", "1e309"), ("age_years", "inf"),
                        ("age_years", "99999999999999999999999"), ("age_years", "x" * 4096),
                        ("exclusion_checklist", ""), ("exclusion_checklist", "\x00"),
                        ("creatinine", "1.2"), ("sex", "፩"), ("dmards", ""), ("gc_drug_mg_day", "-40")]:
        result = engine.step(states[which], engine.Answer(text))
        assert isinstance(result.outputs[0], engine.Reprompt), (which, text, result.outputs)
