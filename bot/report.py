"""Plain-text rendering of an outcome, shared by the command line and the terminal chat."""

from criteria import CRITERIA, Outcome

_TITLES = {c.id: c.title for c in CRITERIA}
STATUS_LINES = {
    "eligible": "ELIGIBLE for screening: no criterion fails and none is unknown.",
    "ineligible": "INELIGIBLE: at least one criterion fails.",
    "incomplete": "INCOMPLETE: nothing fails so far, but some criteria cannot be decided yet.",
}


def outcome_text(outcome: Outcome, *, table: bool = True) -> str:
    lines = [STATUS_LINES[outcome.status], ""]
    if outcome.failures:
        lines.append("Failing criteria:")
        for f in outcome.failures:
            lines.append(f"  {f.criterion} {f.text}")
        lines.append("")
    if outcome.missing:
        lines.append("Still missing:")
        for m in outcome.missing:
            lines.append(f"  {m.criterion} {m.reason}")
        lines.append("")
    if outcome.pending_details:
        lines.append("Pending for the screening visit:")
        for p in outcome.pending_details:
            lines.append(f"  {p.criterion} {p.reason}")
        lines.append("")
    if outcome.calculated:
        shown = ", ".join(f"{k} = {v}" for k, v in outcome.calculated.items())
        lines += [f"Calculated: {shown}", ""]
    if table:
        lines.append("Criteria:")
        lines += [f"  {cid:<4} {verdict:<8} {_TITLES[cid]}" for cid, verdict in outcome.criteria.items()]
        lines.append("")
    lines.append("Readings of the registry listing:")
    lines += [f"  {n}" for n in outcome.notes]
    lines.append(f"Protocol {outcome.protocol_version}")
    return "\n".join(lines)
