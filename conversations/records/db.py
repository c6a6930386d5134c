"""Opening the SQLite database the way every component needs it: durable, shared, waiting on locks, and
owner-only (it holds the pre-screens and the audit trail)."""

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 15_000
PRIVATE = 0o600  # every file we create that holds pre-screens, the trail or a process ID
IN_MEMORY = ("", ":memory:")  # names SQLite gives no file of ours


def create_private(path: str | Path) -> None:
    """A new empty file only its owner can read or write; FileExistsError when there is one. The umask
    cannot widen open(2)'s mode but can narrow it (0277 takes the owner's write), hence the fchmod."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def make_private(path: str | Path) -> None:
    """``path`` empty and owner-only, created or truncated (a file we rewrite whole: a pid file, an export
    being written), before any content goes in."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
    finally:
        os.close(fd)


def open_db(path: str | Path) -> sqlite_utils.Database:
    """A database with WAL (readers never block the writer), synchronous=FULL (a commit survives power
    loss) and a busy timeout (another writer makes us wait rather than fail). A new database file is
    created owner-only before SQLite opens it; SQLite gives its -wal and -shm the database file's mode."""
    path = str(path)
    if path not in IN_MEMORY:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # an existing database keeps the mode it was given
            create_private(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    with db.ensure_autocommit_on():
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
    return db


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, taken with BEGIN IMMEDIATE so that two writers queue on the busy timeout
    instead of one failing when it upgrades a read lock. Commits on success, rolls back on any error."""
    conn = db.conn
    if conn.in_transaction:
        raise RuntimeError("write() does not nest: one transaction per step")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
