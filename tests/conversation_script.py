"""Helpers for the conversation tests: drive the sans-IO engine with scripted answers, and an "oracle
physician" that answers every question from a facts file the way a physician types.

Import as ``from conversation_script import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from strategies import make_consistent

from conversations.dialogue import engine, planner, questions
from conversations.dialogue.answers import AnswerError, read_number
from conversations.dialogue.quantities import BARE_X_ULN_MAX
from conversations.dialogue.state import State
from criteria import Facts, evaluate
from criteria.codes import GLUCOCORTICOID_MG_PER_5MG_PREDNISONE

REFERRAL_ID = "R-TEST-0001"

# ---- scripted conversations -------------------------------------------------------------------------


@dataclass
class Conversation:
    """A conversation driven step by step, keeping every result for the assertions."""

    state: State
    results: list[engine.Result] = field(default_factory=list)

    @property
    def last(self) -> engine.Result:
        return self.results[-1]

    @property
    def outputs(self) -> list[engine.Output]:
        return [o for r in self.results for o in r.outputs]

    @property
    def events(self) -> list[engine.Event]:
        return [e for r in self.results for e in r.events]

    @property
    def asked(self) -> list[str]:
        """Questions shown for the first time (by question id), in order; re-asks after back included."""
        out, seen = [], set()
        for o in self.outputs:
            if isinstance(o, engine.Question) and o.seq not in seen:
                seen.add(o.seq)
                out.append(o.fact)
        return out

    @property
    def question(self) -> engine.Question | None:
        """The question on screen after the last step."""
        for o in reversed(self.last.outputs):
            if isinstance(o, engine.Question):
                return o
            if isinstance(o, engine.Reprompt):
                return o.question
        return None

    def questions(self) -> list[engine.Question]:
        """Every question shown for the first time, in order."""
        out, seen = [], set()
        for o in self.outputs:
            if isinstance(o, engine.Question) and o.seq not in seen:
                seen.add(o.seq)
                out.append(o)
        return out

    @property
    def answered(self) -> int:
        """Questions needed so far: accepted answers in the history."""
        return len(self.state.history)

    @property
    def facts(self) -> Facts:
        return engine.facts_of(self.state)

    def send(self, inp: str | engine.Input) -> engine.Result:
        if isinstance(inp, str):
            inp = engine.Answer(inp)
        result = engine.step(self.state, inp)
        self.results.append(result)
        self.state = result.state
        return result

    def answer(self, fact: str, text: str) -> engine.Result:
        """Answer the question on screen, which must be ``fact``."""
        assert self.state.current == fact, (
            f"expected question {fact!r}, the engine asks {self.state.current!r} "
            f"(asked so far: {self.asked})")
        return self.send(text)

    def final(self) -> engine.OutcomeReached:
        """The final outcome (the conversation must be done)."""
        assert self.state.phase == "done", f"not done: phase {self.state.phase}, asking {self.state.current}"
        finals = [o for o in self.last.outputs if isinstance(o, engine.OutcomeReached) and o.final]
        assert len(finals) == 1, self.last.outputs
        return finals[0]

    def announcements(self) -> list[engine.OutcomeReached]:
        """Certain ineligibilities announced while questions were still open."""
        return [o for o in self.outputs if isinstance(o, engine.OutcomeReached) and not o.final]

    def reprompts(self) -> list[engine.Reprompt]:
        return [o for o in self.outputs if isinstance(o, engine.Reprompt)]


def start(referral_id: str = REFERRAL_ID) -> Conversation:
    result = engine.start(referral_id)
    return Conversation(result.state, [result])


Step = tuple[str, str] | engine.Input


def run_script(script: Iterable[Step], conv: Conversation | None = None) -> Conversation:
    """A strict transcript: each ``(question id, answer)`` must be the question on screen, in order;
    plain inputs (commands, toggles) are sent as they are."""
    conv = conv or start()
    for item in script:
        if isinstance(item, tuple):
            conv.answer(*item)
        else:
            conv.send(item)
    return conv


Answers = Mapping[str, str | Callable[[Conversation], str | engine.Input]]


def run_answers(answers: Answers, conv: Conversation | None = None, *, stop_at: str | None = None,
                max_steps: int = 200) -> Conversation:
    """Answer whatever is asked from ``answers`` (question id -> answer) until the conversation is done
    (or question ``stop_at`` is on screen). A question not in ``answers`` fails the test: a transcript
    says exactly which questions it expects."""
    conv = conv or start()
    for _ in range(max_steps):
        if conv.state.phase != "asking" or conv.state.current == stop_at:
            return conv
        current = conv.state.current
        assert current in answers, f"unexpected question {current!r} (asked so far: {conv.asked})"
        a = answers[current]
        result = conv.send(a(conv) if callable(a) else a)
        refused = [o for o in result.outputs if isinstance(o, engine.Reprompt)]
        assert not refused, f"answer {a!r} to {current!r} was refused: {refused}"
    raise AssertionError("the conversation did not end")


# A 12-year-old girl after menarche, biopsy-proven class IV LN, refractory to 12 months of standard care:
# the shortest path to "eligible", in the order the engine asks.
ELIGIBLE_GIRL_12: list[tuple[str, str]] = [
    ("age_years", "12"),
    ("sex", "female"),
    ("childbearing_potential", "yes"),
    ("exclusion_checklist", "none"),
    ("sle_eular_acr_2019", "yes"),
    ("ln_classes", "IV"),  # asked once, before the 2019 EULAR/ACR items that its classes decide
    ("sledai_2k", "12"),
    ("intolerant_to_conventional", "no"),
    ("soc_months", "12"),
    ("gc_high_dose", "yes"),
    ("hcq", "yes"),
    ("dmards", "mycophenolate, cyclophosphamide"),
    # No LLDAS question: SLEDAI-2K 12 ≥ 5 already says the target is not reached (protocol 2).
    ("lvef_percent", "62"),
    ("ecg_significant_abnormality", "no"),
    ("egfr", "95"),
    ("ast_x_uln", "1"),
    ("alt_x_uln", "1"),
    ("bilirubin_x_uln", "0.5"),
    ("severe_lung_disease", "no"),
    ("spo2_percent", "98"),
    ("cardiac_conditions", "none"),
    ("ln_chronicity_index", "2"),
    ("hbsag", "negative"),
    ("hbcab", "negative"),
    ("hcv_ab", "negative"),
    ("hiv_ab", "negative"),
    ("syphilis", "negative"),
    ("cmv_dna", "negative"),
    ("agrees_contraception", "yes"),
    ("apheresis_suitable", "yes"),
]

# Answers for every question the engine may ask on the way to "eligible" (calculators included, with
# values that keep the patient eligible), so variants can override a few and let the engine choose.
ELIGIBLE_ANSWERS: dict[str, str] = {
    **dict(ELIGIBLE_GIRL_12),
    "cns_lupus": "no", "refractory_cytopenia": "no", "other_major_organ": "no", "steroid_dependent": "no",
    "hbv_dna": "negative", "hcv_rna": "negative",
    "eular_acr_2019.ana_ge_1_80": "yes",
    "eular_acr_2019.items": "acute cutaneous lupus, anti_dsdna_or_anti_sm",
    "sledai_2k_items": "arthritis, proteinuria, low_complement",
    # Asked positively: "Is the child in LLDAS or remission now?" (only without a SLEDAI-2K).
    "target_not_reached": "no",
    "gc_peak_drug": "prednisone", "gc_drug_mg_day": "40", "weight_kg": "30",
    "creatinine": "0.6 mg/dL", "height_cm": "145",
    "gc_taper_tried": "yes", "gc_taper_floor_mg_kg_day": "0.6",
}


# A path on which every question of the catalogue is asked (every calculator, HBV-DNA, HCV-RNA, the
# chronicity index, the I3 questions; SLEDAI-2K as a range 4–10, so that the LLDAS question comes too).
EVERY_QUESTION: dict[str, str] = {
    **ELIGIBLE_ANSWERS,
    "sledai_2k_items": "arthritis, ?proteinuria, ?low_complement",
    "sle_eular_acr_2019": "unknown", "sledai_2k": "unknown", "gc_high_dose": "unknown",
    "steroid_dependent": "unknown", "egfr": "unknown", "hbsag": "negative", "hbcab": "positive",
    "hcv_ab": "positive", "ln_classes": "II", "cns_lupus": "no", "refractory_cytopenia": "no",
}


def eligible_answers(**overrides: str) -> dict[str, str]:
    return {**ELIGIBLE_ANSWERS, **overrides}


def states_by_question(answers: Answers) -> dict[str, State]:
    """Run a conversation to its end and keep the state in which each question was first on screen."""
    conv = start()
    states: dict[str, State] = {}
    for _ in range(200):
        if conv.state.phase != "asking":
            return states
        states.setdefault(conv.state.current, conv.state)
        a = answers[conv.state.current]
        conv.send(a(conv) if callable(a) else a)
    raise AssertionError("the conversation did not end")


# ---- the oracle physician -----------------------------------------------------------------------------

UNKNOWN_ANSWERS: tuple[str | engine.Input, ...] = (
    "unknown", "Unknown", "not known", "n/a", "unk", "don't know", engine.Command("skip"))
YES = ("yes", "y", "Yes", "Y", "yes.", "true")
NO = ("no", "n", "No", "N", "no.")
NONE = ("none", "None", "nil", "none of these")
# Drugs whose mg-per-5-mg-prednisone ratio keeps the typed dose a short decimal.
ORACLE_DRUGS = ("prednisone", "prednisolone", "methylprednisolone")
# Facts the oracle types as integers.
INTEGER_FACTS = frozenset({"sledai_2k", "ln_chronicity_index"})


def fmt_number(value: float, rnd: random.Random | None = None) -> str:
    """A number as a physician types it: no exponent, at most 6 decimals, sometimes a decimal comma, and
    never in a form that reads two ways. A comma before exactly three digits ("171,496") may mark
    thousands, and the reader asks back (answers.read_number); so does a point before three digits ending
    in 0 ("1.500", never typed: trailing zeros are dropped). Such a number keeps its decimal point."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    if rnd is not None and "." in text and rnd.random() < 0.3:
        comma = text.replace(".", ",")
        if not AMBIGUOUS_COMMA.search(comma):
            text = comma
    assert reads_as_typed(text), f"the oracle would type {text!r}, which the reader cannot read as one number"
    return text


# A decimal comma followed by exactly three digits: a thousands separator to many readers.
AMBIGUOUS_COMMA = re.compile(r",\d{3}$")


def reads_as_typed(text: str) -> bool:
    """Whether the reader reads ``text`` as the number it was typed for, without asking back."""
    try:
        return read_number(text) == float(text.replace(",", "."))
    except AnswerError:
        return False


def typeable(facts: Mapping[str, Any]) -> dict[str, Any]:
    """A facts file as a physician can say it: numbers to at most 6 decimals (a peak dose to 3 and the
    weight to 1, so that the glucocorticoid calculator can reproduce them), still consistent."""
    out: dict[str, Any] = {}
    for key, value in facts.items():
        if isinstance(value, float) and key not in INTEGER_FACTS:
            digits = {"gc_peak_mg_kg_day": 3, "gc_peak_mg_day": 3, "weight_kg": 1}.get(key, 6)
            value = round(value, digits)
        out[key] = value
    # Rounding may move a value across a calculator's threshold (0.9996 -> 1.0): the derived facts follow
    # their inputs again, and a given eGFR is put back within tolerance of the calculated one.
    make_consistent(out)
    if out.get("egfr") is not None:
        out["egfr"] = round(out["egfr"], 6)
    return out


def in_order(codes: list[str], q: engine.Question) -> list[str]:
    """``codes`` in the order of the question's choices, each once."""
    return [c.value for c in q.choices if c.value in set(codes)]


class OraclePhysician:
    """Answers each question from a facts file: "unknown" when the fact is absent or null; checklists
    name the true keys, "?key" for absent ones; calculator questions get "unknown" unless the calculator's
    inputs are in the file. Styles vary (codes, labels, numbers, units, decimal commas, buttons), chosen by
    ``rnd`` so that a run is reproducible. ``said`` collects the facts it stated, as a facts file."""

    def __init__(self, facts: Mapping[str, Any], rnd: random.Random) -> None:
        self.facts = dict(facts)
        self.rnd = rnd
        self.said: dict[str, Any] = {}
        self._gc: dict[str, Any] = {}

    # -- helpers
    def _has(self, key: str) -> bool:
        return self.facts.get(key) is not None

    def unknown(self) -> str | engine.Input:
        return self.rnd.choice(UNKNOWN_ANSWERS)

    def _choice_text(self, q: engine.Question, value: str) -> str:
        index = next(i for i, c in enumerate(q.choices) if c.value == value)
        c = q.choices[index]
        # A label with a comma ("fever (constitutional, 2)") is typed without its parenthesis.
        shown = c.label if "," not in c.label else re.sub(r"\s*\([^()]*\)$", "", c.label)
        return self.rnd.choice([c.value, str(index + 1), shown, c.value.replace("_", " ").upper()])

    def _number(self, q: engine.Question, value: float) -> str:
        text = str(int(value)) if q.fact in INTEGER_FACTS else fmt_number(value, self.rnd)
        units = questions.BY_ID[q.fact].unit_words
        # A bare number above 10 for a × ULN fact may be a value in U/L: the reader asks, so say "x".
        if units and (self.rnd.random() < 0.4 or (q.fact.endswith("_x_uln") and value > BARE_X_ULN_MAX)):
            text += self.rnd.choice(("", " ")) + self.rnd.choice(units)
        return text

    def _list(self, q: engine.Question, values: list[str]) -> list[str | engine.Input]:
        if not values:
            return [self.rnd.choice(NONE)]
        values = list(dict.fromkeys(values))
        if self.rnd.random() < 0.25:  # buttons: toggle each, then submit
            return [*(engine.Toggle(q.seq, v) for v in values), engine.Submit(q.seq)]
        sep = self.rnd.choice((", ", ",", "; ", " and "))
        return [sep.join(self._choice_text(q, v) for v in values)]

    def _checklist(self, q: engine.Question) -> list[str | engine.Input]:
        yes = [c.value for c in q.choices if self.facts.get(c.value) is True]
        unsure = [c.value for c in q.choices if self.facts.get(c.value) is None]
        for c in q.choices:
            if self.facts.get(c.value) is not None:
                self.said[c.value] = self.facts[c.value]
        return self._marks(q, yes, unsure)

    def _items(self, q: engine.Question, present: list[str], unknown: list[str]) -> list[str | engine.Input]:
        """An item checklist: the items present, "?" before those not assessed, the rest absent."""
        unknown = [c for c in dict.fromkeys(unknown) if c not in present]
        return self._marks(q, list(dict.fromkeys(present)), unknown)

    def _marks(self, q: engine.Question, yes: list[str], unsure: list[str]) -> list[str | engine.Input]:
        if self.rnd.random() < 0.25:  # buttons: once for "yes", twice for "not sure"
            toggles = [engine.Toggle(q.seq, v) for v in yes]
            toggles += [t for v in unsure for t in (engine.Toggle(q.seq, v), engine.Toggle(q.seq, v))]
            return [*toggles, engine.Submit(q.seq)]
        parts = [self._choice_text(q, v) for v in yes] + ["?" + self._choice_text(q, v) for v in unsure]
        text = ", ".join(parts)
        if len(text) > 200:  # a long list by name is typed by number instead
            numbers = {c.value: str(i) for i, c in enumerate(q.choices, 1)}
            text = ", ".join([numbers[v] for v in yes] + ["?" + numbers[v] for v in unsure])
        return [text or self.rnd.choice(NONE)]

    # -- the answer to one question
    def reply(self, q: engine.Question) -> list[str | engine.Input]:
        """The inputs that answer ``q`` (several for buttons)."""
        fact, f = q.fact, self.facts
        if fact == "exclusion_checklist":
            return self._checklist(q)
        if fact == "sledai_2k_items":
            if f.get("sledai_2k_items") is None:
                return [self.unknown()]
            present, unknown = f["sledai_2k_items"], f.get("sledai_2k_unknown") or []
            # The engine keeps a checklist's items in the catalogue's order.
            self.said["sledai_2k_items"] = in_order(present, q)
            if [c for c in unknown if c not in present]:
                self.said["sledai_2k_unknown"] = in_order([c for c in unknown if c not in present], q)
            return self._items(q, present, unknown)
        if fact == "eular_acr_2019.ana_ge_1_80":
            ana = (f.get("eular_acr_2019") or {}).get("ana_ge_1_80")
            if ana is None:
                return [self.unknown()]
            self.said.setdefault("eular_acr_2019", {})["ana_ge_1_80"] = ana
            return [self.rnd.choice(YES if ana else NO)]
        if fact == "eular_acr_2019.items":
            eular = f.get("eular_acr_2019") or {}
            items = eular.get("items")
            if items is None:
                return [self.unknown()]
            said = self.said.setdefault("eular_acr_2019", {})
            said["items"] = in_order(items, q)
            unknown = [c for c in dict.fromkeys(eular.get("unknown_items") or []) if c not in items]
            if unknown:
                said["unknown_items"] = in_order(unknown, q)
            return self._items(q, items, unknown)
        if fact == "target_not_reached":  # asked positively: "in LLDAS or remission now?"
            value = f.get(fact)
            if value is None:
                return [self.unknown()]
            self.said[fact] = value
            return [self.rnd.choice(NO if value else YES)]
        if fact == "gc_peak_drug":
            per_day = f.get("gc_peak_mg_day")
            if per_day is None and self._has("gc_peak_mg_kg_day") and self._has("weight_kg"):
                per_day = f["gc_peak_mg_kg_day"] * f["weight_kg"]
            if per_day is None or per_day > 3000:  # beyond the range of gc_peak_mg_day: not typeable
                return [self.unknown()]
            self._gc["prednisone_mg"] = per_day
            self._gc["drug"] = drug = self.rnd.choice(ORACLE_DRUGS)
            return [self._choice_text(q, drug)]
        if fact == "gc_drug_mg_day":
            ratio = GLUCOCORTICOID_MG_PER_5MG_PREDNISONE[self._gc["drug"]]
            text = fmt_number(self._gc["prednisone_mg"] * ratio / 5)
            # The engine converts the drug's dose back to prednisone-equivalent mg/day, to 3 decimals.
            self.said["gc_peak_mg_day"] = round(float(text) * 5 / ratio, 3)
            return [text + self.rnd.choice(("", " mg", " mg/day"))]
        if fact == "gc_taper_tried":
            return ["yes"] if self._has("gc_taper_floor_mg_kg_day") else [self.unknown()]
        if fact == "creatinine":
            if not self._has("creatinine"):
                return [self.unknown()]
            value, unit = f["creatinine"], f["creatinine_unit"]
            spelled = self.rnd.choice(("mg/dL", "mg/dl", " mg/dL") if unit == "mg/dL"
                                      else ("umol/L", " µmol/L", " μmol/l", " micromol/L", " umol/l"))
            self.said["creatinine"], self.said["creatinine_unit"] = float(fmt_number(value)), unit
            return [fmt_number(value, self.rnd) + spelled]
        # A plain fact of the protocol.
        value = f.get(fact)
        if value is None:
            return [self.unknown()]
        q_def = questions.BY_ID[fact]
        if q_def.reader in ("number", "integer"):
            text = self._number(q, value)
            self.said[fact] = int(value) if fact in INTEGER_FACTS else float(fmt_number(value))
            return [text]
        self.said[fact] = list(dict.fromkeys(value)) if isinstance(value, list) else value
        if q_def.reader == "yes_no":
            return [self.rnd.choice(YES if value else NO)]
        if q_def.reader == "choice":
            return [self._choice_text(q, value)]
        if q_def.reader == "list":
            return self._list(q, value)
        raise AssertionError(f"no oracle answer for {fact}")


@dataclass
class OracleRun:
    conv: Conversation
    oracle: OraclePhysician
    # (question on screen, facts stored when it was asked) for every question asked.
    asked: list[tuple[engine.Question, Facts]]


def run_oracle(facts: Mapping[str, Any], seed: int, max_steps: int = 400) -> OracleRun:
    """The oracle physician answers every question until the engine has nothing left to ask."""
    oracle = OraclePhysician(facts, random.Random(seed))
    conv = start()
    asked: list[tuple[engine.Question, Facts]] = []
    for _ in range(max_steps):
        if conv.state.phase != "asking":
            return OracleRun(conv, oracle, asked)
        q = conv.question
        assert q is not None and q.fact == conv.state.current
        asked.append((q, conv.facts))
        for inp in oracle.reply(q):
            result = conv.send(inp)
            refused = [o for o in result.outputs if isinstance(o, engine.Reprompt | engine.Stale)]
            assert not refused, f"the engine refused the oracle's {inp!r} to {q.fact}: {refused}"
    raise AssertionError("the conversation did not end")


# ---- can a fact still change a verdict? (independent of the planner) -----------------------------------

_CANDIDATES: dict[str, tuple[Any, ...]] = {
    "age_years": (0, 4, 5, 12, 18, 19, 120),
    "sex": ("female", "male"),
    "weight_kg": (5, 30, 250), "height_cm": (40, 145, 230),
    "sledai_2k": (0, 7, 8, 105), "soc_months": (0, 5.9, 6, 240),
    "gc_peak_mg_kg_day": (0, 0.99, 1, 30), "gc_taper_floor_mg_kg_day": (0, 0.49, 0.5, 30),
    "dmards": ((), ("mycophenolate",), ("mycophenolate", "cyclophosphamide")),
    "ln_classes": ((), ("I",), ("IV",)),
    "cardiac_conditions": ((), ("mi_6m",)),
    "lvef_percent": (5, 54, 55, 95), "egfr": (1, 29.9, 30, 250),
    "ast_x_uln": (0, 3, 3.1, 100), "alt_x_uln": (0, 3, 3.1, 100), "bilirubin_x_uln": (0, 2, 2.1, 100),
    "spo2_percent": (50, 91, 92, 100), "ln_chronicity_index": (0, 6, 7, 12),
}
SEROLOGY = frozenset({"hbsag", "hbcab", "hbv_dna", "hcv_ab", "hcv_rna", "hiv_ab", "syphilis", "cmv_dna"})


def candidates(fact: str) -> tuple[Any, ...]:
    if fact in _CANDIDATES:
        return tuple(list(v) if isinstance(v, tuple) else v for v in _CANDIDATES[fact])
    if fact in SEROLOGY:
        return ("positive", "negative")
    return (True, False)


def can_change_a_verdict(facts: Facts, fact: str) -> bool:
    """Whether some valid value of ``fact``, added to ``facts``, changes a criterion's verdict or settles
    another missing fact (soc_months = 0 settles the whole "refractory" branch of I2c, though I2c stays
    unknown while intolerance is unknown). Tried by evaluating, not by asking the planner."""
    known = facts.known()
    base = evaluate(facts)
    base_missing = set(base.missing_facts) - {fact}
    for variant in [{**known, fact: value} for value in candidates(fact)] + calculator_variants(known, fact):
        try:
            changed = evaluate(Facts.model_validate(variant))
        except ValidationError:
            continue
        if changed.criteria != base.criteria or set(changed.missing_facts) - {fact} != base_missing:
            return True
    return False


def calculator_variants(known: dict[str, Any], fact: str) -> list[dict[str, Any]]:
    """Referrals where the calculator input of ``fact`` says more: once an input is given that cannot decide,
    the fact given alone changes nothing (criteria.md), but the input's missing parts can."""
    out: list[dict[str, Any]] = []
    eular = known.get("eular_acr_2019")
    if fact == "sle_eular_acr_2019" and eular is not None:
        for items in ([], ["renal_class_iii_or_iv", "anti_dsdna_or_anti_sm"]):
            out.append({**known, "eular_acr_2019": {**eular, "items": items, "unknown_items": []}})
        out.append({**known, "eular_acr_2019": {**eular, "ana_ge_1_80": False}})
    if fact == "sledai_2k" and known.get("sledai_2k_unknown") and known.get("sledai_2k_items") is not None:
        unknown = known["sledai_2k_unknown"]
        out.append({**known, "sledai_2k_unknown": []})
        out.append({**known, "sledai_2k_items": [*known["sledai_2k_items"], *unknown], "sledai_2k_unknown": []})
    if fact in ("gc_high_dose", "weight_kg"):
        out += [{**known, "weight_kg": w} for w in (5, 30, 100, 250)]
    return out


def relevant_now(facts: Facts) -> set[str]:
    return planner.relevant_facts(evaluate(facts))
