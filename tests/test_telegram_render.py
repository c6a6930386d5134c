"""Rendering: HTML escaped, Telegram's 4096-character limit, callback data within 64 bytes and parsed
defensively."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram import keyboards, render
from conversations import engine, questions

REF = "R-7KQ2-9XPM"


def as_output(q: questions.Question, seq: int = 999_999_999) -> engine.Question:
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
    assert press is None or press.action in "atksrcd"


def test_text_is_html_escaped():
    q = engine.Question(seq=1, fact="x", kind="choice", text="Is <b>x</b> < 5 & y > 2?",
                        choices=[engine.Choice("a", "<i>a</i>")], help="", number=1, remaining=0)
    text = render.question(q, REF)
    assert "Is &lt;b&gt;x&lt;/b&gt; &lt; 5 &amp; y &gt; 2?" in text
    replies = render.outputs([engine.Info("note <script>"), engine.Reprompt("x", "bad <answer>", q)], REF)
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
    replies = render.outputs([engine.Info("one"), engine.Info("two")], REF)
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
