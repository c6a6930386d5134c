"""Opening the SQLite database the way every component needs it: durable, shared, waiting on locks."""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 15_000


def open_db(path: str | Path) -> sqlite_utils.Database:
    """A database with WAL (readers never block the writer), synchronous=FULL (a commit survives power
    loss) and a busy timeout (another writer makes us wait rather than fail)."""
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
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
