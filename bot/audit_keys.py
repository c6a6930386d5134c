"""Which audit key a command uses: the edges' side of audit_key.py.

Writers (`run`, `chat`, `audit export`, `reassess`) need the trail's key: from SCREENING_AUDIT_KEY, else the
key file (SCREENING_AUDIT_KEY_FILE, default beside the database). On the first start of a trail that is not
keyed yet, with no key anywhere, a key file is generated and the trail keyed from its next event; once it
is keyed, a writer without its key is refused in one line. Readers (`audit verify`, `verify-export`) use
`--key-file`, else the same settings, and check what they can without one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlite_utils

from conversations.records import audit
from conversations.records.audit_key import AuditKey, AuditKeyError, generate, load

from .settings import Settings

log = logging.getLogger("screening-bot")


def configured(settings: Settings, key_file: Path | None = None) -> AuditKey | None:
    """The key given (``key_file``, else the environment's key, else the key file if there is one); None when
    there is none. AuditKeyError when the one given cannot be used."""
    if key_file is not None:
        return load(key_file)
    if settings.audit_key is not None:
        return AuditKey.from_hex(settings.audit_key.get_secret_value(), "SCREENING_AUDIT_KEY")
    if settings.key_file.exists() or settings.key_file.is_symlink():
        return load(settings.key_file)
    return None


def for_writing(settings: Settings, db: sqlite_utils.Database, prog: str = "screening-bot") -> AuditKey:
    """The key ``db``'s trail is written with, bound to ``db`` (generating the key file at the first start).
    AuditKeyError, nothing written, when the trail is keyed and this is not its key, or there is none."""
    key = configured(settings)
    trail = audit.trail_key_id(db)
    if key is None:
        if trail is not None:
            raise AuditKeyError(
                f"the audit trail of {settings.db_path} is keyed (key {trail}) and its key is not here: no "
                f"{settings.key_file} and no SCREENING_AUDIT_KEY; restore the key file (never write without it)")
        key = _generate(settings.key_file, prog)
    if trail is not None and trail != key.key_id:
        where = "SCREENING_AUDIT_KEY" if settings.audit_key is not None else str(settings.key_file)
        raise AuditKeyError(f"the audit key in {where} ({key.key_id}) is not the key of the trail of "
                            f"{settings.db_path} ({trail}); nothing was written")
    audit.bind(db, key)  # a trail not keyed yet is keyed by its next event (audit.append), not before
    return key


def _generate(path: Path, prog: str) -> AuditKey:
    try:
        key = generate(path)
    except FileExistsError:  # another process generated it in the meantime
        return load(path)
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key file {path} ({exc.strerror or type(exc).__name__}); "
                            "set SCREENING_AUDIT_KEY_FILE to a private place") from None
    log.warning("%s: generated the audit trail's key in %s (owner-only). Keep it private and apart from the "
                "database: never copy it with the database's backups, or anyone holding both could rewrite the "
                "trail undetected. Auditors need it to verify the trail.", prog, path)
    return key
