"""What the dialogue has to say, as message codes with their parameters: each edge (the terminal, Telegram)
turns a message into a sentence of its own, in its user's language. The codes are the dialogue's whole
vocabulary; the sentences live with the edges (bot/phrases.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import ValidationError

from criteria import Facts
from criteria.labels import FACT_LABELS, fmt_number, fmt_quantity


class M(StrEnum):
    """Every message code of the dialogue."""

    # the pre-screen
    STARTED = "started"                      # referral_id
    STATUS = "status"                        # referral_id, number, most (the most questions in all)
    SUMMARY = "summary"                      # referral_id, lines: [[n, question, value message]]
    SUMMARY_EMPTY = "summary_empty"          # referral_id
    REVIEW = "review"                        # referral_id, lines (as SUMMARY): before the outcome
    TAKEN_BACK = "taken_back"                # question, answer (value message)
    NOTHING_TO_TAKE_BACK = "nothing_to_take_back"
    BLOCK_ANSWERED = "block_answered"        # count
    BLOCK_AT_TOP_OF_NORMAL = "block_at_top_of_normal"  # count
    CHANGE_NEEDS_REASON = "change_needs_reason"  # referral_id, send_no
    NOT_SENT_YET = "not_sent_yet"
    # reasons: [[n, code]] (inputs.AMEND_REASONS, numbered), send_no (the version that would change)
    AMEND_NEEDS_REASON = "amend_needs_reason"
    AMEND_NEEDS_TEXT = "amend_needs_text"    # reasons, send_no (as above): "other" chosen without a few words
    AMENDING = "amending"                    # referral_id, send_no, reason_code, reason (text, may be empty)
    SENT = "sent"                            # referral_id, send_no
    ALREADY_SENT = "already_sent"            # referral_id, send_no
    CHANGING = "changing"                    # number, question, answer (value message)
    NO_SUCH_ANSWER = "no_such_answer"        # number, count
    REOPENED = "reopened"
    NOTHING_TO_FILL_IN = "nothing_to_fill_in"
    REOPENED_AT = "reopened_at"              # questions: the short names of the questions asked again
    NOTHING_REQUESTED_LEFT = "nothing_requested_left"  # what the study team asked for is answered since
    FINISHED_OUTCOME_AGAIN = "finished_outcome_again"  # referral_id
    PROTOCOL_CHANGED = "protocol_changed"    # version, before, after, dropped (count)
    # buttons
    STALE_BUTTON = "stale_button"
    TYPED_BEFORE_QUESTION = "typed_before_question"
    NOT_THIS_QUESTION = "not_this_question"
    # illegal steps
    CANCELLED_ALREADY = "cancelled_already"
    NO_QUESTION_TO_SKIP = "no_question_to_skip"
    ONLY_OPEN_CANCELS = "only_open_cancels"
    ONLY_FINISHED_REOPENS = "only_finished_reopens"
    FINISH_FIRST = "finish_first"
    # answers refused (reprompts)
    TOO_LONG = "too_long"                    # length
    IDENTIFIER = "identifier"                # kind: date, email, number
    NUMBER_EXPECTED = "number_expected"      # example
    UNREAD_AFTER_NUMBER = "unread_after_number"  # rest, example
    WHOLE_NUMBER_EXPECTED = "whole_number_expected"  # example
    THOUSANDS_OR_DECIMAL = "thousands_or_decimal"  # text, thousands, decimal
    BELOW_MINIMUM = "below_minimum"          # value, minimum, example
    CREATININE_EXPECTED = "creatinine_expected"
    CREATININE_UNIT_MISSING = "creatinine_unit_missing"  # number
    CREATININE_MMOL = "creatinine_mmol"
    CREATININE_UNIT_UNKNOWN = "creatinine_unit_unknown"  # unit
    YES_NO_EXPECTED = "yes_no_expected"
    CHOICE_EXPECTED = "choice_expected"      # choices: [[n, label]]
    LIST_ITEMS_UNKNOWN = "list_items_unknown"  # items, choices
    LIST_EMPTY = "list_empty"
    CHECKLIST_EMPTY = "checklist_empty"
    CHECKLIST_ITEMS_UNKNOWN = "checklist_items_unknown"  # items
    OUT_OF_RANGE = "out_of_range"            # name, low, high (with its unit), value, key, high_number
    CONTRADICTION = "contradiction"          # detail
    NOT_VALID = "not_valid"                  # detail
    NOT_VALID_FOR = "not_valid_for"          # key, detail
    # answers refused or noted by the quantity readers (units, × ULN, doses)
    UNIT_WRONG_KIND = "unit_wrong_kind"      # unit, example
    NUMBER_WITHOUT_UNIT = "number_without_unit"  # number, example
    QUANTITY_UNCLEAR = "quantity_unclear"    # text, example
    RANGE_GIVEN = "range_given"              # low, high, example
    ULN_MISSING = "uln_missing"              # value, unit
    X_ULN_OR_VALUE = "x_uln_or_value"        # value
    ULN_UNITS_DIFFER = "uln_units_differ"    # unit, uln_unit
    ULN_INVALID = "uln_invalid"              # uln
    NORMAL_READ_AS_ULN = "normal_read_as_uln"  # text (a note)
    SHORTENING_FRACTION = "shortening_fraction"
    SPO2_ON_OXYGEN = "spo2_on_oxygen"
    CHRONICITY_NOT_ACTIVITY = "chronicity_not_activity"
    DOSE_PER_KG = "dose_per_kg"
    DOSE_NOT_DAILY = "dose_not_daily"
    DOSE_TIMES_A_DAY = "dose_times_a_day"    # dose, times, total (a note)
    # answers refused or noted by the word readers (yes/no with a comment, serology, lists, free text)
    YES_NO_COMMENT_UNCLEAR = "yes_no_comment_unclear"  # answer ("yes" or "no")
    YES_NO_BOTH = "yes_no_both"
    ANA_TITRE_LOW = "ana_titre_low"          # titre (the denominator: "40" for 1:40)
    ANA_TITRE_NEEDED = "ana_titre_needed"
    SEROLOGY_OTHER_TEST = "serology_other_test"  # named, test (test codes of words.TESTS)
    SEROLOGY_WHICH_TEST = "serology_which_test"  # test
    SEROLOGY_MIXED = "serology_mixed"        # test
    SEROLOGY_NUMBER = "serology_number"      # test
    SEROLOGY_EQUIVOCAL = "serology_equivocal"  # test (a note: recorded as not known)
    SYPHILIS_NON_TREPONEMAL = "syphilis_non_treponemal"  # (a note: recorded as not known)
    LIST_PARTLY_READ = "list_partly_read"    # read, items, choices
    HCQ_LEFT_OUT = "hcq_left_out"            # (a note)
    GC_LEFT_OUT = "gc_left_out"              # (a note)
    READ_AS_OTHER = "read_as_other"          # drugs (a note)
    DMARDS_ONLY_APART = "dmards_only_apart"
    CHECKLIST_PARTLY_READ = "checklist_partly_read"  # read, items
    CHECKLIST_OUTSIDE_WINDOW = "checklist_outside_window"  # item (code), days (a note)
    ITEM_WHICH = "item_which"                # text, first, second
    ITEM_BELOW_THRESHOLD = "item_below_threshold"  # item, threshold
    ITEM_AMOUNT_UNCLEAR = "item_amount_unclear"  # item, threshold
    # how an answer is described (in summaries and when taken back)
    VALUE_UNKNOWN = "value_unknown"
    VALUE_YES = "value_yes"
    VALUE_NO = "value_no"
    VALUE_TEXT = "value_text"                # text
    VALUE_QUANTITY = "value_quantity"        # value, unit (the fact's, in English: the edge names it)
    VALUE_CODES = "value_codes"              # fact, items (a list fact's codes: the edge names them)
    VALUE_NONE = "value_none"
    VALUE_ITEMS = "value_items"              # items, unsure, checklist (facts: "not sure"; items: "not assessed")


class Message(NamedTuple):
    code: M
    params: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"code": str(self.code), "params": self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(M(data["code"]), dict(data.get("params") or {}))


def msg(code: M, **params: Any) -> Message:
    return Message(code, params)


def _bounds(key: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in Facts.model_fields[key].metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    return lo, hi


def validation_message(error: ValidationError) -> Message:
    """The first validation error of the facts model, as a message for the physician."""
    e = error.errors(include_url=False)[0]
    loc = e["loc"]
    # The facts model's own sentence as a template with its values (criteria.messages.to_data), so that
    # an edge says it in the physician's language; ``detail`` is its English.
    said = {"said": e["ctx"]["said"]} if e["type"] == "contradiction" and "said" in (e.get("ctx") or {}) else {}
    if e["type"] == "contradiction" and not str(e["msg"]).startswith("contradiction"):
        # A whole-model check that is no contradiction (creatinine outside its range in either unit).
        return msg(M.NOT_VALID, detail=str(e["msg"]), **said)
    if e["type"] == "contradiction" or not loc:
        return msg(M.CONTRADICTION, detail=str(e["msg"]), **said)
    key = str(loc[0])
    if key in FACT_LABELS and e["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
        lo, hi = _bounds(key)
        shown = fmt_number(e["input"]) if isinstance(e["input"], int | float) else e["input"]
        if lo is not None and hi is not None:
            name = FACT_LABELS[key].name
            # The name as written ("SLEDAI-2K", "eGFR"), else first letter up; the unit as fmt_quantity sets it.
            name = name if name[1:2].isupper() else name[:1].upper() + name[1:]
            # key and the bare upper bound: an edge names the fact and its unit in the physician's language
            return msg(M.OUT_OF_RANGE, name=name, low=fmt_number(lo), high=fmt_quantity(key, hi), value=shown,
                       key=key, high_number=fmt_number(hi))
    return msg(M.NOT_VALID_FOR, key=key, detail=str(e["msg"]))
