"""Validation errors of the facts model, phrased for a physician."""

from pydantic import ValidationError

from criteria import Facts
from criteria.labels import FACT_LABELS, fmt_number


def _bounds(key: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in Facts.model_fields[key].metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    return lo, hi


def validation_message(error: ValidationError) -> str:
    e = error.errors(include_url=False)[0]
    loc = e["loc"]
    if e["type"] == "contradiction" or not loc:
        return f"That does not fit an earlier answer: {e['msg']}. Check this answer, or use back."
    key = str(loc[0])
    if key in FACT_LABELS and e["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
        lo, hi = _bounds(key)
        unit = FACT_LABELS[key].unit
        shown = fmt_number(e["input"]) if isinstance(e["input"], int | float) else e["input"]
        if lo is not None and hi is not None:
            return (f"{FACT_LABELS[key].name.capitalize()} must be between {fmt_number(lo)} and "
                    f"{fmt_number(hi)} {unit}; {shown} is outside that range.").replace("  ", " ")
    return f"That answer is not valid for {key}: {e['msg']}."
