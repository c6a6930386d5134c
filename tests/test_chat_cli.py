"""`screening-bot chat`: --jsonl as a subprocess (whole runs, the age knock-out, checklists, reprompts,
resume after the process ends or is killed) and the interactive mode with a fake terminal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conversation_script import ELIGIBLE_GIRL_12

from bot import terminal
from conversations.dialogue import engine
from conversations.dialogue.state import State
from conversations.records import audit_key
from conversations.records.store import Store

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "screening-bot"
BOT = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
ENV = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "SCREENING_DB_PATH")}
ANSWERS = [text for _, text in ELIGIBLE_GIRL_12]
HALF = 15


def chat(db: Path, lines: list[str], *args: str, echo: bool = False) -> tuple[int, list[dict], str]:
    """Run ``chat --jsonl``; its lines, without the echo of each accepted answer unless ``echo``. The audit key
    is there as the first start leaves it (its one-time notice is test_audit_keys.py's)."""
    key = db.with_name(db.name + ".audit-key")
    if not key.exists():
        audit_key.generate(key)
    proc = subprocess.run([*BOT, "chat", "--jsonl", "--db", str(db), *args], input="".join(f"{x}\n" for x in lines),
                          capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=60)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, [o for o in out if echo or o["type"] != "accepted"], proc.stderr


def stored_state(db: Path, rid: str) -> State:
    conn = sqlite3.connect(db)
    try:
        return State.from_json(conn.execute("SELECT state FROM prescreens WHERE referral_id = ?",
                                            (rid,)).fetchone()[0])
    finally:
        conn.close()


def evaluate_json(tmp_path: Path, facts: dict) -> dict:
    file = tmp_path / "facts.json"
    file.write_text(json.dumps(facts))
    proc = subprocess.run([*BOT, "evaluate", str(file), "--json"], capture_output=True, text=True, cwd=ROOT,
                          env=ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---- --jsonl ------------------------------------------------------------------------------------------------

@pytest.mark.slow  # a process of its own
def test_jsonl_eligible_run(tmp_path):
    db = tmp_path / "s.db"
    rc, out, err = chat(db, ANSWERS)
    assert rc == 0 and err == ""
    questions, review, outcome = out[:-2], out[-2], out[-1]
    assert [q["type"] for q in questions] == ["question"] * 30
    # Issue 12: the answers are reviewed, numbered for "change N", before the outcome.
    assert review["type"] == "info" and "change N" in review["text"] and "30. " in review["text"]
    assert [q["fact"] for q in questions] == [fact for fact, _ in ELIGIBLE_GIRL_12]
    for q in questions:
        assert {"type", "fact", "kind", "text", "choices"} <= set(q)
        assert isinstance(q["text"], str) and q["text"] and isinstance(q["choices"], list)
    assert questions[0]["kind"] == "number" and questions[0]["choices"] == []
    assert questions[1]["kind"] == "choice" and questions[1]["choices"] == ["female", "male"]
    assert questions[2]["kind"] == "yes_no"
    assert questions[3]["kind"] == "multi_choice" and "pregnant" in questions[3]["choices"]
    assert {q["referral_id"] for q in out} == {out[0]["referral_id"]}
    # The outcome: every field of `evaluate --json` for the facts the conversation stored, same values.
    assert outcome["type"] == "outcome" and outcome["final"] is True and outcome["status"] == "eligible"
    facts = engine.facts_of(stored_state(db, out[0]["referral_id"])).known()
    expected = evaluate_json(tmp_path, facts)
    assert {k: outcome[k] for k in expected} == expected
    assert {"status", "criteria", "failed", "missing", "pending", "protocol_version"} <= set(expected)


@pytest.mark.slow  # a process of its own
def test_jsonl_age_knock_out_after_one_question_and_the_session_goes_on(tmp_path):
    rc, out, err = chat(tmp_path / "s.db", ["4", "female", "yes"], echo=True)
    assert rc == 0 and err == ""
    assert [o["type"] for o in out][:3] == ["question", "accepted", "outcome"]
    assert out[0]["fact"] == "age_years"
    assert out[1]["facts"] == {"age_years": 4} and out[1]["unknown"] == [] and "age 4 years" in out[1]["text"]
    assert out[2]["status"] == "ineligible" and out[2]["failed"] == ["I1"] and out[2]["final"] is False
    assert out[2]["criteria"]["I1"] == "not_met"
    # Issue 12: the session does not stop at an early ineligibility; the physician may go on.
    assert [(o["type"], o.get("fact")) for o in out[3:]] == [
        ("question", "sex"), ("accepted", "sex"), ("question", "childbearing_potential"),
        ("accepted", "childbearing_potential"), ("question", "exclusion_checklist")]


@pytest.mark.slow  # a process of its own
def test_jsonl_checklist_with_true_and_unknown_keys(tmp_path):
    db = tmp_path / "s.db"
    rc, out, _ = chat(db, ["12", "female", "yes", "prior_cell_therapy, ?mas_1m"])
    assert rc == 0
    checklist = out[3]
    assert checklist["type"] == "question" and checklist["kind"] == "multi_choice"
    assert checklist["fact"] == "exclusion_checklist"
    assert checklist["choices"] == [
        "prior_cell_therapy", "cns_event_60d", "cns_damage_or_severe_seizures", "dialysis_3m",
        "renal_fibrosis_extensive", "non_sle_immunosuppression", "active_infection", "transplant_3m",
        "gvhd_grade2_2w", "mas_1m", "live_vaccine_4w", "malignancy_or_severe_disease", "other_trial_3m", "pregnant"]
    announced = [o for o in out if o["type"] == "outcome"]
    assert announced[-1]["failed"] == ["E1"] and announced[-1]["final"] is False
    facts = engine.facts_of(stored_state(db, out[0]["referral_id"])).known()
    assert facts["prior_cell_therapy"] is True and "mas_1m" not in facts and facts["pregnant"] is False


@pytest.mark.slow  # a process of its own
def test_jsonl_a_boys_checklist_has_no_pregnancy_key(tmp_path):
    rc, out, _ = chat(tmp_path / "s.db", ["12", "male", "none"])
    assert rc == 0 and out[2]["fact"] == "exclusion_checklist" and "pregnant" not in out[2]["choices"]
    assert out[3]["fact"] == "sle_eular_acr_2019"


@pytest.mark.slow  # a process of its own
def test_jsonl_reprompt(tmp_path):
    rc, out, _ = chat(tmp_path / "s.db", ["twelve", "12", "1.2"])
    assert rc == 0
    assert [o["type"] for o in out] == ["question", "reprompt", "question", "reprompt"]
    assert out[1] == {"type": "reprompt", "fact": "age_years",
                      "error": "Please answer with a number, for example 12.", "referral_id": out[0]["referral_id"]}
    assert out[3]["fact"] == "sex" and "Please choose one of" in out[3]["error"]


@pytest.mark.slow  # a process of its own
def test_jsonl_commands(tmp_path):
    rc, out, _ = chat(tmp_path / "s.db", ["12", "back", "13", "skip", "status", "summary"])
    assert rc == 0
    # Answers to commands come as info lines; the question follows where a command re-asks it.
    assert [(o["type"], o.get("fact")) for o in out] == [
        ("question", "age_years"), ("question", "sex"), ("info", None), ("question", "age_years"),
        ("question", "sex"), ("question", "childbearing_potential"), ("info", None),
        ("question", "childbearing_potential"), ("info", None)]
    assert "taken back" in out[2]["text"] and "question 3" in out[6]["text"]
    assert "1. age: 13" in out[8]["text"] and "2. sex: unknown" in out[8]["text"]


@pytest.mark.slow  # a process of its own
def test_jsonl_cancel(tmp_path):
    rc, out, _ = chat(tmp_path / "s.db", ["12", "cancel", "female"])
    assert rc == 0 and [o["type"] for o in out] == ["question", "question", "cancelled"]


@pytest.mark.slow  # a process of its own
def test_jsonl_everything_unknown_is_incomplete(tmp_path):
    rc, out, _ = chat(tmp_path / "s.db", ["unknown"] * 80)
    assert rc == 0 and out[-1]["type"] == "outcome" and out[-1]["status"] == "incomplete"
    assert out[-1]["missing"] and all(m["facts"] for m in out[-1]["missing"])


@pytest.mark.slow  # a process of its own
def test_jsonl_resume_after_the_process_ends(tmp_path):
    db = tmp_path / "s.db"
    rc, first, _ = chat(db, ANSWERS[:HALF])  # input ends: the process exits, the pre-screen stays open
    assert rc == 0 and first[-1]["type"] == "question"
    rid = first[0]["referral_id"]
    waiting = first[-1]
    assert waiting["fact"] == ELIGIBLE_GIRL_12[HALF][0]
    rc, second, _ = chat(db, ANSWERS[HALF:], "--resume", rid)
    assert rc == 0
    assert second[0] == waiting  # exactly where it was
    assert [q["fact"] for q in second[:-2]] == [fact for fact, _ in ELIGIBLE_GIRL_12[HALF:]]
    assert second[-1]["type"] == "outcome" and second[-1]["status"] == "eligible"
    assert len(stored_state(db, rid).history) == 30


@pytest.mark.slow  # a process of its own
def test_jsonl_resume_after_the_process_is_killed(tmp_path):
    db = tmp_path / "s.db"
    proc = subprocess.Popen([*BOT, "chat", "--jsonl", "--db", str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
    try:
        first = json.loads(proc.stdout.readline())
        rid = first["referral_id"]
        for text in ANSWERS[:HALF]:
            proc.stdin.write(text + "\n")
            proc.stdin.flush()
            echo = json.loads(proc.stdout.readline())  # the reply is shown only after the commit
            assert echo["type"] == "accepted"
            last = json.loads(proc.stdout.readline())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdin.close()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert last["fact"] == ELIGIBLE_GIRL_12[HALF][0]
    assert len(stored_state(db, rid).history) == HALF
    rc, second, _ = chat(db, ANSWERS[HALF:], "--resume", rid)
    assert rc == 0 and second[0] == last
    assert second[-1]["status"] == "eligible"


@pytest.mark.slow  # a process of its own
def test_jsonl_resume_of_a_finished_pre_screen_shows_its_outcome(tmp_path):
    db = tmp_path / "s.db"
    _, first, _ = chat(db, ANSWERS)
    rc, again, _ = chat(db, [], "--resume", first[0]["referral_id"])
    assert rc == 0 and [o["type"] for o in again] == ["outcome"]
    assert {k: v for k, v in again[0].items()} == first[-1]


@pytest.mark.parametrize("cancelled", [False, True])
@pytest.mark.slow  # a process of its own
def test_jsonl_resume_of_a_missing_or_cancelled_pre_screen_fails_cleanly(tmp_path, cancelled):
    db = tmp_path / "s.db"
    rid = "R-NONE-0000"
    if cancelled:
        _, out, _ = chat(db, ["cancel"])
        rid = out[0]["referral_id"]
    rc, out, err = chat(db, ["12"], "--resume", rid)
    assert rc == 2 and out == []
    assert err.startswith("screening-bot chat:") and rid in err and "Traceback" not in err


# ---- interactive ------------------------------------------------------------------------------------------

class FakeTerminal:
    """read() returns the scripted lines, then raises EOFError (Ctrl-D); write() records, and at each
    question checks that everything answered before it was committed (seen from another connection)."""

    def __init__(self, lines: list[str], db: Path | None = None) -> None:
        self.lines = list(lines)
        self.shown: list[str] = []
        self.prompts: list[str] = []
        self.db = db
        self.checked = 0

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    def write(self, text: str) -> None:
        self.shown.append(text)
        if self.db is not None and text.startswith("[question "):
            number = int(text.split()[1].rstrip(","))
            conn = sqlite3.connect(self.db)
            try:
                rows = conn.execute("SELECT state FROM prescreens WHERE phase = 'asking'").fetchall()
            finally:
                conn.close()
            assert any(len(State.from_json(r[0]).history) == number - 1 for r in rows), text
            self.checked += 1

    @property
    def text(self) -> str:
        return "\n".join(self.shown)


def test_interactive_pause_and_resume_in_a_new_store(tmp_path):
    db = tmp_path / "s.db"
    term = FakeTerminal(ANSWERS[:HALF], db)
    store = Store.open(db)
    assert terminal.interactive(store, None, term.read, term.write) == 0
    store.close()
    assert term.checked == HALF + 1  # every question shown after its predecessor was committed
    assert term.shown[-1].startswith("\nPaused. Resume with: screening-bot chat --resume R-")
    rid = term.shown[-1].split()[-1]
    assert f"[question {HALF + 1} of at most" in term.shown[-2]

    # A new process: the open pre-screen is offered, and taken up where it was.
    term2 = FakeTerminal(["1", *ANSWERS[HALF:]], db)
    store2 = Store.open(db)
    assert terminal.interactive(store2, None, term2.read, term2.write) == 0
    store2.close()
    assert term2.shown[0] == "Open pre-screens:" and term2.shown[1].startswith(f"  1. {rid} (last answer ")
    assert term2.prompts[0] == "Number to resume, or Enter for a new pre-screen: "
    assert term2.shown[2].startswith(f"Pre-screen {rid}.")
    assert term2.shown[3].startswith(f"Pre-screen {rid}: question {HALF + 1} of at most ")
    assert term2.shown[4] == term.shown[-2]  # the same question, word for word
    assert "ELIGIBLE for screening" in term2.text
    assert term2.lines == [] and term2.checked == len(ANSWERS) - HALF


def test_interactive_resume_by_id_and_commands(tmp_path):
    db = tmp_path / "s.db"
    store = Store.open(db)
    term = FakeTerminal(["12", "female", "quit"])
    assert terminal.interactive(store, None, term.read, term.write) == 0
    rid = term.shown[-1].split()[-1]
    assert term.shown[-1] == f"Paused. Resume with: screening-bot chat --resume {rid}"

    term = FakeTerminal(["maybe", "back", "summary", "female", "yes", "4 apples", "reopen", "cancel"])
    assert terminal.interactive(store, rid, term.read, term.write) == 0
    text = term.text
    assert '! Please answer yes or no (or "unknown").' in text
    assert 'Your answer "sex: female" was taken back.' in text
    assert "1. age: 12" in text and "  (yes / no / unknown)" in text
    assert "! I don't recognise \"4 apples\"" in text
    assert "! only a finished pre-screen can be reopened" in text
    assert term.shown[-1] == "Pre-screen cancelled."
    assert store.get(rid).phase == "cancelled"
    # A cancelled pre-screen cannot be resumed: a message, not a traceback.
    term = FakeTerminal([])
    assert terminal.interactive(store, rid, term.read, term.write) == 2
    assert term.shown == [f"Pre-screen {rid} cannot be resumed: this pre-screen was cancelled."]
    store.close()


def test_interactive_announces_ineligibility_and_lets_the_physician_go_on(tmp_path):
    store = Store.open(tmp_path / "s.db")
    term = FakeTerminal(["19", "female"])
    terminal.interactive(store, None, term.read, term.write)
    store.close()
    i = next(k for k, t in enumerate(term.shown) if t.startswith("Ineligibility is already certain:"))
    assert "I1 age 5 to 18 years: age 19 years > 18 years" in term.shown[i]
    assert "You may stop here (cancel) or go on answering." in term.shown[i]
    assert term.shown[i + 1].startswith("[question 2 ") and "1. female" in term.shown[i + 1]
    assert term.shown[i + 2].startswith("  Read as: sex: female.")
    assert term.shown[i + 3].startswith("[question 3 ")


def test_interactive_new_pre_screen_instead_of_resuming(tmp_path):
    store = Store.open(tmp_path / "s.db")
    terminal.interactive(store, None, FakeTerminal(["12"]).read, lambda _: None)
    term = FakeTerminal(["", "13"])
    terminal.interactive(store, None, term.read, term.write)
    assert len(store.prescreens(*terminal.ACTOR, phases=("asking",))) == 2
    assert store.get("R-NONE-0000") is None
    term = FakeTerminal([])
    assert terminal.interactive(store, "R-NONE-0000", term.read, term.write) == 2
    assert term.shown == ["No pre-screen R-NONE-0000 in this database."]
    store.close()


@pytest.mark.slow  # a process of its own
def test_jsonl_reads_answers_as_physicians_type_them_and_echoes_them(tmp_path):
    """Issue 12, through the real command: units converted, the reading echoed before the next question."""
    rc, out, _ = chat(tmp_path / "s.db", ["16 y 10 m", "female patient", "periods started last year",
                                          "no exclusions"], echo=True)
    assert rc == 0
    accepted = [o for o in out if o["type"] == "accepted"]
    assert [a["facts"] for a in accepted[:3]] == [{"age_years": 16}, {"sex": "female"},
                                                   {"childbearing_potential": True}]
    assert accepted[3]["facts"] and not any(accepted[3]["facts"].values())
    assert all(a["text"].startswith("Read as") for a in accepted)
    assert [o["type"] for o in out[:3]] == ["question", "accepted", "question"]


@pytest.mark.slow  # a process of its own
def test_a_pre_screen_is_open_in_one_terminal_only(tmp_path):
    """Issue 13: two `chat --resume REF` on one database each answered the question they showed; the
    second answer landed on the next question. Now the second terminal refuses, and changes nothing."""
    db = tmp_path / "s.db"
    store = Store.open(db)
    first = FakeTerminal(["12"])
    second: dict = {}

    def read_while_a_second_terminal_tries(prompt: str) -> str:
        if not second and len(first.lines) == 0:  # "12" answered; question 2 on screen here
            rid = next(t.split()[1].rstrip(".") for t in first.shown if t.startswith("Pre-screen R-"))
            second["rid"] = rid
            second["rc"], second["out"], second["err"] = chat(db, ["female"], "--resume", rid)
        return first.read(prompt)

    terminal.interactive(store, None, read_while_a_second_terminal_tries, first.write)
    assert second["rc"] == 2 and second["out"] == []
    assert "is open in another terminal" in second["err"] and second["err"].count("\n") == 1
    assert [e.q for e in store.load(second["rid"]).history] == ["age_years"], "nothing was answered twice"
    store.close()
    # Once the first session has ended, the pre-screen can be resumed elsewhere.
    rc, out, _ = chat(db, ["female"], "--resume", second["rid"])
    assert rc == 0 and out[0]["fact"] == "sex"
    store = Store.open(db)
    assert [e.q for e in store.load(second["rid"]).history] == ["age_years", "sex"]
    store.close()
