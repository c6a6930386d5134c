"""A coordinator who chose Chinese reads their own texts in Chinese (#16): /help, the empty /referrals, a
summary that can no longer be shown, and the daily audit anchor, while an English coordinator's anchor of
the same head stays English."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from telegram_harness import COORDINATOR, Harness

from bot import i18n
from bot.telegram import anchoring, coordinator, render

CJK = re.compile(r"[\u4e00-\u9fff]")
SECOND = COORDINATOR + 1
DAY = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def texts(calls) -> list[str]:
    return [c.text for c in calls if c.method in ("sendMessage", "editMessageText")]


async def test_a_chinese_coordinators_help_referrals_and_daily_anchor_are_chinese(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "_seen", dict(i18n._seen))  # the languages this test's updates leave behind
    async with Harness(tmp_path, coordinators=(COORDINATOR, SECOND), clock=lambda: DAY) as h:
        await h.press(COORDINATOR, "lg:zh_Hans")
        assert i18n.lang_of(COORDINATOR) == i18n.CHINESE

        (help_text,) = texts(await h.say(COORDINATOR, "/help"))
        assert help_text == i18n.translator(i18n.CHINESE)(coordinator.HELP) != coordinator.HELP
        assert CJK.search(help_text) and "/referrals" in help_text

        (empty,) = texts(await h.say(COORDINATOR, "/referrals"))
        assert empty == "没有未决转诊。"
        (usage,) = texts(await h.say(COORDINATOR, "/revoke x"))
        assert CJK.search(usage) and "/revoke" in usage
        assert texts(await h.say(SECOND, "/referrals")) == [coordinator.NO_REFERRALS]

        made = anchoring.anchor_due(h.services, now=DAY)
        assert made is not None
        await h.deliver()
        (zh,) = [c.text for c in h.request.sent(COORDINATOR) if made.head in c.text]
        (en,) = [c.text for c in h.request.sent(SECOND) if made.head in c.text]
        assert CJK.search(zh) and f"第 {made.seq} 号" in zh
        assert en == render.anchor_text("daily", "2026-12-02", made.seq, made.head) and not CJK.search(en)
        langs = dict(h.db.conn.execute("SELECT chat_id, lang FROM telegram_outbox WHERE key LIKE 'anchor:%'"))
        assert langs == {COORDINATOR: i18n.CHINESE, SECOND: i18n.ENGLISH}


def test_the_key_facts_are_in_the_current_language():
    from bot.report import key_facts
    from criteria import Facts

    facts = Facts(age_years=12, sex="female", sledai_2k=8, ln_classes=["IV"], egfr=80, soc_months=7)
    with i18n.using(i18n.CHINESE):
        zh = key_facts(facts)
    en = key_facts(facts)
    assert en["patient"] == "age 12 years, sex female" and en["labs"] == "abnormal labs: none reported"
    assert zh["patient"] == "年龄 12 岁，性别 女" and zh["labs"] == "异常检验：未报告"
    assert all(CJK.search(v) for v in zh.values()), zh
