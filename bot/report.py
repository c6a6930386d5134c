"""Plain-text rendering of an outcome, shared by the command line and the terminal chat."""

import unicodedata
from typing import Any

from conversations.dialogue.questions import BY_ID as QUESTIONS_BY_ID
from criteria import TITLES, Facts, Outcome
from criteria.evaluate import context as criteria_context
from criteria.labels import FACT_LABELS, PART_OF, Label, fmt_number, label
from criteria.logic import Context
from criteria.messages import Code, Fact, Joined, Key, Msg, Qty, Word, english, unit_of
from criteria.outcome import Failure
from criteria.protocol import BY_ID

from .i18n import CHINESE, ENGLISH, Plural, _, current, number, plural

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
CALCULATED_LABELS = {"eular_acr_2019_total": Label("2019 EULAR/ACR total")}
# The criteria table's verdicts: in English the codes as they stand (the same as the JSON's), in another
# language these words translated.
VERDICT_WORDS = {"met": "met", "not_met": "not met", "clear": "clear", "excluded": "excluded",
                 "unknown": "not decided yet", "pending": "pending"}
# How the registry listing's ambiguities are read (outcome.notes: "ID: reading").
NOTE_LINE = "{criterion}: {reading}"
# A classification known only as a range is the range of its score: shown once, under the score.
_SCORE_OF = {"sle_eular_acr_2019": "eular_acr_2019_total"}


# How a language separates the items of a list and clauses one after the other, where it differs from
# English (", " and "; ").
_PUNCTUATION = {CHINESE: {", ": "、", "; ": "；"}}


def list_sep() -> str:
    """How the current language separates the items of a list (Chinese: the enumeration comma 、)."""
    return _PUNCTUATION.get(current(), {}).get(LIST_SEP, LIST_SEP)


def clause_sep() -> str:
    """How the current language separates clauses one after the other (Chinese: the full-width ；)."""
    return _PUNCTUATION.get(current(), {}).get("; ", "; ")


def with_unit(number: str, unit: str) -> str:
    """A number and its unit as the facts' units are written: "12 months", "62 %", "3/12" (no space)."""
    if not unit:
        return number
    return f"{number}{'' if unit.startswith('/') else ' '}{unit}"


def status_lines(outcome: Outcome) -> list[str]:
    lines = [_(STATUS_LINES[outcome.status])]
    if outcome.ineligible_now:
        lines.append(_(INELIGIBLE_NOW))
    return lines


def calculated_text(calculated: dict[str, Any]) -> str:
    """Labels and units, not the internal keys: "SLEDAI-2K 6–10, eGFR 72.5 mL/min/1.73 m²"."""
    shown = [_calculated_item(k, v) for k, v in calculated.items()
             if not (isinstance(v, list) and _SCORE_OF.get(k) in calculated)]
    return list_sep().join(shown)


def _calculated_item(key: str, value: Any) -> str:
    name, unit = CALCULATED_LABELS.get(key) or FACT_LABELS.get(key) or Label(key)
    name, unit = _(name), _(unit) if unit else unit
    if isinstance(value, bool):
        return _(FACT_VALUE).format(name=name, value=_(VALUE_YES if value else VALUE_NO))
    if isinstance(value, list):  # [low, high] from a partial item list
        number = f"{fmt_number(value[0])}–{fmt_number(value[1])}"
    elif isinstance(value, int | float):
        number = fmt_number(value)
    else:
        return _(FACT_VALUE).format(name=name, value=_(str(value)))
    return f"{name} {with_unit(number, unit)}"


def fact_text(key: str, value: Any) -> str:
    """One fact as the physician reads it: its label, its value in the spec's unit."""
    name = _((FACT_LABELS.get(key) or Label(key)).name)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        shown = list_sep().join(code_text(key, v) for v in value) if value else _(VALUE_NONE)
        return _(FACT_VALUE).format(name=name, value=shown)
    if isinstance(value, str):
        return _(FACT_VALUE).format(name=name, value=_(value))
    return _calculated_item(key, value)


def label_text(key: str) -> str:
    """A fact's label, or a score's item's ("seizure (SLEDAI-2K)"), in the current language; else the key."""
    for prefix, (template, names) in PART_OF.items():
        if key.startswith(prefix) and key[len(prefix):] in names:
            return _(template).format(item=_(names[key[len(prefix):]]))
    try:
        return _(label(key))
    except KeyError:
        return key


def code_text(key: str, code: str) -> str:
    """A list fact's code as its question's choice names it, in the current language ("IV" → "IV型");
    in English a code as it stands, as the JSON has it."""
    if current() == ENGLISH:
        return code
    if any(f"{key}.{code}".startswith(prefix) for prefix in PART_OF):  # a score's item
        return label_text(f"{key}.{code}")
    question = QUESTIONS_BY_ID.get(key)
    for choice in question.choices if question is not None else ():
        if choice.value == code:
            return _(choice.label)
    return _(code)


def echo_text(accepted: Any) -> str:
    """An accepted answer in one line: what it was read as, what it left unknown, what it calculated."""
    facts = accepted.facts
    parts = []
    if len(facts) > 2 and all(v is False for v in facts.values()):
        parts.append(plural(ECHO_NONE_OF, len(facts)).format(n=number(len(facts))))
    else:
        parts += [fact_text(k, v) for k, v in facts.items()]
    if accepted.unknown:
        parts.append(_(ECHO_NOT_KNOWN).format(facts=list_sep().join(label_text(k) for k in accepted.unknown)))
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


# How the criteria's lists join (criteria.messages.Joined): the words through the catalogue, the
# punctuation by language.
LIST_WORDS = {" and ": " and ", " or ": " or "}


def detail_text(value: Any) -> str:
    """A criteria sentence (criteria.messages) in the current language: its template translated whole,
    then filled with its parameters, each said in the same language; numbers as in English."""
    if current() == ENGLISH:
        return english(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Msg):
        template = _(value.template)
        return template.format(**{k: detail_text(v) for k, v in value.params}) if value.params else template
    if isinstance(value, Fact | Key):
        return label_text(value.key)
    if isinstance(value, Code):
        return code_text(value.key, value.value)
    if isinstance(value, Qty):
        unit = unit_of(value.key)
        return with_unit(fmt_number(value.value), _(unit) if unit else "")
    if isinstance(value, Word):
        return _(value.text)
    if isinstance(value, Joined):
        items = [detail_text(i) for i in value.items]
        marks = _PUNCTUATION.get(current(), {})
        sep = marks.get(value.sep) or (_(LIST_WORDS[value.sep]) if value.sep in LIST_WORDS else value.sep)
        if value.last is None or len(items) < 2:
            return sep.join(items)
        last = _(LIST_WORDS[value.last]) if value.last in LIST_WORDS else value.last
        return sep.join(items[:-1]) + last + items[-1]
    return str(value)


def reasons_text(f: Failure) -> str:
    """Why a criterion fails, without its title, in the current language."""
    if current() != ENGLISH and f.details:
        return clause_sep().join(detail_text(d) for d in f.details)
    return "; ".join(f.reasons)


def failure_text(f: Failure) -> str:
    """What fails and why (``Failure.text``), in the current language: the title translated first."""
    if current() != ENGLISH and f.details:
        title, reasons = _(f.title), reasons_text(f)
        return reasons if reasons.lower().startswith(title.lower()) else _(CRITERION_TEXT).format(title=title,
                                                                                                  text=reasons)
    return criterion_text(f.criterion, f.text)


def criterion_text(criterion: str, text: str, detail: Any = None) -> str:
    """A criterion's sentence as the current language gives it: English as it is; else its template
    (``detail``, criteria.messages) translated and filled, or the sentence translated whole, or the
    criterion's title first."""
    if detail is not None and current() != ENGLISH:
        return detail_text(detail)
    translated = _(text)
    if translated != text or _(CRITERION_TEXT) == CRITERION_TEXT or criterion not in TITLES:
        return translated
    return _(CRITERION_TEXT).format(title=_(TITLES[criterion]), text=text)


def padded(text: str, width: int) -> str:
    """``text`` padded to ``width`` columns as a terminal shows them (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def verdict_text(verdict: str) -> str:
    return verdict if current() == ENGLISH or verdict not in VERDICT_WORDS else _(VERDICT_WORDS[verdict])


def note_text(note: str) -> str:
    """A reading of the registry listing ("I1: The listing's …"), its sentence translated whole."""
    criterion, sep, reading = note.partition(": ")
    if not sep or current() == ENGLISH:
        return note
    return _(NOTE_LINE).format(criterion=criterion, reading=_(reading))


def outcome_text(outcome: Outcome, *, table: bool = True) -> str:
    lines = [*status_lines(outcome), ""]
    lines += _section("failing", [(f.criterion, failure_text(f)) for f in outcome.failures])
    lines += _section("rechecks", [(n.criterion, criterion_text(n.criterion, n.text, n.detail))
                                   for n in outcome.recheck])
    lines += _section("missing", [(m.criterion, criterion_text(m.criterion, m.reason, m.detail))
                                  for m in outcome.missing])
    lines += _section("pending", [(p.criterion, criterion_text(p.criterion, p.reason))
                                  for p in outcome.pending_details])
    lines += _section("flags", [(n.criterion, criterion_text(n.criterion, n.text, n.detail)) for n in outcome.flags])
    if outcome.calculated:
        lines += [_(CALCULATED).format(calculated=calculated_text(outcome.calculated)), ""]
    if table:
        lines.append(_(CRITERIA_HEAD))
        lines += [f"  {cid:<4} {padded(verdict_text(verdict), 8)} {_(TITLES[cid])}"
                  for cid, verdict in outcome.criteria.items()]
        lines.append("")
    lines.append(_(NOTES_HEAD))
    lines += [f"  {note_text(n)}" for n in outcome.notes]
    lines.append(_(PROTOCOL_LINE).format(version=outcome.protocol_version))
    return "\n".join(lines)


# ---- the key facts of a referral (the coordinator's first screen) -------------------------------------

# Values outside these limits are abnormal: above the upper limit of normal for the liver values, below
# the protocol's limits for LVEF (I4a) and SpO2 (I4d); positive serology. (The eGFR has a line of its own.)
_ABNORMAL_ABOVE = {"ast_x_uln": 1.0, "alt_x_uln": 1.0, "bilirubin_x_uln": 1.0}
_ABNORMAL_BELOW = {"lvef_percent": 55.0, "spo2_percent": 92.0}
_SEROLOGY = ("hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna")
NOT_KNOWN = "not known"
# The key facts' sentences, in the coordinator's language (bot.i18n._) with their values filled in after.
KF_PATIENT = "age {age} years, sex {sex}"
KF_PATIENT_NO_AGE = "age not known, sex {sex}"
KF_PATIENT_NO_SEX = "age {age} years, sex not known"
KF_PATIENT_NOTHING = "age not known, sex not known"
SEX_WORDS = {"female": "female", "male": "male"}
KF_FACT_NOT_KNOWN = "{name} not known"
KF_EULAR_MET = "2019 EULAR/ACR classification met, total not given"
KF_EULAR_NOT_MET = "2019 EULAR/ACR classification not met, total not given"
KF_EULAR_NOT_KNOWN = "2019 EULAR/ACR total not known"
KF_LN_NOT_KNOWN = "lupus nephritis class not known"
KF_LN_NONE = "no biopsy-proven lupus nephritis"
KF_LN = "lupus nephritis class {classes}"
KF_EGFR_NOT_KNOWN = "{nephritis}; eGFR not known"
KF_EGFR = "{nephritis}; {egfr} ({source})"
KF_EGFR_LAB_LOWER = "laboratory value, the lower of it and the bedside Schwartz {schwartz}"
KF_EGFR_LAB = "laboratory value as reported"
KF_I2C_MET = {("documented intolerance",): "I2c met through documented intolerance",
              ("the standard-care path",): "I2c met through the standard-care path",
              ("documented intolerance", "the standard-care path"):
                  "I2c met through documented intolerance and the standard-care path"}
KF_I2C_MET_THROUGH = "I2c met through {paths}"
KF_I2C_NOT_MET = "I2c not met: neither documented intolerance nor the standard-care path"
KF_I2C_UNDECIDED = "I2c not decided yet"
KF_SOC_MONTHS = "{months} months of standard care"
KF_DMARDS = "DMARDs: {dmards}"
KF_DMARDS_NONE = "DMARDs: none"
KF_ECG = "significant ECG abnormality"
KF_POSITIVE = "{name} positive"
KF_LABS = "abnormal labs: {labs}"
KF_LABS_NONE = "abnormal labs: none reported"


def key_facts(facts: Facts) -> dict[str, str]:
    """The facts a coordinator acts on, each as one line of plain text with its unit, keyed by what it
    shows: age and sex, SLEDAI-2K and the EULAR/ACR total, nephritis classes, eGFR with how it was obtained,
    the I2c path, the abnormal labs. Derived values are those the criteria were judged on. In the current
    language."""
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
        return _(KF_FACT_NOT_KNOWN).format(name=_(FACT_LABELS[key].name) if key in FACT_LABELS else key)
    return _calculated_item(key, value)


def _patient(ctx: Context) -> str:
    age, sex = ctx.get("age_years"), ctx.get("sex")
    sex_text = _(SEX_WORDS[sex]) if sex in SEX_WORDS else sex
    if age is None:
        return _(KF_PATIENT_NOTHING) if sex is None else _(KF_PATIENT_NO_AGE).format(sex=sex_text)
    if sex is None:
        return _(KF_PATIENT_NO_SEX).format(age=fmt_number(age))
    return _(KF_PATIENT).format(age=fmt_number(age), sex=sex_text)


def _activity(ctx: Context) -> str:
    sledai = _number("sledai_2k", _value(ctx, "sledai_2k"))
    total = _value(ctx, "eular_acr_2019_total")
    if total is not None:
        eular = _calculated_item("eular_acr_2019_total", total)
    elif ctx.get("sle_eular_acr_2019") is not None:
        eular = _(KF_EULAR_MET if ctx.get("sle_eular_acr_2019") else KF_EULAR_NOT_MET)
    else:
        eular = _(KF_EULAR_NOT_KNOWN)
    return clause_sep().join([sledai, eular])


def _kidney(facts: Facts, ctx: Context) -> str:
    classes = ctx.get("ln_classes")
    if classes is None:
        nephritis = _(KF_LN_NOT_KNOWN)
    elif not classes:
        nephritis = _(KF_LN_NONE)
    else:
        nephritis = _(KF_LN).format(classes=list_sep().join([code_text("ln_classes", c) for c in classes]))
    egfr = ctx.get("egfr")
    if egfr is None:
        return _(KF_EGFR_NOT_KNOWN).format(nephritis=nephritis)
    calculated = ctx.decided("egfr")
    if calculated is not None:
        source = detail_text(calculated.says)
    elif facts.derived.get("egfr") is not None:  # both given; the lower, the laboratory's, decides
        source = _(KF_EGFR_LAB_LOWER).format(schwartz=fmt_number(facts.derived["egfr"].value))
    else:
        source = _(KF_EGFR_LAB)
    return _(KF_EGFR).format(nephritis=nephritis, egfr=_calculated_item("egfr", egfr), source=source)


def _i2c(ctx: Context) -> str:
    paths = [(name, expr.value(ctx)) for name, expr in BY_ID["I2c"].paths]
    met = tuple(name for name, value in paths if value is True)
    if met:
        text = (_(KF_I2C_MET[met]) if met in KF_I2C_MET
                else _(KF_I2C_MET_THROUGH).format(paths=list_sep().join([_(m) for m in met])))
    elif all(value is False for _, value in paths):
        text = _(KF_I2C_NOT_MET)
    else:
        text = _(KF_I2C_UNDECIDED)
    care = []
    if (months := ctx.get("soc_months")) is not None:
        care.append(_(KF_SOC_MONTHS).format(months=fmt_number(months)))
    if (dmards := ctx.get("dmards")) is not None:
        care.append(_(KF_DMARDS).format(dmards=list_sep().join([code_text("dmards", d) for d in dmards])) if dmards
                    else _(KF_DMARDS_NONE))
    if not care:
        return text
    return f"{text}（{clause_sep().join(care)}）" if current() == CHINESE else f"{text} ({clause_sep().join(care)})"


def _labs(ctx: Context) -> str:
    found = []
    for key, limit in _ABNORMAL_ABOVE.items():
        if (v := ctx.get(key)) is not None and v > limit:
            found.append(_calculated_item(key, v))
    for key, limit in _ABNORMAL_BELOW.items():
        if (v := ctx.get(key)) is not None and v < limit:
            found.append(_calculated_item(key, v))
    if ctx.get("ecg_significant_abnormality") is True:
        found.append(_(KF_ECG))
    found += [_(KF_POSITIVE).format(name=_(FACT_LABELS[key].name)) for key in _SEROLOGY if ctx.get(key) == "positive"]
    return _(KF_LABS).format(labs=list_sep().join(found)) if found else _(KF_LABS_NONE)


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
