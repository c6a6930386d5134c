"""Exports that prove themselves (#14): the head an export carries is recomputed from the events as they
are read, an altered trail is refused rather than exported with its old head, and `audit verify-export`
checks a jsonl file on its own, with no database."""

import json

import pytest
from audit_fixtures import ELIGIBLE, drop_triggers

from bot.cli import main
from conversations.records import audit
from conversations.records.audit_export import BrokenTrail, export
from conversations.records.db import open_db
from conversations.records.export_verify import verify_export

TARGET = 20  # an event in the middle of the trail


def run(capsys, *argv):
    capsys.readouterr()  # what came before (an export's own line)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def exported(db_path, tmp_path, *args, name="trail.jsonl"):
    out = tmp_path / name
    assert main(["audit", "export", "--db", str(db_path), "--format", "jsonl", "--out", str(out), *args]) == 0
    return out


def key_of(db_path):
    """The --key-file argument naming the key the bot keeps beside ``db_path``."""
    return ["--key-file", str(db_path.with_name(db_path.name + ".audit-key"))]


def lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path, items):
    path.write_text("".join(line + "\n" for line in items), encoding="utf-8")


def tamper_payload(db_path):
    """As tests/test_audit_tamper.py does: triggers dropped, one payload edited in place."""
    db = open_db(db_path)
    drop_triggers(db)
    payload = json.loads(db.conn.execute(f"SELECT payload FROM {audit.TABLE} WHERE seq = ?",
                                         (TARGET,)).fetchone()[0])
    payload["tampered"] = True
    db.conn.execute(f"UPDATE {audit.TABLE} SET payload = ? WHERE seq = ?", (audit.canonical(payload), TARGET))
    db.conn.commit()
    db.conn.close()


# --- the head an export writes -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_altered_trail_is_refused_not_exported_with_its_old_head(db_path, tmp_path, capsys, fmt):
    tamper_payload(db_path)
    before = audit.head(open_db(db_path))
    out = tmp_path / f"trail.{fmt}"
    code, stdout, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", fmt, "--out", str(out))
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and f"broken at event {TARGET}" in err
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.glob(f".{out.name}.*")) == []  # nothing left behind
    assert audit.head(open_db(db_path)) == before  # and no export event recorded


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_invalid_utf8_in_the_trail_is_refused_in_one_line(db_path, tmp_path, capsys, fmt):
    db = open_db(db_path)
    drop_triggers(db)
    db.conn.execute(f"UPDATE {audit.TABLE} SET payload = CAST(X'FF' AS TEXT) WHERE seq = ?", (TARGET,))
    db.conn.commit()
    db.conn.close()
    out = tmp_path / f"trail.{fmt}"
    code, _, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", fmt, "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"broken at event {TARGET}" in err
    assert not out.exists()


def test_the_tail_cut_off_after_the_head_was_read_is_refused(db_path, tmp_path):
    """The head is read first, then the events: events that no longer reach it are not exported with it."""
    from conversations.records.audit_export import Selection
    db = open_db(db_path)
    seq, head = audit.head(db)
    with pytest.raises(BrokenTrail, match="not at the head"):
        list(Selection(seq + 1, "e" * 64).rows(db))


def test_a_partial_export_of_an_altered_trail_is_refused_too(db_path, tmp_path):
    tamper_payload(db_path)
    with pytest.raises(BrokenTrail) as info:
        export(open_db(db_path), tmp_path / "one.jsonl", "jsonl", actor_role="operator", actor_id=7,
               referral_id=ELIGIBLE)
    assert info.value.result.bad_seq == TARGET


def test_each_exported_event_carries_its_previous_chain_hash(db_path, tmp_path):
    out = exported(db_path, tmp_path)
    events = [json.loads(line) for line in lines(out) if json.loads(line)["record"] == "event"]
    assert events[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["chain_hash"] for a, b in zip(events, events[1:], strict=False))


# --- verify-export -------------------------------------------------------------------------------------


def test_a_sound_full_export_verifies(db_path, tmp_path, capsys):
    seq, head = audit.head(open_db(db_path))
    out = exported(db_path, tmp_path)
    code, stdout, err = run(capsys, "audit", "verify-export", str(out), *key_of(db_path))
    assert (code, err) == (0, "")
    assert stdout.strip() == f"export sound: {seq} events, head {seq} {head}"
    # Without the key, the structure is sound but its MACs are not proven: said, and exit 3.
    code, stdout, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 3 and stdout.strip() == f"export sound: {seq} events, head {seq} {head}"
    assert f"not proven: {seq} MACs were not checked: no audit key" in err


def test_verify_export_needs_no_database(db_path, tmp_path, capsys, monkeypatch):
    out = exported(db_path, tmp_path)
    key = key_of(db_path)
    db_path.unlink()
    monkeypatch.setenv("SCREENING_DB_PATH", str(tmp_path / "nowhere.db"))
    assert run(capsys, "audit", "verify-export", str(out), *key)[0] == 0
    assert not (tmp_path / "nowhere.db").exists()


def _event_line_no(path, seq):
    for n, line in enumerate(lines(path), start=1):
        record = json.loads(line)
        if record["record"] == "event" and record["seq"] == seq:
            return n
    raise AssertionError(seq)


def test_an_edited_payload_names_its_line(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    n = _event_line_no(out, TARGET)
    record = json.loads(items[n - 1])
    record["payload"]["tampered"] = True
    items[n - 1] = json.dumps(record)
    write_lines(out, items)
    code, stdout, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and stdout == ""
    assert len(err.strip().splitlines()) == 1
    assert f"line {n}" in err and f"event {TARGET}" in err and "payload" in err


def test_an_edited_payload_with_its_hashes_recomputed_is_caught_at_the_next_event(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    n = _event_line_no(out, TARGET)
    record = json.loads(items[n - 1])
    record["payload"]["tampered"] = True
    record["payload_hash"] = audit.sha256(audit.canonical(record["payload"]))
    record["chain_hash"] = audit.chain_hash(record["prev_hash"], record["seq"], record["ts"],
                                            record["actor_role"], record["actor_id"], record["referral_id"],
                                            record["type"], record["payload_hash"])
    items[n - 1] = json.dumps(record)
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and f"line {n + 1}" in err


def test_a_deleted_line_is_caught(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    n = _event_line_no(out, TARGET)
    del items[n - 1]
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and f"line {n}" in err and "removed" in err


def test_an_edited_head_is_caught(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    head = json.loads(items[-1])
    head["chain_hash"] = "f" * 64
    items[-1] = json.dumps(head)
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and f"line {len(items)}" in err and "head" in err


def test_an_edited_head_seq_is_caught(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    head = json.loads(items[-1])
    head["seq"] -= 1
    items[-1] = json.dumps(head)
    write_lines(out, items)
    assert run(capsys, "audit", "verify-export", str(out))[0] == 1


def test_the_last_event_removed_with_the_head_rewritten_is_caught_by_the_count(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    items = lines(out)
    events = [i for i, line in enumerate(items) if json.loads(line)["record"] == "event"]
    last = json.loads(items[events[-1]])
    del items[events[-1]]
    head = json.loads(items[-1])
    head["seq"], head["chain_hash"] = last["seq"] - 1, last["prev_hash"]
    items[-1] = json.dumps(head)
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and "events" in err


def test_a_truncated_file_is_caught(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    code, stdout, err = run(capsys, "audit", "verify-export", str(out))
    assert code in (1, 2) and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_file_without_its_head_line_was_cut_short(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path)
    write_lines(out, lines(out)[:-1])
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and "no head line" in err


@pytest.mark.parametrize("content", [b"this is not json\n", b"\xff\xfe\x00garbage\n", b"[1, 2]\n", b""])
def test_a_file_that_is_not_an_export_is_one_line_exit_2(tmp_path, capsys, content):
    out = tmp_path / "bad.jsonl"
    out.write_bytes(content)
    code, stdout, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 2 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_missing_file_is_one_line_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "audit", "verify-export", str(tmp_path / "missing.jsonl"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "missing.jsonl" in err


def test_a_directory_is_one_line_exit_2(tmp_path, capsys):
    code, _, err = run(capsys, "audit", "verify-export", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1


# --- partial exports -----------------------------------------------------------------------------------


def test_a_partial_export_is_checked_as_far_as_it_can_be_and_says_so(db_path, tmp_path, capsys):
    seq, head = audit.head(open_db(db_path))
    out = exported(db_path, tmp_path, "--referral", ELIGIBLE)
    n = sum(1 for line in lines(out) if json.loads(line)["record"] == "event")
    code, stdout, err = run(capsys, "audit", "verify-export", str(out), *key_of(db_path))
    assert (code, err) == (0, "")
    assert stdout.startswith(f"export sound: {n} events, head {seq} {head}")
    assert "partial" in stdout and "audit verify --head" in stdout


def test_a_partial_export_with_an_edited_payload_is_caught(db_path, tmp_path, capsys):
    out = exported(db_path, tmp_path, "--referral", ELIGIBLE)
    items = lines(out)
    record = json.loads(items[2])
    assert record["record"] == "event"
    record["payload"]["tampered"] = True
    items[2] = json.dumps(record)
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and "line 3" in err


def test_a_partial_export_with_an_event_of_another_referral_is_caught(db_path, tmp_path, capsys):
    full = exported(db_path, tmp_path, name="full.jsonl")
    other = next(json.loads(line) for line in lines(full)
                 if json.loads(line)["record"] == "event" and json.loads(line)["referral_id"] not in (None, ELIGIBLE))
    out = exported(db_path, tmp_path, "--referral", ELIGIBLE)
    items = lines(out)
    events = [json.loads(line) for line in items if json.loads(line)["record"] == "event"]
    at = next((i for i, e in enumerate(events) if e["seq"] > other["seq"]), len(events))
    items.insert(at, json.dumps(other))
    write_lines(out, items)
    code, _, err = run(capsys, "audit", "verify-export", str(out))
    assert code == 1 and f"line {at + 1}" in err


def test_verify_export_as_a_function(db_path, tmp_path):
    out = exported(db_path, tmp_path)
    r = verify_export(out)
    assert r.ok and not r.partial and r.events == r.head_seq
