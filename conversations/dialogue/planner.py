"""Which question comes next: the first, in catalogue order, that can still change a verdict."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from criteria import Facts, Outcome, evaluate

from .questions import QUESTIONS, Answered, Question, apply

# Pending verdicts that a known answer can still settle (or turn into a failure) before screening.
PENDING_FACTS = {"I5": "apheresis_suitable", "I6": "agrees_contraception", "E11": "pregnant"}


def replay(entries: list[Any]) -> Answered:
    """Facts and calculator inputs from the accepted answers, in order (entries: conversations.dialogue.state.Entry)."""
    from .questions import BY_ID

    a = Answered()
    for e in entries:
        a.answered.add(e.q)
        if e.unknown:
            a.unknown.add(e.q)
        else:
            a.values[e.q] = e.value
            apply(BY_ID[e.q], a.facts, a.aux, e.value)
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


def _after_ok(q: Question, a: Answered) -> bool:
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


def shown(q: Question, wanted: set[str]) -> Question:
    """A checklist of facts shows only the items that can still matter (no pregnancy item for a boy)."""
    if not q.fact_checklist:
        return q
    choices = tuple(c for c in q.choices if c.value in wanted)
    return replace(q, choices=choices, serves=tuple(c.value for c in choices))


def askable(a: Answered, wanted: set[str], facts: Facts) -> list[Question]:
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
        if any(s in wanted for s in q.serves):
            out.append(q)
    return out


def plan(a: Answered) -> tuple[Facts, Outcome, list[Question]]:
    facts = Facts.model_validate(a.facts)
    outcome = evaluate(facts)
    return facts, outcome, askable(a, relevant_facts(outcome), facts)


# ---- memoised plans -------------------------------------------------------------------------------
# A step plans the same history several times (the question on screen, the next one, the stored outcome
# status), and the next step plans it again after loading the state from the database. plan() is pure,
# so its result is kept per history content, for the most recent histories (enough for some hundred
# physicians answering at once).

PLAN_CACHE_SIZE = 512  # about 20 kB each: about 10 MB at most
_plans: OrderedDict[tuple, tuple[Facts, Outcome, tuple[Question, ...]]] = OrderedDict()
_plans_lock = threading.Lock()


def history_key(entries: list[Any]) -> tuple:
    """The content of a history, hashable; repr tells 1, 1.0 and True apart and keeps list order."""
    return tuple((e.q, e.unknown, repr(e.value)) for e in entries)


def plan_history(entries: list[Any], answered: Answered | None = None) -> tuple[Facts, Outcome, list[Question]]:
    """``plan(replay(entries))``, memoised; ``answered`` is ``replay(entries)`` when the caller has it."""
    key = history_key(entries)
    with _plans_lock:  # stores on several threads (a backup, tests) share the cache
        hit = _plans.get(key)
        if hit is not None:
            _plans.move_to_end(key)
    if hit is None:
        facts, outcome, asks = plan(answered if answered is not None else replay(entries))
        hit = (facts, outcome, tuple(asks))
        with _plans_lock:
            _plans[key] = hit
            if len(_plans) > PLAN_CACHE_SIZE:
                _plans.popitem(last=False)
    return hit[0], hit[1], list(hit[2])
