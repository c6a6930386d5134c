"""`screening-bot evaluate FILE [--json]`: exit 0 with the outcome, or exit 2 with a message on stderr
naming the key and the problem, and nothing on stdout."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from strategies import eligible_facts

from bot.cli import main
from criteria import CRITERION_IDS, PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, data, name="facts.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def run_json(tmp_path, capsys, facts):
    code = main(["evaluate", write(tmp_path, facts), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def test_json_eligible(tmp_path, capsys):
    o = run_json(tmp_path, capsys, eligible_facts())
    assert o["status"] == "eligible"
    assert list(o["criteria"]) == list(CRITERION_IDS)
    assert o["failed"] == [] and o["missing"] == []
    assert o["pending"] == ["I6", "I7", "E3c", "E11", "E13"]
    assert o["flags"] == [] and o["recheck"] == [] and o["ineligible_now"] is False
    assert o["criteria"]["I7"] == "pending"
    assert o["protocol_version"] == PROTOCOL_VERSION


def test_json_ineligible_lists_every_failure(tmp_path, capsys):
    facts = {**eligible_facts(), "lvef_percent": 54, "prior_cell_therapy": True}
    o = run_json(tmp_path, capsys, facts)
    assert o["status"] == "ineligible"
    assert o["failed"] == ["I4a", "E1"]
    assert o["criteria"]["I4a"] == "not_met" and o["criteria"]["E1"] == "excluded"
    reasons = {f["criterion"]: f["reasons"] for f in o["failures"]}
    assert reasons["I4a"] == ["LVEF 54 % < 55 %"]


def test_json_incomplete_lists_missing_items(tmp_path, capsys):
    facts = {k: v for k, v in eligible_facts().items() if k not in ("hbsag",)} | {"hbcab": "positive"}
    o = run_json(tmp_path, capsys, facts)
    assert o["status"] == "incomplete"
    assert o["criteria"]["E9a"] == "unknown"
    assert o["missing"] == [{"criterion": "E9a", "facts": ["hbv_dna"],
                             "reason": "HBV-DNA: needed because HBcAb is positive"}]
    for item in o["missing"]:
        assert set(item) == {"criterion", "facts", "reason"}


def test_json_empty_file_is_incomplete_with_every_id(tmp_path, capsys):
    o = run_json(tmp_path, capsys, {})
    assert o["status"] == "incomplete"
    assert set(o["criteria"]) == set(CRITERION_IDS)
    assert [m["criterion"] for m in o["missing"]] == [c for c, v in o["criteria"].items() if v == "unknown"]
    assert o["pending"] == sorted(o["pending"], key=list(CRITERION_IDS).index)


def test_text_output(tmp_path, capsys):
    code = main(["evaluate", write(tmp_path, {**eligible_facts(), "egfr": 29.9})])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.startswith("INELIGIBLE")
    assert "I4b" in out and "eGFR 29.9 mL/min/1.73 m² < 30 mL/min/1.73 m²" in out
    assert PROTOCOL_VERSION in out


def test_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"age_years": 4})))
    code = main(["evaluate", "-", "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    o = json.loads(out)
    assert o["status"] == "ineligible" and o["failed"] == ["I1"]


def invalid(capsys, argv, stdin=None, monkeypatch=None) -> str:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # nothing on stdout
    return err


@pytest.mark.parametrize(("facts", "named"), [
    ({"age": 10}, ["age", "unknown key"]),
    ({"age_years": 121}, ["age_years", "less than or equal to 120", "121"]),
    ({"lvef_percent": 4}, ["lvef_percent", "greater than or equal to 5"]),
    ({"age_years": "ten"}, ["age_years", "valid number", '"ten"']),
    ({"hcq": "yes"}, ["hcq", "valid boolean"]),
    ({"sledai_2k": 8.5}, ["sledai_2k", "integer"]),
    ({"dmards": ["mmf"]}, ["dmards", "mycophenolate", '"mmf"']),
    ({"hbsag": "pos"}, ["hbsag", "'positive' or 'negative'", '"pos"']),
    ({"eular_acr_2019": {"ana_ge_1_80": True, "items": ["rash"]}}, ["eular_acr_2019.items", '"rash"']),
    ({"sex": "male", "childbearing_potential": True}, ["contradiction", "sex", "childbearing_potential"]),
    ({"sex": "male", "pregnant": True}, ["contradiction", "sex", "pregnant"]),
    ({"childbearing_potential": False, "pregnant": True}, ["childbearing_potential", "pregnant"]),
    ({"sledai_2k_items": ["seizure"], "sledai_2k": 10}, ["sledai_2k_items", "sledai_2k", "8", "10"]),
    ({"eular_acr_2019": {"ana_ge_1_80": False}, "sle_eular_acr_2019": True},
     ["eular_acr_2019", "sle_eular_acr_2019"]),
    ({"gc_peak_mg_kg_day": 0.5, "weight_kg": 40, "gc_high_dose": True}, ["gc_peak_mg_kg_day", "gc_high_dose"]),
    ({"gc_peak_mg_kg_day": 1, "weight_kg": 40, "gc_peak_mg_day": 50},
     ["gc_peak_mg_kg_day", "weight_kg", "gc_peak_mg_day", "5 %"]),
    ({"sledai_2k": 6, "target_not_reached": False}, ["sledai_2k", "target_not_reached"]),
    ({"nephropathy_needs_intensification": None}, ["nephropathy_needs_intensification", "dropped in protocol 2",
                                                   "investigator"]),
    ({"gc_taper_floor_mg_kg_day": 0.2, "steroid_dependent": True},
     ["gc_taper_floor_mg_kg_day", "steroid_dependent"]),
    ({"creatinine": 0.7, "creatinine_unit": "mg/dL", "height_cm": 140, "egfr": 60}, ["creatinine", "egfr"]),
    ({"creatinine": 0.7}, ["creatinine", "creatinine_unit"]),
    ({"creatinine": 0.7, "creatinine_unit": "umol/L"}, ["creatinine", "0.05–20 mg/dL"]),
])
def test_invalid_facts_exit_2_naming_key_and_problem(tmp_path, capsys, facts, named):
    err = invalid(capsys, ["evaluate", write(tmp_path, facts), "--json"])
    assert err.startswith("screening-bot evaluate: invalid facts:")
    for text in named:
        assert text in err, (text, err)


def test_every_invalid_key_is_reported(tmp_path, capsys):
    err = invalid(capsys, ["evaluate", write(tmp_path, {"foo": 1, "age_years": -1, "hcq": "no"})])
    assert len(err.strip().splitlines()) == 3
    assert "foo" in err and "age_years" in err and "hcq" in err


@pytest.mark.parametrize(("data", "problem"), [
    ("{", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('"age_years"', "must hold a JSON object"),
    ("null", "must hold a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_malformed_file_exit_2(tmp_path, capsys, data, problem):
    err = invalid(capsys, ["evaluate", write(tmp_path, data)])
    assert problem in err


def test_not_utf8_exit_2(tmp_path, capsys):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"sex": "fémale"}'.encode("latin-1"))
    err = invalid(capsys, ["evaluate", str(path)])
    assert "not UTF-8" in err


def test_missing_file_exit_2(tmp_path, capsys):
    err = invalid(capsys, ["evaluate", str(tmp_path / "nope.json")])
    assert "cannot read" in err and "nope.json" in err


def test_invalid_stdin_exit_2(monkeypatch, capsys):
    err = invalid(capsys, ["evaluate", "-", "--json"], stdin='{"age_years": 200}', monkeypatch=monkeypatch)
    assert "age_years" in err


@pytest.mark.slow  # a process of its own
def test_subprocess_stdin_and_exit_codes():
    cmd = [sys.executable, "-m", "bot.cli", "evaluate", "-", "--json"]
    done = subprocess.run(cmd, input=json.dumps(eligible_facts()), capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    o = json.loads(done.stdout)
    assert o["status"] == "eligible" and set(o["criteria"]) == set(CRITERION_IDS)
    assert {"status", "criteria", "failed", "missing", "pending", "protocol_version"} <= set(o)

    done = subprocess.run(cmd, input='{"ln_chronicity_index": 13}', capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "ln_chronicity_index" in done.stderr and "less than or equal to 12" in done.stderr


def test_a_key_given_twice_is_refused_not_resolved_by_its_order(tmp_path, capsys):
    """Issue 13: duplicate keys were silently resolved, the last winning: ineligible or incomplete by key order."""
    for text in ('{"age_years": 12, "age_years": 4}', '{"age_years": 4, "age_years": 12}'):
        path = tmp_path / "facts.json"
        path.write_text(text)
        assert main(["evaluate", str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "'age_years' twice" in err


def test_a_number_of_5000_digits_is_one_line_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "facts.json"
    path.write_text('{"age_years": ' + "9" * 5000 + "}")
    assert main(["evaluate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "too long" in err and len(err) < 200
