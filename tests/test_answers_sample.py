"""The public sample of answers as physicians type them (tests/data/answers-sample.md, a copy of the
study's sample), each typed to its question through ``chat --jsonl`` and read as the sample says: the
facts an ``accepted`` line carries, "not known", or asked back with nothing recorded."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conversation_script import EVERY_QUESTION

from bot import terminal
from conversations.records.store import Store

SAMPLE = Path(__file__).parent / "data" / "answers-sample.md"
ASKED_BACK = "asked back"
NOT_KNOWN = "not known"
EXCLUSIONS = ("prior_cell_therapy", "cns_event_60d", "cns_damage_or_severe_seizures", "dialysis_3m",
              "renal_fibrosis_extensive", "non_sle_immunosuppression", "active_infection", "transplant_3m",
              "gvhd_grade2_2w", "mas_1m", "live_vaccine_4w", "malignancy_or_severe_disease", "other_trial_3m",
              "pregnant")


def no_exclusion(**marks: bool | None) -> dict[str, Any]:
    return {**dict.fromkeys(EXCLUSIONS, False), **marks}


# What each line of the sample must be read as: the facts set (the sample's last column, in the spec's
# units; a float within 0.5 %), NOT_KNOWN, or ASKED_BACK. The question a line is typed to, and the
# drug named before a dose, come from the sample's first column.
EXPECTED: dict[tuple[str, str], Any] = {
    ("age_years", "16 y 10 m"): {"age_years": 16},
    ("sex", "male patient"): {"sex": "male"},
    ("childbearing_potential", "periods started last year"): {"childbearing_potential": True},
    ("exclusion_checklist", "no exclusions"): no_exclusion(),
    ("exclusion_checklist", "varicella vaccine 10 days ago"): no_exclusion(live_vaccine_4w=True),
    ("exclusion_checklist", "unsure about other trials, rest none"): {
        k: v for k, v in no_exclusion().items() if k != "other_trial_3m"},
    ("eular_acr_2019.ana_ge_1_80", "ANA strongly positive, 1:2560"): {},  # a calculator input: no fact yet
    ("eular_acr_2019.items", "oral ulcers, leukopenia, low C3 and low C4, anti-Sm"): None,  # checked below
    ("sledai_2k", "score 11 on SLEDAI 2K"): {"sledai_2k": 11},
    ("sledai_2k_items", "proteinuria 1 g/day, low C4, alopecia; dsDNA not rechecked"): None,
    ("soc_months", "3 months and 2 weeks"): {"soc_months": 3.46},
    ("soc_months", "since last spring"): ASKED_BACK,
    ("gc_high_dose", "no - never above 0.8 mg/kg"): {"gc_high_dose": False},
    ("prednisone", "15 mg four times a day"): {"gc_peak_mg_day": 60},
    ("methylprednisolone", "750 mg"): {"gc_peak_mg_day": 937.5},
    ("methylprednisolone", "1.500"): ASKED_BACK,
    ("weight_kg", "weight 97 pounds"): {"weight_kg": 44.0},
    ("dmards", "MMF, HCQ, belimumab"): {"dmards": ["mycophenolate", "belimumab"]},
    ("dmards", "CTX then telitacicept"): {"dmards": ["cyclophosphamide", "telitacicept"]},
    ("dmards", "iguratimod + tacrolimus"): {"dmards": ["other", "tacrolimus"]},
    ("target_not_reached", "responded at first, active again now"): {"target_not_reached": True},
    ("ln_classes", "renal biopsy awaited"): NOT_KNOWN,
    ("lvef_percent", "shortening fraction 32%"): ASKED_BACK,
    ("ecg_significant_abnormality", "unremarkable"): {"ecg_significant_abnormality": False},
    ("creatinine", "Cr 0.7"): ASKED_BACK,
    ("height_cm", "4 ft 10 in"): {"height_cm": 147.3},
    ("ast_x_uln", "52 (upper limit 34)"): {"ast_x_uln": 1.53},
    ("alt_x_uln", "80 IU/L"): ASKED_BACK,
    ("bilirubin_x_uln", "normal range"): "0-1",
    ("spo2_percent", "94 on 1 L nasal cannula"): ASKED_BACK,
    ("cardiac_conditions", "3, 6"): {"cardiac_conditions": ["severe_arrhythmia", "hypotension_pressors"]},
    ("ln_chronicity_index", "activity 6, chronicity 1"): {"ln_chronicity_index": 1},
    ("hbcab", "HBsAb 120 mIU/mL"): ASKED_BACK,
    ("hbv_dna", "below detection limit"): {"hbv_dna": "negative"},
    ("hbv_dna", "detected but below LLOQ"): {"hbv_dna": "positive"},
    ("hcv_ab", "阳性"): {"hcv_ab": "positive"},
    ("syphilis", "VDRL reactive, TPPA pending"): NOT_KNOWN,
    ("cmv_dna", "CMV serology negative"): ASKED_BACK,
    ("severe_lung_disease", "not to my knowledge"): NOT_KNOWN,
    ("apheresis_suitable", "nothing against it"): {"apheresis_suitable": True},
}
DRUG_DOSE = "gc_drug_mg_day"


def sample_lines(sample: Path = SAMPLE) -> list[tuple[str, str]]:
    rows = []
    for line in sample.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        key, typed = cells[0], cells[1].strip("`")
        drug = re.search(r"drug: (\w+)", key)
        rows.append((drug.group(1) if drug else key.strip("`"), typed))
    return rows


def path_to(key: str) -> list[str]:
    """The answers (from EVERY_QUESTION) that bring the question ``key`` on screen."""
    answers = dict(EVERY_QUESTION)
    target = key
    if key in ("prednisone", "methylprednisolone"):
        answers["gc_peak_drug"], target = key, DRUG_DOSE
    conv_lines: list[str] = []
    from conversation_script import start

    conv = start()
    for _ in range(200):
        if conv.state.current == target:
            return conv_lines
        text = answers[conv.state.current]
        conv_lines.append(text)
        conv.send(text)
    raise AssertionError(f"{key} is never asked")


def test_every_line_of_the_sample_is_expected():
    assert sorted(sample_lines()) == sorted(EXPECTED)
    assert len(EXPECTED) == 40


@pytest.mark.parametrize(("key", "typed"), list(EXPECTED), ids=[f"{k}:{t}" for k, t in EXPECTED])
def test_the_sample_through_chat_jsonl(tmp_path, key, typed):
    read_through_chat(tmp_path, key, typed, EXPECTED[(key, typed)])


def read_through_chat(tmp_path: Path, key: str, typed: str, expected: Any) -> None:
    """``typed`` answered to the question ``key`` in ``chat --jsonl``, read as ``expected`` says (the facts,
    NOT_KNOWN, ASKED_BACK, "0-1", or None for an item checklist checked by its items); tests/test_answers_zh.py
    reads the Chinese sample with it."""
    prefix = path_to(key)
    store = Store.open(tmp_path / "s.db")
    out = io.StringIO()
    terminal.jsonl(store, None, iter(f"{x}\n" for x in [*prefix, typed]), out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    rid = lines[0]["referral_id"]
    history = store.load(rid).history
    store.close()
    accepted = [x for x in lines if x["type"] == "accepted"]
    reply = next(x for x in reversed(lines) if x["type"] in ("accepted", "reprompt", "info")
                 and (x["type"] != "info" or x is lines[-1]))
    if expected == ASKED_BACK:
        assert lines[-1]["type"] == "reprompt" and lines[-1]["error"], lines[-1]
        assert len(history) == len(prefix), "nothing recorded"
        return
    assert len(accepted) == len(prefix) + 1, lines[-3:]
    got = accepted[-1]
    assert reply is got or reply["type"] == "info"
    question = DRUG_DOSE if key in ("prednisone", "methylprednisolone") else key
    assert got["fact"] == question and got["text"].startswith("Read as")
    if expected == NOT_KNOWN:
        assert got["facts"] == {} and got["unknown"], got
        assert history[-1].unknown or None in (history[-1].value or {}).values()
    elif expected == "0-1":
        assert 0 <= got["facts"][key] <= 1
    elif expected is None:  # an item checklist: the calculator's input, checked by its items
        items = history[-1].value
        if key == "eular_acr_2019.items":
            assert sorted(k for k, v in items.items() if v is True) == [
                "anti_dsdna_or_anti_sm", "leukopenia", "low_c3_and_c4", "oral_ulcers"]
        else:
            assert sorted(k for k, v in items.items() if v is True) == ["alopecia", "low_complement", "proteinuria"]
            assert items.get("increased_dna_binding", "absent") is None
    else:
        for fact, value in expected.items():
            if isinstance(value, float):
                assert got["facts"][fact] == pytest.approx(value, rel=0.005), got
            else:
                assert got["facts"].get(fact, history[-1].value if fact == key else None) == value, got
