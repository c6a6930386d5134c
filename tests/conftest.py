"""Shared fixtures, as sqlite-utils' own tests have them: a fresh database for every test.

``path`` is where a test's database lives (a test module may override it, e.g. with a copy of an older
database); ``store`` opens it; ``trail`` is a database holding a realistic audit trail (audit_fixtures).
Tests that start processes (the bot, the CLI) are marked ``slow``: ``pytest -m "not slow"`` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from audit_fixtures import fresh_db, populate

from bot import run_cmd
from bot.settings import Settings
from conversations.records.store import Store

KEYS = [f.alias for f in Settings.model_fields.values()]  # every setting, by its environment name


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "screening.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    s = Store.open(path)
    yield s
    s.close()


@pytest.fixture
def trail(tmp_path: Path) -> sqlite_utils.Database:
    """A database with the audit trail of audit_fixtures.populate (every kind of event)."""
    db = fresh_db(tmp_path)
    populate(db)
    return db


# Every test of these modules runs the bot in a process of its own, against the fake Bot API.
SLOW_MODULES = frozenset({"test_e2e_run", "test_e2e_webhook", "test_faults_backup_live", "test_faults_bot_api_errors",
                          "test_faults_kill", "test_faults_redelivery", "test_faults_single_instance"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no configuration but the `.env` a test writes, and none in the environment."""
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(run_cmd, "configure_logging", lambda settings: None)  # keep pytest's logging
    return work


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database file holding the realistic trail, with no SCREENING_DB_PATH in the environment."""
    monkeypatch.delenv("SCREENING_DB_PATH", raising=False)
    db = fresh_db(tmp_path, keyed=True)
    populate(db)
    db.conn.close()
    return tmp_path / "screening.db"


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory an unprivileged user can reach, and the working directory (the tests' own temporary
    directories are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="screening-shared-"))
    os.chmod(path, 0o777)
    monkeypatch.chdir(path)
    yield path
    for p in [path, *path.rglob("*")]:
        os.chmod(p, 0o777)
    shutil.rmtree(path)
