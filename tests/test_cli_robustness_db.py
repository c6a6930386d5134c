"""A database that cannot be used is one line on standard error and exit status 2, never a traceback, and
nothing is written into it (#13): damaged or not a database at all (30 seeded corruptions of a real one), a
read-only file or directory, a full disk (for real: SQLite's max_page_count), for every command that opens
it. The line names the file and what is wrong, never its content."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conversation_script import ELIGIBLE_GIRL_12

from bot import cli, run_cmd, terminal
from bot.settings import Settings
from conversations.records import audit, audit_key
from conversations.records.audit_verify import verify
from conversations.records.db import open_db, write
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]
ANSWERS = [text for _, text in ELIGIBLE_GIRL_12]
PAGE = 4096


@pytest.fixture(autouse=True)
def clean(monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_cmd, "configure_logging", lambda settings: None)


@pytest.fixture
def served(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(run_cmd, "serve", lambda settings: seen.update(settings=settings) or 0)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("SCREENING_COORDINATOR_IDS", "9")
    return seen


REAL_KEY = audit_key.AuditKey.of(bytes(range(32)))  # the key of `real`'s trail, given by the environment


def a_session(path: Path, answers: list[str]) -> str:
    store = Store.open(path)
    audit.bind(store.db, REAL_KEY)
    try:
        out = io.StringIO()
        terminal.jsonl(store, None, iter(f"{a}\n" for a in answers), out)
    finally:
        store.close()
    return out.getvalue().split('"referral_id": "', 1)[1][:11]


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> tuple[bytes, str]:
    """A database as the running system leaves it (closed: its WAL checkpointed), with an open pre-screen,
    and VACUUMed, so that every page is in use and a corrupted page is a damaged database."""
    path = tmp_path_factory.mktemp("real") / "screening.db"
    ref = a_session(path, ANSWERS[:12])
    for _ in range(4):  # finished ones too, so that the tables and the trail fill a few dozen pages
        a_session(path, ANSWERS)
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()
    return path.read_bytes(), ref


@pytest.fixture(autouse=True)
def real_key(monkeypatch):
    """Every command here holds `real`'s key, as an operator's environment would (nobody can read root's file)."""
    monkeypatch.setenv("SCREENING_AUDIT_KEY", REAL_KEY.secret.hex())


def corruptions(data: bytes, seed: int = 13) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    pages = len(data) // PAGE
    for n in (1, 99, PAGE):
        yield f"random-{n}", rng.randbytes(n)
    yield "random-same-size", rng.randbytes(len(data))
    yield "zeros", bytes(len(data))
    for cut in (16, 100, PAGE, PAGE + 1, 2 * PAGE, len(data) // 2, len(data) - PAGE, len(data) - 1):
        yield f"truncated-{cut}", data[:cut]
    for page in rng.sample(range(1, pages), 8):  # the header (page 0's first 100 bytes) stays valid
        yield f"garbage-page-{page}", data[:page * PAGE] + rng.randbytes(PAGE) + data[(page + 1) * PAGE:]
    yield "garbage-after-header", data[:100] + rng.randbytes(PAGE - 100) + data[PAGE:]
    for page in rng.sample(range(1, pages), 3):
        yield f"zero-page-{page}", data[:page * PAGE] + bytes(PAGE) + data[(page + 1) * PAGE:]
    for page in rng.sample(range(1, pages), 4):  # a page's b-tree header: its type, cell count, content start
        at = page * PAGE + rng.randrange(0, 8)
        yield f"bitflip-{at}", data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
    yield "half-garbage", data[:len(data) // 2] + rng.randbytes(len(data) - len(data) // 2)


def commands(db: Path, ref: str, work: Path) -> dict[str, list[str]]:
    d = ["--db", str(db)]
    return {
        "chat": ["chat", "--jsonl", *d], "chat-resume": ["chat", "--jsonl", "--resume", ref, *d],
        "audit-verify": ["audit", "verify", *d],
        "audit-export": ["audit", "export", "--format", "jsonl", "--out", str(work / "export.jsonl"), *d],
        "audit-export-fhir": ["audit", "export", "--format", "fhir", "--out", str(work / "export.ndjson"), *d],
        "log": ["log", *d], "reassess": ["reassess", *d], "backup": ["backup", str(work / "copy.db"), *d],
    }


def run_cli(capsys, monkeypatch, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str, prog: str) -> str:
    assert err.count("\n") == 1 and err.startswith(f"{prog}: "), err
    assert "Traceback" not in err
    return err


def test_the_corruptions_are_thirty_and_each_fails_sqlites_own_check(real):
    data, _ = real
    variants = dict(corruptions(data))
    assert len(variants) == 30
    for name, blob in variants.items():
        if len(blob) == 1:
            continue  # SQLite reads one byte as an empty database; we refuse any file shorter than its header
        if name.startswith("truncated") and len(blob) % PAGE:
            continue  # cut inside a page: refused for its size (db.check), whatever the bytes lost held
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.db"
            path.write_bytes(blob)
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                result = conn.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.DatabaseError:
                continue
            finally:
                conn.close()
            assert result != [("ok",)], name


PROG = {"chat": "screening-bot chat", "chat-resume": "screening-bot chat", "audit-verify": "screening-bot audit verify",
        "audit-export": "screening-bot audit export", "audit-export-fhir": "screening-bot audit export",
        "log": "screening-bot log", "reassess": "screening-bot reassess", "backup": "screening-bot backup"}


def test_a_damaged_database_is_one_line_exit_2_and_nothing_is_written(real, tmp_path, capsys, monkeypatch, served):
    data, ref = real
    for name, blob in corruptions(data):
        work = tmp_path / name
        work.mkdir()
        db = work / "screening.db"
        db.write_bytes(blob)
        monkeypatch.setenv("SCREENING_DB_PATH", str(db))
        for what, argv in [*commands(db, ref, work).items(), ("run", ["run"])]:
            code, out, err = run_cli(capsys, monkeypatch, argv, stdin="14\nfemale\n")
            prog = PROG.get(what, "screening-bot run")
            assert code == 2, (name, what, err)
            line = one_line(err, prog)
            assert f"the database {db} is not a database or is damaged" in line, (name, what, line)
            assert out == "", (name, what)
            assert db.read_bytes() == blob, f"{name}: {what} wrote into a damaged database"
            assert sorted(p.name for p in work.iterdir()) in (["screening.db"], ["screening.db", "screening.db.pid"]), \
                (name, what, sorted(p.name for p in work.iterdir()))
        assert served == {}, "run never serves a damaged database"


# ---- read-only -------------------------------------------------------------------------------------------

@contextmanager
def unprivileged() -> Iterator[None]:
    """As a user that file modes bind: root reads and writes whatever the mode, so the tests drop to nobody."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def fresh(directory: Path) -> Path:
    """``directory`` empty and open to all (a -wal or -shm of an earlier run, owned by nobody, removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    os.chmod(directory, 0o777)
    return directory


def a_copy(real, directory: Path, mode: int) -> Path:
    db = fresh(directory) / "screening.db"
    db.write_bytes(real[0])
    os.chmod(db, mode)
    return db


WRITERS = ("chat", "chat-resume", "audit-export", "audit-export-fhir", "run")


def test_a_read_only_database_file(real, shared, capsys, monkeypatch, served):
    for what, argv in [*commands(shared / "db" / "screening.db", real[1], shared / "out").items(), ("run", ["run"])]:
        db = a_copy(real, shared / "db", 0o444)
        fresh(shared / "out")
        monkeypatch.setenv("SCREENING_DB_PATH", str(db))
        with unprivileged():
            code, out, err = run_cli(capsys, monkeypatch, argv, stdin="14\n")
        if what in WRITERS:
            assert code == 2, (what, err)
            line = one_line(err, PROG.get(what, "screening-bot run"))
            assert "read-only" in line and str(db) in line, (what, line)
        else:  # reading a read-only database is what it is for
            assert code == 0 and err == "", (what, err)
        assert db.read_bytes() == real[0]
    assert served == {}


def test_a_database_in_a_read_only_directory(real, shared, capsys, monkeypatch, served):
    for what, argv in [*commands(shared / "db" / "screening.db", real[1], shared / "out").items(), ("run", ["run"])]:
        db = a_copy(real, shared / "db", 0o666)
        fresh(shared / "out")
        os.chmod(db.parent, 0o555)
        monkeypatch.setenv("SCREENING_DB_PATH", str(db))
        with unprivileged():
            code, out, err = run_cli(capsys, monkeypatch, argv, stdin="14\n")
        if what == "audit-verify":  # a reader: verify works on read-only media (#14)
            assert (code, err) == (0, "") and out.startswith("audit trail sound: "), (what, out, err)
        else:
            assert code == 2, (what, err)
            line = one_line(err, PROG.get(what, "screening-bot run"))
            assert "read-only" in line and str(db) in line, (what, line)
        assert db.read_bytes() == real[0]
        assert sorted(p.name for p in db.parent.iterdir()) == ["screening.db"]
    assert served == {}


def test_a_new_database_in_a_read_only_directory(shared, capsys, monkeypatch):
    os.chmod(shared, 0o555)
    db = shared / "new.db"
    with unprivileged():
        code, _, err = run_cli(capsys, monkeypatch, ["chat", "--jsonl", "--db", str(db)], stdin="14\n")
    assert code == 2 and str(db) in one_line(err, "screening-bot chat")
    assert not db.exists()


def test_an_export_into_a_read_only_directory(real, shared, capsys, monkeypatch):
    db = a_copy(real, shared / "db", 0o666)
    out_dir = fresh(shared / "out")
    os.chmod(out_dir, 0o555)
    argv = ["audit", "export", "--format", "csv", "--out", str(out_dir / "x.csv"), "--db", str(db)]
    with unprivileged():
        code, _, err = run_cli(capsys, monkeypatch, argv)
    assert code == 2 and str(out_dir / "x.csv") in one_line(err, "screening-bot audit export")
    with unprivileged():
        code, _, err = run_cli(capsys, monkeypatch, ["backup", str(out_dir / "copy.db"), "--db", str(db)])
    assert code == 2 and str(out_dir / "copy.db") in one_line(err, "screening-bot backup")


# ---- a full disk, for real ---------------------------------------------------------------------------------

@pytest.fixture
def full(real, tmp_path, monkeypatch) -> Path:
    """The database on a disk with no room left: SQLite's max_page_count holds every connection to the file
    at the pages it has, and the last pages are filled with events until not even a small one fits."""
    db = tmp_path / "full" / "screening.db"
    db.parent.mkdir()
    db.write_bytes(real[0])
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    connect = sqlite3.connect

    def on_a_full_disk(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        if os.path.realpath(str(database)) == os.path.realpath(db):
            conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", on_a_full_disk)
    filler = open_db(db)
    audit.bind(filler, REAL_KEY)
    try:
        while True:
            with write(filler):
                audit.append(filler, actor_role="system", actor_id=0, type="filler", payload={})
    except sqlite3.OperationalError as exc:
        assert "full" in str(exc)
    filler.close()
    return db


def state_of(db: Path) -> tuple[int, bytes]:
    """How many events, and the pre-screens as stored."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {audit.TABLE}").fetchone()[0], \
            repr(conn.execute("SELECT * FROM prescreens ORDER BY referral_id").fetchall()).encode()
    finally:
        conn.close()


@pytest.mark.parametrize("what", ["chat", "chat-resume", "audit-export", "audit-export-fhir"])
def test_a_full_disk_is_one_line_and_the_step_is_not_half_written(full, real, tmp_path, capsys, monkeypatch, what):
    before = state_of(full)
    argv = commands(full, real[1], tmp_path)[what]
    code, out, err = run_cli(capsys, monkeypatch, argv, stdin="14\nfemale\n")
    assert code == 2, err
    assert f"cannot write to the database {full}: the disk is full" in one_line(err, PROG[what])
    assert state_of(full) == before, "nothing of the step that did not fit was written"
    assert not list(tmp_path.glob("export*")), "no export without its audit event"
    db = open_db(full)
    try:
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok" and verify(db).ok
    finally:
        db.close()


@pytest.mark.parametrize("what", ["audit-verify", "log", "reassess", "backup"])
def test_a_full_disk_still_reads(full, real, tmp_path, capsys, monkeypatch, what):
    code, _, err = run_cli(capsys, monkeypatch, commands(full, real[1], tmp_path)[what])
    assert code == 0 and err == ""


def test_a_full_disk_midway_through_a_pre_screen_keeps_every_answer_shown(real, tmp_path, capsys, monkeypatch):
    db = tmp_path / "midway" / "screening.db"
    db.parent.mkdir()
    db.write_bytes(real[0])
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    connect = sqlite3.connect

    def on_a_nearly_full_disk(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", on_a_nearly_full_disk)
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{a}\n" for a in ANSWERS)))
    assert cli.main(["chat", "--jsonl", "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert f"cannot write to the database {db}: the disk is full" in one_line(err, "screening-bot chat")
    lines = [json.loads(x) for x in out.splitlines()]
    accepted = sum(1 for x in lines if x["type"] == "accepted")
    assert 0 < accepted < len(ANSWERS)
    ref = lines[0]["referral_id"]
    store = Store.open(db)
    try:
        assert len(store.load(ref).history) >= accepted, "every answer echoed was committed first"
        assert verify(store.db).ok
    finally:
        store.close()
