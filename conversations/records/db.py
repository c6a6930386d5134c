"""Opening the SQLite database the way every component needs it: durable, shared, waiting on locks, and
owner-only (it holds the pre-screens and the audit trail). What can go wrong with the file itself (damaged,
read-only, a full disk) is said by `fault` in one line that names the file, never its content."""

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 15_000
PRIVATE = 0o600  # every file we create that holds pre-screens, the trail or a process ID
IN_MEMORY = ("", ":memory:")  # names SQLite gives no file of ours
HEADER_BYTES = 100  # a shorter file that is not empty cannot be a database (SQLite reads one byte as empty)

# SQLite's primary result codes (the low byte of sqlite_errorcode) and the one extended code we tell apart.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 13, 14, 26
SQLITE_READONLY_DIRECTORY = SQLITE_READONLY | 6 << 8


class DatabaseFault(sqlite3.DatabaseError):
    """A database file that cannot be used, as one line naming the file and what is wrong. A DatabaseError
    still, so that whoever handled SQLite's own errors handles these."""


def damaged(path: str | Path, what: str = "the database") -> DatabaseFault:
    return DatabaseFault(f"{what} {path} is not a database or is damaged; restore it from a backup")


def fault(path: str | Path, exc: sqlite3.Error | OSError, what: str = "the database") -> DatabaseFault:
    """``exc``, met using ``path``, as one line. SQLite's own message is not repeated: the result code says
    what happened, and a message could in principle quote what was being written."""
    if isinstance(exc, DatabaseFault):
        return exc
    if isinstance(exc, OSError):
        return DatabaseFault(f"cannot create {what} {path} ({exc.strerror or type(exc).__name__})")
    code = getattr(exc, "sqlite_errorcode", None) or 0
    primary = code & 0xFF
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return damaged(path, what)
    if primary == SQLITE_FULL:
        return DatabaseFault(f"cannot write to {what} {path}: the disk is full")
    directory = Path(path).parent
    if code == SQLITE_READONLY_DIRECTORY or primary in (SQLITE_READONLY, SQLITE_CANTOPEN) and not _writable(directory):
        return DatabaseFault(f"{what} {path} is in a read-only directory ({directory}: SQLite keeps its -wal and "
                             "-shm files beside it)")
    if primary == SQLITE_READONLY:
        return DatabaseFault(f"{what} {path} is read-only")
    if primary == SQLITE_CANTOPEN:
        why = "it is a directory" if Path(path).is_dir() else "no such file or no access"
        return DatabaseFault(f"cannot open {what} {path} ({why})")
    if primary == SQLITE_IOERR:
        return DatabaseFault(f"cannot read or write {what} {path} (disk I/O error)")
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return DatabaseFault(f"{what} {path} is locked by another process (waited {BUSY_TIMEOUT_MS // 1000} s)")
    return DatabaseFault(f"cannot use {what} {path} ({getattr(exc, 'sqlite_errorname', None) or type(exc).__name__})")


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK, effective_ids=True)  # as the user SQLite runs as


def check(conn: sqlite3.Connection, path: str | Path) -> None:
    """DatabaseFault unless SQLite finds the file sound (``PRAGMA quick_check``: every page and b-tree,
    not the indexes' contents), read before anything is written into it."""
    if path not in IN_MEMORY and 0 < os.path.getsize(path) < HEADER_BYTES:
        raise damaged(path)
    # A database file is whole pages: one cut short inside a page is damaged even where the bytes lost were
    # only text, which no check of SQLite's can see (the page reads as zeros to its end).
    if path not in IN_MEMORY and os.path.getsize(path) % conn.execute("PRAGMA page_size").fetchone()[0]:
        raise damaged(path)
    if conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
        raise damaged(path)


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


def open_db(path: str | Path, *, checked: bool = False) -> sqlite_utils.Database:
    """A database with WAL (readers never block the writer), synchronous=FULL (a commit survives power
    loss) and a busy timeout (another writer makes us wait rather than fail). A new database file is
    created owner-only before SQLite opens it; SQLite gives its -wal and -shm the database file's mode.
    ``checked``: refused (DatabaseFault) unless it passes `check`, before the WAL is turned on (which
    writes the header of a database that had none). Any fault is a DatabaseFault."""
    path = str(path)
    if path not in IN_MEMORY:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # an existing database keeps the mode it was given
                create_private(path)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise DatabaseFault(f"cannot create the database {path}: its directory is read-only") from None
            raise fault(path, exc) from None
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    try:
        if checked:
            check(conn, path)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        db = sqlite_utils.Database(conn)
        with db.ensure_autocommit_on():
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise fault(path, exc) from None
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


def open_readonly(path: str | Path, *, immutable: bool | None = None) -> tuple[sqlite_utils.Database, bool]:
    """A database for reading only, that nothing done through it can change: SQLite's ``mode=ro``, no
    PRAGMA that writes, no migration, and checked as `check` does. With ``immutable=1`` (the second of
    the pair says whether it was used) SQLite takes no lock and keeps no -wal or -shm: when the file or
    its directory is not writable (read-only media, where a WAL reader could not make its -shm), and for
    a WAL database that nobody has open (no -wal or -shm beside it), so that reading it does not leave
    them behind. An immutable reader does not see a writer that starts meanwhile: see `unchanged`.
    ``immutable`` forces the choice. Any fault is a DatabaseFault; the file is never created."""
    path = Path(path)
    if immutable is None:
        immutable = not (_writable(path.parent) and os.access(path, os.W_OK, effective_ids=True)) or (
            _wal_header(path) and not any(Path(f"{path}{s}").exists() for s in ("-wal", "-shm")))
    uri = f"{path.absolute().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    except sqlite3.DatabaseError as exc:
        raise fault(path, exc) from None
    try:
        check(conn, path)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # a connection setting, written nowhere
    except (sqlite3.DatabaseError, OSError) as exc:
        conn.close()
        raise fault(path, exc) from None
    return sqlite_utils.Database(conn), immutable


def _wal_header(path: Path) -> bool:
    """The file's header says WAL (its read and write versions, bytes 18 and 19, are 2)."""
    try:
        with open(path, "rb") as f:
            return f.read(20)[18:20] == b"\x02\x02"
    except OSError:
        return False


def stamp(path: str | Path) -> tuple:
    """What changes when anyone writes the database: the file's size and mtime, and a -wal appearing."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, Path(f"{path}-wal").exists()
