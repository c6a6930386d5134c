"""The screening report in Simplified Chinese (issue 16): `screening-bot report --lang zh` and /report from a
coordinator who chose Chinese give the page of the same numbers, rows and head as the English one, with
its sentences, statuses, decisions and diagram labels in Chinese and no English sentence left; values
stay escaped in both languages; the template's messages are extracted into the catalogue."""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from audit_fixtures import fresh_db
from report_fixtures import Page, report_run
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end
from test_cli_robustness_db import run_cli
from test_i18n import choose_chinese, extracted

from bot import i18n, report_html
from conversations.records.db import open_db
from conversations.records.report_data import Decision, ReferralRow, ReportData, report_data
from conversations.records.screening_log import screening_log

# Latin words a Chinese page keeps: abbreviations the Chinese texts use as they are (the criteria's
# titles, CAR-T, the CONSORT diagram), the time zone and Telegram's name.
ALLOWED = {"UTC", "CONSORT", "CAR", "SLEDAI", "EULAR", "ACR", "AST", "ALT", "ULN", "HBV", "DNA", "HCV", "RNA",
           "HIV", "min", "Telegram"}
REFERRAL_ID = re.compile(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture(autouse=True)
def english_after(monkeypatch, tmp_path):
    for name in ("SCREENING_DB_PATH", "SCREENING_AUDIT_KEY", "SCREENING_AUDIT_KEY_FILE", "LANGUAGE", "LC_ALL",
                 "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    i18n.set_current(i18n.ENGLISH)  # the CLI sets the language of the process it runs in


@pytest.fixture(scope="module")
def run_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report-zh")
    asyncio.run(report_run(tmp))
    return tmp / "screening.db"


class Visible(HTMLParser):
    """The page's text a reader sees (the style sheet left out) and, apart, what ``<code>`` holds (the
    head's hash, a command's option)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.code: list[str] = []
        self._in: list[str] = []
        self.attrs: list[str] = []  # data-label, aria texts: shown or read out too
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        self.attrs += [v or "" for k, v in attrs if k == "data-label"]

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data: str) -> None:
        if "style" in self._in:
            return
        (self.code if "code" in self._in else self.text).append(data)


def latin_words(html: str, data: ReportData) -> set[str]:
    """Every run of three or more Latin letters a reader sees, less what the data holds as it is (referral
    IDs, protocol versions, the coordinators' typed notes)."""
    text = " ".join(Visible(html).text + Visible(html).attrs)
    for r in data.referrals:
        for d in r.decisions:
            text = text.replace(str(d.reason.get("reason", "")) or "\0", " ")
        text = text.replace(r.protocol_version or "\0", " ")
    return set(re.findall(r"[A-Za-z]{3,}", REFERRAL_ID.sub(" ", text)))


def report(capsys, monkeypatch, db: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, monkeypatch, ["report", "--db", str(db), "--html", str(out), *extra])


def test_the_chinese_page_has_the_english_pages_numbers_and_no_english_sentence(run_db, tmp_path, capsys,
                                                                                 monkeypatch):
    zh_out, en_out = tmp_path / "zh.html", tmp_path / "en.html"
    assert report(capsys, monkeypatch, run_db, zh_out, "--lang", "zh")[0] == 0
    assert report(capsys, monkeypatch, run_db, en_out, "--lang", "en")[0] == 0
    zh, en = zh_out.read_text(encoding="utf-8"), en_out.read_text(encoding="utf-8")
    zh_page, en_page = Page(zh), Page(en)
    assert zh_page.numbers() == en_page.numbers() and zh_page.totals == en_page.totals
    assert zh_page.head == en_page.head and zh_page.rows == en_page.rows
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en

    for heading in ("筛查报告", "转诊流程", "按月统计", "转诊（", "上文提及的标准"):
        assert heading in zh, heading
    # The statuses and decisions as the bot says them elsewhere, the diagram's boxes in Chinese.
    for word in ("符合筛选条件", "不符合条件", "信息不完整", "已取消", "进行中", "接受", "拒绝", "需要补充信息",
                 "等待决定", "（已撤销）", "原因：</span> 其他", "已开始的预筛查：", "已提交给协调员：",
                 "已撤销的决定：", "年龄 5 至 18 岁"):
        assert word in zh, word
    db = open_db(run_db)
    data = report_data(db, screening_log(db))
    assert latin_words(zh, data) <= ALLOWED, latin_words(zh, data) - ALLOWED
    assert "Screening report" in en and "Declined" in en and "符合" not in en


def test_the_system_locale_chooses_the_language_when_no_lang_is_given(run_db, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert report(capsys, monkeypatch, run_db, tmp_path / "zh.html")[0] == 0
    assert '<html lang="zh-Hans">' in (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert report(capsys, monkeypatch, run_db, tmp_path / "en.html", "--lang", "en")[0] == 0
    assert '<html lang="en">' in (tmp_path / "en.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", [i18n.ENGLISH, i18n.CHINESE])
def test_values_are_escaped_in_both_languages(tmp_path, lang):
    log = screening_log(fresh_db(tmp_path))
    row = ReferralRow("R-AAAA-0001", "2026-03-30T09:00", "2026-03-30T09:10", "2026-03-30T09:11", 2, "eligible",
                      protocol_version="<b>p</b>", physician_id=5,
                      decisions=[Decision("decline", "2026-04-02T09:00", 2,
                                          {"reason_code": "<i>c</i>", "reason": "<script>x</script>"})])
    html = report_html.render(ReportData(log, [row], [], {5: {"name": "Dr <u>Ada</u>"}}), lang=lang)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    for value in ("<b>p</b>", "<i>c</i>", "<u>Ada</u>"):
        assert value not in html and value.replace("<", "&lt;").replace(">", "&gt;") in html, value


def test_the_diagrams_chinese_labels_are_wrapped_to_their_boxes(run_db):
    db = open_db(run_db)
    data = report_data(db, screening_log(db))
    with i18n.using(i18n.CHINESE):
        boxes = report_html.diagram(data).boxes
    for box in boxes:
        for line in box.lines:
            reserve = (len(str(line.count)) + 3) * report_html.CHAR if line.count is not None and line.text else 0
            width = sum(report_html._advance(ch) for ch in line.text)
            hanging = report_html.FONT if line.text[-1:] in report_html._CLOSING else 0  # a mark kept on its line
            assert width <= box.w - 2 * report_html.PAD - reserve + hanging, (line.text, box.w)
            assert not line.text.startswith(tuple(report_html._CLOSING)), line.text
    assert any(line.text.endswith("：") for box in boxes for line in box.lines)


def test_the_templates_messages_are_in_the_catalogue(monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # the extractor names modules from here
    mine = {m if isinstance(m, str) else m[0] for m, where in extracted() if where.startswith("bot/templates/")}
    assert "Screening report" in mine and "Referrals (%(rows)s)" in mine
    assert "%(count)s pre-screen started, %(completed)s completed, %(sent)s sent to coordinators." in mine
    zh = i18n.catalogue(i18n.CHINESE)
    assert all(zh.gettext(m) != m for m in mine)


# ---- /report in Telegram, in the coordinator's language ---------------------------------------------

async def test_a_chinese_coordinator_receives_the_report_in_chinese(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{ref}")
        english = [c for c in await h.say(COORDINATOR, "/report") if c.method == "sendDocument"]
        await choose_chinese(h, COORDINATOR)
        docs = [c for c in await h.say(COORDINATOR, "/report") if c.method == "sendDocument"]
        assert len(docs) == 1 and docs[0].chat_id == COORDINATOR
        html = next(iter(docs[0].files.values())).decode("utf-8")
        page = Page(html)
        assert '<html lang="zh-Hans">' in html and "<h1>筛查报告</h1>" in html and "符合筛选条件" in html
        assert page.rows == {ref: "eligible"}
        before = Page(next(iter(english[0].files.values())).decode("utf-8")).numbers()
        assert {**page.numbers(), "head_seq": 0} == {**before, "head_seq": 0}, "the trail grew by the first one"
        assert docs[0].params["caption"].startswith("筛查报告：已开始 1 份")
        names = [e["payload"]["text"].split("]")[0] for e in h.audit("message_sent")
                 if e["payload"]["text"].startswith("[document ")]
        assert names[0].startswith("[document screening-report-") and names[1].startswith("[document 筛查报告-")
        exported = [c for c in await h.say(COORDINATOR, "/export") if c.method == "sendDocument"]
        assert exported[0].params["caption"].startswith("审计导出：")
