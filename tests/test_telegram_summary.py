"""Issue 15: a summary a coordinator can act on (a first screen of at most 1,200 characters as Telegram
counts them, with the referral, the physician, the key facts with units and every verdict's criterion ID;
the full criterion list behind Details, edited in place), and a short outcome for the physician."""

from __future__ import annotations

import re

import pytest
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, Harness, ref_of, run_to_end

from bot.telegram import keyboards, render, summaries
from conversations.dialogue import engine
from criteria import CRITERION_IDS, PROTOCOL_VERSION

LIMIT = 4096
FIRST_SCREEN = 1200
# Every fact unknown but the age: ineligible (I1) with about 25 criteria still missing.
SKIPPED = {k: "unknown" for k in ELIGIBLE} | {"age_years": "4"}
INCOMPLETE = {**ELIGIBLE, "lvef_percent": "unknown", "ecg_significant_abnormality": "unknown", "hbsag": "unknown",
              "cmv_dna": "unknown"}
CASES = {"eligible": ELIGIBLE, "incomplete": INCOMPLETE, "ineligible": SKIPPED}


def visible(html: str) -> str:
    """The text as Telegram shows it: tags gone, entities one character."""
    return render.unescape(re.sub(r"<[^>]*>", "", html))


def ids_in(line_start: str, text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"^{re.escape(line_start)} <b>([A-Z0-9a-z]+)</b>", text, re.M)]


async def referred(h: Harness, answers: dict[str, str]) -> tuple[str, list]:
    """The referral, and every call its pre-screen made up to the outcome."""
    calls = await h.say(PHYSICIAN, "/screen")
    ref = ref_of(calls)
    calls += await run_to_end(h, ref, answers)
    await h.press(PHYSICIAN, f"s:{ref}")
    return ref, calls


def summary_calls(h: Harness) -> list:
    return [c for c in h.request.sent(COORDINATOR) if "Referral " in c.text]


@pytest.mark.parametrize("status", list(CASES))
async def test_the_first_screen_holds_what_a_coordinator_acts_on(tmp_path, status):
    async with Harness(tmp_path) as h:
        ref, _ = await referred(h, CASES[status])
        outcome = engine.outcome_of(h.services.store.load(ref))
        assert outcome.status == status
        sent = summary_calls(h)
        assert len(sent) == 1, "one message, not parts"
        html = sent[0].text
        text = visible(html)
        assert len(text) <= FIRST_SCREEN, (len(text), text)
        assert f"Referral {ref}" in text and status.upper() in text and f"protocol {PROTOCOL_VERSION}" in text
        assert f'<a href="tg://user?id={PHYSICIAN}">' in html
        assert "age 12 years" in text or "age 4 years" in text
        assert "sex female" in text or "sex not known" in text
        assert "SLEDAI-2K" in text and "EULAR/ACR" in text and "lupus nephritis" in text and "I2c" in text
        assert "abnormal labs:" in text and "Audit head #" in text
        if status != "ineligible":
            assert "SLEDAI-2K 12" in text and "lupus nephritis class IV" in text
            assert "eGFR 95 mL/min/1.73 m² (laboratory value as reported)" in text
            assert "I2c met through the standard-care path" in text
        else:
            assert "eGFR not known" in text
        failing = ids_in("❌", html)
        missing = ids_in("❔", html)
        assert failing == outcome.failed or (f"Failing ({len(outcome.failed)}):" in text)
        if status == "ineligible":
            assert "I1" in failing
        if status == "incomplete":
            assert set(missing) == {m.criterion for m in outcome.missing} and {"I4a", "E9c"} <= set(missing)
        for cid in outcome.pending:
            assert cid in text
        assert sent[0].buttons()[:3] == [("✅ Accept", f"d:{ref}:1:a"), ("❓ Need information", f"d:{ref}:1:i"),
                                         ("✖ Decline", f"d:{ref}:1:d")], "the decision buttons stay"
        assert sent[0].buttons()[3] == ("📖 Details", f"v:{ref}:1:1")


async def test_the_skipped_ineligible_summary_names_what_it_could_not_show(tmp_path):
    async with Harness(tmp_path) as h:
        ref, _ = await referred(h, SKIPPED)
        text = visible(summary_calls(h)[0].text)
        outcome = engine.outcome_of(h.services.store.load(ref))
        assert len(outcome.missing) > 15
        # Every criterion still missing is named by its ID on the first screen, listed or after "and N more".
        for m in outcome.missing:
            assert re.search(rf"\b{m.criterion}\b", text), m.criterion


@pytest.mark.parametrize("status", list(CASES))
async def test_details_edits_in_place_to_the_full_list_and_back(tmp_path, status):
    async with Harness(tmp_path) as h:
        ref, _ = await referred(h, CASES[status])
        first = summary_calls(h)[0]
        calls = await h.press(COORDINATOR, f"v:{ref}:1:1", message_id=first.message_id)
        edits = [c for c in calls if c.method == "editMessageText"]
        assert len(edits) == 1 and not [c for c in calls if c.method == "sendMessage"]
        shown = [edits[0].text]
        buttons = edits[0].buttons()
        while any(label.startswith("Page ") and label.endswith("▶") for label, _ in buttons):
            nxt = next(d for label, d in buttons if label.endswith("▶"))
            calls = await h.press(COORDINATOR, nxt, message_id=first.message_id)
            edit = next(c for c in calls if c.method == "editMessageText")
            shown.append(edit.text)
            buttons = edit.buttons()
        full = "\n".join(shown)
        for cid in CRITERION_IDS:
            assert f"<code>{cid}</code>" in full, cid
        assert all(len(visible(t)) <= LIMIT and len(t) <= LIMIT for t in shown)
        assert buttons[:3] == first.buttons()[:3], "the decision buttons stay on the details"
        assert ("📋 Summary", f"v:{ref}:1:0") in buttons
        calls = await h.press(COORDINATOR, f"v:{ref}:1:0", message_id=first.message_id)
        back = next(c for c in calls if c.method == "editMessageText")
        assert back.text == first.text and back.buttons() == first.buttons()
        assert int(back.params["message_id"]) == first.message_id


async def test_details_of_a_superseded_summary_and_from_a_physician_change_nothing(tmp_path):
    async with Harness(tmp_path) as h:
        ref, _ = await referred(h, INCOMPLETE)
        calls = await h.press(PHYSICIAN, f"v:{ref}:1:1")
        assert calls[0].params["text"].startswith("That button")
        await h.say(PHYSICIAN, "/amend LVEF measured")
        calls = await h.press(COORDINATOR, f"v:{ref}:1:1")
        assert "changing this referral" in calls[0].params["text"]
        assert not [c for c in calls if c.method == "editMessageText"]
        calls = await h.press(COORDINATOR, f"v:{ref}:7:1")
        assert calls[0].params["text"].startswith("A newer summary")


async def test_the_physicians_ineligible_outcome_lists_only_what_fails(tmp_path):
    async with Harness(tmp_path) as h:
        ref, calls = await referred(h, SKIPPED)
        outcome = engine.outcome_of(h.services.store.load(ref))
        final = [c.text for c in calls if c.chat_id == PHYSICIAN and "INELIGIBLE: at least one" in c.text][-1]
        assert ids_in("•", final) == outcome.failed == ["I1"]
        assert "Still missing" not in final and "⚑" not in final and "❔" not in final
        assert "What happens next" in final and "re-referred" in final
        assert len(final) <= FIRST_SCREEN


async def test_the_physicians_incomplete_outcome_is_capped_and_summary_lists_all(tmp_path):
    answers = {**INCOMPLETE, "spo2_percent": "unknown", "severe_lung_disease": "unknown", "hcv_ab": "unknown",
               "cardiac_conditions": "unknown", "ln_chronicity_index": "unknown", "hiv_ab": "unknown",
               "agrees_contraception": "unknown", "alt_x_uln": "unknown"}
    async with Harness(tmp_path) as h:
        ref, calls = await referred(h, answers)
        outcome = engine.outcome_of(h.services.store.load(ref))
        assert len(outcome.missing) > render.MISSING_SHOWN
        final = [c.text for c in calls if "INCOMPLETE" in c.text][-1]
        assert len(ids_in("•", final)) == render.MISSING_SHOWN
        assert f"and {len(outcome.missing) - render.MISSING_SHOWN} more: /summary lists them all" in final
        assert "What happens next" in final
        calls = await h.say(PHYSICIAN, "/summary")
        listed = [c.text for c in calls if "Still missing" in c.text]
        assert listed and ids_in("•", listed[0]) == [m.criterion for m in outcome.missing]


async def test_the_physicians_eligible_outcome_says_what_happens_next(tmp_path):
    async with Harness(tmp_path) as h:
        ref, calls = await referred(h, ELIGIBLE)
        final = [c.text for c in calls if "ELIGIBLE for screening" in c.text][-1]
        assert "What happens next" in final and "Checked at the screening visit: I6, I7" in final
        assert "Still missing" not in final and "Your answers" not in final, "the outcome is a message of its own"


@pytest.mark.parametrize("status", list(CASES))
async def test_every_message_fits_telegram(tmp_path, status):
    async with Harness(tmp_path) as h:
        await referred(h, CASES[status])
        for c in h.request.calls:
            if c.method in ("sendMessage", "editMessageText"):
                assert len(c.text) <= LIMIT


async def test_the_directory_is_shown_when_it_knows_the_physician(tmp_path):
    async with Harness(tmp_path) as h:
        db = h.db
        columns = {row[1] for row in db.conn.execute("PRAGMA table_info(physicians)")}
        for col in ("name", "institution", "contact"):
            if col not in columns:
                db.conn.execute(f"ALTER TABLE physicians ADD COLUMN {col} TEXT")
        db.conn.execute("INSERT OR IGNORE INTO physicians (user_id, via, registered_at) VALUES (?, 'list', ?)",
                        (PHYSICIAN, "2026-01-01T00:00:00Z"))
        db.conn.execute("UPDATE physicians SET name = ?, institution = ?, contact = ? WHERE user_id = ?",
                        ("Dr <Ada> Lovelace", "Children's Hospital", "ward 3, ext 41", PHYSICIAN))
        db.conn.commit()
        card = summaries.physician(db, PHYSICIAN)
        assert card == render.Physician(PHYSICIAN, "Dr <Ada> Lovelace", "Children's Hospital", "ward 3, ext 41")
        line = render.physician_line(card)
        assert line == (f'👤 Physician <a href="tg://user?id={PHYSICIAN}">Dr &lt;Ada&gt; Lovelace</a> · '
                        "Children's Hospital · \u2063ward 3, ext 41\u2063"), "the contact marked for the trail"
        assert render.physician_line(render.Physician(7)).startswith('👤 Physician <a href="tg://user?id=7">')


def test_a_crowded_first_screen_is_cut_to_the_limit_and_names_every_id():
    from criteria import Note, evaluate
    from criteria.facts import Facts

    facts = Facts.model_validate({"age_years": 4, "prior_cell_therapy": True, "cns_event_60d": True,
                                  "mas_1m": True, "transplant_3m": True, "syphilis": "positive",
                                  "hbcab": "positive", "hbv_dna": "negative", "dmards": ["other"]})
    o = evaluate(facts)
    many = [Note(criterion=n.criterion, text=n.text * 3) for n in o.flags] * 8
    o = o.model_copy(update={"flags": many})
    s = render.Summary(ref="R-7KQ2-9XPM", send_no=3, physician=render.Physician(1, "x" * 300, "y" * 300, "z" * 300),
                       outcome=o, facts=facts, started="t0", finished="t1", sent="t2", head_seq=9, head_hash="ab" * 32)
    text = render.summary(s)
    assert render.visible_len(text) <= FIRST_SCREEN
    for cid in {*o.failed, *(m.criterion for m in o.missing), *o.pending, *(n.criterion for n in many)}:
        assert re.search(rf"\b{cid}\b", visible(text)), cid
    for page in render.details(s):
        assert len(page) <= LIMIT - 80
    for row in keyboards.summary_view(s.ref, 12345, 3, 9).inline_keyboard:
        for button in row:
            assert len(button.callback_data.encode()) <= 64 and keyboards.parse(button.callback_data) is not None
