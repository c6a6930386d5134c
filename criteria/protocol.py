"""The study's protocol as data: one entry per criterion ID of criteria.md.

Most rules are Kleene expressions (``logic``); I6 and E11 depend on sex and childbearing potential in
ways an expression cannot phrase with pending verdicts, so they are small functions here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .facts import DERIVED_INPUTS
from .labels import label
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
    NonEmpty,
    Not,
    OpenFact,
    Yes,
)

PROTOCOL_VERSION = "cart-sle-ped-prescreen/1.0"

Verdict = Literal["met", "not_met", "unknown", "pending", "clear", "excluded"]
FAILING: frozenset[str] = frozenset({"not_met", "excluded"})


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    decided_by: tuple[str, ...] = ()  # readable: "LVEF 54 % < 55 %"
    decided_facts: tuple[str, ...] = ()
    open: tuple[OpenFact, ...] = ()


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

    def judge(self, ctx: Context) -> Judgement:
        if not isinstance(self.rule, Expr):
            return self.rule(ctx)
        value = self.rule.value(ctx)
        if value is None:
            if self.unknown_is_pending:
                return Judgement("pending")
            return Judgement("unknown", open=tuple(self.rule.open_facts(ctx)))
        failing = (value is False) if self.kind == "inclusion" else (value is True)
        if self.kind == "inclusion":
            verdict: Verdict = "not_met" if failing else "met"
        else:
            verdict = "excluded" if failing else "clear"
        if not failing:
            return Judgement(verdict)
        atoms = self.rule.deciders(ctx)
        return Judgement(verdict, tuple(a.describe(ctx) for a in atoms), _atom_facts(atoms, ctx))


def _atom_facts(atoms: list[Atom], ctx: Context) -> tuple[str, ...]:
    keys: list[str] = []
    for a in atoms:
        keys.append(a.key)
        if a.key in ctx.sources:
            # A calculated fact was decided by every input of its calculator (eGFR: creatinine, its
            # unit and height).
            keys.extend(DERIVED_INPUTS[a.key])
    return tuple(dict.fromkeys(keys))


def _no_childbearing(ctx: Context) -> str | None:
    if ctx.get("sex") == "male":
        return "sex is male"
    if ctx.get("childbearing_potential") is False:
        return f"{label('childbearing_potential')}: no"
    return None


def _i6(ctx: Context) -> Judgement:
    # Male or no childbearing potential: met. A known potential implies female (the facts model refuses
    # a male with childbearing potential), so refusal of contraception alone fails it. A known pregnancy
    # implies childbearing potential (the facts model refuses it for a male or without potential): sex
    # and childbearing potential can no longer change I6 and are not asked for.
    if _no_childbearing(ctx):
        return Judgement("met")
    if ctx.get("childbearing_potential") is True:
        potential: tuple[str, str] | None = (f"{label('childbearing_potential')}: yes", "childbearing_potential")
    elif ctx.get("pregnant") is True:
        potential = (f"{label('pregnant')}: yes", "pregnant")
    else:
        potential = None
    if potential is not None:
        if ctx.get("agrees_contraception") is False:
            return Judgement(
                "not_met",
                (potential[0], f"{label('agrees_contraception')}: no"),
                (potential[1], "agrees_contraception"),
            )
        return Judgement("pending")
    open_facts = [] if ctx.get("sex") == "female" else [("sex", ())]
    because = ("sex is female",) if ctx.get("sex") == "female" else ()
    return Judgement("unknown", open=(*open_facts, ("childbearing_potential", because)))


def _e11(ctx: Context) -> Judgement:
    if ctx.get("pregnant") is True:
        return Judgement("excluded", (f"{label('pregnant')}: yes",), ("pregnant",))
    if _no_childbearing(ctx):
        return Judgement("clear")
    return Judgement("pending")


def _always_pending(ctx: Context) -> Judgement:
    return Judgement("pending")


def _c(id: str, kind: str, title: str, rule, **kw) -> Criterion:  # noqa: ANN001
    keys = rule.keys() if isinstance(rule, Expr) else frozenset(kw.pop("facts", ()))
    return Criterion(id, kind, title, rule, keys, **kw)  # type: ignore[arg-type]


_NO_LN = Not(NonEmpty("ln_classes"))

CRITERIA: tuple[Criterion, ...] = (
    _c("I1", "inclusion", "age 5 to 18 years",
       All(Compare("age_years", ">=", 5), Compare("age_years", "<=", 18)),
       reading="The listing's criteria text says only \"≥ 5 years\"; its age range (5 to 18 years) sets "
               "the upper limit, read as completed years ≤ 18."),
    _c("I2a", "inclusion", "SLE by the 2019 EULAR/ACR classification", Yes("sle_eular_acr_2019")),
    _c("I2b", "inclusion", "persistent moderate to severe activity (SLEDAI-2K ≥ 8)",
       Compare("sledai_2k", ">=", 8)),
    _c("I2c", "inclusion", "refractory to ≥ 6 months of standard care, or intolerant to it",
       Any_(Yes("intolerant_to_conventional"),
            All(Compare("soc_months", ">=", 6), Yes("gc_high_dose"), Yes("hcq"),
                CountAtLeast("dmards", 2), Yes("target_not_reached")))),
    _c("I3", "inclusion", "major organ involvement (LN III/IV/V, CNS lupus, refractory cytopenia) or "
       "steroid dependence",
       Any_(Includes("ln_classes", ("III", "IV", "V")), Yes("cns_lupus"), Yes("refractory_cytopenia"),
            Yes("steroid_dependent"))),
    _c("I4a", "inclusion", "cardiac function (LVEF ≥ 55 %, no significant ECG abnormality)",
       All(Compare("lvef_percent", ">=", 55), Not(Yes("ecg_significant_abnormality")))),
    _c("I4b", "inclusion", "renal function (eGFR ≥ 30 mL/min/1.73 m²)", Compare("egfr", ">=", 30),
       reading="The listing prints \"eGFR 30 mL/min/1.73m2\" without a comparison sign; read as "
               "eGFR ≥ 30."),
    _c("I4c", "inclusion", "liver function (AST and ALT ≤ 3 × ULN, bilirubin ≤ 2 × ULN)",
       All(Compare("ast_x_uln", "<=", 3), Compare("alt_x_uln", "<=", 3),
           Compare("bilirubin_x_uln", "<=", 2))),
    _c("I4d", "inclusion", "lung function (no severe lung disease, SpO2 ≥ 92 % on room air)",
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
    _c("E3c", "exclusion", "nephropathy likely to need intensified therapy within 3 months",
       Yes("nephropathy_needs_intensification")),
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
    _c("E9c", "exclusion", "HIV, syphilis or detectable CMV-DNA",
       Any_(Equals("hiv_ab", "positive"), Equals("syphilis", "positive"), Equals("cmv_dna", "positive"))),
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
