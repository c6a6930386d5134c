"""FHIR export of the referrals: one Bundle per referral, built and validated with ``fhir.resources``.

FHIR version: R4B (4.3.0). ``fhir.resources`` 8 defaults to R5 and ships R4B and STU3 but no R4
package; R4B is R4 with a few non-normative additions, and every resource used here (Bundle,
Questionnaire, QuestionnaireResponse, Observation, Provenance) has the same shape in R4 and R4B, so an
R4 server reads these bundles.

Each Bundle (type ``collection``) holds:
- the Questionnaire generated from the protocol: one item per fact key of ``criteria.Facts``, linkId =
  the spec key; boolean / decimal / integer from the field type; ``choice`` with answerOption codes for
  code fields, ``repeats`` for code lists (with an extra ``none`` option, because ``[]`` is a known
  answer: "no biopsy-proven LN"); a ``group`` for the object fact ``eular_acr_2019``;
- the QuestionnaireResponse: the referral's known facts. They come from the latest ``outcome`` event
  when no answer was given after it, else from replaying the answer_* events. Facts answered "unknown"
  have no item (the outcome's missing list names what is still needed);
- when an outcome was recorded, an Observation: the recorded status as value, one component per
  criterion ID with its verdict (re-evaluated from those facts when the recorded protocol version is
  the current one; a re-evaluation that disagrees with the recorded status is noted, not hidden); one
  component per flag for the investigator (code system ``urn:screening-bot:flag``) and per re-check
  (``urn:screening-bot:recheck``), the criterion ID as code and the sentence as ``valueString``, taken
  from the re-evaluation when there is one, else from the outcome event (events written before
  protocol 2 have none); "ineligible now, may be re-referred" as a note;
- a Provenance naming the audit head the export was cut from.

No patient identifiers exist: resources have no subject, only the referral ID as identifier.
The file is FHIR NDJSON (as in FHIR Bulk Data): one Bundle a line. ``since`` picks the referrals with
an event at or after it; their bundles are built from their whole history.
"""

from __future__ import annotations

import functools
import json
import typing
import uuid
from pathlib import Path
from typing import Any

import sqlite_utils
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel, ValidationError

from conversations.dialogue.events import ANSWER_EVENTS, E
from criteria import PROTOCOL_VERSION, TITLES, Facts, Outcome, evaluate
from criteria.labels import FACT_LABELS

from . import audit
from .audit_export import ExportResult, Selection, publish

SYSTEM = "urn:screening-bot"
QUESTIONNAIRE_URL = f"{SYSTEM}:questionnaire"
REFERRAL_SYSTEM = f"{SYSTEM}:referral"
CRITERION_SYSTEM = f"{SYSTEM}:criterion"
VERDICT_SYSTEM = f"{SYSTEM}:verdict"
STATUS_SYSTEM = f"{SYSTEM}:prescreen-status"
FLAG_SYSTEM = f"{SYSTEM}:flag"
RECHECK_SYSTEM = f"{SYSTEM}:recheck"
AUDIT_HEAD_SYSTEM = f"{SYSTEM}:audit-head"
NONE_CODE = "none"


def code_system(key: str) -> str:
    return f"{SYSTEM}:code:{key}"


# --- the Questionnaire, from the facts model -------------------------------------------------------

def _kind(annotation: Any) -> tuple[str, tuple[str, ...], bool, type[BaseModel] | None]:
    """(FHIR item type, answer codes, repeats, nested model) of a ``Facts`` field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    t = args[0]
    if typing.get_origin(t) is list:
        (inner,) = typing.get_args(t)
        return "choice", typing.get_args(inner), True, None
    if typing.get_origin(t) is typing.Literal:
        return "choice", typing.get_args(t), False, None
    if isinstance(t, type) and issubclass(t, BaseModel):
        return "group", (), False, t
    return {bool: "boolean", int: "integer", float: "decimal"}[t], (), False, None


def _item(link_id: str, key: str, annotation: Any, text: str) -> dict[str, Any]:
    type_, codes, repeats, model = _kind(annotation)
    item: dict[str, Any] = {"linkId": link_id, "text": text, "type": type_}
    if repeats:
        item["repeats"] = True
        codes = (*codes, NONE_CODE)
    if codes:
        item["answerOption"] = [{"valueCoding": {"system": code_system(key), "code": c, "display": c}}
                                for c in codes]
    if model is not None:
        item["item"] = [_item(f"{link_id}.{name}", f"{key}.{name}", f.annotation, name)
                        for name, f in model.model_fields.items()]
    return item


def questionnaire_items() -> list[dict[str, Any]]:
    items = []
    for key, field in Facts.model_fields.items():
        name, unit = FACT_LABELS[key]
        items.append(_item(key, key, field.annotation, f"{name} ({unit})" if unit else name))
    return items


@functools.cache
def questionnaire_resource() -> Questionnaire:
    # Validated once: every bundle carries the same Questionnaire, and validating it is most of the cost.
    return Questionnaire.model_validate(questionnaire())


def questionnaire() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire", "url": QUESTIONNAIRE_URL, "version": PROTOCOL_VERSION,
        "name": "CarTSlePediatricPrescreen",
        "title": "Pre-screening facts, pediatric anti-CD19 CAR-T SLE study",
        "status": "active", "subjectType": ["Patient"], "item": questionnaire_items(),
    }


# --- a referral's state, from its events -----------------------------------------------------------

class ReferralState:
    """Replays one referral's events: its facts, its latest outcome and how the pre-screen ended."""

    def __init__(self, referral_id: str) -> None:
        self.referral_id = referral_id
        self.facts: dict[str, Any] = {}
        self.outcome: dict[str, Any] | None = None
        self.outcome_ts: str | None = None
        self.answered_after_outcome = False
        self.answered_ts: str | None = None
        self.cancelled = False
        self.events = 0

    def apply(self, ts: str, type_: str, p: dict[str, Any]) -> None:
        self.events += 1
        if type_ in ANSWER_EVENTS:
            self.answered_after_outcome, self.answered_ts = True, ts
        elif type_ == E.PRESCREEN_REOPENED:  # the engine reopens a finished pre-screen: no longer final
            self.answered_after_outcome = True
        if type_ == E.ANSWER_ACCEPTED:
            self._set(p.get("facts"), p.get("unknown"))
        elif type_ == E.ANSWER_WITHDRAWN:
            self._drop(p.get("facts"), p.get("unknown"))
        elif type_ == E.ANSWER_CORRECTED:
            old, new = p.get("old") or {}, p.get("new") or {}
            self._drop(old.get("facts"), old.get("unknown"))
            self._set(new.get("facts"), new.get("unknown"))
        elif type_ == E.OUTCOME:
            self.outcome, self.outcome_ts, self.answered_after_outcome = p, ts, False
        elif type_ == E.PRESCREEN_CANCELLED:
            self.cancelled = True

    def _set(self, facts: dict[str, Any] | None, unknown: list[str] | None) -> None:
        self.facts.update(facts or {})
        for k in unknown or ():
            self.facts.pop(k, None)

    def _drop(self, facts: dict[str, Any] | None, unknown: list[str] | None) -> None:
        for k in [*(facts or {}), *(unknown or ())]:
            self.facts.pop(k, None)

    def known_facts(self) -> dict[str, Any]:
        # The outcome event carries every known fact as the bot judged them; later answers override it.
        if self.outcome is not None and not self.answered_after_outcome and "facts" in self.outcome:
            return dict(self.outcome["facts"])
        return dict(self.facts)


# --- the resources ---------------------------------------------------------------------------------

def _answers(key: str, value: Any, annotation: Any) -> list[dict[str, Any]]:
    type_, _, repeats, _ = _kind(annotation)
    if type_ == "choice":
        codes = value if repeats else [value]
        return [{"valueCoding": {"system": code_system(key), "code": c, "display": c}}
                for c in (codes or [NONE_CODE])]
    return [{f"value{type_.capitalize()}": value}]


def _response_item(key: str, value: Any, annotation: Any, text: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": key, "text": text}
    model = _kind(annotation)[3]
    if model is None:
        item["answer"] = _answers(key, value, annotation)
    else:
        item["item"] = [_response_item(f"{key}.{name}", value[name], f.annotation, name)
                        for name, f in model.model_fields.items() if value.get(name) is not None]
    return item


def questionnaire_response(state: ReferralState) -> dict[str, Any]:
    facts = state.known_facts()
    items = [_response_item(key, facts[key], f.annotation, FACT_LABELS[key].name)
             for key, f in Facts.model_fields.items() if facts.get(key) is not None]
    final = state.outcome is not None and state.outcome.get("final") and not state.answered_after_outcome
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": REFERRAL_SYSTEM, "value": state.referral_id},
        "questionnaire": f"{QUESTIONNAIRE_URL}|{PROTOCOL_VERSION}",
        "status": "stopped" if state.cancelled else "completed" if final else "in-progress",
        "item": items,
    }
    if state.answered_ts:
        resource["authored"] = state.answered_ts
    return resource


_NOTE_KINDS = (("flags", FLAG_SYSTEM, "flag for the investigator"), ("recheck", RECHECK_SYSTEM, "re-check"))


def _verdict_components(result: Outcome) -> list[dict[str, Any]]:
    return [{
        "code": {"coding": [{"system": CRITERION_SYSTEM, "code": cid, "display": TITLES[cid]}], "text": cid},
        "valueCodeableConcept": {"coding": [{"system": VERDICT_SYSTEM, "code": verdict}]},
    } for cid, verdict in result.criteria.items()]


def _note_components(notes: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Flags and re-checks: the criterion ID as code (display: its title, when the ID is known)."""
    out = []
    for key, system, kind in _NOTE_KINDS:
        for n in notes.get(key) or ():
            cid = str(n.get("criterion"))
            coding = {"system": system, "code": cid, **({"display": TITLES[cid]} if cid in TITLES else {})}
            out.append({"code": {"coding": [coding], "text": f"{cid}: {kind}"}, "valueString": str(n.get("text"))})
    return out


def _recorded_notes(o: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    # Outcome events written before protocol 2 have no flags or re-checks: empty, not an error.
    return {key: list(o.get(key) or []) for key, _, _ in _NOTE_KINDS}


def _evaluated_notes(result: Outcome) -> dict[str, list[dict[str, Any]]]:
    return {"flags": [n.model_dump() for n in result.flags], "recheck": [n.model_dump() for n in result.recheck]}


def outcome_observation(state: ReferralState, response_ref: str) -> dict[str, Any] | None:
    o = state.outcome
    if o is None:
        return None
    notes = [f"{k}: {', '.join(map(str, o[k]))}" for k in ("failed", "missing", "pending") if o.get(k)]
    components: list[dict[str, Any]] = []
    flagged = _recorded_notes(o)
    ineligible_now = bool(o.get("ineligible_now"))
    if o.get("protocol_version") == PROTOCOL_VERSION:
        try:
            result = evaluate(Facts.model_validate(o.get("facts") or {}))
        except ValidationError as exc:
            notes.append(f"facts could not be re-evaluated: {exc.error_count()} validation error(s)")
        else:
            components = _verdict_components(result)
            # The re-evaluation matches the verdict components, and fills in what older events lack.
            flagged, ineligible_now = _evaluated_notes(result), result.ineligible_now
            if result.status != o.get("status"):
                notes.append(f"re-evaluation of the recorded facts gives {result.status}")
    else:
        notes.append(f"recorded under protocol {o.get('protocol_version')}; "
                     "criterion verdicts not re-derived")
    components += _note_components(flagged)
    if ineligible_now and o.get("status") == "ineligible":
        notes.append("ineligible now: every failing criterion is time-limited; the child may be re-referred")
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": REFERRAL_SYSTEM, "value": state.referral_id}],
        "status": "final" if o.get("final") else "preliminary",
        "code": {"coding": [{"system": SYSTEM, "code": "prescreen-outcome",
                             "display": "Study pre-screening eligibility outcome"}],
                 "text": f"Pre-screening outcome ({o.get('protocol_version')})"},
        "effectiveDateTime": state.outcome_ts,
        "valueCodeableConcept": {"coding": [{"system": STATUS_SYSTEM, "code": o.get("status")}],
                                 "text": o.get("status")},
        "derivedFrom": [{"reference": response_ref}],
    }
    if components:
        obs["component"] = components
    if notes:
        obs["note"] = [{"text": n} for n in notes]
    return obs


def _urn(*parts: str) -> str:
    # Deterministic: the same referral exported from the same head gives the same fullUrls.
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '|'.join((SYSTEM, *parts)))}"


def referral_bundle(state: ReferralState, head_seq: int, head: str, exported_at: str) -> Bundle:
    rid = state.referral_id
    q_url, r_url, o_url, p_url = (_urn(rid, kind, head) for kind in ("Q", "QR", "Obs", "Prov"))
    entries: list[tuple[str, Any]] = [(q_url, questionnaire_resource()), (r_url, questionnaire_response(state))]
    observation = outcome_observation(state, r_url)
    if observation is not None:
        entries.append((o_url, observation))
    entries.append((p_url, {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url, _ in entries[1:]],
        "recorded": exported_at,
        "agent": [{"who": {"display": "screening-bot audit trail"}}],
        "entity": [{"role": "source", "what": {
            "identifier": {"system": AUDIT_HEAD_SYSTEM, "value": head},
            "display": f"audit trail up to event {head_seq}"}}],
    }))
    return Bundle.model_validate({
        "resourceType": "Bundle", "type": "collection", "timestamp": exported_at,
        "identifier": {"system": REFERRAL_SYSTEM, "value": rid},
        "entry": [{"fullUrl": url, "resource": r} for url, r in entries],
    })


def referral_states(db: sqlite_utils.Database, selection: Selection) -> typing.Iterator[ReferralState]:
    wanted: set[str] | None = None
    if selection.since is not None:
        where, params = selection.where()
        sql = f"SELECT DISTINCT referral_id FROM {audit.TABLE} WHERE referral_id IS NOT NULL AND {where}"
        wanted = {r[0] for r in db.conn.execute(sql, params)}
    whole = Selection(selection.head_seq, selection.head, selection.referral_id)
    for rid, rows in whole.referral_rows(db):
        if wanted is not None and rid not in wanted:
            continue
        state = ReferralState(rid)
        for row in rows:
            state.apply(row[1], row[5], json.loads(row[6]))
        yield state


def _write_ndjson(db: sqlite_utils.Database, path: Path, selection: Selection) -> tuple[int, int]:
    # The head each Bundle names is proven first: every event up to it checked (BrokenTrail otherwise).
    for _ in selection.rows(db):
        pass
    exported_at = audit.utc_now()
    events = referrals = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for state in referral_states(db, selection):
            bundle = referral_bundle(state, selection.head_seq, selection.head, exported_at)
            out.write(bundle.model_dump_json() + "\n")
            events, referrals = events + state.events, referrals + 1
    return events, referrals


def export(db: sqlite_utils.Database, path: str | Path, *, actor_role: str, actor_id: int,
           referral_id: str | None = None, since: str | None = None) -> ExportResult:
    """Write FHIR NDJSON (one Bundle per referral) to ``path`` and record the export as an audit event."""
    return publish(db, path, "fhir", _write_ndjson, actor_role=actor_role, actor_id=actor_id,
                   referral_id=referral_id, since=since)
