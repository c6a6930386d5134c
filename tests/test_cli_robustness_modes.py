"""Files that hold pre-screens, the audit trail or the bot's process are its operator's only (#13): the
database and its -wal and -shm, backups, exports and the run lock's pid file are created with mode 0600,
whatever the umask."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from audit_fixtures import populate

from bot import cli, run_cmd
from bot.settings import Settings
from conversations.records.db import open_db
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]


# 0277 takes the owner's write bit too: a mode asked of open(2) is not enough (tests create no directory
# under it, which would be unwritable).
@pytest.fixture(params=[0o022, 0o002, 0o000, 0o277], ids=lambda m: f"umask{m:03o}")
def umask(request, monkeypatch, tmp_path):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def a_trail(path: Path) -> Path:
    Store.open(path).close()
    db = open_db(path)
    populate(db)
    db.close()
    os.chmod(path, 0o600)
    return path


def test_a_new_database_and_its_wal_and_shm_are_private(umask, tmp_path):
    path = tmp_path / "screening.db"
    store = Store.open(path)
    try:
        with store.transaction():
            store.start("physician", 1)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        store.close()


def test_chat_creates_a_private_database(umask, tmp_path, monkeypatch, capsys):
    path = tmp_path / "chat.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("14\n"))
    assert cli.main(["chat", "--jsonl", "--db", str(path)]) == 0
    assert mode(path) == 0o600


def test_run_creates_a_private_database_and_pid_file(umask, tmp_path):
    path = tmp_path / "screening.db"
    lock = run_cmd.acquire_lock(path)
    try:
        assert mode(path) == 0o600 and mode(Path(f"{path}.pid")) == 0o600
    finally:
        lock.close()


def test_a_pid_file_left_readable_is_made_private(umask, tmp_path):
    path = tmp_path / "screening.db"
    pid = Path(f"{path}.pid")
    pid.write_text("1\n", encoding="utf-8")
    os.chmod(pid, 0o644)
    lock = run_cmd.acquire_lock(path)
    try:
        assert mode(pid) == 0o600 and pid.read_text(encoding="utf-8") == f"{os.getpid()}\n"
    finally:
        lock.close()


def test_a_backup_is_private(umask, tmp_path, capsys):
    source = a_trail(tmp_path / "screening.db")
    copy = tmp_path / "copy.db"
    assert cli.main(["backup", str(copy), "--db", str(source)]) == 0, capsys.readouterr().err
    assert mode(copy) == 0o600
    assert not Path(f"{copy}-wal").exists() and not Path(f"{copy}-journal").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "fhir"])
def test_an_export_is_private(umask, tmp_path, capsys, fmt):
    source = a_trail(tmp_path / "screening.db")
    out = tmp_path / f"export.{fmt}"
    assert cli.main(["audit", "export", "--format", fmt, "--out", str(out), "--db", str(source)]) == 0, \
        capsys.readouterr().err
    assert mode(out) == 0o600 and out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(umask, tmp_path):
    path = a_trail(tmp_path / "screening.db")
    os.chmod(path, 0o640)  # e.g. readable by a backup group, on purpose
    open_db(path).close()
    assert mode(path) == 0o640
