"""The study's protocol as data: one entry per criterion ID of criteria.md.

Most rules are Kleene expressions (``logic``); I6 and E11 depend on sex and childbearing potential in
ways an expression cannot phrase with pending verdicts, so they are small functions here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from . import messages as m
from .derive import GC_MG_DAY, GC_MG_KG_DAY
from .logic import (
    All,
    Any_,
    Atom,
    Compare,
    Context,
    CountAtLeast,
    Equals,
    Expr,
    Includes,
    IsTrue,
    NonEmpty,
    Not,
    NotFalse,
    NotTrue,
    OnlyThrough,
    OpenFact,
    Yes,
)
from .messages import Fact, Joined, Msg, Word

PROTOCOL_VERSION = "cart-sle-ped-prescreen/2.0"

Verdict = Literal["met", "not_met", "unknown", "pending", "clear", "excluded"]
FAILING: frozenset[str] = frozenset({"not_met", "excluded"})


class Judgement(NamedTuple):
    verdict: Verdict
    decided_by: tuple[Msg, ...] = ()  # readable (str()): "LVEF 54 % < 55 %"
    decided_facts: tuple[str, ...] = ()
    open: tuple[OpenFact, ...] = ()
    # For an unknown criterion with alternatives: which paths fail and which remain.
    note: Msg | None = None


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: Literal["inclusion", "exclusion"]
    title: str
    rule: Expr | Callable[[Context], Judgement]
    facts: frozenset[str] = field(default_factory=frozenset)
    unknown_is_pending: bool = False
    pending_reason: str = ""
    reading: str = ""  # how this protocol reads an ambiguity of the registry listing
    # Named alternatives of the rule (I2c, I3): the rule is met when any path is.
    paths: tuple[tuple[str, Expr], ...] = ()

    def judge(self, ctx: Context) -> Judgement:
        if not isinstance(self.rule, Expr):
            return self.rule(ctx)
        value = self.rule.value(ctx)
        if value is None:
            if self.unknown_is_pending:
                return PENDING
            return Judgement("unknown", open=tuple(self.rule.open_facts(ctx)), note=self._remaining(ctx))
        failing = (value is False) if self.kind == "inclusion" else (value is True)
        if self.kind == "inclusion":
            verdict: Verdict = "not_met" if failing else "met"
        else:
            verdict = "excluded" if failing else "clear"
        if not failing:
            return _PASSED[verdict]
        atoms = self.rule.deciders(ctx)
        if self.paths:
            reasons = tuple(_path_failure(name, expr, ctx) for name, expr in self.paths)
        else:
            reasons = tuple(a.describe(ctx) for a in atoms)
        return Judgement(verdict, reasons, _atom_facts(atoms, ctx))

    def _remaining(self, ctx: Context) -> Msg | None:
        """"the standard-care path fails: …; only documented intolerance can still meet I2c"."""
        if not self.paths:
            return None
        failed = [(name, expr) for name, expr in self.paths if expr.value(ctx) is False]
        if not failed:
            return None
        left = Joined(tuple(Word(name) for name, expr in self.paths if expr.value(ctx) is None), " or ")
        fails = Joined(tuple(_path_failure(name, expr, ctx) for name, expr in failed), "; ")
        return m.msg(m.ONLY_LEFT, fails=fails, left=left, criterion=self.id)


# The verdicts that carry nothing more, made once: evaluate() judges thirty criteria per referral.
PENDING = Judgement("pending")
_PASSED = {"met": Judgement("met"), "clear": Judgement("clear")}


def _path_failure(name: str, expr: Expr, ctx: Context) -> Msg:
    described = [a.describe(ctx) for a in expr.deciders(ctx)]
    if isinstance(expr, Atom):
        return described[0]
    return m.msg(m.PATH_FAILS, path=Word(name), reasons=Joined(tuple(described), "; "))


def _atom_facts(atoms: list[Atom], ctx: Context) -> tuple[str, ...]:
    keys: list[str] = []
    for a in atoms:
        keys.append(a.key)
        d = ctx.calc.get(a.key)
        if d is not None:
            # A calculated fact was decided by every input of its calculator (eGFR: creatinine, its
            # unit and height).
            keys.extend(d.inputs)
    return tuple(dict.fromkeys(keys))


def _yes_no(key: str, answer: str) -> Msg:
    return m.msg(m.YES_NO, fact=Fact(key), answer=Word(answer))


def _no_childbearing(ctx: Context) -> Msg | None:
    if ctx.get("sex") == "male":
        return m.msg(m.SEX_IS, sex=Word("male"))
    if ctx.get("childbearing_potential") is False:
        return _yes_no("childbearing_potential", "no")
    return None


def _i6(ctx: Context) -> Judgement:
    # Male or no childbearing potential: met. A known potential implies female (the facts model refuses
    # a male with childbearing potential), so refusal of contraception alone fails it. A known pregnancy
    # implies childbearing potential (the facts model refuses it for a male or without potential): sex
    # and childbearing potential can no longer change I6 and are not asked for.
    if _no_childbearing(ctx):
        return _PASSED["met"]
    if ctx.get("childbearing_potential") is True:
        potential: tuple[Msg, str] | None = (_yes_no("childbearing_potential", "yes"), "childbearing_potential")
    elif ctx.get("pregnant") is True:
        potential = (_yes_no("pregnant", "yes"), "pregnant")
    else:
        potential = None
    if potential is not None:
        if ctx.get("agrees_contraception") is False:
            return Judgement(
                "not_met",
                (potential[0], _yes_no("agrees_contraception", "no")),
                (potential[1], "agrees_contraception"),
            )
        return PENDING
    open_facts = [] if ctx.get("sex") == "female" else [("sex", ())]
    because = (m.msg(m.SEX_IS, sex=Word("female")),) if ctx.get("sex") == "female" else ()
    return Judgement("unknown", open=(*open_facts, ("childbearing_potential", because)))


def _e11(ctx: Context) -> Judgement:
    if ctx.get("pregnant") is True:
        return Judgement("excluded", (_yes_no("pregnant", "yes"),), ("pregnant",))
    if _no_childbearing(ctx):
        return _PASSED["clear"]
    return PENDING


def _always_pending(ctx: Context) -> Judgement:
    return PENDING


def _c(id: str, kind: str, title: str, rule, **kw) -> Criterion:
    paths = kw.get("paths", ())
    if paths:
        rule = Any_(*(expr for _, expr in paths))
    keys = rule.keys() if isinstance(rule, Expr) else frozenset(kw.pop("facts", ()))
    return Criterion(id, kind, title, rule, keys, **kw)  # type: ignore[arg-type]


_NO_LN = Not(NonEmpty("ln_classes"))
_INTOLERANT = Yes("intolerant_to_conventional")
_SOC_6 = Compare("soc_months", ">=", 6)
_STANDARD_CARE_PARTS = (Yes("gc_high_dose"), Yes("hcq"), CountAtLeast("dmards", 2), Yes("target_not_reached"))
_STANDARD_CARE = All(_SOC_6, *_STANDARD_CARE_PARTS)
_LN_III_IV_V = Includes("ln_classes", ("III", "IV", "V"))
_OTHER_ORGAN = Yes("other_major_organ")
_MAJOR_ORGAN_NAMED = (_LN_III_IV_V, Yes("cns_lupus"), Yes("refractory_cytopenia"))
_STEROID_DEPENDENT = Yes("steroid_dependent")

CRITERIA: tuple[Criterion, ...] = (
    _c("I1", "inclusion", "age 5 to 18 years",
       All(Compare("age_years", ">=", 5), Compare("age_years", "<=", 18)),
       reading="The listing's criteria text says only \"≥ 5 years\"; its age range (5 to 18 years) sets "
               "the upper limit, read as completed years ≤ 18 (a fractional age is floored: 18.9 is 18)."),
    _c("I2a", "inclusion", "SLE by the 2019 EULAR/ACR classification", Yes("sle_eular_acr_2019"),
       reading="The 2019 EULAR/ACR criteria were derived in adults (lower specificity in children); "
               "classification is still the rule. An item not assessed gives a range of totals, never 0."),
    _c("I2b", "inclusion", "persistent moderate to severe activity (SLEDAI-2K ≥ 8)",
       Compare("sledai_2k", ">=", 8),
       reading="A descriptor not assessed gives a range of scores, never 0: the verdict stays unknown "
               "while the range straddles 8."),
    _c("I2c", "inclusion", "refractory to ≥ 6 months of standard care, or intolerant to it", None,
       paths=(("documented intolerance", _INTOLERANT), ("the standard-care path", _STANDARD_CARE)),
       reading="\"At least two DMARDs … for at least 6 months\" is read as 6 months of standard care in all, "
               "with two DMARDs as adequate courses (rituximab or a cyclophosphamide induction count); the "
               "listing's DMARDs are examples (telitacicept and any other count). High dose is ≥ 1 mg/kg/day or "
               "≥ 60 mg/day prednisone-equivalent (the pediatric maximum). The target not reached means not in "
               "LLDAS or remission now (never reached, or lost in a flare); SLEDAI-2K ≥ 5 implies it."),
    _c("I3", "inclusion", "major organ involvement (LN III/IV/V, CNS lupus, refractory cytopenia or other major "
       "organ) or steroid dependence", None,
       paths=(("major organ involvement (I3a)", Any_(*_MAJOR_ORGAN_NAMED, _OTHER_ORGAN)),
              ("steroid dependence (I3b)", _STEROID_DEPENDENT)),
       reading="The listing's organs are examples (\"e.g.\"): other active major organ involvement also "
               "meets I3a, with a flag for the investigator."),
    _c("I4a", "inclusion", "cardiac function (LVEF ≥ 55 %, no significant ECG abnormality)",
       All(Compare("lvef_percent", ">=", 55), Not(Yes("ecg_significant_abnormality")))),
    _c("I4b", "inclusion", "renal function (eGFR ≥ 30 mL/min/1.73 m²)", Compare("egfr", ">=", 30),
       reading="The listing prints \"eGFR 30 mL/min/1.73m2\" without a comparison sign; read as "
               "eGFR ≥ 30."),
    _c("I4c", "inclusion", "liver function (AST and ALT ≤ 3 × ULN, bilirubin ≤ 2 × ULN)",
       All(Compare("ast_x_uln", "<=", 3), Compare("alt_x_uln", "<=", 3),
           Compare("bilirubin_x_uln", "<=", 2))),
    _c("I4d", "inclusion", "lung function (no severe lung disease, SpO2 on room air ≥ 92 %)",
       All(Not(Yes("severe_lung_disease")), Compare("spo2_percent", ">=", 92))),
    _c("I5", "inclusion", "suitable for leukapheresis", Yes("apheresis_suitable"),
       unknown_is_pending=True, pending_reason="apheresis suitability is confirmed at the screening visit"),
    _c("I6", "inclusion", "contraception and pregnancy test for girls of childbearing potential", _i6,
       facts=("sex", "childbearing_potential", "agrees_contraception", "pregnant"),
       pending_reason="urine pregnancy test and agreement to contraception at screening"),
    _c("I7", "inclusion", "written informed consent (patient where applicable, and guardians)",
       _always_pending, pending_reason="written consent is obtained before any screening procedure"),
    _c("E1", "exclusion", "prior CAR-T or genetically modified cell therapy", Yes("prior_cell_therapy")),
    _c("E2a", "exclusion", "active CNS lupus needing intervention in the last 60 days", Yes("cns_event_60d")),
    _c("E2b", "exclusion", "structural CNS damage or history of severe seizures",
       Yes("cns_damage_or_severe_seizures")),
    _c("E3a", "exclusion", "dialysis in the last 3 months", Yes("dialysis_3m")),
    _c("E3b", "exclusion", "irreversible renal damage (chronicity index > 6/12 or extensive fibrosis)",
       Any_(Compare("ln_chronicity_index", ">", 6, unknown_false_if=_NO_LN),
            Yes("renal_fibrosis_extensive"))),
    _c("E3c", "exclusion", "nephropathy likely to need intensified therapy within 3 months of infusion",
       _always_pending,
       pending_reason="whether the nephropathy will need ≥ 1 mg/kg/day glucocorticoids or intensified DMARDs "
                      "within 3 months of infusion is the investigator's judgement",
       reading="A prognosis, so the investigator's judgement: pending, never asked of the referring physician."),
    _c("E4", "exclusion", "serious cardiac conditions", NonEmpty("cardiac_conditions")),
    _c("E5", "exclusion", "severe lung disease or SpO2 < 92 %",
       Any_(Yes("severe_lung_disease"), Compare("spo2_percent", "<", 92))),
    _c("E6", "exclusion", "long-term immunosuppression for a condition other than SLE",
       Yes("non_sle_immunosuppression")),
    _c("E7", "exclusion", "active infection in the last week", Yes("active_infection")),
    _c("E8", "exclusion", "recent transplant or acute GVHD",
       Any_(Yes("transplant_3m"), Yes("gvhd_grade2_2w"))),
    _c("E9a", "exclusion", "hepatitis B with detectable HBV-DNA",
       All(Any_(Equals("hbsag", "positive"), Equals("hbcab", "positive")), Equals("hbv_dna", "positive"))),
    _c("E9b", "exclusion", "hepatitis C with detectable HCV-RNA",
       All(Equals("hcv_ab", "positive"), Equals("hcv_rna", "positive"))),
    _c("E9c", "exclusion", "HIV, syphilis (treponemal test) or detectable CMV-DNA",
       Any_(Equals("hiv_ab", "positive"), Equals("syphilis", "positive"), Equals("cmv_dna", "positive")),
       reading="The syphilis test is a treponemal (confirmatory) test; a reactive RPR/VDRL alone is common in "
               "SLE with antiphospholipid antibodies and is no answer."),
    _c("E10", "exclusion", "MAS in the last month, live vaccine in the last 4 weeks, malignancy or "
       "severe systemic disease",
       Any_(Yes("mas_1m"), Yes("live_vaccine_4w"), Yes("malignancy_or_severe_disease"))),
    _c("E11", "exclusion", "pregnancy", _e11, facts=("pregnant", "sex", "childbearing_potential"),
       pending_reason="blood pregnancy test at screening"),
    _c("E12", "exclusion", "another clinical trial in the last 3 months", Yes("other_trial_3m")),
    _c("E13", "exclusion", "investigator's judgement", _always_pending,
       pending_reason="the investigator's judgement at screening"),
)

BY_ID: dict[str, Criterion] = {c.id: c for c in CRITERIA}
CRITERION_IDS: tuple[str, ...] = tuple(BY_ID)
# Each criterion's title, by ID: the one place every report, message and export names it from.
TITLES: dict[str, str] = {c.id: c.title for c in CRITERIA}


# ---- flags for the investigator and re-checks (criteria.md) ----------------------------------------------

@dataclass(frozen=True)
class Flag:
    """A point for the investigator, raised whenever ``when`` is true, whatever the status."""

    criterion: str
    when: Expr
    text: str


@dataclass(frozen=True)
class Recheck:
    """For a failing criterion that time alone can lift: when the child may be re-referred. Each part is
    (a decider, when it lapses); the re-check holds when some part decided the failure and ``unless``
    (a decider time does not lift) is not true."""

    criterion: str
    parts: tuple[tuple[Expr, str], ...]
    unless: Expr | None = None

    def text(self, ctx: Context) -> Msg | None:
        if self.unless is not None and self.unless.value(ctx) is True:
            return None
        lapses = tuple(Word(text) for cond, text in self.parts if cond.value(ctx) is True)
        return m.msg(m.MAY_BE_REREFERRED, when=Joined(lapses, " and ")) if lapses else None


FLAGS: tuple[Flag, ...] = (
    Flag("I1", Compare("age_years", "==", 18),
         "age 18: the listing's range ends at 18; confirm the child is still 18 at infusion"),
    Flag("I2c", OnlyThrough(_INTOLERANT, (_STANDARD_CARE,)),
         "met only through documented intolerance: which treatments were not tolerated, and why, is for the "
         "investigator to confirm"),
    Flag("I2c", IsTrue(Includes("dmards", ("other",))),
         "an unlisted DMARD or biologic was counted as one of the two DMARDs"),
    Flag("I2c", All(IsTrue(Yes("gc_high_dose")), IsTrue(Compare("gc_peak_mg_day", ">=", GC_MG_DAY)),
                    NotTrue(Compare("gc_peak_mg_kg_day", ">=", GC_MG_KG_DAY))),
         f"high dose read as the pediatric maximum of {GC_MG_DAY:g} mg/day (below {GC_MG_KG_DAY:g} mg/kg/day, or "
         "the weight unknown)"),
    Flag("I3", OnlyThrough(_OTHER_ORGAN, (*_MAJOR_ORGAN_NAMED, _STEROID_DEPENDENT)),
         "met only through other major organ involvement: the listing's examples do not name this organ "
         "involvement"),
    Flag("E9a", All(IsTrue(Any_(Equals("hbsag", "positive"), Equals("hbcab", "positive"))),
                    IsTrue(Equals("hbv_dna", "negative"))),
         "HBsAg or HBcAb positive with HBV-DNA negative: not excluded as written; CAR-T with lymphodepletion "
         "needs antiviral prophylaxis and monitoring: the investigator decides"),
    Flag("E9c", IsTrue(Equals("syphilis", "positive")),
         "positive treponemal syphilis test: it stays positive after treated syphilis; the investigator decides "
         "whether it is active"),
)

RECHECKS: tuple[Recheck, ...] = (
    Recheck("I1", ((Compare("age_years", "<", 5), "at 5 years of age"),)),
    Recheck("I2c", ((All(IsTrue(Compare("soc_months", "<", 6)), *(NotFalse(p) for p in _STANDARD_CARE_PARTS)),
                     "once 6 months of standard-of-care therapy are complete"),)),
    Recheck("E2a", ((Yes("cns_event_60d"), "once 60 days have passed since the CNS event"),)),
    Recheck("E3a", ((Yes("dialysis_3m"), "once no dialysis will have been needed for 3 months before the "
                                         "infusion"),)),
    Recheck("E7", ((Yes("active_infection"), "once the infection is controlled and systemic treatment ended "
                                              "over 1 week ago"),)),
    Recheck("E8", ((Yes("transplant_3m"), "3 months after the transplant"),
                   (Yes("gvhd_grade2_2w"), "after 2 weeks without grade ≥ 2 acute GVHD"))),
    Recheck("E10", ((Yes("mas_1m"), "1 month after MAS"), (Yes("live_vaccine_4w"), "4 weeks after the live "
                                                                                    "vaccine")),
            unless=Yes("malignancy_or_severe_disease")),
    Recheck("E12", ((Yes("other_trial_3m"), "3 months after the other trial"),)),
)
RECHECK_BY_ID: dict[str, Recheck] = {r.criterion: r for r in RECHECKS}

# The sentences said as they are (the catalogue's msgids: babel.cfg): the pending reasons, the flags and
# when a re-check lapses.
PENDING_REASONS: dict[str, str] = {c.id: c.pending_reason for c in CRITERIA if c.pending_reason}
FLAG_TEXTS: tuple[str, ...] = tuple(f.text for f in FLAGS)
RECHECK_WHEN: tuple[str, ...] = tuple(text for r in RECHECKS for _cond, text in r.parts)
READINGS: dict[str, str] = {c.id: c.reading for c in CRITERIA if c.reading}
