"""One terminal per pre-screen: a pre-screen open in `chat` is held by an exclusive lock, so that a second
`chat --resume` of it refuses instead of answering a question that the first terminal shows."""

from __future__ import annotations

import fcntl
import os
from typing import IO

import sqlite_utils


def database_file(db: sqlite_utils.Database) -> str:
    """The file behind the connection, with every link resolved (two names for one file are one)."""
    for _, name, file in db.conn.execute("PRAGMA database_list"):
        if name == "main":
            return os.path.realpath(file)
    raise AssertionError("no main database")


def hold(db: sqlite_utils.Database, referral_id: str) -> IO[str] | None:
    """A lock on the pre-screen until the handle is closed (the kernel drops it on any exit, kill -9
    included); None when another session holds it."""
    # Owner-only: its name holds a referral ID.
    fd = os.open(f"{database_file(db)}.{referral_id}.open", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    handle = os.fdopen(fd, "a", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
