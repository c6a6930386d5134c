"""Which question comes next: the first, in catalogue order, that can still change a verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from criteria import Facts, Outcome, evaluate

from .questions import BY_ID, QUESTIONS, RENAL_CLASS_ITEMS, Answered, QuestionDef, apply

# Pending verdicts that a known answer can still settle (or turn into a failure) before screening.
PENDING_FACTS = {"I5": "apheresis_suitable", "I6": "agrees_contraception", "E11": "pregnant"}


def replay(entries: list[Any]) -> Answered:
    """Facts and calculator inputs from the accepted answers, in order (entries: ``state.Entry``)."""
    a = Answered()
    for e in entries:
        a.answered.add(e.q)
        if e.unknown:
            a.unknown.add(e.q)
        else:
            a.values[e.q] = e.value
            apply(BY_ID[e.q], a.facts, a.aux, e.value)
    items = "eular_acr_2019.items"
    if items in a.values and "ln_classes" in a.values:  # the classes decide the renal items, whichever came first
        apply(BY_ID[items], a.facts, a.aux, a.values[items])
    return a


# A missing item that names a part of a calculator input, or one of its figures, is served by the
# questions of the fact that input decides ("sledai_2k_items.low_complement" by the SLEDAI-2K questions).
SERVED_BY = {"sledai_2k_items": "sledai_2k", "eular_acr_2019": "sle_eular_acr_2019",
             "gc_peak_mg_day": "gc_high_dose", "gc_peak_mg_kg_day": "gc_high_dose"}


def relevant_facts(outcome: Outcome) -> set[str]:
    wanted = set()
    for fact in outcome.missing_facts:
        root = fact.split(".", 1)[0]
        wanted.add(SERVED_BY.get(root, root))
    for cid, fact in PENDING_FACTS.items():
        if outcome.criteria[cid] == "pending":
            wanted.add(fact)
    return wanted


def _after_ok(q: QuestionDef, a: Answered) -> bool:
    if q.after is None:
        return True
    if q.after not in a.answered:
        return False
    if q.after_when == "unknown":
        return q.after in a.unknown
    if q.after_when == "known":
        return q.after not in a.unknown
    if q.after_when == "yes":
        return a.values.get(q.after) is True
    return True


def shown(q: QuestionDef, wanted: set[str]) -> QuestionDef:
    """A checklist of facts shows only the items that can still matter (no pregnancy item for a boy)."""
    if not q.fact_checklist:
        return q
    choices = tuple(c for c in q.choices if c.value in wanted)
    return replace(q, choices=choices, serves=tuple(c.value for c in choices))


def askable(a: Answered, wanted: set[str], facts: Facts) -> list[QuestionDef]:
    out = []
    for q in QUESTIONS:
        if q.id in a.answered or not _after_ok(q, a):
            continue
        if q.asked_when is not None and not q.asked_when(facts):
            continue
        if q.fact_checklist:
            q = shown(q, wanted - set(a.facts))
            if not q.choices:
                continue
        elif q.id == "eular_acr_2019.items" and isinstance(a.facts.get("ln_classes"), list):
            # The renal biopsy items are known from the biopsy classes: not asked again.
            q = replace(q, choices=tuple(c for c in q.choices if c.value not in RENAL_CLASS_ITEMS))
        if any(s in wanted for s in q.serves):
            out.append(q)
    return out


def at_most(a: Answered, wanted: set[str], asks: list[QuestionDef]) -> int:
    """The most questions that can still be asked: those worth asking now, and every step an answer to
    one of them could open (a calculator's inputs after "unknown", the dose after the drug, the LLDAS
    question if the SLEDAI-2K stays unknown). The facts worth asking only shrink as answers come, so no
    other question can come."""
    possible = {q.id for q in asks}
    for q in QUESTIONS:  # catalogue order: a step comes after the question it follows
        if q.id in a.answered or q.id in possible or not any(s in wanted for s in q.serves):
            continue
        if q.after is None or q.after in possible:
            possible.add(q.id)
    return len(possible)


class Plan(NamedTuple):
    """The facts so far, their outcome, the questions still worth asking (the first one next) and the
    most that can still be asked."""

    facts: Facts
    outcome: Outcome
    asks: list[QuestionDef]
    most: int = 0


def plan(a: Answered) -> Plan:
    """Raises ValidationError when the answers give facts the facts model refuses."""
    facts = Facts.model_validate(a.facts)
    outcome = evaluate(facts)
    wanted = relevant_facts(outcome)
    asks = askable(a, wanted, facts)
    # A fact confirmed at the screening visit may still become worth asking (contraception once she is
    # of childbearing potential): counted among the questions that may come while its criterion is open.
    may_come = {f for cid, f in PENDING_FACTS.items() if outcome.criteria[cid] in ("unknown", "pending")}
    return Plan(facts, outcome, asks, at_most(a, wanted | may_come, asks))


def plan_for(entries: list[Any]) -> Plan:
    return plan(replay(entries))
