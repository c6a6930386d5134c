"""evaluate(facts) -> Outcome: the protocol applied to one referral."""

from collections.abc import Mapping
from typing import Any

from . import messages as m
from .derive import Derived
from .facts import Facts
from .logic import Context
from .messages import Fact, Joined, Msg, Word
from .outcome import Failure, Missing, Note, Outcome, Pending
from .protocol import CRITERIA, FAILING, FLAGS, PROTOCOL_VERSION, READINGS, RECHECK_BY_ID

# Where a score or fact can be worked out from simpler inputs, the reason says so.
CALCULATOR_HINTS = {
    "sledai_2k": "the SLEDAI-2K descriptors present",
    "sle_eular_acr_2019": "ANA and the 2019 EULAR/ACR items",
    "egfr": "serum creatinine and height (bedside Schwartz)",
    "gc_high_dose": "the peak glucocorticoid dose",
    "steroid_dependent": "the lowest glucocorticoid dose reached before a flare",
    "target_not_reached": "a SLEDAI-2K of 5 or more",
}


def context(facts: Facts) -> Context:
    # A calculator input decides its fact (criteria.md, "Derived facts"); the facts model refuses a given
    # fact that disagrees with it, and one it cannot decide leaves the fact unknown even when given. eGFR
    # is the exception: a lab eGFR within 1 mL/min/1.73 m² of the bedside Schwartz value is consistent,
    # and then the LOWER of the two decides. Preferring either source would let the other one, added
    # later, turn a failed I4b into a pass (29.5 calculated, 30.4 given, or the reverse).
    values: dict[str, Any] = dict(facts.__dict__)  # the fields (faster than iterating the model)
    calc: dict[str, Derived] = {}
    for fact, d in facts.derived.items():
        given = values.get(fact)
        if fact == "egfr" and given is not None and given <= d.value:
            continue
        values[fact] = d.value
        calc[fact] = d
    return Context(values, calc)


def evaluate(facts: Facts | Mapping[str, Any]) -> Outcome:
    if not isinstance(facts, Facts):
        facts = Facts.model_validate(facts)
    ctx = context(facts)
    verdicts: dict[str, str] = {}
    failures: list[Failure] = []
    missing: list[Missing] = []
    pending: list[Pending] = []
    rechecks: list[Note] = []
    for criterion in CRITERIA:
        j = criterion.judge(ctx)
        verdicts[criterion.id] = j.verdict
        if j.verdict in FAILING:
            failures.append(Failure.model_construct(criterion=criterion.id, title=criterion.title,
                                                    facts=list(j.decided_facts), reasons=[str(r) for r in j.decided_by],
                                                    details=j.decided_by))
            r = RECHECK_BY_ID.get(criterion.id)
            said = r.text(ctx) if r is not None else None
            if said is not None:
                rechecks.append(Note.model_construct(criterion=criterion.id, text=str(said), detail=said))
        elif j.verdict == "unknown":
            missing.append(_missing(criterion.id, criterion.title, j.open, j.note, ctx))
        elif j.verdict == "pending":
            pending.append(_PENDING[criterion.id])
    if failures:
        status = "ineligible"
    elif missing:
        status = "incomplete"
    else:
        status = "eligible"
    flags = [Note.model_construct(criterion=f.criterion, text=f.text, detail=None)
             for f in FLAGS if f.when.value(ctx) is True]
    # The parts are built here from the protocol and are valid by construction: no re-validation
    # (model_construct) keeps evaluate() fast; the result is the same Outcome.
    return Outcome.model_construct(
        status=status,
        criteria=verdicts,
        failed=[f.criterion for f in failures],
        failures=failures,
        missing=missing,
        pending=[p.criterion for p in pending],
        pending_details=pending,
        flags=flags,
        recheck=rechecks,
        ineligible_now=bool(failures) and len(rechecks) == len(failures),
        calculated=_calculated(ctx),
        notes=list(_NOTES),
        protocol_version=PROTOCOL_VERSION,
    )


_NOTES = tuple(f"{cid}: {reading}" for cid, reading in READINGS.items())
# Frozen, the same for every referral: built once.
_PENDING = {c.id: Pending(criterion=c.id, reason=c.pending_reason) for c in CRITERIA}


def _calculated(ctx: Context) -> dict[str, Any]:
    """Every value a calculator worked out; a score known only as a range as [low, high]."""
    out: dict[str, Any] = {}
    for key, d in ctx.calc.items():
        if d.value is not None:
            out[key] = _round(d.value)
        elif d.range is not None:
            out[key] = [d.range[0], d.range[1]]
    return out


def _missing(cid: str, title: str, open_facts: tuple[tuple[str, tuple[Msg, ...]], ...], note: Msg | None,
             ctx: Context) -> Missing:
    keys = list(dict.fromkeys(k for k, _ in open_facts))
    because = list(dict.fromkeys(b for _, bs in open_facts for b in bs))
    listed = Joined(tuple(Fact(k) for k in keys), ", ", " and ")
    ranges = [d.says for d in ctx.calc.values() if d.value is None and d.open and set(d.open) & set(keys)]
    if note:
        reason = m.msg(m.NEEDED_BECAUSE, facts=listed, because=Joined((*because, note), " and "))
    elif ranges and all(any(k in d.open for d in ctx.calc.values() if d.value is None) for k in keys):
        # Every fact still needed is a part of an undecided calculator input: its range says why.
        reason = m.msg(m.RANGE_TO_DECIDE, ranges=Joined(tuple(ranges), "; "), criterion=cid, title=Word(title))
    elif because:
        reason = m.msg(m.NEEDED_BECAUSE, facts=listed, because=Joined(tuple(because), " and "))
    else:
        reason = m.msg(m.NEEDED_TO_DECIDE, facts=listed, criterion=cid, title=Word(title))
    hints = tuple(Word(CALCULATOR_HINTS[k]) for k in keys if k in CALCULATOR_HINTS)
    if hints:
        reason = m.msg(m.CAN_BE_CALCULATED, reason=reason, hints=Joined(hints, " / "))
    return Missing.model_construct(criterion=cid, facts=keys, reason=str(reason), detail=reason)


def _round(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value
