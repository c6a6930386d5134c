"""State proven by the trail (issue 14): every pre-screen, referral, decision, physician and invite is rebuilt
from the audit events and compared with its row (conversations/records/rebuild.py). A real run, in
Telegram and in the terminal, rebuilds with no difference; each kind of tampering with a state table is
named by table, key and field."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
import steps
from audit_fixtures import ELIGIBLE as FIXTURE_ELIGIBLE
from audit_fixtures import PHYSICIAN_A
from telegram_harness import COORDINATOR, ELIGIBLE, PHYSICIAN, STRANGER, Harness, ref_of, run_to_end

from conversations.dialogue import engine
from conversations.records import rebuild
from conversations.records.db import open_db
from conversations.records.store import Store

LINK = re.compile(r"\?start=([A-Za-z0-9_-]+)")
OLD = Path(__file__).parent / "data" / "protocol1.db"
CONTACT = "+41 44 555 12 34"


async def _telegram_run(tmp: Path) -> dict[str, str]:
    """Invites, a registration, pre-screens sent and decided, a revocation: every state table written."""
    async with Harness(tmp) as h:
        calls = await h.say(COORDINATOR, "/invite")
        code = LINK.search("\n".join(c.text for c in calls)).group(1)
        await h.say(COORDINATOR, "/invite")  # never used
        await h.say(STRANGER, f"/start {code}")
        for answer in ("Dr Anna Weber", "Charité Berlin", CONTACT):  # the physician directory (issue 15)
            await h.say(STRANGER, answer)
        await h.say(COORDINATOR, "/invite 30")
        await h.press(COORDINATOR, f"ix:{h.audit('invite_created')[-1]['payload']['invite_id']}")  # cancelled
        accepted = ref_of(await h.say(PHYSICIAN, "/screen"))
        await run_to_end(h, accepted, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{accepted}")
        await h.decide(COORDINATOR, accepted, 1, "i")  # with a note: nothing of an eligible one is missing
        await h.decide(COORDINATOR, accepted, 1, "a")
        declined = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "13")
        await h.say(PHYSICIAN, "/back")
        await run_to_end(h, declined, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{declined}")
        await h.decide(COORDINATOR, declined, 1, "a")  # accepted, then undone (issue 15)
        await h.press(COORDINATOR, f"du:{h.audit('coordinator_decision')[-1]['payload']['decision_id']}")
        await h.decide(COORDINATOR, declined, 1, "d", reason=4, note="not a candidate now")
        await h.say(PHYSICIAN, "/amend the age was typed wrongly")  # a new version, sent and decided again
        await h.say(PHYSICIAN, "/change 1")
        await h.say(PHYSICIAN, "13")
        await run_to_end(h, declined, ELIGIBLE)
        await h.press(PHYSICIAN, f"s:{declined}")
        await h.decide(COORDINATOR, declined, 2, "a")
        cancelled = ref_of(await h.say(PHYSICIAN, "/screen"))
        await h.say(PHYSICIAN, "14")
        await h.say(PHYSICIAN, "/cancel")
        await h.say(COORDINATOR, f"/revoke {STRANGER}")
        await h.say(COORDINATOR, f"/revoke {PHYSICIAN}")  # on the allow-list only: its row is the revocation
        await h.press(COORDINATOR, "lg:zh_Hans")  # a language chosen, then changed (issue 16)
        await h.press(COORDINATOR, "lg:en")
    return {"accepted": accepted, "declined": declined, "cancelled": cancelled}


@pytest.fixture(scope="module")
def telegram_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("telegram")
    refs = asyncio.run(_telegram_run(tmp))
    return tmp / "screening.db", refs


@pytest.fixture
def tampered(telegram_db, tmp_path):
    """A copy of the Telegram run's database, and a way to edit its tables as an attacker would."""
    src, refs = telegram_db
    dst = tmp_path / "copy.db"
    shutil.copy(src, dst)

    def sql(statement: str, *params: object) -> rebuild.RebuildResult:
        conn = sqlite3.connect(dst)
        conn.execute(statement, params)
        conn.commit()
        conn.close()
        return compare(dst)

    return sql, refs


def compare(path: Path) -> rebuild.RebuildResult:
    db = open_db(path)
    try:
        return rebuild.compare(db)
    finally:
        db.close()


def only(result: rebuild.RebuildResult) -> rebuild.Difference:
    assert len(result.differences) == 1, [rebuild.describe(d) for d in result.differences]
    return result.differences[0]


def fields(result: rebuild.RebuildResult) -> set[tuple[str, str, str]]:
    return {(d.table, d.key, d.field) for d in result.differences}


# ---- real runs rebuild with no difference -------------------------------------------------------------

def test_a_telegram_run_rebuilds_with_no_difference(telegram_db):
    path, refs = telegram_db
    result = compare(path)
    assert result.ok, [rebuild.describe(d) for d in result.differences]
    db = open_db(path)
    assert db.conn.execute("SELECT status, sends FROM referrals WHERE referral_id = ?",
                           (refs["declined"],)).fetchone() == ("accepted", 2), "amended, sent again, accepted"
    db.close()
    assert result.checked == {"prescreens": 3, "referrals": 2, "referral_decisions": 5, "physicians": 2,
                              "invites": 3, "user_languages": 1}
    assert not result.unchecked, "every field is carried by the events of this version"


def test_a_terminal_run_rebuilds_with_no_difference(store):
    rid = steps.start(store, "operator", 3).referral_id
    for text in ("12", "twelve", "female", "back", "female"):
        steps.apply(store, rid, engine.Answer(text), "operator", 3)
    steps.apply(store, rid, engine.Command("skip"), "operator", 3)
    steps.apply(store, rid, engine.Change(1), "operator", 3)
    steps.apply(store, rid, engine.Answer("13"), "operator", 3)
    steps.apply(store, rid, engine.Command("status"), "operator", 3)
    other = steps.start(store, "operator", 3).referral_id
    steps.apply(store, other, engine.Command("cancel"), "operator", 3)
    result = rebuild.compare(store.db)
    assert result.ok, [rebuild.describe(d) for d in result.differences]
    assert result.checked["prescreens"] == 2


def test_a_toggle_changes_the_row_and_says_so(store):
    """A step with no event of its own that changes the state records it with ``prescreen_saved``."""
    rid = steps.start(store, "physician", 7).referral_id
    state = store.load(rid)
    q = engine.current_question(state)
    while q.kind != "multi_choice":
        steps.apply(store, rid, engine.Answer("unknown"), "physician", 7)
        q = engine.current_question(store.load(rid))
    recorded = steps.apply(store, rid, engine.Toggle(q.seq, q.choices[0].value), "physician", 7)
    assert [e.type for e in recorded.events] == ["prescreen_saved"]
    row = store.db.conn.execute("SELECT state, updated_at FROM prescreens").fetchone()
    assert recorded.events[0].payload["state_sha"] == hashlib.sha256(row[0].encode()).hexdigest()
    assert recorded.events[0].ts == row[1]
    assert rebuild.compare(store.db).ok


def test_pre_screens_carried_over_from_protocol_1_rebuild(tmp_path):
    """Events from before the rows were recorded: what they cannot prove is counted, not reported."""
    path = tmp_path / "old.db"
    shutil.copy(OLD, path)
    Store.open(path).close()  # the carry-over records the rows it writes
    result = compare(path)
    assert result.ok, [rebuild.describe(d) for d in result.differences]
    assert result.checked["prescreens"] == 7
    assert result.unchecked["prescreens.history"] >= 1, "a protocol change renames questions"
    assert result.unchecked["referrals.decided_at"] == 2, "decided before rows and events shared a time"


def test_the_fixture_trail_without_its_rows_says_every_row_is_missing(trail):
    """The trail of audit_fixtures.populate has events only: each row it speaks of is missing; older
    payloads (no code hash, no send number) leave those fields unchecked."""
    result = rebuild.compare(trail)
    missing = {(d.table, d.key) for d in result.differences if d.field == "row"}
    assert ("prescreens", FIXTURE_ELIGIBLE) in missing and ("referrals", FIXTURE_ELIGIBLE) in missing
    assert ("physicians", str(PHYSICIAN_A)) in missing and ("invites", "inv-1") in missing
    assert ("referral_decisions", f"{FIXTURE_ELIGIBLE}#1") in missing
    assert all(d.found == "missing" and d.seq is not None for d in result.differences)


# ---- each kind of tampering -------------------------------------------------------------------------

def test_an_inserted_physician_is_caught(tampered):
    sql, _ = tampered
    d = only(sql("INSERT INTO physicians (user_id, via, registered_at) VALUES (666, 'invite', '2026-01-01')"))
    assert (d.table, d.key, d.field, d.seq) == ("physicians", "666", "row", None)
    assert "no event" in rebuild.describe(d)


def test_a_revoked_physician_restored_is_caught(tampered):
    sql, _ = tampered
    d = only(sql("UPDATE physicians SET revoked_at = NULL WHERE user_id = ?", STRANGER))
    assert (d.table, d.key, d.field, d.found) == ("physicians", str(STRANGER), "revoked_at", None)
    assert d.seq is not None


@pytest.mark.parametrize(("column", "value"), [("name", "Dr Mallory"), ("institution", "Elsewhere"),
                                               ("contact", "+41 44 666 66 66"), ("contact_salt", "salt")])
def test_a_physician_name_or_contact_edited_is_caught(tampered, column, value):
    """The directory is proven by the trail: the name and institution as recorded, the contact by its salted
    digest (the trail never holds the contact, and a difference never shows it)."""
    sql, _ = tampered
    result = sql(f"UPDATE physicians SET {column} = ? WHERE user_id = ?", value, STRANGER)
    d = only(result)
    assert (d.table, d.key, d.field) == ("physicians", str(STRANGER), "contact" if "contact" in column else column)
    if "contact" in column:
        assert CONTACT not in rebuild.describe(d) and value not in rebuild.describe(d)


def test_a_cancelled_invite_restored_is_caught(tampered):
    sql, _ = tampered
    result = sql("UPDATE invites SET cancelled_at = NULL, cancelled_by = NULL WHERE cancelled_at IS NOT NULL")
    assert {f for _, _, f in fields(result)} == {"cancelled_at", "cancelled_by"}


def test_an_inserted_invite_is_caught(tampered):
    sql, _ = tampered
    d = only(sql("INSERT INTO invites (invite_id, code_hash, created_by, created_at, expires_at)"
                 " VALUES ('inv-evil', ?, ?, '2026-01-01', '2099-01-01')", "0" * 64, COORDINATOR))
    assert (d.table, d.key, d.field) == ("invites", "inv-evil", "row")


@pytest.mark.parametrize("column, value", [("code_hash", "f" * 64), ("expires_at", "2099-01-01T00:00:00.000000Z")])
def test_an_invite_edited_is_caught(tampered, column, value):
    sql, _ = tampered
    d = only(sql(f"UPDATE invites SET {column} = ? WHERE used_by IS NULL AND cancelled_at IS NULL", value))
    assert (d.table, d.field, d.found) == ("invites", column, value)
    assert d.key.startswith("inv-") and d.seq is not None


@pytest.mark.parametrize("column, value", [
    ("owner_id", 666), ("owner_role", "coordinator"), ("channel", "terminal"), ("created_at", "2020-01-01"),
    ("updated_at", "2020-01-01"), ("outcome_status", "eligible")])
def test_a_pre_screen_column_edited_is_caught(tampered, column, value):
    sql, refs = tampered
    d = only(sql(f"UPDATE prescreens SET {column} = ? WHERE referral_id = ?", value, refs["cancelled"]))
    assert (d.table, d.key, d.field, d.found) == ("prescreens", refs["cancelled"], column, value)


def test_a_pre_screen_phase_edited_is_caught(tampered):
    sql, refs = tampered
    d = only(sql("UPDATE prescreens SET phase = 'asking' WHERE referral_id = ?", refs["cancelled"]))
    assert (d.table, d.key, d.field, d.expected) == ("prescreens", refs["cancelled"], "phase", "cancelled")


def test_an_answer_edited_in_the_state_is_named_by_its_question(tampered, telegram_db):
    sql, refs = tampered
    ref = refs["accepted"]
    state = json.loads(sqlite3.connect(telegram_db[0]).execute(
        "SELECT state FROM prescreens WHERE referral_id = ?", (ref,)).fetchone()[0])
    entry = next(e for e in state["history"] if e["q"] == "age_years")
    entry["value"], entry["raw"] = 17, "17"
    result = sql("UPDATE prescreens SET state = ? WHERE referral_id = ?", json.dumps(state), ref)
    assert fields(result) == {("prescreens", ref, "state"), ("prescreens", ref, "history.age_years")}
    lines = [rebuild.describe(d) for d in result.differences]
    assert any("answer to age_years" in line for line in lines)
    assert not any("17" in line.replace(ref, "") for line in lines), "no answer is quoted"


def test_an_answer_removed_from_the_state_is_named(tampered, telegram_db):
    sql, refs = tampered
    ref = refs["declined"]
    state = json.loads(sqlite3.connect(telegram_db[0]).execute(
        "SELECT state FROM prescreens WHERE referral_id = ?", (ref,)).fetchone()[0])
    state["history"] = [e for e in state["history"] if e["q"] != "sex"]
    result = sql("UPDATE prescreens SET state = ? WHERE referral_id = ?", json.dumps(state), ref)
    assert fields(result) == {("prescreens", ref, "state"), ("prescreens", ref, "history.sex")}


def test_a_state_edited_elsewhere_is_caught_by_its_hash(tampered):
    sql, refs = tampered
    ref = refs["accepted"]
    d = only(sql("UPDATE prescreens SET state = json_set(state, '$.sent', 0) WHERE referral_id = ?", ref))
    assert (d.table, d.key, d.field, d.found) == ("prescreens", ref, "state", "differs")
    assert "differs from what the trail recorded" in rebuild.describe(d)


@pytest.mark.parametrize("column, value", [("status", "declined"), ("outcome_status", "eligible"),
                                           ("decided_by", 666), ("sends", 2), ("physician_id", 666)])
def test_a_referral_edited_is_caught(tampered, column, value):
    sql, refs = tampered
    ref = refs["accepted"]
    if column == "outcome_status":
        ref = refs["declined"]
        value = "ineligible"
    d = only(sql(f"UPDATE referrals SET {column} = ? WHERE referral_id = ?", value, ref))
    assert (d.table, d.key, d.field, d.found) == ("referrals", ref, column, value)
    assert d.seq is not None
    assert column in rebuild.describe(d)


def test_a_decision_inserted_edited_or_deleted_is_caught(tampered):
    sql, refs = tampered
    ref = refs["accepted"]
    d = only(sql("UPDATE referral_decisions SET decision = 'decline' WHERE id = 2"))
    assert (d.table, d.key, d.field, d.expected, d.found) == ("referral_decisions", f"{ref}#2", "decision",
                                                              "accept", "decline")
    sql("UPDATE referral_decisions SET decision = 'accept' WHERE id = 2")
    d = only(sql("INSERT INTO referral_decisions (referral_id, send_no, coordinator_id, decision, decided_at)"
                 " VALUES (?, 1, ?, 'accept', '2026-01-01')", ref, COORDINATOR))
    assert (d.table, d.key, d.field, d.seq) == ("referral_decisions", f"{ref}#6", "row", None)
    sql("DELETE FROM referral_decisions WHERE id = 6")
    d = only(sql("DELETE FROM referral_decisions WHERE id = 3"))
    assert (d.table, d.key, d.field, d.found) == ("referral_decisions", f"{refs['declined']}#3", "row", "missing")
    assert d.seq is not None


@pytest.mark.parametrize("table, where, key", [
    ("prescreens", "referral_id = '{cancelled}'", "{cancelled}"),
    ("referrals", "referral_id = '{declined}'", "{declined}"),
    ("physicians", f"user_id = {STRANGER}", str(STRANGER)),
    ("invites", "used_by IS NOT NULL", None),
])
def test_a_row_deleted_whose_events_exist_is_caught(tampered, table, where, key):
    sql, refs = tampered
    result = sql(f"DELETE FROM {table} WHERE {where.format(**refs)}")
    d = next(d for d in result.differences if d.table == table)
    assert (d.field, d.found) == ("row", "missing") and d.seq is not None
    if key is not None:
        assert d.key == key.format(**refs)
    assert "missing" in rebuild.describe(d)


def test_differences_name_no_answer_text(tampered):
    sql, refs = tampered
    result = sql("UPDATE prescreens SET state = replace(state, '\"raw\":\"14\"', '\"raw\":\"15\"')"
                 " WHERE referral_id = ?", refs["cancelled"])
    assert result.differences
    for d in result.differences:
        line = rebuild.describe(d).replace(refs["cancelled"], "")
        assert "15" not in line and "14" not in line


def test_a_database_not_yet_migrated_rebuilds_as_far_as_its_events_go():
    """audit verify opens a database as it is: columns and keys it does not have yet are unchecked."""
    db = sqlite_utils.Database(sqlite3.connect(f"file:{OLD}?mode=ro&immutable=1", uri=True))
    result = rebuild.compare(db)
    db.close()
    assert result.ok, [rebuild.describe(d) for d in result.differences]
    assert result.unchecked["referrals.protocol_version"] == 3 and result.unchecked["prescreens.state"] == 7


# ---- decisions with reasons (issue 15) ---------------------------------------------------------------

def test_a_decision_reason_edited_is_caught(tampered):
    sql, _ = tampered
    d = only(sql("UPDATE referral_decisions SET reason = 'the family declined' WHERE decision = 'decline'"))
    assert (d.table, d.field, d.expected, d.found) == ("referral_decisions", "reason", "not a candidate now",
                                                        "the family declined")
    assert d.seq is not None


@pytest.mark.parametrize(("column", "value"), [("reason_code", "age_range"), ("items", '["lvef_percent"]')])
def test_a_decision_reason_code_or_items_edited_is_caught(tampered, column, value):
    sql, _ = tampered
    d = only(sql(f"UPDATE referral_decisions SET {column} = ? WHERE decision = 'decline'", value))
    assert (d.table, d.field) == ("referral_decisions", column)


def test_an_undo_hidden_is_caught(tampered):
    """The undone decision made to stand again: the row's undo fields differ from the trail's."""
    sql, _ = tampered
    result = sql("UPDATE referral_decisions SET undone_at = NULL, undone_by = NULL WHERE undone_at IS NOT NULL")
    assert {f for _, _, f in fields(result)} == {"undone_at", "undone_by"}


# ---- languages chosen (issue 16) ---------------------------------------------------------------------

def test_a_language_edited_or_inserted_is_caught(tampered):
    sql, _ = tampered
    d = only(sql("UPDATE user_languages SET lang = 'zh_Hans'"))
    assert (d.table, d.field, d.expected, d.found) == ("user_languages", "lang", "en", "zh_Hans")
    assert d.seq is not None
    sql("UPDATE user_languages SET lang = 'en'")
    d = only(sql("INSERT INTO user_languages (user_id, lang, chosen_at) VALUES (?, 'zh_Hans', '2025-01-01')", 4242))
    assert (d.table, d.key, d.field) == ("user_languages", "4242", "row")
