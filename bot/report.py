"""Plain-text rendering of an outcome, shared by the command line and the terminal chat."""

from typing import Any

from criteria import TITLES, Facts, Outcome
from criteria.evaluate import context as criteria_context
from criteria.labels import FACT_LABELS, Label, fmt_number, label
from criteria.logic import Context
from criteria.protocol import BY_ID

from .i18n import Plural, _, number, plural

STATUS_LINES = {
    "eligible": "ELIGIBLE for screening: no criterion fails and none is unknown.",
    "ineligible": "INELIGIBLE: at least one criterion fails.",
    "incomplete": "INCOMPLETE: nothing fails so far, but some criteria cannot be decided yet.",
}
INELIGIBLE_NOW = ("INELIGIBLE NOW: every failing criterion is time-limited; the child may be re-referred "
                  "(see Re-checks).")

# The words of the outcome and of an answer's echo (each translated whole, then filled).
LIST_SEP = ", "
CALCULATED = "Calculated: {calculated}"
READ_AS = "Read as: {parts}."
READ_AS_NOTHING = "Read as: nothing new."
READ_AS_CALCULATED = "Calculated: {calculated}."
ECHO_NONE_OF = Plural("none of the {n} item", "none of the {n} items")
ECHO_NOT_KNOWN = "not known: {facts}"
FACT_VALUE = "{name}: {value}"
VALUE_YES, VALUE_NO, VALUE_NONE = "yes", "no", "none"
SECTION_TITLES = {
    "failing": "Failing criteria", "rechecks": "Re-checks", "missing": "Still missing",
    "pending": "Pending for the screening visit", "flags": "Flags for the investigator",
}
SECTION_HEAD = "{title}:"
CRITERIA_HEAD = "Criteria:"
NOTES_HEAD = "Readings of the registry listing:"
PROTOCOL_LINE = "Protocol {version}"

# Calculator results that are not facts of their own, so FACT_LABELS does not name them.
_CALCULATED_LABELS = {"eular_acr_2019_total": Label("2019 EULAR/ACR total")}
# A classification known only as a range is the range of its score: shown once, under the score.
_SCORE_OF = {"sle_eular_acr_2019": "eular_acr_2019_total"}


def status_lines(outcome: Outcome) -> list[str]:
    lines = [_(STATUS_LINES[outcome.status])]
    if outcome.ineligible_now:
        lines.append(_(INELIGIBLE_NOW))
    return lines


def calculated_text(calculated: dict[str, Any]) -> str:
    """Labels and units, not the internal keys: "SLEDAI-2K 6–10, eGFR 72.5 mL/min/1.73 m²"."""
    shown = [_calculated_item(k, v) for k, v in calculated.items()
             if not (isinstance(v, list) and _SCORE_OF.get(k) in calculated)]
    return _(LIST_SEP).join(shown)


def _calculated_item(key: str, value: Any) -> str:
    name, unit = _CALCULATED_LABELS.get(key) or FACT_LABELS.get(key) or Label(key)
    name, unit = _(name), _(unit) if unit else unit
    if isinstance(value, bool):
        return _(FACT_VALUE).format(name=name, value=_(VALUE_YES if value else VALUE_NO))
    if isinstance(value, list):  # [low, high] from a partial item list
        number = f"{fmt_number(value[0])}–{fmt_number(value[1])}"
    elif isinstance(value, int | float):
        number = fmt_number(value)
    else:
        return _(FACT_VALUE).format(name=name, value=_(str(value)))
    if not unit:
        return f"{name} {number}"
    return f"{name} {number}{'' if unit.startswith('/') else ' '}{unit}"


def fact_text(key: str, value: Any) -> str:
    """One fact as the physician reads it: its label, its value in the spec's unit."""
    name = _((FACT_LABELS.get(key) or Label(key)).name)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        shown = _(LIST_SEP).join(_(v) for v in value) if value else _(VALUE_NONE)
        return _(FACT_VALUE).format(name=name, value=shown)
    if isinstance(value, str):
        return _(FACT_VALUE).format(name=name, value=_(value))
    return _calculated_item(key, value)


def _label_of(key: str) -> str:
    try:
        return _(label(key))
    except KeyError:
        return key


def echo_text(accepted: Any) -> str:
    """An accepted answer in one line: what it was read as, what it left unknown, what it calculated."""
    facts = accepted.facts
    parts = []
    if len(facts) > 2 and all(v is False for v in facts.values()):
        parts.append(plural(ECHO_NONE_OF, len(facts)).format(n=number(len(facts))))
    else:
        parts += [fact_text(k, v) for k, v in facts.items()]
    if accepted.unknown:
        parts.append(_(ECHO_NOT_KNOWN).format(facts=_(LIST_SEP).join(_label_of(k) for k in accepted.unknown)))
    text = _(READ_AS).format(parts="; ".join(parts)) if parts else _(READ_AS_NOTHING)
    if accepted.calculated:
        text += " " + _(READ_AS_CALCULATED).format(calculated=calculated_text(accepted.calculated))
    return text


def _section(title: str, items: list[tuple[str, str]]) -> list[str]:
    if not items:
        return []
    return [_(SECTION_HEAD).format(title=_(SECTION_TITLES[title])), *(f"  {cid} {text}" for cid, text in items), ""]


# The criteria's own sentences (what fails, why an item is needed, a flag) are built by the rules from the
# facts (criteria/), in English; in another language the criterion's title, translated, comes first.
CRITERION_TEXT = "{title}: {text}"


def criterion_text(criterion: str, text: str) -> str:
    """A criterion's sentence as the current language gives it: English as it is, else its title first."""
    translated = _(text)
    if translated != text or _(CRITERION_TEXT) == CRITERION_TEXT or criterion not in TITLES:
        return translated
    return _(CRITERION_TEXT).format(title=_(TITLES[criterion]), text=text)


def outcome_text(outcome: Outcome, *, table: bool = True) -> str:
    lines = [*status_lines(outcome), ""]
    lines += _section("failing", [(f.criterion, criterion_text(f.criterion, f.text)) for f in outcome.failures])
    lines += _section("rechecks", [(n.criterion, criterion_text(n.criterion, n.text)) for n in outcome.recheck])
    lines += _section("missing", [(m.criterion, criterion_text(m.criterion, m.reason)) for m in outcome.missing])
    lines += _section("pending", [(p.criterion, criterion_text(p.criterion, p.reason))
                                  for p in outcome.pending_details])
    lines += _section("flags", [(n.criterion, criterion_text(n.criterion, n.text)) for n in outcome.flags])
    if outcome.calculated:
        lines += [_(CALCULATED).format(calculated=calculated_text(outcome.calculated)), ""]
    if table:
        lines.append(_(CRITERIA_HEAD))
        lines += [f"  {cid:<4} {verdict:<8} {_(TITLES[cid])}" for cid, verdict in outcome.criteria.items()]
        lines.append("")
    lines.append(_(NOTES_HEAD))
    lines += [f"  {n}" for n in outcome.notes]
    lines.append(_(PROTOCOL_LINE).format(version=outcome.protocol_version))
    return "\n".join(lines)


# ---- the key facts of a referral (the coordinator's first screen) -------------------------------------

# Values outside these limits are abnormal: above the upper limit of normal for the liver values, below
# the protocol's limits for LVEF (I4a) and SpO2 (I4d); positive serology. (The eGFR has a line of its own.)
_ABNORMAL_ABOVE = {"ast_x_uln": 1.0, "alt_x_uln": 1.0, "bilirubin_x_uln": 1.0}
_ABNORMAL_BELOW = {"lvef_percent": 55.0, "spo2_percent": 92.0}
_SEROLOGY = ("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna")
NOT_KNOWN = "not known"


def key_facts(facts: Facts) -> dict[str, str]:
    """The facts a coordinator acts on, each as one line of plain text with its unit, keyed by what it
    shows: age and sex, SLEDAI-2K and the EULAR/ACR total, nephritis classes, eGFR with how it was obtained,
    the I2c path, the abnormal labs. Derived values are those the criteria were judged on."""
    ctx = criteria_context(facts)
    out = {"patient": _patient(ctx), "activity": _activity(ctx), "kidney": _kidney(facts, ctx),
           "i2c": _i2c(ctx), "labs": _labs(ctx)}
    return out


def _value(ctx: Context, key: str) -> Any:
    """A fact's value as judged, or the [low, high] range of a score known only as a range."""
    value = ctx.get(key)
    if value is None and (d := ctx.undecided(key)) is not None and d.range is not None:
        return [d.range[0], d.range[1]]
    return value


def _number(key: str, value: Any) -> str:
    if value is None:
        return f"{FACT_LABELS[key].name if key in FACT_LABELS else key} {NOT_KNOWN}"
    return _calculated_item(key, value)


def _patient(ctx: Context) -> str:
    age, sex = ctx.get("age_years"), ctx.get("sex")
    age_text = f"age {fmt_number(age)} years" if age is not None else f"age {NOT_KNOWN}"
    return f"{age_text}, sex {sex if sex is not None else NOT_KNOWN}"


def _activity(ctx: Context) -> str:
    sledai = _number("sledai_2k", _value(ctx, "sledai_2k"))
    total = _value(ctx, "eular_acr_2019_total")
    if total is not None:
        eular = _calculated_item("eular_acr_2019_total", total)
    elif ctx.get("sle_eular_acr_2019") is not None:
        eular = ("2019 EULAR/ACR classification met, total not given" if ctx.get("sle_eular_acr_2019")
                 else "2019 EULAR/ACR classification not met, total not given")
    else:
        eular = f"2019 EULAR/ACR total {NOT_KNOWN}"
    return f"{sledai}; {eular}"


def _kidney(facts: Facts, ctx: Context) -> str:
    classes = ctx.get("ln_classes")
    if classes is None:
        nephritis = f"lupus nephritis class {NOT_KNOWN}"
    elif not classes:
        nephritis = "no biopsy-proven lupus nephritis"
    else:
        nephritis = f"lupus nephritis class {', '.join(classes)}"
    egfr = ctx.get("egfr")
    if egfr is None:
        return f"{nephritis}; eGFR {NOT_KNOWN}"
    calculated = ctx.decided("egfr")
    if calculated is not None:
        source = calculated.why
    elif facts.derived.get("egfr") is not None:  # both given; the lower, the laboratory's, decides
        source = (f"laboratory value, the lower of it and the bedside Schwartz "
                  f"{fmt_number(facts.derived['egfr'].value)}")
    else:
        source = "laboratory value as reported"
    return f"{nephritis}; {_calculated_item('egfr', egfr)} ({source})"


def _i2c(ctx: Context) -> str:
    paths = [(name, expr.value(ctx)) for name, expr in BY_ID["I2c"].paths]
    met = [name for name, value in paths if value is True]
    if met:
        text = f"I2c met through {' and '.join(met)}"
    elif all(value is False for _, value in paths):
        text = "I2c not met: neither documented intolerance nor the standard-care path"
    else:
        text = "I2c not decided yet"
    care = []
    if (months := ctx.get("soc_months")) is not None:
        care.append(f"{fmt_number(months)} months of standard care")
    if (dmards := ctx.get("dmards")) is not None:
        care.append(f"DMARDs: {', '.join(dmards) if dmards else 'none'}")
    return f"{text} ({'; '.join(care)})" if care else text


def _labs(ctx: Context) -> str:
    found = []
    for key, limit in _ABNORMAL_ABOVE.items():
        if (v := ctx.get(key)) is not None and v > limit:
            found.append(_calculated_item(key, v))
    for key, limit in _ABNORMAL_BELOW.items():
        if (v := ctx.get(key)) is not None and v < limit:
            found.append(_calculated_item(key, v))
    if ctx.get("ecg_significant_abnormality") is True:
        found.append("significant ECG abnormality")
    found += [f"{FACT_LABELS[key].name} positive" for key in _SEROLOGY if ctx.get(key) == "positive"]
    return f"abnormal labs: {', '.join(found)}" if found else "abnormal labs: none reported"


# ---- what happens next, after the outcome (the physician's message in Telegram) -------------------------

NEXT_STEPS = {
    "eligible": ("What happens next: tap \"Send to coordinator\". The study team reviews the referral and tells "
                 "you their decision here; the pending items are checked at the screening visit."),
    "incomplete": ("What happens next: find out what is missing and tap \"Fill in missing items\", or send the "
                   "pre-screen as it is; the study team decides once the missing items are known."),
    "ineligible": ("What happens next: as things stand the child cannot take part in the study. You may still "
                   "send the pre-screen to the study team for their records."),
    "ineligible_now": ("What happens next: the child cannot take part now but may be re-referred when the "
                       "re-checks above allow; start a new pre-screen then. You may still send this one to the "
                       "study team for their records."),
}
MISSING_MORE = "… and {n} more: /summary lists them all, with why each is needed."
PENDING_AT_VISIT = "Checked at the screening visit: {criteria}."


def next_steps(outcome: Outcome) -> str:
    return _(NEXT_STEPS["ineligible_now" if outcome.ineligible_now else outcome.status])
