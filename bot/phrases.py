"""The dialogue's messages as English sentences, shared by the edges (the terminal, Telegram); an edge may
phrase a message its own way (``overrides``: Telegram names its buttons where the terminal names its
commands). One sentence per message code, with named placeholders: never assembled from fragments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conversations.dialogue.identifiers import DATE, EMAIL, NUMBER
from conversations.dialogue.messages import M, Message
from criteria.labels import label
from criteria.messages import from_data, unit_of

from .i18n import ENGLISH, Plural, _, current, number, plural
from .report import CALCULATED, calculated_text, code_text, detail_text, label_text, list_sep, with_unit

SENTENCES: dict[M, str] = {
    M.STARTED: ("New pre-screen {referral_id}. Please give no names, dates of birth or record numbers: the "
                "referral ID is the only key. Answer \"unknown\" whenever you don't know."),
    M.STATUS: "Pre-screen {referral_id}: question {number} of at most {most}.",
    M.SUMMARY: "Pre-screen {referral_id}, answers so far:\n{lines}",
    M.SUMMARY_EMPTY: "Pre-screen {referral_id}: no answers yet.",
    M.REVIEW: "Your answers for {referral_id} (change N corrects any of them):\n{lines}",
    M.TAKEN_BACK: "Your answer \"{question}: {answer}\" was taken back.",
    M.NOTHING_TO_TAKE_BACK: "There is no earlier answer to go back to.",
    M.BLOCK_ANSWERED: "That answers {count} questions at once.",
    M.BLOCK_AT_TOP_OF_NORMAL: ("That answers {count} questions at once, each recorded as 1 × ULN (the top of the "
                               "normal range)."),
    M.CHANGE_NEEDS_REASON: ("{referral_id} was sent to the study team (version {send_no}); to change it, first say "
                            "why: amend (the reasons to choose from), or amend <number> [a few words]"),
    M.NOT_SENT_YET: "this pre-screen has not been sent to the study team: change it with back or change N",
    M.AMEND_NEEDS_REASON: ("Please say why the pre-screen changes: amend <number>, optionally followed by a few "
                           "words (amend 2, or amend 1 the biopsy report came back):\n{reasons}"),
    M.AMEND_NEEDS_TEXT: ("Please say in a few words why the pre-screen changes: amend 5 <reason>, or choose "
                         "another reason:\n{reasons}"),
    M.AMENDING: ("{referral_id} can be changed now; the reason: {reason_text}. The study team is told why, and their "
                 "decision on version {send_no} no longer stands; send it again when it is ready."),
    M.SENT: "{referral_id} was sent to the study team as version {send_no}.",
    M.ALREADY_SENT: "{referral_id} was already sent to the study team (version {send_no}); nothing has changed since.",
    M.CHANGING: "Changing answer {number} (\"{question}: {answer}\"); the other answers stay.",
    M.NO_SUCH_ANSWER: "There is no answer {number}: the summary numbers the answers 1 to {count}.",
    M.REOPENED: "Reopened: I will ask again what was unknown.",
    M.REOPENED_AT: "Reopened at what the study team asked for: {questions}. I will ask these again.",
    M.NOTHING_REQUESTED_LEFT: ("What the study team asked for has been answered since; there is nothing to fill in. "
                               "Send the pre-screen again when it is ready."),
    M.NOTHING_TO_FILL_IN: "Nothing was answered \"unknown\"; there is nothing to fill in.",
    M.FINISHED_OUTCOME_AGAIN: ("{referral_id} is finished; here is its outcome again. Use back to change the last "
                               "answer, or reopen to fill in what was unknown."),
    M.PROTOCOL_CHANGED: ("The study's pre-screening rules changed (protocol {version}). The answers so far were "
                         "carried over, and the outcome so far changed from {before} to {after}.{dropped_note}"),
    M.STALE_BUTTON: "That button belongs to an earlier question; nothing was changed.",
    M.TYPED_BEFORE_QUESTION: ("Your message was written before the question below reached you, so I did not "
                              "apply it to that question; nothing was changed. Please answer the question below."),
    M.NOT_THIS_QUESTION: "That button does not belong to this question; nothing was changed.",
    M.CANCELLED_ALREADY: "this pre-screen was cancelled",
    M.NO_QUESTION_TO_SKIP: "there is no question to skip: the pre-screen is finished",
    M.ONLY_OPEN_CANCELS: "only an open pre-screen can be cancelled",
    M.ONLY_FINISHED_REOPENS: "only a finished pre-screen can be reopened",
    M.FINISH_FIRST: "finish the pre-screen first",
    M.TOO_LONG: "That answer is {length} characters long; a short answer is expected.",
    M.IDENTIFIER: ("That looks like {kind}. Please never send patient identifiers (names, dates of birth, record "
                   "or phone numbers); I did not keep it."),
    M.NUMBER_EXPECTED: "Please answer with a number, for example {example}.",
    M.UNREAD_AFTER_NUMBER: ("I could not read \"{rest}\" after the number. Please answer with a number, for "
                            "example {example}."),
    M.WHOLE_NUMBER_EXPECTED: "Please answer with a whole number, for example {example}.",
    M.THOUSANDS_OR_DECIMAL: ("Is \"{text}\" {thousands} or {decimal}? Please write it without a thousands "
                             "separator: \"{thousands}\" or \"{decimal}\"."),
    M.BELOW_MINIMUM: "{value} is below {minimum}; please give a number of at least {minimum}, for example {example}.",
    M.CREATININE_EXPECTED: "Please give the creatinine with its unit, for example \"106 umol/L\" or \"1.2 mg/dL\".",
    M.CREATININE_UNIT_MISSING: "Which unit is {number}? Please add it: \"{number} mg/dL\" or \"{number} umol/L\".",
    M.CREATININE_MMOL: ("Creatinine in mmol/L is unusual; please give it in umol/L (1 mmol/L = 1000 umol/L) or "
                        "mg/dL."),
    M.CREATININE_UNIT_UNKNOWN: "I don't know the unit \"{unit}\". Please use mg/dL or umol/L.",
    M.YES_NO_EXPECTED: "Please answer yes or no (or \"unknown\").",
    M.CHOICE_EXPECTED: "Please choose one of: {choices} (or \"unknown\").",
    M.LIST_ITEMS_UNKNOWN: ("I don't recognise {items}. Choose from: {choices}; separate them with commas, or "
                           "answer \"none\"."),
    M.LIST_EMPTY: "Please name at least one item, or answer \"none\".",
    M.CHECKLIST_EMPTY: ("Please name the items that apply (by number or name), put \"?\" before any you are not "
                        "sure of, or answer \"none\"."),
    M.CHECKLIST_ITEMS_UNKNOWN: ("I don't recognise {items}. Name the items that apply (by number or name), put \"?\" "
                                "before any you are not sure of, or answer \"none\"."),
    M.OUT_OF_RANGE: "{name} must be between {low} and {high}; {value} is outside that range.",
    M.CONTRADICTION: "That does not fit an earlier answer: {detail}. Check this answer, or use back.",
    M.NOT_VALID: "That answer is not valid: {detail}.",
    M.NOT_VALID_FOR: "That answer is not valid for {key}: {detail}.",
    # the quantity readers
    M.UNIT_WRONG_KIND: "\"{unit}\" does not fit this question. Please answer with a number, for example {example}.",
    M.NUMBER_WITHOUT_UNIT: "Which unit is {number}? Please give a unit for each number, for example {example}.",
    M.QUANTITY_UNCLEAR: "I could not read \"{text}\" as one value. Please answer with a number, for example {example}.",
    M.RANGE_GIVEN: "Please give one value, not a range ({low} to {high}), for example {example}.",
    M.ULN_MISSING: ("{value} {unit} needs the lab's upper limit of normal: please add it (\"{value} {unit}, ULN 40\") "
                    "or give the multiple (\"1.5x\")."),
    M.X_ULN_OR_VALUE: ("Is {value} the multiple of the upper limit of normal, or the lab value? Send \"{value}x\", "
                       "or the value with the lab's upper limit (\"{value} U/L, ULN 40\")."),
    M.ULN_UNITS_DIFFER: "The value is in {unit} but its upper limit in {uln_unit}; please give both in one unit.",
    M.ULN_INVALID: "An upper limit of normal of {uln} cannot be right; please check it.",
    M.NORMAL_READ_AS_ULN: "\"{text}\" read as 1.0 × ULN, the upper end of the normal range.",
    M.SHORTENING_FRACTION: ("Fractional shortening is not the ejection fraction. Please give the LVEF in %, or "
                            "answer \"unknown\"."),
    M.SPO2_ON_OXYGEN: ("That saturation was measured on oxygen; the question is SpO2 on room air. Please give a "
                       "room-air value, or answer \"unknown\"."),
    M.CHRONICITY_NOT_ACTIVITY: ("That is the activity index; the question is the chronicity index (0-12). Please "
                                "give it, or answer \"unknown\"."),
    M.DOSE_PER_KG: "Please give the drug's daily dose in mg/day, not per kg; the weight is asked separately.",
    M.DOSE_NOT_DAILY: ("A dose not given every day is no daily dose. Please give the highest daily dose in mg/day, "
                       "or answer \"unknown\"."),
    M.DOSE_TIMES_A_DAY: "{times} × {dose} mg a day read as {total} mg/day.",
    # the word readers
    M.YES_NO_COMMENT_UNCLEAR: ("That reads \"{answer}\", but the rest of the answer may say otherwise. Please answer "
                               "yes or no (a comment after a comma is fine), or \"unknown\"."),
    M.YES_NO_BOTH: "That answer reads both as yes and as no. Please answer yes or no, or \"unknown\".",
    M.ANA_TITRE_LOW: ("A titre of 1:{titre} is below 1:80. Has the ANA ever been 1:80 or higher? Please answer yes or "
                      "no, or \"unknown\"."),
    M.ANA_TITRE_NEEDED: ("At which titre? The question is whether the ANA was ever 1:80 or higher: please answer yes "
                         "or no, or \"unknown\"."),
    M.SEROLOGY_OTHER_TEST: ("That is {named}, not {test}. Please answer with {test}: positive or negative, or "
                            "\"unknown\"."),
    M.SEROLOGY_WHICH_TEST: ("Which test was that? The question is {test}: please give its result (positive or "
                            "negative), or \"unknown\"."),
    M.SEROLOGY_MIXED: ("That answer gives {test} more than one result, or a result and \"pending\". Please give the "
                       "final result, or \"unknown\" until it is back."),
    M.SEROLOGY_NUMBER: ("A number alone does not say whether {test} is positive. Please answer positive or negative "
                        "as the lab reports it, or \"unknown\"."),
    M.SEROLOGY_EQUIVOCAL: ("An equivocal or borderline {test} is recorded as not known; give the repeat result when it "
                           "is back."),
    M.SYPHILIS_NON_TREPONEMAL: ("A reactive RPR/VDRL alone is common in SLE with antiphospholipid antibodies: recorded "
                                "as not known until a treponemal test (TPPA, TPHA, EIA/CLIA) confirms it."),
    M.LIST_PARTLY_READ: ("I don't recognise {items}. The rest I read as: {read}. Choose from: {choices}; give "
                         "the whole list again, separated by commas, or answer \"none\"."),
    M.HCQ_LEFT_OUT: "Hydroxychloroquine is asked on its own and is no DMARD here: left out of this list.",
    M.GC_LEFT_OUT: "Glucocorticoids are asked on their own: left out of this list.",
    M.READ_AS_OTHER: "Not on the list, so counted as \"other DMARD or biologic\": {drugs}.",
    M.DMARDS_ONLY_APART: ("Hydroxychloroquine and glucocorticoids are asked on their own. Which DMARDs or biologics "
                          "did the patient receive? Name them, or answer \"none\"."),
    M.CHECKLIST_PARTLY_READ: ("I don't recognise {items}. The rest I read as: {read}. Name the items that apply (by "
                              "number or name), put \"?\" before any you are not sure of, or answer \"none\"."),
    M.CHECKLIST_OUTSIDE_WINDOW: "\"{item}\" read as no: {days} days ago is outside its time window.",
    M.ITEM_WHICH: "\"{text}\" could be \"{first}\" or \"{second}\": please name which.",
    M.ITEM_BELOW_THRESHOLD: ("\"{item}\" counts only above {threshold}, and that amount is not above it. Leave it out, "
                             "or check the amount."),
    M.ITEM_AMOUNT_UNCLEAR: ("\"{item}\" counts above {threshold}: please give the amount per 24 hours (\"1.2 g/day\"), "
                            "or name the item alone."),
    M.VALUE_UNKNOWN: "unknown",
    M.VALUE_YES: "yes",
    M.VALUE_NO: "no",
    M.VALUE_TEXT: "{text}",
    M.VALUE_QUANTITY: "{text}",
    M.VALUE_CODES: "{text}",
    M.VALUE_NONE: "none",
    M.VALUE_ITEMS: "{items}{unsure_note}",
}
# The help of the terminal when no question is on screen, and of a question that has none.
HELP = ("Answer each question in a few words: numbers like \"12\" or \"1.2\", yes / no, a choice by number or name, "
        "lists separated by commas, or \"unknown\". Commands: back (change the last answer), skip (unknown), "
        "status, summary, change N, reopen, cancel, help; amend (a pre-screen already sent to the study team "
        "changes only with a reason: amend lists them, amend N [a few words] gives one).")
NO_FURTHER_HELP = "No further help for this question."
DROPPED_NOTE = Plural(" {dropped} answer no longer applies and may be asked again.",
                      " {dropped} answers no longer apply and may be asked again.")
# The words of an answer's description (M.VALUE_ITEMS): the items not sure of (facts) or not assessed.
VALUE_WORDS = {"not_sure": "{items}; not sure: {unsure}", "not_assessed": "{items}; not assessed: {unsure}"}
SUMMARY_LINE = "{n}. {question}: {answer}"
AMEND_REASON_LINE = "  {n}. {label}"
QUOTED = "\"{text}\""
# The reasons for a change to a pre-screen already sent (conversations/dialogue/inputs.AMEND_REASONS).
AMEND_REASON_LABELS = {
    "new_result": "a new test or examination result",
    "entry_error": "an answer was entered wrongly",
    "clarified": "checked against the patient's records",
    "team_request": "the study team asked for it",
    "other": "other (say why in a few words)",
}
# A reason as it is named once chosen: its label, or with the physician's words ("other": the words alone).
AMEND_REASON_CHOSEN = {"label": "{label}", "label_and_text": "{label} ({text})", "text": "{text}"}
# What an answer that was refused looked like (identifiers.DATE, EMAIL, NUMBER: M.IDENTIFIER's kind).
IDENTIFIER_KINDS = (DATE, EMAIL, NUMBER)
# Tests as the serology readers name them (conversations/dialogue/words.TESTS).
TEST_NAMES = {
    "hbsag": "HBsAg", "hbsab": "HBsAb (anti-HBs, the surface antibody)", "hbcab": "HBcAb (anti-HBc)",
    "hbeag": "HBeAg", "hbeab": "HBeAb (anti-HBe)", "hbv_dna": "HBV-DNA", "hcv_ab": "the HCV antibody",
    "hcv_rna": "HCV-RNA", "hiv_ab": "the HIV antibody", "hiv_rna": "HIV-RNA",
    "treponemal": "a treponemal test (TPPA, TPHA, EIA/CLIA)", "non_treponemal": "RPR/VDRL (a non-treponemal test)",
    "cmv_dna": "CMV-DNA by PCR", "cmv_serology": "CMV serology (antibodies)",
}


def _params(message: Message, overrides: Mapping[M, str]) -> dict[str, Any]:
    """The placeholders of a message's sentence: lists and nested messages written out."""
    p = dict(message.params)
    code = message.code
    if code in (M.SUMMARY, M.REVIEW):
        p["lines"] = "\n".join(_(SUMMARY_LINE).format(n=n, question=_(q), answer=text(v, overrides))
                               for n, q, v in p["lines"])
        if p.get("calculated"):
            p["lines"] += "\n" + _(CALCULATED).format(calculated=calculated_text(p["calculated"]))
    elif code in (M.TAKEN_BACK, M.CHANGING):
        p["answer"] = text(p["answer"], overrides)
        p["question"] = _(p["question"])
    elif code is M.PROTOCOL_CHANGED:
        p["dropped_note"] = plural(DROPPED_NOTE, p["dropped"]).format(dropped=number(p["dropped"])) \
            if p.get("dropped") else ""
    elif code in (M.AMEND_NEEDS_REASON, M.AMEND_NEEDS_TEXT):
        p["reasons"] = "\n".join(_(AMEND_REASON_LINE).format(n=n, label=_(AMEND_REASON_LABELS.get(c, c)))
                                 for n, c in p["reasons"])
    elif code is M.REOPENED_AT:
        p["questions"] = "; ".join(_(q) for q in p["questions"])
    elif code is M.AMENDING:
        p["reason_text"] = reason_text(p.get("reason_code"), p.get("reason", ""))
    elif code in (M.CHOICE_EXPECTED, M.LIST_ITEMS_UNKNOWN, M.LIST_PARTLY_READ):
        p["choices"] = list_sep().join(f"{n} {_(label)}" for n, label in p["choices"])
    if code in (M.LIST_ITEMS_UNKNOWN, M.CHECKLIST_ITEMS_UNKNOWN, M.LIST_PARTLY_READ, M.CHECKLIST_PARTLY_READ):
        p["items"] = list_sep().join(_(QUOTED).format(text=t) for t in p["items"])
    if code in (M.LIST_PARTLY_READ, M.CHECKLIST_PARTLY_READ):
        p["read"] = list_sep().join(_(r) for r in p["read"])
    elif code is M.READ_AS_OTHER:
        p["drugs"] = list_sep().join(p["drugs"])
    elif code is M.CHECKLIST_OUTSIDE_WINDOW:
        p["item"] = _(label(p["item"]))
    if code in (M.SEROLOGY_OTHER_TEST, M.SEROLOGY_WHICH_TEST, M.SEROLOGY_MIXED,
                M.SEROLOGY_NUMBER, M.SEROLOGY_EQUIVOCAL):  # the serology readers name tests by code
        p["test"] = _(TEST_NAMES.get(p["test"], p["test"]))
        p["named"] = _(TEST_NAMES.get(p.get("named", ""), p.get("named", "")))
    elif code is M.OUT_OF_RANGE and p.get("key") and current() != ENGLISH:  # the fact and its unit
        unit = unit_of(p["key"])
        p["name"] = label_text(p["key"])
        p["high"] = with_unit(p["high_number"], _(unit) if unit else "")
    elif code is M.IDENTIFIER:
        p["kind"] = _(p["kind"])
    elif code is M.ITEM_WHICH:
        p["first"], p["second"] = _(p["first"]), _(p["second"])
    elif code in (M.CONTRADICTION, M.NOT_VALID) and p.get("said") and current() != ENGLISH:
        p["detail"] = detail_text(from_data(p["said"]))
    elif code is M.VALUE_QUANTITY:  # a number as stored, with its fact's unit in the current language
        p["text"] = with_unit(p["value"], _(p["unit"]) if p["unit"] else "")
    elif code is M.VALUE_CODES:  # a list fact's codes: in English as they stand, else by their labels
        p["text"] = list_sep().join(code_text(p["fact"], c) for c in p["items"])
    elif code is M.VALUE_TEXT:  # a choice's label, or a number as the readers wrote it
        p["text"] = _(p["text"])
    elif code is M.VALUE_ITEMS:
        items = list_sep().join(_(i) for i in p["items"]) if p["items"] else _(SENTENCES[M.VALUE_NONE])
        if p["unsure"]:  # the whole description, one sentence: "{items}; not sure: {unsure}"
            words = VALUE_WORDS["not_sure" if p["facts"] else "not_assessed"]
            items = _(words).format(items=items, unsure=list_sep().join(_(u) for u in p["unsure"]))
        p["items"], p["unsure_note"] = items, ""
    return p


def reason_text(code: str | None, reason: str) -> str:
    """The reason for a change as chosen: the label of its code, with the physician's words if any (an
    "other" reason is its words; a reason recorded before codes were kept is ``other``)."""
    code = code or "other"
    if code == "other" or code not in AMEND_REASON_LABELS:
        return _(AMEND_REASON_CHOSEN["text"]).format(text=reason) if reason else _(AMEND_REASON_LABELS["other"])
    if reason:
        return _(AMEND_REASON_CHOSEN["label_and_text"]).format(label=_(AMEND_REASON_LABELS[code]), text=reason)
    return _(AMEND_REASON_CHOSEN["label"]).format(label=_(AMEND_REASON_LABELS[code]))


def text(message: Message | tuple, overrides: Mapping[M, str] | None = None) -> str:
    """The sentence for ``message`` (an edge's own where it has one), in the current language: the
    template is translated, then filled."""
    message = Message(M(message[0]), dict(message[1]))  # also a message read back from JSON as a pair
    overrides = overrides or {}
    sentence = _(overrides.get(message.code, SENTENCES[message.code]))
    return sentence.format(**_params(message, overrides))
