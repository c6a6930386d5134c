"""What of an incoming update may never be written anywhere, the durable inbox and its WAL included: text
that looks like a patient identifier, in a message, a command's arguments, an edited message or a
button's data, and any caption (never read: what it holds cannot be told).

Three texts are exempt, each for one reason: an invite code after ``/start`` (a secret stored only as a
hash, never as text), a coordinator's ``/revoke <digits>`` (a Telegram user ID, not a patient's
number), and a physician's own contact typed when their registration or ``/profile`` asks for it (a phone
number or an e-mail address, whole, and nothing else: ``contact_answer``; it belongs to the physician and
is kept in the physician directory only, never in the inbox nor in the trail). Commands are matched as
Telegram matches them: in any case, with or without ``@botname``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from telegram import Message, Update

from conversations.dialogue import identifiers


def command_of(text: str) -> tuple[str, str]:
    """(``/name`` in lower case without ``@botname``, the rest) of a command's text."""
    command, _, rest = text.partition(" ")
    return command.split("@")[0].lower(), rest.strip()


def exempt(text: str, user_id: int | None, coordinator_ids: Collection[int]) -> bool:
    if not text.startswith("/"):
        return False
    command, rest = command_of(text)
    if command == "/start":
        return bool(rest)  # an invite code: never stored as text, never quoted (see inbox.py)
    return command == "/revoke" and rest.isdecimal() and user_id in coordinator_ids


def _message(update: Update) -> Message | None:
    return update.message or update.edited_message


ContactAsked = Callable[[int], bool]


def contact_answer(update: Update, contact_asked: ContactAsked | None) -> bool:
    """The update is a physician's own contact, typed (a new message, not an edit) while their registration
    or profile asks for it: one phone number or e-mail address and nothing else."""
    message, user = update.message, update.effective_user
    return (contact_asked is not None and message is not None and user is not None and bool(message.text)
            and not message.text.startswith("/") and identifiers.contact_kind(message.text) is not None
            and contact_asked(user.id))


def kind(update: Update, coordinator_ids: Collection[int] = (),
         contact_asked: ContactAsked | None = None) -> str | None:
    """What identifier the update's text seems to hold ("a date", ...), or None."""
    user_id = update.effective_user.id if update.effective_user else None
    message = _message(update)
    if message is not None and message.text and not exempt(message.text, user_id, coordinator_ids):
        found = identifiers.identifier_kind(message.text)
        return None if found is not None and contact_answer(update, contact_asked) else found
    if update.callback_query is not None and update.callback_query.data:
        return identifiers.identifier_kind(update.callback_query.data)
    return None


def scrubbed(update: Update, coordinator_ids: Collection[int] = (),
             contact_asked: ContactAsked | None = None) -> dict[str, Any]:
    """The update's JSON as it may be stored: a withheld text replaced by its placeholder, which the
    identifier check recognises again when the update is replayed; no caption. (A contact answer is never
    stored at all: see inbox.py.)"""
    raw = update.to_dict()
    found = kind(update, coordinator_ids, contact_asked)
    for key in ("message", "edited_message"):
        if key in raw:
            raw[key].pop("caption", None)
            raw[key].pop("caption_entities", None)
            if found is not None and "text" in raw[key]:
                raw[key]["text"] = identifiers.WITHHELD.format(kind=found)
                raw[key].pop("entities", None)
    if found is not None and "callback_query" in raw:
        raw["callback_query"]["data"] = identifiers.WITHHELD.format(kind=found)
    return raw
