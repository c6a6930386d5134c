"""The audit trail's secret key: what makes each event's chain hash a MAC only its holder can compute.

A plain SHA-256 chain proves only that rows were not changed one at a time: whoever can write the file can
recompute every hash after an edit, or append an event whose hash is right. With HMAC-SHA-256 under a key
kept outside the database, neither can be done without the key, so the key lives in a file of its own
(owner-only) or in the environment, and never travels with the database or its backups.

A key is 32 random bytes, written as 64 hexadecimal digits. Its ``key_id`` (a MAC of a fixed text, so it
says nothing of the key) is stored with every keyed event, so that a verifier holding another key is told
so instead of being shown a broken chain.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

KEY_BYTES = 32
_ID_TEXT = b"screening-bot audit key id"


class AuditKeyError(Exception):
    """A key that cannot be used (missing, unreadable, malformed, readable by others), in one line."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(repr=False)
    key_id: str = ""

    @classmethod
    def of(cls, secret: bytes) -> AuditKey:
        if len(secret) != KEY_BYTES:
            raise AuditKeyError(f"an audit key is {KEY_BYTES} bytes ({2 * KEY_BYTES} hexadecimal digits)")
        return cls(secret, hmac.new(secret, _ID_TEXT, hashlib.sha256).hexdigest()[:16])

    @classmethod
    def from_hex(cls, text: str, where: str = "the audit key") -> AuditKey:
        text = text.strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise AuditKeyError(f"{where} is not {2 * KEY_BYTES} hexadecimal digits") from None
        if len(secret) != KEY_BYTES:
            raise AuditKeyError(f"{where} is not {2 * KEY_BYTES} hexadecimal digits")
        return cls.of(secret)

    def mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def load(path: str | Path) -> AuditKey:
    """The key in the file at ``path``; refused when others may read or change it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise AuditKeyError(f"no audit key file at {path}") from None
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key file {path} ({exc.strerror or type(exc).__name__})") from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise AuditKeyError(f"the audit key file {path} is not a regular file")
        if mode & 0o077:
            raise AuditKeyError(f"the audit key file {path} can be read or changed by other users (mode "
                            f"{mode & 0o777:04o}); make it private: chmod 600 {path}")
        raw = f.read(4 * KEY_BYTES)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = "?"
    return AuditKey.from_hex(text, f"the audit key file {path}")


def generate(path: str | Path) -> AuditKey:
    """A new random key written to a new owner-only file at ``path`` (FileExistsError if there is one)."""
    path = Path(path)
    key = AuditKey.of(secrets.token_bytes(KEY_BYTES))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask cannot widen the mode, but could narrow the owner's own rights
        os.write(fd, key.secret.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return key
