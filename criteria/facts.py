"""The facts of a referral (criteria.md, "Facts"): every key, type, range and code; nothing else.

An absent key or ``None`` means *unknown*. Values are strict (no "yes" for a boolean, no "12" for a
number) because a facts file is machine input; the conversation parses free text before it gets here.
"""

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import calculators
from . import messages as m
from .codes import CardiacCondition, Dmard, EularItem, LnClass, SledaiItem
from .derive import WEIGHT_KG_RANGE, Contradiction, Derived, derive, fmt_value
from .messages import Key, Msg, english, to_data

Serology = Literal["positive", "negative"]


def _num(lo: float, hi: float) -> Any:
    return Annotated[float | None, Field(default=None, ge=lo, le=hi)]


def _int(lo: int, hi: int) -> Any:
    return Annotated[int | None, Field(default=None, ge=lo, le=hi)]


class EularAcrInput(BaseModel):
    """Calculator input for the 2019 EULAR/ACR classification."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ana_ge_1_80: bool | None = None
    # None: the items are not known yet (a negative ANA decides on its own).
    items: list[EularItem] | None = None
    # Items not assessed: the total is then a range.
    unknown_items: list[EularItem] | None = None

    @field_validator("items", "unknown_items")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else list(dict.fromkeys(v))


CREATININE_MG_DL_RANGE = (0.05, 20.0)

# Keys of protocol 1 that protocol 2 dropped, and why (an error even when null).
DROPPED_KEYS: dict[str, str] = {
    "nephropathy_needs_intensification": (
        "dropped in protocol 2: whether the nephropathy will need high-dose glucocorticoids or intensified "
        "DMARDs within 3 months of infusion (E3c) is the investigator's judgement, now always pending at "
        "screening; remove the key"),
}


class Facts(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False, validate_default=False
    )

    age_years: _num(0, 120)
    sex: Literal["female", "male"] | None = None
    childbearing_potential: bool | None = None
    weight_kg: _num(*WEIGHT_KG_RANGE)
    height_cm: _num(40, 230)
    sle_eular_acr_2019: bool | None = None
    eular_acr_2019: EularAcrInput | None = None
    sledai_2k: _int(0, 105)
    sledai_2k_items: list[SledaiItem] | None = None
    sledai_2k_unknown: list[SledaiItem] | None = None
    soc_months: _num(0, 240)
    gc_high_dose: bool | None = None
    gc_peak_mg_kg_day: _num(0, 60)
    gc_peak_mg_day: _num(0, 3000)
    hcq: bool | None = None
    dmards: list[Dmard] | None = None
    target_not_reached: bool | None = None
    intolerant_to_conventional: bool | None = None
    ln_classes: list[LnClass] | None = None
    cns_lupus: bool | None = None
    refractory_cytopenia: bool | None = None
    other_major_organ: bool | None = None
    steroid_dependent: bool | None = None
    gc_taper_floor_mg_kg_day: _num(0, 60)
    lvef_percent: _num(5, 95)
    ecg_significant_abnormality: bool | None = None
    egfr: _num(1, 250)
    creatinine: Annotated[float | None, Field(default=None, gt=0)]
    creatinine_unit: Literal["mg/dL", "umol/L"] | None = None
    ast_x_uln: _num(0, 100)
    alt_x_uln: _num(0, 100)
    bilirubin_x_uln: _num(0, 100)
    spo2_percent: _num(50, 100)
    severe_lung_disease: bool | None = None
    apheresis_suitable: bool | None = None
    agrees_contraception: bool | None = None
    prior_cell_therapy: bool | None = None
    cns_event_60d: bool | None = None
    cns_damage_or_severe_seizures: bool | None = None
    dialysis_3m: bool | None = None
    ln_chronicity_index: _int(0, 12)
    renal_fibrosis_extensive: bool | None = None
    cardiac_conditions: list[CardiacCondition] | None = None
    non_sle_immunosuppression: bool | None = None
    active_infection: bool | None = None
    transplant_3m: bool | None = None
    gvhd_grade2_2w: bool | None = None
    hbsag: Serology | None = None
    hbcab: Serology | None = None
    hbv_dna: Serology | None = None
    hcv_ab: Serology | None = None
    hcv_rna: Serology | None = None
    hiv_ab: Serology | None = None
    syphilis: Serology | None = None
    cmv_dna: Serology | None = None
    mas_1m: bool | None = None
    live_vaccine_4w: bool | None = None
    malignancy_or_severe_disease: bool | None = None
    pregnant: bool | None = None
    other_trial_3m: bool | None = None

    # What the calculator inputs decide (derive.derive), worked out once when the facts are validated.
    _derived: dict[str, Derived] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _dropped(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in DROPPED_KEYS.items():
                if key in data:
                    raise PydanticCustomError("dropped_key", f"{key}: {why}")
        return data

    @field_validator("age_years")
    @classmethod
    def _completed_years(cls, v: float | None) -> int | None:
        # Range-checked as given, then floored: 18.9 is 18 completed years.
        return None if v is None else math.floor(v)

    @field_validator("sledai_2k_items", "sledai_2k_unknown", "dmards", "ln_classes", "cardiac_conditions")
    @classmethod
    def _distinct(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _consistent(self) -> "Facts":
        if self.creatinine is not None:
            if self.creatinine_unit is None:
                raise _contradiction(m.msg(m.CREATININE_NEEDS_UNIT))
            mg_dl = calculators.creatinine_mg_dl(self.creatinine, self.creatinine_unit)
            lo, hi = CREATININE_MG_DL_RANGE
            if not lo <= mg_dl <= hi:
                raise _contradiction(m.msg(
                    m.CREATININE_OUT_OF_RANGE, creatinine=f"{self.creatinine:g} {self.creatinine_unit}", low=f"{lo:g}",
                    high=f"{hi:g}", low_umol=f"{lo * 88.4:g}", high_umol=f"{hi * 88.4:g}"))
        try:
            self._derived = derive(self)
        except Contradiction as exc:
            raise _contradiction(exc.said) from None
        if self.sex == "male" and self.childbearing_potential:
            raise _contradiction(m.msg(m.MALE_CHILDBEARING))
        if self.pregnant and (self.sex == "male" or self.childbearing_potential is False):
            key = "sex" if self.sex == "male" else "childbearing_potential"
            raise _contradiction(m.msg(m.PREGNANCY_IMPOSSIBLE, key=Key(key), value=fmt_value(getattr(self, key))))
        return self

    @property
    def derived(self) -> dict[str, Derived]:
        return self._derived

    def known(self) -> dict[str, Any]:
        """The known facts only, as JSON-ready data (the form a facts file takes)."""
        return self.model_dump(mode="json", exclude_none=True)


# The yes/no facts, in the spec's order.
BOOLEAN_FACTS: tuple[str, ...] = tuple(name for name, f in Facts.model_fields.items() if f.annotation == bool | None)

# Derived fact -> the input keys that can decide it (the first one names the calculator input).
DERIVED_INPUTS: dict[str, tuple[str, ...]] = {
    "sledai_2k": ("sledai_2k_items", "sledai_2k_unknown"),
    "sle_eular_acr_2019": ("eular_acr_2019",),
    "target_not_reached": ("sledai_2k", "sledai_2k_items"),
    "gc_high_dose": ("gc_peak_mg_kg_day", "gc_peak_mg_day", "weight_kg"),
    "steroid_dependent": ("gc_taper_floor_mg_kg_day",),
    "egfr": ("creatinine", "creatinine_unit", "height_cm"),
}


def _contradiction(said: Msg) -> PydanticCustomError:
    """The error's message is the English (braces doubled: pydantic fills ``{name}`` from the context);
    its context carries the message as data (criteria.messages.to_data), for an edge to translate."""
    text = english(said).replace("{", "{{").replace("}", "}}")
    return PydanticCustomError("contradiction", text, {"said": to_data(said)})


FACT_KEYS: tuple[str, ...] = tuple(Facts.model_fields)
