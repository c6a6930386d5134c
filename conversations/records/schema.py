"""The database's shape, as ordered migrations numbered by ``PRAGMA user_version``.

A database is brought up to date by running, in order and each in its own transaction, every migration
numbered above its version; the version is set in the same transaction, so a crash leaves it at the last
migration that completed. A database from before versions were kept has version 0: the first migration
creates only what is missing, and each later one checks what is there before it changes anything, so such
a database is carried forward with nothing lost. Add a migration at the end; never edit one that shipped.

Every table lives here, the Telegram adapter's included (its updates, outbox and focus): all that is
stored in SQLite has its shape in this room.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import NamedTuple

import sqlite_utils

from . import audit
from .db import DatabaseFault, write

PROTOCOL_1 = "cart-sle-ped-prescreen/1.0"

PRESCREENS = """
CREATE TABLE IF NOT EXISTS prescreens (
    referral_id TEXT PRIMARY KEY,
    owner_role TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    channel TEXT,
    phase TEXT NOT NULL,
    current TEXT,
    outcome_status TEXT,
    created_at TEXT,
    updated_at TEXT,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_prescreens_owner_role_owner_id_phase ON prescreens(owner_role, owner_id, phase);
"""

# The registry as protocol 1 left it (``referrals.protocol_version`` came with migration 2).
REGISTRY = """
CREATE TABLE IF NOT EXISTS physicians (
    user_id INTEGER PRIMARY KEY,
    via TEXT NOT NULL,
    invite_id TEXT,
    registered_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by INTEGER
);
CREATE TABLE IF NOT EXISTS invites (
    invite_id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by INTEGER,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS referrals (
    referral_id TEXT PRIMARY KEY,
    physician_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    outcome_status TEXT NOT NULL,
    sends INTEGER NOT NULL,
    first_sent_at TEXT NOT NULL,
    last_sent_at TEXT NOT NULL,
    decided_by INTEGER,
    decided_at TEXT
);
CREATE TABLE IF NOT EXISTS referral_decisions (
    id INTEGER PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(referral_id),
    send_no INTEGER NOT NULL,
    coordinator_id INTEGER NOT NULL,
    decision TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
"""

# The Telegram adapter's tables: updates received, messages to send, the pre-screen each user is on.
TELEGRAM = """
CREATE TABLE IF NOT EXISTS telegram_updates (
    update_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw TEXT,
    processed_at TEXT,
    result TEXT
);
CREATE INDEX IF NOT EXISTS telegram_updates_pending ON telegram_updates(processed_at, update_id);
CREATE TABLE IF NOT EXISTS telegram_outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    edit_message_id INTEGER,
    text TEXT NOT NULL,
    markup TEXT,
    referral_id TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT,
    message_id INTEGER
);
CREATE INDEX IF NOT EXISTS telegram_outbox_pending ON telegram_outbox(status, id);
CREATE TABLE IF NOT EXISTS telegram_focus (
    user_id INTEGER PRIMARY KEY,
    referral_id TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class Migration(NamedTuple):
    version: int
    what: str
    run: Callable[[sqlite_utils.Database], None]


def _script(db: sqlite_utils.Database, script: str) -> None:
    # executescript would COMMIT the migration's transaction: run the statements one by one inside it
    # (a trigger's body holds a ";" of its own, so a statement ends where SQLite says it is complete).
    statement = ""
    for part in script.split(";"):
        statement += part + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.conn.execute(statement)
            statement = ""


def _create(db: sqlite_utils.Database) -> None:
    _script(db, audit.SCHEMA)
    _script(db, PRESCREENS)
    _script(db, REGISTRY)
    _script(db, TELEGRAM)


def _add_column(db: sqlite_utils.Database, table: str, column: str, decl: str) -> bool:
    if column in db[table].columns_dict:  # a database from before versions were kept may have it
        return False
    db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    return True


def _referral_protocol(db: sqlite_utils.Database) -> None:
    if _add_column(db, "referrals", "protocol_version", "TEXT"):
        # Referrals from before protocol versions were recorded were all sent under protocol 1.
        db.conn.execute("UPDATE referrals SET protocol_version = ?", (PROTOCOL_1,))


def _outbox_deletions(db: sqlite_utils.Database) -> None:
    _add_column(db, "telegram_outbox", "delete_message_id", "INTEGER")


def _question_rows(db: sqlite_utils.Database) -> None:
    if not _add_column(db, "telegram_outbox", "question_seq", "INTEGER"):
        return
    db.conn.execute("CREATE INDEX IF NOT EXISTS telegram_outbox_questions ON telegram_outbox(chat_id, message_id)"
                    " WHERE question_seq IS NOT NULL")
    # A question's keyboard names its instance in every button ("a:<ref>:<seq>:...", "t:", "k:"): the rows
    # stored before the column get it from there, so an answer typed to them is still bound to them.
    rows = db.conn.execute("SELECT id, referral_id, markup FROM telegram_outbox WHERE markup IS NOT NULL"
                           " AND referral_id IS NOT NULL").fetchall()
    for row_id, ref, markup in rows:
        if (seq := question_seq_of(markup, ref)) is not None:
            db.conn.execute("UPDATE telegram_outbox SET question_seq = ? WHERE id = ?", (seq, row_id))


def _audit_key_column(db: sqlite_utils.Database) -> None:
    # Existing events stay as they are (plain): the trail is keyed from the first start with a key on.
    _add_column(db, audit.TABLE, "key_id", "TEXT")


REGISTRATION = """
CREATE TABLE IF NOT EXISTS physician_asking (
    user_id INTEGER PRIMARY KEY,
    field TEXT NOT NULL,
    registering INTEGER NOT NULL,
    at TEXT NOT NULL
);
"""


def _directory(db: sqlite_utils.Database) -> None:
    # The physician directory: who they are and how to reach them (the contact with its salt: the trail
    # holds only their digest), and cancelled invites; ``physician_asking`` is where a registration or a
    # profile change stands (the chat's position, as telegram_focus is, not rebuilt from the trail).
    for column in ("name", "institution", "contact", "contact_salt"):
        _add_column(db, "physicians", column, "TEXT")
    _add_column(db, "invites", "cancelled_at", "TEXT")
    _add_column(db, "invites", "cancelled_by", "INTEGER")
    _script(db, REGISTRATION)


DECISION_DRAFTS = """
CREATE TABLE IF NOT EXISTS decision_drafts (
    coordinator_id INTEGER PRIMARY KEY,
    referral_id TEXT NOT NULL,
    send_no INTEGER NOT NULL,
    decision TEXT NOT NULL,
    items TEXT NOT NULL,
    reason_code TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def _decision_reasons(db: sqlite_utils.Database) -> None:
    # A decision's reason (a code of the decline reasons and the coordinator's words), the items a "need
    # information" asks for (JSON: question IDs), and its undo; ``decision_drafts`` is a decision being
    # confirmed (the chat's position, as physician_asking is, not rebuilt from the trail).
    _add_column(db, "referral_decisions", "reason_code", "TEXT")
    _add_column(db, "referral_decisions", "reason", "TEXT")
    _add_column(db, "referral_decisions", "items", "TEXT")
    _add_column(db, "referral_decisions", "undone_at", "TEXT")
    _add_column(db, "referral_decisions", "undone_by", "INTEGER")
    _script(db, DECISION_DRAFTS)


LANGUAGES = """
CREATE TABLE IF NOT EXISTS user_languages (
    user_id INTEGER PRIMARY KEY,
    lang TEXT NOT NULL,
    chosen_at TEXT NOT NULL
);
"""


def _languages(db: sqlite_utils.Database) -> None:
    # The language each user chose with /language (over their Telegram's language_code; proven by the
    # trail's language_chosen events, records/rebuild.py), and the language each outbox row is written in
    # (message_sent carries it; rows from before have none).
    _script(db, LANGUAGES)
    _add_column(db, "telegram_outbox", "lang", "TEXT")


TELEGRAM_LANGUAGES = """
CREATE TABLE IF NOT EXISTS telegram_languages (
    user_id INTEGER PRIMARY KEY,
    lang TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
"""


def _telegram_languages(db: sqlite_utils.Database) -> None:
    # The language each user's Telegram (its language_code) last negotiated to, so that a job after a
    # restart writes to them in it: a cache of what Telegram says, not a decision (the choice is
    # user_languages), not audited and not rebuilt from the trail (as telegram_focus).
    _script(db, TELEGRAM_LANGUAGES)


def question_seq_of(markup: str, referral_id: str) -> int | None:
    for row in json.loads(markup).get("inline_keyboard", []):
        for button in row:
            parts = str(button.get("callback_data", "")).split(":")
            if len(parts) >= 3 and parts[0] in ("a", "t", "k") and parts[1] == referral_id and parts[2].isdigit():
                return int(parts[2])
    return None


def _protocol_2(db: sqlite_utils.Database) -> None:
    from .store import carry_over  # the store writes pre-screens; it imports this module to open a database

    carry_over(db)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the audit trail, pre-screens, the physician registry and the Telegram adapter's tables", _create),
    Migration(2, "referrals record the protocol they were sent under (earlier ones: protocol 1)", _referral_protocol),
    Migration(3, "the outbox can delete a message that may identify a patient", _outbox_deletions),
    Migration(4, "pre-screens stored under protocol 1 carried over to protocol 2", _protocol_2),
    Migration(5, "the outbox knows which question instance a message shows, to bind typed answers to it",
              _question_rows),
    Migration(6, "audit events name the key their chain hash is a MAC under (none: a plain SHA-256 chain)",
              _audit_key_column),
    Migration(7, "the physician directory (name, institution, contact), registrations under way, cancelled invites",
              _directory),
    Migration(8, "decisions keep their reason, the items asked for and their undo; decisions being confirmed",
              _decision_reasons),
    Migration(9, "the language each user chose; the language each outgoing message is written in", _languages),
    Migration(10, "the language each user's Telegram last gave (a cache for jobs after a restart)",
              _telegram_languages),
)
LATEST = MIGRATIONS[-1].version


def version(db: sqlite_utils.Database) -> int:
    return db.conn.execute("PRAGMA user_version").fetchone()[0]


def upgrade(db: sqlite_utils.Database, to: int = LATEST) -> list[int]:
    """Run the migrations the database has not had, in order, up to ``to``; the versions run. A database
    newer than this code is refused rather than written by code that does not know its shape."""
    current = version(db)
    if current > LATEST:
        raise DatabaseFault(f"the database has schema version {current}; this version of the bot knows "
                            f"{LATEST} at most: upgrade the bot")
    done = []
    for m in MIGRATIONS:
        if m.version <= current or m.version > to:
            continue
        with write(db):
            m.run(db)
            db.conn.execute(f"PRAGMA user_version = {m.version}")
        done.append(m.version)
    return done
