"""The screening report (issue 15): `screening-bot report --html OUT` and the coordinators' /report.

Its numbers are `screening-bot log --json`'s for the same database (a realistic Telegram run); it holds
no patient identifier and no answer, no physician's details unless asked for; a broken trail gives no
report; the file is owner-only and never written over another."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from audit_fixtures import Clock, Conversation, fresh_db, record
from report_fixtures import SECOND, TYPED, Page, flatten, report_run
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, STRANGER, Failure, Harness, ref_of, run_to_end
from test_cli_robustness_db import one_line, run_cli

from bot import report_html
from conversations.records.db import open_db
from conversations.records.report_data import report_data
from conversations.records.screening_log import screening_log

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_settings(monkeypatch, tmp_path):
    for name in ("SCREENING_DB_PATH", "SCREENING_AUDIT_KEY", "SCREENING_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def run_db(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("report")
    refs = asyncio.run(report_run(tmp))
    return tmp / "screening.db", refs


@pytest.fixture
def copy(run_db, tmp_path) -> Path:
    """The run's database and its key, copied where a test may change them."""
    src, _ = run_db
    shutil.copy(src, tmp_path / "screening.db")
    shutil.copy(src.parent / "screening.db.audit-key", tmp_path / "screening.db.audit-key")
    return tmp_path / "screening.db"


def report(capsys, monkeypatch, db: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, monkeypatch, ["report", "--db", str(db), "--html", str(out), *extra])


def log(capsys, monkeypatch, db: Path) -> dict:
    code, out, err = run_cli(capsys, monkeypatch, ["log", "--db", str(db), "--json"])
    assert (code, err) == (0, ""), err
    return json.loads(out)


# ---- the numbers ------------------------------------------------------------------------------------

def test_the_numbers_on_the_page_are_those_of_log_json(copy, tmp_path, capsys, monkeypatch):
    out = tmp_path / "report.html"
    code, said, err = report(capsys, monkeypatch, copy, out)
    assert (code, err) == (0, "") and str(out) in said
    numbers = log(capsys, monkeypatch, copy)
    page = Page(out.read_text(encoding="utf-8"))
    assert page.numbers() == flatten(numbers), "every number of log --json, each once, and no other"
    assert page.head == numbers["head"]
    # The run reaches every box: something in each of them, so equal numbers are not equal zeros.
    assert numbers["by_outcome"] == {"eligible": 3, "ineligible": 1, "incomplete": 1}
    assert (numbers["started"], numbers["cancelled"], numbers["in_progress"], numbers["sent"]) == (7, 1, 1, 5)
    assert numbers["ineligible_now"] == 1 and "I1" in numbers["by_failing_criterion"]
    assert numbers["by_decision"]["accept"] == 3 and numbers["by_decision"]["awaiting"] == 3, "an undone one too"
    # The months add up to the same numbers.
    for key in ("started", "cancelled", "completed", "sent"):
        assert int(page.totals[key]) == numbers[key], key
    assert int(page.totals["decisions"]) == 5, "every decision: need_info, accept, accept (undone), decline, accept"
    assert numbers["undone"] == 1


def test_every_referral_has_its_row_and_outcome(run_db, tmp_path, capsys, monkeypatch):
    db, refs = run_db
    out = tmp_path / "report.html"
    assert report(capsys, monkeypatch, db, out)[0] == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert page.rows == {
        refs["waiting"]: "eligible", refs["ineligible"]: "ineligible", refs["incomplete"]: "incomplete",
        refs["in_progress"]: "in_progress", refs["accepted"]: "eligible", refs["declined"]: "eligible",
        refs["cancelled"]: "cancelled"}
    data = report_data(open_db(db), screening_log(open_db(db)))
    row = {r.referral_id: r for r in data.referrals}
    assert row[refs["ineligible"]].failed == ["I1"] and row[refs["ineligible"]].ineligible_now
    assert row[refs["incomplete"]].missing and not row[refs["incomplete"]].failed, "LVEF unknown"
    assert [d.decision for d in row[refs["accepted"]].decisions] == ["need_info", "accept"]
    assert [(d.decision, d.send_no, d.undone) for d in row[refs["declined"]].decisions] == [
        ("accept", 1, True), ("decline", 1, False), ("accept", 2, False)]
    assert row[refs["declined"]].decisions[1].reason == {"reason_code": "other", "reason": "not a candidate now"}
    assert row[refs["declined"]].sends == 2 and row[refs["waiting"]].decisions == []
    assert all(r.physician_id is None for r in data.referrals), "nobody's ID unless contacts are asked for"


# ---- what the page holds, and what it does not ---------------------------------------------------------

def test_no_identifier_no_answer_no_contact_and_nothing_fetched(run_db, tmp_path, capsys, monkeypatch):
    db, _ = run_db
    out = tmp_path / "report.html"
    assert report(capsys, monkeypatch, db, out)[0] == 0
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    text = " ".join(page.text)
    for typed in TYPED:
        assert typed not in text, typed
    for uid in (PHYSICIAN, SECOND, STRANGER, COORDINATOR):
        assert str(uid) not in html, uid
    assert page.links == [] and page.scripts == 0, "self-contained: no link out, nothing fetched, no script"
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "<svg" in html and "<style>" in html


def test_contacts_only_when_asked_for(copy, tmp_path, capsys, monkeypatch):
    conn = sqlite3.connect(copy)  # a directory entry, as the physicians' registration keeps them
    columns = {row[1] for row in conn.execute("PRAGMA table_info(physicians)")}
    if "name" not in columns:
        conn.execute("ALTER TABLE physicians ADD COLUMN name TEXT")
    conn.execute("INSERT OR IGNORE INTO physicians (user_id, via, registered_at) VALUES (?, 'list', '2026')",
                 (PHYSICIAN,))
    conn.execute("UPDATE physicians SET name = 'Dr <b>Ada</b> Example' WHERE user_id = ?", (PHYSICIAN,))
    conn.commit()
    conn.close()
    without, with_ = tmp_path / "plain.html", tmp_path / "contacts.html"
    assert report(capsys, monkeypatch, copy, without)[0] == 0
    assert report(capsys, monkeypatch, copy, with_, "--contacts")[0] == 0
    plain, contacts = without.read_text(encoding="utf-8"), with_.read_text(encoding="utf-8")
    assert "Ada" not in plain and "tg://" not in plain and "Referred by" not in plain
    assert f"tg://user?id={PHYSICIAN}" in contacts and f"tg://user?id={SECOND}" in contacts
    assert "Dr &lt;b&gt;Ada&lt;/b&gt; Example" in contacts, "autoescaped"
    assert Page(plain).numbers() == Page(contacts).numbers()


def test_reasons_and_months_from_the_trail_escaped(tmp_path):
    db = fresh_db(tmp_path)
    march, april = Clock(datetime(2026, 3, 30, 9)), Clock(datetime(2026, 4, 2, 9))
    c = Conversation(db, march, "R-AAAA-0001", 101)
    c.start()
    c.answer("age", {"age_years": 4}, raw="4")
    c.outcome(final=True)
    c.send([201], "ineligible")
    record(db, april, "coordinator", 201, "coordinator_decision",
           {"decision": "decline", "send_no": 1, "reason_code": "not_eligible", "reason": "<script>x</script>"},
           "R-AAAA-0001")
    data = report_data(db, screening_log(db))
    assert [(m.month, m.started, m.completed, m.sent, m.decisions) for m in data.months] == [
        ("2026-03", 1, 1, 1, 0), ("2026-04", 0, 0, 0, 1)]
    html = report_html.render(data)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "not eligible" in html and "Declined" in html


def test_an_empty_trail_gives_a_report_of_zeros(tmp_path, capsys, monkeypatch):
    fresh_db(tmp_path).conn.close()
    out = tmp_path / "report.html"
    assert report(capsys, monkeypatch, tmp_path / "screening.db", out)[0] == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert set(page.numbers().values()) == {0} and "No referral yet." in " ".join(page.text)


# ---- refusals and the file -----------------------------------------------------------------------------

def test_a_broken_trail_gives_no_report(copy, tmp_path, capsys, monkeypatch):
    conn = sqlite3.connect(copy)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit_events SET payload = '{\"decision\": \"accept\"}' WHERE seq = 5")
    conn.commit()
    conn.close()
    out = tmp_path / "report.html"
    code, said, err = report(capsys, monkeypatch, copy, out)
    assert (code, said) == (2, "")
    assert "broken at event 5" in one_line(err, "screening-bot report") and "audit verify" in err
    assert not out.exists() and not list(tmp_path.glob(".report.html.*")), "nothing written"


def test_the_key_is_used_as_log_uses_it(copy, tmp_path, capsys, monkeypatch):
    """The key found where `log` finds it, and the same verdict: here another key (its MACs unchecked, the
    trail sound as far as it can be checked) gives numbers in both; a key file that is not private, none."""
    from conversations.records import audit_key
    (tmp_path / "screening.db.audit-key").unlink()
    audit_key.generate(tmp_path / "screening.db.audit-key")
    assert report(capsys, monkeypatch, copy, tmp_path / "r1.html")[0] == 0
    assert Page((tmp_path / "r1.html").read_text(encoding="utf-8")).numbers() == flatten(
        log(capsys, monkeypatch, copy))
    os.chmod(tmp_path / "screening.db.audit-key", 0o644)
    code, said, err = report(capsys, monkeypatch, copy, tmp_path / "r2.html")
    log_code, _, log_err = run_cli(capsys, monkeypatch, ["log", "--db", str(copy), "--json"])
    assert (code, said, log_code) == (2, "", 2) and not (tmp_path / "r2.html").exists()
    assert one_line(err, "screening-bot report").split(": ", 1)[1] == log_err.split(": ", 1)[1]


def test_never_over_an_existing_file_and_owner_only(copy, tmp_path, capsys, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("someone's file")
    code, _, err = report(capsys, monkeypatch, copy, out)
    assert code == 2 and "already exists" in one_line(err, "screening-bot report")
    assert out.read_text() == "someone's file"
    fresh = tmp_path / "fresh.html"
    assert report(capsys, monkeypatch, copy, fresh)[0] == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_file_made_meanwhile_is_not_replaced(copy, tmp_path, monkeypatch):
    """Another file appearing at OUT while the page is rendered: it stays, the report is refused."""
    out = tmp_path / "report.html"
    real = report_html.render

    def render_then_race(*args, **kw):
        out.write_text("made meanwhile")
        return real(*args, **kw)

    monkeypatch.setattr(report_html, "render", render_then_race)
    from bot import cli
    assert cli.main(["report", "--db", str(copy), "--html", str(out)]) == 2
    assert out.read_text() == "made meanwhile" and not list(tmp_path.glob(".report.html.*"))


def test_no_database_is_refused_and_none_created(tmp_path, capsys, monkeypatch):
    code, _, err = report(capsys, monkeypatch, tmp_path / "none.db", tmp_path / "r.html")
    assert code == 2 and "no database" in one_line(err, "screening-bot report")
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "r.html").exists()


def test_the_template_ships_with_the_package():
    template = resources.files("bot") / "templates" / "report.html.j2"
    assert template.is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "templates/*.j2" in config["tool"]["setuptools"]["package-data"]["bot"]
    assert any(d.startswith("jinja2") for d in config["project"]["dependencies"])


# ---- /report in Telegram ----------------------------------------------------------------------------

async def test_coordinator_receives_the_report_as_a_document(tmp_path):
    async with Harness(tmp_path) as h:
        ref = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, ref, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{ref}")
        calls = await h.say(COORDINATOR, "/report")
        docs = [c for c in calls if c.method == "sendDocument"]
        assert len(docs) == 1 and docs[0].chat_id == COORDINATOR
        body = next(iter(docs[0].files.values()))
        page = Page(body.decode("utf-8"))
        numbers = screening_log(h.db)
        assert page.numbers()["started"] == 1 and page.numbers()["sent"] == 1
        assert page.rows == {ref: "eligible"} and str(PHYSICIAN) not in body.decode("utf-8")
        assert "1 started" in docs[0].params["caption"] and numbers.sent == 1
        with_contacts = [c for c in await h.say(COORDINATOR, "/report contacts") if c.method == "sendDocument"]
        assert f"tg://user?id={PHYSICIAN}".encode() in next(iter(with_contacts[0].files.values()))
        sent = [e for e in h.audit("message_sent") if e["payload"]["text"].startswith("[document screening-report-")]
        assert len(sent) == 2


async def test_report_is_for_coordinators_only(tmp_path):
    async with Harness(tmp_path) as h:
        for uid in (PHYSICIAN, STRANGER):
            calls = await h.say(uid, "/report")
            assert not [c for c in calls if c.method == "sendDocument"]


async def test_a_broken_trail_gives_the_coordinator_no_report(tmp_path):
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        for (name,) in h.db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            h.db.conn.execute(f"DROP TRIGGER {name}")
        h.db.conn.execute("UPDATE audit_events SET payload = '{}' WHERE seq = 1")
        h.db.conn.commit()
        calls = await h.say(COORDINATOR, "/report")
        assert "sendDocument" not in [c.method for c in h.request.calls]
        assert "does not verify (broken at event 1)" in "\n".join(c.text for c in calls)


async def test_a_failed_send_is_said(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.telegram.outbox.backoff", lambda attempt, cap: 0)
    async with Harness(tmp_path) as h:
        h.request.fail("sendDocument", Failure(400, "Bad Request: file too big"))
        calls = await h.say(COORDINATOR, "/report")
        assert any("could not be sent" in c.text for c in calls if c.chat_id == COORDINATOR)
