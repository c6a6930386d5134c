"""Reasons for a change after sending, in the terminal (issue 14): ``amend`` alone lists the numbered
reasons; ``amend 2``, ``amend entry_error`` and ``amend 5 <words>`` give one; ``amend <words>`` is
"other" with those words."""

from __future__ import annotations

import io
import json

import pytest
import steps
from conversation_script import ELIGIBLE_GIRL_12

from bot import terminal
from bot.phrases import AMEND_REASON_LABELS
from conversations.dialogue import engine
from conversations.records.store import Store

ME = terminal.Operator("Dr. Wang", "ward-pc-3")


def sent_prescreen(store: Store) -> str:
    terminal.jsonl(store, None, iter(f"{a}\n" for _, a in ELIGIBLE_GIRL_12), io.StringIO(), ME)
    ref = store.prescreens()[0].referral_id
    assert store.load(ref).phase == "done"
    steps.apply(store, ref, engine.Sent(1), "physician", 0)  # as Telegram's "Send to coordinator" records it
    return ref


def events(store: Store, type_: str) -> list[dict]:
    rows = store.db.conn.execute("SELECT payload FROM audit_events WHERE type = ? ORDER BY seq", (type_,))
    return [json.loads(p) for (p,) in rows]


def run(store: Store, ref: str, lines: list[str]) -> str:
    said: list[str] = []
    feed = iter([*lines, "quit"])
    terminal.interactive(store, ref, read=lambda _: next(feed), write=said.append, operator=ME)
    return "\n".join(said)


@pytest.mark.parametrize(("typed", "code", "words"), [
    ("amend 2", "entry_error", ""),
    ("amend entry_error", "entry_error", ""),
    ("amend 4 the coordinator asked for the LVEF", "team_request", "the coordinator asked for the LVEF"),
    ("amend 5 the biopsy report came back", "other", "the biopsy report came back"),
    ("amend the ECG was read again", "other", "the ECG was read again"),
])
def test_amend_with_a_reason(tmp_path, typed, code, words):
    store = Store.open(tmp_path / "s.db")
    ref = sent_prescreen(store)
    out = run(store, ref, ["back", "amend", typed, "back", "unknown"])
    assert "first say why: amend" in out, "a change needs a reason"
    for n, c in enumerate(engine.AMEND_REASONS, 1):
        assert f"{n}. {AMEND_REASON_LABELS[c]}" in out, "amend alone lists the reasons, numbered"
    assert "can be changed now" in out
    [amended] = events(store, "referral_amended")
    assert {k: amended[k] for k in ("send_no", "reason_code", "reason")} == {
        "send_no": 1, "reason_code": code, "reason": words}
    changed = events(store, "answer_withdrawn")[-1:] + events(store, "answer_corrected")[-1:]
    assert len(changed) == 2 and all((e["reason_code"], e["send_no"]) == (code, 1) for e in changed)
    store.close()


def test_other_without_words_and_an_identifier_are_refused_unwritten(tmp_path):
    store = Store.open(tmp_path / "s.db")
    ref = sent_prescreen(store)
    out = run(store, ref, ["amend 5", "amend other", "amend 3 born 04.03.2012"])
    assert out.count("Please say in a few words why the pre-screen changes: amend 5 <reason>") == 2
    assert "identifiers" in out and "04.03.2012" not in out
    assert events(store, "referral_amended") == []
    store.close()


def test_the_terminal_help_names_amend():
    assert "amend" in terminal.help_text(engine.Help(None))
