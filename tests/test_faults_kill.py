"""SIGKILL of `screening-bot run` at every step an update goes through, against the fake Bot API on loopback.

Each case kills the process exactly once at a named point (SCREENING_FAULT, bot/faults.py), or lets the
fake Bot API kill it while a send is in flight, restarts it without the fault, and checks from the
database and from what Telegram received that no accepted answer is lost, none is applied twice, the
conversation goes on, every reply and coordinator summary is delivered in order (at least once: a
message Telegram took just before the kill is sent again, the summary carrying the same referral ID)
and the audit chain is intact.

Two short pre-screens: answering (``/screen``, then four answers, a button press among them, each once its
question is on the phone, then one more answer after the restart), and referring (a finished pre-screen, "Send to
coordinator" to two coordinators, then the same button again).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import steps
from fake_bot_api import ApiCall, FakeBotAPI, fake_bot_api  # noqa: F401 - the fixture
from live_bot import COORDINATORS, PHYSICIAN, REF, LiveBot, answer_in_turn, asked, questions
from telegram_harness import callback, message

from conversations.dialogue import engine
from conversations.records.store import Store

# (question, raw answer) for the answering pre-screen, after the kill and restart
ANSWERED = [("age_years", "12"), ("sex", "female"), ("childbearing_potential", "no"),
            ("exclusion_checklist", "none"), ("sle_eular_acr_2019", "unknown")]


def _asks(number: int):
    return lambda call: call.method == "sendMessage" and number in questions([call])


# id: (SCREENING_FAULT or None, fake-API kill (predicate, delivered) or None, duplicates expected)
ANSWERING = {
    "received-before-store": ("received:2", None, 0),
    "stored-before-processing": ("stored:2", None, 0),
    "committed-before-reply": ("committed:2", None, 0),
    "button-committed-before-reply": ("committed:1:callback", None, 0),
    "reply-accepted-not-marked": ("after_send:1:u2.", None, 1),
    "edit-accepted-not-marked": ("after_send:1:u3.", None, 1),
    "reply-in-flight": (None, (_asks(4), False), 0),
}


@pytest.mark.parametrize("case", list(ANSWERING))
def test_kill_while_answering(case: str, fake_bot_api: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    fault, server_kill, duplicates = ANSWERING[case]
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        proc = bot.start(fault)
        if server_kill is not None:
            api.kill_on(proc.pid, *server_kill)
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        ref = REF.search(bot.wait(lambda: asked(api, 1), "question 1").text).group(0)
        # Each answer once its question is on the phone: one typed before it arrived would be refused.
        answer_in_turn(api, bot, ids, ref, ["12", "press:0", "no", "none"])
        bot.wait(lambda: asked(api, 5), "question 5")
        bot.wait(lambda: bot.kills == 1 and bot.processed(ids) and bot.all_sent(), "the restart to catch up")
        # The restarted process carries on with the conversation.
        ids.append(api.push(message(PHYSICIAN, "unknown")))
        bot.wait(lambda: asked(api, 6) and bot.processed(ids) and bot.all_sent(), "question 6")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.kills == 1, "the fault fired once"
    assert bot.history(ref) == ANSWERED, "every answer applied exactly once, in order"
    accepted = [e["question"] for e in bot.events("answer_accepted")]
    assert accepted == [q for q, _ in ANSWERED]
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN, duplicates)
    rows = bot.outbox(PHYSICIAN)
    assert questions([ApiCall("sendMessage", {"text": text}, 0) for _, _, text, edit in rows if not edit]) == [
        1, 2, 3, 4, 5, 6], "the questions in order, each once"
    assert bot.verify().ok
    bot.check_clean_logs()


# ---- referring ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database holding one finished pre-screen of PHYSICIAN (everything unknown)."""
    path = tmp_path_factory.mktemp("template") / "screening.db"
    store = Store.open(path)
    ref = steps.start(store, "physician", PHYSICIAN, channel="telegram").referral_id
    while store.load(ref).phase == "asking":
        steps.apply(store, ref, engine.Answer("unknown"), "physician", PHYSICIAN)
    store.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path, ref


def _summary_to(cid: int):
    return lambda call: call.method == "sendMessage" and call.chat_id == cid and "Referral" in call.text


# id: (SCREENING_FAULT or None, fake-API kill (predicate, delivered) or None, duplicates by chat). A
# summary's first screen is one message (outbox key summary:<ref>:<send no>:<coordinator>; issue 15: at most
# 1,200 characters, the details behind a button). The messages of one delivery round are marked sent by one
# later commit, so a kill in the round sends again every message Telegram took in it so far.
C1, C2 = COORDINATORS
REFERRING = {
    "press-received-before-store": ("received:1", None, {}),
    "press-stored-before-processing": ("stored:1", None, {}),
    "referral-committed-before-summaries": ("committed:1", None, {}),
    "before-the-first-summary": (f"before_send:1:summary:{{ref}}:1:{C1}", None, {}),
    "between-the-two-coordinators": (f"before_send:1:summary:{{ref}}:1:{C2}", None, {C1: 1}),
    "first-summary-accepted-not-marked": (f"after_send:1:summary:{{ref}}:1:{C1}", None, {C1: 1}),
    "last-summary-accepted-not-marked": (f"after_send:1:summary:{{ref}}:1:{C2}", None, {C1: 1, C2: 1}),
    "second-summary-in-flight-delivered": (None, (_summary_to(C2), True), {C1: 1, C2: 1}),
}


@pytest.mark.parametrize("case", list(REFERRING))
def test_kill_while_referring(case: str, finished_db: tuple[Path, str], fake_bot_api: FakeBotAPI,  # noqa: F811
                              tmp_path: Path) -> None:
    fault, server_kill, duplicates = REFERRING[case]
    template, ref = finished_db
    shutil.copy(template, tmp_path / "screening.db")
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    history = bot.history(ref)
    try:
        proc = bot.start(fault and fault.format(ref=ref))
        if server_kill is not None:
            api.kill_on(proc.pid, *server_kill)
        ids = [api.push(callback(PHYSICIAN, f"s:{ref}", message_id=1))]
        bot.wait(lambda: all(api.sent(cid) for cid in COORDINATORS) and any(
            "was sent to the study coordinators" in c.text for c in api.sent(PHYSICIAN)), "the summaries")
        bot.wait(lambda: bot.kills == 1 and bot.processed(ids) and bot.all_sent(), "the restart to catch up")
        # The same button again, after the restart: nothing is sent twice.
        ids.append(api.push(callback(PHYSICIAN, f"s:{ref}", message_id=1)))
        bot.wait(lambda: any("was already sent" in c.text for c in api.sent(PHYSICIAN)) and bot.processed(ids)
                 and bot.all_sent(), "the second press")
        assert bot.stop() == 0
    finally:
        bot.cleanup()

    assert bot.kills == 1, "the fault fired once"
    assert bot.history(ref) == history, "a press applies no answer"
    sent = bot.events("referral_sent")
    assert [e["send_no"] for e in sent] == [1], "referred exactly once"
    assert bot.query("SELECT sends, status FROM referrals WHERE referral_id = ?", (ref,)) == [(1, "sent")]
    bot.check_updates_applied_once(ids)
    for cid in COORDINATORS:
        texts = bot.check_deliveries(cid, duplicates.get(cid, 0))
        assert len(set(texts)) == 1 and f"Referral {ref}" in texts[0], "a repeat is the same summary"
        assert [label for label, _ in api.sent(cid)[-1].buttons()] == ["✅ Accept", "❓ Need information",
                                                                       "✖ Decline", "📖 Details"]
    physician = bot.check_deliveries(PHYSICIAN)
    assert len(physician) == 2 and "was already sent" in physician[1]
    assert bot.verify().ok
    bot.check_clean_logs()


# ---- the hook itself -------------------------------------------------------------------------------


def test_the_crash_points_are_inert_unless_configured(capsys: pytest.CaptureFixture[str]) -> None:
    from bot import faults

    assert faults._fault is None, "SCREENING_FAULT is not set for the test run"
    for name in faults.POINTS:
        faults.point(name, "anything")  # returns: this process lives on
    assert faults.parse("") is None
    assert faults.parse("committed:2") == ("committed", 2, "")
    assert faults.parse("after_send:1:summary:R-7KQ2-9XPM:1:9001.0") == (
        "after_send", 1, "summary:R-7KQ2-9XPM:1:9001.0")
    assert capsys.readouterr().err == ""
    for bad in ("bogus:1", "stored", "stored:0", "stored:x", "stored:-1"):
        assert faults.parse(bad) is None
        assert "SCREENING_FAULT must be <point>:<n>[:<prefix>]" in capsys.readouterr().err


# ---- a message that may identify the patient --------------------------------------------------------

# SCREENING_FAULT: (duplicates expected, deletions asked): what Telegram took in the round, the warning and
# then the deletion, is asked again
IDENTIFIER = {"committed:1:text": (0, 1), "before_send:1:u": (0, 1), "before_send:2:u": (1, 1),
              "after_send:2:u": (2, 2)}


@pytest.mark.parametrize("fault", list(IDENTIFIER))
def test_kill_before_an_identifier_is_deleted(fault: str, fake_bot_api: FakeBotAPI,  # noqa: F811
                                              tmp_path: Path) -> None:
    """The warning and the deletion are committed with the turn: after a kill anywhere between, both
    still happen (the deletion at least once), and nothing of the message is stored."""
    api, bot = fake_bot_api, LiveBot(fake_bot_api, tmp_path)
    try:
        ids = [api.push(message(PHYSICIAN, "/screen"))]
        bot.start()
        bot.wait(lambda: asked(api, 1) and bot.processed(ids) and bot.all_sent(), "question 1")
        assert bot.stop() == 0
        bot.start(fault)
        typed = message(PHYSICIAN, "born 12.03.2014")
        ids.append(api.push(typed))
        bot.wait(lambda: bot.kills == 1 and bot.processed(ids) and bot.all_sent()
                 and bool(api.sent(PHYSICIAN, "deleteMessage")), "the deletion after the restart")
        assert bot.stop() == 0
    finally:
        bot.cleanup()
    deletions = api.sent(PHYSICIAN, "deleteMessage")
    typed_id = typed["message"]["message_id"]
    duplicates, deletions_asked = IDENTIFIER[fault]
    assert [int(c.params["message_id"]) for c in deletions] == [typed_id] * deletions_asked
    assert any("That looks like a date" in c.text for c in api.sent(PHYSICIAN))
    assert [e["reason"] for e in bot.events("message_deleted")] == ["possible patient identifier"]
    bot.check_updates_applied_once(ids)
    bot.check_deliveries(PHYSICIAN, duplicates)
    stored = "\n".join(str(r) for table in ("audit_events", "telegram_outbox", "telegram_updates", "prescreens")
                       for r in bot.query(f"SELECT * FROM {table}"))
    assert "12.03.2014" not in stored
    assert bot.verify().ok
