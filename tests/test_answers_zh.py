"""The reader in Simplified Chinese (issue 16): every form the reader takes in English has its Chinese
form, read as it says (the same parsed value as its English counterpart, or the same reprompt code when
it cannot be read without a guess); the Chinese sample (tests/data/answers-sample-zh.md) read line by line
through ``chat --jsonl``; and the glossary (docs/glossary-zh.csv) holds every Chinese clinical term the
reader accepts and every clinical term the questions use."""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_answers_sample import ASKED_BACK, NOT_KNOWN, no_exclusion, read_through_chat, sample_lines

from conversations.dialogue import answers, chinese, questions
from conversations.dialogue.answers import AnswerError, Reading, short_label

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ZH = Path(__file__).parent / "data" / "answers-sample-zh.md"
GLOSSARY = ROOT / "docs" / "glossary-zh.csv"


def reading(qid: str, text: str) -> Any:
    """What the engine makes of ``text`` typed to ``qid``: "unknown", the parsed value, or the reprompt's code."""
    if answers.is_unknown(text):
        return "unknown"
    try:
        value = questions.read(questions.BY_ID[qid], text)
    except AnswerError as exc:
        return ("asked back", exc.message.code)
    if isinstance(value, Reading):
        return ("unknown",) if value.unknown else (value.value, value.also, tuple(n.code for n in value.notes))
    return value


# (question, typed in Chinese, its English counterpart): the two must be read alike.
PAIRS = [
    ('age_years', '12岁', '12 years'),
    ('age_years', '12 岁', '12 years'),
    ('age_years', '十二岁', '12 years'),
    ('age_years', '１２岁', '12'),
    ('age_years', '12周岁', '12'),
    ('age_years', '12岁10个月', '12 y 10 m'),
    ('age_years', '12岁半', '12 years 6 months'),
    ('age_years', '年龄12岁', 'age 12'),
    ('age_years', '不知道', 'unknown'),
    ('sex', '女', 'female'),
    ('sex', '男孩', 'boy'),
    ('sex', '男性患者', 'male patient'),
    ('childbearing_potential', '是', 'yes'),
    ('childbearing_potential', '已初潮', 'post-menarche'),
    ('childbearing_potential', '未初潮', 'premenarchal'),
    ('childbearing_potential', '去年来月经了', 'periods started last year'),
    ('exclusion_checklist', '无', 'none'),
    ('exclusion_checklist', '都没有', 'none'),
    ('exclusion_checklist', '以上均无', 'none of these'),
    ('exclusion_checklist', '10天前接种水痘疫苗', 'varicella vaccine 10 days ago'),
    ('exclusion_checklist', '不确定是否参加其他试验，其余无', 'unsure about other trials, rest none'),
    ('exclusion_checklist', '透析、妊娠', 'dialysis, pregnant'),
    ('exclusion_checklist', '活动性感染', 'active infection'),
    ('exclusion_checklist', '3、?13', '3, ?13'),
    ('sle_eular_acr_2019', '不清楚', 'unclear'),
    ('eular_acr_2019.ana_ge_1_80', 'ANA强阳性，1:2560', 'ANA strongly positive, 1:2560'),
    ('eular_acr_2019.ana_ge_1_80', '抗核抗体阳性 1:320', 'ana positive 1:320'),
    ('eular_acr_2019.ana_ge_1_80', '抗核抗体弱阳性', 'ana weakly positive'),
    ('ln_classes', 'IV型', 'IV'),
    ('ln_classes', 'Ⅳ型+Ⅴ型', 'IV + V'),
    ('ln_classes', 'III/IV型', 'III/IV'),
    ('ln_classes', '狼疮肾炎IV型', 'LN class IV'),
    ('ln_classes', '肾活检待做', 'renal biopsy awaited'),
    ('ln_classes', '等待肾穿结果', 'awaiting renal biopsy'),
    ('ln_classes', '无狼疮肾炎', 'no lupus nephritis'),
    ('ln_classes', '无', 'none'),
    ('cns_lupus', '否', 'no'),
    ('cns_lupus', '没有', 'no'),
    ('cns_lupus', '不是', 'no'),
    ('cns_lupus', '无', 'no'),
    ('cns_lupus', '对', 'yes'),
    ('cns_lupus', '有', 'yes'),
    ('cns_lupus', '是的', 'yes'),
    ('cns_lupus', '是，但不确定', 'yes, but unsure'),
    ('refractory_cytopenia', '未查', 'not checked'),
    ('steroid_dependent', '待查', 'pending'),
    ('gc_taper_floor_mg_kg_day', '0.6毫克/公斤/天', '0.6 mg/kg/day'),
    ('gc_taper_floor_mg_kg_day', '0.6mg/kg/d', '0.6 mg/kg/d'),
    ('eular_acr_2019.items', '口腔溃疡、白细胞减少、C3和C4降低、抗Sm阳性',
     'oral ulcers, leukopenia, low C3 and low C4, anti-Sm'),
    ('eular_acr_2019.items', '皮疹', 'rash'),
    ('eular_acr_2019.items', '补体低', 'low complement'),
    ('eular_acr_2019.items', '发热，关节炎，抗dsDNA抗体阳性', 'fever, arthritis, anti-dsDNA positive'),
    ('eular_acr_2019.items', '蛋白尿1克/天，脱发', 'proteinuria 1 g/day, alopecia'),
    ('eular_acr_2019.items', '肾活检IV型', 'class IV'),
    ('eular_acr_2019.items', '浆膜炎', 'serositis'),
    ('eular_acr_2019.items', 'C3或C4降低', 'C3 or C4 low'),
    ('sledai_2k', '11', '11'),
    ('sledai_2k', 'SLEDAI-2K评分11分', 'score 11 on SLEDAI 2K'),
    ('sledai_2k', '11分', '11'),
    ('sledai_2k', '十一', '11'),
    ('sledai_2k_items', '蛋白尿1g/天，低C4，脱发；dsDNA未复查',
     'proteinuria 1 g/day, low C4, alopecia; dsDNA not rechecked'),
    ('sledai_2k_items', '蛋白尿1g/天，低C4，脱发；未复查dsDNA',
     'proteinuria 1 g/day, low C4, alopecia; dsDNA not rechecked'),
    ('sledai_2k_items', '关节炎、血尿、新发皮疹', 'arthritis, hematuria, rash'),
    ('sledai_2k_items', '浆膜炎', 'serositis'),
    ('sledai_2k_items', '无', 'none'),
    ('soc_months', '3个月2周', '3 months and 2 weeks'),
    ('soc_months', '3个月零2周', '3 months and 2 weeks'),
    ('soc_months', '半年', '6 months'),
    ('soc_months', '1年半', '18 months'),
    ('soc_months', '1.5年', '1.5 years'),
    ('soc_months', '18个月', '18 months'),
    ('soc_months', '去年春天开始', 'since last spring'),
    ('soc_months', '3月4日开始', 'since March 4'),
    ('gc_high_dose', '否，从未超过0.8mg/kg', 'no - never above 0.8 mg/kg'),
    ('gc_peak_drug', '甲泼尼龙', 'methylprednisolone'),
    ('gc_peak_drug', '强的松', 'prednisone'),
    ('gc_peak_drug', '地塞米松', 'dexamethasone'),
    ('gc_drug_mg_day', '15mg，每日4次', '15 mg four times a day'),
    ('gc_drug_mg_day', '15毫克 一天四次', '15 mg four times a day'),
    ('gc_drug_mg_day', '750毫克', '750 mg'),
    ('gc_drug_mg_day', '1.500', '1.500'),
    ('gc_drug_mg_day', '40毫克/天', '40 mg/day'),
    ('gc_drug_mg_day', '2毫克/公斤/天', '2 mg/kg/day'),
    ('gc_drug_mg_day', '500mg 隔日', '500 mg every other day'),
    ('gc_drug_mg_day', '1克', '1 g'),
    ('weight_kg', '体重97磅', 'weight 97 pounds'),
    ('weight_kg', '35公斤', '35 kg'),
    ('weight_kg', '35千克', '35 kg'),
    ('weight_kg', '体重35kg', 'weight 35 kg'),
    ('weight_kg', '70斤', '70 jin'),
    ('hcq', '是', 'yes'),
    ('hcq', '羟氯喹', 'hcq'),
    ('hcq', '用过羟氯喹', 'hcq'),
    ('dmards', 'MMF、HCQ、贝利尤单抗', 'MMF, HCQ, belimumab'),
    ('dmards', 'CTX后改泰它西普', 'CTX then telitacicept'),
    ('dmards', '艾拉莫德+他克莫司', 'iguratimod + tacrolimus'),
    ('dmards', '环磷、吗替', 'cyclophosphamide, mycophenolate'),
    ('dmards', '美罗华；倍力腾', 'rituximab; belimumab'),
    ('dmards', '环磷酰胺，吗替麦考酚酯，他克莫司', 'cyclophosphamide, mycophenolate, tacrolimus'),
    ('dmards', '利妥昔单抗、泰它西普', 'rituximab, telitacicept'),
    ('dmards', '无', 'none'),
    ('dmards', '激素', 'steroids'),
    ('target_not_reached', '起初有效，现在又活动', 'responded at first, active again now'),
    ('target_not_reached', '是', 'yes'),
    ('target_not_reached', '完全缓解', 'complete remission'),
    ('target_not_reached', '从未达到低疾病活动度', 'never reached LLDAS'),
    ('target_not_reached', '复发', 'relapsed'),
    ('lvef_percent', '65%', '65%'),
    ('lvef_percent', '射血分数65%', 'EF 65%'),
    ('lvef_percent', '左室射血分数 65%', 'LVEF 65%'),
    ('lvef_percent', '缩短分数32%', 'shortening fraction 32%'),
    ('ecg_significant_abnormality', '正常', 'unremarkable'),
    ('ecg_significant_abnormality', '心电图正常', 'ECG normal'),
    ('ecg_significant_abnormality', '未见异常', 'no abnormality'),
    ('ecg_significant_abnormality', '窦性心律', 'sinus rhythm'),
    ('egfr', '95', '95'),
    ('egfr', '95 ml/min/1.73m²', '95 ml/min/1.73m2'),
    ('creatinine', '肌酐0.7', 'Cr 0.7'),
    ('creatinine', '50微摩尔/升', '50 umol/L'),
    ('creatinine', '50 μmol/L', '50 umol/L'),
    ('creatinine', '0.7毫克/分升', '0.7 mg/dL'),
    ('creatinine', '0.05毫摩尔/升', '0.05 mmol/L'),
    ('height_cm', '身高147厘米', 'height 147 cm'),
    ('height_cm', '1.47米', '1.47 m'),
    ('height_cm', '147cm', '147 cm'),
    ('ast_x_uln', '52（上限34）', '52 (upper limit 34)'),
    ('ast_x_uln', '52 U/L，正常上限40', '52 U/L, ULN 40'),
    ('ast_x_uln', '1.5倍', '1.5x'),
    ('ast_x_uln', '正常', 'normal'),
    ('ast_x_uln', '全部正常', 'all normal'),
    ('alt_x_uln', '80 U/L', '80 IU/L'),
    ('bilirubin_x_uln', '正常范围', 'normal range'),
    ('spo2_percent', '98%', '98%'),
    ('spo2_percent', '94%，鼻导管吸氧1L', '94 on 1 L nasal cannula'),
    ('spo2_percent', '未吸氧下98%', '98% on room air'),
    ('spo2_percent', '血氧饱和度98%', 'SpO2 98%'),
    ('cardiac_conditions', '3、6', '3, 6'),
    ('cardiac_conditions', '无', 'none'),
    ('cardiac_conditions', '严重心律失常、低血压需要升压药', 'severe arrhythmia, hypotension needing pressors'),
    ('cardiac_conditions', '大量心包积液', 'large pericardial effusion'),
    ('ln_chronicity_index', '活动指数6，慢性指数1', 'activity 6, chronicity 1'),
    ('ln_chronicity_index', '1', '1'),
    ('hbsag', '阴性', 'negative'),
    ('hbsag', '(-)', '(-)'),
    ('hbsag', '（－）', '(-)'),
    ('hbsag', '阳性', 'positive'),
    ('hbsag', '（+）', '(+)'),
    ('hbsag', '全部阴性', 'all negative'),
    ('hbsag', '均阴性', 'all negative'),
    ('hbcab', '乙肝表面抗体 120 mIU/mL', 'HBsAb 120 mIU/mL'),
    ('hbcab', '乙肝核心抗体阴性', 'anti-HBc negative'),
    ('hbcab', '乙肝阴性', 'hepatitis b negative'),
    ('hbv_dna', '低于检测下限', 'below detection limit'),
    ('hbv_dna', '检出，但低于定量下限', 'detected but below LLOQ'),
    ('hbv_dna', '未检出', 'not detected'),
    ('hbv_dna', '检出', 'detected'),
    ('hcv_ab', '阳性', 'positive'),
    ('hcv_ab', '弱阳性', 'weakly positive'),
    ('syphilis', 'RPR阳性，TPPA待查', 'VDRL reactive, TPPA pending'),
    ('syphilis', '梅毒阴性', 'syphilis negative'),
    ('cmv_dna', 'CMV抗体阴性', 'CMV serology negative'),
    ('cmv_dna', '巨细胞病毒DNA阴性', 'CMV DNA negative'),
    ('severe_lung_disease', '据我所知没有', 'not to my knowledge'),
    ('severe_lung_disease', '否', 'no'),
    ('severe_lung_disease', '胸部CT正常', 'chest CT normal'),
    ('agrees_contraception', '同意', 'yes'),
    ('agrees_contraception', '不同意', 'no'),
    ('apheresis_suitable', '无禁忌', 'nothing against it'),
    ('apheresis_suitable', '没有禁忌', 'no contraindication'),
    ('apheresis_suitable', '不适合', 'not suitable'),
    ('apheresis_suitable', '适合', 'suitable'),
]


@pytest.mark.parametrize(("qid", "zh", "en"), PAIRS, ids=[f"{q}:{zh}" for q, zh, _ in PAIRS])
def test_the_chinese_form_reads_as_the_english(qid, zh, en):
    assert reading(qid, zh) == reading(qid, en)


def test_every_question_has_chinese_answers():
    assert {q for q, _, _ in PAIRS} | {"egfr"} >= set(questions.BY_ID) - {"gc_taper_tried", "hcv_rna", "hiv_ab",
                                                                          "intolerant_to_conventional",
                                                                          "other_major_organ"}


@pytest.mark.parametrize(("qid", "zh", "expected"), [
    ("age_years", "12岁", 12), ("age_years", "十二岁", 12), ("age_years", "１２ 岁", 12), ("soc_months", "18个月", 18),
    ("soc_months", "1.5年", 18), ("weight_kg", "35公斤", 35), ("height_cm", "1.47米", 147),
    ("gc_drug_mg_day", "40毫克/天", 40), ("gc_taper_floor_mg_kg_day", "2.5毫克/公斤/天", 2.5),
    ("hbsag", "阴性", "negative"), ("hbsag", "(−)", "negative"), ("hbsag", "阳性", "positive"),
    ("hbsag", "(+)", "positive"), ("hbv_dna", "未检出", "negative"), ("hbv_dna", "检出", "positive"),
    ("cns_lupus", "是", True), ("cns_lupus", "对", True), ("cns_lupus", "有", True), ("cns_lupus", "否", False),
    ("cns_lupus", "没有", False), ("cns_lupus", "不是", False), ("cns_lupus", "无", False),
    ("dmards", "无", []), ("cardiac_conditions", "都没有", []), ("ln_classes", "Ⅳ型", ["IV"]),
    ("ln_classes", "IV型", ["IV"]), ("ln_classes", "III/IV型", ["III", "IV"]),
])
def test_each_form_reads_as_it_says(qid, zh, expected):
    assert reading(qid, zh) == expected


@pytest.mark.parametrize("zh", ["不知道", "不清楚", "未查", "待查", "未知", "不详", "未做", "结果未出", "不知道。"])
def test_not_known_in_chinese(zh):
    assert answers.is_unknown(zh)


def test_all_negative_and_all_normal_in_chinese():
    for zh in ("全部阴性", "均阴性", "都阴性"):
        value = questions.read(questions.BY_ID["hbsag"], zh)
        assert value.value == "negative" and set(value.also) == {"hbcab", "hcv_ab", "hiv_ab", "syphilis", "cmv_dna"}
    assert reading("exclusion_checklist", "无") == reading("exclusion_checklist", "none")
    assert reading("ast_x_uln", "全部正常") == reading("ast_x_uln", "all normal")


def test_a_day_of_a_month_is_no_duration():
    """"3月4日" is the 4th of March (a start, as "March 4" is): asked back, never 3 months and 4 days."""
    assert reading("soc_months", "3月4日")[0] == "asked back"
    assert reading("soc_months", "3月4日") == reading("soc_months", "march 4")


# ---- properties: generated Chinese answers and their English counterparts -------------------------------

DURATIONS = [("岁", "years"), ("年", "years"), ("个月", "months"), ("月", "months"), ("周", "weeks"),
             ("星期", "weeks"), ("天", "days")]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(n=st.integers(0, 40), decimals=st.sampled_from(["", ".5", ".25"]), unit=st.sampled_from(DURATIONS),
       space=st.sampled_from(["", " "]), full_width=st.booleans())
def test_durations(n, decimals, unit, space, full_width):
    number = f"{n}{decimals}"
    zh = number.translate(str.maketrans("0123456789.", "０１２３４５６７８９．")) if full_width else number
    for qid in ("age_years", "soc_months"):
        assert reading(qid, f"{zh}{space}{unit[0]}") == reading(qid, f"{number} {unit[1]}")


@settings(max_examples=200, derandomize=True, deadline=None)
@given(n=st.integers(1, 999))
def test_chinese_numerals(n):
    digits = "零一二三四五六七八九"
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    text = (digits[hundreds] + "百" if hundreds else "") + (
        ("" if tens == 1 and not hundreds else digits[tens]) + "十" if tens else ("零" if hundreds and ones else "")
    ) + (digits[ones] if ones else "")
    assert chinese.chinese_number(text) == n
    assert reading("sledai_2k", text) == reading("sledai_2k", str(n))


MEASURES = [("weight_kg", "公斤", "kg"), ("weight_kg", "千克", "kg"), ("height_cm", "厘米", "cm"),
            ("height_cm", "米", "m"), ("gc_drug_mg_day", "毫克", "mg"), ("gc_drug_mg_day", "毫克/天", "mg/day"),
            ("gc_drug_mg_day", "克", "g"), ("creatinine", "微摩尔/升", "umol/L"), ("creatinine", "毫克/分升", "mg/dL"),
            ("lvef_percent", "%", "%"), ("spo2_percent", "％", "%"), ("ast_x_uln", "倍", "x")]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(value=st.floats(0.1, 300).map(lambda x: round(x, 1)), measure=st.sampled_from(MEASURES))
def test_quantities(value, measure):
    qid, zh, en = measure
    assert reading(qid, f"{value:g}{zh}") == reading(qid, f"{value:g} {en}")


DMARDS_ZH = [("环磷酰胺", "cyclophosphamide"), ("环磷", "cyclophosphamide"), ("CTX", "cyclophosphamide"),
             ("吗替麦考酚酯", "mycophenolate"), ("吗替", "mycophenolate"), ("MMF", "mycophenolate"),
             ("硫唑嘌呤", "azathioprine"), ("甲氨蝶呤", "methotrexate"), ("环孢素", "cyclosporine"),
             ("他克莫司", "tacrolimus"), ("西罗莫司", "sirolimus"), ("来氟米特", "leflunomide"),
             ("托珠单抗", "tocilizumab"), ("贝利尤单抗", "belimumab"), ("倍力腾", "belimumab"),
             ("利妥昔单抗", "rituximab"), ("美罗华", "rituximab"), ("泰它西普", "telitacicept")]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(drugs=st.lists(st.sampled_from(DMARDS_ZH), min_size=1, max_size=5, unique_by=lambda d: d[1]),
       separator=st.sampled_from(["、", "，", "；", ",", "；", " + ", "后改"]))
def test_dmard_lists(drugs, separator):
    zh = separator.join(d[0] for d in drugs)
    assert reading("dmards", zh) == [d[1] for d in drugs]


# ---- the Chinese sample -----------------------------------------------------------------------------------

EXPECTED_ZH: dict[tuple[str, str], Any] = {
    ("age_years", "16岁10个月"): {"age_years": 16},
    ("age_years", "十二岁"): {"age_years": 12},
    ("age_years", "１２岁"): {"age_years": 12},
    ("sex", "男性患者"): {"sex": "male"},
    ("sex", "女孩"): {"sex": "female"},
    ("childbearing_potential", "去年来月经了"): {"childbearing_potential": True},
    ("childbearing_potential", "未初潮"): {"childbearing_potential": False},
    ("exclusion_checklist", "无"): no_exclusion(),
    ("exclusion_checklist", "10天前接种水痘疫苗"): no_exclusion(live_vaccine_4w=True),
    ("exclusion_checklist", "不确定是否参加其他试验，其余无"): {
        k: v for k, v in no_exclusion().items() if k != "other_trial_3m"},
    ("eular_acr_2019.ana_ge_1_80", "ANA强阳性，1:2560"): {},
    ("eular_acr_2019.items", "口腔溃疡、白细胞减少、C3和C4降低、抗Sm阳性"): None,
    ("eular_acr_2019.items", "皮疹"): ASKED_BACK,
    ("sledai_2k", "SLEDAI-2K评分11分"): {"sledai_2k": 11},
    ("sledai_2k_items", "蛋白尿1g/天，低C4，脱发；dsDNA未复查"): None,
    ("soc_months", "3个月零2周"): {"soc_months": 3.46},
    ("soc_months", "1年半"): {"soc_months": 18},
    ("soc_months", "去年春天开始"): ASKED_BACK,
    ("gc_high_dose", "否，从未超过0.8mg/kg"): {"gc_high_dose": False},
    ("prednisone", "15mg，每日4次"): {"gc_peak_mg_day": 60},
    ("methylprednisolone", "750毫克"): {"gc_peak_mg_day": 937.5},
    ("methylprednisolone", "2毫克/公斤/天"): ASKED_BACK,
    ("weight_kg", "体重35公斤"): {"weight_kg": 35.0},
    ("dmards", "MMF、HCQ、贝利尤单抗"): {"dmards": ["mycophenolate", "belimumab"]},
    ("dmards", "CTX后改泰它西普"): {"dmards": ["cyclophosphamide", "telitacicept"]},
    ("dmards", "环磷、吗替；美罗华"): {"dmards": ["cyclophosphamide", "mycophenolate", "rituximab"]},
    ("dmards", "艾拉莫德+他克莫司"): {"dmards": ["other", "tacrolimus"]},
    ("target_not_reached", "起初有效，现在又活动"): {"target_not_reached": True},
    ("ln_classes", "肾活检待做"): NOT_KNOWN,
    ("ln_classes", "Ⅳ型+Ⅴ型"): {"ln_classes": ["IV", "V"]},
    ("lvef_percent", "缩短分数32%"): ASKED_BACK,
    ("ecg_significant_abnormality", "未见异常"): {"ecg_significant_abnormality": False},
    ("creatinine", "肌酐0.7"): ASKED_BACK,
    ("creatinine", "50微摩尔/升"): {"creatinine": 50.0},
    ("height_cm", "1.47米"): {"height_cm": 147.0},
    ("ast_x_uln", "52（上限34）"): {"ast_x_uln": 1.53},
    ("alt_x_uln", "80 U/L"): ASKED_BACK,
    ("bilirubin_x_uln", "正常范围"): "0-1",
    ("spo2_percent", "94%，鼻导管吸氧1L"): ASKED_BACK,
    ("cardiac_conditions", "3、6"): {"cardiac_conditions": ["severe_arrhythmia", "hypotension_pressors"]},
    ("ln_chronicity_index", "活动指数6，慢性指数1"): {"ln_chronicity_index": 1},
    ("hbcab", "乙肝表面抗体 120 mIU/mL"): ASKED_BACK,
    ("hbv_dna", "低于检测下限"): {"hbv_dna": "negative"},
    ("hbv_dna", "检出，但低于定量下限"): {"hbv_dna": "positive"},
    ("hcv_ab", "（+）"): {"hcv_ab": "positive"},
    ("syphilis", "RPR阳性，TPPA待查"): NOT_KNOWN,
    ("cmv_dna", "CMV抗体阴性"): ASKED_BACK,
    ("severe_lung_disease", "据我所知没有"): NOT_KNOWN,
    ("apheresis_suitable", "无禁忌"): {"apheresis_suitable": True},
}


def test_every_line_of_the_chinese_sample_is_expected():
    assert sorted(sample_lines(SAMPLE_ZH)) == sorted(EXPECTED_ZH)


@pytest.mark.parametrize(("key", "typed"), list(EXPECTED_ZH), ids=[f"{k}:{t}" for k, t in EXPECTED_ZH])
def test_the_chinese_sample_through_chat_jsonl(tmp_path, key, typed):
    read_through_chat(tmp_path, key, typed, EXPECTED_ZH[(key, typed)])


# ---- the glossary -----------------------------------------------------------------------------------------

def glossary() -> list[dict[str, str]]:
    with GLOSSARY.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_glossary_is_well_formed():
    rows = glossary()
    assert rows and all(set(r) == {"english", "chinese", "source"} and all(r.values()) for r in rows)
    assert len({(r["english"], r["chinese"]) for r in rows}) == len(rows)


# Words of the answer itself, not clinical terms: yes, no, not known, units, connectives, numerals.
GRAMMAR_WORDS = {*chinese.GRAMMAR, *chinese.UNIT_AFTER_NUMBER, "無", "是的", "月", "周", "年", "岁", "天", "日", "克",
                 "米", "/日", "/天", "每天", "正常", "静脉", "口服", "弱阳性", "阳性", "阴性", "否",
                 "帮助", "说明"}
READER_MODULES = ("answers.py", "words.py", "quantities.py", "questions.py")


def _chinese_literals(path: Path) -> set[str]:
    """The runs of Han characters in the string literals of a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(re.findall(r"[\u4e00-\u9fff][\u4e00-\u9fff/]*", node.value))
    return found


def test_every_chinese_clinical_word_the_reader_accepts_is_in_the_glossary():
    """The clinical terms of chinese.py, and every Chinese word in the readers' own vocabularies (derived
    from their string literals; words of the answer itself such as 是, 无, 岁 are ``GRAMMAR_WORDS``)."""
    terms = {r["chinese"] for r in glossary()}
    missing = {zh for zh in chinese.CLINICAL if zh not in terms}
    for module in READER_MODULES:
        path = ROOT / "conversations" / "dialogue" / module
        missing |= {zh for zh in _chinese_literals(path) if zh not in terms and zh not in GRAMMAR_WORDS}
    assert not missing


# The clinical terms each question uses (from its text and help in questions.py), as the glossary's
# English column names them; a question added without its terms fails the test below.
QUESTION_TERMS: dict[str, tuple[str, ...]] = {
    "age_years": ("age in completed years",), "sex": ("sex",), "childbearing_potential": ("menarche",
                                                                                         "childbearing potential"),
    "exclusion_checklist": ("exclusion criteria",),
    "sle_eular_acr_2019": ("2019 EULAR/ACR classification criteria", "systemic lupus erythematosus"),
    "eular_acr_2019.ana_ge_1_80": ("antinuclear antibody (ANA)", "ANA titre ≥ 1:80", "HEp-2 cells"),
    "ln_classes": ("biopsy-proven lupus nephritis", "ISN/RPS class", "lupus nephritis"),
    "cns_lupus": ("neuropsychiatric lupus",),
    "refractory_cytopenia": ("refractory cytopenia", "thrombocytopenia", "autoimmune hemolytic anemia"),
    "other_major_organ": ("major organ involvement", "myocarditis", "pneumonitis", "pulmonary haemorrhage",
                          "mesenteric vasculitis", "vasculitis"),
    "steroid_dependent": ("steroid-dependent", "prednisone-equivalent dose"),
    "gc_taper_tried": ("glucocorticoid taper", "glucocorticoids"),
    "gc_taper_floor_mg_kg_day": ("prednisone-equivalent dose",),
    "eular_acr_2019.items": ("2019 EULAR/ACR classification criteria",),
    "sledai_2k": ("SLEDAI-2K",), "sledai_2k_items": ("SLEDAI-2K",),
    "intolerant_to_conventional": ("intolerance to conventional therapy",),
    "soc_months": ("standard-of-care therapy",),
    "gc_high_dose": ("high-dose glucocorticoids", "prednisone-equivalent dose", "methylprednisolone pulses"),
    "gc_peak_drug": ("glucocorticoids", "prednisone-equivalent dose"),
    "gc_drug_mg_day": ("glucocorticoids",), "weight_kg": ("weight",), "hcq": ("hydroxychloroquine",),
    "dmards": ("DMARD", "biologic", "adequate course", "rituximab", "cyclophosphamide", "hydroxychloroquine"),
    "target_not_reached": ("low disease activity state (LLDAS)", "remission", "childhood LLDAS (cLLDAS)",
                           "physician global assessment", "SLEDAI-2K"),
    "lvef_percent": ("left ventricular ejection fraction (LVEF)",),
    "ecg_significant_abnormality": ("clinically significant ECG abnormality", "ECG"),
    "egfr": ("eGFR (estimated glomerular filtration rate)", "bedside Schwartz formula"),
    "creatinine": ("serum creatinine", "bedside Schwartz formula"), "height_cm": ("height",),
    "ast_x_uln": ("AST", "upper limit of normal (ULN)", "total bilirubin", "ALT"),
    "alt_x_uln": ("ALT", "upper limit of normal (ULN)"),
    "bilirubin_x_uln": ("total bilirubin", "upper limit of normal (ULN)"),
    "severe_lung_disease": ("severe lung disease", "bronchiectasis", "emphysema", "interstitial lung disease (ILD)"),
    "spo2_percent": ("SpO2 (oxygen saturation)", "room air"),
    "cardiac_conditions": ("cardiac conditions",),
    "ln_chronicity_index": ("chronicity index", "renal biopsy"),
    "hbsag": ("HBsAg (hepatitis B surface antigen)", "HBcAb (anti-HBc, hepatitis B core antibody)", "HCV antibody",
              "HIV antibody", "syphilis", "CMV-DNA"),
    "hbcab": ("HBcAb (anti-HBc, hepatitis B core antibody)",), "hbv_dna": ("HBV-DNA",),
    "hcv_ab": ("HCV antibody",), "hcv_rna": ("HCV-RNA",), "hiv_ab": ("HIV antibody",),
    "syphilis": ("syphilis", "treponemal test", "non-treponemal test (RPR/VDRL)"),
    "cmv_dna": ("CMV-DNA", "PCR"), "agrees_contraception": ("contraception",),
    "apheresis_suitable": ("leukapheresis", "PBMC collection"),
}


def test_the_glossary_covers_every_question():
    english = {r["english"].lower() for r in glossary()}
    assert set(QUESTION_TERMS) == set(questions.BY_ID), "every question lists its clinical terms"
    missing = {t for terms in QUESTION_TERMS.values() for t in terms if t.lower() not in english}
    assert not missing


CHOICE_QUESTIONS = [q for q in questions.QUESTIONS if q.choices]


@pytest.mark.parametrize("question", CHOICE_QUESTIONS, ids=[q.id for q in CHOICE_QUESTIONS])
def test_every_choice_has_its_chinese_term_and_reads_by_it(question):
    """Each choice's label (without its "(domain, weight)") is in the glossary, and its Chinese term, typed
    alone, is read as that choice: a checklist marks it and nothing else, a list holds it, a choice is it."""
    by_english: dict[str, list[str]] = {}
    for r in glossary():
        by_english.setdefault(r["english"].lower(), []).append(r["chinese"])
    for c in question.choices:
        terms = by_english.get(short_label(c.label).lower())
        assert terms, (question.id, c.label)
        for zh in terms:
            value = questions.read(question, zh)
            value = value.value if isinstance(value, Reading) else value
            if question.checklist:
                assert {k for k, v in value.items() if v is True} == {c.value}, (zh, value)
            elif question.reader == "list":
                assert value == [c.value], (question.id, zh, value)
            else:
                assert value == c.value, (question.id, zh, value)
