"""`screening-bot protocol`: the document is generated from the protocol data, complete, and JSON-ready."""

import json

import pytest

from bot.cli import main
from criteria import codes, derive
from criteria.protocol import BY_ID, CRITERION_IDS, FLAGS, PROTOCOL_VERSION, RECHECKS
from criteria.protocol_doc import ALWAYS_PENDING, protocol_document, protocol_text


@pytest.fixture
def doc():
    return protocol_document()


def entry(doc, cid):
    (found,) = [c for c in doc["criteria"] if c["id"] == cid]
    return found


def derived(doc, fact):
    (found,) = [d for d in doc["derived"] if d["fact"] == fact]
    return found


def test_every_criterion_once_in_protocol_order(doc):
    assert doc["protocol_version"] == PROTOCOL_VERSION
    assert [c["id"] for c in doc["criteria"]] == list(CRITERION_IDS)
    for c in doc["criteria"]:
        crit = BY_ID[c["id"]]
        assert (c["kind"], c["title"], c["facts"]) == (crit.kind, crit.title, sorted(crit.facts))
        assert c["rule"]


def test_every_flag_appears_under_its_criterion(doc):
    for cid in CRITERION_IDS:
        expected = [{"when": f.when.text(), "text": f.text} for f in FLAGS if f.criterion == cid]
        assert entry(doc, cid)["flags"] == expected
    assert sum(len(c["flags"]) for c in doc["criteria"]) == len(FLAGS)


def test_every_recheck_appears_under_its_criterion(doc):
    by_id = {r.criterion: r for r in RECHECKS}
    for cid in CRITERION_IDS:
        got = entry(doc, cid)["recheck"]
        r = by_id.get(cid)
        if r is None:
            assert got is None, cid
            continue
        assert got["parts"] == [{"when": cond.text(), "text": text} for cond, text in r.parts]
        assert got["unless"] == (r.unless.text() if r.unless is not None else None)
    assert entry(doc, "E10")["recheck"]["unless"] == "malignancy_or_severe_disease"
    assert [p["text"] for p in entry(doc, "E8")["recheck"]["parts"]] == [
        "3 months after the transplant", "after 2 weeks without grade ≥ 2 acute GVHD"]


def test_i2c_and_i3_alternatives_name_their_paths(doc):
    i2c = entry(doc, "I2c")["alternatives"]
    assert [a["name"] for a in i2c] == ["documented intolerance", "the standard-care path"]
    assert i2c[0]["rule"] == "intolerant_to_conventional"
    assert "soc_months ≥ 6" in i2c[1]["rule"] and "number of distinct dmards ≥ 2" in i2c[1]["rule"]
    assert [a["name"] for a in entry(doc, "I3")["alternatives"]] == [n for n, _ in BY_ID["I3"].paths]
    assert entry(doc, "I4a")["alternatives"] == []


@pytest.mark.parametrize(("cid", "thresholds"), [
    ("I1", [("age_years", "≥", 5), ("age_years", "≤", 18)]),
    ("I2b", [("sledai_2k", "≥", 8)]),
    ("I2c", [("soc_months", "≥", 6), ("dmards", "distinct count ≥", 2)]),
    ("I3", [("ln_classes", "holds one of", ["III", "IV", "V"])]),
    ("I4a", [("lvef_percent", "≥", 55)]),
    ("I4b", [("egfr", "≥", 30)]),
    ("I4c", [("ast_x_uln", "≤", 3), ("alt_x_uln", "≤", 3), ("bilirubin_x_uln", "≤", 2)]),
    ("E3b", [("ln_chronicity_index", ">", 6)]),
    ("E5", [("spo2_percent", "<", 92)]),
])
def test_thresholds_are_collected_from_the_rule(doc, cid, thresholds):
    assert entry(doc, cid)["thresholds"] == [{"fact": f, "op": op, "value": v} for f, op, v in thresholds]


def test_criteria_without_comparisons_have_no_thresholds(doc):
    for cid in ("I2a", "I5", "I6", "E1", "E4", "E9a", "E13"):
        assert entry(doc, cid)["thresholds"] == [], cid


def test_function_rules_are_described(doc):
    for cid in ("I7", "E3c", "E13"):
        assert entry(doc, cid)["rule"] == ALWAYS_PENDING, cid
    for cid in ("I6", "E11"):
        rule = entry(doc, cid)["rule"]
        assert rule != ALWAYS_PENDING and "childbearing_potential" in rule, cid


def test_pending_reasons(doc):
    e3c = entry(doc, "E3c")
    assert e3c["pending"] == BY_ID["E3c"].pending_reason
    assert "investigator's judgement" in e3c["pending"]
    for cid in ("I5", "I6", "I7", "E11", "E13"):
        assert entry(doc, cid)["pending"] == BY_ID[cid].pending_reason, cid
    for cid in ("I1", "I2c", "E1", "E9a"):
        assert entry(doc, cid)["pending"] is None, cid


def test_readings_follow_the_protocol(doc):
    expected = [{"criterion": c, "text": BY_ID[c].reading} for c in CRITERION_IDS if BY_ID[c].reading]
    assert doc["readings"] == expected
    assert {r["criterion"] for r in expected} >= {"I1", "I2c", "I4b", "E3c", "E9c"}
    assert entry(doc, "I4b")["reading"] == BY_ID["I4b"].reading
    assert entry(doc, "I4a")["reading"] is None


def test_derived_thresholds_come_from_the_constants(doc):
    gc = derived(doc, "gc_high_dose")
    assert {"fact": "gc_peak_mg_day", "op": "≥", "value": 60} in gc["thresholds"]
    assert {"fact": "gc_peak_mg_kg_day", "op": "≥", "value": 1} in gc["thresholds"]
    assert gc["tolerance"]["value"] == 0.05 and "5 %" in gc["rule"]
    target = derived(doc, "target_not_reached")
    assert target["thresholds"] == [{"fact": "sledai_2k", "op": "≥", "value": 5}]
    assert "SLEDAI-2K ≤ 4" in target["rule"]
    assert derived(doc, "steroid_dependent")["thresholds"][0]["value"] == 0.5
    assert derived(doc, "egfr")["tolerance"]["value"] == 1
    assert derived(doc, "sle_eular_acr_2019")["thresholds"][0]["value"] == 10
    assert [d["fact"] for d in doc["derived"]] == [
        "sledai_2k", "target_not_reached", "sle_eular_acr_2019", "gc_high_dose", "steroid_dependent", "egfr"]


def test_changing_a_constant_changes_the_document(monkeypatch):
    monkeypatch.setattr(derive, "GC_MG_DAY", 50.0)
    monkeypatch.setattr(derive, "SLEDAI_TARGET", 6)
    monkeypatch.setattr(derive, "DOSE_TOLERANCE", 0.1)
    monkeypatch.setattr(derive, "EGFR_TOLERANCE", 2.0)
    doc = protocol_document()
    gc = derived(doc, "gc_high_dose")
    assert {"fact": "gc_peak_mg_day", "op": "≥", "value": 50.0} in gc["thresholds"]
    assert "gc_peak_mg_day ≥ 50" in gc["rule"] and "60" not in gc["rule"] and "10 %" in gc["rule"]
    target = derived(doc, "target_not_reached")
    assert target["thresholds"][0]["value"] == 6 and "SLEDAI-2K ≤ 5" in target["rule"]
    assert derived(doc, "egfr")["tolerance"]["value"] == 2.0
    assert "gc_peak_mg_day ≥ 50" in protocol_text(doc)


def test_code_lists(doc):
    c = doc["codes"]
    assert c["dmards"] == list(codes.DMARDS) and "telitacicept" in c["dmards"]
    assert c["cardiac_conditions"] == list(codes.CARDIAC_CONDITIONS)
    assert c["ln_classes"] == ["I", "II", "III", "IV", "V", "VI"]
    assert {i["code"]: i["weight"] for i in c["sledai_2k"]} == codes.SLEDAI_2K_WEIGHTS
    eular = {i["code"]: i for i in c["eular_acr_2019"]}
    assert {k: (i["domain"], i["weight"]) for k, i in eular.items()} == codes.EULAR_ACR_2019_ITEMS
    assert eular["fever"]["clinical"] and not eular["low_c3_and_c4"]["clinical"]
    pred = {i["drug"]: i["mg_equal_to_5_mg_prednisone"] for i in c["prednisone_equivalents"]}
    assert pred == codes.GLUCOCORTICOID_MG_PER_5MG_PREDNISONE


def test_cli_json_prints_the_document(capsys):
    assert main(["protocol", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == protocol_document()
    assert "≥" in out  # ensure_ascii=False: a coordinator reads the symbols, not \u2265


def test_cli_text_names_every_criterion(capsys):
    assert main(["protocol"]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    heads = [line.split()[0] for line in lines if line and not line[0].isspace() and line.split()[0] in BY_ID]
    assert heads == list(CRITERION_IDS)
    assert PROTOCOL_VERSION in lines[0]
    for text in ("DERIVED FACTS", "CODE LISTS", "documented intolerance", "always pending",
                 "gc_peak_mg_day ≥ 60", "may be re-referred once 60 days have passed since the CNS event"):
        assert text in out, text
    assert max(len(line) for line in lines) <= 100
