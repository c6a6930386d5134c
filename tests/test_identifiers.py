"""Patient identifiers typed by mistake (conversations/identifiers.py): refused before any reader sees
them, and never recorded, while every answer the bot asks for still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conversation_script import EVERY_QUESTION, states_by_question
from hypothesis import given, settings
from hypothesis import strategies as st
from said import said
from telegram_harness import COORDINATOR, PHYSICIAN, Failure, Harness, message, ref_of

from conversations.dialogue import engine, identifiers, questions
from conversations.dialogue.identifiers import identifier_kind
from conversations.records.audit_export import transcript_line


@pytest.mark.parametrize(("text", "kind"), [
    ("12.03.2014", "a date"), ("born 12/3/14", "a date"), ("2014-03-12", "a date"), ("DOB 1.2.2015", "a date"),
    ("12 March 2014", "a date"), ("March 12, 2014", "a date"), ("12-mar-14", "a date"), ("3rd Jan 2015", "a date"),
    ("jane.doe@example.org", "an e-mail address"), ("MRN 1234567", "a record or phone number"),
    ("123456", "a record or phone number"), ("+49 170 1234567", "a record or phone number"),
    ("0170 1234567", "a record or phone number"), ("12, patient 00123456", "a record or phone number"),
])
def test_what_looks_like_an_identifier(text, kind):
    assert identifier_kind(text) == kind


@pytest.mark.parametrize("text", [
    "12", "12.5", "12,5", "0.6 mg/dL", "106 umol/L", "1,2 mg/dl", "3/12", "1.5.5", "1.2.3", "IV/V", "1, 2, 3, 10, 12",
    "95 mL/min/1.73 m²", "0.1234567", "12 y/o", "5 mar", "12 may", "yes", "unknown", "?1, 2", "1000", "99999",
])
def test_what_does_not(text):
    assert identifier_kind(text) is None


def test_every_answer_of_the_catalogue_reads():
    """No valid answer looks like an identifier: the examples, each choice by value, label and number."""
    for q in questions.QUESTIONS:
        samples = [q.example, *(c.value for c in q.choices), *(c.label for c in q.choices),
                   *(str(i) for i in range(1, len(q.choices) + 1))]
        for text in samples:
            assert identifier_kind(text) is None, (q.id, text)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(value=st.floats(0, 9999, allow_nan=False).map(lambda x: round(x, 3)), comma=st.booleans())
def test_no_number_the_bot_asks_for_looks_like_one(value, comma):
    # The largest number any question takes: creatinine up to 1768 umol/L; decimals up to three places.
    text = f"{value:g}"
    assert identifier_kind(text.replace(".", ",") if comma else text) is None


# Issue 13: each form names its kind. The first fourteen slipped through before.
DATE, EMAIL, NUMBER = "a date", "an e-mail address", "a record or phone number"
MORE_FORMS = [
    ("2012年3月4日", DATE), ("平成24年3月4日", DATE), ("04 03 2012", DATE), ("4. März 2012", DATE),
    ("4 de marzo de 2012", DATE), ("03/2012", DATE), ("２０１２／３／４", DATE), ("138 1234 5678", NUMBER),
    ("(555) 123-4567", NUMBER), ("555.123.4567", NUMBER), ("123-45-6789", NUMBER), ("ZY2012-0345", NUMBER),
    ("MRN A12B34C56", NUMBER), ("jane＠example.org", EMAIL),
    # more dates: era years, Chinese numerals, Korean, other languages, month and year alone, year first
    ("令和元年5月1日", DATE), ("二〇一二年三月四日", DATE), ("出生于2012年3月", DATE), ("H24.3.4", DATE),
    ("2012년 3월 4일", DATE), ("le 1er mars 2012", DATE), ("März 2012", DATE), ("marzo de 2012", DATE),
    ("11 Okt. 2012", DATE), ("4th of July 2012", DATE), ("Mar 3rd, 2015", DATE), ("2012/03", DATE),
    ("03.2012", DATE), ("2012 03 04", DATE), ("4. 3. 2012", DATE), ("12 de março de 2012", DATE),
    # more phone numbers
    ("06 12 34 56 78", NUMBER), ("+33 6 12 34 56 78", NUMBER), ("+44 (0)20 7946 0958", NUMBER),
    ("(030) 1234 5678", NUMBER), ("555-123-4567", NUMBER), ("943 476 5919", NUMBER),
    # more record and ID numbers
    ("MRN: 12-345-678", NUMBER), ("Pat.-Nr. 4711", NUMBER), ("病历号 1234", NUMBER), ("AB-123-456", NUMBER),
    # more e-mail addresses
    ("jane (at) example.org", EMAIL), ("张三@example.cn", EMAIL),
]


def test_forty_two_more_forms():
    assert len(MORE_FORMS) == len({text for text, _ in MORE_FORMS}) == 42


@pytest.mark.parametrize(("text", "kind"), MORE_FORMS)
def test_more_forms_of_identifiers(text, kind):
    assert identifier_kind(text) == kind
    assert identifiers.for_the_record(f"patient {text} thanks") == f"[withheld: looked like {kind}]"


def _typed_answers_of_the_sample() -> list[str]:
    table = (Path(__file__).parent / "data" / "answers-sample.md").read_text(encoding="utf-8")
    typed = [row.split("|")[2].strip().strip("`") for row in table.splitlines()
             if row.startswith("| ") and not row.startswith(("| question key", "|---"))]
    assert len(typed) == 40
    return typed


@pytest.mark.parametrize("text", [*_typed_answers_of_the_sample(),
    "< 20 IU/mL", "1:80", "1:2560", "12", "1.2 mg/dL", "106 umol/L", "2.5x", "35 U/L, ULN 40", "IV, V",
    "class III/IV", "0.5 mg/kg/day", "60 mg/day", "1,000", "SLEDAI 12", "2 years", "18 mo", "MMF, AZA",
    "proteinuria 2g/d", "8 weeks", "1.5 yrs", "C3 0.6 g/L", "MMF 1000-1500 mg", "MMF 1000-1500mg",
    "anti-dsDNA + 120 (0-100)", "2x1000mg", "CYP2C19", "HLA-DRB1*15:01", "ISN/RPS 2003 class IV", "EULAR/ACR 2019",
    "2012", "born 2012", "2012年", "3/12-4/12", "1 2 3 10 12", "100 200 300", "MRI 2012", "3 may 2 weeks",
    "WBC 3.2 x10^9/L", "cyclophosphamide 500 mg/m2 x 6", "NT-proBNP 1200 pg/mL", "C3 0.45 g/L (0.9-1.8)",
    "60 - 40 - 20 mg", "2 months (since 2023)", "1 - 2 - 3", "0.5-1 mg/kg", "2999.999", "１２ mg",
])
def test_no_answer_the_bot_asks_for_is_caught(text):
    assert identifier_kind(text) is None


_UNITS = ["", "mg", "mg/day", "mg/d", "months", "mo", "kg", "cm", "%", "x ULN", "xULN", "× ULN", "umol/L",
          "µmol/L", "mg/dL", "g/L", "U/L", "IU/mL", "mL/min/1.73 m²", "years", "weeks", "mg/kg/day"]


@st.composite
def _numbers_with_units(draw) -> str:
    whole = draw(st.integers(0, 3000))
    places = draw(st.integers(0, 3))
    fraction = draw(st.integers(0, 10 ** places - 1))
    number = str(whole) if places == 0 else f"{whole}{draw(st.sampled_from('.,'))}{fraction:0{places}d}"
    unit = draw(st.sampled_from(_UNITS))
    return f"{number}{draw(st.sampled_from(['', ' ']))}{unit}".strip()


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(text=_numbers_with_units())
def test_no_number_with_its_unit_looks_like_one(text):
    assert identifier_kind(text) is None


@pytest.fixture(scope="module")
def states():
    return states_by_question(EVERY_QUESTION)


@pytest.mark.parametrize("question", ["age_years", "sex", "dmards", "creatinine", "exclusion_checklist"])
def test_the_engine_refuses_it_without_reading_or_quoting_it(states, question):
    state = states[question]
    result = engine.step(state, engine.Answer("born 12.03.2014"))
    assert result.state == state
    [reprompt] = result.outputs
    assert isinstance(reprompt, engine.Reprompt)
    assert said(reprompt) == said(identifiers.warning("a date")) and "2014" not in said(reprompt)
    assert [(e.type, e.payload) for e in result.events] == [
        ("answer_rejected", {"question": question, "error": reprompt.error.code, "params": reprompt.error.params})]


async def test_telegram_records_it_as_withheld(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        update = message(PHYSICIAN, "Jane, MRN 00123456, born 12.03.2014")
        calls = await h.feed(update)
        assert "That looks like a date" in calls[0].text and "00123456" not in calls[0].text
        # Deleted from the chat too.
        [deleted] = [c for c in calls if c.method == "deleteMessage"]
        assert (deleted.chat_id, int(deleted.params["message_id"])) == (PHYSICIAN, update["message"]["message_id"])
        transcript = [transcript_line(r) for r in h.db.conn.execute(
            "SELECT seq, ts, actor_role, actor_id, referral_id, type, payload FROM audit_events ORDER BY seq")]
        assert any(line.endswith(f"system 0: deleted message {update['message']['message_id']} in chat {PHYSICIAN}"
                                 " (possible patient identifier)") for line in transcript), transcript
        assert any("wrote: [withheld: looked like a date]" in line for line in transcript)
        [event] = h.audit("message_deleted")
        assert event["actor_role"] == "system" and event["referral_id"] == ref
        assert event["payload"] == {"chat_id": PHYSICIAN, "message_id": update["message"]["message_id"],
                                    "reason": "possible patient identifier"}
        assert [c.method for c in calls] == ["sendMessage", "deleteMessage"]
        [received] = [e for e in h.audit("update_received") if e["payload"]["kind"] == "text"]
        assert received["payload"]["text"] == "[withheld: looked like a date]"
        everything = json.dumps([r for r in h.db.conn.execute("SELECT * FROM audit_events")])
        everything += json.dumps([r for r in h.db.conn.execute("SELECT * FROM telegram_outbox")])
        everything += json.dumps([r for r in h.db.conn.execute("SELECT * FROM telegram_updates")])
        everything += h.services.store.load(ref).to_json()
        assert "00123456" not in everything and "12.03.2014" not in everything
        # The question is asked again and a real answer goes through, its message kept.
        calls = await h.say(PHYSICIAN, "12")
        assert h.services.store.load(ref).history[-1].value == 12
        assert not [c for c in calls if c.method == "deleteMessage"]


async def test_a_refused_deletion_changes_nothing_else(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        h.request.fail("deleteMessage", Failure(400, "Bad Request: message can't be deleted"))
        calls = await h.say(PHYSICIAN, "jane.doe@example.org")
        assert "That looks like an e-mail address" in calls[0].text
        assert h.services.store.load(ref).history == [] and h.audit("message_deleted") == []
        assert h.services.outbox.pending() == []
        assert h.services.outbox.status(f"u{h.audit('update_received')[-1]['payload']['update_id']}.del") == "failed"


async def test_a_deletion_that_fails_for_now_is_retried(tmp_path):
    clock = [1000.0]
    async with Harness(tmp_path) as h:
        h.services.sender.clock = lambda: clock[0]
        ref_of(await h.say(PHYSICIAN, "/screen"))
        h.request.fail("deleteMessage", Failure(502, "Bad Gateway"))
        calls = await h.say(PHYSICIAN, "MRN 00123456")
        assert [c.method for c in calls] == ["sendMessage", "deleteMessage"], "the warning is not held up"
        assert "That looks like a record or phone number" in calls[0].text and h.audit("message_deleted") == []
        clock[0] += 60
        assert await h.deliver() == 0
        assert h.request.calls[-1].method == "deleteMessage" and len(h.audit("message_deleted")) == 1


async def test_a_message_already_gone_counts_as_deleted(tmp_path):
    async with Harness(tmp_path) as h:
        ref_of(await h.say(PHYSICIAN, "/screen"))
        h.request.fail("deleteMessage", Failure(400, "Bad Request: message to delete not found"))
        await h.say(PHYSICIAN, "12/03/2014")
        assert h.services.outbox.pending() == [] and len(h.audit("message_deleted")) == 1


async def test_a_revoked_user_id_is_recorded_but_a_date_in_a_command_is_not(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(COORDINATOR, "/revoke 1234567890")  # a Telegram user ID: the record must name it
        await h.say(PHYSICIAN, "/status 12.03.2014")
        texts = [e["payload"]["text"] for e in h.audit("update_received")]
        assert texts == ["/revoke 1234567890", "[withheld: looked like a date]"]


def test_a_referral_id_is_never_taken_for_an_identifier():
    """The study's key has letters and digits; one in fourteen holds five digits, the shape of a record number."""
    from conversations.records.store import new_referral_id

    ids = [new_referral_id() for _ in range(5000)]
    assert sum(sum(c.isdigit() for c in rid) >= 5 for rid in ids) > 100, "the shape that was misread is there"
    for rid in ids:
        for text in (rid, rid.lower(), f"/status {rid.lower()}", f"{rid} please"):
            assert identifier_kind(text) is None, text
    assert identifier_kind("R-94Q9-3JW1 MRN 4711") is not None, "an identifier beside it is still found"


# Issue 16: the Chinese forms. Mainland mobile numbers with or without spaces or dashes, the resident ID
# (18 characters, or the old 15 digits) however it is grouped, and dates with a two-digit year.
CHINESE_FORMS = [
    ("138 1234 5678", NUMBER), ("138-1234-5678", NUMBER), ("13812345678", NUMBER), ("+86 138 1234 5678", NUMBER),
    ("１３８１２３４５６７８", NUMBER), ("手机 159 0000 1111", NUMBER), ("11010519491231002X", NUMBER),
    ("11010519491231002x", NUMBER), ("110105 19491231 002X", NUMBER), ("1101 0519 4912 3100 2X", NUMBER),
    ("110105-19491231-0021", NUMBER), ("110105491231002", NUMBER), ("110105 491231 002", NUMBER),
    ("身份证 110105 19491231 002X", NUMBER), ("2012年3月4日", DATE), ("2012年3月4号", DATE), ("12年3月4日", DATE),
    ("２０１２年３月４日", DATE), ("出生日期：2012年3月", DATE),
]


@pytest.mark.parametrize(("text", "kind"), CHINESE_FORMS)
def test_chinese_identifiers_are_refused(text, kind):
    assert identifier_kind(text) == kind


# Chinese answers the questions take (tests/test_answers_zh.py reads each): none is an identifier.
CHINESE_ANSWERS = [
    "12岁", "12 岁", "十二岁", "１２岁", "12岁10个月",
    "1.5年", "18个月", "3个月2周", "体重35公斤", "147厘米",
    "1.47米", "2.5毫克/公斤/天", "0.6毫克/公斤/天", "15mg，每日4次", "750毫克",
    "40毫克/天", "肌酐 50 微摩尔/升", "0.7毫克/分升", "52（上限34）", "52 U/L，正常上限40",
    "1.5倍", "活动指数6，慢性指数1", "IV型+V型", "Ⅳ型", "3、6",
    "SLEDAI-2K评分11分", "蛋白尿1g/天，低C4，脱发；dsDNA未复查", "94%，鼻导管吸氧1L",
    "血氧饱和度98%", "左室射血分数 65%",
    "ANA强阳性，1:2560", "乙肝表面抗体 120 mIU/mL", "10天前接种水痘疫苗", "3月4日开始", "MMF、HCQ、贝利尤单抗",
    "12, 13, 14",
]


@pytest.mark.parametrize("text", CHINESE_ANSWERS)
def test_chinese_answers_are_no_identifiers(text):
    assert identifier_kind(text) is None
