"""A physician's own contact in a message, kept out of the audit trail.

The contact is accepted at registration and in /profile only, and the trail holds only its salted hash
(registration.py). A coordinator's summary shows it, and the outbox records every message's text in the
trail: so the contact is marked where it is shown (two invisible separators, U+2063, that Telegram shows as
nothing) and the trail's copy of the text has it replaced by a placeholder.
"""

from __future__ import annotations

import re

MARK = "\u2063"
KEPT = "[contact: kept in the physician directory only]"
_MARKED = re.compile(MARK + "[^" + MARK + "]*" + MARK)


def marked(html: str) -> str:
    """``html`` (escaped already) marked as a physician's contact."""
    return f"{MARK}{html}{MARK}"


def for_the_trail(text: str) -> str:
    """``text`` as the audit trail keeps it: every marked contact replaced by the placeholder."""
    return _MARKED.sub(KEPT, text) if MARK in text else text
