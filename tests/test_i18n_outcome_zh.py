"""Issue 16: what the criteria say is said whole in Chinese. For any valid referral the outcome (the
terminal's text, the physician's Telegram message, every item still missing, the coordinator's summary
and its detail pages) and the key facts hold no English word once rendered in Chinese: the calculators'
explanations, the criteria table's verdicts, the registry listing's readings, list codes and the parts
of scores are all translated. The contradictions the facts model refuses are said in Chinese too, and
the English sentences stay as they were (the JSON's and the tests' text)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import make_consistent, near_eligible_facts, valid_facts

from bot import i18n, phrases
from bot.report import key_facts, outcome_text
from bot.telegram import render
from conversations.dialogue import engine
from conversations.dialogue.messages import M, validation_message
from criteria import Facts
from criteria.evaluate import evaluate
from criteria.protocol import PROTOCOL_VERSION

# Words that stay as they are in Chinese: abbreviations and names the Chinese guidelines write in Latin
# letters, units, and the protocol's identifier.
KEPT = {"Schwartz", "Telegram", "back", "umol"}
# A run of three or more lower-case letters is a word; capitals and digits alone (SLEDAI-2K, eGFR, HBsAg,
# ULN, mg/kg) are abbreviations and units.
WORD = re.compile(r"[A-Za-z]*[a-z]{3,}[A-Za-z]*")


def english_words(text: str) -> list[str]:
    # Telegram's HTML tags, the protocol's identifier and commands (/summary) are no words
    text = re.sub(r"<[^>]*>|/[a-z]+", " ", text.replace(PROTOCOL_VERSION, ""))
    return [w for w in WORD.findall(text) if w not in KEPT and w not in ("mL", "min")]


# Small and large referrals, and those near eligibility (where most criteria are decided and explained).
REFERRALS = st.one_of(valid_facts(), valid_facts(min_keys=25, null_ratio=0.05), near_eligible_facts())


def _facts(facts: dict) -> Facts | None:
    try:
        return Facts.model_validate(make_consistent(facts))
    except ValidationError:
        return None


def rendered(f: Facts) -> dict[str, str]:
    o = evaluate(f)
    summary = render.Summary(ref="R-7KQ2-9XPM", send_no=1, physician=render.Physician(101), outcome=o, facts=f,
                             started="2026-03-02T09:00:00Z", finished="2026-03-02T09:30:00Z",
                             sent="2026-03-02T09:31:00Z", head_seq=42, head_hash="0123456789" * 6 + "0123")
    return {"outcome_text": outcome_text(o), "key_facts": "\n".join(key_facts(f).values()),
            "physician": render.outcome(engine.OutcomeReached(o, final=True), "R-7KQ2-9XPM"),
            "missing_all": render.missing_all(o, "R-7KQ2-9XPM"), "summary": render.summary(summary),
            "details": "\n".join(render.details(summary))}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(REFERRALS)
def test_every_outcome_and_its_key_facts_read_in_chinese(facts):
    f = _facts(facts)
    if f is None:
        return
    with i18n.using(i18n.CHINESE):
        shown = rendered(f)
    for where, text in shown.items():
        assert not english_words(text), (where, english_words(text), text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(REFERRALS)
@pytest.mark.parametrize("lang", [i18n.ENGLISH, i18n.CHINESE])
def test_telegrams_limits_hold_in_both_languages(lang, facts):
    """The first screen of a summary ≤ 1,200 characters as Telegram counts them, every message (a detail
    page, the physician's outcome, the missing list once split) ≤ 4,096."""
    f = _facts(facts)
    if f is None:
        return
    with i18n.using(lang):
        shown = rendered(f)
        pages = render.details(render.Summary(
            ref="R-7KQ2-9XPM", send_no=1, physician=render.Physician(101, "名" * 60, "院" * 60, "1" * 60),
            outcome=evaluate(f), facts=f, started="2026-03-02T09:00:00Z", finished="2026-03-02T09:30:00Z",
            sent="2026-03-02T09:31:00Z", head_seq=42, head_hash="0" * 64))
    assert render.visible_len(shown["summary"]) <= 1200, shown["summary"]
    for text in [*pages, *render.split(shown["physician"]), *render.split(shown["missing_all"])]:
        assert render.visible_len(text) <= 4096


# Each branch of the calculators' explanations, with the sentence the English has always said.
EXPLAINED = [
    ({"sledai_2k_items": ["seizure", "rash"]}, "SLEDAI-2K descriptors add up to 10", "SLEDAI-2K 各描述项合计 10 分"),
    ({"sledai_2k_items": ["rash"], "sledai_2k_unknown": ["seizure"]}, "SLEDAI-2K 2–10 (seizure not assessed)",
     "SLEDAI-2K 评分 2–10（癫痫发作未评估）"),
    ({"gc_peak_mg_kg_day": 1.5, "weight_kg": 30}, "peak dose 1.5 mg/kg/day ≥ 1", "峰值剂量 1.5 mg/kg/天 ≥ 1"),
    ({"gc_peak_mg_kg_day": 0.5, "gc_peak_mg_day": 15}, "peak dose 0.5 mg/kg/day < 1 and 15 mg/day < 60",
     "峰值剂量 0.5 mg/kg/天 < 1 且 15 mg/天 < 60"),
    ({"gc_peak_mg_day": 20}, "peak dose 20 mg/day < 60; the other figure needs the weight",
     "峰值剂量 20 mg/天 < 60；另一种剂量需要体重才能换算"),
    ({"gc_taper_floor_mg_kg_day": 0.6}, "flared at 0.6 mg/kg/day ≥ 0.5", "复发时剂量 0.6 mg/kg/天 ≥ 0.5"),
    ({"creatinine": 0.5, "creatinine_unit": "mg/dL", "height_cm": 120},
     "bedside Schwartz from creatinine 0.5 mg/dL and height 120 cm",
     "由血肌酐 0.5 mg/dL 和身高 120 cm 按床旁Schwartz公式计算"),
    ({"eular_acr_2019": {"ana_ge_1_80": False}}, "ANA ≥ 1:80: no", "ANA ≥ 1:80：否"),
]


@pytest.mark.parametrize(("facts", "english", "chinese"), EXPLAINED)
def test_the_calculators_explain_in_english_as_before_and_in_chinese_whole(facts, english, chinese):
    from bot.report import detail_text

    derived = Facts.model_validate(facts).derived
    said = [d for d in derived.values() if d.why == english]
    assert said, [d.why for d in derived.values()]
    with i18n.using(i18n.CHINESE):
        assert detail_text(said[0].says) == chinese


CONTRADICTIONS = [
    {"sledai_2k_items": ["seizure"], "sledai_2k": 4},
    {"gc_peak_mg_kg_day": 2, "weight_kg": 30, "gc_peak_mg_day": 20},
    {"creatinine": 5},
    {"creatinine": 500, "creatinine_unit": "mg/dL"},
    {"sex": "male", "childbearing_potential": True},
    {"sex": "male", "pregnant": True},
    {"sledai_2k": 8, "target_not_reached": False},
    {"gc_taper_floor_mg_kg_day": 0.6, "steroid_dependent": False},
    {"creatinine": 0.5, "creatinine_unit": "mg/dL", "height_cm": 120, "egfr": 20},
    {"gc_peak_mg_kg_day": 2, "gc_high_dose": False},
    {"sledai_2k_items": ["seizure"], "sledai_2k_unknown": ["seizure"]},
    {"sledai_2k_items": ["rash"], "sledai_2k_unknown": ["fever"], "sledai_2k": 9},
]


@pytest.mark.parametrize("facts", CONTRADICTIONS)
def test_a_contradiction_is_said_in_the_physicians_language(facts):
    with pytest.raises(ValidationError) as refused:
        Facts.model_validate(facts)
    message = validation_message(refused.value)
    assert message.code in (M.CONTRADICTION, M.NOT_VALID)
    # Its English is the facts model's own sentence, as the JSON and `evaluate` give it.
    assert message.params["detail"] == refused.value.errors()[0]["msg"]
    with i18n.using(i18n.ENGLISH):
        assert message.params["detail"] in phrases.text(message)
    with i18n.using(i18n.CHINESE):
        said = phrases.text(message)
    assert not english_words(said), said
    # A message read back from JSON (the trail's copy) says the same.
    assert phrases.text((message.code.value, dict(message.params))) is not None
