"""The audit trail's vocabulary: every event type and the shape of its payload, in one place.

Producers (the engine, the Telegram adapter, the outbox, the exports) name their events from here, and
readers (the transcripts, the FHIR export, the screening log, reassess) read them by these names. A
payload is plain JSON; ``PAYLOAD_KEYS`` lists the keys each type's payload always has (a reader must
still accept older events that lack keys added later, such as the flags of an outcome).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple


class E(StrEnum):
    # the pre-screen (written by the dialogue, through the store)
    PRESCREEN_STARTED = "prescreen_started"
    ANSWER_ACCEPTED = "answer_accepted"
    ANSWER_REJECTED = "answer_rejected"
    ANSWER_WITHDRAWN = "answer_withdrawn"
    ANSWER_CORRECTED = "answer_corrected"
    OUTCOME = "outcome"
    PRESCREEN_CANCELLED = "prescreen_cancelled"
    PRESCREEN_REOPENED = "prescreen_reopened"
    PROTOCOL_CHANGED = "protocol_changed"
    PRESCREEN_SAVED = "prescreen_saved"  # a step changed the row and said nothing else (a toggle, a sending)
    # a terminal session (written by the terminal chat): who screened, where, and when they paused
    SESSION_OPENED = "session_opened"
    SESSION_PAUSED = "session_paused"
    # the chat (written by the Telegram adapter and its outbox)
    UPDATE_RECEIVED = "update_received"
    MESSAGE_SENT = "message_sent"
    MESSAGE_DELETED = "message_deleted"
    ACCESS_REFUSED = "access_refused"
    # the study team
    PHYSICIAN_REGISTERED = "physician_registered"
    INVITE_CREATED = "invite_created"
    PHYSICIAN_REVOKED = "physician_revoked"
    PHYSICIAN_PROFILE = "physician_profile"  # a name, institution or contact given (registration, /profile)
    INVITE_CANCELLED = "invite_cancelled"
    REFERRAL_SENT = "referral_sent"
    REFERRAL_AMENDED = "referral_amended"
    COORDINATOR_DECISION = "coordinator_decision"
    DECISION_UNDONE = "decision_undone"  # a coordinator took their decision back (within 10 minutes)
    LANGUAGE_CHOSEN = "language_chosen"  # a user chose the language the bot writes to them in (/language)
    # the records
    EXPORT = "export"
    AUDIT_KEYED = "audit_keyed"  # the chain is an HMAC under the key named from this event on
    HEAD_ANCHORED = "head_anchored"  # the head before it sent to the coordinators (daily, or with an export)
    # reminders (written by the Telegram adapter's reminder job, and a physician's snooze)
    REMINDER_SENT = "reminder_sent"  # an idle pre-screen's physician reminded (queued with its message)
    REMINDER_SNOOZED = "reminder_snoozed"  # the physician asked to be reminded again later
    DIGEST_SENT = "digest_sent"  # a coordinator's daily digest of referrals waiting for a decision


PAYLOAD_KEYS: dict[E, frozenset[str]] = {
    E.PRESCREEN_STARTED: frozenset({"channel", "protocol_version"}),
    E.ANSWER_ACCEPTED: frozenset({"question", "facts", "unknown", "raw"}),
    E.ANSWER_REJECTED: frozenset({"question", "error"}),
    E.ANSWER_WITHDRAWN: frozenset({"question", "facts", "unknown"}),
    E.ANSWER_CORRECTED: frozenset({"question", "old", "new", "raw"}),
    E.OUTCOME: frozenset({"status", "final", "failed", "missing", "pending", "flags", "recheck", "ineligible_now",
                          "criteria", "protocol_version", "facts"}),
    E.PRESCREEN_CANCELLED: frozenset(),
    E.PRESCREEN_REOPENED: frozenset({"questions"}),
    E.PROTOCOL_CHANGED: frozenset({"from", "to", "dropped", "outcome_before", "outcome_after"}),
    E.PRESCREEN_SAVED: frozenset({"state_sha"}),
    E.UPDATE_RECEIVED: frozenset({"update_id", "kind", "text"}),
    # ``lang``: the language the message is written in (bot/i18n.LANGUAGES); events from before lack it.
    E.MESSAGE_SENT: frozenset({"chat_id", "text", "lang"}),
    E.MESSAGE_DELETED: frozenset({"chat_id", "message_id", "reason"}),
    E.ACCESS_REFUSED: frozenset({"reason", "chat_type", "update_kind"}),
    E.PHYSICIAN_REGISTERED: frozenset({"invite_id"}),
    E.INVITE_CREATED: frozenset({"invite_id", "code_hash", "expires_at"}),
    E.PHYSICIAN_REVOKED: frozenset({"physician_id", "existed"}),
    # ``value``: the name or institution as given; for the contact, the SHA-256 of the directory row's salt
    # and the contact (records/registry.contact_digest), never the contact itself. ``existed``: whether the
    # physician had a row (one only on the allow-list gets its row with its first profile event).
    E.PHYSICIAN_PROFILE: frozenset({"field", "value", "registration", "existed"}),
    E.INVITE_CANCELLED: frozenset({"invite_id"}),
    E.REFERRAL_SENT: frozenset({"send_no", "outcome_status", "protocol_version", "criteria", "coordinators"}),
    # ``reason_code``: why a referral was declined (registry.DECLINE_REASONS; None for the others); ``reason``:
    # the coordinator's words ("" when none); ``items``: the questions a "need information" asks for (else []);
    # ``decision_id``: the registry's row (the n-th decision event is row n).
    E.COORDINATOR_DECISION: frozenset({"decision", "send_no", "reason_code", "reason", "items", "decision_id"}),
    # ``status``: the referral's status after the undo (the decision before it, or "sent").
    E.DECISION_UNDONE: frozenset({"decision_id", "decision", "send_no", "status"}),
    E.REFERRAL_AMENDED: frozenset({"send_no", "reason_code", "reason"}),
    # ``lang``: bot/i18n.LANGUAGES; the actor is the user who chose it (records/rebuild.py: user_languages).
    E.LANGUAGE_CHOSEN: frozenset({"lang"}),
    E.EXPORT: frozenset({"format", "referral_id", "since", "events", "head"}),
    E.AUDIT_KEYED: frozenset({"key_id", "from_seq", "plain_head"}),
    E.HEAD_ANCHORED: frozenset({"why", "day", "seq", "head", "chats"}),
    E.REMINDER_SENT: frozenset({"since", "number", "kind", "chat_id"}),
    E.REMINDER_SNOOZED: frozenset({"since", "until", "reminder_seq"}),
    E.DIGEST_SENT: frozenset({"day", "chat_id", "referrals"}),
    E.SESSION_OPENED: frozenset({"operator", "host", "resumed"}),
    E.SESSION_PAUSED: frozenset({"operator", "host"}),
}
# The pre-screen's row as a step left it, on the step's last event (or a ``prescreen_saved`` of its own): the
# SHA-256 of its state JSON, and its outcome column when the step set it. records/rebuild.py checks the
# row against the last of them; an event from before they were kept has neither.
STATE_SHA, ROW_OUTCOME = "state_sha", "outcome_status"
# Events the system itself says (the verdict, its own messages), as opposed to what an actor said or did.
SYSTEM_EVENTS = frozenset({E.OUTCOME, E.PROTOCOL_CHANGED, E.MESSAGE_SENT, E.MESSAGE_DELETED})
# The answers that change the facts of a pre-screen, in the order a reader replays them.
ANSWER_EVENTS = frozenset({E.ANSWER_ACCEPTED, E.ANSWER_WITHDRAWN, E.ANSWER_CORRECTED})


class Event(NamedTuple):
    """An audit event a step produced; the store writes it in the step's transaction."""

    type: E
    payload: dict[str, Any]


def event(type_: E, **payload: Any) -> Event:
    """An event with its payload, checked against the catalogue (a producer cannot drift from it)."""
    missing = PAYLOAD_KEYS[type_] - payload.keys()
    if missing:
        raise ValueError(f"{type_} without {', '.join(sorted(missing))}")
    return Event(type_, payload)
