"""A consistent copy of the live database, checked before it is trusted."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .audit_verify import VerifyResult, verify
from .db import SQLITE_CORRUPT, SQLITE_NOTADB, create_private, damaged, fault, open_db


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    integrity: str
    audit: VerifyResult

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and self.audit.ok


def backup(source: str | Path, out: str | Path) -> BackupResult:
    """VACUUM INTO reads one snapshot inside a read transaction, so a bot writing meanwhile neither
    blocks nor tears the copy; the copy is then checked on its own (integrity, audit chain)."""
    out = Path(out)
    try:
        create_private(out)  # VACUUM INTO fills an empty file and keeps its mode: the copy is owner-only
    except FileExistsError:
        raise FileExistsError(f"{out} already exists; choose a new file name") from None
    try:
        src = open_db(source, checked=True)
        try:
            src.conn.execute("VACUUM INTO ?", (str(out),))
        except sqlite3.DatabaseError as exc:  # the source was found sound: what fails is mostly the copy's disk
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            raise damaged(source) if code in (SQLITE_CORRUPT, SQLITE_NOTADB) else fault(out, exc, "the copy") from None
        finally:
            src.close()
    except BaseException:
        out.unlink(missing_ok=True)  # no half copy, nor an empty one, is left to be taken for a backup
        raise
    # Read-only, so checking the copy cannot change it (no WAL file appears beside it).
    copy = sqlite_utils.Database(sqlite3.connect(f"file:{out}?mode=ro", uri=True))
    try:
        integrity = copy.conn.execute("PRAGMA integrity_check").fetchone()[0]
        result = verify(copy)
    finally:
        copy.close()
    return BackupResult(out, out.stat().st_size, integrity, result)
