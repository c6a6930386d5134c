"""FHIR export: one R4B Bundle per referral that validates with fhir.resources; linkIds are spec keys."""

import json

import pytest
import steps
from audit_fixtures import (
    CANCELLED,
    ELIGIBLE,
    ELIGIBLE_FACTS,
    IN_PROGRESS,
    INELIGIBLE,
    NEED_INFO,
    REFERRALS,
    Clock,
    Conversation,
    fresh_db,
    rows,
)
from fhir.resources.R4B import __fhir_version__
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire

from conversations.records import audit, fhir_export
from criteria import CRITERION_IDS, PROTOCOL_VERSION, Facts, evaluate

SPEC_KEYS = set(Facts.model_fields)


@pytest.fixture
def db(trail):
    return trail


def bundles(path):
    """Each NDJSON line parsed and validated again from its JSON text."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        bundle = Bundle.model_validate_json(line)
        out[bundle.identifier.value] = {e.resource.get_resource_type(): e.resource for e in bundle.entry}
    return out


@pytest.fixture
def exported(db, tmp_path):
    fhir_export.export(db, tmp_path / "bundles.ndjson", actor_role="operator", actor_id=7)
    return bundles(tmp_path / "bundles.ndjson")


def answers(response):
    def value(a):
        if a.valueCoding is not None:
            return a.valueCoding.code
        return next(v for v in (a.valueBoolean, a.valueDecimal, a.valueInteger) if v is not None)
    return {i.linkId: [value(a) for a in i.answer or ()] for i in response.item or ()}


def verdicts_of(obs):
    """The criterion verdict components; flags and re-checks are components of their own code systems."""
    return {c.code.coding[0].code: c.valueCodeableConcept.coding[0].code for c in obs.component
            if c.code.coding[0].system == fhir_export.CRITERION_SYSTEM}


def test_fhir_version_is_r4b():
    assert __fhir_version__ == "4.3.0"


def test_questionnaire_has_one_item_per_spec_key():
    q = Questionnaire.model_validate(fhir_export.questionnaire())
    assert [i.linkId for i in q.item] == list(Facts.model_fields)
    types = {i.linkId: i for i in q.item}
    assert types["age_years"].type == "decimal"
    assert types["sledai_2k"].type == "integer"
    assert types["hcq"].type == "boolean"
    assert types["hbsag"].type == "choice" and [o.valueCoding.code for o in types["hbsag"].answerOption] == [
        "positive", "negative"]
    assert types["dmards"].repeats and "rituximab" in [o.valueCoding.code for o in types["dmards"].answerOption]
    assert types["eular_acr_2019"].type == "group"
    assert [i.linkId for i in types["eular_acr_2019"].item] == ["eular_acr_2019.ana_ge_1_80",
                                                                 "eular_acr_2019.items",
                                                                 "eular_acr_2019.unknown_items"]
    assert types["weight_kg"].text == "weight (kg)"


def test_one_valid_bundle_per_referral(exported):
    assert set(exported) == set(REFERRALS)
    for resources in exported.values():
        response = resources["QuestionnaireResponse"]
        assert response.questionnaire == f"{fhir_export.QUESTIONNAIRE_URL}|{PROTOCOL_VERSION}"
        assert {i.linkId for i in response.item or ()} <= SPEC_KEYS
        assert "Provenance" in resources


def test_eligible_referral_answers_and_outcome(exported):
    resources = exported[ELIGIBLE]
    got = answers(resources["QuestionnaireResponse"])
    assert set(got) == set(ELIGIBLE_FACTS)
    assert got["age_years"] == [14] and got["hcq"] == [True] and got["hbsag"] == ["negative"]
    assert got["dmards"] == ["mycophenolate", "rituximab"]
    assert got["cardiac_conditions"] == [fhir_export.NONE_CODE]  # [] is an answer: none
    assert resources["QuestionnaireResponse"].status == "completed"
    obs = resources["Observation"]
    assert obs.status == "final" and obs.valueCodeableConcept.coding[0].code == "eligible"
    verdicts = verdicts_of(obs)
    assert list(verdicts) == list(CRITERION_IDS)
    assert verdicts["I1"] == "met" and verdicts["I7"] == "pending" and verdicts["E1"] == "clear"
    assert obs.subject is None  # no patient identifiers anywhere


def test_ineligible_referral_components_name_the_failures(exported):
    obs = exported[INELIGIBLE]["Observation"]
    verdicts = verdicts_of(obs)
    assert verdicts["I1"] == "not_met" and verdicts["E9a"] == "excluded"
    assert any("failed: I1, E9a" in n.text for n in obs.note)
    # I1 (age 4) is time-limited, E9a is not: a re-check for I1, and not "ineligible now".
    assert notes_of(obs, fhir_export.RECHECK_SYSTEM) == [("I1", "may be re-referred at 5 years of age")]
    assert not any("ineligible now" in n.text for n in obs.note)


def test_replayed_answers_follow_withdrawals_corrections_and_unknowns(exported):
    resources = exported[IN_PROGRESS]
    got = answers(resources["QuestionnaireResponse"])
    assert got == {"age_years": [13], "sex": ["female"], "childbearing_potential": [False]}
    assert resources["QuestionnaireResponse"].status == "in-progress"
    assert resources["Observation"].status == "preliminary"


def test_cancelled_and_incomplete(exported):
    assert exported[CANCELLED]["QuestionnaireResponse"].status == "stopped"
    assert "Observation" not in exported[CANCELLED]
    need = exported[NEED_INFO]
    assert "hbsag" not in answers(need["QuestionnaireResponse"])
    assert need["Observation"].valueCodeableConcept.coding[0].code == "incomplete"


def test_answers_after_the_outcome_are_replayed(tmp_path):
    db = fresh_db(tmp_path)
    c = Conversation(db, Clock(), "R-AAAA-BBBB", 101)
    c.start()
    c.answer("age", {"age_years": 10}, raw="10")
    c.outcome(final=False)
    c.answer("eular", {"eular_acr_2019": {"ana_ge_1_80": True, "items": ["joint_involvement"]}}, raw="…")
    fhir_export.export(db, tmp_path / "b.ndjson", actor_role="operator", actor_id=7)
    response = bundles(tmp_path / "b.ndjson")["R-AAAA-BBBB"]["QuestionnaireResponse"]
    group = {i.linkId: i for i in response.item}["eular_acr_2019"]
    assert answers(response)["age_years"] == [10]
    assert {i.linkId: answers_of(i) for i in group.item} == {
        "eular_acr_2019.ana_ge_1_80": [True], "eular_acr_2019.items": ["joint_involvement"]}


def answers_of(item):
    return [a.valueBoolean if a.valueBoolean is not None else a.valueCoding.code for a in item.answer]


def test_export_is_an_audit_event_and_provenance_carries_the_head(db, tmp_path):
    head_seq, head = audit.head(db)
    result = fhir_export.export(db, tmp_path / "one.ndjson", actor_role="coordinator", actor_id=201,
                                referral_id=ELIGIBLE)
    got = bundles(tmp_path / "one.ndjson")
    assert list(got) == [ELIGIBLE] and result.referrals == 1
    entity = got[ELIGIBLE]["Provenance"].entity[0].what.identifier
    assert (entity.system, entity.value) == (fhir_export.AUDIT_HEAD_SYSTEM, head)
    event = rows(db)[-1]
    assert (event["type"], event["actor_role"], event["actor_id"]) == ("export", "coordinator", 201)
    payload = json.loads(event["payload"])
    assert payload["format"] == "fhir" and payload["head"] == head and payload["referral_id"] == ELIGIBLE
    assert result.head_seq == head_seq


def test_since_selects_referrals_but_bundles_hold_their_whole_history(db, tmp_path):
    since = next(r["ts"] for r in rows(db) if r["referral_id"] == NEED_INFO and r["type"] == "outcome")
    expected = {r["referral_id"] for r in rows(db) if r["ts"] >= since and r["referral_id"]}
    fhir_export.export(db, tmp_path / "late.ndjson", actor_role="operator", actor_id=7, since=since)
    got = bundles(tmp_path / "late.ndjson")
    assert set(got) == expected == {NEED_INFO}
    # The answers were given before `since`, and are in the bundle all the same.
    assert set(answers(got[NEED_INFO]["QuestionnaireResponse"])) == set(ELIGIBLE_FACTS) - {"hbsag", "hbcab"}


def test_reopened_prescreen_is_in_progress_again(tmp_path):
    db = fresh_db(tmp_path)
    c = Conversation(db, Clock(), "R-REOP-0001", 101)
    c.start()
    c.answer("age", {"age_years": 10}, raw="10")
    c.answer("lvef", {}, raw="unknown", unknown=("lvef_percent",))
    c.outcome(final=True)
    c._rec("physician", 101, "prescreen_reopened", {"questions": ["lvef"]})
    fhir_export.export(db, tmp_path / "b.ndjson", actor_role="operator", actor_id=7)
    response = bundles(tmp_path / "b.ndjson")["R-REOP-0001"]["QuestionnaireResponse"]
    assert response.status == "in-progress" and answers(response) == {"age_years": [10]}


def test_bundle_from_a_conversation_run_by_the_real_engine(tmp_path):
    # The payloads as the engine and the store write them, not as the fixtures imitate them.
    from conversations.dialogue import engine
    from conversations.records.store import Store

    store = Store.open(tmp_path / "screening.db")
    rid = steps.start(store, "physician", 101).referral_id
    for inp in (engine.Answer("14"), engine.Command("back"), engine.Answer("15")):
        step = steps.apply(store, rid, inp, "physician", 101)
    for _ in range(200):
        if step.state.phase != "asking":
            break
        step = steps.apply(store, rid, engine.Command("skip"), "physician", 101)
    fhir_export.export(store.db, tmp_path / "b.ndjson", actor_role="operator", actor_id=7)
    resources = bundles(tmp_path / "b.ndjson")[rid]
    assert answers(resources["QuestionnaireResponse"]) == {"age_years": [15]}
    assert resources["Observation"].valueCodeableConcept.coding[0].code == "incomplete"
    assert resources["Observation"].status == "final"


# ---- protocol 2: flags for the investigator and re-checks -------------------------------------------------

FLAGGED = {"age_years": 18, "dmards": ["other", "mycophenolate"], "hbcab": "positive", "hbv_dna": "negative",
           "syphilis": "positive"}
TIME_LIMITED = {"age_years": 4, "cns_event_60d": True, "mas_1m": True, "transplant_3m": True}


def engine_outcome(c, final=True, **override):
    """An outcome event with the payload conversations.dialogue.engine writes under protocol 2."""
    o = evaluate(c.facts)
    payload = {"status": o.status, "final": final, "failed": o.failed, "missing": o.missing_facts,
               "pending": o.pending, "flags": [n.model_dump() for n in o.flags],
               "recheck": [n.model_dump() for n in o.recheck], "ineligible_now": o.ineligible_now,
               "criteria": o.criteria, "protocol_version": o.protocol_version, "facts": dict(c.facts)}
    payload.update(override)
    c._rec("system", 0, "outcome", payload)
    return payload


def observation_of(tmp_path, answered, rid="R-FLAG-0001", **override):
    db = fresh_db(tmp_path)
    c = Conversation(db, Clock(), rid, 101)
    c.start()
    c.answer("all", answered, raw="(all)")
    engine_outcome(c, **override)
    fhir_export.export(db, tmp_path / "b.ndjson", actor_role="operator", actor_id=7)
    return bundles(tmp_path / "b.ndjson")[rid]["Observation"]  # validated again from its JSON text


def notes_of(obs, system):
    return [(c.code.coding[0].code, c.valueString) for c in obs.component or ()
            if c.code.coding[0].system == system]


def test_flags_are_observation_components_with_the_criterion_as_code(tmp_path):
    obs = observation_of(tmp_path, FLAGGED)
    expected = [(n.criterion, n.text) for n in evaluate(FLAGGED).flags]
    assert notes_of(obs, fhir_export.FLAG_SYSTEM) == expected
    assert [cid for cid, _ in expected] == ["I1", "I2c", "E9a", "E9c"]
    assert fhir_export.FLAG_SYSTEM == "urn:screening-bot:flag"
    flag = next(c for c in obs.component if c.code.coding[0].system == fhir_export.FLAG_SYSTEM)
    assert flag.code.coding[0].display == "age 5 to 18 years" and flag.code.text == "I1: flag for the investigator"
    # The verdict components are all still there, one per criterion.
    assert [c for c, _ in notes_of(obs, fhir_export.CRITERION_SYSTEM)] == list(CRITERION_IDS)


def test_re_checks_are_components_and_ineligible_now_a_note(tmp_path):
    obs = observation_of(tmp_path, TIME_LIMITED)
    assert fhir_export.RECHECK_SYSTEM == "urn:screening-bot:recheck"
    assert notes_of(obs, fhir_export.RECHECK_SYSTEM) == [
        ("I1", "may be re-referred at 5 years of age"),
        ("E2a", "may be re-referred once 60 days have passed since the CNS event"),
        ("E8", "may be re-referred 3 months after the transplant"),
        ("E10", "may be re-referred 1 month after MAS")]
    assert notes_of(obs, fhir_export.FLAG_SYSTEM) == []
    assert any(n.text.startswith("ineligible now: every failing criterion is time-limited") for n in obs.note)


def test_a_permanent_failure_has_re_checks_but_no_ineligible_now_note(tmp_path):
    obs = observation_of(tmp_path, {"age_years": 4, "prior_cell_therapy": True})
    assert notes_of(obs, fhir_export.RECHECK_SYSTEM) == [("I1", "may be re-referred at 5 years of age")]
    assert not any("ineligible now" in n.text for n in obs.note)


def test_an_event_from_before_the_flags_gets_them_from_the_re_evaluation(tmp_path):
    obs = observation_of(tmp_path, FLAGGED, flags=None, recheck=None, ineligible_now=None, criteria=None)
    assert [c for c, _ in notes_of(obs, fhir_export.FLAG_SYSTEM)] == ["I1", "I2c", "E9a", "E9c"]


def test_facts_that_cannot_be_re_evaluated_keep_the_recorded_flags(tmp_path):
    # The facts of this event hold a key protocol 2 dropped: no re-evaluation, so the payload's notes count.
    recorded = {"flags": [{"criterion": "I2c", "text": "an unlisted DMARD or biologic was counted"}],
                "recheck": [{"criterion": "I1", "text": "may be re-referred at 5 years of age"}],
                "ineligible_now": True, "status": "ineligible"}
    obs = observation_of(tmp_path, {"age_years": 4}, **recorded,
                         facts={"age_years": 4, "nephropathy_needs_intensification": False})
    assert notes_of(obs, fhir_export.CRITERION_SYSTEM) == []
    assert notes_of(obs, fhir_export.FLAG_SYSTEM) == [("I2c", "an unlisted DMARD or biologic was counted")]
    assert notes_of(obs, fhir_export.RECHECK_SYSTEM) == [("I1", "may be re-referred at 5 years of age")]
    assert any("could not be re-evaluated" in n.text for n in obs.note)
    assert any(n.text.startswith("ineligible now") for n in obs.note)


def test_an_older_protocol_without_flags_has_no_flag_components(tmp_path):
    obs = observation_of(tmp_path, FLAGGED, flags=None, recheck=None, protocol_version="cart-sle-ped-prescreen/1.0")
    assert obs.component is None
    assert any("recorded under protocol cart-sle-ped-prescreen/1.0" in n.text for n in obs.note)
