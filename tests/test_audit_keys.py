"""The keyed audit trail at the edges (#14): the key file generated at the first start, a trail from before
keys keyed from a recorded point on, the refusals to write without the trail's key, and what `audit verify`
and `audit verify-export` say with the key, without it and with another one."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from audit_fixtures import drop_triggers
from telegram_harness import PHYSICIAN, Harness

from bot import chat_cmd
from bot.cli import main
from conversations.records import audit, audit_key
from conversations.records.audit import GENESIS, KEYED, TABLE, canonical, chain_hash, sha256
from conversations.records.db import open_db

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "screening-bot"
BOT = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]
COLS = "seq, ts, actor_role, actor_id, referral_id, type, payload, payload_hash, chain_hash, key_id"
OTHER_HEX = "ab" * 32  # a well-formed key that is no trail's


# ---- helpers ------------------------------------------------------------------------------------------------

def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def chat(capsys, monkeypatch, *args: str, lines: str = "14\nfemale\n") -> tuple[int, str, str]:
    """`chat --jsonl` in-process, two answers on its standard input."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines.encode()), encoding="utf-8"))
    return run(capsys, "chat", "--jsonl", *args)


def events(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT {COLS} FROM {TABLE} ORDER BY seq").fetchall()
    finally:
        conn.close()


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def key_file_of(db: Path) -> Path:
    return db.with_name(db.name + ".audit-key")


def key_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "key" in r.getMessage()]


def one_line(err: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err


def plain_rechain(rows: list[tuple]) -> list[tuple]:
    """``rows`` (COLS order) renumbered from 1 with plain SHA-256 hashes and no key: a trail rebuilt from
    genesis by someone without the key."""
    out, prev = [], GENESIS
    for seq, row in enumerate(rows, start=1):
        _, ts, role, actor_id, referral_id, type_, payload, _, _, _ = row
        p_hash = sha256(payload)
        c_hash = chain_hash(prev, seq, ts, role, actor_id, referral_id, type_, p_hash)
        out.append((seq, ts, role, actor_id, referral_id, type_, payload, p_hash, c_hash, None))
        prev = c_hash
    return out


def append_raw(db: Path, seq: int, prev: str, key: audit_key.AuditKey | None, key_id: str | None) -> None:
    """A forged coordinator decision appended past the head (triggers dropped), its hash computed with ``key``
    (None: plain SHA-256)."""
    payload = canonical({"decision": "accept"})
    ts, p_hash = "2026-03-02T12:00:00.000000Z", sha256(payload)
    c_hash = chain_hash(prev, seq, ts, "coordinator", 201, "R-7KQ2-9XPM", "coordinator_decision", p_hash, key)
    conn = sqlite3.connect(db)
    try:
        conn.execute(f"INSERT INTO {TABLE} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, ts, "coordinator", 201, "R-7KQ2-9XPM", "coordinator_decision", payload, p_hash,
                      c_hash, key_id))
        conn.commit()
    finally:
        conn.close()


def with_triggers_dropped(db: Path) -> None:
    d = open_db(db)
    drop_triggers(d)
    d.conn.close()


@pytest.fixture
def unkeyed(cwd, capsys, monkeypatch) -> Path:
    """A trail written before keys: a pre-screen by `chat` as it was then (no key bound, every event plain,
    state tables and all), in the working directory, with no key file anywhere."""
    with monkeypatch.context() as m:
        m.setattr(chat_cmd.audit_keys, "for_writing", lambda *args, **kwargs: None)
        assert chat(capsys, m)[0] == 0
    db = cwd / "screening.db"
    assert not key_file_of(db).exists()
    return db


# ---- 1. the first start -------------------------------------------------------------------------------------

def test_first_start_generates_a_private_key_file_and_keys_the_trail_from_event_1(cwd, capsys, monkeypatch,
                                                                                   caplog):
    code, _, err = chat(capsys, monkeypatch)
    assert code == 0 and err == ""
    key_path = cwd / "screening.db.audit-key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    text = key_path.read_text(encoding="ascii")
    assert len(text) == 65 and text.endswith("\n") and all(c in "0123456789abcdef" for c in text[:64])
    # One line, naming the file and saying it must not travel with the backups.
    said = key_warnings(caplog)
    assert len(said) == 1 and "\n" not in said[0]
    assert "screening.db.audit-key" in said[0] and "never copy it with the database's backups" in said[0]
    assert text[:64] not in said[0]
    key = audit_key.load(key_path)
    rows = events(cwd / "screening.db")
    first = rows[0]
    assert (first[0], first[5]) == (1, KEYED)
    assert json.loads(first[6]) == {"key_id": key.key_id, "from_seq": 1, "plain_head": GENESIS}
    assert len(rows) > 1 and {r[9] for r in rows} == {key.key_id}


def test_a_second_start_says_nothing_of_keys_and_writes_with_the_same_key(cwd, capsys, monkeypatch, caplog):
    assert chat(capsys, monkeypatch)[0] == 0
    key_path = cwd / "screening.db.audit-key"
    key_bytes, before = key_path.read_bytes(), len(events(cwd / "screening.db"))
    caplog.clear()
    code, _, err = chat(capsys, monkeypatch)
    assert code == 0 and err == "" and key_warnings(caplog) == []
    assert key_path.read_bytes() == key_bytes
    rows = events(cwd / "screening.db")
    assert len(rows) > before and [r[5] for r in rows].count(KEYED) == 1
    assert {r[9] for r in rows} == {audit_key.load(key_path).key_id}
    assert run(capsys, "audit", "verify")[0] == 0


@pytest.mark.slow  # a process of its own: the notice as it reaches a real standard error
def test_the_first_start_notice_is_one_line_on_standard_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "TELEGRAM_"))}
    db = tmp_path / "s.db"
    proc = subprocess.run([*BOT, "chat", "--jsonl", "--db", str(db)], input="14\n", capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0
    assert proc.stderr.count("\n") == 1 and str(key_file_of(db)) in proc.stderr
    assert "never copy it with the database's backups" in proc.stderr
    proc = subprocess.run([*BOT, "chat", "--jsonl", "--db", str(db)], input="14\n", capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""


# ---- 2. a trail from before keys ------------------------------------------------------------------------------

def test_a_trail_from_before_keys_is_keyed_from_a_recorded_point_with_nothing_rewritten(unkeyed, cwd, capsys,
                                                                                         monkeypatch):
    before = events(unkeyed)
    assert before and {r[9] for r in before} == {None}
    old_seq, old_head = before[-1][0], before[-1][8]
    assert chat(capsys, monkeypatch, "--db", str(unkeyed))[0] == 0
    after = events(unkeyed)
    assert after[:len(before)] == before, "the plain events keep their bytes and a NULL key_id"
    key = audit_key.load(key_file_of(unkeyed))
    keyed = after[len(before)]
    assert (keyed[0], keyed[5], keyed[9]) == (old_seq + 1, KEYED, key.key_id)
    assert json.loads(keyed[6]) == {"key_id": key.key_id, "from_seq": old_seq + 1, "plain_head": old_head}
    assert {r[9] for r in after[len(before):]} == {key.key_id}
    code, out, err = run(capsys, "audit", "verify", "--db", str(unkeyed), "--key-file", str(key_file_of(unkeyed)))
    assert code == 0, err
    assert err == "" and out.startswith("audit trail sound: ")
    assert f"keyed from event {old_seq + 1} (key {key.key_id})" in out


@pytest.mark.parametrize("rewrite_keying", [False, True], ids=["plain-part-rechained",
                                                               "keying-event-rewritten-too"])
def test_an_edit_before_the_keying_point_is_caught_with_the_key(unkeyed, cwd, capsys, monkeypatch,
                                                                rewrite_keying):
    plain = len(events(unkeyed))
    assert chat(capsys, monkeypatch, "--db", str(unkeyed))[0] == 0
    rows = events(unkeyed)
    # The age answered edited, and every plain hash up to the keying point recomputed: the plain
    # chain is whole again.
    i = next(i for i, r in enumerate(rows) if r[5] == "answer_accepted")
    edited = list(rows[i])
    edited[6] = edited[6].replace('"age_years":14.0', '"age_years":4.0')
    assert edited[6] != rows[i][6] and i < plain
    new_plain = plain_rechain([*rows[:i], tuple(edited), *rows[i + 1:plain]])
    replaced = {r[0]: r for r in new_plain}
    if rewrite_keying:  # and the keying event made to name the new plain head (its payload hash too)
        k = list(rows[plain])
        k[6] = canonical({**json.loads(k[6]), "plain_head": new_plain[-1][8]})
        k[7] = sha256(k[6])
        replaced[k[0]] = tuple(k)
    with_triggers_dropped(unkeyed)
    conn = sqlite3.connect(unkeyed)
    for seq, r in replaced.items():
        conn.execute(f"UPDATE {TABLE} SET payload = ?, payload_hash = ?, chain_hash = ? WHERE seq = ?",
                     (r[6], r[7], r[8], seq))
    conn.commit()
    conn.close()
    code, out, err = run(capsys, "audit", "verify", "--db", str(unkeyed), "--key-file", str(key_file_of(unkeyed)))
    assert code == 1 and out == ""
    one_line(err)
    assert f"broken at event {plain + 1}: " in err
    assert ("MAC mismatch" if rewrite_keying else "the head before it") in err


# ---- 3. refusals: one line, exit 2, nothing written ------------------------------------------------------------

@pytest.fixture
def keyed_start(cwd, capsys, monkeypatch) -> Path:
    """The working directory's database after a first start (keyed, key file beside it)."""
    assert chat(capsys, monkeypatch)[0] == 0
    return cwd / "screening.db"


def refused(capsys, db: Path, argv_call) -> str:
    count, digest = len(events(db)), sha_of(db)
    code, out, err = argv_call()
    assert code == 2, (code, out, err)
    one_line(err)
    assert len(events(db)) == count and sha_of(db) == digest, "nothing written"
    return err


def test_a_keyed_trail_whose_key_file_is_gone_is_refused(keyed_start, capsys, monkeypatch):
    key_file_of(keyed_start).unlink()
    err = refused(capsys, keyed_start, lambda: chat(capsys, monkeypatch))
    assert "is keyed" in err and "restore the key file" in err
    assert not key_file_of(keyed_start).exists(), "no new key generated in its place"


def test_another_key_in_the_environment_is_refused(keyed_start, capsys, monkeypatch):
    monkeypatch.setenv("SCREENING_AUDIT_KEY", OTHER_HEX)
    err = refused(capsys, keyed_start, lambda: chat(capsys, monkeypatch))
    other = audit_key.AuditKey.from_hex(OTHER_HEX).key_id
    trail = audit_key.load(key_file_of(keyed_start)).key_id
    assert "SCREENING_AUDIT_KEY" in err and other in err and trail in err and OTHER_HEX not in err


def test_a_key_file_others_can_read_is_refused(keyed_start, capsys, monkeypatch):
    os.chmod(key_file_of(keyed_start), 0o644)
    err = refused(capsys, keyed_start, lambda: chat(capsys, monkeypatch))
    assert "chmod 600" in err and "0644" in err
    assert key_file_of(keyed_start).read_text()[:64] not in err


def test_a_malformed_key_file_is_refused(keyed_start, capsys, monkeypatch):
    key_file_of(keyed_start).write_text("not a key at all\n", encoding="ascii")
    err = refused(capsys, keyed_start, lambda: chat(capsys, monkeypatch))
    assert "64 hexadecimal digits" in err and "not a key" not in err


def test_a_malformed_environment_key_is_a_settings_error_naming_the_key_never_its_value(keyed_start, capsys,
                                                                                       monkeypatch):
    bad = "0123456789abcdefXYZ-secret-value"
    monkeypatch.setenv("SCREENING_AUDIT_KEY", bad)
    err = refused(capsys, keyed_start, lambda: chat(capsys, monkeypatch))
    assert "SCREENING_AUDIT_KEY: " in err and "64 hexadecimal digits" in err and bad not in err


def test_export_of_a_keyed_trail_without_its_key_is_refused(db_path, cwd, capsys):
    key_file_of(db_path).unlink()
    out_file = cwd / "export.jsonl"
    err = refused(capsys, db_path, lambda: run(capsys, "audit", "export", "--db", str(db_path), "--format",
                                               "jsonl", "--out", str(out_file)))
    assert "keyed" in err and "nothing was written" in err
    assert not out_file.exists() and list(cwd.iterdir()) == []


# ---- 4. audit verify --------------------------------------------------------------------------------------------

def test_verify_with_the_key_proves_the_trail(db_path, cwd, capsys):
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), "--key-file", str(key_file_of(db_path)))
    assert code == 0 and err == "" and out.startswith("audit trail sound: ")


def test_verify_without_a_key_checks_the_structure_and_says_what_it_could_not(db_path, cwd, capsys, tmp_path):
    key = audit_key.load(key_file_of(db_path))
    key_file_of(db_path).rename(tmp_path / "elsewhere.key")
    seq = len(events(db_path))
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 3 and out.startswith("audit trail structure sound: ")
    one_line(err)
    assert f"events 1 to {seq} were not checked" in err and key.key_id in err and "no audit key" in err


def test_verify_with_another_key_names_both_keys(db_path, cwd, capsys, tmp_path):
    trail = audit_key.load(key_file_of(db_path)).key_id
    other = audit_key.generate(tmp_path / "other.key")
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), "--key-file", str(tmp_path / "other.key"))
    assert code == 3 and out.startswith("audit trail structure sound: ")
    one_line(err)
    assert other.key_id in err and trail in err and other.key_id != trail


def test_a_forged_plain_event_after_keying_is_caught(db_path, cwd, capsys):
    rows = events(db_path)
    with_triggers_dropped(db_path)
    append_raw(db_path, rows[-1][0] + 1, rows[-1][8], None, None)  # a correct plain SHA-256 chain hash
    for key_args in (["--key-file", str(key_file_of(db_path))], []):
        code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), *key_args)
        assert code == 1 and out == ""
        one_line(err)
        assert f"broken at event {rows[-1][0] + 1}: " in err and "without the trail's key" in err


def test_a_forged_event_naming_the_trails_key_but_made_with_another_is_a_mac_mismatch(db_path, cwd, capsys):
    rows = events(db_path)
    with_triggers_dropped(db_path)
    append_raw(db_path, rows[-1][0] + 1, rows[-1][8], audit_key.AuditKey.from_hex(OTHER_HEX), rows[-1][9])
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), "--key-file", str(key_file_of(db_path)))
    assert code == 1 and out == ""
    one_line(err)
    assert f"broken at event {rows[-1][0] + 1}: MAC mismatch" in err


def test_a_trail_rewritten_as_a_plain_chain_from_genesis_is_never_proven(db_path, cwd, capsys):
    rows = events(db_path)
    assert rows[0][5] == KEYED
    plain = plain_rechain(rows[1:])
    with_triggers_dropped(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute(f"DELETE FROM {TABLE}")
    conn.executemany(f"INSERT INTO {TABLE} ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", plain)
    conn.commit()
    conn.executescript(audit.SCHEMA)  # the triggers put back, as someone covering their tracks would
    conn.close()
    code, out, err = run(capsys, "audit", "verify", "--db", str(db_path), "--key-file", str(key_file_of(db_path)))
    assert code == 3, "a plain chain is never proven, even with the key"
    assert out.startswith(f"audit trail structure sound: {len(plain)} events")
    one_line(err)
    assert "not keyed" in err


# ---- 5. audit verify-export ---------------------------------------------------------------------------------

@pytest.fixture
def export(db_path, cwd, capsys) -> Path:
    out_file = cwd / "export.jsonl"
    code, _, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", "jsonl", "--out", str(out_file))
    assert code == 0, err
    return out_file


def test_verify_export_with_the_key_proves_it_and_without_it_does_not(db_path, export, capsys):
    key_args = ["--key-file", str(key_file_of(db_path))]
    code, out, err = run(capsys, "audit", "verify-export", str(export), *key_args)
    assert code == 0 and err == "" and out.startswith("export sound: ")
    code, out, err = run(capsys, "audit", "verify-export", str(export))
    assert code == 3 and out.startswith("export sound: ")
    one_line(err)
    assert "not proven" in err and audit_key.load(key_file_of(db_path)).key_id in err


def forge_last_event(export: Path, blank_key_id: bool) -> tuple[int, int]:
    """The export's last event edited, both its hashes recomputed as plain SHA-256 (from the previous hash
    it records) and the head line made to name it, as someone without the key would; its (line, seq)."""
    lines = [json.loads(x) for x in export.read_text(encoding="utf-8").splitlines()]
    last = max(i for i, r in enumerate(lines) if r["record"] == "event")
    head = next(i for i, r in enumerate(lines) if r["record"] == "head")
    e = lines[last]
    assert e["key_id"] is not None
    e["payload"] = {**e["payload"], "forged": True}
    e["payload_hash"] = sha256(canonical(e["payload"]))
    e["chain_hash"] = chain_hash(e["prev_hash"], e["seq"], e["ts"], e["actor_role"], e["actor_id"],
                                 e["referral_id"], e["type"], e["payload_hash"])
    if blank_key_id:
        e["key_id"] = None
    lines[head]["chain_hash"] = e["chain_hash"]
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    return last + 1, e["seq"]


@pytest.mark.parametrize(("blank_key_id", "with_key"), [(False, True), (True, True), (True, False)],
                         ids=["key_id-kept", "key_id-blanked", "key_id-blanked-no-key"])
def test_an_export_line_edited_and_rehashed_as_plain_sha256_is_caught(db_path, export, capsys, blank_key_id,
                                                                      with_key):
    line, seq = forge_last_event(export, blank_key_id)
    key_args = ["--key-file", str(key_file_of(db_path))] if with_key else []
    code, out, err = run(capsys, "audit", "verify-export", str(export), *key_args)
    assert code == 1 and out == ""
    one_line(err)
    assert f"broken at line {line} (event {seq})" in err
    assert ("without the trail's key" if blank_key_id else "MAC mismatch") in err


def test_an_export_line_edited_with_its_key_id_kept_is_unproven_without_the_key(export, capsys):
    """What only the key can tell: without it, the last event edited and rehashed as plain SHA-256 passes
    the structure, and verify-export says it proved nothing (exit 3, never 0)."""
    forge_last_event(export, blank_key_id=False)
    code, out, err = run(capsys, "audit", "verify-export", str(export))
    assert code == 3 and out.startswith("export sound: ") and "not proven" in err


# ---- 6. the Telegram side -------------------------------------------------------------------------------------

async def test_the_telegram_bot_keys_its_trail_with_a_key_file_beside_its_database(tmp_path, monkeypatch):
    monkeypatch.delenv("SCREENING_AUDIT_KEY", raising=False)
    monkeypatch.delenv("SCREENING_AUDIT_KEY_FILE", raising=False)
    async with Harness(tmp_path) as h:
        await h.say(PHYSICIAN, "/screen")
        rows = h.db.conn.execute(f"SELECT seq, type, payload, key_id FROM {TABLE} ORDER BY seq").fetchall()
    key_path = tmp_path / "screening.db.audit-key"
    assert key_path.is_file() and stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = audit_key.load(key_path)
    assert rows[0][:2] == (1, KEYED) and json.loads(rows[0][2])["key_id"] == key.key_id
    assert len(rows) > 1 and {r[3] for r in rows} == {key.key_id}


# ---- 7. the environment's key -------------------------------------------------------------------------------

def test_the_environment_key_is_used_and_no_key_file_written(cwd, capsys, monkeypatch, caplog):
    secret = bytes(range(32)).hex()
    monkeypatch.setenv("SCREENING_AUDIT_KEY", secret)
    code, _, err = chat(capsys, monkeypatch)
    assert code == 0 and err == "" and key_warnings(caplog) == []
    assert not (cwd / "screening.db.audit-key").exists()
    assert [p.name for p in cwd.iterdir() if "key" in p.name] == []
    rows = events(cwd / "screening.db")
    key_id = audit_key.AuditKey.from_hex(secret).key_id
    assert rows[0][5] == KEYED and {r[9] for r in rows} == {key_id}
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0 and err == "" and f"(key {key_id})" in out
