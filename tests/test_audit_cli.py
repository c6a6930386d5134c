"""`screening-bot audit verify|export` and `screening-bot log`: exit codes and messages."""

import json

import pytest
from audit_fixtures import ELIGIBLE, drop_triggers, rows

from bot.cli import main
from conversations.records import audit
from conversations.records.audit_export import read_jsonl
from conversations.records.db import open_db


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_sound_trail(db_path, capsys):
    db = open_db(db_path)
    seq, head = audit.head(db)
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 0 and err == ""
    assert out.strip().startswith(f"audit trail sound: {seq} events, head {seq} {head}; keyed from event 1 (key ")
    assert run(capsys, "audit", "verify", "--db", str(db_path), "--head", head)[0] == 0


def test_verify_names_the_first_bad_event(db_path, capsys):
    db = open_db(db_path)
    drop_triggers(db)
    db.conn.execute(f"UPDATE {audit.TABLE} SET actor_id = 666 WHERE seq = 12")
    db.conn.commit()
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 1 and out == ""
    assert "broken at event 12: MAC mismatch" in err and "11 events before it are sound" in err
    assert len(err.strip().splitlines()) == 1


def test_verify_with_a_head_the_trail_no_longer_reaches(db_path, capsys):
    db = open_db(db_path)
    _, head = audit.head(db)
    drop_triggers(db)
    db.conn.execute(f"DELETE FROM {audit.TABLE} WHERE seq = (SELECT MAX(seq) FROM {audit.TABLE})")
    db.conn.commit()
    assert run(capsys, "audit", "verify", "--db", str(db_path))[0] == 1, "the triggers are missing"
    audit.ensure_schema(db)  # put back, as someone covering their tracks would
    assert run(capsys, "audit", "verify", "--db", str(db_path))[0] == 0
    code, _, err = run(capsys, "audit", "verify", "--db", str(db_path), "--head", head)
    assert code == 1 and f"head {head} is not in the chain" in err


def test_missing_database_is_a_clear_error_and_not_created(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SCREENING_DB_PATH", raising=False)
    missing = tmp_path / "nope.db"
    for argv in (["audit", "verify"], ["audit", "export", "--format", "jsonl", "--out", str(tmp_path / "x")],
                 ["log"]):
        code, out, err = run(capsys, *argv, "--db", str(missing))
        assert code == 2 and out == ""
        assert err.strip().endswith(f"no database at {missing} (give --db PATH or set SCREENING_DB_PATH)")
        assert len(err.strip().splitlines()) == 1
    assert not missing.exists()


def test_database_without_a_trail(tmp_path, capsys):
    open_db(tmp_path / "other.db")["t"].insert({"a": 1})
    code, _, err = run(capsys, "audit", "verify", "--db", str(tmp_path / "other.db"))
    assert code == 2 and "holds no audit trail" in err


def test_db_path_from_the_environment(db_path, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SCREENING_DB_PATH", str(db_path))
    assert run(capsys, "audit", "verify")[0] == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCREENING_DB_PATH")
    code, _, _ = run(capsys, "log")  # default ./screening.db, which is db_path here
    assert code == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "fhir"])
def test_export_writes_the_file_and_records_the_event(db_path, capsys, tmp_path, fmt):
    out_path = tmp_path / f"export.{fmt}"
    seq, head = audit.head(open_db(db_path))
    code, out, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", fmt, "--out",
                         str(out_path), "--as", "coordinator", "--actor-id", "201")
    assert code == 0 and err == ""
    assert out_path.is_file()
    assert f"head {seq} {head}; recorded as audit event {seq + 1}" in out
    event = rows(open_db(db_path))[-1]
    assert (event["type"], event["actor_role"], event["actor_id"]) == ("export", "coordinator", 201)
    assert json.loads(event["payload"])["format"] == fmt


def test_export_filters_and_default_actor(db_path, capsys, tmp_path):
    out_path = tmp_path / "one.jsonl"
    code, _, _ = run(capsys, "audit", "export", "--db", str(db_path), "--format", "jsonl", "--out",
                     str(out_path), "--referral", ELIGIBLE, "--since", "2026-03-02")
    assert code == 0
    assert {e["referral_id"] for e in read_jsonl(out_path).events} == {ELIGIBLE}
    event = rows(open_db(db_path))[-1]
    assert event["actor_role"] == "operator" and isinstance(event["actor_id"], int)


def test_export_refuses_to_overwrite_and_bad_dates(db_path, capsys, tmp_path):
    existing = tmp_path / "old.jsonl"
    existing.write_text("earlier export", encoding="utf-8")
    before = audit.head(open_db(db_path))
    code, _, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", "jsonl", "--out",
                       str(existing))
    assert code == 2 and "already exists" in err and existing.read_text(encoding="utf-8") == "earlier export"
    code, _, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", "csv", "--out",
                       str(tmp_path / "new.csv"), "--since", "last week")
    assert code == 2 and "not an ISO date" in err and not (tmp_path / "new.csv").exists()
    assert audit.head(open_db(db_path)) == before


def test_log_text_and_json(db_path, capsys):
    code, out, _ = run(capsys, "log", "--db", str(db_path))
    assert code == 0 and "Pre-screens started" in out and "failing E9a" in out
    code, out, _ = run(capsys, "log", "--db", str(db_path), "--json")
    assert code == 0 and json.loads(out)["sent"] == 2
