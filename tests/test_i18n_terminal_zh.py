"""Issue 16: a whole pre-screen in the Chinese terminal, each question first answered wrongly in a dozen
ways a Chinese physician might type (vague words, out-of-range and negative numbers, lists, an
identifier), then rightly, then reviewed: every question, reprompt, echo, review and outcome line is
Chinese (the terminal's command words aside), and a reprompt quotes the answer as it was typed, never the
half-English form the Chinese reader rewrote it into."""

from __future__ import annotations

import re
from pathlib import Path

from test_i18n import SCRIPT, Captured

from bot import i18n, terminal
from conversations.records.db import open_db
from conversations.records.store import Store

WORD = re.compile(r"[A-Za-z]*[a-z]{3,}[A-Za-z]*")
# The terminal's commands, typed as they are in either language; "Schwartz" is a name; mL/min a unit.
KEPT = {"back", "skip", "status", "summary", "change", "reopen", "cancel", "help", "amend", "quit", "pause",
        "Schwartz", "min"}
WRONG = ["可能吧", "-5", "99999", "12、13", "是不是", "大概三四", "？？", "1/2/3", "阳性？", "13812345678",
         "2012年3月4日"]


def _session(tmp_path: Path) -> list[dict]:
    out = Captured()

    def answers():
        tried: dict[str, int] = {}
        while True:
            records = out.records()
            if any(r["type"] == "outcome" and r.get("final") for r in records):
                yield from ["review", "summary", "help", "status"]
                return
            fact = [r for r in records if r["type"] == "question"][-1]["fact"]
            n = tried[fact] = tried.get(fact, -1) + 1
            yield WRONG[n] if n < len(WRONG) else SCRIPT[fact][0]

    store = Store(open_db(tmp_path / "zh.db"))
    try:
        with i18n.using(i18n.CHINESE):
            terminal.jsonl(store, None, answers(), out, terminal.Operator("test", "host"))
    finally:
        store.close()
    return out.records()


def test_a_chinese_session_with_wrong_answers_reads_in_chinese_throughout(tmp_path):
    records = _session(tmp_path)
    reprompts = [r for r in records if r["type"] == "reprompt"]
    assert len(reprompts) > 150, "every question was answered wrongly first"
    assert any(r["type"] == "outcome" and r.get("final") for r in records)
    english = set()
    for r in records:
        text = f"{r.get('text') or ''}\n{r.get('error') or ''}".replace(r.get("referral_id") or "\0", "")
        english |= {w for w in WORD.findall(text) if w not in KEPT}
    assert not english
    errors = [r["error"] for r in reprompts]
    assert any("“可能吧”" in e for e in errors), "quoted as typed"
    assert not any("possibly" in e for e in errors)
    assert any("日期" in e for e in errors) and any("电话号码" in e for e in errors)
    assert not any("13812345678" in e or "2012年3月4日" in e for e in errors), "an identifier is never quoted"
    assert any("年龄 应在 0 至 120 周岁" in e for e in errors), "a range with the fact's Chinese name and unit"
