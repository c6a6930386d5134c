"""Properties of protocol 2 (hypothesis, deterministic: see SETTINGS).

- Assessing an item that was "not assessed" (present or absent) never turns a decided verdict around.
- A complete item list gives exactly protocol 1's calculator result.
- Flags never change the status, nor any verdict.
"""

from __future__ import annotations

import copy
import importlib

from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import SETTINGS, near_eligible_facts, valid_facts

from criteria import Facts, calculators, evaluate, protocol
from criteria.codes import EULAR_ACR_2019_ITEMS, SLEDAI_2K_WEIGHTS

# The module (the package's name ``evaluate`` is the function).
evaluate_module = importlib.import_module("criteria.evaluate")
DECIDED = {"met", "not_met", "clear", "excluded"}
SLEDAI = tuple(SLEDAI_2K_WEIGHTS)
EULAR = tuple(EULAR_ACR_2019_ITEMS)


def _valid(facts: dict) -> bool:
    try:
        Facts.model_validate(facts)
    except ValidationError:
        return False
    return True


@st.composite
def partial_sledai(draw: st.DrawFn) -> dict:
    present = draw(st.lists(st.sampled_from(SLEDAI), unique=True, max_size=6))
    unknown = draw(st.lists(st.sampled_from([c for c in SLEDAI if c not in present]), unique=True, min_size=1,
                            max_size=5))
    return {"sledai_2k_items": present, "sledai_2k_unknown": unknown}


@st.composite
def partial_eular(draw: st.DrawFn) -> dict:
    present = draw(st.lists(st.sampled_from(EULAR), unique=True, max_size=6))
    unknown = draw(st.lists(st.sampled_from([c for c in EULAR if c not in present]), unique=True, min_size=1,
                            max_size=5))
    ana = draw(st.sampled_from((True, False, None)))
    return {"eular_acr_2019": {"ana_ge_1_80": ana, "items": present, "unknown_items": unknown}}


def assess(facts: dict, which: str, code: str, present: bool) -> dict:
    out = copy.deepcopy(facts)
    if which == "sledai":
        out["sledai_2k_unknown"].remove(code)
        if present:
            out["sledai_2k_items"].append(code)
    else:
        e = out["eular_acr_2019"]
        e["unknown_items"].remove(code)
        if present:
            e["items"].append(code)
    return out


@SETTINGS
@given(base=st.one_of(valid_facts(), near_eligible_facts()), partial=st.one_of(partial_sledai(), partial_eular()),
       data=st.data())
def test_assessing_an_item_never_turns_a_decided_verdict_around(base, partial, data):
    which = "sledai" if "sledai_2k_items" in partial else "eular"
    base = {k: v for k, v in base.items() if k not in ("sledai_2k", "sle_eular_acr_2019", "target_not_reached",
                                                       "sledai_2k_items", "sledai_2k_unknown", "eular_acr_2019")}
    facts = {**base, **partial}
    assume(_valid(facts))
    open_items = partial["sledai_2k_unknown"] if which == "sledai" else partial["eular_acr_2019"]["unknown_items"]
    code = data.draw(st.sampled_from(open_items))
    present = data.draw(st.booleans())
    before = evaluate(facts)
    after = evaluate(assess(facts, which, code, present))
    for cid, verdict in before.criteria.items():
        if verdict in DECIDED:
            assert after.criteria[cid] == verdict, (cid, code, present)


@SETTINGS
@given(items=st.lists(st.sampled_from(SLEDAI), max_size=10))
def test_a_complete_sledai_list_gives_protocol_1s_score(items):
    r = calculators.sledai_2k_range(items, ())
    assert r.low == r.high == calculators.sledai_2k(items)
    assert evaluate({"sledai_2k_items": items}).calculated["sledai_2k"] == calculators.sledai_2k(items)


@SETTINGS
@given(items=st.lists(st.sampled_from(EULAR), max_size=10), ana=st.sampled_from((True, False, None)))
def test_a_complete_eular_list_gives_protocol_1s_result(items, ana):
    old = calculators.eular_acr_2019(ana, items)
    new = calculators.eular_acr_2019_range(ana, items, ())
    assert new.total.low == new.total.high == old.total
    assert new.classified == old.classified
    # An empty list of items not assessed is the same as none given.
    with_empty = evaluate({"eular_acr_2019": {"ana_ge_1_80": ana, "items": items, "unknown_items": []}})
    assert with_empty == evaluate({"eular_acr_2019": {"ana_ge_1_80": ana, "items": items}})


@SETTINGS
@given(facts=st.one_of(valid_facts(), near_eligible_facts()))
def test_flags_never_change_the_status_nor_a_verdict(facts):
    with_flags = evaluate(facts)
    saved = evaluate_module.FLAGS
    try:
        evaluate_module.FLAGS = ()
        without = evaluate(facts)
    finally:
        evaluate_module.FLAGS = saved
    assert without.flags == []
    assert with_flags.model_copy(update={"flags": []}) == without


def test_the_flags_property_is_not_vacuous():
    # The strategies raise flags often enough for the property above to mean something.
    assert evaluate({"age_years": 18, "syphilis": "positive"}).flags
    assert len(protocol.FLAGS) == 7
