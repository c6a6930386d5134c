"""Validation errors of the facts model, phrased for a physician."""

from pydantic import ValidationError

from criteria import Facts
from criteria.labels import FACT_LABELS, fmt_number, fmt_quantity


def _bounds(key: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in Facts.model_fields[key].metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    return lo, hi


def validation_message(error: ValidationError) -> str:
    e = error.errors(include_url=False)[0]
    loc = e["loc"]
    if e["type"] == "contradiction" and not str(e["msg"]).startswith("contradiction"):
        # A whole-model check that is no contradiction (creatinine outside its range in either unit).
        return f"That answer is not valid: {e['msg']}."
    if e["type"] == "contradiction" or not loc:
        return f"That does not fit an earlier answer: {e['msg']}. Check this answer, or use back."
    key = str(loc[0])
    if key in FACT_LABELS and e["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
        lo, hi = _bounds(key)
        shown = fmt_number(e["input"]) if isinstance(e["input"], int | float) else e["input"]
        if lo is not None and hi is not None:
            name = FACT_LABELS[key].name
            # The name as written ("SLEDAI-2K", "eGFR"), else first letter up; the unit as fmt_quantity sets it.
            name = name if name[1:2].isupper() else name[:1].upper() + name[1:]
            return (f"{name} must be between {fmt_number(lo)} and "
                    f"{fmt_quantity(key, hi)}; {shown} is outside that range.")
    return f"That answer is not valid for {key}: {e['msg']}."
