"""Answers typed in Simplified Chinese, read by the rules the English answers are read by (issue 16).

A Chinese answer is rewritten into the forms the readers take in English ("12岁" → "12 years", "环磷、吗替"
→ "cyclophosphamide, mycophenolate", "dsDNA未复查" → "dsdna not rechecked"), and then read as those are:
the same facts, and an answer that is ambiguous in Chinese is asked back with the same code as its English
form ("皮疹" is "rash": acute cutaneous or discoid lupus? "肌酐0.7" has no unit). Nothing is guessed here:
a word this table does not know stays as typed, and the reader asks back.

Pure: no I/O. The clinical terms (``CLINICAL``) follow docs/glossary-zh.csv (a test holds them to it); the
words of the answer itself (yes, no, not known, units, "and", "then": ``GRAMMAR``) are common usage.
"""

from __future__ import annotations

import re
import unicodedata

# Han characters, CJK punctuation and full-width forms: an answer with none of them is left as typed.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u2160-\u217f]")


def has_chinese(text: str) -> bool:
    return _CJK.search(text) is not None


# ---- clinical terms: the Chinese term → the English the readers take -----------------------------------

DRUGS = {
    # glucocorticoids
    "糖皮质激素": "glucocorticoids", "激素": "steroids", "泼尼松": "prednisone", "强的松": "prednisone",
    "泼尼松龙": "prednisolone", "强的松龙": "prednisolone", "甲泼尼龙": "methylprednisolone",
    "甲基强的松龙": "methylprednisolone", "甲强龙": "methylprednisolone", "甲泼尼龙冲击": "methylprednisolone pulses",
    "曲安西龙": "triamcinolone", "曲安奈德": "triamcinolone", "氢化可的松": "hydrocortisone", "可的松": "cortisone",
    "地塞米松": "dexamethasone", "倍他米松": "betamethasone",
    # DMARDs and biologics on the protocol's list
    "环磷酰胺": "cyclophosphamide", "环磷": "cyclophosphamide", "吗替麦考酚酯": "mycophenolate",
    "吗替": "mycophenolate", "麦考酚酯": "mycophenolate", "霉酚酸酯": "mycophenolate", "骁悉": "mycophenolate",
    "麦考酚钠": "mycophenolate sodium", "硫唑嘌呤": "azathioprine", "甲氨蝶呤": "methotrexate",
    "环孢素": "cyclosporine", "环孢素a": "cyclosporine", "环孢霉素": "cyclosporine", "他克莫司": "tacrolimus",
    "普乐可复": "tacrolimus", "西罗莫司": "sirolimus", "雷帕霉素": "sirolimus", "来氟米特": "leflunomide",
    "托珠单抗": "tocilizumab", "贝利尤单抗": "belimumab", "倍力腾": "belimumab", "利妥昔单抗": "rituximab",
    "美罗华": "rituximab", "泰它西普": "telitacicept", "泰爱": "telitacicept",
    # DMARDs the list does not name ("other")
    "艾拉莫德": "iguratimod", "雷公藤": "tripterygium", "雷公藤多苷": "tripterygium", "沙利度胺": "thalidomide",
    "阿尼鲁单抗": "anifrolumab", "奥妥珠单抗": "obinutuzumab", "伏环孢素": "voclosporin", "阿巴西普": "abatacept",
    "硼替佐米": "bortezomib", "达雷妥尤单抗": "daratumumab", "托法替布": "tofacitinib", "巴瑞替尼": "baricitinib",
    "咪唑立宾": "mizoribine", "柳氮磺吡啶": "sulfasalazine",
    "其他改善病情抗风湿药或生物制剂": "other dmard or biologic", "改善病情抗风湿药": "dmard",
    "生物制剂": "biologic",
    # asked on its own
    "羟氯喹": "hcq", "硫酸羟氯喹": "hcq",
}

LABS = {
    "抗核抗体": "ana", "系统性红斑狼疮": "sle", "狼疮": "lupus",
    "乙肝表面抗原": "hbsag", "乙型肝炎表面抗原": "hbsag", "乙肝表面抗体": "hbsab", "乙型肝炎表面抗体": "hbsab",
    "乙肝核心抗体": "hbcab", "乙型肝炎核心抗体": "hbcab", "核心抗体": "core antibody", "表面抗原": "surface antigen",
    "表面抗体": "surface antibody", "乙肝e抗原": "hbeag", "乙肝e抗体": "hbeab", "乙肝病毒dna": "hbv dna",
    "乙肝": "hepatitis b", "乙型肝炎": "hepatitis b", "丙肝抗体": "hcv ab", "丙型肝炎抗体": "hcv ab",
    "丙肝rna": "hcv rna", "丙肝病毒rna": "hcv rna", "丙肝": "hepatitis c", "丙型肝炎": "hepatitis c",
    "艾滋病抗体": "hiv ab", "hiv抗体": "hiv ab", "梅毒螺旋体抗体": "tp ab", "梅毒特异性抗体": "tp ab",
    "梅毒": "syphilis", "巨细胞病毒dna": "cmv dna", "巨细胞病毒": "cmv", "cmv抗体": "cmv antibody",
    "巨细胞病毒抗体": "cmv antibody",
    "左室射血分数": "lvef", "左心室射血分数": "lvef", "射血分数": "ef", "短轴缩短率": "shortening fraction",
    "缩短分数": "shortening fraction", "左室缩短分数": "shortening fraction",
    "心电图": "ecg", "估算肾小球滤过率": "egfr", "肾小球滤过率": "egfr", "血肌酐": "serum creatinine",
    "肌酐": "creatinine", "血氧饱和度": "spo2", "经皮血氧饱和度": "spo2", "指脉氧": "spo2",
    "谷草转氨酶": "ast", "天冬氨酸氨基转移酶": "ast", "谷丙转氨酶": "alt", "丙氨酸氨基转移酶": "alt",
    "总胆红素": "total bilirubin", "胆红素": "bilirubin", "肝功能": "liver function",
    "体重": "weight", "身高": "height", "年龄": "age",
    "活动性指数": "activity index", "活动指数": "activity index", "慢性化指数": "chronicity index",
    "慢性指数": "chronicity index",
    "sledai-2k评分": "sledai-2k score", "sledai评分": "sledai score",
    "白细胞单采": "leukapheresis", "单采": "apheresis",
}

ITEMS = {
    # sex
    "女孩": "girl", "女童": "girl", "女性": "female", "女": "female", "男孩": "boy", "男童": "boy", "男性": "male",
    "男": "male",
    # menarche
    "月经初潮": "menarche", "初潮": "menarche", "月经": "periods",
    "已初潮": "post-menarche", "月经已来潮": "post-menarche", "月经来潮": "post-menarche", "已来月经": "post-menarche",
    "来月经": "periods started", "有月经": "post-menarche", "未初潮": "premenarchal", "月经未来潮": "premenarchal",
    "未来月经": "premenarchal", "没来月经": "premenarchal", "还没来月经": "premenarchal", "无月经": "premenarchal",
    "没有月经": "premenarchal", "青春期前": "prepubertal",
    # lupus and the major organs (I3)
    "狼疮肾炎": "lupus nephritis", "狼疮性肾炎": "lupus nephritis", "肾活检": "renal biopsy",
    "肾穿刺活检": "renal biopsy", "肾穿刺": "renal biopsy", "肾穿": "renal biopsy", "肾脏病理": "renal biopsy",
    "神经精神狼疮": "cns lupus", "难治性血细胞减少": "refractory cytopenia", "低疾病活动度": "lldas",
    "低疾病活动状态": "lldas", "完全缓解": "complete remission", "临床缓解": "clinical remission",
    "缓解": "remission", "复发": "relapse", "疾病活动": "active", "活动期": "active", "活动": "active",
    "耐药": "refractory", "难治": "refractory", "激素依赖": "steroid-dependent",
    # 2019 EULAR/ACR items
    "白细胞减少症": "leukopenia", "白细胞减少": "leukopenia", "白细胞降低": "leukopenia",
    "血小板减少症": "thrombocytopenia", "血小板减少": "thrombocytopenia", "血小板降低": "thrombocytopenia",
    "自身免疫性溶血": "autoimmune hemolysis", "自身免疫性溶血性贫血": "aiha", "溶血性贫血": "hemolytic anemia",
    "谵妄": "delirium", "精神异常": "psychosis", "精神病": "psychosis", "精神症状": "psychosis",
    "癫痫发作": "seizure", "癫痫": "seizure", "抽搐": "seizure", "非瘢痕性脱发": "non-scarring alopecia",
    "脱发": "alopecia", "口腔溃疡": "oral ulcers", "黏膜溃疡": "mucosal ulcers", "粘膜溃疡": "mucosal ulcers",
    "亚急性皮肤狼疮或盘状狼疮": "subacute cutaneous or discoid lupus", "亚急性皮肤型狼疮": "subacute cutaneous lupus",
    "亚急性皮肤狼疮": "subacute cutaneous lupus", "盘状狼疮": "discoid lupus", "盘状红斑": "discoid rash",
    "急性皮肤狼疮": "acute cutaneous lupus", "颊部红斑": "malar rash", "颧部红斑": "malar rash",
    "蝶形红斑": "butterfly rash", "皮疹": "rash", "新发皮疹": "rash", "浆膜炎": "serositis",
    "胸腔积液或心包积液": "pleural or pericardial effusion", "胸腔积液": "pleural effusion",
    "心包积液": "pericardial effusion", "急性心包炎": "acute pericarditis", "心包炎": "pericarditis",
    "关节受累": "joint involvement", "关节炎": "arthritis", "滑膜炎": "synovitis", "蛋白尿": "proteinuria",
    "肾病范围蛋白尿": "nephrotic range proteinuria", "肾病综合征": "nephrotic syndrome",
    "抗磷脂抗体": "antiphospholipid antibodies", "抗心磷脂抗体": "anticardiolipin", "狼疮抗凝物": "lupus anticoagulant",
    "抗β2糖蛋白i抗体": "anti-b2gp1", "抗双链dna抗体": "anti-dsdna", "抗双链dna": "anti-dsdna",
    "抗dsdna抗体": "anti-dsdna", "抗dsdna": "anti-dsdna", "抗sm抗体": "anti-sm", "抗sm": "anti-sm",
    "抗dna抗体": "anti-dna", "补体": "complement", "低补体血症": "low complement", "低补体": "low complement",
    # SLEDAI-2000 descriptors
    "器质性脑病综合征": "organic brain syndrome", "视觉障碍": "visual disturbance",
    "视网膜血管炎": "retinal vasculitis",
    "颅神经病变": "cranial nerve disorder", "脑神经病变": "cranial nerve disorder", "狼疮性头痛": "lupus headache",
    "脑血管意外": "cerebrovascular accident", "脑卒中": "stroke", "卒中": "stroke", "血管炎": "vasculitis",
    "皮肤血管炎": "cutaneous vasculitis", "肌炎": "myositis", "管型尿": "urinary casts", "红细胞管型": "rbc casts",
    "血尿": "hematuria", "镜下血尿": "microscopic hematuria", "脓尿": "pyuria", "无菌性脓尿": "sterile pyuria",
    "胸膜炎": "pleurisy", "dna结合增加": "dna binding", "发热": "fever", "发烧": "fever",
    # the exclusion checklist
    "car-t细胞治疗": "car-t", "细胞治疗": "cell therapy", "基因修饰细胞治疗": "cell therapy",
    "结构性中枢神经系统损伤": "structural cns damage", "结构性中枢神经系统损害": "structural cns damage",
    "中枢神经系统损伤": "cns damage", "严重癫痫": "severe seizures", "神经精神狼疮事件": "cns event",
    "透析": "dialysis", "血液透析": "hemodialysis", "腹膜透析": "peritoneal dialysis",
    "肾脏替代治疗": "renal replacement therapy", "广泛肾纤维化": "extensive renal fibrosis",
    "肾纤维化": "renal fibrosis", "因其他疾病长期免疫抑制": "immunosuppression for another condition",
    "活动性感染": "active infection", "感染": "infection", "脓毒症": "sepsis", "移植": "transplant",
    "造血干细胞移植": "hsct", "骨髓移植": "bmt", "肾移植": "kidney transplant",
    "移植物抗宿主病": "gvhd", "巨噬细胞活化综合征": "macrophage activation syndrome",
    "减毒活疫苗": "live attenuated vaccine", "活疫苗": "live vaccine", "水痘疫苗": "varicella vaccine",
    "麻疹疫苗": "measles vaccine", "麻腮风疫苗": "mmr", "卡介苗": "bcg", "轮状病毒疫苗": "rotavirus vaccine",
    "口服脊灰疫苗": "opv", "恶性肿瘤": "malignancy", "肿瘤": "tumour", "白血病": "leukemia", "淋巴瘤": "lymphoma",
    "其他临床试验": "other clinical trial", "其他试验": "other trial", "其它临床试验": "other clinical trial",
    "临床试验": "clinical trial", "妊娠": "pregnancy", "怀孕": "pregnant",
    # cardiac conditions
    "严重先天性心脏病": "serious congenital heart disease",
    "近6个月内心肌梗死": "myocardial infarction in the last 6 months", "心肌梗死": "myocardial infarction",
    "严重心律失常": "severe arrhythmia", "大量心包积液": "large pericardial effusion",
    "重症心肌炎": "severe myocarditis", "严重心肌炎": "severe myocarditis",
    "低血压需要升压药": "hypotension needing pressors", "低血压需用升压药": "hypotension needing pressors",
    # apheresis
    "无禁忌证": "no contraindication", "无禁忌症": "no contraindication", "无禁忌": "no contraindication",
    "没有禁忌": "no contraindication", "不适合": "not suitable", "适合": "suitable",
    # ECG, lungs, oxygen
    "窦性心律": "sinus rhythm", "未见异常": "no abnormality", "无明显异常": "no significant abnormality",
    "无异常": "no abnormality", "未见明显异常": "no significant abnormality", "肺部ct": "ct", "胸部ct": "chest ct",
    "鼻导管吸氧": "nasal cannula", "鼻导管": "nasal cannula", "吸氧": "oxygen", "未吸氧": "room air",
    "不吸氧": "room air", "室内空气": "room air", "空气下": "on room air", "未吸氧下": "on room air",
    "不吸氧下": "on room air", "吸氧下": "on oxygen",
}

# The exclusion checklist's items by the names the Chinese labels give them (the glossary's terms).
CHECKLIST_LABELS = {
    "既往car-t或基因修饰细胞治疗": "prior car-t or genetically modified cell therapy",
    "近60天内需干预的神经精神狼疮": "cns lupus needing intervention in the last 60 days",
    "mri示结构性中枢神经系统损伤或严重癫痫": "structural cns damage on mri or severe seizures",
    "近3个月内透析": "dialysis in the last 3 months",
    "因其他疾病长期使用免疫抑制剂": "long-term immunosuppression for another condition",
    "近1周内活动性感染": "active infection in the last week",
    "近3个月内移植": "transplant in the last 3 months",
    "近2周内≥2级急性移植物抗宿主病": "acute gvhd grade ≥ 2 in the last 2 weeks",
    "近1个月内巨噬细胞活化综合征": "macrophage activation syndrome in the last month",
    "近4周内接种减毒活疫苗": "live vaccine in the last 4 weeks",
    "恶性肿瘤或其他严重系统性疾病": "malignancy or other severe systemic disease",
    "近3个月内参加其他临床试验": "another clinical trial in the last 3 months",
    "已知妊娠": "known pregnancy",
    "低c3或低c4": "low c3 or low c4", "低c3和低c4": "low c3 and low c4",
    "抗dsdna抗体或抗sm抗体": "anti-dsdna or anti-sm antibodies",
    "蛋白尿>0.5g/24h": "proteinuria > 0.5 g/24 h",
    "肾活检ii或v型狼疮肾炎": "renal biopsy class ii or v", "肾活检iii或iv型狼疮肾炎": "renal biopsy class iii or iv",
    "抗dsdna抗体升高": "increased dna binding", "抗双链dna抗体升高": "increased dna binding",
}

CLINICAL: dict[str, str] = {**DRUGS, **LABS, **ITEMS, **CHECKLIST_LABELS}

# ---- the words of the answer itself (common usage) -------------------------------------------------------

GRAMMAR: dict[str, str] = {
    # not known
    "不知道": "don't know", "不清楚": "unclear", "不太清楚": "not sure", "不详": "unknown", "未知": "unknown",
    "不确定是否": "unsure about", "不确定有无": "unsure about", "不确定": "unsure", "待查": "pending",
    "待做": "pending", "待回报": "pending", "待定": "tbd", "待复查": "pending", "未查": "not checked",
    "没查": "not checked", "未检查": "not checked", "未做": "not done", "没做": "not done", "未检测到": "not detected",
    "未检测": "not tested", "未测": "not measured", "未复查": "not rechecked", "未评估": "not assessed",
    "结果未出": "results pending", "结果待回": "results pending", "等待结果": "awaiting results",
    "等待": "awaiting", "尚未": "not yet", "据我所知没有": "not to my knowledge", "据我所知无": "not to my knowledge",
    # results
    "阴性": "negative", "阳性": "positive", "强阳性": "strongly positive", "弱阳性": "weakly positive",
    "未检出": "not detected", "检出": "detected", "低于检测下限": "below detection limit",
    "低于检出限": "below detection limit", "低于定量下限": "below lloq", "可疑": "equivocal", "临界": "borderline",
    "正常": "normal", "异常": "abnormal", "升高": "high", "增高": "high", "偏高": "high",
    "降低": "low", "减低": "low", "下降": "low", "偏低": "low", "低": "low", "均阴性": "all negative",
    "全部阴性": "all negative", "都是阴性": "all negative", "都阴性": "all negative", "全阴性": "all negative",
    "均正常": "all normal", "全部正常": "all normal", "都正常": "all normal", "正常范围": "normal range",
    "正常范围内": "within normal range", "正常上限": "uln", "正常值上限": "uln", "参考值上限": "uln",
    "上限": "upper limit", "参考值": "ref", "参考范围": "ref",
    # none
    "以上都没有": "none", "以上均无": "none", "以上皆无": "none", "都没有": "none", "均无": "none", "全无": "none",
    "都无": "none", "无排除标准": "no exclusions", "其余无": "rest none", "其余均无": "rest none",
    "余无": "rest none", "其他均无": "rest none", "其他无": "rest none", "其余阴性": "rest negative",
    # yes and no inside an answer
    "从未": "never", "从来没有": "never", "没有": "no", "无": "no", "没": "no", "否认": "denies", "未见": "no",
    "不伴": "without", "未": "not", "不": "not",
    "同意": "yes", "不同意": "no", "是的": "yes", "对的": "yes",
    # comments that change a yes or no
    "但是": "but", "但": "but", "不过": "but", "可是": "but", "除了": "except", "可能": "possibly",
    "也许": "maybe", "大概": "probably", "疑似": "suspected", "部分": "partial",
    # lists and time
    "和": "and", "及": "and", "以及": "and", "与": "and", "并": "and", "或": "or", "加用": "+", "联合": "+",
    "零": "and",
    "后改用": "then", "后改为": "then", "后换用": "then", "后改": "then", "后换": "then", "然后": "then",
    "之后": "then", "后": "then", "以前": "ago", "去年": "last year", "今年": "this year",
    "春天": "spring", "夏天": "summer", "秋天": "autumn", "冬天": "winter", "从": "since", "自": "since",
    "之前": "ago", "前": "ago", "昨天": "yesterday",
    "上周": "last week", "本周": "this week", "上个月": "last month", "接种": "vaccinated", "曾": "",
    "既往": "prior", "近期": "recent", "目前": "currently", "现在": "now", "又": "again", "起初": "at first",
    "开始": "started", "有效": "responded", "达到": "reached", "未达到": "not reached", "从未达到": "never reached",
    "处于": "in", "在": "in",
    # doses
    "每日": "daily", "每天": "daily", "隔日": "every other day",
    "隔天": "every other day", "每周": "weekly", "每月": "monthly", "静脉": "iv", "口服": "oral", "冲击": "pulses",
    "分次": "divided",
    # fillers: the drug was given, the patient is the patient
    "患者": "patient", "患儿": "patient", "病人": "patient", "曾用过": "", "用过": "", "使用过": "", "使用": "",
    "服用": "", "参加过": "", "参加": "", "先用": "", "先予": "", "给予": "", "予": "", "先": "", "示": "",
    "提示": "", "显示": "", "是": "is",
    "为": "is", "有": "has", "约": "", "大约": "",
    # units anywhere (unambiguous)
    "周岁": "years", "磅": "lb", "个月": "months", "星期": "weeks", "小时": "hours", "公斤": "kg", "千克": "kg",
    "毫克": "mg", "微克": "mcg", "厘米": "cm", "公分": "cm", "毫米": "mm", "微摩尔/升": "umol/l",
    "微摩尔每升": "umol/l", "毫摩尔/升": "mmol/l", "毫克/分升": "mg/dl", "单位/升": "u/l", "国际单位/升": "iu/l",
    "国际单位/毫升": "iu/ml", "拷贝/毫升": "copies/ml", "毫升/分钟": "ml/min", "毫升/分": "ml/min",
    "平方米": "m2", "/天": "/day", "/日": "/day", "评分": "score",
}

# A single character that is a unit only right after a number ("12岁", "3月"): elsewhere it is something else.
UNIT_AFTER_NUMBER = {
    "岁": "years", "年": "years", "月": "months", "周": "weeks", "天": "days", "日": "days", "米": "m",
    "克": "g", "分": "points", "次": "times", "倍": "x",
}

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
_NUMERAL_RUN = "[零〇一二两三四五六七八九十百]+"
_UNIT_AHEAD = r"(?=\s*(?:周岁|岁|个半月|个月|月|周|星期|年|天|日|小时|次|分|公斤|千克|厘米|米|毫克|克|倍|型))"


def chinese_number(run: str) -> int | None:
    """A Chinese numeral up to 999 ("十二" 12, "二十三" 23, "一百二十" 120), or None."""
    if not run or len(run) > 6 or not re.fullmatch(_NUMERAL_RUN, run):
        return None
    if all(ch in _NUMERALS for ch in run):
        return int("".join(str(_NUMERALS[ch]) for ch in run)) if len(run) <= 3 else None
    total, digit = 0, None
    for ch in run:
        if ch in "零〇" and total and digit is None:
            continue  # "一百零一": the zero holds the tens' place
        if ch in _NUMERALS:
            if digit is not None:
                return None
            digit = _NUMERALS[ch]
        elif ch in ("十", "百"):
            size = 10 if ch == "十" else 100
            if size == 100 and total:
                return None
            total += (1 if digit is None else digit) * size
            digit = None
    return total + (digit or 0)


def _numerals(t: str) -> str:
    def one(m: re.Match[str]) -> str:
        n = chinese_number(m.group(0))
        return m.group(0) if n is None else str(n)
    t = re.sub(_NUMERAL_RUN + _UNIT_AHEAD, one, t)
    whole = chinese_number(t.strip())
    return str(whole) if whole is not None else t


# A day of a month ("3月4日", "4号"): a date, never a duration; left as typed, it is asked back.
_DAY_OF_MONTH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]|(?<!\d)(\d{1,2})\s*号")
_HALF = (
    (re.compile(r"(\d+)\s*(?:岁|年)半"), r"\1 years 6 months"),
    (re.compile(r"(\d+)\s*个半月"), r"\1.5 months"),
    (re.compile(r"(?<!\d)半年"), "6 months"),
    (re.compile(r"(?<!\d)半个月"), "0.5 months"),
)
_TIMES_A_DAY = re.compile(r"(?:每日|每天|一日|一天|日|qd)\s*([\d一二两三四五六])\s*次")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
_NEPHRITIS_CLASS = re.compile(r"((?:vi|iv|v|i{1,3}|[1-6])(?:-?[gs])?)\s*型")
_LEAD_YES = re.compile(r"^(?:是的|是|对的|对|有的|有|嗯|好的)(?=$|[\s,;:.!])")
_LEAD_NO = re.compile(r"^(?:不是|否|没有|没|无|不对|不)(?=$|[\s,;:.!])")
# "未复查dsDNA": the marker before the item reads as the English marker after it ("dsdna not rechecked").
_MARKERS = ("not checked", "not done", "not rechecked", "not tested", "not measured", "not assessed", "pending")
_MARKER_FIRST = re.compile(rf"(^|[,;])\s*({'|'.join(_MARKERS)})\s+([^,;]+)")

_TABLE = {**GRAMMAR, **CLINICAL}
_PHRASES = re.compile("|".join(re.escape(p) for p in sorted(_TABLE, key=len, reverse=True)))


def _date(m: re.Match[str]) -> str:
    """"3月4日" is March 4 (a date, as the English readers see it: never a duration); "4号" the 4th."""
    if m.group(1) is None:
        return f" the {m.group(3)}th "
    month = int(m.group(1))
    return f" {_MONTH_NAMES[month - 1]} {m.group(2)} " if 1 <= month <= 12 else m.group(0)


def _times_a_day(m: re.Match[str]) -> str:
    n = m.group(1) if m.group(1).isdigit() else str(chinese_number(m.group(1)))
    return " daily " if n == "1" else f" {n} times a day "


def _after_number(m: re.Match[str]) -> str:
    return f"{m.group(1)} {UNIT_AFTER_NUMBER[m.group(2)]} "


def to_english(text: str) -> str:
    """The answer with its Chinese forms in the English forms the readers take; an answer without Chinese
    characters or full-width forms is returned as typed."""
    if not has_chinese(text):
        return text
    t = unicodedata.normalize("NFKC", text).lower()
    t = t.replace("、", ",").replace("。", ".").replace("〜", "~")
    t = " ".join(t.split())
    t = _DAY_OF_MONTH.sub(_date, t)
    t = _TIMES_A_DAY.sub(_times_a_day, t)
    t = _numerals(t)
    for pattern, replacement in _HALF:
        t = pattern.sub(replacement, t)
    t = _NEPHRITIS_CLASS.sub(r" class \1 ", t)
    t = _LEAD_YES.sub("yes", t)
    t = _LEAD_NO.sub("no", t)
    t = _PHRASES.sub(lambda m: f" {_TABLE[m.group(0)]} " if _TABLE[m.group(0)] else " ", t)
    t = re.sub(r"(\d)\s*(" + "|".join(UNIT_AFTER_NUMBER) + ")", _after_number, t)
    t = re.sub(r"\s*/\s*", "/", t)
    t = re.sub(r"\s+([,;:)\]])", r"\1", t)
    t = re.sub(r"([(\[])\s+", r"\1", t)
    t = " ".join(t.split())
    t = _MARKER_FIRST.sub(lambda m: f"{m.group(1)} {m.group(3).strip()} {m.group(2)}", t)
    return " ".join(t.split()).strip(" ,;")
