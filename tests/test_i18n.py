"""Languages (issue 16): the Simplified Chinese catalogue covers every message of the translated set with
the same placeholders and HTML tags as its English source, its compiled .mo is the .po compiled, language
tags are negotiated as Telegram and the system locale give them, and a pre-screen answered in Chinese
reaches the outcome of the same facts answered in English."""

from __future__ import annotations

import io
import json
import re
import string
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import i18n, terminal
from conversations.records.db import open_db
from conversations.records.store import Store

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "bot" / "locale" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")

# Every message the extractor yields is translated: the physician's side and, since the second pass, the
# coordinators' (summaries, decisions, reminders, the digest, the physician directory, anchors). Left out of
# the extraction on purpose (babel.cfg): render.CONTACT_KEPT, the placeholder the audit trail keeps for a
# contact (machine-facing).

def extracted() -> list[tuple[object, str]]:
    """(msgid, where) for every message the extractor yields now (babel.cfg): where is the phrase tables'
    comment (their constant), or the file and line of a template's message (Jinja2's extractor gives none)."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return [(message, comments[0] if comments else f"{file}:{line}") for file, line, message, comments, _ctx in
            extract_from_dir(str(ROOT), method_map, options_map)]


def fields(text: str) -> Counter:
    """The {name} fields of a phrase table's template and the %(name)s of a Jinja2 template's message."""
    return Counter(name for _, name, _, _ in string.Formatter().parse(text) if name is not None) + \
        Counter(f"%({name})" for name in re.findall(r"%\((\w+)\)[sd]", text))


def tags(text: str) -> Counter:
    """Telegram's HTML tags (plain texts' "<number>" and "<reason>" are words, translated)."""
    return Counter(re.findall(r"</?(?:b|i|u|s|a|code|pre)(?:\s[^>]*)?>", text))


@pytest.fixture(scope="module")
def catalogue():
    with open(PO, "rb") as f:
        return read_po(f)


def test_every_message_of_the_translated_set_is_translated_with_its_placeholders(catalogue):
    missing, differ = [], []
    for message, where in extracted():
        entry = catalogue.get(message if isinstance(message, str) else message[0])
        source = message if isinstance(message, str) else message[1]
        translated = entry.string if entry is not None else ""
        translated = translated if isinstance(translated, str) else translated[0]
        if not translated:
            missing.append(where)
            continue
        if fields(translated) != fields(source) or tags(translated) != tags(source):
            differ.append(where)
    assert not missing, f"untranslated: {missing}"
    assert not differ, f"placeholders or tags differ from the English: {differ}"


def test_every_translation_in_the_catalogue_keeps_its_placeholders(catalogue):
    for m in catalogue:
        if m.id and m.string:
            ids = [m.id] if isinstance(m.id, str) else list(m.id)
            strings = [m.string] if isinstance(m.string, str) else list(m.string)
            for s in strings:
                assert fields(s) == fields(ids[-1]), m.id
                assert tags(s) == tags(ids[-1]), m.id


def test_the_committed_mo_is_the_po_compiled():
    with open(PO, "rb") as f:
        cat = read_po(f)
    out = io.BytesIO()
    write_mo(out, cat)
    assert out.getvalue() == MO.read_bytes(), "run: pybabel compile -d bot/locale"


@pytest.mark.parametrize("tag", ["zh-hans", "zh-cn", "zh", "zh-Hans-CN", "zh_CN.UTF-8", "ZH-SG", "zh-hans-sg"])
def test_simplified_chinese_tags(tag):
    assert i18n.negotiate(tag) == i18n.CHINESE


@pytest.mark.parametrize("tag", [None, "", "en", "en-US", "de", "zh-hant", "zh-TW", "zh-HK", "ja", "C", "POSIX"])
def test_other_tags_are_english(tag):
    assert i18n.negotiate(tag) == i18n.ENGLISH


def test_the_system_locale():
    assert i18n.system_language({"LANG": "zh_CN.UTF-8"}) == i18n.CHINESE
    assert i18n.system_language({"LANGUAGE": "en_GB:zh_CN", "LANG": "zh_CN.UTF-8"}) == i18n.ENGLISH
    assert i18n.system_language({"LC_ALL": "C"}) == i18n.ENGLISH
    assert i18n.system_language({}) == i18n.ENGLISH


def test_english_is_the_identity_and_chinese_translates_before_filling():
    assert i18n.translator("en")("Pre-screen {ref}: ") == "Pre-screen {ref}: "
    zh = i18n.translator(i18n.CHINESE)
    assert zh("Pre-screen {ref}: ").format(ref="R-1") == "预筛查 R-1："
    with i18n.using(i18n.CHINESE):
        assert i18n.ngettext("none of the {n} item", "none of the {n} items", 3).format(n=i18n.number(1234)) \
            == "1,234 项均无"
    assert i18n.current() == i18n.ENGLISH


# ---- a pre-screen in Chinese reaches the outcome of the same facts in English --------------------------

# One script: each question's answer as a Chinese and as an English physician types it.
SCRIPT = {
    "age_years": ("12岁", "12"), "sex": ("女", "female"), "childbearing_potential": ("是", "yes"),
    "exclusion_checklist": ("无", "none"), "sle_eular_acr_2019": ("是", "yes"), "ln_classes": ("IV型", "IV"),
    "cns_lupus": ("否", "no"), "refractory_cytopenia": ("没有", "no"), "other_major_organ": ("否", "no"),
    "steroid_dependent": ("否", "no"), "sledai_2k": ("12分", "12"), "intolerant_to_conventional": ("否", "no"),
    "soc_months": ("8个月", "8 months"), "gc_high_dose": ("是", "yes"), "hcq": ("是", "yes"),
    "dmards": ("吗替、环磷", "MMF, cyclophosphamide"), "target_not_reached": ("否", "no"),
    "lvef_percent": ("62%", "62"), "ecg_significant_abnormality": ("否", "no"), "egfr": ("95", "95"),
    "ast_x_uln": ("1.2", "1.2"), "alt_x_uln": ("0.8", "0.8"), "bilirubin_x_uln": ("0.5", "0.5"),
    "severe_lung_disease": ("否", "no"), "spo2_percent": ("98%", "98"), "cardiac_conditions": ("无", "none"),
    "ln_chronicity_index": ("2", "2"), "hbsag": ("全部阴性", "all negative"), "agrees_contraception": ("同意", "yes"),
    "apheresis_suitable": ("不知道", "unknown"),
}


class Captured(io.StringIO):
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines()]


def _chat(tmp_path: Path, lang: str, column: int) -> list[dict]:
    out = Captured()

    def answers():
        while True:
            questions = [r for r in out.records() if r["type"] in ("question", "reprompt")]
            if any(r["type"] == "outcome" and r["final"] for r in out.records()) or not questions:
                return
            last = questions[-1]
            assert last["type"] == "question", last  # every answer of the script is read as it stands
            yield SCRIPT[last["fact"]][column]

    store = Store(open_db(tmp_path / f"{lang}.db"))
    try:
        with i18n.using(lang):
            terminal.jsonl(store, None, answers(), out, terminal.Operator("test", "host"))
    finally:
        store.close()
    return out.records()


def test_a_pre_screen_in_chinese_reaches_the_outcome_of_the_same_facts_in_english(tmp_path):
    zh, en = _chat(tmp_path, i18n.CHINESE, 0), _chat(tmp_path, i18n.ENGLISH, 1)
    outcome_zh = [r for r in zh if r["type"] == "outcome" and r["final"]][-1]
    outcome_en = [r for r in en if r["type"] == "outcome" and r["final"]][-1]
    for r in (outcome_zh, outcome_en):
        r.pop("referral_id")
    assert outcome_zh == outcome_en
    assert outcome_en["status"] == "eligible"
    # The texts are Chinese, the keys and codes the same.
    assert [r["fact"] for r in zh if r["type"] == "question"] == [r["fact"] for r in en if r["type"] == "question"]
    assert "第 1 题" in next(r for r in zh if r["type"] == "question")["text"] or \
        "周岁" in next(r for r in zh if r["type"] == "question")["text"]
    assert all("识别为" in r["text"] for r in zh if r["type"] == "accepted")


# ---- the same in Telegram, for a physician whose Telegram is in Chinese ---------------------------------

def _in(update: dict, language_code: str) -> dict:
    for kind in ("message", "callback_query"):
        if kind in update:
            update[kind]["from"]["language_code"] = language_code
    return update


async def _telegram(tmp_path: Path, language_code: str, column: int) -> tuple[dict, list]:
    from telegram_harness import PHYSICIAN, Harness, message, ref_of

    from conversations.dialogue import engine

    async with Harness(tmp_path / language_code) as h:
        calls = await h.feed(_in(message(PHYSICIAN, "/screen"), language_code))
        ref = ref_of(calls)
        for _ in range(80):
            state = h.services.store.load(ref)
            q = engine.current_question(state) if state.phase == "asking" else None
            if q is None:
                break
            calls += await h.feed(_in(message(PHYSICIAN, SCRIPT[q.fact][column]), language_code))
        calls += await h.feed(_in(message(PHYSICIAN, "/summary"), language_code))
        outcome = [e["payload"] for e in h.audit("outcome")][-1]
        return outcome, calls


async def test_a_pre_screen_in_chinese_in_telegram_reaches_the_same_outcome_and_keeps_the_limits(tmp_path):
    zh, zh_calls = await _telegram(tmp_path, "zh-hans", 0)
    en, _ = await _telegram(tmp_path, "en", 1)
    for outcome in (zh, en):
        outcome.pop("state_sha")  # of the answers as typed, which differ
    assert zh == en and zh["status"] == "eligible"
    sent = [c for c in zh_calls if c.method in ("sendMessage", "editMessageText")]
    assert any("第 1 题，最多共" in c.text for c in sent)
    assert any("符合筛选条件" in c.text for c in sent), "the outcome in Chinese"
    assert any("提交给协调员" in label for c in sent for label, _ in c.buttons())
    for c in sent:
        assert len(c.text) <= 4096
        for _, data in c.buttons():
            assert len(data.encode()) <= 64


# ---- a coordinator whose language is Chinese ------------------------------------------------------------

@pytest.fixture
def chinese_coordinator():
    from telegram_harness import COORDINATOR

    yield COORDINATOR  # who chooses Chinese with /language once the bot is up (choose_chinese)


async def choose_chinese(h, coordinator: int) -> None:
    await h.press(coordinator, "lg:zh_Hans")
    assert i18n.lang_of(coordinator) == i18n.CHINESE


def _visible(html: str) -> str:
    from bot.telegram import render

    return render.visible_len(html), render.unescape(re.sub(r"<[^>]*>", "", html))


@pytest.mark.parametrize("status", ["eligible", "incomplete", "ineligible"])
async def test_a_chinese_coordinator_receives_the_summary_in_chinese_within_the_limits(tmp_path, status,
                                                                                       chinese_coordinator):
    from telegram_harness import ELIGIBLE, PHYSICIAN, Harness, callback, ref_of, run_to_end

    cases = {"eligible": ELIGIBLE, "ineligible": {k: "unknown" for k in ELIGIBLE} | {"age_years": "4"},
             "incomplete": {**ELIGIBLE, "lvef_percent": "unknown", "hbsag": "unknown"}}
    async with Harness(tmp_path) as h:
        await choose_chinese(h, chinese_coordinator)
        calls = await h.say(PHYSICIAN, "/screen")
        ref = ref_of(calls)
        await run_to_end(h, ref, cases[status])
        await h.press(PHYSICIAN, f"s:{ref}")
        sent = [c for c in h.request.sent(chinese_coordinator) if ref in c.text]
        assert len(sent) == 1, "one summary message"
        size, text = _visible(sent[0].text)
        assert size <= 1200, (size, text)
        assert f"转诊 {ref}" in text and "结果：" in text and "审计记录最新事件" in text
        assert [label for label, _ in sent[0].buttons()] == ["✅ 接受", "❓ 需要补充信息", "✖ 拒绝", "📖 详情"]
        # Details, page by page, each a message of its own.
        pages = 1
        page = 1
        while page <= pages:
            edited = await h.feed(_in(callback(chinese_coordinator, f"v:{ref}:1:{page}",
                                               message_id=sent[0].message_id), "zh-hans"))
            shown = [c for c in edited if c.method == "editMessageText"][-1]
            assert len(shown.text) <= 4096
            assert "<b>标准</b>" in shown.text or page > 1
            found = re.search(r"第 \d+ 页，共 (\d+) 页", shown.text)
            pages = int(found.group(1)) if found else 1
            page += 1
        if status == "ineligible":
            assert "<b>不符合（" in sent[0].text, "the failing section in Chinese"
        for c in h.request.calls:
            if c.method in ("sendMessage", "editMessageText"):
                assert len(c.text) <= 4096


async def test_an_ineligible_outcomes_failing_detail_reads_in_chinese(tmp_path, chinese_coordinator):
    from telegram_harness import ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

    async with Harness(tmp_path) as h:
        await choose_chinese(h, chinese_coordinator)
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, {**ELIGIBLE, "age_years": "4"})
        await h.press(PHYSICIAN, f"s:{ref}")
        [summary] = [c for c in h.request.sent(chinese_coordinator) if ref in c.text]
        failing = next(line for line in summary.text.split("\n") if line.startswith("❌"))
        assert "years" not in failing and "周岁" in failing, failing


def test_the_criteria_details_are_templates_whose_english_is_the_text_and_whose_chinese_is_whole():
    from bot.i18n import CHINESE, using
    from bot.report import criterion_text, failure_text, reasons_text
    from criteria.evaluate import evaluate

    o = evaluate({"age_years": 4, "lvef_percent": 50, "active_infection": True, "sex": "female"})
    # The English sentences are the templates filled in English, and the JSON does not carry them.
    assert [str(d) for f in o.failures for d in f.details] == [r for f in o.failures for r in f.reasons]
    assert all(str(m.detail) == m.reason for m in o.missing)
    assert all(str(n.detail) == n.text for n in o.recheck)
    assert "\"detail\"" not in o.model_dump_json() and "\"details\"" not in o.model_dump_json()
    with using(CHINESE):
        by_id = {f.criterion: f for f in o.failures}
        assert reasons_text(by_id["I1"]) == "年龄 4 周岁 < 5 周岁"
        assert failure_text(by_id["I4a"]).endswith("：左室射血分数 50 % < 55 %")
        recheck = next(n for n in o.recheck if n.criterion == "I1")
        assert criterion_text(recheck.criterion, recheck.text, recheck.detail) == "满 5 周岁时可重新转诊"
        said = [criterion_text(m.criterion, m.reason, m.detail) for m in o.missing]
        assert all("needed" not in s for s in said), said


# ---- the catalogue follows the glossary -----------------------------------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def test_the_catalogue_follows_the_glossary(catalogue):
    """A message that is a glossary term is translated with that term's Chinese (one of them, where the
    glossary gives several: as physicians type it, and as the guidelines write it)."""
    import csv

    terms: dict[str, set[str]] = {}
    with (ROOT / "docs" / "glossary-zh.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            terms.setdefault(_norm(row["english"]), set()).add(_norm(row["chinese"]))
    checked, differ = 0, []
    for m in catalogue:
        if isinstance(m.id, str) and _norm(m.id) in terms:
            checked += 1
            if not any(zh in _norm(m.string) for zh in terms[_norm(m.id)]):
                differ.append((m.id, m.string))
    assert checked > 100
    assert not differ
