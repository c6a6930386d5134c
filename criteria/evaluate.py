"""evaluate(facts) -> Outcome: the protocol applied to one referral."""

from collections.abc import Mapping
from typing import Any

from .facts import Facts, derived_values
from .labels import label
from .logic import Context
from .outcome import Failure, Missing, Outcome, Pending
from .protocol import CRITERIA, FAILING, PROTOCOL_VERSION

# Where a score or fact can be worked out from simpler inputs, the reason says so.
CALCULATOR_HINTS = {
    "sledai_2k": "the SLEDAI-2K descriptors present",
    "sle_eular_acr_2019": "ANA and the 2019 EULAR/ACR items",
    "egfr": "serum creatinine and height (bedside Schwartz)",
    "gc_high_dose": "the peak glucocorticoid dose",
    "steroid_dependent": "the lowest glucocorticoid dose reached without a flare",
}


def context(facts: Facts) -> Context:
    # A calculator input decides its fact (criteria.md, "Derived facts"); the facts model refuses a given
    # fact that disagrees with it. eGFR is the exception: a lab eGFR within 1 mL/min/1.73 m² of the
    # bedside Schwartz value is consistent, and then the LOWER of the two decides. Preferring either
    # source would let the other one, added later, turn a failed I4b into a pass (29.5 calculated,
    # 30.4 given, or the reverse).
    values: dict[str, Any] = dict(facts.__dict__)  # the fields (faster than iterating the model)
    sources: dict[str, str] = {}
    for fact, (value, source) in derived_values(facts).items():
        if value is None:
            continue
        given = values.get(fact)
        if given is None or (fact == "egfr" and value < given):
            values[fact] = value
            sources[fact] = source
    if values.get("eular_acr_2019") is not None:
        values["eular_acr_2019"] = facts.eular_acr_2019
    return Context(values, sources)


def evaluate(facts: Facts | Mapping[str, Any]) -> Outcome:
    if not isinstance(facts, Facts):
        facts = Facts.model_validate(facts)
    ctx = context(facts)
    verdicts: dict[str, str] = {}
    failures: list[Failure] = []
    missing: list[Missing] = []
    pending: list[Pending] = []
    for criterion in CRITERIA:
        j = criterion.judge(ctx)
        verdicts[criterion.id] = j.verdict
        if j.verdict in FAILING:
            failures.append(Failure.model_construct(criterion=criterion.id, title=criterion.title,
                                                    facts=list(j.decided_facts), reasons=list(j.decided_by)))
        elif j.verdict == "unknown":
            missing.append(_missing(criterion.id, criterion.title, j.open))
        elif j.verdict == "pending":
            pending.append(Pending.model_construct(criterion=criterion.id, reason=criterion.pending_reason))
    if failures:
        status = "ineligible"
    elif missing:
        status = "incomplete"
    else:
        status = "eligible"
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
        calculated={k: _round(ctx.values[k]) for k in ctx.sources},
        notes=list(_NOTES),
        protocol_version=PROTOCOL_VERSION,
    )


_NOTES = tuple(f"{c.id}: {c.reading}" for c in CRITERIA if c.reading)


def _missing(cid: str, title: str, open_facts: tuple[tuple[str, tuple[str, ...]], ...]) -> Missing:
    keys = list(dict.fromkeys(k for k, _ in open_facts))
    because = list(dict.fromkeys(b for _, bs in open_facts for b in bs))
    names = [label(k) for k in keys]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    if because:
        reason = f"{listed}: needed because {' and '.join(because)}"
    else:
        reason = f"{listed}: needed to decide {cid} ({title})"
    hints = [CALCULATOR_HINTS[k] for k in keys if k in CALCULATOR_HINTS]
    if hints:
        reason += f"; can be calculated from {' / '.join(hints)}"
    return Missing.model_construct(criterion=cid, facts=keys, reason=reason)


def _round(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value
