"""Rendering: HTML escaped, Telegram's 4096-character limit, callback data within 64 bytes and parsed
defensively."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram import keyboards, render
from conversations.dialogue import engine, questions
from conversations.dialogue.messages import M, msg
from criteria import Facts, Note, evaluate

REF = "R-7KQ2-9XPM"


def as_output(q: questions.QuestionDef, seq: int = 999_999_999) -> engine.Question:
    return engine.Question(seq=seq, fact=q.id, kind=q.kind, text=q.text,
                           choices=[engine.Choice(c.value, c.label) for c in q.choices], help=q.help,
                           number=40, remaining=40, checklist=q.checklist)


def test_every_keyboard_fits_the_callback_limit_and_parses_back():
    for q in questions.QUESTIONS:
        markup = keyboards.question(as_output(q), REF)
        for row in markup.inline_keyboard:
            for button in row:
                assert len(button.callback_data.encode()) <= 64
                press = keyboards.parse(button.callback_data)
                assert press is not None and press.ref == REF and press.number == 999_999_999
    for markup in (keyboards.outcome(REF, True), keyboards.decision(REF, 12345), keyboards.choose([REF])):
        for row in markup.inline_keyboard:
            for button in row:
                assert keyboards.parse(button.callback_data) is not None


@given(st.text(max_size=80))
def test_parse_never_raises(data):
    press = keyboards.parse(data)
    assert press is None or press.action in "atksrcdmv"


def test_text_is_html_escaped():
    q = engine.Question(seq=1, fact="x", kind="choice", text="Is <b>x</b> < 5 & y > 2?",
                        choices=[engine.Choice("a", "<i>a</i>")], help="", number=1, remaining=0)
    text = render.question(q, REF)
    assert "Is &lt;b&gt;x&lt;/b&gt; &lt; 5 &amp; y &gt; 2?" in text
    replies = render.outputs([engine.Info(msg(M.VALUE_TEXT, text="note <script>")),
                              engine.Reprompt("x", msg(M.VALUE_TEXT, text="bad <answer>"), q)], REF)
    assert len(replies) == 1
    assert "note &lt;script&gt;" in replies[0].text and "⚠️ bad &lt;answer&gt;" in replies[0].text
    assert replies[0].markup.inline_keyboard[0][0].text == "<i>a</i>", "button labels are plain text"


def test_notes_join_the_next_message_and_a_toggled_question_is_an_edit():
    q = engine.Question(seq=3, fact="x", kind="multi_choice", text="Which?", help="", number=1, remaining=0,
                        choices=[engine.Choice("a", "A")], draft={"a": "yes"})
    replies = render.outputs([q], REF, edit_seq=3)
    assert len(replies) == 1 and replies[0].edit
    assert replies[0].markup.inline_keyboard[0][0].text == "☑ A"
    assert replies[0].markup.inline_keyboard[-1][0].text == "Done ✓"
    replies = render.outputs([engine.Info(msg(M.VALUE_TEXT, text="one")), engine.Info(msg(M.VALUE_TEXT, text="two"))],
                             REF)
    assert [r.text for r in replies] == ["one\n\ntwo"]


def test_split_respects_the_limit_at_line_ends():
    lines = [f"line {i} " + "x" * (i % 90) for i in range(400)]
    text = "\n".join(lines)
    parts = render.split(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    long_line = "y" * 9000
    parts = render.split(long_line)
    assert [len(p) for p in parts] == [4096, 4096, 808] and "".join(parts) == long_line
    assert render.split("") == [""]


# ---- protocol 2: flags (⚑) and re-checks (⏱) ------------------------------------------------------------

FLAGGED = {"age_years": 18, "dmards": ["other", "mycophenolate"], "hbcab": "positive", "hbv_dna": "negative",
           "syphilis": "positive"}
TIME_LIMITED = {"age_years": 4, "cns_event_60d": True, "mas_1m": True, "transplant_3m": True}
INELIGIBLE_NOW = ("⏱ <b>INELIGIBLE NOW: every failing criterion is time-limited; the child may be re-referred "
                  "(see Re-checks).</b>")


def summary_data(o, facts=None):
    return render.Summary(ref=REF, send_no=1, physician=render.Physician(101), outcome=o,
                          facts=Facts.model_validate(facts or {}), started="2026-03-02T09:00:00Z",
                          finished="2026-03-02T09:30:00Z", sent="2026-03-02T09:31:00Z", head_seq=42,
                          head_hash="ab" * 32)


def summary_of(o, facts=None):
    """The coordinator's first screen (issue 15)."""
    return render.summary(summary_data(o, facts))


def details_of(o, facts=None):
    return "\n".join(render.details(summary_data(o, facts)))


def marked(text, mark):
    """(criterion, text) of each line the mark starts."""
    return [(line.split("</b> ", 1)[0].removeprefix(f"{mark} <b>"), line.split("</b> ", 1)[1])
            for line in text.splitlines() if line.startswith(f"{mark} ")]


def test_final_outcome_shows_flags_with_their_criterion_ids():
    o = evaluate({k: v for k, v in FLAGGED.items() if k != "syphilis"})
    assert o.status == "incomplete"
    text = render.outcome(engine.OutcomeReached(o, final=True), REF)
    assert "<b>Flags for the investigator</b>" in text
    assert marked(text, "⚑") == [(n.criterion, n.text) for n in o.flags]
    assert [cid for cid, _ in marked(text, "⚑")] == ["I1", "I2c", "E9a"]
    assert "⚑ <b>I2c</b> an unlisted DMARD or biologic was counted as one of the two DMARDs" in text
    # Issue 15: an ineligible one (E9c fails) lists only what fails; the flags reach the coordinator.
    text = render.outcome(engine.OutcomeReached(evaluate(FLAGGED), final=True), REF)
    assert "⚑" not in text and "<b>E9c</b>" in text


def test_final_outcome_says_ineligible_now_next_to_the_status_and_lists_the_re_checks():
    o = evaluate(TIME_LIMITED)
    text = render.outcome(engine.OutcomeReached(o, final=True), REF)
    assert text.splitlines()[1] == INELIGIBLE_NOW
    rechecks = [line for line in text.splitlines() if line.startswith("⏱ <b>") and line != INELIGIBLE_NOW]
    assert rechecks == [f"⏱ <b>{n.criterion}</b> {n.text}" for n in o.recheck]
    assert rechecks[0] == "⏱ <b>I1</b> may be re-referred at 5 years of age"
    # Issue 15: an ineligible outcome lists what fails and when it may lift, not what is still missing.
    assert text.index("<b>Failing criteria</b>") < text.index("<b>Re-checks</b>") < text.index("What happens next")
    assert "Still missing" not in text


def test_a_permanent_failure_is_not_ineligible_now():
    o = evaluate({"age_years": 4, "prior_cell_therapy": True})
    text = render.outcome(engine.OutcomeReached(o, final=True), REF)
    assert "INELIGIBLE NOW" not in text and "⏱ <b>I1</b> may be re-referred at 5 years of age" in text


def test_midway_shows_the_re_checks_of_what_fails_and_no_flags():
    o = evaluate({**TIME_LIMITED, "dmards": ["other", "mycophenolate"]})
    text = render.outcome(engine.OutcomeReached(o, final=False), REF)
    assert "⏱ <b>E2a</b> may be re-referred once 60 days have passed since the CNS event" in text
    assert "⚑" not in text and "Still missing" not in text and "INELIGIBLE NOW" not in text


def test_coordinator_summary_shows_flags_re_checks_and_ineligible_now():
    o = evaluate({**TIME_LIMITED, **{k: v for k, v in FLAGGED.items() if k != "age_years"}})
    text = summary_of(o)
    status = f"Outcome: <b>{render.STATUS_LINES['ineligible']}</b> · protocol {o.protocol_version}"
    lines = text.splitlines()
    assert lines[lines.index(status) + 1] != INELIGIBLE_NOW, "E9c (syphilis positive) fails and has no re-check"
    # A crowded first screen (5 failing, 4 re-checks, 3 flags, 19 missing) names every ID, listed or not;
    # the details list them all.
    assert render.visible_len(text) <= render.FIRST_SCREEN
    for cid in ("I2c", "E9a", "E9c", "E8", "E10"):
        assert cid in text
    details = details_of(o)
    assert [cid for cid, _ in marked(details, "⚑")] == ["I2c", "E9a", "E9c"]
    assert "⏱ <b>E8</b> may be re-referred 3 months after the transplant" in details
    assert details.index("<b>Criteria</b>") < details.index("<b>Flags for the investigator</b>")
    now = summary_of(evaluate(TIME_LIMITED)).splitlines()
    assert now[now.index(status) + 1] == INELIGIBLE_NOW


def test_flag_and_re_check_texts_are_escaped_and_whole_lines():
    o = evaluate(TIME_LIMITED)
    o = o.model_copy(update={"flags": [Note(criterion="I2c", text="dose < 1 mg/kg & <b>odd</b>")],
                             "recheck": [Note(criterion="E<1>", text="after <i>x</i>")]})
    outcome = render.outcome(engine.OutcomeReached(o, final=True), REF)
    assert "⏱ <b>E&lt;1&gt;</b> after &lt;i&gt;x&lt;/i&gt;" in outcome
    for text in (outcome, summary_of(o), details_of(o)):
        if text is not outcome:  # the physician's ineligible outcome lists what fails, not the flags
            assert "⚑ <b>I2c</b> dose &lt; 1 mg/kg &amp; &lt;b&gt;odd&lt;/b&gt;" in text
            assert "E&lt;1&gt;" in text
        # split() cuts at line ends only: every line must be complete HTML on its own.
        for line in text.splitlines():
            assert line.count("<b>") == line.count("</b>"), line


def test_a_long_summary_keeps_its_first_screen_and_pages_its_details():
    o = evaluate(FLAGGED)
    many = [Note(criterion=n.criterion, text=n.text) for n in o.flags] * 60
    o = o.model_copy(update={"flags": many, "recheck": many})
    assert render.visible_len(summary_of(o)) <= render.FIRST_SCREEN
    pages = render.details(summary_data(o))
    assert len(pages) > 1 and all(len(p) <= render.LIMIT - 80 for p in pages)
    for page in pages:  # every line complete HTML: a page is cut at line ends only
        for line in page.splitlines():
            assert line.count("<b>") == line.count("</b>"), line
