"""Plain-text rendering of an outcome, shared by the command line and the terminal chat."""

from typing import Any

from criteria import TITLES, Outcome
from criteria.labels import FACT_LABELS, Label, fmt_number, label

STATUS_LINES = {
    "eligible": "ELIGIBLE for screening: no criterion fails and none is unknown.",
    "ineligible": "INELIGIBLE: at least one criterion fails.",
    "incomplete": "INCOMPLETE: nothing fails so far, but some criteria cannot be decided yet.",
}
INELIGIBLE_NOW = ("INELIGIBLE NOW: every failing criterion is time-limited; the child may be re-referred "
                  "(see Re-checks).")

# Calculator results that are not facts of their own, so FACT_LABELS does not name them.
_CALCULATED_LABELS = {"eular_acr_2019_total": Label("2019 EULAR/ACR total")}
# A classification known only as a range is the range of its score: shown once, under the score.
_SCORE_OF = {"sle_eular_acr_2019": "eular_acr_2019_total"}


def status_lines(outcome: Outcome) -> list[str]:
    lines = [STATUS_LINES[outcome.status]]
    if outcome.ineligible_now:
        lines.append(INELIGIBLE_NOW)
    return lines


def calculated_text(calculated: dict[str, Any]) -> str:
    """Labels and units, not the internal keys: "SLEDAI-2K 6–10, eGFR 72.5 mL/min/1.73 m²"."""
    shown = [_calculated_item(k, v) for k, v in calculated.items()
             if not (isinstance(v, list) and _SCORE_OF.get(k) in calculated)]
    return ", ".join(shown)


def _calculated_item(key: str, value: Any) -> str:
    name, unit = _CALCULATED_LABELS.get(key) or FACT_LABELS.get(key) or Label(key)
    if isinstance(value, bool):
        return f"{name}: {'yes' if value else 'no'}"
    if isinstance(value, list):  # [low, high] from a partial item list
        number = f"{fmt_number(value[0])}–{fmt_number(value[1])}"
    elif isinstance(value, int | float):
        number = fmt_number(value)
    else:
        return f"{name}: {value}"
    if not unit:
        return f"{name} {number}"
    return f"{name} {number}{'' if unit.startswith('/') else ' '}{unit}"


def fact_text(key: str, value: Any) -> str:
    """One fact as the physician reads it: its label, its value in the spec's unit."""
    name = (FACT_LABELS.get(key) or Label(key)).name
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return f"{name}: {', '.join(value) if value else 'none'}"
    if isinstance(value, str):
        return f"{name}: {value}"
    return _calculated_item(key, value)


def _label_of(key: str) -> str:
    try:
        return label(key)
    except KeyError:
        return key


def echo_text(accepted: Any) -> str:
    """An accepted answer in one line: what it was read as, what it left unknown, what it calculated."""
    facts = accepted.facts
    parts = []
    if len(facts) > 2 and all(v is False for v in facts.values()):
        parts.append(f"none of the {len(facts)} items")
    else:
        parts += [fact_text(k, v) for k, v in facts.items()]
    if accepted.unknown:
        parts.append(f"not known: {', '.join(_label_of(k) for k in accepted.unknown)}")
    text = "Read as: " + ("; ".join(parts) if parts else "nothing new") + "."
    if accepted.calculated:
        text += f" Calculated: {calculated_text(accepted.calculated)}."
    return text


def _section(title: str, items: list[tuple[str, str]]) -> list[str]:
    if not items:
        return []
    return [f"{title}:", *(f"  {cid} {text}" for cid, text in items), ""]


def outcome_text(outcome: Outcome, *, table: bool = True) -> str:
    lines = [*status_lines(outcome), ""]
    lines += _section("Failing criteria", [(f.criterion, f.text) for f in outcome.failures])
    lines += _section("Re-checks", [(n.criterion, n.text) for n in outcome.recheck])
    lines += _section("Still missing", [(m.criterion, m.reason) for m in outcome.missing])
    lines += _section("Pending for the screening visit", [(p.criterion, p.reason) for p in outcome.pending_details])
    lines += _section("Flags for the investigator", [(n.criterion, n.text) for n in outcome.flags])
    if outcome.calculated:
        lines += [f"Calculated: {calculated_text(outcome.calculated)}", ""]
    if table:
        lines.append("Criteria:")
        lines += [f"  {cid:<4} {verdict:<8} {TITLES[cid]}" for cid, verdict in outcome.criteria.items()]
        lines.append("")
    lines.append("Readings of the registry listing:")
    lines += [f"  {n}" for n in outcome.notes]
    lines.append(f"Protocol {outcome.protocol_version}")
    return "\n".join(lines)
