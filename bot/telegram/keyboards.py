"""Inline keyboards and their callback data (at most 64 bytes, parsed defensively: data can be forged).

Callback data, colon-separated, always naming the referral and, for answers, the question instance:
  a:<ref>:<seq>:<y|n|u|index>  answer (yes, no, unknown, or the index of a choice)
  t:<ref>:<seq>:<index>        toggle a list or checklist item
  k:<ref>:<seq>                done with the toggles
  s:<ref>                      send to the coordinators
  r:<ref>                      reopen to fill in what was unknown
  c:<ref>                      continue this pre-screen (show its question)
  m:<ref>:<send_no>:<n>        change version send_no, sent, for reason n (1 = the first of AMEND_REASONS)
  d:<ref>:<send_no>:<a|i|d>    a coordinator's decision on summary number send_no
  w:<ref>:<seq>:<c|z|x|y>      a reminder's buttons (reminder event seq), parsed in reminders.py
  v:<ref>:<send_no>:<page>     a coordinator's view of summary send_no: 0 the first screen, 1… the details
  lg:<language>                /language: the language chosen (bot/i18n.LANGUAGES)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import LANGUAGES, NAMES, Plural, _, plural
from conversations.dialogue import engine

MAX_DATA = 64
_REF = re.compile(r"[A-Za-z0-9-]{1,24}")
# How a toggle mark shows on its button.
MARKS = {"yes": "☑", "unknown": "❔", None: "☐"}
# The physician's buttons (translated when shown: bot.i18n).
QUESTION_LABELS = {"yes": "Yes", "no": "No", "unknown": "Unknown", "done": "Done ✓", "none": "None of these ✓"}
OUTCOME_LABELS = {"send": "📨 Send to coordinator", "reopen": "✏️ Fill in missing items", "continue": "Continue {ref}"}
DECISION_CODES = {"a": "accept", "i": "need_info", "d": "decline"}
DECISION_LABELS = {"accept": "✅ Accept", "need_info": "❓ Need information", "decline": "✖ Decline"}


class Action(StrEnum):
    """What a button does: the first field of its callback data."""

    ANSWER = "a"
    TOGGLE = "t"
    DONE = "k"
    SEND = "s"
    REOPEN = "r"
    CONTINUE = "c"
    DECIDE = "d"
    AMEND = "m"
    VIEW = "v"


@dataclass(frozen=True)
class Press:
    action: Action
    ref: str
    number: int | None = None  # seq, or send_no for a decision or an amendment
    arg: str | None = None


# How many colon-separated fields each action's data has.
_SHAPES = {Action.ANSWER: 4, Action.TOGGLE: 4, Action.DONE: 3, Action.SEND: 2, Action.REOPEN: 2,
           Action.CONTINUE: 2, Action.DECIDE: 4, Action.AMEND: 4, Action.VIEW: 4}


def parse(data: str | None) -> Press | None:
    """The press, or None for data this bot never makes."""
    if not data or len(data.encode("utf-8")) > MAX_DATA:
        return None
    parts = data.split(":")
    if parts[0] not in _SHAPES or len(parts) != _SHAPES[parts[0]] or not _REF.fullmatch(parts[1]):
        return None
    action, ref = Action(parts[0]), parts[1]
    number = None
    if len(parts) >= 3:
        if not parts[2].isascii() or not parts[2].isdigit() or len(parts[2]) > 9:
            return None
        number = int(parts[2])
    arg = parts[3] if len(parts) == 4 else None
    if action == Action.ANSWER and not (arg in ("y", "n", "u") or _index(arg) is not None):
        return None
    if action == Action.TOGGLE and _index(arg) is None:
        return None
    if action == Action.DECIDE and arg not in DECISION_CODES:
        return None
    if action == Action.AMEND and not 1 <= (_index(arg) or 0) <= len(engine.AMEND_REASONS):
        return None
    if action == Action.VIEW and _index(arg) is None:
        return None
    return Press(action, ref, number, arg)


def _index(arg: str | None) -> int | None:
    if arg is None or not arg.isascii() or not arg.isdigit() or len(arg) > 3:
        return None
    return int(arg)


def _button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode("utf-8")) <= MAX_DATA, data
    return InlineKeyboardButton(text, callback_data=data)


def question(q: engine.Question, ref: str) -> InlineKeyboardMarkup:
    base = f"{ref}:{q.seq}"
    rows: list[list[InlineKeyboardButton]] = []
    if q.kind == "yes_no":
        rows.append([_button(_(QUESTION_LABELS["yes"]), f"{Action.ANSWER}:{base}:y"),
                     _button(_(QUESTION_LABELS["no"]), f"{Action.ANSWER}:{base}:n"),
                     _button(_(QUESTION_LABELS["unknown"]), f"{Action.ANSWER}:{base}:u")])
        return InlineKeyboardMarkup(rows)
    if q.kind == "choice":
        rows += [[_button(_(c.label), f"{Action.ANSWER}:{base}:{i}")] for i, c in enumerate(q.choices)]
    elif q.kind == "multi_choice":
        rows += [[_button(f"{MARKS[q.draft.get(c.value)]} {_(c.label)}", f"{Action.TOGGLE}:{base}:{i}")]
                 for i, c in enumerate(q.choices)]
        rows.append([_button(_(QUESTION_LABELS["done" if q.draft else "none"]), f"{Action.DONE}:{base}"),
                     _button(_(QUESTION_LABELS["unknown"]), f"{Action.ANSWER}:{base}:u")])
        return InlineKeyboardMarkup(rows)
    rows.append([_button(_(QUESTION_LABELS["unknown"]), f"{Action.ANSWER}:{base}:u")])
    return InlineKeyboardMarkup(rows)


def answer_text(q: engine.Question | None, press: Press) -> str | None:
    """The answer a press stands for, as the physician could have typed it; None when the press does not
    fit the question it names (forged, or the question has changed: the engine then says stale)."""
    if press.arg == "u":
        return "unknown"
    if press.arg in ("y", "n"):
        return "yes" if press.arg == "y" else "no"
    i = _index(press.arg)
    if q is None or i is None or i >= len(q.choices) or q.kind != "choice":
        return None
    return q.choices[i].value


def toggle_choice(q: engine.Question | None, press: Press) -> str | None:
    i = _index(press.arg)
    if q is None or i is None or i >= len(q.choices):
        return None
    return q.choices[i].value


def outcome(ref: str, can_reopen: bool) -> InlineKeyboardMarkup:
    rows = [[_button(_(OUTCOME_LABELS["send"]), f"{Action.SEND}:{ref}")]]
    if can_reopen:
        rows.append([_button(_(OUTCOME_LABELS["reopen"]), f"{Action.REOPEN}:{ref}")])
    return InlineKeyboardMarkup(rows)


def amend_reason(press: Press) -> str:
    """The reason code an amendment button stands for (its number checked by ``parse``)."""
    assert press.action == Action.AMEND and press.arg is not None
    return engine.AMEND_REASONS[int(press.arg) - 1]


def amend_reasons(ref: str, send_no: int, reasons: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """The reasons for a change to version ``send_no`` of a pre-screen already sent, one button each:
    (number, label). A button of an earlier version is refused once a later one was sent."""
    return InlineKeyboardMarkup([[_button(label, f"{Action.AMEND}:{ref}:{send_no}:{n}")] for n, label in reasons])


def choose(refs: list[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(_(OUTCOME_LABELS["continue"]).format(ref=r), f"{Action.CONTINUE}:{r}")]
                                 for r in refs])


LANGUAGE_PREFIX = "lg"


def languages(current: str) -> InlineKeyboardMarkup:
    """/language: one button per language, each named in its own language, the current one marked."""
    return InlineKeyboardMarkup([[_button(("✓ " if lang == current else "") + NAMES[lang], f"{LANGUAGE_PREFIX}:{lang}")]
                                 for lang in LANGUAGES])


def _decision_row(ref: str, send_no: int) -> list[InlineKeyboardButton]:
    return [
        _button(_(DECISION_LABELS["accept"]), f"{Action.DECIDE}:{ref}:{send_no}:a"),
        _button(_(DECISION_LABELS["need_info"]), f"{Action.DECIDE}:{ref}:{send_no}:i"),
        _button(_(DECISION_LABELS["decline"]), f"{Action.DECIDE}:{ref}:{send_no}:d"),
    ]


def decision(ref: str, send_no: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_decision_row(ref, send_no)])


DETAILS_LABEL = "📖 Details"
SUMMARY_LABEL = "📋 Summary"
PREVIOUS_LABEL = "◀ Page {page}"
NEXT_LABEL = "Page {page} ▶"


def summary_view(ref: str, send_no: int, page: int = 0, pages: int = 1) -> InlineKeyboardMarkup:
    """The coordinator's summary ``send_no``: the decision buttons, then the way between its first screen
    (page 0) and its details (pages 1 to ``pages``), each shown in place of the other."""
    view = f"{Action.VIEW}:{ref}:{send_no}"
    if page == 0:
        nav = [_button(_(DETAILS_LABEL), f"{view}:1")]
    else:
        nav = [_button(_(SUMMARY_LABEL), f"{view}:0")]
        if page > 1:
            nav.append(_button(_(PREVIOUS_LABEL).format(page=page - 1), f"{view}:{page - 1}"))
        if page < pages:
            nav.append(_button(_(NEXT_LABEL).format(page=page + 1), f"{view}:{page + 1}"))
    return InlineKeyboardMarkup([_decision_row(ref, send_no), nav])


# ---- the physician directory: registration, /profile, /physicians, /invites -------------------------
# Callback data of their own, two fields (``parse`` above is the pre-screens' and decisions'):
#   pf:<name|institution|contact>  a physician changes that field of their profile
#   pv:<user_id>                   a coordinator asks to revoke a physician (a confirmation follows)
#   py:<user_id>                   ... confirms the revocation; pn:<user_id> keeps the physician
#   ix:<invite_id>                 a coordinator cancels an open invite
#   iv:<days>                      a new invite valid that many days

PROFILE_LABELS = {"name": "✏️ Name", "institution": "🏥 Institution", "contact": "☎️ Contact"}
REVOKE_LABEL = "🚫 Revoke {uid}"
REVOKE_YES_LABEL = "🚫 Yes, revoke"
KEEP_LABEL = "Keep"
CANCEL_INVITE_LABEL = "✖ Cancel {iid}"
INVITE_DAYS_LABEL = Plural("{n} day", "{n} days")
DIRECTORY_ACTIONS = ("pf", "pv", "py", "pn", "ix", "iv")
_USER_ID = re.compile(r"[0-9]{1,15}")
_INVITE_ID = re.compile(r"inv-[0-9a-f]{8}")


def directory_press(data: str | None) -> tuple[str, str] | None:
    """(action, argument) of a directory button, or None for data this bot never makes."""
    if not data or len(data.encode("utf-8")) > MAX_DATA:
        return None
    action, _, arg = data.partition(":")
    ok = {"pf": lambda a: a in PROFILE_LABELS, "pv": _USER_ID.fullmatch, "py": _USER_ID.fullmatch,
          "pn": _USER_ID.fullmatch, "ix": _INVITE_ID.fullmatch, "iv": lambda a: a.isascii() and a.isdigit()}
    return (action, arg) if action in ok and ok[action](arg) else None


def profile() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(_(label), f"pf:{field}") for field, label in PROFILE_LABELS.items()]])


def physicians(user_ids: list[int]) -> InlineKeyboardMarkup | None:
    rows = [[_button(_(REVOKE_LABEL).format(uid=uid), f"pv:{uid}")] for uid in user_ids]
    return InlineKeyboardMarkup(rows) if rows else None


def revoke_confirm(user_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(_(REVOKE_YES_LABEL), f"py:{user_id}"),
                                  _button(_(KEEP_LABEL), f"pn:{user_id}")]])


def invites(invite_ids: list[str]) -> InlineKeyboardMarkup | None:
    rows = [[_button(_(CANCEL_INVITE_LABEL).format(iid=iid), f"ix:{iid}")] for iid in invite_ids]
    return InlineKeyboardMarkup(rows) if rows else None


def invite_days(choices: tuple[int, ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(plural(INVITE_DAYS_LABEL, d).format(n=d), f"iv:{d}") for d in choices]])
