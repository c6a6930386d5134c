"""Exports of the trail: jsonl read back equals the database, csv, filters, and the export's own event."""

import csv
import json

import pytest
from audit_fixtures import ELIGIBLE, IN_PROGRESS, REFERRALS, rows

from conversations.records import audit
from conversations.records.audit_export import export, parse_since, publish, read_jsonl
from conversations.records.audit_verify import COLUMNS, verify_rows


@pytest.fixture
def db(trail):
    return trail


def test_jsonl_round_trip_equals_the_database(db, tmp_path):
    before = rows(db)
    result = export(db, tmp_path / "trail.jsonl", "jsonl", actor_role="operator", actor_id=7)
    back = read_jsonl(result.path)
    assert back.events == before
    assert (result.events, result.referrals) == (len(before), len(REFERRALS))
    # The file alone proves its events form the chain up to its head.
    check = verify_rows([tuple(e[c] for c in COLUMNS) for e in back.events], head=back.head["chain_hash"])
    assert check.ok and check.head == back.head["chain_hash"]


def test_head_is_the_trail_head_before_the_export_event(db, tmp_path):
    head_seq, head = audit.head(db)
    result = export(db, tmp_path / "trail.jsonl", "jsonl", actor_role="coordinator", actor_id=201)
    lines = (tmp_path / "trail.jsonl").read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    assert last["record"] == "head" and (last["seq"], last["chain_hash"]) == (head_seq, head)
    assert (result.head_seq, result.head) == (head_seq, head)
    event = rows(db)[-1]
    assert (event["seq"], event["type"], event["actor_role"], event["actor_id"]) == (
        head_seq + 1, "export", "coordinator", 201)
    assert json.loads(event["payload"]) == {"format": "jsonl", "referral_id": None, "since": None,
                                            "events": head_seq, "head": head}
    assert result.audit_seq == head_seq + 1


def test_payload_is_exported_as_json_not_as_a_string(db, tmp_path):
    export(db, tmp_path / "trail.jsonl", "jsonl", actor_role="operator", actor_id=7)
    first = json.loads((tmp_path / "trail.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["record"] == "event" and first["payload"] == {"invite_id": "inv-1"}


def test_transcripts_read_in_order(db, tmp_path):
    export(db, tmp_path / "trail.jsonl", "jsonl", actor_role="operator", actor_id=7)
    transcripts = read_jsonl(tmp_path / "trail.jsonl").transcripts
    assert set(transcripts) == set(REFERRALS)
    lines = transcripts[IN_PROGRESS]
    assert lines == sorted(lines)  # ts first, one fake minute a step
    text = "\n".join(lines)
    assert "physician 101: sent command: /start" in text
    assert "answer to question age rejected: Please give the age" in text
    assert "physician 101: answered question age: 12 (age_years = 12)" in text
    assert "withdrew the answer to question sex (sex = \"male\")" in text
    assert "answered question lvef: not known (lvef_percent unknown)" in text
    assert "corrected question age: sorry, 13 (was age_years = 12; now age_years = 13)" in text
    assert "system 0: sent to chat 101: Question sex?" in text
    assert "outcome incomplete (provisional)" in text
    accepted = "\n".join(transcripts[ELIGIBLE])
    assert "outcome eligible (final); pending I6, I7, E3c, E11, E13" in accepted
    assert "coordinator 201: decision: accept" in accepted


def test_csv_holds_events_transcripts_and_a_head_trailer(db, tmp_path):
    before = rows(db)
    head_seq, head = audit.head(db)
    export(db, tmp_path / "trail.csv", "csv", actor_role="operator", actor_id=7)
    with open(tmp_path / "trail.csv", encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["record", *COLUMNS]
    events = [r[1:] for r in table if r[0] == "event"]
    assert events == [["" if v is None else str(v) for v in r.values()] for r in before]
    transcript = [r for r in table if r[0] == "transcript"]
    assert len(transcript) == sum(1 for r in before if r["referral_id"])
    assert transcript[0][7].startswith(transcript[0][2])  # the readable line (payload column) begins with ts
    assert table[-1][0] == "head" and (int(table[-1][1]), table[-1][9]) == (head_seq, head)
    assert json.loads(table[-1][7])["events"] == len(before)


def test_referral_filter(db, tmp_path):
    head_seq, head = audit.head(db)
    result = export(db, tmp_path / "one.jsonl", "jsonl", actor_role="operator", actor_id=7,
                    referral_id=ELIGIBLE)
    back = read_jsonl(result.path)
    assert back.events == [r for r in rows(db) if r["referral_id"] == ELIGIBLE]
    assert list(back.transcripts) == [ELIGIBLE]
    assert (back.head["seq"], back.head["chain_hash"], back.head["referral_id"]) == (head_seq, head, ELIGIBLE)
    assert json.loads(rows(db)[-1]["payload"])["referral_id"] == ELIGIBLE


@pytest.mark.parametrize("since", ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00+01:00", "2026-03-02T10:00"])
def test_since_filter(db, tmp_path, since):
    result = export(db, tmp_path / "late.jsonl", "jsonl", actor_role="operator", actor_id=7, since=since)
    back = read_jsonl(result.path)
    expected = [r for r in rows(db) if r["ts"] >= "2026-03-02T10:00:00.000000Z" and r["type"] != "export"]
    assert back.events == expected and 0 < len(expected) < len(rows(db)) - 1
    assert all(line >= "2026-03-02T10:00" for lines in back.transcripts.values() for line in lines)
    assert back.head["since"] == "2026-03-02T10:00:00.000000Z"


def test_since_a_date_takes_the_whole_day(db, tmp_path):
    assert parse_since("2026-03-02") == "2026-03-02T00:00:00.000000Z"
    assert read_jsonl(export(db, tmp_path / "d.jsonl", "jsonl", actor_role="operator", actor_id=7,
                             since="2026-03-03").path).events == []


def test_bad_since_or_role_or_format_exports_nothing(db, tmp_path):
    head = audit.head(db)
    with pytest.raises(ValueError, match="not an ISO date"):
        export(db, tmp_path / "x.jsonl", "jsonl", actor_role="operator", actor_id=7, since="yesterday")
    with pytest.raises(ValueError, match="exports are made by"):
        export(db, tmp_path / "x.jsonl", "jsonl", actor_role="physician", actor_id=101)
    with pytest.raises(ValueError, match="unknown export format"):
        export(db, tmp_path / "x.xml", "xml", actor_role="operator", actor_id=7)
    assert audit.head(db) == head
    assert list(tmp_path.glob("x.*")) == []


def test_a_failed_write_leaves_neither_file_nor_event(db, tmp_path):
    head = audit.head(db)

    def broken(db, path, selection):
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError):
        publish(db, tmp_path / "x.jsonl", "jsonl", broken, actor_role="operator", actor_id=7, referral_id=None,
                since=None)
    assert audit.head(db) == head and list(tmp_path.glob("x.jsonl*")) == []


def test_events_appended_during_an_export_are_not_in_it(db, tmp_path):
    # The head is read first and the export stops there, so the file and its head always agree.
    head_seq, _ = audit.head(db)
    first = export(db, tmp_path / "a.jsonl", "jsonl", actor_role="operator", actor_id=7)
    second = export(db, tmp_path / "b.jsonl", "jsonl", actor_role="operator", actor_id=7)
    assert second.head_seq == first.audit_seq == head_seq + 1
    assert read_jsonl(second.path).events[-1]["type"] == "export"
