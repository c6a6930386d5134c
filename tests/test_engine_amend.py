"""Reasons for a change after sending (issue 14, 21 CFR 11.10(e)): a pre-screen already sent to the study
team changes only with a reason of a short fixed list, with free text checked for identifiers; every answer
changed while the change is open is tied to that reason in the trail."""

from __future__ import annotations

import pytest
from conversation_script import ELIGIBLE_GIRL_12, run_script
from said import said

from bot.phrases import AMEND_REASON_LABELS, text
from conversations.dialogue import engine
from conversations.dialogue.events import ANSWER_EVENTS, E
from conversations.dialogue.messages import M
from conversations.dialogue.state import State

BACK = engine.Command("back")
REOPEN = engine.Command("reopen")


def sent():
    conv = run_script(ELIGIBLE_GIRL_12)
    conv.send(engine.Sent(1))
    return conv


def infos(result) -> list[M]:
    return [o.message.code for o in result.outputs if isinstance(o, engine.Info)]


def test_the_list_is_short_fixed_and_ends_with_other():
    assert engine.AMEND_REASONS == ("new_result", "entry_error", "clarified", "team_request", "other")
    assert set(AMEND_REASON_LABELS) == set(engine.AMEND_REASONS), "every reason has its phrase"


@pytest.mark.parametrize("code", [c for c in engine.AMEND_REASONS if c != "other"])
def test_each_code_opens_the_change_with_or_without_words(code):
    conv = sent()
    result = engine.step(conv.state, engine.Amend(code=code))
    assert [(e.type, e.payload) for e in result.events] == [
        (E.REFERRAL_AMENDED, {"send_no": 1, "reason_code": code, "reason": ""})]
    assert result.state.amend_code == code and result.state.amend_reason == ""
    assert infos(result) == [M.AMENDING] and "no longer stands" in said(result.outputs[0])
    assert AMEND_REASON_LABELS[code] in said(result.outputs[0]), "the physician is told the reason taken"
    result = engine.step(conv.state, engine.Amend("  the lab   sent it\tagain ", code))
    assert result.events[0].payload == {"send_no": 1, "reason_code": code, "reason": "the lab sent it again"}


def test_other_needs_words_and_words_alone_are_other():
    conv = sent()
    for inp in (engine.Amend(code="other"), engine.Amend("  ", "other"), engine.Amend("ok", "other")):
        result = engine.step(conv.state, inp)
        assert result.events == [] and result.state == conv.state
        assert infos(result) == [M.AMEND_NEEDS_TEXT]
        assert result.outputs[0].message.params["reasons"][-1] == [5, "other"], "the list as data"
    result = engine.step(conv.state, engine.Amend("the ECG was read again"))
    assert result.events[0].payload == {"send_no": 1, "reason_code": "other", "reason": "the ECG was read again"}


@pytest.mark.parametrize("inp", [engine.Amend(), engine.Amend("   "), engine.Amend("x", "no_such_reason"),
                                 engine.Amend(code="")])
def test_no_reason_or_an_unknown_one_asks_with_the_list(inp):
    conv = sent()
    result = engine.step(conv.state, inp)
    assert result.events == [] and result.state == conv.state
    assert infos(result) == [M.AMEND_NEEDS_REASON]
    reasons = result.outputs[0].message.params["reasons"]
    assert reasons == [[n, c] for n, c in enumerate(engine.AMEND_REASONS, 1)]
    shown = said(result.outputs[0])
    assert all(f"{n}. {AMEND_REASON_LABELS[c]}" in shown for n, c in reasons), shown


@pytest.mark.parametrize("code", [None, "clarified", "other"])
def test_an_identifier_in_the_words_is_refused_and_never_recorded(code):
    conv = sent()
    result = engine.step(conv.state, engine.Amend("born 04.03.2012, see chart", code))
    assert result.events == [] and result.state == conv.state, "nothing is written"
    assert infos(result) == [M.IDENTIFIER]
    assert "04.03.2012" not in said(result.outputs[0]), "never quoted back"


def test_the_words_are_capped():
    conv = sent()
    result = engine.step(conv.state, engine.Amend("word " * 200, "new_result"))
    assert len(result.events[0].payload["reason"]) == engine.AMEND_TEXT_MAX


def test_amend_needs_a_sent_pre_screen():
    conv = run_script(ELIGIBLE_GIRL_12)
    with pytest.raises(engine.IllegalStep) as exc:
        engine.step(conv.state, engine.Amend(code="entry_error"))
    assert exc.value.message.code is M.NOT_SENT_YET


def test_every_answer_while_the_change_is_open_carries_its_reason_and_version():
    conv = sent()
    conv.send(engine.Amend("the weight was 41 kg, not 14", "entry_error"))
    written = []
    written += conv.send(engine.Change(15)).events                # the eGFR withdrawn
    written += conv.send(engine.Answer("unknown")).events          # corrected: not known
    assert conv.state.current == "creatinine"
    written += conv.send(engine.Answer("0.6 mg/dL")).events        # accepted: a question not asked before
    written += conv.send(BACK).events                              # withdrawn again
    written += conv.send(engine.Command("skip")).events            # corrected (a skip)
    answers = [e for e in written if e.type in ANSWER_EVENTS]
    assert {e.type for e in answers} >= {E.ANSWER_WITHDRAWN, E.ANSWER_CORRECTED, E.ANSWER_ACCEPTED}
    for e in answers:
        assert (e.payload["reason_code"], e.payload["send_no"]) == ("entry_error", 1), e
    corrected = next(e for e in answers if e.type == E.ANSWER_CORRECTED)
    assert {"old", "new"} <= corrected.payload.keys(), "with the old and the new value"


def test_after_sending_again_answers_carry_no_reason_until_the_next_change():
    conv = sent()
    conv.send(engine.Amend(code="team_request"))
    conv.send(BACK)
    conv.send(engine.Answer(ELIGIBLE_GIRL_12[-1][1]))
    assert conv.state.phase == "done"
    conv.send(engine.Sent(2))
    assert conv.state.amend_reason is None and conv.state.amend_code is None
    with pytest.raises(engine.IllegalStep):
        engine.step(conv.state, BACK)
    result = conv.send(engine.Amend("5 the biopsy report came back"))  # text typed in full: "other"
    assert result.events[0].payload == {"send_no": 2, "reason_code": "other",
                                        "reason": "5 the biopsy report came back"}
    events = conv.send(BACK).events
    assert events[0].payload["reason_code"] == "other" and events[0].payload["send_no"] == 2


def test_before_sending_answers_carry_no_reason():
    conv = run_script(ELIGIBLE_GIRL_12[:3])
    events = conv.send(BACK).events + conv.send(engine.Answer(ELIGIBLE_GIRL_12[2][1])).events
    assert events and all("reason_code" not in e.payload for e in events)


def test_a_state_saved_with_a_reason_before_codes_were_kept_reads_as_other():
    conv = sent()
    old = State.model_validate({**conv.state.model_dump(exclude={"amend_code"}), "amend_reason": "lab re-read"})
    assert old.amend_code is None
    events = engine.step(old, BACK).events
    assert events[0].payload["reason_code"] == "other" and events[0].payload["send_no"] == 1


@pytest.mark.parametrize(("typed", "expected"), [
    ("", engine.Amend()),
    ("2", engine.Amend("", "entry_error")),
    ("entry_error", engine.Amend("", "entry_error")),
    ("Entry_Error: the age", engine.Amend("the age", "entry_error")),
    ("5 the biopsy report came back", engine.Amend("the biopsy report came back", "other")),
    ("1. new echo", engine.Amend("new echo", "new_result")),
    ("other", engine.Amend("", "other")),
    ("the ECG was read again", engine.Amend("the ECG was read again")),
    ("6 more infusions", engine.Amend("6 more infusions")),
    ("12 weeks later", engine.Amend("12 weeks later")),
])
def test_amend_as_typed(typed, expected):
    assert engine.amend_from_text(typed) == expected


def test_the_notice_names_the_reason_in_words():
    m = engine.step(sent().state, engine.Amend("echo repeated", "new_result")).outputs[0].message
    assert text(m).startswith("R-") and "the reason: a new test or examination result (echo repeated)." in text(m)


def test_the_transcript_names_the_reason_and_ties_each_changed_answer_to_it(tmp_path):
    import json

    import steps

    from conversations.records.audit_export import transcript_line
    from conversations.records.store import Store

    store = Store.open(tmp_path / "t.db")
    rid = steps.start(store, "physician", 7).referral_id
    for _, answer in ELIGIBLE_GIRL_12:
        steps.apply(store, rid, engine.Answer(answer), "physician", 7)
    steps.apply(store, rid, engine.Sent(1), "physician", 7)
    steps.apply(store, rid, engine.Amend("the lab re-read it", "clarified"), "physician", 7)
    steps.apply(store, rid, BACK, "physician", 7)
    rows = store.db.conn.execute("SELECT seq, ts, actor_role, actor_id, referral_id, type, payload"
                                 " FROM audit_events ORDER BY seq").fetchall()
    lines = [transcript_line(r) for r in rows]
    assert any(line.endswith("opened version 1 for a change: clarified: the lab re-read it") for line in lines)
    assert lines[-1].endswith("[change to version 1, reason clarified]") and "withdrew" in lines[-1]
    assert not any("[change to" in line for line in lines[:-2]), "nothing before the change"
    # An event from before reasons had codes reads as it always did.
    old = (1, "ts", "physician", 7, rid, E.REFERRAL_AMENDED, json.dumps({"send_no": 1, "reason": "echo done"}))
    assert transcript_line(old).endswith("opened version 1 for a change: echo done")
    store.close()
