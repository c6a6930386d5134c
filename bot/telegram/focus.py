"""Which of a physician's open pre-screens a typed answer belongs to: the one last shown or touched.

A physician may have several pre-screens open; buttons name theirs, typed text does not. The focus is
stored (so it survives a restart) and written in the transaction of the step that moved it.
"""

from __future__ import annotations

import sqlite_utils

from conversations.records.audit import utc_now
from conversations.records.store import Store


class Focus:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def set(self, db: sqlite_utils.Database, user_id: int, referral_id: str) -> None:
        db.conn.execute("INSERT INTO telegram_focus (user_id, referral_id, at) VALUES (?, ?, ?)"
                        " ON CONFLICT(user_id) DO UPDATE SET referral_id = excluded.referral_id, at = excluded.at",
                        (user_id, referral_id, utc_now()))

    def current(self, store: Store, user_id: int) -> str | None:
        """The focused pre-screen if it is still the physician's and not cancelled; else the one they
        worked on last that still asks; else None."""
        row = self.db.conn.execute("SELECT referral_id FROM telegram_focus WHERE user_id = ?",
                                   (user_id,)).fetchone()
        if row is not None:
            p = store.get(row[0])
            if p is not None and p.owner_role == "physician" and p.owner_id == user_id \
                    and p.phase in ("asking", "done"):
                return p.referral_id
        asking = store.prescreens("physician", user_id, phases=("asking",))
        return asking[0].referral_id if asking else None
